/*
 * test_orders.c - integration test of the order tools of tools_orders.c:
 * the real daemon ($BINMCPD --mode stdio) against the real fake exchange
 * ($FAKEX), with the trading guard's confirmation off and a high notional
 * limit (the guard's own checks are test_guard's), a journal per daemon.
 *
 * For every tool: a success with the values the fake answers, its
 * structuredContent checked against the tool's outputSchema; every
 * cross-field refusal with nothing sent to the exchange. Also: an OCO leg
 * that fills expires the other, an OTO's working leg that fills puts the
 * pending leg on the book, cancel-replace's halves (both, a failed cancel
 * under STOP_ON_FAILURE, a failed new order under ALLOW_FAILURE) said as
 * they happened, an amend, cancel-all, and an unknown outcome of
 * place_order_list reported with the lookup that tells the truth.
 *
 * Every wait has a deadline; every child is started, killed and reaped by
 * PID here.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "fakex.h"
#include "mcpc.h"
#include "schema.h"
#include "testlib.h"
#include "tools.h"

#define RPC_MS   10000
#define BUF_CAP  (1 << 20)
#define ARGS_MAX 2048

static struct fakex fx;
static int fx_up;
static char tmpdir[256];
static int n_daemons;

/* ------------------------------------------------------------------ */
/* The daemon over stdio                                               */

struct sd {
    struct mcpc_stdio io;
};

/* Starts `binmcpd --mode stdio` against the fake with key A, confirmation
 * off, a notional limit no test reaches and a fresh journal, and
 * initializes the session. Returns 0 or -1. */
static int
sd_start(struct sd *d)
{
    char base[160], testnet[160], journal[600], log[600];
    const char *argv[] = {tl_binmcpd_path(), "--mode", "stdio", NULL};
    const char *env[] = {base,
                         testnet,
                         journal,
                         "BINANCE_TIMEOUT_MS=3000",
                         "BINANCE_API_KEY=" TEST_KEY_A,
                         "BINANCE_API_SECRET=" TEST_SECRET_A,
                         "BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_MAX_ORDER_NOTIONAL=1000000",
                         NULL};
    int ok;
    json_object *r;

    memset(d, 0, sizeof(*d));
    d->io.pid = -1;
    n_daemons++;
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s/journal-%d.db",
             tmpdir, n_daemons);
    snprintf(log, sizeof(log), "%s/stdio-%d.log", tmpdir, n_daemons);
    if (mcpc_stdio_spawn(&d->io, argv, env, log) < 0)
        return -1;
    d->io.rpc_ms = RPC_MS;
    d->io.max_line = BUF_CAP;
    r = mcpc_stdio_initialize(&d->io, "test_orders", "{}");
    ok = tl_get_path(r, "result") != NULL;
    json_object_put(r);
    return ok ? 0 : -1;
}

