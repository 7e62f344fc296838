/*
 * tools_watch.c - watch_market: one symbol's market state now, or a wait
 * until a condition holds.
 *
 * The state (best bid and ask, spread, last trade, 24 h change when known,
 * the age of what is reported) comes from the feed's live book when there
 * is one (livemarket.h: a read of the shared segment, no system call), else
 * from GET /api/v3/ticker/24hr (weight 2, the same as bookTicker's, and it
 * also carries the last price and the 24 h change), and the result says
 * which (source live or rest, with fallback_reason).
 *
 * With a condition and timeout_s > 0 the call waits: it reads the live
 * state every POLL_LIVE_MS, or REST at most every POLL_REST_MS (a live
 * book that appears meanwhile is used from then on), checks order_filled
 * with a signed GET /api/v3/order: when the account's user data stream is
 * live (userlive.h), as soon as its open orders change (and every
 * POLL_STREAM_MS besides), else every POLL_REST_MS; sends
 * notifications/progress every PROGRESS_MS when the client asked for
 * progress, and ends when the condition holds, the order reached a final
 * status, the time is up, or the client cancelled (the engine drops the
 * answer of a cancelled call; the wait ends within a SLICE_MS).
 *
 * Prices are compared exactly: the level is a decimal (decimal.h), the
 * book's prices are Binance's 8-decimal values (market.h), turned into
 * decimals for the comparison. The spread in basis points is a double.
 *
 * A wait holds the thread that runs it, and its session (the engine runs
 * a session's requests one at a time): at most WAITERS_MAX waits run at
 * once in a process; one more is a tool error that says so.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decimal.h"
#include "livemarket.h"
#include "market.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_schema.h"
#include "userlive.h"
#include "util.h"

#define WATCH_FLAGS    (TOOL_READ_ONLY | TOOL_OPEN_WORLD)
#define TIMEOUT_MAX    600   /* seconds a call may wait */
#define POLL_LIVE_MS   200   /* between two reads of the live book */
#define POLL_REST_MS   2000  /* between two REST calls of one kind */
#define POLL_STREAM_MS 30000 /* order_filled with a live user data stream */
#define PROGRESS_MS    5000  /* between two progress notifications */
#define SLICE_MS       100   /* a cancellation is seen within this */
#define SENTENCE_MAX   1024
/* Waits at once in one process. A wait holds one of a worker's executor
 * threads (and its session, whose next requests queue behind it; a
 * cancellation does not): half of the eight, so that other calls go on. */
#define WAITERS_MAX 4

enum watch_kind {
    WATCH_NONE,
    WATCH_PRICE_ABOVE,
    WATCH_PRICE_BELOW,
    WATCH_SPREAD_ABOVE,
    WATCH_ORDER_FILLED,
};

static const char *const kind_names[] = {
    "none", "price_above", "price_below", "spread_above_bps", "order_filled",
};

/* What the call watches, from its arguments. */
struct watch_cond {
    enum watch_kind kind;
    struct dec level; /* price_above, price_below */
    double bps;       /* spread_above_bps */
    char param[64];   /* the parameter as the result repeats it */
};

/* The market state as reported. Prices in units of 10^-8 (market.h). */
struct watch_view {
    int have;                    /* a state was read at all */
    int live;                    /* from the feed's book; else REST */
    char why[LIVE_WHY_MAX + 64]; /* REST: why not live */
    int64_t bid, ask;            /* 0 when that side is empty */
    int64_t as_of_ms; /* when the book (live) or answer (REST) changed */
    int has_trade;
    int64_t trade_price, trade_qty, trade_ms; /* trade_ms 0: unknown */
    int has_change;
    char change_pct[DEC_STR_MAX]; /* 24 h change in percent, as text */
};

/* What order_filled saw of the order. */
struct watch_order {
    int seen;
    char status[32];
    char executed[DEC_STR_MAX], orig[DEC_STR_MAX];
    int64_t order_id;
    char client_id[48];
};

/* ---- reading the state ---- */

