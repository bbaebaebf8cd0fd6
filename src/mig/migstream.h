/* The live-migration stream: everything a destination daemon needs to continue serving a LU
 * whose blocks it already reaches (shared backing storage), as a versioned tag-length-value
 * byte stream. The codec is pure (no LU, no I/O): struct mig_lu_state <-> bytes, so it is unit
 * tested and fuzzed on its own. docs/design/migration.md describes the format.
 *
 *   header  (16 bytes)  "INVARMIG" | major be16 | minor be16 | reserved be32 (0)
 *   records (repeated)  tag be16 | length be32 | value (length bytes)
 *   end                 tag MIG_TAG_END, length 4, value = CRC32C of every byte before it
 *
 * Tag bit 15 (MIG_TAG_CRITICAL) marks a record the receiver must understand: an unknown
 * critical tag refuses the stream, an unknown optional one is skipped. A newer major version is
 * refused; a newer minor of the same major is read (its additions are optional tags). Every
 * length is bounded before use (MIG_RECORD_MAX, MIG_STREAM_MAX, the per-field limits below). */
#ifndef INVAR_MIG_MIGSTREAM_H
#define INVAR_MIG_MIGSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/limits.h"

#define MIG_MAGIC "INVARMIG"
#define MIG_MAGIC_LEN 8
#define MIG_HDR_LEN 16
#define MIG_REC_HDR_LEN 6
#define MIG_VERSION_MAJOR 1
#define MIG_VERSION_MINOR 1	/* 1.1: MAINT */

#define MIG_TAG_CRITICAL 0x8000u
/* Record tags. Critical ones carry state whose loss would change an answer. */
enum mig_tag {
	MIG_TAG_END = 0x0001 | MIG_TAG_CRITICAL,
	MIG_TAG_DESCRIBE = 0x0002 | MIG_TAG_CRITICAL,	/* compat description JSON (ctl) */
	MIG_TAG_IDENTITY = 0x0003 | MIG_TAG_CRITICAL,	/* target, lun, serial, NAA */
	MIG_TAG_PROFILE = 0x0004 | MIG_TAG_CRITICAL,	/* behaviour profile name */
	MIG_TAG_GEOMETRY = 0x0005 | MIG_TAG_CRITICAL,	/* block size, capacity */
	MIG_TAG_OPTIONS = 0x0006 | MIG_TAG_CRITICAL,	/* backstore, path, readonly, removable */
	MIG_TAG_PROVISIONING = 0x0007,			/* unmap / LBPRZ / thin as reported */
	MIG_TAG_MODE = 0x0008 | MIG_TAG_CRITICAL,	/* mode page current + saved values */
	MIG_TAG_LU_FLAGS = 0x0009 | MIG_TAG_CRITICAL,	/* stopped, ejected, SWP... */
	MIG_TAG_PR = 0x000a | MIG_TAG_CRITICAL,		/* generation, APTPL, reservation */
	MIG_TAG_PR_REG = 0x000b | MIG_TAG_CRITICAL,	/* one registration (repeated) */
	MIG_TAG_UA = 0x000c,				/* UAs pending on one I_T nexus (repeated) */
	MIG_TAG_ALUA = 0x000d,				/* one port group's state (repeated) */
	/* 1.1: a failure mode SANITIZE or FORMAT UNIT left (sent only when there is one, so a
	 * 1.0 destination refuses exactly the streams it could not honour). */
	MIG_TAG_MAINT = 0x000e | MIG_TAG_CRITICAL,
};

/* Bounds: a stream over these is refused. */
#define MIG_STREAM_MAX (4u << 20)
#define MIG_RECORD_MAX (256u << 10)
#define MIG_DESCRIBE_MAX (64u << 10)
#define MIG_MAX_REGS 256		/* = PR_MAX_REGS */
#define MIG_MAX_UAS 1024
#define MIG_MAX_ALUA 32			/* = ALUA_MAX_GROUPS */
#define MIG_MODE_MAX 64			/* = sizeof(lu->mode.cur) */

