/*
 * test_ipc.c - unit tests of the per-worker datagram channels: round
 * trips, limits, a full channel, malformed datagrams, and a real second
 * process.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "creds.h"
#include "ipc.h"
#include "worker_int.h"
#include "testlib.h"

#define RECV_CAP (IPC_PAYLOAD_MAX + 1)

static char *payload; /* IPC_PAYLOAD_MAX + 1 bytes of a pattern */
static char *rbuf;    /* RECV_CAP bytes */

static int
suite_init(void)
{
    payload = malloc(IPC_PAYLOAD_MAX + 1);
    rbuf = malloc(RECV_CAP);
    if (payload == NULL || rbuf == NULL)
        return -1;
    for (size_t i = 0; i <= IPC_PAYLOAD_MAX; i++)
        payload[i] = (char)('a' + (i * 7 + i / 251) % 26);
    return 0;
}

static int
suite_clean(void)
{
    free(payload);
    free(rbuf);
    return 0;
}

static int
wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static struct ipc_hdr
make_hdr(enum ipc_type type, uint32_t slot, uint32_t gen, uint64_t stream)
{
    struct ipc_hdr h;
    memset(&h, 0, sizeof(h));
    h.type = (uint16_t)type;
    h.slot = slot;
    h.gen = gen;
    h.reply_worker = type == IPC_DELIVER ? 1 : -1;
    h.stream = stream;
    return h;
}

static void
test_create_destroy(void)
{
    struct ipc ipc;
    char err[256];

    err[0] = '\0';
    CU_ASSERT_EQUAL(ipc_create(&ipc, 0, err, sizeof(err)), -1);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_PTR_NULL(ipc.pair);
    CU_ASSERT_EQUAL(ipc_create(&ipc, -3, NULL, 0), -1);

    CU_ASSERT_FATAL(ipc_create(&ipc, 3, err, sizeof(err)) == 0);
    CU_ASSERT_EQUAL(ipc.nworkers, 3);
    for (int w = 0; w < 3; w++) {
        CU_ASSERT(ipc_rx_fd(&ipc, w) >= 0);
        CU_ASSERT_EQUAL(ipc_rx_fd(&ipc, w), ipc.pair[w][0]);
        CU_ASSERT(ipc.pair[w][1] >= 0);
    }
    CU_ASSERT_EQUAL(ipc_rx_fd(&ipc, 3), -1);
    CU_ASSERT_EQUAL(ipc_rx_fd(&ipc, -1), -1);
    /* root, or a generous net.core.wmem_max: the full size is available */
    size_t limit = ipc_payload_limit(&ipc);
    CU_ASSERT(limit > 0 && limit <= IPC_PAYLOAD_MAX);
    if (limit < IPC_PAYLOAD_MAX)
        fprintf(stderr, "(send buffers capped: %zu payload bytes) ", limit);
    ipc_destroy(&ipc);
    CU_ASSERT_PTR_NULL(ipc.pair);
    CU_ASSERT_EQUAL(ipc.nworkers, 0);
    CU_ASSERT_EQUAL(ipc_payload_limit(&ipc), 0);
    ipc_destroy(&ipc); /* twice is harmless */
}

