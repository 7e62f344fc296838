/*
 * test_confirm.c - unit tests of the confirmation token store, including
 * real cross-process use with fork(), a lock holder killed with SIGKILL and
 * processes racing for one token.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "confirm.h"
#include "testlib.h"
#include "util.h"

#define T0        1700000000000LL /* an arbitrary "now" in ms */
#define SESSION_A "session-a"
#define SESSION_B "session-b"
#define ORDER_1   "POST /api/v3/order testnet quantity=1&side=BUY&symbol=BTCUSDT"
#define ORDER_2   "POST /api/v3/order testnet quantity=2&side=BUY&symbol=BTCUSDT"
/* a child's exit status when something other than a verdict went wrong */
#define CHILD_FAILED 100

/* Waits (at most 5 s) for a child and returns its exit status, or -1 when
 * it did not exit normally in time. */
static int
wait_child(pid_t pid)
{
    int status;
    if (tl_wait_exit(pid, 5000, &status) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Issues a token for (session, canonical) valid for CONFIRM_TTL_MS from
 * now; fails the test when it cannot. */
static void
issue(struct confirm_store *cs, const char *session, const char *canonical,
      int64_t now, char tok[CONFIRM_TOKEN_LEN + 1])
{
    CU_ASSERT_EQUAL_FATAL(confirm_issue(cs, session, canonical, now,
                                        CONFIRM_TTL_MS, tok,
                                        CONFIRM_TOKEN_LEN + 1),
                          0);
}

static void
test_issue_format(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char a[CONFIRM_TOKEN_LEN + 1], b[CONFIRM_TOKEN_LEN + 1];
    char small[CONFIRM_TOKEN_LEN];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, a);
    issue(cs, SESSION_A, ORDER_1, T0, b);
    CU_ASSERT_EQUAL(strlen(a), CONFIRM_TOKEN_LEN);
    CU_ASSERT_EQUAL(strlen(b), CONFIRM_TOKEN_LEN);
    CU_ASSERT(is_lower_hex(a, CONFIRM_TOKEN_LEN));
    CU_ASSERT(is_lower_hex(b, CONFIRM_TOKEN_LEN));
    CU_ASSERT(strcmp(a, b) != 0); /* random, even for the same order */

    /* one byte short of room for the NUL */
    memset(small, 'x', sizeof(small));
    errno = 0;
    CU_ASSERT_EQUAL(confirm_issue(cs, SESSION_A, ORDER_1, T0, CONFIRM_TTL_MS,
                                  small, sizeof(small)),
                    -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(small[0], '\0');
    CU_ASSERT_EQUAL(
        confirm_issue(cs, NULL, ORDER_1, T0, CONFIRM_TTL_MS, a, sizeof(a)), -1);
    CU_ASSERT_EQUAL(
        confirm_issue(cs, SESSION_A, NULL, T0, CONFIRM_TTL_MS, a, sizeof(a)),
        -1);
    confirm_store_destroy(cs);
}

static void
test_redeem_once(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char tok[CONFIRM_TOKEN_LEN + 1], up[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 1),
                    CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 2),
                    CONFIRM_USED);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 3),
                    CONFIRM_USED);
    /* a spent token stays spent whoever presents it */
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_2, tok, T0 + 3),
                    CONFIRM_USED);

    /* upper-case hex is the same token */
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    for (size_t i = 0; i <= CONFIRM_TOKEN_LEN; i++)
        up[i] = tok[i] >= 'a' && tok[i] <= 'f' ? (char)(tok[i] - 32) : tok[i];
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, up, T0 + 1),
                    CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 1),
                    CONFIRM_USED);
    confirm_store_destroy(cs);
}

static void
test_other_session(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char tok[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_1, tok, T0 + 1),
                    CONFIRM_OTHER_SESSION);
    /* the session is checked before the order */
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_2, tok, T0 + 1),
                    CONFIRM_OTHER_SESSION);
    CU_ASSERT_EQUAL(confirm_redeem(cs, "", ORDER_1, tok, T0 + 1),
                    CONFIRM_OTHER_SESSION);
    /* the labels keep session and order apart: swapping them fails */
    CU_ASSERT_EQUAL(confirm_redeem(cs, ORDER_1, SESSION_A, tok, T0 + 1),
                    CONFIRM_OTHER_SESSION);
    /* the refusals left the token usable by its own session */
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 2),
                    CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_1, tok, T0 + 3),
                    CONFIRM_USED);
    confirm_store_destroy(cs);
}

