/*
 * analytics.h - the market analytics of the original server (its feature
 * "orderbook_analytics", spec 008), as pure computations: order flow,
 * volume profile, anomalies, liquidity vacuums and microstructure health.
 *
 * Numbers in, C structs out, and a json-c renderer per result: no I/O, no
 * clock (the caller passes now), no Binance call, no JSON-RPC. The live
 * data comes from the feed process (a ring of aggTrades and a ring of
 * one-per-second book samples per symbol); the tools copy it out of shared
 * memory into the input types below and call these functions. The
 * markdown of the three analytics prompts is in analytics_md.h.
 *
 * Exact and approximate. Prices and quantities are exact decimals parsed
 * from Binance's text (decimal.h). Sums of quantities (buy and sell
 * volume, net flow, cumulative delta, a profile's bins, POC, value area
 * and its edges) are computed exactly and rendered as decimal strings, as
 * Binance writes them. Ratios, medians, spreads in basis points, depth in
 * quote notional, confidences and scores are statistics: they are computed
 * in double from the exact values (dec_to_double) and rendered as JSON
 * numbers rounded to a few decimals.
 *
 * Coverage. Every result says how much data it rests on (struct
 * an_coverage): the window asked, the part of it the data covers, and how
 * many trades or samples fell inside. A window the stream has not covered
 * yet gives a result over the covered part, with fraction < 1; no data at
 * all gives fraction 0 and an UNKNOWN direction, band or component, never
 * a made-up number.
 *
 * Memory: the functions that need temporary arrays (medians) allocate them
 * and free them before returning; they return -1 when that fails. Results
 * are plain structs with no pointers: copy them freely.
 */
#ifndef BINMCPD_ANALYTICS_H
#define BINMCPD_ANALYTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "decimal.h"

/* ---- input ---- */

#define AN_BOOK_LEVELS 20 /* levels per side in a book sample */

/* One aggTrade as the stream sends it. */
struct an_trade {
    int64_t time_ms;       /* T: trade time, ms since the epoch */
    struct dec price, qty; /* p, q (dec_parse of Binance's text) */
    bool buyer_maker;      /* m: the buyer was the maker, so the taker sold */
};

struct an_level {
    struct dec price, qty;
};

/* The top of the local book as the feed samples it, about once a second. */
struct an_book_sample {
    int64_t time_ms;
    size_t nbids, nasks;                  /* <= AN_BOOK_LEVELS each */
    struct an_level bids[AN_BOOK_LEVELS]; /* best (highest) first */
    struct an_level asks[AN_BOOK_LEVELS]; /* best (lowest) first */
    /* Price-level changes applied since the previous sample: the entries
     * of the "b" and "a" arrays of the diff events (one @depth@100ms event
     * carries many), which is what "updates per second" counts. */
    uint32_t updates;
    /* Base quantity those changes took off the book (a decrease counts
     * its difference, a removal the level's whole quantity); trades and
     * cancellations both remove, so cancellations are what trades do not
     * explain. A statistic, so a double. Negative when the feed does not
     * count it. */
    double removed_qty;
    /* The depth as the feed measured it, when it keeps more than the
     * levels above (binance/market.h's samples sum the best 10 levels'
     * quantity): has_depth set, depth is used instead of the quote
     * notional of the levels. Either way only its ratio to its own median
     * counts, so the unit must only stay the same across the samples. */
    bool has_depth;
    double depth;
};

/* What every function reads. Arrays are borrowed for the call, oldest
 * first (times non-decreasing). *_since_ms says from when an array is
 * complete: the time the stream started for this symbol, or the time of
 * the oldest entry still in a ring that has dropped older ones; 0 means
 * "from the first entry given". Data before a window's start is used only
 * as the previous sample of the window's first one. */
struct an_input {
    int64_t now_ms; /* the end of every window */
    const struct an_trade *trades;
    size_t ntrades;
    int64_t trades_since_ms;
    const struct an_book_sample *books;
    size_t nbooks;
    int64_t books_since_ms;
};

/* ---- coverage ---- */

struct an_coverage {
    int64_t window_ms;    /* asked */
    int64_t from_ms;      /* asked: the window is (from_ms, to_ms] */
    int64_t to_ms;        /* = now_ms */
    int64_t data_from_ms; /* start of the covered part (>= from_ms);
                             = to_ms when nothing is covered */
    double fraction;      /* (to_ms - data_from_ms) / window_ms, 0..1 */
    size_t count;         /* trades or samples inside the window */
    int64_t first_ms;     /* the first and last of them; 0 when none */
    int64_t last_ms;
};

