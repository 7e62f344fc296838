/*
 * mcp.c - the MCP engine: JSON-RPC framing, lifecycle, dispatch of methods,
 * the tool table, resources, prompts, logging and progress. See mcp.h.
 *
 * The engine is a pure function of (session, message) -> messages out
 * through the session's sink. It keeps no global state of its own: what a
 * server holds (parsed schemas, prebuilt tool lists) is read-only after
 * mcp_server_new, so workers and threads may share it.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mcp.h"
#include "mcp_subs.h"
#include "mcp_tool.h"
#include "schema.h"
#include "util.h"

#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* JSON-RPC and MCP error codes. */
enum {
    RPC_PARSE_ERROR = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_METHOD_NOT_FOUND = -32601,
    RPC_INVALID_PARAMS = -32602,
    RPC_INTERNAL_ERROR = -32603,
    RPC_RESOURCE_NOT_FOUND = -32002,
};

/* The one list of the protocol versions binmcpd speaks, newest first:
 * initialize, the worker's MCP-Protocol-Version check and its error text,
 * and the / document all read it (mcp_version_at). */
static const char *const supported_versions[] = {
    MCP_LATEST_VERSION,
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
};

#define NVERSIONS (sizeof(supported_versions) / sizeof(supported_versions[0]))

/* The first version whose elicitation/create carries a mode. */
#define ELICITATION_MODE_SINCE "2025-11-25"

static const char *const log_level_names[] = {
    "debug", "info",     "notice", "warning",
    "error", "critical", "alert",  "emergency",
};

struct mcp_server {
    struct mcp_options opts;
    const struct mcp_provider *prov;
    size_t ntools;
    const struct tool_def **tools; /* the tool rows, in order */
    json_object **schemas;         /* parsed input schemas, per row */
    json_object *list_all;         /* tools/list result array */
    json_object *list_read_only;   /* the same without TOOL_TRADING rows */
    void (*observer)(void *arg, const char *tool, int ok, double seconds);
    void *observer_arg;
};

/* Whether the server offers resources/subscribe. */
static int
subscriptions_offered(const struct mcp_server *srv)
{
    return srv != NULL && srv->opts.subscriptions &&
           srv->prov->subscribe != NULL && srv->prov->watch_version != NULL;
}

int
mcp_server_subscriptions(const struct mcp_server *srv)
{
    return subscriptions_offered(srv);
}

/* ------------------------------------------------------------------ */
/* Building the tool list                                              */

/* Builds the Tool object of row t (new reference), or NULL. */
static json_object *
tool_to_json(const struct tool_def *t)
{
    json_object *o = json_object_new_object();
    json_object *in = json_tokener_parse(t->input_schema);
    json_object *out =
        t->output_schema ? json_tokener_parse(t->output_schema) : NULL;
    json_object *ann = json_object_new_object();

    if (in == NULL || (t->output_schema != NULL && out == NULL)) {
        json_object_put(o);
        json_object_put(in);
        json_object_put(out);
        json_object_put(ann);
        return NULL;
    }
    json_object_object_add(o, "name", json_object_new_string(t->name));
    if (t->title != NULL)
        json_object_object_add(o, "title", json_object_new_string(t->title));
    json_object_object_add(o, "description",
                           json_object_new_string(t->description));
    json_object_object_add(o, "inputSchema", in);
    if (out != NULL)
        json_object_object_add(o, "outputSchema", out);
    if (t->title != NULL)
        json_object_object_add(ann, "title", json_object_new_string(t->title));
    json_object_object_add(
        ann, "readOnlyHint",
        json_object_new_boolean((t->flags & TOOL_READ_ONLY) != 0));
    json_object_object_add(
        ann, "destructiveHint",
        json_object_new_boolean((t->flags & TOOL_DESTRUCTIVE) != 0));
    json_object_object_add(
        ann, "idempotentHint",
        json_object_new_boolean((t->flags & TOOL_IDEMPOTENT) != 0));
    json_object_object_add(
        ann, "openWorldHint",
        json_object_new_boolean((t->flags & TOOL_OPEN_WORLD) != 0));
    json_object_object_add(o, "annotations", ann);
    return o;
}

/* Parses and checks every row's schemas and prebuilds both tool lists.
 * Returns 0, or -1 after logging which row is broken. */
static int
server_load_tools(struct mcp_server *srv)
{
    char err[256];
    size_t n = srv->prov->tool_count();

    srv->tools = calloc(n ? n : 1, sizeof(*srv->tools));
    srv->schemas = calloc(n ? n : 1, sizeof(*srv->schemas));
    srv->list_all = json_object_new_array();
    srv->list_read_only = json_object_new_array();
    if (srv->tools == NULL || srv->schemas == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct tool_def *t = srv->prov->tool_at(i);
        srv->tools[i] = t;
        srv->ntools = i + 1;
        srv->schemas[i] = json_tokener_parse(t->input_schema);
        if (srv->schemas[i] == NULL ||
            schema_check(srv->schemas[i], err, sizeof(err)) < 0) {
            log_error("tool %s: bad input schema: %s", t->name,
                      srv->schemas[i] ? err : "not JSON");
            return -1;
        }
        json_object *js = tool_to_json(t);
        if (js == NULL) {
            log_error("tool %s: schema text is not JSON", t->name);
            return -1;
        }
        json_object_array_add(srv->list_all, json_object_get(js));
        if (!(t->flags & TOOL_TRADING))
            json_object_array_add(srv->list_read_only, json_object_get(js));
        json_object_put(js);
    }
    return 0;
}

struct mcp_server *
mcp_server_new(const struct mcp_options *opts)
{
    struct mcp_server *srv;

    if (opts->provider == NULL) {
        log_error("an MCP server needs a provider (mcp_options.provider)");
        return NULL;
    }
    if ((srv = calloc(1, sizeof(*srv))) == NULL)
        return NULL;
    srv->opts = *opts;
    srv->prov = opts->provider;
    if (server_load_tools(srv) < 0) {
        mcp_server_free(srv);
        return NULL;
    }
    return srv;
}

void
mcp_server_free(struct mcp_server *srv)
{
    if (srv == NULL)
        return;
    for (size_t i = 0; i < srv->ntools; i++)
        json_object_put(srv->schemas[i]);
    free(srv->schemas);
    free(srv->tools);
    json_object_put(srv->list_all);
    json_object_put(srv->list_read_only);
    free(srv);
}

void
mcp_server_set_tool_observer(struct mcp_server *srv,
                             void (*fn)(void *arg, const char *tool, int ok,
                                        double seconds),
                             void *arg)
{
    srv->observer = fn;
    srv->observer_arg = arg;
}

static void
observe(const struct mcp_server *srv, const char *tool, int ok, double seconds)
{
    if (srv->observer != NULL)
        srv->observer(srv->observer_arg, tool, ok, seconds);
}

