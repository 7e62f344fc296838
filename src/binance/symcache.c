/*
 * symcache.c - the process-wide symbol cache. See symcache.h.
 *
 * Two locks: cache_lock guards the array and is held only while copying;
 * load_lock lets one thread at a time fetch exchangeInfo, so a cold cache
 * hit by many sessions costs Binance one request, not one per session.
 * When a refresh fails and an older list exists, the older list is served
 * and the next attempt waits RETRY_MS, so an outage does not turn every
 * search into a 20-weight request.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symcache.h"
#include "util.h"

#define TTL_MS   (60LL * 60 * 1000)
#define RETRY_MS (60LL * 1000)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by cache_lock. */
static struct sym_info *cache_syms;
static size_t cache_n;
/* Each symbol's whole exchangeInfo entry as compact JSON text, sorted like
 * cache_syms (symcache_get_json). Text rather than json-c objects: a
 * fraction of the memory, and each caller parses its own copy, so no
 * json-c object is ever shared between threads. */
struct sym_json {
    char symbol[24]; /* as in struct sym_info */
    char *json;
};
static struct sym_json *cache_json;
static size_t cache_json_n;
static int cache_loaded;        /* a list was loaded at some point */
static int64_t cache_loaded_at; /* mono_ms of the last good load */
static int64_t cache_failed_at; /* mono_ms of the last failed refresh */

/* Whether the list may be served without asking Binance. cache_lock held. */
static int
usable_locked(void)
{
    int64_t now = mono_ms();

    if (!cache_loaded)
        return 0;
    if (now - cache_loaded_at < TTL_MS)
        return 1;
    return cache_failed_at != 0 && now - cache_failed_at < RETRY_MS;
}

static int
cmp_symbol(const void *a, const void *b)
{
    return strcmp(((const struct sym_info *)a)->symbol,
                  ((const struct sym_info *)b)->symbol);
}

/* Fills *si from one exchangeInfo entry. Returns 0, or -1 when a field is
 * missing or too long (the entry is then skipped). */
static int
parse_symbol(json_object *o, struct sym_info *si)
{
    json_object *v;
    const char *keys[] = {"symbol", "baseAsset", "quoteAsset", "status"};
    char *dst[] = {si->symbol, si->base, si->quote, si->status};
    size_t len[] = {sizeof(si->symbol), sizeof(si->base), sizeof(si->quote),
                    sizeof(si->status)};

    for (size_t i = 0; i < 4; i++) {
        if (!json_object_object_get_ex(o, keys[i], &v) ||
            !json_object_is_type(v, json_type_string) ||
            strlcpy_checked(dst[i], json_object_get_string(v), len[i]) < 0)
            return -1;
    }
    return 0;
}

/* Turns an exchangeInfo body into a sorted malloc'd array. Returns it (and
 * *n), or NULL with *n = 0 when the body has no symbols array or memory
 * runs out; an exchange with no symbols yields a 1-element allocation with
 * *n = 0 so that NULL always means failure. */
