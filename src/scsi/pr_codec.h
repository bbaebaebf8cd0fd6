/* Wire formats of persistent reservations (SPC-4 6.15, 6.16, 7.6.4.6), shared by src/scsi/pr.c
 * and its unit test. Private to src/scsi. */
#ifndef INVAR_SCSI_PR_CODEC_H
#define INVAR_SCSI_PR_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "scsi/pr_state.h"
#include "scsi/sense.h"

struct it_nexus;

#define PR_TID_HDR 4
/* An iSCSI name, ",i,0x", 12 ISID digits and the NUL, padded to a multiple of 4. */
#define PR_TID_NAME_MAX 244

/* iSCSI TransportID for p: format 01b (name,i,0xISID) when it has an ISID, else 00b. Returns
 * its length, or 0 if out_len is too small. */
unsigned pr_tid_encode(uint8_t *out, size_t out_len, const struct pr_port *p);
/* One TransportID from in (len bytes available): 0 and *used, or -EINVAL (not iSCSI, bad
 * format, length past the end, name not terminated, too long, bad ISID). rel_port_id is 0. */
int pr_tid_decode(const uint8_t *in, size_t len, struct pr_port *p, unsigned *used);
/* PR IN parameter data for service action sa (0-3), malloc'd; *len is its full length. */
uint8_t *pr_in_encode(const struct pr_state *s, unsigned sa, bool ptpl_capable, uint32_t *len);
/* PR OUT CDB and len bytes of parameter list from nexus n. On SR_OK the caller frees
 * o->tids (also on error: it is then NULL or partial). */
enum sense_reason pr_out_decode(const uint8_t *cdb, const uint8_t *buf, uint32_t len,
				const struct it_nexus *n, struct pr_out *o, struct sense_extra *x);

#endif
