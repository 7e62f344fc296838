/*
 * filters.c - local checks of the exchange's symbol filters, and their
 * explanation. See filters.h.
 *
 * Every check reads its numbers from the symbol's JSON as exact decimals
 * and skips a rule whose field is absent, unreadable or zero where Binance
 * says zero means unused: a refusal here must always be one Binance would
 * give too. The sentences name the parameters as Binance does (quantity,
 * quoteOrderQty, stopPrice, ...) so that the model can fix the very field.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "filters.h"

/* ---- order types ---- */

enum otype {
    OT_LIMIT,
    OT_MARKET,
    OT_LIMIT_MAKER,
    OT_STOP_LOSS,
    OT_STOP_LOSS_LIMIT,
    OT_TAKE_PROFIT,
    OT_TAKE_PROFIT_LIMIT,
    OT_OTHER,
};

static const char *const otype_names[] = {
    "LIMIT",           "MARKET",      "LIMIT_MAKER",      "STOP_LOSS",
    "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"};

static enum otype
otype_of(const char *name)
{
    for (size_t i = 0; i < sizeof(otype_names) / sizeof(otype_names[0]); i++)
        if (strcmp(name, otype_names[i]) == 0)
            return (enum otype)i;
    return OT_OTHER;
}

/* The stop and take-profit types: algo orders, trailingDelta allowed. */
static int
is_stop_type(enum otype t)
{
    return t == OT_STOP_LOSS || t == OT_STOP_LOSS_LIMIT ||
           t == OT_TAKE_PROFIT || t == OT_TAKE_PROFIT_LIMIT;
}

/* The types that carry a limit price (and may be iceberg orders). */
static int
has_limit_price(enum otype t)
{
    return t == OT_LIMIT || t == OT_LIMIT_MAKER || t == OT_STOP_LOSS_LIMIT ||
           t == OT_TAKE_PROFIT_LIMIT;
}

/* The types that execute as market orders (applyToMarket and kin). */
static int
executes_at_market(enum otype t)
{
    return t == OT_MARKET || t == OT_STOP_LOSS || t == OT_TAKE_PROFIT;
}

/* ---- reading the symbol's JSON ---- */

static json_object *
member(json_object *o, const char *key)
{
    json_object *v;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* The string at key, or NULL when absent or not a string. */
static const char *
member_str(json_object *o, const char *key)
{
    json_object *v = member(o, key);

    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : NULL;
}

/* The decimal at key (a decimal string or a non-negative JSON integer).
 * Returns 1 and fills *out, or 0 when absent or unreadable. */
static int
member_dec(json_object *o, const char *key, struct dec *out)
{
    json_object *v = member(o, key);

    if (json_object_is_type(v, json_type_string))
        return dec_parse(json_object_get_string(v), out) == 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n < 0)
            return 0;
        dec_from_u64((uint64_t)n, out);
        return 1;
    }
    return 0;
}

/* member_dec, but 0 also for a zero value: Binance's "rule unused". */
static int
member_dec_set(json_object *o, const char *key, struct dec *out)
{
    return member_dec(o, key, out) && !dec_is_zero(out);
}

/* The boolean at key, or dflt when absent or not a boolean. */
static int
member_bool(json_object *o, const char *key, int dflt)
{
    json_object *v = member(o, key);

    return json_object_is_type(v, json_type_boolean)
               ? (int)json_object_get_boolean(v)
               : dflt;
}

/* The first filter of sym with this filterType (borrowed), or NULL. */
static json_object *
find_filter(json_object *sym, const char *type)
{
    json_object *arr = member(sym, "filters");
    size_t n;

    if (!json_object_is_type(arr, json_type_array))
        return NULL;
    n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(arr, i);
        const char *ft = member_str(f, "filterType");
        if (ft != NULL && strcmp(ft, type) == 0)
            return f;
    }
    return NULL;
}

