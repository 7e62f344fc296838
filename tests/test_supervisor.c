/*
 * test_supervisor.c - integration test of the prefork supervisor of
 * `binmcpd --mode sse`: the real daemon ($BINMCPD) with two workers talks
 * to the real fake exchange ($FAKEX); this program holds legacy SSE
 * streams (tests/httpc.h) and sends signals.
 *
 * What is checked (see "Supervisor and signals" in binmcpd(8)):
 *  - both workers come up;
 *  - a worker killed with SIGKILL: its streams end, its session ids are
 *    404, it is respawned (worker_restarts 1, a new pid, log lines naming
 *    both pids), the other worker's streams go on, and a client of the dead
 *    worker reconnects and gets a tool result (the time from the kill to
 *    that result is printed);
 *  - SIGHUP changes nothing;
 *  - SIGTERM, SIGINT, SIGQUIT end every stream cleanly with a retry hint
 *    and the daemon exits 0 within --drain-timeout plus 2 s, leaving no
 *    worker behind;
 *  - workers exit when the supervisor is killed with SIGKILL;
 *  - a kill storm never stops the daemon: workers come back within the
 *    backoff cap, and every restart is counted in /health and /metrics.
 *
 * Every wait has a deadline. Only processes started here are signalled:
 * the fake exchange, each supervisor, and that supervisor's workers (found
 * by scanning /proc for its children). This program is a child subreaper,
 * so workers orphaned by a killed supervisor become its children and are
 * reaped here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "fakex.h"
#include "httpc.h"
#include "testlib.h"


#define NWORKERS         2
#define DRAIN_S          3     /* --drain-timeout of the daemons */
#define START_TIMEOUT_MS 10000 /* daemon start to "listening on" */
#define HTTP_TIMEOUT_MS  5000  /* one request or stream open */
#define RPC_TIMEOUT_MS   8000  /* one JSON-RPC answer on a stream */
#define RECONNECT_MS     10000 /* kill to first tool result, at most */
#define RESPAWN_MS       5000  /* kill to a new worker, at most */
#define MAX_CLIENTS      32
#define MAX_PIDS         64
#define CRASH_LOOP_MS    15000 /* how long to keep killing workers */

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* Whether line (up to its newline) holds pid as a whole number. */
static int
line_has_pid(const char *line, const char *end, pid_t pid)
{
    char num[24];
    size_t nl;

    snprintf(num, sizeof(num), "%ld", (long)pid);
    nl = strlen(num);
    for (const char *p = line; p + nl <= end; p++) {
        if (memcmp(p, num, nl) != 0)
            continue;
        if ((p == line || !isdigit((unsigned char)p[-1])) &&
            (p + nl == end || !isdigit((unsigned char)p[nl])))
            return 1;
    }
    return 0;
}

/* Whether some line of the file at path names pid (when pid > 0) and holds
 * one of the words (a NULL-terminated list; case-sensitive). */
static int
log_has_line(const char *path, pid_t pid, const char *const *words)
{
    char *log = tl_slurp(path, NULL);
    int found = 0;

    for (char *line = log; line != NULL && *line != '\0' && !found;) {
        char *end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        char save = *end;
        *end = '\0';
        if (pid <= 0 || line_has_pid(line, end, pid))
            for (int i = 0; words[i] != NULL && !found; i++)
                found = strstr(line, words[i]) != NULL;
        *end = save;
        line = *end != '\0' ? end + 1 : end;
    }
    free(log);
    return found;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */

static struct fakex fx;

static pid_t
fx_pid(void)
{
    return fx.pid;
}

/* Fields of /proc/PID/stat: state, parent and start time. Returns 0, or -1
 * when there is no such process. */
static int
proc_stat(pid_t pid, char *state, pid_t *ppid, unsigned long long *start)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;
    char *p;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: skip past the last
     * ')' */
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    int pp = 0;
    unsigned long long st = 0;
    char s = '?';
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice threads itrealvalue start */
    if (sscanf(p + 1,
               " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
               "%*d %*d %*d %*d %llu",
               &s, &pp, &st) != 3)
        return -1;
    if (state != NULL)
        *state = s;
    if (ppid != NULL)
        *ppid = pp;
    if (start != NULL)
        *start = st;
    return 0;
}

/* The live (not zombie) children of parent, up to max. Returns how many. */
static int
children_of(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        char state, *end;
        pid_t ppid;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        if (proc_stat((pid_t)pid, &state, &ppid, NULL) == 0 && ppid == parent &&
            state != 'Z')
            out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

/* A process we watch: its pid and start time (so a reused pid is not
 * mistaken for it). */
struct proc_ref {
    pid_t pid;
    unsigned long long start;
};

static struct proc_ref
proc_ref(pid_t pid)
{
    struct proc_ref r = {pid, 0};
    if (proc_stat(pid, NULL, NULL, &r.start) < 0)
        r.pid = 0;
    return r;
}

/* Whether the process still runs. A zombie counts as gone; when it is a
 * child of this (subreaper) process it is reaped here. */
static int
proc_alive(struct proc_ref r)
{
    char state;
    unsigned long long start;

    if (r.pid <= 0 || proc_stat(r.pid, &state, NULL, &start) < 0 ||
        start != r.start)
        return 0;
    if (state == 'Z') {
        waitpid(r.pid, NULL, WNOHANG);
        return 0;
    }
    return 1;
}

/* Waits up to timeout_ms for every process in rs to be gone. Returns 1
 * when they all are. */
static int
wait_gone(const struct proc_ref *rs, int n, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    for (;;) {
        int alive = 0;
        for (int i = 0; i < n; i++)
            alive += proc_alive(rs[i]);
        if (alive == 0)
            return 1;
        if (tl_now_ms() >= end)
            return 0;
        tl_sleep_ms(20);
    }
}

/* Children of this (subreaper) process other than the fake exchange and
 * keep: workers that a supervisor left behind when it exited. Kills and
 * reaps them, reaps zombies, and returns how many were still running. */
static int
reap_leftovers(pid_t keep)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char state, *end;
        pid_t ppid;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == fx_pid() || pid == keep ||
            proc_stat((pid_t)pid, &state, &ppid, NULL) < 0 || ppid != getpid())
            continue;
        if (state != 'Z') {
            fprintf(stderr, "test_supervisor: process %ld was left behind\n",
                    pid);
            kill((pid_t)pid, SIGKILL);
            n++;
        }
        waitpid((pid_t)pid, NULL, 0);
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* The daemon                                                          */

