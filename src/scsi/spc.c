/* SPC-4 commands every device type has: INQUIRY and its VPD pages, REPORT LUNS, TEST UNIT
 * READY, REQUEST SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, RESERVE/RELEASE and
 * REPORT SUPPORTED OPERATION CODES. Strings and limits come from lu->profile. */
#include <stdio.h>
#include <string.h>

#include "backstore/backstore.h"
#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/lun_view.h"
#include "scsi/nexus.h"
#include "scsi/profile.h"
#include "scsi/scsi.h"
#include "util/byteorder.h"

#define INQ_EVPD 0x01
#define PERIPHERAL_DISK 0x00
#define INQ_RMB 0x80			/* removable medium (LU option removable=1) */
#define INQ_TPGS_IMPLICIT 0x10		/* byte 5: TPGS 01b, implicit ALUA */
#define INQ_3PC 0x08			/* byte 5: a copy manager is addressable through the LU */
/* The standard data's bytes 2-7 and length come from the profile (struct scsi_inquiry_def);
 * whatever it says, the data reaches the version descriptors. */
#define INQ_STD_MIN 74
#define INQ_OFF_VENDOR 8
#define INQ_OFF_PRODUCT 16
#define INQ_OFF_REVISION 32
#define INQ_OFF_VERSION_DESC 58

#define VPD_SUPPORTED 0x00
#define VPD_SERIAL 0x80
#define VPD_DEVICE_ID 0x83
#define VPD_THIRD_PARTY_COPY 0x8f
#define VPD_BLOCK_LIMITS 0xb0
#define VPD_BLOCK_CHARACTERISTICS 0xb1
#define VPD_LBP 0xb2

/* Designation descriptor header, SPC-4 7.8.6.1. */
#define PROTO_ISCSI 0x5
#define CODESET_BINARY 0x1
#define CODESET_ASCII 0x2
#define CODESET_UTF8 0x3
#define DESIG_PIV 0x80
#define ASSOC_LU 0x00
#define ASSOC_PORT 0x10
#define ASSOC_TARGET 0x20
#define DESIG_T10 0x1
#define DESIG_NAA 0x3
#define DESIG_REL_PORT 0x4
#define DESIG_TPG 0x5
#define DESIG_SCSI_NAME 0x8

static const struct scsi_profile *task_profile(const struct scsi_task *t)
{
	return t->lu ? t->lu->profile : scsi_profile_find(NULL);
}

/* Space-padded ASCII field (SPC-4 4.4.1). */
static void put_ascii(uint8_t *dst, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(dst, ' ', width);
	memcpy(dst, s, n < width ? n : width);
}

/* ---- INQUIRY, SPC-4 6.4 ------------------------------------------------------------------ */

