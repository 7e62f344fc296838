/*
 * bnc.h - the Binance Spot REST client.
 *
 * Layer src/binance/, the Binance client: requests, signing, credentials,
 * the exchangeInfo cache and its filters, the shared weight budget. It
 * includes only the common ground (src/core/); it knows nothing of MCP.
 *
 * One process-wide configuration (bnc_init), one libcurl easy handle per
 * thread (created on first use, kept for connection reuse; released by
 * bnc_thread_cleanup). Calls are synchronous.
 *
 * Contract:
 *  - Public calls go to the base URL of the configured default environment.
 *    Signed calls go to the base URL of the credentials' environment.
 *  - Signed calls append recvWindow and timestamp (local clock + the learned
 *    server offset), sign the exact query string (HMAC-SHA256, Ed25519 or
 *    RSA by the credentials' key type; sign.h), append the signature last
 *    and send the X-MBX-APIKEY header. Parameters always travel in the
 *    query string, percent-encoded (RFC 3986, UTF-8) before signing.
 *  - On -1021 (timestamp outside recvWindow) a read (BNC_READ) resynchronises
 *    the offset from /api/v3/time and is retried once. Nothing else is
 *    retried by this module. libcurl itself may resend a read whose reused
 *    connection turned out dead before any answer; a BNC_TRADE call always
 *    takes a fresh connection, so it is sent exactly once and never retried.
 *  - 429/418 fill retry_after from Retry-After, and until that time has
 *    passed (60 s when Binance gave none) no request leaves the process: a
 *    call fails at once with the same status, http_status 0 and the seconds
 *    left in retry_after. Used weight is tracked from X-MBX-USED-WEIGHT-1M
 *    on every answer.
 *  - No secret ever appears in a response field, an error text or a log.
 */
#ifndef BINMCPD_BNC_H
#define BINMCPD_BNC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "creds.h"

#define BNC_URL_MAX 256

struct bnc_config {
    char mainnet_url[BNC_URL_MAX]; /* default https://api.binance.com */
    char testnet_url[BNC_URL_MAX]; /* default https://testnet.binance.vision */
    char demo_url[BNC_URL_MAX];    /* default https://demo-api.binance.com */
    enum bnc_env default_env;      /* where public calls go */
    long timeout_ms;               /* whole-request timeout, default 10000 */
    long recv_window;              /* ms, 1..60000, default 5000 */
    char user_agent[64];           /* "binmcpd/<version>" */
};

/* Fills c with the defaults listed above. */
void bnc_config_defaults(struct bnc_config *c);

/* Installs the process-wide configuration (copied) and initialises libcurl
 * (curl_global_init). Call once, before any thread uses the client.
 * Returns 0 or -1 when libcurl cannot be initialised. A later call only
 * replaces the configuration (libcurl is initialised once); it is safe only
 * while no other thread uses the client (tests use it to shorten timeouts).
 * timeout_ms <= 0 is taken as 10000, recv_window is clamped to 1..60000 and
 * a trailing '/' is dropped from the URLs. */
int bnc_init(const struct bnc_config *c);

/* Releases this thread's curl handle. Safe to call when none exists. */
void bnc_thread_cleanup(void);

/* Releases libcurl (curl_global_cleanup) after all threads are done. */
void bnc_shutdown(void);

/* The base URL used for env (points into the configuration). */
const char *bnc_base_url(enum bnc_env env);

/* ---- query strings ---- */

#define BNC_PARAMS_MAX 2048

/* An application/x-www-form-urlencoded query string being built. */
struct bnc_params {
    char buf[BNC_PARAMS_MAX];
    size_t len;
    int overflow; /* set when an add did not fit; the call then fails */
};

void bnc_params_init(struct bnc_params *p);
/* Appends key=value (value percent-encoded as RFC 3986 unreserved). */
void bnc_params_add(struct bnc_params *p, const char *key, const char *value);
void bnc_params_add_int(struct bnc_params *p, const char *key, long long v);

/* ---- calls ---- */

enum bnc_kind {
    BNC_PUBLIC = 0, /* no key, no signature */
    BNC_READ,       /* signed, read-only (USER_DATA): may be retried on -1021 */
    BNC_TRADE, /* signed, changes state (order place/cancel): never retried */
};

/* The outcomes of a call, with the stable names bnc_status_name() gives
 * them in logs and structured errors. */
#define BNC_STATUS_LIST(X)                                                     \
    X(BNC_OK, "ok")                                                            \
    X(BNC_ERR_API, "api_error") /* a 4xx (other than 403/418/429) */           \
    X(BNC_ERR_RATE_LIMITED, "rate_limited") /* 429 */                          \
    X(BNC_ERR_BANNED, "banned")             /* 418 */                          \
    X(BNC_ERR_WAF, "waf_blocked")           /* 403 */                          \
    X(BNC_ERR_SERVER, "server_error") /* 5xx: execution status unknown */      \
    X(BNC_ERR_TIMEOUT, "timeout")     /* no complete answer: status unknown */ \
    X(BNC_ERR_NETWORK, "network_error")     /* could not connect / dropped */  \
    X(BNC_ERR_BAD_RESPONSE, "bad_response") /* 2xx not the JSON expected */    \
    X(BNC_ERR_NO_CREDENTIALS, "no_credentials") /* signed, no credentials */   \
    X(BNC_ERR_CANCELLED, "cancelled")           /* the caller's cancel flag */ \
    X(BNC_ERR_INTERNAL, "internal_error") /* query too long, no memory */      \
    X(BNC_ERR_REFUSED, "refused") /* the trading gate refused: nothing sent */

#define BNC_STATUS_ENUM(name, text) name,
enum bnc_status { BNC_STATUS_LIST(BNC_STATUS_ENUM) };
#undef BNC_STATUS_ENUM

