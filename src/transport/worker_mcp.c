/*
 * worker_mcp.c - the worker's HTTP side: admission, the router and the MCP
 * endpoints. See worker_int.h and the transport rules in binmcpd(8).
 *
 * Owns struct conn (one TCP connection: its place under
 * max_connections_per_ip and its request deadline), struct req (one
 * request's body and client, from libmicrohttpd's first call to its
 * completion) and the decisions about a request: whether it may come in
 * (connections per address, request_timeout, Host, rate limit, Origin,
 * bearer token, body cap, session and stream limits), where it goes, and
 * what each endpoint answers:
 *   GET  /mcp/sse      a legacy session and its stream
 *   POST /mcp/message  a message for a legacy session (202)
 *   POST /mcp          Streamable HTTP: a new session, or a message whose
 *                      answer comes on a POST stream (202 without one)
 *   GET  /mcp          a standalone stream, or a Last-Event-ID resumption
 *   DELETE /mcp        the end of a session
 *   /health, /, /metrics  (worker_reply.c)
 * Sessions and delivery are worker_jobs.c's, streams worker_stream.c's.
 * Runs on libmicrohttpd's thread (worker_mcp_tick on the main thread);
 * takes w->lock only to touch a connection, a stream or a session.
 *
 * A connection is "receiving" from its accept, and again from the end of
 * each response, until its next request is whole (headers and body):
 * past request_timeout in that state the main thread shuts its socket
 * down and libmicrohttpd closes it. An SSE stream is not receiving: its
 * idle limit is libmicrohttpd's connection timeout, kept busy by the
 * keep-alives. libmicrohttpd reports a connection closed before it closes
 * the socket, and that report takes w->lock, so a socket on the list is
 * always still open.
 *
 * Sessions belong to a client and remember its credential (struct
 * reg_client): with bearer tokens, both are the token's fingerprint;
 * without, the credential is none and the client is the address (an IPv6
 * /64 as one). A session used with another credential is unknown (404).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "auth.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "util.h"
#include "worker_int.h"

/* One TCP connection, from libmicrohttpd's accept to its close (its
 * socket context). The list fields and the flags are under w->lock. */
struct conn {
    struct conn *prev, *next; /* w->http's receiving list */
    int fd;
    int receiving;    /* on the list: a whole request is due by deadline */
    int closing;      /* past its deadline: shut down */
    int64_t deadline; /* mono_ms() */
    uint64_t ip_key;  /* cl_key() of its address */
    int ip_counted;   /* cl_add() counted it */
};

/* One request, from libmicrohttpd's first call to its completion. */
struct req {
    struct dbuf body; /* capped at max_body; wiped at the end */
    int too_big;
    int started;
    struct reg_client who; /* the client and its credential */
};

/* Counts a refusal in the metrics, when they are on. */
static void
count_reject(const struct worker *w, enum metrics_reject_reason why)
{
    if (w->env->metrics != NULL)
        metrics_reject(w->env->metrics, why);
}

/* What a full resource is called in a 503. */
enum full_what {
    FULL_STREAMS,  /* max_connections */
    FULL_SESSIONS, /* max_sessions, none idle */
    FULL_CLIENT,   /* max_sessions_per_client, none of its sessions idle */
};

/* 503 when a resource is used up: a JSON-RPC error for Streamable HTTP, a
 * JSON error for legacy SSE, with Retry-After. Counted as a rejection. */
static enum MHD_Result
reply_full(const struct worker *w, struct MHD_Connection *c, int streamable,
           enum full_what what)
{
    static const char *const codes[] = {"max_connections", "max_sessions",
                                        "max_sessions_per_client"};
    static const enum metrics_reject_reason reasons[] = {
        METRICS_REJECT_MAX_CONNECTIONS, METRICS_REJECT_MAX_SESSIONS,
        METRICS_REJECT_MAX_SESSIONS_CLIENT};
    char msg[200];

