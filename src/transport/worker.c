/*
 * worker.c - one HTTP worker process of --mode sse: the process loop. See
 * worker.h for the contract, worker_int.h for the rooms of the worker and
 * the transport rules in binmcpd(8).
 *
 * Owns the process: start-up (the rooms, the credentials copy, the daemon's
 * hooks (see struct worker_hooks), libmicrohttpd on the supervisor's socket),
 * the main thread's loop and the end. The main thread polls signals, the
 * worker's IPC channel, the supervisor's pipe and the streams' hang-up watch;
 * it dispatches each IPC message to the room it is for, and once a second sends
 * keep-alives and sweeps expired sessions. A stop signal or the supervisor's
 * death drains: stop accepting, end the streams with a retry hint, wait for
 * them (bounded), stop the executors.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"
#include "util.h"
#include "worker_int.h"

/* ------------------------------------------------------------------ */
/* IPC dispatch                                                        */

/* IPC_CREDS: the supervisor re-read the credentials (SIGHUP): the next
 * signed call of every session without its own credentials uses them.
 * Sessions and streams are untouched; a malformed message changes
 * nothing. */
static void
update_creds(struct worker *w, const struct ipc_hdr *h, char *payload)
{
    struct creds next;
    int rc = ipc_read_creds(h, payload, &next);

    pthread_rwlock_wrlock(&w->creds_lock);
    if (rc < 0) {
        log_warnx("a malformed credentials message was ignored");
    } else if (!next.set) {
        creds_wipe(&w->creds);
        log_info("daemon credentials removed");
    } else {
        char masked[32];
        memcpy(&w->creds, &next, sizeof(w->creds));
        creds_mask(w->creds.key, masked, sizeof(masked));
        log_info("daemon credentials replaced: key %s (%s)", masked,
                 creds_env_name(w->creds.env));
    }
    pthread_rwlock_unlock(&w->creds_lock);
    creds_wipe(&next);
}

/* IPC_TLS: SIGHUP brought a new certificate: new handshakes use it at
 * once. A malformed or refused one is logged and changes nothing. */
static void
update_tls(const struct ipc_hdr *h, const char *payload)
{
    char err[256];
    const char *cert, *key;

    if (ipc_read_tls(h, payload, &cert, &key) < 0) {
        log_warnx("a malformed certificate message was ignored");
        return;
    }
    if (tls_install(cert, key, err, sizeof(err)) < 0)
        log_warnx("new certificate refused: %s", err);
    else
        log_info("HTTPS certificate replaced");
}

/* IPC_DELIVER: a client message for one of our sessions.
 *
 * A message sent to this worker's predecessor, which died before reading
 * it (the channel outlives it), is dropped: its sender told the client
 * that the outcome is unknown ("check get_open_orders"), so running it now
 * could place an order the client has already placed again. Its waiting
 * POST stream in the sender is ended (the same "outcome unknown" error).
 *
 * A message for a session we do not have otherwise raced with an
 * adoption: it goes to the session's owner now, adopted here when that one
 * is dead too. When the session is gone, a waiting POST stream in the
 * sender is ended (its requests get an error there). */
static void
deliver_from_ipc(struct worker *w, const struct ipc_hdr *h, const char *payload)
{
    struct ipc_deliver m;

    if (ipc_read_deliver(h, payload, &m) < 0)
        return;
    struct reg_ref ref = {m.slot, m.gen};
    struct ipc_output end = {m.slot, m.gen, m.reply_stream, NULL, 0, 0};
    if (m.target_pid > 0 && m.target_pid != getpid()) {
        log_warnx("dropped a message sent to this worker's predecessor "
                  "(pid %d): its sender reported its outcome unknown",
                  (int)m.target_pid);
        if (m.reply_worker >= 0)
            outbox_send(w, m.reply_worker, &end, OUT_END);
        return;
    }
    int rc =
        jobs_deliver_here(w, ref, m.msg, m.len, m.reply_worker, m.reply_stream);
    if (rc < 0 && errno == ENOENT) {
        int owner = jobs_owner(w, ref);
        if (owner >= 0)
            rc = jobs_deliver(w, ref, owner, m.msg, m.len, m.reply_worker,
                              m.reply_stream);
    }
    if (rc < 0 && m.reply_worker >= 0)
        outbox_send(w, m.reply_worker, &end, 1);
}

/* Hands one message to the room it is for. payload (h->len bytes and a
 * NUL) is w->ipc_buf; the caller wipes it afterwards. */
