/*
 * test_bnc.c - the Binance client against the real fake exchange
 * (tests/fakex, started as a child process), plus the parts that need no
 * network: query encoding, status names and error sentences.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "bnc.h"
#include "creds.h"
#include "testlib.h"

#define TICKER  "/api/v3/ticker/24hr"
#define ACCOUNT "/api/v3/account"
#define ORDER   "/api/v3/order"

static struct fakex fx;
static int fx_up;
static struct bnc_config cfg;
static struct creds creds_a;

/* Every network test starts with this: a clear failure if fakex is absent
 * (a failing suite init would not show in the exit status). */
#define REQUIRE_FAKEX() CU_ASSERT_FATAL(fx_up)

static void
init_client(long timeout_ms)
{
    bnc_config_defaults(&cfg);
    snprintf(cfg.mainnet_url, sizeof(cfg.mainnet_url), "%s", fx.url);
    snprintf(cfg.testnet_url, sizeof(cfg.testnet_url), "%s/", fx.url);
    cfg.timeout_ms = timeout_ms;
    CU_ASSERT_EQUAL_FATAL(bnc_init(&cfg), 0);
}

static int
suite_init(void)
{
    char err[128];

    fx_up = fakex_start(&fx, NULL) == 0;
    if (!fx_up)
        fprintf(stderr, "\ncannot start the fake exchange ($FAKEX or "
                        "./tests/fakex)\n");
    bnc_config_defaults(&cfg);
    if (bnc_init(&cfg) < 0)
        return -1;
    return creds_set(&creds_a, TEST_KEY_A, TEST_SECRET_A, BNC_ENV_MAINNET, err,
                     sizeof(err));
}

/* The offline suite: default configuration, no fake exchange. */
static int
offline_init(void)
{
    fx_up = 0;
    bnc_config_defaults(&cfg);
    return bnc_init(&cfg);
}

static int
offline_cleanup(void)
{
    bnc_shutdown();
    return 0;
}

static int
suite_cleanup(void)
{
    creds_wipe(&creds_a);
    bnc_shutdown();
    if (fx_up)
        fakex_stop(&fx);
    return 0;
}

/* Before each test: a clean exchange and a client in step with its clock. */
static void
test_setup(void)
{
    if (!fx_up)
        return;
    fakex_reset(&fx);
    init_client(10000);
    bnc_sync_time(NULL, NULL, NULL);
}

/* ---- helpers ---- */

static int
call(const char *method, const char *path, const struct bnc_params *p,
     enum bnc_kind kind, const struct creds *c, struct bnc_response *r)
{
    struct bnc_request req = {
        .method = method, .path = path, .params = p, .kind = kind, .creds = c};
    return bnc_call(&req, r);
}

static void
ticker_params(struct bnc_params *p, const char *symbol)
{
    bnc_params_init(p);
    bnc_params_add(p, "symbol", symbol);
}

static void
order_params(struct bnc_params *p)
{
    bnc_params_init(p);
    bnc_params_add(p, "symbol", "BTCUSDT");
    bnc_params_add(p, "side", "BUY");
    bnc_params_add(p, "type", "MARKET");
    bnc_params_add(p, "quantity", "0.001");
}

/* Reads /__fake/stats for method+path into key/query (either may be NULL).
 * Returns the count or -1. */
static long
fakex_stats(const char *method, const char *path, char *key, size_t keylen,
            char *query, size_t querylen)
{
    char q[256], body[8192];
    json_object *o, *v;
    long count = -1;

    snprintf(q, sizeof(q), "/__fake/stats?method=%s&path=%s", method, path);
    if (fakex_http(&fx, "GET", q, body, sizeof(body)) != 200)
        return -1;
    o = json_tokener_parse(body);
    if (o == NULL)
        return -1;
    if (json_object_object_get_ex(o, "count", &v))
        count = (long)json_object_get_int64(v);
    if (key != NULL)
        snprintf(key, keylen, "%s",
                 json_object_object_get_ex(o, "last_api_key", &v)
                     ? json_object_get_string(v)
                     : "");
    if (query != NULL)
        snprintf(query, querylen, "%s",
                 json_object_object_get_ex(o, "last_query", &v)
                     ? json_object_get_string(v)
                     : "");
    json_object_put(o);
    return count;
}

/* Fails the test when a secret shows in anything the client hands out. */
static void
assert_no_secret(const struct bnc_response *r)
{
    char text[1024];

    bnc_describe_error(r, text, sizeof(text));
    CU_ASSERT_PTR_NULL(strstr(text, TEST_SECRET_A));
    CU_ASSERT_PTR_NULL(strstr(text, TEST_SECRET_B));
    CU_ASSERT_PTR_NULL(strstr(r->detail, TEST_SECRET_A));
    CU_ASSERT_PTR_NULL(strstr(r->detail, TEST_SECRET_B));
    CU_ASSERT_PTR_NULL(strstr(r->api_msg, TEST_SECRET_A));
    /* nor the signed query */
    CU_ASSERT_PTR_NULL(strstr(r->detail, "signature"));
    CU_ASSERT_PTR_NULL(strstr(text, "signature="));
}

