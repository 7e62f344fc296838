/*
 * testlib.c - see testlib.h.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "testlib.h"

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
    CU_basic_run_tests();
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
    char url[1024];
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
