/*
 * auth.c - static bearer tokens. See auth.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "auth.h"
#include "secfile.h"
#include "util.h"

#define AUTH_DIGEST_LEN  32 /* SHA-256 */
#define AUTH_HASH_PREFIX "sha256:"

struct auth_tokens {
    size_t n;
    uint8_t (*digest)[AUTH_DIGEST_LEN];
};

static int
auth_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int
auth_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* SHA-256 of len bytes. Returns 0 or -1. */
static int
auth_digest(const char *p, size_t len, uint8_t out[AUTH_DIGEST_LEN])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, p, len, out) == 0 ? 0 : -1;
}

/* Parses one trimmed, non-empty line into a digest. Returns 0, or -1 with
 * what is wrong in why (the line itself is never quoted). */
static int
auth_parse_line(const char *s, size_t len, uint8_t out[AUTH_DIGEST_LEN],
                const char **why)
{
    size_t plen = strlen(AUTH_HASH_PREFIX);

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) {
            *why = "a token may hold only visible ASCII characters, "
                   "without spaces";
            return -1;
        }
    }
    if (len >= plen && strncasecmp(s, AUTH_HASH_PREFIX, plen) == 0) {
        if (len != plen + (size_t)2 * AUTH_DIGEST_LEN) {
            *why = "a hashed token is sha256: and 64 hex digits";
            return -1;
        }
        for (size_t k = 0; k < AUTH_DIGEST_LEN; k++) {
            int hi = auth_hex_digit(s[plen + 2 * k]);
            int lo = auth_hex_digit(s[plen + 2 * k + 1]);
            if (hi < 0 || lo < 0) {
                *why = "a hashed token is sha256: and 64 hex digits";
                return -1;
            }
            out[k] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
    }
    if (len < AUTH_TOKEN_MIN) {
        *why = "a token must be at least 16 characters long";
        return -1;
    }
    if (len > AUTH_TOKEN_MAX) {
        *why = "a token may be at most 4096 characters long";
        return -1;
    }
    if (auth_digest(s, len, out) < 0) {
        *why = "SHA-256 failed";
        return -1;
    }
    return 0;
}

/* Adds a digest, growing the array. Returns 0 or -1 (out of memory); the
 * old array is wiped before it is freed. */
static int
auth_add(struct auth_tokens *t, size_t *cap, const uint8_t d[AUTH_DIGEST_LEN])
{
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        uint8_t(*nd)[AUTH_DIGEST_LEN] = calloc(ncap, AUTH_DIGEST_LEN);
        if (nd == NULL)
            return -1;
        if (t->n > 0) {
            memcpy(nd, t->digest, t->n * AUTH_DIGEST_LEN);
            secure_wipe(t->digest, t->n * AUTH_DIGEST_LEN);
        }
        free(t->digest);
        t->digest = nd;
        *cap = ncap;
    }
    memcpy(t->digest[t->n++], d, AUTH_DIGEST_LEN);
    return 0;
}

struct auth_tokens *
auth_load(const char *path, char *err, size_t errlen)
{
    uint8_t d[AUTH_DIGEST_LEN];
    struct auth_tokens *t;
    char *text;
    size_t len, cap = 0;
    unsigned line = 0;

    if (secfile_read(path, "the auth tokens file", SECFILE_SECRET,
                     AUTH_FILE_MAX, &text, &len, err, errlen) < 0)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "auth tokens file %s: out of memory", path);
        goto fail;
    }
    for (size_t pos = 0; pos < len;) {
        size_t end = pos, a, b;
        const char *why = NULL;

        while (end < len && text[end] != '\n')
            end++;
        line++;
        a = pos;
        b = end;
        pos = end + 1;
        while (a < b && auth_is_space(text[a]))
            a++;
        while (b > a && auth_is_space(text[b - 1]))
            b--;
        if (a == b || text[a] == '#')
            continue;
        if (memchr(text + a, '\0', b - a) != NULL)
            why = "the line holds a NUL byte";
        else if (auth_parse_line(text + a, b - a, d, &why) == 0 &&
                 auth_add(t, &cap, d) < 0)
            why = "out of memory";
        if (why != NULL) {
            snprintf(err, errlen, "%s:%u: %s", path, line, why);
            goto fail;
        }
    }
    if (t->n == 0) {
        snprintf(err, errlen, "the auth tokens file %s holds no token", path);
        goto fail;
    }
    secure_wipe(d, sizeof(d));
    secure_wipe(text, len);
    free(text);
    return t;

fail:
    secure_wipe(d, sizeof(d));
    secure_wipe(text, len);
    free(text);
    auth_free(t);
    return NULL;
}

