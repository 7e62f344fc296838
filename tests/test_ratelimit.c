/*
 * test_ratelimit.c - unit tests of the GCRA per-client limiter and of the
 * upstream weight budget, including their sharing between processes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "budget.h"
#include "ratelimit.h"
#include "testlib.h"

#define S  1000000000LL /* ns */
#define MS 1000000LL    /* ns */

/* 2025-01-01T00:00:00Z, on a minute boundary */
#define MINUTE0_MS 1735689600000LL

static int
wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

static struct ratelimit *
make(double rate, int burst, unsigned nbuckets)
{
    char err[256];
    struct ratelimit *rl = rl_create(rate, burst, nbuckets, err, sizeof(err));
    if (rl == NULL)
        fprintf(stderr, "%s\n", err);
    return rl;
}

/* ---- the limiter ---- */

static void
test_burst_limit_refill(void)
{
    struct ratelimit *rl = make(10, 5, 0); /* T = 100 ms, burst 5 */
    int64_t t = 1000 * S;
    double retry = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t, &retry), 1);
    CU_ASSERT_EQUAL(retry, -1); /* untouched when allowed */
    CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t, &retry), 0);
    CU_ASSERT(near(retry, 0.1));
    /* refused requests are not counted */
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t + 50 * MS, &retry), 0);
    CU_ASSERT(near(retry, 0.05));
    /* one interval later, one more request */
    CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t + 100 * MS, &retry), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t + 100 * MS, &retry), 0);
    CU_ASSERT(near(retry, 0.1));
    /* a steady 10/s goes through forever */
    for (int i = 2; i < 50; i++)
        CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t + i * 100 * MS, NULL), 1);
    /* after a quiet second the whole burst is back, not more */
    t += 10 * S;
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "10.0.0.1", t, NULL), 0);
    rl_destroy(rl);
}

static void
test_slow_rate(void)
{
    struct ratelimit *rl = make(0.5, 1, 0); /* one every 2 s */
    double retry = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "k", 100 * S, &retry), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "k", 100 * S + 500 * MS, &retry), 0);
    CU_ASSERT(near(retry, 1.5));
    CU_ASSERT_EQUAL(rl_retry_after_header(retry), 2);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "k", 102 * S, &retry), 1);
    rl_destroy(rl);
}

static void
test_independent_keys(void)
{
    struct ratelimit *rl = make(1, 2, 0);
    int64_t t = 50 * S;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "192.0.2.1", t, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "192.0.2.1", t, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "192.0.2.1", t, NULL), 0);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "192.0.2.2", t, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "192.0.2.2", t, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "192.0.2.2", t, NULL), 0);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "2001:db8::/64", t, NULL), 1);
    rl_destroy(rl);
}

/* More clients than slots: newcomers still get in; the least indebted
 * client is the one forgotten. */
static void
test_small_table(void)
{
    struct ratelimit *rl = make(1, 1, RL_WAYS); /* one set */
    char key[32];
    int64_t t = 10 * S;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    for (int i = 0; i < 3 * RL_WAYS; i++) {
        snprintf(key, sizeof(key), "client-%d", i);
        CU_ASSERT_EQUAL(rl_allow_at(rl, key, t + i * MS, NULL), 1);
    }
    /* the most recent RL_WAYS clients are still remembered */
    for (int i = 2 * RL_WAYS; i < 3 * RL_WAYS; i++) {
        snprintf(key, sizeof(key), "client-%d", i);
        CU_ASSERT_EQUAL(rl_allow_at(rl, key, t + 100 * MS, NULL), 0);
    }
    rl_destroy(rl);
}

