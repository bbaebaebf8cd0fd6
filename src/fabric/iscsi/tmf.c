/* Task Management Function requests (RFC 7143 11.5, 11.6; SAM-5 7). Aborted tasks send no
 * response; the TMF response waits until every aborted task's I/O has completed. */
#include "fabric/iscsi/iscsi_internal.h"

#include <stdlib.h>
#include <string.h>

#include "scsi/nexus.h"
#include "scsi/scsi.h"
#include "target/target.h"
#include "util/log.h"

/* Functions (RFC 7143 11.5.1). */
enum iscsi_tmf_func {
	TMF_ABORT_TASK = 1,
	TMF_ABORT_TASK_SET = 2,
	TMF_CLEAR_ACA = 3,
	TMF_CLEAR_TASK_SET = 4,
	TMF_LOGICAL_UNIT_RESET = 5,
	TMF_TARGET_WARM_RESET = 6,
	TMF_TARGET_COLD_RESET = 7,
	TMF_TASK_REASSIGN = 8,
};

/* Responses (RFC 7143 11.6.1). */
enum iscsi_tmf_response {
	TMF_RSP_COMPLETE = 0,
	TMF_RSP_NO_TASK = 1,
	TMF_RSP_NO_LUN = 2,
	TMF_RSP_ALLEGIANT = 3,
	TMF_RSP_NO_REASSIGN = 4,
	TMF_RSP_NOT_SUPPORTED = 5,
	TMF_RSP_AUTH_FAILED = 6,
	TMF_RSP_REJECTED = 255,
};

static void iscsi_tmf_send(struct iscsi_tmf_wait *w)
{
	struct iscsi_conn *c = w->conn;

	if (c->closing)
		return;
	iscsi_conn_fill_sn(c, &w->rsp, true);
	iscsi_conn_queue(c, &w->rsp, NULL, 0, NULL, NULL);
	if (w->close_after)
		iscsi_conn_queue_close_after(c);
	iscsi_conn_flush(c);
}

void iscsi_tmf_wait_release(struct iscsi_tmf_wait *w)
{
	if (--w->waiting)
		return;
	iscsi_tmf_send(w);
	free(w);
}

/* Abort one task for a TMF: if its I/O is in flight the response waits for it. */
static void iscsi_tmf_abort_one(struct iscsi_tmf_wait *w, struct iscsi_task *t)
{
	if (t->in_scsi && !t->tmf_wait) {
		t->tmf_wait = w;
		w->waiting++;
	}
	iscsi_task_abort(t);
}

/* Abort this session's tasks on one LUN (all LUNs when lun is UINT64_MAX). */
static void iscsi_tmf_abort_lun(struct iscsi_tmf_wait *w, struct iscsi_session *s, uint64_t lun,
				bool all)
{
	struct list_node *n, *tmp;

	list_for_each_safe(n, tmp, &s->tasks)
	{
		struct iscsi_task *t = list_entry(n, struct iscsi_task, node);

		if (t->state == ISCSI_TASK_DONE || t->aborted)
			continue;
		if (!all && t->st.lun != lun)
			continue;
		iscsi_task_get(t);
		iscsi_tmf_abort_one(w, t);
		iscsi_task_put(t);
	}
}

/* What the switch in iscsi_tmf_rx() does, keep the two together: ABORT TASK, ABORT TASK SET,
 * CLEAR TASK SET, LOGICAL UNIT RESET and TARGET WARM/COLD RESET (both SAM-5 TARGET RESET). CLEAR
 * ACA (no NACA support) and TASK REASSIGN (ERL 0) are refused; iSCSI has no QUERY TASK or I_T
 * NEXUS RESET. Reported by REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (src/scsi/sbc3.c). */
const uint32_t iscsi_tmf_supported = NEXUS_TMF_ABORT_TASK | NEXUS_TMF_ABORT_TASK_SET |
				     NEXUS_TMF_CLEAR_TASK_SET | NEXUS_TMF_LU_RESET |
				     NEXUS_TMF_TARGET_RESET;

