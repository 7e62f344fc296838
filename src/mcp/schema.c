/*
 * schema.c - a validator for the JSON Schema subset of our tool table.
 * See schema.h for the keywords understood.
 *
 * Error sentences name the argument by its path ("limit", "order.price",
 * "symbols[2]") and say what was expected, because a model reads them and
 * must be able to correct its call from the text alone.
 */
#include "config.h"

#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

#define SCHEMA_PATH_MAX 256 /* longest argument path or schema location */
#define SCHEMA_SHOW_MAX 60  /* longest value text quoted in an error */

/* Where error sentences go; err may be NULL or errlen 0. */
struct sctx {
    char *err;
    size_t errlen;
    json_object *root; /* the whole schema, for "$ref": "#/$defs/NAME" */
    int depth;         /* $ref nesting, against loops */
};

#define SCHEMA_REF_DEPTH 16

/* The schema a local "$ref" names ("#/$defs/NAME"), or NULL. */
static json_object *
resolve_ref(const struct sctx *c, json_object *ref)
{
    static const char prefix[] = "#/$defs/";
    json_object *defs, *target;
    const char *s = json_object_get_string(ref);

    if (c->root == NULL || s == NULL ||
        strncmp(s, prefix, sizeof(prefix) - 1) != 0 ||
        !json_object_object_get_ex(c->root, "$defs", &defs) ||
        !json_object_object_get_ex(defs, s + sizeof(prefix) - 1, &target))
        return NULL;
    return target;
}

static int schema_fail(struct sctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formats the error sentence and returns -1. */
static int
schema_fail(struct sctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err == NULL || c->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- helpers on values ---- */

/* The JSON name of a value's kind, as a model knows it. */
static const char *
json_kind(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "boolean";
    case json_type_double:
    case json_type_int:
        return "number";
    case json_type_string:
        return "string";
    case json_type_array:
        return "array";
    case json_type_object:
        return "object";
    }
    return "value";
}

/* True when v is a whole number: a JSON integer, or a double with no
 * fraction within the range a double represents exactly. */
static int
json_is_integer(json_object *v, int64_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        /* The range test comes first so the cast is defined; no libm. */
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 &&
            d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return 1;
        }
    }
    return 0;
}

static int
json_is_number(json_object *v)
{
    return json_object_is_type(v, json_type_int) ||
           json_object_is_type(v, json_type_double);
}

/* Writes v as compact JSON into buf, cut with "..." when long. */
static const char *
json_show(json_object *v, char *buf, size_t len)
{
    const char *s = json_object_to_json_string_ext(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(s);

    if (n <= SCHEMA_SHOW_MAX)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "%.*s...", SCHEMA_SHOW_MAX, s);
    return buf;
}

