/*
 * userdata.c - user data streams over the WebSocket API (contract in
 * userdata.h).
 *
 * Per key, the writer's own copy of its record (struct us_record) is
 * changed in place and published whole into the area at the end of the
 * step that changed it. The connection follows feed.c's life: connect,
 * open, lost, backoff; the keys' subscriptions follow the connection.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bnc.h"
#include "log.h"
#include "market.h"
#include "sign.h"
#include "userdata.h"
#include "util.h"
#include "ws.h"
#include "wsretry.h"

#define UD_STEP_MAX_MS    100
#define UD_CLOSE_WAIT_MS  2000
#define UD_AGE_JITTER_MS  (10 * 60 * 1000)
#define UD_SNAPSHOT_RETRY 2000 /* ms after a failed snapshot */
#define UD_REQUEST_MAX    4096 /* bytes of a subscription request */
#define UD_SIG_MAX        (SIGN_BASE64_MAX + 1)
#define UD_ORPHANS_MAX    64 /* removed keys whose answer is awaited */

struct udkey {
    struct creds c;       /* wiped on removal */
    int slot;             /* in the area */
    struct us_record rec; /* the writer's copy */
    bool dirty;           /* rec changed since it was published */
    long long sub_req;    /* id of the subscription request on its way */
    int64_t sub_sent_ms;  /* when it went (monotonic) */
    long long sub_id;     /* Binance's subscriptionId; -1 none */
    bool subscribed;
    bool need_snapshot;
    int64_t snapshot_at_ms; /* monotonic */
    int64_t retry_at_ms;    /* refused: subscribe again then (monotonic) */
    json_object **buf;      /* events before the snapshot; owned */
    size_t nbuf;
};

struct userdata {
    struct ud_config cfg;
    struct userstate *st;
    unsigned nslots;
    struct udkey **keys; /* by slot; NULL when free */
    unsigned nkeys;
    int ep;
    struct ws_conn *ws;
    uint32_t armed;
    bool lost;            /* the connection ended: connection_over */
    struct wsretry retry; /* backoff and the age limit */
    int64_t next_connect_ms;
    long long next_id;
    /* subscription requests of keys removed before the answer came: a
     * success is unsubscribed at once */
    long long orphans[UD_ORPHANS_MAX];
    unsigned norphans;
    json_tokener *tok;
    struct ud_stats stats;
};

/* Contract in userdata.h. */
void
ud_config_defaults(struct ud_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->ws_api_url, sizeof(c->ws_api_url), "%s",
             "wss://ws-api.binance.com:443/ws-api/v3");
    c->backoff_min_ms = 1000;
    c->backoff_max_ms = 60000;
    c->connect_timeout_ms = 10000;
    c->max_conn_age_ms = (23 * 60 + 30) * 60 * 1000LL;
    c->key_retry_ms = 60000;
    c->answer_timeout_ms = 10000;
    c->recv_window = 5000;
}

/* ---- the record ---- */

/* Something in k's record changed: orders and/or balances. */
static void
changed(struct udkey *k, bool orders, bool balances)
{
    k->rec.generation++;
    if (orders)
        k->rec.orders_gen++;
    if (balances)
        k->rec.balances_gen++;
    k->dirty = true;
}

static void
set_status(struct udkey *k, enum us_status s)
{
    if (k->rec.status != (int32_t)s) {
        k->rec.status = (int32_t)s;
        changed(k, false, false);
    }
}