static int
contains(const char *hay, const char *needle)
{
    int found = strstr(hay, needle) != NULL;
    if (!found)
        fprintf(stderr, "\n  \"%s\" not in \"%s\"\n", needle, hay);
    return found;
}

/* ---- public calls ---- */

static void
test_public_ticker(void)
{
    struct bnc_params p;
    struct bnc_response r;
    json_object *v;

    REQUIRE_FAKEX();
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), 0);
    CU_ASSERT_EQUAL(r.status, BNC_OK);
    CU_ASSERT_EQUAL(r.http_status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
    CU_ASSERT_TRUE(json_object_object_get_ex(r.body, "lastPrice", &v));
    CU_ASSERT_TRUE(r.used_weight > 0);
    CU_ASSERT_TRUE(bnc_used_weight() > 0);
    CU_ASSERT_TRUE(r.elapsed_ms >= 0);
    CU_ASSERT_EQUAL(r.retry_after, -1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_response_free(&r);
    CU_ASSERT_PTR_NULL(r.body);
    bnc_response_free(&r); /* twice is harmless */
}

static void
test_invalid_symbol(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    ticker_params(&p, "NOPEUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_API);
    CU_ASSERT_EQUAL(r.api_code, -1121);
    CU_ASSERT_STRING_EQUAL(r.api_msg, "Invalid symbol.");
    CU_ASSERT_EQUAL(r.http_status, 400);
    CU_ASSERT_PTR_NULL(r.body);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "-1121"));
    CU_ASSERT_TRUE(contains(text, "Invalid symbol."));
    CU_ASSERT_TRUE(contains(text, "HTTP 400"));
    CU_ASSERT_TRUE(contains(text, "search"));
    bnc_response_free(&r);
}

static void
test_percent_encoding_reaches_the_exchange(void)
{
    struct bnc_params p;
    struct bnc_response r;

    REQUIRE_FAKEX();
    bnc_params_init(&p);
    bnc_params_add(&p, "symbols", "[\"BTCUSDT\",\"ETHUSDT\"]");
    call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r);
    /* whatever the fake makes of it, it was a well-formed HTTP request */
    CU_ASSERT_TRUE(r.status == BNC_OK || r.status == BNC_ERR_API);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_response_free(&r);
}

/* ---- signed calls ---- */

static void
test_signed_account(void)
{
    struct bnc_response r;
    char key[512], query[2048];
    json_object *v;

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL(call("GET", ACCOUNT, NULL, BNC_READ, &creds_a, &r), 0);
    CU_ASSERT_EQUAL(r.status, BNC_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
    CU_ASSERT_TRUE(json_object_object_get_ex(r.body, "balances", &v));
    CU_ASSERT_EQUAL(
        fakex_stats("GET", ACCOUNT, key, sizeof(key), query, sizeof(query)), 1);
    CU_ASSERT_STRING_EQUAL(key, TEST_KEY_A);
    CU_ASSERT_TRUE(contains(query, "recvWindow=5000&timestamp="));
    CU_ASSERT_TRUE(contains(query, "&signature="));
    CU_ASSERT_PTR_NULL(strstr(query, TEST_SECRET_A));
    bnc_response_free(&r);
}

static void
test_signed_with_params(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char query[2048];

    REQUIRE_FAKEX();
    bnc_params_init(&p);
    bnc_params_add(&p, "omitZeroBalances", "true");
    CU_ASSERT_EQUAL(call("GET", ACCOUNT, &p, BNC_READ, &creds_a, &r), 0);
    fakex_stats("GET", ACCOUNT, NULL, 0, query, sizeof(query));
    CU_ASSERT_EQUAL(strncmp(query, "omitZeroBalances=true&recvWindow=", 33), 0);
    bnc_response_free(&r);
}

static void
test_wrong_secret(void)
{
    struct creds c;
    struct bnc_response r;
    char err[128], text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(creds_set(&c, TEST_KEY_A, TEST_SECRET_B,
                                    BNC_ENV_MAINNET, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(call("GET", ACCOUNT, NULL, BNC_READ, &c, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_API);
    CU_ASSERT_EQUAL(r.api_code, -1022);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "-1022"));
    CU_ASSERT_TRUE(contains(text, "API key and secret"));
    assert_no_secret(&r);
    /* a bad signature is not a clock problem: no retry */
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", ACCOUNT), 1);
    bnc_response_free(&r);
    creds_wipe(&c);
}

static void
test_unknown_key(void)
{
    struct creds c;
    struct bnc_response r;
    char err[128];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        creds_set(&c,
                  "UnknownKey"
                  "000000000000000000000000000000000000000000000000000000",
                  TEST_SECRET_A, BNC_ENV_MAINNET, err, sizeof(err)),
        0);
    CU_ASSERT_EQUAL(call("GET", ACCOUNT, NULL, BNC_READ, &c, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_API);
    CU_ASSERT_EQUAL(r.api_code, -2015);
    /* the text says where it went, and that keys are per environment */
    char text[1024];
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "went to the mainnet"));
    CU_ASSERT_TRUE(contains(text, "their own keys"));
    assert_no_secret(&r);
    bnc_response_free(&r);
    creds_wipe(&c);
}

