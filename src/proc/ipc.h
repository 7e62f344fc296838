/*
 * ipc.h - messages between workers, over one AF_UNIX datagram socketpair per
 * worker slot, created by the supervisor before it forks.
 *
 * Worker k reads its messages from ipc_rx_fd(k); any process sends to worker
 * k with the ipc_send_X() of the message (each beside its ipc_read_X(), at
 * the end of this header). The supervisor keeps both ends of every pair, so a
 * respawned worker inherits the same channel. Sends never block: a full
 * channel is EAGAIN and the caller answers 503.
 *
 * Every message is one datagram: a fixed header plus a payload of up to
 * IPC_PAYLOAD_MAX bytes. A receiver checks magic, version, type and length
 * before it trusts anything (a crashed sender cannot corrupt it).
 */
#ifndef BINMCPD_IPC_H
#define BINMCPD_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct creds;

#define IPC_PAYLOAD_MAX (3u * 1024 * 1024)

/* DELIVER's reply_worker when the outputs go to no worker's POST stream. */
#define IPC_REPLY_MAIN (-1) /* the session's own stream at its owner */
#define IPC_REPLY_NONE (-2) /* nobody waits for outputs */

enum ipc_type {
    IPC_DELIVER = 1, /* a client message for the session's owner to run */
    IPC_OUTPUT = 2,  /* a message for a stream held by the receiver */
    IPC_END = 3,     /* the stream's job is done: end the stream */
    IPC_RESUME = 4,  /* replay a broken stream's events, then forward */
    IPC_CREDS = 5,   /* from the supervisor: new daemon credentials */
    IPC_TLS = 6,     /* from the supervisor: a new HTTPS certificate */
    IPC_KEY = 7,     /* to the feed: follow this account's user data */
};

/* The wire header. The daemon fills it only in ipc.c: each message below
 * has a send function that composes it and a read function that decodes
 * it. */
struct ipc_hdr {
    uint32_t magic;       /* IPC_MAGIC */
    uint16_t version;     /* IPC_VERSION */
    uint16_t type;        /* enum ipc_type */
    uint32_t slot, gen;   /* the session (struct reg_ref) */
    int32_t reply_worker; /* DELIVER: where the outputs go (a worker,
                             IPC_REPLY_MAIN or IPC_REPLY_NONE);
                             RESUME: the worker of the new stream */
    uint32_t seq;         /* RESUME: the last event the client saw */
    uint64_t stream;      /* DELIVER: reply stream id at reply_worker;
                             OUTPUT/END: the target stream id;
                             RESUME: the broken stream's id */
    uint32_t len;         /* payload bytes that follow */
    uint32_t reserved;    /* DELIVER: the target worker's pid when sent
                             (0: unknown); else zero */
};

#define IPC_MAGIC   0x424d4350u /* "BMCP" */
#define IPC_VERSION 1

struct ipc {
    int nworkers;
    int (*pair)[2]; /* pair[k][0]: worker k reads; pair[k][1]: others send */
};

/* Creates nworkers socketpairs (SOCK_DGRAM, non-blocking, close-on-exec)
 * with send buffers large enough for IPC_PAYLOAD_MAX. Returns 0 or -1 with
 * a reason in err; on failure nothing stays open. */
int ipc_create(struct ipc *ipc, int nworkers, char *err, size_t errlen);

/* Closes every descriptor and frees the table. */
void ipc_destroy(struct ipc *ipc);

/* The descriptor worker w reads from. */
int ipc_rx_fd(const struct ipc *ipc, int w);

/* The descriptor every process sends to worker w on (ipc_send_X use it):
 * poll it for POLLOUT to learn when a full channel has room again. */
int ipc_tx_fd(const struct ipc *ipc, int w);

/* The largest payload a message can carry on these channels: normally
 * IPC_PAYLOAD_MAX, less when the kernel capped the send buffers
 * (net.core.wmem_max without CAP_NET_ADMIN; ipc_create() then logs a
 * warning). Returns 0 for an empty table. */
size_t ipc_payload_limit(const struct ipc *ipc);

/* Sends one message to worker w without blocking. h->magic, version and
 * len are filled in here. Returns 0, or -1 with errno: EAGAIN (the channel
 * is full), EMSGSIZE (payload too big), EINVAL (bad worker). The typed
 * ipc_send_X() below are what the daemon uses; this is their ground. */
int ipc_send(const struct ipc *ipc, int w, struct ipc_hdr *h,
             const void *payload, size_t len);

/* Receives one message from fd into *h and buf (cap bytes; the payload is
 * NUL-terminated, so cap must exceed IPC_PAYLOAD_MAX; h->len is its length).
 * Returns 1 for a message, 0 when nothing is waiting (EAGAIN), or -1 for a
 * malformed message (it is dropped and logged) or a receive error. */