/* The key's error: Binance's code (0: none of Binance's) and a sentence. */
static void key_error(struct udkey *k, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
key_error(struct udkey *k, int code, const char *fmt, ...)
{
    char text[US_ERROR_MAX];
    bool again;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* a snapshot held back by the budget fails again each retry: say it
     * once */
    again = k->rec.error_code == code && strcmp(k->rec.error, text) == 0;
    memcpy(k->rec.error, text, sizeof(text));
    k->rec.error_code = code;
    k->rec.error_ms = now_ms();
    changed(k, false, false);
    if (!again)
        log_warnx("user data: key %s: %s", k->rec.key_masked, text);
}

static void
buf_clear(struct udkey *k)
{
    for (size_t i = 0; i < k->nbuf; i++)
        json_object_put(k->buf[i]);
    k->nbuf = 0;
}

static int
order_index(const struct us_record *r, int64_t id)
{
    for (uint32_t i = 0; i < r->norders; i++)
        if (r->orders[i].order_id == id)
            return (int)i;
    return -1;
}

static void
order_remove(struct us_record *r, int i)
{
    memmove(&r->orders[i], &r->orders[i + 1],
            (r->norders - (uint32_t)i - 1) * sizeof(r->orders[0]));
    r->norders--;
}

/* Inserts or replaces o, keeping the orders sorted by id. Returns 0, or
 * -1 when the record is full (orders_truncated is then set). */
static int
order_put(struct us_record *r, const struct us_order *o)
{
    int i = order_index(r, o->order_id);
    uint32_t at = 0;

    if (i >= 0) {
        r->orders[i] = *o;
        return 0;
    }
    if (r->norders == US_ORDERS_MAX) {
        r->orders_truncated = 1;
        return -1;
    }
    while (at < r->norders && r->orders[at].order_id < o->order_id)
        at++;
    memmove(&r->orders[at + 1], &r->orders[at],
            (r->norders - at) * sizeof(r->orders[0]));
    r->orders[at] = *o;
    r->norders++;
    return 0;
}

/* Sets asset's balance; a zero balance goes. */
static void
balance_put(struct us_record *r, const char *asset, int64_t free_units,
            int64_t locked)
{
    uint32_t i = 0;

    while (i < r->nbalances && strcmp(r->balances[i].asset, asset) < 0)
        i++;
    if (i < r->nbalances && strcmp(r->balances[i].asset, asset) == 0) {
        if (free_units == 0 && locked == 0) {
            memmove(&r->balances[i], &r->balances[i + 1],
                    (r->nbalances - i - 1) * sizeof(r->balances[0]));
            r->nbalances--;
        } else {
            r->balances[i].free = free_units;
            r->balances[i].locked = locked;
        }
        return;
    }
    if (free_units == 0 && locked == 0)
        return;
    /* an asset name longer than the record holds is left out, as when the
     * record is full, not cut: a cut name could equal another asset's */
    if (r->nbalances == US_BALANCES_MAX ||
        strlen(asset) >= sizeof(r->balances[0].asset)) {
        r->balances_truncated = 1;
        return;
    }
    memmove(&r->balances[i + 1], &r->balances[i],
            (r->nbalances - i) * sizeof(r->balances[0]));
    snprintf(r->balances[i].asset, sizeof(r->balances[i].asset), "%s", asset);
    r->balances[i].free = free_units;
    r->balances[i].locked = locked;
    r->nbalances++;
}

static const struct us_balance *
balance_get(const struct us_record *r, const char *asset)
{
    for (uint32_t i = 0; i < r->nbalances; i++)
        if (strcmp(r->balances[i].asset, asset) == 0)
            return &r->balances[i];
    return NULL;
}

/* ---- JSON fields ---- */

static const char *
str_of(json_object *o, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static int64_t
int_of(json_object *o, const char *key, int64_t dflt)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) ||
        !(json_object_is_type(v, json_type_int) ||
          json_object_is_type(v, json_type_double)))
        return dflt;
    return json_object_get_int64(v);
}

/* A decimal string field in units of 10^-8; 0 when absent or unfit. */
static int64_t
units_of(json_object *o, const char *key)
{
    int64_t v = 0;
    const char *s = str_of(o, key);

    if (s[0] == '\0' || market_parse(s, &v) < 0)
        return 0;
    return v;
}

/* Whether an order in this status is open. */
static bool
status_open(const char *s)
{
    return strcmp(s, "NEW") == 0 || strcmp(s, "PARTIALLY_FILLED") == 0 ||
           strcmp(s, "PENDING_NEW") == 0;
}

/* The fields of an order: its name in GET /api/v3/openOrders and in an
 * executionReport, where it goes in struct us_order, and how it is read. */
enum order_field_kind { OF_TEXT, OF_INT, OF_UNITS, OF_BOOL };

static const struct order_field {
    const char *rest, *report;
    size_t offset, size;
    enum order_field_kind kind;
} ORDER_FIELDS[] = {
#define OF(rest, report, member, kind)                                         \
    {                                                                          \
        rest, report, offsetof(struct us_order, member),                       \
            sizeof(((struct us_order *)0)->member), kind                       \
    }
    OF("symbol", "s", symbol, OF_TEXT),
    OF("clientOrderId", "c", client_order_id, OF_TEXT),
    OF("side", "S", side, OF_TEXT),
    OF("type", "o", type, OF_TEXT),
    OF("timeInForce", "f", time_in_force, OF_TEXT),
    OF("status", "X", status, OF_TEXT),
    OF("selfTradePreventionMode", "V", stp_mode, OF_TEXT),
    OF("orderId", "i", order_id, OF_INT),
    OF("orderListId", "g", order_list_id, OF_INT),
    OF("price", "p", price, OF_UNITS),
    OF("origQty", "q", orig_qty, OF_UNITS),
    OF("executedQty", "z", executed_qty, OF_UNITS),
    OF("cummulativeQuoteQty", "Z", cum_quote_qty, OF_UNITS),
    OF("stopPrice", "P", stop_price, OF_UNITS),
    OF("icebergQty", "F", iceberg_qty, OF_UNITS),
    OF("origQuoteOrderQty", "Q", orig_quote_qty, OF_UNITS),
    OF("time", "O", time_ms, OF_INT),
    OF("updateTime", "T", update_ms, OF_INT), /* T: the transaction time */
    OF("workingTime", "W", working_ms, OF_INT),
    OF("isWorking", "w", is_working, OF_BOOL),
#undef OF
};

