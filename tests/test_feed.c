/*
 * test_feed.c - the feed (src/binance/feed.c) in a forked child against
 * the fake exchange, seen only through the market segment, as a worker
 * sees it: a requested symbol becomes live within a bound; after thousands
 * of random diffs the segment's top levels equal the fake's /api/v3/depth;
 * a scripted gap costs exactly one resync and one snapshot; a dropped
 * connection comes back and the book is rebuilt; trades reach the ring;
 * an idle symbol is dropped; a connection past its age is replaced. Every
 * wait is bounded; the child is stopped by its PID.
 */
#include "config.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "bnc.h"
#include "budget.h"
#include "fakex.h"
#include "feed.h"
#include "market.h"
#include "testlib.h"
#include "util.h"
#include "wstest.h"

#define IDLE_MS      4000 /* the feed's feed_idle in these tests */
#define LIVE_WAIT_MS 10000

static struct fakex fx;
static char base[64];
static struct market *mkt;
static struct upstream_budget *budget;
static _Atomic long *weight_taken; /* shared with the feed child */
static pid_t feed_pid;
static volatile sig_atomic_t child_stop;

/* ---- the feed child ---- */

static void
on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

/* The daemon's budget hook, as compose.c installs it, counting too. */
static int
take_weight(void *arg, const char *method, const char *path, const char *query,
            long *wait_ms)
{
    int w = ub_request_weight(method, path, query);
    (void)arg;
    if (!ub_take(budget, w, now_ms(), wait_ms))
        return -1;
    atomic_fetch_add(weight_taken, w);
    return 0;
}

static void
feed_child(int64_t max_age_ms)
{
    struct bnc_config bc;
    struct bnc_hooks hooks = {take_weight, NULL, NULL};
    struct feed_config fc;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    bnc_config_defaults(&bc);
    snprintf(bc.mainnet_url, sizeof(bc.mainnet_url), "%s", fx.url);
    bc.timeout_ms = 5000;
    if (bnc_init(&bc) < 0)
        _exit(3);
    bnc_set_hooks(&hooks);
    feed_config_defaults(&fc);
    snprintf(fc.stream_url, sizeof(fc.stream_url), "%s", base);
    fc.market = mkt;
    fc.idle_ms = IDLE_MS;
    fc.backoff_min_ms = 100;
    fc.backoff_max_ms = 1000;
    if (max_age_ms > 0)
        fc.max_conn_age_ms = max_age_ms;
    _exit(feed_run(&fc, &child_stop) == 0 ? 0 : 4);
}

/* Forks the feed child. Returns 0 or -1. */
static int
start_feed(int64_t max_age_ms)
{
    feed_pid = fork();
    if (feed_pid == 0)
        feed_child(max_age_ms);
    return feed_pid > 0 ? 0 : -1;
}

/* Stops the feed child by its PID. Returns whether it exited cleanly. */
static bool
stop_feed(void)
{
    int status = 0;
    bool ok;

    if (feed_pid <= 0)
        return true;
    kill(feed_pid, SIGTERM);
    ok = tl_wait_exit(feed_pid, 5000, &status) == 0 && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
    feed_pid = 0;
    return ok;
}

