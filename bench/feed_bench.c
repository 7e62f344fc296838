/*
 * feed_bench.c - the client side of bench/feed.sh, the live-data benchmark
 * (a benchmark, not a test: make check never runs it).
 *
 *   feed_bench track -p PORT -s SYM,SYM,... [-b BUSY] [-n CALLS]
 *       One legacy SSE session to binmcpd on 127.0.0.1:PORT: calls
 *       get_orderbook_depth for every symbol, round after round, until each
 *       answers with source "live" (so the feed tracks them all), then
 *       CALLS sequential get_orderbook_depth calls on BUSY (a symbol
 *       streaming at full rate): the tool round trip, p50/p99/max.
 *
 *   feed_bench push -p PORT -f FAKEX_PORT -s PROBE [-n PROBES] [-i MS]
 *                   [-w MS]
 *       One legacy session subscribes to binance://market/PROBE
 *       (resources/subscribe), then every MS milliseconds asks the fake
 *       exchange for a probe event on PROBE (POST /__fake/stream/probe,
 *       which answers the wall-clock time it queued the event) and records
 *       the wall-clock arrival of each notifications/resources/updated for
 *       that URI on the session's stream. The first notification after a
 *       probe is that probe's; its latency is arrival - sentUs. Gives up
 *       after -w MS (default 6000) without any notification.
 *
 *   feed_bench read [-n SLOTS] [-w WRITES_PER_S] [-t SECONDS] [-o]
 *       The market segment alone (src/binance/market.c, no daemon):
 *       market_create(SLOTS), prints market_size; a forked writer publishes
 *       full 100-level books into every slot in turn at WRITES_PER_S in all
 *       (as the feed's publish_book does; -o: all of them into slot 0),
 *       while this process times market_read of slot 0 (what a worker's
 *       tool does), one read every 2 us: p50/p99/max. The time includes
 *       one clock_gettime (some 20 ns).
 *
 * Results go to stdout as key=value lines that feed.sh reads. Every phase
 * has a deadline; only 127.0.0.1 is contacted, and only the writer this
 * program forked is stopped (by its PID).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"
#include "market.h"

#define HTTP_TIMEOUT_MS   5000
#define RPC_TIMEOUT_MS    10000
#define TRACK_DEADLINE_MS 240000 /* snapshots: 24 a minute fit the budget */
#define MAX_SYMBOLS       256
#define MAX_CALLS         100000
#define MAX_PROBES        1000
#define READ_MAX_S        60
#define READ_EVERY_US     2

static int64_t
mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_ms(void)
{
    return mono_us() / 1000;
}

static int64_t
wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n sorted values; -1 when n is 0. */
static int64_t
quantile(const int64_t *v, size_t n, double q)
{
    size_t i;
    if (n == 0)
        return -1;
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* Sorts v and prints prefix_p50/p99/max in scale units (1e3: us -> ms). */
static void
print_quantiles(const char *prefix, int64_t *v, size_t n, double scale,
                const char *unit)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    printf("%s_p50_%s=%.3f\n", prefix, unit,
           (double)quantile(v, n, 0.5) / scale);
    printf("%s_p99_%s=%.3f\n", prefix, unit,
           (double)quantile(v, n, 0.99) / scale);
    printf("%s_max_%s=%.3f\n", prefix, unit,
           (double)quantile(v, n, 1.0) / scale);
}

/* ------------------------------------------------------------------ */
/* A blocking legacy session on tests/httpc.c (as bench/sse_streams.c)  */

struct session {
    struct httpc_sse s;
    int open;
    int next_id;
    char endpoint[256];
};

static void
session_close(struct session *ss)
{
    if (ss->open)
        httpc_sse_close(&ss->s);
    ss->open = 0;
}

