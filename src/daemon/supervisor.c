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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compose.h"
#include "daemon.h"
#include "feedproc.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "registry.h"
#include "supervisor.h"
#include "util.h"
#include "worker.h"

#define SUP_SHORT_LIFE_MS DAEMON_SHORT_LIFE_MS /* died younger: back off */

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
    int status;           /* the exit status once stopping */
    struct compose *comp; /* what the workers share and wire */
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

/* Sets up everything the workers share: the socket, the registry, the IPC
 * channels and the alive pipe. Returns 0, or -1 after logging why (what
 * was created is released by sup_cleanup). */
static int
sup_setup(struct sup *sup)
{
    char err[256], where[DAEMON_ADDR_MAX];

    sup->comp = compose_create(sup->s, sup->srv, sup->nworkers);
    if (sup->comp == NULL)
        return -1;
    sup->listen_fd = daemon_listen(sup->s->bind, sup->s->port);
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
    daemon_format_local(sup->listen_fd, where, sizeof(where));
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
    compose_free(sup->comp);
    settings_wipe(&sup->cur);
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
    char tag[32], comm[24]; /* comm: the kernel keeps 15 bytes */

    /* The supervisor may have died between fork() and prctl(). */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != sup->pid)
        _exit(WORKER_EXIT_OK);
    snprintf(tag, sizeof(tag), "worker %d", k);
    snprintf(comm, sizeof(comm), "binmcpd-w%d", k);
    daemon_name_process(tag, comm, sup->s->argc, sup->s->argv);
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
    compose_worker_env(sup->comp, &env);
    _exit(worker_run(&env));
}

/* The delay before slot k may be filled again, growing with the slot's
 * short-lived deaths in a row: at once the first time, then 100 ms,
 * 200 ms, ... up to 2 s. */
static int64_t
sup_backoff_ms(struct sup_slot *w)
{
    return daemon_respawn_backoff_ms(&w->quick_crashes);
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
        metrics_count_restart(compose_metrics(sup->comp));
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

/* Starts stopping the daemon with exit status rc (the first reason wins). */
static void
sup_request_stop(struct sup *sup, int rc)
{
    if (sup->stopping)
        return;
    sup->stopping = 1;
    sup->status = rc;
}

/* Worker k died unexpectedly: end its legacy sessions and leave its
 * Streamable HTTP ones to the first live worker that gets a request for
 * one (registry.h, adoption), then schedule its
 * replacement. However often workers die (the OOM killer, an operator, a
 * bug), the daemon keeps replacing them, backing off up to
 * 2 s (daemon_respawn_backoff_ms); only a worker's fatal exit at start-up (a
 * configuration that can never work) stops it. Every replacement is
 * counted in /metrics (binmcpd_worker_restarts_total). */
static void
sup_on_crash(struct sup *sup, int k, const char *how)
{
    struct sup_slot *w = &sup->slot[k];
    int64_t now = mono_ms(), delay = 0;
    int orphaned = 0;
    int freed = reg_reap_worker(sup->reg, k, &orphaned);

    sup->ncrashes++;
    log_warnx("worker %d (pid %d) died: %s; %d legacy session%s ended, %d "
              "Streamable HTTP session%s left for adoption (%u worker "
              "deaths since start)",
              k, (int)w->pid, how, freed, freed == 1 ? "" : "s", orphaned,
              orphaned == 1 ? "" : "s", sup->ncrashes);
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

    daemon_describe_status(st, how, sizeof(how));
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
        if (k < 0 &&
            feedproc_reaped(compose_feed(sup->comp), pid, st, sup->stopping))
            continue;
        if (k < 0) {
            log_debug("reaped unknown child %d", (int)pid);
            continue;
        }
        sup_on_exit(sup, k, st);
    }
}

/* ---- signals and the loop ---- */

/* Reads every pending signal from the signalfd and acts on it; SIGCHLD is
 * left to sup_reap, which the loop calls every round anyway. */
static void
sup_read_signals(struct sup *sup)
{
    struct signalfd_siginfo si;

    while (read(sup->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGHUP) {
            compose_reload(sup->comp, &sup->cur, &sup->ipc, sup->nworkers);
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
    log_set_tag("supervisor");
    if (sup_signals_open(&sup) < 0 || sup_setup(&sup) < 0 ||
        daemon_start(s->daemonize, s->pidfile, s->user) < 0) {
        sup_cleanup(&sup);
        return 1;
    }
    sup.pid = getpid(); /* detached: workers check getppid() against it */
    for (int k = 0; k < sup.nworkers; k++)
        sup.slot[k].spawn_pending = 1; /* next_spawn_ms 0: at once */
    struct feedproc_parent feed = {
        sup.pid, &sup.old_mask, {sup.sig_fd, sup.alive[1], sup.listen_fd}, 3};
    while (!sup.stopping) {
        sup_spawn_due(&sup);
        sup_wait(&sup, feedproc_tick(compose_feed(sup.comp), &feed,
                                     sup_poll_timeout(&sup)));
    }
    sup_stop_workers(&sup);
    feedproc_stop(compose_feed(sup.comp));
    rc = sup.status;
    log_info("stopped (exit status %d)", rc);
    if (sup.s->daemonize)
        pidfile_remove(sup.s->pidfile);
    sup_cleanup(&sup);
    return rc;
}
