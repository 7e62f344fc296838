/*
 * test_mcp.c - unit tests of the MCP engine: framing, every JSON-RPC error
 * path, lifecycle, tool listing and validation, read-only mode, logging,
 * batches. A capture sink stands in for the transport; the tools that need
 * data talk to the real fake exchange.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "bnc.h"
#include "mcp.h"
#include "testlib.h"
#include "tools.h"
#include "tools_callcreds.h"

#define MAX_MSGS 16

static struct capture {
    int n;
    json_object *msg[MAX_MSGS];
} cap;

static struct fakex fx;
static struct mcp_server *srv, *srv_ro;
static struct creds daemon_creds;
static struct mcp_session sess;

static int
capture_sink(void *arg, const char *msg, size_t len)
{
    (void)arg;
    CU_ASSERT_PTR_NULL(memchr(msg, '\n', len)); /* one line per message */
    if (cap.n < MAX_MSGS)
        cap.msg[cap.n++] = json_tokener_parse(msg);
    return 0;
}

static void
capture_reset(void)
{
    for (int i = 0; i < cap.n; i++)
        json_object_put(cap.msg[i]);
    cap.n = 0;
}

/* Sends text on session s and returns the last message sent (borrowed). */
static json_object *
send_on(struct mcp_session *s, const char *text)
{
    capture_reset();
    mcp_handle_message(s, text, strlen(text));
    return cap.n > 0 ? cap.msg[cap.n - 1] : NULL;
}

static json_object *
send_msg(const char *text)
{
    return send_on(&sess, text);
}

static int
error_code(json_object *m)
{
    json_object *c = tl_get_path(m, "error.code");
    return c ? json_object_get_int(c) : 0;
}

static int
init_suite(void)
{
    char err[128];
    struct bnc_config bc;

    if (fakex_start(&fx, NULL) < 0)
        return -1;
    bnc_config_defaults(&bc);
    snprintf(bc.mainnet_url, sizeof(bc.mainnet_url), "%s", fx.url);
    snprintf(bc.testnet_url, sizeof(bc.testnet_url), "%s", fx.url);
    if (bnc_init(&bc) < 0)
        return -1;
    memset(&daemon_creds, 0, sizeof(daemon_creds));
    if (creds_set(&daemon_creds, TEST_KEY_A, TEST_SECRET_A, BNC_ENV_MAINNET,
                  err, sizeof(err)) < 0)
        return -1;
    static struct binance_ctx bctx = {.daemon_creds = &daemon_creds};
    struct mcp_options o = {.provider = &mcp_binance_provider,
                            .provider_ctx = &bctx};
    srv = mcp_server_new(&o);
    o.read_only = 1;
    srv_ro = mcp_server_new(&o);
    if (srv == NULL || srv_ro == NULL)
        return -1;
    mcp_session_init(&sess, srv, "test", capture_sink, NULL);
    return 0;
}

static int
clean_suite(void)
{
    capture_reset();
    mcp_session_finish(&sess);
    mcp_server_free(srv);
    mcp_server_free(srv_ro);
    creds_wipe(&daemon_creds);
    bnc_thread_cleanup();
    bnc_shutdown();
    fakex_stop(&fx);
    return 0;
}

static void
test_parse_errors(void)
{
    json_object *m = send_msg("{\"jsonrpc\":\"2.0\",");
    CU_ASSERT_EQUAL(error_code(m), -32700);
    CU_ASSERT_TRUE(json_object_object_get_ex(m, "id", NULL));
    CU_ASSERT_PTR_NULL(tl_get_path(m, "id"));
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} junk");
    CU_ASSERT_EQUAL(error_code(m), -32700);
    m = send_msg("");
    CU_ASSERT_EQUAL(error_code(m), -32700);
}

static void
test_invalid_requests(void)
{
    json_object *m = send_msg("5");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    m = send_msg("{\"id\":7,\"method\":\"ping\"}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    CU_ASSERT_EQUAL(json_object_get_int(tl_get_path(m, "id")), 7);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":5}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":3}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    m = send_msg("[]");
    CU_ASSERT_EQUAL(error_code(m), -32600);
}

