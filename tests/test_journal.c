/*
 * test_journal.c - unit tests of the audit journal (src/tools/journal.c) on real
 * SQLite files in a fresh temporary directory: opening and its refusals,
 * intents and outcomes as journal_query and the journal view show them, the
 * daily notional cap and what counts towards it, query filters, orphans of
 * dead processes, and eight processes racing for the last of a budget.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "journal.h"
#include "testlib.h"

/* 2025-01-01T00:00:00Z */
#define T0 1735689600000LL

#define KEY_A "fp-aaaaaaaaaaaaaaaa"
#define KEY_B "fp-bbbbbbbbbbbbbbbb"

static char tmpdir[PATH_MAX];

/* ---- helpers ---- */

static int
suite_init(void)
{
    const char *base = getenv("TESTS_BUILDDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(tmpdir, sizeof(tmpdir), "%s/journal.XXXXXX", base);
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
suite_cleanup(void)
{
    char path[PATH_MAX + 256];
    struct dirent *e;
    DIR *d = opendir(tmpdir);

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

/* The path of the journal file called name in the temporary directory. */
static const char *
db_path(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s.db", tmpdir, name);
    return path;
}

static struct journal *
open_journal(const char *name)
{
    char err[256];
    struct journal *j = journal_open(db_path(name), err, sizeof(err));
    if (j == NULL)
        fprintf(stderr, "journal_open: %s\n", err);
    return j;
}

/* An intent of key for symbol with the given notional; the other fields
 * are fixed. */
static struct journal_intent
intent_of(const char *key, const char *symbol, double notional)
{
    struct journal_intent in = {
        .key_fp = key,
        .key_masked = strcmp(key, KEY_A) == 0 ? "vmPU...h8A" : "Bbbb...00B",
        .environment = "testnet",
        .session = "3f2a9c1e",
        .tool = "place_order",
        .method = "POST",
        .path = "/api/v3/order",
        .request = "symbol=BTCUSDT&side=BUY&type=LIMIT",
        .symbol = symbol,
        .side = "BUY",
        .type = "LIMIT",
        .quantity = "0.001",
        .price = "50000",
        .client_order_id = "x-binmcpd-1",
        .notional_usdt = notional,
        .confirmation = "elicitation",
    };
    return in;
}

static struct journal_outcome
outcome_of(const char *outcome, const char *status)
{
    struct journal_outcome o = {
        .outcome = outcome,
        .order_id = -1,
        .order_list_id = -1,
        .status = status,
    };
    return o;
}

/* Appends an intent (no cap) and returns its id, or -1. */
static int64_t
add_intent(struct journal *j, const char *key, const char *symbol,
           double notional, int64_t at_ms)
{
    struct journal_intent in = intent_of(key, symbol, notional);
    char err[256];
    int64_t id = -1;

    if (journal_intent(j, &in, 0, at_ms, &id, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "journal_intent: %s\n", err);
        return -1;
    }
    return id;
}

static int
add_outcome(struct journal *j, int64_t id, const char *outcome,
            const char *status, int64_t at_ms)
{
    struct journal_outcome o = outcome_of(outcome, status);
    char err[256];

    if (journal_outcome(j, id, &o, at_ms, err, sizeof(err)) != 0) {
        fprintf(stderr, "journal_outcome: %s\n", err);
        return -1;
    }
    return 0;
}

static double
spent_of(struct journal *j, const char *key, int64_t now_ms)
{
    char err[256];
    double spent = -1;

    if (journal_spent(j, key, now_ms, &spent, err, sizeof(err)) != 0)
        fprintf(stderr, "journal_spent: %s\n", err);
    return spent;
}

static int
near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

/* Runs sql on our own connection to the file at path, with arg bound to
 * ?1 when the statement has it, and copies the first column of the first
 * row as text into out ("" for NULL). Returns 0 with a row, 1 without, -1
 * on error. */
static int
sql_text(const char *path, const char *sql, int64_t arg, char *out,
         size_t outlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;

    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW: {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", t != NULL ? (const char *)t : "");
        rc = 0;
        break;
    }
    case SQLITE_DONE:
        rc = 1;
        break;
    default:
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        break;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* The query's answer for key (with the other filters), or NULL. */
static json_object *
query(struct journal *j, const char *key, int64_t since, const char *symbol,
      const char *outcome, int limit)
{
    struct journal_filter f = {key, since, symbol, outcome, limit};
    char err[256];
    json_object *arr = journal_query(j, &f, err, sizeof(err));
    if (arr == NULL)
        fprintf(stderr, "journal_query: %s\n", err);
    return arr;
}

/* The entry for intent id in a query answer, borrowed; NULL when absent. */
static json_object *
entry_of(json_object *arr, int64_t id)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (tl_int_at(e, "id") == id)
            return e;
    }
    return NULL;
}

static int
wait_child(pid_t pid)
{
    int status = 0;
    if (tl_wait_exit(pid, 15000, &status) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Reads exactly len bytes; returns 0, or -1 on EOF or error. */
static int
read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Blocks until the write end of fd's pipe is closed everywhere. */
static void
wait_eof(int fd)
{
    char c;
    for (;;) {
        ssize_t n = read(fd, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR))
            return;
    }
}

/* ---- opening ---- */

static void
test_open_creates_0600(void)
{
    const char *path = db_path("mode");
    char wal[PATH_MAX + 80];
    struct stat st;
    mode_t old = umask(0);
    struct journal *j = open_journal("mode");

    umask(old);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    CU_ASSERT(add_intent(j, KEY_A, "BTCUSDT", 10, T0) > 0);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    CU_ASSERT_EQUAL_FATAL(stat(wal, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 077, 0); /* SQLite copies the mode */
    journal_close(j);
    journal_close(NULL);
}

static void
test_open_refuses_0644(void)
{
    const char *path = db_path("open");
    char err[256] = "";
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(fchmod(fd, 0644), 0);
    close(fd);
    CU_ASSERT_PTR_NULL(journal_open(path, err, sizeof(err)));
    CU_ASSERT(tl_contains(err, "chmod 600"));
    CU_ASSERT(tl_contains(err, path));
    /* the refusal did not touch the file */
    CU_ASSERT_EQUAL(sql_text(path, "PRAGMA user_version", 0, err, sizeof(err)),
                    0);
    CU_ASSERT_STRING_EQUAL(err, "0");
}

static void
test_open_refuses_others(void)
{
    char err[256] = "", target[PATH_MAX + 64], buf[64];
    struct journal *j;
    int fd;

    /* not a database at all */
    fd = open(db_path("text"), O_RDWR | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    {
        static const char text[] = "this is not a database but a text file "
                                   "long enough for SQLite to read a header\n";
        write_all(fd, text, sizeof(text) - 1);
    }
    close(fd);
    CU_ASSERT_PTR_NULL(journal_open(db_path("text"), err, sizeof(err)));
    CU_ASSERT(tl_contains(err, db_path("text")));

    /* a schema newer than ours */
    j = open_journal("newer");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    journal_close(j);
    sql_text(db_path("newer"), "PRAGMA user_version = 2", 0, buf, sizeof(buf));
    CU_ASSERT_PTR_NULL(journal_open(db_path("newer"), err, sizeof(err)));
    CU_ASSERT(tl_contains(err, "version 2"));

    /* some other program's database */
    fd = open(db_path("foreign"), O_RDWR | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL(sql_text(db_path("foreign"),
                             "CREATE TABLE accounts (id INTEGER)", 0, buf,
                             sizeof(buf)),
                    1);
    CU_ASSERT_PTR_NULL(journal_open(db_path("foreign"), err, sizeof(err)));
    CU_ASSERT(tl_contains(err, "not a binmcpd journal"));

    /* a symbolic link, and no path */
    snprintf(target, sizeof(target), "%s", db_path("mode"));
    CU_ASSERT_EQUAL(symlink(target, db_path("link")), 0);
    CU_ASSERT_PTR_NULL(journal_open(db_path("link"), err, sizeof(err)));
    CU_ASSERT_PTR_NULL(journal_open(NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(journal_open("", NULL, 0));
}

static void
test_wal_mode(void)
{
    struct journal *j = open_journal("wal");
    char buf[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(
        sql_text(db_path("wal"), "PRAGMA journal_mode", 0, buf, sizeof(buf)),
        0);
    CU_ASSERT_STRING_EQUAL(buf, "wal");
    CU_ASSERT_EQUAL(
        sql_text(db_path("wal"), "PRAGMA user_version", 0, buf, sizeof(buf)),
        0);
    CU_ASSERT_STRING_EQUAL(buf, "1");
    journal_close(j);
    /* opening again keeps everything */
    j = open_journal("wal");
    CU_ASSERT_PTR_NOT_NULL(j);
    journal_close(j);
}

/* ---- intents and outcomes ---- */

static void
test_intent_then_outcome(void)
{
    struct journal *j = open_journal("basic");
    struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 50);
    struct journal_outcome o = outcome_of("accepted", "NEW");
    json_object *arr, *e;
    char err[256], buf[256];
    int64_t id = 0, id2;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(journal_intent(j, &in, 0, T0, &id, NULL, err, sizeof(err)),
                    0);
    CU_ASSERT(id > 0);
    /* pending until an outcome comes */
    CU_ASSERT_EQUAL(sql_text(db_path("basic"),
                             "SELECT outcome FROM journal WHERE id = ?1", id,
                             buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "pending");
    o.http_status = 200;
    o.order_id = 12345;
    o.detail = "filled at once";
    CU_ASSERT_EQUAL(journal_outcome(j, id, &o, T0 + 250, err, sizeof(err)), 0);

    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 1);
    e = json_object_array_get_idx(arr, 0);
    CU_ASSERT_EQUAL(tl_int_at(e, "id"), id);
    CU_ASSERT_EQUAL(tl_int_at(e, "time"), T0);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "environment"), "testnet");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "key"), "vmPU...h8A");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "session"), "3f2a9c1e");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "tool"), "place_order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "method"), "POST");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "path"), "/api/v3/order");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "request"),
                           "symbol=BTCUSDT&side=BUY&type=LIMIT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "symbol"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "side"), "BUY");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "type"), "LIMIT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "quantity"), "0.001");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "price"), "50000");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "clientOrderId"), "x-binmcpd-1");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "confirmation"), "elicitation");
    CU_ASSERT(
        json_object_is_type(tl_get_path(e, "notionalUsdt"), json_type_double));
    CU_ASSERT(near(json_object_get_double(tl_get_path(e, "notionalUsdt")), 50));
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "state"), "accepted");
    CU_ASSERT_PTR_NULL(tl_get_path(e, "key_fp"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "keyFp"));
    CU_ASSERT_EQUAL(tl_len_at(e, "outcomes"), 1);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "outcomes.0.outcome"), "accepted");
    CU_ASSERT_EQUAL(tl_int_at(e, "outcomes.0.time"), T0 + 250);
    CU_ASSERT_EQUAL(tl_int_at(e, "outcomes.0.httpStatus"), 200);
    CU_ASSERT_EQUAL(tl_int_at(e, "outcomes.0.orderId"), 12345);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "outcomes.0.status"), "NEW");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "outcomes.0.detail"), "filled at once");
    /* absent fields are left out */
    CU_ASSERT_PTR_NULL(tl_get_path(e, "outcomes.0.code"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "outcomes.0.check"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "outcomes.0.message"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "outcomes.0.orderListId"));
    json_object_put(arr);

    /* the view, as an operator sees it with sqlite3(1) */
    CU_ASSERT_EQUAL(sql_text(db_path("basic"),
                             "SELECT outcome || '|' || status || '|' ||"
                             " outcome_ms FROM journal WHERE id = ?1",
                             id, buf, sizeof(buf)),
                    0);
    snprintf(err, sizeof(err), "accepted|NEW|%lld", T0 + 250);
    CU_ASSERT_STRING_EQUAL(buf, err);

    /* a later outcome becomes the state, in both */
    o = outcome_of("reconciled", "FILLED");
    o.order_id = 12345;
    CU_ASSERT_EQUAL(journal_outcome(j, id, &o, T0 + 900, err, sizeof(err)), 0);
    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.state"), "reconciled");
    CU_ASSERT_EQUAL(tl_len_at(arr, "0.outcomes"), 2);
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.outcomes.1.status"), "FILLED");
    json_object_put(arr);
    CU_ASSERT_EQUAL(sql_text(db_path("basic"),
                             "SELECT outcome || '|' || status FROM journal"
                             " WHERE id = ?1",
                             id, buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "reconciled|FILLED");

    /* one row per intent in the view */
    id2 = add_intent(j, KEY_A, "ETHUSDT", 5, T0 + 1000);
    CU_ASSERT(id2 > id);
    CU_ASSERT_EQUAL(sql_text(db_path("basic"), "SELECT COUNT(*) FROM journal",
                             0, buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "2");
    journal_close(j);
}

static void
test_absent_and_bad_fields(void)
{
    struct journal *j = open_journal("absent");
    struct journal_intent in = {
        .key_fp = KEY_A,
        .environment = "mainnet",
        .tool = "cancel_order",
        .method = "DELETE",
        .path = "/api/v3/order",
        .request = "symbol=BTCUSDT&orderId=1",
        .notional_usdt = -1,
    };
    struct journal_outcome o = {.outcome = "unknown"}; /* ids 0: present */
    json_object *arr, *e;
    char err[256];
    int64_t id = 0;
    double spent = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 100, T0, &id, &spent, err, sizeof(err)), 0);
    CU_ASSERT(id > 0);
    CU_ASSERT(near(spent, 0));
    o.order_id = 0;
    o.order_list_id = -1;
    CU_ASSERT_EQUAL(journal_outcome(j, id, &o, T0 + 1, err, sizeof(err)), 0);
    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    e = json_object_array_get_idx(arr, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NULL(tl_get_path(e, "notionalUsdt"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "key"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "symbol"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "session"));
    CU_ASSERT_PTR_NULL(tl_get_path(e, "clientOrderId"));
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "state"), "unknown");
    /* outcome, time and orderId 0 only */
    CU_ASSERT_EQUAL(json_object_object_length(tl_get_path(e, "outcomes.0")), 3);
    CU_ASSERT_EQUAL(tl_int_at(e, "outcomes.0.orderId"), 0);
    json_object_put(arr);

    /* what cannot be written is refused with words, without a crash */
    in.request = NULL;
    err[0] = '\0';
    CU_ASSERT_EQUAL(journal_intent(j, &in, 0, T0, &id, NULL, err, sizeof(err)),
                    -1);
    CU_ASSERT(tl_contains(err, "request"));
    CU_ASSERT_EQUAL(journal_intent(j, NULL, 0, T0, NULL, NULL, NULL, 0), -1);
    in.request = "x";
    in.notional_usdt = NAN;
    CU_ASSERT_EQUAL(journal_intent(j, &in, 0, T0, &id, NULL, err, sizeof(err)),
                    -1);
    CU_ASSERT_EQUAL(
        journal_refusal(j, NULL, NULL, NULL, T0, NULL, err, sizeof(err)), -1);
    err[0] = '\0';
    CU_ASSERT_EQUAL(journal_outcome(j, 999999, &o, T0, err, sizeof(err)), -1);
    CU_ASSERT(tl_contains(err, "no intent 999999"));
    o.outcome = "maybe";
    CU_ASSERT_EQUAL(journal_outcome(j, id, &o, T0, err, sizeof(err)), -1);
    o.outcome = NULL;
    CU_ASSERT_EQUAL(journal_outcome(j, id, &o, T0, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(journal_outcome(j, id, NULL, T0, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(journal_spent(j, NULL, T0, &spent, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NULL(journal_query(j, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(query(j, NULL, 0, NULL, NULL, 0));
    CU_ASSERT_EQUAL(journal_spent(NULL, KEY_A, T0, &spent, err, sizeof(err)),
                    -1);
    journal_close(j);
}

static void
test_refusal(void)
{
    struct journal *j = open_journal("refusal");
    struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 75);
    json_object *arr;
    char err[256], buf[64];
    int64_t id = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(journal_refusal(j, &in, "confirmation", "the user declined",
                                    T0, &id, err, sizeof(err)),
                    0);
    CU_ASSERT(id > 0);
    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 1);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), id);
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.state"), "refused");
    CU_ASSERT_EQUAL(tl_len_at(arr, "0.outcomes"), 1);
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.outcomes.0.check"),
                           "confirmation");
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.outcomes.0.message"),
                           "the user declined");
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.outcomes.0.time"), T0);
    json_object_put(arr);
    CU_ASSERT_EQUAL(sql_text(db_path("refusal"),
                             "SELECT COUNT(*) FROM outcomes WHERE intent_id ="
                             " ?1 AND outcome = 'refused'",
                             id, buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "1");
    CU_ASSERT_EQUAL(sql_text(db_path("refusal"),
                             "SELECT outcome FROM journal WHERE id = ?1", id,
                             buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "refused");
    /* a refused attempt spends nothing; NULL check and message are fine */
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 1), 0));
    CU_ASSERT_EQUAL(
        journal_refusal(j, &in, NULL, NULL, T0, NULL, err, sizeof(err)), 0);
    journal_close(j);
}

