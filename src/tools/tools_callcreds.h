/*
 * tools_callcreds.h - where a signed Binance call finds its credentials.
 *
 * The engine knows no credentials. binmcpd keeps them behind the engine's
 * two opaque pointers:
 *   - per server, mcp_options.provider_ctx points at a struct binance_ctx
 *     (the daemon's credentials and the lock a reload takes);
 *   - per session, mcp_session.app is a struct creds: the credentials
 *     configure_credentials stored, allocated on first use (NULL before),
 *     wiped when replaced or revoked, wiped and freed when the session
 *     finishes (mcp_binance_provider.session_free is tools_session_free);
 *     saved for takeover by tools_session_save, rebuilt by
 *     tools_session_load.
 * A session's own credentials win over the daemon's.
 *
 * Threads: the session functions follow the engine's rule (one thread at a
 * time per session); tools_call_creds reads the daemon's under the read
 * lock.
 */
#ifndef BINMCPD_TOOLS_CALLCREDS_H
#define BINMCPD_TOOLS_CALLCREDS_H

#include <pthread.h>

#include "creds.h"
#include "mcp.h"

struct market;
struct userstate;

/* The provider_ctx of mcp_binance_provider. Owned by whoever builds the
 * server; it must outlive the server. */
struct binance_ctx {
    const struct creds *daemon_creds; /* fallback credentials, may be NULL
                                         or unset */
    pthread_rwlock_t *creds_lock;     /* guards *daemon_creds, may be NULL */
    struct market *market;   /* the feed's market segment (market.h): the
                                order-book tools answer live from it; NULL
                                without a feed (feed = off) */
    struct userstate *users; /* the feed's user-data area (userstate.h);
                                NULL without a feed */
    /* Asks the feed process to follow c's account (its user data stream).
     * Returns 0, or -1 when the request could not be passed on. NULL
     * without a feed. Any thread; never blocks. */
    int (*follow_key)(void *arg, const struct creds *c);
    void *follow_arg;
};

/* The credentials a signed call of this session uses: the session's own when
 * set, else a copy of the daemon's (copied under the lock into *buf, which
 * the caller must creds_wipe). Returns NULL when neither is set. */
const struct creds *tools_call_creds(struct mcp_call *c, struct creds *buf);

/* Points the server's struct binance_ctx at another copy of the daemon's
 * credentials, guarded by lock (either may be NULL). A worker calls it once
 * after fork, before its threads start, so that a credential reload touches
 * only its copy. Does nothing when srv does not serve mcp_binance_provider
 * or was built without a struct binance_ctx (nothing there reads
 * credentials). */
void tools_set_daemon_creds(struct mcp_server *srv, const struct creds *creds,
                            pthread_rwlock_t *lock);

/* Points the server's struct binance_ctx at the market segment (may be
 * NULL). A worker calls it once after fork, before its threads start. Does
 * nothing when srv has no struct binance_ctx. */
void tools_set_market(struct mcp_server *srv, struct market *m);

/* Points the server's struct binance_ctx at the user-data area and the
 * function that passes keys to the feed process (both may be NULL). A
 * worker calls it once after fork, before its threads start. */
void tools_set_userdata(struct mcp_server *srv, struct userstate *users,
                        int (*follow_key)(void *arg, const struct creds *c),
                        void *follow_arg);

/* Asks the feed to follow c's account (when the server has a feed): what
 * configure_credentials and a subscription to orders or balances do.
 * Returns 0, or -1 (no feed, or the request could not be passed on). */
int tools_follow_key(const struct mcp_server *srv, const struct creds *c);

/* The market segment the call's server reads, or NULL. */
struct market *tools_call_market(const struct mcp_call *c);

/* The session's own credentials, or NULL when it has none set. The
 * pointer (borrowed) is valid until the next tools_session_creds_* call on
 * the session or its end. */
const struct creds *tools_session_creds(const struct mcp_session *s);

/* Replaces the session's credentials with a copy of *c (the old ones are
 * wiped first). Returns 0, or -1 when memory runs out (the session's
 * credentials are then unchanged). The caller still owns and wipes c. */
int tools_session_creds_store(struct mcp_session *s, const struct creds *c);

/* Wipes the session's credentials (the memory is kept until the session
 * ends). Returns whether it had some set. */
int tools_session_creds_wipe(struct mcp_session *s);

/* mcp_binance_provider.session_free: wipes and frees a session's app. */
void tools_session_free(void *app);

/* mcp_binance_provider.session_save and session_load: a session's own
 * credentials in a compact form, for the worker that takes the session
 * over when its own dies (nothing when none are set). The bytes are
 * secret: the caller wipes them; they never go to a file. */
long tools_session_save(const void *app, void *buf, size_t cap);
void *tools_session_load(const void *buf, size_t len);

#endif
