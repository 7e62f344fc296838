/*
 * tools_orderbook.c - the original's three order-book tools
 * (get_orderbook_metrics, get_orderbook_depth, get_orderbook_health).
 *
 * Like the original, the tools answer from a local book that follows
 * Binance's WebSocket depth stream: in the daemon (--mode sse) the feed
 * process keeps one per tracked symbol in the market segment (market.h,
 * reached through the server's struct binance_ctx). Every call asks the
 * feed to track its symbol (market_request), then reads the slot; the
 * answer is live when the slot holds that symbol, its status is live and
 * the feed's heartbeat is fresh (LIVE_FRESH_MS). Otherwise - no feed
 * (feed = off), the feed down or restarting, the book not synced
 * yet (the first call for a symbol) - metrics and depth come from a REST
 * snapshot (GET /api/v3/depth, limit 100, weight 5) taken at call time,
 * and the result says so: source "rest_snapshot", websocket_connected
 * false, fallback_reason. Health reports on the feed's books when the feed
 * runs, else on a small process-wide table of the symbols fetched by REST
 * (when each was last fetched and whether its latest fetch failed; in the
 * prefork daemon each worker has its own table).
 *
 * The analytics are estimates and use double arithmetic; prices and
 * quantities the original returns as strings are Binance's own strings.
 * Depth's scaled integers are computed from the decimal strings exactly.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livemarket.h"
#include "market.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "tools_schema.h"
#include "util.h"

#define BOOK_FLAGS   (TOOL_READ_ONLY | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD)
#define BOOK_LIMIT   "100" /* levels per side fetched: weight 5 */
#define BOOK_MAX     100   /* levels per side read from the answer */
#define TOP_LEVELS   20    /* levels per side for volumes and walls */
#define WALL_FACTOR  2.0   /* a wall: qty > WALL_FACTOR * median qty */
#define PRICE_SCALE  100
#define PRICE_DIGITS 2
#define QTY_SCALE    100000
#define QTY_DIGITS   5
#define TRACK_MAX    32 /* symbols the health table remembers */
#define WHY_MAX      (LIVE_WHY_MAX + 32)

static const char rest_reason[] =
    "binmcpd read these order books by REST snapshot on each call; there is "
    "no streaming connection";

/* ---- the health table ---- */

struct tracked {
    char symbol[TU_SYMBOL_MAX];
    int64_t last_ok_ms;     /* wall clock of the last successful fetch */
    int64_t last_try_ms;    /* wall clock of the last fetch, either way */
    int failed;             /* the last fetch failed */
    char why[TOOL_ERR_MAX]; /* why, when failed */
};

static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tracked track[TRACK_MAX];
static size_t n_track;

/* Records the outcome of a snapshot fetch for sym. A symbol enters the
 * table only with a successful fetch, so a mistyped symbol never makes the
 * health degraded; a failure marks a symbol already there. When the table
 * is full the symbol fetched longest ago makes room. why may be NULL on
 * success. */
static void
track_record(const char *sym, int ok, const char *why)
{
    int64_t now = now_ms();
    struct tracked *t = NULL;

    pthread_mutex_lock(&track_lock);
    for (size_t i = 0; i < n_track && t == NULL; i++)
        if (strcmp(track[i].symbol, sym) == 0)
            t = &track[i];
    if (t == NULL && ok) {
        if (n_track < TRACK_MAX) {
            t = &track[n_track++];
        } else {
            t = &track[0];
            for (size_t i = 1; i < n_track; i++)
                if (track[i].last_try_ms < t->last_try_ms)
                    t = &track[i];
        }
        memset(t, 0, sizeof(*t));
        snprintf(t->symbol, sizeof(t->symbol), "%s", sym);
    }
    if (t != NULL) {
        t->last_try_ms = now;
        t->failed = !ok;
        if (ok) {
            t->last_ok_ms = now;
            t->why[0] = '\0';
        } else {
            snprintf(t->why, sizeof(t->why), "%s", why != NULL ? why : "");
        }
    }
    pthread_mutex_unlock(&track_lock);
}

