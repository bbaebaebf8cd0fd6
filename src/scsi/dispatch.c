/* The command table and the entry points the fabric calls (scsi.h). The table is the single
 * source for dispatch, field checking, REPORT SUPPORTED OPERATION CODES and the README command
 * list; a profile chooses which rows exist for an LU. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "backstore/backstore.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lu_feature.h"
#include "scsi/migsm.h"
#include "scsi/nexus.h"
#include "scsi/pr_lu.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "scsi/stats.h"
#include "util/log.h"

/* Shorthands for the usage masks. */
#define U32 0xff, 0xff, 0xff, 0xff
#define U64 U32, U32
#define CTRL 0x00	/* NACA, LINK and the vendor bits are not supported */

/* Byte 1 of READ(10/12/16): RDPROTECT, DPO, FUA, RARC, FUA_NV (obsolete but accepted). */
#define RD_FLAGS 0xfe
/* WRITE(10/12/16): WRPROTECT, DPO, FUA, FUA_NV. */
#define WR_FLAGS 0xfa
/* VERIFY and WRITE AND VERIFY: xxPROTECT, DPO, BYTCHK (2 bits, SBC-3 r36 5.35). */
#define VF_FLAGS 0xf6
#define GROUP 0x1f
/* WRITE SAME: WRPROTECT, ANCHOR, UNMAP (PBDATA/LBDATA are obsolete: refused); (16) adds NDOB. */
#define WS_FLAGS 0xf8
#define WS_NDOB_BIT 0x01
/* FORMAT UNIT byte 1: LONGLIST, FMTDATA, CMPLST, DEFECT LIST FORMAT; FMTPINFO (bits 7-6) is
 * refused by the mask: no protection information. */
#define FU_FLAGS 0x3f
/* PRE-FETCH byte 1: IMMED. */
#define PF_IMMED 0x02
/* READ DEFECT DATA: REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT. */
#define RDD_FLAGS 0x1f
/* SANITIZE byte 1: IMMED, AUSE and the service action (ZNR, SBC-4, is not supported). */
#define SAN_FLAGS 0xbf
/* WRITE ATOMIC(16) byte 1: WRPROTECT, DPO, FUA. */
#define WA_FLAGS 0xf8
/* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS byte 2: REPD. */
#define RSTMF_REPD 0x80
/* PERSISTENT RESERVE IN: service action, ALLOCATION LENGTH. OUT: service action, SCOPE and
 * TYPE, PARAMETER LIST LENGTH. */
#define PRIN_USAGE { OP_PERSISTENT_RESERVE_IN, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, CTRL }
#define PROUT_USAGE { OP_PERSISTENT_RESERVE_OUT, 0x1f, 0xff, 0, 0, U32, CTRL }
/* One dispatch row per PR service action (REPORT SUPPORTED OPERATION CODES lists each). */
#define PRIN_ROW(id, sa, name) \
	{ id, OP_PERSISTENT_RESERVE_IN, sa, "PERSISTENT RESERVE IN " name, 10, PRIN_USAGE, \
	  SCSI_DIR_READ, SCMD_F_RESV_OK | SCMD_F_PR_OK, 5, pr_setup_in, pr_execute_in }
#define PROUT_ROW(id, sa, name) \
	{ id, OP_PERSISTENT_RESERVE_OUT, sa, "PERSISTENT RESERVE OUT " name, 10, PROUT_USAGE, \
	  SCSI_DIR_WRITE, SCMD_F_PR_OK, 5, pr_setup_out, pr_execute_out }

#define BLOCK_RD (SCMD_F_MEDIUM | SCMD_F_BLOCK)
#define BLOCK_WR (SCMD_F_MEDIUM | SCMD_F_BLOCK | SCMD_F_WRITE)
/* READ and VERIFY: read-class under a persistent reservation (SBC-3 4.18). */
#define READ_PR (BLOCK_RD | SCMD_F_PR_READ)

