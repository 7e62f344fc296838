/*
 * tools_account.c - the signed tools: account reads and order management.
 *
 * Every call here needs credentials (the session's, else the daemon's; see
 * mcp_call_creds) and goes to the exchange those credentials belong to.
 * Reads are one struct tu_simple each. place_order is the one tool with
 * real logic: cross-field rules per order type, a client order id on every
 * order, never a retry, and an explicit "outcome unknown" answer when the
 * request may have been executed without us hearing back.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "guard.h"
#include "tools.h"
#include "tools_util.h"

#define READ_FLAGS    (TOOL_READ_ONLY | TOOL_OPEN_WORLD)
#define DAY_MS        (24LL * 60 * 60 * 1000)
#define CLIENT_ID_MAX 40

/* ---- field lists and schema pieces ---- */

/* clang-format off */
static const char *const order_fields[] = {
    "symbol", "orderId", "orderListId", "clientOrderId", "origClientOrderId",
    "transactTime", "time", "updateTime", "price", "origQty", "executedQty",
    "cummulativeQuoteQty", "origQuoteOrderQty", "status", "timeInForce",
    "type", "side", "stopPrice", "icebergQty", "isWorking", "workingTime",
    "selfTradePreventionMode", "fills", NULL};

#define ORDER_PROPS                                                          \
    TU_F("symbol", TU_STR) "," TU_F("orderId", TU_INT) ","                   \
    TU_F("orderListId", TU_INT) "," TU_F("clientOrderId", TU_STR) ","        \
    TU_F("origClientOrderId", TU_STR) "," TU_F("transactTime", TU_INT) ","   \
    TU_F("time", TU_INT) "," TU_F("updateTime", TU_INT) ","                  \
    TU_F("price", TU_STR) "," TU_F("origQty", TU_STR) ","                    \
    TU_F("executedQty", TU_STR) "," TU_F("cummulativeQuoteQty", TU_STR) "," \
    TU_F("origQuoteOrderQty", TU_STR) "," TU_F("status", TU_STR) ","         \
    TU_F("timeInForce", TU_STR) "," TU_F("type", TU_STR) ","                 \
    TU_F("side", TU_STR) "," TU_F("stopPrice", TU_STR) ","                   \
    TU_F("icebergQty", TU_STR) "," TU_F("isWorking", TU_BOOL) ","            \
    TU_F("workingTime", TU_INT) ","                                          \
    TU_F("selfTradePreventionMode", TU_STR) ","                              \
    TU_F("fills", TU_ARR(TU_OBJ(                                             \
        TU_F("price", TU_STR) "," TU_F("qty", TU_STR) ","                    \
        TU_F("commission", TU_STR) "," TU_F("commissionAsset", TU_STR) ","   \
        TU_F("tradeId", TU_INT)))) ","                                       \
    TU_F("environment", TU_STR)

#define ENV_PROP TU_F("environment", TU_STR)

#define IN_ORDER_ID                                                          \
    TU_F("order_id", "{\"type\":\"integer\",\"minimum\":0,\"description\":"  \
                     "\"Binance's orderId.\"}")
#define IN_CLIENT_ORDER_ID(desc)                                             \
    TU_F("client_order_id",                                                  \
         "{\"type\":\"string\",\"pattern\":\"^[a-zA-Z0-9_-]{1,36}$\","       \
         "\"description\":\"" desc "\"}")
#define IN_DECIMAL(name, desc)                                               \
    TU_F(name, "{\"type\":\"string\",\"pattern\":"                           \
               "\"^[0-9]{1,20}([.][0-9]{1,20})?$\",\"description\":\""     \
               desc "\"}")

/* clang-format on */

/* ---- account reads ---- */

/* clang-format off */
static const struct tu_simple account_spec = {
    "GET", "/api/v3/account", BNC_READ,
    (const struct tu_arg[]){
        {"omit_zero_balances", "omitZeroBalances", TU_ARG_BOOL, 0, "true"},
        {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"makerCommission", "takerCommission",
                           "buyerCommission", "sellerCommission",
                           "commissionRates", "canTrade", "canWithdraw",
                           "canDeposit", "brokered",
                           "requireSelfTradePrevention", "preventSor",
                           "updateTime", "accountType", "balances",
                           "permissions", "uid", NULL},
     NULL, NULL, 0, 1},
    NULL, NULL};

