/*
 * registry.c - the shared-memory session registry. See registry.h.
 *
 * The mapping holds, in order: the header (struct registry, which carries
 * the robust mutex), the worker pid table, the workers' stream counts, the
 * slot table and the client table, each starting on a 64-byte boundary.
 *
 * Locking. Claims, releases, lookups (the token must be read whole), pins,
 * stream opens and the reaping scans take the mutex. reg_valid() and
 * reg_touch() do not: a slot's generation only changes while the slot is
 * FREE, so reading the generation, then the state, then the generation
 * again proves that the slot was LIVE with that generation at one instant
 * (a seqlock read).
 *
 * Order. Live slots are on a doubly linked list, least recently used
 * first (a claim, a lookup and the last unpin move a session to the end),
 * and those with a client also on their client's list. The client table
 * is open addressing with linear probing, keyed by the client fingerprint
 * hashed with a random seed (so that clients cannot choose colliding
 * addresses), at most half full, with backward-shift deletion; nothing
 * points into it, so entries may move. Eviction walks a list from its head
 * past pinned sessions: few are pinned (open streams, running jobs).
 *
 * Crash repair. A process may die anywhere while it holds the mutex; the
 * next locker gets EOWNERDEAD and must make the table consistent again
 * before it calls pthread_mutex_consistent(). Every change to a slot's
 * state is announced first in the header (pending_op, pending_slot,
 * pending_gen) and the announcement is withdrawn last, so repair knows
 * which slot may be half-written: it frees that slot with a generation
 * past the announced one. The free list, the live count, both kinds of
 * lists and the client table are then rebuilt from the slot states, which
 * are the truth (the LRU order becomes slot order). Stream counts are one
 * word per worker, written in one store.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "registry.h"
#include "shm.h"
#include "util.h"

#define REG_MAGIC       0x52454731u /* "REG1" */
#define REG_VERSION     3
#define REG_TOKEN_LEN   16
#define REG_NO_SLOT     UINT32_MAX
#define REG_MAX_SLOTS   (1u << 24) /* far beyond any connection limit */
#define REG_MAX_WORKERS 4096
/* refs reg_expire_idle() collects per hold of the lock */
#define REG_EXPIRE_BATCH 64
#define REG_ALIGN        64

/* The lock-free paths need lock-free (hence address-free) atomics: the
 * same memory is mapped into several processes. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "atomic long long must be lock-free");

enum reg_slot_state {
    SLOT_FREE = 0,
    SLOT_LIVE = 1,
};

enum reg_pending_op {
    OP_NONE = 0,
    OP_CLAIM = 1,
    OP_RELEASE = 2,
    OP_RECORD = 3, /* writing a slot's record */
};

struct reg_slot {
    _Alignas(REG_ALIGN) _Atomic uint32_t state; /* enum reg_slot_state */
    _Atomic uint32_t gen; /* >= 1; changes only while FREE */
    uint32_t next_free;   /* free list link (under the mutex) */
    int32_t owner;        /* worker index */
    uint8_t token[REG_TOKEN_LEN];
    int64_t created_ms;           /* wall clock, ms since the epoch */
    _Atomic int64_t last_seen_ms; /* CLOCK_MONOTONIC ms: idle time must
                                     not jump with the wall clock */
    uint32_t kind;                /* enum reg_kind */
    /* under the mutex, meaningful while LIVE */
    uint32_t pins;               /* open streams and jobs in flight */
    uint32_t lru_prev, lru_next; /* all live sessions, oldest first */
    uint32_t cl_prev, cl_next;   /* the client's sessions, oldest first */
    uint8_t cred[REG_FP_LEN];    /* struct reg_client */
    uint8_t client[REG_FP_LEN];
    uint32_t orphan;   /* its owner died; any worker may adopt it */
    uint32_t recorded; /* its record was written (so it must be wiped) */
};

_Static_assert(sizeof(struct reg_slot) == 2 * REG_ALIGN,
               "a session slot is two cache lines");

/* A request id recorded while its answer is on its way (reg_inflight_*). */
struct reg_inflight {
    int32_t worker1; /* the worker's index + 1; 0: an empty entry (the
                        mapping starts zeroed: no page is touched before
                        its session needs it) */
    uint32_t unused;
    uint64_t stream;
    char id[REG_RPC_ID_MAX]; /* NUL-terminated JSON */
};

/* What another worker needs to take a session over, one per slot, under
 * the mutex. Wiped when its slot is freed. */
struct reg_record {
    uint32_t len;  /* bytes of state */
    uint32_t torn; /* a writer died half-way: state is not to be trusted */
    uint32_t next_inflight; /* the entry the next add replaces when full */
    int32_t listen_worker1; /* the standalone stream's worker + 1; 0: none */
    uint64_t listen_stream; /* its stream id there */
    struct reg_inflight inflight[REG_INFLIGHT_MAX];
    uint8_t state[REG_STATE_MAX];
};

/* One client in the client table; count 0 marks an empty entry. */
struct reg_centry {
    uint8_t key[REG_FP_LEN];
    uint32_t count;      /* its live sessions */
    uint32_t head, tail; /* its sessions, oldest first */
    uint32_t unused;
};

/* The header at the start of the mapping. Fields without _Atomic are set
 * once before fork, or are only touched under mu. */
struct registry {
    uint32_t magic;
    uint32_t version;
    uint32_t slot_size;
    uint32_t max_live;
    uint32_t nworkers;
    uint32_t ctab_size; /* client table entries, a power of two */
    size_t pids_off;    /* bytes from the start of the mapping */
    size_t streams_off; /* idem */
    size_t slots_off;   /* idem */
    size_t ctab_off;    /* idem */
    size_t rec_off;     /* idem */
    size_t map_len;
    int64_t started_ms;
    uint64_t seed;           /* of the client table's hash */
    uint32_t max_per_client; /* reg_set_limits(); 0: none */
    uint32_t max_streams;    /* idem */
    pthread_mutex_t mu;
    /* under mu */
    uint32_t free_head;
    uint32_t lru_head, lru_tail;
    _Atomic uint32_t pending_op; /* enum reg_pending_op */
    _Atomic uint32_t pending_slot;
    _Atomic uint32_t pending_gen;
    /* written under mu, read anywhere */
    _Atomic uint32_t live;
    _Atomic uint64_t sessions_total;
    /* anywhere */
    _Atomic uint64_t evicted[REG_EVICT_REASONS];
};

static size_t
reg_round_up(size_t n)
{
    return (n + REG_ALIGN - 1) / REG_ALIGN * REG_ALIGN;
}

static struct reg_slot *
reg_slots(struct registry *r)
{
    return (struct reg_slot *)(void *)((char *)r + r->slots_off);
}

static _Atomic int32_t *
reg_pids(struct registry *r)
{
    return (_Atomic int32_t *)(void *)((char *)r + r->pids_off);
}

/* Each worker's open streams; the sum is the daemon's. */
static _Atomic uint32_t *
reg_wstreams(struct registry *r)
{
    return (_Atomic uint32_t *)(void *)((char *)r + r->streams_off);
}

