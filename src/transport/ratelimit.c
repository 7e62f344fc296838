/*
 * ratelimit.c - the per-client GCRA limiter and the per-address connection
 * counts, in shared memory. See ratelimit.h.
 *
 * The limiter's mapping holds the header (struct ratelimit) and then the
 * sets, each one cache-line aligned: a robust process-shared mutex and
 * RL_WAYS slots {key hash, TAT}. A set's lock is held for a few loads and
 * stores, so contention between workers is negligible. Every state of a
 * slot is valid (a key with some TAT), so a process that dies holding a
 * set's lock leaves nothing to repair: the next locker only marks the mutex
 * consistent.
 *
 * The connection counts are one table per worker of {key, count} entries,
 * open addressing: a key lives within CL_PROBE entries of its home. Only
 * its worker writes a table (libmicrohttpd's thread accepts and closes);
 * others only read it. An entry whose count fell to 0 keeps its key and
 * may be taken by another key; keys never go back to 0 (but at a reset),
 * so a search may stop at the first empty entry.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "ratelimit.h"
#include "shm.h"
#include "util.h"

#define RL_MAGIC       0x524c4731u /* "RLG1" */
#define CL_MAGIC       0x434c4731u /* "CLG1" */
#define RL_ALIGN       64
#define RL_MAX_BUCKETS (1u << 24)
#define RL_MAX_BURST   1000000
#define NS_PER_S       1000000000LL

struct rl_slot {
    uint64_t key; /* hash of the client key; 0 = never used */
    int64_t tat;  /* theoretical arrival time, monotonic ns */
};

struct rl_set {
    _Alignas(RL_ALIGN) pthread_mutex_t mu;
    struct rl_slot slot[RL_WAYS];
};

/* Set once before fork, then read-only; the sets follow. */
struct ratelimit {
    uint32_t magic;
    uint32_t nsets;
    size_t map_len;
    size_t sets_off;
    int64_t interval_ns;  /* T = 1 / rate */
    int64_t tolerance_ns; /* burst * T */
    uint64_t seed;
    _Atomic int broken_logged;
};

static struct rl_set *
rl_sets(struct ratelimit *rl)
{
    return (struct rl_set *)(void *)((char *)rl + rl->sets_off);
}

/* FNV-1a over the key, started from the random seed, then the splitmix64
 * finaliser so every bit of the result depends on every input bit. The seed
 * keeps clients from choosing addresses that crowd one set. */
static uint64_t
seeded_hash(uint64_t seed, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h != 0 ? h : 1;
}

static uint64_t
rl_hash(const struct ratelimit *rl, const char *key)
{
    return seeded_hash(rl->seed, key);
}

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Locks a set. A dead owner left valid slots (see the top), so EOWNERDEAD
 * only needs pthread_mutex_consistent. Returns 0 or -1 (unusable). */
static int
rl_lock(struct ratelimit *rl, struct rl_set *set)
{
    int rc = pthread_mutex_lock(&set->mu);
    if (rc == EOWNERDEAD)
        rc = pthread_mutex_consistent(&set->mu);
    if (rc == 0)
        return 0;
    if (atomic_exchange(&rl->broken_logged, 1) == 0)
        log_error("rate limiter: lock: %s; requests are no longer limited",
                  strerror(rc));
    return -1;
}

struct ratelimit *
rl_create(double rate_per_s, int burst, unsigned nbuckets, char *err,
          size_t errlen)
{
    struct ratelimit *rl;
    size_t sets_off, len;
    uint32_t nsets;
    double interval;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!(rate_per_s > 0 && rate_per_s <= 1e9) || burst < 1 ||
        burst > RL_MAX_BURST || nbuckets > RL_MAX_BUCKETS) {
        if (err != NULL)
            snprintf(err, errlen,
                     "rate limiter: bad settings (rate %g/s, burst %d, %u "
                     "clients); the rate must be in (0, 1e9] and the burst "
                     "in 1..%d",
                     rate_per_s, burst, nbuckets, RL_MAX_BURST);
        return NULL;
    }
    interval = 1e9 / rate_per_s;
    if (interval * burst > 1e17) { /* centuries: surely a mistake */
        if (err != NULL)
            snprintf(err, errlen,
                     "rate limiter: rate %g/s with burst %d is too slow",
                     rate_per_s, burst);
        return NULL;
    }
    if (nbuckets == 0)
        nbuckets = RL_DEFAULT_BUCKETS;
    nsets = (nbuckets + RL_WAYS - 1) / RL_WAYS;
    sets_off = (sizeof(struct ratelimit) + RL_ALIGN - 1) / RL_ALIGN * RL_ALIGN;
    len = sets_off + (size_t)nsets * sizeof(struct rl_set);
    rl = shm_map(len, "rate limiter", err, errlen);
    if (rl == NULL)
        return NULL;
    rl->magic = RL_MAGIC;
    rl->nsets = nsets;
    rl->map_len = len;
    rl->sets_off = sets_off;
    rl->interval_ns = (int64_t)(interval + 0.5);
    if (rl->interval_ns < 1)
        rl->interval_ns = 1;
    rl->tolerance_ns = rl->interval_ns * burst;
    if (gnutls_rnd(GNUTLS_RND_NONCE, &rl->seed, sizeof(rl->seed)) != 0)
        rl->seed = (uint64_t)mono_ns();
    struct rl_set *sets = rl_sets(rl);
    for (uint32_t i = 0; i < nsets; i++) {
        int rc = shm_mutex_init(&sets[i].mu);
        if (rc != 0) {
            errf(err, errlen, "rate limiter: robust shared mutex: %s",
                 strerror(rc));
            shm_unmap(rl, len);
            return NULL;
        }
    }
    return rl;
}