/* Number of Unicode code points in a UTF-8 string of n bytes. */
static size_t
utf8_length(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* "argument 'x'" for a named argument, "arguments" for the whole object. */
static const char *
arg_label(const char *path, char *buf, size_t len)
{
    if (path[0] == '\0')
        snprintf(buf, len, "arguments");
    else
        snprintf(buf, len, "argument '%s'", path);
    return buf;
}

/* ---- type ---- */

static const struct {
    const char *name;
    const char *phrase;
} schema_types[] = {
    {"object", "an object"},   {"string", "a string"},
    {"integer", "an integer"}, {"number", "a number"},
    {"boolean", "a boolean"},  {"array", "an array"},
};
#define N_SCHEMA_TYPES (sizeof(schema_types) / sizeof(schema_types[0]))

static const char *
type_phrase(const char *name)
{
    for (size_t i = 0; i < N_SCHEMA_TYPES; i++)
        if (strcmp(schema_types[i].name, name) == 0)
            return schema_types[i].phrase;
    return NULL;
}

static int
type_matches(const char *name, json_object *v)
{
    int64_t ignored;

    if (strcmp(name, "object") == 0)
        return json_object_is_type(v, json_type_object);
    if (strcmp(name, "string") == 0)
        return json_object_is_type(v, json_type_string);
    if (strcmp(name, "integer") == 0)
        return json_is_integer(v, &ignored);
    if (strcmp(name, "number") == 0)
        return json_is_number(v);
    if (strcmp(name, "boolean") == 0)
        return json_object_is_type(v, json_type_boolean);
    if (strcmp(name, "array") == 0)
        return json_object_is_type(v, json_type_array);
    return 0;
}

/* Checks v against "type" (a name or an array of names). */
static int
check_type(struct sctx *c, json_object *type, json_object *v, const char *path)
{
    char label[SCHEMA_PATH_MAX + 16], want[256] = "";
    size_t n, used = 0;

    if (json_object_is_type(type, json_type_string)) {
        const char *name = json_object_get_string(type);
        if (type_matches(name, v))
            return 0;
        const char *phrase = type_phrase(name);
        return schema_fail(c, "%s must be %s (got %s)",
                           arg_label(path, label, sizeof(label)),
                           phrase != NULL ? phrase : name, json_kind(v));
    }
    if (!json_object_is_type(type, json_type_array))
        return 0;
    n = json_object_array_length(type);
    for (size_t i = 0; i < n; i++) {
        const char *name =
            json_object_get_string(json_object_array_get_idx(type, i));
        if (name == NULL)
            continue;
        if (type_matches(name, v))
            return 0;
        const char *phrase = type_phrase(name);
        int w = snprintf(want + used, sizeof(want) - used, "%s%s",
                         i > 0 ? " or " : "", phrase != NULL ? phrase : name);
        if (w > 0 && (size_t)w < sizeof(want) - used)
            used += (size_t)w;
    }
    return schema_fail(c, "%s must be %s (got %s)",
                       arg_label(path, label, sizeof(label)), want,
                       json_kind(v));
}

/* ---- enum, bounds, strings ---- */

static int
enum_entry_matches(json_object *entry, json_object *v)
{
    if (json_object_is_type(entry, json_type_string))
        return json_object_is_type(v, json_type_string) &&
               strcmp(json_object_get_string(entry),
                      json_object_get_string(v)) == 0;
    int64_t a, b;
    if (json_is_integer(entry, &a) && json_is_integer(v, &b))
        return a == b;
    return json_object_equal(entry, v);
}

static int
check_enum(struct sctx *c, json_object *list, json_object *v, const char *path)
{
    char label[SCHEMA_PATH_MAX + 16], shown[SCHEMA_SHOW_MAX + 8];
    char allowed[512] = "";
    size_t used = 0, n;

    if (!json_object_is_type(list, json_type_array))
        return 0;
    n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++)
        if (enum_entry_matches(json_object_array_get_idx(list, i), v))
            return 0;
    for (size_t i = 0; i < n; i++) {
        char one[SCHEMA_SHOW_MAX + 8];
        json_show(json_object_array_get_idx(list, i), one, sizeof(one));
        int w = snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
                         i > 0 ? ", " : "", one);
        if (w < 0 || (size_t)w >= sizeof(allowed) - used)
            break;
        used += (size_t)w;
    }
    return schema_fail(c, "%s must be one of %s (got %s)",
                       arg_label(path, label, sizeof(label)), allowed,
                       json_show(v, shown, sizeof(shown)));
}

/* Compares a numeric value with a numeric bound: <0, 0, >0. */
static int
number_cmp(json_object *v, json_object *bound)
{
    if (json_object_is_type(v, json_type_int) &&
        json_object_is_type(bound, json_type_int)) {
        int64_t a = json_object_get_int64(v);
        int64_t b = json_object_get_int64(bound);
        return (a > b) - (a < b);
    }
    double x = json_object_get_double(v), y = json_object_get_double(bound);
    return (x > y) - (x < y);
}

static int
check_bounds(struct sctx *c, json_object *schema, json_object *v,
             const char *path)
{
    char label[SCHEMA_PATH_MAX + 16], shown[SCHEMA_SHOW_MAX + 8];
    char lim[SCHEMA_SHOW_MAX + 8];
    json_object *b;

    if (json_object_object_get_ex(schema, "minimum", &b) && json_is_number(b) &&
        number_cmp(v, b) < 0)
        return schema_fail(c, "%s must be at least %s (got %s)",
                           arg_label(path, label, sizeof(label)),
                           json_show(b, lim, sizeof(lim)),
                           json_show(v, shown, sizeof(shown)));
    if (json_object_object_get_ex(schema, "maximum", &b) && json_is_number(b) &&
        number_cmp(v, b) > 0)
        return schema_fail(c, "%s must be at most %s (got %s)",
                           arg_label(path, label, sizeof(label)),
                           json_show(b, lim, sizeof(lim)),
                           json_show(v, shown, sizeof(shown)));
    return 0;
}

