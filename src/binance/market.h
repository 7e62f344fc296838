/*
 * market.h - the market state every process reads: one shared-memory
 * segment, written by the feed process alone (feed.h), read by every worker
 * without a system call.
 *
 * The segment is made before fork (shm_map) and holds one fixed-size slot
 * per tracked symbol (max_tracked_symbols, default 50). A slot has three
 * parts, each with its own rule:
 *
 *  - the request area: a worker claims a free slot for a symbol, or finds
 *    the slot already tracking it, and stamps the time it last asked
 *    (market_request). Claims and drops take the segment's robust mutex
 *    (uncontended: no system call); the stamp is an atomic store. The feed
 *    drops a symbol nobody asked for within feed_idle (market_drop_idle).
 *  - the state (struct market_state): a seqlock. The feed makes the
 *    sequence odd, writes, makes it even; a reader copies the whole state
 *    and retries while the sequence was odd or moved (bounded: a writer that
 *    died mid-write costs a reader MARKET_READ_TRIES tries, then EAGAIN;
 *    the next feed repairs the slot with market_writer_recover).
 *  - two rings (the last MARKET_TRADES aggTrades, the last MARKET_SAMPLES
 *    one-per-second book samples): an ever-growing write index; the feed
 *    announces the entry it is about to overwrite before writing it, so a
 *    reader knows which of the entries it copied may be torn and drops them.
 *
 * Numbers are scaled integers: int64 units of 10^-8 (MARKET_SCALE), which is
 * the precision of every price and quantity on Binance Spot (its REST and
 * stream payloads always carry 8 decimals). So a price of 50000.01 is
 * 5000001000000, and two equal values have equal integers. A value with more
 * than 8 decimals, or above INT64_MAX / 10^8 (about 9.2e10), cannot be
 * written: the feed skips it and says so in the slot's last_error.
 * market_format and market_to_dec give the exact decimal back.
 *
 * Times are wall-clock milliseconds since the epoch (Binance's clock for
 * event times, this host's for the rest).
 *
 * Layer src/binance/: includes only the common ground.
 */
#ifndef BINMCPD_MARKET_H
#define BINMCPD_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decimal.h"

#define MARKET_SYMBOLS_DEFAULT 50   /* max_tracked_symbols */
#define MARKET_SYMBOLS_MAX     256  /* 4 streams each: one connection's 1024 */
#define MARKET_SYMBOL_MAX      32   /* bytes, with the NUL */
#define MARKET_LEVELS          100  /* levels a side in a slot's state */
#define MARKET_TRADES          4096 /* aggTrades a slot's ring keeps */
#define MARKET_SAMPLES         600  /* one-second book samples kept */
#define MARKET_SAMPLE_DEPTH    10   /* levels summed into a sample's depth */
#define MARKET_SAMPLE_LEVELS   10   /* levels a side kept in a sample */
#define MARKET_ERROR_MAX       160
#define MARKET_SCALE           8
#define MARKET_UNIT            100000000LL /* 10^MARKET_SCALE */
#define MARKET_READ_TRIES      10000

/* A slot's life, as the feed sees it. */
enum market_status {
    MARKET_EMPTY = 0, /* no symbol (or not yet picked up by the feed) */
    MARKET_TRACKING,  /* picked up: streams asked for, nothing yet */
    MARKET_SYNCING,   /* streams flow; the book awaits its snapshot */
    MARKET_LIVE,      /* the book follows the stream */
    MARKET_STALE      /* connection lost or book in doubt: last values kept */
};

struct market_level {
    int64_t price, qty; /* units of 10^-8 */
};

struct market_trade {
    int64_t time_ms; /* the trade time T (first: the rings order by it) */
    int64_t price, qty;
    int64_t agg_id;
    int64_t buyer_maker; /* 1 when the buyer was the maker (a sell) */
};

/* One second of the book, as the feed sampled it when the second closed.
 * A sample keeps the best MARKET_SAMPLE_LEVELS levels a side, not the 20 of
 * the original's snapshots: a sample is 408 bytes, a slot's 600 of them
 * 239 KiB, and a slot 412,544 bytes (403 KiB; 201 KiB before the levels),
 * so the default 50 slots map 19.7 MiB and 256 slots 101 MiB (a slot's
 * pages are touched only as it fills). The analyses that read them
 * (tools/analytics.h) take up to 20 and work with what they get. The
 * activity counters cover the second that closed. */