static int
get_account_info(struct mcp_call *call, json_object *args,
                 struct tool_result *res)
{
    return tu_simple_run(call, args, res, &account_spec);
}

static const struct tu_simple my_trades_spec = {
    "GET", "/api/v3/myTrades", BNC_READ,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {"order_id", "orderId", TU_ARG_INT, 0, NULL},
                            {"start_time", "startTime", TU_ARG_INT, 0, NULL},
                            {"end_time", "endTime", TU_ARG_INT, 0, NULL},
                            {"from_id", "fromId", TU_ARG_INT, 0, NULL},
                            {"limit", "limit", TU_ARG_INT, 0, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"symbol", "id", "orderId", "orderListId", "price",
                           "qty", "quoteQty", "commission", "commissionAsset",
                           "time", "isBuyer", "isMaker", "isBestMatch", NULL},
     NULL, "trades", 1, 1},
    NULL, NULL};

static int
get_account_trades(struct mcp_call *call, json_object *args,
                   struct tool_result *res)
{
    int64_t v;
    int has_time = tu_arg_int(args, "start_time", &v) ||
                   tu_arg_int(args, "end_time", &v);

    if (tu_check_time_range(args, DAY_MS, res) < 0)
        return -1;
    if (has_time && tu_arg_int(args, "from_id", &v))
        return tool_fail(res, "from_id cannot be combined with start_time or "
                              "end_time; use one way of paging.");
    if (has_time && tu_arg_int(args, "order_id", &v))
        return tool_fail(res, "order_id cannot be combined with start_time "
                              "or end_time.");
    return tu_simple_run(call, args, res, &my_trades_spec);
}

/* clang-format on */

/* ---- looking orders up ---- */

/* get_order and cancel_order name the order one way only. Returns 0 or -1
 * after tool_fail. */
static int
check_order_ref(json_object *args, struct tool_result *res)
{
    int64_t id;
    int has_id = tu_arg_int(args, "order_id", &id);
    int has_client = tu_arg_str(args, "client_order_id") != NULL;

    if (has_id && has_client)
        return tool_fail(res, "Give either order_id or client_order_id, not "
                              "both.");
    if (!has_id && !has_client)
        return tool_fail(res, "Give order_id (Binance's number) or "
                              "client_order_id (the id the order was placed "
                              "with) to say which order.");
    return 0;
}

/* clang-format off */
static const struct tu_arg order_ref_args[] = {
    {"symbol", "symbol", TU_ARG_SYMBOL, 0, NULL},
    {"order_id", "orderId", TU_ARG_INT, 0, NULL},
    {"client_order_id", "origClientOrderId", TU_ARG_STR, 0, NULL},
    {NULL, NULL, TU_ARG_STR, 0, NULL},
};

static const struct tu_simple get_order_spec = {
    "GET", "/api/v3/order", BNC_READ, order_ref_args,
    {order_fields, NULL, NULL, 0, 1}, NULL, NULL};

static int
get_order(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    if (check_order_ref(args, res) < 0)
        return -1;
    return tu_simple_run(call, args, res, &get_order_spec);
}

static const struct tu_simple cancel_spec = {
    "DELETE", "/api/v3/order", BNC_TRADE, order_ref_args,
    {order_fields, NULL, NULL, 0, 1},
    (const char *const[]){"order_id", "client_order_id", NULL},
    "cancel request"};

static int
cancel_order(struct mcp_call *call, json_object *args,
             struct tool_result *res)
{
    if (check_order_ref(args, res) < 0)
        return -1;
    return tu_simple_run(call, args, res, &cancel_spec);
}

static const struct tu_simple open_orders_spec = {
    "GET", "/api/v3/openOrders", BNC_READ,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {order_fields, NULL, "orders", 1, 1}, NULL, NULL};

static int
get_open_orders(struct mcp_call *call, json_object *args,
                struct tool_result *res)
{
    return tu_simple_run(call, args, res, &open_orders_spec);
}

