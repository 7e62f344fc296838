/*
 * supervisor.c - the prefork supervisor of --mode sse. See supervisor.h.
 *
 * The supervisor owns the listening socket, the session registry, the IPC
 * channels and the write end of the "alive" pipe; it forks the workers and
 * otherwise stays out of their way (PostgreSQL's rule: it creates shared
 * memory but never takes the registry's lock except to reap a dead worker's
 * sessions, so it can survive any worker's crash).
 *
 * Signals are blocked and read from a signalfd; the loop poll()s it with a
 * timeout set by the earliest pending respawn. No threads, ever: workers are
 * forked from this process.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "bnc.h"
#include "daemon.h"
#include "guard.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "tls.h"
#include "tools.h"
#include "registry.h"
#include "supervisor.h"
#include "util.h"
#include "worker.h"

#define SUP_BACKLOG        (SOMAXCONN > 1024 ? SOMAXCONN : 1024)
#define SUP_SHORT_LIFE_MS  10000 /* a worker that died younger backs off */
#define SUP_BACKOFF_MIN_MS 100
#define SUP_BACKOFF_MAX_MS 2000

/* One worker slot. */
struct sup_slot {
    pid_t pid;             /* 0: no worker in the slot */
    int64_t started_ms;    /* mono_ms() at fork */
    int quick_crashes;     /* short-lived deaths in a row: the backoff step */
    int spawn_pending;     /* the slot waits to be (re)filled ... */
    int64_t next_spawn_ms; /* ... at this mono_ms() */
    int respawn;           /* the next fork replaces a dead worker */
};

struct sup {
    struct settings cur;      /* the settings in force (SIGHUP replaces) */
    const struct settings *s; /* &cur */
    struct mcp_server *srv;
    pid_t pid;
    int nworkers;
    struct sup_slot *slot;
    int listen_fd;
    int sig_fd;
    sigset_t old_mask; /* the mask before we blocked; workers get it back */
    int alive[2];      /* [0]: workers poll it; [1]: only we hold it */
    struct registry *reg;
    struct ipc ipc;
    int have_ipc;
    unsigned ncrashes; /* worker deaths ever (for the log) */
    int stopping;
    int status; /* the exit status once stopping */
    /* operations, shared with the workers; NULL when off */
    struct auth_tokens *auth;
    struct ratelimit *rl;
    struct conn_limit *conns;
    struct upstream_budget *ub;
    struct metrics *metrics;
    char *cert_pem, *key_pem;
};

/* The signals the supervisor takes through its signalfd. */
static const int sup_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD};
#define SUP_NSIGNALS (sizeof(sup_signals) / sizeof(sup_signals[0]))

/* ---- start-up: signals, socket, pipe ---- */

/* The name of one of sup_signals, for the log. */
static const char *
sup_signal_name(int sig)
{
    switch (sig) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "SIGCHLD";
    }
}

/* Blocks the supervisor's signals (saving the old mask) and opens a
 * signalfd for them. Dispositions are set to the default first: an ignored
 * SIGCHLD would reap children behind our back. Returns 0 or -1. */
static int
sup_signals_open(struct sup *sup)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < SUP_NSIGNALS; i++) {
        signal(sup_signals[i], SIG_DFL);
        sigaddset(&set, sup_signals[i]);
    }
    if (sigprocmask(SIG_BLOCK, &set, &sup->old_mask) < 0) {
        log_warn("sigprocmask");
        return -1;
    }
    sup->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sup->sig_fd < 0) {
        log_warn("signalfd");
        return -1;
    }
    return 0;
}

/* Formats fd's local address as "ADDR:PORT" ("[ADDR]:PORT" for IPv6). */
static void
sup_format_local(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
            port = ntohs(a6->sin6_port);
            snprintf(buf, len, "[%s]:%d", host, port);
            return;
        }
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
        port = ntohs(a4->sin_port);
    }
    snprintf(buf, len, "%s:%d", host, port);
}

/* Creates, binds and listens on settings->bind:port (a numeric IPv4 or IPv6
 * address). Returns the descriptor (non-blocking, close-on-exec), or -1
 * after logging why. */