/* GET /mcp/sse and its endpoint event. Returns 0 or -1. */
static int
session_open(struct session *ss, int port)
{
    int64_t end = mono_ms() + HTTP_TIMEOUT_MS;

    memset(ss, 0, sizeof(*ss));
    ss->next_id = 1;
    if (httpc_sse_open(&ss->s, port, "GET", "/mcp/sse", NULL, NULL, 0,
                       HTTP_TIMEOUT_MS) < 0)
        return -1;
    ss->open = 1;
    if (ss->s.status != 200) {
        session_close(ss);
        return -1;
    }
    for (;;) {
        struct httpc_event ev;
        int64_t left = end - mono_ms();
        memset(&ev, 0, sizeof(ev));
        if (httpc_sse_next(&ss->s, &ev, left > 0 ? (int)left : 0) != 1) {
            session_close(ss);
            return -1;
        }
        if (strcmp(ev.event, "endpoint") == 0 && ev.data != NULL) {
            snprintf(ss->endpoint, sizeof(ss->endpoint), "%s", ev.data);
            httpc_event_free(&ev);
            return 0;
        }
        httpc_event_free(&ev);
    }
}

/* Posts body to the session's endpoint; returns the HTTP status. */
static int
session_post(struct session *ss, int port, const char *body)
{
    struct httpc_resp r;
    int status;

    memset(&r, 0, sizeof(r));
    httpc_request(port, "POST", ss->endpoint,
                  "Content-Type: application/json\r\n", body, strlen(body),
                  HTTP_TIMEOUT_MS, &r);
    status = r.status;
    httpc_resp_free(&r);
    return status;
}

/* Sends one request and waits for the message carrying its id (other
 * messages are dropped). Returns its data (caller frees) or NULL. */
static char *
session_rpc(struct session *ss, int port, const char *method,
            const char *params)
{
    char body[1024], idtag[32];
    int id = ss->next_id++;
    int64_t end = mono_ms() + RPC_TIMEOUT_MS;

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"%s%s}", id,
             method, params != NULL ? ",\"params\":" : "",
             params != NULL ? params : "");
    if (session_post(ss, port, body) != 202)
        return NULL;
    snprintf(idtag, sizeof(idtag), "\"id\":%d", id);
    for (;;) {
        struct httpc_event ev;
        int64_t left = end - mono_ms();
        memset(&ev, 0, sizeof(ev));
        if (httpc_sse_next(&ss->s, &ev, left > 0 ? (int)left : 0) != 1)
            return NULL;
        if (strcmp(ev.event, "message") == 0 && ev.data != NULL) {
            const char *p = strstr(ev.data, idtag);
            if (p != NULL &&
                (p[strlen(idtag)] == ',' || p[strlen(idtag)] == '}')) {
                char *data = ev.data;
                ev.data = NULL;
                httpc_event_free(&ev);
                return data;
            }
        }
        httpc_event_free(&ev);
    }
}

/* initialize and notifications/initialized. Returns 0 or -1. */
static int
session_init(struct session *ss, int port)
{
    char *m = session_rpc(
        ss, port, "initialize",
        "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"feed_bench\",\"version\":\"1\"}}");
    int ok = m != NULL && strstr(m, "\"result\"") != NULL;
    free(m);
    if (!ok)
        return -1;
    return session_post(ss, port,
                        "{\"jsonrpc\":\"2.0\","
                        "\"method\":\"notifications/initialized\"}") == 202
               ? 0
               : -1;
}

/* Whether a tools/call answer says source "live" (in structuredContent,
 * or escaped in the text content). */
static int
answer_is_live(const char *m)
{
    return m != NULL && strstr(m, "\"isError\":true") == NULL &&
           (strstr(m, "\"source\":\"live\"") != NULL ||
            strstr(m, "\\\"source\\\":\\\"live\\\"") != NULL ||
            strstr(m, "\\\"source\\\": \\\"live\\\"") != NULL);
}

/* get_orderbook_depth on sym; 1 when it answered from the live book.
 * With say set, any other answer goes to stderr. */
