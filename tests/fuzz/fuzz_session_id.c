/*
 * fuzz_session_id.c - libFuzzer harness of session-id parsing: the
 * Mcp-Session-Id a client sends goes to reg_lookup (registry.h), which
 * must accept exactly the ids it issued and nothing else.
 *
 * A registry with one live session (reg_claim) is made once. Input: the
 * header's value, tried as is; an input that starts with '@' is instead
 * laid over the live id (its next bytes, at most REG_ID_LEN, replace the
 * id's first ones; a NUL among them shortens it), so that near misses of
 * a real id, which carry the real token, are reached too.
 *
 * The same input is a Last-Event-ID value for stream_event_id_parse
 * (worker_int.h): what it accepts must print back to a value that parses
 * to the same three numbers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "registry.h"
#include "worker_int.h"

static struct registry *reg;
static char live_id[REG_ID_LEN + 1];
static struct reg_ref live_ref;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    fuzz_quiet();
    reg = reg_create(4, 2, err, sizeof(err));
    if (reg == NULL) {
        fprintf(stderr, "fuzz_session_id: %s\n", err);
        abort();
    }
    if (reg_claim(reg, 1, REG_KIND_STREAMABLE, live_id, &live_ref) < 0)
        abort();
    return 0;
}

static void
check_lookup(const char *id)
{
    struct reg_ref ref = {0, 0};
    enum reg_kind kind = 0;
    int owner = -1;
    int same = strcmp(id, live_id) == 0;

    if (reg_lookup(reg, id, &ref, &owner, &kind) == 0) {
        if (!same || ref.slot != live_ref.slot || ref.gen != live_ref.gen ||
            owner != 1 || kind != REG_KIND_STREAMABLE)
            abort(); /* only the issued id names the session */
    } else if (same) {
        abort();
    }
    if (!reg_valid(reg, live_ref))
        abort(); /* a lookup never ends a session */
}

/* Last-Event-ID: an accepted value round-trips through its format. */
static void
check_event_id(const char *s)
{
    int w, w2;
    uint64_t id, id2;
    unsigned q, q2;
    char text[96];

    if (stream_event_id_parse(s, &w, &id, &q) < 0)
        return;
    if (w < 0)
        abort();
    snprintf(text, sizeof(text), "%d.%llu.%u", w, (unsigned long long)id, q);
    if (stream_event_id_parse(text, &w2, &id2, &q2) < 0 || w2 != w ||
        id2 != id || q2 != q)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *id;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (size > 0 && data[0] == '@') {
        size_t n = size - 1 > REG_ID_LEN ? REG_ID_LEN : size - 1;
        id = fuzz_strndup((const uint8_t *)live_id, REG_ID_LEN);
        memcpy(id, data + 1, n);
    } else {
        id = fuzz_strndup(data, size);
    }
    check_lookup(id);
    check_event_id(id);
    free(id);
    return 0;
}
