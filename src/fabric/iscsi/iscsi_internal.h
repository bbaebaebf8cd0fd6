/* Private to src/fabric/iscsi: connections, sessions, tasks and the functions the files of the
 * fabric share. Nothing outside the fabric includes this. */
#ifndef INVAR_FABRIC_ISCSI_INTERNAL_H
#define INVAR_FABRIC_ISCSI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fabric/iscsi/params.h"
#include "fabric/iscsi/pdu.h"
#include "rt/evloop.h"
#include "rt/pcount.h"
#include "rt/worker.h"
#include "scsi/nexus.h"
#include "scsi/stats.h"
#include "scsi/task.h"
#include "target/acl.h"
#include "util/list.h"

struct daemon;
struct target;
struct worker;
struct lun_view;
struct iscsi_session;
struct iscsi_auth;
struct fabric_session_info;

#define ISCSI_RX_BUF 65536		/* socket read staging buffer */
#define ISCSI_LOGIN_TEXT_MAX 65536	/* login text across Continue PDUs */
#define ISCSI_TX_HIGH_WATER 4096	/* queued PDUs before we stop reading */
#define ISCSI_TX_FREE_MAX 256		/* sent PDU descriptors a connection keeps for reuse */
#define ISCSI_TX_HIGH_WATER_BYTES (8u << 20) /* queued bytes before we stop reading */
#define ISCSI_NOP_INTERVAL_MS 15000	/* idle time before a target NOP-In ping */
/* A ping unanswered for this long drops the connection. Synchronous initiators (libiscsi's
 * sync API, tools that sleep between commands) read their socket only when they send, and
 * sleep up to a minute (libiscsi's SANITIZE test waits 60 s between TEST UNIT READYs): 60 s
 * keeps them, and a dead peer is still noticed after 75 s of silence. */
#define ISCSI_NOP_TIMEOUT_MS 60000
#define ISCSI_REINSTATE_POLL_MS 10
#define ISCSI_REINSTATE_TIMEOUT_MS 10000
#define ISCSI_MAX_R2T_TRACK ISCSI_OUR_MAX_OUTSTANDING_R2T

/* One PDU waiting to be written. The header (BHS + header digest) lives here; the data segment
 * either points into a task's buffer (the task holds a reference until the PDU is written) or
 * is owned by the entry. */
struct iscsi_tx {
	struct list_node node;
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	uint32_t hdr_len;
	const uint8_t *data;
	uint32_t data_len;
	uint8_t trailer[3 + ISCSI_DIGEST_LEN];	/* pad + data digest */
	uint32_t trailer_len;
	uint32_t sent;				/* bytes of hdr+data+trailer already written */
	struct iscsi_task *task;		/* reference, or NULL */
	void *owned;				/* freed when written */
	bool close_after;			/* close the connection once this is written */
};

enum iscsi_task_state {
	ISCSI_TASK_NEW = 0,
	ISCSI_TASK_DATA_OUT,		/* collecting write data */
	ISCSI_TASK_DRAIN,		/* setup failed: draining unsolicited data before status */
	ISCSI_TASK_EXEC,		/* in the SCSI layer: done() pending */
	ISCSI_TASK_DONE,		/* response queued */
};

struct iscsi_r2t {
	bool active;
	uint32_t ttt;
	uint32_t offset;
	uint32_t len;
	uint32_t received;		/* bytes received in order */
	uint32_t next_datasn;
};

/* A SCSI command as the fabric tracks it. scsi_task is embedded; fabric_priv points back. */
struct iscsi_task {
	struct scsi_task st;
	struct list_node node;		/* session->tasks */
	struct iscsi_conn *conn;
	struct iscsi_view *view;	/* the LUN view the command was addressed through */
	unsigned refs;			/* owner + queued tx entries */
	enum iscsi_task_state state;
	bool aborted;			/* TMF or connection loss: no response */
	bool in_scsi;			/* scsi_task_execute() called, done() not yet */
	bool setup_ok;
	bool drain_r2ts;		/* DRAIN: respond only once every outstanding R2T is answered */