static void
test_round_trip(void)
{
    static const size_t sizes[] = {0, 1, 64 * 1024, 1024 * 1024,
                                   IPC_PAYLOAD_MAX};
    static const enum ipc_type types[] = {IPC_DELIVER, IPC_OUTPUT, IPC_END};
    struct ipc ipc;
    char err[256];
    size_t limit;
    uint64_t stream = 1;

    CU_ASSERT_FATAL(ipc_create(&ipc, 2, err, sizeof(err)) == 0);
    limit = ipc_payload_limit(&ipc);
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            struct ipc_hdr h = make_hdr(types[t], 7, 3, stream++), got;
            size_t len = sizes[s];
            if (len > limit) {
                /* the kernel cannot carry it here: refused, not lost */
                errno = 0;
                CU_ASSERT_EQUAL(ipc_send(&ipc, 1, &h, payload, len), -1);
                CU_ASSERT_EQUAL(errno, EMSGSIZE);
                continue;
            }
            CU_ASSERT_EQUAL_FATAL(ipc_send(&ipc, 1, &h, payload, len), 0);
            CU_ASSERT_EQUAL(h.magic, IPC_MAGIC);
            CU_ASSERT_EQUAL(h.version, IPC_VERSION);
            CU_ASSERT_EQUAL(h.len, len);
            /* nothing arrives on the other worker's channel */
            CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 0), &got, rbuf, RECV_CAP),
                            0);
            memset(&got, 0xee, sizeof(got));
            rbuf[len] = 'X';
            CU_ASSERT_EQUAL_FATAL(
                ipc_recv(ipc_rx_fd(&ipc, 1), &got, rbuf, RECV_CAP), 1);
            CU_ASSERT_EQUAL(got.magic, IPC_MAGIC);
            CU_ASSERT_EQUAL(got.version, IPC_VERSION);
            CU_ASSERT_EQUAL(got.type, types[t]);
            CU_ASSERT_EQUAL(got.slot, 7);
            CU_ASSERT_EQUAL(got.gen, 3);
            CU_ASSERT_EQUAL(got.reply_worker, h.reply_worker);
            CU_ASSERT_EQUAL(got.stream, h.stream);
            CU_ASSERT_EQUAL(got.len, len);
            CU_ASSERT(memcmp(rbuf, payload, len) == 0);
            CU_ASSERT_EQUAL(rbuf[len], '\0');
            CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 1), &got, rbuf, RECV_CAP),
                            0);
        }
    }
    /* a NULL payload of length 0 is fine */
    struct ipc_hdr h = make_hdr(IPC_END, 1, 1, 9), got;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, NULL, 0), 0);
    CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 0), &got, rbuf, RECV_CAP), 1);
    CU_ASSERT_EQUAL(got.len, 0);
    CU_ASSERT_EQUAL(rbuf[0], '\0');
    ipc_destroy(&ipc);
}

static void
test_bad_sends(void)
{
    struct ipc ipc;
    char err[256];
    struct ipc_hdr h = make_hdr(IPC_DELIVER, 0, 1, 0), got;

    CU_ASSERT_FATAL(ipc_create(&ipc, 2, err, sizeof(err)) == 0);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, payload, IPC_PAYLOAD_MAX + 1), -1);
    CU_ASSERT_EQUAL(errno, EMSGSIZE);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, payload, (size_t)-1), -1);
    CU_ASSERT_EQUAL(errno, EMSGSIZE);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 2, &h, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, -1, &h, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, NULL, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, NULL, 1), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    h.type = 9;
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    /* nothing was sent */
    CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 0), &got, rbuf, RECV_CAP), 0);
    CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 1), &got, rbuf, RECV_CAP), 0);
    ipc_destroy(&ipc);
}

static void
test_full_channel(void)
{
    enum { MSG = 64 * 1024, MAX_TRIES = 100000 };
    struct ipc ipc;
    char err[256];
    int sent = 0, got_n = 0, rc = 0;

    CU_ASSERT_FATAL(ipc_create(&ipc, 1, err, sizeof(err)) == 0);
    while (sent < MAX_TRIES) {
        struct ipc_hdr h = make_hdr(IPC_OUTPUT, 0, 1, (uint64_t)sent);
        rc = ipc_send(&ipc, 0, &h, payload, MSG);
        if (rc < 0)
            break;
        sent++;
    }
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT(sent > 0);
    /* every accepted message is there, in order, and then nothing */
    for (;;) {
        struct ipc_hdr h;
        rc = ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP);
        if (rc != 1)
            break;
        if (h.stream != (uint64_t)got_n || h.len != MSG)
            break;
        got_n++;
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(got_n, sent);
    /* drained: sending works again */
    struct ipc_hdr h = make_hdr(IPC_OUTPUT, 0, 1, 0);
    CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, payload, MSG), 0);
    CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP), 1);
    ipc_destroy(&ipc);
}

/* Writes one raw datagram to worker 0's channel, bypassing ipc_send. */
static void
send_raw(const struct ipc *ipc, const void *p, size_t len)
{
    CU_ASSERT_EQUAL(send(ipc->pair[0][1], p, len, MSG_DONTWAIT), (ssize_t)len);
}

