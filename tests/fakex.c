/*
 * fakex.c - the fake Binance Spot exchange the tests run against.
 *
 * One HTTP server (libmicrohttpd, a thread per connection) on 127.0.0.1.
 * It answers the public market-data endpoints with fixed numbers (fakex.h),
 * checks signed requests as Binance does, with its own HMAC-SHA256 through
 * GnuTLS so that a signing bug in the daemon is not mirrored here (and
 * Ed25519 or RSA signatures against a registered public key), keeps one
 * account (balances, orders, order lists, trades) per API key, and offers a
 * control API under /__fake/ (reset, faults, clock skew, statistics, fills,
 * order counters, scripted klines and books, market streams) that is never
 * signed.  All state lives
 * in `g` (and the order books in g_books), guarded by g.lock; only fault
 * delays sleep without holding it.  The market streams are a WebSocket
 * server on a second port (fakex_ws.c) fed from the same books.
 *
 * Usage: fakex --port N [--bind 127.0.0.1] [--extra-symbols N]
 *              [--key KEY:SECRET]...
 *              [--key-ed25519 KEY=PUBLIC.pem]... [--key-rsa KEY=PUBLIC.pem]...
 * The two default HMAC accounts (fakex.h) exist when no key option is given.
 * Prints "PORT <n>" on stdout once listening; exits on SIGTERM or SIGINT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <microhttpd.h>

#include "fakex.h"
#include "fakex_ws.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define NSYM     7                                /* the fixed symbols */
#define NSYM_MAX (NSYM + FAKEX_EXTRA_SYMBOLS_MAX) /* with --extra-symbols */
#define NASSET   7
#define CID_MAX  36

/* ------------------------------------------------------------------------
 * Fixed-point decimals: int64 in units of 1e-8, as Binance prints them.
 * ------------------------------------------------------------------------ */

typedef int64_t fx_t;
__extension__ typedef __int128 fx_wide;
#define FX_ONE     INT64_C(100000000)
#define FX_INT_MAX INT64_C(90000000000) /* keeps int * FX_ONE in range */

/* Parses ^[0-9]{1,20}(\.[0-9]{1,20})?$ into *out.  Returns 0; -1 when the
 * text does not match or overflows; -2 when it has non-zero digits beyond
 * the 8th decimal (*out is then truncated). */
static int
fx_parse(const char *s, fx_t *out)
{
    int64_t ip = 0, fp = 0;
    int nint = 0, nfrac = 0;
    bool too_precise = false;

    for (; *s >= '0' && *s <= '9'; s++, nint++) {
        if (nint >= 20 || (ip = ip * 10 + (*s - '0')) > FX_INT_MAX)
            return -1;
    }
    if (nint == 0)
        return -1;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, nfrac++) {
            if (nfrac >= 20)
                return -1;
            if (nfrac < 8)
                fp = fp * 10 + (*s - '0');
            else if (*s != '0')
                too_precise = true;
        }
        if (nfrac == 0)
            return -1;
    }
    if (*s != '\0')
        return -1;
    for (int i = nfrac < 8 ? nfrac : 8; i < 8; i++)
        fp *= 10;
    *out = ip * FX_ONE + fp;
    return too_precise ? -2 : 0;
}

/* Parses a constant from fakex.h; a bad one is a programming error. */
static fx_t
fx_const(const char *s)
{
    fx_t v = 0;
    if (fx_parse(s, &v) != 0) {
        fprintf(stderr, "fakex: bad constant '%s'\n", s);
        abort();
    }
    return v;
}

/* Formats v with 8 decimals into buf and returns buf. */
static const char *
fx_fmt(fx_t v, char *buf, size_t len)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    snprintf(buf, len, "%s%" PRIu64 ".%08" PRIu64, v < 0 ? "-" : "",
             a / (uint64_t)FX_ONE, a % (uint64_t)FX_ONE);
    return buf;
}

/* a * b, truncated to 8 decimals. */
static fx_t
fx_mul(fx_t a, fx_t b)
{
    return (fx_t)(((fx_wide)a * b) / FX_ONE);
}

/* a / b, truncated to 8 decimals; b must not be 0. */
static fx_t
fx_div(fx_t a, fx_t b)
{
    return (fx_t)(((fx_wide)a * FX_ONE) / b);
}

/* v rounded down to a multiple of step. */
static fx_t
fx_floor(fx_t v, fx_t step)
{
    return v - v % step;
}

/* Parses ^-?[0-9]{1,18}$ (negative only when allow_neg). Returns 0 or -1. */
static int
int_parse(const char *s, bool allow_neg, long long *out)
{
    long long v = 0;
    bool neg = false;
    int n = 0;

    if (allow_neg && *s == '-') {
        neg = true;
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++, n++) {
        if (n >= 18)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (n == 0 || *s != '\0')
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* ------------------------------------------------------------------------
 * The market: symbols, assets, enums.
 * ------------------------------------------------------------------------ */

struct symbol {
    const char *name, *base, *quote, *status;
    const char *last, *tick, *min_notional; /* fakex.h strings */
};

static struct symbol SYMBOLS[NSYM_MAX] = {
    {"BTCUSDT", "BTC", "USDT", "TRADING", FAKEX_BTCUSDT_LAST, FAKEX_TICK_USDT,
     FAKEX_MIN_NOTIONAL_USDT},
    {"ETHUSDT", "ETH", "USDT", "TRADING", FAKEX_ETHUSDT_LAST, FAKEX_TICK_USDT,
     FAKEX_MIN_NOTIONAL_USDT},
    {"BNBUSDT", "BNB", "USDT", "TRADING", FAKEX_BNBUSDT_LAST, FAKEX_TICK_USDT,
     FAKEX_MIN_NOTIONAL_USDT},
    {"ETHBTC", "ETH", "BTC", "TRADING", FAKEX_ETHBTC_LAST, FAKEX_TICK_ETHBTC,
     FAKEX_MIN_NOTIONAL_BTC},
    {"SOLUSDT", "SOL", "USDT", "TRADING", FAKEX_SOLUSDT_LAST, FAKEX_TICK_USDT,
     FAKEX_MIN_NOTIONAL_USDT},
    {"XRPUSDT", "XRP", "USDT", "TRADING", FAKEX_XRPUSDT_LAST, FAKEX_TICK_SMALL,
     FAKEX_MIN_NOTIONAL_USDT},
    {"LUNAUSDT", "LUNA", "USDT", "BREAK", FAKEX_LUNAUSDT_LAST, FAKEX_TICK_SMALL,
     FAKEX_MIN_NOTIONAL_USDT},
};
static int g_nsym = NSYM; /* NSYM + --extra-symbols; fixed after start */
static char g_extra_names[FAKEX_EXTRA_SYMBOLS_MAX][16];

/* Parsed numbers of each symbol, filled once by market_init(). */
static struct market {
    fx_t last, tick, min_notional;
    int base, quote; /* asset indexes */
} g_mkt[NSYM_MAX];

static fx_t g_min_qty, g_max_qty, g_step, g_max_price, g_max_notional;
static fx_t g_commission;

static const char *const ASSETS[NASSET] = {"BTC", "ETH", "USDT", "BNB",
                                           "SOL", "XRP", "LUNA"};

enum { SIDE_BUY, SIDE_SELL };
static const char *const SIDES[] = {"BUY", "SELL"};

enum {
    T_LIMIT,
    T_MARKET,
    T_LIMIT_MAKER,
    T_STOP_LOSS,
    T_STOP_LOSS_LIMIT,
    T_TAKE_PROFIT,
    T_TAKE_PROFIT_LIMIT
};
/* What each order type requires: timeInForce, price, stopPrice. */
static const struct order_type {
    const char *name;
    bool tif, price, stop;
} OTYPES[] = {
    {"LIMIT", true, true, false},
    {"MARKET", false, false, false},
    {"LIMIT_MAKER", false, true, false},
    {"STOP_LOSS", false, false, true},
    {"STOP_LOSS_LIMIT", true, true, true},
    {"TAKE_PROFIT", false, false, true},
    {"TAKE_PROFIT_LIMIT", true, true, true},
};
#define NOTYPES (sizeof(OTYPES) / sizeof(OTYPES[0]))

enum { TIF_GTC, TIF_IOC, TIF_FOK };
static const char *const TIFS[] = {"GTC", "IOC", "FOK"};
enum { RESP_ACK, RESP_RESULT, RESP_FULL };
static const char *const RESPS[] = {"ACK", "RESULT", "FULL"};
static const char *const STPS[] = {"EXPIRE_MAKER", "EXPIRE_TAKER",
                                   "EXPIRE_BOTH", "NONE"};
enum {
    ST_NEW,
    ST_PARTIALLY_FILLED,
    ST_FILLED,
    ST_CANCELED,
    ST_EXPIRED,
    ST_PENDING_NEW /* OTO / OTOCO leg waiting for its working order */
};
static const char *const STATUSES[] = {
    "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "PENDING_NEW"};

/* Order list kinds; OTOCO answers contingencyType "OTO" as Binance does. */
enum { K_OCO, K_OTO, K_OTOCO };

/* Index of name in a table of n strings, or -1. */
static int
enum_find(const char *const *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i], name) == 0)
            return (int)i;
    return -1;
}

#define ENUM_FIND(t, name) enum_find((t), sizeof(t) / sizeof((t)[0]), (name))

static int
symbol_find(const char *name)
{
    for (int i = 0; i < g_nsym; i++)
        if (strcmp(SYMBOLS[i].name, name) == 0)
            return i;
    return -1;
}

/* Parses the fakex.h strings into g_mkt and the shared filter values. */
static void
market_init(void)
{
    for (int i = 0; i < g_nsym; i++) {
        g_mkt[i].last = fx_const(SYMBOLS[i].last);
        g_mkt[i].tick = fx_const(SYMBOLS[i].tick);
        g_mkt[i].min_notional = fx_const(SYMBOLS[i].min_notional);
        g_mkt[i].base = ENUM_FIND(ASSETS, SYMBOLS[i].base);
        g_mkt[i].quote = ENUM_FIND(ASSETS, SYMBOLS[i].quote);
    }
    g_min_qty = fx_const(FAKEX_MIN_QTY);
    g_max_qty = fx_const(FAKEX_MAX_QTY);
    g_step = fx_const(FAKEX_STEP_SIZE);
    g_max_price = fx_const(FAKEX_MAX_PRICE);
    g_max_notional = fx_const(FAKEX_MAX_NOTIONAL);
    g_commission = fx_const(FAKEX_COMMISSION_RATE);
}

/* Adds n symbols X00USDT, X01USDT, ... (fakex.h, --extra-symbols) after
 * the fixed ones; called once, after market_init, before any thread. */
static void
market_add_extras(int n)
{
    for (int i = 0; i < n && g_nsym < NSYM_MAX; i++, g_nsym++) {
        snprintf(g_extra_names[i], sizeof(g_extra_names[i]), "X%02dUSDT", i);
        SYMBOLS[g_nsym] = (struct symbol){g_extra_names[i],
                                          "BTC",
                                          "USDT",
                                          "TRADING",
                                          FAKEX_EXTRA_LAST,
                                          FAKEX_TICK_USDT,
                                          FAKEX_MIN_NOTIONAL_USDT};
        g_mkt[g_nsym] = g_mkt[0];
        g_mkt[g_nsym].last = fx_const(FAKEX_EXTRA_LAST);
    }
}

/* The 24hr numbers of a symbol, all derived from its last price. */
struct ticker {
    fx_t last, open, high, low, change, wavg, bid, ask, avg;
    fx_t volume, quote_volume, last_qty, bid_qty, ask_qty;
    long long pct_milli; /* priceChangePercent * 1000 */
};

/* Fills t for symbol s (see the derivation rules in fakex.h). */
static void
ticker_compute(int s, struct ticker *t)
{
    fx_t l = g_mkt[s].last, tick = g_mkt[s].tick;

    t->last = l;
    t->open = fx_floor(l / 100 * 98, tick);
    t->high = fx_floor(l / 100 * 102, tick);
    t->low = fx_floor(l / 100 * 97, tick);
    t->change = l - t->open;
    t->wavg = fx_floor(l / 1000 * 995, tick);
    t->bid = l - tick;
    t->ask = l + tick;
    t->avg = l / 1000 * 999;
    t->volume = fx_const(FAKEX_TICKER_VOLUME);
    t->quote_volume = fx_mul(t->volume, t->wavg);
    t->last_qty = fx_const(FAKEX_TICKER_LAST_QTY);
    t->bid_qty = fx_const(FAKEX_BID_QTY);
    t->ask_qty = fx_const(FAKEX_ASK_QTY);
    t->pct_milli =
        (long long)((t->change * (fx_wide)100000 + t->open / 2) / t->open);
}

/* Formats a percentage kept in thousandths ("2.041"). */
static const char *
pct_fmt(long long milli, char *buf, size_t len)
{
    long long a = milli < 0 ? -milli : milli;
    snprintf(buf, len, "%s%lld.%03lld", milli < 0 ? "-" : "", a / 1000,
             a % 1000);
    return buf;
}

/* Checks that the BTCUSDT numbers equal the strings fakex.h promises.
 * Returns 0, or -1 after printing the first mismatch. */
static int
market_selfcheck(void)
{
    struct ticker t;
    char b[48];
    int s = symbol_find("BTCUSDT");
    ticker_compute(s, &t);
    const struct {
        fx_t v;
        const char *want;
    } rows[] = {
        {t.open, FAKEX_BTCUSDT_OPEN},
        {t.open, FAKEX_BTCUSDT_PREV_CLOSE},
        {t.high, FAKEX_BTCUSDT_HIGH},
        {t.low, FAKEX_BTCUSDT_LOW},
        {t.change, FAKEX_BTCUSDT_PRICE_CHANGE},
        {t.wavg, FAKEX_BTCUSDT_WAVG},
        {t.bid, FAKEX_BTCUSDT_BID},
        {t.ask, FAKEX_BTCUSDT_ASK},
        {t.avg, FAKEX_BTCUSDT_AVG_PRICE},
        {t.quote_volume, FAKEX_BTCUSDT_QUOTE_VOLUME},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (strcmp(fx_fmt(rows[i].v, b, sizeof(b)), rows[i].want) != 0) {
            fprintf(stderr, "fakex: derived %s, fakex.h says %s\n", b,
                    rows[i].want);
            return -1;
        }
    }
    if (strcmp(pct_fmt(t.pct_milli, b, sizeof(b)),
               FAKEX_BTCUSDT_PRICE_CHANGE_PCT) != 0) {
        fprintf(stderr, "fakex: derived percent %s\n", b);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * State: accounts, orders, trades, faults, statistics.
 * ------------------------------------------------------------------------ */

struct order {
    long long id, time, update_time, working_time;
    long long list_id; /* -1: not in an order list */
    int sym, side, type, tif, status, stp;
    char cid[CID_MAX + 1];
    fx_t price, qty, exec, cumq, stop, iceberg, quote_qty;
    bool working, has_iceberg;
    long long trailing, strategy_id, strategy_type;
    bool has_trailing, has_strategy_id, has_strategy_type;
    int amends;
    int lock_asset; /* -1: nothing locked */
    fx_t lock_amt;
};

/* An OCO, OTO or OTOCO.  Legs are kept by order id (the orders array
 * moves); an OTO's working leg is leg 0, an OCO pair is legs 0-1 (OCO) or
 * 1-2 (OTOCO).  Open while any leg is open. */
struct order_list {
    long long id, time;
    int sym, kind;
    char cid[CID_MAX + 1];
    long long leg[3];
    int nlegs;
};

struct trade {
    long long id, order_id, list_id, time;
    int sym, comm_asset;
    fx_t price, qty, quote, comm;
    bool buyer, maker;
};

struct account {
    char *key, *secret;  /* owned; secret is NULL with a public key */
    gnutls_pubkey_t pub; /* Ed25519 or RSA account: the key Binance would
                            hold (owned), else NULL */
    gnutls_sign_algorithm_t sig_alg; /* what pub verifies */
    fx_t free[NASSET], locked[NASSET];
    bool listed[NASSET];
    struct order *orders;
    size_t norders, cap_orders;
    struct order_list *lists;
    size_t nlists, cap_lists;
    struct trade *trades;
    size_t ntrades, cap_trades;
    long long update_time;
    long long win10s, n10s, win1d, n1d; /* order counters */
};

enum fault_type {
    F_429,
    F_418,
    F_500,
    F_502,
    F_503,
    F_SLOW,
    F_BADJSON,
    F_DROP
};
static const char *const FAULT_NAMES[] = {"429", "418",  "500",     "502",
                                          "503", "slow", "badjson", "drop"};

struct fault {
    int type;
    char path[128], method[16]; /* "" matches any */
    long remaining;             /* 0: until reset */
    long retry_after, delay_ms;
    bool executed;
    bool delay_after;    /* execute at once, delay only the answer */
    long long ban_until; /* 418: filled when taken */
};

struct stat_row {
    char key[160]; /* "GET /api/v3/time" */
    long count;
    char last_key[128];
    char *last_query, *last_body; /* owned */
};

static struct state {
    pthread_mutex_t lock;
    struct account acct[FAKEX_MAX_KEYS];
    size_t nacct;
    long long next_order_id, next_trade_id, next_cid;
    long long next_list_id, next_execution_id;
    long long skew_ms;
    long long weight_minute;
    long weight_used;
    struct fault *faults;
    size_t nfaults, cap_faults;
    struct stat_row *stats;
    size_t nstats, cap_stats;
    long total;
    char last_key[128];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A symbol's scripted klines and book, replacing the generated ones until
 * reset.  Caller holds g.lock for all of it. */
static struct script {
    int nk;          /* klines; 0: generated */
    long long iv_ms; /* their interval */
    char iv[8];
    long long kt[FAKEX_SCRIPT_KLINES_MAX];
    fx_t ko[FAKEX_SCRIPT_KLINES_MAX], kh[FAKEX_SCRIPT_KLINES_MAX],
        kl[FAKEX_SCRIPT_KLINES_MAX], kc[FAKEX_SCRIPT_KLINES_MAX],
        kv[FAKEX_SCRIPT_KLINES_MAX];
} g_script[NSYM_MAX];

/* Set by SIGTERM/SIGINT; read by the main loop and by sleeping workers.
 * A lock-free atomic is safe in a signal handler and across threads. */
static atomic_int g_stop;

static long long
real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The exchange clock: real time plus the skew set by /__fake/clock.
 * Caller holds g.lock. */
static long long
server_now(void)
{
    return real_ms() + g.skew_ms;
}

/* Makes room for need elements in *arr (capacity *cap, element size sz).
 * Returns 0, or -1 when out of memory (the array is unchanged). */
static int
grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * sz);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Copies src into dst (size n), truncating; never leaves dst unterminated. */
static void
copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src != NULL ? src : "");
}

static struct account *
account_find(const char *key)
{
    for (size_t i = 0; i < g.nacct; i++)
        if (strcmp(g.acct[i].key, key) == 0)
            return &g.acct[i];
    return NULL;
}

/* Adds one seeded BTCUSDT trade (no balance effect) to account a. */
static void
account_seed_trade(struct account *a, long long id, long long order_id,
                   long long time, bool buy, const char *price, const char *qty,
                   const char *quote, const char *comm)
{
    struct trade *t = &a->trades[a->ntrades++];
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->order_id = order_id;
    t->list_id = -1;
    t->time = time;
    t->sym = symbol_find("BTCUSDT");
    t->price = fx_const(price);
    t->qty = fx_const(qty);
    t->quote = fx_const(quote);
    t->comm = fx_const(comm);
    t->comm_asset = buy ? g_mkt[t->sym].base : g_mkt[t->sym].quote;
    t->buyer = buy;
    t->maker = !buy;
}

/* Returns account idx to its initial state: balances, no orders, two
 * seeded trades.  Keeps key and secret.  Returns 0 or -1 (out of memory). */
static int
account_reset(size_t idx, long long now)
{
    struct account *a = &g.acct[idx];
    static const struct {
        const char *asset, *amount;
    } init[] = {{"BTC", FAKEX_INIT_BTC},
                {"USDT", FAKEX_INIT_USDT},
                {"ETH", FAKEX_INIT_ETH},
                {"BNB", FAKEX_INIT_BNB}};

    free(a->orders);
    free(a->lists);
    free(a->trades);
    char *key = a->key, *secret = a->secret;
    gnutls_pubkey_t pub = a->pub;
    gnutls_sign_algorithm_t sig_alg = a->sig_alg;
    memset(a, 0, sizeof(*a));
    a->key = key;
    a->secret = secret;
    a->pub = pub;
    a->sig_alg = sig_alg;
    for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
        int k = ENUM_FIND(ASSETS, init[i].asset);
        a->free[k] = fx_const(init[i].amount);
        a->listed[k] = true;
    }
    a->update_time = now;
    if (grow((void **)&a->trades, &a->cap_trades, 2, sizeof(struct trade)))
        return -1;
    long long tid = FAKEX_SEED_TRADE_ID + 2 * (long long)idx;
    long long oid = FAKEX_SEED_ORDER_ID + 2 * (long long)idx;
    account_seed_trade(a, tid, oid, FAKEX_SEED_TIME, true, FAKEX_SEED1_PRICE,
                       FAKEX_SEED1_QTY, FAKEX_SEED1_QUOTE_QTY,
                       FAKEX_SEED1_COMMISSION);
    account_seed_trade(a, tid + 1, oid + 1, FAKEX_SEED_TIME + 60000, false,
                       FAKEX_SEED2_PRICE, FAKEX_SEED2_QTY,
                       FAKEX_SEED2_QUOTE_QTY, FAKEX_SEED2_COMMISSION);
    return 0;
}

static void
stats_clear(void)
{
    for (size_t i = 0; i < g.nstats; i++) {
        free(g.stats[i].last_query);
        free(g.stats[i].last_body);
    }
    free(g.stats);
    g.stats = NULL;
    g.nstats = g.cap_stats = 0;
    g.total = 0;
    g.last_key[0] = '\0';
}

static void books_reset(void);
static void uds_free(void);

/* Back to the initial state: accounts, ids, faults, counters, clock skew,
 * order books.  Caller holds g.lock.  Returns 0 or -1 (out of memory). */
static int
state_reset(void)
{
    int rc = 0;
    books_reset();
    g.skew_ms = 0;
    g.next_order_id = FAKEX_FIRST_ORDER_ID;
    g.next_trade_id = FAKEX_FIRST_TRADE_ID;
    g.next_cid = 1;
    g.next_list_id = FAKEX_FIRST_ORDER_LIST_ID;
    g.next_execution_id = FAKEX_FIRST_EXECUTION_ID;
    g.weight_minute = 0;
    g.weight_used = 0;
    free(g.faults);
    g.faults = NULL;
    g.nfaults = g.cap_faults = 0;
    stats_clear();
    for (int s = 0; s < g_nsym; s++)
        g_script[s].nk = 0;
    for (size_t i = 0; i < g.nacct; i++)
        if (account_reset(i, server_now()) < 0)
            rc = -1;
    return rc;
}

/* Frees everything the state owns (at exit). */
static void
state_free(void)
{
    for (size_t i = 0; i < g.nacct; i++) {
        free(g.acct[i].orders);
        free(g.acct[i].lists);
        free(g.acct[i].trades);
        free(g.acct[i].key);
        if (g.acct[i].secret != NULL)
            explicit_bzero(g.acct[i].secret, strlen(g.acct[i].secret));
        free(g.acct[i].secret);
        if (g.acct[i].pub != NULL)
            gnutls_pubkey_deinit(g.acct[i].pub);
    }
    g.nacct = 0;
    uds_free();
    free(g.faults);
    g.faults = NULL;
    stats_clear();
}

/* Adds w to the request weight of the current minute; returns the total. */
static long
weight_add(int w)
{
    long long minute = real_ms() / 60000;
    if (minute != g.weight_minute) {
        g.weight_minute = minute;
        g.weight_used = 0;
    }
    g.weight_used += w;
    return g.weight_used;
}

/* Rolls the order counters of a into the current 10 s / day windows. */
static void
order_counts_roll(struct account *a)
{
    long long now = real_ms();
    if (now / 10000 != a->win10s) {
        a->win10s = now / 10000;
        a->n10s = 0;
    }
    if (now / 86400000 != a->win1d) {
        a->win1d = now / 86400000;
        a->n1d = 0;
    }
}

/* Counts one request in the statistics. Caller holds g.lock. */
static void
stats_note(const char *method, const char *path, const char *key,
           const char *query, const char *body)
{
    char name[160];
    struct stat_row *r = NULL;

    snprintf(name, sizeof(name), "%s %s", method, path);
    for (size_t i = 0; i < g.nstats && r == NULL; i++)
        if (strcmp(g.stats[i].key, name) == 0)
            r = &g.stats[i];
    if (r == NULL) {
        if (grow((void **)&g.stats, &g.cap_stats, g.nstats + 1, sizeof(*r)) < 0)
            return;
        r = &g.stats[g.nstats++];
        memset(r, 0, sizeof(*r));
        copy_str(r->key, sizeof(r->key), name);
    }
    r->count++;
    copy_str(r->last_key, sizeof(r->last_key), key);
    free(r->last_query);
    free(r->last_body);
    r->last_query = strdup(query);
    r->last_body = strdup(body);
    g.total++;
    copy_str(g.last_key, sizeof(g.last_key), key);
}

/* Takes the first queued fault matching method + path into *out, counting
 * it down.  Returns true when one was taken. Caller holds g.lock. */