int
tool_fail(struct tool_result *res, const char *fmt, ...)
{
    va_list ap;

    res->is_error = 1;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    return -1;
}

const struct mcp_provider *
mcp_server_provider(const struct mcp_server *srv)
{
    return srv->prov;
}

void *
mcp_server_provider_ctx(const struct mcp_server *srv)
{
    return srv != NULL ? srv->opts.provider_ctx : NULL;
}

int
mcp_server_read_only(const struct mcp_server *srv)
{
    return srv != NULL && srv->opts.read_only;
}

/* Index of the row called name, or -1. */
static int
server_tool_index(const struct mcp_server *srv, const char *name)
{
    for (size_t i = 0; i < srv->ntools; i++)
        if (strcmp(srv->tools[i]->name, name) == 0)
            return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Protocol versions                                                   */

const char *
mcp_version_at(size_t i)
{
    return i < NVERSIONS ? supported_versions[i] : NULL;
}

int
mcp_version_supported(const char *v)
{
    for (size_t i = 0; v != NULL && i < NVERSIONS; i++)
        if (strcmp(v, supported_versions[i]) == 0)
            return 1;
    return 0;
}

char *
mcp_versions_join(char *buf, size_t len, const char *quote, const char *sep)
{
    size_t used = 0;

    assert(len > 0);
    buf[0] = '\0';
    for (size_t i = 0; i < NVERSIONS && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s%s%s", i ? sep : "",
                         quote, supported_versions[i], quote);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

int
mcp_session_elicitation_mode(const struct mcp_session *s)
{
    /* versions are dates: they sort as text */
    return s != NULL && strcmp(s->version, ELICITATION_MODE_SINCE) >= 0;
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

void
mcp_session_init(struct mcp_session *s, struct mcp_server *srv, const char *id,
                 mcp_sink_fn sink, void *sink_arg)
{
    memset(s, 0, sizeof(*s));
    s->srv = srv;
    strlcpy_checked(s->id, id, sizeof(s->id));
    s->log_level = MCP_LOG_INFO;
    s->sink = sink;
    s->sink_arg = sink_arg;
    pthread_mutex_init(&s->lock, NULL);
    if (subscriptions_offered(srv)) {
        struct mcp_subs_watcher w = {srv->prov->watch_version,
                                     srv->prov->watch_free,
                                     srv->opts.provider_ctx};
        s->subs = mcp_subs_new(&w); /* NULL: subscribe answers an error */
    }
}

unsigned
mcp_session_subscriptions(struct mcp_session *s)
{
    return s->subs != NULL ? mcp_subs_count(s->subs) : 0;
}

int
mcp_session_poll_subscriptions(struct mcp_session *s, int64_t now_ms,
                               int64_t interval_ms, mcp_sink_fn send, void *arg)
{
    if (s->subs == NULL)
        return 0;
    return mcp_subs_poll(s->subs, now_ms, interval_ms, send, arg);
}

/* The saved form: this header, then the app's bytes, then the subscribed
 * URIs (each with its NUL). */
#define SAVED_MAGIC 0x4d435332u /* "MCS2" */
struct saved_session {
    uint32_t magic;
    uint8_t initialized;
    uint8_t log_level;
    uint8_t client_sampling;
    uint8_t client_elicitation;
    char version[16];
    uint32_t app_len;
    uint32_t subs_len;
};

int
mcp_session_save(const struct mcp_session *s, void *buf, size_t cap,
                 size_t *len)
{
    struct saved_session h;
    const struct mcp_provider *prov = s->srv->prov;
    long n = 0;

    *len = 0;
    if (cap < sizeof(h))
        return -1;
    memset(&h, 0, sizeof(h));
    h.magic = SAVED_MAGIC;
    h.initialized = (uint8_t)(s->initialized != 0);
    h.log_level = (uint8_t)s->log_level;
    h.client_sampling = (uint8_t)(s->client_sampling != 0);
    h.client_elicitation = (uint8_t)(s->client_elicitation != 0);
    memcpy(h.version, s->version, sizeof(h.version));
    if (s->app != NULL && prov->session_save != NULL) {
        n = prov->session_save(s->app, (char *)buf + sizeof(h),
                               cap - sizeof(h));
        if (n < 0 || (size_t)n > cap - sizeof(h)) {
            secure_wipe(buf, cap);
            return -1;
        }
    }
    h.app_len = (uint32_t)n;
    if (s->subs != NULL) {
        size_t off = sizeof(h) + (size_t)n;
        long k = mcp_subs_save(s->subs, (char *)buf + off, cap - off);
        if (k < 0) {
            secure_wipe(buf, cap);
            return -1;
        }
        h.subs_len = (uint32_t)k;
    }
    memcpy(buf, &h, sizeof(h));
    *len = sizeof(h) + (size_t)n + h.subs_len;
    return 0;
}

/* Subscribes a session taken over again to the URIs of a saved form
 * (len bytes of NUL-terminated strings): a URI the provider refuses now is
 * dropped with a log line. */
static void
load_subscriptions(struct mcp_session *s, const char *uris, size_t len)
{
    const struct mcp_provider *prov = s->srv->prov;
    struct mcp_call call = {.srv = s->srv, .sess = s};

    for (size_t off = 0; s->subs != NULL && off < len;) {
        const char *uri = uris + off;
        size_t n = strnlen(uri, len - off);
        struct mcp_error err = {0, "", NULL};
        void *watch;

        if (n == len - off)
            break; /* not terminated: checked by the caller */
        off += n + 1;
        if ((watch = prov->subscribe(&call, uri, &err)) == NULL)
            log_warnx("session %.8s: subscription to %s not taken over: %s",
                      s->id, uri, err.message);
        else if (mcp_subs_add(s->subs, uri, watch) < 0)
            log_warnx("session %.8s: subscription to %s not taken over", s->id,
                      uri);
        json_object_put(err.data);
    }
}

int
mcp_session_load(struct mcp_session *s, const void *buf, size_t len)
{
    struct saved_session h;
    const struct mcp_provider *prov = s->srv->prov;
    void *app = NULL;

    if (len < sizeof(h))
        return -1;
    memcpy(&h, buf, sizeof(h));
    if (h.magic != SAVED_MAGIC || h.app_len > len - sizeof(h) ||
        h.subs_len != len - sizeof(h) - h.app_len ||
        (h.subs_len > 0 && ((const char *)buf)[len - 1] != '\0') ||
        h.log_level > MCP_LOG_EMERGENCY ||
        memchr(h.version, '\0', sizeof(h.version)) == NULL ||
        (h.version[0] != '\0' && !mcp_version_supported(h.version)))
        return -1;
    if (h.app_len > 0) {
        if (prov->session_load == NULL)
            return -1;
        app = prov->session_load((const char *)buf + sizeof(h), h.app_len);
        if (app == NULL)
            return -1;
    }
    s->initialized = h.initialized;
    s->log_level = (enum mcp_log_level)h.log_level;
    s->client_sampling = h.client_sampling;
    s->client_elicitation = h.client_elicitation;
    memcpy(s->version, h.version, sizeof(s->version));
    if (s->app != NULL && prov->session_free != NULL)
        prov->session_free(s->app);
    s->app = app;
    if (h.subs_len > 0 && subscriptions_offered(s->srv))
        load_subscriptions(s, (const char *)buf + sizeof(h) + h.app_len,
                           h.subs_len);
    return 0;
}

void
mcp_session_state_changed(struct mcp_session *s)
{
    s->state_gen++;
}

void
mcp_session_finish(struct mcp_session *s)
{
    mcp_subs_free(s->subs);
    s->subs = NULL;
    if (s->app != NULL) {
        /* a provider that sets app must say how to release it */
        assert(s->srv != NULL && s->srv->prov->session_free != NULL);
        s->srv->prov->session_free(s->app);
        s->app = NULL;
    }
    pthread_mutex_destroy(&s->lock);
}

int
mcp_session_cancel(struct mcp_session *s, const char *id_json)
{
    int found = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < MCP_MAX_INFLIGHT; i++) {
        if (s->inflight[i].used && strcmp(s->inflight[i].id, id_json) == 0) {
            atomic_store(&s->inflight[i].cancel, 1);
            found = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

/* Registers a running request; returns its slot or NULL when all are in
 * use (the request then simply cannot be cancelled). */
static struct mcp_inflight *
inflight_begin(struct mcp_session *s, const char *id_json)
{
    struct mcp_inflight *slot = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < MCP_MAX_INFLIGHT; i++) {
        if (!s->inflight[i].used) {
            slot = &s->inflight[i];
            slot->used = 1;
            strlcpy_checked(slot->id, id_json, sizeof(slot->id));
            atomic_store(&slot->cancel, 0);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return slot;
}

/* Ends a request; returns whether it was cancelled meanwhile. */
static int
inflight_end(struct mcp_session *s, struct mcp_inflight *slot)
{
    int cancelled;
    if (slot == NULL)
        return 0;
    pthread_mutex_lock(&s->lock);
    cancelled = atomic_load(&slot->cancel);
    slot->used = 0;
    pthread_mutex_unlock(&s->lock);
    return cancelled;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* Per-message output state: a batch collects its responses in an array. */
struct reply_ctx {
    struct mcp_session *sess;
    json_object *batch; /* NULL when not in a batch */
    int sent;
};

static void
sink_send(struct mcp_session *s, json_object *msg)
{
    size_t len;
    const char *text =
        json_object_to_json_string_length(msg, JSON_OUT_FLAGS, &len);
    if (s->sink == NULL || s->sink(s->sink_arg, text, len) < 0)
        log_warnx("session %.8s: could not deliver a message", s->id);
}

/* Sends msg (taking the reference) as a response. */
static void
reply_send(struct reply_ctx *rc, json_object *msg)
{
    rc->sent++;
    if (rc->batch != NULL) {
        json_object_array_add(rc->batch, msg);
        return;
    }
    sink_send(rc->sess, msg);
    json_object_put(msg);
}

static json_object *
envelope(json_object *id)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
    return o;
}

/* Sends a result (takes the reference to result). */
static void
reply_result(struct reply_ctx *rc, json_object *id, json_object *result)
{
    json_object *o = envelope(id);
    json_object_object_add(o, "result", result);
    reply_send(rc, o);
}

/* Sends an error; data (optional) is taken. */
static void
reply_error(struct reply_ctx *rc, json_object *id, int code,
            const char *message, json_object *data)
{
    json_object *o = envelope(id);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    if (data != NULL)
        json_object_object_add(e, "data", data);
    json_object_object_add(o, "error", e);
    reply_send(rc, o);
}

static void
send_notification(struct mcp_session *s, const char *method,
                  json_object *params)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "params", params);
    sink_send(s, o);
    json_object_put(o);
}

void
mcp_call_progress(struct mcp_call *c, double progress, double total,
                  const char *message)
{
    if (c->progress_token == NULL || c->sess == NULL)
        return;
    if (progress <= c->progress)
        progress = c->progress + 1;
    c->progress = progress;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "progressToken",
                           json_object_get(c->progress_token));
    json_object_object_add(p, "progress", json_object_new_double(progress));
    if (total > 0)
        json_object_object_add(p, "total", json_object_new_double(total));
    if (message != NULL)
        json_object_object_add(p, "message", json_object_new_string(message));
    send_notification(c->sess, "notifications/progress", p);
}

void
mcp_call_log(struct mcp_call *c, enum mcp_log_level level, const char *logger,
             const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    if (c->sess == NULL || level < c->sess->log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "level",
                           json_object_new_string(log_level_names[level]));
    if (logger != NULL)
        json_object_object_add(p, "logger", json_object_new_string(logger));
    json_object_object_add(p, "data", json_object_new_string(text));
    send_notification(c->sess, "notifications/message", p);
}

/* ------------------------------------------------------------------ */
/* Server requests to the client                                       */

static void id_to_text(json_object *id, char *buf, size_t len);

struct mcp_pending {
    struct mcp_pending *next;
    char id[64]; /* the request id as JSON text */
    int done;
    json_object *response; /* the client's answer, owned */
    pthread_cond_t cond;
};

/* Gives a response object (reference taken) to the request waiting for
 * it. Returns 1 when one was waiting. */
static int
deliver_response(struct mcp_session *s, json_object *msg)
{
    json_object *id;
    char idtext[64];
    int found = 0;

    if (!json_object_object_get_ex(msg, "id", &id) || id == NULL) {
        json_object_put(msg);
        return 0;
    }
    id_to_text(id, idtext, sizeof(idtext));
    pthread_mutex_lock(&s->lock);
    for (struct mcp_pending *p = s->pending; p != NULL; p = p->next) {
        if (!p->done && strcmp(p->id, idtext) == 0) {
            p->response = msg;
            p->done = 1;
            pthread_cond_signal(&p->cond);
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (!found)
        json_object_put(msg);
    return found;
}

/* Parses len bytes of msg as one JSON object, or NULL. */
static json_object *
parse_object(const char *msg, size_t len)
{
    char *text = malloc(len + 1);
    json_object *o = NULL;
    if (text == NULL)
        return NULL;
    memcpy(text, msg, len);
    text[len] = '\0';
    o = json_tokener_parse(text);
    free(text);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

static int
object_is_response(json_object *o)
{
    return o != NULL && json_object_object_get_ex(o, "id", NULL) &&
           !json_object_object_get_ex(o, "method", NULL) &&
           (json_object_object_get_ex(o, "result", NULL) ||
            json_object_object_get_ex(o, "error", NULL));
}

int
mcp_is_response(const char *msg, size_t len)
{
    if (memmem(msg, len, "\"result\"", 8) == NULL &&
        memmem(msg, len, "\"error\"", 7) == NULL)
        return 0;
    json_object *o = parse_object(msg, len);
    int yes = object_is_response(o);
    json_object_put(o);
    return yes;
}

int
mcp_session_response(struct mcp_session *s, const char *msg, size_t len)
{
    json_object *o = parse_object(msg, len);
    if (!object_is_response(o)) {
        json_object_put(o);
        return 0;
    }
    return deliver_response(s, o);
}

/* See mcp.h. */
const char *
mcp_message_method(json_object *o)
{
    json_object *m;

    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "method", &m) ||
        !json_object_is_type(m, json_type_string))
        return NULL;
    return json_object_get_string(m);
}

/* See mcp.h. */
void
mcp_message_classify(json_object *o, int *initialize, int *requests)
{
    const char *method;

    *initialize = *requests = 0;
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            int a, b;
            mcp_message_classify(json_object_array_get_idx(o, i), &a, &b);
            *initialize |= a;
            *requests |= b;
        }
        return;
    }
    /* Anything with an id that is not a response expects an answer, also
     * a malformed request (the engine answers it -32600). */
    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "id", NULL) || object_is_response(o))
        return;
    *requests = 1;
    method = mcp_message_method(o);
    *initialize = method != NULL && strcmp(method, "initialize") == 0;
}

