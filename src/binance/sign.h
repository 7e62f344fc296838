/*
 * sign.h - request signing for Binance SIGNED endpoints, with the three
 * key types Binance issues: HMAC (a shared secret string), Ed25519 and RSA
 * (a private key whose public half was registered with Binance).
 *
 * HMAC-SHA256 gives 64 lowercase hex digits. Ed25519 (pure EdDSA over the
 * payload) and RSA (RSASSA-PKCS1-v1_5 with SHA-256; Binance takes no PSS)
 * give base64, which a REST query carries percent-encoded. All of it goes
 * through GnuTLS.
 *
 * Private keys are PEM text: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE
 * KEY"), or a PKCS#8 encrypted with an empty password ("ENCRYPTED PRIVATE
 * KEY", what certtool --pkcs8 --null-password writes); text before the
 * block is skipped. sign_key_parse() also writes a key in a one-line form,
 * "-----BEGIN PRIVATE KEY----- <base64> -----END PRIVATE KEY-----": always
 * an unencrypted PKCS#8 (so signing never runs a password KDF), with no
 * line break (so it travels where a secret string does) and with spaces (so
 * it is never mistaken for an HMAC secret, which has none). Every function
 * here that takes a PEM takes that form too.
 */
#ifndef BINMCPD_SIGN_H
#define BINMCPD_SIGN_H

#include <stddef.h>

#define SIGN_HEX_LEN      64   /* hex digits of an HMAC-SHA256 signature */
#define SIGN_RSA_MIN_BITS 2048 /* RSA moduli Binance accepts */
#define SIGN_RSA_MAX_BITS 4096
/* base64 characters of the longest signature (RSA 4096: 684) */
#define SIGN_BASE64_MAX (4 * ((SIGN_RSA_MAX_BITS / 8 + 2) / 3))
/* the longest signature as a query value: every character percent-encoded
 * at worst */
#define SIGN_QUERY_MAX (3 * SIGN_BASE64_MAX)

enum sign_key_type {
    SIGN_KEY_HMAC = 0, /* the secret is a string */
    SIGN_KEY_ED25519,  /* the secret is a PEM private key */
    SIGN_KEY_RSA,      /* the secret is a PEM private key */
};

/* Computes lowercase hex HMAC-SHA256(secret, msg) into out, which must hold
 * SIGN_HEX_LEN + 1 bytes. Uses GnuTLS; wipes its intermediate digest.
 * Returns 0, or -1 if GnuTLS fails (out is then "").  */
int sign_hmac_sha256_hex(const char *secret, const char *msg, size_t msglen,
                         char out[SIGN_HEX_LEN + 1]);

/* Checks the PEM private key in pem (NUL-terminated; one block, blanks
 * after it): a key GnuTLS can load without a passphrase, Ed25519 or RSA of
 * SIGN_RSA_MIN_BITS to SIGN_RSA_MAX_BITS.
 * Sets *type and, when out is not NULL, writes the one-line form into out
 * (outlen bytes; about the length of pem suffices). Returns 0, or -1 with a
 * sentence in err that never quotes the key (out is then ""). Everything
 * decoded on the way is wiped. */
int sign_key_parse(const char *pem, char *out, size_t outlen,
                   enum sign_key_type *type, char *err, size_t errlen);

/* Signs msglen bytes of msg with the private key in pem: Ed25519, or
 * RSASSA-PKCS1-v1_5 SHA-256 for an RSA key. out (outlen bytes, at least
 * SIGN_BASE64_MAX + 1 for any key) gets standard base64 with '=' padding.
 * The key is loaded, used and released within the call; decoded key bytes
 * are wiped. Returns 0, or -1 (bad key, GnuTLS failure, out too small; out
 * is then ""). */
int sign_key_base64(const char *pem, const char *msg, size_t msglen, char *out,
                    size_t outlen);

/* The value of a REST `signature` parameter for msg: HMAC-SHA256 hex for
 * SIGN_KEY_HMAC (secret is the secret string), else the base64 signature
 * with every byte outside the RFC 3986 unreserved set percent-encoded
 * (secret is the PEM). out must hold SIGN_QUERY_MAX + 1 bytes. Returns 0,
 * or -1 (out is then ""). */
int sign_query_value(enum sign_key_type type, const char *secret,
                     const char *msg, size_t msglen,
                     char out[SIGN_QUERY_MAX + 1]);

/* "hmac", "ed25519" or "rsa". */
const char *sign_key_type_name(enum sign_key_type type);

#endif