enum sense_reason spc_setup_inquiry(struct scsi_task *t, struct sense_extra *x)
{
	if (!(t->cdb[1] & INQ_EVPD) && t->cdb[2] != 0) {
		sense_field_pointer(x, true, 2, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if ((t->cdb[1] & INQ_EVPD) && t->lu) {
		const struct scsi_profile *p = t->lu->profile;
		bool found = false;

		for (unsigned i = 0; i < p->n_vpd_pages; i++)
			found |= p->vpd_pages[i] == t->cdb[2];
		if (!found) {
			sense_field_pointer(x, true, 2, 7);
			return SR_INVALID_FIELD_IN_CDB;
		}
	} else if (t->cdb[1] & INQ_EVPD) {
		return SR_LUN_NOT_SUPPORTED;
	}
	return scsi_setup_alloc_in(t, x);
}

static unsigned inquiry_standard(const struct scsi_task *t, uint8_t *b)
{
	const struct scsi_profile *p = task_profile(t);
	const struct scsi_inquiry_def *q = &p->inquiry;
	unsigned len = q->std_len < INQ_STD_MIN ? INQ_STD_MIN : q->std_len;

	memset(b, 0, len);
	b[0] = t->lu ? PERIPHERAL_DISK : q->no_lu_peripheral;
	b[2] = q->version;
	b[3] = q->flags[0];
	b[4] = (uint8_t)(len - 5);
	b[5] = q->flags[1];
	b[6] = q->flags[2];
	b[7] = q->flags[3];
	/* LU configuration, not profile: a removable LU says so on every profile. */
	if (t->lu && t->lu->cfg.removable)
		b[1] |= INQ_RMB;
	/* TPGS 01b: implicit ALUA only (SPC-4 6.4.2); 00b before invar-2026.3. */
	if (p->alua)
		b[5] |= INQ_TPGS_IMPLICIT;
	/* 3PC follows the command set: profiles with EXTENDED COPY (invar-2026.3) have a copy
	 * manager behind every LU (SPC-4 6.4.2). */
	if (t->lu && scsi_profile_has_cmd(p, SCMD_EXTENDED_COPY))
		b[5] |= INQ_3PC;
	put_ascii(b + INQ_OFF_VENDOR, p->vendor, 8);
	put_ascii(b + INQ_OFF_PRODUCT, p->product, 16);
	put_ascii(b + INQ_OFF_REVISION, p->revision, 4);
	for (unsigned i = 0; i < 8; i++)
		put_be16(b + INQ_OFF_VERSION_DESC + 2 * i, p->version_desc[i]);
	return len;
}

static unsigned vpd_supported(const struct lu *lu, uint8_t *b)
{
	const struct scsi_profile *p = lu->profile;

	for (unsigned i = 0; i < p->n_vpd_pages; i++)
		b[4 + i] = p->vpd_pages[i];
	put_be16(b + 2, (uint16_t)p->n_vpd_pages);
	return 4 + p->n_vpd_pages;
}

static unsigned vpd_serial(const struct lu *lu, uint8_t *b)
{
	size_t n = strnlen(lu->cfg.serial, INVAR_SERIAL_MAX);

	memcpy(b + 4, lu->cfg.serial, n);
	put_be16(b + 2, (uint16_t)n);
	return 4 + (unsigned)n;
}

static uint8_t *desig(uint8_t *d, uint8_t b0, uint8_t b1, const void *val, unsigned len)
{
	d[0] = b0;
	d[1] = b1;
	d[2] = 0;
	d[3] = (uint8_t)len;
	memcpy(d + 4, val, len);
	return d + 4 + len;
}

/* A SCSI name string: NUL terminated, padded with NULs to a multiple of 4 (SPC-4 7.8.6.11). */
static uint8_t *desig_name(uint8_t *d, uint8_t assoc, const char *name)
{
	size_t n = strlen(name) + 1;
	unsigned len = (unsigned)((n + 3) & ~(size_t)3);

	d[0] = PROTO_ISCSI << 4 | CODESET_UTF8;
	d[1] = DESIG_PIV | assoc | DESIG_SCSI_NAME;
	d[2] = 0;
	d[3] = (uint8_t)len;
	memset(d + 4, 0, len);
	memcpy(d + 4, name, n);
	return d + 4 + len;
}

static unsigned vpd_device_id(const struct scsi_task *t, uint8_t *b)
{
	const struct lu *lu = t->lu;
	const struct scsi_profile *p = lu->profile;
	uint8_t *d = b + 4;
	uint8_t t10[8 + INVAR_SERIAL_MAX];
	size_t sn = strnlen(lu->cfg.serial, INVAR_SERIAL_MAX);

	/* Logical unit: NAA (lu->cfg.naa, see lu.c for how it is generated), T10 vendor id. */
	d = desig(d, CODESET_BINARY, ASSOC_LU | DESIG_NAA, lu->cfg.naa, lu->cfg.naa_len);
	put_ascii(t10, p->vendor, 8);
	memcpy(t10 + 8, lu->cfg.serial, sn);
	d = desig(d, CODESET_ASCII, ASSOC_LU | DESIG_T10, t10, (unsigned)(8 + sn));

	if (t->nexus) {
		const struct it_nexus *nx = t->nexus;
		uint8_t v[4] = { 0 };
		char name[INVAR_NAME_MAX + 16];

		/* Target port: relative port and port group (SPC-4 7.8.6.7, 7.8.6.8). */
		put_be16(v + 2, nx->rel_port_id ? nx->rel_port_id : 1);
		d = desig(d, PROTO_ISCSI << 4 | CODESET_BINARY,
			  DESIG_PIV | ASSOC_PORT | DESIG_REL_PORT, v, 4);
		put_be16(v + 2, nx->tpgt ? nx->tpgt : 1);
		d = desig(d, PROTO_ISCSI << 4 | CODESET_BINARY, DESIG_PIV | ASSOC_PORT | DESIG_TPG,
			  v, 4);
		/* iSCSI names (SPC-4 7.8.6.11): the target port is "<target>,t,0x<tpgt>", the
		 * target device is the target name. */
		snprintf(name, sizeof(name), "%s,t,0x%04x", nx->target, nx->tpgt);
		d = desig_name(d, ASSOC_PORT, name);
		d = desig_name(d, ASSOC_TARGET, nx->target);
	}
	put_be16(b + 2, (uint16_t)(d - b - 4));
	return (unsigned)(d - b);
}

static unsigned vpd_block_limits(const struct lu *lu, uint8_t *b)
{
	const struct scsi_block_limits *l = &lu->profile->limits;
	uint32_t bs = lu->block_size;

	put_be16(b + 2, 0x3c);
	put_be16(b + 6, (uint16_t)(l->opt_gran_bytes / bs ? l->opt_gran_bytes / bs : 1));
	put_be32(b + 8, l->max_xfer_bytes / bs);
	put_be32(b + 12, l->opt_xfer_bytes / bs);
	/* Thin provisioning and COMPARE AND WRITE limits: all zero in profiles without them
	 * (invar-2026.1 answers byte for byte as it always did). The UNMAP ones only when the
	 * backstore can deallocate. */
	b[4] = l->wsnz ? 0x01 : 0;			/* WSNZ */
	b[5] = l->max_caw_blocks;			/* MAXIMUM COMPARE AND WRITE LENGTH */
	if (lu->profile->lbp && lu->bs->can_unmap) {
		uint64_t lbas = l->max_unmap_bytes / bs;

		put_be32(b + 20, lbas > UINT32_MAX ? UINT32_MAX : (uint32_t)lbas);
		put_be32(b + 24, l->max_unmap_desc);
		put_be32(b + 28, l->opt_unmap_gran_bytes / bs);
	}
	put_be64(b + 36, l->max_ws_bytes / bs);		/* MAXIMUM WRITE SAME LENGTH */
	/* WRITE ATOMIC(16) limits (SBC-4 6.6.4), invar-2026.3 on: MAXIMUM ATOMIC TRANSFER LENGTH,
	 * ATOMIC ALIGNMENT, ATOMIC TRANSFER LENGTH GRANULARITY; the boundary fields (56-63) stay
	 * zero: no atomic boundaries. */
	if (lu->profile->max_atomic_bytes) {
		put_be32(b + 44, lu->profile->max_atomic_bytes / bs);
		put_be32(b + 48, lu->profile->atomic_align_bytes / bs ? lu->profile->atomic_align_bytes / bs : 1);
		put_be32(b + 52, lu->profile->atomic_gran_bytes / bs ? lu->profile->atomic_gran_bytes / bs : 1);
	}
	return 4 + 0x3c;
}

static unsigned vpd_block_characteristics(const struct lu *lu, uint8_t *b)
{
	put_be16(b + 2, 0x3c);
	put_be16(b + 4, lu->profile->rotation_rate);
	/* WABEREQ (byte 7 bits 7-6), invar-2026.3 on: reads after SANITIZE BLOCK ERASE. WACEREQ
	 * stays 0: no CRYPTOGRAPHIC ERASE. */
	b[7] = (uint8_t)(lu->profile->wabereq << 6);
	return 4 + 0x3c;
}

/* Logical block provisioning, SBC-3 6.5.4. Without profile->lbp: all zero (LBPME=0 in READ
 * CAPACITY(16)). With it, from the backstore: LBPU (UNMAP), LBPWS/LBPWS10 (WRITE SAME with
 * UNMAP), LBPRZ when unmapped blocks read as zeroes, ANC_SUP=0, provisioning type thin for a
 * sparse backstore. */
#define LBP_LBPU 0x80
#define LBP_LBPWS 0x40
#define LBP_LBPWS10 0x20
#define LBP_LBPRZ 0x04
#define LBP_TYPE_THIN 0x02

static unsigned vpd_lbp(const struct lu *lu, uint8_t *b)
{
	put_be16(b + 2, 4);
	if (lu->profile->lbp && lu->bs->can_unmap) {
		b[5] = LBP_LBPU | LBP_LBPWS | LBP_LBPWS10 | (lu->bs->unmap_zeroes ? LBP_LBPRZ : 0);
		b[6] = lu->bs->thin ? LBP_TYPE_THIN : 0;
	}
	return 8;
}

void spc_inquiry(struct scsi_task *t)
{
	uint8_t b[1024];
	unsigned len;

	memset(b, 0, sizeof(b));
	if (!(t->cdb[1] & INQ_EVPD)) {
		len = inquiry_standard(t, b);
	} else {
		b[0] = PERIPHERAL_DISK;
		b[1] = t->cdb[2];
		switch (t->cdb[2]) {
		case VPD_SUPPORTED: len = vpd_supported(t->lu, b); break;
		case VPD_SERIAL: len = vpd_serial(t->lu, b); break;
		case VPD_DEVICE_ID: len = vpd_device_id(t, b); break;
		case VPD_THIRD_PARTY_COPY: len = xcopy_vpd_page(b); break;
		case VPD_BLOCK_LIMITS: len = vpd_block_limits(t->lu, b); break;
		case VPD_BLOCK_CHARACTERISTICS: len = vpd_block_characteristics(t->lu, b); break;
		case VPD_LBP: len = vpd_lbp(t->lu, b); break;
		default: {
			struct sense_extra x = { 0 };

			sense_field_pointer(&x, true, 2, 7);
			scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, &x);
			return;
		}
		}
	}
	scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
}

/* ---- REPORT LUNS, SPC-4 6.33 ------------------------------------------------------------- */

#define RL_SELECT_ALL 0x00
#define RL_SELECT_WELL_KNOWN 0x01
#define RL_SELECT_ALL_LUS 0x02

enum sense_reason spc_setup_report_luns(struct scsi_task *t, struct sense_extra *x)
{
	uint8_t sel = t->cdb[2];

