/*
 * test_registry.c - unit tests of the shared-memory session registry,
 * including real cross-process use with fork() and a lock holder that
 * dies.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "registry.h"
#include "testlib.h"
#include "util.h"

#define BIG_TABLE 10000

/* Waits for a child and returns its exit status, or -1 when it did not
 * exit normally. */
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
is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static int
ref_equal(struct reg_ref a, struct reg_ref b)
{
    return a.slot == b.slot && a.gen == b.gen;
}

/* A client whose fingerprints are all byte c (0: none). */
static struct reg_client
client(uint8_t c)
{
    struct reg_client who;
    memset(who.cred, c, sizeof(who.cred));
    memset(who.key, c, sizeof(who.key));
    return who;
}

/* Fails the test with the reason when the lists and counts disagree. */
static void
expect_consistent(struct registry *r)
{
    char why[256];
    int rc = reg_debug_check(r, why, sizeof(why));
    if (rc != 0)
        fprintf(stderr, "test_registry: %s\n", why);
    CU_ASSERT_EQUAL(rc, 0);
}

/* Claims until EAGAIN and releases everything claimed; returns how many
 * claims succeeded (it checks that the free list matches the live count). */
static uint32_t
claim_all_then_release(struct registry *r)
{
    struct reg_ref *refs = calloc(reg_max_live(r), sizeof(*refs));
    char id[REG_ID_LEN + 1];
    uint32_t n = 0;

    CU_ASSERT_FATAL(refs != NULL);
    while (n < reg_max_live(r) &&
           reg_claim(r, 0, REG_KIND_LEGACY, id, &refs[n]) == 0)
        n++;
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &refs[0]), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(reg_live(r), reg_max_live(r));
    for (uint32_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(reg_release(r, refs[i]), 0);
    free(refs);
    return n;
}

static void
test_claim_lookup_release(void)
{
    char err[256], id[REG_ID_LEN + 1], id2[REG_ID_LEN + 1];
    struct registry *r = reg_create(4, 2, err, sizeof(err));
    struct reg_ref ref, got, ref2;
    enum reg_kind kind;
    int owner;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_live(r), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 1, REG_KIND_STREAMABLE, id, &ref), 0);
    CU_ASSERT_EQUAL(strlen(id), REG_ID_LEN);
    CU_ASSERT(is_lower_hex(id, REG_ID_LEN));
    CU_ASSERT_EQUAL(ref.slot, 0);
    CU_ASSERT_EQUAL(ref.gen, 1); /* generations start at 1 */
    CU_ASSERT_NSTRING_EQUAL(id, "0000000000000001", 16);
    CU_ASSERT_EQUAL(reg_live(r), 1);
    CU_ASSERT_EQUAL(reg_valid(r, ref), 1);

    CU_ASSERT_EQUAL(reg_lookup(r, id, &got, &owner, &kind), 0);
    CU_ASSERT(ref_equal(got, ref));
    CU_ASSERT_EQUAL(owner, 1);
    CU_ASSERT_EQUAL(kind, REG_KIND_STREAMABLE);
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), 0);

    CU_ASSERT_EQUAL(reg_release(r, ref), 0);
    CU_ASSERT_EQUAL(reg_live(r), 0);
    CU_ASSERT_EQUAL(reg_valid(r, ref), 0);
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), -1);
    errno = 0;
    CU_ASSERT_EQUAL(reg_release(r, ref), -1); /* already stale */
    CU_ASSERT_EQUAL(errno, ENOENT);
    reg_touch(r, ref); /* a stale ref: no effect, no crash */

    /* The slot is reused with a new generation: the old id and ref stay
     * invalid, the new id differs. */
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id2, &ref2), 0);
    CU_ASSERT_EQUAL(ref2.slot, ref.slot);
    CU_ASSERT_EQUAL(ref2.gen, 2);
    CU_ASSERT_NSTRING_EQUAL(id2, "0000000000000002", 16);
    CU_ASSERT(strcmp(id, id2) != 0);
    CU_ASSERT_EQUAL(reg_valid(r, ref), 0);
    CU_ASSERT_EQUAL(reg_valid(r, ref2), 1);
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), -1);
    CU_ASSERT_EQUAL(reg_release(r, ref), -1);
    CU_ASSERT_EQUAL(reg_lookup(r, id2, &got, &owner, &kind), 0);
    CU_ASSERT(ref_equal(got, ref2));
    CU_ASSERT_EQUAL(owner, 0);
    CU_ASSERT_EQUAL(kind, REG_KIND_LEGACY);
    CU_ASSERT_EQUAL(reg_release(r, ref2), 0);

    /* refs outside the table */
    struct reg_ref far = {.slot = 4, .gen = 1};
    CU_ASSERT_EQUAL(reg_valid(r, far), 0);
    CU_ASSERT_EQUAL(reg_release(r, far), -1);
    reg_touch(r, far);
    reg_destroy(r);
}

static void
test_bad_arguments(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r;
    struct reg_ref ref;

    err[0] = '\0';
    CU_ASSERT_PTR_NULL(reg_create(0, 1, err, sizeof(err)));
    CU_ASSERT(err[0] != '\0');
    err[0] = '\0';
    CU_ASSERT_PTR_NULL(reg_create(1, 0, err, sizeof(err)));
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_PTR_NULL(reg_create(0, 0, NULL, 0));

    r = reg_create(2, 2, err, sizeof(err));
    CU_ASSERT_FATAL(r != NULL);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, 2, REG_KIND_LEGACY, id, &ref), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, -1, REG_KIND_LEGACY, id, &ref), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, 0, (enum reg_kind)7, id, &ref), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_EQUAL(reg_live(r), 0);
    CU_ASSERT_EQUAL(reg_sessions_total(r), 0);
    CU_ASSERT_EQUAL(reg_reap_worker(r, 5, NULL), 0);
    CU_ASSERT_EQUAL(reg_expire_idle(r, -1, 0, NULL, NULL), 0);
    reg_destroy(r);
    reg_destroy(NULL);
}

