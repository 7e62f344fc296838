/*
 * shm.h - shared memory between the daemon's processes.
 *
 * Anonymous MAP_SHARED mappings made before fork are the only shared
 * memory binmcpd uses: every child inherits them, nothing is left in
 * /dev/shm when the daemon dies, and no name can be guessed. What lives in
 * them is guarded by robust process-shared mutexes, so that a process
 * killed while holding one leaves a table the next locker can repair.
 */
#ifndef BINMCPD_SHM_H
#define BINMCPD_SHM_H

#include <pthread.h>
#include <stddef.h>

/* Maps len bytes of zeroed shared memory, not reserved: a page costs
 * memory once touched (a touch when memory is exhausted is SIGBUS rather
 * than a refusal here), and left out of core dumps (MADV_DONTDUMP: the
 * registry's records hold session credentials). Returns the mapping, or
 * NULL with "<what>: mmap
 * of <len> bytes: <reason>" in err (errno set). The caller unmaps it with
 * shm_unmap. */
void *shm_map(size_t len, const char *what, char *err, size_t errlen);

/* Unmaps what shm_map returned; NULL is ignored. */
void shm_unmap(void *p, size_t len);

/* Initialises a robust, process-shared mutex in place (in a mapping).
 * Returns 0 or an error number. */
int shm_mutex_init(pthread_mutex_t *mu);

/* Locks mu. When its previous owner died holding it, calls repair(arg)
 * with the mutex held (NULL: nothing to repair) and marks the mutex
 * consistent. Returns 0, or -1 with errno EIO and a log line naming what
 * when the mutex is unusable (it is then not held). */
int shm_mutex_lock(pthread_mutex_t *mu, void (*repair)(void *), void *arg,
                   const char *what);

/* Unlocks a mutex shm_mutex_lock took. */
void shm_mutex_unlock(pthread_mutex_t *mu);

#endif
