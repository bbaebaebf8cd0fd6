/* iscsi-lat: a libiscsi client that keeps QD random 4 KiB (or -b) reads or writes in flight on
 * one LUN for a given time and prints the IOPS and the latency distribution (p50, p90, p99,
 * p99.9, max), which neither iscsi-perf nor qemu-img bench reports. Used by bench/run.sh.
 *
 *   iscsi-lat [-q QD] [-b BYTES] [-t SECONDS] [-W WARMUP] [-w] [-f] [-c MS] iscsi://HOST:PORT/IQN/LUN
 *
 * -f: writes with FUA (durable before GOOD: the file backstore's RWF_DSYNC path).
 *
 * -c MS: also send one COMPARE AND WRITE (one block) every MS milliseconds, on a second session
 * (so possibly another worker of the target), at the LU's last logical block, which the random
 * I/O never touches: the mix a VMware ATS heartbeat puts on a datastore. Each CAW compares with
 * what the previous one wrote; its outcomes are appended to the output line (" caw_good N
 * caw_other N caw_max_us M"). A CAW that is not GOOD is counted and printed, not fatal.
 *
 * Latency is measured per command from the call that queues it to its completion callback
 * (CLOCK_MONOTONIC), so it includes the client's own queueing; only I/Os submitted after the
 * warm-up count. Output, one line: "ios N secs S iops I p50_us A p90_us B p99_us C p999_us D
 * max_us E". Exit status: 0, or 1 on any I/O error (the error is printed). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/* Latencies are kept in a log-linear histogram: 1 µs buckets below 1 ms, then 16 per octave. */
#define LIN_US 1024
#define OCTAVES 24
#define SUB 16
#define NBUCKETS (LIN_US + OCTAVES * SUB)

struct lat {
	struct iscsi_context *iscsi;
	int lun;
	uint32_t block_size;
	uint64_t nblocks;
	uint32_t xfer;			/* bytes per I/O */
	int write, fua;
	unsigned char *wbuf;
	uint64_t t_start, t_count, t_end;	/* ns: warm-up ends at t_count, stop at t_end */
	uint64_t ios, max_ns;
	uint64_t hist[NBUCKETS];
	unsigned inflight;
	int failed;
	uint64_t rng;
	/* -c: the COMPARE AND WRITE session. */
	struct iscsi_context *caw;
	uint64_t caw_every_ns, caw_next, caw_lba, caw_t0, caw_max_ns;
	unsigned char *caw_buf;		/* compare data, then write data */
	uint8_t caw_cur;		/* the byte the CAW block holds now */
	int caw_busy;			/* a CAW is in flight */
	uint64_t caw_good, caw_other;
};

struct req {
	struct lat *l;
	uint64_t t0;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(struct lat *l)
{
	/* xorshift64*: uniform enough for picking LBAs */
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return l->rng * 2685821657736338717ull;
}

static unsigned bucket_of(uint64_t us)
{
	unsigned oct = 0;
	uint64_t v;

	if (us < LIN_US)
		return (unsigned)us;
	v = us / LIN_US;
	while (v >= 2 && oct < OCTAVES - 1) {
		v >>= 1;
		oct++;
	}
	/* us is in [LIN_US << oct, LIN_US << (oct + 1)): SUB equal slices of that. */
	v = (us - ((uint64_t)LIN_US << oct)) / (((uint64_t)LIN_US << oct) / SUB);
	if (v >= SUB)
		v = SUB - 1;
	return LIN_US + oct * SUB + (unsigned)v;
}

/* Upper edge of a bucket, in µs. */
static double bucket_us(unsigned b)
{
	unsigned oct, sub;

	if (b < LIN_US)
		return b + 1;
	oct = (b - LIN_US) / SUB;
	sub = (b - LIN_US) % SUB;
	return (double)((uint64_t)LIN_US << oct) * (1.0 + (sub + 1.0) / SUB);
}

static double percentile(const struct lat *l, double p)
{
	uint64_t want = (uint64_t)(p * (double)l->ios), seen = 0;
	unsigned b;

	if (want >= l->ios)
		want = l->ios - 1;
	for (b = 0; b < NBUCKETS; b++) {
		seen += l->hist[b];
		if (seen > want)
			return bucket_us(b);
	}
	return bucket_us(NBUCKETS - 1);
}

static int submit(struct lat *l);

static void done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct req *r = private_data;
	struct lat *l = r->l;
	struct scsi_task *task = command_data;
	uint64_t t = now_ns();

	l->inflight--;
	if (status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "iscsi-lat: %s failed: %s\n", l->write ? "WRITE16" : "READ16",
			iscsi_get_error(iscsi));
		l->failed = 1;
	} else if (r->t0 >= l->t_count && t <= l->t_end) {
		uint64_t ns = t - r->t0;

		l->ios++;
		l->hist[bucket_of(ns / 1000)]++;
		if (ns > l->max_ns)
			l->max_ns = ns;
	}
	scsi_free_scsi_task(task);
	free(r);
	if (!l->failed && t < l->t_end)
		submit(l);
}