/* ---- the daily cap ---- */

static void
test_cap_exact_fit(void)
{
    struct journal *j = open_journal("cap");
    struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 60);
    json_object *arr, *e;
    char err[256];
    int64_t id = 0;
    double spent = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 100, T0, &id, &spent, err, sizeof(err)), 0);
    CU_ASSERT(near(spent, 0));
    in.notional_usdt = 40; /* exactly the rest */
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 100, T0 + 1, &id, &spent, err, sizeof(err)), 0);
    CU_ASSERT(near(spent, 60));
    in.notional_usdt = 0.01; /* one cent more */
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 100, T0 + 2, &id, &spent, err, sizeof(err)), 1);
    CU_ASSERT(near(spent, 100));
    CU_ASSERT(id > 0);

    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 3);
    e = entry_of(arr, id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "state"), "refused");
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "outcomes.0.check"),
                           "max_daily_notional");
    CU_ASSERT(tl_contains(tl_str_at(e, "outcomes.0.message"), "100.00"));
    CU_ASSERT(tl_contains(tl_str_at(e, "outcomes.0.message"), "0.00 left"));
    CU_ASSERT(
        near(json_object_get_double(tl_get_path(e, "notionalUsdt")), 0.01));
    json_object_put(arr);
    /* the refusal spent nothing */
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 3), 100));

    /* a cancel (no notional) passes a spent cap; so does anything without
     * a cap */
    in.notional_usdt = -1;
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 100, T0 + 4, &id, &spent, err, sizeof(err)), 0);
    in.notional_usdt = 1e9;
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 0, T0 + 5, &id, NULL, err, sizeof(err)), 0);

    /* sums of binary fractions fit exactly too: 0.1 + 0.2 within 0.3 */
    in = intent_of(KEY_B, "BTCUSDT", 0.1);
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 0.3, T0, &id, NULL, err, sizeof(err)), 0);
    in.notional_usdt = 0.2;
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 0.3, T0, &id, NULL, err, sizeof(err)), 0);
    in.notional_usdt = 0.001;
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 0.3, T0, &id, NULL, err, sizeof(err)), 1);
    journal_close(j);
}

