/* PERSISTENT RESERVE IN and OUT (SPC-4 6.15, 6.16): CDB and parameter-list decode, PR IN
 * data encode, iSCSI TransportIDs (SPC-4 7.6.4.6). The state and its rules are scsi/pr_state.c.
 * Both commands have one dispatch row per service action (PRIN_ROW/PROUT_ROW in dispatch.c),
 * sharing the setup and execute functions here (docs/design/reservations.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/pr_codec.h"
#include "scsi/pr_lu.h"
#include "util/byteorder.h"
#include "util/hex.h"
#include "util/log.h"

/* PR IN service actions (SPC-4 6.15.1 Table 163). */
#define PR_IN_READ_KEYS 0x0
#define PR_IN_READ_RESERVATION 0x1
#define PR_IN_REPORT_CAPABILITIES 0x2
#define PR_IN_READ_FULL_STATUS 0x3

/* CDB fields. */
#define CDB_SA 1
#define CDB_SA_MASK 0x1f
#define CDB_SCOPE_TYPE 2
#define CDB_IN_ALLOC_LEN 7
#define CDB_OUT_PARAM_LEN 5

/* PR OUT parameter list (SPC-4 6.16.3 Table 175) and REGISTER AND MOVE (6.16.4 Table 177). */
#define PO_KEY 0
#define PO_SA_KEY 8
#define PO_FLAGS 20
#define PO_F_SPEC_I_PT 0x08
#define PO_F_ALL_TG_PT 0x04
#define PO_F_APTPL 0x01
#define PO_BASIC_LEN 24
#define PO_TID_LEN 24		/* TRANSPORTID PARAMETER DATA LENGTH with SPEC_I_PT */
#define PO_TIDS 28
#define RM_FLAGS 17
#define RM_F_UNREG 0x02
#define RM_F_APTPL 0x01
#define RM_REL_PORT 18
#define RM_TID_LEN 20
#define RM_TID 24
/* Bound on the parameter list: every registration's TransportID and then some. */
#define PO_MAX_LEN (PO_TIDS + PR_MAX_REGS * (PR_TID_HDR + PR_TID_NAME_MAX))

/* REPORT CAPABILITIES (SPC-4 6.15.4 Table 167). */
#define RC_LEN 8
#define RC_CRH 0x10
#define RC_SIP_C 0x08
#define RC_ATP_C 0x04
#define RC_PTPL_C 0x01
#define RC_TMV 0x80
#define RC_ALLOW_TUR (0x1 << 4) /* ALLOW COMMANDS 001b: TEST UNIT READY allowed through WE/EA */
#define RC_PTPL_A 0x01
/* PERSISTENT RESERVATION TYPE MASK: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; EX_AC_AR. */
#define RC_TYPES_0 0xea
#define RC_TYPES_1 0x01

/* READ FULL STATUS descriptor (SPC-4 6.15.5 Table 168). */
#define FS_HDR 24
#define FS_ALL_TG_PT 0x02
#define FS_R_HOLDER 0x01

/* ---- TransportIDs ------------------------------------------------------------------------- */

#define TID_PROTO_ISCSI 0x5
#define TID_FMT_NAME 0x00
#define TID_FMT_NAME_ISID 0x40
#define TID_ISID_SEP ",i,0x"

static unsigned tid_pad(unsigned n)
{
	n = (n + 3) & ~3u;
	return n < 20 ? 20 : n;	/* ADDITIONAL LENGTH: a multiple of 4, at least 20 */
}

unsigned pr_tid_encode(uint8_t *out, size_t out_len, const struct pr_port *p)
{
	char text[PR_TID_NAME_MAX + 1];
	unsigned n, addl;

	if (p->has_isid)
		n = (unsigned)snprintf(text, sizeof(text),
				       "%s" TID_ISID_SEP "%02x%02x%02x%02x%02x%02x", p->initiator,
				       p->isid[0], p->isid[1], p->isid[2], p->isid[3], p->isid[4],
				       p->isid[5]);
	else
		n = (unsigned)snprintf(text, sizeof(text), "%s", p->initiator);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	addl = tid_pad(n + 1);
	if (out_len < PR_TID_HDR + addl)
		return 0;
	memset(out, 0, PR_TID_HDR + addl);
	out[0] = (uint8_t)((p->has_isid ? TID_FMT_NAME_ISID : TID_FMT_NAME) | TID_PROTO_ISCSI);
	put_be16(out + 2, (uint16_t)addl);
	memcpy(out + PR_TID_HDR, text, n);
	return PR_TID_HDR + addl;
}

