/*
 * worker_jobs.c - the worker's sessions, their job queues and the executor
 * pool. See worker_int.h.
 *
 * Owns every struct wsession (a session this worker created: its MCP
 * state lives only here), every struct job (one client message waiting for
 * its session) and w->jobs: the session table by registry slot, the ready
 * list and the executor threads. Each session runs one job at a time, in
 * arrival order; EXECUTORS threads share the ready sessions. What a job
 * writes goes to its reply target: the session's own stream, a stream of
 * this worker, or, over IPC, a stream of another worker. A job pins its
 * session in the registry from its arrival to its end, so that a session
 * with work in flight is never evicted.
 *
 * Takeover. After every change of a Streamable HTTP session's state (the
 * engine's state_gen moved: initialize, logging/setLevel, the session's
 * credentials) the thread running it saves the state into the session's
 * registry record, before the answer that follows the change goes out.
 * When a session's owner died, jobs_owner() adopts it here (reg_adopt:
 * one worker wins) and rebuilds it from the record, so that the client's
 * request is served at once: no 404, no new initialize.
 *
 * Below it: worker_stream.c (the targets). Everything but the functions
 * that say they lock, and the executors, runs under w->lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bnc.h"
#include "log.h"
#include "util.h"
#include "worker_int.h"

/* One client message waiting for its session. */
struct job {
    struct job *next;
    int reply_worker; /* a worker index, IPC_REPLY_MAIN or IPC_REPLY_NONE */
    uint64_t reply_stream;
    size_t len;
    char msg[];
};

/* Sets up the session table (one entry per registry slot) and the
 * executors' condition. Returns 0, or -1 when out of memory. */
int
jobs_init(struct worker *w)
{
    pthread_cond_init(&w->jobs.work, NULL);
    w->jobs.nslots = reg_max_live(w->env->reg);
    w->jobs.sess = calloc(w->jobs.nslots, sizeof(*w->jobs.sess));
    return w->jobs.sess != NULL ? 0 : -1;
}

static int session_sink(void *arg, const char *msg, size_t len);

/* Saves the state of a Streamable HTTP session into its registry record
 * when it changed since the last save. Called by the thread running the
 * session's job (or before any job), without the lock; the bytes, which
 * may hold session credentials, are wiped. A failure is logged: an
 * adopter then gets the older state. */
static void
session_save(struct wsession *ws)
{
    unsigned char buf[REG_STATE_MAX];
    unsigned gen = ws->mcp.state_gen;
    size_t len = 0;

    if (ws->kind != REG_KIND_STREAMABLE || gen == ws->saved_gen)
        return;
    if (mcp_session_save(&ws->mcp, buf, sizeof(buf), &len) < 0)
        log_warnx("session %.8s...: its state is too big to save for a "
                  "takeover",
                  ws->id);
    else if (reg_state_save(ws->w->env->reg, ws->ref, ws->w->env->index, buf,
                            len) == 0)
        ws->saved_gen = gen;
    else if (errno != ENOENT && errno != EPERM)
        log_warn("session %.8s...: saving its state", ws->id);
    secure_wipe(buf, sizeof(buf));
}

/* A new local session for ref (id: its public id, copied), replacing one
 * that ended elsewhere and was not swept yet. NULL when out of memory. */
struct wsession *
jobs_session_new_locked(struct worker *w, struct reg_ref ref, const char *id,
                        enum reg_kind kind)
{
    struct wsession *ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return NULL;
    ws->w = w;
    ws->ref = ref;
    memcpy(ws->id, id, sizeof(ws->id));
    ws->kind = kind;
    mcp_session_init(&ws->mcp, w->env->srv, id, session_sink, ws);
    if (w->jobs.sess[ref.slot] != NULL) /* ended elsewhere, not swept yet */
        jobs_session_release_locked(w, w->jobs.sess[ref.slot],
                                    "ended elsewhere");
    w->jobs.sess[ref.slot] = ws;
    return ws;
}

/* Frees a session and the jobs still waiting (wiped: they may carry
 * credentials), and their pins. It must be idle and out of the table. */
static void
session_free(struct wsession *ws)
{
    struct job *j;
    while ((j = ws->head) != NULL) {
        ws->head = j->next;
        reg_unpin(ws->w->env->reg, ws->ref);
        secure_wipe(j->msg, j->len);
        free(j);
    }
    mcp_session_finish(&ws->mcp);
    free(ws);
}

/* Ends a session here and in the registry, and ends its stream; it is
 * freed now when idle, else by the executor when its job returns. */
