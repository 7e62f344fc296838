/*
 * test_filters.c - unit tests of exact decimals (src/core/decimal.c), the
 * symbol cache's JSON lookup (symcache_get_json) and the local filter
 * checks and explanations (src/binance/filters.c): against BTCUSDT as the fake
 * exchange lists it (tests/fakex.h) and against hand-written symbols built
 * from the examples of Binance's filter documentation for the filters the
 * fake does not list.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "bnc.h"
#include "decimal.h"
#include "fakex.h"
#include "filters.h"
#include "symcache.h"
#include "testlib.h"

static struct fakex fx;

/* ---- helpers ---- */

/* Parses s, which must be valid. */
static struct dec
D(const char *s) {
    struct dec d = {0, 0};
    int rc = dec_parse(s, &d);

    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "not a decimal: %s\n", s);
    return d;
}

/* Whether dec_parse(s) formats back as want. */
static int
roundtrip(const char *s, const char *want)
{
    struct dec d;
    char buf[DEC_STR_MAX];

    if (dec_parse(s, &d) != 0 || dec_format(&d, buf, sizeof(buf)) != 0)
        return 0;
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "%s formats as %s, not %s\n", s, buf, want);
    return strcmp(buf, want) == 0;
}

/* A binary operation on two strings; "ERR" when it fails. */
static const char *
op(int (*fn)(const struct dec *, const struct dec *, struct dec *),
   const char *a, const char *b, char buf[DEC_STR_MAX])
{
    struct dec x = D(a), y = D(b), r;

    if (fn(&x, &y, &r) != 0)
        return "ERR";
    return dec_str(&r, buf);
}

static const char *
divide(const char *a, const char *b, int scale, enum dec_round mode,
       char buf[DEC_STR_MAX])
{
    struct dec x = D(a), y = D(b), r;

    if (dec_div(&x, &y, scale, mode, &r) != 0)
        return "ERR";
    return dec_str(&r, buf);
}

/* floor (up == 0) or ceil of v to the grid origin + k*step. */
static const char *
to_step(const char *v, const char *origin, const char *step, int up,
        char buf[DEC_STR_MAX])
{
    struct dec x = D(v), o, s = D(step), r;
    int rc;

    if (origin != NULL)
        o = D(origin);
    rc = up ? dec_ceil_step(&x, origin != NULL ? &o : NULL, &s, &r)
            : dec_floor_step(&x, origin != NULL ? &o : NULL, &s, &r);
    return rc != 0 ? "ERR" : dec_str(&r, buf);
}

static int
multiple(const char *v, const char *origin, const char *step)
{
    struct dec x = D(v), o, s = D(step);

    if (origin != NULL)
        o = D(origin);
    return dec_is_step_multiple(&x, origin != NULL ? &o : NULL, &s);
}

/* ---- decimal: parsing and formatting ---- */

static void
test_dec_parse_valid(void)
{
    CU_ASSERT(roundtrip("0", "0"));
    CU_ASSERT(roundtrip("0.0", "0"));
    CU_ASSERT(roundtrip("0.00000000", "0"));
    CU_ASSERT(roundtrip("000", "0"));
    CU_ASSERT(roundtrip("0.00001000", "0.00001"));
    CU_ASSERT(roundtrip("50000.01", "50000.01"));
    CU_ASSERT(roundtrip("50000.00000000", "50000"));
    CU_ASSERT(roundtrip("100", "100"));
    CU_ASSERT(roundtrip("10.0", "10"));
    CU_ASSERT(roundtrip("007.50", "7.5"));
    CU_ASSERT(roundtrip("1000000.00000000", "1000000"));
    CU_ASSERT(roundtrip("0.1", "0.1"));
    /* never an exponent, however small */
    CU_ASSERT(roundtrip("0.00000000000000000000000000000000000001",
                        "0.00000000000000000000000000000000000001"));
    /* trailing zeros past 38 decimals do not count */
    CU_ASSERT(roundtrip("0.100000000000000000000000000000000000000000", "0.1"));
}

static void
test_dec_parse_38_digits(void)
{
    struct dec d;

    /* 38 significant digits: the largest there is, and with a point */
    CU_ASSERT(roundtrip("99999999999999999999999999999999999999",
                        "99999999999999999999999999999999999999"));
    CU_ASSERT(roundtrip("1234567890123456789.0123456789012345678",
                        "1234567890123456789.0123456789012345678"));
    CU_ASSERT(roundtrip("0.12345678901234567890123456789012345678",
                        "0.12345678901234567890123456789012345678"));
    /* leading zeros are not significant */
    CU_ASSERT(roundtrip("000099999999999999999999999999999999999999",
                        "99999999999999999999999999999999999999"));
    /* 39 significant digits, or 39 decimals, are refused */
    CU_ASSERT_EQUAL(dec_parse("100000000000000000000000000000000000000", &d),
                    -1);
    CU_ASSERT_EQUAL(dec_parse("1.00000000000000000000000000000000000001", &d),
                    -1);
    CU_ASSERT_EQUAL(dec_parse("0.000000000000000000000000000000000000001", &d),
                    -1);
}

static void
test_dec_parse_invalid(void)
{
    static const char *const bad[] = {
        "",   ".",     ".5",    "5.",   "-1",  "+1",   "1e-5", "1E5",
        " 1", "1 ",    "1.2.3", "0x10", "NaN", "inf",  "1,5",  "١",
        "--", "0.0.0", "1_000", "\t1",  "5e0", "0.1-", "1/2",
    };
    struct dec d = {7, 0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(dec_parse(bad[i], &d), -1);
        if (dec_parse(bad[i], &d) != -1)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
    }
    CU_ASSERT_EQUAL(dec_parse(NULL, &d), -1);
    /* a refused text leaves *out alone */
    CU_ASSERT(d.mant == 7 && d.scale == 0);
}

static void
test_dec_format_buffer(void)
{
    struct dec d = D("0.00001");
    char small[7], exact[8];

    /* "0.00001" needs 8 bytes */
    CU_ASSERT_EQUAL(dec_format(&d, small, sizeof(small)), -1);
    CU_ASSERT_STRING_EQUAL(small, "");
    CU_ASSERT_EQUAL(dec_format(&d, exact, sizeof(exact)), 0);
    CU_ASSERT_STRING_EQUAL(exact, "0.00001");
    dec_from_u64(UINT64_MAX, &d);
    char buf[DEC_STR_MAX];
    CU_ASSERT_STRING_EQUAL(dec_str(&d, buf), "18446744073709551615");
}

/* ---- decimal: arithmetic ---- */