/* Whether the POSIX extended regex pattern occurs in s: 1 yes, 0 no, -1 the
 * pattern does not compile. */
static int
regex_search(const char *pattern, const char *s)
{
    regex_t re;
    int rc;

    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    return rc == 0;
}

static int
check_string(struct sctx *c, json_object *schema, json_object *v,
             const char *path)
{
    char label[SCHEMA_PATH_MAX + 16];
    const char *s = json_object_get_string(v);
    size_t bytes = (size_t)json_object_get_string_len(v);
    size_t chars = utf8_length(s, bytes);
    json_object *k;

    arg_label(path, label, sizeof(label));
    if (json_object_object_get_ex(schema, "minLength", &k) &&
        json_object_is_type(k, json_type_int) &&
        (int64_t)chars < json_object_get_int64(k))
        return schema_fail(c,
                           "%s must have at least %lld character(s) "
                           "(got %zu)",
                           label, (long long)json_object_get_int64(k), chars);
    if (json_object_object_get_ex(schema, "maxLength", &k) &&
        json_object_is_type(k, json_type_int) &&
        (int64_t)chars > json_object_get_int64(k))
        return schema_fail(c,
                           "%s must have at most %lld character(s) "
                           "(got %zu)",
                           label, (long long)json_object_get_int64(k), chars);
    if (json_object_object_get_ex(schema, "pattern", &k) &&
        json_object_is_type(k, json_type_string)) {
        const char *pattern = json_object_get_string(k);
        /* An embedded NUL would hide the rest of the string from regexec. */
        int m = strlen(s) == bytes ? regex_search(pattern, s) : 0;
        if (m < 0)
            return schema_fail(c,
                               "the schema pattern for %s does not "
                               "compile",
                               label);
        if (m == 0) {
            char shown[SCHEMA_SHOW_MAX + 8];
            return schema_fail(c, "%s must match the pattern %s (got %s)",
                               label, pattern,
                               json_show(v, shown, sizeof(shown)));
        }
    }
    return 0;
}

/* ---- objects and arrays ---- */

static int validate_node(struct sctx *c, json_object *schema, json_object *v,
                         const char *path);

static void
child_path(char *out, size_t len, const char *path, const char *name)
{
    if (path[0] == '\0')
        snprintf(out, len, "%s", name);
    else
        snprintf(out, len, "%s.%s", path, name);
}

/* Lists the property names of a schema, comma-separated, into buf. */
static const char *
allowed_names(json_object *props, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    if (props == NULL || !json_object_is_type(props, json_type_object) ||
        json_object_object_length(props) == 0) {
        snprintf(buf, len, "none");
        return buf;
    }
    json_object_object_foreach(props, name, sub)
    {
        (void)sub;
        int w = snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "",
                         name);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

static int
check_unknown(struct sctx *c, json_object *schema, json_object *props,
              json_object *v, const char *path)
{
    char where[SCHEMA_PATH_MAX], allowed[512];
    json_object *ap, *ignored;

    if (!json_object_object_get_ex(schema, "additionalProperties", &ap) ||
        !json_object_is_type(ap, json_type_boolean) ||
        json_object_get_boolean(ap))
        return 0;
    json_object_object_foreach(v, name, val)
    {
        (void)val;
        if (props != NULL && json_object_object_get_ex(props, name, &ignored))
            continue;
        child_path(where, sizeof(where), path, name);
        return schema_fail(c, "unknown argument '%s' (allowed: %s)", where,
                           allowed_names(props, allowed, sizeof(allowed)));
    }
    return 0;
}

static int
check_object(struct sctx *c, json_object *schema, json_object *v,
             const char *path)
{
    char where[SCHEMA_PATH_MAX];
    json_object *props = NULL, *req, *child;

    if (json_object_object_get_ex(schema, "properties", &props) &&
        !json_object_is_type(props, json_type_object))
        props = NULL;
    if (check_unknown(c, schema, props, v, path) < 0)
        return -1;
    if (json_object_object_get_ex(schema, "required", &req) &&
        json_object_is_type(req, json_type_array)) {
        size_t n = json_object_array_length(req);
        for (size_t i = 0; i < n; i++) {
            const char *name =
                json_object_get_string(json_object_array_get_idx(req, i));
            if (name == NULL || json_object_object_get_ex(v, name, NULL))
                continue;
            child_path(where, sizeof(where), path, name);
            return schema_fail(c, "missing required argument '%s'", where);
        }
    }
    if (props == NULL)
        return 0;
    json_object_object_foreach(props, name, sub)
    {
        if (!json_object_object_get_ex(v, name, &child))
            continue;
        child_path(where, sizeof(where), path, name);
        if (validate_node(c, sub, child, where) < 0)
            return -1;
    }
    return 0;
}

static int
check_array(struct sctx *c, json_object *schema, json_object *v,
            const char *path)
{
    char where[SCHEMA_PATH_MAX];
    json_object *items;
    size_t n;

    if (!json_object_object_get_ex(schema, "items", &items))
        return 0;
    n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        snprintf(where, sizeof(where), "%s[%zu]",
                 path[0] != '\0' ? path : "arguments", i);
        if (validate_node(c, items, json_object_array_get_idx(v, i), where) < 0)
            return -1;
    }
    return 0;
}