static int submit(struct lat *l)
{
	uint32_t blocks = l->xfer / l->block_size;
	uint64_t lba = (rnd(l) % (l->nblocks / blocks)) * blocks;
	struct req *r = malloc(sizeof(*r));
	struct scsi_task *task;

	if (!r)
		return -1;
	r->l = l;
	r->t0 = now_ns();
	if (l->write)
		task = iscsi_write16_task(l->iscsi, l->lun, lba, l->wbuf, l->xfer, l->block_size,
					  0, 0, l->fua, 0, 0, done, r);
	else
		task = iscsi_read16_task(l->iscsi, l->lun, lba, l->xfer, l->block_size, 0, 0, 0,
					 0, 0, done, r);
	if (!task) {
		fprintf(stderr, "iscsi-lat: cannot queue: %s\n", iscsi_get_error(l->iscsi));
		free(r);
		l->failed = 1;
		return -1;
	}
	l->inflight++;
	return 0;
}

static void caw_done(struct iscsi_context *iscsi, int status, void *command_data,
		     void *private_data)
{
	struct lat *l = private_data;
	uint64_t ns = now_ns() - l->caw_t0;

	l->caw_busy = 0;
	if (status == SCSI_STATUS_GOOD) {
		l->caw_good++;
		l->caw_cur++;
	} else {
		l->caw_other++;
		fprintf(stderr, "iscsi-lat: COMPARE AND WRITE status 0x%02x: %s\n", status,
			iscsi_get_error(iscsi));
	}
	if (ns > l->caw_max_ns)
		l->caw_max_ns = ns;
	scsi_free_scsi_task(command_data);
}

/* One COMPARE AND WRITE of the CAW block: caw_cur everywhere becomes caw_cur + 1. */
static int caw_submit(struct lat *l)
{
	memset(l->caw_buf, l->caw_cur, l->block_size);
	memset(l->caw_buf + l->block_size, (uint8_t)(l->caw_cur + 1), l->block_size);
	l->caw_t0 = now_ns();
	if (!iscsi_compareandwrite_task(l->caw, l->lun, l->caw_lba, l->caw_buf,
					2 * l->block_size, (int)l->block_size, 0, 0, 0, 0, 0,
					caw_done, l)) {
		fprintf(stderr, "iscsi-lat: cannot queue CAW: %s\n", iscsi_get_error(l->caw));
		return -1;
	}
	l->caw_busy = 1;
	return 0;
}

/* The CAW session: logged in, the CAW block set to caw_cur. */
static int caw_open(struct lat *l, const struct iscsi_url *url)
{
	struct scsi_task *task;

	l->caw = iscsi_create_context("iqn.2026-11.org.invar:bench-lat-caw");
	if (!l->caw)
		return -1;
	iscsi_set_session_type(l->caw, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(l->caw, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_set_targetname(l->caw, url->target) != 0 ||
	    iscsi_full_connect_sync(l->caw, url->portal, url->lun) != 0) {
		fprintf(stderr, "iscsi-lat: CAW session login failed: %s\n",
			iscsi_get_error(l->caw));
		return -1;
	}
	l->caw_buf = calloc(2, l->block_size);
	if (!l->caw_buf)
		return -1;
	memset(l->caw_buf, l->caw_cur, l->block_size);
	task = iscsi_write16_sync(l->caw, l->lun, l->caw_lba, l->caw_buf, l->block_size,
				  (int)l->block_size, 0, 0, 0, 0, 0);
	if (!task || task->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "iscsi-lat: CAW block set-up failed: %s\n",
			iscsi_get_error(l->caw));
		return -1;
	}
	scsi_free_scsi_task(task);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: iscsi-lat [-q QD] [-b BYTES] [-t SECONDS] [-W WARMUP] [-w] [-f] "
			"[-c MS] iscsi://HOST:PORT/IQN/LUN\n");
}