static int
sup_listen(const struct settings *s)
{
    struct addrinfo hints, *ai = NULL;
    char port[16];
    int fd, one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", s->port);
    rc = getaddrinfo(s->bind, port, &hints, &ai);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", s->bind, s->port,
                  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                ai->ai_protocol);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, SUP_BACKLOG) < 0) {
        log_error("cannot listen on %s:%d: %s", s->bind, s->port,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The engine reports every tool call here (any worker, any thread). */
static void
sup_observe_tool(void *arg, const char *tool, int ok, double seconds)
{
    metrics_tool_call(arg, tool, ok, seconds);
}

/* Before each Binance request: take its weight from the budget that all
 * workers share, so that together they stay under Binance's limit. */
static int
sup_before_send(void *arg, const char *method, const char *path,
                const char *query, long *wait_ms)
{
    struct sup *sup = arg;
    return ub_take(sup->ub, ub_request_weight(method, path, query), now_ms(),
                   wait_ms)
               ? 0
               : -1;
}

/* After each Binance answer: follow its weight header, stop every worker
 * on 429/418, and count errors. */
static void
sup_after_exchange(void *arg, const struct bnc_response *r, int64_t sent_ms)
{
    struct sup *sup = arg;

    ub_observe(sup->ub, r->used_weight, sent_ms);
    metrics_upstream_weight(sup->metrics, r->used_weight);
    if (r->status == BNC_ERR_RATE_LIMITED || r->status == BNC_ERR_BANNED)
        ub_hold(sup->ub,
                now_ms() + (r->retry_after > 0 ? r->retry_after : 60) * 1000);
    if (r->status != BNC_OK && r->status != BNC_ERR_CANCELLED &&
        r->status != BNC_ERR_INTERNAL && r->status != BNC_ERR_NO_CREDENTIALS)
        metrics_upstream_error(sup->metrics, (int)r->http_status, r->api_code);
}

/* Loads what the operations settings ask for: tokens, TLS, the rate limit,
 * the metrics and the upstream budget, all before any fork so that the
 * workers share them. Returns 0 or -1 after logging why. */
static int
sup_setup_operations(struct sup *sup)
{
    const struct settings *s = sup->s;
    char err[512];
    size_t n = tool_count();
    const char **names = calloc(n ? n : 1, sizeof(*names));

    if (names == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        names[i] = tool_at(i)->name;
    sup->metrics = metrics_create(names, n, err, sizeof(err));
    free(names);
    if (sup->metrics == NULL ||
        (sup->ub = ub_create(6000, err, sizeof(err))) == NULL)
        goto fail;
    if (s->auth_tokens_file[0] != '\0' &&
        (sup->auth = auth_load(s->auth_tokens_file, err, sizeof(err))) == NULL)
        goto fail;
    if (auth_bind_allowed(s->bind, sup->auth != NULL, s->allow_unauthenticated,
                          err, sizeof(err)) < 0)
        goto fail;
    if (s->rate_limit > 0 && (sup->rl = rl_create(s->rate_limit, s->rate_burst,
                                                  0, err, sizeof(err))) == NULL)
        goto fail;
    if (s->max_connections_per_ip > 0 &&
        (sup->conns = cl_create((unsigned)sup->nworkers,
                                (unsigned)s->max_connections_per_ip, err,
                                sizeof(err))) == NULL)
        goto fail;
    if ((s->tls_cert[0] != '\0') != (s->tls_key[0] != '\0')) {
        snprintf(err, sizeof(err), "HTTPS needs both tls_cert and tls_key");
        goto fail;
    }
    if (s->tls_cert[0] != '\0' &&
        tls_load(s->tls_cert, s->tls_key, &sup->cert_pem, &sup->key_pem, err,
                 sizeof(err)) < 0)
        goto fail;
    mcp_server_set_tool_observer(sup->srv, sup_observe_tool, sup->metrics);
    struct bnc_hooks hooks = {sup_before_send, sup_after_exchange, sup};
    bnc_set_hooks(&hooks);
    return 0;
fail:
    log_error("%s", err);
    return -1;
}

/* After the socket and the shared pieces exist, and before any worker is
 * forked: detach (--daemon: syslog, pid file) and drop privileges
 * (--user). Returns 0 or -1 after logging why. */
static int
sup_operate(struct sup *sup)
{
    char err[256];

    if (sup->s->daemonize) {
        if (daemon_detach(err, sizeof(err)) < 0) {
            log_error("%s", err);
            return -1;
        }
        sup->pid = getpid(); /* workers check getppid() against it */
        log_to_syslog("binmcpd");
        if (sup->s->pidfile[0] != '\0' &&
            pidfile_write(sup->s->pidfile, err, sizeof(err)) < 0) {
            log_error("%s", err);
            return -1;
        }
    }
    if (sup->s->user[0] != '\0' &&
        drop_privileges(sup->s->user, err, sizeof(err)) < 0) {
        log_error("%s", err);
        if (sup->s->daemonize)
            pidfile_remove(sup->s->pidfile);
        return -1;
    }
    daemon_ready();
    return 0;
}

/* Sets up everything the workers share: the socket, the registry, the IPC
 * channels and the alive pipe. Returns 0, or -1 after logging why (what
 * was created is released by sup_cleanup). */
static int
sup_setup(struct sup *sup)
{
    char err[256], where[INET6_ADDRSTRLEN + 16];

    if (sup_setup_operations(sup) < 0)
        return -1;
    sup->listen_fd = sup_listen(sup->s);
    if (sup->listen_fd < 0)
        return -1;
    sup->reg = reg_create((uint32_t)sup->s->max_sessions,
                          (uint32_t)sup->nworkers, err, sizeof(err));
    if (sup->reg == NULL) {
        log_error("cannot create the session registry: %s", err);
        return -1;
    }
    reg_set_limits(sup->reg, (uint32_t)sup->s->max_sessions_per_client,
                   (uint32_t)sup->s->max_connections);
    if (ipc_create(&sup->ipc, sup->nworkers, err, sizeof(err)) < 0) {
        log_error("cannot create the worker channels: %s", err);
        return -1;
    }
    sup->have_ipc = 1;
    if (pipe2(sup->alive, O_CLOEXEC) < 0) {
        log_warn("pipe");
        return -1;
    }
    sup_format_local(sup->listen_fd, where, sizeof(where));
    log_info("listening on %s (%d workers)", where, sup->nworkers);
    return 0;
}

/* Releases what sup_setup and sup_signals_open created. The signals stay
 * blocked: the process is about to exit, and a late SIGTERM must not kill
 * it on the way out. */
static void
sup_cleanup(struct sup *sup)
{
    if (sup->have_ipc)
        ipc_destroy(&sup->ipc);
    if (sup->reg != NULL)
        reg_destroy(sup->reg);
    for (int i = 0; i < 2; i++) {
        if (sup->alive[i] >= 0)
            close(sup->alive[i]);
    }
    if (sup->listen_fd >= 0)
        close(sup->listen_fd);
    if (sup->sig_fd >= 0)
        close(sup->sig_fd);
    settings_wipe(&sup->cur);
    bnc_set_hooks(NULL);
    auth_free(sup->auth);
    if (sup->rl != NULL)
        rl_destroy(sup->rl);
    cl_destroy(sup->conns);
    if (sup->ub != NULL)
        ub_destroy(sup->ub);
    if (sup->metrics != NULL)
        metrics_destroy(sup->metrics);
    if (sup->cert_pem != NULL || sup->key_pem != NULL)
        tls_free_pem(sup->cert_pem, sup->key_pem);
    free(sup->slot);
}

/* ---- workers: spawn ---- */

/* The child side of a fork: die with the supervisor, drop what is only the
 * supervisor's, hand the signals back, run the worker. Never returns. */
static void sup_child(struct sup *sup, int k) __attribute__((noreturn));
static void
sup_child(struct sup *sup, int k)
{
    struct worker_env env;

    /* The supervisor may have died between fork() and prctl(). */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != sup->pid)
        _exit(WORKER_EXIT_OK);
    close(sup->sig_fd);
    close(sup->alive[1]);
    for (size_t i = 0; i < SUP_NSIGNALS; i++)
        signal(sup_signals[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, &sup->old_mask, NULL);

    memset(&env, 0, sizeof(env));
    env.index = k;
    env.listen_fd = sup->listen_fd;
    env.reg = sup->reg;
    env.ipc = &sup->ipc;
    env.settings = sup->s;
    env.srv = sup->srv;
    env.parent_fd = sup->alive[0];
    env.parent_pid = sup->pid;
    env.auth = sup->auth;
    env.rl = sup->rl;
    env.conns = sup->conns;
    env.metrics = sup->metrics;
    env.tls_cert_pem = sup->cert_pem;
    env.tls_key_pem = sup->key_pem;
    _exit(worker_run(&env));
}

/* The delay before slot k may be filled again, growing with the slot's
 * short-lived deaths in a row: at once the first time, then 100 ms,
 * 200 ms, ... up to 2 s. */
static int64_t
sup_backoff_ms(struct sup_slot *w)
{
    int64_t d = w->quick_crashes == 0 ? 0 : SUP_BACKOFF_MIN_MS;

    for (int i = 1; i < w->quick_crashes && d < SUP_BACKOFF_MAX_MS; i++)
        d *= 2;
    if (w->quick_crashes < 30)
        w->quick_crashes++;
    return d < SUP_BACKOFF_MAX_MS ? d : SUP_BACKOFF_MAX_MS;
}

/* Forks the worker of slot k. A failed fork is retried later. */
static void
sup_spawn(struct sup *sup, int k)
{
    struct sup_slot *w = &sup->slot[k];
    pid_t pid = fork();

    if (pid < 0) {
        int64_t delay = sup_backoff_ms(w);
        log_warn("worker %d: fork failed, retrying in %lld ms", k,
                 (long long)delay);
        w->next_spawn_ms = mono_ms() + delay;
        return;
    }
    if (pid == 0)
        sup_child(sup, k);
    w->pid = pid;
    w->started_ms = mono_ms();
    w->spawn_pending = 0;
    reg_worker_set(sup->reg, k, pid);
    if (w->respawn)
        reg_count_restart(sup->reg);
    w->respawn = 0;
    log_info("worker %d started (pid %d)", k, (int)pid);
}

/* Forks every slot whose respawn time has come. */
static void
sup_spawn_due(struct sup *sup)
{
    int64_t now = mono_ms();

    for (int k = 0; k < sup->nworkers && !sup->stopping; k++) {
        if (sup->slot[k].spawn_pending && sup->slot[k].next_spawn_ms <= now)
            sup_spawn(sup, k);
    }
}

/* The poll() timeout until the next pending spawn, or -1 for none. */
static int
sup_poll_timeout(const struct sup *sup)
{
    int64_t now = mono_ms(), t = -1;

    for (int k = 0; k < sup->nworkers; k++) {
        const struct sup_slot *w = &sup->slot[k];
        if (!w->spawn_pending)
            continue;
        int64_t d = w->next_spawn_ms > now ? w->next_spawn_ms - now : 0;
        if (t < 0 || d < t)
            t = d;
    }
    return (int)t;
}

/* ---- workers: reap ---- */

/* Describes a wait() status: "exit status N" or "killed by signal N (...)". */
static void
sup_describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status)) {
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)),
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, len, "wait status 0x%x", (unsigned)status);
    }
}

