/*
 * filters.h - the exchange's symbol filters, checked locally before an
 * order is signed, and explained in plain words.
 *
 * Binance's most common order rejection is a filter failure (-1013
 * "Filter failure: LOT_SIZE"). The trading guard calls filters_check_leg
 * for every order and every leg of an order list, and filters_check_counts
 * once per request, with the symbol's exchangeInfo entry (symcache.h,
 * symcache_get_json); a refusal names the filter, the rule with its
 * numbers, and the nearest valid values, so that the model can correct
 * the order itself. All arithmetic is exact (decimal.h).
 *
 * The checks follow Binance's documented filters (reference:
 * binance-spot.md, "Filters"), with the exchange's current grid rule
 * price % tickSize == 0 and quantity % stepSize == 0. A filter field that
 * is absent or unreadable switches that rule off (Binance still applies
 * it): these checks only ever refuse what Binance would refuse too.
 * Nothing here talks to the network, allocates beyond filters_explain, or
 * keeps a pointer.
 */
#ifndef BINMCPD_FILTERS_H
#define BINMCPD_FILTERS_H

#include <stddef.h>

#include <json-c/json.h>

/* One order, or one leg of an order list, as the parameters Binance would
 * receive. Every string is borrowed; NULL means the parameter is absent. */
struct filters_leg {
    const char *type;            /* LIMIT, MARKET, STOP_LOSS_LIMIT, ... */
    const char *side;            /* BUY or SELL */
    const char *quantity;        /* decimal strings, as sent to Binance */
    const char *quote_order_qty; /* MARKET only */
    const char *price;
    const char *stop_price;
    const char *trailing_delta; /* whole BIPS, e.g. "100" = 1 % */
    const char *iceberg_qty;
    const char *time_in_force; /* GTC, IOC, FOK */
    /* The symbol's current average (or last) price, a decimal string, for
     * PERCENT_PRICE(_BY_SIDE) and for the value of a MARKET order; NULL
     * (or unreadable) skips the checks that need it. */
    const char *ref_price;
};

/* Checks one leg against sym (an exchangeInfo symbols[] entry; borrowed,
 * not changed): status TRADING and spot trading allowed; the type among
 * orderTypes; the capability flags for icebergQty, trailingDelta and
 * quoteOrderQty; the parameters are plain decimals; then PRICE_FILTER
 * (price and stopPrice), PERCENT_PRICE and PERCENT_PRICE_BY_SIDE (price,
 * against ref_price), LOT_SIZE (quantity and icebergQty, every order type),
 * MARKET_LOT_SIZE (MARKET quantity; a zero field is unused), ICEBERG_PARTS,
 * MIN_NOTIONAL and NOTIONAL, TRAILING_DELTA.
 *
 * The value of a leg is quoteOrderQty, or quantity times: price for the
 * types that carry one; stopPrice (else ref_price) for STOP_LOSS and
 * TAKE_PROFIT; ref_price for MARKET. MARKET, STOP_LOSS and TAKE_PROFIT
 * (which execute as market orders) are held to the notional bounds only
 * as the filter's applyToMarket / applyMinToMarket / applyMaxToMarket say.
 *
 * Returns 0 when the leg passes (why is then ""), or -1 with one sentence
 * in why (truncated to len) that starts with the filter's or field's name,
 * e.g. "LOT_SIZE: quantity 0.000015 is not a multiple of the step size
 * 0.00001; use 0.00001 or 0.00002." Only the first failure is reported. */
int filters_check_leg(json_object *sym, const struct filters_leg *leg,
                      char *why, size_t len);

/* Whether an order of this type (with this trailingDelta, may be NULL)
 * counts towards MAX_NUM_ALGO_ORDERS: STOP_LOSS, STOP_LOSS_LIMIT,
 * TAKE_PROFIT, TAKE_PROFIT_LIMIT, and any trailing order. 1 or 0. */
int filters_is_algo(const char *type, const char *trailing_delta);

/* Checks MAX_NUM_ORDERS (open_orders + adding_orders, all types) and
 * MAX_NUM_ALGO_ORDERS (open_algo_orders + adding_algo) of sym (borrowed).
 * A negative count means unknown: that check is skipped. Returns 0, or -1
 * with one sentence in why (e.g. "MAX_NUM_ORDERS: ...; cancel at least 1
 * open order first."). */
int filters_check_counts(json_object *sym, long open_orders,
                         long open_algo_orders, int adding_orders,
                         int adding_algo, char *why, size_t len);

/* A new object (the caller holds its only reference) describing sym for
 * the get_symbol_info tool: symbol, status, baseAsset, baseAssetPrecision,
 * quoteAsset, quoteAssetPrecision, orderTypes, the capability flags
 * (icebergAllowed, ocoAllowed, otoAllowed, ...), permissions, each copied
 * when present, and "filters": a copy of every filter with its fields as
 * Binance gives them plus "explanation", one plain sentence ("Prices from
 * 0.01 to 1000000 in steps of 0.01."). sym is not changed and nothing of it
 * is shared. Returns NULL when sym is not an object or memory runs out. */
json_object *filters_explain(json_object *sym);

#endif
