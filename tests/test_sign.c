/*
 * test_sign.c - request signatures against known values: HMAC-SHA256,
 * Ed25519 and RSA (PKCS#1 v1.5, SHA-256); PEM private keys and the
 * one-line form credentials keep them in; a non-ASCII symbol percent-encoded
 * before signing.
 *
 * Vectors: Binance's published ones (binance-spot.md, "Signing: HMAC, RSA,
 * Ed25519": #1-#6). The others were computed independently with OpenSSL 3
 * (`openssl dgst -sha256 -hmac`, `openssl pkeyutl -sign -rawin` for
 * Ed25519, `openssl dgst -sha256 -sign` for RSA) and Python. The RSA, EC
 * and short RSA keys below were generated for this test only.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bnc.h"
#include "creds.h"
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

/* ---- Binance's other HMAC vectors (#2, #3) ---- */

static void
test_hmac_vectors(void)
{
    static const struct {
        const char *payload, *sig;
    } v[] = {
        /* #2: REST, non-ASCII symbol percent-encoded before signing */
        {"symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&"
         "side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&"
         "recvWindow=5000&timestamp=1499827319559",
         "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"},
        /* #3: WebSocket API, ASCII */
        {"apiKey=" TEST_KEY_A "&price=52000.00&quantity=0.01000000&"
         "recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&"
         "timestamp=1645423376532&type=LIMIT",
         "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"},
    };
    char out[SIGN_QUERY_MAX + 1];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CU_ASSERT_EQUAL(sign_hmac_sha256_hex(TEST_SECRET_A, v[i].payload,
                                             strlen(v[i].payload), out),
                        0);
        CU_ASSERT_STRING_EQUAL(out, v[i].sig);
        CU_ASSERT_EQUAL(sign_query_value(SIGN_KEY_HMAC, TEST_SECRET_A,
                                         v[i].payload, strlen(v[i].payload),
                                         out),
                        0);
        CU_ASSERT_STRING_EQUAL(out, v[i].sig);
    }
}

/* ---- Ed25519 (#5, #6) ---- */

/* Vector #5's key (fix-api.md), PKCS#8. */
#define ED25519_PEM                                                            \
    "-----BEGIN PRIVATE KEY-----\n"                                            \
    "MC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u\n"       \
    "-----END PRIVATE KEY-----\n"
#define ED25519_ONE_LINE                                                       \
    "-----BEGIN PRIVATE KEY----- "                                             \
    "MC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u "        \
    "-----END PRIVATE KEY-----"
/* #6: a REST payload */
#define REST_PAYLOAD                                                           \
    "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&"          \
    "price=0.2&timestamp=1668481559918&recvWindow=5000"
#define ED25519_REST_SIG                                                       \
    "inDT086KVIP8vgUfw5sV3VTkescWztiAGlf4x8FLKHM4NInsn0c1kYVLoGMO8cyjfR6vmTku" \
    "2YQE0gtfVVlfCw=="