static void
test_unknown_method_and_params(void)
{
    json_object *m =
        send_msg("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"nope\"}");
    CU_ASSERT_EQUAL(error_code(m), -32601);
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "id"), "a");
    m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":[1]}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\","
                 "\"params\":{\"cursor\":\"x\"}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
}

static void
test_notifications_get_no_answer(void)
{
    send_msg("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    CU_ASSERT_EQUAL(cap.n, 0);
    send_msg("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
             "\"params\":{\"requestId\":99}}");
    CU_ASSERT_EQUAL(cap.n, 0);
    send_msg("{\"jsonrpc\":\"2.0\",\"method\":\"something/else\"}");
    CU_ASSERT_EQUAL(cap.n, 0);
    /* a response from the client is not answered either */
    send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    CU_ASSERT_EQUAL(cap.n, 0);
}

static void
test_initialize(void)
{
    json_object *m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           "2025-06-18");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.name"), "binmcpd");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.version"),
                           PACKAGE_VERSION);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.tools"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.resources"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.prompts"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.logging"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.completions"));
    CU_ASSERT_STRING_EQUAL(sess.version, "2025-06-18");

    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                 "\"params\":{\"protocolVersion\":\"2024-11-05\"}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           "2024-11-05");
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                 "\"params\":{\"protocolVersion\":\"1999-01-01\"}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           MCP_LATEST_VERSION);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                 "\"params\":{}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
}

static void
test_ping(void)
{
    json_object *m =
        send_msg("{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
    json_object *r = tl_get_path(m, "result");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(json_object_object_length(r), 0);
}

static void
test_batch(void)
{
    json_object *m = send_msg(
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]");
    CU_ASSERT_EQUAL(cap.n, 1);
    CU_ASSERT_TRUE_FATAL(json_object_is_type(m, json_type_array));
    CU_ASSERT_EQUAL(json_object_array_length(m), 2);
    CU_ASSERT_EQUAL(error_code(json_object_array_get_idx(m, 1)), -32601);
}

/* Finds a tool object by name in a tools/list answer. */
static json_object *
find_tool(json_object *m, const char *name)
{
    json_object *tools = tl_get_path(m, "result.tools");
    for (size_t i = 0; tools && i < json_object_array_length(tools); i++) {
        json_object *t = json_object_array_get_idx(tools, i);
        if (strcmp(tl_str_at(t, "name"), name) == 0)
            return t;
    }
    return NULL;
}

static void
test_tools_list(void)
{
    json_object *m =
        send_msg("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}");
    json_object *tools = tl_get_path(m, "result.tools");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tools);
    CU_ASSERT_TRUE(json_object_array_length(tools) >= 18);
    for (size_t i = 0; tl_core_tools[i] != NULL; i++) {
        json_object *t = find_tool(m, tl_core_tools[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_TRUE(strlen(tl_str_at(t, "description")) > 20);
        CU_ASSERT_STRING_EQUAL(tl_str_at(t, "inputSchema.type"), "object");
        CU_ASSERT_STRING_EQUAL(tl_str_at(t, "outputSchema.type"), "object");
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(t, "annotations.readOnlyHint"));
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(t, "annotations.destructiveHint"));
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(t, "annotations.idempotentHint"));
        CU_ASSERT_PTR_NOT_NULL(tl_get_path(t, "annotations.openWorldHint"));
    }
    /* the annotations tell the truth */
    CU_ASSERT_TRUE(json_object_get_boolean(
        tl_get_path(find_tool(m, "get_ticker"), "annotations.readOnlyHint")));
    CU_ASSERT_FALSE(json_object_get_boolean(
        tl_get_path(find_tool(m, "place_order"), "annotations.readOnlyHint")));
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(
        find_tool(m, "cancel_order"), "annotations.destructiveHint")));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        tl_str_at(find_tool(m, "place_order"), "description"), "real money"));
}

static void
test_read_only_hides_and_refuses(void)
{
    struct mcp_session ro;
    mcp_session_init(&ro, srv_ro, "ro", capture_sink, NULL);
    json_object *m = send_on(
        &ro, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    CU_ASSERT_PTR_NULL(find_tool(m, "place_order"));
    CU_ASSERT_PTR_NULL(find_tool(m, "cancel_order"));
    CU_ASSERT_PTR_NOT_NULL(find_tool(m, "get_ticker"));
    long before = fakex_count(&fx, "POST", "/api/v3/order");
    m = send_on(&ro,
                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                "\"params\":{\"name\":\"place_order\",\"arguments\":{"
                "\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"MARKET\","
                "\"quantity\":\"0.001\"}}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_object_to_json_string(tl_get_path(m, "result.content")),
               "read-only"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), before);
    mcp_session_finish(&ro);
}

