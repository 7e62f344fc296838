/*
 * budget.h - the upstream weight budget: Binance counts request weight per
 * IP and per minute (X-MBX-USED-WEIGHT-1M; 6000 by default on Spot). All
 * workers share one counter for the current minute, so together they never
 * send more than the budget; ub_observe() raises it to what Binance reports
 * (other programs behind the same IP count too). A 429/418 hold applies to
 * every worker. ub_request_weight() knows what each Spot endpoint costs.
 *
 * The budget lives in its own anonymous MAP_SHARED mapping, created by the
 * supervisor before it forks, so every worker sees it at the same address.
 * No lock: a process that dies while using it wedges nobody.
 *
 * Binance-side: included by the composition (compose.c) and tests, never by
 * the generic limits (ratelimit.h) or the HTTP worker.
 */
#ifndef BINMCPD_BUDGET_H
#define BINMCPD_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define UB_DEFAULT_WEIGHT 6000 /* Binance Spot REQUEST_WEIGHT per minute */
#define UB_WINDOW_MS      60000

struct upstream_budget;

/* Creates a budget of weight_per_min (> 0) per wall-clock minute. Call
 * before fork. Returns NULL with a sentence in err. */
struct upstream_budget *ub_create(int weight_per_min, char *err, size_t errlen);

void ub_destroy(struct upstream_budget *b);

/* Takes weight from the current minute's budget (now_ms: wall clock ms
 * since the epoch, like Binance's minutes). Returns 1 when taken; 0 when the
 * minute's budget cannot cover it or a hold is running, with
 * *retry_after_ms (may be NULL) the wait until the next minute or the end
 * of the hold. A weight above the whole budget is taken as the budget (it
 * needs an untouched minute). weight <= 0 is always allowed unless held.
 * Lock-free. */
int ub_take(struct upstream_budget *b, int weight, int64_t now_ms,
            long *retry_after_ms);

/* Records Binance's X-MBX-USED-WEIGHT-1M (used_weight; < 0 means absent
 * and is ignored) for the minute of sent_ms, the time the request was sent:
 * the minute's count becomes at least that. Lock-free. */
void ub_observe(struct upstream_budget *b, long used_weight, int64_t sent_ms);

/* Stops every worker from calling Binance until until_ms (wall clock ms);
 * a hold already running longer is kept. For 429/418 and Retry-After. */
void ub_hold(struct upstream_budget *b, int64_t until_ms);

/* The REQUEST_WEIGHT Binance charges for method + path with the query
 * string query (may be NULL; "symbol=BTCUSDT&limit=500", the form sent),
 * from Binance's Spot API documentation: e.g. depth by limit, ticker/24hr
 * by the number of symbols, openOrders with or without a symbol. An
 * endpoint not in the table counts UB_WEIGHT_UNKNOWN, on the safe side;
 * ub_observe() corrects the count with what Binance reports anyway. */
#define UB_WEIGHT_UNKNOWN 20
int ub_request_weight(const char *method, const char *path, const char *query);

/* Weight counted in the minute of now_ms (0 when that minute has not been
 * touched), and the budget. */
long ub_used(struct upstream_budget *b, int64_t now_ms);
int ub_limit(const struct upstream_budget *b);

#endif
