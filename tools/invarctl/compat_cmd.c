/* invarctl compat check SRC.json DST.json: whether a guest using the LU described by SRC (from
 * `invarctl lu describe`) would see exactly the same answers on DST. Local: no daemon needed.
 * Exit 0 compatible, 1 not (one line per reason on stdout), 2 usage or malformed input. */
#include <stdio.h>
#include <string.h>

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

int invarctl_compat(int argc, char **argv)
{
	json_t *src, *dst;
	char err[512];
	int ret;

	if (argc != 3 || strcmp(argv[0], "check")) {
		fprintf(stderr, "invarctl: usage: compat check SRC.json DST.json\n");
		return 2;
	}
	src = load(argv[1]);
	dst = src ? load(argv[2]) : NULL;
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
		printf("compatible: a guest on %s sees the same answers on %s\n", argv[1], argv[2]);
	return ret;
}