void iscsi_tmf_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h)
{
	struct iscsi_session *s = c->sess;
	struct iscsi_tmf_wait *w;
	uint8_t func = h->tmf_req.function, response = TMF_RSP_COMPLETE;
	struct lu *lu = NULL;
	uint64_t lun;
	unsigned i;

	lun = iscsi_lun_decode(h->lun);
	if (lun < INVAR_MAX_LUNS)
		lu = s->view->v->lus[lun];

	w = calloc(1, sizeof(*w));
	if (!w) {
		iscsi_conn_close(c, "out of memory for TMF");
		return;
	}
	w->conn = c;
	w->waiting = 1;		/* ours, dropped at the end */
	w->rsp.opcode = ISCSI_OP_TMF_RSP;
	w->rsp.itt = h->itt;

	switch (func) {
	case TMF_ABORT_TASK: {
		struct iscsi_task *t = iscsi_task_find(s, h->tmf_req.rtt);

		/* RFC 7143 11.5.1: a task that is not there (already answered) is reported as
		 * such; the initiator then has its response. */
		if (!t || t->st.lun != lun) {
			response = TMF_RSP_NO_TASK;
			break;
		}
		log_info("iscsi %s: ABORT TASK itt 0x%x", c->peer, t->itt);
		iscsi_task_get(t);
		iscsi_tmf_abort_one(w, t);
		iscsi_task_put(t);
		break;
	}
	case TMF_ABORT_TASK_SET:
	case TMF_CLEAR_TASK_SET:
		if (!lu) {
			response = TMF_RSP_NO_LUN;
			break;
		}
		iscsi_tmf_abort_lun(w, s, lun, false);
		/* ABORT TASK SET is this I_T nexus's tasks only. CLEAR TASK SET is the LU's one
		 * task set (TST=000b, SAM-5 7.5): in profiles with a shared task set, every
		 * session's tasks, and the others hear COMMANDS CLEARED BY ANOTHER INITIATOR. */
		if (func == TMF_CLEAR_TASK_SET && scsi_lu_shared_task_set(lu))
			iscsi_taskset_abort_others(c, lu, w, true);
		break;
	case TMF_LOGICAL_UNIT_RESET:
		if (!lu) {
			response = TMF_RSP_NO_LUN;
			break;
		}
		log_info("iscsi %s: LOGICAL UNIT RESET lun %llu", c->peer, (unsigned long long)lun);
		iscsi_tmf_abort_lun(w, s, lun, false);
		/* SAM-5 7.6: a LUN reset aborts every initiator's tasks on the LU. */
		if (scsi_lu_shared_task_set(lu))
			iscsi_taskset_abort_others(c, lu, w, false);
		scsi_lu_reset(lu, &s->nexus);
		break;
	case TMF_TARGET_WARM_RESET:
	case TMF_TARGET_COLD_RESET:
		log_info("iscsi %s: TARGET %s RESET", c->peer,
			 func == TMF_TARGET_COLD_RESET ? "COLD" : "WARM");
		iscsi_tmf_abort_lun(w, s, 0, true);
		for (i = 0; i < INVAR_MAX_LUNS; i++) {
			struct lu *tl = s->view->v->lus[i];

			if (!tl)
				continue;
			/* SAM-5 7.11: a target reset aborts every initiator's tasks. */
			if (scsi_lu_shared_task_set(tl))
				iscsi_taskset_abort_others(c, tl, w, false);
			scsi_target_reset(tl, &s->nexus);
		}
		/* RFC 7143 11.5.1: after a cold reset the target closes all of its connections to
		 * all initiators; this one once the response is out. */
		if (func == TMF_TARGET_COLD_RESET) {
			w->close_after = true;
			iscsi_target_close_other_sessions(c->d, s->target, s);
		}
		break;
	case TMF_TASK_REASSIGN:
		/* ERL 0: allegiance reassignment needs ERL 2 (RFC 7143 11.6.1). */
		response = TMF_RSP_NO_REASSIGN;
		break;
	case TMF_CLEAR_ACA:
	default:
		response = TMF_RSP_NOT_SUPPORTED;
		break;
	}
	w->rsp.tmf_rsp.response = response;
	iscsi_tmf_wait_release(w);
}
