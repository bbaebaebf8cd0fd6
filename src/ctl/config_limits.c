/* The "limits" object of the saved config (see config_limits.h). */
#include "ctl/config_limits.h"

#include <errno.h>
#include <stdio.h>

#include "ctl/config.h"

json_t *ctl_limits_to_json(const struct invar_limits *l)
{
	json_t *o = json_object();
	unsigned i;

	if (!o)
		return NULL;
	for (i = 0; i < invar_limit_ndescs; i++) {
		const struct invar_limit_desc *d = &invar_limit_descs[i];
		unsigned v = invar_limits_get(l, d);

		if (v != d->def && json_object_set_new(o, d->key, json_integer(v)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int ctl_limits_from_json(json_t *o, const char *path, struct invar_limits *l, char *err,
			 size_t err_len)
{
	char reason[160];
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		snprintf(err, err_len, "%s: expected an object, got %s", path, ctl_json_type_name(o));
		return -EINVAL;
	}
	json_object_foreach(o, key, v)
	{
		if (!invar_limit_find(key)) {
			snprintf(err, err_len, "%s: unknown limit '%.64s'", path, key);
			return -EINVAL;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, err_len, "%s.%s: expected a non-negative integer, got %s", path,
				 key, ctl_json_type_name(v));
			return -EINVAL;
		}
		if (invar_limits_set(l, key, (unsigned long long)json_integer_value(v), reason,
				     sizeof(reason)) < 0) {
			snprintf(err, err_len, "%s.%s", path, reason);
			return -EINVAL;
		}
	}
	if (invar_limits_check(l, reason, sizeof(reason)) < 0) {
		snprintf(err, err_len, "%s: %s", path, reason);
		return -EINVAL;
	}
	return 0;
}
