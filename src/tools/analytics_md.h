/*
 * analytics_md.h - the markdown of the three analytics prompts of the
 * original server: advanced_market_analysis, orderflow_snapshot and
 * market_health_check, rendered from analytics.h's results.
 *
 * Pure text: results in, markdown out; no I/O, no clock. Each function
 * appends to a capped struct dbuf and returns 0, or -1 when the cap is
 * reached (the buffer then holds what fitted). Every section says how much
 * data it rests on (the coverage), and a figure that could not be measured
 * reads "not measured", never a number. The catalog (catalog.c) wires them
 * to prompts/get later.
 */
#ifndef BINMCPD_ANALYTICS_MD_H
#define BINMCPD_ANALYTICS_MD_H

#include "analytics.h"
#include "dbuf.h"

/* The windows of advanced_market_analysis's analysisDepth, as the original
 * chose them: quick = flow 60 s, health 300 s, profile 1 h; standard (the
 * default) = 60 s, 300 s, 4 h; deep = 300 s, 1,800 s, 24 h. */
struct an_depth_windows {
    const char *name; /* "quick", "standard", "deep" */
    int flow_s, health_s, anomalies_s;
    int profile_h;
};

/* The windows of depth (NULL or "" means "standard") into *out. Returns 0,
 * or -1 when depth is none of the three (out untouched). The anomalies use
 * the flow window. */
int an_depth_windows_of(const char *depth, struct an_depth_windows *out);

/* orderflow_snapshot: direction, taker buy/sell and net flow, ratio,
 * cumulative delta, a one-line reading and what it suggests. */
int an_md_orderflow(struct dbuf *b, const char *symbol,
                    const struct an_flow *f);

/* market_health_check: the score and band, each component with a tick
 * (>= 70 good) and its measures, and the risk reading of the band. */
int an_md_health(struct dbuf *b, const char *symbol, const struct an_health *h);

/* advanced_market_analysis: five sections (order flow, volume profile with
 * POC/VAH/VAL, health breakdown, anomalies, summary) at the windows of w.
 * Every result is borrowed. */
int an_md_advanced(struct dbuf *b, const char *symbol,
                   const struct an_depth_windows *w, const struct an_flow *f,
                   const struct an_profile *p, const struct an_health *h,
                   const struct an_anomalies *a);

#endif