static void
test_no_credentials(void)
{
    struct creds unset;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    memset(&unset, 0, sizeof(unset));
    CU_ASSERT_EQUAL(call("GET", ACCOUNT, NULL, BNC_READ, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_NO_CREDENTIALS);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_EQUAL(call("POST", ORDER, NULL, BNC_TRADE, &unset, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_NO_CREDENTIALS);
    CU_ASSERT_STRING_EQUAL(
        bnc_describe_error(&r, text, sizeof(text)),
        "No Binance API credentials are configured. Call "
        "configure_credentials or start binmcpd with BINANCE_API_KEY and "
        "BINANCE_API_SECRET.");
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", ACCOUNT), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 0);
    bnc_response_free(&r);
}

/* ---- faults ---- */

static void
test_rate_limited(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=429&retry_after=7&path=" TICKER "&count=1"), 0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_RATE_LIMITED);
    CU_ASSERT_EQUAL(r.http_status, 429);
    CU_ASSERT_EQUAL(r.retry_after, 7);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "HTTP 429"));
    CU_ASSERT_TRUE(
        contains(text, "Retry after 7 seconds; do not retry sooner."));
    bnc_response_free(&r);

    /* until Retry-After has passed nothing more is sent */
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_RATE_LIMITED);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_TRUE(r.retry_after >= 1 && r.retry_after <= 7);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "did not send"));
    CU_ASSERT_TRUE(contains(text, "Retry after"));
    bnc_response_free(&r);
    long times = fakex_count(&fx, "GET", "/api/v3/time");
    CU_ASSERT_EQUAL(call("GET", "/api/v3/time", NULL, BNC_PUBLIC, NULL, &r),
                    -1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/time"), times);
    bnc_response_free(&r);
    bnc_hold_clear();
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), 0);
    bnc_response_free(&r);
}

static void
test_banned(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=418&retry_after=120&path=" TICKER "&count=1"),
        0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_BANNED);
    CU_ASSERT_EQUAL(r.http_status, 418);
    CU_ASSERT_EQUAL(r.retry_after, 120);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "banned"));
    CU_ASSERT_TRUE(contains(text, "HTTP 418"));
    CU_ASSERT_TRUE(contains(text, "Retry after 120 seconds."));
    bnc_response_free(&r);
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_BANNED);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_response_free(&r);
    bnc_hold_clear();
}

static void
test_server_error(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(fakex_fault(&fx, "type=503&path=" TICKER "&count=1"),
                          0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_SERVER);
    CU_ASSERT_EQUAL(r.http_status, 503);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 1);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "Binance had an internal error (HTTP 503"));
    CU_ASSERT_TRUE(contains(text, "the request's outcome is unknown."));
    bnc_response_free(&r);
}

static void
test_bad_json(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=badjson&path=" TICKER "&count=1"), 0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_BAD_RESPONSE);
    CU_ASSERT_EQUAL(r.http_status, 200);
    CU_ASSERT_PTR_NULL(r.body);
    CU_ASSERT_STRING_EQUAL(
        bnc_describe_error(&r, text, sizeof(text)),
        "Binance sent an answer that is not valid JSON (HTTP 200).");
    bnc_response_free(&r);
}

static void
test_dropped_connection(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    /* count=10: libcurl itself resends a request (up to 5 times) while the
     * pooled connections it reuses turn out dead before answering; reads
     * may take that, trades ride a fresh connection (see below) */
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=drop&path=" TICKER "&count=10"), 0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_NETWORK);
    CU_ASSERT_EQUAL(r.http_status, 0);
    CU_ASSERT_NOT_EQUAL(r.detail[0], '\0');
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "Could not reach Binance at "));
    CU_ASSERT_TRUE(contains(text, fx.url));
    CU_ASSERT_PTR_NULL(strchr(r.detail, '?'));
    bnc_response_free(&r);
}

