/*
 * tools_chart.c - get_chart and the binance://chart resource. See
 * tools_chart.h.
 *
 * A chart is one request (what to draw, from the arguments or the URI),
 * one or two Binance calls (klines or the order book; the caller's open
 * orders when credentials are set), exact parsing of every price and
 * quantity into struct dec, one conversion to double per value for
 * drawing, and chart_render. The text block and structuredContent say the
 * same in exact decimals, so a client that shows no images still gets the
 * gist: range, last price, change, high and low, or the book's best prices.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "chart.h"
#include "decimal.h"
#include "dbuf.h"
#include "tools_chart.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_md.h"
#include "tools_schema.h"
#include "util.h"

#define CHART_FLAGS       (TOOL_READ_ONLY | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD)
#define CHART_TIME_MAX_MS 5000 /* drawing and encoding, after the fetch */
#define TEXT_MAX          ((size_t)4096)
#define DEFAULT_LIMIT     100
#define DEFAULT_INTERVAL  "1h"
#define MIME_PNG          "image/png"

const char *const tchart_intervals[] = {
    "1s", "1m", "3m",  "5m", "15m", "30m", "1h", "2h", "4h",
    "6h", "8h", "12h", "1d", "3d",  "1w",  "1M", NULL,
};

/* The length of an interval in ms (a month counts 30 days: it only
 * chooses time labels); 0 for an unknown one. */
static int64_t
interval_ms(const char *iv)
{
    static const int64_t ms[] = {
        1000,     60000,     180000,    300000,     900000,   1800000,
        3600000,  7200000,   14400000,  21600000,   28800000, 43200000,
        86400000, 259200000, 604800000, 2592000000,
    };
    for (size_t i = 0; iv != NULL && tchart_intervals[i] != NULL; i++)
        if (strcmp(iv, tchart_intervals[i]) == 0)
            return ms[i];
    return 0;
}

static const char *const kind_names[] = {"candles", "depth", "volume_profile",
                                         NULL};

/* What to draw, from the arguments or a URI. */
struct chart_req {
    char symbol[TU_SYMBOL_MAX];
    enum chart_kind kind;
    char interval[8];
    int64_t limit;
    int64_t start_time, end_time; /* -1: not given */
    int width, height;
    enum chart_theme theme;
    int volume, orders, bins;
    int sma[CHART_SMA_MAX];
    int nsma;
};

/* The exact numbers of a candle series, for the text. */
struct series_stats {
    struct dec first_open, last_close, high, low;
    int64_t from, to; /* first and last open time */
};

/* What one chart produced. */
struct chart_made {
    struct chart_png png;
    json_object *summary; /* the structuredContent object */
    struct dbuf text;
};

/* A failure: the sentence and whether the request itself was wrong (an
 * unknown symbol, bad arguments) rather than Binance or the drawing. */
struct chart_fail {
    char msg[TOOL_ERR_MAX];
    int bad_request;
};

