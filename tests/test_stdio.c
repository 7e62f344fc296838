/*
 * test_stdio.c - integration test of `binmcpd --mode stdio`: the real
 * daemon ($BINMCPD) runs as a child process on pipes and talks to the real
 * fake exchange ($FAKEX); this program is its MCP client.
 *
 * What is checked: a whole session (initialize, every tool against the fake
 * exchange's constants, resources, prompts, completion, progress), how each
 * exchange fault reaches the model (429, 418, 500, timeout, bad JSON, a
 * dropped connection), trading safety (a 5xx or a timeout on an order is an
 * "outcome unknown" with the client order id and is never retried; -1021 is
 * resynchronised for reads only), credentials switching, read-only mode,
 * cancellation, protocol robustness over the pipe, the command line, and
 * that nothing but JSON-RPC ever appears on stdout and no secret ever
 * appears on stdout or stderr. With feed = on (suite "live"), the feed
 * runs in the stdio process against the fake's streams: the order-book
 * tools answer live, resources.subscribe is offered, and updates of
 * binance://orders/open are pushed on stdout as whole lines between the
 * answers; with feed = off (every other suite) it is not offered.
 *
 * Every wait has a deadline; every child is started, killed (when it must
 * be) and reaped by PID here.
 */
#include "config.h"

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
#include "mcp.h"
#include "stdio_transport.h"
#include "testlib.h"
#include "wstest.h"


#define RPC_TIMEOUT_MS    8000 /* longest wait for one answer */
#define EXIT_TIMEOUT_MS   5000 /* longest wait for a daemon to exit */
#define READ_CAP          (16u * 1024 * 1024) /* longest stdout line accepted */
#define DAEMON_TIMEOUT_MS "1500" /* BINANCE_TIMEOUT_MS of the daemons */
#define MAX_ERR_FILES     8

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* Parses exactly len bytes as one JSON value; NULL on any error or on
 * trailing bytes. The caller owns the result. */
static json_object *
parse_exact(const char *s, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    if (tok == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, s, (int)len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
                      json_tokener_get_parse_end(tok) != len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* Whether m is a well-formed JSON-RPC 2.0 message a server may send: a
 * request or notification (method), or a response with exactly one of
 * result (an object) and error ({code:int, message:string}). */
static int
is_jsonrpc(json_object *m)
{
    json_object *v, *id = NULL, *res, *err;
    int has_id, has_res, has_err;

    if (!json_object_is_type(m, json_type_object) ||
        !json_object_object_get_ex(m, "jsonrpc", &v) ||
        !json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), "2.0") != 0)
        return 0;
    has_id = json_object_object_get_ex(m, "id", &id);
    has_res = json_object_object_get_ex(m, "result", &res);
    has_err = json_object_object_get_ex(m, "error", &err);
    if (json_object_object_get_ex(m, "method", &v))
        return json_object_is_type(v, json_type_string) && !has_res && !has_err;
    if (!has_id || has_res == has_err)
        return 0;
    if (id != NULL && !json_object_is_type(id, json_type_int) &&
        !json_object_is_type(id, json_type_string))
        return 0;
    if (has_res)
        return json_object_is_type(res, json_type_object);
    return json_object_is_type(err, json_type_object) &&
           json_object_is_type(tl_get_path(err, "code"), json_type_int) &&
           json_object_is_type(tl_get_path(err, "message"), json_type_string);
}

/* ------------------------------------------------------------------ */
/* Child processes                                                     */

/* ------------------------------------------------------------------ */
/* The daemon on a pipe, and a line-oriented JSON-RPC client           */

struct queued {
    json_object *msg;
    long seq; /* arrival order */
};

struct daemon {
    pid_t pid;
    int in_fd;  /* its stdin (ours to write, non-blocking) */
    int out_fd; /* its stdout */
    char err_path[512];
    char *rbuf; /* stdout bytes not yet split into lines */
    size_t rlen, rcap;
    struct queued *q; /* messages received and not taken yet */
    size_t qn, qcap;
    long seq;
    long taken_seq;    /* seq of the last response taken */
    json_object *last; /* the last response rpc() returned */
    int next_id;
    int eof;
    long lines, bad_lines, leaks;
};

/* Totals over every daemon and command run, for the final checks. */
static long total_lines, total_bad_lines, total_leaks;
static char err_files[MAX_ERR_FILES][512];
static int n_err_files;
static int err_files_in_tmp; /* remove them at the end */

static struct fakex fx;

/* Whether buf holds one of the test secrets. */
static int
has_secret(const char *buf, size_t len)
{
    return memmem(buf, len, TEST_SECRET_A, strlen(TEST_SECRET_A)) != NULL ||
           memmem(buf, len, TEST_SECRET_B, strlen(TEST_SECRET_B)) != NULL;
}

/* Checks one stdout line and queues the message it carries. */
static void
take_line(struct daemon *d, const char *text, size_t len)
{
    json_object *m;

    d->lines++;
    if (has_secret(text, len)) {
        d->leaks++;
        fprintf(stderr, "test_stdio: a secret appeared on stdout\n");
    }
    m = parse_exact(text, len);
    if (m == NULL || !is_jsonrpc(m)) {
        d->bad_lines++;
        fprintf(stderr, "test_stdio: stdout line is not JSON-RPC: %.200s\n",
                text);
        json_object_put(m);
        return;
    }
    if (d->qn == d->qcap) {
        size_t cap = d->qcap ? d->qcap * 2 : 32;
        struct queued *nq = realloc(d->q, cap * sizeof(*nq));
        if (nq == NULL) {
            json_object_put(m);
            return;
        }
        d->q = nq;
        d->qcap = cap;
    }
    d->q[d->qn].msg = m;
    d->q[d->qn].seq = ++d->seq;
    d->qn++;
}

/* Reads what the daemon wrote within timeout_ms and queues the complete
 * lines. Returns 1 when bytes came, 0 on timeout, -1 at end of output. */
static int
pump(struct daemon *d, int timeout_ms)
{
    struct pollfd p = {d->out_fd, POLLIN, 0};
    ssize_t n;
    int rc;

    if (d->eof)
        return -1;
    rc = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    if (rc == 0)
        return 0;
    if (d->rcap - d->rlen < 65536) {
        size_t cap = d->rcap ? d->rcap * 2 : 262144;
        char *nb;
        if (cap > READ_CAP) {
            /* A line that long is not a sane answer: count it as bad. */
            d->bad_lines++;
            d->rlen = 0;
            cap = d->rcap;
        }
        nb = cap != d->rcap ? realloc(d->rbuf, cap) : d->rbuf;
        if (nb == NULL)
            return -1;
        d->rbuf = nb;
        d->rcap = cap;
    }
    n = read(d->out_fd, d->rbuf + d->rlen, d->rcap - d->rlen);
    if (n < 0)
        return (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    if (n == 0) {
        d->eof = 1;
        if (d->rlen > 0) {
            /* Output that does not end with a newline is not a message. */
            d->bad_lines++;
            fprintf(stderr, "test_stdio: unterminated stdout: %.200s\n",
                    d->rbuf);
            d->rlen = 0;
        }
        return -1;
    }
    d->rlen += (size_t)n;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(d->rbuf + start, '\n', d->rlen - start);
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - (d->rbuf + start));
        *nl = '\0';
        take_line(d, d->rbuf + start, len);
        start += len + 1;
    }
    memmove(d->rbuf, d->rbuf + start, d->rlen - start);
    d->rlen -= start;
    return 1;
}

/* Removes and returns (caller owns) the queued response whose id
 * serializes to id_json ("7", "\"a\"", "null"); NULL when none. */
static json_object *
take_response(struct daemon *d, const char *id_json)
{
    for (size_t i = 0; i < d->qn; i++) {
        json_object *m = d->q[i].msg, *id = NULL;
        if (json_object_object_get_ex(m, "method", NULL) ||
            !json_object_object_get_ex(m, "id", &id))
            continue;
        if (strcmp(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN),
                   id_json) != 0)
            continue;
        d->taken_seq = d->q[i].seq;
        memmove(&d->q[i], &d->q[i + 1], (d->qn - i - 1) * sizeof(d->q[0]));
        d->qn--;
        return m;
    }
    return NULL;
}

/* Waits up to timeout_ms for the response with id id_json. Caller owns. */
static json_object *
wait_response(struct daemon *d, const char *id_json, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;

    for (;;) {
        json_object *m = take_response(d, id_json);
        int64_t left = end - tl_now_ms();
        if (m != NULL)
            return m;
        if (left <= 0 || pump(d, (int)left) < 0)
            return take_response(d, id_json);
    }
}

/* Number of queued responses (messages without a method). */
static size_t
queued_responses(const struct daemon *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->qn; i++)
        if (!json_object_object_get_ex(d->q[i].msg, "method", NULL))
            n++;
    return n;
}

/* Number of queued notifications named method that arrived before the
 * last response taken; with token, only progress for that token. */
static int
notes_before_last(const struct daemon *d, const char *method, const char *token)
{
    int n = 0;
    for (size_t i = 0; i < d->qn; i++) {
        json_object *m = d->q[i].msg;
        if (d->q[i].seq > d->taken_seq ||
            strcmp(tl_str_at(m, "method"), method) != 0)
            continue;
        if (token != NULL &&
            strcmp(tl_str_at(m, "params.progressToken"), token))
            continue;
        n++;
    }
    return n;
}