static void
sd_stop(struct sd *d)
{
    int status;

    if (d->io.pid <= 0)
        return;
    /* a clean exit: also what valgrind-daemon.sh's verdict needs */
    if (mcpc_stdio_stop(&d->io, 15000, &status) < 0)
        fprintf(stderr, "test_orders: a stdio daemon had to be killed\n");
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* tools/call name with the arguments fmt makes; returns the CallToolResult
 * (caller owns) or NULL. */
static json_object *tool(struct sd *d, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_object *
tool(struct sd *d, const char *name, const char *fmt, ...)
{
    char args[ARGS_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    return mcpc_stdio_tool(&d->io, name, args);
}

static int
is_error(json_object *res)
{
    return res == NULL || json_object_get_boolean(tl_get_path(res, "isError"));
}

static const char *
text_of(json_object *res)
{
    return tl_str_at(res, "content.0.text");
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

/* Requests the fake saw that a tool's own call could have caused: all but
 * the control API and the public reads the guard and the symbol cache may
 * make on their own. */
static long
sent(void)
{
    static const char *const skip[] = {" /__fake/",
                                       "GET /api/v3/time",
                                       "GET /api/v3/exchangeInfo",
                                       "GET /api/v3/depth",
                                       "GET /api/v3/avgPrice",
                                       "GET /api/v3/ticker",
                                       "GET /api/v3/ping",
                                       NULL};
    char body[16384];
    long n = 0;

    if (fakex_http(&fx, "GET", "/__fake/stats", body, sizeof(body)) != 200)
        return -1;
    json_object *o = json_tokener_parse(body);
    json_object_object_foreach(tl_get_path(o, "by_path"), key, val)
    {
        int counted = 1;
        for (size_t i = 0; skip[i] != NULL && counted; i++)
            counted = strstr(key, skip[i]) == NULL;
        if (counted)
            n += (long)json_object_get_int64(val);
    }
    json_object_put(o);
    return n;
}

/* The tool's result is a success whose structuredContent matches the
 * tool's outputSchema (the daemon links the same table). */
static void
expect_ok(json_object *r, const char *name)
{
    const struct tool_def *t = tool_find(name);
    json_object *os = t != NULL ? json_tokener_parse(t->output_schema) : NULL;
    char err[512];

    CU_ASSERT_FALSE(is_error(r));
    if (is_error(r)) {
        fprintf(stderr, "test_orders: %s failed: %s\n", name,
                r != NULL ? text_of(r) : "(no answer)");
    } else if (os == NULL ||
               schema_validate(os, tl_get_path(r, "structuredContent"), err,
                               sizeof(err)) < 0) {
        fprintf(
            stderr, "test_orders: %s: outputSchema: %s\n%s\n", name,
            os != NULL ? err : "no schema",
            json_object_to_json_string(tl_get_path(r, "structuredContent")));
        CU_FAIL("structuredContent does not match the outputSchema");
    }
    json_object_put(os);
}

/* Calls name with args and checks that it was refused with a text holding
 * each of words (a NULL-terminated list) and that nothing was sent. */
static void
expect_refused(struct sd *d, const char *name, const char *args,
               const char *const *words)
{
    long before = sent();
    json_object *r = tool(d, name, "%s", args);

    CU_ASSERT_TRUE(is_error(r));
    for (size_t i = 0; words[i] != NULL; i++)
        if (!tl_contains(text_of(r), words[i])) {
            fprintf(stderr, "test_orders: %s %s: expected '%s' in: %s\n", name,
                    args, words[i], text_of(r));
            CU_FAIL("refusal text");
        }
    json_object_put(r);
    CU_ASSERT_EQUAL(sent(), before);
}

#define REFUSED(d, name, args, ...)                                            \
    expect_refused(d, name, args, (const char *const[]){__VA_ARGS__, NULL})

/* The orderId of the leg of a list result whose clientOrderId ends with
 * suffix; -1 when none. */
static int64_t
leg_order_id(json_object *r, const char *suffix)
{
    json_object *orders = tl_get_path(r, "structuredContent.orders");
    size_t n = tl_len_at(r, "structuredContent.orders"), sl = strlen(suffix);

    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(orders, i);
        const char *cid = tl_str_at(o, "clientOrderId");
        size_t cl = strlen(cid);
        if (cl >= sl && strcmp(cid + cl - sl, suffix) == 0)
            return tl_int_at(o, "orderId");
    }
    return -1;
}

/* The status of an order, by get_order. */
static void
order_status(struct sd *d, int64_t id, char *out, size_t len)
{
    json_object *r =
        tool(d, "get_order", "{\"symbol\":\"BTCUSDT\",\"order_id\":%lld}",
             (long long)id);

    snprintf(out, len, "%s", tl_str_at(r, "structuredContent.status"));
    json_object_put(r);
}

/* Fills order id on the fake exchange (as a maker). Returns the HTTP
 * status. */
static long
fill(int64_t id)
{
    char path[96];

    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld", (long long)id);
    return fakex_http(&fx, "POST", path, NULL, 0);
}

/* Places a resting LIMIT BUY of qty at price; returns its orderId or -1. */
static int64_t
place_limit(struct sd *d, const char *qty, const char *price)
{
    json_object *r = tool(d, "place_order",
                          "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                          "\"LIMIT\",\"quantity\":\"%s\",\"price\":\"%s\"}",
                          qty, price);
    int64_t id = is_error(r) ? -1 : tl_int_at(r, "structuredContent.orderId");

    json_object_put(r);
    return id;
}

static void
start(struct sd *d)
{
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(d), 0);
}

/* ------------------------------------------------------------------ */
/* place_order: the new types and arguments                            */

#define ORDER(extra) "{\"symbol\":\"BTCUSDT\",\"quantity\":\"0.01\"," extra "}"

static void
test_place_order_types(void)
{
    struct sd d;
    json_object *r;

    start(&d);
    /* a stop-loss that becomes a market order when triggered */
    r = tool(&d, "place_order",
             ORDER("\"side\":\"SELL\",\"type\":\"STOP_LOSS\","
                   "\"stop_price\":\"45000\",\"strategy_id\":7,"
                   "\"strategy_type\":1000001"));
    expect_ok(r, "place_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.type"), "STOP_LOSS");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.status"), "NEW");
    json_object_put(r);
    /* a trailing take-profit, no stop price */
    r = tool(&d, "place_order",
             ORDER("\"side\":\"SELL\",\"type\":\"TAKE_PROFIT\","
                   "\"trailing_delta\":100"));
    expect_ok(r, "place_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.type"),
                           "TAKE_PROFIT");
    json_object_put(r);
    /* an iceberg limit order with a self-trade prevention mode */
    r = tool(&d, "place_order",
             ORDER("\"side\":\"BUY\",\"type\":\"LIMIT\",\"price\":\"40000\","
                   "\"iceberg_qty\":\"0.002\","
                   "\"self_trade_prevention_mode\":\"EXPIRE_MAKER\""));
    expect_ok(r, "place_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.icebergQty"),
                           "0.00200000");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.selfTradePreventionMode"),
        "EXPIRE_MAKER");
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 3);

    REFUSED(&d, "place_order",
            ORDER("\"side\":\"SELL\",\"type\":\"STOP_LOSS\""), "stop_price",
            "trailing_delta");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"SELL\",\"type\":\"STOP_LOSS\",\"stop_price\":"
                  "\"45000\",\"price\":\"44000\""),
            "takes no price");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"SELL\",\"type\":\"TAKE_PROFIT\",\"stop_price\":"
                  "\"55000\",\"time_in_force\":\"GTC\""),
            "takes no time_in_force");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"BUY\",\"type\":\"MARKET\",\"trailing_delta\":"
                  "100"),
            "takes no trailing_delta");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"BUY\",\"type\":\"LIMIT\",\"price\":\"40000\","
                  "\"stop_price\":\"41000\""),
            "takes no stop_price");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"BUY\",\"type\":\"MARKET\",\"iceberg_qty\":"
                  "\"0.001\""),
            "iceberg");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"BUY\",\"type\":\"LIMIT\",\"price\":\"40000\","
                  "\"time_in_force\":\"IOC\",\"iceberg_qty\":\"0.001\""),
            "GTC");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"BUY\",\"type\":\"LIMIT\",\"price\":\"40000\","
                  "\"iceberg_qty\":\"0.01\""),
            "must be smaller than quantity");
    REFUSED(&d, "place_order",
            ORDER("\"side\":\"SELL\",\"type\":\"STOP_LOSS_LIMIT\","
                  "\"stop_price\":\"45000\""),
            "needs price");
    sd_stop(&d);
}

