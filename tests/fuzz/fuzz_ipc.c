/*
 * fuzz_ipc.c - libFuzzer harness of IPC message decoding: a datagram
 * arrives on a worker's channel (ipc_create with one worker), ipc_recv
 * checks it, and every typed read (ipc_read_deliver, _output, _end,
 * _resume, _tls, _creds) decodes it, as a worker would after a crashed or
 * hostile sender.
 *
 * Input: a mode byte, then the rest. Mode bit 0 clear: the rest is the raw
 * datagram (header and payload), sent as is. Bit 0 set: the rest is a
 * header followed by the payload, sent with ipc_send(), which fills in
 * magic, version and length as the daemon's senders do (the type is
 * folded into the known ones, which is all a sender accepts), so that the
 * typed reads see well-formed envelopes with fuzzed fields.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "creds.h"
#include "fuzzlib.h"
#include "ipc.h"

static struct ipc ipc;
static char *buf; /* IPC_PAYLOAD_MAX + 1, as ipc_recv wants */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    fuzz_quiet();
    if (ipc_create(&ipc, 1, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_ipc: %s\n", err);
        abort();
    }
    buf = malloc(IPC_PAYLOAD_MAX + 1);
    if (buf == NULL)
        abort();
    return 0;
}

/* Every read of one accepted message; each must refuse other types. */
static void
decode(const struct ipc_hdr *h, char *payload)
{
    struct ipc_deliver d;
    struct ipc_output o;
    struct ipc_resume r;
    struct creds c;
    const char *cert, *key;

    if (ipc_read_deliver(h, payload, &d) == 0 &&
        (h->type != IPC_DELIVER || d.len != h->len || d.msg != payload))
        abort();
    if (ipc_read_output(h, payload, &o) == 0 &&
        (h->type != IPC_OUTPUT || o.len != h->len))
        abort();
    if (ipc_read_end(h, &o) == 0 && (h->type != IPC_END || o.msg != NULL))
        abort();
    if (ipc_read_resume(h, payload, &r) == 0 && h->type != IPC_RESUME)
        abort();
    if (ipc_read_tls(h, payload, &cert, &key) == 0) {
        if (h->type != IPC_TLS || key <= cert || key > payload + h->len)
            abort();
        (void)strlen(key); /* ASan: the key ends at ipc_recv's NUL */
    }
    memset(&c, 0, sizeof(c));
    /* Last: it turns the payload's newlines into NULs. */
    if (ipc_read_creds(h, payload, &c) == 0 && h->type != IPC_CREDS)
        abort();
    creds_wipe(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipc_hdr h;
    int rx = ipc_rx_fd(&ipc, 0), rc;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    if (data[0] & 1) {
        if (size - 1 < sizeof(h))
            return 0;
        const uint8_t *payload = data + 1 + sizeof(h);
        size_t len = size - 1 - sizeof(h);

        memcpy(&h, data + 1, sizeof(h));
        /* A sender refuses any other type: fold it into the known ones. */
        h.type = (uint16_t)(IPC_DELIVER + h.type % IPC_TLS);
        if (ipc_send(&ipc, 0, &h, payload, len) < 0)
            abort(); /* 64 KiB always fits the channel */
    } else if (send(ipc.pair[0][1], data + 1, size - 1, MSG_DONTWAIT) < 0) {
        abort();
    }
    memset(&h, 0, sizeof(h));
    rc = ipc_recv(rx, &h, buf, IPC_PAYLOAD_MAX + 1);
    if (rc == 1) {
        if (h.magic != IPC_MAGIC || h.version != IPC_VERSION || h.len > size ||
            buf[h.len] != '\0')
            abort();
        decode(&h, buf);
    } else if (rc == 0 || (rc < 0 && errno != EBADMSG)) {
        abort(); /* the datagram was sent: it must be read or refused */
    }
    /* Nothing may be left for the next input. */
    if (ipc_recv(rx, &h, buf, IPC_PAYLOAD_MAX + 1) != 0)
        abort();
    return 0;
}
