/*
 * auth.h - static bearer tokens for the HTTP transports, and the Host
 * names the HTTP daemon answers to.
 *
 * The tokens file holds one token per line. Blank lines and lines whose
 * first non-blank character is '#' are ignored; spaces, tabs and a CR
 * around a token are trimmed. A line is either
 *   - a plain token: at least AUTH_TOKEN_MIN visible ASCII characters, no
 *     spaces (any client sends it as "Authorization: Bearer <token>"), or
 *   - "sha256:" followed by the 64 hex digits of the SHA-256 of a token, so
 *     the file need not hold the secret itself:
 *         printf %s "$TOKEN" | sha256sum
 * The file must not be accessible by group or others (like the credentials
 * file): auth_load() refuses it with the chmod to run.
 *
 * Only SHA-256 digests are kept in memory, plain tokens included, so every
 * comparison is between 32-byte strings whatever the lengths of the tokens,
 * and the presented token is compared with every configured one (no early
 * exit), so the time taken reveals neither which token matched nor how
 * long the tokens are.
 */
#ifndef BINMCPD_AUTH_H
#define BINMCPD_AUTH_H

#include <stddef.h>

#define AUTH_TOKEN_MIN  16      /* characters of a plain token, at least */
#define AUTH_TOKEN_MAX  4096    /* characters of a token, at most */
#define AUTH_FILE_MAX   1048576 /* bytes of a tokens file, at most */
#define AUTH_HASHED_LEN 71      /* "sha256:" + 64 hex digits */

struct auth_tokens;

/* Reads the tokens file at path. Returns the token set (free it with
 * auth_free), or NULL with a sentence in err: the file cannot be read, is
 * not a regular file, is accessible by group or others, is too large,
 * holds no token, or a line is malformed (the sentence names path:line but
 * never quotes the line). Every buffer that held the file is wiped. */
struct auth_tokens *auth_load(const char *path, char *err, size_t errlen);

/* Returns 1 when authorization (the value of an Authorization header, may
 * be NULL) is "Bearer <token>" (scheme case-insensitive, one or more
 * spaces) with a configured token, else 0. t == NULL allows nothing. */
int auth_check(const struct auth_tokens *t, const char *authorization);

/* auth_check(), and when it returns 1 and fp is not NULL, the first
 * fplen (at most 32) bytes of the token's SHA-256 into fp: the
 * fingerprint that tells the credentials apart (a hashed line and its
 * plain token give the same one). */
int auth_check_fp(const struct auth_tokens *t, const char *authorization,
                  unsigned char *fp, size_t fplen);

/* Number of tokens in the set (0 for NULL). */
size_t auth_count(const struct auth_tokens *t);

/* Formats the hashed form of token, "sha256:<64 lowercase hex>", into out
 * (at least AUTH_HASHED_LEN + 1 bytes). Returns 0, or -1 when out is too
 * small or hashing fails. */
int auth_hash_token(const char *token, char *out, size_t outlen);

/* The WWW-Authenticate value of a 401 (RFC 6750 section 3): without an
 * Authorization header, `Bearer realm="binmcpd"`; with one (wrong token or
 * scheme), the same plus error="invalid_token". A static string. */
const char *auth_challenge(const char *authorization);

/* Returns 1 when bind (the address to listen on) can only be reached from
 * this host: 127.0.0.0/8, ::1, [::1] or "localhost"; 0 for anything else
 * (0.0.0.0, ::, other addresses and names). Binding elsewhere without
 * tokens needs --allow-unauthenticated. */
int auth_is_loopback(const char *bind);

/* The start-up rule for --mode sse: a bind that is not loopback needs
 * tokens (have_tokens) or allow_unauthenticated. Returns 0, or -1 with the
 * sentence the daemon and --check-config both print. */
int auth_bind_allowed(const char *bind, int have_tokens,
                      int allow_unauthenticated, char *err, size_t errlen);

/* ---- Host names (allowed_hosts) ----
 *
 * A list is comma-separated entries, spaces around them ignored: "*" (any
 * Host), or a name or IPv4 address, or an IPv6 address in brackets, each
 * with an optional ":port" (without one, any port matches). Names compare
 * without regard to case or one trailing dot. */

/* Checks the syntax of a list (empty is allowed). Returns 0, or -1 with a
 * sentence naming the entry in err. */
int auth_hosts_check(const char *list, char *err, size_t errlen);

/* Returns 1 when host, the value of a request's Host header, may be
 * answered: it is absent (NULL: an HTTP/1.0 client), a loopback name
 * (localhost, 127.0.0.1, [::1]) or the bind address (not a wildcard), with
 * any port, or matches an entry of list (may be NULL or empty); else 0. */
int auth_host_allowed(const char *host, const char *list, const char *bind);

/* Wipes and frees the set. NULL is allowed. */
void auth_free(struct auth_tokens *t);

#endif