/* ------------------------------------------------------------------ */
/* Order lists                                                         */

#define SELL_OCO(extra)                                                        \
    "{\"symbol\":\"BTCUSDT\",\"list_type\":\"OCO\",\"side\":\"SELL\","         \
    "\"quantity\":\"0.01\"," extra "}"

static void
test_oco(void)
{
    struct sd d;
    json_object *r;
    int64_t above, below, list_id;
    char st[32], lid[64];

    start(&d);
    r = tool(&d, "place_order_list",
             SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                      "\"55000\",\"below_type\":\"STOP_LOSS_LIMIT\","
                      "\"below_stop_price\":\"45000\",\"below_price\":"
                      "\"44900\""));
    expect_ok(r, "place_order_list");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.contingencyType"),
                           "OCO");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.listOrderStatus"),
                           "EXECUTING");
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.orders"), 2);
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.orderReports"), 2);
    snprintf(lid, sizeof(lid), "%s",
             tl_str_at(r, "structuredContent.listClientOrderId"));
    CU_ASSERT_EQUAL(strncmp(lid, "binmcpd-", 8), 0);
    CU_ASSERT_EQUAL(strlen(lid), 24);
    list_id = tl_int_at(r, "structuredContent.orderListId");
    above = leg_order_id(r, "-a");
    below = leg_order_id(r, "-b");
    CU_ASSERT_TRUE(above > 0 && below > 0);
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/orderList/oco"), 1);

    r = tool(&d, "get_open_order_lists", "{}");
    expect_ok(r, "get_open_order_lists");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 1);
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.order_lists.0.orderListId"),
                    list_id);
    json_object_put(r);

    /* the above leg fills: Binance expires the other */
    CU_ASSERT_EQUAL(fill(above), 200);
    order_status(&d, above, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "FILLED");
    order_status(&d, below, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "EXPIRED");
    r = tool(&d, "get_order_list", "{\"list_client_order_id\":\"%s\"}", lid);
    expect_ok(r, "get_order_list");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.listOrderStatus"),
                           "ALL_DONE");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.orderListId"), list_id);
    json_object_put(r);
    r = tool(&d, "get_open_order_lists", "{}");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 0);
    json_object_put(r);
    r = tool(&d, "get_all_order_lists", "{\"limit\":10}");
    expect_ok(r, "get_all_order_lists");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 1);
    json_object_put(r);

    /* the legs' roles by side, and their prices */
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_type\":\"STOP_LOSS\",\"above_stop_price\":"
                     "\"55000\",\"below_type\":\"LIMIT_MAKER\","
                     "\"below_price\":\"45000\""),
            "SELL OCO pair", "below leg is the stop-loss one");
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                     "\"44000\",\"below_type\":\"STOP_LOSS\","
                     "\"below_stop_price\":\"45000\""),
            "above_price (44000) must be higher than below_stop_price");
    REFUSED(&d, "place_order_list",
            "{\"symbol\":\"BTCUSDT\",\"list_type\":\"OCO\",\"side\":\"SELL\","
            "\"above_type\":\"LIMIT_MAKER\",\"above_price\":\"55000\","
            "\"below_type\":\"STOP_LOSS\",\"below_stop_price\":\"45000\"}",
            "needs quantity");
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                     "\"55000\",\"below_type\":\"STOP_LOSS\","
                     "\"below_stop_price\":\"45000\",\"working_type\":"
                     "\"LIMIT\""),
            "working_type does not belong to an OCO list");
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                     "\"55000\",\"above_time_in_force\":\"GTC\","
                     "\"below_type\":\"STOP_LOSS\",\"below_stop_price\":"
                     "\"45000\""),
            "above leg (LIMIT_MAKER) takes no above_time_in_force");
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                     "\"55000\",\"below_type\":\"STOP_LOSS_LIMIT\","
                     "\"below_stop_price\":\"45000\""),
            "below leg (STOP_LOSS_LIMIT) needs below_price");
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                     "\"55000\",\"below_type\":\"STOP_LOSS_LIMIT\","
                     "\"below_stop_price\":\"45000\",\"below_price\":"
                     "\"44900\",\"below_time_in_force\":\"IOC\","
                     "\"below_iceberg_qty\":\"0.001\""),
            "iceberg order needs below_time_in_force GTC");
    REFUSED(&d, "place_order_list",
            SELL_OCO("\"above_price\":\"55000\",\"below_type\":\"STOP_LOSS\","
                     "\"below_stop_price\":\"45000\""),
            "above_type is required");
    sd_stop(&d);
}

