/*
 * sign.c - request signatures for Binance SIGNED endpoints: HMAC-SHA256,
 * Ed25519 and RSA (PKCS#1 v1.5, SHA-256). See sign.h.
 *
 * Secrets: an HMAC secret is handed straight to GnuTLS and never copied
 * here; the raw digest lives on the stack only as long as it takes to
 * hex-encode it and is wiped before returning. A private key is decoded
 * from its PEM into a heap buffer that is wiped and freed as soon as GnuTLS
 * has loaded it, and the GnuTLS key object lives for one call only (its
 * deinit zeroes the key's numbers). Nothing here logs.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "sign.h"
#include "util.h"

#define SIGN_DIGEST_LEN 32 /* bytes of a SHA-256 digest */
#define PEM_LABEL_MAX   40 /* "RSA PRIVATE KEY" and the like */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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

/* ---- base64 ---- */

/* Standard base64 with padding of len bytes into out (outlen bytes).
 * Returns the characters written, or -1 when out is too small. */
static int
b64_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
    size_t need = 4 * ((len + 2) / 3), o = 0;

    if (need + 1 > outlen || need > INT_MAX)
        return -1;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* The value of one base64 character, or -1. */
static int
b64_value(unsigned char ch)
{
    const char *p = ch != '\0' ? strchr(b64_alphabet, ch) : NULL;
    return p != NULL ? (int)(p - b64_alphabet) : -1;
}

/* Decodes n base64 characters (no blanks; '=' only as final padding) into
 * out, which holds at least 3 * n / 4 bytes. Returns the bytes written, or
 * -1 when the text is not base64. */
static long
b64_decode(const char *in, size_t n, unsigned char *out)
{
    size_t o = 0, pad = 0;
    unsigned v = 0;

    if (n == 0 || n % 4 != 0)
        return -1;
    while (pad < 2 && in[n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < n; i++) {
        int x = i < n - pad ? b64_value((unsigned char)in[i]) : 0;
        if (x < 0)
            return -1;
        v = (v << 6) | (unsigned)x;
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(v >> 16);
            out[o++] = (unsigned char)(v >> 8);
            out[o++] = (unsigned char)v;
            v = 0;
        }
    }
    return (long)(o - pad);
}

/* ---- PEM ---- */

static int
is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The first "-----BEGIN " in pem at the start of a line, or NULL. Text
 * before it (certtool's "Public Key Info", OpenSSL's "Bag Attributes") is
 * skipped, as OpenSSL and GnuTLS do. */
static const char *
pem_begin(const char *pem)
{
    for (const char *p = pem; (p = strstr(p, "-----BEGIN ")) != NULL; p++)
        if (p == pem || p[-1] == '\n' || p[-1] == ' ')
            return p;
    return NULL;
}

/* Decodes one PEM private key block: its label into label, its bytes into
 * *der (malloc'd; the caller wipes and frees it) and *derlen. Lines may
 * have any length and CRLF ends; the one-line form of sign.h is a PEM too.
 * Returns 0, or -1 with a sentence in err (nothing allocated). */
static int
pem_decode(const char *pem, char label[PEM_LABEL_MAX + 1], unsigned char **der,
           size_t *derlen, char *err, size_t errlen)
{
    const char *p = pem_begin(pem), *end;
    char *body = NULL;
    size_t n = 0, lablen;
    long got;

    *der = NULL;
    *derlen = 0;
    label[0] = '\0';
    if (p == NULL) {
        errf(err, errlen, "not a PEM private key (no -----BEGIN line)");
        return -1;
    }
    p += 11;
    end = strstr(p, "-----");
    lablen = end != NULL ? (size_t)(end - p) : 0;
    if (end == NULL || lablen == 0 || lablen > PEM_LABEL_MAX ||
        strcspn(p, "\r\n") < lablen) {
        errf(err, errlen, "the PEM -----BEGIN line is malformed");
        return -1;
    }
    memcpy(label, p, lablen);
    label[lablen] = '\0';
    if (strcmp(label, "PRIVATE KEY") != 0 &&
        strcmp(label, "RSA PRIVATE KEY") != 0 &&
        strcmp(label, "ENCRYPTED PRIVATE KEY") != 0) {
        errf(err, errlen,
             "the PEM block is a '%s', not a private key (PRIVATE KEY, "
             "PKCS#8)%s",
             label,
             strstr(label, "PUBLIC") != NULL
                 ? "; Binance gets the public key, binmcpd the private "
                   "one"
                 : "");
        return -1;
    }
    p = end + 5;
    body = malloc(strlen(p) + 1);
    if (body == NULL) {
        errf(err, errlen, "out of memory");
        return -1;
    }
    for (; *p != '\0' && strncmp(p, "-----", 5) != 0; p++) {
        if (is_blank(*p))
            continue;
        if (strncmp(p, "Proc-Type:", 10) == 0) {
            errf(err, errlen,
                 "the private key is encrypted with a passphrase; "
                 "binmcpd needs it without one (openssl pkey -in KEY "
                 "-out PLAIN_KEY)");
            goto fail;
        }
        if (b64_value((unsigned char)*p) < 0 && *p != '=') {
            errf(err, errlen,
                 "the PEM body holds a character that is not base64");
            goto fail;
        }
        body[n++] = *p;
    }
    if (strncmp(p, "-----END ", 9) != 0 || strncmp(p + 9, label, lablen) != 0 ||
        strncmp(p + 9 + lablen, "-----", 5) != 0) {
        errf(err, errlen, "the PEM block has no matching -----END line");
        goto fail;
    }
    for (p += 9 + lablen + 5; *p != '\0'; p++) {
        if (!is_blank(*p)) {
            errf(err, errlen,
                 "something follows the private key's -----END line "
                 "(one key per file)");
            goto fail;
        }
    }
    *der = malloc(n / 4 * 3 + 3);
    if (*der == NULL) {
        errf(err, errlen, "out of memory");
        goto fail;
    }
    if ((got = b64_decode(body, n, *der)) <= 0) {
        errf(err, errlen, "the PEM body is not valid base64");
        secure_wipe(*der, n / 4 * 3 + 3);
        free(*der);
        *der = NULL;
        goto fail;
    }
    *derlen = (size_t)got;
    secure_wipe(body, n);
    free(body);
    return 0;
fail:
    secure_wipe(body, n);
    free(body);
    return -1;
}

