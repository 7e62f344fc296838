/*
 * sign.c - HMAC-SHA256 request signatures for Binance SIGNED endpoints.
 * See sign.h.
 *
 * The secret is handed straight to GnuTLS and never copied here; the raw
 * digest lives on the stack only as long as it takes to hex-encode it and is
 * wiped before returning.
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "sign.h"
#include "util.h"

#define SIGN_DIGEST_LEN 32 /* bytes of a SHA-256 digest */

/* Contract in sign.h: out gets 64 lowercase hex digits, or "" on failure. */
int
sign_hmac_sha256_hex(const char *secret, const char *msg, size_t msglen,
                     char out[SIGN_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[SIGN_DIGEST_LEN];
    int rc;

    out[0] = '\0';
    if (secret == NULL || (msg == NULL && msglen > 0))
        return -1;
    rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, strlen(secret),
                          msg != NULL ? msg : "", msglen, digest);
    if (rc < 0) {
        secure_wipe(digest, sizeof(digest));
        return -1;
    }
    for (size_t i = 0; i < SIGN_DIGEST_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    out[SIGN_HEX_LEN] = '\0';
    secure_wipe(digest, sizeof(digest));
    return 0;
}
