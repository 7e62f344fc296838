/*
 * journal.c - the audit journal of order-changing calls, in SQLite. See
 * journal.h.
 *
 * One connection per struct journal, opened in WAL mode with
 * synchronous=FULL, so that a COMMIT is on disk when it returns. Every write
 * is one BEGIN IMMEDIATE transaction: the write lock is taken before the
 * daily-cap sum is read, so two processes can never both admit the last of a
 * key's budget. Every value reaches SQL through a bound parameter; the only
 * SQL text is the constants below.
 *
 * Each intent records its writer: the kernel's boot id, the PID and the
 * process start time (field 22 of /proc/PID/stat). An intent without any
 * outcome whose writer no longer runs is an orphan: it was sent, or perhaps
 * not, and nobody heard the answer. journal_claim_orphans gives such intents
 * an "unknown" outcome so that reconciliation can look them up.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "journal.h"
#include "util.h"

#define JOURNAL_SCHEMA_VERSION 1
#define JOURNAL_BUSY_MS        10000
#define JOURNAL_CAP_EPSILON    1e-9
/* Without boot id and start times, an intent this old and still without an
 * outcome is taken for an orphan. */
#define JOURNAL_ORPHAN_AGE_MS 120000
#define JOURNAL_QUERY_DEFAULT 50
#define JOURNAL_QUERY_MAX     200
#define JOURNAL_ORPHAN_DETAIL                                                  \
    "the process that sent it ended before it heard the answer"

