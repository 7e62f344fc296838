/*
 * test_analytics.c - unit tests of the market analytics (src/tools/
 * analytics.c) and of the analytics prompts' markdown (analytics_md.c).
 *
 * Every market here is scripted, and every expected value was computed by
 * hand: the arithmetic stands in a comment beside it. Times are ms before
 * a fixed NOW; book samples are one second apart, as the feed takes them.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "analytics.h"
#include "analytics_md.h"
#include "dbuf.h"
#include "decimal.h"
#include "testlib.h"

#define NOW INT64_C(1700000000000)
#define EPS 1e-9

/* ---- helpers ---- */

static struct dec
D(const char *s) {
    struct dec d = {0, 0};

    CU_ASSERT_EQUAL_FATAL(dec_parse(s, &d), 0);
    return d;
}

/* Whether d is the decimal s. */
static int
dec_is(const struct dec *d, const char *s)
{
    char buf[DEC_STR_MAX];
    struct dec want = D(s);

    if (dec_cmp(d, &want) != 0)
        fprintf(stderr, "got %s, want %s\n", dec_str(d, buf), s);
    return dec_cmp(d, &want) == 0;
}

/* A taker buy (m = false) or a taker sell (m = true). */
static struct an_trade
buy(int64_t t, const char *price, const char *qty)
{
    return (struct an_trade){t, D(price), D(qty), false};
}

static struct an_trade
sell(int64_t t, const char *price, const char *qty)
{
    return (struct an_trade){t, D(price), D(qty), true};
}

/* A sample with one level a side. */
static struct an_book_sample
sample(int64_t t, const char *bid, const char *bq, const char *ask,
       const char *aq, uint32_t updates, double removed)
{
    struct an_book_sample s;

    memset(&s, 0, sizeof(s));
    s.time_ms = t;
    s.nbids = s.nasks = 1;
    s.bids[0] = (struct an_level){D(bid), D(bq)};
    s.asks[0] = (struct an_level){D(ask), D(aq)};
    s.updates = updates;
    s.removed_qty = removed;
    return s;
}

static void
add_level(struct an_book_sample *s, bool bid, const char *price,
          const char *qty)
{
    struct an_level *lv = bid ? &s->bids[s->nbids++] : &s->asks[s->nasks++];

    *lv = (struct an_level){D(price), D(qty)};
}

/* The string at path of o, "" when absent; and whether it is JSON null. */
static const char *
js(json_object *o, const char *path)
{
    return tl_str_at(o, path);
}

static int
jnull(json_object *o, const char *path)
{
    json_object *parent = o, *v = NULL;
    char buf[256];
    char *dot;

    snprintf(buf, sizeof(buf), "%s", path);
    dot = strrchr(buf, '.');
    if (dot != NULL) {
        *dot = '\0';
        parent = tl_get_path(o, buf);
    }
    return parent != NULL &&
           json_object_object_get_ex(parent, dot ? dot + 1 : buf, &v) &&
           v == NULL;
}

/* ---- vocabulary ---- */

static void
test_bands_and_severities(void)
{
    /* direction bands on buy/sell: > 2.0, [1.2, 2.0], (0.8, 1.2),
     * [0.5, 0.8], < 0.5 */
    CU_ASSERT_EQUAL(an_direction_of(2.0), AN_DIR_MODERATE_BUY);
    CU_ASSERT_EQUAL(an_direction_of(2.0001), AN_DIR_STRONG_BUY);
    CU_ASSERT_EQUAL(an_direction_of(1.2), AN_DIR_MODERATE_BUY);
    CU_ASSERT_EQUAL(an_direction_of(1.1999), AN_DIR_NEUTRAL);
    CU_ASSERT_EQUAL(an_direction_of(0.8001), AN_DIR_NEUTRAL);
    CU_ASSERT_EQUAL(an_direction_of(0.8), AN_DIR_MODERATE_SELL);
    CU_ASSERT_EQUAL(an_direction_of(0.5), AN_DIR_MODERATE_SELL);
    CU_ASSERT_EQUAL(an_direction_of(0.4999), AN_DIR_STRONG_SELL);
    CU_ASSERT_STRING_EQUAL(an_direction_name(AN_DIR_STRONG_BUY), "STRONG_BUY");

    /* severity: > 0.95, > 0.85, > 0.7, else LOW */
    CU_ASSERT_EQUAL(an_severity_of(0.96), AN_SEV_CRITICAL);
    CU_ASSERT_EQUAL(an_severity_of(0.95), AN_SEV_HIGH);
    CU_ASSERT_EQUAL(an_severity_of(0.86), AN_SEV_HIGH);
    CU_ASSERT_EQUAL(an_severity_of(0.85), AN_SEV_MEDIUM);
    CU_ASSERT_EQUAL(an_severity_of(0.71), AN_SEV_MEDIUM);
    CU_ASSERT_EQUAL(an_severity_of(0.7), AN_SEV_LOW);

    /* confidence = 0.5 + 0.5 * clamp((x - t) / (full - t), 0, 1) */
    /* 750 updates/s: (750 - 500) / (1000 - 500) = 0.5 -> 0.75 */
    CU_ASSERT_DOUBLE_EQUAL(an_confidence(750, 500, 1000), 0.75, EPS);
    /* fills 0.05 under 0.10: (0.05 - 0.10) / (0 - 0.10) = 0.5 -> 0.75 */
    CU_ASSERT_DOUBLE_EQUAL(an_confidence(0.05, 0.10, 0), 0.75, EPS);
    /* past full: clamped to 1 */
    CU_ASSERT_DOUBLE_EQUAL(an_confidence(2000, 500, 1000), 1.0, EPS);
    /* short of the threshold: clamped to 0 */
    CU_ASSERT_DOUBLE_EQUAL(an_confidence(400, 500, 1000), 0.5, EPS);

    /* health bands: >= 80, >= 60, >= 40, >= 20, else */
    CU_ASSERT_EQUAL(an_band_of(80), AN_BAND_EXCELLENT);
    CU_ASSERT_EQUAL(an_band_of(79.99), AN_BAND_GOOD);
    CU_ASSERT_EQUAL(an_band_of(60), AN_BAND_GOOD);
    CU_ASSERT_EQUAL(an_band_of(40), AN_BAND_FAIR);
    CU_ASSERT_EQUAL(an_band_of(20), AN_BAND_POOR);
    CU_ASSERT_EQUAL(an_band_of(19.99), AN_BAND_CRITICAL);

    /* impact: deficit > 0.8, > 0.5, else */
    CU_ASSERT_EQUAL(an_impact_of(0.81), AN_IMPACT_FAST);
    CU_ASSERT_EQUAL(an_impact_of(0.8), AN_IMPACT_MODERATE);
    CU_ASSERT_EQUAL(an_impact_of(0.51), AN_IMPACT_MODERATE);
    CU_ASSERT_EQUAL(an_impact_of(0.5), AN_IMPACT_NEGLIGIBLE);
}

/* ---- order flow ---- */

/* Ten trades in the last minute with known taker sides, one older, one
 * after NOW (not yet happened: ignored everywhere). */