struct mig_reg {
	uint64_t key;
	char initiator[INVAR_NAME_MAX + 1];
	uint8_t isid[6];
	bool has_isid;
	uint16_t rel_port_id;
	bool all_tg_pt;
	bool holder;
};

/* Unit attentions pending on one I_T nexus, named by who it is (InitiatorName + ISID + relative
 * target port): nexus ids are local to a daemon. ua_mask has a bit per enum ua_kind. */
struct mig_ua {
	char initiator[INVAR_NAME_MAX + 1];
	uint8_t isid[6];
	uint16_t rel_port_id;
	uint32_t ua_mask;
};

struct mig_alua {
	uint16_t tag;			/* target portal group tag */
	uint8_t state;			/* enum alua_state */
	uint8_t status;			/* STATUS CODE */
};

struct mig_lu_state {
	uint16_t minor;			/* decoded: the sender's minor version */
	char *describe;			/* NUL-terminated JSON, malloc'd; NULL = absent */
	/* identity */
	char target[INVAR_NAME_MAX + 1];
	uint32_t lun;
	char serial[INVAR_SERIAL_MAX + 1];
	uint8_t naa[16];
	uint8_t naa_len;
	char profile[32];
	/* geometry */
	uint32_t block_size;
	uint64_t num_blocks;
	/* options */
	char backstore[16];
	char path[4096];
	uint64_t size;			/* configured size, 0 = from the file */
	bool readonly, removable;
	/* provisioning, as the source reported it */
	bool has_provisioning;
	bool can_unmap, unmap_zeroes, thin;
	/* mode pages */
	uint8_t mode_len;
	uint8_t mode_state[MIG_MODE_MAX];
	uint8_t mode_saved[MIG_MODE_MAX];
	/* LU flags */
	bool stopped, ejected;
	/* maintenance failure mode: enum sbc_maint_state (only the *_FAILED values travel; 0 =
	 * none) and whether EXIT FAILURE MODE is allowed */
	uint8_t maint_state;
	bool maint_ause;
	/* persistent reservations */
	bool has_pr;
	uint32_t pr_generation;
	bool pr_aptpl, pr_reserved;
	uint8_t pr_type, pr_scope;
	unsigned nregs;
	struct mig_reg *regs;		/* malloc'd */
	unsigned nuas;
	struct mig_ua *uas;		/* malloc'd */
	unsigned nalua;
	struct mig_alua alua[MIG_MAX_ALUA];
};

void mig_state_init(struct mig_lu_state *s);
void mig_state_free(struct mig_lu_state *s);
/* Appending helpers for producers (0 or -ENOMEM / -E2BIG past the bounds). */
int mig_state_add_reg(struct mig_lu_state *s, const struct mig_reg *r);
int mig_state_add_ua(struct mig_lu_state *s, const struct mig_ua *u);
int mig_state_add_alua(struct mig_lu_state *s, const struct mig_alua *a);

/* Encodes s (at version MIG_VERSION_MAJOR.MIG_VERSION_MINOR) into a malloc'd buffer. 0 or
 * -ENOMEM / -E2BIG / -EINVAL (a field over its bound). */
int mig_encode(const struct mig_lu_state *s, uint8_t **out, size_t *out_len);
/* Decodes buf into s (mig_state_free it, also on error). 0, or -EINVAL / -EPROTO (newer major,
 * unknown critical tag) / -ENOMEM with a reason in err. */
int mig_decode(const uint8_t *buf, size_t len, struct mig_lu_state *s, char *err,
	       size_t err_len);

/* Low-level writer, also used by tests to build hostile or future streams. */
struct mig_buf {
	uint8_t *p;
	size_t len, cap;
	int err;			/* sticky: first failure */
};
void mig_buf_header(struct mig_buf *b, uint16_t major, uint16_t minor);
void mig_buf_record(struct mig_buf *b, uint16_t tag, const void *val, size_t len);
/* Appends the END record (CRC32C of everything so far). Returns b->err. */
int mig_buf_finish(struct mig_buf *b);

#endif