static void
test_dec_compare(void)
{
    struct dec a = D("0.1"), b = D("0.10000000"), c = D("1.00000001");
    struct dec one = D("1"), big = D("99999999999999999999999999999999999999"),
               big2 = D("99999999999999999999999999999999999998"),
               tiny = D("0.00000000000000000000000000000000000001");

    CU_ASSERT_EQUAL(dec_cmp(&a, &b), 0);
    CU_ASSERT_EQUAL(dec_cmp(&one, &c), -1);
    CU_ASSERT_EQUAL(dec_cmp(&c, &one), 1);
    CU_ASSERT_EQUAL(dec_cmp(&big, &big2), 1);
    CU_ASSERT_EQUAL(dec_cmp(&tiny, &big), -1);
    CU_ASSERT_EQUAL(dec_cmp(&big, &tiny), 1);
    CU_ASSERT(dec_is_zero(&(struct dec){0, 0}));
    CU_ASSERT(!dec_is_zero(&tiny));
}

static void
test_dec_exact_where_double_fails(void)
{
    char buf[DEC_STR_MAX];
    volatile double x = 0.1, y = 0.2, z = 0.3, p, q;
    struct dec s, r;

    /* binary floating point gets these wrong ... */
    CU_ASSERT(x + y != z);
    p = 99999999.12345679;
    q = p / 1e-8;
    CU_ASSERT((long long)q != 9999999912345679LL);
    /* ... decimals do not */
    CU_ASSERT_STRING_EQUAL(op(dec_add, "0.1", "0.2", buf), "0.3");
    s = D("0.1");
    r = D("0.2");
    CU_ASSERT_EQUAL(dec_add(&s, &r, &s), 0); /* out may alias */
    r = D("0.3");
    CU_ASSERT_EQUAL(dec_cmp(&s, &r), 0);
    CU_ASSERT_EQUAL(multiple("0.3", NULL, "0.1"), 1);
    /* a 1e8 price on a 1e-8 tick */
    CU_ASSERT_STRING_EQUAL(
        divide("99999999.12345679", "0.00000001", 0, DEC_ROUND_DOWN, buf),
        "9999999912345679");
    CU_ASSERT_EQUAL(multiple("99999999.12345679", NULL, "0.00000001"), 1);
    CU_ASSERT_EQUAL(multiple("99999999.123456785", NULL, "0.00000001"), 0);
    CU_ASSERT_STRING_EQUAL(
        to_step("99999999.123456785", NULL, "0.00000001", 0, buf),
        "99999999.12345678");
    CU_ASSERT_STRING_EQUAL(
        to_step("99999999.123456785", NULL, "0.00000001", 1, buf),
        "99999999.12345679");
    CU_ASSERT_STRING_EQUAL(
        to_step("99999999.999999995", NULL, "0.00000001", 1, buf), "100000000");
    CU_ASSERT_STRING_EQUAL(op(dec_add, "99999999.12345678", "0.00000001", buf),
                           "99999999.12345679");
}

static void
test_dec_add_sub(void)
{
    char buf[DEC_STR_MAX];

    CU_ASSERT_STRING_EQUAL(op(dec_add, "50000.01", "0.00001", buf),
                           "50000.01001");
    CU_ASSERT_STRING_EQUAL(op(dec_add, "0.5", "0.5", buf), "1");
    CU_ASSERT_STRING_EQUAL(op(dec_sub, "1", "0.00000001", buf), "0.99999999");
    CU_ASSERT_STRING_EQUAL(op(dec_sub, "0.3", "0.3", buf), "0");
    CU_ASSERT_STRING_EQUAL(op(dec_sub, "0.1", "0.2", buf), "ERR");
    /* 38 digits, and one more */
    CU_ASSERT_STRING_EQUAL(
        op(dec_add, "99999999999999999999999999999999999998", "1", buf),
        "99999999999999999999999999999999999999");
    CU_ASSERT_STRING_EQUAL(
        op(dec_add, "99999999999999999999999999999999999999", "1", buf), "ERR");
    /* an exact sum that needs 39 significant digits is refused */
    CU_ASSERT_STRING_EQUAL(
        op(dec_add, "10000000000000000000000000000000000000", "0.1", buf),
        "ERR");
    CU_ASSERT_STRING_EQUAL(op(dec_sub, "99999999999999999999999999999999999999",
                              "0.00000000000000000000000000000000000001", buf),
                           "ERR");
    CU_ASSERT_STRING_EQUAL(op(dec_sub,
                              "0.12345678901234567890123456789012345678",
                              "0.12345678901234567890123456789012345677", buf),
                           "0.00000000000000000000000000000000000001");
}

static void
test_dec_mul(void)
{
    char buf[DEC_STR_MAX];

    CU_ASSERT_STRING_EQUAL(op(dec_mul, "0.00001", "50000.01", buf),
                           "0.5000001");
    CU_ASSERT_STRING_EQUAL(op(dec_mul, "0.0001", "50000", buf), "5");
    CU_ASSERT_STRING_EQUAL(op(dec_mul, "0", "123.45", buf), "0");
    CU_ASSERT_STRING_EQUAL(op(dec_mul, "0.5", "0.2", buf), "0.1");
    CU_ASSERT_STRING_EQUAL(
        op(dec_mul, "1234567890123456789", "1234567890123456789", buf),
        "1524157875323883675019051998750190521");
    /* 39 digits */
    CU_ASSERT_STRING_EQUAL(
        op(dec_mul, "12345678901234567890", "12345678901234567890", buf),
        "ERR");
    /* 40 decimals */
    CU_ASSERT_STRING_EQUAL(
        op(dec_mul, "0.00000000000000000001", "0.00000000000000000001", buf),
        "ERR");
    /* a 65-digit intermediate whose trailing zeros make it fit:
     * 2^100 / 10^38 * 5^50 / 10^18 = 2^50 / 10^6 */
    CU_ASSERT_STRING_EQUAL(op(dec_mul,
                              "0.00000001267650600228229401496703205376",
                              "88817841970012523.233890533447265625", buf),
                           "1125899906.842624");
}

static void
test_dec_div(void)
{
    char buf[DEC_STR_MAX];

    CU_ASSERT_STRING_EQUAL(divide("1", "3", 8, DEC_ROUND_DOWN, buf),
                           "0.33333333");
    CU_ASSERT_STRING_EQUAL(divide("1", "3", 8, DEC_ROUND_UP, buf),
                           "0.33333334");
    CU_ASSERT_STRING_EQUAL(divide("2", "3", 8, DEC_ROUND_HALF_UP, buf),
                           "0.66666667");
    CU_ASSERT_STRING_EQUAL(divide("1", "3", 8, DEC_ROUND_HALF_UP, buf),
                           "0.33333333");
    CU_ASSERT_STRING_EQUAL(divide("10", "4", 0, DEC_ROUND_HALF_UP, buf), "3");
    CU_ASSERT_STRING_EQUAL(divide("10", "4", 0, DEC_ROUND_DOWN, buf), "2");
    CU_ASSERT_STRING_EQUAL(divide("10", "4", 1, DEC_ROUND_DOWN, buf), "2.5");
    /* the average of 50000.01 and 50000.02 (sum / 2, 8 decimals) */
    CU_ASSERT_STRING_EQUAL(divide("100000.03", "2", 8, DEC_ROUND_HALF_UP, buf),
                           "50000.015");
    /* iceberg parts: ceil(1 / 0.099) = 11, exact division stays exact */
    CU_ASSERT_STRING_EQUAL(divide("1", "0.099", 0, DEC_ROUND_UP, buf), "11");
    CU_ASSERT_STRING_EQUAL(divide("1", "0.1", 0, DEC_ROUND_UP, buf), "10");
    CU_ASSERT_STRING_EQUAL(divide("5", "49999.99", 5, DEC_ROUND_UP, buf),
                           "0.00011");
    CU_ASSERT_STRING_EQUAL(divide("1", "0", 8, DEC_ROUND_DOWN, buf), "ERR");
    CU_ASSERT_STRING_EQUAL(divide("1", "3", 39, DEC_ROUND_DOWN, buf), "ERR");
    CU_ASSERT_STRING_EQUAL(divide("1", "3", -1, DEC_ROUND_DOWN, buf), "ERR");
    CU_ASSERT_STRING_EQUAL(divide("99999999999999999999999999999999999999",
                                  "0.00000000000000000000000000000000000001", 0,
                                  DEC_ROUND_DOWN, buf),
                           "ERR");
    CU_ASSERT_STRING_EQUAL(divide("1", "99999999999999999999999999999999999999",
                                  38, DEC_ROUND_UP, buf),
                           "0.00000000000000000000000000000000000002");
}

