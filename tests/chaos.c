/*
 * chaos.c - `make chaos` (issue 13): a worker's death must cost clients
 * nothing. The real daemon ($BINMCPD, four workers) serves the fake
 * exchange ($FAKEX) to 200 clients of this program, 100 over Streamable
 * HTTP and 100 over legacy HTTP+SSE (tests/httpc.h, one thread each), each
 * calling get_server_time and get_ticker in turn about once a second,
 * while this program kills a worker with SIGKILL every second for 30 s
 * and sends the supervisor a burst of SIGHUPs half-way.
 *
 * What a client sees is asserted, one line each, then "N passed, N
 * failed"; the exit status is 0 only when everything passed:
 *  - the daemon stays up, and serves with every worker again after;
 *  - every Streamable HTTP session goes on: no 404, no new initialize;
 *  - every request is answered exactly once, matched by its JSON-RPC id:
 *    a result or a JSON-RPC error; counted apart: silences (no answer
 *    within RPC_MS on an open stream), answers lost (a Streamable POST
 *    stream cut after its 200 with nothing to resume from, or whose
 *    Last-Event-ID resumption gave nothing), duplicates and answers to ids
 *    never asked on that stream. Two outcomes a client also sees are
 *    counted and printed but not failed: a connection reset before any
 *    response (the killed process held the socket; no server can answer
 *    there) and, on legacy SSE, a request whose stream ended with its
 *    process (the transport cannot carry it further);
 *  - the fake exchange ran each get_server_time at most once: between
 *    the number answered and the number sent;
 *  - every legacy stream carried a retry: hint of at most 1 s, and every
 *    legacy client, reconnecting at once, had a new working session
 *    (stream, initialize answered) within 1 s of its stream's end;
 *  - sessions return to zero once the clients leave (binmcpd_sessions_active
 *    of /metrics);
 *  - descriptors (/proc/PID/fd) and memory (VmRSS) of the supervisor and of
 *    one worker spared from the kills are flat: the same idle state after
 *    a warm-up round of the same 200 clients and after the chaos, within
 *    FD_SLACK descriptors and RSS_SLACK_KB or RSS_SLACK_PCT percent.
 *
 * Bounded: about 50 s on two cores; SIGALRM ends it after HARD_TIMEOUT_S
 * whatever happens, killing the daemon and the fake exchange. Only
 * processes started here are signalled: the fake exchange, the supervisor
 * and the supervisor's own children (its workers, read from /proc and
 * checked just before each kill). Traffic goes to 127.0.0.1 only.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fakex.h"
#include "httpc.h"
#include "testlib.h"

#define NWORKERS     4
#define N_STREAMABLE 100
#define N_LEGACY     100
#define N_CLIENTS    (N_STREAMABLE + N_LEGACY)
/* each client: a call, then this pause. 200 clients then make 50 calls a
 * second, about 75 of Binance's request weight: the whole run stays well
 * under the 6000 a minute that binmcpd's shared budget allows (beyond it,
 * calls fail without reaching the exchange) */
#define CALL_GAP_MS      4000
#define WARMUP_MS        6000  /* the warm-up round's calls */
#define CHAOS_MS         30000 /* kills for this long */
#define KILL_EVERY_MS    1000
#define HUP_AT_MS        15000 /* the SIGHUP burst, into the chaos */
#define HUP_BURST        10
#define HUP_GAP_MS       50
#define CALM_MS          4000  /* calls go on after the last kill */
#define START_MS         10000 /* the daemon logs its port */
#define HTTP_MS          5000  /* a connection and a response head */
#define RPC_MS           8000  /* an answer on an open stream: else silent */
#define SETUP_MS         15000 /* every client has its session */
#define RESPAWN_MS       5000  /* every worker back after the chaos */
#define RECONNECT_MS     1000  /* legacy: stream end to a working session */
#define RECONNECT_GIVEUP 5000  /* legacy: a reconnection attempt's limit */
#define RESUME_TRIES     3     /* Streamable: Last-Event-ID attempts */
#define SESSIONS_ZERO_MS 10000 /* sessions gone after the clients left */
#define RETRY_HINT_MAX   1000  /* ms: the legacy streams' retry: hint */
#define MIN_KILLS        25    /* of the 30: the chaos really happened */
#define FD_SLACK         4     /* descriptors: end vs warm-up */
#define RSS_SLACK_KB     6144  /* memory: end vs warm-up, at least this */
#define RSS_SLACK_PCT    15    /* or this share of the warm-up RSS */
#define HARD_TIMEOUT_S   90
#define MAX_CALLS        4096 /* ids one client may use */
#define MAX_PIDS         64
#define CLIENT_STACK     (256 * 1024)

#define PROTO_STREAMABLE "2025-11-25"
#define PROTO_LEGACY     "2024-11-05"
#define SH_HEADERS                                                             \
    "Content-Type: application/json\r\n"                                       \
    "Accept: application/json, text/event-stream\r\n"

/* ------------------------------------------------------------------ */
/* Results                                                             */

static int passed, failed;

