/*
 * tools_orders.c - order management: the rules every new order obeys, and
 * the tools built on them.
 *
 * One table (type_rules) says what each order type needs and forbids; one
 * reader (leg_read) turns the arguments of an order, or the prefixed
 * arguments of one leg of an order list, into a checked struct leg; one
 * writer (leg_params) turns that into Binance's parameters under the leg's
 * prefix. place_order (a plain order), cancel_replace_order (its new order)
 * and place_order_list (the legs of OCO, OTO and OTOCO lists) all go
 * through them, so each rule is written once and every refusal happens
 * before anything is sent.
 *
 * Every order-changing call is BNC_TRADE, so the trading guard (guard.h)
 * sees it before it is signed. New orders and lists always carry client
 * ids chosen here; nothing is retried; a request that may have been
 * executed unseen is reported as OUTCOME UNKNOWN with the read that tells
 * the truth. The order-related reads (order lists, commission rates, the
 * unfilled order count, prevented matches) are one struct tu_simple each.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "decimal.h"
#include "guard.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "tools_md.h"
#include "tools_schema.h"

#define READ_FLAGS    (TOOL_READ_ONLY | TOOL_OPEN_WORLD)
#define TRADE_FLAGS   (TOOL_DESTRUCTIVE | TOOL_OPEN_WORLD | TOOL_TRADING)
#define DAY_MS        (24LL * 60 * 60 * 1000)
#define CLIENT_ID_MAX 40
#define NAME_MAX_     48 /* an argument or parameter name */
#define LEGS_MAX      3

/* ---- field lists and schema pieces ---- */

/* clang-format off */


/* An order list; orderReports (answers to place and cancel) are shaped
 * separately, each report as an order. */
static const char *const list_fields[] = {
    "orderListId", "contingencyType", "listStatusType", "listOrderStatus",
    "listRejectReason", "listClientOrderId", "transactionTime", "symbol",
    "orders", NULL};

#define LIST_PROPS                                                           \
    TU_F("orderListId", TU_INT) "," TU_F("contingencyType", TU_STR) ","      \
    TU_F("listStatusType", TU_STR) "," TU_F("listOrderStatus", TU_STR) ","   \
    TU_F("listRejectReason", TU_STR) ","                                     \
    TU_F("listClientOrderId", TU_STR) ","                                    \
    TU_F("transactionTime", TU_INT) "," TU_F("symbol", TU_STR) ","           \
    TU_F("orders", TU_ARR(TU_OBJ(                                            \
        TU_F("symbol", TU_STR) "," TU_F("orderId", TU_INT) ","               \
        TU_F("clientOrderId", TU_STR))))

#define LIST_REPORT_PROPS                                                    \
    LIST_PROPS "," TU_F("orderReports", TU_ARR(TU_OBJ(TU_ORDER_PROPS)))


#define DEC_PATTERN "^[0-9]{1,20}([.][0-9]{1,20})?$"
#define CID_PATTERN "^[a-zA-Z0-9_-]{1,36}$"

#define IN_DEC(name, desc)                                                   \
    TU_F(name, "{\"type\":\"string\",\"pattern\":\"" DEC_PATTERN "\","       \
               "\"description\":\"" desc "\"}")
#define IN_CID(name, desc)                                                   \
    TU_F(name, "{\"type\":\"string\",\"pattern\":\"" CID_PATTERN "\","       \
               "\"description\":\"" desc "\"}")
#define IN_ID(name, desc)                                                    \
    TU_F(name, "{\"type\":\"integer\",\"minimum\":0,\"description\":\""      \
               desc "\"}")
#define IN_ENUM(name, values, desc)                                          \
    TU_F(name, "{\"type\":\"string\",\"enum\":[" values "],"                 \
               "\"description\":\"" desc "\"}")

#define SIDES     "\"BUY\",\"SELL\""
#define TIFS      "\"GTC\",\"IOC\",\"FOK\""
#define ALL_TYPES                                                            \
    "\"LIMIT\",\"MARKET\",\"STOP_LOSS\",\"STOP_LOSS_LIMIT\","                \
    "\"TAKE_PROFIT\",\"TAKE_PROFIT_LIMIT\",\"LIMIT_MAKER\""
#define OCO_TYPES                                                            \
    "\"STOP_LOSS\",\"STOP_LOSS_LIMIT\",\"LIMIT_MAKER\",\"TAKE_PROFIT\","     \
    "\"TAKE_PROFIT_LIMIT\""
#define STP_MODES                                                            \
    "\"NONE\",\"EXPIRE_TAKER\",\"EXPIRE_MAKER\",\"EXPIRE_BOTH\","            \
    "\"DECREMENT\",\"TRANSFER\""

#define IN_STP                                                               \
    IN_ENUM("self_trade_prevention_mode", STP_MODES,                         \
            "What happens when this order would trade against an order of "  \
            "your own account; must be one of the symbol's allowed modes "   \
            "(the symbol's default when left out).")

/* The arguments of one order, or of one leg under prefix p ("above_"). */
#define IN_ORDER_DETAILS(p, who)                                             \
    IN_DEC(p "price", "Limit price of " who " (LIMIT, LIMIT_MAKER, "        \
                      "STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT; not allowed for " \
                      "the others).") ","                                    \
    IN_DEC(p "stop_price", "Trigger price of " who " (STOP_LOSS, "           \
                           "STOP_LOSS_LIMIT, TAKE_PROFIT, "                  \
                           "TAKE_PROFIT_LIMIT): give it, " p                 \
                           "trailing_delta, or both.") ","                   \
    TU_F(p "trailing_delta",                                                 \
         "{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,"           \
         "\"description\":\"Trailing stop of " who " in basis points (100 "  \
         "= 1%), for the STOP_LOSS and TAKE_PROFIT types: triggers after "   \
         "the price moves this much against the best price since "           \
         "tracking began.\"}") ","                                           \
    IN_ENUM(p "time_in_force", TIFS,                                         \
            "Of " who ": good till cancelled (the default where it "         \
            "applies: LIMIT, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT), "          \
            "immediate or cancel, fill or kill. Not allowed for the other "  \
            "types.") ","                                                    \
    IN_DEC(p "iceberg_qty", "Visible part of " who " as an iceberg order "   \
                            "(LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT, "         \
                            "TAKE_PROFIT_LIMIT, with time_in_force GTC); "   \
                            "smaller than the quantity.") ","                \
    IN_CID(p "client_order_id", "Your id for " who " (1-36 of A-Z a-z 0-9 " \
                                "_ -); generated (binmcpd-...) when left "  \
                                "out.") ","                                  \
    TU_F(p "strategy_id", "{\"type\":\"integer\",\"minimum\":0,"             \
                          "\"description\":\"Your strategy id for " who     \
                          ", echoed in the order.\"}") ","                   \
    TU_F(p "strategy_type", "{\"type\":\"integer\",\"minimum\":1000000,"     \
                            "\"description\":\"Your strategy type for " who \
                            " (at least 1000000), echoed in the "           \
                            "order.\"}")

/* A plain new order: place_order, and cancel_replace_order's new order. */
#define IN_NEW_ORDER(who)                                                    \
    IN_ENUM("side", SIDES, "BUY or SELL.") ","                              \
    IN_ENUM("type", ALL_TYPES, "Order type of " who ". STOP_LOSS and "       \
                               "TAKE_PROFIT become MARKET orders when "      \
                               "triggered, the _LIMIT ones LIMIT orders; "   \
                               "LIMIT_MAKER is post-only.") ","              \
    IN_DEC("quantity", "Amount of the base asset, e.g. 0.001.") ","          \
    IN_DEC("quote_order_qty", "MARKET only: amount of the quote asset to "   \
                              "spend (BUY) or receive (SELL), instead of "   \
                              "quantity.") ","                               \
    IN_ORDER_DETAILS("", who) "," IN_STP

/* One leg of an order list, under prefix p: its type and details, with
 * short descriptions (the tool's description gives the rules; seven legs of
 * place_order's long texts would make a 14 kB schema). */
#define IN_LEG(p, types, who)                                                \
    IN_ENUM(p "type", types, "Order type of " who ".") ","                  \
    IN_DEC(p "price", "Limit price (LIMIT, LIMIT_MAKER, *_LIMIT).") ","     \
    IN_DEC(p "stop_price", "Trigger price (STOP_LOSS*, TAKE_PROFIT*): "     \
                           "this and/or " p "trailing_delta.") ","          \
    TU_F(p "trailing_delta",                                                 \
         "{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,"           \
         "\"description\":\"Trailing stop in basis points (STOP_LOSS*, "    \
         "TAKE_PROFIT*).\"}") ","                                            \
    IN_ENUM(p "time_in_force", TIFS, "LIMIT and *_LIMIT only; default "      \
                                     "GTC.") ","                             \
    IN_DEC(p "iceberg_qty", "Visible part of an iceberg order (needs "       \
                            "GTC; below the quantity).") ","                \
    IN_CID(p "client_order_id", "Your id for this leg; generated when "     \
                                "left out.") ","                             \
    TU_F(p "strategy_id", "{\"type\":\"integer\",\"minimum\":0,"             \
                          "\"description\":\"Your strategy id.\"}") ","      \
    TU_F(p "strategy_type", "{\"type\":\"integer\",\"minimum\":1000000,"     \
                            "\"description\":\"Your strategy type (at "     \
                            "least 1000000).\"}")

#define IN_ORDER_ID                                                          \
    IN_ID("order_id", "Binance's orderId of the order.")
#define IN_LIST_ID                                                           \
    IN_ID("order_list_id", "Binance's orderListId of the list.")
#define IN_LIST_CID                                                          \
    IN_CID("list_client_order_id", "The listClientOrderId the list was "     \
                                   "placed with.")
/* clang-format on */

/* ---- small helpers ---- */

/* "binmcpd-" and 16 random hex digits. Returns 0 or -1. */
static int
new_client_id(char *out, size_t len)
{
    unsigned char rnd[8];

    if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) != 0)
        return -1;
    snprintf(out, len, "binmcpd-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    return 0;
}

/* The symbol argument, upper-cased into out. Returns 0 or -1 after
 * tool_fail. */
static int
read_symbol(json_object *args, char *out, size_t len, struct tool_result *res)
{
    if (tu_symbol_norm(tu_arg_str(args, "symbol"), out, len) < 0)
        return tool_fail(res, "symbol must be a trading pair such as "
                              "BTCUSDT.");
    return 0;
}

/* Adds the environment the call went to. */
static void
add_env(json_object *out, enum bnc_env env)
{
    json_object_object_add(out, "environment",
                           json_object_new_string(creds_env_name(env)));
}