/* A loaded private key. pk owns xk; both NULL when nothing is loaded. */
struct sign_key {
    gnutls_privkey_t pk;
    gnutls_x509_privkey_t xk;
    enum sign_key_type type;
};

/* Releases what key_load made (safe on a zeroed k). */
static void
key_free(struct sign_key *k)
{
    if (k->pk != NULL)
        gnutls_privkey_deinit(k->pk); /* and xk with it */
    else if (k->xk != NULL)
        gnutls_x509_privkey_deinit(k->xk);
    k->pk = NULL;
    k->xk = NULL;
}

/* Imports der into k->xk: a PKCS#8 encrypted with an empty or NULL
 * password (what `certtool --pkcs8 --null-password` writes) is decrypted;
 * any other password is refused. Returns 0, or -1 with a sentence. */
static int
key_import(struct sign_key *k, const char *label, const unsigned char *der,
           size_t derlen, char *err, size_t errlen)
{
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)der, (unsigned)derlen};
    int rc;

    if (gnutls_x509_privkey_init(&k->xk) < 0) {
        errf(err, errlen, "cannot set up a GnuTLS key");
        return -1;
    }
    if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
        rc = gnutls_x509_privkey_import_pkcs8(k->xk, &d, GNUTLS_X509_FMT_DER,
                                              "", 0);
        if (rc < 0)
            rc = gnutls_x509_privkey_import_pkcs8(k->xk, &d,
                                                  GNUTLS_X509_FMT_DER, NULL,
                                                  GNUTLS_PKCS_NULL_PASSWORD);
        if (rc < 0) {
            errf(err, errlen,
                 "the private key is encrypted with a passphrase; "
                 "binmcpd needs it without one (openssl pkey -in KEY "
                 "-out PLAIN_KEY)");
            return -1;
        }
        return 0;
    }
    rc = gnutls_x509_privkey_import2(k->xk, &d, GNUTLS_X509_FMT_DER, NULL,
                                     GNUTLS_PKCS_PLAIN);
    if (rc < 0) {
        errf(err, errlen, "GnuTLS cannot load the private key: %s",
             gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

/* Loads the key in pem into k (zeroed by the caller; key_free it in every
 * case) and sets k->type. Returns 0, or -1 with a sentence in err. */
static int
key_load(const char *pem, struct sign_key *k, char *err, size_t errlen)
{
    char label[PEM_LABEL_MAX + 1];
    unsigned char *der;
    size_t derlen;
    unsigned bits = 0;
    int alg, rc;

    if (pem_decode(pem, label, &der, &derlen, err, errlen) < 0)
        return -1;
    rc = derlen <= UINT_MAX ? key_import(k, label, der, derlen, err, errlen)
                            : -1;
    secure_wipe(der, derlen);
    free(der);
    if (rc < 0)
        return -1;
    if (gnutls_privkey_init(&k->pk) < 0 ||
        gnutls_privkey_import_x509(k->pk, k->xk,
                                   GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0) {
        if (k->pk != NULL)
            gnutls_privkey_deinit(k->pk);
        k->pk = NULL;
        errf(err, errlen, "cannot set up a GnuTLS key");
        return -1;
    }
    alg = gnutls_privkey_get_pk_algorithm(k->pk, &bits);
    if (alg == GNUTLS_PK_EDDSA_ED25519) {
        k->type = SIGN_KEY_ED25519;
    } else if (alg == GNUTLS_PK_RSA) {
        if (bits < SIGN_RSA_MIN_BITS || bits > SIGN_RSA_MAX_BITS) {
            errf(err, errlen, "the RSA key has %u bits; Binance takes %d to %d",
                 bits, SIGN_RSA_MIN_BITS, SIGN_RSA_MAX_BITS);
            return -1;
        }
        k->type = SIGN_KEY_RSA;
    } else {
        const char *name =
            alg > 0 ? gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)alg)
                    : NULL;
        errf(err, errlen,
             "the private key is of type %s; Binance takes Ed25519 or "
             "RSA keys",
             name != NULL ? name : "unknown");
        return -1;
    }
    return 0;
}

/* Writes k as an unencrypted PKCS#8 in one-line form into out. Returns 0,
 * or -1 with a sentence in err (out is then wiped). */
static int
key_one_line(const struct sign_key *k, char *out, size_t outlen, char *err,
             size_t errlen)
{
    static const char begin[] = "-----BEGIN PRIVATE KEY----- ";
    static const char end[] = " -----END PRIVATE KEY-----";
    gnutls_datum_t der = {NULL, 0};
    size_t used = sizeof(begin) - 1;
    int rc = -1;

    if (gnutls_x509_privkey_export2_pkcs8(k->xk, GNUTLS_X509_FMT_DER, NULL,
                                          GNUTLS_PKCS_PLAIN, &der) < 0) {
        errf(err, errlen, "GnuTLS cannot export the private key");
        return -1;
    }
    if (outlen > used) {
        memcpy(out, begin, used);
        int n = b64_encode(der.data, der.size, out + used, outlen - used);
        if (n >= 0 && (used += (size_t)n) + sizeof(end) <= outlen) {
            memcpy(out + used, end, sizeof(end));
            rc = 0;
        }
    }
    if (rc < 0) {
        secure_wipe(out, outlen);
        errf(err, errlen, "the private key is too long");
    }
    gnutls_memset(der.data, 0, der.size);
    gnutls_free(der.data);
    return rc;
}

/* Contract in sign.h. */
int
sign_key_parse(const char *pem, char *out, size_t outlen,
               enum sign_key_type *type, char *err, size_t errlen)
{
    struct sign_key k = {NULL, NULL, SIGN_KEY_HMAC};
    int rc = -1;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (pem == NULL) {
        errf(err, errlen, "no private key");
        return -1;
    }
    if (key_load(pem, &k, err, errlen) == 0 &&
        (out == NULL || key_one_line(&k, out, outlen, err, errlen) == 0)) {
        *type = k.type;
        rc = 0;
    }
    key_free(&k);
    return rc;
}

/* Contract in sign.h. */
int
sign_key_base64(const char *pem, const char *msg, size_t msglen, char *out,
                size_t outlen)
{
    struct sign_key k = {NULL, NULL, SIGN_KEY_HMAC};
    gnutls_datum_t data, sig = {NULL, 0};
    char err[8];
    int rc = -1;

    if (outlen > 0)
        out[0] = '\0';
    if (pem == NULL || (msg == NULL && msglen > 0) || msglen > UINT_MAX)
        return -1;
    if (key_load(pem, &k, err, sizeof(err)) < 0)
        goto done;
    data.data = (unsigned char *)(uintptr_t)(msg != NULL ? msg : "");
    data.size = (unsigned)msglen;
    if (gnutls_privkey_sign_data2(k.pk,
                                  k.type == SIGN_KEY_ED25519
                                      ? GNUTLS_SIGN_EDDSA_ED25519
                                      : GNUTLS_SIGN_RSA_SHA256,
                                  0, &data, &sig) < 0)
        goto done;
    if (b64_encode(sig.data, sig.size, out, outlen) < 0)
        goto done;
    rc = 0;
done:
    gnutls_free(sig.data);
    key_free(&k);
    return rc;
}

/* Contract in sign.h. */
int
sign_query_value(enum sign_key_type type, const char *secret, const char *msg,
                 size_t msglen, char out[SIGN_QUERY_MAX + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    char b64[SIGN_BASE64_MAX + 1];
    size_t o = 0;

    if (type == SIGN_KEY_HMAC) {
        out[0] = '\0';
        return sign_hmac_sha256_hex(secret, msg, msglen, out);
    }
    if (sign_key_base64(secret, msg, msglen, b64, sizeof(b64)) < 0) {
        out[0] = '\0';
        return -1;
    }
    for (const char *p = b64; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
            ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 0x0f];
        }
    }
    out[o] = '\0';
    return 0;
}

const char *
sign_key_type_name(enum sign_key_type type)
{
    switch (type) {
    case SIGN_KEY_ED25519:
        return "ed25519";
    case SIGN_KEY_RSA:
        return "rsa";
    case SIGN_KEY_HMAC:
        break;
    }
    return "hmac";
}