/* The view from a live state. */
static void
view_from_live(struct watch_view *v, const struct market_state *st)
{
    memset(v, 0, sizeof(*v));
    v->have = v->live = 1;
    v->bid = st->best_bid.price;
    v->ask = st->best_ask.price;
    v->as_of_ms = st->book_updated_ms;
    if (st->last_trade.time_ms > 0) {
        v->has_trade = 1;
        v->trade_price = st->last_trade.price;
        v->trade_qty = st->last_trade.qty;
        v->trade_ms = st->last_trade.time_ms;
    }
    if (st->has_change_24h) {
        int64_t b = st->change_24h_bps;
        v->has_change = 1;
        snprintf(v->change_pct, sizeof(v->change_pct), "%s%lld.%02lld",
                 b < 0 ? "-" : "", (long long)(b < 0 ? -b : b) / 100,
                 (long long)(b < 0 ? -b : b) % 100);
    }
}

/* A field of a ticker answer in units of 10^-8; 0 when absent or not a
 * decimal Binance writes. */
static int64_t
ticker_units(json_object *body, const char *key)
{
    const char *s = tu_arg_str(body, key);
    int64_t v;

    return s != NULL && market_parse(s, &v) == 0 ? v : 0;
}

/* The view from GET /api/v3/ticker/24hr. Returns 0, or -1 after tool_fail
 * (Binance refused, or the call was cancelled: then *cancelled is set). */
static int
view_from_rest(struct mcp_call *call, const char *symbol, const char *why,
               struct watch_view *v, int *cancelled, struct tool_result *res)
{
    struct tu_call tc;
    json_object *body;
    const char *pct;
    int64_t close_ms = 0;

    tu_call_init(&tc, "GET", "/api/v3/ticker/24hr", BNC_PUBLIC);
    bnc_params_add(&tc.params, "symbol", symbol);
    if ((body = tu_call_run(call, &tc)) == NULL ||
        !json_object_is_type(body, json_type_object)) {
        *cancelled = tc.resp.status == BNC_ERR_CANCELLED;
        tool_fail(res, "%s",
                  body == NULL ? tc.err
                               : "Binance's 24 h ticker answer is not an "
                                 "object.");
        tu_call_done(&tc);
        return -1;
    }
    memset(v, 0, sizeof(*v));
    v->have = 1;
    snprintf(v->why, sizeof(v->why), "%s: answered from REST", why);
    v->bid = ticker_units(body, "bidPrice");
    v->ask = ticker_units(body, "askPrice");
    v->as_of_ms = now_ms();
    tu_arg_int(body, "closeTime", &close_ms);
    if ((v->trade_price = ticker_units(body, "lastPrice")) > 0) {
        v->has_trade = 1;
        v->trade_qty = ticker_units(body, "lastQty");
        v->trade_ms = close_ms;
    }
    if ((pct = tu_arg_str(body, "priceChangePercent")) != NULL) {
        v->has_change = 1;
        snprintf(v->change_pct, sizeof(v->change_pct), "%s", pct);
    }
    tu_call_done(&tc);
    return 0;
}

/* One signed GET /api/v3/order for the watched order into *o. Returns 0,
 * or -1 after tool_fail (no credentials, unknown order, ...). */
static int
order_poll(struct mcp_call *call, const char *symbol, json_object *args,
           struct watch_order *o, int *cancelled, struct tool_result *res)
{
    struct tu_call tc;
    json_object *body;
    const char *s;
    int64_t id;