    count_reject(w, reasons[what]);
    if (what == FULL_STREAMS)
        snprintf(msg, sizeof(msg),
                 "all %d streams are open; retry in a few seconds",
                 w->set->max_connections);
    else if (what == FULL_SESSIONS)
        snprintf(msg, sizeof(msg),
                 "all %u sessions are in use and none is idle; retry in a "
                 "few seconds",
                 reg_max_live(w->env->reg));
    else
        snprintf(msg, sizeof(msg),
                 "this client has %u sessions and none is idle; end one "
                 "(DELETE) or retry later",
                 reg_max_per_client(w->env->reg));
    log_info("refused: %s", msg);
    if (streamable)
        return reply_rpc_error(w, c, 503, -32000, msg, "Retry-After", "5");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(codes[what]));
    json_object_object_add(o, "message", json_object_new_string(msg));
    enum MHD_Result ret =
        reply_text(w, c, 503, "application/json",
                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                   "Retry-After", "5");
    json_object_put(o);
    return ret;
}

/* The answer when a session could not be claimed (errno from
 * reg_claim_as). */
static enum MHD_Result
reply_claim_failed(const struct worker *w, struct MHD_Connection *c,
                   int streamable)
{
    if (errno == EAGAIN)
        return reply_full(w, c, streamable, FULL_SESSIONS);
    if (errno == EDQUOT)
        return reply_full(w, c, streamable, FULL_CLIENT);
    return streamable ? reply_rpc_error(w, c, 500, -32603, "registry failure",
                                        NULL, NULL)
                      : reply_error(w, c, 500, "internal",
                                    "the session registry failed");
}

/* The answer when a stream could not be opened (errno from stream_new and
 * stream_open_resumed). */