/* Acts on a notifications/cancelled object. Returns 1 when o was one. */
static int
intercept_cancel(struct mcp_session *s, json_object *o)
{
    const char *method = mcp_message_method(o);
    json_object *p, *rid;
    char idtext[64];

    if (method == NULL || strcmp(method, "notifications/cancelled") != 0 ||
        json_object_object_get_ex(o, "id", NULL))
        return 0;
    if (json_object_object_get_ex(o, "params", &p) &&
        json_object_is_type(p, json_type_object) &&
        json_object_object_get_ex(p, "requestId", &rid) && rid != NULL) {
        id_to_text(rid, idtext, sizeof(idtext));
        mcp_session_cancel(s, idtext);
    }
    return 1;
}

/* See mcp.h. */
int
mcp_session_intercept(struct mcp_session *s, const char *msg, size_t len)
{
    json_object *o;
    int done = 0;

    /* Cheap tests first: most messages are neither. */
    if (memmem(msg, len, "notifications/cancelled", 23) == NULL &&
        memmem(msg, len, "\"result\"", 8) == NULL &&
        memmem(msg, len, "\"error\"", 7) == NULL)
        return 0;
    o = parse_object(msg, len);
    if (o == NULL)
        return 0;
    if (intercept_cancel(s, o)) {
        done = 1;
    } else if (object_is_response(o)) {
        deliver_response(s, json_object_get(o));
        done = 1;
    }
    json_object_put(o);
    return done;
}

