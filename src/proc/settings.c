/*
 * settings.c - see settings.h.
 *
 * Every option is a row of opt_table: its long name (the file key is the
 * same with '_' for '-'), where it may appear, its environment variable,
 * and a setter that checks a value and stores it. The command line, the
 * configuration file and the environment all go through the same setters,
 * so a value is accepted or refused the same way wherever it comes from;
 * only the name in the message changes ("--port", "port", "BINANCE_...").
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "auth.h"
#include "feed.h"
#include "secfile.h"
#include "settings.h"
#include "util.h"

/* Which layer a value came from; a later layer wins. */
enum layer {
    LAYER_DEFAULT = 0,
    LAYER_FILE,
    LAYER_ENV,
    LAYER_ARGS,
};

struct opt_row;

/* What a setter is given: one option's value and where to store it. */
struct opt_ctx {
    struct settings *s;      /* where the value goes */
    const struct opt_row *o; /* the option's row (its field, its range) */
    const char *name;        /* what the user wrote ("--port", "port" or
                                "BINANCE_..."), for the message */
    const char *value;       /* NULL for a flag given on the command line */
    enum layer layer;        /* where it came from */
    char *err;               /* a sentence on failure */
    size_t errlen;
};

/* Checks c->value and stores it in c->s. Returns 0, or -1 with a sentence
 * in c->err. */
typedef int (*opt_setter)(const struct opt_ctx *c);

enum opt_meta {
    META_NONE = 0,
    META_CONFIG,
    META_CHECK,
    META_HELP,
    META_VERSION,
};

#define WHERE_ARGS 1u
#define WHERE_FILE 2u
#define WHERE_ALL  (WHERE_ARGS | WHERE_FILE)

struct opt_row {
    const char *name;   /* long option; the file key has '_' for '-' */
    const char *arg;    /* the value's name in --help; NULL: a flag */
    const char *env;    /* environment variable or NULL */
    opt_setter set;     /* NULL for meta options */
    size_t off, size;   /* the field in struct settings */
    double lo, hi;      /* range of a number */
    const char *help;   /* one line for --help */
    int shortopt;       /* 'h', 'V' or 0 */
    unsigned where;     /* WHERE_ARGS and/or WHERE_FILE */
    enum opt_meta meta; /* command-line-only options, handled first */
};

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

/* Parses a plain decimal number ("12", "0.5", "2."; no sign, exponent, hex,
 * inf or nan) in [lo, hi]. Returns 0 or -1. */
static int
parse_decimal(const char *text, double lo, double hi, double *out)
{
    size_t digits = 0, dots = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.')
            dots++;
        else
            return -1;
    }
    if (digits == 0 || dots > 1)
        return -1;
    errno = 0;
    double v = strtod(text, NULL);
    if (errno != 0 || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parses yes/no, true/false, on/off (any case), 1/0. Returns 0 or -1. */
static int
parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

#define FIELD_PTR(s, o, type) ((type *)(void *)((char *)(s) + (o)->off))

/* ---- setters ---- */

/* A flag: set by its mere presence on the command line, a boolean
 * elsewhere. Stores 0/1 into *out. */
static int
flag_value(const char *name, const char *value, int *out, char *err,
           size_t errlen)
{
    if (value == NULL) {
        *out = 1;
        return 0;
    }
    if (parse_bool(value, out) < 0) {
        snprintf(err, errlen,
                 "%s must be yes or no (or true/false, on/off, 1/0), not "
                 "'%.64s'",
                 name, value);
        return -1;
    }
    return 0;
}

static int
set_flag(const struct opt_ctx *c)
{
    return flag_value(c->name, c->value, FIELD_PTR(c->s, c->o, int), c->err,
                      c->errlen);
}

/* --daemon and --foreground contradict each other: the later one wins, so
 * `--foreground` on the command line beats `daemon = yes` in the file. The
 * row's field (daemonize or foreground) takes the flag; setting one clears
 * the other. */
static int
set_daemon_or_foreground(const struct opt_ctx *c)
{
    int on, *field = FIELD_PTR(c->s, c->o, int);

    if (flag_value(c->name, c->value, &on, c->err, c->errlen) < 0)
        return -1;
    *field = on;
    if (on && field == &c->s->daemonize)
        c->s->foreground = 0;
    else if (on)
        c->s->daemonize = 0;
    return 0;
}

static int
set_testnet(const struct opt_ctx *c)
{
    int on;
    if (flag_value(c->name, c->value, &on, c->err, c->errlen) < 0)
        return -1;
    c->s->bnc.default_env = on ? BNC_ENV_TESTNET : BNC_ENV_MAINNET;
    if (!c->s->creds_env_fixed)
        c->s->creds.env = c->s->bnc.default_env;
    return 0;
}

/* A whole number in the row's range. Returns 0, or -1 with a sentence. */
static int
number_value(const struct opt_row *o, const char *name, const char *value,
             long *out, char *err, size_t errlen)
{
    if (parse_long(value, (long)o->lo, (long)o->hi, out) < 0) {
        snprintf(err, errlen, "%s must be a whole number from %ld to %ld", name,
                 (long)o->lo, (long)o->hi);
        return -1;
    }
    return 0;
}

/* An int field. */
static int
set_int(const struct opt_ctx *c)
{
    long v;
    assert(c->o->size == sizeof(int));
    if (number_value(c->o, c->name, c->value, &v, c->err, c->errlen) < 0)
        return -1;
    *FIELD_PTR(c->s, c->o, int) = (int)v;
    return 0;
}

/* A long field. */
static int
set_long(const struct opt_ctx *c)
{
    assert(c->o->size == sizeof(long));
    return number_value(c->o, c->name, c->value, FIELD_PTR(c->s, c->o, long),
                        c->err, c->errlen);
}

/* A size_t field. */
static int
set_size(const struct opt_ctx *c)
{
    long v;
    assert(c->o->size == sizeof(size_t));
    if (number_value(c->o, c->name, c->value, &v, c->err, c->errlen) < 0)
        return -1;
    *FIELD_PTR(c->s, c->o, size_t) = (size_t)v;
    return 0;
}

static int
set_decimal(const struct opt_ctx *c)
{
    if (parse_decimal(c->value, c->o->lo, c->o->hi,
                      FIELD_PTR(c->s, c->o, double)) < 0) {
        snprintf(c->err, c->errlen,
                 "%s must be a number from %g to %g (a decimal point is "
                 "allowed)",
                 c->name, c->o->lo, c->o->hi);
        return -1;
    }
    return 0;
}

/* A string; empty means "none". */
static int
set_string(const struct opt_ctx *c)
{
    if (strlen(c->value) >= c->o->size) {
        snprintf(c->err, c->errlen, "%s is longer than %zu characters", c->name,
                 c->o->size - 1);
        return -1;
    }
    memcpy(FIELD_PTR(c->s, c->o, char), c->value, strlen(c->value) + 1);
    return 0;
}

/* A URL beginning with secure or plain (e.g. "https://" or "http://"),
 * shorter than the field; a trailing slash is dropped. */
static int
url_value(const struct opt_ctx *c, const char *secure, const char *plain)
{
    char *dst = FIELD_PTR(c->s, c->o, char);
    size_t n = strlen(c->value), min = strlen(secure);
    if ((strncmp(c->value, secure, min) != 0 &&
         strncmp(c->value, plain, strlen(plain)) != 0) ||
        n >= c->o->size) {
        snprintf(c->err, c->errlen,
                 "%s must be a URL beginning with %s or %s, shorter than %zu "
                 "characters",
                 c->name, secure, plain, c->o->size);
        return -1;
    }
    memcpy(dst, c->value, n + 1);
    while (n > min && dst[n - 1] == '/')
        dst[--n] = '\0';
    return 0;
}

/* An http:// or https:// URL (the REST base URLs). */
static int
set_url(const struct opt_ctx *c)
{
    return url_value(c, "https://", "http://");
}

/* A wss:// or ws:// URL (the streams; ws:// for a local test server). */
static int
set_ws_url(const struct opt_ctx *c)
{
    return url_value(c, "wss://", "ws://");
}

/* A numeric IPv4 or IPv6 address, as the supervisor's getaddrinfo takes. */
static int
set_bind(const struct opt_ctx *c)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    if (c->value[0] == '\0' || strlen(c->value) >= c->o->size ||
        getaddrinfo(c->value, NULL, &hints, &ai) != 0) {
        snprintf(c->err, c->errlen,
                 "%s needs a numeric IPv4 or IPv6 address, not '%.64s'",
                 c->name, c->value);
        return -1;
    }
    freeaddrinfo(ai);
    return set_string(c);
}