static void
test_other_order(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char tok[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_2, tok, T0 + 1),
                    CONFIRM_OTHER_ORDER);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1 " ", tok, T0 + 1),
                    CONFIRM_OTHER_ORDER);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, "", tok, T0 + 1),
                    CONFIRM_OTHER_ORDER);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 2),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

/* Orders longer than the digest's stack buffer take the heap path. */
static void
test_long_order(void)
{
    enum { LONG_LEN = 5000 };
    struct confirm_store *cs = confirm_store_create(8);
    static char order[LONG_LEN + 1], other[LONG_LEN + 1];
    char tok[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    memset(order, 'q', LONG_LEN);
    order[LONG_LEN] = '\0';
    memcpy(other, order, LONG_LEN + 1);
    other[LONG_LEN - 1] = 'r';
    issue(cs, SESSION_A, order, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, other, tok, T0 + 1),
                    CONFIRM_OTHER_ORDER);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, order, tok, T0 + 1),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

static void
test_expiry(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char a[CONFIRM_TOKEN_LEN + 1], b[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, a);
    issue(cs, SESSION_A, ORDER_1, T0, b);
    CU_ASSERT_EQUAL(
        confirm_redeem(cs, SESSION_A, ORDER_1, a, T0 + CONFIRM_TTL_MS - 1),
        CONFIRM_OK);
    CU_ASSERT_EQUAL(
        confirm_redeem(cs, SESSION_A, ORDER_1, b, T0 + CONFIRM_TTL_MS),
        CONFIRM_EXPIRED);
    CU_ASSERT_EQUAL(
        confirm_redeem(cs, SESSION_A, ORDER_1, b, T0 + CONFIRM_TTL_MS + 100000),
        CONFIRM_EXPIRED);
    /* expiry is checked before the session and the order */
    CU_ASSERT_EQUAL(
        confirm_redeem(cs, SESSION_B, ORDER_2, b, T0 + CONFIRM_TTL_MS),
        CONFIRM_EXPIRED);
    /* used is checked before expiry */
    CU_ASSERT_EQUAL(
        confirm_redeem(cs, SESSION_A, ORDER_1, a, T0 + CONFIRM_TTL_MS),
        CONFIRM_USED);
    /* an expired refusal changed nothing: earlier it would still work */
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, b, T0 + 1),
                    CONFIRM_OK);

    /* a time to live of 0 is expired at once; a huge one does not wrap */
    CU_ASSERT_EQUAL(confirm_issue(cs, SESSION_A, ORDER_1, T0, 0, a, sizeof(a)),
                    0);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, a, T0),
                    CONFIRM_EXPIRED);
    CU_ASSERT_EQUAL(
        confirm_issue(cs, SESSION_A, ORDER_1, T0, INT64_MAX, a, sizeof(a)), 0);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, a, T0 + 1),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

static void
test_malformed(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char tok[CONFIRM_TOKEN_LEN + 1], bad[CONFIRM_TOKEN_LEN + 8];
    static const size_t positions[] = {0, 1, 31, 62, 63};

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);

    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, "", T0),
                    CONFIRM_UNKNOWN);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, NULL, T0),
                    CONFIRM_UNKNOWN);
    /* one digit short, one too many, trailing and leading junk */
    memcpy(bad, tok, CONFIRM_TOKEN_LEN - 1);
    bad[CONFIRM_TOKEN_LEN - 1] = '\0';
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                    CONFIRM_UNKNOWN);
    snprintf(bad, sizeof(bad), "%s0", tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                    CONFIRM_UNKNOWN);
    snprintf(bad, sizeof(bad), "%s\n", tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                    CONFIRM_UNKNOWN);
    snprintf(bad, sizeof(bad), " %s", tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                    CONFIRM_UNKNOWN);
    /* a non-hex character anywhere, or an embedded NUL */
    for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
        strcpy(bad, tok);
        bad[positions[p]] = "gz-: "[p];
        CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                        CONFIRM_UNKNOWN);
    }
    strcpy(bad, tok);
    bad[40] = '\0';
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                    CONFIRM_UNKNOWN);
    /* none of it touched the real token */
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