static struct sym_info *
parse_exchange_info(json_object *body, size_t *n)
{
    json_object *arr;
    struct sym_info *syms;
    size_t total;

    *n = 0;
    if (!json_object_object_get_ex(body, "symbols", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return NULL;
    total = json_object_array_length(arr);
    syms = calloc(total > 0 ? total : 1, sizeof(*syms));
    if (syms == NULL)
        return NULL;
    for (size_t i = 0; i < total; i++)
        if (parse_symbol(json_object_array_get_idx(arr, i), &syms[*n]) == 0)
            (*n)++;
    qsort(syms, *n, sizeof(*syms), cmp_symbol);
    return syms;
}

static int
cmp_sym_json(const void *a, const void *b)
{
    return strcmp(((const struct sym_json *)a)->symbol,
                  ((const struct sym_json *)b)->symbol);
}

static void
free_sym_json(struct sym_json *sj, size_t n)
{
    if (sj == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(sj[i].json);
    free(sj);
}

/* Serialises every entry of body's symbols array that has a usable name
 * into a sorted malloc'd array (*n entries). Returns NULL with *n = 0 when
 * there is no symbols array or memory runs out; like parse_exchange_info
 * it never returns NULL on success. */
static struct sym_json *
parse_symbol_json(json_object *body, size_t *n)
{
    json_object *arr, *name;
    struct sym_json *sj;
    size_t total;

    *n = 0;
    if (!json_object_object_get_ex(body, "symbols", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return NULL;
    total = json_object_array_length(arr);
    sj = calloc(total > 0 ? total : 1, sizeof(*sj));
    if (sj == NULL)
        return NULL;
    for (size_t i = 0; i < total; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *text;

        if (!json_object_object_get_ex(o, "symbol", &name) ||
            !json_object_is_type(name, json_type_string) ||
            strlcpy_checked(sj[*n].symbol, json_object_get_string(name),
                            sizeof(sj[*n].symbol)) < 0)
            continue;
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (text == NULL || (sj[*n].json = strdup(text)) == NULL) {
            free_sym_json(sj, *n);
            *n = 0;
            return NULL;
        }
        (*n)++;
    }
    qsort(sj, *n, sizeof(*sj), cmp_sym_json);
    return sj;
}

/* Fetches exchangeInfo and installs it. Called with load_lock held (not
 * cache_lock). Returns 0, or -1 with resp saying why. */
static int
load(struct bnc_response *resp)
{
    struct bnc_params p;
    struct bnc_request req = {0};
    struct sym_info *syms, *old;
    struct sym_json *sj, *old_sj;
    size_t n, sj_n, old_sj_n;

    bnc_params_init(&p);
    /* permissionSets make up most of the document and are not needed. */
    bnc_params_add(&p, "showPermissionSets", "false");
    req.method = "GET";
    req.path = "/api/v3/exchangeInfo";
    req.params = &p;
    req.kind = BNC_PUBLIC;
    if (bnc_call(&req, resp) < 0)
        return -1;
    syms = parse_exchange_info(resp->body, &n);
    sj = syms != NULL ? parse_symbol_json(resp->body, &sj_n) : NULL;
    bnc_response_free(resp);
    resp->body = NULL;
    if (syms == NULL) {
        resp->status = BNC_ERR_BAD_RESPONSE;
        snprintf(resp->detail, sizeof(resp->detail),
                 "exchangeInfo has no readable symbols list");
        return -1;
    }
    if (sj == NULL) {
        free(syms);
        resp->status = BNC_ERR_INTERNAL;
        snprintf(resp->detail, sizeof(resp->detail), "out of memory");
        return -1;
    }
    pthread_mutex_lock(&cache_lock);
    old = cache_syms;
    cache_syms = syms;
    cache_n = n;
    old_sj = cache_json;
    old_sj_n = cache_json_n;
    cache_json = sj;
    cache_json_n = sj_n;
    cache_loaded = 1;
    cache_loaded_at = mono_ms();
    cache_failed_at = 0;
    pthread_mutex_unlock(&cache_lock);
    free(old);
    free_sym_json(old_sj, old_sj_n);
    return 0;
}

/* Makes sure a list is there to serve. Returns 0, or -1 with resp filled
 * when none can be had. resp must be zeroed by the caller. */
static int
ensure_loaded(struct bnc_response *resp)
{
    int ok, have, rc = 0;

    pthread_mutex_lock(&cache_lock);
    ok = usable_locked();
    pthread_mutex_unlock(&cache_lock);
    if (ok)
        return 0;

    pthread_mutex_lock(&load_lock);
    pthread_mutex_lock(&cache_lock);
    ok = usable_locked();
    have = cache_loaded;
    pthread_mutex_unlock(&cache_lock);
    if (!ok && load(resp) < 0) {
        pthread_mutex_lock(&cache_lock);
        cache_failed_at = mono_ms();
        pthread_mutex_unlock(&cache_lock);
        rc = have ? 0 : -1; /* a stale list beats no list */
    }
    pthread_mutex_unlock(&load_lock);
    return rc;
}

/* Prepares the caller's response (or a local one) for ensure_loaded. */
static struct bnc_response *
resp_prepare(struct bnc_response *resp, struct bnc_response *local)
{
    struct bnc_response *r = resp != NULL ? resp : local;

    memset(r, 0, sizeof(*r));
    r->retry_after = -1;
    r->used_weight = -1;
    return r;
}

/* Upper-cases text into out; -1 when it does not fit. */
static int
upper_copy(const char *text, char *out, size_t len)
{
    size_t n = strlen(text);

    if (n >= len)
        return -1;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)toupper((unsigned char)text[i]);
    return 0;
}

/* ---- ranking matches ---- */

struct match {
    size_t idx;  /* into cache_syms (alphabetical) */
    int trading; /* 0 when TRADING, so that it sorts first */
    int kind;    /* 0 exact, 1 prefix, 2 contained */
    int quote;   /* rank of the quote asset, popular first */
};

static int
quote_rank(const char *quote)
{
    static const char *const popular[] = {"USDT", "USDC", "FDUSD",
                                          "BTC",  "ETH",  "BNB"};
    size_t n = sizeof(popular) / sizeof(popular[0]);

    for (size_t i = 0; i < n; i++)
        if (strcmp(quote, popular[i]) == 0)
            return (int)i;
    return (int)n;
}

static int
cmp_match(const void *pa, const void *pb)
{
    const struct match *a = pa, *b = pb;

    if (a->trading != b->trading)
        return a->trading - b->trading;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    if (a->quote != b->quote)
        return a->quote - b->quote;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* How sym matches the upper-cased text: 0 exact, 1 prefix, 2 contained,
 * -1 not at all (2 only when contains is set). */
static int
match_kind(const char *sym, const char *up, int contains)
{
    size_t n = strlen(up);

    if (strcmp(sym, up) == 0)
        return 0;
    if (strncmp(sym, up, n) == 0)
        return 1;
    if (contains && strstr(sym, up) != NULL)
        return 2;
    return -1;
}

/* Ranks and copies matches; cache_lock held. Returns the number copied or
 * -1 when memory runs out. */
static int
find_locked(const char *up, int contains, struct sym_info *out, size_t max,
            size_t *total)
{
    struct match *m = malloc((cache_n > 0 ? cache_n : 1) * sizeof(*m));
    size_t n = 0, copied;

    if (m == NULL)
        return -1;
    for (size_t i = 0; i < cache_n; i++) {
        int k = match_kind(cache_syms[i].symbol, up, contains);
        if (k < 0)
            continue;
        m[n].idx = i;
        m[n].trading = strcmp(cache_syms[i].status, "TRADING") != 0;
        m[n].kind = k;
        m[n].quote = quote_rank(cache_syms[i].quote);
        n++;
    }
    qsort(m, n, sizeof(*m), cmp_match);
    copied = n < max ? n : max;
    for (size_t i = 0; i < copied; i++)
        out[i] = cache_syms[m[i].idx];
    *total = n;
    free(m);
    return (int)copied;
}

/* See symcache.h. A text longer than any symbol matches nothing. Fails
 * only when no list could ever be loaded or memory runs out (resp then says
 * BNC_ERR_INTERNAL). */
int
symcache_find(const char *text, int contains, struct sym_info *out, size_t max,
              size_t *total, struct bnc_response *resp)
{
    struct bnc_response local;
    struct bnc_response *r = resp_prepare(resp, &local);
    char up[sizeof(out->symbol)];
    int rc;

    *total = 0;
    if (max > (size_t)1 << 20)
        max = (size_t)1 << 20;
    if (ensure_loaded(r) < 0) {
        if (resp == NULL)
            bnc_response_free(r);
        return -1;
    }
    if (text == NULL || upper_copy(text, up, sizeof(up)) < 0)
        return 0;
    pthread_mutex_lock(&cache_lock);
    rc = find_locked(up, contains, out, max, total);
    pthread_mutex_unlock(&cache_lock);
    if (rc < 0) {
        r->status = BNC_ERR_INTERNAL;
        snprintf(r->detail, sizeof(r->detail), "out of memory");
    }
    return rc;
}

static int
cmp_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct sym_info *)elem)->symbol);
}

/* See symcache.h. */
int
symcache_get(const char *symbol, struct sym_info *out,
             struct bnc_response *resp)
{
    struct bnc_response local;
    struct bnc_response *r = resp_prepare(resp, &local);
    char up[sizeof(out->symbol)];
    const struct sym_info *hit;
    int rc = 1;

    if (ensure_loaded(r) < 0) {
        if (resp == NULL)
            bnc_response_free(r);
        return -1;
    }
    if (symbol == NULL || upper_copy(symbol, up, sizeof(up)) < 0)
        return 1;
    pthread_mutex_lock(&cache_lock);
    hit = bsearch(up, cache_syms, cache_n, sizeof(*cache_syms), cmp_key);
    if (hit != NULL) {
        *out = *hit;
        rc = 0;
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

static int
cmp_json_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct sym_json *)elem)->symbol);
}

