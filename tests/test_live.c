/*
 * test_live.c - live market data end to end: the real daemon in --mode sse
 * against the fake exchange (REST and streams), its feed process started
 * by the supervisor, the order-book tools called over Streamable HTTP.
 *
 * The first call for a symbol asks the feed to track it; a later one
 * answers live (source live, websocket_connected true); after random diffs
 * get_orderbook_depth's levels equal the fake's /api/v3/depth; with the
 * feed stopped (SIGSTOP: its heartbeat goes stale) the tools answer from
 * REST and say so; kill -9 of the feed: the supervisor restarts it and the
 * tools are live again; with feed = off every answer is a REST snapshot.
 * Every wait is bounded; only this program's processes are signalled, by
 * PID.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "fakex.h"
#include "httpc.h"
#include "testlib.h"
#include "wstest.h"

#define START_MS   15000
#define HTTP_MS    10000
#define LIVE_MS    15000 /* a symbol's book goes live within */
#define PROTO      "2025-11-25"
#define FEED_COMM  "binmcpd-feed"
#define PRICE_DIGS 2 /* get_orderbook_depth's scales */
#define QTY_DIGS   5

static struct fakex fx;
static char ws_base[64];

struct daemon {
    pid_t pid;
    int port;
    char log[512];
};

static struct daemon live_d; /* with the feed */

/* ---- the daemon ---- */

/* Starts binmcpd --mode sse (two workers) against the fake, with the extra
 * arguments (NULL-terminated, may be NULL). Returns 0 or -1. */
static int
daemon_up(struct daemon *d, const char *tag, const char *const *extra)
{
    char base[160], stream[160], wsapi[192];
    /* credentials and a guard that lets test orders through: watch_market
     * watches an order's fill */
    const char *envset[] = {base,
                            stream,
                            wsapi,
                            "BINANCE_TIMEOUT_MS=3000",
                            "BINMCPD_FEED=on",
                            "BINANCE_API_KEY=" TEST_KEY_A,
                            "BINANCE_API_SECRET=" TEST_SECRET_A,
                            "BINMCPD_ORDER_CONFIRMATION=off",
                            "BINMCPD_MAX_ORDER_NOTIONAL=1000",
                            NULL};
    const char *argv[24] = {
        tl_binmcpd_path(), "--mode", "sse",       "--bind", "127.0.0.1",
        "--port",          "0",      "--workers", "2",      NULL};
    const char *dir = getenv("TESTS_BUILDDIR");
    int n = 0, fd, null_fd, st;

    while (argv[n] != NULL)
        n++;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 23; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    memset(d, 0, sizeof(*d));
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(stream, sizeof(stream), "BINANCE_STREAM_URL=%s", ws_base);
    /* the user data streams of the daemon's account: the fake's too */
    snprintf(wsapi, sizeof(wsapi), "BINANCE_WS_API_URL=%s/ws-api/v3", ws_base);
    snprintf(d->log, sizeof(d->log), "%s/test_live.%ld.%s.stderr.tmp",
             dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid(), tag);
    fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0 && null_fd >= 0)
        d->pid = tl_spawn(argv, envset, null_fd, null_fd, fd, SIGKILL);
    if (fd >= 0)
        close(fd);
    if (null_fd >= 0)
        close(null_fd);
    if (d->pid <= 0) {
        d->pid = 0;
        return -1;
    }
    d->port = tl_wait_listening(d->log, d->pid, START_MS, &st);
    if (d->port > 0)
        return 0;
    if (d->port < 0)
        d->pid = 0;
    fprintf(stderr, "test_live: the daemon did not start (see %s)\n", d->log);
    return -1;
}

/* Stops the daemon by its PID (SIGTERM, then SIGKILL after 15 s). Returns
 * whether it exited 0. */
static int
daemon_down(struct daemon *d)
{
    int st = 0, ok;

    if (d->pid <= 0)
        return 1;
    kill(d->pid, SIGTERM);
    ok = tl_wait_exit(d->pid, 15000, &st) == 0 && WIFEXITED(st) &&
         WEXITSTATUS(st) == 0;
    d->pid = 0;
    if (ok)
        unlink(d->log);
    return ok;
}