/* Starts stopping the daemon with exit status rc (the first reason wins). */
static void
sup_request_stop(struct sup *sup, int rc)
{
    if (sup->stopping)
        return;
    sup->stopping = 1;
    sup->status = rc;
}

/* Worker k died unexpectedly: free its sessions, then schedule its
 * replacement. However often workers die (the OOM killer, an operator, a
 * bug), the daemon keeps replacing them, backing off up to
 * SUP_BACKOFF_MAX_MS; only a worker's fatal exit at start-up (a
 * configuration that can never work) stops it. Every replacement is
 * counted in /metrics (binmcpd_worker_restarts_total). */
static void
sup_on_crash(struct sup *sup, int k, const char *how)
{
    struct sup_slot *w = &sup->slot[k];
    int64_t now = mono_ms(), delay = 0;
    int freed = reg_reap_worker(sup->reg, k);

    sup->ncrashes++;
    log_warnx("worker %d (pid %d) died: %s; %d session%s freed (%u worker "
              "deaths since start)",
              k, (int)w->pid, how, freed, freed == 1 ? "" : "s", sup->ncrashes);
    if (now - w->started_ms > SUP_SHORT_LIFE_MS)
        w->quick_crashes = 0;
    else
        delay = sup_backoff_ms(w);
    w->spawn_pending = 1;
    w->respawn = 1;
    w->next_spawn_ms = now + delay;
    if (delay > 0)
        log_info("worker %d: restarting in %lld ms", k, (long long)delay);
}