#define OTO(extra)                                                             \
    "{\"symbol\":\"BTCUSDT\",\"list_type\":\"OTO\",\"working_type\":"          \
    "\"LIMIT\",\"working_side\":\"BUY\",\"working_price\":\"49000\","          \
    "\"working_quantity\":\"0.01\"," extra "}"

static void
test_oto(void)
{
    struct sd d;
    json_object *r;
    int64_t working, pending;
    char st[32];

    start(&d);
    r = tool(&d, "place_order_list",
             OTO("\"pending_type\":\"LIMIT\",\"pending_side\":\"SELL\","
                 "\"pending_price\":\"52000\",\"pending_quantity\":"
                 "\"0.01\""));
    expect_ok(r, "place_order_list");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.contingencyType"),
                           "OTO");
    working = leg_order_id(r, "-w");
    pending = leg_order_id(r, "-p");
    CU_ASSERT_TRUE(working > 0 && pending > 0);
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(r, "structuredContent.message"), "fully filled"));
    json_object_put(r);
    order_status(&d, pending, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "PENDING_NEW");
    /* the pending leg cannot be filled before the working one */
    CU_ASSERT_EQUAL(fill(pending), 409);
    CU_ASSERT_EQUAL(fill(working), 200);
    order_status(&d, working, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "FILLED");
    order_status(&d, pending, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "NEW");

    REFUSED(&d, "place_order_list",
            OTO("\"pending_type\":\"STOP_LOSS\",\"pending_side\":\"SELL\","
                "\"pending_quantity\":\"0.01\""),
            "pending leg (STOP_LOSS) needs pending_stop_price or "
            "pending_trailing_delta");
    REFUSED(&d, "place_order_list",
            OTO("\"pending_type\":\"MARKET\",\"pending_side\":\"SELL\","
                "\"pending_quantity\":\"0.01\",\"pending_price\":\"1\""),
            "takes no pending_price");
    REFUSED(&d, "place_order_list",
            "{\"symbol\":\"BTCUSDT\",\"list_type\":\"OTO\",\"working_type\":"
            "\"LIMIT\",\"working_side\":\"BUY\",\"working_quantity\":\"0.01\","
            "\"pending_type\":\"MARKET\",\"pending_side\":\"SELL\","
            "\"pending_quantity\":\"0.01\"}",
            "working leg (LIMIT) needs working_price");
    REFUSED(&d, "place_order_list",
            OTO("\"pending_type\":\"MARKET\",\"pending_side\":\"SELL\","
                "\"pending_quantity\":\"0.01\",\"above_type\":\"STOP_LOSS\""),
            "above_type does not belong to an OTO list");
    REFUSED(&d, "place_order_list",
            OTO("\"pending_type\":\"MARKET\",\"pending_quantity\":\"0.01\""),
            "pending_side");
    sd_stop(&d);
}