static struct reg_centry *
reg_ctab(struct registry *r)
{
    return (struct reg_centry *)(void *)((char *)r + r->ctab_off);
}

static struct reg_record *
reg_record(struct registry *r, uint32_t i)
{
    return (struct reg_record *)(void *)((char *)r + r->rec_off) + i;
}

/* Empties a record, wiping its state (it may hold session credentials). */
static void
reg_record_clear(struct reg_record *rec)
{
    secure_wipe(rec->state,
                rec->len <= REG_STATE_MAX ? rec->len : REG_STATE_MAX);
    rec->len = 0;
    rec->torn = 0;
    rec->next_inflight = 0;
    rec->listen_worker1 = 0;
    rec->listen_stream = 0;
    for (int k = 0; k < REG_INFLIGHT_MAX; k++) {
        rec->inflight[k].worker1 = 0;
        rec->inflight[k].stream = 0;
        rec->inflight[k].id[0] = '\0';
    }
}

/* Generations never take the value 0, so an id with generation 0 is
 * never valid. */
static uint32_t
reg_next_gen(uint32_t gen)
{
    return gen == UINT32_MAX ? 1 : gen + 1;
}

static int
reg_worker_ok(const struct registry *r, int w)
{
    return w >= 0 && (uint32_t)w < r->nworkers;
}

static int
reg_key_none(const uint8_t key[REG_FP_LEN])
{
    uint8_t any = 0;
    for (int k = 0; k < REG_FP_LEN; k++)
        any |= key[k];
    return any == 0;
}

/* ---- the lists (under the mutex) ---- */

/* A slot is on two lists, both linked by slot index: all live sessions
 * (LRU) and its client's. */
enum reg_list {
    REG_LIST_ALL,
    REG_LIST_CLIENT,
};

static uint32_t *
reg_link_prev(struct reg_slot *s, enum reg_list l)
{
    return l == REG_LIST_ALL ? &s->lru_prev : &s->cl_prev;
}

static uint32_t *
reg_link_next(struct reg_slot *s, enum reg_list l)
{
    return l == REG_LIST_ALL ? &s->lru_next : &s->cl_next;
}

/* Takes slot i off list l, whose ends are *head and *tail. */
static void
reg_list_unlink(struct registry *r, enum reg_list l, uint32_t *head,
                uint32_t *tail, uint32_t i)
{
    struct reg_slot *slots = reg_slots(r);
    uint32_t p = *reg_link_prev(&slots[i], l), n = *reg_link_next(&slots[i], l);

    if (p != REG_NO_SLOT)
        *reg_link_next(&slots[p], l) = n;
    else
        *head = n;
    if (n != REG_NO_SLOT)
        *reg_link_prev(&slots[n], l) = p;
    else
        *tail = p;
    *reg_link_prev(&slots[i], l) = *reg_link_next(&slots[i], l) = REG_NO_SLOT;
}

/* Puts slot i at the end (the most recent) of list l. */
static void
reg_list_append(struct registry *r, enum reg_list l, uint32_t *head,
                uint32_t *tail, uint32_t i)
{
    struct reg_slot *slots = reg_slots(r);

    *reg_link_prev(&slots[i], l) = *tail;
    *reg_link_next(&slots[i], l) = REG_NO_SLOT;
    if (*tail != REG_NO_SLOT)
        *reg_link_next(&slots[*tail], l) = i;
    else
        *head = i;
    *tail = i;
}

static void
reg_lru_unlink(struct registry *r, uint32_t i)
{
    reg_list_unlink(r, REG_LIST_ALL, &r->lru_head, &r->lru_tail, i);
}

static void
reg_lru_append(struct registry *r, uint32_t i)
{
    reg_list_append(r, REG_LIST_ALL, &r->lru_head, &r->lru_tail, i);
}

static void
reg_cl_unlink(struct registry *r, struct reg_centry *e, uint32_t i)
{
    reg_list_unlink(r, REG_LIST_CLIENT, &e->head, &e->tail, i);
}

static void
reg_cl_append(struct registry *r, struct reg_centry *e, uint32_t i)
{
    reg_list_append(r, REG_LIST_CLIENT, &e->head, &e->tail, i);
}

/* ---- the client table (under the mutex) ---- */