/* Acts on the death of slot k's worker with wait() status st. */
static void
sup_on_exit(struct sup *sup, int k, int st)
{
    char how[96];

    sup_describe_status(st, how, sizeof(how));
    reg_worker_set(sup->reg, k, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == WORKER_EXIT_FATAL) {
        log_error("worker %d (pid %d) failed fatally (%s): stopping", k,
                  (int)sup->slot[k].pid, how);
        sup_request_stop(sup, 2);
    } else if (sup->stopping) {
        if (WIFEXITED(st) && WEXITSTATUS(st) == WORKER_EXIT_OK)
            log_info("worker %d (pid %d) stopped", k, (int)sup->slot[k].pid);
        else
            log_warnx("worker %d (pid %d) stopped: %s", k,
                      (int)sup->slot[k].pid, how);
    } else {
        sup_on_crash(sup, k, how);
    }
    sup->slot[k].pid = 0;
}

/* The slot whose worker is pid, or -1. */
static int
sup_slot_of(const struct sup *sup, pid_t pid)
{
    for (int k = 0; k < sup->nworkers; k++) {
        if (sup->slot[k].pid == pid)
            return k;
    }
    return -1;
}

/* Reaps every child that has exited, without blocking. */
static void
sup_reap(struct sup *sup)
{
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        int k = sup_slot_of(sup, pid);
        if (k < 0) {
            log_debug("reaped unknown child %d", (int)pid);
            continue;
        }
        sup_on_exit(sup, k, st);
    }
}

