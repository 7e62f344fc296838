/*
 * book.c - the local order book (see book.h for the algorithm).
 *
 * Each side is an array sorted best first (bids descending, asks
 * ascending) searched by bisection: a price is found by exact decimal
 * comparison. Room for an event's new levels is reserved before any of it
 * applies, so an event applies whole or not at all.
 */
#include "config.h"

#include "book.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A parsed diff event. */
struct book_event {
    uint64_t first, last; /* U, u */
    int64_t time;         /* E */
    size_t nbids, nasks;
    struct book_level *lv; /* bids, then asks; owned */
};

struct book_side_arr {
    struct book_level *lv;
    size_t n, cap;
};

struct book {
    char symbol[BOOK_SYMBOL_MAX];
    size_t max_levels;
    struct book_side_arr side[2];
    bool synced;
    uint64_t update_id;
    unsigned long resyncs, applied, dropped;
    /* activity since the last book_take_activity: level entries of the
     * applied events, and the quantity they took off the book */
    unsigned long changes;
    struct dec removed;
    int64_t updated_ms, event_ms;
    struct book_event *buf; /* awaiting a snapshot, oldest first */
    size_t nbuf, capbuf;
};

struct book *
book_new(const char *symbol, size_t max_levels)
{
    struct book *b;

    if (symbol == NULL || strlen(symbol) >= BOOK_SYMBOL_MAX)
        return NULL;
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return NULL;
    memcpy(b->symbol, symbol, strlen(symbol) + 1);
    b->max_levels = max_levels ? max_levels : BOOK_MAX_LEVELS_DEFAULT;
    return b;
}

static void
event_free(struct book_event *e)
{
    free(e->lv);
    e->lv = NULL;
}

static void
buffer_clear(struct book *b)
{
    for (size_t i = 0; i < b->nbuf; i++)
        event_free(&b->buf[i]);
    b->nbuf = 0;
}

void
book_free(struct book *b)
{
    if (b == NULL)
        return;
    buffer_clear(b);
    free(b->buf);
    free(b->side[BOOK_BID].lv);
    free(b->side[BOOK_ASK].lv);
    free(b);
}

/* ------------------------------------------------------------------ */
/* Sides                                                               */

/* Whether price a ranks before price b on the side. */
static int
better(enum book_side side, const struct dec *a, const struct dec *b)
{
    int c = dec_cmp(a, b);
    return side == BOOK_BID ? c > 0 : c < 0;
}

/* The index of price on the side, or where it would go; *found tells. */
static size_t
side_find(const struct book_side_arr *s, enum book_side side,
          const struct dec *price, bool *found)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (better(side, &s->lv[mid].price, price))
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->n && dec_cmp(&s->lv[lo].price, price) == 0;
    return lo;
}

/* Makes room for want levels (capped at max). Returns 0 or -1. */
static int
side_reserve(struct book_side_arr *s, size_t want, size_t max)
{
    struct book_level *p;
    size_t cap;

    if (want > max)
        want = max;
    if (want <= s->cap)
        return 0;
    cap = s->cap ? s->cap : 64;
    while (cap < want)
        cap *= 2;
    if (cap > max)
        cap = max;
    if ((p = realloc(s->lv, cap * sizeof(*p))) == NULL)
        return -1;
    s->lv = p;
    s->cap = cap;
    return 0;
}

/* Adds what leaves a level (its quantity from old to new, when new is
 * smaller) to *removed; a sum that no longer fits stops growing. */
static void
count_removed(struct dec *removed, const struct dec *old, const struct dec *new)
{
    struct dec diff, sum;

    if (removed == NULL || dec_cmp(new, old) >= 0 ||
        dec_sub(old, new, &diff) < 0 || dec_add(removed, &diff, &sum) < 0)
        return;
    *removed = sum;
}

/* Sets (qty > 0) or removes (qty 0) a level. Room is reserved. What it
 * takes off the book is added to *removed (may be NULL). */
static void
side_set(struct book_side_arr *s, enum book_side side, size_t max,
         const struct book_level *l, struct dec *removed)
{
    bool found;
    size_t i = side_find(s, side, &l->price, &found);

    if (dec_is_zero(&l->qty)) {
        if (found) {
            count_removed(removed, &s->lv[i].qty, &l->qty);
            memmove(&s->lv[i], &s->lv[i + 1],
                    (s->n - i - 1) * sizeof(s->lv[0]));
            s->n--;
        }
        return;
    }
    if (found) {
        count_removed(removed, &s->lv[i].qty, &l->qty);
        s->lv[i].qty = l->qty;
        return;
    }
    if (s->n == max) {
        if (i == s->n)
            return; /* worse than the worst of a full side */
        s->n--;     /* the worst goes */
    }
    assert(s->n < s->cap);
    memmove(&s->lv[i + 1], &s->lv[i], (s->n - i) * sizeof(s->lv[0]));
    s->lv[i] = *l;
    s->n++;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/* A non-negative integer member. Returns 0 or -1. */
static int
get_u64(json_object *o, const char *key, uint64_t *out)
{
    json_object *v;
    int64_t n;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_int))
        return -1;
    n = json_object_get_int64(v);
    if (n < 0)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

