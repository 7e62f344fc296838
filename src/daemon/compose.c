/*
 * compose.c - the composition of --mode sse. See compose.h.
 *
 * Everything here is built by the supervisor before it forks and used by
 * the workers through what they inherit: the shared mappings, the hooks in
 * their environment, the engine's observer and the Binance client's hooks
 * (process-wide settings, copied by fork).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "bnc.h"
#include "budget.h"
#include "compose.h"
#include "feedproc.h"
#include "guard.h"
#include "log.h"
#include "market.h"
#include "metrics.h"
#include "ratelimit.h"
#include "tls.h"
#include "tools.h"
#include "tools_callcreds.h"
#include "userstate.h"
#include "util.h"

struct compose {
    const struct settings *s; /* the supervisor's; SIGHUP changes it */
    struct mcp_server *srv;
    /* shared with the workers; NULL when off */
    struct auth_tokens *auth;
    struct ratelimit *rl;
    struct conn_limit *conns;
    struct upstream_budget *ub;
    struct metrics *metrics;
    struct market *market;   /* the feed writes it, the tools read it */
    struct userstate *users; /* the same for the user data streams */
    struct ipc keys;         /* the feed's channel: keys to follow */
    int keys_open;
    struct feedproc *feed; /* the feed process's slot */
    char *cert_pem, *key_pem;
};

/* ---- what runs in the workers ---- */

/* The engine reports every tool call here (any worker, any thread). */
static void
observe_tool(void *arg, const char *tool, int ok, double seconds)
{
    metrics_tool_call(arg, tool, ok, seconds);
}

/* Before each Binance request: take its weight from the budget that all
 * workers share, so that together they stay under Binance's limit. */
static int
before_send(void *arg, const char *method, const char *path, const char *query,
            long *wait_ms)
{
    struct compose *c = arg;
    return ub_take(c->ub, ub_request_weight(method, path, query), now_ms(),
                   wait_ms)
               ? 0
               : -1;
}

/* After each Binance answer: follow its weight header, stop every worker
 * on 429/418, and count errors. */
static void
after_exchange(void *arg, const struct bnc_response *r, int64_t sent_ms)
{
    struct compose *c = arg;

    ub_observe(c->ub, r->used_weight, sent_ms);
    metrics_upstream_weight(c->metrics, r->used_weight);
    if (r->status == BNC_ERR_RATE_LIMITED || r->status == BNC_ERR_BANNED)
        ub_hold(c->ub,
                now_ms() + (r->retry_after > 0 ? r->retry_after : 60) * 1000);
    if (r->status != BNC_OK && r->status != BNC_ERR_CANCELLED &&
        r->status != BNC_ERR_INTERNAL && r->status != BNC_ERR_NO_CREDENTIALS)
        metrics_upstream_error(c->metrics, (int)r->http_status, r->api_code);
}

/* A worker starts: the engine signs with the worker's copy of the
 * credentials, the trading journal opens (without it every order is
 * refused), and a predecessor's connection counts are forgotten. */
static void
worker_start(void *arg, int index, struct creds *creds, pthread_rwlock_t *lock)
{
    struct compose *c = arg;
    char err[512];

    tools_set_daemon_creds(c->srv, creds, lock);
    tools_set_market(c->srv, c->market);
    tools_set_userdata(c->srv, c->users,
                       c->users != NULL ? feedproc_follow_key : NULL, &c->keys);
    if (!c->s->read_only && guard_open(creds, err, sizeof(err)) < 0)
        log_error("%s; every order will be refused", err);
    if (c->conns != NULL)
        cl_reset_worker(c->conns, index);
}

/* A worker stops: after its threads ended. */
static void
worker_stop(void *arg)
{
    (void)arg;
    guard_close();
    bnc_thread_cleanup();
}

/* ---- before fork ---- */