/* The supervisor's child whose /proc/PID/comm is FEED_COMM, or 0. */
static pid_t
feed_pid(const struct daemon *d)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;

    while (proc != NULL && found == 0 && (e = readdir(proc)) != NULL) {
        char path[300], buf[512], *rp;
        long pid = strtol(e->d_name, &rp, 10), ppid;
        FILE *f;
        if (*rp != '\0' || pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(buf, sizeof(buf), f) != NULL &&
            (rp = strrchr(buf, ')')) != NULL &&
            sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == d->pid &&
            strstr(buf, "(" FEED_COMM ")") != NULL)
            found = (pid_t)pid;
        fclose(f);
    }
    if (proc != NULL)
        closedir(proc);
    return found;
}

/* ---- a Streamable HTTP session ---- */

struct sess {
    int port;
    char sid[128];
    int next_id;
};

/* What else a POST's answer stream does before its answer (sess_post):
 * count the progress notifications, and once at_ms has passed call
 * at(s, id, arg) (to cancel the request, or move the fake's market). */
struct post_opts {
    int progress_token; /* send a progressToken */
    long wait_ms;       /* how much longer than HTTP_MS the answer may take */
    long at_ms;         /* -1: no at */
    void (*at)(struct sess *s, int id, void *arg);
    void *arg;
    int progress;     /* out: notifications/progress seen */
    int64_t at_done;  /* out: when at was called (0: not) */
    int64_t ended_at; /* out: when the answer came or the stream ended */
};

/* POSTs one notification (202 expected). Returns 0 or -1. */
static int
sess_notify(const struct sess *s, const char *body)
{
    char headers[512];
    struct httpc_resp r;
    int ok;

    snprintf(headers, sizeof(headers),
             "Content-Type: application/json\r\n"
             "Accept: application/json, text/event-stream\r\n"
             "Mcp-Session-Id: %s\r\nMCP-Protocol-Version: " PROTO "\r\n",
             s->sid);
    memset(&r, 0, sizeof(r));
    ok = httpc_request(s->port, "POST", "/mcp", headers, body, strlen(body),
                       HTTP_MS, &r) == 0 &&
         r.status == 202;
    httpc_resp_free(&r);
    return ok ? 0 : -1;
}

/* POSTs one message; returns the answer with id (caller puts), or NULL.
 * po (may be NULL) asks for more (struct post_opts). */
static json_object *
sess_post(struct sess *s, const char *body, int id, char *sid, size_t sidlen,
          struct post_opts *po)
{
    char headers[512], ctype[128];
    struct httpc_sse h;
    json_object *m = NULL;
    int64_t start = tl_now_ms();
    int64_t end = start + HTTP_MS + (po != NULL ? po->wait_ms : 0);

    snprintf(headers, sizeof(headers),
             "Content-Type: application/json\r\n"
             "Accept: application/json, text/event-stream\r\n"
             "%s%s%s",
             s->sid[0] != '\0' ? "Mcp-Session-Id: " : "", s->sid,
             s->sid[0] != '\0' ? "\r\nMCP-Protocol-Version: " PROTO "\r\n"
                               : "");
    if (httpc_sse_open(&h, s->port, "POST", "/mcp", headers, body, strlen(body),
                       HTTP_MS) < 0 ||
        h.status != 200) {
        fprintf(stderr, "test_live: POST /mcp: status %d\n", h.status);
        httpc_sse_close(&h);
        return NULL;
    }
    if (sid != NULL &&
        httpc_header(h.headers, "Mcp-Session-Id", sid, sidlen) == NULL)
        sid[0] = '\0';
    if (httpc_header(h.headers, "Content-Type", ctype, sizeof(ctype)) != NULL &&
        strstr(ctype, "application/json") != NULL) {
        char *text = httpc_sse_body(&h, HTTP_MS);
        m = text != NULL ? json_tokener_parse(text) : NULL;
        free(text);
    }
    while (m == NULL && tl_now_ms() < end) {
        struct httpc_event ev;
        int64_t until = end;
        int got;
        if (po != NULL && po->at != NULL && po->at_done == 0 &&
            start + po->at_ms < until)
            until = start + po->at_ms;
        got = httpc_sse_next(&h, &ev, (int)(until - tl_now_ms()));
        if (got < 0 && po != NULL && until < end && po->at_done == 0 &&
            tl_now_ms() >= until) {
            po->at(s, id, po->arg);
            po->at_done = tl_now_ms();
            continue;
        }
        if (got != 1)
            break;
        m = ev.data != NULL ? json_tokener_parse(ev.data) : NULL;
        httpc_event_free(&ev);
        if (m != NULL && po != NULL &&
            strcmp(tl_str_at(m, "method"), "notifications/progress") == 0)
            po->progress++;
        if (m != NULL && tl_int_at(m, "id") != id) {
            json_object_put(m);
            m = NULL;
        }
    }
    if (po != NULL)
        po->ended_at = tl_now_ms();
    httpc_sse_close(&h);
    return m;
}

