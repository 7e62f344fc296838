/*
 * userdata.h - Binance's user data streams for a set of API keys (the
 * daemon's, and each live session's), kept in the user-data area
 * (userstate.h) for the workers.
 *
 * One WebSocket API connection (ws_api_url: FEED_WS_API_URL_* in feed.h,
 * or ws:// for tests) carries one userDataStream.subscribe.signature
 * subscription per key (the REST listenKey streams for spot ended on
 * 2026-02-20). Requests carry increasing ids; each answer is matched to its
 * key by id, and a refusal (-1022 bad signature, -2015 bad key, ...) is the
 * key's error, with Binance's code and message, in its record; a refused
 * key is tried again after key_retry_ms. Events come wrapped
 * {"subscriptionId":n,"event":{...}} and are routed by subscriptionId:
 *
 *  - executionReport: NEW adds the order, PARTIALLY_FILLED (and TRADE on
 *    NEW) updates it, FILLED / CANCELED / EXPIRED / REJECTED /
 *    EXPIRED_IN_MATCH remove it;
 *  - listStatus: an order list whose listOrderStatus is ALL_DONE removes
 *    the orders it names;
 *  - outboundAccountPosition replaces the assets it lists (a zero asset
 *    goes); balanceUpdate adds its delta to one asset's free (not when
 *    free would go below zero: the outboundAccountPosition that follows
 *    says the balance); an asset whose name does not fit struct us_balance
 *    is left out and balances_truncated set;
 *  - eventStreamTerminated: the key is subscribed again.
 *
 * Once Binance has accepted a subscription, the key's REST snapshot is
 * taken (GET /api/v3/openOrders, then GET /api/v3/account, through
 * bnc_call: the budget hooks count them, and a held-back snapshot is tried
 * again after its wait). Events that arrive before the snapshot is applied
 * are buffered (up to UD_BUFFERED_MAX; beyond that the buffer is emptied: the
 * snapshot, taken after they came, reflects them) and applied after it.
 * Nothing is lost between the two, and nothing counts twice: an
 * executionReport carries the order's whole state and is applied unless
 * it is older than the record's view of that order (its updateTime); an
 * account event is applied when it is not older than the balances'
 * updateTime (balanceUpdate, a delta, only when newer).
 *
 * A lost connection comes back after an exponential backoff with jitter
 * (backoff_min_ms doubling up to backoff_max_ms, a random point in the
 * upper half); every key is subscribed again and snapshotted again. A
 * connection older than max_conn_age_ms is replaced (Binance cuts at 24 h).
 *
 * Nothing blocks but the REST snapshots (bnc_call is synchronous; the
 * stream's bytes wait in the socket meanwhile; at most one key's snapshot
 * a step) and no thread runs inside.
 * The module has its own epoll descriptor (ud_poll_fd), which the caller's
 * loop can watch (it is readable when the connection needs service); the
 * caller calls ud_step at least every 100 ms, for the timers.
 *
 * Secrets: each key's struct creds is copied in and wiped when the key is
 * removed or the module freed; signatures are computed with sign.h; no
 * secret is logged, published or kept anywhere else.
 */
#ifndef BINMCPD_USERDATA_H
#define BINMCPD_USERDATA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "creds.h"
#include "userstate.h"

#define UD_URL_MAX      256
#define UD_BUFFERED_MAX 1024 /* events held per key until its snapshot */

struct ud_config {
    char ws_api_url[UD_URL_MAX]; /* wss://.../ws-api/v3 or ws:// (tests) */
    char ca_file[UD_URL_MAX];    /* wss trust anchors; "" system trust */
    struct userstate *state;     /* the area; not owned */
    int64_t backoff_min_ms;      /* 1000 */
    int64_t backoff_max_ms;      /* 60000 */
    int64_t connect_timeout_ms;  /* connect, TLS and Upgrade: 10000 */
    int64_t max_conn_age_ms;     /* 23 h 30 min, less up to 10 min jitter */
    int64_t key_retry_ms;        /* a refused subscription: 60000 */
    int64_t answer_timeout_ms;   /* no answer to a request: reconnect, 10000 */
    long recv_window;            /* of the signed subscription: 5000 */
    const atomic_int *cancel;    /* non-zero aborts a REST snapshot in
                                    flight (the loop is stopping); may be
                                    NULL */
};

/* Fills c with the defaults above and the mainnet URL; state NULL. */
void ud_config_defaults(struct ud_config *c);

struct userdata;

/* A module on its own epoll descriptor (copies cfg; cfg->state must be
 * set). It connects when the first key comes. Returns it (ud_free), or
 * NULL with a sentence in err. */
struct userdata *ud_new(const struct ud_config *cfg, char *err, size_t errlen);

/* Follows the account of c (copied; the caller keeps and wipes its own).
 * The key's fingerprint goes to fp (may be NULL). A key already followed
 * keeps its subscription (its credentials are replaced). Returns the
 * key's slot in the area, or -1 with a sentence in err (no credentials,
 * every slot taken). */
int ud_add_key(struct userdata *u, const struct creds *c,
               char fp[US_FP_LEN + 1], char *err, size_t errlen);

/* Stops following fp: unsubscribes (when subscribed), wipes the
 * credentials and empties the key's record. Returns 0, or -1 when fp is
 * not followed. */
int ud_remove_key(struct userdata *u, const char *fp);

/* The epoll descriptor to watch (EPOLLIN). */
int ud_poll_fd(const struct userdata *u);

/* One turn: waits up to timeout_ms (capped at 100) for the connection,
 * applies what came, takes the snapshots due, (re)connects and
 * (re)subscribes when it is time, publishes the changed records. Returns
 * 0, or -1 when epoll failed. */
int ud_step(struct userdata *u, int timeout_ms);

/* Closes the connection (no handshake), wipes every key's credentials,
 * empties their records and frees u. u may be NULL. */
void ud_free(struct userdata *u);

struct ud_stats {
    unsigned long connects, reconnects;
    unsigned long subscribes, refusals, unsubscribes;
    unsigned long snapshots, snapshot_failures;
    unsigned long events, events_stale, messages, invalid;
    unsigned keys;
    int connected;
};

void ud_stats(const struct userdata *u, struct ud_stats *out);

/* ---- for tests and fuzzing: the module without a connection ---- */

/* Handles one WebSocket text message (len bytes; text[len] is a NUL, as
 * ws.h delivers it) as if it came from the connection: an answer to a
 * request or an event. Then publishes the records it changed, as ud_step
 * does. */
void ud_feed_message(struct userdata *u, const char *text, size_t len);

/* As if Binance had just accepted the subscription of fp's key as sid:
 * the key takes events of sid, buffered until ud_feed_snapshot (or the
 * snapshot ud_step would take). Returns 0, or -1 when fp is not followed. */
int ud_feed_subscribed(struct userdata *u, const char *fp, long long sid);

/* As if the REST snapshot of fp's key had answered open_orders (the body of
 * GET /api/v3/openOrders) and account (of GET /api/v3/account), both
 * borrowed: applies them, then the buffered events, and publishes.
 * Returns 0, or -1 when fp is not followed or is not waiting for its
 * snapshot (ud_feed_subscribed). */
int ud_feed_snapshot(struct userdata *u, const char *fp,
                     json_object *open_orders, json_object *account);

#endif
