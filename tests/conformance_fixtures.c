/*
 * conformance_fixtures.c - the tools, resources, prompts and completions
 * the MCP conformance suite expects (see conformance_fixtures.h). The
 * expected shapes come from the scenario checks of
 * @modelcontextprotocol/conformance 0.1.16 and its reference server.
 *
 * Tools answer through tool_result.content (content blocks), never with
 * structuredContent: none of them has an output schema.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conformance_fixtures.h"
#include "mcp_tool.h"

#define FX_STEP_MS         50    /* between log and progress notifications */
#define FX_CLIENT_WAIT_MS  30000 /* sampling and elicitation answers */
#define FX_TEXT_MAX        2048
#define FX_COMPLETE_MAX    100
#define FX_TEMPLATE        "test://template/{id}/data"
#define FX_TEMPLATE_PREFIX "test://template/"
#define FX_TEMPLATE_SUFFIX "/data"
#define FX_ID_MAX          64

/* A 1x1 red PNG and a 16-sample silent 8 kHz 8-bit mono WAV. */
#define FX_PNG_BASE64                                                          \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ" \
    "/pLvAAAAAElFTkSuQmCC"
#define FX_WAV_BASE64                                                          \
    "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YRAAAACAgICAgICAgICA" \
    "gICAgICA"

/* The string argument key of args, or NULL when absent or not a string. */
static const char *
arg_str(json_object *args, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* ---- content blocks ---- */

/* A new {"type":"text","text":text}. */
static json_object *
text_block(const char *text)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    json_object_object_add(o, "type", json_object_new_string("text"));
    json_object_object_add(o, "text", json_object_new_string(text));
    return o;
}

/* A new image or audio block (type "image" or "audio"). */
static json_object *
media_block(const char *type, const char *data, const char *mime)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "data", json_object_new_string(data));
    json_object_object_add(o, "mimeType", json_object_new_string(mime));
    return o;
}

/* A new embedded text resource block. */
static json_object *
resource_block(const char *uri, const char *mime, const char *text)
{
    json_object *o = json_object_new_object();
    json_object *r = json_object_new_object();

    if (o == NULL || r == NULL) {
        json_object_put(o);
        json_object_put(r);
        return NULL;
    }
    json_object_object_add(r, "uri", json_object_new_string(uri));
    json_object_object_add(r, "mimeType", json_object_new_string(mime));
    json_object_object_add(r, "text", json_object_new_string(text));
    json_object_object_add(o, "type", json_object_new_string("resource"));
    json_object_object_add(o, "resource", r);
    return o;
}

/* Makes res->content an array of the n blocks given (their references pass
 * to it). Returns 0, or -1 after tool_fail when one of them is NULL. */
static int
set_content(struct tool_result *res, size_t n, ...)
{
    json_object *arr = json_object_new_array();
    int missing = arr == NULL;
    va_list ap;

    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        json_object *b = va_arg(ap, json_object *);
        if (b == NULL || arr == NULL)
            missing = 1;
        if (b != NULL && arr != NULL)
            json_object_array_add(arr, b);
        else
            json_object_put(b);
    }
    va_end(ap);
    if (missing) {
        json_object_put(arr);
        return tool_fail(res, "out of memory");
    }
    res->content = arr;
    return 0;
}

/* A result made of one text block. */
static int
reply_text(struct tool_result *res, const char *text)
{
    return set_content(res, 1, text_block(text));
}

/* ---- helpers for the tools that take their time ---- */

static int
cancelled(const struct mcp_call *call)
{
    return call->cancel != NULL && atomic_load(call->cancel);
}

/* Sleeps ms milliseconds (nanosleep, resumed after a signal). */
static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Sends method to the client with params (borrowed) built from the JSON
 * text params_json plus, when key is not NULL, params[key] = value. On
 * success returns the client's result (new reference); on failure NULL
 * after tool_fail. */