/* Parses an array of [price, qty] string pairs into lv. Returns 0 or -1
 * with err. */
static int
levels_parse(json_object *arr, const char *name, struct book_level *lv,
             char *err, size_t errlen)
{
    size_t n = json_object_array_length(arr);

    for (size_t i = 0; i < n; i++) {
        json_object *pair = json_object_array_get_idx(arr, i), *p, *q;
        if (!json_object_is_type(pair, json_type_array) ||
            json_object_array_length(pair) != 2 ||
            !json_object_is_type(p = json_object_array_get_idx(pair, 0),
                                 json_type_string) ||
            !json_object_is_type(q = json_object_array_get_idx(pair, 1),
                                 json_type_string)) {
            errf(err, errlen, "%s[%zu] is not a [\"price\", \"qty\"] pair",
                 name, i);
            return -1;
        }
        if (dec_parse(json_object_get_string(p), &lv[i].price) < 0 ||
            dec_parse(json_object_get_string(q), &lv[i].qty) < 0 ||
            dec_is_zero(&lv[i].price)) {
            errf(err, errlen, "%s[%zu] holds a malformed decimal", name, i);
            return -1;
        }
    }
    return 0;
}

/* The two level arrays of an event or snapshot, into one allocation
 * *lv (bids first). Returns BOOK_APPLIED or a failure with err. */
static enum book_result
sides_parse(json_object *o, const char *bkey, const char *akey,
            struct book_level **lv, size_t *nb, size_t *na, char *err,
            size_t errlen)
{
    json_object *bids, *asks;

    *lv = NULL;
    if (!json_object_object_get_ex(o, bkey, &bids) ||
        !json_object_is_type(bids, json_type_array) ||
        !json_object_object_get_ex(o, akey, &asks) ||
        !json_object_is_type(asks, json_type_array)) {
        errf(err, errlen, "\"%s\" and \"%s\" must be arrays", bkey, akey);
        return BOOK_INVALID;
    }
    *nb = json_object_array_length(bids);
    *na = json_object_array_length(asks);
    if (*nb + *na > BOOK_MAX_EVENT_LEVELS) {
        errf(err, errlen, "%zu levels exceed the cap of %d", *nb + *na,
             BOOK_MAX_EVENT_LEVELS);
        return BOOK_INVALID;
    }
    if (*nb + *na == 0)
        return BOOK_APPLIED;
    if ((*lv = malloc((*nb + *na) * sizeof(**lv))) == NULL) {
        errf(err, errlen, "out of memory");
        return BOOK_NOMEM;
    }
    if (levels_parse(bids, bkey, *lv, err, errlen) < 0 ||
        levels_parse(asks, akey, *lv + *nb, err, errlen) < 0) {
        free(*lv);
        *lv = NULL;
        return BOOK_INVALID;
    }
    return BOOK_APPLIED;
}

static enum book_result
event_parse(const struct book *b, json_object *o, struct book_event *e,
            char *err, size_t errlen)
{
    json_object *v;
    uint64_t t;

    memset(e, 0, sizeof(*e));
    if (!json_object_is_type(o, json_type_object)) {
        errf(err, errlen, "the event is not a JSON object");
        return BOOK_INVALID;
    }
    if (!json_object_object_get_ex(o, "e", &v) ||
        !json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), "depthUpdate") != 0) {
        errf(err, errlen, "not a depthUpdate event");
        return BOOK_INVALID;
    }
    if (!json_object_object_get_ex(o, "s", &v) ||
        !json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), b->symbol) != 0) {
        errf(err, errlen, "the event is not for %s", b->symbol);
        return BOOK_INVALID;
    }
    if (get_u64(o, "U", &e->first) < 0 || get_u64(o, "u", &e->last) < 0 ||
        e->first == 0 || e->first > e->last) {
        errf(err, errlen, "U and u must be integers with 0 < U <= u");
        return BOOK_INVALID;
    }
    if (get_u64(o, "E", &t) < 0 || t > INT64_MAX) {
        errf(err, errlen, "E must be a non-negative integer");
        return BOOK_INVALID;
    }
    e->time = (int64_t)t;
    return sides_parse(o, "b", "a", &e->lv, &e->nbids, &e->nasks, err, errlen);
}

/* ------------------------------------------------------------------ */
/* The algorithm                                                       */