/* initialize and notifications/initialized. Returns 0 or -1. */
static int
sess_open(struct sess *s, int port)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"" PROTO "\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"test_live\",\"version\":\"1\"}}}";
    static const char inited[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    char sid[128];
    json_object *m;
    int ok;

    memset(s, 0, sizeof(*s));
    s->port = port;
    s->next_id = 1;
    m = sess_post(s, init, 0, sid, sizeof(sid), NULL);
    ok = m != NULL && tl_get_path(m, "result.protocolVersion") != NULL &&
         sid[0] != '\0';
    json_object_put(m);
    if (!ok)
        return -1;
    snprintf(s->sid, sizeof(s->sid), "%s", sid);
    return sess_notify(s, inited);
}

/* tools/call name with args (JSON text), with po (may be NULL: struct
 * post_opts); returns the whole answer (caller puts), or NULL. */
static json_object *
call_tool_msg(struct sess *s, const char *name, const char *args,
              struct post_opts *po)
{
    char body[1024];
    int id = s->next_id++;

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"%s\",\"arguments\":%s%s}}",
             id, name, args,
             po != NULL && po->progress_token
                 ? ",\"_meta\":{\"progressToken\":\"watch\"}"
                 : "");
    return sess_post(s, body, id, NULL, 0, po);
}

/* tools/call name with args (JSON text), with po (may be NULL); returns
 * result.structuredContent of a successful call as a new reference, or
 * NULL (printed). */
static json_object *
call_tool_po(struct sess *s, const char *name, const char *args,
             struct post_opts *po)
{
    json_object *m = call_tool_msg(s, name, args, po), *sc = NULL;

    if (m != NULL && !json_object_get_boolean(tl_get_path(m, "result.isError")))
        sc = json_object_get(tl_get_path(m, "result.structuredContent"));
    if (sc == NULL)
        fprintf(stderr, "test_live: %s: %s\n", name,
                m != NULL ? json_object_to_json_string(m) : "no answer");
    json_object_put(m);
    return sc;
}

static json_object *
call_tool(struct sess *s, const char *name, const char *args)
{
    return call_tool_po(s, name, args, NULL);
}

static int
is_live(json_object *sc)
{
    return sc != NULL && strcmp(tl_str_at(sc, "source"), "live") == 0;
}

/* Calls tool until it answers live or timeout_ms passes; returns the last
 * answer (caller puts), or NULL when a call failed. */
static json_object *
call_until_live(struct sess *s, const char *tool, const char *args,
                long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    json_object *sc;

    for (;;) {
        sc = call_tool(s, tool, args);
        if (sc == NULL || is_live(sc) || tl_now_ms() >= end)
            return sc;
        json_object_put(sc);
        tl_sleep_ms(200);
    }
}

/* Opens a session on the daemon with the feed and calls tool with args
 * until it answers live. Returns 0, or -1 when it did not within LIVE_MS. */
