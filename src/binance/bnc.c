/*
 * bnc.c - the Binance Spot REST client. See bnc.h for the contract.
 *
 * Shape of a call: bnc_call checks what can be checked without the network
 * (query overflow, credentials, cancellation), then bnc_perform builds the
 * query (signed when needed), runs one HTTP exchange on this thread's curl
 * handle and classifies the answer. A read that Binance rejects with -1021
 * is resynchronised and sent once more; nothing else is repeated.
 *
 * Secrets: the API secret or private key is read in place by
 * sign_query_value and copied nowhere else. The signed query and the key header
 * are built in buffers that are wiped after the exchange. Error details are
 * curl's own words, scrubbed of anything that looks like a query string.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "bnc.h"
#include "dbuf.h"
#include "log.h"
#include "sign.h"
#include "util.h"

#define BNC_BODY_MAX       ((size_t)8 << 20) /* cap on an answer's body */
#define BNC_QUERY_MAX      (BNC_PARAMS_MAX + 256 + SIGN_QUERY_MAX) /* + sig */
#define BNC_CONNECT_MAX_MS 5000L
#define BNC_TIME_PATH      "/api/v3/time"
#define BNC_ERR_TIMESTAMP  (-1021)

/* Read-only after bnc_init. */
static struct bnc_config bnc_cfg;
static int bnc_curl_ready;

/* Written by any thread. */
static _Atomic int64_t bnc_offset_ms = 0;
static atomic_long bnc_weight = -1;
/* After a 429 or 418, no request leaves this process until this moment
 * (CLOCK_MONOTONIC ms): Binance bans IPs that keep calling. */
static atomic_llong bnc_hold_until_ms;
static atomic_int bnc_hold_banned;

/* One handle per thread, kept for connection reuse. */
static _Thread_local CURL *bnc_curl;

/* ---- configuration ---- */

/* Fills c with the documented defaults. */
void
bnc_config_defaults(struct bnc_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->mainnet_url, sizeof(c->mainnet_url), "%s",
             "https://api.binance.com");
    snprintf(c->testnet_url, sizeof(c->testnet_url), "%s",
             "https://testnet.binance.vision");
    snprintf(c->demo_url, sizeof(c->demo_url), "%s",
             "https://demo-api.binance.com");
    c->default_env = BNC_ENV_MAINNET;
    c->timeout_ms = 10000;
    c->recv_window = 5000;
    snprintf(c->user_agent, sizeof(c->user_agent), "binmcpd/%s",
             PACKAGE_VERSION);
}

static void
drop_trailing_slash(char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
}

/* Copies the configuration (sanitised) and initialises libcurl once.
 * Fails only when curl_global_init does. */
int
bnc_init(const struct bnc_config *c)
{
    if (!bnc_curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return -1;
        bnc_curl_ready = 1;
    }
    bnc_cfg = *c;
    bnc_cfg.mainnet_url[BNC_URL_MAX - 1] = '\0';
    bnc_cfg.testnet_url[BNC_URL_MAX - 1] = '\0';
    bnc_cfg.demo_url[BNC_URL_MAX - 1] = '\0';
    bnc_cfg.user_agent[sizeof(bnc_cfg.user_agent) - 1] = '\0';
    drop_trailing_slash(bnc_cfg.mainnet_url);
    drop_trailing_slash(bnc_cfg.testnet_url);
    drop_trailing_slash(bnc_cfg.demo_url);
    if (bnc_cfg.timeout_ms <= 0)
        bnc_cfg.timeout_ms = 10000;
    if (bnc_cfg.recv_window < 1)
        bnc_cfg.recv_window = 1;
    if (bnc_cfg.recv_window > 60000)
        bnc_cfg.recv_window = 60000;
    return 0;
}

/* Releases this thread's handle (and with it its open connections). */
void
bnc_thread_cleanup(void)
{
    if (bnc_curl != NULL) {
        curl_easy_cleanup(bnc_curl);
        bnc_curl = NULL;
    }
}

/* Releases libcurl; the calling thread's handle goes first. */
void
bnc_shutdown(void)
{
    bnc_thread_cleanup();
    if (bnc_curl_ready) {
        curl_global_cleanup();
        bnc_curl_ready = 0;
    }
}

/* Points into the configuration; "" before bnc_init. */
const char *
bnc_base_url(enum bnc_env env)
{
    switch (env) {
    case BNC_ENV_TESTNET:
        return bnc_cfg.testnet_url;
    case BNC_ENV_DEMO:
        return bnc_cfg.demo_url;
    case BNC_ENV_MAINNET:
        break;
    }
    return bnc_cfg.mainnet_url;
}

/* ---- query strings ---- */

