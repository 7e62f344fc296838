/*
 * book.h - a local order book kept by Binance's documented algorithm
 * (diff-depth stream + REST snapshot).
 *
 *   1. Diff events (depthUpdate: U, u, b, a) are buffered until a snapshot
 *      (GET /api/v3/depth?limit=5000: lastUpdateId, bids, asks) is applied.
 *   2. A snapshot older than the first buffered event (lastUpdateId < its U)
 *      is refused: take another.
 *   3. Buffered and later events with u <= the book's update id are dropped;
 *      an event with U > update id + 1 means updates were missed (a gap):
 *      the book is unsynced, the resync counter grows, and a new snapshot is
 *      needed. The event that showed the gap starts the new buffer.
 *   4. Otherwise the event applies (quantity 0 removes a level, any other
 *      quantity replaces the level's) and the update id becomes its u. With
 *      events chained as Binance sends them (U = previous u + 1) the first
 *      applied event is the one that spans lastUpdateId + 1.
 *
 * Prices and quantities are exact decimals (decimal.h); levels are keyed by
 * price compared exactly, never through floating point. Each side holds at
 * most max_levels levels: a new level worse than a full side's worst is not
 * kept (as the snapshot's, levels far from the top are unknown until they
 * change); a better one pushes the worst out.
 *
 * A pure module: no I/O, no clock (the caller passes its time), no locking.
 * JSON comes in as text or as a json-c object borrowed for the call; every
 * field's type is checked before use, and a malformed event or snapshot is
 * refused whole, leaving the book as it was.
 */
#ifndef BINMCPD_BOOK_H
#define BINMCPD_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "decimal.h"

#define BOOK_MAX_LEVELS_DEFAULT 5000  /* per side, as the REST snapshot */
#define BOOK_MAX_BUFFERED       4096  /* diff events awaiting a snapshot */
#define BOOK_MAX_EVENT_LEVELS   20000 /* price levels in one event */
#define BOOK_SYMBOL_MAX         32

enum book_side { BOOK_BID, BOOK_ASK };

struct book_level {
    struct dec price, qty;
};

/* What a diff event or a snapshot did. */
enum book_result {
    BOOK_APPLIED,      /* the book moved forward */
    BOOK_BUFFERED,     /* kept until a snapshot comes */
    BOOK_STALE,        /* u <= the book's update id: dropped */
    BOOK_RESYNC,       /* a gap: the book is unsynced, take a snapshot */
    BOOK_OLD_SNAPSHOT, /* snapshot older than the buffered events: refused */
    BOOK_INVALID,      /* malformed, wrong symbol, or over a cap: refused */
    BOOK_NOMEM         /* out of memory: refused, book unchanged */
};

struct book;

/* A new, unsynced book for symbol (as Binance writes it, "BTCUSDT";
 * copied). max_levels 0 means BOOK_MAX_LEVELS_DEFAULT. Returns NULL when
 * out of memory or symbol is longer than BOOK_SYMBOL_MAX - 1. */
struct book *book_new(const char *symbol, size_t max_levels);

/* Frees the book and its buffer. b may be NULL. */
void book_free(struct book *b);

/* Feeds one depthUpdate event: text (len bytes, need not be
 * NUL-terminated), or a parsed object (borrowed: book_diff_obj takes no
 * reference). now_ms is the caller's clock, kept as the last update time.
 * On BOOK_INVALID or BOOK_NOMEM a sentence goes to err (err may be NULL). */
enum book_result book_diff_json(struct book *b, const char *text, size_t len,
                                int64_t now_ms, char *err, size_t errlen);
enum book_result book_diff_obj(struct book *b, json_object *ev, int64_t now_ms,
                               char *err, size_t errlen);

/* Applies a REST depth snapshot, then the buffered events it covers.
 * Returns BOOK_APPLIED (the book is synced, though it may still wait for
 * the event after lastUpdateId), BOOK_OLD_SNAPSHOT (take another; book and
 * buffer unchanged), BOOK_RESYNC (the buffered events after it leave a gap:
 * take another), BOOK_INVALID (err says why; book unchanged) or BOOK_NOMEM
 * (the book is unchanged, or, when memory ran out while the buffered events
 * were applied, unsynced: take another). */
enum book_result book_snapshot_json(struct book *b, const char *text,
                                    size_t len, int64_t now_ms, char *err,
                                    size_t errlen);
enum book_result book_snapshot_obj(struct book *b, json_object *snap,
                                   int64_t now_ms, char *err, size_t errlen);

/* Whether the book follows the stream (a snapshot applied and no gap since).
 * An unsynced book keeps its last levels, but they are not current. */
bool book_synced(const struct book *b);

/* The update id the book reflects (the snapshot's lastUpdateId or the last
 * applied u); 0 before the first snapshot. */
uint64_t book_update_id(const struct book *b);

/* Gaps seen since book_new (each needs one new snapshot). */
unsigned long book_resyncs(const struct book *b);

/* Events applied, dropped as stale, and buffered now. */
unsigned long book_applied(const struct book *b);
unsigned long book_dropped(const struct book *b);
size_t book_buffered(const struct book *b);

/* The activity of the applied diff events since the last call (or
 * book_new), then starts counting again: *changes gets the level entries
 * of their "b" and "a" arrays, *removed the base quantity they took off
 * the book (a decrease counts its difference, a removal the level's whole
 * quantity; a level the book did not hold counts nothing). Snapshots
 * count nothing. */
void book_take_activity(struct book *b, unsigned long *changes,
                        struct dec *removed);

/* now_ms of the last snapshot or applied event, and the last applied
 * event's own time E (0 when none). */
int64_t book_updated_ms(const struct book *b);
int64_t book_event_ms(const struct book *b);

/* Levels on a side. */
size_t book_depth(const struct book *b, enum book_side side);

/* The best level of a side into *out. Returns 0, or -1 when the side is
 * empty (out untouched). */
int book_best(const struct book *b, enum book_side side,
              struct book_level *out);

/* Copies the best n levels of a side (best first) into out (room for n).
 * Returns how many were copied. */
size_t book_top(const struct book *b, enum book_side side, size_t n,
                struct book_level *out);

#endif
