/*
 * test_util.c - unit tests of dbuf, creds, util and settings.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "creds.h"
#include "dbuf.h"
#include "settings.h"
#include "testlib.h"
#include "util.h"

static void
test_dbuf_cap(void)
{
    struct dbuf b;
    dbuf_init(&b, 10);
    CU_ASSERT_EQUAL(dbuf_puts(&b, "hello"), 0);
    CU_ASSERT_EQUAL(dbuf_puts(&b, "world"), 0);
    CU_ASSERT_STRING_EQUAL(dbuf_str(&b), "helloworld");
    errno = 0;
    CU_ASSERT_EQUAL(dbuf_puts(&b, "!"), -1);
    CU_ASSERT_EQUAL(errno, E2BIG);
    /* a failed append leaves the contents alone */
    CU_ASSERT_STRING_EQUAL(dbuf_str(&b), "helloworld");
    dbuf_reset(&b);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(dbuf_printf(&b, "%d-%s", 42, "x"), 0);
    CU_ASSERT_STRING_EQUAL(dbuf_str(&b), "42-x");
    dbuf_free(&b);
    CU_ASSERT_STRING_EQUAL(dbuf_str(&b), "");
}

static void
test_dbuf_long_printf(void)
{
    struct dbuf b;
    char big[2000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dbuf_init(&b, 4096);
    CU_ASSERT_EQUAL(dbuf_printf(&b, "<%s>", big), 0);
    CU_ASSERT_EQUAL(b.len, 2001);
    CU_ASSERT_EQUAL(dbuf_printf(&b, "%s%s%s", big, big, big), -1);
    CU_ASSERT_EQUAL(b.len, 2001);
    dbuf_wipe(&b);
}

static void
test_creds_mask(void)
{
    char out[32];
    creds_mask(TEST_KEY_A, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "vmPU...Eh8A");
    creds_mask("abcdefgh", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "****");
}

static void
test_creds_set_and_wipe(void)
{
    struct creds c;
    char err[128];
    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL(creds_set(&c, TEST_KEY_A, TEST_SECRET_A, BNC_ENV_TESTNET,
                              err, sizeof(err)),
                    0);
    CU_ASSERT_TRUE(c.set);
    CU_ASSERT_EQUAL(c.env, BNC_ENV_TESTNET);
    CU_ASSERT_STRING_EQUAL(c.secret, TEST_SECRET_A);
    CU_ASSERT_TRUE(c.since_ms > 0);
    creds_wipe(&c);
    CU_ASSERT_FALSE(c.set);
    for (size_t i = 0; i < sizeof(c.secret); i++)
        CU_ASSERT_EQUAL_FATAL(c.secret[i], 0);
    /* bad values are refused and leave nothing behind */
    CU_ASSERT_EQUAL(creds_set(&c, "", "x", BNC_ENV_MAINNET, err, sizeof(err)),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
    CU_ASSERT_EQUAL(
        creds_set(&c, "key with space", "s", BNC_ENV_MAINNET, err, sizeof(err)),
        -1);
    CU_ASSERT_FALSE(c.set);
}

static void
test_creds_env(void)
{
    enum bnc_env e;
    CU_ASSERT_EQUAL(creds_env_parse("TestNet", &e), 0);
    CU_ASSERT_EQUAL(e, BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(creds_env_parse("mainnet", &e), 0);
    CU_ASSERT_EQUAL(e, BNC_ENV_MAINNET);
    CU_ASSERT_EQUAL(creds_env_parse("prod", &e), -1);
    CU_ASSERT_STRING_EQUAL(creds_env_name(BNC_ENV_TESTNET), "testnet");
}

static void
test_ct_equal(void)
{
    CU_ASSERT_TRUE(ct_equal("abc", 3, "abc", 3));
    CU_ASSERT_FALSE(ct_equal("abc", 3, "abd", 3));
    CU_ASSERT_FALSE(ct_equal("abc", 3, "abcd", 4));
    CU_ASSERT_TRUE(ct_equal("", 0, "", 0));
}

static void
test_rfc3339(void)
{
    char buf[40];
    format_rfc3339_ms(1499827319559LL, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "2017-07-12T02:41:59.559Z");
    format_rfc3339_ms(0, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "1970-01-01T00:00:00.000Z");
    format_rfc3339_ms(-1, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "1969-12-31T23:59:59.999Z");
    /* found by fuzz_shape: a closeTime of INT64_MIN has a nine-digit
     * year, which did not fit the date's buffer: strftime left it
     * unterminated and it was read past its end */
    format_rfc3339_ms(INT64_MIN, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "-292275055-05-16T16:47:04.192Z");
    format_rfc3339_ms(INT64_MAX, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "292278994-08-17T07:12:55.807Z");
    format_rfc3339_ms(1499827319559LL, buf, 8); /* short: cut, terminated */
    CU_ASSERT_STRING_EQUAL(buf, "2017-07");
}

static void
test_settings_env(void)
{
    struct settings s;
    char err[256];
    settings_defaults(&s);
    CU_ASSERT_EQUAL(s.mode, MODE_STDIO);
    CU_ASSERT_STRING_EQUAL(s.bnc.mainnet_url, "https://api.binance.com");
    CU_ASSERT_EQUAL(s.bnc.timeout_ms, 10000);
    CU_ASSERT_EQUAL(s.bnc.recv_window, 5000);

    setenv("BINANCE_BASE_URL", "http://127.0.0.1:9/", 1);
    setenv("BINANCE_TESTNET", "1", 1);
    setenv("BINANCE_API_KEY", TEST_KEY_A, 1);
    setenv("BINANCE_API_SECRET", TEST_SECRET_A, 1);
    CU_ASSERT_EQUAL(settings_from_env(&s, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(s.bnc.mainnet_url, "http://127.0.0.1:9");
    CU_ASSERT_EQUAL(s.bnc.default_env, BNC_ENV_TESTNET);
    CU_ASSERT_TRUE(s.creds.set);
    CU_ASSERT_EQUAL(s.creds.env, BNC_ENV_TESTNET);
    settings_wipe(&s);

    unsetenv("BINANCE_API_SECRET");
    settings_defaults(&s);
    CU_ASSERT_EQUAL(settings_from_env(&s, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "BINANCE_API_SECRET"));
    unsetenv("BINANCE_API_KEY");

    setenv("BINANCE_RECV_WINDOW", "70000", 1);
    settings_defaults(&s);
    CU_ASSERT_EQUAL(settings_from_env(&s, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "BINANCE_RECV_WINDOW"));
    unsetenv("BINANCE_RECV_WINDOW");

    setenv("BINANCE_BASE_URL", "ftp://example", 1);
    settings_defaults(&s);
    CU_ASSERT_EQUAL(settings_from_env(&s, err, sizeof(err)), -1);
    unsetenv("BINANCE_BASE_URL");
    unsetenv("BINANCE_TESTNET");
}

#define S(x) ((char *)(x))

static void
test_settings_args(void)
{
    struct settings s;
    char err[256];
    char *ok[] = {S("binmcpd"),
                  S("--mode"),
                  S("stdio"),
                  S("--read-only"),
                  S("--recv-window"),
                  S("60000"),
                  S("--timeout-ms"),
                  S("2500"),
                  S("--base-url"),
                  S("http://127.0.0.1:1"),
                  NULL};
    char *bad_mode[] = {S("binmcpd"), S("--mode"), S("carrier-pigeon"), NULL};
    char *bad_opt[] = {S("binmcpd"), S("--frobnicate"), NULL};
    char *extra[] = {S("binmcpd"), S("stray"), NULL};

    settings_defaults(&s);
    CU_ASSERT_EQUAL(settings_from_args(&s, 10, ok, err, sizeof(err)), 0);
    CU_ASSERT_TRUE(s.read_only);
    CU_ASSERT_EQUAL(s.bnc.recv_window, 60000);
    CU_ASSERT_EQUAL(s.bnc.timeout_ms, 2500);
    CU_ASSERT_STRING_EQUAL(s.bnc.mainnet_url, "http://127.0.0.1:1");
    CU_ASSERT_EQUAL(settings_from_args(&s, 3, bad_mode, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "carrier-pigeon"));
    CU_ASSERT_EQUAL(settings_from_args(&s, 2, bad_opt, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "frobnicate"));
    CU_ASSERT_EQUAL(settings_from_args(&s, 2, extra, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "stray"));
}

static CU_TestInfo util_tests[] = {
    {"dbuf respects its cap", test_dbuf_cap},
    {"dbuf printf beyond the stack buffer", test_dbuf_long_printf},
    {"credentials are masked 4+4", test_creds_mask},
    {"credentials are wiped", test_creds_set_and_wipe},
    {"environment names", test_creds_env},
    {"constant-time compare", test_ct_equal},
    {"RFC 3339 timestamps", test_rfc3339},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo settings_tests[] = {
    {"environment variables", test_settings_env},
    {"command line", test_settings_args},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"util", NULL, NULL, NULL, NULL, util_tests},
    {"settings", NULL, NULL, NULL, NULL, settings_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