struct journal {
    pthread_mutex_t mu; /* serialises every call on db */
    sqlite3 *db;
    char *path;    /* for error messages */
    pid_t pid;     /* the process that opened it; no other may use it */
    char boot[64]; /* /proc/sys/kernel/random/boot_id, "" when unreadable */
    int64_t start; /* our start time in clock ticks since boot, 0 unknown */
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS intents ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at_ms INTEGER NOT NULL,"
    " key_fp TEXT NOT NULL,"
    " key_masked TEXT,"
    " environment TEXT NOT NULL,"
    " session TEXT,"
    " tool TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " symbol TEXT, side TEXT, type TEXT, quantity TEXT, price TEXT,"
    " client_order_id TEXT,"
    " notional_usdt REAL,"
    " confirmation TEXT,"
    " writer_boot TEXT, writer_pid INTEGER, writer_start INTEGER);"
    "CREATE TABLE IF NOT EXISTS outcomes ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " intent_id INTEGER NOT NULL REFERENCES intents(id),"
    " at_ms INTEGER NOT NULL,"
    " outcome TEXT NOT NULL CHECK(outcome IN"
    "  ('accepted','rejected','refused','unknown','reconciled')),"
    " check_name TEXT, http_status INTEGER, code INTEGER, message TEXT,"
    " order_id INTEGER, order_list_id INTEGER, status TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS outcomes_intent ON outcomes(intent_id);"
    "CREATE INDEX IF NOT EXISTS intents_key_time ON intents(key_fp, at_ms);"
    "CREATE VIEW IF NOT EXISTS journal AS"
    " SELECT i.id, i.at_ms, i.key_fp, i.key_masked, i.environment,"
    "  i.session, i.tool, i.method, i.path, i.request, i.symbol, i.side,"
    "  i.type, i.quantity, i.price, i.client_order_id, i.notional_usdt,"
    "  i.confirmation, COALESCE(o.outcome, 'pending') AS outcome,"
    "  o.status AS status, o.at_ms AS outcome_ms"
    " FROM intents i LEFT JOIN outcomes o ON o.id ="
    "  (SELECT MAX(l.id) FROM outcomes l WHERE l.intent_id = i.id);"
    "PRAGMA user_version = 1;";

/* Objects a database may hold before it becomes a journal: none but ours
 * (and SQLite's own). */
static const char foreign_sql[] =
    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE"
    " '\\' AND name NOT IN ('intents', 'outcomes', 'outcomes_intent',"
    " 'intents_key_time', 'journal') LIMIT 1";

/* Every column this file uses, so that a file with tables of the same
 * names but another shape is refused at open rather than at the first
 * order. */
static const char probe_sql[] =
    "SELECT i.id, i.at_ms, i.key_fp, i.key_masked, i.environment, i.session,"
    " i.tool, i.method, i.path, i.request, i.symbol, i.side, i.type,"
    " i.quantity, i.price, i.client_order_id, i.notional_usdt,"
    " i.confirmation, i.writer_boot, i.writer_pid, i.writer_start,"
    " o.id, o.intent_id, o.at_ms, o.outcome, o.check_name, o.http_status,"
    " o.code, o.message, o.order_id, o.order_list_id, o.status, o.detail"
    " FROM intents i, outcomes o LIMIT 0";

static const char insert_intent_sql[] =
    "INSERT INTO intents (at_ms, key_fp, key_masked, environment, session,"
    " tool, method, path, request, symbol, side, type, quantity, price,"
    " client_order_id, notional_usdt, confirmation, writer_boot, writer_pid,"
    " writer_start) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
    " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

static const char insert_outcome_sql[] =
    "INSERT INTO outcomes (intent_id, at_ms, outcome, check_name,"
    " http_status, code, message, order_id, order_list_id, status, detail)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/* What a key has committed: see journal.h. Pending intents count. */
static const char spent_sql[] =
    "SELECT TOTAL(i.notional_usdt) FROM intents i"
    " WHERE i.key_fp = ?1 AND i.at_ms > ?2 AND i.notional_usdt IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.intent_id = i.id"
    "  AND (o.outcome IN ('rejected', 'refused')"
    "   OR (o.outcome = 'reconciled' AND o.status = 'NOT_FOUND')))";

#define LATEST_OUTCOME_SQL                                                     \
    "COALESCE((SELECT o.outcome FROM outcomes o WHERE o.intent_id = i.id"      \
    " ORDER BY o.id DESC LIMIT 1), 'pending')"

/* Columns in the order of query_keys. */
static const char query_sql[] =
    "SELECT i.id, i.at_ms, i.environment, i.key_masked, i.session, i.tool,"
    " i.method, i.path, i.request, i.symbol, i.side, i.type, i.quantity,"
    " i.price, i.client_order_id, i.notional_usdt, i.confirmation,"
    " " LATEST_OUTCOME_SQL
    " FROM intents i WHERE i.key_fp = ?1 AND i.at_ms >= ?2"
    " AND (?3 IS NULL OR i.symbol = ?3)"
    " AND (?4 IS NULL OR " LATEST_OUTCOME_SQL " = ?4)"
    " ORDER BY i.at_ms DESC, i.id DESC LIMIT ?5";

static const char *const query_keys[] = {
    "id",           "time",         "environment", "key",     "session",
    "tool",         "method",       "path",        "request", "symbol",
    "side",         "type",         "quantity",    "price",   "clientOrderId",
    "notionalUsdt", "confirmation", "state",
};

/* Columns in the order of outcome_keys. */
static const char outcomes_sql[] =
    "SELECT outcome, at_ms, check_name, http_status, code, message, order_id,"
    " order_list_id, status, detail FROM outcomes WHERE intent_id = ?1"
    " ORDER BY id";

static const char *const outcome_keys[] = {
    "outcome", "time",    "check",       "httpStatus", "code",
    "message", "orderId", "orderListId", "status",     "detail",
};

static const char orphans_sql[] =
    "SELECT i.id, i.at_ms, i.key_fp, i.environment, i.method, i.path,"
    " i.symbol, i.client_order_id, i.tool, i.writer_boot, i.writer_pid,"
    " i.writer_start FROM intents i"
    " WHERE NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.intent_id = i.id)"
    " ORDER BY i.at_ms, i.id";

/* ---- errors ---- */

/* "journal PATH: what: SQLite's words", from the connection's last error. */
static void
jn_sqlerr(const struct journal *j, char *err, size_t errlen, const char *what)
{
    errf(err, errlen, "journal %s: %s: %s", j->path, what,
         sqlite3_errmsg(j->db));
}

/* ---- the writer's identity, from /proc ---- */

/* Reads up to len-1 bytes of the file at path into buf, NUL-terminated.
 * Returns the length, or -1 with errno. */
static ssize_t
read_small_file(const char *path, char *buf, size_t len)
{
    size_t used = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    while (used + 1 < len) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    return (ssize_t)used;
}

enum proc_state { PROC_ALIVE, PROC_GONE, PROC_UNKNOWN };

/* Looks up process pid ("self" when pid is 0): its start time in clock
 * ticks since boot (field 22 of /proc/PID/stat, counted after the last ')'
 * since the command name may hold anything). A zombie counts as gone: it
 * will never record an outcome. */
static enum proc_state
proc_lookup(pid_t pid, int64_t *start)
{
    char path[64], buf[2048];
    const char *p;
    long long v;

    *start = 0;
    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/stat");
    else
        snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
    if (read_small_file(path, buf, sizeof(buf)) < 0)
        return (errno == ENOENT || errno == ESRCH) ? PROC_GONE : PROC_UNKNOWN;
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return PROC_UNKNOWN;
    p += 2; /* field 3, the state */
    if (*p == 'Z' || *p == 'X')
        return PROC_GONE;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return PROC_UNKNOWN;
        p++;
    }
    if (sscanf(p, "%lld", &v) != 1 || v <= 0)
        return PROC_UNKNOWN;
    *start = v;
    return PROC_ALIVE;
}

/* Fills j->pid, j->boot and j->start; what cannot be read stays "" or 0,
 * which makes orphan detection fall back to the age of intents. */