/* A new object holding the list fields of body and its orderReports, each
 * cut to tu_order_fields; NULL when body is not an object. */
static json_object *
shape_list(json_object *body)
{
    json_object *out = tu_pick(body, list_fields), *reports, *arr;

    if (out == NULL)
        return NULL;
    if (json_object_object_get_ex(body, "orderReports", &reports) &&
        json_object_is_type(reports, json_type_array)) {
        size_t n = json_object_array_length(reports);
        arr = json_object_new_array_ext((int)n);
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_object *o =
                tu_pick(json_object_array_get_idx(reports, i), tu_order_fields);
            if (o != NULL)
                json_object_array_add(arr, o);
        }
        if (arr != NULL)
            json_object_object_add(out, "orderReports", arr);
    }
    return out;
}

/* A get_* call's arguments: {"symbol": symbol} when symbol is not NULL,
 * plus key = string value (when key is not NULL). NULL when out of
 * memory. */
static json_object *
lookup_new(const char *symbol, const char *key, const char *value)
{
    json_object *l = json_object_new_object();

    if (l == NULL)
        return NULL;
    if (symbol != NULL)
        json_object_object_add(l, "symbol", json_object_new_string(symbol));
    if (key != NULL)
        json_object_object_add(l, key, json_object_new_string(value));
    return l;
}

/* Fails res for a trading call that did not succeed: Binance's reason, or,
 * when the request may have been executed, the OUTCOME UNKNOWN sentence
 * naming tool (a get_* tool) with lookup (taken; may be NULL when memory
 * ran out) as the call that tells the truth, and hint (may be NULL).
 * tu_fail_unknown names get_order; other tools get the same sentence here.
 * Returns -1. */
static int
fail_trade(struct tool_result *res, struct tu_call *tc, const char *what,
           const char *tool, json_object *lookup, const char *hint)
{
    char why[512];
    int rc;

    if (!tu_outcome_unknown(tc->resp.status) || lookup == NULL) {
        rc = tool_fail(res, "%s", tc->err);
    } else if (strcmp(tool, "get_order") == 0) {
        rc = tu_fail_unknown(res, what, lookup, hint, &tc->resp);
    } else {
        bnc_describe_error(&tc->resp, why, sizeof(why));
        rc = tool_fail(
            res,
            "OUTCOME UNKNOWN: the %s may or may not have been executed by "
            "Binance. %s It was NOT retried, because repeating a trading "
            "request could execute it twice. Before doing anything else, "
            "call %s with %s to learn the real status.%s%s%s%s",
            what, why, tool,
            json_object_to_json_string_ext(lookup,
                                           JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE),
            hint != NULL ? " " : "", hint != NULL ? hint : "",
            tc->resp.verdict[0] != '\0' ? " " : "", tc->resp.verdict);
    }
    json_object_put(lookup);
    return rc;
}

/* ---- the order rules ---- */

enum { FORBIDDEN = -1, OPTIONAL = 0, REQUIRED = 1 };

/* What each order type needs. trigger: stop_price and/or trailing_delta.
 * tif REQUIRED means "defaults to GTC when left out". */
struct type_rule {
    const char *type;
    signed char price, trigger, tif;
    unsigned char quote_qty; /* quote_order_qty instead of quantity */
    unsigned char iceberg;   /* iceberg_qty allowed */
};

/* clang-format off */
static const struct type_rule type_rules[] = {
    {"LIMIT",             REQUIRED,  FORBIDDEN, REQUIRED,  0, 1},
    {"MARKET",            FORBIDDEN, FORBIDDEN, FORBIDDEN, 1, 0},
    {"STOP_LOSS",         FORBIDDEN, REQUIRED,  FORBIDDEN, 0, 0},
    {"STOP_LOSS_LIMIT",   REQUIRED,  REQUIRED,  REQUIRED,  0, 1},
    {"TAKE_PROFIT",       FORBIDDEN, REQUIRED,  FORBIDDEN, 0, 0},
    {"TAKE_PROFIT_LIMIT", REQUIRED,  REQUIRED,  REQUIRED,  0, 1},
    {"LIMIT_MAKER",       REQUIRED,  FORBIDDEN, FORBIDDEN, 0, 1},
};

static const char *const all_types[] = {
    "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT", "LIMIT_MAKER", NULL};
/* The legs of an OCO pair (Binance's aboveType/belowType values). */
static const char *const oco_types[] = {
    "STOP_LOSS", "STOP_LOSS_LIMIT", "LIMIT_MAKER", "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT", NULL};
static const char *const working_types[] = {"LIMIT", "LIMIT_MAKER", NULL};
/* clang-format on */

/* Where one order's arguments are and where its parameters go. */
struct leg_spec {
    const char *arg;          /* argument prefix: "", "above_", ... */
    const char *param;        /* Binance prefix: "", "above", ... */
    const char *name;         /* "above", "pending above"; NULL: a plain
                                 order (place_order, cancel_replace_order) */
    const char *suffix;       /* of its generated client id: "-a" */
    const char *const *types; /* the types it may have */
    const char *side_arg;     /* the arguments giving its side and */
    const char *qty_arg;      /* quantity (shared by an OCO pair) */
    int own_side_qty;         /* side and quantity sent under its prefix */
};

/* One order, read and checked. Strings are borrowed from the arguments. */
struct leg {
    const struct leg_spec *spec;
    const struct type_rule *rule;
    const char *type, *side, *tif, *quantity, *quote_qty, *price, *stop;
    const char *iceberg;
    int64_t trailing, strategy_id, strategy_type;
    int has_trailing, has_strategy_id, has_strategy_type;
    char client_id[CLIENT_ID_MAX];
    char subject[96]; /* "A LIMIT order", "The above leg (STOP_LOSS)" */
};

static const struct leg_spec plain_order = {.arg = "",
                                            .param = "",
                                            .name = NULL,
                                            .suffix = "",
                                            .types = all_types,
                                            .side_arg = "side",
                                            .qty_arg = "quantity",
                                            .own_side_qty = 1};

/* The argument name of field for spec s ("above_" "price"). */
static const char *
arg_name(char *buf, const struct leg_spec *s, const char *field)
{
    snprintf(buf, NAME_MAX_, "%s%s", s->arg, field);
    return buf;
}

/* Checks one argument against a rule value. Returns 0 or -1. */
static int
check_presence(const struct leg *l, int rule, const char *value,
               const char *arg, struct tool_result *res)
{
    if (rule == REQUIRED && value == NULL)
        return tool_fail(res, "%s needs %s.", l->subject, arg);
    if (rule == FORBIDDEN && value != NULL)
        return tool_fail(res, "%s takes no %s; leave it out.", l->subject, arg);
    if (value != NULL && dec_text_is_zero(value))
        return tool_fail(res, "%s must be greater than zero.", arg);
    return 0;
}

/* Applies the rules of the leg's type. Returns 0 or -1 after tool_fail. */
static int
leg_check(struct leg *l, struct tool_result *res)
{
    const struct type_rule *r = l->rule;
    const struct leg_spec *s = l->spec;
    char a[NAME_MAX_], b[NAME_MAX_];

    if (l->quantity != NULL && l->quote_qty != NULL)
        return tool_fail(res, "Give either quantity or quote_order_qty, not "
                              "both.");
    if (l->quantity == NULL && l->quote_qty == NULL)
        return tool_fail(res, "%s needs %s (in the base asset)%s.", l->subject,
                         s->qty_arg,
                         r->quote_qty && s->name == NULL
                             ? ", or quote_order_qty (in the quote asset)"
                             : "");
    if (l->quote_qty != NULL && !r->quote_qty)
        return tool_fail(res,
                         "quote_order_qty is only for MARKET orders; give "
                         "quantity for a %s order.",
                         l->type);
    if (check_presence(l, OPTIONAL, l->quantity, s->qty_arg, res) < 0 ||
        check_presence(l, OPTIONAL, l->quote_qty, "quote_order_qty", res) < 0 ||
        check_presence(l, r->price, l->price, arg_name(a, s, "price"), res) <
            0 ||
        check_presence(l, OPTIONAL, l->stop, arg_name(a, s, "stop_price"),
                       res) < 0)
        return -1;
    arg_name(a, s, "stop_price");
    arg_name(b, s, "trailing_delta");
    if (r->trigger == REQUIRED && l->stop == NULL && !l->has_trailing)
        return tool_fail(res, "%s needs %s or %s (or both).", l->subject, a, b);
    if (r->trigger == FORBIDDEN && (l->stop != NULL || l->has_trailing))
        return tool_fail(res, "%s takes no %s; leave it out.", l->subject,
                         l->stop != NULL ? a : b);
    arg_name(a, s, "time_in_force");
    if (r->tif == FORBIDDEN && l->tif != NULL)
        return tool_fail(res, "%s takes no %s; leave it out.", l->subject, a);
    if (r->tif == REQUIRED && l->tif == NULL)
        l->tif = "GTC";
    if (l->iceberg == NULL)
        return 0;
    arg_name(b, s, "iceberg_qty");
    if (!r->iceberg)
        return tool_fail(res,
                         "%s takes no %s: only LIMIT, LIMIT_MAKER, "
                         "STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders can be "
                         "iceberg orders.",
                         l->subject, b);
    if (dec_text_is_zero(l->iceberg))
        return tool_fail(res, "%s must be greater than zero.", b);
    if (l->tif != NULL && strcmp(l->tif, "GTC") != 0)
        return tool_fail(res,
                         "An iceberg order needs %s GTC; %s has %s. Leave %s "
                         "out or give GTC.",
                         a, l->subject, l->tif, a);
    if (l->quantity != NULL && dec_text_cmp(l->iceberg, l->quantity) >= 0)
        return tool_fail(res,
                         "%s (%s) must be smaller than %s (%s): it is the "
                         "part of the order the book shows.",
                         b, l->iceberg, s->qty_arg, l->quantity);
    return 0;
}

/* Reads the order of spec s from args into *l and checks it. Returns 0 or
 * -1 after tool_fail. */
static int
leg_read(json_object *args, const struct leg_spec *s, struct leg *l,
         struct tool_result *res)
{
    char a[NAME_MAX_], types[160] = "";
    const char *cid;

