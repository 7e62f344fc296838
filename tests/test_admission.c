/*
 * test_admission.c - admission control of `binmcpd --mode sse`: who may
 * come in, and how much of the daemon one client may take.
 *
 * Unit checks first: the Host allow-list (auth.h), the per-address
 * connection counts shared by the workers (ratelimit.h) and the settings
 * that go with them (a public bind needs allowed_hosts). Then three real
 * daemons ($BINMCPD, two workers each), driven by this program as their
 * HTTP clients, over plain sockets bound to loopback addresses of their
 * own (127.0.0.2 and up are as local as 127.0.0.1 on Linux), so that one
 * machine plays many clients:
 *
 *  - sessions: FLOOD_N initialize POSTs from one address, never deleted,
 *    on keep-alive connections from FLOOD_THREADS threads. The client's
 *    cap (max_sessions_per_client) makes it evict its own idle sessions;
 *    another client's session with an open stream, made before, still
 *    works, and so does a session made after. A second flood fills the
 *    table: the least recently used idle session (another client's) goes
 *    and is 404, the one with a stream stays.
 *  - tokens: a session answers only the token that made it (legacy POST,
 *    Streamable POST, GET, DELETE, Last-Event-ID resumption); a token at
 *    its cap loses its own oldest idle session, or gets 503 when all of
 *    them have streams; a Host not allowed is 421 everywhere but /health.
 *  - slow clients: SLOW_N connections that send a header byte a second,
 *    from one address (max_connections_per_ip closes all but a few at
 *    once) and from many (all admitted: they do not count as streams);
 *    request_timeout closes them after 10 s, and a probe client gets
 *    /health and an initialize answered promptly throughout.
 * The refusals are checked in /metrics.
 *
 * Every wait has a deadline; every child is started, stopped and reaped
 * by PID here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "auth.h"
#include "httpc.h"
#include "ratelimit.h"
#include "settings.h"
#include "testlib.h"

#define START_MS      10000 /* until a daemon logs its port */
#define HTTP_MS       5000  /* one request and its answer */
#define NOTICE_MS     5000  /* the daemon notices a closed stream */
#define PROMPT_MS     1000  /* "promptly": the probe's answers */
#define FLOOD_N       100000
#define FLOOD_THREADS 8
#define FLOOD2_N      1500 /* the second flood, from another address */
#define MAX_SESSIONS  1500
#define PER_CLIENT    1000
#define SLOW_N        2000 /* slow connections, per phase */
#define SLOW_ADDRS    40   /* addresses of the second slow phase */
#define SLOW_RUN_MS   14000
#define REQ_TIMEOUT_S 10 /* the default request_timeout */
#define PER_IP        64 /* the default max_connections_per_ip */

#define TOKEN_A "admission-token-aaaaaaaaaaaaaaaa"
#define TOKEN_B "admission-token-bbbbbbbbbbbbbbbb"
#define AUTH_A  "Authorization: Bearer " TOKEN_A "\r\n"
#define AUTH_B  "Authorization: Bearer " TOKEN_B "\r\n"

#define SH_HEADERS                                                             \
    "Content-Type: application/json\r\n"                                       \
    "Accept: application/json, text/event-stream\r\n"
#define INIT_BODY                                                              \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"     \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"                  \
    "\"clientInfo\":{\"name\":\"test_admission\",\"version\":\"1\"}}}"
#define PING_BODY "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}"

/* ------------------------------------------------------------------ */
/* Raw HTTP/1.1 over a socket bound to a chosen loopback address       */

/* A client connection and the bytes read but not used yet. */
struct kconn {
    int fd;
    size_t len;
    char buf[65536];
};

struct rresp {
    int status;
    int keep; /* the connection may carry another request */
    char head[8192];
    char *body; /* malloc'd, NUL-terminated, de-chunked */
    size_t blen;
};

static void
rresp_free(struct rresp *r)
{
    free(r->body);
    r->body = NULL;
}

/* Connects to 127.0.0.1:port from address src (NULL: any). Sends and
 * receives time out after timeout_ms. Returns 0 or -1. */
