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

#include "settings.h"
#include "util.h"

void
settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = MODE_STDIO;
    s->log_level = LOG_LVL_INFO;
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

int
settings_from_args(struct settings *s, int argc, char **argv, char *err,
                   size_t errlen)
{
    enum {
        OPT_MODE = 256,
        OPT_READ_ONLY,
        OPT_TESTNET,
        OPT_BASE_URL,
        OPT_TESTNET_URL,
        OPT_TIMEOUT,
        OPT_RECV_WINDOW,
        OPT_LOG_LEVEL,
    };
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, OPT_MODE},
        {"read-only", no_argument, NULL, OPT_READ_ONLY},
        {"testnet", no_argument, NULL, OPT_TESTNET},
        {"base-url", required_argument, NULL, OPT_BASE_URL},
        {"testnet-url", required_argument, NULL, OPT_TESTNET_URL},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"recv-window", required_argument, NULL, OPT_RECV_WINDOW},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
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
                snprintf(err, errlen, "unknown mode '%s' (valid: stdio)",
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