static int
set_mode(const struct opt_ctx *c)
{
    if (strcmp(c->value, "stdio") == 0) {
        c->s->mode = MODE_STDIO;
    } else if (strcmp(c->value, "sse") == 0) {
        c->s->mode = MODE_SSE;
    } else {
        snprintf(c->err, c->errlen, "%s must be stdio or sse, not '%.64s'",
                 c->name, c->value);
        return -1;
    }
    return 0;
}

static int
set_log_level(const struct opt_ctx *c)
{
    if (log_level_parse(c->value, &c->s->log_level) < 0) {
        snprintf(c->err, c->errlen,
                 "%s must be debug, info, notice, warning or error, not "
                 "'%.64s'",
                 c->name, c->value);
        return -1;
    }
    return 0;
}

/* Repeatable: values of one layer add up; the first value from a later
 * layer replaces the list (the command line wins over the file). */
static int
set_origin(const struct opt_ctx *c)
{
    if ((int)c->layer != c->s->origins_layer) {
        c->s->norigins = 0;
        c->s->origins_layer = (int)c->layer;
    }
    if (c->value[0] == '\0') {
        snprintf(c->err, c->errlen, "%s needs an origin such as https://host",
                 c->name);
        return -1;
    }
    if (c->s->norigins >= SETTINGS_ORIGINS_MAX ||
        strlcpy_checked(c->s->origins[c->s->norigins], c->value,
                        sizeof(c->s->origins[0])) < 0) {
        snprintf(c->err, c->errlen,
                 "%s: at most %d origins of up to %zu characters", c->name,
                 SETTINGS_ORIGINS_MAX, sizeof(c->s->origins[0]) - 1);
        return -1;
    }
    c->s->norigins++;
    return 0;
}

/* allowed_hosts: a comma-separated list (auth.h gives the syntax). */
static int
set_hosts(const struct opt_ctx *c)
{
    char why[160];
    if (auth_hosts_check(c->value, why, sizeof(why)) < 0) {
        snprintf(c->err, c->errlen, "%s: %s", c->name, why);
        return -1;
    }
    return set_string(c);
}

static int
set_confirmation(const struct opt_ctx *c)
{
    static const char *const names[] = {
        [OC_AUTO] = "auto",
        [OC_ELICITATION] = "elicitation",
        [OC_TOKEN] = "token",
        [OC_OFF] = "off",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(c->value, names[i]) == 0) {
            c->s->trading.confirmation = (enum order_confirmation)i;
            return 0;
        }
    }
    snprintf(c->err, c->errlen,
             "%s must be auto, elicitation, token or off, not '%.64s'", c->name,
             c->value);
    return -1;
}

static int
set_confirm_on(const struct opt_ctx *c)
{
    if (strcmp(c->value, "mainnet") == 0 || strcmp(c->value, "always") == 0) {
        c->s->trading.confirm_always = strcmp(c->value, "always") == 0;
        return 0;
    }
    snprintf(c->err, c->errlen, "%s must be mainnet or always, not '%.64s'",
             c->name, c->value);
    return -1;
}

/* A comma-separated list of symbols or globs ("BTCUSDT, ETH*"): each entry
 * 1-20 of A-Z 0-9 * ?, stored upper-cased without spaces. */
static int
set_symbols(const struct opt_ctx *c)
{
    char *dst = FIELD_PTR(c->s, c->o, char);
    size_t n = 0, entry = 0;
    for (const char *p = c->value;; p++) {
        if (*p == ',' || *p == '\0') {
            if (entry == 0 && (*p == ',' || n > 0))
                goto bad;
            if (*p == '\0')
                break;
            entry = 0;
        } else if (*p == ' ' || *p == '\t') {
            continue;
        } else if (!isalnum((unsigned char)*p) && *p != '*' && *p != '?') {
            goto bad;
        } else if (++entry > 20) {
            goto bad;
        }
        if (n + 1 >= c->o->size)
            goto bad;
        dst[n++] = (char)toupper((unsigned char)*p);
    }
    dst[n] = '\0';
    return 0;
bad:
    dst[0] = '\0';
    snprintf(c->err, c->errlen,
             "%s must be a comma-separated list of symbols or globs (A-Z, "
             "0-9, * and ?; at most 20 characters each, %zu in all), not "
             "'%.64s'",
             c->name, c->o->size - 1, c->value);
    return -1;
}

/* ---- the table ---- */

#define F(m)    offsetof(struct settings, m), sizeof(((struct settings *)0)->m)
#define NOFIELD 0, 0

/* A row, in reading order; F() fills two fields, hence the extra level. */
#define OPT(...) OPT_ROW(__VA_ARGS__)
#define OPT_ROW(name_, short_, arg_, where_, env_, meta_, set_, off_, size_,   \
                lo_, hi_, help_)                                               \
    {                                                                          \
        .name = (name_), .shortopt = (short_), .arg = (arg_),                  \
        .where = (where_), .env = (env_), .meta = (meta_), .set = (set_),      \
        .off = (off_), .size = (size_), .lo = (lo_), .hi = (hi_),              \
        .help = (help_)                                                        \
    }

