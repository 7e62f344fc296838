/*
 * tools_md.h - the markdown blocks that tools, resources and prompts all
 * show (a market overview, a balances table, an orders table), and the
 * JSON-to-text helper they read Binance's answers with. Each block appends
 * to a capped struct dbuf and returns 0, or -1 when the cap is reached
 * (the buffer then holds what fitted); nothing is allocated otherwise.
 */
#ifndef BINMCPD_TOOLS_MD_H
#define BINMCPD_TOOLS_MD_H

#include <stddef.h>

#include <json-c/json.h>

#include "dbuf.h"
#include "symcache.h"

/* o[key] as text (numbers and booleans in their JSON spelling), borrowed
 * from o; "n/a" when o is not an object or key is absent. */
const char *tu_jstr(json_object *o, const char *key);

/* ---- markdown blocks shared by tools, resources and prompts ---- */
/* Each appends to b and returns 0, or -1 when b's cap is reached. */

/* A market overview of one symbol from its 24h ticker (borrowed). avg, the
 * /api/v3/avgPrice answer, and si, the symbol's assets, may be NULL. */
int tu_md_market(struct dbuf *b, json_object *ticker, json_object *avg,
                 const struct sym_info *si);

/* A table (Asset | Free | Locked | Total) of the non-zero entries of an
 * account's balances array; *shown gets how many rows were written. */
int tu_md_balances(struct dbuf *b, json_object *balances, size_t *shown);

/* A table of orders (the /api/v3/openOrders array). */
int tu_md_orders(struct dbuf *b, json_object *orders);

#endif