static const struct an_trade *
flow_trades(size_t *n)
{
    static struct an_trade t[12];

    t[0] = sell(NOW - 100000, "100", "5"); /* older than a minute */
    t[1] = buy(NOW - 50000, "100", "1");
    t[2] = sell(NOW - 45000, "100", "1");
    t[3] = buy(NOW - 40000, "100", "1");
    t[4] = sell(NOW - 35000, "100", "1");
    t[5] = buy(NOW - 30000, "100", "2"); /* on the 30 s edge: out */
    t[6] = sell(NOW - 25000, "100", "1");
    t[7] = buy(NOW - 20000, "100", "1");
    t[8] = sell(NOW - 15000, "100", "3");
    t[9] = buy(NOW - 10000, "100", "2.9"); /* on the 10 s edge: out */
    t[10] = buy(NOW - 5000, "100", "0.1");
    t[11] = buy(NOW + 1000, "100", "100"); /* the future */
    *n = 12;
    return t;
}

static void
test_flow_ten_trades(void)
{
    struct an_input in = {.now_ms = NOW};
    struct an_flow f;
    json_object *o;

    in.trades = flow_trades(&in.ntrades);

    /* 60 s: trades 1..10. buys 1 + 1 + 2 + 1 + 2.9 + 0.1 = 8 (6 trades),
     * sells 1 + 1 + 1 + 3 = 6 (4 trades); ratio 8 / 6 = 1.3333 in
     * [1.2, 2.0]: MODERATE_BUY; net 8 - 6 = 2 */
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 60, &f), 0);
    CU_ASSERT(dec_is(&f.buy_qty, "8"));
    CU_ASSERT(dec_is(&f.sell_qty, "6"));
    CU_ASSERT_EQUAL(f.buy_trades, 6);
    CU_ASSERT_EQUAL(f.sell_trades, 4);
    CU_ASSERT(f.has_ratio);
    CU_ASSERT_DOUBLE_EQUAL(f.ratio, 8.0 / 6.0, EPS);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_MODERATE_BUY);
    /* cumulative delta, all 11 trades up to NOW: 8 - (6 + 5) = -3, since
     * the oldest trade (no since given) */
    CU_ASSERT(dec_is(&f.cum_buy_qty, "8"));
    CU_ASSERT(dec_is(&f.cum_sell_qty, "11"));
    CU_ASSERT_EQUAL(f.cum_since_ms, NOW - 100000);
    /* coverage: data from NOW - 100 s, so the minute is whole; 10 trades,
     * the first at -50 s, the last at -5 s */
    CU_ASSERT_DOUBLE_EQUAL(f.cov.fraction, 1.0, EPS);
    CU_ASSERT_EQUAL(f.cov.count, 10);
    CU_ASSERT_EQUAL(f.cov.first_ms, NOW - 50000);
    CU_ASSERT_EQUAL(f.cov.last_ms, NOW - 5000);
    o = an_flow_json(&f);
    CU_ASSERT_STRING_EQUAL(js(o, "direction"), "MODERATE_BUY");
    CU_ASSERT_STRING_EQUAL(js(o, "net_flow"), "2");
    CU_ASSERT_STRING_EQUAL(js(o, "ratio"), "1.3333");
    CU_ASSERT_STRING_EQUAL(js(o, "cumulative_delta"), "-3");
    CU_ASSERT_STRING_EQUAL(js(o, "trades"), "10");
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.complete"), "true");
    json_object_put(o);

    /* 30 s: (NOW - 30 s, NOW], the -30 s buy is out: trades 6..10. buys
     * 1 + 2.9 + 0.1 = 4 (3), sells 1 + 3 = 4 (2); ratio 1.0: NEUTRAL, net
     * 0 */
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 30, &f), 0);
    CU_ASSERT(dec_is(&f.buy_qty, "4"));
    CU_ASSERT(dec_is(&f.sell_qty, "4"));
    CU_ASSERT_EQUAL(f.buy_trades, 3);
    CU_ASSERT_EQUAL(f.sell_trades, 2);
    CU_ASSERT_DOUBLE_EQUAL(f.ratio, 1.0, EPS);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_NEUTRAL);
    o = an_flow_json(&f);
    CU_ASSERT_STRING_EQUAL(js(o, "net_flow"), "0");
    json_object_put(o);

    /* 10 s: only the 0.1 buy (the 2.9 at -10 s is on the edge): no sell
     * volume, so no ratio, and STRONG_BUY */
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 10, &f), 0);
    CU_ASSERT(dec_is(&f.buy_qty, "0.1"));
    CU_ASSERT(!f.has_ratio);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_STRONG_BUY);
    o = an_flow_json(&f);
    CU_ASSERT(jnull(o, "ratio"));
    CU_ASSERT_STRING_EQUAL(js(o, "net_flow"), "0.1");
    json_object_put(o);

    /* 300 s: all 11: buys 8, sells 11; ratio 8 / 11 = 0.7273 in
     * [0.5, 0.8]: MODERATE_SELL, net -3. Data since -100 s covers
     * 100 / 300 of the window. */
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 300, &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f.ratio, 8.0 / 11.0, EPS);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_MODERATE_SELL);
    CU_ASSERT_EQUAL(f.cov.count, 11);
    CU_ASSERT_EQUAL(f.cov.data_from_ms, NOW - 100000);
    CU_ASSERT_DOUBLE_EQUAL(f.cov.fraction, 100.0 / 300.0, EPS);
    o = an_flow_json(&f);
    CU_ASSERT_STRING_EQUAL(js(o, "net_flow"), "-3");
    CU_ASSERT_STRING_EQUAL(js(o, "ratio"), "0.7273");
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.fraction"), "0.3333");
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.covered_s"), "100");
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.complete"), "false");
    json_object_put(o);

    CU_ASSERT_EQUAL(an_order_flow(&in, 0, &f), -1);
}

static void
test_flow_no_data(void)
{
    struct an_input in = {.now_ms = NOW};
    struct an_flow f;
    json_object *o;

    /* nothing at all: coverage 0, direction UNKNOWN, no ratio */
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 60, &f), 0);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_UNKNOWN);
    CU_ASSERT(!f.has_ratio);
    CU_ASSERT_EQUAL(f.cov.count, 0);
    CU_ASSERT_DOUBLE_EQUAL(f.cov.fraction, 0.0, EPS);
    CU_ASSERT_EQUAL(f.cov.data_from_ms, NOW);
    o = an_flow_json(&f);
    CU_ASSERT_STRING_EQUAL(js(o, "direction"), "UNKNOWN");
    CU_ASSERT(jnull(o, "ratio"));
    CU_ASSERT(jnull(o, "coverage.first_ms"));
    CU_ASSERT(jnull(o, "cumulative_delta_since_ms"));
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.fraction"), "0");
    json_object_put(o);

    /* a quiet stream, running for 20 s without a trade: 20 / 60 covered,
     * still no direction */
    in.trades_since_ms = NOW - 20000;
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 60, &f), 0);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_UNKNOWN);
    CU_ASSERT_DOUBLE_EQUAL(f.cov.fraction, 20.0 / 60.0, EPS);
}