static void
writer_identity(struct journal *j)
{
    char buf[128];

    j->pid = getpid();
    j->boot[0] = '\0';
    if (read_small_file("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) >
        0) {
        size_t n = strcspn(buf, " \t\r\n");
        if (n > 0 && n < sizeof(j->boot)) {
            memcpy(j->boot, buf, n);
            j->boot[n] = '\0';
        }
    }
    if (proc_lookup(0, &j->start) != PROC_ALIVE)
        j->start = 0;
}

/* Whether the intent's writer (boot, pid, start) can no longer record its
 * outcome. Never true for the calling process; when it cannot tell, false
 * (an intent of a live process must not be taken). */
static int
writer_gone(const struct journal *j, const char *boot, int64_t pid,
            int64_t start, int64_t at_ms, int64_t now_ms)
{
    int64_t now_start;

    if (pid == (int64_t)j->pid && start == j->start &&
        strcmp(boot, j->boot) == 0)
        return 0;
    if (j->boot[0] == '\0' || j->start == 0 || boot[0] == '\0' || start == 0)
        return at_ms < now_ms - JOURNAL_ORPHAN_AGE_MS;
    if (strcmp(boot, j->boot) != 0)
        return 1;
    if (pid <= 0 || (int64_t)(pid_t)pid != pid)
        return 1; /* no process can have written it on this boot */
    switch (proc_lookup((pid_t)pid, &now_start)) {
    case PROC_GONE:
        return 1;
    case PROC_ALIVE:
        return now_start != start; /* the PID was reused */
    case PROC_UNKNOWN:
        break;
    }
    return 0;
}

/* ---- statements and transactions ---- */

static int
jn_prepare(struct journal *j, const char *sql, sqlite3_stmt **st, char *err,
           size_t errlen)
{
    if (sqlite3_prepare_v2(j->db, sql, -1, st, NULL) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, "cannot prepare a statement");
        *st = NULL;
        return -1;
    }
    return 0;
}

/* Runs a statement that returns no row, and finalizes it. */
static int
jn_step_done(struct journal *j, sqlite3_stmt *st, const char *what, char *err,
             size_t errlen)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        jn_sqlerr(j, err, errlen, what);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs constant SQL text (no values in it). */
static int
jn_exec(struct journal *j, const char *sql, const char *what, char *err,
        size_t errlen)
{
    if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, what);
        return -1;
    }
    return 0;
}

/* Takes the write lock. SQLite's busy handler already waits; this loop
 * covers the busy cases it does not (WAL recovery by another connection),
 * within the same overall timeout. */
static int
jn_begin(struct journal *j, char *err, size_t errlen)
{
    int64_t deadline = mono_ms() + JOURNAL_BUSY_MS;
    struct timespec pause = {0, 2 * 1000 * 1000};

    for (;;) {
        int rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc & 0xff) != SQLITE_BUSY || mono_ms() >= deadline) {
            jn_sqlerr(j, err, errlen, "cannot begin a transaction");
            return -1;
        }
        nanosleep(&pause, NULL);
    }
}

static void
jn_rollback(struct journal *j)
{
    if (!sqlite3_get_autocommit(j->db))
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Commits (durably: synchronous=FULL), or rolls back and fails. */
static int
jn_commit(struct journal *j, char *err, size_t errlen)
{
    if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, "cannot commit");
        jn_rollback(j);
        return -1;
    }
    return 0;
}

/* Locks j for one call. Fails when j was opened by another process (it
 * crossed a fork): its SQLite connection is not ours to use. */
static int
jn_enter(struct journal *j, char *err, size_t errlen)
{
    if (j == NULL) {
        errf(err, errlen, "journal: not open");
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    if (j->pid != getpid()) {
        pthread_mutex_unlock(&j->mu);
        errf(err, errlen,
             "journal %s: opened by process %lld, used by %lld (open it "
             "after fork)",
             j->path, (long long)j->pid, (long long)getpid());
        return -1;
    }
    return 0;
}

static void
jn_leave(struct journal *j)
{
    pthread_mutex_unlock(&j->mu);
}

/* Binds s, or NULL when s is NULL. The text is not copied: it must outlive
 * the step. */
static int
bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s == NULL)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

/* Binds v, or NULL when present is 0. */
static int
bind_int(sqlite3_stmt *st, int idx, int64_t v, int present)
{
    if (!present)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_int64(st, idx, (sqlite3_int64)v);
}

/* ---- opening ---- */

/* Creates the file with mode 0600 when absent (SQLite would use the umask)
 * and refuses one that group or others may access, or that is not a
 * regular file. */
