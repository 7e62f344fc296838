/*
 * test_tools.c - every tool, resource, prompt and completion against the
 * fake exchange (tests/fakex), with the values fakex.h fixes.
 *
 * Handlers are called the way the engine calls them: arguments are first
 * validated against the row's input schema (schema_validate), and every
 * successful result is checked against the row's output schema, so each
 * call here also tests that the row's schemas tell the truth.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "bnc.h"
#include "catalog.h"
#include "creds.h"
#include "decimal.h"
#include "fakex.h"
#include "guard.h"
#include "market.h"
#include "mcp.h"
#include "schema.h"
#include "symcache.h"
#include "testlib.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "util.h"

static struct fakex fx;
static struct mcp_server *srv;
static struct mcp_session sess;
static json_object *progress_token; /* sent with calls when not NULL */
static int n_progress;              /* notifications/progress seen */

/* The session's sink: counts progress notifications, drops the rest. */
static int
sink(void *arg, const char *msg, size_t len)
{
    (void)arg;
    (void)len;
    if (strstr(msg, "notifications/progress") != NULL)
        n_progress++;
    return 0;
}

/* ---- helpers ---- */

static const char *
jstr(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return v != NULL ? json_object_get_string(v) : "(absent)";
}

static long long
jint(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return v != NULL ? (long long)json_object_get_int64(v) : -999;
}

static size_t
jlen(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return json_object_is_type(v, json_type_array) ? json_object_array_length(v)
                                                   : (size_t)-1;
}

static void
res_free(struct tool_result *res)
{
    json_object_put(res->data);
    free(res->text);
    memset(res, 0, sizeof(*res));
}

/* Checks what the engine relies on after a handler returned rc. */
static void
check_result(const struct tool_def *t, int rc, struct tool_result *res)
{
    char err[512];

    CU_ASSERT(rc == 0 || rc == -1);
    if (rc < 0) {
        CU_ASSERT(res->is_error);
        CU_ASSERT(res->error[0] != '\0');
        CU_ASSERT_PTR_NULL(res->data);
        return;
    }
    CU_ASSERT(!res->is_error);
    CU_ASSERT_FATAL(json_object_is_type(res->data, json_type_object));
    json_object *os = json_tokener_parse(t->output_schema);
    if (schema_validate(os, res->data, err, sizeof(err)) < 0) {
        fprintf(stderr, "\n%s: result does not match outputSchema: %s\n%s\n",
                t->name, err, json_object_to_json_string(res->data));
        CU_FAIL("result does not match outputSchema");
    }
    json_object_put(os);
}

/* Calls tool name with args_json in session s as the engine would.
 * Returns the handler's 0/-1, or -2 when the schema refused the args (the
 * reason is then in res->error). */
static int
call_in(struct mcp_session *s, const char *name, const char *args_json,
        struct tool_result *res)
{
    const struct tool_def *t = tool_find(name);
    json_object *args, *schema;
    char err[512];
    int rc;

    memset(res, 0, sizeof(*res));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    args = json_tokener_parse(args_json != NULL ? args_json : "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(args);
    schema = json_tokener_parse(t->input_schema);
    if (schema_validate(schema, args, err, sizeof(err)) < 0) {
        snprintf(res->error, sizeof(res->error), "schema: %s", err);
        res->is_error = 1;
        rc = -2;
    } else {
        struct mcp_call c = {.srv = s->srv,
                             .sess = s,
                             .progress_token = progress_token,
                             .tool = name,
                             .tool_data = t->data,
                             .args = args};
        rc = t->handler(&c, args, res);
        check_result(t, rc, res);
    }
    json_object_put(schema);
    json_object_put(args);
    return rc;
}

static int
call(const char *name, const char *args_json, struct tool_result *res)
{
    return call_in(&sess, name, args_json, res);
}

static void
use_creds(enum bnc_env env)
{
    char err[128];
    struct creds c;
    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(
        creds_set(&c, TEST_KEY_A, TEST_SECRET_A, env, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL_FATAL(tools_session_creds_store(&sess, &c), 0);
    creds_wipe(&c);
}

/* The query string of the last method+path request the fake saw. */
static void
last_query(const char *method, const char *path, char *out, size_t len)
{
    char q[512], body[8192];
    json_object *o, *v;

    out[0] = '\0';
    snprintf(q, sizeof(q), "/__fake/stats?method=%s&path=%s", method, path);
    if (fakex_http(&fx, "GET", q, body, sizeof(body)) != 200)
        return;
    o = json_tokener_parse(body);
    if (o != NULL && json_object_object_get_ex(o, "last_query", &v))
        snprintf(out, len, "%s", json_object_get_string(v));
    json_object_put(o);
}

/* ---- the table ---- */

static void
test_table_rows(void)
{
    size_t n = tool_count();
    char err[256];

    CU_ASSERT_EQUAL(n, 44);
    CU_ASSERT_PTR_NULL(tool_at(n));
    CU_ASSERT_PTR_NULL(tool_find("no_such_tool"));
    CU_ASSERT_PTR_NULL(tool_find(NULL));
    for (size_t i = 0; i < n; i++) {
        const struct tool_def *t = tool_at(i);
        json_object *in = json_tokener_parse(t->input_schema);
        json_object *out = json_tokener_parse(t->output_schema);

        CU_ASSERT_PTR_NOT_NULL(t->handler);
        CU_ASSERT(t->title != NULL && t->title[0] != '\0');
        CU_ASSERT(t->description != NULL && strlen(t->description) > 40);
        CU_ASSERT_PTR_EQUAL(tool_find(t->name), t);
        if (in == NULL || schema_check(in, err, sizeof(err)) < 0) {
            fprintf(stderr, "\n%s input: %s\n", t->name, in ? err : "not JSON");
            CU_FAIL("bad input schema");
        }
        if (out == NULL || schema_check(out, err, sizeof(err)) < 0) {
            fprintf(stderr, "\n%s output: %s\n", t->name,
                    out ? err : "not JSON");
            CU_FAIL("bad output schema");
        }
        /* An input schema refuses unknown arguments. */
        json_object *extra = json_tokener_parse("{\"no_such_arg\":1}");
        CU_ASSERT(schema_validate(in, extra, err, sizeof(err)) < 0);
        json_object_put(extra);
        json_object_put(in);
        json_object_put(out);
    }
}

static void
test_table_flags(void)
{
    static const char *const market[] = {"get_server_time",
                                         "get_ticker",
                                         "get_order_book",
                                         "get_recent_trades",
                                         "get_klines",
                                         "get_average_price",
                                         "search",
                                         "fetch",
                                         NULL};
    static const char *const reads[] = {
        "get_account_info", "get_account_trades", "get_order",
        "get_open_orders",  "get_all_orders",     NULL};
    const struct tool_def *t;

    for (size_t i = 0; market[i] != NULL; i++) {
        t = tool_find(market[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_EQUAL(t->flags,
                        TOOL_READ_ONLY | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD);
    }
    for (size_t i = 0; reads[i] != NULL; i++) {
        t = tool_find(reads[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_EQUAL(t->flags, TOOL_READ_ONLY | TOOL_OPEN_WORLD);
    }
    t = tool_find("place_order");
    CU_ASSERT_EQUAL(t->flags,
                    TOOL_DESTRUCTIVE | TOOL_OPEN_WORLD | TOOL_TRADING);
    CU_ASSERT_PTR_NOT_NULL(strstr(t->description, "real money"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->description, "test: true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->description, "testnet"));
    t = tool_find("cancel_order");
    CU_ASSERT_EQUAL(t->flags, TOOL_DESTRUCTIVE | TOOL_IDEMPOTENT |
                                  TOOL_OPEN_WORLD | TOOL_TRADING);
    CU_ASSERT_PTR_NOT_NULL(strstr(t->description, "real money"));
    CU_ASSERT_EQUAL(tool_find("configure_credentials")->flags,
                    TOOL_IDEMPOTENT | TOOL_SECRET_ARGS);
    CU_ASSERT_EQUAL(tool_find("get_credentials_status")->flags,
                    TOOL_READ_ONLY | TOOL_IDEMPOTENT);
    CU_ASSERT_EQUAL(tool_find("revoke_credentials")->flags,
                    TOOL_DESTRUCTIVE | TOOL_IDEMPOTENT);
    /* Only the two order tools trade. */
    int trading = 0;
    for (size_t i = 0; (t = tool_at(i)) != NULL; i++) {
        trading += (t->flags & TOOL_TRADING) != 0;
        /* every order-changing tool says it may destroy state */
        if (t->flags & TOOL_TRADING)
            CU_ASSERT_TRUE((t->flags & TOOL_DESTRUCTIVE) != 0);
    }
    CU_ASSERT_EQUAL(trading, 7);
}

/* ---- market ---- */

static void
test_server_time(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL_FATAL(call("get_server_time", NULL, &r), 0);
    long long st = jint(r.data, "serverTime"), lt = jint(r.data, "localTime");
    CU_ASSERT(st > 1700000000000LL);
    CU_ASSERT(llabs(st - lt) < 60000);
    CU_ASSERT(llabs(jint(r.data, "offsetMs")) < 60000);
    CU_ASSERT_EQUAL(strlen(jstr(r.data, "serverTimeUtc")), 24);
    res_free(&r);
}

static void
test_ticker(void)
{
    struct tool_result r;
    char q[256];

    CU_ASSERT_EQUAL_FATAL(call("get_ticker", "{\"symbol\":\"btcusdt\"}", &r),
                          0);
    last_query("GET", "/api/v3/ticker/24hr", q, sizeof(q));
    CU_ASSERT_STRING_EQUAL(q, "symbol=BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "lastPrice"), FAKEX_BTCUSDT_LAST);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "openPrice"), FAKEX_BTCUSDT_OPEN);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "highPrice"), FAKEX_BTCUSDT_HIGH);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "lowPrice"), FAKEX_BTCUSDT_LOW);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "priceChangePercent"),
                           FAKEX_BTCUSDT_PRICE_CHANGE_PCT);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "bidQty"), FAKEX_BID_QTY);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "askQty"), FAKEX_ASK_QTY);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "quoteVolume"),
                           FAKEX_BTCUSDT_QUOTE_VOLUME);
    CU_ASSERT_EQUAL(jint(r.data, "count"), FAKEX_TICKER_COUNT);
    CU_ASSERT_EQUAL(jint(r.data, "firstId"), FAKEX_TICKER_FIRST_ID);
    CU_ASSERT(
        json_object_is_type(tl_get_path(r.data, "closeTime"), json_type_int));
    CU_ASSERT_EQUAL(json_object_object_length(r.data), 21);
    res_free(&r);

    /* Malformed symbols never reach Binance; unknown ones carry its code. */
    CU_ASSERT_EQUAL(call("get_ticker", "{\"symbol\":\"BTC-USD\"}", &r), -2);
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_ticker", "{}", &r), -2);
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_ticker", "{\"symbol\":\"NOPEUSDT\"}", &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "-1121"));
    res_free(&r);
}

static void
test_order_book(void)
{
    struct tool_result r;
    char q[256];

    CU_ASSERT_EQUAL_FATAL(
        call("get_order_book", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    last_query("GET", "/api/v3/depth", q, sizeof(q));
    CU_ASSERT_STRING_EQUAL(q, "symbol=BTCUSDT&limit=100");
    CU_ASSERT_EQUAL(jint(r.data, "lastUpdateId"), FAKEX_DEPTH_LAST_UPDATE_ID);
    CU_ASSERT_EQUAL(jlen(r.data, "bids"), 100);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "bids.0.0"), "49999.99000000");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "asks.0.0"), "50000.01000000");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "bids.0.1"), FAKEX_DEPTH_QTY_STEP);
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(
        call("get_order_book", "{\"symbol\":\"ETHUSDT\",\"limit\":5}", &r), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "bids"), 5);
    CU_ASSERT_EQUAL(jlen(r.data, "asks"), 5);
    res_free(&r);
    CU_ASSERT_EQUAL(
        call("get_order_book", "{\"symbol\":\"ETHUSDT\",\"limit\":7}", &r), -2);
    res_free(&r);
}

