/* libinvar-handler: the handler side of the ring (include/invar/handler-ring.h). Attach and
 * negotiation over the handler socket, one thread per queue that turns commands into calls of
 * the user's ops, and completions back. The daemon is checked too: a mailbox or command that
 * points outside the shared memory is refused, never followed. */
#include "invar/handler.h"

/* The ABI test builds this file against the first released ring header. */
#ifdef INVAR_HANDLER_RING_HEADER
#include INVAR_HANDLER_RING_HEADER
#else
#include "invar/handler-ring.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#define API __attribute__((visibility("default")))
#define STR2(x) #x
#define STR(x) STR2(x)

/* Features this library implements whatever the user's ops (it emulates the optional ones). */
#ifdef INVAR_RING_F_ALL_V1_1 /* 1.1: do_cmd() never touches a data area after post_cpl() */
#define LIB_FEATURES INVAR_RING_F_ALL_V1_1
#else
#define LIB_FEATURES (INVAR_RING_F_FUA | INVAR_RING_F_UNMAP | INVAR_RING_F_WRITE_ZEROES)
#endif
#define MAX_FDS (1 + 2 * 126)
/* Polls of the command ring (each a pause, about 20 ns to 1 µs in all) before a queue thread
 * sleeps: see spin_for_cmd(). */
#define SPIN_POLLS 64

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

struct hq {
	struct invar_handler *h;
	unsigned idx;
	pthread_t thread;
	bool started;
	struct invar_ring_queue *rq;
	uint8_t *cmd_ring, *cpl_ring, *data;
	int cmd_efd, cpl_efd;
	uint32_t cmd_cons, cpl_prod;
	uint32_t cpl_cons_seen;	/* the daemon's cpl_cons as last read */
};

struct invar_handler {
	struct invar_handler_ops ops; /* the user's, copied; fields it lacks are NULL */
	void *ctx;
	int sock;
	uint8_t *shm;
	uint64_t shm_size;
	struct invar_ring_mailbox mb; /* the daemon's mailbox, checked, as read at attach */
	uint64_t features;
	int fds[MAX_FDS];
	unsigned nfds;
	struct hq *q;
	volatile sig_atomic_t stop;
	int stop_pipe[2];
};

static void seterr(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

API const char *invar_handler_version(void)
{
	return STR(INVAR_RING_VERSION_MAJOR) "." STR(INVAR_RING_VERSION_MINOR);
}

API uint64_t invar_handler_size(const struct invar_handler *h)
{
	return h->mb.lu_size;
}

API unsigned invar_handler_queues(const struct invar_handler *h)
{
	return h->mb.queue_count;
}

API uint64_t invar_handler_features(const struct invar_handler *h)
{
	return h->features;
}

static int full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receives the ATTACH answer and its fds. */
static int recv_attach(struct invar_handler *h, struct invar_handler_msg_attach *m, char *err,
		       size_t err_len)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(h->sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			if (k > MAX_FDS)
				k = MAX_FDS;
			memcpy(h->fds, CMSG_DATA(cm), k * sizeof(int));
			h->nfds = k;
		}
	}
	if (n != (ssize_t)sizeof(*m) || m->hdr.magic != INVAR_HANDLER_MSG_MAGIC ||
	    m->hdr.type != INVAR_HANDLER_MSG_ATTACH) {
		seterr(err, err_len, "daemon closed the connection or sent garbage");
		return -EPROTO;
	}
	m->reason[sizeof(m->reason) - 1] = '\0';
	if (m->status) {
		seterr(err, err_len, "daemon refused: %s", m->reason);
		return m->status < 0 ? m->status : -EPROTO;
	}
	if ((mh.msg_flags & MSG_CTRUNC) || h->nfds < 3 || m->nfds != h->nfds) {
		seterr(err, err_len, "daemon sent %u fds, announced %u", h->nfds, m->nfds);
		return -EPROTO;
	}
	return 0;
}

