/*
 * tls.c - loading and checking the HTTPS certificate and key. See tls.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <pthread.h>

#include "log.h"
#include "secfile.h"
#include "tls.h"
#include "util.h"

#define TLS_CHAIN_MAX 16

/* Parses the certificate chain and checks that key belongs to its first
 * certificate. Returns 0 or -1 with a sentence in err. */
static int
tls_check(const char *cert_path, const char *cert, size_t cert_len,
          const char *key_path, const char *key, size_t key_len, char *err,
          size_t errlen)
{
    gnutls_x509_crt_t crts[TLS_CHAIN_MAX];
    unsigned ncrt = TLS_CHAIN_MAX;
    gnutls_x509_privkey_t pk = NULL;
    unsigned char crt_id[64], key_id[64];
    size_t crt_id_len = sizeof(crt_id), key_id_len = sizeof(key_id);
    gnutls_datum_t d;
    int rc, ret = -1;

    d.data = (unsigned char *)(uintptr_t)cert;
    d.size = (unsigned)cert_len;
    rc = gnutls_x509_crt_list_import(crts, &ncrt, &d, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || ncrt == 0) {
        snprintf(err, errlen,
                 "the TLS certificate %s is not a PEM certificate (chain): "
                 "%s",
                 cert_path, rc < 0 ? gnutls_strerror(rc) : "none found");
        return -1;
    }
    rc = gnutls_x509_privkey_init(&pk);
    if (rc == 0) {
        d.data = (unsigned char *)(uintptr_t)key;
        d.size = (unsigned)key_len;
        rc = gnutls_x509_privkey_import2(pk, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    }
    if (rc < 0) {
        if (rc == GNUTLS_E_DECRYPTION_FAILED)
            snprintf(err, errlen,
                     "the TLS key %s is encrypted; store it without a "
                     "passphrase (and mode 600)",
                     key_path);
        else
            snprintf(err, errlen, "the TLS key %s is not a PEM private key: %s",
                     key_path, gnutls_strerror(rc));
        goto done;
    }
    rc = gnutls_x509_crt_get_key_id(crts[0], GNUTLS_KEYID_USE_SHA256, crt_id,
                                    &crt_id_len);
    if (rc == 0)
        rc = gnutls_x509_privkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, key_id,
                                            &key_id_len);
    if (rc < 0) {
        snprintf(err, errlen, "cannot compare the TLS key %s with %s: %s",
                 key_path, cert_path, gnutls_strerror(rc));
        goto done;
    }
    if (!ct_equal(crt_id, crt_id_len, key_id, key_id_len)) {
        snprintf(err, errlen,
                 "the TLS key %s does not belong to the certificate %s (the "
                 "first certificate in the file must be the server's)",
                 key_path, cert_path);
        goto done;
    }
    time_t now = time(NULL);
    if (gnutls_x509_crt_get_expiration_time(crts[0]) < now)
        log_warnx("the TLS certificate %s has expired; clients will refuse it",
                  cert_path);
    else if (gnutls_x509_crt_get_activation_time(crts[0]) > now)
        log_warnx("the TLS certificate %s is not valid yet", cert_path);
    ret = 0;
done:
    gnutls_x509_privkey_deinit(pk);
    for (unsigned i = 0; i < ncrt; i++)
        gnutls_x509_crt_deinit(crts[i]);
    return ret;
}

int
tls_load(const char *cert_path, const char *key_path, char **cert_pem,
         char **key_pem, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL;
    size_t cert_len = 0, key_len = 0;

    *cert_pem = NULL;
    *key_pem = NULL;
    if (secfile_read(cert_path, "the TLS certificate", SECFILE_PUBLIC,
                     TLS_PEM_MAX, &cert, &cert_len, err, errlen) < 0)
        return -1;
    if (secfile_read(key_path, "the TLS key", SECFILE_SECRET, TLS_PEM_MAX, &key,
                     &key_len, err, errlen) < 0) {
        free(cert);
        return -1;
    }
    /* libmicrohttpd takes the text up to the first NUL */
    if (strlen(cert) != cert_len || strlen(key) != key_len) {
        snprintf(err, errlen, "%s holds a NUL byte: not PEM text",
                 strlen(cert) != cert_len ? cert_path : key_path);
        goto fail;
    }
    if (tls_check(cert_path, cert, cert_len, key_path, key, key_len, err,
                  errlen) < 0)
        goto fail;
    *cert_pem = cert;
    *key_pem = key;
    return 0;

fail:
    free(cert);
    secure_wipe(key, key_len); /* all of it: it may hold a NUL */
    free(key);
    return -1;
}

void
tls_free_pem(char *cert_pem, char *key_pem)
{
    free(cert_pem);
    if (key_pem != NULL) {
        secure_wipe(key_pem, strlen(key_pem));
        free(key_pem);
    }
}

/* ---- the certificate in force ---- */


struct tls_current {
    struct tls_current *older; /* kept: a handshake may still use it */
    gnutls_pcert_st pcert[TLS_CHAIN_MAX];
    unsigned int npcert;
    gnutls_privkey_t key;
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_current *tls_now;

static void
tls_current_free(struct tls_current *t)
{
    for (unsigned int i = 0; i < t->npcert; i++)
        gnutls_pcert_deinit(&t->pcert[i]);
    if (t->key != NULL)
        gnutls_privkey_deinit(t->key);
    free(t);
}

int
tls_install(const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
    struct tls_current *t = calloc(1, sizeof(*t));
    gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert_pem,
                         (unsigned int)strlen(cert_pem)};
    gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key_pem,
                         (unsigned int)strlen(key_pem)};
    int rc;

    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->npcert = TLS_CHAIN_MAX;
    rc = gnutls_pcert_list_import_x509_raw(t->pcert, &t->npcert, &cd,
                                           GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0) {
        t->npcert = 0;
        goto fail;
    }
    if ((rc = gnutls_privkey_init(&t->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(t->key, &kd, GNUTLS_X509_FMT_PEM,
                                             NULL, 0)) < 0)
        goto fail;
    pthread_mutex_lock(&tls_lock);
    t->older = tls_now;
    tls_now = t;
    pthread_mutex_unlock(&tls_lock);
    return 0;
fail:
    snprintf(err, errlen, "the certificate or key does not parse: %s",
             gnutls_strerror(rc));
    tls_current_free(t);
    return -1;
}

int
tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn,
                  int nreqs, const gnutls_pk_algorithm_t *pk_algos,
                  int pk_algos_length, gnutls_pcert_st **pcert,
                  unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
    (void)session;
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&tls_lock);
    struct tls_current *t = tls_now;
    pthread_mutex_unlock(&tls_lock);
    if (t == NULL)
        return -1;
    *pcert = t->pcert;
    *pcert_length = t->npcert;
    *privkey = t->key;
    return 0;
}

void
tls_release_all(void)
{
    pthread_mutex_lock(&tls_lock);
    struct tls_current *t = tls_now;
    tls_now = NULL;
    pthread_mutex_unlock(&tls_lock);
    while (t != NULL) {
        struct tls_current *older = t->older;
        tls_current_free(t);
        t = older;
    }
}