static void
test_cap_what_counts(void)
{
    struct journal *j = open_journal("counts");
    struct journal_outcome o;
    char err[256];
    int64_t id;
    double spent = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    add_intent(j, KEY_A, "BTCUSDT", 10, T0); /* pending: counts */
    id = add_intent(j, KEY_A, "BTCUSDT", 20, T0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "accepted", "NEW", T0), 0); /* counts */
    id = add_intent(j, KEY_A, "BTCUSDT", 40, T0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "unknown", NULL, T0), 0); /* counts */
    id = add_intent(j, KEY_A, "BTCUSDT", 100, T0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "rejected", NULL, T0), 0);
    id = add_intent(j, KEY_A, "BTCUSDT", 200, T0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "refused", NULL, T0), 0);
    id = add_intent(j, KEY_A, "BTCUSDT", 400, T0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "unknown", NULL, T0), 0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "reconciled", "NOT_FOUND", T0 + 1), 0);
    id = add_intent(j, KEY_A, "BTCUSDT", 800, T0); /* found: counts */
    CU_ASSERT_EQUAL(add_outcome(j, id, "unknown", NULL, T0), 0);
    CU_ASSERT_EQUAL(add_outcome(j, id, "reconciled", "FILLED", T0 + 1), 0);
    add_intent(j, KEY_A, "BTCUSDT", -1, T0);   /* a cancel */
    add_intent(j, KEY_B, "BTCUSDT", 5000, T0); /* another key */
    {
        struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 1600);
        CU_ASSERT_EQUAL(journal_refusal(j, &in, "max_order_notional", "big", T0,
                                        NULL, err, sizeof(err)),
                        0);
    }
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 10), 870));
    CU_ASSERT(near(spent_of(j, KEY_B, T0 + 10), 5000));
    CU_ASSERT(near(spent_of(j, "fp-nobody", T0 + 10), 0));

    /* journal_intent counts the same way */
    {
        struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 130);
        CU_ASSERT_EQUAL(journal_intent(j, &in, 1000, T0 + 10, &id, &spent, err,
                                       sizeof(err)),
                        0);
        CU_ASSERT(near(spent, 870));
        in.notional_usdt = 0.5;
        CU_ASSERT_EQUAL(journal_intent(j, &in, 1000, T0 + 10, &id, &spent, err,
                                       sizeof(err)),
                        1);
        CU_ASSERT(near(spent, 1000));
    }
    o = outcome_of("rejected", NULL);
    o.http_status = 400;
    o.code = -2010;
    o.message = "Account has insufficient balance";
    CU_ASSERT_EQUAL(journal_outcome(j, id - 1, &o, T0 + 11, err, sizeof(err)),
                    0);
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 12), 870));
    journal_close(j);
}

