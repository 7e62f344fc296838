/*
 * stdiofeed.h - the composition of --mode stdio with live data: the feed
 * (feedproc_run: market streams, user data streams) in a thread of the
 * stdio server's own process, where --mode sse forks a feed process.
 *
 * stdiofeed_start maps the market segment (max_tracked_symbols slots) and
 * the user-data area, opens the keys' channel (one slot: the tools'
 * follow_key sends a session's key on it, the feed thread reads it),
 * points the server's struct binance_ctx at them (tools_set_market,
 * tools_set_userdata) and starts the thread. The thread blocks every
 * signal (the main thread's to take) and runs the loop until
 * stdiofeed_stop; when the loop fails it is run again after the feed
 * process's backoff (daemon_respawn_backoff_ms), logged. The books, the
 * accounts followed and the resource versions then read as they do in a
 * worker, and the stdio transport's notifier pushes the updates.
 *
 * Sits above the tools and the Binance client; only main.c includes it.
 */
#ifndef BINMCPD_STDIOFEED_H
#define BINMCPD_STDIOFEED_H

#include "mcp.h"
#include "settings.h"

struct stdiofeed;

/* Builds the shared pieces for settings s (which must outlive the result),
 * wires srv's struct binance_ctx to them and starts the feed thread.
 * Returns the composition (stop it with stdiofeed_stop), or NULL after
 * logging why (mmap, socketpair or thread failure): srv is then left as
 * it was. */
struct stdiofeed *stdiofeed_start(const struct settings *s,
                                  struct mcp_server *srv);

/* Stops the feed thread (within about 100 ms), joins it, unwires srv (the
 * server given to stdiofeed_start; its sessions must have finished) and
 * frees everything. NULL is allowed. */
void stdiofeed_stop(struct stdiofeed *sf, struct mcp_server *srv);

#endif