/* An order of GET /api/v3/openOrders (report false) or an
 * executionReport (the order as it stands after it) into *o. Absent ids
 * are -1, other absent fields 0 or "". */
static void
order_from_json(json_object *j, bool report, struct us_order *o)
{
    memset(o, 0, sizeof(*o));
    o->order_id = o->order_list_id = -1;
    for (size_t i = 0; i < sizeof(ORDER_FIELDS) / sizeof(ORDER_FIELDS[0]);
         i++) {
        const struct order_field *f = &ORDER_FIELDS[i];
        const char *name = report ? f->report : f->rest;
        char *at = (char *)o + f->offset;
        json_object *v;
        int64_t n;
        int32_t b;

        switch (f->kind) {
        case OF_TEXT:
            snprintf(at, f->size, "%s", str_of(j, name));
            break;
        case OF_INT:
            n = int_of(j, name, *(int64_t *)(void *)at);
            memcpy(at, &n, sizeof(n));
            break;
        case OF_UNITS:
            n = units_of(j, name);
            memcpy(at, &n, sizeof(n));
            break;
        case OF_BOOL:
            b = json_object_object_get_ex(j, name, &v) &&
                json_object_get_boolean(v);
            memcpy(at, &b, sizeof(b));
            break;
        }
    }
}

/* ---- events ---- */

static void
apply_execution_report(struct udkey *k, json_object *e)
{
    struct us_record *r = &k->rec;
    struct us_order o;
    int i;

    order_from_json(e, true, &o);
    if (o.order_id < 0)
        return;
    i = order_index(r, o.order_id);
    /* An event older than the record's view of the order (the snapshot's
     * or a later event's) is already in it. An order the record lacks is
     * taken as the event says: a report carries the order's whole state,
     * and the reports that follow (a fill, a cancel) come in order, so the
     * record converges even for an order the snapshot saw end. Comparing
     * with the time the snapshot was asked would need this host's clock to
     * agree with Binance's, and would drop a new order when it ran ahead. */
    if (i >= 0 && o.update_ms < r->orders[i].update_ms)
        return;
    if (status_open(o.status)) {
        if (i >= 0 && o.client_order_id[0] == '\0')
            memcpy(o.client_order_id, r->orders[i].client_order_id,
                   sizeof(o.client_order_id));
        if (order_put(r, &o) == 0)
            changed(k, true, false);
    } else if (i >= 0) {
        order_remove(r, i);
        changed(k, true, false);
    }
}

static void
apply_list_status(struct udkey *k, json_object *e)
{
    struct us_record *r = &k->rec;
    int64_t list = int_of(e, "g", -1);
    bool done = strcmp(str_of(e, "L"), "ALL_DONE") == 0 ||
                strcmp(str_of(e, "L"), "REJECT") == 0 ||
                strcmp(str_of(e, "l"), "ALL_DONE") == 0;
    json_object *members = json_object_object_get(e, "O");
    bool any = false;

    if (list < 0)
        return;
    for (size_t m = 0; json_object_is_type(members, json_type_array) &&
                       m < json_object_array_length(members);
         m++) {
        int i = order_index(
            r, int_of(json_object_array_get_idx(members, m), "i", -1));
        if (i < 0)
            continue;
        if (done) {
            order_remove(r, i);
        } else {
            r->orders[i].order_list_id = list;
        }
        any = true;
    }
    if (any)
        changed(k, true, false);
}

static void
apply_account_position(struct udkey *k, json_object *e)
{
    struct us_record *r = &k->rec;
    int64_t u = int_of(e, "u", 0);
    json_object *b = json_object_object_get(e, "B");

    if (u < r->account_update_ms || !json_object_is_type(b, json_type_array))
        return;
    r->account_update_ms = u;
    for (size_t i = 0; i < json_object_array_length(b); i++) {
        json_object *a = json_object_array_get_idx(b, i);
        if (str_of(a, "a")[0] != '\0')
            balance_put(r, str_of(a, "a"), units_of(a, "f"), units_of(a, "l"));
    }
    changed(k, false, true);
}

static void
apply_balance_update(struct udkey *k, json_object *e)
{
    struct us_record *r = &k->rec;
    const struct us_balance *b = balance_get(r, str_of(e, "a"));
    int64_t t = int_of(e, "T", 0), d = 0, was = b ? b->free : 0;
    const char *ds = str_of(e, "d");
    bool neg = ds[0] == '-';

    /* A delta that would take free below zero or past int64 does not fit
     * this view of the account (the outboundAccountPosition that follows
     * every balanceUpdate says the balance): it is not applied. */
    if (t <= r->account_update_ms || str_of(e, "a")[0] == '\0' ||
        market_parse(neg ? ds + 1 : ds, &d) < 0 ||
        (neg ? d > was : d > INT64_MAX - was))
        return;
    r->account_update_ms = t;
    balance_put(r, str_of(e, "a"), neg ? was - d : was + d, b ? b->locked : 0);
    changed(k, false, true);
}

