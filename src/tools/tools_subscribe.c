/*
 * tools_subscribe.c - resources/subscribe for binmcpd's resources. See
 * tools_subscribe.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market.h"
#include "symcache.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "tools_subscribe.h"
#include "userstate.h"
#include "util.h"

#define MARKET_PREFIX "binance://market/"
#define RECHECK_MS    2000 /* market_request, us_find again */
#define REFOLLOW_MS   5000 /* ask the feed to follow a missing key again */

enum watch_kind { W_MARKET, W_ORDERS, W_BALANCES };

struct tools_watch {
    enum watch_kind kind;
    char symbol[TU_SYMBOL_MAX]; /* W_MARKET */
    int slot;                   /* in the segment or the area; -1: unknown */
    int64_t next_check_ms;      /* W_MARKET: request again;
                                   else: look the key up again */
    int64_t next_follow_ms;     /* ask the feed to follow the key again */
    uint64_t version;           /* the last version returned */
    uint64_t seq_seen;          /* W_MARKET: the slot's sequence then */
    struct creds creds;         /* W_ORDERS, W_BALANCES: wiped on free */
    char fp[US_FP_LEN + 1];
};

static void *fail(struct mcp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *
fail(struct mcp_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return NULL;
}

/* A watch on binance://market/<sym>: the symbol must exist. */
static struct tools_watch *
market_watch(struct mcp_call *call, const char *uri, const char *sym_text,
             struct mcp_error *err)
{
    struct market *m = tools_call_market(call);
    struct tools_watch *w;
    struct sym_info si;
    char sym[TU_SYMBOL_MAX];

    if (tu_symbol_norm(sym_text, sym, sizeof(sym)) < 0)
        return fail(err, -32002, "Resource not found: %s", uri);
    if (symcache_get(sym, &si, NULL) == 1)
        return fail(err, -32002, "Binance lists no symbol %s", sym);
    if (m == NULL)
        return fail(err, -32603, "no live market data here: %s", uri);
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return fail(err, -32603, "out of memory (%s)", uri);
    w->kind = W_MARKET;
    memcpy(w->symbol, sym, sizeof(w->symbol));
    w->slot = market_request(m, sym, now_ms());
    if (w->slot < 0 && errno == ENOSPC) {
        free(w);
        return fail(err, -32603,
                    "the feed tracks as many symbols as it may "
                    "(max_tracked_symbols); %s cannot be watched now",
                    sym);
    }
    w->next_check_ms = now_ms() + RECHECK_MS;
    return w;
}

/* A watch on the orders or balances of the account the call signs with. */
static struct tools_watch *
account_watch(struct mcp_call *call, const char *uri, enum watch_kind kind,
              struct mcp_error *err)
{
    const struct binance_ctx *ctx = mcp_server_provider_ctx(call->srv);
    struct creds buf;
    const struct creds *c = tools_call_creds(call, &buf);
    struct tools_watch *w;

    if (c == NULL)
        return fail(err, -32602,
                    "%s needs API credentials (configure_credentials, or "
                    "the daemon's)",
                    uri);
    if (ctx == NULL || ctx->users == NULL) {
        creds_wipe(&buf);
        return fail(err, -32603, "no user data stream here: %s", uri);
    }
    if ((w = calloc(1, sizeof(*w))) == NULL) {
        creds_wipe(&buf);
        return fail(err, -32603, "out of memory (%s)", uri);
    }
    w->kind = kind;
    memcpy(&w->creds, c, sizeof(w->creds));
    creds_wipe(&buf);
    if (us_fingerprint(w->creds.key, w->creds.env, w->fp) < 0) {
        tools_watch_free(w);
        return fail(err, -32603, "cannot name the account of %s", uri);
    }
    tools_follow_key(call->srv, &w->creds);
    w->slot = us_find(ctx->users, w->fp);
    w->next_follow_ms = now_ms() + REFOLLOW_MS;
    return w;
}

void *
tools_subscribe(struct mcp_call *call, const char *uri, struct mcp_error *err)
{
    if (strncmp(uri, MARKET_PREFIX, strlen(MARKET_PREFIX)) == 0)
        return market_watch(call, uri, uri + strlen(MARKET_PREFIX), err);
    if (strcmp(uri, "binance://orders/open") == 0)
        return account_watch(call, uri, W_ORDERS, err);
    if (strcmp(uri, "binance://account/balances") == 0)
        return account_watch(call, uri, W_BALANCES, err);
    return fail(err, -32002,
                "Resource not found: %s. Resources that can be subscribed "
                "to: binance://market/{symbol}, binance://orders/open, "
                "binance://account/balances.",
                uri);
}

/* Mixes v into h (FNV-1a over its 8 bytes). */
static uint64_t
mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        h = (h ^ (v & 0xff)) * 0x100000001b3ull;
    return h;
}

