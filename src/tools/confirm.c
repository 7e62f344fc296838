/*
 * confirm.c - single-use confirmation tokens in shared memory. See
 * confirm.h.
 *
 * The mapping holds the header (struct confirm_store: the secret, the
 * robust mutex) and then, on a 64-byte boundary, the slot table. Every slot
 * field is read and written only under the mutex. The secret is written
 * once before anyone can share the mapping, so the HMACs are computed
 * outside the lock.
 *
 * Crash repair. A process may die anywhere while it holds the mutex; the
 * next locker gets EOWNERDEAD. Redeeming writes one word (the used flag),
 * so it never leaves a slot half-written; issuing writes a whole slot, so
 * it first announces the slot in the header (pending) and withdraws the
 * announcement last. Repair empties the announced slot: its token never
 * reached anyone, since the issuer died before returning it.
 *
 * Wiping. The mapping is shared: a worker that wiped it on the way out
 * would erase every other process's tokens and secret. So only the process
 * that created the store (the supervisor, which outlives its workers)
 * wipes it; the others only unmap their view.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "confirm.h"
#include "log.h"
#include "shm.h"
#include "util.h"

#define CONFIRM_MAGIC     0x43464d31u /* "CFM1" */
#define CONFIRM_RAW_LEN   32          /* token bytes */
#define CONFIRM_MAC_LEN   32          /* HMAC-SHA256 */
#define CONFIRM_KEY_LEN   32
#define CONFIRM_MAX_SLOTS (1u << 20)
#define CONFIRM_ALIGN     64
/* Label plus text up to this size is hashed from the stack. */
#define CONFIRM_MAC_STACK 512

_Static_assert(CONFIRM_TOKEN_LEN == 2 * CONFIRM_RAW_LEN,
               "a token is its raw bytes in hex");
/* pending is shared between processes: its atomics must be address-free */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "atomic long long must be lock-free");

struct confirm_slot {
    uint8_t token[CONFIRM_RAW_LEN];
    uint8_t session_mac[CONFIRM_MAC_LEN]; /* HMAC(secret, "session\0" ...) */
    uint8_t order_mac[CONFIRM_MAC_LEN];   /* HMAC(secret, "order\0" ...) */
    int64_t expires_ms;                   /* the caller's clock */
    uint32_t used;
    uint32_t in_use;
};

/* The header at the start of the mapping. Everything but mu and pending
 * is set once in confirm_store_create, before the mapping can be shared. */
struct confirm_store {
    uint32_t magic;
    pid_t creator; /* the only process that wipes the mapping */
    size_t nslots;
    size_t slots_off; /* bytes from the start of the mapping */
    size_t map_len;
    uint8_t secret[CONFIRM_KEY_LEN];
    pthread_mutex_t mu;
    /* under mu: 1 + the slot an issue is writing; 0 when none */
    _Atomic uint64_t pending;
};

static const char confirm_label_session[] = "session"; /* the NUL counts */
static const char confirm_label_order[] = "order";

static struct confirm_slot *
confirm_slots(struct confirm_store *cs)
{
    return (struct confirm_slot *)(void *)((char *)cs + cs->slots_off);
}

static size_t
confirm_round_up(size_t n)
{
    return (n + CONFIRM_ALIGN - 1) / CONFIRM_ALIGN * CONFIRM_ALIGN;
}

/* Called with the mutex held after EOWNERDEAD: empties the slot a dead
 * issuer may have left half-written. */
static void
confirm_repair_locked(void *arg)
{
    struct confirm_store *cs = arg;
    uint64_t p = atomic_load(&cs->pending);

    if (p != 0 && p <= cs->nslots) {
        struct confirm_slot *s = &confirm_slots(cs)[p - 1];
        secure_wipe(s, sizeof(*s));
        log_warnx("confirm: a process died holding the lock while issuing "
                  "into slot %llu; the slot was emptied",
                  (unsigned long long)(p - 1));
    } else {
        log_warnx("confirm: a process died holding the lock; nothing to "
                  "repair");
    }
    atomic_store(&cs->pending, 0);
}

