/*
 * test_ops.c - integration test of the operations features of
 * `binmcpd --mode sse`: bearer tokens, the refusal to listen beyond
 * loopback without them, HTTPS, the per-client rate limit that the workers
 * share, GET /metrics, the configuration file with --check-config, and
 * that neither the API secret nor a token ever reaches the daemon's output.
 *
 * Each suite starts its own daemon ($BINMCPD: a supervisor and two
 * workers on a free 127.0.0.1 port) against one fake exchange ($FAKEX).
 * Daemons that must refuse to start are started as well, and must exit
 * non-zero within a deadline, saying why. The files (tokens,
 * certificates, configurations, every daemon's stdout and stderr) live in
 * one directory, $TESTS_BUILDDIR/test_ops.PID.tmp (else under /tmp), which
 * is kept when a test failed and removed otherwise.
 *
 * Every wait has a deadline (five times longer when the daemon runs under
 * valgrind). Every process is started, signalled and reaped here by its
 * PID, and dies with this program (PR_SET_PDEATHSIG); the workers follow
 * their supervisor.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "fakex.h"
#include "httpc.h"
#include "metrics.h"
#include "testlib.h"


/* The daemons under test. */
#define NWORKERS     2
#define DRAIN_S      "2"    /* --drain-timeout */
#define DAEMON_TO_MS "3000" /* BINANCE_TIMEOUT_MS */
#define MAX_DAEMONS  24
#define MAX_FILES    64 /* daemon outputs scanned for secrets */

/* Deadlines, multiplied by `slow` when the daemon runs under valgrind. */
#define START_MS  10000 /* start to "listening on" */
#define REFUSE_MS 5000  /* start to exit, for a daemon that must refuse */
#define STOP_MS   5000  /* SIGTERM to exit: --drain-timeout plus a margin */
#define HTTP_MS   5000  /* one request and its answer */
#define RPC_MS    8000  /* one JSON-RPC answer on a stream */
#define NOTICE_MS 5000  /* the daemon notices a closed stream */

/* Tokens: the first is in the tokens file as it is, the second only as its
 * SHA-256, the third nowhere. */
#define PLAIN_TOKEN  "ops-plain-0123456789abcdef-token"
#define HASHED_TOKEN "ops-hashed-fedcba9876543210-token"
#define WRONG_TOKEN  "ops-wrong-00000000000000000-token"
#define AUTH_PLAIN   "Authorization: Bearer " PLAIN_TOKEN "\r\n"
#define AUTH_HASHED  "Authorization: Bearer " HASHED_TOKEN "\r\n"
#define AUTH_WRONG   "Authorization: Bearer " WRONG_TOKEN "\r\n"

/* The rate-limit suite's daemon, and the metrics suite's (whose budget
 * leaves room for its sessions and tool calls). */
#define RL_RATE  2
#define RL_BURST 3
#define M_RATE   5
#define M_BURST  40

#define INIT_PARAMS                                                            \
    "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"                 \
    "\"clientInfo\":{\"name\":\"test_ops\",\"version\":\"1\"}}"
#define SH_HEADERS                                                             \
    "Accept: application/json, text/event-stream\r\n"                          \
    "Content-Type: application/json\r\n"

static int slow = 1;
static char workdir[512];
static struct fakex fx;
static int fx_up;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static int
ms(int base)
{
    return base * slow;
}

/* Writes text to path with exactly mode (whatever the umask). Returns 0 or
 * -1. */
static int
write_file(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0;
    return close(fd) == 0 && ok ? 0 : -1;
}

/* workdir/name, in one of 16 rotating buffers: enough for every path
 * one test or suite setup holds at a time. */
static const char *
in_dir(const char *name)
{
    static char bufs[16][600];
    static int next;
    char *p = bufs[next++ % 16];
    snprintf(p, sizeof(bufs[0]), "%s/%s", workdir, name);
    return p;
}

/* ------------------------------------------------------------------ */
/* Daemons                                                             */

struct daemon {
    pid_t pid;  /* the supervisor; 0 once reaped */
    int port;   /* from its "listening on ADDR:PORT" line */
    int status; /* its wait status once reaped */
    char err[600], out[600];
};

static struct daemon daemons[MAX_DAEMONS];
static int ndaemons;

/* Captures of daemon output (stdout and stderr), for the secret check. */
static char captures[MAX_FILES][600];
static int ncaptures;

/* Starts `$BINMCPD args...` (args NULL-terminated) with the fake exchange's
 * URLs and key A in its environment, stdout and stderr in files named
 * after tag. Returns the daemon's row, or NULL. */