static enum MHD_Result
reply_stream_failed(const struct worker *w, struct MHD_Connection *c,
                    int streamable)
{
    if (errno == EAGAIN)
        return reply_full(w, c, streamable, FULL_STREAMS);
    if (errno == ENOENT)
        return streamable ? reply_rpc_error(w, c, 404, -32001,
                                            "Session not found", NULL, NULL)
                          : reply_error(w, c, 404, "unknown_session",
                                        "the session ended");
    if (errno == EBUSY)
        return reply_rpc_error(w, c, 503, -32000, "the server is busy",
                               "Retry-After", "1");
    return streamable
               ? reply_rpc_error(w, c, 500, -32603, "out of memory", NULL, NULL)
               : reply_error(w, c, 500, "internal", "out of memory");
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void
conn_unlink_locked(struct worker *w, struct conn *cn)
{
    if (!cn->receiving)
        return;
    if (cn->prev != NULL)
        cn->prev->next = cn->next;
    else
        w->http.recv_head = cn->next;
    if (cn->next != NULL)
        cn->next->prev = cn->prev;
    else
        w->http.recv_tail = cn->prev;
    cn->prev = cn->next = NULL;
    cn->receiving = 0;
}

/* The connection waits for a request: request_timeout from now. Every
 * deadline is now plus the same time, so appending keeps the order. */
static void
conn_wait_request_locked(struct worker *w, struct conn *cn)
{
    if (cn->receiving || cn->closing)
        return;
    cn->deadline = mono_ms() + (int64_t)w->set->request_timeout_s * 1000;
    cn->receiving = 1;
    cn->next = NULL;
    cn->prev = w->http.recv_tail;
    if (w->http.recv_tail != NULL)
        w->http.recv_tail->next = cn;
    else
        w->http.recv_head = cn;
    w->http.recv_tail = cn;
}

/* Our record of c, or NULL (none could be allocated). */
static struct conn *
conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* c's request is whole (or answered early): no deadline while it is
 * handled. Takes the lock. */
static void
conn_request_in(struct worker *w, struct MHD_Connection *c)
{
    struct conn *cn = conn_of(c);
    if (cn == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    conn_unlink_locked(w, cn);
    pthread_mutex_unlock(&w->lock);
}

/* libmicrohttpd's accept policy (cls: the worker): a client address with
 * max_connections_per_ip connections open (all workers) is refused, and
 * libmicrohttpd closes the socket at once. */
enum MHD_Result
worker_mcp_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct worker *w = cls;
    char key[RL_KEY_MAX];

    (void)addrlen;
    if (w->env->conns == NULL)
        return MHD_YES;
    rl_client_key(addr, key, sizeof(key));
    if (!cl_full(w->env->conns, cl_key(w->env->conns, key)))
        return MHD_YES;
    count_reject(w, METRICS_REJECT_PER_IP);
    log_debug("connection from %s refused: %u open "
              "(max_connections_per_ip)",
              key, cl_limit(w->env->conns));
    return MHD_NO;
}

/* libmicrohttpd's connection notices (cls: the worker): a new connection
 * gets its struct conn (counted for its address, waiting for a request);
 * a closed one gives both back. Out of memory, a connection goes
 * untracked: no deadline, not counted. */
void
worker_mcp_connection(void *cls, struct MHD_Connection *c,
                      void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    struct worker *w = cls;
    struct conn *cn;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci;
        cn = calloc(1, sizeof(*cn));
        if (cn == NULL)
            return;
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        cn->fd = ci != NULL ? ci->connect_fd : -1;
        if (w->env->conns != NULL) {
            char key[RL_KEY_MAX];
            ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
            rl_client_key(ci != NULL ? ci->client_addr : NULL, key,
                          sizeof(key));
            cn->ip_key = cl_key(w->env->conns, key);
            cn->ip_counted = cl_add(w->env->conns, w->env->index, cn->ip_key);
        }
        pthread_mutex_lock(&w->lock);
        w->http.nconns++;
        conn_wait_request_locked(w, cn);
        pthread_mutex_unlock(&w->lock);
        *socket_context = cn;
        return;
    }
    cn = *socket_context;
    if (cn == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    conn_unlink_locked(w, cn);
    w->http.nconns--;
    pthread_mutex_unlock(&w->lock);
    if (cn->ip_counted)
        cl_remove(w->env->conns, w->env->index, cn->ip_key);
    free(cn);
    *socket_context = NULL;
}

/* The main thread's tick (now: mono_ms()): shuts down the connections
 * whose request did not come whole in time; libmicrohttpd then closes
 * them. Takes the lock. */
void
worker_mcp_tick(struct worker *w, int64_t now)
{
    struct conn *cn;
    unsigned n = 0;

    pthread_mutex_lock(&w->lock);
    while ((cn = w->http.recv_head) != NULL && cn->deadline <= now) {
        conn_unlink_locked(w, cn);
        cn->closing = 1;
        if (cn->fd >= 0)
            shutdown(cn->fd, SHUT_RDWR);
        n++;
    }
    pthread_mutex_unlock(&w->lock);
    if (n == 0)
        return;
    for (unsigned i = 0; i < n; i++)
        count_reject(w, METRICS_REJECT_REQUEST_TIMEOUT);
    log_info("%u connection%s closed: no whole request within "
             "%d s (request_timeout)",
             n, n == 1 ? "" : "s", w->set->request_timeout_s);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* A request header, or NULL. */
static const char *
header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Whether the media type of value is type (parameters ignored). */
static int
media_is(const char *value, const char *type)
{
    size_t n = strlen(type);
    if (value == NULL)
        return 0;
    while (*value == ' ')
        value++;
    return strncasecmp(value, type, n) == 0 &&
           (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

/* Whether an Accept header lists type (or a wildcard that covers it). */
static int
accepts(const char *accept, const char *type)
{
    if (accept == NULL)
        return 0;
    if (strcasestr(accept, type) != NULL || strstr(accept, "*/*") != NULL)
        return 1;
    return 0;
}

/* Loopback origins are always allowed; others only when configured. */
static int
origin_allowed(const struct worker *w, const char *origin)
{
    static const char *const loopback[] = {
        "http://localhost",  "https://localhost", "http://127.0.0.1",
        "https://127.0.0.1", "http://[::1]",      "https://[::1]",
    };
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        size_t n = strlen(loopback[i]);
        if (strncasecmp(origin, loopback[i], n) == 0 &&
            (origin[n] == '\0' || origin[n] == ':'))
            return 1;
    }
    for (int i = 0; i < w->set->norigins; i++)
        if (strcmp(origin, w->set->origins[i]) == 0)
            return 1;
    return 0;
}

/* Whether max_connections streams are open: checked before a session is
 * claimed for a stream, so that no session is made (or evicted) for a
 * request that cannot have its stream. stream_new() checks again. */
static int
streams_full(const struct worker *w)
{
    struct registry *reg = w->env->reg;
    return reg_max_streams(reg) > 0 && reg_streams(reg) >= reg_max_streams(reg);
}

/* GET /mcp/sse: a new legacy session and its stream. No room for either
 * is 503; out of memory gives the slot back and answers 500. */
static enum MHD_Result
legacy_open(struct worker *w, struct MHD_Connection *c, struct req *rq)
{
    char id[REG_ID_LEN + 1], text[160];
    struct reg_ref ref;

    if (streams_full(w))
        return reply_full(w, c, 0, FULL_STREAMS);
    if (reg_claim_as(w->env->reg, w->env->index, REG_KIND_LEGACY, &rq->who, id,
                     &ref) < 0)
        return reply_claim_failed(w, c, 0);
    pthread_mutex_lock(&w->lock);
    struct stream *st = stream_new(w, STREAM_LEGACY, ref);
    if (st == NULL) {
        int err = errno;
        pthread_mutex_unlock(&w->lock);
        reg_release(w->env->reg, ref);
        errno = err;
        return reply_stream_failed(w, c, 0);
    }
    struct wsession *ws = jobs_session_new_locked(w, ref, id, REG_KIND_LEGACY);
    if (ws == NULL) {
        stream_discard_locked(w, st);
        pthread_mutex_unlock(&w->lock);
        reg_release(w->env->reg, ref);
        return reply_error(w, c, 500, "internal", "out of memory");
    }
    st->sess = ws;
    ws->main = st;
    int n = snprintf(text, sizeof(text),
                     RETRY_HINT "event: endpoint\ndata: "
                                "/mcp/message?sessionId=%s\n\n",
                     id);
    stream_push(st, text, (size_t)n);
    pthread_mutex_unlock(&w->lock);
    log_info("SSE session %.8s... opened (stream %llu)", id,
             (unsigned long long)st->id);
    return stream_respond(w, c, st, "X-Connection-ID", id);
}

/* Checks what every POST needs: a JSON body within the cap. Returns 1
 * after queueing an error (a JSON-RPC one when rpc is set), or 0 when all
 * is fine. */
static int
post_body_bad(const struct worker *w, struct MHD_Connection *c, struct req *rq,
              int rpc)
{
    if (!media_is(header(c, "Content-Type"), "application/json")) {
        if (rpc)
            reply_rpc_error(w, c, 415, -32000,
                            "Unsupported Media Type: Content-Type must be "
                            "application/json",
                            NULL, NULL);
        else
            reply_error(w, c, 415, "unsupported_media_type",
                        "Content-Type must be application/json");
        return 1;
    }
    if (rq->too_big) {
        if (rpc)
            reply_rpc_error(w, c, 413, -32000, "Payload Too Large", NULL, NULL);
        else
            reply_error(w, c, 413, "too_large", "the body is over the cap");
        return 1;
    }
    return 0;
}

/* Parses a POST body; answers -32700 and returns NULL when it is not JSON.
 * The caller puts the object it gets. */
static json_object *
post_parse(const struct worker *w, struct MHD_Connection *c, struct req *rq)
{
    json_object *o = NULL;
    if (rq->body.len > 0 && strlen(dbuf_str(&rq->body)) == rq->body.len) {
        json_tokener *tok = json_tokener_new_ex(64);
        if (tok != NULL) {
            o = json_tokener_parse_ex(tok, dbuf_str(&rq->body),
                                      (int)rq->body.len + 1);
            if (json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
            }
            json_tokener_free(tok);
        }
    }
    if (o == NULL)
        reply_rpc_error(w, c, 400, -32700, "Parse error: the body is not JSON",
                        NULL, NULL);
    return o;
}

/* POST /mcp/message: hand the message to the session's owner; 202. */
static enum MHD_Result
legacy_post(struct worker *w, struct MHD_Connection *c, struct req *rq)
{
    const char *id =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sessionId");
    struct reg_ref ref;
    int owner;

    if (id == NULL)
        id = header(c, "X-Connection-ID");
    if (id == NULL)
        return reply_error(w, c, 400, "missing_session",
                           "give the session id as ?sessionId= or in "
                           "X-Connection-ID");
    if (reg_lookup_as(w->env->reg, id, rq->who.cred, &ref, &owner, NULL) < 0)
        return reply_error(w, c, 404, "unknown_session",
                           "no such session: it ended or expired; open a "
                           "new one with GET /mcp/sse");
    if (post_body_bad(w, c, rq, 0))
        return MHD_YES;
    json_object *o = post_parse(w, c, rq);
    if (o == NULL)
        return MHD_YES;
    json_object_put(o);
    if (jobs_deliver(w, ref, owner, dbuf_str(&rq->body), rq->body.len,
                     IPC_REPLY_MAIN, 0) < 0)
        return errno == EAGAIN
                   ? reply_error(w, c, 503, "busy", "the server is busy; retry")
                   : reply_error(w, c, 404, "unknown_session",
                                 "the session ended");
    return reply_text(w, c, 202, "application/json",
                      "{\"status\":\"accepted\"}", NULL, NULL);
}

/* Opens a POST answer stream and hands the body to the owner (new_id: the
 * Mcp-Session-Id of a session just created, else NULL; msg: the body
 * parsed, borrowed, whose request ids the stream answers). No stream is
 * 503 (and a session just created ends), a full channel 503, a session
 * gone 404; the stream is then freed. */
static enum MHD_Result
streamable_answer(struct worker *w, struct MHD_Connection *c, struct req *rq,
                  struct reg_ref ref, int owner, const char *new_id,
                  json_object *msg)
{
    struct stream *st = stream_open(w, STREAM_POST, ref);
    if (st == NULL) {
        int err = errno;
        if (new_id != NULL) {
            pthread_mutex_lock(&w->lock);
            struct wsession *ws = jobs_session_get_locked(w, ref);
            if (ws != NULL)
                jobs_session_release_locked(w, ws, "no stream for its answer");
            pthread_mutex_unlock(&w->lock);
        }
        errno = err;
        return reply_stream_failed(w, c, 1);
    }
    pthread_mutex_lock(&w->lock);
    stream_expect_locked(w, st, msg, owner);
    pthread_mutex_unlock(&w->lock);
    if (jobs_deliver(w, ref, owner, dbuf_str(&rq->body), rq->body.len,
                     w->env->index, st->id) < 0) {
        int busy = errno == EAGAIN;
        pthread_mutex_lock(&w->lock);
        stream_discard_locked(w, st);
        pthread_mutex_unlock(&w->lock);
        return busy ? reply_rpc_error(w, c, 503, -32000, "the server is busy",
                                      "Retry-After", "1")
                    : reply_rpc_error(w, c, 404, -32001, "Session not found",
                                      NULL, NULL);
    }
    return stream_respond(w, c, st, new_id ? "Mcp-Session-Id" : NULL, new_id);
}

/* POST /mcp after the checks, with the body parsed (o, borrowed): creates
 * a session for an initialize, else finds the session (adopting it when
 * its owner died); requests get a POST stream, notifications and
 * responses a 202. */
static enum MHD_Result
streamable_route(struct worker *w, struct MHD_Connection *c, struct req *rq,
                 json_object *o)
{
    const char *sid = header(c, "Mcp-Session-Id");
    char id[REG_ID_LEN + 1];
    struct reg_ref ref;
    int owner, init, requests;

    mcp_message_classify(o, &init, &requests);
    if (init) {
        if (streams_full(w))
            return reply_full(w, c, 1, FULL_STREAMS);
        if (reg_claim_as(w->env->reg, w->env->index, REG_KIND_STREAMABLE,
                         &rq->who, id, &ref) < 0)
            return reply_claim_failed(w, c, 1);
        pthread_mutex_lock(&w->lock);
        struct wsession *ws =
            jobs_session_new_locked(w, ref, id, REG_KIND_STREAMABLE);
        pthread_mutex_unlock(&w->lock);
        if (ws == NULL) {
            reg_release(w->env->reg, ref);
            return reply_rpc_error(w, c, 500, -32603, "out of memory", NULL,
                                   NULL);
        }
        log_info("Streamable HTTP session %.8s... created", id);
        return streamable_answer(w, c, rq, ref, w->env->index, id, o);
    }
    if (sid == NULL)
        return reply_rpc_error(w, c, 400, -32000,
                               "Bad Request: Mcp-Session-Id header is "
                               "required",
                               NULL, NULL);
    if (reg_lookup_as(w->env->reg, sid, rq->who.cred, &ref, &owner, NULL) < 0 ||
        (owner = jobs_owner(w, ref)) < 0)
        return reply_rpc_error(w, c, 404, -32001, "Session not found", NULL,
                               NULL);
    if (requests)
        return streamable_answer(w, c, rq, ref, owner, NULL, o);
    if (jobs_deliver(w, ref, owner, dbuf_str(&rq->body), rq->body.len,
                     IPC_REPLY_NONE, 0) < 0)
        return errno == EAGAIN
                   ? reply_rpc_error(w, c, 503, -32000, "the server is busy",
                                     "Retry-After", "1")
                   : reply_rpc_error(w, c, 404, -32001, "Session not found",
                                     NULL, NULL);
    return reply_text(w, c, 202, NULL, "", NULL, NULL);
}

/* POST /mcp: checks the request and parses the body (streamable_route
 * does the rest). */
static enum MHD_Result
streamable_post(struct worker *w, struct MHD_Connection *c, struct req *rq)
{
    const char *pv = header(c, "MCP-Protocol-Version");
    const char *accept = header(c, "Accept");

    if (!accepts(accept, "application/json") ||
        !accepts(accept, "text/event-stream"))
        return reply_rpc_error(w, c, 406, -32000,
                               "Not Acceptable: Client must accept both "
                               "application/json and text/event-stream",
                               NULL, NULL);
    if (post_body_bad(w, c, rq, 1))
        return MHD_YES;
    if (pv != NULL && !mcp_version_supported(pv)) {
        char versions[128], msg[192];
        snprintf(msg, sizeof(msg),
                 "Bad Request: Unsupported protocol version "
                 "(supported versions: %s)",
                 mcp_versions_join(versions, sizeof(versions), "", ", "));
        return reply_rpc_error(w, c, 400, -32000, msg, NULL, NULL);
    }
    json_object *o = post_parse(w, c, rq);
    if (o == NULL)
        return MHD_YES;
    enum MHD_Result ret = streamable_route(w, c, rq, o);
    json_object_put(o);
    return ret;
}

/* GET with Last-Event-ID "<worker>.<stream>.<seq>": replays what a broken
 * POST stream sent after seq and carries on with the rest (the stream may
 * live in another worker, which then forwards its events). */
static enum MHD_Result
resume(struct worker *w, struct MHD_Connection *c, struct reg_ref ref,
       int holder, uint64_t id, unsigned seq)
{
    struct stream *st = stream_open_resumed(w, ref, holder, id, seq);
    if (st == NULL)
        return reply_stream_failed(w, c, 1);
    return stream_respond(w, c, st, NULL, NULL);
}

/* GET and DELETE on /mcp. */
static enum MHD_Result
streamable_session_op(struct worker *w, struct MHD_Connection *c,
                      struct req *rq, int is_delete)
{
    const char *sid = header(c, "Mcp-Session-Id");
    struct reg_ref ref;

    if (!is_delete && !accepts(header(c, "Accept"), "text/event-stream"))
        return reply_rpc_error(w, c, 406, -32000,
                               "Not Acceptable: Client must accept "
                               "text/event-stream",
                               NULL, NULL);
    if (sid == NULL)
        return reply_rpc_error(w, c, 400, -32000,
                               "Bad Request: Mcp-Session-Id header is "
                               "required",
                               NULL, NULL);
    if (reg_lookup_as(w->env->reg, sid, rq->who.cred, &ref, NULL, NULL) < 0)
        return reply_rpc_error(w, c, 404, -32001, "Session not found", NULL,
                               NULL);
    if (is_delete) {
        pthread_mutex_lock(&w->lock);
        struct wsession *ws = jobs_session_get_locked(w, ref);
        if (ws != NULL)
            jobs_session_release_locked(w, ws, "deleted by the client");
        pthread_mutex_unlock(&w->lock);
        reg_release(w->env->reg, ref);
        log_info("session %.8s... deleted by the client", sid);
        return reply_text(w, c, 200, NULL, "", NULL, NULL);
    }
    const char *last = header(c, "Last-Event-ID");
    int lw;
    uint64_t lid;
    unsigned lseq;
    /* a standalone stream carries nothing to replay: a new one serves */
    if (stream_event_id_parse(last, &lw, &lid, &lseq) == 0 &&
        (uint32_t)lw < reg_workers(w->env->reg) &&
        !stream_id_is_standalone(lid))
        return resume(w, c, ref, lw, lid, lseq);
    struct stream *st = stream_open(w, STREAM_STANDALONE, ref);
    if (st == NULL)
        return reply_stream_failed(w, c, 1);
    /* the session's updates come here now (worker_notify.c) */
    if (reg_listener_set(w->env->reg, ref, w->env->index, st->id) < 0)
        log_warn("session %.8s...: cannot record its update stream", sid);
    return stream_respond(w, c, st, NULL, NULL);
}

/* The router: an endpoint by path and method, 405 for a known path with
 * another method, 404 for the rest. */
static enum MHD_Result
route(struct worker *w, struct MHD_Connection *c, const char *url,
      const char *method, struct req *rq)
{
    int get = strcmp(method, "GET") == 0;
    int head = strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;

    if (strcmp(url, "/health") == 0 && (get || head))
        return reply_health(w, c);
    if (strcmp(url, "/") == 0 && (get || head))
        return reply_root(w, c);
    if (strcmp(url, "/metrics") == 0 && (get || head))
        return reply_metrics(w, c);
    if (strcmp(url, "/mcp/sse") == 0 && get)
        return legacy_open(w, c, rq);
    if (strcmp(url, "/mcp/message") == 0 && post)
        return legacy_post(w, c, rq);
    if (strcmp(url, "/mcp") == 0) {
        if (post)
            return streamable_post(w, c, rq);
        if (get)
            return streamable_session_op(w, c, rq, 0);
        if (strcmp(method, "DELETE") == 0)
            return streamable_session_op(w, c, rq, 1);
        return reply_rpc_error(w, c, 405, -32000, "Method not allowed.",
                               "Allow", "GET, POST, DELETE");
    }
    if (strcmp(url, "/health") == 0 || strcmp(url, "/") == 0 ||
        strcmp(url, "/metrics") == 0 || strcmp(url, "/mcp/sse") == 0 ||
        strcmp(url, "/mcp/message") == 0)
        return reply_error(w, c, 405, "method_not_allowed",
                           "this method is not allowed here");
    return reply_error(w, c, 404, "not_found", "no such endpoint");
}

/* The client of a request without bearer tokens: its address (an IPv6
 * /64 as one), as a fingerprint. */
static void
client_by_address(const char *key, struct reg_client *who)
{
    uint8_t d[32];
    char text[RL_KEY_MAX + 8];
    int n = snprintf(text, sizeof(text), "addr %s", key);
    if (n > 0 && gnutls_hash_fast(GNUTLS_DIG_SHA256, text, (size_t)n, d) == 0)
        memcpy(who->key, d, REG_FP_LEN);
    else
        memcpy(who->key, "addr-unhashable", REG_FP_LEN);
}

/* What every request must pass before anything else: the Host check, the
 * per-client rate limit, the Origin check and the bearer token (/health is
 * exempt from all but Origin, so that monitoring always works). Fills who
 * with the request's client and credential. Queues the refusal and
 * returns 1, or returns 0 to go on. */
static int
refuse_early(const struct worker *w, struct MHD_Connection *c, const char *url,
             const char *method, struct reg_client *who, enum MHD_Result *ret)
{
    int health = strcmp(url, "/health") == 0;
    const char *origin = header(c, "Origin");
    const char *host = header(c, "Host");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char key[RL_KEY_MAX], secs[24];
    double wait = 0;

    memset(who, 0, sizeof(*who));
    rl_client_key(ci != NULL ? ci->client_addr : NULL, key, sizeof(key));
    if (!health &&
        !auth_host_allowed(host, w->set->allowed_hosts, w->set->bind)) {
        log_info("%s %s refused: Host %.100s", method, url, host);
        count_reject(w, METRICS_REJECT_MISDIRECTED);
        *ret = reply_error(w, c, 421, "misdirected_request",
                           "this server does not answer to this Host; see "
                           "allowed_hosts");
        return 1;
    }
    if (!health && w->env->rl != NULL) {
        if (!rl_allow(w->env->rl, key, &wait)) {
            count_reject(w, METRICS_REJECT_RATE_LIMITED);
            snprintf(secs, sizeof(secs), "%ld", rl_retry_after_header(wait));
            *ret = reply_text(w, c, 429, "application/json",
                              "{\"error\":\"rate_limited\",\"message\":"
                              "\"too many requests from this address; see "
                              "Retry-After\"}",
                              "Retry-After", secs);
            return 1;
        }
    }
    if (origin != NULL && !origin_allowed(w, origin)) {
        log_info("%s %s refused: Origin %.100s", method, url, origin);
        count_reject(w, METRICS_REJECT_FORBIDDEN_ORIGIN);
        *ret = reply_error(w, c, 403, "forbidden_origin",
                           "this Origin is not allowed");
        return 1;
    }
    if (!health && w->env->auth != NULL) {
        const char *authz = header(c, "Authorization");
        if (!auth_check_fp(w->env->auth, authz, who->cred, sizeof(who->cred))) {
            count_reject(w, METRICS_REJECT_UNAUTHORIZED);
            *ret = reply_text(w, c, 401, "application/json",
                              "{\"error\":\"invalid_token\","
                              "\"message\":\"missing or invalid "
                              "bearer token\"}",
                              "WWW-Authenticate", auth_challenge(authz));
            return 1;
        }
        memcpy(who->key, who->cred, sizeof(who->key));
    } else {
        client_by_address(key, who);
    }
    return 0;
}

/* libmicrohttpd's access handler (cls: the worker). The first call
 * admits the request and allocates its struct req (freed by
 * worker_mcp_completed); upload calls fill the capped body; the last call
 * routes. MHD_NO (close the connection) only when out of memory. */
enum MHD_Result
worker_mcp_request(void *cls, struct MHD_Connection *c, const char *url,
                   const char *method, const char *version, const char *upload,
                   size_t *upload_size, void **con_cls)
{
    struct worker *w = cls;
    struct req *rq = *con_cls;
    enum MHD_Result ret;

    (void)version;
    if (rq == NULL) {
        const char *clen = header(c, "Content-Length");
        struct reg_client who;
        if (refuse_early(w, c, url, method, &who, &ret))
            return ret;
        if (clen != NULL && strtoull(clen, NULL, 10) > w->set->max_body) {
            count_reject(w, METRICS_REJECT_TOO_LARGE);
            return reply_error(w, c, 413, "too_large",
                               "the body is over the cap");
        }
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        dbuf_init(&rq->body, w->set->max_body);
        rq->who = who;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rq->too_big && dbuf_append(&rq->body, upload, *upload_size) < 0)
            rq->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->started)
        return MHD_YES;
    rq->started = 1;
    conn_request_in(w, c);
    return route(w, c, url, method, rq);
}

/* libmicrohttpd's completion callback: wipes and frees the request; the
 * connection waits for the next one (request_timeout from now). */
void
worker_mcp_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                     enum MHD_RequestTerminationCode toe)
{
    struct worker *w = cls;
    struct req *rq = *con_cls;
    struct conn *cn = conn_of(c);
    (void)toe;
    if (cn != NULL) {
        pthread_mutex_lock(&w->lock);
        conn_wait_request_locked(w, cn);
        pthread_mutex_unlock(&w->lock);
    }
    if (rq != NULL) {
        dbuf_wipe(&rq->body); /* it may have carried credentials */
        secure_wipe(&rq->who, sizeof(rq->who));
        free(rq);
        *con_cls = NULL;
    }
}