static int chart_failf(struct chart_fail *f, int bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
chart_failf(struct chart_fail *f, int bad, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
    f->bad_request = bad;
    return -1;
}

/* Records a failed Binance call: an unknown symbol is the request's
 * fault. */
static int
fail_call(struct chart_fail *f, const struct tu_call *tc)
{
    return chart_failf(
        f, tc->resp.status == BNC_ERR_API && tc->resp.api_code == -1121, "%s",
        tc->err);
}

/* "2024-01-02 13:00" (UTC) of ms since the epoch. */
static const char *
utc_minutes(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

/* A decimal for a reader: at least two decimals ("42000.00", "0.00001"),
 * as tu_num_display shows Binance's strings. Returns buf. */
static const char *
dec_show(const struct dec *d, char *buf, size_t len)
{
    char raw[DEC_STR_MAX];
    const char *dot;

    dec_format(d, raw, sizeof(raw));
    dot = strchr(raw, '.');
    snprintf(buf, len, "%s%s", raw,
             dot == NULL        ? ".00"
             : strlen(dot) == 2 ? "0"
                                : "");
    return buf;
}

/* ---- the request ---- */

/* Fills rq from validated tool arguments. Returns 0 or -1 with f set. */
static int
req_from_args(json_object *args, struct chart_req *rq, struct chart_fail *f)
{
    const char *kind = tu_arg_str(args, "kind");
    const char *iv = tu_arg_str(args, "interval");
    const char *theme = tu_arg_str(args, "theme");
    json_object *sma;
    int64_t v;

    memset(rq, 0, sizeof(*rq));
    if (tu_symbol_norm(tu_arg_str(args, "symbol"), rq->symbol,
                       sizeof(rq->symbol)) < 0)
        return chart_failf(f, 1,
                           "symbol must be a trading pair such as "
                           "BTCUSDT.");
    rq->kind = CHART_CANDLES;
    for (int i = 0; kind != NULL && kind_names[i] != NULL; i++)
        if (strcmp(kind, kind_names[i]) == 0)
            rq->kind = (enum chart_kind)i;
    snprintf(rq->interval, sizeof(rq->interval), "%s",
             iv != NULL ? iv : DEFAULT_INTERVAL);
    if (interval_ms(rq->interval) == 0)
        return chart_failf(f, 1, "interval '%s' is not a kline interval.",
                           rq->interval);
    rq->limit = tu_arg_int(args, "limit", &v) ? v : DEFAULT_LIMIT;
    rq->start_time = tu_arg_int(args, "start_time", &v) ? v : -1;
    rq->end_time = tu_arg_int(args, "end_time", &v) ? v : -1;
    rq->width = tu_arg_int(args, "width", &v) ? (int)v : CHART_DEFAULT_W;
    rq->height = tu_arg_int(args, "height", &v) ? (int)v : CHART_DEFAULT_H;
    rq->theme =
        theme != NULL && strcmp(theme, "dark") == 0 ? CHART_DARK : CHART_LIGHT;
    rq->volume = tu_arg_bool(args, "volume", 1);
    rq->orders = tu_arg_bool(args, "orders", 1);
    rq->bins = tu_arg_int(args, "bins", &v) ? (int)v : CHART_BINS_DEFAULT;
    if (json_object_object_get_ex(args, "sma", &sma)) {
        size_t n = json_object_array_length(sma);
        if (n > CHART_SMA_MAX)
            return chart_failf(f, 1, "sma takes at most %d periods (got %zu).",
                               CHART_SMA_MAX, n);
        if (rq->kind != CHART_CANDLES && n > 0)
            return chart_failf(f, 1,
                               "sma is drawn on candle charts only "
                               "(kind \"candles\").");
        for (size_t i = 0; i < n; i++)
            rq->sma[i] = json_object_get_int(json_object_array_get_idx(sma, i));
        rq->nsma = (int)n;
    }
    if (rq->kind == CHART_DEPTH && (rq->start_time >= 0 || rq->end_time >= 0))
        return chart_failf(f, 1,
                           "a depth chart shows the order book now; "
                           "start_time and end_time apply to candles "
                           "and volume_profile only.");
    if (rq->start_time >= 0 && rq->end_time >= 0 &&
        rq->start_time > rq->end_time)
        return chart_failf(f, 1,
                           "start_time (%lld) is after end_time (%lld); give "
                           "the earlier time as start_time.",
                           (long long)rq->start_time, (long long)rq->end_time);
    return 0;
}

/* ---- fetching and parsing ---- */

/* Parses s exactly and converts it once for drawing. Returns 0 or -1. */
static int
parse_num(json_object *s, struct dec *d, double *out)
{
    if (!json_object_is_type(s, json_type_string) ||
        dec_parse(json_object_get_string(s), d) < 0)
        return -1;
    *out = dec_to_double(d);
    return 0;
}

/* Parses one kline [openTime, "open", "high", "low", "close", "volume",
 * ...] into c, keeping the series' exact extremes in st. */
static int
parse_kline(json_object *k, size_t i, struct chart_candle *c,
            struct series_stats *st)
{
    struct dec open, high, low, close, vol;

    if (!json_object_is_type(k, json_type_array) ||
        json_object_array_length(k) < 6 ||
        !json_object_is_type(json_object_array_get_idx(k, 0), json_type_int) ||
        parse_num(json_object_array_get_idx(k, 1), &open, &c->open) < 0 ||
        parse_num(json_object_array_get_idx(k, 2), &high, &c->high) < 0 ||
        parse_num(json_object_array_get_idx(k, 3), &low, &c->low) < 0 ||
        parse_num(json_object_array_get_idx(k, 4), &close, &c->close) < 0 ||
        parse_num(json_object_array_get_idx(k, 5), &vol, &c->volume) < 0)
        return -1;
    c->open_time = json_object_get_int64(json_object_array_get_idx(k, 0));
    if (i == 0) {
        st->first_open = open;
        st->high = high;
        st->low = low;
        st->from = c->open_time;
    }
    if (dec_cmp(&high, &st->high) > 0)
        st->high = high;
    if (dec_cmp(&low, &st->low) < 0)
        st->low = low;
    st->last_close = close;
    st->to = c->open_time;
    return 0;
}

/* Fetches rq's klines into a new array *out (*n of them; the caller frees
 * it). Returns 0, or -1 with f set. */
static int
fetch_klines(struct mcp_call *call, const struct chart_req *rq,
             struct chart_candle **out, size_t *n, struct series_stats *st,
             struct chart_fail *f)
{
    struct tu_call tc;
    json_object *body;
    int rc = 0;

    *out = NULL;
    *n = 0;
    tu_call_init(&tc, "GET", "/api/v3/klines", BNC_PUBLIC);
    bnc_params_add(&tc.params, "symbol", rq->symbol);
    bnc_params_add(&tc.params, "interval", rq->interval);
    if (rq->start_time >= 0)
        bnc_params_add_int(&tc.params, "startTime", rq->start_time);
    if (rq->end_time >= 0)
        bnc_params_add_int(&tc.params, "endTime", rq->end_time);
    bnc_params_add_int(&tc.params, "limit", rq->limit);
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        rc = fail_call(f, &tc);
        goto done;
    }
    size_t len = json_object_is_type(body, json_type_array)
                     ? json_object_array_length(body)
                     : 0;
    if (len == 0) {
        rc = chart_failf(f, 1,
                         "Binance has no %s candles of %s in the range asked "
                         "for; widen start_time/end_time or leave them out.",
                         rq->interval, rq->symbol);
        goto done;
    }
    if (len > CHART_CANDLES_MAX) {
        rc = chart_failf(f, 0,
                         "Binance answered %zu candles; a chart draws at most "
                         "%d.",
                         len, CHART_CANDLES_MAX);
        goto done;
    }
    *out = calloc(len, sizeof(**out));
    if (*out == NULL) {
        rc = chart_failf(f, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < len; i++)
        if (parse_kline(json_object_array_get_idx(body, i), i, &(*out)[i], st) <
            0) {
            rc = chart_failf(f, 0,
                             "Binance answered kline %zu in a shape binmcpd "
                             "cannot read (expected [openTime, \"open\", "
                             "\"high\", \"low\", \"close\", \"volume\", "
                             "...]).",
                             i);
            free(*out);
            *out = NULL;
            goto done;
        }
    *n = len;
done:
    tu_call_done(&tc);
    return rc;
}

/* The exact numbers of one side of the book as drawn. */
struct side_stats {
    struct dec best, worst, total;
};

/* Parses the first max levels of one side of the book into a new array
 * (the caller frees it), with their best and worst price and total
 * quantity, exactly. Returns 0 or -1 (nothing allocated). */
static int
parse_side(json_object *side, size_t max, struct chart_level **out, size_t *n,
           struct side_stats *st)
{
    size_t len = json_object_is_type(side, json_type_array)
                     ? json_object_array_length(side)
                     : 0;
    struct dec q;

    *out = NULL;
    *n = 0;
    dec_from_u64(0, &st->total);
    len = len < max ? len : max;
    if (len == 0 || len > CHART_LEVELS_MAX)
        return -1;
    *out = calloc(len, sizeof(**out));
    if (*out == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_object *lv = json_object_array_get_idx(side, i);
        if (parse_num(json_object_array_get_idx(lv, 0), &st->worst,
                      &(*out)[i].price) < 0 ||
            parse_num(json_object_array_get_idx(lv, 1), &q, &(*out)[i].qty) <
                0 ||
            dec_add(&st->total, &q, &st->total) < 0) {
            free(*out);
            *out = NULL;
            return -1;
        }
        if (i == 0)
            st->best = st->worst;
    }
    *n = len;
    return 0;
}

/* The depth limit Binance accepts that covers want levels per side. */
static int64_t
depth_limit(int64_t want)
{
    static const int64_t ok[] = {5, 10, 20, 50, 100, 500, 1000};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (ok[i] >= want)
            return ok[i];
    return 1000;
}

/* The prices of the caller's open orders on rq's symbol into lines (at
 * most CHART_LINES_MAX). Without credentials there are none and nothing
 * is said; a failure is said in text, as the chart is still worth
 * having. */
static size_t
fetch_order_lines(struct mcp_call *call, const struct chart_req *rq,
                  double *lines, struct dbuf *text)
{
    struct tu_call tc;
    json_object *body;
    size_t n = 0, len;
    struct dec d;
    char shown[64];

    tu_call_init(&tc, "GET", "/api/v3/openOrders", BNC_READ);
    bnc_params_add(&tc.params, "symbol", rq->symbol);
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        if (tc.resp.status != BNC_ERR_NO_CREDENTIALS)
            dbuf_printf(text, " Open orders are not drawn: %s", tc.err);
        tu_call_done(&tc);
        return 0;
    }
    len = json_object_is_type(body, json_type_array)
              ? json_object_array_length(body)
              : 0;
    for (size_t i = 0; i < len && n < CHART_LINES_MAX; i++) {
        json_object *o = json_object_array_get_idx(body, i), *p;
        if ((!json_object_object_get_ex(o, "price", &p) ||
             parse_num(p, &d, &lines[n]) < 0 || dec_is_zero(&d)) &&
            (!json_object_object_get_ex(o, "stopPrice", &p) ||
             parse_num(p, &d, &lines[n]) < 0 || dec_is_zero(&d)))
            continue;
        dbuf_printf(text, "%s%s %s",
                    n == 0 ? " Your open orders (dashed lines): " : ", ",
                    tu_jstr(o, "side"), dec_show(&d, shown, sizeof(shown)));
        n++;
    }
    if (n > 0)
        dbuf_puts(text, ".");
    if (len > CHART_LINES_MAX)
        dbuf_printf(text, " (%zu more not drawn.)", len - CHART_LINES_MAX);
    tu_call_done(&tc);
    return n;
}

/* ---- texts ---- */

/* Adds "last", "change", "changePercent", "high", "low" to summary and the
 * sentence of a candle series to text; the change is exact. */
static void
series_text(const struct series_stats *st, json_object *summary,
            struct dbuf *text, char *headline, size_t hlen)
{
    struct dec diff, pct, hundred;
    char last[64], chg[64], pc[64], hi[64], lo[64], first[64];
    char raw[DEC_STR_MAX + 1];
    int down = dec_cmp(&st->last_close, &st->first_open) < 0;

    dec_from_u64(100, &hundred);
    if (dec_sub(down ? &st->first_open : &st->last_close,
                down ? &st->last_close : &st->first_open, &diff) < 0)
        dec_from_u64(0, &diff);
    if (dec_is_zero(&st->first_open) || dec_mul(&diff, &hundred, &pct) < 0 ||
        dec_div(&pct, &st->first_open, 2, DEC_ROUND_HALF_UP, &pct) < 0)
        dec_from_u64(0, &pct);
    dec_show(&st->last_close, last, sizeof(last));
    dec_show(&st->first_open, first, sizeof(first));
    dec_show(&st->high, hi, sizeof(hi));
    dec_show(&st->low, lo, sizeof(lo));
    raw[0] = down && !dec_is_zero(&diff) ? '-' : '+';
    dec_show(&diff, raw + 1, sizeof(raw) - 1);
    snprintf(chg, sizeof(chg), "%s", raw);
    dec_show(&pct, raw + 1, sizeof(raw) - 1);
    snprintf(pc, sizeof(pc), "%s", raw);
    json_object_object_add(summary, "last", json_object_new_string(last));
    json_object_object_add(summary, "change", json_object_new_string(chg));
    json_object_object_add(summary, "changePercent",
                           json_object_new_string(pc));
    json_object_object_add(summary, "high", json_object_new_string(hi));
    json_object_object_add(summary, "low", json_object_new_string(lo));
    dbuf_printf(text,
                " Last price %s, %s (%s%%) since the first open %s; high %s, "
                "low %s.",
                last, chg, pc, first, hi, lo);
    snprintf(headline, hlen, "last %s  %s%%  H %s  L %s", last, pc, hi, lo);
}

/* ---- one chart ---- */

static void
made_free(struct chart_made *m)
{
    chart_png_free(&m->png);
    json_object_put(m->summary);
    m->summary = NULL;
    dbuf_free(&m->text);
}

/* Draws the candle or volume-profile chart of rq. */
static int
make_series_chart(struct mcp_call *call, const struct chart_req *rq,
                  struct chart_spec *spec, struct chart_made *m,
                  struct chart_fail *f)
{
    struct chart_candle *candles = NULL;
    struct series_stats st;
    double lines[CHART_LINES_MAX];
    char title[96], sub[512], head[320], from[32], to[32];
    char err[CHART_ERR_MAX];
    size_t n;
    int rc;

    memset(&st, 0, sizeof(st));
    if (fetch_klines(call, rq, &candles, &n, &st, f) < 0)
        return -1;
    utc_minutes(st.from, from, sizeof(from));
    utc_minutes(st.to, to, sizeof(to));
    dbuf_printf(&m->text,
                "%s %s %s chart of %zu candles opening %s to %s UTC "
                "(%dx%d PNG).",
                rq->symbol, rq->interval,
                rq->kind == CHART_CANDLES ? "candlestick" : "volume-profile", n,
                from, to, rq->width, rq->height);
    series_text(&st, m->summary, &m->text, head, sizeof(head));
    json_object_object_add(m->summary, "interval",
                           json_object_new_string(rq->interval));
    json_object_object_add(m->summary, "count",
                           json_object_new_int64((int64_t)n));
    json_object_object_add(m->summary, "from", json_object_new_int64(st.from));
    json_object_object_add(m->summary, "to", json_object_new_int64(st.to));
    spec->candles = candles;
    spec->ncandles = n;
    spec->interval_ms = interval_ms(rq->interval);
    spec->volume = rq->volume;
    spec->bins = rq->bins;
    memcpy(spec->sma, rq->sma, sizeof(spec->sma));
    spec->nsma = rq->nsma;
    for (int i = 0; i < rq->nsma; i++)
        if ((size_t)rq->sma[i] > n)
            dbuf_printf(&m->text, " SMA %d is not drawn: it needs %d candles.",
                        rq->sma[i], rq->sma[i]);
    if (rq->kind == CHART_CANDLES && rq->orders) {
        spec->lines = lines;
        spec->nlines = fetch_order_lines(call, rq, lines, &m->text);
    }
    if (rq->kind == CHART_VOLUME_PROFILE) {
        struct chart_profile p;
        char poc[64], val[64], vah[64];
        if (chart_profile_compute(candles, n, rq->bins, &p) == 0) {
            snprintf(poc, sizeof(poc), "%.8g", p.lo + (p.poc + 0.5) * p.step);
            snprintf(val, sizeof(val), "%.8g", p.lo + p.va_lo * p.step);
            snprintf(vah, sizeof(vah), "%.8g", p.lo + (p.va_hi + 1) * p.step);
            dbuf_printf(&m->text,
                        " Volume profile in %d rows: point of control about "
                        "%s, value area (70%% of the volume) %s to %s; each "
                        "candle's volume is spread evenly over its "
                        "low-high range.",
                        rq->bins, poc, val, vah);
            json_object_object_add(m->summary, "poc",
                                   json_object_new_string(poc));
            json_object_object_add(m->summary, "valueAreaLow",
                                   json_object_new_string(val));
            json_object_object_add(m->summary, "valueAreaHigh",
                                   json_object_new_string(vah));
        }
    }
    snprintf(title, sizeof(title), "%s  %s  %s", rq->symbol, rq->interval,
             rq->kind == CHART_CANDLES ? "candles" : "volume profile");
    snprintf(sub, sizeof(sub), "%s \xe2\x80\x93 %s UTC   %s", from, to, head);
    spec->title = title;
    spec->subtitle = sub;
    rc = chart_render(spec, &m->png, err, sizeof(err));
    if (rc < 0)
        chart_failf(f, 0, "The chart could not be drawn: %s.", err);
    free(candles);
    return rc;
}

/* Draws the depth chart of rq's symbol. */
static int
make_depth_chart(struct mcp_call *call, const struct chart_req *rq,
                 struct chart_spec *spec, struct chart_made *m,
                 struct chart_fail *f)
{
    struct chart_level *bids = NULL, *asks = NULL;
    struct side_stats bs, as;
    struct tu_call tc;
    struct dec spread;
    json_object *body, *b = NULL, *a = NULL;
    size_t nb = 0, na = 0;
    char title[96], sub[256], err[CHART_ERR_MAX];
    char sb[64], sa[64], ss[64], qb[64], qa[64], wb[64], wa[64];
    int rc = -1;

    tu_call_init(&tc, "GET", "/api/v3/depth", BNC_PUBLIC);
    bnc_params_add(&tc.params, "symbol", rq->symbol);
    bnc_params_add_int(&tc.params, "limit", depth_limit(rq->limit));
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        fail_call(f, &tc);
        goto done;
    }
    json_object_object_get_ex(body, "bids", &b);
    json_object_object_get_ex(body, "asks", &a);
    /* only the levels asked for, though Binance rounds the limit up */
    if (parse_side(b, (size_t)rq->limit, &bids, &nb, &bs) < 0 ||
        parse_side(a, (size_t)rq->limit, &asks, &na, &as) < 0) {
        chart_failf(f, 0,
                    "The order book of %s has an empty side or a level "
                    "binmcpd cannot read; no depth chart.",
                    rq->symbol);
        goto done;
    }
    if (dec_sub(&as.best, &bs.best, &spread) < 0)
        dec_from_u64(0, &spread);
    dec_show(&bs.best, sb, sizeof(sb));
    dec_show(&as.best, sa, sizeof(sa));
    dec_show(&spread, ss, sizeof(ss));
    dec_show(&bs.total, qb, sizeof(qb));
    dec_show(&as.total, qa, sizeof(qa));
    dec_show(&bs.worst, wb, sizeof(wb));
    dec_show(&as.worst, wa, sizeof(wa));
    dbuf_printf(&m->text,
                "%s order-book depth chart of %zu bids and %zu asks "
                "(cumulative quantity, bids green left of the mid price, "
                "asks red right of it; %dx%d PNG). Best bid %s, best ask "
                "%s, spread %s. Bids total %s down to %s; asks total %s up "
                "to %s.",
                rq->symbol, nb, na, rq->width, rq->height, sb, sa, ss, qb, wb,
                qa, wa);
    json_object_object_add(m->summary, "count",
                           json_object_new_int64((int64_t)(nb + na)));
    json_object_object_add(m->summary, "bestBid", json_object_new_string(sb));
    json_object_object_add(m->summary, "bestAsk", json_object_new_string(sa));
    json_object_object_add(m->summary, "spread", json_object_new_string(ss));
    json_object_object_add(m->summary, "bidQty", json_object_new_string(qb));
    json_object_object_add(m->summary, "askQty", json_object_new_string(qa));
    snprintf(title, sizeof(title), "%s  order book depth", rq->symbol);
    snprintf(sub, sizeof(sub), "bid %s   ask %s   spread %s   %zu + %zu levels",
             sb, sa, ss, nb, na);
    spec->title = title;
    spec->subtitle = sub;
    spec->bids = bids;
    spec->nbids = nb;
    spec->asks = asks;
    spec->nasks = na;
    rc = chart_render(spec, &m->png, err, sizeof(err));
    if (rc < 0)
        chart_failf(f, 0, "The chart could not be drawn: %s.", err);
done:
    free(bids);
    free(asks);
    tu_call_done(&tc);
    return rc;
}