/* HMAC-SHA256(secret, label + NUL + text), text without its NUL: the NUL
 * after the label keeps the two domains apart. Returns 0, or -1 when no
 * memory came for a long text or gnutls failed. */
static int
confirm_mac(const struct confirm_store *cs, const char *label, const char *text,
            uint8_t out[CONFIRM_MAC_LEN])
{
    char stack[CONFIRM_MAC_STACK];
    size_t llen = strlen(label) + 1, tlen = strlen(text);
    char *buf = stack;
    int rc;

    if (tlen > SIZE_MAX - llen)
        return -1;
    if (llen + tlen > sizeof(stack)) {
        buf = malloc(llen + tlen);
        if (buf == NULL)
            return -1;
    }
    memcpy(buf, label, llen);
    memcpy(buf + llen, text, tlen);
    rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, cs->secret, sizeof(cs->secret),
                          buf, llen + tlen, out);
    /* the session id is a bearer credential elsewhere */
    secure_wipe(buf, llen + tlen);
    if (buf != stack)
        free(buf);
    return rc == 0 ? 0 : -1;
}

/* Both digests of a (session, canonical) pair. Returns 0 or -1. */
static int
confirm_macs(const struct confirm_store *cs, const char *session,
             const char *canonical, uint8_t session_mac[CONFIRM_MAC_LEN],
             uint8_t order_mac[CONFIRM_MAC_LEN])
{
    if (confirm_mac(cs, confirm_label_session, session, session_mac) < 0 ||
        confirm_mac(cs, confirm_label_order, canonical, order_mac) < 0) {
        log_warnx("confirm: cannot compute a digest");
        return -1;
    }
    return 0;
}

static int
confirm_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses exactly CONFIRM_TOKEN_LEN hex digits (either case) followed by
 * the NUL. Reading stops at the first bad character, so a short string is
 * never read past its end. Returns 0 or -1 (raw is then wiped). */
static int
confirm_parse(const char *text, uint8_t raw[CONFIRM_RAW_LEN])
{
    if (text == NULL)
        return -1;
    for (size_t k = 0; k < CONFIRM_RAW_LEN; k++) {
        int hi = confirm_hex_digit(text[2 * k]);
        int lo = hi < 0 ? -1 : confirm_hex_digit(text[2 * k + 1]);
        if (lo < 0) {
            secure_wipe(raw, CONFIRM_RAW_LEN);
            return -1;
        }
        raw[k] = (uint8_t)(hi << 4 | lo);
    }
    if (text[CONFIRM_TOKEN_LEN] != '\0') {
        secure_wipe(raw, CONFIRM_RAW_LEN);
        return -1;
    }
    return 0;
}

static void
confirm_format(const uint8_t raw[CONFIRM_RAW_LEN], char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t k = 0; k < CONFIRM_RAW_LEN; k++) {
        out[2 * k] = hex[raw[k] >> 4];
        out[2 * k + 1] = hex[raw[k] & 0xf];
    }
    out[CONFIRM_TOKEN_LEN] = '\0';
}

/* now + ttl without overflowing either way. */
static int64_t
confirm_deadline(int64_t now, int64_t ttl)
{
    if (ttl > 0 && now > INT64_MAX - ttl)
        return INT64_MAX;
    if (ttl < 0 && now < INT64_MIN - ttl)
        return INT64_MIN;
    return now + ttl;
}

/* The slot to issue into, the mutex held: the first one that is empty,
 * spent or expired; when there is none, the one that expires first. */
static size_t
confirm_pick_slot_locked(struct confirm_store *cs, int64_t now)
{
    struct confirm_slot *slots = confirm_slots(cs);
    size_t victim = 0;

    for (size_t i = 0; i < cs->nslots; i++) {
        const struct confirm_slot *s = &slots[i];
        if (!s->in_use || s->used || now >= s->expires_ms)
            return i;
        if (s->expires_ms < slots[victim].expires_ms)
            victim = i;
    }
    return victim;
}