static int
check_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int fd =
        open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        errf(err, errlen, "journal %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        errf(err, errlen, "journal %s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    if (!S_ISREG(st.st_mode)) {
        errf(err, errlen, "journal %s: not a regular file", path);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        errf(err, errlen,
             "journal %s: accessible by group or others (mode %04o); "
             "run: chmod 600 %s",
             path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

/* Runs a PRAGMA that answers one row; copies its first column as text into
 * out (may be NULL). */
static int
pragma_answer(struct journal *j, const char *sql, char *out, size_t outlen,
              char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const unsigned char *text;
    int rc;

    if (jn_prepare(j, sql, &st, err, errlen) < 0)
        return -1;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        jn_sqlerr(j, err, errlen, sql);
        sqlite3_finalize(st);
        return -1;
    }
    text = sqlite3_column_text(st, 0);
    if (out != NULL)
        snprintf(out, outlen, "%s", text != NULL ? (const char *)text : "");
    sqlite3_finalize(st);
    return 0;
}

static int
configure_connection(struct journal *j, char *err, size_t errlen)
{
    char mode[16];

    sqlite3_extended_result_codes(j->db, 1);
    if (sqlite3_busy_timeout(j->db, JOURNAL_BUSY_MS) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, "cannot set the busy timeout");
        return -1;
    }
    /* Two processes opening a new file at once: switching it to WAL takes
     * a lock the busy handler does not always wait for. Try again until
     * the busy timeout has passed. */
    for (int waited = 0;; waited += 10) {
        if (pragma_answer(j, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err,
                          errlen) == 0)
            break;
        int code = sqlite3_errcode(j->db) & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
            waited >= JOURNAL_BUSY_MS)
            return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (strcasecmp(mode, "wal") != 0) {
        errf(err, errlen, "journal %s: WAL mode refused (journal_mode is %s)",
             j->path, mode);
        return -1;
    }
    if (jn_exec(j, "PRAGMA synchronous=FULL", "cannot set synchronous=FULL",
                err, errlen) < 0 ||
        jn_exec(j, "PRAGMA foreign_keys=ON", "cannot enable foreign keys", err,
                errlen) < 0)
        return -1;
    return 0;
}

static int
schema_version(struct journal *j, int *version, char *err, size_t errlen)
{
    char buf[32];
    if (pragma_answer(j, "PRAGMA user_version", buf, sizeof(buf), err, errlen) <
        0)
        return -1;
    *version = atoi(buf);
    if (*version > JOURNAL_SCHEMA_VERSION || *version < 0) {
        errf(err, errlen,
             "journal %s: schema version %d is newer than this binmcpd "
             "knows (%d); use a newer binmcpd or another file",
             j->path, *version, JOURNAL_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

/* Refuses a version-0 database that already holds objects not ours: some
 * other program's file. */
static int
check_foreign(struct journal *j, char *err, size_t errlen)
{
    char name[128];
    sqlite3_stmt *st;
    int rc;

    if (jn_prepare(j, foreign_sql, &st, err, errlen) < 0)
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(name, sizeof(name), "%s",
                 (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        jn_sqlerr(j, err, errlen, "cannot read the schema");
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        errf(err, errlen, "journal %s: not a binmcpd journal (it holds \"%s\")",
             j->path, name);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Creates the schema when the file has none, in one transaction so that
 * processes opening a new file at once do not race. */
static int
ensure_schema(struct journal *j, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version;

    if (schema_version(j, &version, err, errlen) < 0)
        return -1;
    if (version < JOURNAL_SCHEMA_VERSION) {
        if (jn_begin(j, err, errlen) < 0)
            return -1;
        if (schema_version(j, &version, err, errlen) < 0 ||
            (version == 0 && (check_foreign(j, err, errlen) < 0 ||
                              jn_exec(j, schema_sql, "cannot create the schema",
                                      err, errlen) < 0))) {
            jn_rollback(j);
            return -1;
        }
        if (jn_commit(j, err, errlen) < 0)
            return -1;
    }
    if (sqlite3_prepare_v2(j->db, probe_sql, -1, &st, NULL) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, "not a binmcpd journal");
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

struct journal *
journal_open(const char *path, char *err, size_t errlen)
{
    struct journal *j;

    if (path == NULL || path[0] == '\0') {
        errf(err, errlen, "journal: no path");
        return NULL;
    }
    if (check_file(path, err, errlen) < 0)
        return NULL;
    j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strdup(path)) == NULL) {
        errf(err, errlen, "journal %s: out of memory", path);
        free(j);
        return NULL;
    }
    if (pthread_mutex_init(&j->mu, NULL) != 0) {
        errf(err, errlen, "journal %s: cannot create a mutex", path);
        free(j->path);
        free(j);
        return NULL;
    }
    writer_identity(j);
    if (sqlite3_open_v2(path, &j->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        if (j->db != NULL)
            jn_sqlerr(j, err, errlen, "cannot open");
        else
            errf(err, errlen, "journal %s: cannot open: out of memory", path);
        journal_close(j);
        return NULL;
    }
    if (configure_connection(j, err, errlen) < 0 ||
        ensure_schema(j, err, errlen) < 0) {
        journal_close(j);
        return NULL;
    }
    return j;
}

void
journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    sqlite3_close_v2(j->db); /* NULL is a no-op */
    pthread_mutex_destroy(&j->mu);
    free(j->path);
    free(j);
}

/* ---- writing ---- */

/* The fields an intent must have, and a notional that can be compared. */
static int
intent_valid(const struct journal *j, const struct journal_intent *in,
             char *err, size_t errlen)
{
    const char *missing = NULL;

    if (in == NULL)
        missing = "everything";
    else if (in->key_fp == NULL)
        missing = "key_fp";
    else if (in->environment == NULL)
        missing = "environment";
    else if (in->tool == NULL)
        missing = "tool";
    else if (in->method == NULL)
        missing = "method";
    else if (in->path == NULL)
        missing = "path";
    else if (in->request == NULL)
        missing = "request";
    if (missing != NULL) {
        errf(err, errlen, "journal %s: an intent without %s", j->path, missing);
        return -1;
    }
    if (!isfinite(in->notional_usdt)) {
        errf(err, errlen, "journal %s: the notional is not a number", j->path);
        return -1;
    }
    return 0;
}

/* Appends the intent (inside the caller's transaction). */
static int
insert_intent(struct journal *j, const struct journal_intent *in,
              int64_t now_ms, int64_t *id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int bad;

    if (jn_prepare(j, insert_intent_sql, &st, err, errlen) < 0)
        return -1;
    bad = sqlite3_bind_int64(st, 1, now_ms) || bind_text(st, 2, in->key_fp) ||
          bind_text(st, 3, in->key_masked) ||
          bind_text(st, 4, in->environment) || bind_text(st, 5, in->session) ||
          bind_text(st, 6, in->tool) || bind_text(st, 7, in->method) ||
          bind_text(st, 8, in->path) || bind_text(st, 9, in->request) ||
          bind_text(st, 10, in->symbol) || bind_text(st, 11, in->side) ||
          bind_text(st, 12, in->type) || bind_text(st, 13, in->quantity) ||
          bind_text(st, 14, in->price) ||
          bind_text(st, 15, in->client_order_id) ||
          (in->notional_usdt < 0
               ? sqlite3_bind_null(st, 16)
               : sqlite3_bind_double(st, 16, in->notional_usdt)) ||
          bind_text(st, 17, in->confirmation) || bind_text(st, 18, j->boot) ||
          sqlite3_bind_int64(st, 19, (sqlite3_int64)j->pid) ||
          sqlite3_bind_int64(st, 20, j->start);
    if (bad) {
        jn_sqlerr(j, err, errlen, "cannot bind the intent");
        sqlite3_finalize(st);
        return -1;
    }
    if (jn_step_done(j, st, "cannot write the intent", err, errlen) < 0)
        return -1;
    if (id != NULL)
        *id = (int64_t)sqlite3_last_insert_rowid(j->db);
    return 0;
}

/* Appends an outcome for intent id (inside the caller's transaction). */
static int
insert_outcome(struct journal *j, int64_t id, const struct journal_outcome *o,
               int64_t now_ms, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int bad;

    if (jn_prepare(j, insert_outcome_sql, &st, err, errlen) < 0)
        return -1;
    bad = sqlite3_bind_int64(st, 1, id) || sqlite3_bind_int64(st, 2, now_ms) ||
          bind_text(st, 3, o->outcome) || bind_text(st, 4, o->check) ||
          bind_int(st, 5, o->http_status, o->http_status != 0) ||
          bind_int(st, 6, o->code, o->code != 0) ||
          bind_text(st, 7, o->message) ||
          bind_int(st, 8, o->order_id, o->order_id >= 0) ||
          bind_int(st, 9, o->order_list_id, o->order_list_id >= 0) ||
          bind_text(st, 10, o->status) || bind_text(st, 11, o->detail);
    if (bad) {
        jn_sqlerr(j, err, errlen, "cannot bind the outcome");
        sqlite3_finalize(st);
        return -1;
    }
    return jn_step_done(j, st, "cannot write the outcome", err, errlen);
}

/* An outcome with only outcome, check and message; the rest absent. */
static struct journal_outcome
plain_outcome(const char *outcome, const char *check, const char *message)
{
    struct journal_outcome o = {
        .outcome = outcome,
        .check = check,
        .message = message,
        .order_id = -1,
        .order_list_id = -1,
    };
    return o;
}

static int
spent_locked(struct journal *j, const char *key_fp, int64_t now_ms,
             double *spent, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc;

    if (jn_prepare(j, spent_sql, &st, err, errlen) < 0)
        return -1;
    if (bind_text(st, 1, key_fp) ||
        sqlite3_bind_int64(st, 2, now_ms - JOURNAL_DAY_MS)) {
        jn_sqlerr(j, err, errlen, "cannot bind the key");
        sqlite3_finalize(st);
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *spent = sqlite3_column_double(st, 0);
    else
        jn_sqlerr(j, err, errlen, "cannot add up the spent notional");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Inside the transaction: checks the cap, appends the intent (its id in
 * *new_id) and, when the cap refuses it, its refused outcome. Returns 0, 1
 * (refused) or -1. */
static int
intent_locked(struct journal *j, const struct journal_intent *in,
              double daily_cap, int64_t now_ms, int64_t *new_id, double *spent,
              char *err, size_t errlen)
{
    struct journal_outcome o;
    char message[256];
    double used = 0;

    if (daily_cap > 0 && in->notional_usdt >= 0 &&
        spent_locked(j, in->key_fp, now_ms, &used, err, errlen) < 0)
        return -1;
    if (spent != NULL)
        *spent = used;
    if (insert_intent(j, in, now_ms, new_id, err, errlen) < 0)
        return -1;
    if (!(daily_cap > 0 && in->notional_usdt >= 0 &&
          used + in->notional_usdt > daily_cap + JOURNAL_CAP_EPSILON))
        return 0;
    snprintf(message, sizeof(message),
             "the daily notional cap of %.2f USDT for this key is reached: "
             "%.2f spent in the last 24 h, %.2f left, this order needs %.2f",
             daily_cap, used, used < daily_cap ? daily_cap - used : 0.0,
             in->notional_usdt);
    o = plain_outcome("refused", "max_daily_notional", message);
    if (insert_outcome(j, *new_id, &o, now_ms, err, errlen) < 0)
        return -1;
    return 1;
}

int
journal_intent(struct journal *j, const struct journal_intent *in,
               double daily_cap, int64_t now_ms, int64_t *id, double *spent,
               char *err, size_t errlen)
{
    int64_t new_id = 0;
    int rc;

    if (jn_enter(j, err, errlen) < 0)
        return -1;
    if (intent_valid(j, in, err, errlen) < 0 || jn_begin(j, err, errlen) < 0) {
        jn_leave(j);
        return -1;
    }
    rc = intent_locked(j, in, daily_cap, now_ms, &new_id, spent, err, errlen);
    if (rc < 0)
        jn_rollback(j);
    else if (jn_commit(j, err, errlen) < 0)
        rc = -1;
    if (rc >= 0 && id != NULL)
        *id = new_id;
    jn_leave(j);
    return rc;
}

int
journal_spent(struct journal *j, const char *key_fp, int64_t now_ms,
              double *spent, char *err, size_t errlen)
{
    int rc;

    if (jn_enter(j, err, errlen) < 0)
        return -1;
    if (key_fp == NULL || spent == NULL) {
        errf(err, errlen, "journal %s: no key to add up", j->path);
        jn_leave(j);
        return -1;
    }
    rc = spent_locked(j, key_fp, now_ms, spent, err, errlen);
    jn_leave(j);
    return rc;
}

static int
outcome_known(const char *outcome)
{
    static const char *const known[] = {"accepted", "rejected", "refused",
                                        "unknown", "reconciled"};
    for (size_t i = 0; outcome != NULL && i < sizeof(known) / sizeof(known[0]);
         i++) {
        if (strcmp(outcome, known[i]) == 0)
            return 1;
    }
    return 0;
}

/* Whether intent id exists (inside the caller's transaction). */
static int
intent_exists(struct journal *j, int64_t id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc;

    if (jn_prepare(j, "SELECT 1 FROM intents WHERE id = ?1", &st, err, errlen) <
        0)
        return -1;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, "cannot bind the intent id");
        sqlite3_finalize(st);
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        errf(err, errlen, "journal %s: no intent %" PRId64, j->path, id);
    else if (rc != SQLITE_ROW)
        jn_sqlerr(j, err, errlen, "cannot look up the intent");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int
journal_outcome(struct journal *j, int64_t id, const struct journal_outcome *o,
                int64_t now_ms, char *err, size_t errlen)
{
    int rc;

    if (jn_enter(j, err, errlen) < 0)
        return -1;
    if (o == NULL || !outcome_known(o->outcome)) {
        errf(err, errlen, "journal %s: unknown outcome \"%s\"", j->path,
             o != NULL && o->outcome != NULL ? o->outcome : "");
        jn_leave(j);
        return -1;
    }
    if (jn_begin(j, err, errlen) < 0) {
        jn_leave(j);
        return -1;
    }
    rc = intent_exists(j, id, err, errlen);
    if (rc == 0)
        rc = insert_outcome(j, id, o, now_ms, err, errlen);
    if (rc < 0)
        jn_rollback(j);
    else
        rc = jn_commit(j, err, errlen);
    jn_leave(j);
    return rc;
}

int
journal_refusal(struct journal *j, const struct journal_intent *in,
                const char *check, const char *message, int64_t now_ms,
                int64_t *id, char *err, size_t errlen)
{
    struct journal_outcome o = plain_outcome("refused", check, message);
    int64_t new_id = 0;
    int rc;

    if (jn_enter(j, err, errlen) < 0)
        return -1;
    if (intent_valid(j, in, err, errlen) < 0 || jn_begin(j, err, errlen) < 0) {
        jn_leave(j);
        return -1;
    }
    rc = insert_intent(j, in, now_ms, &new_id, err, errlen);
    if (rc == 0)
        rc = insert_outcome(j, new_id, &o, now_ms, err, errlen);
    if (rc < 0)
        jn_rollback(j);
    else
        rc = jn_commit(j, err, errlen);
    if (rc == 0 && id != NULL)
        *id = new_id;
    jn_leave(j);
    return rc;
}

/* ---- reading ---- */

/* Adds column i of the current row to obj under keys[i], as the JSON type
 * of its SQLite type; NULL columns (and NULL keys) are left out. Returns 0,
 * or -1 when out of memory. */
static int
add_columns(json_object *obj, sqlite3_stmt *st, const char *const *keys, int n)
{
    for (int i = 0; i < n; i++) {
        json_object *v = NULL;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
            continue;
        case SQLITE_INTEGER:
            v = json_object_new_int64(sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT:
            v = json_object_new_double(sqlite3_column_double(st, i));
            break;
        default:
            v = json_object_new_string(
                (const char *)sqlite3_column_text(st, i));
            break;
        }
        if (v == NULL || json_object_object_add(obj, keys[i], v) != 0) {
            json_object_put(v);
            return -1;
        }
    }
    return 0;
}

/* Builds entry's "outcomes" array from intent id's outcome rows, with the
 * prepared outcomes statement st (reset here). */
static int
add_outcomes(struct journal *j, sqlite3_stmt *st, json_object *entry,
             int64_t id, char *err, size_t errlen)
{
    json_object *arr = json_object_new_array();
    int rc;

    if (arr == NULL || json_object_object_add(entry, "outcomes", arr) != 0) {
        json_object_put(arr);
        errf(err, errlen, "journal %s: out of memory", j->path);
        return -1;
    }
    sqlite3_reset(st);
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
        jn_sqlerr(j, err, errlen, "cannot bind the intent id");
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *o = json_object_new_object();
        if (o == NULL || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            errf(err, errlen, "journal %s: out of memory", j->path);
            return -1;
        }
        if (add_columns(o, st, outcome_keys,
                        (int)(sizeof(outcome_keys) / sizeof(outcome_keys[0]))) <
            0) {
            errf(err, errlen, "journal %s: out of memory", j->path);
            return -1;
        }
    }
    if (rc != SQLITE_DONE) {
        jn_sqlerr(j, err, errlen, "cannot read the outcomes");
        return -1;
    }
    return 0;
}

static int
query_limit(int limit)
{
    if (limit <= 0)
        return JOURNAL_QUERY_DEFAULT;
    return limit > JOURNAL_QUERY_MAX ? JOURNAL_QUERY_MAX : limit;
}

static int
bind_filter(sqlite3_stmt *st, const struct journal_filter *f)
{
    return bind_text(st, 1, f->key_fp) ||
           sqlite3_bind_int64(st, 2,
                              f->since_ms > 0 ? f->since_ms : INT64_MIN) ||
           bind_text(st, 3, f->symbol) || bind_text(st, 4, f->outcome) ||
           sqlite3_bind_int(st, 5, query_limit(f->limit));
}

/* Appends to arr one object per matching intent (inside a read
 * transaction, so that intents and outcomes agree). */
static int
query_rows(struct journal *j, const struct journal_filter *f, json_object *arr,
           char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL, *ost = NULL;
    int rc = -1, step;

    if (jn_prepare(j, query_sql, &st, err, errlen) < 0 ||
        jn_prepare(j, outcomes_sql, &ost, err, errlen) < 0)
        goto out;
    if (bind_filter(st, f)) {
        jn_sqlerr(j, err, errlen, "cannot bind the filter");
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *entry = json_object_new_object();
        if (entry == NULL || json_object_array_add(arr, entry) != 0) {
            json_object_put(entry);
            errf(err, errlen, "journal %s: out of memory", j->path);
            goto out;
        }
        if (add_columns(entry, st, query_keys,
                        (int)(sizeof(query_keys) / sizeof(query_keys[0]))) <
            0) {
            errf(err, errlen, "journal %s: out of memory", j->path);
            goto out;
        }
        if (add_outcomes(j, ost, entry, sqlite3_column_int64(st, 0), err,
                         errlen) < 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        jn_sqlerr(j, err, errlen, "cannot read the intents");
    else
        rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ost);
    return rc;
}

json_object *
journal_query(struct journal *j, const struct journal_filter *f, char *err,
              size_t errlen)
{
    json_object *arr;
    int rc;

    if (jn_enter(j, err, errlen) < 0)
        return NULL;
    if (f == NULL || f->key_fp == NULL) {
        errf(err, errlen, "journal %s: a query needs a key", j->path);
        jn_leave(j);
        return NULL;
    }
    arr = json_object_new_array();
    if (arr == NULL) {
        errf(err, errlen, "journal %s: out of memory", j->path);
        jn_leave(j);
        return NULL;
    }
    rc = jn_exec(j, "BEGIN", "cannot begin a read", err, errlen);
    if (rc == 0) {
        rc = query_rows(j, f, arr, err, errlen);
        jn_rollback(j); /* a read: nothing to commit */
    }
    jn_leave(j);
    if (rc < 0) {
        json_object_put(arr);
        return NULL;
    }
    return arr;
}

/* ---- orphans ---- */

/* Copies text into dst of size dstlen (at least 1), cut at a UTF-8
 * character boundary when it does not fit; NULL gives "". */
static void
copy_text(char *dst, size_t dstlen, const unsigned char *text)
{
    size_t n = text != NULL ? strlen((const char *)text) : 0;

    if (n >= dstlen) {
        n = dstlen - 1;
        while (n > 0 && (text[n] & 0xc0) == 0x80)
            n--; /* text[n] continues a character: drop all of it */
    }
    if (n > 0)
        memcpy(dst, text, n);
    dst[n] = '\0';
}

/* Fills o from the current row of orphans_sql. */
static void
orphan_from_row(struct journal_orphan *o, sqlite3_stmt *st)
{
    o->id = sqlite3_column_int64(st, 0);
    o->at_ms = sqlite3_column_int64(st, 1);
    copy_text(o->key_fp, sizeof(o->key_fp), sqlite3_column_text(st, 2));
    copy_text(o->environment, sizeof(o->environment),
              sqlite3_column_text(st, 3));
    copy_text(o->method, sizeof(o->method), sqlite3_column_text(st, 4));
    copy_text(o->path, sizeof(o->path), sqlite3_column_text(st, 5));
    copy_text(o->symbol, sizeof(o->symbol), sqlite3_column_text(st, 6));
    copy_text(o->client_order_id, sizeof(o->client_order_id),
              sqlite3_column_text(st, 7));
    copy_text(o->tool, sizeof(o->tool), sqlite3_column_text(st, 8));
}

/* Inside the transaction: fills out with up to max intents without outcome
 * whose writer is gone, oldest first. Returns how many, or -1. */
static int
find_orphans(struct journal *j, struct journal_orphan *out, int max,
             int64_t now_ms, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int n = 0, rc = SQLITE_DONE;

    if (jn_prepare(j, orphans_sql, &st, err, errlen) < 0)
        return -1;
    while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *boot = sqlite3_column_text(st, 9);
        if (!writer_gone(j, boot != NULL ? (const char *)boot : "",
                         sqlite3_column_int64(st, 10),
                         sqlite3_column_int64(st, 11),
                         sqlite3_column_int64(st, 1), now_ms))
            continue;
        orphan_from_row(&out[n++], st);
    }
    if (n < max && rc != SQLITE_DONE) {
        jn_sqlerr(j, err, errlen, "cannot look for orphans");
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
}

static int
claim_locked(struct journal *j, struct journal_orphan *out, int max,
             int64_t now_ms, char *err, size_t errlen)
{
    struct journal_outcome o = plain_outcome("unknown", NULL, NULL);
    int n;

    o.detail = JOURNAL_ORPHAN_DETAIL;
    n = find_orphans(j, out, max, now_ms, err, errlen);
    for (int i = 0; i < n; i++) {
        if (insert_outcome(j, out[i].id, &o, now_ms, err, errlen) < 0)
            return -1;
    }
    return n;
}

int
journal_claim_orphans(struct journal *j, struct journal_orphan *out, int max,
                      int64_t now_ms, char *err, size_t errlen)
{
    int n;

    if (jn_enter(j, err, errlen) < 0)
        return -1;
    if (max <= 0 || out == NULL) {
        jn_leave(j);
        return 0;
    }
    if (jn_begin(j, err, errlen) < 0) {
        jn_leave(j);
        return -1;
    }
    n = claim_locked(j, out, max, now_ms, err, errlen);
    if (n < 0)
        jn_rollback(j);
    else if (jn_commit(j, err, errlen) < 0)
        n = -1;
    jn_leave(j);
    return n;
}