static int
suite_init(void)
{
    char err[256];

    if (wstest_start(&fx, base, sizeof(base)) < 0 ||
        (mkt = market_create(8, err, sizeof(err))) == NULL ||
        (budget = ub_create(UB_DEFAULT_WEIGHT, err, sizeof(err))) == NULL)
        return -1;
    weight_taken = mmap(NULL, sizeof(*weight_taken), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (weight_taken == MAP_FAILED)
        return -1;
    return start_feed(0);
}

static int
suite_clean(void)
{
    stop_feed();
    fakex_stop(&fx);
    market_destroy(mkt);
    ub_destroy(budget);
    munmap(weight_taken, sizeof(*weight_taken));
    return 0;
}

/* ---- the worker's view ---- */

static struct market_state st;

/* A worker's use: request (which stamps) and read. */
static int
use(const char *symbol)
{
    int slot = market_request(mkt, symbol, now_ms());

    if (slot < 0 || market_read(mkt, slot, &st) < 0 ||
        strcmp(st.symbol, symbol) != 0)
        return -1;
    return slot;
}

/* Waits up to ms for the slot of symbol to be live. */
static bool
wait_live(const char *symbol, long ms)
{
    int64_t end = tl_now_ms() + ms;

    while (tl_now_ms() < end) {
        if (use(symbol) >= 0 && st.status == MARKET_LIVE && st.ws_connected)
            return true;
        tl_sleep_ms(20);
    }
    return false;
}

/* The fake's lastUpdateId of symbol once its generator has ended; -1 while
 * it runs. */
static int64_t
fake_settled_id(const char *symbol)
{
    char q[64];
    json_object *o;
    int64_t id = -1;

    snprintf(q, sizeof(q), "symbol=%s", symbol);
    if ((o = wstest_info(&fx, q)) == NULL)
        return -1;
    if (!json_object_get_boolean(tl_get_path(o, "generator.running")))
        id = tl_int_at(o, "lastUpdateId");
    json_object_put(o);
    return id;
}

/* Waits (up to ms) until the fake's generator has ended and the slot's
 * book has caught up with the fake's book. */
static bool
wait_caught_up(const char *symbol, long ms)
{
    int64_t end = tl_now_ms() + ms;

    while (tl_now_ms() < end) {
        int64_t id = fake_settled_id(symbol);
        if (id > 0 && use(symbol) >= 0 && st.status == MARKET_LIVE &&
            st.book_update_id == (uint64_t)id)
            return true;
        tl_sleep_ms(20);
    }
    fprintf(stderr, "test_feed: %s not caught up: %s, book at %llu\n", symbol,
            market_status_name((enum market_status)st.status),
            (unsigned long long)st.book_update_id);
    return false;
}

/* Compares the slot's levels (st) with the fake's top 100, level by level.
 * Returns the levels compared, or -1 at the first difference (printed). */
static long
compare_with_fake(const char *symbol)
{
    static char body[1 << 18];
    static const char *const keys[] = {"bids", "asks"};
    char path[128];
    json_object *o;
    long compared = 0;

    snprintf(path, sizeof(path), "/api/v3/depth?symbol=%s&limit=%d", symbol,
             MARKET_LEVELS);
    if (fakex_http(&fx, "GET", path, body, sizeof(body)) != 200 ||
        (o = json_tokener_parse(body)) == NULL)
        return -1;
    if (tl_int_at(o, "lastUpdateId") != (int64_t)st.book_update_id) {
        fprintf(stderr, "test_feed: fake at %lld, slot at %llu\n",
                (long long)tl_int_at(o, "lastUpdateId"),
                (unsigned long long)st.book_update_id);
        json_object_put(o);
        return -1;
    }
    for (int side = 0; side < 2 && compared >= 0; side++) {
        json_object *arr = tl_get_path(o, keys[side]);
        const struct market_level *lv = side == 0 ? st.bids : st.asks;
        size_t n = json_object_array_length(arr);
        uint32_t got = side == 0 ? st.nbids : st.nasks;
        if (n != got) {
            fprintf(stderr, "test_feed: %s: fake %zu levels, slot %u\n",
                    keys[side], n, got);
            compared = -1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            json_object *l = json_object_array_get_idx(arr, i);
            int64_t p, q;
            if (market_parse(
                    json_object_get_string(json_object_array_get_idx(l, 0)),
                    &p) < 0 ||
                market_parse(
                    json_object_get_string(json_object_array_get_idx(l, 1)),
                    &q) < 0 ||
                p != lv[i].price || q != lv[i].qty) {
                fprintf(stderr, "test_feed: %s level %zu differs: fake %s\n",
                        keys[side], i, json_object_to_json_string(l));
                compared = -1;
                break;
            }
            compared++;
        }
    }
    json_object_put(o);
    return compared;
}

static struct market_feed_info
feed_info(void)
{
    struct market_feed_info info;
    market_feed_info(mkt, &info);
    return info;
}

/* ---- the tests ---- */

static void
test_requested_symbol_goes_live(void)
{
    int64_t t0 = tl_now_ms();
    char buf[DEC_STR_MAX];

    CU_ASSERT_EQUAL(market_find(mkt, "BTCUSDT"), -1);
    CU_ASSERT_FATAL(wait_live("BTCUSDT", LIVE_WAIT_MS));
    fprintf(stderr, "test_feed: BTCUSDT live after %lld ms\n",
            (long long)(tl_now_ms() - t0));
    /* the fake's fixed book: 100 levels a side around the last price */
    CU_ASSERT_EQUAL(st.nbids, MARKET_LEVELS);
    CU_ASSERT_EQUAL(st.nasks, MARKET_LEVELS);
    CU_ASSERT_EQUAL(st.best_from_ticker, 0);
    CU_ASSERT_EQUAL(st.best_bid.price, st.bids[0].price);
    CU_ASSERT(st.best_bid.price < st.best_ask.price);
    CU_ASSERT_STRING_EQUAL(market_format(st.best_bid.price, buf), "49999.99");
    CU_ASSERT_EQUAL(st.snapshots, 1);
    CU_ASSERT_EQUAL(st.resyncs, 0);
    CU_ASSERT(compare_with_fake("BTCUSDT") == 2 * MARKET_LEVELS);
    CU_ASSERT_EQUAL(feed_info().ws_connected, 1);
    CU_ASSERT_EQUAL(feed_info().pid, feed_pid);
    CU_ASSERT_EQUAL(feed_info().streams, 4);
    /* the snapshot went through the budget: limit=5000 weighs 250 */
    CU_ASSERT_EQUAL(atomic_load(weight_taken), 250);
}

static void
test_random_diffs_equal(void)
{
    static struct market_sample xs[64];
    long levels, n;
    unsigned long events0;
    int64_t changes = 0, removed = 0, from = now_ms();

    CU_ASSERT_FATAL(wait_live("BTCUSDT", LIVE_WAIT_MS));
    events0 = (unsigned long)st.book_events;
    CU_ASSERT_EQUAL_FATAL(wstest_post(&fx, "/__fake/stream/random?symbol="
                                           "BTCUSDT&n=4000&rate=4000&seed=7"
                                           "&changes=8"),
                          200);
    CU_ASSERT_FATAL(wait_caught_up("BTCUSDT", 30000));
    levels = compare_with_fake("BTCUSDT");
    fprintf(stderr,
            "test_feed: %llu events applied, %.1f/s, %ld levels equal\n",
            (unsigned long long)(st.book_events - events0), st.updates_per_s,
            levels);
    CU_ASSERT_EQUAL(levels, 2 * MARKET_LEVELS);
    CU_ASSERT_EQUAL(st.book_events - events0, 4000);
    CU_ASSERT_EQUAL(st.resyncs, 0);
    CU_ASSERT_EQUAL(st.snapshots, 1);
    CU_ASSERT(st.updates_per_s > 0);
    CU_ASSERT_STRING_EQUAL(st.last_error, "");
    /* the samples of those seconds count their level changes (at least
     * one an event) and the quantity they took off the book */
    tl_sleep_ms(1100);
    n = market_samples_since(mkt, use("BTCUSDT"), from, xs, 64);
    for (long i = 0; i < n; i++) {
        changes += xs[i].level_changes;
        removed += xs[i].removed_qty;
    }
    fprintf(stderr, "test_feed: %ld samples, %lld level changes\n", n,
            (long long)changes);
    CU_ASSERT(changes >= 4000);
    CU_ASSERT(removed > 0);
}

static void
test_gap_one_resync(void)
{
    uint32_t resyncs, snapshots;
    long rest;

    CU_ASSERT_FATAL(wait_live("BTCUSDT", LIVE_WAIT_MS));
    resyncs = st.resyncs;
    snapshots = st.snapshots;
    rest = fakex_count(&fx, "GET", "/api/v3/depth");
    /* the swallowed event moves a level no later event touches */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/gap?symbol=BTCUSDT"), 200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=BTCUSDT"
                                     "&side=bid&price=49999.99&qty=7&ids=3"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/random?symbol=BTCUSDT"
                                     "&n=1500&rate=3000&seed=12&changes=6"),
                    200);
    CU_ASSERT_FATAL(wait_caught_up("BTCUSDT", 30000));
    CU_ASSERT_EQUAL(st.resyncs, resyncs + 1);
    CU_ASSERT_EQUAL(st.snapshots, snapshots + 1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/depth"), rest + 1);
    CU_ASSERT_EQUAL(compare_with_fake("BTCUSDT"), 2 * MARKET_LEVELS);
}

