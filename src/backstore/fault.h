/* Test-only fault injection for backstores: `invard --fault OP=ERRNO[,after=N][,count=M]` makes
 * matching I/O fail with that errno without touching the medium, so tests can check the sense a
 * failing disk produces (EIO on write or flush, ENOSPC on a thin file) where the container
 * cannot make a real device fail. Compiled in always, reachable only through that explicit
 * option; with no rule the check is one relaxed atomic load. Not for production use. */
#ifndef INVAR_BACKSTORE_FAULT_H
#define INVAR_BACKSTORE_FAULT_H

#include <stdbool.h>
#include <stddef.h>

struct bs_io;

#define BS_FAULT_MAX_RULES 4

/* Adds a rule: OP is read, write (any write), fua (FUA writes only) or flush; ERRNO is eio,
 * enospc or edquot; after=N lets the first N matching I/Os through; count=M fails M of them
 * (0, the default, = every one after that). Returns 0 or -EINVAL with a reason in err. */
int bs_fault_add(const char *spec, char *err, size_t err_len);
/* Whether io must fail now, and with what (negative errno). Thread-safe. */
bool bs_fault_check(const struct bs_io *io, int *res);
/* Drops every rule (tests). */
void bs_fault_clear(void);

#endif