#define OTOCO(extra)                                                           \
    "{\"symbol\":\"BTCUSDT\",\"list_type\":\"OTOCO\",\"working_type\":"        \
    "\"LIMIT\",\"working_side\":\"BUY\",\"working_price\":\"49000\","          \
    "\"working_quantity\":\"0.01\",\"pending_side\":\"SELL\","                 \
    "\"pending_quantity\":\"0.01\"," extra "}"

static void
test_otoco_and_cancel_list(void)
{
    struct sd d;
    json_object *r;
    char lid[64], st[32];
    int64_t working;

    start(&d);
    r = tool(&d, "place_order_list",
             OTOCO("\"pending_above_type\":\"LIMIT_MAKER\","
                   "\"pending_above_price\":\"55000\","
                   "\"pending_below_type\":\"STOP_LOSS\","
                   "\"pending_below_stop_price\":\"45000\","
                   "\"list_client_order_id\":\"my-otoco-1\""));
    expect_ok(r, "place_order_list");
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.orders"), 3);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.listClientOrderId"),
                           "my-otoco-1");
    CU_ASSERT_TRUE(leg_order_id(r, "-pa") > 0 && leg_order_id(r, "-pb") > 0);
    working = leg_order_id(r, "-w");
    snprintf(lid, sizeof(lid), "%s",
             tl_str_at(r, "structuredContent.listClientOrderId"));
    json_object_put(r);

    REFUSED(&d, "cancel_order_list",
            "{\"symbol\":\"BTCUSDT\",\"order_list_id\":1,"
            "\"list_client_order_id\":\"x\"}",
            "not both");
    REFUSED(&d, "cancel_order_list", "{\"symbol\":\"BTCUSDT\"}",
            "order_list_id", "list_client_order_id");
    REFUSED(&d, "get_order_list", "{}", "order_list_id");
    r = tool(&d, "cancel_order_list",
             "{\"symbol\":\"BTCUSDT\",\"list_client_order_id\":\"%s\"}", lid);
    expect_ok(r, "cancel_order_list");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.listOrderStatus"),
                           "ALL_DONE");
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.orderReports"), 3);
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.orderReports.0.status"), "CANCELED");
    json_object_put(r);
    order_status(&d, working, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "CANCELED");
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/orderList"), 1);

    REFUSED(&d, "place_order_list",
            OTOCO("\"pending_above_type\":\"STOP_LOSS\","
                  "\"pending_above_stop_price\":\"55000\","
                  "\"pending_below_type\":\"LIMIT_MAKER\","
                  "\"pending_below_price\":\"45000\""),
            "pending below leg is the stop-loss one");
    REFUSED(&d, "place_order_list",
            OTOCO("\"pending_above_type\":\"LIMIT_MAKER\","
                  "\"pending_above_price\":\"55000\","
                  "\"pending_below_type\":\"STOP_LOSS\","
                  "\"pending_below_stop_price\":\"45000\","
                  "\"pending_price\":\"1\""),
            "pending_price does not belong to an OTOCO list");
    sd_stop(&d);
}

