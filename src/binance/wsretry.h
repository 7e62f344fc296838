/*
 * wsretry.h - what every reconnecting WebSocket of binmcpd shares (the
 * feed's market streams, the user data streams): the delay before the next
 * attempt, exponential with jitter, and the age at which a connection is
 * replaced before Binance's 24 h cut, with jitter so that processes and
 * connections do not all reconnect at once.
 *
 * A struct wsretry belongs to one connection owner and is used by one
 * thread. No allocation, no I/O, no clock: callers pass their times.
 */
#ifndef BINMCPD_WSRETRY_H
#define BINMCPD_WSRETRY_H

#include <stdbool.h>
#include <stdint.h>

struct ws_conn;

struct wsretry {
    uint64_t rng;             /* xorshift state, never 0 */
    unsigned attempts;        /* failed attempts since the last success */
    int64_t backoff_min_ms;   /* first delay */
    int64_t backoff_max_ms;   /* the delay's cap */
    unsigned long connects;   /* connections that opened */
    unsigned long reconnects; /* of them, those after the first */
    /* the connection now (monotonic ms) */
    bool was_open;              /* it opened */
    bool planned;               /* it is being closed to be replaced */
    int64_t connect_started_ms; /* when it was started */
    int64_t opened_ms;          /* when it opened */
    int64_t age_limit_ms;       /* its age when it is to be replaced */
    int64_t close_started_ms;   /* when the planned close began */
};

/* What a connection's times call for (wsretry_due). */
enum wsretry_due {
    WSRETRY_NOTHING = 0,
    WSRETRY_OPENED,    /* it has just opened: counted, age limit drawn */
    WSRETRY_TOO_SLOW,  /* it did not open within the connect timeout */
    WSRETRY_AGED,      /* it is old: close it (planned is now set) */
    WSRETRY_CLOSE_LATE /* the planned close took too long: drop it */
};

/* Corrects an owner's settings in place: a backoff_min_ms below 1 ms
 * becomes 1 s, a backoff_max_ms below it becomes it, a connect timeout
 * below 1 ms 10 s, a maximum age below 1 s 1 s. Then sets the bounds and
 * seeds the generator from the pid, the time and salt. */
void wsretry_init(struct wsretry *r, int64_t *backoff_min_ms,
                  int64_t *backoff_max_ms, int64_t *connect_timeout_ms,
                  int64_t *max_age_ms, uint64_t salt);

/* A pseudo-random number in [0, span), or 0 when span <= 0. */
int64_t wsretry_jitter(struct wsretry *r, int64_t span);

/* The delay before the next attempt after a connection ended: 0 when the
 * end was planned; else backoff_min_ms doubled per failed attempt, capped
 * at backoff_max_ms, half of it fixed and half random; counts the attempt. */
int64_t wsretry_delay(struct wsretry *r, bool planned);

/* The connection works (a message came): the next failure starts again
 * from backoff_min_ms. */
void wsretry_success(struct wsretry *r);

/* The connection ended (or was given up) at now: forgets it and returns
 * when to start the next one (now + wsretry_delay, at once after a planned
 * close). */
int64_t wsretry_over(struct wsretry *r, int64_t now);

/* A new connection is being started at now. */
void wsretry_connecting(struct wsretry *r, int64_t now);

/* What the connection's times call for at now, given whether it is open:
 * the first time it is seen open, WSRETRY_OPENED (it is counted, and a
 * reconnect after the first; its age limit is max_age_ms less a random
 * part of at most a tenth of it and at most jitter_cap_ms); not open
 * after connect_timeout_ms, WSRETRY_TOO_SLOW; past its age limit,
 * WSRETRY_AGED (once: planned is set); a planned close older than
 * close_wait_ms, WSRETRY_CLOSE_LATE. */
enum wsretry_due wsretry_due(struct wsretry *r, int64_t now, bool open_now,
                             int64_t connect_timeout_ms, int64_t max_age_ms,
                             int64_t jitter_cap_ms, int64_t close_wait_ms);

/* One wait of an owner's epoll set ep, which watches ws (NULL: no
 * connection, then it only sleeps timeout_ms): waits up to timeout_ms for
 * an event and hands it to ws (readable, then writable unless *lost was
 * raised by the close callback meanwhile). Returns 0, or -1 when
 * epoll_wait failed (logged with who). */
int wsretry_wait(int ep, struct ws_conn *ws, const bool *lost, int timeout_ms,
                 const char *who);

/* Registers in ep the events ws wants now (ws_events), with ptr as the
 * event's data, when they changed from *armed (updated). NULL ws: nothing.
 * A failure is logged with who. */
void wsretry_arm(int ep, struct ws_conn *ws, uint32_t *armed, void *ptr,
                 const char *who);

/* Takes *ws out of ep, frees it and sets *ws to NULL and *armed to 0. */
void wsretry_drop(int ep, struct ws_conn **ws, uint32_t *armed);

/* Logs the end of a connection of what ("feed: stream", "user data:
 * WebSocket API"): a planned reconnect at info, else a warning with the
 * close code and the reason. */
void wsretry_log_close(const char *what, bool planned, int code, bool clean,
                       const char *reason);

#endif