/* ---- the book ---- */

struct level {
    const char *price_s; /* borrowed from the snapshot's body */
    const char *qty_s;
    double price;
    double qty;
};

/* Where a book came from, as the result tells it. */
struct book_source {
    int live;             /* 1: the feed's local book; 0: REST snapshot */
    int64_t age_ms;       /* live: since the book last changed */
    double updates_per_s; /* live: diff events applied, last 10 s */
    uint32_t resyncs;     /* live: gaps that needed a new snapshot */
    char why[WHY_MAX];    /* REST: why not live */
};

struct book {
    char symbol[TU_SYMBOL_MAX];
    int64_t timestamp; /* ms, when the snapshot was taken or read */
    struct level bids[BOOK_MAX];
    struct level asks[BOOK_MAX];
    size_t n_bids, n_asks;
    struct book_source src;
    /* a live book's decimal text, which the levels borrow */
    char text[2][BOOK_MAX][2][DEC_STR_MAX];
};

/* Reads one side ([["price","qty"], ...]) into lv. Returns the number of
 * levels, or -1 when the side is not that shape. */
static int
read_side(json_object *body, const char *key, struct level *lv)
{
    json_object *side;
    size_t n;

    if (!json_object_object_get_ex(body, key, &side) ||
        !json_object_is_type(side, json_type_array))
        return -1;
    n = json_object_array_length(side);
    if (n > BOOK_MAX)
        n = BOOK_MAX;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(side, i);
        json_object *p = json_object_array_get_idx(e, 0);
        json_object *q = json_object_array_get_idx(e, 1);
        char *end;

        if (!json_object_is_type(e, json_type_array) ||
            !json_object_is_type(p, json_type_string) ||
            !json_object_is_type(q, json_type_string))
            return -1;
        lv[i].price_s = json_object_get_string(p);
        lv[i].qty_s = json_object_get_string(q);
        lv[i].price = strtod(lv[i].price_s, &end);
        if (*end != '\0')
            return -1;
        lv[i].qty = strtod(lv[i].qty_s, &end);
        if (*end != '\0')
            return -1;
    }
    return (int)n;
}

/* ---- the live book ---- */

/* Copies one side of a live state into lv, with its text in text. */
static size_t
live_side(const struct market_level *src, uint32_t n, struct level *lv,
          char (*text)[2][DEC_STR_MAX])
{
    size_t k = n < BOOK_MAX ? n : BOOK_MAX;

    for (size_t i = 0; i < k; i++) {
        lv[i].price_s = market_format(src[i].price, text[i][0]);
        lv[i].qty_s = market_format(src[i].qty, text[i][1]);
        lv[i].price = (double)src[i].price / MARKET_UNIT;
        lv[i].qty = (double)src[i].qty / MARKET_UNIT;
    }
    return k;
}

/* Fills bk from the feed's live book of bk->symbol (livemarket.h) when
 * there is one. Returns 1 when it did, 0 (with the reason in bk->src.why)
 * when the caller must take a REST snapshot. */
static int
book_live(struct mcp_call *call, struct book *bk)
{
    struct market_state *st = malloc(sizeof(*st));
    char why[LIVE_WHY_MAX];
    int ok = 0;

    if (st == NULL)
        snprintf(why, sizeof(why), "out of memory for the live book");
    else if ((ok = live_read(call, bk->symbol, st, why, sizeof(why)))) {
        int64_t now = now_ms();
        bk->n_bids = live_side(st->bids, st->nbids, bk->bids, bk->text[0]);
        bk->n_asks = live_side(st->asks, st->nasks, bk->asks, bk->text[1]);
        bk->timestamp = now;
        bk->src.live = 1;
        bk->src.age_ms = now - st->book_updated_ms;
        bk->src.updates_per_s = st->updates_per_s;
        bk->src.resyncs = st->resyncs;
    }
    if (!ok)
        snprintf(bk->src.why, sizeof(bk->src.why),
                 "%s: answered from a REST snapshot", why);
    free(st);
    return ok;
}