int pr_tid_decode(const uint8_t *in, size_t len, struct pr_port *p, unsigned *used)
{
	unsigned addl, n;
	const char *name, *sep;
	uint8_t fmt;

	memset(p, 0, sizeof(*p));
	if (len < PR_TID_HDR)
		return -EINVAL;
	fmt = in[0] & 0xc0;
	if ((in[0] & 0x0f) != TID_PROTO_ISCSI ||
	    (fmt != TID_FMT_NAME && fmt != TID_FMT_NAME_ISID))
		return -EINVAL;
	addl = get_be16(in + 2);
	if (addl < 4 || addl > len - PR_TID_HDR)
		return -EINVAL;
	name = (const char *)in + PR_TID_HDR;
	n = (unsigned)strnlen(name, addl);
	if (n == addl || n == 0)
		return -EINVAL;	/* the name must be NUL-terminated inside the descriptor */
	if (fmt == TID_FMT_NAME_ISID) {
		sep = strstr(name, TID_ISID_SEP);
		if (!sep || strlen(sep) != strlen(TID_ISID_SEP) + 12)
			return -EINVAL;
		for (unsigned i = 0; i < 6; i++) {
			int hi = hex_digit(sep[5 + 2 * i]), lo = hex_digit(sep[6 + 2 * i]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			p->isid[i] = (uint8_t)(hi << 4 | lo);
		}
		p->has_isid = true;
		n = (unsigned)(sep - name);
	}
	if (n == 0 || n > INVAR_NAME_MAX)
		return -EINVAL;
	memcpy(p->initiator, name, n);
	p->initiator[n] = 0;
	*used = PR_TID_HDR + addl;
	return 0;
}

/* ---- PERSISTENT RESERVE IN ---------------------------------------------------------------- */

enum sense_reason pr_setup_in(struct scsi_task *t, struct sense_extra *x)
{
	if ((t->cdb[CDB_SA] & CDB_SA_MASK) > PR_IN_READ_FULL_STATUS) {
		sense_field_pointer(x, true, CDB_SA, 4);
		return SR_INVALID_FIELD_IN_CDB;
	}
	t->dir = SCSI_DIR_READ;
	t->data_in_max = get_be16(t->cdb + CDB_IN_ALLOC_LEN);
	return SR_OK;
}

static bool reg_is_holder(const struct pr_state *s, const struct pr_reg *r)
{
	return s->reserved && (pr_type_all_registrants(s->type) || r->holder);
}

uint8_t *pr_in_encode(const struct pr_state *s, unsigned sa, bool ptpl_capable, uint32_t *len)
{
	size_t cap = 8, off = 8;
	uint8_t *b;

	switch (sa) {
	case PR_IN_READ_KEYS:
		cap += 8 * (size_t)s->nregs;
		break;
	case PR_IN_READ_RESERVATION:
		cap += 16;
		break;
	case PR_IN_READ_FULL_STATUS:
		cap += (size_t)s->nregs * (FS_HDR + PR_TID_HDR + PR_TID_NAME_MAX + 4);
		break;
	default:
		break;
	}
	b = calloc(1, cap);
	if (!b)
		return NULL;
	put_be32(b, s->generation);
	switch (sa) {
	case PR_IN_READ_KEYS:
		for (unsigned i = 0; i < s->nregs; i++, off += 8)
			put_be64(b + off, s->regs[i].key);
		put_be32(b + 4, (uint32_t)(off - 8));
		break;
	case PR_IN_READ_RESERVATION:
		if (s->reserved) {
			uint64_t key = 0;

			/* All-registrants types report key 0 (SPC-4 6.15.3.2). */
			for (unsigned i = 0; i < s->nregs && !pr_type_all_registrants(s->type); i++)
				if (s->regs[i].holder)
					key = s->regs[i].key;
			put_be64(b + 8, key);
			b[8 + 13] = (uint8_t)(s->scope << 4 | s->type);
			off += 16;
		}
		put_be32(b + 4, (uint32_t)(off - 8));
		break;
	case PR_IN_REPORT_CAPABILITIES:
		memset(b, 0, RC_LEN);
		put_be16(b, RC_LEN);
		b[2] = RC_CRH | RC_SIP_C | RC_ATP_C | (ptpl_capable ? RC_PTPL_C : 0);
		b[3] = RC_TMV | RC_ALLOW_TUR | (s->aptpl ? RC_PTPL_A : 0);
		b[4] = RC_TYPES_0;
		b[5] = RC_TYPES_1;
		off = RC_LEN;
		break;
	case PR_IN_READ_FULL_STATUS:
		for (unsigned i = 0; i < s->nregs; i++) {
			const struct pr_reg *r = &s->regs[i];
			uint8_t *d = b + off;
			unsigned tl = pr_tid_encode(d + FS_HDR, cap - off - FS_HDR, &r->port);

			if (!tl) {
				free(b);
				return NULL;
			}
			put_be64(d, r->key);
			d[12] = (uint8_t)((r->all_tg_pt ? FS_ALL_TG_PT : 0) |
					  (reg_is_holder(s, r) ? FS_R_HOLDER : 0));
			if (reg_is_holder(s, r))
				d[13] = (uint8_t)(s->scope << 4 | s->type);
			put_be16(d + 18, r->port.rel_port_id);
			put_be32(d + 20, tl);
			off += FS_HDR + tl;
		}
		put_be32(b + 4, (uint32_t)(off - 8));
		break;
	}
	*len = (uint32_t)off;
	return b;
}

void pr_execute_in(struct scsi_task *t)
{
	struct lu *lu = t->lu;
	struct pr_state s;
	enum sense_reason r;
	uint32_t len;
	uint8_t *b;

	if (pr_lu_snapshot(lu, &s) < 0) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	b = pr_in_encode(&s, t->cdb[CDB_SA] & CDB_SA_MASK, lu->pr && lu->pr->ptpl_capable, &len);
	pr_state_free(&s);
	if (!b) {
		scsi_task_complete(t, SR_OUT_OF_RESOURCES, NULL);
		return;
	}
	r = scsi_task_data_in(t, b, len);
	free(b);
	scsi_task_complete(t, r, NULL);
}

/* ---- PERSISTENT RESERVE OUT --------------------------------------------------------------- */

enum sense_reason pr_setup_out(struct scsi_task *t, struct sense_extra *x)
{
	uint32_t plen = get_be32(t->cdb + CDB_OUT_PARAM_LEN);

	if ((t->cdb[CDB_SA] & CDB_SA_MASK) >= PR_OUT_SA_COUNT) {
		sense_field_pointer(x, true, CDB_SA, 4);
		return SR_INVALID_FIELD_IN_CDB;
	}
	if (plen > PO_MAX_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	t->dir = SCSI_DIR_WRITE;
	t->data_out_len = plen;
	return SR_OK;
}

/* Decode TransportIDs filling exactly len bytes at p into o->tids. */
static enum sense_reason decode_tids(const uint8_t *p, uint32_t len, unsigned field_off,
				     struct pr_out *o, struct sense_extra *x)
{
	uint32_t off = 0;

	o->tids = NULL;
	o->n_tids = 0;
	while (off < len) {
		struct pr_port *grown;
		unsigned used;

		if (o->n_tids >= PR_MAX_REGS)
			return SR_INSUFFICIENT_REG_RESOURCES;
		grown = realloc(o->tids, (o->n_tids + 1) * sizeof(*grown));
		if (!grown)
			return SR_OUT_OF_RESOURCES;
		o->tids = grown;
		if (pr_tid_decode(p + off, len - off, &o->tids[o->n_tids], &used) < 0) {
			sense_field_pointer(x, false, field_off + off, -1);
			return SR_INVALID_FIELD_IN_PARAM;
		}
		o->n_tids++;
		off += used;
	}
	return SR_OK;
}

enum sense_reason pr_out_decode(const uint8_t *cdb, const uint8_t *buf, uint32_t len,
				const struct it_nexus *n, struct pr_out *o, struct sense_extra *x)
{
	uint32_t tlen;

	memset(o, 0, sizeof(*o));
	o->sa = (enum pr_out_sa)(cdb[CDB_SA] & CDB_SA_MASK);
	o->scope = cdb[CDB_SCOPE_TYPE] >> 4;
	o->type = cdb[CDB_SCOPE_TYPE] & 0x0f;
	if (get_be32(cdb + CDB_OUT_PARAM_LEN) != len || len < PO_BASIC_LEN)
		return SR_PARAM_LIST_LENGTH_ERROR;
	o->key = get_be64(buf + PO_KEY);
	o->sa_key = get_be64(buf + PO_SA_KEY);
	if (o->sa == PR_OUT_REGISTER_MOVE) {
		uint16_t rel = get_be16(buf + RM_REL_PORT);

		o->unreg = buf[RM_FLAGS] & RM_F_UNREG;
		o->aptpl = buf[RM_FLAGS] & RM_F_APTPL;
		tlen = get_be32(buf + RM_TID_LEN);
		if (tlen > len - RM_TID)
			return SR_PARAM_LIST_LENGTH_ERROR;
		/* invar targets have one target port each: the move stays on it. */
		if (rel != n->rel_port_id) {
			sense_field_pointer(x, false, RM_REL_PORT, -1);
			return SR_INVALID_FIELD_IN_PARAM;
		}
		if (decode_tids(buf + RM_TID, tlen, RM_TID, o, x) != SR_OK || o->n_tids != 1) {
			if (!x->sks_valid)
				sense_field_pointer(x, false, RM_TID, -1);
			return SR_INVALID_FIELD_IN_PARAM;
		}
		o->tids[0].rel_port_id = rel;
		return SR_OK;
	}
	o->spec_i_pt = buf[PO_FLAGS] & PO_F_SPEC_I_PT;
	o->all_tg_pt = buf[PO_FLAGS] & PO_F_ALL_TG_PT;
	o->aptpl = buf[PO_FLAGS] & PO_F_APTPL;
	/* SPC-4 6.16.3: exactly 24 bytes, unless SPEC_I_PT adds TransportIDs to a REGISTER. */
	if (!o->spec_i_pt || o->sa != PR_OUT_REGISTER)
		return len == PO_BASIC_LEN ? SR_OK : SR_PARAM_LIST_LENGTH_ERROR;
	if (len < PO_TIDS)
		return SR_PARAM_LIST_LENGTH_ERROR;
	tlen = get_be32(buf + PO_TID_LEN);
	if (tlen != len - PO_TIDS)
		return SR_PARAM_LIST_LENGTH_ERROR;
	return decode_tids(buf + PO_TIDS, tlen, PO_TIDS, o, x);
}

static void pr_abort_nexuses(struct scsi_task *t, const uint64_t *ids, unsigned n)
{
	const struct it_nexus *nx = t->nexus;

	if (!n)
		return;
	if (!nx || !nx->port_ops || !nx->port_ops->lu_abort_tasks) {
		log_warn("PREEMPT AND ABORT: no fabric to abort %u nexus(es) on", n);
		return;
	}
	nx->port_ops->lu_abort_tasks(nx->port_ctx, t->lu, ids, n);
}

void pr_execute_out(struct scsi_task *t)
{
	struct sense_extra x = { 0 };
	struct pr_status st;
	struct pr_out o;
	uint64_t *ids = NULL;
	unsigned nids = 0;
	enum sense_reason r;
	uint32_t got = scsi_task_data_out_received(t);

	if (!t->nexus) {
		scsi_task_complete(t, SR_HARDWARE_ERROR, NULL);
		return;
	}
	r = got < t->data_out_len ? SR_PARAM_LIST_LENGTH_ERROR
				  : pr_out_decode(t->cdb, t->buf, got, t->nexus, &o, &x);
	if (r != SR_OK) {
		if (got >= t->data_out_len)
			free(o.tids);
		scsi_task_complete(t, r, &x);
		return;
	}
	st = pr_lu_out(t->lu, t->nexus, &o, &ids, &nids);
	free(o.tids);
	switch (st.r) {
	case PR_OK:
		pr_abort_nexuses(t, ids, nids);
		r = SR_OK;
		break;
	case PR_CONFLICT:
		r = SR_RESERVATION_CONFLICT;
		break;
	case PR_BAD_CDB:
		sense_field_pointer(&x, true, st.field_byte, st.field_bit);
		r = SR_INVALID_FIELD_IN_CDB;
		break;
	case PR_BAD_PARAM:
		sense_field_pointer(&x, false, st.field_byte, st.field_bit);
		r = SR_INVALID_FIELD_IN_PARAM;
		break;
	case PR_BAD_RELEASE:
		r = SR_INVALID_PR_RELEASE;
		break;
	case PR_NO_RESOURCES:
		r = SR_INSUFFICIENT_REG_RESOURCES;
		break;
	case PR_NO_MEMORY:
		r = SR_OUT_OF_RESOURCES;
		break;
	case PR_SAVE_FAILED:
	default:
		r = SR_HARDWARE_ERROR;
		break;
	}
	free(ids);
	scsi_task_complete(t, r, &x);
}
