/*
 * test_metrics.c - unit tests of the shared counters and of their
 * Prometheus text exposition: exact lines, a strict line-by-line parse, and
 * counts from several processes adding up.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dbuf.h"
#include "metrics.h"
#include "registry.h"
#include "testlib.h"

#define OUT_MAX (1u << 20)

static const char *const tools[] = {"get_ticker", "place_order",
                                    "we\"ird\\na\nme"};
#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

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

static struct metrics *
make(void)
{
    char err[256];
    struct metrics *m = metrics_create(tools, NTOOLS, err, sizeof(err));
    if (m == NULL)
        fprintf(stderr, "%s\n", err);
    return m;
}

/* Whether text holds line as a whole line. */
static int
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static void
expect_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fprintf(stderr, "\n  missing line: %s\n", line);
    CU_ASSERT(has_line(text, line));
}

/* ---- a strict reader of the text format, version 0.0.4 ---- */

#define FAMILIES_MAX 64

static int reader_quiet; /* no messages: the test expects failures */

struct family {
    char name[128];
    char type[16];
    int help;
};

static int
name_char(int c, int first, int colon)
{
    return isalpha(c) || c == '_' || (colon && c == ':') ||
           (!first && isdigit(c));
}

/* Reads a metric or label name at *p. Returns its length (0: none). */
static size_t
read_name(const char **p, int colon, char *out, size_t outlen)
{
    size_t n = 0;
    while (name_char((unsigned char)(*p)[n], n == 0, colon))
        n++;
    if (n == 0 || n >= outlen)
        return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return n;
}

static struct family *
find_family(struct family *f, int nf, const char *name)
{
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

/* The family a sample name belongs to (histogram suffixes removed). */
static struct family *
sample_family(struct family *f, int nf, const char *name, int *has_le_need)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct family *fam = find_family(f, nf, name);
    *has_le_need = 0;
    if (fam != NULL)
        return strcmp(fam->type, "histogram") == 0 ? NULL : fam;
    for (int s = 0; s < 3; s++) {
        size_t n = strlen(name), k = strlen(suffixes[s]);
        char base[128];
        if (n <= k || strcmp(name + n - k, suffixes[s]) != 0 ||
            n - k >= sizeof(base))
            continue;
        memcpy(base, name, n - k);
        base[n - k] = '\0';
        fam = find_family(f, nf, base);
        if (fam != NULL && strcmp(fam->type, "histogram") == 0) {
            *has_le_need = s == 0;
            return fam;
        }
    }
    return NULL;
}

/* Parses one sample line. Returns 0 or -1 with a reason. */
static int
parse_sample(const char *line, struct family *f, int nf, const char **why)
{
    char name[128];
    const char *p = line;
    int need_le, has_le = 0;

    if (read_name(&p, 1, name, sizeof(name)) == 0) {
        *why = "bad metric name";
        return -1;
    }
    if (strncmp(name, "binmcpd_", 8) != 0) {
        *why = "name without the binmcpd_ prefix";
        return -1;
    }
    struct family *fam = sample_family(f, nf, name, &need_le);
    if (fam == NULL) {
        *why = "sample before its # TYPE";
        return -1;
    }
    if (*p == '{') {
        p++;
        while (*p != '}') {
            char label[128];
            if (read_name(&p, 0, label, sizeof(label)) == 0 || *p++ != '=' ||
                *p++ != '"') {
                *why = "bad label";
                return -1;
            }
            has_le |= strcmp(label, "le") == 0;
            while (*p != '"') {
                if (*p == '\0' || *p == '\n') {
                    *why = "unterminated label value";
                    return -1;
                }
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n') {
                        *why = "bad escape";
                        return -1;
                    }
                }
                p++;
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}') {
                *why = "bad label list";
                return -1;
            }
        }
        p++;
    }
    if (need_le && !has_le) {
        *why = "a _bucket sample without le";
        return -1;
    }
    if (*p++ != ' ') {
        *why = "no space before the value";
        return -1;
    }
    if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 ||
        strcmp(p, "NaN") == 0)
        return 0;
    char *end;
    errno = 0;
    strtod(p, &end);
    if (end == p || *end != '\0' || errno != 0) {
        *why = "bad value";
        return -1;
    }
    return 0;
}

