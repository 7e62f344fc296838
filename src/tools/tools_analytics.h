/*
 * tools_analytics.h - the five analytics tools (get_order_flow,
 * get_volume_profile, detect_market_anomalies, get_liquidity_vacuums,
 * get_microstructure_health; rows in tools_analytics[], tools.h) and the
 * live data behind the three analytics prompts (catalog.c).
 *
 * The data is the feed's: the symbol's aggTrade ring and one-second book
 * samples in the market segment (market.h), copied out into analytics.h's
 * struct an_input. The first use of a symbol asks the feed to track it and
 * answers with what is there (coverage fraction 0: no number is made up).
 * Without a feed (feed = off, the feed down) the answer says
 * why. The volume profile (and the traded vacuums built on it) fills the
 * part of its window the stream has not covered from REST 1-minute (or 5-
 * or 15-minute) klines and names the source of each part.
 */
#ifndef BINMCPD_TOOLS_ANALYTICS_H
#define BINMCPD_TOOLS_ANALYTICS_H

#include <stddef.h>

#include "analytics_md.h"
#include "dbuf.h"
#include "mcp.h"

/* The markdown of the prompts, from symbol's live data (symbol already
 * normalised). Each appends to md and returns 0, or -1 with a sentence in
 * err (memory, the text cap, or Binance refused the REST back-fill). */
int ta_prompt_orderflow(struct mcp_call *call, const char *symbol, int window_s,
                        struct dbuf *md, char *err, size_t errlen);
int ta_prompt_health(struct mcp_call *call, const char *symbol, struct dbuf *md,
                     char *err, size_t errlen);
int ta_prompt_advanced(struct mcp_call *call, const char *symbol,
                       const struct an_depth_windows *w, struct dbuf *md,
                       char *err, size_t errlen);

#endif