/* Adds where bk came from to o (the fields SOURCE_FIELDS names). */
static void
add_source(json_object *o, const struct book_source *src)
{
    json_object_object_add(
        o, "source",
        json_object_new_string(src->live ? "live" : "rest_snapshot"));
    json_object_object_add(o, "websocket_connected",
                           json_object_new_boolean(src->live));
    if (!src->live) {
        json_object_object_add(o, "fallback_reason",
                               json_object_new_string(src->why));
        return;
    }
    json_object_object_add(
        o, "book_age_ms",
        json_object_new_int64(src->age_ms < 0 ? 0 : src->age_ms));
    json_object_object_add(o, "update_rate_per_s",
                           json_object_new_double(src->updates_per_s));
    json_object_object_add(o, "resync_count",
                           json_object_new_int64((int64_t)src->resyncs));
}

/* ---- the snapshot ---- */

/* Reads args' symbol into bk: from the live book when it is there, else
 * from a REST snapshot with tc (the caller runs tu_call_done, since bk
 * borrows strings from tc's body), recording the outcome in the health
 * table. Returns 0, or -1 after tool_fail. */
static int
book_fetch(struct mcp_call *call, json_object *args, struct tu_call *tc,
           struct book *bk, struct tool_result *res)
{
    json_object *body;
    int nb, na;

    memset(bk, 0, sizeof(*bk));
    tu_call_init(tc, "GET", "/api/v3/depth", BNC_PUBLIC);
    if (tu_symbol_norm(tu_arg_str(args, "symbol"), bk->symbol,
                       sizeof(bk->symbol)) < 0)
        return tool_fail(res, "symbol must be a trading pair such as BTCUSDT "
                              "(1 to 20 letters and digits).");
    if (book_live(call, bk))
        return 0;
    bnc_params_add(&tc->params, "symbol", bk->symbol);
    bnc_params_add(&tc->params, "limit", BOOK_LIMIT);
    body = tu_call_run(call, tc);
    bk->timestamp = now_ms();
    if (body == NULL) {
        if (tc->resp.status != BNC_ERR_CANCELLED)
            track_record(bk->symbol, 0, tc->err);
        return tool_fail(res, "%s", tc->err);
    }
    nb = read_side(body, "bids", bk->bids);
    na = read_side(body, "asks", bk->asks);
    if (nb < 0 || na < 0) {
        track_record(bk->symbol, 0, "the order book answer was malformed");
        return tool_fail(res,
                         "Binance's order book for %s is not the "
                         "[[price, qty], ...] lists expected.",
                         bk->symbol);
    }
    bk->n_bids = (size_t)nb;
    bk->n_asks = (size_t)na;
    track_record(bk->symbol, 1, NULL);
    return 0;
}

/* ---- get_orderbook_metrics ---- */