static void
expect_malformed_then_good(const struct ipc *ipc, uint64_t stream)
{
    struct ipc_hdr h = make_hdr(IPC_OUTPUT, 1, 1, stream);
    int fd = ipc_rx_fd(ipc, 0);

    CU_ASSERT_EQUAL(ipc_send(ipc, 0, &h, "good", 4), 0);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_recv(fd, &h, rbuf, RECV_CAP), -1);
    CU_ASSERT_EQUAL(errno, EBADMSG);
    CU_ASSERT_EQUAL(ipc_recv(fd, &h, rbuf, RECV_CAP), 1);
    CU_ASSERT_EQUAL(h.stream, stream);
    CU_ASSERT_STRING_EQUAL(rbuf, "good");
    CU_ASSERT_EQUAL(ipc_recv(fd, &h, rbuf, RECV_CAP), 0);
}

static void
test_malformed(void)
{
    struct ipc ipc;
    char err[256], raw[sizeof(struct ipc_hdr) + 16];
    struct ipc_hdr good, bad;
    uint64_t stream = 100;

    CU_ASSERT_FATAL(ipc_create(&ipc, 1, err, sizeof(err)) == 0);
    good = make_hdr(IPC_DELIVER, 2, 5, 0);
    good.magic = IPC_MAGIC;
    good.version = IPC_VERSION;
    good.len = 16;
    memset(raw, 'p', sizeof(raw));

    /* shorter than a header, and empty */
    send_raw(&ipc, "abc", 3);
    expect_malformed_then_good(&ipc, stream++);
    send_raw(&ipc, "", 0);
    expect_malformed_then_good(&ipc, stream++);

    /* the well-formed raw datagram is accepted (the baseline) */
    memcpy(raw, &good, sizeof(good));
    send_raw(&ipc, raw, sizeof(raw));
    CU_ASSERT_EQUAL(ipc_recv(ipc_rx_fd(&ipc, 0), &bad, rbuf, RECV_CAP), 1);

    bad = good;
    bad.magic = 0x12345678u;
    memcpy(raw, &bad, sizeof(bad));
    send_raw(&ipc, raw, sizeof(raw));
    expect_malformed_then_good(&ipc, stream++);

    bad = good;
    bad.version = IPC_VERSION + 1;
    memcpy(raw, &bad, sizeof(bad));
    send_raw(&ipc, raw, sizeof(raw));
    expect_malformed_then_good(&ipc, stream++);

    bad = good;
    bad.type = 0;
    memcpy(raw, &bad, sizeof(bad));
    send_raw(&ipc, raw, sizeof(raw));
    expect_malformed_then_good(&ipc, stream++);

    /* len says more, then less, than what came */
    bad = good;
    bad.len = 17;
    memcpy(raw, &bad, sizeof(bad));
    send_raw(&ipc, raw, sizeof(raw));
    expect_malformed_then_good(&ipc, stream++);
    bad.len = 15;
    memcpy(raw, &bad, sizeof(bad));
    send_raw(&ipc, raw, sizeof(raw));
    expect_malformed_then_good(&ipc, stream++);
    bad.len = 0xffffffffu;
    memcpy(raw, &bad, sizeof(bad));
    send_raw(&ipc, raw, sizeof(raw));
    expect_malformed_then_good(&ipc, stream++);

    /* a message longer than the receiver's buffer is truncated: dropped */
    {
        struct ipc_hdr h = make_hdr(IPC_OUTPUT, 1, 1, 0);
        char small[8];
        int fd = ipc_rx_fd(&ipc, 0);
        CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, payload, 100), 0);
        CU_ASSERT_EQUAL(ipc_send(&ipc, 0, &h, "1234567", 7), 0);
        errno = 0;
        CU_ASSERT_EQUAL(ipc_recv(fd, &h, small, sizeof(small)), -1);
        CU_ASSERT_EQUAL(errno, EBADMSG);
        CU_ASSERT_EQUAL(ipc_recv(fd, &h, small, sizeof(small)), 1);
        CU_ASSERT_STRING_EQUAL(small, "1234567");
    }
    ipc_destroy(&ipc);
}

