/*
 * ws.c - the WebSocket client: socket, TLS, Upgrade handshake, wslay.
 *
 * A connection moves WS_CONNECTING -> (WS_TLS) -> WS_UPGRADE -> WS_OPEN
 * -> (WS_CLOSING) -> WS_CLOSED. Every step is a non-blocking attempt at
 * what the state needs; EAGAIN simply ends the step. Any failure goes
 * through ws_finish, which closes the descriptor and calls on_close once.
 */
#include "config.h"

#include "ws.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <wslay/wslay.h>

#include "dbuf.h"

#define WS_GUID             "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_REASON_MAX       256
#define WS_HOST_MAX         256
#define WS_CLOSE_REASON_MAX 120 /* a close frame's payload is <= 125 bytes */

struct ws_conn {
    enum ws_state state;
    int fd;
    bool tls;
    gnutls_session_t sess;
    gnutls_certificate_credentials_t cred;
    bool cred_ok;
    char host[WS_HOST_MAX];
    char accept[64]; /* the Sec-WebSocket-Accept we expect */
    struct dbuf req; /* the Upgrade request */
    size_t req_sent;
    struct dbuf in; /* the handshake answer, capped */
    size_t pre_off; /* bytes of `in` after the answer, not yet framed */
    wslay_event_context_ptr ev;
    size_t max_message, max_queued;
    struct dbuf msg; /* NUL-terminated copy handed to on_message */
    ws_message_fn on_message;
    ws_close_fn on_close;
    void *arg;
    unsigned long pings;
    uint16_t peer_code; /* from the peer's close frame */
    char peer_reason[WS_CLOSE_REASON_MAX + 8];
    char io_err[WS_REASON_MAX]; /* why the last I/O failed */
};

/* ------------------------------------------------------------------ */
/* The end                                                             */

/* Ends the connection once: closes everything and reports. */
static void ws_finish(struct ws_conn *c, int code, bool clean, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void
ws_finish(struct ws_conn *c, int code, bool clean, const char *fmt, ...)
{
    char reason[WS_REASON_MAX + 64];
    va_list ap;

    if (c->state == WS_CLOSED)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    c->state = WS_CLOSED;
    if (c->sess != NULL && clean)
        gnutls_bye(c->sess, GNUTLS_SHUT_WR); /* best effort, non-blocking */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->on_close != NULL)
        c->on_close(c->arg, code, clean, reason);
}

/* ------------------------------------------------------------------ */
/* Transport: plain or TLS, non-blocking                               */

/* Reads (or, with out set, writes) up to len bytes. Returns the count, 0
 * at the end of the stream (reads), -1 with errno EAGAIN when the socket is
 * not ready, or -2 on failure (c->io_err says why). */
static ssize_t
io_xfer(struct ws_conn *c, void *buf, size_t len, bool out)
{
    const char *what = out ? "send" : "receive";
    ssize_t n;

    if (c->tls) {
        n = out ? gnutls_record_send(c->sess, buf, len)
                : gnutls_record_recv(c->sess, buf, len);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            errno = EAGAIN;
            return -1;
        }
        if (n == GNUTLS_E_PREMATURE_TERMINATION && !out)
            return 0;
        if (n < 0)
            snprintf(c->io_err, sizeof(c->io_err), "TLS %s failed: %s", what,
                     gnutls_strerror((int)n));
        return n < 0 ? -2 : n;
    }
    do
        n = out ? send(c->fd, buf, len, MSG_NOSIGNAL)
                : recv(c->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        errno = EAGAIN;
        return -1;
    }
    if (n < 0)
        snprintf(c->io_err, sizeof(c->io_err), "%s failed: %s", what,
                 strerror(errno));
    return n < 0 ? -2 : n;
}

static ssize_t
io_read(struct ws_conn *c, void *buf, size_t len)
{
    return io_xfer(c, buf, len, false);
}

static ssize_t
io_write(struct ws_conn *c, const void *buf, size_t len)
{
    return io_xfer(c, (void *)(uintptr_t)buf, len, true);
}

/* GnuTLS's push: send() without SIGPIPE. */
static ssize_t
tls_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    return send((int)(intptr_t)p, data, len, MSG_NOSIGNAL);
}