static void
test_tools_call_errors(void)
{
    json_object *m =
        send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"no_such_tool\"}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(tl_str_at(m, "error.message"), "no_such_tool"));
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                 "\"params\":{}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"get_ticker\",\"arguments\":[1]}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);

    /* bad argument values are tool errors the model can correct */
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"get_order_book\",\"arguments\":{"
                 "\"symbol\":\"BTCUSDT\",\"limit\":7}}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        json_object_to_json_string(tl_get_path(m, "result.content")), "limit"));
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"get_ticker\",\"arguments\":{}}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_object_to_json_string(tl_get_path(m, "result.content")),
               "symbol"));
}

static void
test_tools_call_success_shape(void)
{
    json_object *m =
        send_msg("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"get_ticker\",\"arguments\":{"
                 "\"symbol\":\"BTCUSDT\"}}}");
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    json_object *sc = tl_get_path(m, "result.structuredContent");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "symbol"), "BTCUSDT");
    CU_ASSERT_TRUE(strlen(tl_str_at(sc, "lastPrice")) > 0);
    /* the text block carries the same JSON */
    json_object *content = tl_get_path(m, "result.content");
    json_object *text = json_tokener_parse(
        tl_str_at(json_object_array_get_idx(content, 0), "text"));
    CU_ASSERT_TRUE(json_object_equal(text, sc));
    json_object_put(text);
}

static void
test_upstream_error_is_tool_error(void)
{
    json_object *m =
        send_msg("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
                 "\"params\":{\"name\":\"get_ticker\",\"arguments\":{"
                 "\"symbol\":\"NOSUCHCOIN\"}}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    const char *t = tl_str_at(
        json_object_array_get_idx(tl_get_path(m, "result.content"), 0), "text");
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "-1121"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "Invalid symbol."));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "400"));
}

static void
test_progress_notifications(void)
{
    send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\","
        "\"params\":{\"name\":\"fetch\",\"arguments\":{\"id\":\"ETHUSDT\"},"
        "\"_meta\":{\"progressToken\":\"tok\"}}}");
    CU_ASSERT_TRUE_FATAL(cap.n >= 2);
    CU_ASSERT_STRING_EQUAL(tl_str_at(cap.msg[0], "method"),
                           "notifications/progress");
    CU_ASSERT_STRING_EQUAL(tl_str_at(cap.msg[0], "params.progressToken"),
                           "tok");
    /* the response comes last */
    CU_ASSERT_EQUAL(json_object_get_int(tl_get_path(cap.msg[cap.n - 1], "id")),
                    11);
    /* without a token, no progress */
    send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\","
        "\"params\":{\"name\":\"fetch\",\"arguments\":{\"id\":\"ETHUSDT\"}}}");
    CU_ASSERT_EQUAL(cap.n, 1);
}

static void
test_logging_level(void)
{
    json_object *m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\","
        "\"params\":{\"level\":\"loud\"}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\","
        "\"params\":{\"level\":\"debug\"}}");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    CU_ASSERT_EQUAL(sess.log_level, MCP_LOG_DEBUG);
    struct mcp_call c = {.srv = srv, .sess = &sess};
    capture_reset();
    mcp_call_log(&c, MCP_LOG_INFO, "test", "hello %d", 1);
    CU_ASSERT_EQUAL_FATAL(cap.n, 1);
    CU_ASSERT_STRING_EQUAL(tl_str_at(cap.msg[0], "method"),
                           "notifications/message");
    CU_ASSERT_STRING_EQUAL(tl_str_at(cap.msg[0], "params.data"), "hello 1");
    send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\","
             "\"params\":{\"level\":\"error\"}}");
    capture_reset();
    mcp_call_log(&c, MCP_LOG_INFO, "test", "quiet");
    CU_ASSERT_EQUAL(cap.n, 0);
    sess.log_level = MCP_LOG_INFO;
}

