/* vhost-hostile: a small vhost-user front-end that speaks the protocol badly, for
 * tests/integration/t_151_vhost_hostile.sh. Messages are built with the product's codec
 * constants (src/fabric/vhost/vu_msg.h); guest memory is a memfd of our own.
 *
 *   vhost-hostile SOCKET messages   each malformed message on a fresh connection: the back-end
 *                                   must close it (EOF) and stay up
 *   vhost-hostile SOCKET rings      a sound connection; guest-side attacks on request queues
 *                                   3.., each must break that queue (its err eventfd fires),
 *                                   and queue 2 must still answer INQUIRY afterwards
 *   vhost-hostile SOCKET inquiry    one INQUIRY on LUN 0; prints the vendor and product
 *   vhost-hostile SOCKET luns DIR   stays connected: prints REPORT LUNS' count, creates
 *                                   DIR/ready, waits for DIR/go, then prints the sense of a
 *                                   TEST UNIT READY and REPORT LUNS' count again
 * Prints one "ok: ..." line per case; exit 0 when every case went as expected, 1 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fabric/vhost/vu_le.h"
#include "fabric/vhost/vu_msg.h"

static const char *sock_path;
static int failures;

#define RAM_SIZE (1u << 20)
#define GPA_BASE 0x40000000ull
#define UVA_BASE 0x7f0000000000ull
#define QSZ 8
/* Per queue q: descriptors at q*0x1000, avail at +0x400, used at +0x800; buffers from 0x40000. */
#define RING(q) ((uint64_t)(q) * 0x1000)
#define BUF 0x40000

static uint8_t *ram;
static int ram_fd = -1;

static int vconnect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(2);
	}
	return fd;
}

