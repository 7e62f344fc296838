/*
 * fakex_ws.c - the fake exchange's WebSocket stream server (fakex_ws.h).
 *
 * The thread owns the connections: it alone accepts, reads, writes and
 * frees them. Other threads (the exchange's HTTP handlers and generator)
 * queue messages or set flags under s->lock and wake the thread through an
 * eventfd; the thread does the rest on its next turn, also under s->lock.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "fakex_ws.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <wslay/wslay.h>

#define FXWS_STREAM_MAX    96
#define FXWS_CLOSE_WAIT_MS 5000 /* for the client's close frame */

struct fxconn {
    int fd;
    unsigned long long id;
    bool api;      /* /ws-api/v3: requests go to the exchange */
    bool open;     /* upgraded */
    bool combined; /* /stream?streams=: wrap payloads */
    bool dead;     /* free on this turn */
    bool drop;     /* close the socket without a frame */
    bool bad_frame;
    char head[FXWS_MAX_REQUEST + 1];
    size_t hlen;
    char *out; /* the handshake answer, then nothing */
    size_t out_len, out_off;
    bool close_after_out; /* a refusal: no WebSocket follows */
    wslay_event_context_ptr ev;
    struct fragments *frags; /* fragmented messages not yet all sent */
    char (*streams)[FXWS_STREAM_MAX];
    size_t nstreams;
    char ping_payload[126];
    long long next_ping_ms, close_deadline_ms;
    struct fxws *srv;
    struct fxconn *next;
};

/* A text message sent in several frames: wslay reads it through
 * fragment_read; it is freed once read, or with its connection. */
struct fragments {
    char *text;
    size_t len, off, chunk;
    struct fxconn *conn;
    struct fragments *next;
};

/* A WebSocket API request waiting for the end of the thread's turn. */
struct api_request {
    unsigned long long conn;
    char *text;
    size_t len;
    struct api_request *next;
};

struct fxws {
    pthread_mutex_t lock;
    pthread_t thread;
    int listen_fd, wake_fd, ep;
    int port;
    atomic_int stop;
    fxws_stream_ok_fn stream_ok;
    fxws_api_fn api;
    struct api_request *requests, **requests_tail; /* the thread's own */
    unsigned long long next_id;
    struct fxconn *conns;
    unsigned nconns;
    struct fxws_stats st;
};

static long long
mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
wake(struct fxws *s)
{
    uint64_t one = 1;
    ssize_t n = write(s->wake_fd, &one, sizeof(one));
    (void)n; /* a full counter wakes the thread all the same */
}

/* ------------------------------------------------------------------ */
/* Streams of a connection                                             */

static bool
conn_has_stream(const struct fxconn *c, const char *name)
{
    for (size_t i = 0; i < c->nstreams; i++)
        if (strcmp(c->streams[i], name) == 0)
            return true;
    return false;
}

/* Adds stream name (checked by stream_ok). Returns 0, or -1 when it is
 * unknown, too long, or the connection has FXWS_MAX_STREAMS. */
static int
conn_add_stream(struct fxconn *c, const char *name)
{
    void *p;

    if (strlen(name) >= FXWS_STREAM_MAX || !c->srv->stream_ok(name) ||
        c->nstreams == FXWS_MAX_STREAMS)
        return -1;
    if (conn_has_stream(c, name))
        return 0;
    if ((p = realloc(c->streams, (c->nstreams + 1) * sizeof(*c->streams))) ==
        NULL)
        return -1;
    c->streams = p;
    snprintf(c->streams[c->nstreams++], FXWS_STREAM_MAX, "%s", name);
    return 0;
}

static void
conn_del_stream(struct fxconn *c, const char *name)
{
    for (size_t i = 0; i < c->nstreams; i++)
        if (strcmp(c->streams[i], name) == 0) {
            memmove(c->streams[i], c->streams[i + 1],
                    (c->nstreams - i - 1) * sizeof(*c->streams));
            c->nstreams--;
            return;
        }
}

/* ------------------------------------------------------------------ */
/* wslay, server side                                                  */