static struct daemon *
daemon_spawn(const char *tag, const char *const *args)
{
    char base[160], testnet[160];
    const char *envset[] = {base,
                            testnet,
                            "BINANCE_TIMEOUT_MS=" DAEMON_TO_MS,
                            "BINANCE_API_KEY=" TEST_KEY_A,
                            "BINANCE_API_SECRET=" TEST_SECRET_A,
                            NULL};
    const char *argv[48];
    struct daemon *d;
    char name[64];
    int n = 0, out_fd, err_fd, nul;

    if (ndaemons >= MAX_DAEMONS || ncaptures + 2 > MAX_FILES)
        return NULL;
    d = &daemons[ndaemons++];
    memset(d, 0, sizeof(*d));
    argv[n++] = tl_binmcpd_path();
    for (int i = 0; args[i] != NULL && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(name, sizeof(name), "%02d-%s.stderr", ndaemons, tag);
    snprintf(d->err, sizeof(d->err), "%s", in_dir(name));
    snprintf(name, sizeof(name), "%02d-%s.stdout", ndaemons, tag);
    snprintf(d->out, sizeof(d->out), "%s", in_dir(name));
    snprintf(captures[ncaptures++], sizeof(captures[0]), "%s", d->err);
    snprintf(captures[ncaptures++], sizeof(captures[0]), "%s", d->out);

    err_fd =
        open(d->err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    out_fd =
        open(d->out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (err_fd < 0 || out_fd < 0 || nul < 0) {
        if (err_fd >= 0)
            close(err_fd);
        if (out_fd >= 0)
            close(out_fd);
        if (nul >= 0)
            close(nul);
        return NULL;
    }
    /* should this program die, the daemon must not outlive it (its
     * workers follow the supervisor) */
    d->pid = tl_spawn(argv, envset, nul, out_fd, err_fd, SIGKILL);
    close(err_fd);
    close(out_fd);
    close(nul);
    if (d->pid < 0) {
        d->pid = 0;
        return NULL;
    }
    return d;
}

/* Reaps the supervisor if it has exited. Returns 1 once it is reaped. */
static int
daemon_reaped(struct daemon *d)
{
    return tl_reaped(&d->pid, &d->status);
}

/* Waits up to timeout_ms for the supervisor to exit. Returns 1 when it
 * did (d->status holds its wait status). */
static int
daemon_wait(struct daemon *d, long timeout_ms)
{
    return tl_wait_reaped(&d->pid, &d->status, timeout_ms);
}

/* Kills the supervisor (SIGKILL) if it still runs, and reaps it; its
 * workers get SIGTERM from the kernel. Safe to call twice. */
static void
daemon_kill(struct daemon *d)
{
    if (daemon_reaped(d))
        return;
    kill(d->pid, SIGKILL);
    while (waitpid(d->pid, &d->status, 0) < 0 && errno == EINTR)
        ;
    d->pid = 0;
}

/* Whether the daemon's stderr holds needle. */
static int
daemon_said(const struct daemon *d, const char *needle)
{
    size_t len;
    char *log = tl_slurp(d->err, &len);
    int found = tl_contains(log, needle);
    free(log);
    return found;
}

static void
daemon_dump(const struct daemon *d, const char *why)
{
    size_t len;
    char *log = tl_slurp(d->err, &len);
    fprintf(stderr, "test_ops: %s; the daemon's stderr (%s):\n%s\n", why,
            d->err, log != NULL ? log : "(none)");
    free(log);
}

/* Polls the daemon's stderr for "listening on ADDR:PORT (" until the
 * deadline. Returns 0 with d->port set, or -1 (it exited, or never said
 * it). */
static int
daemon_listening(struct daemon *d)
{
    int st, port = tl_wait_listening(d->err, d->pid, ms(START_MS), &st);

    if (port < 0) {
        d->status = st;
        d->pid = 0;
    }
    d->port = port > 0 ? port : 0;
    return port > 0 ? 0 : -1;
}

/* The command line of a test daemon: `--mode sse --port 0 --workers 2
 * --keepalive 1 --drain-timeout 2` and then extra (NULL-terminated, may
 * be NULL), into args (room for ARGS_MAX, NULL-terminated). */
#define ARGS_MAX 40
static void
daemon_args(const char *const *extra, const char **args)
{
    static const char *const base[] = {
        "--mode",      "sse", "--port",          "0",     "--workers", "2",
        "--keepalive", "1",   "--drain-timeout", DRAIN_S, NULL};
    int n = 0;

    for (int i = 0; base[i] != NULL; i++)
        args[n++] = base[i];
    for (int i = 0; extra != NULL && extra[i] != NULL && n < ARGS_MAX - 1; i++)
        args[n++] = extra[i];
    args[n] = NULL;
}

/* Starts the daemon with daemon_args(extra) and waits until it listens.
 * Returns the row, or NULL (after printing its log, and killing it if it
 * runs). */
static struct daemon *
daemon_start(const char *tag, const char *const *extra)
{
    const char *args[ARGS_MAX];
    struct daemon *d;

    daemon_args(extra, args);
    d = daemon_spawn(tag, args);
    if (d == NULL)
        return NULL;
    if (daemon_listening(d) < 0) {
        daemon_dump(d, "the daemon did not start");
        daemon_kill(d);
        return NULL;
    }
    return d;
}

/* Stops the daemon with SIGTERM. Returns 1 when it exited with status 0
 * within the deadline; otherwise prints why, kills it and returns 0. */
static int
daemon_stop(struct daemon *d)
{
    if (d == NULL)
        return 0;
    if (daemon_reaped(d)) {
        fprintf(stderr, "test_ops: the daemon had already exited (0x%x)\n",
                d->status);
        return 0;
    }
    kill(d->pid, SIGTERM);
    if (!daemon_wait(d, ms(STOP_MS))) {
        daemon_dump(d, "no exit within the deadline after SIGTERM");
        daemon_kill(d);
        return 0;
    }
    if (!WIFEXITED(d->status) || WEXITSTATUS(d->status) != 0) {
        char why[64];
        snprintf(why, sizeof(why), "wait status 0x%x after SIGTERM", d->status);
        daemon_dump(d, why);
        return 0;
    }
    return 1;
}

/* Starts the daemon with daemon_args(extra), which must refuse to start:
 * it must exit non-zero within the deadline without listening, and say
 * every word of words (NULL-terminated) on stderr. Each check is asserted
 * here. */
static void
expect_refusal(const char *tag, const char *const *extra,
               const char *const *words)
{
    const char *args[ARGS_MAX];
    struct daemon *d;
    int64_t t0 = tl_now_ms();

    daemon_args(extra, args);
    d = daemon_spawn(tag, args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (d == NULL)
        return; /* not reached: for the static analysers */
    int exited = daemon_wait(d, ms(REFUSE_MS));
    CU_ASSERT_TRUE(exited);
    if (!exited) {
        daemon_dump(d, "a daemon that should refuse to start runs on");
        daemon_kill(d);
        return;
    }
    int code = WIFEXITED(d->status) ? WEXITSTATUS(d->status) : -1;
    CU_ASSERT_TRUE(WIFEXITED(d->status) && code != 0);
    CU_ASSERT_FALSE(daemon_said(d, "listening on"));
    for (int i = 0; words != NULL && words[i] != NULL; i++) {
        int said = daemon_said(d, words[i]);
        CU_ASSERT_TRUE(said);
        if (!said)
            daemon_dump(d, words[i]);
    }
    printf("\n    %s: exit status %d after %lld ms ", tag, code,
           (long long)(tl_now_ms() - t0));
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

/* Sends a request; returns the HTTP status (0 when none came). r must be
 * freed with httpc_resp_free. */
static int
http(int port, const char *method, const char *path, const char *headers,
     const char *body, struct httpc_resp *r)
{
    memset(r, 0, sizeof(*r));
    httpc_request(port, method, path, headers, body,
                  body != NULL ? strlen(body) : 0, ms(HTTP_MS), r);
    return r->status;
}

/* Only the status of a request. */
static int
http_status(int port, const char *method, const char *path, const char *headers,
            const char *body)
{
    struct httpc_resp r;
    int status = http(port, method, path, headers, body, &r);
    httpc_resp_free(&r);
    return status;
}

/* The same as http(), but a 429 is waited out (Retry-After, at most 2 s,
 * up to 4 times): for requests that are not what a test is about, sent to
 * a daemon with a rate limit. *n429 (may be NULL) counts the 429s. */
static int
http_patient(int port, const char *method, const char *path,
             const char *headers, const char *body, struct httpc_resp *r,
             int *n429)
{
    for (int i = 0;; i++) {
        char ra[32];
        int status = http(port, method, path, headers, body, r);
        if (status != 429 || i == 4)
            return status;
        if (n429 != NULL)
            (*n429)++;
        long wait = httpc_header(r->headers, "Retry-After", ra, sizeof(ra))
                        ? atol(ra)
                        : 1;
        httpc_resp_free(r);
        tl_sleep_ms(wait < 1 ? 1000 : wait > 2 ? 2000 : wait * 1000);
    }
}

/* The X-Binmcpd-Worker of an answer, -1 when absent. */
static int
worker_of(const char *headers)
{
    char buf[16];
    return httpc_header(headers, "X-Binmcpd-Worker", buf, sizeof(buf)) != NULL
               ? atoi(buf)
               : -1;
}

/* Whether the body is a JSON object whose "error" is code. */
static int
body_error_is(const struct httpc_resp *r, const char *code)
{
    json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL;
    int ok = json_object_is_type(o, json_type_object) &&
             strcmp(tl_str_at(o, "error"), code) == 0;
    if (!ok)
        fprintf(stderr, "test_ops: wanted a JSON body with error %s: %.300s\n",
                code, r->body != NULL ? r->body : "(none)");
    json_object_put(o);
    return ok;
}

/* The body as JSON (caller owns), NULL when it is not. */
static json_object *
body_json(const struct httpc_resp *r)
{
    return r->body != NULL ? json_tokener_parse(r->body) : NULL;
}

/* ------------------------------------------------------------------ */
/* A legacy HTTP+SSE client                                            */

struct legacy {
    struct httpc_sse s;
    int port;
    int open;
    int next_id;
    int worker;
    const char *auth; /* an Authorization header line, or NULL */
    char endpoint[256];
};

static void
legacy_close(struct legacy *l)
{
    if (l->open)
        httpc_sse_close(&l->s);
    l->open = 0;
}

/* GET /mcp/sse (with the auth line, when not NULL) and read up to the
 * endpoint event. Returns 0, or -1 (closed again). */
static int
legacy_open(struct legacy *l, int port, const char *auth)
{
    char hdr[512];
    int64_t end = tl_now_ms() + ms(HTTP_MS);

    memset(l, 0, sizeof(*l));
    l->port = port;
    l->auth = auth;
    l->next_id = 1;
    snprintf(hdr, sizeof(hdr), "Accept: text/event-stream\r\n%s",
             auth != NULL ? auth : "");
    l->open = 1;
    if (httpc_sse_open(&l->s, port, "GET", "/mcp/sse", hdr, NULL, 0,
                       ms(HTTP_MS)) < 0 ||
        l->s.status != 200) {
        fprintf(stderr, "test_ops: GET /mcp/sse: status %d\n", l->s.status);
        legacy_close(l);
        return -1;
    }
    l->worker = worker_of(l->s.headers);
    for (;;) {
        struct httpc_event ev;
        int64_t left = end - tl_now_ms();
        memset(&ev, 0, sizeof(ev));
        if (httpc_sse_next(&l->s, &ev, left > 0 ? (int)left : 0) != 1) {
            fprintf(stderr, "test_ops: no endpoint event\n");
            legacy_close(l);
            return -1;
        }
        if (strcmp(ev.event, "endpoint") == 0) {
            snprintf(l->endpoint, sizeof(l->endpoint), "%s", ev.data);
            httpc_event_free(&ev);
            return 0;
        }
        httpc_event_free(&ev);
    }
}

/* POSTs body to the session's endpoint with the session's auth line (or
 * auth, when not NULL; "" for none). Returns the status. */
static int
legacy_post(struct legacy *l, const char *body, const char *auth)
{
    char hdr[512];
    if (auth == NULL)
        auth = l->auth != NULL ? l->auth : "";
    snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\n%s", auth);
    return http_status(l->port, "POST", l->endpoint, hdr, body);
}

/* Sends a request on the session and waits for its answer on the stream.
 * Returns the message (caller owns), or NULL. */
static json_object *
legacy_rpc(struct legacy *l, const char *method, const char *params)
{
    char body[1024];
    int id = l->next_id++, status;
    int64_t end = tl_now_ms() + ms(RPC_MS);

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"%s%s}", id,
             method, params != NULL ? ",\"params\":" : "",
             params != NULL ? params : "");
    status = legacy_post(l, body, NULL);
    if (status != 202) {
        fprintf(stderr, "test_ops: POST %s (%s): status %d\n", l->endpoint,
                method, status);
        return NULL;
    }
    for (;;) {
        struct httpc_event ev;
        int64_t left = end - tl_now_ms();
        memset(&ev, 0, sizeof(ev));
        if (httpc_sse_next(&l->s, &ev, left > 0 ? (int)left : 0) != 1) {
            fprintf(stderr, "test_ops: no answer to %s\n", method);
            return NULL;
        }
        json_object *m = strcmp(ev.event, "message") == 0
                             ? json_tokener_parse(ev.data)
                             : NULL;
        httpc_event_free(&ev);
        if (m != NULL && tl_int_at(m, "id") == id)
            return m;
        json_object_put(m);
    }
}

/* initialize + notifications/initialized. Returns 0 or -1. */
static int
legacy_initialize(struct legacy *l)
{
    json_object *m = legacy_rpc(l, "initialize", INIT_PARAMS);
    int ok = strcmp(tl_str_at(m, "result.serverInfo.name"), "binmcpd") == 0;
    json_object_put(m);
    if (!ok)
        return -1;
    return legacy_post(l,
                       "{\"jsonrpc\":\"2.0\",\"method\":"
                       "\"notifications/initialized\"}",
                       NULL) == 202
               ? 0
               : -1;
}

/* POST /mcp initialize (Streamable HTTP) with extra header lines; on 200
 * the session id goes to sid. Returns the status. */
static int
sh_initialize(int port, const char *extra, char *sid, size_t sidlen, int *n429)
{
    char hdr[512];
    struct httpc_resp r;
    int status;

    snprintf(hdr, sizeof(hdr), SH_HEADERS "%s", extra != NULL ? extra : "");
    status = http_patient(port, "POST", "/mcp", hdr,
                          "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":"
                          "\"initialize\",\"params\":" INIT_PARAMS "}",
                          &r, n429);
    sid[0] = '\0';
    if (status == 200 &&
        (httpc_header(r.headers, "Mcp-Session-Id", sid, sidlen) == NULL ||
         !tl_contains(r.body, "\"serverInfo\""))) {
        fprintf(stderr, "test_ops: initialize: no session or result: %.300s\n",
                r.body != NULL ? r.body : "");
        status = -1;
    }
    httpc_resp_free(&r);
    return status;
}

/* DELETE /mcp of session sid. Returns the status. */
static int
sh_delete(int port, const char *extra, const char *sid, int *n429)
{
    char hdr[512];
    struct httpc_resp r;
    snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s\r\n%s", sid,
             extra != NULL ? extra : "");
    int status = http_patient(port, "DELETE", "/mcp", hdr, NULL, &r, n429);
    httpc_resp_free(&r);
    return status;
}

/* ------------------------------------------------------------------ */
/* The metrics exposition                                              */

/* GET /metrics (auth: a header line or NULL); on 200, *text gets the body
 * (caller frees) and ctype the Content-Type. A 429 is waited out. Returns
 * the status. */
static int
get_metrics(int port, const char *auth, char **text, char *ctype, size_t ctlen,
            int *n429)
{
    struct httpc_resp r;
    int status = http_patient(port, "GET", "/metrics", auth, NULL, &r, n429);

    *text = NULL;
    if (ctype != NULL &&
        httpc_header(r.headers, "Content-Type", ctype, ctlen) == NULL)
        ctype[0] = '\0';
    if (status == 200) {
        *text = r.body;
        r.body = NULL;
    }
    httpc_resp_free(&r);
    return status;
}

/* The value of the series named exactly series (`binmcpd_x{a="b"}`, or a
 * bare name), or -1 when it is absent. */
static double
series(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = nl != NULL ? nl + 1 : NULL;
    }
    return -1;
}

/* Whether every line that is not a comment is `name{labels} value`, and
 * the text (may be NULL: 0) ends with a newline; prints the lines that
 * are not. */
static int
exposition_valid(const char *text)
{
    regex_t re;
    int bad = 0;

    if (text == NULL || regcomp(&re, "^[a-z_]+(\\{[^}]*\\})? [0-9.eE+-]+$",
                                REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    for (const char *line = text; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (len > 0 && line[0] != '#') {
            char buf[1024];
            snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
            if (len >= sizeof(buf) || regexec(&re, buf, 0, NULL, 0) != 0) {
                fprintf(stderr, "test_ops: bad exposition line: %s\n", buf);
                bad++;
            }
        }
        if (nl == NULL) {
            fprintf(stderr, "test_ops: the exposition does not end with a "
                            "newline\n");
            bad++;
            break;
        }
        line = nl + 1;
    }
    regfree(&re);
    return bad == 0;
}

/* ------------------------------------------------------------------ */
/* Suite "bearer tokens"                                               */

static struct daemon *tok_d;
static int tok_401s; /* 401s this suite's daemon sent */

/* The SHA-256 of HASHED_TOKEN in lowercase hex (65 bytes), computed here
 * with GnuTLS rather than with the daemon's code. Returns 0 or -1. */
static int
hashed_token_hex(char *hex)
{
    unsigned char digest[32];

    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, HASHED_TOKEN, strlen(HASHED_TOKEN),
                         digest) < 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

/* Writes the tokens file at path with mode: a comment, a blank line, the
 * plain token with blanks around it, the SHA-256 of the other. Returns 0
 * or -1. */
static int
write_tokens(const char *path, mode_t mode)
{
    char text[512], hex[65];

    if (hashed_token_hex(hex) < 0)
        return -1;
    snprintf(text, sizeof(text),
             "# test_ops: one plain token, one hashed\n"
             "\n"
             "  %s  \n"
             "sha256:%s\n",
             PLAIN_TOKEN, hex);
    return write_file(path, text, mode);
}

static int
init_tokens(void)
{
    const char *args[] = {"--auth-tokens-file", in_dir("tokens"), NULL};
    tok_401s = 0;
    if (write_tokens(in_dir("tokens"), 0600) < 0)
        return -1;
    tok_d = daemon_start("tokens", args);
    return tok_d != NULL ? 0 : -1;
}

static int
clean_tokens(void)
{
    if (tok_d != NULL)
        daemon_kill(tok_d);
    return 0;
}

/* Expects 401 with a JSON body and a Bearer challenge; invalid: whether
 * the challenge must say error="invalid_token" (a token was sent) or must
 * not (none was). */
static void
expect_401(int status, const struct httpc_resp *r, int invalid)
{
    char chal[256];

    CU_ASSERT_EQUAL(status, 401);
    if (status != 401)
        return;
    tok_401s++;
    CU_ASSERT_PTR_NOT_NULL(
        httpc_header(r->headers, "WWW-Authenticate", chal, sizeof(chal)));
    CU_ASSERT_TRUE(strncmp(chal, "Bearer ", 7) == 0);
    CU_ASSERT_TRUE(tl_contains(chal, "realm=\""));
    CU_ASSERT_EQUAL(tl_contains(chal, "error=\"invalid_token\""), invalid);
    json_object *o = body_json(r);
    CU_ASSERT_TRUE(json_object_is_type(o, json_type_object));
    CU_ASSERT_TRUE(tl_get_path(o, "error") != NULL);
    json_object_put(o);
    CU_ASSERT_TRUE(worker_of(r->headers) >= 0);
}

static void
test_tok_health_open(void)
{
    struct httpc_resp r;
    CU_ASSERT_EQUAL(http(tok_d->port, "GET", "/health", NULL, NULL, &r), 200);
    json_object *o = body_json(&r);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "status"), "ok");
    json_object_put(o);
    httpc_resp_free(&r);
}

static void
test_tok_missing(void)
{
    static const char *const paths[] = {"/mcp/sse", "/", "/metrics",
                                        "/no/such/path"};
    struct httpc_resp r;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        expect_401(http(tok_d->port, "GET", paths[i],
                        "Accept: text/event-stream\r\n", NULL, &r),
                   &r, 0);
        httpc_resp_free(&r);
    }
}

static void
test_tok_wrong(void)
{
    /* a wrong token, the plain token with a character more or fewer,
     * another scheme, an empty bearer; then the hashed line itself */
    static const char *const auths[] = {
        AUTH_WRONG,
        "Authorization: Bearer " PLAIN_TOKEN "x\r\n",
        "Authorization: Bearer ops-plain-0123456789abcdef\r\n",
        "Authorization: Basic " PLAIN_TOKEN "\r\n",
        "Authorization: Bearer\r\n",
    };
    struct httpc_resp r;
    char hex[65], line[160];

    for (size_t i = 0; i <= sizeof(auths) / sizeof(auths[0]); i++) {
        const char *auth = line;
        if (i < sizeof(auths) / sizeof(auths[0]))
            auth = auths[i];
        else if (hashed_token_hex(hex) == 0)
            snprintf(line, sizeof(line), "Authorization: Bearer sha256:%s\r\n",
                     hex);
        else
            break;
        int status = http(tok_d->port, "GET", "/mcp/sse", auth, NULL, &r);
        if (status != 401)
            fprintf(stderr, "test_ops: %s got %d\n", auth, status);
        expect_401(status, &r, 1);
        httpc_resp_free(&r);
    }
}

static void
test_tok_plain(void)
{
    struct legacy l;
    struct httpc_resp r;
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}";

    CU_ASSERT_EQUAL_FATAL(legacy_open(&l, tok_d->port, AUTH_PLAIN), 0);
    CU_ASSERT_TRUE(strncmp(l.endpoint, "/mcp/message?sessionId=", 23) == 0);
    /* a valid session id is no substitute for the token */
    expect_401(http(tok_d->port, "POST", l.endpoint,
                    "Content-Type: application/json\r\n", ping, &r),
               &r, 0);
    httpc_resp_free(&r);
    expect_401(http(tok_d->port, "POST", l.endpoint,
                    "Content-Type: application/json\r\n" AUTH_WRONG, ping, &r),
               &r, 1);
    httpc_resp_free(&r);
    /* the scheme is case-insensitive */
    CU_ASSERT_EQUAL(
        legacy_post(&l, ping, "Authorization: bearer " PLAIN_TOKEN "\r\n"),
        202);
    CU_ASSERT_EQUAL(legacy_initialize(&l), 0);
    json_object *m = legacy_rpc(&l, "ping", NULL);
    CU_ASSERT_TRUE(
        json_object_is_type(tl_get_path(m, "result"), json_type_object));
    json_object_put(m);
    legacy_close(&l);
}