/* JSON: {"window_s", "from_ms", "to_ms", "data_from_ms", "covered_s",
 * "fraction", "count", "first_ms", "last_ms", "complete"}; first_ms and
 * last_ms are null when count is 0. A new object (the caller holds the
 * reference), or NULL when out of memory. */
json_object *an_coverage_json(const struct an_coverage *c);

/* ---- shared vocabulary ---- */

/* The 008 severities, from a confidence: > 0.95 CRITICAL, > 0.85 HIGH,
 * > 0.7 MEDIUM, else LOW. */
enum an_severity { AN_SEV_LOW, AN_SEV_MEDIUM, AN_SEV_HIGH, AN_SEV_CRITICAL };
enum an_severity an_severity_of(double confidence);
const char *an_severity_name(enum an_severity s); /* "LOW", ... */

/* How sure a finding is, from how far its measure x went past its
 * threshold t towards full, the value at which the finding is certain
 * (full > t for "above" thresholds, full < t for "below" ones):
 * 0.5 + 0.5 * clamp((x - t) / (full - t), 0, 1). So 0.5 at the threshold,
 * 1 at full or beyond. The fulls used: twice the threshold for a ratio
 * (500 -> 1,000 updates/s, 5 -> 10 times the median refills, 10 -> 20
 * times the median spread), 1 for a share that must exceed its threshold
 * (depth loss 0.8 -> 1, cancellations 0.9 -> 1) and 0 for one that must
 * stay under it (fills 0.10 -> 0). */
double an_confidence(double x, double threshold, double full);

/* One measured condition of a finding. */
struct an_signal {
    bool measured;     /* enough data to compute value */
    double value;      /* the measure */
    double threshold;  /* 008's */
    bool fired;        /* value is past the threshold */
    double confidence; /* an_confidence(value, threshold, full) */
};

/* ---- order flow ---- */

#define AN_FLOW_STRONG   2.0 /* buy/sell ratio above: STRONG_BUY */
#define AN_FLOW_MODERATE 1.2 /* from here to 2.0: MODERATE_BUY */
#define AN_FLOW_NEUTRAL  0.8 /* above this and under 1.2: NEUTRAL */
#define AN_FLOW_WEAK     0.5 /* from here to 0.8: MODERATE_SELL; below: STRONG */

/* 008's direction bands on ratio = taker buy volume / taker sell volume:
 * STRONG_BUY r > 2.0, MODERATE_BUY 1.2 <= r <= 2.0, NEUTRAL 0.8 < r < 1.2,
 * MODERATE_SELL 0.5 <= r <= 0.8, STRONG_SELL r < 0.5 (the sell side
 * mirrors the buy side's 2x as 1/2); UNKNOWN when the window holds no
 * trade. Only buys (no sell) is STRONG_BUY with no ratio; only sells is
 * STRONG_SELL. */
enum an_direction {
    AN_DIR_UNKNOWN,
    AN_DIR_STRONG_SELL,
    AN_DIR_MODERATE_SELL,
    AN_DIR_NEUTRAL,
    AN_DIR_MODERATE_BUY,
    AN_DIR_STRONG_BUY,
};
const char *an_direction_name(enum an_direction d); /* "STRONG_BUY", ... */
enum an_direction an_direction_of(double ratio);

/* The windows the 008 contract admits for order flow, in seconds. */
#define AN_FLOW_WINDOWS                                                        \
    {                                                                          \
        10, 30, 60, 300                                                        \
    }

struct an_flow {
    struct an_coverage cov;         /* of trades */
    struct dec buy_qty, sell_qty;   /* taker buy / taker sell, exact */
    size_t buy_trades, sell_trades; /* aggTrades of each side */
    bool has_ratio;                 /* sell_qty > 0 */
    double ratio;                   /* buy_qty / sell_qty */
    enum an_direction direction;
    /* buy - sell since trades_since_ms (the whole data, not only the
     * window): the cumulative delta a chart would draw up to now */
    struct dec cum_buy_qty, cum_sell_qty;
    int64_t cum_since_ms;
    size_t cum_trades;
};

/* Order flow over the window_s seconds before in->now_ms (trades with
 * now - window < T <= now): taker buy and sell volume (an aggTrade with
 * m = false is a taker buy), net flow, their ratio and direction band,
 * trade counts, and the cumulative delta of all the trades given.
 * Returns 0, or -1 when window_s <= 0 or a sum overflows 38 digits (out
 * is then unspecified). */