static ssize_t
srv_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len, int flags,
         void *user)
{
    struct fxconn *c = user;
    ssize_t n;
    (void)flags;

    do
        n = recv(c->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    wslay_event_set_error(ev, n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                                  ? WSLAY_ERR_WOULDBLOCK
                                  : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t
srv_send(wslay_event_context_ptr ev, const uint8_t *data, size_t len, int flags,
         void *user)
{
    struct fxconn *c = user;
    ssize_t n;
    (void)flags;

    do
        n = send(c->fd, data, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    wslay_event_set_error(ev, errno == EAGAIN || errno == EWOULDBLOCK
                                  ? WSLAY_ERR_WOULDBLOCK
                                  : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void
queue_text(struct fxconn *c, const char *text)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text,
                                strlen(text)};
    if (wslay_event_queue_msg(c->ev, &m) == 0)
        c->srv->st.sent++;
}

/* Answers a client's JSON control message (SUBSCRIBE, UNSUBSCRIBE,
 * LIST_SUBSCRIPTIONS), as Binance does. */
static void
control_message(struct fxconn *c, const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *req = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_object *method = NULL, *params = NULL, *id = NULL;
    json_object *ans = json_object_new_object();
    const char *m = NULL;
    bool ok = true;

    if (req != NULL && json_object_is_type(req, json_type_object)) {
        json_object_object_get_ex(req, "method", &method);
        json_object_object_get_ex(req, "params", &params);
        json_object_object_get_ex(req, "id", &id);
        if (json_object_is_type(method, json_type_string))
            m = json_object_get_string(method);
    }
    if (m != NULL &&
        (strcmp(m, "SUBSCRIBE") == 0 || strcmp(m, "UNSUBSCRIBE") == 0)) {
        bool sub = m[0] == 'S';
        size_t n = json_object_is_type(params, json_type_array)
                       ? json_object_array_length(params)
                       : 0;
        for (size_t i = 0; ok && i < n; i++) {
            json_object *p = json_object_array_get_idx(params, i);
            const char *name = json_object_get_string(p);
            if (!json_object_is_type(p, json_type_string))
                ok = false;
            else if (sub)
                ok = conn_add_stream(c, name) == 0;
            else
                conn_del_stream(c, name);
        }
        json_object_object_add(ans, "result", NULL);
    } else if (m != NULL && strcmp(m, "LIST_SUBSCRIPTIONS") == 0) {
        json_object *list = json_object_new_array();
        for (size_t i = 0; i < c->nstreams; i++)
            json_object_array_add(list, json_object_new_string(c->streams[i]));
        json_object_object_add(ans, "result", list);
    } else {
        ok = false;
    }
    if (!ok) {
        json_object_put(ans);
        ans = json_object_new_object();
        json_object_object_add(ans, "code", json_object_new_int(2));
        json_object_object_add(ans, "msg",
                               json_object_new_string("Invalid request"));
    }
    json_object_object_add(ans, "id", json_object_get(id));
    queue_text(c, json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN));
    json_object_put(ans);
    json_object_put(req);
    if (tok != NULL)
        json_tokener_free(tok);
}

/* Keeps a WebSocket API request for the end of the turn: the exchange
 * takes its own lock, never while this server's is held. */
static void
api_defer(struct fxconn *c, const char *text, size_t len)
{
    struct api_request *r = calloc(1, sizeof(*r));

    if (r == NULL || (r->text = malloc(len + 1)) == NULL) {
        free(r);
        return;
    }
    memcpy(r->text, text, len);
    r->text[len] = '\0';
    r->len = len;
    r->conn = c->id;
    *c->srv->requests_tail = r;
    c->srv->requests_tail = &r->next;
}

static void
srv_message(wslay_event_context_ptr ev,
            const struct wslay_event_on_msg_recv_arg *m, void *user)
{
    struct fxconn *c = user;
    (void)ev;

    switch (m->opcode) {
    case WSLAY_TEXT_FRAME:
        c->srv->st.received++;
        if (c->api)
            api_defer(c, (const char *)m->msg, m->msg_length);
        else
            control_message(c, (const char *)m->msg, m->msg_length);
        break;
    case WSLAY_PONG:
        if (m->msg_length == strlen(c->ping_payload) &&
            (m->msg_length == 0 ||
             memcmp(m->msg, c->ping_payload, m->msg_length) == 0))
            c->srv->st.pongs++;
        break;
    case WSLAY_CONNECTION_CLOSE:
        c->srv->st.last_close_code = m->status_code;
        break;
    default:
        break;
    }
}

static const struct wslay_event_callbacks SRV_CALLBACKS = {
    .recv_callback = srv_recv,
    .send_callback = srv_send,
    .on_msg_recv_callback = srv_message,
};

static void
conn_ping(struct fxconn *c, const char *payload)
{
    struct wslay_event_msg m;

    snprintf(c->ping_payload, sizeof(c->ping_payload), "%.125s", payload);
    m.opcode = WSLAY_PING;
    m.msg = (const uint8_t *)c->ping_payload;
    m.msg_length = strlen(c->ping_payload);
    if (wslay_event_queue_msg(c->ev, &m) == 0)
        c->srv->st.pings++;
}

/* ------------------------------------------------------------------ */
/* The handshake                                                       */

/* Decodes %XX escapes in place. */
static void
pct_decode(char *s)
{
    char *w = s;
    for (; *s; s++, w++) {
        if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
            isxdigit((unsigned char)s[2])) {
            char hex[3] = {s[1], s[2], 0};
            *w = (char)strtol(hex, NULL, 16);
            s += 2;
        } else {
            *w = *s;
        }
    }
    *w = '\0';
}

/* The value of query parameter name in q ("a=1&b=2"), decoded, into out. */
static bool
query_param(const char *q, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);

    while (q != NULL && *q) {
        size_t seg = strcspn(q, "&");
        if (seg > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
            snprintf(out, outlen, "%.*s", (int)(seg - nl - 1), q + nl + 1);
            pct_decode(out);
            return true;
        }
        q += seg;
        if (*q == '&')
            q++;
    }
    return false;
}

/* Subscribes c to the streams its target names. Returns 0, or -1 with a
 * reason in why. */
static int
target_subscribe(struct fxconn *c, char *target, char *why, size_t whylen)
{
    char *q = strchr(target, '?');
    char list[4400];

    if (q != NULL)
        *q++ = '\0';
    if (strcmp(target, "/ws-api/v3") == 0) {
        c->api = true;
        return 0;
    }
    if (strcmp(target, "/stream") == 0) {
        c->combined = true;
        if (!query_param(q, "streams", list, sizeof(list))) {
            snprintf(why, whylen, "no streams parameter");
            return -1;
        }
    } else if (strncmp(target, "/ws/", 4) == 0 || strcmp(target, "/ws") == 0) {
        snprintf(list, sizeof(list), "%s", target[3] ? target + 4 : "");
        pct_decode(list);
    } else {
        snprintf(why, whylen, "no such path: %.100s", target);
        return -1;
    }
    for (char *save = NULL, *name = strtok_r(list, "/", &save); name != NULL;
         name = strtok_r(NULL, "/", &save))
        if (conn_add_stream(c, name) < 0) {
            snprintf(why, whylen, "unknown stream: %.100s", name);
            return -1;
        }
    if (q != NULL && query_param(q, "__fake", list, sizeof(list)) &&
        strcmp(list, "bad_accept") == 0)
        c->ping_payload[0] = '!'; /* marks a wrong accept (below) */
    return 0;
}

/* base64(SHA-1(key + GUID)) into out (at least 29 bytes). */
static int
accept_for(const char *key, bool wrong, char *out, size_t outlen)
{
    char cat[128];
    unsigned char sha[20];
    gnutls_datum_t d = {sha, sizeof(sha)}, b64 = {NULL, 0};

    snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, cat, strlen(cat), sha) < 0)
        return -1;
    if (wrong)
        sha[0] ^= 0xff;
    if (gnutls_base64_encode2(&d, &b64) < 0)
        return -1;
    snprintf(out, outlen, "%.*s", (int)b64.size, b64.data);
    gnutls_free(b64.data);
    return 0;
}