static int
sess_open_live(struct sess *s, const char *tool, const char *args)
{
    json_object *sc;
    int live;

    if (sess_open(s, live_d.port) < 0)
        return -1;
    sc = call_until_live(s, tool, args, LIVE_MS);
    live = is_live(sc);
    json_object_put(sc);
    return live ? 0 : -1;
}

/* ---- comparing with the fake's book ---- */

/* text (a decimal) times 10^digits, truncated; -1 when unreadable. */
static long long
scaled(const char *text, int digits)
{
    long long v = 0;
    int frac = -1;

    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '.') {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            return -1;
        if (frac >= digits)
            continue;
        v = v * 10 + (*p - '0');
        if (frac >= 0)
            frac++;
    }
    for (int i = frac < 0 ? 0 : frac; i < digits; i++)
        v *= 10;
    return v;
}

/* Whether get_orderbook_depth's levels (sc) are the fake's top 100, with
 * the tool's rule (levels whose scaled price or qty is 0 left out). */
static int
depth_equals_fake(json_object *sc, const char *symbol)
{
    static char body[1 << 18];
    static const char *const sides[] = {"bids", "asks"};
    char path[128];
    json_object *o;
    int same = 1;

    snprintf(path, sizeof(path), "/api/v3/depth?symbol=%s&limit=100", symbol);
    if (fakex_http(&fx, "GET", path, body, sizeof(body)) != 200 ||
        (o = json_tokener_parse(body)) == NULL)
        return 0;
    for (int k = 0; k < 2 && same; k++) {
        json_object *want = tl_get_path(o, sides[k]);
        json_object *got = tl_get_path(sc, sides[k]);
        size_t n = json_object_array_length(want), j = 0;
        for (size_t i = 0; i < n && same; i++) {
            json_object *l = json_object_array_get_idx(want, i);
            long long p = scaled(json_object_get_string(
                                     json_object_array_get_idx(l, 0)),
                                 PRICE_DIGS),
                      q = scaled(json_object_get_string(
                                     json_object_array_get_idx(l, 1)),
                                 QTY_DIGS);
            json_object *g = json_object_array_get_idx(got, j++);
            if (p <= 0 || q <= 0) {
                j--;
                continue;
            }
            same =
                g != NULL &&
                json_object_get_int64(json_object_array_get_idx(g, 0)) == p &&
                json_object_get_int64(json_object_array_get_idx(g, 1)) == q;
        }
        same = same && j == json_object_array_length(got);
    }
    json_object_put(o);
    return same;
}

/* ---- suite ---- */

static int
suite_init(void)
{
    if (wstest_start(&fx, ws_base, sizeof(ws_base)) < 0)
        return -1;
    return daemon_up(&live_d, "feed", NULL);
}

static int
suite_clean(void)
{
    int ok = daemon_down(&live_d);

    fakex_stop(&fx);
    return ok ? 0 : -1;
}

/* ---- the tests ---- */

static void
test_first_call_then_live(void)
{
    struct sess s;
    json_object *sc;
    int64_t t0 = tl_now_ms();

    CU_ASSERT_EQUAL_FATAL(sess_open(&s, live_d.port), 0);
    CU_ASSERT_NOT_EQUAL(feed_pid(&live_d), 0);
    /* the first call asks the feed to track ETHBTC; it may answer by REST */
    sc = call_tool(&s, "get_orderbook_depth", "{\"symbol\":\"ETHBTC\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    if (!is_live(sc)) {
        CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "rest_snapshot");
        CU_ASSERT_FALSE(
            json_object_get_boolean(tl_get_path(sc, "websocket_connected")));
        CU_ASSERT(strlen(tl_str_at(sc, "fallback_reason")) > 0);
    }
    json_object_put(sc);
    sc = call_until_live(&s, "get_orderbook_metrics", "{\"symbol\":\"ETHBTC\"}",
                         LIVE_MS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    fprintf(stderr, "test_live: ETHBTC live after %lld ms\n",
            (long long)(tl_now_ms() - t0));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "live");
    CU_ASSERT_TRUE(
        json_object_get_boolean(tl_get_path(sc, "websocket_connected")));
    CU_ASSERT(tl_get_path(sc, "book_age_ms") != NULL);
    CU_ASSERT(tl_get_path(sc, "update_rate_per_s") != NULL);
    CU_ASSERT_EQUAL(tl_int_at(sc, "resync_count"), 0);
    CU_ASSERT_PTR_NULL(tl_get_path(sc, "fallback_reason"));
    CU_ASSERT(strlen(tl_str_at(sc, "best_bid")) > 0);
    json_object_put(sc);
    /* health sees the feed's books */
    sc = call_tool(&s, "get_orderbook_health", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "live");
    CU_ASSERT_TRUE(
        json_object_get_boolean(tl_get_path(sc, "websocket_connected")));
    CU_ASSERT(tl_int_at(sc, "orderbook_symbols_active") >= 1);
    json_object_put(sc);
}