static void
test_trades_in_ring(void)
{
    static struct market_trade tr[16];
    int64_t end = tl_now_ms() + LIVE_WAIT_MS;
    uint64_t seen0;
    int slot;
    long n;
    char buf[DEC_STR_MAX];

    CU_ASSERT_FATAL((slot = use("BTCUSDT")) >= 0);
    seen0 = st.trades_seen;
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=BTCUSDT"
                                     "&price=50000.5&qty=0.25"
                                     "&buyer_maker=true"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=BTCUSDT"
                                     "&price=50001&qty=1.5"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=BTCUSDT"
                                     "&price=50002.25&qty=0.00000001"),
                    200);
    while (tl_now_ms() < end &&
           (use("BTCUSDT") < 0 || st.trades_seen < seen0 + 3 ||
            st.kline.trades < 3))
        tl_sleep_ms(20);
    CU_ASSERT_FATAL(st.trades_seen == seen0 + 3);
    n = market_trades_since(mkt, slot, 0, tr, 16);
    CU_ASSERT_FATAL(n >= 3);
    CU_ASSERT_STRING_EQUAL(market_format(tr[n - 3].price, buf), "50000.5");
    CU_ASSERT_STRING_EQUAL(market_format(tr[n - 3].qty, buf), "0.25");
    CU_ASSERT_EQUAL(tr[n - 3].buyer_maker, 1);
    CU_ASSERT_EQUAL(tr[n - 2].buyer_maker, 0);
    CU_ASSERT_EQUAL(tr[n - 1].qty, 1);
    CU_ASSERT_EQUAL(tr[n - 1].agg_id, tr[n - 3].agg_id + 2);
    CU_ASSERT(tr[n - 1].time_ms >= tr[n - 3].time_ms);
    CU_ASSERT(tr[n - 1].time_ms > 0);
    /* since the newest trade's time: at least it */
    CU_ASSERT(market_trades_since(mkt, slot, tr[n - 1].time_ms, tr, 16) >= 1);
    CU_ASSERT_EQUAL(st.last_trade.price, tr[n - 1].price);
    /* the 1 m kline follows */
    CU_ASSERT_STRING_EQUAL(market_format(st.kline.close, buf), "50002.25");
    CU_ASSERT(st.kline.high >= st.kline.close);
    CU_ASSERT(st.kline.open_ms > 0 && st.kline.close_ms > st.kline.open_ms);
}

