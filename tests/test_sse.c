/*
 * test_sse.c - integration test of `binmcpd --mode sse`: the real daemon
 * ($BINMCPD: a supervisor and two worker processes) on a free 127.0.0.1
 * port, talking to the real fake exchange ($FAKEX); this program is its
 * HTTP client (tests/httpc.c), holding legacy SSE streams and Streamable
 * HTTP sessions the way an MCP client does.
 *
 * What is checked (the contract is the HTTP behaviour the worker
 * implements): the legacy HTTP+SSE handshake, POSTs in both id forms and
 * their answers on the right stream (also when another worker took the
 * POST), isolation of concurrent streams, every transport error status,
 * Origin checks, capacity (503 and recovery), Streamable HTTP (initialize,
 * notifications, tool calls, progress, the standalone GET stream, DELETE,
 * 405, errors), that stdio, legacy SSE and Streamable HTTP give the same
 * tool results, /health, / and 404, a graceful SIGTERM (streams end
 * cleanly, status 0, no worker left behind), and that no secret ever
 * reaches the daemon's log.
 *
 * Every wait has a deadline (longer when the daemon runs under valgrind);
 * every child is started, killed (when it must be) and reaped by PID here.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "fakex.h"
#include "httpc.h"
#include "testlib.h"


/* The daemon under test. */
#define N_WORKERS     2
#define MAX_CONNS     50
#define KEEPALIVE_S   1
#define MAX_BODY      65536
#define DRAIN_S       3
#define DAEMON_TO_MS  "3000" /* BINANCE_TIMEOUT_MS */
#define MIN_TOOLS     18
#define SESSION_HEX   48
#define MAX_ERR_FILES 4
#define EXTRA_ORIGIN  "https://app.example.com" /* --allow-origin */

/* Deadlines, multiplied by `slow` when the daemon runs under valgrind. */
#define START_MS   10000 /* until the daemon logs its port */
#define HTTP_MS    5000  /* one request and its answer */
#define RPC_MS     8000  /* one JSON-RPC answer on a stream */
#define TICKER_MS  2000  /* the get_ticker answer on the stream */
#define NOTICE_MS  4000  /* the server notices a closed stream */
#define STRAY_MS   300   /* how long to watch for a stray message */
#define XWORKER_N  200   /* POSTs tried to reach the other worker */
#define EXIT_GRACE 2000  /* beyond --drain-timeout */

static int slow = 1;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static int
ms(int base)
{
    return base * slow;
}

/* The id of a JSON-RPC message serialized ("7", "\"a\"", "null"), or ""
 * when it has none. Borrowed from m. */
static const char *
id_of(json_object *m)
{
    json_object *id;
    if (!json_object_object_get_ex(m, "id", &id))
        return "";
    return json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
}

static int
is_response(json_object *m)
{
    return m != NULL && !json_object_object_get_ex(m, "method", NULL) &&
           json_object_object_get_ex(m, "id", NULL);
}

/* The X-Binmcpd-Worker index of a response, -1 when absent. */
static int
worker_of(const char *headers)
{
    char v[32];
    if (httpc_header(headers, "X-Binmcpd-Worker", v, sizeof(v)) == NULL ||
        !isdigit((unsigned char)v[0]))
        return -1;
    return atoi(v);
}

static int
valid_worker(const char *headers)
{
    int w = worker_of(headers);
    return w >= 0 && w < N_WORKERS;
}

/* Whether header name's value starts with prefix (case-insensitive). */
static int
header_starts(const char *headers, const char *name, const char *prefix)
{
    char v[256];
    return httpc_header(headers, name, v, sizeof(v)) != NULL &&
           strncasecmp(v, prefix, strlen(prefix)) == 0;
}

static int
is_lower_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Child processes                                                     */

static char err_files[MAX_ERR_FILES][512];
static int n_err_files;

/* A path for the stderr capture named tag, under $TESTS_BUILDDIR (make
 * clean removes *.tmp there) or /tmp; kept only when a test failed.
 * Remembered for the secret check. */