static int refuse(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the sentence into why. Always returns -1. */
static int
refuse(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (len == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- one leg, parsed ---- */

struct leg {
    json_object *sym;
    const struct filters_leg *in;
    const char *symbol; /* for sentences; never NULL */
    char quote_sfx[24]; /* " USDT", or "" when the quote asset is unknown */
    enum otype type;
    int side_known, buy;
    int has_qty, has_qoq, has_price, has_stop, has_iceberg, has_delta;
    int has_ref;
    struct dec qty, qoq, price, stop, iceberg, delta, ref;
};

/* Parses one decimal parameter. Returns 0 (absent or fine), or -1 with a
 * sentence when it is not a plain decimal. */
static int
parse_param(const char *name, const char *text, int *has, struct dec *v,
            char *why, size_t len)
{
    *has = 0;
    if (text == NULL)
        return 0;
    if (dec_parse(text, v) < 0)
        return refuse(why, len,
                      "%s: \"%.40s\" is not a plain decimal number; write "
                      "digits with at most one point, e.g. 0.001 (no sign, "
                      "no exponent, at most 38 digits).",
                      name, text);
    *has = 1;
    return 0;
}

static int
leg_parse(struct leg *l, json_object *sym, const struct filters_leg *in,
          char *why, size_t len)
{
    const char *quote = member_str(sym, "quoteAsset");

    memset(l, 0, sizeof(*l));
    l->sym = sym;
    l->in = in;
    l->symbol = member_str(sym, "symbol");
    if (l->symbol == NULL)
        l->symbol = "the symbol";
    if (quote != NULL && strlen(quote) + 2 <= sizeof(l->quote_sfx))
        snprintf(l->quote_sfx, sizeof(l->quote_sfx), " %s", quote);
    if (in->type == NULL)
        return refuse(why, len, "type: the order has no type.");
    l->type = otype_of(in->type);
    if (in->side != NULL) {
        if (strcmp(in->side, "BUY") != 0 && strcmp(in->side, "SELL") != 0)
            return refuse(why, len, "side: \"%.20s\" is neither BUY nor SELL.",
                          in->side);
        l->side_known = 1;
        l->buy = strcmp(in->side, "BUY") == 0;
    }
    if (parse_param("quantity", in->quantity, &l->has_qty, &l->qty, why, len) <
            0 ||
        parse_param("quoteOrderQty", in->quote_order_qty, &l->has_qoq, &l->qoq,
                    why, len) < 0 ||
        parse_param("price", in->price, &l->has_price, &l->price, why, len) <
            0 ||
        parse_param("stopPrice", in->stop_price, &l->has_stop, &l->stop, why,
                    len) < 0 ||
        parse_param("icebergQty", in->iceberg_qty, &l->has_iceberg, &l->iceberg,
                    why, len) < 0 ||
        parse_param("trailingDelta", in->trailing_delta, &l->has_delta,
                    &l->delta, why, len) < 0)
        return -1;
    if (l->has_delta && l->delta.scale != 0)
        return refuse(why, len,
                      "trailingDelta: %s is not a whole number of BIPS "
                      "(1 BIPS = 0.01 %%).",
                      in->trailing_delta);
    /* Ours, not the model's: an unreadable one only skips checks. */
    l->has_ref =
        in->ref_price != NULL && dec_parse(in->ref_price, &l->ref) == 0;
    return 0;
}

/* ---- symbol state and order type ---- */

static int
check_symbol(const struct leg *l, char *why, size_t len)
{
    const char *status = member_str(l->sym, "status");
    json_object *types = member(l->sym, "orderTypes");

    if (status != NULL && strcmp(status, "TRADING") != 0)
        return refuse(why, len,
                      "status: %s is %s, not TRADING, so Binance accepts no "
                      "new orders for it now.",
                      l->symbol, status);
    if (!member_bool(l->sym, "isSpotTradingAllowed", 1))
        return refuse(why, len,
                      "isSpotTradingAllowed: spot trading is not allowed on "
                      "%s.",
                      l->symbol);
    if (json_object_is_type(types, json_type_array)) {
        size_t n = json_object_array_length(types), used = 0;
        char list[256] = "";

        for (size_t i = 0; i < n; i++) {
            const char *t =
                json_object_get_string(json_object_array_get_idx(types, i));
            int w;
            if (t != NULL && strcmp(t, l->in->type) == 0)
                return 0;
            w = snprintf(list + used, sizeof(list) - used, "%s%s",
                         i > 0 ? ", " : "", t != NULL ? t : "");
            if (w > 0 && (size_t)w < sizeof(list) - used)
                used += (size_t)w;
        }
        return refuse(why, len,
                      "orderTypes: %s does not take %.40s orders; it takes "
                      "%s.",
                      l->symbol, l->in->type, list);
    }
    return 0;
}

/* Refuses a parameter the symbol's flag (exchangeInfo) does not allow:
 * "icebergAllowed: BTCUSDT does not allow iceberg orders, so icebergQty
 * cannot be used." Returns what refuse() returns. */
static int
refuse_flag(const struct leg *l, const char *flag, const char *what,
            const char *param, char *why, size_t len)
{
    return refuse(why, len, "%s: %s does not allow %s, so %s cannot be used.",
                  flag, l->symbol, what, param);
}

/* icebergQty, trailingDelta and quoteOrderQty: the types that take them,
 * the symbol's flags for them, and their own rules. */
static int
check_params(const struct leg *l, char *why, size_t len)
{
    if (l->has_iceberg) {
        char b1[DEC_STR_MAX], b2[DEC_STR_MAX];

        if (!has_limit_price(l->type))
            return refuse(why, len,
                          "icebergQty: Binance accepts it only on LIMIT, "
                          "LIMIT_MAKER, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT "
                          "orders, not on %.40s.",
                          l->in->type);
        if (!member_bool(l->sym, "icebergAllowed", 1))
            return refuse_flag(l, "icebergAllowed", "iceberg orders",
                               "icebergQty", why, len);
        if (l->in->time_in_force != NULL &&
            strcmp(l->in->time_in_force, "GTC") != 0)
            return refuse(why, len,
                          "icebergQty: an iceberg order must use timeInForce "
                          "GTC, not %.10s.",
                          l->in->time_in_force);
        if (l->has_qty && dec_cmp(&l->iceberg, &l->qty) >= 0)
            return refuse(why, len,
                          "icebergQty: %s must be less than the quantity %s.",
                          dec_str(&l->iceberg, b1), dec_str(&l->qty, b2));
    }
    if (l->has_delta) {
        if (!is_stop_type(l->type))
            return refuse(why, len,
                          "trailingDelta: only STOP_LOSS, STOP_LOSS_LIMIT, "
                          "TAKE_PROFIT and TAKE_PROFIT_LIMIT orders take it, "
                          "not %.40s.",
                          l->in->type);
        if (!member_bool(l->sym, "allowTrailingStop", 1))
            return refuse_flag(l, "allowTrailingStop", "trailing stops",
                               "trailingDelta", why, len);
    }
    if (l->has_qoq) {
        if (l->type != OT_MARKET)
            return refuse(why, len,
                          "quoteOrderQty: only MARKET orders take it, not "
                          "%.40s.",
                          l->in->type);
        if (!member_bool(l->sym, "quoteOrderQtyMarketAllowed", 1))
            return refuse(why, len,
                          "quoteOrderQtyMarketAllowed: %s does not take "
                          "MARKET orders by quoteOrderQty; give a quantity "
                          "instead.",
                          l->symbol);
    }
    return 0;
}

/* ---- min / max / step: PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE ---- */

struct grid_rule {
    const char *filter;              /* "PRICE_FILTER" */
    const char *kmin, *kmax, *kstep; /* its fields */
    const char *noun;                /* "price": "the minimum price" */
    const char *step_noun;           /* "tick size" */
};

static const struct grid_rule price_rule = {
    "PRICE_FILTER", "minPrice", "maxPrice", "tickSize", "price", "tick size"};
static const struct grid_rule lot_rule = {"LOT_SIZE", "minQty",   "maxQty",
                                          "stepSize", "quantity", "step size"};
static const struct grid_rule market_lot_rule = {
    "MARKET_LOT_SIZE", "minQty", "maxQty", "stepSize", "quantity", "step size"};

/* Checks v (the parameter param) against filter f under rule g. */
static int
check_grid(json_object *f, const struct grid_rule *g, const char *param,
           const struct dec *v, char *why, size_t len)
{
    struct dec min, max, step, lo, hi;
    int has_min, has_max, has_step, has_lo, has_hi;
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], b4[DEC_STR_MAX];

    if (f == NULL)
        return 0;
    has_min = member_dec_set(f, g->kmin, &min);
    has_max = member_dec_set(f, g->kmax, &max);
    has_step = member_dec_set(f, g->kstep, &step);
    if (has_min && dec_cmp(v, &min) < 0) {
        lo = min;
        if (has_step)
            (void)dec_ceil_step(&min, NULL, &step, &lo);
        return refuse(why, len,
                      "%s: %s %s is below the minimum %s %s; use %s "
                      "or more.",
                      g->filter, param, dec_str(v, b1), g->noun,
                      dec_str(&min, b2), dec_str(&lo, b3));
    }
    if (has_max && dec_cmp(v, &max) > 0) {
        hi = max;
        if (has_step)
            (void)dec_floor_step(&max, NULL, &step, &hi);
        return refuse(why, len,
                      "%s: %s %s is above the maximum %s %s; use %s "
                      "or less.",
                      g->filter, param, dec_str(v, b1), g->noun,
                      dec_str(&max, b2), dec_str(&hi, b3));
    }
    if (!has_step || dec_is_step_multiple(v, NULL, &step) != 0)
        return 0;
    has_lo = dec_floor_step(v, NULL, &step, &lo) == 0 && !dec_is_zero(&lo) &&
             !(has_min && dec_cmp(&lo, &min) < 0);
    has_hi = dec_ceil_step(v, NULL, &step, &hi) == 0 &&
             !(has_max && dec_cmp(&hi, &max) > 0);
    if (has_lo && has_hi)
        return refuse(why, len,
                      "%s: %s %s is not a multiple of the %s %s; use %s or "
                      "%s.",
                      g->filter, param, dec_str(v, b1), g->step_noun,
                      dec_str(&step, b2), dec_str(&lo, b3), dec_str(&hi, b4));
    if (has_lo || has_hi)
        return refuse(why, len,
                      "%s: %s %s is not a multiple of the %s %s; use %s.",
                      g->filter, param, dec_str(v, b1), g->step_noun,
                      dec_str(&step, b2), dec_str(has_lo ? &lo : &hi, b3));
    return refuse(why, len,
                  "%s: %s %s is not a multiple of the %s %s; use a multiple "
                  "of %s.",
                  g->filter, param, dec_str(v, b1), g->step_noun,
                  dec_str(&step, b2), b2);
}

/* ---- PERCENT_PRICE and PERCENT_PRICE_BY_SIDE ---- */

/* price against ref_price x [down, up] of filter f (keys kdown, kup);
 * side_word is "" or "BUY " / "SELL " for the sentence. */
static int
check_percent(const struct leg *l, json_object *f, const char *filter,
              const char *kdown, const char *kup, const char *side_word,
              char *why, size_t len)
{
    struct dec down, up, lo, hi, tick, slo, shi = {0, 0};
    int has_lo, has_hi, has_tick;
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], b4[DEC_STR_MAX],
        b5[DEC_STR_MAX], b6[DEC_STR_MAX];

    if (f == NULL || !l->has_price || !l->has_ref)
        return 0;
    has_lo = member_dec(f, kdown, &down) && dec_mul(&l->ref, &down, &lo) == 0;
    has_hi = member_dec_set(f, kup, &up) && dec_mul(&l->ref, &up, &hi) == 0;
    has_tick =
        member_dec_set(find_filter(l->sym, "PRICE_FILTER"), "tickSize", &tick);
    /* The suggestion: the band, rounded inwards to the tick. */
    slo = has_lo ? lo : (struct dec){0, 0};
    if (has_lo && has_tick)
        (void)dec_ceil_step(&lo, NULL, &tick, &slo);
    if (has_hi) {
        shi = hi;
        if (has_tick)
            (void)dec_floor_step(&hi, NULL, &tick, &shi);
    }
    if (has_lo && dec_cmp(&l->price, &lo) < 0) {
        if (has_hi)
            return refuse(why, len,
                          "%s: %sprice %s is below %s (%s times the current "
                          "price %s); use a price from %s to %s.",
                          filter, side_word, dec_str(&l->price, b1),
                          dec_str(&lo, b2), dec_str(&down, b3),
                          dec_str(&l->ref, b4), dec_str(&slo, b5),
                          dec_str(&shi, b6));
        return refuse(why, len,
                      "%s: %sprice %s is below %s (%s times the current "
                      "price %s); use %s or more.",
                      filter, side_word, dec_str(&l->price, b1),
                      dec_str(&lo, b2), dec_str(&down, b3),
                      dec_str(&l->ref, b4), dec_str(&slo, b5));
    }
    if (has_hi && dec_cmp(&l->price, &hi) > 0)
        return refuse(why, len,
                      "%s: %sprice %s is above %s (%s times the current "
                      "price %s); use a price from %s to %s.",
                      filter, side_word, dec_str(&l->price, b1),
                      dec_str(&hi, b2), dec_str(&up, b3), dec_str(&l->ref, b4),
                      dec_str(&slo, b5), dec_str(&shi, b6));
    return 0;
}

/* ---- quantities that meet a value: the notional suggestions ---- */

/* The step and minQty a quantity of this leg must meet: LOT_SIZE's, and
 * for a MARKET order also MARKET_LOT_SIZE's (its step when it is a
 * multiple of LOT_SIZE's, so that both hold; the larger minimum). */
static void
qty_rules(const struct leg *l, struct dec *step, int *has_step,
          struct dec *minq, int *has_min)
{
    json_object *lot = find_filter(l->sym, "LOT_SIZE");
    json_object *mlot =
        l->type == OT_MARKET ? find_filter(l->sym, "MARKET_LOT_SIZE") : NULL;
    struct dec mstep;

    *has_step = member_dec_set(lot, "stepSize", step);
    if (member_dec_set(mlot, "stepSize", &mstep) &&
        (!*has_step || dec_is_step_multiple(&mstep, NULL, step) == 1)) {
        *step = mstep;
        *has_step = 1;
    }
    *has_min = member_dec_set(lot, "minQty", minq);
    if (mlot != NULL) {
        struct dec m2;
        if (member_dec_set(mlot, "minQty", &m2) &&
            (!*has_min || dec_cmp(&m2, minq) > 0)) {
            *minq = m2;
            *has_min = 1;
        }
    }
}

/* The decimals a quantity may have when no step says: the base asset's
 * precision, else 8. */
static int
qty_scale(const struct leg *l, const struct dec *step, int has_step)
{
    struct dec p;

    if (has_step)
        return step->scale;
    if (member_dec(l->sym, "baseAssetPrecision", &p) && p.scale == 0 &&
        p.mant <= DEC_MAX_SCALE)
        return (int)p.mant;
    return 8;
}

/* The smallest valid quantity worth at least value at price px (up) or
 * the largest worth at most value (!up). Returns 0 or -1. */
static int
qty_for_value(const struct leg *l, const struct dec *value,
              const struct dec *px, int up, struct dec *out)
{
    struct dec step, minq, q;
    int has_step, has_min;

    qty_rules(l, &step, &has_step, &minq, &has_min);
    if (dec_div(value, px, qty_scale(l, &step, has_step),
                up ? DEC_ROUND_UP : DEC_ROUND_DOWN, &q) < 0)
        return -1;
    if (has_step && (up ? dec_ceil_step(&q, NULL, &step, &q)
                        : dec_floor_step(&q, NULL, &step, &q)) < 0)
        return -1;
    if (up && has_min && dec_cmp(&q, &minq) < 0)
        q = minq;
    if (!up && dec_is_zero(&q))
        return -1;
    *out = q;
    return 0;
}

/* ---- MIN_NOTIONAL and NOTIONAL ---- */

/* The leg's value and, for a quantity, the price it is valued at. Returns
 * 1 when the value is known, else 0. */
static int
leg_value(const struct leg *l, struct dec *value, const struct dec **px,
          const char **px_word)
{
    *px = NULL;
    if (l->has_qoq) {
        *value = l->qoq;
        return 1;
    }
    if (!l->has_qty)
        return 0;
    if (has_limit_price(l->type) || (l->type == OT_OTHER && l->has_price)) {
        if (l->has_price) {
            *px = &l->price;
            *px_word = "price";
        }
    } else if ((l->type == OT_STOP_LOSS || l->type == OT_TAKE_PROFIT) &&
               l->has_stop) {
        *px = &l->stop;
        *px_word = "stop price";
    } else if (executes_at_market(l->type) && l->has_ref) {
        *px = &l->ref;
        *px_word = "current price";
    }
    return *px != NULL && dec_mul(&l->qty, *px, value) == 0;
}

/* The refusal for value below min (below != 0) or above max. */
static int
refuse_notional(const struct leg *l, const char *filter, int below,
                const struct dec *value, const struct dec *px,
                const char *px_word, const struct dec *bound, char *why,
                size_t len)
{
    const char *rel = below ? "below the minimum" : "above the maximum";
    const char *most = below ? "least" : "most";
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], b4[DEC_STR_MAX],
        b5[DEC_STR_MAX];
    struct dec q;

    if (px == NULL)
        return refuse(why, len,
                      "%s: quoteOrderQty %s is %s notional %s%s; use a "
                      "quoteOrderQty of at %s %s.",
                      filter, dec_str(value, b1), rel, dec_str(bound, b2),
                      l->quote_sfx, most, b2);
    if (qty_for_value(l, bound, px, below, &q) < 0)
        return refuse(why, len,
                      "%s: quantity %s at the %s %s is worth %s%s, %s "
                      "notional %s; use a %s quantity.",
                      filter, dec_str(&l->qty, b1), px_word, dec_str(px, b2),
                      dec_str(value, b3), l->quote_sfx, rel, dec_str(bound, b4),
                      below ? "larger" : "smaller");
    return refuse(why, len,
                  "%s: quantity %s at the %s %s is worth %s%s, %s notional "
                  "%s; use a quantity of at %s %s.",
                  filter, dec_str(&l->qty, b1), px_word, dec_str(px, b2),
                  dec_str(value, b3), l->quote_sfx, rel, dec_str(bound, b4),
                  most, dec_str(&q, b5));
}

