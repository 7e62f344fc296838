/*
 * livemarket.c - a tool's read of one symbol's live state (livemarket.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "livemarket.h"
#include "tools_callcreds.h"
#include "util.h"

int
live_feed_running(const struct market *m, int64_t now, char *why, size_t len)
{
    struct market_feed_info fi;

    market_feed_info(m, &fi);
    if (fi.heartbeat_ms > 0 && now - fi.heartbeat_ms <= LIVE_FRESH_MS)
        return 1;
    snprintf(why, len, "the feed process is not running (%s)",
             fi.heartbeat_ms > 0 ? "its heartbeat is stale; the supervisor "
                                   "restarts it"
                                 : "not started yet");
    return 0;
}

int
live_read(struct mcp_call *call, const char *symbol, struct market_state *st,
          char *why, size_t len)
{
    struct market *m = tools_call_market(call);
    int64_t now = now_ms();
    int slot;

    if (m == NULL) {
        snprintf(why, len, "no live market data here (feed = off)");
        return 0;
    }
    if ((slot = market_request(m, symbol, now)) < 0) {
        snprintf(why, len, "the feed cannot track %s (%s)", symbol,
                 errno == ENOSPC ? "all max_tracked_symbols slots are taken"
                                 : "the market segment refused it");
        return 0;
    }
    if (!live_feed_running(m, now, why, len))
        return 0;
    if (market_read(m, slot, st) < 0 || strcmp(st->symbol, symbol) != 0) {
        snprintf(why, len, "the live book of %s could not be read", symbol);
        return 0;
    }
    if (st->status != MARKET_LIVE || !st->ws_connected) {
        snprintf(why, len,
                 "the live book of %s is not ready (%s%s); the feed was asked "
                 "to track it",
                 symbol, market_status_name(st->status),
                 st->ws_connected ? "" : ", stream not connected");
        return 0;
    }
    return 1;
}