static void subscribe_key(struct userdata *u, struct udkey *k);

/* One event of k's subscription. */
static void
apply_event(struct userdata *u, struct udkey *k, json_object *e)
{
    const char *type = str_of(e, "e");

    u->stats.events++;
    k->rec.events++;
    if (int_of(e, "E", 0) > k->rec.last_event_ms)
        k->rec.last_event_ms = int_of(e, "E", 0);
    if (strcmp(type, "executionReport") == 0) {
        apply_execution_report(k, e);
    } else if (strcmp(type, "listStatus") == 0) {
        apply_list_status(k, e);
    } else if (strcmp(type, "outboundAccountPosition") == 0) {
        apply_account_position(k, e);
    } else if (strcmp(type, "balanceUpdate") == 0) {
        apply_balance_update(k, e);
    } else if (strcmp(type, "eventStreamTerminated") == 0) {
        /* Binance ended this subscription: take it again */
        k->subscribed = false;
        k->sub_id = -1;
        subscribe_key(u, k);
    }
}

/* ---- requests ---- */

/* Queues req (taken over) on the connection. Returns 0 or -1. */
static int
send_request(struct userdata *u, json_object *req)
{
    const char *text = json_object_to_json_string_ext(
        req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = u->ws != NULL ? ws_send_text(u->ws, text, strlen(text)) : -1;

    json_object_put(req);
    return rc;
}

/* Sends k's userDataStream.subscribe.signature: the params but signature,
 * sorted by name, joined name=value with &, values raw, signed as REST
 * signs (hex HMAC, or base64 Ed25519 / RSA). */
static void
subscribe_key(struct userdata *u, struct udkey *k)
{
    char payload[CREDS_KEY_MAX + 96], sig[UD_SIG_MAX];
    int64_t ts = now_ms() + bnc_clock_offset();
    json_object *req, *params;
    int n, rc;

    if (u->ws == NULL || !u->retry.was_open || u->lost)
        return;
    n = snprintf(payload, sizeof(payload),
                 "apiKey=%s&recvWindow=%ld&timestamp=%lld", k->c.key,
                 u->cfg.recv_window, (long long)ts);
    if (n < 0 || (size_t)n >= sizeof(payload))
        return;
    if (k->c.type == SIGN_KEY_HMAC) {
        char hex[SIGN_HEX_LEN + 1];
        rc = sign_hmac_sha256_hex(k->c.secret, payload, (size_t)n, hex);
        snprintf(sig, sizeof(sig), "%s", hex);
        secure_wipe(hex, sizeof(hex));
    } else {
        rc = sign_key_base64(k->c.secret, payload, (size_t)n, sig, sizeof(sig));
    }
    if (rc < 0) {
        key_error(k, 0, "cannot sign the subscription with the %s key",
                  sign_key_type_name(k->c.type));
        set_status(k, US_FAILED);
        k->retry_at_ms = mono_ms() + u->cfg.key_retry_ms;
        return;
    }
    req = json_object_new_object();
    params = json_object_new_object();
    json_object_object_add(params, "apiKey", json_object_new_string(k->c.key));
    json_object_object_add(params, "recvWindow",
                           json_object_new_int64(u->cfg.recv_window));
    json_object_object_add(params, "timestamp", json_object_new_int64(ts));
    json_object_object_add(params, "signature", json_object_new_string(sig));
    k->sub_req = ++u->next_id;
    json_object_object_add(req, "id", json_object_new_int64(k->sub_req));
    json_object_object_add(
        req, "method",
        json_object_new_string("userDataStream.subscribe.signature"));
    json_object_object_add(req, "params", params);
    if (send_request(u, req) < 0) {
        k->sub_req = 0;
        return;
    }
    k->sub_sent_ms = mono_ms();
    set_status(k, US_SUBSCRIBING);
}

/* Sends userDataStream.unsubscribe for subscription sid. */
static void
unsubscribe_id(struct userdata *u, long long sid)
{
    json_object *req, *params;

    if (u->ws == NULL || u->lost)
        return;
    req = json_object_new_object();
    params = json_object_new_object();
    json_object_object_add(params, "subscriptionId",
                           json_object_new_int64(sid));
    json_object_object_add(req, "id", json_object_new_int64(++u->next_id));
    json_object_object_add(
        req, "method", json_object_new_string("userDataStream.unsubscribe"));
    json_object_object_add(req, "params", params);
    if (send_request(u, req) == 0)
        u->stats.unsubscribes++;
}

/* k is going: its subscription ends, or the one on its way will. */
static void
unsubscribe_key(struct userdata *u, struct udkey *k)
{
    if (k->subscribed)
        unsubscribe_id(u, k->sub_id);
    else if (k->sub_req != 0 && u->norphans < UD_ORPHANS_MAX)
        u->orphans[u->norphans++] = k->sub_req;
    k->subscribed = false;
}

/* Binance accepted k's subscription as sid (-1: it named none): the
 * snapshot comes next. */
static void
subscription_accepted(struct userdata *u, struct udkey *k, long long sid)
{
    k->sub_id = sid;
    k->subscribed = k->sub_id >= 0;
    k->need_snapshot = true;
    k->snapshot_at_ms = 0;
    k->rec.subscribes++;
    u->stats.subscribes++;
    set_status(k, US_SNAPSHOT);
    log_info("user data: key %s subscribed (subscription %lld)",
             k->rec.key_masked, k->sub_id);
}

/* The answer to a request: a subscription's is matched by id. */
static void
on_answer(struct userdata *u, json_object *o)
{
    long long id = int_of(o, "id", -1);
    json_object *err = json_object_object_get(o, "error");

    for (unsigned s = 0; s < u->nslots; s++) {
        struct udkey *k = u->keys[s];
        /* sub_req 0: no request of k's on its way, whatever the id says */
        if (k == NULL || k->sub_req == 0 || k->sub_req != id)
            continue;
        k->sub_req = 0;
        if (int_of(o, "status", 0) == 200) {
            subscription_accepted(u, k,
                                  int_of(json_object_object_get(o, "result"),
                                         "subscriptionId", -1));
        } else {
            u->stats.refusals++;
            key_error(k, (int)int_of(err, "code", 0),
                      "Binance refused the user data subscription: %lld %s "
                      "(status %lld)",
                      (long long)int_of(err, "code", 0), str_of(err, "msg"),
                      (long long)int_of(o, "status", 0));
            set_status(k, US_FAILED);
            k->retry_at_ms = mono_ms() + u->cfg.key_retry_ms;
        }
        return;
    }
    for (unsigned i = 0; i < u->norphans; i++) {
        if (u->orphans[i] != id)
            continue;
        /* the key went while its subscription was on its way */
        u->orphans[i] = u->orphans[--u->norphans];
        if (int_of(o, "status", 0) == 200)
            unsubscribe_id(u, int_of(json_object_object_get(o, "result"),
                                     "subscriptionId", -1));
        return;
    }
    /* an unsubscription's answer */
}

static struct udkey *
key_of_subscription(struct userdata *u, long long sid)
{
    for (unsigned s = 0; s < u->nslots; s++)
        if (u->keys[s] != NULL && u->keys[s]->subscribed &&
            u->keys[s]->sub_id == sid)
            return u->keys[s];
    return NULL;
}

static void
on_message(void *arg, const char *text, size_t len)
{
    struct userdata *u = arg;
    json_object *o, *event;
    struct udkey *k;

    u->stats.messages++;
    json_tokener_reset(u->tok);
    o = json_tokener_parse_ex(u->tok, text, (int)len);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        u->stats.invalid++;
        json_object_put(o);
        return;
    }
    wsretry_success(&u->retry); /* a message proves the connection works */
    if (json_object_object_get_ex(o, "event", &event) &&
        json_object_is_type(event, json_type_object)) {
        k = key_of_subscription(u, int_of(o, "subscriptionId", -1));
        if (k == NULL) {
            u->stats.events_stale++; /* unsubscribed on its way */
        } else if (k->need_snapshot) {
            if (k->nbuf == UD_BUFFERED_MAX) {
                /* all of them precede the snapshot, which reflects them */
                buf_clear(k);
            }
            k->buf[k->nbuf++] = json_object_get(event);
        } else {
            apply_event(u, k, event);
        }
    } else if (json_object_object_get_ex(o, "id", NULL)) {
        on_answer(u, o);
    } else {
        u->stats.invalid++;
    }
    json_object_put(o);
}

