/*
 * ratelimit.h - generic limits shared by every worker process (nothing
 * here knows Binance; its weight budget is budget.h):
 *
 *  1. Per-client request rate (GCRA, the generic cell rate algorithm): a
 *     client may send `burst` requests at once and then one every
 *     1/rate seconds. The state is one number per client, its theoretical
 *     arrival time (TAT); a request at `now` is allowed when
 *         max(TAT, now) + T - now <= burst * T      (T = 1 / rate)
 *     and then TAT becomes max(TAT, now) + T. Otherwise the client must wait
 *     max(TAT, now) + T - now - burst * T.
 *
 *  2. Open connections per client address (max_connections_per_ip): each
 *     worker counts its own connections by address in its own table; the
 *     count of an address is the sum over the workers' tables, read
 *     without a lock. A worker's table is reset when a worker starts in its
 *     slot, so a dead worker's connections are forgotten.
 *
 * Each lives in its own anonymous MAP_SHARED mapping, created by the
 * supervisor before it forks, so every worker sees them at the same address.
 * A process that dies while using them never wedges the others (robust
 * mutexes, lock-free atomics).
 */
#ifndef BINMCPD_RATELIMIT_H
#define BINMCPD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* ---- per-client rate ---- */

#define RL_WAYS            8     /* a client's state is in one of 8 slots */
#define RL_DEFAULT_BUCKETS 16384 /* client states kept, by default */
#define RL_KEY_MAX         64    /* rl_client_key() output, with the NUL */

struct ratelimit;

/* Creates a limiter of rate_per_s requests per second (> 0) with a burst
 * of burst requests (>= 1), keeping up to nbuckets client states (0: the
 * default; rounded up to a multiple of RL_WAYS). Call before fork. Returns
 * NULL with a sentence in err (bad arguments, mmap or mutex failure).
 *
 * Client keys are hashed with a random seed into sets of RL_WAYS slots, one
 * robust mutex per set. A key takes the slot that holds it, else a slot
 * whose TAT has passed (a client with nothing owed is the same as a client
 * never seen), else the slot closest to passing: with more active clients
 * than slots, the least indebted of them starts afresh. */
struct ratelimit *rl_create(double rate_per_s, int burst, unsigned nbuckets,
                            char *err, size_t errlen);

/* Unmaps the limiter (other processes keep their own mapping). */
void rl_destroy(struct ratelimit *rl);

/* Counts one request of client_key (any NUL-terminated string, usually from
 * rl_client_key) now, on CLOCK_MONOTONIC. Returns 1 when allowed, 0 when
 * limited; then *retry_after_s (may be NULL) is the wait in seconds (> 0)
 * before the next request would be allowed. A limited request is not
 * counted. Returns 1 as well when the limiter is unusable (a mutex could
 * not be recovered): it fails open, after a log line. */
int rl_allow(struct ratelimit *rl, const char *client_key,
             double *retry_after_s);

/* The same at a given time now_ns (monotonic nanoseconds; tests). */
int rl_allow_at(struct ratelimit *rl, const char *client_key, int64_t now_ns,
                double *retry_after_s);

/* Formats the key of a client address: IPv4 as a.b.c.d, an IPv4-mapped
 * IPv6 address as its IPv4 form, other IPv6 addresses as their /64 prefix
 * ("2001:db8:1:2::/64"), since one host usually holds a whole /64; any
 * other family as "other". out holds at least RL_KEY_MAX bytes. Returns
 * out. sa may be NULL ("other"). */
const char *rl_client_key(const struct sockaddr *sa, char *out, size_t outlen);

/* Retry-After value for a wait: whole seconds, rounded up, at least 1. */
long rl_retry_after_header(double retry_after_s);

/* Tests: takes the lock of client_key's set, half-writes a slot and
 * _exit()s without unlocking. Call only in a forked child. */
void rl_debug_lock_and_exit(struct ratelimit *rl, const char *client_key)
    __attribute__((noreturn));

/* ---- open connections per client address ---- */

#define CL_DEFAULT_ENTRIES 8192 /* addresses one worker tracks at once */
#define CL_PROBE           32   /* entries searched for one address */

struct conn_limit;

/* Creates the per-address connection counts of nworkers workers, each
 * tracking up to CL_DEFAULT_ENTRIES addresses, for a limit of per_client
 * (>= 1) connections per address. Call before fork. Returns NULL with a
 * sentence in err. */
struct conn_limit *cl_create(unsigned nworkers, unsigned per_client, char *err,
                             size_t errlen);

/* Unmaps it (other processes keep their own mapping). NULL is allowed. */
void cl_destroy(struct conn_limit *cl);

/* The key of a client (any NUL-terminated string, usually from
 * rl_client_key): a seeded 64-bit hash, never 0. */
uint64_t cl_key(const struct conn_limit *cl, const char *client_key);

/* Connections of key open now, summed over the workers. Lock-free: two
 * workers accepting the same address at the same instant may together
 * pass the limit by one connection each. */
unsigned cl_count(const struct conn_limit *cl, uint64_t key);

/* Whether key already has per_client connections open. */
int cl_full(const struct conn_limit *cl, uint64_t key);

/* Counts one connection of key in worker w's table. Only one thread of
 * worker w may add and remove. Returns 1 when counted, 0 when w's table
 * has no room near key's place (the connection is then not counted and
 * must not be removed). */
int cl_add(struct conn_limit *cl, int w, uint64_t key);

/* Undoes one cl_add() that returned 1. */
void cl_remove(struct conn_limit *cl, int w, uint64_t key);

/* Forgets worker w's connections (a new worker starts in slot w). */
void cl_reset_worker(struct conn_limit *cl, int w);

unsigned cl_limit(const struct conn_limit *cl);

#endif