static double
side_volume(const struct level *lv, size_t n)
{
    double v = 0;

    for (size_t i = 0; i < n && i < TOP_LEVELS; i++)
        v += lv[i].qty;
    return v;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median quantity of the top TOP_LEVELS levels of both sides (the mean
 * of the two middle values for an even count); 0 when both are empty. */
static double
top_median_qty(const struct book *bk)
{
    double q[2 * TOP_LEVELS];
    size_t n = 0;

    for (size_t i = 0; i < bk->n_bids && i < TOP_LEVELS; i++)
        q[n++] = bk->bids[i].qty;
    for (size_t i = 0; i < bk->n_asks && i < TOP_LEVELS; i++)
        q[n++] = bk->asks[i].qty;
    if (n == 0)
        return 0;
    qsort(q, n, sizeof(q[0]), cmp_double);
    return n % 2 ? q[n / 2] : (q[n / 2 - 1] + q[n / 2]) / 2;
}

/* The walls of one side among its top levels, as a new array. */
static json_object *
side_walls(const struct level *lv, size_t n, double threshold, const char *side)
{
    json_object *arr = json_object_new_array();

    for (size_t i = 0; arr != NULL && i < n && i < TOP_LEVELS; i++) {
        json_object *w;
        if (!(lv[i].qty > threshold))
            continue;
        w = json_object_new_object();
        json_object_object_add(w, "price",
                               json_object_new_string(lv[i].price_s));
        json_object_object_add(w, "qty", json_object_new_string(lv[i].qty_s));
        json_object_object_add(w, "side", json_object_new_string(side));
        json_object_array_add(arr, w);
    }
    return arr;
}

/* Walks a whole side until target_usd of notional is filled (or the side
 * runs out) and returns {target_usd, avg_price, slippage_bps, filled_qty,
 * filled_usd} as a new object, or a JSON null (NULL) when nothing could be
 * filled. */
static json_object *
slippage(const struct level *lv, size_t n, double target_usd)
{
    double filled_qty = 0, filled_usd = 0, avg, best;
    json_object *o;

    for (size_t i = 0; i < n && filled_usd < target_usd; i++) {
        double notional = lv[i].price * lv[i].qty;
        if (lv[i].price <= 0 || lv[i].qty <= 0)
            continue;
        if (filled_usd + notional >= target_usd) {
            filled_qty += (target_usd - filled_usd) / lv[i].price;
            filled_usd = target_usd;
        } else {
            filled_qty += lv[i].qty;
            filled_usd += notional;
        }
    }
    if (n == 0 || filled_qty <= 0)
        return NULL;
    best = lv[0].price;
    avg = filled_usd / filled_qty;
    o = json_object_new_object();
    if (o == NULL)
        return NULL;
    json_object_object_add(o, "target_usd", json_object_new_double(target_usd));
    json_object_object_add(o, "avg_price", json_object_new_double(avg));
    json_object_object_add(
        o, "slippage_bps",
        json_object_new_double(
            best > 0 ? (avg > best ? avg - best : best - avg) / best * 1e4
                     : 0));
    json_object_object_add(o, "filled_qty", json_object_new_double(filled_qty));
    json_object_object_add(o, "filled_usd", json_object_new_double(filled_usd));
    return o;
}

/* The metrics object of a non-empty book; NULL when memory runs out. */
static json_object *
metrics_result(const struct book *bk)
{
    static const struct {
        const char *key;
        int buy;
        double usd;
    } targets[] = {
        {"buy_10k_usd", 1, 10000},  {"buy_25k_usd", 1, 25000},
        {"buy_50k_usd", 1, 50000},  {"sell_10k_usd", 0, 10000},
        {"sell_25k_usd", 0, 25000}, {"sell_50k_usd", 0, 50000},
    };
    double bid = bk->bids[0].price, ask = bk->asks[0].price;
    double bid_vol = side_volume(bk->bids, bk->n_bids);
    double ask_vol = side_volume(bk->asks, bk->n_asks);
    double total = bid_vol + ask_vol;
    double threshold = WALL_FACTOR * top_median_qty(bk);
    json_object *o = json_object_new_object();
    json_object *walls = json_object_new_object();
    json_object *slip = json_object_new_object();

    if (o == NULL || walls == NULL || slip == NULL) {
        json_object_put(o);
        json_object_put(walls);
        json_object_put(slip);
        return NULL;
    }
    json_object_object_add(walls, "bids",
                           side_walls(bk->bids, bk->n_bids, threshold, "Bid"));
    json_object_object_add(walls, "asks",
                           side_walls(bk->asks, bk->n_asks, threshold, "Ask"));
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        json_object_object_add(
            slip, targets[i].key,
            targets[i].buy ? slippage(bk->asks, bk->n_asks, targets[i].usd)
                           : slippage(bk->bids, bk->n_bids, targets[i].usd));
    json_object_object_add(o, "symbol", json_object_new_string(bk->symbol));
    json_object_object_add(o, "timestamp",
                           json_object_new_int64(bk->timestamp));
    json_object_object_add(
        o, "spread_bps",
        json_object_new_double(bid > 0 ? (ask - bid) / bid * 1e4 : 0));
    json_object_object_add(
        o, "microprice",
        json_object_new_double(total > 0
                                   ? (bid * ask_vol + ask * bid_vol) / total
                                   : (bid + ask) / 2));
    json_object_object_add(o, "bid_volume", json_object_new_double(bid_vol));
    json_object_object_add(o, "ask_volume", json_object_new_double(ask_vol));
    json_object_object_add(
        o, "imbalance_ratio",
        json_object_new_double(ask_vol > 0 ? bid_vol / ask_vol : 0));
    json_object_object_add(o, "best_bid",
                           json_object_new_string(bk->bids[0].price_s));
    json_object_object_add(o, "best_ask",
                           json_object_new_string(bk->asks[0].price_s));
    json_object_object_add(o, "walls", walls);
    json_object_object_add(o, "slippage_estimates", slip);
    add_source(o, &bk->src);
    return o;
}

static int
get_orderbook_metrics(struct mcp_call *call, json_object *args,
                      struct tool_result *res)
{
    struct tu_call tc;
    struct book *bk = malloc(sizeof(*bk));
    int rc = -1;

    if (bk == NULL)
        return tool_fail(res, "out of memory");
    if (book_fetch(call, args, &tc, bk, res) < 0)
        goto done;
    if (bk->n_bids == 0 || bk->n_asks == 0 || bk->bids[0].price <= 0 ||
        bk->asks[0].price <= 0) {
        tool_fail(res,
                  "Failed to calculate metrics for %s. Order book may be "
                  "empty or invalid.",
                  bk->symbol);
        goto done;
    }
    res->data = metrics_result(bk);
    rc = res->data != NULL ? 0 : tool_fail(res, "out of memory");
done:
    tu_call_done(&tc);
    free(bk);
    return rc;
}

/* ---- get_orderbook_depth ---- */

/* *out = the decimal s times 10^digits, truncated toward zero, exactly.
 * Returns 0, or -1 when s is not a plain decimal or the value overflows. */
static int
dec_scaled(const char *s, int digits, int64_t *out)
{
    int64_t v = 0;
    int neg = 0, frac = -1, any = 0;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; *s != '\0'; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            return -1;
        any = 1;
        if (frac >= digits)
            continue; /* truncated */
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
        if (frac >= 0)
            frac++;
    }
    if (!any)
        return -1;
    for (int i = frac < 0 ? 0 : frac; i < digits; i++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

/* The first levels of one side as [[price*100, qty*100000], ...]; levels
 * whose scaled price or qty is not positive (or unreadable) are left out. */
static json_object *
scaled_side(const struct level *lv, size_t n, int64_t levels)
{
    json_object *arr = json_object_new_array();

    for (size_t i = 0; arr != NULL && i < n && (int64_t)i < levels; i++) {
        int64_t p, q;
        json_object *pair;
        if (dec_scaled(lv[i].price_s, PRICE_DIGITS, &p) < 0 ||
            dec_scaled(lv[i].qty_s, QTY_DIGITS, &q) < 0 || p <= 0 || q <= 0)
            continue;
        pair = json_object_new_array();
        json_object_array_add(pair, json_object_new_int64(p));
        json_object_array_add(pair, json_object_new_int64(q));
        json_object_array_add(arr, pair);
    }
    return arr;
}

static int
get_orderbook_depth(struct mcp_call *call, json_object *args,
                    struct tool_result *res)
{
    struct tu_call tc;
    struct book *bk = malloc(sizeof(*bk));
    int64_t levels = TOP_LEVELS;
    json_object *o;
    int rc = -1;

    if (bk == NULL)
        return tool_fail(res, "out of memory");
    tu_arg_int(args, "levels", &levels);
    if (book_fetch(call, args, &tc, bk, res) < 0)
        goto done;
    o = json_object_new_object();
    if (o == NULL) {
        tool_fail(res, "out of memory");
        goto done;
    }
    json_object_object_add(o, "symbol", json_object_new_string(bk->symbol));
    json_object_object_add(o, "timestamp",
                           json_object_new_int64(bk->timestamp));
    json_object_object_add(o, "price_scale", json_object_new_int(PRICE_SCALE));
    json_object_object_add(o, "qty_scale", json_object_new_int(QTY_SCALE));
    json_object_object_add(o, "bids",
                           scaled_side(bk->bids, bk->n_bids, levels));
    json_object_object_add(o, "asks",
                           scaled_side(bk->asks, bk->n_asks, levels));
    add_source(o, &bk->src);
    res->data = o;
    rc = 0;
done:
    tu_call_done(&tc);
    free(bk);
    return rc;
}

/* ---- get_orderbook_health ---- */

/* The health object's common fields into a new object (NULL: no memory). */
static json_object *
health_object(const char *status, int64_t active, int64_t age_ms, int ws,
              int64_t now, const char *reason, const char *source)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "orderbook_symbols_active",
                           json_object_new_int64(active));
    json_object_object_add(o, "last_update_age_ms",
                           json_object_new_int64(age_ms < 0 ? 0 : age_ms));
    json_object_object_add(o, "websocket_connected",
                           json_object_new_boolean(ws));
    json_object_object_add(o, "timestamp", json_object_new_int64(now));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "source", json_object_new_string(source));
    return o;
}

