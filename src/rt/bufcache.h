/* Per-thread cache of data buffers for tasks. A worker allocates and frees a task's buffer on
 * its own thread for every command; big buffers (128 KiB and up) from malloc are mmap'ed and
 * unmapped each time (or trimmed off the heap), so each command paid page faults to map and
 * zero fresh pages. Buffers here come in power-of-two classes from 4 KiB to 1 MiB, are kept
 * per thread (no lock) up to a byte budget, and go back to malloc beyond it. */
#ifndef INVAR_RT_BUFCACHE_H
#define INVAR_RT_BUFCACHE_H

#include <stddef.h>

/* A buffer of at least len bytes (contents undefined); *cap gets its real size. NULL when out
 * of memory. Free with bufcache_put(buf, *cap), on any thread. */
void *bufcache_get(size_t len, size_t *cap);
void bufcache_put(void *buf, size_t cap);

#endif