static void
test_recent_trades(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL_FATAL(
        call("get_recent_trades", "{\"symbol\":\"ethusdt\",\"limit\":10}", &r),
        0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "ETHUSDT");
    CU_ASSERT_EQUAL(jint(r.data, "count"), 10);
    CU_ASSERT_EQUAL(jlen(r.data, "trades"), 10);
    CU_ASSERT_EQUAL(jint(r.data, "trades.9.id"), FAKEX_TRADES_LAST_ID);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "trades.0.price"), FAKEX_ETHUSDT_LAST);
    CU_ASSERT(json_object_is_type(tl_get_path(r.data, "trades.0.isBuyerMaker"),
                                  json_type_boolean));
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_recent_trades",
                         "{\"symbol\":\"ETHUSDT\",\"limit\":1001}", &r),
                    -2);
    res_free(&r);
}

static void
test_klines(void)
{
    struct tool_result r;
    char q[256];

    CU_ASSERT_EQUAL_FATAL(
        call("get_klines",
             "{\"symbol\":\"BTCUSDT\",\"interval\":\"1h\",\"limit\":3,"
             "\"start_time\":1700000000000,\"end_time\":1700010800000}",
             &r),
        0);
    last_query("GET", "/api/v3/klines", q, sizeof(q));
    CU_ASSERT_STRING_EQUAL(q, "symbol=BTCUSDT&interval=1h&startTime="
                              "1700000000000&endTime=1700010800000&limit=3");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "interval"), "1h");
    CU_ASSERT_EQUAL(jlen(r.data, "klines"), 3);
    CU_ASSERT(jint(r.data, "klines.0.openTime") >= 1700000000000LL);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "klines.0.volume"), FAKEX_KLINE_VOLUME);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "klines.0.takerBuyBaseVolume"),
                           FAKEX_KLINE_TAKER_BASE);
    CU_ASSERT_EQUAL(jint(r.data, "klines.0.trades"), FAKEX_KLINE_TRADES);
    CU_ASSERT_EQUAL(json_object_object_length(tl_get_path(r.data, "klines.0")),
                    11);
    res_free(&r);

    CU_ASSERT_EQUAL(call("get_klines",
                         "{\"symbol\":\"BTCUSDT\",\"interval\":\"1h\","
                         "\"start_time\":2000,\"end_time\":1000}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "start_time"));
    res_free(&r);
    CU_ASSERT_EQUAL(
        call("get_klines", "{\"symbol\":\"BTCUSDT\",\"interval\":\"2m\"}", &r),
        -2);
    res_free(&r);
}

static void
test_average_price(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        call("get_average_price", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "price"), FAKEX_BTCUSDT_AVG_PRICE);
    CU_ASSERT_EQUAL(jint(r.data, "mins"), FAKEX_AVG_PRICE_MINS);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/avgPrice"), 1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/price"), 0);
    res_free(&r);
}

static void
test_upstream_error(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL(fakex_fault(&fx, "type=429&retry_after=7&path=/api/v3/"
                                     "ticker/24hr&count=1"),
                    0);
    CU_ASSERT_EQUAL(call("get_ticker", "{\"symbol\":\"BTCUSDT\"}", &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "429"));
    res_free(&r);
    bnc_hold_clear(); /* do not wait out the 7 s Retry-After */
    CU_ASSERT_EQUAL(call("get_ticker", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    res_free(&r);
}

/* ---- search, fetch, symbol cache ---- */

static void
test_symcache(void)
{
    struct sym_info out[10], si;
    size_t total;

    symcache_reset();
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL(symcache_find("usdt", 1, out, 10, &total, NULL), 6);
    CU_ASSERT_EQUAL(total, 6);
    CU_ASSERT_STRING_EQUAL(out[5].symbol, "LUNAUSDT"); /* not trading: last */
    CU_ASSERT_STRING_EQUAL(out[5].status, "BREAK");
    CU_ASSERT_EQUAL(symcache_find("eth", 0, out, 10, &total, NULL), 2);
    CU_ASSERT_STRING_EQUAL(out[0].symbol, "ETHUSDT"); /* USDT quote first */
    CU_ASSERT_STRING_EQUAL(out[1].symbol, "ETHBTC");
    CU_ASSERT_EQUAL(symcache_find("", 0, out, 3, &total, NULL), 3);
    CU_ASSERT_EQUAL(total, 7);
    CU_ASSERT_EQUAL(symcache_get("btcusdt", &si, NULL), 0);
    CU_ASSERT_STRING_EQUAL(si.base, "BTC");
    CU_ASSERT_STRING_EQUAL(si.quote, "USDT");
    CU_ASSERT_STRING_EQUAL(si.status, "TRADING");
    CU_ASSERT_EQUAL(symcache_get("NOPE", &si, NULL), 1);
    CU_ASSERT_EQUAL(
        symcache_get("AVERYLONGSYMBOLNAMETHATDOESNOTFIT", &si, NULL), 1);
    /* Loaded once, then served from memory. */
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/exchangeInfo"), 1);

    /* A failed first load is an error that says why. */
    struct bnc_response resp;
    symcache_reset();
    CU_ASSERT_EQUAL(fakex_fault(&fx, "type=500&path=/api/v3/exchangeInfo"), 0);
    CU_ASSERT_EQUAL(symcache_find("BTC", 1, out, 10, &total, &resp), -1);
    CU_ASSERT_EQUAL(resp.status, BNC_ERR_SERVER);
    bnc_response_free(&resp);
}

static void
test_search(void)
{
    struct tool_result r;
    json_object *tok = json_object_new_string("search-1");

    symcache_reset();
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    progress_token = tok;
    n_progress = 0;
    CU_ASSERT_EQUAL_FATAL(call("search", "{\"query\":\"btc\"}", &r), 0);
    progress_token = NULL;
    CU_ASSERT_EQUAL(n_progress, 2);
    CU_ASSERT_EQUAL(jlen(r.data, "results"), 2);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.id"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.title"), "BTC/USDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.text"),
                           "Current price: 50000.00 USDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.url"),
                           "https://www.binance.com/en/trade/BTC_USDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.status"), "TRADING");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.1.id"), "ETHBTC");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.1.text"),
                           "Current price: 0.06 BTC");
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/price"), 1);
    res_free(&r);
    json_object_put(tok);

    /* Slashes and case do not matter; a halted pair says so. */
    CU_ASSERT_EQUAL_FATAL(call("search", "{\"query\":\"Luna/Usdt\"}", &r), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "results"), 1);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.status"), "BREAK");
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.data, "results.0.text"), "BREAK"));
    res_free(&r);

    /* Nothing found is an empty list, not an error. */
    CU_ASSERT_EQUAL_FATAL(call("search", "{\"query\":\"zzz\"}", &r), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "results"), 0);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("search", "{\"query\":\"//\"}", &r), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "results"), 0);
    res_free(&r);

    /* Prices failing still gives the symbols. */
    CU_ASSERT_EQUAL(fakex_fault(&fx, "type=500&path=/api/v3/ticker/price"), 0);
    CU_ASSERT_EQUAL_FATAL(call("search", "{\"query\":\"SOL\"}", &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "results.0.id"), "SOLUSDT");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(r.data, "results.0.text"), "unavailable"));
    res_free(&r);
}

static void
test_fetch(void)
{
    struct tool_result r;
    json_object *tok = json_object_new_int(7);

    progress_token = tok;
    n_progress = 0;
    CU_ASSERT_EQUAL_FATAL(call("fetch", "{\"id\":\"btcusdt\"}", &r), 0);
    progress_token = NULL;
    json_object_put(tok);
    CU_ASSERT_EQUAL(n_progress, 3);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "id"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "title"), "BTC/USDT Market Data");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "url"),
                           "https://www.binance.com/en/trade/BTC_USDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "metadata.baseAsset"), "BTC");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "metadata.quoteAsset"), "USDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "metadata.24hStats.lastPrice"),
                           FAKEX_BTCUSDT_LAST);
    CU_ASSERT_EQUAL(jint(r.data, "metadata.24hStats.trades"),
                    FAKEX_TICKER_COUNT);
    CU_ASSERT_EQUAL(jlen(r.data, "metadata.orderBook.bids"), 5);
    CU_ASSERT_EQUAL(jlen(r.data, "metadata.orderBook.asks"), 5);
    const char *text = jstr(r.data, "text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "**Last price:** 50000.00 USDT"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "+1000.00 USDT (+2.041%)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "51000.00 / 48500.00 USDT"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "1234.50 BTC"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "- 0.10 @ 50000.01"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "- 0.10 @ 49999.99"));
    res_free(&r);

    CU_ASSERT_EQUAL(call("fetch", "{\"id\":\"NOPEUSDT\"}", &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "search"));
    res_free(&r);
}

/* ---- credentials ---- */

/* Fails when the serialized result or error holds the secret or the key. */
static void
assert_no_secret(const struct tool_result *r)
{
    const char *s = r->data != NULL ? json_object_to_json_string(r->data) : "";

    CU_ASSERT_PTR_NULL(strstr(s, TEST_SECRET_A));
    CU_ASSERT_PTR_NULL(strstr(s, TEST_KEY_A));
    CU_ASSERT_PTR_NULL(strstr(r->error, TEST_SECRET_A));
    CU_ASSERT_PTR_NULL(strstr(r->error, TEST_KEY_A));
}

static void
test_credentials(void)
{
    struct tool_result r;
    char args[512];

    tools_session_creds_wipe(&sess);
    CU_ASSERT_EQUAL_FATAL(call("get_credentials_status", NULL, &r), 0);
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(r.data, "configured")));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "source"), "none");
    CU_ASSERT_TRUE(
        json_object_get_boolean(tl_get_path(r.data, "tradingEnabled")));
    res_free(&r);

    snprintf(args, sizeof(args),
             "{\"api_key\":\"%s\",\"api_secret\":\"%s\",\"environment\":"
             "\"testnet\"}",
             TEST_KEY_A, TEST_SECRET_A);
    CU_ASSERT_EQUAL_FATAL(call("configure_credentials", args, &r), 0);
    assert_no_secret(&r);
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(r.data, "configured")));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "environment"), "testnet");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "key"), "vmPU...Eh8A");
    CU_ASSERT_EQUAL(strlen(jstr(r.data, "configuredAt")), 24);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tools_session_creds(&sess));
    CU_ASSERT_EQUAL(tools_session_creds(&sess)->env, BNC_ENV_TESTNET);
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(call("get_credentials_status", NULL, &r), 0);
    assert_no_secret(&r);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "source"), "session");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "key"), "vmPU...Eh8A");
    res_free(&r);

    /* A bad secret is refused and keeps the working credentials. */
    CU_ASSERT_EQUAL(call("configure_credentials",
                         "{\"api_key\":\"abc def\",\"api_secret\":\"x\","
                         "\"environment\":\"mainnet\"}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "unchanged"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(tools_session_creds(&sess));
    CU_ASSERT_EQUAL(tools_session_creds(&sess)->env, BNC_ENV_TESTNET);
    res_free(&r);
    CU_ASSERT_EQUAL(call("configure_credentials",
                         "{\"api_key\":\"k\",\"api_secret\":\"s\","
                         "\"environment\":\"moonnet\"}",
                         &r),
                    -2);
    res_free(&r);
    CU_ASSERT_EQUAL(call("configure_credentials", "{\"api_key\":\"k\"}", &r),
                    -2);
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(call("revoke_credentials", NULL, &r), 0);
    CU_ASSERT_TRUE(
        json_object_get_boolean(tl_get_path(r.data, "hadCredentials")));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "fallback"), "none");
    /* wiped in place: the session's app is its struct creds */
    CU_ASSERT_PTR_NULL(tools_session_creds(&sess));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sess.app);
    CU_ASSERT_FALSE(((const struct creds *)sess.app)->set);
    CU_ASSERT_EQUAL(((const struct creds *)sess.app)->secret[0], '\0');
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("revoke_credentials", NULL, &r), 0);
    CU_ASSERT_FALSE(
        json_object_get_boolean(tl_get_path(r.data, "hadCredentials")));
    res_free(&r);
}

