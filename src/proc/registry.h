/*
 * registry.h - the shared-memory session registry.
 *
 * The supervisor creates it (an anonymous MAP_SHARED mapping) before it
 * forks, so every worker sees the same table at the same address. It holds:
 *  - a fixed table of session slots, each {state, generation, 128-bit random
 *    token, owner worker, kind, created, last seen, the fingerprint of the
 *    credential that created it, its client, pins};
 *  - the sessions in least-recently-used order, all of them and per client,
 *    and a table of clients with their live session counts;
 *  - the worker table (slot -> pid), each worker's open SSE streams, and a
 *    few daemon-wide counters;
 *  - beside each slot, its record: what another worker needs to take the
 *    session over when its owner dies (the engine's saved state, opaque
 *    here, up to REG_STATE_MAX bytes, and the ids of requests whose
 *    answers are on their way, with the stream that carries each).
 *
 * Adoption. A Streamable HTTP session outlives its owner: when a worker
 * dies, reg_reap_worker() marks its Streamable sessions orphans (legacy
 * ones end: their stream died with the process), and the first worker
 * that gets a request for one claims it with reg_adopt(), which only one
 * worker wins, and rebuilds the session from the record. The record holds
 * session credentials: it lives only in this anonymous mapping (never in
 * a file) and is wiped when replaced or when its slot is freed.
 * One robust, process-shared mutex guards it: a worker that dies holding
 * the lock does not wedge the others (EOWNERDEAD is repaired).
 *
 * Admission. Sessions and streams are separate resources: a session is a
 * cheap entry (max_live of them), an open SSE stream holds a connection
 * (max_streams, counted per worker so a dead worker's streams are
 * forgotten). A session is pinned while a stream of it is open or a job
 * of it is in flight. When the table is full, a claim evicts the least
 * recently used unpinned session; when the claiming client already has
 * max_per_client sessions, its own least recently used unpinned one goes.
 * An evicted session is simply gone: its id is unknown from then on.
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
#define REG_FP_LEN 16 /* bytes of a credential or client fingerprint */
/* a session's saved state: the engine's and the application's (session
 * credentials with a private key in PEM take most of it) */
#define REG_STATE_MAX    7680
#define REG_INFLIGHT_MAX 8  /* request ids recorded per session */
#define REG_RPC_ID_MAX   64 /* bytes of one, JSON, with the NUL */

enum reg_kind {
    REG_KIND_LEGACY = 1,     /* HTTP+SSE (2024-11-05): GET /mcp/sse */
    REG_KIND_STREAMABLE = 2, /* Streamable HTTP: POST /mcp initialize */
};

/* Names one incarnation of a slot. */
struct reg_ref {
    uint32_t slot;
    uint32_t gen;
};

/* Who a session belongs to. All-zero fields mean "none". */
struct reg_client {
    /* The credential that created it (the bearer token's SHA-256 prefix):
     * only requests with the same one may use the session. */
    uint8_t cred[REG_FP_LEN];
    /* The client its count goes to (the credential, or an address). */
    uint8_t key[REG_FP_LEN];
};

enum reg_evict_reason {
    REG_EVICT_FULL = 0,   /* the table was full: the LRU idle session */
    REG_EVICT_CLIENT = 1, /* the client was at its cap: its LRU idle one */
    REG_EVICT_REASONS
};

struct registry;

/* Creates the registry for at most max_live live sessions and nworkers
 * workers, in a shared anonymous mapping. Call before fork. Returns NULL
 * with a reason in err (mmap or mutex set-up failed). */
struct registry *reg_create(uint32_t max_live, uint32_t nworkers, char *err,
                            size_t errlen);

/* Unmaps it (the supervisor, at exit). */
void reg_destroy(struct registry *r);

/* Sets the admission limits (0: none): sessions per client and open
 * streams across all workers. Call before fork; the defaults are 0. */
void reg_set_limits(struct registry *r, uint32_t max_per_client,
                    uint32_t max_streams);