	uint32_t itt;
	uint32_t cmdsn;
	uint32_t edtl;
	uint8_t lun_raw[8];
	bool cmd_read, cmd_write;	/* R and W of the SCSI Command */

	/* Data-Out collection (RFC 7143 10.7, 11.7). xfer_len = bytes we keep (<= data_out_len);
	 * data beyond it (EDTL larger than the CDB) is received and dropped. */
	uint32_t xfer_len;
	uint32_t unsol_len;		/* unsolicited bytes the initiator will send (imm + Data-Out) */
	uint32_t unsol_received;
	uint32_t unsol_next_datasn;
	uint32_t r2t_next_offset;	/* next offset to solicit */
	uint32_t solicited_received;
	uint32_t r2tsn;
	unsigned r2t_outstanding;
	struct iscsi_r2t r2t[ISCSI_MAX_R2T_TRACK];

	uint32_t wbuf_charged;		/* write buffer bytes counted against the budgets */
	uint32_t datasn;		/* Data-In / R2T numbering */
	struct iscsi_tmf_wait *tmf_wait; /* a TMF response waiting for this task's I/O */
	struct iscsi_xabort *xabort;	/* another session's reset waiting for this task's I/O */
};

/* A TMF response held until every task it aborted has finished its I/O (RFC 7143 4.2.3.x). */
struct iscsi_tmf_wait {
	struct iscsi_conn *conn;
	struct iscsi_pdu_hdr rsp;	/* StatSN and the window are filled in when it is sent */
	unsigned waiting;
	bool close_after;		/* TARGET COLD RESET: drop the connection after responding */
};
void iscsi_tmf_wait_release(struct iscsi_tmf_wait *w);

/* Refcounted LUN view so in-flight tasks keep the view they were addressed through. */
struct iscsi_view {
	struct lun_view *v;
	unsigned refs;			/* session + tasks, worker-local */
};

enum iscsi_conn_phase {
	ISCSI_PHASE_LOGIN = 0,
	ISCSI_PHASE_REINSTATE_WAIT,	/* login held until the old session is gone */
	ISCSI_PHASE_FULL_FEATURE,
	ISCSI_PHASE_LOGOUT,		/* logout response queued */
	ISCSI_PHASE_CLOSED,
};

enum iscsi_rx_state {
	ISCSI_RX_BHS = 0,
	ISCSI_RX_AHS,
	ISCSI_RX_HDIGEST,
	ISCSI_RX_DATA,
	ISCSI_RX_PAD,
	ISCSI_RX_DDIGEST,
};

struct iscsi_conn {
	struct list_node gnode;		/* fabric-wide connection list (shutdown) */
	atomic_int refcnt;
	struct daemon *d;
	struct worker *w;
	struct ev_fd evfd;
	int fd;
	char peer[64];
	uint16_t tpgt;			/* portal group of the portal it came through */
	enum iscsi_conn_phase phase;
	bool closing;			/* teardown started */
	bool freed_scheduled;
	bool rx_paused;
	bool resume_scheduled;		/* iscsi_conn_resume_cb queued (holds a ref) */

	/* Receive state machine. */
	enum iscsi_rx_state rx_state;
	uint8_t bhs[ISCSI_BHS_LEN];
	struct iscsi_pdu_hdr hdr;	/* bhs decoded, once */
	uint8_t ahs[ISCSI_AHS_MAX];
	uint32_t ahs_len;
	uint8_t digest[ISCSI_DIGEST_LEN];
	uint32_t rx_pos;		/* bytes of the current piece received */
	uint32_t rx_want;		/* bytes of the current piece */
	uint8_t *data;			/* current PDU's data segment (NULL: dropped/direct) */
	struct iscsi_task *data_task;	/* Data-Out straight into this task's buffer (ref) */
	uint8_t *data_direct;		/* where in it, or NULL to drop the payload */
	uint32_t direct_len;		/* bytes to store there; the rest is dropped */
	bool hdigest, ddigest;		/* digests in force (from full feature phase on) */
	uint32_t data_crc;		/* running data digest */
	uint8_t *rxbuf;
	uint32_t rx_off, rx_len;		/* rxbuf[rx_off, rx_len): received, not yet consumed (paused) */
	uint64_t last_rx_ms;

