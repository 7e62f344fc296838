/*
 * worker_stream.c - the worker's SSE streams. See worker_int.h.
 *
 * Owns every struct stream of the worker and w->streams: the stream table
 * (a hash by id and a list of all), each stream's capped output buffer and
 * libmicrohttpd's reader and free callback for it, the event log of POST
 * streams and Last-Event-ID resumption (here or, by forwarding, in another
 * worker), the hang-up watch, keep-alives and the end of every stream at
 * drain. It calls nothing above it: a legacy stream's end reaches its
 * session through w->streams.main_closed.
 *
 * A worker's death. A stream id carries its process's pid (bits 32 to 63)
 * and whether it is a standalone stream (bit 0), so that a Last-Event-ID
 * or a message for a stream of a dead worker never reaches a stream of
 * its replacement. Each POST stream knows the ids of the requests it
 * answers (recorded in the session's registry record too) and the worker
 * its answers come from: when that worker dies (its pid changes in the
 * registry, or /proc shows it exited), the unanswered requests get a
 * JSON-RPC error; when the stream's own worker died, a client resuming it
 * on any worker gets that error from the record. Nothing is run again.
 *
 * Everything but the callbacks, stream_init/fini and the functions that
 * say they lock runs under w->lock.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker_int.h"

#define STREAM_BUF_MAX (16u * 1024 * 1024)
#define REMOTE_WAIT_MS 120000 /* a POST stream waits this long at most */
#define EVENT_LOG_MAX  64     /* events kept per POST stream */
#define ORPHAN_KEEP_MS 60000  /* a broken POST stream waits this long */

/* The error a request gets when the worker running it (or holding its
 * answer) died, or when its answer never came. */
#define DIED_TEXT                                                              \
    "the worker serving this request died; its outcome is unknown: for an "    \
    "order, check get_open_orders or get_audit_log"
#define NO_ANSWER_TEXT                                                         \
    "this request got no answer (its session ended or the worker serving "     \
    "it died); its outcome is unknown: for an order, check get_open_orders "   \
    "or get_audit_log"
#define TIMEOUT_TEXT                                                           \
    "no answer in time; the outcome is unknown: for an order, check "          \
    "get_open_orders or get_audit_log"

/* A message sent on a POST stream, kept so that a client whose connection
 * broke can resume with Last-Event-ID. */
struct logged_event {
    struct logged_event *next;
    unsigned seq;
    size_t len;
    char msg[];
};

/* Opens the hang-up watch and sets the callback that ends a legacy
 * stream's session. Returns 0, or -1 with errno (nothing to undo). */
int
stream_init(struct worker *w,
            void (*main_closed)(struct worker *, struct wsession *))
{
    w->streams.main_closed = main_closed;
    w->streams.pid = getpid();
    w->streams.hup_fd = epoll_create1(EPOLL_CLOEXEC);
    return w->streams.hup_fd < 0 ? -1 : 0;
}

/* Closes the hang-up watch; the streams are MHD's, gone by now. */
void
stream_fini(struct worker *w)
{
    close(w->streams.hup_fd);
}

/* The next stream id (see the top of this file). */
static uint64_t
stream_id_next(struct worker *w, enum stream_kind kind)
{
    w->streams.next_id = (w->streams.next_id + 1) & 0x7fffffffu;
    if (w->streams.next_id == 0)
        w->streams.next_id = 1;
    return (uint64_t)(uint32_t)w->streams.pid << 32 | w->streams.next_id << 1 |
           (kind == STREAM_STANDALONE);
}

int
stream_id_is_standalone(uint64_t id)
{
    return (int)(id & 1);
}

/* The pid of the process that made stream id. */
static pid_t
stream_id_pid(uint64_t id)
{
    return (pid_t)(id >> 32);
}

/* The stream with this id, or NULL. */
struct stream *
stream_find(struct worker *w, uint64_t id)
{
    struct stream *st = w->streams.buckets[id % STREAM_BUCKETS];
    while (st != NULL && st->id != id)
        st = st->hnext;
    return st;
}

