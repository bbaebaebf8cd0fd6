/* Behaviour profiles: everything an initiator can observe about an LU that is not its data or
 * its identity. An LU is bound to one profile for life, so it answers the same way across invar
 * versions; new behaviour only ever arrives as a new profile (docs/design/profiles.md). */
#ifndef INVAR_SCSI_PROFILE_H
#define INVAR_SCSI_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/dispatch.h"

#define MODE_NO_STATE 0xff

/* A mode page as the profile defines it: default values and the changeable mask (SPC-4 7.5),
 * both len bytes including the page header. Pages with a changeable bit keep their current
 * values in lu->mode.cur at state_off; the others always read as their defaults. */
struct scsi_mode_page_def {
	uint8_t page;
	uint8_t subpage;
	uint8_t len;
	uint8_t state_off;	/* offset in lu->mode.cur, MODE_NO_STATE if nothing changeable */
	const uint8_t *def;
	const uint8_t *mask;
};

/* VPD 0xB0 block limits (SBC-3 6.5.3), in bytes so they hold for any block size. */
struct scsi_block_limits {
	uint32_t max_xfer_bytes;	/* also the bound on a task's buffer */
	uint32_t opt_xfer_bytes;
	uint32_t opt_gran_bytes;
	/* Thin provisioning and COMPARE AND WRITE (0 = not supported: the bytes stay zero). */
	uint8_t max_caw_blocks;		/* MAXIMUM COMPARE AND WRITE LENGTH, blocks */
	bool wsnz;			/* WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 is refused */
	uint64_t max_unmap_bytes;	/* MAXIMUM UNMAP LBA COUNT */
	uint32_t max_unmap_desc;	/* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
	uint32_t opt_unmap_gran_bytes;	/* OPTIMAL UNMAP GRANULARITY */
	uint64_t max_ws_bytes;		/* MAXIMUM WRITE SAME LENGTH; also bounds its buffer */
	/* GET LBA STATUS: most LBA status descriptors one answer carries. */
	uint16_t max_lba_status_desc;
};

/* Standard INQUIRY bytes that are behaviour rather than identity (SPC-4 6.4.2): the version
 * claimed, the flag bytes 3 and 5-7, and how many bytes the standard data has. */
struct scsi_inquiry_def {
	uint8_t version;	/* byte 2 */
	uint8_t flags[4];	/* bytes 3 (NORMACA, HISUP, RESPONSE DATA FORMAT), 5, 6, 7 */
	uint8_t std_len;	/* ADDITIONAL LENGTH + 5 */
	uint8_t no_lu_peripheral;	/* byte 0 on a LUN with no LU: qualifier 3, type 1Fh */
};

struct scsi_profile {
	const char *name;
	const char *summary;
	const char *vendor;	/* T10 vendor id, <= 8 chars, space padded on the wire */
	const char *product;	/* <= 16 chars */
	const char *revision;	/* <= 4 chars */
	uint16_t version_desc[8];	/* SPC-4 6.4.2 version descriptors, 0 = unused */
	const uint8_t *vpd_pages;	/* supported VPD pages, ascending (VPD 0x00) */
	unsigned n_vpd_pages;
	struct scsi_block_limits limits;
	uint16_t rotation_rate;		/* VPD 0xB1: 1 = non-rotating medium */
	struct scsi_inquiry_def inquiry;
	/* MODE SENSE DEVICE-SPECIFIC PARAMETER bits besides WP (SBC-3 6.4.1): DPOFUA. */
	uint8_t mode_devspec;
	const struct scsi_mode_page_def *mode_pages;	/* ascending page code */
	unsigned n_mode_pages;
	struct scmd_set cmds;		/* each command (enum scsi_cmd_id) that exists */
	/* Default sense format: the control page's default D_SENSE bit (mode_pages) is the single
	 * source; descriptor_sense mirrors it for readers that only want this answer. */
	bool descriptor_sense;
	/* Logical block provisioning (SBC-3 4.7): VPD 0xB2 LBPU/LBPWS/LBPWS10/LBPRZ, provisioning
	 * type, and READ CAPACITY(16) LBPME/LBPRZ follow the backstore's capabilities. false: the
	 * 2026.1 answers (fully provisioned, B2 all zero). */
	bool lbp;
	/* Still being built: never the default, only chosen by name (tests, development). A
	 * release clears it, and from then on the profile never changes. */
	bool draft;

