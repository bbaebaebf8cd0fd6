/* ALUA on the command path (SPC-4 5.15, profiles with .alua): which commands each asymmetric
 * access state allows, and REPORT TARGET PORT GROUPS. The states themselves live in the core
 * (scsi/alua_groups.h), set by the control plane. */
#include <string.h>

#include "scsi/alua.h"
#include "scsi/alua_groups.h"
#include "scsi/dispatch.h"
#include "scsi/lu.h"
#include "scsi/nexus.h"
#include "scsi/profile.h"
#include "util/byteorder.h"

/* Target port group descriptor, SPC-4 6.37 Table 168. */
#define RTPG_OFF_STATE 0		/* PREF (bit 7), ASYMMETRIC ACCESS STATE (bits 3-0) */
#define RTPG_OFF_SUPPORTED 1		/* T_SUP O_SUP - LBD_SUP U_SUP S_SUP AN_SUP AO_SUP */
#define RTPG_OFF_GROUP 2
#define RTPG_OFF_STATUS 5
#define RTPG_OFF_PORT_COUNT 7
#define RTPG_PORT_OFF_REL 2		/* in a target port descriptor */
#define RTPG_T_SUP 0x80
#define RTPG_U_SUP 0x08
#define RTPG_S_SUP 0x04
#define RTPG_AN_SUP 0x02
#define RTPG_AO_SUP 0x01
/* Every state the control plane can set (scsi/alua_groups.h); no offline, no LBA dependent. */
#define RTPG_SUPPORTED (RTPG_T_SUP | RTPG_U_SUP | RTPG_S_SUP | RTPG_AN_SUP | RTPG_AO_SUP)
#define RTPG_FORMAT_EXTENDED 0x10	/* byte 4 of the extended header: FORMAT TYPE 001b */
#define RTPG_OFF_TRANSITION 5		/* IMPLICIT TRANSITION TIME, extended header */

/* CDB byte 1 bits 7-5: PARAMETER DATA FORMAT. */
#define RTPG_CDB_FORMAT(cdb) ((cdb)[1] >> 5)

static void put_byte(uint8_t *buf, unsigned cap, unsigned off, uint8_t v)
{
	if (off < cap)
		buf[off] = v;
}

static void put_be16_bounded(uint8_t *buf, unsigned cap, unsigned off, uint16_t v)
{
	put_byte(buf, cap, off, (uint8_t)(v >> 8));
	put_byte(buf, cap, off + 1, (uint8_t)v);
}

unsigned alua_rtpg_encode(uint8_t *buf, unsigned cap, bool extended, uint8_t transition_secs,
			  const struct alua_rtpg_group *g, unsigned n)
{
	unsigned off = extended ? RTPG_EXT_HDR_LEN : RTPG_HDR_LEN;

	memset(buf, 0, cap);
	for (unsigned i = 0; i < n; i++) {
		put_byte(buf, cap, off + RTPG_OFF_STATE, g[i].state & 0x0f);
		put_byte(buf, cap, off + RTPG_OFF_SUPPORTED, RTPG_SUPPORTED);
		put_be16_bounded(buf, cap, off + RTPG_OFF_GROUP, g[i].id);
		put_byte(buf, cap, off + RTPG_OFF_STATUS, g[i].status);
		put_byte(buf, cap, off + RTPG_OFF_PORT_COUNT, 1);
		off += RTPG_DESC_LEN;
		put_be16_bounded(buf, cap, off + RTPG_PORT_OFF_REL, g[i].rel_port);
		off += RTPG_PORT_LEN;
	}
	/* RETURN DATA LENGTH: n - 3 in both formats (SPC-4 Tables 165, 166). */
	if (cap >= 4)
		put_be32(buf, off - 4);
	if (extended) {
		put_byte(buf, cap, 4, RTPG_FORMAT_EXTENDED);
		put_byte(buf, cap, RTPG_OFF_TRANSITION, transition_secs);
	}
	return off;
}

enum sense_reason alua_setup_rtpg(struct scsi_task *t, struct sense_extra *x)
{
	if (RTPG_CDB_FORMAT(t->cdb) > 1) {
		sense_field_pointer(x, true, 1, 7);
		return SR_INVALID_FIELD_IN_CDB;
	}
	return scsi_setup_alloc_in(t, x);
}

static void rtpg_sort(struct alua_rtpg_group *g, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && g[j - 1].id > g[j].id; j--) {
			struct alua_rtpg_group tmp = g[j];

			g[j] = g[j - 1];
			g[j - 1] = tmp;
		}
}

