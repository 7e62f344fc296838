/*
 * test_guard.c - integration test of the trading guard: the real daemon
 * ($BINMCPD, over stdio and as the prefork HTTP daemon) against the real
 * fake exchange ($FAKEX), with a real SQLite journal file per test.
 *
 * For each order-changing tool (place_order, cancel_order): refused without
 * confirmation, refused by each operator limit, refused by a declined,
 * cancelled, unticked, failed, malformed or timed-out elicitation, refused
 * with a wrong, reused, other-order or other-session token; in each case
 * the fake exchange received no order request. Accepted after a
 * confirmation, with the journal holding the intent and then its outcome.
 * Also: an unknown outcome is reconciled by one read; two workers racing
 * for the last of max_daily_notional send exactly one order; SIGHUP
 * reloads the limits; a worker killed (SIGKILL) after the intent leaves
 * the intent in the journal, and the worker that replaces it reports and
 * reconciles it.
 *
 * Every wait has a deadline; every child is started, killed and reaped by
 * PID here.
 */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "fakex.h"
#include "httpc.h"
#include "mcpc.h"
#include "testlib.h"

#define RPC_MS   10000
#define START_MS 10000
#define ENV_MAX  16

static struct fakex fx;
static int fx_up;
static char tmpdir[256];
static int n_journal;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* A fresh journal path in the test's directory. */
static void
journal_path(char *out, size_t len)
{
    snprintf(out, len, "%s/journal-%d.db", tmpdir, ++n_journal);
}

static long
posts(void)
{
    return fakex_count(&fx, "POST", "/api/v3/order");
}

static long
deletes(void)
{
    return fakex_count(&fx, "DELETE", "/api/v3/order");
}

/* One text value from the journal file (sqlite3 opened read-only); "" when
 * the query gives no row. */
static void
sql_text(const char *db, const char *sql, char *out, size_t len)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;

    out[0] = '\0';
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        fprintf(stderr, "test_guard: %s: %s\n", sql,
                h != NULL ? sqlite3_errmsg(h) : "no handle");
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* The outcomes of the newest intent, in order ("accepted",
 * "unknown,reconciled", ...). */
static void
last_outcomes(const char *db, char *out, size_t len)
{
    sql_text(db,
             "SELECT coalesce(group_concat(outcome, ','), 'pending') FROM "
             "(SELECT outcome FROM outcomes WHERE intent_id = (SELECT "
             "max(id) FROM intents) ORDER BY id)",
             out, len);
}

/* ------------------------------------------------------------------ */
/* A stdio MCP client that answers elicitation requests as told        */

enum elicit_answer {
    EL_ACCEPT,    /* accept, confirm: true */
    EL_DECLINE,   /* decline */
    EL_CANCEL,    /* cancel */
    EL_UNTICKED,  /* accept, confirm: false */
    EL_ERROR,     /* a JSON-RPC error */
    EL_MALFORMED, /* a result that is not what the spec says */
    EL_SILENT,    /* no answer at all */
};

struct sd {
    struct mcpc_stdio io;
    enum elicit_answer answer;
    int asked;          /* elicitation requests seen */
    char message[4096]; /* the last one's message */
    char err_path[512];
    char journal[512];
};

static void sd_answer_elicitation(struct mcpc_stdio *io, json_object *req,
                                  void *arg);

/* Starts `binmcpd --mode stdio` with the fake's URLs, key (A unless the
 * extra list sets another), a fresh journal, and extra "NAME=value"
 * settings; then initializes, declaring elicitation when elicit is set.
 * Returns 0 or -1. */
static int
sd_start(struct sd *d, int elicit, const char *const *extra)
{
    char base[160], testnet[160], journal[600];
    const char *env[ENV_MAX];
    const char *argv[] = {tl_binmcpd_path(), "--mode", "stdio", NULL};
    int n = 0, have_key = 0;

    memset(d, 0, sizeof(*d));
    d->io.pid = -1;
    journal_path(d->journal, sizeof(d->journal));
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s", d->journal);
    env[n++] = base;
    env[n++] = testnet;
    env[n++] = "BINANCE_TIMEOUT_MS=3000";
    env[n++] = journal;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < ENV_MAX - 3; i++) {
        if (strncmp(extra[i], "BINMCPD_JOURNAL=", 16) == 0) {
            snprintf(d->journal, sizeof(d->journal), "%s", extra[i] + 16);
            env[3] = extra[i];
            continue;
        }
        have_key |= strncmp(extra[i], "BINANCE_API_KEY=", 16) == 0;
        env[n++] = extra[i];
    }
    if (!have_key) {
        env[n++] = "BINANCE_API_KEY=" TEST_KEY_A;
        env[n++] = "BINANCE_API_SECRET=" TEST_SECRET_A;
    }
    env[n] = NULL;
    snprintf(d->err_path, sizeof(d->err_path), "%s/stdio-%d.log", tmpdir,
             n_journal);
    if (mcpc_stdio_spawn(&d->io, argv, env, d->err_path) < 0)
        return -1;
    d->io.rpc_ms = RPC_MS;
    d->io.on_msg = sd_answer_elicitation;
    d->io.on_msg_arg = d;
    json_object *r = mcpc_stdio_initialize(
        &d->io, "test_guard", elicit ? "{\"elicitation\":{}}" : "{}");
    int ok = r != NULL && tl_get_path(r, "result") != NULL;
    json_object_put(r);
    return ok ? 0 : -1;
}

static void
sd_stop(struct sd *d)
{
    if (d->io.pid <= 0)
        return;
    if (mcpc_stdio_stop(&d->io, 5000, NULL) < 0)
        fprintf(stderr, "test_guard: a stdio daemon had to be killed\n");
}

/* Answers a server's elicitation/create as the struct sd at arg says. */
static void
sd_answer_elicitation(struct mcpc_stdio *io, json_object *req, void *arg)
{
    static const char *const results[] = {
        [EL_ACCEPT] = "{\"action\":\"accept\",\"content\":{\"confirm\":true}}",
        [EL_DECLINE] = "{\"action\":\"decline\"}",
        [EL_CANCEL] = "{\"action\":\"cancel\"}",
        [EL_UNTICKED] =
            "{\"action\":\"accept\",\"content\":{\"confirm\":false}}",
        [EL_MALFORMED] = "{\"action\":42,\"content\":\"yes\"}",
    };
    struct sd *d = arg;
    char line[512];
    const char *id;

    if (strcmp(tl_str_at(req, "method"), "elicitation/create") != 0)
        return;
    id = json_object_to_json_string_ext(tl_get_path(req, "id"),
                                        JSON_C_TO_STRING_PLAIN);
    d->asked++;
    snprintf(d->message, sizeof(d->message), "%s",
             tl_str_at(req, "params.message"));
    if (d->answer == EL_SILENT)
        return;
    if (d->answer == EL_ERROR)
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32603,"
                 "\"message\":\"the user's screen is off\"}}",
                 id);
    else
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,"
                 "\"result\":%s}",
                 id, results[d->answer]);
    mcpc_stdio_send(io, line);
}

/* Sends a request and returns its response (caller owns), answering
 * elicitation requests on the way; NULL on timeout. */
static json_object *
sd_rpc(struct sd *d, const char *method, const char *params)
{
    return mcpc_stdio_rpc(&d->io, method, params);
}

/* tools/call; returns the CallToolResult (caller owns) or NULL. */
static json_object *
sd_tool(struct sd *d, const char *name, const char *args)
{
    return mcpc_stdio_tool(&d->io, name, args);
}

static int
is_error(json_object *res)
{
    return json_object_get_boolean(tl_get_path(res, "isError"));
}

static const char *
text_of(json_object *res)
{
    return tl_str_at(res, "content.0.text");
}