static const struct tu_simple all_orders_spec = {
    "GET", "/api/v3/allOrders", BNC_READ,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {"order_id", "orderId", TU_ARG_INT, 0, NULL},
                            {"start_time", "startTime", TU_ARG_INT, 0, NULL},
                            {"end_time", "endTime", TU_ARG_INT, 0, NULL},
                            {"limit", "limit", TU_ARG_INT, 0, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {order_fields, NULL, "orders", 1, 1}, NULL, NULL};

static int
get_all_orders(struct mcp_call *call, json_object *args,
               struct tool_result *res)
{
    if (tu_check_time_range(args, DAY_MS, res) < 0)
        return -1;
    return tu_simple_run(call, args, res, &all_orders_spec);
}

/* clang-format on */

/* ---- place_order ---- */

/* What each order type needs: 1 required, -1 forbidden, 0 optional. For
 * time_in_force, 1 means "defaults to GTC". */
struct order_rule {
    const char *type;
    int price;
    int stop_price;
    int time_in_force;
    int quote_qty; /* quote_order_qty allowed */
};

/* clang-format off */
static const struct order_rule order_rules[] = {
    {"LIMIT", 1, -1, 1, 0},
    {"MARKET", -1, -1, -1, 1},
    {"LIMIT_MAKER", 1, -1, -1, 0},
    {"STOP_LOSS_LIMIT", 1, 1, 1, 0},
    {"TAKE_PROFIT_LIMIT", 1, 1, 1, 0},
};

/* clang-format on */

/* The request once checked: Binance's names, in the order sent. */
struct order_req {
    char symbol[TU_SYMBOL_MAX];
    const char *side, *type, *tif, *quantity, *quote_qty, *price, *stop;
    char client_id[CLIENT_ID_MAX];
    int test;
};

/* Checks one required/forbidden argument against a rule value. */
static int
check_presence(int rule, const char *value, const char *arg, const char *type,
               struct tool_result *res)
{
    if (rule > 0 && value == NULL)
        return tool_fail(res, "A %s order needs %s.", type, arg);
    if (rule < 0 && value != NULL)
        return tool_fail(res, "A %s order takes no %s; leave it out.", type,
                         arg);
    if (value != NULL && tu_dec_is_zero(value))
        return tool_fail(res, "%s must be greater than zero.", arg);
    return 0;
}

/* Applies the cross-field rules of the order type. Returns 0 or -1 after
 * tool_fail. */
static int
check_order(struct order_req *o, const struct order_rule *r,
            struct tool_result *res)
{
    if (o->quantity != NULL && o->quote_qty != NULL)
        return tool_fail(res, "Give either quantity or quote_order_qty, not "
                              "both.");
    if (o->quantity == NULL && o->quote_qty == NULL)
        return tool_fail(res, "Give quantity (in the base asset)%s.",
                         r->quote_qty ? ", or quote_order_qty (in the quote "
                                        "asset) for a MARKET order"
                                      : "");
    if (o->quote_qty != NULL && !r->quote_qty)
        return tool_fail(res,
                         "quote_order_qty is only for MARKET orders; "
                         "give quantity for a %s order.",
                         o->type);
    if (check_presence(0, o->quantity, "quantity", o->type, res) < 0 ||
        check_presence(0, o->quote_qty, "quote_order_qty", o->type, res) < 0 ||
        check_presence(r->price, o->price, "price", o->type, res) < 0 ||
        check_presence(r->stop_price, o->stop, "stop_price", o->type, res) < 0)
        return -1;
    if (r->time_in_force < 0 && o->tif != NULL)
        return tool_fail(res,
                         "A %s order takes no time_in_force; leave it "
                         "out.",
                         o->type);
    if (r->time_in_force > 0 && o->tif == NULL)
        o->tif = "GTC";
    return 0;
}

/* "binmcpd-" and 16 random hex digits. Returns 0 or -1. */
static int
new_client_id(char *out, size_t len)
{
    unsigned char rnd[8];

    if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) != 0)
        return -1;
    snprintf(out, len, "binmcpd-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    return 0;
}

