/*
 * analytics.c - order flow, volume profile, anomalies, liquidity vacuums
 * and microstructure health from trades and book samples. See analytics.h
 * for the definitions, what is exact and what is approximate.
 */
#include "config.h"

#include <assert.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"

/* ---- helpers ---- */

/* Both input types begin with their time, so one bisection serves both. */
static_assert(offsetof(struct an_trade, time_ms) == 0, "time first");
static_assert(offsetof(struct an_book_sample, time_ms) == 0, "time first");

/* The first index of the n elements of size bytes at base whose time (an
 * int64_t at the start of each) is after t; times are non-decreasing. */
static size_t
index_after(const void *base, size_t n, size_t size, int64_t t)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t tm;

        memcpy(&tm, (const char *)base + mid * size, sizeof(tm));
        if (tm <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t
trades_after(const struct an_trade *tr, size_t n, int64_t t)
{
    return index_after(tr, n, sizeof(*tr), t);
}

static size_t
books_after(const struct an_book_sample *bk, size_t n, int64_t t)
{
    return index_after(bk, n, sizeof(*bk), t);
}

/* The window (now - window_ms, now] of one array: c gets the coverage
 * (covered from since, or, when since is 0, from the array's first entry
 * if there is one), *first and *end the indexes of the entries inside. */
static void
window_of(const void *base, size_t n, size_t size, int64_t since, int64_t now,
          int64_t window_ms, struct an_coverage *c, size_t *first, size_t *end)
{
    int64_t start, oldest = 0;

    *end = index_after(base, n, size, now);
    *first = index_after(base, *end, size, now - window_ms);
    if (n > 0)
        memcpy(&oldest, base, sizeof(oldest));
    memset(c, 0, sizeof(*c));
    c->window_ms = window_ms;
    c->to_ms = now;
    c->from_ms = now - window_ms;
    start = since > 0 ? since : n > 0 ? oldest : now;
    if (start < c->from_ms)
        start = c->from_ms;
    if (start > now)
        start = now;
    c->data_from_ms = start;
    c->fraction = (double)(now - start) / (double)window_ms;
    c->count = *end - *first;
    if (*end > *first) {
        memcpy(&c->first_ms, (const char *)base + *first * size,
               sizeof(c->first_ms));
        memcpy(&c->last_ms, (const char *)base + (*end - 1) * size,
               sizeof(c->last_ms));
    }
}

static void
window_trades(const struct an_input *in, int64_t window_ms,
              struct an_coverage *c, size_t *first, size_t *end)
{
    window_of(in->trades, in->ntrades, sizeof(*in->trades), in->trades_since_ms,
              in->now_ms, window_ms, c, first, end);
}

static void
window_books(const struct an_input *in, int64_t window_ms,
             struct an_coverage *c, size_t *first, size_t *end)
{
    window_of(in->books, in->nbooks, sizeof(*in->books), in->books_since_ms,
              in->now_ms, window_ms, c, first, end);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of v[0..n) (n > 0), sorting v in place. */
static double
median_inplace(double *v, size_t n)
{
    assert(n > 0);
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* *acc += v, exactly. */
static int
dec_acc(struct dec *acc, const struct dec *v)
{
    return dec_add(acc, v, acc);
}

/* The feed's depth, or the quote notional of a sample's levels, both
 * sides. */
static double
sample_depth(const struct an_book_sample *s)
{
    double d = 0;

    if (s->has_depth)
        return s->depth;

    for (size_t i = 0; i < s->nbids && i < AN_BOOK_LEVELS; i++)
        d += dec_to_double(&s->bids[i].price) * dec_to_double(&s->bids[i].qty);
    for (size_t i = 0; i < s->nasks && i < AN_BOOK_LEVELS; i++)
        d += dec_to_double(&s->asks[i].price) * dec_to_double(&s->asks[i].qty);
    return d;
}

/* The spread in basis points of the mid into *bps. Returns 0, or -1 when
 * a side is empty or the book is crossed at zero. */
static int
sample_spread_bps(const struct an_book_sample *s, double *bps)
{
    double bid, ask;

    if (s->nbids == 0 || s->nasks == 0)
        return -1;
    bid = dec_to_double(&s->bids[0].price);
    ask = dec_to_double(&s->asks[0].price);
    if (bid + ask <= 0)
        return -1;
    *bps = (ask - bid) / ((ask + bid) / 2.0) * 1e4;
    return 0;
}

static void
signal_set(struct an_signal *s, double value, double threshold, double full)
{
    s->measured = true;
    s->value = value;
    s->threshold = threshold;
    s->fired = full > threshold ? value > threshold : value < threshold;
    s->confidence = an_confidence(value, threshold, full);
}

/* ---- shared vocabulary ---- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The rung of x on a ladder of n cuts, highest first: the index of the
 * first cut x passes (x > cut when strict, x >= cut otherwise), or n when
 * it passes none. The 008 classes are such ladders. */
static size_t
rung(double x, const double *cuts, size_t n, bool strict)
{
    size_t i = 0;

    while (i < n && !(strict ? x > cuts[i] : x >= cuts[i]))
        i++;
    return i;
}

/* names[i], or names[0] when i is out of range. */
static const char *
name_at(const char *const *names, size_t n, size_t i)
{
    return i < n ? names[i] : names[0];
}

/* See analytics.h. */
enum an_severity
an_severity_of(double confidence)
{
    static const double cuts[] = {0.95, 0.85, 0.7};

    return (enum an_severity)(AN_SEV_CRITICAL -
                              rung(confidence, cuts, NELEM(cuts), true));
}

/* See analytics.h. */
const char *
an_severity_name(enum an_severity s)
{
    static const char *const names[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};

    return name_at(names, NELEM(names), (size_t)s);
}

/* See analytics.h. */
double
an_confidence(double x, double threshold, double full)
{
    double past;

    if (full == threshold)
        return 0.5;
    past = (x - threshold) / (full - threshold);
    if (!(past > 0)) /* also NaN */
        past = 0;
    if (past > 1)
        past = 1;
    return 0.5 + 0.5 * past;
}

/* See analytics.h. */
const char *
an_direction_name(enum an_direction d)
{
    static const char *const names[] = {
        "UNKNOWN", "STRONG_SELL",  "MODERATE_SELL",
        "NEUTRAL", "MODERATE_BUY", "STRONG_BUY",
    };

    return name_at(names, NELEM(names), (size_t)d);
}

/* See analytics.h. */
enum an_direction
an_direction_of(double ratio)
{
    if (ratio > AN_FLOW_STRONG)
        return AN_DIR_STRONG_BUY;
    if (ratio >= AN_FLOW_MODERATE)
        return AN_DIR_MODERATE_BUY;
    if (ratio > AN_FLOW_NEUTRAL)
        return AN_DIR_NEUTRAL;
    if (ratio >= AN_FLOW_WEAK)
        return AN_DIR_MODERATE_SELL;
    return AN_DIR_STRONG_SELL;
}

/* See analytics.h. */
enum an_impact
an_impact_of(double deficit)
{
    static const double cuts[] = {0.8, 0.5};

    return (enum an_impact)(AN_IMPACT_FAST -
                            rung(deficit, cuts, NELEM(cuts), true));
}

/* See analytics.h. */
const char *
an_impact_name(enum an_impact i)
{
    switch (i) {
    case AN_IMPACT_FAST:
        return "FAST_MOVEMENT";
    case AN_IMPACT_MODERATE:
        return "MODERATE";
    case AN_IMPACT_NEGLIGIBLE:
        break;
    }
    return "NEGLIGIBLE";
}

/* See analytics.h. */
enum an_band
an_band_of(double score)
{
    static const double cuts[] = {80, 60, 40, 20};

    return (enum an_band)(AN_BAND_EXCELLENT -
                          rung(score, cuts, NELEM(cuts), false));
}

/* See analytics.h. */
const char *
an_band_name(enum an_band b)
{
    static const char *const names[] = {"UNKNOWN", "CRITICAL", "POOR",
                                        "FAIR",    "GOOD",     "EXCELLENT"};

    return name_at(names, NELEM(names), (size_t)b);
}

/* ---- order flow ---- */

/* See analytics.h. */
int
an_order_flow(const struct an_input *in, int window_s, struct an_flow *out)
{
    int64_t window_ms = (int64_t)window_s * 1000;
    size_t first, end;

    memset(out, 0, sizeof(*out));
    if (window_s <= 0)
        return -1;
    window_trades(in, window_ms, &out->cov, &first, &end);
    for (size_t i = 0; i < end; i++) {
        const struct an_trade *t = &in->trades[i];
        bool in_window = i >= first;

        if (t->buyer_maker) {
            if (dec_acc(&out->cum_sell_qty, &t->qty) != 0 ||
                (in_window && dec_acc(&out->sell_qty, &t->qty) != 0))
                return -1;
            out->sell_trades += in_window;
        } else {
            if (dec_acc(&out->cum_buy_qty, &t->qty) != 0 ||
                (in_window && dec_acc(&out->buy_qty, &t->qty) != 0))
                return -1;
            out->buy_trades += in_window;
        }
    }
    out->cum_trades = end;
    out->cum_since_ms = in->trades_since_ms > 0 ? in->trades_since_ms
                        : end > 0               ? in->trades[0].time_ms
                                                : 0;
    out->has_ratio = !dec_is_zero(&out->sell_qty);
    if (out->has_ratio)
        out->ratio =
            dec_to_double(&out->buy_qty) / dec_to_double(&out->sell_qty);
    if (out->has_ratio)
        out->direction = an_direction_of(out->ratio);
    else if (!dec_is_zero(&out->buy_qty))
        out->direction = AN_DIR_STRONG_BUY;
    else
        out->direction = AN_DIR_UNKNOWN; /* no trade, or only zero sizes */
    return 0;
}

/* ---- volume profile ---- */

/* The bin index of price p: floor((p - start) / bin), exactly. */
static int
bin_index(const struct dec *p, const struct dec *start, const struct dec *bin,
          size_t *idx)
{
    struct dec off, q;

    if (dec_sub(p, start, &off) != 0 ||
        dec_div(&off, bin, 0, DEC_ROUND_DOWN, &q) != 0 ||
        q.mant >= AN_PROFILE_BINS_MAX)
        return -1;
    *idx = (size_t)q.mant;
    return 0;
}

/* Whether v holds at least AN_VALUE_AREA_PCT % of total, exactly. */
static bool
holds_value_area(const struct dec *v, const struct dec *total)
{
    struct dec a, b, hundred, pct;

    dec_from_u64(100, &hundred);
    dec_from_u64(AN_VALUE_AREA_PCT, &pct);
    if (dec_mul(v, &hundred, &a) != 0 || dec_mul(total, &pct, &b) != 0)
        return true; /* cannot happen with sums that fit; stop growing */
    return dec_cmp(&a, &b) >= 0;
}

/* The bin size: max(tick x 10, range / 100 rounded up to a tick). */
static int
profile_bin_size(const struct dec *tick, const struct dec *range,
                 struct dec *bin)
{
    struct dec ten, hundred, t10, r100, r100t;
    int scale =
        range->scale + 2 > DEC_MAX_SCALE ? DEC_MAX_SCALE : range->scale + 2;

    dec_from_u64(AN_PROFILE_BIN_TICKS, &ten);
    dec_from_u64(AN_PROFILE_BIN_SPLIT, &hundred);
    if (dec_mul(tick, &ten, &t10) != 0 ||
        dec_div(range, &hundred, scale, DEC_ROUND_UP, &r100) != 0 ||
        dec_ceil_step(&r100, NULL, tick, &r100t) != 0)
        return -1;
    *bin = dec_cmp(&r100t, &t10) > 0 ? r100t : t10;
    return 0;
}

/* Grows the value area from the POC. */
static void
profile_value_area(struct an_profile *p)
{
    size_t lo = p->poc, hi = p->poc;
    struct dec va = p->bins[p->poc].volume;

    while (!holds_value_area(&va, &p->total)) {
        bool take_lo = lo > 0, take_hi = hi + 1 < p->nbins;

        if (!take_lo && !take_hi)
            break;
        if (take_lo && take_hi) {
            int c = dec_cmp(&p->bins[lo - 1].volume, &p->bins[hi + 1].volume);

            take_lo = c >= 0;
            take_hi = c <= 0;
        }
        if (take_lo && dec_acc(&va, &p->bins[--lo].volume) != 0)
            break;
        if (take_hi && dec_acc(&va, &p->bins[++hi].volume) != 0)
            break;
    }
    p->va_lo = lo;
    p->va_hi = hi;
    p->va_volume = va;
    p->val = p->bins[lo].low;
    if (dec_add(&p->bins[hi].low, &p->bin_size, &p->vah) != 0)
        p->vah = p->bins[hi].low;
}

/* See analytics.h. */
int
an_volume_profile(const struct an_input *in, int64_t window_ms,
                  const struct dec *tick, struct an_profile *out)
{
    size_t first, end, top;
    struct dec range, start, ten;

    memset(out, 0, sizeof(*out));
    if (window_ms <= 0 || dec_is_zero(tick))
        return -1;
    out->tick = *tick;
    dec_from_u64(AN_PROFILE_BIN_TICKS, &ten);
    if (dec_mul(tick, &ten, &out->bin_size) != 0)
        return -1;
    window_trades(in, window_ms, &out->cov, &first, &end);
    if (first == end)
        return 0;

    out->low = out->high = in->trades[first].price;
    for (size_t i = first; i < end; i++) {
        const struct dec *p = &in->trades[i].price;

        if (dec_cmp(p, &out->low) < 0)
            out->low = *p;
        if (dec_cmp(p, &out->high) > 0)
            out->high = *p;
    }
    if (dec_sub(&out->high, &out->low, &range) != 0 ||
        profile_bin_size(tick, &range, &out->bin_size) != 0 ||
        dec_floor_step(&out->low, NULL, &out->bin_size, &start) != 0 ||
        bin_index(&out->high, &start, &out->bin_size, &top) != 0)
        return -1;
    out->nbins = top + 1;
    for (size_t i = 0; i < out->nbins; i++) {
        struct dec k, off;

        dec_from_u64(i, &k);
        if (dec_mul(&out->bin_size, &k, &off) != 0 ||
            dec_add(&start, &off, &out->bins[i].low) != 0)
            return -1;
    }
    for (size_t i = first; i < end; i++) {
        const struct an_trade *t = &in->trades[i];
        size_t b;

        if (bin_index(&t->price, &start, &out->bin_size, &b) != 0 ||
            dec_acc(&out->bins[b].volume, &t->qty) != 0 ||
            dec_acc(&out->total, &t->qty) != 0)
            return -1;
        out->bins[b].trades++;
    }
    out->has_poc = true;
    for (size_t i = 1; i < out->nbins; i++)
        if (dec_cmp(&out->bins[i].volume, &out->bins[out->poc].volume) > 0)
            out->poc = i;
    profile_value_area(out);
    return 0;
}

/* ---- anomalies ---- */

/* The sample interval ending at books[i] (i >= 1): its length in seconds
 * and the trades in it, [*t0, *t1). Returns -1 when it has no length. */
static int
interval_of(const struct an_input *in, size_t i, double *secs, size_t *t0,
            size_t *t1)
{
    const struct an_book_sample *prev = &in->books[i - 1], *cur = &in->books[i];

    if (cur->time_ms <= prev->time_ms)
        return -1;
    *secs = (double)(cur->time_ms - prev->time_ms) / 1000.0;
    *t0 = trades_after(in->trades, in->ntrades, prev->time_ms);
    *t1 = trades_after(in->trades, in->ntrades, cur->time_ms);
    return 0;
}

static void
check_stuffing(const struct an_input *in, size_t bfirst, size_t bend,
               struct an_stuffing *st)
{
    double best_rate = -1;
    bool best_over = false;

    for (size_t i = bfirst > 0 ? bfirst : 1; i < bend; i++) {
        const struct an_book_sample *cur = &in->books[i];
        double secs, rate, fills;
        size_t t0, t1;
        bool over;

        if (interval_of(in, i, &secs, &t0, &t1) != 0)
            continue;
        st->intervals++;
        rate = cur->updates / secs;
        fills = cur->updates > 0 ? (double)(t1 - t0) / cur->updates : 0;
        over = rate > AN_STUFFING_RATE && cur->updates > 0 &&
               fills < AN_STUFFING_FILLS;
        st->intervals_over += over;
        /* a flagged interval beats any unflagged one; then the busiest */
        if ((over && !best_over) || (over == best_over && rate > best_rate)) {
            best_rate = rate;
            best_over = over;
            st->at_ms = cur->time_ms;
            st->updates = cur->updates;
            st->trades = t1 - t0;
            st->interval_s = secs;
            signal_set(&st->rate, rate, AN_STUFFING_RATE, 2 * AN_STUFFING_RATE);
            memset(&st->fills, 0, sizeof(st->fills));
            st->fills.threshold = AN_STUFFING_FILLS;
            if (cur->updates > 0)
                signal_set(&st->fills, fills, AN_STUFFING_FILLS, 0.0);
        }
    }
    st->f.evaluated = st->intervals > 0;
    st->f.detected = st->intervals_over > 0;
    if (st->f.detected) {
        st->f.confidence = fmin(st->rate.confidence, st->fills.confidence);
        st->f.severity = an_severity_of(st->f.confidence);
    }
}

/* A price level followed for iceberg refills. */
struct refill_track {
    bool bid;
    struct dec price, traded, shown;
    unsigned refills, intervals;
};

static struct refill_track *
track_find(struct refill_track *tr, size_t n, bool bid, const struct dec *p)
{
    for (size_t i = 0; i < n; i++)
        if (tr[i].bid == bid && dec_cmp(&tr[i].price, p) == 0)
            return &tr[i];
    return NULL;
}

/* The level at price p on one side of s, or NULL. */
static const struct an_level *
level_at(const struct an_book_sample *s, bool bid, const struct dec *p)
{
    const struct an_level *lv = bid ? s->bids : s->asks;
    size_t n = bid ? s->nbids : s->nasks;

    for (size_t i = 0; i < n && i < AN_BOOK_LEVELS; i++)
        if (dec_cmp(&lv[i].price, p) == 0)
            return &lv[i];
    return NULL;
}

/* Follows the levels of books[i - 1] through the interval to books[i]. */
static int
track_interval(const struct an_input *in, size_t i, struct refill_track *tr,
               size_t *ntr, bool *truncated)
{
    const struct an_book_sample *prev = &in->books[i - 1], *cur = &in->books[i];
    double secs;
    size_t t0, t1;

    if (interval_of(in, i, &secs, &t0, &t1) != 0)
        return 0;
    for (int side = 0; side < 2; side++) {
        bool bid = side == 0;
        const struct an_level *lv = bid ? prev->bids : prev->asks;
        size_t n = bid ? prev->nbids : prev->nasks;

        for (size_t k = 0; k < n && k < AN_BOOK_LEVELS; k++) {
            struct dec traded = {0, 0};
            const struct an_level *now;
            struct refill_track *t;

            /* a taker sell (buyer maker) fills bids */
            for (size_t j = t0; j < t1; j++)
                if (in->trades[j].buyer_maker == bid &&
                    dec_cmp(&in->trades[j].price, &lv[k].price) == 0 &&
                    dec_acc(&traded, &in->trades[j].qty) != 0)
                    return -1;
            if (dec_is_zero(&traded))
                continue;
            t = track_find(tr, *ntr, bid, &lv[k].price);
            if (t == NULL) {
                if (*ntr == AN_ICEBERG_TRACK) {
                    *truncated = true;
                    continue;
                }
                t = &tr[(*ntr)++];
                memset(t, 0, sizeof(*t));
                t->bid = bid;
                t->price = lv[k].price;
            }
            t->intervals++;
            if (dec_acc(&t->traded, &traded) != 0)
                return -1;
            now = level_at(cur, bid, &lv[k].price);
            t->shown = now != NULL ? now->qty : (struct dec){0, 0};
            if (now != NULL && !dec_is_zero(&now->qty) &&
                dec_cmp(&traded, &lv[k].qty) >= 0)
                t->refills++;
        }
    }
    return 0;
}

static int
cmp_iceberg(const void *a, const void *b)
{
    const struct an_iceberg *x = a, *y = b;

    return (x->refills < y->refills) - (x->refills > y->refills);
}

static int
check_icebergs(const struct an_input *in, size_t bfirst, size_t bend,
               struct an_icebergs *ic)
{
    struct refill_track *tr;
    struct an_iceberg found[AN_ICEBERG_MAX + 1];
    size_t ntr = 0, nfound = 0, slot;
    double *counts, base;
    int rc = -1;

    tr = malloc(AN_ICEBERG_TRACK * sizeof(*tr));
    if (tr == NULL)
        return -1;
    for (size_t i = bfirst > 0 ? bfirst : 1; i < bend; i++) {
        ic->evaluated = true;
        if (track_interval(in, i, tr, &ntr, &ic->truncated) != 0)
            goto out;
    }
    ic->levels_traded = ntr;
    if (ntr == 0) {
        rc = 0;
        goto out;
    }
    counts = malloc(ntr * sizeof(*counts));
    if (counts == NULL)
        goto out;
    for (size_t i = 0; i < ntr; i++)
        counts[i] = tr[i].refills;
    ic->median_refills = median_inplace(counts, ntr);
    free(counts);
    base = ic->median_refills < 1 ? 1 : ic->median_refills;
    for (size_t i = 0; i < ntr; i++) {
        struct an_iceberg *c;
        double ratio = tr[i].refills / base;

        if (!(ratio > AN_ICEBERG_RATIO))
            continue;
        /* keep the AN_ICEBERG_MAX with most refills: once they are full,
         * the extra slot takes the newcomer and sorting drops the fewest */
        slot = nfound < AN_ICEBERG_MAX ? nfound++ : AN_ICEBERG_MAX;
        c = &found[slot];
        memset(c, 0, sizeof(*c));
        c->bid = tr[i].bid;
        c->price = tr[i].price;
        c->refills = tr[i].refills;
        c->intervals = tr[i].intervals;
        c->traded = tr[i].traded;
        c->shown = tr[i].shown;
        c->ratio = ratio;
        c->f.evaluated = c->f.detected = true;
        c->f.confidence =
            an_confidence(ratio, AN_ICEBERG_RATIO, 2 * AN_ICEBERG_RATIO);
        c->f.severity = an_severity_of(c->f.confidence);
        qsort(found, slot == AN_ICEBERG_MAX ? AN_ICEBERG_MAX + 1 : nfound,
              sizeof(found[0]), cmp_iceberg);
    }
    ic->n = nfound;
    memcpy(ic->top, found, nfound * sizeof(found[0]));
    rc = 0;
out:
    free(tr);
    return rc;
}

/* Cancellations over the samples of the last AN_CRASH_RECENT_MS up to
 * books[last]: what left the book minus what traded, over what left. */
static void
flash_cancels(const struct an_input *in, size_t bfirst, size_t last,
              struct an_flash *fl)
{
    int64_t since = in->books[last].time_ms - AN_CRASH_RECENT_MS;
    size_t r = books_after(in->books, last + 1, since), t0, t1;
    double removed = 0, traded = 0;

    if (r < bfirst)
        r = bfirst;
    fl->cancels.threshold = AN_CRASH_CANCELS;
    for (size_t i = r; i <= last; i++) {
        if (in->books[i].removed_qty < 0)
            return; /* not counted by the feed */
        removed += in->books[i].removed_qty;
    }
    /* the trades of the same intervals: from the sample before the first */
    t0 = trades_after(in->trades, in->ntrades,
                      r > 0 ? in->books[r - 1].time_ms : since);
    t1 = trades_after(in->trades, in->ntrades, in->books[last].time_ms);
    for (size_t j = t0; j < t1; j++)
        traded += dec_to_double(&in->trades[j].qty);
    fl->removed_qty = removed;
    fl->traded_qty = traded;
    if (removed > 0)
        signal_set(&fl->cancels, fmax(0, removed - traded) / removed,
                   AN_CRASH_CANCELS, 1.0);
}

static int
check_flash(const struct an_input *in, size_t bfirst, size_t bend,
            struct an_flash *fl)
{
    size_t n = bend - bfirst, ns = 0, last = bend - 1;
    double *v;

    fl->depth_loss.threshold = AN_CRASH_DEPTH_LOSS;
    fl->spread_ratio.threshold = AN_CRASH_SPREAD_RATIO;
    fl->cancels.threshold = AN_CRASH_CANCELS;
    if (n == 0)
        return 0;
    v = malloc(n * sizeof(*v));
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = sample_depth(&in->books[bfirst + i]);
    fl->depth_now = v[n - 1];
    fl->depth_median = median_inplace(v, n);
    if (fl->depth_median > 0)
        signal_set(&fl->depth_loss,
                   fmax(0, 1 - fl->depth_now / fl->depth_median),
                   AN_CRASH_DEPTH_LOSS, 1.0);
    for (size_t i = 0; i < n; i++)
        if (sample_spread_bps(&in->books[bfirst + i], &v[ns]) == 0)
            ns++;
    if (ns > 0 &&
        sample_spread_bps(&in->books[last], &fl->spread_now_bps) == 0) {
        fl->spread_median_bps = median_inplace(v, ns);
        if (fl->spread_median_bps > 0)
            signal_set(&fl->spread_ratio,
                       fl->spread_now_bps / fl->spread_median_bps,
                       AN_CRASH_SPREAD_RATIO, 2 * AN_CRASH_SPREAD_RATIO);
    }
    free(v);
    flash_cancels(in, bfirst, last, fl);

    fl->f.evaluated = fl->depth_loss.measured || fl->spread_ratio.measured;
    fl->signals_fired =
        fl->depth_loss.fired + fl->spread_ratio.fired + fl->cancels.fired;
    if (fl->signals_fired >= 2) {
        double conf = 0;

        conf += fl->depth_loss.fired ? fl->depth_loss.confidence : 0;
        conf += fl->spread_ratio.fired ? fl->spread_ratio.confidence : 0;
        conf += fl->cancels.fired ? fl->cancels.confidence : 0;
        fl->f.detected = true;
        fl->f.confidence = conf / fl->signals_fired;
        fl->f.severity = an_severity_of(fl->f.confidence);
    }
    return 0;
}

/* See analytics.h. */
int
an_anomalies(const struct an_input *in, int window_s, struct an_anomalies *out)
{
    int64_t window_ms = (int64_t)window_s * 1000;
    size_t tfirst, tend, bfirst, bend;

    memset(out, 0, sizeof(*out));
    if (window_s <= 0)
        return -1;
    window_trades(in, window_ms, &out->trades_cov, &tfirst, &tend);
    window_books(in, window_ms, &out->books_cov, &bfirst, &bend);

    out->stuffing.rate.threshold = AN_STUFFING_RATE;
    out->stuffing.fills.threshold = AN_STUFFING_FILLS;
    check_stuffing(in, bfirst, bend, &out->stuffing);
    if (check_icebergs(in, bfirst, bend, &out->icebergs) != 0 ||
        check_flash(in, bfirst, bend, &out->flash) != 0)
        return -1;
    return 0;
}

/* ---- liquidity vacuums ---- */

/* Merges the bins of vol[0..n) under threshold x median into ranges;
 * lows[i] is bin i's lower price; the bins are bin wide. */
static void
vacuum_ranges(const double *vol, const struct dec *lows, size_t n, bool bid,
              struct an_vacuums *out)
{
    double limit = out->threshold * out->median_volume;

    for (size_t i = 0; i < n;) {
        size_t j = i;
        double sum = 0;
        struct an_vacuum *v;

        while (j < n && vol[j] < limit)
            sum += vol[j++];
        if (j == i) {
            i++;
            continue;
        }
        if (out->n == AN_VACUUM_MAX) {
            out->truncated = true;
            return;
        }
        v = &out->v[out->n++];
        memset(v, 0, sizeof(*v));
        v->bid = bid;
        v->bins = j - i;
        v->low = lows[i];
        if (dec_add(&lows[j - 1], &out->bin_size, &v->high) != 0)
            v->high = lows[j - 1];
        v->volume = sum / (double)(j - i);
        v->deficit = 1 - v->volume / out->median_volume;
        v->impact = an_impact_of(v->deficit);
        i = j;
    }
}

/* See analytics.h. */
int
an_vacuums_traded(const struct an_profile *prof, double threshold,
                  struct an_vacuums *out)
{
    double *vol, *sorted;
    struct dec lows[AN_PROFILE_BINS_MAX];
    size_t n = prof->nbins;

    memset(out, 0, sizeof(*out));
    out->cov = prof->cov;
    out->source = AN_VACUUM_TRADED;
    out->bin_size = prof->bin_size;
    out->threshold = threshold > 0 ? threshold : AN_VACUUM_THRESHOLD;
    out->bins_examined = n;
    if (n == 0)
        return 0;
    vol = malloc(2 * n * sizeof(*vol));
    if (vol == NULL)
        return -1;
    sorted = vol + n;
    for (size_t i = 0; i < n; i++) {
        vol[i] = sorted[i] = dec_to_double(&prof->bins[i].volume);
        lows[i] = prof->bins[i].low;
    }
    out->median_volume = median_inplace(sorted, n);
    if (out->median_volume > 0)
        vacuum_ranges(vol, lows, n, false, out);
    free(vol);
    return 0;
}

/* Bins one side of s outward from its best price: bin k holds the levels
 * within [k, k + 1) bins of the best. Returns the bins used (0 when the
 * side is empty), or -1. */
static int
rest_bins(const struct an_book_sample *s, bool bid, const struct dec *bin,
          double *vol, struct dec *lows, size_t max)
{
    const struct an_level *lv = bid ? s->bids : s->asks;
    size_t n = bid ? s->nbids : s->nasks, used = 0;

    if (n > AN_BOOK_LEVELS)
        n = AN_BOOK_LEVELS;
    for (size_t i = 0; i < n; i++) {
        struct dec off, q, k, step;
        size_t b;

        if ((bid ? dec_sub(&lv[0].price, &lv[i].price, &off)
                 : dec_sub(&lv[i].price, &lv[0].price, &off)) != 0 ||
            dec_div(&off, bin, 0, DEC_ROUND_DOWN, &q) != 0)
            return -1;
        if (q.mant >= max)
            break;
        b = (size_t)q.mant;
        while (used <= b) {
            vol[used] = 0;
            /* bids: [best - (k+1) bin, best - k bin); asks: [best + k bin,
             * best + (k+1) bin) */
            dec_from_u64(bid ? used + 1 : used, &k);
            if (dec_mul(bin, &k, &step) != 0 ||
                (bid ? dec_sub(&lv[0].price, &step, &lows[used])
                     : dec_add(&lv[0].price, &step, &lows[used])) != 0)
                lows[used] = (struct dec){0, 0}; /* below zero: clip */
            used++;
        }
        vol[b] += dec_to_double(&lv[i].qty);
    }
    return (int)used;
}

/* See analytics.h. */
int
an_vacuums_resting(const struct an_input *in, const struct dec *tick,
                   double threshold, struct an_vacuums *out)
{
    enum { SIDE_MAX = AN_BOOK_LEVELS * 4 };
    double vol[2][SIDE_MAX], sorted[2 * SIDE_MAX], rev[SIDE_MAX];
    struct dec lows[2][SIDE_MAX], rlows[SIDE_MAX], ten;
    int nb[2];
    size_t bfirst, bend, n = 0;
    const struct an_book_sample *s;

    memset(out, 0, sizeof(*out));
    out->source = AN_VACUUM_RESTING;
    out->threshold = threshold > 0 ? threshold : AN_VACUUM_THRESHOLD;
    dec_from_u64(AN_PROFILE_BIN_TICKS, &ten);
    if (dec_is_zero(tick) || dec_mul(tick, &ten, &out->bin_size) != 0)
        return -1;
    window_books(in, AN_RESTING_MAX_AGE_MS, &out->cov, &bfirst, &bend);
    if (bend == bfirst)
        return 0; /* no sample fresh enough */
    s = &in->books[bend - 1];
    for (int side = 0; side < 2; side++) {
        nb[side] = rest_bins(s, side == 0, &out->bin_size, vol[side],
                             lows[side], SIDE_MAX);
        if (nb[side] < 0)
            return -1;
        for (int i = 0; i < nb[side]; i++)
            sorted[n++] = vol[side][i];
    }
    out->bins_examined = n;
    if (n == 0)
        return 0;
    out->median_volume = median_inplace(sorted, n);
    if (!(out->median_volume > 0))
        return 0;
    /* bids lowest price first: reverse the outward order */
    for (int i = 0; i < nb[0]; i++) {
        rev[i] = vol[0][nb[0] - 1 - i];
        rlows[i] = lows[0][nb[0] - 1 - i];
    }
    vacuum_ranges(rev, rlows, (size_t)nb[0], true, out);
    vacuum_ranges(vol[1], lows[1], (size_t)nb[1], false, out);
    return 0;
}

/* ---- microstructure health ---- */

static void
health_spread(const struct an_input *in, size_t bfirst, size_t bend,
              struct an_health *h)
{
    double sum = 0, sq = 0, bps;
    size_t n = 0;

    for (size_t i = bfirst; i < bend; i++)
        if (sample_spread_bps(&in->books[i], &bps) == 0) {
            sum += bps;
            n++;
        }
    h->spread_samples = n;
    if (n < 2 || !(sum > 0))
        return; /* one sample cannot show stability */
    h->spread_mean_bps = sum / (double)n;
    for (size_t i = bfirst; i < bend; i++)
        if (sample_spread_bps(&in->books[i], &bps) == 0)
            sq += (bps - h->spread_mean_bps) * (bps - h->spread_mean_bps);
    h->spread_std_bps = sqrt(sq / (double)n);
    h->spread_cv = h->spread_std_bps / h->spread_mean_bps;
    h->spread.measured = true;
    h->spread.score = 100 * fmax(0, 1 - h->spread_cv);
}

static int
health_depth(const struct an_input *in, size_t bfirst, size_t bend,
             struct an_health *h)
{
    size_t n = bend - bfirst;
    double *v;

    if (n == 0)
        return 0;
    v = malloc(n * sizeof(*v));
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = sample_depth(&in->books[bfirst + i]);
    h->depth_now = v[n - 1];
    h->depth_median = median_inplace(v, n);
    free(v);
    if (h->depth_median > 0) {
        h->depth.measured = true;
        h->depth.score = 100 * fmin(1, h->depth_now / h->depth_median);
    }
    return 0;
}

static void
health_rate(const struct an_input *in, size_t bfirst, size_t bend,
            struct an_health *h)
{
    for (size_t i = bfirst > 0 ? bfirst : 1; i < bend; i++) {
        double secs, rate;
        size_t t0, t1;

        if (interval_of(in, i, &secs, &t0, &t1) != 0)
            continue;
        rate = in->books[i].updates / secs;
        h->rate_intervals++;
        h->rate_healthy += in->books[i].updates > 0 && rate <= AN_STUFFING_RATE;
    }
    if (h->rate_intervals > 0) {
        h->rate.measured = true;
        h->rate.score =
            100.0 * (double)h->rate_healthy / (double)h->rate_intervals;
    }
}

/* See analytics.h. */
int
an_health(const struct an_input *in, int window_s, struct an_health *out)
{
    int64_t window_ms = (int64_t)window_s * 1000;
    size_t tfirst, tend, bfirst, bend;
    const struct an_component *parts[4];
    double sum = 0;

    memset(out, 0, sizeof(*out));
    if (window_s <= 0)
        return -1;
    out->spread.weight = AN_W_SPREAD;
    out->depth.weight = AN_W_DEPTH;
    out->flow.weight = AN_W_FLOW;
    out->rate.weight = AN_W_RATE;
    window_trades(in, window_ms, &out->trades_cov, &tfirst, &tend);
    window_books(in, window_ms, &out->books_cov, &bfirst, &bend);

    health_spread(in, bfirst, bend, out);
    if (health_depth(in, bfirst, bend, out) != 0)
        return -1;
    for (size_t i = tfirst; i < tend; i++)
        *(in->trades[i].buyer_maker ? &out->sell_qty : &out->buy_qty) +=
            dec_to_double(&in->trades[i].qty);
    if (out->buy_qty + out->sell_qty > 0) {
        out->flow.measured = true;
        out->flow.score = 100 * (1 - fabs(out->buy_qty - out->sell_qty) /
                                         (out->buy_qty + out->sell_qty));
    }
    health_rate(in, bfirst, bend, out);

    parts[0] = &out->spread;
    parts[1] = &out->depth;
    parts[2] = &out->flow;
    parts[3] = &out->rate;
    for (size_t i = 0; i < 4; i++)
        if (parts[i]->measured) {
            sum += parts[i]->weight * parts[i]->score;
            out->weight_measured += parts[i]->weight;
        }
    if (out->weight_measured > 0) {
        out->has_score = true;
        out->score = sum / out->weight_measured;
        out->band = an_band_of(out->score);
    }
    return 0;
}

/* ---- JSON ---- */

/* Why the per-interval checks could not run. */
#define NO_INTERVAL                                                            \
    "no sample interval ends in the window (two samples are needed)"

/* v rounded to decimals places as a JSON number written that way ("0.75",
 * not 0.75000000000000011); null when v is not finite. */
static json_object *
jnum(double v, int decimals)
{
    char buf[64];
    size_t len;

    if (!isfinite(v))
        return NULL;
    snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    len = strlen(buf);
    if (strchr(buf, '.') != NULL) {
        while (len > 0 && buf[len - 1] == '0')
            buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
            buf[--len] = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
    return json_object_new_double_s(strtod(buf, NULL), buf);
}

static json_object *
jdec(const struct dec *d)
{
    char buf[DEC_STR_MAX];

    return json_object_new_string(dec_str(d, buf));
}

/* a - b, exactly, as a signed decimal string. */
static json_object *
jdiff(const struct dec *a, const struct dec *b)
{
    char buf[DEC_STR_MAX + 1];
    struct dec d;

    if (dec_cmp(a, b) >= 0) {
        if (dec_sub(a, b, &d) != 0)
            return NULL;
        dec_format(&d, buf, sizeof(buf));
    } else {
        if (dec_sub(b, a, &d) != 0)
            return NULL;
        buf[0] = '-';
        dec_format(&d, buf + 1, sizeof(buf) - 1);
    }
    return json_object_new_string(buf);
}

static json_object *
jtime(int64_t ms, bool present)
{
    return present ? json_object_new_int64(ms) : NULL;
}

static void
add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

/* See analytics.h. */
json_object *
an_coverage_json(const struct an_coverage *c)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "window_s", jnum((double)c->window_ms / 1000.0, 3));
    add(o, "from_ms", json_object_new_int64(c->from_ms));
    add(o, "to_ms", json_object_new_int64(c->to_ms));
    add(o, "data_from_ms", json_object_new_int64(c->data_from_ms));
    add(o, "covered_s", jnum((double)(c->to_ms - c->data_from_ms) / 1000.0, 3));
    add(o, "fraction", jnum(c->fraction, 4));
    add(o, "count", json_object_new_int64((int64_t)c->count));
    add(o, "first_ms", jtime(c->first_ms, c->count > 0));
    add(o, "last_ms", jtime(c->last_ms, c->count > 0));
    add(o, "complete", json_object_new_boolean(c->fraction >= 1.0));
    return o;
}

/* See analytics.h. */
json_object *
an_flow_json(const struct an_flow *f)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "window_s", json_object_new_int64(f->cov.window_ms / 1000));
    add(o, "direction",
        json_object_new_string(an_direction_name(f->direction)));
    add(o, "buy_volume", jdec(&f->buy_qty));
    add(o, "sell_volume", jdec(&f->sell_qty));
    add(o, "net_flow", jdiff(&f->buy_qty, &f->sell_qty));
    add(o, "ratio", f->has_ratio ? jnum(f->ratio, 4) : NULL);
    add(o, "buy_trades", json_object_new_int64((int64_t)f->buy_trades));
    add(o, "sell_trades", json_object_new_int64((int64_t)f->sell_trades));
    add(o, "trades",
        json_object_new_int64((int64_t)(f->buy_trades + f->sell_trades)));
    add(o, "cumulative_delta", jdiff(&f->cum_buy_qty, &f->cum_sell_qty));
    add(o, "cumulative_delta_since_ms",
        jtime(f->cum_since_ms, f->cum_trades > 0));
    add(o, "coverage", an_coverage_json(&f->cov));
    return o;
}