    memset(l, 0, sizeof(*l));
    l->spec = s;
    l->type = tu_arg_str(args, arg_name(a, s, "type"));
    l->side = tu_arg_str(args, s->side_arg);
    l->quantity = tu_arg_str(args, s->qty_arg);
    l->quote_qty = s->name == NULL ? tu_arg_str(args, "quote_order_qty") : NULL;
    l->price = tu_arg_str(args, arg_name(a, s, "price"));
    l->stop = tu_arg_str(args, arg_name(a, s, "stop_price"));
    l->tif = tu_arg_str(args, arg_name(a, s, "time_in_force"));
    l->iceberg = tu_arg_str(args, arg_name(a, s, "iceberg_qty"));
    l->has_trailing =
        tu_arg_int(args, arg_name(a, s, "trailing_delta"), &l->trailing);
    l->has_strategy_id =
        tu_arg_int(args, arg_name(a, s, "strategy_id"), &l->strategy_id);
    l->has_strategy_type =
        tu_arg_int(args, arg_name(a, s, "strategy_type"), &l->strategy_type);
    if ((cid = tu_arg_str(args, arg_name(a, s, "client_order_id"))) != NULL)
        snprintf(l->client_id, sizeof(l->client_id), "%s", cid);
    for (size_t i = 0; s->types[i] != NULL; i++) {
        size_t used = strlen(types);
        snprintf(types + used, sizeof(types) - used, "%s%s", i > 0 ? ", " : "",
                 s->types[i]);
        if (l->type != NULL && strcmp(l->type, s->types[i]) == 0)
            for (size_t j = 0; j < sizeof(type_rules) / sizeof(type_rules[0]);
                 j++)
                if (strcmp(type_rules[j].type, l->type) == 0)
                    l->rule = &type_rules[j];
    }
    if (l->rule == NULL)
        return tool_fail(res, "%s is required: one of %s.",
                         arg_name(a, s, "type"), types);
    if (l->side == NULL)
        return tool_fail(res, "%s (BUY or SELL) is required.", s->side_arg);
    if (s->name == NULL)
        snprintf(l->subject, sizeof(l->subject), "A %s order", l->type);
    else
        snprintf(l->subject, sizeof(l->subject), "The %s leg (%s)", s->name,
                 l->type);
    return leg_check(l, res);
}

/* Adds value under the leg's name of a field: Binance's prefix + leg_field
 * ("aboveStopPrice"), or plain_field for a plain order ("stopPrice"). Also
 * to echo (may be NULL). Nothing when value is NULL. */
static void
put_str(const struct leg_spec *s, const char *leg_field,
        const char *plain_field, const char *value, struct bnc_params *p,
        json_object *echo)
{
    char name[NAME_MAX_];

    if (value == NULL)
        return;
    if (s->param[0] != '\0')
        snprintf(name, sizeof(name), "%s%s", s->param, leg_field);
    else
        snprintf(name, sizeof(name), "%s", plain_field);
    bnc_params_add(p, name, value);
    if (echo != NULL)
        json_object_object_add(echo, name, json_object_new_string(value));
}

/* put_str for an integer that is present when has is set. */
static void
put_int(const struct leg_spec *s, const char *leg_field,
        const char *plain_field, int has, int64_t v, struct bnc_params *p,
        json_object *echo)
{
    char text[24];

    if (!has)
        return;
    snprintf(text, sizeof(text), "%lld", (long long)v);
    put_str(s, leg_field, plain_field, text, p, echo);
}

/* Adds the leg's parameters to p (and echo, may be NULL). */
static void
leg_params(const struct leg *l, struct bnc_params *p, json_object *echo)
{
    const struct leg_spec *s = l->spec;

    if (s->own_side_qty)
        put_str(s, "Side", "side", l->side, p, echo);
    put_str(s, "Type", "type", l->type, p, echo);
    put_str(s, "TimeInForce", "timeInForce", l->tif, p, echo);
    if (s->own_side_qty)
        put_str(s, "Quantity", "quantity", l->quantity, p, echo);
    put_str(s, "QuoteOrderQty", "quoteOrderQty", l->quote_qty, p, echo);
    put_str(s, "Price", "price", l->price, p, echo);
    put_str(s, "StopPrice", "stopPrice", l->stop, p, echo);
    put_int(s, "TrailingDelta", "trailingDelta", l->has_trailing, l->trailing,
            p, echo);
    put_str(s, "IcebergQty", "icebergQty", l->iceberg, p, echo);
    put_int(s, "StrategyId", "strategyId", l->has_strategy_id, l->strategy_id,
            p, echo);
    put_int(s, "StrategyType", "strategyType", l->has_strategy_type,
            l->strategy_type, p, echo);
    put_str(s, "ClientOrderId", "newClientOrderId", l->client_id, p, echo);
}

/* ---- place_order ---- */

/* A plain new order: place_order's request, cancel_replace_order's new
 * order. */
struct plain {
    char symbol[TU_SYMBOL_MAX];
    struct leg leg;
    const char *stp;
    int test;
};

/* Reads and checks a plain order; generates its client id when none was
 * given. Returns 0 or -1 after tool_fail. */
static int
plain_read(json_object *args, struct plain *o, struct tool_result *res)
{
    memset(o, 0, sizeof(*o));
    if (read_symbol(args, o->symbol, sizeof(o->symbol), res) < 0 ||
        leg_read(args, &plain_order, &o->leg, res) < 0)
        return -1;
    o->stp = tu_arg_str(args, "self_trade_prevention_mode");
    o->test = tu_arg_bool(args, "test", 0);
    if (o->leg.client_id[0] == '\0' &&
        new_client_id(o->leg.client_id, sizeof(o->leg.client_id)) < 0)
        return tool_fail(res, "Could not generate a client order id (no "
                              "randomness available); nothing was sent.");
    return 0;
}

/* The order's own parameters after symbol (and echo, may be NULL). */
static void
plain_params(const struct plain *o, struct bnc_params *p, json_object *echo)
{
    leg_params(&o->leg, p, echo);
    put_str(&plain_order, NULL, "newOrderRespType", "FULL", p, echo);
    put_str(&plain_order, NULL, "selfTradePreventionMode", o->stp, p, echo);
}

/* The answer for an order Binance placed or validated. Takes echo. */
static json_object *
order_result(const struct plain *o, json_object *body, json_object *echo,
             enum bnc_env env)
{
    json_object *out;

    if (o->test) {
        out = json_object_new_object();
        if (out == NULL) {
            json_object_put(echo);
            return NULL;
        }
        json_object_object_add(out, "test", json_object_new_boolean(1));
        json_object_object_add(out, "validated", json_object_new_boolean(1));
        json_object_object_add(out, "clientOrderId",
                               json_object_new_string(o->leg.client_id));
        json_object_object_add(out, "request", echo);
        json_object_object_add(
            out, "message",
            json_object_new_string("Binance accepted these parameters. "
                                   "Nothing was placed; call place_order "
                                   "again without test to place it."));
    } else {
        json_object_put(echo);
        out = tu_pick(body, tu_order_fields);
        if (out == NULL)
            return NULL;
        json_object_object_add(out, "test", json_object_new_boolean(0));
    }
    add_env(out, env);
    return out;
}

/* Fails res for a placement that did not succeed. Returns -1. */
static int
fail_order(const struct plain *o, struct tu_call *tc, struct tool_result *res)
{
    char what[96];

    if (o->test)
        return tool_fail(res,
                         "Test order %s (nothing is ever placed in test "
                         "mode): %s",
                         tc->resp.status == BNC_ERR_API ? "rejected"
                                                        : "not validated",
                         tc->err);
    snprintf(what, sizeof(what), "new order with clientOrderId %s",
             o->leg.client_id);
    return fail_trade(
        res, tc, what, "get_order",
        lookup_new(o->symbol, "client_order_id", o->leg.client_id),
        "If get_order reports that the order does not exist "
        "(-2013), it was not placed.");
}

static int
place_order(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct plain o;
    struct tu_call tc;
    json_object *echo, *body;
    int rc;

    if (plain_read(args, &o, res) < 0)
        return -1;
    tu_call_init(&tc, "POST", o.test ? "/api/v3/order/test" : "/api/v3/order",
                 o.test ? BNC_READ : BNC_TRADE);
    echo = json_object_new_object();
    if (echo == NULL)
        return tool_fail(res, "out of memory; nothing was sent.");
    bnc_params_add(&tc.params, "symbol", o.symbol);
    json_object_object_add(echo, "symbol", json_object_new_string(o.symbol));
    plain_params(&o, &tc.params, echo);
    if (tc.params.overflow) {
        json_object_put(echo);
        return tool_fail(res, "The order's parameters are too long; nothing "
                              "was sent.");
    }
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        json_object_put(echo);
        rc = fail_order(&o, &tc, res);
    } else {
        res->data = order_result(&o, body, echo, tc.env);
        rc = res->data != NULL ? 0
                               : tool_fail(res,
                                           "Binance accepted the order "
                                           "(clientOrderId %s) but its "
                                           "answer was unreadable; call "
                                           "get_order to see it.",
                                           o.leg.client_id);
    }
    tu_call_done(&tc);
    return rc;
}

/* ---- place_order_list ---- */

/* One kind of order list: its endpoint and legs. The legs of the OCO pair
 * (pair, pair + 1: above, below) share a side and a quantity, sent once as
 * side_param / qty_param just before them. */
struct list_spec {
    const char *list_type;
    const char *path;
    const struct leg_spec *legs;
    size_t nlegs;
    int pair;               /* index of the above leg, or -1 */
    const char *side_param; /* the pair's shared side and */
    const char *qty_param;  /* quantity, in Binance's names */
    const char *takes;      /* which arguments it takes, for errors */
    const char *note;       /* shown with the placed list, or NULL */
};

/* clang-format off */
static const struct leg_spec oco_legs[] = {
    {"above_", "above", "above", "-a", oco_types, "side", "quantity", 0},
    {"below_", "below", "below", "-b", oco_types, "side", "quantity", 0},
};

static const struct leg_spec oto_legs[] = {
    {"working_", "working", "working", "-w", working_types, "working_side",
     "working_quantity", 1},
    {"pending_", "pending", "pending", "-p", all_types, "pending_side",
     "pending_quantity", 1},
};

static const struct leg_spec otoco_legs[] = {
    {"working_", "working", "working", "-w", working_types, "working_side",
     "working_quantity", 1},
    {"pending_above_", "pendingAbove", "pending above", "-pa", oco_types,
     "pending_side", "pending_quantity", 0},
    {"pending_below_", "pendingBelow", "pending below", "-pb", oco_types,
     "pending_side", "pending_quantity", 0},
};

static const struct list_spec list_specs[] = {
    {"OCO", "/api/v3/orderList/oco", oco_legs, 2, 0, "side", "quantity",
     "An OCO list takes side, quantity, above_* and below_*.",
     "When one leg fills or triggers, Binance cancels the other."},
    {"OTO", "/api/v3/orderList/oto", oto_legs, 2, -1, NULL, NULL,
     "An OTO list takes working_* and pending_*.",
     "The pending order goes on the book only once the working order is "
     "fully filled; until then it shows PENDING_NEW."},
    {"OTOCO", "/api/v3/orderList/otoco", otoco_legs, 3, 1, "pendingSide",
     "pendingQuantity",
     "An OTOCO list takes working_*, pending_side, pending_quantity, "
     "pending_above_* and pending_below_*.",
     "The pending OCO pair goes on the book only once the working order is "
     "fully filled; until then its legs show PENDING_NEW."},
};

