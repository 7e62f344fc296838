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

#endif