/* A read-only server with daemon credentials: the session falls back. */
static void
test_daemon_credentials(void)
{
    struct creds daemon;
    struct binance_ctx bctx = {.daemon_creds = &daemon};
    struct mcp_options opts = {.read_only = 1,
                               .provider = &mcp_binance_provider,
                               .provider_ctx = &bctx};
    struct mcp_session s2;
    struct tool_result r;
    char err[128];

    memset(&daemon, 0, sizeof(daemon));
    CU_ASSERT_EQUAL_FATAL(creds_set(&daemon, TEST_KEY_B, TEST_SECRET_B,
                                    BNC_ENV_MAINNET, err, sizeof(err)),
                          0);
    struct mcp_server *ro = mcp_server_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    mcp_session_init(&s2, ro, "s2", sink, NULL);

    CU_ASSERT_EQUAL_FATAL(call_in(&s2, "get_credentials_status", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "source"), "daemon");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "environment"), "mainnet");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "key"), "Bbbb...000B");
    CU_ASSERT_FALSE(
        json_object_get_boolean(tl_get_path(r.data, "tradingEnabled")));
    CU_ASSERT_PTR_NULL(
        strstr(json_object_to_json_string(r.data), TEST_SECRET_B));
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(call_in(&s2, "get_account_info", NULL, &r), 0);
    CU_ASSERT_EQUAL(jint(r.data, "uid"), FAKEX_UID_BASE + 1);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "environment"), "mainnet");
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(call_in(&s2, "revoke_credentials", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "fallback"), "daemon");
    res_free(&r);

    mcp_session_finish(&s2);
    mcp_server_free(ro);
    creds_wipe(&daemon);
}

/* ---- account ---- */

static void
test_account_no_creds(void)
{
    struct tool_result r;

    tools_session_creds_wipe(&sess);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL(call("get_account_info", NULL, &r), -1);
    CU_ASSERT_STRING_EQUAL(r.error, tu_no_creds_text);
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_open_orders", NULL, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "configure_credentials"));
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/account"), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/openOrders"), 0);
}

static void
test_account_info(void)
{
    struct tool_result r;
    json_object *bal;
    int btc = 0, bnb = 0;

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL_FATAL(call("get_account_info", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "environment"), "testnet");
    CU_ASSERT_EQUAL(jint(r.data, "uid"), FAKEX_UID_BASE);
    CU_ASSERT_EQUAL(jint(r.data, "makerCommission"), FAKEX_COMMISSION_BPS);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "commissionRates.maker"),
                           FAKEX_COMMISSION_RATE);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "permissions.0"), "SPOT");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(r.data, "canTrade")));
    bal = tl_get_path(r.data, "balances");
    for (size_t i = 0; i < json_object_array_length(bal); i++) {
        json_object *b = json_object_array_get_idx(bal, i);
        const char *a = jstr(b, "asset");
        if (strcmp(a, "BTC") == 0) {
            btc = 1;
            CU_ASSERT_STRING_EQUAL(jstr(b, "free"), FAKEX_INIT_BTC);
        }
        bnb |= strcmp(a, "BNB") == 0;
    }
    CU_ASSERT_TRUE(btc);
    CU_ASSERT_FALSE(bnb);
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(
        call("get_account_info", "{\"omit_zero_balances\":false}", &r), 0);
    bal = tl_get_path(r.data, "balances");
    for (size_t i = 0; i < json_object_array_length(bal); i++)
        bnb |= strcmp(jstr(json_object_array_get_idx(bal, i), "asset"),
                      "BNB") == 0;
    CU_ASSERT_TRUE(bnb);
    res_free(&r);
}

static void
test_account_trades(void)
{
    struct tool_result r;

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        call("get_account_trades", "{\"symbol\":\"btcusdt\"}", &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_EQUAL(jint(r.data, "count"), 2);
    CU_ASSERT_EQUAL(jint(r.data, "trades.0.id"), FAKEX_SEED_TRADE_ID);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "trades.0.price"), FAKEX_SEED1_PRICE);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "trades.1.qty"), FAKEX_SEED2_QTY);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "trades.1.commission"),
                           FAKEX_SEED2_COMMISSION);
    res_free(&r);

    CU_ASSERT_EQUAL(call("get_account_trades",
                         "{\"symbol\":\"BTCUSDT\",\"start_time\":5,"
                         "\"end_time\":4}",
                         &r),
                    -1);
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_account_trades",
                         "{\"symbol\":\"BTCUSDT\",\"start_time\":0,"
                         "\"end_time\":90000000}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "24 hours"));
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_account_trades",
                         "{\"symbol\":\"BTCUSDT\",\"start_time\":0,"
                         "\"from_id\":3}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "from_id"));
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/myTrades"), 1);
}

/* ---- orders ---- */

/* Each of these must be refused before anything is sent. */
static void
test_order_rules(void)
{
    static const char *const bad[] = {
        /* STOP_LOSS needs stop_price or trailing_delta */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"STOP_LOSS\","
        "\"quantity\":\"1\"}",
        /* no price for LIMIT */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
        "\"quantity\":\"0.001\"}",
        /* price for MARKET */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
        "\"quantity\":\"0.001\",\"price\":\"1\"}",
        /* both quantities */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
        "\"quantity\":\"0.001\",\"quote_order_qty\":\"10\"}",
        /* neither */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\"}",
        /* quote_order_qty with LIMIT */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
        "\"quote_order_qty\":\"10\",\"price\":\"40000\"}",
        /* no stop_price */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"SELL\",\"type\":"
        "\"STOP_LOSS_LIMIT\",\"quantity\":\"0.001\",\"price\":\"40000\"}",
        /* stop_price where it does not belong */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
        "\"quantity\":\"0.001\",\"price\":\"40000\",\"stop_price\":\"1\"}",
        /* time_in_force for MARKET and LIMIT_MAKER */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
        "\"quantity\":\"0.001\",\"time_in_force\":\"GTC\"}",
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT_MAKER\","
        "\"quantity\":\"0.001\",\"price\":\"40000\",\"time_in_force\":"
        "\"IOC\"}",
        /* zero */
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
        "\"quantity\":\"0.000\"}",
        NULL};
    static const char *const bad_schema[] = {
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
        "\"quantity\":\"1e5\"}",
        "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
        "\"quantity\":\"1\",\"client_order_id\":\"bad id!\"}",
        "{\"symbol\":\"BTCUSDT\",\"side\":\"HOLD\",\"type\":\"MARKET\","
        "\"quantity\":\"1\"}",
        NULL};
    struct tool_result r;

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    for (size_t i = 0; bad[i] != NULL; i++) {
        int rc = call("place_order", bad[i], &r);
        if (rc != -1)
            fprintf(stderr, "\naccepted: %s\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT(strlen(r.error) > 10);
        res_free(&r);
    }
    for (size_t i = 0; bad_schema[i] != NULL; i++) {
        CU_ASSERT_EQUAL(call("place_order", bad_schema[i], &r), -2);
        res_free(&r);
    }
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order/test"), 0);

    CU_ASSERT_EQUAL(call("get_order", "{\"symbol\":\"BTCUSDT\"}", &r), -1);
    res_free(&r);
    CU_ASSERT_EQUAL(call("cancel_order",
                         "{\"symbol\":\"BTCUSDT\",\"order_id\":"
                         "1,\"client_order_id\":\"x\"}",
                         &r),
                    -1);
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/order"), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/order"), 0);
}

static void
test_order_test_mode(void)
{
    struct tool_result r;
    char q[1024];

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(call("place_order",
                               "{\"symbol\":\"btcusdt\",\"side\":\"BUY\","
                               "\"type\":\"LIMIT\",\"quantity\":\"0.001\","
                               "\"price\":\"40000\",\"test\":true}",
                               &r),
                          0);
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(r.data, "test")));
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(r.data, "validated")));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "environment"), "testnet");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "request.symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "request.timeInForce"), "GTC");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "request.newOrderRespType"), "FULL");
    const char *cid = jstr(r.data, "clientOrderId");
    CU_ASSERT_EQUAL(strlen(cid), 24);
    CU_ASSERT_EQUAL(strncmp(cid, "binmcpd-", 8), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "request.newClientOrderId"), cid);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order/test"), 1);
    last_query("POST", "/api/v3/order/test", q, sizeof(q));
    CU_ASSERT_PTR_NOT_NULL(strstr(q, "symbol=BTCUSDT&side=BUY&type=LIMIT&"
                                     "timeInForce=GTC&quantity=0.001&"
                                     "price=40000&newClientOrderId=binmcpd-"));
    res_free(&r);

    /* Binance's own rejection of a test order is passed on. */
    CU_ASSERT_EQUAL(call("place_order",
                         "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                         "\"type\":\"LIMIT\",\"quantity\":\"0.001\","
                         "\"price\":\"40000.001\",\"test\":true}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "Test order rejected"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "-1013"));
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 0);
}

static void
test_order_round_trip(void)
{
    struct tool_result r;
    long long id;
    char args[256];

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(call("place_order",
                               "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                               "\"type\":\"LIMIT\",\"quantity\":\"0.001\","
                               "\"price\":\"40000\",\"client_order_id\":"
                               "\"my-order_1\"}",
                               &r),
                          0);
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(r.data, "test")));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "environment"), "testnet");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "clientOrderId"), "my-order_1");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "NEW");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "timeInForce"), "GTC");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "origQty"), "0.00100000");
    id = jint(r.data, "orderId");
    CU_ASSERT(id >= FAKEX_FIRST_ORDER_ID);
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);

    CU_ASSERT_EQUAL_FATAL(call("get_order",
                               "{\"symbol\":\"btcusdt\","
                               "\"client_order_id\":"
                               "\"my-order_1\"}",
                               &r),
                          0);
    CU_ASSERT_EQUAL(jint(r.data, "orderId"), id);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "NEW");
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(call("get_open_orders", NULL, &r), 0);
    CU_ASSERT_EQUAL(jint(r.data, "count"), 1);
    CU_ASSERT_EQUAL(jint(r.data, "orders.0.orderId"), id);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        call("get_open_orders", "{\"symbol\":\"ETHUSDT\"}", &r), 0);
    CU_ASSERT_EQUAL(jint(r.data, "count"), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "ETHUSDT");
    res_free(&r);

    snprintf(args, sizeof(args), "{\"symbol\":\"BTCUSDT\",\"order_id\":%lld}",
             id);
    CU_ASSERT_EQUAL_FATAL(call("cancel_order", args, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "CANCELED");
    CU_ASSERT_EQUAL(jint(r.data, "orderId"), id);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("get_order", args, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "CANCELED");
    res_free(&r);
    /* A second cancel is Binance's definite "unknown order", not an
     * unknown outcome. */
    CU_ASSERT_EQUAL(call("cancel_order", args, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "-2011"));
    CU_ASSERT_PTR_NULL(strstr(r.error, "UNKNOWN"));
    res_free(&r);

    CU_ASSERT_EQUAL_FATAL(
        call("get_all_orders", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    CU_ASSERT(jint(r.data, "count") >= 1);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_all_orders",
                         "{\"symbol\":\"BTCUSDT\",\"start_time\":0,"
                         "\"end_time\":90000000}",
                         &r),
                    -1);
    res_free(&r);

    /* A market order fills and reports its fills. */
    CU_ASSERT_EQUAL_FATAL(call("place_order",
                               "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                               "\"type\":\"MARKET\",\"quote_order_qty\":"
                               "\"100\"}",
                               &r),
                          0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "FILLED");
    CU_ASSERT(jlen(r.data, "fills") >= 1);
    res_free(&r);
}

/* The client order id in an error text ("binmcpd-" + 16 hex). */
static void
find_client_id(const char *text, char *out, size_t len)
{
    const char *p = strstr(text, "binmcpd-");

    out[0] = '\0';
    if (p != NULL && len > 24)
        snprintf(out, 25, "%s", p);
}