/* FNV-1a over the key from the random seed, then splitmix64's finaliser. */
static uint32_t
reg_ctab_home(const struct registry *r, const uint8_t key[REG_FP_LEN])
{
    uint64_t h = 0xcbf29ce484222325ull ^ r->seed;
    for (int k = 0; k < REG_FP_LEN; k++) {
        h ^= key[k];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (uint32_t)(h & (r->ctab_size - 1));
}

/* The entry of client key, or NULL. */
static struct reg_centry *
reg_ctab_find(struct registry *r, const uint8_t key[REG_FP_LEN])
{
    struct reg_centry *t = reg_ctab(r);
    uint32_t mask = r->ctab_size - 1;

    for (uint32_t i = reg_ctab_home(r, key), n = 0; n < r->ctab_size;
         i = (i + 1) & mask, n++) {
        if (t[i].count == 0)
            return NULL;
        if (memcmp(t[i].key, key, REG_FP_LEN) == 0)
            return &t[i];
    }
    return NULL;
}

/* The entry of client key, made (empty lists, count 0) when missing. The
 * table has twice as many entries as slots, so there is always room. */
static struct reg_centry *
reg_ctab_get(struct registry *r, const uint8_t key[REG_FP_LEN])
{
    struct reg_centry *t = reg_ctab(r);
    uint32_t mask = r->ctab_size - 1, i = reg_ctab_home(r, key);

    while (t[i].count != 0) {
        if (memcmp(t[i].key, key, REG_FP_LEN) == 0)
            return &t[i];
        i = (i + 1) & mask;
    }
    memcpy(t[i].key, key, REG_FP_LEN);
    t[i].head = t[i].tail = REG_NO_SLOT;
    return &t[i];
}

/* Removes an entry whose count fell to 0: the entries after it in its run
 * move back where a lookup would reach them first (backward-shift
 * deletion, so no tombstones pile up). */
static void
reg_ctab_remove(struct registry *r, const struct reg_centry *e)
{
    struct reg_centry *t = reg_ctab(r);
    uint32_t mask = r->ctab_size - 1;
    uint32_t hole = (uint32_t)(e - t), j = hole;

    for (;;) {
        j = (j + 1) & mask;
        if (t[j].count == 0)
            break;
        uint32_t home = reg_ctab_home(r, t[j].key);
        /* j stays when its home lies cyclically in (hole, j] */
        int stays =
            hole <= j ? hole < home && home <= j : hole < home || home <= j;
        if (stays)
            continue;
        t[hole] = t[j];
        hole = j;
    }
    memset(&t[hole], 0, sizeof(t[hole]));
}

/* Puts a just-claimed live slot at the end of the lists (a client's when
 * it has one). */
static void
reg_link_locked(struct registry *r, uint32_t i)
{
    struct reg_slot *s = &reg_slots(r)[i];

    s->pins = 0;
    reg_lru_append(r, i);
    s->cl_prev = s->cl_next = REG_NO_SLOT;
    if (!reg_key_none(s->client)) {
        struct reg_centry *e = reg_ctab_get(r, s->client);
        e->count++;
        reg_cl_append(r, e, i);
    }
}

/* Takes a live slot off the lists and out of its client's count. */
static void
reg_unlink_locked(struct registry *r, uint32_t i)
{
    struct reg_slot *s = &reg_slots(r)[i];

    reg_lru_unlink(r, i);
    if (!reg_key_none(s->client)) {
        struct reg_centry *e = reg_ctab_find(r, s->client);
        assert(e != NULL && e->count > 0);
        if (e != NULL) {
            reg_cl_unlink(r, e, i);
            if (--e->count == 0)
                reg_ctab_remove(r, e);
        }
    }
    s->pins = 0;
}

/* Makes a live slot the most recently used, on both lists. */
static void
reg_use_locked(struct registry *r, uint32_t i)
{
    struct reg_slot *s = &reg_slots(r)[i];

    if (r->lru_tail != i) {
        reg_lru_unlink(r, i);
        reg_lru_append(r, i);
    }
    if (!reg_key_none(s->client)) {
        struct reg_centry *e = reg_ctab_find(r, s->client);
        if (e != NULL && e->tail != i) {
            reg_cl_unlink(r, e, i);
            reg_cl_append(r, e, i);
        }
    }
}

/* What a freed slot must not keep: its orphan mark and its record (wiped:
 * it may hold session credentials). */
static void
reg_slot_forget(struct registry *r, uint32_t i)
{
    struct reg_slot *s = &reg_slots(r)[i];

    s->orphan = 0;
    if (s->recorded) /* else its page may never have been touched */
        reg_record_clear(reg_record(r, i));
    s->recorded = 0;
}

/* Rebuilds the free list (lowest slot first), the live count, the lists
 * and the client table from the slot states; frees slots that no valid
 * operation could have left. */
static void
reg_rebuild_locked(struct registry *r)
{
    struct reg_slot *slots = reg_slots(r);
    uint32_t live = 0;

    r->free_head = REG_NO_SLOT;
    for (uint32_t i = r->max_live; i-- > 0;) {
        struct reg_slot *s = &slots[i];
        uint32_t state = atomic_load(&s->state);
        int owner_ok = s->owner >= 0 && (uint32_t)s->owner < r->nworkers;
        if (!(state == SLOT_FREE || (state == SLOT_LIVE && owner_ok))) {
            atomic_store(&s->state, SLOT_FREE);
            atomic_store(&s->gen, reg_next_gen(atomic_load(&s->gen)));
            state = SLOT_FREE;
        }
        if (state == SLOT_FREE)
            reg_slot_forget(r, i);
        if (atomic_load(&s->gen) == 0)
            atomic_store(&s->gen, 1);
        if (state == SLOT_LIVE) {
            live++;
        } else {
            s->next_free = r->free_head;
            r->free_head = i;
        }
    }
    atomic_store(&r->live, live);
    memset(reg_ctab(r), 0, (size_t)r->ctab_size * sizeof(struct reg_centry));
    r->lru_head = r->lru_tail = REG_NO_SLOT;
    for (uint32_t i = 0; i < r->max_live; i++) {
        if (atomic_load(&slots[i].state) != SLOT_LIVE)
            continue;
        uint32_t pins = slots[i].pins;
        reg_link_locked(r, i);
        slots[i].pins = pins;
    }
}

/* Called with the mutex held after EOWNERDEAD: finishes or undoes the
 * operation the dead process announced, then rebuilds. */
static void
reg_repair_locked(struct registry *r)
{
    uint32_t op = atomic_load(&r->pending_op);
    uint32_t i = atomic_load(&r->pending_slot);
    uint32_t gen = atomic_load(&r->pending_gen);
    uint32_t before = atomic_load(&r->live);

    if (op == OP_RECORD && i < r->max_live) {
        /* A record half-written: the session lives on, but its state
         * cannot be trusted by an adopter. */
        struct reg_record *rec = reg_record(r, i);
        secure_wipe(rec->state, sizeof(rec->state));
        rec->len = 0;
        rec->torn = 1;
    } else if (op != OP_NONE && i < r->max_live) {
        /* A half-claimed slot never reached its caller and a half-released
         * one must end up FREE: either way the slot is freed, and its
         * generation moves past the announced one (if it has not yet). */
        struct reg_slot *s = &reg_slots(r)[i];
        atomic_store(&s->state, SLOT_FREE);
        if (atomic_load(&s->gen) == gen)
            atomic_store(&s->gen, reg_next_gen(gen));
        secure_wipe(s->token, sizeof(s->token));
    }
    atomic_store(&r->pending_op, OP_NONE);
    reg_rebuild_locked(r);
    char what[64] = "";
    if (op == OP_CLAIM)
        snprintf(what, sizeof(what), " while claiming slot %u (undone)", i);
    else if (op == OP_RELEASE)
        snprintf(what, sizeof(what), " while freeing slot %u (finished)", i);
    else if (op == OP_RECORD)
        snprintf(what, sizeof(what),
                 " while writing slot %u's record (marked torn)", i);
    log_warnx("registry: a process died holding the lock%s; repaired: %u "
              "live sessions (was %u)",
              what, atomic_load(&r->live), before);
}

/* Takes the registry mutex, repairing the table when its previous owner
 * died. Returns 0, or -1 with errno EIO when the mutex is unusable. */
static void
reg_repair(void *r)
{
    reg_repair_locked(r);
}

static int
reg_lock(struct registry *r)
{
    return shm_mutex_lock(&r->mu, reg_repair, r, "registry");
}

static void
reg_unlock(struct registry *r)
{
    shm_mutex_unlock(&r->mu);
}

/* Frees a LIVE slot; the mutex is held. */
static void
reg_free_slot_locked(struct registry *r, uint32_t i)
{
    struct reg_slot *s = &reg_slots(r)[i];
    uint32_t gen = atomic_load(&s->gen);

    assert(i < r->max_live);
    assert(atomic_load(&s->state) == SLOT_LIVE);
    assert(atomic_load(&r->live) > 0);
    atomic_store(&r->pending_slot, i);
    atomic_store(&r->pending_gen, gen);
    atomic_store(&r->pending_op, OP_RELEASE);
    reg_unlink_locked(r, i);
    /* FREE before the generation moves: a reader that saw the old
     * generation twice around LIVE really saw a live session. */
    atomic_store(&s->state, SLOT_FREE);
    atomic_store(&s->gen, reg_next_gen(gen));
    secure_wipe(s->token, sizeof(s->token));
    memset(s->cred, 0, sizeof(s->cred));
    memset(s->client, 0, sizeof(s->client));
    reg_slot_forget(r, i);
    s->next_free = r->free_head;
    r->free_head = i;
    atomic_fetch_sub(&r->live, 1);
    atomic_store(&r->pending_op, OP_NONE);
}

static void
reg_format_hex32(char *out, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int k = 7; k >= 0; k--) {
        out[k] = hex[v & 0xf];
        v >>= 4;
    }
}

