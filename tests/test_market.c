/*
 * test_market.c - the market segment (src/binance/market.c): numbers in
 * 10^-8 units, the request area (claims, stamps, idle drops), the rings'
 * wrap-around, and the seqlock under a forked writer hammering a slot while
 * this process checks that every copy it gets is one write's.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "market.h"
#include "shm.h"
#include "testlib.h"

static void
test_numbers(void)
{
    char buf[DEC_STR_MAX];
    int64_t v;
    struct dec d;

    CU_ASSERT_EQUAL(market_parse("50000.01000000", &v), 0);
    CU_ASSERT_EQUAL(v, 5000001000000LL);
    CU_ASSERT_STRING_EQUAL(market_format(v, buf), "50000.01");
    CU_ASSERT_EQUAL(market_parse("0.00000001", &v), 0);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_STRING_EQUAL(market_format(0, buf), "0");
    CU_ASSERT_STRING_EQUAL(market_format(MARKET_UNIT * 3, buf), "3");
    /* a 9th decimal, or above INT64_MAX / 10^8, cannot be written */
    CU_ASSERT_EQUAL(market_parse("0.000000001", &v), -1);
    CU_ASSERT_EQUAL(market_parse("92233720368.54775808", &v), -1);
    CU_ASSERT_EQUAL(market_parse("92233720368.54775807", &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MAX);
    CU_ASSERT_EQUAL(market_parse("-1", &v), -1);
    market_to_dec(123450000, &d);
    CU_ASSERT_STRING_EQUAL(dec_str(&d, buf), "1.2345");
}