static const struct opt_row opt_table[] = {
    /* command line only */
    OPT("config", 0, "PATH", WHERE_ARGS, NULL, META_CONFIG, NULL,
        F(config_path), 0, 0, "configuration file (default below)"),
    OPT("check-config", 0, NULL, WHERE_ARGS, NULL, META_CHECK, NULL,
        F(check_config), 0, 0,
        "check configuration and credentials, then exit"),
    /* Binance and MCP */
    OPT("mode", 0, "MODE", WHERE_ALL, NULL, META_NONE, set_mode, F(mode), 0, 0,
        "transport: stdio (default) or sse (HTTP daemon)"),
    OPT("read-only", 0, NULL, WHERE_ALL, "BINMCPD_READ_ONLY", META_NONE,
        set_flag, F(read_only), 0, 0, "hide and refuse every order tool"),
    OPT("max-result-bytes", 0, "BYTES", WHERE_ALL, "BINMCPD_MAX_RESULT_BYTES",
        META_NONE, set_size, F(max_result_bytes), 10000, 10485760,
        "largest tool result; longer lists are cut (100000)"),
    OPT("toolsets", 0, "LIST", WHERE_ALL, "BINMCPD_TOOLSETS", META_NONE,
        set_string, F(toolsets), 0, 0,
        "market,account,trade,orderlists,analytics (all)"),
    OPT("testnet", 0, NULL, WHERE_ALL, "BINANCE_TESTNET", META_NONE,
        set_testnet, NOFIELD, 0, 0, "use the Spot testnet by default"),
    OPT("base-url", 0, "URL", WHERE_ALL, "BINANCE_BASE_URL", META_NONE, set_url,
        F(bnc.mainnet_url), 0, 0, "mainnet URL (https://api.binance.com)"),
    OPT("testnet-url", 0, "URL", WHERE_ALL, "BINANCE_TESTNET_URL", META_NONE,
        set_url, F(bnc.testnet_url), 0, 0,
        "testnet URL (https://testnet.binance.vision)"),
    OPT("demo-url", 0, "URL", WHERE_ALL, "BINANCE_DEMO_URL", META_NONE, set_url,
        F(bnc.demo_url), 0, 0, "demo mode URL (https://demo-api.binance.com)"),
    OPT("timeout-ms", 0, "MS", WHERE_ALL, "BINANCE_TIMEOUT_MS", META_NONE,
        set_long, F(bnc.timeout_ms), 100, 600000,
        "Binance request timeout, 100..600000 (10000)"),
    OPT("recv-window", 0, "MS", WHERE_ALL, "BINANCE_RECV_WINDOW", META_NONE,
        set_long, F(bnc.recv_window), 1, 60000,
        "recvWindow of signed calls, 1..60000 (5000)"),
    OPT("credentials-file", 0, "PATH", WHERE_ALL, NULL, META_NONE, set_string,
        F(credentials_file), 0, 0,
        "api_key + api_secret or api_private_key_file, 0600"),
    OPT("log-level", 0, "LEVEL", WHERE_ALL, "BINMCPD_LOG_LEVEL", META_NONE,
        set_log_level, F(log_level), 0, 0,
        "debug, info (default), notice, warning, error"),
    /* trading safety (binmcpd.conf(5), TRADING SAFELY) */
    OPT("order-confirmation", 0, "MODE", WHERE_ALL,
        "BINMCPD_ORDER_CONFIRMATION", META_NONE, set_confirmation, NOFIELD, 0,
        0, "auto (default), elicitation, token or off"),
    OPT("confirm-on", 0, "WHEN", WHERE_ALL, "BINMCPD_CONFIRM_ON", META_NONE,
        set_confirm_on, NOFIELD, 0, 0, "mainnet (default) or always"),
    OPT("confirmation-timeout", 0, "SEC", WHERE_ALL,
        "BINMCPD_CONFIRMATION_TIMEOUT", META_NONE, set_int,
        F(trading.confirmation_timeout_s), 5, 3600,
        "wait for the user's answer, 5..3600 (120)"),
    OPT("max-order-notional", 0, "USDT", WHERE_ALL,
        "BINMCPD_MAX_ORDER_NOTIONAL", META_NONE, set_decimal,
        F(trading.max_order_notional), 0, 1e12,
        "per-order cap; required for mainnet orders"),
    OPT("max-daily-notional", 0, "USDT", WHERE_ALL,
        "BINMCPD_MAX_DAILY_NOTIONAL", META_NONE, set_decimal,
        F(trading.max_daily_notional), 0, 1e12,
        "per key, rolling 24 h, 0 = none (0)"),
    OPT("allowed-symbols", 0, "LIST", WHERE_ALL, "BINMCPD_ALLOWED_SYMBOLS",
        META_NONE, set_symbols, F(trading.allowed_symbols), 0, 0,
        "symbols orders may use (globs; all)"),
    OPT("denied-symbols", 0, "LIST", WHERE_ALL, "BINMCPD_DENIED_SYMBOLS",
        META_NONE, set_symbols, F(trading.denied_symbols), 0, 0,
        "symbols orders may not use (globs)"),
    OPT("max-open-orders", 0, "N", WHERE_ALL, "BINMCPD_MAX_OPEN_ORDERS",
        META_NONE, set_int, F(trading.max_open_orders), 0, 100000,
        "open orders per symbol, 0 = no limit (0)"),
    OPT("journal", 0, "PATH", WHERE_ALL, "BINMCPD_JOURNAL", META_NONE,
        set_string, F(trading.journal), 0, 0,
        "audit journal (SQLite; default below)"),
    /* the HTTP daemon */
    OPT("bind", 0, "ADDR", WHERE_ALL, NULL, META_NONE, set_bind, F(bind), 0, 0,
        "address to listen on (127.0.0.1)"),
    OPT("port", 0, "PORT", WHERE_ALL, NULL, META_NONE, set_int, F(port), 0,
        65535, "TCP port, 0 = any free one (8000)"),
    OPT("workers", 0, "N", WHERE_ALL, NULL, META_NONE, set_int, F(workers), 1,
        64, "worker processes, 1..64 (number of CPUs)"),
    OPT("max-connections", 0, "N", WHERE_ALL, NULL, META_NONE, set_int,
        F(max_connections), 1, 100000, "open SSE streams, all workers (50)"),
    OPT("max-sessions", 0, "N", WHERE_ALL, NULL, META_NONE, set_int,
        F(max_sessions), 1, 1000000, "sessions, all workers (10000)"),
    OPT("max-sessions-per-client", 0, "N", WHERE_ALL, NULL, META_NONE, set_int,
        F(max_sessions_per_client), 0, 1000000,
        "sessions per token or address, 0 = any (1000)"),
    OPT("request-timeout", 0, "SEC", WHERE_ALL, NULL, META_NONE, set_int,
        F(request_timeout_s), 1, 3600, "deadline for a whole request (10)"),
    OPT("max-connections-per-ip", 0, "N", WHERE_ALL, NULL, META_NONE, set_int,
        F(max_connections_per_ip), 0, 1000000,
        "connections per address, 0 = any (64)"),
    OPT("allowed-hosts", 0, "LIST", WHERE_ALL, NULL, META_NONE, set_hosts,
        F(allowed_hosts), 0, 0, "Host names served besides loopback"),
    OPT("keepalive", 0, "SEC", WHERE_ALL, NULL, META_NONE, set_int,
        F(keepalive_s), 1, 3600, "SSE keep-alive interval (30)"),
    OPT("session-idle", 0, "SEC", WHERE_ALL, NULL, META_NONE, set_int,
        F(session_idle_s), 1, 86400 * 7, "idle sessions expire (1800)"),
    OPT("drain-timeout", 0, "SEC", WHERE_ALL, NULL, META_NONE, set_int,
        F(drain_s), 0, 600, "graceful-stop deadline (10)"),
    OPT("max-body", 0, "BYTES", WHERE_ALL, NULL, META_NONE, set_size,
        F(max_body), 1024, 3 * 1024 * 1024, "largest POST body (1048576)"),
    OPT("allow-origin", 0, "ORIGIN", WHERE_ALL, NULL, META_NONE, set_origin,
        NOFIELD, 0, 0, "a browser Origin to allow (repeatable)"),
    OPT("tls-cert", 0, "PATH", WHERE_ALL, NULL, META_NONE, set_string,
        F(tls_cert), 0, 0, "PEM certificate chain: serve HTTPS"),
    OPT("tls-key", 0, "PATH", WHERE_ALL, NULL, META_NONE, set_string,
        F(tls_key), 0, 0, "PEM private key of --tls-cert"),
    OPT("auth-tokens-file", 0, "PATH", WHERE_ALL, NULL, META_NONE, set_string,
        F(auth_tokens_file), 0, 0, "bearer tokens clients must present"),
    OPT("allow-unauthenticated", 0, NULL, WHERE_ALL, NULL, META_NONE, set_flag,
        F(allow_unauthenticated), 0, 0,
        "allow a non-loopback bind without tokens"),
    OPT("rate-limit", 0, "N", WHERE_ALL, NULL, META_NONE, set_decimal,
        F(rate_limit), 0, 1000000, "requests/s per client, 0 = off (0)"),
    OPT("rate-burst", 0, "N", WHERE_ALL, NULL, META_NONE, set_int,
        F(rate_burst), 1, 1000000, "requests allowed in a burst (20)"),
    /* live market data (the feed process) */
    OPT("feed", 0, "BOOL", WHERE_ALL, "BINMCPD_FEED", META_NONE, set_flag,
        F(feed), 0, 0, "live market data: the feed (yes)"),
    OPT("stream-url", 0, "URL", WHERE_ALL, "BINANCE_STREAM_URL", META_NONE,
        set_ws_url, F(stream_url), 0, 0,
        "market streams (the environment's wss:// URL)"),
    OPT("ws-api-url", 0, "URL", WHERE_ALL, "BINANCE_WS_API_URL", META_NONE,
        set_ws_url, F(ws_api_url), 0, 0,
        "WebSocket API (the environment's wss:// URL)"),
    OPT("feed-idle", 0, "SEC", WHERE_ALL, NULL, META_NONE, set_int,
        F(feed_idle_s), 1, 86400, "drop a symbol nobody read for (900)"),
    OPT("max-tracked-symbols", 0, "N", WHERE_ALL, NULL, META_NONE, set_int,
        F(max_tracked_symbols), 1, MARKET_SYMBOLS_MAX,
        "symbols the feed follows at once, 1..256 (50)"),
    OPT("notify-interval", 0, "SEC", WHERE_ALL, "BINMCPD_NOTIFY_INTERVAL",
        META_NONE, set_decimal, F(notify_interval), 0, 3600,
        "resource updates: at most one per resource per SEC (1)"),
    /* running as a daemon */
    OPT("daemon", 0, NULL, WHERE_ALL, NULL, META_NONE, set_daemon_or_foreground,
        F(daemonize), 0, 0, "detach from the terminal"),
    OPT("foreground", 0, NULL, WHERE_ALL, NULL, META_NONE,
        set_daemon_or_foreground, F(foreground), 0, 0,
        "stay in the foreground (overrides daemon)"),
    OPT("pidfile", 0, "PATH", WHERE_ALL, NULL, META_NONE, set_string,
        F(pidfile), 0, 0, "process id file (default below)"),
    OPT("user", 0, "NAME", WHERE_ALL, NULL, META_NONE, set_string, F(user), 0,
        0, "drop root privileges to this user"),
    /* command line only */
    OPT("help", 'h', NULL, WHERE_ARGS, NULL, META_HELP, NULL, NOFIELD, 0, 0,
        "print this help"),
    OPT("version", 'V', NULL, WHERE_ARGS, NULL, META_VERSION, NULL, NOFIELD, 0,
        0, "print the version"),
};

