/* CDB field decode: every CDB field is read here at a named offset (SBC-3 5.x, SPC-4 6.x). */
#ifndef INVAR_SCSI_CDB_H
#define INVAR_SCSI_CDB_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/sense.h"

/* Operation codes (SPC-4 Annex D, SBC-3 5.1). */
#define OP_TEST_UNIT_READY 0x00
#define OP_REQUEST_SENSE 0x03
#define OP_READ_6 0x08
#define OP_WRITE_6 0x0a
#define OP_INQUIRY 0x12
#define OP_MODE_SELECT_6 0x15
#define OP_RESERVE_6 0x16
#define OP_RELEASE_6 0x17
#define OP_MODE_SENSE_6 0x1a
#define OP_START_STOP_UNIT 0x1b
#define OP_PREVENT_ALLOW 0x1e
#define OP_READ_CAPACITY_10 0x25
#define OP_READ_10 0x28
#define OP_WRITE_10 0x2a
#define OP_WRITE_VERIFY_10 0x2e
#define OP_VERIFY_10 0x2f
#define OP_SYNC_CACHE_10 0x35
#define OP_WRITE_SAME_10 0x41
#define OP_UNMAP 0x42
#define OP_MODE_SELECT_10 0x55
#define OP_RESERVE_10 0x56
#define OP_RELEASE_10 0x57
#define OP_MODE_SENSE_10 0x5a
#define OP_PERSISTENT_RESERVE_IN 0x5e
#define OP_PERSISTENT_RESERVE_OUT 0x5f
#define OP_READ_16 0x88
#define OP_COMPARE_AND_WRITE 0x89
#define OP_WRITE_16 0x8a
#define OP_WRITE_VERIFY_16 0x8e
#define OP_VERIFY_16 0x8f
#define OP_SYNC_CACHE_16 0x91
#define OP_WRITE_SAME_16 0x93
#define OP_EXTENDED_COPY 0x83
#define OP_RECEIVE_COPY_RESULTS 0x84
#define OP_SERVICE_ACTION_IN_16 0x9e
#define OP_REPORT_LUNS 0xa0
#define OP_MAINTENANCE_IN 0xa3
#define OP_READ_12 0xa8
#define OP_WRITE_12 0xaa
#define OP_WRITE_VERIFY_12 0xae
#define OP_VERIFY_12 0xaf

#define SA_READ_CAPACITY_16 0x10		/* SERVICE ACTION IN(16), SBC-3 5.16 */
#define SA_GET_LBA_STATUS 0x12		/* SERVICE ACTION IN(16), SBC-3 5.20 */
#define SA_REPORT_SUPPORTED_OPCODES 0x0c	/* MAINTENANCE IN, SPC-4 6.35 */
#define SA_REPORT_TARGET_PORT_GROUPS 0x0a	/* MAINTENANCE IN, SPC-4 6.37 */
#define SA_XCOPY_LID1 0x00			/* EXTENDED COPY(LID1), SPC-4 6.4 */
#define SA_RCR_COPY_STATUS 0x00		/* RECEIVE COPY RESULTS, SPC-4 6.18 */
#define SA_RCR_RECEIVE_DATA 0x01
#define SA_RCR_OP_PARAMS 0x03
#define SA_RCR_FAILED_SEGMENT 0x04
/* PERSISTENT RESERVE IN service actions, SPC-4 6.15 (OUT: enum pr_out_sa, scsi/pr_state.h). */
#define SA_PRIN_READ_KEYS 0x00
#define SA_PRIN_READ_RESERVATION 0x01
#define SA_PRIN_REPORT_CAPABILITIES 0x02
#define SA_PRIN_READ_FULL_STATUS 0x03

/* SBC-3 commands of profile invar-2026.3 (src/scsi/sbc3.c, src/scsi/sbc_maint.c). */
#define OP_FORMAT_UNIT 0x04
#define OP_PRE_FETCH_10 0x34
#define OP_READ_DEFECT_DATA_10 0x37
#define OP_SANITIZE 0x48
#define OP_ORWRITE_16 0x8b
#define OP_PRE_FETCH_16 0x90
#define OP_WRITE_ATOMIC_16 0x9c
#define OP_READ_DEFECT_DATA_12 0xb7
#define SA_REPORT_SUPPORTED_TMF 0x0d		/* MAINTENANCE IN, SPC-4 6.40 */
#define SA_SANITIZE_OVERWRITE 0x01		/* SANITIZE, SBC-3 5.30 */
#define SA_SANITIZE_BLOCK_ERASE 0x02
#define SA_SANITIZE_EXIT_FAILURE 0x1f

/* The CDB length implied by the opcode's group code (SPC-4 4.2.5.1), 0 if variable/vendor. */
unsigned cdb_group_len(uint8_t opcode);

/* Block-addressed commands (READ/WRITE/VERIFY/WRITE AND VERIFY/SYNCHRONIZE CACHE, WRITE SAME,
 * COMPARE AND WRITE). */
struct cdb_rw {
	uint64_t lba;
	uint32_t nblocks;
	uint8_t protect;	/* RDPROTECT/WRPROTECT/VRPROTECT, byte 1 bits 7-5 */
	bool dpo;
	bool fua;
	uint8_t bytchk;		/* VERIFY/WRITE AND VERIFY, byte 1 bits 2-1 */
	bool immed;		/* SYNCHRONIZE CACHE byte 1 bit 1 */
	bool unmap;		/* WRITE SAME byte 1 bit 3 */
	bool anchor;		/* WRITE SAME byte 1 bit 4 */
	bool ndob;		/* WRITE SAME(16) byte 1 bit 0: no data-out buffer, zeroes */
	unsigned len_off;	/* offset of the transfer length field (for field pointers) */
};

/* Decode LBA, length and flags of a block command of any size. Returns false for an opcode
 * that is not block-addressed. READ(6)/WRITE(6) length 0 means 256 blocks (SBC-3 5.8). */
bool cdb_decode_rw(const uint8_t *cdb, struct cdb_rw *rw);

/* UNMAP parameter list (SBC-3 5.28.2): an 8-byte header then 16-byte block descriptors. */
#define UNMAP_HDR_LEN 8
#define UNMAP_DESC_LEN 16
/* Checks the list's lengths and returns how many whole descriptors it holds (<= what the
 * received bytes hold; a partial last descriptor is ignored, SBC-3 5.28.2). len 0: 0
 * descriptors. Fails with PARAMETER LIST LENGTH ERROR for 1..7 bytes. */
enum sense_reason cdb_unmap_parse(const uint8_t *p, uint32_t len, uint32_t *n_desc,
				  struct sense_extra *x);
/* Descriptor i of a list cdb_unmap_parse() accepted. */
void cdb_unmap_desc(const uint8_t *p, uint32_t i, uint64_t *lba, uint32_t *nblocks);

/* ALLOCATION LENGTH / PARAMETER LIST LENGTH for commands that have one, by opcode. */
uint32_t cdb_alloc_len(const uint8_t *cdb);

/* Check every CDB bit against a usage mask (SPC-4 6.35.3 CDB USAGE DATA: a bit set = the
 * command uses it). A reserved bit set fails with INVALID FIELD IN CDB and a field pointer to
 * the first bad byte and its highest bad bit. The control byte is the last byte of the mask:
 * NACA and LINK are not supported, so they fail the same way. */
bool cdb_check_usage(const uint8_t *cdb, const uint8_t *usage, unsigned len,
		     struct sense_extra *x);

/* The highest set bit of a byte (0..7), or -1. */
int cdb_top_bit(uint8_t v);

#endif