static void
test_samples_each_second(void)
{
    static struct market_sample xs[16];
    int64_t end = tl_now_ms() + 6000;
    int slot;
    long n = 0;

    CU_ASSERT_FATAL((slot = use("BTCUSDT")) >= 0);
    while (tl_now_ms() < end &&
           (n = market_samples_since(mkt, slot, 0, xs, 16)) < 3) {
        use("BTCUSDT");
        tl_sleep_ms(100);
    }
    CU_ASSERT_FATAL(n >= 3);
    CU_ASSERT_EQUAL(xs[n - 1].time_ms % 1000, 0);
    CU_ASSERT_EQUAL(xs[n - 1].time_ms - xs[n - 2].time_ms, 1000);
    CU_ASSERT(xs[n - 1].bid > 0 && xs[n - 1].ask > xs[n - 1].bid);
    CU_ASSERT(xs[n - 1].bid_depth >= xs[n - 1].bid_qty);
    CU_ASSERT(xs[n - 1].ask_depth > 0);
    /* the best levels, the same as the best bid and ask */
    CU_ASSERT(xs[n - 1].nbids > 0 && xs[n - 1].nbids <= MARKET_SAMPLE_LEVELS);
    CU_ASSERT(xs[n - 1].nasks > 0 && xs[n - 1].nasks <= MARKET_SAMPLE_LEVELS);
    CU_ASSERT_EQUAL(xs[n - 1].bids[0].price, xs[n - 1].bid);
    CU_ASSERT_EQUAL(xs[n - 1].asks[0].price, xs[n - 1].ask);
    if (xs[n - 1].nbids > 1)
        CU_ASSERT(xs[n - 1].bids[1].price < xs[n - 1].bids[0].price);
    /* activity: never negative, and changes come with every event */
    for (long i = 0; i < n; i++) {
        CU_ASSERT(xs[i].level_changes >= 0);
        CU_ASSERT(xs[i].removed_qty >= 0);
        CU_ASSERT(xs[i].updates == 0 || xs[i].level_changes >= xs[i].updates);
    }
}

