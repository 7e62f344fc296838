/*
 * worker.c - one HTTP worker process of --mode sse. See worker.h and the
 * transport rules in binmcpd(8).
 *
 * Threads:
 *  - libmicrohttpd's epoll thread accepts connections, runs the access
 *    handler and the stream readers. SSE streams are suspended while they
 *    have nothing to send, so an idle stream costs no CPU.
 *  - the main thread polls signals, the worker's IPC channel and the
 *    supervisor pipe, and once a second sends keep-alives and sweeps
 *    expired sessions.
 *  - a small pool of executor threads runs the MCP engine (tool calls block
 *    on Binance), one job at a time per session, in arrival order.
 * One mutex (w.lock) guards the stream table, the session table and the job
 * queues. A stream is only touched by MHD (its reader) and under the lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "bnc.h"
#include "dbuf.h"
#include "guard.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#define EXECUTORS      8
#define STREAM_BUF_MAX (16u * 1024 * 1024)
#define STREAM_BUCKETS 4096
#define REPLY_MAIN     (-1) /* the session's own stream at its owner */
#define REPLY_NONE     (-2) /* nobody waits for outputs */
#define RETRY_HINT     "retry: 1000\n\n"
#define REMOTE_WAIT_MS 120000 /* a POST stream waits this long at most */

enum stream_kind {
    STREAM_LEGACY = 1, /* GET /mcp/sse: a session's main stream */
    STREAM_POST,       /* POST /mcp: the answer to one request */
    STREAM_STANDALONE, /* GET /mcp: keep-alives only */
};

struct wsession;

/* A message sent on a POST stream, kept so that a client whose connection
 * broke can resume with Last-Event-ID. */
struct logged_event {
    struct logged_event *next;
    unsigned seq;
    size_t len;
    char msg[];
};

#define EVENT_LOG_MAX  64    /* events kept per POST stream */
#define ORPHAN_KEEP_MS 60000 /* a broken POST stream waits this long */

struct stream {
    uint64_t id;
    enum stream_kind kind;
    struct MHD_Connection *conn;
    struct dbuf out; /* bytes MHD has not taken yet */
    size_t out_off;
    int suspended;         /* the reader suspended the connection */
    int finished;          /* end the stream once out is drained */
    struct wsession *sess; /* STREAM_LEGACY: the session it carries */
    struct reg_ref ref;    /* the session this stream belongs to */
    int64_t deadline_ms;   /* STREAM_POST: give up waiting after this */
    unsigned events;       /* event ids sent */
    struct logged_event *log, *log_tail; /* STREAM_POST: for resumption */
    unsigned nlogged;
    int orphan; /* the client's connection broke */
    int64_t orphan_until;
    int gone;       /* the client hung up (seen by the RDHUP watch) */
    int fwd_worker; /* resumed on another worker: forward there */
    uint64_t fwd_stream;
    struct stream *hnext;       /* hash chain */
    struct stream *prev, *next; /* all streams */
};

struct job {
    struct job *next;
    int reply_worker; /* a worker index, REPLY_MAIN or REPLY_NONE */
    uint64_t reply_stream;
    size_t len;
    char msg[];
};

struct wsession {
    struct reg_ref ref;
    char id[REG_ID_LEN + 1];
    enum reg_kind kind;
    struct mcp_session mcp;
    struct stream *main;     /* legacy: the GET stream (NULL once gone) */
    struct job *head, *tail; /* waiting jobs */
    int queued;              /* on the ready list */
    int running;             /* an executor is on it */
    int dead;                /* released: free once idle */
    int cur_worker;          /* the running job's reply target */
    uint64_t cur_stream;
    struct wsession *ready_next;
};

static struct worker_state {
    const struct worker_env *env;
    const struct settings *set;
    struct MHD_Daemon *mhd;
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct stream *buckets[STREAM_BUCKETS];
    struct stream *streams; /* list of all */
    size_t nstreams;
    uint64_t next_stream_id;
    struct wsession **sess; /* by registry slot */
    uint32_t nsess_slots;
    struct wsession *ready_head, *ready_tail;
    int stopping; /* executors: leave */
    int closing;  /* streams: end */
    pthread_t exec[EXECUTORS];
    int nexec;
    char *ipc_buf;
    int hup_fd;         /* epoll set watching SSE clients for a hang-up */
    struct creds creds; /* this worker's copy of the daemon's */
    pthread_rwlock_t creds_lock;
} w;

/* ------------------------------------------------------------------ */
/* Streams (all under w.lock)                                          */

static struct stream *
stream_find(uint64_t id)
{
    struct stream *st = w.buckets[id % STREAM_BUCKETS];
    while (st != NULL && st->id != id)
        st = st->hnext;
    return st;
}

static struct stream *
stream_new(enum stream_kind kind, struct reg_ref ref)
{
    struct stream *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->id = ++w.next_stream_id;
    st->kind = kind;
    st->ref = ref;
    st->fwd_worker = -1;
    dbuf_init(&st->out, STREAM_BUF_MAX);
    st->hnext = w.buckets[st->id % STREAM_BUCKETS];
    w.buckets[st->id % STREAM_BUCKETS] = st;
    st->next = w.streams;
    if (w.streams != NULL)
        w.streams->prev = st;
    w.streams = st;
    w.nstreams++;
    return st;
}

static void
stream_unlink(struct stream *st)
{
    struct stream **pp = &w.buckets[st->id % STREAM_BUCKETS];
    while (*pp != NULL && *pp != st)
        pp = &(*pp)->hnext;
    if (*pp == st)
        *pp = st->hnext;
    if (st->prev != NULL)
        st->prev->next = st->next;
    else
        w.streams = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    w.nstreams--;
}