struct market_sample {
    int64_t time_ms; /* the second it closes */
    int64_t bid, bid_qty, ask, ask_qty;
    int64_t bid_depth, ask_depth; /* quantity in the best SAMPLE_DEPTH levels */
    int64_t updates;              /* depth events applied in that second */
    int64_t level_changes; /* entries of those events' "b" and "a" arrays */
    int64_t removed_qty;   /* base quantity they took off the book: a
                              decrease its difference, a removal the whole
                              level (10^-8 units; levels the book did not
                              hold are not counted) */
    uint32_t nbids, nasks; /* levels below, best first */
    struct market_level bids[MARKET_SAMPLE_LEVELS];
    struct market_level asks[MARKET_SAMPLE_LEVELS];
};

struct market_kline { /* the current 1 m kline (kline_1m stream) */
    int64_t open_ms, close_ms;
    int64_t open, high, low, close, volume, quote_volume; /* 10^-8 units */
    int64_t trades;
    int64_t closed; /* 1 when this kline is final */
};

/* A slot's state: what market_read copies. */
struct market_state {
    char symbol[MARKET_SYMBOL_MAX]; /* "BTCUSDT"; "" when empty */
    uint32_t generation; /* grows each time the slot takes a symbol */
    int32_t status;      /* enum market_status */
    int32_t ws_connected;
    int32_t has_change_24h; /* 0: not derivable from these streams yet */
    int64_t change_24h_bps; /* when has_change_24h */
    int64_t tracked_since_ms;
    /* the best levels: the local book's when it is synced, else the
     * bookTicker's (best_from_ticker 1) */
    struct market_level best_bid, best_ask;
    int32_t best_from_ticker;
    /* the bookTicker stream as it came (fresher than the 100 ms diffs) */
    struct market_level ticker_bid, ticker_ask;
    int64_t ticker_update_id, ticker_ms;
    /* the local book's best levels, best first */
    uint32_t nbids, nasks;
    struct market_level bids[MARKET_LEVELS], asks[MARKET_LEVELS];
    uint64_t book_update_id;        /* lastUpdateId / last applied u */
    int64_t book_updated_ms;        /* local time of the last change */
    int64_t book_event_ms;          /* the last applied event's E */
    uint64_t book_events;           /* depth events applied */
    double updates_per_s;           /* applied events, over the last 10 s */
    uint32_t resyncs;               /* gaps seen (each needed a snapshot) */
    uint32_t snapshots;             /* REST snapshots taken */
    struct market_trade last_trade; /* time_ms 0 until one */
    uint64_t trades_seen;
    struct market_kline kline; /* open_ms 0 until one */
    char last_error[MARKET_ERROR_MAX];
    int64_t last_error_ms;
};

/* The feed's connection, for every reader (a seqlock of its own). */
struct market_feed_info {
    int32_t pid;
    int32_t ws_connected;
    int64_t heartbeat_ms; /* the feed's loop last ran */
    int64_t connected_since_ms;
    uint64_t connects, reconnects, planned_reconnects;
    uint32_t streams; /* subscribed on the connection */
};

struct market;

/* Maps a segment of nslots slots (0: MARKET_SYMBOLS_DEFAULT; at most
 * MARKET_SYMBOLS_MAX) before fork. Returns it (the caller destroys it with
 * market_destroy, in each process that keeps it), or NULL with a sentence
 * in err. */
struct market *market_create(unsigned nslots, char *err, size_t errlen);

/* Unmaps the segment (this process's view). m may be NULL. */
void market_destroy(struct market *m);

/* The segment's size in bytes, and its slot count. */
size_t market_size(const struct market *m);
unsigned market_slots(const struct market *m);

/* ---- worker side ---- */

/* Asks for symbol (Binance's spelling, "BTCUSDT": A-Z and 0-9, 1 to 31
 * characters) to be tracked, now and for feed_idle from now_ms: finds its
 * slot or claims a free one. Returns the slot, or -1 with errno EINVAL
 * (malformed symbol), ENOSPC (every slot is taken) or EIO (the segment's
 * mutex is unusable). Call it at every use: the stamp keeps the symbol
 * tracked. The feed picks a new claim up on its next turn. */
