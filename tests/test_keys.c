/*
 * test_keys.c - integration test of Ed25519 and RSA API keys and of the
 * demo environment: the real daemon ($BINMCPD, over stdio and as the HTTP
 * daemon) against the real fake exchange ($FAKEX), which checks each
 * signature with the public key registered for the API key
 * (--key-ed25519, --key-rsa).
 *
 * The keys are made here with certtool (gnutls-bin), as an operator would:
 * PKCS#8, NULL password, mode 0600. Covered: Ed25519- and RSA-signed reads
 * and orders accepted; a key that does not match the registered public key
 * rejected with -1022; a key file open to others refused with the chmod
 * advice; configure_credentials with private_key, and no trace of the key
 * in any answer or log; environment demo sends signed calls to the demo
 * URL; SIGHUP re-reads the key file and the workers sign with the new key;
 * a non-ASCII symbol is signed as sent (never -1022), with all three key
 * types, through the client library itself.
 *
 * Every wait has a deadline; every child is started, killed and reaped by
 * PID here.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "bnc.h"
#include "creds.h"
#include "fakex.h"
#include "httpc.h"
#include "mcpc.h"
#include "sign.h"
#include "testlib.h"
#include "util.h"

/* Deadlines; ten times longer when the daemon runs under valgrind
 * (tests/valgrind-daemon.sh, which needs VG_DAEMON): the PBKDF2 of a
 * certtool key (600000 rounds) alone then takes about 15 s. */
#define RPC_MS   (10000 * slow)
#define START_MS (20000 * slow)
#define ENV_MAX  16

/* API keys the fake exchange knows by their public keys */
#define KEY_ED                                                                 \
    "Ed25519KeyOne00000000000000000000000000000000000000000000000000K"
#define KEY_RSA                                                                \
    "RsaKeyOne000000000000000000000000000000000000000000000000000000K"
#define KEY_OTHER                                                              \
    "Ed25519KeyTwo00000000000000000000000000000000000000000000000000K"

#define LIMIT_BUY                                                              \
    "{\"symbol\":\"BTCUSDT\",\"side\":\"BUY\",\"type\":\"LIMIT\","             \
    "\"quantity\":\"0.001\",\"price\":\"10000\"}"

static struct fakex fx;  /* mainnet and testnet */
static struct fakex fxd; /* demo mode */
static int fx_up, fxd_up;
static char tmpdir[256];
static char ed1_key[512], ed2_key[512], rsa_key[512];
static int n_files;
static int slow = 1;

/* ------------------------------------------------------------------ */
/* Files and keys                                                      */