/* Whether the client declared capability cap (NULL: no check). */
static int
client_has(const struct mcp_session *s, const char *cap)
{
    if (cap == NULL)
        return 1;
    if (strcmp(cap, "sampling") == 0)
        return s->client_sampling;
    if (strcmp(cap, "elicitation") == 0)
        return s->client_elicitation;
    return 0;
}

/* Waits (s->lock held) until p is answered, the call is cancelled or
 * deadline (CLOCK_MONOTONIC ms) passes. */
static void
wait_answer(struct mcp_call *c, struct mcp_pending *p, int64_t deadline)
{
    while (!p->done && mono_ms() < deadline &&
           !(c->cancel != NULL && atomic_load(c->cancel))) {
        int64_t until = mono_ms() + 100;
        if (until > deadline)
            until = deadline;
        struct timespec ts = {(time_t)(until / 1000),
                              (long)(until % 1000) * 1000000};
        pthread_cond_timedwait(&p->cond, &c->sess->lock, &ts);
    }
}

int
mcp_call_request(struct mcp_call *c, const char *method, json_object *params,
                 const char *cap, int timeout_ms, json_object **result,
                 char *err, size_t errlen)
{
    struct mcp_session *s = c->sess;
    struct mcp_pending p;
    pthread_condattr_t attr;
    char idstr[32];
    json_object *v;

    *result = NULL;
    if (s == NULL || !client_has(s, cap)) {
        snprintf(err, errlen, "the client did not declare the %s capability",
                 cap != NULL ? cap : "needed");
        return -1;
    }
    memset(&p, 0, sizeof(p));
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p.cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&s->lock);
    snprintf(idstr, sizeof(idstr), "srv-%u", ++s->next_request);
    snprintf(p.id, sizeof(p.id), "\"%s\"", idstr);
    p.next = s->pending;
    s->pending = &p;
    pthread_mutex_unlock(&s->lock);

    json_object *msg = json_object_new_object();
    json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(msg, "id", json_object_new_string(idstr));
    json_object_object_add(msg, "method", json_object_new_string(method));
    if (params != NULL)
        json_object_object_add(msg, "params", json_object_get(params));
    sink_send(s, msg);
    json_object_put(msg);

    pthread_mutex_lock(&s->lock);
    wait_answer(c, &p, mono_ms() + timeout_ms);
    for (struct mcp_pending **pp = &s->pending; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == &p) {
            *pp = p.next;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&p.cond);
    if (!p.done) {
        snprintf(err, errlen, "the client did not answer %s within %d ms",
                 method, timeout_ms);
        return -1;
    }
    if (json_object_object_get_ex(p.response, "result", &v) &&
        json_object_is_type(v, json_type_object)) {
        *result = json_object_get(v);
        json_object_put(p.response);
        return 0;
    }
    json_object *e = NULL, *m = NULL;
    json_object_object_get_ex(p.response, "error", &e);
    json_object_object_get_ex(e, "message", &m);
    snprintf(err, errlen, "the client answered %s with an error: %s", method,
             m != NULL ? json_object_get_string(m) : "(no message)");
    json_object_put(p.response);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Method handlers                                                     */

/* Everything a method handler needs about the request in hand. */
struct request {
    struct reply_ctx *rc;
    struct mcp_session *sess;
    json_object *id;     /* borrowed */
    json_object *params; /* borrowed, an object (or NULL) */
    const char *method;
};