static void
test_order_unknown_outcome(void)
{
    struct tool_result r;
    char cid[64], args[256];

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    /* The exchange places the order, then answers 503. */
    CU_ASSERT_EQUAL(fakex_fault(&fx, "type=503&path=/api/v3/order&method=POST"
                                     "&executed=1"),
                    0);
    CU_ASSERT_EQUAL(call("place_order",
                         "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                         "\"type\":\"LIMIT\",\"quantity\":\"0.001\","
                         "\"price\":\"40000\"}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "UNKNOWN"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "NOT retried"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "get_order"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "\"client_order_id\":\"binmcpd-"));
    find_client_id(r.error, cid, sizeof(cid));
    CU_ASSERT_EQUAL(strlen(cid), 24);
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);

    /* The lookup the error suggests tells the truth. */
    snprintf(args, sizeof(args),
             "{\"symbol\":\"BTCUSDT\",\"client_order_id\":\"%s\"}", cid);
    CU_ASSERT_EQUAL_FATAL(call("get_order", args, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "clientOrderId"), cid);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "NEW");
    res_free(&r);

    /* Cancelling into a timeout is unknown too, and not retried. */
    CU_ASSERT_EQUAL(fakex_fault(&fx, "type=slow&delay_ms=2500&path=/api/v3/"
                                     "order&method=DELETE"),
                    0);
    CU_ASSERT_EQUAL(call("cancel_order", args, &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "UNKNOWN"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "cancel request"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, cid));
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/order"), 1);

    /* A definite rejection is not "unknown". */
    CU_ASSERT_EQUAL(call("place_order",
                         "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                         "\"type\":\"LIMIT\",\"quantity\":\"5\","
                         "\"price\":\"40000\"}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NULL(strstr(r.error, "UNKNOWN"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "-2010"));
    res_free(&r);
}

/* ---- resources ---- */

static json_object *
read_res(const char *uri, struct mcp_error *err)
{
    struct mcp_call c = {.srv = srv, .sess = &sess};
    memset(err, 0, sizeof(*err));
    return catalog_read_resource(&c, uri, err);
}

static void
test_resource_lists(void)
{
    json_object *l = catalog_resources(), *t = catalog_resource_templates();

    CU_ASSERT_EQUAL(json_object_array_length(l), 4);
    CU_ASSERT_STRING_EQUAL(jstr(l, "0.uri"), "binance://market/BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(l, "1.uri"), "binance://market/ETHUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(l, "2.uri"), "binance://account/balances");
    CU_ASSERT_STRING_EQUAL(jstr(l, "3.uri"), "binance://orders/open");
    for (size_t i = 0; i < 4; i++) {
        json_object *o = json_object_array_get_idx(l, i);
        CU_ASSERT_STRING_EQUAL(jstr(o, "mimeType"), "text/markdown");
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(o, "name"));
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(o, "title"));
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(o, "description"));
    }
    CU_ASSERT_EQUAL(json_object_array_length(t), 2);
    CU_ASSERT_STRING_EQUAL(jstr(t, "0.uriTemplate"),
                           "binance://market/{symbol}");
    CU_ASSERT_STRING_EQUAL(jstr(t, "1.uriTemplate"),
                           "binance://chart/{symbol}/{interval}");
    CU_ASSERT_STRING_EQUAL(jstr(t, "1.mimeType"), "image/png");
    json_object_put(l);
    json_object_put(t);
}

static void
test_resource_market(void)
{
    struct mcp_error err;
    json_object *o = read_res("binance://market/btcusdt", &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(jstr(o, "contents.0.uri"),
                           "binance://market/btcusdt");
    CU_ASSERT_STRING_EQUAL(jstr(o, "contents.0.mimeType"), "text/markdown");
    const char *text = jstr(o, "contents.0.text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "## BTCUSDT (BTC/USDT)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "50000.00 USDT"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "5-minute average price:** 49950.00"));
    json_object_put(o);

    o = read_res("binance://market/NOPEUSDT", &err);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32002);
    json_object_put(err.data);
    o = read_res("binance://market/", &err);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32002);
    json_object_put(err.data);
    o = read_res("binance://nothing/here", &err);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32002);
    CU_ASSERT_STRING_EQUAL(jstr(err.data, "uri"), "binance://nothing/here");
    json_object_put(err.data);
}

static void
test_resource_account(void)
{
    struct mcp_error err;
    json_object *o;

    tools_session_creds_wipe(&sess);
    o = read_res("binance://account/balances", &err);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32603);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "configure_credentials"));
    json_object_put(err.data);

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    o = read_res("binance://account/balances", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const char *text = jstr(o, "contents.0.text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# Account balances (testnet)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "| BTC | 1.00 | 0.00 | 1.00 |"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "| USDT | 10000.00 | 0.00 | 10000.00 |"));
    CU_ASSERT_PTR_NULL(strstr(text, "| BNB |"));
    json_object_put(o);

    o = read_res("binance://orders/open", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(o, "contents.0.text"), "No open orders"));
    json_object_put(o);

    struct tool_result r;
    CU_ASSERT_EQUAL(call("place_order",
                         "{\"symbol\":\"ETHUSDT\",\"side\":\"SELL\","
                         "\"type\":\"LIMIT\",\"quantity\":\"0.5\","
                         "\"price\":\"3500\",\"client_order_id\":\"res-1\"}",
                         &r),
                    0);
    res_free(&r);
    o = read_res("binance://orders/open", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    text = jstr(o, "contents.0.text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "| ETHUSDT | SELL | LIMIT | 3500.00 | "
                                        "0.50 | 0.00 | NEW | res-1 |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "1 open order."));
    json_object_put(o);

    /* Locked funds show in the total. */
    o = read_res("binance://account/balances", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(o, "contents.0.text"), "| ETH | 4.50 | 0.50 | 5.00 |"));
    json_object_put(o);
}

/* ---- prompts ---- */

static json_object *
get_prompt(const char *name, const char *args_json, struct mcp_error *err)
{
    struct mcp_call c = {.srv = srv, .sess = &sess};
    json_object *args = args_json ? json_tokener_parse(args_json) : NULL;
    json_object *o;

    memset(err, 0, sizeof(*err));
    o = catalog_get_prompt(&c, name, args, err);
    json_object_put(args);
    return o;
}

static void
test_prompts(void)
{
    struct mcp_error err;
    json_object *l = catalog_prompts(), *o;

    CU_ASSERT_EQUAL(json_object_array_length(l), 5);
    CU_ASSERT_STRING_EQUAL(jstr(l, "0.name"), "trading_analysis");
    CU_ASSERT_STRING_EQUAL(jstr(l, "0.arguments.0.name"), "symbol");
    CU_ASSERT_TRUE(
        json_object_get_boolean(tl_get_path(l, "0.arguments.0.required")));
    CU_ASSERT_STRING_EQUAL(jstr(l, "0.arguments.2.name"), "risk_tolerance");
    CU_ASSERT_STRING_EQUAL(jstr(l, "1.name"), "portfolio_risk");
    CU_ASSERT_EQUAL(jlen(l, "1.arguments"), 0);
    json_object_put(l);

    o = get_prompt("trading_analysis",
                   "{\"symbol\":\"btcusdt\",\"strategy\":\"Aggressive\","
                   "\"riskTolerance\":\"low\"}",
                   &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(jstr(o, "messages.0.role"), "user");
    CU_ASSERT_STRING_EQUAL(jstr(o, "messages.0.content.type"), "text");
    const char *text = jstr(o, "messages.0.content.text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "BTCUSDT"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "strategy **aggressive**"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "risk tolerance **low**"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "50000.00 USDT"));
    json_object_put(o);

    o = get_prompt("trading_analysis", "{\"symbol\":\"ETHUSDT\"}", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(o, "messages.0.content.text"), "strategy **balanced**"));
    json_object_put(o);

    static const char *const bad[] = {
        "{}",
        "{\"strategy\":\"balanced\"}",
        "{\"symbol\":\"BTC USDT\"}",
        "{\"symbol\":\"BTCUSDT\",\"strategy\":\"yolo\"}",
        "{\"symbol\":\"BTCUSDT\",\"risk_tolerance\":\"extreme\"}",
        "{\"symbol\":\"NOPEUSDT\"}",
        NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        o = get_prompt("trading_analysis", bad[i], &err);
        CU_ASSERT_PTR_NULL(o);
        CU_ASSERT_EQUAL(err.code, -32602);
        json_object_put(err.data);
    }
    o = get_prompt("no_such_prompt", NULL, &err);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32602);

    tools_session_creds_wipe(&sess);
    o = get_prompt("portfolio_risk", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(o, "messages.0.content.text"), "No live balances"));
    json_object_put(o);

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    o = get_prompt("portfolio_risk", NULL, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    text = jstr(o, "messages.0.content.text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "testnet account"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "| BTC | 1.00 | 0.00 | 1.00 |"));
    json_object_put(o);
}

/* ---- completion ---- */

static json_object *
complete(const char *type, const char *ref, const char *arg, const char *prefix,
         struct mcp_error *err)
{
    struct mcp_call c = {.srv = srv, .sess = &sess};
    memset(err, 0, sizeof(*err));
    return catalog_complete(&c, type, ref, arg, prefix, err);
}

static void
test_completion(void)
{
    struct mcp_error err;
    json_object *o;

    o = complete("ref/prompt", "trading_analysis", "symbol", "bt", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jlen(o, "values"), 1);
    CU_ASSERT_STRING_EQUAL(jstr(o, "values.0"), "BTCUSDT");
    CU_ASSERT_EQUAL(jint(o, "total"), 1);
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(o, "hasMore")));
    json_object_put(o);

    o = complete("ref/prompt", "trading_analysis", "symbol", "", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jlen(o, "values"), 7);
    CU_ASSERT_EQUAL(jint(o, "total"), 7);
    json_object_put(o);

    o = complete("ref/prompt", "trading_analysis", "strategy", "C", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jlen(o, "values"), 1);
    CU_ASSERT_STRING_EQUAL(jstr(o, "values.0"), "conservative");
    json_object_put(o);

    o = complete("ref/prompt", "trading_analysis", "risk_tolerance", "", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jlen(o, "values"), 3);
    CU_ASSERT_EQUAL(jint(o, "total"), 3);
    json_object_put(o);

    o = complete("ref/resource", "binance://market/{symbol}", "symbol", "eth",
                 &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(jlen(o, "values"), 2);
    CU_ASSERT_STRING_EQUAL(jstr(o, "values.0"), "ETHUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(o, "values.1"), "ETHBTC");
    json_object_put(o);

    static const char *const bad[][4] = {
        {"ref/prompt", "no_prompt", "symbol", ""},
        {"ref/prompt", "trading_analysis", "colour", ""},
        {"ref/prompt", "portfolio_risk", "symbol", ""},
        {"ref/resource", "binance://account/{x}", "symbol", ""},
        {"ref/resource", "binance://market/{symbol}", "side", ""},
        {"ref/tool", "get_ticker", "symbol", ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = complete(bad[i][0], bad[i][1], bad[i][2], bad[i][3], &err);
        CU_ASSERT_PTR_NULL(o);
        CU_ASSERT_EQUAL(err.code, -32602);
        json_object_put(err.data);
    }
}

/* ---- order book (REST snapshots) ---- */

#define NEAR(a, b) ((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

static double
jdbl(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return json_object_is_type(v, json_type_double) ||
                   json_object_is_type(v, json_type_int)
               ? json_object_get_double(v)
               : -999.0;
}

/* Runs first in its suite: no order-book call has been made yet. */
static void
test_orderbook_health_empty(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL_FATAL(call("get_orderbook_health", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "ok");
    CU_ASSERT_EQUAL(jint(r.data, "orderbook_symbols_active"), 0);
    CU_ASSERT_EQUAL(jint(r.data, "last_update_age_ms"), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "websocket_connected"), "false");
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.data, "reason"), "REST snapshot"));
    /* no market segment here (as with feed = off): never live */
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "source"), "rest_snapshot");
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.data, "reason"), "feed = off"));
    CU_ASSERT(jint(r.data, "timestamp") > FAKEX_SEED_TIME);
    res_free(&r);
}