int market_request(struct market *m, const char *symbol, int64_t now_ms);

/* The slot tracking symbol, or -1 (no claim, no stamp). */
int market_find(struct market *m, const char *symbol);

/* A number that changes whenever slot is written (its sequence): cheap
 * enough to poll. 0 for no such slot. */
uint64_t market_version(const struct market *m, int slot);

/* Copies slot's state into *out, consistent (all fields from one write).
 * Returns 0, or -1 with errno EINVAL (no such slot) or EAGAIN (the writer
 * stayed mid-write for MARKET_READ_TRIES tries). A slot may have been given
 * to another symbol since market_request: compare out->symbol. */
int market_read(const struct market *m, int slot, struct market_state *out);

/* Copies the aggTrades of slot with time_ms >= since_ms, oldest first, into
 * out (room for max): the newest max of them when there are more. Only the
 * current generation's (the slot's present symbol). Returns the count, or
 * -1 with errno EINVAL. */
long market_trades_since(const struct market *m, int slot, int64_t since_ms,
                         struct market_trade *out, size_t max);

/* The same for the one-second samples. */
long market_samples_since(const struct market *m, int slot, int64_t since_ms,
                          struct market_sample *out, size_t max);

/* Copies the feed's connection info (all zero while a feed that died
 * mid-write has not been replaced). A heartbeat_ms far behind the clock
 * means the feed is not running: answer from REST. */
void market_feed_info(const struct market *m, struct market_feed_info *out);

/* ---- feed side (one writer process) ---- */

/* What the request area says of a slot: the symbol wanted ("" when free),
 * the time a reader last asked, and the claim count (grows with every new
 * claim, so a feed can tell a slot given to another symbol). Returns 0, or
 * -1 when slot is out of range. */
int market_wanted(struct market *m, int slot, char *symbol, size_t len,
                  int64_t *last_read_ms, uint32_t *claim);

/* A counter every claim increments: the feed rescans the slots when it
 * moved. */
uint32_t market_claims(const struct market *m);

/* Frees slot when nobody asked for it since now_ms - idle_ms and its claim
 * is still claim. Returns 1 when it was freed, 0 when a reader still cares
 * (or it was re-claimed), -1 on error. The caller stops tracking it first
 * and clears its state with market_writer_reset. */
int market_drop_idle(struct market *m, int slot, uint32_t claim,
                     int64_t idle_ms, int64_t now_ms);

/* Begins a write of slot's state: returns the state to change in place
 * (odd sequence: readers retry until market_write_end). Only one process
 * writes; begin/end do not nest. NULL when slot is out of range. */
struct market_state *market_write_begin(struct market *m, int slot);
void market_write_end(struct market *m, int slot);

/* Gives slot to symbol (or "" to empty it): a new generation, a cleared
 * state with status (MARKET_TRACKING or MARKET_EMPTY), and rings that
 * start empty for readers. */
void market_writer_reset(struct market *m, int slot, const char *symbol,
                         enum market_status status, int64_t now_ms);

/* Appends to slot's rings. */
void market_push_trade(struct market *m, int slot,
                       const struct market_trade *t);
void market_push_sample(struct market *m, int slot,
                        const struct market_sample *s);

/* A new feed process's first call: ends a write a dead feed left half done
 * (its slot keeps the last values, status STALE) and marks every slot not
 * connected. */
void market_writer_recover(struct market *m, int64_t now_ms);

/* Sets the feed's connection info (the writer's copy replaces it). */
void market_set_feed_info(struct market *m,
                          const struct market_feed_info *info);

/* ---- numbers ---- */

/* d in units of 10^-8 into *out. Returns 0, or -1 when d has more than 8
 * decimals or does not fit (out untouched). */
int market_from_dec(const struct dec *d, int64_t *out);

/* The exact decimal of v (v >= 0). */
void market_to_dec(int64_t v, struct dec *out);

/* v as plain decimal text, trailing zeros trimmed ("50000.01"). Returns
 * buf (DEC_STR_MAX bytes). */
const char *market_format(int64_t v, char buf[DEC_STR_MAX]);

/* Binance's decimal text into units of 10^-8. Returns 0 or -1. */
int market_parse(const char *text, int64_t *out);

const char *market_status_name(enum market_status s);

#endif