int an_order_flow(const struct an_input *in, int window_s, struct an_flow *out);

/* JSON: {"window_s", "direction", "buy_volume", "sell_volume", "net_flow"
 * (exact decimal strings, net_flow signed), "ratio" (number, or null with
 * no sell volume), "buy_trades", "sell_trades", "trades",
 * "cumulative_delta" (signed exact string), "cumulative_delta_since_ms",
 * "coverage"}. New object, or NULL when out of memory. */
json_object *an_flow_json(const struct an_flow *f);

/* ---- volume profile ---- */

#define AN_PROFILE_BIN_TICKS 10  /* a bin is at least ten ticks */
#define AN_PROFILE_BIN_SPLIT 100 /* ... and at least the range / 100 */
#define AN_PROFILE_BINS_MAX  104 /* range / 100 plus the edges, with room */
#define AN_VALUE_AREA_PCT    70  /* the value area holds 70 % of volume */

struct an_profile_bin {
    struct dec low;    /* the bin is [low, low + bin_size) */
    struct dec volume; /* base quantity traded in it, exact */
    size_t trades;
};

struct an_profile {
    struct an_coverage cov; /* of trades */
    struct dec tick;        /* as given */
    struct dec bin_size;    /* max(tick * 10, range / 100 up to a tick) */
    struct dec low, high;   /* the lowest and highest traded price */
    struct dec total;       /* all volume in the window */
    size_t nbins;           /* 0 when the window holds no trade */
    struct an_profile_bin bins[AN_PROFILE_BINS_MAX]; /* lowest first */
    bool has_poc;                                    /* nbins > 0 */
    size_t poc;          /* index of the bin with most volume (the lower
                            one on a tie) */
    size_t va_lo, va_hi; /* the value area: bins va_lo..va_hi */
    struct dec val, vah; /* its lower and upper price edge */
    struct dec va_volume;
};

/* The volume profile of the trades in the window_ms before in->now_ms,
 * binned on the tick grid: bin = max(tick x 10, (high - low) / 100 rounded
 * up to a tick), bins starting at the bin-grid value at or below low. The
 * POC is the bin with most volume; the value area grows from it one bin at
 * a time toward the neighbour with more volume (both when equal) until it
 * holds at least 70 % of the total, compared exactly. Returns 0, or -1
 * when window_ms <= 0, tick is zero, or a sum does not fit. */
int an_volume_profile(const struct an_input *in, int64_t window_ms,
                      const struct dec *tick, struct an_profile *out);

/* JSON: {"tick_size", "bin_size", "low", "high", "total_volume",
 * "poc": {"low", "high", "volume"} or null, "value_area": {"val", "vah",
 * "volume", "share"} or null, "bins": [{"low", "high", "volume",
 * "trades"}], "coverage"}. Prices and volumes are exact strings; share is
 * a number. New object, or NULL when out of memory. */
json_object *an_profile_json(const struct an_profile *p);

/* ---- anomalies ---- */

#define AN_STUFFING_RATE      500.0 /* updates/s above which ... */
#define AN_STUFFING_FILLS     0.10  /* ... with fills/updates under this */
#define AN_ICEBERG_RATIO      5.0   /* refills above 5 x the median */
#define AN_ICEBERG_MAX        8     /* candidates kept, most refills first */
#define AN_ICEBERG_TRACK      4096  /* price levels followed in a window */
#define AN_CRASH_DEPTH_LOSS   0.80  /* depth under 20 % of its median */
#define AN_CRASH_SPREAD_RATIO 10.0  /* spread over 10 x its median */
#define AN_CRASH_CANCELS      0.90  /* cancelled share of what left the book */
#define AN_CRASH_RECENT_MS    5000  /* cancellations: the last 5 s */

/* A finding: whether it could be judged, whether it holds, and how sure.
 * confidence and severity mean something only when detected. */
struct an_finding {
    bool evaluated;
    bool detected;
    double confidence;
    enum an_severity severity;
};

/* Quote stuffing: a sample interval with more than 500 level updates per
 * second of which fewer than 10 % are matched by fills (aggTrades in the
 * same interval; an aggTrade may join several fills at one price, so the
 * ratio leans towards stuffing). Judged per interval between two
 * consecutive samples; the worst flagged interval (highest rate) is
 * reported, else the busiest one. confidence = the smaller of the two
 * conditions' confidences. */