static json_object *
ask_client(struct mcp_call *call, struct tool_result *res, const char *method,
           const char *cap, const char *params_json, const char *key,
           const char *value)
{
    json_object *params = json_tokener_parse(params_json);
    json_object *result = NULL;
    char err[512];

    if (params == NULL) {
        tool_fail(res, "fixture bug: the %s parameters are not JSON", method);
        return NULL;
    }
    if (key != NULL)
        json_object_object_add(params, key, json_object_new_string(value));
    if (mcp_call_request(call, method, params, cap, FX_CLIENT_WAIT_MS, &result,
                         err, sizeof(err)) < 0) {
        json_object_put(params);
        tool_fail(res, "%s failed: %s", method, err);
        return NULL;
    }
    json_object_put(params);
    return result;
}

/* The text an elicitation tool returns: "<prefix>action=..., content=...". */
static int
reply_elicitation(struct tool_result *res, const char *prefix,
                  json_object *result)
{
    json_object *action = NULL, *content = NULL;
    char text[FX_TEXT_MAX];

    json_object_object_get_ex(result, "action", &action);
    json_object_object_get_ex(result, "content", &content);
    snprintf(text, sizeof(text), "%saction=%s, content=%s", prefix,
             action != NULL ? json_object_get_string(action) : "(none)",
             content != NULL ? json_object_to_json_string_ext(
                                   content, JSON_C_TO_STRING_PLAIN)
                             : "{}");
    return reply_text(res, text);
}

/* ---- the tools ---- */

static int
simple_text(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)call;
    (void)args;
    return reply_text(res, "This is a simple text response for testing.");
}

static int
image_content(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)call;
    (void)args;
    return set_content(res, 1,
                       media_block("image", FX_PNG_BASE64, "image/png"));
}

static int
audio_content(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)call;
    (void)args;
    return set_content(res, 1,
                       media_block("audio", FX_WAV_BASE64, "audio/wav"));
}

static int
embedded_resource(struct mcp_call *call, json_object *args,
                  struct tool_result *res)
{
    (void)call;
    (void)args;
    return set_content(res, 1,
                       resource_block("test://embedded-resource", "text/plain",
                                      "This is an embedded resource "
                                      "content."));
}

static int
multiple_content_types(struct mcp_call *call, json_object *args,
                       struct tool_result *res)
{
    (void)call;
    (void)args;
    return set_content(res, 3, text_block("Multiple content types test:"),
                       media_block("image", FX_PNG_BASE64, "image/png"),
                       resource_block("test://mixed-content-resource",
                                      "application/json",
                                      "{\"test\":\"data\",\"value\":123}"));
}

static int
tool_with_logging(struct mcp_call *call, json_object *args,
                  struct tool_result *res)
{
    static const char *const steps[] = {"Tool execution started",
                                        "Tool processing data",
                                        "Tool execution completed"};

    (void)args;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (i > 0)
            sleep_ms(FX_STEP_MS);
        if (cancelled(call))
            return tool_fail(res, "cancelled");
        mcp_call_log(call, MCP_LOG_INFO, "conformance", "%s", steps[i]);
    }
    return reply_text(res, "Tool with logging executed successfully");
}

static int
tool_with_progress(struct mcp_call *call, json_object *args,
                   struct tool_result *res)
{
    static const double steps[] = {0, 50, 100};

    (void)args;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (i > 0)
            sleep_ms(FX_STEP_MS);
        if (cancelled(call))
            return tool_fail(res, "cancelled");
        mcp_call_progress(call, steps[i], 100, NULL);
    }
    return reply_text(res, "Tool with progress executed successfully");
}

static int
error_handling(struct mcp_call *call, json_object *args,
               struct tool_result *res)
{
    (void)call;
    (void)args;
    return tool_fail(res, "This tool intentionally returns an error for "
                          "testing");
}

/* The text of a CreateMessageResult: content is a block or (2025-11-25,
 * tool use) an array of blocks; the first text block counts. */
static const char *
sampled_text(json_object *result)
{
    json_object *content = NULL, *text = NULL;

    if (!json_object_object_get_ex(result, "content", &content))
        return NULL;
    if (json_object_is_type(content, json_type_array)) {
        size_t n = json_object_array_length(content);
        for (size_t i = 0; i < n; i++) {
            json_object *b = json_object_array_get_idx(content, i);
            if (json_object_object_get_ex(b, "text", &text) &&
                json_object_is_type(text, json_type_string))
                return json_object_get_string(text);
        }
        return NULL;
    }
    if (json_object_object_get_ex(content, "text", &text) &&
        json_object_is_type(text, json_type_string))
        return json_object_get_string(text);
    return NULL;
}

