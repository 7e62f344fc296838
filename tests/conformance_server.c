/*
 * conformance_server.c - the MCP conformance test server: binmcpd's
 * supervisor, workers and HTTP transports (legacy SSE and Streamable HTTP
 * at /mcp) serving the fixture provider of conformance_fixtures.c instead
 * of the Binance tools.
 *
 * It takes binmcpd's options (settings_load: --port, --workers, --bind,
 * --config, ...), always runs the HTTP daemon whatever --mode says, and
 * logs "listening on ..." as binmcpd does, so a test can start it with
 * --port 0 and read the port from its log. Never installed.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>

#include "bnc.h"
#include "conformance_fixtures.h"
#include "log.h"
#include "mcp.h"
#include "settings.h"
#include "supervisor.h"

int
main(int argc, char **argv)
{
    struct settings s;
    char err[1024];
    int rc;

    rc = settings_load(&s, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "conformance_server: %s\n", err);
        settings_wipe(&s);
        return rc < 0 ? 2 : 0;
    }
    s.mode = MODE_SSE;
    log_set_level(s.log_level);
    signal(SIGPIPE, SIG_IGN);
    /* The fixtures never call Binance; bnc_init keeps the worker start-up
     * the same as the daemon's. */
    if (bnc_init(&s.bnc) < 0) {
        log_error("cannot initialise libcurl");
        settings_wipe(&s);
        return 1;
    }
    struct mcp_options opts = {
        .read_only = s.read_only,
        .provider = &conformance_provider,
        .subscriptions = 1,
    };
    struct mcp_server *srv = mcp_server_new(&opts);
    if (srv == NULL) {
        log_error("cannot build the fixture tool table");
        bnc_shutdown();
        settings_wipe(&s);
        return 1;
    }
    log_info("%s serving MCP over HTTP (conformance fixtures)",
             conformance_provider.name);
    rc = supervisor_run(&s, srv);
    mcp_server_free(srv);
    bnc_thread_cleanup();
    bnc_shutdown();
    settings_wipe(&s);
    return rc;
}