	/* ---- invar-2026.3 and later: each field's zero value is the 2026.2 answer. ---- */
	/* Physical block size reported by READ CAPACITY(16) (LOGICAL BLOCKS PER PHYSICAL BLOCK
	 * EXPONENT) when larger than the LU's logical block: the page and file-system block a
	 * smaller write is read-modified-written within. 0: physical = logical. */
	uint32_t phys_block_bytes;
	/* One task set per LU across sessions: LOGICAL UNIT RESET and CLEAR TASK SET abort
	 * every initiator's tasks (SAM-5 7.5, 7.6). false: only the requesting session's. */
	bool shared_task_set;
	/* Implicit ALUA (SPC-4 5.15, src/scsi/alua.c): INQUIRY TPGS = 01b, the port group's
	 * access state gates commands, REPORT TARGET PORT GROUPS reports alua_transition_secs as
	 * the IMPLICIT TRANSITION TIME. false: TPGS 00b and every port is simply active. */
	bool alua;
	uint8_t alua_transition_secs;
	/* MODE SELECT with SP=1 saves the changeable pages (DATA_DIR/lu/<NAA>/mode.json), they are
	 * loaded when the LU is created, and MODE SENSE answers page control 3 (saved values).
	 * false: SP=1 and saved values are SAVING PARAMETERS NOT SUPPORTED. */
	bool mode_save;
	/* WRITE ATOMIC(16) (SBC-4 5.48) and its VPD 0xB0 fields, in bytes: MAXIMUM ATOMIC
	 * TRANSFER LENGTH, ATOMIC ALIGNMENT, ATOMIC TRANSFER LENGTH GRANULARITY. 0: the bytes stay
	 * zero. Atomic boundaries are not supported (both boundary fields stay zero). */
	uint32_t max_atomic_bytes;
	uint32_t atomic_align_bytes;
	uint32_t atomic_gran_bytes;
	/* PRE-FETCH (SBC-3 5.11): how much one command may ask the backstore to stage, the
	 * "cache" whose capacity decides CONDITION MET (docs/design/sbc.md). */
	uint32_t prefetch_cache_bytes;
	/* VPD 0xB1 WABEREQ (byte 7 bits 7-6, SBC-3 6.5.2): what a read after SANITIZE BLOCK
	 * ERASE returns; 1 = GOOD with data (zeroes). 0: the 2026.2 byte. */
	uint8_t wabereq;
	/* SAM-5 6.3.4: when a session ends, the next session of the same initiator port (a
	 * reinstatement, RFC 7143 6.3.5) gets I_T NEXUS LOSS OCCURRED (29/07) instead of POWER ON
	 * (29/00). false: every new session is a new nexus with POWER ON. */
	bool nexus_loss_ua;
};

/* Whether command id exists in profile p. */
static inline bool scsi_profile_has_cmd(const struct scsi_profile *p, enum scsi_cmd_id id)
{
	return scmd_set_has(&p->cmds, id);
}

/* "" or NULL: the newest released (non-draft) profile. NULL if unknown. */
const struct scsi_profile *scsi_profile_find(const char *name);
/* Oldest first. */
void scsi_profile_foreach(void (*fn)(const struct scsi_profile *p, void *arg), void *arg);
/* The definition of a mode page in a profile, or NULL. */
const struct scsi_mode_page_def *scsi_profile_mode_page(const struct scsi_profile *p,
							  uint8_t page, uint8_t subpage);
/* Calls fn for each command that exists in profile p, in opcode/service-action order (the
 * dispatch table is the source): for the README command list and `invarctl` listings. sa is
 * 0xffff for commands without a service action. */
void scsi_profile_cmd_foreach(const struct scsi_profile *p,
			      void (*fn)(uint8_t opcode, uint16_t sa, const char *name, void *arg),
			      void *arg);
/* Bytes of lu->mode.cur a profile needs. */
unsigned scsi_profile_mode_state_len(const struct scsi_profile *p);

#endif