static void
test_cap_window(void)
{
    struct journal *j = open_journal("window");
    struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 100);
    char err[256];
    int64_t id;
    double spent = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    add_intent(j, KEY_A, "BTCUSDT", 1, T0 - JOURNAL_DAY_MS - 5000);
    add_intent(j, KEY_A, "BTCUSDT", 2, T0 - JOURNAL_DAY_MS);     /* just out */
    add_intent(j, KEY_A, "BTCUSDT", 4, T0 - JOURNAL_DAY_MS + 1); /* in */
    add_intent(j, KEY_A, "BTCUSDT", 8, T0 - 1);
    CU_ASSERT(near(spent_of(j, KEY_A, T0), 12));
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 1), 8));
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + JOURNAL_DAY_MS + 5000), 0));

    /* a day later the whole cap is back */
    CU_ASSERT_EQUAL(
        journal_intent(j, &in, 100, T0, &id, &spent, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(journal_intent(j, &in, 100, T0 + JOURNAL_DAY_MS, &id,
                                   &spent, err, sizeof(err)),
                    0);
    CU_ASSERT(near(spent, 0));
    journal_close(j);
}

/* ---- queries ---- */

static void
test_query_filters(void)
{
    struct journal *j = open_journal("filters");
    int64_t a[6], b;
    json_object *arr;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    a[0] = add_intent(j, KEY_A, "BTCUSDT", 10, T0 + 0);
    a[1] = add_intent(j, KEY_A, "BTCUSDT", 10, T0 + 1000);
    a[2] = add_intent(j, KEY_A, "ETHUSDT", 10, T0 + 2000);
    b = add_intent(j, KEY_B, "BTCUSDT", 10, T0 + 2500);
    a[3] = add_intent(j, KEY_A, "BTCUSDT", 10, T0 + 3000);
    a[4] = add_intent(j, KEY_A, "ETHUSDT", 10, T0 + 4000);
    a[5] = add_intent(j, KEY_A, "BTCUSDT", 10, T0 + 5000);
    CU_ASSERT_EQUAL(add_outcome(j, a[0], "accepted", "NEW", T0 + 10), 0);
    CU_ASSERT_EQUAL(add_outcome(j, a[1], "rejected", NULL, T0 + 1010), 0);
    CU_ASSERT_EQUAL(add_outcome(j, a[3], "unknown", NULL, T0 + 3010), 0);
    CU_ASSERT_EQUAL(add_outcome(j, a[3], "reconciled", "FILLED", T0 + 3020), 0);
    CU_ASSERT_EQUAL(add_outcome(j, b, "accepted", "NEW", T0 + 2510), 0);

    /* every entry of A, newest first, none of B */
    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 6);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(
            tl_int_at(json_object_array_get_idx(arr, (size_t)i), "id"),
            a[5 - i]);
    }
    CU_ASSERT_PTR_NULL(entry_of(arr, b));
    json_object_put(arr);

    /* B sees only its own */
    arr = query(j, KEY_B, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 1);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), b);
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.key"), "Bbbb...00B");
    json_object_put(arr);
    arr = query(j, "fp-nobody", 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 0);
    json_object_put(arr);

    arr = query(j, KEY_A, 0, "ETHUSDT", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 2);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), a[4]);
    CU_ASSERT_EQUAL(tl_int_at(arr, "1.id"), a[2]);
    json_object_put(arr);

    /* the latest outcome, "pending" for none */
    arr = query(j, KEY_A, 0, NULL, "pending", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 3);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), a[5]);
    CU_ASSERT_EQUAL(tl_int_at(arr, "1.id"), a[4]);
    CU_ASSERT_EQUAL(tl_int_at(arr, "2.id"), a[2]);
    CU_ASSERT_STRING_EQUAL(tl_str_at(arr, "0.state"), "pending");
    CU_ASSERT_EQUAL(tl_len_at(arr, "0.outcomes"), 0);
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(arr, "0.outcomes"));
    json_object_put(arr);
    arr = query(j, KEY_A, 0, NULL, "reconciled", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 1);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), a[3]);
    json_object_put(arr);
    arr = query(j, KEY_A, 0, NULL, "unknown", 0); /* not the latest */
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 0);
    json_object_put(arr);
    arr = query(j, KEY_A, 0, "BTCUSDT", "accepted", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 1);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), a[0]);
    json_object_put(arr);

    /* since: at or after */
    arr = query(j, KEY_A, T0 + 3000, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 3);
    CU_ASSERT_EQUAL(tl_int_at(arr, "2.id"), a[3]);
    json_object_put(arr);

    /* limit: the newest */
    arr = query(j, KEY_A, 0, NULL, NULL, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 2);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.id"), a[5]);
    CU_ASSERT_EQUAL(tl_int_at(arr, "1.id"), a[4]);
    json_object_put(arr);
    journal_close(j);
}

