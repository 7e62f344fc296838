/*
 * worker_notify.c - the worker's notifier: pushes
 * notifications/resources/updated to the sessions this worker owns.
 *
 * One thread per worker (only when the server offers subscriptions) wakes
 * every NOTIFY_TICK_MS, takes the sessions with subscriptions under the
 * lock (holding each: jobs_session_hold_locked), and polls them without
 * it (mcp_session_poll_subscriptions: a few reads of shared memory each;
 * the engine coalesces to one notification per resource per
 * notify_interval). It never waits on a session's queue, so a long
 * request (watch_market) does not hold its updates back.
 *
 * Where an update goes: a legacy SSE session's own stream; a Streamable
 * HTTP session's standalone GET stream, wherever it is (the registry
 * records its worker and id: reg_listener_*), through the outbox when it
 * is another worker's. A Streamable session without a GET stream keeps
 * its update due until one opens.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "util.h"
#include "worker_int.h"

#define NOTIFY_TICK_MS 25

/* The engine's send for a polled session (arg: the wsession). */
static int
notify_send(void *arg, const char *msg, size_t len)
{
    struct wsession *ws = arg;
    struct worker *w = ws->w;
    uint64_t stream;
    int holder;

    if (ws->kind != REG_KIND_STREAMABLE) {
        jobs_route_output(w, IPC_REPLY_MAIN, 0, ws, msg, len, 0);
    } else {
        if (reg_listener_get(w->env->reg, ws->ref, &holder, &stream) < 0 ||
            holder < 0 || (uint32_t)holder >= reg_workers(w->env->reg))
            return -1; /* no GET stream: due until one opens */
        jobs_route_output(w, holder, stream, ws, msg, len, 0);
    }
    w->notify.sent++;
    metrics_count_notification(w->env->metrics);
    return 0;
}

/* Under the lock: holds every live local session with subscriptions.
 * Returns how many. */
static size_t
round_collect_locked(struct worker *w)
{
    size_t n = 0;

    for (uint32_t i = 0; i < w->jobs.nslots; i++) {
        struct wsession *ws = w->jobs.sess[i];
        if (ws == NULL || ws->dead || !mcp_session_subscriptions(&ws->mcp))
            continue;
        jobs_session_hold_locked(ws);
        w->notify.held[n++] = ws;
    }
    return n;
}

/* Adds ms to the CLOCK_MONOTONIC time *ts. */
static void
ts_add_ms(struct timespec *ts, long ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *
notify_main(void *arg)
{
    struct worker *w = arg;
    struct timespec ts;

    pthread_mutex_lock(&w->lock);
    while (!w->notify.stopping) {
        size_t n = round_collect_locked(w);
        pthread_mutex_unlock(&w->lock);
        int64_t now = now_ms();
        for (size_t i = 0; i < n; i++)
            mcp_session_poll_subscriptions(&w->notify.held[i]->mcp, now,
                                           w->notify.interval_ms, notify_send,
                                           w->notify.held[i]);
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < n; i++)
            jobs_session_unhold_locked(w->notify.held[i]);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts_add_ms(&ts, NOTIFY_TICK_MS);
        if (!w->notify.stopping)
            pthread_cond_timedwait(&w->notify.wake, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Starts the notifier when the server offers subscriptions. Returns 0, or
 * -1 (logged) when it cannot: the worker serves without pushed updates. */
int
notify_start(struct worker *w)
{
    pthread_condattr_t ca;

    if (!mcp_server_subscriptions(w->env->srv))
        return 0;
    w->notify.interval_ms = (int64_t)(w->set->notify_interval * 1000.0 + 0.5);
    w->notify.held =
        calloc(w->jobs.nslots ? w->jobs.nslots : 1, sizeof(*w->notify.held));
    if (w->notify.held == NULL) {
        log_error("notifier: out of memory; no resource updates");
        return -1;
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->notify.wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->notify.thread, NULL, notify_main, w) != 0) {
        log_error("notifier: cannot start a thread; no resource updates");
        pthread_cond_destroy(&w->notify.wake);
        free(w->notify.held);
        w->notify.held = NULL;
        return -1;
    }
    w->notify.started = 1;
    return 0;
}

/* Stops and joins the notifier (before the sessions are freed). Takes the
 * lock. */
void
notify_stop(struct worker *w)
{
    if (!w->notify.started)
        return;
    pthread_mutex_lock(&w->lock);
    w->notify.stopping = 1;
    pthread_cond_signal(&w->notify.wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->notify.thread, NULL);
    pthread_cond_destroy(&w->notify.wake);
    free(w->notify.held);
    w->notify.held = NULL;
    w->notify.started = 0;
}