static int
check_notional(const struct leg *l, char *why, size_t len)
{
    struct dec value, min, max;
    const struct dec *px;
    const char *px_word = "";
    int market = executes_at_market(l->type);
    json_object *f;

    if (!leg_value(l, &value, &px, &px_word))
        return 0;
    f = find_filter(l->sym, "MIN_NOTIONAL");
    if (f != NULL && (!market || member_bool(f, "applyToMarket", 0)) &&
        member_dec_set(f, "minNotional", &min) && dec_cmp(&value, &min) < 0)
        return refuse_notional(l, "MIN_NOTIONAL", 1, &value, px, px_word, &min,
                               why, len);
    f = find_filter(l->sym, "NOTIONAL");
    if (f == NULL)
        return 0;
    if ((!market || member_bool(f, "applyMinToMarket", 0)) &&
        member_dec_set(f, "minNotional", &min) && dec_cmp(&value, &min) < 0)
        return refuse_notional(l, "NOTIONAL", 1, &value, px, px_word, &min, why,
                               len);
    if ((!market || member_bool(f, "applyMaxToMarket", 0)) &&
        member_dec_set(f, "maxNotional", &max) && dec_cmp(&value, &max) > 0)
        return refuse_notional(l, "NOTIONAL", 0, &value, px, px_word, &max, why,
                               len);
    return 0;
}

