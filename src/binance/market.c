/*
 * market.c - the market state in shared memory (see market.h).
 *
 * The seqlock follows the fence form of Boehm's "Can seqlocks get along
 * with programming language memory models?" (2012): the writer makes the
 * sequence odd, issues a release fence, writes the data, and publishes the
 * even sequence with a release store; the reader loads the sequence with
 * acquire, copies, issues an acquire fence and loads the sequence again.
 * When the reader's copy saw anything of a later write, the second load
 * sees that write's odd (or a later) sequence, so the copy is thrown away.
 * The rings use the same fences around their "claim" index.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "market.h"
#include "shm.h"
#include "util.h"

#define MARKET_MAGIC       0x4d4b5431u /* "MKT1" */
#define SPINS_BEFORE_YIELD 64

/* A ring's indexes: head entries were ever written; claim is head + 1
 * while the entry at head is being written (it overwrites head - size);
 * base is the first index of the slot's present symbol. */
struct ring_idx {
    _Atomic uint64_t head, claim, base;
};

struct market_slot {
    /* the request area: symbol and claim change under the segment's
     * mutex; last_read is stamped without it */
    alignas(64) char req_symbol[MARKET_SYMBOL_MAX];
    uint32_t req_claim;
    _Atomic int64_t last_read_ms;
    /* the state, under the seqlock */
    alignas(64) _Atomic uint32_t seq;
    struct market_state st;
    alignas(64) struct ring_idx trade_idx;
    struct market_trade trades[MARKET_TRADES];
    alignas(64) struct ring_idx sample_idx;
    struct market_sample samples[MARKET_SAMPLES];
};

struct market_hdr {
    uint32_t magic, nslots;
    pthread_mutex_t lock; /* claims and drops of the request area */
    _Atomic uint32_t claims;
    /* the feed's connection, under its own seqlock */
    _Atomic uint32_t feed_seq;
    struct market_feed_info feed;
};

/* This process's handle; the mapping it points to is shared. */
struct market {
    struct market_hdr *hdr;
    struct market_slot *slots;
    size_t size;
};

static size_t
slots_offset(void)
{
    size_t a = alignof(struct market_slot);
    return (sizeof(struct market_hdr) + a - 1) / a * a;
}

/* Contract in market.h. */
struct market *
market_create(unsigned nslots, char *err, size_t errlen)
{
    struct market *m;
    void *p;
    int rc;

    if (nslots == 0)
        nslots = MARKET_SYMBOLS_DEFAULT;
    if (nslots > MARKET_SYMBOLS_MAX) {
        errf(err, errlen, "market: %u symbols asked, at most %d", nslots,
             MARKET_SYMBOLS_MAX);
        return NULL;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL) {
        errf(err, errlen, "market: out of memory");
        return NULL;
    }
    m->size = slots_offset() + (size_t)nslots * sizeof(struct market_slot);
    if ((p = shm_map(m->size, "market", err, errlen)) == NULL) {
        free(m);
        return NULL;
    }
    m->hdr = p;
    m->slots = (struct market_slot *)((char *)p + slots_offset());
    if ((rc = shm_mutex_init(&m->hdr->lock)) != 0) {
        errf(err, errlen, "market: mutex: %s", strerror(rc));
        shm_unmap(p, m->size);
        free(m);
        return NULL;
    }
    m->hdr->magic = MARKET_MAGIC;
    m->hdr->nslots = nslots;
    return m;
}

/* Contract in market.h. */
void
market_destroy(struct market *m)
{
    if (m == NULL)
        return;
    shm_unmap(m->hdr, m->size);
    free(m);
}

size_t
market_size(const struct market *m)
{
    return m->size;
}

unsigned
market_slots(const struct market *m)
{
    return m->hdr->nslots;
}

static struct market_slot *
slot_at(const struct market *m, int slot)
{
    if (m == NULL || slot < 0 || (unsigned)slot >= m->hdr->nslots)
        return NULL;
    return &m->slots[slot];
}

/* Binance's symbols: 1 to 31 of A-Z and 0-9. */
static bool
symbol_ok(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9')))
            return false;
    return n > 0 && n < MARKET_SYMBOL_MAX;
}

/* A worker killed while claiming may have left a symbol half copied:
 * such a claim is freed. Runs with the mutex held. */
static void
repair_requests(void *arg)
{
    struct market *m = arg;

    for (unsigned i = 0; i < m->hdr->nslots; i++) {
        struct market_slot *s = &m->slots[i];
        s->req_symbol[MARKET_SYMBOL_MAX - 1] = '\0';
        if (s->req_symbol[0] != '\0' && !symbol_ok(s->req_symbol))
            memset(s->req_symbol, 0, sizeof(s->req_symbol));
    }
}