static void
on_close(void *arg, int code, bool clean, const char *reason)
{
    struct userdata *u = arg;

    u->lost = true;
    wsretry_log_close("user data: WebSocket API", u->retry.planned, code, clean,
                      reason);
}

/* ---- snapshots ---- */

/* A REST read for k; fills resp. Returns 0 or -1 (k's error set, the
 * snapshot planned again). */
static int
snapshot_call(struct userdata *u, struct udkey *k, const char *path,
              const struct bnc_params *p, struct bnc_response *resp)
{
    struct bnc_request req = {.method = "GET",
                              .path = path,
                              .params = p,
                              .kind = BNC_READ,
                              .creds = &k->c,
                              .cancel = u->cfg.cancel};
    char why[512];

    if (bnc_call(&req, resp) == 0)
        return 0;
    u->stats.snapshot_failures++;
    key_error(k, resp->api_code, "snapshot %s: %s", path,
              bnc_describe_error(resp, why, sizeof(why)));
    k->snapshot_at_ms =
        mono_ms() +
        (resp->retry_after > 0 ? resp->retry_after * 1000 : UD_SNAPSHOT_RETRY);
    bnc_response_free(resp);
    return -1;
}

/* k's snapshot from the bodies of GET /api/v3/openOrders and GET
 * /api/v3/account (borrowed), then the events buffered meanwhile. */