/* Empties p. */
void
bnc_params_init(struct bnc_params *p)
{
    p->buf[0] = '\0';
    p->len = 0;
    p->overflow = 0;
}

static int
is_unreserved(unsigned char ch)
{
    return isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Appends "&key=value" (no '&' first); on overflow p is left as it was and
 * p->overflow is set, so the call that uses it fails. */
void
bnc_params_add(struct bnc_params *p, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = p->len, n = p->len, klen = strlen(key);
    const size_t cap = sizeof(p->buf) - 1;

    if (p->overflow)
        return;
    if ((n > 0 ? 1 : 0) + klen + 1 > cap - n)
        goto overflow;
    if (n > 0)
        p->buf[n++] = '&';
    memcpy(p->buf + n, key, klen);
    n += klen;
    p->buf[n++] = '=';
    for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
        if (is_unreserved(*v)) {
            if (n + 1 > cap)
                goto overflow;
            p->buf[n++] = (char)*v;
        } else {
            if (n + 3 > cap)
                goto overflow;
            p->buf[n++] = '%';
            p->buf[n++] = hex[*v >> 4];
            p->buf[n++] = hex[*v & 0x0f];
        }
    }
    p->buf[n] = '\0';
    p->len = n;
    return;
overflow:
    p->buf[start] = '\0';
    p->len = start;
    p->overflow = 1;
}

/* Appends key=<decimal v>. Same overflow rule as bnc_params_add. */
void
bnc_params_add_int(struct bnc_params *p, const char *key, long long v)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", v);
    bnc_params_add(p, key, num);
}

/* ---- one HTTP exchange ---- */

/* What the curl callbacks fill in during one transfer. */
struct bnc_xfer {
    struct dbuf body;
    int too_big;
    long retry_after;
    long used_weight;
    const atomic_int *cancel;
};