static void
test_flow_single_trade_partial_window(void)
{
    struct an_trade t[1];
    struct an_input in = {.now_ms = NOW, .trades = t, .ntrades = 1};
    struct an_flow f;

    /* one taker sell of 0.5: ratio 0 / 0.5 = 0 < 0.5: STRONG_SELL */
    t[0] = sell(NOW - 3000, "100", "0.5");
    /* the stream started 20 s ago */
    in.trades_since_ms = NOW - 20000;
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 60, &f), 0);
    CU_ASSERT(f.has_ratio);
    CU_ASSERT_DOUBLE_EQUAL(f.ratio, 0.0, EPS);
    CU_ASSERT_EQUAL(f.direction, AN_DIR_STRONG_SELL);
    CU_ASSERT_EQUAL(f.cov.count, 1);
    /* 60 s window, 20 s of data: 1/3; the 10 s window is whole */
    CU_ASSERT_DOUBLE_EQUAL(f.cov.fraction, 20.0 / 60.0, EPS);
    CU_ASSERT_EQUAL(f.cov.data_from_ms, NOW - 20000);
    CU_ASSERT_EQUAL(f.cum_since_ms, NOW - 20000);
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 10, &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f.cov.fraction, 1.0, EPS);
}

/* ---- volume profile ---- */

static void
test_profile_poc_value_area(void)
{
    struct an_trade t[9];
    struct an_input in = {.now_ms = NOW, .trades = t, .ntrades = 9};
    struct an_profile p;
    struct dec tick = D("0.1");
    json_object *o;
    int64_t s = NOW - 600000;

    /* tick 0.1: bin = max(0.1 x 10 = 1, (105.5 - 100) / 100 = 0.055 -> 0.1)
     * = 1; bins from 100: [100,101) ... [105,106), six of them, with
     * volumes 1, 2, 2+3 = 5, 4+4 = 8, 3, 1 (total 20) */
    t[0] = sell(NOW - 3600001, "1", "1000"); /* older than the hour */
    t[1] = buy(s + 1, "103.4", "4");
    t[2] = sell(s + 2, "100.0", "1");
    t[3] = buy(s + 3, "101.5", "2");
    t[4] = buy(s + 4, "102.2", "2");
    t[5] = sell(s + 5, "102.9", "3");
    t[6] = sell(s + 6, "103.0", "4");
    t[7] = buy(s + 7, "104.1", "3");
    t[8] = buy(s + 8, "105.5", "1");
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 3600000, &tick, &p), 0);
    CU_ASSERT(dec_is(&p.bin_size, "1"));
    CU_ASSERT_EQUAL_FATAL(p.nbins, 6);
    CU_ASSERT(dec_is(&p.bins[0].low, "100"));
    CU_ASSERT(dec_is(&p.bins[5].low, "105"));
    CU_ASSERT(dec_is(&p.bins[2].volume, "5"));
    CU_ASSERT_EQUAL(p.bins[3].trades, 2);
    CU_ASSERT(dec_is(&p.total, "20"));
    CU_ASSERT(dec_is(&p.low, "100"));
    CU_ASSERT(dec_is(&p.high, "105.5"));
    /* POC: bin 3, [103, 104), 8 */
    CU_ASSERT(p.has_poc);
    CU_ASSERT_EQUAL(p.poc, 3);
    /* value area, 70 % of 20 = 14: 8; neighbours 5 (below) vs 3 (above):
     * take 5 -> 13 < 14; neighbours 2 (bin 1) vs 3 (bin 4): take 3 -> 16
     * >= 14. Bins 2..4: VAL 102, VAH 105, volume 16 (share 0.8) */
    CU_ASSERT_EQUAL(p.va_lo, 2);
    CU_ASSERT_EQUAL(p.va_hi, 4);
    CU_ASSERT(dec_is(&p.val, "102"));
    CU_ASSERT(dec_is(&p.vah, "105"));
    CU_ASSERT(dec_is(&p.va_volume, "16"));
    CU_ASSERT_EQUAL(p.cov.count, 8);
    o = an_profile_json(&p);
    CU_ASSERT_STRING_EQUAL(js(o, "poc.low"), "103");
    CU_ASSERT_STRING_EQUAL(js(o, "poc.high"), "104");
    CU_ASSERT_STRING_EQUAL(js(o, "poc.volume"), "8");
    CU_ASSERT_STRING_EQUAL(js(o, "value_area.val"), "102");
    CU_ASSERT_STRING_EQUAL(js(o, "value_area.vah"), "105");
    CU_ASSERT_STRING_EQUAL(js(o, "value_area.share"), "0.8");
    CU_ASSERT_STRING_EQUAL(js(o, "total_volume"), "20");
    CU_ASSERT_EQUAL(json_object_array_length(tl_get_path(o, "bins")), 6);
    CU_ASSERT_STRING_EQUAL(js(o, "bins.5.high"), "106");
    json_object_put(o);
}

static void
test_profile_tie_and_range_bins(void)
{
    struct an_trade t[5];
    struct an_input in = {.now_ms = NOW, .trades = t};
    struct an_profile p;
    struct dec tick = D("1");

    /* tick 1, prices 100..140: bin max(10, 40 / 100 -> 1) = 10; volumes
     * 1, 4, 10, 4, 1 (total 20, 70 % = 14): 10, then the neighbours tie at
     * 4 and 4: both -> 18. Bins 1..3: VAL 110, VAH 140 */
    t[0] = buy(NOW - 5000, "100", "1");
    t[1] = buy(NOW - 4000, "110", "4");
    t[2] = buy(NOW - 3000, "120", "10");
    t[3] = buy(NOW - 2000, "130", "4");
    t[4] = buy(NOW - 1000, "140", "1");
    in.ntrades = 5;
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 60000, &tick, &p), 0);
    CU_ASSERT(dec_is(&p.bin_size, "10"));
    CU_ASSERT_EQUAL(p.nbins, 5);
    CU_ASSERT_EQUAL(p.poc, 2);
    CU_ASSERT_EQUAL(p.va_lo, 1);
    CU_ASSERT_EQUAL(p.va_hi, 3);
    CU_ASSERT(dec_is(&p.val, "110"));
    CU_ASSERT(dec_is(&p.vah, "140"));
    CU_ASSERT(dec_is(&p.va_volume, "18"));

    /* tick 0.01, prices 100, 175 (2), 250: range 150, 150 / 100 = 1.5 >
     * 0.01 x 10: bin 1.5. Bins start at the grid value under 100: 66 x 1.5
     * = 99. 250: (250 - 99) / 1.5 = 100.67 -> bin 100, so 101 bins; 175:
     * 76 / 1.5 = 50.67 -> bin 50 = [174, 175.5), the POC. Value area 2.8
     * of 4: empty neighbours tie and grow together until bins 0 and 100
     * join at once: VAL 99, VAH 250 + ... = 99 + 101 x 1.5 = 250.5 */
    tick = D("0.01");
    t[0] = buy(NOW - 3000, "100", "1");
    t[1] = buy(NOW - 2000, "175", "2");
    t[2] = buy(NOW - 1000, "250", "1");
    in.ntrades = 3;
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 60000, &tick, &p), 0);
    CU_ASSERT(dec_is(&p.bin_size, "1.5"));
    CU_ASSERT_EQUAL_FATAL(p.nbins, 101);
    CU_ASSERT(dec_is(&p.bins[0].low, "99"));
    CU_ASSERT_EQUAL(p.poc, 50);
    CU_ASSERT(dec_is(&p.bins[50].low, "174"));
    CU_ASSERT(dec_is(&p.val, "99"));
    CU_ASSERT(dec_is(&p.vah, "250.5"));
    CU_ASSERT(dec_is(&p.va_volume, "4"));
}