#define OPT_COUNT    (sizeof(opt_table) / sizeof(opt_table[0]))
#define OPT_VAL_BASE 256

/* The row of the long option name, or NULL. */
static const struct opt_row *
opt_find(const char *name)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strcmp(opt_table[i].name, name) == 0)
            return &opt_table[i];
    return NULL;
}

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
    s->max_sessions = 10000;
    s->max_sessions_per_client = 1000;
    s->request_timeout_s = 10;
    s->max_connections_per_ip = 64;
    s->keepalive_s = 30;
    s->session_idle_s = 1800;
    s->drain_s = 10;
    s->max_body = 1024 * 1024;
    s->rate_limit = 0;
    s->rate_burst = 20;
    s->trading.confirmation_timeout_s = 120;
    s->max_result_bytes = 100000;
    s->feed = 1;
    s->feed_idle_s = 900;
    s->notify_interval = 1;
    s->max_tracked_symbols = MARKET_SYMBOLS_DEFAULT;
    snprintf(s->config_path, sizeof(s->config_path), "%s",
             SETTINGS_DEFAULT_CONFIG);
    snprintf(s->pidfile, sizeof(s->pidfile), "%s", SETTINGS_DEFAULT_PIDFILE);
    bnc_config_defaults(&s->bnc);
}

void
settings_usage(FILE *out)
{
    char left[64];

    fprintf(out,
            "usage: binmcpd [--mode stdio|sse] [--config PATH] [options]\n"
            "       binmcpd --check-config [--config PATH]\n"
            "\n"
            "Serves the Binance Spot API to MCP clients: JSON-RPC on stdin\n"
            "and stdout (--mode stdio), or an HTTP daemon (--mode sse).\n"
            "Settings come from the configuration file, then the\n"
            "environment, then the command line; every option is also a\n"
            "file key (--max-connections N: max_connections = N).\n"
            "Credentials come from BINANCE_API_KEY and BINANCE_API_SECRET\n"
            "or from the credentials file. See binmcpd(8), binmcpd.conf(5).\n"
            "\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_row *o = &opt_table[i];
        if (o->shortopt != 0)
            snprintf(left, sizeof(left), "-%c, --%s", o->shortopt, o->name);
        else if (o->arg != NULL)
            snprintf(left, sizeof(left), "    --%s %s", o->name, o->arg);
        else
            snprintf(left, sizeof(left), "    --%s", o->name);
        fprintf(out, "  %-27s %s\n", left, o->help);
    }
    fprintf(out,
            "\nConfiguration file: %s\nPid file: %s\n"
            "Journal: %s (--mode sse),\n"
            "         $XDG_STATE_HOME/binmcpd/journal.db (--mode stdio)\n",
            SETTINGS_DEFAULT_CONFIG, SETTINGS_DEFAULT_PIDFILE,
            SETTINGS_DEFAULT_JOURNAL);
}

/* ---- the environment ---- */

int
settings_from_env(struct settings *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_row *o = &opt_table[i];
        const char *v;
        if (o->env == NULL || (v = getenv(o->env)) == NULL || *v == '\0')
            continue;
        struct opt_ctx c = {s, o, o->env, v, LAYER_ENV, err, errlen};
        if (o->set(&c) < 0)
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
    if (have_key) {
        char why[200];
        if (creds_set(&s->creds, key, secret, s->bnc.default_env, why,
                      sizeof(why)) < 0) {
            snprintf(err, errlen, "BINANCE_API_KEY/BINANCE_API_SECRET: %s",
                     why);
            return -1;
        }
        s->creds_env_fixed = 0;
        snprintf(s->creds_from, sizeof(s->creds_from), "environment");
    }
    return 0;
}