int
auth_check(const struct auth_tokens *t, const char *authorization)
{
    return auth_check_fp(t, authorization, NULL, 0);
}

int
auth_check_fp(const struct auth_tokens *t, const char *authorization,
              unsigned char *fp, size_t fplen)
{
    static const char scheme[] = "Bearer";
    uint8_t d[AUTH_DIGEST_LEN];
    const char *s = authorization, *e;
    size_t slen = sizeof(scheme) - 1;
    int ok = 0;

    if (t == NULL || t->n == 0 || s == NULL)
        return 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncasecmp(s, scheme, slen) != 0 ||
        (s[slen] != ' ' && s[slen] != '\t'))
        return 0;
    s += slen;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e == s || (size_t)(e - s) > AUTH_TOKEN_MAX)
        return 0;
    for (const char *p = s; p < e; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    if (auth_digest(s, (size_t)(e - s), d) < 0)
        return 0;
    /* Every token is compared: no exit on the first match. */
    for (size_t i = 0; i < t->n; i++)
        ok |= ct_equal(t->digest[i], AUTH_DIGEST_LEN, d, AUTH_DIGEST_LEN);
    if (ok && fp != NULL)
        memcpy(fp, d, fplen < AUTH_DIGEST_LEN ? fplen : AUTH_DIGEST_LEN);
    secure_wipe(d, sizeof(d));
    return ok;
}

const char *
auth_challenge(const char *authorization)
{
    if (authorization == NULL)
        return "Bearer realm=\"binmcpd\"";
    return "Bearer realm=\"binmcpd\", error=\"invalid_token\"";
}

