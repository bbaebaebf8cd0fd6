/* iscsi-verify: patterned writes read back, in a loop, over one session (libiscsi), for tests
 * that change the target under I/O (t_133: a LU resized while this runs).
 *
 *   iscsi-verify [-i INITIATOR] [-b BLOCK_SIZE] URL SECONDS FIRST_LBA NBLOCKS
 *
 * Until SECONDS pass: pick a random 4 KiB-aligned extent of 8 blocks in [FIRST_LBA,
 * FIRST_LBA + NBLOCKS), WRITE(16) a pattern naming the LBA and a generation, READ(16) it back
 * and compare. A command answered with a UNIT ATTENTION is sent again (the condition is
 * reported once); any other failure or a mismatch is an error. Prints one line at the end:
 *   ios N uas N errors N  (and a line "error ..." per error, at most 10)
 * Exit status 0 when it ran (the test reads the counts), 2 on usage or login errors. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define EXTENT_BLOCKS 8u

static unsigned long uas, errors;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void error(const char *what, uint64_t lba, const char *detail)
{
	if (++errors <= 10)
		printf("error %s lba %llu: %s\n", what, (unsigned long long)lba, detail);
}

/* One command, again after each UNIT ATTENTION (at most 8). The task, or NULL on a transport
 * error (reported). */
static struct scsi_task *run(struct iscsi_context *iscsi, int lun, bool write, uint64_t lba,
			     unsigned char *buf, uint32_t len, uint32_t bsz)
{
	struct scsi_task *t = NULL;

	for (int tries = 0; tries < 8; tries++) {
		if (t)
			scsi_free_scsi_task(t);
		t = write ? iscsi_write16_sync(iscsi, lun, lba, buf, len, (int)bsz, 0, 0, 0, 0, 0)
			  : iscsi_read16_sync(iscsi, lun, lba, len, bsz, 0, 0, 0, 0, 0);
		if (!t) {
			error(write ? "write" : "read", lba, iscsi_get_error(iscsi));
			return NULL;
		}
		if (t->status == SCSI_STATUS_CHECK_CONDITION &&
		    t->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
			uas++;
			continue;
		}
		break;
	}
	return t;
}

int main(int argc, char **argv)
{
	const char *initiator = "iqn.2026-11.org.invar:iscsi-verify";
	uint32_t bsz = 512, len;
	uint64_t first, nblocks, extents, gen = 0;
	unsigned long ios = 0;
	unsigned char *wbuf, *rbuf;
	struct iscsi_context *iscsi;
	struct iscsi_url *url;
	double until;
	int opt;

	while ((opt = getopt(argc, argv, "i:b:")) != -1) {
		switch (opt) {
		case 'i': initiator = optarg; break;
		case 'b': bsz = (uint32_t)strtoul(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (argc - optind != 4 || (bsz != 512 && bsz != 4096))
		goto usage;
	until = now_s() + strtod(argv[optind + 1], NULL);
	first = strtoull(argv[optind + 2], NULL, 0);
	nblocks = strtoull(argv[optind + 3], NULL, 0);
	extents = nblocks / EXTENT_BLOCKS;
	if (!extents)
		goto usage;
	len = EXTENT_BLOCKS * bsz;
	wbuf = malloc(len);
	rbuf = malloc(len);
	iscsi = iscsi_create_context(initiator);
	if (!wbuf || !rbuf || !iscsi) {
		fprintf(stderr, "iscsi-verify: out of memory\n");
		return 2;
	}
	url = iscsi_parse_full_url(iscsi, argv[optind]);
	if (!url) {
		fprintf(stderr, "iscsi-verify: bad URL: %s\n", iscsi_get_error(iscsi));
		return 2;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	/* A lost connection is an error here, not something to wait out reconnecting. */
	iscsi_set_noautoreconnect(iscsi, 1);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "iscsi-verify: login failed: %s\n", iscsi_get_error(iscsi));
		return 2;
	}
	srandom((unsigned)getpid());
	while (now_s() < until && errors < 10) {
		uint64_t lba = first + (uint64_t)random() % extents * EXTENT_BLOCKS;
		struct scsi_task *t;
		char why[64];

		gen++;
		for (uint32_t i = 0; i < len; i += 16) {
			memcpy(wbuf + i, &lba, 8);
			memcpy(wbuf + i + 8, &gen, 8);
		}
		t = run(iscsi, url->lun, true, lba, wbuf, len, bsz);
		if (!t)
			break;
		if (t->status != SCSI_STATUS_GOOD) {
			snprintf(why, sizeof(why), "status 0x%02x key 0x%x ascq 0x%04x", t->status,
				 t->sense.key, t->sense.ascq);
			error("write", lba, why);
			scsi_free_scsi_task(t);
			continue;
		}
		scsi_free_scsi_task(t);
		t = run(iscsi, url->lun, false, lba, rbuf, len, bsz);
		if (!t)
			break;
		if (t->status != SCSI_STATUS_GOOD || t->datain.size != (int)len) {
			snprintf(why, sizeof(why), "status 0x%02x key 0x%x ascq 0x%04x", t->status,
				 t->sense.key, t->sense.ascq);
			error("read", lba, why);
		} else if (memcmp(t->datain.data, wbuf, len)) {
			error("verify", lba, "data differs from what was written");
		}
		scsi_free_scsi_task(t);
		ios += 2;
	}
	printf("ios %lu uas %lu errors %lu\n", ios, uas, errors);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	free(wbuf);
	free(rbuf);
	return 0;

usage:
	fprintf(stderr, "usage: iscsi-verify [-i INITIATOR] [-b BLOCK_SIZE] URL SECONDS FIRST_LBA "
			"NBLOCKS\n");
	return 2;
}