static void
test_disconnect_rebuilds(void)
{
    struct market_feed_info before = feed_info();
    int64_t end;

    CU_ASSERT_FATAL(wait_live("BTCUSDT", LIVE_WAIT_MS));
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/random?symbol=BTCUSDT"
                                     "&n=2000&rate=1000&seed=21&changes=6"),
                    200);
    tl_sleep_ms(300);
    /* the socket closes without a close frame: the connection is lost */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/disconnect?frame=0"), 200);
    end = tl_now_ms() + LIVE_WAIT_MS;
    while (tl_now_ms() < end && feed_info().reconnects <= before.reconnects)
        tl_sleep_ms(20);
    CU_ASSERT_FATAL(feed_info().reconnects == before.reconnects + 1);
    CU_ASSERT_FATAL(wait_caught_up("BTCUSDT", 30000));
    CU_ASSERT_EQUAL(compare_with_fake("BTCUSDT"), 2 * MARKET_LEVELS);
    CU_ASSERT_EQUAL(st.ws_connected, 1);
    /* events went by while it was away: the gap was seen once, healed once */
    fprintf(stderr,
            "test_feed: after the reconnect: %u resyncs, %u snapshots\n",
            st.resyncs, st.snapshots);
    CU_ASSERT(st.resyncs >= 1);
    CU_ASSERT_EQUAL(st.snapshots, 1 + st.resyncs);
}

static void
test_second_symbol_then_idle_drop(void)
{
    int64_t end, t0;
    long weight0;
    int slot;

    /* the budget holds every snapshot for 1.5 s: ETHUSDT's waits, and
     * only the one sent counts */
    weight0 = atomic_load(weight_taken);
    ub_hold(budget, now_ms() + 1500);
    t0 = tl_now_ms();
    CU_ASSERT_FATAL(wait_live("ETHUSDT", LIVE_WAIT_MS));
    fprintf(stderr, "test_feed: ETHUSDT live after %lld ms: %s\n",
            (long long)(tl_now_ms() - t0), st.last_error);
    CU_ASSERT(tl_now_ms() - t0 >= 1400);
    CU_ASSERT_EQUAL(st.snapshots, 1);
    CU_ASSERT(tl_contains(st.last_error, "budget"));
    CU_ASSERT_EQUAL(atomic_load(weight_taken), weight0 + 250);
    slot = use("ETHUSDT");
    CU_ASSERT(slot >= 0);
    CU_ASSERT(compare_with_fake("ETHUSDT") == 2 * MARKET_LEVELS);
    end = tl_now_ms() + 2000;
    while (tl_now_ms() < end && feed_info().streams != 8)
        tl_sleep_ms(20);
    CU_ASSERT_EQUAL(feed_info().streams, 8);
    /* nobody asks for ETHUSDT any more (BTCUSDT still is): dropped after
     * the idle time, and unsubscribed */
    end = tl_now_ms() + IDLE_MS + 4000;
    while (tl_now_ms() < end && market_find(mkt, "ETHUSDT") >= 0) {
        use("BTCUSDT");
        tl_sleep_ms(50);
    }
    CU_ASSERT_EQUAL(market_find(mkt, "ETHUSDT"), -1);
    end = tl_now_ms() + 2000;
    while (tl_now_ms() < end &&
           (market_read(mkt, slot, &st) < 0 || st.status != MARKET_EMPTY))
        tl_sleep_ms(20);
    CU_ASSERT_EQUAL(st.status, MARKET_EMPTY);
    CU_ASSERT_STRING_EQUAL(st.symbol, "");
    CU_ASSERT_EQUAL(feed_info().streams, 4);
    CU_ASSERT_FATAL(wait_live("BTCUSDT", LIVE_WAIT_MS));
}

/* The text messages the fake's stream server has received. */
static long
fake_received(void)
{
    json_object *o = wstest_info(&fx, "");
    long n = o != NULL ? (long)tl_int_at(o, "received") : -1;

    json_object_put(o);
    return n;
}

/* Waits (up to 3 s) for the fake to have received more than n messages;
 * returns the time it saw it, or 0. */
