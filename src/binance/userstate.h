/*
 * userstate.h - the user-data area: open orders and balances of every
 * account the daemon follows (its own credentials, and each live session's),
 * in shared memory beside the market segment, written by the one process
 * that holds the user data streams (userdata.h) and read by every worker
 * without a system call.
 *
 * The area is made before fork (shm_map) and holds one fixed-size slot per
 * followed key (US_KEYS_DEFAULT, at most US_KEYS_MAX). A slot is named by
 * the key's fingerprint (us_fingerprint: a hash of the environment and the
 * API key; the area never holds a key or a secret) and carries one
 * struct us_record under a seqlock: the writer makes the sequence odd,
 * copies its record in, makes it even; a reader copies and retries while
 * the sequence was odd or moved (bounded: US_READ_TRIES, then EAGAIN; a
 * writer that died mid-write is repaired by us_writer_recover).
 *
 * Each change bumps the record's generation, and orders_gen or
 * balances_gen with it, so a worker that remembers them can tell which of
 * binance://orders/open and binance://account/balances to announce.
 * us_read_head copies only the part before the arrays: cheap enough to
 * poll.
 *
 * Numbers are units of 10^-8 (MARKET_SCALE, market.h: market_format gives
 * the decimal text back). Times are Binance's, ms since the epoch.
 *
 * Layer src/binance/: includes the common ground and its own folder.
 */
#ifndef BINMCPD_USERSTATE_H
#define BINMCPD_USERSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "creds.h"

#define US_KEYS_DEFAULT 64
#define US_KEYS_MAX     1000 /* subscriptions Binance allows a connection */
#define US_FP_LEN       16   /* hex digits of a key fingerprint */
#define US_ORDERS_MAX   200  /* open orders kept per key (MAX_NUM_ORDERS) */
#define US_BALANCES_MAX 128  /* non-zero assets kept per key */
#define US_ERROR_MAX    160
#define US_READ_TRIES   10000

/* A record's life, as the writer sees it. */
enum us_status {
    US_EMPTY = 0,   /* no key in this slot */
    US_CONNECTING,  /* the WebSocket API connection is not open */
    US_SUBSCRIBING, /* subscription request sent, answer awaited */
    US_SNAPSHOT,    /* subscribed; the REST snapshot is not taken yet */
    US_LIVE,        /* snapshot taken, events follow it */
    US_FAILED       /* Binance refused the subscription: see error */
};

/* An open order: the fields get_open_orders returns. */
struct us_order {
    char symbol[24];
    char client_order_id[40];        /* Binance allows 36 */
    char side[8];                    /* BUY, SELL */
    char type[24];                   /* LIMIT, STOP_LOSS_LIMIT, ... */
    char time_in_force[8];           /* GTC, IOC, FOK */
    char status[24];                 /* NEW, PARTIALLY_FILLED, PENDING_NEW */
    char stp_mode[24];               /* selfTradePreventionMode */
    int64_t order_id, order_list_id; /* order_list_id -1: none */
    int64_t price, orig_qty, executed_qty, cum_quote_qty;
    int64_t stop_price, iceberg_qty, orig_quote_qty;
    int64_t time_ms, update_ms, working_ms; /* working_ms 0: not yet */
    int32_t is_working;
    int32_t pad;
};

struct us_balance {
    char asset[16];
    int64_t free, locked;
};

/* What us_read copies. The head (up to orders) is what us_read_head
 * copies. */
struct us_record {
    char fp[US_FP_LEN + 1];   /* "" when the slot is empty */
    char key_masked[16];      /* creds_mask of the API key */
    int32_t env;              /* enum bnc_env */
    int32_t status;           /* enum us_status */
    int32_t connected;        /* the WebSocket API connection is open */
    int32_t orders_truncated; /* more than US_ORDERS_MAX open: some missing */
    int32_t balances_truncated;
    uint64_t generation;       /* grows with every change of anything here */
    uint64_t orders_gen;       /* grows when the open orders change */
    uint64_t balances_gen;     /* grows when the balances change */
    int64_t since_ms;          /* the key came (local clock) */
    int64_t live_since_ms;     /* the last snapshot was applied (local) */
    int64_t last_event_ms;     /* Binance's E of the last event applied */
    int64_t account_update_ms; /* the balances' updateTime (Binance) */
    uint64_t events;           /* events applied */
    uint32_t snapshots;        /* REST snapshots taken */
    uint32_t subscribes;       /* subscriptions Binance accepted */
    int32_t error_code;        /* Binance's code of the last error, 0: none */
    int32_t pad;
    char error[US_ERROR_MAX]; /* the last error, a sentence; "" none */
    int64_t error_ms;
    uint32_t norders, nbalances;
    struct us_order orders[US_ORDERS_MAX];       /* by order_id, ascending */
    struct us_balance balances[US_BALANCES_MAX]; /* by asset */
};

struct userstate;

/* Maps an area of nkeys slots (0: US_KEYS_DEFAULT; at most US_KEYS_MAX)
 * before fork. Returns it (us_destroy in each process that keeps it), or
 * NULL with a sentence in err. */
struct userstate *us_create(unsigned nkeys, char *err, size_t errlen);

/* Unmaps the area (this process's view). u may be NULL. */
void us_destroy(struct userstate *u);

unsigned us_slots(const struct userstate *u);

/* The fingerprint of an API key on env: the first US_FP_LEN hex digits of
 * SHA-256("<env name>\n<key>"). Never the secret. Returns 0, or -1 (out is
 * then ""). */
int us_fingerprint(const char *api_key, enum bnc_env env,
                   char out[US_FP_LEN + 1]);

/* ---- readers (any process) ---- */

/* The slot holding fp, or -1. */
int us_find(const struct userstate *u, const char *fp);

/* Copies slot's whole record (us_read) or its head, everything before
 * norders' arrays (us_read_head: norders and nbalances included), into
 * *out, consistent. Returns 0, or -1 with errno EINVAL (no such slot) or
 * EAGAIN (the writer stayed mid-write for US_READ_TRIES tries). Compare
 * out->fp: a slot may have been given to another key. */
int us_read(const struct userstate *u, int slot, struct us_record *out);
int us_read_head(const struct userstate *u, int slot, struct us_record *out);

/* Says that a reader still needs slot's key followed (a lease: the writer
 * may stop following a key nobody touched for a while, us_wanted_ms). One
 * relaxed store; any process. */
void us_touch(struct userstate *u, int slot, int64_t now_ms);

/* The time of slot's last us_touch (0: never). */
int64_t us_wanted_ms(const struct userstate *u, int slot);

/* ---- the writer (one process) ---- */

/* A free slot for fp (or the one already holding it), now holding an
 * empty record named fp. Returns the slot, or -1 with errno ENOSPC. */
int us_claim(struct userstate *u, const char *fp);

/* Replaces slot's record with *rec (one seqlocked write). */
void us_publish(struct userstate *u, int slot, const struct us_record *rec);

/* Empties slot (readers then see fp ""). */
void us_release(struct userstate *u, int slot);

/* A new writer's first call: ends a write a dead writer left half done,
 * and marks every record not connected. */
void us_writer_recover(struct userstate *u);

const char *us_status_name(enum us_status s);

#endif