/* A string member of params, or NULL. */
static const char *
param_string(const struct request *r, const char *key)
{
    json_object *v;
    if (r->params == NULL || !json_object_object_get_ex(r->params, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Whether client capabilities offer form-mode elicitation: an empty
 * "elicitation" object (the 2025-06-18 form) or one naming "form". */
static int
elicitation_form(json_object *ccaps)
{
    json_object *e;

    if (!json_object_object_get_ex(ccaps, "elicitation", &e) ||
        !json_object_is_type(e, json_type_object))
        return 0;
    return json_object_object_length(e) == 0 ||
           json_object_object_get_ex(e, "form", NULL);
}

static void
method_initialize(struct request *r)
{
    const char *want = param_string(r, "protocolVersion");
    const char *version = supported_versions[0];

    if (want == NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "initialize needs params.protocolVersion (a string)", NULL);
        return;
    }
    if (mcp_version_supported(want))
        version = want;
    strlcpy_checked(r->sess->version, version, sizeof(r->sess->version));
    r->sess->initialized = 1;
    json_object *ccaps = NULL;
    if (json_object_object_get_ex(r->params, "capabilities", &ccaps) &&
        json_object_is_type(ccaps, json_type_object)) {
        r->sess->client_sampling =
            json_object_object_get_ex(ccaps, "sampling", NULL);
        r->sess->client_elicitation = elicitation_form(ccaps);
    }
    r->sess->state_gen++;
    const struct mcp_provider *prov = r->sess->srv->prov;

    json_object *res = json_object_new_object();
    json_object *caps = json_object_new_object();
    json_object *tools = json_object_new_object();
    json_object *res_caps = json_object_new_object();
    json_object *prompts = json_object_new_object();
    json_object *info = json_object_new_object();

    json_object_object_add(tools, "listChanged", json_object_new_boolean(0));
    json_object_object_add(
        res_caps, "subscribe",
        json_object_new_boolean(subscriptions_offered(r->sess->srv)));
    json_object_object_add(res_caps, "listChanged", json_object_new_boolean(0));
    json_object_object_add(prompts, "listChanged", json_object_new_boolean(0));
    json_object_object_add(caps, "tools", tools);
    json_object_object_add(caps, "resources", res_caps);
    json_object_object_add(caps, "prompts", prompts);
    json_object_object_add(caps, "logging", json_object_new_object());
    json_object_object_add(caps, "completions", json_object_new_object());
    json_object_object_add(info, "name", json_object_new_string(prov->name));
    json_object_object_add(info, "title", json_object_new_string(prov->title));
    json_object_object_add(info, "version",
                           json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(res, "protocolVersion",
                           json_object_new_string(version));
    json_object_object_add(res, "capabilities", caps);
    json_object_object_add(res, "serverInfo", info);
    const char *instructions = mcp_server_read_only(r->sess->srv) &&
                                       prov->instructions_read_only != NULL
                                   ? prov->instructions_read_only
                                   : prov->instructions;
    if (instructions != NULL)
        json_object_object_add(res, "instructions",
                               json_object_new_string(instructions));
    reply_result(r->rc, r->id, res);
}

static void
method_ping(struct request *r)
{
    reply_result(r->rc, r->id, json_object_new_object());
}

/* Pagination: we never hand out cursors, so any cursor is invalid. */
static int
reject_cursor(struct request *r)
{
    json_object *v;
    if (r->params != NULL &&
        json_object_object_get_ex(r->params, "cursor", &v) && v != NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "invalid cursor: this server returns complete lists", NULL);
        return 1;
    }
    return 0;
}

static void
method_tools_list(struct request *r)
{
    struct mcp_server *srv = r->sess->srv;
    if (reject_cursor(r))
        return;
    json_object *res = json_object_new_object(), *copy = NULL;
    json_object *list =
        srv->opts.read_only ? srv->list_read_only : srv->list_all;
    /* A copy per call: json-c's reference counts are not atomic, so the
     * shared list is only ever read by the executor threads, never
     * referenced (json_object_get/put from two threads corrupted it). */
    if (json_object_deep_copy(list, &copy, NULL) < 0) {
        json_object_put(res);
        reply_error(r->rc, r->id, RPC_INTERNAL_ERROR, "out of memory", NULL);
        return;
    }
    json_object_object_add(res, "tools", copy);
    reply_result(r->rc, r->id, res);
}

/* The CallToolResult of a failure: isError with one text block. */
static json_object *
tool_error_result(const char *text)
{
    json_object *res = json_object_new_object();
    json_object *content = json_object_new_array();
    json_object *block = json_object_new_object();
    json_object_object_add(block, "type", json_object_new_string("text"));
    json_object_object_add(block, "text", json_object_new_string(text));
    json_object_array_add(content, block);
    json_object_object_add(res, "content", content);
    json_object_object_add(res, "isError", json_object_new_boolean(1));
    return res;
}

/* The CallToolResult of a success; takes tr->data, tr->text and
 * tr->content. */
static json_object *
tool_success_result(struct tool_result *tr)
{
    json_object *res = json_object_new_object();
    json_object *content = tr->content;

    if (content == NULL) {
        json_object *block = json_object_new_object();
        const char *text = tr->text;
        if (text == NULL)
            text = json_object_to_json_string_ext(tr->data, JSON_OUT_FLAGS);
        content = json_object_new_array();
        json_object_object_add(block, "type", json_object_new_string("text"));
        json_object_object_add(block, "text", json_object_new_string(text));
        json_object_array_add(content, block);
    }
    json_object_object_add(res, "content", content);
    if (tr->data != NULL)
        json_object_object_add(res, "structuredContent", tr->data);
    json_object_object_add(res, "isError", json_object_new_boolean(0));
    tr->data = NULL;
    tr->content = NULL;
    free(tr->text);
    tr->text = NULL;
    return res;
}

/* The longest array in o, searched to depth 3 (o itself included), with
 * its path ("orders", "bids", "candles.0"...) in path; NULL when none has
 * two elements or more. Borrowed from o. */
static json_object *
longest_array(json_object *o, int depth, char *path, size_t len)
{
    json_object *best = NULL;
    size_t best_n = 1;
    char sub[128];

    if (json_object_is_type(o, json_type_array) &&
        json_object_array_length(o) > best_n) {
        best = o;
        best_n = json_object_array_length(o);
        path[0] = '\0';
    }
    if (depth == 0 || !json_object_is_type(o, json_type_object))
        return best;
    json_object_object_foreach(o, key, val)
    {
        json_object *a = longest_array(val, depth - 1, sub, sizeof(sub));
        if (a != NULL && json_object_array_length(a) > best_n) {
            best = a;
            best_n = json_object_array_length(a);
            snprintf(path, len, "%.60s%s%.60s", key, sub[0] != '\0' ? "." : "",
                     sub);
        }
    }
    return best;
}

/* Keeps a result under max bytes (it travels twice: structuredContent and
 * its text copy) by dropping the tail of its longest list, halving it
 * until it fits, and saying so in the result ("truncated": which list, how
 * many entries were kept of how many, how to ask for the rest). The JSON
 * stays valid, as the entries kept are whole. Returns 0, or -1 when it
 * cannot be brought under the cap. */
static int
fit_result(json_object *data, size_t max)
{
    char path[128] = "";
    size_t total = 0, kept = 0;
    json_object *arr = NULL;

    if (max == 0 || !json_object_is_type(data, json_type_object))
        return 0;
    while (2 * strlen(json_object_to_json_string_ext(data, JSON_OUT_FLAGS)) >
           max) {
        if (arr == NULL) {
            arr = longest_array(data, 3, path, sizeof(path));
            if (arr == NULL)
                return -1;
            total = json_object_array_length(arr);
        }
        size_t n = json_object_array_length(arr);
        if (n <= 1)
            return -1;
        kept = n / 2;
        json_object_array_del_idx(arr, kept, n - kept);
    }
    if (arr != NULL) {
        char note[384];
        json_object *t = json_object_new_object();
        snprintf(note, sizeof(note),
                 "The result was cut to fit the server's limit of %zu bytes: "
                 "%zu of %zu entries of '%s' are shown (the first ones). Ask "
                 "for fewer at a time (a smaller limit, levels or time "
                 "range) to see the rest.",
                 max, kept, total, path);
        json_object_object_add(t, "field", json_object_new_string(path));
        json_object_object_add(t, "kept", json_object_new_int64((int64_t)kept));
        json_object_object_add(t, "of", json_object_new_int64((int64_t)total));
        json_object_object_add(t, "note", json_object_new_string(note));
        json_object_object_add(data, "truncated", t);
    }
    return 0;
}

/* Runs row idx with args (an object). Returns the CallToolResult. */
static json_object *
run_tool(struct request *r, int idx, json_object *args,
         json_object *progress_token, const atomic_int *cancel)
{
    struct mcp_server *srv = r->sess->srv;
    const struct tool_def *t = srv->tools[idx];
    struct tool_result tr;
    char err[512];
    char msg[TOOL_ERR_MAX + 128];

    schema_coerce_decimals(srv->schemas[idx], args);
    if (schema_validate(srv->schemas[idx], args, err, sizeof(err)) < 0) {
        snprintf(msg, sizeof(msg), "Invalid arguments for %s: %s", t->name,
                 err);
        return tool_error_result(msg);
    }
    struct mcp_call call = {
        .srv = srv,
        .sess = r->sess,
        .progress_token = progress_token,
        .cancel = cancel,
        .progress = -1, /* nothing sent yet: 0 is a valid first value */
        .tool = t->name,
        .tool_data = t->data,
        .args = args,
    };
    memset(&tr, 0, sizeof(tr));
    int rc = t->handler(&call, args, &tr);
    if (rc == 0 && tr.data != NULL && tr.text == NULL &&
        fit_result(tr.data, srv->opts.max_result_bytes) < 0) {
        json_object_put(tr.data);
        tr.data = NULL;
        rc = tool_fail(&tr,
                       "The result of %s is larger than the server's limit "
                       "of %zu bytes and cannot be shortened; ask for less.",
                       t->name, srv->opts.max_result_bytes);
    }
    if (rc == 0 &&
        ((tr.data != NULL && json_object_is_type(tr.data, json_type_object)) ||
         (tr.data == NULL && tr.content != NULL &&
          json_object_is_type(tr.content, json_type_array))))
        return tool_success_result(&tr);
    json_object_put(tr.data);
    json_object_put(tr.content);
    free(tr.text);
    if (!tr.is_error || tr.error[0] == '\0')
        snprintf(tr.error, sizeof(tr.error), "%s failed without a reason",
                 t->name);
    return tool_error_result(tr.error);
}

/* Zeroes the text of every string member of args (json-c keeps the bytes
 * in the object, so they are wiped in place before the object is freed). */
static void
wipe_string_args(json_object *args)
{
    json_object_object_foreach(args, key, val)
    {
        (void)key;
        if (json_object_is_type(val, json_type_string))
            secure_wipe((char *)json_object_get_string(val),
                        (size_t)json_object_get_string_len(val));
    }
}

/* The request id as JSON text, for cancellation matching. */
static void
id_to_text(json_object *id, char *buf, size_t len)
{
    strlcpy_checked(buf, json_object_to_json_string_ext(id, JSON_OUT_FLAGS),
                    len);
}

static void
method_tools_call(struct request *r)
{
    struct mcp_server *srv = r->sess->srv;
    const char *name = param_string(r, "name");
    json_object *args = NULL, *meta, *token = NULL;
    char msg[256], idtext[64];

    if (name == NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "tools/call needs params.name (a string)", NULL);
        return;
    }
    int idx = server_tool_index(srv, name);
    if (idx < 0) {
        snprintf(msg, sizeof(msg), "Unknown tool: %.100s", name);
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS, msg, NULL);
        observe(srv, name, 0, 0);
        return;
    }
    if (json_object_object_get_ex(r->params, "arguments", &args) &&
        args != NULL && !json_object_is_type(args, json_type_object)) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "tools/call params.arguments must be an object", NULL);
        return;
    }
    if (json_object_object_get_ex(r->params, "_meta", &meta) &&
        json_object_is_type(meta, json_type_object) &&
        json_object_object_get_ex(meta, "progressToken", &token) &&
        !json_object_is_type(token, json_type_string) &&
        !json_object_is_type(token, json_type_int))
        token = NULL;

    const struct tool_def *t = srv->tools[idx];
    if ((t->flags & TOOL_TRADING) && srv->opts.read_only) {
        snprintf(msg, sizeof(msg), "%s is disabled: %s", name,
                 srv->prov->read_only_refusal != NULL
                     ? srv->prov->read_only_refusal
                     : "this server is read-only.");
        reply_result(r->rc, r->id, tool_error_result(msg));
        observe(srv, name, 0, 0);
        return;
    }

    json_object *own_args = NULL;
    if (args == NULL)
        args = own_args = json_object_new_object();
    id_to_text(r->id, idtext, sizeof(idtext));
    struct mcp_inflight *slot = inflight_begin(r->sess, idtext);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_object *res =
        run_tool(r, idx, args, token, slot != NULL ? &slot->cancel : NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    json_object *iserr = NULL;
    json_object_object_get_ex(res, "isError", &iserr);
    int ok = !json_object_get_boolean(iserr);
    log_info("session %.8s: tool %s %s in %.0f ms", r->sess->id, name,
             ok ? "ok" : "failed", secs * 1000);
    observe(srv, t->name, ok, secs);
    if (t->flags & TOOL_SECRET_ARGS)
        wipe_string_args(args);
    json_object_put(own_args);
    if (inflight_end(r->sess, slot)) {
        /* Cancelled: the client no longer wants an answer. */
        log_info("session %.8s: request %s was cancelled", r->sess->id, idtext);
        json_object_put(res); /* no response: not counted as sent */
        return;
    }
    reply_result(r->rc, r->id, res);
}

