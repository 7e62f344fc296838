/*
 * test_settings.c - unit tests of settings.c: the configuration file, the
 * credentials file, the order of the layers (file < environment < command
 * line), SIGHUP reloads, and `binmcpd --check-config` run for real.
 *
 * Files are written into a fresh directory under $TESTS_BUILDDIR (or /tmp)
 * that is removed at the end.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "creds.h"
#include "feed.h"
#include "settings.h"
#include "testlib.h"
#include "util.h"

#define S(x)    ((char *)(x))
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static char tmpdir[PATH_MAX / 2]; /* room for a file name after it */

/* Every variable settings_from_env reads; cleared before each test. */
static const char *const env_vars[] = {
    "BINANCE_API_KEY",     "BINANCE_API_SECRET",  "BINANCE_BASE_URL",
    "BINANCE_TESTNET",     "BINANCE_TESTNET_URL", "BINANCE_TIMEOUT_MS",
    "BINANCE_RECV_WINDOW", "BINMCPD_READ_ONLY",   "BINMCPD_LOG_LEVEL",
    "BINANCE_STREAM_URL",  "BINANCE_WS_API_URL",  "BINMCPD_FEED",
};

static void
clear_env(void)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

/* Writes text into tmpdir/name with mode and stores the path in path
 * (PATH_MAX bytes). Fails the test when it cannot. */
static void
write_file(char *path, const char *name, mode_t mode, const char *text)
{
    int fd;
    snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
    close(fd);
}

/* printf into a fresh static-sized buffer of the caller. */
static const char *fmt(char *buf, size_t len, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
    return buf;
}

static int
contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* Loads `binmcpd --config path [extra...]`. */
static int
load_with(struct settings *s, const char *path, char **extra, char *err,
          size_t errlen)
{
    static char *argv[32];
    int n = 0;
    argv[n++] = S("binmcpd");
    argv[n++] = S("--config");
    argv[n++] = (char *)path;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return settings_load(s, n, argv, err, errlen);
}

/* A config file made of one line; returns settings_load's verdict. */
static int
load_line(const char *line, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct settings s;
    int rc;
    write_file(path, "one.conf", 0644, line);
    rc = load_with(&s, path, NULL, err, errlen);
    settings_wipe(&s);
    return rc;
}