static const char *const list_common_args[] = {
    "symbol", "list_type", "list_client_order_id",
    "self_trade_prevention_mode", "confirmation_token", NULL};
static const char *const leg_fields[] = {
    "type", "price", "stop_price", "trailing_delta", "time_in_force",
    "iceberg_qty", "client_order_id", "strategy_id", "strategy_type", NULL};
/* clang-format on */

/* Whether argument key belongs to lists of kind ls. */
static int
list_arg_known(const struct list_spec *ls, const char *key)
{
    char a[NAME_MAX_];

    for (size_t i = 0; list_common_args[i] != NULL; i++)
        if (strcmp(key, list_common_args[i]) == 0)
            return 1;
    for (size_t i = 0; i < ls->nlegs; i++) {
        const struct leg_spec *s = &ls->legs[i];
        if (strcmp(key, s->side_arg) == 0 || strcmp(key, s->qty_arg) == 0)
            return 1;
        for (size_t j = 0; leg_fields[j] != NULL; j++)
            if (strcmp(key, arg_name(a, s, leg_fields[j])) == 0)
                return 1;
    }
    return 0;
}

static int
is_stop_loss(const char *type)
{
    return strncmp(type, "STOP_LOSS", 9) == 0;
}

/* The price that places a leg of an OCO pair: the stop price of STOP_LOSS,
 * STOP_LOSS_LIMIT and TAKE_PROFIT, the limit price of LIMIT_MAKER and
 * TAKE_PROFIT_LIMIT (as Binance's price rules use them); NULL when not
 * given. name gets its argument's name. */
static const char *
leg_level(const struct leg *l, char *name)
{
    int by_stop = is_stop_loss(l->type) || strcmp(l->type, "TAKE_PROFIT") == 0;

    arg_name(name, l->spec, by_stop ? "stop_price" : "price");
    return by_stop ? l->stop : l->price;
}

/* The rules of an OCO pair: which leg is the stop-loss one for the side,
 * and the above leg above the below leg. Returns 0 or -1. */
static int
oco_pair_check(const struct leg *above, const struct leg *below,
               struct tool_result *res)
{
    int sell = strcmp(above->side, "SELL") == 0;
    const struct leg *sl = sell ? below : above, *tp = sell ? above : below;
    char a[NAME_MAX_], b[NAME_MAX_];
    const char *la, *lb;

    if (!is_stop_loss(sl->type) || is_stop_loss(tp->type))
        return tool_fail(res,
                         "In a %s OCO pair the %s leg is the stop-loss one "
                         "(%stype STOP_LOSS or STOP_LOSS_LIMIT) and the %s "
                         "leg the take-profit or limit one (%stype "
                         "LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT); got "
                         "%stype %s and %stype %s.",
                         above->side, sl->spec->name, sl->spec->arg,
                         tp->spec->name, tp->spec->arg, above->spec->arg,
                         above->type, below->spec->arg, below->type);
    la = leg_level(above, a);
    lb = leg_level(below, b);
    if (la != NULL && lb != NULL && dec_text_cmp(la, lb) <= 0)
        return tool_fail(res,
                         "The above leg must sit above the below leg (and "
                         "the last price between them): %s (%s) must be "
                         "higher than %s (%s).",
                         a, la, b, lb);
    return 0;
}

/* A checked list request. */
struct list_req {
    const struct list_spec *ls;
    char symbol[TU_SYMBOL_MAX];
    char list_id[CLIENT_ID_MAX];
    struct leg legs[LEGS_MAX];
    const char *stp;
};

/* Reads and checks a list request, and gives the list and every leg a
 * client id. Returns 0 or -1 after tool_fail. */
static int
list_read(json_object *args, struct list_req *q, struct tool_result *res)
{
    const char *type = tu_arg_str(args, "list_type"), *lid;
    const struct list_spec *ls = NULL;
    char base[CLIENT_ID_MAX];

    memset(q, 0, sizeof(*q));
    for (size_t i = 0;
         type != NULL && i < sizeof(list_specs) / sizeof(list_specs[0]); i++)
        if (strcmp(list_specs[i].list_type, type) == 0)
            ls = &list_specs[i];
    if (ls == NULL)
        return tool_fail(res, "list_type (OCO, OTO or OTOCO) is required.");
    q->ls = ls;
    if (read_symbol(args, q->symbol, sizeof(q->symbol), res) < 0)
        return -1;
    json_object_object_foreach(args, key, val)
    {
        (void)val;
        if (!list_arg_known(ls, key))
            return tool_fail(res,
                             "%s does not belong to an %s list; leave it "
                             "out. %s",
                             key, ls->list_type, ls->takes);
    }
    for (size_t i = 0; i < ls->nlegs; i++)
        if (leg_read(args, &ls->legs[i], &q->legs[i], res) < 0)
            return -1;
    if (ls->pair >= 0 &&
        oco_pair_check(&q->legs[ls->pair], &q->legs[ls->pair + 1], res) < 0)
        return -1;
    q->stp = tu_arg_str(args, "self_trade_prevention_mode");
    if (new_client_id(base, sizeof(base)) < 0)
        return tool_fail(res, "Could not generate client order ids (no "
                              "randomness available); nothing was sent.");
    lid = tu_arg_str(args, "list_client_order_id");
    snprintf(q->list_id, sizeof(q->list_id), "%s", lid != NULL ? lid : base);
    for (size_t i = 0; i < ls->nlegs; i++)
        if (q->legs[i].client_id[0] == '\0')
            snprintf(q->legs[i].client_id, sizeof(q->legs[i].client_id), "%s%s",
                     base, ls->legs[i].suffix);
    return 0;
}

/* The list's parameters, in the order of Binance's documentation. */
static void
list_params(const struct list_req *q, struct bnc_params *p)
{
    const struct list_spec *ls = q->ls;

    bnc_params_add(p, "symbol", q->symbol);
    bnc_params_add(p, "listClientOrderId", q->list_id);
    for (size_t i = 0; i < ls->nlegs; i++) {
        if ((int)i == ls->pair) {
            bnc_params_add(p, ls->side_param, q->legs[i].side);
            bnc_params_add(p, ls->qty_param, q->legs[i].quantity);
        }
        leg_params(&q->legs[i], p, NULL);
    }
    bnc_params_add(p, "newOrderRespType", "FULL");
    if (q->stp != NULL)
        bnc_params_add(p, "selfTradePreventionMode", q->stp);
}

static int
place_order_list(struct mcp_call *call, json_object *args,
                 struct tool_result *res)
{
    struct list_req q;
    struct tu_call tc;
    json_object *body, *out;
    char what[128], hint[256];
    int rc;

    if (list_read(args, &q, res) < 0)
        return -1;
    tu_call_init(&tc, "POST", q.ls->path, BNC_TRADE);
    list_params(&q, &tc.params);
    if (tc.params.overflow)
        return tool_fail(res, "The list's parameters are too long; nothing "
                              "was sent.");
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        snprintf(what, sizeof(what), "new %s list with listClientOrderId %s",
                 q.ls->list_type, q.list_id);
        snprintf(hint, sizeof(hint),
                 "get_order_list with {\"list_client_order_id\":\"%s\"} "
                 "shows the whole list. If get_order reports that the order "
                 "does not exist (-2013), the list was not placed.",
                 q.list_id);
        rc = fail_trade(
            res, &tc, what, "get_order",
            lookup_new(q.symbol, "client_order_id", q.legs[0].client_id), hint);
    } else if ((out = shape_list(body)) == NULL) {
        rc = tool_fail(res,
                       "Binance accepted the list (listClientOrderId %s) but "
                       "its answer was unreadable; call get_order_list to "
                       "see it.",
                       q.list_id);
    } else {
        add_env(out, tc.env);
        json_object_object_add(out, "message",
                               json_object_new_string(q.ls->note));
        res->data = out;
        rc = 0;
    }
    tu_call_done(&tc);
    return rc;
}

/* ---- preview_order, preview_order_list ---- */

/* A JSON number for an estimate, printed with 10 significant digits
 * (12500.004, not 12500.003999999999). */
static json_object *
estimate_number(double v)
{
    char text[40];
    snprintf(text, sizeof(text), "%.10g", v);
    return json_object_new_double_s(v, text);
}

/* The first level's price and the average price of taking qty from one side
 * of the book ([[price, qty], ...]); 0, or -1 when the book is too thin. */
static int
book_take(json_object *levels, double qty, double *best, double *avg)
{
    double left = qty, value = 0;
    size_t n = json_object_is_type(levels, json_type_array)
                   ? json_object_array_length(levels)
                   : 0;

    *best = *avg = 0;
    for (size_t i = 0; i < n && left > 1e-15; i++) {
        json_object *lv = json_object_array_get_idx(levels, i);
        double px =
            atof(json_object_get_string(json_object_array_get_idx(lv, 0)));
        double q =
            atof(json_object_get_string(json_object_array_get_idx(lv, 1)));
        double take = q < left ? q : left;
        if (i == 0)
            *best = px;
        value += take * px;
        left -= take;
    }
    if (n == 0 || left > qty * 1e-12)
        return -1;
    *avg = value / qty;
    return 0;
}

/* Adds to out what taking liquidity would cost on today's book: the best
 * opposite price, whether a limit order would cross it, the average fill
 * price and the slippage of a market order by quantity. */
static void
preview_fill(struct mcp_call *call, const struct plain *o, json_object *out)
{
    struct tu_call tc;
    json_object *body, *levels = NULL;
    int buy = strcmp(o->leg.side, "BUY") == 0;
    double qty = o->leg.quantity != NULL ? atof(o->leg.quantity) : 0;
    double price = o->leg.price != NULL ? atof(o->leg.price) : 0;
    double best, avg;

    tu_call_init(&tc, "GET", "/api/v3/depth", BNC_PUBLIC);
    bnc_params_add(&tc.params, "symbol", o->symbol);
    bnc_params_add(&tc.params, "limit", "1000");
    body = tu_call_run(call, &tc);
    json_object_object_get_ex(body, buy ? "asks" : "bids", &levels);
    if (body != NULL &&
        book_take(levels, qty > 0 ? qty : 1e-12, &best, &avg) == 0) {
        int takes = price <= 0 || (buy ? price >= best : price <= best);
        json_object_object_add(out, "bestOppositePrice", estimate_number(best));
        json_object_object_add(out, "takesLiquidity",
                               json_object_new_boolean(takes));
        if (price <= 0 && qty > 0) {
            json_object_object_add(out, "estimatedAveragePrice",
                                   estimate_number(avg));
            json_object_object_add(
                out, "slippagePercent",
                estimate_number(100.0 * (buy ? avg - best : best - avg) /
                                best));
        }
    }
    tu_call_done(&tc);
}