/* Applies every keyword of schema to v; path names v in error sentences. */
static int
validate_node(struct sctx *c, json_object *schema, json_object *v,
              const char *path)
{
    json_object *k;

    if (!json_object_is_type(schema, json_type_object))
        return 0;
    if (json_object_object_get_ex(schema, "$ref", &k)) {
        json_object *target = resolve_ref(c, k);
        if (target == NULL || c->depth >= SCHEMA_REF_DEPTH)
            return schema_fail(c, "the schema's $ref %s cannot be followed",
                               json_object_get_string(k));
        c->depth++;
        int rc = validate_node(c, target, v, path);
        c->depth--;
        if (rc < 0)
            return -1;
    }
    if (json_object_object_get_ex(schema, "type", &k) &&
        check_type(c, k, v, path) < 0)
        return -1;
    if (json_object_object_get_ex(schema, "enum", &k) &&
        check_enum(c, k, v, path) < 0)
        return -1;
    switch (json_object_get_type(v)) {
    case json_type_int:
    case json_type_double:
        return check_bounds(c, schema, v, path);
    case json_type_string:
        return check_string(c, schema, v, path);
    case json_type_object:
        return check_object(c, schema, v, path);
    case json_type_array:
        return check_array(c, schema, v, path);
    case json_type_null:
    case json_type_boolean:
        break;
    }
    return 0;
}

/* Contract in schema.h. */
int
schema_validate(json_object *schema, json_object *value, char *err,
                size_t errlen)
{
    struct sctx c = {err, errlen, schema, 0};
    json_object *empty = NULL;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (value == NULL) {
        empty = json_object_new_object();
        if (empty == NULL)
            return schema_fail(&c, "out of memory validating arguments");
        value = empty;
    }
    rc = validate_node(&c, schema, value, "");
    json_object_put(empty);
    return rc;
}

/* ---- schema_check: is a schema made only of what we understand? ---- */

enum kw_kind {
    KW_TYPE,
    KW_PROPERTIES,
    KW_REQUIRED,
    KW_BOOLEAN,
    KW_ENUM,
    KW_NUMBER,
    KW_COUNT,
    KW_PATTERN,
    KW_SCHEMA,
    KW_STRING,
    KW_ARRAY,
    KW_ANY,
    KW_DEFS,
    KW_REF,
};

static const struct {
    const char *name;
    enum kw_kind kind;
} schema_keywords[] = {
    {"type", KW_TYPE},
    {"properties", KW_PROPERTIES},
    {"required", KW_REQUIRED},
    {"additionalProperties", KW_BOOLEAN},
    {"enum", KW_ENUM},
    {"minimum", KW_NUMBER},
    {"maximum", KW_NUMBER},
    {"minLength", KW_COUNT},
    {"maxLength", KW_COUNT},
    {"pattern", KW_PATTERN},
    {"items", KW_SCHEMA},
    {"description", KW_STRING},
    {"title", KW_STRING},
    {"default", KW_ANY},
    /* pure annotations, harmless to carry */
    {"$schema", KW_STRING},
    {"$defs", KW_DEFS},
    {"$ref", KW_REF},
    {"$comment", KW_STRING},
    {"examples", KW_ARRAY},
};
#define N_SCHEMA_KEYWORDS (sizeof(schema_keywords) / sizeof(schema_keywords[0]))

static int check_node(struct sctx *c, json_object *schema, const char *where);