/* Reads and checks the arguments into *o. Returns 0 or -1 after tool_fail. */
static int
read_order(json_object *args, struct order_req *o, struct tool_result *res)
{
    const struct order_rule *r = NULL;
    const char *cid = tu_arg_str(args, "client_order_id");

    memset(o, 0, sizeof(*o));
    if (tu_symbol_norm(tu_arg_str(args, "symbol"), o->symbol,
                       sizeof(o->symbol)) < 0)
        return tool_fail(res, "symbol must be a trading pair such as "
                              "BTCUSDT.");
    o->side = tu_arg_str(args, "side");
    o->type = tu_arg_str(args, "type");
    o->tif = tu_arg_str(args, "time_in_force");
    o->quantity = tu_arg_str(args, "quantity");
    o->quote_qty = tu_arg_str(args, "quote_order_qty");
    o->price = tu_arg_str(args, "price");
    o->stop = tu_arg_str(args, "stop_price");
    o->test = tu_arg_bool(args, "test", 0);
    for (size_t i = 0;
         o->type != NULL && i < sizeof(order_rules) / sizeof(order_rules[0]);
         i++)
        if (strcmp(order_rules[i].type, o->type) == 0)
            r = &order_rules[i];
    if (o->side == NULL || r == NULL)
        return tool_fail(res, "side (BUY or SELL) and type (LIMIT, MARKET, "
                              "LIMIT_MAKER, STOP_LOSS_LIMIT or "
                              "TAKE_PROFIT_LIMIT) are required.");
    if (check_order(o, r, res) < 0)
        return -1;
    if (cid != NULL)
        snprintf(o->client_id, sizeof(o->client_id), "%s", cid);
    else if (new_client_id(o->client_id, sizeof(o->client_id)) < 0)
        return tool_fail(res, "Could not generate a client order id (no "
                              "randomness available); nothing was sent.");
    return 0;
}

/* Adds the order's parameters to p and, as the same names and values, to
 * echo (the request shown back for test orders). */
static void
order_params(const struct order_req *o, struct bnc_params *p, json_object *echo)
{
    const char *names[] = {"symbol",          "side",      "type",
                           "timeInForce",     "quantity",  "quoteOrderQty",
                           "price",           "stopPrice", "newClientOrderId",
                           "newOrderRespType"};
    const char *values[] = {o->symbol,    o->side,      o->type,  o->tif,
                            o->quantity,  o->quote_qty, o->price, o->stop,
                            o->client_id, "FULL"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (values[i] == NULL)
            continue;
        bnc_params_add(p, names[i], values[i]);
        json_object_object_add(echo, names[i],
                               json_object_new_string(values[i]));
    }
}

/* The answer for an order Binance placed or validated. Takes echo. */
static json_object *
order_result(const struct order_req *o, json_object *body, json_object *echo,
             enum bnc_env env)
{
    json_object *out;

    if (o->test) {
        out = json_object_new_object();
        if (out == NULL) {
            json_object_put(echo);
            return NULL;
        }
        json_object_object_add(out, "test", json_object_new_boolean(1));
        json_object_object_add(out, "validated", json_object_new_boolean(1));
        json_object_object_add(out, "clientOrderId",
                               json_object_new_string(o->client_id));
        json_object_object_add(out, "request", echo);
        json_object_object_add(
            out, "message",
            json_object_new_string("Binance accepted these parameters. "
                                   "Nothing was placed; call place_order "
                                   "again without test to place it."));
    } else {
        json_object_put(echo);
        out = tu_pick(body, order_fields);
        if (out == NULL)
            return NULL;
        json_object_object_add(out, "test", json_object_new_boolean(0));
    }
    json_object_object_add(out, "environment",
                           json_object_new_string(creds_env_name(env)));
    return out;
}

/* Fails res for a placement that did not succeed. Returns -1. */
static int
fail_order(const struct order_req *o, struct tu_call *tc,
           struct tool_result *res)
{
    char what[96];
    json_object *lookup;
    int rc;