static void
test_random_diffs_equal_fake(void)
{
    struct sess s;
    json_object *sc = NULL;
    int64_t end;
    int equal = 0;
    const char *args = "{\"symbol\":\"BTCUSDT\",\"levels\":100}";

    CU_ASSERT_EQUAL_FATAL(sess_open_live(&s, "get_orderbook_depth", args), 0);
    CU_ASSERT_EQUAL_FATAL(wstest_post(&fx, "/__fake/stream/random?symbol="
                                           "BTCUSDT&n=2000&rate=2000&seed=11"
                                           "&changes=8"),
                          200);
    /* the feed catches up with the diffs: then the levels are the fake's */
    end = tl_now_ms() + 20000;
    while (!equal && tl_now_ms() < end) {
        tl_sleep_ms(300);
        sc = call_tool(&s, "get_orderbook_depth", args);
        equal = is_live(sc) && depth_equals_fake(sc, "BTCUSDT");
        json_object_put(sc);
    }
    CU_ASSERT_TRUE(equal);
}

/* /metrics' value of name (a plain counter or gauge), or -1. */
static long
metric(int port, const char *name)
{
    struct httpc_resp r;
    char key[128];
    const char *p;
    long v = -1;

    memset(&r, 0, sizeof(r));
    snprintf(key, sizeof(key), "\n%s ", name);
    if (httpc_request(port, "GET", "/metrics", NULL, NULL, 0, HTTP_MS, &r) ==
            0 &&
        r.body != NULL && (p = strstr(r.body, key)) != NULL)
        v = strtol(p + strlen(key), NULL, 10);
    httpc_resp_free(&r);
    return v;
}

static void
test_feed_killed(void)
{
    struct sess s;
    json_object *sc;
    pid_t old, now_pid = 0;
    int64_t end;
    const char *args = "{\"symbol\":\"BTCUSDT\"}";

    CU_ASSERT_EQUAL_FATAL(sess_open(&s, live_d.port), 0);
    sc = call_until_live(&s, "get_orderbook_metrics", args, LIVE_MS);
    CU_ASSERT_FATAL(is_live(sc));
    json_object_put(sc);
    CU_ASSERT_EQUAL(metric(live_d.port, "binmcpd_feed_connected"), 1);
    CU_ASSERT_EQUAL(metric(live_d.port, "binmcpd_feed_restarts_total"), 0);
    old = feed_pid(&live_d);
    CU_ASSERT_FATAL(old > 0);

    /* a feed that stopped running: its heartbeat goes stale, the tools
     * answer from REST and say why */
    CU_ASSERT_EQUAL_FATAL(kill(old, SIGSTOP), 0);
    tl_sleep_ms(6000);
    sc = call_tool(&s, "get_orderbook_metrics", args);
    CU_ASSERT_PTR_NOT_NULL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "rest_snapshot");
    CU_ASSERT_FALSE(
        json_object_get_boolean(tl_get_path(sc, "websocket_connected")));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(tl_str_at(sc, "fallback_reason"), "not running"));
    json_object_put(sc);
    sc = call_tool(&s, "get_orderbook_health", "{}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "rest_snapshot");
    json_object_put(sc);

    /* kill -9: the supervisor forks another feed; the tools answer all
     * along, and live again once the book is rebuilt */
    CU_ASSERT_EQUAL(kill(old, SIGKILL), 0);
    end = tl_now_ms() + 10000;
    while (tl_now_ms() < end &&
           ((now_pid = feed_pid(&live_d)) == 0 || now_pid == old)) {
        sc = call_tool(&s, "get_orderbook_depth", args);
        CU_ASSERT_PTR_NOT_NULL(sc);
        json_object_put(sc);
        tl_sleep_ms(100);
    }
    CU_ASSERT(now_pid > 0 && now_pid != old);
    sc = call_until_live(&s, "get_orderbook_metrics", args, LIVE_MS);
    CU_ASSERT(is_live(sc));
    json_object_put(sc);
    CU_ASSERT_EQUAL(metric(live_d.port, "binmcpd_feed_restarts_total"), 1);
    CU_ASSERT_EQUAL(metric(live_d.port, "binmcpd_feed_connected"), 1);
    CU_ASSERT(metric(live_d.port, "binmcpd_feed_tracked_symbols") >= 1);
    CU_ASSERT_EQUAL(metric(live_d.port, "binmcpd_worker_restarts_total"), 0);
}