/* {"low", "high"} of bin i, and its volume. */
static json_object *
profile_bin_json(const struct an_profile *p, size_t i)
{
    json_object *o = json_object_new_object();
    struct dec high;

    if (o == NULL)
        return NULL;
    if (dec_add(&p->bins[i].low, &p->bin_size, &high) != 0)
        high = p->bins[i].low;
    add(o, "low", jdec(&p->bins[i].low));
    add(o, "high", jdec(&high));
    add(o, "volume", jdec(&p->bins[i].volume));
    add(o, "trades", json_object_new_int64((int64_t)p->bins[i].trades));
    return o;
}

/* See analytics.h. */
json_object *
an_profile_json(const struct an_profile *p)
{
    json_object *o = json_object_new_object(), *bins, *va;

    if (o == NULL)
        return NULL;
    add(o, "tick_size", jdec(&p->tick));
    add(o, "bin_size", jdec(&p->bin_size));
    add(o, "low", p->nbins > 0 ? jdec(&p->low) : NULL);
    add(o, "high", p->nbins > 0 ? jdec(&p->high) : NULL);
    add(o, "total_volume", jdec(&p->total));
    add(o, "poc", p->has_poc ? profile_bin_json(p, p->poc) : NULL);
    va = NULL;
    if (p->has_poc && (va = json_object_new_object()) != NULL) {
        add(va, "val", jdec(&p->val));
        add(va, "vah", jdec(&p->vah));
        add(va, "volume", jdec(&p->va_volume));
        add(va, "share",
            jnum(dec_to_double(&p->va_volume) / dec_to_double(&p->total), 4));
        add(va, "bins",
            json_object_new_int64((int64_t)(p->va_hi - p->va_lo + 1)));
    }
    add(o, "value_area", va);
    bins = json_object_new_array();
    for (size_t i = 0; bins != NULL && i < p->nbins; i++)
        json_object_array_add(bins, profile_bin_json(p, i));
    add(o, "bins", bins);
    add(o, "coverage", an_coverage_json(&p->cov));
    return o;
}