static void
test_malformed_ids(void)
{
    char err[256], id[REG_ID_LEN + 1], bad[REG_ID_LEN + 8];
    struct registry *r = reg_create(4, 1, err, sizeof(err));
    struct reg_ref ref;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &ref) == 0);
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), 0);

    CU_ASSERT_EQUAL(reg_lookup(r, NULL, NULL, NULL, NULL), -1);
    CU_ASSERT_EQUAL(reg_lookup(r, "", NULL, NULL, NULL), -1);

    /* one digit short */
    memcpy(bad, id, REG_ID_LEN - 1);
    bad[REG_ID_LEN - 1] = '\0';
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    /* one digit too many, and trailing junk */
    snprintf(bad, sizeof(bad), "%s0", id);
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    snprintf(bad, sizeof(bad), "%s\n", id);
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    snprintf(bad, sizeof(bad), " %s", id);
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);

    /* uppercase: same value, still invalid */
    strcpy(bad, id);
    int upper = 0;
    for (int i = 0; i < REG_ID_LEN; i++) {
        if (bad[i] >= 'a' && bad[i] <= 'f') {
            bad[i] = (char)(bad[i] - 'a' + 'A');
            upper = 1;
        }
    }
    if (!upper) /* all digits (unlikely): force one letter */
        bad[REG_ID_LEN - 1] = 'A';
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);

    /* non-hex characters in each field */
    static const int positions[] = {0, 7, 8, 15, 16, 30, REG_ID_LEN - 1};
    static const char junk[] = {'g', 'z', 'x', '-', ' ', ':', '\x80'};
    for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
        strcpy(bad, id);
        bad[positions[p]] = junk[p];
        CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    }
    /* an embedded NUL makes it short */
    strcpy(bad, id);
    bad[20] = '\0';
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    /* generation 0 is never valid; slot beyond the table */
    CU_ASSERT_EQUAL(reg_lookup(r,
                               "000000000000000000000000000000000000000000"
                               "000000",
                               NULL, NULL, NULL),
                    -1);
    strcpy(bad, id);
    memcpy(bad, "ffffffff", 8);
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);

    /* the original is still fine */
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), 0);
    reg_destroy(r);
}

static char
flip_hex(char c)
{
    return c == '0' ? '1' : '0';
}

static void
test_token_tampering(void)
{
    char err[256], a[REG_ID_LEN + 1], b[REG_ID_LEN + 1], bad[REG_ID_LEN + 1];
    struct registry *r = reg_create(4, 1, err, sizeof(err));
    struct reg_ref ra, rb;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(reg_claim(r, 0, REG_KIND_LEGACY, a, &ra) == 0);
    CU_ASSERT_FATAL(reg_claim(r, 0, REG_KIND_LEGACY, b, &rb) == 0);
    CU_ASSERT(strcmp(a + 16, b + 16) != 0); /* tokens are random */

    /* any single token digit changed */
    for (int i = 16; i < REG_ID_LEN; i++) {
        strcpy(bad, a);
        bad[i] = flip_hex(bad[i]);
        CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    }
    /* a's slot and generation with b's token, and the other way round */
    memcpy(bad, a, 16);
    memcpy(bad + 16, b + 16, 33);
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    memcpy(bad, b, 16);
    memcpy(bad + 16, a + 16, 33);
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);
    /* the right token with a wrong generation */
    strcpy(bad, a);
    bad[15] = '2';
    CU_ASSERT_EQUAL(reg_lookup(r, bad, NULL, NULL, NULL), -1);

    CU_ASSERT_EQUAL(reg_lookup(r, a, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_lookup(r, b, NULL, NULL, NULL), 0);
    reg_destroy(r);
}

static void
test_max_live(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(3, 1, err, sizeof(err));
    struct reg_ref refs[3], extra;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_max_live(r), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &refs[i]), 0);
    CU_ASSERT_EQUAL(reg_live(r), 3);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &extra), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(reg_live(r), 3);
    CU_ASSERT_EQUAL(reg_sessions_total(r), 3);

    CU_ASSERT_EQUAL(reg_release(r, refs[1]), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_STREAMABLE, id, &extra), 0);
    CU_ASSERT_EQUAL(extra.slot, refs[1].slot);
    CU_ASSERT_EQUAL(extra.gen, refs[1].gen + 1);
    CU_ASSERT_EQUAL(reg_live(r), 3);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &refs[1]), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(reg_sessions_total(r), 4);
    reg_destroy(r);
}

static void
test_reap_worker(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(10, 3, err, sizeof(err));
    static const int owners[] = {0, 1, 2, 1, 0, 1};
    struct reg_ref refs[6];

    CU_ASSERT_FATAL(r != NULL);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(reg_claim(r, owners[i], REG_KIND_LEGACY, id, &refs[i]),
                        0);
    CU_ASSERT_EQUAL(reg_reap_worker(r, 1, NULL), 3);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(reg_valid(r, refs[i]), owners[i] != 1);
    CU_ASSERT_EQUAL(reg_live(r), 3);
    CU_ASSERT_EQUAL(reg_reap_worker(r, 1, NULL), 0);
    CU_ASSERT_EQUAL(reg_reap_worker(r, 2, NULL), 1);
    CU_ASSERT_EQUAL(reg_live(r), 2);
    CU_ASSERT_EQUAL(reg_valid(r, refs[0]), 1);
    CU_ASSERT_EQUAL(reg_valid(r, refs[4]), 1);
    /* the freed slots are claimable again */
    CU_ASSERT_EQUAL(claim_all_then_release(r), 8);
    reg_destroy(r);
}

struct expired {
    struct reg_ref refs[256];
    int n;
};

static void
on_expired(void *arg, struct reg_ref ref)
{
    struct expired *e = arg;
    if (e->n < 256)
        e->refs[e->n] = ref;
    e->n++;
}