/* A new stream in the table, owned by the caller until stream_respond()
 * hands it to MHD (or stream_discard_locked() frees it). It holds one of
 * the registry's open streams (max_connections) until its connection
 * ends, and a pin on its session until it is freed. A POST stream gives
 * up waiting for its answer after REMOTE_WAIT_MS. NULL with errno EAGAIN
 * when max_connections streams are open (or the registry is unusable),
 * ENOENT when the session is gone, ENOMEM. */
struct stream *
stream_new(struct worker *w, enum stream_kind kind, struct reg_ref ref)
{
    struct registry *reg = w->env->reg;

    if (reg_stream_open(reg, w->env->index) < 0) {
        errno = EAGAIN;
        return NULL;
    }
    if (reg_pin(reg, ref) < 0) {
        reg_stream_close(reg, w->env->index);
        errno = ENOENT;
        return NULL;
    }
    struct stream *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        reg_unpin(reg, ref);
        reg_stream_close(reg, w->env->index);
        errno = ENOMEM;
        return NULL;
    }
    st->counted = 1;
    st->pinned = 1;
    st->w = w;
    st->id = stream_id_next(w, kind);
    st->kind = kind;
    st->ref = ref;
    st->fwd_worker = -1;
    st->wait_worker = -1;
    if (kind == STREAM_POST)
        st->deadline_ms = mono_ms() + REMOTE_WAIT_MS;
    dbuf_init(&st->out, STREAM_BUF_MAX);
    st->hnext = w->streams.buckets[st->id % STREAM_BUCKETS];
    w->streams.buckets[st->id % STREAM_BUCKETS] = st;
    st->next = w->streams.all;
    if (w->streams.all != NULL)
        w->streams.all->prev = st;
    w->streams.all = st;
    w->streams.n++;
    return st;
}

/* The start of a Streamable HTTP stream: the priming event of MCP
 * 2025-11-25 (an event id and empty data) with the retry hint, sent at
 * once so that a stream cut before its first message can be resumed with
 * Last-Event-ID. */
static void
stream_prime(struct worker *w, struct stream *st)
{
    char text[96];
    int n =
        snprintf(text, sizeof(text), "retry: 1000\nid: %d.%llu.0\ndata:\n\n",
                 w->env->index, (unsigned long long)st->id);
    stream_push(st, text, (size_t)n);
}

/* stream_new() for a Streamable HTTP stream (POST or standalone), primed.
 * Takes the lock. NULL with stream_new()'s errno. */
struct stream *
stream_open(struct worker *w, enum stream_kind kind, struct reg_ref ref)
{
    pthread_mutex_lock(&w->lock);
    struct stream *st = stream_new(w, kind, ref);
    int err = errno;
    if (st != NULL)
        stream_prime(w, st);
    pthread_mutex_unlock(&w->lock);
    errno = err;
    return st;
}

/* Takes st out of the table; the caller frees it. */
static void
stream_unlink(struct worker *w, struct stream *st)
{
    struct stream **pp = &w->streams.buckets[st->id % STREAM_BUCKETS];
    while (*pp != NULL && *pp != st)
        pp = &(*pp)->hnext;
    if (*pp == st)
        *pp = st->hnext;
    if (st->prev != NULL)
        st->prev->next = st->next;
    else
        w->streams.all = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    w->streams.n--;
}

/* Gives back the stream's place under max_connections: its connection
 * ended (it may live on as an orphan). */
static void
stream_uncount(struct stream *st)
{
    if (st->counted) {
        st->counted = 0;
        reg_stream_close(st->w->env->reg, st->w->env->index);
    }
}

/* Frees an unlinked stream, wiping what it carried, and gives back what it
 * held in the registry. */
static void
stream_destroy(struct stream *st)
{
    struct logged_event *ev;
    stream_uncount(st);
    if (st->recorded)
        reg_inflight_take(st->w->env->reg, st->ref, st->w->env->index, st->id,
                          NULL, 0);
    if (st->kind == STREAM_STANDALONE) /* it no longer carries updates */
        reg_listener_clear(st->w->env->reg, st->ref, st->w->env->index, st->id);
    if (st->pinned)
        reg_unpin(st->w->env->reg, st->ref);
    while ((ev = st->log) != NULL) {
        st->log = ev->next;
        secure_wipe(ev->msg, ev->len);
        free(ev);
    }
    dbuf_wipe(&st->out);
    free(st);
}