static void
capture_path(const char *tag, char *out, size_t len)
{
    const char *dir = getenv("TESTS_BUILDDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    /* the PID keeps two runs side by side from sharing a capture */
    snprintf(out, len, "%s/test_sse.%ld.%s.stderr.tmp", dir, (long)getpid(),
             tag);
    if (n_err_files < MAX_ERR_FILES)
        snprintf(err_files[n_err_files++], sizeof(err_files[0]), "%s", out);
}

static struct fakex fx;
static int fx_up;

/* The Binance environment every daemon here gets: the fake's URL, key A. */
struct bin_env {
    char base[160], testnet[160];
    const char *set[6];
};

static void
bin_env_fill(struct bin_env *e)
{
    snprintf(e->base, sizeof(e->base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(e->testnet, sizeof(e->testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    e->set[0] = e->base;
    e->set[1] = e->testnet;
    e->set[2] = "BINANCE_TIMEOUT_MS=" DAEMON_TO_MS;
    e->set[3] = "BINANCE_API_KEY=" TEST_KEY_A;
    e->set[4] = "BINANCE_API_SECRET=" TEST_SECRET_A;
    e->set[5] = NULL;
}

/* ------------------------------------------------------------------ */
/* The daemon in --mode sse                                            */

struct sse_daemon {
    pid_t pid;
    int port;
    char err_path[512];
    int status; /* wait status once reaped, -1 before */
};

static struct sse_daemon dm = {-1, 0, "", -1};
static int dm_tried;

static int
daemon_start(struct sse_daemon *d)
{
    struct bin_env e = {0};
    char workers[16], maxc[16], ka[16], body[32], drain[16];
    const char *argv[] = {tl_binmcpd_path(),
                          "--mode",
                          "sse",
                          "--bind",
                          "127.0.0.1",
                          "--port",
                          "0",
                          "--workers",
                          workers,
                          "--max-connections",
                          maxc,
                          "--keepalive",
                          ka,
                          "--max-body",
                          body,
                          "--drain-timeout",
                          drain,
                          "--allow-origin",
                          EXTRA_ORIGIN,
                          NULL};
    int nul, err_fd;

    snprintf(workers, sizeof(workers), "%d", N_WORKERS);
    snprintf(maxc, sizeof(maxc), "%d", MAX_CONNS);
    snprintf(ka, sizeof(ka), "%d", KEEPALIVE_S);
    snprintf(body, sizeof(body), "%d", MAX_BODY);
    snprintf(drain, sizeof(drain), "%d", DRAIN_S);
    bin_env_fill(&e);
    capture_path("sse", d->err_path, sizeof(d->err_path));
    err_fd = open(d->err_path,
                  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (err_fd < 0 || nul < 0) {
        if (err_fd >= 0)
            close(err_fd);
        if (nul >= 0)
            close(nul);
        return -1;
    }
    d->status = -1;
    d->pid = tl_spawn(argv, e.set, nul, err_fd, err_fd, 0);
    close(nul);
    close(err_fd);
    if (d->pid < 0)
        return -1;
    d->port = tl_wait_listening(d->err_path, d->pid, ms(START_MS), &d->status);
    if (d->port < 0)
        d->pid = -1; /* it died, and is reaped */
    if (d->port <= 0) {
        size_t len;
        char *log = tl_slurp(d->err_path, &len);
        fprintf(stderr,
                "test_sse: the daemon did not log its port; its log:\n%s\n",
                log != NULL ? log : "(none)");
        free(log);
        return -1;
    }
    fprintf(stderr, "test_sse: daemon pid %ld on port %d\n", (long)d->pid,
            d->port);
    return 0;
}

/* Stops the daemon if it still runs (SIGTERM, then SIGKILL) and reaps it. */
static void
daemon_stop(struct sse_daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        tl_wait_exit(d->pid, ms((DRAIN_S * 1000) + EXIT_GRACE), &d->status);
        d->pid = -1;
    }
}

/* Starts the fake exchange and the daemon once, for every suite. */
static int
ensure_started(void)
{
    if (dm.pid > 0 && dm.port > 0)
        return 0;
    if (dm_tried)
        return -1;
    dm_tried = 1;
    if (fakex_start(&fx, NULL) < 0) {
        fprintf(stderr, "test_sse: the fake exchange did not start\n");
        return -1;
    }
    fx_up = 1;
    return daemon_start(&dm);
}

/* ------------------------------------------------------------------ */
/* One-shot requests                                                   */

/* Sends a request to the daemon; returns the HTTP status (0 when none). */
static int
http_do(const char *method, const char *path, const char *headers,
        const char *body, struct httpc_resp *r)
{
    httpc_request(dm.port, method, path, headers, body,
                  body != NULL ? strlen(body) : 0, ms(HTTP_MS), r);
    return r->status;
}

/* The body parsed as JSON (caller owns), or NULL. */
static json_object *
body_json(const struct httpc_resp *r)
{
    return r->body != NULL ? json_tokener_parse(r->body) : NULL;
}

/* Whether r's body is the transport error {"error":code,"message":...}
 * with a JSON Content-Type. */
static int
is_error_body(const struct httpc_resp *r, const char *code)
{
    json_object *o = body_json(r);
    int ok = header_starts(r->headers, "Content-Type", "application/json") &&
             strcmp(tl_str_at(o, "error"), code) == 0 &&
             json_object_is_type(tl_get_path(o, "message"), json_type_string);
    if (!ok)
        fprintf(stderr, "test_sse: expected error %s, got %d %s\n", code,
                r->status, r->body != NULL ? r->body : "(no body)");
    json_object_put(o);
    return ok;
}

/* Whether r's body is a JSON-RPC error with id null and this code. */
static int
is_rpc_error_body(const struct httpc_resp *r, int code)
{
    json_object *o = body_json(r);
    int ok =
        strcmp(tl_str_at(o, "jsonrpc"), "2.0") == 0 &&
        json_object_object_get_ex(o, "id", NULL) &&
        tl_get_path(o, "id") == NULL && tl_int_at(o, "error.code") == code &&
        json_object_is_type(tl_get_path(o, "error.message"), json_type_string);
    if (!ok)
        fprintf(stderr, "test_sse: expected JSON-RPC error %d, got %d %s\n",
                code, r->status, r->body != NULL ? r->body : "(no body)");
    json_object_put(o);
    return ok;
}

/* GET /health parsed (caller owns), or NULL. */
static json_object *
health(void)
{
    struct httpc_resp r;
    json_object *o = NULL;
    if (http_do("GET", "/health", NULL, NULL, &r) == 200)
        o = body_json(&r);
    httpc_resp_free(&r);
    return o;
}

/* One integer of /health (-1 when it cannot be read). */
static int64_t
health_int(const char *key)
{
    json_object *h = health();
    int64_t n = h != NULL ? tl_int_at(h, key) : -1;
    json_object_put(h);
    return n;
}

/* The value of one series of /metrics (-1 when absent). */
static double
metrics_series(const char *series)
{
    struct httpc_resp r;
    double v = -1;
    size_t n = strlen(series);

    if (http_do("GET", "/metrics", NULL, NULL, &r) == 200) {
        for (const char *p = r.body; p != NULL && *p != '\0';) {
            if (strncmp(p, series, n) == 0 && p[n] == ' ') {
                v = strtod(p + n + 1, NULL);
                break;
            }
            p = strchr(p, '\n');
            p = p != NULL ? p + 1 : NULL;
        }
    }
    httpc_resp_free(&r);
    return v;
}

/* Polls /health until sessions == want (deadline NOTICE_MS). Returns the
 * last count seen. */
static int64_t
wait_sessions(int64_t want)
{
    int64_t end = tl_now_ms() + ms(NOTICE_MS);
    for (;;) {
        json_object *h = health();
        int64_t n = tl_int_at(h, "sessions");
        json_object_put(h);
        if (n == want || tl_now_ms() >= end)
            return n;
        tl_sleep_ms(100);
    }
}

/* ------------------------------------------------------------------ */
/* A legacy HTTP+SSE client                                            */

#define LEG_QMAX 256

struct legacy {
    struct httpc_sse s;
    int open;
    int worker;               /* X-Binmcpd-Worker of the GET */
    char id[128];             /* the session id (X-Connection-ID) */
    char endpoint[512];       /* data of the endpoint event */
    char prefix[16];          /* ids this stream's requests carry ("" = any) */
    json_object *q[LEG_QMAX]; /* messages received and not taken */
    size_t qn;
    int foreign;     /* responses to another stream's request */
    int not_message; /* data events not named "message", or whose JSON
                        spans several data: lines */
    int bad_json;    /* data that is not one JSON object */
    int next;        /* request counter */
    int last_post_worker;
    int first_retry; /* retry of the first block, -1 when none */
};

/* Opens GET /mcp/sse (extra header lines may be NULL) and reads up to the
 * endpoint event. Returns the HTTP status (200 only with the endpoint
 * read), or -1 when nothing came. */
static int
legacy_open(struct legacy *l, const char *extra)
{
    char hdr[1024];
    struct httpc_event ev;

    memset(l, 0, sizeof(*l));
    l->first_retry = -1;
    l->worker = -1;
    snprintf(hdr, sizeof(hdr), "Accept: text/event-stream\r\n%s",
             extra != NULL ? extra : "");
    if (httpc_sse_open(&l->s, dm.port, "GET", "/mcp/sse", hdr, NULL, 0,
                       ms(HTTP_MS)) < 0)
        return -1;
    l->open = 1;
    l->worker = worker_of(l->s.headers);
    if (l->s.status != 200)
        return l->s.status;
    httpc_header(l->s.headers, "X-Connection-ID", l->id, sizeof(l->id));
    for (int i = 0; i < 4; i++) {
        int r = httpc_sse_next(&l->s, &ev, ms(HTTP_MS));
        if (r != 1)
            return -1;
        if (i == 0)
            l->first_retry = ev.retry_ms;
        if (strcmp(ev.event, "endpoint") == 0) {
            snprintf(l->endpoint, sizeof(l->endpoint), "%s", ev.data);
            httpc_event_free(&ev);
            return 200;
        }
        httpc_event_free(&ev);
    }
    return -1;
}

static void
legacy_close(struct legacy *l)
{
    if (l->open)
        httpc_sse_close(&l->s);
    l->open = 0;
    for (size_t i = 0; i < l->qn; i++)
        json_object_put(l->q[i]);
    l->qn = 0;
}

/* Reads one event within timeout_ms and queues its message. Returns
 * httpc_sse_next's answer. */
static int
legacy_pump(struct legacy *l, int timeout_ms)
{
    struct httpc_event ev;
    int r = httpc_sse_next(&l->s, &ev, timeout_ms);
    json_object *m;

    if (r != 1)
        return r;
    if (ev.data[0] == '\0') {
        httpc_event_free(&ev);
        return 1; /* a retry hint */
    }
    if (strcmp(ev.event, "message") != 0 || strchr(ev.data, '\n') != NULL)
        l->not_message++;
    m = json_tokener_parse(ev.data);
    if (!json_object_is_type(m, json_type_object)) {
        l->bad_json++;
        fprintf(stderr, "test_sse: stream data is not a JSON object: %.200s\n",
                ev.data);
        json_object_put(m);
    } else {
        const char *id = id_of(m);
        /* string ids: the prefix follows the opening quote */
        if (is_response(m) && l->prefix[0] != '\0' &&
            (id[0] != '"' ||
             strncmp(id + 1, l->prefix, strlen(l->prefix)) != 0)) {
            l->foreign++;
            fprintf(stderr, "test_sse: stream %s got a foreign response %s\n",
                    l->id, id_of(m));
        }
        if (l->qn < LEG_QMAX)
            l->q[l->qn++] = m;
        else
            json_object_put(m);
    }
    httpc_event_free(&ev);
    return 1;
}

/* Removes and returns (caller owns) the queued response with id id_json;
 * NULL when none. */
static json_object *
legacy_take(struct legacy *l, const char *id_json)
{
    for (size_t i = 0; i < l->qn; i++) {
        if (!is_response(l->q[i]) || strcmp(id_of(l->q[i]), id_json) != 0)
            continue;
        json_object *m = l->q[i];
        memmove(&l->q[i], &l->q[i + 1], (l->qn - i - 1) * sizeof(l->q[0]));
        l->qn--;
        return m;
    }
    return NULL;
}

/* Waits up to timeout_ms for the response with id id_json (caller owns). */
static json_object *
legacy_wait(struct legacy *l, const char *id_json, int timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    for (;;) {
        json_object *m = legacy_take(l, id_json);
        int64_t left = end - tl_now_ms();
        if (m != NULL)
            return m;
        if (left <= 0 || legacy_pump(l, (int)left) < 0)
            return legacy_take(l, id_json);
    }
}

/* Number of queued responses. */
static int
legacy_queued_responses(const struct legacy *l)
{
    int n = 0;
    for (size_t i = 0; i < l->qn; i++)
        n += is_response(l->q[i]);
    return n;
}

/* Reads whatever comes for ms_ milliseconds. */
static void
legacy_drain(struct legacy *l, int ms_)
{
    int64_t end = tl_now_ms() + ms_;
    while (tl_now_ms() < end && legacy_pump(l, (int)(end - tl_now_ms())) == 1)
        ;
}

/* POSTs body to the session (query form, or the X-Connection-ID header
 * form) with Content-Type ctype and extra header lines. Returns the HTTP
 * status; r receives the answer when not NULL (caller frees). */
static int
legacy_post_ex(struct legacy *l, const char *body, int header_form,
               const char *ctype, const char *extra, struct httpc_resp *out)
{
    char path[256], hdr[1024];
    struct httpc_resp r;
    int st;

    if (header_form) {
        snprintf(path, sizeof(path), "/mcp/message");
        snprintf(hdr, sizeof(hdr),
                 "Content-Type: %s\r\nX-Connection-ID: %s\r\n%s", ctype, l->id,
                 extra != NULL ? extra : "");
    } else {
        snprintf(path, sizeof(path), "/mcp/message?sessionId=%s", l->id);
        snprintf(hdr, sizeof(hdr), "Content-Type: %s\r\n%s", ctype,
                 extra != NULL ? extra : "");
    }
    st = http_do("POST", path, hdr, body, &r);
    l->last_post_worker = worker_of(r.headers);
    if (out != NULL)
        *out = r;
    else
        httpc_resp_free(&r);
    return st;
}

static int
legacy_post(struct legacy *l, const char *body)
{
    return legacy_post_ex(l, body, 0, "application/json", NULL, NULL);
}

/* Sends a request with the next id ("<prefix><n>", a string) and waits for
 * its response (caller owns; NULL when none came or the POST failed). */
static json_object *
legacy_rpc(struct legacy *l, const char *method, const char *params)
{
    char id[64], id_json[80];
    size_t need = strlen(method) + (params ? strlen(params) : 0) + 128;
    char *msg = malloc(need);
    json_object *m = NULL;
    int st;

    if (msg == NULL)
        return NULL;
    snprintf(id, sizeof(id), "%s%d", l->prefix, ++l->next);
    snprintf(id_json, sizeof(id_json), "\"%s\"", id);
    snprintf(msg, need,
             "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"%s\"%s%s}", id,
             method, params ? ",\"params\":" : "", params ? params : "");
    st = legacy_post(l, msg);
    if (st == 202)
        m = legacy_wait(l, id_json, ms(RPC_MS));
    else
        fprintf(stderr, "test_sse: POST %s got %d\n", method, st);
    if (m == NULL)
        fprintf(stderr, "test_sse: no answer to %s on stream %s\n", method,
                l->id);
    free(msg);
    return m;
}

#define INIT_PARAMS                                                            \
    "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"                 \
    "\"clientInfo\":{\"name\":\"test_sse\",\"version\":\"1\"}}"

/* initialize + notifications/initialized on a legacy session. */
static int
legacy_initialize(struct legacy *l)
{
    json_object *m = legacy_rpc(l, "initialize", INIT_PARAMS);
    int ok = strcmp(tl_str_at(m, "result.serverInfo.name"), "binmcpd") == 0;
    json_object_put(m);
    if (legacy_post(l, "{\"jsonrpc\":\"2.0\",\"method\":"
                       "\"notifications/initialized\"}") != 202)
        ok = 0;
    return ok ? 0 : -1;
}

/* Opens and initializes a legacy session; 0 or -1 (closed again). */
static int
legacy_session(struct legacy *l, const char *prefix)
{
    if (legacy_open(l, NULL) != 200) {
        legacy_close(l);
        return -1;
    }
    snprintf(l->prefix, sizeof(l->prefix), "%s", prefix);
    if (legacy_initialize(l) < 0) {
        legacy_close(l);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* A Streamable HTTP client                                            */

#define SH_MAXMSG 64

enum {
    SH_NO_ACCEPT = 1,  /* do not send the default Accept */
    SH_NO_CTYPE = 2,   /* do not send Content-Type: application/json */
    SH_NO_VERSION = 4, /* do not send MCP-Protocol-Version */
};

struct sh_result {
    int status;
    char headers[8192];
    int sse;                     /* the answer was text/event-stream */
    json_object *msg[SH_MAXMSG]; /* messages in order of arrival */
    char evid[SH_MAXMSG][128];   /* their SSE ids */
    size_t n;
    int first_retry; /* retry of the first block, -1 when none */
    int ended;       /* the stream ended cleanly */
    int bad;         /* data that is not JSON, events not named message */
    struct httpc_resp plain; /* a non-SSE answer */
};

static void
sh_free(struct sh_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_object_put(r->msg[i]);
    r->n = 0;
    httpc_resp_free(&r->plain);
}

/* POSTs body to /mcp with the SDK's headers (unless flags leave them out),
 * Mcp-Session-Id sid (when not NULL) and extra header lines, and reads the
 * whole answer. Returns the HTTP status (0 when none). */
static int
sh_post(const char *sid, const char *body, unsigned flags, const char *extra,
        struct sh_result *r)
{
    char hdr[2048];
    struct httpc_sse s;
    struct httpc_event ev;
    int n = 0;

    memset(r, 0, sizeof(*r));
    r->first_retry = -1;
    r->ended = -1;
    if (!(flags & SH_NO_ACCEPT))
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                      "Accept: application/json, text/event-stream\r\n");
    if (!(flags & SH_NO_CTYPE))
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                      "Content-Type: application/json\r\n");
    if (sid != NULL)
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                      "Mcp-Session-Id: %s\r\n", sid);
    if (sid != NULL && !(flags & SH_NO_VERSION))
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n,
                      "MCP-Protocol-Version: 2025-11-25\r\n");
    snprintf(hdr + n, sizeof(hdr) - (size_t)n, "%s", extra ? extra : "");
    if (httpc_sse_open(&s, dm.port, "POST", "/mcp", hdr, body, strlen(body),
                       ms(HTTP_MS)) < 0) {
        r->status = s.status;
        httpc_sse_close(&s);
        return r->status;
    }
    r->status = s.status;
    memcpy(r->headers, s.headers, sizeof(r->headers));
    r->sse = s.status == 200 &&
             header_starts(s.headers, "Content-Type", "text/event-stream");
    if (!r->sse) {
        r->plain.status = s.status;
        memcpy(r->plain.headers, s.headers, sizeof(r->plain.headers));
        r->plain.body = httpc_sse_body(&s, ms(RPC_MS));
        r->plain.body_len = r->plain.body ? strlen(r->plain.body) : 0;
        httpc_sse_close(&s);
        return r->status;
    }
    for (int i = 0;; i++) {
        int rc = httpc_sse_next(&s, &ev, ms(RPC_MS));
        if (rc != 1) {
            r->ended = rc == 0;
            break;
        }
        if (i == 0)
            r->first_retry = ev.retry_ms;
        if (ev.data[0] != '\0') {
            json_object *m = json_tokener_parse(ev.data);
            if (strcmp(ev.event, "message") != 0 ||
                strchr(ev.data, '\n') != NULL ||
                !json_object_is_type(m, json_type_object)) {
                r->bad++;
                fprintf(stderr, "test_sse: bad POST stream event %s: %.200s\n",
                        ev.event, ev.data);
            }
            if (m != NULL && r->n < SH_MAXMSG) {
                snprintf(r->evid[r->n], sizeof(r->evid[0]), "%s", ev.id);
                r->msg[r->n++] = m;
            } else {
                json_object_put(m);
            }
        }
        httpc_event_free(&ev);
    }
    httpc_sse_close(&s);
    return r->status;
}

/* The message with id id_json in r (borrowed), or NULL. */
static json_object *
sh_find(const struct sh_result *r, const char *id_json)
{
    for (size_t i = 0; i < r->n; i++)
        if (is_response(r->msg[i]) && strcmp(id_of(r->msg[i]), id_json) == 0)
            return r->msg[i];
    return NULL;
}

/* Creates a session (initialize + notifications/initialized); sid
 * receives its id. Returns 0 or -1. */
static int
sh_session(char *sid, size_t len)
{
    struct sh_result r;
    int ok;

    sh_post(NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
            "\"params\":" INIT_PARAMS "}",
            0, NULL, &r);
    ok = r.status == 200 &&
         httpc_header(r.headers, "Mcp-Session-Id", sid, len) != NULL &&
         strcmp(tl_str_at(sh_find(&r, "0"), "result.serverInfo.name"),
                "binmcpd") == 0;
    sh_free(&r);
    if (!ok)
        return -1;
    sh_post(sid,
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 0,
            NULL, &r);
    ok = r.status == 202;
    sh_free(&r);
    return ok ? 0 : -1;
}

/* Sends one request with a numeric id in a session and returns its
 * response (a deep copy the caller owns), or NULL. */
static json_object *
sh_rpc(const char *sid, int id, const char *method, const char *params,
       int *worker)
{
    size_t need = strlen(method) + (params ? strlen(params) : 0) + 128;
    char *msg = malloc(need), id_json[32];
    struct sh_result r;
    json_object *m, *copy = NULL;

    if (msg == NULL)
        return NULL;
    snprintf(msg, need, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"%s%s}",
             id, method, params ? ",\"params\":" : "", params ? params : "");
    snprintf(id_json, sizeof(id_json), "%d", id);
    sh_post(sid, msg, 0, NULL, &r);
    if (worker != NULL)
        *worker = worker_of(r.headers);
    m = sh_find(&r, id_json);
    if (m != NULL)
        json_object_deep_copy(m, &copy, NULL);
    else
        fprintf(stderr, "test_sse: %s on /mcp: status %d, no response\n",
                method, r.status);
    sh_free(&r);
    free(msg);
    return copy;
}

static int
sh_delete(const char *sid)
{
    char hdr[256];
    struct httpc_resp r;
    int st;
    snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s\r\n", sid);
    st = http_do("DELETE", "/mcp", hdr, NULL, &r);
    httpc_resp_free(&r);
    return st;
}

/* ------------------------------------------------------------------ */
/* Suite "legacy": HTTP+SSE (2024-11-05)                               */

static int
init_suite(void)
{
    return ensure_started();
}

static void
test_legacy_handshake(void)
{
    struct legacy l;
    char want[256];
    int st = legacy_open(&l, NULL);

    CU_ASSERT_EQUAL(st, 200);
    CU_ASSERT_TRUE(
        header_starts(l.s.headers, "Content-Type", "text/event-stream"));
    CU_ASSERT_TRUE(header_starts(l.s.headers, "Cache-Control", "no-cache"));
    CU_ASSERT_TRUE(valid_worker(l.s.headers));
    CU_ASSERT_TRUE(is_lower_hex(l.id, SESSION_HEX));
    /* the stream starts with a retry-only block, then the endpoint */
    CU_ASSERT_EQUAL(l.first_retry, 1000);
    snprintf(want, sizeof(want), "/mcp/message?sessionId=%s", l.id);
    CU_ASSERT_STRING_EQUAL(l.endpoint, want);
    /* then nothing but a keep-alive comment every second */
    CU_ASSERT_EQUAL(legacy_pump(&l, 2200), -1);
    CU_ASSERT_TRUE(httpc_sse_comments(&l.s) >= 2);
    CU_ASSERT_EQUAL(l.qn, 0);
    legacy_close(&l);
}

static void
test_legacy_initialize_and_list(void)
{
    struct legacy l;
    struct httpc_resp r;
    json_object *m, *o;
    const char *tools;

    CU_ASSERT_EQUAL_FATAL(legacy_open(&l, NULL), 200);
    snprintf(l.prefix, sizeof(l.prefix), "ini-");
    /* query form: 202 {"status":"accepted"}, the answer on the stream */
    CU_ASSERT_EQUAL(
        legacy_post_ex(&l,
                       "{\"jsonrpc\":\"2.0\",\"id\":\"ini-0\",\"method\":"
                       "\"initialize\",\"params\":" INIT_PARAMS "}",
                       0, "application/json", NULL, &r),
        202);
    o = body_json(&r);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "status"), "accepted");
    CU_ASSERT_TRUE(valid_worker(r.headers));
    json_object_put(o);
    httpc_resp_free(&r);
    m = legacy_wait(&l, "\"ini-0\"", ms(RPC_MS));
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.name"), "binmcpd");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           "2025-11-25");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.tools"));
    json_object_put(m);
    CU_ASSERT_EQUAL(legacy_post(&l, "{\"jsonrpc\":\"2.0\",\"method\":"
                                    "\"notifications/initialized\"}"),
                    202);
    /* header form */
    CU_ASSERT_EQUAL(legacy_post_ex(&l,
                                   "{\"jsonrpc\":\"2.0\",\"id\":\"ini-1\","
                                   "\"method\":\"tools/list\"}",
                                   1, "application/json", NULL, NULL),
                    202);
    m = legacy_wait(&l, "\"ini-1\"", ms(RPC_MS));
    tools = json_object_to_json_string(tl_get_path(m, "result.tools"));
    CU_ASSERT_TRUE(tl_len_at(m, "result.tools") >= MIN_TOOLS);
    CU_ASSERT_TRUE(tl_contains(tools, "\"get_ticker\""));
    CU_ASSERT_TRUE(tl_contains(tools, "\"get_order_book\""));
    json_object_put(m);
    /* a charset parameter on the Content-Type is fine */
    CU_ASSERT_EQUAL(legacy_post_ex(&l,
                                   "{\"jsonrpc\":\"2.0\",\"id\":\"ini-2\","
                                   "\"method\":\"ping\"}",
                                   0, "application/json; charset=utf-8", NULL,
                                   NULL),
                    202);
    m = legacy_wait(&l, "\"ini-2\"", ms(RPC_MS));
    CU_ASSERT_TRUE(
        json_object_is_type(tl_get_path(m, "result"), json_type_object));
    json_object_put(m);
    /* every message was an "event: message" with one JSON object */
    CU_ASSERT_EQUAL(l.not_message, 0);
    CU_ASSERT_EQUAL(l.bad_json, 0);
    CU_ASSERT_EQUAL(l.foreign, 0);
    legacy_close(&l);
}

