/*
 * stdio_transport.c - see stdio_transport.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bnc.h"
#include "dbuf.h"
#include "log.h"
#include "stdio_transport.h"
#include "util.h"

struct line {
    struct line *next;
    size_t len;
    char text[];
};

#define NOTIFY_TICK_MS         25   /* the notifier polls this often */
#define NOTIFY_INTERVAL_DEF_MS 1000 /* without stdio_options */

struct stdio_ctx {
    struct mcp_session sess;
    int out_fd;
    atomic_int out_failed;
    pthread_mutex_t out_lock; /* one whole line at a time on out_fd */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct line *head, *tail;
    int eof;
    /* the notifier (only when the server offers subscriptions) */
    int64_t notify_interval_ms;
    pthread_t notifier;
    int notifier_started;
    pthread_mutex_t nlock;
    pthread_cond_t nwake; /* CLOCK_MONOTONIC */
    int notifier_stopping;
};

/* The session's sink: one message per line. The executor and the notifier
 * write; the lock keeps each line whole. */
static int
stdio_sink(void *arg, const char *msg, size_t len)
{
    struct stdio_ctx *ctx = arg;
    int rc = 0;

    pthread_mutex_lock(&ctx->out_lock);
    if (atomic_load(&ctx->out_failed)) {
        rc = -1;
    } else if (write_all(ctx->out_fd, msg, len) < 0 ||
               write_all(ctx->out_fd, "\n", 1) < 0) {
        atomic_store(&ctx->out_failed, 1);
        log_warn("stdout");
        rc = -1;
    }
    pthread_mutex_unlock(&ctx->out_lock);
    return rc;
}

static void
queue_push(struct stdio_ctx *ctx, const char *text, size_t len)
{
    struct line *l = malloc(sizeof(*l) + len + 1);
    if (l == NULL) {
        log_error("out of memory: a message was dropped");
        return;
    }
    l->next = NULL;
    l->len = len;
    memcpy(l->text, text, len);
    l->text[len] = '\0';
    pthread_mutex_lock(&ctx->qlock);
    if (ctx->tail != NULL)
        ctx->tail->next = l;
    else
        ctx->head = l;
    ctx->tail = l;
    pthread_cond_signal(&ctx->qcond);
    pthread_mutex_unlock(&ctx->qlock);
}

static void *
executor_main(void *arg)
{
    struct stdio_ctx *ctx = arg;
    for (;;) {
        pthread_mutex_lock(&ctx->qlock);
        while (ctx->head == NULL && !ctx->eof)
            pthread_cond_wait(&ctx->qcond, &ctx->qlock);
        struct line *l = ctx->head;
        if (l != NULL) {
            ctx->head = l->next;
            if (ctx->head == NULL)
                ctx->tail = NULL;
        }
        pthread_mutex_unlock(&ctx->qlock);
        if (l == NULL)
            break; /* end of input and the queue is empty */
        if (!atomic_load(&ctx->out_failed))
            mcp_handle_message(&ctx->sess, l->text, l->len);
        secure_wipe(l->text, l->len); /* it may have carried credentials */
        free(l);
    }
    bnc_thread_cleanup();
    return NULL;
}

/* Hands one complete input line over (blank lines are skipped). */
static void
take_line(struct stdio_ctx *ctx, const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    /* A cancel, or an answer to a server request, must not wait behind
     * the request it concerns. */
    if (mcp_session_intercept(&ctx->sess, text, len))
        return;
    queue_push(ctx, text, len);
}

/* Reads the input until EOF; splits it into lines. A line longer than
 * STDIO_LINE_MAX is answered with a parse error and skipped. */
static void
read_input(struct stdio_ctx *ctx, int in_fd)
{
    struct dbuf line;
    char chunk[65536];
    int overlong = 0;

    dbuf_init(&line, STDIO_LINE_MAX);
    for (;;) {
        ssize_t n = read(in_fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        const char *p = chunk, *end = chunk + n;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = (size_t)((nl ? nl : end) - p);
            if (!overlong && dbuf_append(&line, p, take) < 0) {
                overlong = 1;
                dbuf_reset(&line);
            }
            p += take;
            if (nl == NULL)
                break;
            p++;
            if (overlong) {
                log_warnx("stdin: a message over %u bytes was discarded",
                          STDIO_LINE_MAX);
                /* An unparseable message: the engine answers -32700. */
                queue_push(ctx, "{", 1);
                overlong = 0;
            } else {
                take_line(ctx, dbuf_str(&line), line.len);
            }
            dbuf_reset(&line);
        }
    }
    if (line.len > 0)
        take_line(ctx, dbuf_str(&line), line.len);
    dbuf_wipe(&line);
    secure_wipe(chunk, sizeof(chunk));
}