/* ---- the command line ---- */

/* getopt_long over argv, from the start. pass_meta: handle only --config,
 * --check-config, --help and --version, and find every syntax error;
 * otherwise apply every other option. *wants (may be NULL) gets META_HELP
 * or META_VERSION when asked for. Returns 0 or -1 with a sentence in err.
 * argv is not permuted ('+': the first non-option ends the options). */
static int
args_pass(struct settings *s, int argc, char **argv, int pass_meta,
          enum opt_meta *wants, char *err, size_t errlen)
{
    struct option longopts[OPT_COUNT + 1];
    int ch, failed = 0;

    memset(longopts, 0, sizeof(longopts)); /* and the terminating row */
    for (size_t i = 0; i < OPT_COUNT; i++) {
        longopts[i].name = opt_table[i].name;
        longopts[i].has_arg =
            opt_table[i].arg != NULL ? required_argument : no_argument;
        longopts[i].flag = NULL;
        longopts[i].val = opt_table[i].shortopt != 0 ? opt_table[i].shortopt
                                                     : OPT_VAL_BASE + (int)i;
    }

    if (argc < 1 || argv == NULL)
        return 0;
    opterr = 0;
#ifdef __GLIBC__
    optind = 0; /* also resets glibc's state from an earlier scan */
#else
    optind = 1;
#endif
    while ((ch = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        const struct opt_row *o = NULL;
        if (ch >= OPT_VAL_BASE && ch < OPT_VAL_BASE + (int)OPT_COUNT) {
            o = &opt_table[ch - OPT_VAL_BASE];
        } else if (ch == 'h' || ch == 'V') {
            o = opt_find(ch == 'h' ? "help" : "version");
        } else if (ch == ':' || ch == '?') {
            if (failed++)
                continue;
            if (ch == ':' && optopt >= OPT_VAL_BASE)
                snprintf(err, errlen,
                         "option '--%s' needs a value; try 'binmcpd --help'",
                         opt_table[optopt - OPT_VAL_BASE].name);
            else if (optopt >= OPT_VAL_BASE)
                snprintf(err, errlen,
                         "option '--%s' takes no value; try 'binmcpd --help'",
                         opt_table[optopt - OPT_VAL_BASE].name);
            else if (optopt > 0)
                snprintf(err, errlen,
                         "unknown option '-%c'; try 'binmcpd --help'", optopt);
            else
                snprintf(err, errlen,
                         "unknown or ambiguous option '%s'; try 'binmcpd "
                         "--help'",
                         argv[optind - 1]);
            if (!pass_meta)
                return -1;
            continue;
        }
        if (o == NULL)
            continue;
        if (pass_meta) {
            if (o->meta == META_CHECK)
                s->check_config = 1; /* even after an error: exit 1 */
            if (failed)
                continue;
            switch (o->meta) {
            case META_CONFIG:
                if (optarg[0] == '\0' ||
                    strlcpy_checked(s->config_path, optarg,
                                    sizeof(s->config_path)) < 0) {
                    snprintf(err, errlen,
                             "--config needs a path shorter than %d "
                             "characters",
                             SETTINGS_PATH_MAX);
                    failed++;
                }
                s->config_given = 1;
                break;
            case META_HELP:
            case META_VERSION:
                if (wants != NULL && *wants == META_NONE)
                    *wants = o->meta;
                break;
            case META_CHECK:
            case META_NONE:
                break;
            }
            continue;
        }
        if (o->meta != META_NONE)
            continue;
        char name[64];
        snprintf(name, sizeof(name), "--%s", o->name);
        struct opt_ctx c = {
            s,          o,   name,  o->arg != NULL ? optarg : NULL,
            LAYER_ARGS, err, errlen};
        if (o->set(&c) < 0)
            return -1;
    }
    if (!failed && optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        failed++;
    }
    return failed ? -1 : 0;
}

/* The first pass, and --help / --version. Returns 0, 1 (printed; exit 0)
 * or -1. */
static int
args_meta(struct settings *s, int argc, char **argv, int quiet, char *err,
          size_t errlen)
{
    enum opt_meta wants = META_NONE;
    if (args_pass(s, argc, argv, 1, &wants, err, errlen) < 0)
        return -1;
    if (wants == META_HELP) {
        if (!quiet)
            settings_usage(stdout);
        return 1;
    }
    if (wants == META_VERSION) {
        if (!quiet)
            printf("binmcpd %s\n", PACKAGE_VERSION);
        return 1;
    }
    return 0;
}

int
settings_from_args(struct settings *s, int argc, char **argv, char *err,
                   size_t errlen)
{
    int rc = args_meta(s, argc, argv, 0, err, errlen);
    if (rc != 0)
        return rc;
    return args_pass(s, argc, argv, 0, NULL, err, errlen);
}

/* ---- files of `key = value` lines ---- */

/* Handles one key and its value. Returns 0, or -1 with a sentence (without
 * the file and line) in err. */
typedef int (*kv_handler)(void *ctx, const char *key, const char *value,
                          char *err, size_t errlen);

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Splits one NUL-terminated line in place. *key is NULL for a blank line
 * or a comment. secret: never quote the line in a message. Returns 0, or
 * -1 with a sentence in err. */
static int
kv_split(char *line, int secret, char **key, char **value, char *err,
         size_t errlen)
{
    char *p = line, *eq, *end;

    *key = *value = NULL;
    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    eq = strchr(p, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected 'key = value'");
        return -1;
    }
    end = eq;
    while (end > p && is_blank(end[-1]))
        end--;
    if (end == p) {
        snprintf(err, errlen, "missing key before '='");
        return -1;
    }
    *end = '\0';
    for (char *k = p; *k != '\0'; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '-')) {
            if (secret)
                snprintf(err, errlen,
                         "a key is made of a-z, 0-9 and '_' (and is "
                         "followed by '=')");
            else
                snprintf(err, errlen,
                         "invalid key '%.64s' (a key is made of a-z, 0-9 and "
                         "'_')",
                         p);
            return -1;
        }
    }
    *key = p;

    char *v = eq + 1;
    while (is_blank(*v))
        v++;
    if (*v == '"') {
        char *close = strchr(v + 1, '"');
        if (close == NULL) {
            snprintf(err, errlen, "the value's closing '\"' is missing");
            return -1;
        }
        *close = '\0';
        for (char *r = close + 1; *r != '\0' && *r != '#'; r++) {
            if (!is_blank(*r)) {
                snprintf(err, errlen,
                         "only a comment may follow a quoted value");
                return -1;
            }
        }
        *value = v + 1;
        return 0;
    }
    /* '#' after whitespace starts a comment (it may be in a URL otherwise) */
    for (char *c = eq + 1; *c != '\0'; c++) {
        if (*c == '#' && is_blank(c[-1])) {
            *c = '\0';
            break;
        }
    }
    end = v + strlen(v);
    while (end > v && is_blank(end[-1]))
        end--;
    *end = '\0';
    *value = v;
    return 0;
}

/* Parses text (len bytes; text[len] must be writable) line by line, in
 * place, calling fn for every `key = value`. Errors read "path:line: ...".
 * Returns 0 or -1. */
