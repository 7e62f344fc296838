/*
 * util.c - see util.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
secure_wipe(void *p, size_t len)
{
#ifdef HAVE_EXPLICIT_BZERO
    explicit_bzero(p, len);
#else
    volatile unsigned char *v = p;
    while (len--)
        *v++ = 0;
#endif
}

int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
strlcpy_checked(char *dst, const char *src, size_t dstlen)
{
    size_t n = strlen(src);
    if (dstlen == 0)
        return -1;
    if (n >= dstlen) {
        memcpy(dst, src, dstlen - 1);
        dst[dstlen - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a, *y = b;
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

/* Contract in util.h. A time before the epoch keeps its milliseconds
 * positive (-1 is 23:59:59.999 of the day before). Any int64 fits base
 * (a nine-digit year and its sign: a hostile closeTime of INT64_MIN once
 * overflowed a 24-byte one); a time gmtime_r cannot represent is said as
 * such, never read out of an unset struct tm. */
void
format_rfc3339_ms(int64_t ms, char *buf, size_t len)
{
    int64_t s = ms / 1000, frac = ms % 1000;
    time_t secs;
    struct tm tm;
    char base[64];

    if (buf == NULL || len == 0)
        return;
    if (frac < 0) {
        frac += 1000;
        s--;
    }
    secs = (time_t)s;
    if (gmtime_r(&secs, &tm) == NULL ||
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, len, "(time out of range: %lld ms)", (long long)ms);
        return;
    }
    snprintf(buf, len, "%s.%03dZ", base, (int)frac);
}

/* Contract in util.h. */
void
errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Contract in util.h. */
int
write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