/* ---- ICEBERG_PARTS ---- */

static int
check_iceberg_parts(const struct leg *l, char *why, size_t len)
{
    json_object *f = find_filter(l->sym, "ICEBERG_PARTS");
    struct dec limit, parts, step, minq, ice;
    int has_step, has_min;
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], b4[DEC_STR_MAX],
        b5[DEC_STR_MAX];

    if (f == NULL || !l->has_iceberg || !l->has_qty ||
        dec_is_zero(&l->iceberg) || !member_dec_set(f, "limit", &limit) ||
        dec_div(&l->qty, &l->iceberg, 0, DEC_ROUND_UP, &parts) < 0 ||
        dec_cmp(&parts, &limit) <= 0)
        return 0;
    qty_rules(l, &step, &has_step, &minq, &has_min);
    if (dec_div(&l->qty, &limit, qty_scale(l, &step, has_step), DEC_ROUND_UP,
                &ice) < 0 ||
        (has_step && dec_ceil_step(&ice, NULL, &step, &ice) < 0))
        return refuse(why, len,
                      "ICEBERG_PARTS: quantity %s in parts of icebergQty %s "
                      "makes %s parts, above the limit of %s; use a larger "
                      "icebergQty.",
                      dec_str(&l->qty, b1), dec_str(&l->iceberg, b2),
                      dec_str(&parts, b3), dec_str(&limit, b4));
    return refuse(why, len,
                  "ICEBERG_PARTS: quantity %s in parts of icebergQty %s "
                  "makes %s parts, above the limit of %s; use an icebergQty "
                  "of at least %s.",
                  dec_str(&l->qty, b1), dec_str(&l->iceberg, b2),
                  dec_str(&parts, b3), dec_str(&limit, b4), dec_str(&ice, b5));
}