static int
sampling(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    json_object *params, *msg, *content, *messages, *result, *prompt;
    char text[FX_TEXT_MAX];
    const char *answer;
    int rc;

    if (!json_object_object_get_ex(args, "prompt", &prompt))
        return tool_fail(res, "missing argument 'prompt'");
    params = json_object_new_object();
    msg = json_object_new_object();
    content = json_object_new_object();
    messages = json_object_new_array();
    if (params == NULL || msg == NULL || content == NULL || messages == NULL) {
        json_object_put(params);
        json_object_put(msg);
        json_object_put(content);
        json_object_put(messages);
        return tool_fail(res, "out of memory");
    }
    json_object_object_add(content, "type", json_object_new_string("text"));
    json_object_object_add(content, "text", json_object_get(prompt));
    json_object_object_add(msg, "role", json_object_new_string("user"));
    json_object_object_add(msg, "content", content);
    json_object_array_add(messages, msg);
    json_object_object_add(params, "messages", messages);
    json_object_object_add(params, "maxTokens", json_object_new_int(100));
    rc = mcp_call_request(call, "sampling/createMessage", params, "sampling",
                          FX_CLIENT_WAIT_MS, &result, text, sizeof(text));
    json_object_put(params);
    if (rc < 0)
        return tool_fail(res, "sampling/createMessage failed: %s", text);
    answer = sampled_text(result);
    snprintf(text, sizeof(text), "LLM response: %s",
             answer != NULL ? answer : "(no text)");
    json_object_put(result);
    return reply_text(res, text);
}

static int
elicitation(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    static const char schema[] =
        "{\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
        "\"username\":{\"type\":\"string\","
        "\"description\":\"User's response\"},"
        "\"email\":{\"type\":\"string\","
        "\"description\":\"User's email address\"}},"
        "\"required\":[\"username\",\"email\"]}}";
    const char *message = arg_str(args, "message");
    json_object *result;
    int rc;

    if (message == NULL)
        return tool_fail(res, "missing argument 'message'");
    result = ask_client(call, res, "elicitation/create", "elicitation", schema,
                        "message", message);
    if (result == NULL)
        return -1;
    rc = reply_elicitation(res, "User response: ", result);
    json_object_put(result);
    return rc;
}

static int
elicitation_sep1034_defaults(struct mcp_call *call, json_object *args,
                             struct tool_result *res)
{
    static const char params[] =
        "{\"message\":\"Please review and update the form fields with "
        "defaults\",\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
        "\"name\":{\"type\":\"string\",\"description\":\"User name\","
        "\"default\":\"John Doe\"},"
        "\"age\":{\"type\":\"integer\",\"description\":\"User age\","
        "\"default\":30},"
        "\"score\":{\"type\":\"number\",\"description\":\"User score\","
        "\"default\":95.5},"
        "\"status\":{\"type\":\"string\",\"description\":\"User status\","
        "\"enum\":[\"active\",\"inactive\",\"pending\"],"
        "\"default\":\"active\"},"
        "\"verified\":{\"type\":\"boolean\",\"description\":"
        "\"Verification status\",\"default\":true}},"
        "\"required\":[]}}";
    json_object *result;
    int rc;

    (void)args;
    result = ask_client(call, res, "elicitation/create", "elicitation", params,
                        NULL, NULL);
    if (result == NULL)
        return -1;
    rc = reply_elicitation(res, "Elicitation completed: ", result);
    json_object_put(result);
    return rc;
}