/* Parses the complete request head and prepares the answer. */
static void
handshake(struct fxconn *c)
{
    char target[4200] = "", key[64] = "", why[200] = "", acc[64];
    bool upgrade = false, version = false;
    char *line, *save = NULL;

    line = strtok_r(c->head, "\r\n", &save);
    if (line == NULL || sscanf(line, "GET %4199s HTTP/1.1", target) != 1)
        snprintf(why, sizeof(why), "not a GET request");
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *v = strchr(line, ':');
        if (v == NULL)
            continue;
        *v++ = '\0';
        v += strspn(v, " \t");
        if (strcasecmp(line, "Upgrade") == 0)
            upgrade = strcasecmp(v, "websocket") == 0;
        else if (strcasecmp(line, "Sec-WebSocket-Version") == 0)
            version = strcmp(v, "13") == 0;
        else if (strcasecmp(line, "Sec-WebSocket-Key") == 0)
            snprintf(key, sizeof(key), "%s", v);
    }
    if (!why[0] && (!upgrade || !version || strlen(key) != 24))
        snprintf(why, sizeof(why), "not a WebSocket upgrade (version 13)");
    if (!why[0])
        target_subscribe(c, target, why, sizeof(why));
    if (!why[0] &&
        (accept_for(key, c->ping_payload[0] == '!', acc, sizeof(acc)) < 0 ||
         wslay_event_context_server_init(&c->ev, &SRV_CALLBACKS, c) != 0)) {
        c->ev = NULL;
        snprintf(why, sizeof(why), "server failure");
    }
    c->ping_payload[0] = '\0';
    if (why[0]) {
        char body[256];
        int bl = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", why);
        c->out_len = (size_t)asprintf(
            &c->out,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
            bl, body);
        c->close_after_out = true;
        c->srv->st.refused++;
        return;
    }
    wslay_event_config_set_max_recv_msg_length(c->ev, FXWS_MAX_MESSAGE);
    c->out_len = (size_t)asprintf(&c->out,
                                  "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: %s\r\n\r\n",
                                  acc);
    c->open = true;
    c->next_ping_ms = mono_now_ms() + FXWS_PING_MS;
    c->srv->st.accepted++;
}

