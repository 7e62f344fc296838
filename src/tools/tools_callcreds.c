/*
 * tools_callcreds.c - where signed calls find their credentials (contract
 * in tools_callcreds.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "mcp.h"
#include "tools_callcreds.h"

const struct creds *
tools_session_creds(const struct mcp_session *s)
{
    const struct creds *own = s != NULL ? s->app : NULL;
    return own != NULL && own->set ? own : NULL;
}

int
tools_session_creds_store(struct mcp_session *s, const struct creds *c)
{
    struct creds *own = s->app;

    if (own == NULL) {
        /* allocated on first use: most sessions never store any */
        if ((own = calloc(1, sizeof(*own))) == NULL)
            return -1;
        s->app = own;
    }
    creds_wipe(own);
    memcpy(own, c, sizeof(*own));
    mcp_session_state_changed(s);
    return 0;
}

int
tools_session_creds_wipe(struct mcp_session *s)
{
    struct creds *own = s->app;
    int had = own != NULL && own->set;

    if (own != NULL)
        creds_wipe(own);
    if (had)
        mcp_session_state_changed(s);
    return had;
}

/* The saved form: env, type, since (8 bytes, host order: only this
 * daemon's processes read it), the key's and the secret's lengths (2 bytes
 * each), the key, the secret. */
#define SAVED_HEAD 14

long
tools_session_save(const void *app, void *buf, size_t cap)
{
    const struct creds *c = app;
    unsigned char *p = buf;

    if (!c->set)
        return 0;
    size_t kl = strnlen(c->key, sizeof(c->key));
    size_t sl = strnlen(c->secret, sizeof(c->secret));
    if (kl > CREDS_KEY_MAX || sl > CREDS_SECRET_MAX ||
        cap < SAVED_HEAD + kl + sl)
        return -1;
    p[0] = (unsigned char)c->env;
    p[1] = (unsigned char)c->type;
    memcpy(p + 2, &c->since_ms, 8);
    p[10] = (unsigned char)(kl >> 8);
    p[11] = (unsigned char)kl;
    p[12] = (unsigned char)(sl >> 8);
    p[13] = (unsigned char)sl;
    memcpy(p + SAVED_HEAD, c->key, kl);
    memcpy(p + SAVED_HEAD + kl, c->secret, sl);
    return (long)(SAVED_HEAD + kl + sl);
}

void *
tools_session_load(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    struct creds *c;

    if (len < SAVED_HEAD)
        return NULL;
    size_t kl = (size_t)p[10] << 8 | p[11], sl = (size_t)p[12] << 8 | p[13];
    if (kl == 0 || kl > CREDS_KEY_MAX || sl == 0 || sl > CREDS_SECRET_MAX ||
        len != SAVED_HEAD + kl + sl || p[0] > BNC_ENV_DEMO ||
        p[1] > SIGN_KEY_RSA || (c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->set = 1;
    c->env = (enum bnc_env)p[0];
    c->type = (enum sign_key_type)p[1];
    memcpy(&c->since_ms, p + 2, 8);
    memcpy(c->key, p + SAVED_HEAD, kl);
    memcpy(c->secret, p + SAVED_HEAD + kl, sl);
    return c;
}

void
tools_session_free(void *app)
{
    creds_wipe(app);
    free(app);
}

/* The struct binance_ctx of srv, or NULL when srv serves another provider
 * (the conformance fixtures) or was built without one. A provider whose
 * sessions free their app slot here is mcp_binance_provider: this module
 * keeps what is in that slot, so it recognises its own without knowing
 * the tool table. */
static struct binance_ctx *
binance_ctx_of(const struct mcp_server *srv)
{
    const struct mcp_provider *p =
        srv != NULL ? mcp_server_provider(srv) : NULL;

    if (p == NULL || p->session_free != tools_session_free)
        return NULL;
    return mcp_server_provider_ctx(srv);
}

/* Copies the daemon's credentials under the read lock: a reload (SIGHUP)
 * replaces them under the write lock while calls run. */
const struct creds *
tools_call_creds(struct mcp_call *c, struct creds *buf)
{
    const struct creds *own = tools_session_creds(c->sess);
    const struct binance_ctx *ctx;

    memset(buf, 0, sizeof(*buf));
    if (own != NULL)
        return own;
    if ((ctx = binance_ctx_of(c->srv)) == NULL || ctx->daemon_creds == NULL)
        return NULL;
    if (ctx->creds_lock != NULL)
        pthread_rwlock_rdlock(ctx->creds_lock);
    if (ctx->daemon_creds->set)
        memcpy(buf, ctx->daemon_creds, sizeof(*buf));
    if (ctx->creds_lock != NULL)
        pthread_rwlock_unlock(ctx->creds_lock);
    return buf->set ? buf : NULL;
}

void
tools_set_daemon_creds(struct mcp_server *srv, const struct creds *creds,
                       pthread_rwlock_t *lock)
{
    struct binance_ctx *ctx = binance_ctx_of(srv);

    if (ctx == NULL)
        return; /* no Binance tools: nobody reads the credentials */
    ctx->daemon_creds = creds;
    ctx->creds_lock = lock;
}

void
tools_set_market(struct mcp_server *srv, struct market *m)
{
    struct binance_ctx *ctx = binance_ctx_of(srv);

    if (ctx != NULL)
        ctx->market = m;
}

void
tools_set_userdata(struct mcp_server *srv, struct userstate *users,
                   int (*follow_key)(void *arg, const struct creds *c),
                   void *follow_arg)
{
    struct binance_ctx *ctx = binance_ctx_of(srv);

    if (ctx == NULL)
        return;
    ctx->users = users;
    ctx->follow_key = follow_key;
    ctx->follow_arg = follow_arg;
}

int
tools_follow_key(const struct mcp_server *srv, const struct creds *c)
{
    const struct binance_ctx *ctx = binance_ctx_of(srv);

    if (ctx == NULL || ctx->follow_key == NULL || c == NULL || !c->set)
        return -1;
    return ctx->follow_key(ctx->follow_arg, c);
}

struct market *
tools_call_market(const struct mcp_call *c)
{
    const struct binance_ctx *ctx = binance_ctx_of(c->srv);

    return ctx != NULL ? ctx->market : NULL;
}
