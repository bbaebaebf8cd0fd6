/* invarctl's side of the control socket: one JSON-RPC call per connection (docs/RPC.md), and
 * the small helpers every command uses. */
#ifndef INVAR_TOOLS_INVARCTL_CLIENT_H
#define INVAR_TOOLS_INVARCTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct ctl {
	const char *socket;
	bool json;		/* --json: print the raw result instead of a table */
};

/* Sends one request (params taken over, may be NULL) and returns the "result" (new
 * reference), or NULL after printing why. */
json_t *ctl_call(const struct ctl *c, const char *method, json_t *params);
/* ctl_call for a command: 1 on failure; with --json the result is printed and *result is
 * NULL, else the caller prints and frees *result. */
int ctl_run(const struct ctl *c, const char *method, json_t *params, json_t **result);

void ctl_print_json(json_t *v);
/* o[key] as a string, def when absent. */
const char *jstr(json_t *o, const char *key, const char *def);
/* Prints "invarctl: <message>" and a pointer to --help; returns 2 (the usage exit status). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Relative paths are the user's, not the daemon's: resolve them here. 0 or -1 (too long). */
int absolute_path(const char *in, char *out, size_t out_len);
/* A LUN number 0..255. 0 or -1. */
int parse_lun_number(const char *s, json_int_t *out);

#endif
