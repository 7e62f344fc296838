/*
 * settings.h - the daemon's settings: defaults, then the configuration file,
 * then the environment, then the command line (which wins).
 *
 * Layer src/proc/, what the daemon's processes share: the configuration
 * (this file), the shared-memory session registry, the IPC messages between
 * the supervisor and the workers, the metrics counters. It may include the
 * common ground, the Binance client (credentials travel over IPC) and the
 * application's plain records (trading.h); no transport or daemon header.
 *
 * One option table (settings.c) drives the command line, the configuration
 * file and the environment: every option `--some-name` is the file key
 * `some_name` (except --config, --check-config, --help and --version, which
 * only make sense on the command line), and the same code checks a value
 * wherever it comes from.
 *
 * The configuration file (default BINMCPD_SYSCONFDIR/binmcpd/binmcpd.conf)
 * holds `key = value` lines; '#' starts a comment at the start of a line or
 * after whitespace; blank lines are skipped; a value may be put in double
 * quotes. Errors name the place: "path:12: unknown key 'x'". A missing
 * default file means "no configuration"; a missing --config file is an
 * error. See binmcpd.conf(5).
 *
 * Environment (an empty variable counts as unset): BINANCE_BASE_URL,
 * BINANCE_TESTNET (yes/1 = the default environment is the testnet),
 * BINANCE_TESTNET_URL, BINANCE_DEMO_URL, BINANCE_TIMEOUT_MS,
 * BINANCE_RECV_WINDOW, BINANCE_STREAM_URL, BINANCE_WS_API_URL,
 * BINMCPD_READ_ONLY, BINMCPD_LOG_LEVEL, BINMCPD_FEED;
 * BINANCE_API_KEY and BINANCE_API_SECRET (both or neither).
 *
 * Relative paths (--config, credentials_file, tls_cert, tls_key,
 * auth_tokens_file, pidfile) are made absolute against the working
 * directory of the first load, so a SIGHUP after a daemon's chdir("/")
 * reads the same files.
 *
 * Credentials: BINANCE_API_KEY/BINANCE_API_SECRET win over the
 * credentials_file (there is no command-line option that carries a secret).
 * The credentials file is read even then, and must be valid. Their
 * environment is the file's `environment` key when given, else the final
 * default environment (testnet / --testnet).
 */
#ifndef BINMCPD_SETTINGS_H
#define BINMCPD_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

#include "bnc.h"
#include "creds.h"
#include "log.h"
#include "trading.h"

/* The build passes -DBINMCPD_SYSCONFDIR=... and -DBINMCPD_RUNSTATEDIR=... */
#ifndef BINMCPD_SYSCONFDIR
#define BINMCPD_SYSCONFDIR "/usr/local/etc"
#endif
#ifndef BINMCPD_RUNSTATEDIR
#define BINMCPD_RUNSTATEDIR "/run"
#endif
#define SETTINGS_DEFAULT_CONFIG  BINMCPD_SYSCONFDIR "/binmcpd/binmcpd.conf"
#define SETTINGS_DEFAULT_PIDFILE BINMCPD_RUNSTATEDIR "/binmcpd.pid"
#ifndef BINMCPD_LOCALSTATEDIR
#define BINMCPD_LOCALSTATEDIR "/var"
#endif
#define SETTINGS_DEFAULT_JOURNAL BINMCPD_LOCALSTATEDIR "/lib/binmcpd/journal.db"

enum run_mode {
    MODE_STDIO = 0,
    MODE_SSE,
};

#define SETTINGS_ORIGINS_MAX    16
#define SETTINGS_HOSTS_MAX      1024 /* allowed_hosts, with the NUL */
#define SETTINGS_PATH_MAX       512
#define SETTINGS_LINE_MAX       4096      /* longest line of a settings file */
#define SETTINGS_FILE_MAX       (1 << 20) /* largest configuration file */
#define SETTINGS_CREDS_FILE_MAX 16384     /* largest credentials file */