static void
test_trade_drop_is_sent_once(void)
{
    struct bnc_params p;
    struct bnc_response r;

    REQUIRE_FAKEX();
    /* the client's connection from bnc_sync_time is open and reusable */
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=drop&path=" ORDER "&method=POST&count=1"), 0);
    order_params(&p);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_NETWORK);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 1);
    assert_no_secret(&r);
    bnc_response_free(&r);
}

static void
test_connection_refused(void)
{
    struct bnc_config dead;
    struct bnc_response r;
    char text[512];

    bnc_config_defaults(&dead);
    /* port 1 on loopback: nothing listens there */
    snprintf(dead.mainnet_url, sizeof(dead.mainnet_url), "http://127.0.0.1:1");
    CU_ASSERT_EQUAL_FATAL(bnc_init(&dead), 0);
    CU_ASSERT_EQUAL(call("GET", "/api/v3/ping", NULL, BNC_PUBLIC, NULL, &r),
                    -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_NETWORK);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "Could not reach Binance at "
                                  "http://127.0.0.1:1: "));
    bnc_response_free(&r);
}

static void
test_timeout(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    init_client(500);
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=slow&delay_ms=3000&path=" TICKER "&count=1"), 0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_TIMEOUT);
    CU_ASSERT_TRUE(r.elapsed_ms >= 400 && r.elapsed_ms < 2500);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(
        contains(text, "No answer from Binance within 500 ms; the outcome is "
                       "unknown."));
    bnc_response_free(&r);
}

/* ---- the clock and retries ---- */

static void
test_skew_read_is_resynced_and_retried(void)
{
    struct bnc_response r;

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_http(&fx, "POST", "/__fake/clock?skew_ms=-20000", NULL, 0), 200);
    CU_ASSERT_EQUAL(call("GET", ACCOUNT, NULL, BNC_READ, &creds_a, &r), 0);
    CU_ASSERT_EQUAL(r.status, BNC_OK);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", ACCOUNT), 2);
    CU_ASSERT_TRUE(bnc_clock_offset() < -18000 && bnc_clock_offset() > -22000);
    bnc_response_free(&r);
}

static void
test_skew_trade_is_not_retried(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_http(&fx, "POST", "/__fake/clock?skew_ms=-20000", NULL, 0), 200);
    order_params(&p);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_API);
    CU_ASSERT_EQUAL(r.api_code, -1021);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 1);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_TRUE(contains(text, "-1021"));
    bnc_response_free(&r);
}

static void
test_trade_5xx_is_not_retried(void)
{
    struct bnc_params p;
    struct bnc_response r;

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=500&path=" ORDER "&method=POST&count=1"), 0);
    order_params(&p);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_SERVER);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 1);
    assert_no_secret(&r);
    bnc_response_free(&r);

    /* executed but answered 502: the outcome is unknown to us, still once */
    CU_ASSERT_EQUAL_FATAL(fakex_fault(&fx, "type=502&path=" ORDER
                                           "&method=POST&count=1"
                                           "&executed=1"),
                          0);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_SERVER);
    CU_ASSERT_EQUAL(r.http_status, 502);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 2);
    bnc_response_free(&r);
}

static void
test_trade_order_ok(void)
{
    struct bnc_params p;
    struct bnc_response r;
    json_object *v;

    REQUIRE_FAKEX();
    order_params(&p);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
    CU_ASSERT_TRUE(json_object_object_get_ex(r.body, "orderId", &v));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 1);
    bnc_response_free(&r);
}

static void
test_delete_method(void)
{
    struct bnc_params p;
    struct bnc_response r;

    REQUIRE_FAKEX();
    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", "BTCUSDT");
    bnc_params_add_int(&p, "orderId", 987654321);
    call("DELETE", ORDER, &p, BNC_TRADE, &creds_a, &r);
    CU_ASSERT_TRUE(r.status == BNC_OK || r.status == BNC_ERR_API);
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", ORDER), 1);
    bnc_response_free(&r);
}

