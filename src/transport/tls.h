/*
 * tls.h - the HTTPS certificate and key for libmicrohttpd.
 *
 * libmicrohttpd (MHD_USE_TLS, built on GnuTLS) takes the certificate chain
 * and the private key as NUL-terminated PEM text (MHD_OPTION_HTTPS_MEM_CERT
 * and MHD_OPTION_HTTPS_MEM_KEY) and copies them in MHD_start_daemon. This
 * module reads both files once, before the workers start, and checks what
 * would otherwise only fail at the first handshake: both parse, the key is
 * not encrypted, and it belongs to the (first) certificate.
 */
#ifndef BINMCPD_TLS_H
#define BINMCPD_TLS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#define TLS_PEM_MAX 1048576 /* bytes of a PEM file, at most */

/* Reads cert_path (PEM: the server certificate first, then any
 * intermediates) and key_path (PEM private key, unencrypted; the file must
 * not be accessible by group or others) into malloc'd NUL-terminated
 * buffers *cert_pem and *key_pem, owned by the caller (tls_free_pem). Returns
 * 0, or -1 with a sentence in err (nothing is then allocated): a file
 * cannot be read or has the wrong mode (with the chmod to run), holds a NUL
 * byte, does not parse, the key is encrypted, or the key does not match the
 * certificate. A certificate outside its validity period is only logged. */
int tls_load(const char *cert_path, const char *key_path, char **cert_pem,
             char **key_pem, char *err, size_t errlen);

/* Frees both buffers, wiping the key first. Either may be NULL. */
void tls_free_pem(char *cert_pem, char *key_pem);

/* ---- a certificate that can be replaced while the server runs ----
 *
 * A worker serves HTTPS through MHD_OPTION_HTTPS_CERT_CALLBACK with
 * tls_cert_callback: each handshake takes the certificate in force. A
 * SIGHUP installs a new one with tls_install; handshakes already under way
 * keep the old one, which is therefore never freed before tls_release_all
 * (at worker exit). */

/* Parses PEM text and makes it the certificate in force. Returns 0, or -1
 * with a sentence in err (the old one stays). Thread-safe. */
int tls_install(const char *cert_pem, const char *key_pem, char *err,
                size_t errlen);

/* The GnuTLS retrieve callback for MHD_OPTION_HTTPS_CERT_CALLBACK. Its
 * type is gnutls_certificate_retrieve_function2. */
int tls_cert_callback(gnutls_session_t session,
                      const gnutls_datum_t *req_ca_rdn, int nreqs,
                      const gnutls_pk_algorithm_t *pk_algos,
                      int pk_algos_length, gnutls_pcert_st **pcert,
                      unsigned int *pcert_length, gnutls_privkey_t *privkey);

/* Frees every certificate ever installed (no handshake may run). */
void tls_release_all(void);

#endif