static int
kc_open(struct kconn *k, int port, const char *src, int timeout_ms)
{
    struct sockaddr_in a;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

    k->len = 0;
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (k->fd < 0)
        return -1;
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    if (src != NULL) {
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(k->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            goto fail;
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(k->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        goto fail;
    return 0;
fail:
    close(k->fd);
    k->fd = -1;
    return -1;
}

static void
kc_close(struct kconn *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
    k->len = 0;
}

static int
kc_send(struct kconn *k, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more into the buffer. Returns the bytes read, 0 at EOF, -1. */
static ssize_t
kc_fill(struct kconn *k)
{
    ssize_t n;
    if (k->len == sizeof(k->buf))
        return -1;
    do
        n = recv(k->fd, k->buf + k->len, sizeof(k->buf) - k->len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        k->len += (size_t)n;
    return n;
}

static void
kc_consume(struct kconn *k, size_t n)
{
    memmove(k->buf, k->buf + n, k->len - n);
    k->len -= n;
}

/* The next line without its CRLF into out. Returns 0 or -1. */
static int
kc_line(struct kconn *k, char *out, size_t outlen)
{
    for (;;) {
        char *nl = memchr(k->buf, '\n', k->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - k->buf);
            size_t m = n > 0 && k->buf[n - 1] == '\r' ? n - 1 : n;
            if (m >= outlen)
                return -1;
            memcpy(out, k->buf, m);
            out[m] = '\0';
            kc_consume(k, n + 1);
            return 0;
        }
        if (kc_fill(k) <= 0)
            return -1;
    }
}

/* Appends exactly n bytes of the stream to r->body. */
static int
kc_body(struct kconn *k, struct rresp *r, size_t n)
{
    char *b = realloc(r->body, r->blen + n + 1);
    if (b == NULL)
        return -1;
    r->body = b;
    while (n > 0) {
        if (k->len == 0 && kc_fill(k) <= 0)
            return -1;
        size_t take = k->len < n ? k->len : n;
        memcpy(r->body + r->blen, k->buf, take);
        r->blen += take;
        r->body[r->blen] = '\0';
        kc_consume(k, take);
        n -= take;
    }
    return 0;
}

/* The value of header name in a raw header block, into out; NULL when
 * absent. */
static const char *
head_value(const char *head, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *p = head; p != NULL && *p != '\0';) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t m = strcspn(v, "\r\n");
            if (m >= outlen)
                m = outlen - 1;
            memcpy(out, v, m);
            out[m] = '\0';
            return out;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return NULL;
}

/* Reads one response: the status line, the headers, then the body by
 * Content-Length, chunks, or to the end. Returns the status, or -1. */
static int
kc_response(struct kconn *k, struct rresp *r)
{
    char line[4096], v[64];
    size_t used = 0;

    memset(r, 0, sizeof(*r));
    if (kc_line(k, line, sizeof(line)) < 0 ||
        sscanf(line, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    for (;;) {
        if (kc_line(k, line, sizeof(line)) < 0)
            return -1;
        if (line[0] == '\0')
            break;
        int n = snprintf(r->head + used, sizeof(r->head) - used, "%s\n", line);
        if (n > 0 && used + (size_t)n < sizeof(r->head))
            used += (size_t)n;
    }
    r->keep = !(head_value(r->head, "Connection", v, sizeof(v)) != NULL &&
                strcasecmp(v, "close") == 0);
    if (head_value(r->head, "Transfer-Encoding", v, sizeof(v)) != NULL &&
        strcasecmp(v, "chunked") == 0) {
        for (;;) {
            unsigned long size;
            if (kc_line(k, line, sizeof(line)) < 0)
                return -1;
            size = strtoul(line, NULL, 16);
            if (size == 0)
                break;
            if (kc_body(k, r, size) < 0 || kc_line(k, line, sizeof(line)) < 0)
                return -1;
        }
        do
            if (kc_line(k, line, sizeof(line)) < 0)
                return -1;
        while (line[0] != '\0');
    } else if (head_value(r->head, "Content-Length", v, sizeof(v)) != NULL) {
        if (kc_body(k, r, strtoul(v, NULL, 10)) < 0)
            return -1;
    } else {
        r->keep = 0;
        while (kc_fill(k) > 0) {
            if (kc_body(k, r, k->len) < 0)
                return -1;
        }
    }
    if (r->body == NULL)
        r->body = calloc(1, 1);
    return r->status;
}

/* Sends a request on k (host NULL: 127.0.0.1:port; extra: header lines or
 * NULL; body: JSON or NULL) and reads the response. Returns the status or
 * -1 (r is then freeable). */
static int
kc_request(struct kconn *k, int port, const char *method, const char *path,
           const char *host, const char *extra, const char *body,
           struct rresp *r)
{
    char req[8192], self[32];
    snprintf(self, sizeof(self), "127.0.0.1:%d", port);
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: %s\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, host != NULL ? host : self,
                     extra != NULL ? extra : "",
                     body != NULL ? strlen(body) : 0, body != NULL ? body : "");
    memset(r, 0, sizeof(*r));
    if (n < 0 || (size_t)n >= sizeof(req) || kc_send(k, req, (size_t)n) < 0)
        return -1;
    return kc_response(k, r);
}

/* One request on a connection of its own from src. Returns the status,
 * or 0 when no answer came. */
static int
raw_http(int port, const char *src, const char *method, const char *path,
         const char *host, const char *extra, const char *body, struct rresp *r)
{
    struct kconn *k = malloc(sizeof(*k));
    int st = -1;

    memset(r, 0, sizeof(*r));
    if (k != NULL && kc_open(k, port, src, HTTP_MS) == 0) {
        st = kc_request(k, port, method, path, host, extra, body, r);
        kc_close(k);
    }
    free(k);
    return st > 0 ? st : 0;
}

/* ------------------------------------------------------------------ */
/* The daemons                                                         */

struct daemon {
    pid_t pid;
    int port;
    int status;
    char log[512];
};

static char tmpdir[256];

/* Starts binmcpd --mode sse on a free port with two workers and extra
 * arguments (NULL-terminated). Returns 0, or -1 after printing its log. */
static int
daemon_start(struct daemon *d, const char *tag, const char *const *extra)
{
    const char *argv[40] = {
        tl_binmcpd_path(), "--mode", "sse",         "--bind", "127.0.0.1",
        "--port",          "0",      "--workers",   "2",      "--read-only",
        "--drain-timeout", "2",      "--log-level", "info"};
    static const char *const env[] = {"BINANCE_BASE_URL=http://127.0.0.1:1",
                                      "BINANCE_TESTNET_URL=http://127.0.0.1:1",
                                      NULL};
    int n = 14, fd, nul;

    for (int i = 0; extra != NULL && extra[i] != NULL && n < 39; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    snprintf(d->log, sizeof(d->log), "%s/%s.log", tmpdir, tag);
    fd =
        open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    d->status = -1;
    d->port = 0;
    d->pid =
        fd >= 0 && nul >= 0 ? tl_spawn(argv, env, nul, fd, fd, SIGKILL) : -1;
    if (fd >= 0)
        close(fd);
    if (nul >= 0)
        close(nul);
    if (d->pid > 0)
        d->port = tl_wait_listening(d->log, d->pid, START_MS, &d->status);
    if (d->port <= 0) {
        char *log = tl_slurp(d->log, NULL);
        fprintf(stderr, "test_admission: %s did not start; its log:\n%s\n", tag,
                log != NULL ? log : "(none)");
        free(log);
        if (d->port == 0 && d->pid > 0) {
            kill(d->pid, SIGKILL);
            tl_wait_exit(d->pid, 5000, &d->status);
        }
        d->pid = -1;
        return -1;
    }
    return 0;
}

/* SIGTERM, then the exit status: 1 when it exited 0 in time. */
static int
daemon_stop(struct daemon *d)
{
    int ok;
    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    ok = tl_wait_exit(d->pid, 8000, &d->status) == 0 && WIFEXITED(d->status) &&
         WEXITSTATUS(d->status) == 0;
    d->pid = -1;
    return ok;
}

/* The value of one series in the daemon's /metrics (-1 when absent). */
static double
metric(const struct daemon *d, const char *extra, const char *series)
{
    struct httpc_resp r;
    double v = -1;
    size_t n = strlen(series);

    httpc_request(d->port, "GET", "/metrics", extra, NULL, 0, HTTP_MS, &r);
    for (const char *p = r.body; r.status == 200 && p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    httpc_resp_free(&r);
    return v;
}

/* The integer at key of the daemon's /health (-1 when absent). */
static long long
health(const struct daemon *d, const char *key)
{
    struct httpc_resp r;
    long long v = -1;
    httpc_request(d->port, "GET", "/health", NULL, NULL, 0, HTTP_MS, &r);
    json_object *o = r.body != NULL ? json_tokener_parse(r.body) : NULL;
    if (o != NULL && tl_get_path(o, key) != NULL)
        v = (long long)tl_int_at(o, key);
    json_object_put(o);
    httpc_resp_free(&r);
    return v;
}

/* A Streamable HTTP session from src (extra: header lines, e.g. a token).
 * Returns the status; sid gets the Mcp-Session-Id of a 200. ev (may be
 * NULL) gets the SSE id of the answer. */
static int
sh_init(int port, const char *src, const char *extra, char *sid, size_t len,
        char *ev, size_t evlen)
{
    char hdr[512];
    struct rresp r;
    snprintf(hdr, sizeof(hdr), SH_HEADERS "%s", extra != NULL ? extra : "");
    int st = raw_http(port, src, "POST", "/mcp", NULL, hdr, INIT_BODY, &r);
    if (st == 200 && (head_value(r.head, "Mcp-Session-Id", sid, len) == NULL ||
                      strstr(r.body, "\"protocolVersion\"") == NULL))
        st = -1;
    if (st == 200 && ev != NULL) {
        const char *id = strstr(r.body, "id: ");
        size_t n = id != NULL ? strcspn(id + 4, "\r\n") : 0;
        if (n == 0 || n >= evlen)
            st = -1;
        else
            snprintf(ev, evlen, "%.*s", (int)n, id + 4);
    }
    rresp_free(&r);
    return st;
}

/* A ping on session sid. Returns the status; a 200 must carry a result. */
static int
sh_ping(int port, const char *src, const char *extra, const char *sid)
{
    char hdr[512];
    struct rresp r;
    snprintf(hdr, sizeof(hdr), SH_HEADERS "Mcp-Session-Id: %s\r\n%s", sid,
             extra != NULL ? extra : "");
    int st = raw_http(port, src, "POST", "/mcp", NULL, hdr, PING_BODY, &r);
    if (st == 200 && strstr(r.body, "\"result\"") == NULL)
        st = -1;
    rresp_free(&r);
    return st;
}

/* Whether r's body is {"error": code, ...} (the transport errors). */
static int
error_is(const struct rresp *r, const char *code)
{
    json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL;
    int ok = strcmp(tl_str_at(o, "error"), code) == 0;
    if (!ok)
        fprintf(stderr, "test_admission: wanted error %s, got %d %s\n", code,
                r->status, r->body != NULL ? r->body : "");
    json_object_put(o);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Suite "units": Host names, per-address counts, settings             */

static void
test_hosts(void)
{
    char err[256];
    static const char *const good[] = {"",
                                       "*",
                                       "mcp.example.com",
                                       "a.b, c:80 ,[::1]:8000",
                                       "10.0.0.5",
                                       "[fd00::1]",
                                       "under_score.local:65535"};
    static const char *const bad[] = {"a b", "[::1", "x:0", "x:65536", "a,,b",
                                      "h/x", "::1",  "x:",  "[]"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CU_ASSERT_EQUAL(auth_hosts_check(good[i], err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(auth_hosts_check(bad[i], err, sizeof(err)), -1);
        CU_ASSERT_TRUE(tl_contains(err, "not a host name"));
    }
    /* the loopback names, with any port, whatever the list */
    CU_ASSERT_EQUAL(auth_host_allowed(NULL, NULL, "127.0.0.1"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("localhost:8000", NULL, "127.0.0.1"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("LocalHost.", "", "127.0.0.1"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("127.0.0.1", NULL, "::1"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("[::1]:9", NULL, "127.0.0.1"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("evil.example", NULL, "127.0.0.1"), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("127.0.0.1.evil.example", NULL, NULL), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("localhost:80x", NULL, NULL), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("::1", NULL, NULL), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("", NULL, NULL), 0);
    /* the bind address, but not a wildcard */
    CU_ASSERT_EQUAL(auth_host_allowed("10.1.2.3:8000", NULL, "10.1.2.3"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("[fd00::5]:1", NULL, "fd00::5"), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("0.0.0.0:8000", NULL, "0.0.0.0"), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("[::]", NULL, "::"), 0);
    /* the list: a name with any port, or with its port */
    const char *list = "mcp.example.com, api.example.com:8443";
    CU_ASSERT_EQUAL(auth_host_allowed("mcp.example.com", list, NULL), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("MCP.Example.com.:9", list, NULL), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("api.example.com:8443", list, NULL), 1);
    CU_ASSERT_EQUAL(auth_host_allowed("api.example.com:8444", list, NULL), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("api.example.com", list, NULL), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("example.com", list, NULL), 0);
    CU_ASSERT_EQUAL(auth_host_allowed("anything:1", "x, *", NULL), 1);
}

static void
test_conn_limit(void)
{
    char err[256];
    struct conn_limit *cl = cl_create(2, 3, err, sizeof(err));
    uint64_t a, b;
    int untracked = 0;

    CU_ASSERT_FATAL(cl != NULL);
    CU_ASSERT_PTR_NULL(cl_create(0, 3, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(cl_create(2, 0, err, sizeof(err)));
    a = cl_key(cl, "127.0.0.2");
    b = cl_key(cl, "2001:db8:1:2::/64");
    CU_ASSERT_NOT_EQUAL(a, 0);
    CU_ASSERT_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(cl_add(cl, 0, a), 1);
    CU_ASSERT_EQUAL(cl_add(cl, 0, a), 1);
    CU_ASSERT_EQUAL(cl_full(cl, a), 0);
    CU_ASSERT_EQUAL(cl_add(cl, 1, a), 1); /* the sum over the workers */
    CU_ASSERT_EQUAL(cl_count(cl, a), 3);
    CU_ASSERT_EQUAL(cl_full(cl, a), 1);
    CU_ASSERT_EQUAL(cl_full(cl, b), 0);
    cl_remove(cl, 0, a);
    CU_ASSERT_EQUAL(cl_full(cl, a), 0);
    cl_remove(cl, 0, b); /* never added: nothing happens */
    CU_ASSERT_EQUAL(cl_count(cl, a), 2);
    /* a new worker in slot 1 forgets its predecessor's */
    cl_reset_worker(cl, 1);
    CU_ASSERT_EQUAL(cl_count(cl, a), 1);
    CU_ASSERT_EQUAL(cl_add(cl, 2, a), 0); /* no such worker */
    /* many addresses: counted, or (near a crowded place) untracked,
     * never miscounted */
    for (int i = 0; i < 3 * CL_DEFAULT_ENTRIES; i++) {
        char key[32];
        snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        uint64_t k = cl_key(cl, key);
        if (cl_add(cl, 0, k) == 0)
            untracked++;
        else if (cl_count(cl, k) != 1)
            untracked = -1000000;
    }
    CU_ASSERT_TRUE(untracked >= 0);
    CU_ASSERT_EQUAL(cl_count(cl, a), 1);
    cl_destroy(cl);
}

/* settings_load of --mode sse plus args, with an empty configuration. */
static int
load_sse(const char *const *args, char *err, size_t errlen)
{
    char conf[512];
    const char *argv[24] = {"binmcpd", "--config", conf, "--mode", "sse"};
    int argc = 5;
    struct settings s;

    snprintf(conf, sizeof(conf), "%s/empty.conf", tmpdir);
    FILE *f = fopen(conf, "w");
    if (f != NULL)
        fclose(f);
    for (int i = 0; args[i] != NULL && argc < 23; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    int rc = settings_load(&s, argc, (char **)(uintptr_t)argv, err, errlen);
    settings_wipe(&s);
    return rc;
}

static void
test_settings_public_bind(void)
{
    static const char *const public_open[] = {"--bind", "0.0.0.0",
                                              "--allow-unauthenticated", NULL};
    static const char *const public_hosts[] = {
        "--bind",          "0.0.0.0",         "--allow-unauthenticated",
        "--allowed-hosts", "mcp.example.com", NULL};
    static const char *const loopback[] = {"--bind", "127.0.0.1", NULL};
    static const char *const bad_list[] = {"--allowed-hosts", "a b", NULL};
    static const char *const defaults[] = {NULL};
    char err[512], path[600];
    struct settings s;

    CU_ASSERT_EQUAL(load_sse(public_open, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(tl_contains(err, "allowed_hosts"));
    CU_ASSERT_TRUE(tl_contains(err, "0.0.0.0"));
    CU_ASSERT_EQUAL(load_sse(public_hosts, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(load_sse(loopback, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(load_sse(bad_list, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(tl_contains(err, "--allowed-hosts"));
    CU_ASSERT_EQUAL(load_sse(defaults, err, sizeof(err)), 0);

    settings_defaults(&s);
    CU_ASSERT_EQUAL(s.max_connections, 50);
    CU_ASSERT_EQUAL(s.max_sessions, 10000);
    CU_ASSERT_EQUAL(s.max_sessions_per_client, 1000);
    CU_ASSERT_EQUAL(s.request_timeout_s, REQ_TIMEOUT_S);
    CU_ASSERT_EQUAL(s.max_connections_per_ip, PER_IP);
    CU_ASSERT_STRING_EQUAL(s.allowed_hosts, "");

    /* the daemon itself refuses to start, and says why */
    const char *argv[] = {tl_binmcpd_path(),
                          "--mode",
                          "sse",
                          "--bind",
                          "0.0.0.0",
                          "--port",
                          "0",
                          "--allow-unauthenticated",
                          NULL};
    snprintf(path, sizeof(path), "%s/public.log", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0 && nul >= 0);
    int status;
    pid_t pid = tl_spawn(argv, NULL, nul, fd, fd, SIGKILL);
    close(fd);
    close(nul);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(tl_wait_exit(pid, 5000, &status), 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char *log = tl_slurp(path, NULL);
    CU_ASSERT_TRUE(tl_contains(log, "allowed_hosts"));
    CU_ASSERT_FALSE(tl_contains(log, "listening on"));
    free(log);
}

static CU_TestInfo unit_tests[] = {
    {"allowed_hosts: syntax; loopback, bind and listed names", test_hosts},
    {"connections per address: summed over workers, reset per worker",
     test_conn_limit},
    {"a public bind needs allowed_hosts; the defaults",
     test_settings_public_bind},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "sessions": the flood                                         */

static struct daemon sd = {-1, 0, -1, ""};

struct flood {
    pthread_t th;
    int port;
    const char *src;
    int n;
    int ok, fail, last_status;
};

/* A flood thread: n initialize POSTs on keep-alive connections. */
static void *
flood_main(void *arg)
{
    struct flood *f = arg;
    struct kconn *k = malloc(sizeof(*k));

    if (k == NULL) {
        f->fail = f->n;
        return NULL;
    }
    k->fd = -1;
    for (int i = 0; i < f->n; i++) {
        struct rresp r;
        int st = -1;
        if (k->fd < 0 && kc_open(k, f->port, f->src, HTTP_MS) < 0) {
            f->fail++;
            continue;
        }
        st = kc_request(k, f->port, "POST", "/mcp", NULL, SH_HEADERS, INIT_BODY,
                        &r);
        if (st == 200 && r.body != NULL &&
            strstr(r.body, "\"protocolVersion\"") != NULL) {
            f->ok++;
        } else {
            f->fail++;
            f->last_status = st;
        }
        if (st < 0 || !r.keep)
            kc_close(k);
        rresp_free(&r);
    }
    kc_close(k);
    free(k);
    return NULL;
}

/* n initialize POSTs from src over FLOOD_THREADS threads; returns how
 * many were answered 200 with an InitializeResult. */
static int
flood(int port, const char *src, int n, double *secs)
{
    struct flood f[FLOOD_THREADS];
    int64_t t0 = tl_now_ms();
    int ok = 0, fail = 0, last = 0;

    for (int i = 0; i < FLOOD_THREADS; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].port = port;
        f[i].src = src;
        f[i].n = n / FLOOD_THREADS + (i < n % FLOOD_THREADS);
        if (pthread_create(&f[i].th, NULL, flood_main, &f[i]) != 0)
            f[i].th = 0;
    }
    for (int i = 0; i < FLOOD_THREADS; i++) {
        if (f[i].th != 0)
            pthread_join(f[i].th, NULL);
        ok += f[i].ok;
        fail += f[i].fail;
        if (f[i].fail > 0)
            last = f[i].last_status;
    }
    *secs = (double)(tl_now_ms() - t0) / 1000;
    fprintf(stderr,
            "test_admission: %d initialize POSTs from %s: %d ok, %d failed "
            "(last status %d) in %.1f s\n",
            n, src, ok, fail, last, *secs);
    return ok;
}

static void
test_flood(void)
{
    static const char *const args[] = {"--max-sessions",
                                       "1500",
                                       "--max-sessions-per-client",
                                       "1000",
                                       "--max-connections",
                                       "50",
                                       NULL};
    struct httpc_sse stream;
    struct httpc_event ev;
    char g1[128], g2[128], g2b[128], g3[128], hdr[256], f2last[128];
    double secs;
    int ok, rc;

    CU_ASSERT_FATAL(daemon_start(&sd, "sessions", args) == 0);
    /* client G (127.0.0.1): G1 keeps a stream open, G2 and G2b have
     * none */
    CU_ASSERT_EQUAL_FATAL(sh_init(sd.port, NULL, NULL, g1, sizeof(g1), NULL, 0),
                          200);
    CU_ASSERT_EQUAL_FATAL(
        sh_init(sd.port, NULL, NULL, g2b, sizeof(g2b), NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(sh_init(sd.port, NULL, NULL, g2, sizeof(g2), NULL, 0),
                          200);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n", g1);
    CU_ASSERT_EQUAL_FATAL(
        httpc_sse_open(&stream, sd.port, "GET", "/mcp", hdr, NULL, 0, HTTP_MS),
        0);
    CU_ASSERT_EQUAL(stream.status, 200);

    /* the flood: one client, never a DELETE; its cap makes it evict its
     * own idle sessions, so every one of them is answered */
    ok = flood(sd.port, "127.0.0.2", FLOOD_N, &secs);
    CU_ASSERT_EQUAL(ok, FLOOD_N);
    CU_ASSERT_TRUE(secs < 60);
    CU_ASSERT_TRUE(health(&sd, "sessions") <= MAX_SESSIONS);
    CU_ASSERT_TRUE(metric(&sd, NULL,
                          "binmcpd_sessions_evicted_total{reason=\"client_"
                          "cap\"}") >= FLOOD_N - PER_CLIENT);
    CU_ASSERT_EQUAL(metric(&sd, NULL,
                           "binmcpd_sessions_evicted_total{reason=\"table_"
                           "full\"}"),
                    0);
    /* G's sessions were not the flood's to take (G2b is left untouched,
     * so that it stays the least recently used); a new one works too */
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g1), 200);
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g2), 200);
    CU_ASSERT_EQUAL(sh_init(sd.port, NULL, NULL, g3, sizeof(g3), NULL, 0), 200);
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g3), 200);

    /* a second client fills the table: the least recently used idle
     * sessions go, G2b first, then the first flood's oldest (about 500);
     * not G1, whose stream is open, nor G2 and G3, used since */
    ok = flood(sd.port, "127.0.0.3", FLOOD2_N, &secs);
    CU_ASSERT_EQUAL(ok, FLOOD2_N);
    CU_ASSERT_TRUE(metric(&sd, NULL,
                          "binmcpd_sessions_evicted_total{reason=\"table_"
                          "full\"}") >= 500);
    CU_ASSERT_EQUAL(health(&sd, "sessions"), MAX_SESSIONS);
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g2b), 404);
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g1), 200);
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g2), 200);
    CU_ASSERT_EQUAL(sh_ping(sd.port, NULL, NULL, g3), 200);
    CU_ASSERT_EQUAL(
        sh_init(sd.port, "127.0.0.3", NULL, f2last, sizeof(f2last), NULL, 0),
        200);
    CU_ASSERT_EQUAL(sh_ping(sd.port, "127.0.0.3", NULL, f2last), 200);
    /* G1's stream did not end (a timeout, or its retry hint) */
    rc = httpc_sse_next(&stream, &ev, 200);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    if (rc == 1)
        httpc_event_free(&ev);
    httpc_sse_close(&stream);
    CU_ASSERT_TRUE(daemon_stop(&sd));
}

static CU_TestInfo session_tests[] = {
    {"100,000 initializes from one client; others keep being served",
     test_flood},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "tokens": credentials, the per-token cap, Host                */

static struct daemon td = {-1, 0, -1, ""};

static int
tokens_up(void)
{
    char path[512];
    static char tokpath[512];
    static const char *args[] = {"--auth-tokens-file",
                                 tokpath,
                                 "--max-sessions-per-client",
                                 "3",
                                 "--allowed-hosts",
                                 "mcp.test",
                                 NULL};
    snprintf(tokpath, sizeof(tokpath), "%s/tokens", tmpdir);
    snprintf(path, sizeof(path), "%s", tokpath);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%s\n%s\n", TOKEN_A, TOKEN_B);
    fclose(f);
    chmod(path, 0600);
    return daemon_start(&td, "tokens", args);
}

/* A legacy session of token auth: its stream, and its endpoint path. */
static int
legacy_open(struct httpc_sse *s, const char *auth, char *endpoint, size_t len)
{
    char hdr[256];
    struct httpc_event ev;
    snprintf(hdr, sizeof(hdr), "Accept: text/event-stream\r\n%s", auth);
    if (httpc_sse_open(s, td.port, "GET", "/mcp/sse", hdr, NULL, 0, HTTP_MS) <
        0)
        return -1;
    if (s->status != 200)
        return s->status;
    do {
        if (httpc_sse_next(s, &ev, HTTP_MS) != 1)
            return -1;
        int endpoint_seen = strcmp(ev.event, "endpoint") == 0;
        if (endpoint_seen)
            snprintf(endpoint, len, "%s", ev.data);
        httpc_event_free(&ev);
        if (endpoint_seen)
            return 200;
    } while (1);
}

static void
test_credentials(void)
{
    struct httpc_sse ls, gs;
    struct rresp r;
    char endpoint[256], sid[128], evid[128], hdr[512];

    CU_ASSERT_FATAL(tokens_up() == 0);
    /* legacy: POST /mcp/message with B on A's session is unknown */
    CU_ASSERT_EQUAL_FATAL(legacy_open(&ls, AUTH_A, endpoint, sizeof(endpoint)),
                          200);
    CU_ASSERT_EQUAL(raw_http(td.port, NULL, "POST", endpoint, NULL,
                             "Content-Type: application/json\r\n" AUTH_B,
                             PING_BODY, &r),
                    404);
    CU_ASSERT_TRUE(error_is(&r, "unknown_session"));
    rresp_free(&r);
    CU_ASSERT_EQUAL(raw_http(td.port, NULL, "POST", endpoint, NULL,
                             "Content-Type: application/json\r\n" AUTH_A,
                             PING_BODY, &r),
                    202);
    rresp_free(&r);
    httpc_sse_close(&ls);

    /* Streamable HTTP: POST, GET, resumption and DELETE with B are 404 */
    CU_ASSERT_EQUAL_FATAL(
        sh_init(td.port, NULL, AUTH_A, sid, sizeof(sid), evid, sizeof(evid)),
        200);
    CU_ASSERT_EQUAL(sh_ping(td.port, NULL, AUTH_B, sid), 404);
    CU_ASSERT_EQUAL(sh_ping(td.port, NULL, AUTH_A, sid), 200);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n" AUTH_B, sid);
    CU_ASSERT_EQUAL(raw_http(td.port, NULL, "GET", "/mcp", NULL, hdr, NULL, &r),
                    404);
    rresp_free(&r);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
             "Last-Event-ID: %s\r\n" AUTH_B,
             sid, evid);
    CU_ASSERT_EQUAL(raw_http(td.port, NULL, "GET", "/mcp", NULL, hdr, NULL, &r),
                    404);
    rresp_free(&r);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n"
             "Last-Event-ID: %s\r\n" AUTH_A,
             sid, evid);
    CU_ASSERT_EQUAL(raw_http(td.port, NULL, "GET", "/mcp", NULL, hdr, NULL, &r),
                    200);
    rresp_free(&r);
    snprintf(hdr, sizeof(hdr),
             "Accept: text/event-stream\r\nMcp-Session-Id: %s\r\n" AUTH_A, sid);
    CU_ASSERT_EQUAL(
        httpc_sse_open(&gs, td.port, "GET", "/mcp", hdr, NULL, 0, HTTP_MS), 0);
    CU_ASSERT_EQUAL(gs.status, 200);
    httpc_sse_close(&gs);
    snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s\r\n" AUTH_B, sid);
    CU_ASSERT_EQUAL(
        raw_http(td.port, NULL, "DELETE", "/mcp", NULL, hdr, NULL, &r), 404);
    rresp_free(&r);
    CU_ASSERT_EQUAL(sh_ping(td.port, NULL, AUTH_A, sid), 200);
    snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s\r\n" AUTH_A, sid);
    CU_ASSERT_EQUAL(
        raw_http(td.port, NULL, "DELETE", "/mcp", NULL, hdr, NULL, &r), 200);
    rresp_free(&r);
    CU_ASSERT_EQUAL(sh_ping(td.port, NULL, AUTH_A, sid), 404);
}

static void
test_token_cap(void)
{
    struct httpc_sse ls[4];
    char endpoint[256], sid[4][128], body[64];
    int st = 0;

    if (td.pid <= 0)
        CU_FAIL_FATAL("no daemon");
    /* B: three sessions, each with its stream: no fourth */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(legacy_open(&ls[i], AUTH_B, endpoint, sizeof(endpoint)),
                        200);
    CU_ASSERT_EQUAL(legacy_open(&ls[3], AUTH_B, endpoint, sizeof(endpoint)),
                    503);
    char *b = httpc_sse_body(&ls[3], HTTP_MS);
    snprintf(body, sizeof(body), "%s", b != NULL ? b : "");
    free(b);
    CU_ASSERT_TRUE(tl_contains(body, "\"max_sessions_per_client\""));
    httpc_sse_close(&ls[3]);
    CU_ASSERT_EQUAL(
        sh_init(td.port, NULL, AUTH_B, sid[0], sizeof(sid[0]), NULL, 0), 503);
    /* A is another client: served */
    CU_ASSERT_EQUAL(
        sh_init(td.port, NULL, AUTH_A, sid[0], sizeof(sid[0]), NULL, 0), 200);
    /* one of B's streams ends: room again, once the daemon noticed */
    httpc_sse_close(&ls[0]);
    for (int64_t end = tl_now_ms() + NOTICE_MS; tl_now_ms() < end;) {
        st = sh_init(td.port, NULL, AUTH_B, sid[1], sizeof(sid[1]), NULL, 0);
        if (st == 200)
            break;
        tl_sleep_ms(100);
    }
    CU_ASSERT_EQUAL(st, 200);
    httpc_sse_close(&ls[1]);
    httpc_sse_close(&ls[2]);

    /* A: three idle sessions, then a fourth: A's oldest goes */
    CU_ASSERT_EQUAL(
        sh_init(td.port, NULL, AUTH_A, sid[1], sizeof(sid[1]), NULL, 0), 200);
    CU_ASSERT_EQUAL(
        sh_init(td.port, NULL, AUTH_A, sid[2], sizeof(sid[2]), NULL, 0), 200);
    CU_ASSERT_EQUAL(
        sh_init(td.port, NULL, AUTH_A, sid[3], sizeof(sid[3]), NULL, 0), 200);
    CU_ASSERT_EQUAL(sh_ping(td.port, NULL, AUTH_A, sid[0]), 404);
    for (int i = 1; i < 4; i++)
        CU_ASSERT_EQUAL(sh_ping(td.port, NULL, AUTH_A, sid[i]), 200);
    CU_ASSERT_TRUE(metric(&td, AUTH_A,
                          "binmcpd_sessions_evicted_total{reason=\"client_"
                          "cap\"}") >= 1);
    CU_ASSERT_TRUE(metric(&td, AUTH_A,
                          "binmcpd_connections_rejected_total{reason=\"max_"
                          "sessions_per_client\"}") >= 2);
}

static void
test_misdirected(void)
{
    static const struct {
        const char *method, *path;
    } endpoints[] = {
        {"GET", "/"},
        {"GET", "/mcp/sse"},
        {"POST", "/mcp"},
        {"GET", "/metrics"},
        {"POST", "/mcp/message?sessionId=x"},
        {"DELETE", "/mcp"},
    };
    struct rresp r;
    struct kconn *k = malloc(sizeof(*k));
    int n421 = 0;

    if (td.pid <= 0 || k == NULL)
        CU_FAIL_FATAL("no daemon");
    double before = metric(&td, AUTH_A,
                           "binmcpd_connections_rejected_total{reason="
                           "\"misdirected_host\"}");
    /* another Host: 421 with a JSON error, before the token is asked */
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        int st = raw_http(td.port, NULL, endpoints[i].method, endpoints[i].path,
                          "evil.example:8000", SH_HEADERS, "{}", &r);
        CU_ASSERT_EQUAL(st, 421);
        CU_ASSERT_TRUE(error_is(&r, "misdirected_request"));
        n421 += st == 421;
        rresp_free(&r);
    }
    CU_ASSERT_EQUAL(
        raw_http(td.port, NULL, "GET", "/", "evil.example", AUTH_A, NULL, &r),
        421);
    n421++;
    rresp_free(&r);
    /* /health answers any Host */
    CU_ASSERT_EQUAL(raw_http(td.port, NULL, "GET", "/health", "evil.example",
                             NULL, NULL, &r),
                    200);
    rresp_free(&r);
    /* allowed: the listed name (any port, any case, a trailing dot), the
     * loopback names */
    static const char *const fine[] = {"mcp.test", "MCP.Test.:8443",
                                       "localhost:1", "[::1]", "127.0.0.1"};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        CU_ASSERT_EQUAL(
            raw_http(td.port, NULL, "GET", "/", fine[i], AUTH_A, NULL, &r),
            200);
        rresp_free(&r);
    }
    /* an HTTP/1.0 client without Host */
    CU_ASSERT_FATAL(kc_open(k, td.port, NULL, HTTP_MS) == 0);
    const char *req = "GET / HTTP/1.0\r\n" AUTH_A "\r\n";
    CU_ASSERT_EQUAL(kc_send(k, req, strlen(req)), 0);
    CU_ASSERT_EQUAL(kc_response(k, &r), 200);
    rresp_free(&r);
    kc_close(k);
    free(k);
    double after = metric(&td, AUTH_A,
                          "binmcpd_connections_rejected_total{reason="
                          "\"misdirected_host\"}");
    CU_ASSERT_DOUBLE_EQUAL(after - before, n421, 0.5);
    CU_ASSERT_TRUE(daemon_stop(&td));
}

static CU_TestInfo token_tests[] = {
    {"a session answers only the token that made it (404 otherwise)",
     test_credentials},
    {"per token: the oldest idle session goes, or 503 when none is idle",
     test_token_cap},
    {"another Host: 421 everywhere but /health", test_misdirected},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "slow": request_timeout and max_connections_per_ip            */

static struct daemon wd = {-1, 0, -1, ""};

struct slow_conn {
    int fd;
    int64_t opened, closed; /* ms; closed 0 while open */
};

/* Opens n connections from the addresses src[0..nsrc), in turn. Returns
 * how many opened. */
static int
slow_open(struct slow_conn *c, int n, int port, char (*src)[16], int nsrc)
{
    int opened = 0;
    for (int i = 0; i < n; i++) {
        struct kconn k;
        c[i].fd = -1;
        c[i].closed = 0;
        if (kc_open(&k, port, src[i % nsrc], 3000) == 0) {
            c[i].fd = k.fd;
            opened++;
            /* the first bytes of a request line */
            if (send(k.fd, "G", 1, MSG_NOSIGNAL) != 1)
                c[i].closed = tl_now_ms();
        }
        c[i].opened = tl_now_ms();
    }
    return opened;
}

/* Notes the connections the daemon closed (EOF, reset), then sends each
 * open one one more byte of its never-ending request. */
static void
slow_step(struct slow_conn *c, int n, int send_byte)
{
    static const char req[] = "ET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (int i = 0; i < n; i++) {
        if (c[i].fd < 0 || c[i].closed != 0)
            continue;
        struct pollfd p = {c[i].fd, POLLIN | POLLRDHUP, 0};
        if (poll(&p, 1, 0) > 0 &&
            (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))) {
            char buf[256];
            ssize_t r = recv(c[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r <= 0) {
                c[i].closed = tl_now_ms();
                continue;
            }
        }
        if (send_byte) {
            int64_t age = (tl_now_ms() - c[i].opened) / 1000;
            size_t at = (size_t)age % (sizeof(req) - 1);
            if (send(c[i].fd, req + at, 1, MSG_NOSIGNAL) != 1)
                c[i].closed = tl_now_ms();
        }
    }
}

struct probe {
    pthread_t th;
    int port;
    volatile int stop;
    int n, failed;
    int64_t worst_ms;
};

/* Every 250 ms: GET /health and an initialize from 127.0.0.1. */
static void *
probe_main(void *arg)
{
    struct probe *p = arg;
    while (!p->stop) {
        struct httpc_resp r;
        char sid[128];
        int64_t t0 = tl_now_ms();
        httpc_request(p->port, "GET", "/health", NULL, NULL, 0, HTTP_MS, &r);
        int64_t t1 = tl_now_ms();
        int ok = r.status == 200;
        httpc_resp_free(&r);
        ok &= sh_init(p->port, NULL, NULL, sid, sizeof(sid), NULL, 0) == 200;
        int64_t t2 = tl_now_ms();
        p->n++;
        p->failed += !ok;
        if (t1 - t0 > p->worst_ms)
            p->worst_ms = t1 - t0;
        if (t2 - t1 > p->worst_ms)
            p->worst_ms = t2 - t1;
        tl_sleep_ms(250);
    }
    return NULL;
}

/* Raises the descriptor limit to what the slow phase needs; returns how
 * many slow connections per phase fit (SLOW_N unless the hard limit is
 * lower). */
static int
fd_room(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 400;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 2 * SLOW_N + 256)
        return SLOW_N;
    return rl.rlim_cur > 512 ? (int)(rl.rlim_cur - 256) / 2 : 128;
}

static void
test_slow(void)
{
    static const char *const args[] = {"--max-connections", "50", NULL};
    static char one[1][16] = {"127.0.0.2"};
    static char many[SLOW_ADDRS][16];
    int n = fd_room();
    struct slow_conn *a = calloc((size_t)n, sizeof(*a));
    struct slow_conn *b = calloc((size_t)n, sizeof(*b));
    struct probe p;
    struct httpc_sse legacy;

    CU_ASSERT_FATAL(a != NULL && b != NULL);
    if (n < SLOW_N)
        fprintf(stderr,
                "test_admission: the descriptor limit allows %d slow "
                "connections per phase, not %d\n",
                n, SLOW_N);
    for (int i = 0; i < SLOW_ADDRS; i++)
        snprintf(many[i], sizeof(many[i]), "127.0.0.%d", 10 + i);
    CU_ASSERT_FATAL(daemon_start(&wd, "slow", args) == 0);
    memset(&p, 0, sizeof(p));
    p.port = wd.port;
    CU_ASSERT_FATAL(pthread_create(&p.th, NULL, probe_main, &p) == 0);

    /* n slow connections from one address, n from SLOW_ADDRS others */
    int64_t t0 = tl_now_ms();
    int opened_a = slow_open(a, n, wd.port, one, 1);
    int opened_b = slow_open(b, n, wd.port, many, SLOW_ADDRS);
    fprintf(stderr,
            "test_admission: %d + %d slow connections opened in %lld "
            "ms\n",
            opened_a, opened_b, (long long)(tl_now_ms() - t0));
    CU_ASSERT_EQUAL(opened_a, n);
    CU_ASSERT_EQUAL(opened_b, n);

    int held_a = -1, held_b = -1, stream_ok = 0;
    int64_t last_byte = 0;
    while (tl_now_ms() - t0 < SLOW_RUN_MS) {
        int send_byte = tl_now_ms() - last_byte >= 1000;
        if (send_byte)
            last_byte = tl_now_ms();
        slow_step(a, n, send_byte);
        slow_step(b, n, send_byte);
        if (held_a < 0 && tl_now_ms() - t0 >= 7000) {
            /* well before request_timeout: what the daemon kept */
            held_a = held_b = 0;
            for (int i = 0; i < n; i++) {
                held_a += a[i].fd >= 0 && a[i].closed == 0;
                held_b += b[i].fd >= 0 && b[i].closed == 0;
            }
            /* the pending connections are not streams: one opens */
            stream_ok = httpc_sse_open(&legacy, wd.port, "GET", "/mcp/sse",
                                       "Accept: text/event-stream\r\n", NULL, 0,
                                       HTTP_MS) == 0 &&
                        legacy.status == 200;
            httpc_sse_close(&legacy);
        }
        tl_sleep_ms(50);
    }
    p.stop = 1;
    pthread_join(p.th, NULL);

    int early = 0, late = 0, open_left = 0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            struct slow_conn *c = k == 0 ? &a[i] : &b[i];
            if (c->fd < 0)
                continue;
            if (c->closed == 0)
                open_left++;
            else if (c->closed - c->opened < (REQ_TIMEOUT_S - 1) * 1000)
                early += k == 1; /* only one address is cut short */
            else if (c->closed - c->opened > (REQ_TIMEOUT_S + 3) * 1000)
                late++;
            close(c->fd);
        }
    }
    fprintf(stderr,
            "test_admission: one address: %d of %d kept; many: %d of %d "
            "kept; probe: %d rounds, %d failed, worst %lld ms\n",
            held_a, n, held_b, n, p.n, p.failed, (long long)p.worst_ms);
    /* one address: all but max_connections_per_ip closed at once (two
     * workers accepting at the same instant may each pass it by one) */
    CU_ASSERT_TRUE(held_a >= PER_IP - 2 && held_a <= PER_IP + 2);
    /* many addresses under the limit: all kept until request_timeout */
    CU_ASSERT_EQUAL(held_b, n);
    CU_ASSERT_EQUAL(early, 0);
    CU_ASSERT_EQUAL(late, 0);
    CU_ASSERT_EQUAL(open_left, 0);
    CU_ASSERT_TRUE(stream_ok);
    /* the probe was answered, promptly, throughout */
    CU_ASSERT_TRUE(p.n >= 20);
    CU_ASSERT_EQUAL(p.failed, 0);
    CU_ASSERT_TRUE(p.worst_ms < PROMPT_MS);
    CU_ASSERT_TRUE(metric(&wd, NULL,
                          "binmcpd_connections_rejected_total{reason=\"max_"
                          "connections_per_ip\"}") >= n - PER_IP - 2);
    CU_ASSERT_TRUE(metric(&wd, NULL,
                          "binmcpd_connections_rejected_total{reason="
                          "\"request_timeout\"}") >= held_a + held_b);
    CU_ASSERT_TRUE(daemon_stop(&wd));
    free(a);
    free(b);
}

static CU_TestInfo slow_tests[] = {
    {"2,000 slow connections from one and from many addresses; the probe "
     "is answered",
     test_slow},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */

/* The scratch directory: $TESTS_BUILDDIR (make clean removes *.tmp there)
 * or /tmp; removed when every test passed. */
static int
suite_init(void)
{
    const char *dir = getenv("TESTS_BUILDDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_admission.%ld.tmp",
             dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid());
    return mkdir(tmpdir, 0700) == 0 ? 0 : -1;
}

static CU_SuiteInfo suites[] = {
    {"units", NULL, NULL, NULL, NULL, unit_tests},
    {"sessions", NULL, NULL, NULL, NULL, session_tests},
    {"tokens", NULL, NULL, NULL, NULL, token_tests},
    {"slow", NULL, NULL, NULL, NULL, slow_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (suite_init() < 0) {
        perror("test_admission: mkdir");
        return 1;
    }
    int rc = testlib_run(suites);
    if (sd.pid > 0)
        daemon_stop(&sd);
    if (td.pid > 0)
        daemon_stop(&td);
    if (wd.pid > 0)
        daemon_stop(&wd);
    if (rc == 0) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_admission: could not remove %s\n", tmpdir);
    }
    return rc;
}
