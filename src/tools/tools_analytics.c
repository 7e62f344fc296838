/*
 * tools_analytics.c - the analytics tools and the prompts' live data (see
 * tools_analytics.h).
 *
 * Each call copies the symbol's two rings out of the market segment once
 * (market_trades_since, market_samples_since: no system call), turns them
 * into analytics.h's input (exact decimals for trades; levels, level
 * changes and removed quantity for samples) and runs the pure function.
 * From when the rings are complete: the trades from the time the stream
 * started for the symbol (the later of the slot's tracked_since and the
 * connection's start), or from the oldest trade when the ring of
 * MARKET_TRADES has wrapped; the samples from the first one kept.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "analytics_md.h"
#include "livemarket.h"
#include "market.h"
#include "symcache.h"
#include "tools.h"
#include "tools_analytics.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "tools_schema.h"
#include "util.h"

#define TA_FLAGS                 (TOOL_READ_ONLY | TOOL_OPEN_WORLD)
#define TA_TEXT_MAX              (32 * 1024) /* a result's markdown */
#define TA_KLINES_MAX            1000 /* Binance's limit per klines call */
#define TA_KLINE_PAGES           4    /* klines calls for one profile at most */
#define TA_DEFAULT_THRESHOLD_PCT 20

/* One symbol's data, copied out of the segment. */
struct ta_data {
    struct an_input in;
    struct an_trade *trades;      /* owned */
    struct an_book_sample *books; /* owned */
    int live;                     /* the feed runs and streams the symbol */
    char why[LIVE_WHY_MAX + 64];  /* when not live: why ("" when live) */
};

/* Where a volume profile's trades came from. */
struct ta_sources {
    int rest_tried, rest_ok;
    int rest_complete; /* the klines cover the part before the stream */
    char interval[4];
    int64_t rest_from_ms, rest_to_ms; /* the klines' open and close span */
    size_t klines;
    char rest_err[TOOL_ERR_MAX];
    int64_t stream_from_ms;
    size_t stream_trades;
};

static void
data_free(struct ta_data *d)
{
    free(d->trades);
    free(d->books);
    d->trades = NULL;
    d->books = NULL;
}

/* A ring's trades as analytics input. */
static void
trades_in(const struct market_trade *mt, long n, struct an_trade *out)
{
    for (long i = 0; i < n; i++) {
        out[i].time_ms = mt[i].time_ms;
        market_to_dec(mt[i].price, &out[i].price);
        market_to_dec(mt[i].qty, &out[i].qty);
        out[i].buyer_maker = mt[i].buyer_maker != 0;
    }
}

static size_t
levels_in(const struct market_level *lv, uint32_t n, struct an_level *out)
{
    size_t k = n < AN_BOOK_LEVELS ? n : AN_BOOK_LEVELS;

    for (size_t i = 0; i < k; i++) {
        market_to_dec(lv[i].price, &out[i].price);
        market_to_dec(lv[i].qty, &out[i].qty);
    }
    return k;
}

/* A ring's samples as analytics input. */
static void
books_in(const struct market_sample *ms, long n, struct an_book_sample *out)
{
    for (long i = 0; i < n; i++) {
        struct an_book_sample *b = &out[i];
        memset(b, 0, sizeof(*b));
        b->time_ms = ms[i].time_ms;
        b->nbids = levels_in(ms[i].bids, ms[i].nbids, b->bids);
        b->nasks = levels_in(ms[i].asks, ms[i].nasks, b->asks);
        b->updates = ms[i].level_changes > UINT32_MAX
                         ? UINT32_MAX
                         : (uint32_t)ms[i].level_changes;
        b->removed_qty = ms[i].removed_qty < 0
                             ? -1.0
                             : (double)ms[i].removed_qty / MARKET_UNIT;
    }
}

/* Copies the slot's rings (the slot holds st's symbol). Returns 0, or -1
 * when memory runs out. */
static int
data_copy(struct market *m, int slot, const struct market_state *st,
          const struct market_feed_info *fi, struct ta_data *d)
{
    struct market_trade *mt = malloc(MARKET_TRADES * sizeof(*mt));
    struct market_sample *ms = malloc(MARKET_SAMPLES * sizeof(*ms));
    long nt = -1, ns = -1;
    int64_t since;

    if (mt != NULL && ms != NULL) {
        nt = market_trades_since(m, slot, 0, mt, MARKET_TRADES);
        ns = market_samples_since(m, slot, 0, ms, MARKET_SAMPLES);
    }
    d->trades = nt >= 0 ? calloc((size_t)nt + 1, sizeof(*d->trades)) : NULL;
    d->books = ns >= 0 ? calloc((size_t)ns + 1, sizeof(*d->books)) : NULL;
    if (d->trades == NULL || d->books == NULL) {
        data_free(d);
        free(mt);
        free(ms);
        return -1;
    }
    trades_in(mt, nt, d->trades);
    books_in(ms, ns, d->books);
    d->in.trades = d->trades;
    d->in.ntrades = (size_t)nt;
    d->in.books = d->books;
    d->in.nbooks = (size_t)ns;
    /* the stream flows once the slot is picked up and connected */
    since = st->tracked_since_ms;
    if (fi->connected_since_ms > since)
        since = fi->connected_since_ms;
    if (nt == MARKET_TRADES && mt[0].time_ms > since)
        since = mt[0].time_ms;
    d->in.trades_since_ms = st->status == MARKET_TRACKING ? 0 : since;
    d->in.books_since_ms = ns > 0 ? ms[0].time_ms : 0;
    free(mt);
    free(ms);
    return 0;
}

