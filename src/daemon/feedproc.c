/*
 * feedproc.c - the feed process of --mode sse. See feedproc.h.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "feed.h"
#include "feedproc.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "userdata.h"
#include "userstate.h"
#include "util.h"

#define FEEDPROC_STOP_MS 3000   /* SIGTERM to SIGKILL */
#define FEEDPROC_STEP_MS 20     /* the loop's longest wait */
#define KEY_LEASE_MS     600000 /* a session's key unused this long goes */
#define KEY_SWEEP_MS     10000  /* leases are checked this often */
#define KEY_MSG_MAX      4096   /* an IPC_KEY or IPC_CREDS datagram */

struct feedproc {
    const struct settings *s;
    struct market *market;
    struct userstate *users; /* NULL: no user data streams */
    const struct ipc *keys;  /* the feed's channel (one slot), or NULL */
    struct metrics *metrics;
    pid_t pid;             /* 0: not running */
    int64_t started_ms;    /* mono_ms() at fork */
    int quick_crashes;     /* short-lived deaths in a row */
    int spawn_pending;     /* a fork is due ... */
    int64_t next_spawn_ms; /* ... at this mono_ms() */
    int respawn;           /* the next fork replaces a dead feed */
};

/* The feed child's stop flag: a signal handler sets it (a lock-free
 * atomic may be stored from a handler). */
static atomic_int feed_stop;

static void
on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&feed_stop, 1);
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

/* ---- the user data streams, in the child ---- */

struct feed_keys {
    struct userdata *ud;
    struct userstate *users;
    int rx_fd;                     /* the feed's channel; -1: none */
    char daemon_fp[US_FP_LEN + 1]; /* the daemon's key: never leased out */
    int64_t next_sweep_ms;
};

/* Follows c's account. daemon: it replaces the daemon's key. */
static void
keys_follow(struct feed_keys *k, const struct creds *c, int daemon)
{
    char err[256], fp[US_FP_LEN + 1];
    int slot;

    if (daemon && k->daemon_fp[0] != '\0' &&
        (!c->set || us_fingerprint(c->key, c->env, fp) < 0 ||
         strcmp(fp, k->daemon_fp) != 0)) {
        ud_remove_key(k->ud, k->daemon_fp);
        k->daemon_fp[0] = '\0';
    }
    if (!c->set)
        return;
    if ((slot = ud_add_key(k->ud, c, fp, err, sizeof(err))) < 0) {
        log_warnx("user data: %s", err);
        return;
    }
    us_touch(k->users, slot, now_ms());
    if (daemon)
        memcpy(k->daemon_fp, fp, sizeof(fp));
}

/* Reads what waits on the feed's channel: session keys from workers, the
 * daemon's credentials from the supervisor after a reload. */
static void
keys_drain(struct feed_keys *k)
{
    char buf[KEY_MSG_MAX];
    struct ipc_hdr h;
    struct creds c;
    int r;

    if (k->rx_fd < 0)
        return;
    memset(&c, 0, sizeof(c));
    for (int n = 0;
         n < 64 && (r = ipc_recv(k->rx_fd, &h, buf, sizeof(buf))) != 0; n++) {
        if (r < 0 && errno != EBADMSG)
            break;
        if (r > 0 && h.type == IPC_KEY && ipc_read_key(&h, buf, &c) == 0)
            keys_follow(k, &c, 0);
        else if (r > 0 && h.type == IPC_CREDS &&
                 ipc_read_creds(&h, buf, &c) == 0)
            keys_follow(k, &c, 1);
        else if (r > 0)
            log_warnx("user data: dropped a message of type %u", h.type);
        creds_wipe(&c);
        secure_wipe(buf, sizeof(buf));
    }
}