/* Fetches, draws and describes rq into m (made_free it either way).
 * Returns 0, or -1 with f set. */
static int
make_chart(struct mcp_call *call, const struct chart_req *rq,
           struct chart_made *m, struct chart_fail *f)
{
    struct chart_spec spec;

    memset(m, 0, sizeof(*m));
    memset(&spec, 0, sizeof(spec));
    dbuf_init(&m->text, TEXT_MAX);
    m->summary = json_object_new_object();
    if (m->summary == NULL)
        return chart_failf(f, 0, "out of memory");
    json_object_object_add(m->summary, "symbol",
                           json_object_new_string(rq->symbol));
    json_object_object_add(m->summary, "kind",
                           json_object_new_string(kind_names[rq->kind]));
    json_object_object_add(m->summary, "width", json_object_new_int(rq->width));
    json_object_object_add(m->summary, "height",
                           json_object_new_int(rq->height));
    spec.kind = rq->kind;
    spec.theme = rq->theme;
    spec.width = rq->width;
    spec.height = rq->height;
    spec.cancel = call != NULL ? call->cancel : NULL;
    /* the deadline counts from here: the fetch has Binance's timeouts */
    spec.deadline_ms = mono_ms() + CHART_TIME_MAX_MS;
    int rc = rq->kind == CHART_DEPTH ? make_depth_chart(call, rq, &spec, m, f)
                                     : make_series_chart(call, rq, &spec, m, f);
    if (rc == 0)
        json_object_object_add(m->summary, "pngBytes",
                               json_object_new_int64((int64_t)m->png.len));
    return rc;
}