	/* Send queue. */
	struct list_node txq;
	unsigned txq_len;
	uint64_t txq_bytes;		/* header + data + trailer bytes queued, not yet sent */
	bool want_out;			/* EPOLLOUT armed */
	struct worker_defer tx_defer;	/* iscsi_conn_flush_soon: one send per loop pass */
	struct list_node tx_free;	/* sent iscsi_tx kept for reuse (no malloc per PDU) */
	unsigned tx_free_len;

	/* Login. */
	struct iscsi_negotiation neg;
	enum iscsi_login_stage login_stage;
	bool login_started;
	bool names_checked;
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint32_t login_itt;
	char *login_text;		/* accumulated request text (Continue) */
	uint32_t login_text_len;
	struct target *login_target;	/* reference while logging in */
	struct iscsi_auth *auth;	/* login_auth.c; NULL until the names are checked */
	uint64_t reinstate_deadline;
	uint32_t login_cmdsn;
	char *login_rsp;		/* final response text held during reinstatement */
	uint32_t login_rsp_len;
	bool login_rsp_transit;		/* its T, CSG and NSG */
	uint8_t login_rsp_csg, login_rsp_nsg;
	struct ev_timer login_timer;
	struct ev_timer reinstate_timer;
	struct ev_timer logout_timer;	/* async.c: drop if no logout after asking for one */

	/* NOP-In ping. */
	struct ev_timer nop_timer;
	bool nop_outstanding;
	uint32_t nop_ttt;
	uint64_t nop_sent_ms;

	/* Text (discovery) reply continuation (RFC 7143 11.10, C bit). */
	char *text_rsp;
	uint32_t text_rsp_len, text_rsp_off;
	uint32_t text_ttt;
	uint32_t text_itt;

	/* Sequence numbers (per connection, RFC 7143 4.2.2.2). */
	uint32_t statsn;
	uint32_t exp_statsn;

	struct iscsi_session *sess;
	uint32_t next_ttt;
};

/* A held (out-of-order) request: the whole PDU, re-dispatched when its CmdSN comes up. */
struct iscsi_held {
	struct list_node node;
	uint32_t cmdsn;
	struct iscsi_pdu_hdr hdr;	/* bhs decoded */
	uint8_t bhs[ISCSI_BHS_LEN];
	uint8_t *ahs;
	uint32_t ahs_len;
	uint8_t *data;
	uint32_t data_len;
};

struct iscsi_session {
	struct list_node gnode;		/* fabric session registry */
	atomic_int refcnt;
	struct daemon *d;
	struct worker *w;
	struct iscsi_conn *conn;	/* NULL once the connection is gone */
	struct target *target;		/* reference (normal sessions) */
	enum iscsi_session_type type;
	struct iscsi_params p;
	uint8_t isid[6];
	uint16_t tsih;
	/* "ADDR:PORT" the session came in through (normal sessions; "" if unknown), checked
	 * against the target's portal binding when it changes. */
	char local_portal[ACL_PORTAL_LEN];
	/* For the control plane (session_list), fixed at login: the initiator's address, the CHAP
	 * user it proved (or ""), whether it checked us too, when it logged in. */
	char peer[64];
	char chap_user[CHAP_USER_MAX + 1];
	bool mutual_chap;
	int64_t login_time;
	/* Why an operator or the control plane ends it (iscsi_session_kill_async), for the log;
	 * set before the ev_call that reads it. */
	const char *kill_why;
	struct it_nexus nexus;
	struct iscsi_view *view;
	bool registered;
	bool killed;
	bool nexus_lost;		/* iscsi_session_nexus_loss() ran (its worker only) */

