/* JSON codec for the resource limits: the "limits" object of the saved config
 * (docs/CONFIG.md "limits"). */
#ifndef INVAR_CTL_CONFIG_LIMITS_H
#define INVAR_CTL_CONFIG_LIMITS_H

#include <stddef.h>

#include <jansson.h>

#include "target/tunables.h"

/* Only the limits that differ from their defaults, keys in table order. NULL on ENOMEM. */
json_t *ctl_limits_to_json(const struct invar_limits *l);
/* Parses o over l (missing keys keep l's values). Every key is range checked; an unknown key
 * is an error (a misspelt limit silently ignored would leave the daemon less bounded than
 * meant). Returns 0 or -EINVAL with the path in err. */
int ctl_limits_from_json(json_t *o, const char *path, struct invar_limits *l, char *err,
			 size_t err_len);

#endif
