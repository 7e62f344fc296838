/*
 * dbuf.c - capped dynamic buffers. See dbuf.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "util.h"

void
dbuf_init(struct dbuf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    b->max = max;
}

int
dbuf_append(struct dbuf *b, const void *p, size_t len)
{
    if (len > b->max - b->len) {
        errno = E2BIG;
        return -1;
    }
    if (b->len + len + 1 > b->size) {
        size_t nsize = b->size ? b->size : 256;
        while (nsize < b->len + len + 1)
            nsize *= 2;
        if (nsize > b->max + 1)
            nsize = b->max + 1;
        char *n = realloc(b->data, nsize);
        if (n == NULL) {
            errno = ENOMEM;
            return -1;
        }
        b->data = n;
        b->size = nsize;
    }
    if (len > 0)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
dbuf_puts(struct dbuf *b, const char *s)
{
    return dbuf_append(b, s, strlen(s));
}

int
dbuf_printf(struct dbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return dbuf_append(b, small, (size_t)n);

    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        errno = ENOMEM;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = dbuf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void
dbuf_reset(struct dbuf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void
dbuf_free(struct dbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->size = 0;
}

void
dbuf_wipe(struct dbuf *b)
{
    if (b->data != NULL)
        secure_wipe(b->data, b->size);
    dbuf_free(b);
}

const char *
dbuf_str(const struct dbuf *b)
{
    return b->data != NULL ? b->data : "";
}