/* Stops following the session keys nobody needed for KEY_LEASE_MS. */
static void
keys_sweep(struct feed_keys *k, int64_t now)
{
    struct us_record rec;

    if (now < k->next_sweep_ms)
        return;
    k->next_sweep_ms = now + KEY_SWEEP_MS;
    for (unsigned i = 0; i < us_slots(k->users); i++) {
        if (us_read_head(k->users, (int)i, &rec) < 0 || rec.fp[0] == '\0' ||
            strcmp(rec.fp, k->daemon_fp) == 0 ||
            now - us_wanted_ms(k->users, (int)i) < KEY_LEASE_MS)
            continue;
        log_info("user data: key %s unused for %d min: no longer followed",
                 rec.key_masked, KEY_LEASE_MS / 60000);
        ud_remove_key(k->ud, rec.fp);
    }
}

/* The user data module for settings s writing users (NULL: none) and
 * reading keys (may be NULL), following the daemon's credentials; stop
 * aborts its REST snapshots. Returns 0 (k->ud NULL when there is no
 * area), or -1. */
static int
keys_open(struct feed_keys *k, const struct settings *s,
          struct userstate *users, const struct ipc *keys,
          const atomic_int *stop)
{
    struct ud_config uc;
    char err[256];

    memset(k, 0, sizeof(*k));
    k->rx_fd = keys != NULL ? ipc_rx_fd(keys, 0) : -1;
    k->users = users;
    if (users == NULL)
        return 0;
    /* A new feed follows no account yet: the records of the one before
     * go, and the workers that still need an account send it again. */
    us_writer_recover(users);
    for (unsigned i = 0; i < us_slots(users); i++)
        us_release(users, (int)i);
    ud_config_defaults(&uc);
    snprintf(uc.ws_api_url, sizeof(uc.ws_api_url), "%s",
             settings_ws_api_url(s));
    uc.state = users;
    uc.cancel = stop;
    if ((k->ud = ud_new(&uc, err, sizeof(err))) == NULL) {
        log_warnx("user data: %s", err);
        return -1;
    }
    keys_follow(k, &s->creds, 1);
    return 0;
}

int
feedproc_run(const struct settings *s, struct market *market,
             struct userstate *users, const struct ipc *keys,
             const atomic_int *stop)
{
    struct feed_config fc;
    struct feed_keys k;
    char err[256];
    struct feed *f;
    int rc = 0;

    feed_config_from(s, market, &fc);
    fc.cancel = stop;
    market_writer_recover(market, now_ms());
    if ((f = feed_new(&fc, err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    if (keys_open(&k, s, users, keys, stop) < 0) {
        feed_free(f);
        return -1;
    }
    log_info("started (streams %s, up to %u symbols; user data %s)",
             fc.stream_url, market_slots(market),
             k.ud != NULL ? settings_ws_api_url(s) : "off");
    while (!atomic_load(stop) && rc == 0) {
        rc = feed_step(f, FEEDPROC_STEP_MS);
        if (k.ud == NULL)
            continue;
        if (ud_step(k.ud, 0) < 0)
            rc = -1;
        keys_drain(&k);
        keys_sweep(&k, now_ms());
    }
    ud_free(k.ud);
    feed_free(f);
    market_writer_recover(market, now_ms());
    return rc;
}

/* The child side of the fork: die with the supervisor, drop what is only
 * the supervisor's, take the stop signals, run the feed. Never returns. */
static void feedproc_child(struct feedproc *fp, const struct feedproc_parent *p)
    __attribute__((noreturn));
static void
feedproc_child(struct feedproc *fp, const struct feedproc_parent *p)
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGQUIT};
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
    int rc = feedproc_run(fp->s, fp->market, fp->users, fp->keys, &feed_stop);
    _exit(rc == 0 ? 0 : 1);
}

int
feedproc_follow_key(void *arg, const struct creds *c)
{
    const struct ipc *keys = arg;

    if (ipc_send_key(keys, 0, c) < 0) {
        log_warn("could not pass a key to the feed");
        return -1;
    }
    return 0;
}

struct feedproc *
feedproc_new(const struct settings *s, struct market *market,
             struct userstate *users, const struct ipc *keys,
             struct metrics *metrics)
{
    struct feedproc *fp = calloc(1, sizeof(*fp));

    if (fp == NULL)
        return NULL;
    fp->s = s;
    fp->market = market;
    fp->users = users;
    fp->keys = keys;
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