static void
test_resources_prompts_errors(void)
{
    json_object *m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\"}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\","
                 "\"params\":{\"uri\":\"binance://nowhere/x\"}}");
    CU_ASSERT_EQUAL(error_code(m), -32002);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\","
                 "\"params\":{\"name\":\"no_such_prompt\"}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                 "\"completion/complete\",\"params\":{}}");
    CU_ASSERT_EQUAL(error_code(m), -32602);
    m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}");
    CU_ASSERT_TRUE(
        json_object_array_length(tl_get_path(m, "result.resources")) >= 4);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                 "\"resources/templates/list\"}");
    CU_ASSERT_TRUE(json_object_array_length(
                       tl_get_path(m, "result.resourceTemplates")) >= 1);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}");
    CU_ASSERT_TRUE(json_object_array_length(tl_get_path(m, "result.prompts")) >=
                   2);
}

static void
test_completion_symbols(void)
{
    json_object *m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\","
        "\"params\":{\"ref\":{\"type\":\"ref/prompt\",\"name\":"
        "\"trading_analysis\"},\"argument\":{\"name\":\"symbol\",\"value\":"
        "\"eth\"}}}");
    json_object *vals = tl_get_path(m, "result.completion.values");
    CU_ASSERT_PTR_NOT_NULL_FATAL(vals);
    CU_ASSERT_TRUE(json_object_array_length(vals) >= 2);
    for (size_t i = 0; i < json_object_array_length(vals); i++)
        CU_ASSERT_EQUAL(
            strncmp(json_object_get_string(json_object_array_get_idx(vals, i)),
                    "ETH", 3),
            0);
}

static void
test_credentials_never_leak(void)
{
    json_object *m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"get_credentials_status\",\"arguments\":{}}}");
    const char *all = json_object_to_json_string(m);
    CU_ASSERT_PTR_NULL(strstr(all, TEST_SECRET_A));
    CU_ASSERT_PTR_NULL(strstr(all, TEST_KEY_A));
    CU_ASSERT_PTR_NOT_NULL(strstr(all, "vmPU...Eh8A"));
    m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"configure_credentials\",\"arguments\":{\"api_key\":"
        "\"" TEST_KEY_B "\",\"api_secret\":\"" TEST_SECRET_B
        "\",\"environment\":\"testnet\"}}}");
    all = json_object_to_json_string(m);
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_PTR_NULL(strstr(all, TEST_SECRET_B));
    CU_ASSERT_PTR_NULL(strstr(all, TEST_KEY_B));
    CU_ASSERT_PTR_NOT_NULL(tools_session_creds(&sess));
    m = send_msg(
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"revoke_credentials\",\"arguments\":{}}}");
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_PTR_NULL(tools_session_creds(&sess));
}

/* ---- server requests to the client ---- */

static atomic_int answer_mode; /* 0: result, 1: error, 2: none */

/* Plays the client: waits for the request the sink captured, answers it
 * through mcp_session_response as a transport would. */
static void *
client_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200 && cap.n == 0; i++)
        usleep(5000);
    if (cap.n == 0 || atomic_load(&answer_mode) == 2)
        return NULL;
    char reply[512];
    const char *id = json_object_to_json_string(tl_get_path(cap.msg[0], "id"));
    if (atomic_load(&answer_mode) == 0)
        snprintf(reply, sizeof(reply),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":"
                 "\"assistant\",\"content\":{\"type\":\"text\",\"text\":"
                 "\"hi\"}}}",
                 id);
    else
        snprintf(reply, sizeof(reply),
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-1,"
                 "\"message\":\"user declined\"}}",
                 id);
    CU_ASSERT_TRUE(mcp_is_response(reply, strlen(reply)));
    CU_ASSERT_EQUAL(mcp_session_response(&sess, reply, strlen(reply)), 1);
    return NULL;
}

static int
request_with(int mode, int timeout_ms, json_object **result, char *err,
             size_t len)
{
    pthread_t t;
    struct mcp_call c = {.srv = srv, .sess = &sess};
    json_object *params = json_object_new_object();
    capture_reset();
    atomic_store(&answer_mode, mode);
    pthread_create(&t, NULL, client_thread, NULL);
    int rc = mcp_call_request(&c, "sampling/createMessage", params, "sampling",
                              timeout_ms, result, err, len);
    pthread_join(t, NULL);
    json_object_put(params);
    return rc;
}