/* One assertion: one line, counted. */
static void report(int ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
report(int ok, const char *fmt, ...)
{
    va_list ap;

    printf("chaos: %s - ", ok ? "ok" : "not ok");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
}

/* What one client saw; only its own thread writes it while it runs. */
struct tally {
    long sent;        /* requests (tools/call) sent */
    long results;     /* answered with a result */
    long tool_errors; /* of those: isError true */
    /* answered with an error: a JSON-RPC error (any HTTP status), or a
     * legacy POST refused (not 202) */
    long rpc_errors;
    long status404;        /* of those: 404, the session unknown */
    long bad;              /* an HTTP error without a JSON-RPC error in it */
    long conn_reset;       /* no response at all: the connection failed */
    long cut;              /* legacy: its stream ended before the answer */
    long lost;             /* Streamable: accepted, then no answer to be had */
    long silent;           /* no answer within RPC_MS on an open stream */
    long dups;             /* an answer to an id already answered */
    long strays;           /* an answer to an id never asked there */
    long resumed;          /* Streamable: answers got by Last-Event-ID */
    long reinit;           /* Streamable: initialize again after a 404 */
    long time_sent;        /* get_server_time sent */
    long time_result;      /* get_server_time answered, isError false */
    long reconnects;       /* legacy: new sessions after a stream's end */
    long reconnect_slow;   /* of those: later than RECONNECT_MS */
    long reconnect_failed; /* no working session within RECONNECT_GIVEUP */
    long reconnect_max_ms;
    long streams_ended; /* legacy streams that ended under the client */
    long no_retry_hint; /* of those: without a retry: <= RETRY_HINT_MAX */
    long deletes_404;   /* Streamable: DELETE at leave was 404 */
};

static void
tally_add(struct tally *sum, const struct tally *t)
{
    sum->sent += t->sent;
    sum->results += t->results;
    sum->tool_errors += t->tool_errors;
    sum->rpc_errors += t->rpc_errors;
    sum->status404 += t->status404;
    sum->bad += t->bad;
    sum->conn_reset += t->conn_reset;
    sum->cut += t->cut;
    sum->lost += t->lost;
    sum->silent += t->silent;
    sum->dups += t->dups;
    sum->strays += t->strays;
    sum->resumed += t->resumed;
    sum->reinit += t->reinit;
    sum->time_sent += t->time_sent;
    sum->time_result += t->time_result;
    sum->reconnects += t->reconnects;
    sum->reconnect_slow += t->reconnect_slow;
    sum->reconnect_failed += t->reconnect_failed;
    if (t->reconnect_max_ms > sum->reconnect_max_ms)
        sum->reconnect_max_ms = t->reconnect_max_ms;
    sum->streams_ended += t->streams_ended;
    sum->no_retry_hint += t->no_retry_hint;
    sum->deletes_404 += t->deletes_404;
}

/* ------------------------------------------------------------------ */
/* The clients                                                         */

enum answer {
    ANS_NONE = 0,    /* asked, nothing yet */
    ANS_DONE = 1,    /* answered once */
    ANS_GAVE_UP = 2, /* silent or lost: counted already */
};

struct client {
    pthread_t thread;
    int index;
    int streamable;
    int port;
    atomic_int ready; /* the first session is set up (1) or failed (-1) */
    struct tally t;
    long next_id;
    unsigned char answered[MAX_CALLS]; /* enum answer, by id */
    char sid[128];                     /* Streamable: Mcp-Session-Id */
    char tool_error[200];              /* the first isError text */
    /* legacy: the session's stream and endpoint */
    struct httpc_sse s;
    int s_open;
    int s_retry_ok; /* this stream carried a retry: <= RETRY_HINT_MAX */
    char endpoint[256];
};

static atomic_int stop_calls; /* clients leave once set */

/* The id of a JSON-RPC response message, or -1 when m is not one (a
 * request or notification, or an id that is not an integer). */
static long
response_id(json_object *m)
{
    json_object *id;

    if (m == NULL || !json_object_object_get_ex(m, "id", &id) ||
        !json_object_is_type(id, json_type_int) ||
        json_object_object_get_ex(m, "method", NULL))
        return -1;
    if (!json_object_object_get_ex(m, "result", NULL) &&
        !json_object_object_get_ex(m, "error", NULL))
        return -1;
    return (long)json_object_get_int64(id);
}

/* Books an answer to id: a duplicate or a stray when it is one. Returns 1
 * when it answers want (the request waited for). */
static int
book_answer(struct client *c, json_object *m, long want, int is_time)
{
    long id = response_id(m);

    if (id < 0)
        return 0;
    if (id >= c->next_id || id < 1 || id >= MAX_CALLS) {
        c->t.strays++;
        return 0;
    }
    if (c->answered[id] == ANS_DONE) {
        c->t.dups++;
        return 0;
    }
    if (c->answered[id] == ANS_GAVE_UP) /* too late: already counted */
        return 0;
    if (id != want) {
        /* an earlier request that was cut or reset: its answer came after
         * all, on another stream. Still an answer, once. */
        c->answered[id] = ANS_DONE;
        return 0;
    }
    c->answered[id] = ANS_DONE;
    if (json_object_object_get_ex(m, "result", NULL)) {
        c->t.results++;
        if (json_object_get_boolean(tl_get_path(m, "result.isError"))) {
            c->t.tool_errors++;
            if (c->tool_error[0] == '\0')
                snprintf(c->tool_error, sizeof(c->tool_error), "%s",
                         tl_str_at(m, "result.content.0.text"));
        } else if (is_time) {
            c->t.time_result++;
        }
    } else {
        c->t.rpc_errors++;
    }
    return 1;
}

/* Parses an event's data as a JSON-RPC message (caller puts it). */
static json_object *
event_message(const struct httpc_event *ev)
{
    return ev->data != NULL && ev->data[0] == '{' ? json_tokener_parse(ev->data)
                                                  : NULL;
}

/* The body of a tools/call, alternating the two cheap tools by id. Sets
 * *is_time for get_server_time. */
static int
call_body(char *out, size_t len, long id, int *is_time)
{
    *is_time = id % 2 == 1;
    return snprintf(out, len,
                    "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/"
                    "call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
                    id, *is_time ? "get_server_time" : "get_ticker",
                    *is_time ? "{}" : "{\"symbol\":\"BTCUSDT\"}");
}

/* ---- Streamable HTTP ---- */

/* Headers of a request of the session (sid may be ""). */
static void
sh_headers(const struct client *c, char *out, size_t len, const char *extra)
{
    snprintf(out, len, "%s%s%s%s%s", SH_HEADERS,
             c->sid[0] != '\0' ? "Mcp-Session-Id: " : "", c->sid,
             c->sid[0] != '\0' ? "\r\nMCP-Protocol-Version: " PROTO_STREAMABLE
                                 "\r\n"
                               : "",
             extra != NULL ? extra : "");
}

/* initialize: a new session in c->sid. Returns 0 or -1. */
static int
sh_initialize(struct client *c)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"" PROTO_STREAMABLE "\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"chaos\",\"version\":\"1\"}}}";
    static const char inited[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    struct httpc_sse s;
    struct httpc_resp r;
    char headers[512], sid[128];
    int ok = 0;
    int64_t end = tl_now_ms() + RPC_MS;

    c->sid[0] = '\0';
    sh_headers(c, headers, sizeof(headers), NULL);
    if (httpc_sse_open(&s, c->port, "POST", "/mcp", headers, init,
                       sizeof(init) - 1, HTTP_MS) == 0 &&
        s.status == 200 &&
        httpc_header(s.headers, "Mcp-Session-Id", sid, sizeof(sid)) != NULL) {
        for (;;) {
            struct httpc_event ev;
            int64_t left = end - tl_now_ms();
            if (left <= 0 || httpc_sse_next(&s, &ev, (int)left) != 1)
                break;
            json_object *m = event_message(&ev);
            httpc_event_free(&ev);
            ok = tl_int_at(m, "id") == 0 &&
                 tl_get_path(m, "result.protocolVersion") != NULL;
            json_object_put(m);
            if (ok)
                break;
        }
    }
    httpc_sse_close(&s);
    if (!ok)
        return -1;
    snprintf(c->sid, sizeof(c->sid), "%s", sid);
    sh_headers(c, headers, sizeof(headers), NULL);
    memset(&r, 0, sizeof(r));
    ok = httpc_request(c->port, "POST", "/mcp", headers, inited,
                       sizeof(inited) - 1, HTTP_MS, &r) == 0 &&
         r.status == 202;
    httpc_resp_free(&r);
    return ok ? 0 : -1;
}

/* Reads a POST (or resumed) stream until it ends or the deadline: books
 * every answer; notes the last event id in last_id. Returns 1 once want
 * was answered, 0 when the stream ended without it, -1 at the deadline. */
static int
sh_read(struct client *c, struct httpc_sse *s, long want, int is_time,
        int64_t end, char *last_id, size_t idlen)
{
    int got = 0;

    for (;;) {
        struct httpc_event ev;
        int64_t left = end - tl_now_ms();
        /* once answered, the stream's end is awaited only briefly: it is
         * read on to see a duplicate */
        if (got && left > 1000)
            left = 1000;
        if (left <= 0)
            return got ? 1 : -1;
        int rc = httpc_sse_next(s, &ev, (int)left);
        if (rc == 0)
            return got;
        if (rc < 0)
            return got ? 1 : s->broken || s->fd < 0 ? 0 : -1;
        if (ev.id[0] != '\0')
            snprintf(last_id, idlen, "%s", ev.id);
        json_object *m = event_message(&ev);
        httpc_event_free(&ev);
        if (book_answer(c, m, want, is_time))
            got = 1;
        json_object_put(m);
    }
}

/* GET /mcp with Last-Event-ID, up to RESUME_TRIES times. Returns as
 * sh_read. */
static int
sh_resume(struct client *c, long want, int is_time, int64_t end, char *last_id,
          size_t idlen)
{
    for (int i = 0; i < RESUME_TRIES && tl_now_ms() < end; i++) {
        struct httpc_sse s;
        char headers[768], extra[200];
        int rc = 0;

        snprintf(extra, sizeof(extra), "Last-Event-ID: %s\r\n", last_id);
        sh_headers(c, headers, sizeof(headers), extra);
        if (httpc_sse_open(&s, c->port, "GET", "/mcp", headers, NULL, 0,
                           HTTP_MS) == 0 &&
            s.status == 200)
            rc = sh_read(c, &s, want, is_time, end, last_id, idlen);
        else if (s.status == 404)
            c->t.status404++;
        httpc_sse_close(&s);
        if (rc != 0)
            return rc;
        tl_sleep_ms(100);
    }
    return 0;
}

/* One tools/call over the session; books its outcome. Returns 404 when
 * the session is unknown, else 0. */
static int
sh_call(struct client *c)
{
    char body[512], headers[512], last_id[128] = "";
    long id = c->next_id++;
    int is_time, rc = 0, n = call_body(body, sizeof(body), id, &is_time);
    int64_t end = tl_now_ms() + RPC_MS;
    struct httpc_sse s;

    c->t.sent++;
    c->t.time_sent += is_time;
    sh_headers(c, headers, sizeof(headers), NULL);
    if (httpc_sse_open(&s, c->port, "POST", "/mcp", headers, body, (size_t)n,
                       HTTP_MS) < 0 &&
        s.status == 0) {
        c->t.conn_reset++;
        c->answered[id] = ANS_GAVE_UP;
        httpc_sse_close(&s);
        return 0;
    }
    if (s.status != 200) {
        /* an error answer: explicit when it is a JSON-RPC error */
        char *text = httpc_sse_body(&s, HTTP_MS);
        json_object *m = text != NULL ? json_tokener_parse(text) : NULL;
        int status = s.status;
        free(text);
        httpc_sse_close(&s);
        if (json_object_object_get_ex(m, "error", NULL)) {
            c->t.rpc_errors++;
            c->answered[id] = ANS_DONE;
        } else {
            c->t.bad++;
            c->answered[id] = ANS_GAVE_UP;
        }
        json_object_put(m);
        if (status == 404) {
            c->t.status404++;
            return 404;
        }
        return 0;
    }
    rc = sh_read(c, &s, id, is_time, end, last_id, sizeof(last_id));
    httpc_sse_close(&s);
    if (rc == 0 && last_id[0] != '\0') {
        rc = sh_resume(c, id, is_time, end, last_id, sizeof(last_id));
        if (rc == 1)
            c->t.resumed++;
    }
    if (rc == 0) {
        c->t.lost++;
        c->answered[id] = ANS_GAVE_UP;
    } else if (rc < 0) {
        c->t.silent++;
        c->answered[id] = ANS_GAVE_UP;
    }
    return 0;
}

/* DELETE the session: the client leaves. */
static void
sh_leave(struct client *c)
{
    struct httpc_resp r;
    char headers[512];

    if (c->sid[0] == '\0')
        return;
    sh_headers(c, headers, sizeof(headers), NULL);
    memset(&r, 0, sizeof(r));
    httpc_request(c->port, "DELETE", "/mcp", headers, NULL, 0, HTTP_MS, &r);
    if (r.status == 404)
        c->t.deletes_404++;
    httpc_resp_free(&r);
    c->sid[0] = '\0';
}

/* ---- legacy HTTP+SSE ---- */

static void
lg_close(struct client *c)
{
    if (c->s_open)
        httpc_sse_close(&c->s);
    c->s_open = 0;
}

/* Its stream ended under the client: counted, with whether it carried the
 * retry hint. */
static void
lg_ended(struct client *c)
{
    c->t.streams_ended++;
    if (!c->s_retry_ok)
        c->t.no_retry_hint++;
    lg_close(c);
}

/* Reads the next event of the session's stream until end (books answers;
 * notes retry hints). Returns as httpc_sse_next, -1 only at the deadline,
 * -2 when the stream broke. The event is freed unless ev is kept (ev
 * NULL: freed). */
static int
lg_next(struct client *c, struct httpc_event *ev, int64_t end)
{
    int64_t left = end - tl_now_ms();
    int rc = httpc_sse_next(&c->s, ev, left > 0 ? (int)left : 0);

    if (rc == 1 && ev->retry_ms >= 0 && ev->retry_ms <= RETRY_HINT_MAX)
        c->s_retry_ok = 1;
    if (rc < 0 && (c->s.broken || c->s.fd < 0))
        return -2;
    return rc;
}

/* POSTs a message to the session's endpoint. Returns the status, 0 when
 * no response came. */
static int
lg_post(struct client *c, const char *body, size_t len)
{
    struct httpc_resp r;
    int status;

    memset(&r, 0, sizeof(r));
    httpc_request(c->port, "POST", c->endpoint,
                  "Content-Type: application/json\r\n", body, len, HTTP_MS, &r);
    status = r.status;
    httpc_resp_free(&r);
    return status;
}

/* GET /mcp/sse, initialize, notifications/initialized: a working session.
 * Returns 0 or -1 (nothing left open). */
static int
lg_open(struct client *c)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"" PROTO_LEGACY "\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"chaos\",\"version\":\"1\"}}}";
    static const char inited[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    int64_t end = tl_now_ms() + RPC_MS;
    int ok = 0;

    c->s_retry_ok = 0;
    c->endpoint[0] = '\0';
    if (httpc_sse_open(&c->s, c->port, "GET", "/mcp/sse", NULL, NULL, 0,
                       HTTP_MS) < 0) {
        httpc_sse_close(&c->s);
        return -1;
    }
    c->s_open = 1;
    if (c->s.status != 200) {
        lg_close(c);
        return -1;
    }
    while (c->endpoint[0] == '\0') {
        struct httpc_event ev;
        if (lg_next(c, &ev, end) != 1) {
            lg_close(c);
            return -1;
        }
        if (strcmp(ev.event, "endpoint") == 0 && ev.data != NULL)
            snprintf(c->endpoint, sizeof(c->endpoint), "%s", ev.data);
        httpc_event_free(&ev);
    }
    if (lg_post(c, init, sizeof(init) - 1) != 202) {
        lg_close(c);
        return -1;
    }
    while (!ok) {
        struct httpc_event ev;
        if (lg_next(c, &ev, end) != 1) {
            lg_close(c);
            return -1;
        }
        json_object *m = event_message(&ev);
        httpc_event_free(&ev);
        ok = tl_int_at(m, "id") == 0 &&
             tl_get_path(m, "result.protocolVersion") != NULL;
        json_object_put(m);
    }
    if (lg_post(c, inited, sizeof(inited) - 1) != 202) {
        lg_close(c);
        return -1;
    }
    return 0;
}

/* After its stream ended: a new session at once, timed from the end. */
static void
lg_reconnect(struct client *c, int64_t ended_ms)
{
    if (c->s_open)
        lg_ended(c);
    for (;;) {
        if (lg_open(c) == 0) {
            long ms = (long)(tl_now_ms() - ended_ms);
            c->t.reconnects++;
            if (ms > c->t.reconnect_max_ms)
                c->t.reconnect_max_ms = ms;
            if (ms > RECONNECT_MS)
                c->t.reconnect_slow++;
            return;
        }
        if (tl_now_ms() - ended_ms >= RECONNECT_GIVEUP)
            break;
        tl_sleep_ms(50);
    }
    c->t.reconnect_failed++;
}

/* Reads the stream until end, booking stray answers. Returns 1 when the
 * stream ended (and the client reconnected), else 0. */
static int
lg_idle(struct client *c, int64_t end)
{
    for (;;) {
        struct httpc_event ev;
        int rc = lg_next(c, &ev, end);
        if (rc == 1) {
            json_object *m = event_message(&ev);
            book_answer(c, m, -1, 0);
            json_object_put(m);
            httpc_event_free(&ev);
            continue;
        }
        if (rc == -1)
            return 0;
        lg_reconnect(c, tl_now_ms());
        return 1;
    }
}

/* One tools/call over the session; books its outcome. */
static void
lg_call(struct client *c)
{
    char body[512];
    long id = c->next_id++;
    int is_time, n = call_body(body, sizeof(body), id, &is_time), status;
    int64_t end = tl_now_ms() + RPC_MS;

    c->t.sent++;
    c->t.time_sent += is_time;
    status = lg_post(c, body, (size_t)n);
    if (status == 0) {
        c->t.conn_reset++;
        c->answered[id] = ANS_GAVE_UP;
        return;
    }
    if (status != 202) {
        /* the session is gone (404) or the server is busy: an explicit
         * refusal, not a JSON-RPC answer; the stream tells the rest */
        c->t.rpc_errors++;
        c->answered[id] = ANS_DONE;
        if (status == 404)
            c->t.status404++;
        return;
    }
    for (;;) {
        struct httpc_event ev;
        int rc = lg_next(c, &ev, end);
        if (rc == 1) {
            json_object *m = event_message(&ev);
            int got = book_answer(c, m, id, is_time);
            json_object_put(m);
            httpc_event_free(&ev);
            if (got)
                return;
            continue;
        }
        c->answered[id] = ANS_GAVE_UP;
        if (rc == -1) {
            c->t.silent++;
            return;
        }
        c->t.cut++;
        lg_reconnect(c, tl_now_ms());
        return;
    }
}

/* ---- the thread ---- */

static void *
client_main(void *arg)
{
    struct client *c = arg;
    int ok = c->streamable ? sh_initialize(c) : lg_open(c);

    atomic_store(&c->ready, ok == 0 ? 1 : -1);
    if (ok < 0)
        return NULL;
    /* spread the calls over the gap */
    tl_sleep_ms((long)(c->index * (CALL_GAP_MS / N_CLIENTS)) % CALL_GAP_MS);
    while (atomic_load(&stop_calls) == 0 && c->next_id < MAX_CALLS) {
        int64_t next = tl_now_ms() + CALL_GAP_MS;
        if (c->streamable) {
            if (sh_call(c) == 404) {
                /* what a client must do today: a new session */
                c->t.reinit++;
                while (atomic_load(&stop_calls) == 0 && sh_initialize(c) < 0)
                    tl_sleep_ms(100);
            }
            int64_t left = next - tl_now_ms();
            if (left > 0)
                tl_sleep_ms((long)left);
        } else {
            if (!c->s_open)
                lg_reconnect(c, tl_now_ms());
            if (c->s_open)
                lg_call(c);
            if (c->s_open)
                lg_idle(c, next);
        }
    }
    if (c->streamable)
        sh_leave(c);
    else
        lg_close(c);
    return NULL;
}

/* Starts the 200 clients; waits until each has its session (or failed).
 * Returns how many have one. */
static int
clients_start(struct client *cs, int port)
{
    pthread_attr_t attr;
    int up = 0;
    int64_t end = tl_now_ms() + SETUP_MS;

    atomic_store(&stop_calls, 0);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CLIENT_STACK);
    for (int i = 0; i < N_CLIENTS; i++) {
        struct client *c = &cs[i];
        memset(c, 0, sizeof(*c));
        c->index = i;
        c->streamable = i < N_STREAMABLE;
        c->port = port;
        c->next_id = 1;
        c->s.fd = -1;
        if (pthread_create(&c->thread, &attr, client_main, c) != 0) {
            atomic_store(&c->ready, -1);
            c->index = -1; /* no thread */
        }
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < N_CLIENTS; i++) {
        while (atomic_load(&cs[i].ready) == 0 && tl_now_ms() < end)
            tl_sleep_ms(20);
        up += atomic_load(&cs[i].ready) == 1;
    }
    return up;
}

