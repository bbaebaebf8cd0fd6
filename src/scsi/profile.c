/* The behaviour profiles. Each is a const, never edited once released: a change of behaviour
 * is a new profile with a new name. */
#include <stddef.h>
#include <string.h>

#include "scsi/dispatch.h"
#include "scsi/profile.h"

/* Version descriptors, SPC-4 Table 40 (INCITS T10 assigned codes). */
#define VD_SAM5 0x00a0
#define VD_SPC4 0x0460
#define VD_SBC3 0x04c0
#define VD_ISCSI 0x0960

/* ---- invar-2026.1 ------------------------------------------------------------------------ */

static const uint8_t v2026_vpd[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };

/* Read-write error recovery, SBC-3 6.4.9: nothing to recover in emulation. */
static const uint8_t v2026_rwerr_def[12] = { 0x01, 0x0a };
static const uint8_t v2026_rwerr_mask[12] = { 0 };
/* Disconnect-reconnect, SPC-4 7.5.9: all zero (the fabric owns burst sizes). */
static const uint8_t v2026_disc_def[16] = { 0x02, 0x0e };
static const uint8_t v2026_disc_mask[16] = { 0 };
/* Caching, SBC-3 6.4.5: WCE (byte 2 bit 2) set by default and changeable. */
static const uint8_t v2026_caching_def[20] = { 0x08, 0x12, 0x04 };
static const uint8_t v2026_caching_mask[20] = { [2] = 0x04 };
/* Control, SPC-4 7.5.8: TST 0 (one task set), QUEUE ALGORITHM MODIFIER 1 (unrestricted),
 * QERR 0, BUSY TIMEOUT unlimited; changeable: D_SENSE (byte 2 bit 2, default fixed format) and
 * SWP (byte 4 bit 3, software write protect). */
static const uint8_t v2026_control_def[12] = { 0x0a, 0x0a, 0x00, 0x10, 0x00, 0x00,
					       0x00, 0x00, 0xff, 0xff, 0x00, 0x00 };
static const uint8_t v2026_control_mask[12] = { [2] = 0x04, [4] = 0x08 };
/* Power condition, SPC-4 7.5.13: no timers. */
static const uint8_t v2026_power_def[40] = { 0x1a, 0x26 };
static const uint8_t v2026_power_mask[40] = { 0 };
/* Informational exceptions control, SPC-4 7.5.12: DEXCPT set (no exception reporting). */
static const uint8_t v2026_iec_def[12] = { 0x1c, 0x0a, 0x08 };
static const uint8_t v2026_iec_mask[12] = { 0 };

static const struct scsi_mode_page_def v2026_mode_pages[] = {
	{ 0x01, 0, sizeof(v2026_rwerr_def), MODE_NO_STATE, v2026_rwerr_def, v2026_rwerr_mask },
	{ 0x02, 0, sizeof(v2026_disc_def), MODE_NO_STATE, v2026_disc_def, v2026_disc_mask },
	{ 0x08, 0, sizeof(v2026_caching_def), 0, v2026_caching_def, v2026_caching_mask },
	{ 0x0a, 0, sizeof(v2026_control_def), 20, v2026_control_def, v2026_control_mask },
	{ 0x1a, 0, sizeof(v2026_power_def), MODE_NO_STATE, v2026_power_def, v2026_power_mask },
	{ 0x1c, 0, sizeof(v2026_iec_def), MODE_NO_STATE, v2026_iec_def, v2026_iec_mask },
};