static const struct scsi_cmd cmd_table[] = {
	{ SCMD_TEST_UNIT_READY, OP_TEST_UNIT_READY, SCMD_NO_SA, "TEST UNIT READY", 6,
	  { OP_TEST_UNIT_READY, 0, 0, 0, 0, CTRL }, SCSI_DIR_NONE, SCMD_F_MEDIUM | SCMD_F_PR_OK, 5,
	  NULL, spc_test_unit_ready },
	{ SCMD_REQUEST_SENSE, OP_REQUEST_SENSE, SCMD_NO_SA, "REQUEST SENSE", 6,
	  { OP_REQUEST_SENSE, 0x01, 0, 0, 0xff, CTRL }, SCSI_DIR_READ,
	  SCMD_F_UA_EXEMPT | SCMD_F_NO_LU | SCMD_F_RESV_OK | SCMD_F_PR_OK, 5, scsi_setup_alloc_in,
	  spc_request_sense },
	{ SCMD_READ_6, OP_READ_6, SCMD_NO_SA, "READ(6)", 6,
	  { OP_READ_6, 0x1f, 0xff, 0xff, 0xff, CTRL }, SCSI_DIR_READ, READ_PR, 30,
	  sbc_setup_rw, sbc_read },
	{ SCMD_WRITE_6, OP_WRITE_6, SCMD_NO_SA, "WRITE(6)", 6,
	  { OP_WRITE_6, 0x1f, 0xff, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE, BLOCK_WR, 30,
	  sbc_setup_rw, sbc_write },
	{ SCMD_INQUIRY, OP_INQUIRY, SCMD_NO_SA, "INQUIRY", 6,
	  { OP_INQUIRY, 0x01, 0xff, 0xff, 0xff, CTRL }, SCSI_DIR_READ,
	  SCMD_F_UA_EXEMPT | SCMD_F_NO_LU | SCMD_F_RESV_OK | SCMD_F_PR_OK, 5, spc_setup_inquiry, spc_inquiry },
	{ SCMD_MODE_SELECT_6, OP_MODE_SELECT_6, SCMD_NO_SA, "MODE SELECT(6)", 6,
	  { OP_MODE_SELECT_6, 0x11, 0, 0, 0xff, CTRL }, SCSI_DIR_WRITE, 0, 5,
	  mode_setup_select, mode_select },
	{ SCMD_RESERVE_6, OP_RESERVE_6, SCMD_NO_SA, "RESERVE(6)", 6,
	  { OP_RESERVE_6, 0, 0, 0, 0, CTRL }, SCSI_DIR_NONE, SCMD_F_PR_SPC2, 5, NULL, spc_reserve },
	{ SCMD_RELEASE_6, OP_RELEASE_6, SCMD_NO_SA, "RELEASE(6)", 6,
	  { OP_RELEASE_6, 0, 0, 0, 0, CTRL }, SCSI_DIR_NONE, SCMD_F_RESV_OK | SCMD_F_PR_SPC2, 5,
	  NULL, spc_release },
	{ SCMD_MODE_SENSE_6, OP_MODE_SENSE_6, SCMD_NO_SA, "MODE SENSE(6)", 6,
	  { OP_MODE_SENSE_6, 0x08, 0xff, 0xff, 0xff, CTRL }, SCSI_DIR_READ, SCMD_F_PR_READ, 5,
	  mode_setup_sense, mode_sense },
	{ SCMD_START_STOP_UNIT, OP_START_STOP_UNIT, SCMD_NO_SA, "START STOP UNIT", 6,
	  { OP_START_STOP_UNIT, 0x01, 0, 0x0f, 0xf7, CTRL }, SCSI_DIR_NONE, 0, 30,
	  spc_setup_start_stop, spc_start_stop_unit },
	{ SCMD_PREVENT_ALLOW, OP_PREVENT_ALLOW, SCMD_NO_SA, "PREVENT ALLOW MEDIUM REMOVAL", 6,
	  { OP_PREVENT_ALLOW, 0, 0, 0, 0x03, CTRL }, SCSI_DIR_NONE, 0, 5, NULL,
	  spc_prevent_allow },
	{ SCMD_READ_CAPACITY_10, OP_READ_CAPACITY_10, SCMD_NO_SA, "READ CAPACITY(10)", 10,
	  { OP_READ_CAPACITY_10, 0, U32, 0, 0, 0x01, CTRL }, SCSI_DIR_READ,
	  SCMD_F_MEDIUM | SCMD_F_PR_OK, 5,
	  sbc_setup_read_capacity_10, sbc_read_capacity_10 },
	{ SCMD_READ_10, OP_READ_10, SCMD_NO_SA, "READ(10)", 10,
	  { OP_READ_10, RD_FLAGS, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_READ, READ_PR, 30,
	  sbc_setup_rw, sbc_read },
	{ SCMD_WRITE_10, OP_WRITE_10, SCMD_NO_SA, "WRITE(10)", 10,
	  { OP_WRITE_10, WR_FLAGS, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE, BLOCK_WR,
	  30, sbc_setup_rw, sbc_write },
	{ SCMD_WRITE_VERIFY_10, OP_WRITE_VERIFY_10, SCMD_NO_SA, "WRITE AND VERIFY(10)", 10,
	  { OP_WRITE_VERIFY_10, VF_FLAGS, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE,
	  BLOCK_WR, 30, sbc_setup_rw, sbc_write },
	{ SCMD_VERIFY_10, OP_VERIFY_10, SCMD_NO_SA, "VERIFY(10)", 10,
	  { OP_VERIFY_10, VF_FLAGS, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE, READ_PR,
	  30, sbc_setup_rw, sbc_verify },
	{ SCMD_SYNC_CACHE_10, OP_SYNC_CACHE_10, SCMD_NO_SA, "SYNCHRONIZE CACHE(10)", 10,
	  { OP_SYNC_CACHE_10, 0x06, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_NONE, BLOCK_RD,
	  60, sbc_setup_rw, sbc_sync_cache },
	{ SCMD_MODE_SELECT_10, OP_MODE_SELECT_10, SCMD_NO_SA, "MODE SELECT(10)", 10,
	  { OP_MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE, 0, 5,
	  mode_setup_select, mode_select },
	{ SCMD_RESERVE_10, OP_RESERVE_10, SCMD_NO_SA, "RESERVE(10)", 10,
	  { OP_RESERVE_10, 0, 0, 0, 0, 0, 0, 0, 0, CTRL }, SCSI_DIR_NONE, SCMD_F_PR_SPC2, 5, NULL,
	  spc_reserve },
	{ SCMD_RELEASE_10, OP_RELEASE_10, SCMD_NO_SA, "RELEASE(10)", 10,
	  { OP_RELEASE_10, 0, 0, 0, 0, 0, 0, 0, 0, CTRL }, SCSI_DIR_NONE, SCMD_F_RESV_OK | SCMD_F_PR_SPC2, 5,
	  NULL, spc_release },
	{ SCMD_MODE_SENSE_10, OP_MODE_SENSE_10, SCMD_NO_SA, "MODE SENSE(10)", 10,
	  { OP_MODE_SENSE_10, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, CTRL }, SCSI_DIR_READ,
	  SCMD_F_PR_READ, 5, mode_setup_sense, mode_sense },
	/* invar-2026.3: persistent reservations (SPC-4 6.15, 6.16, src/scsi/pr.c). */
	PRIN_ROW(SCMD_PERSISTENT_RESERVE_IN, SA_PRIN_READ_KEYS, "READ KEYS"),
	PRIN_ROW(SCMD_PRIN_READ_RESERVATION, SA_PRIN_READ_RESERVATION, "READ RESERVATION"),
	PRIN_ROW(SCMD_PRIN_REPORT_CAPABILITIES, SA_PRIN_REPORT_CAPABILITIES, "REPORT CAPABILITIES"),
	PRIN_ROW(SCMD_PRIN_READ_FULL_STATUS, SA_PRIN_READ_FULL_STATUS, "READ FULL STATUS"),
	PROUT_ROW(SCMD_PERSISTENT_RESERVE_OUT, PR_OUT_REGISTER, "REGISTER"),
	PROUT_ROW(SCMD_PROUT_RESERVE, PR_OUT_RESERVE, "RESERVE"),
	PROUT_ROW(SCMD_PROUT_RELEASE, PR_OUT_RELEASE, "RELEASE"),
	PROUT_ROW(SCMD_PROUT_CLEAR, PR_OUT_CLEAR, "CLEAR"),
	PROUT_ROW(SCMD_PROUT_PREEMPT, PR_OUT_PREEMPT, "PREEMPT"),
	PROUT_ROW(SCMD_PROUT_PREEMPT_ABORT, PR_OUT_PREEMPT_ABORT, "PREEMPT AND ABORT"),
	PROUT_ROW(SCMD_PROUT_REGISTER_IGNORE, PR_OUT_REGISTER_IGNORE,
		  "REGISTER AND IGNORE EXISTING KEY"),
	PROUT_ROW(SCMD_PROUT_REGISTER_MOVE, PR_OUT_REGISTER_MOVE, "REGISTER AND MOVE"),
	{ SCMD_READ_16, OP_READ_16, SCMD_NO_SA, "READ(16)", 16,
	  { OP_READ_16, RD_FLAGS, U64, U32, GROUP, CTRL }, SCSI_DIR_READ, READ_PR, 30,
	  sbc_setup_rw, sbc_read },
	{ SCMD_WRITE_16, OP_WRITE_16, SCMD_NO_SA, "WRITE(16)", 16,
	  { OP_WRITE_16, WR_FLAGS, U64, U32, GROUP, CTRL }, SCSI_DIR_WRITE, BLOCK_WR, 30,
	  sbc_setup_rw, sbc_write },
	{ SCMD_WRITE_VERIFY_16, OP_WRITE_VERIFY_16, SCMD_NO_SA, "WRITE AND VERIFY(16)", 16,
	  { OP_WRITE_VERIFY_16, VF_FLAGS, U64, U32, GROUP, CTRL }, SCSI_DIR_WRITE, BLOCK_WR, 30,
	  sbc_setup_rw, sbc_write },
	{ SCMD_VERIFY_16, OP_VERIFY_16, SCMD_NO_SA, "VERIFY(16)", 16,
	  { OP_VERIFY_16, VF_FLAGS, U64, U32, GROUP, CTRL }, SCSI_DIR_WRITE, READ_PR, 30,
	  sbc_setup_rw, sbc_verify },
	{ SCMD_SYNC_CACHE_16, OP_SYNC_CACHE_16, SCMD_NO_SA, "SYNCHRONIZE CACHE(16)", 16,
	  { OP_SYNC_CACHE_16, 0x06, U64, U32, GROUP, CTRL }, SCSI_DIR_NONE, BLOCK_RD, 60,
	  sbc_setup_rw, sbc_sync_cache },
	{ SCMD_READ_CAPACITY_16, OP_SERVICE_ACTION_IN_16, SA_READ_CAPACITY_16,
	  "READ CAPACITY(16)", 16,
	  { OP_SERVICE_ACTION_IN_16, 0x1f, U64, U32, 0x01, CTRL }, SCSI_DIR_READ,
	  SCMD_F_MEDIUM | SCMD_F_PR_OK, 5, scsi_setup_alloc_in, sbc_read_capacity_16 },
	{ SCMD_REPORT_LUNS, OP_REPORT_LUNS, SCMD_NO_SA, "REPORT LUNS", 12,
	  { OP_REPORT_LUNS, 0, 0xff, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_UA_EXEMPT | SCMD_F_NO_LU | SCMD_F_RESV_OK | SCMD_F_PR_OK, 5, spc_setup_report_luns,
	  spc_report_luns },
	/* invar-2026.3: ALUA (src/scsi/alua.c). */
	{ SCMD_REPORT_TARGET_PORT_GROUPS, OP_MAINTENANCE_IN, SA_REPORT_TARGET_PORT_GROUPS,
	  "REPORT TARGET PORT GROUPS", 12,
	  { OP_MAINTENANCE_IN, 0xff, 0, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_RESV_OK | SCMD_F_PR_OK,
	  5, alua_setup_rtpg, alua_report_tpgs },
	{ SCMD_REPORT_SUPPORTED_OPCODES, OP_MAINTENANCE_IN, SA_REPORT_SUPPORTED_OPCODES,
	  "REPORT SUPPORTED OPERATION CODES", 12,
	  { OP_MAINTENANCE_IN, 0x1f, 0x87, 0xff, 0xff, 0xff, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_RESV_OK | SCMD_F_PR_OK, 5, spc_setup_report_opcodes, spc_report_opcodes },
	{ SCMD_READ_12, OP_READ_12, SCMD_NO_SA, "READ(12)", 12,
	  { OP_READ_12, RD_FLAGS, U32, U32, GROUP, CTRL }, SCSI_DIR_READ, READ_PR, 30,
	  sbc_setup_rw, sbc_read },
	{ SCMD_WRITE_12, OP_WRITE_12, SCMD_NO_SA, "WRITE(12)", 12,
	  { OP_WRITE_12, WR_FLAGS, U32, U32, GROUP, CTRL }, SCSI_DIR_WRITE, BLOCK_WR, 30,
	  sbc_setup_rw, sbc_write },
	{ SCMD_WRITE_VERIFY_12, OP_WRITE_VERIFY_12, SCMD_NO_SA, "WRITE AND VERIFY(12)", 12,
	  { OP_WRITE_VERIFY_12, VF_FLAGS, U32, U32, GROUP, CTRL }, SCSI_DIR_WRITE, BLOCK_WR, 30,
	  sbc_setup_rw, sbc_write },
	{ SCMD_VERIFY_12, OP_VERIFY_12, SCMD_NO_SA, "VERIFY(12)", 12,
	  { OP_VERIFY_12, VF_FLAGS, U32, U32, GROUP, CTRL }, SCSI_DIR_WRITE, READ_PR, 30,
	  sbc_setup_rw, sbc_verify },
	/* invar-2026.2: thin provisioning and COMPARE AND WRITE. */
	{ SCMD_WRITE_SAME_10, OP_WRITE_SAME_10, SCMD_NO_SA, "WRITE SAME(10)", 10,
	  { OP_WRITE_SAME_10, WS_FLAGS, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE,
	  BLOCK_WR, 60, sbc_setup_write_same, sbc_write_same },
	{ SCMD_UNMAP, OP_UNMAP, SCMD_NO_SA, "UNMAP", 10,
	  { OP_UNMAP, 0x01, 0, 0, 0, 0, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE,
	  SCMD_F_MEDIUM | SCMD_F_WRITE, 60, sbc_setup_unmap, sbc_unmap },
	{ SCMD_COMPARE_AND_WRITE, OP_COMPARE_AND_WRITE, SCMD_NO_SA, "COMPARE AND WRITE", 16,
	  { OP_COMPARE_AND_WRITE, WR_FLAGS, U64, 0, 0, 0, 0xff, GROUP, CTRL }, SCSI_DIR_WRITE,
	  BLOCK_WR, 30, sbc_setup_caw, sbc_compare_and_write },
	{ SCMD_WRITE_SAME_16, OP_WRITE_SAME_16, SCMD_NO_SA, "WRITE SAME(16)", 16,
	  { OP_WRITE_SAME_16, WS_FLAGS | WS_NDOB_BIT, U64, U32, GROUP, CTRL }, SCSI_DIR_WRITE,
	  BLOCK_WR, 60, sbc_setup_write_same, sbc_write_same },
	{ SCMD_GET_LBA_STATUS, OP_SERVICE_ACTION_IN_16, SA_GET_LBA_STATUS, "GET LBA STATUS", 16,
	  { OP_SERVICE_ACTION_IN_16, 0x1f, U64, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_MEDIUM | SCMD_F_PR_READ, 5, sbc_setup_get_lba_status, sbc_get_lba_status },
	/* invar-2026.3: copy offload (src/scsi/xcopy.c). */
	{ SCMD_EXTENDED_COPY, OP_EXTENDED_COPY, SA_XCOPY_LID1, "EXTENDED COPY(LID1)", 16,
	  { OP_EXTENDED_COPY, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_WRITE, 0, 120,
	  xcopy_setup_extended_copy, xcopy_extended_copy },
	{ SCMD_RECEIVE_COPY_STATUS, OP_RECEIVE_COPY_RESULTS, SA_RCR_COPY_STATUS,
	  "RECEIVE COPY STATUS(LID1)", 16,
	  { OP_RECEIVE_COPY_RESULTS, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_PR_OK, 5, xcopy_setup_receive, xcopy_receive_copy_results },
	{ SCMD_RECEIVE_COPY_DATA, OP_RECEIVE_COPY_RESULTS, SA_RCR_RECEIVE_DATA,
	  "RECEIVE COPY DATA(LID1)", 16,
	  { OP_RECEIVE_COPY_RESULTS, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_PR_OK, 5, xcopy_setup_receive, xcopy_receive_copy_results },
	{ SCMD_RECEIVE_COPY_OP_PARAMS, OP_RECEIVE_COPY_RESULTS, SA_RCR_OP_PARAMS,
	  "RECEIVE COPY OPERATING PARAMETERS", 16,
	  { OP_RECEIVE_COPY_RESULTS, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_PR_OK, 5, xcopy_setup_receive, xcopy_receive_copy_results },
	{ SCMD_RECEIVE_COPY_FAILURE, OP_RECEIVE_COPY_RESULTS, SA_RCR_FAILED_SEGMENT,
	  "RECEIVE COPY FAILURE DETAILS(LID1)", 16,
	  { OP_RECEIVE_COPY_RESULTS, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_PR_OK, 5, xcopy_setup_receive, xcopy_receive_copy_results },
	/* invar-2026.3: the rest of SBC-3 (src/scsi/sbc3.c, src/scsi/sbc_maint.c). SANITIZE has no
	 * CRYPTOGRAPHIC ERASE row: no backstore encrypts, so it cannot be honoured. */
	{ SCMD_FORMAT_UNIT, OP_FORMAT_UNIT, SCMD_NO_SA, "FORMAT UNIT", 6,
	  { OP_FORMAT_UNIT, FU_FLAGS, 0, 0, 0, CTRL }, SCSI_DIR_WRITE,
	  SCMD_F_MEDIUM | SCMD_F_WRITE, 3600, sbc_maint_setup_format, sbc_maint_format },
	{ SCMD_PRE_FETCH_10, OP_PRE_FETCH_10, SCMD_NO_SA, "PRE-FETCH(10)", 10,
	  { OP_PRE_FETCH_10, PF_IMMED, U32, GROUP, 0xff, 0xff, CTRL }, SCSI_DIR_NONE, READ_PR,
	  30, NULL, sbc3_prefetch },
	{ SCMD_READ_DEFECT_DATA_10, OP_READ_DEFECT_DATA_10, SCMD_NO_SA, "READ DEFECT DATA(10)", 10,
	  { OP_READ_DEFECT_DATA_10, 0, RDD_FLAGS, 0, 0, 0, 0, 0xff, 0xff, CTRL }, SCSI_DIR_READ,
	  SCMD_F_MEDIUM | SCMD_F_PR_READ, 5, sbc3_setup_read_defect, sbc3_read_defect },
	{ SCMD_SANITIZE_OVERWRITE, OP_SANITIZE, SA_SANITIZE_OVERWRITE, "SANITIZE OVERWRITE", 10,
	  { OP_SANITIZE, SAN_FLAGS, 0, 0, 0, 0, 0, 0xff, 0xff, CTRL }, SCSI_DIR_WRITE,
	  SCMD_F_MEDIUM | SCMD_F_WRITE, 3600, sbc_maint_setup_sanitize, sbc_maint_sanitize },
	{ SCMD_SANITIZE_BLOCK_ERASE, OP_SANITIZE, SA_SANITIZE_BLOCK_ERASE, "SANITIZE BLOCK ERASE",
	  10, { OP_SANITIZE, SAN_FLAGS, 0, 0, 0, 0, 0, 0xff, 0xff, CTRL }, SCSI_DIR_NONE,
	  SCMD_F_MEDIUM | SCMD_F_WRITE, 3600, sbc_maint_setup_sanitize, sbc_maint_sanitize },
	{ SCMD_SANITIZE_EXIT_FAILURE, OP_SANITIZE, SA_SANITIZE_EXIT_FAILURE,
	  "SANITIZE EXIT FAILURE MODE", 10,
	  { OP_SANITIZE, SAN_FLAGS, 0, 0, 0, 0, 0, 0xff, 0xff, CTRL }, SCSI_DIR_NONE,
	  SCMD_F_MEDIUM | SCMD_F_WRITE, 5, sbc_maint_setup_sanitize, sbc_maint_sanitize },
	{ SCMD_ORWRITE_16, OP_ORWRITE_16, SCMD_NO_SA, "ORWRITE(16)", 16,
	  { OP_ORWRITE_16, WR_FLAGS, U64, U32, GROUP, CTRL }, SCSI_DIR_WRITE, BLOCK_WR, 30,
	  sbc3_setup_orwrite, sbc3_orwrite },
	{ SCMD_PRE_FETCH_16, OP_PRE_FETCH_16, SCMD_NO_SA, "PRE-FETCH(16)", 16,
	  { OP_PRE_FETCH_16, PF_IMMED, U64, U32, GROUP, CTRL }, SCSI_DIR_NONE, READ_PR, 30,
	  NULL, sbc3_prefetch },
	{ SCMD_WRITE_ATOMIC_16, OP_WRITE_ATOMIC_16, SCMD_NO_SA, "WRITE ATOMIC(16)", 16,
	  { OP_WRITE_ATOMIC_16, WA_FLAGS, U64, 0xff, 0xff, 0xff, 0xff, GROUP, CTRL },
	  SCSI_DIR_WRITE, BLOCK_WR, 30, sbc3_setup_write_atomic, sbc3_write_atomic },
	{ SCMD_REPORT_SUPPORTED_TMF, OP_MAINTENANCE_IN, SA_REPORT_SUPPORTED_TMF,
	  "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", 12,
	  { OP_MAINTENANCE_IN, 0x1f, RSTMF_REPD, 0, 0, 0, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_RESV_OK | SCMD_F_PR_OK, 5, scsi_setup_alloc_in, sbc3_report_tmf },
	{ SCMD_READ_DEFECT_DATA_12, OP_READ_DEFECT_DATA_12, SCMD_NO_SA, "READ DEFECT DATA(12)", 12,
	  { OP_READ_DEFECT_DATA_12, RDD_FLAGS, U32, U32, 0, CTRL }, SCSI_DIR_READ,
	  SCMD_F_MEDIUM | SCMD_F_PR_READ, 5, sbc3_setup_read_defect, sbc3_read_defect },
};

#define N_CMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))
_Static_assert(N_CMDS <= SCMD_COUNT, "at most one dispatch row per enum scsi_cmd_id");

const struct scsi_cmd *scsi_cmd_get(enum scsi_cmd_id id)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (cmd_table[i].id == id)
			return &cmd_table[i];
	return NULL;
}

void scsi_cmd_foreach(void (*fn)(const struct scsi_cmd *c, void *arg), void *arg)
{
	/* Ascending opcode, then service action: the order REPORT SUPPORTED OPERATION CODES
	 * and the README use. The table is small; a selection pass keeps it const. */
	unsigned last_key = 0;
	bool first = true;

	for (;;) {
		const struct scsi_cmd *best = NULL;
		unsigned best_key = 0;

		for (size_t i = 0; i < N_CMDS; i++) {
			const struct scsi_cmd *c = &cmd_table[i];
			unsigned key = (unsigned)c->opcode << 16 |
				       (c->sa == SCMD_NO_SA ? 0 : c->sa);

			if (!first && key <= last_key)
				continue;
			if (!best || key < best_key) {
				best = c;
				best_key = key;
			}
		}
		if (!best)
			return;
		fn(best, arg);
		last_key = best_key;
		first = false;
	}
}

struct profile_cmd_iter {
	const struct scsi_profile *p;
	void (*fn)(uint8_t opcode, uint16_t sa, const char *name, void *arg);
	void *arg;
};

static void profile_cmd_one(const struct scsi_cmd *c, void *arg)
{
	struct profile_cmd_iter *it = arg;

	if (scmd_set_has(&it->p->cmds, c->id))
		it->fn(c->opcode, c->sa, c->name, it->arg);
}

void scsi_profile_cmd_foreach(const struct scsi_profile *p,
			      void (*fn)(uint8_t opcode, uint16_t sa, const char *name, void *arg),
			      void *arg)
{
	struct profile_cmd_iter it = { p, fn, arg };

	scsi_cmd_foreach(profile_cmd_one, &it);
}

bool scsi_opcode_has_sa(const struct scsi_profile *p, uint8_t opcode)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (cmd_table[i].opcode == opcode && cmd_table[i].sa != SCMD_NO_SA &&
		    (!p || scmd_set_has(&p->cmds, cmd_table[i].id)))
			return true;
	return false;
}

/* An opcode index over cmd_table, built once: the rows of opcode op are
 * cmd_table[opcode_rows[opcode_first[op] .. opcode_first[op + 1])], in table order (a counting
 * sort), so a lookup visits only its opcode's rows (one, or one per service action). */
_Static_assert(N_CMDS < UINT16_MAX, "row numbers fit the index");
static uint16_t opcode_first[257];
static uint16_t opcode_rows[N_CMDS];
static pthread_once_t opcode_index_once = PTHREAD_ONCE_INIT;

static void opcode_index_build(void)
{
	uint16_t next[256];
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		opcode_first[cmd_table[i].opcode + 1]++;
	for (i = 1; i < 257; i++)
		opcode_first[i] = (uint16_t)(opcode_first[i] + opcode_first[i - 1]);
	memcpy(next, opcode_first, sizeof(next));
	for (i = 0; i < N_CMDS; i++)
		opcode_rows[next[cmd_table[i].opcode]++] = (uint16_t)i;
}

const struct scsi_cmd *scsi_cmd_lookup(const uint8_t *cdb)
{
	unsigned i;

	pthread_once(&opcode_index_once, opcode_index_build);
	for (i = opcode_first[cdb[0]]; i < opcode_first[cdb[0] + 1]; i++) {
		const struct scsi_cmd *c = &cmd_table[opcode_rows[i]];

		if (c->sa == SCMD_NO_SA || c->sa == (cdb[1] & 0x1f))
			return c;
	}
	return NULL;
}

/* ---- completion and sense ----------------------------------------------------------------- */

static bool task_dsense(const struct scsi_task *t)
{
	if (t->lu)
		return atomic_load_explicit(&t->lu->mode.dsense, memory_order_relaxed);
	return scsi_profile_find(NULL)->descriptor_sense;
}

void scsi_task_set_sense_extra(struct scsi_task *t, enum sense_reason r,
			       const struct sense_extra *x)
{
	const struct sense_entry *e = sense_lookup(r);

	/* The status comes from the reason's row; only CHECK CONDITION carries sense data. */
	t->status = e->status;
	t->sense_len = 0;
	if (e->status == SCSI_STATUS_CHECK_CONDITION)
		t->sense_len = (uint8_t)sense_encode(t->sense, sizeof(t->sense), r,
						     task_dsense(t), x);
}

void scsi_task_set_sense(struct scsi_task *t, enum sense_reason r)
{
	scsi_task_set_sense_extra(t, r, NULL);
}

void scsi_task_complete(struct scsi_task *t, enum sense_reason r, const struct sense_extra *x)
{
	scsi_task_set_sense_extra(t, r, x);
	t->done(t);
}

enum sense_reason scsi_task_data_in(struct scsi_task *t, const void *data, uint32_t len)
{
	uint32_t n = len < t->data_in_max ? len : t->data_in_max;

	if (n && scsi_task_alloc_buf(t, n) < 0)
		return SR_OUT_OF_RESOURCES;
	if (n)
		memcpy(t->buf, data, n);
	t->data_in_len = n;
	return SR_OK;
}

enum sense_reason scsi_setup_alloc_in(struct scsi_task *t, struct sense_extra *x)
{
	t->dir = SCSI_DIR_READ;
	t->data_in_max = cdb_alloc_len(t->cdb);
	return SR_OK;
}

/* ---- entry points ------------------------------------------------------------------------- */

enum sense_reason scsi_ua_reason(int kind)
{
	switch (kind) {
	case UA_POWER_ON: return SR_UA_POWER_ON_RESET;
	case UA_BUS_RESET: return SR_UA_BUS_RESET;
	case UA_LUN_RESET: return SR_UA_LUN_RESET;
	case UA_NEXUS_LOSS: return SR_UA_NEXUS_LOSS;
	case UA_MODE_CHANGED: return SR_UA_MODE_CHANGED;
	case UA_CAPACITY_CHANGED: return SR_UA_CAPACITY_CHANGED;
	case UA_LUNS_CHANGED: return SR_UA_LUNS_CHANGED;
	case UA_RESV_PREEMPTED: return SR_UA_RESV_PREEMPTED;
	case UA_RESV_RELEASED: return SR_UA_RESV_RELEASED;
	case UA_REGS_PREEMPTED: return SR_UA_REGS_PREEMPTED;
	case UA_CMDS_CLEARED: return SR_UA_CMDS_CLEARED;
	case UA_ALUA_CHANGED: return SR_UA_ALUA_CHANGED;
	default: return SR_UA_POWER_ON_RESET;
	}
}

static enum pr_access pr_access_of(const struct scsi_cmd *c)
{
	if (c->flags & SCMD_F_PR_OK)
		return PR_ACCESS_ALLOWED;
	if (c->flags & SCMD_F_PR_SPC2)
		return PR_ACCESS_SPC2;
	if (c->flags & SCMD_F_PR_READ)
		return PR_ACCESS_READ;
	return PR_ACCESS_WRITE;
}

static enum sense_reason setup_block(struct scsi_task *t, const struct scsi_cmd *c,
				     struct sense_extra *x)
{
	struct lu *lu = t->lu;
	struct cdb_rw rw;
	uint64_t nblocks;

	cdb_decode_rw(t->cdb, &rw);
	if (rw.protect) {
		/* No protection information (READ CAPACITY(16) PROT_EN=0): SBC-3 5.x says a
		 * non-zero xxPROTECT is INVALID FIELD IN CDB. */
		sense_field_pointer(x, true, 1, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	t->lba = rw.lba;
	t->nblocks = rw.nblocks;
	if (atomic_load_explicit(&lu->medium.ejected, memory_order_relaxed))
		return SR_NOT_READY_REMOVED;
	if (atomic_load_explicit(&lu->medium.stopped, memory_order_relaxed))
		return SR_NOT_READY_STOPPED;
	nblocks = lu_num_blocks(lu);
	if (rw.lba > nblocks || rw.nblocks > nblocks - rw.lba)
		return SR_LBA_OUT_OF_RANGE;
	if ((c->flags & SCMD_F_WRITE) &&
	    ((lu->bs && lu->bs->read_only) || atomic_load_explicit(&lu->mode.swp, memory_order_relaxed)))
		return SR_WRITE_PROTECTED;
	return SR_OK;
}

int scsi_task_setup(struct scsi_task *t)
{
	struct sense_extra x = { 0 };
	const struct scsi_cmd *c;
	struct lu *lu = t->lu;
	enum sense_reason r = SR_OK;

	scsi_stats_task_start(t);	/* latency and queue depth count from here */
	scsi_task_set_sense(t, SR_OK);
	t->dir = SCSI_DIR_NONE;
	t->data_out_len = 0;
	t->data_in_max = 0;
	t->data_in_len = 0;
	t->lba = 0;
	t->nblocks = 0;
	t->core_flags = 0;
	c = scsi_cmd_lookup(t->cdb);
	t->cmd = c;

	if (!lu) {
		/* SPC-4 4.6.4 (incorrect logical unit): only what identifies the target. */
		if (c && (c->flags & SCMD_F_NO_LU) &&
		    scmd_set_has(&scsi_profile_find(NULL)->cmds, c->id))
			goto checked_lu;
		r = SR_LUN_NOT_SUPPORTED;
		goto fail;
	}

	/* Live migration: a LU that is not serving (STOP_COPY and after, or still RESUMING)
	 * answers BUSY, which the initiator retries; admitted commands are counted so STOP_COPY
	 * can drain them (scsi/migsm.h). */
	if (!t->mig_counted) {
		if (!lu_mig_admit(lu)) {
			r = SR_BUSY;
			goto fail;
		}
		t->mig_counted = true;
	}
	/* The LU learns who this nexus is (one lock-free hint lookup after the first time):
	 * reservations name initiator ports, and live migration carries each nexus's unit
	 * attentions by that name. */
	if (t->nexus)
		lu_nexus_identify(lu, t->nexus);
	/* SAM-5 5.14: every command but INQUIRY, REPORT LUNS and REQUEST SENSE reports a
	 * pending unit attention (and clears it) instead of running. */
	if (!(c && (c->flags & SCMD_F_UA_EXEMPT)) && t->nexus) {
		int k = lu_ua_take(lu, t->nexus->id);

		if (k >= 0) {
			r = scsi_ua_reason(k);
			goto fail;
		}
	}
	if (!c || !scmd_set_has(&lu->profile->cmds, c->id)) {
		if (scsi_opcode_has_sa(lu->profile, t->cdb[0])) {
			/* SPC-4 4.2.5.2: an unsupported service action of a supported
			 * opcode is a bad field, not a bad opcode. */
			sense_field_pointer(&x, true, 1, 4);
			r = SR_INVALID_FIELD_IN_CDB;
		} else {
			r = SR_INVALID_OPCODE;
		}
		goto fail;
	}
	/* SPC-4 5.15.2.4: a port group that is not active serves only a few commands. */
	if (lu->profile->alua && t->nexus && t->nexus->alua) {
		r = alua_check_cmd(t, c);
		if (r != SR_OK)
			goto fail;
	}
	if (!(c->flags & SCMD_F_RESV_OK) && t->nexus) {
		uint64_t holder = __atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED);

		if (holder && holder != t->nexus->id) {
			r = SR_RESERVATION_CONFLICT;
			goto fail;
		}
	}
	if (lu->pr && pr_lu_conflict(lu, t->nexus, pr_access_of(c))) {
		r = SR_RESERVATION_CONFLICT;
		goto fail;
	}
	/* SANITIZE or FORMAT UNIT running, or the failure one left (src/scsi/sbc_maint.c). */
	if (atomic_load_explicit(&lu->maint.state, memory_order_relaxed) != SBC_MAINT_NONE) {
		r = sbc_maint_admit(t, c, &x);
		if (r != SR_OK)
			goto fail;
	}

checked_lu:
	if (t->cdb_len && t->cdb_len < c->cdb_len) {
		r = SR_INVALID_OPCODE;
		goto fail;
	}
	if (!cdb_check_usage(t->cdb, c->usage, c->cdb_len, &x)) {
		r = SR_INVALID_FIELD_IN_CDB;
		goto fail;
	}
	if (lu && (c->flags & SCMD_F_BLOCK)) {
		r = setup_block(t, c, &x);
		if (r != SR_OK)
			goto fail;
	}
	if (c->setup) {
		r = c->setup(t, &x);
		if (r != SR_OK)
			goto fail;
	}
	if (lu && (c->flags & SCMD_F_MEDIUM) &&
	    atomic_load_explicit(&lu->medium.ejected, memory_order_relaxed)) {
		r = SR_NOT_READY_REMOVED;
		goto fail;
	}
	if (lu && (c->flags & SCMD_F_MEDIUM) &&
	    atomic_load_explicit(&lu->medium.stopped, memory_order_relaxed)) {
		r = SR_NOT_READY_STOPPED;
		goto fail;
	}
	return 0;

fail:
	t->dir = SCSI_DIR_NONE;
	t->data_out_len = 0;
	t->data_in_max = 0;
	scsi_task_set_sense_extra(t, r, &x);
	return -1;
}

void scsi_task_execute(struct scsi_task *t)
{
	const struct scsi_cmd *c = t->cmd;

	if (!c) {
		scsi_task_complete(t, SR_HARDWARE_ERROR, NULL);
		return;
	}
	if (!c->execute) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	c->execute(t);
}

/* ---- task management effects -------------------------------------------------------------- */

/* SAM-5 6.3: each feature does what a reset means to it (RESERVE(6/10) released, PREVENT
 * ended...: scsi/lu_feature.c), then every nexus gets the unit attention. */
static void lu_reset(struct lu *lu, enum lu_reset_kind kind)
{
	for (unsigned i = 0; i < LU_F_COUNT; i++)
		if (lu_features[i].reset)
			lu_features[i].reset(lu, kind);
}

void scsi_lu_reset(struct lu *lu, const struct it_nexus *by)
{
	if (!lu)
		return;
	lu_reset(lu, LU_RESET_LU);
	lu_ua_establish_all(lu, UA_LUN_RESET, 0);
}

void scsi_target_reset(struct lu *lu, const struct it_nexus *by)
{
	if (!lu)
		return;
	lu_reset(lu, LU_RESET_TARGET);
	lu_ua_establish_all(lu, UA_BUS_RESET, 0);
}

bool scsi_lu_shared_task_set(const struct lu *lu)
{
	return lu && lu->profile->shared_task_set;
}

/* SAM-5 6.3.4: each feature forgets the nexus (the SPC-2 reservation goes with it,
 * persistent registrations stay: scsi/lu_feature.c). */
void scsi_nexus_loss(struct lu *lu, const struct it_nexus *nexus)
{
	if (!lu || !nexus)
		return;
	for (unsigned i = 0; i < LU_F_COUNT; i++)
		if (lu_features[i].nexus_gone)
			lu_features[i].nexus_gone(lu, nexus);
}

bool scsi_task_iov_direct(const struct scsi_task *t)
{
	if (!t->cmd || !t->lu || t->status != SCSI_STATUS_GOOD || t->sense_len)
		return false;
	if (t->cmd->execute == sbc_read)
		return t->dir == SCSI_DIR_READ;
	if (t->cmd->execute == sbc_write)
		return t->dir == SCSI_DIR_WRITE;
	return false;
}
