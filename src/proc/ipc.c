/*
 * ipc.c - per-worker AF_UNIX datagram channels. See ipc.h.
 *
 * Capacity. On a connected AF_UNIX datagram pair the kernel charges queued
 * messages to the *sending* socket's SO_SNDBUF (net.unix.max_dgram_qlen
 * does not apply), and refuses with EMSGSIZE a datagram larger than that
 * buffer. Every process sends to worker k through the same inherited
 * pair[k][1], so that one buffer bounds what can wait for worker k. It is
 * raised to IPC_SNDBUF: with SO_SNDBUFFORCE when we may (root, or
 * CAP_NET_ADMIN), else with SO_SNDBUF, which the kernel caps at
 * net.core.wmem_max; ipc_payload_limit() says what was obtained.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "creds.h"
#include "ipc.h"
#include "log.h"

/* One largest message plus room for a few small ones; the kernel doubles
 * the value for its bookkeeping. */
#define IPC_SNDBUF (IPC_PAYLOAD_MAX + sizeof(struct ipc_hdr) + 1024 * 1024)
#define IPC_RCVBUF IPC_SNDBUF
/* The kernel refuses a datagram longer than sk_sndbuf - 32. */
#define IPC_KERNEL_SLACK 32

_Static_assert(sizeof(struct ipc_hdr) == 40, "the wire header is 40 bytes");

/* Sets a buffer size with the privileged option first (it ignores the
 * sysctl cap), then the ordinary one. Returns 0 or -1 with errno. */
static int
ipc_set_buf(int fd, int force_opt, int opt, int bytes)
{
    if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0)
        return 0;
    return setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

/* The largest payload one datagram may carry on fd's send buffer. */
static size_t
ipc_fd_payload_limit(int fd)
{
    int sndbuf = 0;
    socklen_t optlen = sizeof(sndbuf);
    size_t room;

    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen) < 0 ||
        sndbuf <= 0)
        return 0;
    if ((size_t)sndbuf <= sizeof(struct ipc_hdr) + IPC_KERNEL_SLACK)
        return 0;
    room = (size_t)sndbuf - sizeof(struct ipc_hdr) - IPC_KERNEL_SLACK;
    return room < IPC_PAYLOAD_MAX ? room : IPC_PAYLOAD_MAX;
}

int
ipc_create(struct ipc *ipc, int nworkers, char *err, size_t errlen)
{
    assert(ipc != NULL);
    ipc->nworkers = 0;
    ipc->pair = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (nworkers <= 0) {
        if (err != NULL)
            snprintf(err, errlen, "ipc: bad number of workers (%d)", nworkers);
        return -1;
    }
    ipc->pair = calloc((size_t)nworkers, sizeof(*ipc->pair));
    if (ipc->pair == NULL) {
        if (err != NULL)
            snprintf(err, errlen, "ipc: out of memory");
        return -1;
    }
    for (int k = 0; k < nworkers; k++)
        ipc->pair[k][0] = ipc->pair[k][1] = -1;
    ipc->nworkers = nworkers;

    for (int k = 0; k < nworkers; k++) {
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                       ipc->pair[k]) < 0) {
            if (err != NULL)
                snprintf(err, errlen, "ipc: socketpair for worker %d: %s", k,
                         strerror(errno));
            ipc_destroy(ipc);
            return -1;
        }
        if (ipc_set_buf(ipc->pair[k][1], SO_SNDBUFFORCE, SO_SNDBUF,
                        (int)IPC_SNDBUF) < 0) {
            if (err != NULL)
                snprintf(err, errlen, "ipc: SO_SNDBUF for worker %d: %s", k,
                         strerror(errno));
            ipc_destroy(ipc);
            return -1;
        }
        /* Not what bounds a connected datagram pair, but it costs
         * nothing; a refusal is not worth failing for. */
        (void)ipc_set_buf(ipc->pair[k][0], SO_RCVBUFFORCE, SO_RCVBUF,
                          (int)IPC_RCVBUF);
    }
    size_t limit = ipc_payload_limit(ipc);
    if (limit < IPC_PAYLOAD_MAX)
        log_warnx("ipc: send buffers are capped at %zu payload bytes "
                  "(raise net.core.wmem_max to %zu, or run with "
                  "CAP_NET_ADMIN); larger messages fail with EMSGSIZE",
                  limit, (size_t)IPC_SNDBUF);
    return 0;
}

void
ipc_destroy(struct ipc *ipc)
{
    if (ipc == NULL)
        return;
    for (int k = 0; ipc->pair != NULL && k < ipc->nworkers; k++) {
        for (int e = 0; e < 2; e++) {
            if (ipc->pair[k][e] >= 0)
                close(ipc->pair[k][e]);
            ipc->pair[k][e] = -1;
        }
    }
    free(ipc->pair);
    ipc->pair = NULL;
    ipc->nworkers = 0;
}