static void
test_bad_settings(void)
{
    char err[256];
    CU_ASSERT_PTR_NULL(rl_create(0, 5, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad settings"));
    CU_ASSERT_PTR_NULL(rl_create(-1, 5, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(rl_create(NAN, 5, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(rl_create(10, 0, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(rl_create(1e-12, 1000, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too slow"));
    CU_ASSERT_PTR_NULL(ub_create(0, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "must be > 0"));
}

static void
test_client_key(void)
{
    struct sockaddr_in in = {0};
    struct sockaddr_in6 in6 = {0};
    struct sockaddr other = {0};
    char key[RL_KEY_MAX];

    in.sin_family = AF_INET;
    inet_pton(AF_INET, "203.0.113.7", &in.sin_addr);
    CU_ASSERT_STRING_EQUAL(
        rl_client_key((struct sockaddr *)&in, key, sizeof(key)), "203.0.113.7");
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:203.0.113.7", &in6.sin6_addr);
    CU_ASSERT_STRING_EQUAL(
        rl_client_key((struct sockaddr *)&in6, key, sizeof(key)),
        "203.0.113.7");
    inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &in6.sin6_addr);
    CU_ASSERT_STRING_EQUAL(
        rl_client_key((struct sockaddr *)&in6, key, sizeof(key)),
        "2001:db8:1:2::/64");
    inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
              &in6.sin6_addr);
    CU_ASSERT_STRING_EQUAL(
        rl_client_key((struct sockaddr *)&in6, key, sizeof(key)),
        "ffff:ffff:ffff:ffff::/64");
    CU_ASSERT(strlen("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/64") <
              RL_KEY_MAX);
    other.sa_family = AF_UNIX;
    CU_ASSERT_STRING_EQUAL(rl_client_key(&other, key, sizeof(key)), "other");
    CU_ASSERT_STRING_EQUAL(rl_client_key(NULL, key, sizeof(key)), "other");
}

static void
test_retry_after_header(void)
{
    CU_ASSERT_EQUAL(rl_retry_after_header(0), 1);
    CU_ASSERT_EQUAL(rl_retry_after_header(0.1), 1);
    CU_ASSERT_EQUAL(rl_retry_after_header(1.0), 1);
    CU_ASSERT_EQUAL(rl_retry_after_header(1.2), 2);
    CU_ASSERT_EQUAL(rl_retry_after_header(59.0001), 60);
    CU_ASSERT_EQUAL(rl_retry_after_header(NAN), 1);
    CU_ASSERT_EQUAL(rl_retry_after_header(1e12), 86400);
}

/* A child spends the burst on the real clock; the parent is limited. */
static void
test_shared_across_fork(void)
{
    struct ratelimit *rl = make(0.01, 3, 0); /* one per 100 s */
    double retry = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int n = 0;
        for (int i = 0; i < 3; i++)
            n += rl_allow(rl, "198.51.100.9", NULL);
        _exit(n);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 3);
    CU_ASSERT_EQUAL(rl_allow(rl, "198.51.100.9", &retry), 0);
    CU_ASSERT(retry > 90 && retry <= 100);
    CU_ASSERT(rl_retry_after_header(retry) >= retry &&
              rl_retry_after_header(retry) < retry + 1);
    CU_ASSERT_EQUAL(rl_allow(rl, "198.51.100.10", NULL), 1);
    rl_destroy(rl);
}

/* Processes hammering one key at one instant: exactly the burst passes. */
static void
test_concurrent_processes(void)
{
    enum { PROCS = 4, TRIES = 2000, BURST = 500 };
    struct ratelimit *rl = make(1, BURST, 0);
    pid_t pids[PROCS];
    int fds[2], total = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            int n = 0;
            for (int i = 0; i < TRIES; i++)
                n += rl_allow_at(rl, "shared", 7 * S, NULL);
            _exit(write(fds[1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
        }
    }
    close(fds[1]);
    for (int p = 0; p < PROCS; p++) {
        int n = 0;
        CU_ASSERT_EQUAL(read(fds[0], &n, sizeof(n)), (ssize_t)sizeof(n));
        total += n;
    }
    for (int p = 0; p < PROCS; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    close(fds[0]);
    CU_ASSERT_EQUAL(total, BURST);
    rl_destroy(rl);
}

/* A process dies holding a set's lock: the others go on. */
static void
test_dead_lock_holder(void)
{
    struct ratelimit *rl = make(1, 2, RL_WAYS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "a", 5 * S, NULL), 1);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        rl_debug_lock_and_exit(rl, "a");
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "a", 5 * S, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "b", 5 * S, NULL), 1);
    CU_ASSERT_EQUAL(rl_allow_at(rl, "a", 5 * S, NULL), 0);
    rl_destroy(rl);
}

/* ---- the upstream budget ---- */

static struct upstream_budget *
make_budget(int limit)
{
    char err[256];
    struct upstream_budget *b = ub_create(limit, err, sizeof(err));
    if (b == NULL)
        fprintf(stderr, "%s\n", err);
    return b;
}

static void
test_budget_minute(void)
{
    struct upstream_budget *b = make_budget(100);
    int64_t t = MINUTE0_MS + 15000; /* 15 s into the minute */
    long retry = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(ub_limit(b), 100);
    CU_ASSERT_EQUAL(ub_used(b, t), 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(ub_take(b, 10, t, &retry), 1);
    CU_ASSERT_EQUAL(retry, -1);
    CU_ASSERT_EQUAL(ub_used(b, t), 100);
    CU_ASSERT_EQUAL(ub_take(b, 1, t, &retry), 0);
    CU_ASSERT_EQUAL(retry, 45000);
    CU_ASSERT_EQUAL(ub_take(b, 0, t, NULL), 1); /* weightless */
    /* the next minute starts afresh */
    CU_ASSERT_EQUAL(ub_used(b, MINUTE0_MS + 60000), 0);
    CU_ASSERT_EQUAL(ub_take(b, 60, MINUTE0_MS + 60000, &retry), 1);
    CU_ASSERT_EQUAL(ub_take(b, 50, MINUTE0_MS + 61000, &retry), 0);
    CU_ASSERT_EQUAL(retry, 59000);
    CU_ASSERT_EQUAL(ub_take(b, 40, MINUTE0_MS + 61000, &retry), 1);
    /* a weight above the budget needs a whole minute */
    CU_ASSERT_EQUAL(ub_take(b, 500, MINUTE0_MS + 120000, &retry), 1);
    CU_ASSERT_EQUAL(ub_used(b, MINUTE0_MS + 120000), 100);
    CU_ASSERT_EQUAL(ub_take(b, 500, MINUTE0_MS + 121000, &retry), 0);
    /* a process whose clock lags counts in the newer minute */
    CU_ASSERT_EQUAL(ub_take(b, 1, MINUTE0_MS + 119999, &retry), 0);
    CU_ASSERT_EQUAL(retry, 60001);
    ub_destroy(b);
}

static void
test_budget_observe(void)
{
    struct upstream_budget *b = make_budget(6000);
    int64_t t = MINUTE0_MS + 1000;
    long retry;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(ub_take(b, 20, t, NULL), 1);
    ub_observe(b, 5990, t); /* other programs share the IP */
    CU_ASSERT_EQUAL(ub_used(b, t), 5990);
    ub_observe(b, 100, t); /* a late, smaller report changes nothing */
    ub_observe(b, -1, t);  /* no header */
    CU_ASSERT_EQUAL(ub_used(b, t), 5990);
    CU_ASSERT_EQUAL(ub_take(b, 10, t, NULL), 1);
    CU_ASSERT_EQUAL(ub_take(b, 1, t, &retry), 0);
    CU_ASSERT_EQUAL(retry, 59000);
    /* the next minute: a report about the last one is ignored */
    CU_ASSERT_EQUAL(ub_take(b, 5, MINUTE0_MS + 60000, NULL), 1);
    ub_observe(b, 6000, t);
    CU_ASSERT_EQUAL(ub_used(b, MINUTE0_MS + 60000), 5);
    /* a report that opens a minute */
    ub_observe(b, 42, MINUTE0_MS + 125000);
    CU_ASSERT_EQUAL(ub_used(b, MINUTE0_MS + 125000), 42);
    ub_observe(b, 10000000000L, MINUTE0_MS + 125000);
    CU_ASSERT_EQUAL(ub_take(b, 1, MINUTE0_MS + 125000, NULL), 0);
    ub_destroy(b);
}

static void
test_budget_hold(void)
{
    struct upstream_budget *b = make_budget(6000);
    int64_t t = MINUTE0_MS;
    long retry = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    ub_hold(b, t + 30000);
    ub_hold(b, t + 10000); /* a shorter hold does not shorten it */
    CU_ASSERT_EQUAL(ub_take(b, 1, t + 5000, &retry), 0);
    CU_ASSERT_EQUAL(retry, 25000);
    CU_ASSERT_EQUAL(ub_take(b, 0, t + 5000, &retry), 0);
    CU_ASSERT_EQUAL(ub_take(b, 1, t + 30000, &retry), 1);
    ub_destroy(b);
}

/* Processes taking at one instant: exactly the budget is handed out. */
static void
test_budget_processes(void)
{
    enum { PROCS = 4, TRIES = 1000, WEIGHT = 3, LIMIT = 6000 };
    struct upstream_budget *b = make_budget(LIMIT);
    pid_t pids[PROCS];
    int fds[2], total = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_FATAL(pipe(fds) == 0);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            int n = 0;
            for (int i = 0; i < TRIES; i++)
                n += ub_take(b, WEIGHT, MINUTE0_MS + 30000, NULL);
            _exit(write(fds[1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
        }
    }
    close(fds[1]);
    for (int p = 0; p < PROCS; p++) {
        int n = 0;
        CU_ASSERT_EQUAL(read(fds[0], &n, sizeof(n)), (ssize_t)sizeof(n));
        total += n;
    }
    for (int p = 0; p < PROCS; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    close(fds[0]);
    CU_ASSERT_EQUAL(total * WEIGHT, LIMIT);
    CU_ASSERT_EQUAL(ub_used(b, MINUTE0_MS + 30000), LIMIT);
    /* a hold set by one process stops the others */
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        ub_hold(b, MINUTE0_MS + 200000);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(ub_take(b, 1, MINUTE0_MS + 180000, NULL), 0);
    ub_destroy(b);
}

static void
test_request_weight(void)
{
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/time", NULL), 1);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/exchangeInfo", "symbol=BTCUSDT"), 20);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/depth", NULL), 5);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/depth", "symbol=BTCUSDT&limit=100"),
        5);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/depth", "symbol=BTCUSDT&limit=500"),
        25);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/depth", "limit=1000&symbol=X"), 50);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/depth", "symbol=X&limit=5000"), 250);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/ticker/24hr", "symbol=BTCUSDT"), 2);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/ticker/24hr", NULL), 80);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/ticker/24hr",
                                      "symbols=%5B%22A%22%2C%22B%22%5D"),
                    2);
    char q[1024] = "symbols=[";
    for (int i = 0; i < 21; i++)
        strcat(q, i ? ",\"S\"" : "\"S\"");
    strcat(q, "]");
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/ticker/24hr", q), 40);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/ticker/price", NULL), 4);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/ticker/price", "symbol=ETHBTC"), 2);
    CU_ASSERT_EQUAL(ub_request_weight("POST", "/api/v3/order", "symbol=X"), 1);
    CU_ASSERT_EQUAL(ub_request_weight("DELETE", "/api/v3/order", "symbol=X"),
                    1);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/order", "symbol=X"), 4);
    CU_ASSERT_EQUAL(ub_request_weight("POST", "/api/v3/order/test", "a=b"), 1);
    CU_ASSERT_EQUAL(ub_request_weight("POST", "/api/v3/order/test",
                                      "computeCommissionRates=true"),
                    20);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/openOrders", NULL), 80);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/openOrders", "symbol=X&x=1"), 6);
    /* a parameter whose name only starts like symbol does not count */
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/openOrders", "symbolx=X"),
                    80);
    CU_ASSERT_EQUAL(ub_request_weight("DELETE", "/api/v3/openOrders", NULL), 1);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/account", NULL), 20);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/myTrades", "symbol=X"),
                    20);
    CU_ASSERT_EQUAL(
        ub_request_weight("GET", "/api/v3/myTrades", "symbol=X&orderId=5"), 5);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/trades", NULL), 25);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/klines", NULL), 2);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/api/v3/avgPrice", NULL), 2);
    CU_ASSERT_EQUAL(ub_request_weight("GET", "/sapi/v1/whatever", NULL),
                    UB_WEIGHT_UNKNOWN);
}

static CU_TestInfo limiter_tests[] = {
    {"burst, then limited, then refilled", test_burst_limit_refill},
    {"a rate below one per second", test_slow_rate},
    {"keys are independent", test_independent_keys},
    {"more clients than slots", test_small_table},
    {"bad settings are refused", test_bad_settings},
    {"client keys from addresses", test_client_key},
    {"Retry-After values", test_retry_after_header},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo budget_tests[] = {
    {"a minute's budget, then the next", test_budget_minute},
    {"X-MBX-USED-WEIGHT-1M raises the count", test_budget_observe},
    {"a hold stops everything", test_budget_hold},
    {"request weights of Binance endpoints", test_request_weight},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo process_tests[] = {
    {"a child spends the burst, the parent is limited",
     test_shared_across_fork},
    {"processes on one key at once", test_concurrent_processes},
    {"a process dies holding a lock", test_dead_lock_holder},
    {"the budget across processes", test_budget_processes},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"limiter", NULL, NULL, NULL, NULL, limiter_tests},
    {"budget", NULL, NULL, NULL, NULL, budget_tests},
    {"processes", NULL, NULL, NULL, NULL, process_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
