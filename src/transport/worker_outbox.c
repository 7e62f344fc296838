/*
 * worker_outbox.c - messages this worker sends to other workers' streams
 * (outputs and end markers), queued while a peer's channel is full. See
 * worker_int.h for the room's place and its contract.
 *
 * An executor never waits for a peer: when a peer already has messages
 * queued, or its channel answers EAGAIN, the message is copied to the
 * peer's queue (in order: a stream's outputs and its end stay in the order
 * they were sent), and the main loop sends the queues once the channels
 * are writable again. The queues together hold at most OUTBOX_MAX_BYTES of
 * payload and OUTBOX_MAX_MSGS messages; a message beyond that is refused
 * with a log line (the stream it was for then ends at its deadline, as a
 * client's broken stream would).
 *
 * It also answers whether a peer runs (outbox_peer_alive): the channels
 * outlive their workers (the supervisor keeps both ends), so a message to
 * a dead worker is not refused but waits for its replacement; the sender
 * asks first.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker_int.h"

/* One queued message; msg follows the record. */
struct outbox_msg {
    struct outbox_msg *next;
    uint32_t slot, gen;
    uint64_t stream;
    int end; /* an end marker (no payload) */
    size_t len;
    char msg[];
};

/* Sends one message to peer now. Returns 0, or -1 with errno. */
static int
send_now(struct worker *w, int peer, const struct ipc_output *m, int end)
{
    if (end == OUT_END_QUIET)
        return ipc_send_end_quiet(w->env->ipc, peer, m->slot, m->gen,
                                  m->stream);
    return end ? ipc_send_end(w->env->ipc, peer, m->slot, m->gen, m->stream)
               : ipc_send_output(w->env->ipc, peer, m);
}

int
outbox_init(struct worker *w)
{
    struct worker_outbox *o = &w->outbox;
    int n = w->set->workers > 0 ? w->set->workers : 1;

    memset(o, 0, sizeof(*o));
    o->npeers = n;
    o->wake_fd = -1;
    if (pthread_mutex_init(&o->lock, NULL) != 0)
        return -1;
    o->head = calloc((size_t)n, sizeof(*o->head));
    o->tail = calloc((size_t)n, sizeof(*o->tail));
    o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return o->head != NULL && o->tail != NULL && o->wake_fd >= 0 ? 0 : -1;
}

/* Drops peer k's queue (the lock held). */
static void
drop_queue_locked(struct worker_outbox *o, int k)
{
    while (o->head[k] != NULL) {
        struct outbox_msg *q = o->head[k];
        o->head[k] = q->next;
        o->bytes -= q->len;
        o->count--;
        secure_wipe(q->msg, q->len);
        free(q);
    }
    o->tail[k] = NULL;
}

void
outbox_fini(struct worker *w)
{
    struct worker_outbox *o = &w->outbox;

    for (int k = 0; o->head != NULL && k < o->npeers; k++)
        drop_queue_locked(o, k);
    if (o->count > 0)
        log_warnx("%zu queued message%s for other workers dropped at exit",
                  o->count, o->count == 1 ? "" : "s");
    free(o->head);
    free(o->tail);
    if (o->wake_fd >= 0)
        close(o->wake_fd);
    pthread_mutex_destroy(&o->lock);
}

/* Appends a copy of m to peer's queue (the lock held). Returns 0, or -1
 * with errno ENOBUFS at the cap or ENOMEM. */
static int
enqueue_locked(struct worker_outbox *o, int peer, const struct ipc_output *m,
               int end)
{
    size_t len = end || m->msg == NULL ? 0 : m->len;
    struct outbox_msg *q;

    if (o->count >= OUTBOX_MAX_MSGS || len > OUTBOX_MAX_BYTES - o->bytes) {
        errno = ENOBUFS;
        return -1;
    }
    q = malloc(sizeof(*q) + len);
    if (q == NULL)
        return -1;
    q->next = NULL;
    q->slot = m->slot;
    q->gen = m->gen;
    q->stream = m->stream;
    q->end = end;
    q->len = len;
    if (len > 0)
        memcpy(q->msg, m->msg, len);
    if (o->tail[peer] != NULL)
        o->tail[peer]->next = q;
    else
        o->head[peer] = q;
    o->tail[peer] = q;
    o->bytes += len;
    o->count++;
    return 0;
}

