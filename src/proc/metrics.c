/*
 * metrics.c - shared counters and their Prometheus exposition. See
 * metrics.h.
 *
 * The mapping holds the header (struct metrics: the fixed counters) and then
 * one row per tool plus a last row for unknown names, each on its own cache
 * lines so that workers counting different tools do not contend. Every
 * counter is a lock-free atomic: a worker that dies mid-update loses at most
 * its own increment.
 *
 * Histogram buckets are stored per bucket (one increment per observation)
 * and made cumulative when rendered; _count is their sum, so the +Inf
 * bucket and _count always agree even while other workers count. Sums are
 * kept in microseconds.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market.h"
#include "userstate.h"
#include "metrics.h"
#include "shm.h"

#define METRICS_MAGIC 0x4d455431u /* "MET1" */
#define METRICS_ALIGN 64
#define NBUCKETS      12 /* 11 bounds and +Inf */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "shared counters need lock-free 64-bit atomics");

/* Upper bounds in microseconds, the last one +Inf. */
static const uint64_t bucket_us[NBUCKETS - 1] = {
    5000,   10000,   25000,   50000,   100000,   250000,
    500000, 1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[NBUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
    "0.5",   "1",    "2.5",   "5",    "10",  "+Inf",
};

static const char *const reject_names[METRICS_REJECT_COUNT] = {
    [METRICS_REJECT_MAX_CONNECTIONS] = "max_connections",
    [METRICS_REJECT_RATE_LIMITED] = "rate_limited",
    [METRICS_REJECT_UNAUTHORIZED] = "unauthorized",
    [METRICS_REJECT_FORBIDDEN_ORIGIN] = "forbidden_origin",
    [METRICS_REJECT_TOO_LARGE] = "too_large",
    [METRICS_REJECT_BAD_REQUEST] = "bad_request",
    [METRICS_REJECT_MAX_SESSIONS] = "max_sessions",
    [METRICS_REJECT_MAX_SESSIONS_CLIENT] = "max_sessions_per_client",
    [METRICS_REJECT_MISDIRECTED] = "misdirected_host",
    [METRICS_REJECT_PER_IP] = "max_connections_per_ip",
    [METRICS_REJECT_REQUEST_TIMEOUT] = "request_timeout",
};

/* Binance error codes worth a series of their own; the rest are "other",
 * and errors without a code are "none". */
static const int known_codes[] = {
    -1000, /* UNKNOWN */
    -1001, /* DISCONNECTED */
    -1002, /* UNAUTHORIZED */
    -1003, /* TOO_MANY_REQUESTS */
    -1006, /* UNEXPECTED_RESP */
    -1007, /* TIMEOUT */
    -1008, /* SERVER_BUSY */
    -1013, /* filter failure */
    -1015, /* TOO_MANY_ORDERS */
    -1021, /* INVALID_TIMESTAMP */
    -1022, /* INVALID_SIGNATURE */
    -1100, /* ILLEGAL_CHARS */
    -1102, /* MANDATORY_PARAM_EMPTY_OR_MALFORMED */
    -1121, /* BAD_SYMBOL */
    -2010, /* NEW_ORDER_REJECTED */
    -2011, /* CANCEL_REJECTED */
    -2013, /* NO_SUCH_ORDER */
    -2014, /* BAD_API_KEY_FMT */
    -2015, /* REJECTED_MBX_KEY */
};
#define NCODES     (sizeof(known_codes) / sizeof(known_codes[0]))
#define CODE_OTHER NCODES
#define CODE_NONE  (NCODES + 1)

enum status_class {
    ST_403 = 0,
    ST_418,
    ST_429,
    ST_4XX,
    ST_5XX,
    ST_NONE, /* no HTTP answer: network, timeout */
    ST_OTHER,
    ST_COUNT
};
static const char *const status_names[ST_COUNT] = {
    "403", "418", "429", "4xx", "5xx", "none", "other",
};

struct metrics_tool {
    _Alignas(METRICS_ALIGN) char name[METRICS_TOOL_NAME_MAX];
    _Atomic uint64_t calls[2]; /* [0] error, [1] ok */
    _Atomic uint64_t bucket[NBUCKETS];
    _Atomic uint64_t sum_us;
};

struct metrics {
    uint32_t magic;
    uint32_t ntools; /* named rows; the unknown row follows them */
    size_t map_len;
    size_t tools_off;
    _Atomic uint64_t rejected[METRICS_REJECT_COUNT];
    _Atomic uint64_t restarts; /* workers respawned */
    _Atomic uint64_t feed_restarts;
    _Atomic uint64_t notifications; /* resource updates pushed */
    struct market *market;   /* same address in every process (before fork) */
    struct userstate *users; /* the same */
    _Atomic int64_t weight;  /* -1 until seen */
    _Atomic uint64_t code_errors[NCODES + 2];
    _Atomic uint64_t status_errors[ST_COUNT];
};

static struct metrics_tool *
metrics_tools(struct metrics *m)
{
    return (struct metrics_tool *)(void *)((char *)m + m->tools_off);
}

struct metrics *
metrics_create(const char *const *tool_names, size_t n, char *err,
               size_t errlen)
{
    struct metrics *m;
    size_t tools_off, len;
    void *map;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (n > METRICS_TOOLS_MAX || (n > 0 && tool_names == NULL)) {
        if (err != NULL)
            snprintf(err, errlen, "metrics: %zu tools (at most %d)", n,
                     METRICS_TOOLS_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = tool_names[i];
        size_t nlen = name != NULL ? strlen(name) : 0;
        if (nlen == 0 || nlen >= METRICS_TOOL_NAME_MAX) {
            if (err != NULL)
                snprintf(err, errlen,
                         "metrics: tool %zu: a name must be 1..%d bytes", i,
                         METRICS_TOOL_NAME_MAX - 1);
            return NULL;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(tool_names[k], name) == 0) {
                if (err != NULL)
                    snprintf(err, errlen, "metrics: tool %s is listed twice",
                             name);
                return NULL;
            }
        }
    }
    tools_off = (sizeof(struct metrics) + METRICS_ALIGN - 1) / METRICS_ALIGN *
                METRICS_ALIGN;
    len = tools_off + (n + 1) * sizeof(struct metrics_tool);
    map = shm_map(len, "metrics", err, errlen);
    if (map == NULL)
        return NULL;
    /* The mapping comes zeroed: every counter starts at 0. */
    m = map;
    m->magic = METRICS_MAGIC;
    m->ntools = (uint32_t)n;
    m->map_len = len;
    m->tools_off = tools_off;
    atomic_init(&m->weight, -1);
    struct metrics_tool *rows = metrics_tools(m);
    for (size_t i = 0; i < n; i++)
        memcpy(rows[i].name, tool_names[i], strlen(tool_names[i]) + 1);
    memcpy(rows[n].name, METRICS_UNKNOWN_TOOL, sizeof(METRICS_UNKNOWN_TOOL));
    return m;
}

void
metrics_destroy(struct metrics *m)
{
    if (m != NULL)
        shm_unmap(m, m->map_len);
}

/* The row of a tool name; unknown names get the last row. A linear scan:
 * the table is a few dozen short names, and every call it counts waited on
 * the network. */
static struct metrics_tool *
metrics_row(struct metrics *m, const char *tool)
{
    struct metrics_tool *rows = metrics_tools(m);
    uint32_t i = 0;
    if (tool != NULL)
        while (i < m->ntools && strcmp(rows[i].name, tool) != 0)
            i++;
    else
        i = m->ntools;
    return &rows[i];
}

void
metrics_tool_call(struct metrics *m, const char *tool, int ok, double seconds)
{
    struct metrics_tool *row;
    uint64_t us;
    int b = 0;

    if (m == NULL)
        return;
    row = metrics_row(m, tool);
    if (!(seconds > 0)) /* NaN too */
        us = 0;
    else if (seconds > 1e9)
        us = (uint64_t)1e15;
    else
        us = (uint64_t)(seconds * 1e6 + 0.5);
    while (b < NBUCKETS - 1 && us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&row->calls[ok ? 1 : 0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&row->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&row->sum_us, us, memory_order_relaxed);
}

void
metrics_reject(struct metrics *m, enum metrics_reject_reason r)
{
    if (m == NULL || (unsigned)r >= METRICS_REJECT_COUNT)
        return;
    atomic_fetch_add_explicit(&m->rejected[r], 1, memory_order_relaxed);
}

uint64_t
metrics_capacity_rejections(struct metrics *m)
{
    static const enum metrics_reject_reason full[] = {
        METRICS_REJECT_MAX_CONNECTIONS, METRICS_REJECT_MAX_SESSIONS,
        METRICS_REJECT_MAX_SESSIONS_CLIENT, METRICS_REJECT_PER_IP};
    uint64_t n = 0;

    if (m == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++)
        n += atomic_load_explicit(&m->rejected[full[i]], memory_order_relaxed);
    return n;
}

void
metrics_count_restart(struct metrics *m)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&m->restarts, 1, memory_order_relaxed);
}