	if (sel != RL_SELECT_ALL && sel != RL_SELECT_WELL_KNOWN && sel != RL_SELECT_ALL_LUS) {
		sense_field_pointer(x, true, 2, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (cdb_alloc_len(t->cdb) < 16) {
		sense_field_pointer(x, true, 6, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	return scsi_setup_alloc_in(t, x);
}

/* Single-level LUN, SAM-5 4.7: peripheral device addressing below 256, flat space above. */
static void put_lun(uint8_t *e, uint64_t lun)
{
	memset(e, 0, 8);
	if (lun < 256) {
		e[1] = (uint8_t)lun;
	} else {
		e[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
		e[1] = (uint8_t)lun;
	}
}

void spc_report_luns(struct scsi_task *t)
{
	uint8_t b[8 + 8 * INVAR_MAX_LUNS];
	unsigned n = 0;

	memset(b, 0, 8);
	if (t->cdb[2] != RL_SELECT_WELL_KNOWN) {
		if (t->view) {
			for (unsigned l = 0; l < INVAR_MAX_LUNS; l++)
				if (t->view->lus[l])
					put_lun(b + 8 + 8 * n++, l);
		} else if (t->lu) {
			put_lun(b + 8 + 8 * n++, t->lun);
		}
	}
	put_be32(b, 8 * n);
	scsi_task_complete(t, scsi_task_data_in(t, b, 8 + 8 * n), NULL);
}

/* ---- TEST UNIT READY, REQUEST SENSE ------------------------------------------------------ */

void spc_test_unit_ready(struct scsi_task *t)
{
	/* NOT READY for a stopped unit is reported by dispatch (SCMD_F_MEDIUM). */
	scsi_task_complete(t, SR_OK, NULL);
}

#define RS_DESC 0x01

/* SPC-4 6.39: the sense data a failing command would have returned, as parameter data. */
void spc_request_sense(struct scsi_task *t)
{
	enum sense_reason r = SR_OK;
	struct sense_extra x = { 0 };
	uint8_t b[SCSI_SENSE_MAX];
	unsigned len;

	if (!t->lu) {
		r = SR_LUN_NOT_SUPPORTED;
	} else {
		int k = t->nexus ? lu_ua_take(t->lu, t->nexus->id) : -1;

		if (k >= 0) {
			r = scsi_ua_reason(k);
		} else if ((r = sbc_maint_sense(t->lu, &x)) != SR_OK) {
			/* SANITIZE/FORMAT UNIT running (with progress) or failed. */
		} else if (atomic_load(&t->lu->medium.ejected)) {
			r = SR_NOT_READY_REMOVED;
		} else if (atomic_load(&t->lu->medium.stopped)) {
			r = SR_NOT_READY_STOPPED;
		} else {
			r = alua_not_ready_reason(t);	/* SPC-4 5.15.2.4.4-6 */
		}
	}
	len = sense_encode(b, sizeof(b), r, t->cdb[1] & RS_DESC, &x);
	scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
}

/* ---- START STOP UNIT (SBC-3 5.25), PREVENT ALLOW MEDIUM REMOVAL (SBC-3 5.13) -------------- */

#define SSU_START 0x01
#define SSU_LOEJ 0x02

enum sense_reason spc_setup_start_stop(struct scsi_task *t, struct sense_extra *x)
{
	if (t->lu && t->lu->cfg.removable)
		return SR_OK;	/* power conditions are no-ops there (spc_start_stop_removable) */
	switch (t->cdb[4] >> 4) {
	case 0x0: /* START_VALID */
	case 0x1: /* ACTIVE */
	case 0x2: /* IDLE */
	case 0x3: /* STANDBY */
	case 0x7: /* LU_CONTROL */
	case 0xa: /* FORCE_IDLE_0 */
	case 0xb: /* FORCE_STANDBY_0 */
		return SR_OK;
	default:
		sense_field_pointer(x, true, 4, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
}

/* A removable medium (SBC-3 5.25): LOEJ with START=0 ejects it, LOEJ with START=1 loads it,
 * either refused with MEDIUM REMOVAL PREVENTED while a nexus prevents removal; once ejected,
 * media commands answer MEDIUM NOT PRESENT until a load. The medium is either loaded (and
 * ready: there is no spindle to stop) or not, so START without LOEJ and every power condition
 * change nothing (what libiscsi's StartStopUnit.NoLoej and .PwrCnd expect of removable units). */
static void spc_start_stop_removable(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint8_t b4 = t->cdb[4];

	if ((b4 >> 4) || !(b4 & SSU_LOEJ)) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	if (lu_prevent_any(lu)) {
		scsi_task_complete(t, SR_MEDIUM_REMOVAL_PREVENTED, NULL);
		return;
	}
	atomic_store(&lu->medium.ejected, !(b4 & SSU_START));
	scsi_task_complete(t, SR_OK, NULL);
}

void spc_start_stop_unit(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint8_t b4 = t->cdb[4];
	bool prevent;

	if (lu->cfg.removable) {
		spc_start_stop_removable(t);
		return;
	}
	/* A power condition other than START_VALID ignores START and LOEJ: there is no power
	 * state to change in emulation. */
	if (b4 >> 4) {
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	pthread_mutex_lock(&lu->lock);
	prevent = lu->medium.prevent;
	pthread_mutex_unlock(&lu->lock);
	if ((b4 & SSU_LOEJ) && !(b4 & SSU_START) && prevent) {
		scsi_task_complete(t, SR_MEDIUM_REMOVAL_PREVENTED, NULL);
		return;
	}
	atomic_store(&lu->medium.stopped, !(b4 & SSU_START));
	scsi_task_complete(t, SR_OK, NULL);
}

void spc_prevent_allow(struct scsi_task *t)
{
	uint8_t v = t->cdb[4] & 0x03;

	if (v > 1) {
		struct sense_extra x = { 0 };

		/* 10b and 11b are obsolete (SBC-3 5.13). */
		sense_field_pointer(&x, true, 4, 1);
		scsi_task_complete(t, SR_INVALID_FIELD_IN_CDB, &x);
		return;
	}
	if (t->lu->cfg.removable) {
		/* Held per I_T nexus; a nexus-less caller (tests) counts as nexus 0. */
		if (lu_prevent_set(t->lu, t->nexus ? t->nexus->id : 0, v) < 0) {
			scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
			return;
		}
		scsi_task_complete(t, SR_OK, NULL);
		return;
	}
	pthread_mutex_lock(&t->lu->lock);
	t->lu->medium.prevent = v;
	pthread_mutex_unlock(&t->lu->lock);
	scsi_task_complete(t, SR_OK, NULL);
}

/* ---- RESERVE / RELEASE (6) and (10), SPC-2 7.21-7.24 ------------------------------------- */

void spc_reserve(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint64_t me = t->nexus ? t->nexus->id : 0;
	bool conflict;

	pthread_mutex_lock(&lu->lock);
	uint64_t holder = __atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED);

	conflict = holder && holder != me;
	if (!conflict)
		__atomic_store_n(&lu->resv.holder, me, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lu->lock);
	scsi_task_complete(t, conflict ? SR_RESERVATION_CONFLICT : SR_OK, NULL);
}

void spc_release(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	uint64_t me = t->nexus ? t->nexus->id : 0;

	/* Releasing a reservation held by another nexus is not an error (SPC-2 7.21.2). */
	pthread_mutex_lock(&lu->lock);
	if (__atomic_load_n(&lu->resv.holder, __ATOMIC_RELAXED) == me)
		__atomic_store_n(&lu->resv.holder, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lu->lock);
	scsi_task_complete(t, SR_OK, NULL);
}

/* ---- REPORT SUPPORTED OPERATION CODES, SPC-4 6.35 ---------------------------------------- */

#define RSOC_RCTD 0x80
#define RSOC_OPTIONS 0x07
#define RSOC_CTDP 0x02
#define RSOC_SERVACTV 0x01
#define RSOC_SUPPORT_NONE 0x01
#define RSOC_SUPPORT_STD 0x03
#define RSOC_TIMEOUTS_LEN 12

enum sense_reason spc_setup_report_opcodes(struct scsi_task *t, struct sense_extra *x)
{
	uint8_t opt = t->cdb[2] & RSOC_OPTIONS;

	if (opt > 3) {
		sense_field_pointer(x, true, 2, 2);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if ((opt == 1 && scsi_opcode_has_sa(t->lu->profile, t->cdb[3])) ||
	    (opt == 2 && !scsi_opcode_has_sa(t->lu->profile, t->cdb[3]))) {
		sense_field_pointer(x, true, 2, 2);
		return SR_INVALID_FIELD_IN_CDB;
	}
	return scsi_setup_alloc_in(t, x);
}

struct rsoc_ctx {
	const struct scsi_profile *p;
	bool rctd;
	uint8_t *b;
	unsigned len;
	unsigned cap;
};

static unsigned put_timeouts(uint8_t *d, const struct scsi_cmd *c)
{
	memset(d, 0, RSOC_TIMEOUTS_LEN);
	put_be16(d, RSOC_TIMEOUTS_LEN - 2);
	put_be32(d + 4, c->timeout_s);
	put_be32(d + 8, c->timeout_s);
	return RSOC_TIMEOUTS_LEN;
}

static void rsoc_one_all(const struct scsi_cmd *c, void *arg)
{
	struct rsoc_ctx *r = arg;
	uint8_t *d;

	if (!scmd_set_has(&r->p->cmds, c->id) || r->len + 8 + RSOC_TIMEOUTS_LEN > r->cap)
		return;
	d = r->b + r->len;
	memset(d, 0, 8);
	d[0] = c->opcode;
	if (c->sa != SCMD_NO_SA) {
		put_be16(d + 2, c->sa);
		d[5] |= RSOC_SERVACTV;
	}
	put_be16(d + 6, c->cdb_len);
	r->len += 8;
	if (r->rctd) {
		d[5] |= RSOC_CTDP;
		r->len += put_timeouts(r->b + r->len, c);
	}
}

void spc_report_opcodes(struct scsi_task *t)
{
	const struct scsi_profile *p = t->lu->profile;
	uint8_t b[8 + (8 + RSOC_TIMEOUTS_LEN) * SCMD_COUNT];
	uint8_t opt = t->cdb[2] & RSOC_OPTIONS;
	bool rctd = t->cdb[2] & RSOC_RCTD;
	unsigned len;

	memset(b, 0, sizeof(b));
	if (opt == 0) {
		struct rsoc_ctx r = { p, rctd, b, 4, sizeof(b) };

		scsi_cmd_foreach(rsoc_one_all, &r);
		put_be32(b, r.len - 4);
		len = r.len;
	} else {
		uint8_t cdb[16] = { t->cdb[3], (uint8_t)(t->cdb[5] & 0x1f) };
		const struct scsi_cmd *c;

		if (opt == 3 && !scsi_opcode_has_sa(p, t->cdb[3]))
			cdb[1] = 0;
		c = scsi_cmd_lookup(cdb);
		if (c && c->sa != SCMD_NO_SA && get_be16(t->cdb + 4) != c->sa)
			c = NULL;
		if (!c || !scmd_set_has(&p->cmds, c->id)) {
			b[1] = RSOC_SUPPORT_NONE;
			len = 4;
		} else {
			b[1] = RSOC_SUPPORT_STD | (rctd ? 0x80 : 0);
			put_be16(b + 2, c->cdb_len);
			memcpy(b + 4, c->usage, c->cdb_len);
			if (c->sa != SCMD_NO_SA)
				b[5] = (uint8_t)((c->usage[1] & ~0x1f) | c->sa);
			len = 4 + c->cdb_len;
			if (rctd)
				len += put_timeouts(b + len, c);
		}
	}
	scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
}