/* Turns a catalog failure into a JSON-RPC error (takes err->data). */
static void
reply_provider_error(struct request *r, struct mcp_error *err)
{
    reply_error(r->rc, r->id, err->code ? err->code : RPC_INTERNAL_ERROR,
                err->message[0] ? err->message : "internal error", err->data);
    err->data = NULL;
}

static struct mcp_call
make_call(struct request *r)
{
    struct mcp_call c = {
        .srv = r->sess->srv,
        .sess = r->sess,
        .progress_token = NULL,
        .cancel = NULL,
        .progress = -1, /* nothing sent yet: 0 is a valid first value */
    };
    return c;
}

static void
method_resources_list(struct request *r)
{
    if (reject_cursor(r))
        return;
    json_object *res = json_object_new_object();
    json_object_object_add(res, "resources", r->sess->srv->prov->resources());
    reply_result(r->rc, r->id, res);
}

static void
method_resource_templates(struct request *r)
{
    if (reject_cursor(r))
        return;
    json_object *res = json_object_new_object();
    json_object_object_add(res, "resourceTemplates",
                           r->sess->srv->prov->resource_templates());
    reply_result(r->rc, r->id, res);
}

static void
method_resources_read(struct request *r)
{
    const char *uri = param_string(r, "uri");
    struct mcp_error err = {0, "", NULL};

    if (uri == NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "resources/read needs params.uri (a string)", NULL);
        return;
    }
    struct mcp_call call = make_call(r);
    json_object *res = r->sess->srv->prov->read_resource(&call, uri, &err);
    if (res == NULL)
        reply_provider_error(r, &err);
    else
        reply_result(r->rc, r->id, res);
}