/* Only unmaps: the mutexes may still be in use by other processes. */
void
rl_destroy(struct ratelimit *rl)
{
    if (rl != NULL)
        shm_unmap(rl, rl->map_len);
}

int
rl_allow_at(struct ratelimit *rl, const char *client_key, int64_t now_ns,
            double *retry_after_s)
{
    uint64_t h = rl_hash(rl, client_key);
    struct rl_set *set = &rl_sets(rl)[h % rl->nsets];
    struct rl_slot *s = NULL;
    int64_t tat, next, wait;

    if (rl_lock(rl, set) < 0)
        return 1;
    for (int k = 0; k < RL_WAYS && s == NULL; k++)
        if (set->slot[k].key == h)
            s = &set->slot[k];
    if (s == NULL) {
        /* The slot with the smallest TAT: a never used one (0), one with
         * nothing owed, or at worst the least indebted client. */
        s = &set->slot[0];
        for (int k = 1; k < RL_WAYS; k++)
            if (set->slot[k].tat < s->tat)
                s = &set->slot[k];
        s->tat = now_ns;
        s->key = h;
    }
    tat = s->tat > now_ns ? s->tat : now_ns;
    next = tat + rl->interval_ns;
    wait = next - now_ns - rl->tolerance_ns;
    if (wait <= 0)
        s->tat = next;
    pthread_mutex_unlock(&set->mu);
    if (wait <= 0)
        return 1;
    if (retry_after_s != NULL)
        *retry_after_s = (double)wait / 1e9;
    return 0;
}

int
rl_allow(struct ratelimit *rl, const char *client_key, double *retry_after_s)
{
    return rl_allow_at(rl, client_key, mono_ns(), retry_after_s);
}

const char *
rl_client_key(const struct sockaddr *sa, char *out, size_t outlen)
{
    char text[INET6_ADDRSTRLEN];

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != NULL) {
            snprintf(out, outlen, "%s", text);
            return out;
        }
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        struct in6_addr a = in6->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            if (inet_ntop(AF_INET, &a.s6_addr[12], text, sizeof(text)) !=
                NULL) {
                snprintf(out, outlen, "%s", text);
                return out;
            }
        } else {
            memset(&a.s6_addr[8], 0, 8);
            if (inet_ntop(AF_INET6, &a, text, sizeof(text)) != NULL) {
                snprintf(out, outlen, "%s/64", text);
                return out;
            }
        }
    }
    snprintf(out, outlen, "other");
    return out;
}

long
rl_retry_after_header(double retry_after_s)
{
    if (!(retry_after_s > 1)) /* NaN included */
        return 1;
    if (retry_after_s >= 86400)
        return 86400;
    long s = (long)retry_after_s;
    return (double)s < retry_after_s ? s + 1 : s;
}

/* ---- for tests ---- */

void
rl_debug_lock_and_exit(struct ratelimit *rl, const char *client_key)
{
    uint64_t h = rl_hash(rl, client_key);
    struct rl_set *set = &rl_sets(rl)[h % rl->nsets];
    if (rl_lock(rl, set) < 0)
        _exit(3);
    set->slot[0].key = h; /* half an eviction: the TAT is someone else's */
    _exit(0);
}

/* ---- connections per client address ---- */

struct cl_entry {
    _Atomic uint64_t key; /* 0: never used */
    _Atomic uint32_t count;
    uint32_t unused;
};

/* Set once before fork, then read-only; the tables follow. */
struct conn_limit {
    uint32_t magic;
    uint32_t nworkers;
    uint32_t per_client;
    uint32_t entries; /* per worker, a power of two */
    size_t map_len;
    size_t tables_off;
    uint64_t seed;
};

static struct cl_entry *
cl_table(const struct conn_limit *cl, int w)
{
    return (struct cl_entry *)(void *)((char *)cl + cl->tables_off +
                                       (size_t)w * cl->entries *
                                           sizeof(struct cl_entry));
}