void
jobs_session_release_locked(struct worker *w, struct wsession *ws,
                            const char *why)
{
    if (ws->dead)
        return;
    ws->dead = 1;
    if (reg_release(w->env->reg, ws->ref) == 0)
        log_info("session %.8s... ended (%s)", ws->id, why);
    if (w->jobs.sess[ws->ref.slot] == ws)
        w->jobs.sess[ws->ref.slot] = NULL;
    if (ws->main != NULL) {
        ws->main->sess = NULL;
        stream_finish(w, ws->main);
        ws->main = NULL;
    }
    if (!ws->running && !ws->queued && !ws->notifying)
        session_free(ws);
}

/* The notifier (worker_notify.c) holds a session while it polls it
 * without the lock: a session released meanwhile is freed by the last one
 * to let go. */
void
jobs_session_hold_locked(struct wsession *ws)
{
    ws->notifying++;
}

void
jobs_session_unhold_locked(struct wsession *ws)
{
    if (--ws->notifying == 0 && ws->dead && !ws->running && !ws->queued)
        session_free(ws);
}

/* w->streams.main_closed: the legacy stream of ws is gone, so is ws. */
void
jobs_main_closed(struct worker *w, struct wsession *ws)
{
    ws->main = NULL;
    jobs_session_release_locked(w, ws, "stream closed");
}

/* Local session for ref, or NULL when it is not (or no longer) ours. */
struct wsession *
jobs_session_get_locked(struct worker *w, struct reg_ref ref)
{
    if (ref.slot >= w->jobs.nslots)
        return NULL;
    struct wsession *ws = w->jobs.sess[ref.slot];
    if (ws == NULL || ws->dead || ws->ref.gen != ref.gen)
        return NULL;
    return ws;
}

/* Queues a client message (copied) for the session, pinned, and wakes an
 * executor. Returns 0, or -1 with errno ENOENT when the registry no longer
 * has the session (evicted, expired), or ENOMEM. */
static int
session_enqueue_locked(struct worker *w, struct wsession *ws, const char *msg,
                       size_t len, int reply_worker, uint64_t reply_stream)
{
    /* Cancels and answers to server requests (sampling, elicitation) act
     * at once, not behind the request they concern. */
    if (mcp_session_intercept(&ws->mcp, msg, len))
        return 0;
    if (reg_pin(w->env->reg, ws->ref) < 0) {
        errno = ENOENT;
        return -1;
    }
    struct job *j = malloc(sizeof(*j) + len + 1);
    if (j == NULL) {
        reg_unpin(w->env->reg, ws->ref);
        errno = ENOMEM;
        return -1;
    }
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
        if (w->jobs.ready_tail != NULL)
            w->jobs.ready_tail->ready_next = ws;
        else
            w->jobs.ready_head = ws;
        w->jobs.ready_tail = ws;
        pthread_cond_signal(&w->jobs.work);
    }
    return 0;
}

/* Sends an output or an end marker to a stream, wherever it lives: a
 * local stream at once, another worker's through the outbox (queued while
 * its channel is full; refused with a log line at the outbox's cap).
 * Called without the lock (it takes it for a local stream). */