static void
test_dec_steps(void)
{
    char buf[DEC_STR_MAX];

    CU_ASSERT_STRING_EQUAL(to_step("50000.015", NULL, "0.01", 0, buf),
                           "50000.01");
    CU_ASSERT_STRING_EQUAL(to_step("50000.015", NULL, "0.01", 1, buf),
                           "50000.02");
    CU_ASSERT_STRING_EQUAL(to_step("50000.01", NULL, "0.01000000", 1, buf),
                           "50000.01");
    CU_ASSERT_STRING_EQUAL(to_step("0.000015", NULL, "0.00001", 0, buf),
                           "0.00001");
    CU_ASSERT_STRING_EQUAL(to_step("0.000015", NULL, "0.00001", 1, buf),
                           "0.00002");
    CU_ASSERT_STRING_EQUAL(to_step("7", NULL, "5", 0, buf), "5");
    CU_ASSERT_STRING_EQUAL(to_step("7", NULL, "0.5", 1, buf), "7");
    /* value = min + k * step */
    CU_ASSERT_STRING_EQUAL(to_step("0.000025", "0.00001", "0.00002", 0, buf),
                           "0.00001");
    CU_ASSERT_STRING_EQUAL(to_step("0.000025", "0.00001", "0.00002", 1, buf),
                           "0.00003");
    CU_ASSERT_EQUAL(multiple("0.00003", "0.00001", "0.00002"), 1);
    CU_ASSERT_EQUAL(multiple("0.00002", "0.00001", "0.00002"), 0);
    CU_ASSERT_EQUAL(multiple("0.00002", NULL, "0.00002"), 1);
    CU_ASSERT_EQUAL(multiple("0.00001", "0.00001", "0.00002"), 1);
    /* below the origin: no floor; the ceiling is the origin */
    CU_ASSERT_STRING_EQUAL(to_step("0.000005", "0.00001", "0.00002", 0, buf),
                           "ERR");
    CU_ASSERT_STRING_EQUAL(to_step("0.000005", "0.00001", "0.00002", 1, buf),
                           "0.00001");
    CU_ASSERT_EQUAL(multiple("0.000005", "0.00001", "0.00002"), 0);
    /* a zero step is no grid */
    CU_ASSERT_STRING_EQUAL(to_step("1", NULL, "0", 0, buf), "ERR");
    CU_ASSERT_STRING_EQUAL(to_step("1", NULL, "0", 1, buf), "ERR");
    CU_ASSERT_EQUAL(multiple("1", NULL, "0.00000000"), -1);
    /* 38 digits */
    CU_ASSERT_STRING_EQUAL(
        to_step("9999999999999999999999999999999999999.5", NULL, "1", 0, buf),
        "9999999999999999999999999999999999999");
    CU_ASSERT_STRING_EQUAL(
        to_step("9999999999999999999999999999999999999.5", NULL, "1", 1, buf),
        "10000000000000000000000000000000000000");
    /* (10^38 - 1) % 7 == 1: its ceiling needs 39 digits */
    CU_ASSERT_STRING_EQUAL(
        to_step("99999999999999999999999999999999999999", NULL, "7", 1, buf),
        "ERR");
    CU_ASSERT_STRING_EQUAL(
        to_step("99999999999999999999999999999999999999", NULL, "7", 0, buf),
        "99999999999999999999999999999999999998");
    CU_ASSERT_EQUAL(multiple("0.00000000000000000000000000000000000004", NULL,
                             "0.00000000000000000000000000000000000002"),
                    1);
}

/* ---- symcache_get_json against the fake exchange ---- */

static void
test_symcache_get_json(void)
{
    struct bnc_response resp;
    struct sym_info si;
    json_object *sym = NULL;

    symcache_reset();
    fakex_reset(&fx);
    CU_ASSERT_EQUAL(symcache_get_json("BTCUSDT", &sym, &resp), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sym, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sym, "status"), "TRADING");
    CU_ASSERT_STRING_EQUAL(tl_str_at(sym, "quoteAsset"), "USDT");
    CU_ASSERT_EQUAL(tl_int_at(sym, "baseAssetPrecision"), 8);
    CU_ASSERT(tl_len_at(sym, "filters") >= 3);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sym, "filters.0.tickSize"),
                           FAKEX_TICK_USDT);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sym, "orderTypes.0"), "LIMIT");
    json_object_put(sym);

    /* case-insensitive, the same cache: one exchangeInfo for all */
    CU_ASSERT_EQUAL(symcache_get_json("ethbtc", &sym, NULL), 0);
    CU_ASSERT_STRING_EQUAL(tl_str_at(sym, "filters.0.tickSize"),
                           FAKEX_TICK_ETHBTC);
    json_object_put(sym);
    CU_ASSERT_EQUAL(symcache_get("BTCUSDT", &si, NULL), 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/exchangeInfo"), 1);

    /* no such symbol, and names that cannot be one */
    sym = (json_object *)&fx; /* must be reset to NULL */
    CU_ASSERT_EQUAL(symcache_get_json("NOPEUSDT", &sym, NULL), 1);
    CU_ASSERT_PTR_NULL(sym);
    CU_ASSERT_EQUAL(symcache_get_json(NULL, &sym, NULL), 1);
    CU_ASSERT_EQUAL(symcache_get_json("ABCDEFGHIJKLMNOPQRSTUVWXYZ", &sym, NULL),
                    1);

    /* each caller gets its own copy */
    json_object *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL(symcache_get_json("BTCUSDT", &a, NULL), 0);
    CU_ASSERT_EQUAL(symcache_get_json("BTCUSDT", &b, NULL), 0);
    CU_ASSERT(a != b);
    json_object_object_del(a, "filters");
    CU_ASSERT(tl_len_at(b, "filters") >= 3);
    json_object_put(a);
    json_object_put(b);
}