static void
test_query_limits(void)
{
    struct journal *j = open_journal("limits");
    json_object *arr;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    for (int i = 0; i < 205; i++)
        add_intent(j, KEY_A, "BTCUSDT", 1, T0 + i);
    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 50);
    CU_ASSERT_EQUAL(tl_int_at(arr, "0.time"), T0 + 204);
    json_object_put(arr);
    arr = query(j, KEY_A, 0, NULL, NULL, -7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 50);
    json_object_put(arr);
    arr = query(j, KEY_A, 0, NULL, NULL, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 200);
    json_object_put(arr);
    arr = query(j, KEY_A, 0, NULL, NULL, 100000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 200);
    json_object_put(arr);
    arr = query(j, KEY_A, 0, NULL, NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    CU_ASSERT_EQUAL(json_object_array_length(arr), 1);
    json_object_put(arr);
    journal_close(j);
}

/* ---- threads ---- */

struct thread_arg {
    struct journal *j;
    int failures;
};

static void *
thread_writes(void *p)
{
    struct thread_arg *ta = p;
    char err[256];

    for (int i = 0; i < 10; i++) {
        struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 1);
        int64_t id;
        double spent;
        int rc =
            journal_intent(ta->j, &in, 25, T0, &id, &spent, err, sizeof(err));
        if (rc < 0 ||
            (rc == 0 && add_outcome(ta->j, id, "accepted", "NEW", T0) < 0))
            ta->failures++;
    }
    return NULL;
}