/* Writes text to path with mode (replacing the file atomically). */
static int
write_file(const char *path, mode_t mode, const char *text)
{
    char tmp[600];
    int fd, ok;
    size_t n = strlen(text);

    snprintf(tmp, sizeof(tmp), "%s.new", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ok = write(fd, text, n) == (ssize_t)n && fchmod(fd, mode) == 0;
    close(fd);
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

/* A fresh path in the test's directory: tmpdir/name-N.ext. */
static void
fresh_path(char *out, size_t len, const char *name, const char *ext)
{
    snprintf(out, len, "%s/%s-%d.%s", tmpdir, name, ++n_files, ext);
}

/* Runs certtool with args (NULL-terminated, without argv[0]), output
 * discarded. Returns 0 when it exits 0. */
static int
certtool(const char *const *args)
{
    const char *argv[16] = {"certtool"};
    int status, n = 1;
    pid_t pid;

    for (; args[n - 1] != NULL && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execvp("certtool", (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    if (tl_wait_exit(pid, 60000, &status) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Makes tmpdir/name.key (type "ed25519" or "rsa", PKCS#8, NULL password,
 * mode 0600, as the documentation says) and tmpdir/name.pub. */
static int
make_key(const char *name, const char *type, char *key, size_t len)
{
    char pub[600];
    const char *gen_ed[] = {
        "--generate-privkey", "--key-type", "ed25519", "--pkcs8",
        "--null-password",    "--outfile",  key,       NULL};
    const char *gen_rsa[] = {
        "--generate-privkey", "--key-type", "rsa", "--bits", "2048", "--pkcs8",
        "--null-password",    "--outfile",  key,   NULL};
    const char *pubinfo[] = {"--load-privkey", key, "--pubkey-info",
                             "--outfile",      pub, NULL};

    snprintf(key, len, "%s/%s.key", tmpdir, name);
    snprintf(pub, sizeof(pub), "%s/%s.pub", tmpdir, name);
    if (certtool(strcmp(type, "rsa") == 0 ? gen_rsa : gen_ed) < 0 ||
        chmod(key, 0600) < 0 || certtool(pubinfo) < 0) {
        fprintf(stderr,
                "test_keys: certtool could not make the %s key %s "
                "(is gnutls-bin installed?)\n",
                type, key);
        return -1;
    }
    return 0;
}

/* tmpdir/name.pub for a key made by make_key. */
static void
pub_path(const char *key, char *out, size_t len)
{
    snprintf(out, len, "%.*s.pub", (int)(strlen(key) - 4), key);
}

/* Writes a credentials file (0600) naming key_file (as given: relative
 * paths are the credentials file's directory's) and env; its path in out. */
static int
creds_file(char *out, size_t len, const char *api_key, const char *key_file,
           const char *env)
{
    char text[1200];

    fresh_path(out, len, "creds", "conf");
    snprintf(text, sizeof(text),
             "# made by test_keys\napi_key = %s\napi_private_key_file = %s\n"
             "environment = %s\n",
             api_key, key_file, env);
    return write_file(out, 0600, text);
}

/* The API key the fake saw last on method path ("" when none). */
static void
last_key(const struct fakex *f, const char *method, const char *path, char *out,
         size_t len)
{
    char q[256], body[4096];
    json_object *o;

    out[0] = '\0';
    snprintf(q, sizeof(q), "/__fake/stats?method=%s&path=%s", method, path);
    if (fakex_http(f, "GET", q, body, sizeof(body)) != 200)
        return;
    o = json_tokener_parse(body);
    snprintf(out, len, "%s", tl_str_at(o, "last_api_key"));
    json_object_put(o);
}

/* ------------------------------------------------------------------ */
/* Looking for key material                                            */

/* Copies s with json-c's "\/" turned back into "/". Caller frees. */
static char *
unescape_slashes(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (; *s != '\0'; s++) {
        if (s[0] == '\\' && s[1] == '/')
            continue;
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* Counts pieces of the key in key_path found in hay: 24-character pieces
 * of the file's own base64 lines and of the decrypted one-line form the
 * daemon keeps. */
static int
key_traces(const char *hay, const char *key_path)
{
    char *text = tl_slurp(key_path, NULL), *h = unescape_slashes(hay);
    char line[CREDS_SECRET_MAX + 1], err[256], piece[25];
    enum sign_key_type type;
    int found = 0, pieces = 0;

    if (text == NULL || h == NULL) {
        free(text);
        free(h);
        return 1;
    }
    /* the file: one piece per base64 line */
    for (char *p = text; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        if (n >= 48 && strncmp(p, "-----", 5) != 0) {
            memcpy(piece, p + 8, 24);
            piece[24] = '\0';
            pieces++;
            found += strstr(h, piece) != NULL;
        }
        p += n + (p[n] != '\0');
    }
    /* what the daemon holds */
    if (sign_key_parse(text, line, sizeof(line), &type, err, sizeof(err)) ==
        0) {
        for (size_t off = 28; off + 24 < strlen(line) - 26; off += 40) {
            memcpy(piece, line + off, 24);
            piece[24] = '\0';
            pieces++;
            found += strstr(h, piece) != NULL;
        }
    } else {
        found++;
    }
    secure_wipe(line, sizeof(line));
    CU_ASSERT_TRUE(pieces >= 3);
    free(text);
    free(h);
    return found;
}

/* ------------------------------------------------------------------ */
/* A stdio MCP client that keeps everything the daemon wrote           */

struct sd {
    struct mcpc_stdio io; /* keep_seen: io.seen holds every line */
    char err_path[512];
    char journal[512];
};

/* Starts `binmcpd --mode stdio` (with --credentials-file creds unless
 * NULL) with the fakes' URLs, a fresh journal and extra "NAME=value"
 * settings, then initializes. Returns 0 or -1. */
static int
sd_start(struct sd *d, const char *creds, const char *const *extra)
{
    char base[160], testnet[160], demo[160], journal[600];
    const char *env[ENV_MAX];
    const char *argv[] = {tl_binmcpd_path(),    "--mode", "stdio",
                          "--credentials-file", creds,    NULL};
    int n = 0;

    memset(d, 0, sizeof(*d));
    d->io.pid = -1;
    if (creds == NULL)
        argv[3] = NULL;
    fresh_path(d->journal, sizeof(d->journal), "journal", "db");
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(demo, sizeof(demo), "BINANCE_DEMO_URL=%s", fxd.url);
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s", d->journal);
    env[n++] = base;
    env[n++] = testnet;
    env[n++] = demo;
    env[n++] = journal;
    env[n++] = "BINANCE_TIMEOUT_MS=5000";
    for (int i = 0; extra != NULL && extra[i] != NULL && n < ENV_MAX - 1; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    fresh_path(d->err_path, sizeof(d->err_path), "stdio", "log");
    if (mcpc_stdio_spawn(&d->io, argv, env, d->err_path) < 0)
        return -1;
    d->io.rpc_ms = RPC_MS;
    d->io.keep_seen = 1;
    json_object *r = mcpc_stdio_initialize(&d->io, "test_keys", "{}");
    int ok = r != NULL && tl_get_path(r, "result") != NULL;
    json_object_put(r);
    if (!ok) {
        char *log = tl_slurp(d->err_path, NULL);
        fprintf(stderr, "test_keys: the stdio daemon did not start:\n%s\n",
                log != NULL ? log : "");
        free(log);
    }
    return ok ? 0 : -1;
}

/* Ends the daemon (EOF on stdin) and checks that it exited 0. */
static void
sd_stop(struct sd *d)
{
    int status = 0, running = d->io.pid > 0;
    int rc = mcpc_stdio_stop(&d->io, START_MS, &status);

    if (!running)
        return;
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr,
                "test_keys: the stdio daemon ended with status "
                "%d (see %s)\n",
                status, d->err_path);
}

/* tools/call; returns the CallToolResult (caller owns) or NULL. */
static json_object *
sd_tool(struct sd *d, const char *name, const char *args)
{
    return mcpc_stdio_tool(&d->io, name, args);
}

static int
is_error(json_object *res)
{
    return res == NULL || json_object_get_boolean(tl_get_path(res, "isError"));
}

static const char *
text_of(json_object *res)
{
    return tl_str_at(res, "content.0.text");
}

/* Calls tool and checks that it succeeded; returns the result (caller
 * owns). */
static json_object *
expect_ok(struct sd *d, const char *tool, const char *args)
{
    json_object *r = sd_tool(d, tool, args);

    CU_ASSERT_FALSE(is_error(r));
    if (is_error(r))
        fprintf(stderr, "test_keys: %s failed: %s\n", tool,
                r != NULL ? text_of(r) : "(no answer)");
    return r;
}

/* ------------------------------------------------------------------ */
/* Suite "stdio": signed calls with each key type                      */

/* Reads the account and places an order with key_file under api_key in
 * env; checks the fake saw both under api_key, and what
 * get_credentials_status says. */
static void
signed_calls(const char *api_key, const char *key_file, const char *env,
             const char *type)
{
    const char *const extra[] = {"BINMCPD_ORDER_CONFIRMATION=off",
                                 "BINMCPD_MAX_ORDER_NOTIONAL=100000", NULL};
    const struct fakex *f = strcmp(env, "demo") == 0 ? &fxd : &fx;
    char creds[600], seen[128];
    struct sd d;
    json_object *r;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fxd), 0);
    CU_ASSERT_EQUAL_FATAL(
        creds_file(creds, sizeof(creds), api_key, key_file, env), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, creds, extra), 0);
    r = expect_ok(&d, "get_credentials_status", "{}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.keyType"), type);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.environment"), env);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.endpoint"), f->url);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.source"), "daemon");
    json_object_put(r);
    json_object_put(expect_ok(&d, "get_account_info", "{}"));
    CU_ASSERT_EQUAL(fakex_count(f, "GET", "/api/v3/account"), 1);
    last_key(f, "GET", "/api/v3/account", seen, sizeof(seen));
    CU_ASSERT_STRING_EQUAL(seen, api_key);
    r = expect_ok(&d, "place_order", LIMIT_BUY);
    CU_ASSERT_TRUE(tl_contains(text_of(r), "NEW") ||
                   tl_contains(json_object_to_json_string(r), "\"NEW\""));
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(f, "POST", "/api/v3/order"), 1);
    last_key(f, "POST", "/api/v3/order", seen, sizeof(seen));
    CU_ASSERT_STRING_EQUAL(seen, api_key);
    if (f != &fx) /* nothing signed went to the other exchange */
        CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/account"), 0);
    if (key_file[0] != '/') {
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, key_file);
        CU_ASSERT_EQUAL(key_traces(d.io.seen, path), 0);
    } else {
        CU_ASSERT_EQUAL(key_traces(d.io.seen, key_file), 0);
    }
    sd_stop(&d);
}

static void
test_ed25519(void)
{
    /* relative: the credentials file's directory */
    signed_calls(KEY_ED, "ed1.key", "testnet", "ed25519");
}

static void
test_rsa(void)
{
    signed_calls(KEY_RSA, rsa_key, "mainnet", "rsa");
}

static void
test_demo(void)
{
    signed_calls(KEY_ED, ed1_key, "demo", "ed25519");
}

/* Demo mode is simulated money: by default no confirmation is asked and
 * no max_order_notional is needed (as on the testnet). */
static void
test_demo_no_confirmation(void)
{
    char creds[600];
    struct sd d;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fxd), 0);
    CU_ASSERT_EQUAL_FATAL(
        creds_file(creds, sizeof(creds), KEY_ED, ed1_key, "demo"), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, creds, NULL), 0);
    json_object_put(expect_ok(&d, "place_order", LIMIT_BUY));
    CU_ASSERT_EQUAL(fakex_count(&fxd, "POST", "/api/v3/order"), 1);
    sd_stop(&d);
}