static void
test_orderbook_metrics(void)
{
    struct tool_result r;
    char q[256];
    int64_t before = now_ms(), after;
    double bid = 49999.99, ask = 50000.01, vol = 0;

    for (int i = 0; i < 20; i++)
        vol += 0.1 * (i + 1);
    CU_ASSERT_EQUAL_FATAL(
        call("get_orderbook_metrics", "{\"symbol\":\"btcusdt\"}", &r), 0);
    after = now_ms();
    last_query("GET", "/api/v3/depth", q, sizeof(q));
    CU_ASSERT_STRING_EQUAL(q, "symbol=BTCUSDT&limit=100");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT(jint(r.data, "timestamp") >= before &&
              jint(r.data, "timestamp") <= after);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "best_bid"), FAKEX_BTCUSDT_BID);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "best_ask"), FAKEX_BTCUSDT_ASK);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "source"), "rest_snapshot");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "websocket_connected"), "false");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(r.data, "fallback_reason"), "feed = off"));
    CU_ASSERT(NEAR(jdbl(r.data, "spread_bps"), 0.02 / 49999.99 * 1e4));
    CU_ASSERT(NEAR(jdbl(r.data, "bid_volume"), 21.0));
    CU_ASSERT(NEAR(jdbl(r.data, "ask_volume"), 21.0));
    CU_ASSERT(NEAR(vol, 21.0));
    CU_ASSERT(NEAR(jdbl(r.data, "imbalance_ratio"), 1.0));
    CU_ASSERT(NEAR(jdbl(r.data, "microprice"),
                   (bid * vol + ask * vol) / (vol + vol)));
    CU_ASSERT(NEAR(jdbl(r.data, "microprice"), 50000.0));
    /* Quantities 0.1..2.0 twice: median 1.05, nothing above 2.1. */
    CU_ASSERT_EQUAL(jlen(r.data, "walls.bids"), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "walls.asks"), 0);

    /* Buying 10k USD: all of 0.1 @ 50000.01 (5000.001 USD), the remaining
     * 4999.999 USD at 50000.02. */
    double fq = 0.1 + 4999.999 / 50000.02, avg = 10000.0 / fq;
    CU_ASSERT(NEAR(jdbl(r.data, "slippage_estimates.buy_10k_usd.target_usd"),
                   10000.0));
    CU_ASSERT(NEAR(jdbl(r.data, "slippage_estimates.buy_10k_usd.filled_usd"),
                   10000.0));
    CU_ASSERT(
        NEAR(jdbl(r.data, "slippage_estimates.buy_10k_usd.filled_qty"), fq));
    CU_ASSERT(
        NEAR(jdbl(r.data, "slippage_estimates.buy_10k_usd.avg_price"), avg));
    CU_ASSERT(NEAR(jdbl(r.data, "slippage_estimates.buy_10k_usd.slippage_bps"),
                   (avg - ask) / ask * 1e4));
    CU_ASSERT(jdbl(r.data, "slippage_estimates.buy_10k_usd.slippage_bps") > 0);
    /* Selling walks the bids: 0.1 @ 49999.99, the rest at 49999.98. */
    fq = 0.1 + (10000.0 - 4999.999) / 49999.98;
    CU_ASSERT(
        NEAR(jdbl(r.data, "slippage_estimates.sell_10k_usd.filled_qty"), fq));
    CU_ASSERT(NEAR(jdbl(r.data, "slippage_estimates.sell_10k_usd.avg_price"),
                   10000.0 / fq));
    /* 50k USD needs more than the first levels and is still filled. */
    CU_ASSERT(NEAR(jdbl(r.data, "slippage_estimates.buy_50k_usd.filled_usd"),
                   50000.0));
    CU_ASSERT(jdbl(r.data, "slippage_estimates.buy_50k_usd.slippage_bps") >
              jdbl(r.data, "slippage_estimates.buy_10k_usd.slippage_bps"));
    CU_ASSERT(jdbl(r.data, "slippage_estimates.sell_25k_usd.avg_price") < bid);
    res_free(&r);
}

static void
test_orderbook_depth(void)
{
    struct tool_result r;
    char path[32];

    CU_ASSERT_EQUAL_FATAL(call("get_orderbook_depth",
                               "{\"symbol\":\"BTCUSDT\",\"levels\":5}", &r),
                          0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_EQUAL(jint(r.data, "price_scale"), 100);
    CU_ASSERT_EQUAL(jint(r.data, "qty_scale"), 100000);
    CU_ASSERT_EQUAL(jlen(r.data, "bids"), 5);
    CU_ASSERT_EQUAL(jlen(r.data, "asks"), 5);
    CU_ASSERT_EQUAL(jint(r.data, "bids.0.0"), 4999999);
    CU_ASSERT_EQUAL(jint(r.data, "bids.0.1"), 10000);
    CU_ASSERT_EQUAL(jint(r.data, "asks.0.0"), 5000001);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "bids.%d.0", i);
        CU_ASSERT_EQUAL(jint(r.data, path), 4999999 - i);
        snprintf(path, sizeof(path), "bids.%d.1", i);
        CU_ASSERT_EQUAL(jint(r.data, path), 10000 * (i + 1));
        snprintf(path, sizeof(path), "asks.%d.0", i);
        CU_ASSERT_EQUAL(jint(r.data, path), 5000001 + i);
        snprintf(path, sizeof(path), "asks.%d.1", i);
        CU_ASSERT_EQUAL(jint(r.data, path), 10000 * (i + 1));
    }
    res_free(&r);

    /* Default 20; ETHBTC's 0.05999 truncates to 5 at scale 100. */
    CU_ASSERT_EQUAL_FATAL(
        call("get_orderbook_depth", "{\"symbol\":\"ETHBTC\"}", &r), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "bids"), 20);
    CU_ASSERT_EQUAL(jlen(r.data, "asks"), 20);
    CU_ASSERT_EQUAL(jint(r.data, "bids.0.0"), 5);
    CU_ASSERT_EQUAL(jint(r.data, "asks.19.0"), 6);
    CU_ASSERT_EQUAL(jint(r.data, "asks.19.1"), 200000);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("get_orderbook_depth",
                               "{\"symbol\":\"BTCUSDT\",\"levels\":100}", &r),
                          0);
    CU_ASSERT_EQUAL(jlen(r.data, "bids"), 100);
    CU_ASSERT_EQUAL(jint(r.data, "bids.99.0"), 4999900);
    res_free(&r);
}

static void
test_orderbook_levels_schema(void)
{
    const struct tool_def *t = tool_find("get_orderbook_depth");
    json_object *schema, *v;
    char err[256];

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    schema = json_tokener_parse(t->input_schema);
    CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
    v = json_tokener_parse("{\"symbol\":\"BTCUSDT\",\"levels\":0}");
    CU_ASSERT(schema_validate(schema, v, err, sizeof(err)) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "levels"));
    json_object_put(v);
    v = json_tokener_parse("{\"symbol\":\"BTCUSDT\",\"levels\":101}");
    CU_ASSERT(schema_validate(schema, v, err, sizeof(err)) < 0);
    json_object_put(v);
    v = json_tokener_parse("{\"symbol\":\"BTCUSDT\",\"levels\":\"5\"}");
    CU_ASSERT(schema_validate(schema, v, err, sizeof(err)) < 0);
    json_object_put(v);
    v = json_tokener_parse("{\"symbol\":\"BTC-USDT\"}");
    CU_ASSERT(schema_validate(schema, v, err, sizeof(err)) < 0);
    json_object_put(v);
    v = json_tokener_parse("{\"symbol\":\"BTCUSDT\",\"levels\":1}");
    CU_ASSERT(schema_validate(schema, v, err, sizeof(err)) == 0);
    json_object_put(v);
    v = json_tokener_parse("{\"symbol\":\"BTCUSDT\",\"levels\":100}");
    CU_ASSERT(schema_validate(schema, v, err, sizeof(err)) == 0);
    json_object_put(v);
    json_object_put(schema);
}

static void
test_orderbook_errors(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL(
        call("get_orderbook_metrics", "{\"symbol\":\"NOPEUSDT\"}", &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "-1121"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "Invalid symbol"));
    res_free(&r);
    CU_ASSERT_EQUAL(
        call("get_orderbook_depth", "{\"symbol\":\"NOPEUSDT\"}", &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "-1121"));
    res_free(&r);
}

/* After metrics (BTCUSDT) and depth (BTCUSDT, ETHBTC); the unknown symbol
 * of test_orderbook_errors is not counted. */
static void
test_orderbook_health(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL_FATAL(call("get_orderbook_health", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "ok");
    CU_ASSERT_EQUAL(jint(r.data, "orderbook_symbols_active"), 2);
    CU_ASSERT(jint(r.data, "last_update_age_ms") >= 0 &&
              jint(r.data, "last_update_age_ms") < 60000);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "websocket_connected"), "false");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(r.data, "reason"), "no streaming connection"));
    res_free(&r);

    /* A failed snapshot of a tracked symbol degrades the health ... */
    CU_ASSERT_EQUAL(fakex_fault(&fx, "type=500&path=/api/v3/depth&count=1"), 0);
    CU_ASSERT_EQUAL(call("get_orderbook_depth", "{\"symbol\":\"ETHBTC\"}", &r),
                    -1);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("get_orderbook_health", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "degraded");
    CU_ASSERT_EQUAL(jint(r.data, "orderbook_symbols_active"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.data, "reason"), "1 of 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.data, "reason"), "ETHBTC"));
    res_free(&r);

    /* ... until the next snapshot of it succeeds. */
    CU_ASSERT_EQUAL(call("get_orderbook_depth", "{\"symbol\":\"ETHBTC\"}", &r),
                    0);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("get_orderbook_health", NULL, &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "ok");
    res_free(&r);
}

static void
test_orderbook_flags(void)
{
    const struct tool_def *t;

    t = tool_find("get_orderbook_metrics");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->flags,
                    TOOL_READ_ONLY | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(t->description, "REST snapshot taken at call time"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->description, "source is live"));
    t = tool_find("get_orderbook_depth");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->flags,
                    TOOL_READ_ONLY | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(t->description, "REST snapshot taken at call time"));
    t = tool_find("get_orderbook_health");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->flags, TOOL_READ_ONLY | TOOL_IDEMPOTENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(t->description, "REST snapshot"));
}

/* ---- helpers of tools_util ---- */

