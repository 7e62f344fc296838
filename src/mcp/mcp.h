/*
 * mcp.h - the transport-agnostic MCP engine.
 *
 * Layer src/mcp/, the MCP engine: JSON-RPC and MCP sessions, the tool
 * contract (mcp_tool.h), argument validation (schema.h). It includes only
 * the common ground (src/core/); what a server offers comes from a
 * provider it is given, so the engine links without any Binance or tool
 * object (tests/test_engine_alone).
 *
 * A transport owns a struct mcp_session per client and hands the engine one
 * JSON-RPC message at a time with mcp_handle_message(). Everything the engine
 * wants to send (responses, notifications) goes out through the session's
 * sink, a callback the transport installs: stdio writes a line, the HTTP
 * transports write SSE events. The engine never touches a socket or a file
 * descriptor, so the same engine serves every transport in every worker.
 *
 * The engine knows no application: what a server offers (tools, resources,
 * prompts) comes from a struct mcp_provider, the tool contract is
 * mcp_tool.h, and whatever the application keeps per server or per session
 * (binmcpd: the Binance credentials) sits behind opaque pointers the engine
 * only hands back. It includes only the common ground (log, util) and the
 * schema validator; it links without any application object.
 *
 * Threads: a server may be shared by threads; a session must be used by one
 * thread at a time, except mcp_session_cancel(), which may be called from
 * another thread while a request of that session is running.
 */
#ifndef BINMCPD_MCP_H
#define BINMCPD_MCP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define MCP_LATEST_VERSION "2025-11-25"
#define MCP_SESSION_ID_MAX 64
#define MCP_MAX_INFLIGHT   8

/* Receives one serialized JSON-RPC message (no trailing newline). Returns 0,
 * or -1 if it could not be delivered (the engine then logs and goes on). */
typedef int (*mcp_sink_fn)(void *arg, const char *msg, size_t len);

/* MCP logging levels (RFC 5424 order). */
enum mcp_log_level {
    MCP_LOG_DEBUG = 0,
    MCP_LOG_INFO,
    MCP_LOG_NOTICE,
    MCP_LOG_WARNING,
    MCP_LOG_ERROR,
    MCP_LOG_CRITICAL,
    MCP_LOG_ALERT,
    MCP_LOG_EMERGENCY,
};

struct mcp_server;

/* A request being served, so that notifications/cancelled can find it. */
struct mcp_inflight {
    int used;
    char id[64];       /* the request id, serialized as JSON */
    atomic_int cancel; /* raised by mcp_session_cancel */
};

struct mcp_pending; /* server requests waiting for a response */
struct mcp_subs;    /* a session's subscriptions (mcp_subs.h) */

struct mcp_session {
    struct mcp_server *srv;
    char id[MCP_SESSION_ID_MAX];  /* transport's session id ("stdio") */
    int initialized;              /* initialize answered */
    char version[16];             /* negotiated protocol version */
    enum mcp_log_level log_level; /* notifications/message threshold */
    void *app; /* the provider's per-session state (binmcpd: the session
                  credentials): NULL until the provider sets it; released
                  by provider->session_free when the session finishes */
    mcp_sink_fn sink;
    void *sink_arg;
    pthread_mutex_t lock; /* guards inflight[] and pending */
    struct mcp_inflight inflight[MCP_MAX_INFLIGHT];
    struct mcp_pending *pending; /* server requests awaiting answers */
    unsigned next_request;       /* ids of server requests */
    int client_sampling;         /* client capabilities from initialize */
    int client_elicitation;      /* form-mode elicitation (an empty
                                    elicitation object or one with form) */
    struct mcp_subs *subs;       /* resource subscriptions (mcp_subs.h):
                                    made at init when the server offers
                                    them, else NULL; fixed until finish */
    unsigned state_gen;          /* grows whenever what mcp_session_save() keeps
                                    changes (the engine's fields above, or the app
                                    through mcp_session_state_changed) */
};

