/*
 * confirm.h - single-use confirmation tokens for orders, in shared memory.
 *
 * When a client cannot ask its user (no elicitation), an order-changing call
 * is first answered with a summary and a token instead of being sent; the
 * order goes out only when the same order comes back with that token. A
 * token is bound to the session that received it and to the exact canonical
 * order (the guard's text of method, path, environment and sorted
 * parameters), expires after its time to live and can be redeemed once.
 *
 * The store is one anonymous MAP_SHARED mapping with a fixed number of slots
 * and a robust process-shared mutex, created before the daemon forks its
 * workers, so that a token issued by one worker can be redeemed on another.
 * It also holds the store's secret (32 random bytes): a slot keeps only
 * HMAC-SHA256(secret, session) and HMAC-SHA256(secret, canonical), never the
 * session id or the order text, and the token itself is 32 random bytes
 * shown as 64 lower-case hex digits. A full store reuses the slot that
 * expires first.
 *
 * Threads and processes: every call may be made from any thread of any
 * process that inherited the mapping.
 */
#ifndef BINMCPD_CONFIRM_H
#define BINMCPD_CONFIRM_H

#include <stddef.h>
#include <stdint.h>

#define CONFIRM_TOKEN_LEN     64 /* hex digits, without the NUL */
#define CONFIRM_TTL_MS        60000
#define CONFIRM_SLOTS_DEFAULT 1024

struct confirm_store;

/* Maps a new store of nslots slots (0: CONFIRM_SLOTS_DEFAULT, at most
 * 2^20) with a fresh random secret. Returns NULL (errno set: EINVAL for too
 * many slots) when memory, the mutex or the random generator fail. */
struct confirm_store *confirm_store_create(size_t nslots);

/* Unmaps the store. NULL is allowed. The process that created it wipes it
 * first (secret and slots); a process that inherited it only unmaps its own
 * view, so a worker leaving never erases the other processes' tokens. */
void confirm_store_destroy(struct confirm_store *cs);

/* Issues a token for (session, canonical), valid for ttl_ms from now_ms.
 * Writes CONFIRM_TOKEN_LEN hex digits and a NUL into token (len must be at
 * least CONFIRM_TOKEN_LEN + 1). Returns 0, or -1 (no randomness, len too
 * small or a NULL argument: EINVAL, an unusable lock: EIO). */
int confirm_issue(struct confirm_store *cs, const char *session,
                  const char *canonical, int64_t now_ms, int64_t ttl_ms,
                  char *token, size_t len);

enum confirm_verdict {
    CONFIRM_OK = 0,        /* redeemed: the slot is spent */
    CONFIRM_UNKNOWN,       /* no such token (never issued, or malformed) */
    CONFIRM_EXPIRED,       /* its time to live has passed */
    CONFIRM_USED,          /* it was redeemed already */
    CONFIRM_OTHER_SESSION, /* issued to another session */
    CONFIRM_OTHER_ORDER,   /* issued for another order */
};

/* Redeems token for (session, canonical) at now_ms. Only CONFIRM_OK spends
 * the token; a refused attempt leaves it as it was (a token presented by the
 * wrong session stays usable by its own). Hex digits of either case are
 * accepted; tokens are compared in constant time. When the store itself
 * fails (its lock cannot be recovered, a digest cannot be computed) the
 * answer is CONFIRM_UNKNOWN (logged): the order is refused. */
enum confirm_verdict confirm_redeem(struct confirm_store *cs,
                                    const char *session, const char *canonical,
                                    const char *token, int64_t now_ms);

/* A sentence for a verdict, e.g. "the confirmation token has expired". */
const char *confirm_verdict_text(enum confirm_verdict v);

#endif
