/*
 * settings.c - see settings.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "util.h"

void
settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = MODE_STDIO;
    s->log_level = LOG_LVL_INFO;
    snprintf(s->bind, sizeof(s->bind), "127.0.0.1");
    s->port = 8000;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    s->workers = ncpu > 0 ? (int)(ncpu > 64 ? 64 : ncpu) : 1;
    s->max_connections = 50;
    s->keepalive_s = 30;
    s->session_idle_s = 1800;
    s->drain_s = 10;
    s->max_body = 1024 * 1024;
    bnc_config_defaults(&s->bnc);
}

/* Parses a whole decimal number in [lo, hi]. Returns 0 or -1. */
static int
parse_long(const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int
parse_bool(const char *text, int *out)
{
    if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 ||
        strcmp(text, "yes") == 0 || strcmp(text, "on") == 0)
        *out = 1;
    else if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 ||
             strcmp(text, "no") == 0 || strcmp(text, "off") == 0 ||
             text[0] == '\0')
        *out = 0;
    else
        return -1;
    return 0;
}

/* Accepts http:// and https:// URLs without a trailing slash. */
static int
set_url(char *dst, const char *url, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(url);
    if ((strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
        n >= BNC_URL_MAX) {
        snprintf(err, errlen,
                 "%s must be an http:// or https:// URL shorter than %d "
                 "characters",
                 what, BNC_URL_MAX);
        return -1;
    }
    memcpy(dst, url, n + 1);
    while (n > 8 && dst[n - 1] == '/')
        dst[--n] = '\0';
    return 0;
}

int
settings_from_env(struct settings *s, char *err, size_t errlen)
{
    const char *v;
    long n;
    int b;

    if ((v = getenv("BINANCE_BASE_URL")) != NULL && *v != '\0' &&
        set_url(s->bnc.mainnet_url, v, "BINANCE_BASE_URL", err, errlen) < 0)
        return -1;
    if ((v = getenv("BINANCE_TESTNET_URL")) != NULL && *v != '\0' &&
        set_url(s->bnc.testnet_url, v, "BINANCE_TESTNET_URL", err, errlen) < 0)
        return -1;
    if ((v = getenv("BINANCE_TESTNET")) != NULL) {
        if (parse_bool(v, &b) < 0) {
            snprintf(err, errlen, "BINANCE_TESTNET must be 0 or 1");
            return -1;
        }
        s->bnc.default_env = b ? BNC_ENV_TESTNET : BNC_ENV_MAINNET;
    }
    if ((v = getenv("BINANCE_TIMEOUT_MS")) != NULL) {
        if (parse_long(v, 100, 600000, &n) < 0) {
            snprintf(err, errlen,
                     "BINANCE_TIMEOUT_MS must be 100..600000 milliseconds");
            return -1;
        }
        s->bnc.timeout_ms = n;
    }
    if ((v = getenv("BINANCE_RECV_WINDOW")) != NULL) {
        if (parse_long(v, 1, 60000, &n) < 0) {
            snprintf(err, errlen, "BINANCE_RECV_WINDOW must be 1..60000 ms");
            return -1;
        }
        s->bnc.recv_window = n;
    }
    if ((v = getenv("BINMCPD_READ_ONLY")) != NULL) {
        if (parse_bool(v, &s->read_only) < 0) {
            snprintf(err, errlen, "BINMCPD_READ_ONLY must be 0 or 1");
            return -1;
        }
    }
    if ((v = getenv("BINMCPD_LOG_LEVEL")) != NULL &&
        log_level_parse(v, &s->log_level) < 0) {
        snprintf(err, errlen,
                 "BINMCPD_LOG_LEVEL must be debug, info, notice, warning or "
                 "error");
        return -1;
    }

    const char *key = getenv("BINANCE_API_KEY");
    const char *secret = getenv("BINANCE_API_SECRET");
    int have_key = key != NULL && *key != '\0';
    int have_secret = secret != NULL && *secret != '\0';
    if (have_key != have_secret) {
        snprintf(err, errlen,
                 "set both BINANCE_API_KEY and BINANCE_API_SECRET, or "
                 "neither");
        return -1;
    }
    if (have_key &&
        creds_set(&s->creds, key, secret, s->bnc.default_env, err, errlen) < 0)
        return -1;
    return 0;
}

static void
print_usage(FILE *f)
{
    fprintf(f, "usage: binmcpd [--mode stdio] [--read-only] [--testnet]\n"
               "               [--base-url URL] [--testnet-url URL]\n"
               "               [--timeout-ms MS] [--recv-window MS]\n"
               "               [--log-level LEVEL] [--help] [--version]\n"
               "\n"
               "Serves the Binance Spot API to MCP clients (JSON-RPC over\n"
               "stdin/stdout in stdio mode). Credentials come from\n"
               "BINANCE_API_KEY and BINANCE_API_SECRET. See binmcpd(8).\n"
               "\n"
               "  --mode MODE        transport: stdio (default)\n"
               "  --read-only        hide and refuse every order tool\n"
               "  --testnet          use https://testnet.binance.vision\n"
               "  --base-url URL     mainnet base URL (BINANCE_BASE_URL)\n"
               "  --testnet-url URL  testnet base URL (BINANCE_TESTNET_URL)\n"
               "  --timeout-ms MS    Binance request timeout (default 10000)\n"
               "  --recv-window MS   recvWindow of signed calls, 1..60000 "
               "(default 5000)\n"
               "  --log-level LEVEL  debug, info, notice, warning, error\n"
               "  -h, --help         print this help\n"
               "  -V, --version      print the version\n");
}

enum settings_opt {
    OPT_MODE = 256,
    OPT_READ_ONLY,
    OPT_TESTNET,
    OPT_BASE_URL,
    OPT_TESTNET_URL,
    OPT_TIMEOUT,
    OPT_RECV_WINDOW,
    OPT_LOG_LEVEL,
    OPT_BIND,
    OPT_PORT,
    OPT_WORKERS,
    OPT_MAX_CONN,
    OPT_KEEPALIVE,
    OPT_IDLE,
    OPT_DRAIN,
    OPT_MAX_BODY,
    OPT_FOREGROUND,
    OPT_ORIGIN,
};

/* The numeric options of --mode sse: name, range, destination. */
static int
set_number(struct settings *s, int opt, const char *text, char *err,
           size_t errlen)
{
    static const struct {
        enum settings_opt opt;
        const char *name;
        long lo, hi;
    } spec[] = {
        {OPT_PORT, "--port", 0, 65535},
        {OPT_WORKERS, "--workers", 1, 64},
        {OPT_MAX_CONN, "--max-connections", 1, 100000},
        {OPT_KEEPALIVE, "--keepalive", 1, 3600},
        {OPT_IDLE, "--session-idle", 1, 86400 * 7},
        {OPT_DRAIN, "--drain-timeout", 0, 600},
        {OPT_MAX_BODY, "--max-body", 1024, 3 * 1024 * 1024},
    };
    long v;
    for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
        if ((int)spec[i].opt != opt)
            continue;
        if (parse_long(text, spec[i].lo, spec[i].hi, &v) < 0) {
            snprintf(err, errlen, "%s must be a whole number from %ld to %ld",
                     spec[i].name, spec[i].lo, spec[i].hi);
            return -1;
        }
        switch (i) {
        case 0:
            s->port = (int)v;
            break;
        case 1:
            s->workers = (int)v;
            break;
        case 2:
            s->max_connections = (int)v;
            break;
        case 3:
            s->keepalive_s = (int)v;
            break;
        case 4:
            s->session_idle_s = (int)v;
            break;
        case 5:
            s->drain_s = (int)v;
            break;
        default:
            s->max_body = (size_t)v;
            break;
        }
        return 0;
    }
    return -1;
}

