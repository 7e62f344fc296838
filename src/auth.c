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