static int
check_type_keyword(struct sctx *c, json_object *t, const char *where)
{
    size_t n;

    if (json_object_is_type(t, json_type_string)) {
        if (type_phrase(json_object_get_string(t)) == NULL)
            return schema_fail(c, "%s: unknown type '%s'", where,
                               json_object_get_string(t));
        return 0;
    }
    if (!json_object_is_type(t, json_type_array) ||
        (n = json_object_array_length(t)) == 0)
        return schema_fail(c,
                           "%s: 'type' must be a type name or a "
                           "non-empty array of them",
                           where);
    for (size_t i = 0; i < n; i++) {
        json_object *name = json_object_array_get_idx(t, i);
        if (!json_object_is_type(name, json_type_string))
            return schema_fail(c, "%s: 'type' array must hold type names",
                               where);
        if (check_type_keyword(c, name, where) < 0)
            return -1;
    }
    return 0;
}

static int
check_properties_keyword(struct sctx *c, json_object *props, const char *where)
{
    char sub_where[SCHEMA_PATH_MAX];

    if (!json_object_is_type(props, json_type_object))
        return schema_fail(c, "%s: 'properties' must be an object", where);
    json_object_object_foreach(props, name, sub)
    {
        snprintf(sub_where, sizeof(sub_where), "%s/properties/%s", where, name);
        if (check_node(c, sub, sub_where) < 0)
            return -1;
    }
    return 0;
}

static int
check_required_keyword(struct sctx *c, json_object *schema, json_object *req,
                       const char *where)
{
    json_object *props = NULL;
    size_t n;

    if (!json_object_is_type(req, json_type_array))
        return schema_fail(c, "%s: 'required' must be an array", where);
    json_object_object_get_ex(schema, "properties", &props);
    n = json_object_array_length(req);
    for (size_t i = 0; i < n; i++) {
        json_object *name = json_object_array_get_idx(req, i);
        if (!json_object_is_type(name, json_type_string))
            return schema_fail(c, "%s: 'required' must hold strings", where);
        if (props == NULL || !json_object_object_get_ex(
                                 props, json_object_get_string(name), NULL))
            return schema_fail(c,
                               "%s: required property '%s' is not in "
                               "'properties'",
                               where, json_object_get_string(name));
    }
    return 0;
}

static int
check_enum_keyword(struct sctx *c, json_object *e, const char *where)
{
    size_t n;

    if (!json_object_is_type(e, json_type_array) ||
        (n = json_object_array_length(e)) == 0)
        return schema_fail(c, "%s: 'enum' must be a non-empty array", where);
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(e, i);
        if (!json_object_is_type(x, json_type_string) &&
            !json_object_is_type(x, json_type_int))
            return schema_fail(c,
                               "%s: 'enum' may hold only strings and "
                               "integers",
                               where);
    }
    return 0;
}

/* Checks one keyword's value by its kind. */
static int
check_keyword(struct sctx *c, json_object *schema, const char *key,
              enum kw_kind kind, json_object *val, const char *where)
{
    char sub_where[SCHEMA_PATH_MAX];

    switch (kind) {
    case KW_TYPE:
        return check_type_keyword(c, val, where);
    case KW_PROPERTIES:
        return check_properties_keyword(c, val, where);
    case KW_REQUIRED:
        return check_required_keyword(c, schema, val, where);
    case KW_ENUM:
        return check_enum_keyword(c, val, where);
    case KW_SCHEMA:
        snprintf(sub_where, sizeof(sub_where), "%s/%s", where, key);
        return check_node(c, val, sub_where);
    case KW_BOOLEAN:
        if (!json_object_is_type(val, json_type_boolean))
            return schema_fail(c, "%s: '%s' must be a boolean", where, key);
        return 0;
    case KW_NUMBER:
        if (!json_is_number(val))
            return schema_fail(c, "%s: '%s' must be a number", where, key);
        return 0;
    case KW_COUNT:
        if (!json_object_is_type(val, json_type_int) ||
            json_object_get_int64(val) < 0)
            return schema_fail(c, "%s: '%s' must be a non-negative integer",
                               where, key);
        return 0;
    case KW_PATTERN:
        if (!json_object_is_type(val, json_type_string) ||
            regex_search(json_object_get_string(val), "") < 0)
            return schema_fail(c,
                               "%s: 'pattern' must be a POSIX extended "
                               "regular expression",
                               where);
        return 0;
    case KW_STRING:
        if (!json_object_is_type(val, json_type_string))
            return schema_fail(c, "%s: '%s' must be a string", where, key);
        return 0;
    case KW_ARRAY:
        if (!json_object_is_type(val, json_type_array))
            return schema_fail(c, "%s: '%s' must be an array", where, key);
        return 0;
    case KW_ANY:
        return 0;
    case KW_DEFS:
        if (!json_object_is_type(val, json_type_object))
            return schema_fail(c, "%s: '$defs' must be an object", where);
        json_object_object_foreach(val, name, def)
        {
            snprintf(sub_where, sizeof(sub_where), "%s/$defs/%s", where, name);
            if (check_node(c, def, sub_where) < 0)
                return -1;
        }
        return 0;
    case KW_REF:
        if (!json_object_is_type(val, json_type_string) ||
            resolve_ref(c, val) == NULL)
            return schema_fail(c,
                               "%s: '$ref' must name a schema of this "
                               "schema's $defs (\"#/$defs/NAME\")",
                               where);
        return 0;
    }
    return 0;
}