uint64_t
metrics_restarts(struct metrics *m)
{
    return m != NULL ? atomic_load(&m->restarts) : 0;
}

void
metrics_upstream_error(struct metrics *m, int http_status, int api_code)
{
    size_t code = CODE_NONE;
    enum status_class st;

    if (m == NULL)
        return;
    if (api_code != 0) {
        code = CODE_OTHER;
        for (size_t i = 0; i < NCODES; i++)
            if (known_codes[i] == api_code)
                code = i;
    }
    if (http_status == 0)
        st = ST_NONE;
    else if (http_status == 403)
        st = ST_403;
    else if (http_status == 418)
        st = ST_418;
    else if (http_status == 429)
        st = ST_429;
    else if (http_status >= 400 && http_status < 500)
        st = ST_4XX;
    else if (http_status >= 500 && http_status < 600)
        st = ST_5XX;
    else
        st = ST_OTHER;
    atomic_fetch_add_explicit(&m->code_errors[code], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->status_errors[st], 1, memory_order_relaxed);
}

void
metrics_upstream_weight(struct metrics *m, long used)
{
    if (m != NULL && used >= 0)
        atomic_store_explicit(&m->weight, (int64_t)used, memory_order_relaxed);
}

const char *
metrics_reject_name(enum metrics_reject_reason r)
{
    return (unsigned)r < METRICS_REJECT_COUNT ? reject_names[r] : "unknown";
}

