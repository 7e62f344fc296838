/*
 * sign.h - request signing for Binance SIGNED endpoints.
 */
#ifndef BINMCPD_SIGN_H
#define BINMCPD_SIGN_H

#include <stddef.h>

#define SIGN_HEX_LEN 64 /* hex digits of an HMAC-SHA256 signature */

/* Computes lowercase hex HMAC-SHA256(secret, msg) into out, which must hold
 * SIGN_HEX_LEN + 1 bytes. Uses GnuTLS; wipes its intermediate digest.
 * Returns 0, or -1 if GnuTLS fails (out is then "").  */
int sign_hmac_sha256_hex(const char *secret, const char *msg, size_t msglen,
                         char out[SIGN_HEX_LEN + 1]);

#endif
