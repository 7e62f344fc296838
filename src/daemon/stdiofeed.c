/*
 * stdiofeed.c - the feed in a thread, for --mode stdio. See stdiofeed.h.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "bnc.h"
#include "daemon.h"
#include "feedproc.h"
#include "ipc.h"
#include "log.h"
#include "market.h"
#include "stdiofeed.h"
#include "tools_callcreds.h"
#include "userstate.h"
#include "util.h"

#define STDIOFEED_NAP_MS 20 /* the backoff's sleeps, between looks at stop */

struct stdiofeed {
    const struct settings *s;
    struct market *market;   /* the feed writes it, the tools read it */
    struct userstate *users; /* the same for the user data streams */
    struct ipc keys;         /* the tools' keys to the feed thread */
    int keys_open;
    pthread_t thread;
    int thread_started;
    atomic_int stop; /* set by stdiofeed_stop */
};

/* Sleeps ms in short naps; returns early once stop is set. */
static void
nap_unless_stopped(const struct stdiofeed *sf, int64_t ms)
{
    int64_t end = mono_ms() + ms;

    while (!atomic_load(&sf->stop) && mono_ms() < end)
        usleep(STDIOFEED_NAP_MS * 1000);
}

/* The feed thread: the loop, again after the backoff when it fails. */
static void *
feed_thread_main(void *arg)
{
    struct stdiofeed *sf = arg;
    int quick_crashes = 0;

    while (!atomic_load(&sf->stop)) {
        int64_t started = mono_ms(), delay = 0;
        int rc =
            feedproc_run(sf->s, sf->market, sf->users, &sf->keys, &sf->stop);

        if (rc == 0 || atomic_load(&sf->stop))
            break;
        if (mono_ms() - started > DAEMON_SHORT_LIFE_MS)
            quick_crashes = 0;
        else
            delay = daemon_respawn_backoff_ms(&quick_crashes);
        log_warnx("feed: the loop failed; restarting in %lld ms (the tools "
                  "answer from REST meanwhile)",
                  (long long)delay);
        nap_unless_stopped(sf, delay);
    }
    bnc_thread_cleanup();
    return NULL;
}

/* Starts the feed thread with every signal blocked (it inherits the mask:
 * no signal can reach it between its start and a mask of its own).
 * Returns 0 or -1. */
static int
start_thread(struct stdiofeed *sf)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&sf->thread, NULL, feed_thread_main, sf);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    sf->thread_started = 1;
    return 0;
}

/* Releases what sf holds (the thread already joined). */
static void
stdiofeed_free(struct stdiofeed *sf)
{
    market_destroy(sf->market);
    us_destroy(sf->users);
    if (sf->keys_open)
        ipc_destroy(&sf->keys);
    free(sf);
}

struct stdiofeed *
stdiofeed_start(const struct settings *s, struct mcp_server *srv)
{
    struct stdiofeed *sf = calloc(1, sizeof(*sf));
    char err[512];

    if (sf == NULL) {
        log_error("live market data: out of memory");
        return NULL;
    }
    sf->s = s;
    if ((sf->market = market_create((unsigned)s->max_tracked_symbols, err,
                                    sizeof(err))) == NULL ||
        (sf->users = us_create(0, err, sizeof(err))) == NULL ||
        ipc_create(&sf->keys, 1, err, sizeof(err)) < 0) {
        log_error("live market data: %s", err);
        stdiofeed_free(sf);
        return NULL;
    }
    sf->keys_open = 1;
    if (start_thread(sf) < 0) {
        log_error("live market data: cannot start the feed thread");
        stdiofeed_free(sf);
        return NULL;
    }
    tools_set_market(srv, sf->market);
    tools_set_userdata(srv, sf->users, feedproc_follow_key, &sf->keys);
    log_info("live market data: streams from %s, up to %d symbols (feed "
             "thread)",
             settings_stream_url(s), s->max_tracked_symbols);
    return sf;
}

void
stdiofeed_stop(struct stdiofeed *sf, struct mcp_server *srv)
{
    if (sf == NULL)
        return;
    atomic_store(&sf->stop, 1);
    if (sf->thread_started)
        pthread_join(sf->thread, NULL);
    tools_set_market(srv, NULL);
    tools_set_userdata(srv, NULL, NULL, NULL);
    log_info("feed thread stopped");
    stdiofeed_free(sf);
}