	uint32_t exp_cmdsn;
	/* Tasks without a response yet: the CmdSN window. Its worker changes it with relaxed
	 * atomics so the control plane may read it (session_list). */
	unsigned active;
	unsigned max_cmds;		/* the window's size (d->limits.max_cmds at login) */
	/* Write buffers (iscsi_wbuf_charge): bytes this session holds, and the budgets (bytes)
	 * from d->limits at login. */
	uint64_t wbuf_bytes;
	uint64_t wbuf_budget;
	uint64_t wbuf_daemon_budget;
	struct list_node tasks;		/* struct iscsi_task.node */
	unsigned ntasks;
	struct list_node held;		/* struct iscsi_held, sorted by CmdSN */
	unsigned nheld;
	/* I/O statistics of the session (nexus.stats points here): written by its worker only,
	 * read relaxed by the control plane under the fabric lock (admin.c). */
	struct scsi_stats stats;
};

/* Fabric-wide state (d->fabric_priv). */
struct iscsi_fabric {
	struct daemon *d;
	pthread_mutex_t lock;		/* sessions and conns lists */
	struct list_node sessions;
	struct list_node conns;
	bool shutting_down;
	struct pcount wbuf;		/* write buffers of every session's tasks, 4 KiB units */
};

struct iscsi_fabric *iscsi_fabric_get(struct daemon *d);

/* conn.c */
void iscsi_conn_get(struct iscsi_conn *c);
void iscsi_conn_put(struct iscsi_conn *c);
void iscsi_conn_close(struct iscsi_conn *c, const char *why);
/* Queue a PDU. h is encoded (its data_len replaced by data_len); data is referenced
 * (task != NULL: holds a task ref) or owned (owned != NULL: freed after sending). Computes
 * digests. */
int iscsi_conn_queue(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h, const uint8_t *data,
		     uint32_t data_len, struct iscsi_task *task, void *owned);
void iscsi_conn_queue_close_after(struct iscsi_conn *c);
void iscsi_conn_flush(struct iscsi_conn *c);
/* Send what is queued at the end of this loop pass: the responses of all the commands a pass
 * completes go out in one sendmsg. Immediate when not on the connection's worker. */
void iscsi_conn_flush_soon(struct iscsi_conn *c);
/* bhs: the rejected PDU's header as received (RFC 7143 11.17). */
void iscsi_conn_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t bhs[ISCSI_BHS_LEN]);
/* Fill StatSN/ExpCmdSN/MaxCmdSN in a target PDU; advance StatSN when advance is true. */
void iscsi_conn_fill_sn(struct iscsi_conn *c, struct iscsi_pdu_hdr *h, bool advance);
uint32_t iscsi_conn_next_ttt(struct iscsi_conn *c);
/* The connection reached full feature phase: start the NOP timer. */
void iscsi_conn_ffp_started(struct iscsi_conn *c);
/* Dispatch one complete PDU (from the receive path or a held queue): h is bhs decoded (the
 * handlers read h; bhs is only echoed in a Reject). */
void iscsi_conn_dispatch(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			 const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
			 uint8_t *data);
void iscsi_conn_teardown_check(struct iscsi_conn *c);
/* Process a request whose CmdSN is in order (or immediate). */
void iscsi_conn_process(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
			uint8_t *data);

/* Login status class and detail (RFC 7143 11.13.5), as (class << 8 | detail). */
#define ISCSI_LOGIN_OK 0x0000
#define ISCSI_LOGIN_INITIATOR_ERROR 0x0200
#define ISCSI_LOGIN_AUTH_FAILED 0x0201
#define ISCSI_LOGIN_AUTHORIZATION_FAILED 0x0202
#define ISCSI_LOGIN_NOT_FOUND 0x0203
#define ISCSI_LOGIN_TOO_MANY_CONNECTIONS 0x0206
#define ISCSI_LOGIN_TARGET_ERROR 0x0300
#define ISCSI_LOGIN_OUT_OF_RESOURCES 0x0302

/* login.c */
void iscsi_login_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h, uint8_t *data);
void iscsi_login_reinstate_poll(struct iscsi_conn *c);

