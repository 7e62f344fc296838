/*
 * fuzz_shape.c - libFuzzer harness of the shaping of Binance answers the
 * tools read (tools_util.h): tu_shape_body and tu_pick with every tool's
 * shape, then the markdown blocks (tu_md_market, tu_md_balances,
 * tu_md_orders) and the decimal text helpers (dec_text_display, dec_text_add,
 * dec_text_is_zero) on the same body.
 *
 * The shapes: the tools' struct tu_simple specs are static in
 * tools_*.c, so each tool's shape is derived from what it promises, its
 * output schema: the object's properties as fields; for each property
 * that is an array of objects, that array as the wrap with the items'
 * properties as fields, and again as columns (the klines kind), with
 * count when the output has one; plus "everything" (fields NULL) with and
 * without a wrap. That covers every path of the shaping code with the
 * field names the tools use.
 *
 * Input: one JSON text (seeds: the fake exchange's answers).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dbuf.h"
#include "decimal.h"
#include "fuzzlib.h"
#include "symcache.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_md.h"

#define FUZZ_MD_MAX   (256 * 1024)
#define FUZZ_MAX_STRS 8

static json_object **outs; /* the parsed output schemas: own the names */
static size_t nouts;
static struct tu_shape *shapes;
static size_t nshapes, capshapes;

/* A NULL-terminated list of the keys of props (borrowed from it). */
static const char **
keys_of(json_object *props)
{
    size_t n = (size_t)json_object_object_length(props), i = 0;
    const char **keys = calloc(n + 1, sizeof(*keys));

    if (keys == NULL)
        abort();
    json_object_object_foreach(props, key, val)
    {
        (void)val;
        keys[i++] = key;
    }
    return keys;
}

static void
shape_add(const char **fields, const char **columns, const char *wrap,
          int count)
{
    if (nshapes == capshapes) {
        capshapes = capshapes ? 2 * capshapes : 64;
        shapes = realloc(shapes, capshapes * sizeof(*shapes));
        if (shapes == NULL)
            abort();
    }
    shapes[nshapes++] = (struct tu_shape){fields, columns, wrap, count, 0};
}

/* The shapes of one output schema (see the top of the file). */
static void
shapes_of(json_object *out)
{
    json_object *props, *items, *iprops;

    if (!json_object_object_get_ex(out, "properties", &props) ||
        !json_object_is_type(props, json_type_object))
        return;
    int count = json_object_object_get_ex(props, "count", NULL);
    shape_add(keys_of(props), NULL, NULL, 0);
    json_object_object_foreach(props, key, val)
    {
        if (json_object_object_get_ex(val, "items", &items) &&
            json_object_object_get_ex(items, "properties", &iprops) &&
            json_object_is_type(iprops, json_type_object)) {
            shape_add(keys_of(iprops), NULL, key, count);
            shape_add(NULL, keys_of(iprops), key, count);
        }
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    nouts = tool_count();
    outs = calloc(nouts, sizeof(*outs));
    if (outs == NULL)
        abort();
    shape_add(NULL, NULL, NULL, 0);    /* the whole object */
    shape_add(NULL, NULL, "items", 1); /* the whole array */
    for (size_t i = 0; i < nouts; i++) {
        const char *text = tool_at(i)->output_schema;
        if (text == NULL)
            continue;
        outs[i] = json_tokener_parse(text);
        if (outs[i] == NULL)
            abort();
        shapes_of(outs[i]);
    }
    return 0;
}

/* The shapes, each into a fresh object that is then serialized. */
static void
run_shapes(json_object *body)
{
    for (size_t i = 0; i < nshapes; i++) {
        json_object *into = json_object_new_object(), *picked;

        if (into == NULL)
            abort();
        (void)tu_shape_body(body, &shapes[i], into);
        (void)json_object_to_json_string_ext(into, JSON_C_TO_STRING_PLAIN);
        json_object_put(into);
        picked = tu_pick(body, shapes[i].fields);
        if (picked != NULL && !json_object_is_type(picked, json_type_object))
            abort();
        json_object_put(picked);
    }
}

/* The markdown blocks the tools, resources and prompts show. */
static void
run_markdown(json_object *body)
{
    static const struct sym_info si = {"BTCUSDT", "BTC", "USDT", "BREAK"};
    json_object *bal = NULL;
    struct dbuf b;
    size_t shown;

    dbuf_init(&b, FUZZ_MD_MAX);
    (void)tu_md_market(&b, body, body, &si);
    dbuf_reset(&b);
    (void)tu_md_market(&b, body, NULL, NULL);
    dbuf_reset(&b);
    if (!json_object_object_get_ex(body, "balances", &bal))
        bal = body;
    (void)tu_md_balances(&b, bal, &shown);
    dbuf_reset(&b);
    (void)tu_md_orders(&b, body);
    (void)dbuf_str(&b);
    dbuf_free(&b);
}

/* dec_text_add must agree with decimal.h wherever both can add. */
static void
check_sum(const char *a, const char *b, const char *sum)
{
    struct dec da, db, ds, dsum;

    if (dec_parse(a, &da) == 0 && dec_parse(b, &db) == 0 &&
        dec_add(&da, &db, &ds) == 0 &&
        (dec_parse(sum, &dsum) < 0 || dec_cmp(&ds, &dsum) != 0))
        abort();
}

/* The decimal text helpers on the body's first string values. */
static void
run_decimals(json_object *body)
{
    const char *s[FUZZ_MAX_STRS];
    char buf[64], sum[64];
    size_t n = 0;

    if (json_object_is_type(body, json_type_string)) {
        s[n++] = json_object_get_string(body);
    } else if (json_object_is_type(body, json_type_object)) {
        json_object_object_foreach(body, key, val)
        {
            if (n < FUZZ_MAX_STRS)
                s[n++] = json_object_is_type(val, json_type_string)
                             ? json_object_get_string(val)
                             : tu_jstr(body, key);
        }
    }
    for (size_t i = 0; i < n; i++) {
        (void)dec_text_display(s[i], buf, sizeof(buf));
        (void)dec_text_display(s[i], buf, 4); /* truncating */
        (void)dec_text_is_zero(s[i]);
        for (size_t j = 0; j < n; j++)
            if (dec_text_add(s[i], s[j], sum, sizeof(sum)) == 0)
                check_sum(s[i], s[j], sum);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *body = fuzz_json(data, size);

    if (body == NULL)
        return 0;
    run_shapes(body);
    run_markdown(body);
    run_decimals(body);
    json_object_put(body);
    return 0;
}