static void
dispatch_ipc(struct worker *w, const struct ipc_hdr *h, char *payload)
{
    struct ipc_output out;
    struct ipc_resume res;

    switch (h->type) {
    case IPC_CREDS:
        update_creds(w, h, payload);
        break;
    case IPC_TLS:
        update_tls(h, payload);
        break;
    case IPC_DELIVER:
        deliver_from_ipc(w, h, payload);
        break;
    case IPC_RESUME:
        if (ipc_read_resume(h, payload, &res) == 0)
            stream_resume_for(w, &res);
        break;
    case IPC_OUTPUT:
        if (ipc_read_output(h, payload, &out) == 0)
            stream_output(w, out.stream, out.msg, out.len, 0);
        break;
    case IPC_END:
        if (ipc_read_end(h, &out) == 0)
            stream_output(w, out.stream, NULL, 0,
                          out.quiet ? OUT_END_QUIET : OUT_END);
        break;
    default:
        break; /* ipc_recv lets no other type through */
    }
}

/* Reads and dispatches every message waiting on the worker's channel. */
static void
handle_ipc(struct worker *w)
{
    struct ipc_hdr h;
    int rx = ipc_rx_fd(w->env->ipc, w->env->index);
    int rc;

    while ((rc = ipc_recv(rx, &h, w->ipc_buf, IPC_PAYLOAD_MAX + 1)) != 0) {
        if (rc < 0 && errno == EBADMSG)
            continue; /* dropped and logged by ipc_recv */
        if (rc < 0)
            break;
        dispatch_ipc(w, &h, w->ipc_buf);
        secure_wipe(w->ipc_buf, h.len);
    }
}

/* ------------------------------------------------------------------ */
/* The main loop                                                       */

/* Once a second: the request deadline, keep-alives when due, idle
 * expiry, and the end of local state for sessions that ended elsewhere
 * (DELETE on another worker, eviction). */
static void
tick(struct worker *w, int64_t *last_keepalive)
{
    int64_t now = mono_ms();
    int keepalive =
        now - *last_keepalive >= (int64_t)w->set->keepalive_s * 1000;

    worker_mcp_tick(w, now);
    jobs_expire_idle(w);
    pthread_mutex_lock(&w->lock);
    if (keepalive)
        *last_keepalive = now;
    stream_tick_locked(w, now, keepalive);
    jobs_sweep_locked(w);
    pthread_mutex_unlock(&w->lock);
}

/* The signals the main thread takes through a signalfd. */
static int
signals_open(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* The main loop's fixed descriptors, then the outbox's channels. */
enum { PF_SIGNAL, PF_IPC, PF_PARENT, PF_HUP, PF_OUTBOX, PF_FIXED };

/* Reads one signal: 1 for a stop signal (logged), 0 for one to ignore. */
static int
read_stop_signal(int sfd)
{
    struct signalfd_siginfo si;

    if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return 0;
    if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1 ||
        si.ssi_signo == SIGUSR2)
        return 0;
    log_info("signal %u: draining", si.ssi_signo);
    return 1;
}

/* Polls until a stop signal or the supervisor's death. pf has room for
 * PF_FIXED + the workers' channels. */
static void
main_loop(struct worker *w, int sfd, struct pollfd *pf, int npf)
{
    int64_t last_keepalive = mono_ms();
    int64_t last_tick = mono_ms();

    pf[PF_SIGNAL] = (struct pollfd){sfd, POLLIN, 0};
    pf[PF_IPC] =
        (struct pollfd){ipc_rx_fd(w->env->ipc, w->env->index), POLLIN, 0};
    pf[PF_PARENT] = (struct pollfd){w->env->parent_fd, POLLIN, 0};
    pf[PF_HUP] = (struct pollfd){w->streams.hup_fd, POLLIN, 0};
    pf[PF_OUTBOX] = (struct pollfd){w->outbox.wake_fd, POLLIN, 0};
    for (;;) {
        int timeout = 250;
        int nout = outbox_poll_fds(w, pf + PF_FIXED, npf - PF_FIXED, &timeout);
        int n = poll(pf, (nfds_t)(PF_FIXED + nout), timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[PF_SIGNAL].revents & POLLIN && read_stop_signal(sfd))
            return;
        if (pf[PF_PARENT].revents & (POLLIN | POLLHUP) ||
            getppid() != w->env->parent_pid) {
            log_warnx("the supervisor is gone; stopping");
            return;
        }
        if (pf[PF_IPC].revents & POLLIN)
            handle_ipc(w);
        if (pf[PF_HUP].revents & POLLIN)
            stream_handle_hangups(w);
        if (n == 0 || pf[PF_OUTBOX].revents & POLLIN || nout > 0)
            outbox_flush(w);
        if (mono_ms() - last_tick >= 1000) {
            last_tick = mono_ms();
            tick(w, &last_keepalive);
        }
    }
}

/* Stops accepting, ends every stream, waits for them (bounded), stops the
 * executors. Returns 0 when everything closed in time. */