static json_object *
signal_json(const struct an_signal *s, int decimals)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "value", s->measured ? jnum(s->value, decimals) : NULL);
    add(o, "threshold", jnum(s->threshold, decimals));
    add(o, "fired", json_object_new_boolean(s->fired));
    if (s->fired)
        add(o, "confidence", jnum(s->confidence, 4));
    return o;
}

/* The fields every check has: evaluated, detected, confidence, severity. */
static json_object *
finding_json(const struct an_finding *f, const char *why_not)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "evaluated", json_object_new_boolean(f->evaluated));
    if (!f->evaluated)
        add(o, "reason", json_object_new_string(why_not));
    add(o, "detected", json_object_new_boolean(f->detected));
    add(o, "confidence", f->detected ? jnum(f->confidence, 4) : NULL);
    add(o, "severity",
        f->detected ? json_object_new_string(an_severity_name(f->severity))
                    : NULL);
    return o;
}

static json_object *
stuffing_json(const struct an_stuffing *s)
{
    json_object *o = finding_json(&s->f, NO_INTERVAL);

    if (o == NULL)
        return NULL;
    add(o, "intervals", json_object_new_int64((int64_t)s->intervals));
    add(o, "intervals_flagged",
        json_object_new_int64((int64_t)s->intervals_over));
    if (s->intervals > 0) {
        add(o, "at_ms", json_object_new_int64(s->at_ms));
        add(o, "updates", json_object_new_int64(s->updates));
        add(o, "fills", json_object_new_int64((int64_t)s->trades));
        add(o, "interval_s", jnum(s->interval_s, 3));
    }
    add(o, "updates_per_s", signal_json(&s->rate, 2));
    add(o, "fill_ratio", signal_json(&s->fills, 4));
    return o;
}

