/*
 * guard.c - see guard.h.
 *
 * Layout: the shared rules; reading a request (its parameters and the
 * canonical text a confirmation is bound to); valuing a new order in USDT;
 * the checks; the confirmation; the gate's admit and settle; the journal's
 * orphans; the audit-log query.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "bnc.h"
#include "confirm.h"
#include "filters.h"
#include "guard.h"
#include "log.h"
#include "mcp.h"
#include "shm.h"
#include "symcache.h"
#include "util.h"

#define PAIRS_MAX   64
#define FIELD_MAX   64
#define CANON_MAX   (BNC_PARAMS_MAX + 128)
#define SUMMARY_MAX 1200
#define DEPTH_LIMIT "1000"
#define ORPHANS_MAX 32
#define FP_LEN      16

/* ------------------------------------------------------------------ */
/* The shared rules                                                    */

struct guard_shared {
    pthread_mutex_t lock; /* robust, process-shared */
    struct trading_settings rules;
};

static struct guard_shared *shared;  /* inherited across fork */
static struct confirm_store *tokens; /* inherited across fork */
static struct journal *jr;           /* this process's connection */
static char journal_why[384];        /* why jr is NULL */

/* A copy of the rules in force. Only a reload writes them
 * (guard_set_rules), whole, under the lock; a lock whose owner died is
 * taken over as it is. When the lock is unusable (logged), both sides go
 * on without it: every field of a torn copy is still one of the operator's
 * values, which beats refusing every order or every reload for good. */
static void
rules_get(struct trading_settings *out)
{
    if (shm_mutex_lock(&shared->lock, NULL, NULL, "trading guard") < 0) {
        *out = shared->rules;
        return;
    }
    *out = shared->rules;
    shm_mutex_unlock(&shared->lock);
}

int
guard_init(const struct trading_settings *t, char *err, size_t errlen)
{
    int rc;

    if (shared != NULL) {
        guard_set_rules(t);
        return 0;
    }
    shared = shm_map(sizeof(*shared), "trading guard", err, errlen);
    if (shared == NULL)
        return -1;
    rc = shm_mutex_init(&shared->lock);
    if (rc != 0) {
        errf(err, errlen, "trading guard: mutex: %s", strerror(rc));
        shm_unmap(shared, sizeof(*shared));
        shared = NULL;
        return -1;
    }
    shared->rules = *t;
    tokens = confirm_store_create(0);
    if (tokens == NULL) {
        snprintf(err, errlen,
                 "trading guard: the confirmation token store "
                 "cannot be created");
        return -1;
    }
    return 0;
}

void
guard_set_rules(const struct trading_settings *t)
{
    if (shared == NULL)
        return;
    int locked =
        shm_mutex_lock(&shared->lock, NULL, NULL, "trading guard") == 0;
    char journal[sizeof(shared->rules.journal)];
    memcpy(journal, shared->rules.journal, sizeof(journal));
    shared->rules = *t;
    memcpy(shared->rules.journal, journal, sizeof(journal));
    if (locked)
        shm_mutex_unlock(&shared->lock);
}

/* ------------------------------------------------------------------ */
/* Reading a request                                                   */

struct pair {
    char key[FIELD_MAX];
    char value[FIELD_MAX];
};

/* Decodes %XX and '+' of src[0..n) into dst (size len). Returns 0 or -1. */
static int
url_decode(const char *src, size_t n, char *dst, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            char hex[3];
            char *end;
            if (i + 2 >= n)
                return -1;
            hex[0] = src[i + 1];
            hex[1] = src[i + 2];
            hex[2] = '\0';
            long v = strtol(hex, &end, 16);
            if (*end != '\0' || v == 0)
                return -1;
            c = (char)v;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= len)
            return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

/* Splits a query string into pairs. Returns how many, or -1. */
static int
parse_query(const char *q, struct pair *out, int max)
{
    int n = 0;

    while (*q != '\0') {
        const char *amp = strchr(q, '&');
        size_t len = amp != NULL ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (n >= max || eq == NULL ||
            url_decode(q, (size_t)(eq - q), out[n].key, sizeof(out[n].key)) <
                0 ||
            url_decode(eq + 1, len - (size_t)(eq - q) - 1, out[n].value,
                       sizeof(out[n].value)) < 0)
            return -1;
        n++;
        q += len + (amp != NULL);
    }
    return n;
}

static int
pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pair *)a)->key, ((const struct pair *)b)->key);
}

/* What a recognised request does. */
enum trade_kind {
    TRADE_PLACE,      /* a new order */
    TRADE_PLACE_LIST, /* a new order list (OCO, OTO, OTOCO) */
    TRADE_REPLACE,    /* cancel an order and place a new one */
    TRADE_AMEND,      /* reduce an order's quantity, keeping its priority */
    TRADE_CANCEL,     /* cancel one order or one order list */
    TRADE_CANCEL_ALL, /* cancel every open order of a symbol */
};

/* How a rule's request is valued: the legs whose values add up, and the
 * groups of legs of which only one can execute (an OCO's above/below). */
enum trade_value {
    VALUE_NONE,  /* spends nothing new (cancels, amend) */
    VALUE_ONE,   /* one order: the plain parameter names */
    VALUE_OCO,   /* max(above, below) */
    VALUE_OTO,   /* working + pending */
    VALUE_OTOCO, /* working + max(pendingAbove, pendingBelow) */
};

/* The order-changing requests the guard has a rule for. Anything else that
 * arrives as BNC_TRADE is refused. lookup: where one read finds the truth
 * after an unknown outcome, and which parameter names the object. */
static const struct trade_rule {
    const char *method;
    const char *path;
    enum trade_kind kind;
    enum trade_value value;
    const char *label;         /* for the summary */
    const char *lookup_path;   /* GET this after an unknown outcome */
    const char *lookup_param;  /* ... with this parameter */
    const char *lookup_source; /* ... set to this request parameter */
} trade_rules[] = {
    {"POST", "/api/v3/order", TRADE_PLACE, VALUE_ONE, "order", "/api/v3/order",
     "origClientOrderId", "newClientOrderId"},
    {"POST", "/api/v3/orderList/oco", TRADE_PLACE_LIST, VALUE_OCO,
     "OCO order list", "/api/v3/orderList", "origClientOrderId",
     "listClientOrderId"},
    {"POST", "/api/v3/orderList/oto", TRADE_PLACE_LIST, VALUE_OTO,
     "OTO order list", "/api/v3/orderList", "origClientOrderId",
     "listClientOrderId"},
    {"POST", "/api/v3/orderList/otoco", TRADE_PLACE_LIST, VALUE_OTOCO,
     "OTOCO order list", "/api/v3/orderList", "origClientOrderId",
     "listClientOrderId"},
    {"POST", "/api/v3/order/cancelReplace", TRADE_REPLACE, VALUE_ONE,
     "cancel-replace", "/api/v3/order", "origClientOrderId",
     "newClientOrderId"},
    {"PUT", "/api/v3/order/amend/keepPriority", TRADE_AMEND, VALUE_NONE,
     "amendment (keep priority)", "/api/v3/order", "orderId", "orderId"},
    {"DELETE", "/api/v3/order", TRADE_CANCEL, VALUE_NONE, "cancellation",
     "/api/v3/order", "orderId", "orderId"},
    {"DELETE", "/api/v3/orderList", TRADE_CANCEL, VALUE_NONE,
     "cancellation of an order list", "/api/v3/orderList", "orderListId",
     "orderListId"},
    {"DELETE", "/api/v3/openOrders", TRADE_CANCEL_ALL, VALUE_NONE,
     "cancellation of every open order", NULL, NULL, NULL},
};

/* Whether a kind places something new (and so is valued and capped). */
static int
kind_spends(enum trade_kind k)
{
    return k == TRADE_PLACE || k == TRADE_PLACE_LIST || k == TRADE_REPLACE;
}

