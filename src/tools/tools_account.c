/*
 * tools_account.c - the signed tools: account reads and order management.
 *
 * Every call here needs credentials (the session's, else the daemon's; see
 * tools_call_creds) and goes to the exchange those credentials belong to.
 * Reads are one struct tu_simple each. New orders (place_order and the
 * other order tools) live in tools_orders.c, beside the order rules they
 * share.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "tools_schema.h"

#define READ_FLAGS (TOOL_READ_ONLY | TOOL_OPEN_WORLD)
#define DAY_MS     (24LL * 60 * 60 * 1000)

/* ---- field lists and schema pieces ---- */

/* clang-format off */



#define IN_ORDER_ID                                                          \
    TU_F("order_id", "{\"type\":\"integer\",\"minimum\":0,\"description\":"  \
                     "\"Binance's orderId.\"}")
#define IN_CLIENT_ORDER_ID(desc)                                             \
    TU_F("client_order_id",                                                  \
         "{\"type\":\"string\",\"pattern\":\"^[a-zA-Z0-9_-]{1,36}$\","       \
         "\"description\":\"" desc "\"}")

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

/* clang-format off */
static const struct tu_arg order_ref_args[] = {
    {"symbol", "symbol", TU_ARG_SYMBOL, 0, NULL},
    {"order_id", "orderId", TU_ARG_INT, 0, NULL},
    {"client_order_id", "origClientOrderId", TU_ARG_STR, 0, NULL},
    {NULL, NULL, TU_ARG_STR, 0, NULL},
};

static const struct tu_simple get_order_spec = {
    "GET", "/api/v3/order", BNC_READ, order_ref_args,
    {tu_order_fields, NULL, NULL, 0, 1}, NULL, NULL};

static int
get_order(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    if (tu_one_ref(args, res, "order_id", "client_order_id", "order") < 0)
        return -1;
    return tu_simple_run(call, args, res, &get_order_spec);
}

static const struct tu_simple cancel_spec = {
    "DELETE", "/api/v3/order", BNC_TRADE, order_ref_args,
    {tu_order_fields, NULL, NULL, 0, 1},
    (const char *const[]){"order_id", "client_order_id", NULL},
    "cancel request"};

static int
cancel_order(struct mcp_call *call, json_object *args,
             struct tool_result *res)
{
    if (tu_one_ref(args, res, "order_id", "client_order_id", "order") < 0)
        return -1;
    return tu_simple_run(call, args, res, &cancel_spec);
}

static const struct tu_simple open_orders_spec = {
    "GET", "/api/v3/openOrders", BNC_READ,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {tu_order_fields, NULL, "orders", 1, 1}, NULL, NULL};