/* ---- TRAILING_DELTA ---- */

static int
check_trailing(const struct leg *l, char *why, size_t len)
{
    json_object *f = find_filter(l->sym, "TRAILING_DELTA");
    struct dec min, max;
    int above, has_min, has_max;
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX];

    if (f == NULL || !l->has_delta || !l->side_known || !is_stop_type(l->type))
        return 0;
    /* STOP_LOSS BUY and TAKE_PROFIT SELL trail above the market. */
    above = (l->type == OT_STOP_LOSS || l->type == OT_STOP_LOSS_LIMIT)
                ? l->buy
                : !l->buy;
    has_min = member_dec_set(
        f, above ? "minTrailingAboveDelta" : "minTrailingBelowDelta", &min);
    has_max = member_dec_set(
        f, above ? "maxTrailingAboveDelta" : "maxTrailingBelowDelta", &max);
    if (has_min && dec_cmp(&l->delta, &min) < 0)
        return refuse(why, len,
                      "TRAILING_DELTA: trailingDelta %s is below the minimum "
                      "%s BIPS for a %s %s order (%s delta); use %s or more.",
                      dec_str(&l->delta, b1), dec_str(&min, b2), l->in->type,
                      l->in->side, above ? "above" : "below", b2);
    if (has_max && dec_cmp(&l->delta, &max) > 0)
        return refuse(why, len,
                      "TRAILING_DELTA: trailingDelta %s is above the maximum "
                      "%s BIPS for a %s %s order (%s delta); use %s or less.",
                      dec_str(&l->delta, b1), dec_str(&max, b2), l->in->type,
                      l->in->side, above ? "above" : "below", b2);
    return 0;
}