static size_t
xfer_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct bnc_xfer *x = arg;
    size_t n = size * nmemb;

    if (dbuf_append(&x->body, p, n) < 0) {
        x->too_big = errno == E2BIG;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Parses a header value made of decimal digits only (after blanks);
 * returns -1 otherwise. */
static long
header_number(const char *v, size_t n)
{
    long out = 0;
    size_t i = 0, digits = 0;

    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++) {
        if (out > 100000000L)
            return -1;
        out = out * 10 + (v[i] - '0');
    }
    while (i < n &&
           (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
        i++;
    return (digits > 0 && i == n) ? out : -1;
}

/* Value of header line h if it is the header called name, else NULL. */
static const char *
header_value(const char *h, size_t n, const char *name, size_t *vlen)
{
    size_t k = strlen(name);

    if (n <= k || h[k] != ':' || strncasecmp(h, name, k) != 0)
        return NULL;
    *vlen = n - k - 1;
    return h + k + 1;
}

static size_t
xfer_header(char *h, size_t size, size_t nmemb, void *arg)
{
    struct bnc_xfer *x = arg;
    size_t n = size * nmemb, vlen;
    const char *v;

    if (n >= 5 && strncmp(h, "HTTP/", 5) == 0) {
        /* a new status line (after a 1xx): forget earlier headers */
        x->retry_after = -1;
        x->used_weight = -1;
    } else if ((v = header_value(h, n, "Retry-After", &vlen)) != NULL) {
        x->retry_after = header_number(v, vlen);
    } else if ((v = header_value(h, n, "X-MBX-USED-WEIGHT-1M", &vlen)) !=
               NULL) {
        x->used_weight = header_number(v, vlen);
    }
    return n;
}

static int
xfer_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
              curl_off_t ultotal, curl_off_t ulnow)
{
    const struct bnc_xfer *x = arg;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return x->cancel != NULL && atomic_load(x->cancel) != 0;
}

/* This thread's handle, reset to defaults (open connections survive). */
static CURL *
thread_handle(void)
{
    if (bnc_curl == NULL)
        bnc_curl = curl_easy_init();
    else
        curl_easy_reset(bnc_curl);
    return bnc_curl;
}

/* Sets every option of one exchange. Returns 0, or -1 for an unknown
 * method. */
static int
setup_handle(CURL *h, const struct bnc_request *req, const char *url,
             struct curl_slist *headers, struct bnc_xfer *x, char *errbuf)
{
    const char *method = req->method;
    long connect_ms = bnc_cfg.timeout_ms < BNC_CONNECT_MAX_MS
                          ? bnc_cfg.timeout_ms
                          : BNC_CONNECT_MAX_MS;

    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else if (strcmp(method, "PUT") == 0) {
        /* amend keepPriority: parameters in the query, an empty body */
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else {
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* libcurl silently resends a request (up to five times) while the
     * reused connection it went out on turns out dead before any byte of
     * answer; the server may still have acted on the first copy. A trade
     * therefore never rides a reused connection: it is sent exactly once,
     * at the price of a new connection (and TLS handshake) per trade. */
    if (req->kind == BNC_TRADE)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, bnc_cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, bnc_cfg.user_agent);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, xfer_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, xfer_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (headers != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (x->cancel != NULL) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xfer_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    return 0;
}

static void
set_status(struct bnc_response *resp, enum bnc_status st, const char *detail)
{
    resp->status = st;
    if (detail != NULL)
        snprintf(resp->detail, sizeof(resp->detail), "%s", detail);
}

/* Copies curl's error text into detail, unless it looks like it carries a
 * query string (then curl's generic text for rc is used instead). */
static void
set_curl_detail(struct bnc_response *resp, CURLcode rc, const char *errbuf)
{
    const char *text = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

    if (strchr(text, '?') != NULL || strstr(text, "signature") != NULL ||
        strstr(text, "timestamp=") != NULL)
        text = curl_easy_strerror(rc);
    snprintf(resp->detail, sizeof(resp->detail), "%s", text);
    /* curl's texts end with a newline at times */
    size_t n = strlen(resp->detail);
    while (n > 0 && (resp->detail[n - 1] == '\n' || resp->detail[n - 1] == '.'))
        resp->detail[--n] = '\0';
}

/* Maps a failed transfer to a status. */
static void
classify_curl_error(struct bnc_response *resp, CURLcode rc,
                    const struct bnc_xfer *x, const char *errbuf)
{
    switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
        set_status(resp, BNC_ERR_CANCELLED, "cancelled by the client");
        return;
    case CURLE_WRITE_ERROR:
        if (x->too_big) {
            set_status(resp, BNC_ERR_BAD_RESPONSE, "answer larger than 8 MiB");
            return;
        }
        set_status(resp, BNC_ERR_INTERNAL, "out of memory");
        return;
    case CURLE_OPERATION_TIMEDOUT:
        resp->status = BNC_ERR_TIMEOUT;
        break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_FAILED_INIT:
    case CURLE_UNKNOWN_OPTION:
        resp->status = BNC_ERR_INTERNAL;
        break;
    case CURLE_BAD_CONTENT_ENCODING:
        resp->status = BNC_ERR_BAD_RESPONSE;
        break;
    default: /* couldn't resolve/connect, got nothing, recv/send, TLS... */
        resp->status = BNC_ERR_NETWORK;
        break;
    }
    set_curl_detail(resp, rc, errbuf);
}

/* Parses a whole buffer as one JSON value (trailing blanks allowed). Returns
 * a new reference or NULL. */
static json_object *
parse_json(const char *data, size_t len)
{
    json_tokener *tok;
    json_object *o;

    if (len == 0 || len > BNC_BODY_MAX)
        return NULL;
    tok = json_tokener_new();
    if (tok == NULL)
        return NULL;
    /* invalid UTF-8 from the exchange never reaches a tool result */
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, data, (int)len);
    if (o != NULL && json_tokener_get_error(tok) == json_tokener_success) {
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (!isspace((unsigned char)data[i])) {
                json_object_put(o);
                o = NULL;
                break;
            }
        }
    } else {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* Copies s into dst of size n without splitting a UTF-8 sequence. */
static void
copy_utf8_truncated(char *dst, size_t n, const char *s)
{
    size_t len = strlen(s);

    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Reads Binance's {"code":..,"msg":..} from an error body, if it is one. */
static void
read_api_error(struct bnc_response *resp, const struct dbuf *body)
{
    json_object *o = parse_json(dbuf_str(body), body->len), *v;

    if (o == NULL)
        return;
    if (json_object_is_type(o, json_type_object)) {
        if (json_object_object_get_ex(o, "code", &v) &&
            json_object_is_type(v, json_type_int))
            resp->api_code = json_object_get_int(v);
        if (json_object_object_get_ex(o, "msg", &v) &&
            json_object_is_type(v, json_type_string))
            copy_utf8_truncated(resp->api_msg, sizeof(resp->api_msg),
                                json_object_get_string(v));
        if (json_object_object_get_ex(o, "data", &v) &&
            json_object_is_type(v, json_type_object))
            resp->error_data = json_object_get(v);
    }
    json_object_put(o);
}

/* Maps an HTTP answer (transfer succeeded) to a status and body. */
static void
classify_answer(struct bnc_response *resp, const struct dbuf *body)
{
    long st = resp->http_status;

    if (st >= 200 && st < 300) {
        json_object *o = parse_json(dbuf_str(body), body->len);
        if (o != NULL && (json_object_is_type(o, json_type_object) ||
                          json_object_is_type(o, json_type_array))) {
            resp->body = o;
            resp->status = BNC_OK;
            return;
        }
        json_object_put(o);
        set_status(resp, BNC_ERR_BAD_RESPONSE, "not valid JSON");
        return;
    }
    read_api_error(resp, body);
    if (st == 429)
        resp->status = BNC_ERR_RATE_LIMITED;
    else if (st == 418)
        resp->status = BNC_ERR_BANNED;
    else if (st == 403)
        resp->status = BNC_ERR_WAF;
    else if (st >= 400 && st < 500)
        resp->status = BNC_ERR_API;
    else if (st >= 500 && st < 600)
        resp->status = BNC_ERR_SERVER;
    else
        set_status(resp, BNC_ERR_BAD_RESPONSE, "unexpected HTTP status");
}

/* Builds the query: params, then for signed calls recvWindow, timestamp and
 * the signature over everything before it, exactly those bytes, last.
 * Returns 0, -1 when too long or -2 when signing failed. */
static int
build_query(struct dbuf *q, const struct bnc_request *req)
{
    char sig[SIGN_QUERY_MAX + 1];
    int64_t timestamp;
    int rc = 0;

    if (req->params != NULL && req->params->len > 0)
        rc = dbuf_append(q, req->params->buf, req->params->len);
    if (rc < 0 || req->kind == BNC_PUBLIC)
        return rc;
    timestamp = now_ms() + atomic_load(&bnc_offset_ms);
    rc =
        dbuf_printf(q, "%srecvWindow=%ld&timestamp=%lld", q->len > 0 ? "&" : "",
                    bnc_cfg.recv_window, (long long)timestamp);
    if (rc < 0)
        return -1;
    if (sign_query_value(req->creds->type, req->creds->secret, dbuf_str(q),
                         q->len, sig) < 0)
        return -2;
    rc = dbuf_printf(q, "&signature=%s", sig);
    secure_wipe(sig, sizeof(sig));
    return rc;
}

/* Builds "X-MBX-APIKEY: <key>" into a header list; NULL on failure. The
 * formatted line is wiped; curl_slist keeps its own copy. */
static struct curl_slist *
key_header(const struct creds *c)
{
    char line[CREDS_KEY_MAX + 32];
    struct curl_slist *list;

    snprintf(line, sizeof(line), "X-MBX-APIKEY: %s", c->key);
    list = curl_slist_append(NULL, line);
    secure_wipe(line, sizeof(line));
    return list;
}

/* Runs the exchange on h and fills resp from what came back. */
static void
run_exchange(CURL *h, struct bnc_response *resp, struct bnc_xfer *x,
             const char *errbuf)
{
    int64_t t0 = mono_ms();
    CURLcode rc = curl_easy_perform(h);

    resp->elapsed_ms = (long)(mono_ms() - t0);
    resp->retry_after = x->retry_after;
    resp->used_weight = x->used_weight;
    if (x->used_weight >= 0)
        atomic_store(&bnc_weight, x->used_weight);
    if (rc != CURLE_OK) {
        classify_curl_error(resp, rc, x, errbuf);
        return;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->http_status);
    classify_answer(resp, &x->body);
}

static struct bnc_hooks bnc_hooks;

void
bnc_set_hooks(const struct bnc_hooks *hooks)
{
    if (hooks != NULL)
        bnc_hooks = *hooks;
    else
        memset(&bnc_hooks, 0, sizeof(bnc_hooks));
}

/* One request to env, no retries. resp must have been initialised. */
static void
bnc_perform(const struct bnc_request *req, enum bnc_env env,
            struct bnc_response *resp)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct dbuf query, url;
    struct curl_slist *headers = NULL;
    int qrc;
    struct bnc_xfer x = {
        .retry_after = -1, .used_weight = -1, .cancel = req->cancel};
    CURL *h;

    resp->env = env;
    dbuf_init(&query, BNC_QUERY_MAX);
    dbuf_init(&url, BNC_URL_MAX + BNC_QUERY_MAX + 512);
    dbuf_init(&x.body, BNC_BODY_MAX);
    if ((qrc = build_query(&query, req)) < 0 ||
        dbuf_printf(&url, "%s%s%s%s", bnc_base_url(env), req->path,
                    query.len > 0 ? "?" : "", dbuf_str(&query)) < 0) {
        set_status(resp, BNC_ERR_INTERNAL,
                   qrc == -2 ? "signing failed" : "query too long");
        goto done;
    }
    if (req->kind != BNC_PUBLIC && (headers = key_header(req->creds)) == NULL) {
        set_status(resp, BNC_ERR_INTERNAL, "out of memory");
        goto done;
    }
    long wait_ms = 0;
    int64_t sent_ms = now_ms();
    if (bnc_hooks.before_send != NULL &&
        bnc_hooks.before_send(bnc_hooks.arg, req->method, req->path,
                              req->params != NULL ? req->params->buf : "",
                              &wait_ms) < 0) {
        set_status(resp, BNC_ERR_RATE_LIMITED,
                   "held back: the daemon's shared Binance request-weight "
                   "budget for this minute is spent");
        resp->retry_after = (wait_ms + 999) / 1000;
        goto done;
    }
    if ((h = thread_handle()) == NULL) {
        set_status(resp, BNC_ERR_INTERNAL, "cannot create a curl handle");
        goto done;
    }
    if (setup_handle(h, req, dbuf_str(&url), headers, &x, errbuf) < 0) {
        set_status(resp, BNC_ERR_INTERNAL, "unsupported HTTP method");
        goto done;
    }
    resp->sent = 1;
    run_exchange(h, resp, &x, errbuf);
    if (bnc_hooks.after_exchange != NULL)
        bnc_hooks.after_exchange(bnc_hooks.arg, resp, sent_ms);
    /* Drop the pointers into this frame before it goes away. */
    curl_easy_reset(h);
    log_debug("%s %s -> %s (HTTP %ld, %ld ms, weight %ld)", req->method,
              req->path, bnc_status_name(resp->status), resp->http_status,
              resp->elapsed_ms, resp->used_weight);
done:
    curl_slist_free_all(headers);
    dbuf_wipe(&query);
    dbuf_wipe(&url);
    dbuf_free(&x.body);
}

static void
response_init(struct bnc_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = BNC_ERR_INTERNAL;
    resp->retry_after = -1;
    resp->used_weight = -1;
}

/* ---- the clock ---- */

/* Fetches /api/v3/time from env and stores the offset. */
static int
sync_time_env(enum bnc_env env, int64_t *server_ms, int64_t *offset_ms,
              struct bnc_response *resp)
{
    struct bnc_request req = {
        .method = "GET", .path = BNC_TIME_PATH, .kind = BNC_PUBLIC};
    json_object *v;
    int64_t before, after, server, offset;

    response_init(resp);
    before = now_ms();
    bnc_perform(&req, env, resp);
    after = now_ms();
    if (resp->status != BNC_OK)
        return -1;
    if (!json_object_is_type(resp->body, json_type_object) ||
        !json_object_object_get_ex(resp->body, "serverTime", &v) ||
        !json_object_is_type(v, json_type_int) ||
        (server = json_object_get_int64(v)) <= 0) {
        json_object_put(resp->body);
        resp->body = NULL;
        set_status(resp, BNC_ERR_BAD_RESPONSE, "no valid serverTime");
        return -1;
    }
    offset = server - (before + after) / 2;
    atomic_store(&bnc_offset_ms, offset);
    if (server_ms != NULL)
        *server_ms = server;
    if (offset_ms != NULL)
        *offset_ms = offset;
    return 0;
}

/* Syncs against the default environment; see bnc.h. On success resp (when
 * given) holds the /api/v3/time answer. */
int
bnc_sync_time(int64_t *server_ms, int64_t *offset_ms, struct bnc_response *resp)
{
    struct bnc_response local;
    int rc;

    rc = sync_time_env(bnc_cfg.default_env, server_ms, offset_ms,
                       resp != NULL ? resp : &local);
    if (resp == NULL)
        bnc_response_free(&local);
    return rc;
}

/* The offset used for timestamps. */
int64_t
bnc_clock_offset(void)
{
    return atomic_load(&bnc_offset_ms);
}

/* The last used weight any thread saw. */
long
bnc_used_weight(void)
{
    return atomic_load(&bnc_weight);
}

/* ---- calls ---- */

/* After a -1021: resynchronise against env. Returns 0 when the offset was
 * renewed. Logs either way. */
static int
resync_after_1021(const struct bnc_request *req, enum bnc_env env)
{
    struct bnc_response t;
    int64_t offset = 0;
    int rc = sync_time_env(env, NULL, &offset, &t);

    if (rc == 0)
        log_warnx("Binance rejected the timestamp of %s %s (-1021); clock "
                  "offset resynchronised to %lld ms%s",
                  req->method, req->path, (long long)offset,
                  req->kind == BNC_READ ? ", retrying once"
                                        : "; a trade is not retried");
    else
        log_warnx("Binance rejected the timestamp of %s %s (-1021) and the "
                  "clock resync failed: %s",
                  req->method, req->path, bnc_status_name(t.status));
    bnc_response_free(&t);
    return rc;
}


/* Remembers a 429/418's Retry-After (60 s when absent) so that no request
 * is sent before it has passed. */
static void
hold_note(const struct bnc_response *resp)
{
    /* Only Binance's own answer starts a hold; binmcpd's own budget
     * holding a request back (http_status 0) does not. */
    if ((resp->status != BNC_ERR_RATE_LIMITED &&
         resp->status != BNC_ERR_BANNED) ||
        resp->http_status == 0)
        return;
    long secs = resp->retry_after >= 0 ? resp->retry_after : 60;
    long long until = (long long)mono_ms() + (long long)secs * 1000;
    long long cur = atomic_load(&bnc_hold_until_ms);
    while (cur < until &&
           !atomic_compare_exchange_weak(&bnc_hold_until_ms, &cur, until))
        ;
    atomic_store(&bnc_hold_banned, resp->status == BNC_ERR_BANNED);
    log_warnx("Binance answered HTTP %ld: holding every request back for "
              "%ld s",
              resp->http_status, secs);
}

/* Fills resp and returns 1 while an earlier Retry-After is running. */
static int
hold_active(struct bnc_response *resp)
{
    long long left = atomic_load(&bnc_hold_until_ms) - (long long)mono_ms();
    if (left <= 0)
        return 0;
    set_status(resp,
               atomic_load(&bnc_hold_banned) ? BNC_ERR_BANNED
                                             : BNC_ERR_RATE_LIMITED,
               "held back: Binance's Retry-After has not passed");
    resp->retry_after = (long)((left + 999) / 1000);
    return 1;
}

void
bnc_hold_clear(void)
{
    atomic_store(&bnc_hold_until_ms, 0);
    atomic_store(&bnc_hold_banned, 0);
}

static struct bnc_trade_gate trade_gate;

void
bnc_set_trade_gate(const struct bnc_trade_gate *gate)
{
    if (gate != NULL)
        trade_gate = *gate;
    else
        memset(&trade_gate, 0, sizeof(trade_gate));
}

/* Sends a trade through the gate: admit, then (if still wanted) the one
 * exchange, then settle. Never retried. */
static void
trade_through_gate(const struct bnc_request *req, enum bnc_env env,
                   struct bnc_response *resp)
{
    void *ticket = NULL;

    if (trade_gate.admit == NULL) {
        set_status(resp, BNC_ERR_REFUSED, "no trading guard");
        snprintf(resp->verdict, sizeof(resp->verdict),
                 "Refused: this process has no trading guard, so no order "
                 "can be sent. Nothing was sent.");
        return;
    }
    if (trade_gate.admit(trade_gate.arg, req, env, &ticket, resp) < 0) {
        set_status(resp, BNC_ERR_REFUSED, "refused by the trading guard");
        resp->env = env;
        return;
    }
    /* The confirmation may have taken a while: look again. */
    if (req->cancel != NULL && atomic_load(req->cancel) != 0)
        set_status(resp, BNC_ERR_CANCELLED,
                   "cancelled by the client before it was sent");
    else if (!hold_active(resp))
        bnc_perform(req, env, resp);
    hold_note(resp);
    if (resp->status == BNC_ERR_API && resp->api_code == BNC_ERR_TIMESTAMP)
        (void)resync_after_1021(req, env); /* for the caller's next try */
    trade_gate.settle(trade_gate.arg, req, ticket, resp);
}

/* Contract in bnc.h. */
int
bnc_call(const struct bnc_request *req, struct bnc_response *resp)
{
    enum bnc_env env = bnc_cfg.default_env;

    response_init(resp);
    if (req == NULL || req->method == NULL || req->path == NULL) {
        set_status(resp, BNC_ERR_INTERNAL, "incomplete request");
        return -1;
    }
    if (req->params != NULL && req->params->overflow) {
        set_status(resp, BNC_ERR_INTERNAL, "query too long");
        return -1;
    }
    if (req->kind != BNC_PUBLIC) {
        if (req->creds == NULL || !req->creds->set) {
            set_status(resp, BNC_ERR_NO_CREDENTIALS, NULL);
            return -1;
        }
        env = req->creds->env;
    } else if (req->env != NULL) {
        env = *req->env;
    }
    if (req->cancel != NULL && atomic_load(req->cancel) != 0) {
        set_status(resp, BNC_ERR_CANCELLED, "cancelled by the client");
        return -1;
    }
    if (hold_active(resp))
        return -1;
    if (req->kind == BNC_TRADE) {
        trade_through_gate(req, env, resp);
        return resp->status == BNC_OK ? 0 : -1;
    }
    bnc_perform(req, env, resp);
    hold_note(resp);
    if (resp->status == BNC_ERR_API && resp->api_code == BNC_ERR_TIMESTAMP &&
        req->kind != BNC_PUBLIC) {
        /* Only a read is sent again; a trade only gets the clock fixed so
         * that the caller's own next attempt can pass. */
        if (resync_after_1021(req, env) == 0 && req->kind == BNC_READ) {
            bnc_response_free(resp);
            response_init(resp);
            bnc_perform(req, env, resp);
        }
    }
    return resp->status == BNC_OK ? 0 : -1;
}

/* Drops the body; the rest of resp stays readable. */
void
bnc_response_free(struct bnc_response *resp)
{
    if (resp == NULL)
        return;
    json_object_put(resp->body);
    resp->body = NULL;
    json_object_put(resp->reconciled);
    resp->reconciled = NULL;
    json_object_put(resp->error_data);
    resp->error_data = NULL;
}

/* Stable names for logs and structured errors. */
const char *
bnc_status_name(enum bnc_status s)
{
#define BNC_STATUS_NAME(name, text) [name] = text,
    static const char *const names[] = {BNC_STATUS_LIST(BNC_STATUS_NAME)};
#undef BNC_STATUS_NAME
    if ((unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] != NULL)
        return names[s];
    return "unknown";
}

/* ---- error sentences ---- */

/* Appends printf text to buf (size len, *used bytes taken); truncates. */
static void desc_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
desc_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = (size_t)n < len - *used ? *used + (size_t)n : len;
}

/* " -1121 Invalid symbol." style: Binance's code and msg, or "". */
static const char *
code_and_msg(const struct bnc_response *r, char *buf, size_t len)
{
    if (r->api_code != 0 && r->api_msg[0] != '\0')
        snprintf(buf, len, "%d %s", r->api_code, r->api_msg);
    else if (r->api_code != 0)
        snprintf(buf, len, "%d", r->api_code);
    else
        snprintf(buf, len, "%s", r->api_msg);
    return buf;
}

/* "(HTTP 429, -1003 Too many requests.)" or "(HTTP 429)" or "". */
static const char *
http_and_code(const struct bnc_response *r, char *buf, size_t len)
{
    char cm[300];

    code_and_msg(r, cm, sizeof(cm));
    if (r->http_status > 0 && cm[0] != '\0')
        snprintf(buf, len, " (HTTP %ld, %s)", r->http_status, cm);
    else if (r->http_status > 0)
        snprintf(buf, len, " (HTTP %ld)", r->http_status);
    else if (cm[0] != '\0')
        snprintf(buf, len, " (%s)", cm);
    else
        buf[0] = '\0';
    return buf;
}

/* What to do about a 4xx, by Binance's code. */
static const char *
api_advice(int code)
{
    switch (code) {
    case -1121:
        return "Check the symbol; use the `search` tool to find valid "
               "symbols.";
    case -1022:
    case -2014:
    case -2015:
        return "Check the API key and secret, the key's permissions and its "
               "IP whitelist.";
    case -1013:
        return "A symbol filter rejected the order (price tick size, lot "
               "size or minimum notional); check the symbol's filters in "
               "exchangeInfo and adjust the price or quantity.";
    case -2010:
        return "The order was rejected, for example because the balance is "
               "insufficient; check the balances and the order's "
               "parameters.";
    case -2011:
    case -2013:
        return "The order id may be wrong, or the order is already filled, "
               "cancelled or expired.";
    case -1021:
        return "The request's timestamp was outside the recvWindow; the "
               "clock offset has been resynchronised, so the request can be "
               "sent again.";
    case -1003:
        return "Too much request weight was used; wait a minute before "
               "retrying.";
    default:
        return "Check the arguments and try again.";
    }
}

static void
describe_api(const struct bnc_response *r, char *buf, size_t len, size_t *used)
{
    char cm[300];

    code_and_msg(r, cm, sizeof(cm));
    desc_add(buf, len, used, "Binance rejected the request%s%s",
             cm[0] != '\0' ? ": " : "", cm);
    if (r->http_status > 0)
        desc_add(buf, len, used, " (HTTP %ld)", r->http_status);
    desc_add(buf, len, used, ". %s", api_advice(r->api_code));
    if (r->api_code == -2014 || r->api_code == -2015 || r->api_code == -1022)
        desc_add(buf, len, used,
                 " This request went to the %s (%s); mainnet, testnet and "
                 "demo mode each have their own keys, so a key of another "
                 "environment is refused like this: check the key's "
                 "environment with get_credentials_status.",
                 creds_env_name(r->env), bnc_base_url(r->env));
}

static void
describe_limit(const struct bnc_response *r, char *buf, size_t len,
               size_t *used)
{
    char hc[352];

    http_and_code(r, hc, sizeof(hc));
    if (r->http_status == 0 && strstr(r->detail, "budget") != NULL)
        desc_add(buf, len, used,
                 "binmcpd held this request back and did not send it: the "
                 "daemon's own budget of Binance request weight for this "
                 "minute is spent (binmcpd keeps below Binance's limit so "
                 "that the IP is never banned); Binance did not refuse "
                 "anything.");
    else if (r->http_status == 0)
        desc_add(buf, len, used,
                 "binmcpd did not send this request: Binance answered an "
                 "earlier one with HTTP %s and its Retry-After has not "
                 "passed.",
                 r->status == BNC_ERR_RATE_LIMITED ? "429" : "418");
    else if (r->status == BNC_ERR_RATE_LIMITED)
        desc_add(buf, len, used, "Binance rate limit hit%s.", hc);
    else
        desc_add(buf, len, used,
                 "Binance reports that this IP is temporarily banned for "
                 "ignoring rate limits%s.",
                 hc);
    if (r->retry_after >= 0)
        desc_add(buf, len, used, " Retry after %ld seconds%s", r->retry_after,
                 r->status == BNC_ERR_RATE_LIMITED ? "; do not retry sooner."
                                                   : ".");
    else
        desc_add(buf, len, used,
                 " Binance gave no Retry-After; wait at least a minute, as "
                 "early retries extend the ban.");
}

/* Sentences that need no data beyond the status (and the timeout). */
static void
describe_simple(const struct bnc_response *r, char *buf, size_t len,
                size_t *used)
{
    char hc[352];

    http_and_code(r, hc, sizeof(hc));
    switch (r->status) {
    case BNC_ERR_WAF:
        desc_add(buf, len, used,
                 "Binance's web application firewall refused the request%s. "
                 "Wait before retrying, and do not repeat the request "
                 "unchanged.",
                 hc);
        break;
    case BNC_ERR_SERVER:
        desc_add(buf, len, used,
                 "Binance had an internal error%s; the request's outcome is "
                 "unknown. Look an order up (for example by its client order "
                 "id) before sending it again.",
                 hc);
        break;
    case BNC_ERR_TIMEOUT:
        desc_add(buf, len, used,
                 "No answer from Binance within %ld ms; the outcome is "
                 "unknown. Look an order up before sending it again.",
                 bnc_cfg.timeout_ms);
        break;
    case BNC_ERR_NO_CREDENTIALS:
        desc_add(buf, len, used,
                 "No Binance API credentials are configured. Call "
                 "configure_credentials or start binmcpd with "
                 "BINANCE_API_KEY and BINANCE_API_SECRET.");
        break;
    case BNC_ERR_CANCELLED:
        desc_add(buf, len, used, "The request was cancelled by the client.");
        break;
    default:
        break;
    }
}

/* Contract in bnc.h. Uses only resp's fields and the configuration. */
const char *
bnc_describe_error(const struct bnc_response *resp, char *buf, size_t len)
{
    size_t used = 0;

    if (buf == NULL || len == 0)
        return buf;
    buf[0] = '\0';
    switch (resp->status) {
    case BNC_OK:
        desc_add(buf, len, &used, "The request succeeded (HTTP %ld).",
                 resp->http_status);
        break;
    case BNC_ERR_API:
        describe_api(resp, buf, len, &used);
        break;
    case BNC_ERR_RATE_LIMITED:
    case BNC_ERR_BANNED:
        describe_limit(resp, buf, len, &used);
        break;
    case BNC_ERR_NETWORK:
        desc_add(buf, len, &used, "Could not reach Binance at %s%s%s.",
                 bnc_base_url(resp->env), resp->detail[0] != '\0' ? ": " : "",
                 resp->detail);
        break;
    case BNC_ERR_BAD_RESPONSE:
        if (resp->detail[0] == '\0' ||
            strcmp(resp->detail, "not valid JSON") == 0)
            desc_add(buf, len, &used,
                     "Binance sent an answer that is not valid JSON "
                     "(HTTP %ld).",
                     resp->http_status);
        else {
            char hc[352];
            desc_add(buf, len, &used, "Binance sent an unusable answer%s: %s.",
                     http_and_code(resp, hc, sizeof(hc)), resp->detail);
        }
        break;
    case BNC_ERR_REFUSED:
        desc_add(buf, len, &used, "%s",
                 resp->verdict[0] != '\0' ? resp->verdict
                                          : "Refused by the trading guard; "
                                            "nothing was sent.");
        break;
    case BNC_ERR_INTERNAL:
        desc_add(buf, len, &used, "binmcpd could not make the request: %s.",
                 resp->detail[0] != '\0' ? resp->detail : "internal error");
        break;
    default:
        describe_simple(resp, buf, len, &used);
        break;
    }
    return buf;
}