/* The market slot's version: what a reader of the resource sees change
 * (the book, the best levels, trades, the kline, the status), not the
 * feed's own bookkeeping (its per-second statistics). Read only when the
 * slot's sequence moved. Keeps the symbol tracked. */
static uint64_t
market_watch_version(struct market *m, struct tools_watch *w, int64_t now)
{
    struct market_state st;
    uint64_t seq, h = 0xcbf29ce484222325ull;

    if (m == NULL)
        return w->version;
    if (now != 0 && now >= w->next_check_ms) {
        w->slot = market_request(m, w->symbol, now);
        w->next_check_ms = now + RECHECK_MS;
    }
    if (w->slot < 0 || (seq = market_version(m, w->slot)) == w->seq_seen)
        return w->version;
    if (market_read(m, w->slot, &st) < 0 || strcmp(st.symbol, w->symbol) != 0)
        return w->version;
    w->seq_seen = seq;
    h = mix(h, (uint64_t)w->slot);
    h = mix(h, st.generation);
    h = mix(h, (uint64_t)st.status);
    h = mix(h, st.book_update_id);
    h = mix(h, (uint64_t)st.ticker_update_id);
    h = mix(h, (uint64_t)st.best_bid.price);
    h = mix(h, (uint64_t)st.best_ask.price);
    h = mix(h, st.trades_seen);
    h = mix(h, (uint64_t)st.kline.open_ms);
    h = mix(h, (uint64_t)st.kline.close);
    h = mix(h, (uint64_t)st.kline.volume);
    return h;
}

/* The account's orders_gen or balances_gen; keeps the key followed. */
static uint64_t
account_watch_version(const struct binance_ctx *ctx, struct tools_watch *w,
                      int64_t now)
{
    struct us_record rec;

    if (ctx == NULL || ctx->users == NULL)
        return w->version;
    if (w->slot >= 0 && (us_read_head(ctx->users, w->slot, &rec) < 0 ||
                         strcmp(rec.fp, w->fp) != 0))
        w->slot = -1;
    if (w->slot < 0 && now != 0 && now >= w->next_check_ms) {
        w->slot = us_find(ctx->users, w->fp);
        w->next_check_ms = now + RECHECK_MS / 4;
        if (w->slot >= 0 && us_read_head(ctx->users, w->slot, &rec) < 0)
            w->slot = -1;
    }
    if (w->slot < 0) { /* not followed (yet, or any more) */
        if (now != 0 && now >= w->next_follow_ms && ctx->follow_key != NULL) {
            ctx->follow_key(ctx->follow_arg, &w->creds);
            w->next_follow_ms = now + REFOLLOW_MS;
        }
        return w->version;
    }
    if (now != 0)
        us_touch(ctx->users, w->slot, now);
    return w->kind == W_ORDERS ? rec.orders_gen : rec.balances_gen;
}

uint64_t
tools_watch_version(void *provider_ctx, void *watch, int64_t now_ms)
{
    const struct binance_ctx *ctx = provider_ctx;
    struct tools_watch *w = watch;

    if (w->kind == W_MARKET)
        w->version =
            market_watch_version(ctx != NULL ? ctx->market : NULL, w, now_ms);
    else
        w->version = account_watch_version(ctx, w, now_ms);
    return w->version;
}

void
tools_watch_free(void *watch)
{
    struct tools_watch *w = watch;

    if (w == NULL)
        return;
    creds_wipe(&w->creds);
    secure_wipe(w, sizeof(*w));
    free(w);
}