struct daemon {
    pid_t pid; /* the supervisor; 0 once reaped */
    int port;
    int status; /* its wait status once reaped */
    char log[512];
};

#define MAX_LOGS 8
static char logs[MAX_LOGS][512];
static int nlogs;

/* A path for a daemon's stderr named tag: under $TESTS_BUILDDIR when set,
 * else under /tmp. Every path is remembered: the logs are evidence, kept
 * when a test failed (make clean removes the .tmp files), removed
 * otherwise. */
static void
log_path(const char *tag, char *out, size_t len)
{
    const char *dir = getenv("TESTS_BUILDDIR");
    /* the pid keeps two runs of this test (two builds, a developer's and
     * CI's) from writing each other's logs */
    snprintf(out, len, "%s/test_supervisor.%ld.%s.stderr.tmp",
             dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid(), tag);
    if (nlogs < MAX_LOGS)
        snprintf(logs[nlogs++], sizeof(logs[0]), "%s", out);
}

/* Reaps the supervisor if it has exited. Returns 1 once it is reaped. */
static int
daemon_reaped(struct daemon *d)
{
    return tl_reaped(&d->pid, &d->status);
}

/* Waits up to timeout_ms for the supervisor to exit. Returns 1 when it
 * did (d->status holds its wait status). */
static int
daemon_wait(struct daemon *d, long timeout_ms)
{
    return tl_wait_reaped(&d->pid, &d->status, timeout_ms);
}

/* Starts `$BINMCPD --mode sse --port 0 --workers 2 --keepalive 1
 * --drain-timeout 3` with stderr in a file named after tag, and waits for
 * its "listening on 127.0.0.1:PORT" line. Returns 0 or -1. */
static int
daemon_start_args(struct daemon *d, const char *tag, const char *const *extra)
{
    char base[160], testnet[160];
    const char *envset[] = {base, testnet, "BINANCE_TIMEOUT_MS=3000", NULL};
    const char *argv[32] = {tl_binmcpd_path(),
                            "--mode",
                            "sse",
                            "--bind",
                            "127.0.0.1",
                            "--port",
                            "0",
                            "--workers",
                            "2",
                            "--keepalive",
                            "1",
                            "--drain-timeout",
                            "3",
                            NULL};
    int nargs = 0, fd, null_fd, st;

    while (argv[nargs] != NULL)
        nargs++;
    for (int i = 0; extra != NULL && extra[i] != NULL && nargs < 31; i++)
        argv[nargs++] = extra[i];
    argv[nargs] = NULL;

    memset(d, 0, sizeof(*d));
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    log_path(tag, d->log, sizeof(d->log));
    fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0 || null_fd < 0) {
        if (fd >= 0)
            close(fd);
        if (null_fd >= 0)
            close(null_fd);
        return -1;
    }
    /* should this program crash, the daemon must not outlive it (its
     * workers follow the supervisor) */
    d->pid = tl_spawn(argv, envset, null_fd, null_fd, fd, SIGKILL);
    close(fd);
    close(null_fd);
    if (d->pid < 0) {
        d->pid = 0;
        return -1;
    }
    d->port = tl_wait_listening(d->log, d->pid, START_TIMEOUT_MS, &st);
    if (d->port > 0)
        return 0;
    if (d->port < 0) {
        d->status = st;
        d->pid = 0;
    }
    d->port = 0;
    fprintf(stderr, "test_supervisor: the daemon did not start (see %s)\n",
            d->log);
    return -1;
}

static int
daemon_start(struct daemon *d, const char *tag)
{
    return daemon_start_args(d, tag, NULL);
}

/* The supervisor's live workers, up to max. */
static int
daemon_workers(const struct daemon *d, pid_t *out, int max)
{
    return d->pid > 0 ? children_of(d->pid, out, max) : 0;
}

/* Kills the supervisor and its workers (SIGKILL) if it still runs, and
 * reaps them. Safe to call twice. */
static void
daemon_kill(struct daemon *d)
{
    pid_t w[MAX_PIDS];
    struct proc_ref refs[MAX_PIDS];
    int n;

    if (daemon_reaped(d))
        return;
    n = daemon_workers(d, w, MAX_PIDS);
    for (int i = 0; i < n; i++)
        refs[i] = proc_ref(w[i]);
    kill(d->pid, SIGKILL);
    while (waitpid(d->pid, &d->status, 0) < 0 && errno == EINTR)
        ;
    d->pid = 0;
    for (int i = 0; i < n; i++)
        if (proc_alive(refs[i]))
            kill(refs[i].pid, SIGKILL);
    wait_gone(refs, n, 2000);
}

/* GET /health, parsed (caller owns); NULL when it did not answer 200. */
static json_object *
health(int port)
{
    struct httpc_resp r;
    json_object *o = NULL;

    memset(&r, 0, sizeof(r));
    if (httpc_request(port, "GET", "/health", NULL, NULL, 0, HTTP_TIMEOUT_MS,
                      &r) == 0 &&
        r.status == 200 && r.body != NULL)
        o = json_tokener_parse(r.body);
    httpc_resp_free(&r);
    return o;
}

/* Polls /health until workers_alive == alive and (restarts >= 0)
 * worker_restarts == restarts, for up to timeout_ms. Returns 1 on
 * success; prints the last answer otherwise. */
