/* iscsi-cmd: send one raw SCSI command over iSCSI (libiscsi) and print what came back, for
 * integration tests that need a CDB no libiscsi tool sends.
 *
 *   iscsi-cmd [-H] [-i INITIATOR] [-n DATA_IN_LEN] URL CMD...
 *
 * -H offers only HeaderDigest=CRC32C (libiscsi offers None,CRC32C, which a target answers None).
 *
 * URL is iscsi://HOST:PORT/TARGET/LUN. Each CMD is CDB_HEX or CDB_HEX=DATA_OUT, sent in order
 * in ONE session (one I_T nexus, so state such as copy status or PREVENT survives between
 * them). Hex strings ignore spaces and colons; DATA_OUT "@FILE" reads the bytes from FILE.
 * With data-out the command is a write of that many bytes; else, with -n, a read expecting up
 * to DATA_IN_LEN. Output per command (a line "next" between commands), one item per line:
 *   status 0xSS
 *   sense  HEX        (CHECK CONDITION only)
 *   key    0xKK asc 0xAA ascq 0xQQ
 *   data   HEX        (data-in, when any)
 * A CMD "wait:PATH" sends nothing: it prints "waiting PATH" and waits (60 s at most) until PATH
 * exists, so a test can change the target between two commands of one session.
 * Exit status 0 when the command got any SCSI status, 2 on usage or transport errors. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define MAX_DATA (16u << 20)

static void usage(void)
{
	fprintf(stderr, "usage: iscsi-cmd [-H] [-i INITIATOR] [-n DATA_IN_LEN] URL "
			"CDB_HEX[=DATA_OUT_HEX|=@FILE]...\n");
	exit(2);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes hex into a malloc'd buffer; returns the length or -1. */
static long hex_decode(const char *s, unsigned char **out)
{
	size_t cap = strlen(s) / 2 + 1, n = 0;
	unsigned char *b = malloc(cap);
	int hi = -1;

	if (!b)
		return -1;
	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == ':' || *s == '\n' || *s == '\t')
			continue;
		v = hexval((unsigned char)*s);
		if (v < 0) {
			free(b);
			return -1;
		}
		if (hi < 0) {
			hi = v;
		} else {
			b[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		free(b);
		return -1;
	}
	*out = b;
	return (long)n;
}

static long file_read(const char *path, unsigned char **out)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	size_t n;

	if (!f)
		return -1;
	b = malloc(MAX_DATA);
	if (!b) {
		fclose(f);
		return -1;
	}
	n = fread(b, 1, MAX_DATA, f);
	fclose(f);
	*out = b;
	return (long)n;
}

static void print_hex(const char *label, const unsigned char *p, size_t n)
{
	printf("%-6s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

/* Sends one CMD argument; prints its result. Returns 0, or 2 on a usage or transport error. */
static int run_one(struct iscsi_context *iscsi, int lun, const char *arg, unsigned long din_len)
{
	unsigned char *cdb = NULL, *dout = NULL;
	long cdb_len, dout_len = 0;
	struct scsi_task *task;
	struct iscsi_data data;
	char *spec = strdup(arg), *eq;
	int dir, ret = 2;

	if (!spec)
		return 2;
	if (!strncmp(spec, "wait:", 5)) {
		printf("waiting %s\n", spec + 5);
		fflush(stdout);
		for (int i = 0; i < 600 && access(spec + 5, F_OK) != 0; i++)
			usleep(100000);
		ret = access(spec + 5, F_OK) == 0 ? 0 : 2;
		if (ret)
			fprintf(stderr, "iscsi-cmd: %s did not appear within 60 s\n", spec + 5);
		goto out;
	}
	eq = strchr(spec, '=');
	if (eq)
		*eq++ = '\0';
	cdb_len = hex_decode(spec, &cdb);
	if (cdb_len < 6 || cdb_len > 16) {
		fprintf(stderr, "iscsi-cmd: the CDB must be 6 to 16 bytes of hex: %s\n", spec);
		goto out;
	}
	if (eq) {
		dout_len = eq[0] == '@' ? file_read(eq + 1, &dout) : hex_decode(eq, &dout);
		if (dout_len < 0) {
			fprintf(stderr, "iscsi-cmd: bad data-out '%s'\n", eq);
			goto out;
		}
	}
	dir = dout_len ? SCSI_XFER_WRITE : din_len ? SCSI_XFER_READ : SCSI_XFER_NONE;
	task = scsi_create_task((int)cdb_len, cdb, dir,
				(int)(dout_len ? (unsigned long)dout_len : din_len));
	if (!task) {
		fprintf(stderr, "iscsi-cmd: out of memory\n");
		goto out;
	}
	data.data = dout;
	data.size = (size_t)dout_len;
	if (!iscsi_scsi_command_sync(iscsi, lun, task, dout_len ? &data : NULL)) {
		fprintf(stderr, "iscsi-cmd: command failed: %s\n", iscsi_get_error(iscsi));
		scsi_free_scsi_task(task);
		goto out;
	}
	printf("status 0x%02x\n", task->status);
	if (task->status == SCSI_STATUS_CHECK_CONDITION) {
		/* The response data segment: SENSE LENGTH (2 bytes), then the sense data. */
		if (task->datain.size > 2)
			print_hex("sense", task->datain.data + 2, (size_t)task->datain.size - 2);
		printf("key    0x%02x asc 0x%02x ascq 0x%02x\n", task->sense.key,
		       (task->sense.ascq >> 8) & 0xff, task->sense.ascq & 0xff);
	} else if (task->datain.size > 0) {
		print_hex("data", task->datain.data, (size_t)task->datain.size);
	}
	scsi_free_scsi_task(task);
	ret = 0;
out:
	free(spec);
	free(cdb);
	free(dout);
	return ret;
}

int main(int argc, char **argv)
{
	const char *initiator = "iqn.2026-11.org.invar:iscsi-cmd";
	unsigned long din_len = 0;
	enum iscsi_header_digest hdigest = ISCSI_HEADER_DIGEST_NONE_CRC32C;
	struct iscsi_context *iscsi;
	struct iscsi_url *url;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "Hi:n:")) != -1) {
		switch (opt) {
		case 'H': hdigest = ISCSI_HEADER_DIGEST_CRC32C; break;
		case 'i': initiator = optarg; break;
		case 'n': din_len = strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (argc - optind < 2 || din_len > MAX_DATA)
		usage();
	iscsi = iscsi_create_context(initiator);
	if (!iscsi) {
		fprintf(stderr, "iscsi-cmd: cannot create an iSCSI context\n");
		return 2;
	}
	url = iscsi_parse_full_url(iscsi, argv[optind]);
	if (!url) {
		fprintf(stderr, "iscsi-cmd: bad URL: %s\n", iscsi_get_error(iscsi));
		return 2;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, hdigest);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "iscsi-cmd: login failed: %s\n", iscsi_get_error(iscsi));
		return 2;
	}
	for (int i = optind + 1; i < argc && ret == 0; i++) {
		if (i > optind + 1)
			printf("next\n");
		ret = run_one(iscsi, url->lun, argv[i], din_len);
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return ret;
}
