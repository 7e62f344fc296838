/*
 * main.c - binmcpd: parse the settings, then hand over to a transport.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bnc.h"
#include "log.h"
#include "mcp.h"
#include "settings.h"
#include "stdio_transport.h"
#include "supervisor.h"
#include "symcache.h"

int
main(int argc, char **argv)
{
    struct settings s;
    char err[512], masked[32];
    int rc;

    settings_defaults(&s);
    if (settings_from_env(&s, err, sizeof(err)) < 0) {
        fprintf(stderr, "binmcpd: %s\n", err);
        settings_wipe(&s);
        return 2;
    }
    rc = settings_from_args(&s, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "binmcpd: %s\nTry 'binmcpd --help'.\n", err);
        settings_wipe(&s);
        return rc < 0 ? 2 : 0;
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
    if (s.creds.set) {
        creds_mask(s.creds.key, masked, sizeof(masked));
        log_info("credentials: key %s (%s)", masked,
                 creds_env_name(s.creds.env));
    } else {
        log_info("no credentials: market data only until "
                 "configure_credentials is called");
    }
    struct mcp_options opts = {
        .read_only = s.read_only,
        .daemon_creds = &s.creds,
        .creds_lock = NULL,
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
    /* --foreground changes nothing: the daemon never detaches yet. */
    if (s.mode == MODE_SSE)
        rc = supervisor_run(&s, srv);
    else
        rc = stdio_serve(srv, STDIN_FILENO, STDOUT_FILENO) == 0 ? 0 : 1;
    mcp_server_free(srv);
    symcache_reset();
    bnc_thread_cleanup();
    bnc_shutdown();
    settings_wipe(&s);
    return rc;
}