static void
test_threads(void)
{
    struct journal *j = open_journal("threads");
    struct thread_arg ta[4];
    pthread_t th[4];
    char buf[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    for (int i = 0; i < 4; i++) {
        ta[i].j = j;
        ta[i].failures = 0;
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&th[i], NULL, thread_writes, &ta[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(ta[i].failures, 0);
    }
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 1), 25));
    CU_ASSERT_EQUAL(sql_text(db_path("threads"),
                             "SELECT COUNT(*) FROM journal"
                             " WHERE outcome = 'refused'",
                             0, buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "15");
    journal_close(j);
}

/* ---- processes ---- */

#define LONG_PATH                                                              \
    "/api/v3/order/with/a/path/far/longer/than/the/sixty-four/bytes/of/an/"    \
    "orphan/record"

/* In a child: opens the journal, writes one intent without outcome (with
 * a long path), reports its id on ready, then waits for go to close (when
 * go >= 0) and exits without an outcome. Never returns. */
static void
child_writes_intent(const char *name, int ready, int go)
{
    struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 10);
    struct journal *j;
    char err[256];
    int64_t id = -1;

    alarm(20);
    in.path = LONG_PATH;
    in.tool = "place_order_list";
    in.client_order_id = "x-orphan-1";
    j = journal_open(db_path(name), err, sizeof(err));
    if (j == NULL ||
        journal_intent(j, &in, 0, T0, &id, NULL, err, sizeof(err)) != 0)
        _exit(2);
    write_all(ready, &id, sizeof(id));
    if (go >= 0)
        wait_eof(go);
    journal_close(j);
    _exit(0);
}