static json_object *
iceberg_json(const struct an_iceberg *c)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "side", json_object_new_string(c->bid ? "bid" : "ask"));
    add(o, "price", jdec(&c->price));
    add(o, "refills", json_object_new_int64(c->refills));
    add(o, "intervals_traded", json_object_new_int64(c->intervals));
    add(o, "traded", jdec(&c->traded));
    add(o, "shown", jdec(&c->shown));
    add(o, "refill_ratio", jnum(c->ratio, 4));
    add(o, "confidence", jnum(c->f.confidence, 4));
    add(o, "severity", json_object_new_string(an_severity_name(c->f.severity)));
    return o;
}

static json_object *
icebergs_json(const struct an_icebergs *ic)
{
    json_object *o = json_object_new_object(), *arr;

    if (o == NULL)
        return NULL;
    add(o, "evaluated", json_object_new_boolean(ic->evaluated));
    if (!ic->evaluated)
        add(o, "reason", json_object_new_string(NO_INTERVAL));
    add(o, "detected", json_object_new_boolean(ic->n > 0));
    add(o, "levels_traded", json_object_new_int64((int64_t)ic->levels_traded));
    add(o, "median_refills",
        ic->levels_traded > 0 ? jnum(ic->median_refills, 2) : NULL);
    add(o, "threshold_ratio", jnum(AN_ICEBERG_RATIO, 1));
    arr = json_object_new_array();
    for (size_t i = 0; arr != NULL && i < ic->n; i++)
        json_object_array_add(arr, iceberg_json(&ic->top[i]));
    add(o, "levels", arr);
    add(o, "truncated", json_object_new_boolean(ic->truncated));
    return o;
}

