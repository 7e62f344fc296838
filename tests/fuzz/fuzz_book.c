/*
 * fuzz_book.c - libFuzzer harness of the local order book (book.h): REST
 * depth snapshots and depthUpdate events, as Binance (or whoever answers
 * in its place) sends them, in any order on one book, with the book's
 * promises checked after every step:
 *
 *  - each side is sorted best first, strictly (bids descending, asks
 *    ascending: no price twice), holds no zero price or quantity, and no
 *    more than max_levels levels; book_best is book_top's first level;
 *  - a refused document (BOOK_INVALID, BOOK_OLD_SNAPSHOT, BOOK_NOMEM on a
 *    synced book) leaves the levels and the update id as they were, and so
 *    does a buffered or stale event;
 *  - an applied event leaves the book synced with a larger update id; an
 *    applied snapshot leaves it synced; a gap leaves it unsynced.
 *
 * A crossed book (best bid >= best ask) is not checked: book.h keeps what
 * the exchange sends and promises nothing about it.
 *
 * Input: lines (split at '\n'), each one document, each copied to a buffer
 * of its exact size so that a read past it is caught. A first line "L<n>"
 * (n 1..99) makes a book of at most n levels a side (otherwise the
 * default, BOOK_MAX_LEVELS_DEFAULT). A line "S<json>" is a snapshot
 * (book_snapshot_json), any other line a diff event (book_diff_json).
 * Seeds: snapshots and events as the fake exchange and test_book.c write
 * them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "fuzzlib.h"

#define FUZZ_SYMBOL "BTCUSDT"

/* A copy of both sides, to tell whether a step changed them. */
struct sides {
    struct book_level *lv[2];
    size_t n[2];
    uint64_t update_id;
};

static void
sides_take(const struct book *b, struct sides *s)
{
    for (int side = BOOK_BID; side <= BOOK_ASK; side++) {
        size_t n = book_depth(b, (enum book_side)side);
        s->lv[side] = malloc((n ? n : 1) * sizeof(struct book_level));
        if (s->lv[side] == NULL)
            abort();
        s->n[side] = book_top(b, (enum book_side)side, n, s->lv[side]);
        if (s->n[side] != n)
            abort();
    }
    s->update_id = book_update_id(b);
}

static void
sides_free(struct sides *s)
{
    free(s->lv[BOOK_BID]);
    free(s->lv[BOOK_ASK]);
}

static bool
sides_equal(const struct sides *a, const struct sides *b)
{
    if (a->update_id != b->update_id)
        return false;
    for (int side = BOOK_BID; side <= BOOK_ASK; side++) {
        if (a->n[side] != b->n[side])
            return false;
        for (size_t i = 0; i < a->n[side]; i++)
            if (dec_cmp(&a->lv[side][i].price, &b->lv[side][i].price) != 0 ||
                dec_cmp(&a->lv[side][i].qty, &b->lv[side][i].qty) != 0)
                return false;
    }
    return true;
}

/* The promises about the levels themselves (see the top of the file). */
static void
check_sides(const struct book *b, const struct sides *s, size_t max_levels)
{
    for (int side = BOOK_BID; side <= BOOK_ASK; side++) {
        const struct book_level *lv = s->lv[side];
        struct book_level best;

        if (s->n[side] > max_levels)
            abort();
        if (book_best(b, (enum book_side)side, &best) < 0) {
            if (s->n[side] != 0)
                abort();
        } else if (s->n[side] == 0 || dec_cmp(&best.price, &lv[0].price) != 0 ||
                   dec_cmp(&best.qty, &lv[0].qty) != 0) {
            abort();
        }
        for (size_t i = 0; i < s->n[side]; i++) {
            if (dec_is_zero(&lv[i].qty) || dec_is_zero(&lv[i].price))
                abort();
            if (i > 0) {
                int c = dec_cmp(&lv[i - 1].price, &lv[i].price);
                if (side == BOOK_BID ? c <= 0 : c >= 0)
                    abort();
            }
        }
    }
}

/* One document on the book, then the checks. */
static void
step(struct book *b, const uint8_t *line, size_t len, size_t max_levels,
     int64_t now)
{
    bool snap = len > 0 && line[0] == 'S';
    struct sides before, after;
    size_t buffered = book_buffered(b);
    bool synced = book_synced(b);
    enum book_result r;
    char err[256];
    char *text;

    if (snap) {
        line++;
        len--;
    }
    text = malloc(len ? len : 1); /* exactly len: no NUL after it */
    if (text == NULL)
        abort();
    if (len > 0)
        memcpy(text, line, len);
    sides_take(b, &before);
    err[0] = '\0';
    r = snap ? book_snapshot_json(b, text, len, now, err, sizeof(err))
             : book_diff_json(b, text, len, now, err, sizeof(err));
    free(text);
    sides_take(b, &after);
    check_sides(b, &after, max_levels);
    switch (r) {
    case BOOK_APPLIED:
        if (!book_synced(b) || (!snap && book_update_id(b) <= before.update_id))
            abort();
        break;
    case BOOK_BUFFERED:
        if (snap || synced || book_synced(b) ||
            book_buffered(b) > BOOK_MAX_BUFFERED ||
            (buffered < BOOK_MAX_BUFFERED &&
             book_buffered(b) != buffered + 1) ||
            !sides_equal(&before, &after))
            abort();
        break;
    case BOOK_STALE:
        if (snap || !synced || !book_synced(b) || !sides_equal(&before, &after))
            abort();
        break;
    case BOOK_RESYNC:
        if (book_synced(b))
            abort();
        break;
    case BOOK_INVALID:
    case BOOK_OLD_SNAPSHOT:
        if ((r == BOOK_INVALID && err[0] == '\0') || book_synced(b) != synced ||
            book_buffered(b) != buffered || !sides_equal(&before, &after))
            abort();
        break;
    case BOOK_NOMEM:
        break; /* the fuzzer's malloc does not fail */
    }
    sides_free(&before);
    sides_free(&after);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_levels = BOOK_MAX_LEVELS_DEFAULT, off = 0;
    struct book *b;
    int64_t now = 1700000000000;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    /* "L<n>\n": a small book, so that full sides push levels out */
    if (size >= 3 && data[0] == 'L' && data[1] >= '1' && data[1] <= '9') {
        size_t n = (size_t)(data[1] - '0'), i = 2;
        if (data[i] >= '0' && data[i] <= '9')
            n = n * 10 + (size_t)(data[i++] - '0');
        if (i < size && data[i] == '\n') {
            max_levels = n;
            off = i + 1;
        }
    }
    if ((b = book_new(FUZZ_SYMBOL, max_levels)) == NULL)
        abort();
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        step(b, data + off, len, max_levels, now++);
        off += len + 1;
    }
    book_free(b);
    return 0;
}