/* The confirmation token in a CONFIRMATION REQUIRED text, or "". */
static void
token_of(const char *text, char *out, size_t len)
{
    const char *p = strstr(text, "confirmation_token \"");

    out[0] = '\0';
    if (p == NULL)
        return;
    p += strlen("confirmation_token \"");
    size_t n = strspn(p, "0123456789abcdef");
    if (n == 64 && n < len) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
}

/* Arguments with a confirmation token added to a JSON object text. */
static void
with_token(const char *args, const char *token, char *out, size_t len)
{
    size_t n = strlen(args);
    snprintf(out, len, "%.*s,\"confirmation_token\":\"%s\"}", (int)(n - 1),
             args, token);
}

#define LIMIT_BUY(qty, price)                                                  \
    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","             \
    "\"quantity\":\"" qty "\",\"price\":\"" price "\"}"

/* Calls tool with args on d and checks that it was refused by check (a
 * word of the text) and that no order request reached the exchange. */
static void
expect_refused(struct sd *d, const char *tool, const char *args,
               const char *check, const char *detail)
{
    long p = posts(), x = deletes();
    json_object *r = sd_tool(d, tool, args);

    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), check));
    if (detail != NULL)
        CU_ASSERT_TRUE(tl_contains(text_of(r), detail));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "Nothing was sent"));
    if (!tl_contains(text_of(r), check) ||
        (detail != NULL && !tl_contains(text_of(r), detail)))
        fprintf(stderr, "test_guard: expected %s/%s, got: %s\n", check,
                detail != NULL ? detail : "", text_of(r));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), p);
    CU_ASSERT_EQUAL(deletes(), x);
}

static void
expect_placed(struct sd *d, const char *args)
{
    long p = posts();
    json_object *r = sd_tool(d, "place_order", args);

    CU_ASSERT_FALSE(is_error(r));
    if (is_error(r))
        fprintf(stderr, "test_guard: expected an order, got: %s\n", text_of(r));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), p + 1);
}

/* ------------------------------------------------------------------ */
/* Suite "token": confirmation by a single-use token                   */

static const char *const token_env[] = {"BINMCPD_MAX_ORDER_NOTIONAL=1000",
                                        NULL};

/* Places args through the token flow; returns the structuredContent's
 * orderId, or -1. */
static int64_t
place_confirmed(struct sd *d, const char *args)
{
    char token[65], again[1024];
    json_object *r = sd_tool(d, "place_order", args);
    int64_t id = -1;

    token_of(text_of(r), token, sizeof(token));
    json_object_put(r);
    if (token[0] == '\0')
        return -1;
    with_token(args, token, again, sizeof(again));
    r = sd_tool(d, "place_order", again);
    if (!is_error(r))
        id = tl_int_at(r, "structuredContent.orderId");
    json_object_put(r);
    return id;
}

static void
test_token_place(void)
{
    struct sd d;
    json_object *r;
    char token[65], args[1024], out[256];
    const char *order = LIMIT_BUY("0.001", "10000");

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, token_env), 0);
    /* the first call sends nothing and returns the summary and a token */
    r = sd_tool(&d, "place_order", order);
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "CONFIRMATION REQUIRED"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "MAINNET"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "BUY LIMIT order on BTCUSDT"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "quantity 0.001"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "price 10000"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "= 10 USDT"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "Limit per order: 1000 USDT"));
    token_of(text_of(r), token, sizeof(token));
    CU_ASSERT_EQUAL_FATAL(strlen(token), 64);
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);

    /* a token never issued */
    with_token(order,
               "00000000000000000000000000000000000000000000000000000000000000"
               "00",
               args, sizeof(args));
    r = sd_tool(&d, "place_order", args);
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "is unknown"));
    json_object_put(r);
    /* the token for another order */
    with_token(LIMIT_BUY("0.002", "10000"), token, args, sizeof(args));
    r = sd_tool(&d, "place_order", args);
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "different order"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);

    /* the same order with its token goes out, once */
    with_token(order, token, args, sizeof(args));
    r = sd_tool(&d, "place_order", args);
    CU_ASSERT_FALSE(is_error(r));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.status"), "NEW");
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 1);
    /* the journal: the intent, then its outcome */
    last_outcomes(d.journal, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "accepted");
    sql_text(d.journal,
             "SELECT confirmation || ' ' || (o.at_ms >= i.at_ms) || ' ' || "
             "i.environment FROM intents i JOIN outcomes o ON o.intent_id = "
             "i.id WHERE o.outcome = 'accepted'",
             out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "token 1 mainnet");

    /* used once: a second redemption is refused */
    r = sd_tool(&d, "place_order", args);
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "used already"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 1);
    sd_stop(&d);
}

static void
test_token_cancel(void)
{
    struct sd d;
    json_object *r;
    char token[65], args[512], cancel[256], out[256];
    int64_t id;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, token_env), 0);
    id = place_confirmed(&d, LIMIT_BUY("0.001", "10000"));
    CU_ASSERT_TRUE_FATAL(id > 0);
    snprintf(cancel, sizeof(cancel),
             "{\"symbol\":\"BTCUSDT\",\"order_id\":%lld}", (long long)id);
    r = sd_tool(&d, "cancel_order", cancel);
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "cancel the order"));
    token_of(text_of(r), token, sizeof(token));
    json_object_put(r);
    CU_ASSERT_EQUAL(deletes(), 0);
    /* a wrong token: refused, nothing sent */
    with_token(cancel,
               "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
               "ffff",
               args, sizeof(args));
    r = sd_tool(&d, "cancel_order", args);
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "Refused"));
    json_object_put(r);
    CU_ASSERT_EQUAL(deletes(), 0);
    with_token(cancel, token, args, sizeof(args));
    r = sd_tool(&d, "cancel_order", args);
    CU_ASSERT_FALSE(is_error(r));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.status"),
                           "CANCELED");
    json_object_put(r);
    CU_ASSERT_EQUAL(deletes(), 1);
    last_outcomes(d.journal, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "accepted");
    sd_stop(&d);
}

static void
test_audit_log(void)
{
    struct sd a, b;
    json_object *r;
    char journal[600];
    const char *env_b[] = {journal, "BINANCE_API_KEY=" TEST_KEY_B,
                           "BINANCE_API_SECRET=" TEST_SECRET_B, NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&a, 0, token_env), 0);
    CU_ASSERT_TRUE(place_confirmed(&a, LIMIT_BUY("0.001", "10000")) > 0);
    r = sd_tool(&a, "get_audit_log", "{\"limit\":10}");
    CU_ASSERT_FALSE(is_error(r));
    /* newest first: the accepted order, then the refusal that asked */
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 2);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.entries.0.state"),
                           "accepted");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.entries.0.outcomes.0.status"), "NEW");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.entries.1.state"),
                           "refused");
    CU_ASSERT_FALSE(tl_contains(json_object_to_json_string(r), TEST_SECRET_A));
    CU_ASSERT_FALSE(tl_contains(json_object_to_json_string(r), TEST_KEY_A));
    json_object_put(r);
    r = sd_tool(&a, "get_audit_log", "{\"outcome\":\"refused\"}");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 1);
    json_object_put(r);
    /* another process on the same journal, with key B, sees nothing of A */
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s", a.journal);
    CU_ASSERT_EQUAL_FATAL(sd_start(&b, 0, env_b), 0);
    r = sd_tool(&b, "get_audit_log", "{}");
    CU_ASSERT_FALSE(is_error(r));
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 0);
    json_object_put(r);
    sd_stop(&b);
    sd_stop(&a);
}

