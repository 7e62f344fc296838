/*
 * test_engine_alone.c - the MCP engine without binmcpd.
 *
 * This program is linked from the engine's sources (mcp.c, schema.c) and
 * the common ground they need (log.c, util.c), never from libbinmcpd.a:
 * that it links at all proves the engine knows no Binance or tool object.
 * It serves a tiny provider of its own (two tools, one resource error,
 * a per-session app slot) and checks what the engine owns: the required
 * provider, the protocol versions, the tool contract, the provider's
 * errors and texts, and the release of a session's app.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "mcp.h"
#include "mcp_subs.h"
#include "mcp_tool.h"
#include "testlib.h"

static json_object *last; /* the last message the engine sent */
static int apps_freed;

static int
keep_last(void *arg, const char *msg, size_t len)
{
    (void)arg;
    (void)len;
    json_object_put(last);
    last = json_tokener_parse(msg);
    return 0;
}

/* Sends text on s; returns the last message sent in answer (borrowed,
 * valid until the next send), or NULL. */
static json_object *
send_on(struct mcp_session *s, const char *text)
{
    json_object_put(last);
    last = NULL;
    mcp_handle_message(s, text, strlen(text));
    return last;
}

/* ---- the provider ---- */

/* remember: keeps text in the session's app slot, answers the previous. */
static int
tool_remember(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    json_object *v;
    char *prev = call->sess->app;

    if (!json_object_object_get_ex(args, "text", &v))
        return tool_fail(res, "no text");
    call->sess->app = strdup(json_object_get_string(v));
    if (call->sess->app == NULL) {
        call->sess->app = prev;
        return tool_fail(res, "out of memory");
    }
    res->data = json_object_new_object();
    json_object_object_add(res->data, "previous",
                           json_object_new_string(prev ? prev : ""));
    free(prev);
    return 0;
}

static int
tool_trade(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)call;
    (void)args;
    res->data = json_object_new_object();
    return 0;
}

static const struct tool_def rows[] = {
    {"remember", "Remember", "Keeps a text for the session.",
     "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
     "\"required\":[\"text\"]}",
     "{\"type\":\"object\",\"properties\":{\"previous\":{\"type\":"
     "\"string\"}}}",
     TOOL_IDEMPOTENT, tool_remember, NULL},
    {"trade", "Trade", "Moves money (for the read-only refusal).",
     "{\"type\":\"object\"}", NULL, TOOL_TRADING, tool_trade, NULL},
};

static size_t
row_count(void)
{
    return sizeof(rows) / sizeof(rows[0]);
}

static const struct tool_def *
row_at(size_t i)
{
    return i < row_count() ? &rows[i] : NULL;
}

static json_object *
empty_array(void)
{
    return json_object_new_array();
}

static json_object *
no_resource(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    (void)call;
    err->code = -32002;
    snprintf(err->message, sizeof(err->message), "no resource %s", uri);
    return NULL;
}

static json_object *
no_prompt(struct mcp_call *call, const char *name, json_object *args,
          struct mcp_error *err)
{
    (void)call;
    (void)args;
    err->code = -32602;
    snprintf(err->message, sizeof(err->message), "no prompt %s", name);
    return NULL;
}

static json_object *
no_completion(struct mcp_call *call, const char *ref_type, const char *ref_name,
              const char *arg_name, const char *prefix, struct mcp_error *err)
{
    (void)call;
    (void)ref_type;
    (void)ref_name;
    (void)arg_name;
    (void)prefix;
    err->code = -32602;
    snprintf(err->message, sizeof(err->message), "no completion");
    return NULL;
}

static void
app_free(void *app)
{
    apps_freed++;
    free(app);
}

/* The app (a string) saved as its bytes, and rebuilt from them. */
static long
app_save(const void *app, void *buf, size_t cap)
{
    size_t n = strlen(app);
    if (n > cap)
        return -1;
    memcpy(buf, app, n);
    return (long)n;
}

static void *
app_load(const void *buf, size_t len)
{
    return strndup(buf, len);
}

/* Subscriptions: tiny://a and tiny://b exist; each watch reads the
 * version of its resource from versions[]. */
static uint64_t versions[2];
static int watches_freed;

static void *
tiny_subscribe(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    static int which[2] = {0, 1};
    (void)call;
    if (strncmp(uri, "tiny://", 7) == 0 && (uri[7] == 'a' || uri[7] == 'b') &&
        (uri[8] == '\0' || isdigit((unsigned char)uri[8])))
        return &which[uri[7] - 'a'];
    err->code = -32002;
    snprintf(err->message, sizeof(err->message), "no resource %s", uri);
    return NULL;
}

static uint64_t
tiny_version(void *ctx, void *watch, int64_t now_ms)
{
    (void)ctx;
    (void)now_ms;
    return versions[*(int *)watch];
}