static void
test_orphans(void)
{
    struct journal_orphan out[4];
    struct journal *j = open_journal("orphans");
    char err[256];
    int ready[2], go[2];
    int64_t dead_id = 0, live_id = 0, own_id;
    json_object *arr, *e;
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    own_id = add_intent(j, KEY_A, "BTCUSDT", 10, T0 - 10 * JOURNAL_DAY_MS);
    CU_ASSERT(own_id > 0);
    /* no SQLite connection may cross a fork */
    journal_close(j);

    /* a child writes an intent and exits without an outcome */
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        child_writes_intent("orphans", ready[1], -1);
    }
    close(ready[1]);
    CU_ASSERT_EQUAL(read_all(ready[0], &dead_id, sizeof(dead_id)), 0);
    close(ready[0]);
    CU_ASSERT_EQUAL(wait_child(pid), 0);

    /* another child that writes one and stays alive */
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_writes_intent("orphans", ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    CU_ASSERT_EQUAL(read_all(ready[0], &live_id, sizeof(live_id)), 0);
    close(ready[0]);

    j = open_journal("orphans");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    /* only the dead child's, once */
    CU_ASSERT_EQUAL(
        journal_claim_orphans(j, out, 4, T0 + 1000, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(out[0].id, dead_id);
    CU_ASSERT_EQUAL(out[0].at_ms, T0);
    CU_ASSERT_STRING_EQUAL(out[0].key_fp, KEY_A);
    CU_ASSERT_STRING_EQUAL(out[0].environment, "testnet");
    CU_ASSERT_STRING_EQUAL(out[0].method, "POST");
    CU_ASSERT_EQUAL(strlen(out[0].path), sizeof(out[0].path) - 1);
    CU_ASSERT_EQUAL(strncmp(out[0].path, LONG_PATH, sizeof(out[0].path) - 1),
                    0);
    CU_ASSERT_STRING_EQUAL(out[0].symbol, "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(out[0].client_order_id, "x-orphan-1");
    CU_ASSERT_STRING_EQUAL(out[0].tool, "place_order_list");
    CU_ASSERT_EQUAL(
        journal_claim_orphans(j, out, 4, T0 + 2000, err, sizeof(err)), 0);

    /* the live child ends: now its intent is an orphan */
    close(go[1]);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(
        journal_claim_orphans(j, out, 4, T0 + 3000, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(out[0].id, live_id);
    CU_ASSERT_EQUAL(
        journal_claim_orphans(j, out, 4, T0 + 4000, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(journal_claim_orphans(j, NULL, 0, T0, err, sizeof(err)), 0);

    arr = query(j, KEY_A, 0, NULL, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    e = entry_of(arr, dead_id);
    CU_ASSERT_STRING_EQUAL(tl_str_at(e, "state"), "unknown");
    CU_ASSERT_EQUAL(tl_len_at(e, "outcomes"), 1);
    CU_ASSERT_STRING_EQUAL(
        tl_str_at(e, "outcomes.0.detail"),
        "the process that sent it ended before it heard the answer");
    CU_ASSERT_EQUAL(tl_int_at(e, "outcomes.0.time"), T0 + 1000);
    /* ours is still in flight, however old */
    CU_ASSERT_STRING_EQUAL(tl_str_at(entry_of(arr, own_id), "state"),
                           "pending");
    json_object_put(arr);
    journal_close(j);
}

static void
test_orphans_max(void)
{
    struct journal_orphan out[2];
    struct journal *j;
    char err[256];
    int ready[2];
    int64_t ids[3];

    for (int i = 0; i < 3; i++) {
        pid_t pid;
        CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
        pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            child_writes_intent("orphans-max", ready[1], -1);
        }
        close(ready[1]);
        CU_ASSERT_EQUAL(read_all(ready[0], &ids[i], sizeof(ids[i])), 0);
        close(ready[0]);
        CU_ASSERT_EQUAL(wait_child(pid), 0);
    }
    j = open_journal("orphans-max");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    /* oldest first (same time: lowest id), at most max */
    CU_ASSERT_EQUAL(journal_claim_orphans(j, out, 2, T0, err, sizeof(err)), 2);
    CU_ASSERT_EQUAL(out[0].id, ids[0]);
    CU_ASSERT_EQUAL(out[1].id, ids[1]);
    CU_ASSERT_EQUAL(journal_claim_orphans(j, out, 2, T0, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(out[0].id, ids[2]);
    CU_ASSERT_EQUAL(journal_claim_orphans(j, out, 2, T0, err, sizeof(err)), 0);
    journal_close(j);
}

#define RACERS 8

/* In a child: opens the journal, tells ready, waits for go to close, then
 * asks for 100 of a cap of 500. Exits 10 when admitted, 11 when refused,
 * 12 on error. */
static void
child_races(int ready, int go)
{
    struct journal_intent in = intent_of(KEY_A, "BTCUSDT", 100);
    struct journal *j;
    char err[256];
    int64_t id;
    int rc;

    alarm(20);
    j = journal_open(db_path("race"), err, sizeof(err));
    if (j == NULL)
        _exit(12);
    write_all(ready, "r", 1);
    close(ready);
    wait_eof(go);
    rc = journal_intent(j, &in, 500, T0, &id, NULL, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "racer %d: %s\n", (int)getpid(), err);
    journal_close(j);
    _exit(rc == 0 ? 10 : rc == 1 ? 11 : 12);
}

static void
test_race_for_the_cap(void)
{
    struct journal *j = open_journal("race");
    pid_t pids[RACERS];
    int ready[2], go[2], admitted = 0, refused = 0, other = 0;
    char buf[64];

    /* the file and its schema exist before the race; no connection may
     * cross the fork */
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    journal_close(j);
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        CU_ASSERT_FATAL(pids[i] >= 0);
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            child_races(ready[1], go[0]);
        }
    }
    close(ready[1]);
    close(go[0]);
    /* every racer has its connection open; then all start at once */
    for (int i = 0; i < RACERS; i++)
        CU_ASSERT_EQUAL(read_all(ready[0], buf, 1), 0);
    close(ready[0]);
    close(go[1]);
    for (int i = 0; i < RACERS; i++) {
        switch (wait_child(pids[i])) {
        case 10:
            admitted++;
            break;
        case 11:
            refused++;
            break;
        default:
            other++;
            break;
        }
    }
    CU_ASSERT_EQUAL(admitted, 5);
    CU_ASSERT_EQUAL(refused, 3);
    CU_ASSERT_EQUAL(other, 0);

    j = open_journal("race");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT(near(spent_of(j, KEY_A, T0 + 1), 500));
    journal_close(j);
    CU_ASSERT_EQUAL(sql_text(db_path("race"), "SELECT COUNT(*) FROM intents", 0,
                             buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "8");
    CU_ASSERT_EQUAL(sql_text(db_path("race"),
                             "SELECT COUNT(*) FROM outcomes WHERE outcome ="
                             " 'refused' AND check_name = 'max_daily_notional'",
                             0, buf, sizeof(buf)),
                    0);
    CU_ASSERT_STRING_EQUAL(buf, "3");
}

static CU_TestInfo open_tests[] = {
    {"a new journal is created with mode 0600", test_open_creates_0600},
    {"a group/world-readable file is refused", test_open_refuses_0644},
    {"not a journal, a newer schema, a symlink", test_open_refuses_others},
    {"WAL mode and schema version 1", test_wal_mode},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo record_tests[] = {
    {"an intent, then its outcomes, in query and view",
     test_intent_then_outcome},
    {"absent fields left out, bad ones refused", test_absent_and_bad_fields},
    {"a refusal writes intent and outcome", test_refusal},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo cap_tests[] = {
    {"an exact fit passes, one cent more is refused", test_cap_exact_fit},
    {"what counts towards the cap", test_cap_what_counts},
    {"only the last 24 hours count", test_cap_window},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo query_tests[] = {
    {"key, symbol, outcome, since and limit filters", test_query_filters},
    {"the limit's default and maximum", test_query_limits},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo process_tests[] = {
    {"threads share one journal", test_threads},
    {"orphans of dead processes are claimed once", test_orphans},
    {"orphans oldest first, at most max", test_orphans_max},
    {"eight processes race for a cap of five", test_race_for_the_cap},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"open", suite_init, suite_cleanup, NULL, NULL, open_tests},
    {"records", suite_init, suite_cleanup, NULL, NULL, record_tests},
    {"cap", suite_init, suite_cleanup, NULL, NULL, cap_tests},
    {"query", suite_init, suite_cleanup, NULL, NULL, query_tests},
    {"processes", suite_init, suite_cleanup, NULL, NULL, process_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