/* Returns -1 for a bad w. */
int
ipc_rx_fd(const struct ipc *ipc, int w)
{
    if (ipc == NULL || ipc->pair == NULL || w < 0 || w >= ipc->nworkers)
        return -1;
    return ipc->pair[w][0];
}

/* Returns -1 for a bad w. */
int
ipc_tx_fd(const struct ipc *ipc, int w)
{
    if (ipc == NULL || ipc->pair == NULL || w < 0 || w >= ipc->nworkers)
        return -1;
    return ipc->pair[w][1];
}

/* The largest payload ipc_send() can carry on these channels: normally
 * IPC_PAYLOAD_MAX, less when the kernel capped the send buffers (then
 * ipc_create() logged a warning). 0 for an empty table. */
size_t
ipc_payload_limit(const struct ipc *ipc)
{
    size_t limit = IPC_PAYLOAD_MAX;
    if (ipc == NULL || ipc->pair == NULL || ipc->nworkers <= 0)
        return 0;
    for (int k = 0; k < ipc->nworkers; k++) {
        size_t l = ipc_fd_payload_limit(ipc->pair[k][1]);
        if (l < limit)
            limit = l;
    }
    return limit;
}

static int
ipc_type_ok(uint16_t type)
{
    return type == IPC_DELIVER || type == IPC_OUTPUT || type == IPC_END ||
           type == IPC_RESUME || type == IPC_CREDS || type == IPC_TLS ||
           type == IPC_KEY;
}

/* The most payload pieces one message is composed of (IPC_CREDS: key,
 * newline, secret, newline, environment). */
#define IPC_MAX_PARTS 5

/* Sends h and the payload made of parts[0..nparts) as one datagram: what
 * ipc_send() does, without first copying the pieces into one buffer. */
