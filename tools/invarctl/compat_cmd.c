/* invarctl compat check SRC.json DST.json: whether a guest using the LU described by SRC (from
 * `invarctl lu describe`) would see exactly the same answers on DST. Local: no daemon needed.
 * Exit 0 compatible, 1 not (one line per reason on stdout), 2 usage or malformed input. */
#include <stdio.h>

#include <jansson.h>

#include "compat_cmd.h"
#include "ctl/compat.h"

static void print_reason(const char *reason, void *arg)
{
	printf("%s\n", reason);
}

static json_t *load(const char *path)
{
	json_error_t jerr;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!v) {
		if (jerr.line > 0)
			fprintf(stderr, "invarctl: %s:%d:%d: not valid JSON: %s\n", path, jerr.line,
				jerr.column, jerr.text);
		else
			fprintf(stderr, "invarctl: %s: %s\n", path, jerr.text);
	}
	return v;
}

int invarctl_compat_check(const char *src_path, const char *dst_path)
{
	json_t *src, *dst;
	char err[512];
	int ret;

	src = load(src_path);
	dst = src ? load(dst_path) : NULL;
	if (!src || !dst) {
		json_decref(src);
		return 2;
	}
	ret = compat_check(src, dst, print_reason, NULL, err, sizeof(err));
	json_decref(src);
	json_decref(dst);
	if (ret < 0) {
		fprintf(stderr, "invarctl: %s\n", err);
		return 2;
	}
	if (ret == 0)
		printf("compatible: a guest on %s sees the same answers on %s\n", src_path, dst_path);
	return ret;
}
