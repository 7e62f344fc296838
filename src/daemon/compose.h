/*
 * compose.h - the composition of --mode sse: what the supervisor builds
 * before it forks and what each worker wires when it starts, so that the
 * supervisor only supervises and the worker only serves HTTP.
 *
 * Before fork (compose_create): the bearer tokens, the per-client rate
 * limit, the per-address connection counts, the metrics, the upstream
 * weight budget, the market segment the feed process writes (all in
 * shared memory, so the workers share them), the TLS
 * certificate and key, the engine's tool observer (metrics) and the Binance
 * client's hooks (the budget and the metrics around every exchange). The
 * hooks and the observer run in the workers; the supervisor never calls
 * Binance.
 *
 * In each worker (the hooks compose_worker_env puts into its environment):
 * the engine and the Binance side pointed at the worker's own copy of the
 * credentials, the order-book tools at the market segment, the trading
 * journal opened, the worker's connection counts reset; at the end the
 * journal closed and the Binance client's thread state released.
 *
 * On SIGHUP (compose_reload): the configuration and credentials files are
 * re-read and what can change in a running daemon is passed on.
 *
 * Sits above the worker, the MCP engine, the Binance client and the trading
 * guard; only the supervisor includes it.
 */
#ifndef BINMCPD_COMPOSE_H
#define BINMCPD_COMPOSE_H

#include "ipc.h"
#include "mcp.h"
#include "settings.h"
#include "worker.h"

struct compose;
struct feedproc;
struct metrics;

/* Builds everything the workers share for settings s (which must outlive
 * the result: the supervisor's copy) and wires srv and the Binance client
 * to it. Call before fork; nworkers is the number of worker slots.
 * Returns the composition (free with compose_free), or NULL after logging
 * why (bad token file, half a TLS pair, an unauthenticated public bind,
 * mmap failure): nothing is left wired then. */
struct compose *compose_create(const struct settings *s, struct mcp_server *srv,
                               int nworkers);

/* Unwires the Binance client's hooks and releases what compose_create
 * built (the shared mappings only in this process). NULL is allowed. */
void compose_free(struct compose *c);

/* Fills env's operations fields (tokens, limits, metrics, certificate)
 * and its hooks; the rest of env is the caller's. The pointers stay
 * owned by c. */
void compose_worker_env(const struct compose *c, struct worker_env *env);

/* The shared counters (for the supervisor's restart count). */
struct metrics *compose_metrics(const struct compose *c);

/* The feed process's slot (feedproc.h), or NULL with feed = off. */
struct feedproc *compose_feed(const struct compose *c);

/* SIGHUP: re-reads the configuration and credentials files into *cur (the
 * supervisor's settings, which c was created with). Changed credentials
 * go to each of the nworkers workers over ipc, a changed certificate too
 * (when HTTPS is on), the trading rules to the shared guard, the log level
 * to this process; settings that need a restart are logged and not
 * applied. A configuration with an error is logged and changes nothing. */
void compose_reload(struct compose *c, struct settings *cur, struct ipc *ipc,
                    int nworkers);

#endif