/* Lets MHD pick up new bytes or the end of a suspended stream. */
static void
stream_wake(struct stream *st)
{
    if (st->suspended && st->conn != NULL) {
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
}

/* Queues raw SSE text. A client that does not read loses its stream. */
static void
stream_push(struct stream *st, const char *text, size_t len)
{
    if (st->finished || st->orphan)
        return;
    if (dbuf_append(&st->out, text, len) < 0) {
        log_warnx("stream %llu: client not reading; closing it",
                  (unsigned long long)st->id);
        st->finished = 1;
    }
    stream_wake(st);
}

/* Formats one event: "id:" only on Streamable HTTP streams. */
static void
stream_push_event(struct stream *st, unsigned seq, const char *msg, size_t len)
{
    char head[96];
    int n;

    if (st->kind == STREAM_LEGACY)
        n = snprintf(head, sizeof(head), "event: message\ndata: ");
    else
        n = snprintf(head, sizeof(head),
                     "id: %d.%llu.%u\nevent: message\n"
                     "data: ",
                     w.env->index, (unsigned long long)st->id, seq);
    stream_push(st, head, (size_t)n);
    stream_push(st, msg, len);
    stream_push(st, "\n\n", 2);
}

static void forward_to(const struct stream *st, int type, const char *msg,
                       size_t len);

/* Keeps a POST stream's message for a later Last-Event-ID replay. */
static void
stream_log(struct stream *st, unsigned seq, const char *msg, size_t len)
{
    struct logged_event *ev;
    if (st->nlogged >= EVENT_LOG_MAX) {
        ev = st->log; /* forget the oldest */
        st->log = ev->next;
        if (st->log == NULL)
            st->log_tail = NULL;
        free(ev);
        st->nlogged--;
    }
    ev = malloc(sizeof(*ev) + len + 1);
    if (ev == NULL)
        return;
    ev->next = NULL;
    ev->seq = seq;
    ev->len = len;
    memcpy(ev->msg, msg, len);
    ev->msg[len] = '\0';
    if (st->log_tail != NULL)
        st->log_tail->next = ev;
    else
        st->log = ev;
    st->log_tail = ev;
    st->nlogged++;
}

/* Queues one JSON-RPC message as an SSE "message" event. */
static void
stream_push_message(struct stream *st, const char *msg, size_t len)
{
    if (st->fwd_worker >= 0 && st->orphan) {
        forward_to(st, IPC_OUTPUT, msg, len);
        return;
    }
    unsigned seq = ++st->events;
    if (st->kind == STREAM_POST)
        stream_log(st, seq, msg, len);
    stream_push_event(st, seq, msg, len);
}

static void
stream_finish(struct stream *st)
{
    if (st->fwd_worker >= 0 && st->orphan && !st->finished)
        forward_to(st, IPC_END, NULL, 0);
    st->finished = 1;
    stream_wake(st);
}

static void
stream_destroy(struct stream *st)
{
    struct logged_event *ev;
    while ((ev = st->log) != NULL) {
        st->log = ev->next;
        secure_wipe(ev->msg, ev->len);
        free(ev);
    }
    dbuf_wipe(&st->out);
    free(st);
}

/* Passes a message (or the end) of a taken-over stream to the stream that
 * replaced it, in this worker or another. */
static void
forward_to(const struct stream *st, int type, const char *msg, size_t len)
{
    if (st->fwd_worker == w.env->index) {
        struct stream *to = stream_find(st->fwd_stream);
        if (to != NULL && type == IPC_OUTPUT)
            stream_push_message(to, msg, len);
        else if (to != NULL)
            stream_finish(to);
        return;
    }
    struct ipc_hdr h = {0};
    h.type = (uint16_t)type;
    h.slot = st->ref.slot;
    h.gen = st->ref.gen;
    h.stream = st->fwd_stream;
    if (ipc_send(w.env->ipc, st->fwd_worker, &h, msg, msg ? len : 0) < 0)
        log_warn("worker %d: could not forward a resumed stream's message",
                 w.env->index);
}

/* A client resumes POST stream id of session ref after event seq, on
 * stream to_stream of worker to_worker: replays what it missed there and
 * forwards the rest. The old connection, if MHD has not noticed yet that
 * it broke, is closed. Returns 0, or -1 when there is no such stream. */
static int
take_over_locked(struct reg_ref ref, uint64_t id, unsigned seq, int to_worker,
                 uint64_t to_stream)
{
    struct stream *st = stream_find(id);
    if (st == NULL || st->kind != STREAM_POST || st->fwd_worker >= 0 ||
        st->ref.slot != ref.slot || st->ref.gen != ref.gen)
        return -1;
    st->fwd_worker = to_worker;
    st->fwd_stream = to_stream;
    if (!st->orphan) {
        st->orphan = 1;
        st->orphan_until = mono_ms() + ORPHAN_KEEP_MS;
        if (st->conn != NULL) {
            st->gone = 1; /* MHD ends the old connection */
            stream_wake(st);
        }
    }
    for (struct logged_event *ev = st->log; ev != NULL; ev = ev->next)
        if (ev->seq > seq)
            forward_to(st, IPC_OUTPUT, ev->msg, ev->len);
    if (st->finished)
        forward_to(st, IPC_END, NULL, 0);
    return 0;
}


/* MHD's reader: hands out queued bytes, ends a finished stream, and
 * suspends the connection while there is nothing to send. */
static ssize_t
stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    ssize_t n;

    (void)pos;
    pthread_mutex_lock(&w.lock);
    size_t avail = st->out.len - st->out_off;
    if (avail > 0) {
        n = (ssize_t)(avail < max ? avail : max);
        memcpy(buf, st->out.data + st->out_off, (size_t)n);
        st->out_off += (size_t)n;
        if (st->out_off == st->out.len) {
            st->out_off = 0;
            dbuf_reset(&st->out);
        }
    } else if (st->gone) {
        n = MHD_CONTENT_READER_END_WITH_ERROR; /* MHD closes it now */
    } else if (st->finished || w.closing) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        st->suspended = 1;
        MHD_suspend_connection(st->conn);
        n = 0;
    }
    pthread_mutex_unlock(&w.lock);
    return n;
}

static void session_release_locked(struct wsession *ws, const char *why);

/* MHD is done with a stream: the client left or the stream ended. */
static void
stream_free_cb(void *cls)
{
    struct stream *st = cls;

    pthread_mutex_lock(&w.lock);
    st->conn = NULL;
    st->suspended = 0;
    st->gone = 0;
    if (st->kind == STREAM_POST && !st->finished && !w.closing) {
        /* The client lost the connection before the answer: keep the
         * stream so that it can resume with Last-Event-ID. */
        st->orphan = 1;
        st->orphan_until = mono_ms() + ORPHAN_KEEP_MS;
        st->out_off = 0;
        dbuf_reset(&st->out);
        pthread_mutex_unlock(&w.lock);
        return;
    }
    stream_unlink(st);
    if (st->sess != NULL) {
        st->sess->main = NULL;
        session_release_locked(st->sess, "stream closed");
    }
    pthread_mutex_unlock(&w.lock);
    if (st->kind == STREAM_LEGACY)
        log_info("worker %d: SSE stream %llu closed", w.env->index,
                 (unsigned long long)st->id);
    stream_destroy(st);
}

/* ------------------------------------------------------------------ */
/* Sessions and jobs                                                   */

/* The engine's sink: routes a message to the running job's target. */
static int session_sink(void *arg, const char *msg, size_t len);

static struct wsession *
session_new_locked(struct reg_ref ref, const char *id, enum reg_kind kind)
{
    struct wsession *ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return NULL;
    ws->ref = ref;
    memcpy(ws->id, id, sizeof(ws->id));
    ws->kind = kind;
    mcp_session_init(&ws->mcp, w.env->srv, id, session_sink, ws);
    if (w.sess[ref.slot] != NULL) /* ended elsewhere, not swept yet */
        session_release_locked(w.sess[ref.slot], "ended elsewhere");
    w.sess[ref.slot] = ws;
    return ws;
}

static void
session_free(struct wsession *ws)
{
    struct job *j;
    while ((j = ws->head) != NULL) {
        ws->head = j->next;
        secure_wipe(j->msg, j->len);
        free(j);
    }
    mcp_session_finish(&ws->mcp);
    free(ws);
}