/* ------------------------------------------------------------------ */
/* wslay callbacks                                                     */

static ssize_t
ev_recv(wslay_event_context_ptr ev, uint8_t *buf, size_t len, int flags,
        void *user)
{
    struct ws_conn *c = user;
    ssize_t n;
    (void)flags;

    if (c->pre_off < c->in.len) { /* frames that came with the answer */
        size_t take = c->in.len - c->pre_off;
        if (take > len)
            take = len;
        memcpy(buf, c->in.data + c->pre_off, take);
        c->pre_off += take;
        return (ssize_t)take;
    }
    n = io_read(c, buf, len);
    if (n > 0)
        return n;
    if (n == -1) {
        wslay_event_set_error(ev, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n == 0)
        snprintf(c->io_err, sizeof(c->io_err),
                 "the server closed the connection without a close frame");
    wslay_event_set_error(ev, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t
ev_send(wslay_event_context_ptr ev, const uint8_t *data, size_t len, int flags,
        void *user)
{
    struct ws_conn *c = user;
    ssize_t n = io_write(c, data, len);
    (void)flags;

    if (n >= 0)
        return n;
    wslay_event_set_error(ev, n == -1 ? WSLAY_ERR_WOULDBLOCK
                                      : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int
ev_genmask(wslay_event_context_ptr ev, uint8_t *buf, size_t len, void *user)
{
    (void)user;
    if (gnutls_rnd(GNUTLS_RND_NONCE, buf, len) < 0) {
        wslay_event_set_error(ev, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return 0;
}

static void
ev_message(wslay_event_context_ptr ev,
           const struct wslay_event_on_msg_recv_arg *m, void *user)
{
    struct ws_conn *c = user;

    switch (m->opcode) {
    case WSLAY_TEXT_FRAME:
        dbuf_reset(&c->msg);
        if (dbuf_append(&c->msg, m->msg, m->msg_length) < 0) {
            static const char why[] = "out of memory";
            wslay_event_queue_close(ev, WSLAY_CODE_INTERNAL_SERVER_ERROR,
                                    (const uint8_t *)why, sizeof(why) - 1);
            wslay_event_shutdown_read(ev);
            return;
        }
        if (c->on_message != NULL && c->state != WS_CLOSED)
            c->on_message(c->arg, c->msg.data ? c->msg.data : "",
                          m->msg_length);
        break;
    case WSLAY_BINARY_FRAME: {
        /* Binance sends text (JSON) only; SBE streams are another host. */
        static const char why[] = "binary messages are not expected";
        wslay_event_queue_close(ev, WSLAY_CODE_UNSUPPORTED_DATA,
                                (const uint8_t *)why, sizeof(why) - 1);
        wslay_event_shutdown_read(ev);
        break;
    }
    case WSLAY_PING:
        c->pings++; /* wslay has queued the pong */
        break;
    case WSLAY_CONNECTION_CLOSE: {
        size_t rl = m->msg_length > 2 ? m->msg_length - 2 : 0;
        if (rl > WS_CLOSE_REASON_MAX)
            rl = WS_CLOSE_REASON_MAX;
        c->peer_code = m->status_code;
        /* the peer's words go into logs: no control characters */
        for (size_t i = 0; i < rl; i++) {
            uint8_t b = m->msg[2 + i];
            c->peer_reason[i] = b < 0x20 || b == 0x7f ? '?' : (char)b;
        }
        c->peer_reason[rl] = '\0';
        if (c->state == WS_OPEN)
            c->state = WS_CLOSING;
        break;
    }
    default: /* pong */
        break;
    }
}

/* ------------------------------------------------------------------ */
/* The open connection                                                 */

/* Why wslay failed the connection, from the close code it sent. */
static const char *
sent_code_reason(struct ws_conn *c, uint16_t code, char *buf, size_t len)
{
    switch (code) {
    case WSLAY_CODE_MESSAGE_TOO_BIG:
        snprintf(buf, len, "a message exceeded the %zu-byte cap",
                 c->max_message);
        break;
    case WSLAY_CODE_PROTOCOL_ERROR:
        snprintf(buf, len, "malformed frame from the server (protocol error)");
        break;
    case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
        snprintf(buf, len, "a text message from the server is not UTF-8");
        break;
    case WSLAY_CODE_UNSUPPORTED_DATA:
        snprintf(buf, len, "the server sent a binary message");
        break;
    default:
        snprintf(buf, len, "the connection failed (close code %u)", code);
        break;
    }
    return buf;
}

/* Checks whether the connection has ended after wslay ran; ends it. */
static void
open_check_end(struct ws_conn *c)
{
    char why[WS_REASON_MAX];
    bool got = wslay_event_get_close_received(c->ev);
    bool sent = wslay_event_get_close_sent(c->ev);

    if (got && sent) {
        int code = c->peer_code != 0 ? c->peer_code : WS_CODE_NO_STATUS;
        ws_finish(c, code, true, "closed (code %d%s%s)", code,
                  c->peer_reason[0] ? ": " : "", c->peer_reason);
        return;
    }
    if (!got && sent && !wslay_event_get_read_enabled(c->ev)) {
        /* wslay failed the connection and its close frame is out */
        uint16_t code = wslay_event_get_status_code_sent(c->ev);
        ws_finish(c, code, false, "%s",
                  sent_code_reason(c, code, why, sizeof(why)));
    }
}

static void
open_step(struct ws_conn *c)
{
    int rc = 0;

    if (wslay_event_want_read(c->ev))
        rc = wslay_event_recv(c->ev);
    if (rc == 0 && c->state != WS_CLOSED && wslay_event_want_write(c->ev))
        rc = wslay_event_send(c->ev);
    if (c->state == WS_CLOSED)
        return;
    if (rc != 0) {
        if (wslay_event_get_close_received(c->ev) && !c->io_err[0]) {
            ws_finish(c, c->peer_code ? c->peer_code : WS_CODE_NO_STATUS, true,
                      "closed by the server (code %u)", c->peer_code);
            return;
        }
        ws_finish(c, WS_CODE_ABNORMAL, false, "connection lost: %s",
                  c->io_err[0]            ? c->io_err
                  : rc == WSLAY_ERR_NOMEM ? "out of memory"
                                          : "framing failed");
        return;
    }
    open_check_end(c);
}

/* ------------------------------------------------------------------ */
/* The Upgrade handshake                                               */

/* Finds header name (case-insensitive) in the answer's header block
 * [hdr, end); copies its trimmed value into out. Returns 1 when found. */
static int
header_value(const char *hdr, const char *end, const char *name, char *out,
             size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = hdr;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *lend = eol ? eol : end;
        if ((size_t)(lend - p) > nl && strncasecmp(p, name, nl) == 0 &&
            p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < lend && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = lend;
            while (ve > v &&
                   (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            size_t vl = (size_t)(ve - v);
            if (vl >= outlen)
                vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 1;
        }
        p = lend + 1;
    }
    return 0;
}

/* Whether the comma-separated list holds token (case-insensitive). */
static int
list_has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    const char *p = list;

    while (*p != '\0') {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',')
            e++;
        const char *te = e;
        while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if ((size_t)(te - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Contract in ws.h. */
int
ws_upgrade_check(const char *answer, size_t hlen, const char *accept, char *why,
                 size_t whylen)
{
    const char *a = answer, *end = a + hlen;
    const char *eol = memchr(a, '\n', hlen);
    char status[128], v[256];
    size_t sl = eol ? (size_t)(eol - a) : 0;
    int code = 0;

    if (sl >= sizeof(status))
        sl = sizeof(status) - 1;
    memcpy(status, a, sl);
    status[sl] = '\0';
    if (sl > 0 && status[sl - 1] == '\r')
        status[sl - 1] = '\0';
    if (sscanf(status, "HTTP/1.1 %3d", &code) != 1) {
        snprintf(why, whylen,
                 "handshake failed: not an HTTP/1.1 answer (\"%.60s\")",
                 status);
        return -1;
    }
    if (code != 101) {
        snprintf(why, whylen,
                 "handshake refused: the server answered \"%.80s\"", status);
        return -1;
    }
    if (!header_value(a, end, "Upgrade", v, sizeof(v)) ||
        strcasecmp(v, "websocket") != 0) {
        snprintf(why, whylen,
                 "handshake failed: no \"Upgrade: websocket\" header");
        return -1;
    }
    if (!header_value(a, end, "Connection", v, sizeof(v)) ||
        !list_has_token(v, "upgrade")) {
        snprintf(why, whylen,
                 "handshake failed: no \"Connection: Upgrade\" header");
        return -1;
    }
    if (!header_value(a, end, "Sec-WebSocket-Accept", v, sizeof(v)) ||
        strcmp(v, accept) != 0) {
        snprintf(why, whylen,
                 "handshake failed: Sec-WebSocket-Accept is missing or does "
                 "not match the key sent");
        return -1;
    }
    if (header_value(a, end, "Sec-WebSocket-Extensions", v, sizeof(v)) ||
        header_value(a, end, "Sec-WebSocket-Protocol", v, sizeof(v))) {
        snprintf(why, whylen,
                 "handshake failed: the server chose an extension or "
                 "subprotocol that was not offered");
        return -1;
    }
    return 0;
}

/* Checks the complete answer (header block of hlen bytes); ends the
 * connection with the reason when it is not a valid 101. Returns 0 or -1. */
static int
upgrade_check(struct ws_conn *c, size_t hlen)
{
    char why[WS_REASON_MAX];

    if (ws_upgrade_check(c->in.data, hlen, c->accept, why, sizeof(why)) == 0)
        return 0;
    ws_finish(c, WS_CODE_ABNORMAL, false, "%s", why);
    return -1;
}

static const struct wslay_event_callbacks EV_CALLBACKS = {
    .recv_callback = ev_recv,
    .send_callback = ev_send,
    .genmask_callback = ev_genmask,
    .on_msg_recv_callback = ev_message,
};

/* Reads the answer until its blank line, then checks it and opens. */
static void
upgrade_recv(struct ws_conn *c)
{
    char buf[4096];

    for (;;) {
        const char *hend = c->in.len >= 4
                               ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4)
                               : NULL;
        if (hend != NULL) {
            size_t hlen = (size_t)(hend - c->in.data) + 4;
            if (upgrade_check(c, hlen) < 0)
                return;
            c->pre_off = hlen;
            if (wslay_event_context_client_init(&c->ev, &EV_CALLBACKS, c) !=
                0) {
                c->ev = NULL;
                ws_finish(c, WS_CODE_ABNORMAL, false, "out of memory");
                return;
            }
            wslay_event_config_set_max_recv_msg_length(c->ev, c->max_message);
            c->state = WS_OPEN;
            open_step(c); /* frames may have come with the answer */
            return;
        }
        /* read no further than the cap allows, so that frames after the
         * answer stay for wslay and an endless answer is caught */
        size_t room = c->in.max - c->in.len;
        if (room == 0) {
            ws_finish(c, WS_CODE_ABNORMAL, false,
                      "handshake failed: the answer exceeds %zu bytes",
                      c->in.max);
            return;
        }
        ssize_t n = io_read(c, buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n == -1)
            return;
        if (n == 0 || n == -2) {
            ws_finish(c, WS_CODE_ABNORMAL, false, "handshake failed: %s",
                      n == 0 ? "the server closed the connection" : c->io_err);
            return;
        }
        if (dbuf_append(&c->in, buf, (size_t)n) < 0) {
            ws_finish(c, WS_CODE_ABNORMAL, false, "out of memory");
            return;
        }
    }
}

static void
upgrade_send(struct ws_conn *c)
{
    while (c->req_sent < c->req.len) {
        ssize_t n =
            io_write(c, c->req.data + c->req_sent, c->req.len - c->req_sent);
        if (n == -1)
            return;
        if (n < 0) {
            ws_finish(c, WS_CODE_ABNORMAL, false, "handshake failed: %s",
                      c->io_err);
            return;
        }
        c->req_sent += (size_t)n;
    }
    upgrade_recv(c);
}

/* ------------------------------------------------------------------ */
/* Connect and TLS                                                     */

static void
tls_step(struct ws_conn *c)
{
    int rc = gnutls_handshake(c->sess);

    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
        return;
    if (rc < 0) {
        char detail[WS_REASON_MAX] = "";
        if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t out = {NULL, 0};
            unsigned status = gnutls_session_get_verify_cert_status(c->sess);
            if (gnutls_certificate_verification_status_print(
                    status, GNUTLS_CRT_X509, &out, 0) == 0) {
                snprintf(detail, sizeof(detail), ": %s", out.data);
                gnutls_free(out.data);
            }
        }
        ws_finish(c, WS_CODE_TLS, false, "TLS handshake with %s failed: %s%s",
                  c->host, gnutls_strerror(rc), detail);
        return;
    }
    c->state = WS_UPGRADE;
    upgrade_send(c);
}

static void
connect_step(struct ws_conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err != 0) {
        ws_finish(c, WS_CODE_ABNORMAL, false, "cannot connect to %s: %s",
                  c->host, strerror(err));
        return;
    }
    if (c->tls) {
        c->state = WS_TLS;
        tls_step(c);
    } else {
        c->state = WS_UPGRADE;
        upgrade_send(c);
    }
}

static int
ws_step(struct ws_conn *c)
{
    switch (c->state) {
    case WS_CONNECTING:
        connect_step(c);
        break;
    case WS_TLS:
        tls_step(c);
        break;
    case WS_UPGRADE:
        if (c->req_sent < c->req.len)
            upgrade_send(c);
        else
            upgrade_recv(c);
        break;
    case WS_OPEN:
    case WS_CLOSING:
        open_step(c);
        break;
    case WS_CLOSED:
        break;
    }
    return c->state == WS_CLOSED ? -1 : 0;
}

int
ws_on_readable(struct ws_conn *c)
{
    return ws_step(c);
}

int
ws_on_writable(struct ws_conn *c)
{
    return ws_step(c);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */

struct ws_url {
    bool tls;
    char host[WS_HOST_MAX]; /* without brackets */
    char port[8];
    const char *target; /* path and query, into the URL */
    bool default_port;
};

/* Splits ws[s]://host[:port][/target]. Returns 0 or -1 with err. */
static int
url_parse(const char *url, struct ws_url *u, char *err, size_t errlen)
{
    const char *p, *hs, *he, *ps = NULL;
    size_t hl;

    if (url == NULL || strlen(url) > WS_URL_MAX) {
        snprintf(err, errlen, "no URL, or one longer than %d bytes",
                 WS_URL_MAX);
        return -1;
    }
    if (strncasecmp(url, "wss://", 6) == 0) {
        u->tls = true;
        p = url + 6;
    } else if (strncasecmp(url, "ws://", 5) == 0) {
        u->tls = false;
        p = url + 5;
    } else {
        snprintf(err, errlen, "\"%.80s\" is not a ws:// or wss:// URL", url);
        return -1;
    }
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (he == NULL) {
            snprintf(err, errlen, "unclosed [ in the URL's host");
            return -1;
        }
        p = he + 1;
    } else {
        hs = p;
        he = hs + strcspn(hs, ":/?#");
        p = he;
    }
    if (*p == ':') {
        ps = ++p;
        p += strspn(p, "0123456789");
        if (p == ps || p - ps > 5 || atoi(ps) < 1 || atoi(ps) > 65535) {
            snprintf(err, errlen, "bad port in \"%.80s\"", url);
            return -1;
        }
    }
    if (*p != '\0' && *p != '/' && *p != '?') {
        snprintf(err, errlen, "unexpected \"%c\" in \"%.80s\"", *p, url);
        return -1;
    }
    hl = (size_t)(he - hs);
    if (hl == 0 || hl >= sizeof(u->host) || strcspn(hs, " \t\r\n@") < hl) {
        snprintf(err, errlen, "bad host in \"%.80s\"", url);
        return -1;
    }
    memcpy(u->host, hs, hl);
    u->host[hl] = '\0';
    u->default_port = ps == NULL;
    if (ps != NULL)
        snprintf(u->port, sizeof(u->port), "%.*s", (int)(p - ps), ps);
    else
        snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
    u->target = *p == '\0' ? "/" : p;
    if (strcspn(u->target, " \t\r\n#") != strlen(u->target)) {
        snprintf(err, errlen, "the URL's path holds a space or a fragment");
        return -1;
    }
    return 0;
}

/* Composes the Upgrade request and the accept value it must get back. */
static int
request_build(struct ws_conn *c, const struct ws_url *u)
{
    unsigned char nonce[16], digest[20];
    char key[32], both[80];
    gnutls_datum_t in = {nonce, sizeof(nonce)}, out = {NULL, 0};
    bool v6 = strchr(u->host, ':') != NULL;

    if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof(nonce)) < 0 ||
        gnutls_base64_encode2(&in, &out) < 0)
        return -1;
    snprintf(key, sizeof(key), "%.*s", (int)out.size, out.data);
    gnutls_free(out.data);
    snprintf(both, sizeof(both), "%s" WS_GUID, key);
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, both, strlen(both), digest) < 0)
        return -1;
    in.data = digest;
    in.size = sizeof(digest);
    if (gnutls_base64_encode2(&in, &out) < 0)
        return -1;
    snprintf(c->accept, sizeof(c->accept), "%.*s", (int)out.size, out.data);
    gnutls_free(out.data);
    return dbuf_printf(&c->req,
                       "GET %s HTTP/1.1\r\n"
                       "Host: %s%s%s%s%s\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "User-Agent: binmcpd/" PACKAGE_VERSION "\r\n"
                       "\r\n",
                       u->target, v6 ? "[" : "", u->host, v6 ? "]" : "",
                       u->default_port ? "" : ":",
                       u->default_port ? "" : u->port, key);
}

/* Creates the client TLS session on c->fd: SNI, certificate check
 * against the host name, system trust or ca_file. */
static int
tls_setup(struct ws_conn *c, const char *ca_file, char *err, size_t errlen)
{
    int rc;

    if ((rc = gnutls_certificate_allocate_credentials(&c->cred)) < 0)
        goto fail;
    c->cred_ok = true;
    rc = ca_file != NULL ? gnutls_certificate_set_x509_trust_file(
                               c->cred, ca_file, GNUTLS_X509_FMT_PEM)
                         : gnutls_certificate_set_x509_system_trust(c->cred);
    if (rc <= 0) {
        snprintf(err, errlen, "no trust anchors from %s%s",
                 ca_file ? ca_file : "the system store",
                 rc < 0 ? "" : " (none found)");
        if (rc < 0)
            snprintf(err + strlen(err), errlen - strlen(err), ": %s",
                     gnutls_strerror(rc));
        return -1;
    }
    if ((rc = gnutls_init(&c->sess, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0)
        goto fail;
    if ((rc = gnutls_set_default_priority(c->sess)) < 0 ||
        (rc = gnutls_credentials_set(c->sess, GNUTLS_CRD_CERTIFICATE,
                                     c->cred)) < 0)
        goto fail;
    /* SNI only for names, as RFC 6066 requires */
    if (strspn(c->host, "0123456789.") != strlen(c->host) &&
        strchr(c->host, ':') == NULL &&
        (rc = gnutls_server_name_set(c->sess, GNUTLS_NAME_DNS, c->host,
                                     strlen(c->host))) < 0)
        goto fail;
    gnutls_session_set_verify_cert(c->sess, c->host, 0);
    gnutls_transport_set_int(c->sess, c->fd);
    gnutls_transport_set_push_function(c->sess, tls_push);
    return 0;
fail:
    snprintf(err, errlen, "TLS set-up failed: %s", gnutls_strerror(rc));
    return -1;
}

/* Resolves and starts the connect. Returns 0 or -1 with err. */
static int
connect_start(struct ws_conn *c, const struct ws_url *u, char *err,
              size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc, last = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", u->host,
                 gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family,
                        ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            errno == EINPROGRESS) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            c->fd = fd;
            break;
        }
        last = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(err, errlen, "cannot connect to %s port %s: %s", u->host,
                 u->port, strerror(last));
        return -1;
    }
    return 0;
}

struct ws_conn *
ws_open(const struct ws_options *o, char *err, size_t errlen)
{
    struct ws_url u;
    struct ws_conn *c;

    if (url_parse(o->url, &u, err, errlen) < 0)
        return NULL;
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->tls = u.tls;
    snprintf(c->host, sizeof(c->host), "%s", u.host);
    c->max_message = o->max_message ? o->max_message : WS_MAX_MESSAGE_DEFAULT;
    c->max_queued = o->max_queued ? o->max_queued : WS_MAX_QUEUED_DEFAULT;
    c->on_message = o->on_message;
    c->on_close = o->on_close;
    c->arg = o->arg;
    dbuf_init(&c->req, WS_URL_MAX + 1024);
    dbuf_init(&c->in,
              o->max_handshake ? o->max_handshake : WS_MAX_HANDSHAKE_DEFAULT);
    dbuf_init(&c->msg, c->max_message);
    c->state = WS_CONNECTING;
    if (request_build(c, &u) < 0) {
        snprintf(err, errlen, "cannot compose the handshake");
        ws_free(c);
        return NULL;
    }
    if (connect_start(c, &u, err, errlen) < 0 ||
        (c->tls && tls_setup(c, o->ca_file, err, errlen) < 0)) {
        ws_free(c);
        return NULL;
    }
    return c;
}

int
ws_fd(const struct ws_conn *c)
{
    return c->fd;
}

uint32_t
ws_events(const struct ws_conn *c)
{
    uint32_t ev = 0;

    switch (c->state) {
    case WS_CONNECTING:
        return EPOLLOUT;
    case WS_TLS:
        return gnutls_record_get_direction(c->sess) ? EPOLLOUT : EPOLLIN;
    case WS_UPGRADE:
        return c->req_sent < c->req.len ? EPOLLOUT : EPOLLIN;
    case WS_OPEN:
    case WS_CLOSING:
        if (wslay_event_want_read(c->ev))
            ev |= EPOLLIN;
        if (wslay_event_want_write(c->ev))
            ev |= EPOLLOUT;
        return ev;
    case WS_CLOSED:
        break;
    }
    return 0;
}

int
ws_send_text(struct ws_conn *c, const char *text, size_t len)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};

    if (c->state != WS_OPEN) {
        errno = ENOTCONN;
        return -1;
    }
    if (len > c->max_message ||
        wslay_event_get_queued_msg_length(c->ev) + len > c->max_queued) {
        errno = E2BIG;
        return -1;
    }
    switch (wslay_event_queue_msg(c->ev, &m)) {
    case 0:
        return 0;
    case WSLAY_ERR_NOMEM:
        errno = ENOMEM;
        return -1;
    default:
        errno = ENOTCONN;
        return -1;
    }
}

