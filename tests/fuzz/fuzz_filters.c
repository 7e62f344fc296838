/*
 * fuzz_filters.c - libFuzzer harness of the exchange filters and the exact
 * decimals under them: filters_check_leg, filters_is_algo,
 * filters_check_counts and filters_explain with a fuzzed exchangeInfo
 * symbol object (the guard-independent half of the trading guard), and
 * dec_parse / dec_format with the arithmetic (decimal.h) on every decimal
 * the legs carry, checked against the contracts in decimal.h.
 *
 * Input: one JSON text, either
 *   {"sym": <exchangeInfo symbols[] entry>, "legs": [<leg>, ...],
 *    "counts": [open, open_algo, adding, adding_algo]}
 * where a leg is an object with any of type, side, quantity,
 * quote_order_qty, price, stop_price, trailing_delta, iceberg_qty,
 * time_in_force and ref_price (struct filters_leg), or a bare symbol
 * object, which is then checked against a fixed set of typical legs.
 * Seeds: the fake exchange's exchangeInfo entries.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "decimal.h"
#include "filters.h"
#include "fuzzlib.h"

#define FUZZ_MAX_LEGS 8
#define FUZZ_MAX_DECS 12

static const struct filters_leg typical_legs[] = {
    {"LIMIT", "BUY", "0.001", NULL, "50000.00", NULL, NULL, NULL, "GTC",
     "50000"},
    {"LIMIT", "SELL", "0.00001500", NULL, "0.001", NULL, NULL, "0.0001", "GTC",
     "49950.5"},
    {"MARKET", "BUY", NULL, "10.5", NULL, NULL, NULL, NULL, NULL, "50000"},
    {"MARKET", "SELL", "1", NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"STOP_LOSS_LIMIT", "SELL", "0.5", NULL, "48000", "48100", NULL, NULL,
     "IOC", "50000"},
    {"TAKE_PROFIT", "BUY", "2", NULL, NULL, NULL, "100", NULL, NULL, "3000"},
    {"LIMIT_MAKER", "BUY", "0.1", NULL, "1000000.01", NULL, NULL, NULL, NULL,
     "0"},
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* o[key] as text, borrowed from o; NULL when absent or null. */
static const char *
member(json_object *o, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return NULL;
    return json_object_get_string(v);
}

static void
leg_from_json(json_object *o, struct filters_leg *leg)
{
    leg->type = member(o, "type");
    leg->side = member(o, "side");
    leg->quantity = member(o, "quantity");
    leg->quote_order_qty = member(o, "quote_order_qty");
    leg->price = member(o, "price");
    leg->stop_price = member(o, "stop_price");
    leg->trailing_delta = member(o, "trailing_delta");
    leg->iceberg_qty = member(o, "iceberg_qty");
    leg->time_in_force = member(o, "time_in_force");
    leg->ref_price = member(o, "ref_price");
}

/* ---- decimal.h's contracts ---- */

/* dec_format of a parsed value reads back as the same value, in plain
 * notation without trailing zeros; a short buffer fails cleanly. */
static void
check_dec_text(const char *s)
{
    struct dec d, back;
    char buf[DEC_STR_MAX], small[4];
    size_t len;

    if (dec_parse(s, &d) < 0)
        return;
    if (dec_format(&d, buf, sizeof(buf)) < 0)
        abort(); /* "DEC_STR_MAX always fits" */
    len = strlen(buf);
    if (len == 0 || strchr(buf, 'e') != NULL ||
        (strchr(buf, '.') != NULL &&
         (buf[len - 1] == '0' || buf[len - 1] == '.')))
        abort();
    if (dec_parse(buf, &back) < 0 || dec_cmp(&d, &back) != 0 ||
        back.mant != d.mant || back.scale != d.scale)
        abort(); /* normalised: equal values have equal fields */
    if (dec_format(&d, small, sizeof(small)) < 0 ? small[0] != '\0'
                                                 : strlen(small) != len)
        abort();
}