/* ---- the API ---- */

/* See filters.h. The order of the checks is the order in which the model
 * should fix things: whether the order can exist at all, then its price,
 * then its quantity, then what follows from both. */
int
filters_check_leg(json_object *sym, const struct filters_leg *leg, char *why,
                  size_t len)
{
    struct leg l;
    json_object *lot;

    if (len > 0)
        why[0] = '\0';
    if (leg_parse(&l, sym, leg, why, len) < 0 ||
        check_symbol(&l, why, len) < 0 || check_params(&l, why, len) < 0)
        return -1;
    if (l.has_price && check_grid(find_filter(sym, "PRICE_FILTER"), &price_rule,
                                  "price", &l.price, why, len) < 0)
        return -1;
    if (l.has_stop && check_grid(find_filter(sym, "PRICE_FILTER"), &price_rule,
                                 "stopPrice", &l.stop, why, len) < 0)
        return -1;
    if (check_percent(&l, find_filter(sym, "PERCENT_PRICE"), "PERCENT_PRICE",
                      "multiplierDown", "multiplierUp", "", why, len) < 0)
        return -1;
    if (l.side_known) {
        char side_word[8];
        snprintf(side_word, sizeof(side_word), "%s ", l.buy ? "BUY" : "SELL");
        if (check_percent(&l, find_filter(sym, "PERCENT_PRICE_BY_SIDE"),
                          "PERCENT_PRICE_BY_SIDE",
                          l.buy ? "bidMultiplierDown" : "askMultiplierDown",
                          l.buy ? "bidMultiplierUp" : "askMultiplierUp",
                          side_word, why, len) < 0)
            return -1;
    }
    lot = find_filter(sym, "LOT_SIZE");
    if (l.has_qty &&
        check_grid(lot, &lot_rule, "quantity", &l.qty, why, len) < 0)
        return -1;
    if (l.has_iceberg &&
        check_grid(lot, &lot_rule, "icebergQty", &l.iceberg, why, len) < 0)
        return -1;
    if (l.has_qty && l.type == OT_MARKET &&
        check_grid(find_filter(sym, "MARKET_LOT_SIZE"), &market_lot_rule,
                   "quantity", &l.qty, why, len) < 0)
        return -1;
    if (check_iceberg_parts(&l, why, len) < 0 ||
        check_notional(&l, why, len) < 0 || check_trailing(&l, why, len) < 0)
        return -1;
    return 0;
}

/* See filters.h. */
int
filters_is_algo(const char *type, const char *trailing_delta)
{
    return trailing_delta != NULL ||
           (type != NULL && is_stop_type(otype_of(type)));
}

/* One count limit: open + adding against the filter's field. */
static int
check_count(json_object *sym, const char *filter, const char *key,
            const char *what, long open, int adding, char *why, size_t len)
{
    json_object *f = find_filter(sym, filter);
    struct dec lim;
    long max;

    if (f == NULL || open < 0 || adding <= 0)
        return 0;
    if (!member_dec(f, key, &lim) && !member_dec(f, "limit", &lim))
        return 0;
    if (lim.scale != 0 || lim.mant > (dec_u128)1000000000)
        return 0;
    max = (long)lim.mant;
    if (open <= max - adding) /* open + adding <= max, without overflow */
        return 0;
    if (adding > max)
        return refuse(why, len,
                      "%s: %s allows at most %ld open %s, fewer than the %d "
                      "this request adds.",
                      filter,
                      member_str(sym, "symbol") != NULL
                          ? member_str(sym, "symbol")
                          : "the symbol",
                      max, what, adding);
    return refuse(why, len,
                  "%s: %s allows at most %ld open %s; %ld are open and this "
                  "request adds %d, so cancel at least %ld first.",
                  filter,
                  member_str(sym, "symbol") != NULL ? member_str(sym, "symbol")
                                                    : "the symbol",
                  max, what, open, adding, (open - max) + adding);
}

/* See filters.h. */
int
filters_check_counts(json_object *sym, long open_orders, long open_algo_orders,
                     int adding_orders, int adding_algo, char *why, size_t len)
{
    if (len > 0)
        why[0] = '\0';
    if (check_count(sym, "MAX_NUM_ORDERS", "maxNumOrders", "orders",
                    open_orders, adding_orders, why, len) < 0 ||
        check_count(sym, "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders",
                    "stop-loss and take-profit orders", open_algo_orders,
                    adding_algo, why, len) < 0)
        return -1;
    return 0;
}

/* ---- explanations ---- */

/* The decimal at key, formatted into buf; NULL when absent, unreadable or
 * (when set_only) zero. */
static const char *
field_text(json_object *f, const char *key, int set_only, char buf[DEC_STR_MAX])
{
    struct dec d;

    if (!(set_only ? member_dec_set(f, key, &d) : member_dec(f, key, &d)))
        return NULL;
    return dec_str(&d, buf);
}

