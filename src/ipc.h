/*
 * ipc.h - messages between workers, over one AF_UNIX datagram socketpair per
 * worker slot, created by the supervisor before it forks.
 *
 * Worker k reads its messages from ipc_rx_fd(k); any process sends to worker
 * k with ipc_send(). The supervisor keeps both ends of every pair, so a
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

#define IPC_PAYLOAD_MAX (3u * 1024 * 1024)

enum ipc_type {
    IPC_DELIVER = 1, /* a client message for the session's owner to run */
    IPC_OUTPUT = 2,  /* a message for a stream held by the receiver */
    IPC_END = 3,     /* the stream's job is done: end the stream */
    IPC_CREDS = 5,   /* from the supervisor: new daemon credentials,
                        payload "key\nsecret\nenv" ("" = none) */
    IPC_TLS = 6,     /* from the supervisor: a new HTTPS certificate,
                        payload "cert PEM\0key PEM" */
    IPC_RESUME = 4,  /* replay a broken stream's events after
                        h.reserved to (reply_worker, payload = the new
                        stream id in decimal), then forward the rest */
};

struct ipc_hdr {
    uint32_t magic;       /* IPC_MAGIC */
    uint16_t version;     /* IPC_VERSION */
    uint16_t type;        /* enum ipc_type */
    uint32_t slot, gen;   /* the session (struct reg_ref) */
    int32_t reply_worker; /* DELIVER: where the outputs go (-1: the
                             session's own stream at the owner) */
    uint32_t reserved;
    uint64_t stream; /* DELIVER: reply stream id at reply_worker;
                        OUTPUT/END: the target stream id */
    uint32_t len;    /* payload bytes that follow */
    uint32_t reserved2;
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

/* The largest payload a message can carry on these channels: normally
 * IPC_PAYLOAD_MAX, less when the kernel capped the send buffers
 * (net.core.wmem_max without CAP_NET_ADMIN; ipc_create() then logs a
 * warning). Returns 0 for an empty table. */
size_t ipc_payload_limit(const struct ipc *ipc);

/* Sends one message to worker w without blocking. h->magic, version and
 * len are filled in here. Returns 0, or -1 with errno: EAGAIN (the channel
 * is full), EMSGSIZE (payload too big), EINVAL (bad worker). */
int ipc_send(const struct ipc *ipc, int w, struct ipc_hdr *h,
             const void *payload, size_t len);

/* Receives one message from fd into *h and buf (cap bytes; the payload is
 * NUL-terminated, so cap must exceed IPC_PAYLOAD_MAX; h->len is its length).
 * Returns 1 for a message, 0 when nothing is waiting (EAGAIN), or -1 for a
 * malformed message (it is dropped and logged) or a receive error. */
int ipc_recv(int fd, struct ipc_hdr *h, char *buf, size_t cap);

#endif