    tu_call_init(&tc, "GET", "/api/v3/order", BNC_READ);
    bnc_params_add(&tc.params, "symbol", symbol);
    if (tu_arg_int(args, "order_id", &id)) {
        char num[24];
        snprintf(num, sizeof(num), "%lld", (long long)id);
        bnc_params_add(&tc.params, "orderId", num);
    } else {
        bnc_params_add(&tc.params, "origClientOrderId",
                       tu_arg_str(args, "client_order_id"));
    }
    if ((body = tu_call_run(call, &tc)) == NULL ||
        (s = tu_arg_str(body, "status")) == NULL) {
        *cancelled = tc.resp.status == BNC_ERR_CANCELLED;
        tool_fail(res, "%s",
                  body == NULL ? tc.err
                               : "Binance's order answer has no status.");
        tu_call_done(&tc);
        return -1;
    }
    o->seen = 1;
    snprintf(o->status, sizeof(o->status), "%s", s);
    s = tu_arg_str(body, "executedQty");
    snprintf(o->executed, sizeof(o->executed), "%s", s != NULL ? s : "0");
    s = tu_arg_str(body, "origQty");
    snprintf(o->orig, sizeof(o->orig), "%s", s != NULL ? s : "0");
    tu_arg_int(body, "orderId", &o->order_id);
    s = tu_arg_str(body, "clientOrderId");
    snprintf(o->client_id, sizeof(o->client_id), "%s", s != NULL ? s : "");
    tu_call_done(&tc);
    return 0;
}

/* ---- the condition ---- */

static double
spread_bps(const struct watch_view *v)
{
    double bid = (double)v->bid, ask = (double)v->ask;

    if (v->bid <= 0 || v->ask <= 0)
        return 0;
    return (ask - bid) / ((ask + bid) / 2) * 10000;
}

/* Whether cond holds for v (and o). An order that reached another final
 * status sets *ended. */
static int
cond_met(const struct watch_cond *c, const struct watch_view *v,
         const struct watch_order *o, int *ended)
{
    struct dec p;

    switch (c->kind) {
    case WATCH_PRICE_ABOVE:
        if (!v->have || v->bid <= 0)
            return 0;
        market_to_dec(v->bid, &p);
        return dec_cmp(&p, &c->level) >= 0;
    case WATCH_PRICE_BELOW:
        if (!v->have || v->ask <= 0)
            return 0;
        market_to_dec(v->ask, &p);
        return dec_cmp(&p, &c->level) <= 0;
    case WATCH_SPREAD_ABOVE:
        return v->have && v->bid > 0 && v->ask > 0 && spread_bps(v) > c->bps;
    case WATCH_ORDER_FILLED:
        if (!o->seen)
            return 0;
        *ended = strcmp(o->status, "CANCELED") == 0 ||
                 strcmp(o->status, "EXPIRED") == 0 ||
                 strcmp(o->status, "EXPIRED_IN_MATCH") == 0 ||
                 strcmp(o->status, "REJECTED") == 0;
        return strcmp(o->status, "FILLED") == 0;
    case WATCH_NONE:
        break;
    }
    return 0;
}

/* Reads the condition from args into c. Returns 0, or -1 after tool_fail
 * when its parameter is missing or malformed. */