static void
test_server_requests(void)
{
    json_object *result = NULL;
    char err[256];
    struct mcp_call c = {.srv = srv, .sess = &sess};

    /* a client that did not declare sampling is not asked */
    sess.client_sampling = 0;
    capture_reset();
    CU_ASSERT_EQUAL(mcp_call_request(&c, "sampling/createMessage", NULL,
                                     "sampling", 1000, &result, err,
                                     sizeof(err)),
                    -1);
    CU_ASSERT_EQUAL(cap.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sampling"));

    sess.client_sampling = 1;
    CU_ASSERT_EQUAL(request_with(0, 3000, &result, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(tl_str_at(result, "content.text"), "hi");
    CU_ASSERT_STRING_EQUAL(tl_str_at(cap.msg[0], "method"),
                           "sampling/createMessage");
    json_object_put(result);

    CU_ASSERT_EQUAL(request_with(1, 3000, &result, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "user declined"));
    CU_ASSERT_EQUAL(request_with(2, 200, &result, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "did not answer"));
    /* a late or unknown answer finds nobody and is dropped */
    {
        static const char late[] =
            "{\"jsonrpc\":\"2.0\",\"id\":\"srv-99\",\"result\":{}}";
        CU_ASSERT_TRUE(mcp_is_response(late, strlen(late)));
        CU_ASSERT_EQUAL(mcp_session_response(&sess, late, strlen(late)), 0);
    }
    {
        static const char req[] =
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
        CU_ASSERT_FALSE(mcp_is_response(req, strlen(req)));
    }
    sess.client_sampling = 0;
}

static void
test_initialize_records_client_caps(void)
{
    send_msg("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":{\"sampling\":{},\"elicitation\":{}}}}");
    CU_ASSERT_TRUE(sess.client_sampling);
    CU_ASSERT_TRUE(sess.client_elicitation);
    json_object *m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                              "\"resources/subscribe\",\"params\":{\"uri\":"
                              "\"binance://market/BTCUSDT\"}}");
    /* binmcpd offers no subscriptions (nothing would ever be pushed) */
    CU_ASSERT_EQUAL(error_code(m), -32601);
    sess.client_sampling = sess.client_elicitation = 0;
}

/* Classifies text (parsed here) with mcp_message_classify. */
static void
classify_text(const char *text, int *init, int *requests)
{
    json_object *o = json_tokener_parse(text);
    mcp_message_classify(o, init, requests);
    json_object_put(o);
}

static void
test_triage_hostile_and_slash_ids(void)
{
    static const char *const hostile[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
        "{\"jsonrpc\":\"2.0\",\"method\":null,\"params\":{\"requestId\":"
        "\"a/b\",\"x\":\"notifications/cancelled\"}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
        "\"params\":[\"a/b\"]}",
        "[{\"method\":null,\"id\":2},{\"method\":{\"notifications/"
        "cancelled\":1}}]",
        "notifications/cancelled \"result\" not json",
    };
    int init, requests;

    /* the method is read only when it is a string */
    classify_text(hostile[0], &init, &requests);
    CU_ASSERT_TRUE(requests); /* an id without a result: it gets -32600 */
    CU_ASSERT_FALSE(init);
    classify_text(hostile[4], &init, &requests);
    CU_ASSERT_TRUE(requests);
    CU_ASSERT_FALSE(init);
    classify_text("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                  "\"initialize\"}]",
                  &init, &requests);
    CU_ASSERT_TRUE(init && requests);
    classify_text("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", &init,
                  &requests);
    CU_ASSERT_FALSE(init || requests);

    /* a running request with the string id "a/b" */
    memset(&sess.inflight[0], 0, sizeof(sess.inflight[0]));
    sess.inflight[0].used = 1;
    snprintf(sess.inflight[0].id, sizeof(sess.inflight[0].id), "\"a/b\"");
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        int taken =
            mcp_session_intercept(&sess, hostile[i], strlen(hostile[i]));
        /* only the well-formed cancel with bad params is taken (and does
         * nothing); nothing here cancels "a/b" */
        CU_ASSERT_EQUAL(taken, i == 3);
        CU_ASSERT_EQUAL(atomic_load(&sess.inflight[0].cancel), 0);
    }
    const char cancel[] = "{\"jsonrpc\":\"2.0\",\"method\":"
                          "\"notifications/cancelled\",\"params\":{"
                          "\"requestId\":\"a/b\"}}";
    CU_ASSERT_EQUAL(mcp_session_intercept(&sess, cancel, strlen(cancel)), 1);
    CU_ASSERT_EQUAL(atomic_load(&sess.inflight[0].cancel), 1);
    sess.inflight[0].used = 0;
    /* the engine answers the hostile requests with -32600, id kept */
    json_object *m = send_msg(hostile[0]);
    CU_ASSERT_EQUAL(error_code(m), -32600);
    CU_ASSERT_EQUAL(tl_int_at(m, "id"), 1);
}

static void
test_utf8_and_id_range(void)
{
    /* a method with a byte that is not UTF-8: a parse error, and the answer
     * is valid JSON with no such byte */
    json_object *m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                              "\"tools/\xff\xfe\"}");
    CU_ASSERT_EQUAL(error_code(m), -32700);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\","
                 "\"params\":{\"x\":\"\xc3\x28\"}}");
    CU_ASSERT_EQUAL(error_code(m), -32700);
    /* valid multi-byte UTF-8 is fine */
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":\"\xc3\xa9\xe2\x82\xac\","
                 "\"method\":\"ping\"}");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "id"), "\xc3\xa9\xe2\x82\xac");
    /* ids beyond 64 bits are refused, never echoed as another number */
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":1000000000000000000000000000000,"
                 "\"method\":\"ping\"}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    CU_ASSERT_PTR_NULL(tl_get_path(m, "id"));
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":-1000000000000000000000000000000,"
                 "\"method\":\"ping\"}");
    CU_ASSERT_EQUAL(error_code(m), -32600);
    m = send_msg("{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":"
                 "\"ping\"}");
    CU_ASSERT_EQUAL(tl_int_at(m, "id"), 9007199254740993LL);
}