/* See symcache.h. The text is copied under cache_lock and parsed outside
 * it, so a slow parse never holds up other sessions' lookups. */
int
symcache_get_json(const char *symbol, json_object **sym,
                  struct bnc_response *resp)
{
    struct bnc_response local;
    struct bnc_response *r = resp_prepare(resp, &local);
    char up[sizeof(cache_json->symbol)];
    const struct sym_json *hit;
    char *text = NULL;
    int found = 0;

    *sym = NULL;
    if (ensure_loaded(r) < 0) {
        if (resp == NULL)
            bnc_response_free(r);
        return -1;
    }
    if (symbol == NULL || upper_copy(symbol, up, sizeof(up)) < 0)
        return 1;
    pthread_mutex_lock(&cache_lock);
    hit = bsearch(up, cache_json, cache_json_n, sizeof(*cache_json),
                  cmp_json_key);
    if (hit != NULL) {
        found = 1;
        text = strdup(hit->json);
    }
    pthread_mutex_unlock(&cache_lock);
    if (!found)
        return 1;
    if (text != NULL)
        *sym = json_tokener_parse(text);
    free(text);
    if (*sym == NULL || !json_object_is_type(*sym, json_type_object)) {
        json_object_put(*sym);
        *sym = NULL;
        r->status = BNC_ERR_INTERNAL;
        snprintf(r->detail, sizeof(r->detail), "out of memory");
        return -1;
    }
    return 0;
}

/* Frees the list; the next lookup loads it again. */
void
symcache_reset(void)
{
    pthread_mutex_lock(&load_lock);
    pthread_mutex_lock(&cache_lock);
    free(cache_syms);
    cache_syms = NULL;
    cache_n = 0;
    free_sym_json(cache_json, cache_json_n);
    cache_json = NULL;
    cache_json_n = 0;
    cache_loaded = 0;
    cache_loaded_at = 0;
    cache_failed_at = 0;
    pthread_mutex_unlock(&cache_lock);
    pthread_mutex_unlock(&load_lock);
}