static void
test_expire_idle(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(10, 2, err, sizeof(err));
    struct reg_ref a, b, c, d;
    struct expired e = {.n = 0};

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &a), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &b), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_STREAMABLE, id, &c), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 1, REG_KIND_LEGACY, id, &d), 0);

    /* nothing is idle yet */
    CU_ASSERT_EQUAL(reg_expire_idle(r, 0, 5000, on_expired, &e), 0);
    CU_ASSERT_EQUAL(e.n, 0);

    reg_debug_age(r, a, 10000);
    reg_debug_age(r, c, 10000);
    reg_debug_age(r, d, 10000);
    CU_ASSERT_EQUAL(reg_expire_idle(r, 0, 5000, on_expired, &e), 2);
    CU_ASSERT_EQUAL(e.n, 2);
    CU_ASSERT(ref_equal(e.refs[0], a));
    CU_ASSERT(ref_equal(e.refs[1], c));
    CU_ASSERT_EQUAL(reg_valid(r, a), 0);
    CU_ASSERT_EQUAL(reg_valid(r, b), 1);
    CU_ASSERT_EQUAL(reg_valid(r, c), 0);
    CU_ASSERT_EQUAL(reg_valid(r, d), 1); /* another worker's */
    CU_ASSERT_EQUAL(reg_live(r), 2);

    /* touching (or looking up) makes a session fresh again */
    reg_debug_age(r, b, 10000);
    reg_touch(r, b);
    reg_debug_age(r, d, 10000);
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), 0); /* id is d's */
    e.n = 0;
    CU_ASSERT_EQUAL(reg_expire_idle(r, 0, 5000, on_expired, &e), 0);
    CU_ASSERT_EQUAL(reg_expire_idle(r, 1, 5000, on_expired, &e), 0);
    CU_ASSERT_EQUAL(e.n, 0);
    reg_debug_age(r, d, 10000);
    CU_ASSERT_EQUAL(reg_expire_idle(r, 1, 5000, NULL, NULL), 1);
    CU_ASSERT_EQUAL(reg_valid(r, d), 0);

    /* a real (short) wait, idle time 0 */
    usleep(20 * 1000);
    e.n = 0;
    CU_ASSERT_EQUAL(reg_expire_idle(r, 0, 0, on_expired, &e), 1);
    CU_ASSERT_EQUAL(e.n, 1);
    CU_ASSERT(ref_equal(e.refs[0], b));
    CU_ASSERT_EQUAL(reg_live(r), 0);
    reg_destroy(r);
}

static void
test_expire_many(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(200, 1, err, sizeof(err));
    struct reg_ref refs[150];
    struct expired e = {.n = 0};

    CU_ASSERT_FATAL(r != NULL);
    for (int i = 0; i < 150; i++) {
        CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &refs[i]), 0);
        reg_debug_age(r, refs[i], 60000);
    }
    /* more than one batch: every ref once, in slot order */
    CU_ASSERT_EQUAL(reg_expire_idle(r, 0, 1000, on_expired, &e), 150);
    CU_ASSERT_EQUAL(e.n, 150);
    for (int i = 0; i < 150 && i < e.n; i++)
        CU_ASSERT(ref_equal(e.refs[i], refs[i]));
    CU_ASSERT_EQUAL(reg_live(r), 0);
    reg_destroy(r);
}

static void
test_counters(void)
{
    char err[256], id[REG_ID_LEN + 1];
    int64_t before = now_ms();
    struct registry *r = reg_create(5, 2, err, sizeof(err));
    int64_t after = now_ms();
    struct reg_ref ref;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT(reg_started_ms(r) >= before && reg_started_ms(r) <= after);
    CU_ASSERT_EQUAL(reg_sessions_total(r), 0);
    for (int i = 0; i < 7; i++) {
        CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &ref), 0);
        CU_ASSERT_EQUAL(reg_release(r, ref), 0);
    }
    CU_ASSERT_EQUAL(reg_sessions_total(r), 7);
    CU_ASSERT_EQUAL(reg_live(r), 0);
    reg_destroy(r);
}

static void
test_worker_table(void)
{
    char err[256];
    struct registry *r = reg_create(5, 3, err, sizeof(err));
    pid_t pid;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_workers(r), 3);
    CU_ASSERT_EQUAL(reg_workers_alive(r), 0);
    reg_worker_set(r, 0, 1000);
    reg_worker_set(r, 2, 1002);
    CU_ASSERT_EQUAL(reg_worker_pid(r, 0), 1000);
    CU_ASSERT_EQUAL(reg_worker_pid(r, 1), 0);
    CU_ASSERT_EQUAL(reg_worker_pid(r, 2), 1002);
    CU_ASSERT_EQUAL(reg_workers_alive(r), 2);
    reg_worker_set(r, 0, 0);
    CU_ASSERT_EQUAL(reg_workers_alive(r), 1);
    /* out of range: ignored */
    reg_worker_set(r, 3, 99);
    reg_worker_set(r, -1, 99);
    CU_ASSERT_EQUAL(reg_worker_pid(r, 3), 0);
    CU_ASSERT_EQUAL(reg_worker_pid(r, -1), 0);
    CU_ASSERT_EQUAL(reg_workers_alive(r), 1);

    /* a child records its own pid; the parent sees it */
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        reg_worker_set(r, 1, getpid());
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(reg_worker_pid(r, 1), pid);
    CU_ASSERT_EQUAL(reg_workers_alive(r), 2);
    reg_destroy(r);
}