/* login_auth.c: ACL, portal binding and CHAP during the security stage. */
/* "ADDR:PORT" of the connection's local end, in ctl_portal_normalize's form. */
int iscsi_local_portal(int fd, char *out, size_t len);
/* Whether discovery lists t to this initiator (ACL and, if local is set, portal binding).
 * daemon.lock held. */
bool iscsi_target_visible_locked(struct target *t, const char *initiator, const char *local);
/* After the names are known: may this initiator log in here, must it use CHAP? Returns a
 * login status (ISCSI_LOGIN_*); sets c->auth. */
unsigned iscsi_auth_decide(struct iscsi_conn *c, const char **why);
/* One request in the given stage: answers AuthMethod and runs CHAP. Returns a login status. */
unsigned iscsi_auth_rx(struct iscsi_conn *c, unsigned csg, char *out, size_t out_max,
		       size_t *out_len, const char **why);
bool iscsi_auth_done(const struct iscsi_conn *c);
/* After a CHAP login: the user the initiator proved, and whether it checked us too ("" and
 * false without CHAP). */
const char *iscsi_auth_chap_user(const struct iscsi_conn *c, bool *mutual);
/* CHAP chosen and not finished: the login must stay in the security stage. */
bool iscsi_auth_pending(const struct iscsi_conn *c);
bool iscsi_auth_required(const struct iscsi_conn *c);
/* Security stage left without AuthMethod where none is required. */
void iscsi_auth_set_done(struct iscsi_conn *c);
void iscsi_auth_free(struct iscsi_conn *c);

/* session.c */
struct iscsi_session *iscsi_session_new(struct iscsi_conn *c);
void iscsi_session_get(struct iscsi_session *s);
void iscsi_session_put(struct iscsi_session *s);
/* Adds s to the registry unless that would exceed d->limits.max_sessions (or, for a normal
 * session, max_sessions_per_target): -EUSERS then, with why set. Checked and added under one
 * lock, so concurrent logins on other workers cannot overshoot. */
int iscsi_session_register(struct iscsi_session *s, const char **why);
/* Find a live session with the same initiator, ISID, target and target portal group: the
 * session identity of RFC 7143 4.4.1 (reinstatement). With a ref. */
struct iscsi_session *iscsi_session_find(struct daemon *d, const char *initiator,
					 const uint8_t isid[6], const char *target_iqn,
					 uint16_t tpgt);
/* A TSIH names a session only within its target portal group. With a ref. */
struct iscsi_session *iscsi_session_find_tsih(struct daemon *d, uint16_t tsih, uint16_t tpgt);
/* Ask the session's own worker to close it (the log gives s->kill_why when set). */
void iscsi_session_kill_async(struct iscsi_session *s);
/* Close every session of target t but except (on their own workers); any thread. */
void iscsi_target_close_other_sessions(struct daemon *d, struct target *t,
					struct iscsi_session *except);
/* The connection is gone and every task finished: nexus loss, unregister, drop refs. */
void iscsi_session_end(struct iscsi_session *s);
/* SAM-5 6.3.4: the I_T nexus is lost on every LU the session could reach (once; session_end does
 * it if nothing did before). Logout does it before its response, so an initiator that goes on
 * through another session once the logout is answered finds the nexus's PREVENT and RESERVE
 * already released. */
void iscsi_session_nexus_loss(struct iscsi_session *s);
/* CmdSN window check (RFC 7143 4.2.2.1): returns 1 to process now, 0 to hold, -1 to drop. */
int iscsi_session_cmdsn_check(struct iscsi_session *s, bool immediate, uint32_t cmdsn);
void iscsi_session_cmdsn_advance(struct iscsi_session *s);
int iscsi_session_hold(struct iscsi_session *s, const struct iscsi_pdu_hdr *h,
		       const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
		       const uint8_t *data);
void iscsi_session_run_held(struct iscsi_session *s);
uint32_t iscsi_session_max_cmdsn(const struct iscsi_session *s);
void iscsi_view_put(struct iscsi_view *v);
int iscsi_session_attach_view(struct iscsi_session *s);
void iscsi_session_refresh_view_async(struct iscsi_session *s);

