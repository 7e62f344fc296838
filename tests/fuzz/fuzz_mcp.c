/*
 * fuzz_mcp.c - libFuzzer harness of the JSON-RPC engine's input: every
 * message a client can send reaches mcp_session_intercept,
 * mcp_message_classify, mcp_message_method, mcp_is_response and
 * mcp_handle_message, as a transport hands them over.
 *
 * Input: one or more messages separated by '\n' (at most FUZZ_MAX_MSGS),
 * run in order on a fresh session, so that a sequence (initialize,
 * logging/setLevel, tools/call, ...) can reach the states it builds. A
 * first line "#ro" runs them on a read-only server instead, "#cap" on one
 * whose tool results are capped at FUZZ_RESULT_CAP bytes.
 *
 * The server is built as tests/test_mcp.c builds one, but with a provider
 * that never reaches Binance: the tools are binmcpd's own rows (names,
 * input schemas, flags), so tools/list and the argument validation of
 * tools/call are the real ones, each with a handler that echoes its
 * arguments; a few extra tools fail, return content blocks or send
 * progress and log notifications. Resources, prompts, completion and
 * subscriptions are the conformance fixtures' (tests/conformance_fixtures.c),
 * which are stateless and never block. The Binance client points at a
 * closed port (127.0.0.1:9, 50 ms) in case anything tried anyway.
 *
 * The sink discards what the engine sends, after checking what every
 * transport relies on: one line, an object or a batch, per message (with
 * FUZZ_VERBOSE in the environment it prints them, to read a crash input).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bnc.h"
#include "catalog.h"
#include "conformance_fixtures.h"
#include "fuzzlib.h"
#include "mcp.h"
#include "tools.h"

#define FUZZ_MAX_MSGS   16
#define FUZZ_RESULT_CAP 512 /* max_result_bytes of the "#cap" server */

static struct tool_def *mirror; /* binmcpd's rows, then the extra tools */
static size_t nmirror;
static struct mcp_server *srv, *srv_ro, *srv_cap;
static int verbose; /* FUZZ_VERBOSE set: print what the engine sends */

/* The transport's side: what it sends must be one line holding a JSON
 * object or array (json-c serialized it, so it is JSON). */
static int
discard_sink(void *arg, const char *msg, size_t len)
{
    (void)arg;
    if (memchr(msg, '\n', len) != NULL || strlen(msg) != len ||
        (msg[0] != '{' && msg[0] != '['))
        abort(); /* stdio frames by lines; SSE data lines too */
    if (verbose)
        fprintf(stderr, "<- %s\n", msg);
    return 0;
}

/* ---- the tools: binmcpd's rows with harmless handlers ---- */

/* Success: the validated arguments, copied. */
static int
echo_tool(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    json_object *copy = NULL;

    (void)call;
    if (json_object_deep_copy(args, &copy, NULL) < 0)
        return tool_fail(res, "out of memory");
    res->data = copy;
    return 0;
}

static int
fail_tool(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)call;
    return tool_fail(
        res, "refused: %s",
        json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
}

/* Content blocks instead of structuredContent; a text of the arguments. */
static int
content_tool(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    json_object *arr = json_object_new_array(), *block;

    (void)call;
    block = json_object_new_object();
    json_object_object_add(block, "type", json_object_new_string("text"));
    json_object_object_add(
        block, "text",
        json_object_new_string(
            json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN)));
    json_object_array_add(arr, block);
    res->content = arr;
    return 0;
}

/* Notifications on the way: progress (when asked for) and log lines at
 * every level (the session's threshold filters them). */
static int
notify_tool(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    const char *text =
        json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN);

    mcp_call_progress(call, 1, 2, text);
    for (int l = MCP_LOG_DEBUG; l <= MCP_LOG_EMERGENCY; l++)
        mcp_call_log(call, (enum mcp_log_level)l, "fuzz", "%s", text);
    mcp_call_progress(call, 2, 2, NULL);
    return echo_tool(call, args, res);
}

static const struct tool_def extra_tools[] = {
    {"fuzz_fail", "Fails", "Always fails.",
     "{\"type\":\"object\",\"properties\":{\"why\":{\"type\":\"string\"}}}",
     NULL, TOOL_READ_ONLY, fail_tool},
    {"fuzz_content", "Content", "Content blocks.",
     "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
     "\"minimum\":0,\"maximum\":9}}}",
     NULL, TOOL_READ_ONLY, content_tool},
    {"fuzz_notify", "Notifications", "Progress and log lines.",
     "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
     "\"maxLength\":64}}}",
     NULL, TOOL_READ_ONLY, notify_tool},
};

static size_t
mirror_count(void)
{
    return nmirror;
}

static const struct tool_def *
mirror_at(size_t i)
{
    return i < nmirror ? &mirror[i] : NULL;
}