static const struct tu_simple all_orders_spec = {
    "GET", "/api/v3/allOrders", BNC_READ,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {"order_id", "orderId", TU_ARG_INT, 0, NULL},
                            {"start_time", "startTime", TU_ARG_INT, 0, NULL},
                            {"end_time", "endTime", TU_ARG_INT, 0, NULL},
                            {"limit", "limit", TU_ARG_INT, 0, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {tu_order_fields, NULL, "orders", 1, 1}, NULL, NULL};

static int
get_all_orders(struct mcp_call *call, json_object *args,
               struct tool_result *res)
{
    if (tu_check_time_range(args, DAY_MS, res) < 0)
        return -1;
    return tu_simple_run(call, args, res, &all_orders_spec);
}

/* clang-format on */

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
    cr = tools_call_creds(call, &buf);
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

/* ---- get_safety_status ---- */

/* The served toolsets, as a new array (each set once, in listing order). */
static json_object *
served_toolsets(void)
{
    json_object *sets = json_object_new_array();
    const struct tool_def *t;

    for (size_t i = 0; (t = tool_at(i)) != NULL; i++) {
        const char *set = tool_toolset(t->name);
        int seen = 0;
        for (size_t j = 0; set != NULL && j < json_object_array_length(sets);
             j++)
            seen |= strcmp(json_object_get_string(
                               json_object_array_get_idx(sets, j)),
                           set) == 0;
        if (set != NULL && !seen)
            json_object_array_add(sets, json_object_new_string(set));
    }
    return sets;
}

/* The key's permissions (mainnet only: testnet and demo have no /sapi),
 * with warnings for withdrawals and a missing IP restriction. */
static void
key_permissions(struct mcp_call *call, const struct creds *cr, json_object *out,
                json_object *warnings)
{
    struct tu_call tc;
    json_object *body, *v;

    if (cr->env != BNC_ENV_MAINNET) {
        json_object_object_add(
            out, "keyPermissions",
            json_object_new_string("not available outside mainnet (no "
                                   "/sapi endpoints)"));
        return;
    }
    tu_call_init(&tc, "GET", "/sapi/v1/account/apiRestrictions", BNC_READ);
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        json_object_object_add(out, "keyPermissions",
                               json_object_new_string(tc.err));
    } else {
        json_object_object_add(out, "keyPermissions", json_object_get(body));
        if (json_object_object_get_ex(body, "enableWithdrawals", &v) &&
            json_object_get_boolean(v))
            json_object_array_add(
                warnings,
                json_object_new_string("This API key can WITHDRAW funds. "
                                       "binmcpd never withdraws, but a "
                                       "leaked key could: create a key "
                                       "without withdrawal permission."));
        if (json_object_object_get_ex(body, "ipRestrict", &v) &&
            !json_object_get_boolean(v))
            json_object_array_add(
                warnings,
                json_object_new_string("This API key has no IP restriction: "
                                       "restrict it to this server's "
                                       "address in Binance's API "
                                       "management."));
    }
    tu_call_done(&tc);
}

/* Everything that decides what an order can do here: the credentials and
 * their environment, the clock, the key's permissions, the tools served,
 * the confirmation mode and the operator's limits with today's usage. */
static int
get_safety_status(struct mcp_call *call, json_object *args,
                  struct tool_result *res)
{
    struct creds buf;
    const struct creds *cr;
    json_object *out = json_object_new_object(), *warnings, *trading;
    int64_t server_ms, offset_ms;
    char masked[32];

    (void)args;
    warnings = json_object_new_array();
    memset(&buf, 0, sizeof(buf));
    cr = tools_call_creds(call, &buf);
    json_object_object_add(
        out, "readOnly",
        json_object_new_boolean(call->srv != NULL &&
                                mcp_server_read_only(call->srv)));
    if (cr != NULL) {
        creds_mask(cr->key, masked, sizeof(masked));
        json_object_object_add(out, "key", json_object_new_string(masked));
        json_object_object_add(out, "environment",
                               json_object_new_string(creds_env_name(cr->env)));
        json_object_object_add(
            out, "credentials",
            json_object_new_string(tools_session_creds(call->sess) != NULL
                                       ? "this session's"
                                       : "the daemon's"));
        key_permissions(call, cr, out, warnings);
    } else {
        json_object_object_add(out, "credentials",
                               json_object_new_string("none"));
    }
    if (bnc_sync_time(&server_ms, &offset_ms, NULL) == 0)
        json_object_object_add(out, "clockOffsetMs",
                               json_object_new_int64(offset_ms));
    json_object_object_add(out, "toolsets", served_toolsets());
    trading = guard_status(cr);
    creds_wipe(&buf);
    if (trading != NULL)
        json_object_object_add(out, "trading", trading);
    json_object_object_add(out, "warnings", warnings);
    res->data = out;
    return 0;
}

/* ---- the rows ---- */

