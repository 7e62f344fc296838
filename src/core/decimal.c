/*
 * decimal.c - exact decimals for prices and quantities. See decimal.h.
 *
 * Every operation aligns its operands to a common scale as 256-bit
 * integers (two values below 10^38 at scales up to 38 stay below 10^76 <
 * 2^253, so alignment, sums and products never overflow there), works on
 * those, and converts back, dropping trailing zeros; a result that still
 * needs more than 38 digits or decimals is refused, never rounded.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"

/* ---- 256-bit unsigned integers, four 64-bit limbs, least first ---- */

struct u256 {
    uint64_t w[4];
};

static void
u256_from(struct u256 *x, dec_u128 v)
{
    x->w[0] = (uint64_t)v;
    x->w[1] = (uint64_t)(v >> 64);
    x->w[2] = 0;
    x->w[3] = 0;
}

static int
u256_is_zero(const struct u256 *x)
{
    return (x->w[0] | x->w[1] | x->w[2] | x->w[3]) == 0;
}

static int
u256_cmp(const struct u256 *a, const struct u256 *b)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* *x *= k. Returns -1 on overflow (*x is then garbage). */
static int
u256_mul_small(struct u256 *x, uint64_t k)
{
    dec_u128 carry = 0;

    for (int i = 0; i < 4; i++) {
        dec_u128 t = (dec_u128)x->w[i] * k + carry;
        x->w[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry == 0 ? 0 : -1;
}

/* *x *= 10^n. Returns -1 on overflow. */
static int
u256_mul_pow10(struct u256 *x, int n)
{
    for (; n >= 19; n -= 19)
        if (u256_mul_small(x, 10000000000000000000ULL) < 0)
            return -1;
    uint64_t k = 1;
    for (; n > 0; n--)
        k *= 10;
    return u256_mul_small(x, k);
}

/* *r = a + b. Returns -1 on overflow. */
static int
u256_add(const struct u256 *a, const struct u256 *b, struct u256 *r)
{
    dec_u128 carry = 0;

    for (int i = 0; i < 4; i++) {
        dec_u128 t = (dec_u128)a->w[i] + b->w[i] + carry;
        r->w[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry == 0 ? 0 : -1;
}

/* *r = a - b; a >= b. */
static void
u256_sub(const struct u256 *a, const struct u256 *b, struct u256 *r)
{
    uint64_t borrow = 0;

    assert(u256_cmp(a, b) >= 0);
    for (int i = 0; i < 4; i++) {
        uint64_t ai = a->w[i], bi = b->w[i];
        uint64_t d = ai - bi - borrow;
        borrow = (ai < bi || (ai == bi && borrow)) ? 1 : 0;
        r->w[i] = d;
    }
}

/* *r = a * b (both below 2^128: the product always fits). */
static void
u256_mul128(dec_u128 a, dec_u128 b, struct u256 *r)
{
    const uint64_t x[2] = {(uint64_t)a, (uint64_t)(a >> 64)};
    const uint64_t y[2] = {(uint64_t)b, (uint64_t)(b >> 64)};

    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 2; i++) {
        dec_u128 carry = 0;
        for (int j = 0; j < 2; j++) {
            dec_u128 t = (dec_u128)x[i] * y[j] + r->w[i + j] + carry;
            r->w[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        r->w[i + 2] = (uint64_t)carry;
    }
}

/* *x /= d, returning the remainder. d > 0. */
static uint64_t
u256_div_small(struct u256 *x, uint64_t d)
{
    dec_u128 rem = 0;

    assert(d > 0);
    for (int i = 3; i >= 0; i--) {
        dec_u128 cur = (rem << 64) | x->w[i];
        x->w[i] = (uint64_t)(cur / d);
        rem = cur % d;
    }
    return (uint64_t)rem;
}

static void
u256_shl1(struct u256 *x)
{
    for (int i = 3; i > 0; i--)
        x->w[i] = (x->w[i] << 1) | (x->w[i - 1] >> 63);
    x->w[0] <<= 1;
}

/* *q = n / d, *r = n % d by shift and subtract. d > 0 and d < 2^255 (so
 * that the running remainder, below d, can be doubled). */
static void
u256_divmod(const struct u256 *n, const struct u256 *d, struct u256 *q,
            struct u256 *r)
{
    struct u256 quot = {{0}}, rem = {{0}};

    assert(!u256_is_zero(d) && (d->w[3] >> 63) == 0);
    for (int bit = 255; bit >= 0; bit--) {
        u256_shl1(&rem);
        rem.w[0] |= (n->w[bit / 64] >> (bit % 64)) & 1;
        if (u256_cmp(&rem, d) >= 0) {
            u256_sub(&rem, d, &rem);
            quot.w[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
    }
    *q = quot;
    *r = rem;
}

/* ---- between struct dec and u256 ---- */

static dec_u128
pow10_128(int n)
{
    dec_u128 p = 1;

    assert(n >= 0 && n <= 38);
    while (n-- > 0)
        p *= 10;
    return p;
}

/* Stores m / 10^scale in *out after dropping trailing zeros. Returns 0, or
 * -1 when it still needs more than 38 digits or 38 decimals. */
static int
dec_from_u256(struct u256 m, int scale, struct dec *out)
{
    dec_u128 v;

    while (scale > 0) {
        struct u256 t = m;
        if (u256_div_small(&t, 10) != 0)
            break;
        m = t;
        scale--;
    }
    if (u256_is_zero(&m))
        scale = 0;
    if (scale > DEC_MAX_SCALE || m.w[2] != 0 || m.w[3] != 0)
        return -1;
    v = ((dec_u128)m.w[1] << 64) | m.w[0];
    if (v >= pow10_128(DEC_MAX_DIGITS))
        return -1;
    out->mant = v;
    out->scale = scale;
    return 0;
}

/* d's mantissa at scale s >= d->scale (never overflows: see the top). */
static struct u256
align(const struct dec *d, int s)
{
    struct u256 x;
    int rc;

    assert(s >= d->scale && s <= 2 * DEC_MAX_SCALE);
    u256_from(&x, d->mant);
    rc = u256_mul_pow10(&x, s - d->scale);
    assert(rc == 0);
    (void)rc;
    return x;
}

static int
max_scale(const struct dec *a, const struct dec *b)
{
    return a->scale > b->scale ? a->scale : b->scale;
}

/* ---- the API ---- */

/* See decimal.h. */
int
dec_parse(const char *s, struct dec *out)
{
    const char *p, *dot = NULL, *first, *last;
    size_t int_digits = 0, frac_digits = 0;
    dec_u128 m = 0;
    int scale = 0, sig = 0;

    if (s == NULL)
        return -1;
    for (p = s; *p != '\0'; p++) {
        if (*p == '.') {
            if (dot != NULL)
                return -1;
            dot = p;
        } else if (*p >= '0' && *p <= '9') {
            if (dot != NULL)
                frac_digits++;
            else
                int_digits++;
        } else {
            return -1;
        }
    }
    if (int_digits == 0 || (dot != NULL && frac_digits == 0))
        return -1;
    /* The digits that matter: from the first non-zero one to the last
     * one, or the last non-zero fractional one. */
    last = p - 1;
    if (dot != NULL)
        while (last > dot && *last == '0')
            last--;
    if (last == dot)
        last--;
    first = s;
    while (first < last && (*first == '0' || *first == '.'))
        first++;
    for (p = first; p <= last; p++) {
        if (*p == '.')
            continue;
        if (sig > 0 || *p != '0')
            sig++;
        if (sig > DEC_MAX_DIGITS)
            return -1;
        m = m * 10 + (dec_u128)(*p - '0');
    }
    if (dot != NULL && last > dot)
        scale = (int)(last - dot);
    if (scale > DEC_MAX_SCALE)
        return -1;
    if (m == 0)
        scale = 0;
    out->mant = m;
    out->scale = scale;
    return 0;
}

/* See decimal.h. */
void
dec_from_u64(uint64_t v, struct dec *out)
{
    out->mant = v;
    out->scale = 0;
}

/* See decimal.h. */
int
dec_format(const struct dec *d, char *buf, size_t len)
{
    char digits[DEC_MAX_DIGITS + 2];
    size_t n = 0, need, pos = 0;
    dec_u128 m = d->mant;

    do {
        digits[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m != 0);
    /* digits holds n digits, least significant first. */
    if (d->scale == 0)
        need = n;
    else if ((size_t)d->scale >= n)
        need = 2 + (size_t)d->scale; /* "0." and the padded fraction */
    else
        need = n + 1;
    if (need + 1 > len) {
        if (len > 0)
            buf[0] = '\0';
        return -1;
    }
    if (d->scale > 0 && (size_t)d->scale >= n) {
        buf[pos++] = '0';
        buf[pos++] = '.';
        for (size_t i = n; i < (size_t)d->scale; i++)
            buf[pos++] = '0';
    }
    for (size_t i = n; i-- > 0;) {
        buf[pos++] = digits[i];
        if (d->scale > 0 && i == (size_t)d->scale)
            buf[pos++] = '.';
    }
    buf[pos] = '\0';
    return 0;
}

/* See decimal.h. */
const char *
dec_str(const struct dec *d, char buf[DEC_STR_MAX])
{
    int rc = dec_format(d, buf, DEC_STR_MAX);

    assert(rc == 0);
    (void)rc;
    return buf;
}

/* See decimal.h. */
int
dec_cmp(const struct dec *a, const struct dec *b)
{
    int s = max_scale(a, b);
    struct u256 x = align(a, s), y = align(b, s);

    return u256_cmp(&x, &y);
}

/* See decimal.h. */
int
dec_is_zero(const struct dec *d)
{
    return d->mant == 0;
}

/* See decimal.h. */
int
dec_add(const struct dec *a, const struct dec *b, struct dec *out)
{
    int s = max_scale(a, b);
    struct u256 x = align(a, s), y = align(b, s), r;

    if (u256_add(&x, &y, &r) < 0)
        return -1;
    return dec_from_u256(r, s, out);
}

/* See decimal.h. */
int
dec_sub(const struct dec *a, const struct dec *b, struct dec *out)
{
    int s = max_scale(a, b);
    struct u256 x = align(a, s), y = align(b, s), r;

    if (u256_cmp(&x, &y) < 0)
        return -1;
    u256_sub(&x, &y, &r);
    return dec_from_u256(r, s, out);
}

/* See decimal.h. */
int
dec_mul(const struct dec *a, const struct dec *b, struct dec *out)
{
    struct u256 r;

    u256_mul128(a->mant, b->mant, &r);
    return dec_from_u256(r, a->scale + b->scale, out);
}

/* See decimal.h. The quotient at the wanted scale is
 * a.mant * 10^(b.scale + scale) / (b.mant * 10^a.scale); the common powers
 * of ten are cancelled first so that the numerator rarely overflows. */
int
dec_div(const struct dec *a, const struct dec *b, int scale,
        enum dec_round mode, struct dec *out)
{
    struct u256 n, d, q, r, twice;
    int e;

    if (b->mant == 0 || scale < 0 || scale > DEC_MAX_SCALE)
        return -1;
    e = b->scale + scale - a->scale;
    u256_from(&n, a->mant);
    u256_from(&d, b->mant);
    if (e >= 0) {
        if (u256_mul_pow10(&n, e) < 0)
            return -1;
    } else {
        /* b.mant < 10^38 and -e <= 38: below 10^76 */
        if (u256_mul_pow10(&d, -e) < 0)
            return -1;
    }
    u256_divmod(&n, &d, &q, &r);
    if (!u256_is_zero(&r)) {
        int bump = 0;
        struct u256 one;

        if (mode == DEC_ROUND_UP) {
            bump = 1;
        } else if (mode == DEC_ROUND_HALF_UP) {
            twice = r;
            u256_shl1(&twice); /* r < d < 2^255: no overflow */
            bump = u256_cmp(&twice, &d) >= 0;
        }
        u256_from(&one, 1);
        if (bump && u256_add(&q, &one, &q) < 0)
            return -1;
    }
    return dec_from_u256(q, scale, out);
}

/* The grid arithmetic of dec_floor_step / dec_ceil_step: at the common
 * scale *s, v as *x, origin as *o, step as *st, and
 * *rem = (v - origin) % step. Returns -1 when step is zero, 1 when
 * v < origin, else 0. */
static int
grid(const struct dec *v, const struct dec *origin, const struct dec *step,
     int *s, struct u256 *x, struct u256 *o, struct u256 *st, struct u256 *rem)
{
    static const struct dec zero = {0, 0};
    struct u256 diff, k;

    if (step->mant == 0)
        return -1;
    if (origin == NULL)
        origin = &zero;
    *s = max_scale(v, origin);
    if (step->scale > *s)
        *s = step->scale;
    *x = align(v, *s);
    *o = align(origin, *s);
    *st = align(step, *s);
    if (u256_cmp(x, o) < 0)
        return 1;
    u256_sub(x, o, &diff);
    u256_divmod(&diff, st, &k, rem);
    return 0;
}

/* See decimal.h. The largest grid value <= v is v - rem. */
int
dec_floor_step(const struct dec *v, const struct dec *origin,
               const struct dec *step, struct dec *out)
{
    struct u256 x, o, st, rem, r;
    int s;

    if (grid(v, origin, step, &s, &x, &o, &st, &rem) != 0)
        return -1;
    u256_sub(&x, &rem, &r);
    return dec_from_u256(r, s, out);
}

/* See decimal.h. The smallest grid value >= v is v itself when rem is 0,
 * else v - rem + step (all below 2^254: no overflow). */
int
dec_ceil_step(const struct dec *v, const struct dec *origin,
              const struct dec *step, struct dec *out)
{
    struct u256 x, o, st, rem, r;
    int s, rc = grid(v, origin, step, &s, &x, &o, &st, &rem);

    if (rc < 0)
        return -1;
    if (rc == 1)
        return dec_from_u256(o, s, out);
    u256_sub(&x, &rem, &r);
    if (!u256_is_zero(&rem) && u256_add(&r, &st, &r) < 0)
        return -1;
    return dec_from_u256(r, s, out);
}

/* See decimal.h. */
int
dec_is_step_multiple(const struct dec *v, const struct dec *origin,
                     const struct dec *step)
{
    struct u256 x, o, st, rem;
    int s, rc = grid(v, origin, step, &s, &x, &o, &st, &rem);

    if (rc < 0)
        return -1;
    if (rc == 1)
        return 0;
    return u256_is_zero(&rem);
}

/* ---- decimal text, without parsing into a struct dec ---- */

/* Splits a plain non-negative decimal into integer and fraction digits.
 * Returns 0, or -1 when s has anything but digits and at most one dot. */
static int
text_split(const char *s, const char **ip, size_t *il, const char **fp,
           size_t *fl)
{
    const char *dot = strchr(s, '.');
    size_t n = strlen(s);

    if (n == 0 || strspn(s, "0123456789.") != n ||
        (dot != NULL && strchr(dot + 1, '.') != NULL))
        return -1;
    *ip = s;
    *il = dot != NULL ? (size_t)(dot - s) : n;
    *fp = dot != NULL ? dot + 1 : s + n;
    *fl = dot != NULL ? n - *il - 1 : 0;
    return 0;
}

/* See decimal.h. */
const char *
dec_text_display(const char *s, char *buf, size_t len)
{
    const char *ip, *fp;
    size_t il, fl, keep;

    snprintf(buf, len, "%s", s != NULL ? s : "n/a");
    if (s == NULL || text_split(s, &ip, &il, &fp, &fl) < 0 || fl == 0)
        return buf;
    keep = fl;
    while (keep > 2 && fp[keep - 1] == '0')
        keep--;
    if (il + 1 + keep < len)
        buf[il + 1 + keep] = '\0';
    return buf;
}

/* Digit k counted from the right of a digit run of length n, or 0. */
static int
digit_from_right(const char *p, size_t n, size_t k)
{
    return k < n ? p[n - 1 - k] - '0' : 0;
}

/* Digit k counted from the left of a fraction of length n, or 0. */
static int
frac_digit(const char *p, size_t n, size_t k)
{
    return k < n ? p[k] - '0' : 0;
}

/* See decimal.h. */
int
dec_text_add(const char *a, const char *b, char *out, size_t len)
{
    const char *ai, *af, *bi, *bf;
    size_t ail, afl, bil, bfl, il, fl, n = 0;
    char rev[96];
    int carry = 0;

    if (a == NULL || b == NULL || text_split(a, &ai, &ail, &af, &afl) < 0 ||
        text_split(b, &bi, &bil, &bf, &bfl) < 0)
        return -1;
    il = ail > bil ? ail : bil;
    fl = afl > bfl ? afl : bfl;
    if (il + fl + 3 > sizeof(rev))
        return -1;
    for (size_t k = fl; k-- > 0;) {
        int s = frac_digit(af, afl, k) + frac_digit(bf, bfl, k) + carry;
        rev[n++] = (char)('0' + s % 10);
        carry = s / 10;
    }
    if (fl > 0)
        rev[n++] = '.';
    for (size_t k = 0; k < il; k++) {
        int s =
            digit_from_right(ai, ail, k) + digit_from_right(bi, bil, k) + carry;
        rev[n++] = (char)('0' + s % 10);
        carry = s / 10;
    }
    if (carry || il == 0)
        rev[n++] = carry ? '1' : '0';
    /* Drop leading zeros of the integer part, keeping one. */
    while (n > 1 && rev[n - 1] == '0' && rev[n - 2] != '.')
        n--;
    if (n + 1 > len)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
    return 0;
}

/* See decimal.h. */
int
dec_text_is_zero(const char *s)
{
    const char *ip, *fp;
    size_t il, fl;

    if (s == NULL || text_split(s, &ip, &il, &fp, &fl) < 0)
        return 0;
    return strspn(s, "0.") == strlen(s);
}

/* See decimal.h. */
int
dec_text_cmp(const char *a, const char *b)
{
    size_t ia, ib;
    int c;

    while (a[0] == '0' && a[1] != '.' && a[1] != '\0')
        a++;
    while (b[0] == '0' && b[1] != '.' && b[1] != '\0')
        b++;
    ia = strcspn(a, ".");
    ib = strcspn(b, ".");
    if (ia != ib)
        return ia < ib ? -1 : 1;
    if ((c = strncmp(a, b, ia)) != 0)
        return c;
    a += ia + (a[ia] == '.');
    b += ib + (b[ib] == '.');
    while (*a != '\0' || *b != '\0') {
        char x = *a != '\0' ? *a++ : '0', y = *b != '\0' ? *b++ : '0';
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* See decimal.h. The mantissa converts with one rounding; 10^scale is
 * exact in a double up to 10^22, so most prices lose nothing more. */
double
dec_to_double(const struct dec *d)
{
    double p = 1;

    for (int i = 0; i < d->scale; i++)
        p *= 10;
    return (double)d->mant / p;
}
