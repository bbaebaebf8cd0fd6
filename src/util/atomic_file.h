/* Small files that must survive a crash whole: written to a temporary beside the target,
 * fsync'd, renamed over it, and the directory fsync'd. A reader sees the old content or the new,
 * never a mix or a truncation. */
#ifndef INVAR_UTIL_ATOMIC_FILE_H
#define INVAR_UTIL_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Replace path with len bytes of data (mode 0600). Returns 0 or -errno; on error the old
 * content is untouched and the temporary is removed. */
int atomic_file_write(const char *path, const void *data, size_t len);
/* Remove path durably: unlinked, then the directory fsync'd (else a power cut can bring the
 * file back). A missing file is not an error. Returns 0 or -errno. */
int atomic_file_remove(const char *path);
/* Read a whole file of at most max bytes into a malloc'd, NUL-terminated buffer. Returns 0,
 * -ENOENT if it does not exist, -EFBIG if larger than max, or another -errno. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);
/* mkdir -p with mode 0700. Returns 0 or -errno. */
int mkdir_p(const char *path);

#endif