static int
depth_call(struct session *ss, int port, const char *sym, int say)
{
    char params[256];
    char *m;
    int live;

    snprintf(params, sizeof(params),
             "{\"name\":\"get_orderbook_depth\",\"arguments\":"
             "{\"symbol\":\"%s\"}}",
             sym);
    m = session_rpc(ss, port, "tools/call", params);
    live = answer_is_live(m);
    if (!live && say)
        fprintf(stderr, "feed_bench: %s not live: %.600s\n", sym,
                m != NULL ? m : "(no answer)");
    free(m);
    return live;
}

/* ------------------------------------------------------------------ */
/* track                                                               */

/* get_orderbook_health's orderbook_symbols_active (no REST call), or -1. */
static long
symbols_active(struct session *ss, int port)
{
    char *m = session_rpc(ss, port, "tools/call",
                          "{\"name\":\"get_orderbook_health\","
                          "\"arguments\":{}}");
    const char *p = m != NULL ? strstr(m, "orderbook_symbols_active") : NULL;
    long n = -1;

    if (p != NULL) {
        p += strlen("orderbook_symbols_active");
        while (*p != '\0' && (*p < '0' || *p > '9'))
            p++;
        if (*p != '\0')
            n = strtol(p, NULL, 10);
    }
    free(m);
    return n;
}

static int
run_track(int port, char *list, const char *busy, long calls)
{
    char *syms[MAX_SYMBOLS], *save = NULL;
    int live[MAX_SYMBOLS] = {0};
    int n = 0, nlive = 0, rounds = 0;
    struct session ss;
    int64_t t0 = mono_ms(), live_at_ms = 0, *v;
    long ok = 0;

    for (char *t = strtok_r(list, ",", &save); t != NULL && n < MAX_SYMBOLS;
         t = strtok_r(NULL, ",", &save))
        syms[n++] = t;
    if (n == 0 || session_open(&ss, port) < 0 || session_init(&ss, port) < 0) {
        fprintf(stderr, "feed_bench: track: no session\n");
        return 1;
    }
    /* one call each claims the slots (answered from REST until live);
     * then get_orderbook_health, which costs no request weight, until the
     * feed has them all; then calls again until each says live. Calling
     * the tool in a loop instead would spend the weight budget the feed's
     * snapshots need. */
    while (nlive < n && mono_ms() - t0 < TRACK_DEADLINE_MS) {
        int last = mono_ms() - t0 >= TRACK_DEADLINE_MS - 3000;
        if (rounds++ > 0) {
            long active;
            int64_t said = mono_ms();
            while ((active = symbols_active(&ss, port)) < n &&
                   mono_ms() - t0 < TRACK_DEADLINE_MS - 3000) {
                if (mono_ms() - said >= 10000) {
                    fprintf(stderr, "feed_bench: %ld of %d live after %lld s\n",
                            active, n, (long long)(mono_ms() - t0) / 1000);
                    said = mono_ms();
                }
                sleep_ms(500);
            }
            if (active >= n && !live_at_ms)
                live_at_ms = mono_ms() - t0;
        }
        for (int i = 0; i < n; i++)
            if (!live[i] && depth_call(&ss, port, syms[i], last)) {
                live[i] = 1;
                nlive++;
            }
    }
    printf("track_symbols=%d\n", n);
    printf("track_live=%d\n", nlive);
    printf("track_rounds=%d\n", rounds);
    printf("track_ms=%lld\n", (long long)(mono_ms() - t0));
    printf("track_health_all_ms=%lld\n", (long long)live_at_ms);
    fflush(stdout);
    if (nlive < n) {
        session_close(&ss);
        return 2;
    }
    if ((v = calloc((size_t)calls, sizeof(*v))) == NULL) {
        session_close(&ss);
        return 1;
    }
    depth_call(&ss, port, busy, 1); /* warm */
    for (long i = 0; i < calls; i++) {
        int64_t t = mono_us();
        if (depth_call(&ss, port, busy, 0))
            v[ok++] = mono_us() - t;
    }
    printf("depth_calls=%ld\n", calls);
    printf("depth_live=%ld\n", ok);
    print_quantiles("depth_rtt", v, (size_t)ok, 1e3, "ms");
    free(v);
    session_close(&ss);
    return ok == calls ? 0 : 2;
}