static void
test_feed_off(void)
{
    static const char *const off[] = {"--feed", "off", NULL};
    struct daemon d;
    struct sess s;
    json_object *sc;

    CU_ASSERT_EQUAL_FATAL(daemon_up(&d, "off", off), 0);
    CU_ASSERT_EQUAL(feed_pid(&d), 0);
    CU_ASSERT_EQUAL(sess_open(&s, d.port), 0);
    for (int i = 0; i < 2; i++) { /* the second call is no different */
        sc = call_tool(&s, "get_orderbook_depth", "{\"symbol\":\"BTCUSDT\"}");
        CU_ASSERT_PTR_NOT_NULL(sc);
        CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "rest_snapshot");
        CU_ASSERT_PTR_NOT_NULL(
            strstr(tl_str_at(sc, "fallback_reason"), "feed = off"));
        json_object_put(sc);
        tl_sleep_ms(500);
    }
    sc = call_tool(&s, "get_orderbook_health", "{}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "rest_snapshot");
    CU_ASSERT_FALSE(
        json_object_get_boolean(tl_get_path(sc, "websocket_connected")));
    json_object_put(sc);
    CU_ASSERT_EQUAL(metric(d.port, "binmcpd_feed_connected"), -1);
    CU_ASSERT_TRUE(daemon_down(&d));
}

/* ---- watch_market ---- */

#define WATCH_SYM "BNBUSDT" /* no other test moves its book */


/* post_opts.at: the best bid rises to 600.02 (the asks at and below it
 * go), so that a best bid at or above 600.02 holds. */
static void
raise_bid(struct sess *s, int id, void *arg)
{
    (void)s;
    (void)id;
    (void)arg;
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=" WATCH_SYM
                                     "&side=ask&price=600.01&qty=0"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=" WATCH_SYM
                                     "&side=ask&price=600.02&qty=0"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=" WATCH_SYM
                                     "&side=bid&price=600.02&qty=1"),
                    200);
}

/* post_opts.at: notifications/cancelled for request id. */
static void
cancel_request(struct sess *s, int id, void *arg)
{
    char body[256];

    (void)arg;
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
             "\"params\":{\"requestId\":%d,\"reason\":\"test\"}}",
             id);
    CU_ASSERT_EQUAL(sess_notify(s, body), 0);
}

/* post_opts.at: fills the order whose id arg points at. */
static void
fill_order(struct sess *s, int id, void *arg)
{
    char path[96];

    (void)s;
    (void)id;
    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld",
             *(long long *)arg);
    CU_ASSERT_EQUAL(fakex_http(&fx, "POST", path, NULL, 0), 200);
}