static void
test_unknown_outcome(void)
{
    struct sd d;
    json_object *r;
    char token[65], args[512], out[256];
    const char *order = LIMIT_BUY("0.001", "10000");

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, token_env), 0);
    r = sd_tool(&d, "place_order", order);
    token_of(text_of(r), token, sizeof(token));
    json_object_put(r);
    /* Binance executes it, then the answer is lost (503) */
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=503&path=/api/v3/order&method=POST&count=1"
                         "&executed=1"),
        0);
    with_token(order, token, args, sizeof(args));
    r = sd_tool(&d, "place_order", args);
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "OUTCOME UNKNOWN"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "Binance reports it as NEW"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/order"), 1);
    last_outcomes(d.journal, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "unknown,reconciled");
    sql_text(d.journal,
             "SELECT status FROM outcomes WHERE outcome = 'reconciled'", out,
             sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "NEW");
    sd_stop(&d);
}

/* Every order-changing tool goes through the same guard: an OCO list is
 * confirmed with a token (its generated client ids do not change the
 * order), refused by max_order_notional on its larger leg, and a
 * cancel-replace and a cancel-all are confirmed too. */
#define SELL_OCO(qty)                                                          \
    "{\"symbol\":\"BTCUSDT\",\"list_type\":\"OCO\",\"side\":\"SELL\","         \
    "\"quantity\":\"" qty "\",\"above_type\":\"LIMIT_MAKER\",\"above_price\":" \
    "\"55000\",\"below_type\":\"STOP_LOSS_LIMIT\",\"below_stop_price\":"       \
    "\"45000\",\"below_price\":\"44900\"}"

static void
test_token_other_tools(void)
{
    struct sd d;
    json_object *r;
    char token[65], args[1024];
    long lists;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, token_env), 0);
    /* 0.03 x 55000 = 1650 USDT on the larger leg: over the cap */
    expect_refused(&d, "place_order_list", SELL_OCO("0.03"),
                   "max_order_notional", "1650 USDT");
    r = sd_tool(&d, "place_order_list", SELL_OCO("0.01"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "CONFIRMATION REQUIRED"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "OCO order list on BTCUSDT"));
    CU_ASSERT_FALSE(tl_contains(text_of(r), "ClientOrderId binmcpd-"));
    token_of(text_of(r), token, sizeof(token));
    json_object_put(r);
    lists = fakex_count(&fx, "POST", "/api/v3/orderList/oco");
    CU_ASSERT_EQUAL(lists, 0);
    with_token(SELL_OCO("0.01"), token, args, sizeof(args));
    r = sd_tool(&d, "place_order_list", args);
    CU_ASSERT_FALSE(is_error(r));
    if (is_error(r))
        fprintf(stderr, "test_guard: OCO: %s\n", text_of(r));
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/orderList/oco"), 1);
    /* every other order-changing tool asks too, and sends nothing */
    static const struct {
        const char *tool, *args, *method, *path;
    } others[] = {
        {"cancel_order_list", "{\"symbol\":\"BTCUSDT\",\"order_list_id\":1}",
         "DELETE", "/api/v3/orderList"},
        {"cancel_replace_order",
         "{\"symbol\":\"BTCUSDT\",\"cancel_replace_mode\":"
         "\"STOP_ON_FAILURE\",\"cancel_order_id\":1,\"side\":\"BUY\","
         "\"type\":\"LIMIT\",\"quantity\":\"0.001\",\"price\":\"10000\"}",
         "POST", "/api/v3/order/cancelReplace"},
        {"amend_order",
         "{\"symbol\":\"BTCUSDT\",\"order_id\":1,\"new_qty\":\"0.0005\"}",
         "PUT", "/api/v3/order/amend/keepPriority"},
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        r = sd_tool(&d, others[i].tool, others[i].args);
        CU_ASSERT_TRUE(is_error(r));
        CU_ASSERT_TRUE(tl_contains(text_of(r), "CONFIRMATION REQUIRED"));
        if (!tl_contains(text_of(r), "CONFIRMATION REQUIRED"))
            fprintf(stderr, "test_guard: %s: %s\n", others[i].tool, text_of(r));
        json_object_put(r);
        CU_ASSERT_EQUAL(fakex_count(&fx, others[i].method, others[i].path), 0);
    }
    /* cancel-all needs its own confirmation */
    expect_refused(&d, "cancel_all_orders", "{\"symbol\":\"BTCUSDT\"}",
                   "CONFIRMATION REQUIRED", "cancel EVERY open order");
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/openOrders"), 0);
    sd_stop(&d);
}

static CU_TestInfo token_tests[] = {
    {"order lists, cancel-replace, amend, cancel-all: the same guard",
     test_token_other_tools},
    {"place_order: token issued, wrong/other-order/reused refused, once OK",
     test_token_place},
    {"cancel_order: token required; a wrong one refused, the right one OK",
     test_token_cancel},
    {"get_audit_log: newest first, refusals too, only the key's own",
     test_audit_log},
    {"unknown outcome: reported as such, reconciled by one read",
     test_unknown_outcome},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "limits": the operator's limits, confirmation off             */

static void
test_limit_symbols(void)
{
    struct sd d;
    const char *env[] = {"BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_MAX_ORDER_NOTIONAL=1000",
                         "BINMCPD_ALLOWED_SYMBOLS=btc*, ETH*",
                         "BINMCPD_DENIED_SYMBOLS=ETHUSDT", NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    expect_refused(&d, "place_order",
                   "{\"symbol\":\"XRPUSDT\",\"side\":\"BUY\",\"type\":"
                   "\"LIMIT\",\"quantity\":\"10\",\"price\":\"0.5\"}",
                   "allowed_symbols", "XRPUSDT is not in it");
    expect_refused(&d, "place_order",
                   "{\"symbol\":\"ETHUSDT\",\"side\":\"BUY\",\"type\":"
                   "\"LIMIT\",\"quantity\":\"0.01\",\"price\":\"3000\"}",
                   "denied_symbols", "ETHUSDT is in it");
    expect_refused(&d, "cancel_order",
                   "{\"symbol\":\"ETHUSDT\",\"order_id\":1001}",
                   "denied_symbols", NULL);
    expect_placed(&d, LIMIT_BUY("0.001", "10000"));
    sd_stop(&d);
}

static void
test_limit_notional(void)
{
    struct sd d;
    const char *env[] = {"BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_MAX_ORDER_NOTIONAL=1000", NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    /* price x quantity: 5000 USDT */
    expect_refused(&d, "place_order", LIMIT_BUY("0.1", "50000"),
                   "max_order_notional", "worth about 5000 USDT");
    /* MARKET by quantity: the walk of the asks, 0.05 at 50000.01 */
    expect_refused(&d, "place_order",
                   "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                   "\"MARKET\",\"quantity\":\"0.05\"}",
                   "max_order_notional", "walk of the live order book");
    /* MARKET by quote quantity */
    expect_refused(&d, "place_order",
                   "{\"symbol\":\"BTCUSDT\",\"side\":\"SELL\",\"type\":"
                   "\"MARKET\",\"quote_order_qty\":\"1200\"}",
                   "max_order_notional", "1200 USDT");
    /* a BTC-quoted pair is valued through BTCUSDT's average price:
     * 0.06 BTC x 49950 = 2997 USDT */
    expect_refused(&d, "place_order",
                   "{\"symbol\":\"ETHBTC\",\"side\":\"BUY\",\"type\":"
                   "\"LIMIT\",\"quantity\":\"1\",\"price\":\"0.06\"}",
                   "max_order_notional", "2997 USDT");
    /* within the cap: a MARKET order of 0.01 (about 500 USDT) goes out */
    expect_placed(&d, "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                      "\"MARKET\",\"quantity\":\"0.01\"}");
    sd_stop(&d);
}

static void
test_limit_daily_and_open(void)
{
    struct sd d;
    const char *env[] = {
        "BINMCPD_ORDER_CONFIRMATION=off", "BINMCPD_MAX_ORDER_NOTIONAL=1000",
        "BINMCPD_MAX_DAILY_NOTIONAL=1500", "BINMCPD_MAX_OPEN_ORDERS=2", NULL};
    char out[64];

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    expect_placed(&d, LIMIT_BUY("0.09", "10000")); /* 900 */
    expect_refused(&d, "place_order", LIMIT_BUY("0.07", "10000"),
                   "max_daily_notional", "600 USDT is left today");
    expect_placed(&d, LIMIT_BUY("0.05", "10000")); /* 500: 1400 in all */
    /* two open orders on BTCUSDT now */
    expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000"),
                   "max_open_orders", "has 2 already");
    sql_text(d.journal,
             "SELECT count(*) FROM outcomes WHERE outcome = 'refused'", out,
             sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "2");
    sd_stop(&d);
}

static void
test_limit_mainnet_needs_cap(void)
{
    struct sd d;
    const char *none[] = {"BINMCPD_ORDER_CONFIRMATION=off", NULL};
    const char *testnet[] = {"BINANCE_TESTNET=1", "BINANCE_API_KEY=" TEST_KEY_A,
                             "BINANCE_API_SECRET=" TEST_SECRET_A, NULL};
    const char *always[] = {"BINANCE_TESTNET=1", "BINMCPD_CONFIRM_ON=always",
                            NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, none), 0);
    expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000"),
                   "max_order_notional", "binmcpd.conf");
    sd_stop(&d);
    /* testnet: no cap needed, no confirmation by default */
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, testnet), 0);
    expect_placed(&d, LIMIT_BUY("0.001", "10000"));
    sd_stop(&d);
    /* confirm_on = always: testnet orders are confirmed too */
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, always), 0);
    expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000"),
                   "CONFIRMATION REQUIRED", "testnet");
    sd_stop(&d);
}