/* Claims a slot for a new session owned by worker w, for client who (see
 * struct reg_client; copied). Writes the public id (REG_ID_LEN + 1 bytes,
 * NUL-terminated) and fills *ref. When who's client already has
 * max_per_client sessions, its least recently used unpinned session is
 * evicted first; when the table is full, the least recently used unpinned
 * session of anyone. Returns 0, or -1 with errno EDQUOT when the client is
 * at its cap and none of its sessions can go, EAGAIN when the table is
 * full and no session can go, EIO when the mutex is unrecoverable or the
 * random generator fails. */
int reg_claim_as(struct registry *r, int w, enum reg_kind kind,
                 const struct reg_client *who, char id[REG_ID_LEN + 1],
                 struct reg_ref *ref);

/* reg_claim_as() for no client: no cap, no credential, and a full table is
 * EAGAIN (nothing is evicted). */
int reg_claim(struct registry *r, int w, enum reg_kind kind,
              char id[REG_ID_LEN + 1], struct reg_ref *ref);

/* Validates a public id (malformed text is simply invalid) presented with
 * credential cred (REG_FP_LEN bytes; NULL: not checked). On success fills
 * *ref, *owner (worker index) and *kind (any may be NULL), makes the
 * session the most recently used, refreshes last-seen and returns 0;
 * returns -1 (errno ENOENT) when the id is not a live session or the
 * credential is not the one that created it: the caller cannot tell which.
 * The token and the credential are compared in constant time. */
int reg_lookup_as(struct registry *r, const char *id, const uint8_t *cred,
                  struct reg_ref *ref, int *owner, enum reg_kind *kind);

/* reg_lookup_as() without the credential check. */
int reg_lookup(struct registry *r, const char *id, struct reg_ref *ref,
               int *owner, enum reg_kind *kind);

/* Pins a live session (a stream of it opened, a job of it is queued): a
 * pinned session is never evicted. Returns 0, or -1 with errno ENOENT when
 * ref is stale. Every successful pin needs one reg_unpin(). */
int reg_pin(struct registry *r, struct reg_ref ref);

/* Undoes one reg_pin(); the session becomes the most recently used. A
 * stale ref is ignored (freeing a session drops its pins). A worker that
 * dies keeps its pins on sessions other workers own: those can then only
 * end by idle expiry or DELETE. */
void reg_unpin(struct registry *r, struct reg_ref ref);

/* Counts one more open SSE stream for worker w. Returns 0, or -1 with
 * errno EAGAIN when max_streams are open across all workers (EINVAL for a
 * bad w, EIO when the mutex is unusable). */
int reg_stream_open(struct registry *r, int w);

/* Counts one stream of worker w closed. */
void reg_stream_close(struct registry *r, int w);

/* Open streams now (all workers), and the limit (0: none). */
uint32_t reg_streams(struct registry *r);
uint32_t reg_max_streams(struct registry *r);

/* The cap on sessions per client (0: none), and how many client has. */
uint32_t reg_max_per_client(struct registry *r);
uint32_t reg_client_sessions(struct registry *r, const uint8_t key[REG_FP_LEN]);

/* Sessions evicted since start, for one reason. */
uint64_t reg_evictions(struct registry *r, enum reg_evict_reason why);

/* Returns 1 while ref names a live session, else 0. */
int reg_valid(struct registry *r, struct reg_ref ref);

/* Refreshes last-seen of a live session; does nothing for a stale ref. */
void reg_touch(struct registry *r, struct reg_ref ref);

/* Frees a live session (its generation grows). Returns 0, or -1 when ref
 * was already stale. */
int reg_release(struct registry *r, struct reg_ref ref);

/* Worker w died: frees its legacy sessions, makes its Streamable HTTP
 * sessions orphans (their pins dropped: what pinned them died) and forgets
 * its streams. Returns the number of sessions freed, and the number
 * orphaned in *orphaned (may be NULL). */
int reg_reap_worker(struct registry *r, int w, int *orphaned);

/* Worker w takes over the Streamable HTTP session ref: allowed when it is
 * an orphan, or when its owner is still dead_owner (>= 0: the caller saw
 * that worker dead before the supervisor reaped it). Only one caller wins.
 * Copies the session's saved state into state (cap bytes; *len set, 0 when
 * none was saved), sets *owner (may be NULL) to the worker it was adopted
 * from and refreshes last-seen. Returns 0; -1 with errno
 * ENOENT (ref is stale, a legacy session, or its record was torn by a
 * crash), EBUSY (it has a live owner: its index in *owner, may be NULL),
 * EMSGSIZE (cap too small), EIO. */