static void
test_cross_process(void)
{
    enum { COUNT = 200 };
    struct ipc ipc;
    char err[256];
    int n = 0, in_order = 1;
    size_t big = 1024 * 1024;
    pid_t pid;

    CU_ASSERT_FATAL(ipc_create(&ipc, 2, err, sizeof(err)) == 0);
    if (big > ipc_payload_limit(&ipc))
        big = ipc_payload_limit(&ipc);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* worker 0 sends to worker 1, then a large one, then exits */
        char text[32];
        for (int i = 0; i < COUNT; i++) {
            struct ipc_hdr h = make_hdr(IPC_OUTPUT, 4, 2, (uint64_t)i);
            int len = snprintf(text, sizeof(text), "message %d", i);
            if (ipc_send(&ipc, 1, &h, text, (size_t)len) != 0)
                _exit(1);
        }
        struct ipc_hdr h = make_hdr(IPC_END, 4, 2, COUNT);
        if (ipc_send(&ipc, 1, &h, payload, big) != 0)
            _exit(2);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    for (;;) {
        struct ipc_hdr h;
        int rc = ipc_recv(ipc_rx_fd(&ipc, 1), &h, rbuf, RECV_CAP);
        if (rc != 1)
            break;
        if (n < COUNT) {
            char want[32];
            snprintf(want, sizeof(want), "message %d", n);
            if (h.type != IPC_OUTPUT || h.stream != (uint64_t)n ||
                strcmp(rbuf, want) != 0)
                in_order = 0;
        } else {
            CU_ASSERT_EQUAL(h.type, IPC_END);
            CU_ASSERT_EQUAL(h.len, big);
            CU_ASSERT(memcmp(rbuf, payload, big) == 0);
        }
        n++;
    }
    CU_ASSERT_EQUAL(n, COUNT + 1);
    CU_ASSERT(in_order);
    ipc_destroy(&ipc);
}

/* Two senders at once: each one's messages keep their order. */
static void
test_two_senders(void)
{
    enum { COUNT = 100 };
    struct ipc ipc;
    char err[256];
    int next[2] = {0, 0}, in_order = 1;
    pid_t pids[2];

    CU_ASSERT_FATAL(ipc_create(&ipc, 1, err, sizeof(err)) == 0);
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            for (int i = 0; i < COUNT; i++) {
                struct ipc_hdr h =
                    make_hdr(IPC_OUTPUT, (uint32_t)p, 1, (uint64_t)i);
                if (ipc_send(&ipc, 0, &h, payload, 512) != 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    for (;;) {
        struct ipc_hdr h;
        if (ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP) != 1)
            break;
        if (h.slot > 1 || h.stream != (uint64_t)next[h.slot]) {
            in_order = 0;
            break;
        }
        next[h.slot]++;
    }
    CU_ASSERT(in_order);
    CU_ASSERT_EQUAL(next[0], COUNT);
    CU_ASSERT_EQUAL(next[1], COUNT);
    ipc_destroy(&ipc);
}

/* Last-Event-ID values: exactly three decimal numbers in range. */
static void
test_event_id_parse(void)
{
    int w;
    uint64_t id;
    unsigned q;
    static const char *const bad[] = {"",
                                      "1.2",
                                      "1.2.3.4",
                                      "1.2.3x",
                                      " 1.2.3",
                                      "1. 2.3",
                                      "-1.2.3",
                                      "0.-1.5",
                                      "0.+1.5",
                                      "2147483648.1.1",
                                      "0.18446744073709551616.1",
                                      "0.1.4294967296",
                                      "a.b.c",
                                      "1..3",
                                      ".1.2",
                                      NULL};

    CU_ASSERT_EQUAL(stream_event_id_parse("1.42.7", &w, &id, &q), 0);
    CU_ASSERT_EQUAL(w, 1);
    CU_ASSERT_EQUAL(id, 42);
    CU_ASSERT_EQUAL(q, 7);
    CU_ASSERT_EQUAL(stream_event_id_parse("2147483647.18446744073709551615."
                                          "4294967295",
                                          &w, &id, &q),
                    0);
    CU_ASSERT_EQUAL(id, UINT64_MAX);
    for (size_t i = 0; bad[i] != NULL; i++) {
        if (stream_event_id_parse(bad[i], &w, &id, &q) == 0)
            fprintf(stderr, "\n  accepted '%s'\n", bad[i]);
        CU_ASSERT_EQUAL(stream_event_id_parse(bad[i], &w, &id, &q), -1);
    }
    CU_ASSERT_EQUAL(stream_event_id_parse(NULL, &w, &id, &q), -1);
}

/* IPC_KEY: a session's credentials to the feed, read back whole; never
 * empty; a message of another type is not one. */
static void
test_key(void)
{
    struct ipc ipc;
    struct creds c, got;
    struct ipc_hdr h;
    char err[256];

    CU_ASSERT_FATAL(ipc_create(&ipc, 1, err, sizeof(err)) == 0);
    memset(&c, 0, sizeof(c));
    memset(&got, 0, sizeof(got));
    errno = 0;
    CU_ASSERT_EQUAL(ipc_send_key(&ipc, 0, &c), -1); /* no credentials */
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_FATAL(creds_set(&c, TEST_KEY_A, TEST_SECRET_A, BNC_ENV_TESTNET,
                              err, sizeof(err)) == 0);
    CU_ASSERT_EQUAL_FATAL(ipc_send_key(&ipc, 0, &c), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP), 1);
    CU_ASSERT_EQUAL(h.type, IPC_KEY);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_read_creds(&h, rbuf, &got), -1); /* not IPC_CREDS */
    CU_ASSERT_EQUAL(errno, EBADMSG);
    CU_ASSERT_EQUAL(ipc_read_key(&h, rbuf, &got), 0);
    CU_ASSERT_TRUE(got.set);
    CU_ASSERT_STRING_EQUAL(got.key, TEST_KEY_A);
    CU_ASSERT_STRING_EQUAL(got.secret, TEST_SECRET_A);
    CU_ASSERT_EQUAL(got.env, BNC_ENV_TESTNET);
    /* an empty IPC_KEY (a hand-made one) is refused */
    struct ipc_hdr e = make_hdr(IPC_KEY, 0, 0, 0);
    CU_ASSERT_EQUAL_FATAL(ipc_send(&ipc, 0, &e, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP), 1);
    errno = 0;
    CU_ASSERT_EQUAL(ipc_read_key(&h, rbuf, &got), -1);
    CU_ASSERT_EQUAL(errno, EBADMSG);
    CU_ASSERT_FALSE(got.set);
    creds_wipe(&c);
    creds_wipe(&got);
    ipc_destroy(&ipc);
}