/* ---- rendering ---- */

/* Appends a label value with \ " and newline escaped. */
static int
put_label_value(struct dbuf *out, const char *v)
{
    int rc = 0;
    for (const char *p = v; *p != '\0' && rc == 0; p++) {
        if (*p == '\\')
            rc = dbuf_append(out, "\\\\", 2);
        else if (*p == '"')
            rc = dbuf_append(out, "\\\"", 2);
        else if (*p == '\n')
            rc = dbuf_append(out, "\\n", 2);
        else
            rc = dbuf_append(out, p, 1);
    }
    return rc;
}

static int
put_family(struct dbuf *out, const char *name, const char *type,
           const char *help)
{
    return dbuf_printf(out, "# HELP binmcpd_%s %s\n# TYPE binmcpd_%s %s\n",
                       name, help, name, type);
}

static int
put_u64(struct dbuf *out, const char *name, uint64_t v)
{
    return dbuf_printf(out, "binmcpd_%s %llu\n", name, (unsigned long long)v);
}

/* name{label="value"} v */
static int
put_labeled(struct dbuf *out, const char *name, const char *label,
            const char *value, uint64_t v)
{
    int rc = dbuf_printf(out, "binmcpd_%s{%s=\"", name, label);
    rc |= put_label_value(out, value);
    rc |= dbuf_printf(out, "\"} %llu\n", (unsigned long long)v);
    return rc;
}

static int
render_registry(struct metrics *m, struct registry *reg, struct dbuf *out)
{
    int64_t start = reg_started_ms(reg);
    int rc = 0;

    rc |= put_family(out, "start_time_seconds", "gauge",
                     "When the daemon started, in seconds since the epoch.");
    rc |= dbuf_printf(out, "binmcpd_start_time_seconds %lld.%03d\n",
                      (long long)(start / 1000), (int)(start % 1000));
    rc |= put_family(out, "workers", "gauge", "Worker slots.");
    rc |= put_u64(out, "workers", reg_workers(reg));
    rc |=
        put_family(out, "workers_alive", "gauge", "Worker processes running.");
    rc |= put_u64(out, "workers_alive", reg_workers_alive(reg));
    rc |= put_family(out, "worker_restarts_total", "counter",
                     "Workers respawned after they died.");
    rc |= put_u64(out, "worker_restarts_total", metrics_restarts(m));
    rc |= put_family(out, "sessions_active", "gauge",
                     "MCP sessions open now, across all workers.");
    rc |= put_u64(out, "sessions_active", reg_live(reg));
    rc |= put_family(out, "sessions_max", "gauge",
                     "The limit on open MCP sessions.");
    rc |= put_u64(out, "sessions_max", reg_max_live(reg));
    rc |= put_family(out, "sessions_total", "counter",
                     "MCP sessions opened since start.");
    rc |= put_u64(out, "sessions_total", reg_sessions_total(reg));
    rc |= put_family(out, "sessions_evicted_total", "counter",
                     "Idle sessions ended to make room for new ones, by "
                     "reason.");
    rc |= put_labeled(out, "sessions_evicted_total", "reason", "table_full",
                      reg_evictions(reg, REG_EVICT_FULL));
    rc |= put_labeled(out, "sessions_evicted_total", "reason", "client_cap",
                      reg_evictions(reg, REG_EVICT_CLIENT));
    rc |= put_family(out, "streams_active", "gauge",
                     "SSE streams open now, across all workers.");
    rc |= put_u64(out, "streams_active", reg_streams(reg));
    rc |= put_family(out, "streams_max", "gauge",
                     "The limit on open SSE streams (0: none).");
    rc |= put_u64(out, "streams_max", reg_max_streams(reg));
    return rc;
}