#define STOP_BUY(stop)                                                         \
    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"                       \
    "\"STOP_LOSS_LIMIT\",\"quantity\":\"0.001\",\"price\":\"" stop "\","       \
    "\"stop_price\":\"" stop "\",\"time_in_force\":\"GTC\"}"

/* MAX_NUM_ALGO_ORDERS and MAX_NUM_ORDERS: the symbol's open orders are
 * counted before sending; the sixth stop order is refused by binmcpd, not
 * by the exchange, and a plain order still goes. */
static void
test_filters_open_counts(void)
{
    struct sd d;
    const char *env[] = {"BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_MAX_ORDER_NOTIONAL=1000", NULL};
    const char *stops[] = {STOP_BUY("51000"), STOP_BUY("51100"),
                           STOP_BUY("51200"), STOP_BUY("51300"),
                           STOP_BUY("51400")};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
        expect_placed(&d, stops[i]);
    expect_refused(&d, "place_order", STOP_BUY("51500"), "MAX_NUM_ALGO_ORDERS",
                   "5");
    expect_placed(&d, LIMIT_BUY("0.001", "49000"));
    sd_stop(&d);
}

/* The symbol's filters are checked before anything is signed, with the
 * nearest valid values, and before a human is asked. */
static void
test_filters_before_sending(void)
{
    struct sd d;
    json_object *r;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, token_env), 0);
    /* a quantity off the LOT_SIZE step */
    expect_refused(&d, "place_order", LIMIT_BUY("0.000015", "10000"),
                   "LOT_SIZE", "0.00001");
    /* a price off the tick */
    expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000.001"),
                   "PRICE_FILTER", "10000");
    /* below the minimum notional (5 USDT) */
    expect_refused(&d, "place_order", LIMIT_BUY("0.0001", "10000"), "NOTIONAL",
                   NULL);
    /* a symbol not trading */
    expect_refused(&d, "place_order",
                   "{\"symbol\":\"LUNAUSDT\",\"side\":\"BUY\",\"type\":"
                   "\"LIMIT\",\"quantity\":\"10\",\"price\":\"1\"}",
                   "not TRADING", NULL);
    /* nobody was asked to confirm any of these; the corrected order asks */
    r = sd_tool(&d, "place_order", LIMIT_BUY("0.00100", "10000"));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "CONFIRMATION REQUIRED"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order/test"), 0);
    sd_stop(&d);
}

/* preview_order says what the guard would do, and sends nothing. */
static void
test_preview(void)
{
    struct sd d;
    json_object *r;
    const char *env[] = {"BINMCPD_MAX_ORDER_NOTIONAL=1000",
                         "BINMCPD_MAX_DAILY_NOTIONAL=5000", NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    /* over the cap: refused, with the walk of the book and the fee */
    r = sd_tool(&d, "preview_order",
                "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                "\"MARKET\",\"quantity\":\"0.05\"}");
    CU_ASSERT_FALSE(is_error(r));
    CU_ASSERT_FALSE(json_object_get_boolean(
        tl_get_path(r, "structuredContent.wouldBeSent")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.refusedBy"),
                           "max_order_notional");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.bestOppositePrice"),
                           "50000.01");
    CU_ASSERT_TRUE(json_object_get_boolean(
        tl_get_path(r, "structuredContent.takesLiquidity")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.feeRate"),
                           FAKEX_COMMISSION_RATE);
    json_object_put(r);
    /* within the limits: it would go out, after a token confirmation */
    r = sd_tool(&d, "preview_order", LIMIT_BUY("0.001", "10000"));
    CU_ASSERT_TRUE(json_object_get_boolean(
        tl_get_path(r, "structuredContent.wouldBeSent")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.confirmation"),
                           "token");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.notionalUsdt"),
                           "10");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.limits.leftToday"),
                           "5000");
    CU_ASSERT_FALSE(json_object_get_boolean(
        tl_get_path(r, "structuredContent.takesLiquidity")));
    json_object_put(r);
    /* a filter failure is reported the same way */
    r = sd_tool(&d, "preview_order", LIMIT_BUY("0.000015", "10000"));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.refusedBy"),
                           "filters");
    json_object_put(r);
    r = sd_tool(&d, "preview_order_list", SELL_OCO("0.01"));
    CU_ASSERT_TRUE(json_object_get_boolean(
        tl_get_path(r, "structuredContent.wouldBeSent")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.notionalUsdt"),
                           "550");
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/orderList/oco"), 0);
    /* nothing was journaled either */
    r = sd_tool(&d, "get_audit_log", "{}");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.count"), 0);
    json_object_put(r);
    sd_stop(&d);
}

/* toolsets: a tool outside the chosen sets is neither listed nor
 * callable, whatever the client asks. */
static void
test_toolsets_hide(void)
{
    struct sd d;
    json_object *r;
    const char *env[] = {"BINMCPD_TOOLSETS=market,account",
                         "BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_MAX_ORDER_NOTIONAL=1000", NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    r = sd_rpc(&d, "tools/list", "{}");
    CU_ASSERT_FALSE(
        tl_contains(json_object_to_json_string(r), "\"place_order\""));
    CU_ASSERT_TRUE(
        tl_contains(json_object_to_json_string(r), "\"get_account_info\""));
    json_object_put(r);
    r = sd_rpc(&d, "tools/call",
               "{\"name\":\"place_order\",\"arguments\":" LIMIT_BUY(
                   "0.001", "10000") "}");
    CU_ASSERT_TRUE(tl_get_path(r, "error") != NULL ||
                   json_object_get_boolean(tl_get_path(r, "result.isError")));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);
    sd_stop(&d);
}

static void
test_safety_status(void)
{
    struct sd d;
    json_object *r;
    const char *text;
    const char *env[] = {"BINMCPD_MAX_ORDER_NOTIONAL=1000",
                         "BINMCPD_MAX_DAILY_NOTIONAL=1500",
                         "BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_TOOLSETS=market,account,trade", NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    expect_placed(&d, LIMIT_BUY("0.02", "10000")); /* 200 USDT */
    r = sd_tool(&d, "get_safety_status", "{}");
    CU_ASSERT_FALSE(is_error(r));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.environment"),
                           "mainnet");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.credentials"),
                           "the daemon's");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.trading.orderConfirmation"), "off");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.trading.maxOrderNotional"), "1000");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(r, "structuredContent.trading.committedToday"), "200");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.trading.leftToday"),
                           "1300");
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.toolsets"), 3);
    CU_ASSERT_TRUE(json_object_get_boolean(
        tl_get_path(r, "structuredContent.keyPermissions.enableWithdrawals")));
    /* key A can withdraw and has no IP restriction: both are warned */
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.warnings"), 2);
    text = json_object_to_json_string(r);
    CU_ASSERT_TRUE(tl_contains(text, "WITHDRAW"));
    CU_ASSERT_FALSE(tl_contains(text, TEST_SECRET_A));
    CU_ASSERT_FALSE(tl_contains(text, TEST_KEY_A));
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/sapi/v1/account/apiRestrictions"),
                    1);
    sd_stop(&d);
}