/* Reads symbol's data for call into *d: asks the feed to track it, then
 * copies what it has. Returns 0 (d->live and d->why say how good the data
 * is; no data at all is not a failure; the caller frees d with data_free),
 * or -1 when memory runs out (nothing to free). */
static int
data_load(struct mcp_call *call, const char *symbol, struct ta_data *d)
{
    struct market *m = tools_call_market(call);
    struct market_state *st;
    struct market_feed_info fi;
    int slot, rc = 0;

    memset(d, 0, sizeof(*d));
    d->in.now_ms = now_ms();
    if (m == NULL) {
        snprintf(d->why, sizeof(d->why),
                 "no live market data here (feed = off): "
                 "only REST data can be shown");
        return 0;
    }
    if ((slot = market_request(m, symbol, d->in.now_ms)) < 0) {
        snprintf(d->why, sizeof(d->why), "the feed cannot track %s (%s)",
                 symbol,
                 errno == ENOSPC ? "all max_tracked_symbols slots are taken"
                                 : "the market segment refused it");
        return 0;
    }
    /* a stopped feed's rings end when it stopped: the windows that end
     * now would count its silence as covered, so it is no feed */
    if (!live_feed_running(m, d->in.now_ms, d->why, sizeof(d->why)))
        return 0;
    if ((st = malloc(sizeof(*st))) == NULL)
        return -1;
    if (market_read(m, slot, st) < 0 || strcmp(st->symbol, symbol) != 0) {
        snprintf(d->why, sizeof(d->why),
                 "the feed was just asked to track %s and has no data for it "
                 "yet; ask again in a minute",
                 symbol);
        free(st);
        return 0;
    }
    market_feed_info(m, &fi);
    if (data_copy(m, slot, st, &fi, d) < 0)
        rc = -1;
    else if (st->status == MARKET_LIVE && st->ws_connected)
        d->live = 1;
    else
        snprintf(d->why, sizeof(d->why),
                 "the live stream of %s is not ready (%s%s); the feed was "
                 "asked to track it, and the figures rest on what it has",
                 symbol, market_status_name(st->status),
                 st->ws_connected ? "" : ", stream not connected");
    free(st);
    return rc;
}

/* ---- arguments ---- */

static int
arg_symbol(json_object *args, char sym[TU_SYMBOL_MAX], struct tool_result *res)
{
    const char *raw = tu_arg_str(args, "symbol");

    if (raw == NULL || tu_symbol_norm(raw, sym, TU_SYMBOL_MAX) < 0)
        return tool_fail(res, "symbol must be a trading pair such as "
                              "BTCUSDT (1 to 20 letters and digits).");
    return 0;
}