static void
test_cross_process(void)
{
    char err[256], id[REG_ID_LEN + 1], mine[REG_ID_LEN + 1];
    struct registry *r = reg_create(8, 2, err, sizeof(err));
    struct reg_ref ref, parent_ref;
    enum reg_kind kind;
    int pfd[2], owner;
    pid_t pid;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(reg_claim(r, 0, REG_KIND_LEGACY, mine, &parent_ref) == 0);
    CU_ASSERT_FATAL(pipe(pfd) == 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* worker 1: sees the parent's session, claims its own */
        char cid[REG_ID_LEN + 1];
        struct reg_ref cref;
        int code = 0;
        close(pfd[0]);
        if (reg_lookup(r, mine, NULL, &owner, NULL) != 0 || owner != 0)
            code = 1;
        else if (reg_claim(r, 1, REG_KIND_STREAMABLE, cid, &cref) != 0)
            code = 2;
        else if (write(pfd[1], cid, REG_ID_LEN) != REG_ID_LEN)
            code = 3;
        _exit(code);
    }
    close(pfd[1]);
    CU_ASSERT_EQUAL(read(pfd[0], id, REG_ID_LEN), REG_ID_LEN);
    id[REG_ID_LEN] = '\0';
    close(pfd[0]);
    CU_ASSERT_EQUAL(wait_child(pid), 0);

    CU_ASSERT_EQUAL(reg_live(r), 2);
    CU_ASSERT_EQUAL(reg_lookup(r, id, &ref, &owner, &kind), 0);
    CU_ASSERT_EQUAL(owner, 1);
    CU_ASSERT_EQUAL(kind, REG_KIND_STREAMABLE);
    CU_ASSERT_EQUAL(reg_valid(r, ref), 1);
    /* the parent (the supervisor) reaps the dead worker: its Streamable
     * HTTP session stays, an orphan that worker 0 adopts */
    int orphaned = -1, now_owner = -1, orphan = -1;
    size_t len = 1;
    char state[16];
    CU_ASSERT_EQUAL(reg_reap_worker(r, 1, &orphaned), 0);
    CU_ASSERT_EQUAL(orphaned, 1);
    CU_ASSERT_EQUAL(reg_lookup(r, id, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_owner(r, ref, &now_owner, &orphan), 0);
    CU_ASSERT_EQUAL(orphan, 1);
    CU_ASSERT_EQUAL(
        reg_adopt(r, ref, 0, -1, state, sizeof(state), &len, &now_owner), 0);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(now_owner, 1); /* adopted from worker 1 */
    CU_ASSERT_EQUAL(reg_owner(r, ref, &now_owner, &orphan), 0);
    CU_ASSERT_EQUAL(now_owner, 0);
    CU_ASSERT_EQUAL(orphan, 0);
    CU_ASSERT_EQUAL(reg_lookup(r, mine, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_live(r), 2);
    expect_consistent(r);
    reg_destroy(r);
}

/* Adoption: the record travels, one worker wins, the rest see the owner;
 * legacy sessions end with their worker; records are wiped with their
 * slot; in-flight ids are taken once. */
static void
test_adopt(void)
{
    char err[256], id[REG_ID_LEN + 1], lid[REG_ID_LEN + 1];
    struct registry *r = reg_create(4, 3, err, sizeof(err));
    struct reg_ref ref, lref;
    char state[REG_STATE_MAX], ids[REG_INFLIGHT_MAX][REG_RPC_ID_MAX];
    size_t len = 0;
    int owner = -1, orphan = -1, orphaned = 0;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(reg_claim(r, 1, REG_KIND_STREAMABLE, id, &ref) == 0);
    CU_ASSERT_FATAL(reg_claim(r, 1, REG_KIND_LEGACY, lid, &lref) == 0);
    CU_ASSERT_EQUAL(reg_state_save(r, ref, 1, "v1", 2), 0);
    CU_ASSERT_EQUAL(reg_state_save(r, ref, 1, "state two", 9), 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_state_save(r, ref, 2, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, EPERM);
    errno = 0;
    CU_ASSERT_EQUAL(reg_state_save(r, ref, 1, state, REG_STATE_MAX + 1), -1);
    CU_ASSERT_EQUAL(errno, EMSGSIZE);
    /* while worker 1 lives, nobody adopts */
    errno = 0;
    CU_ASSERT_EQUAL(
        reg_adopt(r, ref, 2, -1, state, sizeof(state), &len, &owner), -1);
    CU_ASSERT_EQUAL(errno, EBUSY);
    CU_ASSERT_EQUAL(owner, 1);
    CU_ASSERT_EQUAL(reg_inflight_add(r, ref, 1, 77, "5"), 0);
    CU_ASSERT_EQUAL(reg_inflight_add(r, ref, 1, 77, "\"a\""), 0);
    CU_ASSERT_EQUAL(reg_inflight_add(r, ref, 0, 78, "6"), 0);
    CU_ASSERT_EQUAL(reg_reap_worker(r, 1, &orphaned), 1);
    CU_ASSERT_EQUAL(orphaned, 1);
    CU_ASSERT_EQUAL(reg_valid(r, lref), 0);
    CU_ASSERT_EQUAL(reg_valid(r, ref), 1);
    CU_ASSERT_EQUAL(reg_owner(r, ref, &owner, &orphan), 0);
    CU_ASSERT_EQUAL(orphan, 1);
    expect_consistent(r);
    /* one winner; the loser learns who */
    CU_ASSERT_EQUAL(
        reg_adopt(r, ref, 2, -1, state, sizeof(state), &len, &owner), 0);
    CU_ASSERT_EQUAL(len, 9);
    CU_ASSERT_EQUAL(memcmp(state, "state two", 9), 0);
    errno = 0;
    CU_ASSERT_EQUAL(
        reg_adopt(r, ref, 0, -1, state, sizeof(state), &len, &owner), -1);
    CU_ASSERT_EQUAL(errno, EBUSY);
    CU_ASSERT_EQUAL(owner, 2);
    /* a dead owner seen before the reap: adoptable by naming it */
    CU_ASSERT_EQUAL(reg_adopt(r, ref, 0, 2, state, sizeof(state), &len, &owner),
                    0);
    CU_ASSERT_EQUAL(owner, 2);
    CU_ASSERT_EQUAL(reg_state_save(r, ref, 2, "x", 1), -1);
    /* the dead worker's in-flight ids are taken once */
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 1, 77, ids, REG_INFLIGHT_MAX), 2);
    CU_ASSERT_STRING_EQUAL(ids[0], "5");
    CU_ASSERT_STRING_EQUAL(ids[1], "\"a\"");
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 1, 77, ids, REG_INFLIGHT_MAX), 0);
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 0, 78, NULL, 0), 0);
    /* a resumption carries them on: moved, not gone */
    CU_ASSERT_EQUAL(reg_inflight_add(r, ref, 1, 79, "7"), 0);
    CU_ASSERT_EQUAL(
        reg_inflight_move(r, ref, 1, 79, 2, 80, ids, REG_INFLIGHT_MAX), 1);
    CU_ASSERT_STRING_EQUAL(ids[0], "7");
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 1, 79, NULL, 0), 0);
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 2, 80, ids, REG_INFLIGHT_MAX), 1);
    for (int k = 0; k < REG_INFLIGHT_MAX + 3; k++)
        CU_ASSERT_EQUAL(reg_inflight_add(r, ref, 0, 100 + (uint64_t)k, "1"), 0);
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 0, 100, NULL, 0), 0);
    CU_ASSERT_EQUAL(reg_inflight_take(r, ref, 0, 110, ids, 1), 1);
    /* a legacy session is never adopted */
    CU_ASSERT_FATAL(reg_claim(r, 1, REG_KIND_LEGACY, lid, &lref) == 0);
    errno = 0;
    CU_ASSERT_EQUAL(
        reg_adopt(r, lref, 2, 1, state, sizeof(state), &len, &owner), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    /* freed: the record is gone with it, and a new session starts empty */
    CU_ASSERT_EQUAL(reg_release(r, ref), 0);
    CU_ASSERT_EQUAL(
        reg_adopt(r, ref, 2, -1, state, sizeof(state), &len, &owner), -1);
    CU_ASSERT_FATAL(reg_claim(r, 1, REG_KIND_STREAMABLE, id, &ref) == 0);
    CU_ASSERT_EQUAL(reg_reap_worker(r, 1, NULL), 1);
    CU_ASSERT_EQUAL(
        reg_adopt(r, ref, 2, -1, state, sizeof(state), &len, &owner), 0);
    CU_ASSERT_EQUAL(len, 0);
    expect_consistent(r);
    reg_destroy(r);
}