static int
wait_health(int port, int alive, int restarts, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    char last[512] = "(no answer)";
    for (;;) {
        json_object *h = health(port);
        int ok = h != NULL && tl_int_at(h, "workers_alive") == alive &&
                 (restarts < 0 || tl_int_at(h, "worker_restarts") == restarts);
        if (h != NULL)
            snprintf(last, sizeof(last), "%s", json_object_to_json_string(h));
        json_object_put(h);
        if (ok)
            return 1;
        if (tl_now_ms() >= end)
            break;
        tl_sleep_ms(50);
    }
    fprintf(stderr,
            "test_supervisor: /health never had workers_alive %d, "
            "worker_restarts %d: %s\n",
            alive, restarts, last);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Legacy SSE clients                                                  */

struct client {
    struct httpc_sse s;
    int open;
    int worker; /* X-Binmcpd-Worker of the GET */
    int retry_seen;
    int next_id;
    char sid[128];
    char endpoint[256]; /* path of the POST endpoint */
};

static void
client_close(struct client *c)
{
    if (c->open)
        httpc_sse_close(&c->s);
    c->open = 0;
}

/* Reads the next event with a deadline; notes retry: fields. Returns as
 * httpc_sse_next. */
static int
client_next(struct client *c, struct httpc_event *ev, int64_t end)
{
    int64_t left = end - tl_now_ms();
    int rc;

    memset(ev, 0, sizeof(*ev));
    rc = httpc_sse_next(&c->s, ev, left > 0 ? (int)left : 0);
    if (rc == 1 && ev->retry_ms >= 0)
        c->retry_seen = 1;
    return rc;
}

/* GET /mcp/sse and read up to the endpoint event. Returns 0 or -1. */
static int
client_open(struct client *c, int port)
{
    char buf[128];
    int64_t end = tl_now_ms() + HTTP_TIMEOUT_MS;

    memset(c, 0, sizeof(*c));
    c->worker = -1;
    c->next_id = 1;
    if (httpc_sse_open(&c->s, port, "GET", "/mcp/sse", NULL, NULL, 0,
                       HTTP_TIMEOUT_MS) < 0)
        return -1;
    c->open = 1;
    if (c->s.status != 200) {
        fprintf(stderr, "test_supervisor: GET /mcp/sse: status %d\n",
                c->s.status);
        client_close(c);
        return -1;
    }
    if (httpc_header(c->s.headers, "X-Binmcpd-Worker", buf, sizeof(buf)))
        c->worker = atoi(buf);
    if (httpc_header(c->s.headers, "X-Connection-ID", buf, sizeof(buf)))
        snprintf(c->sid, sizeof(c->sid), "%s", buf);
    for (;;) {
        struct httpc_event ev;
        int rc = client_next(c, &ev, end);
        if (rc != 1) {
            client_close(c);
            return -1;
        }
        if (strcmp(ev.event, "endpoint") == 0 && ev.data != NULL) {
            /* a full URL is allowed too: keep its path */
            const char *path = ev.data;
            if (strncmp(path, "http", 4) == 0 && strstr(path, "://") != NULL) {
                path = strchr(strstr(path, "://") + 3, '/');
                if (path == NULL)
                    path = "/";
            }
            snprintf(c->endpoint, sizeof(c->endpoint), "%s", path);
            httpc_event_free(&ev);
            return 0;
        }
        httpc_event_free(&ev);
    }
}

/* POSTs body to endpoint; returns the HTTP status (0 when none came). */
static int
post_status(int port, const char *endpoint, const char *body)
{
    struct httpc_resp r;
    int status;

    memset(&r, 0, sizeof(r));
    httpc_request(port, "POST", endpoint, "Content-Type: application/json\r\n",
                  body, strlen(body), HTTP_TIMEOUT_MS, &r);
    status = r.status;
    httpc_resp_free(&r);
    return status;
}

/* Sends a JSON-RPC request over the session and waits for its answer on
 * the stream. Returns the message (caller owns) or NULL. */
static json_object *
client_rpc(struct client *c, int port, const char *method, const char *params)
{
    char body[1024];
    int id = c->next_id++, status;
    int64_t end = tl_now_ms() + RPC_TIMEOUT_MS;

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"%s%s}", id,
             method, params != NULL ? ",\"params\":" : "",
             params != NULL ? params : "");
    status = post_status(port, c->endpoint, body);
    if (status != 202) {
        fprintf(stderr, "test_supervisor: POST %s (%s): status %d\n",
                c->endpoint, method, status);
        return NULL;
    }
    for (;;) {
        struct httpc_event ev;
        int rc = client_next(c, &ev, end);
        if (rc != 1) {
            fprintf(stderr, "test_supervisor: no answer to %s (rc %d)\n",
                    method, rc);
            return NULL;
        }
        if (strcmp(ev.event, "message") == 0 && ev.data != NULL) {
            json_object *m = json_tokener_parse(ev.data);
            httpc_event_free(&ev);
            if (m != NULL && tl_int_at(m, "id") == id)
                return m;
            json_object_put(m);
            continue;
        }
        httpc_event_free(&ev);
    }
}

/* initialize + notifications/initialized. Returns 0 or -1. */
static int
client_init(struct client *c, int port)
{
    json_object *m = client_rpc(
        c, port, "initialize",
        "{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"test_supervisor\",\"version\":\"1\"}}");
    int ok = m != NULL && tl_get_path(m, "result.protocolVersion") != NULL;

    json_object_put(m);
    if (!ok)
        return -1;
    return post_status(port, c->endpoint,
                       "{\"jsonrpc\":\"2.0\","
                       "\"method\":\"notifications/initialized\"}") == 202
               ? 0
               : -1;
}

/* get_ticker BTCUSDT; returns 1 when it gave the fake's last price. */
static int
client_ticker(struct client *c, int port)
{
    json_object *m = client_rpc(
        c, port, "tools/call",
        "{\"name\":\"get_ticker\",\"arguments\":{\"symbol\":\"BTCUSDT\"}}");
    int ok = m != NULL &&
             !json_object_get_boolean(tl_get_path(m, "result.isError")) &&
             strcmp(tl_str_at(m, "result.structuredContent.lastPrice"),
                    FAKEX_BTCUSDT_LAST) == 0;

    if (m != NULL && !ok)
        fprintf(stderr, "test_supervisor: get_ticker: %s\n",
                json_object_to_json_string(m));
    json_object_put(m);
    return ok;
}