static void
test_profile_empty_and_single(void)
{
    struct an_trade t[1];
    struct an_input in = {.now_ms = NOW, .trades = t};
    struct an_profile p;
    struct dec tick = D("0.01"), zero = D("0");
    json_object *o;

    /* no trade: no bins, no POC, coverage 0 */
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 3600000, &tick, &p), 0);
    CU_ASSERT_EQUAL(p.nbins, 0);
    CU_ASSERT(!p.has_poc);
    CU_ASSERT_DOUBLE_EQUAL(p.cov.fraction, 0.0, EPS);
    o = an_profile_json(&p);
    CU_ASSERT(jnull(o, "poc"));
    CU_ASSERT(jnull(o, "value_area"));
    CU_ASSERT(jnull(o, "low"));
    CU_ASSERT_EQUAL(json_object_array_length(tl_get_path(o, "bins")), 0);
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.count"), "0");
    json_object_put(o);

    /* one trade of 0.5 at 100.05: range 0, bin 0.01 x 10 = 0.1, from
     * 100.0: one bin [100, 100.1), POC and value area */
    t[0] = buy(NOW - 1000, "100.05", "0.5");
    in.ntrades = 1;
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 3600000, &tick, &p), 0);
    CU_ASSERT_EQUAL(p.nbins, 1);
    CU_ASSERT_EQUAL(p.poc, 0);
    CU_ASSERT(dec_is(&p.val, "100"));
    CU_ASSERT(dec_is(&p.vah, "100.1"));
    CU_ASSERT(dec_is(&p.va_volume, "0.5"));
    CU_ASSERT_EQUAL(an_volume_profile(&in, 3600000, &zero, &p), -1);
}

/* ---- anomalies ---- */

/* Eleven samples one second apart, the last at NOW: bid 99 x 10, ask
 * 101 x 10, 50 level updates a second, removed quantity 0. */
static void
quiet_book(struct an_book_sample *b)
{
    for (int k = 0; k <= 10; k++)
        b[k] = sample(NOW - 10000 + k * 1000, "99", "10", "101", "10", 50, 0);
}

static void
test_quote_stuffing(void)
{
    struct an_book_sample b[11];
    struct an_trade t[130];
    struct an_input in = {.now_ms = NOW, .books = b, .nbooks = 11, .trades = t};
    struct an_anomalies a;
    json_object *o;

    quiet_book(b);
    /* the interval ending at sample 5 (NOW - 5 s): 1,200 updates */
    b[5].updates = 1200;
    for (int i = 0; i < 130; i++) /* inside (NOW - 6 s, NOW - 5 s] */
        t[i] = buy(NOW - 6000 + 1 + i, "50", "1");

    /* 30 fills: rate 1,200 / 1 s > 500; fills 30 / 1,200 = 0.025 < 0.10.
     * confidence: rate (1200 - 500) / 500 = 1.4 -> 1 -> 1.0; fills
     * (0.025 - 0.10) / (0 - 0.10) = 0.75 -> 0.875; the smaller: 0.875 ->
     * HIGH (> 0.85). Intervals: samples 1..10 (sample 0 has no previous):
     * 10, one flagged. */
    in.ntrades = 30;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(a.stuffing.f.evaluated);
    CU_ASSERT(a.stuffing.f.detected);
    CU_ASSERT_EQUAL(a.stuffing.intervals, 10);
    CU_ASSERT_EQUAL(a.stuffing.intervals_over, 1);
    CU_ASSERT_EQUAL(a.stuffing.at_ms, NOW - 5000);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.rate.value, 1200, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.fills.value, 0.025, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.rate.confidence, 1.0, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.fills.confidence, 0.875, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.f.confidence, 0.875, EPS);
    CU_ASSERT_EQUAL(a.stuffing.f.severity, AN_SEV_HIGH);
    /* nothing else: no level traded (the trades are at 50), flat book */
    CU_ASSERT_EQUAL(a.icebergs.n, 0);
    CU_ASSERT(!a.flash.f.detected);
    o = an_anomalies_json(&a);
    CU_ASSERT_EQUAL(json_object_array_length(tl_get_path(o, "anomalies")), 1);
    CU_ASSERT_STRING_EQUAL(js(o, "anomalies.0.type"), "QUOTE_STUFFING");
    CU_ASSERT_STRING_EQUAL(js(o, "anomalies.0.severity"), "HIGH");
    CU_ASSERT_STRING_EQUAL(js(o, "anomalies.0.confidence"), "0.875");
    CU_ASSERT_STRING_EQUAL(js(o, "checks.quote_stuffing.fill_ratio.value"),
                           "0.025");
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.books.count"), "11");
    json_object_put(o);

    /* 60 fills: 0.05 -> (0.05 - 0.10) / -0.10 = 0.5 -> 0.75: MEDIUM */
    in.ntrades = 60;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(a.stuffing.f.detected);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.f.confidence, 0.75, EPS);
    CU_ASSERT_EQUAL(a.stuffing.f.severity, AN_SEV_MEDIUM);

    /* 130 fills: 130 / 1,200 = 0.108 >= 0.10: not stuffing; the busiest
     * interval is still reported, unflagged */
    in.ntrades = 130;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(!a.stuffing.f.detected);
    CU_ASSERT_EQUAL(a.stuffing.intervals_over, 0);
    CU_ASSERT_DOUBLE_EQUAL(a.stuffing.rate.value, 1200, EPS);
    CU_ASSERT(!a.stuffing.fills.fired);
}

static void
test_iceberg_six_refills(void)
{
    struct an_book_sample b[7];
    struct an_trade t[9];
    struct an_input in = {.now_ms = NOW, .books = b, .nbooks = 7, .trades = t};
    struct an_anomalies a;
    size_t n = 0;
    json_object *o;

    /* seven samples, NOW - 6 s .. NOW: bids 99 x 5, 98 x 5; asks 101 x 2,
     * 102 x 3, unchanged */
    for (int k = 0; k < 7; k++) {
        b[k] = sample(NOW - 6000 + k * 1000, "99", "5", "101", "2", 20, 0);
        add_level(&b[k], true, "98", "5");
        add_level(&b[k], false, "102", "3");
    }
    /* in each of the six intervals, takers buy 2 at 101: the whole shown
     * 2, and 101 still shows 2 after: six refills. Interval 2: a taker
     * sells 5 at 99 (all shown, 99 stays): one refill. Interval 3: a taker
     * buys 3 at 102: one refill. Interval 4: a taker sells 1 at 98 (of 5
     * shown): traded, no refill. */
    for (int k = 1; k <= 6; k++) {
        int64_t at = NOW - 6000 + k * 1000 - 500;

        t[n++] = buy(at, "101", "2");
        if (k == 2)
            t[n++] = sell(at + 1, "99", "5");
        if (k == 3)
            t[n++] = buy(at + 1, "102", "3");
        if (k == 4)
            t[n++] = sell(at + 1, "98", "1");
    }
    in.ntrades = n;

    /* refills per traded level: 101 -> 6, 99 -> 1, 102 -> 1, 98 -> 0;
     * median of {0, 1, 1, 6} = (1 + 1) / 2 = 1; 101: 6 / 1 = 6 > 5;
     * confidence (6 - 5) / (10 - 5) = 0.2 -> 0.6: LOW */
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(a.icebergs.evaluated);
    CU_ASSERT_EQUAL(a.icebergs.levels_traded, 4);
    CU_ASSERT_DOUBLE_EQUAL(a.icebergs.median_refills, 1.0, EPS);
    CU_ASSERT_EQUAL_FATAL(a.icebergs.n, 1);
    CU_ASSERT(!a.icebergs.top[0].bid);
    CU_ASSERT(dec_is(&a.icebergs.top[0].price, "101"));
    CU_ASSERT_EQUAL(a.icebergs.top[0].refills, 6);
    CU_ASSERT_EQUAL(a.icebergs.top[0].intervals, 6);
    CU_ASSERT(dec_is(&a.icebergs.top[0].traded, "12")); /* 6 x 2 */
    CU_ASSERT_DOUBLE_EQUAL(a.icebergs.top[0].ratio, 6.0, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.icebergs.top[0].f.confidence, 0.6, EPS);
    CU_ASSERT_EQUAL(a.icebergs.top[0].f.severity, AN_SEV_LOW);
    o = an_anomalies_json(&a);
    CU_ASSERT_STRING_EQUAL(js(o, "anomalies.0.type"), "ICEBERG_ORDER");
    CU_ASSERT_STRING_EQUAL(js(o, "checks.iceberg_orders.levels.0.price"),
                           "101");
    CU_ASSERT_STRING_EQUAL(js(o, "checks.iceberg_orders.levels.0.side"), "ask");
    json_object_put(o);

    /* up to NOW - 1 s only: five intervals, 101 refilled 5 times, median
     * of {0, 1, 1, 5} = 1, ratio 5: not above 5, no iceberg */
    in.now_ms = NOW - 1000;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT_EQUAL(a.icebergs.levels_traded, 4);
    CU_ASSERT_EQUAL(a.icebergs.n, 0);
}

