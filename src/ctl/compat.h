/* Compatibility descriptions: what a guest using a LU can observe, as JSON (`lu_describe`), and
 * the check whether a guest on one LU would see exactly the same answers on another (`invarctl
 * compat check`, and the daemon before a migration lands). Schema in docs/RPC.md. */
#ifndef INVAR_CTL_COMPAT_H
#define INVAR_CTL_COMPAT_H

#include <stddef.h>

#include <jansson.h>

struct lu;

/* The schema version this code writes and understands. A reader refuses a newer one. */
#define COMPAT_DESCRIBE_VERSION 1

/* The description of lu, mapped as LUN lun of target iqn (new reference, NULL on ENOMEM). */
json_t *compat_describe_lu(const struct lu *lu, const char *iqn, unsigned lun);

/* Called once per reason a guest would notice the move, with a one-line message. */
typedef void (*compat_reason_fn)(const char *reason, void *arg);

/* Compares two descriptions (src: where the guest runs now, dst: where it would continue).
 * Pure: no I/O, no global state. Returns 0 when every answer stays the same, 1 when not (after
 * calling fn for each reason), -1 when a description is malformed (err says which and why;
 * fn is not called). */
int compat_check(const json_t *src, const json_t *dst, compat_reason_fn fn, void *arg, char *err,
		 size_t err_len);

#endif