/* ------------------------------------------------------------------ */
/* cancel_replace_order, amend_order, cancel_all_orders                */

#define REPLACE(mode, cancel, extra)                                           \
    "{\"symbol\":\"BTCUSDT\",\"cancel_replace_mode\":\"" mode "\"," cancel     \
    ",\"side\":\"BUY\",\"type\":\"LIMIT\"," extra "}"

static void
test_cancel_replace(void)
{
    struct sd d;
    json_object *r;
    int64_t old, repl;
    char st[32];

    start(&d);
    old = place_limit(&d, "0.001", "40000");
    CU_ASSERT_TRUE_FATAL(old > 0);
    /* both halves */
    r = tool(&d, "cancel_replace_order",
             REPLACE("STOP_ON_FAILURE", "\"cancel_order_id\":%lld",
                     "\"quantity\":\"0.001\",\"price\":\"41000\""),
             (long long)old);
    expect_ok(r, "cancel_replace_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.cancelResult"),
                           "SUCCESS");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.newOrderResult"),
                           "SUCCESS");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.cancelResponse.status"), "CANCELED");
    repl = tl_int_at(r, "structuredContent.newOrderResponse.orderId");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.newOrderResponse.price"),
        "41000.00000000");
    json_object_put(r);
    order_status(&d, old, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "CANCELED");
    order_status(&d, repl, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "NEW");

    /* STOP_ON_FAILURE, the cancel fails: nothing placed, and it says so */
    r = tool(&d, "cancel_replace_order",
             REPLACE("STOP_ON_FAILURE", "\"cancel_order_id\":999999",
                     "\"quantity\":\"0.001\",\"price\":\"42000\""));
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "the cancel of the old order "
                                           "(orderId 999999) FAILED: -2011 "
                                           "Unknown order sent, so"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "the new order was NOT placed"));
    CU_ASSERT_TRUE(tl_contains(text_of(r),
                               "Nothing was cancelled and nothing was placed"));
    json_object_put(r);
    r = tool(&d, "get_open_orders", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 1);
    json_object_put(r);

    /* ALLOW_FAILURE, the new order fails: the cancel happened, and it says
     * so */
    r = tool(&d, "cancel_replace_order",
             REPLACE("ALLOW_FAILURE", "\"cancel_order_id\":%lld",
                     "\"quantity\":\"5\",\"price\":\"40000\""),
             (long long)repl);
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "PARTIALLY FAILED"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "the cancel SUCCEEDED"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "new order FAILED: -2010"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "action. Your old order is gone"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "nothing replaced it"));
    if (!tl_contains(text_of(r), "nothing replaced it"))
        fprintf(stderr, "test_orders: got: %s\n", text_of(r));
    json_object_put(r);
    order_status(&d, repl, st, sizeof(st));
    CU_ASSERT_STRING_EQUAL(st, "CANCELED");

    /* ALLOW_FAILURE, the cancel fails: the new order is placed anyway */
    r = tool(&d, "cancel_replace_order",
             REPLACE("ALLOW_FAILURE", "\"cancel_order_id\":999999",
                     "\"quantity\":\"0.001\",\"price\":\"43000\""));
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "the cancel FAILED: -2011"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "the new order WAS PLACED"));
    json_object_put(r);
    /* ALLOW_FAILURE, both fail */
    r = tool(&d, "cancel_replace_order",
             REPLACE("ALLOW_FAILURE", "\"cancel_order_id\":999999",
                     "\"quantity\":\"5\",\"price\":\"43000\""));
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "FAILED: -2011"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "the new order FAILED: -2010"));
    CU_ASSERT_TRUE(tl_contains(text_of(r),
                               "Nothing was cancelled and nothing was placed"));
    json_object_put(r);
    r = tool(&d, "get_open_orders", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 1);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.orders.0.price"),
                           "43000.00000000");
    json_object_put(r);

    REFUSED(&d, "cancel_replace_order",
            REPLACE("STOP_ON_FAILURE",
                    "\"cancel_order_id\":1,\"cancel_client_order_id\":\"x\"",
                    "\"quantity\":\"0.001\",\"price\":\"42000\""),
            "exactly one");
    REFUSED(&d, "cancel_replace_order",
            REPLACE("STOP_ON_FAILURE", "\"quantity\":\"0.001\"",
                    "\"price\":\"42000\""),
            "cancel_order_id");
    REFUSED(&d, "cancel_replace_order",
            REPLACE("ALLOW_FAILURE", "\"cancel_order_id\":1",
                    "\"quantity\":\"0.001\""),
            "LIMIT order needs price");
    sd_stop(&d);
}