/* The metrics, with one series per tool of the table. */
static struct metrics *
create_metrics(char *err, size_t errlen)
{
    size_t n = tool_count();
    const char **names = calloc(n ? n : 1, sizeof(*names));
    struct metrics *m;

    if (names == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        names[i] = tool_at(i)->name;
    m = metrics_create(names, n, err, errlen);
    free(names);
    return m;
}

/* HTTPS: both files or neither, and both valid. Returns 0 or -1 with err. */
static int
load_tls(struct compose *c, char *err, size_t errlen)
{
    const struct settings *s = c->s;

    if ((s->tls_cert[0] != '\0') != (s->tls_key[0] != '\0')) {
        snprintf(err, errlen, "HTTPS needs both tls_cert and tls_key");
        return -1;
    }
    if (s->tls_cert[0] == '\0')
        return 0;
    return tls_load(s->tls_cert, s->tls_key, &c->cert_pem, &c->key_pem, err,
                    errlen);
}

/* With the feed on: the market segment and the feed process's slot (forked
 * by the supervisor). Returns 0 or -1 with err. */
static int
create_feed(struct compose *c, char *err, size_t errlen)
{
    const struct settings *s = c->s;

    if (!s->feed)
        return 0;
    c->market = market_create((unsigned)s->max_tracked_symbols, err, errlen);
    if (c->market == NULL)
        return -1;
    if ((c->users = us_create(0, err, errlen)) == NULL ||
        ipc_create(&c->keys, 1, err, errlen) < 0)
        return -1;
    c->keys_open = 1;
    c->feed = feedproc_new(s, c->market, c->users, &c->keys, c->metrics);
    if (c->feed == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    metrics_set_market(c->metrics, c->market, c->users);
    log_info("live market data: streams from %s, up to %d symbols",
             settings_stream_url(s), s->max_tracked_symbols);
    return 0;
}

/* Tokens, the bind check, the rate limit and the connection counts.
 * Returns 0 or -1 with err. */
static int
create_admission(struct compose *c, int nworkers, char *err, size_t errlen)
{
    const struct settings *s = c->s;

    if (s->auth_tokens_file[0] != '\0' &&
        (c->auth = auth_load(s->auth_tokens_file, err, errlen)) == NULL)
        return -1;
    if (auth_bind_allowed(s->bind, c->auth != NULL, s->allow_unauthenticated,
                          err, errlen) < 0)
        return -1;
    if (s->rate_limit > 0 && (c->rl = rl_create(s->rate_limit, s->rate_burst, 0,
                                                err, errlen)) == NULL)
        return -1;
    if (s->max_connections_per_ip > 0 &&
        (c->conns =
             cl_create((unsigned)nworkers, (unsigned)s->max_connections_per_ip,
                       err, errlen)) == NULL)
        return -1;
    return 0;
}

struct compose *
compose_create(const struct settings *s, struct mcp_server *srv, int nworkers)
{
    char err[512];
    struct compose *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        log_error("out of memory");
        return NULL;
    }
    c->s = s;
    c->srv = srv;
    if ((c->metrics = create_metrics(err, sizeof(err))) == NULL ||
        (c->ub = ub_create(UB_DEFAULT_WEIGHT, err, sizeof(err))) == NULL ||
        create_admission(c, nworkers, err, sizeof(err)) < 0 ||
        load_tls(c, err, sizeof(err)) < 0 ||
        create_feed(c, err, sizeof(err)) < 0) {
        log_error("%s", err);
        compose_free(c);
        return NULL;
    }
    mcp_server_set_tool_observer(srv, observe_tool, c->metrics);
    struct bnc_hooks hooks = {before_send, after_exchange, c};
    bnc_set_hooks(&hooks);
    return c;
}

void
compose_free(struct compose *c)
{
    if (c == NULL)
        return;
    bnc_set_hooks(NULL);
    auth_free(c->auth);
    if (c->rl != NULL)
        rl_destroy(c->rl);
    cl_destroy(c->conns);
    if (c->ub != NULL)
        ub_destroy(c->ub);
    feedproc_free(c->feed);
    market_destroy(c->market);
    us_destroy(c->users);
    if (c->keys_open)
        ipc_destroy(&c->keys);
    metrics_destroy(c->metrics);
    if (c->cert_pem != NULL || c->key_pem != NULL)
        tls_free_pem(c->cert_pem, c->key_pem);
    free(c);
}

void
compose_worker_env(const struct compose *c, struct worker_env *env)
{
    env->auth = c->auth;
    env->rl = c->rl;
    env->conns = c->conns;
    env->metrics = c->metrics;
    env->tls_cert_pem = c->cert_pem;
    env->tls_key_pem = c->key_pem;
    env->hooks.start = worker_start;
    env->hooks.stop = worker_stop;
    env->hooks.arg = (void *)(uintptr_t)c; /* the hooks only read it */
}

struct metrics *
compose_metrics(const struct compose *c)
{
    return c->metrics;
}

struct feedproc *
compose_feed(const struct compose *c)
{
    return c->feed;
}

/* ---- SIGHUP ---- */

/* Whether two credential sets differ (compared in constant time). */
static int
creds_differ(const struct creds *a, const struct creds *b)
{
    if (a->set != b->set || a->env != b->env)
        return 1;
    return !ct_equal(a->key, strlen(a->key), b->key, strlen(b->key)) ||
           !ct_equal(a->secret, strlen(a->secret), b->secret,
                     strlen(b->secret));
}

/* New credentials: into *cur, then to every worker slot and the feed; a
 * worker that is being replaced reads them too (and a new one inherits
 * them anyway). */
static void
reload_creds(struct settings *cur, const struct creds *next, struct ipc *ipc,
             int nworkers, const struct ipc *feed_keys)
{
    char masked[32];

    if (!creds_differ(&cur->creds, next)) {
        log_info("SIGHUP: configuration re-read; credentials unchanged");
        return;
    }
    memcpy(&cur->creds, next, sizeof(cur->creds));
    for (int k = 0; k < nworkers; k++) {
        if (ipc_send_creds(ipc, k, &cur->creds) < 0)
            log_warn("SIGHUP: could not pass the credentials to worker %d", k);
    }
    if (feed_keys != NULL && ipc_send_creds(feed_keys, 0, &cur->creds) < 0)
        log_warn("SIGHUP: could not pass the credentials to the feed");
    if (!cur->creds.set) {
        log_info("SIGHUP: credentials removed");
        return;
    }
    creds_mask(cur->creds.key, masked, sizeof(masked));
    log_info("SIGHUP: credentials reloaded: key %s (%s)", masked,
             creds_env_name(cur->creds.env));
}

/* With HTTPS on: re-reads the certificate and key files and, when they
 * changed and are valid, passes them to every worker (new handshakes use
 * them; open connections are kept). */
static void
reload_tls(struct compose *c, const struct settings *next, struct ipc *ipc,
           int nworkers)
{
    char err[512], *cert = NULL, *key = NULL;

    if (c->cert_pem == NULL)
        return; /* HTTPS on or off needs a restart */
    if (tls_load(next->tls_cert, next->tls_key, &cert, &key, err, sizeof(err)) <
        0) {
        log_error("SIGHUP: the TLS certificate was not reloaded: %s", err);
        return;
    }
    if (strcmp(cert, c->cert_pem) == 0 && strcmp(key, c->key_pem) == 0) {
        tls_free_pem(cert, key);
        return;
    }
    for (int k = 0; k < nworkers; k++) {
        if (ipc_send_tls(ipc, k, cert, key) < 0)
            log_warn("SIGHUP: could not pass the certificate to worker %d", k);
    }
    tls_free_pem(c->cert_pem, c->key_pem);
    c->cert_pem = cert;
    c->key_pem = key;
    log_info("SIGHUP: TLS certificate reloaded");
}

void
compose_reload(struct compose *c, struct settings *cur, struct ipc *ipc,
               int nworkers)
{
    struct settings next;
    char err[512], what[256];

    if (settings_reload(cur, &next, err, sizeof(err)) < 0) {
        log_error("SIGHUP: configuration rejected, nothing changed: %s", err);
        settings_wipe(&next);
        return;
    }
    if (settings_needs_restart(cur, &next, what, sizeof(what)))
        log_warnx("SIGHUP: %s changed; that needs a restart and was not "
                  "applied",
                  what);
    reload_creds(cur, &next.creds, ipc, nworkers,
                 c->keys_open ? &c->keys : NULL);
    reload_tls(c, &next, ipc, nworkers);
    guard_set_rules(&next.trading);
    cur->trading = next.trading;
    log_info("SIGHUP: trading rules reloaded: max_order_notional %g, "
             "max_daily_notional %g, max_open_orders %d",
             next.trading.max_order_notional, next.trading.max_daily_notional,
             next.trading.max_open_orders);
    cur->log_level = next.log_level;
    log_set_level(next.log_level);
    settings_wipe(&next);
}