/* Health from the feed's books: ok when its connection is up and every
 * tracked book is live, degraded otherwise. NULL when memory runs out. */
static json_object *
health_live(const struct market *m, int64_t now)
{
    struct market_feed_info fi;
    struct market_state *st = malloc(sizeof(*st));
    unsigned tracked = 0, live = 0;
    uint64_t resyncs = 0;
    int64_t max_age = 0;
    char reason[2 * WHY_MAX];
    json_object *o;

    if (st == NULL)
        return NULL;
    market_feed_info(m, &fi);
    for (unsigned i = 0; i < market_slots(m); i++) {
        if (market_read(m, (int)i, st) < 0 || st->status == MARKET_EMPTY)
            continue;
        tracked++;
        resyncs += st->resyncs;
        if (st->status != MARKET_LIVE)
            continue;
        live++;
        if (now - st->book_updated_ms > max_age)
            max_age = now - st->book_updated_ms;
    }
    free(st);
    snprintf(reason, sizeof(reason),
             "Live order books from the feed process's WebSocket streams: "
             "%u of %u tracked symbols live, %llu resyncs, %llu reconnects; "
             "stream connection %s. A symbol's first call asks the feed to "
             "track it and may answer from a REST snapshot.",
             live, tracked, (unsigned long long)resyncs,
             (unsigned long long)fi.reconnects,
             fi.ws_connected ? "up" : "down");
    o = health_object(fi.ws_connected && live == tracked ? "ok" : "degraded",
                      live, max_age, fi.ws_connected, now, reason, "live");
    if (o != NULL) {
        json_object_object_add(o, "symbols_tracked",
                               json_object_new_int64(tracked));
        json_object_object_add(o, "resync_count",
                               json_object_new_int64((int64_t)resyncs));
    }
    return o;
}