static void
test_tok_hashed(void)
{
    struct legacy l;
    CU_ASSERT_EQUAL_FATAL(legacy_open(&l, tok_d->port, AUTH_HASHED), 0);
    CU_ASSERT_EQUAL(legacy_initialize(&l), 0);
    legacy_close(&l);
}

static void
test_tok_streamable(void)
{
    char sid[128];
    struct httpc_resp r;

    CU_ASSERT_EQUAL(sh_initialize(tok_d->port, NULL, sid, sizeof(sid), NULL),
                    401);
    tok_401s++;
    CU_ASSERT_EQUAL(
        sh_initialize(tok_d->port, AUTH_WRONG, sid, sizeof(sid), NULL), 401);
    tok_401s++;
    CU_ASSERT_EQUAL_FATAL(
        sh_initialize(tok_d->port, AUTH_PLAIN, sid, sizeof(sid), NULL), 200);
    /* the session does not stand in for the token either */
    char hdr[512];
    snprintf(hdr, sizeof(hdr), SH_HEADERS "Mcp-Session-Id: %s\r\n", sid);
    expect_401(http(tok_d->port, "POST", "/mcp", hdr,
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &r),
               &r, 0);
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(sh_delete(tok_d->port, NULL, sid, NULL), 401);
    tok_401s++;
    /* a session answers only the token that created it */
    CU_ASSERT_EQUAL(sh_delete(tok_d->port, AUTH_HASHED, sid, NULL), 404);
    CU_ASSERT_EQUAL(sh_delete(tok_d->port, AUTH_PLAIN, sid, NULL), 200);
}

