/*
 * testlib.h - what every test program shares: a CUnit runner that turns
 * failures into the exit status, and control of the fake exchange
 * (tests/fakex) as a real child process on a free 127.0.0.1 port.
 */
#ifndef BINMCPD_TESTLIB_H
#define BINMCPD_TESTLIB_H

#include <stddef.h>
#include <sys/types.h>

#include <CUnit/CUnit.h>

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

#endif