static void
snapshot_apply(struct userdata *u, struct udkey *k, json_object *open_orders,
               json_object *account)
{
    struct us_record *r = &k->rec;
    json_object *bal;

    r->norders = 0;
    r->orders_truncated = 0;
    for (size_t i = 0; json_object_is_type(open_orders, json_type_array) &&
                       i < json_object_array_length(open_orders);
         i++) {
        struct us_order o;
        order_from_json(json_object_array_get_idx(open_orders, i), false, &o);
        if (o.order_id >= 0)
            order_put(r, &o);
    }
    r->nbalances = 0;
    r->balances_truncated = 0;
    bal = json_object_object_get(account, "balances");
    for (size_t i = 0; json_object_is_type(bal, json_type_array) &&
                       i < json_object_array_length(bal);
         i++) {
        json_object *a = json_object_array_get_idx(bal, i);
        if (str_of(a, "asset")[0] != '\0')
            balance_put(r, str_of(a, "asset"), units_of(a, "free"),
                        units_of(a, "locked"));
    }
    r->account_update_ms = int_of(account, "updateTime", 0);
    r->snapshots++;
    u->stats.snapshots++;
    r->live_since_ms = now_ms();
    k->need_snapshot = false;
    changed(k, true, true);
    for (size_t i = 0; i < k->nbuf; i++)
        apply_event(u, k, k->buf[i]);
    buf_clear(k);
    set_status(k, US_LIVE);
}

/* Takes k's snapshot, then applies the events buffered meanwhile. */
static void
take_snapshot(struct userdata *u, struct udkey *k)
{
    struct bnc_response oo = {0}, acct = {0};
    struct bnc_params p;

    if (snapshot_call(u, k, "/api/v3/openOrders", NULL, &oo) < 0)
        return;
    bnc_params_init(&p);
    bnc_params_add(&p, "omitZeroBalances", "true");
    if (snapshot_call(u, k, "/api/v3/account", &p, &acct) < 0) {
        bnc_response_free(&oo);
        return;
    }
    snapshot_apply(u, k, oo.body, acct.body);
    bnc_response_free(&oo);
    bnc_response_free(&acct);
}

/* ---- the connection ---- */

static void
arm(struct userdata *u)
{
    wsretry_arm(u->ep, u->ws, &u->armed, u, "user data");
}

/* Every key back to "not subscribed" on a connection that is gone. */
static void
keys_disconnected(struct userdata *u)
{
    for (unsigned s = 0; s < u->nslots; s++) {
        struct udkey *k = u->keys[s];
        if (k == NULL)
            continue;
        k->subscribed = false;
        k->sub_id = -1;
        k->sub_req = 0;
        k->need_snapshot = false;
        k->retry_at_ms = 0;
        buf_clear(k);
        if (k->rec.connected) {
            k->rec.connected = 0;
            changed(k, false, false);
        }
        set_status(k, US_CONNECTING);
    }
}

static void
connection_over(struct userdata *u)
{
    wsretry_drop(u->ep, &u->ws, &u->armed);
    u->norphans = 0; /* their subscriptions ended with the connection */
    u->next_connect_ms = wsretry_over(&u->retry, mono_ms());
    u->lost = true;
    u->stats.connected = 0;
    keys_disconnected(u);
}

static void
connect_now(struct userdata *u)
{
    struct ws_options o = {0};
    char err[256];

    o.url = u->cfg.ws_api_url;
    o.ca_file = u->cfg.ca_file[0] ? u->cfg.ca_file : NULL;
    o.on_message = on_message;
    o.on_close = on_close;
    o.arg = u;
    u->lost = false;
    u->armed = 0;
    wsretry_connecting(&u->retry, mono_ms());
    if ((u->ws = ws_open(&o, err, sizeof(err))) == NULL) {
        log_warnx("user data: cannot connect to %s: %s", u->cfg.ws_api_url,
                  err);
        connection_over(u);
        return;
    }
    arm(u);
}

/* After a step of the live connection (the step loop ends a lost one):
 * notices it opened, took too long or grew old. */