/* Reads the request head; answers once it is complete. */
static void
head_read(struct fxconn *c)
{
    for (;;) {
        ssize_t n =
            recv(c->fd, c->head + c->hlen, FXWS_MAX_REQUEST - c->hlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            c->dead = true;
            return;
        }
        c->hlen += (size_t)n;
        c->head[c->hlen] = '\0';
        if (strstr(c->head, "\r\n\r\n") != NULL) {
            handshake(c);
            return;
        }
        if (c->hlen == FXWS_MAX_REQUEST) {
            c->dead = true; /* an endless head */
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */

/* Does what c can do now: answer, frame, flags. */
static void
conn_service(struct fxconn *c, uint32_t events)
{
    long long now = mono_now_ms();

    if (c->drop) {
        c->dead = true;
        return;
    }
    if (c->out == NULL && !c->open && (events & EPOLLIN))
        head_read(c);
    while (!c->dead && c->out != NULL && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            c->dead = true;
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->dead || !c->open) {
        if (c->close_after_out && c->out_off == c->out_len)
            c->dead = true;
        return;
    }
    if (now >= c->next_ping_ms) {
        conn_ping(c, "");
        c->next_ping_ms = now + FXWS_PING_MS;
    }
    if ((events & EPOLLIN) && wslay_event_want_read(c->ev) &&
        wslay_event_recv(c->ev) != 0) {
        c->dead = true;
        return;
    }
    if (wslay_event_want_write(c->ev) && wslay_event_send(c->ev) != 0) {
        c->dead = true;
        return;
    }
    if (c->bad_frame && !wslay_event_want_write(c->ev)) {
        static const unsigned char frame[] = {0xf1, 0x00}; /* RSV1-3 set */
        c->bad_frame = false;
        if (send(c->fd, frame, sizeof(frame), MSG_NOSIGNAL) < 0)
            c->dead = true;
    }
    if (wslay_event_get_queued_msg_length(c->ev) > FXWS_MAX_QUEUED)
        c->dead = true; /* too slow a reader */
    if (wslay_event_get_close_sent(c->ev) &&
        (wslay_event_get_close_received(c->ev) ||
         !wslay_event_get_read_enabled(c->ev) ||
         (c->close_deadline_ms != 0 && now >= c->close_deadline_ms)))
        c->dead = true;
    if (wslay_event_get_close_sent(c->ev) && c->close_deadline_ms == 0)
        c->close_deadline_ms = now + FXWS_CLOSE_WAIT_MS;
}

static void
conn_free(struct fxws *s, struct fxconn *c)
{
    if (c->open)
        s->st.open--;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->ev != NULL)
        wslay_event_context_free(c->ev);
    while (c->frags != NULL) {
        struct fragments *f = c->frags;
        c->frags = f->next;
        free(f->text);
        free(f);
    }
    free(c->out);
    free(c->streams);
    free(c);
    s->nconns--;
}

/* Re-arms c's interest, or frees it when dead. Returns false once freed. */
static bool
conn_rearm(struct fxws *s, struct fxconn *c)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

    if (c->dead)
        return false;
    if ((c->out != NULL && c->out_off < c->out_len) ||
        (c->open && wslay_event_want_write(c->ev)))
        ev.events |= EPOLLOUT;
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
    return true;
}

static void
accept_all(struct fxws *s)
{
    for (;;) {
        int fd =
            accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct fxconn *c;
        struct epoll_event ev = {.events = EPOLLIN};
        int one = 1;

        if (fd < 0)
            return;
        if (s->nconns == FXWS_MAX_CONNS ||
            (c = calloc(1, sizeof(*c))) == NULL) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        c->srv = s;
        c->id = ++s->next_id;
        ev.data.ptr = c;
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
    }
}

static void *
fxws_thread(void *arg)
{
    struct fxws *s = arg;
    struct epoll_event evs[64];

    while (!atomic_load(&s->stop)) {
        int n = epoll_wait(s->ep, evs, 64, 250);
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &s->listen_fd) {
                accept_all(s);
            } else if (evs[i].data.ptr == &s->wake_fd) {
                uint64_t v;
                ssize_t r = read(s->wake_fd, &v, sizeof(v));
                (void)r;
            } else {
                struct fxconn *c = evs[i].data.ptr;
                bool was_open = c->open;
                conn_service(c, evs[i].events);
                if (c->open && !was_open)
                    s->st.open++;
            }
        }
        /* every connection: queued output, flags, pings, the dead */
        for (struct fxconn **pp = &s->conns; *pp != NULL;) {
            struct fxconn *c = *pp;
            if (!c->dead)
                conn_service(c, 0);
            if (!conn_rearm(s, c)) {
                *pp = c->next;
                conn_free(s, c);
            } else {
                pp = &c->next;
            }
        }
        /* the WebSocket API requests of this turn, without the lock */
        struct api_request *r = s->requests;
        s->requests = NULL;
        s->requests_tail = &s->requests;
        pthread_mutex_unlock(&s->lock);
        while (r != NULL) {
            struct api_request *next = r->next;
            if (s->api != NULL)
                s->api(r->conn, r->text, r->len);
            free(r->text);
            free(r);
            r = next;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The API                                                             */

struct fxws *
fxws_start(const char *addr, fxws_stream_ok_fn ok, fxws_api_fn api, char *err,
           size_t errlen)
{
    struct fxws *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    struct epoll_event ev = {.events = EPOLLIN};

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->stream_ok = ok;
    s->api = api;
    s->requests_tail = &s->requests;
    s->listen_fd = s->wake_fd = s->ep = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
        (s->listen_fd = socket(
             AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
        bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(s->listen_fd, 64) < 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl) < 0 ||
        (s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        (s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        fxws_stop(s);
        return NULL;
    }
    s->port = ntohs(sa.sin_port);
    ev.data.ptr = &s->listen_fd;
    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->listen_fd, &ev);
    ev.data.ptr = &s->wake_fd;
    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake_fd, &ev);
    if (pthread_create(&s->thread, NULL, fxws_thread, s) != 0) {
        snprintf(err, errlen, "cannot start the stream thread");
        s->thread = 0;
        fxws_stop(s);
        return NULL;
    }
    return s;
}

int
fxws_port(const struct fxws *s)
{
    return s->port;
}

bool
fxws_wanted(struct fxws *s, const char *stream)
{
    bool any = false;

    pthread_mutex_lock(&s->lock);
    for (struct fxconn *c = s->conns; c != NULL && !any; c = c->next)
        any = c->open && !c->dead && conn_has_stream(c, stream);
    pthread_mutex_unlock(&s->lock);
    return any;
}

int
fxws_publish(struct fxws *s, const char *stream, const char *data)
{
    char *wrapped = NULL;
    int count = 0;

    pthread_mutex_lock(&s->lock);
    for (struct fxconn *c = s->conns; c != NULL; c = c->next) {
        if (!c->open || c->dead || !conn_has_stream(c, stream))
            continue;
        if (c->combined && wrapped == NULL &&
            asprintf(&wrapped, "{\"stream\":\"%s\",\"data\":%s}", stream,
                     data) < 0) {
            wrapped = NULL;
            continue;
        }
        queue_text(c, c->combined ? wrapped : data);
        count++;
    }
    pthread_mutex_unlock(&s->lock);
    free(wrapped);
    if (count > 0)
        wake(s);
    return count;
}

int
fxws_send_to(struct fxws *s, unsigned long long conn, const char *text)
{
    int rc = -1;

    pthread_mutex_lock(&s->lock);
    for (struct fxconn *c = s->conns; c != NULL && rc < 0; c = c->next)
        if (c->id == conn && c->open && !c->dead) {
            queue_text(c, text);
            rc = 0;
        }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        wake(s);
    return rc;
}

bool
fxws_is_open(struct fxws *s, unsigned long long conn)
{
    bool open = false;

    pthread_mutex_lock(&s->lock);
    for (struct fxconn *c = s->conns; c != NULL && !open; c = c->next)
        open = c->id == conn && c->open && !c->dead;
    pthread_mutex_unlock(&s->lock);
    return open;
}

/* Runs fn on every open connection under the lock, then wakes the thread.
 * Returns the count. */
static int
for_each_open(struct fxws *s, void (*fn)(struct fxconn *, const void *),
              const void *arg)
{
    int count = 0;

    pthread_mutex_lock(&s->lock);
    for (struct fxconn *c = s->conns; c != NULL; c = c->next)
        if (c->open && !c->dead) {
            fn(c, arg);
            count++;
        }
    pthread_mutex_unlock(&s->lock);
    wake(s);
    return count;
}

static void
do_ping(struct fxconn *c, const void *payload)
{
    conn_ping(c, payload);
}

int
fxws_ping(struct fxws *s, const char *payload)
{
    return for_each_open(s, do_ping, payload);
}

static void
do_close(struct fxconn *c, const void *frame)
{
    static const char why[] = "going away";
    if (*(const bool *)frame)
        wslay_event_queue_close(c->ev, WSLAY_CODE_GOING_AWAY,
                                (const uint8_t *)why, sizeof(why) - 1);
    else
        c->drop = true;
}

int
fxws_disconnect(struct fxws *s, bool frame)
{
    return for_each_open(s, do_close, &frame);
}

static ssize_t
fragment_read(wslay_event_context_ptr ev, uint8_t *buf, size_t len,
              const union wslay_event_msg_source *src, int *eof, void *user)
{
    struct fragments *f = src->data;
    size_t take = f->len - f->off < f->chunk ? f->len - f->off : f->chunk;
    (void)ev;
    (void)user;

    if (take > len)
        take = len;
    memcpy(buf, f->text + f->off, take);
    f->off += take;
    if (f->off == f->len) {
        struct fragments **pp = &f->conn->frags;
        while (*pp != f)
            pp = &(*pp)->next;
        *pp = f->next;
        *eof = 1;
        free(f->text);
        free(f);
    }
    return (ssize_t)take;
}

struct send_args {
    const char *text;
    size_t len;
    int fragments;
};

static void
do_send(struct fxconn *c, const void *arg)
{
    const struct send_args *a = arg;
    struct fragments *f;
    struct wslay_event_fragmented_msg m;

    if (a->fragments <= 1 || a->len < 2) {
        struct wslay_event_msg one = {WSLAY_TEXT_FRAME,
                                      (const uint8_t *)a->text, a->len};
        if (wslay_event_queue_msg(c->ev, &one) == 0)
            c->srv->st.sent++;
        return;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL ||
        (f->text = malloc(a->len)) == NULL) {
        free(f);
        return;
    }
    memcpy(f->text, a->text, a->len);
    f->len = a->len;
    f->chunk = (a->len + (size_t)a->fragments - 1) / (size_t)a->fragments;
    m.opcode = WSLAY_TEXT_FRAME;
    m.source.data = f;
    m.read_callback = fragment_read;
    f->conn = c;
    if (wslay_event_queue_fragmented_msg(c->ev, &m) == 0) {
        f->next = c->frags;
        c->frags = f;
        c->srv->st.sent++;
    } else {
        free(f->text);
        free(f);
    }
}

int
fxws_send_text(struct fxws *s, const char *text, size_t len, int fragments)
{
    struct send_args a = {text, len, fragments};
    return for_each_open(s, do_send, &a);
}

static void
do_bad_frame(struct fxconn *c, const void *arg)
{
    (void)arg;
    c->bad_frame = true;
}

int
fxws_send_bad_frame(struct fxws *s)
{
    return for_each_open(s, do_bad_frame, NULL);
}

void
fxws_stats(struct fxws *s, struct fxws_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    pthread_mutex_unlock(&s->lock);
}

void
fxws_stop(struct fxws *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    if (s->thread != 0) {
        wake(s);
        pthread_join(s->thread, NULL);
    }
    while (s->requests != NULL) {
        struct api_request *r = s->requests;
        s->requests = r->next;
        free(r->text);
        free(r);
    }
    while (s->conns != NULL) {
        struct fxconn *c = s->conns;
        s->conns = c->next;
        conn_free(s, c);
    }
    if (s->ep >= 0)
        close(s->ep);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