static void
test_never_issued(void)
{
    struct confirm_store *cs = confirm_store_create(8);
    char tok[CONFIRM_TOKEN_LEN + 1], bad[CONFIRM_TOKEN_LEN + 1];
    char zeros[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    /* empty slots hold zero bytes: an all-zero token must not match them */
    memset(zeros, '0', CONFIRM_TOKEN_LEN);
    zeros[CONFIRM_TOKEN_LEN] = '\0';
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, zeros, T0),
                    CONFIRM_UNKNOWN);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, zeros, T0),
                    CONFIRM_UNKNOWN);
    /* any single digit changed */
    for (size_t i = 0; i < CONFIRM_TOKEN_LEN; i++) {
        strcpy(bad, tok);
        bad[i] = bad[i] == '0' ? '1' : '0';
        CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, bad, T0),
                        CONFIRM_UNKNOWN);
    }
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

/* A token of another store (another secret) is unknown here. */
static void
test_other_store(void)
{
    struct confirm_store *a = confirm_store_create(4);
    struct confirm_store *b = confirm_store_create(4);
    char tok[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(a != NULL && b != NULL);
    issue(a, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(b, SESSION_A, ORDER_1, tok, T0),
                    CONFIRM_UNKNOWN);
    CU_ASSERT_EQUAL(confirm_redeem(a, SESSION_A, ORDER_1, tok, T0), CONFIRM_OK);
    confirm_store_destroy(b);
    confirm_store_destroy(a);
}

static void
test_full_store(void)
{
    struct confirm_store *cs = confirm_store_create(4);
    char tok[5][CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    for (int i = 0; i < 5; i++)
        issue(cs, SESSION_A, ORDER_1, T0 + i, tok[i]);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok[0], T0 + 10),
                    CONFIRM_UNKNOWN);
    for (int i = 1; i < 5; i++)
        CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok[i], T0 + 10),
                        CONFIRM_OK);
    confirm_store_destroy(cs);
}

/* Spent and expired slots are taken before a live token is pushed out. */
static void
test_reuse_order(void)
{
    struct confirm_store *cs = confirm_store_create(3);
    char live[CONFIRM_TOKEN_LEN + 1], spent[CONFIRM_TOKEN_LEN + 1];
    char stale[CONFIRM_TOKEN_LEN + 1], x[CONFIRM_TOKEN_LEN + 1];
    char y[CONFIRM_TOKEN_LEN + 1];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, live);
    issue(cs, SESSION_A, ORDER_1, T0, spent);
    CU_ASSERT_EQUAL(
        confirm_issue(cs, SESSION_A, ORDER_1, T0, 10, stale, sizeof(stale)), 0);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, spent, T0 + 1),
                    CONFIRM_OK);
    /* at T0 + 20 stale has expired: x and y take spent's and stale's
     * slots, live survives */
    issue(cs, SESSION_B, ORDER_2, T0 + 20, x);
    issue(cs, SESSION_B, ORDER_2, T0 + 20, y);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, spent, T0 + 21),
                    CONFIRM_UNKNOWN);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, stale, T0 + 21),
                    CONFIRM_UNKNOWN);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, live, T0 + 21),
                    CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_2, x, T0 + 21),
                    CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_2, y, T0 + 21),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

static void
test_create_and_text(void)
{
    static const enum confirm_verdict all[] = {
        CONFIRM_OK,   CONFIRM_UNKNOWN,       CONFIRM_EXPIRED,
        CONFIRM_USED, CONFIRM_OTHER_SESSION, CONFIRM_OTHER_ORDER,
    };
    enum { NV = sizeof(all) / sizeof(all[0]) };
    struct confirm_store *cs = confirm_store_create(0);
    char tok[CONFIRM_TOKEN_LEN + 1];

    /* 0 slots means the default, and it works */
    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
    confirm_store_destroy(NULL);
    errno = 0;
    CU_ASSERT_PTR_NULL(confirm_store_create((size_t)1 << 40));
    CU_ASSERT_EQUAL(errno, EINVAL);

    CU_ASSERT_STRING_EQUAL(confirm_verdict_text(CONFIRM_UNKNOWN),
                           "the confirmation token is unknown");
    CU_ASSERT_STRING_EQUAL(confirm_verdict_text(CONFIRM_EXPIRED),
                           "the confirmation token has expired");
    CU_ASSERT_STRING_EQUAL(confirm_verdict_text(CONFIRM_USED),
                           "the confirmation token was used already");
    CU_ASSERT_STRING_EQUAL(confirm_verdict_text(CONFIRM_OTHER_SESSION),
                           "the confirmation token belongs to another session");
    CU_ASSERT_STRING_EQUAL(
        confirm_verdict_text(CONFIRM_OTHER_ORDER),
        "the confirmation token was issued for a different order");
    for (int i = 0; i < NV; i++) {
        CU_ASSERT(confirm_verdict_text(all[i])[0] != '\0');
        for (int j = 0; j < i; j++)
            CU_ASSERT(strcmp(confirm_verdict_text(all[i]),
                             confirm_verdict_text(all[j])) != 0);
    }
    CU_ASSERT_PTR_NOT_NULL(confirm_verdict_text((enum confirm_verdict)42));
}