/* max_result_bytes: a long result keeps its first entries, says what was
 * left out, and stays valid JSON. */
static void
test_result_cap(void)
{
    struct sd d;
    json_object *r;
    const char *env[] = {"BINMCPD_MAX_RESULT_BYTES=10000", NULL};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    r = sd_tool(&d, "get_klines",
                "{\"symbol\":\"BTCUSDT\",\"interval\":\"1m\",\"limit\":"
                "100}");
    CU_ASSERT_FALSE(is_error(r));
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.truncated.field"),
                           "klines");
    CU_ASSERT_EQUAL(tl_int_at(r, "structuredContent.truncated.of"), 100);
    CU_ASSERT_TRUE(tl_int_at(r, "structuredContent.truncated.kept") < 100);
    CU_ASSERT_EQUAL((int64_t)tl_len_at(r, "structuredContent.klines"),
                    tl_int_at(r, "structuredContent.truncated.kept"));
    CU_ASSERT_TRUE(tl_contains(tl_str_at(r, "structuredContent.truncated.note"),
                               "smaller limit"));
    /* the text block is the same, valid JSON, and the whole is under 10000 */
    json_object *copy = json_tokener_parse(text_of(r));
    CU_ASSERT_PTR_NOT_NULL(copy);
    json_object_put(copy);
    CU_ASSERT_TRUE(strlen(json_object_to_json_string(r)) < 10000 + 1000);
    json_object_put(r);
    /* a short result is untouched */
    r = sd_tool(&d, "get_klines",
                "{\"symbol\":\"BTCUSDT\",\"interval\":\"1m\",\"limit\":"
                "5}");
    CU_ASSERT_PTR_NULL(tl_get_path(r, "structuredContent.truncated"));
    CU_ASSERT_EQUAL(tl_len_at(r, "structuredContent.klines"), 5);
    json_object_put(r);
    sd_stop(&d);
}

static CU_TestInfo limit_tests[] = {
    {"max_result_bytes: the longest list is cut, with a note", test_result_cap},
    {"get_safety_status: environment, key permissions, limits and usage",
     test_safety_status},
    {"toolsets hide and refuse the tools of other sets", test_toolsets_hide},
    {"preview_order / preview_order_list: the guard's verdict, no order",
     test_preview},
    {"symbol filters refuse locally, with the nearest valid values",
     test_filters_before_sending},
    {"allowed_symbols / denied_symbols, for placing and cancelling",
     test_limit_symbols},
    {"max_order_notional: price x qty, book walk, quote qty, BTC quote",
     test_limit_notional},
    {"MAX_NUM_ALGO_ORDERS counted before sending", test_filters_open_counts},
    {"max_daily_notional from the journal; max_open_orders",
     test_limit_daily_and_open},
    {"mainnet needs max_order_notional; testnet not; confirm_on always",
     test_limit_mainnet_needs_cap},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "elicitation": the user asked through the client              */

static const char *const elicit_env[] = {
    "BINMCPD_MAX_ORDER_NOTIONAL=1000", "BINMCPD_CONFIRMATION_TIMEOUT=5", NULL};

static void
test_elicit_accept(void)
{
    struct sd d;
    char out[64];

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 1, elicit_env), 0);
    d.answer = EL_ACCEPT;
    expect_placed(&d, LIMIT_BUY("0.001", "10000"));
    CU_ASSERT_EQUAL(d.asked, 1);
    CU_ASSERT_TRUE(tl_contains(d.message, "MAINNET"));
    CU_ASSERT_TRUE(tl_contains(d.message, "BUY LIMIT order on BTCUSDT"));
    CU_ASSERT_TRUE(tl_contains(d.message, "quantity 0.001"));
    CU_ASSERT_TRUE(tl_contains(d.message, "price 10000"));
    CU_ASSERT_TRUE(tl_contains(d.message, "time in force GTC"));
    CU_ASSERT_TRUE(tl_contains(d.message, "10 USDT"));
    CU_ASSERT_TRUE(tl_contains(d.message, "Limit per order: 1000 USDT"));
    sql_text(d.journal, "SELECT confirmation FROM intents", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "elicitation");
    sd_stop(&d);
}

static void
test_elicit_refusals(void)
{
    struct sd d;
    static const struct {
        enum elicit_answer answer;
        const char *says;
    } cases[] = {
        {EL_DECLINE, "declined"},      {EL_CANCEL, "cancelled"},
        {EL_UNTICKED, "did not tick"}, {EL_ERROR, "with an error"},
        {EL_MALFORMED, "malformed"},
    };

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 1, elicit_env), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        d.answer = cases[i].answer;
        expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000"),
                       cases[i].says, NULL);
        expect_refused(&d, "cancel_order",
                       "{\"symbol\":\"BTCUSDT\",\"order_id\":1000}",
                       cases[i].says, NULL);
    }
    CU_ASSERT_EQUAL(d.asked, 10);
    sd_stop(&d);
}

static void
test_elicit_timeout(void)
{
    struct sd d;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 1, elicit_env), 0);
    d.answer = EL_SILENT;
    t0 = tl_now_ms();
    expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000"),
                   "did not answer", NULL);
    CU_ASSERT_TRUE(tl_now_ms() - t0 >= 4900);
    CU_ASSERT_EQUAL(d.asked, 1);
    sd_stop(&d);
}

static void
test_elicit_no_token_fallback(void)
{
    struct sd d;
    const char *env[] = {"BINMCPD_MAX_ORDER_NOTIONAL=1000",
                         "BINMCPD_ORDER_CONFIRMATION=elicitation", NULL};
    json_object *r;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    /* a client without elicitation, and the operator chose elicitation */
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, 0, env), 0);
    expect_refused(&d, "place_order", LIMIT_BUY("0.001", "10000"),
                   "elicitation capability", NULL);
    r = sd_tool(&d, "place_order", LIMIT_BUY("0.001", "10000"));
    CU_ASSERT_FALSE(tl_contains(text_of(r), "confirmation_token"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);
    sd_stop(&d);
}

