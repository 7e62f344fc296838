/*
 * registry.h - the shared-memory session registry.
 *
 * The supervisor creates it (an anonymous MAP_SHARED mapping) before it
 * forks, so every worker sees the same table at the same address. It holds:
 *  - a fixed table of session slots, each {state, generation, 128-bit random
 *    token, owner worker, kind, created, last seen};
 *  - the worker table (slot -> pid) and a few daemon-wide counters.
 * One robust, process-shared mutex guards it: a worker that dies holding
 * the lock does not wedge the others (EOWNERDEAD is repaired).
 *
 * A public session id is 48 lowercase hex digits: slot (8), generation (8),
 * token (32). A slot's generation grows every time it is freed, so an id is
 * never valid twice, and a stale id can never match a reused slot. Tokens
 * come from GnuTLS's random generator (GNUTLS_RND_NONCE or stronger).
 */
#ifndef BINMCPD_REGISTRY_H
#define BINMCPD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REG_ID_LEN 48 /* hex digits of a session id, without the NUL */

enum reg_kind {
    REG_KIND_LEGACY = 1,     /* HTTP+SSE (2024-11-05): GET /mcp/sse */
    REG_KIND_STREAMABLE = 2, /* Streamable HTTP: POST /mcp initialize */
};

/* Names one incarnation of a slot. */
struct reg_ref {
    uint32_t slot;
    uint32_t gen;
};

struct registry;

/* Creates the registry for at most max_live live sessions and nworkers
 * workers, in a shared anonymous mapping. Call before fork. Returns NULL
 * with a reason in err (mmap or mutex set-up failed). */
struct registry *reg_create(uint32_t max_live, uint32_t nworkers, char *err,
                            size_t errlen);

/* Unmaps it (the supervisor, at exit). */
void reg_destroy(struct registry *r);

/* Claims a slot for a new session owned by worker w. Writes the public id
 * (REG_ID_LEN + 1 bytes, NUL-terminated) and fills *ref. Returns 0, or -1
 * with errno EAGAIN when max_live sessions are live, or EIO when the mutex
 * is unrecoverable or the random generator fails. */
int reg_claim(struct registry *r, int w, enum reg_kind kind,
              char id[REG_ID_LEN + 1], struct reg_ref *ref);

/* Validates a public id (malformed text is simply invalid). On success
 * fills *ref, *owner (worker index) and *kind (any may be NULL), refreshes
 * last-seen and returns 0; returns -1 when the id is not a live session.
 * The token is compared in constant time. */
int reg_lookup(struct registry *r, const char *id, struct reg_ref *ref,
               int *owner, enum reg_kind *kind);

/* Returns 1 while ref names a live session, else 0. */
int reg_valid(struct registry *r, struct reg_ref ref);

/* Refreshes last-seen of a live session; does nothing for a stale ref. */
void reg_touch(struct registry *r, struct reg_ref ref);

/* Frees a live session (its generation grows). Returns 0, or -1 when ref
 * was already stale. */
int reg_release(struct registry *r, struct reg_ref ref);

/* Frees every session owned by worker w (it died). Returns the number. */
int reg_reap_worker(struct registry *r, int w);

/* Frees the sessions of worker w idle for more than idle_ms and calls
 * cb(arg, ref) for each, outside the lock. Returns the number freed. */
int reg_expire_idle(struct registry *r, int w, int64_t idle_ms,
                    void (*cb)(void *arg, struct reg_ref ref), void *arg);

/* Live sessions now, and the limit. */
uint32_t reg_live(struct registry *r);
uint32_t reg_max_live(struct registry *r);

/* ---- the worker table and counters ---- */

/* Records worker w's pid (0 when it is dead). */
void reg_worker_set(struct registry *r, int w, pid_t pid);
pid_t reg_worker_pid(struct registry *r, int w);
uint32_t reg_workers(struct registry *r);       /* slots in the table */
uint32_t reg_workers_alive(struct registry *r); /* slots with a pid */

/* When the registry was created (ms since the epoch). */
int64_t reg_started_ms(struct registry *r);

/* Daemon-wide counters. */
void reg_count_restart(struct registry *r);
uint64_t reg_restarts(struct registry *r);
void reg_count_rejected(struct registry *r);
uint64_t reg_rejected(struct registry *r);
uint64_t reg_sessions_total(struct registry *r); /* claims ever made */

/* ---- for tests ---- */

enum reg_debug_stage {
    REG_DEBUG_LOCKED = 0,      /* just hold the lock */
    REG_DEBUG_MID_CLAIM = 1,   /* die half-way through a claim */
    REG_DEBUG_MID_RELEASE = 2, /* die half-way through releasing ref */
};

/* Takes the registry lock, leaves the table as a process dying at that
 * stage would, and _exit()s without unlocking: the next locker must see
 * EOWNERDEAD and repair. Call only in a forked child. */
void reg_debug_lock_and_exit(struct registry *r, enum reg_debug_stage stage,
                             struct reg_ref ref) __attribute__((noreturn));

/* Moves the last-seen time of a live session ms milliseconds back. */
void reg_debug_age(struct registry *r, struct reg_ref ref, int64_t ms);

#endif