static void
test_symcache_get_json_unreachable(void)
{
    struct bnc_response resp;
    json_object *sym = NULL;

    symcache_reset();
    fakex_reset(&fx);
    CU_ASSERT_EQUAL(
        fakex_fault(&fx, "type=500&path=/api/v3/exchangeInfo&count=1"), 0);
    CU_ASSERT_EQUAL(symcache_get_json("BTCUSDT", &sym, &resp), -1);
    CU_ASSERT_PTR_NULL(sym);
    CU_ASSERT_NOT_EQUAL(resp.status, BNC_OK);
    bnc_response_free(&resp);
    /* the next call loads it */
    symcache_reset();
    CU_ASSERT_EQUAL(symcache_get_json("BTCUSDT", &sym, NULL), 0);
    json_object_put(sym);
}

static int thread_fail;

static void *
lookup_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        json_object *sym = NULL;
        if (symcache_get_json(i % 2 ? "BTCUSDT" : "ETHUSDT", &sym, NULL) != 0 ||
            tl_len_at(sym, "filters") < 3)
            __atomic_store_n(&thread_fail, 1, __ATOMIC_SEQ_CST);
        json_object_put(sym);
    }
    bnc_thread_cleanup();
    return NULL;
}

static void
test_symcache_get_json_threads(void)
{
    pthread_t t[8];

    symcache_reset();
    fakex_reset(&fx);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(pthread_create(&t[i], NULL, lookup_thread, NULL), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(thread_fail, 0);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/exchangeInfo"), 1);
}

/* ---- filters against BTCUSDT from the fake exchange ---- */

static json_object *btc; /* BTCUSDT's exchangeInfo entry */

static int
fake_suite_init(void)
{
    symcache_reset();
    return symcache_get_json("BTCUSDT", &btc, NULL) == 0 ? 0 : -1;
}

static int
fake_suite_cleanup(void)
{
    json_object_put(btc);
    btc = NULL;
    return 0;
}

/* Checks leg; returns the sentence (static storage), "" when it passed. */
static const char *
check(json_object *sym, const struct filters_leg *leg)
{
    static char why[512];
    int rc;

    memset(why, 'x', sizeof(why) - 1);
    why[sizeof(why) - 1] = '\0';
    rc = filters_check_leg(sym, leg, why, sizeof(why));
    if ((rc == 0) != (why[0] == '\0'))
        return "inconsistent return and sentence";
    return why;
}

static void
test_fake_valid_orders(void)
{
    CU_ASSERT_STRING_EQUAL(
        check(btc, &(struct filters_leg){.type = "LIMIT",
                                         .side = "BUY",
                                         .quantity = "0.001",
                                         .price = "50000.01",
                                         .time_in_force = "GTC"}),
        "");
    CU_ASSERT_STRING_EQUAL(
        check(btc, &(struct filters_leg){.type = "MARKET",
                                         .side = "SELL",
                                         .quantity = "0.00100000",
                                         .ref_price = FAKEX_BTCUSDT_AVG_PRICE}),
        "");
    CU_ASSERT_STRING_EQUAL(
        check(btc, &(struct filters_leg){.type = "MARKET",
                                         .side = "BUY",
                                         .quote_order_qty = "5"}),
        "");
    CU_ASSERT_STRING_EQUAL(
        check(btc, &(struct filters_leg){.type = "STOP_LOSS_LIMIT",
                                         .side = "SELL",
                                         .quantity = "0.01",
                                         .price = "48000",
                                         .stop_price = "48500.5",
                                         .time_in_force = "GTC"}),
        "");
    CU_ASSERT_STRING_EQUAL(
        check(btc, &(struct filters_leg){.type = "LIMIT",
                                         .side = "BUY",
                                         .quantity = "0.01",
                                         .price = "50000",
                                         .iceberg_qty = "0.001",
                                         .time_in_force = "GTC"}),
        "");
}

static void
test_fake_price_filter(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "0.001",
                              .price = "50000.015",
                              .time_in_force = "GTC"};

    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "PRICE_FILTER: price 50000.015 is not a multiple "
                           "of the tick size 0.01; use 50000.01 or 50000.02.");
    leg.price = "50000.02";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
    leg.price = "0.001";
    leg.quantity = "9000";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "PRICE_FILTER: price 0.001 is below the minimum "
                           "price 0.01; use 0.01 or more.");
    leg.price = "2000000";
    leg.quantity = "0.001";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "PRICE_FILTER: price 2000000 is above the maximum "
                           "price 1000000; use 1000000 or less.");
    /* stopPrice is held to the same filter */
    leg.type = "STOP_LOSS_LIMIT";
    leg.price = "49000";
    leg.stop_price = "49000.005";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "PRICE_FILTER: stopPrice 49000.005 is not a "
                           "multiple of the tick size 0.01; use 49000 or "
                           "49000.01.");
    leg.stop_price = "49000.01";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
}

/* The model corrects an order step by step from the sentences alone. */
static void
test_fake_lot_then_notional(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "0.000015",
                              .price = "50000",
                              .time_in_force = "GTC"};

    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "LOT_SIZE: quantity 0.000015 is not a multiple of "
                           "the step size 0.00001; use 0.00001 or 0.00002.");
    leg.quantity = "0.00002";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "NOTIONAL: quantity 0.00002 at the price 50000 is "
                           "worth 1 USDT, below the minimum notional 5; use "
                           "a quantity of at least 0.0001.");
    leg.quantity = "0.0001"; /* exactly 5 USDT */
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
    /* one cent less on the price: 4.999999 USDT */
    leg.price = "49999.99";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "NOTIONAL: quantity 0.0001 at the price 49999.99 "
                           "is worth 4.999999 USDT, below the minimum "
                           "notional 5; use a quantity of at least 0.00011.");
    leg.quantity = "0.00011";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
}

static void
test_fake_lot_size_bounds(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "SELL",
                              .quantity = "0.000001",
                              .price = "50000",
                              .time_in_force = "GTC"};

    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "LOT_SIZE: quantity 0.000001 is below the minimum "
                           "quantity 0.00001; use 0.00001 or more.");
    leg.quantity = "9000.00001";
    leg.price = "0.01";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "LOT_SIZE: quantity 9000.00001 is above the "
                           "maximum quantity 9000; use 9000 or less.");
    leg.quantity = "9000";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), ""); /* worth 90 USDT */
}

