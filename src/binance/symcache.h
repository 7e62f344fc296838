/*
 * symcache.h - a process-wide cache of the exchange's symbols, from
 * /api/v3/exchangeInfo, refreshed at most once per hour (thread-safe).
 */
#ifndef BINMCPD_SYMCACHE_H
#define BINMCPD_SYMCACHE_H

#include <stddef.h>

#include "bnc.h"

struct sym_info {
    char symbol[24];
    char base[16];
    char quote[16];
    char status[16];
};

/* Copies up to max symbols whose name starts with text (or, when contains
 * is non-zero, contains it; case-insensitive) into out, best first: trading
 * symbols before the others; then the exact match, then prefix matches,
 * then other matches; then by quote asset (USDT, USDC, FDUSD, BTC, ETH, BNB,
 * the rest); then alphabetically. *total gets the number of matches. Loads
 * the cache first when empty or stale (a stale list is served while Binance
 * cannot be reached). Returns the number copied, or -1 when exchangeInfo
 * cannot be loaded (resp, if not NULL, then holds why; free it with
 * bnc_response_free). */
int symcache_find(const char *text, int contains, struct sym_info *out,
                  size_t max, size_t *total, struct bnc_response *resp);

/* Looks one symbol up (exact, case-insensitive). Returns 0 and fills *out,
 * 1 when the exchange has no such symbol, -1 when it cannot be loaded. */
int symcache_get(const char *symbol, struct sym_info *out,
                 struct bnc_response *resp);

/* Looks one symbol up (exact, case-insensitive) like symcache_get, from
 * the same cache and with the same refresh rule, and stores in *sym a new
 * object (the caller holds the only reference: json_object_put it) with
 * the symbol's whole exchangeInfo entry as Binance sent it: status,
 * baseAsset/quoteAsset and their precisions, orderTypes, the capability
 * flags (icebergAllowed, ocoAllowed, ...), permissions and filters[].
 * (The cache asks for showPermissionSets=false, so permissionSets are
 * absent.) Returns 0; 1 when the exchange has no such symbol; -1 when the
 * list cannot be loaded, or memory runs out (BNC_ERR_INTERNAL) (resp, if
 * not NULL, then holds why; free it with bnc_response_free). *sym is NULL
 * unless 0 is returned. */
int symcache_get_json(const char *symbol, json_object **sym,
                      struct bnc_response *resp);

/* Drops the cache (tests). */
void symcache_reset(void);

#endif