/* The clients leave (DELETE, close) and their tallies are summed per
 * transport; the first isError text any of them saw goes to tool_error
 * (len bytes). */
static void
clients_stop(struct client *cs, struct tally *sh, struct tally *lg,
             char *tool_error, size_t len)
{
    tool_error[0] = '\0';
    atomic_store(&stop_calls, 1);
    memset(sh, 0, sizeof(*sh));
    memset(lg, 0, sizeof(*lg));
    for (int i = 0; i < N_CLIENTS; i++) {
        if (cs[i].index < 0)
            continue;
        pthread_join(cs[i].thread, NULL);
        tally_add(cs[i].streamable ? sh : lg, &cs[i].t);
        if (tool_error[0] == '\0' && cs[i].tool_error[0] != '\0')
            snprintf(tool_error, len, "%s", cs[i].tool_error);
    }
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */

static struct fakex fx;
static volatile pid_t daemon_pid; /* the supervisor, for the alarm too */
static char daemon_log[512], fakex_log[512];

/* State, parent and start time from /proc/PID/stat. Returns 0, or -1 when
 * there is no such process. */
static int
stat_of(pid_t pid, char *state, pid_t *ppid, unsigned long long *start)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;
    int parent;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold anything */
    if (p == NULL ||
        sscanf(p + 1,
               " %c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
               "%*s %*s %*s %*s %*s %llu",
               state, &parent, start) != 3)
        return -1;
    *ppid = parent;
    return 0;
}

