/*
 * livemarket.h - how a tool reads one symbol's live state from the feed's
 * market segment (market.h), shared by the order-book tools
 * (tools_orderbook.c) and watch_market (tools_watch.c).
 *
 * A read asks the feed to track the symbol (market_request: the stamp keeps
 * it tracked), checks that the feed runs (its heartbeat is under
 * LIVE_FRESH_MS old) and copies the slot (market_read: a seqlock copy, no
 * system call). The state is live when the slot still holds that symbol,
 * its status is MARKET_LIVE and its stream is connected. When it is not,
 * the caller answers from REST and says why: the reason is a sentence
 * without the "answered from ..." part, which the caller adds.
 */
#ifndef BINMCPD_LIVEMARKET_H
#define BINMCPD_LIVEMARKET_H

#include <stddef.h>
#include <stdint.h>

#include "market.h"
#include "mcp.h"

#define LIVE_FRESH_MS 5000 /* an older feed heartbeat: the feed is down */
#define LIVE_WHY_MAX  256

/* Whether the feed's heartbeat is fresh at now (ms): the feed process
 * runs. Says why not in why (len bytes). */
int live_feed_running(const struct market *m, int64_t now, char *why,
                      size_t len);

/* Reads symbol (Binance's spelling) for call: asks the feed to track it
 * and copies its state into *st (the caller's, about 4 KiB: allocate it
 * once for a loop). Returns 1 when st holds a live book, 0 when it does
 * not, with the reason in why (len bytes): no market segment
 * (feed = off), no free slot, the feed down, or the book not live yet. st
 * is undefined then. */
int live_read(struct mcp_call *call, const char *symbol,
              struct market_state *st, char *why, size_t len);

#endif