static void
test_legacy_get_ticker(void)
{
    struct legacy l;
    json_object *m;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "tk-"), 0);
    t0 = tl_now_ms();
    CU_ASSERT_EQUAL(legacy_post(&l, "{\"jsonrpc\":\"2.0\",\"id\":\"tk-9\","
                                    "\"method\":\"tools/call\",\"params\":{"
                                    "\"name\":\"get_ticker\",\"arguments\":{"
                                    "\"symbol\":\"BTCUSDT\"}}}"),
                    202);
    m = legacy_wait(&l, "\"tk-9\"", ms(TICKER_MS));
    CU_ASSERT_PTR_NOT_NULL(m);
    CU_ASSERT_TRUE(tl_now_ms() - t0 <= ms(TICKER_MS));
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.symbol"),
                           "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.lastPrice"),
                           FAKEX_BTCUSDT_LAST);
    json_object_put(m);
    legacy_close(&l);
}

static void
test_legacy_progress(void)
{
    struct legacy l;
    json_object *m;
    int before = 0;

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "pg-"), 0);
    CU_ASSERT_EQUAL(
        legacy_post(&l, "{\"jsonrpc\":\"2.0\",\"id\":\"pg-9\",\"method\":"
                        "\"tools/call\",\"params\":{\"name\":\"fetch\","
                        "\"arguments\":{\"id\":\"BTCUSDT\"},\"_meta\":{"
                        "\"progressToken\":\"pg-tok\"}}}"),
        202);
    m = legacy_wait(&l, "\"pg-9\"", ms(RPC_MS));
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    json_object_put(m);
    /* what is still queued arrived before the response */
    for (size_t i = 0; i < l.qn; i++)
        if (strcmp(tl_str_at(l.q[i], "method"), "notifications/progress") ==
                0 &&
            strcmp(tl_str_at(l.q[i], "params.progressToken"), "pg-tok") == 0)
            before++;
    CU_ASSERT_TRUE(before >= 1);
    legacy_close(&l);
}