/* Several processes claim and release at once: the counts must add up. */
static void
test_concurrent_processes(void)
{
    enum { NPROC = 4, ROUNDS = 2000 };
    char err[256];
    struct registry *r = reg_create(64, NPROC, err, sizeof(err));
    pid_t pids[NPROC];

    CU_ASSERT_FATAL(r != NULL);
    for (int p = 0; p < NPROC; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            char cid[REG_ID_LEN + 1];
            struct reg_ref refs[8];
            for (int i = 0; i < ROUNDS; i++) {
                for (int k = 0; k < 8; k++) {
                    if (reg_claim(r, p, REG_KIND_LEGACY, cid, &refs[k]) != 0)
                        _exit(1);
                    if (reg_lookup(r, cid, NULL, NULL, NULL) != 0)
                        _exit(2);
                }
                for (int k = 0; k < 8; k++) {
                    if (!reg_valid(r, refs[k]) || reg_release(r, refs[k]) != 0)
                        _exit(3);
                }
            }
            _exit(0);
        }
    }
    for (int p = 0; p < NPROC; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    CU_ASSERT_EQUAL(reg_live(r), 0);
    CU_ASSERT_EQUAL(reg_sessions_total(r), (uint64_t)NPROC * ROUNDS * 8);
    CU_ASSERT_EQUAL(claim_all_then_release(r), 64);
    reg_destroy(r);
}

/* Forks a child that dies holding the lock at the given stage. */
static void
die_holding_lock(struct registry *r, enum reg_debug_stage stage,
                 struct reg_ref ref)
{
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        reg_debug_lock_and_exit(r, stage, ref);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
}

static void
test_dead_lock_holder(void)
{
    char err[256], id[REG_ID_LEN + 1], keep[REG_ID_LEN + 1];
    struct registry *r = reg_create(6, 2, err, sizeof(err));
    struct reg_ref a, b, c, none = {0, 0};

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, keep, &a), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 1, REG_KIND_LEGACY, id, &b), 0);

    /* 1. dies just holding the lock: the next operation succeeds */
    die_holding_lock(r, REG_DEBUG_LOCKED, none);
    CU_ASSERT_EQUAL(reg_claim(r, 1, REG_KIND_STREAMABLE, id, &c), 0);
    CU_ASSERT_EQUAL(reg_live(r), 3);
    CU_ASSERT_EQUAL(reg_lookup(r, keep, NULL, NULL, NULL), 0);
    /* and the mutex is healthy again: a second round works the same */
    die_holding_lock(r, REG_DEBUG_LOCKED, none);
    CU_ASSERT_EQUAL(reg_release(r, c), 0);
    CU_ASSERT_EQUAL(reg_live(r), 2);

    /* 2. dies half-way through a claim: the slot is given back */
    die_holding_lock(r, REG_DEBUG_MID_CLAIM, none);
    CU_ASSERT_EQUAL(reg_live(r), 3); /* not repaired yet */
    CU_ASSERT_EQUAL(reg_lookup(r, keep, NULL, NULL, NULL), 0); /* repairs */
    CU_ASSERT_EQUAL(reg_live(r), 2);
    CU_ASSERT_EQUAL(claim_all_then_release(r), 4);
    CU_ASSERT_EQUAL(reg_live(r), 2);

    /* 3. dies half-way through releasing b: b ends up free, for good */
    die_holding_lock(r, REG_DEBUG_MID_RELEASE, b);
    CU_ASSERT_EQUAL(reg_release(r, b), -1); /* repaired first, then stale */
    CU_ASSERT_EQUAL(reg_valid(r, b), 0);
    CU_ASSERT_EQUAL(reg_live(r), 1);
    /* the repair rebuilt the free list lowest slot first: b's slot comes
     * back first, with a new generation */
    CU_ASSERT_EQUAL(reg_claim(r, 1, REG_KIND_LEGACY, id, &c), 0);
    CU_ASSERT_EQUAL(c.slot, b.slot);
    CU_ASSERT(c.gen > b.gen);
    CU_ASSERT_EQUAL(reg_release(r, c), 0);
    CU_ASSERT_EQUAL(claim_all_then_release(r), 5);

    CU_ASSERT_EQUAL(reg_lookup(r, keep, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_live(r), 1);

    /* 4. dies half-way through saving a session's state: the session
     * lives on, but its torn record is never adopted */
    {
        char state[8];
        size_t len = 0;
        int from = -1;
        CU_ASSERT_EQUAL(reg_claim(r, 1, REG_KIND_STREAMABLE, id, &c), 0);
        CU_ASSERT_EQUAL(reg_state_save(r, c, 1, "secret", 6), 0);
        die_holding_lock(r, REG_DEBUG_MID_RECORD, c);
        CU_ASSERT_EQUAL(reg_reap_worker(r, 1, NULL), 0); /* repairs */
        CU_ASSERT_EQUAL(reg_valid(r, c), 1);
        errno = 0;
        CU_ASSERT_EQUAL(
            reg_adopt(r, c, 0, -1, state, sizeof(state), &len, &from), -1);
        CU_ASSERT_EQUAL(errno, ENOENT);
        CU_ASSERT_EQUAL(reg_release(r, c), 0);
        expect_consistent(r);
    }
    reg_destroy(r);
}

/* A lock holder dies half-way through claims and releases of clients'
 * sessions: the lists, the client table and the counts are rebuilt. */
static void
test_dead_with_clients(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(6, 2, err, sizeof(err));
    struct reg_client a = client(0x11), b = client(0x22);
    struct reg_ref ra[3], rb, none = {0, 0}, extra;

    CU_ASSERT_FATAL(r != NULL);
    reg_set_limits(r, 3, 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &a, id, &ra[i]),
                        0);
    CU_ASSERT_EQUAL(reg_claim_as(r, 1, REG_KIND_STREAMABLE, &b, id, &rb), 0);
    CU_ASSERT_EQUAL(reg_pin(r, ra[2]), 0);

    die_holding_lock(r, REG_DEBUG_MID_RELEASE, ra[1]);
    CU_ASSERT_EQUAL(reg_client_sessions(r, a.key), 2); /* repairs */
    CU_ASSERT_EQUAL(reg_valid(r, ra[1]), 0);
    expect_consistent(r);
    die_holding_lock(r, REG_DEBUG_MID_CLAIM, none);
    CU_ASSERT_EQUAL(reg_client_sessions(r, b.key), 1);
    expect_consistent(r);
    CU_ASSERT_EQUAL(reg_live(r), 3);
    /* the pin survived the repair: a's third claim then evicts ra[0] */
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &a, id, &extra), 0);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &a, id, &extra), 0);
    CU_ASSERT_EQUAL(reg_valid(r, ra[0]), 0);
    CU_ASSERT_EQUAL(reg_valid(r, ra[2]), 1);
    expect_consistent(r);
    reg_destroy(r);
}