static void
test_elicitation_capability_forms(void)
{
    send_msg("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":{\"elicitation\":{\"url\":{}}}}}");
    CU_ASSERT_FALSE(sess.client_elicitation); /* URL mode only */
    send_msg("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":{\"elicitation\":{\"form\":{}}}}}");
    CU_ASSERT_TRUE(sess.client_elicitation);
    send_msg("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":{\"elicitation\":true}}}");
    CU_ASSERT_FALSE(sess.client_elicitation);
    sess.client_elicitation = 0;
}

static CU_TestInfo engine_tests[] = {
    {"triage: non-string methods never crash; cancel of \"a/b\" matches",
     test_triage_hostile_and_slash_ids},
    {"elicitation capability: form mode only",
     test_elicitation_capability_forms},
    {"invalid UTF-8 is -32700; ids beyond 64 bits are -32600",
     test_utf8_and_id_range},
    {"parse errors are -32700 with a null id", test_parse_errors},
    {"invalid requests are -32600", test_invalid_requests},
    {"unknown method -32601, bad params -32602",
     test_unknown_method_and_params},
    {"notifications are never answered", test_notifications_get_no_answer},
    {"initialize negotiates the version", test_initialize},
    {"ping answers {}", test_ping},
    {"batches", test_batch},
    {"tools/list is complete and honest", test_tools_list},
    {"read-only hides and refuses order tools",
     test_read_only_hides_and_refuses},
    {"tools/call protocol and argument errors", test_tools_call_errors},
    {"tools/call success: structured + text", test_tools_call_success_shape},
    {"Binance errors become isError with code and msg",
     test_upstream_error_is_tool_error},
    {"progress notifications precede the response",
     test_progress_notifications},
    {"logging/setLevel filters notifications", test_logging_level},
    {"resources and prompts errors", test_resources_prompts_errors},
    {"completion of symbols", test_completion_symbols},
    {"credentials never leak", test_credentials_never_leak},
    {"server requests: answered, refused, timed out, capability",
     test_server_requests},
    {"initialize records client capabilities; no subscriptions",
     test_initialize_records_client_caps},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"engine", init_suite, clean_suite, NULL, NULL, engine_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