/* A new object holding the PNG in base64 under key ("data" for an image
 * content block, "blob" for resource contents) with its mimeType, plus
 * "type": type and "uri": uri when they are not NULL; NULL when memory
 * runs out. */
static json_object *
png_object(const struct chart_png *png, const char *key, const char *type,
           const char *uri)
{
    gnutls_datum_t in = {png->data, (unsigned int)png->len}, out = {NULL, 0};
    json_object *o = json_object_new_object(), *s = NULL;

    if (o != NULL && gnutls_base64_encode2(&in, &out) == 0)
        s = json_object_new_string_len((const char *)out.data, (int)out.size);
    gnutls_free(out.data);
    if (s == NULL) {
        json_object_put(o);
        return NULL;
    }
    if (type != NULL)
        json_object_object_add(o, "type", json_object_new_string(type));
    if (uri != NULL)
        json_object_object_add(o, "uri", json_object_new_string(uri));
    json_object_object_add(o, "mimeType", json_object_new_string(MIME_PNG));
    json_object_object_add(o, key, s);
    return o;
}

/* ---- get_chart ---- */

static int
get_chart(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct chart_req rq;
    struct chart_made m;
    struct chart_fail f;
    json_object *content, *img, *txt;

    if (req_from_args(args, &rq, &f) < 0)
        return tool_fail(res, "%s", f.msg);
    if (make_chart(call, &rq, &m, &f) < 0) {
        made_free(&m);
        return tool_fail(res, "%s", f.msg);
    }
    content = json_object_new_array();
    img = png_object(&m.png, "data", "image", NULL);
    txt = json_object_new_object();
    if (content == NULL || img == NULL || txt == NULL) {
        json_object_put(content);
        json_object_put(img);
        json_object_put(txt);
        made_free(&m);
        return tool_fail(res, "out of memory");
    }
    json_object_object_add(txt, "type", json_object_new_string("text"));
    json_object_object_add(txt, "text",
                           json_object_new_string(dbuf_str(&m.text)));
    json_object_array_add(content, img);
    json_object_array_add(content, txt);
    res->content = content;
    res->data = m.summary;
    m.summary = NULL;
    made_free(&m);
    return 0;
}