/* Checks a whole exposition; returns the number of samples, or -1. */
static int
parse_exposition(const char *text)
{
    static const char *const types[] = {"counter", "gauge", "histogram",
                                        "summary", "untyped"};
    struct family f[FAMILIES_MAX];
    int nf = 0, samples = 0, lineno = 0;
    char line[1024];

    if (*text == '\0' || text[strlen(text) - 1] != '\n') {
        if (!reader_quiet)
            fprintf(stderr, "\n  the text does not end with a newline\n");
        return -1;
    }
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        const char *why = NULL;
        size_t n = (size_t)(nl - p);
        lineno++;
        CU_ASSERT_FATAL(n < sizeof(line));
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        if (strncmp(line, "# HELP ", 7) == 0 ||
            strncmp(line, "# TYPE ", 7) == 0) {
            char name[128];
            const char *q = line + 7;
            int help = line[2] == 'H';
            if (read_name(&q, 1, name, sizeof(name)) == 0 || *q++ != ' ') {
                why = "bad name in a comment";
            } else {
                struct family *fam = find_family(f, nf, name);
                if (fam == NULL && nf < FAMILIES_MAX) {
                    fam = &f[nf++];
                    memset(fam, 0, sizeof(*fam));
                    snprintf(fam->name, sizeof(fam->name), "%s", name);
                }
                if (fam == NULL)
                    why = "too many families";
                else if (help && fam->help++)
                    why = "two # HELP lines";
                else if (!help && fam->type[0] != '\0')
                    why = "two # TYPE lines";
                else if (!help) {
                    for (size_t t = 0; t < 5; t++)
                        if (strcmp(q, types[t]) == 0)
                            snprintf(fam->type, sizeof(fam->type), "%s", q);
                    if (fam->type[0] == '\0')
                        why = "unknown type";
                }
            }
        } else if (line[0] == '#' || line[0] == '\0') {
            why = "a stray comment or blank line";
        } else if (parse_sample(line, f, nf, &why) == 0) {
            samples++;
        }
        if (why != NULL) {
            if (!reader_quiet)
                fprintf(stderr, "\n  line %d: %s: %s\n", lineno, why, line);
            return -1;
        }
    }
    for (int i = 0; i < nf; i++)
        if (!f[i].help || f[i].type[0] == '\0') {
            fprintf(stderr, "\n  %s lacks # HELP or # TYPE\n", f[i].name);
            return -1;
        }
    return samples;
}

/* ---- tests ---- */