/* A process of ours: its pid and start time (a reused pid is not it). */
struct proc {
    pid_t pid;
    unsigned long long start;
};

/* Whether p still runs as the supervisor's child (not a zombie). */
static int
is_worker(struct proc p)
{
    char state;
    pid_t ppid;
    unsigned long long start;

    return p.pid > 0 && stat_of(p.pid, &state, &ppid, &start) == 0 &&
           state != 'Z' && ppid == daemon_pid && start == p.start;
}

/* The supervisor's live children, oldest first. Returns how many. */
static int
workers_of_daemon(struct proc *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        char state, *endp;
        pid_t ppid;
        unsigned long long start;
        long pid = strtol(e->d_name, &endp, 10);
        if (*endp != '\0' || pid <= 0 ||
            stat_of((pid_t)pid, &state, &ppid, &start) < 0 ||
            ppid != daemon_pid || state == 'Z')
            continue;
        int at = n++;
        while (at > 0 && out[at - 1].start > start) {
            out[at] = out[at - 1];
            at--;
        }
        out[at].pid = (pid_t)pid;
        out[at].start = start;
    }
    closedir(d);
    return n;
}

/* Descriptors and resident memory of one process. */
struct usage {
    long fds;
    long rss_kb;
};

/* Returns 0, or -1 when the process is gone. */
static int
usage_of(pid_t pid, struct usage *u)
{
    char path[64], line[256];
    DIR *d;
    struct dirent *e;
    FILE *f;

    u->fds = 0;
    u->rss_kb = -1;
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        u->fds += e->d_name[0] != '.';
    closedir(d);
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &u->rss_kb) == 1)
            break;
    fclose(f);
    return u->rss_kb >= 0 ? 0 : -1;
}