/* Ends a session here and in the registry; it is freed when idle. */
static void
session_release_locked(struct wsession *ws, const char *why)
{
    if (ws->dead)
        return;
    ws->dead = 1;
    if (reg_release(w.env->reg, ws->ref) == 0)
        log_info("worker %d: session %.8s... ended (%s)", w.env->index, ws->id,
                 why);
    if (w.sess[ws->ref.slot] == ws)
        w.sess[ws->ref.slot] = NULL;
    if (ws->main != NULL) {
        ws->main->sess = NULL;
        stream_finish(ws->main);
        ws->main = NULL;
    }
    if (!ws->running && !ws->queued)
        session_free(ws);
}

/* Local session for ref, or NULL when it is not (or no longer) ours. */
static struct wsession *
session_get_locked(struct reg_ref ref)
{
    if (ref.slot >= w.nsess_slots)
        return NULL;
    struct wsession *ws = w.sess[ref.slot];
    if (ws == NULL || ws->dead || ws->ref.gen != ref.gen)
        return NULL;
    return ws;
}

/* Queues a client message for the session. Returns 0 or -1. */
static int
session_enqueue_locked(struct wsession *ws, const char *msg, size_t len,
                       int reply_worker, uint64_t reply_stream)
{
    /* Cancels and answers to server requests (sampling, elicitation) act
     * at once, not behind the request they concern. */
    if (mcp_session_intercept(&ws->mcp, msg, len))
        return 0;
    struct job *j = malloc(sizeof(*j) + len + 1);
    if (j == NULL)
        return -1;
    j->next = NULL;
    j->reply_worker = reply_worker;
    j->reply_stream = reply_stream;
    j->len = len;
    memcpy(j->msg, msg, len);
    j->msg[len] = '\0';
    if (ws->tail != NULL)
        ws->tail->next = j;
    else
        ws->head = j;
    ws->tail = j;
    if (!ws->running && !ws->queued) {
        ws->queued = 1;
        ws->ready_next = NULL;
        if (w.ready_tail != NULL)
            w.ready_tail->ready_next = ws;
        else
            w.ready_head = ws;
        w.ready_tail = ws;
        pthread_cond_signal(&w.work);
    }
    return 0;
}

/* Sends an output or an end marker to a stream, wherever it lives. */
static void
route_output(int worker, uint64_t stream_id, struct wsession *ws,
             const char *msg, size_t len, int end)
{
    if (worker == REPLY_NONE)
        return;
    if (worker == REPLY_MAIN || worker == w.env->index) {
        pthread_mutex_lock(&w.lock);
        struct stream *st =
            worker == REPLY_MAIN ? ws->main : stream_find(stream_id);
        if (st != NULL && msg != NULL)
            stream_push_message(st, msg, len);
        if (st != NULL && end)
            stream_finish(st);
        pthread_mutex_unlock(&w.lock);
        return;
    }
    struct ipc_hdr h = {0};
    h.type = end ? IPC_END : IPC_OUTPUT;
    h.slot = ws->ref.slot;
    h.gen = ws->ref.gen;
    h.stream = stream_id;
    /* The receiver drains its channel every loop; wait a little for room
     * rather than lose an answer. */
    for (int tries = 0; tries < 200; tries++) {
        if (ipc_send(w.env->ipc, worker, &h, msg, msg ? len : 0) == 0)
            return;
        if (errno != EAGAIN)
            break;
        usleep(5000);
    }
    log_warn("worker %d: could not pass a message to worker %d", w.env->index,
             worker);
}

static int
session_sink(void *arg, const char *msg, size_t len)
{
    struct wsession *ws = arg;
    route_output(ws->cur_worker, ws->cur_stream, ws, msg, len, 0);
    return 0;
}

/* Takes the next session with work; NULL when the worker stops. */
static struct wsession *
ready_pop_locked(void)
{
    while (w.ready_head == NULL && !w.stopping)
        pthread_cond_wait(&w.work, &w.lock);
    struct wsession *ws = w.ready_head;
    if (ws != NULL) {
        w.ready_head = ws->ready_next;
        if (w.ready_head == NULL)
            w.ready_tail = NULL;
        ws->queued = 0;
        ws->running = 1;
    }
    return ws;
}

static void *
executor_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&w.lock);
    struct wsession *ws;
    while ((ws = ready_pop_locked()) != NULL) {
        struct job *j;
        while ((j = ws->head) != NULL) {
            ws->head = j->next;
            if (ws->head == NULL)
                ws->tail = NULL;
            ws->cur_worker = j->reply_worker;
            ws->cur_stream = j->reply_stream;
            pthread_mutex_unlock(&w.lock);
            mcp_handle_message(&ws->mcp, j->msg, j->len);
            if (j->reply_worker != REPLY_MAIN)
                route_output(j->reply_worker, j->reply_stream, ws, NULL, 0, 1);
            secure_wipe(j->msg, j->len);
            free(j);
            pthread_mutex_lock(&w.lock);
        }
        ws->running = 0;
        if (ws->dead)
            session_free(ws);
    }
    pthread_mutex_unlock(&w.lock);
    bnc_thread_cleanup();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* HTTP helpers                                                        */

static void
count_reject(enum metrics_reject_reason why)
{
    if (w.env->metrics != NULL)
        metrics_reject(w.env->metrics, why);
}

struct req {
    struct dbuf body;
    int too_big;
    int started;
};

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned status, const char *ctype,
           const char *text, const char *hname, const char *hvalue)
{
    char wid[16];
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    snprintf(wid, sizeof(wid), "%d", w.env->index);
    if (ctype != NULL)
        MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Binmcpd-Worker", wid);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* {"error":code,"message":message} */
static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned status, const char *code,
            const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(code));
    json_object_object_add(o, "message", json_object_new_string(message));
    enum MHD_Result ret = reply_text(
        c, status, "application/json",
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL, NULL);
    json_object_put(o);
    return ret;
}

/* A JSON-RPC error without id, for Streamable HTTP transport errors. */
static enum MHD_Result
reply_rpc_error(struct MHD_Connection *c, unsigned status, int code,
                const char *message, const char *hname, const char *hvalue)
{
    json_object *o = json_object_new_object();
    json_object *e = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "id", NULL);
    json_object_object_add(e, "code", json_object_new_int(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_object_add(o, "error", e);
    enum MHD_Result ret =
        reply_text(c, status, "application/json",
                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                   hname, hvalue);
    json_object_put(o);
    return ret;
}

static enum MHD_Result
reply_full(struct MHD_Connection *c, int streamable)
{
    char msg[160];
    reg_count_rejected(w.env->reg);
    count_reject(METRICS_REJECT_MAX_CONNECTIONS);
    snprintf(msg, sizeof(msg),
             "all %d session slots are in use; retry in a few seconds",
             w.set->max_connections);
    log_info("worker %d: connection refused: %s", w.env->index, msg);
    if (streamable)
        return reply_rpc_error(c, 503, -32000, msg, "Retry-After", "5");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error",
                           json_object_new_string("max_connections"));
    json_object_object_add(o, "message", json_object_new_string(msg));
    enum MHD_Result ret =
        reply_text(c, 503, "application/json",
                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                   "Retry-After", "5");
    json_object_put(o);
    return ret;
}

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
origin_allowed(const char *origin)
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
    for (int i = 0; i < w.set->norigins; i++)
        if (strcmp(origin, w.set->origins[i]) == 0)
            return 1;
    return 0;
}

