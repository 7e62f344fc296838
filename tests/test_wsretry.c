/*
 * test_wsretry.c - unit tests of the reconnect policy every WebSocket of
 * binmcpd shares (src/binance/wsretry.c): settings corrected, the backoff's
 * growth, cap and jitter, the planned close, the age limit's range, and the
 * order of what a connection's times call for.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "testlib.h"
#include "wsretry.h"

static void
init(struct wsretry *r, int64_t min, int64_t max)
{
    int64_t timeout = 5000, age = 60000;

    wsretry_init(r, &min, &max, &timeout, &age, 42);
}

static void
test_settings_corrected(void)
{
    struct wsretry r;
    int64_t min = 0, max = -5, timeout = 0, age = 10;

    wsretry_init(&r, &min, &max, &timeout, &age, 1);
    CU_ASSERT_EQUAL(min, 1000);
    CU_ASSERT_EQUAL(max, 1000);
    CU_ASSERT_EQUAL(timeout, 10000);
    CU_ASSERT_EQUAL(age, 1000);
    CU_ASSERT_EQUAL(r.backoff_min_ms, 1000);
    CU_ASSERT_EQUAL(r.connects, 0);
}

/* min 100, max 1000: the n-th failure waits between half and all of
 * min * 2^n, never more than max; a success starts over; a planned close
 * waits nothing and is not counted. */
static void
test_backoff(void)
{
    struct wsretry r;
    int64_t full[] = {100, 200, 400, 800, 1000, 1000, 1000};

    init(&r, 100, 1000);
    for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
        int64_t d = wsretry_delay(&r, false);
        CU_ASSERT(d >= full[i] / 2 && d <= full[i]);
    }
    CU_ASSERT_EQUAL(r.attempts, 7);
    CU_ASSERT_EQUAL(wsretry_delay(&r, true), 0);
    CU_ASSERT_EQUAL(r.attempts, 7);
    wsretry_success(&r);
    int64_t d = wsretry_delay(&r, false);
    CU_ASSERT(d >= 50 && d <= 100);
}

/* The jitter spreads: 200 draws in [0, 1000) are not all the same. */
static void
test_jitter(void)
{
    struct wsretry r;
    int64_t lo = 1000, hi = -1;

    init(&r, 100, 1000);
    CU_ASSERT_EQUAL(wsretry_jitter(&r, 0), 0);
    for (int i = 0; i < 200; i++) {
        int64_t j = wsretry_jitter(&r, 1000);
        CU_ASSERT(j >= 0 && j < 1000);
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
    }
    CU_ASSERT(hi - lo > 500);
}

/* Opened once (counted, a reconnect the second time), too slow when it
 * never opens, aged once past its limit (60 s less at most 6 s), and a
 * planned close that takes too long. */
static void
test_due(void)
{
    struct wsretry r;

    init(&r, 100, 1000);
    wsretry_connecting(&r, 0);
    CU_ASSERT_EQUAL(wsretry_due(&r, 100, false, 5000, 60000, 600000, 2000),
                    WSRETRY_NOTHING);
    CU_ASSERT_EQUAL(wsretry_due(&r, 5001, false, 5000, 60000, 600000, 2000),
                    WSRETRY_TOO_SLOW);
    CU_ASSERT_EQUAL(wsretry_over(&r, 5001) >= 5001 + 50, 1);

    wsretry_connecting(&r, 10000);
    CU_ASSERT_EQUAL(wsretry_due(&r, 10100, true, 5000, 60000, 600000, 2000),
                    WSRETRY_OPENED);
    CU_ASSERT_EQUAL(r.connects, 1);
    CU_ASSERT_EQUAL(r.reconnects, 0);
    CU_ASSERT(r.age_limit_ms > 54000 && r.age_limit_ms <= 60000);
    CU_ASSERT_EQUAL(wsretry_due(&r, 20000, true, 5000, 60000, 600000, 2000),
                    WSRETRY_NOTHING);
    CU_ASSERT_EQUAL(
        wsretry_due(&r, 10100 + 60000, true, 5000, 60000, 600000, 2000),
        WSRETRY_AGED);
    CU_ASSERT_TRUE(r.planned);
    CU_ASSERT_EQUAL(
        wsretry_due(&r, 10100 + 61000, true, 5000, 60000, 600000, 2000),
        WSRETRY_NOTHING);
    CU_ASSERT_EQUAL(
        wsretry_due(&r, 10100 + 62100, true, 5000, 60000, 600000, 2000),
        WSRETRY_CLOSE_LATE);
    /* after a planned close the next connection starts at once */
    CU_ASSERT_EQUAL(wsretry_over(&r, 80000), 80000);
    wsretry_connecting(&r, 80000);
    CU_ASSERT_EQUAL(wsretry_due(&r, 80010, true, 5000, 60000, 600000, 2000),
                    WSRETRY_OPENED);
    CU_ASSERT_EQUAL(r.connects, 2);
    CU_ASSERT_EQUAL(r.reconnects, 1);
}

static CU_TestInfo wsretry_tests[] = {
    {"settings below their floors are corrected", test_settings_corrected},
    {"backoff doubles to its cap, half jittered", test_backoff},
    {"jitter stays in range and spreads", test_jitter},
    {"opened, too slow, aged, late close, in that order", test_due},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"wsretry", NULL, NULL, NULL, NULL, wsretry_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