int main(int argc, char **argv)
{
	static struct lat l;
	unsigned qd = 32, i;
	double secs = 10, warm = 1, el, caw_ms = 0;
	struct iscsi_url *url;
	struct scsi_task *task;
	struct scsi_readcapacity16 *rc16;
	int opt;

	l.xfer = 4096;
	while ((opt = getopt(argc, argv, "q:b:t:W:wfc:h")) != -1) {
		switch (opt) {
		case 'q': qd = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': l.xfer = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 'W': warm = strtod(optarg, NULL); break;
		case 'w': l.write = 1; break;
		case 'f': l.fua = 1; break;
		case 'c': caw_ms = strtod(optarg, NULL); break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 1 || !qd || qd > 1024 || secs <= 0 || warm < 0 || caw_ms < 0 || !l.xfer ||
	    l.xfer > (16u << 20)) {
		usage();
		return 2;
	}
	l.iscsi = iscsi_create_context("iqn.2026-11.org.invar:bench-lat");
	if (!l.iscsi) {
		fprintf(stderr, "iscsi-lat: no iscsi context\n");
		return 1;
	}
	url = iscsi_parse_full_url(l.iscsi, argv[optind]);
	if (!url) {
		fprintf(stderr, "iscsi-lat: bad URL: %s\n", iscsi_get_error(l.iscsi));
		return 2;
	}
	iscsi_set_session_type(l.iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(l.iscsi, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(l.iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "iscsi-lat: login failed: %s\n", iscsi_get_error(l.iscsi));
		return 1;
	}
	l.lun = url->lun;
	task = iscsi_readcapacity16_sync(l.iscsi, l.lun);
	if (!task || task->status != SCSI_STATUS_GOOD ||
	    !(rc16 = scsi_datain_unmarshall(task))) {
		fprintf(stderr, "iscsi-lat: READ CAPACITY(16) failed: %s\n",
			iscsi_get_error(l.iscsi));
		return 1;
	}
	l.block_size = rc16->block_length;
	l.nblocks = rc16->returned_lba + 1;
	scsi_free_scsi_task(task);
	if (!l.block_size || l.xfer % l.block_size || l.nblocks < l.xfer / l.block_size) {
		fprintf(stderr, "iscsi-lat: -b %u does not fit block size %u, %llu blocks\n",
			l.xfer, l.block_size, (unsigned long long)l.nblocks);
		return 2;
	}
	if (l.write) {
		l.wbuf = calloc(1, l.xfer);
		if (!l.wbuf)
			return 1;
	}
	if (caw_ms > 0) {
		/* The last block is the CAW's; the random I/O stays below the last whole xfer. */
		l.caw_lba = l.nblocks - 1;
		l.nblocks = l.caw_lba / (l.xfer / l.block_size) * (l.xfer / l.block_size);
		l.caw_every_ns = (uint64_t)(caw_ms * 1e6);
		if (!l.nblocks || caw_open(&l, url) < 0)
			return 1;
	}
	l.rng = (uint64_t)now_ns() | 1;
	l.t_start = now_ns();
	l.t_count = l.t_start + (uint64_t)(warm * 1e9);
	l.t_end = l.t_count + (uint64_t)(secs * 1e9);
	l.caw_next = l.t_start;
	for (i = 0; i < qd; i++)
		if (submit(&l) < 0)
			break;
	while (l.inflight || l.caw_busy) {
		struct pollfd pfd[2] = {
			{ .fd = iscsi_get_fd(l.iscsi), .events = iscsi_which_events(l.iscsi) },
			{ .fd = l.caw ? iscsi_get_fd(l.caw) : -1,
			  .events = l.caw ? iscsi_which_events(l.caw) : 0 },
		};
		uint64_t t = now_ns();
		int wait_ms = 1000;

		if (l.caw && !l.caw_busy && t < l.t_end) {
			if (t >= l.caw_next) {
				if (caw_submit(&l) < 0)
					return 1;
				l.caw_next += l.caw_every_ns;
				pfd[1].events = iscsi_which_events(l.caw);
			}
			wait_ms = (int)((l.caw_next > t ? l.caw_next - t : 0) / 1000000);
		}
		if (poll(pfd, 2, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			perror("iscsi-lat: poll");
			return 1;
		}
		if (iscsi_service(l.iscsi, pfd[0].revents) < 0) {
			fprintf(stderr, "iscsi-lat: %s\n", iscsi_get_error(l.iscsi));
			return 1;
		}
		if (l.caw && iscsi_service(l.caw, pfd[1].revents) < 0) {
			fprintf(stderr, "iscsi-lat: CAW session: %s\n", iscsi_get_error(l.caw));
			return 1;
		}
		if (now_ns() > l.t_end + 30000000000ull) {
			fprintf(stderr, "iscsi-lat: %u I/Os not completed 30 s after the end\n",
				l.inflight);
			return 1;
		}
	}
	iscsi_logout_sync(l.iscsi);
	if (l.caw) {
		iscsi_logout_sync(l.caw);
		iscsi_destroy_context(l.caw);
		free(l.caw_buf);
	}
	iscsi_destroy_url(url);
	iscsi_destroy_context(l.iscsi);
	free(l.wbuf);
	if (l.failed || !l.ios)
		return 1;
	el = secs;
	printf("ios %llu secs %.3f iops %.0f p50_us %.0f p90_us %.0f p99_us %.0f p999_us %.0f "
	       "max_us %.0f",
	       (unsigned long long)l.ios, el, (double)l.ios / el, percentile(&l, 0.50),
	       percentile(&l, 0.90), percentile(&l, 0.99), percentile(&l, 0.999),
	       (double)l.max_ns / 1000.0);
	if (l.caw)
		printf(" caw_good %llu caw_other %llu caw_max_us %.0f",
		       (unsigned long long)l.caw_good, (unsigned long long)l.caw_other,
		       (double)l.caw_max_ns / 1000.0);
	printf("\n");
	return 0;
}
