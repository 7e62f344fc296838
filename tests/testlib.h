/*
 * testlib.h - what every test program shares: a CUnit runner that turns
 * failures into the exit status, control of the fake exchange (tests/fakex)
 * as a real child process on a free 127.0.0.1 port, and the small helpers
 * (tl_*) of the integration tests: clocks, JSON paths, files, and daemons
 * started as children with a clean environment.
 */
#ifndef BINMCPD_TESTLIB_H
#define BINMCPD_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

/* Credentials the fake exchange accepts by default (see fakex.h). */
#define TEST_KEY_A                                                             \
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
#define TEST_SECRET_A                                                          \
    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
#define TEST_KEY_B                                                             \
    "BbbbKeyForTheSecondAccount0000000000000000000000000000000000000B"
#define TEST_SECRET_B                                                          \
    "BbbbSecretForTheSecondAccount00000000000000000000000000000000000"

/* Registers suites, runs them verbosely and returns the process exit status:
 * 0 when every test passed, 1 otherwise (CUnit's own return value does not
 * reflect failed tests). */
int testlib_run(CU_SuiteInfo *suites);

struct fakex {
    pid_t pid;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts $FAKEX (or ./tests/fakex) on a free port and waits until it
 * listens. extra_args is a NULL-terminated list or NULL. Returns 0 or -1. */
int fakex_start(struct fakex *fx, const char *const *extra_args);

/* Stops the fake exchange started by fakex_start (SIGTERM, then reaps). */
void fakex_stop(struct fakex *fx);

/* Sends method to fx->url + path (which may carry a query) and stores up to
 * outlen-1 bytes of the body in out (NUL-terminated; out may be NULL).
 * Returns the HTTP status, or -1 when no answer came. */
long fakex_http(const struct fakex *fx, const char *method, const char *path,
                char *out, size_t outlen);

/* Number of requests the fake exchange has seen for method + path. */
long fakex_count(const struct fakex *fx, const char *method, const char *path);

/* Injects a fault: query is the control query, e.g.
 * "type=429&retry_after=7&path=/api/v3/ticker/24hr&count=1".
 * Returns 0 or -1. */
int fakex_fault(const struct fakex *fx, const char *query);

/* Clears faults, orders, clock skew and counters. Returns 0 or -1. */
int fakex_reset(const struct fakex *fx);

/* ---- small helpers the test programs share (prefix tl_) ---- */

/* The 18 tools every tools/list answer holds (market data, search and
 * fetch, account, orders, credentials), NULL-terminated. */
extern const char *const tl_core_tools[];

/* Milliseconds on the monotonic clock. */
int64_t tl_now_ms(void);

/* Sleeps ms milliseconds, resuming after signals. */
void tl_sleep_ms(long ms);

/* Whether hay (may be NULL) holds needle. */
int tl_contains(const char *hay, const char *needle);

/* Follows a dotted path ("result.content.0.text", at most 255 bytes)
 * through objects and arrays; a component that starts with a digit indexes
 * an array. The result is borrowed from o; NULL when absent (or o is
 * NULL). */
json_object *tl_get_path(json_object *o, const char *path);

/* The value at path as text, borrowed from o; "" when absent. */
const char *tl_str_at(json_object *o, const char *path);

/* The value at path as an integer; INT64_MIN when absent. */
int64_t tl_int_at(json_object *o, const char *path);

/* The boolean at path: 1 when it is true, 0 otherwise (absent too). */
int tl_bool_at(json_object *o, const char *path);

/* The length of the array at path; 0 when absent or not an array. */
size_t tl_len_at(json_object *o, const char *path);

/* Reads the whole file at path. Returns a NUL-terminated buffer the caller
 * frees, and its length in *len (len may be NULL); NULL when the file
 * cannot be opened (or is empty and no memory came). On a short allocation
 * the result holds what was read so far. */
char *tl_slurp(const char *path, size_t *len);

/* $BINMCPD, or ./binmcpd when unset or empty. Static storage. */
const char *tl_binmcpd_path(void);

/* A copy of environ without BINANCE_* and BINMCPD_* (so that the caller's
 * own credentials never reach a daemon under test), plus tl_test_journal()
 * unless set names a journal, plus set (a
 * NULL-terminated list of "NAME=value", may be NULL). The caller frees the
 * array, not the strings (they are borrowed from environ and set). NULL
 * when out of memory. */
char **tl_env_build(const char *const *set);

/* "BINMCPD_JOURNAL=PATH": the audit journal every daemon this program
 * starts uses unless its set names another: $TESTS_BUILDDIR (or /tmp)
 * /journal.<pid>.tmp/journal.db. Static storage. */
const char *tl_test_journal(void);

/* Forks and execs argv[0] (NULL-terminated argv) with tl_env_build(envset)
 * and in_fd, out_fd, err_fd as its standard descriptors. When pdeathsig is
 * not 0 the child gets that signal should this program die (and gives up,
 * exit 126, if it already has). The descriptors stay the caller's to close.
 * Returns the PID, or -1 (no memory, or fork failed). */
pid_t tl_spawn(const char *const *argv, const char *const *envset, int in_fd,
               int out_fd, int err_fd, int pdeathsig);

/* Waits up to timeout_ms for pid to exit and stores its wait status.
 * Returns 0, or -1 after killing (SIGKILL) and reaping a child that did not
 * exit in time (or when waitpid fails). */
int tl_wait_exit(pid_t pid, long timeout_ms, int *status);

/* Reaps *pid if it has exited: then sets *pid to 0 and *status to its wait
 * status. Returns 1 once it is reaped (or when *pid is not above 0), else
 * 0. */
int tl_reaped(pid_t *pid, int *status);

/* Waits up to timeout_ms for tl_reaped(pid, status). Returns 1 when the
 * child was reaped, 0 when it still runs. */
int tl_wait_reaped(pid_t *pid, int *status, long timeout_ms);

/* The port of the first "listening on ADDR:PORT (" line in the daemon log
 * at path; 0 when there is none yet (or the file cannot be read). */
int tl_log_port(const char *path);

/* Polls the daemon log at path every 20 ms for its "listening on" line
 * until timeout_ms passes or pid exits. Returns the port; 0 when the
 * deadline passed; -1 when pid exited (it is then reaped and *status holds
 * its wait status). */
int tl_wait_listening(const char *path, pid_t pid, long timeout_ms,
                      int *status);

/* Makes the directory $TESTS_BUILDDIR (or /tmp)/NAME.XXXXXX with mkdtemp
 * and stores its path in dir. Returns 0, or -1 after perror("mkdtemp"). */
int tl_tmpdir_make(char *dir, size_t len, const char *name);

/* Removes the files in dir (not its subdirectories: a test's directory is
 * flat), then dir itself. Errors are ignored: what stays, stays. */
void tl_tmpdir_remove(const char *dir);

#endif