/* A private key whose public half is not the registered one: -1022. */
static void
test_wrong_key(void)
{
    char creds[600];
    struct sd d;
    json_object *r;

    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(
        creds_file(creds, sizeof(creds), KEY_OTHER, ed1_key, "testnet"), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, creds, NULL), 0);
    r = sd_tool(&d, "get_account_info", "{}");
    CU_ASSERT_TRUE(is_error(r));
    CU_ASSERT_TRUE(tl_contains(text_of(r), "-1022"));
    if (!tl_contains(text_of(r), "-1022"))
        fprintf(stderr, "test_keys: expected -1022, got: %s\n", text_of(r));
    json_object_put(r);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/account"), 1);
    sd_stop(&d);
}

/* A key file readable by others is refused at start with the chmod to
 * run, and nothing of the key reaches the log. */
static void
test_key_file_mode(void)
{
    char creds[600], open_key[600], *text, *log;
    const char *argv[] = {tl_binmcpd_path(),    "--mode", "stdio",
                          "--credentials-file", creds,    NULL};
    int status = 0, err_fd, nul;
    char err_path[600], advice[700];
    pid_t pid;

    fresh_path(open_key, sizeof(open_key), "open", "key");
    text = tl_slurp(ed1_key, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL_FATAL(write_file(open_key, 0644, text), 0);
    secure_wipe(text, strlen(text));
    free(text);
    CU_ASSERT_EQUAL_FATAL(
        creds_file(creds, sizeof(creds), KEY_ED, open_key, "testnet"), 0);
    fresh_path(err_path, sizeof(err_path), "refused", "log");
    err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(err_fd >= 0 && nul >= 0);
    pid = tl_spawn(argv, NULL, nul, nul, err_fd, SIGKILL);
    close(err_fd);
    close(nul);
    CU_ASSERT_TRUE_FATAL(pid > 0);
    CU_ASSERT_EQUAL(tl_wait_exit(pid, START_MS, &status), 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    log = tl_slurp(err_path, NULL);
    snprintf(advice, sizeof(advice), "chmod 600 %s", open_key);
    CU_ASSERT_TRUE(tl_contains(log, advice));
    CU_ASSERT_TRUE(tl_contains(log, "group or others"));
    if (!tl_contains(log, advice))
        fprintf(stderr, "test_keys: expected '%s' in:\n%s\n", advice,
                log != NULL ? log : "");
    CU_ASSERT_EQUAL(key_traces(log != NULL ? log : "", open_key), 0);
    free(log);
}

/* configure_credentials with private_key: used, described, and never
 * shown: not in any answer, not in the log (at debug level). A bad key or
 * both secrets leave the credentials as they were. */
static void
test_configure_private_key(void)
{
    const char *const extra[] = {"BINMCPD_LOG_LEVEL=debug", NULL};
    char *pem = tl_slurp(rsa_key, NULL), *ed = tl_slurp(ed1_key, NULL);
    char *args, seen[128], *log;
    json_object *s, *e;
    struct sd d;
    json_object *r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ed);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fxd), 0);
    CU_ASSERT_EQUAL_FATAL(sd_start(&d, NULL, extra), 0);
    s = json_object_new_string(pem);
    e = json_object_new_string(ed);
    args = malloc(2 * strlen(pem) + 2 * strlen(ed) + 512);
    CU_ASSERT_PTR_NOT_NULL_FATAL(args);
    sprintf(args,
            "{\"api_key\":\"" KEY_RSA "\",\"private_key\":%s,"
            "\"environment\":\"testnet\"}",
            json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
    r = expect_ok(&d, "configure_credentials", args);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.keyType"), "rsa");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.source"), "session");
    json_object_put(r);
    json_object_put(expect_ok(&d, "get_account_info", "{}"));
    last_key(&fx, "GET", "/api/v3/account", seen, sizeof(seen));
    CU_ASSERT_STRING_EQUAL(seen, KEY_RSA);
    /* a broken key, then both secrets at once: refused, nothing changes */
    r = sd_tool(&d, "configure_credentials",
                "{\"api_key\":\"" KEY_ED "\",\"private_key\":\"-----BEGIN "
                "PRIVATE KEY-----\\nMC4CAQAw\\n-----END PRIVATE KEY-----\\n\","
                "\"environment\":\"demo\"}");
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "unchanged"));
    json_object_put(r);
    r = sd_tool(&d, "configure_credentials",
                "{\"api_key\":\"" KEY_ED "\",\"api_secret\":\"abc\","
                "\"private_key\":\"-----BEGIN PRIVATE KEY-----\","
                "\"environment\":\"demo\"}");
    CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), "not both"));
    json_object_put(r);
    r = expect_ok(&d, "get_credentials_status", "{}");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.keyType"), "rsa");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.environment"),
                           "testnet");
    json_object_put(r);
    /* an Ed25519 key for demo mode: signed calls go there */
    sprintf(args,
            "{\"api_key\":\"" KEY_ED "\",\"private_key\":%s,"
            "\"environment\":\"demo\"}",
            json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
    r = expect_ok(&d, "configure_credentials", args);
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.keyType"),
                           "ed25519");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "structuredContent.endpoint"), fxd.url);
    json_object_put(r);
    json_object_put(expect_ok(&d, "get_account_info", "{}"));
    CU_ASSERT_EQUAL(fakex_count(&fxd, "GET", "/api/v3/account"), 1);
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/account"), 1);
    json_object_put(expect_ok(&d, "revoke_credentials", "{}"));
    /* no trace anywhere */
    CU_ASSERT_EQUAL(key_traces(d.io.seen, rsa_key), 0);
    CU_ASSERT_EQUAL(key_traces(d.io.seen, ed1_key), 0);
    sd_stop(&d);
    log = tl_slurp(d.err_path, NULL);
    CU_ASSERT_PTR_NOT_NULL(log);
    CU_ASSERT_TRUE(tl_contains(log, "configure_credentials"));
    CU_ASSERT_EQUAL(key_traces(log != NULL ? log : "", rsa_key), 0);
    CU_ASSERT_EQUAL(key_traces(log != NULL ? log : "", ed1_key), 0);
    free(log);
    json_object_put(s);
    json_object_put(e);
    secure_wipe(args, strlen(args));
    free(args);
    secure_wipe(pem, strlen(pem));
    secure_wipe(ed, strlen(ed));
    free(pem);
    free(ed);
}

