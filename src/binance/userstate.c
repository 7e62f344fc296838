/*
 * userstate.c - the user-data area in shared memory (contract in
 * userstate.h).
 *
 * The seqlock has the fence form market.c uses (Boehm, "Can seqlocks get
 * along with programming language memory models?"): the writer stores the
 * odd sequence, issues a release fence, writes, and publishes the even
 * sequence with a release store; the reader loads the sequence with
 * acquire, copies, issues an acquire fence and loads it again.
 */
#include "config.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "shm.h"
#include "userstate.h"
#include "util.h"

struct us_slot {
    alignas(64) _Atomic uint32_t seq;
    _Atomic int64_t wanted_ms; /* us_touch: a reader's last need */
    struct us_record rec;
};

struct userstate {
    struct us_slot *slots; /* the mapping */
    unsigned nslots;
    size_t size;
};

/* Contract in userstate.h. */
struct userstate *
us_create(unsigned nkeys, char *err, size_t errlen)
{
    struct userstate *u;

    if (nkeys == 0)
        nkeys = US_KEYS_DEFAULT;
    if (nkeys > US_KEYS_MAX) {
        snprintf(err, errlen, "user data: %u keys asked, at most %u", nkeys,
                 US_KEYS_MAX);
        return NULL;
    }
    if ((u = calloc(1, sizeof(*u))) == NULL) {
        snprintf(err, errlen, "user data: out of memory");
        return NULL;
    }
    u->nslots = nkeys;
    u->size = (size_t)nkeys * sizeof(struct us_slot);
    if ((u->slots = shm_map(u->size, "user data", err, errlen)) == NULL) {
        free(u);
        return NULL;
    }
    return u;
}

unsigned
us_slots(const struct userstate *u)
{
    return u->nslots;
}