static int
elicitation_sep1330_enums(struct mcp_call *call, json_object *args,
                          struct tool_result *res)
{
    static const char params[] =
        "{\"message\":\"Please select options from the enum fields\","
        "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
        "\"untitledSingle\":{\"type\":\"string\","
        "\"description\":\"Select one option\","
        "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
        "\"titledSingle\":{\"type\":\"string\","
        "\"description\":\"Select one option with titles\",\"oneOf\":["
        "{\"const\":\"value1\",\"title\":\"First Option\"},"
        "{\"const\":\"value2\",\"title\":\"Second Option\"},"
        "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
        "\"legacyEnum\":{\"type\":\"string\","
        "\"description\":\"Select one option (legacy)\","
        "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
        "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
        "\"untitledMulti\":{\"type\":\"array\","
        "\"description\":\"Select multiple options\",\"minItems\":1,"
        "\"items\":{\"type\":\"string\","
        "\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
        "\"titledMulti\":{\"type\":\"array\","
        "\"description\":\"Select multiple options with titles\","
        "\"minItems\":1,\"items\":{\"anyOf\":["
        "{\"const\":\"value1\",\"title\":\"First Choice\"},"
        "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
        "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}},"
        "\"required\":[]}}";
    json_object *result;
    int rc;

    (void)args;
    result = ask_client(call, res, "elicitation/create", "elicitation", params,
                        NULL, NULL);
    if (result == NULL)
        return -1;
    rc = reply_elicitation(res, "Elicitation completed: ", result);
    json_object_put(result);
    return rc;
}

static int
dynamic_tool(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)call;
    (void)args;
    return reply_text(res, "This is a dynamic tool response.");
}

/* SEP-1699 wants the server to close the SSE stream before the result and
 * the client to resume with Last-Event-ID; a tool cannot close its stream,
 * so this one only takes a moment and answers. */
static int
reconnection(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    (void)args;
    sleep_ms(FX_STEP_MS);
    if (cancelled(call))
        return tool_fail(res, "cancelled");
    return reply_text(res, "Reconnection test completed successfully.");
}

static int
json_schema_2020_12(struct mcp_call *call, json_object *args,
                    struct tool_result *res)
{
    char text[FX_TEXT_MAX];