/* What a tool handler, resource reader or prompt sees of its caller. */
struct mcp_call {
    struct mcp_server *srv;
    struct mcp_session *sess;
    json_object *progress_token; /* borrowed; NULL when the caller sent none */
    const atomic_int *cancel;    /* raised when the client cancels */
    double progress;             /* last progress value sent */
    const char *tool;            /* tools/call: the tool's name, else NULL */
    const void *tool_data;       /* tools/call: the row's data, else NULL */
    json_object *args;           /* tools/call: its validated arguments
                                    (borrowed), else NULL */
};

struct tool_def; /* mcp_tool.h */

#define MCP_ERROR_MAX 512

/* The JSON-RPC error a provider's resource read, prompt get, completion or
 * subscription ends with. */
struct mcp_error {
    int code; /* -32002 unknown resource, -32602 bad
                 argument or prompt, -32603 upstream */
    char message[MCP_ERROR_MAX];
    json_object *data; /* optional error data, owned here */
};

/* What a server offers: its tools, resources, prompts and completions.
 * binmcpd's own is mcp_binance_provider (tools.h: the Binance tools and
 * catalog); the conformance test server brings its fixtures. */
struct mcp_provider {
    const char *name;                   /* serverInfo.name */
    const char *title;                  /* serverInfo.title */
    const char *instructions;           /* NULL: none */
    const char *instructions_read_only; /* a read-only server's; NULL:
                                           instructions */
    const char *read_only_refusal;      /* the isError text of a TOOL_TRADING
                                           call on a read-only server, after
                                           "<tool> is disabled: "; NULL: "this
                                           server is read-only." */
    size_t (*tool_count)(void);
    const struct tool_def *(*tool_at)(size_t i);
    json_object *(*resources)(void);          /* new array */
    json_object *(*resource_templates)(void); /* new array */
    json_object *(*read_resource)(struct mcp_call *call, const char *uri,
                                  struct mcp_error *err);
    json_object *(*prompts)(void); /* new array */
    json_object *(*get_prompt)(struct mcp_call *call, const char *name,
                               json_object *args, struct mcp_error *err);
    json_object *(*complete)(struct mcp_call *call, const char *ref_type,
                             const char *ref_name, const char *arg_name,
                             const char *prefix, struct mcp_error *err);
    /* resources/subscribe: checks uri and returns what to watch for it (an
     * opaque, non-NULL watch the engine keeps until unsubscribe or the
     * session's end, then releases with watch_free), or NULL with err set.
     * NULL (or mcp_options.subscriptions 0): the server offers no
     * subscriptions (capability subscribe false, the methods -32601). */
    void *(*subscribe)(struct mcp_call *call, const char *uri,
                       struct mcp_error *err);
    /* The watched resource's version: any change of it is announced with
     * notifications/resources/updated (mcp_subs.h). Runs on the
     * transport's poll thread, under the subscription list's lock: it must not
     * block and must not touch the session. now_ms is the wall clock, or 0 for
     * the first reading right after subscribe (no side effects then). */
    uint64_t (*watch_version)(void *provider_ctx, void *watch, int64_t now_ms);
    void (*watch_free)(void *watch);
    /* Releases a session's app (never NULL when called) when the session
     * finishes; it must wipe what is secret in it. NULL: the provider never
     * sets mcp_session.app. */
    void (*session_free)(void *app);
    /* Writes what a session's app (never NULL when called) must keep when
     * another process takes the session over into buf (cap bytes). Returns
     * the bytes written (0: nothing to keep), or -1 when it does not fit.
     * NULL: an app is never kept (an adopted session starts without). */
    long (*session_save)(const void *app, void *buf, size_t cap);
    /* Rebuilds an app from len bytes session_save wrote (len > 0).
     * Returns it (released by session_free), or NULL when malformed or out
     * of memory. Required with session_save. */
    void *(*session_load)(const void *buf, size_t len);
};