static int
get_orderbook_health(struct mcp_call *call, json_object *args,
                     struct tool_result *res)
{
    int64_t now = now_ms(), max_age = 0;
    size_t n, failed = 0;
    char reason[3 * TOOL_ERR_MAX + WHY_MAX], nolive[WHY_MAX];
    char first[TU_SYMBOL_MAX] = "", why[TOOL_ERR_MAX] = "";
    const char *status = "ok";
    const struct market *m = tools_call_market(call);
    json_object *o;

    (void)args;
    if (m != NULL && live_feed_running(m, now, nolive, sizeof(nolive))) {
        res->data = health_live(m, now);
        return res->data != NULL ? 0 : tool_fail(res, "out of memory");
    }
    if (m == NULL)
        snprintf(nolive, sizeof(nolive),
                 "no live market data here (feed = off)");
    pthread_mutex_lock(&track_lock);
    n = n_track;
    for (size_t i = 0; i < n; i++) {
        int64_t age = now - track[i].last_ok_ms;
        if (age > max_age)
            max_age = age;
        if (track[i].failed && failed++ == 0) {
            /* same sizes, both NUL-terminated */
            memcpy(first, track[i].symbol, sizeof(first));
            memcpy(why, track[i].why, sizeof(why));
        }
    }
    pthread_mutex_unlock(&track_lock);
    if (failed == 0) {
        snprintf(reason, sizeof(reason), "%s (%s).", rest_reason, nolive);
    } else {
        status = failed == n ? "error" : "degraded";
        snprintf(reason, sizeof(reason),
                 "The last snapshot failed for %zu of %zu symbols (%s: %s). "
                 "%s (%s).",
                 failed, n, first, why, rest_reason, nolive);
    }
    o = health_object(status, (int64_t)n, max_age, 0, now, reason,
                      "rest_snapshot");
    if (o == NULL)
        return tool_fail(res, "out of memory");
    res->data = o;
    return 0;
}