static void
reg_format_id(char id[REG_ID_LEN + 1], uint32_t slot, uint32_t gen,
              const uint8_t token[REG_TOKEN_LEN])
{
    static const char hex[] = "0123456789abcdef";
    reg_format_hex32(id, slot);
    reg_format_hex32(id + 8, gen);
    for (int k = 0; k < REG_TOKEN_LEN; k++) {
        id[16 + 2 * k] = hex[token[k] >> 4];
        id[16 + 2 * k + 1] = hex[token[k] & 0xf];
    }
    id[REG_ID_LEN] = '\0';
}

static int
reg_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses exactly REG_ID_LEN lowercase hex digits followed by the NUL.
 * Reading stops at the first bad character, so a short string is never
 * read past its end. Returns 0 or -1. */
static int
reg_parse_id(const char *id, uint32_t *slot, uint32_t *gen,
             uint8_t token[REG_TOKEN_LEN])
{
    uint8_t nib[REG_ID_LEN];

    if (id == NULL)
        return -1;
    for (int k = 0; k < REG_ID_LEN; k++) {
        int v = reg_hex_digit(id[k]);
        if (v < 0)
            return -1;
        nib[k] = (uint8_t)v;
    }
    if (id[REG_ID_LEN] != '\0')
        return -1;
    *slot = 0;
    *gen = 0;
    for (int k = 0; k < 8; k++) {
        *slot = (*slot << 4) | nib[k];
        *gen = (*gen << 4) | nib[8 + k];
    }
    for (int k = 0; k < REG_TOKEN_LEN; k++)
        token[k] = (uint8_t)(nib[16 + 2 * k] << 4 | nib[16 + 2 * k + 1]);
    secure_wipe(nib, sizeof(nib));
    return 0;
}

struct registry *
reg_create(uint32_t max_live, uint32_t nworkers, char *err, size_t errlen)
{
    struct registry *r;
    size_t pids_off, streams_off, slots_off, ctab_off, rec_off, len;
    uint32_t ctab_size = 2;
    void *map;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (max_live == 0 || max_live > REG_MAX_SLOTS || nworkers == 0 ||
        nworkers > REG_MAX_WORKERS) {
        if (err != NULL)
            snprintf(err, errlen,
                     "registry: bad size (%u sessions, %u workers)", max_live,
                     nworkers);
        return NULL;
    }
    /* at most half full: every live session has at most one client */
    while (ctab_size < 2 * max_live)
        ctab_size *= 2;
    pids_off = reg_round_up(sizeof(struct registry));
    streams_off = reg_round_up(pids_off + (size_t)nworkers * sizeof(int32_t));
    slots_off = reg_round_up(streams_off + (size_t)nworkers * sizeof(uint32_t));
    ctab_off =
        reg_round_up(slots_off + (size_t)max_live * sizeof(struct reg_slot));
    rec_off =
        reg_round_up(ctab_off + (size_t)ctab_size * sizeof(struct reg_centry));
    len = rec_off + (size_t)max_live * sizeof(struct reg_record);

    map = shm_map(len, "registry", err, errlen);
    if (map == NULL)
        return NULL;
    /* The mapping comes zeroed: every slot is FREE, every pid 0. */
    r = map;
    r->magic = REG_MAGIC;
    r->version = REG_VERSION;
    r->slot_size = (uint32_t)sizeof(struct reg_slot);
    r->max_live = max_live;
    r->nworkers = nworkers;
    r->ctab_size = ctab_size;
    r->pids_off = pids_off;
    r->streams_off = streams_off;
    r->slots_off = slots_off;
    r->ctab_off = ctab_off;
    r->rec_off = rec_off;
    r->map_len = len;
    r->started_ms = now_ms();
    r->lru_head = r->lru_tail = REG_NO_SLOT;
    if (gnutls_rnd(GNUTLS_RND_NONCE, &r->seed, sizeof(r->seed)) != 0)
        r->seed = (uint64_t)mono_ms() * 0x9e3779b97f4a7c15ull;

    rc = shm_mutex_init(&r->mu);
    if (rc != 0) {
        errf(err, errlen, "registry: robust shared mutex: %s", strerror(rc));
        shm_unmap(map, len);
        return NULL;
    }

    struct reg_slot *slots = reg_slots(r);
    for (uint32_t i = 0; i < max_live; i++) {
        atomic_init(&slots[i].gen, 1);
        slots[i].next_free = i + 1 < max_live ? i + 1 : REG_NO_SLOT;
    }
    r->free_head = 0;
    return r;
}

/* Only unmaps: the mutex stays as it is because other processes may still
 * use the mapping (pthread_mutex_destroy would write to shared memory). */
void
reg_destroy(struct registry *r)
{
    if (r == NULL)
        return;
    assert(r->magic == REG_MAGIC);
    shm_unmap(r, r->map_len);
}

void
reg_set_limits(struct registry *r, uint32_t max_per_client,
               uint32_t max_streams)
{
    assert(r->magic == REG_MAGIC);
    r->max_per_client = max_per_client;
    r->max_streams = max_streams;
}

/* The least recently used unpinned session on a list that starts at head
 * and follows the lru (client 0) or client (1) links; REG_NO_SLOT when
 * every one is pinned. */
static uint32_t
reg_victim_locked(struct registry *r, uint32_t head, int client)
{
    struct reg_slot *slots = reg_slots(r);

    for (uint32_t i = head; i != REG_NO_SLOT;
         i = client ? slots[i].cl_next : slots[i].lru_next) {
        if (slots[i].pins == 0)
            return i;
    }
    return REG_NO_SLOT;
}

/* Makes room for one session of who (NULL: none), evicting as the header
 * says. Returns 0, or -1 with errno EDQUOT or EAGAIN. */
static int
reg_make_room_locked(struct registry *r, const struct reg_client *who)
{
    uint32_t v;

    if (who != NULL && r->max_per_client > 0 && !reg_key_none(who->key)) {
        struct reg_centry *e = reg_ctab_find(r, who->key);
        if (e != NULL && e->count >= r->max_per_client) {
            v = reg_victim_locked(r, e->head, 1);
            if (v == REG_NO_SLOT) {
                errno = EDQUOT;
                return -1;
            }
            reg_free_slot_locked(r, v);
            atomic_fetch_add(&r->evicted[REG_EVICT_CLIENT], 1);
        }
    }
    if (r->free_head != REG_NO_SLOT)
        return 0;
    v = who != NULL ? reg_victim_locked(r, r->lru_head, 0) : REG_NO_SLOT;
    if (v == REG_NO_SLOT) {
        errno = EAGAIN;
        return -1;
    }
    reg_free_slot_locked(r, v);
    atomic_fetch_add(&r->evicted[REG_EVICT_FULL], 1);
    return 0;
}

int
reg_claim_as(struct registry *r, int w, enum reg_kind kind,
             const struct reg_client *who, char id[REG_ID_LEN + 1],
             struct reg_ref *ref)
{
    uint8_t token[REG_TOKEN_LEN];
    struct reg_slot *s;
    uint32_t i, gen;