/* args[key] into *out: dflt when absent, else an integer in [lo, hi]. */
static int
arg_int(json_object *args, const char *key, int64_t dflt, int64_t lo,
        int64_t hi, int64_t *out, struct tool_result *res)
{
    json_object *v;

    *out = dflt;
    if (!json_object_object_get_ex(args, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < lo || json_object_get_int64(v) > hi)
        return tool_fail(res, "%s must be an integer from %lld to %lld.", key,
                         (long long)lo, (long long)hi);
    *out = json_object_get_int64(v);
    return 0;
}

/* The PRICE_FILTER tickSize of symbol into *tick. Returns 0, or -1 with a
 * sentence in why. */
static int
tick_lookup(const char *symbol, struct dec *tick, char *why, size_t len)
{
    json_object *sym = NULL, *filters, *f;
    int rc = -1;

    if (symcache_get_json(symbol, &sym, NULL) != 0 || sym == NULL) {
        snprintf(why, len,
                 "the tick size of %s is unknown (exchangeInfo has no such "
                 "symbol or cannot be loaded): pass tick_size",
                 symbol);
        json_object_put(sym);
        return -1;
    }
    if (json_object_object_get_ex(sym, "filters", &filters))
        for (size_t i = 0; i < json_object_array_length(filters); i++) {
            const char *type, *ts;
            f = json_object_array_get_idx(filters, i);
            type = tu_arg_str(f, "filterType");
            ts = tu_arg_str(f, "tickSize");
            if (type != NULL && strcmp(type, "PRICE_FILTER") == 0 &&
                ts != NULL && dec_parse(ts, tick) == 0 && !dec_is_zero(tick))
                rc = 0;
        }
    if (rc < 0)
        snprintf(why, len, "%s has no PRICE_FILTER tick size: pass tick_size",
                 symbol);
    json_object_put(sym);
    return rc;
}

/* The tick_size argument, or the symbol's own. */
static int
arg_tick(json_object *args, const char *symbol, struct dec *tick,
         struct tool_result *res)
{
    const char *ts = tu_arg_str(args, "tick_size");
    char why[TOOL_ERR_MAX];

    if (ts != NULL) {
        if (dec_parse(ts, tick) < 0 || dec_is_zero(tick))
            return tool_fail(res, "tick_size must be a positive decimal "
                                  "string such as \"0.01\".");
        return 0;
    }
    if (tick_lookup(symbol, tick, why, sizeof(why)) < 0)
        return tool_fail(res, "%s.", why);
    return 0;
}

/* ---- the volume profile's REST back-fill ---- */

/* A kline length that fits window_ms into one klines call. */
static const char *
kline_interval(int64_t window_ms, int64_t *len_ms)
{
    static const struct {
        const char *name;
        int64_t ms;
    } k[] = {{"1m", 60000}, {"5m", 300000}, {"15m", 900000}};

    size_t i = 0;

    while (i + 1 < sizeof(k) / sizeof(k[0]) &&
           window_ms / k[i].ms >= TA_KLINES_MAX)
        i++;
    *len_ms = k[i].ms;
    return k[i].name;
}

/* One kline row as a pseudo-trade at its close: its whole volume at its
 * close price. Returns 0, or -1 when the row is not Binance's. */
static int
kline_trade(json_object *row, struct an_trade *t, int64_t *open_ms)
{
    json_object *o = json_object_array_get_idx(row, 0);
    json_object *c = json_object_array_get_idx(row, 4);
    json_object *v = json_object_array_get_idx(row, 5);
    json_object *ct = json_object_array_get_idx(row, 6);

    if (!json_object_is_type(row, json_type_array) ||
        !json_object_is_type(o, json_type_int) ||
        !json_object_is_type(ct, json_type_int) ||
        dec_parse(json_object_get_string(c), &t->price) < 0 ||
        dec_parse(json_object_get_string(v), &t->qty) < 0)
        return -1;
    *open_ms = json_object_get_int64(o);
    t->time_ms = json_object_get_int64(ct);
    t->buyer_maker = false;
    return 0;
}

/* One page of klines from from_ms to before to_ms appended as
 * pseudo-trades to out (room for TA_KLINES_MAX more at *n). Returns the
 * rows Binance sent, or -1 with src->rest_err set. */
static long
klines_page(struct mcp_call *call, const char *symbol, int64_t from_ms,
            int64_t to_ms, struct an_trade *out, size_t *n,
            struct ta_sources *src)
{
    struct tu_call tc;
    json_object *body;
    int64_t open_ms;
    size_t rows;

    tu_call_init(&tc, "GET", "/api/v3/klines", BNC_PUBLIC);
    bnc_params_add(&tc.params, "symbol", symbol);
    bnc_params_add(&tc.params, "interval", src->interval);
    bnc_params_add_int(&tc.params, "startTime", from_ms);
    bnc_params_add_int(&tc.params, "endTime", to_ms - 1);
    bnc_params_add_int(&tc.params, "limit", TA_KLINES_MAX);
    if ((body = tu_call_run(call, &tc)) == NULL ||
        !json_object_is_type(body, json_type_array)) {
        snprintf(src->rest_err, sizeof(src->rest_err), "%s",
                 body == NULL ? tc.err : "Binance's klines are not an array");
        tu_call_done(&tc);
        return -1;
    }
    rows = json_object_array_length(body);
    for (size_t i = 0; i < rows && i < TA_KLINES_MAX; i++) {
        struct an_trade t;
        if (kline_trade(json_object_array_get_idx(body, i), &t, &open_ms) < 0 ||
            t.time_ms >= to_ms)
            continue; /* not Binance's, or the stream has that part */
        if (src->klines == 0)
            src->rest_from_ms = open_ms;
        src->klines++;
        src->rest_to_ms = t.time_ms;
        if (!dec_is_zero(&t.qty))
            out[(*n)++] = t;
    }
    tu_call_done(&tc);
    return (long)rows;
}

/* The klines of (from_ms, to_ms) as pseudo-trades into out (room for
 * TA_KLINES_MAX x TA_KLINE_PAGES), in pages while a whole kline is
 * missing (Binance sends 1,000 a call; kline_interval makes one enough).
 * Returns the count, or -1 with src->rest_err set (when the first page failed;
 * a later failure keeps what came). */
static long
klines_fetch(struct mcp_call *call, const char *symbol, int64_t from_ms,
             int64_t to_ms, struct an_trade *out, struct ta_sources *src)
{
    int64_t len_ms, at = from_ms;
    size_t n = 0;

    snprintf(src->interval, sizeof(src->interval), "%s",
             kline_interval(to_ms - from_ms, &len_ms));
    src->rest_tried = 1;
    /* another page while a whole kline is still missing */
    for (int page = 0; page < TA_KLINE_PAGES && to_ms - at >= len_ms; page++) {
        size_t before = src->klines;
        long rows = klines_page(call, symbol, at, to_ms, out, &n, src);
        if (rows < 0 && page == 0)
            return -1;
        if (rows <= 0 || src->klines == before)
            break;
        at = src->rest_to_ms + 1;
    }
    src->rest_ok = 1;
    /* the klines reach the stream's start unless a whole one is missing */
    src->rest_complete = src->klines > 0 && to_ms - src->rest_to_ms <= len_ms &&
                         src->rest_from_ms <= from_ms + len_ms;
    return (long)n;
}

/* The volume profile of window_ms: the stream's trades, and before them
 * (when the stream does not cover the window) REST klines. Returns 0, or
 * -1 with a sentence in err. */
static int
profile_build(struct mcp_call *call, const char *symbol,
              const struct ta_data *d, int64_t window_ms,
              const struct dec *tick, struct an_profile *out,
              struct ta_sources *src, char *err, size_t errlen)
{
    struct an_input in = d->in;
    struct an_trade *all = NULL;
    int64_t from = in.now_ms - window_ms, stream_from = in.trades_since_ms;
    long nk = 0;
    size_t n = 0;
    int rc;

    memset(src, 0, sizeof(*src));
    if (stream_from == 0)
        stream_from = in.ntrades > 0 ? in.trades[0].time_ms : in.now_ms;
    src->stream_from_ms = stream_from;
    if (stream_from > from) {
        all = malloc((TA_KLINES_MAX * TA_KLINE_PAGES + in.ntrades + 1) *
                     sizeof(*all));
        if (all == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        nk = klines_fetch(call, symbol, from, stream_from, all, src);
        if (nk > 0 || (nk == 0 && src->rest_ok)) {
            n = (size_t)nk;
            for (size_t i = 0; i < in.ntrades; i++)
                if (n == 0 || in.trades[i].time_ms >= all[n - 1].time_ms)
                    all[n++] = in.trades[i];
            in.trades = all;
            in.ntrades = n;
            /* a hole in the klines: the coverage counts the stream only */
            in.trades_since_ms = src->rest_complete ? from + 1 : stream_from;
        }
    }
    for (size_t i = 0; i < d->in.ntrades; i++)
        src->stream_trades += d->in.trades[i].time_ms > from &&
                              d->in.trades[i].time_ms <= d->in.now_ms;
    rc = an_volume_profile(&in, window_ms, tick, out);
    free(all);
    if (rc < 0)
        snprintf(err, errlen,
                 "the volume profile could not be computed (a sum does not "
                 "fit, or the tick size is not usable)");
    return rc;
}

/* The sources of a profile: [{"source": "rest_klines", ...},
 * {"source": "stream", ...}]. A new array. */
static json_object *
sources_json(const struct ta_sources *s, const struct ta_data *d)
{
    json_object *a = json_object_new_array(), *o;

    if (s->rest_tried) {
        o = json_object_new_object();
        json_object_object_add(o, "source",
                               json_object_new_string("rest_klines"));
        json_object_object_add(o, "interval",
                               json_object_new_string(s->interval));
        json_object_object_add(o, "ok", json_object_new_boolean(s->rest_ok));
        json_object_object_add(o, "complete",
                               json_object_new_boolean(s->rest_complete));
        if (s->rest_ok) {
            json_object_object_add(o, "klines",
                                   json_object_new_int64((int64_t)s->klines));
            if (s->klines > 0) {
                json_object_object_add(o, "from_ms",
                                       json_object_new_int64(s->rest_from_ms));
                json_object_object_add(o, "to_ms",
                                       json_object_new_int64(s->rest_to_ms));
            }
            json_object_object_add(
                o, "note",
                json_object_new_string("GET /api/v3/klines: each kline's "
                                       "whole volume counted at its close "
                                       "price (an approximation of where "
                                       "it traded)"));
        } else {
            json_object_object_add(o, "error",
                                   json_object_new_string(s->rest_err));
        }
        json_object_array_add(a, o);
    }
    o = json_object_new_object();
    json_object_object_add(o, "source", json_object_new_string("stream"));
    json_object_object_add(o, "from_ms",
                           json_object_new_int64(s->stream_from_ms));
    json_object_object_add(o, "to_ms", json_object_new_int64(d->in.now_ms));
    json_object_object_add(o, "trades",
                           json_object_new_int64((int64_t)s->stream_trades));
    json_object_object_add(
        o, "note",
        json_object_new_string("aggTrades of the feed's stream, exact"));
    json_object_array_add(a, o);
    return a;
}

/* ---- the result ---- */

/* A sentence on a coverage: "N trades over X s of the Y s window". */
static int
md_coverage(struct dbuf *b, const char *what, const struct an_coverage *c)
{
    return dbuf_printf(
        b, "%s: %zu over %.0f s of the %.0f s window (%.0f %%)%s", what,
        c->count, (double)(c->to_ms - c->data_from_ms) / 1000.0,
        (double)c->window_ms / 1000.0, c->fraction * 100.0,
        c->fraction <= 0 ? ": no data, nothing measured" : "");
}

/* Sets res from o (taken; NULL is out of memory) and md (its text),
 * adding symbol and where the data came from. */
static int
finish(struct tool_result *res, json_object *o, const char *symbol,
       const struct ta_data *d, struct dbuf *md)
{
    if (o == NULL) {
        dbuf_free(md);
        return tool_fail(res, "out of memory");
    }
    json_object_object_add(o, "symbol", json_object_new_string(symbol));
    json_object_object_add(o, "live", json_object_new_boolean(d->live));
    if (d->why[0] != '\0')
        json_object_object_add(o, "data_note", json_object_new_string(d->why));
    res->data = o;
    res->text = strdup(dbuf_str(md));
    dbuf_free(md);
    return 0;
}

/* A text that opens with the data note when the data is not live. */
static void
md_open(struct dbuf *md, const struct ta_data *d)
{
    dbuf_init(md, TA_TEXT_MAX);
    if (d->why[0] != '\0')
        dbuf_printf(md, "> Data: %s.\n\n", d->why);
}

/* ---- the tools ---- */

static int
get_volume_profile(struct mcp_call *call, json_object *args,
                   struct tool_result *res)
{
    char sym[TU_SYMBOL_MAX], err[TOOL_ERR_MAX], a[DEC_STR_MAX], b[DEC_STR_MAX],
        c[DEC_STR_MAX];
    struct an_profile *p;
    struct ta_sources src;
    struct ta_data d;
    struct dec tick;
    struct dbuf md;
    json_object *o;
    int64_t h = 0;

    if (arg_symbol(args, sym, res) < 0 ||
        arg_int(args, "time_period_hours", 24, 1, 168, &h, res) < 0 ||
        arg_tick(args, sym, &tick, res) < 0)
        return -1;
    if ((p = malloc(sizeof(*p))) == NULL || data_load(call, sym, &d) < 0) {
        free(p);
        return tool_fail(res, "out of memory");
    }
    if (profile_build(call, sym, &d, h * 3600000, &tick, p, &src, err,
                      sizeof(err)) < 0) {
        data_free(&d);
        free(p);
        return tool_fail(res, "%s", err);
    }
    md_open(&md, &d);
    dbuf_printf(&md, "Volume profile of %s over %lld h: ", sym, (long long)h);
    if (p->has_poc)
        dbuf_printf(&md, "POC %s (%s), value area %s to %s. ",
                    dec_str(&p->bins[p->poc].low, a),
                    dec_str(&p->bins[p->poc].volume, b), dec_str(&p->val, c),
                    dec_str(&p->vah, a));
    else
        dbuf_puts(&md, "no trade in the window, nothing measured. ");
    md_coverage(&md, "Trades", &p->cov);
    dbuf_printf(&md, ". Sources: %s%zu stream trades since %lld ms.\n",
                !src.rest_tried     ? ""
                : !src.rest_ok      ? "REST back-fill failed, "
                : src.rest_complete ? "REST klines before the stream, then "
                                    : "REST klines with a hole before the "
                                      "stream (coverage counts the stream "
                                      "only), then ",
                src.stream_trades, (long long)src.stream_from_ms);
    o = an_profile_json(p);
    if (o != NULL)
        json_object_object_add(o, "sources", sources_json(&src, &d));
    data_free(&d);
    free(p);
    return finish(res, o, sym, &d, &md);
}

static int
get_liquidity_vacuums(struct mcp_call *call, json_object *args,
                      struct tool_result *res)
{
    char sym[TU_SYMBOL_MAX], err[TOOL_ERR_MAX] = "";
    struct an_profile *p;
    struct an_vacuums *vt = NULL, *vr = NULL;
    struct ta_sources src;
    struct ta_data d;
    struct dec tick;
    struct dbuf md;
    json_object *o;
    int64_t h = 0, pct = 0;
    double th;

    if (arg_symbol(args, sym, res) < 0 ||
        arg_int(args, "time_period_hours", 24, 1, 168, &h, res) < 0 ||
        arg_int(args, "threshold_percent", TA_DEFAULT_THRESHOLD_PCT, 1, 50,
                &pct, res) < 0 ||
        arg_tick(args, sym, &tick, res) < 0)
        return -1;
    th = (double)pct / 100.0;
    if ((p = malloc(sizeof(*p))) == NULL ||
        (vt = malloc(sizeof(*vt))) == NULL ||
        (vr = malloc(sizeof(*vr))) == NULL || data_load(call, sym, &d) < 0) {
        free(p);
        free(vt);
        free(vr);
        return tool_fail(res, "out of memory");
    }
    if (profile_build(call, sym, &d, h * 3600000, &tick, p, &src, err,
                      sizeof(err)) < 0 ||
        an_vacuums_traded(p, th, vt) < 0 ||
        an_vacuums_resting(&d.in, &tick, th, vr) < 0) {
        if (err[0] == '\0')
            snprintf(err, sizeof(err), "the vacuums could not be computed");
        data_free(&d);
        free(p);
        free(vt);
        free(vr);
        return tool_fail(res, "%s", err);
    }
    md_open(&md, &d);
    dbuf_printf(&md,
                "%s: %zu vacuum%s in traded volume over %lld h (bins under "
                "%lld %% of the median), %zu in the resting book. ",
                sym, vt->n, vt->n == 1 ? "" : "s", (long long)h, (long long)pct,
                vr->n);
    md_coverage(&md, "Trades", &vt->cov);
    dbuf_puts(&md, "; ");
    md_coverage(&md, "book samples", &vr->cov);
    dbuf_puts(&md, ".\n");
    o = json_object_new_object();
    if (o != NULL) {
        json_object_object_add(o, "threshold_percent",
                               json_object_new_int64(pct));
        json_object_object_add(o, "traded", an_vacuums_json(vt));
        json_object_object_add(o, "resting", an_vacuums_json(vr));
        json_object_object_add(o, "sources", sources_json(&src, &d));
    }
    data_free(&d);
    free(p);
    free(vt);
    free(vr);
    return finish(res, o, sym, &d, &md);
}

/* ---- the tools over the last seconds: one handler, a row's data ---- */

/* What a tool over the last seconds computes. */
enum ta_kind { TA_FLOW, TA_ANOMALIES, TA_HEALTH };

union ta_result {
    struct an_flow flow;
    struct an_anomalies anomalies;
    struct an_health health;
};

/* A tool over the last window seconds of the feed's data: what it
 * computes and its window argument; allowed, when set, is the
 * 0-terminated list of the windows the argument may take. */
struct ta_windowed {
    enum ta_kind kind;
    const char *arg;
    int64_t dflt, lo, hi;
    const int *allowed;
    const char *what;
};

static int
windowed_compute(enum ta_kind kind, const struct an_input *in, int window_s,
                 union ta_result *r)
{
    switch (kind) {
    case TA_FLOW:
        return an_order_flow(in, window_s, &r->flow);
    case TA_ANOMALIES:
        return an_anomalies(in, window_s, &r->anomalies);
    case TA_HEALTH:
        return an_health(in, window_s, &r->health);
    }
    return -1;
}

static json_object *
windowed_json(enum ta_kind kind, const union ta_result *r)
{
    switch (kind) {
    case TA_FLOW:
        return an_flow_json(&r->flow);
    case TA_ANOMALIES:
        return an_anomalies_json(&r->anomalies);
    case TA_HEALTH:
        return an_health_json(&r->health);
    }
    return NULL;
}

static const char *
finding_word(const struct an_finding *f)
{
    return !f->evaluated ? "not evaluated" : f->detected ? "detected" : "no";
}

/* The anomalies in a sentence, with their coverage. */
static int
anomalies_md(struct dbuf *b, const char *symbol, int64_t window_s,
             const struct an_anomalies *a)
{
    int n = a->stuffing.f.detected + (int)a->icebergs.n + a->flash.f.detected;
    int rc;

    rc = dbuf_printf(b,
                     "%s over %lld s: %d anomal%s (quote stuffing %s, "
                     "icebergs %zu, flash-crash risk %s). ",
                     symbol, (long long)window_s, n, n == 1 ? "y" : "ies",
                     finding_word(&a->stuffing.f), a->icebergs.n,
                     finding_word(&a->flash.f));
    rc |= md_coverage(b, "Trades", &a->trades_cov);
    rc |= dbuf_puts(b, "; ");
    rc |= md_coverage(b, "book samples", &a->books_cov);
    rc |= dbuf_puts(b, ".\n");
    return rc != 0 ? -1 : 0;
}

static int
windowed_md(enum ta_kind kind, struct dbuf *b, const char *symbol,
            int64_t window_s, const union ta_result *r)
{
    switch (kind) {
    case TA_FLOW:
        return an_md_orderflow(b, symbol, &r->flow);
    case TA_ANOMALIES:
        return anomalies_md(b, symbol, window_s, &r->anomalies);
    case TA_HEALTH:
        return an_md_health(b, symbol, &r->health);
    }
    return -1;
}

static const int flow_windows[] = {10, 30, 60, 300, 0};

static const struct ta_windowed order_flow_spec = {
    TA_FLOW, "time_window_secs", 60, 10, 300, flow_windows, "the order flow"};
static const struct ta_windowed anomalies_spec = {
    TA_ANOMALIES, "lookback_seconds", 60, 10, 300, NULL, "the anomalies"};
static const struct ta_windowed health_spec = {
    TA_HEALTH, "window_secs",     300, 10, MARKET_SAMPLES,
    NULL,      "the health score"};

/* The handler of the rows whose data is a struct ta_windowed. */
static int
windowed_tool(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    const struct ta_windowed *spec = call->tool_data;
    char sym[TU_SYMBOL_MAX];
    struct ta_data d;
    struct dbuf md;
    int64_t w = 0;
    union ta_result *r;
    int ok = spec->allowed == NULL, rc;

    if (arg_symbol(args, sym, res) < 0 ||
        arg_int(args, spec->arg, spec->dflt, spec->lo, spec->hi, &w, res) < 0)
        return -1;
    for (const int *a = spec->allowed; a != NULL && *a != 0; a++)
        ok |= *a == w;
    if (!ok) {
        char list[64] = "";
        for (const int *a = spec->allowed; *a != 0; a++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d",
                     a == spec->allowed ? "" : ", ", *a);
        return tool_fail(res, "%s must be one of %s.", spec->arg, list);
    }
    if ((r = calloc(1, sizeof(union ta_result))) == NULL ||
        data_load(call, sym, &d) < 0) {
        free(r);
        return tool_fail(res, "out of memory");
    }
    if (windowed_compute(spec->kind, &d.in, (int)w, r) < 0) {
        data_free(&d);
        free(r);
        return tool_fail(res,
                         "%s could not be computed (out of memory, or an "
                         "exact sum does not fit)",
                         spec->what);
    }
    md_open(&md, &d);
    windowed_md(spec->kind, &md, sym, w, r);
    data_free(&d);
    rc = finish(res, windowed_json(spec->kind, r), sym, &d, &md);
    free(r);
    return rc;
}

/* ---- the prompts' data ---- */

/* Opens a prompt's data: loads it and says where it comes from. */
static int
prompt_load(struct mcp_call *call, const char *symbol, struct ta_data *d,
            struct dbuf *md, char *err, size_t errlen)
{
    if (data_load(call, symbol, d) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (d->why[0] != '\0')
        dbuf_printf(md, "> Data: %s.\n\n", d->why);
    return 0;
}

static int
prompt_end(int rc, struct ta_data *d, char *err, size_t errlen)
{
    data_free(d);
    if (rc < 0 && err[0] == '\0')
        snprintf(err, errlen, "the prompt text is too long");
    return rc < 0 ? -1 : 0;
}

/* A prompt over the last window_s seconds: spec's function and text. */
static int
prompt_windowed(struct mcp_call *call, const char *symbol,
                const struct ta_windowed *spec, int window_s, struct dbuf *md,
                char *err, size_t errlen)
{
    struct ta_data d;
    union ta_result *r = calloc(1, sizeof(*r));
    int rc;

    err[0] = '\0';
    if (r == NULL || prompt_load(call, symbol, &d, md, err, errlen) < 0) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = windowed_compute(spec->kind, &d.in, window_s, r);
    if (rc == 0)
        rc = windowed_md(spec->kind, md, symbol, window_s, r);
    else
        snprintf(err, errlen, "%s could not be computed", spec->what);
    free(r);
    return prompt_end(rc, &d, err, errlen);
}

int
ta_prompt_orderflow(struct mcp_call *call, const char *symbol, int window_s,
                    struct dbuf *md, char *err, size_t errlen)
{
    return prompt_windowed(call, symbol, &order_flow_spec, window_s, md, err,
                           errlen);
}

int
ta_prompt_health(struct mcp_call *call, const char *symbol, struct dbuf *md,
                 char *err, size_t errlen)
{
    return prompt_windowed(call, symbol, &health_spec, 300, md, err, errlen);
}

/* The advanced analysis's results, together (the profile is large). */
struct ta_advanced {
    struct an_flow f;
    struct an_profile p;
    struct an_health h;
    struct an_anomalies a;
    struct ta_sources src;
};

int
ta_prompt_advanced(struct mcp_call *call, const char *symbol,
                   const struct an_depth_windows *w, struct dbuf *md, char *err,
                   size_t errlen)
{
    struct ta_advanced *x = malloc(sizeof(*x));
    struct ta_data d;
    struct dec tick;
    char why[TOOL_ERR_MAX];
    int rc;

    err[0] = '\0';
    if (x == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (prompt_load(call, symbol, &d, md, err, errlen) < 0) {
        free(x);
        return -1;
    }
    /* the original used a fixed 0.01; the symbol's own tick when known */
    if (tick_lookup(symbol, &tick, why, sizeof(why)) < 0)
        dec_parse("0.01", &tick);
    rc = an_order_flow(&d.in, w->flow_s, &x->f) < 0 ||
                 an_health(&d.in, w->health_s, &x->h) < 0 ||
                 an_anomalies(&d.in, w->anomalies_s, &x->a) < 0
             ? -1
             : 0;
    if (rc < 0)
        snprintf(err, errlen, "the analyses could not be computed");
    if (rc == 0)
        rc = profile_build(call, symbol, &d, (int64_t)w->profile_h * 3600000,
                           &tick, &x->p, &x->src, err, errlen);
    if (rc == 0 && x->src.rest_tried)
        dbuf_printf(md,
                    "> Volume profile: %s before the stream (%zu %s klines, "
                    "each counted at its close), then %zu stream trades.\n\n",
                    x->src.rest_ok ? "REST klines" : "REST failed",
                    x->src.klines, x->src.interval, x->src.stream_trades);
    if (rc == 0)
        rc = an_md_advanced(md, symbol, w, &x->f, &x->p, &x->h, &x->a);
    free(x);
    return prompt_end(rc, &d, err, errlen);
}

/* ---- the rows ---- */

/* clang-format off */
#define IN_HOURS                                                             \
    TU_IN_INT("time_period_hours", 1, 168, "Hours of trades to profile "    \
              "(default 24). The part before the live stream comes from "   \
              "REST klines.")
#define IN_TICK                                                              \
    TU_F("tick_size", "{\"type\":\"string\",\"pattern\":"                    \
                      "\"^[0-9]{1,20}([.][0-9]{1,20})?$\",\"description\":" \
                      "\"The price grid, a decimal string such as "         \
                      "\\\"0.01\\\" (default: the symbol's PRICE_FILTER "   \
                      "tickSize).\"}")
#define OUT_COVERAGE                                                         \
    TU_OBJ(TU_F("window_s", TU_NUM) "," TU_F("fraction", TU_NUM) ","         \
           TU_F("count", TU_INT) "," TU_F("complete", TU_BOOL))
/* The coverage of a result that reads trades and book samples. */
#define OUT_COVERAGE_BOTH                                                    \
    TU_F("coverage", TU_OBJ(TU_F("trades", OUT_COVERAGE) ","                 \
                            TU_F("books", OUT_COVERAGE)))
/* A tool over the last seconds: symbol and a window argument in, the
 * common fields and window_s out. */
#define IN_WINDOWED(arg, lo, hi, desc)                                       \
    TU_IN(TU_IN_SYMBOL "," TU_IN_INT(arg, lo, hi, desc), "\"symbol\"")
#define OUT_WINDOWED(props)                                                  \
    TU_OBJ(OUT_COMMON "," TU_F("window_s", TU_INT) "," props)
#define OUT_COMMON                                                           \
    TU_F("symbol", TU_STR) "," TU_F("live", TU_BOOL) ","                     \
    TU_F("data_note", TU_STR)
#define DATA_NOTE                                                            \
    " Every result says how much data it rests on (coverage: the part of "  \
    "the window the data covers, and how many trades or samples); with "    \
    "none the figures are null or UNKNOWN, never made up. The first call "  \
    "for a symbol asks the feed to track it; data_note says "              \
    "why data is missing (feed off or down, just asked)."

const struct tool_def tools_analytics[] = {
    {"get_order_flow", "Order flow",
     "Taker buy and sell volume of one trading pair over the last 10, 30, "
     "60 or 300 s of the feed's aggTrade stream: net flow, buy/sell ratio, "
     "direction (STRONG_BUY > 2.0, MODERATE_BUY 1.2-2.0, NEUTRAL, "
     "MODERATE_SELL 0.5-0.8, STRONG_SELL < 0.5), trade counts and the "
     "cumulative delta since the stream started. Volumes are exact "
     "decimals." DATA_NOTE,
     TU_IN(TU_IN_SYMBOL ","
           TU_F("time_window_secs",
                "{\"type\":\"integer\",\"enum\":[10,30,60,300],"
                "\"description\":\"Seconds of trades (default 60).\"}"),
           "\"symbol\""),
     OUT_WINDOWED(TU_F("direction", TU_STR) "," TU_F("buy_volume", TU_STR) ","
            TU_F("sell_volume", TU_STR) "," TU_F("net_flow", TU_STR) ","
            TU_F("coverage", OUT_COVERAGE)),
     TA_FLAGS, windowed_tool, &order_flow_spec},
    {"get_volume_profile", "Volume profile",
     "Traded volume of one pair binned by price over 1 to 168 hours: bin = "
     "max(tick x 10, range / 100), the point of control (POC, the bin with "
     "most volume) and the value area (VAL to VAH, 70 % of the volume). "
     "The feed's aggTrades are exact; the part of the window before the "
     "stream started is filled from GET /api/v3/klines (1 m, 5 m or 15 m "
     "klines, each kline's volume at its close price), and sources says "
     "which part came from where." DATA_NOTE,
     TU_IN(TU_IN_SYMBOL "," IN_HOURS "," IN_TICK, "\"symbol\""),
     TU_OBJ(OUT_COMMON "," TU_F("total_volume", TU_STR) ","
            TU_F("bins", TU_ARR(TU_OBJ(TU_F("low", TU_STR) ","
                                       TU_F("volume", TU_STR)))) ","
            TU_F("sources", TU_ARR(TU_OBJ(TU_F("source", TU_STR)))) ","
            TU_F("coverage", OUT_COVERAGE)),
     TA_FLAGS, get_volume_profile, NULL},
    {"detect_market_anomalies", "Market anomalies",
     "Three checks over the last 10 to 300 s of one pair's stream and "
     "one-second book samples: quote stuffing (over 500 level updates/s "
     "with under 10 % matched by fills), iceberg orders (a level refilled "
     "over 5 x the median), flash-crash risk (two of: depth under 20 % of "
     "its median, spread over 10 x its median, over 90 % of the quantity "
     "leaving the book in 5 s cancelled rather than traded). Each finding "
     "has a confidence and severity; checks shows every measure, detected "
     "or not." DATA_NOTE,
     IN_WINDOWED("lookback_seconds", 10, 300, "Seconds to examine (default "
                 "60)."),
     OUT_WINDOWED(TU_F("anomalies", TU_ARR(TU_OBJ(TU_F("type", TU_STR)))) ","
            TU_F("checks", TU_OBJ(TU_F("quote_stuffing", TU_OBJ("")))) ","
            OUT_COVERAGE_BOTH),
     TA_FLAGS, windowed_tool, &anomalies_spec},
    {"get_liquidity_vacuums", "Liquidity vacuums",
     "Price ranges of one pair with little liquidity: in traded volume "
     "(the volume profile's bins under threshold_percent of the median "
     "bin, default 20 %, adjacent bins merged) and in the resting book "
     "(the latest one-second sample's levels, in bins of tick x 10 from "
     "the best price). Each range has its deficit and impact "
     "(FAST_MOVEMENT > 80 %, MODERATE > 50 %, NEGLIGIBLE). The traded part "
     "fills what the stream has not covered from REST klines, as "
     "get_volume_profile." DATA_NOTE,
     TU_IN(TU_IN_SYMBOL "," IN_HOURS "," IN_TICK ","
           TU_IN_INT("threshold_percent", 1, 50, "A bin under this share "
                     "of the median is a vacuum (default 20)."),
           "\"symbol\""),
     TU_OBJ(OUT_COMMON "," TU_F("threshold_percent", TU_INT) ","
            TU_F("traded", TU_OBJ(TU_F("coverage", OUT_COVERAGE))) ","
            TU_F("resting", TU_OBJ(TU_F("coverage", OUT_COVERAGE))) ","
            TU_F("sources", TU_ARR(TU_OBJ(TU_F("source", TU_STR))))),
     TA_FLAGS, get_liquidity_vacuums, NULL},
    {"get_microstructure_health", "Microstructure health",
     "A 0-100 health score of one pair's market over the last window_secs "
     "(default 300): spread stability 25 %, depth against its median "
     "35 %, taker flow balance 25 %, update rate (neither frozen nor over "
     "500 level updates/s) 15 %; bands EXCELLENT >= 80, GOOD >= 60, FAIR "
     ">= 40, POOR >= 20, CRITICAL. Components without data are left out "
     "and the weights renormalised (weight_measured)." DATA_NOTE,
     IN_WINDOWED("window_secs", 10, 600, "Seconds to score (default 300)."),
     OUT_WINDOWED(TU_F("band", TU_STR) "," TU_F("weight_measured", TU_NUM) ","
            TU_F("components", TU_OBJ(TU_F("depth", TU_OBJ("")))) ","
            OUT_COVERAGE_BOTH),
     TA_FLAGS, windowed_tool, &health_spec},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