/* "Prices from A to B in steps of C." and its variants. */
static void
explain_range(json_object *f, const char *subject, const char *kmin,
              const char *kmax, const char *kstep, char *out, size_t len)
{
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], range[160];
    const char *min = field_text(f, kmin, 1, b1);
    const char *max = field_text(f, kmax, 1, b2);
    const char *step = field_text(f, kstep, 1, b3);

    if (min != NULL && max != NULL)
        snprintf(range, sizeof(range), " from %s to %s", min, max);
    else if (min != NULL)
        snprintf(range, sizeof(range), " of at least %s", min);
    else if (max != NULL)
        snprintf(range, sizeof(range), " of at most %s", max);
    else
        snprintf(range, sizeof(range), " of any size");
    if (step != NULL)
        snprintf(out, len, "%s%s in steps of %s.", subject, range, step);
    else
        snprintf(out, len, "%s%s, with any number of decimals.", subject,
                 range);
}

/* "the 5-minute average price" or "the last price". */
static void
avg_words(json_object *f, char *out, size_t len)
{
    struct dec m;

    if (member_dec(f, "avgPriceMins", &m) && dec_is_zero(&m))
        snprintf(out, len, "the last price");
    else if (member_dec(f, "avgPriceMins", &m)) {
        char b[DEC_STR_MAX];
        snprintf(out, len, "the %s-minute average price", dec_str(&m, b));
    } else
        snprintf(out, len, "the average price");
}

static void
explain_notional(json_object *f, int is_min_notional, const char *quote_sfx,
                 char *out, size_t len)
{
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], avg[64], range[160];
    const char *min = field_text(f, "minNotional", 1, b1);
    const char *max =
        is_min_notional ? NULL : field_text(f, "maxNotional", 1, b2);
    int amin = member_bool(
        f, is_min_notional ? "applyToMarket" : "applyMinToMarket", 0);
    int amax = !is_min_notional && member_bool(f, "applyMaxToMarket", 0);
    const char *market;

    avg_words(f, avg, sizeof(avg));
    if (min != NULL && max != NULL)
        snprintf(range, sizeof(range), "from %s to %s%s", min, max, quote_sfx);
    else if (min != NULL)
        snprintf(range, sizeof(range), "at least %s%s", min, quote_sfx);
    else if (max != NULL)
        snprintf(range, sizeof(range), "at most %s%s", max, quote_sfx);
    else
        snprintf(range, sizeof(range), "of any value");
    if (min == NULL)
        amin = 0;
    if (max == NULL)
        amax = 0;
    if (amin && amax)
        market = "MARKET orders too, valued at";
    else if (amin)
        market = max != NULL ? "MARKET orders only to the minimum, valued at"
                             : "MARKET orders too, valued at";
    else if (amax)
        market = "MARKET orders only to the maximum, valued at";
    else
        market = NULL;
    if (market != NULL)
        snprintf(out, len,
                 "Orders must be worth %s (price times quantity); this holds "
                 "%s %s.",
                 range, market, avg);
    else
        snprintf(out, len,
                 "Orders must be worth %s (price times quantity); MARKET "
                 "orders are not held to it.",
                 range);
}

static void
explain_trailing(json_object *f, char *out, size_t len)
{
    char a1[DEC_STR_MAX], a2[DEC_STR_MAX], b1[DEC_STR_MAX], b2[DEC_STR_MAX];
    const char *amin = field_text(f, "minTrailingAboveDelta", 0, a1);
    const char *amax = field_text(f, "maxTrailingAboveDelta", 0, a2);
    const char *bmin = field_text(f, "minTrailingBelowDelta", 0, b1);
    const char *bmax = field_text(f, "maxTrailingBelowDelta", 0, b2);

    snprintf(out, len,
             "trailingDelta (in BIPS, 100 = 1%%) from %s to %s for STOP_LOSS "
             "BUY and TAKE_PROFIT SELL orders, and from %s to %s for "
             "STOP_LOSS SELL and TAKE_PROFIT BUY orders (their _LIMIT types "
             "alike).",
             amin != NULL ? amin : "?", amax != NULL ? amax : "?",
             bmin != NULL ? bmin : "?", bmax != NULL ? bmax : "?");
}

/* "At most 200 open orders on this symbol." */
static void
explain_count(json_object *f, const char *key, const char *what, char *out,
              size_t len)
{
    char b[DEC_STR_MAX];
    const char *n = field_text(f, key, 0, b);

    if (n == NULL)
        n = field_text(f, "limit", 0, b);
    snprintf(out, len, "At most %s %s.", n != NULL ? n : "?", what);
}