/* clang-format off */
/* The answer of the tools that list a pair's orders. */
#define OUT_ORDER_LIST                                                         \
    TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","                \
           TU_F("orders", TU_ARR(TU_OBJ(TU_ORDER_PROPS "," TU_ENV_PROP)))      \
           "," TU_ENV_PROP)

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
            TU_F("permissions", TU_STRS) "," TU_F("uid", TU_INT) "," TU_ENV_PROP),
     READ_FLAGS, tu_simple_tool, &account_spec},
    {"get_account_trades", "Account trades",
     "Your own trades (fills) on one trading pair, oldest first "
     "(GET /api/v3/myTrades): price, qty, quoteQty, commission and its "
     "asset, time, whether you were buyer and maker. Filter by order_id, "
     "by a time range of at most 24 hours, or page with from_id. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           TU_IN_TIME_RANGE("Earliest trade time", "Latest trade time") ","
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
                TU_F("isBestMatch", TU_BOOL)))) "," TU_ENV_PROP),
     READ_FLAGS, get_account_trades, NULL},
    {"get_order", "Order status",
     "One order's current state (GET /api/v3/order), found by order_id or "
     "by client_order_id (exactly one). Use it to check an order after "
     "place_order, or after an unknown outcome. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           IN_CLIENT_ORDER_ID("The client order id the order was placed "
                              "with."),
           "\"symbol\""),
     TU_OBJ(TU_ORDER_PROPS "," TU_ENV_PROP), READ_FLAGS, get_order, NULL},
    {"cancel_order", "Cancel an order",
     "Cancels an open order (DELETE /api/v3/order), found by order_id or "
     "by client_order_id (exactly one). " TU_MONEY_WARNING
     " Cancelling twice has no further effect. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           IN_CLIENT_ORDER_ID("The client order id the order was placed "
                              "with.") "," TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\""),
     TU_OBJ(TU_ORDER_PROPS "," TU_ENV_PROP),
     TOOL_DESTRUCTIVE | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD | TOOL_TRADING,
     cancel_order, NULL},
    {"get_open_orders", "Open orders",
     "Open orders (GET /api/v3/openOrders) of one trading pair, or of all "
     "pairs when symbol is left out (costs more request weight). Needs "
     "credentials.",
     TU_IN_OPTIONAL(TU_IN_SYMBOL_AS("symbol", "Trading pair such as BTCUSDT;"
                                              " leave out for all pairs.")),
     OUT_ORDER_LIST,
     READ_FLAGS, tu_simple_tool, &open_orders_spec},
    {"get_all_orders", "All orders",
     "All orders of one trading pair: open, filled, cancelled and expired "
     "(GET /api/v3/allOrders), oldest first. Filter with order_id (that "
     "order and later ones) or a time range of at most 24 hours. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           TU_IN_TIME_RANGE("Earliest order time", "Latest order time") ","
           TU_IN_INT("limit", 1, 1000, "How many orders (default 500)."),
           "\"symbol\""),
     OUT_ORDER_LIST,
     READ_FLAGS, get_all_orders, NULL},
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
     TOOL_READ_ONLY | TOOL_IDEMPOTENT, get_audit_log, NULL},
    {"get_safety_status", "Safety status",
     "What decides what an order can do here, in one place: whose "
     "credentials are used and on which environment (mainnet, testnet, "
     "demo), the clock offset to Binance, the API key's permissions and IP "
     "restriction (mainnet; with a warning when the key can withdraw or has "
     "no IP restriction), the toolsets served, whether the server is "
     "read-only, the confirmation mode and the operator's limits with what "
     "this key committed today. Call it before trading.",
     TU_IN_NONE,
     TU_OBJ(TU_F("readOnly", TU_BOOL) "," TU_F("key", TU_STR) ","
            TU_F("environment", TU_STR) "," TU_F("credentials", TU_STR) ","
            TU_F("keyPermissions", "{\"type\":[\"object\",\"string\"]}")
            "," TU_F("clockOffsetMs", TU_INT) "," TU_F("toolsets", TU_STRS)
            "," TU_F("trading", "{\"type\":\"object\"}") ","
            TU_F("warnings", TU_STRS)),
     TOOL_READ_ONLY | TOOL_OPEN_WORLD, get_safety_status, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
