/* Test-only backstore fault injection (see fault.h). Rules are added before the workers start
 * and never removed while they run; the counters are atomic because every worker submits. */
#include "backstore/fault.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/backstore.h"

enum fault_op { F_READ, F_WRITE, F_FUA, F_FLUSH };

struct fault_rule {
	enum fault_op op;
	int err;			/* negative errno */
	unsigned long after, count;	/* count 0 = unlimited */
	atomic_ulong seen;		/* matching I/Os so far */
};

static struct fault_rule rules[BS_FAULT_MAX_RULES];
static atomic_uint nrules;

static bool parse_ul(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *s != '-';
}

int bs_fault_add(const char *spec, char *err, size_t err_len)
{
	static const struct { const char *name; enum fault_op op; } ops[] = {
		{ "read", F_READ }, { "write", F_WRITE }, { "fua", F_FUA }, { "flush", F_FLUSH },
	};
	static const struct { const char *name; int err; } errs[] = {
		{ "eio", -EIO }, { "enospc", -ENOSPC }, { "edquot", -EDQUOT },
	};
	struct fault_rule r = { 0 };
	char buf[128], *save = NULL, *tok, *eq;
	unsigned n = atomic_load(&nrules), i;
	bool have_op = false;

	if (n >= BS_FAULT_MAX_RULES) {
		snprintf(err, err_len, "at most %d rules", BS_FAULT_MAX_RULES);
		return -EINVAL;
	}
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf)) {
		snprintf(err, err_len, "too long");
		return -EINVAL;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq) {
			snprintf(err, err_len, "'%.32s': expected KEY=VALUE", tok);
			return -EINVAL;
		}
		*eq++ = 0;
		if (!strcmp(tok, "after")) {
			if (!parse_ul(eq, &r.after))
				goto bad_num;
			continue;
		}
		if (!strcmp(tok, "count")) {
			if (!parse_ul(eq, &r.count))
				goto bad_num;
			continue;
		}
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]) && strcmp(tok, ops[i].name); i++)
			;
		if (i == sizeof(ops) / sizeof(ops[0]) || have_op) {
			snprintf(err, err_len, "'%.32s': expected read, write, fua or flush once", tok);
			return -EINVAL;
		}
		r.op = ops[i].op;
		have_op = true;
		for (i = 0; i < sizeof(errs) / sizeof(errs[0]) && strcmp(eq, errs[i].name); i++)
			;
		if (i == sizeof(errs) / sizeof(errs[0])) {
			snprintf(err, err_len, "'%.32s': expected eio, enospc or edquot", eq);
			return -EINVAL;
		}
		r.err = errs[i].err;
	}
	if (!have_op) {
		snprintf(err, err_len, "no OP=ERRNO");
		return -EINVAL;
	}
	rules[n].op = r.op;
	rules[n].err = r.err;
	rules[n].after = r.after;
	rules[n].count = r.count;
	atomic_init(&rules[n].seen, 0);
	atomic_store(&nrules, n + 1);
	return 0;
bad_num:
	snprintf(err, err_len, "'%.32s': not a number", eq);
	return -EINVAL;
}

static bool rule_matches(const struct fault_rule *r, const struct bs_io *io)
{
	switch (r->op) {
	case F_READ: return io->op == BS_OP_READ;
	case F_WRITE: return io->op == BS_OP_WRITE;
	case F_FUA: return io->op == BS_OP_WRITE && (io->flags & BS_IO_FUA);
	case F_FLUSH: return io->op == BS_OP_FLUSH;
	}
	return false;
}

bool bs_fault_check(const struct bs_io *io, int *res)
{
	unsigned n = atomic_load_explicit(&nrules, memory_order_acquire), i;

	for (i = 0; i < n; i++) {
		struct fault_rule *r = &rules[i];
		unsigned long k;

		if (!rule_matches(r, io))
			continue;
		k = atomic_fetch_add(&r->seen, 1);
		if (k < r->after || (r->count && k >= r->after + r->count))
			continue;
		*res = r->err;
		return true;
	}
	return false;
}

void bs_fault_clear(void)
{
	atomic_store(&nrules, 0);
}