static CU_TestInfo elicit_tests[] = {
    {"accept + confirm: placed; the message says what will happen",
     test_elicit_accept},
    {"decline, cancel, unticked, error, malformed: both tools refused",
     test_elicit_refusals},
    {"no answer within confirmation_timeout: refused", test_elicit_timeout},
    {"order_confirmation = elicitation never falls back to a token",
     test_elicit_no_token_fallback},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "daemon": the prefork HTTP daemon                             */

struct hd {
    struct mcpc_http h;
    char journal[512];
    char config[512];
};

/* Starts `binmcpd --mode sse` with workers workers, a config file holding
 * conf (may be NULL) and the fake's environment. Returns 0 or -1. */
static int
hd_start(struct hd *d, int workers, const char *conf)
{
    char base[160], testnet[160], journal[600], nw[8], log[512];
    const char *env[] = {base,
                         testnet,
                         "BINANCE_TIMEOUT_MS=3000",
                         journal,
                         "BINANCE_API_KEY=" TEST_KEY_A,
                         "BINANCE_API_SECRET=" TEST_SECRET_A,
                         NULL};
    const char *args[] = {"--workers", nw, "--config", d->config, NULL};
    FILE *f;

    memset(d, 0, sizeof(*d));
    d->h.pid = -1;
    journal_path(d->journal, sizeof(d->journal));
    snprintf(d->config, sizeof(d->config), "%s/binmcpd-%d.conf", tmpdir,
             n_journal);
    snprintf(log, sizeof(log), "%s/daemon-%d.log", tmpdir, n_journal);
    if ((f = fopen(d->config, "w")) == NULL)
        return -1;
    fputs(conf != NULL ? conf : "", f);
    fclose(f);
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s", d->journal);
    snprintf(nw, sizeof(nw), "%d", workers);
    return mcpc_http_start(&d->h, args, env, log, START_MS, "test_guard");
}

static void
hd_stop(struct hd *d)
{
    mcpc_http_stop(&d->h, 15000, NULL);
}

/* Waits up to ms for the daemon's log to contain needle. */
static int
log_has(const struct hd *d, const char *needle, int ms)
{
    return mcpc_log_has(d->h.log, needle, ms);
}

/* Opens a POST /mcp SSE answer for body in session sid (NULL: none). */
static int
sh_open(const struct hd *d, const char *sid, const char *body,
        struct httpc_sse *s)
{
    return mcpc_http_open(d->h.port, sid, body, RPC_MS, s);
}

/* Reads the answer stream up to the response (caller owns) or NULL. */
static json_object *
sh_read(struct httpc_sse *s)
{
    return mcpc_http_read(s, RPC_MS);
}

/* A new Streamable HTTP session; its id in sid, its worker returned. */
static int
sh_session(const struct hd *d, char *sid, size_t len)
{
    return mcpc_http_session(d->h.port, "test_guard", sid, len, RPC_MS, NULL);
}

/* tools/call in session sid; the CallToolResult (caller owns) or NULL. */
static json_object *
sh_tool(const struct hd *d, const char *sid, const char *name, const char *args)
{
    return mcpc_http_tool(d->h.port, sid, name, args, RPC_MS);
}

static void
test_daemon_other_session(void)
{
    struct hd d;
    char a[128], b[128], token[65], args[512];
    json_object *r;
    const char *order = LIMIT_BUY("0.001", "10000");

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, 2, "max_order_notional = 1000\n"), 0);
    CU_ASSERT_TRUE_FATAL(sh_session(&d, a, sizeof(a)) >= 0);
    CU_ASSERT_TRUE_FATAL(sh_session(&d, b, sizeof(b)) >= 0);
    r = sh_tool(&d, a, "place_order", order);
    CU_ASSERT_TRUE(is_error(r));
    token_of(text_of(r), token, sizeof(token));
    json_object_put(r);
    CU_ASSERT_EQUAL_FATAL(strlen(token), 64);
    with_token(order, token, args, sizeof(args));
    /* session B cannot redeem A's token */
    r = sh_tool(&d, b, "place_order", args);
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "another session"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);
    /* A can */
    r = sh_tool(&d, a, "place_order", args);
    CU_ASSERT_FALSE(is_error(r));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 1);
    hd_stop(&d);
}

/* Two sessions, on two workers when the daemon lets us, each send an order
 * of 600 USDT at once against a daily cap of 1000: exactly one goes out. */
static void
test_daemon_race(void)
{
    struct hd d;
    char sid[2][128], body[2][512];
    struct httpc_sse s[2];
    int ok = 0, refused = 0, wk[2];

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, 2,
                                   "order_confirmation = off\n"
                                   "max_order_notional = 1000\n"
                                   "max_daily_notional = 1000\n"),
                          0);
    wk[0] = sh_session(&d, sid[0], sizeof(sid[0]));
    for (int tries = 0; tries < 20; tries++) {
        wk[1] = sh_session(&d, sid[1], sizeof(sid[1]));
        if (wk[1] != wk[0])
            break;
    }
    if (wk[0] == wk[1])
        fprintf(stderr, "test_guard: both sessions on worker %d\n", wk[0]);
    for (int i = 0; i < 2; i++) {
        snprintf(body[i], sizeof(body[i]),
                 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"place_order\",\"arguments\":%s}}",
                 LIMIT_BUY("0.06", "10000"));
        CU_ASSERT_EQUAL(sh_open(&d, sid[i], body[i], &s[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        json_object *m = sh_read(&s[i]);
        if (json_object_get_boolean(tl_get_path(m, "result.isError")))
            refused += tl_contains(tl_str_at(m, "result.content.0.text"),
                                   "max_daily_notional");
        else if (tl_get_path(m, "result") != NULL)
            ok++;
        json_object_put(m);
        httpc_sse_close(&s[i]);
    }
    CU_ASSERT_EQUAL(ok, 1);
    CU_ASSERT_EQUAL(refused, 1);
    CU_ASSERT_EQUAL(posts(), 1);
    hd_stop(&d);
}

static void
test_daemon_sighup_limits(void)
{
    struct hd d;
    char sid[128];
    json_object *r;
    FILE *f;
    const char *order = LIMIT_BUY("0.05", "10000"); /* 500 USDT */

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, 2,
                                   "order_confirmation = off\n"
                                   "max_order_notional = 100\n"),
                          0);
    CU_ASSERT_TRUE_FATAL(sh_session(&d, sid, sizeof(sid)) >= 0);
    r = sh_tool(&d, sid, "place_order", order);
    CU_ASSERT_TRUE(is_error(r) &&
                   tl_contains(text_of(r), "max_order_notional"));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 0);
    f = fopen(d.config, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("order_confirmation = off\nmax_order_notional = 1000\n", f);
    fclose(f);
    kill(d.h.pid, SIGHUP);
    CU_ASSERT_TRUE(log_has(&d, "trading rules reloaded", 5000));
    r = sh_tool(&d, sid, "place_order", order);
    CU_ASSERT_FALSE(is_error(r));
    json_object_put(r);
    CU_ASSERT_EQUAL(posts(), 1);
    hd_stop(&d);
}

/* The supervisor's only child (one worker), or 0. */
static pid_t
only_child(pid_t parent)
{
    return mcpc_only_child(parent);
}

/* Makes the exchange place the next order at once and answer 6 s later,
 * then opens a place_order (request id 11, client order id coid) in
 * session sid on s. Returns sh_open's result. */
static int
open_slow_order(const struct hd *d, const char *sid, const char *coid,
                struct httpc_sse *s)
{
    char body[512];

    if (fakex_fault(&fx, "type=slow&delay_ms=6000&when=after&method=POST"
                         "&path=/api/v3/order&count=1") != 0)
        return -1;
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"place_order\",\"arguments\":{"
             "\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
             "\"quantity\":\"0.001\",\"price\":\"10000\","
             "\"client_order_id\":\"%s\"}}}",
             coid);
    return sh_open(d, sid, body, s);
}

static void
test_daemon_kill_after_intent(void)
{
    struct hd d;
    char sid[128], out[256];
    struct httpc_sse s;
    pid_t worker;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, 1,
                                   "order_confirmation = off\n"
                                   "max_order_notional = 1000\n"),
                          0);
    CU_ASSERT_TRUE_FATAL(sh_session(&d, sid, sizeof(sid)) >= 0);
    worker = only_child(d.h.pid);
    CU_ASSERT_TRUE_FATAL(worker > 0);
    /* The exchange places the order at once and answers 6 s later. */
    CU_ASSERT_EQUAL_FATAL(open_slow_order(&d, sid, "killed-worker-1", &s), 0);
    t0 = tl_now_ms();
    while (posts() < 1 && tl_now_ms() - t0 < 5000)
        tl_sleep_ms(20);
    CU_ASSERT_EQUAL_FATAL(posts(), 1);
    /* the intent is on disk before the request was signed */
    last_outcomes(d.journal, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "pending");
    CU_ASSERT_EQUAL(kill(worker, SIGKILL), 0);
    httpc_sse_close(&s);
    /* the worker that replaces it reports and reconciles the intent */
    CU_ASSERT_TRUE(log_has(&d, "unresolved intent", 10000));
    CU_ASSERT_TRUE(log_has(&d, "reconciled: NEW", 10000));
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/order"), 1);
    CU_ASSERT_EQUAL(posts(), 1); /* never resent */
    last_outcomes(d.journal, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "unknown,reconciled");
    sql_text(d.journal,
             "SELECT client_order_id || ' ' || o.status FROM intents i JOIN "
             "outcomes o ON o.intent_id = i.id WHERE o.outcome = "
             "'reconciled'",
             out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "killed-worker-1 NEW");
    hd_stop(&d);
}