static int
cmp_ids(const void *a, const void *b)
{
    return memcmp(a, b, REG_ID_LEN);
}

static void
test_ten_thousand(void)
{
    char err[256];
    struct registry *r = reg_create(BIG_TABLE, 4, err, sizeof(err));
    struct reg_ref *refs = calloc(BIG_TABLE, sizeof(*refs));
    char(*ids)[REG_ID_LEN + 1] = calloc(BIG_TABLE, sizeof(*ids));
    char extra[REG_ID_LEN + 1];
    struct reg_ref xref;
    int dup = 0, bad = 0;

    CU_ASSERT_FATAL(r != NULL && refs != NULL && ids != NULL);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < BIG_TABLE; i++) {
            if (reg_claim(r, i % 4, REG_KIND_LEGACY, ids[i], &refs[i]) != 0)
                bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_EQUAL(reg_live(r), BIG_TABLE);
        errno = 0;
        CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, extra, &xref), -1);
        CU_ASSERT_EQUAL(errno, EAGAIN);
        for (int i = 0; i < BIG_TABLE; i++) {
            if (reg_lookup(r, ids[i], NULL, NULL, NULL) != 0 ||
                refs[i].gen != (uint32_t)round + 1)
                bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        qsort(ids, BIG_TABLE, sizeof(*ids), cmp_ids);
        for (int i = 1; i < BIG_TABLE; i++)
            dup += memcmp(ids[i - 1], ids[i], REG_ID_LEN) == 0;
        CU_ASSERT_EQUAL(dup, 0);
        for (int i = 0; i < BIG_TABLE; i++) {
            if (reg_release(r, refs[i]) != 0)
                bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_EQUAL(reg_live(r), 0);
    }
    CU_ASSERT_EQUAL(reg_sessions_total(r), 2 * BIG_TABLE);
    free(ids);
    free(refs);
    reg_destroy(r);
}

/* ---- admission: eviction, clients, credentials, pins, streams ---- */

static void
test_evict_lru(void)
{
    char err[256], id[REG_ID_LEN + 1], ids[5][REG_ID_LEN + 1];
    struct registry *r = reg_create(4, 2, err, sizeof(err));
    struct reg_client x = client(7);
    struct reg_ref s[5], extra;

    CU_ASSERT_FATAL(r != NULL);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(
            reg_claim_as(r, i % 2, REG_KIND_STREAMABLE, &x, ids[i], &s[i]), 0);
    CU_ASSERT_EQUAL(reg_pin(r, s[1]), 0);
    /* a lookup makes s0 the most recent: the order is s1 s2 s3 s0 */
    CU_ASSERT_EQUAL(reg_lookup(r, ids[0], NULL, NULL, NULL), 0);
    /* full: the least recent unpinned one (s2) goes, not the pinned s1 */
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &x, ids[4], &s[4]),
                    0);
    CU_ASSERT_EQUAL(reg_valid(r, s[2]), 0);
    CU_ASSERT_EQUAL(reg_lookup(r, ids[2], NULL, NULL, NULL), -1);
    CU_ASSERT_EQUAL(s[4].slot, s[2].slot);
    CU_ASSERT_EQUAL(reg_valid(r, s[1]), 1);
    CU_ASSERT_EQUAL(reg_evictions(r, REG_EVICT_FULL), 1);
    CU_ASSERT_EQUAL(reg_evictions(r, REG_EVICT_CLIENT), 0);
    CU_ASSERT_EQUAL(reg_live(r), 4);
    expect_consistent(r);

    /* everything pinned: EAGAIN, nothing evicted */
    CU_ASSERT_EQUAL(reg_pin(r, s[0]), 0);
    CU_ASSERT_EQUAL(reg_pin(r, s[3]), 0);
    CU_ASSERT_EQUAL(reg_pin(r, s[4]), 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &x, id, &extra), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    CU_ASSERT_EQUAL(reg_evictions(r, REG_EVICT_FULL), 1);
    /* the last unpin makes a session the most recent, and evictable */
    CU_ASSERT_EQUAL(reg_pin(r, s[3]), 0); /* twice */
    reg_unpin(r, s[3]);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &x, id, &extra), -1);
    reg_unpin(r, s[3]);
    CU_ASSERT_EQUAL(reg_claim_as(r, 1, REG_KIND_LEGACY, &x, id, &extra), 0);
    CU_ASSERT_EQUAL(reg_valid(r, s[3]), 0);
    CU_ASSERT_EQUAL(reg_evictions(r, REG_EVICT_FULL), 2);
    /* reg_claim (no client) never evicts */
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, id, &extra), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    expect_consistent(r);
    reg_destroy(r);
}

static void
test_client_cap(void)
{
    char err[256], id[REG_ID_LEN + 1], ids[4][REG_ID_LEN + 1];
    struct registry *r = reg_create(10, 1, err, sizeof(err));
    struct reg_client a = client(1), b = client(2);
    struct reg_ref s[4], sb, extra;

    CU_ASSERT_FATAL(r != NULL);
    reg_set_limits(r, 2, 0);
    CU_ASSERT_EQUAL(reg_max_per_client(r), 2);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &a, ids[0], &s[0]),
                    0);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &b, id, &sb), 0);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &a, ids[1], &s[1]),
                    0);
    CU_ASSERT_EQUAL(reg_client_sessions(r, a.key), 2);
    /* a's third: its own oldest goes, b's stays */
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &a, ids[2], &s[2]),
                    0);
    CU_ASSERT_EQUAL(reg_valid(r, s[0]), 0);
    CU_ASSERT_EQUAL(reg_valid(r, sb), 1);
    CU_ASSERT_EQUAL(reg_client_sessions(r, a.key), 2);
    CU_ASSERT_EQUAL(reg_client_sessions(r, b.key), 1);
    CU_ASSERT_EQUAL(reg_evictions(r, REG_EVICT_CLIENT), 1);
    CU_ASSERT_EQUAL(reg_live(r), 3);

    /* all of a's pinned: EDQUOT, although the table has room */
    CU_ASSERT_EQUAL(reg_pin(r, s[1]), 0);
    CU_ASSERT_EQUAL(reg_pin(r, s[2]), 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &a, id, &extra), -1);
    CU_ASSERT_EQUAL(errno, EDQUOT);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &b, id, &extra), 0);
    /* a lookup of s2 and an unpin of s1: s1 is now a's most recent, but
     * the only one unpinned: it goes */
    reg_unpin(r, s[1]);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &a, ids[3], &s[3]),
                    0);
    CU_ASSERT_EQUAL(reg_valid(r, s[1]), 0);
    CU_ASSERT_EQUAL(reg_valid(r, s[2]), 1);
    CU_ASSERT_EQUAL(reg_evictions(r, REG_EVICT_CLIENT), 2);
    expect_consistent(r);

    /* releasing every session of a client forgets it */
    CU_ASSERT_EQUAL(reg_release(r, s[2]), 0);
    CU_ASSERT_EQUAL(reg_release(r, s[3]), 0);
    CU_ASSERT_EQUAL(reg_client_sessions(r, a.key), 0);
    expect_consistent(r);
    /* no cap at 0 */
    reg_set_limits(r, 0, 0);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &a, id, &extra), 0);
    CU_ASSERT_EQUAL(reg_client_sessions(r, a.key), 5);
    expect_consistent(r);
    reg_destroy(r);
}

