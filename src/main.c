/*
 * main.c - binmcpd: parse the settings, then hand over to a transport.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "bnc.h"
#include "guard.h"
#include "journal.h"
#include "log.h"
#include "mcp.h"
#include "settings.h"
#include "stdio_transport.h"
#include "stdiofeed.h"
#include "supervisor.h"
#include "symcache.h"
#include "tls.h"
#include "tools.h"
#include "tools_callcreds.h"

/* The journal a worker or the stdio server will open: an existing file
 * must open as a journal; a new one needs a directory binmcpd can create
 * it in. Returns 0, or -1 with a sentence. */
static int
check_journal(const struct settings *s, char *err, size_t errlen)
{
    char dir[SETTINGS_PATH_MAX], *slash;

    if (access(s->trading.journal, F_OK) == 0) {
        struct journal *j = journal_open(s->trading.journal, err, errlen);
        journal_close(j);
        return j != NULL ? 0 : -1;
    }
    snprintf(dir, sizeof(dir), "%s", s->trading.journal);
    while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
        *slash = '\0';
        if (access(dir, F_OK) == 0)
            break;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(err, errlen,
                 "journal %.400s: cannot be created (no write access to "
                 "%.400s); set journal = PATH",
                 s->trading.journal, dir);
        return -1;
    }
    return 0;
}

/* --check-config: the verdict of settings_load (rc, err), then what only
 * the daemon's start would find: the user and the pid file's directory,
 * an HTTP bind that needs tokens, the TLS certificate and key (both given,
 * parsed and matched), the audit journal, the auth tokens file (parsed). Prints
 * "configuration OK" and a summary without secrets on stdout and returns 0, or
 * the first problem on stderr and returns 1. */
