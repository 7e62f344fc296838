/*
 * fuzz_schema.c - libFuzzer harness of tool-argument validation: the
 * fuzzed JSON value, as the arguments of every tool of binmcpd's table,
 * through schema_coerce_decimals and schema_validate against that tool's
 * input schema (tool_at(i)->input_schema), as the engine runs them before
 * a handler; and once more without the coercion.
 *
 * Input: one JSON text (a seed corpus of real arguments). The schemas are
 * parsed once; every input's objects are freed before it returns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzzlib.h"
#include "schema.h"
#include "tools.h"

static json_object **schemas;
static size_t nschemas;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    nschemas = tool_count();
    schemas = calloc(nschemas, sizeof(*schemas));
    if (schemas == NULL)
        abort();
    for (size_t i = 0; i < nschemas; i++) {
        schemas[i] = json_tokener_parse(tool_at(i)->input_schema);
        if (schemas[i] == NULL)
            abort(); /* the table's self-test (test_tools) would fail too */
    }
    return 0;
}

/* A failure must leave a sentence in err. */
static void
check_validate(json_object *schema, json_object *value)
{
    char err[512];

    err[0] = '\0';
    if (schema_validate(schema, value, err, sizeof(err)) < 0) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *value = fuzz_json(data, size);

    if (value == NULL)
        return 0;
    for (size_t i = 0; i < nschemas; i++) {
        json_object *copy = NULL;

        check_validate(schemas[i], value);
        /* The engine coerces the arguments in place, then validates. */
        if (json_object_deep_copy(value, &copy, NULL) < 0)
            abort();
        schema_coerce_decimals(schemas[i], copy);
        check_validate(schemas[i], copy);
        json_object_put(copy);
    }
    json_object_put(value);
    return 0;
}