static void
test_credentials(void)
{
    char err[256], ida[REG_ID_LEN + 1], idn[REG_ID_LEN + 1];
    struct registry *r = reg_create(4, 1, err, sizeof(err));
    struct reg_client a = client(0xa1), b = client(0xb2), none = client(0);
    struct reg_ref ra, rn, got;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &a, ida, &ra), 0);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_LEGACY, &none, idn, &rn), 0);
    CU_ASSERT_EQUAL(reg_lookup_as(r, ida, a.cred, &got, NULL, NULL), 0);
    CU_ASSERT(ref_equal(got, ra));
    /* another credential: as unknown as a wrong id */
    errno = 0;
    CU_ASSERT_EQUAL(reg_lookup_as(r, ida, b.cred, NULL, NULL, NULL), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(reg_lookup_as(r, ida, none.cred, NULL, NULL, NULL), -1);
    /* NULL: not checked (reg_lookup) */
    CU_ASSERT_EQUAL(reg_lookup_as(r, ida, NULL, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_lookup(r, ida, NULL, NULL, NULL), 0);
    /* a session made without a credential takes none */
    CU_ASSERT_EQUAL(reg_lookup_as(r, idn, none.cred, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_lookup_as(r, idn, a.cred, NULL, NULL, NULL), -1);
    /* the slot's next session does not inherit it */
    CU_ASSERT_EQUAL(reg_release(r, ra), 0);
    CU_ASSERT_EQUAL(reg_claim(r, 0, REG_KIND_LEGACY, ida, &ra), 0);
    CU_ASSERT_EQUAL(reg_lookup_as(r, ida, none.cred, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(reg_lookup_as(r, ida, a.cred, NULL, NULL, NULL), -1);
    reg_destroy(r);
}

static void
test_pins(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(2, 1, err, sizeof(err));
    struct reg_client x = client(3);
    struct reg_ref a, b, c;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &x, id, &a), 0);
    CU_ASSERT_EQUAL(reg_pin(r, a), 0);
    /* a pinned session can still be released; its pins go with it */
    CU_ASSERT_EQUAL(reg_release(r, a), 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_pin(r, a), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    reg_unpin(r, a); /* stale: ignored */
    /* the reused slot starts unpinned: evictable */
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &x, id, &b), 0);
    CU_ASSERT_EQUAL(b.slot, a.slot);
    reg_unpin(r, a); /* a's ref is stale: b keeps 0 pins, not "-1" */
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &x, id, &c), 0);
    CU_ASSERT_EQUAL(reg_claim_as(r, 0, REG_KIND_STREAMABLE, &x, id, &a), 0);
    CU_ASSERT_EQUAL(reg_valid(r, b), 0); /* the least recent went */
    CU_ASSERT_EQUAL(reg_valid(r, c), 1);
    expect_consistent(r);
    reg_destroy(r);
}