/* Frees every queued notification. */
static void
drop_notes(struct daemon *d)
{
    size_t j = 0;
    for (size_t i = 0; i < d->qn; i++) {
        if (json_object_object_get_ex(d->q[i].msg, "method", NULL))
            json_object_put(d->q[i].msg);
        else
            d->q[j++] = d->q[i];
    }
    d->qn = j;
}

/* Writes all of buf to the daemon's stdin within RPC_TIMEOUT_MS, reading
 * its stdout meanwhile so that neither side can block the other. */
static int
send_raw(struct daemon *d, const char *buf, size_t len)
{
    int64_t end = tl_now_ms() + RPC_TIMEOUT_MS;

    while (len > 0) {
        struct pollfd p[2] = {{d->in_fd, POLLOUT, 0}, {d->out_fd, POLLIN, 0}};
        int64_t left = end - tl_now_ms();
        int rc;

        if (left <= 0 || d->in_fd < 0)
            return -1;
        rc = poll(p, d->eof ? 1 : 2, (int)left);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (!d->eof && (p[1].revents & (POLLIN | POLLHUP)))
            pump(d, 0);
        if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            return -1;
        if (p[0].revents & POLLOUT) {
            ssize_t n = write(d->in_fd, buf, len);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                return -1;
            }
            buf += n;
            len -= (size_t)n;
        }
    }
    return 0;
}

/* Sends one message (text without newline) as a line. */
static int
send_line(struct daemon *d, const char *text)
{
    if (send_raw(d, text, strlen(text)) < 0)
        return -1;
    return send_raw(d, "\n", 1);
}

/* Sends a request with the next id and waits for its response. params is
 * JSON text or NULL. Returns the response, borrowed until the next call
 * (NULL when none came in time). */
static json_object *
rpc(struct daemon *d, const char *method, const char *params)
{
    size_t need = strlen(method) + (params ? strlen(params) : 0) + 96;
    char *msg = malloc(need), id[32];

    json_object_put(d->last);
    d->last = NULL;
    if (msg == NULL)
        return NULL;
    snprintf(id, sizeof(id), "%d", ++d->next_id);
    snprintf(msg, need, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"%s\"%s%s}",
             id, method, params ? ",\"params\":" : "", params ? params : "");
    if (send_line(d, msg) == 0)
        d->last = wait_response(d, id, RPC_TIMEOUT_MS);
    if (d->last == NULL)
        fprintf(stderr, "test_stdio: no answer to %s within %d ms\n", method,
                RPC_TIMEOUT_MS);
    free(msg);
    return d->last;
}

/* Calls tool name with args (JSON object text) and returns the
 * CallToolResult (borrowed like rpc's answer), or NULL. */
static json_object *
call_tool(struct daemon *d, const char *name, const char *args)
{
    size_t need = strlen(name) + strlen(args) + 64;
    char *params = malloc(need);
    json_object *m;

    if (params == NULL)
        return NULL;
    snprintf(params, need, "{\"name\":\"%s\",\"arguments\":%s}", name, args);
    m = rpc(d, "tools/call", params);
    free(params);
    if (m != NULL && tl_get_path(m, "result") == NULL)
        fprintf(stderr, "test_stdio: tools/call %s: %s\n", name,
                json_object_to_json_string(m));
    return tl_get_path(m, "result");
}

static int
is_error(json_object *res)
{
    return json_object_get_boolean(tl_get_path(res, "isError"));
}

/* The first text block of a CallToolResult ("" when none). */
static const char *
tool_text(json_object *res)
{
    return tl_str_at(res, "content.0.text");
}

/* Calls a tool that must succeed; returns its structuredContent or NULL
 * (and prints the error text). */
static json_object *
call_ok(struct daemon *d, const char *name, const char *args)
{
    json_object *res = call_tool(d, name, args);
    if (res == NULL)
        return NULL;
    if (is_error(res)) {
        fprintf(stderr, "test_stdio: %s failed: %s\n", name, tool_text(res));
        return NULL;
    }
    return tl_get_path(res, "structuredContent");
}

/* Whether the daemon answers ping with {}. */
static int
ping_ok(struct daemon *d)
{
    json_object *r = tl_get_path(rpc(d, "ping", NULL), "result");
    return json_object_is_type(r, json_type_object) &&
           json_object_object_length(r) == 0;
}

/* Remembers a stderr capture file for the final secret check. */
static void
note_err_file(const char *path)
{
    if (n_err_files < MAX_ERR_FILES)
        snprintf(err_files[n_err_files++], sizeof(err_files[0]), "%s", path);
}

/* A path for a stderr capture named tag: under $TESTS_BUILDDIR when set
 * (kept after a failure; make clean removes *.tmp there), else under /tmp
 * (always removed at the end). */
static void
capture_path(const char *tag, char *out, size_t len)
{
    const char *dir = getenv("TESTS_BUILDDIR");
    if (dir != NULL && *dir != '\0') {
        snprintf(out, len, "%s/test_stdio.%ld.%s.stderr.tmp", dir,
                 (long)getpid(), tag);
    } else {
        snprintf(out, len, "/tmp/test_stdio.%ld.%s.stderr.tmp", (long)getpid(),
                 tag);
        err_files_in_tmp = 1;
    }
}

/* Starts `$BINMCPD --mode stdio [extra...]` with the fake exchange's URLs,
 * key A and the test timeout; envmore (NULL-terminated, may be NULL) adds
 * to the environment, and overrides what it names (the first of two
 * values wins). */
static int
daemon_start_env(struct daemon *d, const char *tag, const char *const *extra,
                 const char *timeout_ms, const char *const *envmore)
{
    char base[160], testnet[160], timeout[64];
    const char *own[] = {base, testnet, timeout, "BINANCE_API_KEY=" TEST_KEY_A,
                         "BINANCE_API_SECRET=" TEST_SECRET_A,
                         /* the tools' own behaviour is tested here; the
                          * trading guard in test_guard */
                         "BINMCPD_MAX_ORDER_NOTIONAL=10000000",
                         "BINMCPD_ORDER_CONFIRMATION=off", NULL};
    const char *envset[24];
    const char *argv[16];
    int in[2], out[2], err_fd, n = 0, ne = 0;

    for (int i = 0; envmore != NULL && envmore[i] != NULL && ne < 15; i++)
        envset[ne++] = envmore[i];
    for (int i = 0; own[i] != NULL; i++)
        envset[ne++] = own[i];
    envset[ne] = NULL;

    memset(d, 0, sizeof(*d));
    d->pid = -1;
    d->in_fd = d->out_fd = -1;
    d->next_id = 1000;
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(timeout, sizeof(timeout), "BINANCE_TIMEOUT_MS=%s", timeout_ms);
    argv[n++] = tl_binmcpd_path();
    argv[n++] = "--mode";
    argv[n++] = "stdio";
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    capture_path(tag, d->err_path, sizeof(d->err_path));
    note_err_file(d->err_path);
    err_fd = open(d->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
    d->pid = tl_spawn(argv, envset, in[0], out[1], err_fd, 0);
    close(in[0]);
    close(out[1]);
    close(err_fd);
    d->in_fd = in[1];
    d->out_fd = out[0];
    fcntl(d->in_fd, F_SETFL, fcntl(d->in_fd, F_GETFL) | O_NONBLOCK);
    return d->pid > 0 ? 0 : -1;
}

static int
daemon_start(struct daemon *d, const char *tag, const char *const *extra,
             const char *timeout_ms)
{
    return daemon_start_env(d, tag, extra, timeout_ms, NULL);
}

/* Closes the daemon's stdin, reads the rest of its output and waits up to
 * EXIT_TIMEOUT_MS for it to exit (killing it otherwise). Stores the wait
 * status; returns 0 when it exited by itself. Safe to call twice. */
static int
daemon_close(struct daemon *d, int *status)
{
    int64_t end = tl_now_ms() + EXIT_TIMEOUT_MS;
    int rc = -1;

    *status = -1;
    if (d->in_fd >= 0) {
        close(d->in_fd);
        d->in_fd = -1;
    }
    while (d->out_fd >= 0 && !d->eof && tl_now_ms() < end)
        pump(d, (int)(end - tl_now_ms()));
    if (d->pid > 0) {
        int64_t left = end - tl_now_ms();
        rc = tl_wait_exit(d->pid, left > 0 ? left : 1, status);
        d->pid = -1;
    }
    return rc;
}

/* Ends the daemon (if still running) and releases everything. */
static void
daemon_free(struct daemon *d)
{
    int status;

    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        daemon_close(d, &status);
    }
    if (d->in_fd >= 0)
        close(d->in_fd);
    if (d->out_fd >= 0)
        close(d->out_fd);
    d->in_fd = d->out_fd = -1;
    for (size_t i = 0; i < d->qn; i++)
        json_object_put(d->q[i].msg);
    free(d->q);
    free(d->rbuf);
    json_object_put(d->last);
    total_lines += d->lines;
    total_bad_lines += d->bad_lines;
    total_leaks += d->leaks;
    memset(d, 0, sizeof(*d));
    d->pid = -1;
    d->in_fd = d->out_fd = -1;
}

/* ------------------------------------------------------------------ */
/* The fake exchange                                                   */

/* The API key the fake saw last on method + path ("" when none). */
static void
fake_last_key(const char *method, const char *path, char *out, size_t len)
{
    char q[512], body[4096];
    json_object *o;

    out[0] = '\0';
    snprintf(q, sizeof(q), "/__fake/stats?method=%s&path=%s", method, path);
    if (fakex_http(&fx, "GET", q, body, sizeof(body)) != 200)
        return;
    o = json_tokener_parse(body);
    snprintf(out, len, "%s", tl_str_at(o, "last_api_key"));
    json_object_put(o);
}