static void
test_iceberg_most_refills_kept(void)
{
    static struct an_book_sample b[16];
    static struct an_trade t[128];
    struct an_input in = {.now_ms = NOW, .books = b, .nbooks = 16, .trades = t};
    struct an_anomalies a;
    char price[16];
    size_t n = 0;

    /* sixteen samples, fifteen intervals: asks 101..110 x 1, bids 99..89
     * x 1, unchanged. Ask 100 + j (j = 1..10) has its 1 taken and shown
     * again in the first 5 + j intervals: 6..15 refills. Bid 100 - i (i =
     * 1..11) is taken once, in interval i, and shown again: 1 refill. */
    for (int k = 0; k < 16; k++) {
        b[k] = sample(NOW - 15000 + k * 1000, "99", "1", "101", "1", 20, 0);
        for (int j = 2; j <= 10; j++) {
            snprintf(price, sizeof(price), "%d", 100 + j);
            add_level(&b[k], false, price, "1");
        }
        for (int i = 2; i <= 11; i++) {
            snprintf(price, sizeof(price), "%d", 100 - i);
            add_level(&b[k], true, price, "1");
        }
    }
    for (int k = 1; k <= 15; k++) {
        int64_t at = NOW - 15000 + k * 1000 - 500;

        for (int j = 1; j <= 10; j++)
            if (k <= 5 + j) {
                snprintf(price, sizeof(price), "%d", 100 + j);
                t[n++] = buy(at++, price, "1");
            }
        if (k <= 11) {
            snprintf(price, sizeof(price), "%d", 100 - k);
            t[n++] = sell(at++, price, "1");
        }
    }
    in.ntrades = n;
    CU_ASSERT_EQUAL(n, 116); /* 6 + ... + 15 = 105, and 11 */

    /* 21 levels traded; refills sorted: eleven 1s, then 6..15: the 11th
     * is 1. All ten asks are above 5 x 1; the 8 with most are kept, most
     * first: 110 (15) .. 103 (8); 110: (15 - 5) / 5 -> 1 -> 1.0, CRITICAL;
     * 103: (8 - 5) / 5 = 0.6 -> 0.8, MEDIUM */
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT_EQUAL(a.icebergs.levels_traded, 21);
    CU_ASSERT_DOUBLE_EQUAL(a.icebergs.median_refills, 1.0, EPS);
    CU_ASSERT_EQUAL_FATAL(a.icebergs.n, AN_ICEBERG_MAX);
    for (int i = 0; i < AN_ICEBERG_MAX; i++) {
        snprintf(price, sizeof(price), "%d", 110 - i);
        CU_ASSERT(dec_is(&a.icebergs.top[i].price, price));
        CU_ASSERT_EQUAL(a.icebergs.top[i].refills, (unsigned)(15 - i));
    }
    CU_ASSERT_EQUAL(a.icebergs.top[0].f.severity, AN_SEV_CRITICAL);
    CU_ASSERT_DOUBLE_EQUAL(a.icebergs.top[7].f.confidence, 0.8, EPS);
    CU_ASSERT_EQUAL(a.icebergs.top[7].f.severity, AN_SEV_MEDIUM);
}

static void
test_flash_crash_depth_collapse(void)
{
    struct an_book_sample b[11];
    struct an_trade t[1];
    struct an_input in = {
        .now_ms = NOW, .books = b, .nbooks = 11, .trades = t, .ntrades = 1};
    struct an_anomalies a;
    json_object *o;

    /* ten calm samples: depth 99 x 10 + 101 x 10 = 2,000, spread
     * (101 - 99) / 100 = 200 bps. The last: bid 75 x 1, ask 125 x 1:
     * depth 75 + 125 = 200, spread 50 / 100 = 5,000 bps; 20 taken off the
     * book in its interval, of which a trade took 1. */
    quiet_book(b);
    for (int k = 0; k <= 10; k++)
        b[k].updates = 0;
    b[10] = sample(NOW, "75", "1", "125", "1", 40, 20);
    t[0] = sell(NOW - 500, "99", "1");

    /* depth: median of ten 2,000 and one 200 = 2,000; loss 1 - 200 / 2,000
     * = 0.9 > 0.8; confidence (0.9 - 0.8) / (1 - 0.8) = 0.5 -> 0.75.
     * spread: 5,000 / 200 = 25 > 10; (25 - 10) / 10 -> 1 -> 1.0.
     * cancellations over the last 5 s (samples 6..10, trades after sample
     * 5): removed 20, traded 1: 19 / 20 = 0.95 > 0.9; (0.95 - 0.9) / 0.1
     * = 0.5 -> 0.75. Three signals: (0.75 + 1 + 0.75) / 3 = 0.8333 ->
     * MEDIUM */
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(a.flash.f.evaluated);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_median, 2000, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_now, 200, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_loss.value, 0.9, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_loss.confidence, 0.75, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.spread_now_bps, 5000, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.spread_median_bps, 200, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.spread_ratio.value, 25, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.spread_ratio.confidence, 1.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.removed_qty, 20, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.traded_qty, 1, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.cancels.value, 0.95, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.cancels.confidence, 0.75, 1e-9);
    CU_ASSERT_EQUAL(a.flash.signals_fired, 3);
    CU_ASSERT(a.flash.f.detected);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.f.confidence, 2.5 / 3, 1e-9);
    CU_ASSERT_EQUAL(a.flash.f.severity, AN_SEV_MEDIUM);
    /* the trade at 99 touched bid 99 (1 of 10): traded, not refilled */
    CU_ASSERT_EQUAL(a.icebergs.levels_traded, 1);
    CU_ASSERT_EQUAL(a.icebergs.n, 0);
    o = an_anomalies_json(&a);
    CU_ASSERT_STRING_EQUAL(js(o, "anomalies.0.type"), "FLASH_CRASH_RISK");
    CU_ASSERT_STRING_EQUAL(js(o, "anomalies.0.confidence"), "0.8333");
    CU_ASSERT_STRING_EQUAL(js(o, "checks.flash_crash_risk.depth_loss.value"),
                           "0.9");
    json_object_put(o);

    /* the same collapse in the feed's own depth figures (quantity in its
     * best levels): 20 a sample, then 2: loss 1 - 2 / 20 = 0.9 again */
    for (int k = 0; k <= 10; k++) {
        b[k].has_depth = true;
        b[k].depth = k < 10 ? 20 : 2;
    }
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_median, 20, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_loss.value, 0.9, 1e-9);
    CU_ASSERT_EQUAL(a.flash.signals_fired, 3);
    /* the feed's figure wins over the levels: a steady 20 is no loss */
    b[10].depth = 20;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_loss.value, 0, EPS);
    CU_ASSERT_EQUAL(a.flash.signals_fired, 2);
    for (int k = 0; k <= 10; k++)
        b[k].has_depth = false;

    /* the feed did not count removals: two signals, (0.75 + 1) / 2 =
     * 0.875 -> HIGH */
    b[10].removed_qty = -1;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(!a.flash.cancels.measured);
    CU_ASSERT_EQUAL(a.flash.signals_fired, 2);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.f.confidence, 0.875, 1e-9);
    CU_ASSERT_EQUAL(a.flash.f.severity, AN_SEV_HIGH);

    /* a calm book that only cancels: one signal is no risk */
    b[10] = sample(NOW, "99", "10", "101", "10", 0, 20);
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(a.flash.cancels.fired);
    CU_ASSERT_EQUAL(a.flash.signals_fired, 1);
    CU_ASSERT(!a.flash.f.detected);
}

