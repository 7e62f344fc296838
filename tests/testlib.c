/*
 * testlib.c - see testlib.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "testlib.h"

extern char **environ;

/* Runs every test, or with TL_TEST set (by hand, while working on one
 * test) only the tests whose name contains it. */
static void
run_selected(const char *only)
{
    CU_pTestRegistry reg = CU_get_registry();

    if (only == NULL || *only == '\0' || reg == NULL) {
        CU_basic_run_tests();
        return;
    }
    for (CU_pSuite su = reg->pSuite; su != NULL; su = su->pNext)
        for (CU_pTest t = su->pTest; t != NULL; t = t->pNext)
            if (strstr(t->pName, only) != NULL)
                CU_basic_run_test(su, t);
}

int
testlib_run(CU_SuiteInfo *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "suite registration failed: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    run_selected(getenv("TL_TEST"));
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned failures = CU_get_number_of_failures();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return (failed > 0 || failures > 0 || suites_failed > 0) ? 1 : 0;
}

int
fakex_start(struct fakex *fx, const char *const *extra_args)
{
    const char *prog = getenv("FAKEX");
    const char *argv[32];
    int n = 0, pfd[2];

    if (prog == NULL)
        prog = "./tests/fakex";
    argv[n++] = prog;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && n < 30; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;

    if (pipe(pfd) < 0)
        return -1;
    fx->pid = fork();
    if (fx->pid < 0)
        return -1;
    if (fx->pid == 0) {
        /* a crashed test must not leave the fake exchange running */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    /* The fake prints "PORT <n>" once it listens. */
    FILE *f = fdopen(pfd[0], "r");
    char line[128];
    fx->port = 0;
    if (f != NULL && fgets(line, sizeof(line), f) != NULL)
        sscanf(line, "PORT %d", &fx->port);
    if (f != NULL)
        fclose(f);
    else
        close(pfd[0]);
    if (fx->port <= 0) {
        fakex_stop(fx);
        return -1;
    }
    snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%d", fx->port);
    return 0;
}

void
fakex_stop(struct fakex *fx)
{
    if (fx->pid > 0) {
        kill(fx->pid, SIGTERM);
        waitpid(fx->pid, NULL, 0);
        fx->pid = 0;
    }
}

struct sink {
    char *out;
    size_t len, cap;
};

static size_t
sink_write(char *p, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t total = sz * n;
    if (s->out != NULL && s->cap > 0) {
        size_t room = s->cap - 1 - s->len;
        size_t take = total < room ? total : room;
        memcpy(s->out + s->len, p, take);
        s->len += take;
        s->out[s->len] = '\0';
    }
    return total;
}

long
fakex_http(const struct fakex *fx, const char *method, const char *path,
           char *out, size_t outlen)
{
    char url[16384]; /* room for scripted market data (test_chart) */
    struct sink s = {out, 0, outlen};
    long status = -1;
    CURL *c = curl_easy_init();

    if (c == NULL)
        return -1;
    if (out != NULL && outlen > 0)
        out[0] = '\0';
    snprintf(url, sizeof(url), "%s%s", fx->url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

long
fakex_count(const struct fakex *fx, const char *method, const char *path)
{
    char q[512], body[4096];
    long count = -1;
    snprintf(q, sizeof(q), "/__fake/stats?method=%s&path=%s", method, path);
    if (fakex_http(fx, "GET", q, body, sizeof(body)) != 200)
        return -1;
    json_object *o = json_tokener_parse(body), *v;
    if (o != NULL && json_object_object_get_ex(o, "count", &v))
        count = (long)json_object_get_int64(v);
    json_object_put(o);
    return count;
}

int
fakex_fault(const struct fakex *fx, const char *query)
{
    char path[1024];
    snprintf(path, sizeof(path), "/__fake/fault?%s", query);
    return fakex_http(fx, "POST", path, NULL, 0) == 200 ? 0 : -1;
}

int
fakex_reset(const struct fakex *fx)
{
    return fakex_http(fx, "POST", "/__fake/reset", NULL, 0) == 200 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

const char *const tl_core_tools[] = {
    "get_server_time",
    "get_ticker",
    "get_order_book",
    "get_recent_trades",
    "get_klines",
    "get_average_price",
    "search",
    "fetch",
    "get_account_info",
    "get_account_trades",
    "place_order",
    "get_order",
    "cancel_order",
    "get_open_orders",
    "get_all_orders",
    "configure_credentials",
    "get_credentials_status",
    "revoke_credentials",
    NULL,
};

int64_t
tl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tl_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int
tl_contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

json_object *
tl_get_path(json_object *o, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k != NULL && o != NULL;
         k = strtok_r(NULL, ".", &save)) {
        json_object *next = NULL;
        if (json_object_is_type(o, json_type_array) && k[0] >= '0' &&
            k[0] <= '9') {
            size_t i = strtoul(k, NULL, 10);
            if (i >= json_object_array_length(o))
                return NULL;
            next = json_object_array_get_idx(o, i);
        } else if (!json_object_object_get_ex(o, k, &next)) {
            return NULL;
        }
        o = next;
    }
    return o;
}

const char *
tl_str_at(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return v != NULL ? json_object_get_string(v) : "";
}

int64_t
tl_int_at(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return v != NULL ? json_object_get_int64(v) : INT64_MIN;
}

int
tl_bool_at(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return json_object_is_type(v, json_type_boolean) &&
           json_object_get_boolean(v);
}

size_t
tl_len_at(json_object *o, const char *path)
{
    json_object *v = tl_get_path(o, path);
    return json_object_is_type(v, json_type_array) ? json_object_array_length(v)
                                                   : 0;
}

char *
tl_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (len != NULL)
        *len = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap + 65536);
            if (nb == NULL)
                break;
            buf = nb;
            cap += 65536;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* ------------------------------------------------------------------ */
/* Child processes                                                     */

const char *
tl_binmcpd_path(void)
{
    const char *p = getenv("BINMCPD");
    return p != NULL && *p != '\0' ? p : "./binmcpd";
}

char **
tl_env_build(const char *const *set)
{
    size_t n = 0, k = 0, j = 0;
    char **env;

    for (char **e = environ; *e != NULL; e++)
        n++;
    while (set != NULL && set[k] != NULL)
        k++;
    env = calloc(n + k + 3, sizeof(*env));
    if (env == NULL)
        return NULL;
    for (char **e = environ; *e != NULL; e++)
        if (strncmp(*e, "BINANCE_", 8) != 0 && strncmp(*e, "BINMCPD_", 8) != 0)
            env[j++] = *e;
    int journal_set = 0, feed_set = 0;
    for (size_t i = 0; i < k; i++) {
        journal_set |= strncmp(set[i], "BINMCPD_JOURNAL=", 16) == 0;
        feed_set |= strncmp(set[i], "BINMCPD_FEED=", 13) == 0;
        env[j++] = (char *)(uintptr_t)set[i];
    }
    /* A daemon under test keeps its audit journal beside the test, never
     * in the user's or the system's state directory. */
    if (!journal_set)
        env[j++] = (char *)(uintptr_t)tl_test_journal();
    /* Nor does it start a feed process, which would reach Binance's real
     * streams, unless the test asks for one (test_live). */
    if (!feed_set)
        env[j++] = (char *)(uintptr_t) "BINMCPD_FEED=off";
    env[j] = NULL;
    return env;
}

const char *
tl_test_journal(void)
{
    static char var[600];
    const char *dir = getenv("TESTS_BUILDDIR");

    if (var[0] == '\0')
        snprintf(var, sizeof(var),
                 "BINMCPD_JOURNAL=%s/journal.%ld.tmp/journal.db",
                 dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid());
    return var;
}

pid_t
tl_spawn(const char *const *argv, const char *const *envset, int in_fd,
         int out_fd, int err_fd, int pdeathsig)
{
    char **env = tl_env_build(envset);
    pid_t self = getpid(), pid;

    if (env == NULL)
        return -1;
    pid = fork();
    if (pid == 0) {
        /* should this program die, the child must not outlive it (a
         * daemon's workers follow their supervisor) */
        if (pdeathsig != 0 &&
            (prctl(PR_SET_PDEATHSIG, pdeathsig) < 0 || getppid() != self))
            _exit(126);
        if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0)
            _exit(126);
        execve(argv[0], (char *const *)(uintptr_t)argv, env);
        _exit(127);
    }
    free(env);
    return pid;
}

int
tl_wait_exit(pid_t pid, long timeout_ms, int *status)
{
    int64_t end = tl_now_ms() + timeout_ms;
    int st = 0;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *status = st;
            return 0;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (tl_now_ms() >= end)
            break;
        tl_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *status = st;
    return -1;
}

int
tl_reaped(pid_t *pid, int *status)
{
    int st;
    if (*pid <= 0)
        return 1;
    if (waitpid(*pid, &st, WNOHANG) == *pid) {
        *status = st;
        *pid = 0;
        return 1;
    }
    return 0;
}

int
tl_wait_reaped(pid_t *pid, int *status, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    while (!tl_reaped(pid, status)) {
        if (tl_now_ms() >= end)
            return 0;
        tl_sleep_ms(10);
    }
    return 1;
}

int
tl_log_port(const char *path)
{
    static const char marker[] = "listening on ";
    char *log = tl_slurp(path, NULL);
    const char *p = log != NULL ? strstr(log, marker) : NULL;
    const char *stop = p != NULL ? strstr(p, " (") : NULL;
    int port = 0;

    if (stop != NULL) {
        const char *colon = stop;
        while (colon > p && *colon != ':')
            colon--;
        port = atoi(colon + 1);
    }
    free(log);
    return port > 0 ? port : 0;
}

int
tl_wait_listening(const char *path, pid_t pid, long timeout_ms, int *status)
{
    int64_t end = tl_now_ms() + timeout_ms;

    while (tl_now_ms() < end) {
        int port = tl_log_port(path), st;
        if (port > 0)
            return port;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            *status = st;
            return -1;
        }
        tl_sleep_ms(20);
    }
    return 0;
}

int
tl_tmpdir_make(char *dir, size_t len, const char *name)
{
    const char *base = getenv("TESTS_BUILDDIR");

    snprintf(dir, len, "%s/%s.XXXXXX",
             base != NULL && *base != '\0' ? base : "/tmp", name);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

void
tl_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[600];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