/* libmicrohttpd does not watch a suspended connection, so a client that
 * leaves would only be noticed at the next write. The worker watches each
 * stream's socket for a hang-up itself (one-shot; a closed descriptor
 * leaves the set by itself). */
static void
watch_hangup(struct MHD_Connection *c, uint64_t stream_id)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT | EPOLLET,
                             .data.u64 = stream_id};
    if (epoll_ctl(w.hup_fd, EPOLL_CTL_ADD, ci->connect_fd, &ev) < 0 &&
        errno == EEXIST)
        epoll_ctl(w.hup_fd, EPOLL_CTL_MOD, ci->connect_fd, &ev);
}

/* Ends the streams whose clients hung up. */
static void
handle_hangups(void)
{
    struct epoll_event ev[64];
    int n;
    while ((n = epoll_wait(w.hup_fd, ev, 64, 0)) > 0) {
        pthread_mutex_lock(&w.lock);
        for (int i = 0; i < n; i++) {
            struct stream *st = stream_find(ev[i].data.u64);
            if (st != NULL && st->conn != NULL && !st->orphan) {
                st->gone = 1;
                stream_wake(st);
            }
        }
        pthread_mutex_unlock(&w.lock);
    }
}

/* Answers with an SSE stream; the stream belongs to MHD from now on. */
static enum MHD_Result
reply_stream(struct MHD_Connection *c, struct stream *st, const char *hname,
             const char *hvalue)
{
    char wid[16];
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, stream_reader, st, stream_free_cb);
    if (r == NULL)
        return MHD_NO;
    snprintf(wid, sizeof(wid), "%d", w.env->index);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    MHD_add_response_header(r, "X-Binmcpd-Worker", wid);
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    st->conn = c;
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    if (ret == MHD_YES)
        watch_hangup(c, st->id);
    return ret;
}

/* Hands a client message to the session's owner. reply_worker/stream say
 * where the outputs go. Returns 0, or -1 when the session is gone or the
 * owner's channel is full (errno EAGAIN). */
static int
deliver(struct reg_ref ref, int owner, const char *msg, size_t len,
        int reply_worker, uint64_t reply_stream)
{
    if (owner == w.env->index) {
        pthread_mutex_lock(&w.lock);
        struct wsession *ws = session_get_locked(ref);
        int rc = ws != NULL ? session_enqueue_locked(ws, msg, len, reply_worker,
                                                     reply_stream)
                            : -1;
        pthread_mutex_unlock(&w.lock);
        if (ws == NULL)
            errno = ENOENT;
        return rc;
    }
    struct ipc_hdr h = {0};
    h.type = IPC_DELIVER;
    h.slot = ref.slot;
    h.gen = ref.gen;
    h.reply_worker = reply_worker;
    h.stream = reply_stream;
    return ipc_send(w.env->ipc, owner, &h, msg, len);
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                           */

static enum MHD_Result
serve_health(struct MHD_Connection *c)
{
    struct registry *reg = w.env->reg;
    char text[512];
    snprintf(text, sizeof(text),
             "{\"status\":\"ok\",\"version\":\"%s\",\"workers\":%u,"
             "\"workers_alive\":%u,\"sessions\":%u,\"max_sessions\":%u,"
             "\"sessions_total\":%llu,\"connections_rejected\":%llu,"
             "\"worker_restarts\":%llu,\"uptime_s\":%lld}",
             PACKAGE_VERSION, reg_workers(reg), reg_workers_alive(reg),
             reg_live(reg), reg_max_live(reg),
             (unsigned long long)reg_sessions_total(reg),
             (unsigned long long)reg_rejected(reg),
             (unsigned long long)reg_restarts(reg),
             (long long)((now_ms() - reg_started_ms(reg)) / 1000));
    return reply_text(c, 200, "application/json", text, NULL, NULL);
}

static enum MHD_Result
serve_metrics(struct MHD_Connection *c)
{
    struct dbuf o;
    enum MHD_Result ret;

    if (w.env->metrics == NULL)
        return reply_error(c, 404, "not_found", "metrics are off");
    dbuf_init(&o, 4u << 20);
    if (metrics_render(w.env->metrics, w.env->reg, &o) < 0)
        ret = reply_error(c, 500, "internal", "cannot render the metrics");
    else
        ret =
            reply_text(c, 200, METRICS_CONTENT_TYPE, dbuf_str(&o), NULL, NULL);
    dbuf_free(&o);
    return ret;
}

static enum MHD_Result
serve_root(struct MHD_Connection *c)
{
    char text[768];
    snprintf(text, sizeof(text),
             "{\"name\":\"binmcpd\",\"version\":\"%s\",\"description\":"
             "\"MCP server for the Binance Spot API\",\"transports\":{"
             "\"sse\":\"/mcp/sse\",\"message\":\"/mcp/message\","
             "\"streamable_http\":\"/mcp\"},\"health\":\"/health\","
             "\"protocolVersions\":[\"2025-11-25\",\"2025-06-18\","
             "\"2025-03-26\",\"2024-11-05\"]}",
             PACKAGE_VERSION);
    return reply_text(c, 200, "application/json", text, NULL, NULL);
}

/* GET /mcp/sse: a new legacy session and its stream. */
static enum MHD_Result
legacy_open(struct MHD_Connection *c)
{
    char id[REG_ID_LEN + 1], text[160];
    struct reg_ref ref;

    if (reg_claim(w.env->reg, w.env->index, REG_KIND_LEGACY, id, &ref) < 0)
        return errno == EAGAIN ? reply_full(c, 0)
                               : reply_error(c, 500, "internal",
                                             "the session registry failed");
    pthread_mutex_lock(&w.lock);
    struct stream *st = stream_new(STREAM_LEGACY, ref);
    struct wsession *ws =
        st ? session_new_locked(ref, id, REG_KIND_LEGACY) : NULL;
    if (ws == NULL) {
        if (st != NULL) {
            stream_unlink(st);
            stream_destroy(st);
        }
        pthread_mutex_unlock(&w.lock);
        reg_release(w.env->reg, ref);
        return reply_error(c, 500, "internal", "out of memory");
    }
    st->sess = ws;
    ws->main = st;
    int n = snprintf(text, sizeof(text),
                     RETRY_HINT "event: endpoint\ndata: "
                                "/mcp/message?sessionId=%s\n\n",
                     id);
    stream_push(st, text, (size_t)n);
    pthread_mutex_unlock(&w.lock);
    log_info("worker %d: SSE session %.8s... opened (stream %llu)",
             w.env->index, id, (unsigned long long)st->id);
    return reply_stream(c, st, "X-Connection-ID", id);
}

/* Checks what every POST needs: a JSON body within the cap. Returns
 * MHD_YES after queueing an error, or MHD_NO when all is fine (sic: the
 * caller goes on). */
static int
post_body_bad(struct MHD_Connection *c, struct req *rq, int rpc)
{
    if (!media_is(header(c, "Content-Type"), "application/json")) {
        if (rpc)
            reply_rpc_error(c, 415, -32000,
                            "Unsupported Media Type: Content-Type must be "
                            "application/json",
                            NULL, NULL);
        else
            reply_error(c, 415, "unsupported_media_type",
                        "Content-Type must be application/json");
        return 1;
    }
    if (rq->too_big) {
        if (rpc)
            reply_rpc_error(c, 413, -32000, "Payload Too Large", NULL, NULL);
        else
            reply_error(c, 413, "too_large", "the body is over the cap");
        return 1;
    }
    return 0;
}

/* Parses a POST body; answers -32700 and returns NULL when it is not JSON. */
static json_object *
post_parse(struct MHD_Connection *c, struct req *rq)
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
        reply_rpc_error(c, 400, -32700, "Parse error: the body is not JSON",
                        NULL, NULL);
    return o;
}