static json_object *
flash_json(const struct an_flash *fl)
{
    json_object *o = finding_json(&fl->f, "no book sample in the window");

    if (o == NULL)
        return NULL;
    add(o, "signals_fired", json_object_new_int(fl->signals_fired));
    add(o, "depth_loss", signal_json(&fl->depth_loss, 4));
    add(o, "depth_now", jnum(fl->depth_now, 2));
    add(o, "depth_median", jnum(fl->depth_median, 2));
    add(o, "spread_ratio", signal_json(&fl->spread_ratio, 4));
    add(o, "spread_now_bps",
        fl->spread_ratio.measured ? jnum(fl->spread_now_bps, 2) : NULL);
    add(o, "spread_median_bps",
        fl->spread_ratio.measured ? jnum(fl->spread_median_bps, 2) : NULL);
    add(o, "cancellation_ratio", signal_json(&fl->cancels, 4));
    add(o, "removed_qty",
        fl->cancels.measured ? jnum(fl->removed_qty, 8) : NULL);
    add(o, "traded_qty", fl->cancels.measured ? jnum(fl->traded_qty, 8) : NULL);
    return o;
}

/* One entry of the "anomalies" list. */
static json_object *
anomaly_entry(const char *type, const struct an_finding *f,
              const char *description)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "type", json_object_new_string(type));
    add(o, "severity", json_object_new_string(an_severity_name(f->severity)));
    add(o, "confidence", jnum(f->confidence, 4));
    add(o, "description", json_object_new_string(description));
    return o;
}