struct mcp_options {
    int read_only;                       /* hide and refuse order tools */
    const struct mcp_provider *provider; /* required */
    void *provider_ctx;      /* the provider's own (borrowed: it must outlive
                                the server); the engine only hands it back
                                (mcp_server_provider_ctx). May be NULL. */
    size_t max_result_bytes; /* a tool result's cap (structuredContent and
                                its text copy together); 0: no cap */
    int subscriptions;       /* offer resources/subscribe (the transport polls,
                                mcp_session_poll_subscriptions); needs the
                                provider's subscribe */
};

/* Creates a server. opts is copied (provider and provider_ctx are
 * borrowed). Parses and checks every tool schema; returns NULL with a log
 * line when no provider is given, a schema is malformed or memory runs
 * out. */
struct mcp_server *mcp_server_new(const struct mcp_options *opts);

/* Frees the server. Sessions must be finished first. */
void mcp_server_free(struct mcp_server *srv);

/* Prepares a session bound to srv that writes through sink. id is copied. */
void mcp_session_init(struct mcp_session *s, struct mcp_server *srv,
                      const char *id, mcp_sink_fn sink, void *sink_arg);

/* Releases what the session holds, its app through the provider's
 * session_free (which wipes the application's secrets). */
void mcp_session_finish(struct mcp_session *s);

/* What another process needs to go on with a session (its transport took
 * it over when the process that held it died): the negotiated version,
 * the initialized flag, the client's capabilities, the log level and the
 * provider's app (provider->session_save; it may carry secrets, so the
 * caller wipes buf after use). Writes at most cap bytes into buf and sets
 * *len. Returns 0, or -1 when it does not fit (buf is then wiped). Call
 * from the thread that uses the session. */
int mcp_session_save(const struct mcp_session *s, void *buf, size_t cap,
                     size_t *len);

/* Restores into a session fresh from mcp_session_init() what
 * mcp_session_save() wrote (len bytes; the caller still wipes buf).
 * Returns 0, or -1 when buf is malformed or the app cannot be rebuilt (the
 * session then keeps its fresh state). */
int mcp_session_load(struct mcp_session *s, const void *buf, size_t len);

/* The provider tells the engine that the session's app changed, so that
 * a transport that keeps sessions for takeover saves it again. */
void mcp_session_state_changed(struct mcp_session *s);

/* Handles one message (a JSON-RPC request, notification or response, or a
 * batch array) of len bytes. Responses go to the session's sink before the
 * call returns. Malformed input is answered with the JSON-RPC error the spec
 * names; it never fails the session. Returns the number of responses sent
 * (a request cancelled while it ran gets none: a transport that sees 0 for
 * a request knows it was cancelled). */
int mcp_handle_message(struct mcp_session *s, const char *msg, size_t len);

/* Whether msg (len bytes) is a JSON-RPC response (an id with a result or
 * an error, no method). Transports route responses with
 * mcp_session_response instead of queueing them behind the request that
 * waits for them. */
int mcp_is_response(const char *msg, size_t len);

/* The method of a JSON-RPC message object, borrowed from o; NULL when o is
 * not an object or its method is absent or not a string. Every transport
 * reads a message's method through this, so a hostile message (a null, a
 * number, an array as method) is never taken for a string. */
const char *mcp_message_method(json_object *o);

/* What a transport must know of a parsed message (an object or a batch
 * array) before it queues it: *requests is set when it holds at least one
 * request (a method and an id), *initialize when one of them is
 * "initialize". Malformed members count as neither. */
void mcp_message_classify(json_object *o, int *initialize, int *requests);

/* The one triage every transport runs on an incoming message before it
 * queues it: a notifications/cancelled (its requestId serialized exactly
 * as the engine serializes ids) is acted on at once, and a response to a
 * server request goes straight to the call waiting for it. Returns 1 when
 * msg was one of those (the transport then drops it), 0 when it must be
 * queued for mcp_handle_message. Never fails on malformed input (it
 * returns 0 and the engine answers the error). Safe from any thread. */
