#include "ctl/portalspec.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/lunspec.h"

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

#define PORTAL_SPEC_MAX 256

int ctl_tpg_parse(const char *s, unsigned *tpg)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]) || strlen(s) > 5)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v < 1 || v > CTL_TPG_MAX)
		return -EINVAL;
	*tpg = (unsigned)v;
	return 0;
}

int ctl_portal_spec_parse(const char *spec, char *addr, size_t addr_len, unsigned *tpg, char *err,
			  size_t err_len)
{
	char buf[PORTAL_SPEC_MAX];
	char *opt, *next;
	bool have_tpg = false;
	size_t n = strlen(spec);

	if (n >= sizeof(buf)) {
		ERRF("portal spec is longer than %d bytes", PORTAL_SPEC_MAX - 1);
		return -EINVAL;
	}
	memcpy(buf, spec, n + 1);
	*tpg = CTL_TPG_DEFAULT;
	/* The address never contains ',' (IPv6 is bracketed), so the first ',' starts options. */
	opt = strchr(buf, ',');
	if (opt)
		*opt++ = '\0';
	if (ctl_portal_normalize(buf, addr, addr_len, err, err_len) < 0)
		return -EINVAL;
	for (; opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (!strncmp(opt, "tpg=", 4)) {
			if (have_tpg) {
				ERRF("portal '%s': tpg given twice", spec);
				return -EINVAL;
			}
			if (ctl_tpg_parse(opt + 4, tpg) < 0) {
				ERRF("portal '%s': tpg must be 1 to %d", spec, CTL_TPG_MAX);
				return -EINVAL;
			}
			have_tpg = true;
		} else {
			ERRF("portal '%s': unknown option '%.32s' (expected tpg=N)", spec, opt);
			return -EINVAL;
		}
	}
	return 0;
}