static int
suite_init(void)
{
    const char *base = getenv("TESTS_BUILDDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_settings.XXXXXX",
             base != NULL && *base != '\0' ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    clear_env();
    return 0;
}

static int
suite_clean(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[PATH_MAX + 256];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(tmpdir);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Suite "file": the configuration file                                 */

static void
test_every_key(void)
{
    char conf[PATH_MAX], creds[PATH_MAX], text[PATH_MAX + 2048], err[512];
    struct settings s;

    write_file(creds, "every.creds", 0600,
               "api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A "\n");
    snprintf(text, sizeof(text),
             "# every key, none at its default\n"
             "mode = sse\n"
             "read_only = yes\n"
             "testnet = true\n"
             "base_url = http://127.0.0.1:1/\n"
             "testnet_url = http://127.0.0.1:2\n"
             "demo_url = http://127.0.0.1:3\n"
             "timeout_ms = 2500\n"
             "recv_window = 6000\n"
             "credentials_file = %s\n"
             "log_level = debug\n"
             "bind = ::1\n"
             "port = 8123\n"
             "workers = 3\n"
             "max_connections = 77\n"
             "max_sessions = 500\n"
             "max_sessions_per_client = 20\n"
             "request_timeout = 7\n"
             "max_connections_per_ip = 9\n"
             "allowed_hosts = mcp.example.com, [::1]:8123\n"
             "keepalive = 5\n"
             "session_idle = 60\n"
             "drain_timeout = 4\n"
             "max_body = 4096\n"
             "allow_origin = https://a.example\n"
             "allow_origin = https://b.example\n"
             "tls_cert = /etc/ssl/cert.pem\n"
             "tls_key = /etc/ssl/key.pem\n"
             "auth_tokens_file = /etc/binmcpd/tokens\n"
             "allow_unauthenticated = on\n"
             "rate_limit = 2.5\n"
             "rate_burst = 7\n"
             "foreground = yes\n"
             "daemon = 1\n"
             "pidfile = /tmp/binmcpd-test.pid\n"
             "user = nobody\n"
             "order_confirmation = token\n"
             "confirm_on = always\n"
             "confirmation_timeout = 30\n"
             "max_order_notional = 250.5\n"
             "max_daily_notional = 1000\n"
             "allowed_symbols = btc*, ETHUSDT\n"
             "denied_symbols = BTCUP?\n"
             "max_open_orders = 4\n"
             "journal = /tmp/binmcpd-test-journal.db\n"
             "toolsets = market,account\n"
             "max_result_bytes = 50000\n"
             "feed = off\n"
             "stream_url = ws://127.0.0.1:3/\n"
             "ws_api_url = wss://ws.example/ws-api/v3\n"
             "feed_idle = 60\n"
             "max_tracked_symbols = 8\n"
             "notify_interval = 0.25\n",
             creds);
    write_file(conf, "every.conf", 0644, text);
    CU_ASSERT_EQUAL_FATAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
    CU_ASSERT_TRUE(s.config_loaded);
    CU_ASSERT_STRING_EQUAL(s.config_path, conf);
    CU_ASSERT_EQUAL(s.mode, MODE_SSE);
    CU_ASSERT_EQUAL(s.read_only, 1);
    CU_ASSERT_EQUAL(s.bnc.default_env, BNC_ENV_TESTNET);
    CU_ASSERT_STRING_EQUAL(s.bnc.mainnet_url, "http://127.0.0.1:1");
    CU_ASSERT_STRING_EQUAL(s.bnc.testnet_url, "http://127.0.0.1:2");
    CU_ASSERT_EQUAL(s.bnc.timeout_ms, 2500);
    CU_ASSERT_EQUAL(s.bnc.recv_window, 6000);
    CU_ASSERT_STRING_EQUAL(s.credentials_file, creds);
    CU_ASSERT_EQUAL(s.log_level, LOG_LVL_DEBUG);
    CU_ASSERT_STRING_EQUAL(s.bind, "::1");
    CU_ASSERT_EQUAL(s.port, 8123);
    CU_ASSERT_EQUAL(s.workers, 3);
    CU_ASSERT_EQUAL(s.max_connections, 77);
    CU_ASSERT_EQUAL(s.max_sessions, 500);
    CU_ASSERT_EQUAL(s.max_sessions_per_client, 20);
    CU_ASSERT_EQUAL(s.request_timeout_s, 7);
    CU_ASSERT_EQUAL(s.max_connections_per_ip, 9);
    CU_ASSERT_STRING_EQUAL(s.allowed_hosts, "mcp.example.com, [::1]:8123");
    CU_ASSERT_EQUAL(s.keepalive_s, 5);
    CU_ASSERT_EQUAL(s.session_idle_s, 60);
    CU_ASSERT_EQUAL(s.drain_s, 4);
    CU_ASSERT_EQUAL(s.max_body, 4096);
    CU_ASSERT_EQUAL(s.norigins, 2);
    CU_ASSERT_STRING_EQUAL(s.origins[0], "https://a.example");
    CU_ASSERT_STRING_EQUAL(s.origins[1], "https://b.example");
    CU_ASSERT_STRING_EQUAL(s.tls_cert, "/etc/ssl/cert.pem");
    CU_ASSERT_STRING_EQUAL(s.tls_key, "/etc/ssl/key.pem");
    CU_ASSERT_STRING_EQUAL(s.auth_tokens_file, "/etc/binmcpd/tokens");
    CU_ASSERT_EQUAL(s.allow_unauthenticated, 1);
    CU_ASSERT_DOUBLE_EQUAL(s.rate_limit, 2.5, 1e-9);
    CU_ASSERT_EQUAL(s.rate_burst, 7);
    CU_ASSERT_EQUAL(s.daemonize, 1); /* the later of the two wins */
    CU_ASSERT_EQUAL(s.foreground, 0);
    CU_ASSERT_STRING_EQUAL(s.pidfile, "/tmp/binmcpd-test.pid");
    CU_ASSERT_STRING_EQUAL(s.user, "nobody");
    CU_ASSERT_EQUAL(s.trading.confirmation, OC_TOKEN);
    CU_ASSERT_EQUAL(s.trading.confirm_always, 1);
    CU_ASSERT_EQUAL(s.trading.confirmation_timeout_s, 30);
    CU_ASSERT_DOUBLE_EQUAL(s.trading.max_order_notional, 250.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.trading.max_daily_notional, 1000, 1e-9);
    CU_ASSERT_STRING_EQUAL(s.trading.allowed_symbols, "BTC*,ETHUSDT");
    CU_ASSERT_STRING_EQUAL(s.trading.denied_symbols, "BTCUP?");
    CU_ASSERT_EQUAL(s.trading.max_open_orders, 4);
    CU_ASSERT_STRING_EQUAL(s.trading.journal, "/tmp/binmcpd-test-journal.db");
    CU_ASSERT_STRING_EQUAL(s.toolsets, "market,account");
    CU_ASSERT_EQUAL(s.max_result_bytes, 50000);
    CU_ASSERT_EQUAL(s.feed, 0);
    CU_ASSERT_STRING_EQUAL(s.stream_url, "ws://127.0.0.1:3");
    CU_ASSERT_STRING_EQUAL(settings_stream_url(&s), "ws://127.0.0.1:3");
    CU_ASSERT_STRING_EQUAL(settings_ws_api_url(&s),
                           "wss://ws.example/ws-api/v3");
    CU_ASSERT_EQUAL(s.feed_idle_s, 60);
    CU_ASSERT_EQUAL(s.max_tracked_symbols, 8);
    CU_ASSERT_DOUBLE_EQUAL(s.notify_interval, 0.25, 1e-9);
    CU_ASSERT_TRUE(s.creds.set);
    CU_ASSERT_STRING_EQUAL(s.creds.key, TEST_KEY_A);
    CU_ASSERT_EQUAL(s.creds.env, BNC_ENV_TESTNET); /* from testnet = true */
    CU_ASSERT_TRUE(contains(s.creds_from, creds));
    settings_wipe(&s);

    /* every option of --help that is a key is in the file above */
    char *help = NULL;
    size_t hlen = 0;
    FILE *f = open_memstream(&help, &hlen);
    CU_ASSERT_FATAL(f != NULL);
    settings_usage(f);
    fclose(f);
    int options = 0;
    for (const char *p = help; (p = strstr(p, "  --")) != NULL;) {
        char name[64], key[80];
        size_t n = strcspn(p + 4, " \n");
        p += 4;
        if (n == 0 || n >= sizeof(name))
            continue;
        memcpy(name, p, n);
        name[n] = '\0';
        if (strcmp(name, "config") == 0 || strcmp(name, "check-config") == 0)
            continue;
        options++;
        snprintf(key, sizeof(key), "\n%s = ", name);
        for (char *c = key; *c != '\0'; c++)
            if (*c == '-')
                *c = '_';
        if (!contains(text, key))
            fprintf(stderr, "\n  key of --%s not tested\n", name);
        CU_ASSERT_TRUE(contains(text, key));
    }
    CU_ASSERT_EQUAL(options, 40 + 5 + 6); /* + admission, feed keys */
    CU_ASSERT_TRUE(contains(help, "--help"));
    CU_ASSERT_TRUE(contains(help, "--version"));
    CU_ASSERT_TRUE(contains(help, "--check-config"));
    CU_ASSERT_TRUE(contains(help, SETTINGS_DEFAULT_CONFIG));
    free(help);
}

static void
test_defaults(void)
{
    struct settings s;
    settings_defaults(&s);
    CU_ASSERT_EQUAL(s.mode, MODE_STDIO);
    CU_ASSERT_STRING_EQUAL(s.bind, "127.0.0.1");
    CU_ASSERT_EQUAL(s.port, 8000);
    CU_ASSERT_EQUAL(s.max_connections, 50);
    CU_ASSERT_EQUAL(s.rate_burst, 20);
    CU_ASSERT_DOUBLE_EQUAL(s.rate_limit, 0.0, 1e-12);
    CU_ASSERT_STRING_EQUAL(s.config_path, SETTINGS_DEFAULT_CONFIG);
    CU_ASSERT_STRING_EQUAL(s.pidfile, BINMCPD_RUNSTATEDIR "/binmcpd.pid");
    CU_ASSERT_FALSE(s.daemonize);
    CU_ASSERT_FALSE(s.creds.set);
}

static void
test_syntax(void)
{
    char conf[PATH_MAX], err[512];
    struct settings s;

    write_file(conf, "syntax.conf", 0644,
               "# a comment\n"
               "\n"
               "   \t\n"
               "   # an indented comment\n"
               "  port\t=   9001   \n"
               "workers=2\n"
               "bind = \"::1\"   # quoted, then a comment\n"
               "base_url = http://127.0.0.1:7/#frag  # '#' inside stays\n"
               "pidfile = \"/tmp/with # hash.pid\"\n"
               "user = \"\"\n"
               "allow_origin = \"https://x.example\"\r\n"
               "log_level = warning # comment after a value\n"
               "keepalive = 7");
    CU_ASSERT_EQUAL_FATAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(s.port, 9001);
    CU_ASSERT_EQUAL(s.workers, 2);
    CU_ASSERT_STRING_EQUAL(s.bind, "::1");
    CU_ASSERT_STRING_EQUAL(s.bnc.mainnet_url, "http://127.0.0.1:7/#frag");
    CU_ASSERT_STRING_EQUAL(s.pidfile, "/tmp/with # hash.pid");
    CU_ASSERT_STRING_EQUAL(s.user, "");
    CU_ASSERT_STRING_EQUAL(s.origins[0], "https://x.example");
    CU_ASSERT_EQUAL(s.log_level, LOG_LVL_WARNING);
    CU_ASSERT_EQUAL(s.keepalive_s, 7); /* the last line has no newline */
    settings_wipe(&s);

    /* every boolean spelling */
    const char *yes[] = {"yes", "true", "on", "1"};
    const char *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        char line[64];
        write_file(conf, "bool.conf", 0644,
                   fmt(line, sizeof(line), "read_only = %s\n", yes[i]));
        CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
        CU_ASSERT_EQUAL(s.read_only, 1);
        write_file(conf, "bool.conf", 0644,
                   fmt(line, sizeof(line), "read_only = %s\n", no[i]));
        CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
        CU_ASSERT_EQUAL(s.read_only, 0);
    }
}

static void
test_errors_name_the_line(void)
{
    char conf[PATH_MAX], err[512], want[PATH_MAX + 64];
    struct settings s;

    write_file(conf, "typo.conf", 0644,
               "# 1\n\nport = 8001\n\n# 5\n\n"
               "max_conections = 100\n");
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(
        err,
        fmt(want, sizeof(want), "%s:7: unknown key 'max_conections'", conf));

    write_file(conf, "range.conf", 0644,
               "port = 8001\n\n\n\n\n\nmax_connections = 0\n");
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(
        err, fmt(want, sizeof(want),
                 "%s:7: max_connections must be a whole number from 1 to "
                 "100000",
                 conf));

    /* one bad value of each kind, on line 2 */
    const char *bad[] = {
        "port = 65536",        "port = 80x",         "workers =",
        "read_only = maybe",   "read_only =",        "mode = carrier-pigeon",
        "log_level = loud",    "base_url = ftp://x", "bind = localhost",
        "rate_limit = -1",     "rate_limit = 1e3",   "rate_limit = nan",
        "rate_limit = 1.2.3",  "rate_burst = 0",     "max_body = 100",
        "recv_window = 60001", "timeout_ms = 99",    "testnet = sometimes",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        CU_ASSERT_EQUAL(load_line(fmt(text, sizeof(text), "# x\n%s\n", bad[i]),
                                  err, sizeof(err)),
                        -1);
        if (!contains(err, ".conf:2: "))
            fprintf(stderr, "\n  '%s': %s\n", bad[i], err);
        CU_ASSERT_TRUE(contains(err, "one.conf:2: "));
    }
    CU_ASSERT_EQUAL(load_line("mode = carrier-pigeon\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "mode must be stdio or sse"));
    CU_ASSERT_TRUE(contains(err, "carrier-pigeon"));

    /* syntax */
    CU_ASSERT_EQUAL(load_line("port 8000\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":1: expected 'key = value'"));
    CU_ASSERT_EQUAL(load_line("= 8000\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":1: missing key"));
    CU_ASSERT_EQUAL(load_line("Port = 8000\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":1: invalid key 'Port'"));
    CU_ASSERT_EQUAL(load_line("bind = \"::1\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":1: the value's closing '\"' is missing"));
    CU_ASSERT_EQUAL(load_line("bind = \"::1\" x\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":1: only a comment may follow"));
    CU_ASSERT_EQUAL(load_line("max-connections = 5\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "did you mean 'max_connections'?"));
    CU_ASSERT_EQUAL(load_line("config = /etc/x\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":1: 'config' is a command-line option"));
    CU_ASSERT_EQUAL(load_line("check_config = yes\n", err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(load_line("help = yes\n", err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(load_line("api_secret = x\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "belongs in the credentials file"));
    CU_ASSERT_EQUAL(load_line("tls_cert = /a\n", err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "tls_cert and tls_key go together"));

    /* a NUL byte */
    int fd = open(conf, O_WRONLY | O_TRUNC | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, "port = 1\nport\0 = 2\n", 20) == 20);
    close(fd);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, ":2: line contains a NUL byte"));
}

static void
test_long_line(void)
{
    char conf[PATH_MAX], err[512];
    struct settings s;
    char *text = malloc(3 * SETTINGS_LINE_MAX);
    CU_ASSERT_FATAL(text != NULL);

    /* exactly SETTINGS_LINE_MAX characters: fine */
    int n = snprintf(text, SETTINGS_LINE_MAX + 1, "port = 9000 #");
    memset(text + n, 'x', (size_t)(SETTINGS_LINE_MAX - n));
    strcpy(text + SETTINGS_LINE_MAX, "\nworkers = 2\n");
    write_file(conf, "long.conf", 0644, text);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(s.port, 9000);

    /* one more, on line 2: refused, and named */
    n = snprintf(text, 64, "workers = 2\nport = 9000 #");
    memset(text + n, 'x', (size_t)(SETTINGS_LINE_MAX + 1 - (n - 12)));
    strcpy(text + 12 + SETTINGS_LINE_MAX + 1, "\n");
    write_file(conf, "long.conf", 0644, text);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "long.conf:2: line longer than 4096"));
    free(text);
}

static void
test_missing_config(void)
{
    char err[512], path[PATH_MAX];
    struct settings s;
    char *argv[] = {S("binmcpd"), NULL};

    /* an explicit file must exist */
    snprintf(path, sizeof(path), "%s/no-such.conf", tmpdir);
    CU_ASSERT_EQUAL(load_with(&s, path, NULL, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "no-such.conf"));
    CU_ASSERT_TRUE(contains(err, "No such file"));

    /* the default one may be missing */
    if (access(SETTINGS_DEFAULT_CONFIG, F_OK) == 0) {
        fprintf(stderr, "\n  (%s exists; skipped)\n", SETTINGS_DEFAULT_CONFIG);
        return;
    }
    CU_ASSERT_EQUAL(settings_load(&s, ARGC(argv), argv, err, sizeof(err)), 0);
    CU_ASSERT_FALSE(s.config_loaded);
    CU_ASSERT_FALSE(s.config_given);
    CU_ASSERT_STRING_EQUAL(s.config_path, SETTINGS_DEFAULT_CONFIG);
}

/* etc/binmcpd.conf, the sample: loads as it is (all comments); with every
 * `#key = value` uncommented it still loads and gives the defaults; and it
 * shows every key of --help. */
static void
test_sample_config(void)
{
    const char *srcdir = getenv("TESTS_SRCDIR");
    char sample[PATH_MAX], conf[PATH_MAX], err[512];
    struct settings s, def;
    FILE *in;
    char *text = NULL, *raw = NULL, *help = NULL, line[512];
    size_t tlen = 0, rlen = 0, hlen = 0;

    snprintf(sample, sizeof(sample), "%s/../etc/binmcpd.conf",
             srcdir != NULL ? srcdir : "./tests");
    CU_ASSERT_EQUAL_FATAL(load_with(&s, sample, NULL, err, sizeof(err)), 0);
    settings_defaults(&def);
    CU_ASSERT_EQUAL(s.port, def.port);
    CU_ASSERT_EQUAL(s.norigins, 0);

    in = fopen(sample, "r");
    CU_ASSERT_FATAL(in != NULL);
    FILE *out = open_memstream(&text, &tlen);
    FILE *copy = open_memstream(&raw, &rlen);
    CU_ASSERT_FATAL(out != NULL && copy != NULL);
    while (fgets(line, sizeof(line), in) != NULL) {
        fputs(line, copy);
        char *eq = strstr(line, " = ");
        /* "#key = value": a key at its default; "# text": a comment */
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && eq != NULL &&
            eq[3] != '\n')
            fputs(line + 1, out);
        else
            fputs(line, out);
    }
    fclose(in);
    fclose(out);
    fclose(copy);
    write_file(conf, "sample.conf", 0644, text);
    CU_ASSERT_EQUAL_FATAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(s.mode, def.mode);
    CU_ASSERT_EQUAL(s.read_only, def.read_only);
    CU_ASSERT_EQUAL(s.bnc.default_env, def.bnc.default_env);
    CU_ASSERT_STRING_EQUAL(s.bnc.mainnet_url, def.bnc.mainnet_url);
    CU_ASSERT_STRING_EQUAL(s.bnc.testnet_url, def.bnc.testnet_url);
    CU_ASSERT_EQUAL(s.bnc.timeout_ms, def.bnc.timeout_ms);
    CU_ASSERT_EQUAL(s.bnc.recv_window, def.bnc.recv_window);
    CU_ASSERT_EQUAL(s.log_level, def.log_level);
    CU_ASSERT_STRING_EQUAL(s.bind, def.bind);
    CU_ASSERT_EQUAL(s.port, def.port);
    CU_ASSERT_EQUAL(s.max_connections, def.max_connections);
    CU_ASSERT_EQUAL(s.keepalive_s, def.keepalive_s);
    CU_ASSERT_EQUAL(s.session_idle_s, def.session_idle_s);
    CU_ASSERT_EQUAL(s.drain_s, def.drain_s);
    CU_ASSERT_EQUAL(s.max_body, def.max_body);
    CU_ASSERT_EQUAL(s.allow_unauthenticated, def.allow_unauthenticated);
    CU_ASSERT_DOUBLE_EQUAL(s.rate_limit, def.rate_limit, 1e-12);
    CU_ASSERT_EQUAL(s.rate_burst, def.rate_burst);
    CU_ASSERT_EQUAL(s.daemonize, def.daemonize);
    CU_ASSERT_EQUAL(s.foreground, def.foreground);
    CU_ASSERT_EQUAL(s.norigins, 1); /* the example */

    /* every key of --help is shown in the sample */
    out = open_memstream(&help, &hlen);
    CU_ASSERT_FATAL(out != NULL);
    settings_usage(out);
    fclose(out);
    for (const char *p = help; (p = strstr(p, "  --")) != NULL;) {
        char key[80];
        size_t n = strcspn(p + 4, " \n");
        p += 4;
        if (n == 0 || n + 5 >= sizeof(key) || strncmp(p, "config", n) == 0 ||
            strncmp(p, "check-config", n) == 0)
            continue;
        snprintf(key, sizeof(key), "\n#%.*s =", (int)n, p);
        for (char *c = key; *c != '\0'; c++)
            if (*c == '-')
                *c = '_';
        if (!contains(raw, key))
            fprintf(stderr, "\n  %s missing from the sample\n", key + 1);
        CU_ASSERT_TRUE(contains(raw, key));
    }
    free(help);
    free(raw);
    free(text);
}

/* ------------------------------------------------------------------ */
/* Suite "layers": file < environment < command line                   */

static void
test_args_beat_file(void)
{
    char conf[PATH_MAX], err[512];
    struct settings s;
    char *extra[] = {S("--port"),         S("9100"),
                     S("--allow-origin"), S("https://cli.example"),
                     S("--foreground"),   S("--log-level"),
                     S("error"),          NULL};

    write_file(conf, "layers.conf", 0644,
               "port = 9000\nworkers = 2\ndaemon = yes\n"
               "allow_origin = https://a.example\n"
               "allow_origin = https://b.example\nlog_level = debug\n");
    CU_ASSERT_EQUAL_FATAL(load_with(&s, conf, extra, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(s.port, 9100);
    CU_ASSERT_EQUAL(s.workers, 2); /* untouched by the command line */
    CU_ASSERT_EQUAL(s.foreground, 1);
    CU_ASSERT_EQUAL(s.daemonize, 0); /* --foreground beats daemon = yes */
    CU_ASSERT_EQUAL(s.log_level, LOG_LVL_ERROR);
    /* the command line's origins replace the file's */
    CU_ASSERT_EQUAL(s.norigins, 1);
    CU_ASSERT_STRING_EQUAL(s.origins[0], "https://cli.example");
    settings_wipe(&s);

    /* a bad command-line value is named as an option */
    char *bad[] = {S("--port"), S("x"), NULL};
    CU_ASSERT_EQUAL(load_with(&s, conf, bad, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err,
                           "--port must be a whole number from 0 to 65535");
    char *novalue[] = {S("--port"), NULL};
    CU_ASSERT_EQUAL(load_with(&s, conf, novalue, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "'--port' needs a value"));
    char *flagvalue[] = {S("--read-only=yes"), NULL};
    CU_ASSERT_EQUAL(load_with(&s, conf, flagvalue, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "'--read-only' takes no value"));
    /* unknown options are found before the file is read */
    char *unknown[] = {S("binmcpd"), S("--config"), S("/nonexistent"),
                       S("--frobnicate"), NULL};
    CU_ASSERT_EQUAL(settings_load(&s, 4, unknown, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "--frobnicate"));
}

static void
test_env_beats_file(void)
{
    char conf[PATH_MAX], err[512];
    struct settings s;
    char *extra[] = {S("--recv-window"), S("7000"), NULL};

    write_file(conf, "env.conf", 0644,
               "timeout_ms = 2000\nrecv_window = 3000\nread_only = yes\n"
               "testnet = yes\nlog_level = debug\n");
    setenv("BINANCE_TIMEOUT_MS", "4000", 1);
    setenv("BINANCE_RECV_WINDOW", "5000", 1);
    setenv("BINMCPD_READ_ONLY", "0", 1);
    setenv("BINANCE_TESTNET", "no", 1);
    setenv("BINMCPD_LOG_LEVEL", "", 1); /* empty: as if unset */
    CU_ASSERT_EQUAL(load_with(&s, conf, extra, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(s.bnc.timeout_ms, 4000);  /* env over file */
    CU_ASSERT_EQUAL(s.bnc.recv_window, 7000); /* args over env */
    CU_ASSERT_EQUAL(s.read_only, 0);
    CU_ASSERT_EQUAL(s.bnc.default_env, BNC_ENV_MAINNET);
    CU_ASSERT_EQUAL(s.log_level, LOG_LVL_DEBUG);

    /* the stream URLs: the environment's default, ws:// accepted, an
     * http:// refused */
    CU_ASSERT_STRING_EQUAL(settings_stream_url(&s), FEED_STREAM_URL_MAINNET);
    s.bnc.default_env = BNC_ENV_TESTNET;
    CU_ASSERT_STRING_EQUAL(settings_stream_url(&s), FEED_STREAM_URL_TESTNET);
    CU_ASSERT_STRING_EQUAL(settings_ws_api_url(&s), FEED_WS_API_URL_TESTNET);
    s.bnc.default_env = BNC_ENV_DEMO;
    CU_ASSERT_STRING_EQUAL(settings_stream_url(&s), FEED_STREAM_URL_DEMO);
    setenv("BINANCE_STREAM_URL", "ws://127.0.0.1:9", 1);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(settings_stream_url(&s), "ws://127.0.0.1:9");
    setenv("BINANCE_STREAM_URL", "http://127.0.0.1:9", 1);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "BINANCE_STREAM_URL must be"));
    unsetenv("BINANCE_STREAM_URL");

    /* a bad environment value is named as the variable */
    setenv("BINANCE_TIMEOUT_MS", "soon", 1);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "BINANCE_TIMEOUT_MS must be"));
    clear_env();
}

/* ------------------------------------------------------------------ */
/* Suite "credentials": the credentials file                            */

static void
test_creds_file_ok(void)
{
    char path[PATH_MAX], conf[PATH_MAX], err[512], text[PATH_MAX + 64];
    struct creds c;
    int fixed = -1;

    memset(&c, 0, sizeof(c));
    write_file(path, "ok.creds", 0600,
               "# the daemon's key\n"
               "api_key = \"" TEST_KEY_A "\"\n"
               "api_secret = " TEST_SECRET_A "   # comment\n");
    CU_ASSERT_EQUAL(settings_read_credentials(path, BNC_ENV_MAINNET, &c, &fixed,
                                              err, sizeof(err)),
                    0);
    CU_ASSERT_TRUE(c.set);
    CU_ASSERT_STRING_EQUAL(c.key, TEST_KEY_A);
    CU_ASSERT_STRING_EQUAL(c.secret, TEST_SECRET_A);
    CU_ASSERT_EQUAL(c.env, BNC_ENV_MAINNET);
    CU_ASSERT_EQUAL(fixed, 0);

    /* 0400 is fine too; environment = testnet is kept */
    write_file(path, "ok.creds", 0400,
               "api_key = " TEST_KEY_B "\napi_secret = " TEST_SECRET_B
               "\nenvironment = testnet\n");
    CU_ASSERT_EQUAL(settings_read_credentials(path, BNC_ENV_MAINNET, &c, &fixed,
                                              err, sizeof(err)),
                    0);
    CU_ASSERT_STRING_EQUAL(c.key, TEST_KEY_B);
    CU_ASSERT_EQUAL(c.env, BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(fixed, 1);
    creds_wipe(&c);

    /* through settings_load: the file's environment beats --testnet */
    struct settings s;
    char *extra[] = {S("--testnet"), NULL};
    write_file(path, "env.creds", 0600,
               "api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A
               "\nenvironment = mainnet\n");
    write_file(conf, "creds.conf", 0644,
               fmt(text, sizeof(text), "credentials_file = %s\n", path));
    CU_ASSERT_EQUAL(load_with(&s, conf, extra, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(s.bnc.default_env, BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(s.creds.env, BNC_ENV_MAINNET);
    settings_wipe(&s);

    /* the environment's credentials win over the file's */
    setenv("BINANCE_API_KEY", TEST_KEY_B, 1);
    setenv("BINANCE_API_SECRET", TEST_SECRET_B, 1);
    CU_ASSERT_EQUAL(load_with(&s, conf, NULL, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(s.creds.key, TEST_KEY_B);
    CU_ASSERT_STRING_EQUAL(s.creds_from, "environment");
    settings_wipe(&s);
    clear_env();

    /* --credentials-file on the command line */
    char *cli[] = {S("--credentials-file"), path, NULL};
    write_file(conf, "empty.conf", 0644, "");
    CU_ASSERT_EQUAL(load_with(&s, conf, cli, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(s.creds.key, TEST_KEY_A);
    settings_wipe(&s);
}

static void
test_creds_file_mode(void)
{
    char path[PATH_MAX], err[512], want[PATH_MAX * 2 + 128];
    struct creds c;
    const mode_t modes[] = {0640, 0604, 0620, 0610, 0644};

    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        write_file(path, "open.creds", modes[i],
                   "api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A
                   "\n");
        CU_ASSERT_EQUAL(settings_read_credentials(path, BNC_ENV_MAINNET, &c,
                                                  NULL, err, sizeof(err)),
                        -1);
        CU_ASSERT_FALSE(c.set);
        CU_ASSERT_TRUE(contains(
            err, fmt(want, sizeof(want), "(mode %04o)", (unsigned)modes[i])));
        CU_ASSERT_TRUE(
            contains(err, fmt(want, sizeof(want), "run: chmod 600 %s", path)));
        CU_ASSERT_FALSE(contains(err, TEST_SECRET_A));
    }

    /* the same through settings_load */
    struct settings s;
    char *extra[] = {S("--credentials-file"), path, NULL};
    write_file(want, "empty.conf", 0644, "");
    CU_ASSERT_EQUAL(load_with(&s, want, extra, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "chmod 600"));
    CU_ASSERT_FALSE(s.creds.set);
}

static void
test_creds_file_bad(void)
{
    char path[PATH_MAX], err[512];
    struct creds c;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"api_key = " TEST_KEY_A "\n", "api_secret is missing"},
        {"api_secret = " TEST_SECRET_A "\n", "api_key is missing"},
        {"", "api_key is missing"},
        {"api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A
         "\nenvironment = prod\n",
         ":3: environment must be mainnet or testnet"},
        {"api_key = " TEST_KEY_A "\napi_key = " TEST_KEY_B "\n",
         ":2: api_key is given twice"},
        {"api_key = " TEST_KEY_A "\n" TEST_SECRET_A "\n",
         ":2: expected 'key = value'"},
        {TEST_SECRET_A " = x\n", ":1: a key is made of"},
        {"api_key = " TEST_KEY_A "\napi_secret = \"two words\"\n",
         "API secret contains a character that is not printable"},
    };

    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, "bad.creds", 0600, bad[i].text);
        CU_ASSERT_EQUAL(settings_read_credentials(path, BNC_ENV_MAINNET, &c,
                                                  NULL, err, sizeof(err)),
                        -1);
        if (!contains(err, bad[i].want))
            fprintf(stderr, "\n  case %zu: %s\n", i, err);
        CU_ASSERT_TRUE(contains(err, bad[i].want));
        CU_ASSERT_TRUE(contains(err, path));
        CU_ASSERT_FALSE(contains(err, TEST_SECRET_A)); /* never echoed */
        CU_ASSERT_FALSE(c.set);
    }

    snprintf(path, sizeof(path), "%s/none.creds", tmpdir);
    CU_ASSERT_EQUAL(settings_read_credentials(path, BNC_ENV_MAINNET, &c, NULL,
                                              err, sizeof(err)),
                    -1);
    CU_ASSERT_TRUE(contains(err, "none.creds"));
}

/* ------------------------------------------------------------------ */
/* Suite "reload": SIGHUP                                                */

static void
test_reload(void)
{
    char conf[PATH_MAX], creds[PATH_MAX], text[PATH_MAX + 128], err[512],
        what[256];
    struct settings cur, next;
    char *argv[] = {S("binmcpd"),   S("--config"), conf,
                    S("--workers"), S("2"),        NULL};

    write_file(creds, "reload.creds", 0600,
               "api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A "\n");
    write_file(conf, "reload.conf", 0644,
               fmt(text, sizeof(text),
                   "mode = sse\nport = 9000\ncredentials_file = %s\n", creds));
    CU_ASSERT_EQUAL_FATAL(
        settings_load(&cur, ARGC(argv), argv, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(cur.creds.key, TEST_KEY_A);

    /* nothing changed */
    CU_ASSERT_EQUAL(settings_reload(&cur, &next, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(settings_needs_restart(&cur, &next, what, sizeof(what)), 0);
    CU_ASSERT_STRING_EQUAL(what, "");
    settings_wipe(&next);

    /* new credentials, a new port and log level; the command line stays */
    write_file(creds, "reload.creds", 0600,
               "api_key = " TEST_KEY_B "\napi_secret = " TEST_SECRET_B
               "\nenvironment = testnet\n");
    write_file(conf, "reload.conf", 0644,
               fmt(text, sizeof(text),
                   "mode = sse\nport = 9001\nworkers = 5\nuser = nobody\n"
                   "credentials_file = %s\nlog_level = debug\n",
                   creds));
    CU_ASSERT_EQUAL(settings_reload(&cur, &next, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(next.creds.key, TEST_KEY_B);
    CU_ASSERT_STRING_EQUAL(next.creds.secret, TEST_SECRET_B);
    CU_ASSERT_EQUAL(next.creds.env, BNC_ENV_TESTNET);
    CU_ASSERT_EQUAL(next.log_level, LOG_LVL_DEBUG);
    CU_ASSERT_EQUAL(next.workers, 2); /* --workers 2 still wins */
    CU_ASSERT_EQUAL(settings_needs_restart(&cur, &next, what, sizeof(what)), 2);
    CU_ASSERT_STRING_EQUAL(what, "port, user");
    settings_wipe(&next);

    /* a broken file: an error, and next holds no secret */
    write_file(creds, "reload.creds", 0644,
               "api_key = " TEST_KEY_B "\napi_secret = " TEST_SECRET_B "\n");
    CU_ASSERT_EQUAL(settings_reload(&cur, &next, err, sizeof(err)), -1);
    CU_ASSERT_TRUE(contains(err, "chmod 600"));
    CU_ASSERT_FALSE(next.creds.set);
    CU_ASSERT_EQUAL(next.creds.secret[0], '\0');
    settings_wipe(&next);
    /* current is untouched */
    CU_ASSERT_STRING_EQUAL(cur.creds.key, TEST_KEY_A);

    /* every restart-only setting is named */
    settings_wipe(&cur);
    settings_defaults(&next);
    settings_defaults(&cur);
    snprintf(next.bind, sizeof(next.bind), "::1");
    next.port++;
    next.workers++;
    next.max_connections++;
    next.mode = MODE_SSE;
    snprintf(next.user, sizeof(next.user), "nobody");
    next.daemonize = 1;
    snprintf(next.pidfile, sizeof(next.pidfile), "/tmp/x.pid");
    next.rate_limit = 3; /* not restart-only */
    next.read_only = 1;
    next.feed = 0;
    snprintf(next.stream_url, sizeof(next.stream_url), "ws://127.0.0.1:4");
    next.max_tracked_symbols++;
    CU_ASSERT_EQUAL(settings_needs_restart(&cur, &next, what, sizeof(what)),
                    11);
    CU_ASSERT_STRING_EQUAL(what, "bind, port, workers, max_connections, "
                                 "mode, user, daemon, pidfile, feed, "
                                 "stream_url, max_tracked_symbols");
    settings_wipe(&cur);
}

/* Relative paths are made absolute at the first load, so a reload after a
 * daemon's chdir("/") reads the same files. */
static void
test_relative_paths(void)
{
    char conf[PATH_MAX], creds[PATH_MAX], old[PATH_MAX], want[PATH_MAX],
        err[512];
    struct settings cur, next;
    char *argv[] = {S("binmcpd"),   S("--config"),  S("./rel.conf"),
                    S("--pidfile"), S("run/x.pid"), NULL};

    write_file(creds, "rel.creds", 0600,
               "api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A "\n");
    write_file(conf, "rel.conf", 0644,
               "credentials_file = rel.creds\ntls_cert = \"\"\n");
    CU_ASSERT_FATAL(getcwd(old, sizeof(old)) != NULL);
    CU_ASSERT_FATAL(chdir(tmpdir) == 0);
    CU_ASSERT_EQUAL(settings_load(&cur, ARGC(argv), argv, err, sizeof(err)), 0);
    CU_ASSERT_FATAL(chdir("/") == 0);
    CU_ASSERT_STRING_EQUAL(cur.config_path, conf);
    CU_ASSERT_STRING_EQUAL(cur.credentials_file, creds);
    CU_ASSERT_STRING_EQUAL(cur.pidfile,
                           fmt(want, sizeof(want), "%s/run/x.pid", tmpdir));
    CU_ASSERT_EQUAL(settings_reload(&cur, &next, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(next.creds.key, TEST_KEY_A);
    CU_ASSERT_STRING_EQUAL(next.config_path, conf);
    settings_wipe(&next);
    settings_wipe(&cur);
    CU_ASSERT(chdir(old) == 0);
}

/* ------------------------------------------------------------------ */
/* Suite "binary": binmcpd --check-config                               */

struct run {
    int status;
    char out[8192];
    char err[8192];
};

static void
slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL)
        fclose(f);
}

/* Runs $BINMCPD args... with stdout and stderr into files; waits at most
 * 10 s. Returns 0, or -1 when it did not start or had to be killed. */
static int
run_binmcpd(char *const *args, struct run *r)
{
    const char *prog = getenv("BINMCPD");
    char outp[PATH_MAX], errp[PATH_MAX];
    char *argv[32];
    int n = 0;
    pid_t pid;

    if (prog == NULL)
        prog = "./binmcpd";
    argv[n++] = (char *)prog;
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(outp, sizeof(outp), "%s/run.out", tmpdir);
    snprintf(errp, sizeof(errp), "%s/run.err", tmpdir);
    memset(r, 0, sizeof(*r));
    r->status = -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || nul < 0)
            _exit(126);
        dup2(nul, STDIN_FILENO);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        execv(prog, argv);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (waitpid(pid, &r->status, WNOHANG) == pid)
            break;
        nanosleep(&ts, NULL);
    }
    if (r->status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    slurp(outp, r->out, sizeof(r->out));
    slurp(errp, r->err, sizeof(r->err));
    return 0;
}

static int
exited(const struct run *r, int code)
{
    return WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

static int
leaks(const struct run *r)
{
    return contains(r->out, TEST_SECRET_A) || contains(r->err, TEST_SECRET_A) ||
           contains(r->out, TEST_KEY_A) || contains(r->err, TEST_KEY_A);
}

static void
test_check_config_binary(void)
{
    char conf[PATH_MAX], creds[PATH_MAX], tokens[PATH_MAX],
        text[PATH_MAX + 128];
    struct run r;
    char *args[] = {S("--config"), conf, S("--check-config"), NULL};

    write_file(creds, "bin.creds", 0600,
               "api_key = " TEST_KEY_A "\napi_secret = " TEST_SECRET_A
               "\nenvironment = testnet\n");
    write_file(conf, "bin.conf", 0644,
               fmt(text, sizeof(text),
                   "mode = sse\nport = 9005\ncredentials_file = %s\n", creds));
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 0));
    CU_ASSERT_TRUE(contains(r.out, "configuration OK"));
    CU_ASSERT_TRUE(contains(r.out, "vmPU...Eh8A"));
    CU_ASSERT_TRUE(contains(r.out, "testnet"));
    CU_ASSERT_TRUE(contains(r.out, "sse"));
    CU_ASSERT_FALSE(leaks(&r));

    /* a bad key: exit 1, file:line on stderr, nothing on stdout */
    write_file(conf, "bin.conf", 0644, "port = 9005\nworkers = many\n");
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "bin.conf:2: workers must be"));
    CU_ASSERT_FALSE(contains(r.out, "configuration OK"));

    /* an open credentials file: exit 1 with the chmod to run */
    chmod(creds, 0644);
    write_file(conf, "bin.conf", 0644,
               fmt(text, sizeof(text), "credentials_file = %s\n", creds));
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "chmod 600"));
    CU_ASSERT_FALSE(leaks(&r));

    /* a missing TLS key file is a problem --check-config finds */
    chmod(creds, 0600);
    write_file(conf, "bin.conf", 0644,
               fmt(text, sizeof(text),
                   "tls_cert = %s\ntls_key = %s/absent.pem\n", creds, tmpdir));
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "absent.pem"));

    /* so is an auth tokens file that holds no token */
    write_file(tokens, "tokens", 0600, "# none yet\n");
    write_file(conf, "bin.conf", 0644,
               fmt(text, sizeof(text), "auth_tokens_file = %s\n", tokens));
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "holds no token"));

    /* and a user that does not exist, or a pid file without a directory */
    write_file(conf, "bin.conf", 0644, "user = no-such-user-binmcpd\n");
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "no-such-user-binmcpd"));
    write_file(conf, "bin.conf", 0644,
               fmt(text, sizeof(text), "daemon = yes\npidfile = %s/no/x.pid\n",
                   tmpdir));
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "/no does not exist"));

    /* a missing explicit --config: exit 1 */
    snprintf(conf, sizeof(conf), "%s/absent.conf", tmpdir);
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "absent.conf"));

    /* an unknown option with --check-config: still exit 1 */
    char *bogus[] = {S("--bogus"), S("--check-config"), NULL};
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(bogus, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 1));
    CU_ASSERT_TRUE(contains(r.err, "--bogus"));

    /* without --check-config a bad file stops the daemon with 2 */
    write_file(conf, "bin.conf", 0644, "mode = pigeon\n");
    char *run_args[] = {S("--config"), conf, NULL};
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(run_args, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 2));
    CU_ASSERT_TRUE(contains(r.err, "bin.conf:1: mode must be stdio or sse"));

    /* --help works even with a broken file, and lists the new options */
    char *help[] = {S("--config"), conf, S("--help"), NULL};
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(help, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 0));
    CU_ASSERT_TRUE(contains(r.out, "--credentials-file"));
    CU_ASSERT_TRUE(contains(r.out, "--check-config"));
    char *version[] = {S("--version"), NULL};
    CU_ASSERT_EQUAL_FATAL(run_binmcpd(version, &r), 0);
    CU_ASSERT_TRUE(exited(&r, 0));
    CU_ASSERT_TRUE(contains(r.out, "binmcpd " PACKAGE_VERSION));
}

static CU_TestInfo file_tests[] = {
    {"built-in defaults", test_defaults},
    {"every key from a file", test_every_key},
    {"comments, quotes, whitespace, booleans", test_syntax},
    {"errors name file:line", test_errors_name_the_line},
    {"a line over the cap", test_long_line},
    {"missing --config file vs missing default", test_missing_config},
    {"the sample etc/binmcpd.conf", test_sample_config},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo layer_tests[] = {
    {"command line beats the file", test_args_beat_file},
    {"environment beats the file", test_env_beats_file},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo creds_tests[] = {
    {"credentials file accepted", test_creds_file_ok},
    {"credentials file open to group/others refused", test_creds_file_mode},
    {"credentials file errors", test_creds_file_bad},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo reload_tests[] = {
    {"reload picks up files, names restart-only changes", test_reload},
    {"relative paths survive a chdir", test_relative_paths},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo binary_tests[] = {
    {"binmcpd --check-config", test_check_config_binary},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"file", suite_init, suite_clean, NULL, NULL, file_tests},
    {"layers", suite_init, suite_clean, NULL, NULL, layer_tests},
    {"credentials", suite_init, suite_clean, NULL, NULL, creds_tests},
    {"reload", suite_init, suite_clean, NULL, NULL, reload_tests},
    {"binary", suite_init, suite_clean, NULL, NULL, binary_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