/* See analytics.h. */
json_object *
an_anomalies_json(const struct an_anomalies *a)
{
    json_object *o = json_object_new_object(), *list, *checks, *cov;
    char text[256], pbuf[DEC_STR_MAX];

    if (o == NULL)
        return NULL;
    add(o, "window_s", json_object_new_int64(a->books_cov.window_ms / 1000));
    list = json_object_new_array();
    if (list != NULL && a->stuffing.f.detected) {
        snprintf(text, sizeof(text),
                 "%.0f level updates/s with %.1f %% matched by fills in %zu "
                 "of %zu intervals",
                 a->stuffing.rate.value, 100 * a->stuffing.fills.value,
                 a->stuffing.intervals_over, a->stuffing.intervals);
        json_object_array_add(
            list, anomaly_entry("QUOTE_STUFFING", &a->stuffing.f, text));
    }
    for (size_t i = 0; list != NULL && i < a->icebergs.n; i++) {
        const struct an_iceberg *c = &a->icebergs.top[i];

        snprintf(text, sizeof(text),
                 "%s level %s refilled %u times (median %.1f)",
                 c->bid ? "bid" : "ask", dec_str(&c->price, pbuf), c->refills,
                 a->icebergs.median_refills);
        json_object_array_add(list,
                              anomaly_entry("ICEBERG_ORDER", &c->f, text));
    }
    if (list != NULL && a->flash.f.detected) {
        snprintf(text, sizeof(text),
                 "%d of 3 signals: depth loss %.0f %%, spread %.1fx its "
                 "median, cancellations %.0f %%",
                 a->flash.signals_fired, 100 * a->flash.depth_loss.value,
                 a->flash.spread_ratio.value, 100 * a->flash.cancels.value);
        json_object_array_add(
            list, anomaly_entry("FLASH_CRASH_RISK", &a->flash.f, text));
    }
    add(o, "anomalies", list);
    checks = json_object_new_object();
    if (checks != NULL) {
        add(checks, "quote_stuffing", stuffing_json(&a->stuffing));
        add(checks, "iceberg_orders", icebergs_json(&a->icebergs));
        add(checks, "flash_crash_risk", flash_json(&a->flash));
    }
    add(o, "checks", checks);
    cov = json_object_new_object();
    if (cov != NULL) {
        add(cov, "trades", an_coverage_json(&a->trades_cov));
        add(cov, "books", an_coverage_json(&a->books_cov));
    }
    add(o, "coverage", cov);
    return o;
}