static int
render_tools(struct metrics *m, struct dbuf *out)
{
    struct metrics_tool *rows = metrics_tools(m);
    int rc = 0;

    rc |= put_family(out, "tool_calls_total", "counter",
                     "Tool calls finished, by tool and outcome.");
    for (uint32_t i = 0; i <= m->ntools; i++) {
        for (int ok = 1; ok >= 0; ok--) {
            rc |= dbuf_puts(out, "binmcpd_tool_calls_total{tool=\"");
            rc |= put_label_value(out, rows[i].name);
            rc |= dbuf_printf(
                out, "\",outcome=\"%s\"} %llu\n", ok ? "ok" : "error",
                (unsigned long long)atomic_load(&rows[i].calls[ok]));
        }
    }
    rc |= put_family(out, "tool_duration_seconds", "histogram",
                     "Time from a tool call's start to its result.");
    for (uint32_t i = 0; i <= m->ntools; i++) {
        uint64_t cum = 0, sum = atomic_load(&rows[i].sum_us);
        for (int b = 0; b < NBUCKETS; b++) {
            cum += atomic_load(&rows[i].bucket[b]);
            rc |=
                dbuf_puts(out, "binmcpd_tool_duration_seconds_bucket{tool=\"");
            rc |= put_label_value(out, rows[i].name);
            rc |= dbuf_printf(out, "\",le=\"%s\"} %llu\n", bucket_le[b],
                              (unsigned long long)cum);
        }
        rc |= dbuf_puts(out, "binmcpd_tool_duration_seconds_sum{tool=\"");
        rc |= put_label_value(out, rows[i].name);
        rc |= dbuf_printf(out, "\"} %llu.%06llu\n",
                          (unsigned long long)(sum / 1000000),
                          (unsigned long long)(sum % 1000000));
        rc |= dbuf_puts(out, "binmcpd_tool_duration_seconds_count{tool=\"");
        rc |= put_label_value(out, rows[i].name);
        rc |= dbuf_printf(out, "\"} %llu\n", (unsigned long long)cum);
    }
    return rc;
}

static int
render_upstream(struct metrics *m, struct dbuf *out)
{
    char code[16];
    int64_t weight = atomic_load(&m->weight);
    int rc = 0;

    rc |= put_family(out, "upstream_weight_used", "gauge",
                     "The last X-MBX-USED-WEIGHT-1M Binance reported.");
    if (weight >= 0)
        rc |= dbuf_printf(out, "binmcpd_upstream_weight_used %lld\n",
                          (long long)weight);
    rc |= put_family(out, "upstream_errors_total", "counter",
                     "Failed Binance requests, by Binance error code.");
    for (size_t i = 0; i < NCODES + 2; i++) {
        if (i < NCODES)
            snprintf(code, sizeof(code), "%d", known_codes[i]);
        else
            snprintf(code, sizeof(code), "%s",
                     i == CODE_OTHER ? "other" : "none");
        rc |= put_labeled(out, "upstream_errors_total", "code", code,
                          atomic_load(&m->code_errors[i]));
    }
    rc |= put_family(out, "upstream_http_errors_total", "counter",
                     "Failed Binance requests, by HTTP status (none: no "
                     "answer).");
    for (int i = 0; i < ST_COUNT; i++)
        rc |= put_labeled(out, "upstream_http_errors_total", "status",
                          status_names[i], atomic_load(&m->status_errors[i]));
    return rc;
}

void
metrics_count_feed_restart(struct metrics *m)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&m->feed_restarts, 1, memory_order_relaxed);
}

void
metrics_set_market(struct metrics *m, struct market *market,
                   struct userstate *users)
{
    if (m != NULL) {
        m->market = market;
        m->users = users;
    }
}

void
metrics_count_notification(struct metrics *m)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&m->notifications, 1, memory_order_relaxed);
}