/* POST /mcp/message: hand the message to the session's owner; 202. */
static enum MHD_Result
legacy_post(struct MHD_Connection *c, struct req *rq)
{
    const char *id =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sessionId");
    struct reg_ref ref;
    int owner;

    if (id == NULL)
        id = header(c, "X-Connection-ID");
    if (id == NULL)
        return reply_error(c, 400, "missing_session",
                           "give the session id as ?sessionId= or in "
                           "X-Connection-ID");
    if (reg_lookup(w.env->reg, id, &ref, &owner, NULL) < 0)
        return reply_error(c, 404, "unknown_session",
                           "no such session: it ended or expired; open a "
                           "new one with GET /mcp/sse");
    if (post_body_bad(c, rq, 0))
        return MHD_YES;
    json_object *o = post_parse(c, rq);
    if (o == NULL)
        return MHD_YES;
    json_object_put(o);
    if (deliver(ref, owner, dbuf_str(&rq->body), rq->body.len, REPLY_MAIN, 0) <
        0)
        return errno == EAGAIN
                   ? reply_error(c, 503, "busy", "the server is busy; retry")
                   : reply_error(c, 404, "unknown_session",
                                 "the session ended");
    return reply_text(c, 202, "application/json", "{\"status\":\"accepted\"}",
                      NULL, NULL);
}

static int
version_supported(const char *v)
{
    static const char *const versions[] = {"2025-11-25", "2025-06-18",
                                           "2025-03-26", "2024-11-05"};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (strcmp(v, versions[i]) == 0)
            return 1;
    return 0;
}

/* Opens a POST answer stream and hands the body to the owner. */
static enum MHD_Result
streamable_answer(struct MHD_Connection *c, struct req *rq, struct reg_ref ref,
                  int owner, const char *new_id)
{
    pthread_mutex_lock(&w.lock);
    struct stream *st = stream_new(STREAM_POST, ref);
    if (st != NULL) {
        st->deadline_ms = mono_ms() + REMOTE_WAIT_MS;
        stream_push(st, RETRY_HINT, strlen(RETRY_HINT));
    }
    pthread_mutex_unlock(&w.lock);
    if (st == NULL)
        return reply_rpc_error(c, 500, -32603, "out of memory", NULL, NULL);
    if (deliver(ref, owner, dbuf_str(&rq->body), rq->body.len, w.env->index,
                st->id) < 0) {
        int busy = errno == EAGAIN;
        pthread_mutex_lock(&w.lock);
        stream_unlink(st);
        pthread_mutex_unlock(&w.lock);
        stream_destroy(st);
        return busy ? reply_rpc_error(c, 503, -32000, "the server is busy",
                                      "Retry-After", "1")
                    : reply_rpc_error(c, 404, -32001, "Session not found", NULL,
                                      NULL);
    }
    return reply_stream(c, st, new_id ? "Mcp-Session-Id" : NULL, new_id);
}

static enum MHD_Result
streamable_post(struct MHD_Connection *c, struct req *rq)
{
    const char *pv = header(c, "MCP-Protocol-Version");
    const char *sid = header(c, "Mcp-Session-Id");
    const char *accept = header(c, "Accept");
    char id[REG_ID_LEN + 1];
    struct reg_ref ref;
    int owner, init, requests;

    if (!accepts(accept, "application/json") ||
        !accepts(accept, "text/event-stream"))
        return reply_rpc_error(c, 406, -32000,
                               "Not Acceptable: Client must accept both "
                               "application/json and text/event-stream",
                               NULL, NULL);
    if (post_body_bad(c, rq, 1))
        return MHD_YES;
    if (pv != NULL && !version_supported(pv))
        return reply_rpc_error(c, 400, -32000,
                               "Bad Request: Unsupported protocol version "
                               "(supported versions: 2025-11-25, 2025-06-18, "
                               "2025-03-26, 2024-11-05)",
                               NULL, NULL);
    json_object *o = post_parse(c, rq);
    if (o == NULL)
        return MHD_YES;
    mcp_message_classify(o, &init, &requests);
    json_object_put(o);

    if (init) {
        if (reg_claim(w.env->reg, w.env->index, REG_KIND_STREAMABLE, id, &ref) <
            0)
            return errno == EAGAIN
                       ? reply_full(c, 1)
                       : reply_rpc_error(c, 500, -32603, "registry failure",
                                         NULL, NULL);
        pthread_mutex_lock(&w.lock);
        struct wsession *ws = session_new_locked(ref, id, REG_KIND_STREAMABLE);
        pthread_mutex_unlock(&w.lock);
        if (ws == NULL) {
            reg_release(w.env->reg, ref);
            return reply_rpc_error(c, 500, -32603, "out of memory", NULL, NULL);
        }
        log_info("worker %d: Streamable HTTP session %.8s... created",
                 w.env->index, id);
        return streamable_answer(c, rq, ref, w.env->index, id);
    }
    if (sid == NULL)
        return reply_rpc_error(c, 400, -32000,
                               "Bad Request: Mcp-Session-Id header is "
                               "required",
                               NULL, NULL);
    if (reg_lookup(w.env->reg, sid, &ref, &owner, NULL) < 0)
        return reply_rpc_error(c, 404, -32001, "Session not found", NULL, NULL);
    if (requests)
        return streamable_answer(c, rq, ref, owner, NULL);
    if (deliver(ref, owner, dbuf_str(&rq->body), rq->body.len, REPLY_NONE, 0) <
        0)
        return errno == EAGAIN
                   ? reply_rpc_error(c, 503, -32000, "the server is busy",
                                     "Retry-After", "1")
                   : reply_rpc_error(c, 404, -32001, "Session not found", NULL,
                                     NULL);
    return reply_text(c, 202, NULL, "", NULL, NULL);
}

