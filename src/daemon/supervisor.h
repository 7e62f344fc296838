/*
 * supervisor.h - the prefork supervisor of --mode sse.
 *
 * Layer src/daemon/, the top: the supervisor, the composition that wires
 * the lower layers together for the workers (compose.h), and the process
 * helpers (daemon.h). It may include every layer; nothing includes it but
 * src/main.c.
 *
 * Single-threaded. It binds the listening socket, creates the session
 * registry and the IPC channels, has compose.c build what the workers share
 * and wire (limits, metrics, the upstream budget, TLS, the Binance client's
 * hooks), forks the workers and watches them:
 *  - a worker that dies is reaped, its sessions are freed in the registry,
 *    and its slot is respawned at once, with a growing delay (up to 2 s)
 *    when the same slot keeps crashing;
 *  - too many crashes across all slots in a short time (a crash loop) stop
 *    the daemon with a log line and exit status 1;
 *  - a worker exiting with WORKER_EXIT_FATAL stops the daemon (status 2).
 * With the feed on it also forks the feed process (feedproc.h) and
 * replaces it the same way when it dies; it is stopped after the workers.
 * Signals only set flags; the loop acts on them: SIGTERM, SIGINT, SIGQUIT
 * drain and stop (workers get SIGTERM, then SIGKILL after the deadline);
 * SIGHUP re-reads the configuration and credentials files (compose_reload):
 * changed credentials go to every worker over IPC and serve the next signed
 * call, a changed TLS certificate and key serve new handshakes (HTTPS
 * only), the trading rules apply from the next order on in every worker,
 * and the log level changes in the supervisor; settings that need new
 * sockets or processes are logged and not applied, and a file with an
 * error changes nothing. SIGCHLD reaps.
 */
#ifndef BINMCPD_SUPERVISOR_H
#define BINMCPD_SUPERVISOR_H

#include "mcp.h"
#include "settings.h"

/* Runs the daemon until it is told to stop. Returns the process exit
 * status: 0 after a requested stop, 1 for a crash loop or a start-up
 * failure (bind, registry), 2 when a worker reported a fatal error. */
int supervisor_run(const struct settings *s, struct mcp_server *srv);

#endif