static void
test_ed25519_fix_logon(void)
{
    /* A SOH EXAMPLE SOH SPOT SOH 1 SOH 20240627-11:17:25.223 */
    static const char payload[] =
        "A\001EXAMPLE\001SPOT\0011\00120240627-11:17:25.223";
    char out[SIGN_BASE64_MAX + 1];

    CU_ASSERT_EQUAL(sign_key_base64(ED25519_PEM, payload, sizeof(payload) - 1,
                                    out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "4MHXelVVcpkdwuLbl6n73HQUXUf1dse2PCgT1DYqW9w8"
                                "AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA==");
}

static void
test_ed25519_rest(void)
{
    char out[SIGN_QUERY_MAX + 1];

    CU_ASSERT_EQUAL(sign_key_base64(ED25519_PEM, REST_PAYLOAD,
                                    strlen(REST_PAYLOAD), out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, ED25519_REST_SIG);
    CU_ASSERT_EQUAL(strlen(out), 88);
    /* the one-line form signs the same */
    CU_ASSERT_EQUAL(sign_key_base64(ED25519_ONE_LINE, REST_PAYLOAD,
                                    strlen(REST_PAYLOAD), out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, ED25519_REST_SIG);
    /* as sent in a query: base64, then percent-encoded */
    CU_ASSERT_EQUAL(sign_query_value(SIGN_KEY_ED25519, ED25519_PEM,
                                     REST_PAYLOAD, strlen(REST_PAYLOAD), out),
                    0);
    CU_ASSERT_STRING_EQUAL(out,
                           "inDT086KVIP8vgUfw5sV3VTkescWztiAGlf4x8FLKHM4NInsn0"
                           "c1kYVLoGMO8cyjfR6vmTku2YQE0gtfVVlfCw%3D%3D");
}

/* ---- RSA (a key made for this test; OpenSSL gave the signature) ---- */

#define RSA_PKCS8                                                              \
    "-----BEGIN PRIVATE KEY-----\n"                                            \
    "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC/3qJ5w9u9eas3\n"       \
    "Ovanzolg/fTbmg3S0eNAjQtEtx+Sds5Tf2Y7iTIN+AePi3KA++8LytrxaVNb496h\n"       \
    "FEQcUa+MaRKuPiwfRKjyJEBI669/M0y0vmaIWEndnzcRD0qn5fk2yE+xH8z7r0AC\n"       \
    "xEhOmuD8PoPcoHarFrCpTLaioXYzFMgeI2+84FohHkX6vvatXfjZEwJYX6FKVxWj\n"       \
    "RqAIRQxyYHOoWdZizcnwAt2X77WXaGyMz4CT7qJ04LE4EjH0dUOigww9WZkqp9w+\n"       \
    "kZCK7fgx4iAAQ3uAj33Xdvi2v8a7wtfPHFWbvka7/svGhbFyvPEPhhPdF7OYnVIJ\n"       \
    "BwJzZHWpAgMBAAECggEALBuoSknGSEaiH65EactHNa7sDVfa+a4aigpinsdiUK9T\n"       \
    "O0q8W89sXF26jztFdXV1PMbDkl/eM++sjGc2STRWIPc+viO4zO9hz1iaFqlnzNwk\n"       \
    "NCDZPVrekD470IYtaW+q3PcrqtJeszVUh85LuRZNxm8wrRWOckJjFmh2S+jGXXNw\n"       \
    "39QTGKHUmaR+sTMFacLAIllPrJc5WBNeRp1ksji6Vq39GhkREJSnSQCDhjxwBTWF\n"       \
    "g9dE96ACPLceC9Bswe2uoaGI2+7NNAmswQtUeM6R/IQJvhrx2h6UxNPujgiQIBBi\n"       \
    "ElRUTblihHU8vN4PSqU6Xxpgp3yQ1nlzLNBrhy6NiQKBgQD7azYYBaD2e7VzcKY2\n"       \
    "kCOQJ/jGtU0eQd6kv+9eJYoL+6WV+yeO7yEyToMNPKRmXPS/qIBXoVmClvN4vi28\n"       \
    "Pbgvs4hwGin5R3Jzm2dOrJ5f6G4zGn15U3CmUZydbaiS1b0+kwys2cTS3enY1xxL\n"       \
    "CFNDlKZOVKsovXczMymytHP4VwKBgQDDXaVIANc97t0krvlWyPrCUojzqTVHRHlI\n"       \
    "2vyIRc2U2N6e331UXycbMCH5xSeFKqg8apDe8xwTliE8o+whZN03j2nmBvw4xDNS\n"       \
    "gG6kFEshJ72QW3Kc66BWzWCAS2HuL+Ter3aej8kfn9PiNqDTL5P4X+mHcmG65De6\n"       \
    "4nIE0X5B/wKBgA856ffAd4QV7+JC4z4QsqarVQyrtDTt5k7x9Mwt19Nr9RZFNJsa\n"       \
    "blc+m/80OfydCpGE4ejss6AOBka8tcZdsobpB41KeFpJcmv/8Fy6ZYkHaY0cwJaV\n"       \
    "cBAShzqdhoUF/sUIYM8jDSF8IQpp1KPSqEBCg2PhCtCX0N0/7vmMpi1XAoGAT7rW\n"       \
    "Cy6cqR/kjGYESBC5lbiNP7OclLszLDKCwTKLleVz5S6cPWSf1w6rrv1xBX3FLvLm\n"       \
    "sLZSjQPGCLN1WKOLTHNw6nmLUbdwoojbnobRqnRHfrRzb+sRgptKeNFK5CQTqXW+\n"       \
    "WTOhBxD5LebRd56BKuopqidaDyW4QMLNeX3tow0CgYA8WJPlIHFHoYJV/qSqKF9c\n"       \
    "JIdeOIVDFblJtNgoi3PIthbARPajIhk583ENFLpKRsSntiQaw9hadnP2WUNvticq\n"       \
    "eYUnGabjo2kkOkGWM++Rnh/7lHoZXqqozZSDMiQpR4+NCr0JiwMnbhSEqLvGgUoW\n"       \
    "Ev2A4FLll7bXBWNr6Lh04A==\n"                                               \
    "-----END PRIVATE KEY-----\n"

#define RSA_PKCS1                                                              \
    "-----BEGIN RSA PRIVATE KEY-----\n"                                        \
    "MIIEogIBAAKCAQEAv96iecPbvXmrNzr2p86JYP3025oN0tHjQI0LRLcfknbOU39m\n"       \
    "O4kyDfgHj4tygPvvC8ra8WlTW+PeoRREHFGvjGkSrj4sH0So8iRASOuvfzNMtL5m\n"       \
    "iFhJ3Z83EQ9Kp+X5NshPsR/M+69AAsRITprg/D6D3KB2qxawqUy2oqF2MxTIHiNv\n"       \
    "vOBaIR5F+r72rV342RMCWF+hSlcVo0agCEUMcmBzqFnWYs3J8ALdl++1l2hsjM+A\n"       \
    "k+6idOCxOBIx9HVDooMMPVmZKqfcPpGQiu34MeIgAEN7gI9913b4tr/Gu8LXzxxV\n"       \
    "m75Gu/7LxoWxcrzxD4YT3RezmJ1SCQcCc2R1qQIDAQABAoIBACwbqEpJxkhGoh+u\n"       \
    "RGnLRzWu7A1X2vmuGooKYp7HYlCvUztKvFvPbFxduo87RXV1dTzGw5Jf3jPvrIxn\n"       \
    "Nkk0ViD3Pr4juMzvYc9YmhapZ8zcJDQg2T1a3pA+O9CGLWlvqtz3K6rSXrM1VIfO\n"       \
    "S7kWTcZvMK0VjnJCYxZodkvoxl1zcN/UExih1JmkfrEzBWnCwCJZT6yXOVgTXkad\n"       \
    "ZLI4ulat/RoZERCUp0kAg4Y8cAU1hYPXRPegAjy3HgvQbMHtrqGhiNvuzTQJrMEL\n"       \
    "VHjOkfyECb4a8doelMTT7o4IkCAQYhJUVE25YoR1PLzeD0qlOl8aYKd8kNZ5cyzQ\n"       \
    "a4cujYkCgYEA+2s2GAWg9nu1c3CmNpAjkCf4xrVNHkHepL/vXiWKC/ullfsnju8h\n"       \
    "Mk6DDTykZlz0v6iAV6FZgpbzeL4tvD24L7OIcBop+Udyc5tnTqyeX+huMxp9eVNw\n"       \
    "plGcnW2oktW9PpMMrNnE0t3p2NccSwhTQ5SmTlSrKL13MzMpsrRz+FcCgYEAw12l\n"       \
    "SADXPe7dJK75Vsj6wlKI86k1R0R5SNr8iEXNlNjent99VF8nGzAh+cUnhSqoPGqQ\n"       \
    "3vMcE5YhPKPsIWTdN49p5gb8OMQzUoBupBRLISe9kFtynOugVs1ggEth7i/k3q92\n"       \
    "no/JH5/T4jag0y+T+F/ph3JhuuQ3uuJyBNF+Qf8CgYAPOen3wHeEFe/iQuM+ELKm\n"       \
    "q1UMq7Q07eZO8fTMLdfTa/UWRTSbGm5XPpv/NDn8nQqRhOHo7LOgDgZGvLXGXbKG\n"       \
    "6QeNSnhaSXJr//BcumWJB2mNHMCWlXAQEoc6nYaFBf7FCGDPIw0hfCEKadSj0qhA\n"       \
    "QoNj4QrQl9DdP+75jKYtVwKBgE+61gsunKkf5IxmBEgQuZW4jT+znJS7MywygsEy\n"       \
    "i5Xlc+UunD1kn9cOq679cQV9xS7y5rC2Uo0DxgizdViji0xzcOp5i1G3cKKI256G\n"       \
    "0ap0R360c2/rEYKbSnjRSuQkE6l1vlkzoQcQ+S3m0XeegSrqKaonWg8luEDCzXl9\n"       \
    "7aMNAoGAPFiT5SBxR6GCVf6kqihfXCSHXjiFQxW5SbTYKItzyLYWwET2oyIZOfNx\n"       \
    "DRS6SkbEp7YkGsPYWnZz9llDb7YnKnmFJxmm46NpJDpBljPvkZ4f+5R6GV6qqM2U\n"       \
    "gzIkKUePjQq9CYsDJ24UhKi7xoFKFhL9gOBS5Ze21wVja+i4dOA=\n"                   \
    "-----END RSA PRIVATE KEY-----\n"

#define EC_P256                                                                \
    "-----BEGIN PRIVATE KEY-----\n"                                            \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwhZAbKGWLgfg1Lwg\n"       \
    "HCHFoKhQUQ/XFM74MWCRbew4pHehRANCAAQeX/WeJFK/DKyTJWAoZx3XbvV6jd81\n"       \
    "33Z3bdDe2zwijWCdcU+TYVtnpu7MqGWwQqmHOaKSXZ6+i1f5WXUk8INh\n"               \
    "-----END PRIVATE KEY-----\n"

#define RSA_1024                                                               \
    "-----BEGIN PRIVATE KEY-----\n"                                            \
    "MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBALcn/e2IJm4Phgyj\n"       \
    "J1chmH7DMVpRlREoQ1zsQQbWn63+/ASmtuSKUCnrTY8HoUIYnLjcX3dSwxZgvkvd\n"       \
    "QJliF+7Mii6UneAUwolZfkbut6LASjLPU1qPbf3K/C+grqvA1egqlzkjwWkPsF4Y\n"       \
    "5fIYjv4vxQ/ghHvhqMQ14JwiIeH3AgMBAAECgYAMsvkoPwhrGShyN93CbNHl+CKz\n"       \
    "4HQ1fFUvXDImBzuLFOLkb6q+rdhhD6+Q+zZzHsG/D4iO/W4JXyvSlsSj3elKx1wd\n"       \
    "hcqFL5daGJA5Wd1ZMwQz9z8Y601AeIp/5O2rxEt7FPdD9GtPrhNkdamzF0COl7NG\n"       \
    "yXYcHvtAD2eTNczcAQJBANtc3B4bZgtNdn+2w3OubEWYE+KXDSDnUXz7sCIKWg41\n"       \
    "dOK5yraq2K6D2Gf/elsB4LN6whFYbarxsjDlG05G3i8CQQDVvxNBxl2GC/bpbF0N\n"       \
    "lo+yur3UOZbC6Sos7uVi1duApBdP2Gv3C4Qh5viPpuBADMkwd3Wnr1i+aZpu6yFt\n"       \
    "F065AkA3Kvlo0Pcu7IJayDoLg9hTAFYv7FEu7z39MscvKG9Rl3wX8SXcHsdzzFDG\n"       \
    "hufcr3I1cTARcK3UCgkIZvYhD42dAkBiP43uceuTLfS0nqa3FDnBAa0327C8rshA\n"       \
    "Fx9BKuPWYZaFkQkvaQ+3NZ+TCDWTu0zPBloCVcsI2ymtSk73AfuhAkBHnB4Jwx2A\n"       \
    "qo/LefqBab3ohM5PzlmvhAyoy9tCff19epYqzRghAcnZXiIhcGHzuGOPaIXa7UlZ\n"       \
    "0sOqJlIlmEuV\n"                                                           \
    "-----END PRIVATE KEY-----\n"

#define RSA_REST_SIG                                                           \
    "I3JrzLTOzLlG42UvxRVnmGKEehh+NT9p1Szt6+NGo7h6P5ymugF3s676XZ5r8WXqf8WtfRRq" \
    "mH/AX9Hs6WsbjtlDn/UthvTjoVHunVfnO8fKUMWDwmNR90iklTG8HJ+RIMskk7brCyZW0AdV" \
    "KMDBf9+Y73ufbfyI806aOv2f8Dm8Yqj5XQ3B0fAR3rvhU3+qaKobmIstBrusBo6vOJXY/BjQ" \
    "exP3WAoIrT5kLsI+6jvj2rh33jrr2hLkmOC65nG4OgtTD4oTDx2LCpoAH01bS2Enqt9QHOQ/" \
    "tqorp974VHSb1DktCoVtVQzF+YEy38at/idxIQAA2bHOIv60Y6MhWA=="

static void
test_rsa_rest(void)
{
    char out[SIGN_QUERY_MAX + 1], expect[SIGN_QUERY_MAX + 1];
    size_t o = 0;

    CU_ASSERT_EQUAL(sign_key_base64(RSA_PKCS8, REST_PAYLOAD,
                                    strlen(REST_PAYLOAD), out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, RSA_REST_SIG);
    CU_ASSERT_EQUAL(strlen(out), 344);
    /* the same key as PKCS#1 */
    CU_ASSERT_EQUAL(sign_key_base64(RSA_PKCS1, REST_PAYLOAD,
                                    strlen(REST_PAYLOAD), out, sizeof(out)),
                    0);
    CU_ASSERT_STRING_EQUAL(out, RSA_REST_SIG);
    /* in a query: '+' %2B, '/' %2F, '=' %3D, nothing else changes */
    for (const char *p = RSA_REST_SIG; *p != '\0'; p++)
        o += (size_t)snprintf(expect + o, sizeof(expect) - o,
                              *p == '+'   ? "%%2B"
                              : *p == '/' ? "%%2F"
                              : *p == '=' ? "%%3D"
                                          : "%c",
                              *p);
    CU_ASSERT_EQUAL(sign_query_value(SIGN_KEY_RSA, RSA_PKCS8, REST_PAYLOAD,
                                     strlen(REST_PAYLOAD), out),
                    0);
    CU_ASSERT_STRING_EQUAL(out, expect);
}

/* ---- PEM keys ---- */

/* `certtool --generate-privkey --key-type ed25519 --pkcs8 --null-password`:
 * PBES2-encrypted with an empty password. OpenSSL (-passin pass:) gave the
 * signature of "x=1". */
#define ED25519_NULL_PASSWORD                                                  \
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"                                  \
    "MIGgMFwGCSqGSIb3DQEFDTBPMC4GCSqGSIb3DQEFDDAhBA5FGwW6gOauvYWzXXrD\n"       \
    "RAIDCSfAMAoGCCqGSIb3DQIJMB0GCWCGSAFlAwQBAgQQZAPXdCXEQTREHRwd2D6B\n"       \
    "BgRAZRhXrtii6J7nFCLz7jxsWhf8JMhQpNltnKcNbfkSwhoo/rNa+Vx/ZT6HLipR\n"       \
    "u7PW8CHiEjobSQPmf3sUzj0oag==\n"                                           \
    "-----END ENCRYPTED PRIVATE KEY-----\n"
#define ED25519_NULL_PASSWORD_SIG                                              \
    "A4aE1hjsfo85utJH+SmN1CRGhpdEWqdGGM3la1G+p6V2J3bX+QnxCEyLkivPRwdY6FuIHoqr" \
    "iRqStz58toMSBg=="
/* vector #5's key encrypted with the passphrase "hunter2" */
#define ED25519_PASSPHRASE                                                     \
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"                                  \
    "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiMO/OHCUir2AICCAAw\n"       \
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEEW7jtZWiOjNQrSxm4doxBkEQMtH\n"       \
    "JTHCGlbFj2OqZ2eoTQ7B+TXEqOHOcqdPZzfytEki8nK4oanTX5sfGtk3yzRhkXT+\n"       \
    "wRywTf8h5LTNZzMBrMM=\n"                                                   \
    "-----END ENCRYPTED PRIVATE KEY-----\n"

static void
test_key_null_password(void)
{
    char line[CREDS_SECRET_MAX + 1], err[256], out[SIGN_BASE64_MAX + 1];
    enum sign_key_type type = SIGN_KEY_HMAC;

    CU_ASSERT_EQUAL(sign_key_parse(ED25519_NULL_PASSWORD, line, sizeof(line),
                                   &type, err, sizeof(err)),
                    0);
    CU_ASSERT_EQUAL(type, SIGN_KEY_ED25519);
    /* kept decrypted: signing must not run PBKDF2 every time */
    CU_ASSERT_EQUAL(strncmp(line, "-----BEGIN PRIVATE KEY----- ", 28), 0);
    CU_ASSERT_EQUAL(sign_key_base64(line, "x=1", 3, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, ED25519_NULL_PASSWORD_SIG);
    /* a real passphrase is refused with advice */
    CU_ASSERT_EQUAL(sign_key_parse(ED25519_PASSPHRASE, line, sizeof(line),
                                   &type, err, sizeof(err)),
                    -1);
    CU_ASSERT_TRUE(strstr(err, "passphrase") != NULL);
    CU_ASSERT_TRUE(strstr(err, "openssl pkey") != NULL);
}

static void
test_key_parse(void)
{
    static const struct {
        const char *pem;
        enum sign_key_type type;
    } ok[] = {
        {ED25519_PEM, SIGN_KEY_ED25519},
        {ED25519_ONE_LINE, SIGN_KEY_ED25519},
        {"\r\n  " ED25519_PEM "\n\n", SIGN_KEY_ED25519},
        /* what certtool writes before the PEM is skipped */
        {"Public Key Info:\n\tPublic Key Algorithm: EdDSA "
         "(Ed25519)\n\n" ED25519_PEM,
         SIGN_KEY_ED25519},
        {RSA_PKCS8, SIGN_KEY_RSA},
        {RSA_PKCS1, SIGN_KEY_RSA},
    };
    char line[CREDS_SECRET_MAX + 1], again[CREDS_SECRET_MAX + 1], err[256];
    enum sign_key_type type;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        type = SIGN_KEY_HMAC;
        CU_ASSERT_EQUAL(sign_key_parse(ok[i].pem, line, sizeof(line), &type,
                                       err, sizeof(err)),
                        0);
        CU_ASSERT_EQUAL(type, ok[i].type);
        CU_ASSERT_PTR_NULL(strchr(line, '\n'));
        CU_ASSERT_PTR_NULL(strchr(line, '\r'));
        CU_ASSERT_EQUAL(strncmp(line, "-----BEGIN ", 11), 0);
        /* the one-line form parses to itself */
        CU_ASSERT_EQUAL(
            sign_key_parse(line, again, sizeof(again), &type, err, sizeof(err)),
            0);
        CU_ASSERT_STRING_EQUAL(again, line);
    }
    CU_ASSERT_EQUAL(sign_key_parse(ED25519_PEM, line, sizeof(line), &type, err,
                                   sizeof(err)),
                    0);
    CU_ASSERT_STRING_EQUAL(line, ED25519_ONE_LINE);
    CU_ASSERT_EQUAL(
        sign_key_parse(ED25519_PEM, NULL, 0, &type, err, sizeof(err)), 0);
    /* too small an output buffer */
    CU_ASSERT_EQUAL(
        sign_key_parse(RSA_PKCS8, line, 100, &type, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(line, "");
}

static void
test_key_refused(void)
{
    static const struct {
        const char *pem, *why;
    } bad[] = {
        {EC_P256, "Ed25519 or RSA"},
        {RSA_1024, "1024 bits"},
        {"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0w\n"
         "-----END ENCRYPTED PRIVATE KEY-----\n",
         "encrypted"},
        {"-----BEGIN PUBLIC KEY-----\n"
         "MCowBQYDK2VwAyEAGUIKv9dSpWXBViXp2m6vAIb8QMFJYBgyFEQsFJlqgA0=\n"
         "-----END PUBLIC KEY-----\n",
         "public key"},
        {"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
         "-----END RSA PRIVATE KEY-----\n",
         "encrypted"},
        {"-----BEGIN PRIVATE KEY-----\nMC4-CAQAw\n-----END PRIVATE KEY-----\n",
         "not base64"},
        {ED25519_PEM "-----BEGIN CERTIFICATE-----\n", "one key per file"},
        {"-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END RSA PRIVATE KEY-----"
         "\n",
         "-----END"},
        {"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw\n-----END PRIVATE "
         "KEY-----\n",
         "cannot load"},
        {"-----BEGIN PRIVATE KEY-----\nMC4*\n-----END PRIVATE KEY-----\n",
         "not base64"},
        {"-----BEGIN PRIVATE KEY-----\nMC4\n-----END PRIVATE KEY-----\n",
         "not valid base64"},
        {TEST_SECRET_A, "no -----BEGIN"},
        {"", "no -----BEGIN"},
    };
    char line[CREDS_SECRET_MAX + 1], err[256], out[SIGN_BASE64_MAX + 1];
    enum sign_key_type type;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(line, "junk");
        err[0] = '\0';
        CU_ASSERT_EQUAL(sign_key_parse(bad[i].pem, line, sizeof(line), &type,
                                       err, sizeof(err)),
                        -1);
        CU_ASSERT_STRING_EQUAL(line, "");
        if (strstr(err, bad[i].why) == NULL) {
            fprintf(stderr, "test_sign: case %zu: expected '%s' in '%s'\n", i,
                    bad[i].why, err);
            CU_FAIL("wrong reason");
        }
        strcpy(out, "junk");
        CU_ASSERT_EQUAL(sign_key_base64(bad[i].pem, "x=1", 3, out, sizeof(out)),
                        -1);
        CU_ASSERT_STRING_EQUAL(out, "");
    }
    /* the output buffer must hold the signature */
    CU_ASSERT_EQUAL(sign_key_base64(ED25519_PEM, "x=1", 3, out, 88), -1);
    CU_ASSERT_EQUAL(sign_key_base64(ED25519_PEM, "x=1", 3, out, 89), 0);
}

/* ---- credentials holding a private key ---- */

static void
test_creds_private_key(void)
{
    struct creds c, copy;
    char err[256], sig[SIGN_QUERY_MAX + 1];

    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(
        creds_set(&c, TEST_KEY_A, ED25519_PEM, BNC_ENV_DEMO, err, sizeof(err)),
        0);
    CU_ASSERT_TRUE(c.set);
    CU_ASSERT_EQUAL(c.type, SIGN_KEY_ED25519);
    CU_ASSERT_EQUAL(c.env, BNC_ENV_DEMO);
    CU_ASSERT_STRING_EQUAL(c.secret, ED25519_ONE_LINE);
    /* what the credentials message carries (key\nsecret\nenv) rebuilds it */
    CU_ASSERT_EQUAL(creds_set(&copy, c.key, c.secret, c.env, err, sizeof(err)),
                    0);
    CU_ASSERT_EQUAL(copy.type, SIGN_KEY_ED25519);
    CU_ASSERT_STRING_EQUAL(copy.secret, c.secret);
    CU_ASSERT_EQUAL(sign_query_value(copy.type, copy.secret, REST_PAYLOAD,
                                     strlen(REST_PAYLOAD), sig),
                    0);
    CU_ASSERT_TRUE(strncmp(sig, "inDT086K", 8) == 0);
    creds_wipe(&copy);
    creds_wipe(&c);
    CU_ASSERT_FALSE(c.set);
    CU_ASSERT_EQUAL(c.type, SIGN_KEY_HMAC);
    for (size_t i = 0; i < sizeof(c.secret); i++)
        CU_ASSERT_EQUAL_FATAL(c.secret[i], 0);
    /* RSA, and a refusal that leaves c wiped and never quotes the key */
    CU_ASSERT_EQUAL(
        creds_set(&c, TEST_KEY_A, RSA_PKCS1, BNC_ENV_MAINNET, err, sizeof(err)),
        0);
    CU_ASSERT_EQUAL(c.type, SIGN_KEY_RSA);
    CU_ASSERT_EQUAL(
        creds_set(&c, TEST_KEY_A, EC_P256, BNC_ENV_MAINNET, err, sizeof(err)),
        -1);
    CU_ASSERT_FALSE(c.set);
    CU_ASSERT_EQUAL(c.secret[0], '\0');
    CU_ASSERT_PTR_NULL(strstr(err, "MIGHAgEA"));
    /* an HMAC secret stays one */
    CU_ASSERT_EQUAL(creds_set(&c, TEST_KEY_A, TEST_SECRET_A, BNC_ENV_TESTNET,
                              err, sizeof(err)),
                    0);
    CU_ASSERT_EQUAL(c.type, SIGN_KEY_HMAC);
    CU_ASSERT_STRING_EQUAL(c.secret, TEST_SECRET_A);
    creds_wipe(&c);
}

static void
test_env_demo(void)
{
    enum bnc_env e = BNC_ENV_MAINNET;

    CU_ASSERT_EQUAL(creds_env_parse("Demo", &e), 0);
    CU_ASSERT_EQUAL(e, BNC_ENV_DEMO);
    CU_ASSERT_STRING_EQUAL(creds_env_name(BNC_ENV_DEMO), "demo");
    CU_ASSERT_STRING_EQUAL(creds_env_name(BNC_ENV_TESTNET), "testnet");
    CU_ASSERT_STRING_EQUAL(creds_env_name(BNC_ENV_MAINNET), "mainnet");
    CU_ASSERT_STRING_EQUAL(sign_key_type_name(SIGN_KEY_ED25519), "ed25519");
    CU_ASSERT_STRING_EQUAL(sign_key_type_name(SIGN_KEY_RSA), "rsa");
    CU_ASSERT_STRING_EQUAL(sign_key_type_name(SIGN_KEY_HMAC), "hmac");
}

/* ---- a non-ASCII symbol: percent-encoded (UTF-8) before signing ---- */

static void
test_non_ascii_symbol(void)
{
    struct bnc_params p;
    char sig[SIGN_QUERY_MAX + 1];

    bnc_params_init(&p);
    bnc_params_add(&p, "symbol",
                   "\xe5\xb8\x81\xe5\xae\x89\xe4\xba\xba"
                   "\xe7\x94\x9f"
                   "USDT"); /* 币安人生USDT */
    bnc_params_add(&p, "side", "BUY");
    bnc_params_add(&p, "type", "LIMIT");
    bnc_params_add(&p, "timeInForce", "GTC");
    bnc_params_add(&p, "quantity", "1");
    bnc_params_add(&p, "price", "0.1");
    bnc_params_add(&p, "recvWindow", "5000");
    bnc_params_add(&p, "timestamp", "1499827319559");
    CU_ASSERT_FALSE(p.overflow);
    CU_ASSERT_STRING_EQUAL(
        p.buf, "symbol=%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT&side=BUY&"
               "type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&"
               "recvWindow=5000&timestamp=1499827319559");
    CU_ASSERT_EQUAL(
        sign_query_value(SIGN_KEY_HMAC, TEST_SECRET_A, p.buf, p.len, sig), 0);
    CU_ASSERT_STRING_EQUAL(
        sig,
        "5ab1f133a51b4d18f117a004ea7156dd5525d90d4e63addf087a14cbde163394");
    CU_ASSERT_EQUAL(
        sign_key_base64(ED25519_PEM, p.buf, p.len, sig, sizeof(sig)), 0);
    CU_ASSERT_STRING_EQUAL(sig, "qOtm16Llat4AoVhBc89X/Rn/DYwkhgcKLMr5R2jJPZUaH4"
                                "NNZS8P0R9KwbGGUtdmDUO83wk9/DhmjLKCA02nCA==");
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
    {"Binance HMAC vectors #2 (non-ASCII) and #3", test_hmac_vectors},
    {"Ed25519 vector #5 (FIX logon payload)", test_ed25519_fix_logon},
    {"Ed25519 vector #6 (REST payload), query encoding", test_ed25519_rest},
    {"RSA PKCS#1 v1.5 SHA-256 against OpenSSL", test_rsa_rest},
    {"PEM private keys and their one-line form", test_key_parse},
    {"unsupported, encrypted and malformed keys refused", test_key_refused},
    {"PKCS#8 with a NULL password (certtool) accepted", test_key_null_password},
    {"credentials holding a private key", test_creds_private_key},
    {"environment demo, key type names", test_env_demo},
    {"non-ASCII symbol percent-encoded, then signed", test_non_ascii_symbol},
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