static void
test_request_idle_drop(void)
{
    char err[256], sym[MARKET_SYMBOL_MAX];
    struct market *m = market_create(3, err, sizeof(err));
    struct market_state st;
    int64_t last;
    uint32_t claim, claim0;

    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_EQUAL(market_slots(m), 3);
    CU_ASSERT_EQUAL(market_request(m, "BTCUSDT", 1000), 0);
    CU_ASSERT_EQUAL(market_request(m, "BTCUSDT", 2000), 0); /* found */
    CU_ASSERT_EQUAL(market_request(m, "ETHUSDT", 1000), 1);
    CU_ASSERT_EQUAL(market_request(m, "BNBUSDT", 1000), 2);
    errno = 0;
    CU_ASSERT_EQUAL(market_request(m, "SOLUSDT", 1000), -1);
    CU_ASSERT_EQUAL(errno, ENOSPC);
    CU_ASSERT_EQUAL(market_request(m, "btcusdt", 1000), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(market_request(m, "", 1000), -1);
    CU_ASSERT_EQUAL(market_request(m, "BTC/USDT", 1000), -1);
    CU_ASSERT_EQUAL(market_claims(m), 3);
    CU_ASSERT_EQUAL(market_find(m, "ETHUSDT"), 1);
    CU_ASSERT_EQUAL(market_find(m, "SOLUSDT"), -1);

    CU_ASSERT_EQUAL(market_wanted(m, 0, sym, sizeof(sym), &last, &claim0), 0);
    CU_ASSERT_STRING_EQUAL(sym, "BTCUSDT");
    CU_ASSERT_EQUAL(last, 2000);
    /* read 500 ms ago, idle 1000: kept; a stale claim number: kept */
    CU_ASSERT_EQUAL(market_drop_idle(m, 0, claim0, 1000, 2500), 0);
    CU_ASSERT_EQUAL(market_drop_idle(m, 0, claim0 + 7, 1000, 9000), 0);
    /* a reader's stamp keeps it past the first deadline */
    CU_ASSERT_EQUAL(market_request(m, "BTCUSDT", 2900), 0);
    CU_ASSERT_EQUAL(market_drop_idle(m, 0, claim0, 1000, 3100), 0);
    CU_ASSERT_EQUAL(market_drop_idle(m, 0, claim0, 1000, 3900), 1);
    CU_ASSERT_EQUAL(market_find(m, "BTCUSDT"), -1);
    CU_ASSERT_EQUAL(market_drop_idle(m, 0, claim0, 1000, 9900), 0);
    /* the freed slot goes to the next symbol, with a new claim */
    CU_ASSERT_EQUAL(market_request(m, "SOLUSDT", 4000), 0);
    CU_ASSERT_EQUAL(market_wanted(m, 0, sym, sizeof(sym), &last, &claim), 0);
    CU_ASSERT_STRING_EQUAL(sym, "SOLUSDT");
    CU_ASSERT_NOT_EQUAL(claim, claim0);
    /* the old claim cannot drop the new symbol */
    CU_ASSERT_EQUAL(market_drop_idle(m, 0, claim0, 1000, 99000), 0);
    CU_ASSERT_EQUAL(market_wanted(m, 5, sym, sizeof(sym), &last, &claim), -1);

    /* the state: empty until the writer gives the slot its symbol */
    CU_ASSERT_EQUAL(market_read(m, 0, &st), 0);
    CU_ASSERT_STRING_EQUAL(st.symbol, "");
    CU_ASSERT_EQUAL(st.status, MARKET_EMPTY);
    market_writer_reset(m, 0, "SOLUSDT", MARKET_TRACKING, 4000);
    CU_ASSERT_EQUAL(market_read(m, 0, &st), 0);
    CU_ASSERT_STRING_EQUAL(st.symbol, "SOLUSDT");
    CU_ASSERT_EQUAL(st.status, MARKET_TRACKING);
    CU_ASSERT_EQUAL(st.generation, 1);
    CU_ASSERT_EQUAL(st.tracked_since_ms, 4000);
    CU_ASSERT_EQUAL(market_read(m, 3, &st), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NULL(market_create(MARKET_SYMBOLS_MAX + 1, err, sizeof(err)));
    market_destroy(m);
}

static void
test_rings_wrap(void)
{
    static struct market_trade out[MARKET_TRADES + 10];
    static struct market_sample sout[MARKET_SAMPLES + 10];
    char err[256];
    struct market *m = market_create(2, err, sizeof(err));
    const long n = 3 * MARKET_TRADES + 123;
    long got;

    CU_ASSERT_FATAL(m != NULL);
    market_writer_reset(m, 1, "BTCUSDT", MARKET_TRACKING, 1);
    for (long i = 1; i <= n; i++) {
        struct market_trade t = {.time_ms = i,
                                 .price = 2 * i,
                                 .qty = 3 * i,
                                 .agg_id = 100 + i,
                                 .buyer_maker = i & 1};
        market_push_trade(m, 1, &t);
    }
    /* all there is: the last MARKET_TRADES, oldest first */
    got = market_trades_since(m, 1, 0, out, MARKET_TRADES + 10);
    CU_ASSERT_EQUAL(got, MARKET_TRADES);
    CU_ASSERT_EQUAL(out[0].time_ms, n - MARKET_TRADES + 1);
    CU_ASSERT_EQUAL(out[got - 1].time_ms, n);
    for (long i = 0; i < got; i++)
        if (out[i].price != 2 * out[i].time_ms ||
            out[i].agg_id != 100 + out[i].time_ms ||
            (i > 0 && out[i].time_ms != out[i - 1].time_ms + 1)) {
            CU_FAIL("ring out of order or torn");
            break;
        }
    /* since a time, and the newest max of them */
    CU_ASSERT_EQUAL(market_trades_since(m, 1, n - 9, out, 100), 10);
    CU_ASSERT_EQUAL(out[0].time_ms, n - 9);
    CU_ASSERT_EQUAL(market_trades_since(m, 1, 0, out, 5), 5);
    CU_ASSERT_EQUAL(out[0].time_ms, n - 4);
    CU_ASSERT_EQUAL(out[4].time_ms, n);
    CU_ASSERT_EQUAL(market_trades_since(m, 1, n + 1, out, 5), 0);
    CU_ASSERT_EQUAL(market_trades_since(m, 0, 0, out, 5), 0);
    CU_ASSERT_EQUAL(market_trades_since(m, 2, 0, out, 5), -1);

    for (long i = 1; i <= 1000; i++) {
        struct market_sample x = {.time_ms = i * 1000, .bid = i, .ask = i + 1};
        market_push_sample(m, 1, &x);
    }
    got = market_samples_since(m, 1, 0, sout, MARKET_SAMPLES + 10);
    CU_ASSERT_EQUAL(got, MARKET_SAMPLES);
    CU_ASSERT_EQUAL(sout[0].time_ms, (1000 - MARKET_SAMPLES + 1) * 1000);
    CU_ASSERT_EQUAL(sout[got - 1].bid, 1000);
    CU_ASSERT_EQUAL(market_samples_since(m, 1, 991000, sout, 600), 10);

    /* the slot goes to another symbol: its rings start empty */
    market_writer_reset(m, 1, "ETHUSDT", MARKET_TRACKING, 2);
    CU_ASSERT_EQUAL(market_trades_since(m, 1, 0, out, 100), 0);
    CU_ASSERT_EQUAL(market_samples_since(m, 1, 0, sout, 100), 0);
    struct market_trade t = {.time_ms = 5, .price = 10};
    market_push_trade(m, 1, &t);
    CU_ASSERT_EQUAL(market_trades_since(m, 1, 0, out, 100), 1);
    CU_ASSERT_EQUAL(out[0].price, 10);
    market_destroy(m);
}

/* What the forked writer writes in write i: every field derived from i. */
static void
fill(struct market_state *st, int64_t i)
{
    st->book_update_id = (uint64_t)i;
    st->best_bid.price = i;
    st->best_ask.price = i + 1;
    st->nbids = st->nasks = (uint32_t)(i % MARKET_LEVELS);
    for (int k = 0; k < MARKET_LEVELS; k++) {
        st->bids[k].price = i * 1000 + k;
        st->asks[k].qty = i * 1000 - k;
    }
    snprintf(st->last_error, sizeof(st->last_error), "write %lld",
             (long long)i);
}

/* Whether a copy is one write's. */
static bool
consistent(const struct market_state *st)
{
    int64_t i = (int64_t)st->book_update_id;
    char want[MARKET_ERROR_MAX];

    if (i == 0)
        return st->best_bid.price == 0 && st->bids[99].price == 0;
    if (st->best_bid.price != i || st->best_ask.price != i + 1 ||
        st->nbids != (uint32_t)(i % MARKET_LEVELS) || st->nasks != st->nbids)
        return false;
    for (int k = 0; k < MARKET_LEVELS; k++)
        if (st->bids[k].price != i * 1000 + k ||
            st->asks[k].qty != i * 1000 - k)
            return false;
    snprintf(want, sizeof(want), "write %lld", (long long)i);
    return strcmp(want, st->last_error) == 0;
}

static void
test_seqlock_forked_writer(void)
{
    static struct market_state st;
    static struct market_trade tr[MARKET_TRADES];
    char err[256];
    struct market *m = market_create(1, err, sizeof(err));
    unsigned long reads = 0, torn = 0, again = 0, trade_reads = 0;
    int64_t seen_max = 0, distinct = 0, end = tl_now_ms() + 30000;
    int status = 0;
    pid_t pid;

    /* how many distinct writes the reader has seen, shared with the writer:
     * it writes until the reader saw 50 of them (or 20 s passed), so the
     * overlap does not depend on how the machine schedules the two */
    _Atomic int64_t *saw = shm_map(sizeof(*saw), "test", NULL, 0);

    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(saw != NULL);
    atomic_store(saw, 0);
    market_writer_reset(m, 0, "BTCUSDT", MARKET_TRACKING, 1);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int64_t stop = tl_now_ms() + 20000;
        for (int64_t i = 1;
             i % 1024 != 0 || (atomic_load(saw) < 50 && tl_now_ms() < stop);
             i++) {
            struct market_state *w = market_write_begin(m, 0);
            struct market_trade t = {
                .time_ms = i, .price = 2 * i, .qty = 3 * i, .agg_id = i};
            fill(w, i);
            market_write_end(m, 0);
            market_push_trade(m, 0, &t);
        }
        _exit(0);
    }
    while (tl_now_ms() < end) {
        bool done = tl_reaped(&pid, &status) == 1;
        if (market_read(m, 0, &st) < 0) {
            again++;
        } else {
            reads++;
            if (!consistent(&st))
                torn++;
            if ((int64_t)st.book_update_id > seen_max) {
                seen_max = (int64_t)st.book_update_id;
                distinct++;
                atomic_store(saw, distinct);
            }
        }
        if (reads % 16 == 0) {
            long n = market_trades_since(m, 0, 0, tr, MARKET_TRADES);
            trade_reads++;
            for (long k = 0; k < n; k++)
                if (tr[k].price != 2 * tr[k].time_ms ||
                    tr[k].qty != 3 * tr[k].time_ms ||
                    (k > 0 && tr[k].time_ms != tr[k - 1].time_ms + 1)) {
                    torn++;
                    break;
                }
        }
        if (done)
            break;
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        tl_wait_exit(pid, 5000, &status);
    }
    fprintf(stderr,
            "test_market: %lu reads (%lu ring reads), %lld distinct writes "
            "seen, %lu torn, %lu gave up\n",
            reads, trade_reads, (long long)distinct, torn, again);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(torn, 0);
    /* the reader saw 50 writes land while it read, none of them torn */
    CU_ASSERT(distinct >= 50);
    shm_unmap((void *)saw, sizeof(*saw));
    /* the last write is what remains */
    CU_ASSERT_EQUAL(market_read(m, 0, &st), 0);
    CU_ASSERT(st.book_update_id > 0 && st.book_update_id % 1024 == 1023);
    CU_ASSERT(consistent(&st));
    market_destroy(m);
}

static void
test_dead_writer_recovered(void)
{
    static struct market_state st;
    char err[256];
    struct market *m = market_create(2, err, sizeof(err));
    struct market_state *w;

    CU_ASSERT_FATAL(m != NULL);
    market_writer_reset(m, 1, "ETHUSDT", MARKET_TRACKING, 1);
    w = market_write_begin(m, 1);
    w->status = MARKET_LIVE;
    w->ws_connected = 1;
    market_write_end(m, 1);
    /* a writer that dies between begin and end */
    w = market_write_begin(m, 1);
    w->best_bid.price = 42;
    errno = 0;
    CU_ASSERT_EQUAL(market_read(m, 1, &st), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    /* the next feed repairs it: readable, stale, not connected */
    market_writer_recover(m, 2);
    CU_ASSERT_EQUAL(market_read(m, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status, MARKET_STALE);
    CU_ASSERT_EQUAL(st.ws_connected, 0);
    CU_ASSERT_STRING_EQUAL(st.symbol, "ETHUSDT");
    CU_ASSERT_EQUAL(market_read(m, 0, &st), 0);
    CU_ASSERT_EQUAL(st.status, MARKET_EMPTY);
    market_destroy(m);
    m = market_create(0, err, sizeof(err));
    CU_ASSERT_FATAL(m != NULL);
    fprintf(stderr, "test_market: %u slots: %zu bytes (%zu a slot)\n",
            market_slots(m), market_size(m), market_size(m) / market_slots(m));
    market_destroy(m);
}

static CU_TestInfo tests[] = {
    {"numbers in 10^-8 units", test_numbers},
    {"requests: claim, find, stamp, idle drop, reuse", test_request_idle_drop},
    {"rings wrap around and start empty for a new symbol", test_rings_wrap},
    {"seqlock: a forked writer, every copy consistent",
     test_seqlock_forked_writer},
    {"a writer dead mid-write: readers give up, the next feed repairs",
     test_dead_writer_recovered},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"market", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return testlib_run(suites);
}