struct an_stuffing {
    struct an_finding f;
    size_t intervals;       /* intervals judged */
    size_t intervals_over;  /* of them, flagged */
    int64_t at_ms;          /* the end of the reported interval */
    struct an_signal rate;  /* updates per second */
    struct an_signal fills; /* fills / updates */
    uint32_t updates;       /* of the reported interval */
    size_t trades;
    double interval_s;
};

/* An iceberg: a price level that traded at least its whole displayed
 * quantity between two samples and was still there at the second (a
 * refill), more than 5 times the median refills of the levels that
 * traded at all (a median under one counts as one: a level must refill
 * at least six times). Trades meet the side they took from: a taker sell
 * (m = true) fills a bid at its price, a taker buy an ask. */
struct an_iceberg {
    bool bid; /* the side of the level */
    struct dec price;
    unsigned refills;
    unsigned intervals; /* intervals in which the level traded */
    struct dec traded;  /* quantity traded at the level, exact */
    struct dec shown;   /* its displayed quantity at the last sample */
    double ratio;       /* refills / max(median, 1) */
    struct an_finding f;
};

struct an_icebergs {
    bool evaluated;        /* a sample interval ends in the window */
    size_t levels_traded;  /* levels the median runs over */
    double median_refills; /* their median refill count */
    size_t n;              /* detected, most refills first */
    struct an_iceberg top[AN_ICEBERG_MAX];
    bool truncated; /* more than AN_ICEBERG_TRACK levels traded */
};

/* Flash-crash risk: three signals on the latest sample in the window
 * against the median of the window's samples, the latest included (depth =
 * quote notional of both sides' sampled levels; spread in basis points of the
 * mid), and the share of the quantity that left the book in the last 5 s which
 * trades did not take (cancellations). A risk needs two signals: a crypto book
 * cancels more than 90 % of what it posts on an ordinary day, and one thin or
 * wide moment alone is not a crash; confidence = the mean of the fired
 * signals' confidences. */
struct an_flash {
    struct an_finding f;
    struct an_signal depth_loss;   /* 1 - depth / median depth */
    struct an_signal spread_ratio; /* spread / median spread */
    struct an_signal cancels;      /* (removed - traded) / removed */
    double depth_now, depth_median;
    double spread_now_bps, spread_median_bps;
    double removed_qty, traded_qty;
    int signals_fired;
};

struct an_anomalies {
    struct an_coverage trades_cov, books_cov;
    struct an_stuffing stuffing;
    struct an_icebergs icebergs;
    struct an_flash flash;
};

/* The three anomaly checks over the window_s seconds before in->now_ms.
 * Returns 0, or -1 when window_s <= 0, memory runs out or an exact sum
 * does not fit. */
int an_anomalies(const struct an_input *in, int window_s,
                 struct an_anomalies *out);

/* JSON: {"window_s", "anomalies": [{"type", "severity", "confidence",
 * "description", ...measures}] (the detected ones), "checks":
 * {"quote_stuffing", "iceberg_orders", "flash_crash_risk"} (each check's
 * measures, detected or not; "evaluated": false with the reason when the
 * data did not allow it), "coverage": {"trades", "books"}}. New object, or
 * NULL when out of memory. */
json_object *an_anomalies_json(const struct an_anomalies *a);

/* ---- liquidity vacuums ---- */

#define AN_VACUUM_THRESHOLD 0.20 /* under 20 % of the median: a vacuum */
#define AN_VACUUM_MAX       16

/* 008's impact from a vacuum's volume deficit, 1 - volume / median:
 * FAST_MOVEMENT > 0.8, MODERATE > 0.5, else NEGLIGIBLE. With the default
 * threshold (0.20) every vacuum's deficit exceeds 0.8; a caller that
 * passes a wider threshold (the README's threshold_percentile) meets the
 * other classes. */
enum an_impact { AN_IMPACT_NEGLIGIBLE, AN_IMPACT_MODERATE, AN_IMPACT_FAST };
enum an_impact an_impact_of(double deficit);
const char *an_impact_name(enum an_impact i); /* "FAST_MOVEMENT", ... */

enum an_vacuum_source {
    AN_VACUUM_TRADED,  /* a volume profile's bins */
    AN_VACUUM_RESTING, /* the latest book sample's levels */
};

struct an_vacuum {
    bool bid;             /* resting: the side; traded: false */
    struct dec low, high; /* the price range: [low, high), or (low, high]
                             for resting bids, binned down from the best */
    size_t bins;
    double volume;  /* mean volume of its bins */
    double deficit; /* 1 - volume / median */
    enum an_impact impact;
};

