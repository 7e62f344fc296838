/*
 * fuzzlib.h - what the libFuzzer harnesses of tests/fuzz share: the input
 * cap, a NUL-terminated copy of an input, strict JSON parsing of one, a
 * private temporary file that a harness rewrites for every input (for the
 * parsers that only read files), and quiet logging.
 *
 * Every harness defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize); `make fuzz` runs each one (tests/fuzz/run.sh).
 * A harness keeps no state that grows from one input to the next and
 * frees everything an input made before it returns, so LeakSanitizer's
 * per-input check stays meaningful.
 */
#ifndef BINMCPD_FUZZLIB_H
#define BINMCPD_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Inputs larger than this are ignored (run.sh also passes -max_len). */
#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Lowers the daemon's logging to errors only: the harnesses drive every
 * error path, and a line per input would cost more than the input. */
void fuzz_quiet(void);

/* A malloc'd copy of data with a NUL after its size bytes (embedded NULs
 * stay: C string parsers then see a prefix). Aborts when memory runs out:
 * a harness cannot go on without it. The caller frees it. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Parses data as exactly one JSON text (trailing bytes other than
 * whitespace are refused) with json-c's default nesting limit. Returns a
 * new reference, or NULL when data is not JSON. */
json_object *fuzz_json(const uint8_t *data, size_t size);

/* A temporary file of mode 0600, created once per process under TMPDIR
 * (or /tmp) and removed at exit. */
struct fuzz_file {
    int fd;
    char path[256];
};

/* Creates f. Aborts when no file can be made (the harness is useless
 * without it). */
void fuzz_file_open(struct fuzz_file *f);

/* Replaces f's contents with data (size bytes). Aborts on a write error. */
void fuzz_file_write(struct fuzz_file *f, const uint8_t *data, size_t size);

#endif