/* ---- the rows ---- */

/* clang-format off */
#define SLIP_ENTRY                                                           \
    "{\"description\":\"null when nothing could be filled; a partial fill "  \
    "reports what was filled.\",\"properties\":{"                            \
    TU_F("target_usd", TU_NUM) "," TU_F("avg_price", TU_NUM) ","             \
    TU_F("slippage_bps", TU_NUM) "," TU_F("filled_qty", TU_NUM) ","          \
    TU_F("filled_usd", TU_NUM) "}}"
#define WALL TU_OBJ(TU_F("price", TU_STR) "," TU_F("qty", TU_STR) ","        \
                    TU_F("side", TU_STR))
#define SCALED_SIDE TU_ARR(TU_ARR(TU_INT))
#define SOURCE_ENUM "{\"type\":\"string\",\"enum\":[\"live\"," \
                    "\"rest_snapshot\"]}"
/* where the book came from (add_source) */
#define SOURCE_FIELDS                                                        \
    TU_F("source", SOURCE_ENUM) "," TU_F("websocket_connected", TU_BOOL) "," \
    TU_F("book_age_ms", TU_INT) "," TU_F("update_rate_per_s", TU_NUM) ","    \
    TU_F("resync_count", TU_INT) "," TU_F("fallback_reason", TU_STR)
#define SOURCE_TEXT                                                          \
    " source is live (the feed process's local book, kept by Binance's "    \
    "WebSocket depth stream: websocket_connected true, book_age_ms, "       \
    "update_rate_per_s, resync_count) or rest_snapshot (a REST snapshot "   \
    "taken at call time, 100 levels a side: websocket_connected false and " \
    "fallback_reason, e.g. the first call for a symbol, which asks the "    \
    "feed to track it, the feed down, or feed = off)."

