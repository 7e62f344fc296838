/*
 * secfile.h - reading small files that hold secrets (bearer tokens, TLS
 * keys) or go with them (certificates).
 *
 * The file is opened once and checked through that descriptor (no window
 * between the check and the read): it must be a regular file no larger than
 * a cap, and, for a secret, not accessible by group or others.
 */
#ifndef BINMCPD_SECFILE_H
#define BINMCPD_SECFILE_H

#include <stddef.h>

enum secfile_kind {
    SECFILE_PUBLIC = 0, /* any mode (a certificate) */
    SECFILE_SECRET = 1, /* refused when mode & 077 (with the chmod to run) */
};

/* Reads the whole file at path into a malloc'd, NUL-terminated buffer:
 * *out and, when len is not NULL, *len (bytes, without the NUL). The caller
 * owns *out (wipe it first when it held a secret). what names the file in
 * error sentences ("the auth tokens file"). Returns 0, or -1 with a
 * sentence in err: cannot open or read, not a regular file, over max bytes,
 * or (SECFILE_SECRET) readable or writable by group or others. On failure
 * nothing is allocated, and anything read is wiped. */
int secfile_read(const char *path, const char *what, enum secfile_kind kind,
                 size_t max, char **out, size_t *len, char *err, size_t errlen);

#endif