int
outbox_send(struct worker *w, int peer, const struct ipc_output *m, int end)
{
    struct worker_outbox *o = &w->outbox;
    uint64_t one = 1;
    int rc;

    if (peer < 0 || peer >= o->npeers) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&o->lock);
    if (o->head[peer] == NULL) {
        rc = send_now(w, peer, m, end);
        if (rc == 0 || errno != EAGAIN) {
            pthread_mutex_unlock(&o->lock);
            return rc;
        }
    }
    rc = enqueue_locked(o, peer, m, end);
    int why = errno;
    size_t count = o->count, bytes = o->bytes;
    pthread_mutex_unlock(&o->lock);
    if (rc == 0 && write(o->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("outbox: eventfd");
    if (rc < 0 && why == ENOBUFS)
        log_warnx("a message for worker %d was refused: %zu messages (%zu "
                  "bytes) already wait for full channels (the outbox cap)",
                  peer, count, bytes);
    errno = why;
    return rc;
}

/* Sends what peer k's channel takes now (the lock held). Returns the
 * messages sent or dropped. */
static int
flush_peer_locked(struct worker *w, int k)
{
    struct worker_outbox *o = &w->outbox;
    int done = 0;

    while (o->head[k] != NULL) {
        struct outbox_msg *q = o->head[k];
        struct ipc_output m = {q->slot, q->gen, q->stream, q->msg, q->len, 0};
        if (send_now(w, k, &m, q->end) < 0) {
            if (errno == EAGAIN)
                break;
            log_warn("could not pass a queued message to worker %d", k);
        }
        o->head[k] = q->next;
        if (o->head[k] == NULL)
            o->tail[k] = NULL;
        o->bytes -= q->len;
        o->count--;
        secure_wipe(q->msg, q->len);
        free(q);
        done++;
    }
    return done;
}

void
outbox_flush(struct worker *w)
{
    struct worker_outbox *o = &w->outbox;
    uint64_t n;
    int progress = 0;

    if (read(o->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("outbox: eventfd");
    pthread_mutex_lock(&o->lock);
    for (int k = 0; k < o->npeers; k++)
        progress += flush_peer_locked(w, k);
    /* A channel that polls writable and still refuses (the kernel short of
     * memory for a large datagram) is retried after a pause, not spun on. */
    o->retry_ms = o->count > 0 && progress == 0 ? mono_ms() + 10 : 0;
    pthread_mutex_unlock(&o->lock);
}

int
outbox_poll_fds(struct worker *w, struct pollfd *pf, int max, int *timeout_ms)
{
    struct worker_outbox *o = &w->outbox;
    int n = 0;

    pthread_mutex_lock(&o->lock);
    int64_t wait = o->retry_ms - mono_ms();
    if (o->count > 0 && wait > 0) {
        if (wait < *timeout_ms)
            *timeout_ms = (int)wait;
    } else {
        for (int k = 0; k < o->npeers && n < max; k++) {
            if (o->head[k] == NULL)
                continue;
            pf[n].fd = ipc_tx_fd(w->env->ipc, k);
            pf[n].events = POLLOUT;
            pf[n].revents = 0;
            n++;
        }
    }
    pthread_mutex_unlock(&o->lock);
    return n;
}

/* Whether process p has exited, reaped or not: gone (ESRCH), or a zombie
 * waiting for the supervisor (state Z or X in /proc/p/stat). Read from
 * /proc rather than through a pidfd, which valgrind cannot follow. */
static int
process_exited(pid_t p)
{
    char path[64], buf[256];
    ssize_t n;
    int fd;

    if (kill(p, 0) < 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)p);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* "pid (comm) S ...": the state follows the last ')' */
    const char *end = strrchr(buf, ')');
    return end != NULL && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

/* See worker_int.h. A process that exited counts as dead even before the
 * supervisor reaps it and clears the registry's pid. */
int
outbox_peer_alive(struct worker *w, int peer, pid_t *pid)
{
    pid_t p = reg_worker_pid(w->env->reg, peer);

    if (pid != NULL)
        *pid = p;
    return p > 0 && !process_exited(p);
}
