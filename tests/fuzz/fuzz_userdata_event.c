/*
 * fuzz_userdata_event.c - libFuzzer harness of the user data stream's
 * message handling (userdata.c): the WebSocket API's answers and the
 * events it forwards (executionReport, listStatus,
 * outboundAccountPosition, balanceUpdate, eventStreamTerminated), and the
 * REST snapshot they are applied over, fed through userdata.h's entry
 * points for tests (ud_feed_message, ud_feed_subscribed, ud_feed_snapshot)
 * with no connection.
 *
 * Per input two keys are followed (A, subscription 0, as Binance numbers
 * its first; B, subscription 1) and removed at the end. After every step
 * both records are read back from the area as a worker reads them and
 * checked:
 *
 *  - norders <= US_ORDERS_MAX, orders strictly ascending by order_id (no
 *    id twice), no negative id;
 *  - nbalances <= US_BALANCES_MAX, balances strictly ascending by asset
 *    (no asset twice), no empty asset, no zero balance kept, no negative
 *    amount (market_format, which the readers use, takes none);
 *  - every string NUL-terminated in its array;
 *  - the generations never go back;
 *  - no answer subscribes or refuses a key: without a connection no
 *    request is on its way.
 *
 * Input: lines (split at '\n'). "S<json>" or "T<json>" is key A's or B's
 * snapshot: {"openOrders": <body of GET /api/v3/openOrders>, "account":
 * <body of GET /api/v3/account>}; before it, the key's events wait in its
 * buffer. Any other line is one WebSocket text message. Seeds: the fake
 * exchange's messages (tests/fakex_ws.c) and Binance's documented ones.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "userdata.h"
#include "userstate.h"

#define NKEYS 2

static struct userstate *area;
static struct userdata *ud;
static struct creds keys[NKEYS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct ud_config cfg;
    char err[256];

    (void)argc;
    (void)argv;
    fuzz_quiet();
    if ((area = us_create(NKEYS, err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_userdata_event: %s\n", err);
        abort();
    }
    ud_config_defaults(&cfg);
    cfg.state = area;
    if ((ud = ud_new(&cfg, err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_userdata_event: %s\n", err);
        abort();
    }
    for (int i = 0; i < NKEYS; i++) {
        keys[i].set = 1;
        keys[i].env = BNC_ENV_MAINNET;
        keys[i].type = SIGN_KEY_HMAC;
        snprintf(keys[i].key, sizeof(keys[i].key),
                 "FuzzKey%dvmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco1"
                 "4y7Ju91duEh8A",
                 i);
        snprintf(keys[i].secret, sizeof(keys[i].secret),
                 "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5"
                 "fATj0j");
    }
    return 0;
}

static bool
terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

#define TERMINATED(field) terminated((field), sizeof(field))

/* The promises about one record (see the top of the file). */
static void
check_record(const struct us_record *r, const struct us_record *before)
{
    if (!TERMINATED(r->fp) || !TERMINATED(r->key_masked) ||
        !TERMINATED(r->error) || r->norders > US_ORDERS_MAX ||
        r->nbalances > US_BALANCES_MAX)
        abort();
    if (r->generation < before->generation ||
        r->orders_gen < before->orders_gen ||
        r->balances_gen < before->balances_gen)
        abort();
    for (uint32_t i = 0; i < r->norders; i++) {
        const struct us_order *o = &r->orders[i];
        if (!TERMINATED(o->symbol) || !TERMINATED(o->client_order_id) ||
            !TERMINATED(o->side) || !TERMINATED(o->type) ||
            !TERMINATED(o->time_in_force) || !TERMINATED(o->status) ||
            !TERMINATED(o->stp_mode) || o->order_id < 0 ||
            (i > 0 && r->orders[i - 1].order_id >= o->order_id))
            abort();
    }
    for (uint32_t i = 0; i < r->nbalances; i++) {
        const struct us_balance *b = &r->balances[i];
        if (!TERMINATED(b->asset) || b->asset[0] == '\0' || b->free < 0 ||
            b->locked < 0 || (b->free == 0 && b->locked == 0) ||
            (i > 0 && strcmp(r->balances[i - 1].asset, b->asset) >= 0))
            abort();
    }
}

/* Reads both records back and checks them against the previous ones. */
static void
check_all(const int *slot, struct us_record *rec, const struct ud_stats *st0)
{
    static struct us_record now; /* large: not on the stack */
    struct ud_stats st;

    for (int i = 0; i < NKEYS; i++) {
        if (us_read(area, slot[i], &now) < 0)
            abort();
        check_record(&now, &rec[i]);
        rec[i] = now;
    }
    ud_stats(ud, &st);
    if (st.subscribes != st0->subscribes || st.refusals != st0->refusals)
        abort();
}

/* "S"/"T" + {"openOrders": [...], "account": {...}}: a snapshot. */
static void
snapshot(const char *fp, const uint8_t *line, size_t len)
{
    json_object *o = fuzz_json(line, len), *orders = NULL, *account = NULL;

    if (o == NULL)
        return;
    (void)json_object_object_get_ex(o, "openOrders", &orders);
    (void)json_object_object_get_ex(o, "account", &account);
    (void)ud_feed_snapshot(ud, fp, orders, account);
    json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct us_record rec[NKEYS];
    char fp[NKEYS][US_FP_LEN + 1], err[256];
    int slot[NKEYS];
    struct ud_stats st0;
    size_t off = 0;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    for (int i = 0; i < NKEYS; i++) {
        if ((slot[i] = ud_add_key(ud, &keys[i], fp[i], err, sizeof(err))) < 0 ||
            ud_feed_subscribed(ud, fp[i], i) < 0) {
            fprintf(stderr, "fuzz_userdata_event: %s\n", err);
            abort();
        }
        memset(&rec[i], 0, sizeof(rec[i]));
    }
    ud_stats(ud, &st0);
    check_all(slot, rec, &st0);
    while (off < size) {
        const uint8_t *line = data + off, *nl;
        size_t len;

        nl = memchr(line, '\n', size - off);
        len = nl ? (size_t)(nl - line) : size - off;
        off += len + 1;
        if (len > 0 && (line[0] == 'S' || line[0] == 'T')) {
            snapshot(fp[line[0] == 'S' ? 0 : 1], line + 1, len - 1);
        } else {
            char *text = fuzz_strndup(line, len); /* NUL at len, as ws.h */
            ud_feed_message(ud, text, len);
            free(text);
        }
        check_all(slot, rec, &st0);
    }
    for (int i = 0; i < NKEYS; i++)
        if (ud_remove_key(ud, fp[i]) < 0)
            abort();
    return 0;
}