static void
test_legacy_three_streams(void)
{
    static const char *const prefixes[3] = {"A-", "B-", "C-"};
    static const char *const methods[3] = {"initialize", "ping", "tools/list"};
    struct legacy l[3];
    int ok = 1;

    for (int k = 0; k < 3; k++) {
        if (legacy_open(&l[k], NULL) != 200)
            ok = 0;
        snprintf(l[k].prefix, sizeof(l[k].prefix), "%s", prefixes[k]);
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_STRING_NOT_EQUAL(l[0].id, l[1].id);
    CU_ASSERT_STRING_NOT_EQUAL(l[0].id, l[2].id);
    CU_ASSERT_STRING_NOT_EQUAL(l[1].id, l[2].id);
    /* interleaved: request j of every stream before request j+1 */
    for (int j = 0; ok && j < 3; j++)
        for (int k = 0; k < 3; k++) {
            char msg[512];
            snprintf(msg, sizeof(msg),
                     "{\"jsonrpc\":\"2.0\",\"id\":\"%s%d\",\"method\":\"%s\""
                     "%s}",
                     prefixes[k], j, methods[j],
                     j == 0 ? ",\"params\":" INIT_PARAMS : "");
            CU_ASSERT_EQUAL(legacy_post(&l[k], msg), 202);
            if (j == 0)
                CU_ASSERT_EQUAL(legacy_post(&l[k],
                                            "{\"jsonrpc\":\"2.0\",\"method\":"
                                            "\"notifications/initialized\"}"),
                                202);
        }
    for (int k = 0; ok && k < 3; k++) {
        for (int j = 0; j < 3; j++) {
            char id[32];
            snprintf(id, sizeof(id), "\"%s%d\"", prefixes[k], j);
            json_object *m = legacy_wait(&l[k], id, ms(RPC_MS));
            CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
            json_object_put(m);
        }
    }
    for (int k = 0; k < 3; k++) {
        /* nothing else arrives: no duplicate, nothing from the others */
        legacy_drain(&l[k], STRAY_MS);
        CU_ASSERT_EQUAL(l[k].foreign, 0);
        CU_ASSERT_EQUAL(legacy_queued_responses(&l[k]), 0);
        legacy_close(&l[k]);
    }
}

static void
test_legacy_errors(void)
{
    struct legacy l;
    struct httpc_resp r;
    char path[256], hdr[256];
    const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":\"e-1\",\"method\":"
                        "\"ping\"}";

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "e-"), 0);

    /* no session id at all */
    CU_ASSERT_EQUAL(http_do("POST", "/mcp/message",
                            "Content-Type: application/json\r\n", ping, &r),
                    400);
    CU_ASSERT_TRUE(is_error_body(&r, "missing_session"));
    CU_ASSERT_TRUE(valid_worker(r.headers));
    httpc_resp_free(&r);

    /* an id that was never issued: query form, header form, garbage */
    snprintf(path, sizeof(path), "/mcp/message?sessionId=%0*d", SESSION_HEX, 0);
    CU_ASSERT_EQUAL(
        http_do("POST", path, "Content-Type: application/json\r\n", ping, &r),
        404);
    CU_ASSERT_TRUE(is_error_body(&r, "unknown_session"));
    httpc_resp_free(&r);
    snprintf(hdr, sizeof(hdr),
             "Content-Type: application/json\r\nX-Connection-ID: %0*d\r\n",
             SESSION_HEX, 1);
    CU_ASSERT_EQUAL(http_do("POST", "/mcp/message", hdr, ping, &r), 404);
    CU_ASSERT_TRUE(is_error_body(&r, "unknown_session"));
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(http_do("POST", "/mcp/message?sessionId=nonsense",
                            "Content-Type: application/json\r\n", ping, &r),
                    404);
    httpc_resp_free(&r);

    /* wrong Content-Type */
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "text/plain", NULL, &r), 415);
    CU_ASSERT_TRUE(valid_worker(r.headers));
    httpc_resp_free(&r);

    /* malformed JSON: a JSON-RPC parse error, id null */
    CU_ASSERT_EQUAL(legacy_post_ex(&l, "{\"jsonrpc\":\"2.0\",\"id\":", 0,
                                   "application/json", NULL, &r),
                    400);
    CU_ASSERT_TRUE(is_rpc_error_body(&r, -32700));
    httpc_resp_free(&r);

    /* a body over --max-body, and one just under it */
    size_t big_len = MAX_BODY + 4096, ok_len = MAX_BODY - 1024;
    char *big = malloc(big_len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    if (big == NULL)
        return;
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":\"e-big\",";
    static const char tail[] = "\"method\":\"ping\"}";
    memset(big, ' ', big_len);
    memcpy(big, head, strlen(head));
    memcpy(big + big_len - strlen(tail), tail, strlen(tail));
    big[big_len] = '\0';
    CU_ASSERT_EQUAL(legacy_post_ex(&l, big, 0, "application/json", NULL, &r),
                    413);
    httpc_resp_free(&r);
    memset(big, ' ', ok_len);
    memcpy(big, head, strlen(head));
    memcpy(big + ok_len - strlen(tail), tail, strlen(tail));
    big[ok_len] = '\0';
    CU_ASSERT_EQUAL(legacy_post(&l, big), 202);
    free(big);
    json_object *m = legacy_wait(&l, "\"e-big\"", ms(RPC_MS));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);

    /* the session survived all of it */
    m = legacy_rpc(&l, "ping", NULL);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    /* the refused POSTs produced nothing on the stream */
    legacy_drain(&l, STRAY_MS);
    CU_ASSERT_EQUAL(legacy_queued_responses(&l), 0);
    legacy_close(&l);
}

static void
test_legacy_origin(void)
{
    struct legacy l, bad;
    struct httpc_resp r;
    char own[128];
    const char ping[] = "{\"jsonrpc\":\"2.0\",\"method\":"
                        "\"notifications/initialized\"}";

    /* a foreign Origin cannot open a stream */
    CU_ASSERT_EQUAL(legacy_open(&bad, "Origin: http://evil.example\r\n"), 403);
    if (bad.open) {
        memset(&r, 0, sizeof(r));
        r.body = httpc_sse_body(&bad.s, ms(HTTP_MS));
        r.status = bad.s.status;
        memcpy(r.headers, bad.s.headers, sizeof(r.headers));
        CU_ASSERT_TRUE(is_error_body(&r, "forbidden_origin"));
        free(r.body);
    }
    legacy_close(&bad);
    /* a local one can */
    CU_ASSERT_EQUAL_FATAL(legacy_open(&l, "Origin: http://localhost:3000\r\n"),
                          200);
    CU_ASSERT_EQUAL(legacy_initialize(&l), 0);
    /* POSTs: foreign 403, local (any port), the server's own, none: OK */
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://evil.example\r\n", &r),
                    403);
    CU_ASSERT_TRUE(is_error_body(&r, "forbidden_origin"));
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://localhost.evil.example\r\n",
                                   NULL),
                    403);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://localhost:3000\r\n", NULL),
                    202);
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d\r\n", dm.port);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json", own, NULL),
                    202);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://[::1]:8080\r\n", NULL),
                    202);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: https://localhost\r\n", NULL),
                    202);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://127.0.0.1\r\n", NULL),
                    202);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://127.0.0.1.evil.example\r\n",
                                   NULL),
                    403);
    /* --allow-origin: exactly that value */
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: " EXTRA_ORIGIN "\r\n", NULL),
                    202);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: " EXTRA_ORIGIN ".evil\r\n", NULL),
                    403);
    CU_ASSERT_EQUAL(legacy_post_ex(&l, ping, 0, "application/json",
                                   "Origin: http://app.example.com\r\n", NULL),
                    403);
    CU_ASSERT_EQUAL(legacy_post(&l, ping), 202);
    legacy_close(&l);
}

static void
test_legacy_closed_stream_404(void)
{
    struct legacy l;
    struct httpc_resp r;
    char path[256];
    int st = 0;
    int64_t end;

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "cl-"), 0);
    snprintf(path, sizeof(path), "/mcp/message?sessionId=%s", l.id);
    legacy_close(&l);
    /* The server notices the close at its next write at the latest (a
     * keep-alive every second here). */
    end = tl_now_ms() + ms(NOTICE_MS);
    while (tl_now_ms() < end) {
        st = http_do("POST", path, "Content-Type: application/json\r\n",
                     "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                     "initialized\"}",
                     &r);
        if (st == 404) {
            CU_ASSERT_TRUE(is_error_body(&r, "unknown_session"));
            httpc_resp_free(&r);
            break;
        }
        httpc_resp_free(&r);
        tl_sleep_ms(100);
    }
    CU_ASSERT_EQUAL(st, 404);
}

static void
test_legacy_cross_worker(void)
{
    struct legacy l;
    int seen[N_WORKERS] = {0}, sent = 0, crossed = 0, missing = 0;
    int cross_id = -1;

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "xw-"), 0);
    CU_ASSERT_TRUE_FATAL(l.worker >= 0 && l.worker < N_WORKERS);
    /* Each POST is a new connection; the kernel picks the worker that
     * accepts it. Stop a few POSTs after the first that crossed. */
    for (int i = 0; i < XWORKER_N && crossed < 3; i++) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"xw-p%d\",\"method\":\"ping\"}",
                 i);
        if (legacy_post(&l, msg) != 202) {
            CU_FAIL("a POST to a live session was not accepted");
            break;
        }
        sent++;
        if (l.last_post_worker >= 0 && l.last_post_worker < N_WORKERS)
            seen[l.last_post_worker]++;
        if (l.last_post_worker != l.worker) {
            crossed++;
            if (cross_id < 0)
                cross_id = i;
        }
    }
    fprintf(stderr,
            "test_sse: stream on worker %d; %d POSTs, served by worker 0: %d, "
            "worker 1: %d\n",
            l.worker, sent, seen[0], seen[1]);
    if (crossed == 0) {
        fprintf(stderr,
                "test_sse: no POST out of %d reached the worker that does not "
                "own the stream: the kernel always picked worker %d\n",
                sent, l.worker);
        CU_FAIL("no POST reached the other worker");
    }
    /* every POST's answer arrives on the stream, exactly once */
    for (int i = 0; i < sent; i++) {
        char id[32];
        snprintf(id, sizeof(id), "\"xw-p%d\"", i);
        json_object *m = legacy_wait(&l, id, ms(RPC_MS));
        if (tl_get_path(m, "result") == NULL) {
            missing++;
            fprintf(stderr, "test_sse: no answer to %s%s\n", id,
                    i == cross_id ? " (the first cross-worker POST)" : "");
        }
        json_object_put(m);
    }
    CU_ASSERT_EQUAL(missing, 0);
    legacy_drain(&l, STRAY_MS);
    CU_ASSERT_EQUAL(legacy_queued_responses(&l), 0);
    CU_ASSERT_EQUAL(l.foreign, 0);
    legacy_close(&l);
}

