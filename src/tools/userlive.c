/*
 * userlive.c - open orders and balances from the user data stream. See
 * userlive.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "market.h"
#include "tools_callcreds.h"
#include "userlive.h"
#include "userstate.h"
#include "util.h"

/* The call's account record, whole (malloc'd; the caller frees it), when
 * it is live; NULL with why. */
static struct us_record *
live_record(struct mcp_call *call, struct userlive *info, char *why,
            size_t whylen)
{
    const struct binance_ctx *ctx = mcp_server_provider_ctx(call->srv);
    struct creds buf;
    const struct creds *c;
    char fp[US_FP_LEN + 1];
    struct us_record *rec;
    int slot, ok;

    if (ctx == NULL || ctx->users == NULL) {
        snprintf(why, whylen, "no user data stream here");
        return NULL;
    }
    if ((c = tools_call_creds(call, &buf)) == NULL) {
        snprintf(why, whylen, "no credentials");
        return NULL;
    }
    info->env = c->env;
    ok = us_fingerprint(c->key, c->env, fp) == 0;
    creds_wipe(&buf);
    if (!ok || (slot = us_find(ctx->users, fp)) < 0) {
        snprintf(why, whylen, "the account is not followed");
        return NULL;
    }
    if ((rec = malloc(sizeof(*rec))) == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (us_read(ctx->users, slot, rec) < 0 || strcmp(rec->fp, fp) != 0 ||
        rec->status != US_LIVE || !rec->connected || rec->orders_truncated ||
        rec->balances_truncated) {
        snprintf(why, whylen, "the account's stream is not live");
        free(rec);
        return NULL;
    }
    info->live_since_ms = rec->live_since_ms;
    info->last_event_ms = rec->last_event_ms;
    return rec;
}

int
userlive_orders_gen(struct mcp_call *call, uint64_t *gen)
{
    const struct binance_ctx *ctx = mcp_server_provider_ctx(call->srv);
    struct us_record head;
    struct creds buf;
    const struct creds *c;
    char fp[US_FP_LEN + 1];
    int slot, ok;

    if (ctx == NULL || ctx->users == NULL ||
        (c = tools_call_creds(call, &buf)) == NULL)
        return -1;
    ok = us_fingerprint(c->key, c->env, fp) == 0;
    creds_wipe(&buf);
    if (!ok || (slot = us_find(ctx->users, fp)) < 0 ||
        us_read_head(ctx->users, slot, &head) < 0 || strcmp(head.fp, fp) != 0 ||
        head.status != US_LIVE || !head.connected)
        return -1;
    us_touch(ctx->users, slot, now_ms());
    *gen = head.orders_gen;
    return 0;
}

static void
add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

static void
add_num(json_object *o, const char *k, int64_t v)
{
    char text[DEC_STR_MAX];
    add_str(o, k, market_format(v, text));
}

static void
add_int(json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

/* One order as GET /api/v3/openOrders writes it. */
static json_object *
order_json(const struct us_order *u)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    add_str(o, "symbol", u->symbol);
    add_int(o, "orderId", u->order_id);
    add_int(o, "orderListId", u->order_list_id);
    add_str(o, "clientOrderId", u->client_order_id);
    add_num(o, "price", u->price);
    add_num(o, "origQty", u->orig_qty);
    add_num(o, "executedQty", u->executed_qty);
    add_num(o, "cummulativeQuoteQty", u->cum_quote_qty);
    add_str(o, "status", u->status);
    add_str(o, "timeInForce", u->time_in_force);
    add_str(o, "type", u->type);
    add_str(o, "side", u->side);
    add_num(o, "stopPrice", u->stop_price);
    add_num(o, "icebergQty", u->iceberg_qty);
    add_int(o, "time", u->time_ms);
    add_int(o, "updateTime", u->update_ms);
    json_object_object_add(o, "isWorking",
                           json_object_new_boolean(u->is_working != 0));
    if (u->working_ms != 0)
        add_int(o, "workingTime", u->working_ms);
    add_num(o, "origQuoteOrderQty", u->orig_quote_qty);
    add_str(o, "selfTradePreventionMode", u->stp_mode);
    return o;
}

/* One entry of a record as JSON (i below the record's count), or NULL. */
typedef json_object *(*entry_fn)(const struct us_record *rec, uint32_t i);

static json_object *
order_entry(const struct us_record *rec, uint32_t i)
{
    return order_json(&rec->orders[i]);
}

static json_object *
balance_entry(const struct us_record *rec, uint32_t i)
{
    json_object *o = json_object_new_object();

    if (o != NULL) {
        add_str(o, "asset", rec->balances[i].asset);
        add_num(o, "free", rec->balances[i].free);
        add_num(o, "locked", rec->balances[i].locked);
    }
    return o;
}

/* The call's live record as an array of count entries made by entry;
 * NULL with why. The record copy is wiped. */
static json_object *
live_array(struct mcp_call *call, struct userlive *info, char *why,
           size_t whylen, int orders, entry_fn entry)
{
    struct us_record *rec = live_record(call, info, why, whylen);
    json_object *arr;

    if (rec == NULL)
        return NULL;
    uint32_t n = orders ? rec->norders : rec->nbalances;
    arr = json_object_new_array();
    for (uint32_t i = 0; arr != NULL && i < n; i++) {
        json_object *o = entry(rec, i);
        if (o == NULL || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            json_object_put(arr);
            arr = NULL;
        }
    }
    secure_wipe(rec, sizeof(*rec));
    free(rec);
    if (arr == NULL)
        snprintf(why, whylen, "out of memory");
    return arr;
}

json_object *
userlive_open_orders(struct mcp_call *call, struct userlive *info, char *why,
                     size_t whylen)
{
    return live_array(call, info, why, whylen, 1, order_entry);
}

json_object *
userlive_balances(struct mcp_call *call, struct userlive *info, char *why,
                  size_t whylen)
{
    return live_array(call, info, why, whylen, 0, balance_entry);
}
