/*
 * worker.h - one HTTP worker process: libmicrohttpd in epoll mode with
 * suspend/resume on the supervisor's listening socket, serving the MCP
 * transports (legacy HTTP+SSE, Streamable HTTP), /health and /.
 *
 * Layer src/transport/, the transports: stdio, and the HTTP worker with its
 * rooms (worker_int.h), HTTPS and the rate limits. It may include every
 * layer below (core, mcp, binance, tools, proc), never the daemon's: what
 * the daemon wires in (the Binance client hooks, the guard) comes through
 * struct worker_hooks.
 *
 * A worker owns the sessions it created (their MCP state lives only here);
 * a message for a session owned by another worker is forwarded over IPC,
 * and outputs come back the same way. Inside, the worker is split into
 * rooms (loop, MCP endpoints, jobs, streams, replies): see worker_int.h.
 */
#ifndef BINMCPD_WORKER_H
#define BINMCPD_WORKER_H

#include "ipc.h"
#include "mcp.h"
#include "registry.h"
#include "settings.h"

#include <pthread.h>

#include "creds.h"

struct auth_tokens;
struct ratelimit;
struct conn_limit;
struct metrics;

/* Exit statuses of a worker process (the supervisor's protocol). */
enum {
    WORKER_EXIT_OK = 0,    /* drained after SIGTERM/SIGQUIT, or parent gone */
    WORKER_EXIT_CRASH = 1, /* unexpected failure: respawn */
    WORKER_EXIT_FATAL = 2, /* configuration can never work: do not respawn */
};

/* What the daemon wires into a worker process around its HTTP serving
 * (compose.c fills it; the worker knows no Binance client or trading guard).
 * The worker's main thread calls start once, before any other thread of the
 * worker exists, and stop once after they ended (not at all when the worker
 * fails to start or drains past its deadline: process exit cleans up). */
struct worker_hooks {
    /* index: the worker slot; creds: the worker's own copy of the daemon's
     * credentials, which SIGHUP replaces under lock. Failures are logged;
     * the worker serves anyway. */
    void (*start)(void *arg, int index, struct creds *creds,
                  pthread_rwlock_t *lock);
    void (*stop)(void *arg);
    void *arg;
};

struct worker_env {
    int index;            /* 0 .. nworkers-1: the worker slot */
    int listen_fd;        /* bound and listening, shared */
    struct registry *reg; /* shared */
    struct ipc *ipc;      /* shared channels */
    const struct settings *settings;
    struct mcp_server *srv; /* read-only, shared by all threads */
    int parent_fd;          /* read end of a pipe the supervisor holds
                               open: EOF means the supervisor died */
    pid_t parent_pid;
    /* operations; NULL when the feature is off */
    const struct auth_tokens *auth; /* bearer tokens */
    struct ratelimit *rl;           /* per-client GCRA, shared */
    struct conn_limit *conns;       /* connections per address, shared */
    struct metrics *metrics;        /* counters, shared */
    const char *tls_cert_pem;       /* HTTPS when both are set */
    const char *tls_key_pem;
    struct worker_hooks hooks; /* start and stop may be NULL */
};

/* Runs a worker in the current (freshly forked) process until SIGTERM,
 * SIGQUIT or SIGINT (graceful: stop accepting, end streams with a retry
 * hint, wait for them up to the drain deadline) or the supervisor's death.
 * Returns one of the WORKER_EXIT_* statuses for _exit(). */
int worker_run(const struct worker_env *env);

#endif
