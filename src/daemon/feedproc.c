/*
 * feedproc.c - the feed process of --mode sse. See feedproc.h.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "feed.h"
#include "feedproc.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define FEEDPROC_STOP_MS 3000 /* SIGTERM to SIGKILL */

struct feedproc {
    const struct settings *s;
    struct market *market;
    struct metrics *metrics;
    pid_t pid;             /* 0: not running */
    int64_t started_ms;    /* mono_ms() at fork */
    int quick_crashes;     /* short-lived deaths in a row */
    int spawn_pending;     /* a fork is due ... */
    int64_t next_spawn_ms; /* ... at this mono_ms() */
    int respawn;           /* the next fork replaces a dead feed */
};

/* The feed child's stop flag: a signal handler sets it. */
static volatile sig_atomic_t feed_stop;

static void
on_stop_signal(int sig)
{
    (void)sig;
    feed_stop = 1;
}

/* The feed's configuration from the daemon's settings. */
static void
feed_config_from(const struct settings *s, struct market *m,
                 struct feed_config *fc)
{
    feed_config_defaults(fc);
    snprintf(fc->stream_url, sizeof(fc->stream_url), "%s",
             settings_stream_url(s));
    snprintf(fc->ws_api_url, sizeof(fc->ws_api_url), "%s",
             settings_ws_api_url(s));
    fc->market = m;
    fc->idle_ms = (int64_t)s->feed_idle_s * 1000;
}

/* The child side of the fork: die with the supervisor, drop what is only
 * the supervisor's, take the stop signals, run the feed. Never returns. */
static void feedproc_child(struct feedproc *fp, const struct feedproc_parent *p)
    __attribute__((noreturn));
static void
feedproc_child(struct feedproc *fp, const struct feedproc_parent *p)
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGQUIT};
    struct feed_config fc;
    struct sigaction sa;

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != p->pid)
        _exit(0);
    daemon_name_process("feed", FEEDPROC_COMM, fp->s->argc, fp->s->argv);
    for (int i = 0; i < p->nclose; i++) {
        if (p->close_fds[i] >= 0)
            close(p->close_fds[i]);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
        sigaction(stop_signals[i], &sa, NULL);
    signal(SIGHUP, SIG_IGN);  /* its settings need a restart */
    signal(SIGPIPE, SIG_IGN); /* a peer's close is an error return */
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, p->mask, NULL);
    feed_config_from(fp->s, fp->market, &fc);
    _exit(feed_run(&fc, &feed_stop) == 0 ? 0 : 1);
}

struct feedproc *
feedproc_new(const struct settings *s, struct market *market,
             struct metrics *metrics)
{
    struct feedproc *fp = calloc(1, sizeof(*fp));

    if (fp == NULL)
        return NULL;
    fp->s = s;
    fp->market = market;
    fp->metrics = metrics;
    fp->spawn_pending = 1; /* next_spawn_ms 0: at once */
    return fp;
}

void
feedproc_free(struct feedproc *fp)
{
    free(fp);
}

int
feedproc_tick(struct feedproc *fp, const struct feedproc_parent *p,
              int timeout_ms)
{
    int64_t now = mono_ms(), d;
    pid_t pid;

    if (fp == NULL || !fp->spawn_pending)
        return timeout_ms;
    if (fp->next_spawn_ms <= now) {
        pid = fork();
        if (pid == 0)
            feedproc_child(fp, p);
        if (pid < 0) {
            log_warn("feed: fork failed");
            fp->next_spawn_ms =
                now + daemon_respawn_backoff_ms(&fp->quick_crashes);
        } else {
            fp->pid = pid;
            fp->started_ms = now;
            fp->spawn_pending = 0;
            if (fp->respawn)
                metrics_count_feed_restart(fp->metrics);
            fp->respawn = 0;
            log_info("feed started (pid %d)", (int)pid);
            return timeout_ms;
        }
    }
    d = fp->next_spawn_ms > now ? fp->next_spawn_ms - now : 0;
    return timeout_ms < 0 || d < timeout_ms ? (int)d : timeout_ms;
}

int
feedproc_reaped(struct feedproc *fp, pid_t pid, int st, int stopping)
{
    char how[96];
    int64_t now = mono_ms(), delay = 0;

    if (fp == NULL || pid <= 0 || pid != fp->pid)
        return 0;
    fp->pid = 0;
    daemon_describe_status(st, how, sizeof(how));
    if (stopping) {
        log_info("feed (pid %d) stopped: %s", (int)pid, how);
        return 1;
    }
    if (now - fp->started_ms > DAEMON_SHORT_LIFE_MS)
        fp->quick_crashes = 0;
    else
        delay = daemon_respawn_backoff_ms(&fp->quick_crashes);
    fp->spawn_pending = 1;
    fp->respawn = 1;
    fp->next_spawn_ms = now + delay;
    log_warnx("feed (pid %d) died: %s; restarting in %lld ms (the tools "
              "answer from REST meanwhile)",
              (int)pid, how, (long long)delay);
    return 1;
}

void
feedproc_stop(struct feedproc *fp)
{
    int64_t deadline;
    int st;

    if (fp == NULL)
        return;
    fp->spawn_pending = 0;
    if (fp->pid <= 0)
        return;
    kill(fp->pid, SIGTERM);
    deadline = mono_ms() + FEEDPROC_STOP_MS;
    for (;;) {
        pid_t r = waitpid(fp->pid, &st, WNOHANG);
        if (r == fp->pid || (r < 0 && errno != EINTR))
            break;
        if (mono_ms() >= deadline) {
            log_warnx("feed (pid %d) did not stop in time: killing it",
                      (int)fp->pid);
            kill(fp->pid, SIGKILL);
            waitpid(fp->pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    log_info("feed (pid %d) stopped", (int)fp->pid);
    fp->pid = 0;
}