/* The invar-2026.1 opcode set; later profiles add bits to it. */
#define V2026_1_CMDS(w) \
	(SCMD_B(SCMD_TEST_UNIT_READY, w) | SCMD_B(SCMD_REQUEST_SENSE, w) | \
		SCMD_B(SCMD_READ_6, w) | SCMD_B(SCMD_WRITE_6, w) | SCMD_B(SCMD_INQUIRY, w) | \
		SCMD_B(SCMD_MODE_SELECT_6, w) | SCMD_B(SCMD_RESERVE_6, w) | \
		SCMD_B(SCMD_RELEASE_6, w) | SCMD_B(SCMD_MODE_SENSE_6, w) | \
		SCMD_B(SCMD_START_STOP_UNIT, w) | SCMD_B(SCMD_PREVENT_ALLOW, w) | \
		SCMD_B(SCMD_READ_CAPACITY_10, w) | SCMD_B(SCMD_READ_10, w) | \
		SCMD_B(SCMD_WRITE_10, w) | SCMD_B(SCMD_WRITE_VERIFY_10, w) | \
		SCMD_B(SCMD_VERIFY_10, w) | SCMD_B(SCMD_SYNC_CACHE_10, w) | \
		SCMD_B(SCMD_MODE_SELECT_10, w) | SCMD_B(SCMD_RESERVE_10, w) | \
		SCMD_B(SCMD_RELEASE_10, w) | SCMD_B(SCMD_MODE_SENSE_10, w) | \
		SCMD_B(SCMD_READ_16, w) | SCMD_B(SCMD_WRITE_16, w) | \
		SCMD_B(SCMD_WRITE_VERIFY_16, w) | SCMD_B(SCMD_VERIFY_16, w) | \
		SCMD_B(SCMD_SYNC_CACHE_16, w) | SCMD_B(SCMD_READ_CAPACITY_16, w) | \
		SCMD_B(SCMD_REPORT_LUNS, w) | SCMD_B(SCMD_REPORT_SUPPORTED_OPCODES, w) | \
		SCMD_B(SCMD_READ_12, w) | SCMD_B(SCMD_WRITE_12, w) | \
		SCMD_B(SCMD_WRITE_VERIFY_12, w) | SCMD_B(SCMD_VERIFY_12, w))

/* Standard INQUIRY: SPC-4 claimed (version 06h), HISUP, response data format 2, CMDQUE; 96
 * bytes through the version descriptors; 7Fh on a LUN without an LU (SPC-4 6.4.2). */
#define V2026_INQUIRY \
	{ .version = 0x06, .flags = { 0x12, 0x00, 0x00, 0x02 }, .std_len = 96, \
	  .no_lu_peripheral = 0x7f }

/* What every 2026 profile shares: identity strings, pages, mode pages. A later profile is
 * written as "2026.1 plus ...", so the released data exists once and cannot drift. */
#define V2026_COMMON \
	V2026_IDENTITY, .vpd_pages = v2026_vpd, .n_vpd_pages = sizeof(v2026_vpd)

/* Everything of V2026_COMMON but the VPD page list (2026.3 has its own). */
#define V2026_IDENTITY \
	.vendor = "INVAR", .product = "invar disk", .revision = "2026",                  \
	.version_desc = { VD_SAM5, VD_ISCSI, VD_SPC4, VD_SBC3 }, .rotation_rate = 1,     \
	.mode_pages = v2026_mode_pages,                                                  \
	.n_mode_pages = sizeof(v2026_mode_pages) / sizeof(v2026_mode_pages[0]),          \
	.inquiry = V2026_INQUIRY, .mode_devspec = 0x10 /* DPOFUA */,                    \
	.descriptor_sense = false

#define V2026_1_LIMITS \
	.max_xfer_bytes = 32u << 20, .opt_xfer_bytes = 1u << 20, .opt_gran_bytes = 4096

static const struct scsi_profile profile_2026_1 = {
	.name = "invar-2026.1",
	.summary = "SPC-4/SBC-3 direct-access disk: READ/WRITE/VERIFY 6-16, MODE SENSE/SELECT, "
		   "RESERVE/RELEASE, no thin provisioning, no protection information",
	V2026_COMMON,
	.limits = { V2026_1_LIMITS },
	.cmds = SCMD_SET(V2026_1_CMDS),
	.lbp = false,
};