    if (o->test)
        return tool_fail(res,
                         "Test order %s (nothing is ever placed in test "
                         "mode): %s",
                         tc->resp.status == BNC_ERR_API ? "rejected"
                                                        : "not validated",
                         tc->err);
    if (!tu_outcome_unknown(tc->resp.status))
        return tool_fail(res, "%s", tc->err);
    snprintf(what, sizeof(what), "new order with clientOrderId %s",
             o->client_id);
    lookup = json_object_new_object();
    json_object_object_add(lookup, "symbol", json_object_new_string(o->symbol));
    json_object_object_add(lookup, "client_order_id",
                           json_object_new_string(o->client_id));
    rc = tu_fail_unknown(res, what, lookup,
                         "If get_order reports that the order does not exist "
                         "(-2013), it was not placed.",
                         &tc->resp);
    json_object_put(lookup);
    return rc;
}

static int
place_order(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct order_req o;
    struct tu_call tc;
    json_object *echo, *body;
    int rc = -1;

    if (read_order(args, &o, res) < 0)
        return -1;
    tu_call_init(&tc, "POST", o.test ? "/api/v3/order/test" : "/api/v3/order",
                 o.test ? BNC_READ : BNC_TRADE);
    echo = json_object_new_object();
    if (echo == NULL)
        return tool_fail(res, "out of memory; nothing was sent.");
    order_params(&o, &tc.params, echo);
    if (tc.params.overflow) {
        json_object_put(echo);
        return tool_fail(res, "The order's parameters are too long; nothing "
                              "was sent.");
    }
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        json_object_put(echo);
        rc = fail_order(&o, &tc, res);
    } else {
        res->data = order_result(&o, body, echo, tc.env);
        rc = res->data != NULL ? 0
                               : tool_fail(res,
                                           "Binance accepted the order "
                                           "(clientOrderId %s) but its "
                                           "answer was unreadable; call "
                                           "get_order to see it.",
                                           o.client_id);
    }
    tu_call_done(&tc);
    return rc;
}

/* ---- the audit journal ---- */

/* The journal entries of the API key this session uses: nobody sees
 * another key's orders. */
static int
get_audit_log(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct creds buf;
    const struct creds *cr;
    struct journal_filter f = {0};
    int64_t v;
    char err[512];
    json_object *entries, *out;

    memset(&buf, 0, sizeof(buf));
    cr = mcp_call_creds(call, &buf);
    if (cr == NULL) {
        creds_wipe(&buf);
        return tool_fail(res, "%s", tu_no_creds_text);
    }
    if (tu_arg_int(args, "since", &v))
        f.since_ms = v;
    if (tu_arg_int(args, "limit", &v))
        f.limit = (int)v;
    f.outcome = tu_arg_str(args, "outcome");
    char sym[TU_SYMBOL_MAX];
    if (tu_arg_str(args, "symbol") != NULL) {
        tu_symbol_norm(tu_arg_str(args, "symbol"), sym, sizeof(sym));
        f.symbol = sym;
    }
    entries = guard_audit_log(cr, &f, err, sizeof(err));
    creds_wipe(&buf);
    if (entries == NULL)
        return tool_fail(res, "%s", err);
    out = json_object_new_object();
    json_object_object_add(
        out, "count",
        json_object_new_int64((int64_t)json_object_array_length(entries)));
    json_object_object_add(out, "entries", entries);
    res->data = out;
    return 0;
}

/* ---- the rows ---- */