static int
kv_parse(const char *path, char *text, size_t len, int secret, kv_handler fn,
         void *ctx, char *err, size_t errlen)
{
    char *p = text, *end = text + len, *key, *value;
    char why[384];
    unsigned line = 0;

    text[len] = '\0';
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl != NULL ? nl : end;
        line++;
        if ((size_t)(eol - p) > SETTINGS_LINE_MAX) {
            snprintf(err, errlen, "%s:%u: line longer than %d characters", path,
                     line, SETTINGS_LINE_MAX);
            return -1;
        }
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
            snprintf(err, errlen, "%s:%u: line contains a NUL byte", path,
                     line);
            return -1;
        }
        *eol = '\0';
        if (kv_split(p, secret, &key, &value, why, sizeof(why)) < 0 ||
            (key != NULL && fn(ctx, key, value, why, sizeof(why)) < 0)) {
            snprintf(err, errlen, "%s:%u: %s", path, line, why);
            secure_wipe(why, sizeof(why));
            return -1;
        }
        p = eol + 1;
    }
    return 0;
}

/* The configuration file's key handler: ctx is the struct settings. */
static int
config_key(void *ctx, const char *key, const char *value, char *err,
           size_t errlen)
{
    struct settings *s = ctx;
    char name[64];
    const struct opt_row *o = NULL;
    size_t n = strlen(key);

    if (strchr(key, '-') != NULL) {
        char fixed[64];
        snprintf(fixed, sizeof(fixed), "%s", key);
        for (char *c = fixed; *c != '\0'; c++)
            if (*c == '-')
                *c = '_';
        snprintf(err, errlen, "unknown key '%.64s' (did you mean '%s'?)", key,
                 fixed);
        return -1;
    }
    if (n < sizeof(name)) {
        memcpy(name, key, n + 1);
        for (char *c = name; *c != '\0'; c++)
            if (*c == '_')
                *c = '-';
        o = opt_find(name);
    }
    if (o == NULL) {
        if (strcmp(key, "api_key") == 0 || strcmp(key, "api_secret") == 0 ||
            strcmp(key, "api_private_key_file") == 0 ||
            strcmp(key, "environment") == 0)
            snprintf(err, errlen,
                     "%s belongs in the credentials file (see "
                     "credentials_file)",
                     key);
        else
            snprintf(err, errlen, "unknown key '%.64s'", key);
        return -1;
    }
    if (!(o->where & WHERE_FILE)) {
        snprintf(err, errlen, "'%s' is a command-line option, not a key", key);
        return -1;
    }
    if (o->arg == NULL && value[0] == '\0') {
        snprintf(err, errlen, "%s needs yes or no", key);
        return -1;
    }
    struct opt_ctx c = {s, o, key, value, LAYER_FILE, err, errlen};
    return o->set(&c);
}

int
settings_from_file(struct settings *s, const char *path, char *err,
                   size_t errlen)
{
    size_t len;
    char *text;
    int rc;

    if (secfile_read(path, "the configuration file", SECFILE_PUBLIC,
                     SETTINGS_FILE_MAX, &text, &len, err, errlen) < 0)
        return -1;
    rc = kv_parse(path, text, len, 0, config_key, s, err, errlen);
    free(text);
    return rc;
}

/* ---- the credentials file ---- */

struct creds_file {
    char key[CREDS_KEY_MAX + 1];
    char secret[CREDS_KEY_MAX + 1];
    char key_file[SETTINGS_PATH_MAX]; /* api_private_key_file */
    int have_key, have_secret, have_key_file, have_env;
    enum bnc_env env;
};

static int
creds_key(void *ctx, const char *key, const char *value, char *err,
          size_t errlen)
{
    struct creds_file *cf = ctx;
    char *dst = NULL;
    size_t dstlen = CREDS_KEY_MAX + 1;
    int *have;

    if (strcmp(key, "api_key") == 0) {
        dst = cf->key;
        have = &cf->have_key;
    } else if (strcmp(key, "api_secret") == 0) {
        dst = cf->secret;
        have = &cf->have_secret;
    } else if (strcmp(key, "api_private_key_file") == 0) {
        dst = cf->key_file;
        dstlen = sizeof(cf->key_file);
        have = &cf->have_key_file;
    } else if (strcmp(key, "environment") == 0) {
        have = &cf->have_env;
    } else {
        snprintf(err, errlen,
                 "unknown key (the keys are api_key, api_secret, "
                 "api_private_key_file and environment)");
        return -1;
    }
    if (*have) {
        snprintf(err, errlen, "%s is given twice", key);
        return -1;
    }
    *have = 1;
    if (dst == NULL) {
        if (creds_env_parse(value, &cf->env) < 0) {
            snprintf(err, errlen,
                     "environment must be mainnet or testnet (or demo), "
                     "not '%.32s'",
                     value);
            return -1;
        }
        return 0;
    }
    if (strlcpy_checked(dst, value, dstlen) < 0) {
        snprintf(err, errlen, "%s is longer than %zu characters", key,
                 dstlen - 1);
        return -1;
    }
    return 0;
}

int
settings_read_credentials(const char *path, enum bnc_env env, struct creds *out,
                          int *env_fixed, char *err, size_t errlen)
{
    struct creds_file cf;
    size_t len = 0;
    char *text;
    char why[1200];
    int rc = -1;

    creds_wipe(out);
    if (secfile_read(path, "the credentials file", SECFILE_SECRET,
                     SETTINGS_CREDS_FILE_MAX, &text, &len, err, errlen) < 0)
        return -1;
    memset(&cf, 0, sizeof(cf));
    if (kv_parse(path, text, len, 1, creds_key, &cf, err, errlen) < 0)
        goto done;
    if (!cf.have_key || cf.have_secret == cf.have_key_file) {
        snprintf(err, errlen, "credentials file %s: %s", path,
                 !cf.have_key ? "api_key is missing"
                 : cf.have_secret
                     ? "give api_secret (HMAC) or api_private_key_file "
                       "(Ed25519, RSA), not both"
                     : "api_secret is missing (or give "
                       "api_private_key_file)");
        goto done;
    }
    if (cf.have_key_file) {
        /* relative to the credentials file's directory */
        char kpath[2 * SETTINGS_PATH_MAX];
        const char *slash = strrchr(path, '/');
        if (cf.key_file[0] == '/' || slash == NULL)
            snprintf(kpath, sizeof(kpath), "%s", cf.key_file);
        else
            snprintf(kpath, sizeof(kpath), "%.*s/%s", (int)(slash - path), path,
                     cf.key_file);
        if (creds_set_key_file(out, cf.key, kpath, cf.have_env ? cf.env : env,
                               why, sizeof(why)) < 0) {
            snprintf(err, errlen, "credentials file %s: %s", path, why);
            goto done;
        }
    } else if (creds_set(out, cf.key, cf.secret, cf.have_env ? cf.env : env,
                         why, sizeof(why)) < 0) {
        snprintf(err, errlen, "credentials file %s: %s", path, why);
        goto done;
    }
    if (env_fixed != NULL)
        *env_fixed = cf.have_env;
    rc = 0;
done:
    secure_wipe(text, len + 1);
    free(text);
    secure_wipe(&cf, sizeof(cf));
    return rc;
}

/* ---- all of it ---- */

