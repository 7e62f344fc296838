/*
 * test_auth.c - unit tests of the bearer tokens file and the Authorization
 * header check.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "auth.h"
#include "testlib.h"

#define TOKEN_A "alpha-token-0123456789"
#define TOKEN_B "Bravo.Token_~+/abcdefXYZ=="
#define TOKEN_C "charlie-hashed-token-42"
/* printf %s "abc" | sha256sum */
#define SHA256_ABC                                                             \
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char dir[64];
static char path[128];

static int
suite_init(void)
{
    strcpy(dir, "/tmp/test_auth.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/tokens", dir);
    return 0;
}

static int
suite_clean(void)
{
    unlink(path);
    return rmdir(dir);
}

/* Writes text to the tokens file with the given mode. */
static void
write_file(const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
    close(fd);
}

/* Loads text and expects failure with want in the message. */
static void
expect_error(const char *text, mode_t mode, const char *want)
{
    char err[512] = "";
    write_file(text, mode);
    struct auth_tokens *t = auth_load(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(t);
    if (strstr(err, want) == NULL)
        fprintf(stderr, "\n  got \"%s\", wanted \"%s\"\n", err, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    auth_free(t);
}

static void
test_load_and_check(void)
{
    char err[512] = "", hashed[AUTH_HASHED_LEN + 1], text[1024];

    CU_ASSERT_EQUAL(auth_hash_token(TOKEN_C, hashed, sizeof(hashed)), 0);
    snprintf(text, sizeof(text),
             "# tokens for binmcpd\n"
             "\n"
             "  " TOKEN_A "  \r\n"
             "\t# an indented comment\n" TOKEN_B "\n"
             "%s\n"
             "   \n",
             hashed);
    write_file(text, 0600);
    struct auth_tokens *t = auth_load(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(auth_count(t), 3);

    CU_ASSERT_EQUAL(auth_check(t, "Bearer " TOKEN_A), 1);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer " TOKEN_B), 1);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer " TOKEN_C), 1);
    /* the scheme is case-insensitive; blanks around are allowed */
    CU_ASSERT_EQUAL(auth_check(t, "bearer " TOKEN_A), 1);
    CU_ASSERT_EQUAL(auth_check(t, "BEARER " TOKEN_A), 1);
    CU_ASSERT_EQUAL(auth_check(t, "  Bearer   " TOKEN_A "  "), 1);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer\t" TOKEN_A), 1);

    /* the token itself is case-sensitive and exact */
    CU_ASSERT_EQUAL(auth_check(t, "Bearer ALPHA-TOKEN-0123456789"), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer " TOKEN_A "x"), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer alpha-token-012345678"), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer " TOKEN_A " " TOKEN_B), 0);
    /* the hashed form is not itself a token */
    snprintf(text, sizeof(text), "Bearer %s", hashed);
    CU_ASSERT_EQUAL(auth_check(t, text), 0);
    /* wrong or missing scheme */
    CU_ASSERT_EQUAL(auth_check(t, TOKEN_A), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Basic " TOKEN_A), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer" TOKEN_A), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer"), 0);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer "), 0);
    CU_ASSERT_EQUAL(auth_check(t, ""), 0);
    CU_ASSERT_EQUAL(auth_check(t, NULL), 0);
    auth_free(t);
}

static void
test_hashed_tokens(void)
{
    char err[512] = "", hashed[AUTH_HASHED_LEN + 1];

    CU_ASSERT_EQUAL(auth_hash_token("abc", hashed, sizeof(hashed)), 0);
    CU_ASSERT_STRING_EQUAL(hashed, "sha256:" SHA256_ABC);
    CU_ASSERT_EQUAL(auth_hash_token("abc", hashed, AUTH_HASHED_LEN), -1);

    /* a hashed line may hold a short token and upper-case digits */
    write_file("SHA256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF"
               "61F20015AD\n",
               0400);
    struct auth_tokens *t = auth_load(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer abc"), 1);
    CU_ASSERT_EQUAL(auth_check(t, "Bearer abd"), 0);
    auth_free(t);
}

static void
test_bad_files(void)
{
    char err[512] = "", want[256];

    snprintf(want, sizeof(want), "%s:3: a token must be at least 16", path);
    expect_error(TOKEN_A "\n# comment\nshort-token\n", 0600, want);
    snprintf(want, sizeof(want), "%s:1: a hashed token is sha256:", path);
    expect_error("sha256:" SHA256_ABC "00\n", 0600, want);
    expect_error("sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410f"
                 "f61f20015ad\n",
                 0600, want);
    snprintf(want, sizeof(want), "%s:2: a token may hold only visible", path);
    expect_error(TOKEN_A "\nan inner space in a token\n", 0600, want);
    expect_error("# nothing\n\n", 0600, "holds no token");
    expect_error("", 0600, "holds no token");

    /* group- or world-accessible: refused with the chmod to run */
    snprintf(want, sizeof(want), "(mode 0644); run: chmod 600 %s", path);
    expect_error(TOKEN_A "\n", 0644, want);
    expect_error(TOKEN_A "\n", 0640, "accessible by group or others");
    expect_error(TOKEN_A "\n", 0602, "accessible by group or others");

    /* a short token never appears in the message */
    write_file("tiny-secret\n", 0600);
    struct auth_tokens *t = auth_load(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NULL(strstr(err, "tiny-secret"));

    t = auth_load("/nonexistent/tokens", err, sizeof(err));
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open"));
    t = auth_load(dir, err, sizeof(err));
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
}

static void
test_null_set(void)
{
    CU_ASSERT_EQUAL(auth_check(NULL, "Bearer " TOKEN_A), 0);
    CU_ASSERT_EQUAL(auth_count(NULL), 0);
    auth_free(NULL);
}

static void
test_challenge_and_loopback(void)
{
    CU_ASSERT_STRING_EQUAL(auth_challenge(NULL), "Bearer realm=\"binmcpd\"");
    CU_ASSERT_STRING_EQUAL(auth_challenge("Bearer nope"),
                           "Bearer realm=\"binmcpd\", error=\"invalid_token\"");

    CU_ASSERT_EQUAL(auth_is_loopback("127.0.0.1"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("127.1.2.3"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("::1"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("[::1]"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("::ffff:127.0.0.1"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("localhost"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("LocalHost"), 1);
    CU_ASSERT_EQUAL(auth_is_loopback("0.0.0.0"), 0);
    CU_ASSERT_EQUAL(auth_is_loopback("::"), 0);
    CU_ASSERT_EQUAL(auth_is_loopback("192.168.1.10"), 0);
    CU_ASSERT_EQUAL(auth_is_loopback("128.0.0.1"), 0);
    CU_ASSERT_EQUAL(auth_is_loopback("example.org"), 0);
    CU_ASSERT_EQUAL(auth_is_loopback(""), 0);
    CU_ASSERT_EQUAL(auth_is_loopback(NULL), 0);
}

static CU_TestInfo auth_tests[] = {
    {"load, then check headers", test_load_and_check},
    {"hashed tokens", test_hashed_tokens},
    {"bad files are refused with file:line", test_bad_files},
    {"no token set allows nothing", test_null_set},
    {"401 challenge; loopback addresses", test_challenge_and_loopback},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"auth", suite_init, suite_clean, NULL, NULL, auth_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