static void
test_streams(void)
{
    char err[256];
    struct registry *r = reg_create(4, 2, err, sizeof(err));

    CU_ASSERT_FATAL(r != NULL);
    /* no limit by default */
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(reg_stream_open(r, i % 2), 0);
    CU_ASSERT_EQUAL(reg_streams(r), 10);
    for (int i = 0; i < 10; i++)
        reg_stream_close(r, i % 2);
    CU_ASSERT_EQUAL(reg_streams(r), 0);
    reg_stream_close(r, 0); /* already 0: ignored */
    CU_ASSERT_EQUAL(reg_streams(r), 0);

    reg_set_limits(r, 0, 3);
    CU_ASSERT_EQUAL(reg_max_streams(r), 3);
    CU_ASSERT_EQUAL(reg_stream_open(r, 0), 0);
    CU_ASSERT_EQUAL(reg_stream_open(r, 0), 0);
    CU_ASSERT_EQUAL(reg_stream_open(r, 1), 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_stream_open(r, 1), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    errno = 0;
    CU_ASSERT_EQUAL(reg_stream_open(r, 2), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    reg_stream_close(r, 0);
    CU_ASSERT_EQUAL(reg_stream_open(r, 1), 0);
    CU_ASSERT_EQUAL(reg_streams(r), 3);
    /* a dead worker's streams are forgotten with it */
    CU_ASSERT_EQUAL(reg_reap_worker(r, 1, NULL), 0);
    CU_ASSERT_EQUAL(reg_streams(r), 1);
    reg_stream_close(r, 1); /* its late close: ignored */
    CU_ASSERT_EQUAL(reg_streams(r), 1);
    CU_ASSERT_EQUAL(reg_stream_open(r, 1), 0);
    CU_ASSERT_EQUAL(reg_stream_open(r, 0), 0);
    CU_ASSERT_EQUAL(reg_stream_open(r, 0), -1);
    reg_destroy(r);
}

/* A session's standalone stream: recorded by the worker that opens it,
 * read by the owner, cleared only by the stream recorded, gone with the
 * session. */
static void
test_listener(void)
{
    char err[256], id[REG_ID_LEN + 1];
    struct registry *r = reg_create(4, 2, err, sizeof(err));
    struct reg_ref ref;
    uint64_t stream = 0;
    int w = 0;

    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(reg_claim(r, 0, REG_KIND_STREAMABLE, id, &ref) == 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_listener_get(r, ref, &w, &stream), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(reg_listener_set(r, ref, 1, 41), 0);
    CU_ASSERT_EQUAL(reg_listener_get(r, ref, &w, &stream), 0);
    CU_ASSERT_EQUAL(w, 1);
    CU_ASSERT_EQUAL(stream, 41);
    /* a newer stream replaces it; the older one's end leaves it */
    CU_ASSERT_EQUAL(reg_listener_set(r, ref, 0, 42), 0);
    CU_ASSERT_EQUAL(reg_listener_clear(r, ref, 1, 41), 0);
    CU_ASSERT_EQUAL(reg_listener_get(r, ref, &w, &stream), 0);
    CU_ASSERT_EQUAL(w, 0);
    CU_ASSERT_EQUAL(stream, 42);
    CU_ASSERT_EQUAL(reg_listener_clear(r, ref, 0, 42), 0);
    CU_ASSERT_EQUAL(reg_listener_get(r, ref, &w, &stream), -1);
    /* gone with its session, and not inherited by the slot's next one */
    CU_ASSERT_EQUAL(reg_listener_set(r, ref, 1, 43), 0);
    CU_ASSERT_EQUAL(reg_release(r, ref), 0);
    errno = 0;
    CU_ASSERT_EQUAL(reg_listener_get(r, ref, &w, &stream), -1);
    CU_ASSERT_EQUAL(errno, ENOENT);
    CU_ASSERT_EQUAL(reg_listener_set(r, ref, 1, 44), -1);
    CU_ASSERT_FATAL(reg_claim(r, 0, REG_KIND_STREAMABLE, id, &ref) == 0);
    CU_ASSERT_EQUAL(reg_listener_get(r, ref, &w, &stream), -1);
    reg_destroy(r);
}

/* Random claims, lookups, pins and releases by many clients, against a
 * model of each client's count; the table stays consistent throughout
 * (the client table sees many removals: backward shifts). */
static void
test_client_churn(void)
{
    enum { SLOTS = 3000, CLIENTS = 400, CAP = 9, ROUNDS = 40000 };
    char err[256];
    struct registry *r = reg_create(SLOTS, 2, err, sizeof(err));
    static struct {
        struct reg_ref ref;
        int client;
        int live;
        int pins;
        char id[REG_ID_LEN + 1];
    } sess[SLOTS];
    static int count[CLIENTS];
    unsigned seed = 12345;
    int bad = 0;

    CU_ASSERT_FATAL(r != NULL);
    reg_set_limits(r, CAP, 0);
    memset(sess, 0, sizeof(sess));
    memset(count, 0, sizeof(count));
    for (int round = 0; round < ROUNDS; round++) {
        seed = seed * 1103515245u + 12345u;
        unsigned pick = (seed >> 8) % 100, k = (seed >> 12) % SLOTS;
        if (pick < 55) {
            int c = (int)((seed >> 4) % CLIENTS);
            struct reg_client who = client(0);
            char id[REG_ID_LEN + 1];
            struct reg_ref ref;
            memcpy(who.key, &c, sizeof(c));
            who.key[8] = 0x5a; /* never all zero */
            uint64_t ev = reg_evictions(r, REG_EVICT_FULL) +
                          reg_evictions(r, REG_EVICT_CLIENT);
            if (reg_claim_as(r, c % 2, REG_KIND_STREAMABLE, &who, id, &ref) ==
                0) {
                /* whatever was evicted: the model learns it from valid */
                for (int i = 0;
                     i < SLOTS && ev != reg_evictions(r, REG_EVICT_FULL) +
                                            reg_evictions(r, REG_EVICT_CLIENT);
                     i++) {
                    if (sess[i].live && !reg_valid(r, sess[i].ref)) {
                        sess[i].live = 0;
                        count[sess[i].client]--;
                        bad += sess[i].pins != 0; /* a pinned one went */
                    }
                }
                sess[ref.slot].ref = ref;
                sess[ref.slot].client = c;
                sess[ref.slot].live = 1;
                sess[ref.slot].pins = 0;
                memcpy(sess[ref.slot].id, id, sizeof(id));
                count[c]++;
                bad += count[c] > CAP;
            }
        } else if (pick < 70 && sess[k].live) {
            bad += reg_lookup(r, sess[k].id, NULL, NULL, NULL) != 0;
        } else if (pick < 80 && sess[k].live && sess[k].pins < 2) {
            bad += reg_pin(r, sess[k].ref) != 0;
            sess[k].pins++;
        } else if (pick < 90 && sess[k].live && sess[k].pins > 0) {
            reg_unpin(r, sess[k].ref);
            sess[k].pins--;
        } else if (sess[k].live) {
            bad += reg_release(r, sess[k].ref) != 0;
            sess[k].live = 0;
            count[sess[k].client]--;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int c = 0; c < CLIENTS; c++) {
        uint8_t key[REG_FP_LEN] = {0};
        memcpy(key, &c, sizeof(c));
        key[8] = 0x5a;
        if (reg_client_sessions(r, key) != (uint32_t)count[c])
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    expect_consistent(r);
    reg_destroy(r);
}

static CU_TestInfo registry_tests[] = {
    {"the standalone stream of a session", test_listener},
    {"claim, lookup, release, stale ids", test_claim_lookup_release},
    {"bad arguments", test_bad_arguments},
    {"malformed ids are invalid", test_malformed_ids},
    {"a tampered token is invalid", test_token_tampering},
    {"max_live: EAGAIN, then room after a release", test_max_live},
    {"reaping a worker frees only its sessions", test_reap_worker},
    {"adoption: records, one winner, in-flight ids", test_adopt},
    {"idle sessions expire with a callback", test_expire_idle},
    {"expiring more than one batch", test_expire_many},
    {"counters", test_counters},
    {"worker table", test_worker_table},
    {"a full table evicts the LRU unpinned session", test_evict_lru},
    {"a client at its cap loses its own LRU idle session, or EDQUOT",
     test_client_cap},
    {"a session answers only the credential that made it", test_credentials},
    {"pins: stale refs, released and reused slots", test_pins},
    {"streams: the limit across workers, a reaped worker's", test_streams},
    {"40,000 random operations of 400 clients stay consistent",
     test_client_churn},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo process_tests[] = {
    {"a child claims, the parent looks up", test_cross_process},
    {"processes claiming at once", test_concurrent_processes},
    {"a process dies holding the lock", test_dead_lock_holder},
    {"... with clients, lists and pins", test_dead_with_clients},
    {"10,000 claims and releases", test_ten_thousand},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"registry", NULL, NULL, NULL, NULL, registry_tests},
    {"processes", NULL, NULL, NULL, NULL, process_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