/* Checks that span several settings. Returns 0 or -1. */
static int
settings_validate(const struct settings *s, char *err, size_t errlen)
{
    if ((s->tls_cert[0] != '\0') != (s->tls_key[0] != '\0')) {
        snprintf(err, errlen,
                 "tls_cert and tls_key go together: give both or neither");
        return -1;
    }
    /* A public bind must name the hosts it answers to (DNS rebinding).
     * Without authentication the daemon refuses that bind anyway, for a
     * reason it gives first (auth_bind_allowed). */
    if (s->mode == MODE_SSE && !auth_is_loopback(s->bind) &&
        s->allowed_hosts[0] == '\0' &&
        (s->auth_tokens_file[0] != '\0' || s->allow_unauthenticated)) {
        snprintf(err, errlen,
                 "refusing to listen on %s without allowed_hosts: list the "
                 "host names clients use to reach this server "
                 "(--allowed-hosts mcp.example.com), or * for any",
                 s->bind);
        return -1;
    }
    return 0;
}

/* Credentials: the environment's (already in s->creds) win over the
 * credentials file, which is read and checked all the same. */
static int
load_credentials(struct settings *s, char *err, size_t errlen)
{
    struct creds file;
    int fixed = 0;

    if (s->credentials_file[0] != '\0') {
        memset(&file, 0, sizeof(file));
        if (settings_read_credentials(s->credentials_file, s->bnc.default_env,
                                      &file, &fixed, err, errlen) < 0)
            return -1;
        if (!s->creds.set) {
            memcpy(&s->creds, &file, sizeof(file));
            s->creds_env_fixed = fixed;
            snprintf(s->creds_from, sizeof(s->creds_from),
                     "credentials file %s", s->credentials_file);
        }
        creds_wipe(&file);
    }
    if (s->creds.set && !s->creds_env_fixed)
        s->creds.env = s->bnc.default_env;
    return 0;
}

/* Makes the path in buf (of size len) absolute against dir, since a
 * daemon changes to / before a SIGHUP reads the files again. key names it
 * in the message. Returns 0, or -1 with a sentence in err. */
static int
make_absolute(const char *key, char *buf, size_t len, const char *dir,
              char *err, size_t errlen)
{
    char out[SETTINGS_PATH_MAX];
    const char *rel = buf;

    if (buf[0] == '\0' || buf[0] == '/')
        return 0;
    if (dir[0] != '/') {
        snprintf(err, errlen,
                 "%s %s is relative and the working directory is unknown", key,
                 buf);
        return -1;
    }
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    if ((size_t)snprintf(out, sizeof(out), "%s%s%s", dir,
                         dir[1] != '\0' ? "/" : "", rel) >= len) {
        snprintf(err, errlen, "%s %s is too long once made absolute", key, buf);
        return -1;
    }
    memcpy(buf, out, strlen(out) + 1);
    return 0;
}

/* Every path setting, made absolute. */
static int
paths_absolute(struct settings *s, char *err, size_t errlen)
{
    struct {
        const char *key;
        char *buf;
        size_t len;
    } paths[] = {
        {"credentials_file", s->credentials_file, sizeof(s->credentials_file)},
        {"tls_cert", s->tls_cert, sizeof(s->tls_cert)},
        {"tls_key", s->tls_key, sizeof(s->tls_key)},
        {"auth_tokens_file", s->auth_tokens_file, sizeof(s->auth_tokens_file)},
        {"pidfile", s->pidfile, sizeof(s->pidfile)},
        {"journal", s->trading.journal, sizeof(s->trading.journal)},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (make_absolute(paths[i].key, paths[i].buf, paths[i].len,
                          s->start_dir, err, errlen) < 0)
            return -1;
    return 0;
}

/* The journal's default path when none was given: the daemon's state
 * directory, or for a stdio server (run by one user's client) the XDG state
 * directory of that user. Returns 0, or -1 with a sentence. */
static int
journal_default(struct settings *s, char *err, size_t errlen)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;

    if (s->trading.journal[0] != '\0')
        return 0;
    if (s->mode == MODE_SSE)
        n = snprintf(s->trading.journal, sizeof(s->trading.journal), "%s",
                     SETTINGS_DEFAULT_JOURNAL);
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(s->trading.journal, sizeof(s->trading.journal),
                     "%s/binmcpd/journal.db", xdg);
    else if (home != NULL && home[0] == '/')
        n = snprintf(s->trading.journal, sizeof(s->trading.journal),
                     "%s/.local/state/binmcpd/journal.db", home);
    else
        n = snprintf(s->trading.journal, sizeof(s->trading.journal),
                     "%s/binmcpd-journal.db", s->start_dir);
    if (n < 0 || (size_t)n >= sizeof(s->trading.journal)) {
        s->trading.journal[0] = '\0';
        snprintf(err, errlen,
                 "the default journal path is too long; set "
                 "journal = PATH");
        return -1;
    }
    return 0;
}

/* settings_load and settings_reload. dir: the working directory relative
 * paths are taken against (NULL: the current one). quiet: print nothing. */
static int
load_all(struct settings *s, int argc, char **argv, const char *dir, int quiet,
         char *err, size_t errlen)
{
    int rc;

    settings_defaults(s);
    s->argc = argc;
    s->argv = argv;
    if (dir != NULL)
        snprintf(s->start_dir, sizeof(s->start_dir), "%s", dir);
    else if (getcwd(s->start_dir, sizeof(s->start_dir)) == NULL)
        s->start_dir[0] = '\0';
    rc = args_meta(s, argc, argv, quiet, err, errlen);
    if (rc != 0)
        return rc;
    if (make_absolute("--config", s->config_path, sizeof(s->config_path),
                      s->start_dir, err, errlen) < 0)
        goto fail;
    if (s->config_given || access(s->config_path, F_OK) == 0 ||
        errno != ENOENT) {
        if (settings_from_file(s, s->config_path, err, errlen) < 0)
            goto fail;
        s->config_loaded = 1;
    }
    if (settings_from_env(s, err, errlen) < 0 ||
        args_pass(s, argc, argv, 0, NULL, err, errlen) < 0 ||
        paths_absolute(s, err, errlen) < 0 ||
        journal_default(s, err, errlen) < 0 ||
        load_credentials(s, err, errlen) < 0 ||
        settings_validate(s, err, errlen) < 0)
        goto fail;
    return 0;
fail:
    creds_wipe(&s->creds);
    s->creds_from[0] = '\0';
    return -1;
}

int
settings_load(struct settings *s, int argc, char **argv, char *err,
              size_t errlen)
{
    return load_all(s, argc, argv, NULL, 0, err, errlen);
}

int
settings_reload(const struct settings *current, struct settings *next,
                char *err, size_t errlen)
{
    int rc = load_all(next, current->argc, current->argv, current->start_dir, 1,
                      err, errlen);
    if (rc > 0) {
        /* cannot happen: the same line started the daemon */
        snprintf(err, errlen, "the command line asks for --help/--version");
        creds_wipe(&next->creds);
        return -1;
    }
    return rc;
}

/* Appends name to what (", "-separated). */
static void
append_name(char *what, size_t len, const char *name)
{
    size_t used = strlen(what);
    if (used + 1 >= len)
        return;
    snprintf(what + used, len - used, "%s%s", used > 0 ? ", " : "", name);
}