void
jobs_route_output(struct worker *w, int worker, uint64_t stream_id,
                  struct wsession *ws, const char *msg, size_t len, int end)
{
    if (worker == IPC_REPLY_NONE)
        return;
    if (worker == IPC_REPLY_MAIN || worker == w->env->index) {
        pthread_mutex_lock(&w->lock);
        struct stream *st =
            worker == IPC_REPLY_MAIN ? ws->main : stream_find(w, stream_id);
        if (st != NULL)
            stream_output_locked(w, st, msg, len, end);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    struct ipc_output m = {.slot = ws->ref.slot,
                           .gen = ws->ref.gen,
                           .stream = stream_id,
                           .msg = end ? NULL : msg,
                           .len = end ? 0 : len};
    if (outbox_send(w, worker, &m, end) < 0 && errno != ENOBUFS)
        log_warn("could not pass a message to worker %d", worker);
}

/* The engine's sink: routes a message to the running job's target. */
static int
session_sink(void *arg, const char *msg, size_t len)
{
    struct wsession *ws = arg;
    session_save(ws); /* the state an answer reports is saved before it */
    jobs_route_output(ws->w, ws->cur_worker, ws->cur_stream, ws, msg, len, 0);
    return 0;
}

/* Takes the next session with work; NULL when the worker stops. */
static struct wsession *
ready_pop_locked(struct worker *w)
{
    while (w->jobs.ready_head == NULL && !w->jobs.stopping)
        pthread_cond_wait(&w->jobs.work, &w->lock);
    struct wsession *ws = w->jobs.ready_head;
    if (ws != NULL) {
        w->jobs.ready_head = ws->ready_next;
        if (w->jobs.ready_head == NULL)
            w->jobs.ready_tail = NULL;
        ws->queued = 0;
        ws->running = 1;
    }
    return ws;
}

/* An executor thread (arg: the worker): runs ready sessions' jobs, one
 * session at a time, without the lock while the engine works; frees a
 * session that died meanwhile. Ends when jobs_stop() says so. */
static void *
executor_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->lock);
    struct wsession *ws;
    while ((ws = ready_pop_locked(w)) != NULL) {
        struct job *j;
        while ((j = ws->head) != NULL) {
            ws->head = j->next;
            if (ws->head == NULL)
                ws->tail = NULL;
            ws->cur_worker = j->reply_worker;
            ws->cur_stream = j->reply_stream;
            pthread_mutex_unlock(&w->lock);
            int sent = mcp_handle_message(&ws->mcp, j->msg, j->len);
            session_save(ws);
            /* a request the engine did not answer was cancelled */
            if (j->reply_worker != IPC_REPLY_MAIN)
                jobs_route_output(w, j->reply_worker, j->reply_stream, ws, NULL,
                                  0, sent == 0 ? OUT_END_QUIET : OUT_END);
            reg_unpin(w->env->reg, ws->ref);
            secure_wipe(j->msg, j->len);
            free(j);
            pthread_mutex_lock(&w->lock);
        }
        ws->running = 0;
        if (ws->dead && !ws->notifying)
            session_free(ws);
    }
    pthread_mutex_unlock(&w->lock);
    bnc_thread_cleanup();
    return NULL;
}

/* Starts the executors. Returns how many started (0: none could). */
int
jobs_start(struct worker *w)
{
    for (w->jobs.nexec = 0; w->jobs.nexec < EXECUTORS; w->jobs.nexec++)
        if (pthread_create(&w->jobs.exec[w->jobs.nexec], NULL, executor_main,
                           w) != 0)
            break;
    return w->jobs.nexec;
}

/* Tells the executors to leave once the ready list is empty. Takes the
 * lock. */
void
jobs_stop(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->jobs.stopping = 1;
    pthread_cond_broadcast(&w->jobs.work);
    pthread_mutex_unlock(&w->lock);
}

/* After jobs_stop() and once MHD is stopped: joins the executors, ends the
 * sessions left in the registry and frees them and the table. */
void
jobs_finish(struct worker *w)
{
    for (int i = 0; i < w->jobs.nexec; i++)
        pthread_join(w->jobs.exec[i], NULL);
    for (uint32_t i = 0; i < w->jobs.nslots; i++)
        if (w->jobs.sess[i] != NULL) {
            reg_release(w->env->reg, w->jobs.sess[i]->ref);
            session_free(w->jobs.sess[i]);
        }
    free(w->jobs.sess);
}

/* Queues a client message for a session of this worker (msg is copied);
 * reply_worker and reply_stream say where the outputs go. Returns 0, or
 * -1 with errno ENOENT when the session is not (or no longer) ours, or
 * ENOMEM. Takes the lock. */
int
jobs_deliver_here(struct worker *w, struct reg_ref ref, const char *msg,
                  size_t len, int reply_worker, uint64_t reply_stream)
{
    int rc = -1, err = ENOENT;

    pthread_mutex_lock(&w->lock);
    struct wsession *ws = jobs_session_get_locked(w, ref);
    if (ws != NULL) {
        rc =
            session_enqueue_locked(w, ws, msg, len, reply_worker, reply_stream);
        err = errno;
    }
    pthread_mutex_unlock(&w->lock);
    if (rc < 0)
        errno = err;
    return rc;
}

/* Hands a client message to the session's owner: here, or over IPC.
 * Returns 0, or -1 when the session is gone (ENOENT) or the owner's
 * channel is full (errno EAGAIN). Takes the lock for a local owner. */
int
jobs_deliver(struct worker *w, struct reg_ref ref, int owner, const char *msg,
             size_t len, int reply_worker, uint64_t reply_stream)
{
    if (owner == w->env->index)
        return jobs_deliver_here(w, ref, msg, len, reply_worker, reply_stream);
    struct ipc_deliver m = {.slot = ref.slot,
                            .gen = ref.gen,
                            .target_pid = reg_worker_pid(w->env->reg, owner),
                            .reply_worker = reply_worker,
                            .reply_stream = reply_stream,
                            .msg = msg,
                            .len = len};
    return ipc_send_deliver(w->env->ipc, owner, &m);
}

