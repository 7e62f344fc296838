/*
 * fuzzlib.c - helpers shared by the libFuzzer harnesses (see fuzzlib.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzlib.h"
#include "log.h"

/* See fuzzlib.h. */
void
fuzz_quiet(void)
{
    log_set_level(LOG_LVL_ERROR);
}

/* See fuzzlib.h. */
char *
fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* See fuzzlib.h. */
json_object *
fuzz_json(const uint8_t *data, size_t size)
{
    struct json_tokener *tok;
    json_object *o = NULL;
    size_t used = 0;
    char *text;

    if (size > FUZZ_MAX_INPUT)
        return NULL;
    /* As the engine parses a message: json-c needs the NUL to finish a
     * bare number, and an embedded NUL is not JSON. */
    text = fuzz_strndup(data, size);
    tok = json_tokener_new();
    if (tok != NULL && strlen(text) == size) {
        json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, -1);
        if (json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(o);
            o = NULL;
        }
        used = json_tokener_get_parse_end(tok);
        if (used > size)
            used = size;
    }
    if (tok != NULL)
        json_tokener_free(tok);
    free(text);
    while (o != NULL && used < size &&
           (data[used] == ' ' || data[used] == '\t' || data[used] == '\r' ||
            data[used] == '\n'))
        used++;
    if (o != NULL && used != size) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

static char fuzz_cleanup_path[256];

static void
fuzz_file_cleanup(void)
{
    if (fuzz_cleanup_path[0] != '\0')
        unlink(fuzz_cleanup_path);
}

/* See fuzzlib.h. */
void
fuzz_file_open(struct fuzz_file *f)
{
    const char *dir = getenv("TMPDIR");

    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    if ((size_t)snprintf(f->path, sizeof(f->path), "%s/binmcpd-fuzz.XXXXXX",
                         dir) >= sizeof(f->path))
        abort();
    f->fd = mkstemp(f->path); /* mode 0600 */
    if (f->fd < 0) {
        perror("mkstemp");
        abort();
    }
    /* One file per process: a second fuzz_file_open would not be removed. */
    if (fuzz_cleanup_path[0] == '\0') {
        memcpy(fuzz_cleanup_path, f->path, sizeof(fuzz_cleanup_path));
        atexit(fuzz_file_cleanup);
    }
}

/* See fuzzlib.h. */
void
fuzz_file_write(struct fuzz_file *f, const uint8_t *data, size_t size)
{
    size_t off = 0;

    if (ftruncate(f->fd, 0) < 0)
        abort();
    while (off < size) {
        ssize_t n = pwrite(f->fd, data + off, size - off, (off_t)off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
}