/* resources/subscribe and resources/unsubscribe. */
static void
subscribe_op(struct request *r, int on)
{
    const struct mcp_provider *prov = r->sess->srv->prov;
    const char *uri = param_string(r, "uri");
    struct mcp_error err = {0, "", NULL};

    if (!subscriptions_offered(r->sess->srv)) {
        reply_error(r->rc, r->id, RPC_METHOD_NOT_FOUND,
                    "this server offers no resource subscriptions", NULL);
        return;
    }
    if (uri == NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "needs params.uri (a string)", NULL);
        return;
    }
    if (r->sess->subs == NULL) {
        reply_error(r->rc, r->id, RPC_INTERNAL_ERROR, "out of memory", NULL);
        return;
    }
    if (!on) { /* an unknown URI is no error: it is not subscribed */
        if (mcp_subs_remove(r->sess->subs, uri))
            r->sess->state_gen++;
        reply_result(r->rc, r->id, json_object_new_object());
        return;
    }
    struct mcp_call call = make_call(r);
    void *watch = prov->subscribe(&call, uri, &err);
    if (watch == NULL) {
        reply_provider_error(r, &err);
        return;
    }
    if (mcp_subs_add(r->sess->subs, uri, watch) < 0) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    errno == ENOSPC ? "too many subscriptions in this session "
                                      "(unsubscribe some first)"
                    : errno == ENAMETOOLONG ? "uri too long"
                                            : "out of memory",
                    NULL);
        return;
    }
    r->sess->state_gen++;
    reply_result(r->rc, r->id, json_object_new_object());
}

static void
method_subscribe(struct request *r)
{
    subscribe_op(r, 1);
}

static void
method_unsubscribe(struct request *r)
{
    subscribe_op(r, 0);
}

static void
method_prompts_list(struct request *r)
{
    if (reject_cursor(r))
        return;
    json_object *res = json_object_new_object();
    json_object_object_add(res, "prompts", r->sess->srv->prov->prompts());
    reply_result(r->rc, r->id, res);
}

static void
method_prompts_get(struct request *r)
{
    const char *name = param_string(r, "name");
    json_object *args = NULL;
    struct mcp_error err = {0, "", NULL};

    if (name == NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "prompts/get needs params.name (a string)", NULL);
        return;
    }
    if (json_object_object_get_ex(r->params, "arguments", &args) &&
        args != NULL && !json_object_is_type(args, json_type_object)) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "prompts/get params.arguments must be an object", NULL);
        return;
    }
    struct mcp_call call = make_call(r);
    json_object *res = r->sess->srv->prov->get_prompt(&call, name, args, &err);
    if (res == NULL)
        reply_provider_error(r, &err);
    else
        reply_result(r->rc, r->id, res);
}

static void
method_set_level(struct request *r)
{
    const char *level = param_string(r, "level");
    for (size_t i = 0; level != NULL && i < 8; i++) {
        if (strcmp(level, log_level_names[i]) == 0) {
            r->sess->log_level = (enum mcp_log_level)i;
            r->sess->state_gen++;
            reply_result(r->rc, r->id, json_object_new_object());
            return;
        }
    }
    reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                "logging/setLevel needs params.level: one of debug, info, "
                "notice, warning, error, critical, alert, emergency",
                NULL);
}