int ipc_recv(int fd, struct ipc_hdr *h, char *buf, size_t cap);

/* ---- the messages ----
 *
 * Each message's send (composes the header and payload) stands beside its
 * read (checks what the header and payload must hold, and decodes them),
 * as OpenBSD httpd's config_setX / config_getX do. A send returns what
 * ipc_send() returns. A read takes a message ipc_recv() accepted, returns
 * 0, or -1 (errno EBADMSG) when the message is not of its type or does not
 * hold what its type needs; decoded pointers point into the payload, which
 * the caller keeps (and wipes) as before. */

/* IPC_DELIVER: a client message for the session's owner to run. */
struct ipc_deliver {
    uint32_t slot, gen;    /* the session */
    pid_t target_pid;      /* the owner's pid when sent (0: unknown): a
                              replacement that reads a message its dead
                              predecessor never did drops it (travels in
                              the header's reserved field) */
    int reply_worker;      /* a worker, IPC_REPLY_MAIN or IPC_REPLY_NONE */
    uint64_t reply_stream; /* the stream at reply_worker for the outputs */
    const char *msg;       /* the JSON-RPC text, len bytes */
    size_t len;
};
int ipc_send_deliver(const struct ipc *ipc, int owner,
                     const struct ipc_deliver *m);
int ipc_read_deliver(const struct ipc_hdr *h, const char *payload,
                     struct ipc_deliver *m);

/* IPC_OUTPUT (one message for a stream the receiver holds) and IPC_END
 * (end that stream once its queued bytes are sent). */
struct ipc_output {
    uint32_t slot, gen; /* the session the stream belongs to */
    uint64_t stream;    /* the stream id at the receiver */
    const char *msg;    /* OUTPUT: the JSON-RPC text; END: NULL */
    size_t len;
    int quiet; /* END: the requests got what they were to get (a
                  cancelled one nothing): no error for them */
};
int ipc_send_output(const struct ipc *ipc, int w, const struct ipc_output *m);
int ipc_read_output(const struct ipc_hdr *h, const char *payload,
                    struct ipc_output *m);
int ipc_send_end(const struct ipc *ipc, int w, uint32_t slot, uint32_t gen,
                 uint64_t stream);
int ipc_send_end_quiet(const struct ipc *ipc, int w, uint32_t slot,
                       uint32_t gen, uint64_t stream);
int ipc_read_end(const struct ipc_hdr *h, struct ipc_output *m);

/* IPC_RESUME: a client came back with Last-Event-ID to another worker;
 * the receiver holds the broken stream, replays its events after seq to
 * the new stream and forwards the rest there. The new stream's id travels
 * as decimal text in the payload. */
struct ipc_resume {
    uint32_t slot, gen;    /* the session */
    uint64_t stream;       /* the broken stream, held by the receiver */
    uint32_t seq;          /* the last event the client saw */
    int reply_worker;      /* the worker holding the new stream */
    uint64_t reply_stream; /* the new stream's id there */
};
int ipc_send_resume(const struct ipc *ipc, int holder,
                    const struct ipc_resume *m);
int ipc_read_resume(const struct ipc_hdr *h, const char *payload,
                    struct ipc_resume *m);

/* IPC_CREDS: from the supervisor, the daemon's credentials, as
 * "key\nsecret\nenv", or an empty payload for none. The send composes
 * them from c without a copy. The read turns newlines of the payload into
 * NULs and fills *out (out->set 0: no credentials); on -1, *out is wiped. */
int ipc_send_creds(const struct ipc *ipc, int w, const struct creds *c);
int ipc_read_creds(const struct ipc_hdr *h, char *payload, struct creds *out);

/* IPC_KEY: from a worker to the feed process (its own channel, made by
 * ipc_create with one slot): follow the account of these credentials (a
 * session's), in the payload of IPC_CREDS; never empty. The feed's
 * channel also carries IPC_CREDS, from the supervisor: the daemon's
 * credentials after a reload. Both are secret: the receiver wipes the
 * payload after the read. */
int ipc_send_key(const struct ipc *ipc, int w, const struct creds *c);
int ipc_read_key(const struct ipc_hdr *h, char *payload, struct creds *out);

/* IPC_TLS: from the supervisor, a new HTTPS certificate and key, as
 * "cert PEM\0key PEM\0". Both strings point into the payload. */
int ipc_send_tls(const struct ipc *ipc, int w, const char *cert_pem,
                 const char *key_pem);
int ipc_read_tls(const struct ipc_hdr *h, const char *payload,
                 const char **cert_pem, const char **key_pem);

#endif
