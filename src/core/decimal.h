/*
 * decimal.h - exact non-negative decimal numbers, as Binance writes prices
 * and quantities ("0.00001000", "50000.01"), for the filter checks; and at
 * the end, the few helpers that work on such decimal text directly
 * (display trimming, exact sum, zero test, comparison) for the tools.
 *
 * A value is mant / 10^scale with mant < 10^38 and 0 <= scale <= 38, kept
 * normalised (no trailing zero in mant while scale > 0), so two equal
 * values have equal fields. Arithmetic is exact: every operation either
 * yields the exact result or fails with -1 (it never rounds unless asked
 * to, and never goes through binary floating point). Intermediate results
 * use 256 bits, so any two valid operands can be aligned and multiplied.
 *
 * No function allocates or keeps a pointer; out may alias an operand.
 * A struct dec is plain data: copy it freely.
 */
#ifndef BINMCPD_DECIMAL_H
#define BINMCPD_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* GCC and clang both have it; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef unsigned __int128 dec_u128;

#define DEC_MAX_DIGITS 38 /* significant digits of a value */
#define DEC_MAX_SCALE  38 /* digits after the point */
/* Room for any formatted value: "0." + 38 digits + NUL, rounded up. */
#define DEC_STR_MAX 48

struct dec {
    dec_u128 mant; /* < 10^38 */
    int scale;     /* 0..DEC_MAX_SCALE */
};

enum dec_round {
    DEC_ROUND_DOWN,    /* towards zero (floor) */
    DEC_ROUND_UP,      /* away from zero (ceiling) */
    DEC_ROUND_HALF_UP, /* to nearest, halves up */
};

/* Parses s strictly: one or more digits, optionally a point and one or
 * more digits ("0.5", "50000", "0.00001000"); no sign, exponent, spaces,
 * ".5" or "5.". Leading zeros and trailing fractional zeros are allowed
 * and do not count. Returns 0 and fills *out, or -1 (out untouched) when s
 * is NULL, malformed, has more than DEC_MAX_DIGITS significant digits or
 * more than DEC_MAX_SCALE decimals once trailing zeros are dropped. */
int dec_parse(const char *s, struct dec *out);

/* The integer v as a decimal. */
void dec_from_u64(uint64_t v, struct dec *out);

/* Writes d in plain notation with no trailing zeros ("0.00001", "50000",
 * "0"; never an exponent) into buf of size len. Returns 0, or -1 when len
 * is too small (buf then holds "" if len > 0). DEC_STR_MAX always fits. */
int dec_format(const struct dec *d, char *buf, size_t len);

/* dec_format into buf (DEC_STR_MAX bytes), returning buf: for messages. */
const char *dec_str(const struct dec *d, char buf[DEC_STR_MAX]);

/* -1, 0 or 1 as a is less than, equal to or greater than b. */
int dec_cmp(const struct dec *a, const struct dec *b);

/* 1 when d is zero, else 0. */
int dec_is_zero(const struct dec *d);

/* *out = a + b. Returns 0, or -1 when the exact sum needs more than 38
 * digits or 38 decimals (*out untouched). */
int dec_add(const struct dec *a, const struct dec *b, struct dec *out);

/* *out = a - b. Returns 0, or -1 when a < b or the exact difference does
 * not fit (*out untouched). */
int dec_sub(const struct dec *a, const struct dec *b, struct dec *out);

/* *out = a * b, exactly. Returns 0, or -1 when the product needs more than
 * 38 digits or 38 decimals (*out untouched). */
int dec_mul(const struct dec *a, const struct dec *b, struct dec *out);

/* *out = a / b rounded by mode to scale decimals (0..DEC_MAX_SCALE), e.g.
 * an average price to 8 decimals, or ceil(quantity / icebergQty) with
 * scale 0 and DEC_ROUND_UP. Returns 0, or -1 when b is zero, scale is out
 * of range or the quotient does not fit (*out untouched). */
int dec_div(const struct dec *a, const struct dec *b, int scale,
            enum dec_round mode, struct dec *out);

/* Binance's grid: the values origin + k * step, k = 0, 1, 2, ...
 * origin NULL means 0 (the exchange's current rule for tickSize and
 * stepSize: value % step == 0).
 *
 * dec_floor_step: *out = the largest grid value <= v. Returns 0, or -1
 * when step is zero, v < origin (no grid value below) or it does not fit.
 * dec_ceil_step: *out = the smallest grid value >= v (origin itself when
 * v <= origin). Returns 0, or -1 when step is zero or it does not fit.
 * *out is untouched on failure. */
int dec_floor_step(const struct dec *v, const struct dec *origin,
                   const struct dec *step, struct dec *out);
int dec_ceil_step(const struct dec *v, const struct dec *origin,
                  const struct dec *step, struct dec *out);

/* 1 when v is on the grid above (origin may be NULL for 0), 0 when not
 * (including v < origin), -1 when step is zero. */
int dec_is_step_multiple(const struct dec *v, const struct dec *origin,
                         const struct dec *step);

/* ---- decimal text, as Binance writes it, without a struct dec ---- */

/* A Binance decimal for reading: trailing zeros trimmed down to two
 * decimals ("50000.00000000" -> "50000.00", "0.00100000" -> "0.001").
 * Anything else is copied. Returns buf. */
const char *dec_text_display(const char *s, char *buf, size_t len);

/* out = a + b for non-negative decimal strings, exactly. Returns 0, or -1
 * when either is not a plain decimal or the sum does not fit. */
int dec_text_add(const char *a, const char *b, char *out, size_t len);

/* 1 when s is a decimal equal to zero ("0.00000000"), else 0. */
int dec_text_is_zero(const char *s);

/* Compares two plain non-negative decimals (digits with at most one dot,
 * as the input schemas' patterns admit them) exactly: <0, 0 or >0 like
 * strcmp. Anything else compares in an unspecified but safe order. */
int dec_text_cmp(const char *a, const char *b);

/* d as the nearest double, for drawing and other approximate uses (a
 * chart scales each exact value once). */
double dec_to_double(const struct dec *d);

#endif