static void
test_fake_notional_max_and_market(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "200",
                              .price = "50000",
                              .time_in_force = "GTC"};

    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "NOTIONAL: quantity 200 at the price 50000 is "
                           "worth 10000000 USDT, above the maximum notional "
                           "9000000; use a quantity of at most 180.");
    leg.quantity = "180";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");

    /* MARKET: the minimum applies (applyMinToMarket), valued at the
     * reference price; the maximum does not (applyMaxToMarket false) */
    leg = (struct filters_leg){.type = "MARKET",
                               .side = "BUY",
                               .quantity = "0.00005",
                               .ref_price = FAKEX_BTCUSDT_AVG_PRICE};
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "NOTIONAL: quantity 0.00005 at the current price "
                           "49950 is worth 2.4975 USDT, below the minimum "
                           "notional 5; use a quantity of at least 0.00011.");
    leg.quantity = "0.00011";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
    leg.quantity = "200";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
    /* no reference price: nothing to value it at, so no notional check */
    leg.quantity = "0.00005";
    leg.ref_price = NULL;
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
    /* an unreadable reference price is the same as none */
    leg.ref_price = "n/a";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");

    /* quoteOrderQty is the value itself */
    leg = (struct filters_leg){
        .type = "MARKET", .side = "BUY", .quote_order_qty = "1"};
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "NOTIONAL: quoteOrderQty 1 is below the minimum "
                           "notional 5 USDT; use a quoteOrderQty of at least "
                           "5.");
    leg.type = "LIMIT";
    leg.quote_order_qty = "10";
    leg.price = "50000";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "quoteOrderQty: only MARKET orders take it, not "
                           "LIMIT.");
}

static void
test_fake_symbol_and_params(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "1e-5",
                              .price = "50000",
                              .time_in_force = "GTC"};
    json_object *luna = NULL;

    CU_ASSERT(tl_contains(check(btc, &leg),
                          "quantity: \"1e-5\" is not a plain decimal number"));
    leg.quantity = "-0.001";
    CU_ASSERT(tl_contains(check(btc, &leg), "quantity: \"-0.001\""));
    leg.quantity = "0.001";
    leg.price = "50,000";
    CU_ASSERT(tl_contains(check(btc, &leg), "price: \"50,000\""));
    leg.price = "50000";
    leg.side = "buy";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "side: \"buy\" is neither BUY nor SELL.");
    leg.side = "BUY";
    leg.type = "OCO";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "orderTypes: BTCUSDT does not take OCO orders; it "
                           "takes LIMIT, MARKET, LIMIT_MAKER, STOP_LOSS, "
                           "STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT.");
    leg.type = NULL;
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "type: the order has no type.");

    /* the fake lists LUNAUSDT in BREAK */
    CU_ASSERT_EQUAL_FATAL(symcache_get_json("LUNAUSDT", &luna, NULL), 0);
    leg.type = "LIMIT";
    leg.price = "1";
    leg.quantity = "10";
    CU_ASSERT_STRING_EQUAL(check(luna, &leg),
                           "status: LUNAUSDT is BREAK, not TRADING, so "
                           "Binance accepts no new orders for it now.");
    json_object_put(luna);
}

static void
test_fake_iceberg_and_trailing_flags(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "0.01",
                              .price = "50000",
                              .iceberg_qty = "0.001",
                              .time_in_force = "IOC"};

    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "icebergQty: an iceberg order must use "
                           "timeInForce GTC, not IOC.");
    leg.time_in_force = "GTC";
    leg.iceberg_qty = "0.01";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "icebergQty: 0.01 must be less than the quantity "
                           "0.01.");
    leg.iceberg_qty = "0.000015";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "LOT_SIZE: icebergQty 0.000015 is not a multiple "
                           "of the step size 0.00001; use 0.00001 or "
                           "0.00002.");
    leg.iceberg_qty = "0.0015";
    leg.type = "MARKET";
    leg.price = NULL;
    leg.time_in_force = NULL;
    CU_ASSERT(tl_contains(check(btc, &leg),
                          "icebergQty: Binance accepts it only on LIMIT"));
#ifdef FAKEX_ICEBERG_PARTS
    /* the fake's ICEBERG_PARTS (10) and TRAILING_DELTA (10 to 2000) */
    leg = (struct filters_leg){.type = "LIMIT",
                               .side = "SELL",
                               .quantity = "1",
                               .price = "50000",
                               .iceberg_qty = "0.05",
                               .time_in_force = "GTC"};
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "ICEBERG_PARTS: quantity 1 in parts of icebergQty "
                           "0.05 makes 20 parts, above the limit of 10; use "
                           "an icebergQty of at least 0.1.");
    leg.iceberg_qty = "0.1";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
    leg = (struct filters_leg){.type = "STOP_LOSS",
                               .side = "SELL",
                               .quantity = "0.01",
                               .trailing_delta = "5"};
    CU_ASSERT_STRING_EQUAL(check(btc, &leg),
                           "TRAILING_DELTA: trailingDelta 5 is below the "
                           "minimum 10 BIPS for a STOP_LOSS SELL order "
                           "(below delta); use 10 or more.");
    leg.trailing_delta = "100";
    CU_ASSERT_STRING_EQUAL(check(btc, &leg), "");
#endif
}

/* The filter of type in e's "filters" (borrowed), or NULL. */
static json_object *
explained(json_object *e, const char *type)
{
    json_object *arr = tl_get_path(e, "filters");

    for (size_t i = 0; i < tl_len_at(e, "filters"); i++) {
        json_object *f = json_object_array_get_idx(arr, i);
        if (strcmp(tl_str_at(f, "filterType"), type) == 0)
            return f;
    }
    return NULL;
}

static void
test_fake_explain(void)
{
    json_object *e = filters_explain(btc);
    json_object *orig_filter0 = tl_get_path(btc, "filters.0");

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "status"), "TRADING");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "baseAsset"), "BTC");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "quoteAsset"), "USDT");
    CU_ASSERT_EQUAL(tl_int_at(e, "baseAssetPrecision"), 8);
    CU_ASSERT_EQUAL(tl_int_at(e, "quoteAssetPrecision"), 8);
    CU_ASSERT_EQUAL(tl_len_at(e, "orderTypes"), 7);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "icebergAllowed"), "true");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "ocoAllowed"), "true");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(e, "permissions"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "timezone"));
    CU_ASSERT_EQUAL(tl_len_at(e, "filters"), tl_len_at(btc, "filters"));
    /* every filter has its sentence */
    for (size_t i = 0; i < tl_len_at(e, "filters"); i++) {
        char path[64];
        snprintf(path, sizeof(path), "filters.%zu.explanation", i);
        CU_ASSERT(strlen(tl_str_at(e, path)) > 10);
    }
    /* the fields as Binance gives them, and the sentence */
    CU_ASSERT_STRING_EQUAL(tl_str_at(explained(e, "PRICE_FILTER"), "minPrice"),
                           FAKEX_TICK_USDT);
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(explained(e, "PRICE_FILTER"), "explanation"),
        "Prices from 0.01 to 1000000 in steps of 0.01.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(explained(e, "LOT_SIZE"), "explanation"),
                           "Quantities from 0.00001 to 9000 in steps of "
                           "0.00001.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(explained(e, "NOTIONAL"), "explanation"),
                           "Orders must be worth from 5 to 9000000 USDT "
                           "(price times quantity); this holds MARKET orders "
                           "only to the minimum, valued at the 5-minute "
                           "average price.");
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(explained(e, "NOTIONAL"), "applyMinToMarket"), "true");
    /* the symbol itself is left alone and shares nothing */
    CU_ASSERT_PTR_NULL(tl_get_path(btc, "filters.0.explanation"));
    CU_ASSERT(tl_get_path(e, "filters.0") != orig_filter0);
    json_object_put(e);
    CU_ASSERT_PTR_NULL(filters_explain(NULL));
}

