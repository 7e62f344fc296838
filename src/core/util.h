/*
 * util.h - small helpers shared by every module: secret wiping, time,
 * bounded string copies, constant-time comparison.
 *
 * Layer src/core/, the common ground: logging, capped buffers, helpers,
 * secret files, shared memory, exact decimals, bearer tokens. Everything
 * above may use it; it includes nothing of binmcpd's but its own headers,
 * and knows nothing of MCP, Binance or processes.
 */
#ifndef BINMCPD_UTIL_H
#define BINMCPD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Zeroes len bytes in a way the compiler may not optimise away. */
void secure_wipe(void *p, size_t len);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC, for durations. */
int64_t mono_ms(void);

/* Copies src into dst of size dstlen, always NUL-terminating. Returns -1 if
 * src did not fit (dst then holds a truncated copy), else 0. */
int strlcpy_checked(char *dst, const char *src, size_t dstlen);

/* Compares two byte strings in time that depends only on their lengths.
 * Returns 1 when equal, 0 otherwise. */
int ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds into buf
 * (at least 32 bytes; truncated, always terminated, when shorter). A time
 * the calendar cannot hold gives "(time out of range: <ms> ms)". */
void format_rfc3339_ms(int64_t ms, char *buf, size_t len);

/* Writes all n bytes of buf to fd, retrying after EINTR and short writes.
 * Returns 0, or -1 with errno set (nothing is said about how much was
 * written). */
int write_all(int fd, const void *buf, size_t n);

/* The caller-supplied error buffer idiom: formats a sentence into err
 * (errlen bytes, truncated as needed). Does nothing when err is NULL or
 * errlen is 0, so callers may pass no buffer. */
void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