int mcp_session_intercept(struct mcp_session *s, const char *msg, size_t len);

/* Hands a response from the client to the server request waiting for it
 * (mcp_call_request). Safe from any thread. Returns 1 when a request was
 * waiting for it, 0 when nobody was (it is dropped). */
int mcp_session_response(struct mcp_session *s, const char *msg, size_t len);

/* Sends a request to the client (sampling/createMessage, elicitation/create,
 * ...) through the session's sink and waits up to timeout_ms for its
 * response. On success stores the result object (new reference) in
 * *result and returns 0; returns -1 with a sentence in err when the client
 * lacks the capability (cap, e.g. "sampling"; NULL: no check), answered
 * with an error, the call was cancelled, or the time ran out. */
int mcp_call_request(struct mcp_call *c, const char *method,
                     json_object *params, const char *cap, int timeout_ms,
                     json_object **result, char *err, size_t errlen);

/* Marks the request whose JSON-serialized id is id_json as cancelled, if it
 * is still running. Safe from another thread. Returns 1 if found. */
int mcp_session_cancel(struct mcp_session *s, const char *id_json);

/* Sends notifications/progress for the call when the caller asked for
 * progress (a progressToken); otherwise does nothing. progress must grow. */
void mcp_call_progress(struct mcp_call *c, double progress, double total,
                       const char *message);

/* Sends notifications/message at level when the session's level lets it
 * through. data is a plain text message. */
void mcp_call_log(struct mcp_call *c, enum mcp_log_level level,
                  const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The protocol versions the engine speaks, newest first (the first is
 * MCP_LATEST_VERSION); NULL when i is past the end. Static strings. */
const char *mcp_version_at(size_t i);

/* Whether v (may be NULL) is one of them. */
int mcp_version_supported(const char *v);

/* Writes every version, newest first, into buf (len > 0 bytes), each
 * between two quote ("" or "\"") and separated by sep; truncated if buf is
 * too short, always NUL-terminated. Returns buf. */
char *mcp_versions_join(char *buf, size_t len, const char *quote,
                        const char *sep);

/* Whether an elicitation/create to this session carries "mode" (protocol
 * 2025-11-25 and later). */
int mcp_session_elicitation_mode(const struct mcp_session *s);

/* The provider and the provider_ctx (may be NULL) the server was built
 * with. */
const struct mcp_provider *mcp_server_provider(const struct mcp_server *srv);
void *mcp_server_provider_ctx(const struct mcp_server *srv);

/* Calls fn(arg, tool, ok, seconds) after every tools/call (also for an
 * unknown tool or a refused one, with ok 0). Set before threads start. */
void mcp_server_set_tool_observer(struct mcp_server *srv,
                                  void (*fn)(void *arg, const char *tool,
                                             int ok, double seconds),
                                  void *arg);

/* How many resources the session is subscribed to (any thread). */
unsigned mcp_session_subscriptions(struct mcp_session *s);

/* Polls the session's subscriptions (any thread, beside the one serving
 * its requests, until mcp_session_finish; see mcp_subs.h): sends
 * notifications/resources/updated through send(arg, ...) for each
 * resource whose version moved, at most once per interval_ms each (the
 * changes in between are coalesced into the next one). A send that
 * returns -1 leaves the notification due for a later poll. Returns the
 * number sent. */
int mcp_session_poll_subscriptions(struct mcp_session *s, int64_t now_ms,
                                   int64_t interval_ms, mcp_sink_fn send,
                                   void *arg);

/* Whether the server offers resources/subscribe (mcp_options.subscriptions
 * with a provider that has subscribe and watch_version). */
int mcp_server_subscriptions(const struct mcp_server *srv);

/* Whether the server was started read-only. */
int mcp_server_read_only(const struct mcp_server *srv);

#endif