const struct tool_def tools_orderbook[] = {
    {"get_orderbook_metrics", "Order book metrics",
     "Compact summary of one trading pair's order book (100 levels per "
     "side): spread in basis points, microprice, bid and "
     "ask volume over the best 20 levels, imbalance ratio (bid/ask "
     "volume), best bid/ask (decimal strings), walls (levels among the top "
     "20 of either side with more than twice the median quantity) and "
     "slippage estimates for buying or selling 10k, 25k and 50k USD of "
     "notional (VWAP, slippage in bps, filled quantity; null when nothing "
     "could be filled). Estimates use floating point. No API key needed."
     SOURCE_TEXT,
     TU_IN(TU_IN_SYMBOL, "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("timestamp", TU_INT) ","
            TU_F("spread_bps", TU_NUM) "," TU_F("microprice", TU_NUM) ","
            TU_F("bid_volume", TU_NUM) "," TU_F("ask_volume", TU_NUM) ","
            TU_F("imbalance_ratio", TU_NUM) "," TU_F("best_bid", TU_STR) ","
            TU_F("best_ask", TU_STR) ","
            TU_F("walls", TU_OBJ(TU_F("bids", TU_ARR(WALL)) ","
                                 TU_F("asks", TU_ARR(WALL)))) ","
            TU_F("slippage_estimates", TU_OBJ(
                TU_F("buy_10k_usd", SLIP_ENTRY) ","
                TU_F("buy_25k_usd", SLIP_ENTRY) ","
                TU_F("buy_50k_usd", SLIP_ENTRY) ","
                TU_F("sell_10k_usd", SLIP_ENTRY) ","
                TU_F("sell_25k_usd", SLIP_ENTRY) ","
                TU_F("sell_50k_usd", SLIP_ENTRY))) ","
            SOURCE_FIELDS),
     BOOK_FLAGS, get_orderbook_metrics, NULL},
    {"get_orderbook_depth", "Order book depth (scaled integers)",
     "The best levels of one trading pair's order book as compact integer "
     "pairs: bids (highest first) and asks (lowest "
     "first) as [price * price_scale, qty * qty_scale], truncated; "
     "price_scale is 100 and qty_scale 100000. Levels whose scaled price "
     "or quantity is 0 are left out. levels 20 is an L2-lite view, 100 the "
     "full book kept. No API key needed." SOURCE_TEXT,
     TU_IN(TU_IN_SYMBOL ","
           TU_F("levels", "{\"type\":\"integer\",\"minimum\":1,"
                          "\"maximum\":100,\"default\":20,\"description\":"
                          "\"Levels per side, 1 to 100 (default 20).\"}"),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("timestamp", TU_INT) ","
            TU_F("price_scale", TU_INT) "," TU_F("qty_scale", TU_INT) ","
            TU_F("bids", SCALED_SIDE) "," TU_F("asks", SCALED_SIDE) ","
            SOURCE_FIELDS),
     BOOK_FLAGS, get_orderbook_depth, NULL},
    {"get_orderbook_health", "Order book health",
     "State of the order-book tools, without calling Binance. With the "
     "feed process running (source live): the symbols whose local book "
     "follows the WebSocket stream (orderbook_symbols_active, of "
     "symbols_tracked), the age in ms of the least recently changed live "
     "book, websocket_connected, resync_count, and status ok when the "
     "stream is up and every tracked book is live, else degraded. "
     "Without it (source rest_snapshot: feed = off, or the feed "
     "down): how many symbols get_orderbook_metrics/get_orderbook_depth "
     "fetched by REST snapshot in this worker (at most 32 remembered), the age in ms "
     "of the oldest last successful fetch, websocket_connected false, and "
     "status ok when every latest fetch succeeded (or none was made), "
     "degraded when some failed, error when all failed. The reason says "
     "which.",
     TU_IN_NONE,
     TU_OBJ(TU_F("status", "{\"type\":\"string\",\"enum\":[\"ok\","
                           "\"degraded\",\"error\"]}") ","
            TU_F("orderbook_symbols_active", TU_INT) ","
            TU_F("last_update_age_ms", TU_INT) ","
            TU_F("websocket_connected", TU_BOOL) ","
            TU_F("timestamp", TU_INT) "," TU_F("reason", TU_STR) ","
            TU_F("source", SOURCE_ENUM) ","
            TU_F("symbols_tracked", TU_INT) ","
            TU_F("resync_count", TU_INT)),
     TOOL_READ_ONLY | TOOL_IDEMPOTENT, get_orderbook_health, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