static void
mirror_build(void)
{
    size_t nreal = tool_count();
    size_t nextra = sizeof(extra_tools) / sizeof(extra_tools[0]);

    mirror = calloc(nreal + nextra, sizeof(*mirror));
    if (mirror == NULL)
        abort();
    for (size_t i = 0; i < nreal; i++) {
        mirror[i] = *tool_at(i);
        mirror[i].handler = echo_tool;
        /* The real output schemas describe Binance's answers, which an
         * echo does not match; the engine only lists them. */
    }
    for (size_t i = 0; i < nextra; i++)
        mirror[nreal + i] = extra_tools[i];
    nmirror = nreal + nextra;
}

/* ---- the rest: the conformance fixtures ---- */

static json_object *
fx_resources(void)
{
    return conformance_provider.resources();
}

static json_object *
fx_templates(void)
{
    return conformance_provider.resource_templates();
}

static json_object *
fx_read(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    return conformance_provider.read_resource(call, uri, err);
}

static json_object *
fx_prompts(void)
{
    return conformance_provider.prompts();
}

static json_object *
fx_get_prompt(struct mcp_call *call, const char *name, json_object *args,
              struct mcp_error *err)
{
    return conformance_provider.get_prompt(call, name, args, err);
}

static json_object *
fx_complete(struct mcp_call *call, const char *ref_type, const char *ref_name,
            const char *arg_name, const char *prefix, struct mcp_error *err)
{
    return conformance_provider.complete(call, ref_type, ref_name, arg_name,
                                         prefix, err);
}

static void *
fx_subscribe(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    return conformance_provider.subscribe(call, uri, err);
}

static uint64_t
fx_watch_version(void *provider_ctx, void *watch, int64_t now_ms)
{
    return conformance_provider.watch_version(provider_ctx, watch, now_ms);
}

static const struct mcp_provider fuzz_provider = {
    .name = "binmcpd-fuzz",
    .title = "binmcpd fuzzing provider",
    .instructions = "binmcpd's tool rows with echo handlers.",
    .tool_count = mirror_count,
    .tool_at = mirror_at,
    .resources = fx_resources,
    .resource_templates = fx_templates,
    .read_resource = fx_read,
    .prompts = fx_prompts,
    .get_prompt = fx_get_prompt,
    .complete = fx_complete,
    .subscribe = fx_subscribe,
    .watch_version = fx_watch_version,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct bnc_config bc;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    bnc_config_defaults(&bc);
    snprintf(bc.mainnet_url, sizeof(bc.mainnet_url), "http://127.0.0.1:9");
    snprintf(bc.testnet_url, sizeof(bc.testnet_url), "http://127.0.0.1:9");
    bc.timeout_ms = 50;
    if (bnc_init(&bc) < 0)
        abort();
    mirror_build();
    struct mcp_options o = {.provider = &fuzz_provider};
    srv = mcp_server_new(&o);
    o.read_only = 1;
    srv_ro = mcp_server_new(&o);
    o.read_only = 0;
    o.max_result_bytes = FUZZ_RESULT_CAP;
    srv_cap = mcp_server_new(&o);
    if (srv == NULL || srv_ro == NULL || srv_cap == NULL)
        abort();
    return 0;
}

/* What a transport does with one message before and while it runs it. */
static void
one_message(struct mcp_session *s, const char *msg, size_t len)
{
    json_object *o = fuzz_json((const uint8_t *)msg, len);
    int init = -1, requests = -1;

    mcp_message_classify(o, &init, &requests);
    if ((init != 0 && init != 1) || (requests != 0 && requests != 1))
        abort();
    if (init && !requests)
        abort(); /* an initialize is a request */
    (void)mcp_message_method(o);
    if (json_object_is_type(o, json_type_array))
        for (size_t i = 0; i < json_object_array_length(o); i++)
            (void)mcp_message_method(json_object_array_get_idx(o, i));
    json_object_put(o);
    (void)mcp_is_response(msg, len);
    if (mcp_session_intercept(s, msg, len) == 1)
        return; /* a cancellation or a response: the transport drops it */
    mcp_handle_message(s, msg, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mcp_session sess;
    struct mcp_server *server = srv;
    const char *p = (const char *)data, *end = p + size;
    int n = 0;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (size >= 4 && memcmp(p, "#ro\n", 4) == 0) {
        server = srv_ro;
        p += 4;
    } else if (size >= 5 && memcmp(p, "#cap\n", 5) == 0) {
        server = srv_cap;
        p += 5;
    }
    mcp_session_init(&sess, server, "fuzz", discard_sink, NULL);
    while (p < end && n < FUZZ_MAX_MSGS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        /* A copy of exactly len bytes, so that ASan sees any overread. */
        char *msg = malloc(len > 0 ? len : 1);
        if (msg == NULL)
            abort();
        memcpy(msg, p, len);
        one_message(&sess, msg, len);
        free(msg);
        n++;
        p += len + (nl != NULL);
    }
    mcp_session_finish(&sess);
    return 0;
}
