/*
 * sse_streams.c - the client side of bench/run.sh (a benchmark, not a test:
 * make check never runs it).
 *
 *   sse_streams open -p PORT -n N [-c INFLIGHT] [-t HOLD_S] [-r READY_FILE]
 *       Opens N legacy SSE streams (GET /mcp/sse) to 127.0.0.1:PORT from
 *       one process with non-blocking sockets and epoll, at most INFLIGHT
 *       of them connecting at a time, and waits for each one's `endpoint`
 *       event. Then it writes READY_FILE and holds every stream open,
 *       reading (and discarding) keep-alives, until HOLD_S seconds have
 *       passed or SIGTERM/SIGINT comes; then it closes them all.
 *
 *   sse_streams rtt -p PORT [-n CALLS]
 *       One legacy session: initialize, then CALLS sequential get_ticker
 *       calls (POST, answer on the stream); prints p50/p90/p99/max.
 *
 *   sse_streams reconnect -p PORT -s SUPERVISOR_PID [-n ROUNDS]
 *       Each round: a client with a live session finds the worker process
 *       holding its stream, kills it with SIGKILL (it is a child of the
 *       supervisor the caller started), notices the end of its stream,
 *       reconnects, initializes and calls get_ticker; prints the time from
 *       the kill to that first tool result.
 *
 * Results go to stdout as `key=value` lines that run.sh reads. Every phase
 * has a deadline; only 127.0.0.1 is contacted. The blocking client of the
 * last two modes is the tests' tests/httpc.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "fakex.h"
#include "httpc.h"

#define OPEN_DEADLINE_S 180   /* the whole open phase, at most */
#define HOLD_MAX_S      3600  /* -t is capped here */
#define MAX_STREAMS     60000 /* -n is capped here */
#define CONN_BUF        512   /* bytes kept per stream until its endpoint */
#define HTTP_TIMEOUT_MS 5000
#define RPC_TIMEOUT_MS  10000
#define RECONNECT_MS    10000