static int
fake_clock(long skew_ms)
{
    char q[64];
    snprintf(q, sizeof(q), "/__fake/clock?skew_ms=%ld", skew_ms);
    return fakex_http(&fx, "POST", q, NULL, 0) == 200 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Suite "cli": the command line, without a session                    */

struct run_result {
    int status;
    char out[16384];
    char err[16384];
};

/* Runs `$BINMCPD args...` with stdin at /dev/null and envset; captures
 * stdout and stderr (truncated) and the wait status. Returns 0, or -1 when
 * it had to be killed or could not start. */
static int
run_capture(const char *const *args, const char *const *envset,
            struct run_result *r)
{
    const char *argv[16];
    int out[2], err[2], nul, n = 0;
    size_t olen = 0, elen = 0;
    int64_t end = tl_now_ms() + EXIT_TIMEOUT_MS;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    argv[n++] = tl_binmcpd_path();
    for (int i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul < 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(nul);
        return -1;
    }
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(nul);
        close(out[0]);
        close(out[1]);
        return -1;
    }
    pid = tl_spawn(argv, envset, nul, out[1], err[1], 0);
    close(nul);
    close(out[1]);
    close(err[1]);
    int open_fds = 2;
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    while (pid > 0 && open_fds > 0 && tl_now_ms() < end) {
        if (poll(p, 2, (int)(end - tl_now_ms())) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            char *buf = i == 0 ? r->out : r->err;
            size_t *used = i == 0 ? &olen : &elen;
            char scratch[4096];
            ssize_t got;
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            got = read(p[i].fd, scratch, sizeof(scratch));
            if (got <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
                continue;
            }
            size_t take = (size_t)got;
            if (take > sizeof(r->out) - 1 - *used)
                take = sizeof(r->out) - 1 - *used;
            memcpy(buf + *used, scratch, take);
            *used += take;
            buf[*used] = '\0';
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    if (pid <= 0)
        return -1;
    if (has_secret(r->out, olen) || has_secret(r->err, elen))
        total_leaks++;
    return tl_wait_exit(pid, end - tl_now_ms() > 0 ? end - tl_now_ms() : 1,
                        &r->status);
}

static int
exited_with(int status, int code)
{
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void
test_cli_help(void)
{
    struct run_result r;
    const char *args[] = {"--help", NULL};
    const char *envset[] = {"BINANCE_API_KEY=" TEST_KEY_A,
                            "BINANCE_API_SECRET=" TEST_SECRET_A, NULL};

    CU_ASSERT_EQUAL(run_capture(args, envset, &r), 0);
    CU_ASSERT_TRUE(exited_with(r.status, 0));
    CU_ASSERT_TRUE(tl_contains(r.out, "usage"));
    CU_ASSERT_TRUE(tl_contains(r.out, "--mode"));
    CU_ASSERT_TRUE(tl_contains(r.out, "--read-only"));
}

static void
test_cli_bogus_option(void)
{
    struct run_result r;
    const char *args[] = {"--bogus", NULL};

    CU_ASSERT_EQUAL(run_capture(args, NULL, &r), 0);
    CU_ASSERT_TRUE(exited_with(r.status, 2));
    CU_ASSERT_TRUE(tl_contains(r.err, "bogus"));
    CU_ASSERT_EQUAL(r.out[0], '\0'); /* stdout stays protocol-only */
}

static void
test_cli_key_without_secret(void)
{
    struct run_result r;
    const char *args[] = {"--mode", "stdio", NULL};
    const char *envset[] = {"BINANCE_API_KEY=" TEST_KEY_A, NULL};

    CU_ASSERT_EQUAL(run_capture(args, envset, &r), 0);
    CU_ASSERT_TRUE(exited_with(r.status, 2));
    CU_ASSERT_TRUE(tl_contains(r.err, "BINANCE_API_SECRET"));
    CU_ASSERT_EQUAL(r.out[0], '\0');
}

static void
test_cli_bad_timeout(void)
{
    struct run_result r;
    const char *args[] = {"--mode", "stdio", NULL};
    const char *envset[] = {"BINANCE_TIMEOUT_MS=soon", NULL};

    CU_ASSERT_EQUAL(run_capture(args, envset, &r), 0);
    CU_ASSERT_TRUE(exited_with(r.status, 2));
    CU_ASSERT_TRUE(tl_contains(r.err, "BINANCE_TIMEOUT_MS"));
}

static CU_TestInfo cli_tests[] = {
    {"--help exits 0 with usage on stdout", test_cli_help},
    {"--bogus exits 2", test_cli_bogus_option},
    {"BINANCE_API_KEY without BINANCE_API_SECRET exits 2",
     test_cli_key_without_secret},
    {"a malformed BINANCE_TIMEOUT_MS exits 2", test_cli_bad_timeout},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "session": one daemon, a whole session                        */

static struct daemon dm;

static int
init_session(void)
{
    if (fakex_start(&fx, NULL) < 0)
        return -1;
    return daemon_start(&dm, "session", NULL, DAEMON_TIMEOUT_MS);
}

static int
clean_session(void)
{
    daemon_free(&dm);
    fakex_stop(&fx);
    return 0;
}

static void
test_initialize(void)
{
    json_object *m =
        rpc(&dm, "initialize",
            "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            "\"clientInfo\":{\"name\":\"test_stdio\",\"version\":\"1\"}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           "2025-06-18");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.name"), "binmcpd");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.serverInfo.version"),
                           PACKAGE_VERSION);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.tools"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.resources"));
    /* feed = off (tl_env_build): no feed, no subscriptions */
    CU_ASSERT_TRUE(json_object_is_type(
        tl_get_path(m, "result.capabilities.resources.subscribe"),
        json_type_boolean));
    CU_ASSERT_FALSE(tl_bool_at(m, "result.capabilities.resources.subscribe"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.prompts"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.logging"));
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result.capabilities.completions"));
    /* a notification is never answered: the next answer is the ping's */
    CU_ASSERT_EQUAL(send_line(&dm, "{\"jsonrpc\":\"2.0\",\"method\":"
                                   "\"notifications/initialized\"}"),
                    0);
    CU_ASSERT_TRUE(ping_ok(&dm));
    CU_ASSERT_EQUAL(queued_responses(&dm), 0);
}

static void
test_tools_list(void)
{
    json_object *m = rpc(&dm, "tools/list", NULL);
    json_object *tools = tl_get_path(m, "result.tools");

    CU_ASSERT_PTR_NOT_NULL_FATAL(tools);
    CU_ASSERT_TRUE(json_object_array_length(tools) >= 18);
    for (size_t i = 0; tl_core_tools[i] != NULL; i++) {
        json_object *found = NULL;
        for (size_t j = 0; j < json_object_array_length(tools); j++) {
            json_object *t = json_object_array_get_idx(tools, j);
            if (strcmp(tl_str_at(t, "name"), tl_core_tools[i]) == 0)
                found = t;
        }
        if (found == NULL)
            fprintf(stderr, "test_stdio: tool %s missing\n", tl_core_tools[i]);
        CU_ASSERT_PTR_NOT_NULL(found);
        CU_ASSERT_STRING_EQUAL(tl_str_at(found, "inputSchema.type"), "object");
        CU_ASSERT_STRING_EQUAL(tl_str_at(found, "outputSchema.type"), "object");
    }
}