/* ---- signals and the loop ---- */

/* Sends the daemon's credentials to every worker slot; a worker that is
 * being replaced reads them too (and a new one inherits them anyway). */
static void
sup_push_creds(struct sup *sup)
{
    for (int k = 0; k < sup->nworkers; k++) {
        if (ipc_send_creds(&sup->ipc, k, &sup->cur.creds) < 0)
            log_warn("SIGHUP: could not pass the credentials to worker %d", k);
    }
}

/* Whether two credential sets differ (compared in constant time). */
static int
creds_differ(const struct creds *a, const struct creds *b)
{
    if (a->set != b->set || a->env != b->env)
        return 1;
    return !ct_equal(a->key, strlen(a->key), b->key, strlen(b->key)) ||
           !ct_equal(a->secret, strlen(a->secret), b->secret,
                     strlen(b->secret));
}

/* SIGHUP with HTTPS on: re-reads the certificate and key files and, when
 * they changed and are valid, passes them to every worker (new handshakes
 * use them; open connections are kept). */
static void
sup_reload_tls(struct sup *sup, const struct settings *next)
{
    char err[512], *cert = NULL, *key = NULL;

    if (sup->cert_pem == NULL)
        return; /* HTTPS on or off needs a restart */
    if (tls_load(next->tls_cert, next->tls_key, &cert, &key, err, sizeof(err)) <
        0) {
        log_error("SIGHUP: the TLS certificate was not reloaded: %s", err);
        return;
    }
    if (strcmp(cert, sup->cert_pem) == 0 && strcmp(key, sup->key_pem) == 0) {
        tls_free_pem(cert, key);
        return;
    }
    for (int k = 0; k < sup->nworkers; k++) {
        if (ipc_send_tls(&sup->ipc, k, cert, key) < 0)
            log_warn("SIGHUP: could not pass the certificate to worker %d", k);
    }
    tls_free_pem(sup->cert_pem, sup->key_pem);
    sup->cert_pem = cert;
    sup->key_pem = key;
    log_info("SIGHUP: TLS certificate reloaded");
}

/* SIGHUP: re-reads the configuration and credentials files. Credentials
 * and the log level take effect at once in every worker, without touching
 * a session; settings that need new sockets or processes are reported. A
 * configuration with an error changes nothing. */
static void
sup_reload(struct sup *sup)
{
    struct settings next;
    char err[512], what[256];

    if (settings_reload(&sup->cur, &next, err, sizeof(err)) < 0) {
        log_error("SIGHUP: configuration rejected, nothing changed: %s", err);
        settings_wipe(&next);
        return;
    }
    if (settings_needs_restart(&sup->cur, &next, what, sizeof(what)))
        log_warnx("SIGHUP: %s changed; that needs a restart and was not "
                  "applied",
                  what);
    if (creds_differ(&sup->cur.creds, &next.creds)) {
        memcpy(&sup->cur.creds, &next.creds, sizeof(sup->cur.creds));
        sup_push_creds(sup);
        if (sup->cur.creds.set) {
            char masked[32];
            creds_mask(sup->cur.creds.key, masked, sizeof(masked));
            log_info("SIGHUP: credentials reloaded: key %s (%s)", masked,
                     creds_env_name(sup->cur.creds.env));
        } else {
            log_info("SIGHUP: credentials removed");
        }
    } else {
        log_info("SIGHUP: configuration re-read; credentials unchanged");
    }
    sup_reload_tls(sup, &next);
    guard_set_rules(&next.trading);
    sup->cur.trading = next.trading;
    log_info("SIGHUP: trading rules reloaded: max_order_notional %g, "
             "max_daily_notional %g, max_open_orders %d",
             next.trading.max_order_notional, next.trading.max_daily_notional,
             next.trading.max_open_orders);
    sup->cur.log_level = next.log_level;
    log_set_level(next.log_level);
    settings_wipe(&next);
}

