/* The iSCSI fabric's public face: what src/main.c and src/ctl need. Everything else about
 * connections, sessions and PDUs stays inside src/fabric/iscsi. */
#ifndef INVAR_FABRIC_ISCSI_H
#define INVAR_FABRIC_ISCSI_H

struct daemon;
struct worker;

/* Sets d->fabric (portal_add/del/foreach, LUN change notices, session close/count, shutdown)
 * and the fabric's private state. Call once after daemon_init(), before adding portals.
 * Returns 0 or -errno. */
int iscsi_fabric_init(struct daemon *d);

/* Frees the fabric's private state; after shutdown and once the workers have stopped. */
void iscsi_fabric_fini(struct daemon *d);

/* Adopt an accepted, connected socket on worker w. Runs on w's loop thread (portals call it
 * through ev_call()); takes ownership of fd. */
void iscsi_conn_start(struct worker *w, int fd);
/* Same, for a connection accepted by a portal of target portal group tpgt (iscsi_conn_start:
 * group 1). The caller has counted the connection on w (daemon_pick_worker); iscsi_conn_start
 * counts it itself. */
void iscsi_conn_start_tpg(struct worker *w, int fd, unsigned tpgt);

#endif
