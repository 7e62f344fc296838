/*
 * creds.c - see creds.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "secfile.h"
#include "util.h"

#define PEM_BEGIN "-----BEGIN "

int
creds_check_token(const char *what, const char *s, char *err, size_t errlen)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0) {
        snprintf(err, errlen, "%s is empty", what);
        return -1;
    }
    if (n > CREDS_KEY_MAX) {
        snprintf(err, errlen, "%s is longer than %d characters", what,
                 CREDS_KEY_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            snprintf(err, errlen,
                     "%s contains a character that is not printable ASCII "
                     "(position %zu)",
                     what, i + 1);
            return -1;
        }
    }
    return 0;
}

/* Skips blanks at the start of s. */
static const char *
skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return s;
}

/* Stores key and the private key in pem into c (already wiped). Returns 0
 * or -1 with a reason in err (c may hold part of it: the caller wipes). */
static int
set_private_key(struct creds *c, const char *key, const char *pem,
                enum bnc_env env, char *err, size_t errlen)
{
    char why[200];

    if (creds_check_token("API key", key, err, errlen) < 0)
        return -1;
    if (strlen(pem) > CREDS_SECRET_MAX) {
        snprintf(err, errlen, "the private key is longer than %d bytes",
                 CREDS_SECRET_MAX);
        return -1;
    }
    if (sign_key_parse(pem, c->secret, sizeof(c->secret), &c->type, why,
                       sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    memcpy(c->key, key, strlen(key) + 1);
    c->env = env;
    c->since_ms = now_ms();
    c->set = 1;
    return 0;
}

int
creds_set(struct creds *c, const char *key, const char *secret,
          enum bnc_env env, char *err, size_t errlen)
{
    creds_wipe(c);
    if (secret != NULL &&
        strncmp(skip_blanks(secret), PEM_BEGIN, strlen(PEM_BEGIN)) == 0) {
        if (set_private_key(c, key, secret, env, err, errlen) < 0) {
            creds_wipe(c);
            return -1;
        }
        return 0;
    }
    if (creds_check_token("API key", key, err, errlen) < 0 ||
        creds_check_token("API secret", secret, err, errlen) < 0)
        return -1;
    memcpy(c->key, key, strlen(key) + 1);
    memcpy(c->secret, secret, strlen(secret) + 1);
    c->type = SIGN_KEY_HMAC;
    c->env = env;
    c->since_ms = now_ms();
    c->set = 1;
    return 0;
}

int
creds_set_key_file(struct creds *c, const char *key, const char *path,
                   enum bnc_env env, char *err, size_t errlen)
{
    char *text = NULL, why[256];
    size_t len = 0;
    int rc;

    creds_wipe(c);
    if (secfile_read(path, "the private key file", SECFILE_SECRET,
                     CREDS_SECRET_MAX, &text, &len, err, errlen) < 0)
        return -1;
    rc = set_private_key(c, key, text, env, why, sizeof(why));
    if (rc < 0) {
        creds_wipe(c);
        snprintf(err, errlen, "private key file %s: %s", path, why);
    }
    secure_wipe(text, len + 1);
    free(text);
    return rc;
}

void
creds_wipe(struct creds *c)
{
    secure_wipe(c->key, sizeof(c->key));
    secure_wipe(c->secret, sizeof(c->secret));
    c->type = SIGN_KEY_HMAC;
    c->set = 0;
    c->since_ms = 0;
}

void
creds_mask(const char *key, char *out, size_t outlen)
{
    size_t n = strlen(key);
    if (n <= 8) {
        snprintf(out, outlen, "****");
        return;
    }
    snprintf(out, outlen, "%.4s...%s", key, key + n - 4);
}

const char *
creds_env_name(enum bnc_env env)
{
    switch (env) {
    case BNC_ENV_TESTNET:
        return "testnet";
    case BNC_ENV_DEMO:
        return "demo";
    case BNC_ENV_MAINNET:
        break;
    }
    return "mainnet";
}

int
creds_env_parse(const char *s, enum bnc_env *out)
{
    if (strcasecmp(s, "mainnet") == 0)
        *out = BNC_ENV_MAINNET;
    else if (strcasecmp(s, "testnet") == 0)
        *out = BNC_ENV_TESTNET;
    else if (strcasecmp(s, "demo") == 0)
        *out = BNC_ENV_DEMO;
    else
        return -1;
    return 0;
}