void alua_report_tpgs(struct scsi_task *t)
{
	struct alua_rtpg_group g[ALUA_MAX_GROUPS];
	uint8_t b[RTPG_EXT_HDR_LEN + ALUA_MAX_GROUPS * (RTPG_DESC_LEN + RTPG_PORT_LEN)];
	const struct it_nexus *nx = t->nexus;
	const struct alua_target *a = nx ? nx->alua : NULL;
	unsigned n = 0, len;

	if (a && a->groups) {
		/* Every group with a listening portal, and the asker's own even if its portals
		 * are gone: the port it is using still exists. */
		for (unsigned i = 0; i < ALUA_MAX_GROUPS; i++) {
			uint16_t tag = atomic_load_explicit(&a->groups->slot[i].tag,
							    memory_order_acquire);

			if (!tag || (!atomic_load(&a->groups->slot[i].portals) &&
				     i != nx->alua_slot))
				continue;
			g[n].id = tag;
			g[n].rel_port = tag;
			g[n].state = (uint8_t)alua_target_state(a, i);
			g[n].status = atomic_load_explicit(&a->status[i], memory_order_relaxed);
			n++;
		}
		rtpg_sort(g, n);
	} else {
		/* A nexus outside the portal registry (fuzzing, tests): its own port only. */
		g[0].id = nx && nx->tpgt ? nx->tpgt : 1;
		g[0].rel_port = g[0].id;
		g[0].state = ALUA_ACTIVE_OPTIMIZED;
		g[0].status = ALUA_STATUS_NONE;
		n = 1;
	}
	len = alua_rtpg_encode(b, sizeof(b), RTPG_CDB_FORMAT(t->cdb) == 1,
			       t->lu->profile->alua_transition_secs, g, n);
	scsi_task_complete(t, scsi_task_data_in(t, b, len), NULL);
}

/* SPC-4 5.15.2.4.4 (standby), 5.15.2.4.5 (unavailable), 5.15.2.4.6 (transitioning): the
 * commands each state still serves. LOG SENSE/SELECT, diagnostics, SET TARGET PORT GROUPS and
 * the READ/WRITE BUFFER echo modes are in those lists too; invar has none of them. */
static bool alua_allowed(enum alua_state s, enum scsi_cmd_id id)
{
	switch (id) {
	case SCMD_INQUIRY:
	case SCMD_REPORT_LUNS:
	case SCMD_REPORT_TARGET_PORT_GROUPS:
	case SCMD_REQUEST_SENSE:
		return true;
	case SCMD_MODE_SENSE_6:
	case SCMD_MODE_SENSE_10:
	case SCMD_MODE_SELECT_6:
	case SCMD_MODE_SELECT_10:
	case SCMD_PERSISTENT_RESERVE_IN:
	case SCMD_PRIN_READ_RESERVATION:
	case SCMD_PRIN_REPORT_CAPABILITIES:
	case SCMD_PRIN_READ_FULL_STATUS:
	case SCMD_PERSISTENT_RESERVE_OUT:
	case SCMD_PROUT_RESERVE:
	case SCMD_PROUT_RELEASE:
	case SCMD_PROUT_CLEAR:
	case SCMD_PROUT_PREEMPT:
	case SCMD_PROUT_PREEMPT_ABORT:
	case SCMD_PROUT_REGISTER_IGNORE:
	case SCMD_PROUT_REGISTER_MOVE:
		return s == ALUA_STANDBY;
	default:
		return false;
	}
}

static enum sense_reason alua_state_reason(enum alua_state s)
{
	switch (s) {
	case ALUA_STANDBY: return SR_NOT_READY_ALUA_STANDBY;
	case ALUA_UNAVAILABLE: return SR_NOT_READY_ALUA_UNAVAILABLE;
	case ALUA_TRANSITIONING: return SR_NOT_READY_ALUA_TRANSITION;
	default: return SR_OK;
	}
}

enum sense_reason alua_not_ready_reason(const struct scsi_task *t)
{
	if (!t->lu || !t->lu->profile->alua || !t->nexus || !t->nexus->alua)
		return SR_OK;
	return alua_state_reason(alua_target_state(t->nexus->alua, t->nexus->alua_slot));
}

enum sense_reason alua_check_cmd(const struct scsi_task *t, const struct scsi_cmd *c)
{
	enum sense_reason r = alua_not_ready_reason(t);

	if (r == SR_OK || alua_allowed(alua_target_state(t->nexus->alua, t->nexus->alua_slot),
				       c->id))
		return SR_OK;
	return r;
}