/* Whether ping is answered on the stream. */
static int
client_ping(struct client *c, int port)
{
    json_object *m = client_rpc(c, port, "ping", NULL);
    int ok = json_object_is_type(tl_get_path(m, "result"), json_type_object);
    json_object_put(m);
    return ok;
}

/* Opens streams into cs (room for max) until there are at least want and
 * every worker holds one. Returns the number open. */
static int
open_spread(struct client *cs, int max, int want, int port)
{
    int n = 0, seen[NWORKERS] = {0}, covered = 0;

    while (n < max && (n < want || covered < NWORKERS)) {
        if (client_open(&cs[n], port) < 0)
            break;
        if (cs[n].worker >= 0 && cs[n].worker < NWORKERS &&
            !seen[cs[n].worker]++)
            covered++;
        n++;
    }
    return n;
}

static void
close_all(struct client *cs, int n)
{
    for (int i = 0; i < n; i++)
        client_close(&cs[i]);
}

/* The pid of the worker holding the server side of c's connection: the
 * socket in /proc/net/tcp from the daemon's port to c's local port, then
 * the worker that has that socket open. 0 when not found. */
static pid_t
client_worker_pid(const struct client *c, const struct daemon *d)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    unsigned long inode = 0;
    char line[512], want[64];
    pid_t w[MAX_PIDS], found = 0;
    FILE *f;
    int n;

    if (getsockname(c->s.fd, (struct sockaddr *)&sa, &salen) < 0)
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
            (int)lp == d->port && rp == ntohs(sa.sin_port))
            inode = ino;
    }
    fclose(f);
    if (inode == 0)
        return 0;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    n = daemon_workers(d, w, MAX_PIDS);
    for (int i = 0; i < n && found == 0; i++) {
        char dir[64];
        DIR *fds;
        struct dirent *e;
        snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)w[i]);
        fds = opendir(dir);
        if (fds == NULL)
            continue;
        while ((e = readdir(fds)) != NULL && found == 0) {
            char p[320], target[64];
            ssize_t len;
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            len = readlink(p, target, sizeof(target) - 1);
            if (len <= 0)
                continue;
            target[len] = '\0';
            if (strcmp(target, want) == 0)
                found = w[i];
        }
        closedir(fds);
    }
    return found;
}

/* ------------------------------------------------------------------ */
/* Suite "respawn": one daemon through a worker crash, SIGHUP, SIGTERM  */

static struct daemon dm;
static struct client cl[MAX_CLIENTS];
static int ncl;

static int
init_respawn(void)
{
    return daemon_start(&dm, "respawn");
}

static int
clean_respawn(void)
{
    close_all(cl, ncl);
    ncl = 0;
    daemon_kill(&dm);
    reap_leftovers(0);
    return 0;
}

static void
test_workers_up(void)
{
    pid_t w[MAX_PIDS];
    json_object *h;

    CU_ASSERT_FATAL(dm.port > 0);
    CU_ASSERT_TRUE(wait_health(dm.port, NWORKERS, 0, 5000));
    h = health(dm.port);
    CU_ASSERT_EQUAL(tl_int_at(h, "workers"), NWORKERS);
    CU_ASSERT_STRING_EQUAL(tl_str_at(h, "status"), "ok");
    json_object_put(h);
    CU_ASSERT_EQUAL(daemon_workers(&dm, w, MAX_PIDS), NWORKERS);
}