static void
test_anomalies_no_data(void)
{
    struct an_book_sample b[1];
    struct an_input in = {.now_ms = NOW};
    struct an_anomalies a;
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(!a.stuffing.f.evaluated);
    CU_ASSERT(!a.icebergs.evaluated);
    CU_ASSERT(!a.flash.f.evaluated);
    CU_ASSERT(!a.flash.depth_loss.measured);
    o = an_anomalies_json(&a);
    CU_ASSERT_EQUAL(json_object_array_length(tl_get_path(o, "anomalies")), 0);
    CU_ASSERT_STRING_EQUAL(js(o, "checks.quote_stuffing.evaluated"), "false");
    CU_ASSERT(
        tl_contains(js(o, "checks.flash_crash_risk.reason"), "no book sample"));
    CU_ASSERT(jnull(o, "checks.flash_crash_risk.depth_loss.value"));
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.books.fraction"), "0");
    json_object_put(o);

    /* one sample: no interval for the per-interval checks; the flash
     * check measures the sample against itself (loss 0, ratio 1) */
    b[0] = sample(NOW - 500, "99", "10", "101", "10", 50, 0);
    in.books = b;
    in.nbooks = 1;
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    CU_ASSERT(!a.stuffing.f.evaluated);
    CU_ASSERT(!a.icebergs.evaluated);
    CU_ASSERT(a.flash.f.evaluated);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.depth_loss.value, 0, EPS);
    CU_ASSERT_DOUBLE_EQUAL(a.flash.spread_ratio.value, 1, EPS);
    CU_ASSERT(!a.flash.f.detected);
    /* the window holds 0.5 s of samples: 0.5 / 60 */
    CU_ASSERT_DOUBLE_EQUAL(a.books_cov.fraction, 0.5 / 60, EPS);
    o = an_anomalies_json(&a);
    CU_ASSERT(tl_contains(js(o, "checks.quote_stuffing.reason"),
                          "no sample interval"));
    json_object_put(o);
}

/* ---- liquidity vacuums ---- */

static void
test_vacuums_traded(void)
{
    struct an_trade t[5];
    struct an_input in = {.now_ms = NOW, .trades = t, .ntrades = 5};
    struct an_profile p;
    struct an_vacuums v;
    struct dec tick = D("1");
    json_object *o;

    /* tick 1, prices 100..140: bins of 10 from 100; volumes 10, 10, 1, 10,
     * 10: median 10; under 0.2 x 10 = 2: bin 2 = [120, 130), volume 1,
     * deficit 1 - 1 / 10 = 0.9 > 0.8: FAST_MOVEMENT */
    t[0] = buy(NOW - 5000, "100", "10");
    t[1] = buy(NOW - 4000, "110", "10");
    t[2] = sell(NOW - 3000, "120", "1");
    t[3] = buy(NOW - 2000, "130", "10");
    t[4] = buy(NOW - 1000, "140", "10");
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 60000, &tick, &p), 0);
    CU_ASSERT_EQUAL_FATAL(an_vacuums_traded(&p, 0, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v.median_volume, 10, EPS);
    CU_ASSERT_EQUAL(v.bins_examined, 5);
    CU_ASSERT_EQUAL_FATAL(v.n, 1);
    CU_ASSERT(dec_is(&v.v[0].low, "120"));
    CU_ASSERT(dec_is(&v.v[0].high, "130"));
    CU_ASSERT_DOUBLE_EQUAL(v.v[0].deficit, 0.9, EPS);
    CU_ASSERT_EQUAL(v.v[0].impact, AN_IMPACT_FAST);
    o = an_vacuums_json(&v);
    CU_ASSERT_STRING_EQUAL(js(o, "vacuums.0.impact"), "FAST_MOVEMENT");
    CU_ASSERT_STRING_EQUAL(js(o, "vacuums.0.low"), "120");
    CU_ASSERT_STRING_EQUAL(js(o, "source"), "traded");
    json_object_put(o);

    /* bin 2 holds 4: not under 2 by default; with a threshold of 0.5 it
     * is under 5: deficit 1 - 4 / 10 = 0.6: MODERATE */
    t[2] = sell(NOW - 3000, "120", "4");
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 60000, &tick, &p), 0);
    CU_ASSERT_EQUAL_FATAL(an_vacuums_traded(&p, 0, &v), 0);
    CU_ASSERT_EQUAL(v.n, 0);
    CU_ASSERT_EQUAL_FATAL(an_vacuums_traded(&p, 0.5, &v), 0);
    CU_ASSERT_EQUAL_FATAL(v.n, 1);
    CU_ASSERT_DOUBLE_EQUAL(v.v[0].deficit, 0.6, EPS);
    CU_ASSERT_EQUAL(v.v[0].impact, AN_IMPACT_MODERATE);

    /* volumes 10, 1, 0 (nothing traded in [120, 130)), 10, 10: median 10;
     * bins 1 and 2 merge into [110, 130), mean (1 + 0) / 2 = 0.5, deficit
     * 0.95 */
    in.trades = (struct an_trade[]){
        buy(NOW - 5000, "100", "10"), buy(NOW - 4000, "110", "1"),
        buy(NOW - 2000, "130", "10"), buy(NOW - 1000, "140", "10")};
    in.ntrades = 4;
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 60000, &tick, &p), 0);
    CU_ASSERT_EQUAL_FATAL(an_vacuums_traded(&p, 0, &v), 0);
    CU_ASSERT_EQUAL_FATAL(v.n, 1);
    CU_ASSERT_EQUAL(v.v[0].bins, 2);
    CU_ASSERT(dec_is(&v.v[0].low, "110"));
    CU_ASSERT(dec_is(&v.v[0].high, "130"));
    CU_ASSERT_DOUBLE_EQUAL(v.v[0].volume, 0.5, EPS);
    CU_ASSERT_DOUBLE_EQUAL(v.v[0].deficit, 0.95, EPS);
}