/* Unlinks and frees a stream MHD never got. */
void
stream_discard_locked(struct worker *w, struct stream *st)
{
    stream_unlink(w, st);
    stream_destroy(st);
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
void
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
stream_push_event(struct worker *w, struct stream *st, unsigned seq,
                  const char *msg, size_t len)
{
    char head[96];
    int n;

    if (st->kind == STREAM_LEGACY)
        n = snprintf(head, sizeof(head), "event: message\ndata: ");
    else
        n = snprintf(head, sizeof(head),
                     "id: %d.%llu.%u\nevent: message\n"
                     "data: ",
                     w->env->index, (unsigned long long)st->id, seq);
    stream_push(st, head, (size_t)n);
    stream_push(st, msg, len);
    stream_push(st, "\n\n", 2);
}

/* Keeps a POST stream's message for a later Last-Event-ID replay; the
 * oldest goes beyond EVENT_LOG_MAX. Out of memory: not kept. */
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

static void forward_to(struct worker *w, const struct stream *st,
                       const char *msg, size_t len, int end);

/* A JSON-RPC id as text, the same way for what a client sent and what
 * the engine answered. Returns 0, or -1 when it is too long to track. */
static int
rpc_id_text(json_object *id, char out[REG_RPC_ID_MAX])
{
    const char *t = json_object_to_json_string_ext(
        id, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = t != NULL ? strlen(t) : REG_RPC_ID_MAX;
    if (n >= REG_RPC_ID_MAX)
        return -1;
    memcpy(out, t, n + 1);
    return 0;
}

/* Whether a POST stream still waits for an answer to one of its requests. */
static int
stream_pending(const struct stream *st)
{
    return st->kind == STREAM_POST && st->nids > 0 &&
           st->answered != (1u << st->nids) - 1;
}

/* Marks the request msg (one JSON-RPC message) answers, if st waits for
 * it. */
static void
stream_note_answer(struct stream *st, const char *msg, size_t len)
{
    json_object *o, *id;
    char text[REG_RPC_ID_MAX];

    if (!stream_pending(st) || len == 0 || msg[0] != '{')
        return;
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return;
    o = json_tokener_parse_ex(tok, msg, (int)len);
    json_tokener_free(tok);
    if (json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "id", &id) &&
        !json_object_object_get_ex(o, "method", NULL) &&
        (json_object_object_get_ex(o, "result", NULL) ||
         json_object_object_get_ex(o, "error", NULL)) &&
        rpc_id_text(id, text) == 0)
        for (unsigned k = 0; k < st->nids; k++)
            if (!(st->answered & 1u << k) && strcmp(st->ids[k], text) == 0) {
                st->answered |= 1u << k;
                break;
            }
    json_object_put(o);
}

static void stream_push_message(struct worker *w, struct stream *st,
                                const char *msg, size_t len);

/* A JSON-RPC error response to id (JSON text) with message why; the
 * caller puts it. */
static json_object *
rpc_error_new(const char *id, const char *why)
{
    json_object *e = json_object_new_object();
    json_object *err = json_object_new_object();

    json_object_object_add(e, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(e, "id", json_tokener_parse(id));
    json_object_object_add(err, "code", json_object_new_int(-32603));
    json_object_object_add(err, "message", json_object_new_string(why));
    json_object_object_add(e, "error", err);
    return e;
}

/* Its text (borrowed from e) and length. */
static const char *
rpc_text(json_object *e, size_t *len)
{
    return json_object_to_json_string_length(
        e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

/* Answers every request of st still waiting with a JSON-RPC error
 * (message why), then ends st. */
static void
stream_fail_pending_locked(struct worker *w, struct stream *st, const char *why)
{
    for (unsigned k = 0; k < st->nids; k++) {
        if (st->answered & 1u << k)
            continue;
        json_object *e = rpc_error_new(st->ids[k], why);
        size_t n;
        const char *text = rpc_text(e, &n);
        if (text != NULL)
            stream_push_message(w, st, text, n); /* marks it answered */
        st->answered |= 1u << k;
        json_object_put(e);
    }
    stream_finish(w, st);
}

/* See worker_int.h: the requests of msg (a message or a batch, as the
 * client sent it; borrowed) are answered on st, by worker owner. Call
 * before the message is handed over, so that no answer comes first. */
void
stream_expect_locked(struct worker *w, struct stream *st, json_object *msg,
                     int owner)
{
    int batch = json_object_is_type(msg, json_type_array);
    size_t n = batch ? json_object_array_length(msg) : 1;

    for (size_t i = 0; i < n && st->nids < STREAM_IDS_MAX; i++) {
        json_object *m = batch ? json_object_array_get_idx(msg, i) : msg, *id;
        if (mcp_message_method(m) == NULL ||
            !json_object_object_get_ex(m, "id", &id) || id == NULL ||
            rpc_id_text(id, st->ids[st->nids]) < 0)
            continue;
        if (reg_inflight_add(w->env->reg, st->ref, w->env->index, st->id,
                             st->ids[st->nids]) == 0)
            st->recorded = 1;
        st->nids++;
    }
    if (owner != w->env->index) {
        st->wait_worker = owner;
        st->wait_pid = reg_worker_pid(w->env->reg, owner);
    }
}

/* Queues one JSON-RPC message as an SSE "message" event (msg is copied),
 * or forwards it when a resumed stream took this one over. */
static void
stream_push_message(struct worker *w, struct stream *st, const char *msg,
                    size_t len)
{
    stream_note_answer(st, msg, len);
    if (st->fwd_worker >= 0 && st->orphan) {
        forward_to(w, st, msg, len, 0);
        return;
    }
    unsigned seq = ++st->events;
    if (st->kind == STREAM_POST)
        stream_log(st, seq, msg, len);
    stream_push_event(w, st, seq, msg, len);
}

/* Ends the stream once its queued bytes are sent (and tells the stream
 * that took it over, if any). */
void
stream_finish(struct worker *w, struct stream *st)
{
    if (st->fwd_worker >= 0 && st->orphan && !st->finished)
        forward_to(w, st, NULL, 0, 1);
    st->finished = 1;
    stream_wake(st);
}

/* Queues msg (when not NULL) on st, then ends st when end is set. */
void
stream_output_locked(struct worker *w, struct stream *st, const char *msg,
                     size_t len, int end)
{
    if (msg != NULL)
        stream_push_message(w, st, msg, len);
    /* a resumption's end means the stream it resumes ended, having
     * answered (or failed) each request, some maybe before the event the
     * client resumed after; a quiet end: the requests without an answer
     * were cancelled, and a cancelled request gets none */
    if (end == OUT_END && stream_pending(st) && st->resumes == 0)
        stream_fail_pending_locked(w, st, NO_ANSWER_TEXT);
    else if (end)
        stream_finish(w, st);
}

/* The same for the stream with this id, if it still exists; takes the
 * lock (for IPC_OUTPUT and IPC_END). */
void
stream_output(struct worker *w, uint64_t id, const char *msg, size_t len,
              int end)
{
    pthread_mutex_lock(&w->lock);
    struct stream *st = stream_find(w, id);
    if (st != NULL)
        stream_output_locked(w, st, msg, len, end);
    pthread_mutex_unlock(&w->lock);
}

/* Passes a message (or the end) of a taken-over stream to the stream that
 * replaced it, in this worker or another. A full channel loses it, with a
 * log line: the client can resume again. */
static void
forward_to(struct worker *w, const struct stream *st, const char *msg,
           size_t len, int end)
{
    if (st->fwd_worker == w->env->index) {
        struct stream *to = stream_find(w, st->fwd_stream);
        if (to != NULL)
            stream_output_locked(w, to, end ? NULL : msg, len, end);
        return;
    }
    struct ipc_output m = {.slot = st->ref.slot,
                           .gen = st->ref.gen,
                           .stream = st->fwd_stream,
                           .msg = msg,
                           .len = len};
    int rc =
        end ? ipc_send_end(w->env->ipc, st->fwd_worker, m.slot, m.gen, m.stream)
            : ipc_send_output(w->env->ipc, st->fwd_worker, &m);
    if (rc < 0)
        log_warn("could not forward a resumed stream's message");
}

/* A client resumes POST stream id of session ref after event seq, on
 * stream to_stream of worker to_worker: replays what it missed there and
 * forwards the rest. The old connection, if MHD has not noticed yet that
 * it broke, is closed. Returns 0, or -1 when there is no such stream. */
static int
take_over_locked(struct worker *w, struct reg_ref ref, uint64_t id,
                 unsigned seq, int to_worker, uint64_t to_stream)
{
    struct stream *st = stream_find(w, id);
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
            forward_to(w, st, ev->msg, ev->len, 0);
    if (st->finished)
        forward_to(w, st, NULL, 0, 1);
    return 0;
}

/* The requests stream id of worker holder still owed (the session's
 * record) go with st, a resumption of it: st carries them from now on,
 * in the record too, so that a client whose resumption breaks in turn
 * finds them under st. Those the old stream (when local) has answered
 * already count as answered. Returns how many. */
static int
stream_inherit_locked(struct worker *w, struct stream *st, int holder,
                      uint64_t id, const struct stream *old)
{
    char ids[REG_INFLIGHT_MAX][REG_RPC_ID_MAX];
    int n = reg_inflight_move(w->env->reg, st->ref, holder, id, w->env->index,
                              st->id, ids, REG_INFLIGHT_MAX);

    for (int k = 0; k < n && st->nids < STREAM_IDS_MAX; k++) {
        memcpy(st->ids[st->nids], ids[k], REG_RPC_ID_MAX);
        for (unsigned j = 0; old != NULL && j < old->nids; j++)
            if (old->answered & 1u << j && strcmp(old->ids[j], ids[k]) == 0)
                st->answered |= 1u << st->nids;
        st->nids++;
    }
    st->recorded = n > 0;
    return n;
}

/* GET /mcp with Last-Event-ID "<holder>.<id>.<seq>": a new POST stream
 * that gets what stream id of worker holder sent after seq, and the rest
 * as it comes (here directly, or through IPC_RESUME to the holder); it
 * inherits the requests that stream owed (stream_inherit_locked), so that
 * the death of the holder, or of this worker, ends them with an error
 * rather than silence. When the process that made stream id is gone, they
 * get the error at once. It ends at once when there is nothing to resume.
 * Returns the stream, owned as stream_new()'s, or NULL with stream_new()'s
 * errno, or EBUSY when the holder's channel is full. Takes the lock. */
struct stream *
stream_open_resumed(struct worker *w, struct reg_ref ref, int holder,
                    uint64_t id, unsigned seq)
{
    pid_t pid = 0;
    int alive = outbox_peer_alive(w, holder, &pid) && pid == stream_id_pid(id);
    int local = holder == w->env->index && stream_id_pid(id) == w->streams.pid;

    pthread_mutex_lock(&w->lock);
    struct stream *st = stream_new(w, STREAM_POST, ref);
    if (st != NULL) {
        stream_prime(w, st);
        st->resumes = id;
        int n = stream_inherit_locked(w, st, holder, id,
                                      local ? stream_find(w, id) : NULL);
        if (local) {
            if (take_over_locked(w, ref, id, seq, holder, st->id) < 0)
                stream_fail_pending_locked(w, st, NO_ANSWER_TEXT);
        } else if (!alive) {
            if (n > 0)
                log_info("stream %d.%llu died with its worker: %d request%s "
                         "answered with an error",
                         holder, (unsigned long long)id, n, n == 1 ? "" : "s");
            stream_fail_pending_locked(w, st, DIED_TEXT);
        } else {
            st->wait_worker = holder;
            st->wait_pid = pid;
        }
    }
    int err = errno;
    pthread_mutex_unlock(&w->lock);
    if (st == NULL) {
        errno = err;
        return NULL;
    }
    if (!local && alive) {
        struct ipc_resume m = {.slot = ref.slot,
                               .gen = ref.gen,
                               .stream = id,
                               .seq = seq,
                               .reply_worker = w->env->index,
                               .reply_stream = st->id};
        if (ipc_send_resume(w->env->ipc, holder, &m) < 0) {
            pthread_mutex_lock(&w->lock);
            stream_discard_locked(w, st);
            pthread_mutex_unlock(&w->lock);
            errno = EBUSY;
            return NULL;
        }
    }
    log_info("stream resumed after event %d.%llu.%u%s", holder,
             (unsigned long long)id, seq,
             local || alive ? "" : " (its worker died)");
    return st;
}

/* IPC_RESUME: another worker took a Last-Event-ID GET for one of our
 * broken POST streams: replay to it and forward from now on, or end its
 * new stream when we have nothing for it. Takes the lock. */
void
stream_resume_for(struct worker *w, const struct ipc_resume *m)
{
    struct reg_ref ref = {m->slot, m->gen};

    /* A stream of this worker's predecessor at this index, which died
     * (the sender saw that process alive: it was still exiting): the new
     * stream inherited its requests and fails them when its tick sees the
     * death. Nothing to send. */
    if (stream_id_pid(m->stream) != w->streams.pid)
        return;
    pthread_mutex_lock(&w->lock);
    if (take_over_locked(w, ref, m->stream, m->seq, m->reply_worker,
                         m->reply_stream) < 0)
        ipc_send_end(w->env->ipc, m->reply_worker, m->slot, m->gen,
                     m->reply_stream);
    pthread_mutex_unlock(&w->lock);
}

/* MHD's reader: hands out queued bytes, ends a finished stream, and
 * suspends the connection while there is nothing to send. */
static ssize_t
stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    struct worker *w = st->w;
    ssize_t n;

    (void)pos;
    pthread_mutex_lock(&w->lock);
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
    } else if (st->finished || w->streams.closing) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        st->suspended = 1;
        MHD_suspend_connection(st->conn);
        n = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* MHD is done with a stream: the client left or the stream ended. A POST
 * stream left before its answer is kept (orphaned) for a resumption;
 * anything else is freed, and a legacy stream's session ends. */
static void
stream_free_cb(void *cls)
{
    struct stream *st = cls;
    struct worker *w = st->w;

    pthread_mutex_lock(&w->lock);
    st->conn = NULL;
    st->suspended = 0;
    st->gone = 0;
    stream_uncount(st);
    if (st->kind == STREAM_POST && !st->finished && !w->streams.closing) {
        /* The client lost the connection before the answer: keep the
         * stream so that it can resume with Last-Event-ID. */
        st->orphan = 1;
        st->orphan_until = mono_ms() + ORPHAN_KEEP_MS;
        st->out_off = 0;
        dbuf_reset(&st->out);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    stream_unlink(w, st);
    if (st->sess != NULL)
        w->streams.main_closed(w, st->sess);
    pthread_mutex_unlock(&w->lock);
    if (st->kind == STREAM_LEGACY)
        log_info("SSE stream %llu closed", (unsigned long long)st->id);
    stream_destroy(st);
}

/* libmicrohttpd does not watch a suspended connection, so a client that
 * leaves would only be noticed at the next write. The worker watches each
 * stream's socket for a hang-up itself (one-shot; a closed descriptor
 * leaves the set by itself). A failure only loses the early notice. */
static void
watch_hangup(struct worker *w, struct MHD_Connection *c, uint64_t stream_id)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT | EPOLLET,
                             .data.u64 = stream_id};
    if (epoll_ctl(w->streams.hup_fd, EPOLL_CTL_ADD, ci->connect_fd, &ev) < 0 &&
        errno == EEXIST)
        epoll_ctl(w->streams.hup_fd, EPOLL_CTL_MOD, ci->connect_fd, &ev);
}

/* Ends the streams whose clients hung up (the main loop calls it when
 * hup_fd is readable). Takes the lock. */
void
stream_handle_hangups(struct worker *w)
{
    struct epoll_event ev[64];
    int n;
    while ((n = epoll_wait(w->streams.hup_fd, ev, 64, 0)) > 0) {
        pthread_mutex_lock(&w->lock);
        for (int i = 0; i < n; i++) {
            struct stream *st = stream_find(w, ev[i].data.u64);
            if (st != NULL && st->conn != NULL && !st->orphan) {
                st->gone = 1;
                stream_wake(st);
            }
        }
        pthread_mutex_unlock(&w->lock);
    }
}

/* Answers c with the SSE stream st (an extra header when hname is set);
 * from here on st belongs to MHD, which frees it through stream_free_cb.
 * MHD_NO when the response cannot be made: st is then still the
 * caller's. Called without the lock. */
enum MHD_Result
stream_respond(struct worker *w, struct MHD_Connection *c, struct stream *st,
               const char *hname, const char *hvalue)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, stream_reader, st, stream_free_cb);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    reply_worker_header(w, r);
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    st->conn = c;
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    if (ret == MHD_YES)
        watch_hangup(w, c, st->id);
    return ret;
}