static void
test_market_tools(void)
{
    json_object *sc;

    sc = call_ok(&dm, "get_server_time", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_TRUE(tl_int_at(sc, "serverTime") > 1600000000000LL);

    sc = call_ok(&dm, "get_ticker", "{\"symbol\":\"btcusdt\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "lastPrice"), FAKEX_BTCUSDT_LAST);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "openPrice"), FAKEX_BTCUSDT_OPEN);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "highPrice"), FAKEX_BTCUSDT_HIGH);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "lowPrice"), FAKEX_BTCUSDT_LOW);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "bidPrice"), FAKEX_BTCUSDT_BID);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "askPrice"), FAKEX_BTCUSDT_ASK);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "priceChangePercent"),
                           FAKEX_BTCUSDT_PRICE_CHANGE_PCT);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "volume"), FAKEX_TICKER_VOLUME);
    CU_ASSERT_EQUAL(tl_int_at(sc, "count"), FAKEX_TICKER_COUNT);

    sc = call_ok(&dm, "get_average_price", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "price"), FAKEX_BTCUSDT_AVG_PRICE);
    CU_ASSERT_STRING_NOT_EQUAL(tl_str_at(sc, "price"), FAKEX_BTCUSDT_LAST);
    CU_ASSERT_EQUAL(tl_int_at(sc, "mins"), FAKEX_AVG_PRICE_MINS);

    sc = call_ok(&dm, "get_order_book", "{\"symbol\":\"BTCUSDT\",\"limit\":5}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(tl_len_at(sc, "bids"), 5);
    CU_ASSERT_EQUAL(tl_len_at(sc, "asks"), 5);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "bids.0.0"), FAKEX_BTCUSDT_BID);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "asks.0.0"), FAKEX_BTCUSDT_ASK);
    CU_ASSERT_EQUAL(tl_int_at(sc, "lastUpdateId"), FAKEX_DEPTH_LAST_UPDATE_ID);

    sc = call_ok(&dm, "get_recent_trades",
                 "{\"symbol\":\"BTCUSDT\",\"limit\":3}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(tl_len_at(sc, "trades"), 3);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "trades.0.price"), FAKEX_BTCUSDT_LAST);
    CU_ASSERT_EQUAL(tl_int_at(sc, "trades.2.id"), FAKEX_TRADES_LAST_ID);

    sc = call_ok(&dm, "get_klines",
                 "{\"symbol\":\"BTCUSDT\",\"interval\":\"1h\",\"limit\":4}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "interval"), "1h");
    CU_ASSERT_EQUAL_FATAL(tl_len_at(sc, "klines"), 4);
    CU_ASSERT_EQUAL(tl_int_at(sc, "klines.1.openTime") -
                        tl_int_at(sc, "klines.0.openTime"),
                    3600000);
    CU_ASSERT_EQUAL(tl_int_at(sc, "klines.0.closeTime") -
                        tl_int_at(sc, "klines.0.openTime"),
                    3599999);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "klines.0.volume"),
                           FAKEX_KLINE_VOLUME);
    CU_ASSERT_EQUAL(tl_int_at(sc, "klines.3.trades"), FAKEX_KLINE_TRADES);

    sc = call_ok(&dm, "search", "{\"query\":\"eth\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    int eth_usdt = 0, eth_btc = 0;
    for (size_t i = 0; i < tl_len_at(sc, "results"); i++) {
        json_object *r =
            json_object_array_get_idx(tl_get_path(sc, "results"), i);
        eth_usdt |= strcmp(tl_str_at(r, "id"), "ETHUSDT") == 0;
        eth_btc |= strcmp(tl_str_at(r, "id"), "ETHBTC") == 0;
    }
    CU_ASSERT_TRUE(eth_usdt);
    CU_ASSERT_TRUE(eth_btc);

    sc = call_ok(&dm, "fetch", "{\"id\":\"ethusdt\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "id"), "ETHUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "metadata.baseAsset"), "ETH");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "metadata.quoteAsset"), "USDT");
    CU_ASSERT_TRUE(tl_contains(tl_str_at(sc, "text"), "3000"));
    CU_ASSERT_TRUE(strlen(tl_str_at(sc, "url")) > 0);
}

static void
test_account_tools(void)
{
    json_object *sc = call_ok(&dm, "get_account_info", "{}");
    int btc = 0, usdt = 0, eth = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    for (size_t i = 0; i < tl_len_at(sc, "balances"); i++) {
        json_object *b =
            json_object_array_get_idx(tl_get_path(sc, "balances"), i);
        const char *asset = tl_str_at(b, "asset");
        if (strcmp(asset, "BTC") == 0)
            btc = strcmp(tl_str_at(b, "free"), FAKEX_INIT_BTC) == 0;
        if (strcmp(asset, "USDT") == 0)
            usdt = strcmp(tl_str_at(b, "free"), FAKEX_INIT_USDT) == 0;
        if (strcmp(asset, "ETH") == 0)
            eth = strcmp(tl_str_at(b, "free"), FAKEX_INIT_ETH) == 0;
        CU_ASSERT_STRING_NOT_EQUAL(asset, "BNB"); /* zero: omitted */
    }
    CU_ASSERT_TRUE(btc);
    CU_ASSERT_TRUE(usdt);
    CU_ASSERT_TRUE(eth);
    CU_ASSERT_EQUAL(tl_int_at(sc, "uid"), FAKEX_UID_BASE);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "environment"), "mainnet");

    sc = call_ok(&dm, "get_account_trades", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL_FATAL(tl_len_at(sc, "trades"), 2);
    CU_ASSERT_EQUAL(tl_int_at(sc, "trades.0.id"), FAKEX_SEED_TRADE_ID);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "trades.0.price"), FAKEX_SEED1_PRICE);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "trades.1.price"), FAKEX_SEED2_PRICE);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "trades.1.qty"), FAKEX_SEED2_QTY);
}

static void
test_place_order_test_mode(void)
{
    long placed, tested;
    json_object *sc;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    placed = fakex_count(&fx, "POST", "/api/v3/order");
    tested = fakex_count(&fx, "POST", "/api/v3/order/test");
    sc = call_ok(&dm, "place_order",
                 "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
                 "\"quantity\":\"0.001\",\"price\":\"10000\",\"test\":true}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(sc, "test")));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), placed);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order/test"), tested + 1);
    sc = call_ok(&dm, "get_open_orders", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(tl_len_at(sc, "orders"), 0);
}

/* Whether list (an array of orders) holds orderId id with status. */
static int
has_order(json_object *list, int64_t id, const char *status)
{
    for (size_t i = 0; list != NULL && i < json_object_array_length(list);
         i++) {
        json_object *o = json_object_array_get_idx(list, i);
        if (tl_int_at(o, "orderId") == id &&
            strcmp(tl_str_at(o, "status"), status) == 0)
            return 1;
    }
    return 0;
}

static void
test_order_lifecycle(void)
{
    char args[256];
    json_object *sc;
    int64_t id;

    sc = call_ok(&dm, "place_order",
                 "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
                 "\"quantity\":\"0.001\",\"price\":\"10000.00\","
                 "\"client_order_id\":\"stdio-life-1\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "status"), "NEW");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "clientOrderId"), "stdio-life-1");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "timeInForce"), "GTC");
    id = tl_int_at(sc, "orderId");
    CU_ASSERT_TRUE_FATAL(id >= FAKEX_FIRST_ORDER_ID);

    snprintf(args, sizeof(args), "{\"symbol\":\"BTCUSDT\",\"order_id\":%lld}",
             (long long)id);
    sc = call_ok(&dm, "get_order", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "status"), "NEW");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "clientOrderId"), "stdio-life-1");

    sc = call_ok(
        &dm, "get_order",
        "{\"symbol\":\"BTCUSDT\",\"client_order_id\":\"stdio-life-1\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(tl_int_at(sc, "orderId"), id);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "price"), "10000.00000000");

    sc = call_ok(&dm, "get_open_orders", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_TRUE(has_order(tl_get_path(sc, "orders"), id, "NEW"));

    sc = call_ok(&dm, "cancel_order", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "status"), "CANCELED");

    sc = call_ok(&dm, "get_order", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "status"), "CANCELED");

    sc = call_ok(&dm, "get_open_orders", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_FALSE(has_order(tl_get_path(sc, "orders"), id, "NEW"));

    sc = call_ok(&dm, "get_all_orders", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_TRUE(has_order(tl_get_path(sc, "orders"), id, "CANCELED"));

    /* cancelling again is Binance's -2011, a plain tool error */
    json_object *res = call_tool(&dm, "cancel_order", args);
    CU_ASSERT_TRUE(is_error(res));
    CU_ASSERT_TRUE(tl_contains(tool_text(res), "-2011"));
}

static void
test_credentials_switch(void)
{
    char key[256];
    json_object *sc, *m;

    sc = call_ok(&dm, "get_credentials_status", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(sc, "configured")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "daemon");

    sc = call_ok(&dm, "configure_credentials",
                 "{\"api_key\":\"" TEST_KEY_B
                 "\",\"api_secret\":\"" TEST_SECRET_B
                 "\",\"environment\":\"mainnet\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    m = dm.last;
    CU_ASSERT_FALSE(tl_contains(json_object_to_json_string(m), TEST_SECRET_B));
    CU_ASSERT_FALSE(tl_contains(json_object_to_json_string(m), TEST_KEY_B));

    sc = call_ok(&dm, "get_credentials_status", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "session");

    sc = call_ok(&dm, "get_account_info", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(tl_int_at(sc, "uid"), FAKEX_UID_BASE + 1);
    fake_last_key("GET", "/api/v3/account", key, sizeof(key));
    CU_ASSERT_STRING_EQUAL(key, TEST_KEY_B);

    sc = call_ok(&dm, "revoke_credentials", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(sc, "revoked")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "fallback"), "daemon");

    sc = call_ok(&dm, "get_account_info", "{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(tl_int_at(sc, "uid"), FAKEX_UID_BASE);
    fake_last_key("GET", "/api/v3/account", key, sizeof(key));
    CU_ASSERT_STRING_EQUAL(key, TEST_KEY_A);
}

static void
test_resources(void)
{
    json_object *m = rpc(&dm, "resources/list", NULL);
    int balances = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(tl_get_path(m, "result.resources"));
    for (size_t i = 0; i < tl_len_at(m, "result.resources"); i++) {
        json_object *r =
            json_object_array_get_idx(tl_get_path(m, "result.resources"), i);
        balances |=
            strcmp(tl_str_at(r, "uri"), "binance://account/balances") == 0;
    }
    CU_ASSERT_TRUE(balances);

    m = rpc(&dm, "resources/templates/list", NULL);
    int market = 0;
    for (size_t i = 0; i < tl_len_at(m, "result.resourceTemplates"); i++) {
        json_object *t = json_object_array_get_idx(
            tl_get_path(m, "result.resourceTemplates"), i);
        market |= strcmp(tl_str_at(t, "uriTemplate"),
                         "binance://market/{symbol}") == 0;
    }
    CU_ASSERT_TRUE(market);

    m = rpc(&dm, "resources/read", "{\"uri\":\"binance://market/BTCUSDT\"}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.contents.0.uri"),
                           "binance://market/BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.contents.0.mimeType"),
                           "text/markdown");
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(m, "result.contents.0.text"), "BTCUSDT"));
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(m, "result.contents.0.text"), "50000"));

    m = rpc(&dm, "resources/read", "{\"uri\":\"binance://account/balances\"}");
    CU_ASSERT_TRUE(tl_contains(tl_str_at(m, "result.contents.0.text"), "BTC"));
    CU_ASSERT_TRUE(tl_contains(tl_str_at(m, "result.contents.0.text"), "USDT"));
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(m, "result.contents.0.text"), "10000"));

    m = rpc(&dm, "resources/read", "{\"uri\":\"binance://nowhere\"}");
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32002);
}

