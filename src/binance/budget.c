/*
 * budget.c - the upstream weight budget in shared memory. See budget.h.
 *
 * The budget is one 64-bit word, (minute << 32) | weight used, changed by
 * compare-and-swap, and a hold deadline: no lock at all.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "shm.h"

#define UB_MAGIC 0x55424731u /* "UBG1" */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "the budget needs lock-free 64-bit atomics");

struct upstream_budget {
    uint32_t magic;
    int limit;
    size_t map_len;
    _Atomic uint64_t window; /* (minute << 32) | used */
    _Atomic int64_t hold_until_ms;
};

#define UB_WIN(w)  ((uint32_t)((w) >> 32))
#define UB_USED(w) ((uint32_t)((w)&0xffffffffu))
#define UB_PACK(minute, used)                                                  \
    (((uint64_t)(uint32_t)(minute) << 32) | (uint32_t)(used))

static uint32_t
ub_minute(int64_t ms)
{
    return ms > 0 ? (uint32_t)(ms / UB_WINDOW_MS) : 0;
}

struct upstream_budget *
ub_create(int weight_per_min, char *err, size_t errlen)
{
    struct upstream_budget *b;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (weight_per_min <= 0) {
        if (err != NULL)
            snprintf(err, errlen,
                     "upstream budget: the weight per minute must be > 0 "
                     "(got %d)",
                     weight_per_min);
        return NULL;
    }
    b = shm_map(sizeof(*b), "upstream budget", err, errlen);
    if (b == NULL)
        return NULL;
    b->magic = UB_MAGIC;
    b->limit = weight_per_min;
    b->map_len = sizeof(*b);
    atomic_init(&b->window, 0);
    atomic_init(&b->hold_until_ms, 0);
    return b;
}

void
ub_destroy(struct upstream_budget *b)
{
    if (b != NULL)
        shm_unmap(b, b->map_len);
}

int
ub_take(struct upstream_budget *b, int weight, int64_t now_ms,
        long *retry_after_ms)
{
    uint32_t minute = ub_minute(now_ms);
    uint32_t want = 0;
    int64_t hold = atomic_load(&b->hold_until_ms);
    uint64_t cur, next;

    if (weight > b->limit)
        want = (uint32_t)b->limit;
    else if (weight > 0)
        want = (uint32_t)weight;
    if (hold > now_ms) {
        if (retry_after_ms != NULL)
            *retry_after_ms = (long)(hold - now_ms);
        return 0;
    }
    cur = atomic_load(&b->window);
    do {
        uint32_t win = UB_WIN(cur), used = UB_USED(cur);
        if (minute > win) {
            win = minute;
            used = 0;
        }
        /* minute < win: this process's clock is behind the one that
         * opened the window; count in that newer window. */
        if ((uint64_t)used + want > (uint64_t)b->limit) {
            if (retry_after_ms != NULL) {
                int64_t wait = ((int64_t)win + 1) * UB_WINDOW_MS - now_ms;
                *retry_after_ms = (long)(wait > 0 ? wait : 1);
            }
            return 0;
        }
        next = UB_PACK(win, used + want);
    } while (!atomic_compare_exchange_weak(&b->window, &cur, next));
    return 1;
}

void
ub_observe(struct upstream_budget *b, long used_weight, int64_t sent_ms)
{
    uint32_t minute = ub_minute(sent_ms);
    uint32_t seen;
    uint64_t cur, next;

    if (used_weight < 0)
        return;
    seen = used_weight > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)used_weight;
    cur = atomic_load(&b->window);
    do {
        uint32_t win = UB_WIN(cur), used = UB_USED(cur);
        if (minute < win)
            return; /* about a minute already over */
        if (minute > win)
            used = 0;
        if (seen <= used)
            return;
        next = UB_PACK(minute, seen);
    } while (!atomic_compare_exchange_weak(&b->window, &cur, next));
}