static void
test_render_exact(void)
{
    char err[256], id[REG_ID_LEN + 1], line[256];
    struct metrics *m = make();
    struct registry *reg = reg_create(8, 2, err, sizeof(err));
    struct reg_ref ref;
    struct dbuf out;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
    CU_ASSERT_EQUAL(reg_claim(reg, 0, REG_KIND_LEGACY, id, &ref), 0);
    CU_ASSERT_EQUAL(reg_claim(reg, 1, REG_KIND_STREAMABLE, id, &ref), 0);
    CU_ASSERT_EQUAL(reg_release(reg, ref), 0);
    metrics_count_restart(m);
    reg_worker_set(reg, 0, getpid());

    metrics_tool_call(m, "get_ticker", 1, 0.003);
    metrics_tool_call(m, "get_ticker", 1, 0.005); /* on the bound: le */
    metrics_tool_call(m, "get_ticker", 1, 0.02);
    metrics_tool_call(m, "get_ticker", 0, 0.7);
    metrics_tool_call(m, "place_order", 0, 12.5); /* past 10 s: +Inf */
    metrics_tool_call(m, "no_such_tool", 1, -1);  /* clamped to 0 */
    metrics_tool_call(m, NULL, 0, 0.001);
    metrics_tool_call(m, tools[2], 1, 0.1);
    metrics_reject(m, METRICS_REJECT_RATE_LIMITED);
    metrics_reject(m, METRICS_REJECT_RATE_LIMITED);
    metrics_reject(m, METRICS_REJECT_UNAUTHORIZED);
    metrics_reject(m, METRICS_REJECT_COUNT); /* ignored */
    metrics_upstream_error(m, 429, -1003);
    metrics_upstream_error(m, 400, -1121);
    metrics_upstream_error(m, 400, -1121);
    metrics_upstream_error(m, 400, -9999);
    metrics_upstream_error(m, 0, 0);
    metrics_upstream_error(m, 503, 0);
    metrics_upstream_error(m, 302, 0);
    metrics_upstream_weight(m, 1234);
    metrics_upstream_weight(m, -1); /* absent: the last one stays */

    dbuf_init(&out, OUT_MAX);
    CU_ASSERT_EQUAL_FATAL(metrics_render(m, reg, &out), 0);
    const char *t = dbuf_str(&out);

    expect_line(t, "# HELP binmcpd_build_info The running version; always 1.");
    expect_line(t, "# TYPE binmcpd_build_info gauge");
    expect_line(t, "binmcpd_build_info{version=\"" PACKAGE_VERSION "\"} 1");
    expect_line(t, "# TYPE binmcpd_sessions_active gauge");
    expect_line(t, "binmcpd_sessions_active 1");
    expect_line(t, "binmcpd_sessions_max 8");
    expect_line(t, "# TYPE binmcpd_sessions_total counter");
    expect_line(t, "binmcpd_sessions_total 2");
    expect_line(t, "binmcpd_worker_restarts_total 1");
    expect_line(t, "binmcpd_workers 2");
    expect_line(t, "binmcpd_workers_alive 1");
    snprintf(line, sizeof(line), "binmcpd_start_time_seconds %lld.%03d",
             (long long)(reg_started_ms(reg) / 1000),
             (int)(reg_started_ms(reg) % 1000));
    expect_line(t, line);

    expect_line(t, "# TYPE binmcpd_connections_rejected_total counter");
    expect_line(
        t, "binmcpd_connections_rejected_total{reason=\"rate_limited\"} 2");
    expect_line(
        t, "binmcpd_connections_rejected_total{reason=\"unauthorized\"} 1");
    expect_line(
        t, "binmcpd_connections_rejected_total{reason=\"max_connections\"} 0");
    expect_line(
        t, "binmcpd_connections_rejected_total{reason=\"forbidden_origin\"} 0");
    expect_line(t,
                "binmcpd_connections_rejected_total{reason=\"too_large\"} 0");
    expect_line(t,
                "binmcpd_connections_rejected_total{reason=\"bad_request\"} 0");

    expect_line(t, "# TYPE binmcpd_tool_calls_total counter");
    expect_line(
        t, "binmcpd_tool_calls_total{tool=\"get_ticker\",outcome=\"ok\"} 3");
    expect_line(
        t, "binmcpd_tool_calls_total{tool=\"get_ticker\",outcome=\"error\"} 1");
    expect_line(
        t, "binmcpd_tool_calls_total{tool=\"place_order\",outcome=\"ok\"} 0");
    expect_line(
        t, "binmcpd_tool_calls_total{tool=\"(unknown)\",outcome=\"ok\"} 1");
    expect_line(
        t, "binmcpd_tool_calls_total{tool=\"(unknown)\",outcome=\"error\"} 1");
    /* \ " and newline escaped in label values */
    expect_line(t, "binmcpd_tool_calls_total{tool=\"we\\\"ird\\\\na\\nme\","
                   "outcome=\"ok\"} 1");

    expect_line(t, "# TYPE binmcpd_tool_duration_seconds histogram");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"get_ticker\","
                   "le=\"0.005\"} 2");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"get_ticker\","
                   "le=\"0.01\"} 2");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"get_ticker\","
                   "le=\"0.025\"} 3");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"get_ticker\","
                   "le=\"0.5\"} 3");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"get_ticker\","
                   "le=\"1\"} 4");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"get_ticker\","
                   "le=\"+Inf\"} 4");
    expect_line(t, "binmcpd_tool_duration_seconds_sum{tool=\"get_ticker\"} "
                   "0.728000");
    expect_line(t,
                "binmcpd_tool_duration_seconds_count{tool=\"get_ticker\"} 4");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"place_order\","
                   "le=\"10\"} 0");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"place_order\","
                   "le=\"+Inf\"} 1");
    expect_line(t, "binmcpd_tool_duration_seconds_sum{tool=\"place_order\"} "
                   "12.500000");
    expect_line(t, "binmcpd_tool_duration_seconds_bucket{tool=\"(unknown)\","
                   "le=\"0.005\"} 2");

    expect_line(t, "# TYPE binmcpd_upstream_weight_used gauge");
    expect_line(t, "binmcpd_upstream_weight_used 1234");
    expect_line(t, "# TYPE binmcpd_upstream_errors_total counter");
    expect_line(t, "binmcpd_upstream_errors_total{code=\"-1003\"} 1");
    expect_line(t, "binmcpd_upstream_errors_total{code=\"-1121\"} 2");
    expect_line(t, "binmcpd_upstream_errors_total{code=\"-1021\"} 0");
    expect_line(t, "binmcpd_upstream_errors_total{code=\"other\"} 1");
    expect_line(t, "binmcpd_upstream_errors_total{code=\"none\"} 3");
    expect_line(t, "binmcpd_upstream_http_errors_total{status=\"429\"} 1");
    expect_line(t, "binmcpd_upstream_http_errors_total{status=\"4xx\"} 3");
    expect_line(t, "binmcpd_upstream_http_errors_total{status=\"5xx\"} 1");
    expect_line(t, "binmcpd_upstream_http_errors_total{status=\"none\"} 1");
    expect_line(t, "binmcpd_upstream_http_errors_total{status=\"other\"} 1");
    expect_line(t, "binmcpd_upstream_http_errors_total{status=\"418\"} 0");

    /* ids, tokens and the like never show */
    CU_ASSERT_PTR_NULL(strstr(t, id));
    CU_ASSERT(parse_exposition(t) > 100);
    dbuf_free(&out);
    reg_destroy(reg);
    metrics_destroy(m);
}