/* See analytics.h. */
json_object *
an_vacuums_json(const struct an_vacuums *v)
{
    json_object *o = json_object_new_object(), *arr;

    if (o == NULL)
        return NULL;
    add(o, "source",
        json_object_new_string(v->source == AN_VACUUM_RESTING ? "resting"
                                                              : "traded"));
    add(o, "bin_size", jdec(&v->bin_size));
    add(o, "threshold", jnum(v->threshold, 4));
    add(o, "median_volume",
        v->bins_examined > 0 ? jnum(v->median_volume, 8) : NULL);
    add(o, "bins_examined", json_object_new_int64((int64_t)v->bins_examined));
    arr = json_object_new_array();
    for (size_t i = 0; arr != NULL && i < v->n; i++) {
        const struct an_vacuum *x = &v->v[i];
        json_object *e = json_object_new_object();

        if (e == NULL)
            continue;
        if (v->source == AN_VACUUM_RESTING)
            add(e, "side", json_object_new_string(x->bid ? "bid" : "ask"));
        add(e, "low", jdec(&x->low));
        add(e, "high", jdec(&x->high));
        add(e, "bins", json_object_new_int64((int64_t)x->bins));
        add(e, "volume", jnum(x->volume, 8));
        add(e, "deficit", jnum(x->deficit, 4));
        add(e, "impact", json_object_new_string(an_impact_name(x->impact)));
        json_object_array_add(arr, e);
    }
    add(o, "vacuums", arr);
    add(o, "truncated", json_object_new_boolean(v->truncated));
    add(o, "coverage", an_coverage_json(&v->cov));
    return o;
}

