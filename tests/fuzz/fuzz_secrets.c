/*
 * fuzz_secrets.c - libFuzzer harness of the two parsers of secret files:
 * the credentials file (settings_read_credentials) and the bearer tokens
 * file (auth_load), both fed the same input from a private 0600 file as
 * both require; then, when the tokens loaded, auth_check of every input
 * line presented as a bearer token.
 *
 * Input: a credentials file or a tokens file (seeds of both kinds).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "creds.h"
#include "fuzzlib.h"
#include "settings.h"

#define FUZZ_MAX_CHECKS 32

static struct fuzz_file file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    fuzz_file_open(&file);
    return 0;
}

/* A refusal is a sentence. */
static void
check_err(const char *err, size_t len)
{
    if (err[0] == '\0' || memchr(err, '\0', len) == NULL)
        abort();
}

/* auth_check, auth_challenge and auth_hash_token of each line (up to
 * FUZZ_MAX_CHECKS), presented as "Bearer <line>". */
static void
check_lines(const struct auth_tokens *t, const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size), *save = NULL, *line;
    char hashed[AUTH_HASHED_LEN + 1];
    int n = 0;

    for (line = strtok_r(text, "\n", &save);
         line != NULL && n < FUZZ_MAX_CHECKS;
         line = strtok_r(NULL, "\n", &save), n++) {
        size_t len = strlen(line) + sizeof("Bearer ");
        char *header = malloc(len);
        if (header == NULL)
            abort();
        snprintf(header, len, "Bearer %s", line);
        (void)auth_check(t, header);
        (void)auth_challenge(header);
        free(header);
        (void)auth_hash_token(line, hashed, sizeof(hashed));
    }
    (void)auth_check(t, NULL);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct creds c;
    struct auth_tokens *t;
    char err[512];
    int fixed = -1;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    fuzz_file_write(&file, data, size);

    memset(&c, 0, sizeof(c));
    err[0] = '\0';
    if (settings_read_credentials(file.path, BNC_ENV_TESTNET, &c, &fixed, err,
                                  sizeof(err)) < 0) {
        check_err(err, sizeof(err));
        if (c.set)
            abort(); /* "out is then wiped and unset" */
    } else if (!c.set || (fixed != 0 && fixed != 1)) {
        abort();
    }
    creds_wipe(&c);

    err[0] = '\0';
    t = auth_load(file.path, err, sizeof(err));
    if (t == NULL) {
        check_err(err, sizeof(err));
    } else {
        if (auth_count(t) == 0)
            abort(); /* "holds no token" is a refusal */
        check_lines(t, data, size);
        auth_free(t);
    }
    return 0;
}