struct confirm_store *
confirm_store_create(size_t nslots)
{
    struct confirm_store *cs;
    size_t slots_off, len;
    void *map;
    int rc;

    if (nslots == 0)
        nslots = CONFIRM_SLOTS_DEFAULT;
    if (nslots > CONFIRM_MAX_SLOTS) {
        errno = EINVAL;
        return NULL;
    }
    slots_off = confirm_round_up(sizeof(struct confirm_store));
    len = slots_off + nslots * sizeof(struct confirm_slot);
    map = shm_map(len, "confirm", NULL, 0);
    if (map == NULL)
        return NULL;
    /* The mapping comes zeroed: every slot is empty. */
    cs = map;
    cs->magic = CONFIRM_MAGIC;
    cs->creator = getpid();
    cs->nslots = nslots;
    cs->slots_off = slots_off;
    cs->map_len = len;
    atomic_init(&cs->pending, 0);
    if (gnutls_rnd(GNUTLS_RND_KEY, cs->secret, sizeof(cs->secret)) != 0) {
        log_warnx("confirm: the random generator failed");
        shm_unmap(map, len);
        errno = EIO;
        return NULL;
    }
    rc = shm_mutex_init(&cs->mu);
    if (rc != 0) {
        secure_wipe(cs->secret, sizeof(cs->secret));
        shm_unmap(map, len);
        errno = rc;
        return NULL;
    }
    return cs;
}

/* The mutex is not destroyed: other processes may still use the mapping
 * (pthread_mutex_destroy would write to shared memory). Only the creating
 * process wipes; see the top of the file. */
void
confirm_store_destroy(struct confirm_store *cs)
{
    size_t len;

    if (cs == NULL)
        return;
    assert(cs->magic == CONFIRM_MAGIC);
    len = cs->map_len;
    if (cs->creator == getpid())
        secure_wipe(cs, len);
    shm_unmap(cs, len);
}

/* Writes the new token into slot i, announced so that a crash half-way is
 * repaired; the mutex is held. */
static void
confirm_fill_slot_locked(struct confirm_store *cs, size_t i,
                         const uint8_t token[CONFIRM_RAW_LEN],
                         const uint8_t session_mac[CONFIRM_MAC_LEN],
                         const uint8_t order_mac[CONFIRM_MAC_LEN],
                         int64_t expires_ms)
{
    struct confirm_slot *s = &confirm_slots(cs)[i];

    atomic_store(&cs->pending, (uint64_t)i + 1);
    atomic_thread_fence(memory_order_seq_cst);
    memcpy(s->token, token, CONFIRM_RAW_LEN);
    memcpy(s->session_mac, session_mac, CONFIRM_MAC_LEN);
    memcpy(s->order_mac, order_mac, CONFIRM_MAC_LEN);
    s->expires_ms = expires_ms;
    s->used = 0;
    s->in_use = 1;
    atomic_thread_fence(memory_order_seq_cst);
    atomic_store(&cs->pending, 0);
}

int
confirm_issue(struct confirm_store *cs, const char *session,
              const char *canonical, int64_t now_ms, int64_t ttl_ms,
              char *token, size_t len)
{
    uint8_t raw[CONFIRM_RAW_LEN];
    uint8_t smac[CONFIRM_MAC_LEN], omac[CONFIRM_MAC_LEN];
    size_t i;
    int rc = -1;

    assert(cs != NULL && cs->magic == CONFIRM_MAGIC);
    if (token != NULL && len > 0)
        token[0] = '\0';
    if (token == NULL || len < CONFIRM_TOKEN_LEN + 1 || session == NULL ||
        canonical == NULL) {
        errno = EINVAL;
        return -1;
    }
    /* Everything slow or fallible happens before locking, so the lock is
     * held briefly and a failure leaves no half-issued slot. */
    if (gnutls_rnd(GNUTLS_RND_RANDOM, raw, sizeof(raw)) != 0) {
        log_warnx("confirm: the random generator failed");
        errno = EIO;
        goto out;
    }
    if (confirm_macs(cs, session, canonical, smac, omac) < 0) {
        errno = EIO;
        goto out;
    }
    if (shm_mutex_lock(&cs->mu, confirm_repair_locked, cs, "confirm") < 0)
        goto out;
    i = confirm_pick_slot_locked(cs, now_ms);
    confirm_fill_slot_locked(cs, i, raw, smac, omac,
                             confirm_deadline(now_ms, ttl_ms));
    shm_mutex_unlock(&cs->mu);
    confirm_format(raw, token);
    rc = 0;
out:
    secure_wipe(raw, sizeof(raw));
    secure_wipe(smac, sizeof(smac));
    secure_wipe(omac, sizeof(omac));
    return rc;
}