int
settings_from_args(struct settings *s, int argc, char **argv, char *err,
                   size_t errlen)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, OPT_MODE},
        {"read-only", no_argument, NULL, OPT_READ_ONLY},
        {"testnet", no_argument, NULL, OPT_TESTNET},
        {"base-url", required_argument, NULL, OPT_BASE_URL},
        {"testnet-url", required_argument, NULL, OPT_TESTNET_URL},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"recv-window", required_argument, NULL, OPT_RECV_WINDOW},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"bind", required_argument, NULL, OPT_BIND},
        {"port", required_argument, NULL, OPT_PORT},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
        {"session-idle", required_argument, NULL, OPT_IDLE},
        {"drain-timeout", required_argument, NULL, OPT_DRAIN},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"foreground", no_argument, NULL, OPT_FOREGROUND},
        {"allow-origin", required_argument, NULL, OPT_ORIGIN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    long n;
    int ch;

    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_MODE:
            if (strcmp(optarg, "stdio") == 0) {
                s->mode = MODE_STDIO;
            } else if (strcmp(optarg, "sse") == 0) {
                s->mode = MODE_SSE;
            } else {
                snprintf(err, errlen, "unknown mode '%s' (valid: stdio, sse)",
                         optarg);
                return -1;
            }
            break;
        case OPT_READ_ONLY:
            s->read_only = 1;
            break;
        case OPT_TESTNET:
            s->bnc.default_env = BNC_ENV_TESTNET;
            s->creds.env = BNC_ENV_TESTNET;
            break;
        case OPT_BASE_URL:
            if (set_url(s->bnc.mainnet_url, optarg, "--base-url", err, errlen) <
                0)
                return -1;
            break;
        case OPT_TESTNET_URL:
            if (set_url(s->bnc.testnet_url, optarg, "--testnet-url", err,
                        errlen) < 0)
                return -1;
            break;
        case OPT_TIMEOUT:
            if (parse_long(optarg, 100, 600000, &n) < 0) {
                snprintf(err, errlen,
                         "--timeout-ms must be 100..600000 milliseconds");
                return -1;
            }
            s->bnc.timeout_ms = n;
            break;
        case OPT_RECV_WINDOW:
            if (parse_long(optarg, 1, 60000, &n) < 0) {
                snprintf(err, errlen, "--recv-window must be 1..60000 ms");
                return -1;
            }
            s->bnc.recv_window = n;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &s->log_level) < 0) {
                snprintf(err, errlen, "unknown log level '%s'", optarg);
                return -1;
            }
            break;
        case OPT_BIND:
            if (strlcpy_checked(s->bind, optarg, sizeof(s->bind)) < 0 ||
                optarg[0] == '\0') {
                snprintf(err, errlen, "--bind needs an IP address");
                return -1;
            }
            break;
        case OPT_PORT:
        case OPT_WORKERS:
        case OPT_MAX_CONN:
        case OPT_KEEPALIVE:
        case OPT_IDLE:
        case OPT_DRAIN:
        case OPT_MAX_BODY:
            if (set_number(s, ch, optarg, err, errlen) < 0)
                return -1;
            break;
        case OPT_FOREGROUND:
            s->foreground = 1;
            break;
        case OPT_ORIGIN:
            if (s->norigins >= SETTINGS_ORIGINS_MAX ||
                strlcpy_checked(s->origins[s->norigins], optarg,
                                sizeof(s->origins[0])) < 0) {
                snprintf(err, errlen,
                         "--allow-origin: at most %d origins of up to 127 "
                         "characters",
                         SETTINGS_ORIGINS_MAX);
                return -1;
            }
            s->norigins++;
            break;
        case 'h':
            print_usage(stdout);
            return 1;
        case 'V':
            printf("binmcpd %s\n", PACKAGE_VERSION);
            return 1;
        default:
            if (optopt != 0 && optopt < 256)
                snprintf(err, errlen, "unknown option '-%c'", optopt);
            else
                snprintf(err, errlen, "unknown or incomplete option '%s'",
                         argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

void
settings_wipe(struct settings *s)
{
    creds_wipe(&s->creds);
}