static void
connection_check(struct userdata *u)
{
    int64_t now = mono_ms();

    switch (wsretry_due(&u->retry, now, ws_state(u->ws) == WS_OPEN,
                        u->cfg.connect_timeout_ms, u->cfg.max_conn_age_ms,
                        UD_AGE_JITTER_MS, UD_CLOSE_WAIT_MS)) {
    case WSRETRY_OPENED:
        u->stats.connects = u->retry.connects;
        u->stats.reconnects = u->retry.reconnects;
        u->stats.connected = 1;
        log_info("user data: connected to %s (%u keys)", u->cfg.ws_api_url,
                 u->nkeys);
        for (unsigned s = 0; s < u->nslots; s++)
            if (u->keys[s] != NULL) {
                u->keys[s]->rec.connected = 1;
                changed(u->keys[s], false, false);
                subscribe_key(u, u->keys[s]);
            }
        break;
    case WSRETRY_TOO_SLOW:
        log_warnx("user data: connecting to %s took over %lld ms; giving up",
                  u->cfg.ws_api_url, (long long)u->cfg.connect_timeout_ms);
        connection_over(u);
        break;
    case WSRETRY_AGED:
        log_info("user data: the connection is %lld s old: reconnecting",
                 (long long)((now - u->retry.opened_ms) / 1000));
        if (ws_close(u->ws, WS_CODE_NORMAL, "planned reconnect") < 0)
            connection_over(u);
        break;
    case WSRETRY_CLOSE_LATE:
        connection_over(u);
        break;
    case WSRETRY_NOTHING:
        break;
    }
}

/* Per key: refused subscriptions tried again, snapshots due (one a
 * step: they block, and after a reconnect every key wants one), answers
 * that never came. */
static void
keys_due(struct userdata *u)
{
    int64_t now = mono_ms();
    bool snapped = false;

    if (u->ws == NULL || !u->retry.was_open || u->lost || u->retry.planned)
        return;
    for (unsigned s = 0; s < u->nslots; s++) {
        struct udkey *k = u->keys[s];
        if (k == NULL)
            continue;
        if (k->sub_req != 0 &&
            now - k->sub_sent_ms > u->cfg.answer_timeout_ms) {
            log_warnx("user data: no answer to a subscription in %lld ms: "
                      "reconnecting",
                      (long long)u->cfg.answer_timeout_ms);
            u->lost = true;
            return;
        }
        if (!k->subscribed && k->sub_req == 0 &&
            (k->retry_at_ms == 0 || now >= k->retry_at_ms)) {
            k->retry_at_ms = 0;
            subscribe_key(u, k);
        }
        if (!snapped && k->subscribed && k->need_snapshot &&
            now >= k->snapshot_at_ms) {
            take_snapshot(u, k);
            snapped = true;
        }
        if (u->ws == NULL || u->lost)
            return;
    }
}

static void
publish(struct userdata *u)
{
    for (unsigned s = 0; s < u->nslots; s++) {
        struct udkey *k = u->keys[s];
        if (k != NULL && k->dirty) {
            us_publish(u->st, k->slot, &k->rec);
            k->dirty = false;
        }
    }
}

/* ---- the interface ---- */

/* Contract in userdata.h. */
struct userdata *
ud_new(const struct ud_config *cfg, char *err, size_t errlen)
{
    struct userdata *u = calloc(1, sizeof(*u));

    if (u == NULL || cfg->state == NULL || cfg->ws_api_url[0] == '\0') {
        errf(err, errlen, "user data: %s",
             u == NULL ? "out of memory" : "no area or no ws_api_url");
        free(u);
        return NULL;
    }
    u->cfg = *cfg;
    u->st = cfg->state;
    u->nslots = us_slots(u->st);
    if (u->cfg.key_retry_ms < 1)
        u->cfg.key_retry_ms = 60000;
    if (u->cfg.answer_timeout_ms < 1)
        u->cfg.answer_timeout_ms = 10000;
    if (u->cfg.recv_window < 1 || u->cfg.recv_window > 60000)
        u->cfg.recv_window = 5000;
    wsretry_init(&u->retry, &u->cfg.backoff_min_ms, &u->cfg.backoff_max_ms,
                 &u->cfg.connect_timeout_ms, &u->cfg.max_conn_age_ms,
                 0x85EBCA6Bu);
    u->ep = epoll_create1(EPOLL_CLOEXEC);
    u->tok = json_tokener_new();
    u->keys = calloc(u->nslots, sizeof(*u->keys));
    if (u->ep < 0 || u->tok == NULL || u->keys == NULL) {
        errf(err, errlen, "user data: %s",
             u->ep < 0 ? strerror(errno) : "out of memory");
        ud_free(u);
        return NULL;
    }
    u->lost = true;
    return u;
}