void
ub_hold(struct upstream_budget *b, int64_t until_ms)
{
    int64_t cur = atomic_load(&b->hold_until_ms);
    while (cur < until_ms &&
           !atomic_compare_exchange_weak(&b->hold_until_ms, &cur, until_ms))
        ;
}

/* The value of key in an x-www-form-urlencoded query, as a pointer into
 * the query and its length, or NULL. */
static const char *
query_param(const char *query, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '&');
        if (end == NULL)
            end = p + strlen(p);
        if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 &&
            p[klen] == '=') {
            *len = (size_t)(end - p) - klen - 1;
            return p + klen + 1;
        }
        p = *end == '&' ? end + 1 : end;
    }
    return NULL;
}

static long
query_long(const char *query, const char *key, long dflt)
{
    size_t len;
    const char *v = query_param(query, key, &len);
    long n = 0;
    if (v == NULL || len == 0 || len > 9)
        return dflt;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return dflt;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

/* Symbols in a symbols=["A","B"] parameter (raw or percent-encoded), 0
 * when it is absent. */
static long
query_symbols(const char *query)
{
    size_t len;
    const char *v = query_param(query, "symbols", &len);
    long n = 1;
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] == ',')
            n++;
        else if (v[i] == '%' && i + 2 < len && v[i + 1] == '2' &&
                 (v[i + 2] == 'C' || v[i + 2] == 'c'))
            n++;
    }
    return n;
}

int
ub_request_weight(const char *method, const char *path, const char *query)
{
    size_t len;
    int has_symbol = query_param(query, "symbol", &len) != NULL;
    long nsym = query_symbols(query);
    int get = strcmp(method, "GET") == 0;

    if (strcmp(path, "/api/v3/ping") == 0 || strcmp(path, "/api/v3/time") == 0)
        return 1;
    if (strcmp(path, "/api/v3/exchangeInfo") == 0)
        return 20;
    if (strcmp(path, "/api/v3/depth") == 0) {
        long limit = query_long(query, "limit", 100);
        return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    }
    if (strcmp(path, "/api/v3/trades") == 0 ||
        strcmp(path, "/api/v3/historicalTrades") == 0)
        return 25;
    if (strcmp(path, "/api/v3/aggTrades") == 0)
        return 4;
    if (strcmp(path, "/api/v3/klines") == 0 ||
        strcmp(path, "/api/v3/uiKlines") == 0 ||
        strcmp(path, "/api/v3/avgPrice") == 0)
        return 2;
    if (strcmp(path, "/api/v3/ticker/24hr") == 0) {
        if (has_symbol || (nsym >= 1 && nsym <= 20))
            return 2;
        return nsym >= 21 && nsym <= 100 ? 40 : 80;
    }
    if (strcmp(path, "/api/v3/ticker/price") == 0 ||
        strcmp(path, "/api/v3/ticker/bookTicker") == 0)
        return has_symbol ? 2 : 4;
    if (strcmp(path, "/api/v3/order") == 0)
        return get ? 4 : 1;
    if (strcmp(path, "/api/v3/order/test") == 0) {
        size_t clen;
        const char *v = query_param(query, "computeCommissionRates", &clen);
        return v != NULL && clen == 4 && strncmp(v, "true", 4) == 0 ? 20 : 1;
    }
    if (strcmp(path, "/api/v3/openOrders") == 0)
        return !get ? 1 : has_symbol ? 6 : 80;
    if (strcmp(path, "/api/v3/allOrders") == 0 ||
        strcmp(path, "/api/v3/account") == 0)
        return 20;
    if (strcmp(path, "/api/v3/myTrades") == 0)
        return query_param(query, "orderId", &len) != NULL ? 5 : 20;
    return UB_WEIGHT_UNKNOWN;
}

long
ub_used(struct upstream_budget *b, int64_t now_ms)
{
    uint64_t cur = atomic_load(&b->window);
    return UB_WIN(cur) == ub_minute(now_ms) ? (long)UB_USED(cur) : 0;
}

int
ub_limit(const struct upstream_budget *b)
{
    return b->limit;
}
