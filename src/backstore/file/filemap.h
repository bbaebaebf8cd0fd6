/* A memory-backed file (tmpfs, ramfs) mapped into the daemon, so that reads and writes of its
 * page cache are a memcpy instead of a pread/pwrite system call (which, at 4 KiB, costs more in
 * the syscall and the page-cache lookup than in the copy). See filemap.c for when a file is
 * mapped and what keeps a fault from killing the daemon. */
#ifndef INVAR_BACKSTORE_FILE_FILEMAP_H
#define INVAR_BACKSTORE_FILE_FILEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maps the first size bytes of fd (shared; writable when writable) if the range has no hole.
 * Returns the mapping, or NULL when the file is not to be mapped (holes, mmap refused, size 0
 * or too large): the caller then keeps using the system calls. */
void *filemap_open(int fd, uint64_t size, bool writable);
void filemap_close(void *map, uint64_t size);

/* memcpy(dst, src, n) where one side is inside a mapping from filemap_open. False if the copy
 * faulted (SIGBUS: the file was truncated under us, or its file system is full): nothing can
 * be assumed about dst then, and the caller redoes the transfer with the system calls, which
 * report the condition properly. */
bool filemap_copy(void *dst, const void *src, size_t n);

#endif
