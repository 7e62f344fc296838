/*
 * tools_subscribe.h - resources/subscribe for binmcpd's resources: what
 * each subscription watches and how its version is read.
 *
 *  - binance://market/{symbol}: the symbol's slot in the feed's market
 *    segment (market.h); its version moves with every change a reader
 *    sees (book, best levels, trades, kline, status), not with the feed's
 *    once-a-second statistics. The watch keeps the symbol
 *    tracked while the subscription lives (market_request every 2 s).
 *  - binance://orders/open, binance://account/balances: the account's
 *    record in the user-data area (userstate.h), orders_gen and
 *    balances_gen. The account is the one the session's signed calls use
 *    when it subscribes (its own credentials, else the daemon's); the
 *    watch keeps a copy of those credentials (wiped in tools_watch_free) so
 *    that it can ask the feed process to follow the account again after
 *    the feed restarted, and it renews the account's lease (us_touch).
 *
 * Subscriptions need the feed's shared state: without it (feed = off)
 * the server does not offer them (mcp_options.subscriptions).
 * Errors: -32002 for an unknown resource or symbol, -32602 for
 * orders/balances without credentials, -32603 when the feed's area is
 * missing or full.
 */
#ifndef BINMCPD_TOOLS_SUBSCRIBE_H
#define BINMCPD_TOOLS_SUBSCRIBE_H

#include <stdint.h>

#include "mcp.h"

/* mcp_binance_provider.subscribe, watch_version and watch_free. */
void *tools_subscribe(struct mcp_call *call, const char *uri,
                      struct mcp_error *err);
uint64_t tools_watch_version(void *provider_ctx, void *watch, int64_t now_ms);
void tools_watch_free(void *watch);

#endif