/* Adds the fee the order would pay at the account's commission rates. */
static void
preview_fee(struct mcp_call *call, const char *symbol, json_object *out)
{
    struct tu_call tc;
    json_object *body, *notional, *takes;
    const char *rate;

    if (!json_object_object_get_ex(out, "notional", &notional))
        return;
    tu_call_init(&tc, "GET", "/api/v3/account/commission", BNC_READ);
    bnc_params_add(&tc.params, "symbol", symbol);
    body = tu_call_run(call, &tc);
    int taker = !json_object_object_get_ex(out, "takesLiquidity", &takes) ||
                json_object_get_boolean(takes);
    json_object *std = NULL;
    json_object_object_get_ex(body, "standardCommission", &std);
    rate = tu_jstr(std, taker ? "taker" : "maker");
    if (body != NULL && strcmp(rate, "n/a") != 0) {
        json_object_object_add(out, "feeRate", json_object_new_string(rate));
        json_object_object_add(
            out, "estimatedFee",
            estimate_number(json_object_get_double(notional) * atof(rate)));
    }
    tu_call_done(&tc);
}

/* Asks the guard what it would do with method path params (the request
 * the placing tool would send), then adds the fill and fee estimates when
 * one order is given (o may be NULL for a list). Sends no order. */
static int
preview_request(struct mcp_call *call, const char *path,
                const struct bnc_params *params, const char *symbol,
                const struct plain *o, struct tool_result *res)
{
    struct creds buf;
    const struct creds *cr;
    struct bnc_request req = {0};
    json_object *out;

    memset(&buf, 0, sizeof(buf));
    if ((cr = tools_call_creds(call, &buf)) == NULL) {
        creds_wipe(&buf);
        return tool_fail(res, "%s", tu_no_creds_text);
    }
    req.method = "POST";
    req.path = path;
    req.params = params;
    req.kind = BNC_TRADE;
    req.creds = cr;
    req.origin = call;
    out = guard_preview(call, &req);
    creds_wipe(&buf);
    if (out == NULL)
        return tool_fail(res, "The trading guard could not preview it.");
    if (o != NULL)
        preview_fill(call, o, out);
    preview_fee(call, symbol, out);
    json_object_object_add(
        out, "message",
        json_object_new_string(
            "Nothing was sent. wouldBeSent says whether the trading guard "
            "would let this order go out now (filters and the operator's "
            "limits); confirmation says how it would be confirmed."));
    res->data = out;
    return 0;
}

static int
preview_order(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct plain o;
    struct bnc_params p;

    if (plain_read(args, &o, res) < 0)
        return -1;
    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", o.symbol);
    plain_params(&o, &p, NULL);
    return preview_request(call, "/api/v3/order", &p, o.symbol, &o, res);
}

static int
preview_order_list(struct mcp_call *call, json_object *args,
                   struct tool_result *res)
{
    struct list_req q;
    struct bnc_params p;

    if (list_read(args, &q, res) < 0)
        return -1;
    bnc_params_init(&p);
    list_params(&q, &p);
    return preview_request(call, q.ls->path, &p, q.symbol, NULL, res);
}

/* ---- order lists: cancel and read ---- */

static int
cancel_order_list(struct mcp_call *call, json_object *args,
                  struct tool_result *res)
{
    static const struct tu_arg map[] = {
        {"symbol", "symbol", TU_ARG_SYMBOL, 0, NULL},
        {"order_list_id", "orderListId", TU_ARG_INT, 0, NULL},
        {"list_client_order_id", "listClientOrderId", TU_ARG_STR, 0, NULL},
        {NULL, NULL, TU_ARG_STR, 0, NULL},
    };
    struct tu_call tc;
    json_object *body, *out, *lookup, *v;
    int rc;

    if (tu_one_ref(args, res, "order_list_id", "list_client_order_id", "list") <
        0)
        return -1;
    tu_call_init(&tc, "DELETE", "/api/v3/orderList", BNC_TRADE);
    if (tu_args_to_params(args, map, &tc.params, NULL, tc.err, sizeof(tc.err)) <
        0)
        return tool_fail(res, "%s", tc.err);
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        lookup = json_object_new_object();
        if (lookup != NULL) {
            if (json_object_object_get_ex(args, "order_list_id", &v) ||
                json_object_object_get_ex(args, "list_client_order_id", &v))
                json_object_object_add(lookup,
                                       json_object_is_type(v, json_type_int)
                                           ? "order_list_id"
                                           : "list_client_order_id",
                                       json_object_get(v));
        }
        rc = fail_trade(res, &tc, "cancel request for the order list",
                        "get_order_list", lookup,
                        "listOrderStatus ALL_DONE with CANCELED orders means "
                        "it was cancelled.");
    } else if ((out = shape_list(body)) == NULL) {
        rc = tool_fail(res, "Binance answered the cancel with a document of "
                            "an unexpected shape; call get_order_list to see "
                            "the list's state.");
    } else {
        add_env(out, tc.env);
        res->data = out;
        rc = 0;
    }
    tu_call_done(&tc);
    return rc;
}

