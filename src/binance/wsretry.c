/*
 * wsretry.c - backoff and age limits of reconnecting WebSockets (see
 * wsretry.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ws.h"
#include "wsretry.h"

/* Contract in wsretry.h. */
void
wsretry_init(struct wsretry *r, int64_t *backoff_min_ms,
             int64_t *backoff_max_ms, int64_t *connect_timeout_ms,
             int64_t *max_age_ms, uint64_t salt)
{
    struct timespec ts;
    uint64_t seed;

    if (*backoff_min_ms < 1)
        *backoff_min_ms = 1000;
    if (*backoff_max_ms < *backoff_min_ms)
        *backoff_max_ms = *backoff_min_ms;
    if (*connect_timeout_ms < 1)
        *connect_timeout_ms = 10000;
    if (*max_age_ms < 1000)
        *max_age_ms = 1000;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
           ((uint64_t)getpid() << 32) ^ salt;
    memset(r, 0, sizeof(*r));
    r->rng = seed != 0 ? seed : UINT64_C(0x9E3779B97F4A7C15);
    r->backoff_min_ms = *backoff_min_ms;
    r->backoff_max_ms = *backoff_max_ms;
}

/* Contract in wsretry.h. */
int64_t
wsretry_jitter(struct wsretry *r, int64_t span)
{
    if (span <= 0)
        return 0;
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (int64_t)((r->rng * UINT64_C(2685821657736338717)) % (uint64_t)span);
}

/* Contract in wsretry.h. */
int64_t
wsretry_delay(struct wsretry *r, bool planned)
{
    unsigned shift = r->attempts < 20 ? r->attempts : 20;
    int64_t delay;

    if (planned)
        return 0;
    delay = r->backoff_min_ms << shift;
    if (delay > r->backoff_max_ms || delay <= 0)
        delay = r->backoff_max_ms;
    r->attempts++;
    return delay / 2 + wsretry_jitter(r, delay / 2 + 1);
}

/* Contract in wsretry.h. */
void
wsretry_success(struct wsretry *r)
{
    r->attempts = 0;
}

/* Contract in wsretry.h. */
int64_t
wsretry_over(struct wsretry *r, int64_t now)
{
    int64_t next = now + wsretry_delay(r, r->planned);

    r->was_open = r->planned = false;
    return next;
}

/* Contract in wsretry.h. */
void
wsretry_connecting(struct wsretry *r, int64_t now)
{
    r->was_open = r->planned = false;
    r->connect_started_ms = now;
}

/* Contract in wsretry.h. */
enum wsretry_due
wsretry_due(struct wsretry *r, int64_t now, bool open_now,
            int64_t connect_timeout_ms, int64_t max_age_ms,
            int64_t jitter_cap_ms, int64_t close_wait_ms)
{
    if (!r->was_open && open_now) {
        int64_t span =
            max_age_ms / 10 < jitter_cap_ms ? max_age_ms / 10 : jitter_cap_ms;
        r->was_open = true;
        r->opened_ms = now;
        r->age_limit_ms = max_age_ms - wsretry_jitter(r, span);
        if (r->connects++ > 0)
            r->reconnects++;
        return WSRETRY_OPENED;
    }
    if (!r->was_open && now - r->connect_started_ms > connect_timeout_ms)
        return WSRETRY_TOO_SLOW;
    if (r->was_open && !r->planned && now - r->opened_ms >= r->age_limit_ms) {
        r->planned = true;
        r->close_started_ms = now;
        return WSRETRY_AGED;
    }
    if (r->planned && now - r->close_started_ms > close_wait_ms)
        return WSRETRY_CLOSE_LATE;
    return WSRETRY_NOTHING;
}

/* Contract in wsretry.h. */
void
wsretry_log_close(const char *what, bool planned, int code, bool clean,
                  const char *reason)
{
    if (planned)
        log_info("%s: planned reconnect: connection closed (%d)", what, code);
    else
        log_warnx("%s connection %s (%d): %s", what, clean ? "closed" : "lost",
                  code, reason);
}

/* Contract in wsretry.h. */
int
wsretry_wait(int ep, struct ws_conn *ws, const bool *lost, int timeout_ms,
             const char *who)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, ws != NULL ? timeout_ms : 0);

    if (n < 0 && errno != EINTR) {
        log_warn("%s: epoll_wait", who);
        return -1;
    }
    if (ws == NULL && timeout_ms > 0 && n <= 0)
        usleep((useconds_t)timeout_ms * 1000);
    if (n == 1 && ws != NULL) {
        if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            ws_on_readable(ws);
        if (!*lost && (ev.events & EPOLLOUT))
            ws_on_writable(ws);
    }
    return 0;
}

/* Contract in wsretry.h. */
void
wsretry_arm(int ep, struct ws_conn *ws, uint32_t *armed, void *ptr,
            const char *who)
{
    uint32_t want = ws != NULL ? ws_events(ws) : 0;
    struct epoll_event ev = {.events = want, .data.ptr = ptr};

    if (ws == NULL || ws_fd(ws) < 0 || want == *armed)
        return;
    if (epoll_ctl(ep, *armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, ws_fd(ws), &ev) <
        0)
        log_warn("%s: epoll_ctl", who);
    *armed = want;
}

/* Contract in wsretry.h. */
void
wsretry_drop(int ep, struct ws_conn **ws, uint32_t *armed)
{
    if (*ws != NULL) {
        if (*armed && ws_fd(*ws) >= 0)
            epoll_ctl(ep, EPOLL_CTL_DEL, ws_fd(*ws), NULL);
        ws_free(*ws);
        *ws = NULL;
    }
    *armed = 0;
}
