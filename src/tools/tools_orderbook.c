/*
 * tools_orderbook.c - the original's three order-book tools
 * (get_orderbook_metrics, get_orderbook_depth, get_orderbook_health).
 *
 * The original keeps a local book per symbol fed by Binance's WebSocket
 * depth stream. binmcpd has no WebSocket client: metrics and depth are
 * computed from a REST snapshot (GET /api/v3/depth, limit 100, weight 5)
 * taken at call time. Health then reports on a small process-wide table of
 * the symbols those two tools fetched: when each was last fetched and
 * whether its latest fetch failed. In the prefork daemon each worker has
 * its own table.
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

#include "tools.h"
#include "tools_call.h"
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

static const char rest_reason[] =
    "binmcpd reads order books by REST snapshot on each call; there is no "
    "streaming connection.";

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

/* ---- the snapshot ---- */

struct level {
    const char *price_s; /* borrowed from the snapshot's body */
    const char *qty_s;
    double price;
    double qty;
};

struct book {
    char symbol[TU_SYMBOL_MAX];
    int64_t timestamp; /* ms, when the snapshot was taken */
    struct level bids[BOOK_MAX];
    struct level asks[BOOK_MAX];
    size_t n_bids, n_asks;
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

/* Fetches the snapshot of args' symbol into bk with tc (the caller runs
 * tu_call_done, since bk borrows strings from tc's body) and records the
 * outcome in the health table. Returns 0, or -1 after tool_fail. */
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
    res->data = o;
    rc = 0;
done:
    tu_call_done(&tc);
    free(bk);
    return rc;
}

/* ---- get_orderbook_health ---- */

static int
get_orderbook_health(struct mcp_call *call, json_object *args,
                     struct tool_result *res)
{
    int64_t now = now_ms(), max_age = 0;
    size_t n, failed = 0;
    char reason[2 * TOOL_ERR_MAX];
    char first[TU_SYMBOL_MAX] = "", why[TOOL_ERR_MAX] = "";
    const char *status = "ok";
    json_object *o;

    (void)call;
    (void)args;
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
        snprintf(reason, sizeof(reason), "%s", rest_reason);
    } else {
        status = failed == n ? "error" : "degraded";
        snprintf(reason, sizeof(reason),
                 "The last snapshot failed for %zu of %zu symbols (%s: %s). "
                 "%s",
                 failed, n, first, why, rest_reason);
    }
    o = json_object_new_object();
    if (o == NULL)
        return tool_fail(res, "out of memory");
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "orderbook_symbols_active",
                           json_object_new_int64((int64_t)n));
    json_object_object_add(o, "last_update_age_ms",
                           json_object_new_int64(max_age < 0 ? 0 : max_age));
    json_object_object_add(o, "websocket_connected",
                           json_object_new_boolean(0));
    json_object_object_add(o, "timestamp", json_object_new_int64(now));
    json_object_object_add(o, "reason", json_object_new_string(reason));
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

const struct tool_def tools_orderbook[] = {
    {"get_orderbook_metrics", "Order book metrics",
     "Compact summary of one trading pair's order book, computed from a "
     "REST snapshot taken at call time (100 levels per side; binmcpd has "
     "no WebSocket stream): spread in basis points, microprice, bid and "
     "ask volume over the best 20 levels, imbalance ratio (bid/ask "
     "volume), best bid/ask (decimal strings), walls (levels among the top "
     "20 of either side with more than twice the median quantity) and "
     "slippage estimates for buying or selling 10k, 25k and 50k USD of "
     "notional (VWAP, slippage in bps, filled quantity; null when nothing "
     "could be filled). Estimates use floating point. No API key needed.",
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
                TU_F("sell_50k_usd", SLIP_ENTRY)))),
     BOOK_FLAGS, get_orderbook_metrics, NULL},
    {"get_orderbook_depth", "Order book depth (scaled integers)",
     "The best levels of one trading pair's order book as compact integer "
     "pairs, computed from a REST snapshot taken at call time (binmcpd "
     "has no WebSocket stream): bids (highest first) and asks (lowest "
     "first) as [price * price_scale, qty * qty_scale], truncated; "
     "price_scale is 100 and qty_scale 100000. Levels whose scaled price "
     "or quantity is 0 are left out. levels 20 is an L2-lite view, 100 the "
     "full snapshot. No API key needed.",
     TU_IN(TU_IN_SYMBOL ","
           TU_F("levels", "{\"type\":\"integer\",\"minimum\":1,"
                          "\"maximum\":100,\"default\":20,\"description\":"
                          "\"Levels per side, 1 to 100 (default 20).\"}"),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("timestamp", TU_INT) ","
            TU_F("price_scale", TU_INT) "," TU_F("qty_scale", TU_INT) ","
            TU_F("bids", SCALED_SIDE) "," TU_F("asks", SCALED_SIDE)),
     BOOK_FLAGS, get_orderbook_depth, NULL},
    {"get_orderbook_health", "Order book health",
     "State of the order-book tools, without calling Binance. binmcpd "
     "reads order books by REST snapshot on each call (no WebSocket, so "
     "websocket_connected is always false); this reports how many symbols "
     "get_orderbook_metrics/get_orderbook_depth fetched in this worker "
     "(orderbook_symbols_active, at most 32 remembered), the age in ms of "
     "the oldest last successful fetch (informative only: every call "
     "fetches afresh), and status: ok when every symbol's latest fetch "
     "succeeded (or none was made), degraded when some failed, error when "
     "all failed, with the reason.",
     TU_IN_NONE,
     TU_OBJ(TU_F("status", "{\"type\":\"string\",\"enum\":[\"ok\","
                           "\"degraded\",\"error\"]}") ","
            TU_F("orderbook_symbols_active", TU_INT) ","
            TU_F("last_update_age_ms", TU_INT) ","
            TU_F("websocket_connected", TU_BOOL) ","
            TU_F("timestamp", TU_INT) "," TU_F("reason", TU_STR)),
     TOOL_READ_ONLY | TOOL_IDEMPOTENT, get_orderbook_health, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