/* ---- invar-2026.2: 2026.1 + thin provisioning and COMPARE AND WRITE ------------------------ */

#define V2026_2_CMDS(w) \
	(V2026_1_CMDS(w) | SCMD_B(SCMD_WRITE_SAME_10, w) | SCMD_B(SCMD_UNMAP, w) | \
		SCMD_B(SCMD_COMPARE_AND_WRITE, w) | SCMD_B(SCMD_WRITE_SAME_16, w) | \
		SCMD_B(SCMD_GET_LBA_STATUS, w))

/* WRITE SAME with 0 blocks ("to the end of the medium") would be unbounded work and buffer:
 * refused (SBC-3 5.42, WSNZ=1). MAXIMUM UNMAP LBA COUNT 2^20 blocks of 512; the optimal unmap
 * granularity is the file systems' block (holes are whole ones); WRITE SAME is bounded by one
 * task buffer, like max_xfer_bytes. */
#define V2026_2_LIMITS \
	V2026_1_LIMITS, .max_caw_blocks = 255, .wsnz = true, .max_unmap_bytes = 512ull << 20, \
	.max_unmap_desc = 256, .opt_unmap_gran_bytes = 4096, .max_ws_bytes = 32u << 20, \
	.max_lba_status_desc = 64

static const struct scsi_profile profile_2026_2 = {
	.name = "invar-2026.2",
	.summary = "invar-2026.1 plus thin provisioning (UNMAP, WRITE SAME 10/16 with UNMAP, "
		   "GET LBA STATUS, LBPME/LBPRZ) and COMPARE AND WRITE",
	V2026_COMMON,
	.limits = { V2026_2_LIMITS },
	.cmds = SCMD_SET(V2026_2_CMDS),
	.lbp = true,
};

/* ---- invar-2026.3: 2026.2 + reservations, copy offload, ALUA and the rest of SBC-3 --------
 * Released (the default since then): its answers are tests/golden/invar-2026.3.corpus and never
 * change. Its answers beyond 2026.2 come from the fields at the end of struct scsi_profile. */

#define V2026_3_CMDS(w) \
	(V2026_2_CMDS(w) | SCMD_B(SCMD_PERSISTENT_RESERVE_IN, w) | \
		SCMD_B(SCMD_PERSISTENT_RESERVE_OUT, w) | \
		SCMD_B(SCMD_REPORT_TARGET_PORT_GROUPS, w) | SCMD_B(SCMD_REPORT_SUPPORTED_TMF, w) | \
		SCMD_B(SCMD_ORWRITE_16, w) | SCMD_B(SCMD_PRE_FETCH_10, w) | \
		SCMD_B(SCMD_PRE_FETCH_16, w) | SCMD_B(SCMD_READ_DEFECT_DATA_10, w) | \
		SCMD_B(SCMD_READ_DEFECT_DATA_12, w) | SCMD_B(SCMD_WRITE_ATOMIC_16, w) | \
		SCMD_B(SCMD_SANITIZE_OVERWRITE, w) | SCMD_B(SCMD_SANITIZE_BLOCK_ERASE, w) | \
		SCMD_B(SCMD_SANITIZE_EXIT_FAILURE, w) | \
		SCMD_B(SCMD_FORMAT_UNIT, w) | SCMD_B(SCMD_EXTENDED_COPY, w) | \
		SCMD_B(SCMD_RECEIVE_COPY_STATUS, w) | SCMD_B(SCMD_RECEIVE_COPY_DATA, w) | \
		SCMD_B(SCMD_RECEIVE_COPY_OP_PARAMS, w) | SCMD_B(SCMD_RECEIVE_COPY_FAILURE, w) | \
		SCMD_B(SCMD_PRIN_READ_RESERVATION, w) | SCMD_B(SCMD_PRIN_REPORT_CAPABILITIES, w) | \
		SCMD_B(SCMD_PRIN_READ_FULL_STATUS, w) | SCMD_B(SCMD_PROUT_RESERVE, w) | \
		SCMD_B(SCMD_PROUT_RELEASE, w) | SCMD_B(SCMD_PROUT_CLEAR, w) | \
		SCMD_B(SCMD_PROUT_PREEMPT, w) | SCMD_B(SCMD_PROUT_PREEMPT_ABORT, w) | \
		SCMD_B(SCMD_PROUT_REGISTER_IGNORE, w) | SCMD_B(SCMD_PROUT_REGISTER_MOVE, w))