/* A request as the guard sees it. */
struct view {
    enum trade_kind kind;
    const struct trade_rule *rule;
    const char *tool; /* the MCP tool, or "(none)" */
    enum bnc_env env;
    struct pair p[PAIRS_MAX];
    int np;
    char canonical[CANON_MAX];
    /* filled by valuing a new order */
    char quote[16];
    double quote_value; /* the order's value in its quote asset */
    double usdt;        /* ... in USDT */
    double spent;       /* what the key committed in 24 h (when capped) */
    const char *how;    /* how the value was found */
};

/* The value of parameter key, or NULL. */
static const char *
view_get(const struct view *v, const char *key)
{
    for (int i = 0; i < v->np; i++)
        if (strcmp(v->p[i].key, key) == 0)
            return v->p[i].value;
    return NULL;
}

/* Whether a parameter is one binmcpd generates afresh for every call (a
 * new client order id of the order, the list or a leg, the answer type),
 * so that a confirmed call repeated with its token still matches. Ids that
 * name an existing order (origClientOrderId, cancelOrigClientOrderId) are
 * part of the order. */
static int
generated_param(const char *key)
{
    size_t n = strlen(key), tail = strlen("ClientOrderId");

    if (strcmp(key, "newOrderRespType") == 0)
        return 1;
    if (n < tail || strcmp(key + n - tail, "ClientOrderId") != 0)
        return 0;
    return strncmp(key, "orig", 4) != 0 && strncmp(key, "cancelOrig", 10) != 0;
}

/* The canonical text a confirmation is bound to: environment, method,
 * path and the parameters sorted by name, without the client order id and
 * the answer type (which a second call may not repeat). */