static CU_TestInfo legacy_tests[] = {
    {"GET /mcp/sse: 200, event-stream, X-Connection-ID = endpoint's id",
     test_legacy_handshake},
    {"POST (query and header form) 202; initialize, tools/list on the stream",
     test_legacy_initialize_and_list},
    {"get_ticker answered on the stream within 2 s", test_legacy_get_ticker},
    {"progress notifications precede the response on the stream",
     test_legacy_progress},
    {"3 concurrent streams: unique ids, no response leaks",
     test_legacy_three_streams},
    {"400 / 404 / 415 / 413 / -32700; a body under the cap is accepted",
     test_legacy_errors},
    {"Origin: foreign 403; local, --allow-origin and none OK",
     test_legacy_origin},
    {"the id of a closed stream is 404", test_legacy_closed_stream_404},
    {"a POST taken by the other worker is answered on the stream once",
     test_legacy_cross_worker},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "streamable": Streamable HTTP at /mcp                         */

static char sh_sid[128];

static int
clean_streamable(void)
{
    if (sh_sid[0] != '\0')
        sh_delete(sh_sid);
    sh_sid[0] = '\0';
    return 0;
}

static void
test_sh_initialize(void)
{
    struct sh_result r;
    json_object *m;

    sh_post(NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
            "\"params\":" INIT_PARAMS "}",
            0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(r.sse);
    CU_ASSERT_TRUE(valid_worker(r.headers));
    CU_ASSERT_PTR_NOT_NULL(
        httpc_header(r.headers, "Mcp-Session-Id", sh_sid, sizeof(sh_sid)));
    CU_ASSERT_TRUE(strlen(sh_sid) > 0);
    for (const char *p = sh_sid; *p != '\0'; p++)
        CU_ASSERT_TRUE(*p >= 0x21 && *p <= 0x7e);
    CU_ASSERT_EQUAL(r.first_retry, 1000);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(r.bad, 0);
    m = sh_find(&r, "0");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           "2025-11-25");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.name"), "binmcpd");
    CU_ASSERT_TRUE(r.n > 0 && r.evid[0][0] != '\0');
    CU_ASSERT_EQUAL(r.ended, 1);
    sh_free(&r);

    /* a notification: 202, empty body */
    sh_post(sh_sid,
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 0,
            NULL, &r);
    CU_ASSERT_EQUAL(r.status, 202);
    CU_ASSERT_TRUE(r.plain.body != NULL && r.plain.body_len == 0);
    sh_free(&r);
}

static void
test_sh_tools(void)
{
    struct sh_result r;
    json_object *m;
    char first_id[128] = "";

    CU_ASSERT_TRUE_FATAL(sh_sid[0] != '\0');
    sh_post(sh_sid, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
            0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(r.sse);
    CU_ASSERT_EQUAL(r.first_retry, 1000);
    m = sh_find(&r, "1");
    CU_ASSERT_TRUE(tl_len_at(m, "result.tools") >= MIN_TOOLS);
    CU_ASSERT_EQUAL(r.ended, 1);
    if (r.n > 0)
        snprintf(first_id, sizeof(first_id), "%s", r.evid[0]);
    sh_free(&r);

    sh_post(sh_sid,
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
            "\"params\":{\"name\":\"get_ticker\",\"arguments\":{\"symbol\":"
            "\"BTCUSDT\"}}}",
            0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(r.sse);
    m = sh_find(&r, "2");
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.lastPrice"),
                           FAKEX_BTCUSDT_LAST);
    CU_ASSERT_EQUAL(r.ended, 1);
    CU_ASSERT_EQUAL(r.bad, 0);
    /* event ids are unique within the session */
    CU_ASSERT_TRUE(r.n > 0 && r.evid[0][0] != '\0');
    if (r.n > 0)
        CU_ASSERT_STRING_NOT_EQUAL(r.evid[0], first_id);
    sh_free(&r);
}

static void
test_sh_progress(void)
{
    struct sh_result r;
    size_t resp_at = SIZE_MAX;
    int progress_before = 0, after = 0;

    CU_ASSERT_TRUE_FATAL(sh_sid[0] != '\0');
    sh_post(sh_sid,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
            "\"params\":{\"name\":\"fetch\",\"arguments\":{\"id\":"
            "\"BTCUSDT\"},\"_meta\":{\"progressToken\":\"sh-p1\"}}}",
            0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    for (size_t i = 0; i < r.n; i++) {
        if (is_response(r.msg[i]) && strcmp(id_of(r.msg[i]), "3") == 0) {
            resp_at = i;
            continue;
        }
        if (strcmp(tl_str_at(r.msg[i], "method"), "notifications/progress") ==
                0 &&
            strcmp(tl_str_at(r.msg[i], "params.progressToken"), "sh-p1") == 0) {
            if (resp_at == SIZE_MAX)
                progress_before++;
            else
                after++;
        }
    }
    CU_ASSERT_TRUE(resp_at != SIZE_MAX);
    CU_ASSERT_TRUE(progress_before >= 1);
    CU_ASSERT_EQUAL(after, 0);
    /* the response is the last message, then the stream ends */
    CU_ASSERT_EQUAL(resp_at, r.n - 1);
    CU_ASSERT_FALSE(json_object_get_boolean(
        tl_get_path(resp_at < r.n ? r.msg[resp_at] : NULL, "result.isError")));
    CU_ASSERT_EQUAL(r.ended, 1);
    sh_free(&r);
}

static void
test_sh_errors(void)
{
    struct sh_result r;
    const char list[] = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":"
                        "\"tools/list\"}";
    char unknown[SESSION_HEX + 1];

    CU_ASSERT_TRUE_FATAL(sh_sid[0] != '\0');
    memset(unknown, '0', SESSION_HEX);
    unknown[SESSION_HEX] = '\0';

    /* no session */
    sh_post(NULL, list, 0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_TRUE(is_rpc_error_body(&r.plain, -32000));
    CU_ASSERT_TRUE(tl_contains(r.plain.body, "Mcp-Session-Id"));
    sh_free(&r);
    /* an unknown session */
    sh_post(unknown, list, 0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_TRUE(is_rpc_error_body(&r.plain, -32001));
    sh_free(&r);
    /* Accept without both types */
    sh_post(sh_sid, list, SH_NO_ACCEPT, "Accept: application/json\r\n", &r);
    CU_ASSERT_EQUAL(r.status, 406);
    sh_free(&r);
    sh_post(sh_sid, list, SH_NO_ACCEPT, "Accept: text/event-stream\r\n", &r);
    CU_ASSERT_EQUAL(r.status, 406);
    sh_free(&r);
    sh_post(sh_sid, list, SH_NO_ACCEPT, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 406);
    sh_free(&r);
    /* Content-Type */
    sh_post(sh_sid, list, SH_NO_CTYPE, "Content-Type: text/plain\r\n", &r);
    CU_ASSERT_EQUAL(r.status, 415);
    sh_free(&r);
    /* an unsupported protocol version; a supported older one is fine */
    sh_post(sh_sid, list, SH_NO_VERSION, "MCP-Protocol-Version: 1999-01-01\r\n",
            &r);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_TRUE(is_rpc_error_body(&r.plain, -32000));
    CU_ASSERT_TRUE(tl_contains(r.plain.body, "2025-11-25"));
    sh_free(&r);
    sh_post(sh_sid, list, SH_NO_VERSION, "MCP-Protocol-Version: 2025-03-26\r\n",
            &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(sh_find(&r, "4"), "result.tools"));
    sh_free(&r);
    /* not JSON */
    sh_post(sh_sid, "{\"jsonrpc\":", 0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    CU_ASSERT_TRUE(is_rpc_error_body(&r.plain, -32700));
    sh_free(&r);
    /* over --max-body */
    size_t big_len = MAX_BODY + 4096;
    char *big = malloc(big_len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    if (big == NULL)
        return;
    memset(big, ' ', big_len);
    memcpy(big, "{\"jsonrpc\":\"2.0\",", 17);
    memcpy(big + big_len - 16, "\"method\":\"ping\"}", 16);
    big[big_len] = '\0';
    sh_post(sh_sid, big, 0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    sh_free(&r);
    free(big);
    /* a foreign Origin */
    sh_post(sh_sid, list, 0, "Origin: http://evil.example\r\n", &r);
    CU_ASSERT_EQUAL(r.status, 403);
    sh_free(&r);
    sh_post(sh_sid, list, 0, "Origin: http://localhost:3000\r\n", &r);
    CU_ASSERT_EQUAL(r.status, 200);
    sh_free(&r);
    /* a response from the client (to nothing) is accepted like a
     * notification */
    sh_post(sh_sid, "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{}}", 0,
            NULL, &r);
    CU_ASSERT_EQUAL(r.status, 202);
    sh_free(&r);
    /* and the session lives on */
    json_object *m = sh_rpc(sh_sid, 5, "ping", NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
}

static void
test_sh_get_stream(void)
{
    struct httpc_sse s;
    struct httpc_event ev;
    struct httpc_resp r;
    char hdr[512];
    int rc;

    CU_ASSERT_TRUE_FATAL(sh_sid[0] != '\0');
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
             "MCP-Protocol-Version: 2025-11-25\r\n",
             sh_sid);
    CU_ASSERT_EQUAL_FATAL(
        httpc_sse_open(&s, dm.port, "GET", "/mcp", hdr, NULL, 0, ms(HTTP_MS)),
        0);
    CU_ASSERT_EQUAL(s.status, 200);
    CU_ASSERT_TRUE(
        header_starts(s.headers, "Content-Type", "text/event-stream"));
    CU_ASSERT_TRUE(valid_worker(s.headers));
    rc = httpc_sse_next(&s, &ev, ms(HTTP_MS));
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_EQUAL(ev.retry_ms, 1000);
    if (rc == 1)
        httpc_event_free(&ev);
    /* nothing but keep-alive comments: one per second here */
    rc = httpc_sse_next(&s, &ev, 2500);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc == 1)
        httpc_event_free(&ev);
    CU_ASSERT_TRUE(httpc_sse_comments(&s) >= 2);
    httpc_sse_close(&s);

    /* Accept without text/event-stream, no session, an unknown one */
    snprintf(hdr, sizeof(hdr),
             "Accept: application/json\r\nMcp-Session-Id: %s\r\n", sh_sid);
    CU_ASSERT_EQUAL(http_do("GET", "/mcp", hdr, NULL, &r), 406);
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(
        http_do("GET", "/mcp", "Accept: text/event-stream\r\n", NULL, &r), 400);
    httpc_resp_free(&r);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %0*d\r\n",
             SESSION_HEX, 0);
    CU_ASSERT_EQUAL(http_do("GET", "/mcp", hdr, NULL, &r), 404);
    httpc_resp_free(&r);
}

static void
test_sh_fresh_connections(void)
{
    int seen[N_WORKERS] = {0}, wrong = 0, n = 0;

    CU_ASSERT_TRUE_FATAL(sh_sid[0] != '\0');
    /* at least 30 requests, and on until both workers have served some */
    for (int i = 0; i < XWORKER_N && (i < 30 || !(seen[0] && seen[1])); i++) {
        int w = -1;
        json_object *m;
        if (i % 3 == 0) {
            m = sh_rpc(sh_sid, 100 + i, "tools/call",
                       "{\"name\":\"get_ticker\",\"arguments\":{\"symbol\":"
                       "\"BTCUSDT\"}}",
                       &w);
            if (strcmp(tl_str_at(m, "result.structuredContent.lastPrice"),
                       FAKEX_BTCUSDT_LAST) != 0)
                wrong++;
        } else {
            m = sh_rpc(sh_sid, 100 + i, "ping", NULL, &w);
            if (!json_object_is_type(tl_get_path(m, "result"),
                                     json_type_object))
                wrong++;
        }
        json_object_put(m);
        if (w >= 0 && w < N_WORKERS)
            seen[w]++;
        n++;
    }
    fprintf(stderr,
            "test_sse: %d Streamable HTTP requests: worker 0 served %d, "
            "worker 1 served %d\n",
            n, seen[0], seen[1]);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_TRUE(seen[0] > 0);
    CU_ASSERT_TRUE(seen[1] > 0);
}

static void
test_sh_delete_and_405(void)
{
    char sid[128], hdr[256];
    struct sh_result r;
    struct httpc_resp h;

    CU_ASSERT_EQUAL_FATAL(sh_session(sid, sizeof(sid)), 0);
    CU_ASSERT_EQUAL(sh_delete(sid), 200);
    sh_post(sid, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0, NULL,
            &r);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_TRUE(is_rpc_error_body(&r.plain, -32001));
    sh_free(&r);
    CU_ASSERT_EQUAL(sh_delete(sid), 404);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n", sid);
    CU_ASSERT_EQUAL(http_do("GET", "/mcp", hdr, NULL, &h), 404);
    httpc_resp_free(&h);

    /* other methods */
    CU_ASSERT_EQUAL(
        http_do("PUT", "/mcp", "Content-Type: application/json\r\n", "{}", &h),
        405);
    {
        char allow[128] = "";
        httpc_header(h.headers, "Allow", allow, sizeof(allow));
        CU_ASSERT_TRUE(tl_contains(allow, "GET"));
        CU_ASSERT_TRUE(tl_contains(allow, "POST"));
        CU_ASSERT_TRUE(tl_contains(allow, "DELETE"));
        CU_ASSERT_TRUE(valid_worker(h.headers));
    }
    httpc_resp_free(&h);
    CU_ASSERT_EQUAL(http_do("PATCH", "/mcp", NULL, NULL, &h), 405);
    httpc_resp_free(&h);
}

/* One round of resumption: a fetch whose second Binance call is slow is
 * POSTed; the client drops the connection after the first event, then
 * resumes with GET /mcp + Last-Event-ID. Returns 1 when the missed events
 * and the response came, each once, and none of what was already seen;
 * *cross is set when the GET was served by another worker than the POST. */
static int
resume_round(const char *sid, int req_id, int *cross)
{
    char hdr[512], body[512], seen[128] = "";
    struct httpc_sse s;
    struct httpc_event ev;
    int post_worker, responses = 0, repeats = 0, progress = 0, ok;

    *cross = 0;
    if (fakex_fault(&fx, "type=slow&delay_ms=700&path=/api/v3/depth&count=1") <
        0)
        return 0;
    snprintf(hdr, sizeof(hdr),
             "Accept: application/json, text/event-stream\r\n"
             "Content-Type: application/json\r\nMcp-Session-Id: %s\r\n",
             sid);
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"fetch\",\"arguments\":{\"id\":"
             "\"BTCUSDT\"},\"_meta\":{\"progressToken\":\"r%d\"}}}",
             req_id, req_id);
    if (httpc_sse_open(&s, dm.port, "POST", "/mcp", hdr, body, strlen(body),
                       ms(HTTP_MS)) < 0 ||
        s.status != 200) {
        httpc_sse_close(&s);
        return 0;
    }
    post_worker = worker_of(s.headers);
    while (seen[0] == '\0' && httpc_sse_next(&s, &ev, ms(RPC_MS)) == 1) {
        if (ev.id[0] != '\0' && ev.data[0] != '\0')
            snprintf(seen, sizeof(seen), "%s", ev.id);
        httpc_event_free(&ev);
    }
    httpc_sse_close(&s); /* the client's connection breaks here */
    if (seen[0] == '\0')
        return 0;

    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
             "Last-Event-ID: %s\r\n",
             sid, seen);
    if (httpc_sse_open(&s, dm.port, "GET", "/mcp", hdr, NULL, 0, ms(HTTP_MS)) <
            0 ||
        s.status != 200) {
        httpc_sse_close(&s);
        return 0;
    }
    *cross = worker_of(s.headers) != post_worker;
    while (httpc_sse_next(&s, &ev, ms(RPC_MS)) == 1) {
        json_object *m = json_tokener_parse(ev.data);
        if (strcmp(ev.id, seen) == 0)
            repeats++;
        if (m != NULL && is_response(m) && tl_int_at(m, "id") == req_id &&
            strcmp(tl_str_at(m, "result.structuredContent.id"), "BTCUSDT") == 0)
            responses++;
        if (m != NULL &&
            strcmp(tl_str_at(m, "method"), "notifications/progress") == 0)
            progress++;
        json_object_put(m);
        httpc_event_free(&ev);
    }
    httpc_sse_close(&s);
    ok = responses == 1 && repeats == 0;
    if (!ok)
        fprintf(stderr,
                "test_sse: resume after %s: %d responses, %d repeats, %d "
                "progress\n",
                seen, responses, repeats, progress);
    return ok;
}

static void
test_sh_resume(void)
{
    char sid[128];
    int same = 0, cross = 0;

    CU_ASSERT_EQUAL_FATAL(sh_session(sid, sizeof(sid)), 0);
    /* Rounds until a resume was served by the POST's own worker and by
     * the other one (the kernel picks the worker of each connection). */
    for (int i = 0; i < 16 && (same == 0 || cross == 0); i++) {
        int c;
        CU_ASSERT_TRUE(resume_round(sid, 100 + i, &c));
        if (c)
            cross++;
        else
            same++;
    }
    fprintf(stderr,
            "test_sse: resumed on the same worker %d times, on the "
            "other %d times\n",
            same, cross);
    CU_ASSERT_TRUE(same + cross > 0);
    fakex_reset(&fx);
    sh_delete(sid);
}

static CU_TestInfo streamable_tests[] = {
    {"initialize: 200 SSE, Mcp-Session-Id, InitializeResult; notification 202",
     test_sh_initialize},
    {"tools/list and get_ticker answered on the POST stream", test_sh_tools},
    {"progress notifications precede the response", test_sh_progress},
    {"400 / 404 / 406 / 415 / 400 version / -32700 / 413 / 403",
     test_sh_errors},
    {"GET /mcp: standalone stream with keep-alives; 406 / 400 / 404",
     test_sh_get_stream},
    {"requests on fresh connections (both workers) all answered",
     test_sh_fresh_connections},
    {"Last-Event-ID resumes a broken POST stream (same or other worker)",
     test_sh_resume},
    {"DELETE ends the session (404 after); PUT 405 with Allow",
     test_sh_delete_and_405},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "hostile": malformed messages never take a worker down        */

/* Worker restarts as /health counts them (-1 when unreadable). */
static int64_t
restarts_now(void)
{
    json_object *h = health();
    int64_t n = h != NULL ? tl_int_at(h, "worker_restarts") : -1;
    json_object_put(h);
    return n;
}

/* Messages whose method is not a string, sent by an unauthenticated
 * client and inside sessions, once to each worker at least. */
static const char *const hostile[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":91,\"method\":null}",
    "{\"jsonrpc\":\"2.0\",\"id\":92,\"method\":7}",
    "{\"jsonrpc\":\"2.0\",\"id\":93,\"method\":[\"initialize\"]}",
    "{\"jsonrpc\":\"2.0\",\"method\":null,\"params\":{\"requestId\":1,"
    "\"x\":\"notifications/cancelled\"}}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
    "\"params\":null}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
    "\"params\":[\"notifications/cancelled\"]}",
    "[{\"jsonrpc\":\"2.0\",\"id\":94,\"method\":null},"
    "{\"jsonrpc\":\"2.0\",\"method\":{\"a\":\"notifications/cancelled\"}}]",
    "{\"jsonrpc\":\"2.0\",\"id\":95,\"result\":null,\"method\":false}",
};

static void
test_hostile_streamable(void)
{
    char sid[128];
    struct sh_result r;
    int64_t before = restarts_now();

    CU_ASSERT_TRUE_FATAL(before >= 0);
    /* without a session: a clear 400, no crash */
    for (int round = 0; round < 2 * N_WORKERS; round++) {
        sh_post(NULL, hostile[0], 0, NULL, &r);
        CU_ASSERT_EQUAL(r.status, 400);
        sh_free(&r);
    }
    CU_ASSERT_EQUAL_FATAL(sh_session(sid, sizeof(sid)), 0);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
            sh_post(sid, hostile[i], 0, NULL, &r);
            CU_ASSERT_TRUE(r.status == 200 || r.status == 202);
            sh_free(&r);
        }
    }
    /* a request with a null method is answered -32600 with its id */
    sh_post(sid, hostile[0], 0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(tl_int_at(sh_find(&r, "91"), "error.code"), -32600);
    sh_free(&r);
    /* the session lives on and no worker was restarted */
    json_object *m = sh_rpc(sid, 96, "ping", NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    CU_ASSERT_EQUAL(restarts_now(), before);
    sh_delete(sid);
}

static void
test_hostile_legacy(void)
{
    struct legacy l;
    int64_t before = restarts_now();

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "H-"), 0);
    for (int round = 0; round < 2 * N_WORKERS; round++)
        for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
            CU_ASSERT_EQUAL(legacy_post(&l, hostile[i]), 202);
    json_object *m = legacy_wait(&l, "91", ms(RPC_MS));
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32600);
    json_object_put(m);
    m = legacy_rpc(&l, "ping", NULL);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    CU_ASSERT_EQUAL(restarts_now(), before);
    legacy_close(&l);
}

/* A call with the string id "a/b" held up by the fake exchange, then
 * cancelled: the session's next request is answered long before the
 * exchange would have answered (the id must match although it has a '/'). */
static void
test_cancel_slash_id_legacy(void)
{
    struct legacy l;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(legacy_session(&l, "S-"), 0);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=slow&delay_ms=2500&path=/api/v3/ticker/24hr"
                         "&count=1"),
        0);
    t0 = tl_now_ms();
    CU_ASSERT_EQUAL(
        legacy_post(&l, "{\"jsonrpc\":\"2.0\",\"id\":\"a/b\",\"method\":"
                        "\"tools/call\",\"params\":{\"name\":\"get_ticker\","
                        "\"arguments\":{\"symbol\":\"BTCUSDT\"}}}"),
        202);
    while (fakex_count(&fx, "GET", "/api/v3/ticker/24hr") < 1 &&
           tl_now_ms() - t0 < ms(2000))
        tl_sleep_ms(20);
    CU_ASSERT_EQUAL(legacy_post(&l,
                                "{\"jsonrpc\":\"2.0\",\"method\":"
                                "\"notifications/cancelled\",\"params\":{"
                                "\"requestId\":\"a/b\",\"reason\":\"test\"}}"),
                    202);
    json_object *m = legacy_rpc(&l, "ping", NULL);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    if (slow == 1)
        CU_ASSERT_TRUE(tl_now_ms() - t0 < 2300);
    /* no answer to the cancelled call */
    legacy_drain(&l, ms(STRAY_MS));
    m = legacy_take(&l, "\"a/b\"");
    CU_ASSERT_PTR_NULL(m);
    json_object_put(m);
    legacy_close(&l);
}