/* ------------------------------------------------------------------ */
/* push                                                                */

/* Asks the fake for a probe event on sym; returns its sentUs or -1. */
static int64_t
probe_send(int fx_port, const char *sym)
{
    struct httpc_resp r;
    char path[128];
    const char *p;
    int64_t sent = -1;

    memset(&r, 0, sizeof(r));
    snprintf(path, sizeof(path), "/__fake/stream/probe?symbol=%s", sym);
    if (httpc_request(fx_port, "POST", path, NULL, "", 0, HTTP_TIMEOUT_MS,
                      &r) == 0 &&
        r.status == 200 && r.body != NULL &&
        (p = strstr(r.body, "\"sentUs\":")) != NULL)
        sent = strtoll(p + strlen("\"sentUs\":"), NULL, 10);
    httpc_resp_free(&r);
    return sent;
}

static int
run_push(int port, int fx_port, const char *sym, long probes, long interval,
         long first_wait)
{
    struct session ss;
    char params[256], uri[160], *m;
    int64_t *lat = calloc((size_t)probes, sizeof(*lat));
    int64_t pending = -1, t0, next_probe;
    long sent = 0, matched = 0, unmatched = 0, notes = 0;
    int rc = 0;

    snprintf(uri, sizeof(uri), "binance://market/%s", sym);
    if (lat == NULL || session_open(&ss, port) < 0 ||
        session_init(&ss, port) < 0) {
        fprintf(stderr, "feed_bench: push: no session\n");
        free(lat);
        return 1;
    }
    snprintf(params, sizeof(params), "{\"uri\":\"%s\"}", uri);
    m = session_rpc(&ss, port, "resources/subscribe", params);
    if (m == NULL || strstr(m, "\"result\"") == NULL) {
        const char *e = m != NULL ? strstr(m, "\"message\":\"") : NULL;
        int len = 0;
        if (e != NULL) {
            e += strlen("\"message\":\"");
            while (e[len] != '\0' && e[len] != '"' && len < 120)
                len++;
        }
        printf("push_subscribe=%s%.*s\n",
               m == NULL ? "no answer" : "error: ", len, e != NULL ? e : "");
    } else {
        printf("push_subscribe=ok\n");
    }
    free(m);
    /* probes even when the subscribe failed: a server that notifies
     * without it still shows, and -w bounds the wait */
    t0 = next_probe = mono_ms();
    for (;;) {
        struct httpc_event ev;
        int64_t now = mono_ms(), wait;
        if (notes == 0 && now - t0 >= first_wait)
            break; /* nothing came: the server sends no notifications */
        if (sent < probes && now >= next_probe) {
            /* a probe still pending got no notification: dropped */
            if ((pending = probe_send(fx_port, sym)) < 0) {
                fprintf(stderr, "feed_bench: push: probe failed\n");
                rc = 1;
                break;
            }
            sent++;
            next_probe += interval;
            continue;
        }
        if (sent == probes && now >= next_probe)
            break; /* the last probe's window is over */
        wait = next_probe - now;
        memset(&ev, 0, sizeof(ev));
        int r = httpc_sse_next(&ss.s, &ev, (int)wait); /* wait > 0 */
        int64_t arrival = wall_us();
        if (r == 0 || (r < 0 && ss.s.eof)) {
            fprintf(stderr, "feed_bench: push: the stream ended\n");
            rc = 1;
            break;
        }
        if (r == 1 && ev.data != NULL &&
            strstr(ev.data, "notifications/resources/updated") != NULL &&
            strstr(ev.data, uri) != NULL) {
            notes++;
            if (pending >= 0) {
                lat[matched++] = arrival - pending;
                pending = -1;
            } else {
                unmatched++;
            }
        }
        httpc_event_free(&ev);
    }
    printf("push_probes=%ld\n", sent);
    printf("push_notifications=%ld\n", notes);
    printf("push_matched=%ld\n", matched);
    printf("push_unmatched=%ld\n", unmatched);
    if (matched > 0)
        print_quantiles("push", lat, (size_t)matched, 1e3, "ms");
    free(lat);
    session_close(&ss);
    return rc != 0 ? rc : matched > 0 ? 0 : 3;
}