/* ---- hand-written symbols: the filters the fake does not list ---- */

/* The examples of Binance's filters documentation, on an ETHBTC-like
 * symbol. */
static const char HAND_SYMBOL[] =
    "{\"symbol\":\"HANDBTC\",\"status\":\"TRADING\",\"baseAsset\":\"HAND\","
    "\"baseAssetPrecision\":8,\"quoteAsset\":\"BTC\","
    "\"quoteAssetPrecision\":8,"
    "\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\",\"STOP_LOSS\","
    "\"STOP_LOSS_LIMIT\",\"TAKE_PROFIT\",\"TAKE_PROFIT_LIMIT\"],"
    "\"icebergAllowed\":true,\"ocoAllowed\":true,\"otoAllowed\":true,"
    "\"quoteOrderQtyMarketAllowed\":true,\"allowTrailingStop\":true,"
    "\"isSpotTradingAllowed\":true,\"permissions\":[],"
    "\"filters\":["
    "{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.00000100\","
    "\"maxPrice\":\"100000.00000000\",\"tickSize\":\"0.00000100\"},"
    "{\"filterType\":\"PERCENT_PRICE_BY_SIDE\",\"bidMultiplierUp\":\"1.2\","
    "\"bidMultiplierDown\":\"0.2\",\"askMultiplierUp\":\"5\","
    "\"askMultiplierDown\":\"0.8\",\"avgPriceMins\":1},"
    "{\"filterType\":\"LOT_SIZE\",\"minQty\":\"0.00010000\","
    "\"maxQty\":\"9000.00000000\",\"stepSize\":\"0.00010000\"},"
    "{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"0.00100000\","
    "\"maxQty\":\"100.00000000\",\"stepSize\":\"0.00100000\"},"
    "{\"filterType\":\"MIN_NOTIONAL\",\"minNotional\":\"0.00100000\","
    "\"applyToMarket\":true,\"avgPriceMins\":5},"
    "{\"filterType\":\"ICEBERG_PARTS\",\"limit\":10},"
    "{\"filterType\":\"TRAILING_DELTA\",\"minTrailingAboveDelta\":10,"
    "\"maxTrailingAboveDelta\":2000,\"minTrailingBelowDelta\":10,"
    "\"maxTrailingBelowDelta\":2000},"
    "{\"filterType\":\"MAX_NUM_ORDERS\",\"maxNumOrders\":25},"
    "{\"filterType\":\"MAX_NUM_ALGO_ORDERS\",\"maxNumAlgoOrders\":5},"
    "{\"filterType\":\"MAX_NUM_ICEBERG_ORDERS\",\"maxNumIcebergOrders\":5},"
    "{\"filterType\":\"MAX_POSITION\",\"maxPosition\":\"10.00000000\"},"
    "{\"filterType\":\"SOMETHING_NEW\",\"x\":1}"
    "]}";

/* Binance's usual MARKET_LOT_SIZE: zero step and minimum mean unused. */
static const char ZERO_MARKET_LOT[] =
    "{\"symbol\":\"ZEROUSDT\",\"status\":\"TRADING\",\"quoteAsset\":\"USDT\","
    "\"icebergAllowed\":false,\"allowTrailingStop\":false,"
    "\"quoteOrderQtyMarketAllowed\":false,\"isSpotTradingAllowed\":true,"
    "\"filters\":["
    "{\"filterType\":\"LOT_SIZE\",\"minQty\":\"0.00001000\","
    "\"maxQty\":\"9000.00000000\",\"stepSize\":\"0.00001000\"},"
    "{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"0.00000000\","
    "\"maxQty\":\"83.50000000\",\"stepSize\":\"0.00000000\"},"
    "{\"filterType\":\"MIN_NOTIONAL\",\"minNotional\":\"10\","
    "\"applyToMarket\":false,\"avgPriceMins\":0}"
    "]}";

static json_object *hand, *zero_lot;

static int
hand_suite_init(void)
{
    hand = json_tokener_parse(HAND_SYMBOL);
    zero_lot = json_tokener_parse(ZERO_MARKET_LOT);
    return hand != NULL && zero_lot != NULL ? 0 : -1;
}

static int
hand_suite_cleanup(void)
{
    json_object_put(hand);
    json_object_put(zero_lot);
    return 0;
}

static void
test_hand_percent_price_by_side(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "1",
                              .price = "0.08",
                              .time_in_force = "GTC",
                              .ref_price = "0.06"};

    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "PERCENT_PRICE_BY_SIDE: BUY price 0.08 is above "
                           "0.072 (1.2 times the current price 0.06); use a "
                           "price from 0.012 to 0.072.");
    leg.price = "0.072";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
    leg.price = "0.011999";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "PERCENT_PRICE_BY_SIDE: BUY price 0.011999 is "
                           "below 0.012 (0.2 times the current price 0.06); "
                           "use a price from 0.012 to 0.072.");
    /* a SELL uses the ask multipliers: 0.048 to 0.3 */
    leg.side = "SELL";
    leg.price = "0.08";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
    leg.price = "0.047";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "PERCENT_PRICE_BY_SIDE: SELL price 0.047 is below "
                           "0.048 (0.8 times the current price 0.06); use a "
                           "price from 0.048 to 0.3.");
    /* the band is rounded inwards to the tick */
    leg.ref_price = "0.0612345";
    leg.price = "0.3062";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "PERCENT_PRICE_BY_SIDE: SELL price 0.3062 is above "
                           "0.3061725 (5 times the current price 0.0612345); "
                           "use a price from 0.048988 to 0.306172.");
    /* no reference price: skipped */
    leg.ref_price = NULL;
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
}

static void
test_hand_iceberg_parts(void)
{
    struct filters_leg leg = {.type = "LIMIT",
                              .side = "BUY",
                              .quantity = "1",
                              .price = "0.06",
                              .iceberg_qty = "0.05",
                              .time_in_force = "GTC"};

    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "ICEBERG_PARTS: quantity 1 in parts of icebergQty "
                           "0.05 makes 20 parts, above the limit of 10; use "
                           "an icebergQty of at least 0.1.");
    leg.iceberg_qty = "0.0999"; /* 10.01.. parts, rounded up */
    CU_ASSERT(tl_contains(check(hand, &leg), "makes 11 parts"));
    leg.iceberg_qty = "0.1";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
}

