/*
 * secfile.c - see secfile.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secfile.h"
#include "util.h"

int
secfile_read(const char *path, const char *what, enum secfile_kind kind,
             size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t used = 0, size = 0;
    int fd, saved;

    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        errf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        errf(err, errlen, "cannot stat %s %s: %s", what, path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        errf(err, errlen, "%s %s is not a regular file", what, path);
        goto fail;
    }
    if (kind == SECFILE_SECRET && (st.st_mode & 077) != 0) {
        errf(err, errlen,
             "%s %s is accessible by group or others (mode %04o); "
             "run: chmod 600 %s",
             what, path, (unsigned)(st.st_mode & 07777), path);
        goto fail;
    }
    if ((uintmax_t)st.st_size > max) {
        errf(err, errlen, "%s %s is larger than %zu bytes", what, path, max);
        goto fail;
    }
    /* One byte more than fstat said, to notice a file that grows. */
    size = (size_t)st.st_size;
    buf = malloc(size + 2);
    if (buf == NULL) {
        errf(err, errlen, "cannot read %s %s: %s", what, path,
             strerror(ENOMEM));
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, buf + used, size + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errf(err, errlen, "cannot read %s %s: %s", what, path,
                 strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > size) {
            errf(err, errlen, "%s %s changed while it was read", what, path);
            goto fail;
        }
    }
    close(fd);
    buf[used] = '\0';
    *out = buf;
    if (len != NULL)
        *len = used;
    return 0;

fail:
    saved = errno;
    if (buf != NULL) {
        secure_wipe(buf, size + 2);
        free(buf);
    }
    close(fd);
    errno = saved;
    return -1;
}