static void
test_vacuums_resting(void)
{
    struct an_book_sample b[1];
    struct an_input in = {.now_ms = NOW, .books = b, .nbooks = 1};
    struct an_vacuums v;
    struct dec tick = D("0.1");

    /* tick 0.1: bins of 1 going out from the best price. Bids 100 x 5,
     * 99.5 x 5 (bin 0: 10), 99 x 5 (bin 1), 98 x 0.2 (bin 2), 97 x 5,
     * 96 x 5; asks 101, 102, 103 x 5 (bins 0..2: 5 each). Eight bins
     * {10, 5, 0.2, 5, 5, 5, 5, 5}: median (5 + 5) / 2 = 5, under 1: the
     * bid bin 2, prices in (97, 98], deficit 1 - 0.2 / 5 = 0.96 */
    b[0] = sample(NOW - 200, "100", "5", "101", "5", 10, 0);
    add_level(&b[0], true, "99.5", "5");
    add_level(&b[0], true, "99", "5");
    add_level(&b[0], true, "98", "0.2");
    add_level(&b[0], true, "97", "5");
    add_level(&b[0], true, "96", "5");
    add_level(&b[0], false, "102", "5");
    add_level(&b[0], false, "103", "5");
    CU_ASSERT_EQUAL_FATAL(an_vacuums_resting(&in, &tick, 0, &v), 0);
    CU_ASSERT_EQUAL(v.bins_examined, 8);
    CU_ASSERT_DOUBLE_EQUAL(v.median_volume, 5, EPS);
    CU_ASSERT_EQUAL_FATAL(v.n, 1);
    CU_ASSERT(v.v[0].bid);
    CU_ASSERT(dec_is(&v.v[0].low, "97"));
    CU_ASSERT(dec_is(&v.v[0].high, "98"));
    CU_ASSERT_DOUBLE_EQUAL(v.v[0].deficit, 0.96, EPS);
    CU_ASSERT_EQUAL(v.v[0].impact, AN_IMPACT_FAST);
    CU_ASSERT_EQUAL(v.cov.count, 1);

    /* a sample older than 5 s is not the book now: nothing examined */
    b[0].time_ms = NOW - 6000;
    CU_ASSERT_EQUAL_FATAL(an_vacuums_resting(&in, &tick, 0, &v), 0);
    CU_ASSERT_EQUAL(v.bins_examined, 0);
    CU_ASSERT_EQUAL(v.n, 0);
    CU_ASSERT_EQUAL(v.cov.count, 0);

    /* no sample: nothing examined, coverage 0 */
    in.nbooks = 0;
    CU_ASSERT_EQUAL_FATAL(an_vacuums_resting(&in, &tick, 0, &v), 0);
    CU_ASSERT_EQUAL(v.bins_examined, 0);
    CU_ASSERT_EQUAL(v.cov.count, 0);
}

/* ---- microstructure health ---- */

/* Samples at NOW - 4 s .. NOW; the first sits on the 4 s window's edge, so
 * it only gives the second its interval. */
static void
health_market(struct an_book_sample *b, struct an_trade *t)
{
    b[0] = sample(NOW - 4000, "99", "10", "101", "10", 100, 0);
    b[1] = sample(NOW - 3000, "99", "10", "101", "10", 100, 0);
    b[2] = sample(NOW - 2000, "99", "10", "101", "10", 0, 0);
    b[3] = sample(NOW - 1000, "97", "10", "103", "10", 100, 0);
    b[4] = sample(NOW, "97", "8", "103", "8", 100, 0);
    t[0] = buy(NOW - 3500, "100", "1");
    t[1] = buy(NOW - 2500, "100", "1");
    t[2] = buy(NOW - 1500, "100", "1");
    t[3] = sell(NOW - 500, "100", "1");
}