    (void)call;
    snprintf(text, sizeof(text), "Received: %s",
             json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
    return reply_text(res, text);
}

/* clang-format off */
#define FX_NO_ARGS "{\"type\":\"object\",\"additionalProperties\":false}"
#define FX_ONE_STRING(name, desc)                                              \
    "{\"type\":\"object\",\"properties\":{\"" name "\":{\"type\":\"string\","  \
    "\"description\":\"" desc "\"}},\"required\":[\"" name "\"],"               \
    "\"additionalProperties\":false}"
#define FX_RO (TOOL_READ_ONLY | TOOL_IDEMPOTENT)

static const struct tool_def fx_tools[] = {
    {"test_simple_text", "Simple text",
     "Returns a simple text content block.", FX_NO_ARGS, NULL, FX_RO,
     simple_text, NULL},
    {"test_image_content", "Image content",
     "Returns a 1x1 PNG image content block.", FX_NO_ARGS, NULL, FX_RO,
     image_content, NULL},
    {"test_audio_content", "Audio content",
     "Returns a short WAV audio content block.", FX_NO_ARGS, NULL, FX_RO,
     audio_content, NULL},
    {"test_embedded_resource", "Embedded resource",
     "Returns an embedded text resource.", FX_NO_ARGS, NULL, FX_RO,
     embedded_resource, NULL},
    {"test_multiple_content_types", "Multiple content types",
     "Returns text, image and embedded resource content blocks.", FX_NO_ARGS,
     NULL, FX_RO, multiple_content_types, NULL},
    {"test_tool_with_logging", "Tool with logging",
     "Sends three info log notifications, 50 ms apart, then answers.",
     FX_NO_ARGS, NULL, FX_RO, tool_with_logging, NULL},
    {"test_tool_with_progress", "Tool with progress",
     "Reports progress 0, 50 and 100 of 100, 50 ms apart, when the caller "
     "sent a progress token.", FX_NO_ARGS, NULL, FX_RO, tool_with_progress, NULL},
    {"test_error_handling", "Error handling",
     "Always fails with a tool error (isError).", FX_NO_ARGS, NULL, FX_RO,
     error_handling, NULL},
    {"test_sampling", "Sampling",
     "Asks the client's LLM to answer a prompt (sampling/createMessage) and "
     "returns its answer.",
     FX_ONE_STRING("prompt", "The prompt to send to the LLM"), NULL, FX_RO,
     sampling, NULL},
    {"test_elicitation", "Elicitation",
     "Asks the user for a username and an email (elicitation/create) and "
     "returns the answer.",
     FX_ONE_STRING("message", "The message to show the user"), NULL, FX_RO,
     elicitation, NULL},
    {"test_elicitation_sep1034_defaults", "Elicitation with defaults",
     "Elicits a form whose string, integer, number, enum and boolean fields "
     "have default values (SEP-1034).", FX_NO_ARGS, NULL, FX_RO,
     elicitation_sep1034_defaults, NULL},
    {"test_elicitation_sep1330_enums", "Elicitation with enums",
     "Elicits a form with the five enum forms of SEP-1330.", FX_NO_ARGS, NULL,
     FX_RO, elicitation_sep1330_enums, NULL},
    {"test_dynamic_tool", "Dynamic tool",
     "A tool that could be added or removed at run time.", FX_NO_ARGS, NULL,
     FX_RO, dynamic_tool, NULL},
    {"test_reconnection", "Reconnection",
     "Answers after a short pause (SSE polling test, SEP-1699).", FX_NO_ARGS,
     NULL, FX_RO, reconnection, NULL},
    {"json_schema_2020_12_tool", "JSON Schema 2020-12",
     "Tool with JSON Schema 2020-12 features ($schema, $defs, $ref).",
     "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
     "\"type\":\"object\",\"$defs\":{\"address\":{\"type\":\"object\","
     "\"properties\":{\"street\":{\"type\":\"string\"},"
     "\"city\":{\"type\":\"string\"}}}},"
     "\"properties\":{\"name\":{\"type\":\"string\"},"
     "\"address\":{\"$ref\":\"#/$defs/address\"}},"
     "\"additionalProperties\":false}",
     NULL, FX_RO, json_schema_2020_12, NULL},
};
/* clang-format on */

#define FX_NTOOLS (sizeof(fx_tools) / sizeof(fx_tools[0]))

static size_t
fx_tool_count(void)
{
    return FX_NTOOLS;
}

static const struct tool_def *
fx_tool_at(size_t i)
{
    return i < FX_NTOOLS ? &fx_tools[i] : NULL;
}

/* ---- errors ---- */

static void fx_fail(struct mcp_error *err, int code, const char *uri,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills err; with uri, err->data becomes {"uri": uri}. */
static void
fx_fail(struct mcp_error *err, int code, const char *uri, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    json_object_put(err->data);
    err->data = NULL;
    if (uri != NULL && (err->data = json_object_new_object()) != NULL)
        json_object_object_add(err->data, "uri", json_object_new_string(uri));
}

/* ---- resources ---- */

struct fx_resource {
    const char *uri, *name, *description, *mime;
    const char *text; /* NULL: the blob is the PNG */
};

static const struct fx_resource fx_resources[] = {
    {"test://static-text", "static-text", "A static text resource.",
     "text/plain", "This is the content of the static text resource."},
    {"test://static-binary", "static-binary",
     "A static binary resource (a 1x1 PNG).", "image/png", NULL},
    {"test://watched-resource", "watched-resource",
     "A resource that can be subscribed to.", "text/plain",
     "Watched resource content."},
};

#define FX_NRESOURCES (sizeof(fx_resources) / sizeof(fx_resources[0]))

static json_object *
fx_resource_list(void)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; a != NULL && i < FX_NRESOURCES; i++) {
        const struct fx_resource *r = &fx_resources[i];
        json_object *o = json_object_new_object();
        if (o == NULL)
            continue;
        json_object_object_add(o, "uri", json_object_new_string(r->uri));
        json_object_object_add(o, "name", json_object_new_string(r->name));
        json_object_object_add(o, "description",
                               json_object_new_string(r->description));
        json_object_object_add(o, "mimeType", json_object_new_string(r->mime));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *
fx_resource_templates(void)
{
    json_object *a = json_object_new_array();
    json_object *o = json_object_new_object();

    if (a == NULL || o == NULL) {
        json_object_put(a);
        json_object_put(o);
        return NULL;
    }
    json_object_object_add(o, "uriTemplate",
                           json_object_new_string(FX_TEMPLATE));
    json_object_object_add(o, "name", json_object_new_string("template"));
    json_object_object_add(
        o, "description",
        json_object_new_string("A resource template with an {id} parameter."));
    json_object_object_add(o, "mimeType",
                           json_object_new_string("application/json"));
    json_object_array_add(a, o);
    return a;
}

/* Copies the {id} of a template URI into id. Returns 0, or -1 when uri is
 * not test://template/{id}/data with a 1..FX_ID_MAX-1 character id
 * without '/'. */
static int
template_id(const char *uri, char *id, size_t idlen)
{
    size_t plen = strlen(FX_TEMPLATE_PREFIX), slen = strlen(FX_TEMPLATE_SUFFIX);
    size_t n = strlen(uri);

    if (n <= plen + slen || strncmp(uri, FX_TEMPLATE_PREFIX, plen) != 0 ||
        strcmp(uri + n - slen, FX_TEMPLATE_SUFFIX) != 0)
        return -1;
    n -= plen + slen;
    if (n >= idlen || memchr(uri + plen, '/', n) != NULL)
        return -1;
    memcpy(id, uri + plen, n);
    id[n] = '\0';
    return 0;
}

static const struct fx_resource *
resource_find(const char *uri)
{
    for (size_t i = 0; i < FX_NRESOURCES; i++)
        if (strcmp(fx_resources[i].uri, uri) == 0)
            return &fx_resources[i];
    return NULL;
}

/* A new {"contents":[{uri, mimeType, key: value}]}. */
static json_object *
contents(const char *uri, const char *mime, const char *key, const char *value)
{
    json_object *out = json_object_new_object();
    json_object *arr = json_object_new_array();
    json_object *c = json_object_new_object();

    if (out == NULL || arr == NULL || c == NULL) {
        json_object_put(out);
        json_object_put(arr);
        json_object_put(c);
        return NULL;
    }
    json_object_object_add(c, "uri", json_object_new_string(uri));
    json_object_object_add(c, "mimeType", json_object_new_string(mime));
    json_object_object_add(c, key, json_object_new_string(value));
    json_object_array_add(arr, c);
    json_object_object_add(out, "contents", arr);
    return out;
}

/* The document of template URI uri with id: a new {"contents":[...]}
 * holding {"id":..,"templateTest":true,"data":"Data for ID: .."}. */
static json_object *
template_contents(const char *uri, const char *id)
{
    json_object *doc = json_object_new_object(), *out;
    char data[FX_ID_MAX + 16];

    if (doc == NULL)
        return NULL;
    snprintf(data, sizeof(data), "Data for ID: %s", id);
    json_object_object_add(doc, "id", json_object_new_string(id));
    json_object_object_add(doc, "templateTest", json_object_new_boolean(1));
    json_object_object_add(doc, "data", json_object_new_string(data));
    out = contents(uri, "application/json", "text",
                   json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
    json_object_put(doc);
    return out;
}

static json_object *
fx_read_resource(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    const struct fx_resource *r = resource_find(uri);
    char id[FX_ID_MAX];
    json_object *out;

    (void)call;
    if (r != NULL) {
        out = r->text != NULL ? contents(uri, r->mime, "text", r->text)
                              : contents(uri, r->mime, "blob", FX_PNG_BASE64);
    } else if (template_id(uri, id, sizeof(id)) == 0) {
        out = template_contents(uri, id);
    } else {
        fx_fail(err, -32002, uri, "Resource not found: %s", uri);
        return NULL;
    }
    if (out == NULL)
        fx_fail(err, -32603, uri, "out of memory");
    return out;
}

/* Any listed resource and any URI of the template can be watched; nothing
 * ever changes (every watch's version stays 1), so no
 * notifications/resources/updated follows. */
static int fx_watch_marker;

static void *
fx_subscribe(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    char id[FX_ID_MAX];

    (void)call;
    if (resource_find(uri) == NULL && template_id(uri, id, sizeof(id)) < 0) {
        fx_fail(err, -32002, uri, "Resource not found: %s", uri);
        return NULL;
    }
    return &fx_watch_marker;
}

static uint64_t
fx_watch_version(void *ctx, void *watch, int64_t now_ms)
{
    (void)ctx;
    (void)watch;
    (void)now_ms;
    return 1;
}

/* ---- prompts ---- */

struct fx_prompt_arg {
    const char *name, *description;
};

struct fx_prompt {
    const char *name, *title, *description;
    const struct fx_prompt_arg *args; /* all required; NULL-terminated */
};

static const struct fx_prompt_arg with_args_args[] = {
    {"arg1", "First test argument"},
    {"arg2", "Second test argument"},
    {NULL, NULL},
};

static const struct fx_prompt_arg embedded_args[] = {
    {"resourceUri", "URI of the resource to embed"},
    {NULL, NULL},
};

static const struct fx_prompt fx_prompts[] = {
    {"test_simple_prompt", "Simple prompt",
     "A simple prompt without arguments.", NULL},
    {"test_prompt_with_arguments", "Prompt with arguments",
     "A prompt with two required arguments.", with_args_args},
    {"test_prompt_with_embedded_resource", "Prompt with embedded resource",
     "A prompt that embeds a resource.", embedded_args},
    {"test_prompt_with_image", "Prompt with image",
     "A prompt that includes an image.", NULL},
};

#define FX_NPROMPTS (sizeof(fx_prompts) / sizeof(fx_prompts[0]))

static const struct fx_prompt *
prompt_find(const char *name)
{
    for (size_t i = 0; i < FX_NPROMPTS; i++)
        if (strcmp(fx_prompts[i].name, name) == 0)
            return &fx_prompts[i];
    return NULL;
}

static json_object *
fx_prompt_list(void)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; a != NULL && i < FX_NPROMPTS; i++) {
        const struct fx_prompt *p = &fx_prompts[i];
        json_object *o = json_object_new_object();
        json_object *args = json_object_new_array();
        if (o == NULL || args == NULL) {
            json_object_put(o);
            json_object_put(args);
            continue;
        }
        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "title", json_object_new_string(p->title));
        json_object_object_add(o, "description",
                               json_object_new_string(p->description));
        for (const struct fx_prompt_arg *pa = p->args;
             pa != NULL && pa->name != NULL; pa++) {
            json_object *ao = json_object_new_object();
            if (ao == NULL)
                continue;
            json_object_object_add(ao, "name",
                                   json_object_new_string(pa->name));
            json_object_object_add(ao, "description",
                                   json_object_new_string(pa->description));
            json_object_object_add(ao, "required", json_object_new_boolean(1));
            json_object_array_add(args, ao);
        }
        json_object_object_add(o, "arguments", args);
        json_object_array_add(a, o);
    }
    return a;
}

