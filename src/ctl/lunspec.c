#include "ctl/lunspec.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore/rbd/rbd_spec.h"
#include "scsi/limits.h"
#include "util/hex.h"

#define ERRF(...)                                           \
	do {                                                \
		if (err_len)                                \
			snprintf(err, err_len, __VA_ARGS__); \
	} while (0)

int ctl_size_parse(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	uint64_t v = 0;
	const char *p = s, *u;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned dgt = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - dgt) / 10)
			return -ERANGE;
		v = v * 10 + dgt;
	}
	if (*p) {
		u = strchr(units, toupper((unsigned char)*p));
		if (!u)
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
		p++;
		if (!strcasecmp(p, "iB"))
			p += 2;
		if (*p)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void ctl_size_format(uint64_t bytes, char *out, size_t out_len)
{
	static const char *const units[] = { "", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned i = 0;

	while (bytes && i < 6 && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	snprintf(out, out_len, "%llu%s", (unsigned long long)bytes, units[i]);
}

/* SPC-4 7.8.6.6: NAA 2 (IEEE extended), 3 (locally assigned), 5 (IEEE registered) are 8 bytes;
 * NAA 6 (IEEE registered extended) is 16 bytes. */
int ctl_naa_parse(const char *hex, uint8_t naa[16], unsigned *naa_len, char *err, size_t err_len)
{
	size_t n, i;
	unsigned type;

	if (!strncasecmp(hex, "0x", 2))
		hex += 2;
	n = strlen(hex);
	if (n != 16 && n != 32) {
		ERRF("naa: expected 16 or 32 hex digits, got %zu characters", n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (hex_digit(hex[i]) < 0) {
			ERRF("naa: '%c' is not a hex digit", isprint((unsigned char)hex[i]) ? hex[i] : '?');
			return -EINVAL;
		}
	}
	type = (unsigned)hex_digit(hex[0]);
	if (n == 16 && type != 2 && type != 3 && type != 5) {
		ERRF("naa: an 8-byte designator must be NAA type 2, 3 or 5 (first digit), not %x", type);
		return -EINVAL;
	}
	if (n == 32 && type != 6) {
		ERRF("naa: a 16-byte designator must be NAA type 6 (first digit), not %x", type);
		return -EINVAL;
	}
	memset(naa, 0, 16);
	for (i = 0; i < n / 2; i++)
		naa[i] = (uint8_t)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
	*naa_len = (unsigned)(n / 2);
	return 0;
}

void ctl_naa_format(const uint8_t *naa, unsigned naa_len, char *out, size_t out_len)
{
	size_t o = 0;
	unsigned i;

	if (!out_len)
		return;
	for (i = 0; i < naa_len && o + 2 < out_len; i++, o += 2)
		snprintf(out + o, 3, "%02x", naa[i]);
	out[o] = '\0';
}

int ctl_lu_set_backstore(struct lu_config *cfg, const char *type, char *err, size_t err_len)
{
	if (strcmp(type, "file") && strcmp(type, "ram") && strcmp(type, "null") &&
	    strcmp(type, "user") && strcmp(type, "rbd")) {
		char safe[32];
		size_t i;

		for (i = 0; i + 1 < sizeof(safe) && type[i]; i++)
			safe[i] = isprint((unsigned char)type[i]) ? type[i] : '?';
		safe[i] = '\0';
		ERRF("backstore: unknown type '%s' (expected file, ram, null, user or rbd)", safe);
		return -EINVAL;
	}
	snprintf(cfg->backstore, sizeof(cfg->backstore), "%s", type);
	return 0;
}

int ctl_lu_set_path(struct lu_config *cfg, const char *path, char *err, size_t err_len)
{
	size_t i, n = strlen(path);

	if (!n) {
		ERRF("path: empty");
		return -EINVAL;
	}
	if (n >= sizeof(cfg->path)) {
		ERRF("path: longer than %zu bytes", sizeof(cfg->path) - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
			ERRF("path: contains a control character");
			return -EINVAL;
		}
	}
	memcpy(cfg->path, path, n + 1);
	return 0;
}

/* VPD 0x80 PRODUCT SERIAL NUMBER is ASCII (SPC-4 7.8.14); we take the printable, non-space
 * subset so the value survives the command line, JSON and INQUIRY alike. */
int ctl_lu_set_serial(struct lu_config *cfg, const char *serial, char *err, size_t err_len)
{
	size_t i, n = strlen(serial);

	if (!n || n > INVAR_SERIAL_MAX) {
		ERRF("serial: must be 1 to %d characters", INVAR_SERIAL_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)serial[i] <= 0x20 || (unsigned char)serial[i] >= 0x7f) {
			ERRF("serial: only printable ASCII without spaces is allowed");
			return -EINVAL;
		}
	}
	memcpy(cfg->serial, serial, n + 1);
	return 0;
}

int ctl_lu_set_block_size(struct lu_config *cfg, uint64_t bs, char *err, size_t err_len)
{
	if (bs != 512 && bs != 4096) {
		ERRF("block_size: must be 512 or 4096, not %llu", (unsigned long long)bs);
		return -EINVAL;
	}
	cfg->block_size = (uint32_t)bs;
	return 0;
}

int ctl_lu_set_profile(struct lu_config *cfg, const char *profile, char *err, size_t err_len)
{
	size_t i, n = strlen(profile);

	if (!n || n >= sizeof(cfg->profile)) {
		ERRF("profile: must be 1 to %zu characters", sizeof(cfg->profile) - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char c = profile[i];

		if (!isalnum((unsigned char)c) && c != '-' && c != '.' && c != '_') {
			ERRF("profile: only letters, digits, '-', '.' and '_' are allowed");
			return -EINVAL;
		}
	}
	memcpy(cfg->profile, profile, n + 1);
	return 0;
}

int ctl_lu_set_flag(bool *flag, const char *name, const char *val, char *err, size_t err_len)
{
	if (!strcmp(val, "1") || !strcmp(val, "yes") || !strcmp(val, "true")) {
		*flag = true;
		return 0;
	}
	if (!strcmp(val, "0") || !strcmp(val, "no") || !strcmp(val, "false")) {
		*flag = false;
		return 0;
	}
	ERRF("%s: expected 1 or 0", name);
	return -EINVAL;
}

int ctl_lu_config_check(const struct lu_config *cfg, char *err, size_t err_len)
{
	uint32_t bs = cfg->block_size ? cfg->block_size : 512;
	bool is_file = !strcmp(cfg->backstore, "file");
	/* user: path holds the handler NAME (user:NAME). */
	bool is_user = !strcmp(cfg->backstore, "user");
	/* rbd: path holds POOL/IMAGE[,options] (backstore/rbd/rbd_spec.h); the size is the
	 * image's. */
	bool is_rbd = !strcmp(cfg->backstore, "rbd");

	if (strcmp(cfg->backstore, "file") && strcmp(cfg->backstore, "ram") &&
	    strcmp(cfg->backstore, "null") && !is_user && !is_rbd) {
		ERRF("backstore: missing or unknown (expected file, ram, null, user or rbd)");
		return -EINVAL;
	}
	if (is_rbd) {
		struct rbd_spec rs;

		if (!cfg->path[0]) {
			ERRF("path: the rbd backstore needs POOL/IMAGE");
			return -EINVAL;
		}
		/* A size here (the saved config records the LU's) is ignored: the image's wins.
		 * lunspec_parse refuses one given by hand. */
		if (rbd_spec_parse(cfg->path, &rs, err, err_len) < 0)
			return -EINVAL;
	}
	if (is_file && !cfg->path[0]) {
		ERRF("path: required for the file backstore");
		return -EINVAL;
	}
	if (is_user && !cfg->path[0]) {
		ERRF("path: the user backstore needs the handler NAME");
		return -EINVAL;
	}
	if (!is_file && !is_user && !is_rbd && cfg->path[0]) {
		ERRF("path: only the file backstore takes a path");
		return -EINVAL;
	}
	if (!is_file && !is_rbd && !cfg->size) {
		ERRF("size: required (and not 0) for the %s backstore", cfg->backstore);
		return -EINVAL;
	}
	if (cfg->block_size && cfg->block_size != 512 && cfg->block_size != 4096) {
		ERRF("block_size: must be 512 or 4096");
		return -EINVAL;
	}
	if (cfg->size > (uint64_t)INT64_MAX) {
		ERRF("size: too large");
		return -EINVAL;
	}
	if (cfg->size % bs) {
		ERRF("size: %llu is not a multiple of the block size %u",
		     (unsigned long long)cfg->size, bs);
		return -EINVAL;
	}
	if (cfg->naa_len && cfg->naa_len != 8 && cfg->naa_len != 16) {
		ERRF("naa: must be 8 or 16 bytes");
		return -EINVAL;
	}
	return 0;
}

static int lunspec_option(struct lu_config *cfg, const char *key, const char *val, bool *size_set,
			  char *err, size_t err_len)
{
	uint64_t v;
	int ret;

	if (!strcmp(key, "size")) {
		if (*size_set) {
			ERRF("size: given twice");
			return -EINVAL;
		}
		ret = ctl_size_parse(val, &cfg->size);
		if (ret < 0) {
			ERRF("size: '%s' is not a size (examples: 512, 64M, 1G, 1GiB, 10T)", val);
			return -EINVAL;
		}
		if (!cfg->size) {
			ERRF("size: must not be 0");
			return -EINVAL;
		}
		*size_set = true;
		return 0;
	}
	if (rbd_spec_is_option(key)) {
		size_t n = strlen(cfg->path);
		int w;

		if (strcmp(cfg->backstore, "rbd")) {
			ERRF("%s: only the rbd backstore takes it", key);
			return -EINVAL;
		}
		/* Carried in the path (POOL/IMAGE,key=value...), checked by rbd_spec_parse. */
		w = snprintf(cfg->path + n, sizeof(cfg->path) - n, ",%s=%s", key, val);
		if (w < 0 || (size_t)w >= sizeof(cfg->path) - n) {
			ERRF("%s: too long", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "serial"))
		return ctl_lu_set_serial(cfg, val, err, err_len);
	if (!strcmp(key, "naa"))
		return ctl_naa_parse(val, cfg->naa, &cfg->naa_len, err, err_len);
	if (!strcmp(key, "profile"))
		return ctl_lu_set_profile(cfg, val, err, err_len);
	if (!strcmp(key, "block_size")) {
		char *end;

		errno = 0;
		v = strtoull(val, &end, 10);
		if (!isdigit((unsigned char)*val) || *end || errno) {
			ERRF("block_size: '%s' is not a number (512 or 4096)", val);
			return -EINVAL;
		}
		return ctl_lu_set_block_size(cfg, v, err, err_len);
	}
	if (!strcmp(key, "readonly"))
		return ctl_lu_set_flag(&cfg->readonly, "readonly", val, err, err_len);
	if (!strcmp(key, "removable"))
		return ctl_lu_set_flag(&cfg->removable, "removable", val, err, err_len);
	ERRF("unknown option '%s' (expected size, serial, naa, block_size, profile, readonly or "
	     "removable)", key);
	return -EINVAL;
}

int lunspec_parse(const char *spec, struct lu_config *cfg, char *err, size_t err_len)
{
	char *buf, *arg, *opts, *tok, *save = NULL;
	static const char *const once[] = { "serial", "naa", "block_size", "profile", "readonly",
					    "removable" };
	bool size_set = false, seen[sizeof(once) / sizeof(once[0])] = { false };
	int ret = -EINVAL;
	unsigned i;

	memset(cfg, 0, sizeof(*cfg));
	buf = strdup(spec);
	if (!buf) {
		ERRF("out of memory");
		return -ENOMEM;
	}
	opts = strchr(buf, ',');
	if (opts)
		*opts++ = '\0';
	arg = strchr(buf, ':');
	if (!arg) {
		ERRF("expected ram:SIZE, null:SIZE, file:PATH[,size=SIZE], user:NAME,size=SIZE or "
		     "rbd:POOL/IMAGE");
		goto out;
	}
	*arg++ = '\0';
	if (ctl_lu_set_backstore(cfg, buf, err, err_len) < 0)
		goto out;
	if (!strcmp(buf, "file") || !strcmp(buf, "user") || !strcmp(buf, "rbd")) {
		if (ctl_lu_set_path(cfg, arg, err, err_len) < 0)
			goto out;
	} else if (lunspec_option(cfg, "size", arg, &size_set, err, err_len) < 0) {
		goto out;
	}
	for (tok = opts ? strtok_r(opts, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val) {
			ERRF("option '%s': expected key=value", tok);
			goto out;
		}
		*val++ = '\0';
		for (i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
			if (!strcmp(tok, once[i])) {
				if (seen[i]) {
					ERRF("%s: given twice", tok);
					goto out;
				}
				seen[i] = true;
			}
		}
		if (lunspec_option(cfg, tok, val, &size_set, err, err_len) < 0)
			goto out;
	}
	if (size_set && !strcmp(cfg->backstore, "rbd")) {
		ERRF("size: the rbd backstore takes its size from the image");
		goto out;
	}
	ret = ctl_lu_config_check(cfg, err, err_len);
	if (ret == 0 && !strcmp(cfg->backstore, "rbd")) {
		/* One canonical order, so the saved config and `lun list` read the same. */
		struct rbd_spec rs;

		if (rbd_spec_parse(cfg->path, &rs, err, err_len) < 0 ||
		    rbd_spec_format(&rs, cfg->path, sizeof(cfg->path)) < 0) {
			ERRF("path: too long");
			ret = -EINVAL;
		}
	}
out:
	free(buf);
	return ret;
}

int ctl_portal_normalize(const char *in, char *out, size_t out_len, char *err, size_t err_len)
{
	char host[INET6_ADDRSTRLEN + 8];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *port_s = NULL, *close;
	unsigned long port = INVAR_DEFAULT_PORT;
	bool v6 = false;
	size_t n;
	int w;

	if (in[0] == '[') {
		close = strchr(in, ']');
		if (!close) {
			ERRF("address '%s': missing ']'", in);
			return -EINVAL;
		}
		n = (size_t)(close - in - 1);
		if (n >= sizeof(host)) {
			ERRF("address '%s': too long", in);
			return -EINVAL;
		}
		memcpy(host, in + 1, n);
		host[n] = '\0';
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1]) {
			ERRF("address '%s': expected [ADDR]:PORT", in);
			return -EINVAL;
		}
		v6 = true;
	} else {
		const char *colon = strrchr(in, ':');

		if (colon && strchr(in, ':') != colon) {
			ERRF("address '%s': write IPv6 addresses as [ADDR]:PORT", in);
			return -EINVAL;
		}
		n = colon ? (size_t)(colon - in) : strlen(in);
		if (n >= sizeof(host)) {
			ERRF("address '%s': too long", in);
			return -EINVAL;
		}
		memcpy(host, in, n);
		host[n] = '\0';
		if (colon)
			port_s = colon + 1;
	}
	if (port_s) {
		char *end;

		errno = 0;
		port = strtoul(port_s, &end, 10);
		if (!isdigit((unsigned char)*port_s) || *end || errno || port == 0 || port > 65535) {
			ERRF("address '%s': port must be 1 to 65535", in);
			return -EINVAL;
		}
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1) {
		ERRF("address '%s': '%s' is not a numeric IP%s address", in, host, v6 ? "v6" : "v4");
		return -EINVAL;
	}
	/* Canonical text so "[0::1]:3260" and "[::1]:3260" name the same portal. */
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr, host, sizeof(host))) {
		ERRF("address '%s': cannot format", in);
		return -EINVAL;
	}
	w = v6 ? snprintf(out, out_len, "[%s]:%lu", host, port)
	       : snprintf(out, out_len, "%s:%lu", host, port);
	if (w < 0 || (size_t)w >= out_len) {
		ERRF("address '%s': too long", in);
		return -EINVAL;
	}
	return 0;
}
