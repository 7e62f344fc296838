/*
 * test_schema.c - every keyword of the schema subset, every error sentence,
 * and schema_check on good and bad schemas.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "schema.h"
#include "testlib.h"

/* A schema shaped like a market-data tool's. */
static const char *const depth_schema =
    "{\"type\":\"object\","
    " \"properties\":{"
    "  \"symbol\":{\"type\":\"string\",\"description\":\"pair\","
    "             \"minLength\":1,\"maxLength\":20,"
    "             \"pattern\":\"^[A-Z0-9]+$\"},"
    "  \"limit\":{\"type\":\"integer\",\"title\":\"depth\",\"default\":100,"
    "            \"enum\":[5,10,20,50,100,500,1000,5000]}},"
    " \"required\":[\"symbol\"],"
    " \"additionalProperties\":false}";

/* Validates value_text against schema_text; returns the rc and leaves the
 * sentence in err. A NULL value_text passes a NULL value. */
static int
run_validate(const char *schema_text, const char *value_text, char *err,
             size_t errlen)
{
    json_object *schema = json_tokener_parse(schema_text);
    json_object *value = NULL;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
    if (value_text != NULL) {
        value = json_tokener_parse(value_text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    }
    rc = schema_validate(schema, value, err, errlen);
    json_object_put(value);
    json_object_put(schema);
    return rc;
}

static void
expect_ok(const char *schema_text, const char *value_text)
{
    char err[512] = "";
    int rc = run_validate(schema_text, value_text, err, sizeof(err));
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "\n  unexpected failure: %s\n", err);
}