/* Fails when lower_key's value exceeds upper_key's. */
static int
check_order(struct sctx *c, json_object *schema, const char *lower_key,
            const char *upper_key, const char *where)
{
    json_object *lo, *hi;

    if (json_object_object_get_ex(schema, lower_key, &lo) &&
        json_object_object_get_ex(schema, upper_key, &hi) &&
        json_is_number(lo) && json_is_number(hi) && number_cmp(lo, hi) > 0)
        return schema_fail(c, "%s: '%s' is greater than '%s'", where, lower_key,
                           upper_key);
    return 0;
}

static int
check_node(struct sctx *c, json_object *schema, const char *where)
{
    if (!json_object_is_type(schema, json_type_object))
        return schema_fail(c, "%s: a schema must be an object", where);
    json_object_object_foreach(schema, key, val)
    {
        size_t i;
        for (i = 0; i < N_SCHEMA_KEYWORDS; i++)
            if (strcmp(schema_keywords[i].name, key) == 0)
                break;
        if (i == N_SCHEMA_KEYWORDS)
            return schema_fail(c, "%s: unknown keyword '%s'", where, key);
        if (check_keyword(c, schema, key, schema_keywords[i].kind, val, where) <
            0)
            return -1;
    }
    if (check_order(c, schema, "minimum", "maximum", where) < 0 ||
        check_order(c, schema, "minLength", "maxLength", where) < 0)
        return -1;
    return 0;
}

/* Contract in schema.h. */
int
schema_check(json_object *schema, char *err, size_t errlen)
{
    struct sctx c = {err, errlen, schema, 0};
    json_object *t;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!json_object_is_type(schema, json_type_object))
        return schema_fail(&c, "#: a schema must be an object");
    if (!json_object_object_get_ex(schema, "type", &t) ||
        !json_object_is_type(t, json_type_string) ||
        strcmp(json_object_get_string(t), "object") != 0)
        return schema_fail(&c, "#: a tool schema must have type \"object\"");
    return check_node(&c, schema, "#");
}

/* Whether a property schema declares a decimal string. */
static int
is_decimal_string(json_object *prop)
{
    json_object *type, *pattern;

    return json_object_object_get_ex(prop, "type", &type) &&
           json_object_is_type(type, json_type_string) &&
           strcmp(json_object_get_string(type), "string") == 0 &&
           json_object_object_get_ex(prop, "pattern", &pattern) &&
           json_object_is_type(pattern, json_type_string) &&
           strncmp(json_object_get_string(pattern), "^[0-9", 5) == 0;
}

/* See schema.h. */
void
schema_coerce_decimals(json_object *schema, json_object *args)
{
    json_object *props, *prop;

    if (!json_object_is_type(args, json_type_object) ||
        !json_object_object_get_ex(schema, "properties", &props))
        return;
    json_object_object_foreach(args, key, val)
    {
        if ((!json_object_is_type(val, json_type_double) &&
             !json_object_is_type(val, json_type_int)) ||
            !json_object_object_get_ex(props, key, &prop) ||
            !is_decimal_string(prop))
            continue;
        const char *text =
            json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
        if (text == NULL || text[0] == '-')
            continue;
        /* replacing the value of an existing key keeps the iteration valid */
        json_object_object_add(args, key, json_object_new_string(text));
    }
}