/* A string member of an object member of params, or NULL. */
static const char *
param_sub_string(const struct request *r, const char *obj, const char *key)
{
    json_object *o, *v;
    if (r->params == NULL || !json_object_object_get_ex(r->params, obj, &o) ||
        !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void
method_complete(struct request *r)
{
    const char *type = param_sub_string(r, "ref", "type");
    const char *ref_name = NULL;
    const char *arg = param_sub_string(r, "argument", "name");
    const char *value = param_sub_string(r, "argument", "value");
    struct mcp_error err = {0, "", NULL};

    if (type != NULL && strcmp(type, "ref/prompt") == 0)
        ref_name = param_sub_string(r, "ref", "name");
    else if (type != NULL && strcmp(type, "ref/resource") == 0)
        ref_name = param_sub_string(r, "ref", "uri");
    if (ref_name == NULL || arg == NULL || value == NULL) {
        reply_error(r->rc, r->id, RPC_INVALID_PARAMS,
                    "completion/complete needs ref {type: ref/prompt with "
                    "name, or ref/resource with uri} and argument {name, "
                    "value}",
                    NULL);
        return;
    }
    struct mcp_call call = make_call(r);
    json_object *c =
        r->sess->srv->prov->complete(&call, type, ref_name, arg, value, &err);
    if (c == NULL) {
        reply_provider_error(r, &err);
        return;
    }
    json_object *res = json_object_new_object();
    json_object_object_add(res, "completion", c);
    reply_result(r->rc, r->id, res);
}

static const struct {
    const char *name;
    void (*fn)(struct request *);
} methods[] = {
    {"initialize", method_initialize},
    {"ping", method_ping},
    {"tools/list", method_tools_list},
    {"tools/call", method_tools_call},
    {"resources/list", method_resources_list},
    {"resources/templates/list", method_resource_templates},
    {"resources/read", method_resources_read},
    {"resources/subscribe", method_subscribe},
    {"resources/unsubscribe", method_unsubscribe},
    {"prompts/list", method_prompts_list},
    {"prompts/get", method_prompts_get},
    {"logging/setLevel", method_set_level},
    {"completion/complete", method_complete},
};

/* ------------------------------------------------------------------ */
/* Framing                                                             */

static void
handle_notification(struct mcp_session *s, const char *method,
                    json_object *params)
{
    json_object *rid;
    char idtext[64];

    if (strcmp(method, "notifications/cancelled") == 0) {
        if (params != NULL &&
            json_object_object_get_ex(params, "requestId", &rid) &&
            rid != NULL) {
            id_to_text(rid, idtext, sizeof(idtext));
            mcp_session_cancel(s, idtext);
        }
        return;
    }
    if (strcmp(method, "notifications/initialized") == 0) {
        log_debug("session %.8s: client initialized", s->id);
        return;
    }
    /* Other notifications need no action; the spec forbids an answer. */
    log_debug("session %.8s: ignored notification %.64s", s->id, method);
}

/* Whether an integer id could not be represented: json-c saturates a
 * number beyond 64 bits to the type's limit, so the limits themselves are
 * refused rather than echoed as another number. */
static int
id_out_of_range(json_object *id)
{
    if (!json_object_is_type(id, json_type_int))
        return 0;
    int64_t v = json_object_get_int64(id);
    return v == INT64_MAX || v == INT64_MIN ||
           json_object_get_uint64(id) > (uint64_t)INT64_MAX;
}

/* Handles one request or notification object. */
static void
handle_one(struct reply_ctx *rc, json_object *msg)
{
    json_object *jv, *id = NULL, *m, *params = NULL;
    int has_id;

    if (!json_object_is_type(msg, json_type_object)) {
        reply_error(rc, NULL, RPC_INVALID_REQUEST,
                    "Invalid Request: a JSON-RPC message must be an object",
                    NULL);
        return;
    }
    has_id = json_object_object_get_ex(msg, "id", &id);
    if (has_id && id != NULL && !json_object_is_type(id, json_type_string) &&
        !json_object_is_type(id, json_type_int)) {
        reply_error(rc, NULL, RPC_INVALID_REQUEST,
                    "Invalid Request: id must be a string or an integer", NULL);
        return;
    }
    if (has_id && id_out_of_range(id)) {
        reply_error(rc, NULL, RPC_INVALID_REQUEST,
                    "Invalid Request: an integer id must lie strictly between "
                    "-2^63 and 2^63-1 (use a string id for larger values)",
                    NULL);
        return;
    }
    if (!json_object_object_get_ex(msg, "jsonrpc", &jv) ||
        !json_object_is_type(jv, json_type_string) ||
        strcmp(json_object_get_string(jv), "2.0") != 0) {
        reply_error(rc, id, RPC_INVALID_REQUEST,
                    "Invalid Request: jsonrpc must be \"2.0\"", NULL);
        return;
    }
    if (!json_object_object_get_ex(msg, "method", &m)) {
        /* A response to a server request (mcp_call_request). */
        if (object_is_response(msg)) {
            deliver_response(rc->sess, json_object_get(msg));
            return;
        }
        reply_error(rc, id, RPC_INVALID_REQUEST,
                    "Invalid Request: method is missing", NULL);
        return;
    }
    if (!json_object_is_type(m, json_type_string)) {
        reply_error(rc, id, RPC_INVALID_REQUEST,
                    "Invalid Request: method must be a string", NULL);
        return;
    }
    if (has_id && id == NULL) {
        reply_error(rc, NULL, RPC_INVALID_REQUEST,
                    "Invalid Request: id must not be null", NULL);
        return;
    }
    const char *method = json_object_get_string(m);
    if (json_object_object_get_ex(msg, "params", &params) && params != NULL &&
        !json_object_is_type(params, json_type_object)) {
        if (has_id)
            reply_error(rc, id, RPC_INVALID_PARAMS,
                        "Invalid params: params must be an object", NULL);
        return;
    }
    if (!has_id) {
        handle_notification(rc->sess, method, params);
        return;
    }
    struct request r = {rc, rc->sess, id, params, method};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(method, methods[i].name) == 0) {
            methods[i].fn(&r);
            return;
        }
    }
    char text[160];
    snprintf(text, sizeof(text), "Method not found: %.100s", method);
    reply_error(rc, id, RPC_METHOD_NOT_FOUND, text, NULL);
}

int
mcp_handle_message(struct mcp_session *s, const char *msg, size_t len)
{
    struct reply_ctx rc = {s, NULL, 0};
    json_object *root = NULL;
    enum json_tokener_error jerr = json_tokener_error_parse_eof;
    size_t used = 0;

    /* json-c needs the terminating NUL to finish a bare number, and a
     * message with an embedded NUL is not JSON. */
    char *text = len < INT32_MAX ? malloc(len + 1) : NULL;
    json_tokener *tok = json_tokener_new();
    if (text != NULL && tok != NULL) {
        memcpy(text, msg, len);
        text[len] = '\0';
        /* JSON text is UTF-8 (RFC 8259): anything else is a parse error,
         * so no invalid byte is ever echoed into an answer */
        json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
        if (strlen(text) == len) {
            root = json_tokener_parse_ex(tok, text, -1);
            jerr = json_tokener_get_error(tok);
            used = json_tokener_get_parse_end(tok);
            if (used > len)
                used = len;
        }
    }
    json_tokener_free(tok);
    if (text != NULL)
        secure_wipe(text, len); /* it may have carried credentials */
    free(text);
    /* Only white space may follow the value. */
    while (root != NULL && used < len &&
           (msg[used] == ' ' || msg[used] == '\t' || msg[used] == '\r' ||
            msg[used] == '\n'))
        used++;
    if (root == NULL || jerr != json_tokener_success || used != len) {
        json_object_put(root);
        reply_error(&rc, NULL, RPC_PARSE_ERROR,
                    "Parse error: the message is not valid JSON", NULL);
        return rc.sent;
    }
    if (json_object_is_type(root, json_type_array)) {
        size_t n = json_object_array_length(root);
        if (n == 0) {
            reply_error(&rc, NULL, RPC_INVALID_REQUEST,
                        "Invalid Request: empty batch", NULL);
        } else {
            rc.batch = json_object_new_array();
            for (size_t i = 0; i < n; i++)
                handle_one(&rc, json_object_array_get_idx(root, i));
            if (json_object_array_length(rc.batch) > 0)
                sink_send(s, rc.batch);
            json_object_put(rc.batch);
        }
    } else {
        handle_one(&rc, root);
    }
    json_object_put(root);
    return rc.sent;
}