static void
expect_err(const char *schema_text, const char *value_text, const char *want)
{
    char err[512] = "";
    CU_ASSERT_EQUAL(run_validate(schema_text, value_text, err, sizeof(err)),
                    -1);
    CU_ASSERT_STRING_EQUAL(err, want);
    if (strcmp(err, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
}

static void
test_valid_arguments(void)
{
    expect_ok(depth_schema, "{\"symbol\":\"BTCUSDT\"}");
    expect_ok(depth_schema, "{\"symbol\":\"BTCUSDT\",\"limit\":5000}");
    /* a whole-number double is accepted as an integer */
    expect_ok(depth_schema, "{\"symbol\":\"BTCUSDT\",\"limit\":100.0}");
}

static void
test_type_string(void)
{
    expect_err(depth_schema, "{\"symbol\":5}",
               "argument 'symbol' must be a string (got number)");
    expect_err(depth_schema, "{\"symbol\":null}",
               "argument 'symbol' must be a string (got null)");
    expect_err(depth_schema, "{\"symbol\":[\"BTCUSDT\"]}",
               "argument 'symbol' must be a string (got array)");
}

static void
test_type_integer(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"n\":{\"type\":\"integer\"}}}";
    expect_ok(s, "{\"n\":-3}");
    expect_ok(s, "{\"n\":9007199254740993}");
    expect_ok(s, "{\"n\":2.0}");
    expect_err(s, "{\"n\":2.5}",
               "argument 'n' must be an integer (got number)");
    expect_err(s, "{\"n\":\"2\"}",
               "argument 'n' must be an integer (got string)");
    expect_err(s, "{\"n\":true}",
               "argument 'n' must be an integer (got boolean)");
    expect_err(s, "{\"n\":1e300}",
               "argument 'n' must be an integer (got number)");
}

static void
test_type_number(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"x\":{\"type\":\"number\"}}}";
    expect_ok(s, "{\"x\":1}");
    expect_ok(s, "{\"x\":0.125}");
    expect_err(s, "{\"x\":\"0.1\"}",
               "argument 'x' must be a number (got string)");
    expect_err(s, "{\"x\":{}}", "argument 'x' must be a number (got object)");
}

static void
test_type_boolean(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"b\":{\"type\":\"boolean\"}}}";
    expect_ok(s, "{\"b\":false}");
    expect_err(s, "{\"b\":1}", "argument 'b' must be a boolean (got number)");
    expect_err(s, "{\"b\":\"true\"}",
               "argument 'b' must be a boolean (got string)");
}

static void
test_type_array_and_object(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"a\":{\"type\":\"array\"},\"o\":{\"type\":\"object\"}}}";
    expect_ok(s, "{\"a\":[],\"o\":{}}");
    expect_err(s, "{\"a\":{}}", "argument 'a' must be an array (got object)");
    expect_err(s, "{\"o\":[]}", "argument 'o' must be an object (got array)");
}

static void
test_type_list(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"id\":{\"type\":[\"string\",\"integer\"]}}}";
    expect_ok(s, "{\"id\":\"abc\"}");
    expect_ok(s, "{\"id\":42}");
    expect_err(s, "{\"id\":true}",
               "argument 'id' must be a string or an integer (got boolean)");
}

static void
test_top_level(void)
{
    expect_err(depth_schema, "[]", "arguments must be an object (got array)");
    expect_err(depth_schema, "\"x\"",
               "arguments must be an object (got string)");
    /* NULL is an empty object */
    expect_err(depth_schema, NULL, "missing required argument 'symbol'");
    expect_ok("{\"type\":\"object\"}", NULL);
    expect_ok("{\"type\":\"object\",\"properties\":{}}", "{}");
}

static void
test_required(void)
{
    expect_err(depth_schema, "{}", "missing required argument 'symbol'");
    expect_err(depth_schema, "{\"limit\":5}",
               "missing required argument 'symbol'");
}

static void
test_additional_properties(void)
{
    expect_err(depth_schema, "{\"symbol\":\"BTCUSDT\",\"foo\":1}",
               "unknown argument 'foo' (allowed: symbol, limit)");
    /* unknown arguments are reported before missing ones */
    expect_err(depth_schema, "{\"symbl\":\"BTCUSDT\"}",
               "unknown argument 'symbl' (allowed: symbol, limit)");
    expect_err("{\"type\":\"object\",\"additionalProperties\":false}",
               "{\"x\":1}", "unknown argument 'x' (allowed: none)");
    /* without additionalProperties:false extra arguments pass */
    expect_ok("{\"type\":\"object\",\"properties\":"
              "{\"a\":{\"type\":\"string\"}}}",
              "{\"a\":\"x\",\"b\":2}");
    expect_ok("{\"type\":\"object\",\"additionalProperties\":true}",
              "{\"b\":2}");
}

static void
test_enum(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"side\":{\"type\":\"string\","
                    "\"enum\":[\"BUY\",\"SELL\"]}}}";
    expect_err(depth_schema, "{\"symbol\":\"BTCUSDT\",\"limit\":7}",
               "argument 'limit' must be one of 5, 10, 20, 50, 100, 500, "
               "1000, 5000 (got 7)");
    expect_ok(s, "{\"side\":\"SELL\"}");
    expect_err(s, "{\"side\":\"HOLD\"}",
               "argument 'side' must be one of \"BUY\", \"SELL\" "
               "(got \"HOLD\")");
    expect_err(s, "{\"side\":\"buy\"}",
               "argument 'side' must be one of \"BUY\", \"SELL\" "
               "(got \"buy\")");
    /* enum without type: a string does not equal an integer */
    expect_err("{\"type\":\"object\",\"properties\":{\"v\":{\"enum\":[1,2]}}}",
               "{\"v\":\"1\"}", "argument 'v' must be one of 1, 2 (got \"1\")");
}

static void
test_minimum_maximum(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"limit\":{\"type\":\"integer\",\"minimum\":1,"
                    "\"maximum\":1000},"
                    " \"pct\":{\"type\":\"number\",\"minimum\":0.5,"
                    "\"maximum\":99.5}}}";
    expect_ok(s, "{\"limit\":1,\"pct\":0.5}");
    expect_ok(s, "{\"limit\":1000,\"pct\":99.5}");
    expect_err(s, "{\"limit\":5000}",
               "argument 'limit' must be at most 1000 (got 5000)");
    expect_err(s, "{\"limit\":0}",
               "argument 'limit' must be at least 1 (got 0)");
    expect_err(s, "{\"limit\":-9223372036854775807}",
               "argument 'limit' must be at least 1 "
               "(got -9223372036854775807)");
    expect_err(s, "{\"pct\":0.25}",
               "argument 'pct' must be at least 0.5 (got 0.25)");
    expect_err(s, "{\"pct\":100}",
               "argument 'pct' must be at most 99.5 (got 100)");
}

static void
test_lengths(void)
{
    const char *s = "{\"type\":\"object\",\"properties\":"
                    "{\"s\":{\"type\":\"string\",\"minLength\":2,"
                    "\"maxLength\":3}}}";
    expect_ok(s, "{\"s\":\"ab\"}");
    /* lengths count characters, not bytes: two 2-byte characters */
    expect_ok(s, "{\"s\":\"\\u00e9\\u00e9\"}");
    expect_err(s, "{\"s\":\"a\"}",
               "argument 's' must have at least 2 character(s) (got 1)");
    expect_err(s, "{\"s\":\"\\u00e9\"}",
               "argument 's' must have at least 2 character(s) (got 1)");
    expect_err(s, "{\"s\":\"abcd\"}",
               "argument 's' must have at most 3 character(s) (got 4)");
    expect_err(depth_schema, "{\"symbol\":\"\"}",
               "argument 'symbol' must have at least 1 character(s) (got 0)");
}

static void
test_pattern(void)
{
    const char *unanchored = "{\"type\":\"object\",\"properties\":"
                             "{\"s\":{\"type\":\"string\","
                             "\"pattern\":\"USDT\"}}}";
    expect_err(depth_schema, "{\"symbol\":\"btcusdt\"}",
               "argument 'symbol' must match the pattern ^[A-Z0-9]+$ "
               "(got \"btcusdt\")");
    expect_err(depth_schema, "{\"symbol\":\"BTC/USDT\"}",
               "argument 'symbol' must match the pattern ^[A-Z0-9]+$ "
               "(got \"BTC/USDT\")");
    /* patterns are searched, not anchored, as in JSON Schema */
    expect_ok(unanchored, "{\"s\":\"BTCUSDT\"}");
    expect_err(unanchored, "{\"s\":\"BTCEUR\"}",
               "argument 's' must match the pattern USDT (got \"BTCEUR\")");
    /* an embedded NUL never passes a pattern */
    expect_err(unanchored, "{\"s\":\"USDT\\u0000x\"}",
               "argument 's' must match the pattern USDT "
               "(got \"USDT\\u0000x\")");
}

static void
test_pattern_that_does_not_compile(void)
{
    expect_err("{\"type\":\"object\",\"properties\":"
               "{\"s\":{\"type\":\"string\",\"pattern\":\"(\"}}}",
               "{\"s\":\"x\"}",
               "the schema pattern for argument 's' does not compile");
}

static void
test_items_and_nesting(void)
{
    const char *s =
        "{\"type\":\"object\",\"properties\":{"
        " \"symbols\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
        " \"order\":{\"type\":\"object\",\"additionalProperties\":false,"
        "   \"required\":[\"price\"],"
        "   \"properties\":{\"price\":{\"type\":\"string\"},"
        "                 \"legs\":{\"type\":\"array\",\"items\":"
        "                   {\"type\":\"integer\",\"maximum\":3}}}}}}";
    expect_ok(s, "{\"symbols\":[\"BTCUSDT\",\"ETHUSDT\"]}");
    expect_ok(s, "{\"order\":{\"price\":\"1.5\",\"legs\":[1,2,3]}}");
    expect_err(s, "{\"symbols\":[\"BTCUSDT\",5]}",
               "argument 'symbols[1]' must be a string (got number)");
    expect_err(s, "{\"order\":{}}", "missing required argument 'order.price'");
    expect_err(s, "{\"order\":{\"price\":1}}",
               "argument 'order.price' must be a string (got number)");
    expect_err(s, "{\"order\":{\"price\":\"1\",\"qty\":\"2\"}}",
               "unknown argument 'order.qty' (allowed: price, legs)");
    expect_err(s, "{\"order\":{\"price\":\"1\",\"legs\":[1,4]}}",
               "argument 'order.legs[1]' must be at most 3 (got 4)");
}

static void
test_ignored_keywords(void)
{
    /* description, title, default and anything unknown do not validate */
    expect_ok("{\"type\":\"object\",\"description\":\"d\",\"title\":\"t\","
              "\"default\":{},\"format\":\"date-time\","
              "\"properties\":{\"a\":{\"default\":5,\"frobnicate\":1}}}",
              "{\"a\":\"anything\"}");
}

static void
test_long_values_are_cut(void)
{
    char value[300], want[300];
    char big[201];

    memset(big, 'x', 200);
    big[200] = '\0';
    snprintf(value, sizeof(value), "{\"side\":\"%s\"}", big);
    snprintf(want, sizeof(want),
             "argument 'side' must be one of \"BUY\" (got \"%.59s...)", big);
    expect_err("{\"type\":\"object\",\"properties\":{\"side\":"
               "{\"enum\":[\"BUY\"]}}}",
               value, want);
}

static void
test_small_or_missing_error_buffer(void)
{
    char tiny[8];
    json_object *schema = json_tokener_parse(depth_schema);
    json_object *value = json_tokener_parse("{}");

    CU_ASSERT_EQUAL(schema_validate(schema, value, NULL, 0), -1);
    CU_ASSERT_EQUAL(schema_validate(schema, value, tiny, sizeof(tiny)), -1);
    CU_ASSERT_STRING_EQUAL(tiny, "missing");
    CU_ASSERT_EQUAL(schema_check(NULL, NULL, 0), -1);
    json_object_put(value);
    json_object_put(schema);
}

/* ---- schema_check ---- */

static void
expect_check(const char *schema_text, const char *want)
{
    char err[512] = "";
    json_object *schema = json_tokener_parse(schema_text);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
    rc = schema_check(schema, err, sizeof(err));
    if (want == NULL) {
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0)
            fprintf(stderr, "\n  unexpected failure: %s\n", err);
    } else {
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_STRING_EQUAL(err, want);
        if (strcmp(err, want) != 0)
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
    }
    json_object_put(schema);
}

static void
test_check_good(void)
{
    expect_check(depth_schema, NULL);
    expect_check("{\"type\":\"object\"}", NULL);
    expect_check(
        "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
        " \"type\":\"object\",\"title\":\"t\",\"description\":\"d\","
        " \"$comment\":\"c\",\"examples\":[{}],"
        " \"properties\":{"
        "  \"ids\":{\"type\":\"array\",\"items\":{\"type\":[\"string\","
        "          \"integer\"]}},"
        "  \"pct\":{\"type\":\"number\",\"minimum\":0,\"maximum\":0.5},"
        "  \"b\":{\"type\":\"boolean\",\"default\":false},"
        "  \"o\":{\"type\":\"object\",\"properties\":{\"x\":{}},"
        "        \"required\":[\"x\"],\"additionalProperties\":true}},"
        " \"required\":[],\"additionalProperties\":false}",
        NULL);
}

static void
test_check_top_level(void)
{
    char err[128];
    CU_ASSERT_EQUAL(schema_check(NULL, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "#: a schema must be an object");
    expect_check("[]", "#: a schema must be an object");
    expect_check("{}", "#: a tool schema must have type \"object\"");
    expect_check("{\"type\":\"string\"}",
                 "#: a tool schema must have type \"object\"");
    expect_check("{\"type\":[\"object\"]}",
                 "#: a tool schema must have type \"object\"");
}

static void
test_check_bad_keywords(void)
{
    expect_check("{\"type\":\"object\",\"requried\":[\"a\"]}",
                 "#: unknown keyword 'requried'");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"type\":\"str\"}}}",
                 "#/properties/a: unknown type 'str'");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"type\":[]}}}",
                 "#/properties/a: 'type' must be a type name or a non-empty "
                 "array of them");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"type\":[\"string\",1]}}}",
                 "#/properties/a: 'type' array must hold type names");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"type\":[\"string\",\"nil\"]}}}",
                 "#/properties/a: unknown type 'nil'");
    expect_check("{\"type\":\"object\",\"properties\":[]}",
                 "#: 'properties' must be an object");
    expect_check("{\"type\":\"object\",\"properties\":{\"a\":5}}",
                 "#/properties/a: a schema must be an object");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"minimun\":1}}}",
                 "#/properties/a: unknown keyword 'minimun'");
}