static void
tiny_watch_free(void *watch)
{
    (void)watch;
    watches_freed++;
}

static const struct mcp_provider tiny = {
    .name = "tiny",
    .title = "a tiny provider",
    .instructions = "Remember things.",
    .tool_count = row_count,
    .tool_at = row_at,
    .resources = empty_array,
    .resource_templates = empty_array,
    .read_resource = no_resource,
    .prompts = empty_array,
    .get_prompt = no_prompt,
    .complete = no_completion,
    .subscribe = tiny_subscribe,
    .watch_version = tiny_version,
    .watch_free = tiny_watch_free,
    .session_free = app_free,
    .session_save = app_save,
    .session_load = app_load,
};

/* ---- tests ---- */

static void
test_provider_required(void)
{
    struct mcp_options none = {.read_only = 0};
    CU_ASSERT_PTR_NULL(mcp_server_new(&none));
}

static void
test_versions(void)
{
    char buf[128];

    CU_ASSERT_STRING_EQUAL(mcp_version_at(0), MCP_LATEST_VERSION);
    CU_ASSERT_PTR_NULL(mcp_version_at(4));
    CU_ASSERT_TRUE(mcp_version_supported("2025-06-18"));
    CU_ASSERT_TRUE(mcp_version_supported("2024-11-05"));
    CU_ASSERT_FALSE(mcp_version_supported("2024-11-06"));
    CU_ASSERT_FALSE(mcp_version_supported(NULL));
    CU_ASSERT_STRING_EQUAL(mcp_versions_join(buf, sizeof(buf), "", ", "),
                           "2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05");
    CU_ASSERT_STRING_EQUAL(
        mcp_versions_join(buf, sizeof(buf), "\"", ","),
        "\"2025-11-25\",\"2025-06-18\",\"2025-03-26\",\"2024-11-05\"");
    /* truncated, never overrun */
    CU_ASSERT_STRING_EQUAL(mcp_versions_join(buf, 8, "", ", "), "2025-11");
}

static void
test_serves_its_provider(void)
{
    int ctx_marker = 0;
    struct mcp_options o = {.provider = &tiny, .provider_ctx = &ctx_marker};
    struct mcp_server *srv = mcp_server_new(&o);
    struct mcp_session s;
    json_object *m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    CU_ASSERT_PTR_EQUAL(mcp_server_provider(srv), &tiny);
    CU_ASSERT_PTR_EQUAL(mcp_server_provider_ctx(srv), &ctx_marker);
    mcp_session_init(&s, srv, "alone", keep_last, NULL);
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                    "\"params\":{\"protocolVersion\":\"2025-03-26\"}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.name"), "tiny");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.instructions"),
                           "Remember things.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           "2025-03-26");
    CU_ASSERT_FALSE(mcp_session_elicitation_mode(&s));

    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    CU_ASSERT_EQUAL(tl_len_at(m, "result.tools"), 2);

    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"remember\",\"arguments\":{"
                    "\"text\":\"one\"}}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.previous"),
                           "");
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"remember\",\"arguments\":{"
                    "\"text\":\"two\"}}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.previous"),
                           "one");
    /* the engine validates arguments against the row's schema */
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"remember\",\"arguments\":{}}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_PTR_NULL(
        strstr(tl_str_at(m, "result.content.0.text"), "no text"));

    /* the provider's error passes through as the JSON-RPC error */
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
                    "\"resources/read\",\"params\":{\"uri\":\"x://y\"}}");
    CU_ASSERT_EQUAL(json_object_get_int(tl_get_path(m, "error.code")), -32002);
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "error.message"), "no resource x://y");

    /* the session's app goes back to the provider when it finishes */
    apps_freed = 0;
    mcp_session_finish(&s);
    CU_ASSERT_EQUAL(apps_freed, 1);
    mcp_server_free(srv);
}

static void
test_read_only_default_texts(void)
{
    struct mcp_options o = {.provider = &tiny, .read_only = 1};
    struct mcp_server *srv = mcp_server_new(&o);
    struct mcp_session s;
    json_object *m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    mcp_session_init(&s, srv, "ro", keep_last, NULL);
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    CU_ASSERT_EQUAL(tl_len_at(m, "result.tools"), 1);
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"trade\"}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.content.0.text"),
                           "trade is disabled: this server is read-only.");
    /* no app was set: nothing to release */
    apps_freed = 0;
    mcp_session_finish(&s);
    CU_ASSERT_EQUAL(apps_freed, 0);
    mcp_server_free(srv);
}

/* What a session's takeover needs survives save and load into a fresh
 * session: version, capabilities, log level, the app; state_gen tells a
 * change; malformed or short bytes change nothing. */
