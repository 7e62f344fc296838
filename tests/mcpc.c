/*
 * mcpc.c - the integration tests' MCP client: the daemon over stdio pipes,
 * the HTTP daemon over Streamable HTTP, and its log (see mcpc.h).
 */
#include "config.h"

#include "mcpc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "util.h"

#define MCPC_RPC_MS   10000
#define MCPC_LINE_MAX ((size_t)1 << 20)
#define MCPC_ARGS_MAX 32

/* ------------------------------------------------------------------ */
/* stdio                                                               */

int
mcpc_stdio_spawn(struct mcpc_stdio *d, const char *const *argv,
                 const char *const *env, const char *err_path)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err_fd;

    memset(d, 0, sizeof(*d));
    d->pid = -1;
    d->in_fd = d->out_fd = -1;
    d->next_id = 1;
    d->rpc_ms = MCPC_RPC_MS;
    d->max_line = MCPC_LINE_MAX;
    err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err_fd < 0)
        return -1;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        if (in[0] >= 0) {
            close(in[0]);
            close(in[1]);
        }
        close(err_fd);
        return -1;
    }
    d->pid = tl_spawn(argv, env, in[0], out[1], err_fd, SIGKILL);
    close(in[0]);
    close(out[1]);
    close(err_fd);
    if (d->pid < 0) {
        close(in[1]);
        close(out[0]);
        d->pid = -1;
        return -1;
    }
    d->in_fd = in[1];
    d->out_fd = out[0];
    return 0;
}

int
mcpc_stdio_send(struct mcpc_stdio *d, const char *line)
{
    size_t n = strlen(line), off = 0;

    while (off < n) {
        ssize_t w = write(d->in_fd, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return write(d->in_fd, "\n", 1) == 1 ? 0 : -1;
}

/* Appends line (n bytes) and a newline to d->seen; a short allocation
 * drops it. */
static void
keep_seen(struct mcpc_stdio *d, const char *line, size_t n)
{
    char *grown = realloc(d->seen, d->seen_len + n + 2);

    if (grown == NULL)
        return;
    d->seen = grown;
    memcpy(d->seen + d->seen_len, line, n);
    d->seen_len += n;
    d->seen[d->seen_len++] = '\n';
    d->seen[d->seen_len] = '\0';
}

char *
mcpc_stdio_line(struct mcpc_stdio *d, int timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;

    for (;;) {
        char *nl = d->buf != NULL ? memchr(d->buf, '\n', d->len) : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - d->buf);
            char *line = malloc(n + 1);
            if (line == NULL)
                return NULL;
            memcpy(line, d->buf, n);
            line[n] = '\0';
            memmove(d->buf, nl + 1, d->len - n - 1);
            d->len -= n + 1;
            if (d->keep_seen)
                keep_seen(d, line, n);
            return line;
        }
        int left = (int)(end - tl_now_ms());
        struct pollfd p = {d->out_fd, POLLIN, 0};
        char chunk[65536];
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return NULL;
        ssize_t r = read(d->out_fd, chunk, sizeof(chunk));
        if (r <= 0 || d->len + (size_t)r > d->max_line)
            return NULL;
        char *grown = realloc(d->buf, d->len + (size_t)r + 1);
        if (grown == NULL)
            return NULL;
        d->buf = grown;
        memcpy(d->buf + d->len, chunk, (size_t)r);
        d->len += (size_t)r;
    }
}

json_object *
mcpc_stdio_rpc(struct mcpc_stdio *d, const char *method, const char *params)
{
    size_t cap = strlen(params) + strlen(method) + 128;
    char *msg = malloc(cap);
    int id = d->next_id++;
    int64_t end = tl_now_ms() + d->rpc_ms;

    if (msg == NULL)
        return NULL;
    snprintf(msg, cap,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\","
             "\"params\":%s}",
             id, method, params);
    int rc = mcpc_stdio_send(d, msg);
    secure_wipe(msg, strlen(msg));
    free(msg);
    if (rc < 0)
        return NULL;
    while (tl_now_ms() < end) {
        char *line = mcpc_stdio_line(d, (int)(end - tl_now_ms()));
        if (line == NULL)
            return NULL;
        json_object *m = json_tokener_parse(line);
        free(line);
        if (tl_get_path(m, "method") != NULL) {
            if (d->on_msg != NULL)
                d->on_msg(d, m, d->on_msg_arg);
        } else if (tl_get_path(m, "id") != NULL && tl_int_at(m, "id") == id) {
            return m;
        }
        json_object_put(m);
    }
    return NULL;
}