/* GET /mcp with Last-Event-ID "<worker>.<stream>.<seq>": replays what a
 * broken POST stream sent after seq and carries on with the rest. The
 * stream may live in another worker, which then forwards its events. */
static enum MHD_Result
resume(struct MHD_Connection *c, struct reg_ref ref, int holder, uint64_t id,
       unsigned seq)
{
    char num[32];
    int local = holder == w.env->index;

    pthread_mutex_lock(&w.lock);
    struct stream *st = stream_new(STREAM_POST, ref);
    if (st != NULL) {
        st->deadline_ms = mono_ms() + REMOTE_WAIT_MS;
        stream_push(st, RETRY_HINT, strlen(RETRY_HINT));
        if (local && take_over_locked(ref, id, seq, holder, st->id) < 0)
            stream_finish(st); /* nothing to resume: end at once */
    }
    pthread_mutex_unlock(&w.lock);
    if (st == NULL)
        return reply_rpc_error(c, 500, -32603, "out of memory", NULL, NULL);
    if (!local) {
        struct ipc_hdr h = {0};
        h.type = IPC_RESUME;
        h.slot = ref.slot;
        h.gen = ref.gen;
        h.reply_worker = w.env->index;
        h.stream = id;
        h.reserved = seq;
        int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)st->id);
        if (ipc_send(w.env->ipc, holder, &h, num, (size_t)n) < 0) {
            pthread_mutex_lock(&w.lock);
            stream_unlink(st);
            pthread_mutex_unlock(&w.lock);
            stream_destroy(st);
            return reply_rpc_error(c, 503, -32000, "the server is busy",
                                   "Retry-After", "1");
        }
    }
    log_info("worker %d: stream resumed after event %d.%llu.%u", w.env->index,
             holder, (unsigned long long)id, seq);
    return reply_stream(c, st, NULL, NULL);
}

/* GET and DELETE on /mcp. */
static enum MHD_Result
streamable_session_op(struct MHD_Connection *c, int is_delete)
{
    const char *sid = header(c, "Mcp-Session-Id");
    struct reg_ref ref;

    if (!is_delete && !accepts(header(c, "Accept"), "text/event-stream"))
        return reply_rpc_error(c, 406, -32000,
                               "Not Acceptable: Client must accept "
                               "text/event-stream",
                               NULL, NULL);
    if (sid == NULL)
        return reply_rpc_error(c, 400, -32000,
                               "Bad Request: Mcp-Session-Id header is "
                               "required",
                               NULL, NULL);
    if (reg_lookup(w.env->reg, sid, &ref, NULL, NULL) < 0)
        return reply_rpc_error(c, 404, -32001, "Session not found", NULL, NULL);
    if (is_delete) {
        pthread_mutex_lock(&w.lock);
        struct wsession *ws = session_get_locked(ref);
        if (ws != NULL)
            session_release_locked(ws, "deleted by the client");
        pthread_mutex_unlock(&w.lock);
        reg_release(w.env->reg, ref);
        log_info("worker %d: session %.8s... deleted by the client",
                 w.env->index, sid);
        return reply_text(c, 200, NULL, "", NULL, NULL);
    }
    const char *last = header(c, "Last-Event-ID");
    int lw;
    unsigned long long lid;
    unsigned lseq;
    if (last != NULL && sscanf(last, "%d.%llu.%u", &lw, &lid, &lseq) == 3 &&
        lw >= 0 && (uint32_t)lw < reg_workers(w.env->reg))
        return resume(c, ref, lw, lid, lseq);
    pthread_mutex_lock(&w.lock);
    struct stream *st = stream_new(STREAM_STANDALONE, ref);
    if (st != NULL)
        stream_push(st, RETRY_HINT, strlen(RETRY_HINT));
    pthread_mutex_unlock(&w.lock);
    if (st == NULL)
        return reply_rpc_error(c, 500, -32603, "out of memory", NULL, NULL);
    return reply_stream(c, st, NULL, NULL);
}

static enum MHD_Result
route(struct MHD_Connection *c, const char *url, const char *method,
      struct req *rq)
{
    int get = strcmp(method, "GET") == 0;
    int head = strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;

    if (strcmp(url, "/health") == 0 && (get || head))
        return serve_health(c);
    if (strcmp(url, "/") == 0 && (get || head))
        return serve_root(c);
    if (strcmp(url, "/metrics") == 0 && (get || head))
        return serve_metrics(c);
    if (strcmp(url, "/mcp/sse") == 0 && get)
        return legacy_open(c);
    if (strcmp(url, "/mcp/message") == 0 && post)
        return legacy_post(c, rq);
    if (strcmp(url, "/mcp") == 0) {
        if (post)
            return streamable_post(c, rq);
        if (get)
            return streamable_session_op(c, 0);
        if (strcmp(method, "DELETE") == 0)
            return streamable_session_op(c, 1);
        return reply_rpc_error(c, 405, -32000, "Method not allowed.", "Allow",
                               "GET, POST, DELETE");
    }
    if (strcmp(url, "/health") == 0 || strcmp(url, "/") == 0 ||
        strcmp(url, "/metrics") == 0 || strcmp(url, "/mcp/sse") == 0 ||
        strcmp(url, "/mcp/message") == 0)
        return reply_error(c, 405, "method_not_allowed",
                           "this method is not allowed here");
    return reply_error(c, 404, "not_found", "no such endpoint");
}

/* What every request must pass before anything else: the per-client rate
 * limit, the Origin check and the bearer token (/health is exempt from
 * the limit and the token, so that monitoring always works). Queues the
 * refusal and returns 1, or returns 0 to go on. */
static int
refuse_early(struct MHD_Connection *c, const char *url, const char *method,
             enum MHD_Result *ret)
{
    int health = strcmp(url, "/health") == 0;
    const char *origin = header(c, "Origin");
    char key[64], secs[24];
    double wait = 0;