/* ---- the notifier: pushed resource updates ---- */

static void *
notifier_main(void *arg)
{
    struct stdio_ctx *ctx = arg;
    struct timespec ts;

    pthread_mutex_lock(&ctx->nlock);
    while (!ctx->notifier_stopping) {
        pthread_mutex_unlock(&ctx->nlock);
        /* A failed send leaves the update due; the output is gone then
         * anyway, and the input's end stops this thread. */
        if (!atomic_load(&ctx->out_failed) &&
            mcp_session_subscriptions(&ctx->sess) > 0)
            mcp_session_poll_subscriptions(
                &ctx->sess, now_ms(), ctx->notify_interval_ms, stdio_sink, ctx);
        pthread_mutex_lock(&ctx->nlock);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += NOTIFY_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!ctx->notifier_stopping)
            pthread_cond_timedwait(&ctx->nwake, &ctx->nlock, &ts);
    }
    pthread_mutex_unlock(&ctx->nlock);
    return NULL;
}

/* Starts the notifier when the server offers subscriptions; a failure is
 * logged and the session goes on without pushed updates. */
static void
notifier_start(struct stdio_ctx *ctx, const struct mcp_server *srv)
{
    pthread_condattr_t ca;

    if (!mcp_server_subscriptions(srv))
        return;
    pthread_mutex_init(&ctx->nlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ctx->nwake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&ctx->notifier, NULL, notifier_main, ctx) != 0) {
        log_error("notifier: cannot start a thread; no resource updates");
        pthread_cond_destroy(&ctx->nwake);
        pthread_mutex_destroy(&ctx->nlock);
        return;
    }
    ctx->notifier_started = 1;
}

/* Stops and joins the notifier (before the session finishes). */
static void
notifier_stop(struct stdio_ctx *ctx)
{
    if (!ctx->notifier_started)
        return;
    pthread_mutex_lock(&ctx->nlock);
    ctx->notifier_stopping = 1;
    pthread_cond_signal(&ctx->nwake);
    pthread_mutex_unlock(&ctx->nlock);
    pthread_join(ctx->notifier, NULL);
    pthread_cond_destroy(&ctx->nwake);
    pthread_mutex_destroy(&ctx->nlock);
    ctx->notifier_started = 0;
}

int
stdio_serve(struct mcp_server *srv, int in_fd, int out_fd,
            const struct stdio_options *opts)
{
    struct stdio_ctx ctx;
    pthread_t exec;

    memset(&ctx, 0, sizeof(ctx));
    ctx.out_fd = out_fd;
    ctx.notify_interval_ms =
        opts != NULL ? opts->notify_interval_ms : NOTIFY_INTERVAL_DEF_MS;
    pthread_mutex_init(&ctx.out_lock, NULL);
    pthread_mutex_init(&ctx.qlock, NULL);
    pthread_cond_init(&ctx.qcond, NULL);
    mcp_session_init(&ctx.sess, srv, "stdio", stdio_sink, &ctx);
    if (pthread_create(&exec, NULL, executor_main, &ctx) != 0) {
        log_error("cannot start the executor thread");
        mcp_session_finish(&ctx.sess);
        pthread_mutex_destroy(&ctx.out_lock);
        return -1;
    }
    notifier_start(&ctx, srv);
    read_input(&ctx, in_fd);
    pthread_mutex_lock(&ctx.qlock);
    ctx.eof = 1;
    pthread_cond_signal(&ctx.qcond);
    pthread_mutex_unlock(&ctx.qlock);
    pthread_join(exec, NULL);
    notifier_stop(&ctx);
    int failed = atomic_load(&ctx.out_failed);
    mcp_session_finish(&ctx.sess);
    pthread_mutex_destroy(&ctx.out_lock);
    pthread_mutex_destroy(&ctx.qlock);
    pthread_cond_destroy(&ctx.qcond);
    return failed ? -1 : 0;
}
