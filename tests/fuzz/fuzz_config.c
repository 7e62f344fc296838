/*
 * fuzz_config.c - libFuzzer harness of the configuration file parser:
 * settings_from_file on a file holding the input, over the built-in
 * defaults, then settings_needs_restart against the defaults (it reads
 * every field a file may set).
 *
 * Input: a configuration file (seeds: etc/binmcpd.conf and variations).
 * The file is rewritten for every input (a private 0600 temp file).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "settings.h"

static struct fuzz_file file;
static struct settings defaults;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    fuzz_file_open(&file);
    settings_defaults(&defaults);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct settings s; /* large; rebuilt from the defaults */
    char err[512], what[256];

    if (size > FUZZ_MAX_INPUT)
        return 0;
    fuzz_file_write(&file, data, size);
    settings_defaults(&s);
    err[0] = '\0';
    if (settings_from_file(&s, file.path, err, sizeof(err)) < 0 &&
        (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
        abort(); /* a refusal names the place and the reason */
    settings_needs_restart(&defaults, &s, what, sizeof(what));
    settings_wipe(&s);
    return 0;
}