static void
test_cancel_slash_id_streamable(void)
{
    char sid[128], hdr[512];
    struct httpc_sse call;
    struct sh_result r;
    int64_t t0;
    const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":\"a/b\",\"method\":"
                        "\"tools/call\",\"params\":{\"name\":\"get_ticker\","
                        "\"arguments\":{\"symbol\":\"BTCUSDT\"}}}";

    CU_ASSERT_EQUAL_FATAL(sh_session(sid, sizeof(sid)), 0);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=slow&delay_ms=2500&path=/api/v3/ticker/24hr"
                         "&count=1"),
        0);
    snprintf(hdr, sizeof(hdr),
             "Accept: application/json, text/event-stream\r\n"
             "Content-Type: application/json\r\nMcp-Session-Id: %s\r\n"
             "MCP-Protocol-Version: 2025-11-25\r\n",
             sid);
    t0 = tl_now_ms();
    CU_ASSERT_EQUAL_FATAL(httpc_sse_open(&call, dm.port, "POST", "/mcp", hdr,
                                         body, strlen(body), ms(HTTP_MS)),
                          0);
    while (fakex_count(&fx, "GET", "/api/v3/ticker/24hr") < 1 &&
           tl_now_ms() - t0 < ms(2000))
        tl_sleep_ms(20);
    sh_post(sid,
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
            "\"params\":{\"requestId\":\"a/b\",\"reason\":\"test\"}}",
            0, NULL, &r);
    CU_ASSERT_EQUAL(r.status, 202);
    sh_free(&r);
    json_object *m = sh_rpc(sid, 97, "ping", NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    if (slow == 1)
        CU_ASSERT_TRUE(tl_now_ms() - t0 < 2300);
    /* the cancelled call's stream ends quietly: no result and no error for
     * "a/b" (the spec: a cancelled request gets no response) */
    struct httpc_event ev;
    int rc, answered = 0;
    while ((rc = httpc_sse_next(&call, &ev, ms(5000))) == 1) {
        if (ev.data != NULL && strstr(ev.data, "\"a/b\"") != NULL) {
            fprintf(stderr, "\n  after the cancel: %s\n", ev.data);
            answered = 1;
        }
        httpc_event_free(&ev);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_FALSE(answered);
    httpc_sse_close(&call);
    sh_delete(sid);
}

static CU_TestInfo hostile_tests[] = {
    {"Streamable HTTP: non-string methods and cancels; no worker dies",
     test_hostile_streamable},
    {"legacy SSE: the same messages; -32600 on the stream, no worker dies",
     test_hostile_legacy},
    {"legacy SSE: cancelling the string id \"a/b\" stops the call",
     test_cancel_slash_id_legacy},
    {"Streamable HTTP: cancelling the string id \"a/b\" stops the call",
     test_cancel_slash_id_streamable},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "parity": stdio, legacy SSE and Streamable HTTP agree         */

struct stdio_client {
    pid_t pid;
    int in_fd, out_fd;
    char *buf;
    size_t len, cap;
};

static int
stdio_start(struct stdio_client *c)
{
    struct bin_env e = {0};
    const char *argv[] = {tl_binmcpd_path(), "--mode", "stdio", NULL};
    char err_path[512];
    int in[2], out[2], err_fd;

    memset(c, 0, sizeof(*c));
    c->pid = -1;
    c->in_fd = c->out_fd = -1;
    bin_env_fill(&e);
    capture_path("stdio", err_path, sizeof(err_path));
    err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err_fd < 0)
        return -1;
    if (pipe2(in, O_CLOEXEC) < 0) {
        close(err_fd);
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        close(err_fd);
        return -1;
    }
    c->pid = tl_spawn(argv, e.set, in[0], out[1], err_fd, 0);
    close(in[0]);
    close(out[1]);
    close(err_fd);
    c->in_fd = in[1];
    c->out_fd = out[0];
    return c->pid > 0 ? 0 : -1;
}

/* Sends one line and waits for the response with id id_json (caller
 * owns), skipping notifications. */
static json_object *
stdio_rpc(struct stdio_client *c, const char *line, const char *id_json)
{
    int64_t end = tl_now_ms() + ms(RPC_MS);
    size_t len = strlen(line);

    if (write(c->in_fd, line, len) != (ssize_t)len ||
        write(c->in_fd, "\n", 1) != 1)
        return NULL;
    if (id_json == NULL)
        return NULL;
    for (;;) {
        char *nl;
        while ((nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL) !=
               NULL) {
            size_t ll = (size_t)(nl - c->buf);
            *nl = '\0';
            json_object *m = json_tokener_parse(c->buf);
            memmove(c->buf, nl + 1, c->len - ll - 1);
            c->len -= ll + 1;
            if (is_response(m) && strcmp(id_of(m), id_json) == 0)
                return m;
            json_object_put(m);
        }
        struct pollfd p = {c->out_fd, POLLIN, 0};
        int64_t left = end - tl_now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        if (c->cap - c->len < 65536) {
            char *nb = realloc(c->buf, c->cap + 262144);
            if (nb == NULL)
                return NULL;
            c->buf = nb;
            c->cap += 262144;
        }
        ssize_t n = read(c->out_fd, c->buf + c->len, c->cap - c->len - 1);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

static void
stdio_stop(struct stdio_client *c)
{
    int st;
    if (c->in_fd >= 0)
        close(c->in_fd);
    if (c->pid > 0)
        tl_wait_exit(c->pid, ms(HTTP_MS), &st);
    if (c->out_fd >= 0)
        close(c->out_fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->pid = -1;
    c->in_fd = c->out_fd = -1;
}

/* Removes the fake exchange's clock fields (openTime/closeTime follow its
 * wall clock, so two calls a millisecond apart differ) from an object. */
static void
strip_clock(json_object *o)
{
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_del(o, "openTime");
    json_object_object_del(o, "closeTime");
}

/* A copy of a CallToolResult (caller owns) that compares equal across
 * calls: the clock fields are dropped from structuredContent and from the
 * JSON text blocks, which are replaced by their parsed form. */
static json_object *
normalized(json_object *result)
{
    json_object *c = NULL, *content;
    if (result == NULL || json_object_deep_copy(result, &c, NULL) != 0)
        return NULL;
    strip_clock(tl_get_path(c, "structuredContent"));
    content = tl_get_path(c, "content");
    for (size_t i = 0; i < tl_len_at(c, "content"); i++) {
        json_object *item = json_object_array_get_idx(content, i);
        if (strcmp(tl_str_at(item, "type"), "text") != 0)
            continue;
        json_object *parsed = json_tokener_parse(tl_str_at(item, "text"));
        if (!json_object_is_type(parsed, json_type_object)) {
            json_object_put(parsed);
            continue;
        }
        strip_clock(parsed);
        json_object_object_add(item, "text", parsed);
    }
    return c;
}

static void
test_parity(void)
{
    static const struct {
        const char *name, *args;
    } calls[] = {
        {"get_ticker", "{\"symbol\":\"BTCUSDT\"}"},
        {"get_order_book", "{\"symbol\":\"BTCUSDT\",\"limit\":5}"},
    };
    struct stdio_client sc;
    struct legacy l;
    char sid[128];
    json_object *m;

    CU_ASSERT_EQUAL_FATAL(stdio_start(&sc), 0);
    m = stdio_rpc(&sc,
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                  "\"params\":" INIT_PARAMS "}",
                  "1");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.name"), "binmcpd");
    json_object_put(m);
    stdio_rpc(&sc,
              "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
              NULL);
    CU_ASSERT_EQUAL(legacy_session(&l, "pa-"), 0);
    CU_ASSERT_EQUAL(sh_session(sid, sizeof(sid)), 0);

    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        char params[256], line[512], id[16];
        json_object *r[3] = {NULL, NULL, NULL}, *n[3];
        snprintf(params, sizeof(params), "{\"name\":\"%s\",\"arguments\":%s}",
                 calls[i].name, calls[i].args);
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/call\","
                 "\"params\":%s}",
                 10 + i, params);
        snprintf(id, sizeof(id), "%zu", 10 + i);
        json_object *ms_ = stdio_rpc(&sc, line, id);
        json_object *ml = legacy_rpc(&l, "tools/call", params);
        json_object *mh =
            sh_rpc(sid, (int)(10 + i), "tools/call", params, NULL);
        r[0] = tl_get_path(ms_, "result");
        r[1] = tl_get_path(ml, "result");
        r[2] = tl_get_path(mh, "result");
        for (int k = 0; k < 3; k++)
            n[k] = normalized(r[k]);
        CU_ASSERT_PTR_NOT_NULL(n[0]);
        CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(n[0], "isError")));
        CU_ASSERT_TRUE(n[0] != NULL && json_object_equal(n[0], n[1]));
        CU_ASSERT_TRUE(n[0] != NULL && json_object_equal(n[0], n[2]));
        if (n[0] == NULL || !json_object_equal(n[0], n[1]) ||
            !json_object_equal(n[0], n[2]))
            fprintf(stderr,
                    "test_sse: %s differs:\n stdio: %s\n sse:   %s\n http:  "
                    "%s\n",
                    calls[i].name, json_object_to_json_string(r[0]),
                    json_object_to_json_string(r[1]),
                    json_object_to_json_string(r[2]));
        for (int k = 0; k < 3; k++)
            json_object_put(n[k]);
        json_object_put(ms_);
        json_object_put(ml);
        json_object_put(mh);
    }
    legacy_close(&l);
    sh_delete(sid);
    stdio_stop(&sc);
}