/* A new {"role":"user","content":content} (takes content). */
static json_object *
user_message(json_object *content)
{
    json_object *m = json_object_new_object();

    if (m == NULL || content == NULL) {
        json_object_put(m);
        json_object_put(content);
        return NULL;
    }
    json_object_object_add(m, "role", json_object_new_string("user"));
    json_object_object_add(m, "content", content);
    return m;
}

/* The messages of prompt p with its (checked) arguments args. */
static json_object *
prompt_messages(const struct fx_prompt *p, json_object *args)
{
    json_object *msgs = json_object_new_array();
    json_object *m1 = NULL, *m2 = NULL;
    char text[FX_TEXT_MAX];

    if (msgs == NULL)
        return NULL;
    if (strcmp(p->name, "test_simple_prompt") == 0) {
        m1 = user_message(text_block("This is a simple prompt for testing."));
    } else if (strcmp(p->name, "test_prompt_with_arguments") == 0) {
        json_object *a1 = NULL, *a2 = NULL;
        json_object_object_get_ex(args, "arg1", &a1);
        json_object_object_get_ex(args, "arg2", &a2);
        snprintf(text, sizeof(text),
                 "Prompt with arguments: arg1='%s', arg2='%s'",
                 json_object_get_string(a1), json_object_get_string(a2));
        m1 = user_message(text_block(text));
    } else if (strcmp(p->name, "test_prompt_with_embedded_resource") == 0) {
        json_object *uri = NULL;
        json_object_object_get_ex(args, "resourceUri", &uri);
        m1 = user_message(
            resource_block(json_object_get_string(uri), "text/plain",
                           "Embedded resource content for testing."));
        m2 = user_message(
            text_block("Please process the embedded resource above."));
    } else {
        m1 = user_message(media_block("image", FX_PNG_BASE64, "image/png"));
        m2 = user_message(text_block("Please analyze the image above."));
    }
    if (m1 == NULL) {
        json_object_put(m2);
        json_object_put(msgs);
        return NULL;
    }
    json_object_array_add(msgs, m1);
    if (m2 != NULL)
        json_object_array_add(msgs, m2);
    return msgs;
}

