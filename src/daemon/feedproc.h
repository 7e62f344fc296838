/*
 * feedproc.h - the feed process of --mode sse: the supervisor's one child
 * beside the workers that runs the feed (src/binance/feed.h), the only
 * process that talks to Binance's market streams.
 *
 * The market segment (market.h) is made before fork by compose.c; the
 * workers read it, the feed process writes it. The supervisor forks the
 * feed at start and again after it dies, with the workers' backoff
 * (daemon_respawn_backoff_ms), counting each replacement in /metrics
 * (binmcpd_feed_restarts_total). Its log lines carry the tag "feed", ps
 * shows "binmcpd: feed" and /proc/PID/comm "binmcpd-feed". SIGTERM,
 * SIGINT and SIGQUIT stop it; SIGHUP is ignored (its settings need a
 * restart); it dies with the supervisor (PR_SET_PDEATHSIG).
 *
 * The same process holds the user data streams (src/binance/userdata.h)
 * and writes the user-data area (userstate.h, made by compose.c too): the
 * daemon's credentials are followed from the start (and again with the
 * credentials a reload sends, IPC_CREDS on the feed's channel), a
 * session's when a worker sends them (IPC_KEY: configure_credentials, a
 * subscription to orders or balances). A session's key nobody touched
 * (us_touch) for 10 minutes is no longer followed; a worker that still
 * needs it sends it again.
 *
 * In the feed process the Binance client keeps what it inherited: the
 * process-wide configuration (bnc_init in main.c) and the budget hooks
 * compose.c installed before fork, so the feed's REST snapshots are
 * charged to the weight budget every worker shares.
 *
 * The loop itself (feedproc_run) is shared with --mode stdio, which runs it
 * in a thread of its own process (stdiofeed.h) instead of a child.
 *
 * Layer src/daemon/: only the supervisor, compose.c and stdiofeed.c
 * include it.
 */
#ifndef BINMCPD_FEEDPROC_H
#define BINMCPD_FEEDPROC_H

#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "settings.h"

#define FEEDPROC_COMM "binmcpd-feed" /* /proc/PID/comm of the feed */

struct creds;
struct market;
struct metrics;
struct userstate;
struct ipc;
struct feedproc;

/* What the feed child must undo of its parent's state. */
struct feedproc_parent {
    pid_t pid;            /* the supervisor, after it detached */
    const sigset_t *mask; /* the signal mask to restore */
    int close_fds[4];     /* the supervisor's own descriptors */
    int nclose;
};

/* A feed process slot for settings s (which must outlive it), writing
 * market and users (NULL: no user data streams), reading keys (the feed's
 * channel, one slot; may be NULL), counting restarts in metrics (may be
 * NULL). Nothing is forked
 * yet: the first feedproc_tick does. Returns NULL when memory runs out. */
struct feedproc *feedproc_new(const struct settings *s, struct market *market,
                              struct userstate *users, const struct ipc *keys,
                              struct metrics *metrics);

/* The feed's loop, in the calling process or thread: the market streams
 * for settings s (stream_url, feed_idle) writing market; the user data
 * streams (ws_api_url) writing users (NULL: none), following the daemon's
 * credentials s->creds from the start and the session keys (IPC_KEY) and
 * daemon credentials (IPC_CREDS) that arrive on keys (the channel's one
 * slot; may be NULL). s, market, users and keys must outlive the call.
 * Returns within about 20 ms of *stop becoming non-zero: 0; or -1 (logged)
 * when the loop cannot go on (no memory, a broken connection object): the
 * caller runs it again after a backoff (daemon_respawn_backoff_ms). The
 * caller handles signals: nothing here installs a handler. */
int feedproc_run(const struct settings *s, struct market *market,
                 struct userstate *users, const struct ipc *keys,
                 const atomic_int *stop);

/* binance_ctx.follow_key (tools_set_userdata) for the tools of a worker
 * or of the stdio server: passes a session's key to the feed on its
 * channel, arg (the struct ipc given to feedproc_new or feedproc_run as
 * keys). A full channel loses it (logged, -1); the subscription asks
 * again. Returns 0 or -1. */
int feedproc_follow_key(void *arg, const struct creds *c);

/* Frees fp (the process, if any, is the caller's to stop first). NULL is
 * allowed. */
void feedproc_free(struct feedproc *fp);

/* Forks the feed when it is due (at start, or its backoff after a death).
 * Returns the poll timeout the supervisor should use: timeout_ms, or less
 * when the feed's next fork is sooner (-1 means none). fp may be NULL
 * (returns timeout_ms). */
int feedproc_tick(struct feedproc *fp, const struct feedproc_parent *p,
                  int timeout_ms);

/* The supervisor reaped pid with wait status st: when it was the feed,
 * logs it, schedules a replacement unless stopping, and returns 1; else
 * 0. */
int feedproc_reaped(struct feedproc *fp, pid_t pid, int st, int stopping);

/* Stops the feed: SIGTERM, up to 3 s, then SIGKILL; reaps it. No
 * replacement follows. fp may be NULL. */
void feedproc_stop(struct feedproc *fp);

#endif
