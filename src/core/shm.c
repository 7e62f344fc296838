/*
 * shm.c - shared memory between the daemon's processes (see shm.h).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "shm.h"
#include "util.h"

/* Contract in shm.h. MAP_NORESERVE: the registry's session records
 * (about 8 KB a slot) are sized for max_sessions but touched only by the
 * sessions that need them, so the mapping must not be charged in full
 * against the commit limit (a million slots would be refused at start on
 * a small machine). */
void *
shm_map(size_t len, const char *what, char *err, size_t errlen)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        errf(err, errlen, "%s: mmap of %zu bytes: %s", what, len, strerror(e));
        errno = e;
        return NULL;
    }
    /* session records carry session credentials: never in a core dump
     * (a kernel without MADV_DONTDUMP refuses it; the mapping serves) */
    if (madvise(p, len, MADV_DONTDUMP) < 0)
        log_warn("%s: madvise(MADV_DONTDUMP)", what);
    return p;
}

/* Contract in shm.h. */
void
shm_unmap(void *p, size_t len)
{
    if (p != NULL)
        munmap(p, len);
}

/* Contract in shm.h. */
int
shm_mutex_init(pthread_mutex_t *mu)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(mu, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

/* Contract in shm.h. */
int
shm_mutex_lock(pthread_mutex_t *mu, void (*repair)(void *), void *arg,
               const char *what)
{
    int rc = pthread_mutex_lock(mu);
    if (rc == 0)
        return 0;
    if (rc == EOWNERDEAD) {
        if (repair != NULL)
            repair(arg);
        rc = pthread_mutex_consistent(mu);
        if (rc == 0)
            return 0;
        log_error("%s: pthread_mutex_consistent: %s", what, strerror(rc));
        pthread_mutex_unlock(mu);
    } else {
        log_error("%s: lock: %s", what, strerror(rc));
    }
    errno = EIO;
    return -1;
}

/* Contract in shm.h. */
void
shm_mutex_unlock(pthread_mutex_t *mu)
{
    int rc = pthread_mutex_unlock(mu);
    assert(rc == 0);
    (void)rc;
}