static bool
fault_take(const char *method, const char *path, struct fault *out)
{
    for (size_t i = 0; i < g.nfaults; i++) {
        struct fault *f = &g.faults[i];
        if ((f->path[0] && strcmp(f->path, path) != 0) ||
            (f->method[0] && strcasecmp(f->method, method) != 0))
            continue;
        *out = *f;
        out->ban_until = server_now() + out->retry_after * 1000;
        if (f->remaining > 0 && --f->remaining == 0) {
            memmove(f, f + 1, (g.nfaults - i - 1) * sizeof(*f));
            g.nfaults--;
        }
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Requests: parameters, the call being served, errors.
 * ------------------------------------------------------------------------ */

struct param {
    char *name, *value; /* decoded, owned */
    bool from_body;
};

struct param_list {
    struct param v[FAKEX_MAX_PARAMS];
    size_t n;
    int error; /* 0, or 1 duplicate, 2 too many */
};

static int
hexval(char ch)
{
    return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/* Decodes len bytes of application/x-www-form-urlencoded text ('+' is a
 * space, %XX a byte; a malformed escape stays literal).  Returns a new
 * string or NULL when out of memory. */
static char *
url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < len &&
                   isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Adds the parameters in raw (query string or form body) to p.  A name
 * given twice in the same part is an error; a body parameter the query
 * already has is ignored (Binance uses the query string's value). */
static void
params_parse(struct param_list *p, const char *raw, bool from_body)
{
    while (raw != NULL && *raw != '\0') {
        const char *amp = strchr(raw, '&');
        size_t seg = amp ? (size_t)(amp - raw) : strlen(raw);
        const char *eq = memchr(raw, '=', seg);
        size_t nlen = eq ? (size_t)(eq - raw) : seg;
        if (seg > 0) {
            char *name = url_decode(raw, nlen);
            char *value = eq ? url_decode(eq + 1, seg - nlen - 1) : strdup("");
            bool skip = false;
            for (size_t i = 0; name && i < p->n && !skip; i++) {
                if (strcmp(p->v[i].name, name) != 0)
                    continue;
                if (p->v[i].from_body == from_body)
                    p->error = 1;
                skip = true;
            }
            if (!skip && p->n == FAKEX_MAX_PARAMS)
                p->error = 2;
            if (skip || name == NULL || value == NULL ||
                p->n == FAKEX_MAX_PARAMS) {
                free(name);
                free(value);
            } else {
                p->v[p->n].name = name;
                p->v[p->n].value = value;
                p->v[p->n++].from_body = from_body;
            }
        }
        raw = amp ? amp + 1 : NULL;
    }
}

static void
params_free(struct param_list *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].value);
    }
    p->n = 0;
}

/* One request being served.  body is the answer (owned); status its HTTP
 * status.  acct is set once a signed request is authenticated. */
struct call {
    const char *method, *path;
    const char *raw_query, *raw_body; /* exactly as received */
    const char *api_key;              /* header, or NULL */
    struct param_list p;
    struct account *acct;
    int status;
    long retry_after; /* > 0: send a Retry-After header */
    json_object *body;
};

static void call_errorf(struct call *c, int http, int code, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

/* Sets the answer to a Binance error {"code":code,"msg":...} with HTTP
 * status http, replacing any answer already set. */
static void
call_errorf(struct call *c, int http, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_put(c->body);
    c->body = json_object_new_object();
    json_object_object_add(c->body, "code", json_object_new_int(code));
    json_object_object_add(c->body, "msg", json_object_new_string(msg));
    c->status = http;
}

/* call_errorf with a fixed message.  Always returns -1, so callers can
 * `return call_fail(...)`. */
static int
call_fail(struct call *c, int http, int code, const char *msg)
{
    call_errorf(c, http, code, "%s", msg);
    return -1;
}

static int
fail_mandatory(struct call *c, const char *name)
{
    call_errorf(c, 400, -1102,
                "Mandatory parameter '%s' was not sent, was empty/null, "
                "or malformed.",
                name);
    return -1;
}

static int
fail_illegal_int(struct call *c, const char *name)
{
    call_errorf(c, 400, -1100,
                "Illegal characters found in parameter '%s'; legal range "
                "is '^[0-9]{1,20}$'.",
                name);
    return -1;
}

static int
fail_illegal_dec(struct call *c, const char *name)
{
    call_errorf(c, 400, -1100,
                "Illegal characters found in parameter '%s'; legal range "
                "is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
                name);
    return -1;
}

static int
fail_invalid(struct call *c, const char *name)
{
    call_errorf(c, 400, -1130, "Data sent for parameter '%s' is not valid.",
                name);
    return -1;
}

static int
fail_not_required(struct call *c, const char *name)
{
    call_errorf(c, 400, -1106, "Parameter '%s' sent when not required.", name);
    return -1;
}

static int
fail_filter(struct call *c, const char *filter)
{
    call_errorf(c, 400, -1013, "Filter failure: %s", filter);
    return -1;
}

static int
fail_rejected(struct call *c, const char *msg)
{
    return call_fail(c, 400, -2010, msg);
}

static int
fail_oom(struct call *c)
{
    return call_fail(c, 500, -1000,
                     "An unknown error occurred while processing the request.");
}

/* The value of parameter name as sent, or NULL when absent. */
static const char *
param_raw(const struct call *c, const char *name)
{
    if (name == NULL) /* a parameter the endpoint does not have */
        return NULL;
    for (size_t i = 0; i < c->p.n; i++)
        if (strcmp(c->p.v[i].name, name) == 0)
            return c->p.v[i].value;
    return NULL;
}

/* The value of parameter name, or NULL when absent or empty. */
static const char *
param(const struct call *c, const char *name)
{
    const char *v = param_raw(c, name);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* Reads optional integer parameter name into *out (def when absent).
 * Returns 0, or -1 with the error set. */
static int
param_int(struct call *c, const char *name, long long def, long long *out)
{
    const char *v = param(c, name);
    *out = def;
    if (v != NULL && int_parse(v, false, out) < 0)
        return fail_illegal_int(c, name);
    return 0;
}

/* Reads optional decimal parameter name; *has tells whether it was sent.
 * Returns 0, or -1 with the error set. */
static int
param_dec(struct call *c, const char *name, fx_t *out, bool *has)
{
    const char *v = param(c, name);
    *out = 0;
    *has = v != NULL;
    if (v == NULL)
        return 0;
    int rc = fx_parse(v, out);
    if (rc == -1)
        return fail_illegal_dec(c, name);
    if (rc == -2) {
        call_errorf(c, 400, -1111, "Parameter '%s' has too much precision.",
                    name);
        return -1;
    }
    return 0;
}

/* Reads optional "true"/"false" parameter name. Returns 0 or -1. */
static int
param_bool(struct call *c, const char *name, bool *out)
{
    const char *v = param(c, name);
    *out = false;
    if (v == NULL || strcmp(v, "false") == 0)
        return 0;
    if (strcmp(v, "true") == 0) {
        *out = true;
        return 0;
    }
    return fail_invalid(c, name);
}

/* Reads the optional limit parameter: def when absent, 1..max else -1130.
 * Returns 0 or -1. */
static int
param_limit(struct call *c, long long def, long long max, long long *out)
{
    if (param_int(c, "limit", def, out) < 0)
        return -1;
    if (*out < 1 || *out > max)
        return fail_invalid(c, "limit");
    return 0;
}

/* True when s matches ^[A-Z0-9-_.]{1,20}$, Binance's symbol syntax. */
static bool
symbol_syntax_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 20)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* Resolves symbol name (sent as parameter pname) to an index in *sym.
 * Returns 0, or -1 with -1100 (bad syntax) or -1121 (unknown) set. */
static int
symbol_lookup(struct call *c, const char *pname, const char *name, int *sym)
{
    if (!symbol_syntax_ok(name)) {
        call_errorf(c, 400, -1100,
                    "Illegal characters found in parameter '%s'; legal range "
                    "is '^[A-Z0-9-_.]{1,20}$'.",
                    pname);
        return -1;
    }
    if ((*sym = symbol_find(name)) < 0)
        return call_fail(c, 400, -1121, "Invalid symbol.");
    return 0;
}

/* Reads the mandatory symbol parameter. Returns 0 or -1. */
static int
need_symbol(struct call *c, int *sym)
{
    const char *v = param(c, "symbol");
    if (v == NULL)
        return fail_mandatory(c, "symbol");
    return symbol_lookup(c, "symbol", v, sym);
}

/* Parses symbols=["A","B"] into want[]. Returns 0 or -1. */
static int
parse_symbol_list(struct call *c, const char *text, bool want[NSYM_MAX])
{
    json_object *arr = json_tokener_parse(text);
    size_t n = 0;
    int rc = 0, s;

    if (arr != NULL && json_object_is_type(arr, json_type_array))
        n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_string) ||
            !symbol_syntax_ok(json_object_get_string(e))) {
            n = 0; /* malformed: reported below */
            break;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *name =
            json_object_get_string(json_object_array_get_idx(arr, i));
        if ((rc = symbol_lookup(c, "symbols", name, &s)) < 0)
            break;
        if (want[s])
            rc = call_fail(c, 400, -1151,
                           "Symbol is present multiple times in the list.");
        want[s] = true;
    }
    json_object_put(arr);
    if (rc == 0 && n == 0)
        rc = call_fail(c, 400, -1100,
                       "Illegal characters found in parameter 'symbols'; "
                       "legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_"
                       ".]{1,20}\"){0,}){0,1}\\]$'.");
    return rc;
}

/* Resolves the optional symbol / symbols parameters into want[] (every
 * symbol when neither is sent).  *single is the index when `symbol` was
 * sent, else -1.  Returns 0 or -1. */
static int
pick_symbols(struct call *c, bool want[NSYM_MAX], int *single)
{
    const char *one = param(c, "symbol"), *many = param(c, "symbols");
    int s;

    *single = -1;
    for (int i = 0; i < g_nsym; i++)
        want[i] = one == NULL && many == NULL;
    if (one != NULL && many != NULL)
        return call_fail(c, 400, -1128,
                         "Combination of optional parameters invalid.");
    if (many != NULL)
        return parse_symbol_list(c, many, want);
    if (one == NULL)
        return 0;
    if (symbol_lookup(c, "symbol", one, &s) < 0)
        return -1;
    want[s] = true;
    *single = s;
    return 0;
}

/* ------------------------------------------------------------------------
 * JSON helpers.
 * ------------------------------------------------------------------------ */

static void
jset(json_object *o, const char *k, json_object *v)
{
    json_object_object_add(o, k, v);
}

static json_object *
jstr(const char *s)
{
    return json_object_new_string(s);
}

static json_object *
jint(long long v)
{
    return json_object_new_int64(v);
}

static json_object *
jbool(bool b)
{
    return json_object_new_boolean(b);
}

static json_object *
jfx(fx_t v)
{
    char b[48];
    return json_object_new_string(fx_fmt(v, b, sizeof(b)));
}

/* ------------------------------------------------------------------------
 * Public endpoints.
 * ------------------------------------------------------------------------ */

static void
h_ping(struct call *c)
{
    c->body = json_object_new_object();
}

static void
h_time(struct call *c)
{
    c->body = json_object_new_object();
    jset(c->body, "serverTime", jint(server_now()));
}

/* The filters array of symbol s. */
static json_object *
symbol_filters_json(int s)
{
    json_object *a = json_object_new_array(), *f;

    f = json_object_new_object();
    jset(f, "filterType", jstr("PRICE_FILTER"));
    jset(f, "minPrice", jfx(g_mkt[s].tick));
    jset(f, "maxPrice", jfx(g_max_price));
    jset(f, "tickSize", jfx(g_mkt[s].tick));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("LOT_SIZE"));
    jset(f, "minQty", jfx(g_min_qty));
    jset(f, "maxQty", jfx(g_max_qty));
    jset(f, "stepSize", jfx(g_step));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("NOTIONAL"));
    jset(f, "minNotional", jfx(g_mkt[s].min_notional));
    jset(f, "applyMinToMarket", jbool(true));
    jset(f, "maxNotional", jfx(g_max_notional));
    jset(f, "applyMaxToMarket", jbool(false));
    jset(f, "avgPriceMins", jint(FAKEX_AVG_PRICE_MINS));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("ICEBERG_PARTS"));
    jset(f, "limit", jint(FAKEX_ICEBERG_PARTS));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("TRAILING_DELTA"));
    jset(f, "minTrailingAboveDelta", jint(FAKEX_TRAILING_DELTA_MIN));
    jset(f, "maxTrailingAboveDelta", jint(FAKEX_TRAILING_DELTA_MAX));
    jset(f, "minTrailingBelowDelta", jint(FAKEX_TRAILING_DELTA_MIN));
    jset(f, "maxTrailingBelowDelta", jint(FAKEX_TRAILING_DELTA_MAX));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("MAX_NUM_ORDER_AMENDS"));
    jset(f, "maxNumOrderAmends", jint(FAKEX_MAX_ORDER_AMENDS));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("MAX_NUM_ORDERS"));
    jset(f, "maxNumOrders", jint(FAKEX_MAX_NUM_ORDERS));
    json_object_array_add(a, f);
    f = json_object_new_object();
    jset(f, "filterType", jstr("MAX_NUM_ALGO_ORDERS"));
    jset(f, "maxNumAlgoOrders", jint(FAKEX_MAX_NUM_ALGO_ORDERS));
    json_object_array_add(a, f);
    return a;
}

/* One entry of exchangeInfo.symbols. */
static json_object *
symbol_info_json(int s)
{
    json_object *o = json_object_new_object(), *types, *stps, *sets, *spot;

    jset(o, "symbol", jstr(SYMBOLS[s].name));
    jset(o, "status", jstr(SYMBOLS[s].status));
    jset(o, "baseAsset", jstr(SYMBOLS[s].base));
    jset(o, "baseAssetPrecision", jint(8));
    jset(o, "quoteAsset", jstr(SYMBOLS[s].quote));
    jset(o, "quotePrecision", jint(8));
    jset(o, "quoteAssetPrecision", jint(8));
    jset(o, "baseCommissionPrecision", jint(8));
    jset(o, "quoteCommissionPrecision", jint(8));
    types = json_object_new_array();
    for (size_t i = 0; i < NOTYPES; i++)
        json_object_array_add(types, jstr(OTYPES[i].name));
    jset(o, "orderTypes", types);
    jset(o, "icebergAllowed", jbool(true));
    jset(o, "ocoAllowed", jbool(true));
    jset(o, "otoAllowed", jbool(true));
    jset(o, "opoAllowed", jbool(false));
    jset(o, "quoteOrderQtyMarketAllowed", jbool(true));
    jset(o, "allowTrailingStop", jbool(true));
    jset(o, "cancelReplaceAllowed", jbool(true));
    jset(o, "amendAllowed", jbool(true));
    jset(o, "pegInstructionsAllowed", jbool(false));
    jset(o, "isSpotTradingAllowed", jbool(true));
    jset(o, "isMarginTradingAllowed", jbool(false));
    jset(o, "filters", symbol_filters_json(s));
    jset(o, "permissions", json_object_new_array());
    sets = json_object_new_array();
    spot = json_object_new_array();
    json_object_array_add(spot, jstr("SPOT"));
    json_object_array_add(sets, spot);
    jset(o, "permissionSets", sets);
    jset(o, "defaultSelfTradePreventionMode", jstr("EXPIRE_MAKER"));
    stps = json_object_new_array();
    for (size_t i = 0; i < sizeof(STPS) / sizeof(STPS[0]); i++)
        json_object_array_add(stps, jstr(STPS[i]));
    jset(o, "allowedSelfTradePreventionModes", stps);
    return o;
}

static json_object *
rate_limit_json(const char *type, const char *interval, int num, long limit)
{
    json_object *o = json_object_new_object();
    jset(o, "rateLimitType", jstr(type));
    jset(o, "interval", jstr(interval));
    jset(o, "intervalNum", jint(num));
    jset(o, "limit", jint(limit));
    return o;
}

static void
h_exchange_info(struct call *c)
{
    bool want[NSYM_MAX];
    int single;
    json_object *limits, *syms;

    if (pick_symbols(c, want, &single) < 0)
        return;
    c->body = json_object_new_object();
    jset(c->body, "timezone", jstr("UTC"));
    jset(c->body, "serverTime", jint(server_now()));
    limits = json_object_new_array();
    json_object_array_add(limits, rate_limit_json("REQUEST_WEIGHT", "MINUTE", 1,
                                                  FAKEX_WEIGHT_LIMIT_1M));
    json_object_array_add(
        limits, rate_limit_json("ORDERS", "SECOND", 10, FAKEX_ORDER_LIMIT_10S));
    json_object_array_add(
        limits, rate_limit_json("ORDERS", "DAY", 1, FAKEX_ORDER_LIMIT_1D));
    jset(c->body, "rateLimits", limits);
    jset(c->body, "exchangeFilters", json_object_new_array());
    syms = json_object_new_array();
    for (int i = 0; i < g_nsym; i++)
        if (want[i])
            json_object_array_add(syms, symbol_info_json(i));
    jset(c->body, "symbols", syms);
}

/* The ticker/24hr object of symbol s (FULL or MINI). */
static json_object *
ticker_json(int s, bool mini, long long now)
{
    struct ticker t;
    char b[32];
    json_object *o = json_object_new_object();

    ticker_compute(s, &t);
    jset(o, "symbol", jstr(SYMBOLS[s].name));
    if (!mini) {
        jset(o, "priceChange", jfx(t.change));
        jset(o, "priceChangePercent", jstr(pct_fmt(t.pct_milli, b, sizeof(b))));
        jset(o, "weightedAvgPrice", jfx(t.wavg));
        jset(o, "prevClosePrice", jfx(t.open));
    }
    jset(o, "lastPrice", jfx(t.last));
    if (!mini) {
        jset(o, "lastQty", jfx(t.last_qty));
        jset(o, "bidPrice", jfx(t.bid));
        jset(o, "bidQty", jfx(t.bid_qty));
        jset(o, "askPrice", jfx(t.ask));
        jset(o, "askQty", jfx(t.ask_qty));
    }
    jset(o, "openPrice", jfx(t.open));
    jset(o, "highPrice", jfx(t.high));
    jset(o, "lowPrice", jfx(t.low));
    jset(o, "volume", jfx(t.volume));
    jset(o, "quoteVolume", jfx(t.quote_volume));
    jset(o, "openTime", jint(now - 86400000));
    jset(o, "closeTime", jint(now));
    jset(o, "firstId", jint(FAKEX_TICKER_FIRST_ID));
    jset(o, "lastId", jint(FAKEX_TICKER_LAST_ID));
    jset(o, "count", jint(FAKEX_TICKER_COUNT));
    return o;
}

static json_object *
price_json(int s, long long now)
{
    json_object *o = json_object_new_object();
    (void)now;
    jset(o, "symbol", jstr(SYMBOLS[s].name));
    jset(o, "price", jfx(g_mkt[s].last));
    return o;
}

static json_object *
book_json(int s, long long now)
{
    struct ticker t;
    json_object *o = json_object_new_object();
    (void)now;
    ticker_compute(s, &t);
    jset(o, "symbol", jstr(SYMBOLS[s].name));
    jset(o, "bidPrice", jfx(t.bid));
    jset(o, "bidQty", jfx(t.bid_qty));
    jset(o, "askPrice", jfx(t.ask));
    jset(o, "askQty", jfx(t.ask_qty));
    return o;
}

/* Answers a per-symbol endpoint: one object for `symbol`, an array for
 * `symbols` or for none. */
static void
per_symbol_reply(struct call *c, json_object *(*one)(int, long long))
{
    bool want[NSYM_MAX];
    int single;
    long long now = server_now();

    if (pick_symbols(c, want, &single) < 0)
        return;
    if (single >= 0) {
        c->body = one(single, now);
        return;
    }
    c->body = json_object_new_array();
    for (int i = 0; i < g_nsym; i++)
        if (want[i])
            json_object_array_add(c->body, one(i, now));
}

static json_object *
ticker_full_json(int s, long long now)
{
    return ticker_json(s, false, now);
}

static json_object *
ticker_mini_json(int s, long long now)
{
    return ticker_json(s, true, now);
}

static void
h_ticker_24hr(struct call *c)
{
    const char *type = param(c, "type");
    bool mini = type != NULL && strcmp(type, "MINI") == 0;

    if (type != NULL && !mini && strcmp(type, "FULL") != 0) {
        call_fail(c, 400, -1139, "Invalid ticker type.");
        return;
    }
    per_symbol_reply(c, mini ? ticker_mini_json : ticker_full_json);
}

static void
h_ticker_price(struct call *c)
{
    per_symbol_reply(c, price_json);
}

static void
h_book_ticker(struct call *c)
{
    per_symbol_reply(c, book_json);
}

static void
h_avg_price(struct call *c)
{
    struct ticker t;
    int s;

    if (need_symbol(c, &s) < 0)
        return;
    ticker_compute(s, &t);
    c->body = json_object_new_object();
    jset(c->body, "mins", jint(FAKEX_AVG_PRICE_MINS));
    jset(c->body, "price", jfx(t.avg));
    jset(c->body, "closeTime", jint(server_now()));
}

/* ---- scripted market data (POST /__fake/klines, /__fake/depth) ---- */

/* Parses "a:b:c,a:b:c,..." (n fields a tuple, decimals) into the arrays
 * of cols, at most max tuples.  Returns the count, or -1. */
static int
script_tuples(const char *text, int n, fx_t *const *cols, int max)
{
    char field[48];
    int count = 0;

    if (text == NULL || *text == '\0')
        return 0;
    for (const char *p = text;; count++) {
        if (count >= max)
            return -1;
        for (int f = 0; f < n; f++) {
            size_t len = strcspn(p, f + 1 < n ? ":" : ",");
            if (len == 0 || len >= sizeof(field) ||
                (f + 1 < n && p[len] != ':'))
                return -1;
            memcpy(field, p, len);
            field[len] = '\0';
            if (fx_parse(field, &cols[f][count]) != 0)
                return -1;
            p += len + (f + 1 < n);
        }
        if (*p == '\0')
            return count + 1;
        if (*p++ != ',')
            return -1;
    }
}

/* ------------------------------------------------------------------------
 * The live order books: one per symbol, the book GET /api/v3/depth serves
 * and whose changes the depth streams publish (fakex_ws.c), so that a
 * client's local book can be compared with it level by level.  They start
 * as the fixed book of fakex.h (level i is last -/+ tick*(i+1), qty
 * (i+1)*FAKEX_DEPTH_QTY_STEP) and change only through /__fake/stream/...
 * (scripted updates and the random generator).  Guarded by g.lock.
 * ------------------------------------------------------------------------ */

struct level {
    fx_t px, qty;
};

struct kline_state {
    long long start, first, last, count;
    fx_t open, high, low, close, volume, quote, taker_base, taker_quote;
};

static struct live_book {
    struct level side[2][FAKEX_DEPTH_MAX_LIMIT]; /* [0] bids, [1] asks */
    int n[2];                                    /* best first */
    long long update_id;
    int gap_events;      /* applied but not published (scripted gap) */
    struct level top[2]; /* last bookTicker published */
    long long agg_id, trade_id;
    struct kline_state kline;
} g_books[NSYM_MAX];

static struct fxws *g_ws; /* the stream server; NULL until main starts it */

enum { BOOK_BIDS, BOOK_ASKS };

/* Whether price a ranks before b on side (bids: higher first). */
static bool
level_before(int side, fx_t a, fx_t b)
{
    return side == BOOK_BIDS ? a > b : a < b;
}

/* Sets (qty > 0) or removes (qty 0) price px on a side of book s.  A new
 * level worse than a full side's worst is not kept; a better one pushes the
 * worst out (what binmcpd's book.c does at its own cap). */
static void
book_set(int s, int side, fx_t px, fx_t qty)
{
    struct level *lv = g_books[s].side[side];
    int *n = &g_books[s].n[side], i = 0;

    while (i < *n && level_before(side, lv[i].px, px))
        i++;
    if (i < *n && lv[i].px == px) {
        if (qty > 0) {
            lv[i].qty = qty;
        } else {
            memmove(&lv[i], &lv[i + 1], (size_t)(*n - i - 1) * sizeof(*lv));
            (*n)--;
        }
        return;
    }
    if (qty == 0 || (i == *n && *n == FAKEX_DEPTH_MAX_LIMIT))
        return;
    if (*n == FAKEX_DEPTH_MAX_LIMIT)
        (*n)--;
    memmove(&lv[i + 1], &lv[i], (size_t)(*n - i) * sizeof(*lv));
    lv[i].px = px;
    lv[i].qty = qty;
    (*n)++;
}

/* Symbol s's book back to the fixed book of fakex.h.  Caller holds
 * g.lock. */
static void
book_reset(int s)
{
    fx_t qstep = fx_const(FAKEX_DEPTH_QTY_STEP);
    struct live_book *b = &g_books[s];

    memset(b, 0, sizeof(*b));
    for (int i = 0; i < FAKEX_DEPTH_MAX_LEVELS; i++) {
        fx_t off = g_mkt[s].tick * (i + 1), q = qstep * (i + 1);
        b->side[BOOK_BIDS][i] = (struct level){g_mkt[s].last - off, q};
        b->side[BOOK_ASKS][i] = (struct level){g_mkt[s].last + off, q};
    }
    b->n[BOOK_BIDS] = b->n[BOOK_ASKS] = FAKEX_DEPTH_MAX_LEVELS;
    b->update_id = FAKEX_DEPTH_LAST_UPDATE_ID;
    b->agg_id = FAKEX_STREAM_FIRST_AGG_ID;
    b->trade_id = FAKEX_STREAM_FIRST_TRADE_ID;
    b->top[BOOK_BIDS] = b->side[BOOK_BIDS][0];
    b->top[BOOK_ASKS] = b->side[BOOK_ASKS][0];
}

/* Every book back to the fixed book of fakex.h.  Caller holds g.lock. */
static void
books_reset(void)
{
    for (int s = 0; s < g_nsym; s++)
        book_reset(s);
}

/* The stream name of symbol s with suffix ("btcusdt@aggTrade"). */
static void
stream_name(int s, const char *suffix, char *buf, size_t len)
{
    size_t i = 0;
    for (; SYMBOLS[s].name[i] != '\0' && i + 1 < len; i++)
        buf[i] = (char)tolower((unsigned char)SYMBOLS[s].name[i]);
    snprintf(buf + i, len - i, "@%s", suffix);
}

static const char *const STREAM_SUFFIXES[] = {
    "depth", "depth@100ms", "aggTrade", "bookTicker", "kline_1m"};

/* fxws_stream_ok_fn: the streams served.  Reads constants only. */
static bool
stream_ok(const char *name)
{
    char buf[64];
    for (int s = 0; s < g_nsym; s++)
        for (size_t k = 0; k < sizeof(STREAM_SUFFIXES) / sizeof(char *); k++) {
            stream_name(s, STREAM_SUFFIXES[k], buf, sizeof(buf));
            if (strcmp(buf, name) == 0)
                return true;
        }
    return false;
}