static void
test_hand_trailing_delta(void)
{
    struct filters_leg leg = {.type = "STOP_LOSS",
                              .side = "BUY",
                              .quantity = "1",
                              .trailing_delta = "5"};

    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "TRAILING_DELTA: trailingDelta 5 is below the "
                           "minimum 10 BIPS for a STOP_LOSS BUY order (above "
                           "delta); use 10 or more.");
    leg.trailing_delta = "2500";
    leg.type = "TAKE_PROFIT_LIMIT";
    leg.side = "BUY";
    leg.price = "0.06";
    leg.time_in_force = "GTC";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "TRAILING_DELTA: trailingDelta 2500 is above the "
                           "maximum 2000 BIPS for a TAKE_PROFIT_LIMIT BUY "
                           "order (below delta); use 2000 or less.");
    leg.trailing_delta = "2000";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
    leg.trailing_delta = "10.5";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "trailingDelta: 10.5 is not a whole number of "
                           "BIPS (1 BIPS = 0.01 %).");
    leg.trailing_delta = "100";
    leg.type = "LIMIT";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "trailingDelta: only STOP_LOSS, STOP_LOSS_LIMIT, "
                           "TAKE_PROFIT and TAKE_PROFIT_LIMIT orders take it, "
                           "not LIMIT.");
}

static void
test_hand_market_lot_size(void)
{
    struct filters_leg leg = {.type = "MARKET",
                              .side = "SELL",
                              .quantity = "0.0015",
                              .ref_price = "0.06"};

    /* LOT_SIZE (step 0.0001) passes; MARKET_LOT_SIZE (0.001) does not */
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "MARKET_LOT_SIZE: quantity 0.0015 is not a "
                           "multiple of the step size 0.001; use 0.001 or "
                           "0.002.");
    leg.quantity = "150";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "MARKET_LOT_SIZE: quantity 150 is above the "
                           "maximum quantity 100; use 100 or less.");
    /* a LIMIT order is not held to it */
    leg.type = "LIMIT";
    leg.price = "0.06";
    leg.time_in_force = "GTC";
    leg.ref_price = NULL;
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
    /* MIN_NOTIONAL with applyToMarket: the suggestion meets both steps */
    leg = (struct filters_leg){.type = "MARKET",
                               .side = "BUY",
                               .quantity = "0.002",
                               .ref_price = "0.06"};
    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "MIN_NOTIONAL: quantity 0.002 at the current price "
                           "0.06 is worth 0.00012 BTC, below the minimum "
                           "notional 0.001; use a quantity of at least "
                           "0.017.");
    leg.quantity = "0.017";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");

    /* zero stepSize and minQty: unused; maxQty still holds */
    leg = (struct filters_leg){.type = "MARKET",
                               .side = "BUY",
                               .quantity = "0.00015",
                               .ref_price = "50000"};
    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg), "");
    leg.quantity = "84";
    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg),
                           "MARKET_LOT_SIZE: quantity 84 is above the maximum "
                           "quantity 83.5; use 83.5 or less.");
    /* applyToMarket false: a small MARKET order passes, a LIMIT does not */
    leg.quantity = "0.0001";
    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg), "");
    leg.type = "LIMIT";
    leg.price = "50000";
    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg),
                           "MIN_NOTIONAL: quantity 0.0001 at the price 50000 "
                           "is worth 5 USDT, below the minimum notional 10; "
                           "use a quantity of at least 0.0002.");
}

static void
test_hand_flags_off(void)
{
    struct filters_leg leg = {.type = "STOP_LOSS",
                              .side = "SELL",
                              .quantity = "0.01",
                              .trailing_delta = "100"};

    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg),
                           "allowTrailingStop: ZEROUSDT does not allow "
                           "trailing stops, so trailingDelta cannot be "
                           "used.");
    leg = (struct filters_leg){.type = "LIMIT",
                               .side = "SELL",
                               .quantity = "1",
                               .price = "50000",
                               .iceberg_qty = "0.5"};
    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg),
                           "icebergAllowed: ZEROUSDT does not allow iceberg "
                           "orders, so icebergQty cannot be used.");
    leg = (struct filters_leg){
        .type = "MARKET", .side = "BUY", .quote_order_qty = "100"};
    CU_ASSERT_STRING_EQUAL(check(zero_lot, &leg),
                           "quoteOrderQtyMarketAllowed: ZEROUSDT does not "
                           "take MARKET orders by quoteOrderQty; give a "
                           "quantity instead.");
    /* spot trading switched off */
    json_object *off = json_tokener_parse(ZERO_MARKET_LOT);
    json_object_object_add(off, "isSpotTradingAllowed",
                           json_object_new_boolean(0));
    leg = (struct filters_leg){
        .type = "LIMIT", .side = "BUY", .quantity = "1", .price = "1"};
    CU_ASSERT_STRING_EQUAL(check(off, &leg),
                           "isSpotTradingAllowed: spot trading is not allowed "
                           "on ZEROUSDT.");
    json_object_put(off);
}

static void
test_hand_stop_market_valued_at_stop_price(void)
{
    struct filters_leg leg = {.type = "STOP_LOSS",
                              .side = "SELL",
                              .quantity = "0.01",
                              .stop_price = "0.05"};

    CU_ASSERT_STRING_EQUAL(check(hand, &leg),
                           "MIN_NOTIONAL: quantity 0.01 at the stop price "
                           "0.05 is worth 0.0005 BTC, below the minimum "
                           "notional 0.001; use a quantity of at least "
                           "0.02.");
    leg.quantity = "0.02";
    CU_ASSERT_STRING_EQUAL(check(hand, &leg), "");
}

static void
test_hand_counts(void)
{
    char why[256];

    CU_ASSERT_EQUAL(filters_check_counts(hand, 24, 0, 1, 0, why, sizeof(why)),
                    0);
    CU_ASSERT_STRING_EQUAL(why, "");
    CU_ASSERT_EQUAL(filters_check_counts(hand, 25, 0, 1, 0, why, sizeof(why)),
                    -1);
    CU_ASSERT_STRING_EQUAL(why, "MAX_NUM_ORDERS: HANDBTC allows at most 25 "
                                "open orders; 25 are open and this request "
                                "adds 1, so cancel at least 1 first.");
    /* an OTOCO adds three at once */
    CU_ASSERT_EQUAL(filters_check_counts(hand, 23, 0, 3, 0, why, sizeof(why)),
                    -1);
    CU_ASSERT(tl_contains(why, "cancel at least 1 first"));
    CU_ASSERT_EQUAL(filters_check_counts(hand, 0, 0, 30, 0, why, sizeof(why)),
                    -1);
    CU_ASSERT_STRING_EQUAL(why, "MAX_NUM_ORDERS: HANDBTC allows at most 25 "
                                "open orders, fewer than the 30 this request "
                                "adds.");
    CU_ASSERT_EQUAL(filters_check_counts(hand, 10, 5, 1, 1, why, sizeof(why)),
                    -1);
    CU_ASSERT_STRING_EQUAL(why, "MAX_NUM_ALGO_ORDERS: HANDBTC allows at most "
                                "5 open stop-loss and take-profit orders; 5 "
                                "are open and this request adds 1, so cancel "
                                "at least 1 first.");
    CU_ASSERT_EQUAL(filters_check_counts(hand, 10, 5, 1, 0, why, sizeof(why)),
                    0);
    /* unknown counts are skipped */
    CU_ASSERT_EQUAL(filters_check_counts(hand, -1, -1, 1, 1, why, sizeof(why)),
                    0);
    /* the fake lists no count filters */
    CU_ASSERT_EQUAL(
        filters_check_counts(btc, 100000, 100000, 1, 1, why, sizeof(why)), 0);

    CU_ASSERT(filters_is_algo("STOP_LOSS", NULL));
    CU_ASSERT(filters_is_algo("TAKE_PROFIT_LIMIT", NULL));
    CU_ASSERT(filters_is_algo("STOP_LOSS_LIMIT", "100"));
    CU_ASSERT(!filters_is_algo("LIMIT", NULL));
    CU_ASSERT(!filters_is_algo("MARKET", NULL));
    CU_ASSERT(!filters_is_algo("LIMIT_MAKER", NULL));
    CU_ASSERT(!filters_is_algo(NULL, NULL));
}