/* Reads every pending signal from the signalfd and acts on it; SIGCHLD is
 * left to sup_reap, which the loop calls every round anyway. */
static void
sup_read_signals(struct sup *sup)
{
    struct signalfd_siginfo si;

    while (read(sup->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGHUP) {
            sup_reload(sup);
        } else if (sig != SIGCHLD && sup->stopping) {
            log_info("%s: already stopping", sup_signal_name(sig));
        } else if (sig != SIGCHLD) {
            log_info("%s: stopping (drain deadline %d s)", sup_signal_name(sig),
                     sup->s->drain_s);
            sup_request_stop(sup, 0);
        }
    }
}

/* Waits until the signalfd is readable or timeout_ms passes (-1: for
 * ever), then handles signals and dead children. */
static void
sup_wait(struct sup *sup, int timeout_ms)
{
    struct pollfd pfd = {.fd = sup->sig_fd, .events = POLLIN};

    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        log_warn("poll");
    sup_read_signals(sup);
    sup_reap(sup);
}

/* Counts the slots with a live worker. */
static int
sup_alive(const struct sup *sup)
{
    int n = 0;

    for (int k = 0; k < sup->nworkers; k++)
        n += sup->slot[k].pid > 0;
    return n;
}

/* Stops every worker: SIGTERM, then up to drain_s + 1 seconds for them to
 * drain, then SIGKILL for the rest. Returns when none is left. */
static void
sup_stop_workers(struct sup *sup)
{
    int64_t deadline = mono_ms() + ((int64_t)sup->s->drain_s + 1) * 1000;
    int64_t now;

    for (int k = 0; k < sup->nworkers; k++) {
        sup->slot[k].spawn_pending = 0;
        if (sup->slot[k].pid > 0)
            kill(sup->slot[k].pid, SIGTERM);
    }
    while (sup_alive(sup) > 0 && (now = mono_ms()) < deadline)
        sup_wait(sup, (int)(deadline - now));
    for (int k = 0; k < sup->nworkers; k++) {
        pid_t pid = sup->slot[k].pid;
        int st;
        if (pid <= 0)
            continue;
        log_warnx("worker %d (pid %d) did not stop in time: killing it", k,
                  (int)pid);
        kill(pid, SIGKILL);
        /* Our signals are blocked, so nothing interrupts this wait. */
        if (waitpid(pid, &st, 0) < 0)
            log_warn("waitpid %d", (int)pid);
        reg_worker_set(sup->reg, k, 0);
        sup->slot[k].pid = 0;
    }
}

int
supervisor_run(const struct settings *s, struct mcp_server *srv)
{
    struct sup sup;
    int rc;

    memset(&sup, 0, sizeof(sup));
    memcpy(&sup.cur, s, sizeof(sup.cur));
    sup.s = &sup.cur;
    sup.srv = srv;
    sup.pid = getpid();
    sup.nworkers = s->workers > 0 ? s->workers : 1;
    sup.listen_fd = sup.sig_fd = sup.alive[0] = sup.alive[1] = -1;
    sup.slot = calloc((size_t)sup.nworkers, sizeof(*sup.slot));
    if (sup.slot == NULL) {
        log_error("out of memory");
        return 1;
    }
    if (sup_signals_open(&sup) < 0 || sup_setup(&sup) < 0 ||
        sup_operate(&sup) < 0) {
        sup_cleanup(&sup);
        return 1;
    }
    for (int k = 0; k < sup.nworkers; k++)
        sup.slot[k].spawn_pending = 1; /* next_spawn_ms 0: at once */
    while (!sup.stopping) {
        sup_spawn_due(&sup);
        sup_wait(&sup, sup_poll_timeout(&sup));
    }
    sup_stop_workers(&sup);
    rc = sup.status;
    log_info("stopped (exit status %d)", rc);
    if (sup.s->daemonize)
        pidfile_remove(sup.s->pidfile);
    sup_cleanup(&sup);
    return rc;
}