int
settings_needs_restart(const struct settings *a, const struct settings *b,
                       char *what, size_t len)
{
    int n = 0;
    struct {
        int differs;
        const char *name;
    } check[] = {
        {strcmp(a->bind, b->bind) != 0, "bind"},
        {a->port != b->port, "port"},
        {a->workers != b->workers, "workers"},
        {a->max_connections != b->max_connections, "max_connections"},
        {a->mode != b->mode, "mode"},
        {strcmp(a->user, b->user) != 0, "user"},
        {a->daemonize != b->daemonize, "daemon"},
        {strcmp(a->pidfile, b->pidfile) != 0, "pidfile"},
        {a->max_sessions != b->max_sessions, "max_sessions"},
        {a->max_sessions_per_client != b->max_sessions_per_client,
         "max_sessions_per_client"},
        {a->request_timeout_s != b->request_timeout_s, "request_timeout"},
        {a->max_connections_per_ip != b->max_connections_per_ip,
         "max_connections_per_ip"},
        {strcmp(a->allowed_hosts, b->allowed_hosts) != 0, "allowed_hosts"},
        {a->feed != b->feed, "feed"},
        {strcmp(settings_stream_url(a), settings_stream_url(b)) != 0,
         "stream_url"},
        {strcmp(settings_ws_api_url(a), settings_ws_api_url(b)) != 0,
         "ws_api_url"},
        {a->feed_idle_s != b->feed_idle_s, "feed_idle"},
        {a->notify_interval != b->notify_interval, "notify_interval"},
        {a->max_tracked_symbols != b->max_tracked_symbols,
         "max_tracked_symbols"},
    };

    if (len > 0)
        what[0] = '\0';
    for (size_t i = 0; i < sizeof(check) / sizeof(check[0]); i++) {
        if (!check[i].differs)
            continue;
        n++;
        if (len > 0)
            append_name(what, len, check[i].name);
    }
    return n;
}

/* The URL of the default environment among the three given: the one the
 * REST calls of the market tools go to. */
static const char *
env_url(const struct settings *s, const char *mainnet, const char *testnet,
        const char *demo)
{
    switch (s->bnc.default_env) {
    case BNC_ENV_TESTNET:
        return testnet;
    case BNC_ENV_DEMO:
        return demo;
    default:
        return mainnet;
    }
}

const char *
settings_stream_url(const struct settings *s)
{
    return s->stream_url[0] != '\0'
               ? s->stream_url
               : env_url(s, FEED_STREAM_URL_MAINNET, FEED_STREAM_URL_TESTNET,
                         FEED_STREAM_URL_DEMO);
}

const char *
settings_ws_api_url(const struct settings *s)
{
    return s->ws_api_url[0] != '\0'
               ? s->ws_api_url
               : env_url(s, FEED_WS_API_URL_MAINNET, FEED_WS_API_URL_TESTNET,
                         FEED_WS_API_URL_DEMO);
}

int
settings_check_paths(const struct settings *s, char *err, size_t errlen)
{
    if (s->user[0] != '\0' && getpwnam(s->user) == NULL) {
        snprintf(err, errlen, "user '%s' does not exist", s->user);
        return -1;
    }
    if (s->daemonize && s->pidfile[0] != '\0') {
        struct stat st;
        char dir[SETTINGS_PATH_MAX], *slash;
        snprintf(dir, sizeof(dir), "%s", s->pidfile);
        slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash != NULL)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "pidfile %s: the directory %s does not exist",
                     s->pidfile, dir);
            return -1;
        }
    }
    return 0;
}

void
settings_print_summary(const struct settings *s, FILE *out)
{
    if (s->config_loaded)
        fprintf(out, "config file: %s\n", s->config_path);
    else
        fprintf(out, "config file: none (%s does not exist)\n", s->config_path);
    fprintf(out, "mode: %s%s\n", s->mode == MODE_SSE ? "sse" : "stdio",
            s->read_only ? ", read-only" : "");
    if (s->mode == MODE_SSE) {
        fprintf(out, "listen: %s port %d, %d workers, %s\n", s->bind, s->port,
                s->workers, s->tls_cert[0] != '\0' ? "HTTPS" : "HTTP");
        fprintf(out, "auth: %s%s\n",
                s->auth_tokens_file[0] != '\0' ? "bearer tokens from "
                : s->allow_unauthenticated     ? "none (allowed)"
                                               : "none",
                s->auth_tokens_file);
        if (s->rate_limit > 0)
            fprintf(out, "rate limit: %g requests/s per client, burst %d\n",
                    s->rate_limit, s->rate_burst);
        else
            fprintf(out, "rate limit: off\n");
    }
    if (s->feed)
        fprintf(out,
                "live market data: streams from %s, up to %d symbols, "
                "idle after %d s; resource updates at most every %g s\n",
                settings_stream_url(s), s->max_tracked_symbols, s->feed_idle_s,
                s->notify_interval);
    else
        fprintf(out, "live market data: off (feed = off)\n");
    fprintf(out, "environment: %s (%s)\n", creds_env_name(s->bnc.default_env),
            s->bnc.default_env == BNC_ENV_TESTNET ? s->bnc.testnet_url
                                                  : s->bnc.mainnet_url);
    if (s->creds.set) {
        char masked[32];
        creds_mask(s->creds.key, masked, sizeof(masked));
        fprintf(out, "credentials: key %s (%s) from the %s\n", masked,
                creds_env_name(s->creds.env), s->creds_from);
    } else {
        fprintf(out, "credentials: none (market data only)\n");
    }
    settings_print_trading(&s->trading, s->read_only, out);
}

/* Formats a notional cap: "1000 USDT", or what its absence means. */
static const char *
cap_text(double v, const char *unset, char *buf, size_t len)
{
    if (v <= 0)
        return unset;
    snprintf(buf, len, "%.8g USDT", v);
    return buf;
}

void
settings_print_trading(const struct trading_settings *t, int read_only,
                       FILE *out)
{
    static const char *const modes[] = {"auto", "elicitation", "token", "off"};
    char a[48], b[48];

    if (read_only) {
        fprintf(out, "trading: off (read-only)\n");
        return;
    }
    fprintf(out, "order confirmation: %s, on %s, timeout %d s\n",
            modes[t->confirmation],
            t->confirm_always ? "every order" : "mainnet orders",
            t->confirmation_timeout_s);
    fprintf(out, "max order notional: %s\n",
            cap_text(t->max_order_notional,
                     "not set (mainnet orders are refused)", a, sizeof(a)));
    fprintf(out, "max daily notional: %s\n",
            cap_text(t->max_daily_notional, "none", b, sizeof(b)));
    fprintf(out, "allowed symbols: %s\n",
            t->allowed_symbols[0] != '\0' ? t->allowed_symbols : "all");
    fprintf(out, "denied symbols: %s\n",
            t->denied_symbols[0] != '\0' ? t->denied_symbols : "none");
    if (t->max_open_orders > 0)
        fprintf(out, "max open orders: %d per symbol\n", t->max_open_orders);
    else
        fprintf(out, "max open orders: no limit\n");
    fprintf(out, "journal: %s\n", t->journal);
}

void
settings_wipe(struct settings *s)
{
    creds_wipe(&s->creds);
}