static void
test_decimals(void)
{
    char b[64];

    CU_ASSERT_EQUAL(dec_text_add("1.5", "0.25", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "1.75");
    CU_ASSERT_EQUAL(dec_text_add("99.99000000", "0.01000000", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "100.00000000");
    CU_ASSERT_EQUAL(dec_text_add("0", "0", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "0");
    CU_ASSERT_EQUAL(
        dec_text_add("123456789012.12345678", "0.00000001", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "123456789012.12345679");
    CU_ASSERT_EQUAL(dec_text_add("9", "1", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "10");
    CU_ASSERT_EQUAL(dec_text_add("-1", "1", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(dec_text_add("1.2.3", "1", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(dec_text_add("12345", "1", b, 3), -1);

    CU_ASSERT_STRING_EQUAL(dec_text_display("50000.00000000", b, sizeof(b)),
                           "50000.00");
    CU_ASSERT_STRING_EQUAL(dec_text_display("0.00100000", b, sizeof(b)),
                           "0.001");
    CU_ASSERT_STRING_EQUAL(dec_text_display("12", b, sizeof(b)), "12");
    CU_ASSERT_STRING_EQUAL(dec_text_display("-3.50", b, sizeof(b)), "-3.50");
    CU_ASSERT_STRING_EQUAL(dec_text_display("2.041", b, sizeof(b)), "2.041");
    CU_ASSERT_TRUE(dec_text_is_zero("0.00000000"));
    CU_ASSERT_TRUE(dec_text_is_zero("0"));
    CU_ASSERT_FALSE(dec_text_is_zero("0.00000001"));
    CU_ASSERT_FALSE(dec_text_is_zero(""));
    CU_ASSERT_FALSE(dec_text_is_zero("abc"));

    CU_ASSERT_EQUAL(tu_symbol_norm("btcUsdt", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "BTCUSDT");
    CU_ASSERT_EQUAL(tu_symbol_norm("btc/usdt", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(tu_symbol_norm("", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(tu_symbol_norm("ABCDEFGHIJKLMNOPQRSTU", b, sizeof(b)), -1);
}

/* A session's own credentials saved for a takeover and loaded back: the
 * same key, secret, type and environment; nothing saved when none are
 * set; short or malformed bytes refused. */
static void
test_session_creds_save(void)
{
    char err[128];
    unsigned char buf[CREDS_KEY_MAX + CREDS_SECRET_MAX + 64];
    struct creds c, *back;
    long n;

    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL(tools_session_save(&c, buf, sizeof(buf)), 0);
    CU_ASSERT_EQUAL_FATAL(creds_set(&c, TEST_KEY_B, TEST_SECRET_B,
                                    BNC_ENV_TESTNET, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(tools_session_save(&c, buf, 20), -1);
    n = tools_session_save(&c, buf, sizeof(buf));
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_PTR_NULL(tools_session_load(buf, (size_t)n - 1));
    back = tools_session_load(buf, (size_t)n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(back->set, 1);
    CU_ASSERT_EQUAL(back->env, BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(back->type, c.type);
    CU_ASSERT_EQUAL(back->since_ms, c.since_ms);
    CU_ASSERT_STRING_EQUAL(back->key, TEST_KEY_B);
    CU_ASSERT_STRING_EQUAL(back->secret, TEST_SECRET_B);
    tools_session_free(back);
    buf[0] = 9; /* no such environment */
    CU_ASSERT_PTR_NULL(tools_session_load(buf, (size_t)n));
    creds_wipe(&c);
}

static CU_TestInfo table_tests[] = {
    {"rows have valid schemas and descriptions", test_table_rows},
    {"a session's credentials saved for a takeover", test_session_creds_save},
    {"annotation flags tell the truth", test_table_flags},
    {"decimal and symbol helpers", test_decimals},
    CU_TEST_INFO_NULL,
};

static void
test_symbol_info(void)
{
    struct tool_result r;
    size_t n;
    int price_filter = 0, explained = 0;

    CU_ASSERT_EQUAL_FATAL(
        call("get_symbol_info", "{\"symbol\":\"btcusdt\"}", &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "status"), "TRADING");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "quoteAsset"), "USDT");
    n = tl_len_at(r.data, "filters");
    CU_ASSERT_TRUE(n >= 3);
    for (size_t i = 0; i < n; i++) {
        json_object *f =
            json_object_array_get_idx(tl_get_path(r.data, "filters"), i);
        if (strcmp(jstr(f, "filterType"), "PRICE_FILTER") == 0) {
            price_filter = 1;
            CU_ASSERT_STRING_EQUAL(jstr(f, "tickSize"), FAKEX_TICK_USDT);
        }
        explained += strlen(jstr(f, "explanation")) > 10;
    }
    CU_ASSERT_TRUE(price_filter);
    CU_ASSERT_EQUAL((size_t)explained, n);
    res_free(&r);
    CU_ASSERT_EQUAL(call("get_symbol_info", "{\"symbol\":\"NOSUCH\"}", &r), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "no symbol NOSUCH"));
    res_free(&r);
}

static void
test_toolsets(void)
{
    const struct tool_def *t;
    char err[256];
    size_t all = tool_count();

    /* every row belongs to a set */
    for (size_t i = 0; (t = tool_at(i)) != NULL; i++) {
        if (tool_toolset(t->name) == NULL)
            fprintf(stderr, "\n  %s has no toolset\n", t->name);
        CU_ASSERT_PTR_NOT_NULL(tool_toolset(t->name));
    }
    CU_ASSERT_EQUAL(tools_select("market", err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(tool_count(), 11);
    CU_ASSERT_PTR_NOT_NULL(tool_find("get_ticker"));
    CU_ASSERT_PTR_NULL(tool_find("place_order"));
    CU_ASSERT_PTR_NULL(tool_find("get_account_info"));
    CU_ASSERT_EQUAL(tools_select("market,trade,analytics", err, sizeof(err)),
                    0);
    CU_ASSERT_PTR_NOT_NULL(tool_find("place_order"));
    CU_ASSERT_PTR_NOT_NULL(tool_find("get_orderbook_health"));
    CU_ASSERT_PTR_NULL(tool_find("place_order_list"));
    /* an unknown set is refused and changes nothing */
    CU_ASSERT_EQUAL(tools_select("market,futures", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "futures"));
    CU_ASSERT_PTR_NOT_NULL(tool_find("place_order"));
    CU_ASSERT_EQUAL(tools_select("all", err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(tool_count(), all);
}

static CU_TestInfo market_tests[] = {
    {"toolsets: every tool in one; a selection hides the rest", test_toolsets},
    {"get_symbol_info: filters explained; an unknown symbol", test_symbol_info},
    {"get_server_time", test_server_time},
    {"get_ticker", test_ticker},
    {"get_order_book", test_order_book},
    {"get_recent_trades", test_recent_trades},
    {"get_klines", test_klines},
    {"get_average_price uses avgPrice", test_average_price},
    {"Binance errors become tool errors", test_upstream_error},
    {"symbol cache", test_symcache},
    {"search", test_search},
    {"fetch", test_fetch},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo account_tests[] = {
    {"credential tools", test_credentials},
    {"daemon credentials and read-only", test_daemon_credentials},
    {"signed tools without credentials", test_account_no_creds},
    {"get_account_info", test_account_info},
    {"get_account_trades", test_account_trades},
    {"place_order cross-field rules", test_order_rules},
    {"place_order test mode places nothing", test_order_test_mode},
    {"place, get, list, cancel", test_order_round_trip},
    {"unknown outcome is never retried", test_order_unknown_outcome},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo catalog_tests[] = {
    {"resource lists", test_resource_lists},
    {"market resource", test_resource_market},
    {"account and order resources", test_resource_account},
    {"prompts", test_prompts},
    {"completion", test_completion},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo orderbook_tests[] = {
    {"get_orderbook_health before any snapshot", test_orderbook_health_empty},
    {"get_orderbook_metrics", test_orderbook_metrics},
    {"get_orderbook_depth", test_orderbook_depth},
    {"levels outside 1..100 refused by the schema",
     test_orderbook_levels_schema},
    {"unknown symbol carries Binance's code", test_orderbook_errors},
    {"get_orderbook_health after snapshots", test_orderbook_health},
    {"annotation flags and descriptions", test_orderbook_flags},
    CU_TEST_INFO_NULL,
};

/* ---- watch_market (no feed here: the REST path, as over stdio) ---- */

static void
test_watch_now(void)
{
    struct tool_result r;

    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(call("watch_market", "{\"symbol\":\"btcusdt\"}", &r),
                          0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "source"), "rest");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(jstr(r.data, "fallback_reason"), "(feed = off)"));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "best_bid"), "49999.99");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "best_ask"), "50000.01");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "last_trade.price"), "50000");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "change_24h_percent"),
                           FAKEX_BTCUSDT_PRICE_CHANGE_PCT);
    CU_ASSERT(jint(r.data, "book_age_ms") >= 0);
    CU_ASSERT_PTR_NULL(tl_get_path(r.data, "condition"));
    CU_ASSERT_PTR_NOT_NULL(r.text);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "best bid 49999.99"));
    res_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr"), 1);
    /* a condition that holds already: met at once, compared exactly */
    CU_ASSERT_EQUAL_FATAL(call("watch_market",
                               "{\"symbol\":\"BTCUSDT\",\"condition\":"
                               "\"price_below\",\"level\":\"50000.0100\","
                               "\"timeout_s\":10}",
                               &r),
                          0);
    CU_ASSERT_TRUE(tl_bool_at(r.data, "condition.met"));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "condition.parameter"), "50000.01");
    CU_ASSERT(jint(r.data, "condition.waited_ms") < 1000);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("watch_market",
                               "{\"symbol\":\"BTCUSDT\",\"condition\":"
                               "\"price_below\",\"level\":\"50000.00999999\"}",
                               &r),
                          0);
    CU_ASSERT_FALSE(tl_bool_at(r.data, "condition.met"));
    CU_ASSERT_TRUE(tl_bool_at(r.data, "condition.timed_out"));
    res_free(&r);
}

static void
test_watch_timeout_polls(void)
{
    struct tool_result r;
    json_object *tok = json_object_new_string("watch-1");
    int64_t t0 = tl_now_ms(), took;
    long polls;

    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    progress_token = tok;
    n_progress = 0;
    CU_ASSERT_EQUAL_FATAL(call("watch_market",
                               "{\"symbol\":\"BTCUSDT\",\"condition\":"
                               "\"spread_above_bps\",\"bps\":50,"
                               "\"timeout_s\":6}",
                               &r),
                          0);
    took = tl_now_ms() - t0;
    progress_token = NULL;
    json_object_put(tok);
    CU_ASSERT(took >= 6000 && took < 8000);
    CU_ASSERT_EQUAL(n_progress, 1); /* at 5 s */
    CU_ASSERT_FALSE(tl_bool_at(r.data, "condition.met"));
    CU_ASSERT_TRUE(tl_bool_at(r.data, "condition.timed_out"));
    CU_ASSERT_FALSE(tl_bool_at(r.data, "condition.cancelled"));
    CU_ASSERT(jint(r.data, "condition.waited_ms") >= 6000);
    res_free(&r);
    /* REST is polled at most every 2 s: at 0, 2, 4 and 6 s */
    polls = fakex_count(&fx, "GET", "/api/v3/ticker/24hr");
    CU_ASSERT(polls >= 3 && polls <= 4);
}

static void *
fill_later(void *arg)
{
    char path[96];

    tl_sleep_ms(700);
    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld",
             *(long long *)arg);
    fakex_http(&fx, "POST", path, NULL, 0);
    return NULL;
}

static void
test_watch_order_filled(void)
{
    struct tool_result r;
    long long id;
    char args[256];
    pthread_t th;

    use_creds(BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(call("place_order",
                               "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                               "\"type\":\"LIMIT\",\"quantity\":\"0.001\","
                               "\"price\":\"40000\",\"client_order_id\":"
                               "\"watch-1\"}",
                               &r),
                          0);
    id = jint(r.data, "orderId");
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, fill_later, &id), 0);
    snprintf(args, sizeof(args),
             "{\"symbol\":\"BTCUSDT\",\"condition\":\"order_filled\","
             "\"order_id\":%lld,\"timeout_s\":10}",
             id);
    CU_ASSERT_EQUAL(call("watch_market", args, &r), 0);
    pthread_join(th, NULL);
    CU_ASSERT_TRUE(tl_bool_at(r.data, "condition.met"));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "condition.order.status"), "FILLED");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "condition.order.client_order_id"),
                           "watch-1");
    CU_ASSERT(jint(r.data, "condition.waited_ms") < 5000);
    res_free(&r);
    /* a canceled order ends the wait with its status, not a timeout */
    CU_ASSERT_EQUAL_FATAL(call("place_order",
                               "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\","
                               "\"type\":\"LIMIT\",\"quantity\":\"0.001\","
                               "\"price\":\"40000\",\"client_order_id\":"
                               "\"watch-2\"}",
                               &r),
                          0);
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(call("cancel_order",
                               "{\"symbol\":\"BTCUSDT\",\"client_order_id\":"
                               "\"watch-2\"}",
                               &r),
                          0);
    res_free(&r);
    CU_ASSERT_EQUAL(call("watch_market",
                         "{\"symbol\":\"BTCUSDT\",\"condition\":"
                         "\"order_filled\",\"client_order_id\":\"watch-2\","
                         "\"timeout_s\":10}",
                         &r),
                    0);
    CU_ASSERT_FALSE(tl_bool_at(r.data, "condition.met"));
    CU_ASSERT_FALSE(tl_bool_at(r.data, "condition.timed_out"));
    CU_ASSERT_TRUE(tl_bool_at(r.data, "condition.ended"));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "condition.order.status"), "CANCELED");
    res_free(&r);
    /* without credentials: a tool error that says so */
    tools_session_creds_wipe(&sess);
    CU_ASSERT_EQUAL(call("watch_market",
                         "{\"symbol\":\"BTCUSDT\",\"condition\":"
                         "\"order_filled\",\"order_id\":1}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "credentials"));
    res_free(&r);
}

static void
test_watch_bad_args(void)
{
    static const char *const tool_errors[] = {
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"price_above\"}",
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"spread_above_bps\"}",
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"order_filled\"}",
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"order_filled\","
        "\"order_id\":1,\"client_order_id\":\"x\"}",
        NULL};
    static const char *const schema_errors[] = {
        "{\"symbol\":\"BTC-USDT\"}",
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"price_sideways\"}",
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"price_above\","
        "\"level\":\"1e5\"}",
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"spread_above_bps\","
        "\"bps\":\"wide\"}",
        "{\"symbol\":\"BTCUSDT\",\"timeout_s\":601}",
        "{\"symbol\":\"BTCUSDT\",\"timeout_s\":-1}",
        "{\"condition\":\"price_above\",\"level\":\"1\"}",
        NULL};
    struct tool_result r;

    for (int i = 0; tool_errors[i] != NULL; i++) {
        CU_ASSERT_EQUAL(call("watch_market", tool_errors[i], &r), -1);
        CU_ASSERT(strlen(r.error) > 10);
        res_free(&r);
    }
    for (int i = 0; schema_errors[i] != NULL; i++) {
        CU_ASSERT_EQUAL(call("watch_market", schema_errors[i], &r), -2);
        res_free(&r);
    }
}

/* A wait on a thread of its own (no CUnit calls there): the handler's
 * return code into *arg. */
static void *
wait_in_thread(void *arg)
{
    const struct tool_def *t = tool_find("watch_market");
    json_object *args = json_tokener_parse(
        "{\"symbol\":\"BTCUSDT\",\"condition\":\"spread_above_bps\","
        "\"bps\":1000,\"timeout_s\":2}");
    struct mcp_call c = {.srv = srv, .sess = &sess, .tool = t->name};
    struct tool_result res;

    memset(&res, 0, sizeof(res));
    c.args = args;
    *(int *)arg = t->handler(&c, args, &res);
    json_object_put(res.data);
    free(res.text);
    json_object_put(args);
    bnc_thread_cleanup(); /* this thread's Binance connection */
    return NULL;
}

static void
test_watch_waiters_cap(void)
{
    pthread_t th[4];
    int rc[4] = {-9, -9, -9, -9};
    struct tool_result r;

    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&th[i], NULL, wait_in_thread, &rc[i]), 0);
    tl_sleep_ms(800);
    /* a fifth wait is refused; the state now is still served */
    CU_ASSERT_EQUAL(call("watch_market",
                         "{\"symbol\":\"BTCUSDT\",\"condition\":"
                         "\"price_above\",\"level\":\"1\",\"timeout_s\":5}",
                         &r),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.error, "already waiting"));
    res_free(&r);
    CU_ASSERT_EQUAL(call("watch_market", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    res_free(&r);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(rc[i], 0);
    }
    /* the places are free again */
    CU_ASSERT_EQUAL(call("watch_market",
                         "{\"symbol\":\"BTCUSDT\",\"condition\":"
                         "\"price_above\",\"level\":\"1\",\"timeout_s\":5}",
                         &r),
                    0);
    CU_ASSERT_TRUE(tl_bool_at(r.data, "condition.met"));
    res_free(&r);
}