static void
test_save_load(void)
{
    struct mcp_options o = {.provider = &tiny};
    struct mcp_server *srv = mcp_server_new(&o);
    struct mcp_session a, b;
    unsigned char buf[512];
    size_t len = 0;
    unsigned gen;
    json_object *m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    mcp_session_init(&a, srv, "a", keep_last, NULL);
    gen = a.state_gen;
    send_on(&a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                "\"params\":{\"protocolVersion\":\"2025-11-25\","
                "\"capabilities\":{\"sampling\":{},\"elicitation\":{}}}}");
    CU_ASSERT_NOT_EQUAL(a.state_gen, gen);
    gen = a.state_gen;
    send_on(&a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                "\"logging/setLevel\",\"params\":{\"level\":\"error\"}}");
    CU_ASSERT_NOT_EQUAL(a.state_gen, gen);
    send_on(&a, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                "\"params\":{\"name\":\"remember\",\"arguments\":{"
                "\"text\":\"kept\"}}}");
    CU_ASSERT_EQUAL(mcp_session_save(&a, buf, 8, &len), -1);
    CU_ASSERT_EQUAL(mcp_session_save(&a, buf, sizeof(buf), &len), 0);
    CU_ASSERT_TRUE(len > 4);

    mcp_session_init(&b, srv, "b", keep_last, NULL);
    CU_ASSERT_EQUAL(mcp_session_load(&b, buf, len - 1), -1);
    CU_ASSERT_EQUAL(b.initialized, 0);
    CU_ASSERT_PTR_NULL(b.app);
    CU_ASSERT_EQUAL(mcp_session_load(&b, buf, len), 0);
    CU_ASSERT_EQUAL(b.initialized, 1);
    CU_ASSERT_STRING_EQUAL(b.version, "2025-11-25");
    CU_ASSERT_EQUAL(b.log_level, MCP_LOG_ERROR);
    CU_ASSERT_EQUAL(b.client_sampling, 1);
    CU_ASSERT_EQUAL(b.client_elicitation, 1);
    CU_ASSERT_TRUE(mcp_session_elicitation_mode(&b));
    m = send_on(&b, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
                    "\"tools/call\",\"params\":{\"name\":\"remember\","
                    "\"arguments\":{\"text\":\"next\"}}}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.previous"),
                           "kept");
    buf[0] ^= 0xff; /* not the engine's */
    CU_ASSERT_EQUAL(mcp_session_load(&b, buf, len), -1);
    apps_freed = 0;
    mcp_session_finish(&a);
    mcp_session_finish(&b);
    CU_ASSERT_EQUAL(apps_freed, 2);
    mcp_server_free(srv);
}

/* The notifications a poll sent; fail_sends makes the send refuse. */
static char sent[8][256];
static int nsent, fail_sends;

static int
record_send(void *arg, const char *msg, size_t len)
{
    (void)arg;
    if (fail_sends)
        return -1;
    if (nsent < 8)
        snprintf(sent[nsent], sizeof(sent[0]), "%.*s", (int)len, msg);
    nsent++;
    return 0;
}

static int
poll_at(struct mcp_session *s, int64_t t)
{
    nsent = 0;
    return mcp_session_poll_subscriptions(s, t, 1000, record_send, NULL);
}