static void
test_parent_to_child(void)
{
    struct confirm_store *cs = confirm_store_create(16);
    char tok[CONFIRM_TOKEN_LEN + 1];
    pid_t pid;

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit((int)confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 1));
    CU_ASSERT_EQUAL(wait_child(pid), CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 2),
                    CONFIRM_USED);
    confirm_store_destroy(cs);
}

static void
test_child_to_parent(void)
{
    struct confirm_store *cs = confirm_store_create(16);
    char tok[CONFIRM_TOKEN_LEN + 1];
    int pfd[2];
    pid_t pid;

    CU_ASSERT_FATAL(cs != NULL);
    CU_ASSERT_FATAL(pipe(pfd) == 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char ctok[CONFIRM_TOKEN_LEN + 1];
        close(pfd[0]);
        if (confirm_issue(cs, SESSION_B, ORDER_2, T0, CONFIRM_TTL_MS, ctok,
                          sizeof(ctok)) != 0 ||
            write(pfd[1], ctok, CONFIRM_TOKEN_LEN) != CONFIRM_TOKEN_LEN)
            _exit(CHILD_FAILED);
        /* a worker leaving unmaps its view only: the store lives on */
        confirm_store_destroy(cs);
        _exit(0);
    }
    close(pfd[1]);
    CU_ASSERT_EQUAL(read(pfd[0], tok, CONFIRM_TOKEN_LEN), CONFIRM_TOKEN_LEN);
    tok[CONFIRM_TOKEN_LEN] = '\0';
    close(pfd[0]);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_2, tok, T0 + 1),
                    CONFIRM_OTHER_SESSION);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_2, tok, T0 + 1),
                    CONFIRM_OK);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_B, ORDER_2, tok, T0 + 1),
                    CONFIRM_USED);
    confirm_store_destroy(cs);
}

/* Forks a child that redeems an unknown token in a loop. In a store this
 * large nearly all of each call is spent scanning under the lock, so a
 * SIGKILL almost always lands while the child holds it. Returns the pid
 * once the loop runs. */
static pid_t
start_lock_hammer(struct confirm_store *cs)
{
    char byte = 'r';
    int pfd[2];
    pid_t pid;

    CU_ASSERT_FATAL(pipe(pfd) == 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char never[CONFIRM_TOKEN_LEN + 1];
        memset(never, 'e', CONFIRM_TOKEN_LEN);
        never[CONFIRM_TOKEN_LEN] = '\0';
        close(pfd[0]);
        confirm_redeem(cs, SESSION_A, ORDER_1, never, T0);
        if (write(pfd[1], &byte, 1) != 1)
            _exit(CHILD_FAILED);
        for (;;)
            confirm_redeem(cs, SESSION_A, ORDER_1, never, T0);
    }
    close(pfd[1]);
    CU_ASSERT(read(pfd[0], &byte, 1) == 1);
    close(pfd[0]);
    return pid;
}

/* In a child whose stderr goes to log_path, issues and redeems one token;
 * that child is killed when it takes more than a second. Returns 1 when it
 * completed, and sets *repaired when the store logged a repair. */