/* Publishes o (taken over) on stream suffix of symbol s. */
static void
stream_publish(int s, const char *suffix, json_object *o)
{
    char name[64];

    stream_name(s, suffix, name, sizeof(name));
    if (g_ws != NULL)
        fxws_publish(
            g_ws, name,
            json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static json_object *
level_json(fx_t px, fx_t qty)
{
    json_object *l = json_object_new_array();
    json_object_array_add(l, jfx(px));
    json_object_array_add(l, jfx(qty));
    return l;
}

/* One depth event of symbol s: the changes chg[i] on side[i] (qty 0
 * removes) take update ids update_id+1 .. update_id+ids.  Published as a
 * depthUpdate unless a scripted gap swallows it; a changed top of the book
 * also goes out as a bookTicker.  Caller holds g.lock. */
static void
book_event(int s, const struct level *chg, const int *side, int nchg, int ids)
{
    struct live_book *b = &g_books[s];
    json_object *o, *bids, *asks;
    long long first = b->update_id + 1;

    for (int i = 0; i < nchg; i++)
        book_set(s, side[i], chg[i].px, chg[i].qty);
    b->update_id += ids;
    if (b->gap_events > 0) {
        b->gap_events--;
        return;
    }
    o = json_object_new_object();
    bids = json_object_new_array();
    asks = json_object_new_array();
    for (int i = 0; i < nchg; i++)
        json_object_array_add(side[i] == BOOK_BIDS ? bids : asks,
                              level_json(chg[i].px, chg[i].qty));
    jset(o, "e", jstr("depthUpdate"));
    jset(o, "E", jint(server_now()));
    jset(o, "s", jstr(SYMBOLS[s].name));
    jset(o, "U", jint(first));
    jset(o, "u", jint(b->update_id));
    jset(o, "b", bids);
    jset(o, "a", asks);
    stream_publish(s, "depth", json_object_get(o));
    stream_publish(s, "depth@100ms", o);

    struct level top[2] = {{0, 0}, {0, 0}};
    for (int k = 0; k < 2; k++)
        if (b->n[k] > 0)
            top[k] = b->side[k][0];
    if (memcmp(top, b->top, sizeof(top)) != 0) {
        memcpy(b->top, top, sizeof(top));
        o = json_object_new_object();
        jset(o, "u", jint(b->update_id));
        jset(o, "s", jstr(SYMBOLS[s].name));
        jset(o, "b", jfx(top[BOOK_BIDS].px));
        jset(o, "B", jfx(top[BOOK_BIDS].qty));
        jset(o, "a", jfx(top[BOOK_ASKS].px));
        jset(o, "A", jfx(top[BOOK_ASKS].qty));
        stream_publish(s, "bookTicker", o);
    }
}

/* A trade of qty at px on symbol s: an aggTrade event and the current
 * 1-minute kline.  Returns the aggregate trade id.  Caller holds g.lock. */
static long long
book_trade(int s, fx_t px, fx_t qty, bool buyer_maker)
{
    struct live_book *b = &g_books[s];
    struct kline_state *k = &b->kline;
    long long now = server_now(), start = now - now % 60000;
    long long agg = b->agg_id++, tid = b->trade_id++;
    fx_t quote = fx_mul(px, qty);
    json_object *o = json_object_new_object(), *kj;

    jset(o, "e", jstr("aggTrade"));
    jset(o, "E", jint(now));
    jset(o, "s", jstr(SYMBOLS[s].name));
    jset(o, "a", jint(agg));
    jset(o, "p", jfx(px));
    jset(o, "q", jfx(qty));
    jset(o, "f", jint(tid));
    jset(o, "l", jint(tid));
    jset(o, "T", jint(now));
    jset(o, "m", jbool(buyer_maker));
    jset(o, "M", jbool(true));
    stream_publish(s, "aggTrade", o);

    if (k->start != start) {
        memset(k, 0, sizeof(*k));
        k->start = start;
        k->first = tid;
        k->open = k->high = k->low = px;
    }
    k->last = tid;
    k->count++;
    k->close = px;
    k->high = px > k->high ? px : k->high;
    k->low = px < k->low ? px : k->low;
    k->volume += qty;
    k->quote += quote;
    if (!buyer_maker) { /* the buyer took: taker buy volume */
        k->taker_base += qty;
        k->taker_quote += quote;
    }
    kj = json_object_new_object();
    jset(kj, "t", jint(k->start));
    jset(kj, "T", jint(k->start + 59999));
    jset(kj, "s", jstr(SYMBOLS[s].name));
    jset(kj, "i", jstr("1m"));
    jset(kj, "f", jint(k->first));
    jset(kj, "L", jint(k->last));
    jset(kj, "o", jfx(k->open));
    jset(kj, "c", jfx(k->close));
    jset(kj, "h", jfx(k->high));
    jset(kj, "l", jfx(k->low));
    jset(kj, "v", jfx(k->volume));
    jset(kj, "n", jint(k->count));
    jset(kj, "x", jbool(false));
    jset(kj, "q", jfx(k->quote));
    jset(kj, "V", jfx(k->taker_base));
    jset(kj, "Q", jfx(k->taker_quote));
    jset(kj, "B", jstr("0"));
    o = json_object_new_object();
    jset(o, "e", jstr("kline"));
    jset(o, "E", jint(now));
    jset(o, "s", jstr(SYMBOLS[s].name));
    jset(o, "k", kj);
    stream_publish(s, "kline_1m", o);
    return agg;
}

/* One side of book s, its best n levels. */
static json_object *
depth_side_json(int s, int side, int n)
{
    json_object *arr = json_object_new_array();
    const struct level *lv = g_books[s].side[side];

    for (int i = 0; i < n && i < g_books[s].n[side]; i++)
        json_object_array_add(arr, level_json(lv[i].px, lv[i].qty));
    return arr;
}

static void
h_depth(struct call *c)
{
    long long limit;
    int s;

    if (need_symbol(c, &s) < 0 ||
        param_int(c, "limit", FAKEX_DEPTH_DEFAULT_LIMIT, &limit) < 0)
        return;
    if (limit < 1 || limit > FAKEX_DEPTH_MAX_LIMIT) {
        call_errorf(
            c, 400, -1100,
            "Illegal characters found in parameter 'limit'; legal range "
            "is '1 to %d'.",
            FAKEX_DEPTH_MAX_LIMIT);
        return;
    }
    c->body = json_object_new_object();
    jset(c->body, "lastUpdateId", jint(g_books[s].update_id));
    jset(c->body, "bids", depth_side_json(s, BOOK_BIDS, (int)limit));
    jset(c->body, "asks", depth_side_json(s, BOOK_ASKS, (int)limit));
}

static void
h_trades(struct call *c)
{
    long long limit, now = server_now();
    int s;

    if (need_symbol(c, &s) < 0 ||
        param_limit(c, FAKEX_TRADES_DEFAULT_LIMIT, FAKEX_TRADES_MAX_LIMIT,
                    &limit) < 0)
        return;
    int n = limit < FAKEX_TRADES_MAX ? (int)limit : FAKEX_TRADES_MAX;
    c->body = json_object_new_array();
    for (int i = 0; i < n; i++) {
        json_object *t = json_object_new_object();
        fx_t qty = (fx_t)((i % 5) + 1) * (FX_ONE / 100);
        jset(t, "id", jint(FAKEX_TRADES_LAST_ID - n + 1 + i));
        jset(t, "price", jfx(g_mkt[s].last));
        jset(t, "qty", jfx(qty));
        jset(t, "quoteQty", jfx(fx_mul(qty, g_mkt[s].last)));
        jset(t, "time", jint(now - (long long)(n - 1 - i) * 1000));
        jset(t, "isBuyerMaker", jbool(i % 2 == 1));
        jset(t, "isBestMatch", jbool(true));
        json_object_array_add(c->body, t);
    }
}

/* ---- klines ---- */

struct interval {
    const char *name;
    long long ms; /* 0: one calendar month */
};

static const struct interval INTERVALS[] = {
    {"1s", 1000},     {"1m", 60000},     {"3m", 180000},    {"5m", 300000},
    {"15m", 900000},  {"30m", 1800000},  {"1h", 3600000},   {"2h", 7200000},
    {"4h", 14400000}, {"6h", 21600000},  {"8h", 28800000},  {"12h", 43200000},
    {"1d", 86400000}, {"3d", 259200000}, {"1w", 604800000}, {"1M", 0},
};
#define WEEK_MS        604800000LL
#define WEEK_OFFSET_MS (4 * 86400000LL) /* 1970-01-05, the first Monday */

/* The start of the month containing t (ms), moved by months months. */
static long long
month_start(long long t, int months)
{
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mon += months;
    return (long long)timegm(&tm) * 1000;
}

/* The open time of the kline of interval iv that contains t. */
static long long
kline_align(long long t, const struct interval *iv)
{
    if (iv->ms == 0)
        return month_start(t, 0);
    long long off = iv->ms == WEEK_MS ? WEEK_OFFSET_MS : 0;
    long long q = (t - off) / iv->ms;
    if ((t - off) % iv->ms < 0)
        q--;
    return q * iv->ms + off;
}

/* The open time dir (+1/-1) klines away from the aligned open time t. */
static long long
kline_step(long long t, const struct interval *iv, int dir)
{
    return iv->ms == 0 ? month_start(t, dir) : t + dir * iv->ms;
}

/* One kline array: open time t, its prices and volume. */
static json_object *
kline_array(long long t, long long close_time, fx_t open, fx_t high, fx_t low,
            fx_t close, fx_t vol)
{
    fx_t taker = fx_const(FAKEX_KLINE_TAKER_BASE);
    json_object *k = json_object_new_array();

    if (taker > vol)
        taker = vol;
    json_object_array_add(k, jint(t));
    json_object_array_add(k, jfx(open));
    json_object_array_add(k, jfx(high));
    json_object_array_add(k, jfx(low));
    json_object_array_add(k, jfx(close));
    json_object_array_add(k, jfx(vol));
    json_object_array_add(k, jint(close_time));
    json_object_array_add(k, jfx(fx_mul(vol, close)));
    json_object_array_add(k, jint(FAKEX_KLINE_TRADES));
    json_object_array_add(k, jfx(taker));
    json_object_array_add(k, jfx(fx_mul(taker, close)));
    json_object_array_add(k, jstr("0"));
    return k;
}

/* One generated kline array for symbol s opening at t. */
static json_object *
kline_json(int s, long long t, const struct interval *iv)
{
    fx_t last = g_mkt[s].last, tick = g_mkt[s].tick;
    long long j = (t / 60000) % 7;
    fx_t open = last - j * tick, close = last - ((j + 3) % 7) * tick;

    return kline_array(t, kline_step(t, iv, 1) - 1, open,
                       (open > close ? open : close) + tick,
                       (open < close ? open : close) - tick, close,
                       fx_const(FAKEX_KLINE_VOLUME));
}

/* Serves symbol s's scripted klines as Binance does: those opening in
 * [start, end], the first limit of them when start is given, else the
 * last limit. */
static void
script_klines(struct call *c, const struct script *k, long long start,
              long long end, long long limit)
{
    int lo = 0, hi = k->nk; /* [lo, hi) in range */

    while (lo < hi && start >= 0 && k->kt[lo] < start)
        lo++;
    while (hi > lo && end >= 0 && k->kt[hi - 1] > end)
        hi--;
    if (hi - lo > limit) {
        if (start >= 0)
            hi = lo + (int)limit;
        else
            lo = hi - (int)limit;
    }
    c->body = json_object_new_array();
    for (int i = lo; i < hi; i++)
        json_object_array_add(
            c->body, kline_array(k->kt[i], k->kt[i] + k->iv_ms - 1, k->ko[i],
                                 k->kh[i], k->kl[i], k->kc[i], k->kv[i]));
}

/* Reads symbol, interval, startTime, endTime and limit for klines.
 * Returns 0 or -1. */
static int
klines_params(struct call *c, int *s, const struct interval **iv,
              long long *start, long long *end, long long *limit)
{
    const char *name;

    if (need_symbol(c, s) < 0)
        return -1;
    if ((name = param(c, "interval")) == NULL)
        return fail_mandatory(c, "interval");
    *iv = NULL;
    for (size_t i = 0; i < sizeof(INTERVALS) / sizeof(INTERVALS[0]); i++)
        if (strcmp(INTERVALS[i].name, name) == 0)
            *iv = &INTERVALS[i];
    if (*iv == NULL)
        return call_fail(c, 400, -1120, "Invalid interval.");
    if (param_int(c, "startTime", -1, start) < 0 ||
        param_int(c, "endTime", -1, end) < 0)
        return -1;
    return param_limit(c, FAKEX_KLINES_DEFAULT_LIMIT, FAKEX_KLINES_MAX_LIMIT,
                       limit);
}

static void
h_klines(struct call *c)
{
    const struct interval *iv = NULL;
    long long start, end, limit, opens[FAKEX_KLINES_MAX];
    long long now = server_now(), t;
    int s, n = 0, cap;

    if (klines_params(c, &s, &iv, &start, &end, &limit) < 0)
        return;
    if (g_script[s].nk > 0 && strcmp(g_script[s].iv, iv->name) == 0) {
        script_klines(c, &g_script[s], start, end, limit);
        return;
    }
    cap = limit < FAKEX_KLINES_MAX ? (int)limit : FAKEX_KLINES_MAX;
    long long stop = end >= 0 && end < now ? end : now;
    if (start >= 0) {
        t = kline_align(start, iv);
        if (t < start)
            t = kline_step(t, iv, 1);
        for (; n < cap && t <= stop; t = kline_step(t, iv, 1))
            opens[n++] = t;
    } else {
        for (t = kline_align(stop, iv); n < cap && t >= 0;
             t = kline_step(t, iv, -1))
            opens[n++] = t;
        for (int i = 0; i < n / 2; i++) {
            long long tmp = opens[i];
            opens[i] = opens[n - 1 - i];
            opens[n - 1 - i] = tmp;
        }
    }
    c->body = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(c->body, kline_json(s, opens[i], iv));
}

/* ------------------------------------------------------------------------
 * Signed endpoints: authentication.
 * ------------------------------------------------------------------------ */

/* Appends raw without its signature=... segments to out (at *len). */
static void
append_unsigned(char *out, size_t *len, const char *raw)
{
    bool first = true;
    while (raw != NULL && *raw != '\0') {
        const char *amp = strchr(raw, '&');
        size_t seg = amp ? (size_t)(amp - raw) : strlen(raw);
        bool is_sig = strncmp(raw, "signature=", 10) == 0 ||
                      (seg == 9 && strncmp(raw, "signature", 9) == 0);
        if (!is_sig) {
            if (!first)
                out[(*len)++] = '&';
            memcpy(out + *len, raw, seg);
            *len += seg;
            first = false;
        }
        raw = amp ? amp + 1 : NULL;
    }
    out[*len] = '\0';
}

/* True when sig is a's signature of payload (len bytes): the hex
 * HMAC-SHA256 keyed with its secret, or for an Ed25519 or RSA account
 * (a->pub) the base64 signature by its public key (RSASSA-PKCS1-v1_5
 * SHA-256). */
static bool
payload_signature_ok(const struct account *a, const char *payload, size_t len,
                     const char *sig)
{
    unsigned char mac[32];
    char hex[65];
    gnutls_datum_t b64 = {(unsigned char *)(uintptr_t)sig,
                          (unsigned)strlen(sig)};
    gnutls_datum_t raw = {NULL, 0}, data;
    bool ok = false;

    if (a->pub == NULL) {
        if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, a->secret, strlen(a->secret),
                             payload, len, mac) != 0)
            return false;
        for (size_t i = 0; i < sizeof(mac); i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        return strlen(sig) == 64 && strcasecmp(hex, sig) == 0;
    }
    data.data = (unsigned char *)(uintptr_t)payload;
    data.size = (unsigned)len;
    if (gnutls_base64_decode2(&b64, &raw) == 0)
        ok =
            gnutls_pubkey_verify_data2(a->pub, a->sig_alg, 0, &data, &raw) >= 0;
    gnutls_free(raw.data);
    return ok;
}

/* True when sig (already form-decoded) is a's signature of totalParams
 * (query string then body, no separator) with the signature removed. */
static bool
signature_ok(const struct call *c, const struct account *a, const char *sig)
{
    size_t len = 0;
    char *payload = malloc(strlen(c->raw_query) + strlen(c->raw_body) + 2);
    bool ok;

    if (payload == NULL)
        return false;
    append_unsigned(payload, &len, c->raw_query);
    append_unsigned(payload, &len, c->raw_body);
    ok = payload_signature_ok(a, payload, len, sig);
    free(payload);
    return ok;
}

/* True when key looks like a Binance API key (64 alphanumerics). */
static bool
key_format_ok(const char *key)
{
    size_t n = strlen(key);
    return n == 64 &&
           strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789") == n;
}

/* Why Binance refuses timestamp ts with recvWindow rw (-1021), or NULL
 * when it is in time.  Caller holds g.lock. */
static const char *
timestamp_error(long long ts, long long rw)
{
    long long now = server_now();
    if (ts >= now + 1000)
        return "Timestamp for this request was 1000ms ahead of the server's "
               "time.";
    if (now - ts > rw)
        return "Timestamp for this request is outside of the recvWindow.";
    return NULL;
}

/* Checks a SIGNED request in Binance's order: API key present and known,
 * signature, timestamp within recvWindow of the (skewed) server clock.
 * Sets c->acct.  Returns 0, or -1 with the error set. */
static int
auth_check(struct call *c)
{
    const char *key = c->api_key, *sig, *ts_s;
    long long ts, rw;

    if (key == NULL || *key == '\0')
        return call_fail(c, 401, -2014, "API-key format invalid.");
    if ((c->acct = account_find(key)) == NULL)
        return key_format_ok(key)
                   ? call_fail(
                         c, 401, -2015,
                         "Invalid API-key, IP, or permissions for action.")
                   : call_fail(c, 401, -2014, "API-key format invalid.");
    if ((sig = param(c, "signature")) == NULL)
        return fail_mandatory(c, "signature");
    if (!signature_ok(c, c->acct, sig))
        return call_fail(c, 400, -1022,
                         "Signature for this request is not valid.");
    if ((ts_s = param(c, "timestamp")) == NULL)
        return fail_mandatory(c, "timestamp");
    if (int_parse(ts_s, false, &ts) < 0)
        return fail_illegal_int(c, "timestamp");
    if (param_int(c, "recvWindow", FAKEX_RECV_WINDOW_DEFAULT, &rw) < 0)
        return -1;
    if (rw > FAKEX_RECV_WINDOW_MAX) {
        call_errorf(c, 400, -1131, "recvWindow must be less than %d",
                    FAKEX_RECV_WINDOW_MAX);
        return -1;
    }
    const char *late = timestamp_error(ts, rw);
    return late != NULL ? call_fail(c, 400, -1021, late) : 0;
}

/* ------------------------------------------------------------------------
 * Signed endpoints: account and trades.
 * ------------------------------------------------------------------------ */

/* GET /sapi/v1/account/apiRestrictions: the key's permissions. Account A's
 * key allows withdrawals and has no IP restriction (what a safety check
 * must warn about); every other key is restricted and cannot withdraw. */
static void
h_api_restrictions(struct call *c)
{
    bool first = c->acct == &g.acct[0];

    c->body = json_object_new_object();
    jset(c->body, "ipRestrict", jbool(!first));
    jset(c->body, "createTime", jint(FAKEX_SEED_TIME));
    jset(c->body, "enableReading", jbool(true));
    jset(c->body, "enableSpotAndMarginTrading", jbool(true));
    jset(c->body, "enableWithdrawals", jbool(first));
    jset(c->body, "enableInternalTransfer", jbool(false));
    jset(c->body, "permitsUniversalTransfer", jbool(false));
    jset(c->body, "enableMargin", jbool(false));
    jset(c->body, "enableFutures", jbool(false));
    jset(c->body, "enableVanillaOptions", jbool(false));
}

static void
h_account(struct call *c)
{
    struct account *a = c->acct;
    bool omit;
    json_object *rates, *bal, *perms;

    if (param_bool(c, "omitZeroBalances", &omit) < 0)
        return;
    c->body = json_object_new_object();
    jset(c->body, "makerCommission", jint(FAKEX_COMMISSION_BPS));
    jset(c->body, "takerCommission", jint(FAKEX_COMMISSION_BPS));
    jset(c->body, "buyerCommission", jint(0));
    jset(c->body, "sellerCommission", jint(0));
    rates = json_object_new_object();
    jset(rates, "maker", jfx(g_commission));
    jset(rates, "taker", jfx(g_commission));
    jset(rates, "buyer", jfx(0));
    jset(rates, "seller", jfx(0));
    jset(c->body, "commissionRates", rates);
    jset(c->body, "canTrade", jbool(true));
    jset(c->body, "canWithdraw", jbool(true));
    jset(c->body, "canDeposit", jbool(true));
    jset(c->body, "brokered", jbool(false));
    jset(c->body, "requireSelfTradePrevention", jbool(false));
    jset(c->body, "preventSor", jbool(false));
    jset(c->body, "updateTime", jint(a->update_time));
    jset(c->body, "accountType", jstr("SPOT"));
    bal = json_object_new_array();
    for (int i = 0; i < NASSET; i++) {
        if (!a->listed[i] || (omit && a->free[i] == 0 && a->locked[i] == 0))
            continue;
        json_object *b = json_object_new_object();
        jset(b, "asset", jstr(ASSETS[i]));
        jset(b, "free", jfx(a->free[i]));
        jset(b, "locked", jfx(a->locked[i]));
        json_object_array_add(bal, b);
    }
    jset(c->body, "balances", bal);
    perms = json_object_new_array();
    json_object_array_add(perms, jstr("SPOT"));
    jset(c->body, "permissions", perms);
    jset(c->body, "uid", jint(FAKEX_UID_BASE + (a - g.acct)));
}

static json_object *
trade_json(const struct trade *t)
{
    json_object *o = json_object_new_object();
    jset(o, "symbol", jstr(SYMBOLS[t->sym].name));
    jset(o, "id", jint(t->id));
    jset(o, "orderId", jint(t->order_id));
    jset(o, "orderListId", jint(t->list_id));
    jset(o, "price", jfx(t->price));
    jset(o, "qty", jfx(t->qty));
    jset(o, "quoteQty", jfx(t->quote));
    jset(o, "commission", jfx(t->comm));
    jset(o, "commissionAsset", jstr(ASSETS[t->comm_asset]));
    jset(o, "time", jint(t->time));
    jset(o, "isBuyer", jbool(t->buyer));
    jset(o, "isMaker", jbool(t->maker));
    jset(o, "isBestMatch", jbool(true));
    return o;
}

/* Window of a matching list: the first `limit` from an explicit start id,
 * else the last `limit`.  Sets *from and *to (exclusive) in [0, n). */
static void
list_window(size_t n, long long limit, bool from_start, size_t *from,
            size_t *to)
{
    size_t lim = (size_t)limit;
    if (from_start) {
        *from = 0;
        *to = n < lim ? n : lim;
    } else {
        *from = n > lim ? n - lim : 0;
        *to = n;
    }
}

static void
h_my_trades(struct call *c)
{
    struct account *a = c->acct;
    long long oid, start, end, from_id, limit;
    size_t n = 0, from, to;
    int s;

    if (need_symbol(c, &s) < 0 || param_int(c, "orderId", -1, &oid) < 0 ||
        param_int(c, "startTime", -1, &start) < 0 ||
        param_int(c, "endTime", -1, &end) < 0 ||
        param_int(c, "fromId", -1, &from_id) < 0 ||
        param_limit(c, FAKEX_LIST_LIMIT_DEFAULT, FAKEX_LIST_LIMIT_MAX, &limit) <
            0)
        return;
    const struct trade **sel = malloc((a->ntrades + 1) * sizeof(*sel));
    if (sel == NULL) {
        fail_oom(c);
        return;
    }
    for (size_t i = 0; i < a->ntrades; i++) {
        const struct trade *t = &a->trades[i];
        if (t->sym == s && (oid < 0 || t->order_id == oid) &&
            (start < 0 || t->time >= start) && (end < 0 || t->time <= end) &&
            (from_id < 0 || t->id >= from_id))
            sel[n++] = t;
    }
    list_window(n, limit, from_id >= 0, &from, &to);
    c->body = json_object_new_array();
    for (size_t i = from; i < to; i++)
        json_object_array_add(c->body, trade_json(sel[i]));
    free(sel);
}

/* ------------------------------------------------------------------------
 * Signed endpoints: orders.
 * ------------------------------------------------------------------------ */

/* The parameter names of one order: POST /api/v3/order's, or those of one
 * leg of an order list ("abovePrice", "workingQuantity", ...).  NULL: the
 * endpoint has no such parameter. */
struct leg_names {
    const char *side, *type, *qty, *quote_qty, *price, *stop, *tif;
    const char *iceberg, *trailing, *strategy_id, *strategy_type, *cid;
    bool in_list; /* a leg: an iceberg without GTC is -1160 */
};

static const struct leg_names ORDER_NAMES = {
    .side = "side",
    .type = "type",
    .qty = "quantity",
    .quote_qty = "quoteOrderQty",
    .price = "price",
    .stop = "stopPrice",
    .tif = "timeInForce",
    .iceberg = "icebergQty",
    .trailing = "trailingDelta",
    .strategy_id = "strategyId",
    .strategy_type = "strategyType",
    .cid = "newClientOrderId",
    .in_list = false,
};

/* A validated new-order request. */
struct order_req {
    int sym, side, type, tif, resp, stp; /* tif -1: not sent */
    fx_t qty, quote_qty, price, stop, iceberg;
    bool has_qty, has_quote_qty, has_price, has_stop, has_iceberg;
    long long trailing, strategy_id, strategy_type;
    bool has_trailing, has_strategy_id, has_strategy_type;
    const char *cid; /* NULL: generate */
};

/* Index of an order type name in OTYPES, or -1. */
static int
otype_find(const char *name)
{
    for (size_t i = 0; i < NOTYPES; i++)
        if (strcmp(OTYPES[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Reads symbol, side and type (mandatory, in Binance's order). */
static int
order_parse_kind(struct call *c, struct order_req *rq)
{
    const char *sym = param(c, "symbol"), *side = param(c, "side"),
               *type = param(c, "type");
    if (sym == NULL)
        return fail_mandatory(c, "symbol");
    if (side == NULL)
        return fail_mandatory(c, "side");
    if (type == NULL)
        return fail_mandatory(c, "type");
    if (symbol_lookup(c, "symbol", sym, &rq->sym) < 0)
        return -1;
    if ((rq->side = ENUM_FIND(SIDES, side)) < 0)
        return call_fail(c, 400, -1117, "Invalid side.");
    if ((rq->type = otype_find(type)) < 0)
        return call_fail(c, 400, -1116, "Invalid orderType.");
    return 0;
}

/* Reads optional integer parameter name; *has tells whether it was sent.
 * Returns 0, or -1 with the error set. */
static int
param_opt_int(struct call *c, const char *name, long long *out, bool *has)
{
    *has = param(c, name) != NULL;
    return param_int(c, name, 0, out);
}

/* An icebergQty with a timeInForce other than GTC. */
static int
fail_iceberg_tif(struct call *c, const struct leg_names *n)
{
    if (!n->in_list)
        return call_fail(c, 400, -1013, "Unsupported order combination");
    if (strncmp(n->tif, "above", 5) == 0 || strncmp(n->tif, "below", 5) == 0)
        call_errorf(c, 400, -1160,
                    "Parameter '%s' is not supported if aboveTimeInForce/"
                    "belowTimeInForce is not GTC.",
                    n->iceberg);
    else
        call_errorf(c, 400, -1160,
                    "Parameter '%s' is not supported if %s is not GTC.",
                    n->iceberg, n->tif);
    return -1;
}

/* Checks which of timeInForce, price, stopPrice (or trailingDelta),
 * quantity, quoteOrderQty and icebergQty the order type needs or forbids,
 * and parses them, under the names n. */
static int
order_parse_shape(struct call *c, struct order_req *rq,
                  const struct leg_names *n)
{
    const struct order_type *ot = &OTYPES[rq->type];
    const char *tif = param(c, n->tif);

    if (ot->tif && tif == NULL)
        return fail_mandatory(c, n->tif);
    if (param_dec(c, n->qty, &rq->qty, &rq->has_qty) < 0 ||
        param_dec(c, n->quote_qty, &rq->quote_qty, &rq->has_quote_qty) < 0 ||
        param_dec(c, n->price, &rq->price, &rq->has_price) < 0 ||
        param_dec(c, n->stop, &rq->stop, &rq->has_stop) < 0 ||
        param_dec(c, n->iceberg, &rq->iceberg, &rq->has_iceberg) < 0 ||
        param_opt_int(c, n->trailing, &rq->trailing, &rq->has_trailing) < 0)
        return -1;
    if (rq->type == T_MARKET && n->quote_qty != NULL && !rq->has_qty &&
        !rq->has_quote_qty)
        return call_fail(
            c, 400, -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but "
            "both were empty/null!");
    if ((rq->type != T_MARKET || n->quote_qty == NULL) && !rq->has_qty)
        return fail_mandatory(c, n->qty);
    if (ot->price && !rq->has_price)
        return fail_mandatory(c, n->price);
    if (ot->stop && !rq->has_stop && !rq->has_trailing)
        return fail_mandatory(c, n->stop);
    if (!ot->tif && tif != NULL)
        return fail_not_required(c, n->tif);
    if (!ot->price && rq->has_price)
        return fail_not_required(c, n->price);
    if (!ot->stop && rq->has_stop)
        return fail_not_required(c, n->stop);
    if (!ot->stop && rq->has_trailing)
        return fail_not_required(c, n->trailing);
    if (rq->has_quote_qty && (rq->type != T_MARKET || rq->has_qty))
        return fail_not_required(c, n->quote_qty);
    if (rq->has_iceberg && !ot->price)
        return fail_not_required(c, n->iceberg);
    rq->tif = tif != NULL ? ENUM_FIND(TIFS, tif) : -1;
    if (tif != NULL && rq->tif < 0)
        return call_fail(c, 400, -1115, "Invalid timeInForce.");
    if (rq->has_iceberg && rq->tif >= 0 && rq->tif != TIF_GTC)
        return fail_iceberg_tif(c, n);
    return 0;
}

/* True when s matches ^[\.A-Z\:/a-z0-9_-]{1,36}$ (client order ids). */
static bool
cid_syntax_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= CID_MAX &&
           strspn(s, ".:/_-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789") == n;
}

/* Reads optional client order id parameter name into *out (NULL when not
 * sent).  Returns 0, or -1 with -1100 set. */
static int
param_cid(struct call *c, const char *name, const char **out)
{
    *out = param(c, name);
    if (*out == NULL || cid_syntax_ok(*out))
        return 0;
    call_errorf(c, 400, -1100,
                "Illegal characters found in parameter '%s'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
                name);
    return -1;
}

/* Reads strategyId and strategyType (under the names n). */
static int
order_parse_strategy(struct call *c, struct order_req *rq,
                     const struct leg_names *n)
{
    if (param_opt_int(c, n->strategy_id, &rq->strategy_id,
                      &rq->has_strategy_id) < 0 ||
        param_opt_int(c, n->strategy_type, &rq->strategy_type,
                      &rq->has_strategy_type) < 0)
        return -1;
    if (rq->has_strategy_type && rq->strategy_type < 1000000)
        return call_fail(c, 400, -1134, "strategyType was less than 1000000.");
    return 0;
}

/* Reads newOrderRespType, newClientOrderId, selfTradePreventionMode,
 * strategyId and strategyType. */
static int
order_parse_options(struct call *c, struct order_req *rq)
{
    const char *resp = param(c, "newOrderRespType");
    const char *stp = param(c, "selfTradePreventionMode");

    rq->resp =
        (rq->type == T_MARKET || rq->type == T_LIMIT) ? RESP_FULL : RESP_ACK;
    if (resp != NULL && (rq->resp = ENUM_FIND(RESPS, resp)) < 0)
        return fail_invalid(c, "newOrderRespType");
    if (param_cid(c, "newClientOrderId", &rq->cid) < 0)
        return -1;
    rq->stp = 0;
    if (stp != NULL && (rq->stp = ENUM_FIND(STPS, stp)) < 0)
        return fail_invalid(c, "selfTradePreventionMode");
    return order_parse_strategy(c, rq, &ORDER_NAMES);
}

/* True when v breaks LOT_SIZE. */
static bool
lot_size_bad(fx_t v)
{
    return v < g_min_qty || v > g_max_qty || v % g_step != 0;
}

/* Applies the symbol's trading status and PRICE_FILTER, LOT_SIZE (to the
 * quantity and icebergQty), NOTIONAL, ICEBERG_PARTS and TRAILING_DELTA
 * filters.  A MARKET order by quoteOrderQty gets its quantity here (rounded
 * down to the step). */
static int
order_check_filters(struct call *c, struct order_req *rq)
{
    const struct market *m = &g_mkt[rq->sym];
    fx_t px;

    if (strcmp(SYMBOLS[rq->sym].status, "TRADING") != 0)
        return call_fail(c, 400, -1013, "Market is closed.");
    if (rq->has_price &&
        (rq->price < m->tick || rq->price > g_max_price || rq->price % m->tick))
        return fail_filter(c, "PRICE_FILTER");
    if (rq->has_stop &&
        (rq->stop < m->tick || rq->stop > g_max_price || rq->stop % m->tick))
        return fail_filter(c, "PRICE_FILTER");
    if (rq->has_quote_qty)
        rq->qty = fx_floor(fx_div(rq->quote_qty, m->last), g_step);
    if (lot_size_bad(rq->qty) || (rq->has_iceberg && lot_size_bad(rq->iceberg)))
        return fail_filter(c, "LOT_SIZE");
    px = rq->type == T_MARKET ? m->last
         : rq->has_price      ? rq->price
         : rq->has_stop       ? rq->stop
                              : m->last; /* trailing stop without stopPrice */
    fx_t notional = fx_mul(px, rq->qty);
    if (notional < m->min_notional || notional > g_max_notional)
        return fail_filter(c, "NOTIONAL");
    if (rq->has_iceberg &&
        (rq->qty + rq->iceberg - 1) / rq->iceberg > FAKEX_ICEBERG_PARTS)
        return fail_filter(c, "ICEBERG_PARTS");
    if (rq->has_trailing && (rq->trailing < FAKEX_TRAILING_DELTA_MIN ||
                             rq->trailing > FAKEX_TRAILING_DELTA_MAX))
        return fail_filter(c, "TRAILING_DELTA");
    return 0;
}

/* Parses and validates a new order (everything /order/test checks). */
static int
order_parse(struct call *c, struct order_req *rq)
{
    memset(rq, 0, sizeof(*rq));
    if (order_parse_kind(c, rq) < 0 ||
        order_parse_shape(c, rq, &ORDER_NAMES) < 0 ||
        order_parse_options(c, rq) < 0 || order_check_filters(c, rq) < 0)
        return -1;
    return 0;
}

/* Open: on the book, or (PENDING_NEW) waiting to go there. */
static bool
order_is_open(const struct order *o)
{
    return o->status == ST_NEW || o->status == ST_PARTIALLY_FILLED ||
           o->status == ST_PENDING_NEW;
}

/* Whether a LIMIT / LIMIT_MAKER order would trade at once against last. */
static bool
order_marketable(const struct order_req *rq, fx_t last)
{
    if (rq->type == T_MARKET)
        return true;
    if (rq->type != T_LIMIT && rq->type != T_LIMIT_MAKER)
        return false;
    return rq->side == SIDE_BUY ? rq->price >= last : rq->price <= last;
}

/* Whether a stop order's stopPrice is already reached (never, for a
 * trailing stop without one). */
static bool
order_triggers_now(const struct order_req *rq, fx_t last)
{
    bool stop_loss = rq->type == T_STOP_LOSS || rq->type == T_STOP_LOSS_LIMIT;
    if (!OTYPES[rq->type].stop || !rq->has_stop)
        return false;
    /* stop-loss buys above the market, sells below; take-profit mirrors */
    if (stop_loss == (rq->side == SIDE_BUY))
        return rq->stop <= last;
    return rq->stop >= last;
}

/* The price an order's funds are reserved at: the limit price, else the
 * stop price, else (MARKET, trailing stop) the last price. */
static fx_t
reserve_price(int type, int sym, fx_t price, fx_t stop)
{
    if (type == T_MARKET)
        return g_mkt[sym].last;
    return price > 0 ? price : stop > 0 ? stop : g_mkt[sym].last;
}

/* The asset and amount an order needs free (and locks while it rests). */
static void
order_needs(const struct order_req *rq, int *asset, fx_t *amount)
{
    const struct market *m = &g_mkt[rq->sym];
    if (rq->side == SIDE_SELL) {
        *asset = m->base;
        *amount = rq->qty;
        return;
    }
    *asset = m->quote;
    *amount =
        fx_mul(reserve_price(rq->type, rq->sym, rq->has_price ? rq->price : 0,
                             rq->has_stop ? rq->stop : 0),
               rq->qty);
}

/* True when an open order of a uses client order id cid. */
static bool
cid_in_use(const struct account *a, const char *cid)
{
    for (size_t i = 0; cid != NULL && i < a->norders; i++)
        if (order_is_open(&a->orders[i]) && strcmp(a->orders[i].cid, cid) == 0)
            return true;
    return false;
}

/* What the matching engine would reject: a duplicate open client order id,
 * an iceberg part as large as the order, a crossing LIMIT_MAKER, a stop
 * already triggered, too little balance. */
static int
order_precheck(struct call *c, struct account *a, const struct order_req *rq)
{
    const struct market *m = &g_mkt[rq->sym];
    int asset;
    fx_t need;

    if (cid_in_use(a, rq->cid))
        return fail_rejected(c, "Duplicate order sent.");
    if (rq->has_iceberg && rq->iceberg >= rq->qty)
        return fail_rejected(c, "IcebergQty exceeds QTY.");
    if (rq->type == T_LIMIT_MAKER && order_marketable(rq, m->last))
        return fail_rejected(c, "Order would immediately match and take.");
    if (order_triggers_now(rq, m->last))
        return fail_rejected(c, "Order would trigger immediately.");
    order_needs(rq, &asset, &need);
    if (a->free[asset] < need)
        return fail_rejected(c,
                             "Account has insufficient balance for requested "
                             "action.");
    return 0;
}

/* Whether an order counts towards MAX_NUM_ALGO_ORDERS: a stop type or a
 * trailing order. */
static bool
order_is_algo(int type, bool trailing)
{
    return OTYPES[type].stop || trailing;
}

/* MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS: a's open orders on symbol s
 * plus the n new ones of legs may not pass the symbol's limits.  Returns
 * 0, or -1 with Binance's -1013 filter failure. */
static int
open_limits_check(struct call *c, const struct account *a, int s,
                  const struct order_req *const *legs, int n)
{
    long all = 0, algo = 0;

    for (size_t i = 0; i < a->norders; i++) {
        const struct order *o = &a->orders[i];
        if (o->sym != s || !order_is_open(o))
            continue;
        all++;
        algo += order_is_algo(o->type, o->has_trailing);
    }
    for (int i = 0; i < n; i++) {
        all++;
        algo += order_is_algo(legs[i]->type, legs[i]->has_trailing);
    }
    if (all > FAKEX_MAX_NUM_ORDERS)
        return fail_filter(c, "MAX_NUM_ORDERS");
    if (algo > FAKEX_MAX_NUM_ALGO_ORDERS)
        return fail_filter(c, "MAX_NUM_ALGO_ORDERS");
    return 0;
}

/* Refuses (HTTP 429, -1015, Retry-After) orders that would take a's
 * unfilled order count over a limit.  Returns 0 or -1. */
static int
order_count_check(struct call *c, struct account *a, int add)
{
    long long now = real_ms();

    order_counts_roll(a);
    if (a->n10s + add > FAKEX_ORDER_LIMIT_10S) {
        call_errorf(c, 429, -1015,
                    "Too many new orders; current limit is %d orders per 10 "
                    "SECOND.",
                    FAKEX_ORDER_LIMIT_10S);
        c->retry_after = (long)(10 - (now / 1000) % 10);
        return -1;
    }
    if (a->n1d + add > FAKEX_ORDER_LIMIT_1D) {
        call_errorf(c, 429, -1015,
                    "Too many new orders; current limit is %d orders per 1 "
                    "DAY.",
                    FAKEX_ORDER_LIMIT_1D);
        c->retry_after = (long)((86400000 - now % 86400000 + 999) / 1000);
        return -1;
    }
    return 0;
}

/* Adds n to a's unfilled order counters. */
static void
order_count_add(struct account *a, int n)
{
    order_counts_roll(a);
    a->n10s += n;
    a->n1d += n;
}

/* Writes a fresh Binance-like client order id into buf (CID_MAX + 1). */
static void
cid_generate(char *buf)
{
    snprintf(buf, CID_MAX + 1, "fakex%017lld", g.next_cid++);
}

/* Appends a new order built from rq to a (room must be reserved). */
static struct order *
order_create(struct account *a, const struct order_req *rq, long long now)
{
    struct order *o = &a->orders[a->norders++];

    memset(o, 0, sizeof(*o));
    o->id = g.next_order_id++;
    o->list_id = -1;
    o->time = o->update_time = o->working_time = now;
    o->sym = rq->sym;
    o->side = rq->side;
    o->type = rq->type;
    o->tif = rq->tif >= 0 ? rq->tif : TIF_GTC;
    o->stp = rq->stp;
    if (rq->cid != NULL)
        copy_str(o->cid, sizeof(o->cid), rq->cid);
    else
        cid_generate(o->cid);
    o->price = rq->has_price ? rq->price : 0;
    o->qty = rq->qty;
    o->stop = rq->has_stop ? rq->stop : 0;
    o->iceberg = rq->iceberg;
    o->has_iceberg = rq->has_iceberg;
    o->quote_qty = rq->has_quote_qty ? rq->quote_qty : 0;
    o->trailing = rq->trailing;
    o->has_trailing = rq->has_trailing;
    o->strategy_id = rq->strategy_id;
    o->has_strategy_id = rq->has_strategy_id;
    o->strategy_type = rq->strategy_type;
    o->has_strategy_type = rq->has_strategy_type;
    o->status = ST_NEW;
    o->working = !OTYPES[rq->type].stop;
    if (!o->working)
        o->working_time = -1;
    o->lock_asset = -1;
    return o;
}

/* The request an existing order would be, for the market checks. */
static void
order_as_req(const struct order *o, struct order_req *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->sym = o->sym;
    rq->side = o->side;
    rq->type = o->type;
    rq->tif = o->tif;
    rq->price = o->price;
    rq->has_price = o->price > 0;
    rq->stop = o->stop;
    rq->has_stop = o->stop > 0;
    rq->qty = o->qty - o->exec;
}

/* ---- order lists ---- */

static struct order *
order_by_id(struct account *a, long long id)
{
    for (size_t i = 0; i < a->norders; i++)
        if (a->orders[i].id == id)
            return &a->orders[i];
    return NULL;
}

static struct order_list *
list_by_id(struct account *a, long long id)
{
    for (size_t i = 0; i < a->nlists; i++)
        if (a->lists[i].id == id)
            return &a->lists[i];
    return NULL;
}

/* Fills legs[] (room for 3) with the orders of l; returns how many. */
static int
list_legs(struct account *a, const struct order_list *l, struct order **legs)
{
    for (int i = 0; i < l->nlegs; i++) {
        legs[i] = order_by_id(a, l->leg[i]);
        assert(legs[i] != NULL);
    }
    return l->nlegs;
}

static bool
list_is_open(struct account *a, const struct order_list *l)
{
    struct order *legs[3];
    int n = list_legs(a, l, legs);
    for (int i = 0; i < n; i++)
        if (order_is_open(legs[i]))
            return true;
    return false;
}

/* The other leg of o's OCO pair, or NULL when o is in none. */
static struct order *
oco_sibling(struct account *a, const struct order *o)
{
    struct order_list *l;
    int first;

    if (o->list_id < 0 || (l = list_by_id(a, o->list_id)) == NULL ||
        l->kind == K_OTO)
        return NULL;
    first = l->kind == K_OCO ? 0 : 1;
    if (l->leg[first] == o->id)
        return order_by_id(a, l->leg[first + 1]);
    if (l->leg[first + 1] == o->id)
        return order_by_id(a, l->leg[first]);
    return NULL;
}

/* ---- funds, fills, cancels, expiry ---- */

/* Moves amount of asset from free to locked for resting order o. */
static void
order_lock(struct account *a, struct order *o, int asset, fx_t amount)
{
    a->free[asset] -= amount;
    a->locked[asset] += amount;
    o->lock_asset = asset;
    o->lock_amt = amount;
}

/* Returns what order o holds locked to free. */
static void
order_unlock(struct account *a, struct order *o)
{
    if (o->lock_asset >= 0) {
        a->locked[o->lock_asset] -= o->lock_amt;
        a->free[o->lock_asset] += o->lock_amt;
        o->lock_asset = -1;
        o->lock_amt = 0;
    }
}

/* Reserves anew the funds of the orders group[0..n): what they hold is
 * released, then the largest need among those open on the book is locked on
 * its order (an OCO pair shares one reservation: only one leg can trade).
 * Returns 0, or -1 when the free balance does not cover it (nothing is
 * locked then). */
static int
group_relock(struct account *a, struct order **group, int n)
{
    int best = -1, asset = -1;
    fx_t need = 0;

    for (int i = 0; i < n; i++)
        order_unlock(a, group[i]);
    for (int i = 0; i < n; i++) {
        const struct order *o = group[i];
        const struct market *m = &g_mkt[o->sym];
        fx_t rest = o->qty - o->exec, amt;
        if (!order_is_open(o) || o->status == ST_PENDING_NEW)
            continue;
        amt = o->side == SIDE_SELL
                  ? rest
                  : fx_mul(reserve_price(o->type, o->sym, o->price, o->stop),
                           rest);
        if (best < 0 || amt > need) {
            best = i;
            need = amt;
            asset = o->side == SIDE_SELL ? m->base : m->quote;
        }
    }
    if (best < 0)
        return 0;
    if (a->free[asset] < need)
        return -1;
    order_lock(a, group[best], asset, need);
    return 0;
}

/* Ends open order o with status (CANCELED or EXPIRED); its funds are freed. */
static void
order_end(struct account *a, struct order *o, int status, long long now)
{
    order_unlock(a, o);
    o->status = status;
    o->update_time = now;
    a->update_time = now;
}

/* Cancels open order o: status CANCELED, its locked funds freed. */
static void
order_cancel(struct account *a, struct order *o, long long now)
{
    order_end(a, o, ST_CANCELED, now);
}

/* Expires the legs of l still waiting for a working leg that ended without
 * filling. */
static void
list_expire_pending(struct account *a, struct order_list *l, long long now)
{
    struct order *legs[3];
    int n = list_legs(a, l, legs);
    for (int i = 1; i < n && l->kind != K_OCO; i++)
        if (legs[i]->status == ST_PENDING_NEW)
            order_end(a, legs[i], ST_EXPIRED, now);
}

/* Cancels every open leg of l. */
static void
list_cancel(struct account *a, struct order_list *l, long long now)
{
    struct order *legs[3];
    int n = list_legs(a, l, legs);
    for (int i = 0; i < n; i++)
        if (order_is_open(legs[i]))
            order_cancel(a, legs[i], now);
}

static void list_activate(struct account *a, struct order_list *l,
                          long long now);

/* Executes qty of open order o at price px as one trade: balances move, the
 * commission is charged in the asset received, the other leg of an OCO
 * pair expires, the unfilled rest stays reserved, and an OTO working leg
 * that is done puts its pending legs on the book (they may trade at once:
 * reserve room for 3 trades).  Returns the trade. */
static struct trade *
order_fill_qty(struct account *a, struct order *o, fx_t px, fx_t qty,
               bool maker, long long now)
{
    const struct market *m = &g_mkt[o->sym];
    struct order *sib = oco_sibling(a, o);
    struct trade *t = &a->trades[a->ntrades++];
    fx_t quote = fx_mul(qty, px);
    bool buy = o->side == SIDE_BUY;

    if (sib != NULL && order_is_open(sib))
        order_end(a, sib, ST_EXPIRED, now);
    order_unlock(a, o);
    memset(t, 0, sizeof(*t));
    t->id = g.next_trade_id++;
    t->order_id = o->id;
    t->list_id = o->list_id;
    t->time = now;
    t->sym = o->sym;
    t->price = px;
    t->qty = qty;
    t->quote = quote;
    t->comm = fx_mul(buy ? qty : quote, g_commission);
    t->comm_asset = buy ? m->base : m->quote;
    t->buyer = buy;
    t->maker = maker;
    a->free[m->quote] += buy ? -quote : quote - t->comm;
    a->free[m->base] += buy ? qty - t->comm : -qty;
    a->listed[m->base] = a->listed[m->quote] = true;
    a->update_time = now;
    o->exec += qty;
    o->cumq += quote;
    o->update_time = now;
    o->working = true;
    if (o->working_time < 0)
        o->working_time = now;
    o->status = o->exec < o->qty ? ST_PARTIALLY_FILLED : ST_FILLED;
    if (o->status == ST_PARTIALLY_FILLED)
        (void)group_relock(a, &o, 1);
    if (o->status == ST_FILLED && o->list_id >= 0) {
        struct order_list *l = list_by_id(a, o->list_id);
        if (l != NULL && l->kind != K_OCO && l->leg[0] == o->id)
            list_activate(a, l, now);
    }
    return t;
}

/* Fills order o completely at price px (room for the trade must be
 * reserved).  Returns the trade. */
static struct trade *
order_fill(struct account *a, struct order *o, fx_t px, long long now)
{
    return order_fill_qty(a, o, px, o->qty - o->exec, false, now);
}

/* Puts the pending legs of OTO / OTOCO l on the book once its working leg
 * has filled: a LIMIT_MAKER that would take expires (with its OCO
 * sibling), a leg that is marketable or whose stop is reached fills at the
 * last price, an IOC / FOK that cannot fill expires, the rest is reserved
 * (expiring when the funds do not suffice). */
static void
list_activate(struct account *a, struct order_list *l, long long now)
{
    struct order *legs[3], *p[2], *open[2];
    struct order_req rq;
    int n = list_legs(a, l, legs), np = 0, nopen = 0;
    fx_t last = g_mkt[l->sym].last;
    bool dead = false;

    for (int i = 1; i < n; i++) {
        struct order *o = legs[i];
        if (o->status != ST_PENDING_NEW)
            continue;
        o->status = ST_NEW;
        o->update_time = now;
        o->working = !OTYPES[o->type].stop;
        o->working_time = o->working ? now : -1;
        order_as_req(o, &rq);
        if (o->type == T_LIMIT_MAKER && order_marketable(&rq, last))
            dead = true;
        p[np++] = o;
    }
    for (int i = 0; i < np; i++) {
        order_as_req(p[i], &rq);
        if (dead || !order_is_open(p[i]))
            continue;
        if ((p[i]->type != T_LIMIT_MAKER && order_marketable(&rq, last)) ||
            order_triggers_now(&rq, last))
            order_fill_qty(a, p[i], last, p[i]->qty, false, now);
        else if (p[i]->type == T_LIMIT && p[i]->tif != TIF_GTC)
            dead = true;
    }
    for (int i = 0; i < np; i++)
        if (order_is_open(p[i]))
            open[nopen++] = p[i];
    /* an OCO pair ends together: one leg done ends the other */
    if (dead || (np == 2 && nopen == 1) ||
        (nopen > 0 && group_relock(a, open, nopen) < 0))
        for (int i = 0; i < nopen; i++)
            order_end(a, open[i], ST_EXPIRED, now);
}

/* Places a validated order for a: fills it at the last price when it is
 * marketable, expires a non-marketable IOC/FOK, otherwise rests it with
 * its funds locked.  Returns the fill's trade, or NULL. */
static struct trade *
order_execute(struct account *a, struct order *o, const struct order_req *rq,
              long long now)
{
    fx_t last = g_mkt[rq->sym].last;
    int asset;
    fx_t need;

    if (rq->type != T_LIMIT_MAKER && order_marketable(rq, last))
        return order_fill(a, o, last, now);
    if (rq->type == T_LIMIT && rq->tif != TIF_GTC) {
        o->status = ST_EXPIRED;
        return NULL;
    }
    order_needs(rq, &asset, &need);
    order_lock(a, o, asset, need);
    a->update_time = now;
    return NULL;
}

/* ---- order views ---- */

/* Adds price .. side, the fields every order view shares. */
static void
order_add_core(json_object *j, const struct order *o)
{
    jset(j, "price", jfx(o->price));
    jset(j, "origQty", jfx(o->qty));
    jset(j, "executedQty", jfx(o->exec));
    jset(j, "origQuoteOrderQty", jfx(o->quote_qty));
    jset(j, "cummulativeQuoteQty", jfx(o->cumq));
    jset(j, "status", jstr(STATUSES[o->status]));
    jset(j, "timeInForce", jstr(TIFS[o->tif]));
    jset(j, "type", jstr(OTYPES[o->type].name));
    jset(j, "side", jstr(SIDES[o->side]));
}

/* Adds the conditional fields Binance shows only when they were sent. */
static void
order_add_extras(json_object *j, const struct order *o)
{
    if (o->has_trailing) {
        jset(j, "trailingDelta", jint(o->trailing));
        jset(j, "trailingTime", jint(-1)); /* the fake never tracks */
    }
    if (o->has_strategy_id)
        jset(j, "strategyId", jint(o->strategy_id));
    if (o->has_strategy_type)
        jset(j, "strategyType", jint(o->strategy_type));
}

/* symbol, orderId, orderListId, clientOrderId: every view starts so. */
static json_object *
order_head_json(const struct order *o, const char *orig_cid)
{
    json_object *j = json_object_new_object();
    jset(j, "symbol", jstr(SYMBOLS[o->sym].name));
    if (orig_cid != NULL)
        jset(j, "origClientOrderId", jstr(orig_cid));
    jset(j, "orderId", jint(o->id));
    jset(j, "orderListId", jint(o->list_id));
    return j;
}

/* The GET /api/v3/order (and openOrders, allOrders) view of o. */
static json_object *
order_query_json(const struct order *o)
{
    json_object *j = order_head_json(o, NULL);
    jset(j, "clientOrderId", jstr(o->cid));
    jset(j, "price", jfx(o->price));
    jset(j, "origQty", jfx(o->qty));
    jset(j, "executedQty", jfx(o->exec));
    jset(j, "cummulativeQuoteQty", jfx(o->cumq));
    jset(j, "status", jstr(STATUSES[o->status]));
    jset(j, "timeInForce", jstr(TIFS[o->tif]));
    jset(j, "type", jstr(OTYPES[o->type].name));
    jset(j, "side", jstr(SIDES[o->side]));
    jset(j, "stopPrice", jfx(o->stop));
    jset(j, "icebergQty", jfx(o->iceberg));
    jset(j, "time", jint(o->time));
    jset(j, "updateTime", jint(o->update_time));
    jset(j, "isWorking", jbool(o->working));
    jset(j, "workingTime", jint(o->working_time));
    jset(j, "origQuoteOrderQty", jfx(o->quote_qty));
    jset(j, "selfTradePreventionMode", jstr(STPS[o->stp]));
    order_add_extras(j, o);
    return j;
}

/* The POST /api/v3/order answer for resp type resp; t is the fill or NULL. */
static json_object *
order_new_json(const struct order *o, const struct trade *t, int resp)
{
    json_object *j = order_head_json(o, NULL), *fills;

    jset(j, "clientOrderId", jstr(o->cid));
    jset(j, "transactTime", jint(o->time));
    if (resp == RESP_ACK)
        return j;
    order_add_core(j, o);
    if (OTYPES[o->type].stop && o->stop > 0)
        jset(j, "stopPrice", jfx(o->stop));
    if (o->has_iceberg)
        jset(j, "icebergQty", jfx(o->iceberg));
    jset(j, "workingTime", jint(o->working_time));
    jset(j, "selfTradePreventionMode", jstr(STPS[o->stp]));
    order_add_extras(j, o);
    if (resp != RESP_FULL)
        return j;
    fills = json_object_new_array();
    if (t != NULL) {
        json_object *f = json_object_new_object();
        jset(f, "price", jfx(t->price));
        jset(f, "qty", jfx(t->qty));
        jset(f, "commission", jfx(t->comm));
        jset(f, "commissionAsset", jstr(ASSETS[t->comm_asset]));
        jset(f, "tradeId", jint(t->id));
        json_object_array_add(fills, f);
    }
    jset(j, "fills", fills);
    return j;
}

/* The DELETE answer for o, canceled under the new client id cancel_cid. */
static json_object *
order_cancel_json(const struct order *o, const char *cancel_cid, long long now)
{
    json_object *j = order_head_json(o, o->cid);
    jset(j, "clientOrderId", jstr(cancel_cid));
    jset(j, "transactTime", jint(now));
    order_add_core(j, o);
    if (OTYPES[o->type].stop && o->stop > 0)
        jset(j, "stopPrice", jfx(o->stop));
    if (o->has_iceberg)
        jset(j, "icebergQty", jfx(o->iceberg));
    jset(j, "selfTradePreventionMode", jstr(STPS[o->stp]));
    order_add_extras(j, o);
    return j;
}

/* The orders[] of l: {symbol, orderId, clientOrderId} per leg. */
static json_object *
list_orders_json(struct account *a, const struct order_list *l)
{
    struct order *legs[3];
    int n = list_legs(a, l, legs);
    json_object *arr = json_object_new_array();

    for (int i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        jset(o, "symbol", jstr(SYMBOLS[legs[i]->sym].name));
        jset(o, "orderId", jint(legs[i]->id));
        jset(o, "clientOrderId", jstr(legs[i]->cid));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* The order-list object; reports (taken over) become orderReports when not
 * NULL.  A list just placed is always EXEC_STARTED / EXECUTING, as Binance
 * answers before its legs move on. */
static json_object *
list_json(struct account *a, const struct order_list *l, json_object *reports,
          bool placed)
{
    bool open = placed || list_is_open(a, l);
    json_object *j = json_object_new_object();

    jset(j, "orderListId", jint(l->id));
    jset(j, "contingencyType", jstr(l->kind == K_OCO ? "OCO" : "OTO"));
    jset(j, "listStatusType", jstr(open ? "EXEC_STARTED" : "ALL_DONE"));
    jset(j, "listOrderStatus", jstr(open ? "EXECUTING" : "ALL_DONE"));
    jset(j, "listClientOrderId", jstr(l->cid));
    jset(j, "transactionTime", jint(l->time));
    jset(j, "symbol", jstr(SYMBOLS[l->sym].name));
    jset(j, "orders", list_orders_json(a, l));
    if (reports != NULL)
        jset(j, "orderReports", reports);
    return j;
}

/* Cancels list l under client id cancel_cid and answers the list object
 * with a report for every leg this canceled. */
static json_object *
list_cancel_json(struct account *a, struct order_list *l,
                 const char *cancel_cid, long long now)
{
    struct order *legs[3];
    int n = list_legs(a, l, legs);
    json_object *reports = json_object_new_array();

    for (int i = 0; i < n; i++) {
        if (!order_is_open(legs[i]))
            continue;
        order_cancel(a, legs[i], now);
        json_object_array_add(reports,
                              order_cancel_json(legs[i], cancel_cid, now));
    }
    return list_json(a, l, reports, false);
}

/* ---- single orders ---- */

/* Reserves room for one more order and the trades it may cause. */
static int
order_room(struct call *c, struct account *a, size_t orders)
{
    if (grow((void **)&a->orders, &a->cap_orders, a->norders + orders,
             sizeof(struct order)) < 0 ||
        grow((void **)&a->trades, &a->cap_trades, a->ntrades + 3,
             sizeof(struct trade)) < 0)
        return fail_oom(c);
    return 0;
}

static void
h_order_new(struct call *c)
{
    struct account *a = c->acct;
    struct order_req rq;
    long long now = server_now();

    if (order_parse(c, &rq) < 0 || order_precheck(c, a, &rq) < 0 ||
        open_limits_check(c, a, rq.sym, (const struct order_req *const[]){&rq},
                          1) < 0 ||
        order_room(c, a, 1) < 0)
        return;
    struct order *o = order_create(a, &rq, now);
    struct trade *t = order_execute(a, o, &rq, now);
    order_counts_roll(a);
    a->n10s++;
    a->n1d++;
    c->body = order_new_json(o, t, rq.resp);
}

/* A commission-rate object {maker, taker[, buyer, seller]}. */
static json_object *
rates_json(fx_t maker, fx_t taker, bool buyer_seller)
{
    json_object *o = json_object_new_object();
    jset(o, "maker", jfx(maker));
    jset(o, "taker", jfx(taker));
    if (buyer_seller) {
        jset(o, "buyer", jfx(0));
        jset(o, "seller", jfx(0));
    }
    return o;
}

/* The account's (never enabled) BNB discount. */
static json_object *
discount_json(void)
{
    json_object *disc = json_object_new_object();
    jset(disc, "enabledForAccount", jbool(false));
    jset(disc, "enabledForSymbol", jbool(false));
    jset(disc, "discountAsset", jstr("BNB"));
    jset(disc, "discount", jfx(fx_const(FAKEX_COMMISSION_DISCOUNT)));
    return disc;
}

static void
h_order_test(struct call *c)
{
    struct order_req rq;
    bool rates;

    if (order_parse(c, &rq) < 0 ||
        param_bool(c, "computeCommissionRates", &rates) < 0)
        return;
    c->body = json_object_new_object();
    if (!rates)
        return;
    jset(c->body, "standardCommissionForOrder",
         rates_json(g_commission, g_commission, false));
    jset(c->body, "taxCommissionForOrder", rates_json(0, 0, false));
    jset(c->body, "discount", discount_json());
}

/* Finds the order named by parameter id_name (preferred) or cid_name on
 * symbol s; by client id the newest match wins, an open one if open_only.
 * With must_match, an order found by id must also carry the client id when
 * both were sent.  Returns 0 with *out (NULL when none), or -1 with -1102 /
 * -1100 set. */
static int
order_lookup_by(struct call *c, int s, bool open_only, const char *id_name,
                const char *cid_name, bool must_match, struct order **out)
{
    struct account *a = c->acct;
    const char *cid = param(c, cid_name);
    long long id;

    *out = NULL;
    if (param_int(c, id_name, -1, &id) < 0)
        return -1;
    if (id < 0 && cid == NULL) {
        call_errorf(c, 400, -1102,
                    "Param '%s' or '%s' must be sent, but both were "
                    "empty/null!",
                    cid_name, id_name);
        return -1;
    }
    for (size_t i = a->norders; i-- > 0 && *out == NULL;) {
        struct order *o = &a->orders[i];
        if (o->sym != s || (open_only && !order_is_open(o)))
            continue;
        if (id >= 0 ? o->id == id : strcmp(o->cid, cid) == 0)
            *out = o;
    }
    if (*out != NULL && must_match && id >= 0 && cid != NULL &&
        strcmp((*out)->cid, cid) != 0)
        *out = NULL;
    return 0;
}

/* order_lookup_by with orderId / origClientOrderId. */
static int
order_lookup(struct call *c, int s, bool open_only, struct order **out)
{
    return order_lookup_by(c, s, open_only, "orderId", "origClientOrderId",
                           false, out);
}

static void
h_order_get(struct call *c)
{
    struct order *o;
    int s;

    if (need_symbol(c, &s) < 0 || order_lookup(c, s, false, &o) < 0)
        return;
    if (o == NULL) {
        call_fail(c, 400, -2013, "Order does not exist.");
        return;
    }
    c->body = order_query_json(o);
}

/* Checks restrict_s (a cancelRestrictions value or NULL) against o.
 * Returns true when the cancel may proceed. */
static bool
cancel_allowed(const char *restrict_s, const struct order *o)
{
    if (restrict_s == NULL)
        return true;
    return strcmp(restrict_s, "ONLY_NEW") == 0
               ? o->status == ST_NEW
               : o->status == ST_PARTIALLY_FILLED;
}

static bool
cancel_restrictions_ok(const char *restrict_s)
{
    return restrict_s == NULL || strcmp(restrict_s, "ONLY_NEW") == 0 ||
           strcmp(restrict_s, "ONLY_PARTIALLY_FILLED") == 0;
}

/* Cancels o and, when it is a leg, the rest of its list. */
static void
order_cancel_with_list(struct account *a, struct order *o, long long now)
{
    order_cancel(a, o, now);
    if (o->list_id >= 0) {
        struct order_list *l = list_by_id(a, o->list_id);
        if (l != NULL)
            list_cancel(a, l, now);
    }
}

static void
h_order_cancel(struct call *c)
{
    const char *restrict_s = param(c, "cancelRestrictions");
    const char *new_cid = param(c, "newClientOrderId");
    char gen[CID_MAX + 1];
    struct order *o;
    int s;

    if (need_symbol(c, &s) < 0 || order_lookup(c, s, true, &o) < 0)
        return;
    if (!cancel_restrictions_ok(restrict_s)) {
        call_fail(c, 400, -1145, "Invalid cancelRestrictions");
        return;
    }
    if (o == NULL) {
        call_fail(c, 400, -2011, "Unknown order sent.");
        return;
    }
    if (!cancel_allowed(restrict_s, o)) {
        call_fail(c, 400, -2011,
                  "Order was not canceled due to cancel restrictions.");
        return;
    }
    if (new_cid == NULL)
        cid_generate(gen);
    long long now = server_now();
    order_cancel_with_list(c->acct, o, now);
    c->body = order_cancel_json(o, new_cid != NULL ? new_cid : gen, now);
}

static void
h_open_orders(struct call *c)
{
    struct account *a = c->acct;
    const char *sym = param(c, "symbol");
    int s = -1;

    if (sym != NULL && symbol_lookup(c, "symbol", sym, &s) < 0)
        return;
    c->body = json_object_new_array();
    for (size_t i = 0; i < a->norders; i++)
        if (order_is_open(&a->orders[i]) && (s < 0 || a->orders[i].sym == s))
            json_object_array_add(c->body, order_query_json(&a->orders[i]));
}

/* Plain orders come back as canceled orders, legs as their (whole,
 * canceled) order list. */
static void
h_cancel_all(struct call *c)
{
    struct account *a = c->acct;
    long long now = server_now();
    char gen[CID_MAX + 1];
    int s;

    if (need_symbol(c, &s) < 0)
        return;
    c->body = json_object_new_array();
    for (size_t i = 0; i < a->norders; i++) {
        struct order *o = &a->orders[i];
        struct order_list *l;
        if (o->sym != s || !order_is_open(o))
            continue;
        cid_generate(gen);
        if (o->list_id >= 0 && (l = list_by_id(a, o->list_id)) != NULL) {
            json_object_array_add(c->body, list_cancel_json(a, l, gen, now));
            continue;
        }
        order_cancel(a, o, now);
        json_object_array_add(c->body, order_cancel_json(o, gen, now));
    }
    if (json_object_array_length(c->body) == 0)
        call_fail(c, 400, -2011, "Unknown order sent.");
}

static void
h_all_orders(struct call *c)
{
    struct account *a = c->acct;
    long long oid, start, end, limit;
    size_t n = 0, from, to;
    int s;

    if (need_symbol(c, &s) < 0 || param_int(c, "orderId", -1, &oid) < 0 ||
        param_int(c, "startTime", -1, &start) < 0 ||
        param_int(c, "endTime", -1, &end) < 0 ||
        param_limit(c, FAKEX_LIST_LIMIT_DEFAULT, FAKEX_LIST_LIMIT_MAX, &limit) <
            0)
        return;
    const struct order **sel = malloc((a->norders + 1) * sizeof(*sel));
    if (sel == NULL) {
        fail_oom(c);
        return;
    }
    for (size_t i = 0; i < a->norders; i++) {
        const struct order *o = &a->orders[i];
        if (o->sym == s && (oid < 0 || o->id >= oid) &&
            (start < 0 || o->time >= start) && (end < 0 || o->time <= end))
            sel[n++] = o;
    }
    list_window(n, limit, oid >= 0, &from, &to);
    c->body = json_object_new_array();
    for (size_t i = from; i < to; i++)
        json_object_array_add(c->body, order_query_json(sel[i]));
    free(sel);
}

/* ---- order lists: placement ---- */

/* The list-level parameters every order list placement takes. */
struct list_req {
    int sym, resp, stp;
    const char *cid; /* listClientOrderId; NULL: generate */
};

static int
list_parse_common(struct call *c, struct list_req *lr)
{
    const char *resp = param(c, "newOrderRespType");
    const char *stp = param(c, "selfTradePreventionMode");

    if (need_symbol(c, &lr->sym) < 0 ||
        param_cid(c, "listClientOrderId", &lr->cid) < 0)
        return -1;
    lr->resp = RESP_RESULT;
    if (resp != NULL && (lr->resp = ENUM_FIND(RESPS, resp)) < 0)
        return fail_invalid(c, "newOrderRespType");
    lr->stp = 0;
    if (stp != NULL && (lr->stp = ENUM_FIND(STPS, stp)) < 0)
        return fail_invalid(c, "selfTradePreventionMode");
    return 0;
}

/* The parameter names of one leg: prefix + "Type", + "Price", ...; side
 * and quantity are named apart as the legs may share them.  Not copyable
 * (n points into the buffers). */
struct leg_spec {
    char type[40], cid[40], price[40], stop[40], trailing[40], tif[40];
    char iceberg[40], sid[40], stype[40];
    struct leg_names n;
};

static void
leg_spec_init(struct leg_spec *ls, const char *prefix, const char *side,
              const char *qty, bool stops)
{
    snprintf(ls->type, sizeof(ls->type), "%sType", prefix);
    snprintf(ls->cid, sizeof(ls->cid), "%sClientOrderId", prefix);
    snprintf(ls->price, sizeof(ls->price), "%sPrice", prefix);
    snprintf(ls->stop, sizeof(ls->stop), "%sStopPrice", prefix);
    snprintf(ls->trailing, sizeof(ls->trailing), "%sTrailingDelta", prefix);
    snprintf(ls->tif, sizeof(ls->tif), "%sTimeInForce", prefix);
    snprintf(ls->iceberg, sizeof(ls->iceberg), "%sIcebergQty", prefix);
    snprintf(ls->sid, sizeof(ls->sid), "%sStrategyId", prefix);
    snprintf(ls->stype, sizeof(ls->stype), "%sStrategyType", prefix);
    ls->n.side = side;
    ls->n.type = ls->type;
    ls->n.qty = qty;
    ls->n.quote_qty = NULL;
    ls->n.price = ls->price;
    ls->n.stop = stops ? ls->stop : NULL;
    ls->n.tif = ls->tif;
    ls->n.iceberg = ls->iceberg;
    ls->n.trailing = stops ? ls->trailing : NULL;
    ls->n.strategy_id = ls->sid;
    ls->n.strategy_type = ls->stype;
    ls->n.cid = ls->cid;
    ls->n.in_list = true;
}

#define TYPE_BIT(t) (1u << (t))
#define OCO_LEG_TYPES                                                          \
    (TYPE_BIT(T_LIMIT_MAKER) | TYPE_BIT(T_STOP_LOSS) |                         \
     TYPE_BIT(T_STOP_LOSS_LIMIT) | TYPE_BIT(T_TAKE_PROFIT) |                   \
     TYPE_BIT(T_TAKE_PROFIT_LIMIT))
#define WORKING_TYPES (TYPE_BIT(T_LIMIT) | TYPE_BIT(T_LIMIT_MAKER))
#define ANY_TYPE      ((1u << NOTYPES) - 1)

enum { LEG_OCO, LEG_WORKING, LEG_PENDING };

/* Parses one leg (names n) of a list: a type outside its role's set is
 * -1158 for OCO legs, -1130 for the working leg.  Applies the filters. */
static int
leg_parse(struct call *c, const struct leg_names *n, const struct list_req *lr,
          int role, struct order_req *rq)
{
    static const unsigned allowed[] = {OCO_LEG_TYPES, WORKING_TYPES, ANY_TYPE};
    const char *side = param(c, n->side), *type = param(c, n->type);

    memset(rq, 0, sizeof(*rq));
    rq->sym = lr->sym;
    rq->resp = lr->resp;
    rq->stp = lr->stp;
    if (side == NULL)
        return fail_mandatory(c, n->side);
    if (type == NULL)
        return fail_mandatory(c, n->type);
    if ((rq->side = ENUM_FIND(SIDES, side)) < 0)
        return call_fail(c, 400, -1117, "Invalid side.");
    if ((rq->type = otype_find(type)) < 0)
        return call_fail(c, 400, -1116, "Invalid orderType.");
    if (!(allowed[role] & TYPE_BIT(rq->type)))
        return role == LEG_OCO ? call_fail(c, 400, -1158,
                                           "Order type not supported in OCO.")
                               : fail_invalid(c, n->type);
    if (order_parse_shape(c, rq, n) < 0 || param_cid(c, n->cid, &rq->cid) < 0 ||
        order_parse_strategy(c, rq, n) < 0 || order_check_filters(c, rq) < 0)
        return -1;
    return 0;
}

static bool
is_stop_loss(int type)
{
    return type == T_STOP_LOSS || type == T_STOP_LOSS_LIMIT;
}

static bool
is_take_profit(int type)
{
    return type == T_TAKE_PROFIT || type == T_TAKE_PROFIT_LIMIT;
}

/* Checks an OCO pair's roles: exactly one stop-loss leg, on the side of the
 * market a stop-loss of that side belongs (above for BUY, below for SELL),
 * the LIMIT_MAKER / take-profit leg opposite. */
static int
oco_check_roles(struct call *c, const struct order_req *above,
                const struct order_req *below)
{
    bool buy = above->side == SIDE_BUY;

    if (above->type == T_LIMIT_MAKER && below->type == T_LIMIT_MAKER)
        return call_fail(c, 400, -1168,
                         "At least one OCO order must be contingent.");
    if (is_stop_loss(above->type) == is_stop_loss(below->type))
        return call_fail(c, 400, -1158, "Order type not supported in OCO.");
    if (!buy && is_stop_loss(above->type))
        return call_fail(c, 400, -1197,
                         "A stop loss order in a sell OCO must be below.");
    if (buy && above->type == T_LIMIT_MAKER)
        return call_fail(c, 400, -1165,
                         "A limit order in a buy OCO must be below.");
    if (buy && is_take_profit(above->type))
        return call_fail(c, 400, -1198,
                         "A take profit order in a buy OCO must be below.");
    if (!buy && below->type == T_LIMIT_MAKER)
        return call_fail(c, 400, -1166,
                         "A limit order in a sell OCO must be above.");
    if (!buy && is_take_profit(below->type))
        return call_fail(c, 400, -1199,
                         "A take profit order in a sell OCO must be above.");
    if (buy && is_stop_loss(below->type))
        return call_fail(c, 400, -1196,
                         "A stop loss order in a buy OCO must be above.");
    return 0;
}

/* The price that places an OCO leg: the limit price of LIMIT_MAKER and
 * TAKE_PROFIT_LIMIT, else the stop price.  False when the leg has none (a
 * trailing stop without stopPrice). */
static bool
oco_leg_price(const struct order_req *rq, fx_t *px)
{
    if (rq->type == T_LIMIT_MAKER || rq->type == T_TAKE_PROFIT_LIMIT) {
        *px = rq->price;
        return true;
    }
    *px = rq->stop;
    return rq->has_stop;
}

/* below < above, and (against_last, for an OCO placed now) below < last <
 * above, else -2010. */
static int
oco_check_prices(struct call *c, const struct order_req *above,
                 const struct order_req *below, bool against_last)
{
    fx_t hi, lo, last = g_mkt[above->sym].last;
    bool has_hi = oco_leg_price(above, &hi), has_lo = oco_leg_price(below, &lo);

    if ((has_hi && has_lo && hi <= lo) ||
        (against_last && ((has_hi && hi <= last) || (has_lo && lo >= last))))
        return fail_rejected(c, "The relationship of the prices for the "
                                "orders is not correct.");
    return 0;
}

/* True when an open list of a uses listClientOrderId cid. */
static bool
list_cid_in_use(struct account *a, const char *cid)
{
    for (size_t i = 0; i < a->nlists; i++)
        if (strcmp(a->lists[i].cid, cid) == 0 && list_is_open(a, &a->lists[i]))
            return true;
    return false;
}

/* What the matching engine would reject in a list: the unfilled order
 * count, duplicate client ids, iceberg parts, a crossing working
 * LIMIT_MAKER, too little balance (an OCO reserves its larger leg, an OTO
 * its working leg). */
static int
list_precheck(struct call *c, struct account *a, const struct list_req *lr,
              int kind, const struct order_req *const *legs, int n)
{
    fx_t need = 0, amt;
    int asset = 0;

    if (order_count_check(c, a, n) < 0 ||
        open_limits_check(c, a, lr->sym, legs, n) < 0)
        return -1;
    if (lr->cid != NULL && list_cid_in_use(a, lr->cid))
        return fail_rejected(c, "Duplicate order sent.");
    for (int i = 0; i < n; i++) {
        if (cid_in_use(a, legs[i]->cid))
            return fail_rejected(c, "Duplicate order sent.");
        for (int j = 0; j < i; j++)
            if (legs[i]->cid != NULL && legs[j]->cid != NULL &&
                strcmp(legs[i]->cid, legs[j]->cid) == 0)
                return fail_rejected(c, "Duplicate order sent.");
        if (legs[i]->has_iceberg && legs[i]->iceberg >= legs[i]->qty)
            return fail_rejected(c, "IcebergQty exceeds QTY.");
    }
    if (kind != K_OCO && legs[0]->type == T_LIMIT_MAKER &&
        order_marketable(legs[0], g_mkt[lr->sym].last))
        return fail_rejected(c, "Order would immediately match and take.");
    for (int i = 0; i < (kind == K_OCO ? n : 1); i++) {
        order_needs(legs[i], &asset, &amt);
        if (amt > need)
            need = amt;
    }
    if (a->free[asset] < need)
        return fail_rejected(c, "Account has insufficient balance for "
                                "requested action.");
    return 0;
}

/* Places the validated legs (in order-id order; legs[0] is an OTO's
 * working leg) as one list of kind, and answers the list with its
 * orderReports.  The pending legs are reported as placed (PENDING_NEW)
 * even when the working leg filled at once, as Binance does. */
static void
list_place(struct call *c, const struct list_req *lr, int kind,
           const struct order_req *const *legs, int n)
{
    struct account *a = c->acct;
    long long now = server_now();
    json_object *reports;
    json_object *rep[3] = {NULL, NULL, NULL};
    struct order *o[3];
    struct trade *t = NULL;

    if (list_precheck(c, a, lr, kind, legs, n) < 0 ||
        order_room(c, a, (size_t)n) < 0)
        return;
    if (grow((void **)&a->lists, &a->cap_lists, a->nlists + 1,
             sizeof(struct order_list)) < 0) {
        fail_oom(c);
        return;
    }
    struct order_list *l = &a->lists[a->nlists++];
    memset(l, 0, sizeof(*l));
    l->id = g.next_list_id++;
    l->time = now;
    l->sym = lr->sym;
    l->kind = kind;
    l->nlegs = n;
    if (lr->cid != NULL)
        copy_str(l->cid, sizeof(l->cid), lr->cid);
    else
        cid_generate(l->cid);
    for (int i = 0; i < n; i++) {
        o[i] = order_create(a, legs[i], now);
        o[i]->list_id = l->id;
        l->leg[i] = o[i]->id;
        if (kind != K_OCO && i > 0) {
            o[i]->status = ST_PENDING_NEW;
            o[i]->working = false;
            o[i]->working_time = -1;
            rep[i] = order_new_json(o[i], NULL, lr->resp);
        }
    }
    if (kind == K_OCO) {
        (void)group_relock(a, o, n); /* list_precheck saw the funds */
        for (int i = 0; i < n; i++)
            rep[i] = order_new_json(o[i], NULL, lr->resp);
    } else {
        t = order_execute(a, o[0], legs[0], now);
        rep[0] = order_new_json(o[0], t, lr->resp);
        if (o[0]->status == ST_EXPIRED)
            list_expire_pending(a, l, now);
    }
    a->update_time = now;
    order_count_add(a, n);
    reports = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(reports, rep[i]);
    c->body = list_json(a, l, reports, true);
}

/* legs[] of an OCO pair in order-id order: the stop-loss leg first. */
static void
oco_order(const struct order_req *above, const struct order_req *below,
          const struct order_req **legs)
{
    bool above_first = is_stop_loss(above->type);
    legs[0] = above_first ? above : below;
    legs[1] = above_first ? below : above;
}

static void
h_list_oco(struct call *c)
{
    struct list_req lr;
    struct leg_spec above, below;
    struct order_req rq[2];
    const struct order_req *legs[2];

    leg_spec_init(&above, "above", "side", "quantity", true);
    leg_spec_init(&below, "below", "side", "quantity", true);
    if (list_parse_common(c, &lr) < 0 ||
        leg_parse(c, &above.n, &lr, LEG_OCO, &rq[0]) < 0 ||
        leg_parse(c, &below.n, &lr, LEG_OCO, &rq[1]) < 0 ||
        oco_check_roles(c, &rq[0], &rq[1]) < 0 ||
        oco_check_prices(c, &rq[0], &rq[1], true) < 0)
        return;
    oco_order(&rq[0], &rq[1], legs);
    list_place(c, &lr, K_OCO, legs, 2);
}

static void
h_list_oto(struct call *c)
{
    struct list_req lr;
    struct leg_spec working, pending;
    struct order_req rq[2];
    const struct order_req *legs[2] = {&rq[0], &rq[1]};

    leg_spec_init(&working, "working", "workingSide", "workingQuantity", false);
    leg_spec_init(&pending, "pending", "pendingSide", "pendingQuantity", true);
    if (list_parse_common(c, &lr) < 0 ||
        leg_parse(c, &working.n, &lr, LEG_WORKING, &rq[0]) < 0 ||
        leg_parse(c, &pending.n, &lr, LEG_PENDING, &rq[1]) < 0)
        return;
    list_place(c, &lr, K_OTO, legs, 2);
}

static void
h_list_otoco(struct call *c)
{
    struct list_req lr;
    struct leg_spec working, above, below;
    struct order_req rq[3];
    const struct order_req *legs[3] = {&rq[0], NULL, NULL};

    leg_spec_init(&working, "working", "workingSide", "workingQuantity", false);
    leg_spec_init(&above, "pendingAbove", "pendingSide", "pendingQuantity",
                  true);
    leg_spec_init(&below, "pendingBelow", "pendingSide", "pendingQuantity",
                  true);
    if (list_parse_common(c, &lr) < 0 ||
        leg_parse(c, &working.n, &lr, LEG_WORKING, &rq[0]) < 0 ||
        leg_parse(c, &above.n, &lr, LEG_OCO, &rq[1]) < 0 ||
        leg_parse(c, &below.n, &lr, LEG_OCO, &rq[2]) < 0 ||
        oco_check_roles(c, &rq[1], &rq[2]) < 0 ||
        oco_check_prices(c, &rq[1], &rq[2], false) < 0)
        return;
    oco_order(&rq[1], &rq[2], legs + 1);
    list_place(c, &lr, K_OTOCO, legs, 3);
}

/* ---- order lists: cancel and queries ---- */

/* The list of a named by id (preferred) or client id cid on symbol sym (-1:
 * any); by client id the newest wins, an open one if open_only.  When both
 * are given the list found by id must carry cid. */
static struct order_list *
list_lookup(struct account *a, int sym, long long id, const char *cid,
            bool open_only)
{
    for (size_t i = a->nlists; i-- > 0;) {
        struct order_list *l = &a->lists[i];
        if ((sym >= 0 && l->sym != sym) || (open_only && !list_is_open(a, l)))
            continue;
        if (id >= 0 && l->id != id)
            continue;
        if (cid != NULL && strcmp(l->cid, cid) != 0) {
            if (id >= 0)
                return NULL;
            continue;
        }
        return l;
    }
    return NULL;
}

static void
h_list_cancel(struct call *c)
{
    struct account *a = c->acct;
    const char *lcid = param(c, "listClientOrderId");
    const char *new_cid = param(c, "newClientOrderId");
    char gen[CID_MAX + 1];
    struct order_list *l;
    long long id;
    int s;

    if (need_symbol(c, &s) < 0 || param_int(c, "orderListId", -1, &id) < 0 ||
        param_cid(c, "newClientOrderId", &new_cid) < 0)
        return;
    if (id < 0 && lcid == NULL) {
        call_fail(c, 400, -1102,
                  "Param 'listClientOrderId' or 'orderListId' must be sent, "
                  "but both were empty/null!");
        return;
    }
    if ((l = list_lookup(a, s, id, lcid, true)) == NULL) {
        call_fail(c, 400, -2011, "Unknown order list sent.");
        return;
    }
    if (new_cid == NULL)
        cid_generate(gen);
    c->body =
        list_cancel_json(a, l, new_cid != NULL ? new_cid : gen, server_now());
}

static void
h_list_get(struct call *c)
{
    const char *cid = param(c, "origClientOrderId");
    struct order_list *l;
    long long id;

    if (param_int(c, "orderListId", -1, &id) < 0)
        return;
    if (id < 0 && cid == NULL) {
        call_fail(c, 400, -1128,
                  "Combination of optional parameters invalid. "
                  "Recommendation: 'orderListId' should also be sent.");
        return;
    }
    if ((l = list_lookup(c->acct, -1, id, cid, false)) == NULL) {
        call_fail(c, 400, -2018, "Order list does not exist.");
        return;
    }
    c->body = list_json(c->acct, l, NULL, false);
}

static void
h_all_lists(struct call *c)
{
    struct account *a = c->acct;
    long long from_id, start, end, limit;
    size_t n = 0, from, to;

    if (param_int(c, "fromId", -1, &from_id) < 0 ||
        param_int(c, "startTime", -1, &start) < 0 ||
        param_int(c, "endTime", -1, &end) < 0 ||
        param_limit(c, FAKEX_LIST_LIMIT_DEFAULT, FAKEX_LIST_LIMIT_MAX, &limit) <
            0)
        return;
    if (from_id >= 0 && (start >= 0 || end >= 0)) {
        call_fail(c, 400, -1128, "Combination of optional parameters invalid.");
        return;
    }
    if (start >= 0 && end >= 0 && end - start > 86400000LL) {
        call_fail(c, 400, -1127,
                  "More than 24 hours between startTime and endTime.");
        return;
    }
    const struct order_list **sel = malloc((a->nlists + 1) * sizeof(*sel));
    if (sel == NULL) {
        fail_oom(c);
        return;
    }
    for (size_t i = 0; i < a->nlists; i++) {
        const struct order_list *l = &a->lists[i];
        if ((from_id < 0 || l->id >= from_id) &&
            (start < 0 || l->time >= start) && (end < 0 || l->time <= end))
            sel[n++] = l;
    }
    list_window(n, limit, from_id >= 0, &from, &to);
    c->body = json_object_new_array();
    for (size_t i = from; i < to; i++)
        json_object_array_add(c->body, list_json(a, sel[i], NULL, false));
    free(sel);
}

static void
h_open_lists(struct call *c)
{
    struct account *a = c->acct;

    c->body = json_object_new_array();
    for (size_t i = 0; i < a->nlists; i++)
        if (list_is_open(a, &a->lists[i]))
            json_object_array_add(c->body,
                                  list_json(a, &a->lists[i], NULL, false));
}

/* ---- cancel-replace and amend ---- */

/* A {code, msg} object, as cancelReplace nests failures. */
static json_object *
error_json(int code, const char *msg)
{
    json_object *o = json_object_new_object();
    jset(o, "code", json_object_new_int(code));
    jset(o, "msg", jstr(msg));
    return o;
}

/* Takes the error c carries (a {code, msg} object) for nesting. */
static json_object *
call_take_error(struct call *c)
{
    json_object *e = c->body;
    c->body = NULL;
    c->status = 200;
    return e;
}

/* Reads what cancelReplace needs besides the new order: mode, the order to
 * cancel, restrictions, orderRateLimitExceededMode. */
static int
cancel_replace_params(struct call *c, bool *stop_on_failure, bool *cancel_only)
{
    const char *mode = param(c, "cancelReplaceMode");
    const char *rl = param(c, "orderRateLimitExceededMode");
    long long id;

    if (mode == NULL)
        return fail_mandatory(c, "cancelReplaceMode");
    if (strcmp(mode, "STOP_ON_FAILURE") != 0 &&
        strcmp(mode, "ALLOW_FAILURE") != 0)
        return fail_invalid(c, "cancelReplaceMode");
    *stop_on_failure = strcmp(mode, "STOP_ON_FAILURE") == 0;
    if (param_int(c, "cancelOrderId", -1, &id) < 0)
        return -1;
    if (id < 0 && param(c, "cancelOrigClientOrderId") == NULL)
        return call_fail(c, 400, -1102,
                         "Param 'cancelOrigClientOrderId' or 'cancelOrderId' "
                         "must be sent, but both were empty/null!");
    if (!cancel_restrictions_ok(param(c, "cancelRestrictions")))
        return call_fail(c, 400, -1145, "Invalid cancelRestrictions");
    if (rl != NULL && strcmp(rl, "DO_NOTHING") != 0 &&
        strcmp(rl, "CANCEL_ONLY") != 0)
        return fail_invalid(c, "orderRateLimitExceededMode");
    *cancel_only = rl != NULL && strcmp(rl, "CANCEL_ONLY") == 0;
    return 0;
}

/* The cancel half of cancelReplace.  Returns the canceled order's answer,
 * or NULL with *err set to the failure. */
static json_object *
cancel_replace_cancel(struct call *c, int s, long long now, json_object **err)
{
    const char *restrict_s = param(c, "cancelRestrictions");
    const char *new_cid = param(c, "cancelNewClientOrderId");
    char gen[CID_MAX + 1];
    struct order *o;

    *err = NULL;
    if (order_lookup_by(c, s, true, "cancelOrderId", "cancelOrigClientOrderId",
                        true, &o) < 0) {
        *err = call_take_error(c);
        return NULL;
    }
    if (o == NULL) {
        *err = error_json(-2011, "Unknown order sent.");
        return NULL;
    }
    if (!cancel_allowed(restrict_s, o)) {
        *err = error_json(-2011,
                          "Order was not canceled due to cancel restrictions.");
        return NULL;
    }
    if (new_cid == NULL)
        cid_generate(gen);
    order_cancel_with_list(c->acct, o, now);
    return order_cancel_json(o, new_cid != NULL ? new_cid : gen, now);
}

/* Answers cancelReplace from its two halves: the cancel's answer or
 * {code, msg}, new_result 0 SUCCESS / 1 FAILURE / 2 NOT_ATTEMPTED with the
 * new order's answer, {code, msg} or NULL.  Takes both objects. */
static void
cancel_replace_answer(struct call *c, bool cancel_ok, json_object *cancel_resp,
                      int new_result, json_object *new_resp, int http)
{
    static const char *const RESULTS[] = {"SUCCESS", "FAILURE",
                                          "NOT_ATTEMPTED"};
    json_object *data = json_object_new_object();
    bool partial = cancel_ok || new_result == 0;

    jset(data, "cancelResult", jstr(RESULTS[cancel_ok ? 0 : 1]));
    jset(data, "newOrderResult", jstr(RESULTS[new_result]));
    jset(data, "cancelResponse", cancel_resp);
    jset(data, "newOrderResponse", new_resp);
    if (cancel_ok && new_result == 0) {
        json_object_put(c->body);
        c->body = data;
        c->status = 200;
        return;
    }
    call_fail(c, http, partial ? -2021 : -2022,
              partial ? "Order cancel-replace partially failed."
                      : "Order cancel-replace failed.");
    jset(c->body, "data", data);
}

/* Filters and the unfilled order count are checked first (their failures
 * are plain errors, nothing is canceled); what the matching engine rejects
 * in the new order comes back inside data (see binance-spot.md). */
static void
h_cancel_replace(struct call *c)
{
    struct account *a = c->acct;
    struct order_req rq;
    json_object *cancel_resp, *cancel_err, *limit_err = NULL, *new_resp = NULL;
    bool stop_on_failure, cancel_only, exceeded;
    int new_result = 0;
    long long now = server_now();

    memset(&rq, 0, sizeof(rq));
    if (order_parse_kind(c, &rq) < 0 ||
        cancel_replace_params(c, &stop_on_failure, &cancel_only) < 0 ||
        order_parse_shape(c, &rq, &ORDER_NAMES) < 0 ||
        order_parse_options(c, &rq) < 0 || order_check_filters(c, &rq) < 0 ||
        order_room(c, a, 1) < 0)
        return;
    exceeded = order_count_check(c, a, 1) < 0;
    if (exceeded && !cancel_only)
        return;
    if (exceeded)
        limit_err = call_take_error(c);
    cancel_resp = cancel_replace_cancel(c, rq.sym, now, &cancel_err);
    if (cancel_resp == NULL && stop_on_failure) {
        new_result = 2;
    } else if (exceeded) {
        new_result = 1;
        new_resp = limit_err;
        limit_err = NULL;
    } else if (order_precheck(c, a, &rq) < 0) {
        new_result = 1;
        new_resp = call_take_error(c);
    } else {
        struct order *o = order_create(a, &rq, now);
        struct trade *t = order_execute(a, o, &rq, now);
        new_resp = order_new_json(o, t, rq.resp);
    }
    json_object_put(limit_err);
    if (!exceeded) /* a new order NOT_ATTEMPTED counts too */
        order_count_add(a, 1);
    bool one_failed = (cancel_resp != NULL) != (new_result == 0);
    int http = exceeded && stop_on_failure ? 429 : one_failed ? 409 : 400;
    if (http != 429)
        c->retry_after = 0;
    cancel_replace_answer(c, cancel_resp != NULL,
                          cancel_resp != NULL ? cancel_resp : cancel_err,
                          new_result, new_resp, http);
}

/* The amendedOrder view (note qty, cumulativeQuoteQty). */
static json_object *
order_amended_json(const struct order *o, const char *orig_cid)
{
    json_object *j = order_head_json(o, orig_cid);
    jset(j, "clientOrderId", jstr(o->cid));
    jset(j, "price", jfx(o->price));
    jset(j, "qty", jfx(o->qty));
    jset(j, "executedQty", jfx(o->exec));
    jset(j, "preventedQty", jfx(0));
    jset(j, "quoteOrderQty", jfx(o->quote_qty));
    jset(j, "cumulativeQuoteQty", jfx(o->cumq));
    jset(j, "status", jstr(STATUSES[o->status]));
    jset(j, "timeInForce", jstr(TIFS[o->tif]));
    jset(j, "type", jstr(OTYPES[o->type].name));
    jset(j, "side", jstr(SIDES[o->side]));
    if (OTYPES[o->type].stop && o->stop > 0)
        jset(j, "stopPrice", jfx(o->stop));
    if (o->has_iceberg)
        jset(j, "icebergQty", jfx(o->iceberg));
    if (o->status != ST_PENDING_NEW)
        jset(j, "workingTime", jint(o->working_time));
    jset(j, "selfTradePreventionMode", jstr(STPS[o->stp]));
    order_add_extras(j, o);
    return j;
}

/* Reduces o to qty in place; a quantity at or below what already traded
 * ends the order (EXPIRED; an OTO working leg then expires its pending
 * legs). */
static void
order_amend_qty(struct account *a, struct order *o, fx_t qty, long long now)
{
    o->qty = qty < o->exec ? o->exec : qty;
    o->update_time = now;
    o->amends++;
    if (o->exec > 0 && o->exec >= o->qty) {
        order_end(a, o, ST_EXPIRED, now);
        if (o->list_id >= 0) {
            struct order_list *l = list_by_id(a, o->list_id);
            if (l != NULL && l->kind != K_OCO && l->leg[0] == o->id)
                list_expire_pending(a, l, now);
        }
    }
}

static void
h_order_amend(struct call *c)
{
    struct account *a = c->acct;
    const char *new_cid;
    char orig[CID_MAX + 1], gen[CID_MAX + 1];
    struct order *o, *sib, *group[2];
    json_object *st;
    fx_t qty;
    bool has_qty;
    int s, n = 0;

    if (need_symbol(c, &s) < 0 || order_lookup(c, s, true, &o) < 0 ||
        param_cid(c, "newClientOrderId", &new_cid) < 0 ||
        param_dec(c, "newQty", &qty, &has_qty) < 0)
        return;
    if (!has_qty) {
        fail_mandatory(c, "newQty");
        return;
    }
    if (o == NULL) {
        call_fail(c, 400, -2013, "Order does not exist.");
        return;
    }
    if (lot_size_bad(qty)) {
        fail_filter(c, "LOT_SIZE");
        return;
    }
    if (qty > o->qty) {
        call_fail(c, 400, -2038,
                  "Order amend (quantity increase) is not supported.");
        return;
    }
    if (qty == o->qty) {
        call_fail(c, 400, -2038,
                  "The requested action would change no state; rejecting");
        return;
    }
    if (o->amends >= FAKEX_MAX_ORDER_AMENDS) {
        call_fail(c, 400, -2038, "Filter failure: MAX_NUM_ORDER_AMENDS");
        return;
    }
    if (new_cid != NULL && strcmp(new_cid, o->cid) != 0 &&
        cid_in_use(a, new_cid)) {
        fail_rejected(c, "Duplicate order sent.");
        return;
    }
    long long now = server_now();
    copy_str(orig, sizeof(orig), o->cid);
    if (new_cid == NULL)
        cid_generate(gen);
    copy_str(o->cid, sizeof(o->cid), new_cid != NULL ? new_cid : gen);
    sib = oco_sibling(a, o); /* OCO legs share their quantity */
    group[n++] = o;
    if (sib != NULL && order_is_open(sib))
        group[n++] = sib;
    for (int i = 0; i < n; i++)
        order_amend_qty(a, group[i], qty, now);
    (void)group_relock(a, group, n); /* less than before: always covered */
    a->update_time = now;
    c->body = json_object_new_object();
    jset(c->body, "transactTime", jint(now));
    jset(c->body, "executionId", jint(g.next_execution_id++));
    jset(c->body, "amendedOrder", order_amended_json(o, orig));
    if (o->list_id < 0)
        return;
    struct order_list *l = list_by_id(a, o->list_id);
    if (l == NULL)
        return;
    st = json_object_new_object();
    jset(st, "orderListId", jint(l->id));
    jset(st, "contingencyType", jstr(l->kind == K_OCO ? "OCO" : "OTO"));
    jset(st, "listOrderStatus",
         jstr(list_is_open(a, l) ? "EXECUTING" : "ALL_DONE"));
    jset(st, "listClientOrderId", jstr(l->cid));
    jset(st, "symbol", jstr(SYMBOLS[l->sym].name));
    jset(st, "orders", list_orders_json(a, l));
    jset(c->body, "listStatus", st);
}

/* ---- account extras ---- */

static void
h_commission(struct call *c)
{
    int s;

    if (need_symbol(c, &s) < 0)
        return;
    c->body = json_object_new_object();
    jset(c->body, "symbol", jstr(SYMBOLS[s].name));
    jset(c->body, "standardCommission",
         rates_json(g_commission, g_commission, true));
    jset(c->body, "specialCommission", rates_json(0, 0, true));
    jset(c->body, "taxCommission", rates_json(0, 0, true));
    jset(c->body, "discount", discount_json());
}

static void
h_rate_limit_order(struct call *c)
{
    struct account *a = c->acct;
    json_object *r;

    order_counts_roll(a);
    c->body = json_object_new_array();
    r = rate_limit_json("ORDERS", "SECOND", 10, FAKEX_ORDER_LIMIT_10S);
    jset(r, "count", jint(a->n10s));
    json_object_array_add(c->body, r);
    r = rate_limit_json("ORDERS", "DAY", 1, FAKEX_ORDER_LIMIT_1D);
    jset(r, "count", jint(a->n1d));
    json_object_array_add(c->body, r);
}

/* Valid: symbol + preventedMatchId, or symbol + orderId [+
 * fromPreventedMatchId] [+ limit]. */
static void
h_prevented_matches(struct call *c)
{
    long long pm_id, oid, from_id, limit;
    int s;

    if (need_symbol(c, &s) < 0 ||
        param_int(c, "preventedMatchId", -1, &pm_id) < 0 ||
        param_int(c, "orderId", -1, &oid) < 0 ||
        param_int(c, "fromPreventedMatchId", -1, &from_id) < 0 ||
        param_limit(c, FAKEX_LIST_LIMIT_DEFAULT, FAKEX_LIST_LIMIT_MAX, &limit) <
            0)
        return;
    if (!(pm_id >= 0 && oid < 0 && from_id < 0) && !(pm_id < 0 && oid >= 0)) {
        call_fail(c, 400, -1128, "Combination of optional parameters invalid.");
        return;
    }
    c->body = json_object_new_array();
}

/* ------------------------------------------------------------------------
 * Routing and request weights.
 * ------------------------------------------------------------------------ */

/* Weight of a per-symbol endpoint: per_symbol for `symbol`, or all. */
static int
weight_by_symbols(const struct call *c, int per_symbol, int all)
{
    return param(c, "symbol") != NULL ? per_symbol : all;
}

static int
w_ticker_24hr(const struct call *c)
{
    const char *many = param(c, "symbols");
    if (many == NULL)
        return weight_by_symbols(c, FAKEX_W_TICKER_24HR, FAKEX_W_ALL_TICKERS);
    int n = 1;
    for (const char *p = many; *p; p++)
        n += *p == ',';
    n *= FAKEX_W_TICKER_24HR;
    return n < FAKEX_W_ALL_TICKERS ? n : FAKEX_W_ALL_TICKERS;
}

static int
w_ticker_price(const struct call *c)
{
    return weight_by_symbols(c, FAKEX_W_TICKER_PRICE, FAKEX_W_TICKER_PRICE_ALL);
}

static int
w_book_ticker(const struct call *c)
{
    return weight_by_symbols(c, FAKEX_W_BOOK_TICKER, FAKEX_W_TICKER_PRICE_ALL);
}

static int
w_open_orders(const struct call *c)
{
    return weight_by_symbols(c, FAKEX_W_OPEN_ORDERS, FAKEX_W_ALL_TICKERS);
}

static int
w_depth(const struct call *c)
{
    const char *v = param(c, "limit");
    long long limit = FAKEX_DEPTH_DEFAULT_LIMIT;
    if (v != NULL)
        int_parse(v, false, &limit);
    return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
}

static int
w_order_test(const struct call *c)
{
    const char *v = param(c, "computeCommissionRates");
    return v != NULL && strcmp(v, "true") == 0 ? 20 : FAKEX_W_ORDER_TEST;
}

/* myPreventedMatches: 2 by preventedMatchId (or for an invalid symbol),
 * 20 by orderId. */
static int
w_prevented(const struct call *c)
{
    const char *sym = param(c, "symbol");
    if (param(c, "preventedMatchId") != NULL || sym == NULL ||
        symbol_find(sym) < 0)
        return FAKEX_W_PREVENTED_BY_ID;
    return FAKEX_W_PREVENTED;
}

#define ORDER_PARAMS                                                           \
    "symbol,side,type,timeInForce,quantity,quoteOrderQty,price,"               \
    "newClientOrderId,strategyId,strategyType,stopPrice,trailingDelta,"        \
    "icebergQty,newOrderRespType,selfTradePreventionMode,"
#define LIST_PARAMS                                                            \
    "symbol,listClientOrderId,newOrderRespType,selfTradePreventionMode,"
/* The parameters of one list leg named prefix. */
/* clang-format off */
#define LEG_PARAMS(p)                                                          \
    p "Type," p "ClientOrderId," p "Price," p "StopPrice,"                     \
    p "TrailingDelta," p "IcebergQty," p "TimeInForce,"                        \
    p "StrategyId," p "StrategyType,"
/* clang-format on */
#define WORKING_PARAMS                                                         \
    "workingType,workingSide,workingClientOrderId,workingPrice,"               \
    "workingQuantity,workingIcebergQty,workingTimeInForce,workingStrategyId,"  \
    "workingStrategyType,"

struct route {
    const char *method, *path;
    bool is_signed;
    int weight;
    int (*weight_fn)(const struct call *c); /* NULL: weight */
    const char *accepted;                   /* ",a,b," parameter names */
    void (*handler)(struct call *c);
};

static const struct route ROUTES[] = {
    {"GET", "/api/v3/ping", false, FAKEX_W_PING, NULL, ",", h_ping},
    {"GET", "/api/v3/time", false, FAKEX_W_TIME, NULL, ",", h_time},
    {"GET", "/api/v3/exchangeInfo", false, FAKEX_W_EXCHANGE_INFO, NULL,
     ",symbol,symbols,permissions,showPermissionSets,symbolStatus,",
     h_exchange_info},
    {"GET", "/api/v3/ticker/24hr", false, 0, w_ticker_24hr,
     ",symbol,symbols,type,", h_ticker_24hr},
    {"GET", "/api/v3/ticker/price", false, 0, w_ticker_price,
     ",symbol,symbols,", h_ticker_price},
    {"GET", "/api/v3/ticker/bookTicker", false, 0, w_book_ticker,
     ",symbol,symbols,", h_book_ticker},
    {"GET", "/api/v3/avgPrice", false, FAKEX_W_AVG_PRICE, NULL, ",symbol,",
     h_avg_price},
    {"GET", "/api/v3/depth", false, 0, w_depth, ",symbol,limit,", h_depth},
    {"GET", "/api/v3/trades", false, FAKEX_W_TRADES, NULL, ",symbol,limit,",
     h_trades},
    {"GET", "/api/v3/klines", false, FAKEX_W_KLINES, NULL,
     ",symbol,interval,startTime,endTime,timeZone,limit,", h_klines},
    {"GET", "/api/v3/account", true, FAKEX_W_ACCOUNT, NULL,
     ",omitZeroBalances,", h_account},
    {"GET", "/sapi/v1/account/apiRestrictions", true, 1, NULL, ",",
     h_api_restrictions},
    {"GET", "/api/v3/myTrades", true, FAKEX_W_MY_TRADES, NULL,
     ",symbol,orderId,startTime,endTime,fromId,limit,", h_my_trades},
    {"POST", "/api/v3/order", true, FAKEX_W_ORDER_NEW, NULL, "," ORDER_PARAMS,
     h_order_new},
    {"POST", "/api/v3/order/test", true, 0, w_order_test,
     "," ORDER_PARAMS "computeCommissionRates,", h_order_test},
    {"GET", "/api/v3/order", true, FAKEX_W_ORDER_GET, NULL,
     ",symbol,orderId,origClientOrderId,", h_order_get},
    {"DELETE", "/api/v3/order", true, FAKEX_W_ORDER_CANCEL, NULL,
     ",symbol,orderId,origClientOrderId,newClientOrderId,cancelRestrictions,",
     h_order_cancel},
    {"GET", "/api/v3/openOrders", true, 0, w_open_orders, ",symbol,",
     h_open_orders},
    {"DELETE", "/api/v3/openOrders", true, FAKEX_W_CANCEL_ALL, NULL, ",symbol,",
     h_cancel_all},
    {"GET", "/api/v3/allOrders", true, FAKEX_W_ALL_ORDERS, NULL,
     ",symbol,orderId,startTime,endTime,limit,", h_all_orders},
    {"POST", "/api/v3/orderList/oco", true, FAKEX_W_ORDER_LIST_NEW, NULL,
     "," LIST_PARAMS "side,quantity," LEG_PARAMS("above") LEG_PARAMS("below"),
     h_list_oco},
    {"POST", "/api/v3/orderList/oto", true, FAKEX_W_ORDER_LIST_NEW, NULL,
     "," LIST_PARAMS WORKING_PARAMS
     "pendingSide,pendingQuantity," LEG_PARAMS("pending"),
     h_list_oto},
    {"POST", "/api/v3/orderList/otoco", true, FAKEX_W_ORDER_LIST_NEW, NULL,
     "," LIST_PARAMS WORKING_PARAMS "pendingSide,pendingQuantity," LEG_PARAMS(
         "pendingAbove") LEG_PARAMS("pendingBelow"),
     h_list_otoco},
    {"DELETE", "/api/v3/orderList", true, FAKEX_W_ORDER_LIST_DEL, NULL,
     ",symbol,orderListId,listClientOrderId,newClientOrderId,", h_list_cancel},
    {"GET", "/api/v3/orderList", true, FAKEX_W_ORDER_LIST_GET, NULL,
     ",orderListId,origClientOrderId,", h_list_get},
    {"GET", "/api/v3/allOrderList", true, FAKEX_W_ALL_ORDER_LISTS, NULL,
     ",fromId,startTime,endTime,limit,", h_all_lists},
    {"GET", "/api/v3/openOrderList", true, FAKEX_W_OPEN_ORDER_LISTS, NULL, ",",
     h_open_lists},
    {"POST", "/api/v3/order/cancelReplace", true, FAKEX_W_CANCEL_REPLACE, NULL,
     "," ORDER_PARAMS "cancelReplaceMode,cancelNewClientOrderId,"
     "cancelOrigClientOrderId,cancelOrderId,cancelRestrictions,"
     "orderRateLimitExceededMode,",
     h_cancel_replace},
    {"PUT", "/api/v3/order/amend/keepPriority", true, FAKEX_W_AMEND, NULL,
     ",symbol,orderId,origClientOrderId,newClientOrderId,newQty,",
     h_order_amend},
    {"GET", "/api/v3/account/commission", true, FAKEX_W_COMMISSION, NULL,
     ",symbol,", h_commission},
    {"GET", "/api/v3/rateLimit/order", true, FAKEX_W_RATE_LIMIT_ORDER, NULL,
     ",", h_rate_limit_order},
    {"GET", "/api/v3/myPreventedMatches", true, 0, w_prevented,
     ",symbol,preventedMatchId,orderId,fromPreventedMatchId,limit,",
     h_prevented_matches},
};

/* The route for method + path; *path_known tells whether any method has
 * the path (so a miss is 405 rather than 404). */
static const struct route *
route_find(const char *method, const char *path, bool *path_known)
{
    *path_known = false;
    if (strcmp(method, "HEAD") == 0) /* MHD sends no body for HEAD */
        method = "GET";
    for (size_t i = 0; i < sizeof(ROUTES) / sizeof(ROUTES[0]); i++) {
        if (strcmp(ROUTES[i].path, path) != 0)
            continue;
        *path_known = true;
        if (strcmp(ROUTES[i].method, method) == 0)
            return &ROUTES[i];
    }
    return NULL;
}

/* True when name is in the route's accepted list (or is one of the
 * parameters every signed request carries). */
static bool
route_accepts(const struct route *rt, const char *name)
{
    char needle[80];
    if (rt->is_signed &&
        (strcmp(name, "timestamp") == 0 || strcmp(name, "recvWindow") == 0 ||
         strcmp(name, "signature") == 0))
        return true;
    if (strlen(name) + 3 > sizeof(needle) || strchr(name, ',') != NULL)
        return false;
    snprintf(needle, sizeof(needle), ",%s,", name);
    return strstr(rt->accepted, needle) != NULL;
}

/* Binance refuses parameters an endpoint does not read (-1104). */
static int
check_unread(struct call *c, const struct route *rt)
{
    size_t read = 0;
    for (size_t i = 0; i < c->p.n; i++)
        read += route_accepts(rt, c->p.v[i].name);
    if (read == c->p.n)
        return 0;
    call_errorf(c, 400, -1104,
                "Not all sent parameters were read; read '%zu' "
                "parameter(s) but was sent '%zu'.",
                read, c->p.n);
    return -1;
}

/* Serves an /api/ request that is not faulted away.  Caller holds g.lock. */
static void
dispatch(struct call *c, const struct route *rt, bool path_known)
{
    c->status = 200;
    if (rt == NULL) {
        call_fail(c, path_known ? 405 : 404, -1020,
                  "This operation is not supported.");
        return;
    }
    if (c->p.error == 1) {
        call_fail(c, 400, -1101, "Duplicate values for a parameter detected.");
        return;
    }
    if (c->p.error == 2) {
        call_fail(c, 400, -1101, "Too many parameters sent for this endpoint.");
        return;
    }
    if (rt->is_signed && auth_check(c) < 0)
        return;
    if (check_unread(c, rt) < 0)
        return;
    rt->handler(c);
    if (c->body == NULL)
        fail_oom(c);
}

/* ------------------------------------------------------------------------
 * The control API under /__fake/.
 * ------------------------------------------------------------------------ */

static int
fake_fail(struct call *c, int http, const char *msg)
{
    json_object_put(c->body);
    c->body = json_object_new_object();
    jset(c->body, "error", jstr(msg));
    c->status = http;
    return -1;
}

/* Reads optional integer control parameter name into *out (def when
 * absent); negative values only with allow_neg.  Returns 0 or -1. */
static int
fake_int(struct call *c, const char *name, long long def, bool allow_neg,
         long long *out)
{
    const char *v = param(c, name);
    char msg[128];
    *out = def;
    if (v == NULL || int_parse(v, allow_neg, out) == 0)
        return 0;
    snprintf(msg, sizeof(msg), "bad integer for %s", name);
    return fake_fail(c, 400, msg);
}

/* POST /__fake/fault?type=T[&path=P][&method=M][&count=N][&retry_after=S]
 * [&delay_ms=MS][&executed=0|1][&when=before|after]: a slow fault delays
 * before executing the request (when=before, the default) or executes it
 * at once and delays only the answer (when=after: an order that is placed
 * while its client waits). */
static void
fake_fault(struct call *c)
{
    const char *type = param(c, "type");
    struct fault f;
    long long count, ra, delay, exec;

    memset(&f, 0, sizeof(f));
    if (type == NULL || (f.type = ENUM_FIND(FAULT_NAMES, type)) < 0) {
        fake_fail(c, 400,
                  "type must be 429, 418, 500, 502, 503, slow, "
                  "badjson or drop");
        return;
    }
    bool run_default = f.type == F_SLOW || f.type == F_BADJSON;
    if (fake_int(c, "count", 1, false, &count) < 0 ||
        fake_int(c, "retry_after", FAKEX_RETRY_AFTER_DEFAULT, false, &ra) < 0 ||
        fake_int(c, "delay_ms",
                 f.type == F_SLOW ? FAKEX_SLOW_DELAY_DEFAULT_MS : 0, false,
                 &delay) < 0 ||
        fake_int(c, "executed", run_default, false, &exec) < 0)
        return;
    copy_str(f.path, sizeof(f.path), param(c, "path"));
    copy_str(f.method, sizeof(f.method), param(c, "method"));
    f.remaining = (long)count;
    f.retry_after = (long)ra;
    f.delay_ms = (long)delay;
    f.executed = run_default || exec != 0;
    const char *when = param(c, "when");
    if (when != NULL && strcmp(when, "after") != 0 &&
        strcmp(when, "before") != 0) {
        fake_fail(c, 400, "when must be before or after");
        return;
    }
    f.delay_after = when != NULL && strcmp(when, "after") == 0;
    if (grow((void **)&g.faults, &g.cap_faults, g.nfaults + 1, sizeof(f)) < 0) {
        fake_fail(c, 500, "out of memory");
        return;
    }
    g.faults[g.nfaults++] = f;
    c->body = json_object_new_object();
    jset(c->body, "queued", jint((long long)g.nfaults));
}

/* GET /__fake/stats[?method=M&path=P] */
static void
fake_stats(struct call *c)
{
    const char *method = param(c, "method"), *path = param(c, "path");
    char name[160];

    c->body = json_object_new_object();
    if (method != NULL && path != NULL) {
        const struct stat_row *r = NULL;
        snprintf(name, sizeof(name), "%s %s", method, path);
        for (size_t i = 0; i < g.nstats && r == NULL; i++)
            if (strcmp(g.stats[i].key, name) == 0)
                r = &g.stats[i];
        jset(c->body, "count", jint(r ? r->count : 0));
        jset(c->body, "last_api_key", jstr(r ? r->last_key : ""));
        jset(c->body, "last_query",
             jstr(r && r->last_query ? r->last_query : ""));
        jset(c->body, "last_body", jstr(r && r->last_body ? r->last_body : ""));
        return;
    }
    json_object *by = json_object_new_object();
    for (size_t i = 0; i < g.nstats; i++)
        jset(by, g.stats[i].key, jint(g.stats[i].count));
    jset(c->body, "total", jint(g.total));
    jset(c->body, "by_path", by);
    jset(c->body, "last_api_key", jstr(g.last_key));
}

/* Reads optional decimal control parameter name. Returns 0 or -1. */
static int
fake_dec(struct call *c, const char *name, fx_t *out, bool *has)
{
    const char *v = param(c, name);
    char msg[128];
    *out = 0;
    *has = v != NULL;
    if (v == NULL || fx_parse(v, out) == 0)
        return 0;
    snprintf(msg, sizeof(msg), "bad decimal for %s", name);
    return fake_fail(c, 400, msg);
}

/* POST /__fake/fill?orderId=N[&qty=Q][&price=P]: trades open order N (of
 * any account) as maker; see fakex.h. */
static void
fake_fill(struct call *c)
{
    struct account *a = NULL;
    struct order *o = NULL;
    long long id;
    fx_t qty, px;
    bool has_qty, has_px;

    if (fake_int(c, "orderId", -1, false, &id) < 0 ||
        fake_dec(c, "qty", &qty, &has_qty) < 0 ||
        fake_dec(c, "price", &px, &has_px) < 0)
        return;
    if (id < 0) {
        fake_fail(c, 400, "orderId is required");
        return;
    }
    for (size_t i = 0; i < g.nacct && o == NULL; i++)
        if ((o = order_by_id(&g.acct[i], id)) != NULL)
            a = &g.acct[i];
    if (o == NULL) {
        fake_fail(c, 404, "no such order");
        return;
    }
    if (o->status == ST_PENDING_NEW || !order_is_open(o)) {
        fake_fail(c, 409,
                  o->status == ST_PENDING_NEW ? "order is pending (PENDING_NEW)"
                                              : "order is not open");
        return;
    }
    fx_t rest = o->qty - o->exec;
    if (!has_qty)
        qty = rest;
    if (!has_px)
        px = reserve_price(o->type, o->sym, o->price, o->stop);
    if (qty <= 0 || qty > rest || px <= 0) {
        fake_fail(c, 400,
                  "qty must be > 0 and at most the unfilled quantity, "
                  "price > 0");
        return;
    }
    if (grow((void **)&a->trades, &a->cap_trades, a->ntrades + 3,
             sizeof(struct trade)) < 0) {
        fake_fail(c, 500, "out of memory");
        return;
    }
    order_fill_qty(a, o, px, qty, o->working, server_now());
    c->body = json_object_new_object();
    jset(c->body, "order", order_query_json(o));
    struct order_list *l = o->list_id >= 0 ? list_by_id(a, o->list_id) : NULL;
    if (l != NULL)
        jset(c->body, "orderList", list_json(a, l, NULL, false));
}

/* POST /__fake/order_count?n10s=N[&n1d=M][&key=K]: sets the unfilled order
 * counters of account K (default: the first). */
static void
fake_order_count(struct call *c)
{
    const char *key = param(c, "key");
    struct account *a = key != NULL   ? account_find(key)
                        : g.nacct > 0 ? &g.acct[0]
                                      : NULL;
    long long n10s, n1d;

    if (a == NULL) {
        fake_fail(c, 404, "no such key");
        return;
    }
    order_counts_roll(a);
    if (fake_int(c, "n10s", a->n10s, false, &n10s) < 0 ||
        fake_int(c, "n1d", a->n1d, false, &n1d) < 0)
        return;
    a->n10s = n10s;
    a->n1d = n1d;
    c->body = json_object_new_object();
    jset(c->body, "n10s", jint(n10s));
    jset(c->body, "n1d", jint(n1d));
}

/* ------------------------------------------------------------------------
 * The streams' control API under /__fake/stream (see fakex.h).
 * ------------------------------------------------------------------------ */

/* The random diff generator: a thread that applies and publishes n depth
 * events to one symbol's book at a given rate, from a seeded PRNG, so that
 * a run can be repeated.  Its fields are guarded by g.lock. */
static struct generator {
    pthread_t thread;
    bool started, running;
    atomic_int stop;
    int sym, max_changes;
    int syms[NSYM_MAX], nsyms; /* symbols=: taken in turn (else sym) */
    int band, trades_pct;
    long long n, done, rate;
    uint64_t rng;
} g_gen;

/* xorshift64*: the generator's PRNG. */
static uint64_t
gen_next(uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * UINT64_C(2685821657736338717);
}

/* One random depth event: 1 to max_changes level changes within band
 * ticks of the last price (bids below, asks above, so the book never
 * crosses), quantities k * FAKEX_STREAM_QTY_STEP with k in 0..5 (0
 * removes), spanning 1 to 3 update ids; then, trades_pct times in 100, an
 * aggTrade at the best bid or ask.  Caller holds g.lock. */
static void
gen_step(void)
{
    struct level chg[FAKEX_STREAM_MAX_CHANGES];
    int side[FAKEX_STREAM_MAX_CHANGES];
    int s = g_gen.nsyms > 0 ? g_gen.syms[g_gen.done % g_gen.nsyms] : g_gen.sym;
    int n = 1 + (int)(gen_next(&g_gen.rng) % (uint64_t)g_gen.max_changes);
    fx_t qstep = fx_const(FAKEX_STREAM_QTY_STEP);

    for (int i = 0; i < n; i++) {
        uint64_t r = gen_next(&g_gen.rng);
        fx_t off = g_mkt[s].tick * (fx_t)(1 + (r >> 8) % (uint64_t)g_gen.band);
        side[i] = (int)(r & 1);
        chg[i].px =
            side[i] == BOOK_BIDS ? g_mkt[s].last - off : g_mkt[s].last + off;
        chg[i].qty = qstep * (fx_t)((r >> 40) % 6);
    }
    book_event(s, chg, side, n, 1 + (int)(gen_next(&g_gen.rng) % 3));
    if ((int)(gen_next(&g_gen.rng) % 100) < g_gen.trades_pct) {
        int sd = (int)(gen_next(&g_gen.rng) & 1);
        fx_t px =
            g_books[s].n[sd] > 0 ? g_books[s].side[sd][0].px : g_mkt[s].last;
        book_trade(s, px, qstep, sd == BOOK_BIDS);
    }
}

static void *
gen_thread(void *arg)
{
    struct timespec t0, now;
    (void)arg;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long long done, rate;
        pthread_mutex_lock(&g.lock);
        if (g_gen.done == g_gen.n || atomic_load(&g_gen.stop) ||
            atomic_load(&g_stop)) {
            g_gen.running = false;
            pthread_mutex_unlock(&g.lock);
            return NULL;
        }
        gen_step();
        done = ++g_gen.done;
        rate = g_gen.rate;
        pthread_mutex_unlock(&g.lock);
        if (rate <= 0)
            continue;
        /* the pace: event k is due k/rate seconds after the start */
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long due_us = done * 1000000LL / rate;
        long long at_us = (now.tv_sec - t0.tv_sec) * 1000000LL +
                          (now.tv_nsec - t0.tv_nsec) / 1000;
        if (due_us > at_us) {
            struct timespec ts = {(due_us - at_us) / 1000000,
                                  ((due_us - at_us) % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

/* Waits for a generator that has finished or been told to stop.  Must be
 * called without g.lock. */
static void
gen_join(void)
{
    if (g_gen.started) {
        atomic_store(&g_gen.stop, 1);
        pthread_join(g_gen.thread, NULL);
        g_gen.started = false;
    }
}

/* Parses symbols=A,B,... into g_gen.syms.  Returns 0, or -1 after
 * answering 400. */
static int
gen_symbols(struct call *c, const char *list)
{
    char buf[4096], *save = NULL;

    g_gen.nsyms = 0;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        int s = symbol_find(t);
        if (s < 0 || g_gen.nsyms == NSYM_MAX) {
            fake_fail(c, 400, "symbols: unknown symbol or too many");
            return -1;
        }
        g_gen.syms[g_gen.nsyms++] = s;
    }
    if (g_gen.nsyms == 0) {
        fake_fail(c, 400, "symbols: empty list");
        return -1;
    }
    return 0;
}

/* POST /__fake/stream/random?symbol=S|symbols=A,B&n=N[&rate=R][&seed=X]
 * [&changes=K][&band=B][&trades=P] */
static void
fake_stream_random(struct call *c, int s)
{
    const char *list = param(c, "symbols");
    long long n, rate, seed, changes, band, trades;

    if (fake_int(c, "n", 1000, false, &n) < 0 ||
        fake_int(c, "rate", 0, false, &rate) < 0 ||
        fake_int(c, "seed", 1, false, &seed) < 0 ||
        fake_int(c, "changes", 4, false, &changes) < 0 ||
        fake_int(c, "band", FAKEX_STREAM_BAND, false, &band) < 0 ||
        fake_int(c, "trades", 0, false, &trades) < 0)
        return;
    if (n < 1 || n > FAKEX_STREAM_MAX_EVENTS || changes < 1 ||
        changes > FAKEX_STREAM_MAX_CHANGES || band < 1 ||
        band > FAKEX_STREAM_BAND || trades < 0 || trades > 100) {
        fake_fail(c, 400, "n, changes, band or trades out of range");
        return;
    }
    if (g_gen.running) {
        fake_fail(c, 409, "a generator is running");
        return;
    }
    if (g_gen.started) { /* finished: its thread needs no lock to end */
        pthread_join(g_gen.thread, NULL);
        g_gen.started = false;
    }
    g_gen.nsyms = 0;
    if (list != NULL && gen_symbols(c, list) < 0)
        return;
    g_gen.sym = s;
    g_gen.band = (int)band;
    g_gen.trades_pct = (int)trades;
    g_gen.n = n;
    g_gen.done = 0;
    g_gen.rate = rate;
    g_gen.max_changes = (int)changes;
    g_gen.rng = (uint64_t)seed * UINT64_C(0x9E3779B97F4A7C15) | 1;
    atomic_store(&g_gen.stop, 0);
    if (pthread_create(&g_gen.thread, NULL, gen_thread, NULL) != 0) {
        fake_fail(c, 500, "cannot start the generator");
        return;
    }
    g_gen.started = g_gen.running = true;
    c->body = json_object_new_object();
    jset(c->body, "started", jbool(true));
    jset(c->body, "fromUpdateId", jint(s >= 0 ? g_books[s].update_id + 1 : 0));
}

/* POST /__fake/stream/probe?symbol=S: one depth event that changes the
 * quantity of S's best bid (so a bookTicker follows), and the wall-clock
 * time it was queued to the connections, for a client measuring how fast a
 * change reaches it. */
static void
fake_stream_probe(struct call *c, int s)
{
    struct live_book *b = &g_books[s];
    fx_t q1 = fx_const(FAKEX_DEPTH_QTY_STEP);
    struct level l;
    int sd = BOOK_BIDS;
    struct timespec ts;

    l.px = b->n[sd] > 0 ? b->side[sd][0].px : g_mkt[s].last - g_mkt[s].tick;
    l.qty = b->n[sd] > 0 && b->side[sd][0].qty == q1 ? 2 * q1 : q1;
    book_event(s, &l, &sd, 1, 1);
    clock_gettime(CLOCK_REALTIME, &ts);
    c->body = json_object_new_object();
    jset(c->body, "lastUpdateId", jint(b->update_id));
    jset(c->body, "sentUs",
         jint((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000));
}

static size_t uds_subscriptions(void);

/* GET /__fake/stream[?symbol=S]: the server's port and counters, the
 * generator's progress, and the symbol's book. */
static void
fake_stream_info(struct call *c, int s)
{
    struct fxws_stats st;
    json_object *gen = json_object_new_object();

    fxws_stats(g_ws, &st);
    c->body = json_object_new_object();
    jset(c->body, "port", jint(fxws_port(g_ws)));
    jset(c->body, "open", jint(st.open));
    jset(c->body, "accepted", jint((long long)st.accepted));
    jset(c->body, "refused", jint((long long)st.refused));
    jset(c->body, "pings", jint((long long)st.pings));
    jset(c->body, "pongs", jint((long long)st.pongs));
    jset(c->body, "received", jint((long long)st.received));
    jset(c->body, "sent", jint((long long)st.sent));
    jset(c->body, "lastCloseCode", jint(st.last_close_code));
    jset(c->body, "userDataSubscriptions",
         jint((long long)uds_subscriptions()));
    jset(gen, "running", jbool(g_gen.running));
    jset(gen, "done", jint(g_gen.done));
    jset(gen, "n", jint(g_gen.n));
    jset(c->body, "generator", gen);
    if (s >= 0) {
        jset(c->body, "lastUpdateId", jint(g_books[s].update_id));
        jset(c->body, "bids", jint(g_books[s].n[BOOK_BIDS]));
        jset(c->body, "asks", jint(g_books[s].n[BOOK_ASKS]));
    }
}

/* POST /__fake/stream/depth?symbol=S&side=bid|ask&price=P&qty=Q[&ids=N] */
static void
fake_stream_depth(struct call *c, int s)
{
    const char *side = param(c, "side");
    struct level l;
    bool has_px, has_qty;
    long long ids;
    int sd;

    if (fake_dec(c, "price", &l.px, &has_px) < 0 ||
        fake_dec(c, "qty", &l.qty, &has_qty) < 0 ||
        fake_int(c, "ids", 1, false, &ids) < 0)
        return;
    if (side == NULL ||
        (strcmp(side, "bid") != 0 && strcmp(side, "ask") != 0) || !has_px ||
        !has_qty || l.px <= 0 || ids < 1 || ids > 1000) {
        fake_fail(c, 400, "need side=bid|ask, price, qty (and ids 1..1000)");
        return;
    }
    sd = side[0] == 'b' ? BOOK_BIDS : BOOK_ASKS;
    book_event(s, &l, &sd, 1, (int)ids);
    c->body = json_object_new_object();
    jset(c->body, "lastUpdateId", jint(g_books[s].update_id));
}

/* POST /__fake/stream/trade?symbol=S&price=P&qty=Q[&buyer_maker=true] */
static void
fake_stream_trade(struct call *c, int s)
{
    const char *bm = param(c, "buyer_maker");
    fx_t px, qty;
    bool has_px, has_qty;

    if (fake_dec(c, "price", &px, &has_px) < 0 ||
        fake_dec(c, "qty", &qty, &has_qty) < 0)
        return;
    if (!has_px || !has_qty || px <= 0 || qty <= 0) {
        fake_fail(c, 400, "need price and qty above 0");
        return;
    }
    c->body = json_object_new_object();
    jset(c->body, "a",
         jint(book_trade(s, px, qty, bm != NULL && strcmp(bm, "true") == 0)));
}

/* POST /__fake/stream/send?(text=T|size=N)[&fragments=K]: a text message
 * to every connection (size: N bytes of "x"), in K frames. */
static void
fake_stream_send(struct call *c)
{
    const char *text = param(c, "text");
    long long size, frags;
    char *buf = NULL;

    if (fake_int(c, "size", 0, false, &size) < 0 ||
        fake_int(c, "fragments", 1, false, &frags) < 0)
        return;
    if ((text == NULL) == (size == 0) || size > (16 << 20) || frags < 1 ||
        frags > 1000) {
        fake_fail(c, 400,
                  "need text or size (up to 16 MiB), fragments 1..1000");
        return;
    }
    if (text == NULL) {
        if ((buf = malloc((size_t)size)) == NULL) {
            fake_fail(c, 500, "out of memory");
            return;
        }
        memset(buf, 'x', (size_t)size);
    }
    c->body = json_object_new_object();
    jset(c->body, "connections",
         jint(fxws_send_text(g_ws, text ? text : buf,
                             text ? strlen(text) : (size_t)size, (int)frags)));
    free(buf);
}

/* Serves /__fake/stream and /__fake/stream/...  Caller holds g.lock. */
static void
fake_stream(struct call *c, bool post)
{
    const char *op = c->path + strlen("/__fake/stream");
    const char *sym = param(c, "symbol");
    long long n;
    int s = sym ? symbol_find(sym) : -1;
    bool needs_symbol =
        (strcmp(op, "/random") == 0 && param(c, "symbols") == NULL) ||
        strcmp(op, "/gap") == 0 || strcmp(op, "/depth") == 0 ||
        strcmp(op, "/trade") == 0 || strcmp(op, "/probe") == 0;

    if ((sym != NULL && s < 0) || (needs_symbol && s < 0)) {
        fake_fail(c, 400, "need a known symbol");
    } else if (op[0] == '\0' && !post) {
        fake_stream_info(c, s);
    } else if (!post) {
        fake_fail(c, 405, "method not allowed");
    } else if (strcmp(op, "/random") == 0) {
        fake_stream_random(c, s);
    } else if (strcmp(op, "/gap") == 0) {
        if (fake_int(c, "events", 1, false, &n) == 0) {
            g_books[s].gap_events += (int)(n < 1000 ? n : 1000);
            c->body = json_object_new_object();
            jset(c->body, "gapEvents", jint(g_books[s].gap_events));
        }
    } else if (strcmp(op, "/depth") == 0) {
        fake_stream_depth(c, s);
    } else if (strcmp(op, "/trade") == 0) {
        fake_stream_trade(c, s);
    } else if (strcmp(op, "/probe") == 0) {
        fake_stream_probe(c, s);
    } else if (strcmp(op, "/ping") == 0) {
        const char *payload = param(c, "payload");
        c->body = json_object_new_object();
        jset(c->body, "connections",
             jint(fxws_ping(g_ws, payload ? payload : "")));
    } else if (strcmp(op, "/disconnect") == 0) {
        const char *frame = param(c, "frame");
        c->body = json_object_new_object();
        jset(c->body, "connections",
             jint(fxws_disconnect(g_ws,
                                  frame == NULL || strcmp(frame, "0") != 0)));
    } else if (strcmp(op, "/send") == 0) {
        fake_stream_send(c);
    } else if (strcmp(op, "/badframe") == 0) {
        c->body = json_object_new_object();
        jset(c->body, "connections", jint(fxws_send_bad_frame(g_ws)));
    } else {
        fake_fail(c, 404, "no such control endpoint");
    }
}

/* ------------------------------------------------------------------------
 * The WebSocket API (/ws-api/v3 on the stream server): user data stream
 * subscriptions by userDataStream.subscribe.signature.  After every request
 * that may change an account (REST and /__fake/), uds_flush compares each
 * subscribed account with what its subscribers were last told and sends
 * an executionReport per order change and an outboundAccountPosition per
 * balance change, wrapped {"subscriptionId":n,"event":{...}}.  Guarded by
 * g.lock.
 * ------------------------------------------------------------------------ */

struct uds_sub {
    unsigned long long conn; /* the stream server's connection id */
    size_t acct;
    long long id;
};

/* What the subscribers of an account were last told. */
struct uds_seen {
    bool on;
    struct {
        int status;
        fx_t exec;
    } * order; /* parallel to the account's orders (append-only) */
    size_t norder, cap;
    fx_t free[NASSET], locked[NASSET];
};

static struct {
    struct uds_sub sub[FAKEX_UDS_MAX_SUBS];
    size_t nsub;
    long long next_id, next_exec_id;
    struct uds_seen seen[FAKEX_MAX_KEYS];
} g_uds;

/* The user data subscriptions of connections still open (for
 * GET /__fake/stream); those of closed ones are dropped.  Caller holds
 * g.lock. */
static size_t
uds_subscriptions(void)
{
    for (size_t k = 0; k < g_uds.nsub;)
        if (fxws_is_open(g_ws, g_uds.sub[k].conn))
            k++;
        else
            g_uds.sub[k] = g_uds.sub[--g_uds.nsub];
    return g_uds.nsub;
}

/* Takes account i's present state as told. Returns 0 or -1 (memory). */
static int
uds_seen_reset(size_t i)
{
    struct uds_seen *v = &g_uds.seen[i];
    const struct account *a = &g.acct[i];

    v->norder = 0;
    if (grow((void **)&v->order, &v->cap, a->norders + 1, sizeof(*v->order)) <
        0)
        return -1;
    for (size_t k = 0; k < a->norders; k++) {
        v->order[k].status = a->orders[k].status;
        v->order[k].exec = a->orders[k].exec;
    }
    v->norder = a->norders;
    memcpy(v->free, a->free, sizeof(v->free));
    memcpy(v->locked, a->locked, sizeof(v->locked));
    v->on = true;
    return 0;
}

/* Sends event (taken over) to every subscriber of account i; drops the
 * subscriptions whose connection is gone. */
static void
uds_send(size_t i, json_object *event)
{
    for (size_t k = 0; k < g_uds.nsub;) {
        struct uds_sub *sub = &g_uds.sub[k];
        json_object *w;
        int rc = 0;
        if (sub->acct != i) {
            k++;
            continue;
        }
        w = json_object_new_object();
        jset(w, "subscriptionId", jint(sub->id));
        jset(w, "event", json_object_get(event));
        rc = fxws_send_to(
            g_ws, sub->conn,
            json_object_to_json_string_ext(
                w, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(w);
        if (rc < 0)
            g_uds.sub[k] = g_uds.sub[--g_uds.nsub];
        else
            k++;
    }
    json_object_put(event);
}

/* The last trade of order o, or NULL. */
static const struct trade *
order_last_trade(const struct account *a, const struct order *o)
{
    for (size_t k = a->ntrades; k-- > 0;)
        if (a->trades[k].order_id == o->id)
            return &a->trades[k];
    return NULL;
}

/* An executionReport of o with execution type x; last is the quantity
 * this execution filled (0 for none). */
static json_object *
execution_report(const struct account *a, const struct order *o, const char *x,
                 fx_t last)
{
    const struct trade *t = last > 0 ? order_last_trade(a, o) : NULL;
    json_object *e = json_object_new_object();
    long long now = server_now();
    bool done = o->status == ST_CANCELED || o->status == ST_EXPIRED;

    jset(e, "e", jstr("executionReport"));
    jset(e, "E", jint(now));
    jset(e, "s", jstr(SYMBOLS[o->sym].name));
    jset(e, "c", jstr(o->cid));
    jset(e, "S", jstr(SIDES[o->side]));
    jset(e, "o", jstr(OTYPES[o->type].name));
    jset(e, "f", jstr(TIFS[o->tif]));
    jset(e, "q", jfx(o->qty));
    jset(e, "p", jfx(o->price));
    jset(e, "P", jfx(o->stop));
    jset(e, "F", jfx(o->iceberg));
    jset(e, "g", jint(o->list_id));
    jset(e, "C", jstr(done ? o->cid : ""));
    jset(e, "x", jstr(x));
    jset(e, "X", jstr(STATUSES[o->status]));
    jset(e, "r", jstr("NONE"));
    jset(e, "i", jint(o->id));
    jset(e, "l", jfx(last));
    jset(e, "z", jfx(o->exec));
    jset(e, "L", jfx(t ? t->price : 0));
    jset(e, "n", jfx(t ? t->comm : 0));
    jset(e, "N", t ? jstr(ASSETS[t->comm_asset]) : NULL);
    jset(e, "T", jint(t ? t->time : now));
    jset(e, "t", jint(t ? t->id : -1));
    jset(e, "I", jint(++g_uds.next_exec_id));
    jset(e, "w",
         jbool(o->status == ST_NEW || o->status == ST_PARTIALLY_FILLED));
    jset(e, "m", jbool(t ? t->maker : false));
    jset(e, "M", jbool(false));
    jset(e, "O", jint(o->time));
    jset(e, "Z", jfx(o->cumq));
    jset(e, "Y", jfx(t ? fx_mul(t->price, last) : 0));
    jset(e, "Q", jfx(o->quote_qty));
    if (o->working)
        jset(e, "W", jint(o->working_time));
    jset(e, "V", jstr(STPS[o->stp]));
    return e;
}

/* The reports for order k of account i since it was last told. */
static void
uds_order_changes(size_t i, size_t k)
{
    struct uds_seen *v = &g_uds.seen[i];
    const struct account *a = &g.acct[i];
    const struct order *o = &a->orders[k];
    int was = k < v->norder ? v->order[k].status : -1;
    fx_t exec = k < v->norder ? v->order[k].exec : 0;

    if (was == -1 || (was == ST_PENDING_NEW && o->status != ST_PENDING_NEW))
        uds_send(i, execution_report(a, o, "NEW", 0));
    if (o->exec > exec)
        uds_send(i, execution_report(a, o, "TRADE", o->exec - exec));
    if (o->status != was &&
        (o->status == ST_CANCELED || o->status == ST_EXPIRED))
        uds_send(i, execution_report(a, o, STATUSES[o->status], 0));
}

/* A listStatus for order list id of account i (when a leg changed: on
 * placement EXEC_STARTED / EXECUTING, at the end ALL_DONE). */
static void
uds_list_status(size_t i, long long id)
{
    struct account *a = &g.acct[i];
    const struct order_list *l = list_by_id(a, id);
    json_object *j, *e, *legs;

    if (l == NULL)
        return;
    j = list_json(a, l, NULL, false);
    e = json_object_new_object();
    legs = json_object_new_array();
    jset(e, "e", jstr("listStatus"));
    jset(e, "E", jint(server_now()));
    jset(e, "s", jstr(SYMBOLS[l->sym].name));
    jset(e, "g", jint(l->id));
    jset(e, "c", json_object_get(json_object_object_get(j, "contingencyType")));
    jset(e, "l", json_object_get(json_object_object_get(j, "listStatusType")));
    jset(e, "L", json_object_get(json_object_object_get(j, "listOrderStatus")));
    jset(e, "r", jstr("NONE"));
    jset(e, "C", jstr(l->cid));
    jset(e, "T", jint(server_now()));
    for (size_t k = 0;
         k < json_object_array_length(json_object_object_get(j, "orders"));
         k++) {
        json_object *o = json_object_array_get_idx(
                        json_object_object_get(j, "orders"), k),
                    *leg = json_object_new_object();
        jset(leg, "s", json_object_get(json_object_object_get(o, "symbol")));
        jset(leg, "i", json_object_get(json_object_object_get(o, "orderId")));
        jset(leg, "c",
             json_object_get(json_object_object_get(o, "clientOrderId")));
        json_object_array_add(legs, leg);
    }
    jset(e, "O", legs);
    json_object_put(j);
    uds_send(i, e);
}

/* Tells every subscribed account's subscribers what changed.  Caller holds
 * g.lock. */
static void
uds_flush(void)
{
    for (size_t i = 0; i < g.nacct; i++) {
        struct uds_seen *v = &g_uds.seen[i];
        const struct account *a = &g.acct[i];
        json_object *bal;

        if (!v->on)
            continue;
        if (a->norders < v->norder) { /* /__fake/reset: start over */
            uds_seen_reset(i);
            continue;
        }
        if (grow((void **)&v->order, &v->cap, a->norders + 1,
                 sizeof(*v->order)) < 0)
            continue;
        long long lists[8];
        size_t nlists = 0;
        for (size_t k = 0; k < a->norders; k++) {
            if (k < v->norder && v->order[k].status == a->orders[k].status &&
                v->order[k].exec == a->orders[k].exec)
                continue;
            uds_order_changes(i, k);
            v->order[k].status = a->orders[k].status;
            v->order[k].exec = a->orders[k].exec;
            if (a->orders[k].list_id >= 0 && nlists < 8 &&
                (nlists == 0 || lists[nlists - 1] != a->orders[k].list_id))
                lists[nlists++] = a->orders[k].list_id;
        }
        v->norder = a->norders;
        for (size_t k = 0; k < nlists; k++)
            uds_list_status(i, lists[k]);
        bal = json_object_new_array();
        for (int k = 0; k < NASSET; k++) {
            json_object *b;
            if (a->free[k] == v->free[k] && a->locked[k] == v->locked[k])
                continue;
            b = json_object_new_object();
            jset(b, "a", jstr(ASSETS[k]));
            jset(b, "f", jfx(a->free[k]));
            jset(b, "l", jfx(a->locked[k]));
            json_object_array_add(bal, b);
            v->free[k] = a->free[k];
            v->locked[k] = a->locked[k];
        }
        if (json_object_array_length(bal) > 0) {
            json_object *e = json_object_new_object();
            jset(e, "e", jstr("outboundAccountPosition"));
            jset(e, "E", jint(server_now()));
            jset(e, "u", jint(a->update_time));
            jset(e, "B", bal);
            uds_send(i, e);
        } else {
            json_object_put(bal);
        }
    }
}

/* A WebSocket API answer {"id", "status", "result"|"error"}.  result is
 * taken over; when status is not 200, code and msg make the error. */
static void
ws_api_answer(unsigned long long conn, json_object *id, int status,
              json_object *result, int code, const char *msg)
{
    json_object *o = json_object_new_object();

    jset(o, "id", json_object_get(id));
    jset(o, "status", jint(status));
    if (status == 200) {
        jset(o, "result", result);
    } else {
        json_object *err = json_object_new_object();
        jset(err, "code", jint(code));
        jset(err, "msg", jstr(msg));
        jset(o, "error", err);
        json_object_put(result);
    }
    fxws_send_to(
        g_ws, conn,
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static int
param_name_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The signed payload of WebSocket API params: every parameter but
 * signature, sorted by name, name=value joined by &, values raw.  Returns
 * a malloc'd string, or NULL (too many parameters, memory). */
static char *
ws_api_payload(json_object *params)
{
    const char *names[FAKEX_MAX_PARAMS];
    size_t n = 0, len = 1;
    char *out;

    json_object_object_foreach(params, k, v)
    {
        if (strcmp(k, "signature") == 0)
            continue;
        if (n == FAKEX_MAX_PARAMS)
            return NULL;
        names[n++] = k;
        len += strlen(k) + strlen(json_object_get_string(v)) + 2;
    }
    qsort(names, n, sizeof(names[0]), param_name_cmp);
    if ((out = malloc(len)) == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, i ? "&" : "");
        strcat(out, names[i]);
        strcat(out, "=");
        strcat(out, json_object_get_string(
                        json_object_object_get(params, names[i])));
    }
    return out;
}

/* userDataStream.subscribe.signature: checks apiKey, signature, timestamp
 * as Binance does and subscribes conn to that account's events.  Returns
 * the answer's HTTP status; on failure sets *code and *msg. */
static int
ws_api_subscribe(unsigned long long conn, json_object *params,
                 json_object **result, int *code, const char **msg)
{
    json_object *key = NULL, *sig = NULL, *ts = NULL, *rw = NULL;
    struct account *a;
    char *payload;
    bool ok;
    size_t i;

    json_object_object_get_ex(params, "apiKey", &key);
    json_object_object_get_ex(params, "signature", &sig);
    json_object_object_get_ex(params, "timestamp", &ts);
    json_object_object_get_ex(params, "recvWindow", &rw);
    *code = -1102;
    if (!json_object_is_type(key, json_type_string) ||
        (a = account_find(json_object_get_string(key))) == NULL) {
        *code = -2015;
        *msg = "Invalid API-key, IP, or permissions for action.";
        return 401;
    }
    if (!json_object_is_type(sig, json_type_string)) {
        *msg = "Mandatory parameter 'signature' was not sent, was "
               "empty/null, or malformed.";
        return 400;
    }
    payload = ws_api_payload(params);
    ok = payload != NULL && payload_signature_ok(a, payload, strlen(payload),
                                                 json_object_get_string(sig));
    free(payload);
    if (!ok) {
        *code = -1022;
        *msg = "Signature for this request is not valid.";
        return 400;
    }
    if (!json_object_is_type(ts, json_type_int)) {
        *msg = "Mandatory parameter 'timestamp' was not sent, was "
               "empty/null, or malformed.";
        return 400;
    }
    *code = -1021;
    *msg = timestamp_error(json_object_get_int64(ts),
                           json_object_is_type(rw, json_type_int)
                               ? json_object_get_int64(rw)
                               : FAKEX_RECV_WINDOW_DEFAULT);
    if (*msg != NULL)
        return 400;
    i = (size_t)(a - g.acct);
    *code = -2035;
    *msg = "User Data Stream subscription already active.";
    for (size_t k = 0; k < g_uds.nsub; k++)
        if (g_uds.sub[k].conn == conn && g_uds.sub[k].acct == i)
            return 400;
    *code = -2042;
    *msg = "Maximum subscription ID reached for this connection.";
    if (g_uds.nsub == FAKEX_UDS_MAX_SUBS ||
        (!g_uds.seen[i].on && uds_seen_reset(i) < 0))
        return 400;
    g_uds.sub[g_uds.nsub] = (struct uds_sub){conn, i, g_uds.next_id++};
    *result = json_object_new_object();
    jset(*result, "subscriptionId", jint(g_uds.sub[g_uds.nsub++].id));
    return 200;
}

/* userDataStream.unsubscribe [subscriptionId]: ends one or all of conn's
 * subscriptions.  Returns the status as ws_api_subscribe does. */
static int
ws_api_unsubscribe(unsigned long long conn, json_object *params,
                   json_object **result, int *code, const char **msg)
{
    json_object *sid = NULL;
    bool all = !json_object_object_get_ex(params, "subscriptionId", &sid);
    size_t ended = 0;

    for (size_t k = 0; k < g_uds.nsub;) {
        if (g_uds.sub[k].conn == conn &&
            (all || g_uds.sub[k].id == json_object_get_int64(sid))) {
            g_uds.sub[k] = g_uds.sub[--g_uds.nsub];
            ended++;
        } else {
            k++;
        }
    }
    if (!all && ended == 0) {
        *code = -2036;
        *msg = "User Data Stream subscription not active.";
        return 400;
    }
    *result = json_object_new_object();
    return 200;
}

/* session.subscriptions: conn's subscriptions. */
static int
ws_api_subscriptions(unsigned long long conn, json_object *params,
                     json_object **result, int *code, const char **msg)
{
    (void)params;
    (void)code;
    (void)msg;
    *result = json_object_new_array();
    for (size_t k = 0; k < g_uds.nsub; k++)
        if (g_uds.sub[k].conn == conn) {
            json_object *one = json_object_new_object();
            jset(one, "subscriptionId", jint(g_uds.sub[k].id));
            json_object_array_add(*result, one);
        }
    return 200;
}

static const struct ws_api_method {
    const char *name;
    int (*fn)(unsigned long long, json_object *, json_object **, int *,
              const char **);
} WS_API_METHODS[] = {
    {"userDataStream.subscribe.signature", ws_api_subscribe},
    {"userDataStream.unsubscribe", ws_api_unsubscribe},
    {"session.subscriptions", ws_api_subscriptions},
};

static void
uds_free(void)
{
    for (size_t i = 0; i < FAKEX_MAX_KEYS; i++) {
        free(g_uds.seen[i].order);
        g_uds.seen[i].order = NULL;
    }
}

/* fxws_api_fn: one WebSocket API request.  Runs on the stream server's
 * thread, outside its lock; takes g.lock. */
static void
ws_api_request(unsigned long long conn, const char *text, size_t len)
{
    json_object *req = json_tokener_parse(text), *id = NULL, *m = NULL;
    json_object *params = NULL, *result = NULL;
    const char *method = "", *msg = "This operation is not supported.";
    int status = 400, code = -1020;
    (void)len;

    if (json_object_is_type(req, json_type_object)) {
        json_object_object_get_ex(req, "id", &id);
        json_object_object_get_ex(req, "params", &params);
        if (json_object_object_get_ex(req, "method", &m) &&
            json_object_is_type(m, json_type_string))
            method = json_object_get_string(m);
    }
    pthread_mutex_lock(&g.lock);
    if (params != NULL && !json_object_is_type(params, json_type_object)) {
        code = -1100;
        msg = "Illegal characters found in parameter 'params'.";
    } else {
        for (size_t k = 0; k < sizeof(WS_API_METHODS) / sizeof(*WS_API_METHODS);
             k++)
            if (strcmp(method, WS_API_METHODS[k].name) == 0)
                status =
                    WS_API_METHODS[k].fn(conn, params, &result, &code, &msg);
    }
    ws_api_answer(conn, id, status, result, code, msg);
    pthread_mutex_unlock(&g.lock);
    json_object_put(req);
}

/* POST /__fake/balance?asset=A&delta=D[&key=K]: a deposit (D) or a
 * withdrawal ("-D") of asset A on account K (default: the first).  Free
 * changes by D; subscribers get a balanceUpdate, then the
 * outboundAccountPosition every balance change brings. */
static void
fake_balance(struct call *c)
{
    const char *key = param(c, "key"), *asset = param(c, "asset"),
               *d = param(c, "delta");
    struct account *a = key != NULL   ? account_find(key)
                        : g.nacct > 0 ? &g.acct[0]
                                      : NULL;
    int k = asset != NULL ? ENUM_FIND(ASSETS, asset) : -1;
    bool neg = d != NULL && d[0] == '-';
    fx_t v = 0;
    char b[48];

    if (a == NULL || k < 0 || d == NULL || fx_parse(neg ? d + 1 : d, &v) < 0 ||
        v <= 0 || (neg && v > a->free[k])) {
        fake_fail(c, 400,
                  "need a known asset and key, and a delta that leaves the "
                  "free balance at 0 or more");
        return;
    }
    a->free[k] += neg ? -v : v;
    a->listed[k] = true;
    a->update_time = server_now();
    if (g_uds.seen[a - g.acct].on) {
        json_object *e = json_object_new_object();
        jset(e, "e", jstr("balanceUpdate"));
        jset(e, "E", jint(server_now()));
        jset(e, "a", jstr(ASSETS[k]));
        snprintf(b, sizeof(b), "%s", neg ? "-" : "");
        fx_fmt(v, b + strlen(b), sizeof(b) - strlen(b));
        jset(e, "d", jstr(b));
        jset(e, "T", jint(a->update_time));
        uds_send((size_t)(a - g.acct), e);
    }
    c->body = json_object_new_object();
    jset(c->body, "asset", jstr(ASSETS[k]));
    jset(c->body, "free", jfx(a->free[k]));
}

/* POST /__fake/klines?symbol=S&interval=I&start=T&ohlcv=o:h:l:c:v,...:
 * from now on S's klines of interval I are these, one per interval from
 * open time T (an empty ohlcv goes back to the generated ones). */
static void
fake_klines(struct call *c)
{
    const char *sym = param(c, "symbol"), *ivn = param(c, "interval");
    const struct interval *iv = NULL;
    long long start;
    int s = sym != NULL ? symbol_find(sym) : -1, n;

    for (size_t i = 0;
         ivn != NULL && i < sizeof(INTERVALS) / sizeof(*INTERVALS); i++)
        if (strcmp(INTERVALS[i].name, ivn) == 0)
            iv = &INTERVALS[i];
    if (s < 0 || iv == NULL || iv->ms == 0) {
        fake_fail(c, 400, "symbol and a fixed-length interval are required");
        return;
    }
    if (fake_int(c, "start", 0, false, &start) < 0)
        return;
    struct script *k = &g_script[s];
    n = script_tuples(param(c, "ohlcv"), 5,
                      (fx_t *const[]){k->ko, k->kh, k->kl, k->kc, k->kv},
                      FAKEX_SCRIPT_KLINES_MAX);
    if (n < 0) {
        k->nk = 0;
        fake_fail(c, 400, "ohlcv must be o:h:l:c:v tuples, comma-separated");
        return;
    }
    for (int i = 0; i < n; i++)
        k->kt[i] = start + i * iv->ms;
    k->nk = n;
    k->iv_ms = iv->ms;
    snprintf(k->iv, sizeof(k->iv), "%s", iv->name);
    c->body = json_object_new_object();
    jset(c->body, "klines", jint(n));
}

/* POST /__fake/depth?symbol=S&bids=p:q,...&asks=p:q,...: S's live book
 * becomes these levels (both empty: the fixed book of fakex.h again).  The
 * change is not published on the depth streams: its update id is skipped,
 * so a client keeping a local book sees a gap and takes a new snapshot. */
static void
fake_depth(struct call *c)
{
    static fx_t bp[FAKEX_SCRIPT_LEVELS_MAX], bq[FAKEX_SCRIPT_LEVELS_MAX];
    static fx_t ap[FAKEX_SCRIPT_LEVELS_MAX], aq[FAKEX_SCRIPT_LEVELS_MAX];
    const char *sym = param(c, "symbol");
    int s = sym != NULL ? symbol_find(sym) : -1, nb, na;

    if (s < 0) {
        fake_fail(c, 400, "symbol is required");
        return;
    }
    nb = script_tuples(param(c, "bids"), 2, (fx_t *const[]){bp, bq},
                       FAKEX_SCRIPT_LEVELS_MAX);
    na = script_tuples(param(c, "asks"), 2, (fx_t *const[]){ap, aq},
                       FAKEX_SCRIPT_LEVELS_MAX);
    if (nb < 0 || na < 0) {
        fake_fail(c, 400, "bids and asks must be p:q pairs, comma-separated");
        return;
    }
    long long next = g_books[s].update_id + 1;
    if (nb == 0 && na == 0) {
        book_reset(s);
    } else {
        g_books[s].n[BOOK_BIDS] = g_books[s].n[BOOK_ASKS] = 0;
        for (int i = 0; i < nb; i++)
            book_set(s, BOOK_BIDS, bp[i], bq[i]);
        for (int i = 0; i < na; i++)
            book_set(s, BOOK_ASKS, ap[i], aq[i]);
    }
    g_books[s].update_id = next;
    c->body = json_object_new_object();
    jset(c->body, "bids", jint(g_books[s].n[BOOK_BIDS]));
    jset(c->body, "asks", jint(g_books[s].n[BOOK_ASKS]));
}

/* Serves /__fake/...  Caller holds g.lock. */
static void
fake_dispatch(struct call *c)
{
    bool post = strcmp(c->method, "POST") == 0;
    long long skew;

    c->status = 200;
    if (strcmp(c->path, "/__fake/reset") == 0 && post) {
        if (state_reset() < 0)
            fake_fail(c, 500, "out of memory");
        else
            c->body = json_object_new_object();
    } else if (strcmp(c->path, "/__fake/fault") == 0 && post) {
        fake_fault(c);
    } else if (strcmp(c->path, "/__fake/clock") == 0 && post) {
        if (fake_int(c, "skew_ms", 0, true, &skew) == 0) {
            g.skew_ms = skew;
            c->body = json_object_new_object();
            jset(c->body, "skew_ms", jint(skew));
        }
    } else if (strcmp(c->path, "/__fake/stats") == 0 &&
               strcmp(c->method, "GET") == 0) {
        fake_stats(c);
    } else if (strcmp(c->path, "/__fake/fill") == 0 && post) {
        fake_fill(c);
    } else if (strcmp(c->path, "/__fake/order_count") == 0 && post) {
        fake_order_count(c);
    } else if (strcmp(c->path, "/__fake/balance") == 0 && post) {
        fake_balance(c);
    } else if (strcmp(c->path, "/__fake/klines") == 0 && post) {
        fake_klines(c);
    } else if (strcmp(c->path, "/__fake/depth") == 0 && post) {
        fake_depth(c);
    } else if (strcmp(c->path, "/__fake/stream") == 0 ||
               strncmp(c->path, "/__fake/stream/", 15) == 0) {
        fake_stream(c, post);
    } else if (strcmp(c->path, "/__fake/reset") == 0 ||
               strcmp(c->path, "/__fake/fault") == 0 ||
               strcmp(c->path, "/__fake/clock") == 0 ||
               strcmp(c->path, "/__fake/stats") == 0 ||
               strcmp(c->path, "/__fake/fill") == 0 ||
               strcmp(c->path, "/__fake/order_count") == 0 ||
               strcmp(c->path, "/__fake/balance") == 0 ||
               strcmp(c->path, "/__fake/klines") == 0 ||
               strcmp(c->path, "/__fake/depth") == 0) {
        fake_fail(c, 405, "method not allowed");
    } else {
        fake_fail(c, 404, "no such control endpoint");
    }
}

/* ------------------------------------------------------------------------
 * HTTP: request bodies, faults, replies.
 * ------------------------------------------------------------------------ */

/* Per-request context, created by the URI log callback. */
struct req {
    char *uri; /* raw request target, owned */
    char *body;
    size_t len, cap;
    bool started, too_big;
};

/* What goes back on the wire. */
struct reply {
    int status;
    char *body; /* owned (malloc) */
    long weight;
    long retry_after; /* < 0: no Retry-After header */
    bool order_headers;
    long long n10s, n1d;
    bool drop;
};

/* Sleeps ms milliseconds, waking early when the server is stopping. */
static void
sleep_ms(long ms)
{
    while (ms > 0 && !atomic_load(&g_stop)) {
        long step = ms < 50 ? ms : 50;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* Replaces r's body with a Binance error. */
static void
reply_error(struct reply *r, int status, int code, const char *msg)
{
    json_object *o = json_object_new_object();
    jset(o, "code", json_object_new_int(code));
    jset(o, "msg", jstr(msg));
    free(r->body);
    r->body = strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    r->status = status;
}

/* Turns r into what fault f makes of it (after the request ran, when the
 * fault lets it run). */
static void
fault_apply(const struct fault *f, struct reply *r)
{
    char msg[256];

    switch (f->type) {
    case F_429:
        snprintf(msg, sizeof(msg),
                 "Too much request weight used; current limit is %d request "
                 "weight per 1 MINUTE. Please use WebSocket Streams for live "
                 "updates to avoid polling the API.",
                 FAKEX_WEIGHT_LIMIT_1M);
        reply_error(r, 429, -1003, msg);
        r->retry_after = f->retry_after;
        break;
    case F_418:
        snprintf(msg, sizeof(msg),
                 "Way too much request weight used; IP banned until %lld. "
                 "Please use WebSocket Streams for live updates to avoid bans.",
                 f->ban_until);
        reply_error(r, 418, -1003, msg);
        r->retry_after = f->retry_after;
        break;
    case F_500:
    case F_502:
    case F_503:
        reply_error(r, atoi(FAULT_NAMES[f->type]), -1001,
                    "Internal error; unable to process your request. Please "
                    "try again.");
        break;
    case F_BADJSON:
        if (r->body != NULL)
            r->body[strlen(r->body) / 2] = '\0';
        break;
    case F_DROP:
        r->drop = true;
        break;
    default: /* F_SLOW: the delay was all */
        break;
    }
}

/* Serializes c's answer into r. */
static void
reply_from_call(struct reply *r, struct call *c)
{
    const char *s = c->body != NULL
                        ? json_object_to_json_string_ext(
                              c->body, JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE)
                        : "{}";
    free(r->body);
    r->body = strdup(s);
    r->status = c->status;
    json_object_put(c->body);
    c->body = NULL;
}

/* Serves one /api/ (or unknown) request: statistics, weight, faults, the
 * endpoint itself. */
static void
api_serve(struct call *c, bool too_big, struct reply *r)
{
    bool path_known, faulted;
    const struct route *rt = route_find(c->method, c->path, &path_known);
    int w = rt == NULL              ? FAKEX_W_UNKNOWN
            : rt->weight_fn != NULL ? rt->weight_fn(c)
                                    : rt->weight;
    struct fault f;

    pthread_mutex_lock(&g.lock);
    stats_note(c->method, c->path, c->api_key ? c->api_key : "", c->raw_query,
               c->raw_body);
    r->weight = weight_add(w);
    faulted = fault_take(c->method, c->path, &f);
    pthread_mutex_unlock(&g.lock);

    if (faulted && f.delay_ms > 0 && !f.delay_after)
        sleep_ms(f.delay_ms);
    if (!faulted || f.executed) {
        pthread_mutex_lock(&g.lock);
        if (too_big)
            call_fail(c, 413, -1000, "Request body too large.");
        else
            dispatch(c, rt, path_known);
        if (strncmp(c->path, "/api/v3/order", 13) == 0) {
            r->order_headers = true;
            if (c->acct != NULL) {
                order_counts_roll(c->acct);
                r->n10s = c->acct->n10s;
                r->n1d = c->acct->n1d;
            }
        }
        if (c->retry_after > 0)
            r->retry_after = c->retry_after;
        uds_flush();
        pthread_mutex_unlock(&g.lock);
        reply_from_call(r, c);
    }
    if (faulted && f.delay_ms > 0 && f.delay_after)
        sleep_ms(f.delay_ms);
    if (faulted)
        fault_apply(&f, r);
}

/* Queues r on conn with Binance's headers.  Takes ownership of r->body. */
static mhd_result
send_reply(struct MHD_Connection *conn, struct reply *r)
{
    char num[32];
    size_t len = r->body ? strlen(r->body) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, r->body, MHD_RESPMEM_MUST_FREE);

    if (resp == NULL) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL;
    MHD_add_response_header(resp, "Content-Type",
                            "application/json;charset=UTF-8");
    snprintf(num, sizeof(num), "%ld", r->weight);
    MHD_add_response_header(resp, "X-MBX-USED-WEIGHT-1M", num);
    MHD_add_response_header(resp, "X-MBX-USED-WEIGHT", num);
    if (r->order_headers) {
        snprintf(num, sizeof(num), "%lld", r->n10s);
        MHD_add_response_header(resp, "X-MBX-ORDER-COUNT-10S", num);
        snprintf(num, sizeof(num), "%lld", r->n1d);
        MHD_add_response_header(resp, "X-MBX-ORDER-COUNT-1D", num);
    }
    if (r->retry_after >= 0) {
        snprintf(num, sizeof(num), "%ld", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", num);
    }
    mhd_result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* One access-log line on stderr; the API key is cut to 4 characters. */
static void
access_log(const char *method, const char *path, const struct reply *r,
           const char *key)
{
    char status[16];
    if (r->drop)
        snprintf(status, sizeof(status), "dropped");
    else
        snprintf(status, sizeof(status), "%d", r->status);
    fprintf(stderr, "fakex: %s %s %s key=%.4s%s\n", method, path, status,
            key ? key : "-", key && strlen(key) > 4 ? "..." : "");
}

/* Builds the call for a complete request and serves it. */
static mhd_result
serve(struct MHD_Connection *conn, struct req *rq, const char *method,
      const char *path)
{
    struct call c;
    struct reply r;
    const char *ctype =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *q = rq->uri ? strchr(rq->uri, '?') : NULL;
    bool form =
        rq->body != NULL &&
        (ctype == NULL ||
         strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0);

    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    r.retry_after = -1;
    c.method = method;
    c.path = path;
    c.raw_query = q ? q + 1 : "";
    c.raw_body = form && !rq->too_big ? rq->body : "";
    c.api_key =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-MBX-APIKEY");
    params_parse(&c.p, c.raw_query, false);
    params_parse(&c.p, c.raw_body, true);
    if (strncmp(path, "/__fake/", 8) == 0) {
        pthread_mutex_lock(&g.lock);
        fake_dispatch(&c);
        uds_flush();
        r.weight = g.weight_used;
        pthread_mutex_unlock(&g.lock);
        reply_from_call(&r, &c);
    } else {
        api_serve(&c, rq->too_big, &r);
    }
    access_log(method, path, &r, c.api_key);
    params_free(&c.p);
    json_object_put(c.body);
    if (r.drop || r.body == NULL) {
        free(r.body);
        return MHD_NO;
    }
    return send_reply(conn, &r);
}

/* Appends upload data to the request body, up to FAKEX_MAX_BODY. */
static void
req_append(struct req *rq, const char *data, size_t len)
{
    if (rq->too_big || rq->len + len > FAKEX_MAX_BODY) {
        rq->too_big = true;
        return;
    }
    if (grow((void **)&rq->body, &rq->cap, rq->len + len + 1, 1) < 0) {
        rq->too_big = true;
        return;
    }
    memcpy(rq->body + rq->len, data, len);
    rq->len += len;
    rq->body[rq->len] = '\0';
}

static mhd_result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
               const char *method, const char *version, const char *upload_data,
               size_t *upload_data_size, void **con_cls)
{
    struct req *rq = *con_cls;
    (void)cls;
    (void)version;

    if (rq == NULL)
        return MHD_NO;
    if (!rq->started) {
        rq->started = true;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        req_append(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return serve(conn, rq, method, url);
}

/* Called by MHD with the raw request target before it parses it: the
 * only place the exact query string (needed for signatures) is visible. */
static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *rq = calloc(1, sizeof(*rq));
    (void)cls;
    (void)conn;
    if (rq != NULL && (rq->uri = strdup(uri)) == NULL) {
        free(rq);
        rq = NULL;
    }
    return rq;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (rq != NULL) {
        free(rq->uri);
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------------------
 * Start-up.
 * ------------------------------------------------------------------------ */

static void
on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void
usage(void)
{
    fprintf(stderr, "usage: fakex --port N [--bind ADDR] [--extra-symbols N] "
                    "[--key KEY:SECRET]...\n"
                    "             [--key-ed25519 KEY=PUBLIC.pem]... "
                    "[--key-rsa KEY=PUBLIC.pem]...\n");
}

/* Adds account KEY=PATH (spec) whose signatures are checked with the PEM
 * public key (SubjectPublicKeyInfo, what certtool --pubkey-info and
 * Binance's key upload take) in PATH, which must be of type alg. Returns 0
 * or -1 with a message on stderr. */
static int
add_pubkey(const char *spec, gnutls_pk_algorithm_t alg)
{
    const char *eq = strchr(spec, '=');
    char pem[16384];
    size_t n = 0;
    FILE *f;
    gnutls_datum_t d;
    struct account *a;

    if (eq == NULL || eq == spec || eq[1] == '\0' || g.nacct == FAKEX_MAX_KEYS)
        return -1;
    if ((f = fopen(eq + 1, "r")) == NULL) {
        fprintf(stderr, "fakex: %s: %s\n", eq + 1, strerror(errno));
        return -1;
    }
    n = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    pem[n] = '\0';
    a = &g.acct[g.nacct];
    d.data = (unsigned char *)pem;
    d.size = (unsigned)n;
    if ((a->key = strndup(spec, (size_t)(eq - spec))) == NULL ||
        gnutls_pubkey_init(&a->pub) < 0)
        return -1;
    g.nacct++; /* from here on state_free releases it */
    if (gnutls_pubkey_import(a->pub, &d, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_pubkey_get_pk_algorithm(a->pub, NULL) != (int)alg) {
        fprintf(stderr, "fakex: %s: not a PEM %s public key\n", eq + 1,
                alg == GNUTLS_PK_RSA ? "RSA" : "Ed25519");
        return -1;
    }
    a->sig_alg = alg == GNUTLS_PK_RSA ? GNUTLS_SIGN_RSA_SHA256
                                      : GNUTLS_SIGN_EDDSA_ED25519;
    return 0;
}

/* Adds account KEY:SECRET (spec) to the state. Returns 0 or -1. */
static int
add_key(const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (colon == NULL || colon == spec || colon[1] == '\0' ||
        g.nacct == FAKEX_MAX_KEYS)
        return -1;
    struct account *a = &g.acct[g.nacct];
    a->key = strndup(spec, (size_t)(colon - spec));
    a->secret = strdup(colon + 1);
    if (a->key == NULL || a->secret == NULL)
        return -1;
    g.nacct++;
    return 0;
}

/* Parses the command line.  Returns 0 or -1 (usage error). */
static int
parse_args(int argc, char **argv, long *port, const char **bind_addr)
{
    *port = -1;
    *bind_addr = "127.0.0.1";
    for (int i = 1; i < argc; i += 2) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (val == NULL)
            return -1;
        if (strcmp(arg, "--port") == 0) {
            *port = strtol(val, &end, 10);
            if (*end != '\0' || *port < 0 || *port > 65535)
                return -1;
        } else if (strcmp(arg, "--bind") == 0) {
            *bind_addr = val;
        } else if (strcmp(arg, "--extra-symbols") == 0) {
            long n = strtol(val, &end, 10);
            if (*end != '\0' || n < 0 || n > FAKEX_EXTRA_SYMBOLS_MAX ||
                g_nsym != NSYM)
                return -1; /* once only */
            market_add_extras((int)n);
        } else if (strcmp(arg, "--key") == 0) {
            if (add_key(val) < 0)
                return -1;
        } else if (strcmp(arg, "--key-ed25519") == 0) {
            if (add_pubkey(val, GNUTLS_PK_EDDSA_ED25519) < 0)
                return -1;
        } else if (strcmp(arg, "--key-rsa") == 0) {
            if (add_pubkey(val, GNUTLS_PK_RSA) < 0)
                return -1;
        } else {
            return -1;
        }
    }
    if (g.nacct == 0 && (add_key(FAKEX_KEY_A ":" FAKEX_SECRET_A) < 0 ||
                         add_key(FAKEX_KEY_B ":" FAKEX_SECRET_B) < 0))
        return -1;
    return *port >= 0 ? 0 : -1;
}

/* Starts the HTTP daemon on addr:port. Returns it, or NULL. */
static struct MHD_Daemon *
start_http(const char *addr, long port)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "fakex: --bind needs an IPv4 address\n");
        return NULL;
    }
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_POLL | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, access_handler, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
}

int
main(int argc, char **argv)
{
    long port;
    const char *bind_addr;
    sigset_t block, old;
    struct sigaction sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char err[256];

    market_init();
    if (market_selfcheck() < 0)
        return 2;
    if (parse_args(argc, argv, &port, &bind_addr) < 0) {
        usage();
        state_free();
        return 2;
    }
    if (gnutls_global_init() < 0 || state_reset() < 0) {
        state_free();
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* MHD's threads inherit the blocked set; only sigsuspend takes them */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if ((g_ws = fxws_start(bind_addr, stream_ok, ws_api_request, err,
                           sizeof(err))) == NULL) {
        fprintf(stderr, "fakex: streams: %s\n", err);
        state_free();
        gnutls_global_deinit();
        return 1;
    }
    if ((d = start_http(bind_addr, port)) == NULL ||
        (info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)) == NULL) {
        fprintf(stderr, "fakex: cannot listen on %s:%ld\n", bind_addr, port);
        if (d != NULL)
            MHD_stop_daemon(d);
        fxws_stop(g_ws);
        state_free();
        gnutls_global_deinit();
        return 1;
    }
    printf("PORT %u\n", (unsigned)info->port);
    fflush(stdout);
    while (!atomic_load(&g_stop))
        sigsuspend(&old);
    MHD_stop_daemon(d);
    gen_join();
    fxws_stop(g_ws);
    pthread_mutex_lock(&g.lock);
    state_free();
    pthread_mutex_unlock(&g.lock);
    gnutls_global_deinit();
    return 0;
}