/* Whether the worker st waits on died since st began to wait. */
static int
stream_waits_on_dead(struct worker *w, const struct stream *st)
{
    pid_t pid;
    return !outbox_peer_alive(w, st->wait_worker, &pid) || pid != st->wait_pid;
}

/* The main loop's tick for the streams: frees orphans whose time is up
 * (or whose resumption ended), ends the streams of ended sessions, ends
 * with an error the requests of POST streams past their deadline or whose
 * answers were to come from a worker that died, keeps legacy sessions
 * alive while their
 * stream is open, and sends a keep-alive when asked. */
void
stream_tick_locked(struct worker *w, int64_t now, int keepalive)
{
    for (struct stream *st = w->streams.all, *next; st != NULL; st = next) {
        next = st->next;
        if (st->orphan && st->conn == NULL &&
            (now > st->orphan_until || (st->finished && st->fwd_worker >= 0))) {
            stream_discard_locked(w, st);
            continue;
        }
        if (st->finished)
            continue;
        if (!reg_valid(w->env->reg, st->ref)) {
            stream_finish(w, st);
            continue;
        }
        if (st->kind == STREAM_POST && now > st->deadline_ms) {
            stream_fail_pending_locked(w, st, TIMEOUT_TEXT);
            continue;
        }
        if (st->kind == STREAM_POST && st->wait_worker >= 0 &&
            stream_waits_on_dead(w, st)) {
            stream_fail_pending_locked(w, st, DIED_TEXT);
            continue;
        }
        if (st->kind == STREAM_LEGACY)
            reg_touch(w->env->reg, st->ref); /* an open stream is not idle */
        if (keepalive)
            stream_push(st, ": keepalive\n\n", 13);
    }
}