static void
test_check_bad_values(void)
{
    expect_check("{\"type\":\"object\",\"required\":\"a\"}",
                 "#: 'required' must be an array");
    expect_check("{\"type\":\"object\",\"properties\":{\"a\":{}},"
                 "\"required\":[1]}",
                 "#: 'required' must hold strings");
    expect_check("{\"type\":\"object\",\"properties\":{\"a\":{}},"
                 "\"required\":[\"b\"]}",
                 "#: required property 'b' is not in 'properties'");
    expect_check("{\"type\":\"object\",\"required\":[\"b\"]}",
                 "#: required property 'b' is not in 'properties'");
    expect_check("{\"type\":\"object\",\"additionalProperties\":{}}",
                 "#: 'additionalProperties' must be a boolean");
    expect_check("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[]}}}",
                 "#/properties/a: 'enum' must be a non-empty array");
    expect_check("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":5}}}",
                 "#/properties/a: 'enum' must be a non-empty array");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"enum\":[\"x\",true]}}}",
                 "#/properties/a: 'enum' may hold only strings and integers");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"minimum\":\"1\"}}}",
                 "#/properties/a: 'minimum' must be a number");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"maximum\":null}}}",
                 "#/properties/a: 'maximum' must be a number");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"minLength\":-1}}}",
                 "#/properties/a: 'minLength' must be a non-negative integer");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"maxLength\":2.5}}}",
                 "#/properties/a: 'maxLength' must be a non-negative integer");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"pattern\":\"([a-z\"}}}",
                 "#/properties/a: 'pattern' must be a POSIX extended regular "
                 "expression");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"pattern\":5}}}",
                 "#/properties/a: 'pattern' must be a POSIX extended regular "
                 "expression");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"items\":[]}}}",
                 "#/properties/a/items: a schema must be an object");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"items\":{\"type\":\"bogus\"}}}}",
                 "#/properties/a/items: unknown type 'bogus'");
    expect_check("{\"type\":\"object\",\"description\":5}",
                 "#: 'description' must be a string");
    expect_check("{\"type\":\"object\",\"title\":[]}",
                 "#: 'title' must be a string");
    expect_check("{\"type\":\"object\",\"examples\":{}}",
                 "#: 'examples' must be an array");
}