static int
check_store_alive(struct confirm_store *cs, const char *log_path, int *repaired)
{
    int status;
    char *log;
    pid_t pid = fork();

    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char tok[CONFIRM_TOKEN_LEN + 1];
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(CHILD_FAILED);
        if (confirm_issue(cs, SESSION_A, ORDER_1, T0, CONFIRM_TTL_MS, tok,
                          sizeof(tok)) != 0)
            _exit(CHILD_FAILED);
        _exit((int)confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 1));
    }
    if (tl_wait_exit(pid, 1000, &status) < 0)
        return 0;
    log = tl_slurp(log_path, NULL);
    *repaired |= tl_contains(log, "died holding the lock");
    free(log);
    return WIFEXITED(status) && WEXITSTATUS(status) == CONFIRM_OK;
}

static void
test_killed_lock_holder(void)
{
    enum { ROUNDS = 20 };
    struct confirm_store *cs = confirm_store_create(1u << 15);
    char log_path[] = "/tmp/test_confirm.XXXXXX";
    char tok[CONFIRM_TOKEN_LEN + 1];
    int repaired = 0, alive = 1, fd;

    CU_ASSERT_FATAL(cs != NULL);
    fd = mkstemp(log_path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    /* Until a kill is seen to land inside the lock (the next locker logs
     * the repair); each round's check must finish within a second. */
    for (int round = 0; round < ROUNDS && alive && !repaired; round++) {
        pid_t pid = start_lock_hammer(cs);
        int status;
        tl_sleep_ms(5 + round % 7);
        CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
        CU_ASSERT_EQUAL(tl_wait_exit(pid, 5000, &status), 0);
        alive = check_store_alive(cs, log_path, &repaired);
    }
    unlink(log_path);
    CU_ASSERT_FATAL(alive); /* the store is not wedged */
    CU_ASSERT(repaired);
    /* the parent's own calls work too */
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 1),
                    CONFIRM_OK);
    confirm_store_destroy(cs);
}

static void
test_race(void)
{
    enum { NPROC = 4 };
    struct confirm_store *cs = confirm_store_create(16);
    char tok[CONFIRM_TOKEN_LEN + 1];
    int go[2], counts[CHILD_FAILED + 1] = {0};
    pid_t pids[NPROC];

    CU_ASSERT_FATAL(cs != NULL);
    issue(cs, SESSION_A, ORDER_1, T0, tok);
    CU_ASSERT_FATAL(pipe(go) == 0);
    for (int p = 0; p < NPROC; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            char byte;
            close(go[1]);
            /* every child waits here until the parent closes the pipe */
            if (read(go[0], &byte, 1) != 0)
                _exit(CHILD_FAILED);
            _exit((int)confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 1));
        }
    }
    close(go[0]);
    close(go[1]);
    for (int p = 0; p < NPROC; p++) {
        int code = wait_child(pids[p]);
        counts[code >= 0 && code < CHILD_FAILED ? code : CHILD_FAILED]++;
    }
    CU_ASSERT_EQUAL(counts[CONFIRM_OK], 1);
    CU_ASSERT_EQUAL(counts[CONFIRM_USED], NPROC - 1);
    CU_ASSERT_EQUAL(confirm_redeem(cs, SESSION_A, ORDER_1, tok, T0 + 2),
                    CONFIRM_USED);
    confirm_store_destroy(cs);
}

static CU_TestInfo token_tests[] = {
    {"issue: 64 lower-case hex digits, random", test_issue_format},
    {"redeem once, then used", test_redeem_once},
    {"another session is refused, the token survives", test_other_session},
    {"another order is refused, the token survives", test_other_order},
    {"an order longer than the stack buffer", test_long_order},
    {"expiry at exactly the time to live", test_expiry},
    {"malformed tokens are unknown", test_malformed},
    {"tokens never issued are unknown", test_never_issued},
    {"another store's token is unknown", test_other_store},
    {"a full store drops the token that expires first", test_full_store},
    {"spent and expired slots are reused first", test_reuse_order},
    {"default size, bad size, verdict texts", test_create_and_text},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo process_tests[] = {
    {"the parent issues, a child redeems", test_parent_to_child},
    {"a child issues, the parent redeems", test_child_to_parent},
    {"a lock holder killed with SIGKILL", test_killed_lock_holder},
    {"four processes race for one token", test_race},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"confirm", NULL, NULL, NULL, NULL, token_tests},
    {"processes", NULL, NULL, NULL, NULL, process_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
