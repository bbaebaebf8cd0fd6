/* What names an RBD image for the rbd backstore, as the LU's path holds it:
 *   POOL/IMAGE[,conf=PATH][,id=CLIENT][,namespace=NS][,timeout=S]
 * Parsed and checked here (invard --lun, lun add and the saved config all pass through it) and
 * written back in one canonical order, so the saved config round-trips byte for byte. */
#ifndef INVAR_BACKSTORE_RBD_SPEC_H
#define INVAR_BACKSTORE_RBD_SPEC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define RBD_NAME_MAX 128		/* pool, image and namespace names */
#define RBD_TIMEOUT_DEFAULT_S 30	/* a command fails (BUSY) after this long without the OSDs */
#define RBD_TIMEOUT_MAX_S 3600

struct rbd_spec {
	char pool[RBD_NAME_MAX];
	char image[RBD_NAME_MAX];
	char ns[RBD_NAME_MAX];		/* "" = the default namespace */
	char conf[PATH_MAX];		/* "" = librados' default search (/etc/ceph/ceph.conf...) */
	char id[64];			/* client id without "client." ("" = librados' default) */
	unsigned timeout_s;		/* 0 in the text = default */
};

/* Whether key is one of the rbd options (conf, id, namespace, timeout). */
bool rbd_spec_is_option(const char *key);
/* Parses the text into *s (zeroed first). 0, or -EINVAL with a reason in err. */
int rbd_spec_parse(const char *text, struct rbd_spec *s, char *err, size_t err_len);
/* The canonical text; 0, or -ENAMETOOLONG when out is too small. */
int rbd_spec_format(const struct rbd_spec *s, char *out, size_t out_len);

#endif