static void
test_amend(void)
{
    struct sd d;
    json_object *r;
    int64_t id;

    start(&d);
    id = place_limit(&d, "0.01", "40000");
    CU_ASSERT_TRUE_FATAL(id > 0);
    r = tool(&d, "amend_order",
             "{\"symbol\":\"BTCUSDT\",\"order_id\":%lld,\"new_qty\":"
             "\"0.005\"}",
             (long long)id);
    expect_ok(r, "amend_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.amendedOrder.qty"),
                           "0.00500000");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.amendedOrder.orderId"), id);
    json_object_put(r);
    r = tool(&d, "get_order", "{\"symbol\":\"BTCUSDT\",\"order_id\":%lld}",
             (long long)id);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.origQty"),
                           "0.00500000");
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "PUT", "/api/v3/order/amend/keepPriority"),
                    1);

    REFUSED(&d, "amend_order",
            "{\"symbol\":\"BTCUSDT\",\"order_id\":1,\"client_order_id\":"
            "\"x\",\"new_qty\":\"0.001\"}",
            "exactly one");
    REFUSED(&d, "amend_order", "{\"symbol\":\"BTCUSDT\",\"new_qty\":\"0.001\"}",
            "exactly one");
    REFUSED(&d, "amend_order",
            "{\"symbol\":\"BTCUSDT\",\"order_id\":1,\"new_qty\":\"0\"}",
            "greater than zero");
    sd_stop(&d);
}

static void
test_cancel_all(void)
{
    struct sd d;
    json_object *r;

    start(&d);
    CU_ASSERT_TRUE(place_limit(&d, "0.001", "40000") > 0);
    CU_ASSERT_TRUE(place_limit(&d, "0.001", "41000") > 0);
    r = tool(&d, "place_order_list",
             SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                      "\"55000\",\"below_type\":\"STOP_LOSS\","
                      "\"below_stop_price\":\"45000\""));
    expect_ok(r, "place_order_list");
    json_object_put(r);
    r = tool(&d, "cancel_all_orders", "{\"symbol\":\"btcusdt\"}");
    expect_ok(r, "cancel_all_orders");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 4);
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.orders"), 2);
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.order_lists"), 1);
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.order_lists.0.listOrderStatus"),
        "ALL_DONE");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.orders.0.status"),
                           "CANCELED");
    json_object_put(r);
    r = tool(&d, "get_open_orders", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 0);
    json_object_put(r);
    /* nothing left: said so, not an error */
    r = tool(&d, "cancel_all_orders", "{\"symbol\":\"BTCUSDT\"}");
    expect_ok(r, "cancel_all_orders");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 0);
    CU_ASSERT_TRUE(tl_contains(tl_str_at(r, "structuredContent.message"),
                               "no open orders"));
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/openOrders"), 2);
    sd_stop(&d);
}

/* ------------------------------------------------------------------ */
/* Reads                                                               */