static void
test_watch_live_and_crossing(void)
{
    struct sess s;
    struct post_opts po = {.wait_ms = 10000, .at_ms = 1000, .at = raise_bid};
    json_object *sc;

    CU_ASSERT_EQUAL_FATAL(sess_open(&s, live_d.port), 0);
    sc = call_until_live(&s, "watch_market", "{\"symbol\":\"bnbusdt\"}",
                         LIVE_MS);
    CU_ASSERT_FATAL(is_live(sc));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "best_bid"), "599.99");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "best_ask"), "600.01");
    CU_ASSERT(tl_get_path(sc, "book_age_ms") != NULL);
    CU_ASSERT(tl_get_path(sc, "spread_bps") != NULL);
    CU_ASSERT_PTR_NULL(tl_get_path(sc, "fallback_reason"));
    CU_ASSERT_PTR_NULL(tl_get_path(sc, "condition"));
    json_object_put(sc);
    /* not yet: the best bid is 599.99 */
    sc = call_tool(&s, "watch_market",
                   "{\"symbol\":\"BNBUSDT\",\"condition\":\"price_above\","
                   "\"level\":\"600.02\"}");
    CU_ASSERT_FATAL(sc != NULL);
    CU_ASSERT_FALSE(tl_bool_at(sc, "condition.met"));
    json_object_put(sc);
    /* the book moves while the call waits */
    sc = call_tool_po(&s, "watch_market",
                      "{\"symbol\":\"BNBUSDT\",\"condition\":\"price_above\","
                      "\"level\":\"600.02\",\"timeout_s\":10}",
                      &po);
    CU_ASSERT_FATAL(sc != NULL);
    CU_ASSERT(po.at_done > 0);
    CU_ASSERT_TRUE(tl_bool_at(sc, "condition.met"));
    CU_ASSERT_FALSE(tl_bool_at(sc, "condition.timed_out"));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "live");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "best_bid"), "600.02");
    CU_ASSERT(tl_int_at(sc, "condition.waited_ms") >= 1000);
    /* met soon after the change (loose bounds: CI runs this daemon under
     * valgrind) */
    CU_ASSERT(po.ended_at - po.at_done < 4000);
    json_object_put(sc);
}

static void
test_watch_timeout(void)
{
    struct sess s;
    struct post_opts po = {.wait_ms = 5000, .at_ms = -1};
    json_object *sc;

    CU_ASSERT_EQUAL_FATAL(sess_open(&s, live_d.port), 0);
    sc = call_tool_po(&s, "watch_market",
                      "{\"symbol\":\"BNBUSDT\",\"condition\":"
                      "\"spread_above_bps\",\"bps\":1000,\"timeout_s\":2}",
                      &po);
    CU_ASSERT_FATAL(sc != NULL);
    CU_ASSERT_FALSE(tl_bool_at(sc, "condition.met"));
    CU_ASSERT_TRUE(tl_bool_at(sc, "condition.timed_out"));
    CU_ASSERT(tl_int_at(sc, "condition.waited_ms") >= 2000 &&
              tl_int_at(sc, "condition.waited_ms") < 4000);
    json_object_put(sc);
    /* a condition without its parameter is a tool error */
    sc = call_tool_msg(&s, "watch_market",
                       "{\"symbol\":\"BNBUSDT\",\"condition\":\"price_below\"}",
                       NULL);
    CU_ASSERT_TRUE(tl_bool_at(sc, "result.isError"));
    json_object_put(sc);
}

static void
test_watch_progress_cancel(void)
{
    struct sess s;
    struct post_opts po = {.progress_token = 1,
                           .wait_ms = 10000,
                           .at_ms = 6500,
                           .at = cancel_request};
    json_object *m;

    CU_ASSERT_EQUAL_FATAL(sess_open(&s, live_d.port), 0);
    m = call_tool_msg(&s, "watch_market",
                      "{\"symbol\":\"BNBUSDT\",\"condition\":\"price_below\","
                      "\"level\":\"1\",\"timeout_s\":60}",
                      &po);
    CU_ASSERT(po.at_done > 0);
    CU_ASSERT_EQUAL(po.progress, 1); /* at 5 s */
    /* the wait ends at once: the stream closes or says there is no
     * answer; never the watch's own result */
    CU_ASSERT(po.ended_at - po.at_done < 3000);
    CU_ASSERT_PTR_NULL(tl_get_path(m, "result.structuredContent"));
    json_object_put(m);
    /* the engine saw the cancellation (its log says so) */
    char *log = tl_slurp(live_d.log, NULL);
    CU_ASSERT_PTR_NOT_NULL(log != NULL ? strstr(log, "was cancelled") : NULL);
    free(log);
}