static void
test_hand_explain(void)
{
    json_object *e = filters_explain(hand);

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(tl_len_at(e, "filters"), 12);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "otoAllowed"), "true");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.0.explanation"),
                           "Prices from 0.000001 to 100000 in steps of "
                           "0.000001.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.1.explanation"),
                           "BUY prices from 0.2 to 1.2 times and SELL prices "
                           "from 0.8 to 5 times the 1-minute average price.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.3.explanation"),
                           "MARKET order quantities from 0.001 to 100 in "
                           "steps of 0.001.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.4.explanation"),
                           "Orders must be worth at least 0.001 BTC (price "
                           "times quantity); this holds MARKET orders too, "
                           "valued at the 5-minute average price.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.5.explanation"),
                           "An iceberg order may have at most 10 parts "
                           "(quantity divided by icebergQty, rounded up).");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.6.explanation"),
                           "trailingDelta (in BIPS, 100 = 1%) from 10 to 2000 "
                           "for STOP_LOSS BUY and TAKE_PROFIT SELL orders, "
                           "and from 10 to 2000 for STOP_LOSS SELL and "
                           "TAKE_PROFIT BUY orders (their _LIMIT types "
                           "alike).");
    CU_ASSERT_EQUAL(tl_int_at(e, "filters.6.maxTrailingAboveDelta"), 2000);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.7.explanation"),
                           "At most 25 open orders on this symbol.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.8.explanation"),
                           "At most 5 open stop-loss and take-profit orders "
                           "on this symbol.");
    CU_ASSERT(tl_contains(tl_str_at(e, "filters.10.explanation"), "10"));
    CU_ASSERT(
        tl_contains(tl_str_at(e, "filters.11.explanation"), "SOMETHING_NEW"));
    CU_ASSERT_EQUAL(tl_int_at(e, "filters.11.x"), 1);
    json_object_put(e);

    e = filters_explain(zero_lot);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.1.explanation"),
                           "MARKET order quantities of at most 83.5, with any "
                           "number of decimals.");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "filters.2.explanation"),
                           "Orders must be worth at least 10 USDT (price "
                           "times quantity); MARKET orders are not held to "
                           "it.");
    json_object_put(e);
}

static void
test_hand_small_buffer(void)
{
    char why[16];
    struct filters_leg leg = {
        .type = "LIMIT", .side = "BUY", .quantity = "1", .price = "0.0600001"};

    CU_ASSERT_EQUAL(filters_check_leg(hand, &leg, why, sizeof(why)), -1);
    CU_ASSERT_EQUAL(strlen(why), sizeof(why) - 1);
    CU_ASSERT_EQUAL(filters_check_leg(hand, &leg, NULL, 0), -1);
}

static CU_TestInfo decimal_tests[] = {
    {"parse and format", test_dec_parse_valid},
    {"38 significant digits, and no more", test_dec_parse_38_digits},
    {"signs, exponents and other refusals", test_dec_parse_invalid},
    {"a short buffer", test_dec_format_buffer},
    {"compare", test_dec_compare},
    {"exact where a double is not", test_dec_exact_where_double_fails},
    {"add and subtract", test_dec_add_sub},
    {"multiply", test_dec_mul},
    {"divide with a scale and a rounding", test_dec_div},
    {"floor and ceil to a step from an origin", test_dec_steps},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo symcache_tests[] = {
    {"a symbol's whole entry, from the one cache", test_symcache_get_json},
    {"exchangeInfo unreachable", test_symcache_get_json_unreachable},
    {"eight threads, one exchangeInfo", test_symcache_get_json_threads},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fake_tests[] = {
    {"valid orders pass", test_fake_valid_orders},
    {"PRICE_FILTER on price and stopPrice", test_fake_price_filter},
    {"LOT_SIZE, then NOTIONAL, then it passes", test_fake_lot_then_notional},
    {"LOT_SIZE bounds", test_fake_lot_size_bounds},
    {"NOTIONAL maximum, MARKET and quoteOrderQty",
     test_fake_notional_max_and_market},
    {"status, order types and malformed parameters",
     test_fake_symbol_and_params},
    {"iceberg and trailing-stop flags", test_fake_iceberg_and_trailing_flags},
    {"get_symbol_info's explanation", test_fake_explain},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hand_tests[] = {
    {"PERCENT_PRICE_BY_SIDE", test_hand_percent_price_by_side},
    {"ICEBERG_PARTS", test_hand_iceberg_parts},
    {"TRAILING_DELTA", test_hand_trailing_delta},
    {"MARKET_LOT_SIZE and MIN_NOTIONAL", test_hand_market_lot_size},
    {"capability flags switched off", test_hand_flags_off},
    {"a stop-market order is valued at its stop price",
     test_hand_stop_market_valued_at_stop_price},
    {"MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS", test_hand_counts},
    {"explanations of every filter", test_hand_explain},
    {"a short sentence buffer", test_hand_small_buffer},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"decimal", NULL, NULL, NULL, NULL, decimal_tests},
    {"symcache", NULL, NULL, NULL, NULL, symcache_tests},
    {"fake exchange", fake_suite_init, fake_suite_cleanup, NULL, NULL,
     fake_tests},
    {"hand-written symbols", hand_suite_init, hand_suite_cleanup, NULL, NULL,
     hand_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    struct bnc_config cfg;
    int rc;

    if (fakex_start(&fx, NULL) < 0) {
        fprintf(stderr, "cannot start the fake exchange (set FAKEX)\n");
        return 1;
    }
    bnc_config_defaults(&cfg);
    snprintf(cfg.mainnet_url, sizeof(cfg.mainnet_url), "%s", fx.url);
    snprintf(cfg.testnet_url, sizeof(cfg.testnet_url), "%s", fx.url);
    cfg.timeout_ms = 1500;
    if (bnc_init(&cfg) < 0) {
        fakex_stop(&fx);
        return 1;
    }
    rc = testlib_run(suites);
    symcache_reset();
    bnc_thread_cleanup();
    bnc_shutdown();
    fakex_stop(&fx);
    return rc;
}