/* VPD pages: 2026.2's plus Third-party Copy (0x8F, EXTENDED COPY). */
static const uint8_t v2026_3_vpd[] = { 0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2 };

static const struct scsi_profile profile_2026_3 = {
	.name = "invar-2026.3",
	.summary = "invar-2026.2 plus persistent reservations, EXTENDED COPY, ALUA, ORWRITE, "
		   "PRE-FETCH, WRITE ATOMIC, SANITIZE, FORMAT UNIT and READ DEFECT DATA",
	V2026_IDENTITY,
	.vpd_pages = v2026_3_vpd,
	.n_vpd_pages = sizeof(v2026_3_vpd),
	.limits = { V2026_2_LIMITS },
	.cmds = SCMD_SET(V2026_3_CMDS),
	.lbp = true,
	/* A 512-byte LU is "512e": the file system block and page a smaller write is
	 * read-modified-written within, and the unit holes are punched in, is 4 KiB (as
	 * OPTIMAL UNMAP GRANULARITY and OPTIMAL TRANSFER LENGTH GRANULARITY already say). The same
	 * for every backstore, so a LU answers alike wherever its data lives. */
	.phys_block_bytes = 4096,
	.shared_task_set = true,
	.alua = true,
	.alua_transition_secs = 30,
	.mode_save = true,
	/* One 4 KiB page is the unit the page cache writes whole; 1 MiB bounds the synchronous
	 * write while the command holds its range (src/scsi/sbc3.c, src/scsi/lu_io.h). */
	.max_atomic_bytes = 1u << 20,
	.atomic_align_bytes = 4096,
	.atomic_gran_bytes = 4096,
	.prefetch_cache_bytes = 64u << 20,
	.wabereq = 1,
	.nexus_loss_ua = true,
};

/* Oldest first; the newest that is not a draft is the default. */
static const struct scsi_profile *const profiles[] = {
	&profile_2026_1,
	&profile_2026_2,
	&profile_2026_3,
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct scsi_profile *scsi_profile_find(const char *name)
{
	if (!name || !*name) {
		for (size_t i = N_PROFILES; i-- > 0;)
			if (!profiles[i]->draft)
				return profiles[i];
		return NULL;
	}
	for (size_t i = 0; i < N_PROFILES; i++)
		if (strcmp(profiles[i]->name, name) == 0)
			return profiles[i];
	return NULL;
}

void scsi_profile_foreach(void (*fn)(const struct scsi_profile *p, void *arg), void *arg)
{
	for (size_t i = 0; i < N_PROFILES; i++)
		fn(profiles[i], arg);
}

const struct scsi_mode_page_def *scsi_profile_mode_page(const struct scsi_profile *p,
							  uint8_t page, uint8_t subpage)
{
	for (unsigned i = 0; i < p->n_mode_pages; i++)
		if (p->mode_pages[i].page == page && p->mode_pages[i].subpage == subpage)
			return &p->mode_pages[i];
	return NULL;
}

unsigned scsi_profile_mode_state_len(const struct scsi_profile *p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->n_mode_pages; i++) {
		const struct scsi_mode_page_def *m = &p->mode_pages[i];

		if (m->state_off != MODE_NO_STATE && m->state_off + m->len > n)
			n = m->state_off + m->len;
	}
	return n;
}