struct an_vacuums {
    struct an_coverage cov; /* traded: of trades; resting: of samples */
    enum an_vacuum_source source;
    struct dec bin_size;
    double threshold;     /* the share of the median */
    size_t bins_examined; /* bins the median runs over */
    double median_volume; /* per bin */
    size_t n;             /* ranges, lowest price first */
    struct an_vacuum v[AN_VACUUM_MAX];
    bool truncated; /* more than AN_VACUUM_MAX ranges */
};

/* Vacuums in traded volume: the bins of prof (an_volume_profile's result,
 * borrowed) whose volume is under threshold x the median bin volume (empty
 * bins inside the traded range count, at 0), adjacent ones merged into one
 * range. threshold <= 0 means AN_VACUUM_THRESHOLD. Returns 0, or -1 when
 * memory runs out. */
int an_vacuums_traded(const struct an_profile *prof, double threshold,
                      struct an_vacuums *out);

#define AN_RESTING_MAX_AGE_MS 5000 /* the newest sample, if this fresh */

/* Vacuums in resting volume: the levels of the newest sample of the last
 * AN_RESTING_MAX_AGE_MS (the coverage's window; count says how many
 * samples it held, and none means nothing examined), each side in bins of
 * tick x 10 going out from the best price to the last sampled level; bins
 * under threshold x the median over both sides. Returns 0, or -1 when
 * tick is zero. */
int an_vacuums_resting(const struct an_input *in, const struct dec *tick,
                       double threshold, struct an_vacuums *out);

/* JSON: {"source", "bin_size", "threshold", "median_volume",
 * "bins_examined", "vacuums": [{"side" (resting only), "low", "high",
 * "bins", "volume", "deficit", "impact"}], "truncated", "coverage"}. New
 * object, or NULL when out of memory. */
json_object *an_vacuums_json(const struct an_vacuums *v);

/* ---- microstructure health ---- */

#define AN_W_SPREAD 0.25
#define AN_W_DEPTH  0.35
#define AN_W_FLOW   0.25
#define AN_W_RATE   0.15

/* EXCELLENT >= 80, GOOD >= 60, FAIR >= 40, POOR >= 20, else CRITICAL;
 * UNKNOWN when no component could be measured. */
enum an_band {
    AN_BAND_UNKNOWN,
    AN_BAND_CRITICAL,
    AN_BAND_POOR,
    AN_BAND_FAIR,
    AN_BAND_GOOD,
    AN_BAND_EXCELLENT,
};
enum an_band an_band_of(double score);
const char *an_band_name(enum an_band b); /* "EXCELLENT", ... */

struct an_component {
    bool measured;
    double score;  /* 0..100 */
    double weight; /* 008's */
};

/* Each component from measurements over the window, 0..100:
 * - spread stability: 100 x (1 - cv) floored at 0, cv = the population
 *   standard deviation of the samples' spreads (bps) over their mean;
 * - depth: 100 x min(1, latest depth / median depth) (quote notional of
 *   both sides' sampled levels): how much of its usual depth the book has;
 * - flow balance: 100 x (1 - |buy - sell| / (buy + sell)) of taker volume;
 * - update rate: 100 x the share of sample intervals with at least one
 *   level update and at most 500 per second (neither frozen nor stuffed).
 * The score is the weighted mean of the measured components, the weights
 * renormalised over them (weight_measured says how much of the whole it
 * rests on); no component measured: has_score false, band UNKNOWN. */
struct an_health {
    struct an_coverage books_cov, trades_cov;
    struct an_component spread, depth, flow, rate;
    size_t spread_samples;
    double spread_mean_bps, spread_std_bps, spread_cv;
    double depth_now, depth_median;
    double buy_qty, sell_qty;
    size_t rate_intervals, rate_healthy;
    bool has_score;
    double score;
    double weight_measured; /* 0..1 */
    enum an_band band;
};

/* Microstructure health over the window_s seconds before in->now_ms.
 * Returns 0, or -1 when window_s <= 0 or memory runs out. */
int an_health(const struct an_input *in, int window_s, struct an_health *out);

/* JSON: {"window_s", "score" (number or null), "band", "weight_measured",
 * "components": {"spread_stability", "depth", "flow_balance",
 * "update_rate"} each {"score" or null, "weight", measures...},
 * "coverage": {"books", "trades"}}. New object, or NULL when out of
 * memory. */
json_object *an_health_json(const struct an_health *h);

#endif