struct bnc_request {
    const char *method;              /* "GET", "POST", "PUT" or "DELETE" */
    const char *path;                /* e.g. "/api/v3/ticker/24hr" */
    const struct bnc_params *params; /* may be NULL */
    enum bnc_kind kind;
    const struct creds *creds; /* required for BNC_READ / BNC_TRADE */
    const atomic_int *cancel;  /* optional: non-zero aborts the transfer */
    const enum bnc_env *env;   /* BNC_PUBLIC: this exchange instead of the
                                  default one (NULL: the default) */
    void *origin; /* BNC_TRADE: who asks, for the trading gate (opaque
                     here: the guard's mcp_call); may be NULL */
};

#define BNC_VERDICT_MAX 2048

struct bnc_response {
    enum bnc_status status;
    long http_status;  /* 0 when no HTTP answer was received */
    json_object *body; /* the parsed JSON body on BNC_OK (object or
                          array); owned by the response */
    int api_code;      /* Binance's "code" when the body carried one */
    char api_msg[256]; /* Binance's "msg" */
    long retry_after;  /* seconds from Retry-After, -1 if absent */
    long used_weight;  /* X-MBX-USED-WEIGHT-1M, -1 if absent */
    long elapsed_ms;   /* wall time of the exchange */
    char detail[256];  /* transport detail (curl's words), no secrets */
    enum bnc_env env;  /* the exchange addressed (for error texts) */
    int sent;          /* the request may have reached Binance */
    /* BNC_TRADE: what the trading gate said: why it refused, or what it
     * learned afterwards (e.g. the order's real state after an unknown
     * outcome). "" when it said nothing. */
    char verdict[BNC_VERDICT_MAX];
    json_object *reconciled; /* the order as one read after an unknown
                                outcome found it, or NULL; owned */
    json_object *error_data; /* a 4xx answer's "data" object (cancel-replace
                                partial failures: cancelResult,
                                newOrderResult, both responses), or NULL;
                                owned */
};

/* Performs one request. Always fills *resp (call bnc_response_free after).
 * Returns 0 when resp->status is BNC_OK, -1 otherwise. */
int bnc_call(const struct bnc_request *req, struct bnc_response *resp);

/* Releases resp->body, resp->reconciled and resp->error_data. */
void bnc_response_free(struct bnc_response *resp);

/* Writes a sentence for a model or a person: what failed, Binance's own code
 * and msg, the HTTP status and what to do next (for example
 * "Binance rejected the request: -1121 Invalid symbol. (HTTP 400). Check the
 * symbol ..."). Never contains secrets. Returns buf. */
const char *bnc_describe_error(const struct bnc_response *resp, char *buf,
                               size_t len);

/* Name of a status, e.g. "rate_limited". */
const char *bnc_status_name(enum bnc_status s);

/* ---- clock and weight ---- */

/* Fetches /api/v3/time, stores offset = serverTime - midpoint(local before,
 * local after) for later signed calls. On success fills server_ms and
 * offset_ms and returns 0; otherwise fills resp-like detail into *resp and
 * returns -1. resp may be NULL. */
int bnc_sync_time(int64_t *server_ms, int64_t *offset_ms,
                  struct bnc_response *resp);

/* The last learned clock offset in ms (0 until a sync). */
int64_t bnc_clock_offset(void);

/* Hooks the daemon uses to share Binance's request-weight budget between
 * processes and to count upstream errors. before_send returns 0 to send,
 * or -1 with the wait in *wait_ms (the call then fails with
 * BNC_ERR_RATE_LIMITED, http_status 0, nothing sent). after_exchange sees
 * every answer (or transport failure). Both run in the calling thread. */
struct bnc_hooks {
    int (*before_send)(void *arg, const char *method, const char *path,
                       const char *query, long *wait_ms);
    void (*after_exchange)(void *arg, const struct bnc_response *resp,
                           int64_t sent_ms);
    void *arg;
};

/* Installs hooks (copied; NULL removes them). Call before threads start. */
void bnc_set_hooks(const struct bnc_hooks *hooks);

/* ---- the trading gate ---- */

/* Every BNC_TRADE request passes the gate just before it is signed; while
 * no gate is installed no BNC_TRADE request is sent at all (the call fails
 * with BNC_ERR_REFUSED). This is what makes the guard (guard.h) the one
 * write path: a tool cannot reach Binance's order endpoints around it.
 *
 * admit sees the request and the exchange it goes to; it returns 0 to let
 * it go, or -1 to refuse it with a sentence in resp->verdict (nothing is
 * sent; the call fails with BNC_ERR_REFUSED). *ticket is the gate's own
 * state for this request. When admit let it go, settle is called exactly
 * once afterwards with the answer (or the failure; resp->sent says whether
 * anything may have reached Binance) and may fill resp->verdict and
 * resp->reconciled. Both run in the calling thread and may themselves make
 * BNC_PUBLIC and BNC_READ calls. */
struct bnc_trade_gate {
    int (*admit)(void *arg, const struct bnc_request *req, enum bnc_env env,
                 void **ticket, struct bnc_response *resp);
    void (*settle)(void *arg, const struct bnc_request *req, void *ticket,
                   struct bnc_response *resp);
    void *arg;
};

/* Installs the gate (copied; NULL removes it, which stops all trading).
 * Call before threads start. */
void bnc_set_trade_gate(const struct bnc_trade_gate *gate);

/* Forgets a running Retry-After hold (tests). */
void bnc_hold_clear(void);

/* The last X-MBX-USED-WEIGHT-1M seen by any thread, -1 if none yet. */
long bnc_used_weight(void);

#endif