/* Takes over Streamable HTTP session ref, whose owner died (dead_owner:
 * the worker seen dead before the supervisor reaped it, or -1 for an
 * orphan), and rebuilds it here from its record. Returns the session's
 * owner afterwards: this worker, another one that adopted it first, or
 * -1 when it is gone (or out of memory: it is then ended). Takes the
 * lock. */
static int
session_adopt(struct worker *w, struct reg_ref ref, int dead_owner)
{
    unsigned char *buf = malloc(REG_STATE_MAX);
    char id[REG_ID_LEN + 1];
    size_t len = 0;
    int from = -1;

    if (buf == NULL)
        return -1;
    if (reg_adopt(w->env->reg, ref, w->env->index, dead_owner, buf,
                  REG_STATE_MAX, &len, &from) < 0) {
        int rc = errno == EBUSY ? from : -1;
        free(buf);
        return rc;
    }
    /* only the first 8 digits (the slot) are ever shown */
    memset(id, 0, sizeof(id));
    snprintf(id, sizeof(id), "%08x%08x", ref.slot, ref.gen);
    pthread_mutex_lock(&w->lock);
    struct wsession *ws = jobs_session_get_locked(w, ref);
    if (ws != NULL) { /* ours already: nothing to rebuild */
        pthread_mutex_unlock(&w->lock);
        secure_wipe(buf, REG_STATE_MAX);
        free(buf);
        return w->env->index;
    }
    ws = jobs_session_new_locked(w, ref, id, REG_KIND_STREAMABLE);
    if (ws != NULL) {
        if (len > 0 && mcp_session_load(&ws->mcp, buf, len) < 0)
            log_warnx("Streamable HTTP session %.8s...: its saved state is "
                      "unreadable; it goes on without",
                      id);
        ws->saved_gen = ws->mcp.state_gen;
    }
    pthread_mutex_unlock(&w->lock);
    secure_wipe(buf, REG_STATE_MAX);
    free(buf);
    if (ws == NULL) {
        reg_release(w->env->reg, ref);
        return -1;
    }
    log_info("Streamable HTTP session %.8s... adopted from worker %d", id,
             from);
    return w->env->index;
}

/* The worker a message for session ref goes to: its owner while that
 * runs; else this worker, which adopts the session (an orphan, or one
 * whose owner died before the supervisor noticed). Returns the index, or
 * -1 when the session is gone. Takes the lock; not to be called with it. */
int
jobs_owner(struct worker *w, struct reg_ref ref)
{
    int owner = -1;

    for (int tries = 0; tries < 3; tries++) {
        int orphan = 0;
        if (reg_owner(w->env->reg, ref, &owner, &orphan) < 0)
            return -1;
        if (!orphan &&
            (owner == w->env->index || outbox_peer_alive(w, owner, NULL)))
            return owner;
        owner = session_adopt(w, ref, orphan ? -1 : owner);
        if (owner < 0 || owner == w->env->index)
            return owner;
    }
    return owner;
}

/* The registry found one of our sessions idle for too long. */
static void
expired_cb(void *arg, struct reg_ref ref)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->lock);
    struct wsession *ws =
        ref.slot < w->jobs.nslots ? w->jobs.sess[ref.slot] : NULL;
    if (ws != NULL && ws->ref.gen == ref.gen)
        jobs_session_release_locked(w, ws, "idle timeout");
    pthread_mutex_unlock(&w->lock);
}

/* Ends this worker's sessions idle past session_idle_s. Takes the lock
 * (not while the registry's is held). */
void
jobs_expire_idle(struct worker *w)
{
    reg_expire_idle(w->env->reg, w->env->index,
                    (int64_t)w->set->session_idle_s * 1000, expired_cb, w);
}

/* Ends the local state of sessions that ended elsewhere (a DELETE on
 * another worker, or the registry's expiry). */
void
jobs_sweep_locked(struct worker *w)
{
    for (uint32_t i = 0; i < w->jobs.nslots; i++) {
        struct wsession *ws = w->jobs.sess[i];
        if (ws != NULL && !reg_valid(w->env->reg, ws->ref))
            jobs_session_release_locked(w, ws, "ended elsewhere");
    }
}