/* Contract in userdata.h. */
int
ud_add_key(struct userdata *u, const struct creds *c, char fp[US_FP_LEN + 1],
           char *err, size_t errlen)
{
    char name[US_FP_LEN + 1];
    struct udkey *k;
    int slot;

    if (c == NULL || !c->set) {
        errf(err, errlen, "user data: no credentials");
        return -1;
    }
    if (us_fingerprint(c->key, c->env, name) < 0) {
        errf(err, errlen, "user data: cannot fingerprint the key");
        return -1;
    }
    if (fp != NULL)
        memcpy(fp, name, sizeof(name));
    if ((slot = us_find(u->st, name)) >= 0 && u->keys[slot] != NULL) {
        k = u->keys[slot];
        creds_wipe(&k->c);
        k->c = *c;
        k->retry_at_ms = 0; /* refused before? the new secret may do */
        return slot;
    }
    if ((slot = us_claim(u->st, name)) < 0) {
        errf(err, errlen, "user data: every one of the %u key slots is taken",
             u->nslots);
        return -1;
    }
    if ((k = calloc(1, sizeof(*k))) == NULL ||
        (k->buf = calloc(UD_BUFFERED_MAX, sizeof(*k->buf))) == NULL) {
        free(k);
        us_release(u->st, slot);
        errf(err, errlen, "user data: out of memory");
        return -1;
    }
    k->c = *c;
    k->slot = slot;
    k->sub_id = -1;
    memcpy(k->rec.fp, name, sizeof(name));
    creds_mask(c->key, k->rec.key_masked, sizeof(k->rec.key_masked));
    k->rec.env = (int32_t)c->env;
    k->rec.since_ms = now_ms();
    k->rec.status = US_CONNECTING;
    k->rec.connected = u->retry.was_open && !u->lost;
    changed(k, true, true);
    u->keys[slot] = k;
    u->nkeys++;
    subscribe_key(u, k);
    publish(u);
    arm(u);
    return slot;
}

static void
key_free(struct udkey *k)
{
    creds_wipe(&k->c);
    buf_clear(k);
    free(k->buf);
    secure_wipe(k, sizeof(*k));
    free(k);
}

/* Contract in userdata.h. */
int
ud_remove_key(struct userdata *u, const char *fp)
{
    int slot = us_find(u->st, fp);
    struct udkey *k;

    if (slot < 0 || (k = u->keys[slot]) == NULL)
        return -1;
    unsubscribe_key(u, k);
    u->keys[slot] = NULL;
    u->nkeys--;
    us_release(u->st, slot);
    key_free(k);
    arm(u);
    return 0;
}

int
ud_poll_fd(const struct userdata *u)
{
    return u->ep;
}

/* Contract in userdata.h. */
int
ud_step(struct userdata *u, int timeout_ms)
{
    if (timeout_ms > UD_STEP_MAX_MS || timeout_ms < 0)
        timeout_ms = UD_STEP_MAX_MS;
    if (wsretry_wait(u->ep, u->ws, &u->lost, timeout_ms, "user data") < 0)
        return -1;
    if (u->ws != NULL && !u->lost)
        connection_check(u);
    keys_due(u);
    if (u->ws != NULL && u->lost)
        connection_over(u);
    if (u->ws == NULL && u->nkeys > 0 && mono_ms() >= u->next_connect_ms)
        connect_now(u);
    publish(u);
    arm(u);
    return 0;
}

/* Contract in userdata.h. */
void
ud_free(struct userdata *u)
{
    if (u == NULL)
        return;
    for (unsigned s = 0; u->keys != NULL && s < u->nslots; s++)
        if (u->keys[s] != NULL) {
            us_release(u->st, u->keys[s]->slot);
            key_free(u->keys[s]);
        }
    free(u->keys);
    ws_free(u->ws);
    if (u->ep >= 0)
        close(u->ep);
    if (u->tok != NULL)
        json_tokener_free(u->tok);
    free(u);
}

/* ---- for tests and fuzzing ---- */

/* The key fp names, or NULL. */
static struct udkey *
key_of_fp(struct userdata *u, const char *fp)
{
    int slot = us_find(u->st, fp);

    return slot < 0 ? NULL : u->keys[slot];
}

/* Contract in userdata.h. */
void
ud_feed_message(struct userdata *u, const char *text, size_t len)
{
    on_message(u, text, len);
    publish(u);
}

/* Contract in userdata.h. */
int
ud_feed_subscribed(struct userdata *u, const char *fp, long long sid)
{
    struct udkey *k = key_of_fp(u, fp);

    if (k == NULL)
        return -1;
    k->sub_req = 0;
    subscription_accepted(u, k, sid);
    publish(u);
    return 0;
}

/* Contract in userdata.h. */
int
ud_feed_snapshot(struct userdata *u, const char *fp, json_object *open_orders,
                 json_object *account)
{
    struct udkey *k = key_of_fp(u, fp);

    if (k == NULL || !k->subscribed || !k->need_snapshot)
        return -1;
    snapshot_apply(u, k, open_orders, account);
    publish(u);
    return 0;
}

/* Contract in userdata.h. */
void
ud_stats(const struct userdata *u, struct ud_stats *out)
{
    *out = u->stats;
    out->keys = u->nkeys;
}