/* Contract in userstate.h. */
int
us_fingerprint(const char *api_key, enum bnc_env env, char out[US_FP_LEN + 1])
{
    unsigned char md[32];
    char buf[CREDS_KEY_MAX + 32];
    int n = snprintf(buf, sizeof(buf), "%s\n%s", creds_env_name(env), api_key);

    out[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(buf) ||
        gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, (size_t)n, md) != 0)
        return -1;
    for (int i = 0; i < US_FP_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- the seqlock ---- */

static void
seq_write_begin(_Atomic uint32_t *seq)
{
    uint32_t v = atomic_load_explicit(seq, memory_order_relaxed);

    if ((v & 1u) == 0)
        v++;
    atomic_store_explicit(seq, v, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void
seq_write_end(_Atomic uint32_t *seq)
{
    uint32_t v = atomic_load_explicit(seq, memory_order_relaxed);

    atomic_store_explicit(seq, (v | 1u) + 1, memory_order_release);
}

/* Copies size bytes of src, guarded by seq, into out: one write's. */
static int
seq_read(const _Atomic uint32_t *seq, const void *src, void *out, size_t size)
{
    for (int tries = 0; tries < US_READ_TRIES; tries++) {
        uint32_t s0 = atomic_load_explicit(seq, memory_order_acquire);
        if ((s0 & 1u) == 0) {
            memcpy(out, src, size);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(seq, memory_order_relaxed) == s0)
                return 0;
        }
    }
    errno = EAGAIN;
    return -1;
}

/* ---- readers ---- */

/* Contract in userstate.h. */
int
us_find(const struct userstate *u, const char *fp)
{
    char name[US_FP_LEN + 1];

    if (fp == NULL || strlen(fp) != US_FP_LEN)
        return -1;
    for (unsigned i = 0; i < u->nslots; i++) {
        if (seq_read(&u->slots[i].seq, u->slots[i].rec.fp, name, sizeof(name)) <
            0)
            continue;
        name[US_FP_LEN] = '\0';
        if (strcmp(name, fp) == 0)
            return (int)i;
    }
    return -1;
}

static int
read_part(const struct userstate *u, int slot, struct us_record *out,
          size_t size)
{
    if (slot < 0 || (unsigned)slot >= u->nslots) {
        errno = EINVAL;
        return -1;
    }
    return seq_read(&u->slots[slot].seq, &u->slots[slot].rec, out, size);
}

/* Contract in userstate.h. */
int
us_read(const struct userstate *u, int slot, struct us_record *out)
{
    return read_part(u, slot, out, sizeof(*out));
}

/* Contract in userstate.h. */
int
us_read_head(const struct userstate *u, int slot, struct us_record *out)
{
    return read_part(u, slot, out, offsetof(struct us_record, orders));
}

/* ---- the writer ---- */

/* Contract in userstate.h. */
int
us_claim(struct userstate *u, const char *fp)
{
    int free_slot = -1;

    for (unsigned i = 0; i < u->nslots; i++) {
        const char *name = u->slots[i].rec.fp; /* the writer's own data */
        if (strcmp(name, fp) == 0)
            return (int)i;
        if (name[0] == '\0' && free_slot < 0)
            free_slot = (int)i;
    }
    if (free_slot < 0) {
        errno = ENOSPC;
        return -1;
    }
    seq_write_begin(&u->slots[free_slot].seq);
    memset(&u->slots[free_slot].rec, 0, sizeof(u->slots[free_slot].rec));
    snprintf(u->slots[free_slot].rec.fp, sizeof(u->slots[0].rec.fp), "%s", fp);
    seq_write_end(&u->slots[free_slot].seq);
    return free_slot;
}

/* Contract in userstate.h. */
void
us_publish(struct userstate *u, int slot, const struct us_record *rec)
{
    if (slot < 0 || (unsigned)slot >= u->nslots)
        return;
    seq_write_begin(&u->slots[slot].seq);
    memcpy(&u->slots[slot].rec, rec, sizeof(*rec));
    seq_write_end(&u->slots[slot].seq);
}

/* Contract in userstate.h. */
void
us_release(struct userstate *u, int slot)
{
    if (slot < 0 || (unsigned)slot >= u->nslots)
        return;
    seq_write_begin(&u->slots[slot].seq);
    memset(&u->slots[slot].rec, 0, sizeof(u->slots[slot].rec));
    seq_write_end(&u->slots[slot].seq);
}

/* Contract in userstate.h. */
void
us_writer_recover(struct userstate *u)
{
    for (unsigned i = 0; i < u->nslots; i++) {
        struct us_slot *s = &u->slots[i];
        seq_write_begin(&s->seq);
        s->rec.connected = 0;
        if (s->rec.fp[0] != '\0') {
            s->rec.status = US_CONNECTING;
            s->rec.generation++;
        }
        seq_write_end(&s->seq);
    }
}

const char *
us_status_name(enum us_status s)
{
    switch (s) {
    case US_EMPTY:
        return "empty";
    case US_CONNECTING:
        return "connecting";
    case US_SUBSCRIBING:
        return "subscribing";
    case US_SNAPSHOT:
        return "snapshot";
    case US_LIVE:
        return "live";
    case US_FAILED:
        return "failed";
    }
    return "unknown";
}

/* Contract in userstate.h. */
/* Contract in userstate.h. */
void
us_touch(struct userstate *u, int slot, int64_t now_ms)
{
    if (slot >= 0 && (unsigned)slot < u->nslots)
        atomic_store_explicit(&u->slots[slot].wanted_ms, now_ms,
                              memory_order_relaxed);
}

/* Contract in userstate.h. */
int64_t
us_wanted_ms(const struct userstate *u, int slot)
{
    if (slot < 0 || (unsigned)slot >= u->nslots)
        return 0;
    return atomic_load_explicit(&u->slots[slot].wanted_ms,
                                memory_order_relaxed);
}

void
us_destroy(struct userstate *u)
{
    if (u == NULL)
        return;
    shm_unmap(u->slots, u->size);
    free(u);
}