static void
test_render_without_registry(void)
{
    struct metrics *m = metrics_create(NULL, 0, NULL, 0);
    struct dbuf out;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    dbuf_init(&out, OUT_MAX);
    CU_ASSERT_EQUAL(metrics_render(m, NULL, &out), 0);
    const char *t = dbuf_str(&out);
    CU_ASSERT_PTR_NULL(strstr(t, "sessions_active"));
    /* no weight seen yet: the family, no sample */
    expect_line(t, "# TYPE binmcpd_upstream_weight_used gauge");
    CU_ASSERT_PTR_NULL(strstr(t, "\nbinmcpd_upstream_weight_used "));
    expect_line(
        t, "binmcpd_tool_calls_total{tool=\"(unknown)\",outcome=\"ok\"} 0");
    CU_ASSERT(parse_exposition(t) > 0);
    dbuf_free(&out);

    /* a buffer too small: -1 */
    dbuf_init(&out, 100);
    CU_ASSERT_EQUAL(metrics_render(m, NULL, &out), -1);
    dbuf_free(&out);
    metrics_destroy(m);
}

static void
test_daemon_counters(void)
{
    struct metrics *m = make();

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(metrics_restarts(m), 0);
    CU_ASSERT_EQUAL(metrics_capacity_rejections(m), 0);
    metrics_count_restart(m);
    metrics_count_restart(m);
    /* each refusal once; only the capacity ones count for /health */
    metrics_reject(m, METRICS_REJECT_MAX_CONNECTIONS);
    CU_ASSERT_EQUAL(metrics_capacity_rejections(m), 1);
    metrics_reject(m, METRICS_REJECT_MAX_SESSIONS);
    metrics_reject(m, METRICS_REJECT_MAX_SESSIONS_CLIENT);
    metrics_reject(m, METRICS_REJECT_PER_IP);
    metrics_reject(m, METRICS_REJECT_RATE_LIMITED);
    metrics_reject(m, METRICS_REJECT_UNAUTHORIZED);
    CU_ASSERT_EQUAL(metrics_restarts(m), 2);
    CU_ASSERT_EQUAL(metrics_capacity_rejections(m), 4);
    CU_ASSERT_EQUAL(metrics_restarts(NULL), 0);
    CU_ASSERT_EQUAL(metrics_capacity_rejections(NULL), 0);
    metrics_count_restart(NULL);
    metrics_destroy(m);
}