static void
test_sync_time(void)
{
    struct bnc_response r;
    int64_t server = 0, offset = 12345;

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL(bnc_sync_time(&server, &offset, &r), 0);
    CU_ASSERT_EQUAL(r.status, BNC_OK);
    CU_ASSERT_TRUE(server > 1600000000000LL);
    CU_ASSERT_TRUE(offset > -2000 && offset < 2000);
    CU_ASSERT_EQUAL(bnc_clock_offset(), offset);
    bnc_response_free(&r);

    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=badjson&path=/api/v3/time&count=1"), 0);
    CU_ASSERT_EQUAL(bnc_sync_time(NULL, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_BAD_RESPONSE);
    CU_ASSERT_EQUAL(bnc_clock_offset(), offset); /* unchanged */
    bnc_response_free(&r);
    CU_ASSERT_EQUAL(bnc_sync_time(NULL, NULL, NULL), 0);
}

/* ---- cancellation ---- */

struct raiser {
    atomic_int *flag;
    long after_ms;
};

static void *
raise_later(void *arg)
{
    const struct raiser *rz = arg;
    struct timespec ts = {rz->after_ms / 1000, (rz->after_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    atomic_store(rz->flag, 1);
    return NULL;
}

static void
test_cancel_before(void)
{
    atomic_int cancel = 1;
    struct bnc_params p;
    struct bnc_response r;
    struct bnc_request req = {.method = "GET",
                              .path = TICKER,
                              .params = &p,
                              .kind = BNC_PUBLIC,
                              .cancel = &cancel};
    char text[256];

    REQUIRE_FAKEX();
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL(bnc_call(&req, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_CANCELLED);
    CU_ASSERT_STRING_EQUAL(bnc_describe_error(&r, text, sizeof(text)),
                           "The request was cancelled by the client.");
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 0);
    bnc_response_free(&r);
}

static void
test_cancel_during(void)
{
    atomic_int cancel = 0;
    struct raiser rz = {&cancel, 300};
    struct bnc_params p;
    struct bnc_response r;
    struct bnc_request req = {.method = "GET",
                              .path = TICKER,
                              .params = &p,
                              .kind = BNC_PUBLIC,
                              .cancel = &cancel};
    pthread_t t;

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=slow&delay_ms=6000&path=" TICKER "&count=1"), 0);
    ticker_params(&p, "BTCUSDT");
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, raise_later, &rz), 0);
    CU_ASSERT_EQUAL(bnc_call(&req, &r), -1);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_CANCELLED);
    CU_ASSERT_TRUE(r.elapsed_ms < 3000);
    bnc_response_free(&r);
}

/* ---- secrets ---- */

static void
test_secret_never_in_texts(void)
{
    static const char *const faults[] = {
        "type=503&path=" ACCOUNT "&count=1",
        "type=429&retry_after=3&path=" ACCOUNT "&count=1",
        "type=badjson&path=" ACCOUNT "&count=1",
        "type=drop&path=" ACCOUNT "&count=10",
        "type=slow&delay_ms=2000&path=" ACCOUNT "&count=1",
    };
    struct bnc_response r;

    REQUIRE_FAKEX();
    init_client(500);
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
        CU_ASSERT_EQUAL_FATAL(fakex_fault(&fx, faults[i]), 0);
        int rc = call("GET", ACCOUNT, NULL, BNC_READ, &creds_a, &r);
        CU_ASSERT_EQUAL(rc, -1);
        if (rc != -1)
            fprintf(stderr, "\n  %s: status %s\n", faults[i],
                    bnc_status_name(r.status));
        assert_no_secret(&r);
        bnc_response_free(&r);
        bnc_hold_clear();
    }
}

/* ---- threads ---- */

#define N_THREADS        4
#define CALLS_PER_THREAD 5

static void *
thread_calls(void *arg)
{
    int *ok = arg;
    struct bnc_params p;
    struct bnc_response r;

    ticker_params(&p, "ETHUSDT");
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        if (call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r) == 0)
            (*ok)++;
        bnc_response_free(&r);
        if (call("GET", ACCOUNT, NULL, BNC_READ, &creds_a, &r) == 0)
            (*ok)++;
        bnc_response_free(&r);
    }
    bnc_thread_cleanup();
    return NULL;
}

static void
test_threads(void)
{
    pthread_t t[N_THREADS];
    int ok[N_THREADS] = {0};

    REQUIRE_FAKEX();
    for (int i = 0; i < N_THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, thread_calls, &ok[i]),
                              0);
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(ok[i], 2 * CALLS_PER_THREAD);
    }
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER),
                    N_THREADS * CALLS_PER_THREAD);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", ACCOUNT),
                    N_THREADS * CALLS_PER_THREAD);
}

/* ---- no network needed ---- */

static void
test_params_encoding(void)
{
    struct bnc_params p;

    bnc_params_init(&p);
    CU_ASSERT_EQUAL(p.len, 0);
    CU_ASSERT_STRING_EQUAL(p.buf, "");
    bnc_params_add(&p, "symbol", "BTCUSDT");
    bnc_params_add(&p, "text", "a b&c=d/\xc3\xa9~._-+%");
    bnc_params_add_int(&p, "n", -42);
    bnc_params_add(&p, "empty", "");
    CU_ASSERT_STRING_EQUAL(p.buf, "symbol=BTCUSDT&text=a%20b%26c%3Dd%2F%C3%A9~"
                                  "._-%2B%25&n=-42&empty=");
    CU_ASSERT_EQUAL(p.len, strlen(p.buf));
    CU_ASSERT_EQUAL(p.overflow, 0);
    bnc_params_init(&p);
    bnc_params_add(&p, "symbols", "[\"BTCUSDT\",\"ETHUSDT\"]");
    CU_ASSERT_STRING_EQUAL(p.buf,
                           "symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D");
}