json_object *
mcpc_stdio_initialize(struct mcpc_stdio *d, const char *name,
                      const char *capabilities)
{
    char params[512];
    json_object *r;

    snprintf(params, sizeof(params),
             "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":%s,"
             "\"clientInfo\":{\"name\":\"%s\",\"version\":\"1\"}}",
             capabilities, name);
    r = mcpc_stdio_rpc(d, "initialize", params);
    if (tl_get_path(r, "result") != NULL &&
        mcpc_stdio_send(d, "{\"jsonrpc\":\"2.0\",\"method\":"
                           "\"notifications/initialized\"}") < 0) {
        json_object_put(r);
        r = NULL;
    }
    return r;
}

json_object *
mcpc_stdio_tool(struct mcpc_stdio *d, const char *name, const char *args)
{
    size_t cap = strlen(args) + strlen(name) + 64;
    char *params = malloc(cap);
    json_object *r, *res = NULL;

    if (params == NULL)
        return NULL;
    snprintf(params, cap, "{\"name\":\"%s\",\"arguments\":%s}", name, args);
    r = mcpc_stdio_rpc(d, "tools/call", params);
    secure_wipe(params, strlen(params));
    free(params);
    if (tl_get_path(r, "result") != NULL)
        json_object_deep_copy(tl_get_path(r, "result"), &res, NULL);
    json_object_put(r);
    return res;
}

int
mcpc_stdio_stop(struct mcpc_stdio *d, long timeout_ms, int *status)
{
    int st = 0, rc = 0;

    if (d->pid > 0) {
        close(d->in_fd);
        rc = tl_wait_exit(d->pid, timeout_ms, &st);
        close(d->out_fd);
        d->in_fd = d->out_fd = -1;
    }
    if (status != NULL)
        *status = st;
    free(d->buf);
    free(d->seen);
    d->buf = d->seen = NULL;
    d->len = d->seen_len = 0;
    d->pid = -1;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Streamable HTTP                                                     */

int
mcpc_http_start(struct mcpc_http *d, const char *const *args,
                const char *const *env, const char *log_path, long start_ms,
                const char *who)
{
    const char *argv[MCPC_ARGS_MAX] = {tl_binmcpd_path(), "--mode", "sse",
                                       "--port", "0"};
    int n = 5, status, fd, nul;

    memset(d, 0, sizeof(*d));
    d->pid = -1;
    snprintf(d->log, sizeof(d->log), "%s", log_path);
    for (int i = 0; args != NULL && args[i] != NULL; i++) {
        if (n >= MCPC_ARGS_MAX - 1)
            return -1;
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || nul < 0) {
        if (fd >= 0)
            close(fd);
        if (nul >= 0)
            close(nul);
        return -1;
    }
    d->pid = tl_spawn(argv, env, nul, fd, fd, SIGKILL);
    close(fd);
    close(nul);
    if (d->pid < 0) {
        d->pid = -1;
        return -1;
    }
    d->port = tl_wait_listening(d->log, d->pid, start_ms, &status);
    if (d->port <= 0) {
        char *log = tl_slurp(d->log, NULL);
        fprintf(stderr, "%s: the daemon did not start:\n%s\n", who,
                log != NULL ? log : "");
        free(log);
        if (d->port == 0) {
            kill(d->pid, SIGKILL);
            tl_wait_exit(d->pid, 5000, &status);
        }
        d->pid = -1;
        return -1;
    }
    return 0;
}

int
mcpc_http_stop(struct mcpc_http *d, long timeout_ms, int *status)
{
    int st = 0, rc = 0;

    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        rc = tl_wait_exit(d->pid, timeout_ms, &st);
    }
    if (status != NULL)
        *status = st;
    d->pid = -1;
    return rc;
}

int
mcpc_http_open(int port, const char *sid, const char *body, int timeout_ms,
               struct httpc_sse *s)
{
    char hdr[512];

    snprintf(hdr, sizeof(hdr),
             "Accept: application/json, text/event-stream\r\n"
             "Content-Type: application/json\r\n%s%s%s",
             sid != NULL ? "Mcp-Session-Id: " : "", sid != NULL ? sid : "",
             sid != NULL ? "\r\nMCP-Protocol-Version: 2025-11-25\r\n" : "");
    return httpc_sse_open(s, port, "POST", "/mcp", hdr, body, strlen(body),
                          timeout_ms);
}