static void vsend(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char b[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		perror("sendmsg");
}

static size_t msg(uint8_t *b, uint32_t req, uint32_t flags, uint32_t size)
{
	vu_put32(b, req);
	vu_put32(b + 4, flags);
	vu_put32(b + 8, size);
	return VU_HDR_SIZE + size;
}

static void send_u64(int fd, uint32_t req, uint64_t v, const int *fds, unsigned nfds)
{
	uint8_t b[20];

	msg(b, req, 1, 8);
	vu_put64(b + 12, v);
	vsend(fd, b, 20, fds, nfds);
}

static void send_state(int fd, uint32_t req, uint32_t idx, uint32_t num)
{
	uint8_t b[20];

	msg(b, req, 1, 8);
	vu_put32(b + 12, idx);
	vu_put32(b + 16, num);
	vsend(fd, b, 20, NULL, 0);
}

/* Reads a reply (blocking, 2 s); returns its payload u64, or -1 on EOF/timeout. */
static int64_t read_reply(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint8_t b[20];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			return -1;
		r = read(fd, b + got, sizeof(b) - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return (int64_t)vu_get64(b + 12);
}

/* The back-end closed the connection within 3 s. */
static bool closed_by_peer(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	while (poll(&p, 1, 3000) > 0) {
		ssize_t r = read(fd, &c, 1);

		if (r <= 0)
			return true;
	}
	return false;
}

static void expect(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAILED", what);
	if (!ok)
		failures++;
}

static void bad_message(const char *what, const uint8_t *b, size_t len, const int *fds,
			unsigned nfds)
{
	int fd = vconnect();

	vsend(fd, b, len, fds, nfds);
	expect(closed_by_peer(fd), what);
	close(fd);
}

static size_t mem_table(uint8_t *b, unsigned n, uint64_t size)
{
	size_t len = msg(b, VU_SET_MEM_TABLE, 1, 8 + 32 * n);

	vu_put32(b + 12, n);
	vu_put32(b + 16, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *q = b + 20 + 32 * i;

		vu_put64(q, GPA_BASE + i * size);
		vu_put64(q + 8, size);
		vu_put64(q + 16, UVA_BASE + i * size);
		vu_put64(q + 24, 0);
	}
	return len;
}

static void messages(void)
{
	uint8_t b[1024] = { 0 };
	int fds[12], pfd[2];
	size_t n;

	n = msg(b, VU_GET_FEATURES, 2, 0);
	bad_message("version 2 header", b, n, NULL, 0);
	n = msg(b, VU_SET_FEATURES, 1, 4);
	bad_message("SET_FEATURES with a 4-byte payload", b, n, NULL, 0);
	msg(b, VU_SET_FEATURES, 1, 0x100000);
	bad_message("a 1 MiB payload announced", b, VU_HDR_SIZE, NULL, 0);
	n = msg(b, 77, 1, 0);
	bad_message("unknown request 77", b, n, NULL, 0);
	for (int i = 0; i < 12; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	n = mem_table(b, 9, 4096);
	bad_message("SET_MEM_TABLE with 9 regions", b, n, fds, 8);
	n = mem_table(b, 1, 4096);
	bad_message("SET_MEM_TABLE without its fd", b, n, NULL, 0);
	bad_message("SET_MEM_TABLE whose fd is an eventfd", b, n, fds, 1);
	if (pipe(pfd) == 0) {
		bad_message("SET_MEM_TABLE whose fd is a pipe", b, n, pfd, 1);
		close(pfd[0]);
		close(pfd[1]);
	}
	n = mem_table(b, 1, 2ull * RAM_SIZE);
	bad_message("SET_MEM_TABLE region longer than its memfd", b, n, &ram_fd, 1);
	n = mem_table(b, 2, 4096);
	vu_put64(b + 20 + 32, GPA_BASE + 2048);	/* second region overlaps the first */
	bad_message("SET_MEM_TABLE with overlapping regions", b, n, (int[]){ ram_fd, ram_fd }, 2);
	n = msg(b, VU_SET_VRING_CALL, 1, 8);
	vu_put64(b + 12, 2);
	bad_message("SET_VRING_CALL with 12 fds", b, n, fds, 12);
	bad_message("SET_VRING_CALL with 2 fds", b, n, fds, 2);
	vu_put64(b + 12, 200);
	bad_message("SET_VRING_CALL for queue 200", b, n, fds, 1);
	n = msg(b, VU_SET_VRING_NUM, 1, 8);
	vu_put32(b + 12, 2);
	vu_put32(b + 16, 3);
	bad_message("SET_VRING_NUM 3 (not a power of 2)", b, n, NULL, 0);
	n = msg(b, VU_SET_FEATURES, 1, 8);
	vu_put64(b + 12, 1ull << 40);
	bad_message("SET_FEATURES with a bit never offered", b, n, NULL, 0);
	for (int i = 0; i < 12; i++)
		close(fds[i]);
}

/* ---- a sound session, then guest-side attacks ---- */

struct vq {
	int kick, call, err;
	uint16_t avail_idx, used_seen;
};

static struct vq vqs[16];

static uint64_t gpa(uint64_t off)
{
	return GPA_BASE + off;
}

static void desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + RING(q) + 16 * i;

	vu_put64(d, addr);
	vu_put32(d + 8, len);
	vu_put16(d + 12, flags);
	vu_put16(d + 14, next);
}

static void offer(unsigned q, uint16_t head)
{
	struct vq *v = &vqs[q];
	uint8_t *avail = ram + RING(q) + 0x400;
	uint64_t one = 1;

	vu_put16(avail + 4 + 2 * (v->avail_idx % QSZ), head);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	v->avail_idx++;
	vu_put16(avail + 2, v->avail_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (write(v->kick, &one, 8) < 0)
		perror("kick");
}

static bool fd_fires(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t v;

	if (poll(&p, 1, ms) <= 0)
		return false;
	return read(fd, &v, 8) == 8;
}

static void setup_queue_call(int fd, unsigned q, uint64_t ring_uva, int call)
{
	uint8_t b[64];
	size_t n;

	vqs[q].kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vqs[q].call = call >= 0 ? call : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vqs[q].err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	send_state(fd, VU_SET_VRING_NUM, q, QSZ);
	send_state(fd, VU_SET_VRING_BASE, q, 0);
	n = msg(b, VU_SET_VRING_ADDR, 1, 40);
	vu_put32(b + 12, q);
	vu_put32(b + 16, 0);
	vu_put64(b + 20, ring_uva);
	vu_put64(b + 28, ring_uva + 0x800);
	vu_put64(b + 36, ring_uva + 0x400);
	vu_put64(b + 44, 0);
	vsend(fd, b, n, NULL, 0);
	send_u64(fd, VU_SET_VRING_CALL, q, &vqs[q].call, 1);
	send_u64(fd, VU_SET_VRING_ERR, q, &vqs[q].err, 1);
	send_u64(fd, VU_SET_VRING_KICK, q, &vqs[q].kick, 1);
}

static void setup_queue_at(int fd, unsigned q, uint64_t ring_uva)
{
	setup_queue_call(fd, q, ring_uva, -1);
}

static void setup_queue(int fd, unsigned q)
{
	setup_queue_at(fd, q, UVA_BASE + RING(q));
}

static int session(void)
{
	uint8_t b[64];
	int fd = vconnect();
	int64_t f;

	msg(b, VU_GET_FEATURES, 1, 0);
	vsend(fd, b, VU_HDR_SIZE, NULL, 0);
	f = read_reply(fd);
	if (f < 0) {
		fprintf(stderr, "no GET_FEATURES reply\n");
		exit(1);
	}
	/* Without PROTOCOL_FEATURES a ring is enabled when it is kicked. */
	send_u64(fd, VU_SET_FEATURES, (uint64_t)f & ~(1ull << VU_F_PROTOCOL_FEATURES), NULL, 0);
	msg(b, VU_SET_OWNER, 1, 0);
	vsend(fd, b, VU_HDR_SIZE, NULL, 0);
	vsend(fd, b, mem_table(b, 1, RAM_SIZE), &ram_fd, 1);
	return fd;
}

/* One command on LUN 0 through queue q (three descriptors from the next free head): request,
 * response header, din bytes of data-in. Returns the response header (108 bytes), or NULL when
 * no answer came within 2 s; data-in at resp + 0x100. */
static uint8_t *command(unsigned q, const uint8_t *cdb, size_t cdb_len, uint32_t din)
{
	uint8_t *req = ram + BUF + q * 0x1000, *resp = req + 0x100;
	uint8_t *used = ram + RING(q) + 0x800;
	uint16_t head = (uint16_t)(vqs[q].avail_idx % QSZ);

	memset(req, 0, 0x300);
	req[0] = 1;		/* LUN 0 of target 0 */
	memcpy(req + 19, cdb, cdb_len);
	desc(q, head, gpa(BUF + q * 0x1000), 51, 1, (uint16_t)((head + 1) % QSZ));
	desc(q, (head + 1) % QSZ, gpa(BUF + q * 0x1000 + 0x100), 108, 3,
	     (uint16_t)((head + 2) % QSZ));
	desc(q, (head + 2) % QSZ, gpa(BUF + q * 0x1000 + 0x200), din, 2, 0);
	offer(q, head);
	for (int i = 0; i < 200; i++) {
		if (vu_get16(used + 2) != vqs[q].used_seen) {
			vqs[q].used_seen++;
			return resp;
		}
		usleep(10000);
	}
	return NULL;
}

/* INQUIRY on LUN 0 through queue q: the vendor and product. */
static bool inquiry(unsigned q, char *vendor)
{
	static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	uint8_t *resp = command(q, cdb, sizeof(cdb), 96);

	if (!resp || resp[10] != 0 || resp[11] != 0)
		return false;
	memcpy(vendor, resp + 0x100 + 8, 24);
	vendor[24] = '\0';
	return true;
}

static void rings(void)
{
	int fd = session();
	char vendor[32];
	unsigned q = 3;

	setup_queue(fd, 2);
	expect(inquiry(2, vendor), "INQUIRY answered on queue 2 before the attacks");
	{
		/* READ(10) of 8 blocks into 512 bytes: OVERRUN, no bounce buffer */
		static const uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 }, tur[6] = { 0 };
		uint8_t *resp;

		command(2, tur, sizeof(tur), 512);	/* takes the power-on unit attention */
		resp = command(2, rd, sizeof(rd), 512);

		expect(resp && resp[11] == 1, "a READ into a too small buffer is answered OVERRUN");
	}

	/* Each attack on its own queue: the queue breaks (err eventfd), nothing else does. */
	setup_queue(fd, q);
	desc(q, 0, gpa(BUF), 51, 1, 1);
	desc(q, 1, gpa(BUF), 51, 1, 0);
	offer(q, 0);
	expect(fd_fires(vqs[q].err, 3000), "a descriptor loop breaks its queue");
	q++;
	setup_queue(fd, q);
	desc(q, 0, GPA_BASE + RAM_SIZE - 16, 64, 0, 0);
	offer(q, 0);
	expect(fd_fires(vqs[q].err, 3000), "a buffer past the end of guest memory breaks its queue");
	q++;
	setup_queue(fd, q);
	desc(q, 0, 0x1000, 64, 0, 0);
	offer(q, 0);
	expect(fd_fires(vqs[q].err, 3000), "a buffer below guest memory breaks its queue");
	q++;
	setup_queue(fd, q);
	offer(q, 200);
	expect(fd_fires(vqs[q].err, 3000), "a head index past the queue breaks it");
	q++;
	setup_queue(fd, q);
	desc(q, 0, gpa(BUF + 0x6000), 32, 4, 0);	/* indirect table holding an indirect */
	desc(q, 0, gpa(BUF + 0x6000), 32, 4, 0);
	vu_put64(ram + BUF + 0x6000, gpa(BUF + 0x6000));
	vu_put32(ram + BUF + 0x6000 + 8, 32);
	vu_put16(ram + BUF + 0x6000 + 12, 4);
	offer(q, 0);
	expect(fd_fires(vqs[q].err, 3000), "a nested indirect table breaks its queue");
	q++;
	setup_queue(fd, q);
	desc(q, 0, gpa(BUF), 10, 1, 1);			/* a 10-byte request header */
	desc(q, 1, gpa(BUF + 0x100), 108, 2, 0);
	offer(q, 0);
	expect(fd_fires(vqs[q].err, 3000), "a short request header breaks its queue");
	q++;
	setup_queue_at(fd, q, UVA_BASE + RAM_SIZE - 0x200);	/* rings run off guest memory */
	expect(fd_fires(vqs[q].err, 3000), "ring addresses outside guest memory are refused");
	q++;
	{
		/* A blocking call eventfd whose counter is full: signalling it would block the
		 * worker for good unless the back-end made it non-blocking. */
		int call = eventfd(0, EFD_CLOEXEC);
		uint64_t full = 0xfffffffffffffffeull;

		if (write(call, &full, 8) != 8)
			perror("eventfd");
		setup_queue_call(fd, q, UVA_BASE + RING(q), call);
		expect(inquiry(q, vendor), "a queue whose call eventfd is blocking and full is served");
	}

	expect(inquiry(2, vendor), "queue 2 still answers INQUIRY after the attacks");
	close(fd);
}

/* REPORT LUNS on LUN 0: the number of LUNs, or -1. */
static int report_luns(unsigned q)
{
	static const uint8_t cdb[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t *resp = command(q, cdb, sizeof(cdb), 256);

	if (!resp || resp[10] != 0 || resp[11] != 0)
		return -1;
	resp += 0x100;	/* LUN LIST LENGTH, big-endian (SPC-4 6.33) */
	return (int)(((uint32_t)resp[0] << 24 | resp[1] << 16 | resp[2] << 8 | resp[3]) / 8);
}

static int luns(const char *dir)
{
	static const uint8_t tur[6] = { 0 };
	char path[4200];
	uint8_t *resp;
	int fd = session();

	setup_queue(fd, 2);
	for (int i = 0; i < 8; i++) {		/* the pending unit attentions (power on, nexus loss) */
		resp = command(2, tur, sizeof(tur), 16);
		if (resp && resp[10] == 0)
			break;
	}
	printf("luns %d\n", report_luns(2));
	fflush(stdout);
	/* The event queue (1) with two 16-byte buffers: the LUN added next is announced there. */
	setup_queue(fd, 1);
	desc(1, 0, gpa(BUF + 0x8000), 16, 2, 0);
	desc(1, 1, gpa(BUF + 0x8100), 16, 2, 0);
	memset(ram + BUF + 0x8000, 0xee, 0x200);
	offer(1, 0);
	offer(1, 1);
	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/go", dir);
	for (int i = 0; i < 3000 && access(path, F_OK); i++)
		usleep(10000);
	resp = command(2, tur, sizeof(tur), 16);
	if (!resp)
		printf("tur no answer\n");
	else if ((resp[12] & 0x7f) == 0x72)	/* descriptor format */
		printf("tur status 0x%02x sense %02x/%02x/%02x\n", resp[10], resp[13] & 0xf,
		       resp[14], resp[15]);
	else
		printf("tur status 0x%02x sense %02x/%02x/%02x\n", resp[10], resp[14] & 0xf,
		       resp[24], resp[25]);
	printf("luns %d\n", report_luns(2));
	for (int i = 0; i < 200 && vu_get16(ram + RING(1) + 0x800 + 2) == 0; i++)
		usleep(10000);
	if (vu_get16(ram + RING(1) + 0x800 + 2) == 0) {
		printf("no event\n");
	} else {
		const uint8_t *ev = ram + BUF + 0x8000;

		/* event, LUN (virtio-scsi: 1, target, then the LUN), reason; the used length */
		printf("event %u lun %u/%u/%u reason %u len %u\n", vu_get32(ev), ev[4], ev[5],
		       (unsigned)(ev[6] << 8 | ev[7]), vu_get32(ev + 12),
		       vu_get32(ram + RING(1) + 0x800 + 4 + 4));
	}
	close(fd);
	return 0;
}

/* PERSISTENT RESERVE OUT on LUN 0 through queue q with 24 bytes of parameter data: the
 * response header, or NULL. */
static uint8_t *prout(unsigned q, uint8_t sa, uint8_t type, uint64_t key, uint64_t sark)
{
	uint8_t *req = ram + BUF + q * 0x1000, *used = ram + RING(q) + 0x800;
	uint16_t head = (uint16_t)(vqs[q].avail_idx % QSZ);

	memset(req, 0, 0x300);
	req[0] = 1;
	req[19] = 0x5f;
	req[20] = sa;
	req[21] = type;
	req[27] = 24;
	for (int i = 0; i < 8; i++) {
		req[0x200 + i] = (uint8_t)(key >> (56 - 8 * i));
		req[0x208 + i] = (uint8_t)(sark >> (56 - 8 * i));
	}
	desc(q, head, gpa(BUF + q * 0x1000), 51, 1, (uint16_t)((head + 1) % QSZ));
	desc(q, (head + 1) % QSZ, gpa(BUF + q * 0x1000 + 0x200), 24, 1,
	     (uint16_t)((head + 2) % QSZ));
	desc(q, (head + 2) % QSZ, gpa(BUF + q * 0x1000 + 0x100), 108, 2, 0);
	offer(q, head);
	for (int i = 0; i < 200; i++) {
		if (vu_get16(used + 2) != vqs[q].used_seen) {
			vqs[q].used_seen++;
			return req + 0x100;
		}
		usleep(10000);
	}
	return NULL;
}

/* PREEMPT AND ABORT reaching a task in flight (t_159): registers key 0xabc for this nexus,
 * says "ready", sends a READ(10) of 8 blocks on queue 3 once DIR/go exists (the test holds the
 * LU's handler meanwhile), says "sent", and prints the READ's virtio-scsi response code when it
 * comes (up to 60 s). */
static int abort_case(const char *dir)
{
	static const uint8_t tur[6] = { 0 }, rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
	uint8_t *resp, *used = ram + RING(3) + 0x800;
	char path[4200];
	int fd = session();

	setup_queue(fd, 2);
	setup_queue(fd, 3);
	for (int i = 0; i < 8; i++) {
		resp = command(2, tur, sizeof(tur), 16);
		if (resp && resp[10] == 0)
			break;
	}
	resp = prout(2, 0, 0, 0, 0xabc);
	printf("register status 0x%02x\n", resp ? resp[10] : 0xff);
	fflush(stdout);
	snprintf(path, sizeof(path), "%s/ready", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/go", dir);
	for (int i = 0; i < 3000 && access(path, F_OK); i++)
		usleep(10000);
	{
		uint8_t *req = ram + BUF + 3 * 0x1000;

		memset(req, 0, 0x300);
		req[0] = 1;
		memcpy(req + 19, rd, sizeof(rd));
		desc(3, 0, gpa(BUF + 3 * 0x1000), 51, 1, 1);
		desc(3, 1, gpa(BUF + 3 * 0x1000 + 0x100), 108, 3, 2);
		desc(3, 2, gpa(BUF + 0x10000), 4096, 2, 0);
		offer(3, 0);
	}
	snprintf(path, sizeof(path), "%s/sent", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	for (int i = 0; i < 6000 && vu_get16(used + 2) == 0; i++)
		usleep(10000);
	if (vu_get16(used + 2) == 0)
		printf("read no answer\n");
	else
		printf("read response %u status 0x%02x\n", ram[BUF + 3 * 0x1000 + 0x100 + 11],
		       ram[BUF + 3 * 0x1000 + 0x100 + 10]);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char vendor[32];

	if (argc == 4 && (!strcmp(argv[2], "luns") || !strcmp(argv[2], "abort"))) {
		sock_path = argv[1];
		ram_fd = memfd_create("vhost-hostile-ram", MFD_CLOEXEC);
		if (ram_fd < 0 || ftruncate(ram_fd, RAM_SIZE) < 0)
			return 2;
		ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
		if (ram == MAP_FAILED)
			return 2;
		return !strcmp(argv[2], "luns") ? luns(argv[3]) : abort_case(argv[3]);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: vhost-hostile SOCKET messages|rings|inquiry | SOCKET luns|abort DIR\n");
		return 2;
	}
	sock_path = argv[1];
	ram_fd = memfd_create("vhost-hostile-ram", MFD_CLOEXEC);
	if (ram_fd < 0 || ftruncate(ram_fd, RAM_SIZE) < 0) {
		perror("memfd");
		return 2;
	}
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
	if (ram == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (!strcmp(argv[2], "messages")) {
		messages();
	} else if (!strcmp(argv[2], "rings")) {
		rings();
	} else if (!strcmp(argv[2], "inquiry")) {
		int fd = session();

		setup_queue(fd, 2);
		if (!inquiry(2, vendor)) {
			fprintf(stderr, "no INQUIRY answer\n");
			return 1;
		}
		printf("%s\n", vendor);
		close(fd);
	} else {
		return 2;
	}
	return failures ? 1 : 0;
}