static json_object *
fx_get_prompt(struct mcp_call *call, const char *name, json_object *args,
              struct mcp_error *err)
{
    const struct fx_prompt *p = prompt_find(name);
    json_object *out, *msgs;

    (void)call;
    if (p == NULL) {
        fx_fail(err, -32602, NULL, "Unknown prompt: %s", name);
        return NULL;
    }
    for (const struct fx_prompt_arg *pa = p->args;
         pa != NULL && pa->name != NULL; pa++) {
        json_object *v = NULL;
        if (args == NULL || !json_object_object_get_ex(args, pa->name, &v) ||
            !json_object_is_type(v, json_type_string)) {
            fx_fail(err, -32602, NULL,
                    "prompt %s needs the argument '%s' (a string)", name,
                    pa->name);
            return NULL;
        }
    }
    out = json_object_new_object();
    msgs = prompt_messages(p, args);
    if (out == NULL || msgs == NULL) {
        json_object_put(out);
        json_object_put(msgs);
        fx_fail(err, -32603, NULL, "out of memory");
        return NULL;
    }
    json_object_object_add(out, "description",
                           json_object_new_string(p->description));
    json_object_object_add(out, "messages", msgs);
    return out;
}

/* ---- completion ---- */

static const char *const arg_values[] = {
    "paris", "park", "party", "test", "testing", "test-value", NULL};