    if (!health && w.env->rl != NULL) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        rl_client_key(ci != NULL ? ci->client_addr : NULL, key, sizeof(key));
        if (!rl_allow(w.env->rl, key, &wait)) {
            count_reject(METRICS_REJECT_RATE_LIMITED);
            snprintf(secs, sizeof(secs), "%ld", rl_retry_after_header(wait));
            *ret = reply_text(c, 429, "application/json",
                              "{\"error\":\"rate_limited\",\"message\":"
                              "\"too many requests from this address; see "
                              "Retry-After\"}",
                              "Retry-After", secs);
            return 1;
        }
    }
    if (origin != NULL && !origin_allowed(origin)) {
        log_info("worker %d: %s %s refused: Origin %.100s", w.env->index,
                 method, url, origin);
        count_reject(METRICS_REJECT_FORBIDDEN_ORIGIN);
        *ret = reply_error(c, 403, "forbidden_origin",
                           "this Origin is not allowed");
        return 1;
    }
    if (!health && w.env->auth != NULL) {
        const char *authz = header(c, "Authorization");
        if (!auth_check(w.env->auth, authz)) {
            count_reject(METRICS_REJECT_UNAUTHORIZED);
            *ret = reply_text(c, 401, "application/json",
                              "{\"error\":\"invalid_token\","
                              "\"message\":\"missing or invalid "
                              "bearer token\"}",
                              "WWW-Authenticate", auth_challenge(authz));
            return 1;
        }
    }
    return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **con_cls)
{
    struct req *rq = *con_cls;
    enum MHD_Result ret;

    (void)cls;
    (void)version;
    if (rq == NULL) {
        const char *clen = header(c, "Content-Length");
        if (refuse_early(c, url, method, &ret))
            return ret;
        if (clen != NULL && strtoull(clen, NULL, 10) > w.set->max_body) {
            count_reject(METRICS_REJECT_TOO_LARGE);
            return reply_error(c, 413, "too_large", "the body is over the cap");
        }
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            return MHD_NO;
        dbuf_init(&rq->body, w.set->max_body);
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
    return route(c, url, method, rq);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (rq != NULL) {
        dbuf_wipe(&rq->body); /* it may have carried credentials */
        free(rq);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* The main loop                                                       */

/* Another worker took a Last-Event-ID GET for one of our broken POST
 * streams: replay to it and forward from now on. */
static void
resume_remote_locked(const struct ipc_hdr *h, struct reg_ref ref,
                     const char *payload)
{
    uint64_t target = strtoull(payload, NULL, 10);
    if (take_over_locked(ref, h->stream, h->reserved, h->reply_worker,
                         target) == 0)
        return;
    struct ipc_hdr o = {0};
    o.type = IPC_END;
    o.slot = ref.slot;
    o.gen = ref.gen;
    o.stream = target;
    ipc_send(w.env->ipc, h->reply_worker, &o, NULL, 0);
}

/* The supervisor re-read the credentials (SIGHUP): the next signed call of
 * every session without its own credentials uses them. Sessions and
 * streams are untouched. */
static void
update_creds(char *payload, size_t len)
{
    char err[128];
    char *key = payload, *secret = NULL, *env = NULL;
    enum bnc_env e = BNC_ENV_MAINNET;

    if ((secret = memchr(key, '\n', len)) != NULL) {
        *secret++ = '\0';
        if ((env = strchr(secret, '\n')) != NULL)
            *env++ = '\0';
    }
    pthread_rwlock_wrlock(&w.creds_lock);
    if (len == 0) {
        creds_wipe(&w.creds);
        log_info("worker %d: daemon credentials removed", w.env->index);
    } else if (secret == NULL || env == NULL || creds_env_parse(env, &e) < 0 ||
               creds_set(&w.creds, key, secret, e, err, sizeof(err)) < 0) {
        log_warnx("worker %d: a malformed credentials message was ignored",
                  w.env->index);
    } else {
        char masked[32];
        creds_mask(w.creds.key, masked, sizeof(masked));
        log_info("worker %d: daemon credentials replaced: key %s (%s)",
                 w.env->index, masked, creds_env_name(e));
    }
    pthread_rwlock_unlock(&w.creds_lock);
}

/* SIGHUP brought a new certificate: new handshakes use it at once. */
static void
update_tls(const char *payload, size_t len)
{
    char err[256];
    size_t cert_len = strnlen(payload, len);
    if (cert_len >= len) {
        log_warnx("worker %d: a malformed certificate message was ignored",
                  w.env->index);
        return;
    }
    if (tls_install(payload, payload + cert_len + 1, err, sizeof(err)) < 0)
        log_warnx("worker %d: new certificate refused: %s", w.env->index, err);
    else
        log_info("worker %d: HTTPS certificate replaced", w.env->index);
}

static void
handle_ipc(void)
{
    struct ipc_hdr h;
    int rx = ipc_rx_fd(w.env->ipc, w.env->index);
    int rc;

    while ((rc = ipc_recv(rx, &h, w.ipc_buf, IPC_PAYLOAD_MAX + 1)) != 0) {
        if (rc < 0 && errno == EBADMSG)
            continue; /* dropped and logged by ipc_recv */
        if (rc < 0)
            break;
        struct reg_ref ref = {h.slot, h.gen};
        if (h.type == IPC_CREDS) {
            update_creds(w.ipc_buf, h.len);
            secure_wipe(w.ipc_buf, h.len);
            continue;
        }
        if (h.type == IPC_TLS) {
            update_tls(w.ipc_buf, h.len);
            secure_wipe(w.ipc_buf, h.len);
            continue;
        }
        pthread_mutex_lock(&w.lock);
        if (h.type == IPC_DELIVER) {
            struct wsession *ws = session_get_locked(ref);
            if (ws == NULL ||
                session_enqueue_locked(ws, w.ipc_buf, h.len, h.reply_worker,
                                       h.stream) < 0) {
                pthread_mutex_unlock(&w.lock);
                if (h.reply_worker >= 0) {
                    struct ipc_hdr e = {0};
                    e.type = IPC_END;
                    e.slot = h.slot;
                    e.gen = h.gen;
                    e.stream = h.stream;
                    ipc_send(w.env->ipc, h.reply_worker, &e, NULL, 0);
                }
                continue;
            }
        } else if (h.type == IPC_RESUME) {
            resume_remote_locked(&h, ref, w.ipc_buf);
        } else {
            struct stream *st = stream_find(h.stream);
            if (st != NULL && h.type == IPC_OUTPUT)
                stream_push_message(st, w.ipc_buf, h.len);
            else if (st != NULL && h.type == IPC_END)
                stream_finish(st);
        }
        pthread_mutex_unlock(&w.lock);
        secure_wipe(w.ipc_buf, h.len);
    }
}

static void
expired_cb(void *arg, struct reg_ref ref)
{
    (void)arg;
    pthread_mutex_lock(&w.lock);
    struct wsession *ws = ref.slot < w.nsess_slots ? w.sess[ref.slot] : NULL;
    if (ws != NULL && ws->ref.gen == ref.gen)
        session_release_locked(ws, "idle timeout");
    pthread_mutex_unlock(&w.lock);
}

/* Once a second: keep-alives when due, idle expiry, and the end of local
 * state for sessions that ended elsewhere (DELETE on another worker). */
static void
tick(int64_t *last_keepalive)
{
    int64_t now = mono_ms();
    int keepalive = now - *last_keepalive >= (int64_t)w.set->keepalive_s * 1000;

    reg_expire_idle(w.env->reg, w.env->index,
                    (int64_t)w.set->session_idle_s * 1000, expired_cb, NULL);
    pthread_mutex_lock(&w.lock);
    if (keepalive)
        *last_keepalive = now;
    for (struct stream *st = w.streams, *next; st != NULL; st = next) {
        next = st->next;
        if (st->orphan && st->conn == NULL &&
            (now > st->orphan_until || (st->finished && st->fwd_worker >= 0))) {
            stream_unlink(st);
            stream_destroy(st);
            continue;
        }
        if (st->finished)
            continue;
        if (!reg_valid(w.env->reg, st->ref) ||
            (st->kind == STREAM_POST && now > st->deadline_ms)) {
            stream_finish(st);
            continue;
        }
        if (st->kind == STREAM_LEGACY)
            reg_touch(w.env->reg, st->ref); /* an open stream is not idle */
        if (keepalive)
            stream_push(st, ": keepalive\n\n", 13);
    }
    for (uint32_t i = 0; i < w.nsess_slots; i++) {
        struct wsession *ws = w.sess[i];
        if (ws != NULL && !reg_valid(w.env->reg, ws->ref))
            session_release_locked(ws, "ended elsewhere");
    }
    pthread_mutex_unlock(&w.lock);
}

/* The signals the main thread takes through a signalfd. */
static int
signals_open(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Polls until a stop signal or the supervisor's death. */
static void
main_loop(int sfd)
{
    int64_t last_keepalive = mono_ms();
    int64_t last_tick = mono_ms();
    struct pollfd pf[4] = {
        {sfd, POLLIN, 0},
        {ipc_rx_fd(w.env->ipc, w.env->index), POLLIN, 0},
        {w.env->parent_fd, POLLIN, 0},
        {w.hup_fd, POLLIN, 0},
    };

    for (;;) {
        int n = poll(pf, 4, 250);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1 ||
                    si.ssi_signo == SIGUSR2)
                    continue;
                log_info("worker %d: signal %u: draining", w.env->index,
                         si.ssi_signo);
                return;
            }
        }
        if (pf[2].revents & (POLLIN | POLLHUP) ||
            getppid() != w.env->parent_pid) {
            log_warnx("worker %d: the supervisor is gone; stopping",
                      w.env->index);
            return;
        }
        if (pf[1].revents & POLLIN)
            handle_ipc();
        if (pf[3].revents & POLLIN)
            handle_hangups();
        if (mono_ms() - last_tick >= 1000) {
            last_tick = mono_ms();
            tick(&last_keepalive);
        }
    }
}

/* Stops accepting, ends every stream, waits for them (bounded), stops the
 * executors. Returns 0 when everything closed in time. */
static int
drain(void)
{
    int64_t deadline = mono_ms() + (int64_t)w.set->drain_s * 1000;
    MHD_socket fd = MHD_quiesce_daemon(w.mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd); /* our copy only: the supervisor keeps its own */
    pthread_mutex_lock(&w.lock);
    w.closing = 1;
    for (struct stream *st = w.streams, *next; st != NULL; st = next) {
        next = st->next;
        if (st->orphan && st->conn == NULL) {
            stream_unlink(st);
            stream_destroy(st);
            continue;
        }
        stream_push(st, RETRY_HINT, strlen(RETRY_HINT));
        stream_finish(st);
    }
    size_t left = w.nstreams;
    pthread_mutex_unlock(&w.lock);
    while (left > 0 && mono_ms() < deadline) {
        usleep(20000);
        pthread_mutex_lock(&w.lock);
        left = w.nstreams;
        pthread_mutex_unlock(&w.lock);
    }
    pthread_mutex_lock(&w.lock);
    w.stopping = 1;
    pthread_cond_broadcast(&w.work);
    pthread_mutex_unlock(&w.lock);
    return left == 0 ? 0 : -1;
}

static void
raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* libmicrohttpd's own messages, in our log format. */
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    (void)cls;
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = '\0';
    log_debug("worker %d: libmicrohttpd: %s", w.env->index, text);
}