static bool in_range(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The daemon's mailbox, checked so that every queue lies inside the mapping. */
static int check_mailbox(struct invar_handler *h, char *err, size_t err_len)
{
	struct invar_ring_mailbox *mb = &h->mb;
	uint64_t qsize;

	memcpy(mb, h->shm, sizeof(*mb));
	if (mb->magic != INVAR_RING_MAGIC || mb->version_major != INVAR_RING_VERSION_MAJOR) {
		seterr(err, err_len, "ring version %u.%u, this library speaks %s",
		       mb->version_major, mb->version_minor, invar_handler_version());
		return -EPROTO;
	}
	if (mb->mailbox_size < sizeof(*mb) || mb->shm_size != h->shm_size ||
	    mb->queue_header_size < sizeof(struct invar_ring_queue) ||
	    mb->cmd_entry_size < sizeof(struct invar_ring_cmd) ||
	    mb->cpl_entry_size < sizeof(struct invar_ring_cpl) || !mb->queue_count ||
	    h->nfds != 1 + 2 * mb->queue_count || !mb->cmd_entries || !mb->cpl_entries ||
	    (mb->cmd_entries & (mb->cmd_entries - 1)) || (mb->cpl_entries & (mb->cpl_entries - 1))) {
		seterr(err, err_len, "inconsistent mailbox");
		return -EPROTO;
	}
	qsize = mb->queue_stride;
	if (!in_range(mb->queue_offset, qsize * mb->queue_count, h->shm_size) ||
	    qsize * mb->queue_count / mb->queue_count != qsize ||
	    !in_range(0, mb->queue_header_size, qsize) ||
	    !in_range(mb->cmd_ring_offset, (uint64_t)mb->cmd_entries * mb->cmd_entry_size, qsize) ||
	    !in_range(mb->cpl_ring_offset, (uint64_t)mb->cpl_entries * mb->cpl_entry_size, qsize) ||
	    !in_range(mb->data_offset, mb->data_size, qsize)) {
		seterr(err, err_len, "mailbox places queues outside the shared memory");
		return -EPROTO;
	}
	return 0;
}

/* "DIR/invar.sock" (the control socket) -> "DIR/handler.sock". */
static void socket_path(const char *in, char *out, size_t len)
{
	const char *slash = strrchr(in, '/');
	const char *base = slash ? slash + 1 : in;

	if (!strcmp(base, "invar.sock"))
		snprintf(out, len, "%.*shandler.sock", (int)(base - in), in);
	else
		snprintf(out, len, "%s", in);
}

static int connect_hello(struct invar_handler *h, const char *path, const char *name,
			 struct invar_handler_msg_attach *m, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct invar_handler_msg_hello hello;
	int ret;

	h->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->sock < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(h->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		seterr(err, err_len, "connect %s: %s", path, strerror(errno));
		goto fail;
	}
	memset(&hello, 0, sizeof(hello));
	hello.hdr.magic = INVAR_HANDLER_MSG_MAGIC;
	hello.hdr.type = INVAR_HANDLER_MSG_HELLO;
	hello.hdr.size = sizeof(hello);
	hello.version_major = INVAR_RING_VERSION_MAJOR;
	hello.version_minor = INVAR_RING_VERSION_MINOR;
	hello.features = LIB_FEATURES;
	snprintf(hello.name, sizeof(hello.name), "%s", name);
	ret = full_write(h->sock, &hello, sizeof(hello));
	if (ret < 0) {
		seterr(err, err_len, "send HELLO: %s", strerror(-ret));
		goto fail;
	}
	ret = recv_attach(h, m, err, err_len);
	if (ret == 0)
		return 0;
fail:
	close(h->sock);
	h->sock = -1;
	return ret;
}

API struct invar_handler *invar_handler_attach(const char *sock_path, const char *name,
					       const struct invar_handler_ops *ops, void *ctx,
					       char *err, size_t err_len)
{
	struct invar_handler_msg_attach m;
	struct invar_handler_msg_ready ready;
	struct invar_ring_mailbox *shared;
	struct invar_handler *h;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned i, tries;
	int ret;

	if (!ops || ops->size < offsetof(struct invar_handler_ops, unmap) || !ops->read ||
	    !ops->write || !ops->flush || !name || strlen(name) > INVAR_HANDLER_NAME_MAX) {
		seterr(err, err_len, "read, write and flush are required; NAME at most %d bytes",
		       INVAR_HANDLER_NAME_MAX);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		seterr(err, err_len, "out of memory");
		return NULL;
	}
	/* Copy what the caller's (maybe older, smaller) table has; the rest stays NULL. */
	memcpy(&h->ops, ops, ops->size < sizeof(h->ops) ? ops->size : sizeof(h->ops));
	h->ctx = ctx;
	h->sock = -1;
	h->stop_pipe[0] = h->stop_pipe[1] = -1;
	socket_path(sock_path, path, sizeof(path));
	/* A handler restarted right after a crash may find the old one still being detached. */
	for (tries = 0;; tries++) {
		ret = connect_hello(h, path, name, &m, err, err_len);
		if (ret != -EBUSY || tries >= 100)
			break;
		usleep(100 * 1000);
	}
	if (ret < 0)
		goto fail;
	h->shm_size = m.shm_size;
	h->shm = mmap(NULL, h->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, h->fds[0], 0);
	if (h->shm == MAP_FAILED) {
		h->shm = NULL;
		seterr(err, err_len, "mmap %llu bytes: %s", (unsigned long long)h->shm_size,
		       strerror(errno));
		goto fail;
	}
	if (h->shm_size < sizeof(struct invar_ring_mailbox) || check_mailbox(h, err, err_len) < 0)
		goto fail;
	h->features = h->mb.daemon_features & LIB_FEATURES;
	shared = (struct invar_ring_mailbox *)h->shm;
	shared->handler_features = h->features;
	shared->handler_version_major = INVAR_RING_VERSION_MAJOR;
	shared->handler_version_minor = INVAR_RING_VERSION_MINOR;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	h->q = calloc(h->mb.queue_count, sizeof(*h->q));
	if (!h->q || pipe2(h->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		seterr(err, err_len, "out of memory");
		goto fail;
	}
	for (i = 0; i < h->mb.queue_count; i++) {
		struct hq *q = &h->q[i];
		uint8_t *base = h->shm + h->mb.queue_offset + (uint64_t)i * h->mb.queue_stride;

		q->h = h;
		q->idx = i;
		q->rq = (struct invar_ring_queue *)base;
		q->cmd_ring = base + h->mb.cmd_ring_offset;
		q->cpl_ring = base + h->mb.cpl_ring_offset;
		q->data = base + h->mb.data_offset;
		q->cmd_efd = h->fds[1 + 2 * i];
		q->cpl_efd = h->fds[2 + 2 * i];
		q->cmd_cons = __atomic_load_n(&q->rq->cmd_cons, __ATOMIC_ACQUIRE);
		q->cpl_prod = __atomic_load_n(&q->rq->cpl_prod, __ATOMIC_ACQUIRE);
		q->cpl_cons_seen = __atomic_load_n(&q->rq->cpl_cons, __ATOMIC_ACQUIRE);
	}
	memset(&ready, 0, sizeof(ready));
	ready.hdr.magic = INVAR_HANDLER_MSG_MAGIC;
	ready.hdr.type = INVAR_HANDLER_MSG_READY;
	ready.hdr.size = sizeof(ready);
	ready.features = h->features;
	if (full_write(h->sock, &ready, sizeof(ready)) < 0) {
		seterr(err, err_len, "send READY: %s", strerror(errno));
		goto fail;
	}
	return h;
fail:
	invar_handler_close(h);
	return NULL;
}

/* ---- serving ----------------------------------------------------------------------------- */

static int write_zeroes_emul(struct invar_handler *h, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];
	int ret;

	while (len) {
		uint64_t n = len < sizeof(zeroes) ? len : sizeof(zeroes);

		ret = h->ops.write(h->ctx, zeroes, n, off, false);
		if (ret < 0)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/* One command, from a private copy of its entry. */
static int32_t do_cmd(struct hq *q, const struct invar_ring_cmd *c)
{
	struct invar_handler *h = q->h;
	bool data = c->opcode == INVAR_OP_READ || c->opcode == INVAR_OP_WRITE;

	if (c->entry_size < sizeof(*c) || !in_range(c->offset, c->length, h->mb.lu_size) ||
	    (data && !in_range(c->data_offset, c->length, h->mb.data_size)))
		return -EIO;
	switch (c->opcode) {
	case INVAR_OP_READ: return h->ops.read(h->ctx, q->data + c->data_offset, c->length, c->offset);
	case INVAR_OP_WRITE:
		return h->ops.write(h->ctx, q->data + c->data_offset, c->length, c->offset,
				    (c->flags & INVAR_CMD_F_FUA) != 0);
	case INVAR_OP_FLUSH: return h->ops.flush(h->ctx);
	case INVAR_OP_UNMAP:
		if (h->ops.unmap)
			return h->ops.unmap(h->ctx, c->offset, c->length);
		/* zeroes satisfy "reads back as zeroes" */
		return write_zeroes_emul(h, c->offset, c->length);
	case INVAR_OP_WRITE_ZEROES:
		if (h->ops.write_zeroes)
			return h->ops.write_zeroes(h->ctx, c->offset, c->length);
		return write_zeroes_emul(h, c->offset, c->length);
	default: return -EOPNOTSUPP;
	}
}

static void post_cpl(struct hq *q, uint64_t tag, int32_t res)
{
	struct invar_handler *h = q->h;
	struct invar_ring_cpl cpl;

	/* Never overwrite an entry the daemon has not taken (it cannot happen while it keeps at
	 * most cpl_entries commands in flight, but a wait costs nothing). The daemon's cpl_cons
	 * is read only when the last value seen says the ring is full: reading it for every
	 * completion would pull the daemon's cache line over for nothing. */
	while (q->cpl_prod - q->cpl_cons_seen >= h->mb.cpl_entries && !h->stop) {
		q->cpl_cons_seen = __atomic_load_n(&q->rq->cpl_cons, __ATOMIC_ACQUIRE);
		if (q->cpl_prod - q->cpl_cons_seen >= h->mb.cpl_entries)
			usleep(50);
	}
	memset(&cpl, 0, sizeof(cpl));
	cpl.entry_size = sizeof(cpl);
	cpl.result = res;
	cpl.tag = tag;
	memcpy(q->cpl_ring + (size_t)(q->cpl_prod & (h->mb.cpl_entries - 1)) * h->mb.cpl_entry_size,
	       &cpl, sizeof(cpl));
	q->cpl_prod++;
	__atomic_store_n(&q->rq->cpl_prod, q->cpl_prod, __ATOMIC_RELEASE);
}

/* After publishing completions: the cpl eventfd, unless the daemon said it is awake. */
static int wake_daemon(struct hq *q)
{
	uint64_t one = 1;

#ifdef INVAR_RING_F_CPL_WAKE_FLAG
	if (q->h->features & INVAR_RING_F_CPL_WAKE_FLAG) {
		/* Pairs with the daemon's store of daemon_sleeping and its re-check of cpl_prod. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&q->rq->daemon_sleeping, __ATOMIC_RELAXED))
			return 0;
	}
#endif
	if (write(q->cpl_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* A short poll of the command ring before the thread sleeps: a command published within about
 * a microsecond is taken without the two context switches and the daemon's eventfd write a
 * sleep costs. Longer polls were measured and lost: on a machine with fewer cores than busy
 * threads (initiator, daemon worker, handler) a polling thread takes the CPU from the ones
 * that produce its work (docs/design/performance-notes.md, "Tried and dropped"). True: a
 * command is there. */
static bool spin_for_cmd(struct hq *q)
{
	unsigned i;

	for (i = 0; i < SPIN_POLLS; i++) {
		if (__atomic_load_n(&q->rq->cmd_prod, __ATOMIC_ACQUIRE) != q->cmd_cons)
			return true;
		cpu_relax();
	}
	return false;
}

static void *queue_main(void *arg)
{
	struct hq *q = arg;
	struct invar_handler *h = q->h;
	uint64_t v;

	while (!h->stop) {
		uint32_t prod = __atomic_load_n(&q->rq->cmd_prod, __ATOMIC_ACQUIRE);
		unsigned done = 0;

		while (q->cmd_cons != prod && !h->stop) {
			struct invar_ring_cmd c;

			memcpy(&c,
			       q->cmd_ring + (size_t)(q->cmd_cons & (h->mb.cmd_entries - 1)) *
						 h->mb.cmd_entry_size,
			       sizeof(c));
			q->cmd_cons++;
			__atomic_store_n(&q->rq->cmd_cons, q->cmd_cons, __ATOMIC_RELEASE);
			post_cpl(q, c.tag, do_cmd(q, &c));
			done++;
			if (q->cmd_cons == prod)
				prod = __atomic_load_n(&q->rq->cmd_prod, __ATOMIC_ACQUIRE);
		}
		if (done && wake_daemon(q) < 0)
			break;
		if (spin_for_cmd(q))
			continue;
		__atomic_store_n(&q->rq->handler_sleeping, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&q->rq->cmd_prod, __ATOMIC_ACQUIRE) == q->cmd_cons && !h->stop) {
			struct pollfd p[2] = { { .fd = q->cmd_efd, .events = POLLIN },
					       { .fd = h->stop_pipe[0], .events = POLLIN } };

			if (poll(p, 2, -1) > 0 && (p[0].revents & POLLIN) &&
			    read(q->cmd_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		}
		__atomic_store_n(&q->rq->handler_sleeping, 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

API void invar_handler_stop(struct invar_handler *h)
{
	char c = 1;

	h->stop = 1;
	if (h->stop_pipe[1] >= 0 && write(h->stop_pipe[1], &c, 1) < 0) {
		/* full pipe: already signalled */
	}
}

API int invar_handler_run(struct invar_handler *h)
{
	unsigned i;
	int ret = 0;

	for (i = 0; i < h->mb.queue_count; i++) {
		if (pthread_create(&h->q[i].thread, NULL, queue_main, &h->q[i])) {
			ret = -EAGAIN;
			invar_handler_stop(h);
			break;
		}
		h->q[i].started = true;
	}
	/* The socket only tells us the daemon is there: EOF means it let us go. */
	while (!h->stop) {
		struct pollfd p[2] = { { .fd = h->sock, .events = POLLIN },
				       { .fd = h->stop_pipe[0], .events = POLLIN } };
		char c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (p[0].revents) {
			ssize_t n = recv(h->sock, &c, 1, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	invar_handler_stop(h);
	for (i = 0; i < h->mb.queue_count; i++)
		if (h->q[i].started) {
			pthread_join(h->q[i].thread, NULL);
			h->q[i].started = false;
		}
	return ret;
}

API void invar_handler_close(struct invar_handler *h)
{
	unsigned i;

	if (!h)
		return;
	if (h->q)
		for (i = 0; i < h->mb.queue_count; i++)
			if (h->q[i].started)
				pthread_join(h->q[i].thread, NULL);
	if (h->shm)
		munmap(h->shm, h->shm_size);
	for (i = 0; i < h->nfds; i++)
		close(h->fds[i]);
	if (h->sock >= 0)
		close(h->sock);
	if (h->stop_pipe[0] >= 0) {
		close(h->stop_pipe[0]);
		close(h->stop_pipe[1]);
	}
	free(h->q);
	free(h);
}
