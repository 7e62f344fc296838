/*
 * creds.h - Binance API credentials: where they live, how they are masked
 * and how they are wiped.
 *
 * A struct creds is plain memory owned by whoever embeds it (the daemon's
 * settings, or an MCP session). creds_wipe() must be called before the
 * memory is released or overwritten; creds_set() wipes the old value itself.
 */
#ifndef BINMCPD_CREDS_H
#define BINMCPD_CREDS_H

#include <stdint.h>

#define CREDS_KEY_MAX 256 /* longest key or secret accepted, bytes */

enum bnc_env {
    BNC_ENV_MAINNET = 0,
    BNC_ENV_TESTNET = 1,
};

struct creds {
    int set;                        /* 0: no credentials here */
    enum bnc_env env;               /* which exchange they belong to */
    int64_t since_ms;               /* when they were set, ms since epoch */
    char key[CREDS_KEY_MAX + 1];    /* NUL-terminated */
    char secret[CREDS_KEY_MAX + 1]; /* NUL-terminated; never logged */
};

/* Checks that a key or secret is non-empty, at most CREDS_KEY_MAX bytes and
 * only printable ASCII without spaces (what Binance issues; HMAC keys are
 * 64 alphanumerics). Returns 0 or -1 with a reason in err. */
int creds_check_token(const char *what, const char *s, char *err,
                      size_t errlen);

/* Replaces c with key/secret/env after wiping the old value. Returns 0, or
 * -1 with a reason in err (c is then wiped and unset). */
int creds_set(struct creds *c, const char *key, const char *secret,
              enum bnc_env env, char *err, size_t errlen);

/* Zeroes key and secret and marks c unset. */
void creds_wipe(struct creds *c);

/* Writes a masked form of key into out: the first 4 and last 4 characters
 * with "..." between, or "****" when the key has 8 characters or fewer. */
void creds_mask(const char *key, char *out, size_t outlen);

/* "mainnet" or "testnet". */
const char *creds_env_name(enum bnc_env env);

/* Parses "mainnet"/"testnet" (any case). Returns 0 or -1. */
int creds_env_parse(const char *s, enum bnc_env *out);

#endif