int
auth_is_loopback(const char *bind)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (bind == NULL)
        return 0;
    if (strcasecmp(bind, "localhost") == 0 || strcmp(bind, "[::1]") == 0)
        return 1;
    if (inet_pton(AF_INET, bind, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, bind, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) ||
               (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

size_t
auth_count(const struct auth_tokens *t)
{
    return t != NULL ? t->n : 0;
}

int
auth_hash_token(const char *token, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[AUTH_DIGEST_LEN];
    size_t plen = strlen(AUTH_HASH_PREFIX);

    if (outlen < AUTH_HASHED_LEN + 1 ||
        auth_digest(token, strlen(token), d) < 0)
        return -1;
    memcpy(out, AUTH_HASH_PREFIX, plen);
    for (size_t k = 0; k < AUTH_DIGEST_LEN; k++) {
        out[plen + 2 * k] = hex[d[k] >> 4];
        out[plen + 2 * k + 1] = hex[d[k] & 0xf];
    }
    out[AUTH_HASHED_LEN] = '\0';
    secure_wipe(d, sizeof(d));
    return 0;
}

void
auth_free(struct auth_tokens *t)
{
    if (t == NULL)
        return;
    if (t->digest != NULL) {
        secure_wipe(t->digest, t->n * AUTH_DIGEST_LEN);
        free(t->digest);
    }
    secure_wipe(t, sizeof(*t));
    free(t);
}

/* See auth.h. */
int
auth_bind_allowed(const char *bind, int have_tokens, int allow_unauthenticated,
                  char *err, size_t errlen)
{
    if (have_tokens || allow_unauthenticated || auth_is_loopback(bind))
        return 0;
    snprintf(err, errlen,
             "refusing to listen on %s without authentication: set "
             "auth_tokens_file, or --allow-unauthenticated if a proxy in "
             "front authenticates",
             bind);
    return -1;
}

/* ---- Host names ---- */

/* A host and its port as spans of a Host value or a list entry. */
struct auth_hostport {
    const char *host;
    size_t hlen;
    const char *port; /* NULL: none */
    size_t plen;
};

/* Splits text[0..len) into host and port: "[v6]:port", "[v6]",
 * "name:port", "name". Returns 0, or -1 when it is not of that form. */
static int
auth_split_host(const char *text, size_t len, struct auth_hostport *hp)
{
    const char *end = text + len, *colon;

    memset(hp, 0, sizeof(*hp));
    if (len == 0)
        return -1;
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (close == NULL || close == text + 1)
            return -1;
        hp->host = text;
        hp->hlen = (size_t)(close - text) + 1;
        colon = close + 1 < end ? close + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return -1;
    } else {
        colon = memchr(text, ':', len);
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            return -1; /* an IPv6 address needs its brackets */
        hp->host = text;
        hp->hlen = colon != NULL ? (size_t)(colon - text) : len;
        if (hp->hlen == 0)
            return -1;
    }
    if (colon != NULL) {
        hp->port = colon + 1;
        hp->plen = (size_t)(end - colon - 1);
        if (hp->plen == 0 || hp->plen > 5)
            return -1;
        for (size_t i = 0; i < hp->plen; i++)
            if (hp->port[i] < '0' || hp->port[i] > '9')
                return -1;
    }
    /* one trailing dot of a name is the same name */
    if (hp->host[0] != '[' && hp->hlen > 1 && hp->host[hp->hlen - 1] == '.')
        hp->hlen--;
    return 0;
}

/* Whether a name is one the list syntax takes: letters, digits, '.', '-'
 * and '_' (IPv4 addresses included), or an IPv6 address in brackets. */
static int
auth_host_chars_ok(const struct auth_hostport *hp)
{
    int v6 = hp->host[0] == '[';
    for (size_t i = v6; i < hp->hlen - v6; i++) {
        char c = hp->host[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.';
        if (v6)
            ok |= c == ':';
        else
            ok |= c == '-' || c == '_';
        if (!ok)
            return 0;
    }
    return 1;
}

/* Whether request host a matches entry e (no port in e: any port). */
static int
auth_hostport_match(const struct auth_hostport *a,
                    const struct auth_hostport *e)
{
    if (a->hlen != e->hlen || strncasecmp(a->host, e->host, a->hlen) != 0)
        return 0;
    if (e->port == NULL)
        return 1;
    if (a->port == NULL)
        return 0;
    /* compare as numbers: "08000" is port 8000 */
    long pa = strtol(a->port, NULL, 10), pe = strtol(e->port, NULL, 10);
    return pa == pe;
}

/* Calls fn for each trimmed entry of list until it returns non-zero;
 * returns that value (0 when every entry got 0). */
static int
auth_hosts_each(const char *list, int (*fn)(void *, const char *, size_t),
                void *arg)
{
    const char *p = list;
    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        int rc = fn(arg, a, (size_t)(b - a));
        if (rc != 0)
            return rc;
        p = comma != NULL ? comma + 1 : end;
    }
    return 0;
}

struct auth_check_ctx {
    char *err;
    size_t errlen;
};

static int
auth_check_entry(void *arg, const char *e, size_t len)
{
    struct auth_check_ctx *c = arg;
    struct auth_hostport hp;

    if (len == 1 && e[0] == '*')
        return 0;
    if (auth_split_host(e, len, &hp) < 0 || !auth_host_chars_ok(&hp) ||
        (hp.port != NULL && (strtol(hp.port, NULL, 10) < 1 ||
                             strtol(hp.port, NULL, 10) > 65535))) {
        snprintf(c->err, c->errlen,
                 "'%.*s' is not a host name, an IPv4 address or a [IPv6] "
                 "address with an optional :port, or *",
                 (int)(len < 80 ? len : 80), e);
        return -1;
    }
    return 0;
}

int
auth_hosts_check(const char *list, char *err, size_t errlen)
{
    struct auth_check_ctx c = {err, errlen};
    return auth_hosts_each(list, auth_check_entry, &c) != 0 ? -1 : 0;
}

struct auth_match_ctx {
    struct auth_hostport want;
};

static int
auth_match_entry(void *arg, const char *e, size_t len)
{
    struct auth_match_ctx *c = arg;
    struct auth_hostport hp;

    if (len == 1 && e[0] == '*')
        return 1;
    return auth_split_host(e, len, &hp) == 0 &&
           auth_hostport_match(&c->want, &hp);
}

int
auth_host_allowed(const char *host, const char *list, const char *bind)
{
    static const char *const loopback[] = {"localhost", "127.0.0.1", "[::1]"};
    struct auth_match_ctx c;
    size_t len;

    if (host == NULL)
        return 1;
    while (*host == ' ' || *host == '\t')
        host++;
    len = strlen(host);
    while (len > 0 && (host[len - 1] == ' ' || host[len - 1] == '\t'))
        len--;
    if (auth_split_host(host, len, &c.want) < 0)
        return 0;
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
        if (auth_match_entry(&c, loopback[i], strlen(loopback[i])))
            return 1;
    if (bind != NULL && strcmp(bind, "0.0.0.0") != 0 &&
        strcmp(bind, "::") != 0) {
        char self[80];
        int n = snprintf(self, sizeof(self),
                         strchr(bind, ':') != NULL ? "[%s]" : "%s", bind);
        if (n > 0 && (size_t)n < sizeof(self) &&
            auth_match_entry(&c, self, (size_t)n))
            return 1;
    }
    return list != NULL && auth_hosts_each(list, auth_match_entry, &c) == 1;
}