static int
lock_requests(struct market *m)
{
    return shm_mutex_lock(&m->hdr->lock, repair_requests, m,
                          "the market segment");
}

/* The slot whose request names symbol, or -1. Mutex held. */
static int
find_locked(struct market *m, const char *symbol)
{
    for (unsigned i = 0; i < m->hdr->nslots; i++)
        if (strcmp(m->slots[i].req_symbol, symbol) == 0)
            return (int)i;
    return -1;
}

/* Contract in market.h. */
int
market_request(struct market *m, const char *symbol, int64_t now_ms)
{
    int slot;

    if (!symbol_ok(symbol)) {
        errno = EINVAL;
        return -1;
    }
    if (lock_requests(m) < 0)
        return -1;
    slot = find_locked(m, symbol);
    for (unsigned i = 0; slot < 0 && i < m->hdr->nslots; i++)
        if (m->slots[i].req_symbol[0] == '\0') {
            struct market_slot *s = &m->slots[i];
            memcpy(s->req_symbol, symbol, strlen(symbol) + 1);
            s->req_claim = atomic_fetch_add(&m->hdr->claims, 1) + 1;
            slot = (int)i;
        }
    if (slot >= 0)
        atomic_store_explicit(&m->slots[slot].last_read_ms, now_ms,
                              memory_order_relaxed);
    shm_mutex_unlock(&m->hdr->lock);
    if (slot < 0)
        errno = ENOSPC;
    return slot;
}

/* Contract in market.h. */
int
market_find(struct market *m, const char *symbol)
{
    int slot;

    if (!symbol_ok(symbol) || lock_requests(m) < 0)
        return -1;
    slot = find_locked(m, symbol);
    shm_mutex_unlock(&m->hdr->lock);
    return slot;
}

/* Contract in market.h. */
uint64_t
market_version(const struct market *m, int slot)
{
    if (slot < 0 || (unsigned)slot >= m->hdr->nslots)
        return 0;
    return atomic_load_explicit(&m->slots[slot].seq, memory_order_acquire);
}

/* Contract in market.h. */
int
market_wanted(struct market *m, int slot, char *symbol, size_t len,
              int64_t *last_read_ms, uint32_t *claim)
{
    struct market_slot *s = slot_at(m, slot);

    if (s == NULL || lock_requests(m) < 0)
        return -1;
    snprintf(symbol, len, "%s", s->req_symbol);
    *claim = s->req_claim;
    *last_read_ms =
        atomic_load_explicit(&s->last_read_ms, memory_order_relaxed);
    shm_mutex_unlock(&m->hdr->lock);
    return 0;
}

uint32_t
market_claims(const struct market *m)
{
    return atomic_load_explicit(&m->hdr->claims, memory_order_acquire);
}

/* Contract in market.h. */
int
market_drop_idle(struct market *m, int slot, uint32_t claim, int64_t idle_ms,
                 int64_t now_ms)
{
    struct market_slot *s = slot_at(m, slot);
    int dropped = 0;

    if (s == NULL || lock_requests(m) < 0)
        return -1;
    if (s->req_symbol[0] != '\0' && s->req_claim == claim &&
        now_ms - atomic_load_explicit(&s->last_read_ms, memory_order_relaxed) >=
            idle_ms) {
        memset(s->req_symbol, 0, sizeof(s->req_symbol));
        dropped = 1;
    }
    shm_mutex_unlock(&m->hdr->lock);
    return dropped;
}

/* ---- the seqlock ---- */