/* Applies e to the synced book (its ids already checked). Returns 0, or -1
 * when no room could be reserved (the book is then unchanged). */
static int
event_apply(struct book *b, const struct book_event *e, int64_t now_ms)
{
    struct book_side_arr *bs = &b->side[BOOK_BID], *as = &b->side[BOOK_ASK];

    if (side_reserve(bs, bs->n + e->nbids, b->max_levels) < 0 ||
        side_reserve(as, as->n + e->nasks, b->max_levels) < 0)
        return -1;
    for (size_t i = 0; i < e->nbids; i++)
        side_set(bs, BOOK_BID, b->max_levels, &e->lv[i], &b->removed);
    for (size_t i = 0; i < e->nasks; i++)
        side_set(as, BOOK_ASK, b->max_levels, &e->lv[e->nbids + i],
                 &b->removed);
    b->changes += e->nbids + e->nasks;
    b->update_id = e->last;
    b->updated_ms = now_ms;
    b->event_ms = e->time;
    b->applied++;
    return 0;
}

/* Keeps e (taken over) for the next snapshot; the oldest goes when the
 * buffer is full (a snapshot newer than it is needed anyway). */
static enum book_result
buffer_push(struct book *b, struct book_event *e)
{
    if (b->nbuf == BOOK_MAX_BUFFERED) {
        event_free(&b->buf[0]);
        memmove(&b->buf[0], &b->buf[1], (b->nbuf - 1) * sizeof(b->buf[0]));
        b->nbuf--;
        b->dropped++;
    }
    if (b->nbuf == b->capbuf) {
        size_t cap = b->capbuf ? b->capbuf * 2 : 16;
        struct book_event *p;
        if (cap > BOOK_MAX_BUFFERED)
            cap = BOOK_MAX_BUFFERED;
        if ((p = realloc(b->buf, cap * sizeof(*p))) == NULL) {
            event_free(e);
            return BOOK_NOMEM;
        }
        b->buf = p;
        b->capbuf = cap;
    }
    b->buf[b->nbuf++] = *e;
    return BOOK_BUFFERED;
}

/* Runs one event through the synced book: stale, gap or applied. Takes e
 * over in every case. */
static enum book_result
synced_event(struct book *b, struct book_event *e, int64_t now_ms)
{
    if (e->last <= b->update_id) {
        b->dropped++;
        event_free(e);
        return BOOK_STALE;
    }
    if (e->first > b->update_id + 1) {
        b->synced = false;
        b->resyncs++;
        buffer_clear(b);
        return buffer_push(b, e) == BOOK_NOMEM ? BOOK_NOMEM : BOOK_RESYNC;
    }
    if (event_apply(b, e, now_ms) < 0) {
        event_free(e);
        return BOOK_NOMEM;
    }
    event_free(e);
    return BOOK_APPLIED;
}

enum book_result
book_diff_obj(struct book *b, json_object *o, int64_t now_ms, char *err,
              size_t errlen)
{
    struct book_event e;
    enum book_result r = event_parse(b, o, &e, err, errlen);

    if (r != BOOK_APPLIED)
        return r;
    if (!b->synced)
        r = buffer_push(b, &e);
    else
        r = synced_event(b, &e, now_ms);
    if (r == BOOK_NOMEM)
        errf(err, errlen, "out of memory");
    return r;
}

