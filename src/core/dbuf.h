/*
 * dbuf.h - capped dynamic byte buffers (after curl's dynbuf).
 *
 * Every buffer fed from the network has a maximum; appending past it fails
 * and leaves the buffer as it was. The contents are always NUL-terminated.
 */
#ifndef BINMCPD_DBUF_H
#define BINMCPD_DBUF_H

#include <stddef.h>

struct dbuf {
    char *data;  /* NUL-terminated; NULL until the first append */
    size_t len;  /* bytes used, without the NUL */
    size_t size; /* bytes allocated */
    size_t max;  /* the cap on len */
};

/* Prepares an empty buffer that may hold at most max bytes. */
void dbuf_init(struct dbuf *b, size_t max);

/* Appends len bytes. Returns 0, or -1 with errno ENOMEM (allocation) or
 * E2BIG (the cap would be exceeded); on failure the buffer is unchanged. */
int dbuf_append(struct dbuf *b, const void *p, size_t len);

/* Appends a NUL-terminated string. Same failures as dbuf_append. */
int dbuf_puts(struct dbuf *b, const char *s);

/* Appends printf-formatted text. Same failures as dbuf_append. */
int dbuf_printf(struct dbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Empties the buffer but keeps its memory. */
void dbuf_reset(struct dbuf *b);

/* Releases the memory; the buffer may be used again after dbuf_init. */
void dbuf_free(struct dbuf *b);

/* Zeroes the whole allocation, then frees it: for buffers that held secrets. */
void dbuf_wipe(struct dbuf *b);

/* Returns the contents or "" when empty; never NULL. */
const char *dbuf_str(const struct dbuf *b);

#endif
