/*
 * creds.c - see creds.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "util.h"

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

int
creds_set(struct creds *c, const char *key, const char *secret,
          enum bnc_env env, char *err, size_t errlen)
{
    creds_wipe(c);
    if (creds_check_token("API key", key, err, errlen) < 0 ||
        creds_check_token("API secret", secret, err, errlen) < 0)
        return -1;
    memcpy(c->key, key, strlen(key) + 1);
    memcpy(c->secret, secret, strlen(secret) + 1);
    c->env = env;
    c->since_ms = now_ms();
    c->set = 1;
    return 0;
}

void
creds_wipe(struct creds *c)
{
    secure_wipe(c->key, sizeof(c->key));
    secure_wipe(c->secret, sizeof(c->secret));
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
    return env == BNC_ENV_TESTNET ? "testnet" : "mainnet";
}

int
creds_env_parse(const char *s, enum bnc_env *out)
{
    if (strcasecmp(s, "mainnet") == 0)
        *out = BNC_ENV_MAINNET;
    else if (strcasecmp(s, "testnet") == 0)
        *out = BNC_ENV_TESTNET;
    else
        return -1;
    return 0;
}