json_object *
mcpc_http_read(struct httpc_sse *s, int timeout_ms)
{
    struct httpc_event ev;
    int64_t end = tl_now_ms() + timeout_ms;

    while (tl_now_ms() < end) {
        if (httpc_sse_next(s, &ev, (int)(end - tl_now_ms())) != 1)
            return NULL;
        json_object *m = json_tokener_parse(ev.data);
        httpc_event_free(&ev);
        if (m != NULL && tl_get_path(m, "method") == NULL &&
            (tl_get_path(m, "result") != NULL ||
             tl_get_path(m, "error") != NULL))
            return m;
        json_object_put(m);
    }
    return NULL;
}

int
mcpc_http_session(int port, const char *name, char *sid, size_t len,
                  int timeout_ms, int *answered)
{
    struct httpc_sse s;
    char body[512], w[16] = "-1";
    json_object *m;

    if (answered != NULL)
        *answered = 0;
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
             "\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":{},\"clientInfo\":{\"name\":\"%s\","
             "\"version\":\"1\"}}}",
             name);
    if (mcpc_http_open(port, NULL, body, timeout_ms, &s) < 0 ||
        httpc_header(s.headers, "Mcp-Session-Id", sid, len) == NULL) {
        httpc_sse_close(&s);
        return -1;
    }
    httpc_header(s.headers, "X-Binmcpd-Worker", w, sizeof(w));
    m = mcpc_http_read(&s, timeout_ms);
    httpc_sse_close(&s);
    if (answered != NULL)
        *answered = m != NULL;
    json_object_put(m);
    return atoi(w);
}

json_object *
mcpc_http_tool(int port, const char *sid, const char *name, const char *args,
               int timeout_ms)
{
    struct httpc_sse s;
    size_t cap = strlen(args) + strlen(name) + 256;
    char *body = malloc(cap);
    json_object *m, *res = NULL;

    if (body == NULL)
        return NULL;
    snprintf(body, cap,
             "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
             name, args);
    if (mcpc_http_open(port, sid, body, timeout_ms, &s) == 0) {
        m = mcpc_http_read(&s, timeout_ms);
        if (tl_get_path(m, "result") != NULL)
            json_object_deep_copy(tl_get_path(m, "result"), &res, NULL);
        json_object_put(m);
    }
    httpc_sse_close(&s);
    free(body);
    return res;
}

/* ------------------------------------------------------------------ */
/* The daemon log                                                      */

int
mcpc_log_count(const char *path, const char *needle)
{
    char *log = tl_slurp(path, NULL);
    int n = 0;

    for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL;
         p += strlen(needle))
        n++;
    free(log);
    return n;
}

int
mcpc_log_has(const char *path, const char *needle, int ms)
{
    int64_t end = tl_now_ms() + ms;

    for (;;) {
        char *log = tl_slurp(path, NULL);
        int yes = tl_contains(log, needle);
        free(log);
        if (yes || tl_now_ms() >= end)
            return yes;
        tl_sleep_ms(50);
    }
}

int
mcpc_log_wait(const char *path, const char *needle, int n, int ms)
{
    int64_t end = tl_now_ms() + ms;

    while (mcpc_log_count(path, needle) < n) {
        if (tl_now_ms() >= end)
            return -1;
        tl_sleep_ms(50);
    }
    return 0;
}

pid_t
mcpc_log_worker_pid(const char *path, int k)
{
    char *log = tl_slurp(path, NULL), want[48];
    pid_t pid = 0;

    snprintf(want, sizeof(want), "]: info: worker %d: serving", k);
    for (char *p = log; p != NULL && (p = strstr(p, want)) != NULL; p++) {
        char *open_bracket = p;
        while (open_bracket > log && open_bracket[-1] != '[')
            open_bracket--;
        pid = (pid_t)atol(open_bracket);
    }
    free(log);
    return pid;
}

pid_t
mcpc_only_child(pid_t parent)
{
    char path[64], line[256];
    FILE *f;
    pid_t child = 0;

    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)parent,
             (long)parent);
    if ((f = fopen(path, "r")) != NULL) {
        if (fgets(line, sizeof(line), f) != NULL)
            child = (pid_t)atol(line);
        fclose(f);
    }
    return child;
}