static void
test_prompts_and_completion(void)
{
    json_object *m = rpc(&dm, "prompts/list", NULL);

    CU_ASSERT_TRUE(
        tl_contains(json_object_to_json_string(tl_get_path(m, "result")),
                    "\"trading_analysis\""));
    m = rpc(&dm, "prompts/get",
            "{\"name\":\"trading_analysis\",\"arguments\":{\"symbol\":"
            "\"BTCUSDT\"}}");
    CU_ASSERT_TRUE(tl_len_at(m, "result.messages") >= 1);
    CU_ASSERT_TRUE(
        tl_contains(tl_str_at(m, "result.messages.0.content.text"), "BTCUSDT"));

    m = rpc(&dm, "completion/complete",
            "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"trading_analysis\"},"
            "\"argument\":{\"name\":\"symbol\",\"value\":\"eth\"}}");
    json_object *vals = tl_get_path(m, "result.completion.values");
    CU_ASSERT_PTR_NOT_NULL_FATAL(vals);
    int eth_usdt = 0, eth_btc = 0;
    for (size_t i = 0; i < json_object_array_length(vals); i++) {
        const char *v =
            json_object_get_string(json_object_array_get_idx(vals, i));
        CU_ASSERT_EQUAL(strncmp(v, "ETH", 3), 0);
        eth_usdt |= strcmp(v, "ETHUSDT") == 0;
        eth_btc |= strcmp(v, "ETHBTC") == 0;
    }
    CU_ASSERT_TRUE(eth_usdt);
    CU_ASSERT_TRUE(eth_btc);
}

static void
test_progress_notifications(void)
{
    drop_notes(&dm);
    json_object *m =
        rpc(&dm, "tools/call",
            "{\"name\":\"fetch\",\"arguments\":{\"id\":\"BTCUSDT\"},"
            "\"_meta\":{\"progressToken\":\"stdio-p1\"}}");
    CU_ASSERT_FALSE(is_error(tl_get_path(m, "result")));
    CU_ASSERT_TRUE(
        notes_before_last(&dm, "notifications/progress", "stdio-p1") >= 1);
    drop_notes(&dm);
}

/* Over stdio there is no feed: watch_market answers from REST, says so,
 * and a wait polls REST (at most every 2 s) until the time is up. (Its
 * progress notifications: test_tools, test_live.) */