static int
drain(struct worker *w)
{
    int64_t deadline = mono_ms() + (int64_t)w->set->drain_s * 1000;
    MHD_socket fd = MHD_quiesce_daemon(w->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd); /* our copy only: the supervisor keeps its own */
    size_t left = stream_close_all(w);
    while (left > 0 && mono_ms() < deadline) {
        usleep(20000);
        outbox_flush(w); /* ends and outputs for other workers' streams */
        left = stream_count(w);
    }
    notify_stop(w);
    jobs_stop(w);
    return left == 0 ? 0 : -1;
}

/* Each stream holds a descriptor: take the hard limit. */
static void
raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* libmicrohttpd's own messages, in our log format. */
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char text[512];

    (void)cls;
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = '\0';
    log_debug("libmicrohttpd: %s", text);
}

/* The most connections libmicrohttpd may hold: streams are limited by
 * the registry and slow clients by request_timeout and the per-address
 * limit, so this only keeps a margin of descriptors for everything else
 * (IPC, the exchange, the journal). */
static unsigned
connection_limit(const struct worker *w)
{
    struct rlimit rl;
    rlim_t fds = 1024;
    unsigned floor = (unsigned)w->set->max_connections + 64, lim;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        fds = rl.rlim_cur;
    if (fds == RLIM_INFINITY || fds > 1048576)
        fds = 1048576;
    lim = fds > 1024 ? (unsigned)fds - 256 : (unsigned)fds / 2;
    return lim > floor ? lim : floor;
}

/* Starts MHD on the shared socket, with the certificate when HTTPS is on.
 * Returns 0, or -1 (logged when the certificate is refused). */
static int
start_http(struct worker *w)
{
    unsigned limit = connection_limit(w);
    int tls = w->env->tls_cert_pem != NULL && w->env->tls_key_pem != NULL;
    char err[256];
    /* The certificate comes from a callback, so that SIGHUP can replace it
     * without restarting the worker. */
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, 0,
         (void *)(uintptr_t)tls_cert_callback},
        {MHD_OPTION_END, 0, NULL},
    };
    if (tls && tls_install(w->env->tls_cert_pem, w->env->tls_key_pem, err,
                           sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    w->mhd = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0),
        0, worker_mcp_accept, w, worker_mcp_request, w, MHD_OPTION_ARRAY,
        tls_opts, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)w->env->listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, w, MHD_OPTION_NOTIFY_COMPLETED,
        worker_mcp_completed, w, MHD_OPTION_NOTIFY_CONNECTION,
        worker_mcp_connection, w, MHD_OPTION_END);
    return w->mhd != NULL ? 0 : -1;
}

int
worker_run(const struct worker_env *env)
{
    /* Static storage, but reached only through w: when drain() misses its
     * deadline, libmicrohttpd's and the executors' threads still use the
     * worker after this returns, until the process exits. */
    static struct worker worker;
    struct worker *w = &worker;
    int sfd, status = WORKER_EXIT_OK;

    memset(w, 0, sizeof(*w));
    w->env = env;
    w->set = env->settings;
    pthread_mutex_init(&w->lock, NULL);
    int jobs_rc = jobs_init(w);
    w->ipc_buf = malloc(IPC_PAYLOAD_MAX + 1);
    int streams_rc = stream_init(w, jobs_main_closed);
    int outbox_rc = outbox_init(w);
    int npf = PF_FIXED + w->outbox.npeers;
    struct pollfd *pf = calloc((size_t)npf, sizeof(*pf));
    pthread_rwlock_init(&w->creds_lock, NULL);
    memcpy(&w->creds, &env->settings->creds, sizeof(w->creds));
    if (env->hooks.start != NULL)
        env->hooks.start(env->hooks.arg, env->index, &w->creds, &w->creds_lock);
    raise_fd_limit();
    if (jobs_rc < 0 || w->ipc_buf == NULL || streams_rc < 0 || outbox_rc < 0 ||
        pf == NULL || (sfd = signals_open()) < 0) {
        log_error("cannot set up");
        return WORKER_EXIT_CRASH;
    }
    notify_start(w); /* without it: no pushed updates, logged */
    if (jobs_start(w) == 0 || start_http(w) < 0) {
        log_error("cannot start the HTTP server");
        return WORKER_EXIT_CRASH;
    }
    log_info("serving");
    main_loop(w, sfd, pf, npf);
    if (drain(w) < 0) {
        /* MHD may not be stopped while streams are suspended: leave the
         * rest to process exit. */
        log_warnx("streams still open at the deadline");
        return WORKER_EXIT_OK;
    }
    MHD_stop_daemon(w->mhd);
    tls_release_all();
    jobs_finish(w);
    free(w->ipc_buf);
    stream_fini(w);
    outbox_fini(w);
    free(pf);
    close(sfd);
    if (env->hooks.stop != NULL)
        env->hooks.stop(env->hooks.arg);
    creds_wipe(&w->creds);
    log_info("stopped");
    return status;
}