/* Starts MHD on the shared socket. */
static int
start_http(void)
{
    unsigned limit = (unsigned)w.set->max_connections + 256;
    int tls = w.env->tls_cert_pem != NULL && w.env->tls_key_pem != NULL;
    char err[256];
    /* The certificate comes from a callback, so that SIGHUP can replace it
     * without restarting the worker. */
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, 0,
         (void *)(uintptr_t)tls_cert_callback},
        {MHD_OPTION_END, 0, NULL},
    };
    if (tls && tls_install(w.env->tls_cert_pem, w.env->tls_key_pem, err,
                           sizeof(err)) < 0) {
        log_error("worker %d: %s", w.env->index, err);
        return -1;
    }
    w.mhd = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0),
        0, NULL, NULL, on_request, NULL, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)w.env->listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    return w.mhd != NULL ? 0 : -1;
}

int
worker_run(const struct worker_env *env)
{
    int sfd, status = WORKER_EXIT_OK;

    memset(&w, 0, sizeof(w));
    w.env = env;
    w.set = env->settings;
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.work, NULL);
    w.nsess_slots = reg_max_live(env->reg);
    w.sess = calloc(w.nsess_slots, sizeof(*w.sess));
    w.ipc_buf = malloc(IPC_PAYLOAD_MAX + 1);
    w.hup_fd = epoll_create1(EPOLL_CLOEXEC);
    pthread_rwlock_init(&w.creds_lock, NULL);
    memcpy(&w.creds, &env->settings->creds, sizeof(w.creds));
    mcp_server_set_creds(env->srv, &w.creds, &w.creds_lock);
    if (!env->settings->read_only) {
        char gerr[512];
        if (guard_open(&w.creds, gerr, sizeof(gerr)) < 0)
            log_error("worker %d: %s; every order will be refused", env->index,
                      gerr);
    }
    raise_fd_limit();
    if (w.sess == NULL || w.ipc_buf == NULL || w.hup_fd < 0 ||
        (sfd = signals_open()) < 0) {
        log_error("worker %d: cannot set up", env->index);
        return WORKER_EXIT_CRASH;
    }
    for (w.nexec = 0; w.nexec < EXECUTORS; w.nexec++)
        if (pthread_create(&w.exec[w.nexec], NULL, executor_main, NULL) != 0)
            break;
    if (w.nexec == 0 || start_http() < 0) {
        log_error("worker %d: cannot start the HTTP server", env->index);
        return WORKER_EXIT_CRASH;
    }
    log_info("worker %d: serving", env->index);
    main_loop(sfd);
    if (drain() < 0) {
        /* MHD may not be stopped while streams are suspended: leave the
         * rest to process exit. */
        log_warnx("worker %d: streams still open at the deadline", env->index);
        return WORKER_EXIT_OK;
    }
    MHD_stop_daemon(w.mhd);
    tls_release_all();
    for (int i = 0; i < w.nexec; i++)
        pthread_join(w.exec[i], NULL);
    for (uint32_t i = 0; i < w.nsess_slots; i++)
        if (w.sess[i] != NULL) {
            reg_release(env->reg, w.sess[i]->ref);
            session_free(w.sess[i]);
        }
    free(w.sess);
    free(w.ipc_buf);
    close(w.hup_fd);
    close(sfd);
    guard_close();
    creds_wipe(&w.creds);
    bnc_thread_cleanup();
    log_info("worker %d: stopped", env->index);
    return status;
}