static void
test_health_known_components(void)
{
    struct an_book_sample b[5];
    struct an_trade t[4];
    struct an_input in = {
        .now_ms = NOW, .books = b, .nbooks = 5, .trades = t, .ntrades = 4};
    struct an_health h;
    json_object *o;

    health_market(b, t);
    CU_ASSERT_EQUAL_FATAL(an_health(&in, 4, &h), 0);
    /* spread stability: samples 1..4 at 200, 200, 600, 600 bps ((101 - 99)
     * / 100, (103 - 97) / 100); mean 400, population deviation 200, cv 0.5:
     * 100 x (1 - 0.5) = 50 */
    CU_ASSERT_EQUAL(h.spread_samples, 4);
    CU_ASSERT_DOUBLE_EQUAL(h.spread_mean_bps, 400, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h.spread_std_bps, 200, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h.spread.score, 50, 1e-6);
    /* depth: 99 x 10 + 101 x 10 = 2,000, twice; 97 x 10 + 103 x 10 =
     * 2,000; then 97 x 8 + 103 x 8 = 1,600. Median 2,000: 100 x 1,600 /
     * 2,000 = 80 */
    CU_ASSERT_DOUBLE_EQUAL(h.depth_median, 2000, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h.depth_now, 1600, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h.depth.score, 80, 1e-6);
    /* flow balance: buys 3, sells 1: 100 x (1 - 2 / 4) = 50 */
    CU_ASSERT_DOUBLE_EQUAL(h.flow.score, 50, 1e-9);
    /* update rate: intervals ending at samples 1..4: 100, 0, 100, 100
     * updates in 1 s; the silent one is not healthy: 100 x 3 / 4 = 75 */
    CU_ASSERT_EQUAL(h.rate_intervals, 4);
    CU_ASSERT_EQUAL(h.rate_healthy, 3);
    CU_ASSERT_DOUBLE_EQUAL(h.rate.score, 75, 1e-9);
    /* 0.25 x 50 + 0.35 x 80 + 0.25 x 50 + 0.15 x 75 = 12.5 + 28 + 12.5 +
     * 11.25 = 64.25: GOOD */
    CU_ASSERT(h.has_score);
    CU_ASSERT_DOUBLE_EQUAL(h.score, 64.25, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(h.weight_measured, 1.0, 1e-9);
    CU_ASSERT_EQUAL(h.band, AN_BAND_GOOD);
    /* the samples cover the window whole (the first sits on its start) */
    CU_ASSERT_EQUAL(h.books_cov.count, 4);
    CU_ASSERT_DOUBLE_EQUAL(h.books_cov.fraction, 1.0, EPS);
    o = an_health_json(&h);
    CU_ASSERT_STRING_EQUAL(js(o, "score"), "64.25");
    CU_ASSERT_STRING_EQUAL(js(o, "band"), "GOOD");
    CU_ASSERT_STRING_EQUAL(js(o, "components.depth.score"), "80");
    CU_ASSERT_STRING_EQUAL(js(o, "components.spread_stability.cv"), "0.5");
    CU_ASSERT_STRING_EQUAL(js(o, "components.update_rate.healthy_intervals"),
                           "3");
    json_object_put(o);

    /* a stuffed interval is not healthy either: 600 updates in 1 s > 500:
     * 2 of 4 -> 50; score 12.5 + 28 + 12.5 + 7.5 = 60.5: still GOOD */
    b[1].updates = 600;
    CU_ASSERT_EQUAL_FATAL(an_health(&in, 4, &h), 0);
    CU_ASSERT_EQUAL(h.rate_healthy, 2);
    CU_ASSERT_DOUBLE_EQUAL(h.score, 60.5, 1e-6);

    /* without trades the flow is not measured: the score rests on
     * 0.25 + 0.35 + 0.15 = 0.75 of the weights: (12.5 + 28 + 7.5) / 0.75
     * = 64 */
    in.ntrades = 0;
    CU_ASSERT_EQUAL_FATAL(an_health(&in, 4, &h), 0);
    CU_ASSERT(!h.flow.measured);
    CU_ASSERT_DOUBLE_EQUAL(h.weight_measured, 0.75, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(h.score, 64, 1e-6);
    o = an_health_json(&h);
    CU_ASSERT(jnull(o, "components.flow_balance.score"));
    CU_ASSERT_STRING_EQUAL(js(o, "weight_measured"), "0.75");
    json_object_put(o);
}

static void
test_health_no_data(void)
{
    struct an_input in = {.now_ms = NOW};
    struct an_health h;
    json_object *o;

    CU_ASSERT_EQUAL_FATAL(an_health(&in, 300, &h), 0);
    CU_ASSERT(!h.has_score);
    CU_ASSERT_EQUAL(h.band, AN_BAND_UNKNOWN);
    CU_ASSERT_DOUBLE_EQUAL(h.weight_measured, 0, EPS);
    o = an_health_json(&h);
    CU_ASSERT(jnull(o, "score"));
    CU_ASSERT_STRING_EQUAL(js(o, "band"), "UNKNOWN");
    CU_ASSERT(jnull(o, "components.depth.score"));
    CU_ASSERT_STRING_EQUAL(js(o, "coverage.books.count"), "0");
    json_object_put(o);
}

/* ---- the prompts' markdown ---- */

static void
test_prompt_markdown(void)
{
    struct an_book_sample b[5];
    struct an_trade t[4];
    struct an_input in = {
        .now_ms = NOW, .books = b, .nbooks = 5, .trades = t, .ntrades = 4};
    struct an_input none = {.now_ms = NOW};
    struct an_depth_windows w;
    struct an_flow f;
    struct an_profile p;
    struct an_health h;
    struct an_anomalies a;
    struct dec tick = D("0.01");
    struct dbuf buf;

    CU_ASSERT_EQUAL(an_depth_windows_of(NULL, &w), 0);
    CU_ASSERT_STRING_EQUAL(w.name, "standard");
    CU_ASSERT_EQUAL(w.profile_h, 4);
    CU_ASSERT_EQUAL(an_depth_windows_of("deep", &w), 0);
    CU_ASSERT_EQUAL(w.flow_s, 300);
    CU_ASSERT_EQUAL(w.health_s, 1800);
    CU_ASSERT_EQUAL(w.profile_h, 24);
    CU_ASSERT_EQUAL(an_depth_windows_of("extreme", &w), -1);

    health_market(b, t);
    /* flow over 60 s: buys 3, sells 1: ratio 3 > 2: STRONG_BUY, net +2;
     * the trades span from NOW - 3.5 s, so 3.5 of 60 s are covered */
    CU_ASSERT_EQUAL_FATAL(an_order_flow(&in, 60, &f), 0);
    dbuf_init(&buf, 16384);
    CU_ASSERT_EQUAL(an_md_orderflow(&buf, "BTCUSDT", &f), 0);
    CU_ASSERT(tl_contains(dbuf_str(&buf), "# Order flow snapshot: BTCUSDT"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Direction:** STRONG_BUY"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Net flow:** +2"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Buy/sell ratio:** 3.00"));
    CU_ASSERT(
        tl_contains(dbuf_str(&buf), "**Taker sell volume:** 1 (1 trade)\n"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "Rests on 4 trades over 3.5 s of "
                                          "the 60 s window (6 %)"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "provisional"));

    /* health: 64.25 GOOD; ticks at >= 70 */
    dbuf_reset(&buf);
    CU_ASSERT_EQUAL_FATAL(an_health(&in, 4, &h), 0);
    CU_ASSERT_EQUAL(an_md_health(&buf, "BTCUSDT", &h), 0);
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Score:** 64.2 / 100, **GOOD**") ||
              tl_contains(dbuf_str(&buf), "**Score:** 64.3 / 100, **GOOD**"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "✅ **Depth**"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "⚠️ **Spread stability**"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "Moderate risk"));

    /* the whole analysis, then the same with no data at all */
    CU_ASSERT_EQUAL(an_depth_windows_of("quick", &w), 0);
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&in, 3600000, &tick, &p), 0);
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&in, 60, &a), 0);
    dbuf_reset(&buf);
    CU_ASSERT_EQUAL(an_md_advanced(&buf, "BTCUSDT", &w, &f, &p, &h, &a), 0);
    CU_ASSERT(tl_contains(dbuf_str(&buf), "## 2. Volume profile (last 1 h)"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**POC:** 100 to 100.1 (4 traded)"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "- None detected."));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "## 5. Summary"));

    CU_ASSERT_EQUAL_FATAL(an_order_flow(&none, 60, &f), 0);
    CU_ASSERT_EQUAL_FATAL(an_volume_profile(&none, 3600000, &tick, &p), 0);
    CU_ASSERT_EQUAL_FATAL(an_health(&none, 300, &h), 0);
    CU_ASSERT_EQUAL_FATAL(an_anomalies(&none, 60, &a), 0);
    dbuf_reset(&buf);
    CU_ASSERT_EQUAL(an_md_advanced(&buf, "BTCUSDT", &w, &f, &p, &h, &a), 0);
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Direction:** UNKNOWN"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Buy/sell ratio:** not measured"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "No trade in the window: no "
                                          "profile."));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "**Score:** not measured"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "Not evaluated: no book sample"));
    CU_ASSERT(tl_contains(dbuf_str(&buf), "(0 %)"));

    /* the cap: a buffer too small fails and keeps what fitted */
    dbuf_free(&buf);
    dbuf_init(&buf, 64);
    CU_ASSERT_EQUAL(an_md_health(&buf, "BTCUSDT", &h), -1);
    dbuf_free(&buf);
}

static CU_TestInfo tests[] = {
    {"bands, severities, confidences, impacts", test_bands_and_severities},
    {"order flow: ten trades over 10/30/60/300 s", test_flow_ten_trades},
    {"order flow: no data says so", test_flow_no_data},
    {"order flow: one trade, a window partly covered",
     test_flow_single_trade_partial_window},
    {"volume profile: POC and the 70 % value area",
     test_profile_poc_value_area},
    {"volume profile: tied neighbours, bins of range / 100",
     test_profile_tie_and_range_bins},
    {"volume profile: empty, one trade", test_profile_empty_and_single},
    {"anomalies: a quote-stuffing burst", test_quote_stuffing},
    {"anomalies: an iceberg refilled six times", test_iceberg_six_refills},
    {"anomalies: the icebergs with most refills are kept",
     test_iceberg_most_refills_kept},
    {"anomalies: a depth collapse", test_flash_crash_depth_collapse},
    {"anomalies: no data", test_anomalies_no_data},
    {"liquidity vacuums in traded volume", test_vacuums_traded},
    {"liquidity vacuums in the resting book", test_vacuums_resting},
    {"health: a score from known components", test_health_known_components},
    {"health: no data", test_health_no_data},
    {"prompts: markdown", test_prompt_markdown},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"analytics", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