struct settings {
    enum run_mode mode;
    int read_only;
    /* --mode sse */
    char bind[64];       /* address to listen on, default 127.0.0.1 */
    int port;            /* default 8000 */
    int workers;         /* default: the number of CPUs */
    int max_connections; /* open SSE streams, all workers, default 50 */
    int keepalive_s;     /* SSE comment interval, default 30 */
    int session_idle_s;  /* idle sessions expire, default 1800 */
    int drain_s;         /* graceful-stop deadline, default 10 */
    size_t max_body;     /* POST body cap, default 1 MiB */
    int foreground;      /* --foreground: also clears daemonize */
    int norigins;        /* allowed Origin values besides loopback */
    char origins[SETTINGS_ORIGINS_MAX][128];
    /* admission (mode sse) */
    int max_sessions;            /* session table, default 10000 */
    int max_sessions_per_client; /* per token or address, 1000; 0 = none */
    int request_timeout_s;       /* a whole request within, default 10 */
    int max_connections_per_ip;  /* all workers, default 64; 0 = none */
    char allowed_hosts[SETTINGS_HOSTS_MAX]; /* Host names besides loopback
                                               and bind; "" = none */
    /* operations (the config file offers every option as a key) */
    char config_path[SETTINGS_PATH_MAX]; /* --config */
    int config_given;                    /* --config was on the line */
    int check_config;                    /* --check-config */
    int daemonize;                       /* --daemon (clears foreground) */
    char pidfile[SETTINGS_PATH_MAX];     /* --pidfile, "" = none */
    char user[64];                       /* --user: drop to it */
    char credentials_file[SETTINGS_PATH_MAX];
    char tls_cert[SETTINGS_PATH_MAX]; /* PEM; HTTPS when both set */
    char tls_key[SETTINGS_PATH_MAX];
    char auth_tokens_file[SETTINGS_PATH_MAX];
    int allow_unauthenticated; /* non-loopback bind, no tokens */
    double rate_limit;         /* requests/s per client, 0 off */
    int rate_burst;            /* GCRA burst, default 20 */
    enum log_level log_level;
    struct bnc_config bnc;
    struct trading_settings trading;
    char toolsets[128];      /* "market,account,...": served sets; "" = all */
    size_t max_result_bytes; /* a tool result's cap, default 100000 */
    /* the feed process (--mode sse): live market data */
    int feed;                /* feed = off: none; default on */
    char stream_url[256];    /* "": the default environment's */
    char ws_api_url[256];    /* "": the default environment's */
    int feed_idle_s;         /* a symbol nobody reads is dropped, 900 */
    double notify_interval;  /* s between two updates of one resource, 1 */
    int max_tracked_symbols; /* the market segment's slots, 50 */
    struct creds creds;      /* the daemon's own credentials; creds.set == 0
                                when none were given */
    /* what settings_load saw and did */
    int argc;            /* the command line, for settings_reload; argv */
    char **argv;         /* is not copied (main's argv lives for ever) */
    int config_loaded;   /* a configuration file was read */
    int creds_env_fixed; /* the credentials file named the environment */
    char creds_from[SETTINGS_PATH_MAX + 32]; /* "environment", "credentials
                                                file PATH" or "" */
    int origins_layer; /* which layer set origins[] (a later one replaces) */
    char start_dir[SETTINGS_PATH_MAX]; /* relative paths are made absolute
                                          against it, at load and reload */
};

/* Fills s with the built-in defaults (s needs no prior initialisation). */
void settings_defaults(struct settings *s);

/* Applies the environment variables listed above. Returns 0, or -1 with a
 * sentence naming the variable in err. The secrets are copied into s->creds
 * (the old ones are wiped); nothing else keeps them. */
int settings_from_env(struct settings *s, char *err, size_t errlen);