static void
test_check_inconsistent_bounds(void)
{
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"minimum\":10,\"maximum\":1}}}",
                 "#/properties/a: 'minimum' is greater than 'maximum'");
    expect_check("{\"type\":\"object\",\"properties\":"
                 "{\"a\":{\"minLength\":3,\"maxLength\":2}}}",
                 "#/properties/a: 'minLength' is greater than 'maxLength'");
}

static void
test_coerce_decimals(void)
{
    json_object *schema = json_tokener_parse(
        "{\"type\":\"object\",\"properties\":{"
        "\"quantity\":{\"type\":\"string\",\"pattern\":"
        "\"^[0-9]{1,20}([.][0-9]{1,20})?$\"},"
        "\"price\":{\"type\":\"string\",\"pattern\":"
        "\"^[0-9]{1,20}([.][0-9]{1,20})?$\"},"
        "\"side\":{\"type\":\"string\"},"
        "\"limit\":{\"type\":\"integer\"}},\"additionalProperties\":false}");
    json_object *args = json_tokener_parse(
        "{\"quantity\":0.00100,\"price\":50000,\"side\":\"BUY\",\"limit\":5}");
    char err[256];

    schema_coerce_decimals(schema, args);
    /* the client's exact text, not a double's rendering */
    CU_ASSERT_STRING_EQUAL(
        json_object_get_string(json_object_object_get(args, "quantity")),
        "0.00100");
    CU_ASSERT_TRUE(json_object_is_type(json_object_object_get(args, "price"),
                                       json_type_string));
    CU_ASSERT_STRING_EQUAL(
        json_object_get_string(json_object_object_get(args, "price")), "50000");
    /* other types are left alone */
    CU_ASSERT_TRUE(json_object_is_type(json_object_object_get(args, "limit"),
                                       json_type_int));
    CU_ASSERT_EQUAL(schema_validate(schema, args, err, sizeof(err)), 0);
    json_object_put(args);
    /* an exponent or a sign stays refused, with the argument named */
    args = json_tokener_parse("{\"quantity\":1e-3}");
    schema_coerce_decimals(schema, args);
    CU_ASSERT_EQUAL(schema_validate(schema, args, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "quantity"));
    json_object_put(args);
    args = json_tokener_parse("{\"quantity\":-0.5}");
    schema_coerce_decimals(schema, args);
    CU_ASSERT_EQUAL(schema_validate(schema, args, err, sizeof(err)), -1);
    json_object_put(args);
    json_object_put(schema);
}

