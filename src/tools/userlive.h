/*
 * userlive.h - what a resource read takes from the feed's user data
 * stream: the open orders and balances of the call's account (its own
 * credentials, else the daemon's), from the user-data area (userstate.h),
 * in the JSON shapes of Binance's GET /api/v3/openOrders and the balances
 * of GET /api/v3/account, so that the same markdown renders either.
 *
 * Only a record that is live is used: connected, its REST snapshot
 * applied, nothing truncated. Otherwise the reader gets NULL and a reason,
 * and goes to REST as before. Values are Binance's decimals, trailing
 * zeros trimmed.
 */
#ifndef BINMCPD_USERLIVE_H
#define BINMCPD_USERLIVE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "creds.h"
#include "mcp.h"

struct userlive {
    enum bnc_env env;      /* the account's environment */
    int64_t live_since_ms; /* the snapshot the events follow */
    int64_t last_event_ms; /* Binance's time of the last event (0: none) */
};

/* The open orders of the call's account: a new JSON array (the caller
 * puts it), oldest order first, or NULL with a sentence in why (no feed,
 * no credentials, the account not followed or not live yet, out of
 * memory). *info is filled on success. */
json_object *userlive_open_orders(struct mcp_call *call, struct userlive *info,
                                  char *why, size_t whylen);

/* The same for the balances: [{asset, free, locked}], non-zero only, by
 * asset. */
json_object *userlive_balances(struct mcp_call *call, struct userlive *info,
                               char *why, size_t whylen);

/* The orders_gen of the call's account (it grows with every change of its
 * open orders) when its stream is live: 0, or -1 (not live). Cheap: a
 * read of the record's head. */
int userlive_orders_gen(struct mcp_call *call, uint64_t *gen);

#endif