/* Applies the command line. Returns 0 to run, 1 when the process should
 * exit 0 at once (--help, --version: the text was printed to stdout), or -1
 * with a sentence in err for a usage error. argv is not modified. */
int settings_from_args(struct settings *s, int argc, char **argv, char *err,
                       size_t errlen);

/* Applies the configuration file at path. Returns 0, or -1 with
 * "path:line: reason" (or "cannot read ...") in err; s may then hold part
 * of the file's settings. A missing file is an error here. */
int settings_from_file(struct settings *s, const char *path, char *err,
                       size_t errlen);

/* Reads a credentials file (`api_key`, then `api_secret` or
 * `api_private_key_file`, optional `environment`) into out, refusing a file
 * whose mode gives any permission to group or others, and the same for the
 * private key file (a relative path is taken from the credentials file's
 * directory; it is re-read on every call, so SIGHUP picks up a new key). env is
 * the environment used when the file names none; *env_fixed (may be NULL) tells
 * whether it did. The file's bytes are wiped from memory after parsing. Returns
 * 0, or -1 with a sentence that never contains a secret in err (out is then
 * wiped and unset). */
int settings_read_credentials(const char *path, enum bnc_env env,
                              struct creds *out, int *env_fixed, char *err,
                              size_t errlen);

/* Does all of it: defaults, then the configuration file (--config or the
 * default), the environment, the command line, then the credentials file,
 * then the checks that span several settings. argv must outlive s (it is
 * kept for settings_reload). Returns 0 to run, 1 when the process should
 * exit 0 at once (--help, --version, printed to stdout), -1 with a sentence
 * in err (s->creds is then wiped; s->check_config is still meaningful). */
int settings_load(struct settings *s, int argc, char **argv, char *err,
                  size_t errlen);

/* SIGHUP: loads next afresh from the same command line as current (same
 * configuration and credentials files, the environment as it is now).
 * Prints nothing. Returns 0, or -1 with a sentence in err; next is always
 * initialised and must be released with settings_wipe(). */
int settings_reload(const struct settings *current, struct settings *next,
                    char *err, size_t errlen);

/* Names, as configuration keys separated by ", ", the settings that differ
 * between a and b and cannot change without a restart: bind, port,
 * workers, max_connections, mode, user, daemon, pidfile, and the
 * admission settings (max_sessions, max_sessions_per_client,
 * request_timeout, max_connections_per_ip, allowed_hosts), and the feed's
 * (feed, stream_url, ws_api_url, feed_idle, max_tracked_symbols: the feed
 * process and the market segment are made at start). Returns how
 * many differ (0: none; what is then ""). */
int settings_needs_restart(const struct settings *a, const struct settings *b,
                           char *what, size_t len);

/* The market-stream and WebSocket API URLs in force: stream_url and
 * ws_api_url when set, else the FEED_*_URL_* default (feed.h) of the
 * default environment (mainnet, testnet or demo), the one the REST calls
 * of the market tools go to. */
const char *settings_stream_url(const struct settings *s);
const char *settings_ws_api_url(const struct settings *s);

/* For --check-config: checks what settings_load does not touch: the user
 * exists, and with daemon set the pid file's directory exists. (The TLS and
 * auth token files are checked by their own modules.) Returns 0, or -1
 * with a sentence in err. */
int settings_check_paths(const struct settings *s, char *err, size_t errlen);

/* Writes a summary for --check-config to out: the configuration file, the
 * mode, the environment, the masked key and where it came from. Never a
 * secret. */
void settings_print_summary(const struct settings *s, FILE *out);

/* Writes the trading rules in force (for --check-config and the log). */
void settings_print_trading(const struct trading_settings *t, int read_only,
                            FILE *out);

/* Writes the --help text (every option, from the option table). */
void settings_usage(FILE *out);

/* Wipes the secrets s holds. */
void settings_wipe(struct settings *s);

#endif