static CU_TestInfo validate_tests[] = {
    {"decimal arguments given as JSON numbers keep their exact text",
     test_coerce_decimals},
    {"valid arguments", test_valid_arguments},
    {"type string", test_type_string},
    {"type integer", test_type_integer},
    {"type number", test_type_number},
    {"type boolean", test_type_boolean},
    {"type array and object", test_type_array_and_object},
    {"type as a list", test_type_list},
    {"top level value", test_top_level},
    {"required", test_required},
    {"additionalProperties", test_additional_properties},
    {"enum", test_enum},
    {"minimum and maximum", test_minimum_maximum},
    {"minLength and maxLength", test_lengths},
    {"pattern", test_pattern},
    {"pattern that does not compile", test_pattern_that_does_not_compile},
    {"items and nested objects", test_items_and_nesting},
    {"ignored keywords", test_ignored_keywords},
    {"long values are cut", test_long_values_are_cut},
    {"small or missing error buffer", test_small_or_missing_error_buffer},
    CU_TEST_INFO_NULL,
};

/* JSON Schema 2020-12 local references: "$ref": "#/$defs/NAME". */
static const char *const ref_schema =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    " \"type\":\"object\","
    " \"$defs\":{\"address\":{\"type\":\"object\","
    "   \"properties\":{\"street\":{\"type\":\"string\"},"
    "                   \"city\":{\"type\":\"string\"}},"
    "   \"required\":[\"city\"],\"additionalProperties\":false}},"
    " \"properties\":{\"name\":{\"type\":\"string\"},"
    "                 \"address\":{\"$ref\":\"#/$defs/address\"}},"
    " \"additionalProperties\":false}";

