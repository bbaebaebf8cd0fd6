/* The per-daemon context: the one place for state that is not per thread. */
#ifndef INVAR_TARGET_DAEMON_H
#define INVAR_TARGET_DAEMON_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "rt/evloop.h"
#include "rt/worker.h"
#include "scsi/alua_groups.h"
#include "scsi/limits.h"
#include "scsi/nexus.h"
#include "scsi/stats.h"
#include "target/acl.h"
#include "target/tunables.h"
#include "util/list.h"

struct worker;
struct target;
struct fabric_session_info;
struct lu;
struct fabric_ops;
struct mig_ctx;

struct daemon {
	char data_dir[PATH_MAX];
	char socket_path[PATH_MAX];

	/* The main thread's loop: portals' listening sockets, the RPC socket, signals. */
	struct ev_loop *main_loop;

	unsigned nworkers;
	struct worker *workers;
	atomic_uint next_worker;

	/* Control-path lock: the target list, each target's LUN table and the portal list.
	 * Never taken per command. Lock order: daemon.lock, then target.lock, then lu.lock. */
	pthread_mutex_t lock;
	struct list_node targets; /* struct target.node */
	struct list_node portals; /* fabric-owned portal objects */
	/* Portal group tags in use (ALUA target port groups); slots taken under lock. */
	struct alua_groups alua_groups;

	/* CHAP credentials for discovery sessions (ACL and portals unused); under lock. */
	struct target_auth discovery_auth;

	atomic_uint_least64_t next_nexus_id;
	atomic_uint next_tsih;

	/* Fabric hooks, set by the fabric at init, called by the control plane. */
	const struct fabric_ops *fabric;
	void *fabric_priv;

	/* Live migration (mig/channel.h), set by main; NULL in tests without one. */
	struct mig_ctx *mig;

	/* The served configuration changed outside the RPC methods (a LU arrived by migration):
	 * the control plane keeps DATA_DIR/invar.json current. NULL: nothing to do. Main thread. */
	int (*config_changed)(struct daemon *d);	/* 0 or -errno, logged by it */

	/* Resource limits (target/tunables.h); set before serving, read by the fabric at accept and
	 * login. */
	struct invar_limits limits;

	/* The vhost-user-scsi fabric (fabric/vhost), set by it when it starts; NULL: none. */
	const struct vhost_ctl_ops *vhost;
	void *vhost_priv;
};

/* What the control plane asks of the vhost-user-scsi fabric (vhost_add/delete/list). Main
 * thread, daemon.lock not held. */
struct vhost_ctl_ops {
	/* Listen on the UNIX socket path for a front-end serving target iqn's LUNs: 0, -EEXIST,
	 * or -errno with a reason in err. */
	int (*add)(void *priv, const char *path, const char *iqn, char *err, size_t err_len);
	/* 0 or -ENOENT; its front-end is dropped. */
	int (*del)(void *priv, const char *path);
	void (*foreach)(void *priv,
			void (*fn)(const char *path, const char *iqn, int connected, void *arg),
			void *arg);
	/* A target's LUN table or ACL changed: its connected front-ends get a new LUN view
	 * (REPORTED LUNS DATA HAS CHANGED), a deleted LUN is no longer reachable. */
	void (*target_luns_changed)(void *priv, struct target *t);
	/* How many front-ends serve target t now; with drop, they are dropped (target delete). */
	int (*target_frontends)(void *priv, struct target *t, bool drop);
	/* Appends one entry per connected front-end (fabric "vhost", id 0) to the malloc'd array
	 * *out of *n entries (fabric_ops.session_list's). 0 or -ENOMEM. */
	int (*session_list)(void *priv, struct fabric_session_info **out, unsigned *n);
	/* fabric_ops.lu_abort_tasks for the front-ends' nexuses: thread-safe, asynchronous; their
	 * tasks on lu are answered VIRTIO_SCSI_S_ABORTED when they end. */
	void (*lu_abort_tasks)(void *priv, struct lu *lu, const uint64_t *ids, unsigned n);
};

/* What the control plane needs from a fabric (iSCSI today). All run on the main thread
 * with daemon.lock NOT held. */