static void
test_kill_worker(void)
{
    struct client re;
    pid_t before[MAX_PIDS], after[MAX_PIDS], victim = 0, fresh = 0;
    int vidx = -1, nb, na = 0, gone = 0, others = 0;
    int64_t t0, t_result = -1, end;

    CU_ASSERT_FATAL(dm.port > 0);
    ncl = open_spread(cl, MAX_CLIENTS, 4, dm.port);
    CU_ASSERT_FATAL(ncl >= 4);
    for (int i = 0; i < ncl; i++) {
        CU_ASSERT_EQUAL(client_init(&cl[i], dm.port), 0);
        CU_ASSERT_EQUAL(strlen(cl[i].sid), 48);
    }
    nb = daemon_workers(&dm, before, MAX_PIDS);
    CU_ASSERT_EQUAL_FATAL(nb, NWORKERS);
    /* the victim is the worker holding the first stream */
    vidx = cl[0].worker;
    victim = client_worker_pid(&cl[0], &dm);
    CU_ASSERT_FATAL(victim > 0);
    for (int i = 0; i < ncl; i++)
        if (cl[i].worker != vidx)
            others++;
    if (others == 0)
        fprintf(stderr,
                "test_supervisor: every stream is on worker %d; the "
                "other worker's streams cannot be checked\n",
                vidx);

    /* The kill. Client 0 notices its stream end and reconnects at once. */
    t0 = tl_now_ms();
    CU_ASSERT_EQUAL_FATAL(kill(victim, SIGKILL), 0);
    end = t0 + RECONNECT_MS;
    for (;;) {
        struct httpc_event ev;
        int rc = client_next(&cl[0], &ev, end);
        httpc_event_free(&ev);
        if (rc != 1)
            break;
    }
    client_close(&cl[0]);
    memset(&re, 0, sizeof(re));
    while (tl_now_ms() < end && t_result < 0) {
        if (client_open(&re, dm.port) == 0 && client_init(&re, dm.port) == 0 &&
            client_ticker(&re, dm.port))
            t_result = tl_now_ms();
        else
            tl_sleep_ms(20);
        if (t_result < 0)
            client_close(&re);
    }
    CU_ASSERT_TRUE(t_result >= 0);
    if (t_result >= 0)
        printf("\nreconnect: kill -> first tool result: %lld ms\n",
               (long long)(t_result - t0));
    else
        printf("\nreconnect: no tool result within %d ms\n", RECONNECT_MS);
    fflush(stdout);
    CU_ASSERT_NOT_EQUAL(re.worker, -1);

    /* The victim's other streams end and their ids are unknown now. */
    for (int i = 1; i < ncl; i++) {
        if (cl[i].worker != vidx)
            continue;
        int64_t e = tl_now_ms() + 3000;
        int rc;
        for (;;) {
            struct httpc_event ev;
            rc = client_next(&cl[i], &ev, e);
            httpc_event_free(&ev);
            if (rc != 1)
                break;
        }
        CU_ASSERT_TRUE(rc == 0 || rc == -1);
        client_close(&cl[i]);
    }
    for (int i = 0; i < ncl; i++) {
        if (cl[i].worker != vidx)
            continue;
        int64_t e = tl_now_ms() + 5000;
        int st;
        while ((st = post_status(dm.port, cl[i].endpoint,
                                 "{\"jsonrpc\":\"2.0\",\"id\":99,"
                                 "\"method\":\"ping\"}")) != 404 &&
               tl_now_ms() < e)
            tl_sleep_ms(50);
        if (st != 404)
            fprintf(stderr,
                    "test_supervisor: POST to a dead worker's session: %d\n",
                    st);
        CU_ASSERT_EQUAL(st, 404);
        gone++;
    }
    CU_ASSERT_TRUE(gone >= 1);

    /* A new worker took the slot. */
    end = tl_now_ms() + RESPAWN_MS;
    while (tl_now_ms() < end) {
        int has_victim = 0;
        na = daemon_workers(&dm, after, MAX_PIDS);
        for (int i = 0; i < na; i++)
            has_victim |= after[i] == victim;
        if (na == NWORKERS && !has_victim)
            break;
        tl_sleep_ms(20);
    }
    printf("respawn: kill -> new worker seen: %lld ms\n",
           (long long)(tl_now_ms() - t0));
    fflush(stdout);
    CU_ASSERT_EQUAL(na, NWORKERS);
    for (int i = 0; i < na; i++) {
        int known = 0;
        CU_ASSERT_NOT_EQUAL(after[i], victim);
        for (int j = 0; j < nb; j++)
            known |= after[i] == before[j];
        if (!known)
            fresh = after[i];
    }
    CU_ASSERT_TRUE(fresh > 0);
    CU_ASSERT_TRUE(wait_health(dm.port, NWORKERS, 1, RESPAWN_MS));

    /* The registry holds exactly the live sessions: the other worker's
     * and the reconnected one. */
    {
        int64_t e = tl_now_ms() + 3000;
        int64_t live = -1;
        while (tl_now_ms() < e) {
            json_object *h = health(dm.port);
            live = tl_int_at(h, "sessions");
            json_object_put(h);
            if (live == others + 1)
                break;
            tl_sleep_ms(50);
        }
        if (live != others + 1)
            fprintf(stderr,
                    "test_supervisor: /health sessions %lld, expected %d\n",
                    (long long)live, others + 1);
        CU_ASSERT_EQUAL(live, others + 1);
    }

    /* The log names the dead worker and the new one. */
    {
        static const char *const crash_words[] = {"crash",  "died",   "killed",
                                                  "signal", "exited", NULL};
        static const char *const start_words[] = {"respawn", "start", NULL};
        int64_t e = tl_now_ms() + 3000;
        int crash = 0, respawn = 0;
        while (tl_now_ms() < e && !(crash && respawn)) {
            crash = log_has_line(dm.log, victim, crash_words);
            respawn = fresh > 0 && log_has_line(dm.log, fresh, start_words);
            if (!(crash && respawn))
                tl_sleep_ms(50);
        }
        if (!crash)
            fprintf(stderr,
                    "test_supervisor: no crash line for pid %ld in %s\n",
                    (long)victim, dm.log);
        if (!respawn)
            fprintf(stderr,
                    "test_supervisor: no respawn line for pid %ld in %s\n",
                    (long)fresh, dm.log);
        CU_ASSERT_TRUE(crash);
        CU_ASSERT_TRUE(respawn);
    }

    /* The other worker's streams never noticed. */
    for (int i = 0; i < ncl; i++) {
        if (cl[i].worker == vidx || !cl[i].open)
            continue;
        CU_ASSERT_TRUE(client_ping(&cl[i], dm.port));
        CU_ASSERT_TRUE(client_ticker(&cl[i], dm.port));
    }
    /* and the reconnected client keeps working */
    CU_ASSERT_TRUE(client_ping(&re, dm.port));
    /* keep it: cl[0] was closed, re takes its place */
    cl[0] = re;
}

static void
test_sighup(void)
{
    static const char *const hup_words[] = {"HUP", "hangup", NULL};
    pid_t before[MAX_PIDS], after[MAX_PIDS];
    int nb, na, live = 0;

    CU_ASSERT_FATAL(dm.pid > 0 && dm.port > 0);
    nb = daemon_workers(&dm, before, MAX_PIDS);
    CU_ASSERT_EQUAL_FATAL(kill(dm.pid, SIGHUP), 0);
    tl_sleep_ms(500);
    CU_ASSERT_FALSE_FATAL(daemon_reaped(&dm));
    na = daemon_workers(&dm, after, MAX_PIDS);
    CU_ASSERT_EQUAL(na, nb);
    for (int i = 0; i < na && i < nb; i++) {
        int known = 0;
        for (int j = 0; j < nb; j++)
            known |= after[i] == before[j];
        CU_ASSERT_TRUE(known);
    }
    CU_ASSERT_TRUE(wait_health(dm.port, NWORKERS, 1, 2000));
    for (int i = 0; i < ncl; i++) {
        if (!cl[i].open)
            continue;
        CU_ASSERT_TRUE(client_ping(&cl[i], dm.port));
        live++;
    }
    CU_ASSERT_TRUE(live >= 1);
    if (!log_has_line(dm.log, 0, hup_words))
        fprintf(stderr, "test_supervisor: SIGHUP was not logged\n");
    CU_ASSERT_TRUE(log_has_line(dm.log, 0, hup_words));
}

/* Sends sig to d with the streams cs open and checks the graceful stop:
 * every stream ends cleanly after a retry hint, the supervisor exits 0
 * within the drain deadline plus 2 s, and no worker is left. */
