/* The vhost-user-scsi fabric: a QEMU guest's virtio-scsi controller served by invard directly
 * (docs/design/vhost-user-scsi.md). One controller is a UNIX socket path a front-end (QEMU's
 * -device vhost-user-scsi-pci) connects to, exposing one target's LUNs as virtio-scsi target 0.
 * Main thread only. */
#ifndef INVAR_FABRIC_VHOST_VHOST_H
#define INVAR_FABRIC_VHOST_VHOST_H

#include <stddef.h>

struct daemon;
struct vhost_fabric;

struct vhost_fabric *vhost_fabric_new(struct daemon *d);
/* Shutdown, first step, on the main loop while the workers run: drops every front-end (their
 * rings stop and drain) and refuses new ones; done(arg) runs once all are gone, or after 10 s
 * if a ring never drains (logged). */
void vhost_fabric_quiesce(struct vhost_fabric *f, void (*done)(void *arg), void *arg);
/* Closes every controller (front-ends are dropped) and frees the fabric. NULL is fine. */
void vhost_fabric_free(struct vhost_fabric *f);
/* Listens on path (created; a stale socket there is replaced) for a front-end for target iqn
 * (which must exist when the front-end connects). 0, -EEXIST (path already a controller), or
 * -errno with a reason. */
int vhost_ctrl_add(struct vhost_fabric *f, const char *path, const char *iqn, char *err,
		   size_t err_len);
/* Stops listening, drops the front-end, removes the socket. 0 or -ENOENT. */
int vhost_ctrl_delete(struct vhost_fabric *f, const char *path);
/* Calls fn for each controller. */
void vhost_ctrl_foreach(struct vhost_fabric *f,
			void (*fn)(const char *path, const char *iqn, int connected, void *arg),
			void *arg);
/* Parses "PATH,target=IQN" (invard --vhost-user). 0 or -EINVAL. */
int vhost_spec_parse(const char *spec, char *path, size_t path_len, char *iqn, size_t iqn_len);

#endif