struct fabric_ops {
	/* "ADDR:PORT" or "[v6]:PORT", in target portal group tpg (1-65535). */
	int (*portal_add)(struct daemon *d, const char *addr_port, unsigned tpg);
	int (*portal_del)(struct daemon *d, const char *addr_port);
	/* Calls fn for each portal's "ADDR:PORT" string and group tag (under daemon.lock). */
	void (*portal_foreach)(struct daemon *d,
			       void (*fn)(const char *addr_port, unsigned tpg, void *arg), void *arg);
	/* A target's LUN table changed: refresh every session's view (REPORTED LUNS DATA HAS
	 * CHANGED unit attention). */
	void (*target_luns_changed)(struct daemon *d, struct target *t);
	/* Close all sessions of a target (before it is deleted); returns the number closed. */
	int (*target_close_sessions)(struct daemon *d, struct target *t);
	/* Count of sessions logged in to the target. */
	int (*target_session_count)(struct daemon *d, struct target *t);
	/* Stop listening and close every connection (shutdown). */
	void (*shutdown)(struct daemon *d);
	/* Thread-safe, from any worker: abort, without a response, the tasks on lu of the sessions
	 * whose I_T nexus id is in ids (PREEMPT AND ABORT, SPC-4 5.12.11.5). Asynchronous. */
	void (*lu_abort_tasks)(struct daemon *d, struct lu *lu, const uint64_t *ids, unsigned n);
	/* A target's ACL changed: close the sessions of initiators it no longer admits (on their
	 * own workers, asynchronously); returns how many. */
	int (*target_access_changed)(struct daemon *d, struct target *t);
	/* Live migration handover: ask every session of t to log out (Async Message "logout
	 * requested", RFC 7143 11.9.1, within wait_s seconds), and drop those still there after
	 * that, so their initiators log in again and are redirected. */
	void (*target_request_logout)(struct daemon *d, struct target *t, unsigned wait_s);
	/* Every logged-in session (normal and discovery): a malloc'd array in *out (the caller
	 * frees it), *n entries. 0 or -ENOMEM. */
	int (*session_list)(struct daemon *d, struct fabric_session_info **out, unsigned *n);
	/* Ends the session with this id: logout asks the initiator to log out (RFC 7143 11.9.1,
	 * within wait_s seconds) and drops it after that; otherwise it is dropped now. Its
	 * commands are aborted as at any connection loss. 0, or -ENOENT when there is none. */
	int (*session_end)(struct daemon *d, uint16_t id, bool logout, unsigned wait_s);
};

/* One session as the control plane shows it (fabric_ops.session_list). */
struct fabric_session_info {
	char fabric[8];				/* "iscsi" */
	uint16_t id;				/* iSCSI TSIH: unique among live sessions */
	bool discovery;
	char initiator[INVAR_NAME_MAX + 1];
	uint8_t isid[6];
	char target[INVAR_NAME_MAX + 1];	/* "" for discovery */
	char portal[ACL_PORTAL_LEN];		/* the local ADDR:PORT it came in through */
	uint16_t tpgt;
	char peer[64];				/* the initiator's ADDR:PORT */
	char chap_user[CHAP_USER_MAX + 1];	/* "" without CHAP */
	bool mutual_chap;
	bool header_digest, data_digest;
	bool initial_r2t, immediate_data;
	uint32_t max_recv_dsl;			/* ours: the largest data segment we accept */
	uint32_t max_xmit_dsl;			/* the initiator's */
	uint32_t max_burst, first_burst;
	uint32_t max_outstanding_r2t;
	unsigned max_cmds;			/* the command window */
	unsigned in_flight;			/* commands without a response yet */
	unsigned worker;
	int64_t login_time;			/* seconds since the epoch */
	struct scsi_stats stats;		/* I/O statistics (scsi/stats.h) */
};

struct target;

int daemon_init(struct daemon *d, const char *data_dir, unsigned nworkers);
/* Starts the worker threads. */
int daemon_start_workers(struct daemon *d);
/* Stops the workers, frees every target and LU. */
void daemon_fini(struct daemon *d);
/* Worker for a new connection: the one with the fewest live connections (round robin among
 * equals); counts the connection on it (the fabric calls worker_conn_done when it ends). */
struct worker *daemon_pick_worker(struct daemon *d);
/* The nexus hooks of every target of d (struct scsi_port_ops, with d as the context): they
 * reach the fabric through d->fabric. */
extern const struct scsi_port_ops daemon_port_ops;

/* The daemon a worker runs for (the runtime keeps it as an untyped owner). */
static inline struct daemon *worker_daemon(const struct worker *w)
{
	return w->owner;
}

#endif