static void
seq_write_begin(_Atomic uint32_t *seq)
{
    uint32_t v = atomic_load_explicit(seq, memory_order_relaxed);

    assert((v & 1) == 0);
    atomic_store_explicit(seq, v + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void
seq_write_end(_Atomic uint32_t *seq)
{
    uint32_t v = atomic_load_explicit(seq, memory_order_relaxed);

    assert((v & 1) == 1);
    atomic_store_explicit(seq, v + 1, memory_order_release);
}

/* A reader waiting for the writer: spin a little, then give the CPU away
 * (only under contention; the common read makes no system call). */
static void
reader_wait(int tries)
{
    if (tries % SPINS_BEFORE_YIELD == SPINS_BEFORE_YIELD - 1)
        sched_yield();
}

/* Copies size bytes of src, guarded by seq, into out: one write's.
 * Returns 0, or -1 with errno EAGAIN after MARKET_READ_TRIES tries. */
static int
seq_read(const _Atomic uint32_t *seq, const void *src, void *out, size_t size)
{
    for (int i = 0; i < MARKET_READ_TRIES; i++) {
        uint32_t s0 = atomic_load_explicit(seq, memory_order_acquire);
        if ((s0 & 1) == 0) {
            memcpy(out, src, size);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(seq, memory_order_relaxed) == s0)
                return 0;
        }
        reader_wait(i);
    }
    errno = EAGAIN;
    return -1;
}

/* Contract in market.h. */
struct market_state *
market_write_begin(struct market *m, int slot)
{
    struct market_slot *s = slot_at(m, slot);

    if (s == NULL)
        return NULL;
    seq_write_begin(&s->seq);
    return &s->st;
}

/* Contract in market.h. */
void
market_write_end(struct market *m, int slot)
{
    struct market_slot *s = slot_at(m, slot);

    if (s != NULL)
        seq_write_end(&s->seq);
}

/* Contract in market.h. */
int
market_read(const struct market *m, int slot, struct market_state *out)
{
    struct market_slot *s = slot_at(m, slot);

    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    return seq_read(&s->seq, &s->st, out, sizeof(*out));
}

/* ---- the rings ---- */

/* Writes entry (size bytes) at the head of a ring of n entries. */
static void
ring_push(struct ring_idx *r, void *entries, size_t size, size_t n,
          const void *entry)
{
    uint64_t j = atomic_load_explicit(&r->head, memory_order_relaxed);

    atomic_store_explicit(&r->claim, j + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy((char *)entries + (j % n) * size, entry, size);
    atomic_store_explicit(&r->head, j + 1, memory_order_release);
}

/* Copies the newest entries with a time at or after since_ms (each entry
 * starts with its int64 time), at most max, oldest first. */
static long
ring_since(const struct ring_idx *r, const void *entries, size_t size, size_t n,
           int64_t since_ms, void *out, size_t max)
{
    uint64_t base = atomic_load_explicit(&r->base, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t lo = head > n ? head - n : 0, claim, first;
    size_t got = 0;

    if (lo < base)
        lo = base;
    /* newest first, into out from its end backwards */
    for (uint64_t i = head; i > lo && got < max; i--) {
        const char *e = (const char *)entries + ((i - 1) % n) * size;
        int64_t t;
        memcpy(&t, e, sizeof(t));
        if (t < since_ms)
            break;
        memcpy((char *)out + (max - 1 - got) * size, e, size);
        got++;
    }
    atomic_thread_fence(memory_order_acquire);
    claim = atomic_load_explicit(&r->claim, memory_order_relaxed);
    if (atomic_load_explicit(&r->base, memory_order_relaxed) != base)
        return 0; /* the slot changed hands while we copied */
    /* entries older than claim - n may have been overwritten meanwhile:
     * they are the oldest copied, at the front */
    first = head - got;
    if (claim > n && first < claim - n) {
        uint64_t torn = claim - n - first;
        got = torn >= got ? 0 : got - (size_t)torn;
    }
    memmove(out, (char *)out + (max - got) * size, got * size);
    return (long)got;
}

/* Trades and samples start with their time: ring_since reads it there. */
_Static_assert(offsetof(struct market_trade, time_ms) == 0,
               "market_trade starts with its time");
_Static_assert(offsetof(struct market_sample, time_ms) == 0,
               "market_sample starts with its time");

/* One of a slot's two rings: its index, entries, entry size and length. */
struct ring_ref {
    struct ring_idx *idx;
    void *entries;
    size_t size, n;
};

static int
ring_of(const struct market *m, int slot, int samples, struct ring_ref *r)
{
    struct market_slot *s = slot_at(m, slot);

    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (samples)
        *r = (struct ring_ref){&s->sample_idx, s->samples,
                               sizeof(struct market_sample), MARKET_SAMPLES};
    else
        *r = (struct ring_ref){&s->trade_idx, s->trades,
                               sizeof(struct market_trade), MARKET_TRADES};
    return 0;
}

static void
ring_write(struct market *m, int slot, int samples, const void *entry)
{
    struct ring_ref r;

    if (ring_of(m, slot, samples, &r) == 0)
        ring_push(r.idx, r.entries, r.size, r.n, entry);
}

static long
ring_read(const struct market *m, int slot, int samples, int64_t since_ms,
          void *out, size_t max)
{
    struct ring_ref r;

    if (ring_of(m, slot, samples, &r) < 0)
        return -1;
    return ring_since(r.idx, r.entries, r.size, r.n, since_ms, out, max);
}

void
market_push_trade(struct market *m, int slot, const struct market_trade *t)
{
    ring_write(m, slot, 0, t);
}

/* Contract in market.h. */
long
market_trades_since(const struct market *m, int slot, int64_t since_ms,
                    struct market_trade *out, size_t max)
{
    return ring_read(m, slot, 0, since_ms, out, max);
}

void
market_push_sample(struct market *m, int slot, const struct market_sample *x)
{
    ring_write(m, slot, 1, x);
}

/* Contract in market.h. */
long
market_samples_since(const struct market *m, int slot, int64_t since_ms,
                     struct market_sample *out, size_t max)
{
    return ring_read(m, slot, 1, since_ms, out, max);
}

/* ---- the writer's housekeeping ---- */

static void
ring_restart(struct ring_idx *r)
{
    atomic_store_explicit(&r->base,
                          atomic_load_explicit(&r->head, memory_order_relaxed),
                          memory_order_release);
}

/* Contract in market.h. */
void
market_writer_reset(struct market *m, int slot, const char *symbol,
                    enum market_status status, int64_t now_ms)
{
    struct market_slot *s = slot_at(m, slot);
    struct market_state *st;
    uint32_t gen;

    if (s == NULL)
        return;
    ring_restart(&s->trade_idx);
    ring_restart(&s->sample_idx);
    st = market_write_begin(m, slot);
    gen = st->generation;
    memset(st, 0, sizeof(*st));
    snprintf(st->symbol, sizeof(st->symbol), "%s", symbol);
    st->generation = gen + 1;
    st->status = status;
    st->tracked_since_ms = symbol[0] != '\0' ? now_ms : 0;
    market_write_end(m, slot);
}

/* Contract in market.h. */
void
market_writer_recover(struct market *m, int64_t now_ms)
{
    for (unsigned i = 0; i < m->hdr->nslots; i++) {
        struct market_slot *s = &m->slots[i];
        struct market_state *st;
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
        bool torn = seq & 1;
        if (torn) {
            log_warnx("market: slot %u was left mid-write; kept as stale", i);
            atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
        }
        seq_write_begin(&s->seq);
        st = &s->st;
        if (torn) {
            snprintf(st->last_error, sizeof(st->last_error),
                     "the feed stopped while writing this slot");
            st->last_error_ms = now_ms;
        }
        st->ws_connected = 0;
        if (st->status == MARKET_SYNCING || st->status == MARKET_LIVE ||
            st->status == MARKET_TRACKING)
            st->status = MARKET_STALE;
        seq_write_end(&s->seq);
    }
    if (atomic_load_explicit(&m->hdr->feed_seq, memory_order_relaxed) & 1)
        atomic_fetch_add(&m->hdr->feed_seq, 1);
    seq_write_begin(&m->hdr->feed_seq);
    m->hdr->feed.ws_connected = 0;
    m->hdr->feed.pid = 0;
    seq_write_end(&m->hdr->feed_seq);
}

/* Contract in market.h. */
void
market_set_feed_info(struct market *m, const struct market_feed_info *in)
{
    seq_write_begin(&m->hdr->feed_seq);
    m->hdr->feed = *in;
    seq_write_end(&m->hdr->feed_seq);
}

/* Contract in market.h. */
void
market_feed_info(const struct market *m, struct market_feed_info *out)
{
    if (seq_read(&m->hdr->feed_seq, &m->hdr->feed, out, sizeof(*out)) < 0)
        memset(out, 0, sizeof(*out)); /* a feed died mid-write: none */
}

/* ---- numbers ---- */

static const int64_t POW10[MARKET_SCALE + 1] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

/* Contract in market.h. */
int
market_from_dec(const struct dec *d, int64_t *out)
{
    int64_t mul;

    if (d->scale < 0 || d->scale > MARKET_SCALE)
        return -1;
    mul = POW10[MARKET_SCALE - d->scale];
    if (d->mant > (dec_u128)(INT64_MAX / mul))
        return -1;
    *out = (int64_t)d->mant * mul;
    return 0;
}

/* Contract in market.h. */
void
market_to_dec(int64_t v, struct dec *out)
{
    assert(v >= 0);
    out->mant = (dec_u128)(v < 0 ? 0 : v);
    out->scale = MARKET_SCALE;
    while (out->scale > 0 && out->mant % 10 == 0) {
        out->mant /= 10;
        out->scale--;
    }
}

const char *
market_format(int64_t v, char buf[DEC_STR_MAX])
{
    struct dec d;

    market_to_dec(v, &d);
    return dec_str(&d, buf);
}

int
market_parse(const char *text, int64_t *out)
{
    struct dec d;

    return dec_parse(text, &d) < 0 ? -1 : market_from_dec(&d, out);
}

const char *
market_status_name(enum market_status s)
{
    switch (s) {
    case MARKET_EMPTY:
        return "empty";
    case MARKET_TRACKING:
        return "tracking";
    case MARKET_SYNCING:
        return "syncing";
    case MARKET_LIVE:
        return "live";
    case MARKET_STALE:
        return "stale";
    }
    return "unknown";
}