struct conn_limit *
cl_create(unsigned nworkers, unsigned per_client, char *err, size_t errlen)
{
    struct conn_limit *cl;
    size_t off, len;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (nworkers == 0 || nworkers > 4096 || per_client == 0) {
        if (err != NULL)
            snprintf(err, errlen,
                     "connection limit: bad settings (%u workers, %u per "
                     "address)",
                     nworkers, per_client);
        return NULL;
    }
    off = (sizeof(struct conn_limit) + RL_ALIGN - 1) / RL_ALIGN * RL_ALIGN;
    len = off + (size_t)nworkers * CL_DEFAULT_ENTRIES * sizeof(struct cl_entry);
    cl = shm_map(len, "connection limit", err, errlen);
    if (cl == NULL)
        return NULL;
    /* The mapping comes zeroed: every table is empty. */
    cl->magic = CL_MAGIC;
    cl->nworkers = nworkers;
    cl->per_client = per_client;
    cl->entries = CL_DEFAULT_ENTRIES;
    cl->map_len = len;
    cl->tables_off = off;
    if (gnutls_rnd(GNUTLS_RND_NONCE, &cl->seed, sizeof(cl->seed)) != 0)
        cl->seed = (uint64_t)mono_ns();
    return cl;
}

void
cl_destroy(struct conn_limit *cl)
{
    if (cl != NULL)
        shm_unmap(cl, cl->map_len);
}

uint64_t
cl_key(const struct conn_limit *cl, const char *client_key)
{
    return seeded_hash(cl->seed, client_key); /* never 0 */
}

/* The count of key in table t (0 when absent). */
static unsigned
cl_count_in(const struct conn_limit *cl, const struct cl_entry *t, uint64_t key)
{
    uint32_t mask = cl->entries - 1;
    for (uint32_t j = 0, i = (uint32_t)key & mask; j < CL_PROBE;
         j++, i = (i + 1) & mask) {
        uint64_t k = atomic_load_explicit(&t[i].key, memory_order_acquire);
        if (k == 0)
            break;
        if (k == key)
            return atomic_load_explicit(&t[i].count, memory_order_relaxed);
    }
    return 0;
}

unsigned
cl_count(const struct conn_limit *cl, uint64_t key)
{
    unsigned n = 0;
    for (uint32_t w = 0; w < cl->nworkers; w++)
        n += cl_count_in(cl, cl_table(cl, (int)w), key);
    return n;
}

int
cl_full(const struct conn_limit *cl, uint64_t key)
{
    return cl_count(cl, key) >= cl->per_client;
}

/* A bad w counts nothing. */
int
cl_add(struct conn_limit *cl, int w, uint64_t key)
{
    if (w < 0 || (uint32_t)w >= cl->nworkers || key == 0)
        return 0;
    struct cl_entry *t = cl_table(cl, w), *spare = NULL;
    uint32_t mask = cl->entries - 1;
    for (uint32_t j = 0, i = (uint32_t)key & mask; j < CL_PROBE;
         j++, i = (i + 1) & mask) {
        uint64_t k = atomic_load_explicit(&t[i].key, memory_order_relaxed);
        if (k == key) {
            atomic_fetch_add_explicit(&t[i].count, 1, memory_order_relaxed);
            return 1;
        }
        if (k == 0) {
            if (spare == NULL)
                spare = &t[i];
            break;
        }
        if (spare == NULL &&
            atomic_load_explicit(&t[i].count, memory_order_relaxed) == 0)
            spare = &t[i];
    }
    if (spare == NULL)
        return 0;
    atomic_store_explicit(&spare->count, 1, memory_order_relaxed);
    atomic_store_explicit(&spare->key, key, memory_order_release);
    return 1;
}

void
cl_remove(struct conn_limit *cl, int w, uint64_t key)
{
    if (w < 0 || (uint32_t)w >= cl->nworkers || key == 0)
        return;
    struct cl_entry *t = cl_table(cl, w);
    uint32_t mask = cl->entries - 1;
    for (uint32_t j = 0, i = (uint32_t)key & mask; j < CL_PROBE;
         j++, i = (i + 1) & mask) {
        uint64_t k = atomic_load_explicit(&t[i].key, memory_order_relaxed);
        if (k == 0)
            return;
        if (k == key) {
            uint32_t c =
                atomic_load_explicit(&t[i].count, memory_order_relaxed);
            if (c > 0)
                atomic_store_explicit(&t[i].count, c - 1, memory_order_relaxed);
            return;
        }
    }
}

void
cl_reset_worker(struct conn_limit *cl, int w)
{
    if (w < 0 || (uint32_t)w >= cl->nworkers)
        return;
    struct cl_entry *t = cl_table(cl, w);
    for (uint32_t i = 0; i < cl->entries; i++) {
        atomic_store(&t[i].key, 0);
        atomic_store(&t[i].count, 0);
    }
}

unsigned
cl_limit(const struct conn_limit *cl)
{
    return cl->per_client;
}