/* One plain sentence about filter f into out. */
static void
explain_filter(json_object *f, const char *quote_sfx, char *out, size_t len)
{
    const char *type = member_str(f, "filterType");
    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], b4[DEC_STR_MAX],
        avg[64];

    if (type == NULL)
        type = "";
    if (strcmp(type, "PRICE_FILTER") == 0) {
        explain_range(f, "Prices", "minPrice", "maxPrice", "tickSize", out,
                      len);
    } else if (strcmp(type, "LOT_SIZE") == 0) {
        explain_range(f, "Quantities", "minQty", "maxQty", "stepSize", out,
                      len);
    } else if (strcmp(type, "MARKET_LOT_SIZE") == 0) {
        explain_range(f, "MARKET order quantities", "minQty", "maxQty",
                      "stepSize", out, len);
    } else if (strcmp(type, "MIN_NOTIONAL") == 0) {
        explain_notional(f, 1, quote_sfx, out, len);
    } else if (strcmp(type, "NOTIONAL") == 0) {
        explain_notional(f, 0, quote_sfx, out, len);
    } else if (strcmp(type, "PERCENT_PRICE") == 0) {
        avg_words(f, avg, sizeof(avg));
        snprintf(out, len, "Prices from %s to %s times %s.",
                 field_text(f, "multiplierDown", 0, b1) != NULL ? b1 : "?",
                 field_text(f, "multiplierUp", 0, b2) != NULL ? b2 : "?", avg);
    } else if (strcmp(type, "PERCENT_PRICE_BY_SIDE") == 0) {
        avg_words(f, avg, sizeof(avg));
        snprintf(out, len,
                 "BUY prices from %s to %s times and SELL prices from %s to "
                 "%s times %s.",
                 field_text(f, "bidMultiplierDown", 0, b1) != NULL ? b1 : "?",
                 field_text(f, "bidMultiplierUp", 0, b2) != NULL ? b2 : "?",
                 field_text(f, "askMultiplierDown", 0, b3) != NULL ? b3 : "?",
                 field_text(f, "askMultiplierUp", 0, b4) != NULL ? b4 : "?",
                 avg);
    } else if (strcmp(type, "ICEBERG_PARTS") == 0) {
        snprintf(out, len,
                 "An iceberg order may have at most %s parts (quantity "
                 "divided by icebergQty, rounded up).",
                 field_text(f, "limit", 0, b1) != NULL ? b1 : "?");
    } else if (strcmp(type, "TRAILING_DELTA") == 0) {
        explain_trailing(f, out, len);
    } else if (strcmp(type, "MAX_NUM_ORDERS") == 0) {
        explain_count(f, "maxNumOrders", "open orders on this symbol", out,
                      len);
    } else if (strcmp(type, "MAX_NUM_ALGO_ORDERS") == 0) {
        explain_count(f, "maxNumAlgoOrders",
                      "open stop-loss and take-profit orders on this symbol",
                      out, len);
    } else if (strcmp(type, "MAX_NUM_ICEBERG_ORDERS") == 0) {
        explain_count(f, "maxNumIcebergOrders",
                      "open iceberg orders on this symbol", out, len);
    } else if (strcmp(type, "MAX_NUM_ORDER_LISTS") == 0) {
        explain_count(f, "maxNumOrderLists",
                      "open order lists (OCO, OTO, OTOCO) on this symbol", out,
                      len);
    } else if (strcmp(type, "MAX_NUM_ORDER_AMENDS") == 0) {
        explain_count(f, "maxNumOrderAmends", "amendments of one order", out,
                      len);
    } else if (strcmp(type, "MAX_POSITION") == 0) {
        snprintf(out, len,
                 "A BUY is refused when the base asset held plus all open "
                 "BUY orders (and this one) would exceed %s.",
                 field_text(f, "maxPosition", 0, b1) != NULL ? b1 : "?");
    } else {
        snprintf(out, len,
                 "A %.60s filter, which binmcpd does not describe; Binance "
                 "applies it as its filter documentation says.",
                 type[0] != '\0' ? type : "nameless");
    }
}

/* Adds a deep copy of sym[key] to out when present. Returns 0 or -1. */
static int
copy_member(json_object *out, json_object *sym, const char *key)
{
    json_object *v = member(sym, key), *c = NULL;

    if (v == NULL)
        return 0;
    if (json_object_deep_copy(v, &c, NULL) != 0)
        return -1;
    if (json_object_object_add(out, key, c) != 0) {
        json_object_put(c);
        return -1;
    }
    return 0;
}

/* See filters.h. */
json_object *
filters_explain(json_object *sym)
{
    static const char *const keys[] = {
        "symbol",
        "status",
        "baseAsset",
        "baseAssetPrecision",
        "quoteAsset",
        "quoteAssetPrecision",
        "orderTypes",
        "icebergAllowed",
        "ocoAllowed",
        "otoAllowed",
        "opoAllowed",
        "quoteOrderQtyMarketAllowed",
        "allowTrailingStop",
        "cancelReplaceAllowed",
        "amendAllowed",
        "pegInstructionsAllowed",
        "isSpotTradingAllowed",
        "isMarginTradingAllowed",
        "permissions",
        "permissionSets",
        "defaultSelfTradePreventionMode",
        "allowedSelfTradePreventionModes",
    };
    json_object *out, *arr, *filters;
    const char *quote = member_str(sym, "quoteAsset");
    char quote_sfx[24] = "", text[512];
    size_t n;

    if (!json_object_is_type(sym, json_type_object) ||
        (out = json_object_new_object()) == NULL)
        return NULL;
    if (quote != NULL && strlen(quote) + 2 <= sizeof(quote_sfx))
        snprintf(quote_sfx, sizeof(quote_sfx), " %s", quote);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (copy_member(out, sym, keys[i]) < 0)
            goto fail;
    if ((filters = json_object_new_array()) == NULL)
        goto fail;
    if (json_object_object_add(out, "filters", filters) != 0) {
        json_object_put(filters);
        goto fail;
    }
    arr = member(sym, "filters");
    n = json_object_is_type(arr, json_type_array)
            ? json_object_array_length(arr)
            : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(arr, i), *c = NULL, *s;

        if (f != NULL && json_object_deep_copy(f, &c, NULL) != 0)
            goto fail;
        if (json_object_is_type(c, json_type_object)) {
            explain_filter(f, quote_sfx, text, sizeof(text));
            if ((s = json_object_new_string(text)) == NULL ||
                json_object_object_add(c, "explanation", s) != 0) {
                json_object_put(s);
                json_object_put(c);
                goto fail;
            }
        }
        if (json_object_array_add(filters, c) != 0) {
            json_object_put(c);
            goto fail;
        }
    }
    return out;
fail:
    json_object_put(out);
    return NULL;
}