static void
check_graceful_stop(struct daemon *d, struct client *cs, int n, int sig)
{
    pid_t w[MAX_PIDS];
    struct proc_ref refs[MAX_PIDS];
    int nw, clean = 0;
    int64_t t0, end;

    CU_ASSERT_FATAL(d->pid > 0);
    nw = daemon_workers(d, w, MAX_PIDS);
    CU_ASSERT_EQUAL(nw, NWORKERS);
    for (int i = 0; i < nw; i++)
        refs[i] = proc_ref(w[i]);
    t0 = tl_now_ms();
    end = t0 + (DRAIN_S + 2) * 1000;
    CU_ASSERT_EQUAL_FATAL(kill(d->pid, sig), 0);
    for (int i = 0; i < n; i++) {
        int rc, retry_at_end = 0;
        if (!cs[i].open)
            continue;
        for (;;) {
            struct httpc_event ev;
            rc = client_next(&cs[i], &ev, end);
            if (rc == 1 && ev.retry_ms >= 0)
                retry_at_end = 1;
            httpc_event_free(&ev);
            if (rc != 1)
                break;
        }
        if (!retry_at_end)
            fprintf(stderr,
                    "test_supervisor: signal %d: stream %d ended without a "
                    "retry: hint\n",
                    sig, i);
        CU_ASSERT_TRUE(retry_at_end);
        if (rc != 0)
            fprintf(stderr,
                    "test_supervisor: signal %d: stream %d (worker %d) did "
                    "not end cleanly (rc %d)\n",
                    sig, i, cs[i].worker, rc);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_TRUE(cs[i].retry_seen);
        clean += rc == 0;
        client_close(&cs[i]);
    }
    CU_ASSERT_TRUE(clean >= 1);
    CU_ASSERT_TRUE(daemon_wait(d, end - tl_now_ms()));
    if (d->pid == 0) {
        printf("\nsignal %d: exit after %lld ms\n", sig,
               (long long)(tl_now_ms() - t0));
        fflush(stdout);
        CU_ASSERT_TRUE(WIFEXITED(d->status));
        CU_ASSERT_EQUAL(WEXITSTATUS(d->status), 0);
        if (!WIFEXITED(d->status) || WEXITSTATUS(d->status) != 0)
            fprintf(stderr, "test_supervisor: signal %d: wait status 0x%x\n",
                    sig, d->status);
    }
    CU_ASSERT_TRUE(wait_gone(refs, nw, 1000));
    daemon_kill(d);
    CU_ASSERT_EQUAL(reap_leftovers(0), 0);
}

static void
test_sigterm(void)
{
    /* add streams so that both workers hold some */
    int more = open_spread(cl + ncl, MAX_CLIENTS - ncl, 2, dm.port);
    int seen[NWORKERS] = {0};

    CU_ASSERT_FATAL(dm.pid > 0);
    ncl += more;
    for (int i = 0; i < ncl; i++)
        if (cl[i].open && cl[i].worker >= 0 && cl[i].worker < NWORKERS)
            seen[cl[i].worker] = 1;
    /* The kernel picks the worker of each connection; under load all may
     * land on one. The stop must be clean either way. */
    if (!(seen[0] && seen[1]))
        fprintf(stderr, "test_supervisor: note: the streams all landed on "
                        "one worker\n");
    CU_ASSERT_TRUE(seen[0] || seen[1]);
    check_graceful_stop(&dm, cl, ncl, SIGTERM);
    ncl = 0;
}