static int64_t
wait_received(long n)
{
    int64_t end = tl_now_ms() + 3000;

    while (tl_now_ms() < end) {
        if (fake_received() > n)
            return tl_now_ms();
        use("BTCUSDT");
        tl_sleep_ms(10);
    }
    return 0;
}

static void
test_subscriptions_paced(void)
{
    static const char *const syms[] = {"ETHUSDT", "BNBUSDT", "ETHBTC",
                                       "SOLUSDT", "XRPUSDT"};
    int64_t at[5];
    long r = fake_received();

    /* one SUBSCRIBE each: the fifth waits until a second after the first
     * (control_per_s 4) */
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_FATAL(market_request(mkt, syms[i], now_ms()) >= 0);
        CU_ASSERT_FATAL((at[i] = wait_received(r + i)) > 0);
    }
    fprintf(stderr,
            "test_feed: SUBSCRIBEs seen at +0, +%lld, +%lld, +%lld, "
            "+%lld ms\n",
            (long long)(at[1] - at[0]), (long long)(at[2] - at[0]),
            (long long)(at[3] - at[0]), (long long)(at[4] - at[0]));
    CU_ASSERT(at[4] - at[0] >= 850);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT(wait_live(syms[i], LIVE_WAIT_MS));
        CU_ASSERT_EQUAL(compare_with_fake(syms[i]), 2 * MARKET_LEVELS);
    }
    CU_ASSERT_EQUAL(feed_info().streams, 4 * 6);
}

static void
test_planned_reconnect(void)
{
    int64_t end;

    /* a feed whose connections are too old after 1.5 s */
    CU_ASSERT(stop_feed());
    CU_ASSERT_EQUAL(feed_info().ws_connected, 0);
    CU_ASSERT_FATAL(start_feed(1500) == 0);
    CU_ASSERT_FATAL(wait_live("BTCUSDT", LIVE_WAIT_MS));
    end = tl_now_ms() + 8000;
    while (tl_now_ms() < end && feed_info().planned_reconnects < 1) {
        use("BTCUSDT");
        tl_sleep_ms(20);
    }
    CU_ASSERT(feed_info().planned_reconnects >= 1);
    /* an event after the reconnect chains on the kept book; the feed keeps
     * reconnecting every 1.5 s, each time putting the book in doubt until
     * the next event, so events come until one is seen caught up */
    bool caught = false;
    end = tl_now_ms() + LIVE_WAIT_MS;
    for (int i = 0; !caught && tl_now_ms() < end; i++) {
        char path[128];
        snprintf(path, sizeof(path),
                 "/__fake/stream/depth?symbol=BTCUSDT&side=ask"
                 "&price=50000.02&qty=%d",
                 3 + i % 4);
        CU_ASSERT_EQUAL(wstest_post(&fx, path), 200);
        caught = wait_caught_up("BTCUSDT", 1000);
    }
    CU_ASSERT_FATAL(caught);
    fprintf(stderr,
            "test_feed: %llu planned reconnects, %u snapshots, %u resyncs\n",
            (unsigned long long)feed_info().planned_reconnects, st.snapshots,
            st.resyncs);
    CU_ASSERT(feed_info().connects >= 2);
    CU_ASSERT_EQUAL(st.snapshots, 1 + st.resyncs);
    CU_ASSERT_EQUAL(compare_with_fake("BTCUSDT"), 2 * MARKET_LEVELS);
}

static CU_TestInfo tests[] = {
    {"a requested symbol becomes live", test_requested_symbol_goes_live},
    {"thousands of random diffs: the slot's levels equal the fake's",
     test_random_diffs_equal},
    {"a scripted gap: one resync, one snapshot", test_gap_one_resync},
    {"aggTrades reach the ring, the kline follows", test_trades_in_ring},
    {"a book sample every second", test_samples_each_second},
    {"a dropped connection reconnects and rebuilds", test_disconnect_rebuilds},
    {"a second symbol waits for the budget; an idle one is dropped",
     test_second_symbol_then_idle_drop},
    {"subscriptions are paced; six symbols live", test_subscriptions_paced},
    {"a connection past its age is replaced", test_planned_reconnect},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"feed against the fake exchange", suite_init, suite_clean, NULL, NULL,
     tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return testlib_run(suites);
}