static void
test_watch_market_rest(void)
{
    json_object *sc, *m;
    long before;
    int64_t t0;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    sc = call_ok(&dm, "watch_market",
                 "{\"symbol\":\"BTCUSDT\",\"condition\":\"price_below\","
                 "\"level\":\"50000.01\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "rest");
    CU_ASSERT_PTR_NOT_NULL(
        strstr(tl_str_at(sc, "fallback_reason"), "feed = off"));
    CU_ASSERT_TRUE(tl_bool_at(sc, "condition.met"));
    before = fakex_count(&fx, "GET", "/api/v3/ticker/24hr");
    drop_notes(&dm);
    t0 = tl_now_ms();
    m = rpc(&dm, "tools/call",
            "{\"name\":\"watch_market\",\"arguments\":{\"symbol\":\"BTCUSDT\","
            "\"condition\":\"price_above\",\"level\":\"50000.01\","
            "\"timeout_s\":3}}");
    sc = tl_get_path(m, "result.structuredContent");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT(tl_now_ms() - t0 >= 3000);
    CU_ASSERT_FALSE(tl_bool_at(sc, "condition.met"));
    CU_ASSERT_TRUE(tl_bool_at(sc, "condition.timed_out"));
    /* at 0 and 2 s */
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr") - before, 2);
    drop_notes(&dm);
}

/* ---- faults: each is an isError with the reason, and the daemon lives ---- */

/* Resets the fake, injects fault, calls get_ticker BTCUSDT and returns the
 * error text (borrowed until the next call; "" when it did not fail). */
static const char *
ticker_with_fault(const char *fault)
{
    json_object *res;

    if (fakex_reset(&fx) < 0 || fakex_fault(&fx, fault) < 0) {
        fprintf(stderr, "test_stdio: cannot inject %s\n", fault);
        return "";
    }
    res = call_tool(&dm, "get_ticker", "{\"symbol\":\"BTCUSDT\"}");
    if (res == NULL || !is_error(res))
        return "";
    return tool_text(res);
}

/* The daemon holds every request back until a 429/418's Retry-After has
 * passed: a second call fails at once without reaching the exchange; once
 * the time is over, calls go out again. */
static void
check_held_back_then_released(void)
{
    json_object *res = call_tool(&dm, "get_ticker", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_TRUE(res != NULL && is_error(res));
    CU_ASSERT_TRUE(res != NULL && tl_contains(tool_text(res), "did not send"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr"), 1);
    CU_ASSERT_TRUE(ping_ok(&dm));
    usleep(1300 * 1000);
    res = call_tool(&dm, "get_ticker", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_TRUE(res != NULL && !is_error(res));
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr"), 2);
}

static void
test_fault_429(void)
{
    const char *t = ticker_with_fault(
        "type=429&retry_after=1&path=/api/v3/ticker/24hr&count=1");
    CU_ASSERT_TRUE(tl_contains(t, "429"));
    CU_ASSERT_TRUE(tl_contains(t, "Retry after 1 second"));
    /* one request, no hammering */
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr"), 1);
    CU_ASSERT_TRUE(ping_ok(&dm));
    check_held_back_then_released();
}

static void
test_fault_418(void)
{
    const char *t = ticker_with_fault(
        "type=418&retry_after=1&path=/api/v3/ticker/24hr&count=1");
    CU_ASSERT_TRUE(tl_contains(t, "418"));
    CU_ASSERT_TRUE(tl_contains(t, "banned"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr"), 1);
    CU_ASSERT_TRUE(ping_ok(&dm));
    check_held_back_then_released();
}

static void
test_fault_500(void)
{
    const char *t =
        ticker_with_fault("type=500&path=/api/v3/ticker/24hr&count=1");
    CU_ASSERT_TRUE(tl_contains(t, "500"));
    CU_ASSERT_TRUE(tl_contains(t, "unknown"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/ticker/24hr"), 1);
    CU_ASSERT_TRUE(ping_ok(&dm));
}

static void
test_fault_timeout(void)
{
    int64_t t0 = tl_now_ms();
    const char *t = ticker_with_fault(
        "type=slow&delay_ms=3000&path=/api/v3/ticker/24hr&count=1");
    int64_t took = tl_now_ms() - t0;
    CU_ASSERT_TRUE(tl_contains(t, DAEMON_TIMEOUT_MS));
    CU_ASSERT_TRUE(tl_contains(t, "No answer"));
    CU_ASSERT_TRUE(took < 2900); /* gave up at the timeout, not the delay */
    CU_ASSERT_TRUE(ping_ok(&dm));
}

static void
test_fault_badjson(void)
{
    const char *t =
        ticker_with_fault("type=badjson&path=/api/v3/ticker/24hr&count=1");
    CU_ASSERT_TRUE(tl_contains(t, "JSON"));
    CU_ASSERT_TRUE(ping_ok(&dm));
}

static void
test_fault_drop(void)
{
    /* libcurl itself resends a read (at most five times) when the reused
     * connection it went out on dies before any answer, so one dropped
     * connection can go unnoticed by a read; five cannot. */
    const char *t =
        ticker_with_fault("type=drop&path=/api/v3/ticker/24hr&count=5");
    CU_ASSERT_TRUE(tl_contains(t, "Could not reach Binance"));
    CU_ASSERT_TRUE(tl_contains(t, fx.url));
    CU_ASSERT_TRUE(fakex_count(&fx, "GET", "/api/v3/ticker/24hr") <= 6);
    CU_ASSERT_TRUE(ping_ok(&dm));
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    /* the fault was used up: the next call works */
    json_object *sc = call_ok(&dm, "get_ticker", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "lastPrice"), FAKEX_BTCUSDT_LAST);
}

/* ---- trading safety ---- */

static void
test_order_503_outcome_unknown(void)
{
    json_object *res, *sc;
    const char *t;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    /* The fake executes the order, then answers 503. */
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=503&path=/api/v3/order&method=POST&count=1"
                         "&executed=1"),
        0);
    res = call_tool(&dm, "place_order",
                    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                    "\"LIMIT\",\"quantity\":\"0.001\",\"price\":\"10000\","
                    "\"client_order_id\":\"stdio-503\"}");
    CU_ASSERT_TRUE_FATAL(is_error(res));
    t = tool_text(res);
    CU_ASSERT_TRUE(tl_contains(t, "OUTCOME UNKNOWN"));
    CU_ASSERT_TRUE(tl_contains(t, "503"));
    CU_ASSERT_TRUE(tl_contains(t, "stdio-503"));
    CU_ASSERT_TRUE(tl_contains(t, "NOT retried"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);
    /* the lookup the text proposes tells the truth */
    sc = call_ok(&dm, "get_order",
                 "{\"symbol\":\"BTCUSDT\",\"client_order_id\":\"stdio-503\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "status"), "NEW");
    CU_ASSERT_TRUE(ping_ok(&dm));
}

static void
test_order_drop_not_resent(void)
{
    json_object *res;
    const char *t;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    /* a warm connection to the exchange, as in any real session */
    CU_ASSERT_PTR_NOT_NULL(call_ok(&dm, "get_open_orders", "{}"));
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=drop&path=/api/v3/order&method=POST&count=1"),
        0);
    res = call_tool(&dm, "place_order",
                    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                    "\"LIMIT\",\"quantity\":\"0.001\",\"price\":\"10000\","
                    "\"client_order_id\":\"stdio-drop\"}");
    /* The order went out once; the connection died without an answer. It
     * must not be sent again behind the model's back (not even by
     * libcurl's own retry on a reused connection). */
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);
    CU_ASSERT_TRUE(is_error(res));
    t = tool_text(res);
    CU_ASSERT_TRUE(tl_contains(t, "OUTCOME UNKNOWN"));
    CU_ASSERT_TRUE(tl_contains(t, "stdio-drop"));
    CU_ASSERT_TRUE(ping_ok(&dm));
}

static void
test_order_timeout_outcome_unknown(void)
{
    json_object *res;
    const char *t;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=slow&delay_ms=3000&path=/api/v3/order"
                         "&method=POST&count=1"),
        0);
    res = call_tool(&dm, "place_order",
                    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                    "\"LIMIT\",\"quantity\":\"0.001\",\"price\":\"10000\"}");
    CU_ASSERT_TRUE_FATAL(is_error(res));
    t = tool_text(res);
    CU_ASSERT_TRUE(tl_contains(t, "OUTCOME UNKNOWN"));
    CU_ASSERT_TRUE(tl_contains(t, DAEMON_TIMEOUT_MS));
    /* the generated client order id is named, for get_order */
    CU_ASSERT_TRUE(tl_contains(t, "clientOrderId binmcpd-"));
    CU_ASSERT_TRUE(tl_contains(t, "\"client_order_id\":\"binmcpd-"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);
    CU_ASSERT_TRUE(ping_ok(&dm));
    /* still exactly one after the fake's delay has passed */
    tl_sleep_ms(1600);
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);
}

static void
test_clock_skew_read_resyncs(void)
{
    json_object *sc;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(fake_clock(-20000), 0);
    sc = call_ok(&dm, "get_account_info", "{}");
    CU_ASSERT_PTR_NOT_NULL(sc);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/account"), 2);
    CU_ASSERT_TRUE(fakex_count(&fx, "GET", "/api/v3/time") >= 1);
}

static void
test_clock_skew_order_not_retried(void)
{
    json_object *res;

    /* The daemon learned a -20 s offset; the fake's clock is now right
     * again. An order is preceded by the guard's signed count of the open
     * orders, whose -1021 resynchronises the clock (a read may be retried),
     * so the order itself goes out once, on time. */
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    res = call_tool(&dm, "place_order",
                    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                    "\"LIMIT\",\"quantity\":\"0.001\",\"price\":\"10000\"}");
    CU_ASSERT_FALSE(is_error(res));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/openOrders"), 2);
    /* A trade request that meets -1021 itself is never retried: learn the
     * skew again, set the clock right, and cancel (no read before it). */
    CU_ASSERT_EQUAL_FATAL(fake_clock(-20000), 0);
    CU_ASSERT_PTR_NOT_NULL(call_ok(&dm, "get_account_info", "{}"));
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    res = call_tool(&dm, "cancel_order",
                    "{\"symbol\":\"BTCUSDT\",\"order_id\":12345}");
    CU_ASSERT_TRUE_FATAL(is_error(res));
    CU_ASSERT_TRUE(tl_contains(tool_text(res), "-1021"));
    CU_ASSERT_FALSE(tl_contains(tool_text(res), "OUTCOME UNKNOWN"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/order"), 1);
    /* resynchronised meanwhile: the next signed read works at once */
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    CU_ASSERT_PTR_NOT_NULL(call_ok(&dm, "get_account_info", "{}"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/account"), 1);
}

/* ---- protocol over the real pipe ---- */

static void
test_malformed_line(void)
{
    json_object *m;

    CU_ASSERT_EQUAL(send_line(&dm, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"),
                    0);
    m = wait_response(&dm, "null", RPC_TIMEOUT_MS);
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32700);
    json_object_put(m);
    CU_ASSERT_TRUE(ping_ok(&dm));
}

static void
test_oversized_line(void)
{
    size_t len = STDIO_LINE_MAX + 64;
    char *big = malloc(len + 1);
    json_object *m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    if (big == NULL)
        return;
    /* a well-formed request, but over the limit */
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":"
                               "\"ping\",\"params\":{\"pad\":\"";
    memset(big, 'a', len);
    memcpy(big, head, strlen(head));
    memcpy(big + len - 3, "\"}}", 3);
    big[len] = '\0';
    CU_ASSERT_EQUAL(send_line(&dm, big), 0);
    free(big);
    m = wait_response(&dm, "null", RPC_TIMEOUT_MS);
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32700);
    json_object_put(m);
    CU_ASSERT_TRUE(ping_ok(&dm));
    /* the id inside the discarded line is never answered */
    CU_ASSERT_EQUAL(queued_responses(&dm), 0);
}

static void
test_large_line_accepted(void)
{
    size_t len = 1024 * 1024;
    char *big = malloc(len + 1);
    json_object *m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    if (big == NULL)
        return;
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":\"big\",";
    static const char tail[] = "\"method\":\"ping\"}";
    /* insignificant whitespace inside the object makes it long */
    memset(big, ' ', len);
    memcpy(big, head, strlen(head));
    memcpy(big + len - strlen(tail), tail, strlen(tail));
    big[len] = '\0';
    CU_ASSERT_EQUAL(send_line(&dm, big), 0);
    free(big);
    m = wait_response(&dm, "\"big\"", RPC_TIMEOUT_MS);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
}

static void
test_unknown_method(void)
{
    json_object *m = rpc(&dm, "no/such/method", "{}");
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32601);
    /* string ids come back as they were sent */
    CU_ASSERT_EQUAL(send_line(&dm, "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\","
                                   "\"method\":\"ping\"}"),
                    0);
    m = wait_response(&dm, "\"s-1\"", RPC_TIMEOUT_MS);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    /* an unknown notification is not answered */
    CU_ASSERT_EQUAL(
        send_line(&dm, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/note\"}"), 0);
    CU_ASSERT_TRUE(ping_ok(&dm));
    CU_ASSERT_EQUAL(queued_responses(&dm), 0);
}

/* Methods that are not strings, also in cancels and batches: -32600 where
 * an id asks for an answer, nothing else, and the session goes on. */
static void
test_non_string_methods(void)
{
    json_object *m;

    CU_ASSERT_EQUAL(
        send_line(&dm, "{\"jsonrpc\":\"2.0\",\"id\":61,\"method\":null}"), 0);
    m = wait_response(&dm, "61", RPC_TIMEOUT_MS);
    CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32600);
    json_object_put(m);
    CU_ASSERT_EQUAL(send_line(&dm, "{\"jsonrpc\":\"2.0\",\"method\":null,"
                                   "\"params\":{\"requestId\":61,\"x\":"
                                   "\"notifications/cancelled\"}}"),
                    0);
    CU_ASSERT_EQUAL(send_line(&dm, "{\"jsonrpc\":\"2.0\",\"method\":"
                                   "\"notifications/cancelled\",\"params\":"
                                   "null}"),
                    0);
    CU_ASSERT_EQUAL(send_line(&dm, "{\"jsonrpc\":\"2.0\",\"method\":[\""
                                   "notifications/cancelled\"]}"),
                    0);
    /* the two invalid notifications are answered -32600 with a null id, as
     * JSON-RPC says; the cancel without params is taken silently */
    for (int i = 0; i < 2; i++) {
        m = wait_response(&dm, "null", RPC_TIMEOUT_MS);
        CU_ASSERT_EQUAL(tl_int_at(m, "error.code"), -32600);
        json_object_put(m);
    }
    CU_ASSERT_TRUE(ping_ok(&dm));
    CU_ASSERT_EQUAL(queued_responses(&dm), 0);
}

static void
test_stdin_close_exits_0(void)
{
    int status;
    int64_t t0 = tl_now_ms();

    CU_ASSERT_EQUAL(daemon_close(&dm, &status), 0);
    CU_ASSERT_TRUE(exited_with(status, 0));
    CU_ASSERT_TRUE(tl_now_ms() - t0 < EXIT_TIMEOUT_MS);
    CU_ASSERT_TRUE(dm.lines > 0);
    CU_ASSERT_EQUAL(dm.bad_lines, 0);
    CU_ASSERT_EQUAL(dm.leaks, 0);
    CU_ASSERT_EQUAL(queued_responses(&dm), 0);
}

static CU_TestInfo session_tests[] = {
    {"initialize negotiates 2025-06-18 and names binmcpd", test_initialize},
    {"non-string methods: -32600, the session goes on",
     test_non_string_methods},
    {"tools/list has every tool", test_tools_list},
    {"market tools return the fake's values", test_market_tools},
    {"account tools return the fake's account", test_account_tools},
    {"place_order test=true places nothing", test_place_order_test_mode},
    {"LIMIT order: place, get, list, cancel, history", test_order_lifecycle},
    {"configure_credentials switches the key, revoke restores it",
     test_credentials_switch},
    {"resources list, templates and read", test_resources},
    {"prompts and completion", test_prompts_and_completion},
    {"progress notifications precede the result", test_progress_notifications},
    {"watch_market over stdio: REST, polled, progress", test_watch_market_rest},
    {"429: isError with Retry-After, then held back", test_fault_429},
    {"418: isError, banned, then held back", test_fault_418},
    {"500: isError, outcome unknown", test_fault_500},
    {"timeout: isError naming the timeout", test_fault_timeout},
    {"bad JSON: isError", test_fault_badjson},
    {"dropped connection: isError", test_fault_drop},
    {"503 on an order: outcome unknown, one POST",
     test_order_503_outcome_unknown},
    {"dropped connection on an order: never re-sent",
     test_order_drop_not_resent},
    {"timeout on an order: outcome unknown, one POST",
     test_order_timeout_outcome_unknown},
    {"-1021 on a read: resync and one retry", test_clock_skew_read_resyncs},
    {"-1021: an order goes out once on time; a cancel meeting it is not "
     "retried",
     test_clock_skew_order_not_retried},
    {"a malformed line is -32700 and the session goes on", test_malformed_line},
    {"a line over 4 MiB is -32700 and the session goes on",
     test_oversized_line},
    {"a 1 MiB line is accepted", test_large_line_accepted},
    {"unknown method -32601, string ids, unknown notifications",
     test_unknown_method},
    {"closing stdin ends the daemon with status 0", test_stdin_close_exits_0},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "read-only": a daemon started with --read-only                */

static struct daemon ro;

static int
init_read_only(void)
{
    const char *extra[] = {"--read-only", NULL};
    if (fakex_start(&fx, NULL) < 0)
        return -1;
    return daemon_start(&ro, "readonly", extra, DAEMON_TIMEOUT_MS);
}

static int
clean_read_only(void)
{
    daemon_free(&ro);
    fakex_stop(&fx);
    return 0;
}

static void
test_ro_initialize_unknown_version(void)
{
    json_object *m =
        rpc(&ro, "initialize",
            "{\"protocolVersion\":\"1999-01-01\",\"capabilities\":{},"
            "\"clientInfo\":{\"name\":\"test_stdio\",\"version\":\"1\"}}");
    /* an unknown version is answered with the server's latest */
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.protocolVersion"),
                           MCP_LATEST_VERSION);
    CU_ASSERT_EQUAL(send_line(&ro, "{\"jsonrpc\":\"2.0\",\"method\":"
                                   "\"notifications/initialized\"}"),
                    0);
}

static void
test_ro_tools_hidden(void)
{
    json_object *m = rpc(&ro, "tools/list", NULL);
    const char *all =
        json_object_to_json_string(tl_get_path(m, "result.tools"));

    CU_ASSERT_TRUE(tl_len_at(m, "result.tools") >= 16);
    CU_ASSERT_FALSE(tl_contains(all, "\"place_order\""));
    CU_ASSERT_FALSE(tl_contains(all, "\"cancel_order\""));
    CU_ASSERT_TRUE(tl_contains(all, "\"get_ticker\""));
    CU_ASSERT_TRUE(tl_contains(all, "\"get_open_orders\""));
}

static void
test_ro_order_refused(void)
{
    json_object *res;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    res = call_tool(&ro, "place_order",
                    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":"
                    "\"MARKET\",\"quantity\":\"0.001\"}");
    CU_ASSERT_TRUE(is_error(res));
    CU_ASSERT_TRUE(tl_contains(tool_text(res), "read-only"));
    res = call_tool(&ro, "cancel_order",
                    "{\"symbol\":\"BTCUSDT\",\"order_id\":1000}");
    CU_ASSERT_TRUE(is_error(res));
    CU_ASSERT_TRUE(tl_contains(tool_text(res), "read-only"));
    CU_ASSERT_EQUAL(fakex_count(&fx, "POST", "/api/v3/order"), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "DELETE", "/api/v3/order"), 0);
    /* reads still work */
    json_object *sc = call_ok(&ro, "get_open_orders", "{}");
    CU_ASSERT_PTR_NOT_NULL(sc);
    CU_ASSERT_TRUE(ping_ok(&ro));
}

static void
test_ro_exit(void)
{
    int status;
    CU_ASSERT_EQUAL(daemon_close(&ro, &status), 0);
    CU_ASSERT_TRUE(exited_with(status, 0));
    CU_ASSERT_EQUAL(ro.bad_lines, 0);
    CU_ASSERT_EQUAL(ro.leaks, 0);
}

static CU_TestInfo read_only_tests[] = {
    {"initialize with an unknown version gets the latest",
     test_ro_initialize_unknown_version},
    {"tools/list hides the order tools", test_ro_tools_hidden},
    {"order tools are refused and reach no exchange", test_ro_order_refused},
    {"closing stdin ends the daemon with status 0", test_ro_exit},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "cancel": notifications/cancelled aborts a slow call          */

static struct daemon cx;

static int
init_cancel(void)
{
    if (fakex_start(&fx, NULL) < 0)
        return -1;
    /* a timeout longer than the fake's delay: only cancelling ends it */
    if (daemon_start(&cx, "cancel", NULL, "10000") < 0)
        return -1;
    return rpc(&cx, "initialize",
               "{\"protocolVersion\":\"" MCP_LATEST_VERSION "\","
               "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
               "\"version\":\"1\"}}") != NULL
               ? 0
               : -1;
}

static int
clean_cancel(void)
{
    daemon_free(&cx);
    fakex_stop(&fx);
    return 0;
}

static void
test_cancel_slow_call(void)
{
    json_object *m;
    int64_t t0, answered;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        fakex_fault(&fx, "type=slow&delay_ms=3000&path=/api/v3/ticker/24hr"
                         "&count=1"),
        0);
    t0 = tl_now_ms();
    CU_ASSERT_EQUAL_FATAL(
        send_line(&cx, "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":"
                       "\"tools/call\",\"params\":{\"name\":\"get_ticker\","
                       "\"arguments\":{\"symbol\":\"BTCUSDT\"}}}"),
        0);
    /* Let the call reach the exchange, so that it is in flight. */
    while (fakex_count(&fx, "GET", "/api/v3/ticker/24hr") < 1 &&
           tl_now_ms() - t0 < 1000)
        tl_sleep_ms(20);
    tl_sleep_ms(200);
    CU_ASSERT_EQUAL(send_line(&cx, "{\"jsonrpc\":\"2.0\",\"method\":"
                                   "\"notifications/cancelled\",\"params\":{"
                                   "\"requestId\":77,\"reason\":\"test\"}}"),
                    0);
    CU_ASSERT_EQUAL(
        send_line(&cx, "{\"jsonrpc\":\"2.0\",\"id\":78,\"method\":\"ping\"}"),
        0);
    m = wait_response(&cx, "78", 6000);
    answered = tl_now_ms() - t0;
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "result"));
    json_object_put(m);
    /* the Binance call was aborted, not waited out */
    CU_ASSERT_TRUE(answered < 2900);
    /* and no answer to 77 ever comes (the fake would have answered at 3 s) */
    int64_t left = 4500 - (tl_now_ms() - t0);
    m = wait_response(&cx, "77", left > 0 ? left : 1);
    CU_ASSERT_PTR_NULL(m);
    json_object_put(m);
    CU_ASSERT_TRUE(ping_ok(&cx));
    /* the same tool works again */
    json_object *sc = call_ok(&cx, "get_ticker", "{\"symbol\":\"BTCUSDT\"}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "lastPrice"), FAKEX_BTCUSDT_LAST);
}

static void
test_cancel_exit(void)
{
    int status;
    CU_ASSERT_EQUAL(daemon_close(&cx, &status), 0);
    CU_ASSERT_TRUE(exited_with(status, 0));
    CU_ASSERT_EQUAL(cx.bad_lines, 0);
    CU_ASSERT_EQUAL(queued_responses(&cx), 0);
}

static CU_TestInfo cancel_tests[] = {
    {"notifications/cancelled: no answer, the session goes on",
     test_cancel_slow_call},
    {"closing stdin ends the daemon with status 0", test_cancel_exit},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "live": feed = on, the feed in the stdio process              */

#define LIVE_MS   15000 /* a book or an account goes live within */
#define UPDATE_MS 10000 /* an update is pushed within */

static struct daemon lv;
static char ws_base[64];

static int
init_live(void)
{
    char stream[160], wsapi[192];
    /* every URL at the fake; account A (daemon_start_env); orders through
     * without confirmation, the guard's limit and the test journal still
     * apply */
    const char *envmore[] = {"BINMCPD_FEED=on",
                             stream,
                             wsapi,
                             "BINMCPD_MAX_ORDER_NOTIONAL=1000",
                             "BINMCPD_NOTIFY_INTERVAL=0.2",
                             NULL};

    if (wstest_start(&fx, ws_base, sizeof(ws_base)) < 0)
        return -1;
    snprintf(stream, sizeof(stream), "BINANCE_STREAM_URL=%s", ws_base);
    snprintf(wsapi, sizeof(wsapi), "BINANCE_WS_API_URL=%s/ws-api/v3", ws_base);
    return daemon_start_env(&lv, "live", NULL, "3000", envmore);
}

static int
clean_live(void)
{
    daemon_free(&lv);
    fakex_stop(&fx);
    return 0;
}

/* Takes the queued notifications/resources/updated for uri; returns how
 * many there were (the others stay queued). */
static int
take_updates(struct daemon *d, const char *uri)
{
    size_t j = 0;
    int n = 0;

    for (size_t i = 0; i < d->qn; i++) {
        json_object *m = d->q[i].msg;
        if (strcmp(tl_str_at(m, "method"), "notifications/resources/updated") ==
                0 &&
            strcmp(tl_str_at(m, "params.uri"), uri) == 0) {
            json_object_put(m);
            n++;
        } else {
            d->q[j++] = d->q[i];
        }
    }
    d->qn = j;
    return n;
}

/* Waits up to timeout_ms for an update of uri; returns how many came. */
static int
wait_update(struct daemon *d, const char *uri, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    int n;

    while ((n = take_updates(d, uri)) == 0 && tl_now_ms() < end)
        if (pump(d, (int)(end - tl_now_ms())) < 0)
            break;
    return n;
}

static void
test_live_initialize(void)
{
    json_object *m =
        rpc(&lv, "initialize",
            "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            "\"clientInfo\":{\"name\":\"test_stdio\",\"version\":\"1\"}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_TRUE(tl_bool_at(m, "result.capabilities.resources.subscribe"));
    CU_ASSERT_EQUAL(send_line(&lv, "{\"jsonrpc\":\"2.0\",\"method\":"
                                   "\"notifications/initialized\"}"),
                    0);
    CU_ASSERT_TRUE(ping_ok(&lv));
}

static void
test_live_orderbook(void)
{
    int64_t end = tl_now_ms() + LIVE_MS;
    json_object *sc;
    int calls = 0;

    for (;;) {
        sc = call_ok(&lv, "get_orderbook_metrics", "{\"symbol\":\"BTCUSDT\"}");
        calls++;
        if (sc == NULL || strcmp(tl_str_at(sc, "source"), "live") == 0 ||
            tl_now_ms() >= end)
            break;
        tl_sleep_ms(200);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    if (strcmp(tl_str_at(sc, "source"), "live") != 0)
        fprintf(stderr, "test_stdio: not live after %d calls: %s\n", calls,
                json_object_to_json_string(sc));
    CU_ASSERT_STRING_EQUAL(tl_str_at(sc, "source"), "live");
    CU_ASSERT_TRUE(tl_bool_at(sc, "websocket_connected"));
    CU_ASSERT_PTR_NULL(tl_get_path(sc, "fallback_reason"));
    /* the first call asked the feed to track the symbol: it was not live */
    CU_ASSERT_TRUE(calls > 1);
}

/* Reads binance://orders/open until it comes from the account's user data
 * stream; returns whether it did within LIVE_MS. */
static int
orders_stream_live(struct daemon *d)
{
    int64_t end = tl_now_ms() + LIVE_MS;

    for (;;) {
        json_object *m =
            rpc(d, "resources/read", "{\"uri\":\"binance://orders/open\"}");
        if (m == NULL)
            return 0;
        if (tl_contains(tl_str_at(m, "result.contents.0.text"),
                        "user data stream (live"))
            return 1;
        if (tl_now_ms() >= end)
            return 0;
        tl_sleep_ms(200);
    }
}

static void
test_live_orders_updates(void)
{
    const char *uri = "binance://orders/open";
    json_object *sc, *m;
    char path[96];
    int64_t id;

    m = rpc(&lv, "resources/subscribe", "{\"uri\":\"binance://orders/open\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tl_get_path(m, "result"));
    CU_ASSERT_TRUE_FATAL(orders_stream_live(&lv));
    /* what the stream's start announced is not what is tested */
    tl_sleep_ms(400);
    pump(&lv, 0);
    take_updates(&lv, uri);

    sc = call_ok(&lv, "place_order",
                 "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","
                 "\"quantity\":\"0.001\",\"price\":\"20000\","
                 "\"time_in_force\":\"GTC\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    id = tl_int_at(sc, "orderId");
    CU_ASSERT_TRUE_FATAL(id >= FAKEX_FIRST_ORDER_ID);
    CU_ASSERT_TRUE(wait_update(&lv, uri, UPDATE_MS) >= 1);

    tl_sleep_ms(400);
    pump(&lv, 0);
    take_updates(&lv, uri);
    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld", (long long)id);
    CU_ASSERT_EQUAL_FATAL(fakex_http(&fx, "POST", path, NULL, 0), 200);
    CU_ASSERT_TRUE(wait_update(&lv, uri, UPDATE_MS) >= 1);
    /* and the order is gone from the live open orders */
    m = rpc(&lv, "resources/read", "{\"uri\":\"binance://orders/open\"}");
    snprintf(path, sizeof(path), "%lld", (long long)id);
    CU_ASSERT_FALSE(tl_contains(tl_str_at(m, "result.contents.0.text"), path));
}

/* Updates of a busy market while answers go out: every line on stdout
 * stays one whole JSON-RPC message. */
static void
test_live_whole_lines(void)
{
    const char *uri = "binance://market/BTCUSDT";
    int updates = 0;
    json_object *m;

    m = rpc(&lv, "resources/subscribe",
            "{\"uri\":\"binance://market/BTCUSDT\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tl_get_path(m, "result"));
    CU_ASSERT_EQUAL_FATAL(wstest_post(&fx, "/__fake/stream/random?symbol="
                                           "BTCUSDT&n=2000&rate=1000&seed=7"
                                           "&changes=8"),
                          200);
    for (int i = 0; i < 40; i++) {
        CU_ASSERT_PTR_NOT_NULL(call_ok(&lv, "get_orderbook_depth",
                                       "{\"symbol\":\"BTCUSDT\","
                                       "\"levels\":100}"));
        updates += take_updates(&lv, uri);
    }
    /* the stream's burst may come late on a busy machine: wait for it */
    int64_t end = tl_now_ms() + UPDATE_MS;
    while (updates < 2 && tl_now_ms() < end)
        updates += wait_update(&lv, uri, end - tl_now_ms());
    if (updates < 2)
        fprintf(stderr, "test_stdio: %d updates of %s\n", updates, uri);
    CU_ASSERT_TRUE(updates >= 2);
    CU_ASSERT_EQUAL(lv.bad_lines, 0);
}

static void
test_live_exit(void)
{
    int64_t t0 = tl_now_ms();
    int status;

    /* end of input: the notifier and the feed thread stop, exit 0 */
    CU_ASSERT_EQUAL(daemon_close(&lv, &status), 0);
    CU_ASSERT_TRUE(exited_with(status, 0));
    CU_ASSERT_TRUE(tl_now_ms() - t0 < 3000);
    CU_ASSERT_EQUAL(lv.bad_lines, 0);
    CU_ASSERT_TRUE(lv.lines > 0);
}

static CU_TestInfo live_tests[] = {
    {"feed on: resources.subscribe is offered", test_live_initialize},
    {"an order-book tool becomes live", test_live_orderbook},
    {"orders/open is pushed after an order and after its fill",
     test_live_orders_updates},
    {"market updates and answers: whole lines only", test_live_whole_lines},
    {"end of input: the feed thread stops, exit 0", test_live_exit},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "secrets": what every daemon wrote                            */

static void
test_no_secret_in_stderr(void)
{
    CU_ASSERT_TRUE(n_err_files >= 3);
    for (int i = 0; i < n_err_files; i++) {
        size_t len = 0;
        char *log = tl_slurp(err_files[i], &len);
        CU_ASSERT_PTR_NOT_NULL(log);
        if (log == NULL)
            continue;
        if (has_secret(log, len))
            fprintf(stderr, "test_stdio: a secret is in %s\n", err_files[i]);
        CU_ASSERT_FALSE(has_secret(log, len));
        /* keys are logged masked only */
        CU_ASSERT_PTR_NULL(memmem(log, len, TEST_KEY_A, strlen(TEST_KEY_A)));
        CU_ASSERT_PTR_NULL(memmem(log, len, TEST_KEY_B, strlen(TEST_KEY_B)));
        free(log);
    }
}

static void
test_no_secret_on_stdout(void)
{
    CU_ASSERT_TRUE(total_lines > 0);
    CU_ASSERT_EQUAL(total_leaks, 0);
    CU_ASSERT_EQUAL(total_bad_lines, 0);
}

/* The captures are evidence: they stay when anything failed (make clean
 * removes them from $TESTS_BUILDDIR) and go when everything passed. */
static int
clean_secrets(void)
{
    if (err_files_in_tmp || CU_get_number_of_failures() == 0)
        for (int i = 0; i < n_err_files; i++)
            unlink(err_files[i]);
    return 0;
}

static CU_TestInfo secret_tests[] = {
    {"no secret and no full key in any daemon's stderr",
     test_no_secret_in_stderr},
    {"stdout: only JSON-RPC lines, never a secret", test_no_secret_on_stdout},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cli", NULL, NULL, NULL, NULL, cli_tests},
    {"session", init_session, clean_session, NULL, NULL, session_tests},
    {"read-only", init_read_only, clean_read_only, NULL, NULL, read_only_tests},
    {"cancel", init_cancel, clean_cancel, NULL, NULL, cancel_tests},
    {"live", init_live, clean_live, NULL, NULL, live_tests},
    {"secrets", NULL, clean_secrets, NULL, NULL, secret_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    /* a daemon that died must show up as a failed write, not kill us */
    signal(SIGPIPE, SIG_IGN);
    return testlib_run(suites);
}