/* Parses len bytes of JSON text into an object the caller puts. */
static json_object *
parse_text(const char *text, size_t len, char *err, size_t errlen)
{
    json_tokener *tok;
    json_object *o;

    if (len > INT32_MAX || (tok = json_tokener_new()) == NULL) {
        errf(err, errlen, "cannot parse %zu bytes", len);
        return NULL;
    }
    o = json_tokener_parse_ex(tok, text, (int)len);
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        errf(err, errlen, "not one complete JSON value");
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* Parses text and runs fn on the object (a refused parse is
 * BOOK_INVALID). */
static enum book_result
with_parsed(struct book *b, const char *text, size_t len, int64_t now_ms,
            char *err, size_t errlen,
            enum book_result (*fn)(struct book *, json_object *, int64_t,
                                   char *, size_t))
{
    json_object *o = parse_text(text, len, err, errlen);
    enum book_result r;

    if (o == NULL)
        return BOOK_INVALID;
    r = fn(b, o, now_ms, err, errlen);
    json_object_put(o);
    return r;
}

enum book_result
book_diff_json(struct book *b, const char *text, size_t len, int64_t now_ms,
               char *err, size_t errlen)
{
    return with_parsed(b, text, len, now_ms, err, errlen, book_diff_obj);
}

/* Builds a side from snapshot levels into *s (empty on entry). */
static int
side_load(struct book_side_arr *s, enum book_side side, size_t max,
          const struct book_level *lv, size_t n)
{
    if (side_reserve(s, n, max) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!dec_is_zero(&lv[i].qty))
            side_set(s, side, max, &lv[i], NULL);
    return 0;
}

enum book_result
book_snapshot_obj(struct book *b, json_object *o, int64_t now_ms, char *err,
                  size_t errlen)
{
    struct book_side_arr nb = {NULL, 0, 0}, na = {NULL, 0, 0};
    struct book_level *lv;
    size_t nbids, nasks, i;
    uint64_t lid;
    enum book_result r;

    if (!json_object_is_type(o, json_type_object) ||
        get_u64(o, "lastUpdateId", &lid) < 0) {
        errf(err, errlen, "the snapshot has no integer lastUpdateId");
        return BOOK_INVALID;
    }
    /* a snapshot that leaves a hole before the first buffered event */
    if (b->nbuf > 0 && lid + 1 < b->buf[0].first) {
        errf(err, errlen,
             "snapshot %llu is older than the buffered events (from %llu)",
             (unsigned long long)lid, (unsigned long long)b->buf[0].first);
        return BOOK_OLD_SNAPSHOT;
    }
    r = sides_parse(o, "bids", "asks", &lv, &nbids, &nasks, err, errlen);
    if (r != BOOK_APPLIED)
        return r;
    /* no level at all leaves lv NULL, and NULL + 0 is undefined */
    if (side_load(&nb, BOOK_BID, b->max_levels, lv, nbids) < 0 ||
        side_load(&na, BOOK_ASK, b->max_levels, nasks ? lv + nbids : NULL,
                  nasks) < 0) {
        free(lv);
        free(nb.lv);
        free(na.lv);
        errf(err, errlen, "out of memory");
        return BOOK_NOMEM;
    }
    free(lv);
    free(b->side[BOOK_BID].lv);
    free(b->side[BOOK_ASK].lv);
    b->side[BOOK_BID] = nb;
    b->side[BOOK_ASK] = na;
    b->update_id = lid;
    b->updated_ms = now_ms;
    b->synced = true;

    /* the buffered events, oldest first, as if they came now; after a
     * gap among them, the rest start the new buffer */
    struct book_event *pending = b->buf;
    size_t npending = b->nbuf;
    bool gap = false, nomem = false;
    b->buf = NULL;
    b->nbuf = b->capbuf = 0;
    for (i = 0; i < npending; i++) {
        if (nomem) {
            event_free(&pending[i]);
            continue;
        }
        r = gap ? buffer_push(b, &pending[i])
                : synced_event(b, &pending[i], now_ms);
        if (r == BOOK_RESYNC)
            gap = true;
        else if (r == BOOK_NOMEM)
            nomem = true;
    }
    free(pending);
    if (nomem) {
        b->synced = false; /* events are lost: only a new snapshot helps */
        errf(err, errlen, "out of memory");
        return BOOK_NOMEM;
    }
    return gap ? BOOK_RESYNC : BOOK_APPLIED;
}

enum book_result
book_snapshot_json(struct book *b, const char *text, size_t len, int64_t now_ms,
                   char *err, size_t errlen)
{
    return with_parsed(b, text, len, now_ms, err, errlen, book_snapshot_obj);
}

void
book_take_activity(struct book *b, unsigned long *changes, struct dec *removed)
{
    *changes = b->changes;
    *removed = b->removed;
    b->changes = 0;
    memset(&b->removed, 0, sizeof(b->removed));
}

bool
book_synced(const struct book *b)
{
    return b->synced;
}

uint64_t
book_update_id(const struct book *b)
{
    return b->update_id;
}

unsigned long
book_resyncs(const struct book *b)
{
    return b->resyncs;
}

unsigned long
book_applied(const struct book *b)
{
    return b->applied;
}

unsigned long
book_dropped(const struct book *b)
{
    return b->dropped;
}

size_t
book_buffered(const struct book *b)
{
    return b->nbuf;
}

int64_t
book_updated_ms(const struct book *b)
{
    return b->updated_ms;
}

int64_t
book_event_ms(const struct book *b)
{
    return b->event_ms;
}

size_t
book_depth(const struct book *b, enum book_side side)
{
    return b->side[side].n;
}

int
book_best(const struct book *b, enum book_side side, struct book_level *out)
{
    if (b->side[side].n == 0)
        return -1;
    *out = b->side[side].lv[0];
    return 0;
}

size_t
book_top(const struct book *b, enum book_side side, size_t n,
         struct book_level *out)
{
    if (n > b->side[side].n)
        n = b->side[side].n;
    if (n > 0)
        memcpy(out, b->side[side].lv, n * sizeof(*out));
    return n;
}
