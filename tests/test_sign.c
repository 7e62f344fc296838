/*
 * test_sign.c - HMAC-SHA256 signatures against known values.
 *
 * The expected values other than Binance's published example were computed
 * independently with `openssl dgst -sha256 -hmac` and Python's hmac module.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dbuf.h"
#include "sign.h"
#include "testlib.h"

/* The example in Binance's Spot API documentation (SIGNED endpoints). */
#define DOC_TOTAL_PARAMS                                                       \
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&"            \
    "price=0.1&recvWindow=5000&timestamp=1499827319559"
#define DOC_SIGNATURE                                                          \
    "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"

static void
test_documented_example(void)
{
    char out[SIGN_HEX_LEN + 1];

    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, DOC_TOTAL_PARAMS,
                                         strlen(DOC_TOTAL_PARAMS), out),
                    0);
    CU_ASSERT_STRING_EQUAL(out, DOC_SIGNATURE);
    CU_ASSERT_EQUAL(strlen(out), SIGN_HEX_LEN);
}

static void
test_msglen_is_respected(void)
{
    const char *longer = DOC_TOTAL_PARAMS "&signature=ignored";
    char out[SIGN_HEX_LEN + 1];

    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, longer,
                                         strlen(DOC_TOTAL_PARAMS), out),
                    0);
    CU_ASSERT_STRING_EQUAL(out, DOC_SIGNATURE);
}

static void
test_empty_message(void)
{
    char out[SIGN_HEX_LEN + 1];

    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, "", 0, out), 0);
    CU_ASSERT_STRING_EQUAL(
        out,
        "18f82ab1c4ba20d60cb86ebc4cab5b54ddb974cdf7832421345148e7a7f9466e");
}

static void
test_long_message(void)
{
    struct dbuf msg;
    char out[SIGN_HEX_LEN + 1];
    int rc = 0;

    dbuf_init(&msg, 1 << 16);
    for (int i = 0; i < 200 && rc == 0; i++)
        rc = dbuf_printf(&msg, "symbol=BTCUSDT&orderId=%d&", i);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(msg.len, 5290);
    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, msg.data, msg.len, out),
                    0);
    CU_ASSERT_STRING_EQUAL(
        out,
        "acd248be513f157263e254fcd30e6c8699e4b36e2d026f751197c715dcca8951");
    dbuf_free(&msg);
}

static void
test_key_longer_than_block(void)
{
    char key[101], out[SIGN_HEX_LEN + 1];

    memset(key, 'k', 100);
    key[100] = '\0';
    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(key, "timestamp=1", 11, out), 0);
    CU_ASSERT_STRING_EQUAL(
        out,
        "09ccfa63841732503bd5471525e6ac48258c38120ab29aa5f00b9fe286a08ff0");
}

static void
test_different_secret_differs(void)
{
    char a[SIGN_HEX_LEN + 1], b[SIGN_HEX_LEN + 1];

    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, "x=1", 3, a), 0);
    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_B, "x=1", 3, b), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static void
test_bad_arguments(void)
{
    char out[SIGN_HEX_LEN + 1] = "junk";

    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(NULL, "x", 1, out), -1);
    CU_ASSERT_STRING_EQUAL(out, "");
    strcpy(out, "junk");
    CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, NULL, 3, out), -1);
    CU_ASSERT_STRING_EQUAL(out, "");
}

static CU_TestInfo sign_tests[] = {
    {"Binance documented example", test_documented_example},
    {"only msglen bytes are signed", test_msglen_is_respected},
    {"empty message", test_empty_message},
    {"long message (5290 bytes)", test_long_message},
    {"secret longer than the block size", test_key_longer_than_block},
    {"different secrets give different signatures",
     test_different_secret_differs},
    {"bad arguments", test_bad_arguments},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"sign", NULL, NULL, NULL, NULL, sign_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