/* How many times needle occurs in the daemon's log. */
static int
log_count(const struct hd *d, const char *needle)
{
    return mcpc_log_count(d->h.log, needle);
}

/* The pid of worker k: the last "worker k: serving" line of the log. */
static pid_t
worker_pid(const struct hd *d, int k)
{
    return mcpc_log_worker_pid(d->h.log, k);
}

/* Reads s until the answer to id 11 (caller owns) or the stream's end;
 * notes the last event id in last. */
static json_object *
answer_11(struct httpc_sse *s, char *last, size_t len)
{
    struct httpc_event ev;

    while (httpc_sse_next(s, &ev, RPC_MS) == 1) {
        json_object *m = json_tokener_parse(ev.data);
        if (ev.id[0] != '\0')
            snprintf(last, len, "%s", ev.id);
        httpc_event_free(&ev);
        if (tl_int_at(m, "id") == 11)
            return m;
        json_object_put(m);
    }
    return NULL;
}

/* A Streamable HTTP session outlives a SIGKILL of the worker that owns it
 * (the only one, or one of two): the order that was running there gets
 * an error saying its outcome is unknown, on its stream when that lived
 * in the other worker, else when the client resumes it from the priming
 * event's id; a live worker adopts the session with its own credentials:
 * no 404, no new initialize; the order is never resent, and DELETE still
 * ends the session. */
static void
kill_adopt(int workers)
{
    struct hd d;
    char sid[128], hdr[512], last[128] = "", want[48];
    struct httpc_sse s;
    struct httpc_event ev;
    json_object *res, *err;
    pid_t worker;
    int owner;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, workers,
                                   "order_confirmation = off\n"
                                   "max_order_notional = 1000\n"),
                          0);
    owner = sh_session(&d, sid, sizeof(sid));
    CU_ASSERT_TRUE_FATAL(owner >= 0);
    res = sh_tool(&d, sid, "configure_credentials",
                  "{\"api_key\":\"" TEST_KEY_B
                  "\",\"api_secret\":\"" TEST_SECRET_B
                  "\",\"environment\":\"testnet\"}");
    CU_ASSERT_TRUE(res != NULL && !is_error(res));
    json_object_put(res);
    worker = worker_pid(&d, owner);
    CU_ASSERT_TRUE_FATAL(worker > 0);
    CU_ASSERT_EQUAL_FATAL(open_slow_order(&d, sid, "adopted-1", &s), 0);
    /* the priming event: an id and no data, at once */
    CU_ASSERT_EQUAL(httpc_sse_next(&s, &ev, RPC_MS), 1);
    CU_ASSERT_TRUE(ev.id[0] != '\0' && ev.data != NULL && ev.data[0] == '\0');
    snprintf(last, sizeof(last), "%s", ev.id);
    httpc_event_free(&ev);
    t0 = tl_now_ms();
    while (posts() < 1 && tl_now_ms() - t0 < 5000)
        tl_sleep_ms(20);
    CU_ASSERT_EQUAL_FATAL(posts(), 1);
    CU_ASSERT_EQUAL(kill(worker, SIGKILL), 0);
    /* on the stream, when another worker held it; else it breaks */
    err = answer_11(&s, last, sizeof(last));
    httpc_sse_close(&s);
    printf("\nkill_adopt(%d): the error came %s\n", workers,
           err != NULL ? "on the stream" : "on the resumed stream");
    if (err == NULL) {
        /* the client resumes its stream: the connection is served by a
         * live worker, or waits for the replacement */
        snprintf(hdr, sizeof(hdr),
                 "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
                 "MCP-Protocol-Version: 2025-11-25\r\nLast-Event-ID: %s\r\n",
                 sid, last);
        CU_ASSERT_EQUAL_FATAL(
            httpc_sse_open(&s, d.h.port, "GET", "/mcp", hdr, NULL, 0, RPC_MS),
            0);
        CU_ASSERT_EQUAL(s.status, 200);
        err = answer_11(&s, last, sizeof(last));
        httpc_sse_close(&s);
    }
    CU_ASSERT_TRUE(tl_get_path(err, "result") == NULL);
    CU_ASSERT_EQUAL(tl_int_at(err, "error.code"), -32603);
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(err, "error.message"), "outcome is unknown"));
    json_object_put(err);

    /* the session goes on, with its own credentials */
    res = sh_tool(&d, sid, "get_credentials_status", "{}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(res, "structuredContent.source"),
                           "session");
    json_object_put(res);
    snprintf(want, sizeof(want), "adopted from worker %d", owner);
    CU_ASSERT_TRUE(log_has(&d, want, 5000));
    CU_ASSERT_EQUAL(log_count(&d, "... created"), 1); /* no new session */
    CU_ASSERT_EQUAL(posts(), 1);                      /* never resent */
    snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s\r\n", sid);
    {
        struct httpc_resp r;
        httpc_request(d.h.port, "DELETE", "/mcp", hdr, NULL, 0, RPC_MS, &r);
        CU_ASSERT_EQUAL(r.status, 200);
        httpc_resp_free(&r);
    }
    res = sh_tool(&d, sid, "get_server_time", "{}");
    CU_ASSERT_PTR_NULL(res); /* 404 now */
    json_object_put(res);
    hd_stop(&d);
}

/* Stops worker (SIGSTOP) at a moment it holds none of the locks the
 * workers share: a stop inside the registry's mutex would stall the other
 * worker too, so the other one must still be able to open a session (an
 * initialize within a second); else the worker is let go on and stopped
 * again. Returns 0, or -1. */
static int
stop_idle(const struct hd *d, pid_t worker)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
        "\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":"
        "{},\"clientInfo\":{\"name\":\"test_guard\",\"version\":\"1\"}}}";
    const char hdr[] = "Accept: application/json, text/event-stream\r\n"
                       "Content-Type: application/json\r\n";

    for (int tries = 0; tries < 20; tries++) {
        struct httpc_sse s;
        int ok;

        if (kill(worker, SIGSTOP) < 0)
            return -1;
        ok = httpc_sse_open(&s, d->h.port, "POST", "/mcp", hdr, init,
                            strlen(init), 1000) == 0 &&
             s.status == 200;
        httpc_sse_close(&s);
        if (ok)
            return 0;
        kill(worker, SIGCONT);
        tl_sleep_ms(50 + 37 * tries);
    }
    return -1;
}

/* An order that reached the owner's IPC channel but not the owner: the
 * owner is stopped (SIGSTOP) when another worker passes the order on, and
 * killed before it reads it. The client hears that the outcome is
 * unknown; the worker that replaces the owner finds the message on the
 * channel it inherits and drops it: the order is never placed behind the
 * client's back (who may have placed it again meanwhile). The session goes
 * on. */