/* IPC_DELIVER carries the owner's pid when it was sent (the header's
 * reserved field), so that a replacement can tell a message meant for its
 * predecessor; 0 and negative pids travel as 0 (unknown). */
static void
test_deliver_target(void)
{
    struct ipc ipc;
    struct ipc_hdr h;
    struct ipc_deliver m = {.slot = 3,
                            .gen = 9,
                            .target_pid = 4242,
                            .reply_worker = 1,
                            .reply_stream = 77,
                            .msg = "{}",
                            .len = 2},
                       got;
    char err[256];

    CU_ASSERT_FATAL(ipc_create(&ipc, 2, err, sizeof(err)) == 0);
    CU_ASSERT_EQUAL_FATAL(ipc_send_deliver(&ipc, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP), 1);
    CU_ASSERT_EQUAL(h.reserved, 4242);
    CU_ASSERT_EQUAL(ipc_read_deliver(&h, rbuf, &got), 0);
    CU_ASSERT_EQUAL(got.target_pid, 4242);
    CU_ASSERT_EQUAL(got.slot, 3);
    CU_ASSERT_EQUAL(got.gen, 9);
    CU_ASSERT_EQUAL(got.reply_worker, 1);
    CU_ASSERT_EQUAL(got.reply_stream, 77);
    CU_ASSERT_EQUAL(got.len, 2);
    m.target_pid = -5;
    CU_ASSERT_EQUAL_FATAL(ipc_send_deliver(&ipc, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_recv(ipc_rx_fd(&ipc, 0), &h, rbuf, RECV_CAP), 1);
    CU_ASSERT_EQUAL(ipc_read_deliver(&h, rbuf, &got), 0);
    CU_ASSERT_EQUAL(got.target_pid, 0);
    ipc_destroy(&ipc);
}

static CU_TestInfo ipc_tests[] = {
    {"IPC_DELIVER carries its target's pid", test_deliver_target},
    {"IPC_KEY carries a session's credentials to the feed", test_key},
    {"Last-Event-ID values are parsed strictly", test_event_id_parse},
    {"create and destroy", test_create_destroy},
    {"round trip of every type and size", test_round_trip},
    {"bad sends: EMSGSIZE, EINVAL", test_bad_sends},
    {"a full channel is EAGAIN", test_full_channel},
    {"malformed datagrams are dropped", test_malformed},
    {"a child process sends, order kept", test_cross_process},
    {"two senders, each in order", test_two_senders},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ipc", suite_init, suite_clean, NULL, NULL, ipc_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