static void
test_refs(void)
{
    char err[256];
    json_object *s = json_tokener_parse(ref_schema);
    CU_ASSERT_EQUAL(schema_check(s, err, sizeof(err)), 0);
    json_object_put(s);
    expect_ok(ref_schema, "{\"name\":\"a\",\"address\":{\"city\":\"Oslo\"}}");
    /* the referenced schema is enforced, not skipped */
    CU_ASSERT_EQUAL(run_validate(ref_schema, "{\"address\":{\"street\":\"x\"}}",
                                 err, sizeof(err)),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "city"));
    CU_ASSERT_EQUAL(run_validate(ref_schema, "{\"address\":{\"city\":5}}", err,
                                 sizeof(err)),
                    -1);
    /* a $ref that names nothing, or something outside $defs, is refused */
    s = json_tokener_parse("{\"type\":\"object\",\"properties\":{\"a\":"
                           "{\"$ref\":\"#/$defs/missing\"}}}");
    CU_ASSERT_EQUAL(schema_check(s, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$ref"));
    json_object_put(s);
    s = json_tokener_parse("{\"type\":\"object\",\"properties\":{\"a\":"
                           "{\"$ref\":\"https://example.com/s.json\"}}}");
    CU_ASSERT_EQUAL(schema_check(s, err, sizeof(err)), -1);
    json_object_put(s);
    /* a reference loop is stopped, not followed for ever */
    expect_err("{\"type\":\"object\",\"$defs\":{\"x\":{\"$ref\":"
               "\"#/$defs/x\"}},\"properties\":{\"a\":{\"$ref\":"
               "\"#/$defs/x\"}}}",
               "{\"a\":1}", "the schema's $ref #/$defs/x cannot be followed");
}

static CU_TestInfo check_tests[] = {
    {"$defs and $ref", test_refs},
    {"good schemas", test_check_good},
    {"top level", test_check_top_level},
    {"bad keywords and types", test_check_bad_keywords},
    {"bad keyword values", test_check_bad_values},
    {"inconsistent bounds", test_check_inconsistent_bounds},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"schema_validate", NULL, NULL, NULL, NULL, validate_tests},
    {"schema_check", NULL, NULL, NULL, NULL, check_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