static CU_TestInfo stdio_tests[] = {
    {"Ed25519 key (relative key file): read and order accepted", test_ed25519},
    {"RSA key on mainnet: read and order accepted", test_rsa},
    {"environment demo: signed calls go to the demo URL", test_demo},
    {"demo mode needs no order confirmation by default",
     test_demo_no_confirmation},
    {"a key that is not the registered one: -1022", test_wrong_key},
    {"a key file open to others is refused with the chmod", test_key_file_mode},
    {"configure_credentials with private_key; the key is never shown",
     test_configure_private_key},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "library": a non-ASCII symbol signed with each key type       */

static void
test_non_ascii_symbol(void)
{
    struct bnc_config cfg;
    struct creds c[3];
    char err[1024];
    int i;

    memset(c, 0, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(creds_set(&c[0], TEST_KEY_A, TEST_SECRET_A,
                                    BNC_ENV_MAINNET, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL_FATAL(creds_set_key_file(&c[1], KEY_ED, ed1_key,
                                             BNC_ENV_MAINNET, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL_FATAL(creds_set_key_file(&c[2], KEY_RSA, rsa_key,
                                             BNC_ENV_MAINNET, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(c[1].type, SIGN_KEY_ED25519);
    CU_ASSERT_EQUAL(c[2].type, SIGN_KEY_RSA);
    bnc_config_defaults(&cfg);
    snprintf(cfg.mainnet_url, sizeof(cfg.mainnet_url), "%s", fx.url);
    cfg.timeout_ms = 5000;
    CU_ASSERT_EQUAL_FATAL(bnc_init(&cfg), 0);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    for (i = 0; i < 3; i++) {
        struct bnc_params p;
        struct bnc_response resp;
        struct bnc_request req = {.method = "GET",
                                  .path = "/api/v3/account",
                                  .kind = BNC_READ,
                                  .creds = &c[i]};

        CU_ASSERT_EQUAL(bnc_call(&req, &resp), 0);
        CU_ASSERT_EQUAL(resp.status, BNC_OK);
        bnc_response_free(&resp);
        bnc_params_init(&p);
        /* 币安人生USDT */
        bnc_params_add(&p, "symbol",
                       "\xe5\xb8\x81\xe5\xae\x89\xe4\xba\xba"
                       "\xe7\x94\x9f"
                       "USDT");
        req.path = "/api/v3/openOrders";
        req.params = &p;
        CU_ASSERT_EQUAL(bnc_call(&req, &resp), -1);
        CU_ASSERT_EQUAL(resp.status, BNC_ERR_API);
        /* authenticated (the signature is checked first): the symbol is
         * refused, Binance's -1121 (or the fake's -1100 syntax check) */
        CU_ASSERT_NOT_EQUAL(resp.api_code, -1022);
        CU_ASSERT_TRUE(resp.api_code == -1121 || resp.api_code == -1100);
        if (resp.api_code != -1121 && resp.api_code != -1100)
            fprintf(stderr, "test_keys: key %d: code %d %s\n", i, resp.api_code,
                    resp.api_msg);
        bnc_response_free(&resp);
    }
    CU_ASSERT_EQUAL(fakex_count(&fx, "GET", "/api/v3/openOrders"), 3);
    for (i = 0; i < 3; i++)
        creds_wipe(&c[i]);
    bnc_thread_cleanup();
}

static CU_TestInfo library_tests[] = {
    {"non-ASCII symbol: HMAC, Ed25519, RSA signatures verify",
     test_non_ascii_symbol},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Suite "reload": SIGHUP re-reads the key file (HTTP daemon)          */

static int
hd_start(struct mcpc_http *d, const char *creds)
{
    char base[160], testnet[160], journal[700], config[600], jpath[600];
    char log[512];
    const char *env[] = {base, testnet, "BINANCE_TIMEOUT_MS=5000", journal,
                         NULL};
    const char *args[] = {"--workers",          "2",   "--config", config,
                          "--credentials-file", creds, NULL};

    memset(d, 0, sizeof(*d));
    d->pid = -1;
    fresh_path(config, sizeof(config), "binmcpd", "conf");
    fresh_path(jpath, sizeof(jpath), "journal", "db");
    fresh_path(log, sizeof(log), "daemon", "log");
    if (write_file(config, 0644, "# empty\n") < 0)
        return -1;
    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s", jpath);
    if (mcpc_http_start(d, args, env, log, START_MS, "test_keys") < 0)
        return -1;
    /* The supervisor listens before its workers have loaded the key (14 s
     * each under valgrind); a worker still starting accepts nothing, so
     * wait until both serve before counting on either. */
    int64_t end = tl_now_ms() + START_MS;
    for (;;) {
        char *text = tl_slurp(d->log, NULL);
        int both = tl_contains(text, "worker 0: serving") &&
                   tl_contains(text, "worker 1: serving");
        free(text);
        if (both)
            break;
        if (tl_now_ms() >= end) {
            fprintf(stderr, "test_keys: the workers did not both start\n");
            return -1;
        }
        tl_sleep_ms(50);
    }
    return 0;
}

static void
hd_stop(struct mcpc_http *d)
{
    int status = 0;

    if (d->pid > 0) {
        CU_ASSERT_EQUAL(mcpc_http_stop(d, START_MS, &status), 0);
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    d->pid = -1;
}

/* Waits up to ms for needle to be in the log n times. */
static int
log_wait(const struct mcpc_http *d, const char *needle, int n, int ms)
{
    return mcpc_log_wait(d->log, needle, n, ms);
}

/* A new session; its id in sid. Returns the worker that holds it, or -1. */
static int
sh_session(const struct mcpc_http *d, char *sid, size_t len)
{
    int answered, w;

    w = mcpc_http_session(d->port, "test_keys", sid, len, RPC_MS, &answered);
    return answered ? w : -1;
}

/* tools/call in session sid; the CallToolResult (caller owns) or NULL. */
static json_object *
sh_tool(const struct mcpc_http *d, const char *sid, const char *name)
{
    return mcpc_http_tool(d->port, sid, name, "{}", RPC_MS);
}

/* Each of the two workers answers one session; every session must see the
 * same outcome. code: NULL for success, else a Binance code in the text. */
static void
sh_expect(const struct mcpc_http *d, char sid[][128], int n, const char *code)
{
    for (int i = 0; i < n; i++) {
        json_object *r = sh_tool(d, sid[i], "get_account_info");
        if (code == NULL) {
            CU_ASSERT_FALSE(is_error(r));
        } else {
            CU_ASSERT_TRUE(is_error(r) && tl_contains(text_of(r), code));
        }
        if ((code == NULL) != !is_error(r))
            fprintf(stderr, "test_keys: session %d expected %s, got: %s\n", i,
                    code != NULL ? code : "success",
                    r != NULL ? text_of(r) : "(no answer)");
        json_object_put(r);
    }
}

static void
test_sighup_reload(void)
{
    char creds[600], key[600], text[1200], sid[2][128], any[128], seen[128];
    char *ed1 = tl_slurp(ed1_key, NULL), *ed2 = tl_slurp(ed2_key, NULL);
    int workers = 0;
    struct mcpc_http d;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ed1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ed2);
    CU_ASSERT_EQUAL_FATAL(fakex_reset(&fx), 0);
    fresh_path(key, sizeof(key), "reload", "key");
    CU_ASSERT_EQUAL_FATAL(write_file(key, 0600, ed1), 0);
    CU_ASSERT_EQUAL_FATAL(
        creds_file(creds, sizeof(creds), KEY_ED, key, "testnet"), 0);
    CU_ASSERT_EQUAL_FATAL(hd_start(&d, creds), 0);
    /* one session on each worker (the kernel picks the worker) */
    for (int i = 0; i < 64 && workers != 3; i++) {
        int w = sh_session(&d, any, sizeof(any));
        CU_ASSERT_TRUE_FATAL(w >= 0 && w < 2);
        if (!(workers & (1 << w)))
            memcpy(sid[w], any, sizeof(any));
        workers |= 1 << w;
    }
    CU_ASSERT_EQUAL_FATAL(workers, 3);
    sh_expect(&d, sid, 2, NULL);
    last_key(&fx, "GET", "/api/v3/account", seen, sizeof(seen));
    CU_ASSERT_STRING_EQUAL(seen, KEY_ED);
    /* same credentials file, another key in the key file */
    CU_ASSERT_EQUAL_FATAL(write_file(key, 0600, ed2), 0);
    kill(d.pid, SIGHUP);
    CU_ASSERT_EQUAL_FATAL(
        log_wait(&d, "SIGHUP: credentials reloaded", 1, START_MS), 0);
    CU_ASSERT_EQUAL(log_wait(&d, "daemon credentials replaced", 2, RPC_MS), 0);
    sh_expect(&d, sid, 2, "-1022");
    /* and the API key that goes with it */
    snprintf(text, sizeof(text),
             "api_key = " KEY_OTHER "\napi_private_key_file = %s\n"
             "environment = testnet\n",
             key);
    CU_ASSERT_EQUAL_FATAL(write_file(creds, 0600, text), 0);
    kill(d.pid, SIGHUP);
    CU_ASSERT_EQUAL_FATAL(
        log_wait(&d, "SIGHUP: credentials reloaded", 2, START_MS), 0);
    CU_ASSERT_EQUAL(log_wait(&d, "daemon credentials replaced", 4, RPC_MS), 0);
    sh_expect(&d, sid, 2, NULL);
    last_key(&fx, "GET", "/api/v3/account", seen, sizeof(seen));
    CU_ASSERT_STRING_EQUAL(seen, KEY_OTHER);
    /* a key file opened to others: refused, the old key stays */
    CU_ASSERT_EQUAL(chmod(key, 0644), 0);
    kill(d.pid, SIGHUP);
    CU_ASSERT_EQUAL(log_wait(&d, "chmod 600", 1, START_MS), 0);
    sh_expect(&d, sid, 2, NULL);
    hd_stop(&d);
    {
        char *log = tl_slurp(d.log, NULL);
        CU_ASSERT_EQUAL(key_traces(log != NULL ? log : "", ed1_key), 0);
        CU_ASSERT_EQUAL(key_traces(log != NULL ? log : "", ed2_key), 0);
        free(log);
    }
    secure_wipe(ed1, strlen(ed1));
    secure_wipe(ed2, strlen(ed2));
    free(ed1);
    free(ed2);
}

static CU_TestInfo reload_tests[] = {
    {"SIGHUP re-reads the key file; every worker signs with the new key",
     test_sighup_reload},
    CU_TEST_INFO_NULL,
};

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

/* Makes the keys and starts both fake exchanges, once. */
static int
init_all(void)
{
    char ed1_pub[600], ed2_pub[600], rsa_pub[600];
    char a1[700], a2[700], a3[700];

    if (fx_up && fxd_up)
        return 0;
    if (make_key("ed1", "ed25519", ed1_key, sizeof(ed1_key)) < 0 ||
        make_key("ed2", "ed25519", ed2_key, sizeof(ed2_key)) < 0 ||
        make_key("rsa1", "rsa", rsa_key, sizeof(rsa_key)) < 0)
        return -1;
    pub_path(ed1_key, ed1_pub, sizeof(ed1_pub));
    pub_path(ed2_key, ed2_pub, sizeof(ed2_pub));
    pub_path(rsa_key, rsa_pub, sizeof(rsa_pub));
    snprintf(a1, sizeof(a1), "%s=%s", KEY_ED, ed1_pub);
    snprintf(a2, sizeof(a2), "%s=%s", KEY_RSA, rsa_pub);
    snprintf(a3, sizeof(a3), "%s=%s", KEY_OTHER, ed2_pub);
    {
        const char *args[] = {"--key",
                              TEST_KEY_A ":" TEST_SECRET_A,
                              "--key-ed25519",
                              a1,
                              "--key-rsa",
                              a2,
                              "--key-ed25519",
                              a3,
                              NULL};
        if (fakex_start(&fx, args) < 0)
            return -1;
        fx_up = 1;
    }
    {
        const char *args[] = {"--key-ed25519", a1, NULL};
        if (fakex_start(&fxd, args) < 0)
            return -1;
        fxd_up = 1;
    }
    return 0;
}

static CU_SuiteInfo suites[] = {
    {"stdio", init_all, NULL, NULL, NULL, stdio_tests},
    {"library", init_all, NULL, NULL, NULL, library_tests},
    {"reload", init_all, NULL, NULL, NULL, reload_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    int rc;

    signal(SIGPIPE, SIG_IGN);
    if (getenv("VG_DAEMON") != NULL && *getenv("VG_DAEMON") != '\0')
        slow = 10;
    if (tl_tmpdir_make(tmpdir, sizeof(tmpdir), "test_keys") < 0)
        return 1;
    rc = testlib_run(suites);
    if (fx_up)
        fakex_stop(&fx);
    if (fxd_up)
        fakex_stop(&fxd);
    bnc_shutdown();
    if (rc == 0)
        tl_tmpdir_remove(tmpdir);
    else
        fprintf(stderr, "test_keys: keys and logs kept in %s\n", tmpdir);
    return rc;
}