static json_object *
component_json(const struct an_component *c)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add(o, "score", c->measured ? jnum(c->score, 2) : NULL);
    add(o, "weight", jnum(c->weight, 2));
    return o;
}

/* See analytics.h. */
json_object *
an_health_json(const struct an_health *h)
{
    json_object *o = json_object_new_object(), *parts, *c, *cov;

    if (o == NULL)
        return NULL;
    add(o, "window_s", json_object_new_int64(h->books_cov.window_ms / 1000));
    add(o, "score", h->has_score ? jnum(h->score, 2) : NULL);
    add(o, "band", json_object_new_string(an_band_name(h->band)));
    add(o, "weight_measured", jnum(h->weight_measured, 2));
    parts = json_object_new_object();
    if (parts != NULL) {
        if ((c = component_json(&h->spread)) != NULL) {
            add(c, "samples",
                json_object_new_int64((int64_t)h->spread_samples));
            add(c, "mean_bps",
                h->spread.measured ? jnum(h->spread_mean_bps, 4) : NULL);
            add(c, "std_bps",
                h->spread.measured ? jnum(h->spread_std_bps, 4) : NULL);
            add(c, "cv", h->spread.measured ? jnum(h->spread_cv, 4) : NULL);
        }
        add(parts, "spread_stability", c);
        if ((c = component_json(&h->depth)) != NULL) {
            add(c, "depth_now",
                h->depth.measured ? jnum(h->depth_now, 2) : NULL);
            add(c, "depth_median",
                h->depth.measured ? jnum(h->depth_median, 2) : NULL);
        }
        add(parts, "depth", c);
        if ((c = component_json(&h->flow)) != NULL) {
            add(c, "buy_volume", jnum(h->buy_qty, 8));
            add(c, "sell_volume", jnum(h->sell_qty, 8));
        }
        add(parts, "flow_balance", c);
        if ((c = component_json(&h->rate)) != NULL) {
            add(c, "intervals",
                json_object_new_int64((int64_t)h->rate_intervals));
            add(c, "healthy_intervals",
                json_object_new_int64((int64_t)h->rate_healthy));
        }
        add(parts, "update_rate", c);
    }
    add(o, "components", parts);
    cov = json_object_new_object();
    if (cov != NULL) {
        add(cov, "books", an_coverage_json(&h->books_cov));
        add(cov, "trades", an_coverage_json(&h->trades_cov));
    }
    add(o, "coverage", cov);
    return o;
}