static CU_TestInfo watch_tests[] = {
    {"watch_market now, and a condition that holds at once", test_watch_now},
    {"a condition that never holds: timed out, REST polled, progress",
     test_watch_timeout_polls},
    {"order_filled: filled while waiting; canceled ends it; no credentials",
     test_watch_order_filled},
    {"bad arguments are tool or schema errors", test_watch_bad_args},
    {"at most 4 waits at once", test_watch_waiters_cap},
    CU_TEST_INFO_NULL,
};


/* ---- analytics: the five tools and three prompts on a scripted segment ----
 *
 * A market segment written as the feed writes it (market.h's writer API):
 * BTCUSDT streamed for 2 h with five trades and 20 one-second samples, the
 * last of which is thin, wide and stuffed; ETHUSDT streamed for 60 s only
 * (the volume profile fills the rest from the fake's klines). Every number
 * asserted is computed by hand in the comments. */

static struct market *amkt;
static struct binance_ctx actx;
static struct mcp_server *asrv;
static struct mcp_session asess;
static int64_t at0;   /* the script's "now" */
static int64_t agg_n; /* aggTrade ids */

static int64_t
units(const char *s)
{
    int64_t v = 0;

    if (market_parse(s, &v) < 0)
        fprintf(stderr, "test_tools: bad script value %s\n", s);
    return v;
}

static void
feed_heartbeat(int64_t at)
{
    struct market_feed_info fi = {.pid = 1,
                                  .ws_connected = 1,
                                  .heartbeat_ms = at,
                                  .connected_since_ms = at0 - 3 * 3600000LL};
    market_set_feed_info(amkt, &fi);
}

/* Claims symbol's slot and makes it live, streamed since since_ago ms. */
static int
script_slot(const char *symbol, int64_t since_ago)
{
    int slot = market_request(amkt, symbol, at0);
    struct market_state *st;

    if (slot < 0)
        return -1;
    market_writer_reset(amkt, slot, symbol, MARKET_TRACKING, at0 - since_ago);
    st = market_write_begin(amkt, slot);
    st->status = MARKET_LIVE;
    st->ws_connected = 1;
    market_write_end(amkt, slot);
    return slot;
}

static void
script_trade(int slot, int64_t ago, const char *price, const char *qty,
             int taker_sell)
{
    struct market_trade t = {.time_ms = at0 - ago,
                             .price = units(price),
                             .qty = units(qty),
                             .agg_id = ++agg_n,
                             .buyer_maker = taker_sell};

    market_push_trade(amkt, slot, &t);
}

/* A sample ago ms before now with one level a side of qty each. */
static void
script_sample(int slot, int64_t ago, const char *bid, const char *ask,
              const char *qty, int64_t changes)
{
    struct market_sample x;

    memset(&x, 0, sizeof(x));
    x.time_ms = at0 - ago;
    x.bid = x.bids[0].price = units(bid);
    x.ask = x.asks[0].price = units(ask);
    x.bid_qty = x.ask_qty = x.bids[0].qty = x.asks[0].qty = units(qty);
    x.nbids = x.nasks = 1;
    x.level_changes = x.updates = changes;
    market_push_sample(amkt, slot, &x);
}

static int
analytics_init(void)
{
    char err[256];
    struct mcp_options o = {.provider = &mcp_binance_provider,
                            .provider_ctx = &actx};
    int btc, eth;

    at0 = now_ms();
    if ((amkt = market_create(4, err, sizeof(err))) == NULL) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    actx.market = amkt;
    if ((asrv = mcp_server_new(&o)) == NULL)
        return -1;
    mcp_session_init(&asess, asrv, "analytics", sink, NULL);
    feed_heartbeat(at0);
    if ((btc = script_slot("BTCUSDT", 2 * 3600000LL)) < 0 ||
        (eth = script_slot("ETHUSDT", 60000)) < 0)
        return -1;
    script_trade(btc, 100000, "100", "5", 0); /* before the 60 s window */
    script_trade(btc, 50000, "100.5", "2", 0);
    script_trade(btc, 40000, "100.4", "1", 1);
    script_trade(btc, 30000, "100.6", "1", 0);
    script_trade(btc, 20000, "100.2", "0.5", 1);
    for (int k = 20; k >= 2; k--)
        script_sample(btc, k * 1000, "100", "100.1", "10", 10);
    script_sample(btc, 1000, "99", "101", "0.1", 1000);
    script_trade(eth, 30000, "2000", "1", 0);
    return 0;
}

static int
analytics_clean(void)
{
    mcp_session_finish(&asess);
    mcp_server_free(asrv);
    market_destroy(amkt);
    return 0;
}

static int
acall(const char *name, const char *args_json, struct tool_result *res)
{
    feed_heartbeat(now_ms());
    return call_in(&asess, name, args_json, res);
}

static double
jnum(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return v != NULL ? json_object_get_double(v) : -999;
}

static void
test_an_order_flow(void)
{
    struct tool_result r;

    /* 60 s: taker buys 2 + 1 = 3, taker sells 1 + 0.5 = 1.5, ratio 2.0:
     * MODERATE_BUY (1.2 <= r <= 2.0); since the stream started, buys 8
     * and sells 1.5: cumulative delta 6.5 */
    CU_ASSERT_EQUAL_FATAL(
        acall("get_order_flow", "{\"symbol\":\"btcusdt\"}", &r), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "direction"), "MODERATE_BUY");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "buy_volume"), "3");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sell_volume"), "1.5");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "net_flow"), "1.5");
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "ratio"), 2.0, 1e-9);
    CU_ASSERT_EQUAL(jint(r.data, "buy_trades"), 2);
    CU_ASSERT_EQUAL(jint(r.data, "sell_trades"), 2);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "cumulative_delta"), "6.5");
    CU_ASSERT_EQUAL(jint(r.data, "coverage.count"), 4);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "coverage.fraction"), 1.0, 1e-9);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "live"), "true");
    CU_ASSERT_PTR_NULL(tl_get_path(r.data, "data_note"));
    CU_ASSERT(tl_contains(r.text, "MODERATE_BUY"));
    res_free(&r);

    /* 10 s: nothing traded; the stream covers it, so no direction */
    CU_ASSERT_EQUAL_FATAL(
        acall("get_order_flow",
              "{\"symbol\":\"BTCUSDT\",\"time_window_secs\":10}", &r),
        0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "direction"), "UNKNOWN");
    CU_ASSERT_EQUAL(jint(r.data, "coverage.count"), 0);
    res_free(&r);
}

static void
test_an_volume_profile(void)
{
    struct tool_result r;
    char q[512];

    /* tick 0.01: bin = max(0.1, 0.6 / 100 up to a tick) = 0.1; bins from
     * 100.0: 5 | 0 | 0.5 | 0 | 1 | 2 | 1; POC 100.0 (5); value area from
     * it upwards: 5, 5, 5.5, 5.5, 6.5, 8.5 >= 70 % of 9.5 = 6.65, so VAL
     * 100, VAH 100.6. The stream covers the hour: no REST. */
    long before = fakex_count(&fx, "GET", "/api/v3/klines");
    CU_ASSERT_EQUAL_FATAL(
        acall("get_volume_profile",
              "{\"symbol\":\"BTCUSDT\",\"time_period_hours\":1,"
              "\"tick_size\":\"0.01\"}",
              &r),
        0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/klines"), before);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "bin_size"), "0.1");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "total_volume"), "9.5");
    CU_ASSERT_EQUAL(jlen(r.data, "bins"), 7);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "poc.low"), "100");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "poc.volume"), "5");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "value_area.val"), "100");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "value_area.vah"), "100.6");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "value_area.volume"), "8.5");
    CU_ASSERT_EQUAL(jint(r.data, "coverage.count"), 5);
    CU_ASSERT_EQUAL(jlen(r.data, "sources"), 1);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.0.source"), "stream");
    CU_ASSERT_EQUAL(jint(r.data, "sources.0.trades"), 5);
    res_free(&r);

    /* ETHUSDT: streamed for 60 s; the 59 minutes before come from 1 m
     * klines of the fake, up to the stream's start */
    before = fakex_count(&fx, "GET", "/api/v3/klines");
    CU_ASSERT_EQUAL_FATAL(
        acall("get_volume_profile",
              "{\"symbol\":\"ETHUSDT\",\"time_period_hours\":1,"
              "\"tick_size\":\"0.01\"}",
              &r),
        0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/klines"), before + 1);
    last_query("GET", "/api/v3/klines", q, sizeof(q));
    CU_ASSERT(tl_contains(q, "interval=1m"));
    CU_ASSERT_EQUAL(jlen(r.data, "sources"), 2);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.0.source"), "rest_klines");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.0.ok"), "true");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.0.complete"), "true");
    CU_ASSERT(jint(r.data, "sources.0.klines") >= 58);
    CU_ASSERT(jint(r.data, "sources.0.to_ms") < at0 - 60000);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.1.source"), "stream");
    CU_ASSERT_EQUAL(jint(r.data, "sources.1.trades"), 1);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "coverage.fraction"), 1.0, 1e-3);
    CU_ASSERT(tl_contains(r.text, "REST klines"));
    res_free(&r);
}

static void
test_an_anomalies(void)
{
    struct tool_result r;

    /* The last interval: 1000 level changes in 1 s and no trade: quote
     * stuffing (rate 1000 > 500, fills 0 < 10 %), confidence 1. The last
     * sample: depth 0.1 x 99 + 0.1 x 101 = 20 against a median of
     * 10 x 100 + 10 x 100.1 = 2001 (loss 0.99 > 0.8), spread 200 bps
     * against 9.995 (ratio 20 > 10): a flash-crash risk on two signals. */
    CU_ASSERT_EQUAL_FATAL(
        acall("detect_market_anomalies", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    CU_ASSERT_EQUAL(jint(r.data, "window_s"), 60);
    CU_ASSERT_EQUAL(jlen(r.data, "anomalies"), 2);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "checks.quote_stuffing.detected"),
                           "true");
    CU_ASSERT_DOUBLE_EQUAL(
        jnum(r.data, "checks.quote_stuffing.updates_per_s.value"), 1000, 1e-6);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "checks.flash_crash_risk.detected"),
                           "true");
    CU_ASSERT_EQUAL(jint(r.data, "checks.flash_crash_risk.signals_fired"), 2);
    CU_ASSERT_DOUBLE_EQUAL(
        jnum(r.data, "checks.flash_crash_risk.depth_loss.value"),
        1 - 20.0 / 2001.0, 1e-3);
    CU_ASSERT_EQUAL(jint(r.data, "coverage.books.count"), 20);
    CU_ASSERT_EQUAL(jint(r.data, "coverage.trades.count"), 4);
    CU_ASSERT(tl_contains(r.text, "2 anomalies"));
    res_free(&r);
}

