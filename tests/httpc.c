/*
 * httpc.c - see httpc.h.
 *
 * One code path serves both kinds of call: a request is sent, the status
 * line and headers are read, and the body is framed (chunked, Content-Length
 * or read-to-close) into s->text as it arrives. httpc_request drains the
 * whole body; httpc_sse_next parses events out of it as they come. Every
 * wait is a poll() bounded by a deadline on the monotonic clock, and every
 * buffer fed by the network has a cap.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

#define HTTPC_BODY_CAP   (64u * 1024 * 1024) /* longest body accepted */
#define HTTPC_LINE_CAP   4096 /* longest chunk-size or trailer line */
#define HTTPC_READ_CHUNK 65536

static int64_t
httpc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
httpc_left(int64_t deadline)
{
    int64_t left = deadline - httpc_now_ms();
    if (left <= 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Grows *buf (capacity *cap) so that it holds need more bytes after len,
 * never beyond HTTPC_BODY_CAP. Returns 0 or -1. */
static int
httpc_reserve(char **buf, size_t *cap, size_t len, size_t need)
{
    size_t want = len + need + 1, ncap = *cap ? *cap : 4096;
    char *nb;

    if (want <= *cap)
        return 0;
    if (want > HTTPC_BODY_CAP)
        return -1;
    while (ncap < want)
        ncap *= 2;
    if (ncap > HTTPC_BODY_CAP)
        ncap = HTTPC_BODY_CAP;
    nb = realloc(*buf, ncap);
    if (nb == NULL)
        return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

static int
httpc_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (httpc_reserve(buf, cap, *len, n) < 0)
        return -1;
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* A non-blocking TCP connection to 127.0.0.1:port, or -1. */
static int
httpc_connect(int port, int64_t deadline)
{
    struct sockaddr_in sa;
    int fd, err = 0;
    socklen_t elen = sizeof(err);

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    for (;;) {
        struct pollfd p = {fd, POLLOUT, 0};
        int left = httpc_left(deadline), rc;
        if (left == 0)
            goto fail;
        rc = poll(&p, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            goto fail;
        break;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Writes the request. Stops early, without error, when the server answers
 * (or closes) before the body is all written: a server may refuse a body
 * (413) without reading it, and the answer is what the test wants. Returns
 * 0, or -1 when nothing could be sent or on timeout. */
static int
httpc_send_all(int fd, const char *head, size_t head_len, const char *body,
               size_t body_len, int64_t deadline)
{
    const char *parts[2] = {head, body};
    const size_t lens[2] = {head_len, body != NULL ? body_len : 0};
    size_t sent_total = 0;

    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < lens[i]) {
            struct pollfd p = {fd, POLLOUT | POLLIN, 0};
            int left = httpc_left(deadline), rc;
            if (left == 0)
                return -1;
            rc = poll(&p, 1, left);
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc <= 0)
                return -1;
            if (p.revents & (POLLIN | POLLHUP | POLLERR))
                return sent_total > 0 ? 0 : -1;
            ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                /* EPIPE / ECONNRESET: an answer may be waiting anyway */
                return sent_total > 0 ? 0 : -1;
            }
            off += (size_t)n;
            sent_total += (size_t)n;
        }
    }
    return 0;
}

/* Reads what is there within the deadline into s->raw. Returns 1 when
 * bytes came, 0 on timeout, 2 at the server's end of stream, -1 on an
 * error (reset, buffer cap). */
static int
httpc_fill(struct httpc_sse *s, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {s->fd, POLLIN, 0};
        int left = httpc_left(deadline), rc;
        ssize_t n;

        if (s->fd < 0)
            return -1;
        rc = poll(&p, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0;
        if (httpc_reserve(&s->raw, &s->raw_cap, s->raw_len, HTTPC_READ_CHUNK) <
            0)
            return -1;
        n = recv(s->fd, s->raw + s->raw_len, HTTPC_READ_CHUNK, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (n == 0)
            return 2;
        s->raw_len += (size_t)n;
        s->raw[s->raw_len] = '\0';
        return 1;
    }
}

/* Consumes n bytes from the front of s->raw. */
static void
httpc_raw_consume(struct httpc_sse *s, size_t n)
{
    memmove(s->raw, s->raw + n, s->raw_len - n);
    s->raw_len -= n;
    if (s->raw != NULL)
        s->raw[s->raw_len] = '\0';
}

/* The length of the line at the front of s->raw including its LF (a CR
 * before it is allowed), or 0 when no whole line is there yet. */
static size_t
httpc_raw_line(const struct httpc_sse *s)
{
    const char *nl = s->raw_len > 0 ? memchr(s->raw, '\n', s->raw_len) : NULL;
    return nl != NULL ? (size_t)(nl - s->raw) + 1 : 0;
}

/* Moves body bytes from s->raw to s->text, undoing the framing. Sets
 * s->eof at the clean end of the body and s->broken on a framing error. */
static void
httpc_decode(struct httpc_sse *s)
{
    if (!s->chunked) {
        size_t take = s->raw_len;
        if (s->eof || s->broken)
            return;
        if (s->body_left >= 0 && (long long)take > s->body_left)
            take = (size_t)s->body_left;
        if (take > 0 && httpc_append(&s->text, &s->text_len, &s->text_cap,
                                     s->raw, take) < 0) {
            s->broken = 1;
            return;
        }
        httpc_raw_consume(s, take);
        if (s->body_left >= 0) {
            s->body_left -= (long long)take;
            if (s->body_left == 0)
                s->eof = 1;
        }
        return;
    }
    /* chunk_left: > 0 data bytes due, -1 at a size line, -2 at the CRLF
     * after the data, -3 in the trailer section */
    while (!s->eof && !s->broken && s->raw_len > 0) {
        if (s->chunk_left > 0) {
            size_t take = s->raw_len;
            if ((long)take > s->chunk_left)
                take = (size_t)s->chunk_left;
            if (httpc_append(&s->text, &s->text_len, &s->text_cap, s->raw,
                             take) < 0) {
                s->broken = 1;
                return;
            }
            httpc_raw_consume(s, take);
            s->chunk_left -= (long)take;
            if (s->chunk_left == 0)
                s->chunk_left = -2;
            continue;
        }
        size_t line = httpc_raw_line(s);
        if (line == 0) {
            if (s->raw_len > HTTPC_LINE_CAP)
                s->broken = 1;
            return;
        }
        if (s->chunk_left == -2) {
            /* the data must be followed by exactly CRLF (or LF) */
            if (!(line == 1 || (line == 2 && s->raw[0] == '\r')))
                s->broken = 1;
            else
                s->chunk_left = -1;
        } else if (s->chunk_left == -1) {
            char *end;
            unsigned long long size;
            if (!((s->raw[0] >= '0' && s->raw[0] <= '9') ||
                  (s->raw[0] >= 'a' && s->raw[0] <= 'f') ||
                  (s->raw[0] >= 'A' && s->raw[0] <= 'F'))) {
                s->broken = 1;
                return;
            }
            errno = 0;
            size = strtoull(s->raw, &end, 16);
            if (errno != 0 || size > HTTPC_BODY_CAP ||
                !(*end == '\r' || *end == '\n' || *end == ';' || *end == ' ' ||
                  *end == '\t')) {
                s->broken = 1;
                return;
            }
            s->chunk_left = size == 0 ? -3 : (long)size;
        } else {
            /* a trailer line; the empty one ends the message */
            if (line == 1 || (line == 2 && s->raw[0] == '\r'))
                s->eof = 1;
        }
        httpc_raw_consume(s, line);
    }
}

/* Reads more of the body within the deadline. Returns 1 when something
 * happened (bytes, the end), 0 on timeout, -1 on an error. */
static int
httpc_more(struct httpc_sse *s, int64_t deadline)
{
    int rc;

    if (s->eof || s->broken)
        return s->eof ? 1 : -1;
    rc = httpc_fill(s, deadline);
    if (rc == 0)
        return 0;
    if (rc < 0) {
        s->broken = 1;
        httpc_decode(s);
        return -1;
    }
    httpc_decode(s);
    if (rc == 2 && !s->eof) {
        /* The server closed: the end of a read-to-close body, or a body
         * cut short. */
        if (!s->chunked && s->body_left < 0)
            s->eof = 1;
        else
            s->broken = 1;
    }
    if (rc == 2 && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    return s->broken && !s->eof ? -1 : 1;
}

/* Finds the end of the header block in s->raw: returns the length of the
 * block including the blank line, or 0 when it is not complete. */
static size_t
httpc_header_end(const struct httpc_sse *s)
{
    for (size_t i = 0; i + 1 < s->raw_len; i++) {
        if (s->raw[i] != '\n')
            continue;
        if (s->raw[i + 1] == '\n')
            return i + 2;
        if (i + 2 < s->raw_len && s->raw[i + 1] == '\r' &&
            s->raw[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Reads the status line and headers (skipping 1xx answers) and sets up the
 * body's framing. Returns 0 or -1. */
static int
httpc_read_head(struct httpc_sse *s, const char *method, int64_t deadline)
{
    char val[128];

    for (;;) {
        size_t end = httpc_header_end(s);
        int major, minor, status;

        if (end == 0) {
            if (s->raw_len >= sizeof(s->headers))
                return -1;
            int rc = httpc_fill(s, deadline);
            if (rc == 1)
                continue;
            return -1;
        }
        if (end >= sizeof(s->headers))
            return -1;
        memcpy(s->headers, s->raw, end);
        s->headers[end] = '\0';
        httpc_raw_consume(s, end);
        if (sscanf(s->headers, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
            return -1;
        if (status >= 100 && status < 200)
            continue;
        s->status = status;
        break;
    }
    s->chunked = 0;
    s->body_left = -1;
    s->chunk_left = -1;
    if (httpc_header(s->headers, "Transfer-Encoding", val, sizeof(val)) !=
            NULL &&
        strcasestr(val, "chunked") != NULL) {
        s->chunked = 1;
    } else if (httpc_header(s->headers, "Content-Length", val, sizeof(val)) !=
               NULL) {
        char *e;
        long long n = strtoll(val, &e, 10);
        if (e == val || n < 0)
            return -1;
        s->body_left = n;
    }
    if (strcmp(method, "HEAD") == 0 || s->status == 204 || s->status == 304 ||
        s->body_left == 0)
        s->eof = 1;
    httpc_decode(s);
    return 0;
}

static void
httpc_sse_reset(struct httpc_sse *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->body_left = -1;
    s->chunk_left = -1;
    s->cur_retry = -1;
}

/* Connects, sends and reads the head. close_conn adds Connection: close. */
static int
httpc_start(struct httpc_sse *s, int port, const char *method, const char *path,
            const char *headers, const char *body, size_t body_len,
            int close_conn, int64_t deadline)
{
    char *head = NULL;
    size_t head_len = 0, head_cap = 0;
    char line[256];
    int rc;

    httpc_sse_reset(s);
    snprintf(line, sizeof(line), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n",
             method, path, port);
    if (httpc_append(&head, &head_len, &head_cap, line, strlen(line)) < 0)
        return -1;
    if (close_conn && httpc_append(&head, &head_len, &head_cap,
                                   "Connection: close\r\n", 19) < 0)
        goto fail;
    if (headers != NULL &&
        httpc_append(&head, &head_len, &head_cap, headers, strlen(headers)) < 0)
        goto fail;
    if (body != NULL) {
        snprintf(line, sizeof(line), "Content-Length: %zu\r\n", body_len);
        if (httpc_append(&head, &head_len, &head_cap, line, strlen(line)) < 0)
            goto fail;
    }
    if (httpc_append(&head, &head_len, &head_cap, "\r\n", 2) < 0)
        goto fail;
    s->fd = httpc_connect(port, deadline);
    if (s->fd < 0)
        goto fail;
    if (httpc_send_all(s->fd, head, head_len, body, body_len, deadline) < 0)
        goto fail;
    free(head);
    head = NULL;
    rc = httpc_read_head(s, method, deadline);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    free(head);
    {
        int status = s->status;
        char saved[sizeof(s->headers)];
        memcpy(saved, s->headers, sizeof(saved));
        httpc_sse_close(s);
        httpc_sse_reset(s);
        s->status = status;
        memcpy(s->headers, saved, sizeof(saved));
    }
    return -1;
}

int
httpc_request(int port, const char *method, const char *path,
              const char *headers, const char *body, size_t body_len,
              int timeout_ms, struct httpc_resp *out)
{
    struct httpc_sse s;
    int64_t deadline = httpc_now_ms() + timeout_ms;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (httpc_start(&s, port, method, path, headers, body, body_len, 1,
                    deadline) < 0) {
        out->status = s.status;
        httpc_sse_close(&s);
        return -1;
    }
    out->status = s.status;
    memcpy(out->headers, s.headers, sizeof(out->headers));
    while (!s.eof) {
        int r = httpc_more(&s, deadline);
        if (r <= 0) {
            rc = -1;
            break;
        }
    }
    /* the body as far as it came, even after an error */
    out->body = malloc(s.text_len + 1);
    if (out->body != NULL) {
        if (s.text_len > 0)
            memcpy(out->body, s.text, s.text_len);
        out->body[s.text_len] = '\0';
        out->body_len = s.text_len;
    } else {
        rc = -1;
    }
    httpc_sse_close(&s);
    return rc;
}

void
httpc_resp_free(struct httpc_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

const char *
httpc_header(const char *headers, const char *name, char *buf, size_t len)
{
    size_t nlen = strlen(name);
    const char *line = strchr(headers, '\n'); /* skip the status line */

    while (line != NULL) {
        line++;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *e;
            size_t n;
            while (*v == ' ' || *v == '\t')
                v++;
            e = v;
            while (*e != '\0' && *e != '\r' && *e != '\n')
                e++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (len == 0)
                return buf;
            n = (size_t)(e - v);
            if (n > len - 1)
                n = len - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            return buf;
        }
        line = strchr(line, '\n');
    }
    return NULL;
}

int
httpc_sse_open(struct httpc_sse *s, int port, const char *method,
               const char *path, const char *headers, const char *body,
               size_t body_len, int timeout_ms)
{
    return httpc_start(s, port, method, path, headers, body, body_len, 0,
                       httpc_now_ms() + timeout_ms);
}

/* Forgets the event being parsed. */
static void
httpc_cur_reset(struct httpc_sse *s)
{
    s->cur_event[0] = '\0';
    s->cur_id[0] = '\0';
    s->cur_retry = -1;
    s->cur_has_data = s->cur_has_retry = 0;
    s->cur_data_len = 0;
}

/* Applies one field line (without its terminator) to the current event. */
static void
httpc_sse_field(struct httpc_sse *s, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len), *val;
    size_t nlen, vlen;

    if (len > 0 && line[0] == ':') {
        s->comments++;
        return;
    }
    if (colon != NULL) {
        nlen = (size_t)(colon - line);
        val = colon + 1;
        vlen = len - nlen - 1;
        if (vlen > 0 && val[0] == ' ') {
            val++;
            vlen--;
        }
    } else {
        nlen = len;
        val = line + len;
        vlen = 0;
    }
    if (nlen == 5 && memcmp(line, "event", 5) == 0) {
        size_t n =
            vlen < sizeof(s->cur_event) - 1 ? vlen : sizeof(s->cur_event) - 1;
        memcpy(s->cur_event, val, n);
        s->cur_event[n] = '\0';
    } else if (nlen == 4 && memcmp(line, "data", 4) == 0) {
        if (httpc_append(&s->cur_data, &s->cur_data_len, &s->cur_data_cap, val,
                         vlen) < 0 ||
            httpc_append(&s->cur_data, &s->cur_data_len, &s->cur_data_cap, "\n",
                         1) < 0)
            s->broken = 1;
        s->cur_has_data = 1;
    } else if (nlen == 2 && memcmp(line, "id", 2) == 0) {
        if (memchr(val, '\0', vlen) == NULL) {
            size_t n =
                vlen < sizeof(s->cur_id) - 1 ? vlen : sizeof(s->cur_id) - 1;
            memcpy(s->cur_id, val, n);
            s->cur_id[n] = '\0';
        }
    } else if (nlen == 5 && memcmp(line, "retry", 5) == 0) {
        long v = 0;
        size_t i;
        for (i = 0; i < vlen && val[i] >= '0' && val[i] <= '9'; i++)
            if (v < 100000000)
                v = v * 10 + (val[i] - '0');
        if (vlen > 0 && i == vlen) {
            s->cur_retry = (int)v;
            s->cur_has_retry = 1;
        }
    }
    /* any other field is ignored */
}

/* Parses whole lines out of s->text until an event is complete. Returns 1
 * with *ev filled, 0 when more text is needed. */
static int
httpc_sse_parse(struct httpc_sse *s, struct httpc_event *ev)
{
    size_t pos = 0;
    int found = 0;

    if (!s->bom_checked) {
        if (s->text_len < 3 && !s->eof &&
            memcmp(s->text != NULL ? s->text : "", "\xEF\xBB\xBF",
                   s->text_len) == 0)
            return 0;
        s->bom_checked = 1;
        if (s->text_len >= 3 && memcmp(s->text, "\xEF\xBB\xBF", 3) == 0)
            pos = 3;
    }
    if (s->text == NULL)
        return 0;
    while (!found && pos < s->text_len) {
        const char *line = s->text + pos;
        size_t rest = s->text_len - pos, len = 0, term;

        while (len < rest && line[len] != '\n' && line[len] != '\r')
            len++;
        if (len == rest)
            break; /* no terminator yet */
        if (line[len] == '\r') {
            if (len + 1 == rest && !s->eof)
                break; /* a CR that may be followed by its LF */
            term = (len + 1 < rest && line[len + 1] == '\n') ? 2 : 1;
        } else {
            term = 1;
        }
        if (len == 0) {
            /* a blank line: dispatch */
            if (s->cur_has_data || s->cur_has_retry) {
                memset(ev, 0, sizeof(*ev));
                snprintf(ev->event, sizeof(ev->event), "%s", s->cur_event);
                snprintf(ev->id, sizeof(ev->id), "%s", s->cur_id);
                ev->retry_ms = s->cur_has_retry ? s->cur_retry : -1;
                size_t dlen = s->cur_data_len;
                if (dlen > 0 && s->cur_data[dlen - 1] == '\n')
                    dlen--;
                ev->data = malloc(dlen + 1);
                if (ev->data != NULL) {
                    if (dlen > 0)
                        memcpy(ev->data, s->cur_data, dlen);
                    ev->data[dlen] = '\0';
                    found = 1;
                } else {
                    s->broken = 1;
                }
            }
            httpc_cur_reset(s);
        } else {
            httpc_sse_field(s, line, len);
        }
        pos += len + term;
    }
    if (pos > 0) {
        memmove(s->text, s->text + pos, s->text_len - pos);
        s->text_len -= pos;
        s->text[s->text_len] = '\0';
    }
    return found;
}

int
httpc_sse_next(struct httpc_sse *s, struct httpc_event *ev, int timeout_ms)
{
    int64_t deadline = httpc_now_ms() + timeout_ms;

    memset(ev, 0, sizeof(*ev));
    ev->retry_ms = -1;
    for (;;) {
        if (httpc_sse_parse(s, ev))
            return 1;
        if (s->eof)
            return 0; /* an unfinished event at the end is dropped */
        if (s->broken)
            return -1;
        if (httpc_more(s, deadline) == 0)
            return -1; /* timeout: the stream stays usable */
    }
}

int
httpc_sse_comments(const struct httpc_sse *s)
{
    return s->comments;
}

char *
httpc_sse_body(struct httpc_sse *s, int timeout_ms)
{
    int64_t deadline = httpc_now_ms() + timeout_ms;
    char *out;

    while (!s->eof) {
        if (httpc_more(s, deadline) <= 0)
            return NULL;
    }
    out = malloc(s->text_len + 1);
    if (out == NULL)
        return NULL;
    if (s->text_len > 0)
        memcpy(out, s->text, s->text_len);
    out[s->text_len] = '\0';
    s->text_len = 0;
    return out;
}

void
httpc_event_free(struct httpc_event *ev)
{
    free(ev->data);
    ev->data = NULL;
}

void
httpc_sse_close(struct httpc_sse *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->raw);
    free(s->text);
    free(s->cur_data);
    s->raw = s->text = s->cur_data = NULL;
    s->raw_len = s->raw_cap = s->text_len = s->text_cap = 0;
    s->cur_data_len = s->cur_data_cap = 0;
}