/* The hard timeout: nothing may outlive this program. Only
 * async-signal-safe calls. */
static void
on_alarm(int sig)
{
    static const char msg[] = "chaos: not ok - the hard timeout passed\n";
    (void)sig;
    if (daemon_pid > 0)
        kill(daemon_pid, SIGKILL); /* its workers follow it */
    if (fx.pid > 0)
        kill(fx.pid, SIGKILL);
    (void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    _exit(1);
}

/* A path for one of this run's logs: under $TESTS_BUILDDIR (or /tmp),
 * named after this process; kept when something failed. */
static void
log_path(const char *what, char *out, size_t len)
{
    const char *dir = getenv("TESTS_BUILDDIR");
    snprintf(out, len, "%s/chaos.%ld.%s.tmp",
             dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid(), what);
}

/* Starts the fake exchange with its access log (a line a request) in
 * fakex_log rather than on this program's standard error. Returns 0 or
 * -1. */
static int
fakex_start_logged(void)
{
    int saved = dup(STDERR_FILENO), fd, rc;

    log_path("fakex", fakex_log, sizeof(fakex_log));
    fd = open(fakex_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    rc = fakex_start(&fx, NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    return rc;
}

/* Starts the daemon with its log in daemon_log. Returns the port, or -1. */
static int
daemon_start(void)
{
    char base[160], testnet[160], workers[16];
    const char *envset[] = {base, testnet, "BINANCE_TIMEOUT_MS=3000", NULL};
    const char *argv[] = {tl_binmcpd_path(),
                          "--mode",
                          "sse",
                          "--bind",
                          "127.0.0.1",
                          "--port",
                          "0",
                          "--workers",
                          workers,
                          "--keepalive",
                          "2",
                          "--drain-timeout",
                          "3",
                          "--max-connections",
                          "2000",
                          "--max-connections-per-ip",
                          "0",
                          "--max-sessions-per-client",
                          "0",
                          NULL};
    int fd, null_fd, st, port;

    snprintf(workers, sizeof(workers), "%d", NWORKERS);
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    log_path("binmcpd", daemon_log, sizeof(daemon_log));
    fd = open(daemon_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0 && null_fd >= 0)
        daemon_pid = tl_spawn(argv, envset, null_fd, null_fd, fd, SIGKILL);
    if (fd >= 0)
        close(fd);
    if (null_fd >= 0)
        close(null_fd);
    if (daemon_pid <= 0) {
        daemon_pid = 0;
        return -1;
    }
    port = tl_wait_listening(daemon_log, daemon_pid, START_MS, &st);
    if (port < 0)
        daemon_pid = 0; /* exited, reaped */
    return port > 0 ? port : -1;
}

/* Whether the supervisor still runs (reaping it when it has exited). */
static int
daemon_alive(int *status)
{
    pid_t pid = daemon_pid;
    int alive = !tl_reaped(&pid, status);

    if (!alive)
        daemon_pid = 0;
    return alive;
}

/* A number of /metrics: the value of the line that starts with series and
 * a space; -1 when there is none (or no answer). */
static double
metric(int port, const char *series)
{
    struct httpc_resp r;
    double v = -1;
    size_t n = strlen(series);

    memset(&r, 0, sizeof(r));
    if (httpc_request(port, "GET", "/metrics", NULL, NULL, 0, HTTP_MS, &r) ==
            0 &&
        r.status == 200 && r.body != NULL)
        for (const char *l = r.body; l != NULL && *l != '\0';) {
            if (strncmp(l, series, n) == 0 && l[n] == ' ') {
                v = strtod(l + n + 1, NULL);
                break;
            }
            l = strchr(l, '\n');
            l = l != NULL ? l + 1 : NULL;
        }
    httpc_resp_free(&r);
    return v;
}

/* Polls a metric until it equals want or timeout_ms passes; returns the
 * last value read. */
static double
metric_wait(int port, const char *series, double want, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    double v;

    while ((v = metric(port, series)) != want && tl_now_ms() < end)
        tl_sleep_ms(100);
    return v;
}

/* ------------------------------------------------------------------ */
/* The run                                                             */

static struct client clients[N_CLIENTS];

/* Kills the oldest worker but the spared one. Returns 1 when one was
 * killed, 0 when none but it runs. */
static int
kill_one(struct proc spared)
{
    struct proc w[MAX_PIDS];
    int n = workers_of_daemon(w, MAX_PIDS);

    for (int i = 0; i < n; i++) {
        if (w[i].pid == spared.pid && w[i].start == spared.start)
            continue;
        if (is_worker(w[i]) && kill(w[i].pid, SIGKILL) == 0)
            return 1;
    }
    return 0;
}

/* The chaos: a kill every KILL_EVERY_MS, the SIGHUP burst at HUP_AT_MS.
 * Returns 0, or -1 as soon as the supervisor is gone. */
static int
chaos(struct proc spared, int *kills, int *hups, int *status)
{
    int64_t start = tl_now_ms(), next_kill = start;
    int hup_done = 0;

    while (tl_now_ms() - start < CHAOS_MS) {
        if (!daemon_alive(status))
            return -1;
        if (tl_now_ms() >= next_kill) {
            *kills += kill_one(spared);
            next_kill += KILL_EVERY_MS;
        }
        if (!hup_done && tl_now_ms() - start >= HUP_AT_MS) {
            for (int i = 0; i < HUP_BURST; i++) {
                if (daemon_pid > 0 && kill(daemon_pid, SIGHUP) == 0)
                    (*hups)++;
                tl_sleep_ms(HUP_GAP_MS);
            }
            hup_done = 1;
        }
        tl_sleep_ms(20);
    }
    return 0;
}

/* Two assertions: descriptors and memory of who, after the warm-up (a)
 * and at the end (b), within the slack. */
static void
report_flat(const char *who, const struct usage *a, const struct usage *b)
{
    long slack = a->rss_kb * RSS_SLACK_PCT / 100;

    if (slack < RSS_SLACK_KB)
        slack = RSS_SLACK_KB;
    report(b->fds <= a->fds + FD_SLACK,
           "%s's descriptors are flat: %ld after the warm-up, %ld at the end "
           "(slack %d)",
           who, a->fds, b->fds, FD_SLACK);
    report(b->rss_kb <= a->rss_kb + slack,
           "%s's memory is flat: VmRSS %ld kB after the warm-up, %ld kB at "
           "the end (slack %ld kB)",
           who, a->rss_kb, b->rss_kb, slack);
}

static void
print_tally(const char *what, const struct tally *t)
{
    printf("chaos: %s: %ld calls: %ld results (%ld isError), %ld errors "
           "(%ld 404), %ld HTTP errors without a JSON-RPC error, %ld "
           "connections reset before any answer, %ld cut with their stream, "
           "%ld lost after acceptance, %ld silent, %ld duplicates, %ld "
           "strays; %ld resumed by Last-Event-ID\n",
           what, t->sent, t->results, t->tool_errors, t->rpc_errors,
           t->status404, t->bad, t->conn_reset, t->cut, t->lost, t->silent,
           t->dups, t->strays, t->resumed);
}

int
main(void)
{
    struct tally sh, lg, sum;
    struct proc w[MAX_PIDS], spared = {0, 0};
    struct usage sup_a = {0, 0}, sup_b = {0, 0}, sp_a = {0, 0}, sp_b = {0, 0};
    int port, up, kills = 0, hups = 0, status = 0, n;
    long time_before, time_after;
    char tool_error[200];
    double v;
    struct rlimit rl;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(HARD_TIMEOUT_S);
    /* 200 clients, up to three sockets each */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
        rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (fakex_start_logged() < 0) {
        report(0, "the fake exchange starts");
        goto out;
    }
    port = daemon_start();
    if (port < 0) {
        report(0, "binmcpd --mode sse --workers %d starts (see %s)", NWORKERS,
               daemon_log);
        goto out;
    }
    v = metric_wait(port, "binmcpd_workers_alive", NWORKERS, START_MS);
    n = workers_of_daemon(w, MAX_PIDS);
    report(v == NWORKERS && n == NWORKERS,
           "binmcpd serves on 127.0.0.1:%d with %d workers (pid %ld)", port, n,
           (long)daemon_pid);
    if (n < 2)
        goto out;
    spared = w[0]; /* never killed: its descriptors and memory are watched */

    /* ---- the warm-up round: everything grows to its working size ---- */
    up = clients_start(clients, port);
    tl_sleep_ms(WARMUP_MS);
    clients_stop(clients, &sh, &lg, tool_error, sizeof(tool_error));
    sum = sh;
    tally_add(&sum, &lg);
    report(up == N_CLIENTS && sum.sent > 0 && sum.results == sum.sent &&
               sum.tool_errors == 0,
           "warm-up, before any kill: %d of %d clients set up, %ld of %ld "
           "calls answered with a result, %ld of them isError %s",
           up, N_CLIENTS, sum.results, sum.sent, sum.tool_errors, tool_error);
    v = metric_wait(port, "binmcpd_sessions_active", 0, SESSIONS_ZERO_MS);
    report(v == 0, "warm-up: sessions back to 0 after the clients left (%g)",
           v);
    if (usage_of(daemon_pid, &sup_a) < 0 || usage_of(spared.pid, &sp_a) < 0) {
        report(0, "the supervisor and worker %ld are in /proc",
               (long)spared.pid);
        goto out;
    }

    /* ---- the chaos round ---- */
    time_before = fakex_count(&fx, "GET", "/api/v3/time");
    up = clients_start(clients, port);
    report(up == N_CLIENTS,
           "%d Streamable HTTP and %d legacy SSE clients have their session "
           "(%d of %d)",
           N_STREAMABLE, N_LEGACY, up, N_CLIENTS);
    int crashed = chaos(spared, &kills, &hups, &status) < 0;
    report(kills >= MIN_KILLS && hups == HUP_BURST,
           "the chaos happened: %d workers killed with SIGKILL in %d s, a "
           "burst of %d SIGHUPs",
           kills, CHAOS_MS / 1000, hups);
    if (!crashed) {
        tl_sleep_ms(CALM_MS);
        crashed = !daemon_alive(&status);
    }
    v = crashed
            ? -1
            : metric_wait(port, "binmcpd_workers_alive", NWORKERS, RESPAWN_MS);
    report(!crashed && v == NWORKERS,
           "the daemon stayed up and serves with all %d workers again "
           "(workers_alive %g%s)",
           NWORKERS, v, crashed ? ", the supervisor is gone" : "");
    clients_stop(clients, &sh, &lg, tool_error, sizeof(tool_error));
    time_after = fakex_count(&fx, "GET", "/api/v3/time");
    print_tally("Streamable HTTP", &sh);
    print_tally("legacy SSE", &lg);

    report(sh.tool_errors + lg.tool_errors == 0,
           "no tool call failed (isError): %ld did %s",
           sh.tool_errors + lg.tool_errors, tool_error);
    report(sh.status404 == 0,
           "Streamable HTTP: no request got 404 (%ld did; %ld DELETEs at "
           "the end too)",
           sh.status404, sh.deletes_404);
    report(sh.reinit == 0,
           "Streamable HTTP: no session had to initialize again (%ld new "
           "sessions)",
           sh.reinit);
    report(sh.sent > 0 && sh.lost == 0 && sh.silent == 0 && sh.dups == 0 &&
               sh.strays == 0 && sh.bad == 0 &&
               sh.results + sh.rpc_errors + sh.conn_reset == sh.sent,
           "Streamable HTTP: every request answered exactly once (%ld "
           "lost, %ld silent, %ld duplicates, %ld strays, %ld bare HTTP "
           "errors of %ld)",
           sh.lost, sh.silent, sh.dups, sh.strays, sh.bad, sh.sent);
    report(lg.sent > 0 && lg.silent == 0 && lg.dups == 0 && lg.strays == 0 &&
               lg.results + lg.rpc_errors + lg.conn_reset + lg.cut == lg.sent,
           "legacy SSE: every request answered exactly once or cut with its "
           "stream (%ld silent, %ld duplicates, %ld strays of %ld)",
           lg.silent, lg.dups, lg.strays, lg.sent);
    report(lg.streams_ended > 0 && lg.no_retry_hint == 0,
           "legacy SSE: every stream that ended carried a retry: hint of at "
           "most %d ms (%ld of %ld without)",
           RETRY_HINT_MAX, lg.no_retry_hint, lg.streams_ended);
    report(lg.reconnects > 0 && lg.reconnect_slow == 0 &&
               lg.reconnect_failed == 0,
           "legacy SSE: every client had a working session again within %d "
           "ms of its stream's end (%ld reconnections, slowest %ld ms, %ld "
           "slower, %ld failed)",
           RECONNECT_MS, lg.reconnects, lg.reconnect_max_ms, lg.reconnect_slow,
           lg.reconnect_failed);
    long time_runs = time_after - time_before;
    long time_sent = sh.time_sent + lg.time_sent;
    long time_results = sh.time_result + lg.time_result;
    report(time_before >= 0 && time_after >= 0 && time_runs >= time_results &&
               time_runs <= time_sent,
           "no call ran twice: the fake exchange served %ld /api/v3/time "
           "for %ld get_server_time answered without error and %ld sent",
           time_runs, time_results, time_sent);

    v = crashed
            ? -1
            : metric_wait(port, "binmcpd_sessions_active", 0, SESSIONS_ZERO_MS);
    report(v == 0,
           "sessions back to 0 after the clients left "
           "(binmcpd_sessions_active %g)",
           v);
    if (!crashed && is_worker(spared) && usage_of(daemon_pid, &sup_b) == 0 &&
        usage_of(spared.pid, &sp_b) == 0) {
        report_flat("the supervisor", &sup_a, &sup_b);
        report_flat("the spared worker", &sp_a, &sp_b);
    } else {
        report(0,
               "the supervisor and the spared worker (pid %ld) ran to "
               "the end",
               (long)spared.pid);
    }

out:
    if (daemon_pid > 0) {
        pid_t pid = daemon_pid;
        kill(pid, SIGTERM);
        int rc = tl_wait_exit(pid, 3000 + 3000, &status);
        daemon_pid = 0;
        report(rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "SIGTERM: binmcpd exited 0");
    }
    if (fx.pid > 0)
        fakex_stop(&fx);
    alarm(0);
    if (failed == 0) {
        unlink(daemon_log);
        unlink(fakex_log);
    } else if (daemon_log[0] != '\0') {
        printf("chaos: the logs are kept: %s, %s\n", daemon_log, fakex_log);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
