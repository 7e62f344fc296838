/*
 * creds.h - Binance API credentials: where they live, how they are masked
 * and how they are wiped.
 *
 * A struct creds is plain memory owned by whoever embeds it (the daemon's
 * settings, or an MCP session). creds_wipe() must be called before the
 * memory is released or overwritten; creds_set() wipes the old value itself.
 *
 * Three key types: HMAC (secret is the secret string Binance issued),
 * Ed25519 and RSA (secret is the private key, in the one-line PEM form of
 * sign.h: no line break, so the credentials message between processes,
 * "key\nsecret\nenv", carries it as it is, and creds_set() on the receiving
 * side finds the type again).
 */
#ifndef BINMCPD_CREDS_H
#define BINMCPD_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

#define CREDS_KEY_MAX 256 /* longest API key or HMAC secret, bytes */
/* longest private key PEM (an RSA 4096 PKCS#8 PEM is about 3.3 KB) and the
 * size of the secret field */
#define CREDS_SECRET_MAX 6144

enum bnc_env {
    BNC_ENV_MAINNET = 0,
    BNC_ENV_TESTNET = 1,
    BNC_ENV_DEMO = 2, /* demo mode: mainnet's rules, simulated money */
};

struct creds {
    int set;                     /* 0: no credentials here */
    enum bnc_env env;            /* which exchange they belong to */
    enum sign_key_type type;     /* what secret holds */
    int64_t since_ms;            /* when they were set, ms since epoch */
    char key[CREDS_KEY_MAX + 1]; /* NUL-terminated */
    /* NUL-terminated; never logged: the HMAC secret, or the private key
     * in one-line PEM form */
    char secret[CREDS_SECRET_MAX + 1];
};

/* Checks that a key or secret is non-empty, at most CREDS_KEY_MAX bytes and
 * only printable ASCII without spaces (what Binance issues; HMAC keys are
 * 64 alphanumerics). Returns 0 or -1 with a reason in err. */
int creds_check_token(const char *what, const char *s, char *err,
                      size_t errlen);

/* Replaces c with key/secret/env after wiping the old value. secret is an
 * HMAC secret, or a PEM private key (it starts with "-----BEGIN "; any
 * layout, including the one-line form that c->secret holds): the type is
 * found from it. Returns 0, or -1 with a reason that never quotes the
 * secret in err (c is then wiped and unset). */
int creds_set(struct creds *c, const char *key, const char *secret,
              enum bnc_env env, char *err, size_t errlen);

/* Like creds_set with the PEM private key read from the file at path,
 * which must be a regular file of at most CREDS_SECRET_MAX bytes that
 * neither group nor others may access (secfile.h: the error then says
 * which chmod to run). The file's bytes are wiped after use. */
int creds_set_key_file(struct creds *c, const char *key, const char *path,
                       enum bnc_env env, char *err, size_t errlen);

/* Zeroes key and secret and marks c unset. */
void creds_wipe(struct creds *c);

/* Writes a masked form of key into out: the first 4 and last 4 characters
 * with "..." between, or "****" when the key has 8 characters or fewer. */
void creds_mask(const char *key, char *out, size_t outlen);

/* "mainnet", "testnet" or "demo". */
const char *creds_env_name(enum bnc_env env);

/* Parses "mainnet"/"testnet"/"demo" (any case). Returns 0 or -1. */
int creds_env_parse(const char *s, enum bnc_env *out);

#endif