static int
ipc_send_parts(const struct ipc *ipc, int w, struct ipc_hdr *h,
               const struct iovec *parts, int nparts)
{
    struct iovec iov[1 + IPC_MAX_PARTS];
    struct msghdr msg;
    size_t len = 0;
    ssize_t n;

    assert(nparts >= 0 && nparts <= IPC_MAX_PARTS);
    if (ipc == NULL || ipc->pair == NULL || w < 0 || w >= ipc->nworkers ||
        h == NULL || !ipc_type_ok(h->type)) {
        errno = EINVAL;
        return -1;
    }
    iov[0].iov_base = h;
    iov[0].iov_len = sizeof(*h);
    for (int i = 0; i < nparts; i++) {
        if (parts[i].iov_base == NULL && parts[i].iov_len > 0) {
            errno = EINVAL;
            return -1;
        }
        len += parts[i].iov_len;
        iov[1 + i] = parts[i];
    }
    if (len > IPC_PAYLOAD_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    h->magic = IPC_MAGIC;
    h->version = IPC_VERSION;
    h->len = (uint32_t)len;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = 1 + (size_t)nparts;

    do {
        n = sendmsg(ipc->pair[w][1], &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EWOULDBLOCK || errno == ENOBUFS || errno == ENOMEM)
            errno = EAGAIN;
        return -1;
    }
    /* A datagram goes whole or not at all. */
    assert((size_t)n == sizeof(*h) + len);
    return 0;
}

/* Also EINVAL for a NULL header, an unknown h->type, or a NULL payload
 * with len > 0. A send buffer the kernel could not allocate (ENOBUFS,
 * ENOMEM: a large datagram needs contiguous kernel memory) is reported as
 * EAGAIN: the caller retries later, as for a full channel. */
int
ipc_send(const struct ipc *ipc, int w, struct ipc_hdr *h, const void *payload,
         size_t len)
{
    /* sendmsg does not write the payload */
    struct iovec part = {(void *)(uintptr_t)payload, len};

    return ipc_send_parts(ipc, w, h, &part, len > 0 ? 1 : 0);
}

/* A malformed message sets errno EBADMSG; *h is then zeroed and buf holds
 * the empty string. */
int
ipc_recv(int fd, struct ipc_hdr *h, char *buf, size_t cap)
{
    struct iovec iov[2];
    struct msghdr msg;
    ssize_t n;

    assert(h != NULL && buf != NULL && cap > 0);
    iov[0].iov_base = h;
    iov[0].iov_len = sizeof(*h);
    iov[1].iov_base = buf;
    iov[1].iov_len = cap - 1; /* room for the NUL */
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;

    do {
        n = recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -1;
    }

    const char *why = NULL;
    if (msg.msg_flags & MSG_TRUNC)
        why = "longer than the buffer";
    else if ((size_t)n < sizeof(*h))
        why = "shorter than the header";
    else if (h->magic != IPC_MAGIC)
        why = "bad magic";
    else if (h->version != IPC_VERSION)
        why = "unknown version";
    else if (!ipc_type_ok(h->type))
        why = "unknown type";
    else if (h->len > IPC_PAYLOAD_MAX || h->len != (size_t)n - sizeof(*h))
        why = "length does not match";
    if (why != NULL) {
        log_warnx("ipc: dropped a malformed message of %zd bytes on fd %d: "
                  "%s",
                  n, fd, why);
        memset(h, 0, sizeof(*h));
        buf[0] = '\0';
        errno = EBADMSG;
        return -1;
    }
    buf[h->len] = '\0';
    return 1;
}

/* ---- the messages: each send beside its read ---- */

/* The read side's first check: the message is of the expected type. */
static int
ipc_is(const struct ipc_hdr *h, enum ipc_type type)
{
    assert(h != NULL);
    if (h->type == type)
        return 1;
    errno = EBADMSG;
    return 0;
}

/* A header of type for the session slot/gen and stream, the rest zero. */
static struct ipc_hdr
ipc_hdr_make(enum ipc_type type, uint32_t slot, uint32_t gen, uint64_t stream)
{
    struct ipc_hdr h = {0};

    h.type = (uint16_t)type;
    h.slot = slot;
    h.gen = gen;
    h.stream = stream;
    return h;
}

int
ipc_send_deliver(const struct ipc *ipc, int owner, const struct ipc_deliver *m)
{
    struct ipc_hdr h =
        ipc_hdr_make(IPC_DELIVER, m->slot, m->gen, m->reply_stream);

    h.reply_worker = m->reply_worker;
    h.reserved = (uint32_t)(m->target_pid > 0 ? m->target_pid : 0);
    return ipc_send(ipc, owner, &h, m->msg, m->len);
}

int
ipc_read_deliver(const struct ipc_hdr *h, const char *payload,
                 struct ipc_deliver *m)
{
    if (!ipc_is(h, IPC_DELIVER))
        return -1;
    *m = (struct ipc_deliver){.slot = h->slot,
                              .gen = h->gen,
                              .target_pid = (pid_t)h->reserved,
                              .reply_worker = h->reply_worker,
                              .reply_stream = h->stream,
                              .msg = payload,
                              .len = h->len};
    return 0;
}

/* A NULL m->msg sends an empty OUTPUT. */
int
ipc_send_output(const struct ipc *ipc, int w, const struct ipc_output *m)
{
    struct ipc_hdr h = ipc_hdr_make(IPC_OUTPUT, m->slot, m->gen, m->stream);

    return ipc_send(ipc, w, &h, m->msg, m->msg != NULL ? m->len : 0);
}

/* OUTPUT and END alike; payload NULL for END, whose payload, if any, is
 * ignored. */
static int
ipc_read_for_stream(const struct ipc_hdr *h, enum ipc_type type,
                    const char *payload, struct ipc_output *m)
{
    if (!ipc_is(h, type))
        return -1;
    *m = (struct ipc_output){.slot = h->slot,
                             .gen = h->gen,
                             .stream = h->stream,
                             .msg = payload,
                             .len = payload != NULL ? h->len : 0};
    return 0;
}

int
ipc_read_output(const struct ipc_hdr *h, const char *payload,
                struct ipc_output *m)
{
    return ipc_read_for_stream(h, IPC_OUTPUT, payload, m);
}

int
ipc_send_end(const struct ipc *ipc, int w, uint32_t slot, uint32_t gen,
             uint64_t stream)
{
    struct ipc_hdr h = ipc_hdr_make(IPC_END, slot, gen, stream);

    return ipc_send(ipc, w, &h, NULL, 0);
}

/* A quiet end travels as seq 1 (seq is otherwise unused by IPC_END). */
int
ipc_send_end_quiet(const struct ipc *ipc, int w, uint32_t slot, uint32_t gen,
                   uint64_t stream)
{
    struct ipc_hdr h = ipc_hdr_make(IPC_END, slot, gen, stream);

    h.seq = 1;
    return ipc_send(ipc, w, &h, NULL, 0);
}

int
ipc_read_end(const struct ipc_hdr *h, struct ipc_output *m)
{
    if (ipc_read_for_stream(h, IPC_END, NULL, m) < 0)
        return -1;
    m->quiet = h->seq == 1;
    return 0;
}

int
ipc_send_resume(const struct ipc *ipc, int holder, const struct ipc_resume *m)
{
    struct ipc_hdr h = ipc_hdr_make(IPC_RESUME, m->slot, m->gen, m->stream);
    char num[24];
    int n =
        snprintf(num, sizeof(num), "%llu", (unsigned long long)m->reply_stream);

    h.reply_worker = m->reply_worker;
    h.seq = m->seq;
    return ipc_send(ipc, holder, &h, num, (size_t)n);
}

/* The payload must be the new stream's id in decimal, nothing else. */
int
ipc_read_resume(const struct ipc_hdr *h, const char *payload,
                struct ipc_resume *m)
{
    char *end;

    if (!ipc_is(h, IPC_RESUME))
        return -1;
    memset(m, 0, sizeof(*m));
    m->reply_stream = strtoull(payload, &end, 10);
    if (end == payload || *end != '\0') {
        errno = EBADMSG;
        return -1;
    }
    m->slot = h->slot;
    m->gen = h->gen;
    m->stream = h->stream; /* the broken stream, ours */
    m->seq = h->seq;
    m->reply_worker = h->reply_worker;
    return 0;
}

/* Nothing is copied: the pieces of c go straight into the datagram. */
static int
send_creds_as(const struct ipc *ipc, int w, uint16_t type,
              const struct creds *c)
{
    struct ipc_hdr h = {0};
    const char *env = creds_env_name(c->env);
    struct iovec parts[IPC_MAX_PARTS] = {
        {(void *)(uintptr_t)c->key, strlen(c->key)},
        {(void *)(uintptr_t) "\n", 1},
        {(void *)(uintptr_t)c->secret, strlen(c->secret)},
        {(void *)(uintptr_t) "\n", 1},
        {(void *)(uintptr_t)env, strlen(env)},
    };

    h.type = type;
    return ipc_send_parts(ipc, w, &h, parts, c->set ? IPC_MAX_PARTS : 0);
}

/* -1 also when the key or secret is not one Binance could have issued
 * (creds_set refuses it). */
static int
read_creds_as(const struct ipc_hdr *h, uint16_t type, char *payload,
              struct creds *out)
{
    char err[128];
    char *key = payload, *secret, *env = NULL;
    enum bnc_env e = BNC_ENV_MAINNET;

    creds_wipe(out);
    if (!ipc_is(h, type))
        return -1;
    if (h->len == 0)
        return 0; /* no credentials */
    if ((secret = memchr(key, '\n', h->len)) != NULL) {
        *secret++ = '\0';
        if ((env = strchr(secret, '\n')) != NULL)
            *env++ = '\0';
    }
    if (secret == NULL || env == NULL || creds_env_parse(env, &e) < 0 ||
        creds_set(out, key, secret, e, err, sizeof(err)) < 0) {
        creds_wipe(out);
        errno = EBADMSG;
        return -1;
    }
    return 0;
}

int
ipc_send_creds(const struct ipc *ipc, int w, const struct creds *c)
{
    return send_creds_as(ipc, w, IPC_CREDS, c);
}

int
ipc_read_creds(const struct ipc_hdr *h, char *payload, struct creds *out)
{
    return read_creds_as(h, IPC_CREDS, payload, out);
}

int
ipc_send_key(const struct ipc *ipc, int w, const struct creds *c)
{
    if (!c->set) {
        errno = EINVAL;
        return -1;
    }
    return send_creds_as(ipc, w, IPC_KEY, c);
}

int
ipc_read_key(const struct ipc_hdr *h, char *payload, struct creds *out)
{
    if (read_creds_as(h, IPC_KEY, payload, out) < 0)
        return -1;
    if (!out->set) {
        errno = EBADMSG;
        return -1;
    }
    return 0;
}

/* Both strings are sent with their NULs. */
int
ipc_send_tls(const struct ipc *ipc, int w, const char *cert_pem,
             const char *key_pem)
{
    struct ipc_hdr h = {0};
    struct iovec parts[2] = {
        {(void *)(uintptr_t)cert_pem, strlen(cert_pem) + 1},
        {(void *)(uintptr_t)key_pem, strlen(key_pem) + 1},
    };

    h.type = IPC_TLS;
    return ipc_send_parts(ipc, w, &h, parts, 2);
}

/* The certificate must end inside the payload; the key runs to the NUL
 * that ipc_recv() put after it. */
int
ipc_read_tls(const struct ipc_hdr *h, const char *payload,
             const char **cert_pem, const char **key_pem)
{
    size_t cert_len;

    if (!ipc_is(h, IPC_TLS))
        return -1;
    cert_len = strnlen(payload, h->len);
    if (cert_len >= h->len) {
        errno = EBADMSG;
        return -1;
    }
    *cert_pem = payload;
    *key_pem = payload + cert_len + 1;
    return 0;
}