/* clang-format off */
static const struct tu_simple get_list_spec = {
    "GET", "/api/v3/orderList", BNC_READ,
    (const struct tu_arg[]){
        {"order_list_id", "orderListId", TU_ARG_INT, 0, NULL},
        {"list_client_order_id", "origClientOrderId", TU_ARG_STR, 0, NULL},
        {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {list_fields, NULL, NULL, 0, 1}, NULL, NULL};

static const struct tu_simple open_lists_spec = {
    "GET", "/api/v3/openOrderList", BNC_READ,
    (const struct tu_arg[]){{NULL, NULL, TU_ARG_STR, 0, NULL}},
    {list_fields, NULL, "order_lists", 1, 1}, NULL, NULL};

static const struct tu_simple all_lists_spec = {
    "GET", "/api/v3/allOrderList", BNC_READ,
    (const struct tu_arg[]){
        {"from_id", "fromId", TU_ARG_INT, 0, NULL},
        {"start_time", "startTime", TU_ARG_INT, 0, NULL},
        {"end_time", "endTime", TU_ARG_INT, 0, NULL},
        {"limit", "limit", TU_ARG_INT, 0, NULL},
        {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {list_fields, NULL, "order_lists", 1, 1}, NULL, NULL};
/* clang-format on */

static int
get_order_list(struct mcp_call *call, json_object *args,
               struct tool_result *res)
{
    if (tu_one_ref(args, res, "order_list_id", "list_client_order_id", "list") <
        0)
        return -1;
    return tu_simple_run(call, args, res, &get_list_spec);
}

static int
get_all_order_lists(struct mcp_call *call, json_object *args,
                    struct tool_result *res)
{
    int64_t v;

    if (tu_check_time_range(args, DAY_MS, res) < 0)
        return -1;
    if (tu_arg_int(args, "from_id", &v) &&
        (tu_arg_int(args, "start_time", &v) ||
         tu_arg_int(args, "end_time", &v)))
        return tool_fail(res, "from_id cannot be combined with start_time or "
                              "end_time; use one way of paging.");
    return tu_simple_run(call, args, res, &all_lists_spec);
}

/* ---- cancel_replace_order ---- */

/* "SUCCESS" / "FAILURE" / "NOT_ATTEMPTED" of one half, and its words. */
struct half {
    const char *result;
    json_object *resp; /* the half's answer: an order, or {code, msg} */
    char why[320];     /* ": -2011 Unknown order sent" or "" */
};

static void
half_read(json_object *data, const char *result_key, const char *resp_key,
          struct half *h)
{
    json_object *v;

    memset(h, 0, sizeof(*h));
    if (json_object_object_get_ex(data, result_key, &v) &&
        json_object_is_type(v, json_type_string))
        h->result = json_object_get_string(v);
    if (json_object_object_get_ex(data, resp_key, &v) &&
        json_object_is_type(v, json_type_object))
        h->resp = v;
    if (h->resp != NULL && json_object_object_get_ex(h->resp, "code", &v)) {
        int n = snprintf(h->why, sizeof(h->why), ": %s %s",
                         tu_jstr(h->resp, "code"), tu_jstr(h->resp, "msg"));
        /* the sentence goes on after it: no full stop of Binance's */
        if (n > 0 && (size_t)n < sizeof(h->why) && h->why[n - 1] == '.')
            h->why[n - 1] = '\0';
    }
}

/* Fails res for a cancel-replace that Binance answered -2021 (one half
 * failed) or -2022 (the cancel failed, and the new order failed or was not
 * attempted), saying which half happened. Binance's data object
 * (resp.error_data) holds both halves; without it the code and the mode
 * still tell, except for -2021 with ALLOW_FAILURE. Returns -1. */
static int
fail_cancel_replace(const struct plain *o, const char *mode,
                    const char *old_ref, struct tu_call *tc,
                    struct tool_result *res)
{
    json_object *data = tc->resp.error_data;
    struct half c, n;
    int stop = strcmp(mode, "STOP_ON_FAILURE") == 0;

    half_read(data, "cancelResult", "cancelResponse", &c);
    half_read(data, "newOrderResult", "newOrderResponse", &n);
    if (c.result == NULL || n.result == NULL) {
        if (tc->resp.api_code == -2021 && !stop)
            return tool_fail(
                res,
                "Cancel-replace PARTIALLY FAILED (%d %s): one of its two "
                "halves failed, but Binance's details did not reach "
                "binmcpd. Call get_order for the old order (%s) and "
                "get_order with client_order_id %s (the new one) to see "
                "which.",
                tc->resp.api_code, tc->resp.api_msg, old_ref, o->leg.client_id);
        c.result = tc->resp.api_code == -2021 ? "SUCCESS" : "FAILURE";
        n.result = tc->resp.api_code == -2021 ? "FAILURE"
                   : stop                     ? "NOT_ATTEMPTED"
                                              : "FAILURE";
    }
    if (strcmp(c.result, "SUCCESS") == 0)
        return tool_fail(res,
                         "Cancel-replace PARTIALLY FAILED: the cancel "
                         "SUCCEEDED (the old order, %s, is now CANCELED); the "
                         "new order FAILED%s. Your old order is gone and "
                         "nothing replaced it.",
                         old_ref, n.why);
    if (strcmp(n.result, "SUCCESS") == 0)
        return tool_fail(
            res,
            "Cancel-replace PARTIALLY FAILED: the cancel FAILED%s; "
            "the new order WAS PLACED (orderId %s, "
            "clientOrderId %s, status %s). If the old order (%s) "
            "is still open, both orders are now open.",
            c.why, tu_jstr(n.resp, "orderId"), o->leg.client_id,
            tu_jstr(n.resp, "status"), old_ref);
    if (strcmp(n.result, "NOT_ATTEMPTED") == 0)
        return tool_fail(res,
                         "Cancel-replace FAILED: the cancel of the old order "
                         "(%s) FAILED%s, so the new order was NOT placed "
                         "(cancel_replace_mode STOP_ON_FAILURE). Nothing was "
                         "cancelled and nothing was placed.",
                         old_ref, c.why);
    return tool_fail(res,
                     "Cancel-replace FAILED: the cancel of the old order (%s) "
                     "FAILED%s and the new order FAILED%s. Nothing was "
                     "cancelled and nothing was placed.",
                     old_ref, c.why, n.why);
}

static int
cancel_replace_order(struct mcp_call *call, json_object *args,
                     struct tool_result *res)
{
    struct plain o;
    struct tu_call tc;
    const char *mode = tu_arg_str(args, "cancel_replace_mode");
    const char *old_cid = tu_arg_str(args, "cancel_client_order_id");
    const char *restr = tu_arg_str(args, "cancel_restrictions");
    const char *limit_mode = tu_arg_str(args, "order_rate_limit_exceeded_mode");
    int64_t old_id;
    int has_old_id = tu_arg_int(args, "cancel_order_id", &old_id);
    char old_ref[96], what[128], hint[256];
    json_object *body, *out, *v;
    int rc;

    if (mode == NULL)
        return tool_fail(res, "cancel_replace_mode (STOP_ON_FAILURE or "
                              "ALLOW_FAILURE) is required.");
    if (has_old_id == (old_cid != NULL))
        return tool_fail(res, "Give the order to cancel as cancel_order_id "
                              "(Binance's number) or cancel_client_order_id "
                              "(its client order id): exactly one.");
    if (plain_read(args, &o, res) < 0)
        return -1;
    if (has_old_id)
        snprintf(old_ref, sizeof(old_ref), "orderId %lld", (long long)old_id);
    else
        snprintf(old_ref, sizeof(old_ref), "clientOrderId %s", old_cid);
    tu_call_init(&tc, "POST", "/api/v3/order/cancelReplace", BNC_TRADE);
    bnc_params_add(&tc.params, "symbol", o.symbol);
    bnc_params_add(&tc.params, "cancelReplaceMode", mode);
    if (has_old_id)
        bnc_params_add_int(&tc.params, "cancelOrderId", old_id);
    else
        bnc_params_add(&tc.params, "cancelOrigClientOrderId", old_cid);
    if (restr != NULL)
        bnc_params_add(&tc.params, "cancelRestrictions", restr);
    if (limit_mode != NULL)
        bnc_params_add(&tc.params, "orderRateLimitExceededMode", limit_mode);
    plain_params(&o, &tc.params, NULL);
    if (tc.params.overflow)
        return tool_fail(res, "The request's parameters are too long; "
                              "nothing was sent.");
    body = tu_call_run(call, &tc);
    if (body == NULL && tc.resp.status == BNC_ERR_API &&
        (tc.resp.api_code == -2021 || tc.resp.api_code == -2022)) {
        rc = fail_cancel_replace(&o, mode, old_ref, &tc, res);
    } else if (body == NULL) {
        snprintf(what, sizeof(what),
                 "cancel-replace request (new order clientOrderId %s)",
                 o.leg.client_id);
        snprintf(hint, sizeof(hint),
                 "Look the old order (%s) up with get_order too: CANCELED "
                 "means the cancel happened.",
                 old_ref);
        rc = fail_trade(
            res, &tc, what, "get_order",
            lookup_new(o.symbol, "client_order_id", o.leg.client_id), hint);
    } else if ((out = json_object_new_object()) == NULL) {
        rc = tool_fail(res, "out of memory reading Binance's answer; call "
                            "get_order to see both orders.");
    } else {
        json_object_object_add(out, "symbol", json_object_new_string(o.symbol));
        json_object_object_add(out, "cancelReplaceMode",
                               json_object_new_string(mode));
        json_object_object_add(
            out, "cancelResult",
            json_object_new_string(tu_jstr(body, "cancelResult")));
        json_object_object_add(
            out, "newOrderResult",
            json_object_new_string(tu_jstr(body, "newOrderResult")));
        for (size_t i = 0; i < 2; i++) {
            const char *key = i == 0 ? "cancelResponse" : "newOrderResponse";
            json_object *shaped = json_object_object_get_ex(body, key, &v)
                                      ? tu_pick(v, tu_order_fields)
                                      : NULL;
            if (shaped != NULL)
                json_object_object_add(out, key, shaped);
        }
        add_env(out, tc.env);
        res->data = out;
        rc = 0;
    }
    tu_call_done(&tc);
    return rc;
}

/* ---- amend_order ---- */

static int
amend_order(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    char symbol[TU_SYMBOL_MAX], what[128], hint[256];
    const char *cid = tu_arg_str(args, "client_order_id");
    const char *new_cid = tu_arg_str(args, "new_client_order_id");
    const char *qty = tu_arg_str(args, "new_qty");
    struct tu_call tc;
    json_object *body, *out, *lookup;
    int64_t id;
    int has_id = tu_arg_int(args, "order_id", &id), rc;

    if (read_symbol(args, symbol, sizeof(symbol), res) < 0)
        return -1;
    if (has_id == (cid != NULL))
        return tool_fail(res, "Give order_id (Binance's number) or "
                              "client_order_id (the id the order was placed "
                              "with): exactly one.");
    if (qty == NULL || dec_text_is_zero(qty))
        return tool_fail(res, "new_qty must be given and greater than zero "
                              "(and smaller than the order's quantity).");
    /* Amended by its client id, an order keeps it (Binance would give it a
     * random one), so the lookup after an unknown outcome still finds it. */
    if (new_cid == NULL && cid != NULL)
        new_cid = cid;
    tu_call_init(&tc, "PUT", "/api/v3/order/amend/keepPriority", BNC_TRADE);
    bnc_params_add(&tc.params, "symbol", symbol);
    if (has_id)
        bnc_params_add_int(&tc.params, "orderId", id);
    else
        bnc_params_add(&tc.params, "origClientOrderId", cid);
    if (new_cid != NULL)
        bnc_params_add(&tc.params, "newClientOrderId", new_cid);
    bnc_params_add(&tc.params, "newQty", qty);
    body = tu_call_run(call, &tc);
    if (body == NULL) {
        lookup = lookup_new(symbol, NULL, NULL);
        if (lookup != NULL && has_id)
            json_object_object_add(lookup, "order_id",
                                   json_object_new_int64(id));
        else if (lookup != NULL)
            json_object_object_add(lookup, "client_order_id",
                                   json_object_new_string(new_cid));
        snprintf(what, sizeof(what), "amend request (new quantity %s)", qty);
        snprintf(hint, sizeof(hint),
                 "If its origQty is %s the amend happened.%s%s%s", qty,
                 !has_id && strcmp(new_cid, cid) != 0
                     ? " If nothing is found under that id, the order still "
                       "has its old one, "
                     : "",
                 !has_id && strcmp(new_cid, cid) != 0 ? cid : "",
                 !has_id && strcmp(new_cid, cid) != 0 ? ", and was not amended."
                                                      : "");
        rc = fail_trade(res, &tc, what, "get_order", lookup, hint);
    } else if ((out = tu_pick(
                    body, (const char *const[]){"transactTime", "executionId",
                                                "amendedOrder", "listStatus",
                                                NULL})) == NULL) {
        rc = tool_fail(res, "Binance answered the amend with a document of "
                            "an unexpected shape; call get_order to see the "
                            "order.");
    } else {
        add_env(out, tc.env);
        res->data = out;
        rc = 0;
    }
    tu_call_done(&tc);
    return rc;
}

/* ---- cancel_all_orders ---- */

/* How many orders a cancelled order list held. */
static size_t
list_order_count(json_object *list)
{
    json_object *orders;

    if (!json_object_object_get_ex(list, "orders", &orders) ||
        !json_object_is_type(orders, json_type_array))
        return 0;
    return json_object_array_length(orders);
}

static int
cancel_all_orders(struct mcp_call *call, json_object *args,
                  struct tool_result *res)
{
    char symbol[TU_SYMBOL_MAX], msg[160];
    struct tu_call tc;
    json_object *body, *out, *orders, *lists;
    size_t n = 0, cancelled = 0;
    int rc;

    if (read_symbol(args, symbol, sizeof(symbol), res) < 0)
        return -1;
    tu_call_init(&tc, "DELETE", "/api/v3/openOrders", BNC_TRADE);
    bnc_params_add(&tc.params, "symbol", symbol);
    body = tu_call_run(call, &tc);
    /* Binance answers -2011 (unknown order) when nothing is open. */
    if (body == NULL &&
        !(tc.resp.status == BNC_ERR_API && tc.resp.api_code == -2011)) {
        rc = fail_trade(res, &tc, "cancel-all request", "get_open_orders",
                        lookup_new(symbol, NULL, NULL),
                        "Orders it still lists were not cancelled.");
        tu_call_done(&tc);
        return rc;
    }
    out = json_object_new_object();
    orders = json_object_new_array();
    lists = json_object_new_array();
    if (out == NULL || orders == NULL || lists == NULL) {
        json_object_put(out);
        json_object_put(orders);
        json_object_put(lists);
        tu_call_done(&tc);
        return tool_fail(res, "out of memory reading Binance's answer; call "
                              "get_open_orders to see what is left.");
    }
    if (json_object_is_type(body, json_type_array))
        n = json_object_array_length(body);
    for (size_t i = 0; i < n; i++) {
        json_object *el = json_object_array_get_idx(body, i), *o;
        int is_list = json_object_object_get_ex(el, "contingencyType", NULL);
        o = is_list ? shape_list(el) : tu_pick(el, tu_order_fields);
        if (o != NULL)
            json_object_array_add(is_list ? lists : orders, o);
        cancelled += is_list ? list_order_count(el) : 1;
    }
    snprintf(msg, sizeof(msg),
             n > 0 ? "Cancelled every open order on %s."
                   : "There were no open orders on %s; nothing was "
                     "cancelled.",
             symbol);
    json_object_object_add(out, "symbol", json_object_new_string(symbol));
    json_object_object_add(out, "count",
                           json_object_new_int64((int64_t)cancelled));
    json_object_object_add(out, "orders", orders);
    json_object_object_add(out, "order_lists", lists);
    json_object_object_add(out, "message", json_object_new_string(msg));
    add_env(out, tc.env);
    res->data = out;
    tu_call_done(&tc);
    return 0;
}

/* ---- reads ---- */

/* clang-format off */
static const struct tu_simple commission_spec = {
    "GET", "/api/v3/account/commission", BNC_READ,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"symbol", "standardCommission",
                           "specialCommission", "taxCommission", "discount",
                           NULL},
     NULL, NULL, 0, 1},
    NULL, NULL};

static const struct tu_simple rate_limit_spec = {
    "GET", "/api/v3/rateLimit/order", BNC_READ,
    (const struct tu_arg[]){{NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"rateLimitType", "interval", "intervalNum",
                           "limit", "count", NULL},
     NULL, "limits", 1, 1},
    NULL, NULL};

static const struct tu_simple prevented_spec = {
    "GET", "/api/v3/myPreventedMatches", BNC_READ,
    (const struct tu_arg[]){
        {"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
        {"prevented_match_id", "preventedMatchId", TU_ARG_INT, 0, NULL},
        {"order_id", "orderId", TU_ARG_INT, 0, NULL},
        {"from_prevented_match_id", "fromPreventedMatchId", TU_ARG_INT, 0,
         NULL},
        {"limit", "limit", TU_ARG_INT, 0, NULL},
        {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"symbol", "preventedMatchId", "takerOrderId",
                           "makerSymbol", "makerOrderId", "tradeGroupId",
                           "selfTradePreventionMode", "price",
                           "takerPreventedQuantity", "makerPreventedQuantity",
                           "transactTime", NULL},
     NULL, "matches", 1, 1},
    NULL, NULL};
/* clang-format on */

static int
get_prevented_matches(struct mcp_call *call, json_object *args,
                      struct tool_result *res)
{
    int64_t v;
    int by_match = tu_arg_int(args, "prevented_match_id", &v);
    int by_order = tu_arg_int(args, "order_id", &v);

    if (by_match == by_order)
        return tool_fail(res, "Give prevented_match_id (one prevented "
                              "match) or order_id (the matches of one "
                              "order): exactly one.");
    if (!by_order && (tu_arg_int(args, "from_prevented_match_id", &v) ||
                      tu_arg_int(args, "limit", &v)))
        return tool_fail(res, "from_prevented_match_id and limit page "
                              "through the matches of an order_id; they "
                              "do not go with prevented_match_id.");
    return tu_simple_run(call, args, res, &prevented_spec);
}

/* ---- the rows ---- */

/* C11 promises string literals of 4095 bytes; some schemas here are longer,
 * which gcc and clang take as they are. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"

/* clang-format off */
#define COMMISSION_RATES                                                     \
    TU_OBJ(TU_F("maker", TU_STR) "," TU_F("taker", TU_STR) ","               \
           TU_F("buyer", TU_STR) "," TU_F("seller", TU_STR))

/* What preview_order and preview_order_list answer. */
#define PREVIEW_PROPS                                                        \
    TU_F("wouldBeSent", TU_BOOL) "," TU_F("refusedBy", TU_STR) ","           \
    TU_F("reason", TU_STR) "," TU_ENV_PROP "," TU_F("notional", TU_NUM) ","     \
    TU_F("quoteAsset", TU_STR) "," TU_F("notionalUsdt", TU_NUM) ","          \
    TU_F("valuedFrom", TU_STR) "," TU_F("limits", "{\"type\":\"object\"}") \
    "," TU_F("confirmation", TU_STR) ","                                     \
    TU_F("bestOppositePrice", TU_NUM) "," TU_F("takesLiquidity", TU_BOOL)    \
    "," TU_F("estimatedAveragePrice", TU_NUM) ","                            \
    TU_F("slippagePercent", TU_NUM) "," TU_F("feeRate", TU_STR) ","          \
    TU_F("estimatedFee", TU_NUM) "," TU_F("message", TU_STR)

/* The arguments of an order list (place_order_list, preview_order_list). */
#define LIST_IN_PROPS \
           IN_ENUM("list_type", "\"OCO\",\"OTO\",\"OTOCO\"",\
                   "OCO: above_* and below_* legs with side and quantity. "\
                   "OTO: working_* and pending_*. OTOCO: working_*, "\
                   "pending_side, pending_quantity, pending_above_* and "\
                   "pending_below_*.") ","\
           IN_CID("list_client_order_id", "Your id for the list (1-36 of "\
                                          "A-Z a-z 0-9 _ -); generated when "\
                                          "left out.") ","\
           IN_ENUM("side", SIDES, "OCO: the side of both legs.") ","\
           IN_DEC("quantity", "OCO: the quantity of both legs (base "\
                              "asset).") ","\
           IN_LEG("above_", OCO_TYPES, "the OCO's above leg") ","\
           IN_LEG("below_", OCO_TYPES, "the OCO's below leg") ","\
           IN_ENUM("working_side", SIDES, "OTO/OTOCO: side of the working "\
                                          "order.") ","\
           IN_DEC("working_quantity", "OTO/OTOCO: quantity of the working "\
                                      "order.") ","\
           IN_LEG("working_", "\"LIMIT\",\"LIMIT_MAKER\"",\
                  "the working order (OTO/OTOCO; needs working_price)") ","\
           IN_ENUM("pending_side", SIDES, "OTO: side of the pending order; "\
                                          "OTOCO: of both pending legs.") ","\
           IN_DEC("pending_quantity", "OTO: quantity of the pending order; "\
                                      "OTOCO: of both pending legs.") ","\
           IN_LEG("pending_", ALL_TYPES, "the OTO's pending order") ","\
           IN_LEG("pending_above_", OCO_TYPES,\
                  "the OTOCO's pending above leg") ","\
           IN_LEG("pending_below_", OCO_TYPES,\
                  "the OTOCO's pending below leg")

const struct tool_def tools_orders[] = {
    {"place_order", "Place an order",
     "Places a spot order (POST /api/v3/order). " TU_MONEY_WARNING
     " Rules per type: LIMIT needs price; MARKET needs quantity or "
     "quote_order_qty and takes no price, stop_price, trailing_delta or "
     "time_in_force; STOP_LOSS and TAKE_PROFIT (a MARKET order once "
     "triggered) need stop_price or trailing_delta (or both) and take no "
     "price or time_in_force; STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT need "
     "price and stop_price or trailing_delta; LIMIT_MAKER needs price and "
     "takes no time_in_force. quote_order_qty is for MARKET only, instead "
     "of quantity. time_in_force defaults to GTC where it applies. "
     "iceberg_qty is for LIMIT, LIMIT_MAKER and the _LIMIT types with "
     "time_in_force GTC, and must be smaller than quantity. "
     "With test: true Binance only validates the order (POST "
     "/api/v3/order/test) and nothing is placed. Every order carries a "
     "client order id (generated when not given); the request is never "
     "retried, and if the outcome is unknown the error says so and how to "
     "look the order up with get_order. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_NEW_ORDER("the order") ","
           TU_F("test", "{\"type\":\"boolean\",\"default\":false,"
                        "\"description\":\"Validate only; place nothing.\"}")
           "," TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\",\"side\",\"type\""),
     TU_OBJ(TU_ORDER_PROPS "," TU_ENV_PROP "," TU_F("test", TU_BOOL) ","
            TU_F("validated", TU_BOOL) "," TU_F("message", TU_STR) ","
            TU_F("request", "{\"type\":\"object\"}")),
     TOOL_DESTRUCTIVE | TOOL_OPEN_WORLD | TOOL_TRADING, place_order, NULL},
    {"place_order_list", "Place an order list (OCO, OTO, OTOCO)",
     "Places a list of contingent orders on one trading pair. " TU_MONEY_WARNING
     " list_type OCO (POST /api/v3/orderList/oco): two orders of the same "
     "side and quantity, one above and one below the last price; when one "
     "fills or triggers, the other is cancelled. For SELL the above leg is "
     "LIMIT_MAKER, TAKE_PROFIT or TAKE_PROFIT_LIMIT and the below leg "
     "STOP_LOSS or STOP_LOSS_LIMIT; for BUY the other way round. Give "
     "side, quantity, above_type, below_type and each leg's prices. "
     "list_type OTO (POST /api/v3/orderList/oto): a working order (LIMIT "
     "or LIMIT_MAKER: working_type, working_side, working_price, "
     "working_quantity) and a pending order of any type but quote-quantity "
     "MARKET (pending_type, pending_side, pending_quantity, ...) that goes "
     "on the book once the working order is fully filled. list_type OTOCO "
     "(POST /api/v3/orderList/otoco): a working order plus a pending OCO "
     "pair (pending_side, pending_quantity, pending_above_*, "
     "pending_below_*). Each leg follows place_order's rules for its type "
     "(price, stop_price and/or trailing_delta, time_in_force defaulting to "
     "GTC, iceberg_qty only with GTC). Arguments of other list types are "
     "refused. The list and every leg carry client ids (generated "
     "binmcpd-... when not given); the request is never retried, and an "
     "unknown outcome names the get_order call that finds it. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL ","
           LIST_IN_PROPS ","
           IN_STP "," TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\",\"list_type\""),
     TU_OBJ(LIST_REPORT_PROPS "," TU_ENV_PROP "," TU_F("message", TU_STR)),
     TRADE_FLAGS, place_order_list, NULL},
    {"cancel_order_list", "Cancel an order list",
     "Cancels a whole order list (OCO, OTO, OTOCO) on one trading pair "
     "(DELETE /api/v3/orderList), found by order_list_id or by "
     "list_client_order_id (exactly one). " TU_MONEY_WARNING
     " Cancelling one order of a list with cancel_order also cancels the "
     "list. Cancelling twice has no further effect. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_LIST_ID "," IN_LIST_CID ","
           TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\""),
     TU_OBJ(LIST_REPORT_PROPS "," TU_ENV_PROP),
     TRADE_FLAGS | TOOL_IDEMPOTENT, cancel_order_list, NULL},
    {"get_order_list", "Order list status",
     "One order list's state (GET /api/v3/orderList): its status and its "
     "orders' ids, found by order_list_id or by list_client_order_id "
     "(exactly one). Use get_order for an order's details, or after an "
     "unknown outcome of place_order_list. Needs credentials.",
     TU_IN_OPTIONAL(IN_LIST_ID "," IN_LIST_CID),
     TU_OBJ(LIST_PROPS "," TU_ENV_PROP), READ_FLAGS, get_order_list, NULL},
    {"get_open_order_lists", "Open order lists",
     "Every open order list (OCO, OTO, OTOCO) of the account, all trading "
     "pairs (GET /api/v3/openOrderList). Needs credentials.",
     TU_IN_NONE,
     TU_OBJ(TU_F("count", TU_INT) ","
            TU_F("order_lists", TU_ARR(TU_OBJ(LIST_PROPS))) "," TU_ENV_PROP),
     READ_FLAGS, tu_simple_tool, &open_lists_spec},
    {"get_all_order_lists", "All order lists",
     "The account's order lists, open and finished (GET "
     "/api/v3/allOrderList): page with from_id (that list id and later), "
     "or give a time range of at most 24 hours (not both). Needs "
     "credentials.",
     TU_IN_OPTIONAL(
         IN_ID("from_id", "Return lists with orderListId >= this; not with "
                          "start_time or end_time.") ","
         TU_IN_TIME_RANGE("Earliest list time", "Latest list time") ","
         TU_IN_INT("limit", 1, 1000, "How many lists (default 500).")),
     TU_OBJ(TU_F("count", TU_INT) ","
            TU_F("order_lists", TU_ARR(TU_OBJ(LIST_PROPS))) "," TU_ENV_PROP),
     READ_FLAGS, get_all_order_lists, NULL},
    {"cancel_replace_order", "Cancel an order and place a new one",
     "Cancels one order and places a new one on the same trading pair in "
     "one request (POST /api/v3/order/cancelReplace). " TU_MONEY_WARNING
     " The order to cancel: cancel_order_id or cancel_client_order_id "
     "(exactly one). cancel_replace_mode STOP_ON_FAILURE places the new "
     "order only if the cancel succeeded; ALLOW_FAILURE places it anyway. "
     "The new order takes place_order's arguments and rules (side, type, "
     "quantity, price, stop_price, ...; client_order_id is the new order's "
     "id, generated when left out). When only one half succeeds, the "
     "error says exactly which: e.g. that the old order is cancelled and "
     "nothing replaced it. Never retried; an unknown outcome names the "
     "get_order calls that tell the truth. Needs credentials.",
     TU_IN(TU_IN_SYMBOL ","
           IN_ENUM("cancel_replace_mode", "\"STOP_ON_FAILURE\","
                                          "\"ALLOW_FAILURE\"",
                   "STOP_ON_FAILURE: no new order when the cancel fails. "
                   "ALLOW_FAILURE: place the new order even then.") ","
           IN_ID("cancel_order_id", "Binance's orderId of the order to "
                                    "cancel.") ","
           IN_CID("cancel_client_order_id", "The client order id of the "
                                            "order to cancel.") ","
           IN_ENUM("cancel_restrictions", "\"ONLY_NEW\","
                                          "\"ONLY_PARTIALLY_FILLED\"",
                   "Cancel only if the order's status is NEW, or only if "
                   "it is PARTIALLY_FILLED.") ","
           IN_ENUM("order_rate_limit_exceeded_mode", "\"DO_NOTHING\","
                                                     "\"CANCEL_ONLY\"",
                   "When the unfilled order count is exceeded: do nothing "
                   "(default) or still cancel.") ","
           IN_NEW_ORDER("the new order") "," TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\",\"cancel_replace_mode\",\"side\",\"type\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("cancelReplaceMode", TU_STR) ","
            TU_F("cancelResult", TU_STR) "," TU_F("newOrderResult", TU_STR)
            "," TU_F("cancelResponse", TU_OBJ(TU_ORDER_PROPS)) ","
            TU_F("newOrderResponse", TU_OBJ(TU_ORDER_PROPS)) "," TU_ENV_PROP),
     TRADE_FLAGS, cancel_replace_order, NULL},
    {"amend_order", "Reduce an order's quantity",
     "Reduces the quantity of an open order in place, keeping its place in "
     "the queue (PUT /api/v3/order/amend/keepPriority). " TU_MONEY_WARNING
     " The order: order_id or client_order_id (exactly one). new_qty must "
     "be smaller than the order's quantity (it cannot grow). An order "
     "amended by client_order_id keeps that id, one amended by order_id "
     "gets a new one from Binance, unless new_client_order_id gives "
     "another. Amending one leg of an OCO amends both. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_ORDER_ID ","
           IN_CID("client_order_id", "The client order id of the order.") ","
           IN_DEC("new_qty", "The new, smaller quantity (base asset).") ","
           IN_CID("new_client_order_id", "A new client order id for the "
                                         "order.") ","
           TU_IN_CONFIRMATION_TOKEN,
           "\"symbol\",\"new_qty\""),
     TU_OBJ(TU_F("transactTime", TU_INT) "," TU_F("executionId", TU_INT) ","
            TU_F("amendedOrder", TU_OBJ(
                TU_F("symbol", TU_STR) "," TU_F("orderId", TU_INT) ","
                TU_F("orderListId", TU_INT) ","
                TU_F("origClientOrderId", TU_STR) ","
                TU_F("clientOrderId", TU_STR) "," TU_F("price", TU_STR) ","
                TU_F("qty", TU_STR) "," TU_F("executedQty", TU_STR) ","
                TU_F("preventedQty", TU_STR) ","
                TU_F("quoteOrderQty", TU_STR) ","
                TU_F("cumulativeQuoteQty", TU_STR) ","
                TU_F("status", TU_STR) "," TU_F("timeInForce", TU_STR) ","
                TU_F("type", TU_STR) "," TU_F("side", TU_STR) ","
                TU_F("workingTime", TU_INT) ","
                TU_F("selfTradePreventionMode", TU_STR))) ","
            TU_F("listStatus", TU_OBJ(LIST_PROPS)) "," TU_ENV_PROP),
     TRADE_FLAGS | TOOL_IDEMPOTENT, amend_order, NULL},
    {"cancel_all_orders", "Cancel all open orders of a pair",
     "Cancels every open order on one trading pair, including the orders "
     "of order lists (DELETE /api/v3/openOrders). " TU_MONEY_WARNING
     " The result lists the cancelled orders and order lists (count: "
     "every cancelled order, list legs included); with nothing open it "
     "says so. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," TU_IN_CONFIRMATION_TOKEN, "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","
            TU_F("orders", TU_ARR(TU_OBJ(TU_ORDER_PROPS))) ","
            TU_F("order_lists", TU_ARR(TU_OBJ(LIST_REPORT_PROPS))) ","
            TU_F("message", TU_STR) "," TU_ENV_PROP),
     TRADE_FLAGS | TOOL_IDEMPOTENT, cancel_all_orders, NULL},
    {"get_commission_rates", "Commission rates",
     "The account's commission rates on one trading pair (GET "
     "/api/v3/account/commission): standard, special and tax rates for "
     "maker, taker, buyer and seller, and the BNB discount. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL, "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) ","
            TU_F("standardCommission", COMMISSION_RATES) ","
            TU_F("specialCommission", COMMISSION_RATES) ","
            TU_F("taxCommission", COMMISSION_RATES) ","
            TU_F("discount", TU_OBJ(
                TU_F("enabledForAccount", TU_BOOL) ","
                TU_F("enabledForSymbol", TU_BOOL) ","
                TU_F("discountAsset", TU_STR) ","
                TU_F("discount", TU_STR))) "," TU_ENV_PROP),
     READ_FLAGS, tu_simple_tool, &commission_spec},
    {"get_order_rate_limit", "Unfilled order count",
     "How many orders the account placed in the current intervals against "
     "its order rate limits (GET /api/v3/rateLimit/order): per interval "
     "the limit and the count used. Needs credentials.",
     TU_IN_NONE,
     TU_OBJ(TU_F("count", TU_INT) ","
            TU_F("limits", TU_ARR(TU_OBJ(
                TU_F("rateLimitType", TU_STR) "," TU_F("interval", TU_STR)
                "," TU_F("intervalNum", TU_INT) "," TU_F("limit", TU_INT)
                "," TU_F("count", TU_INT)))) "," TU_ENV_PROP),
     READ_FLAGS, tu_simple_tool, &rate_limit_spec},
    {"get_prevented_matches", "Prevented self-trades",
     "Trades that self-trade prevention stopped on one trading pair (GET "
     "/api/v3/myPreventedMatches): give prevented_match_id for one, or "
     "order_id for the matches of an order (exactly one); with order_id, "
     "from_prevented_match_id and limit page through them. Needs "
     "credentials.",
     TU_IN(TU_IN_SYMBOL ","
           IN_ID("prevented_match_id", "One prevented match's id.") ","
           IN_ORDER_ID ","
           IN_ID("from_prevented_match_id", "With order_id: matches with "
                                            "this id and later.") ","
           TU_IN_INT("limit", 1, 1000, "With order_id: how many (default "
                                       "500)."),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","
            TU_F("matches", TU_ARR(TU_OBJ(
                TU_F("symbol", TU_STR) "," TU_F("preventedMatchId", TU_INT)
                "," TU_F("takerOrderId", TU_INT) ","
                TU_F("makerSymbol", TU_STR) "," TU_F("makerOrderId", TU_INT)
                "," TU_F("tradeGroupId", TU_INT) ","
                TU_F("selfTradePreventionMode", TU_STR) ","
                TU_F("price", TU_STR) ","
                TU_F("takerPreventedQuantity", TU_STR) ","
                TU_F("makerPreventedQuantity", TU_STR) ","
                TU_F("transactTime", TU_INT)))) "," TU_ENV_PROP),
     READ_FLAGS, get_prevented_matches, NULL},
    {"preview_order", "Preview an order",
     "Shows what place_order would do with these arguments, and sends "
     "nothing: whether the trading guard would let it go out now (the "
     "symbol's filters with the nearest valid values, the operator's "
     "limits), its value in the quote asset and in USDT, the limits it "
     "counts against and what is left today, how it would be confirmed, "
     "and from the current book and the account's commission rates the "
     "best opposite price, whether it would take liquidity, the estimated "
     "average fill price and slippage of a market order, and the fee. "
     "Takes place_order's arguments. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," IN_NEW_ORDER("the order"),
           "\"symbol\",\"side\",\"type\""),
     TU_OBJ(PREVIEW_PROPS), TOOL_READ_ONLY | TOOL_OPEN_WORLD, preview_order, NULL},
    {"preview_order_list", "Preview an order list",
     "Shows what place_order_list would do with these arguments, and sends "
     "nothing: whether the trading guard would let the list go out now "
     "(every leg against the symbol's filters, the operator's limits), its "
     "value, the limits it counts against and how it would be confirmed. "
     "Takes place_order_list's arguments. Needs credentials.",
     TU_IN(TU_IN_SYMBOL "," LIST_IN_PROPS "," IN_STP,
           "\"symbol\",\"list_type\""),
     TU_OBJ(PREVIEW_PROPS), TOOL_READ_ONLY | TOOL_OPEN_WORLD,
     preview_order_list, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */

#pragma GCC diagnostic pop