static void
test_tok_metrics(void)
{
    char *text = NULL, ctype[128];
    struct httpc_resp r;

    expect_401(http(tok_d->port, "GET", "/metrics", NULL, NULL, &r), &r, 0);
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(
        get_metrics(tok_d->port, AUTH_PLAIN, &text, ctype, sizeof(ctype), NULL),
        200);
    /* every 401 of this suite, and nothing else, was counted */
    double n = series(text, "binmcpd_connections_rejected_total{reason="
                            "\"unauthorized\"}");
    if ((int)n != tok_401s)
        fprintf(stderr, "test_ops: unauthorized %g, %d sent\n", n, tok_401s);
    CU_ASSERT_EQUAL((int)n, tok_401s);
    free(text);
}

static void
test_tok_stop(void)
{
    CU_ASSERT_TRUE(daemon_stop(tok_d));
}

static void
test_tok_file_mode(void)
{
    static const char *const words[] = {"chmod", NULL};
    const char *args[] = {"--auth-tokens-file", in_dir("tokens-0644"), NULL};
    CU_ASSERT_EQUAL_FATAL(write_tokens(in_dir("tokens-0644"), 0644), 0);
    expect_refusal("tokens-0644", args, words);
}

static void
test_tok_short(void)
{
    static const char *const words[] = {"tokens-short:2", NULL};
    const char *args[] = {"--auth-tokens-file", in_dir("tokens-short"), NULL};
    CU_ASSERT_EQUAL_FATAL(
        write_file(in_dir("tokens-short"), PLAIN_TOKEN "\nshort-token\n", 0600),
        0);
    expect_refusal("tokens-short", args, words);
}