    assert(r->magic == REG_MAGIC);
    assert(id != NULL && ref != NULL);
    if (!reg_worker_ok(r, w) ||
        (kind != REG_KIND_LEGACY && kind != REG_KIND_STREAMABLE)) {
        errno = EINVAL;
        return -1;
    }
    /* Draw the token before locking: the lock is held briefly, and a
     * failing generator must not leave a half-claimed slot. */
    if (gnutls_rnd(GNUTLS_RND_KEY, token, sizeof(token)) != 0) {
        log_warnx("registry: the random generator failed");
        errno = EIO;
        return -1;
    }
    if (reg_lock(r) < 0) {
        secure_wipe(token, sizeof(token));
        return -1;
    }
    if (reg_make_room_locked(r, who) < 0) {
        int e = errno;
        reg_unlock(r);
        secure_wipe(token, sizeof(token));
        errno = e;
        return -1;
    }
    i = r->free_head;
    assert(i < r->max_live);
    s = &reg_slots(r)[i];
    assert(atomic_load(&s->state) == SLOT_FREE);
    gen = atomic_load(&s->gen);
    atomic_store(&r->pending_slot, i);
    atomic_store(&r->pending_gen, gen);
    atomic_store(&r->pending_op, OP_CLAIM);
    r->free_head = s->next_free;
    s->next_free = REG_NO_SLOT;
    memcpy(s->token, token, sizeof(token));
    s->owner = w;
    s->orphan = 0;
    s->kind = (uint32_t)kind;
    s->created_ms = now_ms();
    if (who != NULL) {
        memcpy(s->cred, who->cred, sizeof(s->cred));
        memcpy(s->client, who->key, sizeof(s->client));
    } else {
        memset(s->cred, 0, sizeof(s->cred));
        memset(s->client, 0, sizeof(s->client));
    }
    atomic_store(&s->last_seen_ms, mono_ms());
    reg_link_locked(r, i);
    atomic_store(&s->state, SLOT_LIVE);
    atomic_fetch_add(&r->live, 1);
    atomic_fetch_add(&r->sessions_total, 1);
    atomic_store(&r->pending_op, OP_NONE);
    reg_unlock(r);

    reg_format_id(id, i, gen, token);
    secure_wipe(token, sizeof(token));
    ref->slot = i;
    ref->gen = gen;
    return 0;
}

int
reg_claim(struct registry *r, int w, enum reg_kind kind,
          char id[REG_ID_LEN + 1], struct reg_ref *ref)
{
    return reg_claim_as(r, w, kind, NULL, id, ref);
}

int
reg_lookup_as(struct registry *r, const char *id, const uint8_t *cred,
              struct reg_ref *ref, int *owner, enum reg_kind *kind)
{
    uint8_t token[REG_TOKEN_LEN];
    uint32_t i, gen;
    int match;

