/* EXTENDED COPY (LID1) and RECEIVE COPY RESULTS, SPC-4 6.4 / 6.18, and the Third-party Copy VPD
 * page (SPC-4 7.8.17): the copy manager of profile invar-2026.3. Private to src/scsi.
 *
 * The parameter-list decoder is pure (no LU, no task) so unit tests can feed it hostile input;
 * everything that touches LUs (CSCD resolution in the issuing session's LUN view, range and
 * protection checks, the chunked data movement) lives in xcopy.c behind the dispatch entry
 * points declared in dispatch.h. */
#ifndef INVAR_SCSI_XCOPY_H
#define INVAR_SCSI_XCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/sense.h"

/* The limits we advertise (RECEIVE COPY RESULTS OPERATING PARAMETERS, VPD 0x8F) and enforce. */
#define XCOPY_MAX_CSCD 16		/* MAXIMUM CSCD DESCRIPTOR COUNT */
#define XCOPY_MAX_SEGMENTS 64		/* MAXIMUM SEGMENT DESCRIPTOR COUNT */
#define XCOPY_MAX_DESC_LIST_LEN 2048	/* MAXIMUM DESCRIPTOR LIST LENGTH (CSCD + segments) */
#define XCOPY_MAX_SEGMENT_BYTES (32u << 20) /* MAXIMUM SEGMENT LENGTH */
#define XCOPY_MAX_INLINE 0		/* MAXIMUM INLINE DATA LENGTH: no inline data */
#define XCOPY_TOTAL_CONCURRENT 8	/* TOTAL CONCURRENT COPIES, per copy manager (LU) */
#define XCOPY_MAX_HELD 32		/* copy status records kept per LU (oldest done evicted) */
#define XCOPY_CHUNK_BYTES (1u << 20)	/* data moves through one buffer of this size */
/* The largest parameter list worth reading: anything longer is a length error. */
#define XCOPY_MAX_PARAM_LEN (16u + XCOPY_MAX_DESC_LIST_LEN + XCOPY_MAX_INLINE)

#define XCOPY_HDR_LEN 16
#define XCOPY_CSCD_LEN 32		/* identification CSCD descriptor (0xE4) */
#define XCOPY_B2B_LEN 28		/* block -> block segment descriptor (0x02) */

#define XCOPY_DESC_B2B 0x02
#define XCOPY_DESC_ID 0xe4

/* LIST ID USAGE, SPC-4 6.4.3.2. */
#define XCOPY_LIST_HOLD 0x0		/* hold status for RECEIVE COPY RESULTS */
#define XCOPY_LIST_DISCARD 0x2		/* list id in use while running, nothing held after */
#define XCOPY_LIST_NONE 0x3		/* no list identifier (LIST IDENTIFIER shall be 0) */

/* An identification CSCD descriptor (SPC-4 6.4.5.6) as decoded: a designator to look up and the
 * device type specific parameters of a block device. */
struct xcopy_cscd {
	uint8_t peripheral_type;
	uint8_t code_set;
	uint8_t desig_type;		/* designator type, SPC-4 7.8.6 */
	uint8_t assoc;
	uint8_t desig_len;
	uint8_t desig[20];
	uint32_t block_len;		/* DISK BLOCK LENGTH */
	uint16_t offset;		/* where it starts in the parameter list */
};

/* A block -> block segment descriptor (SPC-4 6.4.6.5). */
struct xcopy_segment {
	uint16_t src, dst;		/* CSCD descriptor indexes */
	bool dc, cat;
	uint16_t nblocks;
	uint64_t src_lba, dst_lba;
	uint16_t offset;		/* where it starts in the parameter list (segment pointer) */
};

struct xcopy_params {
	uint8_t list_id;
	uint8_t list_id_usage;
	uint8_t priority;
	bool str;
	unsigned n_cscd;
	struct xcopy_cscd cscd[XCOPY_MAX_CSCD];
	unsigned n_seg;
	struct xcopy_segment seg[XCOPY_MAX_SEGMENTS];
};

/* Decodes an EXTENDED COPY (LID1) parameter list of len bytes (the bytes actually received;
 * len 0 is the caller's no-op). Checks every length against len and the limits above before
 * reading, every descriptor type and the list identifier usage. Returns SR_OK or the reason,
 * with a field pointer in x where one applies. */
enum sense_reason xcopy_decode(const uint8_t *pl, uint32_t len, struct xcopy_params *out,
			       struct sense_extra *x);

/* RECEIVE COPY RESULTS OPERATING PARAMETERS data (SPC-4 6.18.4), always the same: fills b (at
 * least 64 bytes) and returns its length. */
unsigned xcopy_op_params(uint8_t *b);

#endif