/* ------------------------------------------------------------------ */
/* read                                                                */

/* The writer: full books into every slot in turn, rate writes/s in all,
 * until killed. Mirrors feed.c's publish_book (levels copied under an odd
 * sequence). Never returns. */
static void
writer_loop(struct market *m, unsigned nslots, long rate, int one)
{
    static struct market_level bids[MARKET_LEVELS], asks[MARKET_LEVELS];
    int64_t t0 = mono_us();
    uint64_t k = 0;

    for (int i = 0; i < MARKET_LEVELS; i++) {
        bids[i].price = (100 * MARKET_UNIT) - (int64_t)(i + 1) * 1000000;
        asks[i].price = (100 * MARKET_UNIT) + (int64_t)(i + 1) * 1000000;
        bids[i].qty = asks[i].qty = MARKET_UNIT;
    }
    for (;; k++) {
        int slot = one ? 0 : (int)(k % nslots);
        struct market_state *st;
        int64_t due = (int64_t)(k * 1000000 / (uint64_t)rate), at;

        bids[k % MARKET_LEVELS].qty = (int64_t)(k % 7 + 1) * 25000000;
        st = market_write_begin(m, slot);
        st->nbids = st->nasks = MARKET_LEVELS;
        memcpy(st->bids, bids, sizeof(bids));
        memcpy(st->asks, asks, sizeof(asks));
        st->book_update_id = k;
        st->book_events++;
        st->book_updated_ms = st->book_event_ms = mono_ms();
        st->status = MARKET_LIVE;
        st->ws_connected = 1;
        market_write_end(m, slot);
        at = mono_us() - t0;
        if (due > at) {
            struct timespec ts = {(time_t)((due - at) / 1000000),
                                  (long)((due - at) % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

static int
run_read(unsigned nslots, long rate, long seconds, int one)
{
    char err[256];
    struct market *m = market_create(nslots, err, sizeof(err));
    static struct market_state st;
    size_t cap = (size_t)seconds * (1000000 / READ_EVERY_US) + 1000, n = 0;
    int64_t *v, end;
    long eagain = 0, torn = 0;
    pid_t w;
    int status;

    if (m == NULL) {
        fprintf(stderr, "feed_bench: read: %s\n", err);
        return 1;
    }
    printf("market_slots=%u\n", market_slots(m));
    printf("market_size_bytes=%zu\n", market_size(m));
    printf("market_state_bytes=%zu\n", sizeof(struct market_state));
    for (unsigned i = 0; i < nslots; i++) {
        char sym[16];
        snprintf(sym, sizeof(sym), "X%02uUSDT", i);
        market_writer_reset(m, (int)i, sym, MARKET_TRACKING, 0);
    }
    if ((v = calloc(cap, sizeof(*v))) == NULL)
        return 1;
    fflush(stdout);
    if ((w = fork()) < 0)
        return 1;
    if (w == 0)
        writer_loop(m, nslots, rate, one);
    sleep_ms(200); /* the writer is running */
    end = mono_us() + seconds * 1000000;
    while (n < cap && mono_us() < end) {
        struct timespec a, b;
        int64_t t = mono_us();
        clock_gettime(CLOCK_MONOTONIC, &a);
        int r = market_read(m, 0, &st);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (r < 0) {
            eagain++;
            continue;
        }
        if (st.nbids != MARKET_LEVELS || st.bids[1].price == 0)
            torn++;
        v[n++] = ((int64_t)(b.tv_sec - a.tv_sec) * 1000000000 +
                  (b.tv_nsec - a.tv_nsec));
        /* one read every READ_EVERY_US, so the sample spans the window */
        while (mono_us() - t < READ_EVERY_US)
            ;
    }
    kill(w, SIGKILL);
    waitpid(w, &status, 0);
    printf("read_writes_per_s=%ld\n", rate);
    printf("read_writes_on_slot=%s\n", one ? "all" : "1/slots");
    printf("read_reads=%zu\n", n);
    printf("read_eagain=%ld\n", eagain);
    printf("read_inconsistent=%ld\n", torn);
    print_quantiles("read", v, n, 1e3, "us");
    free(v);
    market_destroy(m);
    return 0;
}

/* ------------------------------------------------------------------ */

static void
usage(void)
{
    fprintf(stderr,
            "usage: feed_bench track -p PORT -s SYM,... [-b BUSY] [-n CALLS]\n"
            "       feed_bench push -p PORT -f FAKEX_PORT -s PROBE [-n PROBES]"
            " [-i MS] [-w MS]\n"
            "       feed_bench read [-n SLOTS] [-w WRITES_PER_S] "
            "[-t SECONDS] [-o]\n");
}

int
main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long port = 0, fx_port = 0, n = -1, interval = 1200, wait = -1, secs = 5;
    char *syms = NULL;
    const char *busy = NULL;
    char first[MARKET_SYMBOL_MAX];
    int c, one = 0;

    signal(SIGPIPE, SIG_IGN);
    optind = 2;
    while ((c = getopt(argc, argv, "p:f:s:b:n:i:w:t:o")) != -1) {
        switch (c) {
        case 'p':
            port = strtol(optarg, NULL, 10);
            break;
        case 'f':
            fx_port = strtol(optarg, NULL, 10);
            break;
        case 's':
            syms = optarg;
            break;
        case 'b':
            busy = optarg;
            break;
        case 'n':
            n = strtol(optarg, NULL, 10);
            break;
        case 'i':
            interval = strtol(optarg, NULL, 10);
            break;
        case 'w':
            wait = strtol(optarg, NULL, 10);
            break;
        case 't':
            secs = strtol(optarg, NULL, 10);
            break;
        case 'o':
            one = 1;
            break;
        default:
            usage();
            return 1;
        }
    }
    if (strcmp(mode, "track") == 0 && port > 0 && syms != NULL) {
        if (n < 0)
            n = 200;
        if (n < 1 || n > MAX_CALLS) {
            usage();
            return 1;
        }
        if (busy == NULL) { /* the first symbol */
            snprintf(first, sizeof(first), "%.*s", (int)strcspn(syms, ","),
                     syms);
            busy = first;
        }
        return run_track((int)port, syms, busy, n);
    }
    if (strcmp(mode, "push") == 0 && port > 0 && fx_port > 0 && syms != NULL) {
        if (n < 0)
            n = 50;
        if (n < 1 || n > MAX_PROBES || interval < 100 || interval > 60000) {
            usage();
            return 1;
        }
        return run_push((int)port, (int)fx_port, syms, n, interval,
                        wait < 0 ? 6000 : wait);
    }
    if (strcmp(mode, "read") == 0) {
        if (n < 0)
            n = MARKET_SYMBOLS_DEFAULT;
        if (wait < 0)
            wait = 1500;
        if (n < 1 || n > MARKET_SYMBOLS_MAX || wait < 1 || wait > 10000000 ||
            secs < 1 || secs > READ_MAX_S) {
            usage();
            return 1;
        }
        return run_read((unsigned)n, wait, secs, one);
    }
    usage();
    return 1;
}
