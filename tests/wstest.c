/*
 * wstest.c - the WebSocket client loop the stream tests share (wstest.h).
 */
#include "config.h"

#include "wstest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static void
on_message(void *arg, const char *text, size_t len)
{
    struct wsc *w = arg;
    char *copy = malloc(len + 1);

    if (w->on_message != NULL)
        w->on_message(w, text, len);
    if (copy == NULL)
        return;
    memcpy(copy, text, len + 1);
    free(w->last);
    w->last = copy;
    w->last_len = len;
    w->messages++;
}

static void
on_close(void *arg, int code, bool clean, const char *reason)
{
    struct wsc *w = arg;
    w->closed = true;
    w->clean = clean;
    w->code = code;
    snprintf(w->reason, sizeof(w->reason), "%s", reason);
}

int
wsc_open(struct wsc *w, const char *url, const char *ca_file,
         size_t max_message)
{
    struct ws_options o = {
        .url = url,
        .ca_file = ca_file,
        .max_message = max_message,
        .on_message = on_message,
        .on_close = on_close,
        .arg = w,
    };
    struct epoll_event ev = {0};

    w->conn = ws_open(&o, w->reason, sizeof(w->reason));
    w->ep = -1;
    if (w->conn == NULL)
        return -1;
    if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        snprintf(w->reason, sizeof(w->reason), "epoll: %s", strerror(errno));
        return -1;
    }
    ev.events = ws_events(w->conn);
    epoll_ctl(w->ep, EPOLL_CTL_ADD, ws_fd(w->conn), &ev);
    return 0;
}

bool
wsc_pump(struct wsc *w, long timeout_ms, bool (*done)(struct wsc *))
{
    int64_t end = tl_now_ms() + timeout_ms;

    while (w->conn != NULL && !w->closed) {
        struct epoll_event ev = {0};
        int64_t left = end - tl_now_ms();
        int n;

        if (done != NULL && done(w))
            return true;
        if (left <= 0)
            break;
        ev.events = ws_events(w->conn);
        epoll_ctl(w->ep, EPOLL_CTL_MOD, ws_fd(w->conn), &ev);
        n = epoll_wait(w->ep, &ev, 1, (int)(left < 50 ? left : 50));
        if (n == 1 && (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            ws_on_readable(w->conn);
        else if (n == 1)
            ws_on_writable(w->conn);
    }
    return done != NULL && done(w);
}

bool
wsc_is_open(struct wsc *w)
{
    return w->conn != NULL && ws_state(w->conn) == WS_OPEN;
}

bool
wsc_is_closed(struct wsc *w)
{
    return w->closed;
}

void
wsc_free(struct wsc *w)
{
    ws_free(w->conn);
    if (w->ep >= 0)
        close(w->ep);
    free(w->last);
    memset(w, 0, sizeof(*w));
    w->ep = -1;
}

json_object *
wstest_info(const struct fakex *fx, const char *q)
{
    char path[256], body[4096];

    snprintf(path, sizeof(path), "/__fake/stream%s%s", q[0] ? "?" : "", q);
    if (fakex_http(fx, "GET", path, body, sizeof(body)) != 200)
        return NULL;
    return json_tokener_parse(body);
}

int
wstest_base(const struct fakex *fx, char *buf, size_t len)
{
    json_object *o = wstest_info(fx, "");
    int64_t port = tl_int_at(o, "port");

    json_object_put(o);
    if (port <= 0 || port > 65535)
        return -1;
    snprintf(buf, len, "ws://127.0.0.1:%d", (int)port);
    return 0;
}

int
wstest_start(struct fakex *fx, char *buf, size_t len)
{
    if (fakex_start(fx, NULL) < 0)
        return -1;
    return wstest_base(fx, buf, len);
}

long
wstest_post(const struct fakex *fx, const char *path)
{
    return fakex_http(fx, "POST", path, NULL, 0);
}