/* ---- the resource ---- */

json_object *
tchart_read_resource(struct mcp_call *call, const char *uri, int *code,
                     char *msg, size_t msglen)
{
    const char *rest = uri + strlen(TCHART_URI_PREFIX);
    const char *slash = strchr(rest, '/');
    char sym[TU_SYMBOL_MAX + 8];
    struct chart_req rq;
    struct chart_made m;
    struct chart_fail f;
    json_object *out, *arr, *c;

    *code = -32002;
    if (strncmp(uri, TCHART_URI_PREFIX, strlen(TCHART_URI_PREFIX)) != 0 ||
        slash == NULL || (size_t)(slash - rest) >= sizeof(sym) ||
        interval_ms(slash + 1) == 0) {
        snprintf(msg, msglen,
                 "Resource not found: %s. A chart is " TCHART_URI_TEMPLATE
                 " with an interval such as 1m, 1h, 4h or 1d, e.g. "
                 "binance://chart/BTCUSDT/1h.",
                 uri);
        return NULL;
    }
    memcpy(sym, rest, (size_t)(slash - rest));
    sym[slash - rest] = '\0';
    memset(&rq, 0, sizeof(rq));
    if (tu_symbol_norm(sym, rq.symbol, sizeof(rq.symbol)) < 0) {
        snprintf(msg, msglen, "Resource not found: %s (not a symbol).", uri);
        return NULL;
    }
    snprintf(rq.interval, sizeof(rq.interval), "%s", slash + 1);
    rq.kind = CHART_CANDLES;
    rq.limit = DEFAULT_LIMIT;
    rq.start_time = rq.end_time = -1;
    rq.width = CHART_DEFAULT_W;
    rq.height = CHART_DEFAULT_H;
    rq.theme = CHART_LIGHT;
    rq.volume = rq.orders = 1;
    rq.bins = CHART_BINS_DEFAULT;
    if (make_chart(call, &rq, &m, &f) < 0) {
        made_free(&m);
        *code = f.bad_request ? -32002 : -32603;
        snprintf(msg, msglen, "%s", f.msg);
        return NULL;
    }
    c = png_object(&m.png, "blob", NULL, uri);
    made_free(&m);
    out = json_object_new_object();
    arr = json_object_new_array();
    if (out == NULL || arr == NULL || c == NULL) {
        json_object_put(out);
        json_object_put(arr);
        json_object_put(c);
        *code = -32603;
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    json_object_array_add(arr, c);
    json_object_object_add(out, "contents", arr);
    return out;
}

/* ---- the row ---- */

/* clang-format off */
const struct tool_def tools_chart[] = {
    {"get_chart", "Chart",
     "A picture of the market as a PNG image plus a short text of what it "
     "shows (range, last price, change, high/low, or the book's best "
     "prices). kind \"candles\" (default): candlesticks of interval "
     "(default 1h) with volume bars, optional simple moving averages (sma "
     "periods) and the caller's open orders as dashed lines when "
     "credentials are set. kind \"depth\": the order book's cumulative "
     "bids (left) and asks (right) around the mid price, limit levels per "
     "side. kind \"volume_profile\": volume by price over the candles, with "
     "the point of control and the 70% value area. limit is candles (or "
     "levels), 1 to 1000, default 100. No API key needed.",
     TU_IN(TU_IN_SYMBOL ","
           TU_F("kind", "{\"type\":\"string\",\"enum\":[\"candles\","
                        "\"depth\",\"volume_profile\"],\"default\":"
                        "\"candles\",\"description\":\"What to draw.\"}") ","
           TU_IN_INTERVAL ","
           TU_IN_INT("limit", 1, 1000,
                     "Candles, or book levels per side (default 100).") ","
           TU_IN_TIME("start_time", "First candle open time") ","
           TU_IN_TIME("end_time", "Last candle open time") ","
           TU_IN_INT("width", 320, 2048, "Pixels (default 1024).") ","
           TU_IN_INT("height", 200, 2048, "Pixels (default 576).") ","
           TU_F("theme", "{\"type\":\"string\",\"enum\":[\"light\","
                         "\"dark\"],\"default\":\"light\"}") ","
           TU_F("volume", "{\"type\":\"boolean\",\"default\":true,"
                          "\"description\":\"Candles: volume bars.\"}") ","
           TU_F("sma", "{\"type\":\"array\",\"items\":{\"type\":"
                       "\"integer\",\"minimum\":2,\"maximum\":500},"
                       "\"description\":\"Candles: up to 4 simple moving "
                       "average periods, e.g. [20, 50].\"}") ","
           TU_F("orders", "{\"type\":\"boolean\",\"default\":true,"
                          "\"description\":\"Candles: draw your open "
                          "orders' prices (needs credentials).\"}") ","
           TU_IN_INT("bins", 8, 200,
                     "volume_profile: price rows (default 48)."),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("kind", TU_STR) ","
            TU_F("interval", TU_STR) "," TU_F("width", TU_INT) ","
            TU_F("height", TU_INT) "," TU_F("count", TU_INT) ","
            TU_F("from", TU_INT) "," TU_F("to", TU_INT) ","
            TU_F("last", TU_STR) "," TU_F("change", TU_STR) ","
            TU_F("changePercent", TU_STR) "," TU_F("high", TU_STR) ","
            TU_F("low", TU_STR) "," TU_F("poc", TU_STR) ","
            TU_F("valueAreaLow", TU_STR) ","
            TU_F("valueAreaHigh", TU_STR) "," TU_F("bestBid", TU_STR) ","
            TU_F("bestAsk", TU_STR) "," TU_F("spread", TU_STR) ","
            TU_F("bidQty", TU_STR) "," TU_F("askQty", TU_STR) ","
            TU_F("pngBytes", TU_INT)),
     CHART_FLAGS, get_chart, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