    assert(r->magic == REG_MAGIC);
    if (reg_parse_id(id, &i, &gen, token) < 0 || i >= r->max_live) {
        errno = ENOENT;
        return -1;
    }
    if (reg_lock(r) < 0) {
        secure_wipe(token, sizeof(token));
        return -1;
    }
    struct reg_slot *s = &reg_slots(r)[i];
    /* The token is compared whatever the state, so the time taken says
     * nothing about it; the slot and generation are not secret. */
    match = ct_equal(s->token, sizeof(s->token), token, sizeof(token));
    if (cred != NULL)
        match &= ct_equal(s->cred, sizeof(s->cred), cred, REG_FP_LEN);
    match &= atomic_load(&s->state) == SLOT_LIVE;
    match &= atomic_load(&s->gen) == gen;
    if (match) {
        atomic_store(&s->last_seen_ms, mono_ms());
        reg_use_locked(r, i);
        if (ref != NULL) {
            ref->slot = i;
            ref->gen = gen;
        }
        if (owner != NULL)
            *owner = s->owner;
        if (kind != NULL)
            *kind = (enum reg_kind)s->kind;
    }
    reg_unlock(r);
    secure_wipe(token, sizeof(token));
    if (!match) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

int
reg_lookup(struct registry *r, const char *id, struct reg_ref *ref, int *owner,
           enum reg_kind *kind)
{
    return reg_lookup_as(r, id, NULL, ref, owner, kind);
}

/* Whether ref names the live slot it points at; the mutex is held. */
static int
reg_live_locked(struct registry *r, struct reg_ref ref)
{
    if (ref.slot >= r->max_live)
        return 0;
    struct reg_slot *s = &reg_slots(r)[ref.slot];
    return atomic_load(&s->state) == SLOT_LIVE &&
           atomic_load(&s->gen) == ref.gen;
}

int
reg_pin(struct registry *r, struct reg_ref ref)
{
    int rc = -1;

    assert(r->magic == REG_MAGIC);
    if (reg_lock(r) < 0)
        return -1;
    if (reg_live_locked(r, ref)) {
        reg_slots(r)[ref.slot].pins++;
        rc = 0;
    }
    reg_unlock(r);
    if (rc < 0)
        errno = ENOENT;
    return rc;
}

void
reg_unpin(struct registry *r, struct reg_ref ref)
{
    assert(r->magic == REG_MAGIC);
    if (reg_lock(r) < 0)
        return;
    if (reg_live_locked(r, ref)) {
        struct reg_slot *s = &reg_slots(r)[ref.slot];
        if (s->pins > 0 && --s->pins == 0)
            reg_use_locked(r, ref.slot);
    }
    reg_unlock(r);
}

int
reg_stream_open(struct registry *r, int w)
{
    _Atomic uint32_t *ws = reg_wstreams(r);
    uint64_t total = 0;
    int rc = 0;

    assert(r->magic == REG_MAGIC);
    if (!reg_worker_ok(r, w)) {
        errno = EINVAL;
        return -1;
    }
    /* Under the mutex, so that workers opening at once cannot together
     * pass the limit; each count is one word, so a death leaves none
     * half-written. */
    if (reg_lock(r) < 0)
        return -1;
    for (uint32_t k = 0; k < r->nworkers; k++)
        total += atomic_load(&ws[k]);
    if (r->max_streams > 0 && total >= r->max_streams)
        rc = -1;
    else
        atomic_fetch_add(&ws[w], 1);
    reg_unlock(r);
    if (rc < 0)
        errno = EAGAIN;
    return rc;
}

/* A bad w, or a count already 0 (the worker was reaped), is ignored. */
void
reg_stream_close(struct registry *r, int w)
{
    if (!reg_worker_ok(r, w))
        return;
    _Atomic uint32_t *c = &reg_wstreams(r)[w];
    uint32_t cur = atomic_load(c);
    while (cur > 0 && !atomic_compare_exchange_weak(c, &cur, cur - 1))
        ;
}

uint32_t
reg_streams(struct registry *r)
{
    uint64_t total = 0;
    for (uint32_t k = 0; k < r->nworkers; k++)
        total += atomic_load(&reg_wstreams(r)[k]);
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

uint32_t
reg_max_streams(struct registry *r)
{
    return r->max_streams;
}

uint32_t
reg_max_per_client(struct registry *r)
{
    return r->max_per_client;
}

/* Returns 0 when the mutex is unusable. */
uint32_t
reg_client_sessions(struct registry *r, const uint8_t key[REG_FP_LEN])
{
    uint32_t n = 0;

    if (reg_key_none(key) || reg_lock(r) < 0)
        return 0;
    struct reg_centry *e = reg_ctab_find(r, key);
    if (e != NULL)
        n = e->count;
    reg_unlock(r);
    return n;
}

uint64_t
reg_evictions(struct registry *r, enum reg_evict_reason why)
{
    if ((unsigned)why >= REG_EVICT_REASONS)
        return 0;
    return atomic_load(&r->evicted[why]);
}

int
reg_valid(struct registry *r, struct reg_ref ref)
{
    assert(r->magic == REG_MAGIC);
    if (ref.slot >= r->max_live)
        return 0;
    struct reg_slot *s = &reg_slots(r)[ref.slot];
    uint32_t g1 = atomic_load(&s->gen);
    uint32_t state = atomic_load(&s->state);
    uint32_t g2 = atomic_load(&s->gen);
    return g1 == ref.gen && g2 == ref.gen && state == SLOT_LIVE;
}

/* Lock-free. If the session is released and its slot claimed again between
 * the check and the store, the new session's last-seen (set at its claim)
 * moves to about the same instant: harmless. */
void
reg_touch(struct registry *r, struct reg_ref ref)
{
    if (reg_valid(r, ref))
        atomic_store(&reg_slots(r)[ref.slot].last_seen_ms, mono_ms());
}

/* Sets errno ENOENT for a stale ref, EIO when the mutex is unusable. */
int
reg_release(struct registry *r, struct reg_ref ref)
{
    int rc = -1;

    assert(r->magic == REG_MAGIC);
    if (ref.slot >= r->max_live) {
        errno = ENOENT;
        return -1;
    }
    if (reg_lock(r) < 0)
        return -1;
    struct reg_slot *s = &reg_slots(r)[ref.slot];
    if (atomic_load(&s->state) == SLOT_LIVE &&
        atomic_load(&s->gen) == ref.gen) {
        reg_free_slot_locked(r, ref.slot);
        rc = 0;
    }
    reg_unlock(r);
    if (rc < 0)
        errno = ENOENT;
    return rc;
}

/* Returns -1 (errno EIO) when the mutex is unusable; 0 for a bad w. */
int
reg_reap_worker(struct registry *r, int w, int *orphaned)
{
    int n = 0, o = 0;

    assert(r->magic == REG_MAGIC);
    if (orphaned != NULL)
        *orphaned = 0;
    if (!reg_worker_ok(r, w))
        return 0;
    atomic_store(&reg_wstreams(r)[w], 0);
    if (reg_lock(r) < 0)
        return -1;
    struct reg_slot *slots = reg_slots(r);
    for (uint32_t i = 0; i < r->max_live; i++) {
        struct reg_slot *s = &slots[i];
        if (atomic_load(&s->state) != SLOT_LIVE || s->owner != w || s->orphan)
            continue;
        if (s->kind == REG_KIND_STREAMABLE) {
            /* its streams and jobs died with the worker: nothing pins it
             * but what live workers hold, and their unpins stop at 0 */
            s->orphan = 1;
            s->pins = 0;
            o++;
        } else {
            reg_free_slot_locked(r, i);
            n++;
        }
    }
    reg_unlock(r);
    if (orphaned != NULL)
        *orphaned = o;
    return n;
}

/* Runs op(r, slot, arg) under the mutex when ref names a live session.
 * Returns what op returns (0, or -1 with errno set), or -1 with errno
 * ENOENT when ref is stale, EIO when the mutex is unusable. */
static int
reg_on_live(struct registry *r, struct reg_ref ref,
            int (*op)(struct registry *r, uint32_t i, void *arg), void *arg)
{
    int rc = -1, err = ENOENT;

    assert(r->magic == REG_MAGIC);
    if (reg_lock(r) < 0)
        return -1;
    if (reg_live_locked(r, ref)) {
        rc = op(r, ref.slot, arg);
        err = errno;
    }
    reg_unlock(r);
    if (rc < 0)
        errno = err;
    return rc;
}

struct reg_adopt_args {
    int w, dead_owner;
    void *state;
    size_t cap, *len;
    int owner; /* adopted from, or the live owner (EBUSY) */
};

static int
reg_adopt_op(struct registry *r, uint32_t i, void *arg)
{
    struct reg_adopt_args *a = arg;
    struct reg_slot *s = &reg_slots(r)[i];
    struct reg_record *rec = reg_record(r, i);

    a->owner = s->owner;
    if (s->kind != REG_KIND_STREAMABLE || rec->torn) {
        errno = ENOENT;
        return -1;
    }
    if (!s->orphan && (a->dead_owner < 0 || s->owner != a->dead_owner)) {
        errno = EBUSY; /* adopted already, or its owner lives */
        return -1;
    }
    if (rec->len > a->cap) {
        errno = EMSGSIZE;
        return -1;
    }
    s->owner = a->w;
    s->orphan = 0;
    memcpy(a->state, rec->state, rec->len);
    *a->len = rec->len;
    atomic_store(&s->last_seen_ms, mono_ms());
    return 0;
}

int
reg_adopt(struct registry *r, struct reg_ref ref, int w, int dead_owner,
          void *state, size_t cap, size_t *len, int *owner)
{
    struct reg_adopt_args a = {w, dead_owner, state, cap, len, -1};

    *len = 0;
    if (!reg_worker_ok(r, w)) {
        errno = EINVAL;
        return -1;
    }
    int rc = reg_on_live(r, ref, reg_adopt_op, &a);
    if (owner != NULL)
        *owner = a.owner;
    return rc;
}

struct reg_owner_args {
    int owner, orphan;
};

static int
reg_owner_op(struct registry *r, uint32_t i, void *arg)
{
    struct reg_owner_args *a = arg;
    a->owner = reg_slots(r)[i].owner;
    a->orphan = (int)reg_slots(r)[i].orphan;
    return 0;
}

int
reg_owner(struct registry *r, struct reg_ref ref, int *owner, int *orphan)
{
    struct reg_owner_args a = {-1, 0};
    int rc = reg_on_live(r, ref, reg_owner_op, &a);

    *owner = a.owner;
    if (orphan != NULL)
        *orphan = a.orphan;
    return rc;
}

struct reg_save_args {
    int w;
    const void *state;
    size_t len;
};

static int
reg_save_op(struct registry *r, uint32_t i, void *arg)
{
    const struct reg_save_args *a = arg;
    struct reg_slot *s = &reg_slots(r)[i];
    struct reg_record *rec = reg_record(r, i);

    if (s->owner != a->w || s->orphan) {
        errno = EPERM; /* no longer ours: the new owner's record wins */
        return -1;
    }
    atomic_store(&r->pending_slot, i);
    atomic_store(&r->pending_gen, atomic_load(&s->gen));
    atomic_store(&r->pending_op, OP_RECORD);
    s->recorded = 1;
    if (a->len < rec->len)
        secure_wipe(rec->state + a->len, rec->len - a->len);
    memcpy(rec->state, a->state, a->len);
    rec->len = (uint32_t)a->len;
    rec->torn = 0;
    atomic_store(&r->pending_op, OP_NONE);
    return 0;
}

int
reg_state_save(struct registry *r, struct reg_ref ref, int w, const void *state,
               size_t len)
{
    struct reg_save_args a = {w, state, len};

    if (len > REG_STATE_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    return reg_on_live(r, ref, reg_save_op, &a);
}

struct reg_listener_args {
    int w; /* set: -1 clears; clear: only this one's; get: out */
    uint64_t stream;
    int op; /* 0 get, 1 set, 2 clear */
};

static int
reg_listener_op(struct registry *r, uint32_t i, void *arg)
{
    struct reg_listener_args *a = arg;
    struct reg_record *rec = reg_record(r, i);

    if (a->op == 0) {
        if (!reg_slots(r)[i].recorded || rec->listen_worker1 <= 0) {
            errno = ENOENT;
            return -1;
        }
        a->w = rec->listen_worker1 - 1;
        a->stream = rec->listen_stream;
        return 0;
    }
    if (a->op == 2 &&
        (!reg_slots(r)[i].recorded || rec->listen_worker1 != a->w + 1 ||
         rec->listen_stream != a->stream))
        return 0; /* another stream took its place */
    reg_slots(r)[i].recorded = 1;
    rec->listen_worker1 = a->op == 1 ? a->w + 1 : 0;
    rec->listen_stream = a->op == 1 ? a->stream : 0;
    return 0;
}

int
reg_listener_set(struct registry *r, struct reg_ref ref, int w, uint64_t stream)
{
    struct reg_listener_args a = {w, stream, 1};
    return reg_on_live(r, ref, reg_listener_op, &a);
}

int
reg_listener_clear(struct registry *r, struct reg_ref ref, int w,
                   uint64_t stream)
{
    struct reg_listener_args a = {w, stream, 2};
    return reg_on_live(r, ref, reg_listener_op, &a);
}

int
reg_listener_get(struct registry *r, struct reg_ref ref, int *w,
                 uint64_t *stream)
{
    struct reg_listener_args a = {-1, 0, 0};
    int rc = reg_on_live(r, ref, reg_listener_op, &a);

    *w = a.w;
    *stream = a.stream;
    return rc;
}

struct reg_inflight_args {
    int w;
    uint64_t stream;
    const char *id;              /* add */
    char (*ids)[REG_RPC_ID_MAX]; /* move */
    int max, n;
    int to_w; /* move: the new stream's worker, -1: remove */
    uint64_t to_stream;
};

static int
reg_inflight_add_op(struct registry *r, uint32_t i, void *arg)
{
    const struct reg_inflight_args *a = arg;
    struct reg_record *rec = reg_record(r, i);
    struct reg_inflight *e = NULL;

    reg_slots(r)[i].recorded = 1;
    for (int k = 0; k < REG_INFLIGHT_MAX && e == NULL; k++)
        if (rec->inflight[k].worker1 == 0)
            e = &rec->inflight[k];
    if (e == NULL) {
        /* full: the oldest goes (its stream most likely ended) */
        e = &rec->inflight[rec->next_inflight % REG_INFLIGHT_MAX];
        rec->next_inflight = (rec->next_inflight + 1) % REG_INFLIGHT_MAX;
    }
    e->stream = a->stream;
    memcpy(e->id, a->id, strlen(a->id) + 1);
    e->worker1 = a->w + 1;
    return 0;
}

int
reg_inflight_add(struct registry *r, struct reg_ref ref, int w, uint64_t stream,
                 const char *id)
{
    struct reg_inflight_args a = {w, stream, id, NULL, 0, 0, -1, 0};

    if (strlen(id) >= REG_RPC_ID_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    return reg_on_live(r, ref, reg_inflight_add_op, &a);
}

static int
reg_inflight_move_op(struct registry *r, uint32_t i, void *arg)
{
    struct reg_inflight_args *a = arg;
    struct reg_record *rec = reg_record(r, i);

    for (int k = 0; k < REG_INFLIGHT_MAX; k++) {
        struct reg_inflight *e = &rec->inflight[k];
        if (e->worker1 != a->w + 1 || e->stream != a->stream)
            continue;
        if (a->ids != NULL && a->n < a->max) {
            memcpy(a->ids[a->n], e->id, sizeof(e->id));
            a->ids[a->n][REG_RPC_ID_MAX - 1] = '\0';
            a->n++;
        }
        e->worker1 = a->to_w + 1;
        e->stream = a->to_stream;
    }
    return 0;
}

int
reg_inflight_move(struct registry *r, struct reg_ref ref, int w,
                  uint64_t stream, int to_w, uint64_t to_stream,
                  char (*ids)[REG_RPC_ID_MAX], int max)
{
    struct reg_inflight_args a = {w,   stream, NULL, ids,
                                  max, 0,      to_w, to_stream};

    reg_on_live(r, ref, reg_inflight_move_op, &a);
    return a.n;
}

int
reg_inflight_take(struct registry *r, struct reg_ref ref, int w,
                  uint64_t stream, char (*ids)[REG_RPC_ID_MAX], int max)
{
    return reg_inflight_move(r, ref, w, stream, -1, 0, ids, max);
}

/* Scans in batches of REG_EXPIRE_BATCH so no allocation is needed and the
 * callback never runs under the lock. cb may be NULL. Returns -1 (errno
 * EIO) only when the mutex fails before anything was freed. */
int
reg_expire_idle(struct registry *r, int w, int64_t idle_ms,
                void (*cb)(void *arg, struct reg_ref ref), void *arg)
{
    struct reg_ref batch[REG_EXPIRE_BATCH];
    int64_t now = mono_ms();
    uint32_t i = 0;
    int total = 0;

    assert(r->magic == REG_MAGIC);
    if (!reg_worker_ok(r, w))
        return 0;
    struct reg_slot *slots = reg_slots(r);
    while (i < r->max_live) {
        int n = 0;
        /* skip, without the mutex, the slots that cannot expire (its
         * atomic fields tell): the scan holds it only near candidates */
        while (i < r->max_live &&
               (atomic_load(&slots[i].state) != SLOT_LIVE ||
                now - atomic_load(&slots[i].last_seen_ms) <= idle_ms))
            i++;
        if (i >= r->max_live)
            break;
        if (reg_lock(r) < 0)
            return total > 0 ? total : -1;
        for (; i < r->max_live && n < REG_EXPIRE_BATCH; i++) {
            struct reg_slot *s = &slots[i];
            if (atomic_load(&s->state) != SLOT_LIVE ||
                (s->owner != w && !s->orphan) ||
                now - atomic_load(&s->last_seen_ms) <= idle_ms)
                continue;
            batch[n].slot = i;
            batch[n].gen = atomic_load(&s->gen);
            n++;
            reg_free_slot_locked(r, i);
        }
        reg_unlock(r);
        for (int k = 0; k < n; k++) {
            if (cb != NULL)
                cb(arg, batch[k]);
        }
        total += n;
    }
    return total;
}

uint32_t
reg_live(struct registry *r)
{
    return atomic_load(&r->live);
}

uint32_t
reg_max_live(struct registry *r)
{
    return r->max_live;
}

/* A bad w is ignored. */
void
reg_worker_set(struct registry *r, int w, pid_t pid)
{
    if (reg_worker_ok(r, w))
        atomic_store(&reg_pids(r)[w], (int32_t)pid);
}

/* Returns 0 for a bad w. */
pid_t
reg_worker_pid(struct registry *r, int w)
{
    if (!reg_worker_ok(r, w))
        return 0;
    return (pid_t)atomic_load(&reg_pids(r)[w]);
}

uint32_t
reg_workers(struct registry *r)
{
    return r->nworkers;
}

uint32_t
reg_workers_alive(struct registry *r)
{
    uint32_t n = 0;
    for (uint32_t w = 0; w < r->nworkers; w++)
        n += atomic_load(&reg_pids(r)[w]) != 0;
    return n;
}

int64_t
reg_started_ms(struct registry *r)
{
    return r->started_ms;
}

uint64_t
reg_sessions_total(struct registry *r)
{
    return atomic_load(&r->sessions_total);
}

/* ---- for tests ---- */

void
reg_debug_lock_and_exit(struct registry *r, enum reg_debug_stage stage,
                        struct reg_ref ref)
{
    if (reg_lock(r) < 0)
        _exit(3);
    struct reg_slot *slots = reg_slots(r);
    if (stage == REG_DEBUG_MID_CLAIM && r->free_head != REG_NO_SLOT) {
        /* the slot is off the free list, LIVE and counted; the claim is
         * still announced */
        uint32_t i = r->free_head;
        atomic_store(&r->pending_slot, i);
        atomic_store(&r->pending_gen, atomic_load(&slots[i].gen));
        atomic_store(&r->pending_op, OP_CLAIM);
        r->free_head = slots[i].next_free;
        slots[i].owner = 0;
        slots[i].kind = REG_KIND_LEGACY;
        atomic_store(&slots[i].state, SLOT_LIVE);
        atomic_fetch_add(&r->live, 1);
    } else if (stage == REG_DEBUG_MID_RELEASE && ref.slot < r->max_live &&
               atomic_load(&slots[ref.slot].state) == SLOT_LIVE) {
        /* FREE and off the LRU list, but the generation has not moved,
         * the slot is not on the free list, and the live count and its
         * client's count still include it */
        atomic_store(&r->pending_slot, ref.slot);
        atomic_store(&r->pending_gen, atomic_load(&slots[ref.slot].gen));
        atomic_store(&r->pending_op, OP_RELEASE);
        reg_lru_unlink(r, ref.slot);
        atomic_store(&slots[ref.slot].state, SLOT_FREE);
    } else if (stage == REG_DEBUG_MID_RECORD && ref.slot < r->max_live &&
               atomic_load(&slots[ref.slot].state) == SLOT_LIVE) {
        /* half of new state over the old one */
        struct reg_record *rec = reg_record(r, ref.slot);
        atomic_store(&r->pending_slot, ref.slot);
        atomic_store(&r->pending_gen, atomic_load(&slots[ref.slot].gen));
        atomic_store(&r->pending_op, OP_RECORD);
        slots[ref.slot].recorded = 1;
        memset(rec->state, 'x', rec->len / 2 + 1);
    }
    _exit(0);
}

void
reg_debug_age(struct registry *r, struct reg_ref ref, int64_t ms)
{
    if (reg_valid(r, ref))
        atomic_fetch_sub(&reg_slots(r)[ref.slot].last_seen_ms, ms);
}

/* Walks one list from head (lru: the LRU links, else the client links)
 * checking its back links; returns its length, or UINT32_MAX when it is
 * broken or longer than the table. */
static uint32_t
reg_debug_walk(struct registry *r, uint32_t head, uint32_t tail, int lru)
{
    struct reg_slot *slots = reg_slots(r);
    uint32_t n = 0, prev = REG_NO_SLOT;

    for (uint32_t i = head; i != REG_NO_SLOT;
         i = lru ? slots[i].lru_next : slots[i].cl_next) {
        if (i >= r->max_live || n > r->max_live ||
            atomic_load(&slots[i].state) != SLOT_LIVE ||
            (lru ? slots[i].lru_prev : slots[i].cl_prev) != prev)
            return UINT32_MAX;
        prev = i;
        n++;
    }
    return prev == tail ? n : UINT32_MAX;
}

int
reg_debug_check(struct registry *r, char *why, size_t len)
{
    struct reg_slot *slots = reg_slots(r);
    struct reg_centry *t = reg_ctab(r);
    uint32_t live = 0, nfree = 0, clients = 0, in_clients = 0;
    int rc = -1;

    if (reg_lock(r) < 0) {
        snprintf(why, len, "the mutex is unusable");
        return -1;
    }
    for (uint32_t i = 0; i < r->max_live; i++) {
        if (atomic_load(&slots[i].state) != SLOT_LIVE) {
            if (slots[i].orphan || reg_record(r, i)->len != 0) {
                snprintf(why, len, "free slot %u is an orphan or has state", i);
                goto out;
            }
            continue;
        }
        live++;
        if (slots[i].orphan && slots[i].kind != REG_KIND_STREAMABLE) {
            snprintf(why, len, "slot %u: a legacy session is an orphan", i);
            goto out;
        }
        if (!reg_key_none(slots[i].client))
            in_clients++;
    }
    for (uint32_t i = r->free_head; i != REG_NO_SLOT && nfree <= r->max_live;
         i = slots[i].next_free)
        nfree++;
    if (live != atomic_load(&r->live) || live + nfree != r->max_live) {
        snprintf(why, len, "live %u (counted %u), free %u of %u", live,
                 atomic_load(&r->live), nfree, r->max_live);
        goto out;
    }
    if (reg_debug_walk(r, r->lru_head, r->lru_tail, 1) != live) {
        snprintf(why, len, "the LRU list does not hold the %u live sessions",
                 live);
        goto out;
    }
    for (uint32_t k = 0; k < r->ctab_size; k++) {
        if (t[k].count == 0)
            continue;
        clients++;
        if (reg_ctab_find(r, t[k].key) != &t[k] ||
            reg_debug_walk(r, t[k].head, t[k].tail, 0) != t[k].count) {
            snprintf(why, len,
                     "client entry %u is unreachable or its list "
                     "does not match its count",
                     k);
            goto out;
        }
        in_clients -= t[k].count;
    }
    if (in_clients != 0) {
        snprintf(why, len, "client counts miss %u sessions", in_clients);
        goto out;
    }
    rc = 0;
    snprintf(why, len, "ok: %u live, %u clients", live, clients);
out:
    reg_unlock(r);
    return rc;
}