/* clang-format off */
const struct tool_def tools_account[] = {
    {"get_account_info", "Account information",
     "Balances, permissions and commission rates of the account the "
     "configured API key belongs to (GET /api/v3/account). Zero balances "
     "are left out unless omit_zero_balances is false. The result's "
     "environment says whether this is mainnet or testnet. Needs "
     "credentials.",
     TU_IN_OPTIONAL(TU_F("omit_zero_balances",
                         "{\"type\":\"boolean\",\"default\":true,"
                         "\"description\":\"Leave out assets with nothing "
                         "free or locked (default true).\"}")),
     TU_OBJ(TU_F("makerCommission", TU_INT) "," TU_F("takerCommission", TU_INT)
            "," TU_F("buyerCommission", TU_INT) ","
            TU_F("sellerCommission", TU_INT) ","
            TU_F("commissionRates", TU_OBJ(
                TU_F("maker", TU_STR) "," TU_F("taker", TU_STR) ","
                TU_F("buyer", TU_STR) "," TU_F("seller", TU_STR))) ","
            TU_F("canTrade", TU_BOOL) "," TU_F("canWithdraw", TU_BOOL) ","
            TU_F("canDeposit", TU_BOOL) "," TU_F("brokered", TU_BOOL) ","
            TU_F("requireSelfTradePrevention", TU_BOOL) ","
            TU_F("preventSor", TU_BOOL) "," TU_F("updateTime", TU_INT) ","
            TU_F("accountType", TU_STR) ","
            TU_F("balances", TU_ARR(TU_OBJ(
                TU_F("asset", TU_STR) "," TU_F("free", TU_STR) ","
                TU_F("locked", TU_STR)))) ","
            TU_F("permissions", TU_STRS) "," TU_F("uid", TU_INT) "," ENV_PROP),
     READ_FLAGS, get_account_info},
    {"get_account_trades", "Account trades",
     "Your own trades (fills) on one trading pair, oldest first "
     "(GET /api/v3/myTrades): price, qty, quoteQty, commission and its "
     "asset, time, whether you were buyer and maker. Filter by order_id, "
     "by a time range of at most 24 hours, or page with from_id. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           TU_IN_TIME("start_time", "Earliest trade time") ","
           TU_IN_TIME("end_time", "Latest trade time") ","
           TU_F("from_id", "{\"type\":\"integer\",\"minimum\":0,"
                           "\"description\":\"Return trades with id >= "
                           "this.\"}") ","
           TU_IN_INT("limit", 1, 1000, "How many trades (default 500)."),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","
            TU_F("trades", TU_ARR(TU_OBJ(
                TU_F("symbol", TU_STR) "," TU_F("id", TU_INT) ","
                TU_F("orderId", TU_INT) "," TU_F("orderListId", TU_INT) ","
                TU_F("price", TU_STR) "," TU_F("qty", TU_STR) ","
                TU_F("quoteQty", TU_STR) "," TU_F("commission", TU_STR) ","
                TU_F("commissionAsset", TU_STR) "," TU_F("time", TU_INT) ","
                TU_F("isBuyer", TU_BOOL) "," TU_F("isMaker", TU_BOOL) ","
                TU_F("isBestMatch", TU_BOOL)))) "," ENV_PROP),
     READ_FLAGS, get_account_trades},
    {"place_order", "Place an order",
     "Places a spot order (POST /api/v3/order). " TU_MONEY_WARNING
     " Rules: give quantity, or quote_order_qty for MARKET only; price is "
     "required for LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT and "
     "TAKE_PROFIT_LIMIT and not allowed for MARKET; stop_price is required "
     "for STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT; time_in_force defaults to "
     "GTC where it applies and is not allowed for MARKET and LIMIT_MAKER. "
     "With test: true Binance only validates the order (POST "
     "/api/v3/order/test) and nothing is placed. Every order carries a "
     "client order id (generated when not given); the request is never "
     "retried, and if the outcome is unknown the error says so and how to "
     "look the order up with get_order. Needs credentials.",
     TU_IN(TU_IN_SYMBOL ","
           TU_F("side", "{\"type\":\"string\",\"enum\":[\"BUY\",\"SELL\"],"
                        "\"description\":\"BUY or SELL.\"}") ","
           TU_F("type", "{\"type\":\"string\",\"enum\":[\"LIMIT\","
                        "\"MARKET\",\"LIMIT_MAKER\",\"STOP_LOSS_LIMIT\","
                        "\"TAKE_PROFIT_LIMIT\"],\"description\":\"Order "
                        "type.\"}") ","
           IN_DECIMAL("quantity", "Amount of the base asset, e.g. 0.001.") ","
           IN_DECIMAL("quote_order_qty", "MARKET only: amount of the quote "
                                         "asset to spend (BUY) or receive "
                                         "(SELL), instead of quantity.") ","
           IN_DECIMAL("price", "Limit price in the quote asset.") ","
           TU_F("time_in_force", "{\"type\":\"string\",\"enum\":[\"GTC\","
                                 "\"IOC\",\"FOK\"],\"description\":\"Good "
                                 "till cancelled (default), immediate or "
                                 "cancel, fill or kill.\"}") ","
           IN_DECIMAL("stop_price", "Trigger price for STOP_LOSS_LIMIT and "
                                    "TAKE_PROFIT_LIMIT.") ","
           IN_CLIENT_ORDER_ID("Your id for the order (1-36 of A-Z a-z 0-9 _ "
                              "-); generated when left out.") ","
           TU_F("test", "{\"type\":\"boolean\",\"default\":false,"
                        "\"description\":\"Validate only; place nothing.\"}")
           "," TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\",\"side\",\"type\""),
     TU_OBJ(ORDER_PROPS "," TU_F("test", TU_BOOL) ","
            TU_F("validated", TU_BOOL) "," TU_F("message", TU_STR) ","
            TU_F("request", "{\"type\":\"object\"}")),
     TOOL_OPEN_WORLD | TOOL_TRADING, place_order},
    {"get_order", "Order status",
     "One order's current state (GET /api/v3/order), found by order_id or "
     "by client_order_id (exactly one). Use it to check an order after "
     "place_order, or after an unknown outcome. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           IN_CLIENT_ORDER_ID("The client order id the order was placed "
                              "with."),
           "\"symbol\""),
     TU_OBJ(ORDER_PROPS), READ_FLAGS, get_order},
    {"cancel_order", "Cancel an order",
     "Cancels an open order (DELETE /api/v3/order), found by order_id or "
     "by client_order_id (exactly one). " TU_MONEY_WARNING
     " Cancelling twice has no further effect. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           IN_CLIENT_ORDER_ID("The client order id the order was placed "
                              "with.") "," TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\""),
     TU_OBJ(ORDER_PROPS),
     TOOL_DESTRUCTIVE | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD | TOOL_TRADING,
     cancel_order},
    {"get_open_orders", "Open orders",
     "Open orders (GET /api/v3/openOrders) of one trading pair, or of all "
     "pairs when symbol is left out (costs more request weight). Needs "
     "credentials.",
     TU_IN_OPTIONAL(TU_IN_SYMBOL_AS("symbol", "Trading pair such as BTCUSDT;"
                                              " leave out for all pairs.")),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","
            TU_F("orders", TU_ARR(TU_OBJ(ORDER_PROPS))) "," ENV_PROP),
     READ_FLAGS, get_open_orders},
    {"get_all_orders", "All orders",
     "All orders of one trading pair: open, filled, cancelled and expired "
     "(GET /api/v3/allOrders), oldest first. Filter with order_id (that "
     "order and later ones) or a time range of at most 24 hours. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           TU_IN_TIME("start_time", "Earliest order time") ","
           TU_IN_TIME("end_time", "Latest order time") ","
           TU_IN_INT("limit", 1, 1000, "How many orders (default 500)."),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","
            TU_F("orders", TU_ARR(TU_OBJ(ORDER_PROPS))) "," ENV_PROP),
     READ_FLAGS, get_all_orders},
    {"get_audit_log", "Audit journal",
     "binmcpd's journal of the order-changing calls made with the API key "
     "this session uses (newest first): what was asked (intent), how it was "
     "confirmed, and what happened (accepted with Binance's status and "
     "ids, rejected with Binance's code, refused by which check, unknown, "
     "reconciled). Filter by since (ms since the epoch), symbol and "
     "outcome; at most 200 entries. Needs credentials.",
     TU_IN_OPTIONAL(
         TU_IN_TIME("since", "Entries at or after this time") ","
         TU_IN_SYMBOL_AS("symbol", "Only this trading pair.") ","
         TU_F("outcome", "{\"type\":\"string\",\"enum\":[\"pending\","
                         "\"accepted\",\"rejected\",\"refused\","
                         "\"unknown\",\"reconciled\"],\"description\":"
                         "\"Only entries whose latest outcome is this.\"}")
         "," TU_IN_INT("limit", 1, 200, "How many entries (default 50).")),
     TU_OBJ(TU_F("count", TU_INT) ","
            TU_F("entries", TU_ARR("{\"type\":\"object\"}"))),
     TOOL_READ_ONLY | TOOL_IDEMPOTENT, get_audit_log},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL},
};
/* clang-format on */