static void
test_watch_order_filled(void)
{
    struct sess s;
    long long id;
    char args[256];
    struct post_opts po = {
        .wait_ms = 10000, .at_ms = 1000, .at = fill_order, .arg = &id};
    json_object *sc;

    CU_ASSERT_EQUAL_FATAL(sess_open(&s, live_d.port), 0);
    sc = call_tool(&s, "place_order",
                   "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                   "\"LIMIT\",\"quantity\":\"0.001\",\"price\":\"40000\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    id = tl_int_at(sc, "orderId");
    json_object_put(sc);
    snprintf(args, sizeof(args),
             "{\"symbol\":\"BTCUSDT\",\"condition\":\"order_filled\","
             "\"order_id\":%lld,\"timeout_s\":10}",
             id);
    sc = call_tool_po(&s, "watch_market", args, &po);
    CU_ASSERT_FATAL(sc != NULL);
    CU_ASSERT_TRUE(tl_bool_at(sc, "condition.met"));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "condition.order.status"), "FILLED");
    CU_ASSERT(tl_int_at(sc, "condition.waited_ms") < 9000);
    json_object_put(sc);
}

/* ---- analytics from the real feed ---- */

/* get_order_flow on the feed's aggTrade ring: two trades the fake streams,
 * a taker sell of 0.25 and a taker buy of 1.5, read back exactly. */
static void
test_order_flow_live(void)
{
    struct sess s;
    json_object *sc;
    const char *args = "{\"symbol\":\"ETHUSDT\",\"time_window_secs\":60}";
    int64_t end;
    int done = 0;

    static const char *const trades[] = {
        "price=3000.5&qty=0.25&buyer_maker=true", "price=3001&qty=1.5"};

    CU_ASSERT_EQUAL_FATAL(
        sess_open_live(&s, "get_orderbook_metrics", "{\"symbol\":\"ETHUSDT\"}"),
        0);
    for (size_t i = 0; i < sizeof(trades) / sizeof(trades[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/__fake/stream/trade?symbol=ETHUSDT&%s",
                 trades[i]);
        CU_ASSERT_EQUAL(wstest_post(&fx, path), 200);
    }
    end = tl_now_ms() + 10000;
    while (!done && tl_now_ms() < end) {
        sc = call_tool(&s, "get_order_flow", args);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        done = tl_int_at(sc, "coverage.count") >= 2;
        if (!done) {
            json_object_put(sc);
            tl_sleep_ms(200);
        }
    }
    CU_ASSERT_FATAL(done);
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(sc, "live")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "buy_volume"), "1.5");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "sell_volume"), "0.25");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "net_flow"), "1.25");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "direction"), "STRONG_BUY");
    CU_ASSERT(tl_get_path(sc, "coverage.fraction") != NULL);
    json_object_put(sc);
}

static CU_TestInfo live_tests[] = {
    {"first call asks the feed, a later one is live",
     test_first_call_then_live},
    {"after random diffs the depth tool's levels are the fake's",
     test_random_diffs_equal_fake},
    {"watch_market: live state; met when the book crosses the level",
     test_watch_live_and_crossing},
    {"watch_market: timed out; a missing parameter", test_watch_timeout},
    {"watch_market: progress every 5 s; cancelled promptly",
     test_watch_progress_cancel},
    {"watch_market: order_filled once the order fills",
     test_watch_order_filled},
    {"feed stopped, then kill -9: REST meanwhile, restarted, live again",
     test_feed_killed},
    {"get_order_flow reads the feed's trades", test_order_flow_live},
    {"feed = off: REST snapshots, said so", test_feed_off},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"live", suite_init, suite_clean, NULL, NULL, live_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