/* Drain: from now on every stream ends; each gets a retry hint first, and
 * orphans are freed. Returns how many streams MHD still holds. Takes the
 * lock. */
size_t
stream_close_all(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->streams.closing = 1;
    for (struct stream *st = w->streams.all, *next; st != NULL; st = next) {
        next = st->next;
        if (st->orphan && st->conn == NULL) {
            stream_discard_locked(w, st);
            continue;
        }
        stream_push(st, RETRY_HINT, strlen(RETRY_HINT));
        stream_finish(w, st);
    }
    size_t left = w->streams.n;
    pthread_mutex_unlock(&w->lock);
    return left;
}

/* How many streams exist. Takes the lock. */
size_t
stream_count(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->streams.n;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* One decimal number of at most max, ending at end (the next '.' or the
 * NUL). Returns 0 with *out and *next past it, or -1. */
static int
event_id_part(const char *s, char end, uint64_t max, uint64_t *out,
              const char **next)
{
    uint64_t v = 0;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (p == s || *p != end)
        return -1;
    *out = v;
    *next = end != '\0' ? p + 1 : p;
    return 0;
}

int
stream_event_id_parse(const char *s, int *worker, uint64_t *stream,
                      unsigned *seq)
{
    uint64_t w, id, q;

    if (s == NULL || event_id_part(s, '.', INT_MAX, &w, &s) < 0 ||
        event_id_part(s, '.', UINT64_MAX, &id, &s) < 0 ||
        event_id_part(s, '\0', UINT_MAX, &q, &s) < 0)
        return -1;
    *worker = (int)w;
    *stream = id;
    *seq = (unsigned)q;
    return 0;
}