static int
view_canonical(struct view *v, const struct bnc_request *req)
{
    struct pair sorted[PAIRS_MAX];
    size_t used;
    int n;

    memcpy(sorted, v->p, sizeof(sorted[0]) * (size_t)v->np);
    qsort(sorted, (size_t)v->np, sizeof(sorted[0]), pair_cmp);
    n = snprintf(v->canonical, sizeof(v->canonical), "%s %s %s",
                 creds_env_name(v->env), req->method, req->path);
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < v->np; i++) {
        if (generated_param(sorted[i].key))
            continue;
        n = snprintf(v->canonical + used, sizeof(v->canonical) - used, " %s=%s",
                     sorted[i].key, sorted[i].value);
        if (n < 0 || (size_t)n >= sizeof(v->canonical) - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}

/* Recognises req. Returns 0, or -1 with a sentence in why. */
static int
view_read(struct view *v, const struct bnc_request *req, enum bnc_env env,
          char *why, size_t len)
{
    const struct mcp_call *call = req->origin;
    size_t i;

    memset(v, 0, sizeof(*v));
    v->env = env;
    v->tool = call != NULL && call->tool != NULL ? call->tool : "(none)";
    for (i = 0; i < sizeof(trade_rules) / sizeof(trade_rules[0]); i++)
        if (strcmp(trade_rules[i].method, req->method) == 0 &&
            strcmp(trade_rules[i].path, req->path) == 0)
            break;
    if (i == sizeof(trade_rules) / sizeof(trade_rules[0])) {
        snprintf(why, len,
                 "Refused: the trading guard has no rule for %s %s, so it "
                 "is not sent. Nothing was sent.",
                 req->method, req->path);
        return -1;
    }
    v->kind = trade_rules[i].kind;
    v->rule = &trade_rules[i];
    v->np = parse_query(req->params != NULL ? req->params->buf : "", v->p,
                        PAIRS_MAX);
    if (v->np < 0 || view_get(v, "symbol") == NULL ||
        view_canonical(v, req) < 0) {
        snprintf(why, len,
                 "Refused: the trading guard cannot read this "
                 "request's parameters. Nothing was sent.");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Valuing a new order                                                 */

/* A plain decimal as a double; -1 when absent or malformed. */
static double
dec(const char *s)
{
    char *end;
    double d;

    if (s == NULL || *s == '\0' || strspn(s, "0123456789.") != strlen(s))
        return -1;
    d = strtod(s, &end);
    return *end == '\0' && isfinite(d) ? d : -1;
}

/* One public read on env. Returns the body (caller puts) or NULL. */
static json_object *
public_get(const char *path, const struct bnc_params *p, enum bnc_env env)
{
    struct bnc_request req = {0};
    struct bnc_response resp;
    json_object *body = NULL;

    req.method = "GET";
    req.path = path;
    req.params = p;
    req.kind = BNC_PUBLIC;
    req.env = &env;
    if (bnc_call(&req, &resp) == 0)
        body = json_object_get(resp.body);
    bnc_response_free(&resp);
    return body;
}

/* The value of taking qty from one side of the book ([[price, qty], ...]).
 * Returns it, or -1 when the book is too thin or malformed. */
static double
walk_side(json_object *levels, double qty)
{
    double left = qty, value = 0;
    size_t n = json_object_is_type(levels, json_type_array)
                   ? json_object_array_length(levels)
                   : 0;

    for (size_t i = 0; i < n && left > 0; i++) {
        json_object *lv = json_object_array_get_idx(levels, i);
        double px =
            dec(json_object_get_string(json_object_array_get_idx(lv, 0)));
        double q =
            dec(json_object_get_string(json_object_array_get_idx(lv, 1)));
        if (!json_object_is_type(lv, json_type_array) || px < 0 || q < 0)
            return -1;
        double take = q < left ? q : left;
        value += take * px;
        left -= take;
    }
    return left > qty * 1e-12 ? -1 : value;
}

/* The value of a market order of qty on symbol's live book: asks for a
 * BUY, bids for a SELL. Returns -1 when it cannot be computed. */
static double
book_value(const char *symbol, const char *side, double qty, enum bnc_env env)
{
    struct bnc_params p;
    json_object *book, *levels = NULL;
    double v;

    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", symbol);
    bnc_params_add(&p, "limit", DEPTH_LIMIT);
    if ((book = public_get("/api/v3/depth", &p, env)) == NULL)
        return -1;
    json_object_object_get_ex(book, strcmp(side, "BUY") == 0 ? "asks" : "bids",
                              &levels);
    v = walk_side(levels, qty);
    json_object_put(book);
    return v;
}

/* The average price of symbol on env, or -1. */
static double
avg_price(const char *symbol, enum bnc_env env)
{
    struct bnc_params p;
    json_object *o, *price;
    double v = -1;

    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", symbol);
    if ((o = public_get("/api/v3/avgPrice", &p, env)) == NULL)
        return -1;
    if (json_object_object_get_ex(o, "price", &price))
        v = dec(json_object_get_string(price));
    json_object_put(o);
    return v;
}

/* USDT per unit of asset: 1 for USDT, else ASSETUSDT's average price, else
 * 1 / USDTASSET's. Returns -1 when neither pair exists. */
static double
usdt_rate(const char *asset, enum bnc_env env)
{
    char pair[40];
    double v;

    if (strcmp(asset, "USDT") == 0)
        return 1;
    snprintf(pair, sizeof(pair), "%sUSDT", asset);
    if ((v = avg_price(pair, env)) > 0)
        return v;
    snprintf(pair, sizeof(pair), "USDT%s", asset);
    if ((v = avg_price(pair, env)) > 0)
        return 1 / v;
    return -1;
}

/* The name of a leg's parameter: "price" for the plain order, "abovePrice"
 * for leg "above". */
static const char *
leg_key(const char *leg, const char *name, char *buf, size_t len)
{
    if (leg[0] == '\0') {
        snprintf(buf, len, "%c%s", (char)(name[0] - 'A' + 'a'), name + 1);
    } else {
        snprintf(buf, len, "%s%s", leg, name);
    }
    return buf;
}

/* A leg's parameter, else its group's (an OTOCO's pendingAbove and
 * pendingBelow share pendingSide and pendingQuantity), else the list's
 * shared one (an OCO's side and quantity). */
static const char *
leg_get(const struct view *v, const char *leg, const char *name)
{
    char key[FIELD_MAX];
    const char *val = view_get(v, leg_key(leg, name, key, sizeof(key)));
    if (val == NULL && strncmp(leg, "pending", 7) == 0 && leg[7] != '\0')
        val = view_get(v, leg_key("pending", name, key, sizeof(key)));
    if (val == NULL && leg[0] != '\0')
        val = view_get(v, leg_key("", name, key, sizeof(key)));
    return val;
}

/* One leg's value in the quote asset: price x quantity; quoteOrderQty;
 * for a market-priced leg the walk of the live book (at least the stop
 * price's value). -1 when it cannot be computed. */
static double
leg_value(struct view *v, const char *leg)
{
    const char *symbol = view_get(v, "symbol"), *side = leg_get(v, leg, "Side");
    double qty = dec(leg_get(v, leg, "Quantity"));
    double price = dec(leg_get(v, leg, "Price"));
    double stop = dec(leg_get(v, leg, "StopPrice"));
    double quote_qty = leg[0] == '\0' ? dec(view_get(v, "quoteOrderQty")) : -1;
    double walked;

    if (quote_qty > 0) {
        v->how = "quote_order_qty";
        return quote_qty;
    }
    if (qty > 0 && price > 0) {
        if (v->how == NULL)
            v->how = "price x quantity";
        return qty * price;
    }
    if (qty <= 0 || side == NULL)
        return -1;
    v->how = "the walk of the live order book";
    walked = book_value(symbol, side, qty, v->env);
    if (walked >= 0 && stop > 0 && stop * qty > walked)
        walked = stop * qty; /* a stop may fill beyond the book of now */
    return walked;
}

static double
max2(double a, double b)
{
    return a < 0 || b < 0 ? -1 : (a > b ? a : b);
}

static double
sum2(double a, double b)
{
    return a < 0 || b < 0 ? -1 : a + b;
}

/* The value of what the request places, by its rule. */
static double
request_value(struct view *v)
{
    switch (v->rule->value) {
    case VALUE_ONE:
        return leg_value(v, "");
    case VALUE_OCO:
        return max2(leg_value(v, "above"), leg_value(v, "below"));
    case VALUE_OTO:
        return sum2(leg_value(v, "working"), leg_value(v, "pending"));
    case VALUE_OTOCO:
        return sum2(
            leg_value(v, "working"),
            max2(leg_value(v, "pendingAbove"), leg_value(v, "pendingBelow")));
    case VALUE_NONE:
        break;
    }
    return -1;
}

/* Values what the request places in its quote asset and in USDT. Returns
 * 0, or -1 with a sentence in why (the request is then refused: fail
 * closed). */
static int
value_order(struct view *v, char *why, size_t len)
{
    const char *symbol = view_get(v, "symbol");
    struct sym_info si;
    struct bnc_response resp;
    double rate;

    if (symcache_get(symbol, &si, &resp) != 0) {
        bnc_response_free(&resp);
        snprintf(why, len, "the quote asset of %s is not known", symbol);
        return -1;
    }
    snprintf(v->quote, sizeof(v->quote), "%s", si.quote);
    v->quote_value = request_value(v);
    if (v->quote_value < 0) {
        snprintf(why, len,
                 "its value could not be computed (a quantity or price is "
                 "missing, or the order book does not hold enough depth or "
                 "could not be read)");
        return -1;
    }
    if ((rate = usdt_rate(v->quote, v->env)) <= 0) {
        snprintf(why, len,
                 "its value in USDT could not be computed (no %sUSDT or "
                 "USDT%s average price)",
                 v->quote, v->quote);
        return -1;
    }
    v->usdt = v->quote_value * rate;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The checks                                                          */

/* Whether symbol matches one glob of a comma-separated list. */
static int
list_matches(const char *list, const char *symbol)
{
    char glob[32];

    while (*list != '\0') {
        size_t n = strcspn(list, ",");
        if (n < sizeof(glob)) {
            memcpy(glob, list, n);
            glob[n] = '\0';
            if (fnmatch(glob, symbol, 0) == 0)
                return 1;
        }
        list += n + (list[n] == ',');
    }
    return 0;
}

/* A refusal: which check, and the sentence for the model and the user. */
struct refusal {
    const char *check;
    char text[BNC_VERDICT_MAX];
};

static int refuse(struct refusal *r, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills r. Returns -1 so that a check can `return refuse(...)`. */
static int
refuse(struct refusal *r, const char *check, const char *fmt, ...)
{
    va_list ap;

    r->check = check;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    return -1;
}

static int
check_symbol(const struct trading_settings *t, const struct view *v,
             struct refusal *r)
{
    const char *symbol = view_get(v, "symbol");

    if (t->allowed_symbols[0] != '\0' &&
        !list_matches(t->allowed_symbols, symbol))
        return refuse(r, "allowed_symbols",
                      "Refused by the operator's limit allowed_symbols "
                      "(%s): %s is not in it. Nothing was sent.",
                      t->allowed_symbols, symbol);
    if (list_matches(t->denied_symbols, symbol))
        return refuse(r, "denied_symbols",
                      "Refused by the operator's limit denied_symbols (%s): "
                      "%s is in it. Nothing was sent.",
                      t->denied_symbols, symbol);
    return 0;
}

/* What is left of the daily cap after spent, for the texts. */
static double
left_today(const struct trading_settings *t, double spent)
{
    double left = t->max_daily_notional - spent;
    return left > 0 ? left : 0;
}

/* The open orders on symbol: *all of them and *algo, those that count
 * towards MAX_NUM_ALGO_ORDERS. Returns 0, or -1 when they could not be
 * read. */
static int
open_orders(const char *symbol, const struct creds *cr, long *all, long *algo)
{
    struct bnc_request req = {0};
    struct bnc_response resp;
    struct bnc_params p;
    int rc = -1;

    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", symbol);
    req.method = "GET";
    req.path = "/api/v3/openOrders";
    req.params = &p;
    req.kind = BNC_READ;
    req.creds = cr;
    if (bnc_call(&req, &resp) == 0 &&
        json_object_is_type(resp.body, json_type_array)) {
        size_t n = json_object_array_length(resp.body);
        *all = (long)n;
        *algo = 0;
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_array_get_idx(resp.body, i), *x;
            const char *type = NULL, *delta = NULL;
            if (json_object_object_get_ex(o, "type", &x) &&
                json_object_is_type(x, json_type_string))
                type = json_object_get_string(x);
            if (json_object_object_get_ex(o, "trailingDelta", &x))
                delta = json_object_get_string(x);
            *algo += type != NULL && filters_is_algo(type, delta);
        }
        rc = 0;
    }
    bnc_response_free(&resp);
    return rc;
}

static const char *const *rule_legs(const struct trade_rule *rule);

/* How many orders and algo orders the request adds. */
static void
orders_added(const struct view *v, int *orders, int *algo)
{
    const char *const *legs = rule_legs(v->rule);

    *orders = *algo = 0;
    for (int i = 0; legs[i] != NULL; i++) {
        const char *type = leg_get(v, legs[i], "Type");
        (*orders)++;
        *algo += type != NULL &&
                 filters_is_algo(type, leg_get(v, legs[i], "TrailingDelta"));
    }
}

/* The open-order limits before a new order: the operator's
 * max_open_orders (orders that cannot be counted are refused) and the
 * symbol's MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS (skipped when they cannot
 * be counted: Binance still applies them). A replace adds nothing. */
static int
check_open_orders(const struct trading_settings *t, struct view *v,
                  const struct creds *cr, struct refusal *r)
{
    const char *symbol = view_get(v, "symbol");
    json_object *sym = NULL;
    long all = -1, algo = -1;
    int adding, adding_algo, counted;
    char why[256];

    if (v->kind == TRADE_REPLACE)
        return 0;
    orders_added(v, &adding, &adding_algo);
    counted = open_orders(symbol, cr, &all, &algo) == 0;
    if (t->max_open_orders > 0 && !counted)
        return refuse(r, "max_open_orders",
                      "Refused: the open orders of %s could not be "
                      "counted for the operator's limit "
                      "max_open_orders. Nothing was sent.",
                      symbol);
    if (t->max_open_orders > 0 && all + adding > t->max_open_orders)
        return refuse(r, "max_open_orders",
                      "Refused by the operator's limit max_open_orders: "
                      "%d open orders per symbol; %s has %ld already and "
                      "this would add %d. Nothing was sent.",
                      t->max_open_orders, symbol, all, adding);
    if (!counted || symcache_get_json(symbol, &sym, NULL) != 0)
        return 0;
    int rc = filters_check_counts(sym, all, algo, adding, adding_algo, why,
                                  sizeof(why));
    json_object_put(sym);
    if (rc < 0)
        return refuse(r, "filters",
                      "Refused before sending: Binance would reject this "
                      "(-1013). %s Nothing was sent.",
                      why);
    return 0;
}

/* The checks of a new order: mainnet cap set, value known and within the
 * per-order and daily caps (check_open_orders counts the open orders). */
static int
check_new_order(const struct trading_settings *t, struct view *v,
                const char *key_fp, struct refusal *r)
{
    char why[256], err[256];

    if (v->env == BNC_ENV_MAINNET && t->max_order_notional <= 0)
        return refuse(r, "max_order_notional",
                      "Refused: mainnet orders need the operator's limit "
                      "max_order_notional (USDT per order), which is not "
                      "set. The operator sets it in binmcpd.conf "
                      "(max_order_notional = 100), with "
                      "--max-order-notional or BINMCPD_MAX_ORDER_NOTIONAL. "
                      "Nothing was sent.");
    if (value_order(v, why, sizeof(why)) < 0)
        return refuse(r, "notional",
                      "Refused: the order's value is needed for the "
                      "operator's limits, but %s. Nothing was sent.",
                      why);
    if (t->max_order_notional > 0 && v->usdt > t->max_order_notional + 1e-9)
        return refuse(r, "max_order_notional",
                      "Refused by the operator's limit max_order_notional: "
                      "%.8g USDT per order; this order is worth about %.8g "
                      "USDT (%.8g %s, from %s). Nothing was sent.",
                      t->max_order_notional, v->usdt, v->quote_value, v->quote,
                      v->how);
    if (t->max_daily_notional > 0) {
        if (jr == NULL)
            return refuse(r, "journal",
                          "Refused: the audit journal is not available (%s). "
                          "Nothing was sent.",
                          journal_why);
        if (journal_spent(jr, key_fp, now_ms(), &v->spent, err, sizeof(err)) <
            0)
            return refuse(r, "journal",
                          "Refused: the audit journal could not be read "
                          "(%s). Nothing was sent.",
                          err);
        if (v->spent + v->usdt > t->max_daily_notional + 1e-9)
            return refuse(r, "max_daily_notional",
                          "Refused by the operator's limit "
                          "max_daily_notional: %.8g USDT per 24 hours; "
                          "this order would use %.8g USDT, %.8g USDT is "
                          "committed already, %.8g USDT is left today. "
                          "Nothing was sent.",
                          t->max_daily_notional, v->usdt, v->spent,
                          left_today(t, v->spent));
    }
    return 0;
}

/* The legs of a rule's request: "" for one order, the leg prefixes of a
 * list; NULL-terminated. */
static const char *const *
rule_legs(const struct trade_rule *rule)
{
    static const char *const one[] = {"", NULL};
    static const char *const oco[] = {"above", "below", NULL};
    static const char *const oto[] = {"working", "pending", NULL};
    static const char *const otoco[] = {"working", "pendingAbove",
                                        "pendingBelow", NULL};
    switch (rule->value) {
    case VALUE_OCO:
        return oco;
    case VALUE_OTO:
        return oto;
    case VALUE_OTOCO:
        return otoco;
    default:
        return one;
    }
}

/* Checks every leg of a new order against the symbol's exchangeInfo
 * filters, so that Binance's -1013 is avoided before anything is signed. */
static int
check_filters(struct view *v, struct refusal *r)
{
    const char *const *legs = rule_legs(v->rule);
    const char *symbol = view_get(v, "symbol");
    json_object *sym = NULL;
    struct bnc_response resp;
    char why[512], ref[40] = "";
    double avg;

    if (symcache_get_json(symbol, &sym, &resp) != 0) {
        bnc_response_free(&resp);
        return refuse(r, "filters",
                      "Refused: %s is not a symbol Binance lists, or its "
                      "rules could not be read. Nothing was sent.",
                      symbol);
    }
    if ((avg = avg_price(symbol, v->env)) > 0)
        snprintf(ref, sizeof(ref), "%.8f", avg);
    for (int i = 0; legs[i] != NULL; i++) {
        const char *leg = legs[i];
        struct filters_leg fl = {
            .type = leg_get(v, leg, "Type"),
            .side = leg_get(v, leg, "Side"),
            .quantity = leg_get(v, leg, "Quantity"),
            .quote_order_qty =
                leg[0] == '\0' ? view_get(v, "quoteOrderQty") : NULL,
            .price = leg_get(v, leg, "Price"),
            .stop_price = leg_get(v, leg, "StopPrice"),
            .trailing_delta = leg_get(v, leg, "TrailingDelta"),
            .iceberg_qty = leg_get(v, leg, "IcebergQty"),
            .time_in_force = leg_get(v, leg, "TimeInForce"),
            .ref_price = ref[0] != '\0' ? ref : NULL,
        };
        if (filters_check_leg(sym, &fl, why, sizeof(why)) < 0) {
            json_object_put(sym);
            return refuse(r, "filters",
                          "Refused before sending: Binance would reject "
                          "this%s%s%s (-1013). %s Nothing was sent.",
                          leg[0] != '\0' ? " (leg " : "", leg,
                          leg[0] != '\0' ? ")" : "", why);
        }
    }
    json_object_put(sym);
    return 0;
}

/* The operator's checks, in order, up to the first refusal: symbols, then
 * for what places a new order the symbol's filters, the value and the
 * limits. */
static int
run_checks(const struct trading_settings *t, struct view *v, const char *fp,
           const struct creds *cr, struct refusal *r)
{
    if (check_symbol(t, v, r) < 0)
        return -1;
    if (kind_spends(v->kind) &&
        (check_filters(v, r) < 0 || check_new_order(t, v, fp, r) < 0 ||
         check_open_orders(t, v, cr, r) < 0))
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The summary a human confirms                                        */

static void sum_add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sum_add(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* Appends " name value" when the parameter is present. */
static void
sum_param(char *buf, size_t len, const struct view *v, const char *label,
          const char *key)
{
    const char *val = view_get(v, key);
    if (val != NULL)
        sum_add(buf, len, ", %s %s", label, val);
}

/* Exactly what will happen, for the elicitation message and the token
 * answer: environment, the order, its value and the limits it counts
 * against. */
static void
summary(const struct trading_settings *t, const struct view *v, char *buf,
        size_t len)
{
    const char *env = v->env == BNC_ENV_MAINNET ? "MAINNET (real money)"
                      : v->env == BNC_ENV_DEMO  ? "demo mode (simulated money)"
                                                : "testnet";
    const char *symbol = view_get(v, "symbol");

    buf[0] = '\0';
    if (v->kind == TRADE_CANCEL && v->rule->value == VALUE_NONE &&
        strcmp(v->rule->path, "/api/v3/order") == 0) {
        const char *id = view_get(v, "orderId");
        sum_add(buf, len, "%s: cancel the order %s%s on %s.", env,
                id != NULL ? "" : "with client order id ",
                id != NULL ? id : view_get(v, "origClientOrderId"), symbol);
        return;
    }
    if (v->kind == TRADE_CANCEL_ALL) {
        sum_add(buf, len, "%s: cancel EVERY open order on %s.", env, symbol);
        return;
    }
    if (v->kind == TRADE_PLACE) {
        sum_add(buf, len, "%s: %s %s order on %s", env, view_get(v, "side"),
                view_get(v, "type"), symbol);
        sum_param(buf, len, v, "quantity", "quantity");
        sum_param(buf, len, v, "spending (quote)", "quoteOrderQty");
        sum_param(buf, len, v, "price", "price");
        sum_param(buf, len, v, "stop price", "stopPrice");
        sum_param(buf, len, v, "trailing delta", "trailingDelta");
        sum_param(buf, len, v, "time in force", "timeInForce");
        sum_param(buf, len, v, "iceberg quantity", "icebergQty");
    } else {
        /* every parameter, as it will be sent */
        int shown = 0;
        sum_add(buf, len, "%s: %s on %s:", env, v->rule->label, symbol);
        for (int i = 0; i < v->np; i++)
            if (strcmp(v->p[i].key, "symbol") != 0 &&
                !generated_param(v->p[i].key))
                sum_add(buf, len, "%s %s %s", shown++ > 0 ? "," : "",
                        v->p[i].key, v->p[i].value);
        sum_add(buf, len, ".");
    }
    if (!kind_spends(v->kind))
        return;
    sum_add(buf, len, "%s Estimated value: %.8g %s = %.8g USDT (from %s).",
            v->kind == TRADE_PLACE ? "." : "", v->quote_value, v->quote,
            v->usdt, v->how);
    if (t->max_order_notional > 0)
        sum_add(buf, len, " Limit per order: %.8g USDT.",
                t->max_order_notional);
    if (t->max_daily_notional > 0)
        sum_add(buf, len,
                " Daily limit: %.8g USDT, %.8g committed, %.8g left before "
                "this order.",
                t->max_daily_notional, v->spent, left_today(t, v->spent));
}

/* ------------------------------------------------------------------ */
/* The confirmation                                                    */

/* The form binmcpd asks the user to fill in: one boolean, confirm. */
static json_object *
elicitation_params(const struct mcp_call *call, const char *message)
{
    json_object *p = json_object_new_object(), *schema, *props, *confirm, *req;

    schema = json_object_new_object();
    props = json_object_new_object();
    confirm = json_object_new_object();
    req = json_object_new_array();
    json_object_object_add(confirm, "type", json_object_new_string("boolean"));
    json_object_object_add(confirm, "title",
                           json_object_new_string("Send this order"));
    json_object_object_add(
        confirm, "description",
        json_object_new_string("Tick to send exactly this order to Binance."));
    json_object_object_add(confirm, "default", json_object_new_boolean(0));
    json_object_object_add(props, "confirm", confirm);
    json_object_array_add(req, json_object_new_string("confirm"));
    json_object_object_add(schema, "type", json_object_new_string("object"));
    json_object_object_add(schema, "properties", props);
    json_object_object_add(schema, "required", req);
    if (mcp_session_elicitation_mode(call->sess))
        json_object_object_add(p, "mode", json_object_new_string("form"));
    json_object_object_add(p, "message", json_object_new_string(message));
    json_object_object_add(p, "requestedSchema", schema);
    return p;
}

/* Asks the user through the client. Returns 0 when the user accepted with
 * confirm: true, else -1 with r saying what happened. */
static int
confirm_by_elicitation(struct mcp_call *call, const struct trading_settings *t,
                       const char *sum, struct refusal *r)
{
    char message[SUMMARY_MAX + 160], err[256];
    json_object *params, *result = NULL, *action, *content, *confirm;
    char action_buf[16] = "";
    const char *a = NULL;

    snprintf(message, sizeof(message),
             "Confirm this order (binmcpd, on behalf of the assistant). %s",
             sum);
    params = elicitation_params(call, message);
    int rc = mcp_call_request(call, "elicitation/create", params, "elicitation",
                              t->confirmation_timeout_s * 1000, &result, err,
                              sizeof(err));
    json_object_put(params);
    if (rc < 0)
        return refuse(r, "confirmation",
                      "Refused: the user's confirmation was asked for, but "
                      "%s. Nothing was sent.",
                      err);
    /* copied: the answer is released before the verdict is written */
    if (json_object_object_get_ex(result, "action", &action) &&
        json_object_is_type(action, json_type_string)) {
        snprintf(action_buf, sizeof(action_buf), "%s",
                 json_object_get_string(action));
        a = action_buf;
    }
    int yes = a != NULL && strcmp(a, "accept") == 0 &&
              json_object_object_get_ex(result, "content", &content) &&
              json_object_object_get_ex(content, "confirm", &confirm) &&
              json_object_is_type(confirm, json_type_boolean) &&
              json_object_get_boolean(confirm);
    json_object_put(result);
    if (yes)
        return 0;
    if (a != NULL && strcmp(a, "decline") == 0)
        return refuse(r, "confirmation",
                      "Refused: the user declined the order. Nothing was "
                      "sent.");
    if (a != NULL && strcmp(a, "cancel") == 0)
        return refuse(r, "confirmation",
                      "Refused: the user cancelled the confirmation. Nothing "
                      "was sent.");
    if (a != NULL && strcmp(a, "accept") == 0)
        return refuse(r, "confirmation",
                      "Refused: the user did not tick confirm. Nothing was "
                      "sent.");
    return refuse(r, "confirmation",
                  "Refused: the client's answer to the confirmation was "
                  "malformed. Nothing was sent.");
}

/* The token way: the first call gets a token, the same order with it
 * goes out. Returns 0 when a valid token was redeemed, else -1. */
static int
confirm_by_token(struct mcp_call *call, const struct view *v, const char *sum,
                 struct refusal *r)
{
    const char *session = call->sess != NULL ? call->sess->id : "";
    json_object *tok = NULL;
    char token[CONFIRM_TOKEN_LEN + 1];

    if (call->args != NULL &&
        json_object_object_get_ex(call->args, "confirmation_token", &tok) &&
        json_object_is_type(tok, json_type_string)) {
        enum confirm_verdict cv =
            confirm_redeem(tokens, session, v->canonical,
                           json_object_get_string(tok), now_ms());
        if (cv == CONFIRM_OK)
            return 0;
        return refuse(r, "confirmation_token",
                      "Refused: %s. Nothing was sent. Call %s again without "
                      "confirmation_token to get a new summary and token for "
                      "the user to approve.",
                      confirm_verdict_text(cv), v->tool);
    }
    if (confirm_issue(tokens, session, v->canonical, now_ms(), CONFIRM_TTL_MS,
                      token, sizeof(token)) < 0)
        return refuse(r, "confirmation",
                      "Refused: no confirmation token could be made. Nothing "
                      "was sent.");
    return refuse(r, "confirmation",
                  "CONFIRMATION REQUIRED. Nothing was sent. Show the user "
                  "this order and ask whether to send it: %s If, and only "
                  "if, the user approves this exact order, call %s again "
                  "with the same arguments plus confirmation_token \"%s\" "
                  "(valid for %d s, once, in this session only).",
                  sum, v->tool, token, CONFIRM_TTL_MS / 1000);
}

/* How this call would be confirmed: "off", "not required",
 * "elicitation" or "token". */
static const char *
confirmation_mode(const struct mcp_call *call, const struct trading_settings *t,
                  enum bnc_env env)
{
    if (t->confirmation == OC_OFF)
        return "off";
    if (!t->confirm_always && env != BNC_ENV_MAINNET)
        return "not required";
    if (t->confirmation == OC_ELICITATION ||
        (t->confirmation == OC_AUTO && call != NULL && call->sess != NULL &&
         call->sess->client_elicitation))
        return "elicitation";
    return "token";
}

/* Confirms when the rules ask for it. *how gets how it was confirmed. */
static int
check_confirmation(struct mcp_call *call, const struct trading_settings *t,
                   const struct view *v, const char **how, struct refusal *r)
{
    char sum[SUMMARY_MAX];

    *how = confirmation_mode(call, t, v->env);
    if (strcmp(*how, "off") == 0 || strcmp(*how, "not required") == 0)
        return 0;
    if (call == NULL)
        return refuse(r, "confirmation",
                      "Refused: this order needs a confirmation and there is "
                      "no session to ask. Nothing was sent.");
    summary(t, v, sum, sizeof(sum));
    return strcmp(*how, "elicitation") == 0
               ? confirm_by_elicitation(call, t, sum, r)
               : confirm_by_token(call, v, sum, r);
}

/* ------------------------------------------------------------------ */
/* The gate                                                            */

/* What admit hands settle. */
struct ticket {
    int64_t id;
    const struct trade_rule *rule;
    enum bnc_env env;
    char symbol[24];
    char lookup_param[24];        /* GET rule->lookup_path with this */
    char lookup_value[FIELD_MAX]; /* ... set to this; "" when none */
    const struct creds *creds;    /* the request's, alive until settle */
};

/* A JSON number for an estimate, printed with 10 significant digits
 * (12500.004, not 12500.003999999999). */
static json_object *
estimate_number(double v)
{
    char text[40];
    snprintf(text, sizeof(text), "%.10g", v);
    return json_object_new_double_s(v, text);
}

/* See guard.h. */
json_object *
guard_status(const struct creds *cr)
{
    static const char *const modes[] = {"auto", "elicitation", "token", "off"};
    struct trading_settings t;
    char fp[FP_LEN + 1] = "", err[256];
    double spent = 0;
    json_object *out;

    if (shared == NULL || (out = json_object_new_object()) == NULL)
        return NULL;
    rules_get(&t);
    json_object_object_add(out, "orderConfirmation",
                           json_object_new_string(modes[t.confirmation]));
    json_object_object_add(
        out, "confirmOn",
        json_object_new_string(t.confirm_always ? "always" : "mainnet"));
    json_object_object_add(out, "confirmationTimeoutSeconds",
                           json_object_new_int(t.confirmation_timeout_s));
    if (t.max_order_notional > 0)
        json_object_object_add(out, "maxOrderNotional",
                               estimate_number(t.max_order_notional));
    if (t.max_daily_notional > 0)
        json_object_object_add(out, "maxDailyNotional",
                               estimate_number(t.max_daily_notional));
    json_object_object_add(out, "allowedSymbols",
                           json_object_new_string(t.allowed_symbols[0] != '\0'
                                                      ? t.allowed_symbols
                                                      : "*"));
    json_object_object_add(out, "deniedSymbols",
                           json_object_new_string(t.denied_symbols));
    json_object_object_add(out, "maxOpenOrders",
                           json_object_new_int(t.max_open_orders));
    json_object_object_add(out, "journalAvailable",
                           json_object_new_boolean(jr != NULL));
    if (cr != NULL && jr != NULL &&
        guard_key_fingerprint(cr->key, fp, sizeof(fp)) == 0 &&
        journal_spent(jr, fp, now_ms(), &spent, err, sizeof(err)) == 0) {
        json_object_object_add(out, "committedToday", estimate_number(spent));
        if (t.max_daily_notional > 0)
            json_object_object_add(out, "leftToday",
                                   estimate_number(left_today(&t, spent)));
    }
    return out;
}

/* See guard.h. */
json_object *
guard_preview(struct mcp_call *call, const struct bnc_request *req)
{
    struct trading_settings t;
    struct view *v = calloc(1, sizeof(*v));
    struct refusal r = {0};
    char fp[FP_LEN + 1] = "";
    json_object *out = json_object_new_object(), *lim;
    enum bnc_env env;

    if (v == NULL || out == NULL || shared == NULL || req->creds == NULL) {
        free(v);
        json_object_put(out);
        return NULL;
    }
    env = req->creds->env;
    rules_get(&t);
    guard_key_fingerprint(req->creds->key, fp, sizeof(fp));
    int refused = view_read(v, req, env, r.text, sizeof(r.text)) < 0 ||
                  run_checks(&t, v, fp, req->creds, &r) < 0;
    json_object_object_add(out, "wouldBeSent",
                           json_object_new_boolean(!refused));
    if (refused) {
        json_object_object_add(out, "refusedBy",
                               json_object_new_string(r.check != NULL
                                                          ? r.check
                                                          : "unknown_request"));
        json_object_object_add(out, "reason", json_object_new_string(r.text));
    }
    json_object_object_add(out, "environment",
                           json_object_new_string(creds_env_name(env)));
    if (v->how != NULL && v->usdt > 0) {
        json_object_object_add(out, "notional",
                               estimate_number(v->quote_value));
        json_object_object_add(out, "quoteAsset",
                               json_object_new_string(v->quote));
        json_object_object_add(out, "notionalUsdt", estimate_number(v->usdt));
        json_object_object_add(out, "valuedFrom",
                               json_object_new_string(v->how));
    }
    lim = json_object_new_object();
    if (t.max_order_notional > 0)
        json_object_object_add(lim, "maxOrderNotional",
                               estimate_number(t.max_order_notional));
    if (t.max_daily_notional > 0) {
        double spent = 0;
        char err[256];
        if (jr != NULL &&
            journal_spent(jr, fp, now_ms(), &spent, err, sizeof(err)) == 0) {
            json_object_object_add(lim, "committedToday",
                                   estimate_number(spent));
            json_object_object_add(lim, "leftToday",
                                   estimate_number(left_today(&t, spent)));
        }
        json_object_object_add(lim, "maxDailyNotional",
                               estimate_number(t.max_daily_notional));
    }
    if (t.max_open_orders > 0)
        json_object_object_add(lim, "maxOpenOrders",
                               json_object_new_int(t.max_open_orders));
    json_object_object_add(out, "limits", lim);
    json_object_object_add(
        out, "confirmation",
        json_object_new_string(confirmation_mode(call, &t, env)));
    free(v);
    return out;
}

int
guard_key_fingerprint(const char *key, char *out, size_t len)
{
    unsigned char d[32];
    static const char hex[] = "0123456789abcdef";

    if (len < FP_LEN + 1 ||
        gnutls_hash_fast(GNUTLS_DIG_SHA256, key, strlen(key), d) != 0)
        return -1;
    for (int i = 0; i < FP_LEN / 2; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[FP_LEN] = '\0';
    return 0;
}

/* The journal's picture of the request. Strings point into v, fp, masked
 * and sess, which must outlive its use. */
static void
intent_fill(struct journal_intent *in, const struct view *v,
            const struct bnc_request *req, const char *fp, const char *masked,
            const char *sess)
{
    memset(in, 0, sizeof(*in));
    in->key_fp = fp;
    in->key_masked = masked;
    in->environment = creds_env_name(v->env);
    in->session = sess;
    in->tool = v->tool;
    in->method = req->method;
    in->path = req->path;
    in->request = v->canonical;
    in->symbol = view_get(v, "symbol");
    in->side = view_get(v, "side");
    in->type = view_get(v, "type");
    in->quantity = view_get(v, "quantity") != NULL
                       ? view_get(v, "quantity")
                       : view_get(v, "quoteOrderQty");
    in->price = view_get(v, "price");
    in->client_order_id = view_get(v, "newClientOrderId");
    if (in->client_order_id == NULL)
        in->client_order_id = view_get(v, "listClientOrderId");
    if (in->client_order_id == NULL)
        in->client_order_id = view_get(v, "origClientOrderId");
    in->notional_usdt = kind_spends(v->kind) ? v->usdt : -1;
}

/* Where one read finds the truth after an unknown outcome: the rule's
 * lookup parameter, or for a request that named its object by client id
 * (origClientOrderId, listClientOrderId) that id. */
static void
ticket_lookup(struct ticket *tk, const struct view *v)
{
    const char *src = tk->rule->lookup_source, *param = tk->rule->lookup_param;
    const char *val;

    if (src == NULL)
        return;
    val = view_get(v, src);
    if (val == NULL && strcmp(src, "orderId") == 0) {
        val = view_get(v, "origClientOrderId");
        param = "origClientOrderId";
    } else if (val == NULL && strcmp(src, "orderListId") == 0) {
        val = view_get(v, "listClientOrderId");
        param = "origClientOrderId";
    }
    snprintf(tk->lookup_param, sizeof(tk->lookup_param), "%s", param);
    snprintf(tk->lookup_value, sizeof(tk->lookup_value), "%s",
             val != NULL ? val : "");
}

/* Journals a refusal and hands its sentence to the caller. */
static int
admit_refused(struct journal_intent *in, const struct refusal *r,
              struct bnc_response *resp)
{
    char err[256];

    snprintf(resp->verdict, sizeof(resp->verdict), "%s", r->text);
    if (jr != NULL && in != NULL &&
        journal_refusal(jr, in, r->check, r->text, now_ms(), NULL, err,
                        sizeof(err)) < 0)
        log_error("trading guard: a refusal could not be journaled: %s", err);
    log_info("trading guard: refused %s %s (%s)", in != NULL ? in->tool : "",
             in != NULL && in->symbol != NULL ? in->symbol : "", r->check);
    return -1;
}

/* Runs the checks, then records the intent. */
static int
guard_admit(void *arg, const struct bnc_request *req, enum bnc_env env,
            void **ticket_out, struct bnc_response *resp)
{
    struct trading_settings t;
    struct view *v = calloc(1, sizeof(*v));
    struct journal_intent in;
    struct refusal r = {0};
    struct mcp_call *call = req->origin;
    char fp[FP_LEN + 1] = "", masked[32] = "", sess[16] = "", err[256];
    const char *how = "";
    int64_t id = 0;
    int rc;

    (void)arg;
    if (v == NULL || shared == NULL) {
        free(v);
        snprintf(resp->verdict, sizeof(resp->verdict),
                 "Refused: the trading guard is not set up. Nothing was "
                 "sent.");
        return -1;
    }
    rules_get(&t);
    guard_key_fingerprint(req->creds->key, fp, sizeof(fp));
    creds_mask(req->creds->key, masked, sizeof(masked));
    if (call != NULL && call->sess != NULL)
        snprintf(sess, sizeof(sess), "%.8s", call->sess->id);
    if (view_read(v, req, env, r.text, sizeof(r.text)) < 0) {
        r.check = "unknown_request";
        rc = admit_refused(NULL, &r, resp);
        free(v);
        return rc;
    }
    intent_fill(&in, v, req, fp, masked, sess);
    if (jr == NULL) {
        refuse(&r, "journal",
               "Refused: the audit journal is not available (%s), and no "
               "order is sent that cannot be recorded. Nothing was sent.",
               journal_why);
        rc = admit_refused(&in, &r, resp);
        free(v);
        return rc;
    }
    if (run_checks(&t, v, fp, req->creds, &r) < 0 ||
        check_confirmation(call, &t, v, &how, &r) < 0) {
        intent_fill(&in, v, req, fp, masked, sess);
        rc = admit_refused(&in, &r, resp);
        free(v);
        return rc;
    }
    intent_fill(&in, v, req, fp, masked, sess);
    in.confirmation = how;
    rc =
        journal_intent(jr, &in, kind_spends(v->kind) ? t.max_daily_notional : 0,
                       now_ms(), &id, &v->spent, err, sizeof(err));
    if (rc != 0) {
        if (rc > 0)
            snprintf(resp->verdict, sizeof(resp->verdict),
                     "Refused by the operator's limit max_daily_notional: "
                     "%.8g USDT per 24 hours; this order would use %.8g USDT "
                     "and %.8g USDT is committed already (another order took "
                     "the rest first). Nothing was sent.",
                     t.max_daily_notional, v->usdt, v->spent);
        else
            snprintf(resp->verdict, sizeof(resp->verdict),
                     "Refused: the intent could not be written to the audit "
                     "journal (%s). Nothing was sent.",
                     err);
        free(v);
        return -1;
    }
    struct ticket *tk = calloc(1, sizeof(*tk));
    if (tk == NULL) {
        struct journal_outcome o = {.outcome = "refused",
                                    .check = "internal",
                                    .message = "out of memory",
                                    .order_id = -1,
                                    .order_list_id = -1};
        journal_outcome(jr, id, &o, now_ms(), err, sizeof(err));
        snprintf(resp->verdict, sizeof(resp->verdict),
                 "Refused: out of memory. Nothing was sent.");
        free(v);
        return -1;
    }
    tk->id = id;
    tk->rule = v->rule;
    tk->env = env;
    tk->creds = req->creds;
    snprintf(tk->symbol, sizeof(tk->symbol), "%s", view_get(v, "symbol"));
    ticket_lookup(tk, v);
    *ticket_out = tk;
    log_info("trading guard: journal #%lld: %s %s on %s (%s), confirmation: "
             "%s",
             (long long)id, v->tool, req->path, in.symbol, creds_env_name(env),
             how);
    free(v);
    return 0;
}

/* A JSON integer member, or -1. */
static int64_t
member_int(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_int))
        return -1;
    return json_object_get_int64(v);
}

/* A JSON string member, or NULL. */
static const char *
member_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Whether a failure leaves the outcome open (as tu_outcome_unknown). */
static int
outcome_unknown(const struct bnc_response *resp)
{
    switch (resp->status) {
    case BNC_ERR_SERVER:
    case BNC_ERR_TIMEOUT:
    case BNC_ERR_NETWORK:
    case BNC_ERR_CANCELLED:
    case BNC_ERR_BAD_RESPONSE:
        return resp->sent;
    default:
        return 0;
    }
}

/* One read of the order after an unknown outcome (never a resend). Fills
 * o (status, ids) and resp->verdict/reconciled. Returns 0 when Binance
 * answered (o->status is its status, or NOT_FOUND), -1 when the read
 * failed too. */
static int
reconcile(const struct ticket *tk, struct journal_outcome *o,
          struct bnc_response *resp)
{
    struct bnc_request req = {0};
    struct bnc_response r;
    struct bnc_params p;
    static __thread char status[32];
    int rc = -1;

    if (tk->rule->lookup_path == NULL || tk->lookup_value[0] == '\0')
        return -1;
    bnc_params_init(&p);
    if (strcmp(tk->rule->lookup_path, "/api/v3/order") == 0)
        bnc_params_add(&p, "symbol", tk->symbol);
    bnc_params_add(&p, tk->lookup_param, tk->lookup_value);
    req.method = "GET";
    req.path = tk->rule->lookup_path;
    req.params = &p;
    req.kind = BNC_READ;
    req.creds = tk->creds;
    if (bnc_call(&req, &r) == 0) {
        const char *st = member_str(r.body, "status");
        if (st == NULL)
            st = member_str(r.body, "listOrderStatus");
        snprintf(status, sizeof(status), "%s", st != NULL ? st : "UNKNOWN");
        o->status = status;
        o->order_id = member_int(r.body, "orderId");
        o->order_list_id = member_int(r.body, "orderListId");
        snprintf(
            resp->verdict, sizeof(resp->verdict),
            "binmcpd then looked it up once (never resent): Binance "
            "reports it as %s (%s %lld).",
            status, o->order_id >= 0 ? "orderId" : "orderListId",
            (long long)(o->order_id >= 0 ? o->order_id : o->order_list_id));
        resp->reconciled = json_object_get(r.body);
        rc = 0;
    } else if (r.status == BNC_ERR_API &&
               (r.api_code == -2013 || r.api_code == -2011 ||
                r.api_code == -2018)) {
        o->status = "NOT_FOUND";
        snprintf(resp->verdict, sizeof(resp->verdict),
                 "binmcpd then looked the order up once (never resent): "
                 "Binance knows no such order, so it was not placed.");
        rc = 0;
    } else {
        snprintf(resp->verdict, sizeof(resp->verdict),
                 "binmcpd's one lookup of the order failed too (%s); its "
                 "state is still unknown.",
                 bnc_status_name(r.status));
    }
    bnc_response_free(&r);
    return rc;
}

/* Journals what happened to an admitted request. */
static void
guard_settle(void *arg, const struct bnc_request *req, void *ticket,
             struct bnc_response *resp)
{
    struct ticket *tk = ticket;
    struct journal_outcome o = {.order_id = -1, .order_list_id = -1};
    char err[256], detail[320];

    (void)arg;
    (void)req;
    if (tk == NULL)
        return;
    o.http_status = resp->http_status;
    if (resp->status == BNC_OK) {
        json_object *b = resp->body, *sub;
        /* cancel-replace answers the new order inside newOrderResponse;
         * amend inside amendedOrder */
        if (json_object_object_get_ex(b, "newOrderResponse", &sub) ||
            json_object_object_get_ex(b, "amendedOrder", &sub))
            b = sub;
        o.outcome = "accepted";
        o.status = member_str(b, "status");
        if (o.status == NULL)
            o.status = member_str(b, "listOrderStatus");
        o.order_id = member_int(b, "orderId");
        o.order_list_id = member_int(b, "orderListId");
    } else if (!resp->sent) {
        o.outcome = "refused";
        o.check = "not_sent";
        o.message = resp->detail;
    } else if (outcome_unknown(resp)) {
        o.outcome = "unknown";
        snprintf(detail, sizeof(detail), "%s: %s",
                 bnc_status_name(resp->status), resp->detail);
        o.detail = detail;
    } else {
        o.outcome = "rejected";
        o.code = resp->api_code;
        o.message = resp->api_msg[0] != '\0' ? resp->api_msg : resp->detail;
    }
    if (journal_outcome(jr, tk->id, &o, now_ms(), err, sizeof(err)) < 0)
        log_error("trading guard: journal #%lld: the outcome could not be "
                  "written: %s",
                  (long long)tk->id, err);
    if (strcmp(o.outcome, "unknown") == 0) {
        struct journal_outcome rec = {
            .outcome = "reconciled", .order_id = -1, .order_list_id = -1};
        if (reconcile(tk, &rec, resp) == 0 &&
            journal_outcome(jr, tk->id, &rec, now_ms(), err, sizeof(err)) < 0)
            log_error("trading guard: journal #%lld: the reconciliation "
                      "could not be written: %s",
                      (long long)tk->id, err);
    }
    log_info("trading guard: journal #%lld: %s", (long long)tk->id, o.outcome);
    free(tk);
}

/* ------------------------------------------------------------------ */
/* Opening, orphans                                                    */

/* mkdir -p of path's directory, mode 0700. */
static void
make_parent(const char *path)
{
    char dir[TRADING_PATH_MAX];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
        return;
    *slash = '\0';
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        (void)mkdir(dir, 0700);
        *p = '/';
    }
    (void)mkdir(dir, 0700);
}

/* Settles an orphan: reports it and, with the key's credentials, reads
 * the order once. */
static void
settle_orphan(const struct journal_orphan *o, const struct creds *cr)
{
    char fp[FP_LEN + 1] = "", err[256];
    struct ticket tk = {0};
    struct journal_outcome rec = {
        .outcome = "reconciled", .order_id = -1, .order_list_id = -1};
    struct bnc_response resp;

    log_warnx("trading guard: unresolved intent #%lld (%s %s on %s, client "
              "order id %s, %s): its process ended before it heard Binance's "
              "answer",
              (long long)o->id, o->method, o->path, o->symbol,
              o->client_order_id[0] != '\0' ? o->client_order_id : "none",
              o->environment);
    for (size_t i = 0; i < sizeof(trade_rules) / sizeof(trade_rules[0]); i++)
        if (strcmp(trade_rules[i].method, o->method) == 0 &&
            strcmp(trade_rules[i].path, o->path) == 0 &&
            kind_spends(trade_rules[i].kind))
            tk.rule = &trade_rules[i];
    if (cr == NULL || !cr->set ||
        guard_key_fingerprint(cr->key, fp, sizeof(fp)) < 0 ||
        strcmp(fp, o->key_fp) != 0 ||
        strcmp(creds_env_name(cr->env), o->environment) != 0 ||
        tk.rule == NULL || o->client_order_id[0] == '\0') {
        log_warnx("trading guard: intent #%lld is not reconciled here (not "
                  "the daemon's key, or not a placement): look it up with "
                  "get_order or get_order_list",
                  (long long)o->id);
        return;
    }
    tk.id = o->id;
    tk.creds = cr;
    snprintf(tk.symbol, sizeof(tk.symbol), "%s", o->symbol);
    snprintf(tk.lookup_param, sizeof(tk.lookup_param), "%s",
             tk.rule->lookup_param);
    snprintf(tk.lookup_value, sizeof(tk.lookup_value), "%s",
             o->client_order_id);
    memset(&resp, 0, sizeof(resp));
    if (reconcile(&tk, &rec, &resp) == 0 &&
        journal_outcome(jr, o->id, &rec, now_ms(), err, sizeof(err)) == 0)
        log_warnx("trading guard: intent #%lld reconciled: %s",
                  (long long)o->id, rec.status);
    else
        log_warnx("trading guard: intent #%lld: %s", (long long)o->id,
                  resp.verdict);
    bnc_response_free(&resp);
}

static void
settle_orphans(const struct creds *cr)
{
    struct journal_orphan o[ORPHANS_MAX];
    char err[256];
    int n =
        journal_claim_orphans(jr, o, ORPHANS_MAX, now_ms(), err, sizeof(err));

    if (n < 0)
        log_error("trading guard: unresolved intents could not be read: %s",
                  err);
    for (int i = 0; i < n; i++)
        settle_orphan(&o[i], cr);
}

int
guard_open(const struct creds *daemon_creds, char *err, size_t errlen)
{
    struct trading_settings t;
    struct bnc_trade_gate gate = {guard_admit, guard_settle, NULL};

    bnc_set_trade_gate(&gate);
    if (shared == NULL) {
        snprintf(journal_why, sizeof(journal_why), "the guard is not set up");
        snprintf(err, errlen, "trading guard: not set up");
        return -1;
    }
    rules_get(&t);
    make_parent(t.journal);
    jr = journal_open(t.journal, journal_why, sizeof(journal_why));
    if (jr == NULL) {
        snprintf(err, errlen, "%s", journal_why);
        return -1;
    }
    settle_orphans(daemon_creds);
    return 0;
}

void
guard_close(void)
{
    bnc_set_trade_gate(NULL);
    journal_close(jr);
    jr = NULL;
    snprintf(journal_why, sizeof(journal_why), "closed");
}

json_object *
guard_audit_log(const struct creds *cr, struct journal_filter *f, char *err,
                size_t errlen)
{
    char fp[FP_LEN + 1];

    if (jr == NULL) {
        snprintf(err, errlen, "The audit journal is not available: %s",
                 journal_why);
        return NULL;
    }
    if (guard_key_fingerprint(cr->key, fp, sizeof(fp)) < 0) {
        snprintf(err, errlen, "The key's fingerprint cannot be computed.");
        return NULL;
    }
    f->key_fp = fp;
    json_object *out = journal_query(jr, f, err, errlen);
    f->key_fp = NULL;
    return out;
}
