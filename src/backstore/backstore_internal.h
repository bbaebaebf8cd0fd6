/* Helpers shared by the backstore implementations; not part of the backstore contract. */
#ifndef INVAR_BACKSTORE_INTERNAL_H
#define INVAR_BACKSTORE_INTERNAL_H

#include <stddef.h>

#include "backstore/backstore.h"

/* Format a human reason into err (when err_len > 0) and return -errnum, so an open path can
 * fail in one line: return bs_fail(err, err_len, ENOENT, "...", ...). errnum is positive. */
int bs_fail(char *err, size_t err_len, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The file backstore's descriptor (tests inject failures by dup2()ing over it); -1 when bs is
 * not a file backstore. */
int bs_file_fd(const struct backstore *bs);

/* The rbd backstore's part of backstore_quiesce(). */
void bs_rbd_quiesce(void);

#endif