static int64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
now_ms(void)
{
    return now_us() / 1000;
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

/* The q-quantile (0..1) of n sorted values. */
static int64_t
quantile(const int64_t *v, size_t n, double q)
{
    size_t i;
    if (n == 0)
        return -1;
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* ------------------------------------------------------------------ */
/* open: many streams, one process, epoll                              */

enum conn_state {
    C_FREE = 0,
    C_CONNECTING, /* connect() in progress */
    C_WAITING,    /* request sent, waiting for the endpoint event */
    C_HELD,       /* endpoint seen: the stream is open */
    C_CLOSED,
};

struct conn {
    int fd;
    uint8_t state;
    uint16_t len;
    int64_t t_start; /* us: connect() */
    char buf[CONN_BUF];
};

struct open_stats {
    long started, opened, refused_503, failed, dropped;
    long connect_errors[8]; /* by kind, see conn_fail */
    uint64_t held_bytes;
};

static const char request_fmt[] = "GET /mcp/sse HTTP/1.1\r\n"
                                  "Host: 127.0.0.1:%d\r\n"
                                  "Accept: text/event-stream\r\n"
                                  "\r\n";

static void
conn_close(int ep, struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_CLOSED;
}

static int
conn_start(int ep, struct conn *c, uint32_t idx, int port)
{
    struct sockaddr_in sa;
    struct epoll_event ev;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->len = 0;
    c->t_start = now_us();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
        errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->state = C_CONNECTING;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = idx;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

/* Handles readiness of one stream. Returns the state it moved to. */
static int
conn_event(int ep, struct conn *c, uint32_t events, int port,
           struct open_stats *st, int64_t *t_endpoint)
{
    if (c->state == C_CONNECTING && (events & (EPOLLOUT | EPOLLERR))) {
        char req[256];
        int err = 0, n;
        socklen_t len = sizeof(err);

        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        n = snprintf(req, sizeof(req), request_fmt, port);
        if (err != 0 || write(c->fd, req, (size_t)n) != n) {
            st->failed++;
            conn_close(ep, c);
            return C_CLOSED;
        }
        /* the caller switches the interest to input only */
        c->state = C_WAITING;
        return C_WAITING;
    }
    if (c->state == C_WAITING &&
        (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
        for (;;) {
            ssize_t n =
                read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
            if (n < 0 && errno == EAGAIN)
                return C_WAITING;
            if (n <= 0) {
                st->failed++;
                conn_close(ep, c);
                return C_CLOSED;
            }
            c->len = (uint16_t)(c->len + n);
            c->buf[c->len] = '\0';
            if (c->len >= 12 && strncmp(c->buf + 9, "200", 3) != 0) {
                if (strncmp(c->buf + 9, "503", 3) == 0)
                    st->refused_503++;
                else
                    st->failed++;
                conn_close(ep, c);
                return C_CLOSED;
            }
            if (strstr(c->buf, "event: endpoint") != NULL &&
                strstr(c->buf, "sessionId=") != NULL) {
                *t_endpoint = now_us() - c->t_start;
                st->opened++;
                c->state = C_HELD;
                c->len = 0;
                return C_HELD;
            }
            if (c->len >= sizeof(c->buf) - 1) {
                /* keep the tail: the endpoint event comes after headers */
                memmove(c->buf, c->buf + c->len - 64, 64);
                c->len = 64;
            }
        }
    }
    if (c->state == C_HELD) {
        char sink[4096];
        for (;;) {
            ssize_t n = read(c->fd, sink, sizeof(sink));
            if (n > 0) {
                st->held_bytes += (uint64_t)n;
                continue;
            }
            if (n < 0 && errno == EAGAIN)
                return C_HELD;
            st->dropped++;
            conn_close(ep, c);
            return C_CLOSED;
        }
    }
    return c->state;
}

static int
run_open(int port, long n, long inflight_max, long hold_s,
         const char *ready_file)
{
    struct conn *cs = calloc((size_t)n, sizeof(*cs));
    int64_t *lat = calloc((size_t)n, sizeof(*lat));
    struct epoll_event evs[512];
    struct open_stats st;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long next = 0, inflight = 0, nlat = 0;
    int64_t t0, t_open_done = 0, open_end, hold_end;
    struct rlimit rl;

    memset(&st, 0, sizeof(st));
    if (cs == NULL || lat == NULL || ep < 0) {
        fprintf(stderr, "sse_streams: out of memory\n");
        return 1;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        fprintf(stderr,
                "sse_streams: RLIMIT_NOFILE %llu is too low for %ld streams "
                "(raise ulimit -n)\n",
                (unsigned long long)rl.rlim_cur, n);
        return 1;
    }
    for (long i = 0; i < n; i++)
        cs[i].fd = -1;
    t0 = now_us();
    open_end = now_ms() + OPEN_DEADLINE_S * 1000L;
    /* the open phase: keep inflight_max connections opening */
    while (st.opened + st.failed + st.refused_503 < n && now_ms() < open_end &&
           !stop_flag) {
        while (inflight < inflight_max && next < n) {
            if (conn_start(ep, &cs[next], (uint32_t)next, port) < 0) {
                st.failed++;
                cs[next].state = C_CLOSED;
            } else {
                inflight++;
            }
            st.started++;
            next++;
        }
        int k = epoll_wait(ep, evs, 512, 200);
        for (int i = 0; i < k; i++) {
            struct conn *c = &cs[evs[i].data.u32];
            int before = c->state, after;
            int64_t t_ep = 0;
            after = conn_event(ep, c, evs[i].events, port, &st, &t_ep);
            if (before != C_HELD && (after == C_HELD || after == C_CLOSED))
                inflight--;
            if (before != C_HELD && after == C_HELD)
                lat[nlat++] = t_ep;
            if (before == C_CONNECTING && after == C_WAITING) {
                struct epoll_event ev;
                memset(&ev, 0, sizeof(ev));
                ev.events = EPOLLIN | EPOLLRDHUP;
                ev.data.u32 = evs[i].data.u32;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    t_open_done = now_us();
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp_i64);
    printf("open_requested=%ld\n", n);
    printf("open_ok=%ld\n", st.opened);
    printf("open_503=%ld\n", st.refused_503);
    printf("open_failed=%ld\n", st.failed + (n - next));
    printf("open_ms=%lld\n", (long long)((t_open_done - t0) / 1000));
    printf("open_rate_per_s=%.0f\n",
           t_open_done > t0
               ? (double)st.opened * 1e6 / (double)(t_open_done - t0)
               : 0.0);
    printf("open_latency_p50_ms=%.2f\n",
           (double)quantile(lat, nlat, 0.5) / 1e3);
    printf("open_latency_p99_ms=%.2f\n",
           (double)quantile(lat, nlat, 0.99) / 1e3);
    printf("open_latency_max_ms=%.2f\n",
           (double)quantile(lat, nlat, 1.0) / 1e3);
    fflush(stdout);

    /* connections still opening when the deadline came are abandoned */
    for (long i = 0; i < n; i++)
        if (cs[i].state == C_CONNECTING || cs[i].state == C_WAITING)
            conn_close(ep, &cs[i]);
    if (ready_file != NULL) {
        FILE *f = fopen(ready_file, "w");
        if (f != NULL) {
            fprintf(f, "READY %ld\n", st.opened);
            fclose(f);
        }
    }

    /* the hold phase: read keep-alives until told to stop */
    hold_end = now_ms() + hold_s * 1000L;
    while (!stop_flag && now_ms() < hold_end) {
        int k = epoll_wait(ep, evs, 512, 200);
        for (int i = 0; i < k; i++) {
            int64_t t_ep = 0;
            conn_event(ep, &cs[evs[i].data.u32], evs[i].events, port, &st,
                       &t_ep);
        }
    }
    printf("hold_s=%.1f\n",
           (double)(now_ms() - (hold_end - hold_s * 1000L)) / 1e3);
    printf("held_dropped=%ld\n", st.dropped);
    printf("held_bytes=%llu\n", (unsigned long long)st.held_bytes);
    for (long i = 0; i < n; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    close(ep);
    free(cs);
    free(lat);
    fflush(stdout);
    return st.opened == n ? 0 : 2;
}

/* ------------------------------------------------------------------ */
/* A blocking legacy session on tests/httpc.c                          */

struct session {
    struct httpc_sse s;
    int open;
    int worker;
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

static int
session_open(struct session *ss, int port)
{
    int64_t end = now_ms() + HTTP_TIMEOUT_MS;
    char buf[64];

    memset(ss, 0, sizeof(*ss));
    ss->next_id = 1;
    ss->worker = -1;
    if (httpc_sse_open(&ss->s, port, "GET", "/mcp/sse", NULL, NULL, 0,
                       HTTP_TIMEOUT_MS) < 0)
        return -1;
    ss->open = 1;
    if (ss->s.status != 200) {
        session_close(ss);
        return -1;
    }
    if (httpc_header(ss->s.headers, "X-Binmcpd-Worker", buf, sizeof(buf)))
        ss->worker = atoi(buf);
    for (;;) {
        struct httpc_event ev;
        int64_t left = end - now_ms();
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

/* Posts body; returns the HTTP status (0 when none). */
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

/* Sends one request and waits for the message carrying its id. Returns
 * the message's data (caller frees) or NULL. */
static char *
session_rpc(struct session *ss, int port, const char *method,
            const char *params)
{
    char body[1024], idtag[32];
    int id = ss->next_id++;
    int64_t end = now_ms() + RPC_TIMEOUT_MS;

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"%s%s}", id,
             method, params != NULL ? ",\"params\":" : "",
             params != NULL ? params : "");
    if (session_post(ss, port, body) != 202)
        return NULL;
    snprintf(idtag, sizeof(idtag), "\"id\":%d", id);
    for (;;) {
        struct httpc_event ev;
        int64_t left = end - now_ms();
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

static int
session_init(struct session *ss, int port)
{
    char *m = session_rpc(
        ss, port, "initialize",
        "{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"sse_streams\",\"version\":\"1\"}}");
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

/* get_ticker BTCUSDT; 1 when the fake's last price came back. */
static int
session_ticker(struct session *ss, int port)
{
    char *m = session_rpc(
        ss, port, "tools/call",
        "{\"name\":\"get_ticker\",\"arguments\":{\"symbol\":\"BTCUSDT\"}}");
    int ok = m != NULL && strstr(m, "\"isError\":true") == NULL &&
             strstr(m, FAKEX_BTCUSDT_LAST) != NULL;
    free(m);
    return ok;
}

static int
run_rtt(int port, long calls)
{
    struct session ss;
    int64_t *v = calloc((size_t)calls, sizeof(*v));
    long ok = 0, failed = 0;
    int64_t t0;

    if (v == NULL || session_open(&ss, port) < 0 ||
        session_init(&ss, port) < 0) {
        fprintf(stderr, "sse_streams: rtt: no session\n");
        free(v);
        return 1;
    }
    session_ticker(&ss, port); /* warm: connections to the exchange */
    t0 = now_us();
    for (long i = 0; i < calls; i++) {
        int64_t t = now_us();
        if (session_ticker(&ss, port))
            v[ok++] = now_us() - t;
        else
            failed++;
    }
    qsort(v, (size_t)ok, sizeof(*v), cmp_i64);
    printf("rtt_calls=%ld\n", calls);
    printf("rtt_ok=%ld\n", ok);
    printf("rtt_failed=%ld\n", failed);
    printf("rtt_total_ms=%lld\n", (long long)((now_us() - t0) / 1000));
    printf("rtt_p50_ms=%.2f\n", (double)quantile(v, (size_t)ok, 0.5) / 1e3);
    printf("rtt_p90_ms=%.2f\n", (double)quantile(v, (size_t)ok, 0.9) / 1e3);
    printf("rtt_p99_ms=%.2f\n", (double)quantile(v, (size_t)ok, 0.99) / 1e3);
    printf("rtt_max_ms=%.2f\n", (double)quantile(v, (size_t)ok, 1.0) / 1e3);
    session_close(&ss);
    free(v);
    return failed == 0 ? 0 : 2;
}

/* ------------------------------------------------------------------ */
/* reconnect                                                           */

/* Whether /proc/PID/stat names parent as PID's parent. */
static int
is_child_of(pid_t pid, pid_t parent)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    int ppid = 0;
    char state = '?';

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
        return 0;
    return ppid == parent && state != 'Z';
}

/* The child of sup that holds the server side of the connection whose
 * client end is fd (connected to port), or 0. */
static pid_t
stream_owner(int fd, int port, pid_t sup)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    unsigned long inode = 0;
    char line[512], want[64];
    pid_t found = 0;
    FILE *f;
    DIR *proc;
    struct dirent *e;

    if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
        return 0;
    f = fopen("/proc/net/tcp", "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL && inode == 0) {
        unsigned la, lp, ra, rp;
        unsigned long ino;
        if (sscanf(line,
                   " %*d: %8X:%4X %8X:%4X %*X %*X:%*X %*X:%*X %*X %*u %*d "
                   "%lu",
                   &la, &lp, &ra, &rp, &ino) == 5 &&
            (int)lp == port && rp == ntohs(sa.sin_port))
            inode = ino;
    }
    fclose(f);
    if (inode == 0)
        return 0;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    while (found == 0 && (e = readdir(proc)) != NULL) {
        char *end, dir[300];
        long pid = strtol(e->d_name, &end, 10);
        DIR *fds;
        struct dirent *fe;
        if (*end != '\0' || pid <= 0 || !is_child_of((pid_t)pid, sup))
            continue;
        snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
        fds = opendir(dir);
        if (fds == NULL)
            continue;
        while (found == 0 && (fe = readdir(fds)) != NULL) {
            char p[600], target[64];
            ssize_t len;
            snprintf(p, sizeof(p), "%s/%s", dir, fe->d_name);
            len = readlink(p, target, sizeof(target) - 1);
            if (len <= 0)
                continue;
            target[len] = '\0';
            if (strcmp(target, want) == 0)
                found = (pid_t)pid;
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

/* Polls /health until workers_alive equals workers (up to timeout_ms). */
static int
wait_workers(int port, long timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        struct httpc_resp r;
        int ok = 0;
        memset(&r, 0, sizeof(r));
        if (httpc_request(port, "GET", "/health", NULL, NULL, 0,
                          HTTP_TIMEOUT_MS, &r) == 0 &&
            r.status == 200 && r.body != NULL) {
            const char *w = strstr(r.body, "\"workers\":");
            const char *a = strstr(r.body, "\"workers_alive\":");
            ok = w != NULL && a != NULL &&
                 atoi(w + strlen("\"workers\":")) ==
                     atoi(a + strlen("\"workers_alive\":"));
        }
        httpc_resp_free(&r);
        if (ok)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

static int
run_reconnect(int port, pid_t sup, long rounds)
{
    int64_t *v = calloc((size_t)rounds, sizeof(*v));
    long ok = 0;

    if (v == NULL)
        return 1;
    for (long r = 0; r < rounds; r++) {
        struct session ss, re;
        pid_t victim;
        int64_t t0, t_end = -1, t_sse = -1, t_result = -1, end;

        if (wait_workers(port, 10000) < 0 || session_open(&ss, port) < 0 ||
            session_init(&ss, port) < 0 || !session_ticker(&ss, port)) {
            fprintf(stderr, "sse_streams: reconnect: no session\n");
            break;
        }
        victim = stream_owner(ss.s.fd, port, sup);
        if (victim <= 0) {
            fprintf(stderr, "sse_streams: reconnect: no worker found\n");
            session_close(&ss);
            break;
        }
        t0 = now_us();
        if (kill(victim, SIGKILL) < 0) {
            session_close(&ss);
            break;
        }
        end = now_ms() + RECONNECT_MS;
        for (;;) {
            struct httpc_event ev;
            int64_t left = end - now_ms();
            int rc;
            memset(&ev, 0, sizeof(ev));
            rc = httpc_sse_next(&ss.s, &ev, left > 0 ? (int)left : 0);
            httpc_event_free(&ev);
            if (rc != 1)
                break;
        }
        t_end = now_us();
        session_close(&ss);
        while (now_ms() < end && t_result < 0) {
            if (session_open(&re, port) == 0) {
                if (t_sse < 0)
                    t_sse = now_us();
                if (session_init(&re, port) == 0 && session_ticker(&re, port))
                    t_result = now_us();
            }
            session_close(&re);
            if (t_result < 0)
                sleep_ms(10);
        }
        if (t_result < 0) {
            printf("reconnect_round_%ld=failed\n", r + 1);
            continue;
        }
        v[ok++] = t_result - t0;
        printf("reconnect_round_%ld_ms=%.2f (stream end seen %.2f, "
               "new stream %.2f)\n",
               r + 1, (double)(t_result - t0) / 1e3, (double)(t_end - t0) / 1e3,
               (double)(t_sse - t0) / 1e3);
        fflush(stdout);
        /* stay far from the crash-loop threshold */
        sleep_ms(1000);
    }
    qsort(v, (size_t)ok, sizeof(*v), cmp_i64);
    printf("reconnect_rounds=%ld\n", rounds);
    printf("reconnect_ok=%ld\n", ok);
    printf("reconnect_p50_ms=%.2f\n",
           (double)quantile(v, (size_t)ok, 0.5) / 1e3);
    printf("reconnect_max_ms=%.2f\n",
           (double)quantile(v, (size_t)ok, 1.0) / 1e3);
    wait_workers(port, 10000);
    free(v);
    return ok == rounds ? 0 : 2;
}

/* ------------------------------------------------------------------ */

static void
usage(void)
{
    fprintf(stderr,
            "usage: sse_streams open -p PORT -n N [-c INFLIGHT] [-t HOLD_S] "
            "[-r READY_FILE]\n"
            "       sse_streams rtt -p PORT [-n CALLS]\n"
            "       sse_streams reconnect -p PORT -s SUPERVISOR_PID "
            "[-n ROUNDS]\n");
}

int
main(int argc, char **argv)
{
    const char *mode, *ready = NULL;
    long port = 0, n = -1, inflight = 256, hold = 60, sup = 0;
    struct sigaction sa;
    int opt;

    if (argc < 2) {
        usage();
        return 1;
    }
    mode = argv[1];
    optind = 2;
    while ((opt = getopt(argc, argv, "p:n:c:t:r:s:")) != -1) {
        switch (opt) {
        case 'p':
            port = strtol(optarg, NULL, 10);
            break;
        case 'n':
            n = strtol(optarg, NULL, 10);
            break;
        case 'c':
            inflight = strtol(optarg, NULL, 10);
            break;
        case 't':
            hold = strtol(optarg, NULL, 10);
            break;
        case 'r':
            ready = optarg;
            break;
        case 's':
            sup = strtol(optarg, NULL, 10);
            break;
        default:
            usage();
            return 1;
        }
    }
    if (port <= 0 || port > 65535 || inflight < 1 || hold < 0 ||
        hold > HOLD_MAX_S) {
        usage();
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (strcmp(mode, "open") == 0) {
        if (n < 1 || n > MAX_STREAMS) {
            usage();
            return 1;
        }
        return run_open((int)port, n, inflight, hold, ready);
    }
    if (strcmp(mode, "rtt") == 0)
        return run_rtt((int)port, n < 1 ? 200 : (n > 100000 ? 100000 : n));
    if (strcmp(mode, "reconnect") == 0) {
        if (sup <= 1) {
            usage();
            return 1;
        }
        return run_reconnect((int)port, (pid_t)sup,
                             n < 1 ? 3 : (n > 5 ? 5 : n));
    }
    usage();
    return 1;
}