static void
test_an_vacuums(void)
{
    struct tool_result r;

    /* The profile's bins 5 | 0 | 0.5 | 0 | 1 | 2 | 1 have median 1: the
     * two empty bins are under 20 % of it, deficit 1, FAST_MOVEMENT */
    CU_ASSERT_EQUAL_FATAL(
        acall("get_liquidity_vacuums",
              "{\"symbol\":\"BTCUSDT\",\"time_period_hours\":1,"
              "\"tick_size\":\"0.01\"}",
              &r),
        0);
    CU_ASSERT_EQUAL(jint(r.data, "threshold_percent"), 20);
    CU_ASSERT_EQUAL(jlen(r.data, "traded.vacuums"), 2);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "traded.vacuums.0.low"), "100.1");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "traded.vacuums.0.high"), "100.2");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "traded.vacuums.1.low"), "100.3");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "traded.vacuums.0.impact"),
                           "FAST_MOVEMENT");
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "traded.median_volume"), 1.0, 1e-9);
    CU_ASSERT_EQUAL(jint(r.data, "resting.coverage.count"), 4);
    res_free(&r);
}

static void
test_an_health(void)
{
    struct tool_result r;

    /* 300 s: flow 100 x (1 - |8 - 1.5| / 9.5) = 31.58; rate: 18 of the
     * 19 intervals healthy (the last one is over 500/s) = 94.74; depth
     * 100 x 20 / 2001 = 1.0; spread: 19 samples at 9.995 bps and one at
     * 200 give cv > 1, score 0. Score 0.25 x 0 + 0.35 x 1.0 + 0.25 x 31.58
     * + 0.15 x 94.74 = 22.45: POOR. */
    CU_ASSERT_EQUAL_FATAL(
        acall("get_microstructure_health", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    CU_ASSERT_EQUAL(jint(r.data, "window_s"), 300);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "components.flow_balance.score"),
                           100 * (1 - 6.5 / 9.5), 0.01);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "components.update_rate.score"),
                           100 * 18.0 / 19.0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "components.depth.score"),
                           100 * 20.0 / 2001.0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "components.spread_stability.score"), 0,
                           1e-9);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "score"), 22.45, 0.02);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "band"), "POOR");
    CU_ASSERT(tl_contains(r.text, "POOR"));
    res_free(&r);
}

static void
test_an_no_data(void)
{
    struct tool_result r;

    /* a symbol the feed never streamed: asked for, nothing made up */
    CU_ASSERT_EQUAL_FATAL(
        acall("get_order_flow", "{\"symbol\":\"SOLUSDT\"}", &r), 0);
    CU_ASSERT(market_find(amkt, "SOLUSDT") >= 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "direction"), "UNKNOWN");
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "live"), "false");
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "coverage.fraction"), 0, 1e-9);
    CU_ASSERT(tl_contains(jstr(r.data, "data_note"), "asked to track"));
    CU_ASSERT(tl_contains(r.text, "asked to track"));
    res_free(&r);

    /* the feed stopped a minute ago */
    feed_heartbeat(now_ms() - 60000);
    CU_ASSERT_EQUAL_FATAL(call_in(&asess, "get_microstructure_health",
                                  "{\"symbol\":\"BTCUSDT\"}", &r),
                          0);
    CU_ASSERT(tl_contains(jstr(r.data, "data_note"), "not running"));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "live"), "false");
    /* its rings end when it stopped: no feed, nothing measured */
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "band"), "UNKNOWN");
    CU_ASSERT_EQUAL(jint(r.data, "coverage.books.count"), 0);
    res_free(&r);

    /* no feed at all (feed = off) */
    CU_ASSERT_EQUAL_FATAL(
        call("get_microstructure_health", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    CU_ASSERT(tl_contains(jstr(r.data, "data_note"), "feed = off"));
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "band"), "UNKNOWN");
    CU_ASSERT_PTR_NULL(tl_get_path(r.data, "score"));
    res_free(&r);
    CU_ASSERT_EQUAL_FATAL(
        call("detect_market_anomalies", "{\"symbol\":\"BTCUSDT\"}", &r), 0);
    CU_ASSERT_EQUAL(jlen(r.data, "anomalies"), 0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "checks.quote_stuffing.evaluated"),
                           "false");
    res_free(&r);
    /* ... but the volume profile comes from REST klines */
    CU_ASSERT_EQUAL_FATAL(call("get_volume_profile",
                               "{\"symbol\":\"BTCUSDT\",\"time_period_hours\":"
                               "2,\"tick_size\":\"0.01\"}",
                               &r),
                          0);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.0.source"), "rest_klines");
    /* 120 1 m klines; the fake sends 100 a call: two pages */
    CU_ASSERT(jint(r.data, "sources.0.klines") >= 119);
    CU_ASSERT_STRING_EQUAL(jstr(r.data, "sources.0.complete"), "true");
    CU_ASSERT(jint(r.data, "coverage.count") >= 119);
    CU_ASSERT_DOUBLE_EQUAL(jnum(r.data, "coverage.fraction"), 1.0, 1e-3);
    CU_ASSERT_EQUAL(jint(r.data, "sources.1.trades"), 0);
    res_free(&r);
}

static void
test_an_bad_args(void)
{
    struct tool_result r;
    static const char *const schema_errors[][2] = {
        {"get_order_flow", "{}"},
        {"get_order_flow", "{\"symbol\":\"BTCUSDT\",\"time_window_secs\":45}"},
        {"get_order_flow",
         "{\"symbol\":\"BTCUSDT\",\"time_window_secs\":\"60\"}"},
        {"get_volume_profile",
         "{\"symbol\":\"BTCUSDT\",\"time_period_hours\":169}"},
        {"get_volume_profile", "{\"symbol\":\"BTCUSDT\",\"tick_size\":\"a\"}"},
        {"detect_market_anomalies",
         "{\"symbol\":\"BTCUSDT\",\"lookback_seconds\":5}"},
        {"get_liquidity_vacuums",
         "{\"symbol\":\"BTCUSDT\",\"threshold_percent\":51}"},
        {"get_microstructure_health",
         "{\"symbol\":\"BTC-USDT\",\"window_secs\":60}"},
    };

    for (size_t i = 0; i < sizeof(schema_errors) / sizeof(schema_errors[0]);
         i++) {
        CU_ASSERT_EQUAL(acall(schema_errors[i][0], schema_errors[i][1], &r),
                        -2);
        res_free(&r);
    }
    CU_ASSERT_EQUAL(acall("get_volume_profile",
                          "{\"symbol\":\"BTCUSDT\",\"tick_size\":\"0\"}", &r),
                    -1);
    CU_ASSERT(tl_contains(r.error, "tick_size must be a positive"));
    res_free(&r);
    /* no tick_size: the symbol's PRICE_FILTER; an unknown symbol says so */
    CU_ASSERT_EQUAL(
        acall("get_volume_profile", "{\"symbol\":\"NOPEUSDT\"}", &r), -1);
    CU_ASSERT(tl_contains(r.error, "pass tick_size"));
    res_free(&r);
}

static void
test_an_prompts(void)
{
    struct mcp_call c = {.srv = asrv, .sess = &asess};
    struct mcp_error err;
    json_object *args, *o;
    const char *text;

    feed_heartbeat(now_ms());
    memset(&err, 0, sizeof(err));
    args = json_tokener_parse("{\"symbol\":\"btcusdt\",\"windowSecs\":\"60\"}");
    o = catalog_get_prompt(&c, "orderflow_snapshot", args, &err);
    json_object_put(args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    text = jstr(o, "messages.0.content.text");
    CU_ASSERT(tl_contains(text, "BTCUSDT"));
    CU_ASSERT(tl_contains(text, "MODERATE_BUY"));
    json_object_put(o);

    args = json_tokener_parse("{\"symbol\":\"BTCUSDT\"}");
    o = catalog_get_prompt(&c, "market_health_check", args, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT(tl_contains(jstr(o, "messages.0.content.text"), "POOR"));
    json_object_put(o);
    o = catalog_get_prompt(&c, "advanced_market_analysis", args, &err);
    json_object_put(args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    text = jstr(o, "messages.0.content.text");
    CU_ASSERT(tl_contains(text, "MODERATE_BUY"));
    CU_ASSERT(tl_contains(text, "POOR"));
    json_object_put(o);

    args = json_tokener_parse(
        "{\"symbol\":\"BTCUSDT\",\"analysis_depth\":\"huge\"}");
    o = catalog_get_prompt(&c, "advanced_market_analysis", args, &err);
    json_object_put(args);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32602);
    json_object_put(err.data);
    memset(&err, 0, sizeof(err));
    args = json_tokener_parse("{\"symbol\":\"BTCUSDT\",\"window_secs\":\"x\"}");
    o = catalog_get_prompt(&c, "orderflow_snapshot", args, &err);
    json_object_put(args);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32602);
    json_object_put(err.data);
    memset(&err, 0, sizeof(err));
    o = catalog_get_prompt(&c, "market_health_check", NULL, &err);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_EQUAL(err.code, -32602);
    json_object_put(err.data);

    o = catalog_complete(&c, "ref/prompt", "advanced_market_analysis",
                         "analysis_depth", "d", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(jstr(o, "values.0"), "deep");
    json_object_put(o);
}

static CU_TestInfo analytics_tests[] = {
    {"get_order_flow: taker flow, ratio band, cumulative delta",
     test_an_order_flow},
    {"get_volume_profile: POC and value area; REST klines before the stream",
     test_an_volume_profile},
    {"detect_market_anomalies: stuffing and a flash-crash risk",
     test_an_anomalies},
    {"get_liquidity_vacuums: empty bins under 20 % of the median",
     test_an_vacuums},
    {"get_microstructure_health: the weighted score", test_an_health},
    {"no data: asked to track, feed down, no feed", test_an_no_data},
    {"bad arguments are schema or tool errors", test_an_bad_args},
    {"the three analytics prompts", test_an_prompts},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"table", NULL, NULL, NULL, NULL, table_tests},
    {"market", NULL, NULL, NULL, NULL, market_tests},
    {"account", NULL, NULL, NULL, NULL, account_tests},
    {"catalog", NULL, NULL, NULL, NULL, catalog_tests},
    {"orderbook", NULL, NULL, NULL, NULL, orderbook_tests},
    {"watch", NULL, NULL, NULL, NULL, watch_tests},
    {"analytics", analytics_init, analytics_clean, NULL, NULL, analytics_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    struct bnc_config cfg;
    struct mcp_options opts = {.read_only = 0,
                               .provider = &mcp_binance_provider};
    int rc;

    if (fakex_start(&fx, NULL) < 0) {
        fprintf(stderr, "cannot start the fake exchange (set FAKEX)\n");
        return 1;
    }
    bnc_config_defaults(&cfg);
    snprintf(cfg.mainnet_url, sizeof(cfg.mainnet_url), "%s", fx.url);
    snprintf(cfg.testnet_url, sizeof(cfg.testnet_url), "%s", fx.url);
    cfg.timeout_ms = 1500;
    if (bnc_init(&cfg) < 0 || (srv = mcp_server_new(&opts)) == NULL) {
        fakex_stop(&fx);
        return 1;
    }
    /* The tools' own behaviour is tested here (the trading guard in
     * test_guard): no confirmation, a cap no test order reaches, a journal
     * of this run's own. */
    struct trading_settings rules = {.confirmation = OC_OFF,
                                     .max_order_notional = 1e9};
    snprintf(rules.journal, sizeof(rules.journal), "%s",
             tl_test_journal() + strlen("BINMCPD_JOURNAL="));
    char gerr[512];
    if (guard_init(&rules, gerr, sizeof(gerr)) < 0 ||
        guard_open(NULL, gerr, sizeof(gerr)) < 0) {
        fprintf(stderr, "test_tools: %s\n", gerr);
        fakex_stop(&fx);
        return 1;
    }
    mcp_session_init(&sess, srv, "test", sink, NULL);
    rc = testlib_run(suites);
    guard_close();
    mcp_session_finish(&sess);
    mcp_server_free(srv);
    symcache_reset();
    bnc_thread_cleanup();
    bnc_shutdown();
    fakex_stop(&fx);
    return rc;
}