static void
test_reads(void)
{
    struct sd d;
    json_object *r;

    start(&d);
    r = tool(&d, "get_commission_rates", "{\"symbol\":\"btcusdt\"}");
    expect_ok(r, "get_commission_rates");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.standardCommission.maker"),
        FAKEX_COMMISSION_RATE);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.discount.discount"),
                           FAKEX_COMMISSION_DISCOUNT);
    json_object_put(r);

    CU_ASSERT_TRUE(place_limit(&d, "0.001", "40000") > 0);
    r = tool(&d, "get_order_rate_limit", "{}");
    expect_ok(r, "get_order_rate_limit");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 2);
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.limits.0.limit"),
                    FAKEX_ORDER_LIMIT_10S);
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.limits.0.count"), 1);
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.limits.1.limit"),
                    FAKEX_ORDER_LIMIT_1D);
    json_object_put(r);

    r = tool(&d, "get_prevented_matches",
             "{\"symbol\":\"BTCUSDT\",\"order_id\":1000,\"limit\":5}");
    expect_ok(r, "get_prevented_matches");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 0);
    json_object_put(r);
    REFUSED(&d, "get_prevented_matches", "{\"symbol\":\"BTCUSDT\"}",
            "exactly one");
    REFUSED(&d, "get_prevented_matches",
            "{\"symbol\":\"BTCUSDT\",\"order_id\":1,"
            "\"prevented_match_id\":2}",
            "exactly one");
    REFUSED(&d, "get_prevented_matches",
            "{\"symbol\":\"BTCUSDT\",\"prevented_match_id\":2,\"limit\":5}",
            "do not go with prevented_match_id");
    REFUSED(&d, "get_all_order_lists", "{\"from_id\":1,\"start_time\":0}",
            "from_id cannot be combined");
    REFUSED(&d, "get_all_order_lists",
            "{\"start_time\":0,\"end_time\":90000000}", "at most");
    sd_stop(&d);
}

/* ------------------------------------------------------------------ */
/* An unknown outcome                                                  */

static void
test_list_unknown_outcome(void)
{
    struct sd d;
    json_object *r;
    char cid[64], args[256];
    const char *p;

    start(&d);
    /* Binance places the list, then the answer is lost (503) */
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=503&path=/api/v3/orderList/oco&method=POST"
                         "&count=1&executed=1"),
        0);
    r = tool(&d, "place_order_list",
             SELL_OCO("\"above_type\":\"LIMIT_MAKER\",\"above_price\":"
                      "\"55000\",\"below_type\":\"STOP_LOSS\","
                      "\"below_stop_price\":\"45000\""));
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "OUTCOME UNKNOWN"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "NOT retried"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "call get_order with"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "get_order_list with"));
    p = strstr(text_of(r), "\"client_order_id\":\"binmcpd-");
    cid[0] = '\0';
    if (p != NULL)
        sscanf(p + strlen("\"client_order_id\":\""), "%26[a-z0-9-]", cid);
    json_object_put(r);
    CU_ASSERT_EQUAL(strlen(cid), 26);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/orderList/oco"), 1);
    /* the lookup the error names tells the truth */
    snprintf(args, sizeof(args),
             "{\"symbol\":\"BTCUSDT\",\"client_order_id\":\"%s\"}", cid);
    r = tool(&d, "get_order", "%s", args);
    expect_ok(r, "get_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.status"), "NEW");
    json_object_put(r);
    sd_stop(&d);
}

/* ------------------------------------------------------------------ */

static CU_TestInfo order_tests[] = {
    {"place_order: STOP_LOSS, TAKE_PROFIT, trailing, iceberg, STP; rules",
     test_place_order_types},
    {"OCO: placed, a filled leg expires the other; list reads; rules",
     test_oco},
    {"OTO: the working leg fills, the pending leg goes on the book; rules",
     test_oto},
    {"OTOCO placed, cancel_order_list; rules", test_otoco_and_cancel_list},
    {"cancel_replace_order: both halves, failed cancel, failed new order",
     test_cancel_replace},
    {"amend_order reduces the quantity; rules", test_amend},
    {"cancel_all_orders: orders and lists, then nothing left", test_cancel_all},
    {"commission rates, order rate limit, prevented matches; rules",
     test_reads},
    {"place_order_list: unknown outcome named with its lookup",
     test_list_unknown_outcome},
    CU_TEST_INFO_NULL,
};

static int
init_all(void)
{
    if (fx_up)
        return 0;
    if (fakex_start(&fx, NULL) < 0)
        return -1;
    fx_up = 1;
    return 0;
}

static CU_SuiteInfo suites[] = {
    {"orders", init_all, NULL, NULL, NULL, order_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (tl_tmpdir_make(tmpdir, sizeof(tmpdir), "test_orders") < 0)
        return 1;
    rc = testlib_run(suites);
    if (fx_up)
        fakex_stop(&fx);
    if (rc == 0)
        tl_tmpdir_remove(tmpdir);
    else
        fprintf(stderr, "test_orders: logs and journals kept in %s\n", tmpdir);
    return rc;
}
