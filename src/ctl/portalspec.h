/* The portal spec of `invard --listen` and `invarctl portal add`: "ADDR:PORT[,tpg=N]". The
 * address is normalized like every portal address (ctl_portal_normalize); the target portal
 * group tag defaults to 1. */
#ifndef INVAR_CTL_PORTALSPEC_H
#define INVAR_CTL_PORTALSPEC_H

#include <stddef.h>

#define CTL_TPG_DEFAULT 1
#define CTL_TPG_MAX 65535

/* Parses spec into the canonical address and the tag. Returns 0 or -EINVAL with a reason in err
 * ("portal '1.2.3.4:1,tpg=0': tpg must be 1 to 65535"). */
int ctl_portal_spec_parse(const char *spec, char *addr, size_t addr_len, unsigned *tpg, char *err,
			  size_t err_len);
/* A tag from text ("2"): 0 or -EINVAL (not a number, 0, above 65535). */
int ctl_tpg_parse(const char *s, unsigned *tpg);

#endif