static void
test_params_overflow(void)
{
    struct bnc_params p;
    struct bnc_response r;
    char big[BNC_PARAMS_MAX];
    size_t before;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", "BTCUSDT");
    before = p.len;
    bnc_params_add(&p, "big", big);
    CU_ASSERT_EQUAL(p.overflow, 1);
    CU_ASSERT_EQUAL(p.len, before);
    CU_ASSERT_STRING_EQUAL(p.buf, "symbol=BTCUSDT");
    /* one encoded byte too many: exactly at the boundary */
    bnc_params_init(&p);
    memset(big, 'y', BNC_PARAMS_MAX - 3);
    big[BNC_PARAMS_MAX - 3] = '\0';
    bnc_params_add(&p, "k", big); /* "k=" + 2045 = 2047 bytes: fits */
    CU_ASSERT_EQUAL(p.overflow, 0);
    CU_ASSERT_EQUAL(p.len, BNC_PARAMS_MAX - 1);
    bnc_params_init(&p);
    big[BNC_PARAMS_MAX - 4] = ' '; /* the last byte becomes %20 */
    bnc_params_add(&p, "k", big);
    CU_ASSERT_EQUAL(p.overflow, 1);
    CU_ASSERT_EQUAL(p.len, 0);

    CU_ASSERT_EQUAL(call("GET", TICKER, &p, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_INTERNAL);
    CU_ASSERT_STRING_EQUAL(r.detail, "query too long");
    if (fx_up)
        CU_ASSERT_EQUAL(fakex_count(&fx, "GET", TICKER), 0);
}

static void
test_unsupported_method(void)
{
    struct bnc_response r;

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL(call("PATCH", TICKER, NULL, BNC_PUBLIC, NULL, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_INTERNAL);
    CU_ASSERT_EQUAL(fakex_count(&fx, "PATCH", TICKER), 0);
}

static void
test_status_names(void)
{
    CU_ASSERT_STRING_EQUAL(bnc_status_name(BNC_OK), "ok");
    CU_ASSERT_STRING_EQUAL(bnc_status_name(BNC_ERR_RATE_LIMITED),
                           "rate_limited");
    CU_ASSERT_STRING_EQUAL(bnc_status_name(BNC_ERR_INTERNAL), "internal_error");
    CU_ASSERT_STRING_EQUAL(bnc_status_name((enum bnc_status)99), "unknown");
}

static void
fake_response(struct bnc_response *r, enum bnc_status st, long http, int code,
              const char *msg)
{
    memset(r, 0, sizeof(*r));
    r->status = st;
    r->http_status = http;
    r->api_code = code;
    snprintf(r->api_msg, sizeof(r->api_msg), "%s", msg);
    r->retry_after = -1;
    r->used_weight = -1;
}

static void
test_describe_texts(void)
{
    struct bnc_response r;
    char t[512];

    fake_response(&r, BNC_ERR_API, 400, -1121, "Invalid symbol.");
    CU_ASSERT_STRING_EQUAL(
        bnc_describe_error(&r, t, sizeof(t)),
        "Binance rejected the request: -1121 Invalid symbol. (HTTP 400). "
        "Check the symbol; use the `search` tool to find valid symbols.");
    fake_response(&r, BNC_ERR_API, 400, -1100, "Illegal characters found.");
    CU_ASSERT_STRING_EQUAL(
        bnc_describe_error(&r, t, sizeof(t)),
        "Binance rejected the request: -1100 Illegal characters found. "
        "(HTTP 400). Check the arguments and try again.");
    fake_response(&r, BNC_ERR_API, 401, -2015,
                  "Invalid API-key, IP, or permissions for action.");
    CU_ASSERT_TRUE(contains(bnc_describe_error(&r, t, sizeof(t)),
                            "permissions and its IP whitelist"));
    /* binmcpd's own weight budget held it back: not Binance's doing */
    fake_response(&r, BNC_ERR_RATE_LIMITED, 0, 0, "");
    snprintf(r.detail, sizeof(r.detail),
             "held back: the daemon's shared Binance request-weight budget "
             "for this minute is spent");
    r.retry_after = 12;
    bnc_describe_error(&r, t, sizeof(t));
    CU_ASSERT_TRUE(contains(t, "binmcpd held this request back"));
    CU_ASSERT_TRUE(contains(t, "Binance did not refuse anything"));
    CU_ASSERT_FALSE(contains(t, "Binance answered"));
    CU_ASSERT_TRUE(contains(t, "12 seconds"));
    fake_response(&r, BNC_ERR_API, 400, -2014, "API-key format invalid.");
    CU_ASSERT_TRUE(
        contains(bnc_describe_error(&r, t, sizeof(t)), "API key and secret"));
    fake_response(&r, BNC_ERR_API, 400, -1013, "Filter failure: LOT_SIZE");
    CU_ASSERT_TRUE(
        contains(bnc_describe_error(&r, t, sizeof(t)), "exchangeInfo"));
    fake_response(&r, BNC_ERR_API, 400, -2010,
                  "Account has insufficient balance for requested action.");
    CU_ASSERT_TRUE(
        contains(bnc_describe_error(&r, t, sizeof(t)), "insufficient"));
    fake_response(&r, BNC_ERR_API, 400, -2011, "Unknown order sent.");
    CU_ASSERT_TRUE(contains(bnc_describe_error(&r, t, sizeof(t)),
                            "order id may be wrong"));
    fake_response(&r, BNC_ERR_API, 400, -2013, "Order does not exist.");
    CU_ASSERT_TRUE(
        contains(bnc_describe_error(&r, t, sizeof(t)), "already filled"));
    fake_response(&r, BNC_ERR_API, 404, 0, "");
    CU_ASSERT_STRING_EQUAL(bnc_describe_error(&r, t, sizeof(t)),
                           "Binance rejected the request (HTTP 404). Check "
                           "the arguments and try again.");

    fake_response(&r, BNC_ERR_RATE_LIMITED, 429, -1003,
                  "Too many requests; current limit is 6000.");
    r.retry_after = 7;
    CU_ASSERT_STRING_EQUAL(
        bnc_describe_error(&r, t, sizeof(t)),
        "Binance rate limit hit (HTTP 429, -1003 Too many requests; current "
        "limit is 6000.). Retry after 7 seconds; do not retry sooner.");
    r.retry_after = -1;
    CU_ASSERT_TRUE(
        contains(bnc_describe_error(&r, t, sizeof(t)), "no Retry-After"));
    fake_response(&r, BNC_ERR_BANNED, 418, 0, "");
    r.retry_after = 60;
    CU_ASSERT_TRUE(contains(bnc_describe_error(&r, t, sizeof(t)),
                            "IP is temporarily banned for ignoring rate "
                            "limits (HTTP 418)."));
    CU_ASSERT_TRUE(contains(t, "Retry after 60 seconds."));
    fake_response(&r, BNC_ERR_WAF, 403, 0, "");
    CU_ASSERT_TRUE(contains(bnc_describe_error(&r, t, sizeof(t)), "firewall"));
    CU_ASSERT_TRUE(contains(t, "(HTTP 403)"));
    fake_response(&r, BNC_ERR_SERVER, 503, 0, "");
    CU_ASSERT_TRUE(contains(bnc_describe_error(&r, t, sizeof(t)),
                            "Binance had an internal error (HTTP 503); the "
                            "request's outcome is unknown."));
    fake_response(&r, BNC_ERR_SERVER, 500, -1000, "An unknown error.");
    CU_ASSERT_TRUE(contains(bnc_describe_error(&r, t, sizeof(t)),
                            "(HTTP 500, -1000 An unknown error.)"));
    fake_response(&r, BNC_ERR_INTERNAL, 0, 0, "");
    snprintf(r.detail, sizeof(r.detail), "query too long");
    CU_ASSERT_STRING_EQUAL(bnc_describe_error(&r, t, sizeof(t)),
                           "binmcpd could not make the request: query too "
                           "long.");
    /* a tiny buffer is cut, never overrun */
    fake_response(&r, BNC_ERR_CANCELLED, 0, 0, "");
    CU_ASSERT_STRING_EQUAL(bnc_describe_error(&r, t, 8), "The req");
}

static void
test_describe_timeout_uses_configured_timeout(void)
{
    struct bnc_config c;
    struct bnc_response r;
    char t[512];

    bnc_config_defaults(&c);
    CU_ASSERT_EQUAL_FATAL(bnc_init(&c), 0);
    fake_response(&r, BNC_ERR_TIMEOUT, 0, 0, "");
    CU_ASSERT_STRING_EQUAL(bnc_describe_error(&r, t, sizeof(t)),
                           "No answer from Binance within 10000 ms; the "
                           "outcome is unknown. Look an order up before "
                           "sending it again.");
    CU_ASSERT_STRING_EQUAL(bnc_base_url(BNC_ENV_MAINNET),
                           "https://api.binance.com");
    CU_ASSERT_STRING_EQUAL(bnc_base_url(BNC_ENV_TESTNET),
                           "https://testnet.binance.vision");
}

static int gate_settled;
static int refuse_admit(void *arg, const struct bnc_request *req,
                        enum bnc_env env, void **ticket,
                        struct bnc_response *resp);
static int admit_all(void *arg, const struct bnc_request *req, enum bnc_env env,
                     void **ticket, struct bnc_response *resp);
static void settle_count(void *arg, const struct bnc_request *req, void *ticket,
                         struct bnc_response *resp);

/* No trade leaves the client around the gate: without one, or when it
 * refuses, nothing is sent; an admitted trade is settled exactly once. */
static void
test_trade_gate(void)
{
    struct bnc_params p;
    struct bnc_response r;
    struct bnc_trade_gate refusing = {refuse_admit, settle_count, NULL};
    struct bnc_trade_gate all = {admit_all, settle_count, NULL};
    char text[512];

    REQUIRE_FAKEX();
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    order_params(&p);
    bnc_set_trade_gate(NULL);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_REFUSED);
    CU_ASSERT_TRUE(contains(r.verdict, "no trading guard"));
    bnc_response_free(&r);
    bnc_set_trade_gate(&refusing);
    gate_settled = 0;
    CU_ASSERT_EQUAL(call("DELETE", ORDER, &p, BNC_TRADE, &creds_a, &r), -1);
    CU_ASSERT_EQUAL(r.status, BNC_ERR_REFUSED);
    bnc_describe_error(&r, text, sizeof(text));
    CU_ASSERT_STRING_EQUAL(text, "Refused by the test gate.");
    CU_ASSERT_EQUAL(gate_settled, 0);
    bnc_response_free(&r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", ORDER), 0);
    bnc_set_trade_gate(&all);
    CU_ASSERT_EQUAL(call("POST", ORDER, &p, BNC_TRADE, &creds_a, &r), 0);
    CU_ASSERT_EQUAL(gate_settled, 1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", ORDER), 1);
    bnc_response_free(&r);
}

static CU_TestInfo offline_tests[] = {
    {"params: percent-encoding", test_params_encoding},
    {"params: overflow", test_params_overflow},
    {"status names", test_status_names},
    {"describe: texts", test_describe_texts},
    {"describe: timeout and defaults",
     test_describe_timeout_uses_configured_timeout},
    {"connection refused", test_connection_refused},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fakex_tests[] = {
    {"trades pass the gate: none without one, refused ones never sent",
     test_trade_gate},
    {"public ticker", test_public_ticker},
    {"invalid symbol (-1121)", test_invalid_symbol},
    {"percent-encoded query", test_percent_encoding_reaches_the_exchange},
    {"signed account with key A", test_signed_account},
    {"signed call with params", test_signed_with_params},
    {"wrong secret (-1022)", test_wrong_secret},
    {"unknown key (-2015)", test_unknown_key},
    {"no credentials", test_no_credentials},
    {"429 with Retry-After", test_rate_limited},
    {"418 banned", test_banned},
    {"503 server error", test_server_error},
    {"bad JSON", test_bad_json},
    {"dropped connection", test_dropped_connection},
    {"dropped connection on an order: one POST", test_trade_drop_is_sent_once},
    {"timeout", test_timeout},
    {"clock skew: a read is resynced and retried once",
     test_skew_read_is_resynced_and_retried},
    {"clock skew: a trade is not retried", test_skew_trade_is_not_retried},
    {"5xx on an order: one POST", test_trade_5xx_is_not_retried},
    {"order placed", test_trade_order_ok},
    {"DELETE", test_delete_method},
    {"sync time", test_sync_time},
    {"cancelled before sending", test_cancel_before},
    {"cancelled in flight", test_cancel_during},
    {"secrets never in texts", test_secret_never_in_texts},
    {"unsupported method", test_unsupported_method},
    {"several threads", test_threads},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"bnc offline", offline_init, offline_cleanup, NULL, NULL, offline_tests},
    {"bnc against fakex", suite_init, suite_cleanup, test_setup, NULL,
     fakex_tests},
    CU_SUITE_INFO_NULL,
};

/* This program tests the Binance client below the trading guard: its
 * trades pass a gate that admits everything (the daemon's gate is the
 * guard, tested in test_guard). settle records that it was called. */
static int
refuse_admit(void *arg, const struct bnc_request *req, enum bnc_env env,
             void **ticket, struct bnc_response *resp)
{
    (void)arg;
    (void)req;
    (void)env;
    *ticket = NULL;
    snprintf(resp->verdict, sizeof(resp->verdict), "Refused by the test gate.");
    return -1;
}

static int
admit_all(void *arg, const struct bnc_request *req, enum bnc_env env,
          void **ticket, struct bnc_response *resp)
{
    (void)arg;
    (void)req;
    (void)env;
    (void)resp;
    *ticket = NULL;
    return 0;
}

static void
settle_count(void *arg, const struct bnc_request *req, void *ticket,
             struct bnc_response *resp)
{
    (void)arg;
    (void)req;
    (void)ticket;
    (void)resp;
    gate_settled++;
}

int
main(void)
{
    struct bnc_trade_gate gate = {admit_all, settle_count, NULL};

    bnc_set_trade_gate(&gate);
    return testlib_run(suites);
}
