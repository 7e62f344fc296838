/*
 * schema.h - validation of tool arguments against the JSON Schema subset our
 * tool table uses.
 *
 * Keywords understood: type (object, string, integer, number, boolean,
 * array; or an array of those), properties, required, additionalProperties
 * (false only), enum (strings and integers), minimum, maximum, minLength,
 * maxLength, pattern (POSIX extended regex), items, description and title
 * (ignored), default (ignored). Anything else in a schema is ignored.
 */
#ifndef BINMCPD_SCHEMA_H
#define BINMCPD_SCHEMA_H

#include <stddef.h>

#include <json-c/json.h>

/* Checks value against schema. value may be NULL, which is treated as an
 * empty object. Neither reference is taken. Returns 0 when valid, or -1 with
 * a sentence naming the offending argument in err, e.g.
 * "argument 'limit' must be one of 5, 10, 20, 50, 100, 500, 1000, 5000 (got 7)"
 * or "missing required argument 'symbol'". */
int schema_validate(json_object *schema, json_object *value, char *err,
                    size_t errlen);

/* LLM clients and some inspectors send decimal arguments as JSON numbers
 * ("quantity": 0.001) where a tool declares a decimal string (type string
 * with a pattern that starts "^[0-9"). For each such top-level argument
 * given as a non-negative number, replaces it in args with a string of the
 * number's exact JSON text as the client wrote it (json-c keeps it), never a
 * binary double's rendering; validation then checks that text against the
 * pattern. args is changed in place; schema is only read. */
void schema_coerce_decimals(json_object *schema, json_object *args);

/* Checks that schema uses only what schema_validate understands and is an
 * object schema (type "object"). Returns 0 or -1 with a reason in err. Used
 * by the tool table self-test. */
int schema_check(json_object *schema, char *err, size_t errlen);

#endif