int reg_adopt(struct registry *r, struct reg_ref ref, int w, int dead_owner,
              void *state, size_t cap, size_t *len, int *owner);

/* The owner of a live session and whether it is an orphan (orphan may be
 * NULL). Returns 0, or -1 with errno ENOENT (stale) or EIO. */
int reg_owner(struct registry *r, struct reg_ref ref, int *owner, int *orphan);

/* The owner w saves the session's state (len bytes, copied; the old one
 * wiped). Returns 0, or -1 with errno ENOENT (stale), EPERM (w no longer
 * owns it), EMSGSIZE (over REG_STATE_MAX), EIO. */
int reg_state_save(struct registry *r, struct reg_ref ref, int w,
                   const void *state, size_t len);

/* The session's standalone stream (Streamable HTTP GET), which carries
 * what the server sends on its own (notifications/resources/updated):
 * set by the worker that opened it, cleared by it when the stream ends
 * (only if it is still the one recorded; a newer stream replaces an older
 * one), read by the session's owner. Returns 0, or -1 with errno ENOENT
 * (stale session; get: no stream) or EIO. */
int reg_listener_set(struct registry *r, struct reg_ref ref, int w,
                     uint64_t stream);
int reg_listener_clear(struct registry *r, struct reg_ref ref, int w,
                       uint64_t stream);
int reg_listener_get(struct registry *r, struct reg_ref ref, int *w,
                     uint64_t *stream);

/* Records request id (JSON, shorter than REG_RPC_ID_MAX) as answered on
 * stream of worker w, so that a client resuming that stream after w died
 * gets an error for it rather than silence. When REG_INFLIGHT_MAX are
 * recorded, the oldest goes. Returns 0, or -1 with errno ENOENT, EMSGSIZE
 * or EIO. */
int reg_inflight_add(struct registry *r, struct reg_ref ref, int w,
                     uint64_t stream, const char *id);

/* Removes the ids recorded for stream of worker w, copying up to max of
 * them into ids (may be NULL). Returns how many were copied. */
int reg_inflight_take(struct registry *r, struct reg_ref ref, int w,
                      uint64_t stream, char (*ids)[REG_RPC_ID_MAX], int max);

/* The same, but the ids stay recorded, for stream to_stream of worker
 * to_w (a resumption now carries them). */
int reg_inflight_move(struct registry *r, struct reg_ref ref, int w,
                      uint64_t stream, int to_w, uint64_t to_stream,
                      char (*ids)[REG_RPC_ID_MAX], int max);

/* Frees the sessions of worker w, and orphans, idle for more than idle_ms
 * and calls cb(arg, ref) for each, outside the lock. Returns the number
 * freed. */
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

/* Claims ever made (the daemon's other counters are in metrics.h). */
uint64_t reg_sessions_total(struct registry *r);

/* ---- for tests ---- */

enum reg_debug_stage {
    REG_DEBUG_LOCKED = 0,      /* just hold the lock */
    REG_DEBUG_MID_CLAIM = 1,   /* die half-way through a claim */
    REG_DEBUG_MID_RELEASE = 2, /* die half-way through releasing ref */
    REG_DEBUG_MID_RECORD = 3,  /* die half-way through saving ref's state */
};

/* Takes the registry lock, leaves the table as a process dying at that
 * stage would, and _exit()s without unlocking: the next locker must see
 * EOWNERDEAD and repair. Call only in a forked child. */
void reg_debug_lock_and_exit(struct registry *r, enum reg_debug_stage stage,
                             struct reg_ref ref) __attribute__((noreturn));

/* Moves the last-seen time of a live session ms milliseconds back. */
void reg_debug_age(struct registry *r, struct reg_ref ref, int64_t ms);

/* Checks that the lists, the client table and the counts agree with the
 * slots. Returns 0, or -1 with what is wrong in why. Takes the lock. */
int reg_debug_check(struct registry *r, char *why, size_t len);

#endif