static int
cond_parse(json_object *args, struct watch_cond *c, struct tool_result *res)
{
    const char *kind = tu_arg_str(args, "condition");
    const char *level = tu_arg_str(args, "level");
    json_object *bps;
    int64_t id;

    memset(c, 0, sizeof(*c));
    if (kind == NULL)
        return 0;
    for (size_t i = 1; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (strcmp(kind, kind_names[i]) == 0)
            c->kind = (enum watch_kind)i;
    switch (c->kind) {
    case WATCH_PRICE_ABOVE:
    case WATCH_PRICE_BELOW:
        if (level == NULL || dec_parse(level, &c->level) < 0)
            return tool_fail(res,
                             "condition %s needs level, a price as a decimal "
                             "string such as \"50000.5\".",
                             kind);
        dec_format(&c->level, c->param, sizeof(c->param));
        return 0;
    case WATCH_SPREAD_ABOVE:
        if (!json_object_object_get_ex(args, "bps", &bps) ||
            (!json_object_is_type(bps, json_type_double) &&
             !json_object_is_type(bps, json_type_int)))
            return tool_fail(res, "condition spread_above_bps needs bps, "
                                  "the spread in basis points (a number).");
        c->bps = json_object_get_double(bps);
        snprintf(c->param, sizeof(c->param), "%g", c->bps);
        return 0;
    case WATCH_ORDER_FILLED:
        if (tu_one_ref(args, res, "order_id", "client_order_id", "order") < 0)
            return -1;
        if (tu_arg_int(args, "order_id", &id))
            snprintf(c->param, sizeof(c->param), "%lld", (long long)id);
        else
            snprintf(c->param, sizeof(c->param), "%s",
                     tu_arg_str(args, "client_order_id"));
        return 0;
    case WATCH_NONE:
        break;
    }
    return tool_fail(res, "unknown condition %s.", kind);
}

/* ---- the result ---- */

static json_object *
units_json(int64_t v)
{
    char buf[DEC_STR_MAX];

    return json_object_new_string(market_format(v, buf));
}

/* One sentence saying what the result says, into buf (SENTENCE_MAX). */
static void
sentence(char *buf, const char *symbol, const struct watch_cond *c,
         const struct watch_view *v, const struct watch_order *o, int met,
         int ended, int timed_out, int cancelled, int64_t waited)
{
    char bid[DEC_STR_MAX], ask[DEC_STR_MAX];
    int n;

    n = snprintf(buf, SENTENCE_MAX,
                 "%s: best bid %s, best ask %s (spread %.2f bps) from %s.",
                 symbol, market_format(v->bid, bid), market_format(v->ask, ask),
                 spread_bps(v), v->live ? "the live book" : "REST");
    if (c->kind == WATCH_NONE || n < 0 || n >= SENTENCE_MAX)
        return;
    snprintf(buf + n, SENTENCE_MAX - (size_t)n,
             " Condition %s %s %s after %.1f s%s%s%s.", kind_names[c->kind],
             c->param,
             cancelled   ? "was cancelled"
             : met       ? "holds"
             : ended     ? "cannot hold any more: the order ended"
             : timed_out ? "did not hold; the time ran out"
                         : "does not hold",
             (double)waited / 1000, o->seen ? " (order status " : "",
             o->seen ? o->status : "", o->seen ? ")" : "");
}

static json_object *
result_json(const char *symbol, const struct watch_cond *c,
            const struct watch_view *v, const struct watch_order *o, int met,
            int ended, int timed_out, int cancelled, int64_t waited,
            int64_t now)
{
    json_object *r = json_object_new_object(), *t, *k;

    if (r == NULL)
        return NULL;
    json_object_object_add(r, "symbol", json_object_new_string(symbol));
    json_object_object_add(r, "source",
                           json_object_new_string(v->live ? "live" : "rest"));
    if (!v->live)
        json_object_object_add(r, "fallback_reason",
                               json_object_new_string(v->why));
    if (v->bid > 0)
        json_object_object_add(r, "best_bid", units_json(v->bid));
    if (v->ask > 0)
        json_object_object_add(r, "best_ask", units_json(v->ask));
    if (v->bid > 0 && v->ask > 0)
        json_object_object_add(r, "spread_bps",
                               json_object_new_double(spread_bps(v)));
    if (v->has_trade) {
        t = json_object_new_object();
        json_object_object_add(t, "price", units_json(v->trade_price));
        json_object_object_add(t, "qty", units_json(v->trade_qty));
        if (v->trade_ms > 0)
            json_object_object_add(t, "time",
                                   json_object_new_int64(v->trade_ms));
        json_object_object_add(r, "last_trade", t);
    }
    if (v->has_change)
        json_object_object_add(r, "change_24h_percent",
                               json_object_new_string(v->change_pct));
    json_object_object_add(
        r, "book_age_ms",
        json_object_new_int64(now > v->as_of_ms ? now - v->as_of_ms : 0));
    json_object_object_add(r, "timestamp", json_object_new_int64(now));
    if (c->kind == WATCH_NONE)
        return r;
    k = json_object_new_object();
    json_object_object_add(k, "kind",
                           json_object_new_string(kind_names[c->kind]));
    json_object_object_add(k, "parameter", json_object_new_string(c->param));
    json_object_object_add(k, "met", json_object_new_boolean(met));
    json_object_object_add(k, "waited_ms", json_object_new_int64(waited));
    json_object_object_add(k, "timed_out", json_object_new_boolean(timed_out));
    json_object_object_add(k, "cancelled", json_object_new_boolean(cancelled));
    if (o->seen) {
        t = json_object_new_object();
        json_object_object_add(t, "order_id",
                               json_object_new_int64(o->order_id));
        json_object_object_add(t, "client_order_id",
                               json_object_new_string(o->client_id));
        json_object_object_add(t, "status", json_object_new_string(o->status));
        json_object_object_add(t, "executed_qty",
                               json_object_new_string(o->executed));
        json_object_object_add(t, "orig_qty", json_object_new_string(o->orig));
        json_object_object_add(k, "order", t);
        json_object_object_add(k, "ended",
                               json_object_new_boolean(ended || met));
    }
    json_object_object_add(r, "condition", k);
    return r;
}

/* ---- the wait ---- */

static atomic_int waiters; /* waits running in this process */

static int
is_cancelled(const struct mcp_call *call)
{
    return call->cancel != NULL && atomic_load(call->cancel);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* What the loop keeps between two turns. */
struct watch_run {
    struct mcp_call *call;
    json_object *args;
    const char *symbol;
    struct watch_cond cond;
    struct watch_view view;
    struct watch_order order;
    struct market_state *st;
    int64_t rest_at, order_at; /* when REST was last asked, 0: never */
    uint64_t orders_gen;       /* the account's, at the last order poll */
    int gen_known;             /* orders_gen was read from a live stream */
};

/* Whether the watched order's status is to be asked now: the first time;
 * when the account's user data stream is live, as soon as its open
 * orders changed (and every POLL_STREAM_MS in case); else every
 * POLL_REST_MS. */
static int
order_poll_due(struct watch_run *w, int64_t now)
{
    uint64_t gen;
    int live = userlive_orders_gen(w->call, &gen) == 0;
    int due = w->order_at == 0 ||
              (live && w->gen_known && gen != w->orders_gen) ||
              now - w->order_at >= (live ? POLL_STREAM_MS : POLL_REST_MS);

    if (due && live) {
        w->orders_gen = gen;
        w->gen_known = 1;
    } else if (!live) {
        w->gen_known = 0;
    }
    return due;
}

/* One turn: refreshes the view (live, else REST when due) and the order
 * (when due). Returns 0, or -1 after tool_fail (*cancelled set when the
 * failure was the client's cancellation). */
static int
watch_turn(struct watch_run *w, int64_t now, int *cancelled,
           struct tool_result *res)
{
    char why[LIVE_WHY_MAX];

    if (live_read(w->call, w->symbol, w->st, why, sizeof(why))) {
        view_from_live(&w->view, w->st);
    } else if (w->rest_at == 0 || (now - w->rest_at >= POLL_REST_MS &&
                                   w->cond.kind != WATCH_ORDER_FILLED)) {
        w->rest_at = now;
        if (view_from_rest(w->call, w->symbol, why, &w->view, cancelled, res) <
            0)
            return -1;
    }
    if (w->cond.kind == WATCH_ORDER_FILLED && order_poll_due(w, now)) {
        w->order_at = now;
        return order_poll(w->call, w->symbol, w->args, &w->order, cancelled,
                          res);
    }
    return 0;
}

/* Sends the progress of a wait that has run waited of timeout ms. */
static void
watch_progress(struct watch_run *w, int64_t waited, int64_t timeout)
{
    char msg[512], bid[DEC_STR_MAX], ask[DEC_STR_MAX];

    if (w->order.seen)
        snprintf(msg, sizeof(msg),
                 "%s: order %s is %s (%s of %s filled); waiting %lld of "
                 "%lld s",
                 w->symbol, w->cond.param, w->order.status, w->order.executed,
                 w->order.orig, (long long)(waited / 1000),
                 (long long)(timeout / 1000));
    else
        snprintf(msg, sizeof(msg),
                 "%s: bid %s, ask %s; waiting for %s %s, %lld of %lld s",
                 w->symbol, market_format(w->view.bid, bid),
                 market_format(w->view.ask, ask), kind_names[w->cond.kind],
                 w->cond.param, (long long)(waited / 1000),
                 (long long)(timeout / 1000));
    mcp_call_progress(w->call, (double)(waited / 1000), (double)timeout / 1000,
                      msg);
}

static int watch_run(struct mcp_call *call, json_object *args,
                     struct tool_result *res);

/* A call that waits takes one of WAITERS_MAX places for its time. */
static int
watch_market(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    int64_t timeout_s = 0;
    int rc;

    if (!tu_arg_int(args, "timeout_s", &timeout_s) || timeout_s <= 0 ||
        tu_arg_str(args, "condition") == NULL)
        return watch_run(call, args, res);
    if (atomic_fetch_add(&waiters, 1) >= WAITERS_MAX) {
        atomic_fetch_sub(&waiters, 1);
        return tool_fail(res,
                         "%d watch_market calls are already waiting in this "
                         "server process, the most it runs at once; call "
                         "again later, or without timeout_s for the state "
                         "now.",
                         WAITERS_MAX);
    }
    rc = watch_run(call, args, res);
    atomic_fetch_sub(&waiters, 1);
    return rc;
}

/* Reads the state, and waits for the condition when asked to. */
static int
watch_run(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    char symbol[TU_SYMBOL_MAX], text[SENTENCE_MAX];
    struct watch_run w;
    int64_t timeout_s = 0, start = now_ms(), now, waited = 0;
    int64_t next_progress = PROGRESS_MS;
    int met = 0, ended = 0, cancelled = 0, timed_out = 0, rc = -1;

    memset(&w, 0, sizeof(w));
    if (tu_symbol_norm(tu_arg_str(args, "symbol"), symbol, sizeof(symbol)) < 0)
        return tool_fail(res, "symbol must be a trading pair such as BTCUSDT "
                              "(1 to 20 letters and digits).");
    if (cond_parse(args, &w.cond, res) < 0)
        return -1;
    tu_arg_int(args, "timeout_s", &timeout_s);
    if (w.cond.kind == WATCH_NONE)
        timeout_s = 0;
    if (timeout_s < 0 || timeout_s > TIMEOUT_MAX)
        return tool_fail(res, "timeout_s must be 0 to %d seconds.",
                         TIMEOUT_MAX);
    if ((w.st = malloc(sizeof(*w.st))) == NULL)
        return tool_fail(res, "out of memory");
    w.call = call;
    w.args = args;
    w.symbol = symbol;
    for (;;) {
        now = now_ms();
        waited = now - start;
        if (watch_turn(&w, now, &cancelled, res) < 0) {
            if (!cancelled)
                goto done;
            res->is_error = 0; /* the wait ends as cancelled, below */
            break;
        }
        met = cond_met(&w.cond, &w.view, &w.order, &ended);
        if (met || ended || (cancelled = is_cancelled(call)))
            break;
        if (waited >= timeout_s * 1000) {
            timed_out = 1;
            break;
        }
        if (waited >= next_progress) {
            watch_progress(&w, waited, timeout_s * 1000);
            next_progress += PROGRESS_MS;
        }
        /* sleep to the next read in slices, so a cancel is seen soon */
        for (int64_t end = now + POLL_LIVE_MS;
             (now = now_ms()) < end && !is_cancelled(call);)
            sleep_ms(end - now < SLICE_MS ? end - now : SLICE_MS);
    }
    now = now_ms();
    if (!w.view.have) {
        /* cancelled before anything was read: nothing to tell */
        rc = tool_fail(res, "watch_market was cancelled.");
        goto done;
    }
    res->data = result_json(symbol, &w.cond, &w.view, &w.order, met, ended,
                            timed_out, cancelled, now - start, now);
    if (res->data == NULL) {
        rc = tool_fail(res, "out of memory");
        goto done;
    }
    sentence(text, symbol, &w.cond, &w.view, &w.order, met, ended, timed_out,
             cancelled, now - start);
    res->text = strdup(text);
    rc = 0;
done:
    free(w.st);
    return rc;
}

/* ---- the row ---- */

/* clang-format off */
#define IN_CONDITION                                                         \
    TU_F("condition",                                                        \
         "{\"type\":\"string\",\"enum\":[\"price_above\",\"price_below\","   \
         "\"spread_above_bps\",\"order_filled\"],\"description\":\"What "    \
         "to wait for: price_above (the best bid at or above level), "       \
         "price_below (the best ask at or below level), spread_above_bps "   \
         "(the spread wider than bps), order_filled (the order, by "         \
         "order_id or client_order_id, FILLED; needs credentials). Leave "   \
         "out for the state now.\"}")
#define IN_LEVEL                                                             \
    TU_F("level", "{\"type\":\"string\",\"pattern\":"                        \
                  "\"^[0-9]{1,20}([.][0-9]{1,20})?$\",\"description\":"      \
                  "\"price_above, price_below: the price, a decimal "        \
                  "string.\"}")
#define IN_BPS                                                               \
    TU_F("bps", "{\"type\":\"number\",\"minimum\":0,\"description\":"        \
                "\"spread_above_bps: the spread in basis points.\"}")
#define IN_WATCH_ORDER                                                       \
    TU_F("order_id", "{\"type\":\"integer\",\"minimum\":0,"                  \
                     "\"description\":\"order_filled: Binance's "            \
                     "orderId.\"}") ","                                      \
    TU_F("client_order_id", "{\"type\":\"string\",\"pattern\":"              \
                            "\"^[a-zA-Z0-9_-]{1,36}$\",\"description\":"     \
                            "\"order_filled: the client order id.\"}")
#define WATCH_ORDER_OUT                                                      \
    TU_OBJ(TU_F("order_id", TU_INT) "," TU_F("client_order_id", TU_STR) ","  \
           TU_F("status", TU_STR) "," TU_F("executed_qty", TU_STR) ","       \
           TU_F("orig_qty", TU_STR))

const struct tool_def tools_watch[] = {
    {"watch_market", "Watch a market",
     "One trading pair's state: best bid and ask, spread_bps, the last "
     "trade, the 24 h change when known, and book_age_ms (how old the "
     "reported prices are). source live: the feed's local book; source "
     "rest: GET /api/v3/ticker/24hr, with "
     "fallback_reason (feed off or down, or the book not live "
     "yet). With a condition and timeout_s (1 to 600) it waits until the "
     "condition holds, the order ends (CANCELED, EXPIRED, REJECTED) or the "
     "time is up, sending progress notifications every 5 s when asked; "
     "condition says met, waited_ms, timed_out and cancelled. The live "
     "book is read every 200 ms, REST at most every 2 s. Prices are "
     "compared exactly. While it waits, this session's other requests "
     "wait behind it (cancel it with notifications/cancelled); at most 4 "
     "waits run at once per server process.",
     TU_IN(TU_IN_SYMBOL "," IN_CONDITION "," IN_LEVEL "," IN_BPS ","
           IN_WATCH_ORDER ","
           TU_IN_INT("timeout_s", 0, 600, "Seconds to wait for the "
                     "condition (default 0: answer at once)."),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) ","
            TU_F("source", "{\"type\":\"string\",\"enum\":[\"live\","
                           "\"rest\"]}") ","
            TU_F("fallback_reason", TU_STR) ","
            TU_F("best_bid", TU_STR) "," TU_F("best_ask", TU_STR) ","
            TU_F("spread_bps", TU_NUM) ","
            TU_F("last_trade", TU_OBJ(TU_F("price", TU_STR) ","
                                      TU_F("qty", TU_STR) ","
                                      TU_F("time", TU_INT))) ","
            TU_F("change_24h_percent", TU_STR) ","
            TU_F("book_age_ms", TU_INT) "," TU_F("timestamp", TU_INT) ","
            TU_F("condition", TU_OBJ(
                TU_F("kind", TU_STR) "," TU_F("parameter", TU_STR) ","
                TU_F("met", TU_BOOL) "," TU_F("waited_ms", TU_INT) ","
                TU_F("timed_out", TU_BOOL) "," TU_F("cancelled", TU_BOOL) ","
                TU_F("order", WATCH_ORDER_OUT) "," TU_F("ended", TU_BOOL)))),
     WATCH_FLAGS, watch_market, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