/* scsi_cmd.c */
void iscsi_scsi_cmd_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
		       const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *ahs, uint32_t ahs_len,
		       const uint8_t *data);
/* Data-Out header arrived: validates and returns where its data goes (NULL: drop it);
 * -1 on a protocol error (connection closed). */
int iscsi_data_out_hdr(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h, uint8_t **dest);
/* Data-Out payload fully received (digest checked); t is what iscsi_data_out_hdr chose. */
void iscsi_data_out_done(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
			 struct iscsi_task *t);
/* Data-Out payload with a bad data digest (already rejected): accounted like a good one, but the
 * task is failed (PROTOCOL SERVICE CRC ERROR) once all its data is in, and never executed. */
void iscsi_data_out_digest_error(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
				 struct iscsi_task *t);
struct iscsi_task *iscsi_task_find(struct iscsi_session *s, uint32_t itt);
void iscsi_task_get(struct iscsi_task *t);
void iscsi_task_put(struct iscsi_task *t);
/* Abort a task: no response will be sent; freed once its I/O completes. */
void iscsi_task_abort(struct iscsi_task *t);

/* tmf.c */
void iscsi_tmf_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h);
/* The SAM-5 task management functions iscsi_tmf_rx() carries out (NEXUS_TMF_* bits). */
extern const uint32_t iscsi_tmf_supported;

/* taskset.c: the LU's task set spans sessions (LUN RESET, CLEAR TASK SET, PREEMPT AND ABORT). */
struct iscsi_xabort;
struct lu;
/* Abort the tasks on lu of every other session; w is held until they are all gone.
 * cleared_ua: those that lost tasks get COMMANDS CLEARED BY ANOTHER INITIATOR. */
void iscsi_taskset_abort_others(struct iscsi_conn *c, struct lu *lu, struct iscsi_tmf_wait *w,
				bool cleared_ua);
/* An aborted task's I/O finished (or a session was visited). */
void iscsi_xabort_put(struct iscsi_xabort *x);
/* fabric_ops.lu_abort_tasks. */
void iscsi_ops_lu_abort_tasks(struct daemon *d, struct lu *lu, const uint64_t *ids, unsigned n);

/* discovery.c */
void iscsi_text_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
		   const uint8_t bhs[ISCSI_BHS_LEN], const uint8_t *data);
/* Builds the SendTargets reply ("All" or one name) into a malloc'd buffer. */
int iscsi_sendtargets_build(struct daemon *d, const char *which, const char *local,
			    const char *initiator, const char *local_portal, char **out,
			    uint32_t *out_len);

/* logout.c */
void iscsi_logout_rx(struct iscsi_conn *c, const struct iscsi_pdu_hdr *h,
		     const uint8_t bhs[ISCSI_BHS_LEN]);

/* async.c: fabric_ops.target_request_logout (live-migration handover); the same for one
 * session (why: for the log, a static string). Takes over the caller's reference on s. */
void iscsi_ops_request_logout(struct daemon *d, struct target *t, unsigned wait_s);
int iscsi_session_request_logout(struct iscsi_session *s, unsigned wait_s, const char *why);

/* admin.c: fabric_ops.session_list and session_end. */
int iscsi_ops_session_list(struct daemon *d, struct fabric_session_info **out, unsigned *n);
int iscsi_ops_session_end(struct daemon *d, uint16_t id, bool logout, unsigned wait_s);

/* portal.c */
int iscsi_portal_add(struct daemon *d, const char *addr_port, unsigned tpg);
int iscsi_portal_del(struct daemon *d, const char *addr_port);
void iscsi_portal_foreach(struct daemon *d,
			  void (*fn)(const char *addr_port, unsigned tpg, void *arg), void *arg);
/* With daemon.lock held. */
void iscsi_portal_foreach_locked(struct daemon *d,
				 void (*fn)(const char *addr_port, unsigned tpg, void *arg),
				 void *arg);
void iscsi_portal_close_all(struct daemon *d);

#endif