static void
test_bad_create(void)
{
    char err[256], long_name[METRICS_TOOL_NAME_MAX + 1];
    const char *dup[] = {"a", "b", "a"};
    const char *empty[] = {"a", ""};
    const char *null[] = {NULL};
    const char *too_long[] = {long_name};

    memset(long_name, 'x', METRICS_TOOL_NAME_MAX);
    long_name[METRICS_TOOL_NAME_MAX] = '\0';
    CU_ASSERT_PTR_NULL(metrics_create(dup, 3, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tool a is listed twice"));
    CU_ASSERT_PTR_NULL(metrics_create(empty, 2, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tool 1: a name must be"));
    CU_ASSERT_PTR_NULL(metrics_create(null, 1, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(metrics_create(too_long, 1, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(metrics_create(NULL, 1, err, sizeof(err)));
    /* a NULL set counts nothing and does not crash */
    metrics_tool_call(NULL, "x", 1, 1);
    metrics_reject(NULL, METRICS_REJECT_TOO_LARGE);
    metrics_upstream_error(NULL, 500, 0);
    metrics_upstream_weight(NULL, 5);
    metrics_destroy(NULL);
    CU_ASSERT_STRING_EQUAL(metrics_reject_name(METRICS_REJECT_TOO_LARGE),
                           "too_large");
    CU_ASSERT_STRING_EQUAL(metrics_reject_name(METRICS_REJECT_COUNT),
                           "unknown");
}

/* Counts from processes add up. */
static void
test_processes_add_up(void)
{
    enum { PROCS = 3, CALLS = 5000 };
    struct metrics *m = make();
    pid_t pids[PROCS];
    struct dbuf out;
    char line[256];

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            for (int i = 0; i < CALLS; i++) {
                metrics_tool_call(m, "get_ticker", i % 5 != 0, 0.001);
                metrics_reject(m, METRICS_REJECT_TOO_LARGE);
                metrics_upstream_error(m, 418, -1003);
            }
            metrics_upstream_weight(m, 100 + p);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    dbuf_init(&out, OUT_MAX);
    CU_ASSERT_EQUAL_FATAL(metrics_render(m, NULL, &out), 0);
    const char *t = dbuf_str(&out);
    snprintf(line, sizeof(line),
             "binmcpd_tool_calls_total{tool=\"get_ticker\",outcome=\"ok\"} %d",
             PROCS * CALLS * 4 / 5);
    expect_line(t, line);
    snprintf(line, sizeof(line),
             "binmcpd_tool_calls_total{tool=\"get_ticker\",outcome=\"error\"} "
             "%d",
             PROCS * CALLS / 5);
    expect_line(t, line);
    snprintf(line, sizeof(line),
             "binmcpd_tool_duration_seconds_count{tool=\"get_ticker\"} %d",
             PROCS * CALLS);
    expect_line(t, line);
    snprintf(line, sizeof(line),
             "binmcpd_tool_duration_seconds_sum{tool=\"get_ticker\"} "
             "%d.000000",
             PROCS * CALLS / 1000);
    expect_line(t, line);
    snprintf(line, sizeof(line),
             "binmcpd_connections_rejected_total{reason=\"too_large\"} %d",
             PROCS * CALLS);
    expect_line(t, line);
    snprintf(line, sizeof(line),
             "binmcpd_upstream_http_errors_total{status=\"418\"} %d",
             PROCS * CALLS);
    expect_line(t, line);
    snprintf(line, sizeof(line),
             "binmcpd_upstream_errors_total{code=\"-1003\"} %d", PROCS * CALLS);
    expect_line(t, line);
    CU_ASSERT(strstr(t, "\nbinmcpd_upstream_weight_used 10") != NULL);
    CU_ASSERT(parse_exposition(t) > 0);
    dbuf_free(&out);
    metrics_destroy(m);
}

/* The reader itself rejects what Prometheus would. */
static void
test_reader_rejects(void)
{
    reader_quiet = 1;
    CU_ASSERT_EQUAL(parse_exposition("# HELP binmcpd_x x\n# TYPE binmcpd_x "
                                     "gauge\nbinmcpd_x 1\n"),
                    1);
    CU_ASSERT_EQUAL(parse_exposition("binmcpd_x 1\n"), -1);
    CU_ASSERT_EQUAL(parse_exposition("# HELP binmcpd_x x\n# TYPE binmcpd_x "
                                     "gauge\nbinmcpd_x{a=\"b} 1\n"),
                    -1);
    CU_ASSERT_EQUAL(parse_exposition("# HELP binmcpd_x x\n# TYPE binmcpd_x "
                                     "gauge\nbinmcpd_x{a=\"\\q\"} 1\n"),
                    -1);
    CU_ASSERT_EQUAL(parse_exposition("# HELP binmcpd_x x\n# TYPE binmcpd_x "
                                     "gauge\nbinmcpd_x one\n"),
                    -1);
    CU_ASSERT_EQUAL(parse_exposition("# HELP binmcpd_h x\n# TYPE binmcpd_h "
                                     "histogram\nbinmcpd_h_bucket 1\n"),
                    -1);
    CU_ASSERT_EQUAL(parse_exposition("# HELP binmcpd_x x\n# TYPE binmcpd_x "
                                     "gauge\nbinmcpd_x 1"),
                    -1);
    reader_quiet = 0;
}

static CU_TestInfo metrics_tests[] = {
    {"render after updates: exact lines", test_render_exact},
    {"render without a registry; a full buffer", test_render_without_registry},
    {"daemon counters: restarts, capacity refusals", test_daemon_counters},
    {"bad tool lists are refused", test_bad_create},
    {"counts from several processes add up", test_processes_add_up},
    {"the format reader rejects bad text", test_reader_rejects},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"metrics", NULL, NULL, NULL, NULL, metrics_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