static void
test_daemon_stale_deliver(void)
{
    struct hd d;
    char sid[128], body[512];
    struct httpc_sse s;
    struct httpc_event ev;
    json_object *err, *res;
    pid_t worker;
    int owner = -1;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, 2,
                                   "order_confirmation = off\n"
                                   "max_order_notional = 1000\n"),
                          0);
    for (int tries = 0; tries < 40 && owner != 1; tries++)
        owner = sh_session(&d, sid, sizeof(sid));
    CU_ASSERT_EQUAL_FATAL(owner, 1);
    CU_ASSERT_TRUE(log_has(&d, "worker 1: serving", 5000));
    worker = worker_pid(&d, 1);
    CU_ASSERT_TRUE_FATAL(worker > 0);
    CU_ASSERT_EQUAL_FATAL(stop_idle(&d, worker), 0);
    /* worker 0 takes the connection and passes the order to worker 1 */
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"place_order\",\"arguments\":"
             "%s}}",
             LIMIT_BUY("0.001", "10000"));
    CU_ASSERT_EQUAL_FATAL(sh_open(&d, sid, body, &s), 0);
    /* the priming event: worker 0 has the request and sent it on */
    CU_ASSERT_EQUAL(httpc_sse_next(&s, &ev, RPC_MS), 1);
    httpc_event_free(&ev);
    tl_sleep_ms(300);
    CU_ASSERT_EQUAL(kill(worker, SIGKILL), 0);
    err = answer_11(&s, body, sizeof(body));
    httpc_sse_close(&s);
    if (tl_int_at(err, "error.code") != -32603)
        fprintf(stderr, "\n  the order's answer: %s\n",
                err != NULL ? json_object_to_json_string(err) : "none");
    CU_ASSERT_EQUAL(tl_int_at(err, "error.code"), -32603);
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(err, "error.message"), "outcome is unknown"));
    json_object_put(err);
    /* the replacement read the message and dropped it */
    CU_ASSERT_TRUE(log_has(&d,
                           "dropped a message sent to this worker's "
                           "predecessor",
                           10000));
    tl_sleep_ms(500);
    CU_ASSERT_EQUAL(posts(), 0);
    res = sh_tool(&d, sid, "get_server_time", "{}");
    CU_ASSERT_TRUE(res != NULL && !is_error(res));
    json_object_put(res);
    CU_ASSERT_EQUAL(posts(), 0);
    if (CU_get_number_of_failures() > 0 && getenv("TL_DUMP") != NULL) {
        char *log = tl_slurp(d.h.log, NULL);
        fprintf(stderr, "%s\n", log != NULL ? log : "");
        free(log);
    }
    hd_stop(&d);
}

static void
test_daemon_kill_adopt(void)
{
    kill_adopt(1);
}

static void
test_daemon_kill_adopt_two(void)
{
    kill_adopt(2);
}

/* POSTs a message to a legacy session (202 expected). */
static int
legacy_post(const struct hd *d, const char *sid, const char *body)
{
    char path[256];
    struct httpc_resp r;
    int st;

    snprintf(path, sizeof(path), "/mcp/message?sessionId=%s", sid);
    httpc_request(d->h.port, "POST", path, "Content-Type: application/json\r\n",
                  body, strlen(body), RPC_MS, &r);
    st = r.status;
    httpc_resp_free(&r);
    return st;
}

/* The next message on a legacy stream (caller owns), or NULL. */
static json_object *
legacy_next(struct httpc_sse *s)
{
    struct httpc_event ev;

    for (;;) {
        if (httpc_sse_next(s, &ev, RPC_MS) != 1)
            return NULL;
        json_object *m = json_tokener_parse(ev.data);
        httpc_event_free(&ev);
        if (m != NULL)
            return m;
    }
}

/* Over legacy HTTP+SSE: the elicitation request goes down the stream, the
 * answer comes up in a POST; accept places the order, decline does not. */
static void
test_daemon_legacy_elicitation(void)
{
    struct hd d;
    struct httpc_sse s;
    struct httpc_event ev;
    char sid[128] = "", line[512];
    json_object *m;
    static const char *const answers[] = {
        "{\"action\":\"accept\",\"content\":{\"confirm\":true}}",
        "{\"action\":\"decline\"}"};

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, 2, "max_order_notional = 1000\n"), 0);
    CU_ASSERT_EQUAL_FATAL(httpc_sse_open(&s, d.h.port, "GET", "/mcp/sse",
                                         "Accept: text/event-stream\r\n", NULL,
                                         0, RPC_MS),
                          0);
    httpc_header(s.headers, "X-Connection-ID", sid, sizeof(sid));
    do {
        CU_ASSERT_EQUAL_FATAL(httpc_sse_next(&s, &ev, RPC_MS), 1);
        int endpoint = strcmp(ev.event, "endpoint") == 0;
        httpc_event_free(&ev);
        if (endpoint)
            break;
    } while (1);
    CU_ASSERT_EQUAL(
        legacy_post(&d, sid,
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                    "\"initialize\",\"params\":{\"protocolVersion\":"
                    "\"2024-11-05\",\"capabilities\":{\"elicitation\":{}},"
                    "\"clientInfo\":{\"name\":\"test_guard\",\"version\":"
                    "\"1\"}}}"),
        202);
    json_object_put(legacy_next(&s));
    for (int i = 0; i < 2; i++) {
        long before = posts();
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                 "\"tools/call\",\"params\":{\"name\":\"place_order\","
                 "\"arguments\":%s}}",
                 10 + i, LIMIT_BUY("0.001", "10000"));
        CU_ASSERT_EQUAL(legacy_post(&d, sid, line), 202);
        m = legacy_next(&s);
        CU_ASSERT_STRING_EQUAL(tl_str_at(m, "method"), "elicitation/create");
        CU_ASSERT_TRUE(tl_contains(tl_str_at(m, "params.message"), "BTCUSDT"));
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,"
                 "\"result\":%s}",
                 json_object_to_json_string_ext(tl_get_path(m, "id"),
                                                JSON_C_TO_STRING_PLAIN),
                 answers[i]);
        json_object_put(m);
        CU_ASSERT_EQUAL(legacy_post(&d, sid, line), 202);
        /* notifications (log messages) may come first */
        while ((m = legacy_next(&s)) != NULL &&
               tl_get_path(m, "result") == NULL)
            json_object_put(m);
        CU_ASSERT_EQUAL(tl_int_at(m, "id"), 10 + i);
        CU_ASSERT_EQUAL(
            json_object_get_boolean(tl_get_path(m, "result.isError")), i == 1);
        json_object_put(m);
        CU_ASSERT_EQUAL(posts(), before + (i == 0));
    }
    httpc_sse_close(&s);
    hd_stop(&d);
}

static CU_TestInfo daemon_tests[] = {
    {"legacy HTTP+SSE: elicitation down the stream, answer in a POST",
     test_daemon_legacy_elicitation},
    {"a token is bound to its session (other session refused)",
     test_daemon_other_session},
    {"two workers race for the last of max_daily_notional: one order",
     test_daemon_race},
    {"SIGHUP reloads the limits", test_daemon_sighup_limits},
    {"SIGKILL after the intent: kept, reported, reconciled by one read",
     test_daemon_kill_after_intent},
    {"an order left on a killed owner's channel is dropped, not run later",
     test_daemon_stale_deliver},
    {"SIGKILL during an order: its error on resumption, the session adopted",
     test_daemon_kill_adopt},
    {"... of one of two workers: the error on the stream or its resumption",
     test_daemon_kill_adopt_two},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */

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
    {"token", init_all, NULL, NULL, NULL, token_tests},
    {"limits", init_all, NULL, NULL, NULL, limit_tests},
    {"elicitation", init_all, NULL, NULL, NULL, elicit_tests},
    {"daemon", init_all, NULL, NULL, NULL, daemon_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (tl_tmpdir_make(tmpdir, sizeof(tmpdir), "test_guard") < 0)
        return 1;
    rc = testlib_run(suites);
    if (fx_up)
        fakex_stop(&fx);
    if (rc == 0)
        tl_tmpdir_remove(tmpdir);
    else
        fprintf(stderr, "test_guard: logs and journals kept in %s\n", tmpdir);
    return rc;
}