int
ws_close(struct ws_conn *c, int code, const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;

    if (c->state == WS_CLOSED)
        return -1;
    if (c->state != WS_OPEN && c->state != WS_CLOSING) {
        ws_finish(c, code, false, "closed before the connection opened");
        return 0;
    }
    if (rl > WS_CLOSE_REASON_MAX)
        rl = WS_CLOSE_REASON_MAX;
    if (wslay_event_get_close_sent(c->ev) ||
        wslay_event_queue_close(c->ev, (uint16_t)code, (const uint8_t *)reason,
                                rl) != 0)
        return -1;
    c->state = WS_CLOSING;
    return 0;
}

enum ws_state
ws_state(const struct ws_conn *c)
{
    return c->state;
}

unsigned long
ws_pings_received(const struct ws_conn *c)
{
    return c->pings;
}

void
ws_free(struct ws_conn *c)
{
    if (c == NULL)
        return;
    if (c->ev != NULL)
        wslay_event_context_free(c->ev);
    if (c->sess != NULL)
        gnutls_deinit(c->sess);
    if (c->cred_ok)
        gnutls_certificate_free_credentials(c->cred);
    if (c->fd >= 0)
        close(c->fd);
    dbuf_free(&c->req);
    dbuf_free(&c->in);
    dbuf_free(&c->msg);
    free(c);
}