static CU_TestInfo respawn_tests[] = {
    {"both workers are up", test_workers_up},
    {"a worker killed with SIGKILL is replaced; its clients reconnect",
     test_kill_worker},
    {"SIGHUP: the daemon and its sessions stay", test_sighup},
    {"SIGTERM with open streams: clean ends, exit 0, no worker left",
     test_sigterm},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "signals": SIGINT and SIGQUIT, a fresh daemon each            */

static void
stop_by(int sig, const char *tag)
{
    struct daemon d;
    struct client cs[MAX_CLIENTS];
    int n;

    memset(cs, 0, sizeof(cs));
    CU_ASSERT_EQUAL_FATAL(daemon_start(&d, tag), 0);
    CU_ASSERT_TRUE(wait_health(d.port, NWORKERS, 0, 5000));
    n = open_spread(cs, MAX_CLIENTS, 2, d.port);
    CU_ASSERT_TRUE(n >= 2);
    if (n >= 1)
        CU_ASSERT_EQUAL(client_init(&cs[0], d.port), 0);
    check_graceful_stop(&d, cs, n, sig);
    close_all(cs, n);
}

static void
test_sigint(void)
{
    stop_by(SIGINT, "sigint");
}

static void
test_sigquit(void)
{
    stop_by(SIGQUIT, "sigquit");
}

/* ------------------------------------------------------------------ */
/* Suite "orphans": workers follow a killed supervisor                 */

static void
test_supervisor_killed(void)
{
    struct daemon d;
    struct client c;
    pid_t w[MAX_PIDS];
    struct proc_ref refs[MAX_PIDS];
    int n;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(daemon_start(&d, "orphans"), 0);
    CU_ASSERT_TRUE(wait_health(d.port, NWORKERS, 0, 5000));
    /* a worker with a stream open must notice too */
    if (client_open(&c, d.port) < 0)
        memset(&c, 0, sizeof(c));
    n = daemon_workers(&d, w, MAX_PIDS);
    CU_ASSERT_EQUAL(n, NWORKERS);
    for (int i = 0; i < n; i++)
        refs[i] = proc_ref(w[i]);
    t0 = tl_now_ms();
    CU_ASSERT_EQUAL(kill(d.pid, SIGKILL), 0);
    CU_ASSERT_TRUE(daemon_wait(&d, 2000));
    CU_ASSERT_TRUE(wait_gone(refs, n, 3000));
    printf("\nsupervisor SIGKILL -> workers gone: %lld ms\n",
           (long long)(tl_now_ms() - t0));
    fflush(stdout);
    client_close(&c);
    daemon_kill(&d);
    /* whatever is left is ours (subreaper): kill and reap it */
    CU_ASSERT_EQUAL(reap_leftovers(0), 0);
}

/* ------------------------------------------------------------------ */
/* Suite "reload": SIGHUP re-reads the credentials without dropping     */
/* a session                                                           */

static char cred_path[512];

/* Writes the credentials file with mode. Returns 0 or -1. */
static int
write_creds(const char *key, const char *secret, mode_t mode)
{
    FILE *f = fopen(cred_path, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "# test credentials\napi_key = %s\napi_secret = %s\n"
            "environment = mainnet\n",
            key, secret);
    if (fclose(f) != 0 || chmod(cred_path, mode) != 0)
        return -1;
    return 0;
}

/* The API key the fake exchange saw last on GET /api/v3/account. */
static void
last_account_key(char *out, size_t len)
{
    char body[2048];
    out[0] = '\0';
    if (fakex_http(&fx, "GET", "/__fake/stats?method=GET&path=/api/v3/account",
                   body, sizeof(body)) != 200)
        return;
    json_object *o = json_tokener_parse(body);
    snprintf(out, len, "%s", tl_str_at(o, "last_api_key"));
    json_object_put(o);
}

/* get_account_info on c; returns the key the fake saw ("" on failure). */
static int
account_with_key(struct client *c, int port, const char *want)
{
    char seen[128];
    json_object *m = client_rpc(c, port, "tools/call",
                                "{\"name\":\"get_account_info\","
                                "\"arguments\":{}}");
    int ok =
        m != NULL && !json_object_get_boolean(tl_get_path(m, "result.isError"));
    json_object_put(m);
    last_account_key(seen, sizeof(seen));
    if (!ok || strcmp(seen, want) != 0)
        fprintf(stderr, "test_supervisor: get_account_info ok=%d, key %.8s\n",
                ok, seen);
    return ok && strcmp(seen, want) == 0;
}

/* Counts the log lines holding text. */
static int
log_count(const char *path, const char *text)
{
    char *log = tl_slurp(path, NULL), *p = log;
    int n = 0;
    while (p != NULL && (p = strstr(p, text)) != NULL) {
        n++;
        p += strlen(text);
    }
    free(log);
    return n;
}

/* Sends SIGHUP and waits until the log holds want lines with text. */
static int
hup_and_wait(struct daemon *d, const char *text, int want)
{
    int64_t end = tl_now_ms() + 5000;
    if (kill(d->pid, SIGHUP) != 0)
        return 0;
    while (tl_now_ms() < end) {
        if (log_count(d->log, text) >= want)
            return 1;
        tl_sleep_ms(20);
    }
    return 0;
}

static void
test_reload_credentials(void)
{
    const char *tmp = getenv("TESTS_BUILDDIR");
    const char *extra[] = {"--credentials-file", cred_path, NULL};
    struct daemon d;
    struct client c[6];
    int n;

    snprintf(cred_path, sizeof(cred_path), "%s/test_supervisor.%ld.creds.tmp",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp", (long)getpid());
    CU_ASSERT_EQUAL_FATAL(write_creds(TEST_KEY_A, TEST_SECRET_A, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(daemon_start_args(&d, "reload", extra), 0);
    n = open_spread(c, 6, 2, d.port);
    CU_ASSERT_TRUE_FATAL(n >= 2);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(client_init(&c[i], d.port), 0);
        CU_ASSERT_TRUE(account_with_key(&c[i], d.port, TEST_KEY_A));
    }

    /* key B in the file, SIGHUP: every worker takes it, no session drops */
    CU_ASSERT_EQUAL(write_creds(TEST_KEY_B, TEST_SECRET_B, 0600), 0);
    CU_ASSERT_TRUE(hup_and_wait(&d, "daemon credentials replaced", NWORKERS));
    for (int i = 0; i < n; i++) {
        CU_ASSERT_TRUE(c[i].open);
        CU_ASSERT_TRUE(account_with_key(&c[i], d.port, TEST_KEY_B));
    }

    /* a file anyone may read is refused; key B stays */
    CU_ASSERT_EQUAL(write_creds(TEST_KEY_A, TEST_SECRET_A, 0644), 0);
    CU_ASSERT_TRUE(hup_and_wait(&d, "nothing changed", 1));
    for (int i = 0; i < n; i++)
        CU_ASSERT_TRUE(account_with_key(&c[i], d.port, TEST_KEY_B));
    CU_ASSERT_EQUAL(log_count(d.log, TEST_SECRET_A), 0);
    CU_ASSERT_EQUAL(log_count(d.log, TEST_SECRET_B), 0);

    close_all(c, n);
    daemon_kill(&d);
    unlink(cred_path);
}

/* Makes a self-signed ECDSA certificate for 127.0.0.1 with certtool into
 * dir/cert<tag>.pem and dir/key<tag>.pem (mode 0600). Returns 0 or -1. */
static int
make_cert(const char *dir, const char *tag)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && printf 'cn = 127.0.0.1\\nip_address = 127.0.0.1\\n"
             "expiration_days = 2\\ntls_www_server\\nsigning_key\\n' "
             "> tmpl%s && certtool --generate-privkey --key-type=ecdsa "
             "--outfile key%s.pem >/dev/null 2>&1 && chmod 600 key%s.pem && "
             "certtool --generate-self-signed --load-privkey key%s.pem "
             "--template tmpl%s --outfile cert%s.pem >/dev/null 2>&1",
             dir, tag, tag, tag, tag, tag, tag);
    return system(cmd) == 0 ? 0 : -1;
}

/* GET https://127.0.0.1:port/health trusting only ca; the HTTP status, or
 * 0 when the handshake or the verification failed. */
static long
https_health(int port, const char *ca)
{
    char url[128];
    long status = 0;
    CURL *h = curl_easy_init();
    if (h == NULL)
        return 0;
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/health", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

static void
test_reload_tls(void)
{
    const char *tmp = getenv("TESTS_BUILDDIR");
    char dir[512], cert[600], key[600], ca_a[600], ca_b[600], cmd[2048];
    const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    struct daemon d;

    snprintf(dir, sizeof(dir), "%s/test_supervisor.%ld.tls.tmp",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp", (long)getpid());
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(ca_a, sizeof(ca_a), "%s/certa.pem", dir);
    snprintf(ca_b, sizeof(ca_b), "%s/certb.pem", dir);
    mkdir(dir, 0700);
    CU_ASSERT_EQUAL_FATAL(make_cert(dir, "a"), 0);
    CU_ASSERT_EQUAL_FATAL(make_cert(dir, "b"), 0);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && cp certa.pem cert.pem && cp keya.pem key.pem && "
             "chmod 600 key.pem",
             dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL_FATAL(daemon_start_args(&d, "tls", extra), 0);
    for (int i = 0; i < 4; i++) /* both workers, most likely */
        CU_ASSERT_EQUAL(https_health(d.port, ca_a), 200);
    CU_ASSERT_EQUAL(https_health(d.port, ca_b), 0);

    /* new files, SIGHUP: every worker hands out the new certificate */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && cp certb.pem cert.pem && cp keyb.pem key.pem", dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_TRUE(hup_and_wait(&d, "HTTPS certificate replaced", NWORKERS));
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(https_health(d.port, ca_b), 200);
        CU_ASSERT_EQUAL(https_health(d.port, ca_a), 0);
    }

    /* a key anyone may read is refused; the certificate in force stays */
    CU_ASSERT_EQUAL(chmod(key, 0644), 0);
    CU_ASSERT_TRUE(hup_and_wait(&d, "TLS certificate was not reloaded", 1));
    CU_ASSERT_EQUAL(https_health(d.port, ca_b), 200);

    daemon_kill(&d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static CU_TestInfo reload_tests[] = {
    {"SIGHUP: a new TLS certificate in every worker; a bad key refused",
     test_reload_tls},
    {"SIGHUP: new credentials in every worker, sessions kept; bad file "
     "refused",
     test_reload_credentials},
    CU_TEST_INFO_NULL,
};

/* Suite "kill storm"                                                  */

/* Workers killed as fast as they come back (an OOM killer, an operator, a
 * bug) never stop the daemon: it keeps replacing them with a backoff of at
 * most a few seconds, counts every replacement, and serves as soon as the
 * storm ends. */
static void
test_kill_storm(void)
{
    struct daemon d;
    struct proc_ref killed[MAX_PIDS * 8];
    int nkilled = 0;
    int64_t t0, end;
    struct httpc_resp r;

    CU_ASSERT_EQUAL_FATAL(daemon_start(&d, "killstorm"), 0);
    CU_ASSERT_TRUE(wait_health(d.port, NWORKERS, 0, 5000));
    t0 = tl_now_ms();
    end = t0 + CRASH_LOOP_MS;
    while (tl_now_ms() < end && !daemon_reaped(&d)) {
        pid_t w[MAX_PIDS];
        int n = daemon_workers(&d, w, MAX_PIDS);
        for (int i = 0; i < n; i++) {
            int seen = 0;
            for (int j = 0; j < nkilled; j++)
                seen |= killed[j].pid == w[i];
            if (seen || nkilled >= (int)(sizeof(killed) / sizeof(killed[0])))
                continue;
            killed[nkilled] = proc_ref(w[i]);
            if (killed[nkilled].pid > 0 && kill(w[i], SIGKILL) == 0)
                nkilled++;
        }
        tl_sleep_ms(100);
    }
    printf("\nkill storm: %d workers killed in %lld ms\n", nkilled,
           (long long)(tl_now_ms() - t0));
    fflush(stdout);
    /* more than the old crash-loop rule allowed, and the daemon lives */
    CU_ASSERT_TRUE(nkilled > 11);
    CU_ASSERT_FALSE(daemon_reaped(&d));
    /* every worker back (the backoff is capped at 2 s; the margin is for
     * a loaded machine and valgrind's slow starts), every restart
     * counted */
    CU_ASSERT_TRUE(wait_health(d.port, NWORKERS, nkilled, 15000));
    memset(&r, 0, sizeof(r));
    httpc_request(d.port, "GET", "/metrics", NULL, NULL, 0, HTTP_TIMEOUT_MS,
                  &r);
    char want[64];
    snprintf(want, sizeof(want), "binmcpd_worker_restarts_total %d", nkilled);
    CU_ASSERT_TRUE(tl_contains(r.body, want));
    httpc_resp_free(&r);
    daemon_kill(&d);
    tl_sleep_ms(500);
    CU_ASSERT_EQUAL(reap_leftovers(0), 0);
}

static CU_TestInfo signal_tests[] = {
    {"SIGINT: clean ends, exit 0, no worker left", test_sigint},
    {"SIGQUIT: clean ends, exit 0, no worker left", test_sigquit},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo orphan_tests[] = {
    {"workers exit within 3 s of the supervisor's SIGKILL",
     test_supervisor_killed},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo crash_tests[] = {
    {"a kill storm never stops the daemon; restarts counted", test_kill_storm},
    CU_TEST_INFO_NULL,
};

int
main(void)
{
    CU_SuiteInfo suites[] = {
        {"respawn", init_respawn, clean_respawn, NULL, NULL, respawn_tests},
        {"signals", NULL, NULL, NULL, NULL, signal_tests},
        {"orphans", NULL, NULL, NULL, NULL, orphan_tests},
        {"reload", NULL, NULL, NULL, NULL, reload_tests},
        {"kill storm", NULL, NULL, NULL, NULL, crash_tests},
        CU_SUITE_INFO_NULL,
    };
    int rc;

    /* a daemon that died must show up as a failed write, not kill us */
    signal(SIGPIPE, SIG_IGN);
    /* orphaned workers become our children, so they can be reaped */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        perror("test_supervisor: PR_SET_CHILD_SUBREAPER");
        return 1;
    }
    if (fakex_start(&fx, NULL) < 0) {
        fprintf(stderr, "test_supervisor: the fake exchange did not start\n");
        return 1;
    }
    rc = testlib_run(suites);
    fakex_stop(&fx);
    if (rc == 0)
        for (int i = 0; i < nlogs; i++)
            unlink(logs[i]);
    else
        fprintf(stderr, "test_supervisor: daemon logs kept in %s ...\n",
                nlogs > 0 ? logs[0] : "(none)");
    return rc;
}