static void
test_subscriptions(void)
{
    struct mcp_options off = {.provider = &tiny};
    struct mcp_options on = {.provider = &tiny, .subscriptions = 1};
    struct mcp_server *srv = mcp_server_new(&off);
    struct mcp_session s;
    json_object *m;

    /* not offered unless asked for */
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    mcp_session_init(&s, srv, "subs-off", keep_last, NULL);
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                    "\"params\":{\"protocolVersion\":\"2025-06-18\"}}");
    CU_ASSERT_FALSE(tl_bool_at(m, "result.capabilities.resources.subscribe"));
    m = send_on(&s,
                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                "\"resources/subscribe\",\"params\":{\"uri\":\"tiny://a\"}}");
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32601);
    mcp_session_finish(&s);
    mcp_server_free(srv);

    srv = mcp_server_new(&on);
    CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
    CU_ASSERT_TRUE(mcp_server_subscriptions(srv));
    mcp_session_init(&s, srv, "subs-on", keep_last, NULL);
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                    "\"params\":{\"protocolVersion\":\"2025-06-18\"}}");
    CU_ASSERT_TRUE(tl_bool_at(m, "result.capabilities.resources.subscribe"));
    m = send_on(&s,
                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                "\"resources/subscribe\",\"params\":{\"uri\":\"tiny://z\"}}");
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32002);
    m = send_on(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                    "\"resources/subscribe\",\"params\":{\"uri\":7}}");
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32602);
    m = send_on(&s,
                "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
                "\"resources/subscribe\",\"params\":{\"uri\":\"tiny://a\"}}");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    CU_ASSERT_EQUAL(mcp_session_subscriptions(&s), 1);

    /* nothing changed: nothing sent */
    CU_ASSERT_EQUAL(poll_at(&s, 10000), 0);
    /* a change: announced at once */
    versions[0]++;
    CU_ASSERT_EQUAL(poll_at(&s, 10000), 1);
    CU_ASSERT_STRING_EQUAL(
        sent[0], "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                 "resources/updated\",\"params\":{\"uri\":\"tiny://a\"}}");
    /* three more changes within the interval: one update, when it ends */
    versions[0] += 3;
    CU_ASSERT_EQUAL(poll_at(&s, 10400), 0);
    CU_ASSERT_EQUAL(poll_at(&s, 10999), 0);
    CU_ASSERT_EQUAL(poll_at(&s, 11000), 1);
    CU_ASSERT_EQUAL(poll_at(&s, 15000), 0);
    /* a send that fails leaves the update due */
    versions[0]++;
    fail_sends = 1;
    CU_ASSERT_EQUAL(poll_at(&s, 16000), 0);
    fail_sends = 0;
    CU_ASSERT_EQUAL(poll_at(&s, 16025), 1);
    /* another resource is its own */
    m = send_on(&s,
                "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
                "\"resources/subscribe\",\"params\":{\"uri\":\"tiny://b\"}}");
    versions[1]++;
    versions[0]++;
    CU_ASSERT_EQUAL(poll_at(&s, 16100), 1); /* b now, a at 17025 */
    CU_ASSERT_PTR_NOT_NULL(strstr(sent[0], "\"tiny://b\""));
    CU_ASSERT_EQUAL(poll_at(&s, 17025), 1);

    /* kept for a takeover: a new session subscribed to the same */
    unsigned char buf[1024];
    size_t len = 0;
    struct mcp_session b;
    CU_ASSERT_EQUAL(mcp_session_save(&s, buf, sizeof(buf), &len), 0);
    mcp_session_init(&b, srv, "subs-taken", keep_last, NULL);
    CU_ASSERT_EQUAL(mcp_session_load(&b, buf, len), 0);
    CU_ASSERT_EQUAL(mcp_session_subscriptions(&b), 2);
    versions[1]++;
    CU_ASSERT_EQUAL(poll_at(&b, 20000), 1);
    buf[len - 1] = 'x'; /* a URI without its NUL */
    CU_ASSERT_EQUAL(mcp_session_load(&b, buf, len), -1);

    /* unsubscribe: no more updates; the watch is released */
    CU_ASSERT_EQUAL(poll_at(&s, 25000), 1); /* b's change, seen by s too */
    watches_freed = 0;
    m = send_on(&s,
                "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
                "\"resources/unsubscribe\",\"params\":{\"uri\":\"tiny://a\"}}");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    CU_ASSERT_EQUAL(watches_freed, 1);
    versions[0]++;
    CU_ASSERT_EQUAL(poll_at(&s, 30000), 0);
    m = send_on(&s,
                "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":"
                "\"resources/unsubscribe\",\"params\":{\"uri\":\"tiny://a\"}}");
    CU_ASSERT_PTR_NOT_NULL(
        tl_get_path(m, "result")); /* not subscribed: no error */

    /* at most MCP_SUBS_MAX per session */
    char msg[256];
    int refused = 0;
    for (int i = 0; i < MCP_SUBS_MAX + 1; i++) {
        snprintf(msg, sizeof(msg),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                 "\"resources/subscribe\",\"params\":{\"uri\":\"tiny://a%d\"}}",
                 100 + i, i);
        m = send_on(&s, msg);
        refused += tl_int_at(m, "error.code") == -32602;
    }
    CU_ASSERT_EQUAL(refused, 2); /* tiny://b is one of the 32 */
    CU_ASSERT_EQUAL(mcp_session_subscriptions(&s), MCP_SUBS_MAX);
    watches_freed = 0;
    mcp_session_finish(&s);
    mcp_session_finish(&b);
    CU_ASSERT_EQUAL(watches_freed, MCP_SUBS_MAX + 2);
    mcp_server_free(srv);
}

static CU_TestInfo alone_tests[] = {
    {"a server needs a provider", test_provider_required},
    {"one list of protocol versions", test_versions},
    {"serves its provider's tools, errors and app slot",
     test_serves_its_provider},
    {"read-only: trading rows hidden and refused",
     test_read_only_default_texts},
    {"a session's state saved and loaded for a takeover", test_save_load},
    {"resource subscriptions: coalesced, kept, bounded", test_subscriptions},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"engine alone", NULL, NULL, NULL, NULL, alone_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    int rc = testlib_run(suites);
    json_object_put(last);
    return rc;
}
