/* Live migration, after the switch-over: where the initiators of a LU that moved away must go
 * (docs/design/migration.md, "Handover").
 *
 * The source learns the destination's iSCSI portals on the channel (the destination lists them
 * in ACCEPT) or from the operator (`lu migrate ... --portal`), picks one redirect address
 * "HOST:PORT,TPGT" and records it on the LU when the destination confirms it serves (DONE).
 * A login to a target whose mapped LUs all moved to the same place is then answered "target
 * moved temporarily" (RFC 7143 11.13.5, 0101h) with TargetAddress=<that address>; a target of
 * which only some LUs moved cannot be redirected (a session spans all its LUNs) and serves the
 * rest, the moved LUs answering BUSY. A LU that comes back is a new LU object (the destination
 * side of the channel maps a fresh one), so the redirect goes with the old one. */
#ifndef INVAR_MIG_MIG_HANDOVER_H
#define INVAR_MIG_MIG_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct lu;
struct target;

/* Longest redirect address: "[" IPv6 or host name (255) "]:" port "," tag, with room to
 * spare; the size of lu.mig.redirect minus the NUL. */
#define MIG_REDIRECT_MAX 319
/* The destination's portal list on the channel: at most this many lines, this many bytes. */
#define MIG_PORTALS_MAX 16
#define MIG_PORTALS_BYTES 4096

/* Whether s is "HOST:PORT" or "HOST:PORT,TPGT" (HOST: IPv4, [IPv6] or a DNS name; PORT and
 * TPGT 1..65535), at most MIG_REDIRECT_MAX bytes, nothing else. 0 or -EINVAL. */
int mig_portal_check(const char *s);

/* The redirect address to use, from the destination's ACCEPT payload (portal lines as
 * "ADDR:PORT,TPGT", see mig_portals_format) and the address the source reached it at (to,
 * "ADDR:PORT" of its migration listener): the first portal whose host is not a wildcard, else
 * the first wildcard portal with to's host put in. 0, or -ENOENT when none is usable (a bad
 * line is skipped, never trusted). */
int mig_portals_pick(const char *payload, size_t len, const char *to, char *out, size_t out_len);
/* This daemon's portals, one "ADDR:PORT,TPGT" a line, for the ACCEPT payload. Returns the
 * length written (the list is cut at MIG_PORTALS_MAX lines or out_len bytes). */
size_t mig_portals_format(struct daemon *d, char *out, size_t out_len);

/* Records where lu went (after DONE). addr must pass mig_portal_check; "" clears. */
int lu_mig_set_redirect(struct lu *lu, const char *addr);
/* Whether every LU mapped in t has moved (state STOP) to the same recorded address; if so
 * copies it to out and returns true. A target with no LU is not moved. Takes daemon.lock. */
bool target_mig_redirect(struct daemon *d, struct target *t, char *out, size_t out_len);

#endif