static int
check_config(struct settings *s, int rc, char *err, size_t errlen)
{
    if (rc == 0 && settings_check_paths(s, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && s->tls_cert[0] != '\0') {
        char *cert, *key;
        if (tls_load(s->tls_cert, s->tls_key, &cert, &key, err, errlen) < 0)
            rc = -1;
        else
            tls_free_pem(cert, key);
    }
    if (rc == 0 && s->mode == MODE_SSE &&
        auth_bind_allowed(s->bind, s->auth_tokens_file[0] != '\0',
                          s->allow_unauthenticated, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && (s->tls_cert[0] != '\0') != (s->tls_key[0] != '\0')) {
        snprintf(err, errlen, "HTTPS needs both tls_cert and tls_key");
        rc = -1;
    }
    if (rc == 0 && !s->read_only && check_journal(s, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && tools_select(s->toolsets, err, errlen) < 0)
        rc = -1;
    if (rc == 0 && s->auth_tokens_file[0] != '\0') {
        struct auth_tokens *tokens =
            auth_load(s->auth_tokens_file, err, errlen);
        if (tokens == NULL)
            rc = -1;
        auth_free(tokens);
    }
    if (rc < 0) {
        fprintf(stderr, "binmcpd: %s\n", err);
        return 1;
    }
    printf("configuration OK\n");
    settings_print_summary(s, stdout);
    return 0;
}

/* --mode stdio: the feed in a thread (unless feed = off), then the one
 * session on stdin and stdout. Returns main's exit status. */
static int
serve_stdio(const struct settings *s, struct mcp_server *srv)
{
    struct stdio_options so = {
        .notify_interval_ms = (int64_t)(s->notify_interval * 1000.0 + 0.5),
    };
    struct stdiofeed *feed = NULL;
    int rc;

    if (s->feed && (feed = stdiofeed_start(s, srv)) == NULL)
        return 1;
    rc = stdio_serve(srv, STDIN_FILENO, STDOUT_FILENO, &so) == 0 ? 0 : 1;
    stdiofeed_stop(feed, srv);
    return rc;
}

int
main(int argc, char **argv)
{
    struct settings s;
    char err[1024];
    int rc;

    /* defaults, config file, environment, command line, credentials */
    rc = settings_load(&s, argc, argv, err, sizeof(err));
    if (rc <= 0 && s.check_config) {
        rc = check_config(&s, rc, err, sizeof(err));
        settings_wipe(&s);
        return rc;
    }
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "binmcpd: %s\n", err);
        settings_wipe(&s);
        return rc < 0 ? 2 : 0;
    }
    if (s.mode == MODE_STDIO && (s.daemonize || s.user[0] != '\0')) {
        fprintf(stderr, "binmcpd: --daemon and --user are for --mode sse; "
                        "a stdio server is run by its client\n");
        settings_wipe(&s);
        return 2;
    }
    log_set_level(s.log_level);
    signal(SIGPIPE, SIG_IGN);
    /* In --mode sse the supervisor takes SIGHUP (and the stop signals). */
    if (s.mode == MODE_STDIO)
        signal(SIGHUP, SIG_IGN);

    snprintf(s.bnc.user_agent, sizeof(s.bnc.user_agent), "binmcpd/%s",
             PACKAGE_VERSION);
    if (bnc_init(&s.bnc) < 0) {
        log_error("cannot initialise libcurl");
        settings_wipe(&s);
        return 1;
    }
    if (s.config_loaded)
        log_info("configuration file %s", s.config_path);
    if (s.creds.set) {
        char masked[32];
        creds_mask(s.creds.key, masked, sizeof(masked));
        log_info("credentials: key %s (%s) from the %s", masked,
                 creds_env_name(s.creds.env), s.creds_from);
    } else {
        log_info("no credentials: market data only until "
                 "configure_credentials is called");
    }
    if (tools_select(s.toolsets, err, sizeof(err)) < 0) {
        fprintf(stderr, "binmcpd: %s\n", err);
        bnc_shutdown();
        settings_wipe(&s);
        return 2;
    }
    /* The trading guard: its shared rules and token store exist before the
     * supervisor forks; each process that trades opens its own journal. */
    if (guard_init(&s.trading, err, sizeof(err)) < 0) {
        log_error("%s", err);
        bnc_shutdown();
        settings_wipe(&s);
        return 1;
    }
    if (!s.read_only)
        log_info("trading guard: confirmation %s, max_order_notional %g, "
                 "max_daily_notional %g, journal %s",
                 s.trading.confirmation == OC_OFF ? "off" : "on",
                 s.trading.max_order_notional, s.trading.max_daily_notional,
                 s.trading.journal);
    if (s.mode == MODE_STDIO && !s.read_only &&
        guard_open(&s.creds, err, sizeof(err)) < 0)
        log_error("%s; every order will be refused", err);
    /* a worker points it at its own copy (tools_set_daemon_creds) */
    struct binance_ctx bctx = {.daemon_creds = &s.creds, .creds_lock = NULL};
    struct mcp_options opts = {
        .read_only = s.read_only,
        .max_result_bytes = s.max_result_bytes,
        .provider = &mcp_binance_provider,
        .provider_ctx = &bctx,
        /* pushed updates need the feed's shared state (a process in
         * --mode sse, a thread over stdio) */
        .subscriptions = s.feed,
    };
    struct mcp_server *srv = mcp_server_new(&opts);
    if (srv == NULL) {
        log_error("cannot build the tool table");
        bnc_shutdown();
        settings_wipe(&s);
        return 1;
    }
    log_info("binmcpd %s serving MCP %s (%s%s)", PACKAGE_VERSION,
             s.mode == MODE_SSE ? "over HTTP" : "on stdio",
             bnc_base_url(s.bnc.default_env), s.read_only ? ", read-only" : "");
    if (s.mode == MODE_SSE)
        rc = supervisor_run(&s, srv);
    else
        rc = serve_stdio(&s, srv);
    mcp_server_free(srv);
    guard_close();
    symcache_reset();
    bnc_thread_cleanup();
    bnc_shutdown();
    settings_wipe(&s);
    return rc;
}