static const char *const id_values[] = {"1", "2", "3", "42", "123", NULL};

static json_object *
fx_complete(struct mcp_call *call, const char *ref_type, const char *ref_name,
            const char *arg_name, const char *prefix, struct mcp_error *err)
{
    const char *const *values = NULL;
    json_object *out, *arr;
    size_t n = 0, plen = strlen(prefix);

    (void)call;
    if (strcmp(ref_type, "ref/prompt") == 0) {
        const struct fx_prompt *p = prompt_find(ref_name);
        if (p == NULL) {
            fx_fail(err, -32602, NULL, "Unknown prompt: %s", ref_name);
            return NULL;
        }
        if (p->args == with_args_args &&
            (strcmp(arg_name, "arg1") == 0 || strcmp(arg_name, "arg2") == 0))
            values = arg_values;
    } else if (strcmp(ref_name, FX_TEMPLATE) == 0) {
        if (strcmp(arg_name, "id") == 0)
            values = id_values;
    } else {
        fx_fail(err, -32602, NULL, "Unknown resource template: %s", ref_name);
        return NULL;
    }
    out = json_object_new_object();
    arr = json_object_new_array();
    if (out == NULL || arr == NULL) {
        json_object_put(out);
        json_object_put(arr);
        fx_fail(err, -32603, NULL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; values != NULL && values[i] != NULL; i++) {
        if (strncmp(values[i], prefix, plen) != 0 || n == FX_COMPLETE_MAX)
            continue;
        json_object_array_add(arr, json_object_new_string(values[i]));
        n++;
    }
    json_object_object_add(out, "values", arr);
    json_object_object_add(out, "total", json_object_new_int64((int64_t)n));
    json_object_object_add(out, "hasMore", json_object_new_boolean(0));
    return out;
}

const struct mcp_provider conformance_provider = {
    .name = "binmcpd-conformance",
    .title = "binmcpd conformance fixtures",
    .instructions = "Test server for the MCP conformance suite: fixture "
                    "tools, resources and prompts only.",
    .tool_count = fx_tool_count,
    .tool_at = fx_tool_at,
    .resources = fx_resource_list,
    .resource_templates = fx_resource_templates,
    .read_resource = fx_read_resource,
    .prompts = fx_prompt_list,
    .get_prompt = fx_get_prompt,
    .complete = fx_complete,
    .subscribe = fx_subscribe,
    .watch_version = fx_watch_version,
};