static CU_TestInfo token_tests[] = {
    {"GET /health needs no token", test_tok_health_open},
    {"no Authorization: 401, Bearer realm, JSON body (SSE, /, /metrics, 404)",
     test_tok_missing},
    {"wrong token, hashed line, prefix, Basic, empty: 401 invalid_token",
     test_tok_wrong},
    {"plain token: SSE + endpoint; POST without it 401 despite the session",
     test_tok_plain},
    {"hashed token's plaintext: SSE + initialize", test_tok_hashed},
    {"Streamable HTTP: initialize 401 / 200, session no substitute",
     test_tok_streamable},
    {"/metrics: 401 without, 200 with; every 401 counted", test_tok_metrics},
    {"SIGTERM: exit 0", test_tok_stop},
    {"tokens file mode 0644: refused, log names chmod", test_tok_file_mode},
    {"a token under 16 characters: refused, log names file:line",
     test_tok_short},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "non-loopback bind"                                           */

static void
test_bind_refused(void)
{
    static const char *const words[] = {"auth_tokens_file",
                                        "--allow-unauthenticated", NULL};
    const char *args[] = {"--bind", "0.0.0.0", NULL};
    expect_refusal("bind-refused", args, words);
}

static void
test_bind_allowed(void)
{
    const char *args[] = {"--bind", "0.0.0.0", "--allow-unauthenticated",
                          "--allowed-hosts", "mcp.example.com", NULL};
    struct daemon *d = daemon_start("bind-allowed", args);
    struct httpc_resp r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (d == NULL)
        return; /* not reached: for the static analysers */
    CU_ASSERT_TRUE(daemon_said(d, "listening on 0.0.0.0:"));
    CU_ASSERT_EQUAL(http(d->port, "GET", "/health", NULL, NULL, &r), 200);
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(http(d->port, "GET", "/", NULL, NULL, &r), 200);
    httpc_resp_free(&r);
    CU_ASSERT_TRUE(daemon_stop(d));
}

static CU_TestInfo bind_tests[] = {
    {"--bind 0.0.0.0 without tokens: exits non-zero, says why",
     test_bind_refused},
    {"--bind 0.0.0.0 --allow-unauthenticated --allowed-hosts: serves; "
     "SIGTERM exit 0",
     test_bind_allowed},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "https"                                                       */

static struct daemon *tls_d;

/* Runs certtool with args (NULL-terminated), output discarded. Returns its
 * exit status, or -1. */
static int
certtool(const char *const *args)
{
    const char *argv[24];
    int n = 0, status;
    pid_t self = getpid();

    argv[n++] = "certtool";
    for (int i = 0; args[i] != NULL && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self ||
            nul < 0 || dup2(nul, STDOUT_FILENO) < 0 ||
            dup2(nul, STDERR_FILENO) < 0)
            _exit(126);
        execvp("certtool", (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    int64_t end = tl_now_ms() + 20000;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if ((w < 0 && errno != EINTR) || tl_now_ms() >= end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        tl_sleep_ms(10);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
init_https(void)
{
    static const char tmpl[] = "cn = \"localhost\"\n"
                               "dns_name = \"localhost\"\n"
                               "ip_address = \"127.0.0.1\"\n"
                               "expiration_days = 2\n"
                               "tls_www_server\n"
                               "signing_key\n"
                               "encryption_key\n";
    const char *key[] = {"--generate-privkey", "--key-type=ecdsa", "--outfile",
                         in_dir("key.pem"), NULL};
    const char *cert[] = {"--generate-self-signed", "--load-privkey",
                          in_dir("key.pem"),        "--template",
                          in_dir("cert.tmpl"),      "--outfile",
                          in_dir("cert.pem"),       NULL};
    const char *args[] = {"--tls-cert", in_dir("cert.pem"), "--tls-key",
                          in_dir("key.pem"), NULL};
    size_t len;
    char *pem;

    if (write_file(in_dir("cert.tmpl"), tmpl, 0600) < 0)
        return -1;
    if (certtool(key) != 0) {
        fprintf(stderr, "test_ops: certtool (Debian package gnutls-bin) is "
                        "needed\n");
        return -1;
    }
    if (certtool(cert) != 0 || chmod(in_dir("key.pem"), 0600) < 0)
        return -1;
    /* the same key, readable by everyone */
    pem = tl_slurp(in_dir("key.pem"), &len);
    if (pem == NULL || write_file(in_dir("key-0644.pem"), pem, 0644) < 0) {
        free(pem);
        return -1;
    }
    free(pem);
    tls_d = daemon_start("https", args);
    return tls_d != NULL ? 0 : -1;
}

static int
clean_https(void)
{
    if (tls_d != NULL)
        daemon_kill(tls_d);
    return 0;
}

/* What libcurl received; with stop_at_endpoint, the transfer stops once
 * an endpoint event with its data line has come. */
struct sink {
    char buf[16384];
    size_t len;
    int stop_at_endpoint;
    int saw_endpoint;
};

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct sink *k = arg;
    size_t len = size * nmemb, room = sizeof(k->buf) - 1 - k->len;
    size_t take = len < room ? len : room;

    memcpy(k->buf + k->len, p, take);
    k->len += take;
    k->buf[k->len] = '\0';
    if (k->stop_at_endpoint) {
        const char *e = strstr(k->buf, "event: endpoint");
        const char *data = e != NULL ? strstr(e, "data: /mcp/message?") : NULL;
        if (data != NULL && strchr(data, '\n') != NULL) {
            k->saw_endpoint = 1;
            return 0; /* enough: libcurl ends the transfer */
        }
    }
    return len;
}

/* GET https://127.0.0.1:PORT path with libcurl, trusting cainfo (NULL:
 * the system's store). Returns libcurl's result; *code the HTTP status. */
static CURLcode
https_get(int port, const char *path, const char *cainfo, struct sink *k,
          long *code)
{
    char url[256];
    CURL *c = curl_easy_init();
    CURLcode rc;

    *code = 0;
    if (c == NULL)
        return CURLE_FAILED_INIT;
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ms(HTTP_MS));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ms(HTTP_MS));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
    if (cainfo != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    curl_easy_cleanup(c);
    return rc;
}

static void
test_https_health(void)
{
    struct sink k;
    long code;

    memset(&k, 0, sizeof(k));
    CURLcode rc =
        https_get(tls_d->port, "/health", in_dir("cert.pem"), &k, &code);
    if (rc != CURLE_OK)
        fprintf(stderr, "test_ops: https /health: %s\n",
                curl_easy_strerror(rc));
    CU_ASSERT_EQUAL(rc, CURLE_OK);
    CU_ASSERT_EQUAL(code, 200);
    json_object *o = json_tokener_parse(k.buf);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "status"), "ok");
    CU_ASSERT_EQUAL(tl_int_at(o, "workers"), NWORKERS);
    json_object_put(o);
}

static void
test_https_untrusted(void)
{
    struct sink k;
    long code;

    /* without the certificate, libcurl must not trust it: it is really
     * the generated certificate that is served */
    memset(&k, 0, sizeof(k));
    CU_ASSERT_NOT_EQUAL(https_get(tls_d->port, "/health", NULL, &k, &code),
                        CURLE_OK);
    CU_ASSERT_NOT_EQUAL(code, 200);
}

static void
test_https_sse(void)
{
    struct sink k;
    long code;

    memset(&k, 0, sizeof(k));
    k.stop_at_endpoint = 1;
    CURLcode rc =
        https_get(tls_d->port, "/mcp/sse", in_dir("cert.pem"), &k, &code);
    /* the write callback ended it */
    CU_ASSERT_EQUAL(rc, CURLE_WRITE_ERROR);
    CU_ASSERT_EQUAL(code, 200);
    CU_ASSERT_TRUE(k.saw_endpoint);
    if (!k.saw_endpoint)
        fprintf(stderr, "test_ops: https SSE (%s): %.500s\n",
                curl_easy_strerror(rc), k.buf);
}

static void
test_https_plain_http(void)
{
    struct httpc_resp r;
    struct sink k;
    long code;

    memset(&r, 0, sizeof(r));
    httpc_request(tls_d->port, "GET", "/health", NULL, NULL, 0, 3000 * slow,
                  &r);
    CU_ASSERT_NOT_EQUAL(r.status, 200);
    httpc_resp_free(&r);
    /* and HTTPS is still served, no worker lost */
    memset(&k, 0, sizeof(k));
    CU_ASSERT_EQUAL(
        https_get(tls_d->port, "/health", in_dir("cert.pem"), &k, &code),
        CURLE_OK);
    json_object *o = json_tokener_parse(k.buf);
    CU_ASSERT_EQUAL(tl_int_at(o, "workers_alive"), NWORKERS);
    json_object_put(o);
}

static void
test_https_stop(void)
{
    CU_ASSERT_TRUE(daemon_stop(tls_d));
}

static void
test_https_key_mode(void)
{
    static const char *const words[] = {"chmod", NULL};
    const char *args[] = {"--tls-cert", in_dir("cert.pem"), "--tls-key",
                          in_dir("key-0644.pem"), NULL};
    expect_refusal("tls-key-0644", args, words);
}

static void
test_https_cert_alone(void)
{
    static const char *const words[] = {"tls_key", NULL};
    const char *args[] = {"--tls-cert", in_dir("cert.pem"), NULL};
    expect_refusal("tls-cert-alone", args, words);
}

static CU_TestInfo https_tests[] = {
    {"GET /health over HTTPS (libcurl trusting the cert): 200 JSON",
     test_https_health},
    {"without the cert as CA: libcurl refuses", test_https_untrusted},
    {"GET /mcp/sse over HTTPS: the endpoint event", test_https_sse},
    {"plain HTTP to the HTTPS port: no 200; HTTPS still served",
     test_https_plain_http},
    {"SIGTERM: exit 0", test_https_stop},
    {"key file mode 0644: refused, log names chmod", test_https_key_mode},
    {"tls_cert without tls_key: refused", test_https_cert_alone},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "rate limit"                                                  */

static struct daemon *rl_d;
static int rl_429s; /* 429s this suite's daemon sent */

static int
init_rate(void)
{
    char rate[16], burst[16];
    const char *args[] = {"--rate-limit", rate, "--rate-burst", burst, NULL};

    snprintf(rate, sizeof(rate), "%d", RL_RATE);
    snprintf(burst, sizeof(burst), "%d", RL_BURST);
    rl_429s = 0;
    rl_d = daemon_start("rate", args);
    return rl_d != NULL ? 0 : -1;
}

static int
clean_rate(void)
{
    if (rl_d != NULL)
        daemon_kill(rl_d);
    return 0;
}

/* Checks a 429: Retry-After >= 1 and a JSON body rate_limited. */
static void
expect_429(const struct httpc_resp *r)
{
    char ra[32];
    CU_ASSERT_PTR_NOT_NULL(
        httpc_header(r->headers, "Retry-After", ra, sizeof(ra)));
    CU_ASSERT_TRUE(atol(ra) >= 1);
    CU_ASSERT_TRUE(body_error_is(r, "rate_limited"));
    CU_ASSERT_TRUE(worker_of(r->headers) >= 0);
}

static void
test_rate_burst(void)
{
    int status[10], ok = 0;
    int64_t t[10];

    for (int i = 0; i < 10; i++) {
        struct httpc_resp r;
        t[i] = tl_now_ms();
        status[i] = http(rl_d->port, "GET", "/", NULL, NULL, &r);
        if (status[i] == 429) {
            rl_429s++;
            expect_429(&r);
        } else {
            CU_ASSERT_EQUAL(status[i], 200);
            ok++;
        }
        httpc_resp_free(&r);
    }
    long elapsed = (long)(tl_now_ms() - t[0]);
    printf("\n    10 GET / in %ld ms: %d x 200 (", elapsed, ok);
    for (int i = 0; i < 10; i++)
        printf("%s%d", i ? " " : "", status[i]);
    printf(") ");
    fflush(stdout);
    for (int i = 0; i < RL_BURST; i++)
        CU_ASSERT_EQUAL(status[i], 200);
    /* the next one is refused unless the budget refilled meanwhile */
    if (t[RL_BURST] - t[0] < 1000 / RL_RATE - 100)
        CU_ASSERT_EQUAL(status[RL_BURST], 429);
    CU_ASSERT_TRUE(ok <= RL_BURST + (int)(elapsed * RL_RATE / 1000));
    CU_ASSERT_TRUE(rl_429s > 0);
}

static void
test_rate_health_exempt(void)
{
    for (int i = 0; i < 10; i++) {
        struct httpc_resp r;
        CU_ASSERT_EQUAL(http(rl_d->port, "GET", "/health", NULL, NULL, &r),
                        200);
        httpc_resp_free(&r);
    }
    /* and the rest still is limited */
    struct httpc_resp r;
    CU_ASSERT_EQUAL(http(rl_d->port, "GET", "/", NULL, NULL, &r), 429);
    if (r.status == 429)
        rl_429s++;
    httpc_resp_free(&r);
}

static void
test_rate_recovers(void)
{
    struct httpc_resp r;
    char *text = NULL;

    tl_sleep_ms(1100);
    CU_ASSERT_EQUAL(http(rl_d->port, "GET", "/", NULL, NULL, &r), 200);
    if (r.status == 429)
        rl_429s++;
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(get_metrics(rl_d->port, NULL, &text, NULL, 0, &rl_429s),
                    200);
    double n = series(text, "binmcpd_connections_rejected_total{reason="
                            "\"rate_limited\"}");
    if ((int)n != rl_429s)
        fprintf(stderr, "test_ops: rate_limited %g, %d seen\n", n, rl_429s);
    CU_ASSERT_EQUAL((int)n, rl_429s);
    free(text);
}

static void
test_rate_shared(void)
{
    int req[NWORKERS] = {0}, ok[NWORKERS] = {0}, n = 0, total_ok = 0;
    int64_t t0, end;

    /* a full budget again: burst / rate seconds, and a margin */
    tl_sleep_ms(1000 * RL_BURST / RL_RATE + 200);
    t0 = tl_now_ms();
    end = t0 + ms(4000);
    while (n < 400 && tl_now_ms() < end) {
        struct httpc_resp r;
        int status = http(rl_d->port, "GET", "/", NULL, NULL, &r);
        int w = worker_of(r.headers);
        n++;
        if (w >= 0 && w < NWORKERS) {
            req[w]++;
            ok[w] += status == 200;
        }
        total_ok += status == 200;
        CU_ASSERT_TRUE(status == 200 || status == 429);
        httpc_resp_free(&r);
        if (req[0] > RL_BURST && req[1] > RL_BURST)
            break;
    }
    long elapsed = (long)(tl_now_ms() - t0);
    int allowance = RL_BURST + (int)(elapsed * RL_RATE / 1000) + 1;
    printf("\n    %d requests in %ld ms: worker 0 %d (%d ok), worker 1 %d "
           "(%d ok); %d ok, at most %d allowed ",
           n, elapsed, req[0], ok[0], req[1], ok[1], total_ok, allowance);
    fflush(stdout);
    CU_ASSERT_TRUE(req[0] > 0 && req[1] > 0);
    /* one budget for both: separate ones would let each worker take a
     * whole burst */
    CU_ASSERT_TRUE(total_ok <= allowance);
    CU_ASSERT_TRUE(total_ok >= RL_BURST);
}

static void
test_rate_stop(void)
{
    CU_ASSERT_TRUE(daemon_stop(rl_d));
}

static CU_TestInfo rate_tests[] = {
    {"10 quick GET /: a burst of 3 x 200, then 429 + Retry-After + JSON",
     test_rate_burst},
    {"GET /health is never limited", test_rate_health_exempt},
    {"after 1.1 s: 200 again; /metrics counts every 429", test_rate_recovers},
    {"both workers share one budget", test_rate_shared},
    {"SIGTERM: exit 0", test_rate_stop},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "metrics"                                                     */

static struct daemon *m_d;
static int m_429s;

static int
init_metrics(void)
{
    char rate[16], burst[16];
    const char *args[] = {"--rate-limit", rate, "--rate-burst", burst, NULL};

    snprintf(rate, sizeof(rate), "%d", M_RATE);
    snprintf(burst, sizeof(burst), "%d", M_BURST);
    m_429s = 0;
    m_d = daemon_start("metrics", args);
    return m_d != NULL ? 0 : -1;
}

static int
clean_metrics(void)
{
    if (m_d != NULL)
        daemon_kill(m_d);
    return 0;
}

/* Polls /metrics until series == want, for up to timeout_ms. Returns 1
 * when it was reached. */
static int
wait_series(const char *name, double want, long timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    double last = -1;
    for (;;) {
        char *text = NULL;
        if (get_metrics(m_d->port, NULL, &text, NULL, 0, &m_429s) == 200)
            last = series(text, name);
        free(text);
        if (last == want)
            return 1;
        if (tl_now_ms() >= end)
            break;
        tl_sleep_ms(250);
    }
    fprintf(stderr, "test_ops: %s stayed %g, not %g\n", name, last, want);
    return 0;
}

static void
test_metrics_exposition(void)
{
    char *before = NULL, *text = NULL, ctype[128], sid[128];
    struct legacy l;
    struct httpc_resp r;
    json_object *m;

    /* before: a valid exposition, all zero */
    CU_ASSERT_EQUAL_FATAL(
        get_metrics(m_d->port, NULL, &before, ctype, sizeof(ctype), &m_429s),
        200);
    CU_ASSERT_STRING_EQUAL(ctype, METRICS_CONTENT_TYPE);
    CU_ASSERT_TRUE(strncmp(ctype, "text/plain; version=0.0.4", 25) == 0);
    CU_ASSERT_TRUE(exposition_valid(before));
    CU_ASSERT_EQUAL(series(before, "binmcpd_sessions_active"), 0);
    CU_ASSERT_EQUAL(series(before, "binmcpd_worker_restarts_total"), 0);
    CU_ASSERT_EQUAL(series(before, "binmcpd_workers"), NWORKERS);

    /* a legacy session: a tool call that works, one that Binance refuses,
     * an unknown tool */
    CU_ASSERT_EQUAL_FATAL(legacy_open(&l, m_d->port, NULL), 0);
    CU_ASSERT_EQUAL(legacy_initialize(&l), 0);
    m = legacy_rpc(
        &l, "tools/call",
        "{\"name\":\"get_ticker\",\"arguments\":{\"symbol\":\"BTCUSDT\"}}");
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    CU_ASSERT_STRING_EQUAL(tl_str_at(m, "result.structuredContent.lastPrice"),
                           FAKEX_BTCUSDT_LAST);
    json_object_put(m);
    m = legacy_rpc(
        &l, "tools/call",
        "{\"name\":\"get_ticker\",\"arguments\":{\"symbol\":\"NOPENOPE\"}}");
    CU_ASSERT_TRUE(json_object_get_boolean(tl_get_path(m, "result.isError")));
    json_object_put(m);
    m = legacy_rpc(&l, "tools/call",
                   "{\"name\":\"no_such_tool\",\"arguments\":{}}");
    CU_ASSERT_PTR_NOT_NULL(tl_get_path(m, "error.code"));
    json_object_put(m);

    /* a Streamable HTTP session too: two open */
    CU_ASSERT_EQUAL(sh_initialize(m_d->port, NULL, sid, sizeof(sid), &m_429s),
                    200);

    /* refusals: a foreign Origin, then requests until the limit bites */
    CU_ASSERT_EQUAL(http(m_d->port, "GET", "/",
                         "Origin: https://evil.example.com\r\n", NULL, &r),
                    403);
    CU_ASSERT_TRUE(body_error_is(&r, "forbidden_origin"));
    httpc_resp_free(&r);
    int limited = 0;
    for (int i = 0; i < 4 * M_BURST && !limited; i++)
        limited = http_status(m_d->port, "GET", "/", NULL, NULL) == 429;
    CU_ASSERT_TRUE(limited);

    CU_ASSERT_EQUAL_FATAL(
        get_metrics(m_d->port, NULL, &text, ctype, sizeof(ctype), &m_429s),
        200);
    CU_ASSERT_STRING_EQUAL(ctype, METRICS_CONTENT_TYPE);
    CU_ASSERT_TRUE(exposition_valid(text));
    CU_ASSERT_EQUAL(series(text, "binmcpd_tool_calls_total{tool="
                                 "\"get_ticker\",outcome=\"ok\"}"),
                    1);
    CU_ASSERT_EQUAL(series(text, "binmcpd_tool_calls_total{tool="
                                 "\"get_ticker\",outcome=\"error\"}"),
                    1);
    CU_ASSERT_EQUAL(
        series(text, "binmcpd_tool_calls_total{tool=\"" METRICS_UNKNOWN_TOOL
                     "\",outcome=\"error\"}"),
        1);
    CU_ASSERT_EQUAL(series(text, "binmcpd_tool_duration_seconds_bucket{tool="
                                 "\"get_ticker\",le=\"+Inf\"}"),
                    2);
    CU_ASSERT_EQUAL(
        series(text,
               "binmcpd_tool_duration_seconds_count{tool=\"get_ticker\"}"),
        2);
    CU_ASSERT_EQUAL(series(text, "binmcpd_sessions_active"), 2);
    CU_ASSERT_TRUE(series(text, "binmcpd_sessions_total") >= 2);
    CU_ASSERT_EQUAL(series(text, "binmcpd_workers_alive"), NWORKERS);
    CU_ASSERT_EQUAL(series(text, "binmcpd_worker_restarts_total"), 0);
    CU_ASSERT_TRUE(
        series(text, "binmcpd_upstream_errors_total{code=\"-1121\"}") >= 1);
    CU_ASSERT_TRUE(
        series(text, "binmcpd_upstream_http_errors_total{status=\"4xx\"}") >=
        1);
    CU_ASSERT_TRUE(series(text, "binmcpd_upstream_weight_used") > 0);
    static const char *const reasons[] = {"forbidden_origin", "rate_limited"};
    for (int i = 0; i < 2; i++) {
        char name[128];
        snprintf(name, sizeof(name),
                 "binmcpd_connections_rejected_total{reason=\"%s\"}",
                 reasons[i]);
        double was = series(before, name), now = series(text, name);
        if (!(now >= was + 1))
            fprintf(stderr, "test_ops: %s %g then %g\n", name, was, now);
        CU_ASSERT_TRUE(was >= 0 && now >= was + 1);
    }
    free(before);
    free(text);

    /* the gauge follows the sessions */
    legacy_close(&l);
    CU_ASSERT_TRUE(wait_series("binmcpd_sessions_active", 1, ms(NOTICE_MS)));
    CU_ASSERT_EQUAL(sh_delete(m_d->port, NULL, sid, &m_429s), 200);
    CU_ASSERT_TRUE(wait_series("binmcpd_sessions_active", 0, ms(NOTICE_MS)));
}

static void
test_metrics_stop(void)
{
    CU_ASSERT_TRUE(daemon_stop(m_d));
}

static CU_TestInfo metrics_tests[] = {
    {"exposition: content type, line syntax, tools, sessions, refusals, "
     "upstream",
     test_metrics_exposition},
    {"SIGTERM: exit 0", test_metrics_stop},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "config file"                                                 */

static struct daemon *cfg_d;

static int
init_config(void)
{
    char text[1024];

    if (write_tokens(in_dir("cfg-tokens"), 0600) < 0)
        return -1;
    snprintf(text, sizeof(text),
             "# test_ops: a configuration for --check-config\n"
             "port = 0\n"
             "workers = 2\n"
             "auth_tokens_file = \"%s\"\n"
             "rate_limit = 0   # off\n"
             "drain_timeout = " DRAIN_S "\n",
             in_dir("cfg-tokens"));
    if (write_file(in_dir("good.conf"), text, 0600) < 0)
        return -1;
    return write_file(in_dir("bad.conf"),
                      "port = 0\n"
                      "workers = 2\n"
                      "max_conections = 5\n",
                      0600);
}

static int
clean_config(void)
{
    if (cfg_d != NULL)
        daemon_kill(cfg_d);
    return 0;
}

static void
test_config_check_ok(void)
{
    const char *args[] = {"--config", in_dir("good.conf"), "--check-config",
                          NULL};
    struct daemon *d = daemon_spawn("check-ok", args);
    size_t len;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (d == NULL)
        return; /* not reached: for the static analysers */
    CU_ASSERT_TRUE_FATAL(daemon_wait(d, ms(REFUSE_MS)));
    CU_ASSERT_TRUE(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0);
    char *out = tl_slurp(d->out, &len);
    CU_ASSERT_TRUE(tl_contains(out, "configuration OK"));
    if (!tl_contains(out, "configuration OK"))
        daemon_dump(d, "no \"configuration OK\"");
    free(out);
}

static void
test_config_check_bad(void)
{
    const char *args[] = {"--config", in_dir("bad.conf"), "--check-config",
                          NULL};
    struct daemon *d = daemon_spawn("check-bad", args);
    char place[640];
    size_t len;

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (d == NULL)
        return; /* not reached: for the static analysers */
    CU_ASSERT_TRUE_FATAL(daemon_wait(d, ms(REFUSE_MS)));
    CU_ASSERT_TRUE(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 1);
    snprintf(place, sizeof(place), "%s:3", in_dir("bad.conf"));
    CU_ASSERT_TRUE(daemon_said(d, place));
    CU_ASSERT_TRUE(daemon_said(d, "max_conections"));
    char *out = tl_slurp(d->out, &len);
    CU_ASSERT_FALSE(tl_contains(out, "configuration OK"));
    free(out);
    if (!daemon_said(d, place) || !daemon_said(d, "max_conections"))
        daemon_dump(d, "the error does not name the place and the key");
}

/* --check-config runs the checks the start runs: a public bind without
 * tokens is refused by both; the trading rules are shown. */
static void
test_config_check_public_bind(void)
{
    const char *bad[] = {"--config", in_dir("bad-bind.conf"), "--check-config",
                         NULL};
    const char *good[] = {
        "--config", in_dir("good.conf"), "--max-order-notional",
        "250",      "--check-config",    NULL};
    struct daemon *d;
    size_t len;

    CU_ASSERT_EQUAL_FATAL(write_file(in_dir("bad-bind.conf"),
                                     "mode = sse\nbind = 0.0.0.0\nport = 0\n",
                                     0600),
                          0);
    d = daemon_spawn("check-bind", bad);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (d == NULL)
        return;
    CU_ASSERT_TRUE_FATAL(daemon_wait(d, ms(REFUSE_MS)));
    CU_ASSERT_TRUE(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 1);
    CU_ASSERT_TRUE(daemon_said(d, "refusing to listen on 0.0.0.0"));
    d = daemon_spawn("check-trading", good);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (d == NULL)
        return;
    CU_ASSERT_TRUE_FATAL(daemon_wait(d, ms(REFUSE_MS)));
    CU_ASSERT_TRUE(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0);
    char *out = tl_slurp(d->out, &len);
    CU_ASSERT_TRUE(tl_contains(out, "max order notional: 250 USDT"));
    CU_ASSERT_TRUE(tl_contains(out, "order confirmation: auto"));
    CU_ASSERT_TRUE(tl_contains(out, "journal: "));
    free(out);
}

static void
test_config_serves(void)
{
    const char *args[] = {"--config", in_dir("good.conf"), "--mode", "sse",
                          NULL};
    struct httpc_resp r;
    struct legacy l;

    cfg_d = daemon_spawn("config", args);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg_d);
    if (cfg_d == NULL)
        return; /* not reached: for the static analysers */
    if (daemon_listening(cfg_d) < 0) {
        daemon_dump(cfg_d, "the daemon did not start");
        CU_FAIL_FATAL("the daemon did not start from its configuration");
    }
    CU_ASSERT_TRUE(daemon_said(cfg_d, "(2 workers)"));
    CU_ASSERT_EQUAL(http(cfg_d->port, "GET", "/health", NULL, NULL, &r), 200);
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(http(cfg_d->port, "GET", "/mcp/sse", NULL, NULL, &r), 401);
    httpc_resp_free(&r);
    CU_ASSERT_EQUAL(legacy_open(&l, cfg_d->port, AUTH_PLAIN), 0);
    legacy_close(&l);
    CU_ASSERT_TRUE(daemon_stop(cfg_d));
}

static CU_TestInfo config_tests[] = {
    {"--check-config of a good file: exit 0, \"configuration OK\"",
     test_config_check_ok},
    {"--check-config: a public bind without tokens refused; trading shown",
     test_config_check_public_bind},
    {"--check-config with max_conections: exit 1, names file:3 and the key",
     test_config_check_bad},
    {"--config --mode sse: serves from it, token required", test_config_serves},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "daemon output": last, over every daemon's stdout and stderr  */

static void
test_no_secret(void)
{
    static const char *const secrets[] = {
        TEST_SECRET_A, TEST_KEY_A, PLAIN_TOKEN, HASHED_TOKEN, WRONG_TOKEN,
    };
    int checked = 0;

    for (int i = 0; i < ncaptures; i++) {
        size_t len;
        char *text = tl_slurp(captures[i], &len);
        if (text == NULL)
            continue;
        checked++;
        for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++) {
            int found =
                memmem(text, len, secrets[k], strlen(secrets[k])) != NULL;
            if (found)
                fprintf(stderr, "test_ops: %s holds a secret (#%zu)\n",
                        captures[i], k);
            CU_ASSERT_FALSE(found);
        }
        free(text);
    }
    printf("\n    %d captures checked ", checked);
    fflush(stdout);
    CU_ASSERT_TRUE(checked >= 10);
}

/* No test here kills a worker: a death, or a sanitizer's report (the
 * daemon built with -fsanitize), means the daemon failed somewhere. */
static void
test_no_crash(void)
{
    static const char *const signs[] = {
        ") died: ",        "did not stop in time", "Sanitizer",
        "runtime error: ", "failed fatally",
    };

    for (int i = 0; i < ncaptures; i++) {
        size_t len;
        char *text = tl_slurp(captures[i], &len);
        for (size_t k = 0; text != NULL && k < sizeof(signs) / sizeof(signs[0]);
             k++) {
            int found = memmem(text, len, signs[k], strlen(signs[k])) != NULL;
            if (found)
                fprintf(stderr, "test_ops: %s holds \"%s\"\n", captures[i],
                        signs[k]);
            CU_ASSERT_FALSE(found);
        }
        free(text);
    }
}

static CU_TestInfo secret_tests[] = {
    {"no API secret, full key or token in any daemon's stdout or stderr",
     test_no_secret},
    {"no worker died, no sanitizer report", test_no_crash},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */

static CU_SuiteInfo suites[] = {
    {"bearer tokens", init_tokens, clean_tokens, NULL, NULL, token_tests},
    {"non-loopback bind", NULL, NULL, NULL, NULL, bind_tests},
    {"https", init_https, clean_https, NULL, NULL, https_tests},
    {"rate limit", init_rate, clean_rate, NULL, NULL, rate_tests},
    {"metrics", init_metrics, clean_metrics, NULL, NULL, metrics_tests},
    {"config file", init_config, clean_config, NULL, NULL, config_tests},
    {"daemon output", NULL, NULL, NULL, NULL, secret_tests},
    CU_SUITE_INFO_NULL,
};

/* Creates the work directory; a stale one of the same name (a reused
 * PID) is emptied. Returns 0 or -1. */
static int
workdir_create(void)
{
    const char *base = getenv("TESTS_BUILDDIR");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    snprintf(workdir, sizeof(workdir), "%s/test_ops.%ld.tmp", base,
             (long)getpid());
    if (mkdir(workdir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    DIR *d = opendir(workdir);
    struct dirent *e;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    return 0;
}

static void
workdir_remove(void)
{
    DIR *d = opendir(workdir);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(workdir);
}

int
main(void)
{
    const char *vg = getenv("VG_DAEMON");
    int rc;

    /* a daemon that went away must show up as a failed write */
    signal(SIGPIPE, SIG_IGN);
    if ((vg != NULL && *vg != '\0') ||
        tl_contains(tl_binmcpd_path(), "valgrind"))
        slow = 5;
    if (workdir_create() < 0) {
        perror("test_ops: the work directory");
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "test_ops: curl_global_init failed\n");
        return 1;
    }
    if (fakex_start(&fx, NULL) < 0) {
        fprintf(stderr, "test_ops: the fake exchange did not start\n");
        curl_global_cleanup();
        return 1;
    }
    fx_up = 1;
    rc = testlib_run(suites);
    /* whatever a failed test left running */
    for (int i = 0; i < ndaemons; i++)
        daemon_kill(&daemons[i]);
    if (fx_up)
        fakex_stop(&fx);
    curl_global_cleanup();
    if (rc == 0)
        workdir_remove();
    else
        fprintf(stderr, "test_ops: files and daemon logs kept in %s\n",
                workdir);
    return rc;
}