/* The slot holding token, or nslots when none does; the mutex is held.
 * Every slot is compared, so the time taken says nothing about where (or
 * whether) the token is. */
static size_t
confirm_find_locked(struct confirm_store *cs,
                    const uint8_t token[CONFIRM_RAW_LEN])
{
    const struct confirm_slot *slots = confirm_slots(cs);
    size_t found = cs->nslots;

    for (size_t i = 0; i < cs->nslots; i++) {
        int match =
            ct_equal(slots[i].token, CONFIRM_RAW_LEN, token, CONFIRM_RAW_LEN);
        match &= slots[i].in_use != 0;
        if (match)
            found = i;
    }
    return found;
}

/* The verdict for slot s; spends it on CONFIRM_OK. The mutex is held. */
static enum confirm_verdict
confirm_judge_locked(struct confirm_slot *s,
                     const uint8_t session_mac[CONFIRM_MAC_LEN],
                     const uint8_t order_mac[CONFIRM_MAC_LEN], int64_t now)
{
    if (s->used)
        return CONFIRM_USED;
    if (now >= s->expires_ms)
        return CONFIRM_EXPIRED;
    if (!ct_equal(s->session_mac, CONFIRM_MAC_LEN, session_mac,
                  CONFIRM_MAC_LEN))
        return CONFIRM_OTHER_SESSION;
    if (!ct_equal(s->order_mac, CONFIRM_MAC_LEN, order_mac, CONFIRM_MAC_LEN))
        return CONFIRM_OTHER_ORDER;
    s->used = 1;
    return CONFIRM_OK;
}

/* A store that cannot be locked, or digests that cannot be computed,
 * refuse the token as CONFIRM_UNKNOWN (after logging): the order is not
 * sent, and the client can ask for a new token. */
enum confirm_verdict
confirm_redeem(struct confirm_store *cs, const char *session,
               const char *canonical, const char *token, int64_t now_ms)
{
    uint8_t raw[CONFIRM_RAW_LEN];
    uint8_t smac[CONFIRM_MAC_LEN], omac[CONFIRM_MAC_LEN];
    enum confirm_verdict v = CONFIRM_UNKNOWN;
    size_t i;

    assert(cs != NULL && cs->magic == CONFIRM_MAGIC);
    if (session == NULL || canonical == NULL || confirm_parse(token, raw) < 0)
        return CONFIRM_UNKNOWN;
    if (confirm_macs(cs, session, canonical, smac, omac) < 0)
        goto out;
    if (shm_mutex_lock(&cs->mu, confirm_repair_locked, cs, "confirm") < 0)
        goto out;
    i = confirm_find_locked(cs, raw);
    if (i < cs->nslots)
        v = confirm_judge_locked(&confirm_slots(cs)[i], smac, omac, now_ms);
    shm_mutex_unlock(&cs->mu);
out:
    secure_wipe(raw, sizeof(raw));
    secure_wipe(smac, sizeof(smac));
    secure_wipe(omac, sizeof(omac));
    return v;
}

const char *
confirm_verdict_text(enum confirm_verdict v)
{
    switch (v) {
    case CONFIRM_OK:
        return "the confirmation token was accepted";
    case CONFIRM_UNKNOWN:
        return "the confirmation token is unknown";
    case CONFIRM_EXPIRED:
        return "the confirmation token has expired";
    case CONFIRM_USED:
        return "the confirmation token was used already";
    case CONFIRM_OTHER_SESSION:
        return "the confirmation token belongs to another session";
    case CONFIRM_OTHER_ORDER:
        return "the confirmation token was issued for a different order";
    }
    return "the confirmation token was refused";
}
