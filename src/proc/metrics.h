/*
 * metrics.h - daemon-wide counters for GET /metrics, in the Prometheus text
 * exposition format 0.0.4 (Content-Type: METRICS_CONTENT_TYPE).
 *
 * The daemon's counters live here, and only here: the supervisor creates
 * them in an anonymous MAP_SHARED mapping before it forks; the supervisor
 * (restarts) and any thread of any worker update them with lock-free
 * atomic additions, and any worker renders the sum of all (/metrics) or
 * reads them (/health). Session, stream and worker figures are the
 * registry's state, read from it at render time, so nothing is counted
 * twice.
 *
 * Exposed (all prefixed binmcpd_):
 *   build_info{version}                          gauge, 1
 *   start_time_seconds                           gauge  (registry)
 *   workers, workers_alive                       gauge  (registry)
 *   sessions_active, sessions_max                gauge  (registry)
 *   sessions_total                               counter (registry)
 *   sessions_evicted_total{reason}               counter (registry):
 *                                                table_full, client_cap
 *   streams_active, streams_max                  gauge  (registry)
 *   worker_restarts_total                        counter
 *   connections_rejected_total{reason}           counter
 *   tool_calls_total{tool,outcome="ok"|"error"}  counter
 *   tool_duration_seconds{tool}                  histogram
 *   upstream_weight_used                         gauge, last
 *                                                X-MBX-USED-WEIGHT-1M seen
 *   upstream_errors_total{code}                  counter: Binance's code
 *   upstream_http_errors_total{status}           counter: HTTP status class
 */
#ifndef BINMCPD_METRICS_H
#define BINMCPD_METRICS_H

#include <stddef.h>

#include "dbuf.h"
#include "registry.h"

#define METRICS_CONTENT_TYPE  "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TOOL_NAME_MAX 64 /* bytes of a tool name, with the NUL */
#define METRICS_TOOLS_MAX     1024
/* the label of calls to a tool that is not in the list */
#define METRICS_UNKNOWN_TOOL "(unknown)"

enum metrics_reject_reason {
    METRICS_REJECT_MAX_CONNECTIONS = 0, /* 503: max_connections streams */
    METRICS_REJECT_RATE_LIMITED,        /* 429 */
    METRICS_REJECT_UNAUTHORIZED,        /* 401 */
    METRICS_REJECT_FORBIDDEN_ORIGIN,    /* 403 */
    METRICS_REJECT_TOO_LARGE,           /* 413 */
    METRICS_REJECT_BAD_REQUEST,         /* 400, 404 session, 406, 415 ... */
    METRICS_REJECT_MAX_SESSIONS,        /* 503: table full, none idle */
    METRICS_REJECT_MAX_SESSIONS_CLIENT, /* 503: client at its cap, none
                                           of its sessions idle */
    METRICS_REJECT_MISDIRECTED,         /* 421: Host not allowed */
    METRICS_REJECT_PER_IP,              /* closed at accept: max_connections_
                                           per_ip */
    METRICS_REJECT_REQUEST_TIMEOUT,     /* closed: no whole request within
                                           request_timeout */
    METRICS_REJECT_COUNT
};

struct market;
struct userstate;
struct metrics;

/* Creates the counters for the n tools named (the names are copied; each
 * is 1..METRICS_TOOL_NAME_MAX-1 bytes, no two alike). Call before fork.
 * Returns NULL with a sentence in err. */
struct metrics *metrics_create(const char *const *tool_names, size_t n,
                               char *err, size_t errlen);

/* Unmaps the counters (other processes keep their mapping). NULL is
 * allowed. */
void metrics_destroy(struct metrics *m);

/* Counts one finished call of tool (ok: 1 success, 0 isError or failure)
 * that took seconds. A name not given to metrics_create is counted as
 * METRICS_UNKNOWN_TOOL. m may be NULL (nothing happens): so may every
 * m below. */
void metrics_tool_call(struct metrics *m, const char *tool, int ok,
                       double seconds);

/* Counts one refused connection or request. */
void metrics_reject(struct metrics *m, enum metrics_reject_reason r);

/* Refusals for want of capacity (max_connections, max_sessions,
 * max_sessions_per_client, max_connections_per_ip): the sum of those
 * reasons' counts, which /health reports as connections_rejected. 0 when
 * m is NULL. */
uint64_t metrics_capacity_rejections(struct metrics *m);

/* Counts one worker respawned after it died (the supervisor), and reads
 * the count (0 when m is NULL). */
void metrics_count_restart(struct metrics *m);
uint64_t metrics_restarts(struct metrics *m);

/* Counts one feed process respawned after it died (the supervisor). */
void metrics_count_feed_restart(struct metrics *m);

/* Renders the feed's gauges from market (the segment, mapped before fork
 * like m; NULL: no feed gauges). Call before fork. */
void metrics_set_market(struct metrics *m, struct market *market,
                        struct userstate *users);

/* One notifications/resources/updated pushed (any worker). */
void metrics_count_notification(struct metrics *m);

/* Counts one failed Binance exchange: http_status (0 when no answer came)
 * and Binance's error code (0 when the body carried none). */
void metrics_upstream_error(struct metrics *m, int http_status, int api_code);

/* Records the last X-MBX-USED-WEIGHT-1M seen (used < 0 is ignored). */
void metrics_upstream_weight(struct metrics *m, long used);

/* Appends the whole exposition to out. reg may be NULL (the registry
 * figures are then left out). Returns 0, or -1 when out is full or memory
 * runs out (out then holds a truncated text: do not serve it). */
int metrics_render(struct metrics *m, struct registry *reg, struct dbuf *out);

/* The reason's label value ("rate_limited", ...). */
const char *metrics_reject_name(enum metrics_reject_reason r);

#endif
