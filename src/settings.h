/*
 * settings.h - the daemon's settings: defaults, then the environment, then
 * the command line (which wins).
 *
 * Environment: BINANCE_API_KEY, BINANCE_API_SECRET, BINANCE_BASE_URL,
 * BINANCE_TESTNET (1 = the default environment is the testnet),
 * BINANCE_TESTNET_URL, BINANCE_TIMEOUT_MS, BINANCE_RECV_WINDOW,
 * BINMCPD_READ_ONLY (1 = read-only), BINMCPD_LOG_LEVEL.
 */
#ifndef BINMCPD_SETTINGS_H
#define BINMCPD_SETTINGS_H

#include <stddef.h>

#include "bnc.h"
#include "creds.h"
#include "log.h"

enum run_mode {
    MODE_STDIO = 0,
    MODE_SSE,
};

#define SETTINGS_ORIGINS_MAX 16

struct settings {
    enum run_mode mode;
    int read_only;
    /* --mode sse */
    char bind[64];       /* address to listen on, default 127.0.0.1 */
    int port;            /* default 8000 */
    int workers;         /* default: the number of CPUs */
    int max_connections; /* live sessions across all workers, default 50 */
    int keepalive_s;     /* SSE comment interval, default 30 */
    int session_idle_s;  /* idle sessions expire, default 1800 */
    int drain_s;         /* graceful-stop deadline, default 10 */
    size_t max_body;     /* POST body cap, default 1 MiB */
    int foreground;      /* accepted; the daemon never detaches yet */
    int norigins;        /* allowed Origin values besides loopback */
    char origins[SETTINGS_ORIGINS_MAX][128];
    enum log_level log_level;
    struct bnc_config bnc;
    struct creds creds; /* the daemon's own credentials; creds.set == 0
                           when none were given */
};

/* Fills s with the built-in defaults. */
void settings_defaults(struct settings *s);

/* Applies the environment variables listed above. Returns 0, or -1 with a
 * sentence naming the variable in err. The secrets are copied into s->creds;
 * nothing else keeps them. */
int settings_from_env(struct settings *s, char *err, size_t errlen);

/* Applies the command line. Returns 0 to run, 1 when the process should
 * exit 0 at once (--help, --version: the text was printed to stdout), or -1
 * with a sentence in err for a usage error. */
int settings_from_args(struct settings *s, int argc, char **argv, char *err,
                       size_t errlen);

/* Wipes the secrets s holds. */
void settings_wipe(struct settings *s);

#endif