/* The arithmetic on two parsed values, checked against itself. */
static void
check_dec_pair(const struct dec *a, const struct dec *b)
{
    struct dec r, back, lo, hi;
    int c = dec_cmp(a, b);

    if (c != -dec_cmp(b, a))
        abort();
    if (dec_add(a, b, &r) == 0) {
        if (dec_cmp(&r, a) < 0 || dec_sub(&r, b, &back) < 0 ||
            dec_cmp(&back, a) != 0)
            abort(); /* (a + b) - b == a, exactly */
    }
    if (dec_sub(a, b, &r) == 0 && c < 0)
        abort(); /* "-1 when a < b" */
    (void)dec_mul(a, b, &r);
    for (int mode = DEC_ROUND_DOWN; mode <= DEC_ROUND_HALF_UP; mode++)
        (void)dec_div(a, b, 8, (enum dec_round)mode, &r);
    if (dec_is_zero(b)) {
        if (dec_is_step_multiple(a, NULL, b) != -1)
            abort();
        return;
    }
    if (dec_floor_step(a, NULL, b, &lo) == 0 &&
        (dec_cmp(&lo, a) > 0 || dec_is_step_multiple(&lo, NULL, b) != 1))
        abort();
    if (dec_ceil_step(a, NULL, b, &hi) == 0 &&
        (dec_cmp(&hi, a) < 0 || dec_is_step_multiple(&hi, NULL, b) != 1))
        abort();
    if (dec_is_step_multiple(a, NULL, b) == 1 &&
        ((dec_floor_step(a, NULL, b, &lo) == 0 && dec_cmp(&lo, a) != 0) ||
         (dec_ceil_step(a, NULL, b, &hi) == 0 && dec_cmp(&hi, a) != 0)))
        abort(); /* a grid value is its own floor and ceiling */
}

static void
check_decimals(const char *const *texts, size_t n)
{
    struct dec d[FUZZ_MAX_DECS];
    size_t nd = 0;

    for (size_t i = 0; i < n; i++) {
        check_dec_text(texts[i]);
        if (nd < FUZZ_MAX_DECS && dec_parse(texts[i], &d[nd]) == 0)
            nd++;
    }
    for (size_t i = 0; i < nd; i++)
        for (size_t j = 0; j < nd; j++)
            check_dec_pair(&d[i], &d[j]);
}

/* ---- filters.h ---- */

static void
check_leg(json_object *sym, const struct filters_leg *leg)
{
    char why[512], tiny[8];

    why[0] = 'x';
    if (filters_check_leg(sym, leg, why, sizeof(why)) == 0) {
        if (why[0] != '\0')
            abort(); /* "why is then ''" */
    } else if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL) {
        abort();
    }
    (void)filters_check_leg(sym, leg, tiny, sizeof(tiny));
    (void)filters_is_algo(leg->type, leg->trailing_delta);
}

/* The decimals of a leg, for check_decimals. */
static size_t
leg_texts(const struct filters_leg *leg, const char **out, size_t n)
{
    const char *all[] = {leg->quantity,   leg->quote_order_qty, leg->price,
                         leg->stop_price, leg->iceberg_qty,     leg->ref_price};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i] != NULL && n < FUZZ_MAX_DECS)
            out[n++] = all[i];
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *in = fuzz_json(data, size), *sym = in, *legs = NULL, *counts;
    struct filters_leg leg;
    const char *texts[FUZZ_MAX_DECS];
    size_t ntexts = 0;
    long c[4] = {0, 0, 1, 0};
    char why[512];

    if (in == NULL) {
        /* Not JSON: the text itself as a decimal. */
        char *s = fuzz_strndup(data, size > 128 ? 128 : size);
        check_dec_text(s);
        free(s);
        return 0;
    }
    if (json_object_is_type(in, json_type_string)) {
        texts[ntexts++] = json_object_get_string(in);
    } else if (json_object_object_get_ex(in, "sym", &sym)) {
        json_object_object_get_ex(in, "legs", &legs);
        if (json_object_object_get_ex(in, "counts", &counts) &&
            json_object_is_type(counts, json_type_array))
            for (size_t i = 0; i < 4; i++)
                c[i] = (long)json_object_get_int64(
                    json_object_array_get_idx(counts, i));
    }
    /* What the guard can pass: open counts are Binance's array lengths or
     * -1 (unknown), the orders being added the legs of one request. */
    for (size_t i = 0; i < 2; i++)
        c[i] = c[i] < 0 ? -1 : c[i] % 1000001;
    for (size_t i = 2; i < 4; i++)
        c[i] = c[i] < 0 ? 0 : c[i] % 4;

    if (json_object_is_type(legs, json_type_array)) {
        size_t n = json_object_array_length(legs);
        for (size_t i = 0; i < n && i < FUZZ_MAX_LEGS; i++) {
            leg_from_json(json_object_array_get_idx(legs, i), &leg);
            check_leg(sym, &leg);
            ntexts = leg_texts(&leg, texts, ntexts);
        }
    } else {
        for (size_t i = 0; i < sizeof(typical_legs) / sizeof(typical_legs[0]);
             i++)
            check_leg(sym, &typical_legs[i]);
    }
    (void)filters_check_counts(sym, c[0], c[1], (int)c[2], (int)c[3], why,
                               sizeof(why));
    json_object_put(filters_explain(sym));
    check_decimals(texts, ntexts);
    json_object_put(in);
    return 0;
}