/* The user data streams' gauges and the pushed updates. */
static int
render_userdata(struct metrics *m, struct dbuf *out)
{
    struct us_record head;
    uint64_t followed = 0, live = 0;
    int rc = 0;

    for (unsigned i = 0; m->users != NULL && i < us_slots(m->users); i++) {
        if (us_read_head(m->users, (int)i, &head) < 0 || head.fp[0] == '\0')
            continue;
        followed++;
        live += head.status == US_LIVE && head.connected;
    }
    rc |= put_family(out, "userdata_accounts", "gauge",
                     "Accounts whose user data stream the feed follows.");
    rc |= put_u64(out, "userdata_accounts", followed);
    rc |= put_family(out, "userdata_live", "gauge",
                     "Of those, the ones connected with their snapshot "
                     "applied.");
    rc |= put_u64(out, "userdata_live", live);
    rc |= put_family(out, "resource_updates_total", "counter",
                     "notifications/resources/updated pushed to "
                     "subscribed sessions.");
    rc |=
        put_u64(out, "resource_updates_total", atomic_load(&m->notifications));
    return rc;
}

/* The feed's gauges: its connection, the symbols it tracks, the books'
 * resyncs and the reconnections, read from the market segment. */
static int
render_feed(struct metrics *m, struct dbuf *out)
{
    struct market_feed_info fi;
    struct market_state *st = malloc(sizeof(*st));
    uint64_t tracked = 0, live = 0, resyncs = 0;
    int rc = 0;

    if (st == NULL)
        return -1;
    market_feed_info(m->market, &fi);
    for (unsigned i = 0; i < market_slots(m->market); i++) {
        if (market_read(m->market, (int)i, st) < 0 ||
            st->status == MARKET_EMPTY)
            continue;
        tracked++;
        live += st->status == MARKET_LIVE;
        resyncs += st->resyncs;
    }
    free(st);
    rc |= put_family(out, "feed_restarts_total", "counter",
                     "Feed processes respawned after they died.");
    rc |= put_u64(out, "feed_restarts_total", atomic_load(&m->feed_restarts));
    rc |= put_family(out, "feed_connected", "gauge",
                     "1 while the feed's market-stream connection is up.");
    rc |= put_u64(out, "feed_connected", fi.ws_connected ? 1 : 0);
    rc |= put_family(out, "feed_heartbeat_seconds", "gauge",
                     "When the feed's loop last ran, in seconds since the "
                     "epoch.");
    rc |= dbuf_printf(out, "binmcpd_feed_heartbeat_seconds %lld.%03d\n",
                      (long long)(fi.heartbeat_ms / 1000),
                      (int)(fi.heartbeat_ms % 1000));
    rc |= put_family(out, "feed_tracked_symbols", "gauge",
                     "Symbols the feed tracks now.");
    rc |= put_u64(out, "feed_tracked_symbols", tracked);
    rc |= put_family(out, "feed_live_books", "gauge",
                     "Tracked symbols whose local book follows the stream.");
    rc |= put_u64(out, "feed_live_books", live);
    rc |= put_family(out, "feed_resyncs", "gauge",
                     "Gaps that needed a new snapshot, summed over the "
                     "tracked symbols.");
    rc |= put_u64(out, "feed_resyncs", resyncs);
    rc |= put_family(out, "feed_reconnects", "gauge",
                     "Reconnections of the current feed process.");
    rc |= put_u64(out, "feed_reconnects", fi.reconnects);
    return rc;
}

int
metrics_render(struct metrics *m, struct registry *reg, struct dbuf *out)
{
    int rc = 0;

    assert(m != NULL && m->magic == METRICS_MAGIC);
    rc |= put_family(out, "build_info", "gauge",
                     "The running version; always 1.");
    rc |= dbuf_puts(out, "binmcpd_build_info{version=\"");
    rc |= put_label_value(out, PACKAGE_VERSION);
    rc |= dbuf_puts(out, "\"} 1\n");
    if (reg != NULL)
        rc |= render_registry(m, reg, out);
    rc |= put_family(out, "connections_rejected_total", "counter",
                     "Connections and requests refused, by reason.");
    for (int r = 0; r < METRICS_REJECT_COUNT; r++)
        rc |= put_labeled(out, "connections_rejected_total", "reason",
                          reject_names[r], atomic_load(&m->rejected[r]));
    rc |= render_tools(m, out);
    rc |= render_upstream(m, out);
    if (m->market != NULL)
        rc |= render_feed(m, out) | render_userdata(m, out);
    return rc != 0 ? -1 : 0;
}