static CU_TestInfo parity_tests[] = {
    {"get_ticker and get_order_book: stdio = legacy SSE = Streamable HTTP",
     test_parity},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "health": /health, / and unknown paths                        */

static void
test_health(void)
{
    struct legacy l[2];
    char sid[128];
    json_object *h;
    struct httpc_resp r;

    /* what earlier tests closed is gone by now */
    CU_ASSERT_EQUAL(wait_sessions(0), 0);
    CU_ASSERT_EQUAL(http_do("GET", "/health", NULL, NULL, &r), 200);
    CU_ASSERT_TRUE(
        header_starts(r.headers, "Content-Type", "application/json"));
    CU_ASSERT_TRUE(valid_worker(r.headers));
    h = body_json(&r);
    httpc_resp_free(&r);
    CU_ASSERT_STRING_EQUAL(tl_str_at(h, "status"), "ok");
    CU_ASSERT_STRING_EQUAL(tl_str_at(h, "version"), PACKAGE_VERSION);
    CU_ASSERT_EQUAL(tl_int_at(h, "workers"), N_WORKERS);
    CU_ASSERT_EQUAL(tl_int_at(h, "workers_alive"), N_WORKERS);
    /* sessions are not streams: the session table has its own default
     * size; --max-connections limits open streams */
    CU_ASSERT_EQUAL(tl_int_at(h, "max_sessions"), 10000);
    CU_ASSERT_EQUAL(tl_int_at(h, "max_streams"), MAX_CONNS);
    CU_ASSERT_EQUAL(tl_int_at(h, "worker_restarts"), 0);
    CU_ASSERT_TRUE(tl_int_at(h, "uptime_s") >= 0);
    CU_ASSERT_EQUAL(tl_int_at(h, "sessions"), 0);
    json_object_put(h);

    /* two legacy streams and a Streamable HTTP session */
    CU_ASSERT_EQUAL(legacy_open(&l[0], NULL), 200);
    CU_ASSERT_EQUAL(legacy_open(&l[1], NULL), 200);
    CU_ASSERT_EQUAL(sh_session(sid, sizeof(sid)), 0);
    h = health();
    CU_ASSERT_EQUAL(tl_int_at(h, "sessions"), 3);
    json_object_put(h);
    CU_ASSERT_EQUAL(sh_delete(sid), 200);
    h = health();
    CU_ASSERT_EQUAL(tl_int_at(h, "sessions"), 2);
    json_object_put(h);
    legacy_close(&l[0]);
    legacy_close(&l[1]);
    CU_ASSERT_EQUAL(wait_sessions(0), 0);
}

static void
test_discovery(void)
{
    struct httpc_resp r;
    json_object *o;
    const char *versions;

    CU_ASSERT_EQUAL(http_do("GET", "/", NULL, NULL, &r), 200);
    CU_ASSERT_TRUE(
        header_starts(r.headers, "Content-Type", "application/json"));
    o = body_json(&r);
    httpc_resp_free(&r);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "name"), "binmcpd");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "version"), PACKAGE_VERSION);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "transports.sse"), "/mcp/sse");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "transports.message"), "/mcp/message");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "transports.streamable_http"), "/mcp");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "health"), "/health");
    versions = json_object_to_json_string(tl_get_path(o, "protocolVersions"));
    CU_ASSERT_TRUE(tl_len_at(o, "protocolVersions") >= 4);
    CU_ASSERT_TRUE(tl_contains(versions, "\"2025-11-25\""));
    CU_ASSERT_TRUE(tl_contains(versions, "\"2024-11-05\""));
    json_object_put(o);
}

static void
test_not_found(void)
{
    struct httpc_resp r;

    CU_ASSERT_EQUAL(http_do("GET", "/nope", NULL, NULL, &r), 404);
    CU_ASSERT_TRUE(is_error_body(&r, "not_found"));
    CU_ASSERT_TRUE(valid_worker(r.headers));
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(http_do("POST", "/mcp/nope",
                            "Content-Type: application/json\r\n", "{}", &r),
                    404);
    httpc_resp_free(&r);
}

static CU_TestInfo health_tests[] = {
    {"/health: workers, alive, sessions follow the test's sessions",
     test_health},
    {"/ is the discovery document", test_discovery},
    {"an unknown path is 404 not_found", test_not_found},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "capacity": --max-connections                                 */

#define FULL_SERIES                                                            \
    "binmcpd_connections_rejected_total{reason=\"max_connections\"}"

static void
test_capacity(void)
{
    static struct legacy l[MAX_CONNS + 1];
    struct legacy extra;
    struct httpc_resp r;
    struct sh_result sr;
    int opened = 0, st = 0;
    int64_t end;

    CU_ASSERT_EQUAL_FATAL(wait_sessions(0), 0);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (legacy_open(&l[i], NULL) == 200)
            opened++;
        else
            fprintf(stderr, "test_sse: stream %d of %d did not open (%d)\n",
                    i + 1, MAX_CONNS, l[i].s.status);
    }
    CU_ASSERT_EQUAL(opened, MAX_CONNS);

    /* the 51st stream and a new Streamable HTTP session: 503; the refused
     * stream is counted once, in /health and in /metrics alike */
    int64_t rejected = health_int("connections_rejected");
    double full = metrics_series(FULL_SERIES);
    st = legacy_open(&extra, NULL);
    CU_ASSERT_EQUAL(st, 503);
    CU_ASSERT_EQUAL(health_int("connections_rejected"), rejected + 1);
    CU_ASSERT_EQUAL(metrics_series(FULL_SERIES), full + 1);
    if (extra.open && st == 503) {
        char retry[32] = "";
        httpc_header(extra.s.headers, "Retry-After", retry, sizeof(retry));
        CU_ASSERT_STRING_EQUAL(retry, "5");
        memset(&r, 0, sizeof(r));
        r.status = st;
        memcpy(r.headers, extra.s.headers, sizeof(r.headers));
        r.body = httpc_sse_body(&extra.s, ms(HTTP_MS));
        CU_ASSERT_TRUE(is_error_body(&r, "max_connections"));
        free(r.body);
    }
    legacy_close(&extra);
    sh_post(NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
            "\"params\":" INIT_PARAMS "}",
            0, NULL, &sr);
    CU_ASSERT_EQUAL(sr.status, 503);
    sh_free(&sr);
    /* /health is not a session */
    json_object *h = health();
    CU_ASSERT_EQUAL(tl_int_at(h, "sessions"), MAX_CONNS);
    json_object_put(h);

    /* one stream goes away: a new one gets in once the server noticed */
    legacy_close(&l[0]);
    end = tl_now_ms() + ms(NOTICE_MS);
    st = 0;
    while (tl_now_ms() < end) {
        st = legacy_open(&extra, NULL);
        if (st == 200)
            break;
        legacy_close(&extra);
        tl_sleep_ms(100);
    }
    CU_ASSERT_EQUAL(st, 200);
    legacy_close(&extra);
    for (int i = 1; i < MAX_CONNS; i++)
        legacy_close(&l[i]);
    CU_ASSERT_EQUAL(wait_sessions(0), 0);
}

static CU_TestInfo capacity_tests[] = {
    {"50 streams open, the 51st is 503; after a close one opens again",
     test_capacity},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "shutdown": SIGTERM, then the log                             */

/* The PIDs of pid's children (at most max); returns how many. */
static int
children_of(pid_t pid, pid_t *out, int max)
{
    char path[300];
    int n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid,
             (long)pid);
    f = fopen(path, "r");
    if (f != NULL) {
        long c;
        while (n < max && fscanf(f, "%ld", &c) == 1)
            out[n++] = (pid_t)c;
        fclose(f);
        return n;
    }
    /* no CONFIG_PROC_CHILDREN: scan /proc for the parent PID */
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d != NULL && n < max && (e = readdir(d)) != NULL) {
        char buf[512], *rp;
        long ppid = 0;
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[got] = '\0';
        rp = strrchr(buf, ')');
        if (rp != NULL && sscanf(rp + 1, " %*c %ld", &ppid) == 1 &&
            ppid == (long)pid)
            out[n++] = (pid_t)atol(e->d_name);
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* The state letter of pid from /proc ('\0' when it is gone). */
static char
proc_state(pid_t pid)
{
    char path[64], buf[512], *rp, st = '\0';
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return '\0';
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    rp = strrchr(buf, ')');
    if (rp == NULL || sscanf(rp + 1, " %c", &st) != 1)
        return '\0';
    return st;
}

static void
test_sigterm(void)
{
    struct legacy l[2];
    struct httpc_sse g;
    char sid[128], hdr[512];
    pid_t kids[16];
    int nkids, st = -1, g_ok = 0;
    int64_t t0;

    CU_ASSERT_TRUE_FATAL(dm.pid > 0);
    nkids = children_of(dm.pid, kids, 16);
    CU_ASSERT_EQUAL(nkids, N_WORKERS);
    CU_ASSERT_EQUAL(legacy_session(&l[0], "t0-"), 0);
    CU_ASSERT_EQUAL(legacy_session(&l[1], "t1-"), 0);
    CU_ASSERT_EQUAL(sh_session(sid, sizeof(sid)), 0);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n", sid);
    if (httpc_sse_open(&g, dm.port, "GET", "/mcp", hdr, NULL, 0, ms(HTTP_MS)) ==
            0 &&
        g.status == 200)
        g_ok = 1;
    CU_ASSERT_TRUE(g_ok);

    t0 = tl_now_ms();
    CU_ASSERT_EQUAL_FATAL(kill(dm.pid, SIGTERM), 0);
    /* every open stream ends cleanly, the last thing on it a retry hint */
    for (int k = 0; k < 3; k++) {
        struct httpc_sse *s = k < 2 ? &l[k].s : &g;
        struct httpc_event ev;
        int rc, last_retry = -1;
        if (k == 2 && !g_ok)
            continue;
        while ((rc = httpc_sse_next(s, &ev, ms(DRAIN_S * 1000 + EXIT_GRACE))) ==
               1) {
            last_retry = ev.retry_ms;
            httpc_event_free(&ev);
        }
        if (rc != 0)
            fprintf(stderr, "test_sse: stream %d did not end cleanly\n", k);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_TRUE(last_retry >= 0);
    }
    /* the supervisor exits 0 within the drain deadline and a little */
    int rc = tl_wait_exit(dm.pid, ms(DRAIN_S * 1000 + EXIT_GRACE), &st);
    fprintf(stderr, "test_sse: daemon exited %ld ms after SIGTERM\n",
            (long)(tl_now_ms() - t0));
    dm.pid = -1;
    dm.status = st;
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* and no worker remains (a zombie handed to init goes in a moment) */
    for (int i = 0; i < nkids; i++) {
        int64_t end = tl_now_ms() + 1000;
        char state;
        while ((state = proc_state(kids[i])) != '\0' && state == 'Z' &&
               tl_now_ms() < end)
            tl_sleep_ms(20);
        if (state != '\0')
            fprintf(stderr, "test_sse: worker %ld still there (state %c)\n",
                    (long)kids[i], state);
        CU_ASSERT_EQUAL(state, '\0');
    }
    legacy_close(&l[0]);
    legacy_close(&l[1]);
    if (g_ok || g.fd >= 0)
        httpc_sse_close(&g);
}

static void
test_no_secret_in_log(void)
{
    CU_ASSERT_TRUE(n_err_files >= 1);
    for (int i = 0; i < n_err_files; i++) {
        size_t len = 0;
        char *log = tl_slurp(err_files[i], &len);
        CU_ASSERT_PTR_NOT_NULL(log);
        if (log == NULL)
            continue;
        int secret =
            memmem(log, len, TEST_SECRET_A, strlen(TEST_SECRET_A)) != NULL;
        if (secret)
            fprintf(stderr, "test_sse: the API secret is in %s\n",
                    err_files[i]);
        CU_ASSERT_FALSE(secret);
        /* keys are logged masked only */
        CU_ASSERT_PTR_NULL(memmem(log, len, TEST_KEY_A, strlen(TEST_KEY_A)));
        free(log);
    }
}

/* The captures are evidence: they stay when anything failed (make clean
 * removes them from $TESTS_BUILDDIR) and go when everything passed. */
static int
clean_shutdown(void)
{
    daemon_stop(&dm);
    if (fx_up)
        fakex_stop(&fx);
    fx_up = 0;
    if (CU_get_number_of_failures() == 0)
        for (int i = 0; i < n_err_files; i++)
            unlink(err_files[i]);
    return 0;
}

static CU_TestInfo shutdown_tests[] = {
    {"SIGTERM: streams end cleanly, exit 0 in time, no worker left",
     test_sigterm},
    {"the API secret and the full key never reach the log",
     test_no_secret_in_log},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"legacy", init_suite, NULL, NULL, NULL, legacy_tests},
    {"streamable", init_suite, clean_streamable, NULL, NULL, streamable_tests},
    {"hostile", init_suite, NULL, NULL, NULL, hostile_tests},
    {"parity", init_suite, NULL, NULL, NULL, parity_tests},
    {"health", init_suite, NULL, NULL, NULL, health_tests},
    {"capacity", init_suite, NULL, NULL, NULL, capacity_tests},
    {"shutdown", init_suite, clean_shutdown, NULL, NULL, shutdown_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    const char *vg = getenv("VG_DAEMON");
    int rc;

    /* a daemon that went away must show up as a failed write */
    signal(SIGPIPE, SIG_IGN);
    if ((vg != NULL && *vg != '\0') ||
        tl_contains(tl_binmcpd_path(), "valgrind"))
        slow = 5;
    rc = testlib_run(suites);
    /* whatever a failed suite left running */
    daemon_stop(&dm);
    if (fx_up)
        fakex_stop(&fx);
    return rc;
}
