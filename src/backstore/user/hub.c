/* The handler hub: the registry of user devices by NAME and the handler socket
 * (DATA_DIR/handler.sock) where handlers attach. Runs on the main thread. One attach per
 * connection: HELLO -> ATTACH (+ memfd and eventfds) -> READY, then the socket only says the
 * handler is alive. When it closes (the handler exited or was killed), every queue detaches on
 * its own worker, failing what was in flight with BUSY, and the memory is released.
 * A handler that breaks the ring or hangs is killed first (SIGKILL through a pidfd), so nothing
 * it still had in hand can land after the initiator's retry. */
#include "backstore/user/user.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "backstore/user/user_internal.h"
#include "rt/worker.h"
#include "util/log.h"

#define HUB_MAX_CONNS 64
#define HUB_DEFAULT_WAIT_MS 5000
#define HUB_DEFAULT_IO_TIMEOUT_MS 30000
/* Offered to every handler: every feature of ring version 1.1 (invar/handler-ring.h). */
#define HUB_FEATURES INVAR_RING_F_ALL_V1_1

/* The one per-daemon context of handlers: a process runs one daemon. */
struct user_hub {
	struct ev_loop *main_loop;
	struct worker *workers;
	unsigned nworkers;
	bool running;
	atomic_bool stopping;
	int lfd;
	struct ev_fd lev;
	char path[PATH_MAX];
	uint32_t wait_ms, io_timeout_ms;
	pthread_mutex_t lock;	/* devs and each dev->att */
	struct list_node devs;
	struct list_node conns;	/* main thread only */
	unsigned nconns;
};

static struct user_hub user_hub = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wait_ms = HUB_DEFAULT_WAIT_MS,
	.io_timeout_ms = HUB_DEFAULT_IO_TIMEOUT_MS,
	.lfd = -1,
};

uint32_t user_hub_wait_ms(void)
{
	return user_hub.wait_ms;
}

uint32_t user_hub_io_timeout_ms(void)
{
	return user_hub.io_timeout_ms;
}

/* ---- devices ----------------------------------------------------------------------------- */

static void user_dev_put(struct user_dev *dev)
{
	if (atomic_fetch_sub(&dev->refs, 1) != 1)
		return;
	free(dev->q);
	free(dev);
}

int user_hub_dev_open(struct user_dev *dev, char *err, size_t err_len)
{
	struct list_node *pos;
	unsigned i;

	if (!user_hub.running) {
		snprintf(err, err_len, "user backstore: the handler socket is not running");
		return -ENOTCONN;
	}
	dev->nq = user_hub.nworkers;
	dev->q = calloc(dev->nq, sizeof(*dev->q));
	if (!dev->q) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < dev->nq; i++) {
		user_queue_init(&dev->q[i], dev, i, user_hub.workers[i].loop);
		dev->q[i].worker = &user_hub.workers[i];
	}
	pthread_mutex_lock(&user_hub.lock);
	list_for_each(pos, &user_hub.devs)
	{
		if (!strcmp(list_entry(pos, struct user_dev, node)->name, dev->name)) {
			pthread_mutex_unlock(&user_hub.lock);
			free(dev->q);
			dev->q = NULL;
			snprintf(err, err_len, "user backstore: NAME %s is already used by a LU",
				 dev->name);
			return -EEXIST;
		}
	}
	list_add_tail(&user_hub.devs, &dev->node);
	dev->registered = true;
	pthread_mutex_unlock(&user_hub.lock);
	return 0;
}

/* ---- attachments ------------------------------------------------------------------------- */

static void hub_kill(struct user_attach *att)
{
	if (att->pidfd >= 0 && syscall(SYS_pidfd_send_signal, att->pidfd, SIGKILL, NULL, 0) == 0)
		return;
	if (att->pid > 0 && kill(att->pid, SIGKILL) == 0)
		return;
	/* Cannot kill it (another user?): at least cut it off. */
	log_warn("user %s: cannot kill handler pid %d: %s", att->dev ? att->dev->name : "?",
		 (int)att->pid, strerror(errno));
	shutdown(att->sock, SHUT_RDWR);
}

/* Frees everything of att; its queues have all detached (or never attached). */
static void hub_attach_free(struct user_attach *att)
{
	unsigned i;

	if (att->sock >= 0) {
		ev_fd_del(user_hub.main_loop, &att->sock_ev);
		close(att->sock);
	}
	list_del(&att->node);
	user_hub.nconns--;
	if (att->dev) {
		pthread_mutex_lock(&user_hub.lock);
		if (att->dev->att == att)
			att->dev->att = NULL;
		pthread_mutex_unlock(&user_hub.lock);
		if (att->efds)
			for (i = 0; i < 2 * att->dev->nq; i++)
				if (att->efds[i] >= 0)
					close(att->efds[i]);
		user_dev_put(att->dev);
	}
	free(att->efds);
	free(att->calls);
	if (att->shm)
		munmap(att->shm, att->lay.shm_size);
	if (att->memfd >= 0)
		close(att->memfd);
	if (att->pidfd >= 0)
		close(att->pidfd);
	free(att);
}

static void hub_queue_attach_fn(void *arg)
{
	struct user_qcall *c = arg;

	user_queue_attach(c->q, c->att);
}

static void hub_queue_detach_fn(void *arg)
{
	struct user_qcall *c = arg;

	user_queue_detach(c->q);
}

static void hub_release_fn(void *arg)
{
	hub_attach_free(arg);
}

void user_hub_queue_detached(struct user_attach *att)
{
	if (atomic_fetch_sub(&att->detach_left, 1) != 1)
		return;
	if (!user_hub.running && !atomic_load(&user_hub.stopping))
		return; /* no hub: unit tests and the fuzzer drive queues alone */
	/* The last queue is off the memory. While stopping, user_hub_stop() frees it. */
	if (!atomic_load(&user_hub.stopping))
		ev_call(user_hub.main_loop, hub_release_fn, att);
}

/* Main thread: take att off every queue (asynchronously), then free it. */
static void hub_detach(struct user_attach *att)
{
	unsigned i;

	if (att->state == ATT_DETACHING)
		return;
	if (att->state != ATT_LIVE) {
		hub_attach_free(att);
		return;
	}
	att->state = ATT_DETACHING;
	log_info("user %s: handler pid %d detached", att->dev->name, (int)att->pid);
	ev_fd_del(user_hub.main_loop, &att->sock_ev);
	atomic_store(&att->detach_left, att->dev->nq);
	for (i = 0; i < att->dev->nq; i++)
		if (ev_call(user_hub.workers[i].loop, hub_queue_detach_fn, &att->calls[i]) < 0)
			log_err("user %s: cannot reach worker %u to detach", att->dev->name, i);
}

static void hub_detach_fn(void *arg)
{
	hub_detach(arg);
}

static void hub_kill_fn(void *arg)
{
	struct user_attach *att = arg;

	if (att->state != ATT_DETACHING)
		hub_kill(att);
}

void user_hub_attach_broken(struct user_attach *att, const char *why)
{
	if (atomic_exchange(&att->killing, true))
		return;
	if (!user_hub.running)
		return; /* no hub (tests): the queue is marked broken, that is all */
	ev_call(user_hub.main_loop, hub_kill_fn, att);
}

void user_hub_dev_close(struct user_dev *dev)
{
	struct user_attach *att;

	pthread_mutex_lock(&user_hub.lock);
	if (dev->registered)
		list_del(&dev->node);
	dev->registered = false;
	att = dev->att;
	pthread_mutex_unlock(&user_hub.lock);
	if (att) {
		/* The LU is gone (no command in flight): let the handler go. */
		if (!worker_self())
			hub_detach(att);
		else
			ev_call(user_hub.main_loop, hub_detach_fn, att);
	}
	user_dev_put(dev);
}

/* ---- the socket protocol ----------------------------------------------------------------- */

static void hub_reply(struct user_attach *att, int status, const char *reason, const int *fds,
		      unsigned nfds)
{
	struct invar_handler_msg_attach m;
	char cbuf[CMSG_SPACE(sizeof(int) * (1 + 2 * INVAR_RING_MAX_QUEUES))];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(&m, 0, sizeof(m));
	m.hdr.magic = INVAR_HANDLER_MSG_MAGIC;
	m.hdr.type = INVAR_HANDLER_MSG_ATTACH;
	m.hdr.size = sizeof(m);
	m.status = status;
	m.nfds = nfds;
	m.shm_size = nfds ? att->lay.shm_size : 0;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* 128 bytes into an empty socket buffer: a short send means the peer is broken. */
	if (sendmsg(att->sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		log_warn("user: cannot answer handler pid %d: %s", (int)att->pid, strerror(errno));
}

/* Builds the shared memory and eventfds for att->dev. 0 or -errno with a reason. */
static int hub_attach_setup(struct user_attach *att, char *why, size_t why_len)
{
	struct user_dev *dev = att->dev;
	char name[80];
	unsigned i;
	int ret;

	ret = ring_layout_compute(&att->lay, dev->nq, USER_RING_ENTRIES, USER_DATA_SIZE);
	if (ret < 0) {
		snprintf(why, why_len, "cannot lay out the ring");
		return ret;
	}
	snprintf(name, sizeof(name), "invar-ring:%s", dev->name);
	att->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (att->memfd < 0 || ftruncate(att->memfd, (off_t)att->lay.shm_size) < 0)
		goto sys_err;
	/* The handler must not shrink the file under us: a SIGBUS in the daemon. */
	if (fcntl(att->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto sys_err;
	att->shm = mmap(NULL, att->lay.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, att->memfd,
			0);
	if (att->shm == MAP_FAILED) {
		att->shm = NULL;
		goto sys_err;
	}
	att->offered = HUB_FEATURES;
	ring_mailbox_init(att->shm, &att->lay, dev->size, 512, att->offered);
	att->efds = malloc(sizeof(int) * 2 * dev->nq);
	att->calls = calloc(dev->nq, sizeof(*att->calls));
	if (!att->efds || !att->calls) {
		errno = ENOMEM;
		goto sys_err;
	}
	for (i = 0; i < 2 * dev->nq; i++)
		att->efds[i] = -1;
	for (i = 0; i < 2 * dev->nq; i++) {
		att->efds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (att->efds[i] < 0)
			goto sys_err;
	}
	for (i = 0; i < dev->nq; i++) {
		att->calls[i].att = att;
		att->calls[i].q = &dev->q[i];
	}
	return 0;
sys_err:
	ret = -errno;
	snprintf(why, why_len, "daemon: %s", strerror(errno));
	return ret;
}

static bool hub_name_ok(const char *name, size_t max)
{
	size_t n = strnlen(name, max);

	return n > 0 && n < max;
}

static void hub_on_hello(struct user_attach *att)
{
	struct invar_handler_msg_hello h;
	struct user_dev *found = NULL;
	struct list_node *pos;
	char why[96];
	int fds[1 + 2 * INVAR_RING_MAX_QUEUES], ret, status;
	unsigned i;

	memcpy(&h, att->msg, sizeof(h));
	if (h.version_major != INVAR_RING_VERSION_MAJOR) {
		snprintf(why, sizeof(why), "ring version %u is not supported (daemon speaks %u.%u)",
			 h.version_major, INVAR_RING_VERSION_MAJOR, INVAR_RING_VERSION_MINOR);
		status = -EPROTO;
		goto refuse;
	}
	if (!hub_name_ok(h.name, sizeof(h.name))) {
		snprintf(why, sizeof(why), "NAME missing or not terminated");
		status = -EINVAL;
		goto refuse;
	}
	pthread_mutex_lock(&user_hub.lock);
	list_for_each(pos, &user_hub.devs)
		if (!strcmp(list_entry(pos, struct user_dev, node)->name, h.name))
			found = list_entry(pos, struct user_dev, node);
	if (found && !found->att) {
		found->att = att;
		atomic_fetch_add(&found->refs, 1);
		att->dev = found;
	}
	pthread_mutex_unlock(&user_hub.lock);
	if (!found) {
		snprintf(why, sizeof(why), "no user LU is named %.60s", h.name);
		status = -ENOENT;
		goto refuse;
	}
	if (!att->dev) {
		snprintf(why, sizeof(why), "another handler serves %.60s", h.name);
		status = -EBUSY;
		goto refuse;
	}
	ret = hub_attach_setup(att, why, sizeof(why));
	if (ret < 0) {
		status = ret;
		goto refuse;
	}
	fds[0] = att->memfd;
	for (i = 0; i < 2 * att->dev->nq; i++)
		fds[1 + i] = att->efds[i];
	hub_reply(att, 0, "attached", fds, 1 + 2 * att->dev->nq);
	att->state = ATT_WAIT_READY;
	return;
refuse:
	log_info("user: refused handler pid %d: %s", (int)att->pid, why);
	hub_reply(att, status, why, NULL, 0);
	hub_attach_free(att);
}

static void hub_on_ready(struct user_attach *att)
{
	struct invar_handler_msg_ready r;
	char why[160];
	unsigned i;

	memcpy(&r, att->msg, sizeof(r));
	if (r.status != 0 || ring_mailbox_accept(att->shm, att->offered, &att->features, why,
						 sizeof(why)) < 0) {
		if (r.status)
			snprintf(why, sizeof(why), "handler gave up (%d)", r.status);
		log_warn("user %s: handler pid %d: %s", att->dev->name, (int)att->pid, why);
		hub_attach_free(att);
		return;
	}
	att->state = ATT_LIVE;
	atomic_store(&att->detach_left, att->dev->nq);
	log_info("user %s: handler pid %d ready (features 0x%llx, %u queues)", att->dev->name,
		 (int)att->pid, (unsigned long long)att->features, att->dev->nq);
	for (i = 0; i < att->dev->nq; i++)
		if (ev_call(user_hub.workers[i].loop, hub_queue_attach_fn, &att->calls[i]) < 0)
			log_err("user %s: cannot reach worker %u to attach", att->dev->name, i);
}

/* A whole message is in att->msg: check the header, then act on it. false: drop att. */
static bool hub_on_message(struct user_attach *att)
{
	struct invar_handler_msg_hdr hd;

	memcpy(&hd, att->msg, sizeof(hd));
	if (att->state == ATT_HELLO && hd.type == INVAR_HANDLER_MSG_HELLO) {
		hub_on_hello(att);
		return true;
	}
	if (att->state == ATT_WAIT_READY && hd.type == INVAR_HANDLER_MSG_READY) {
		hub_on_ready(att);
		return true;
	}
	return false;
}

static size_t hub_msg_min(const struct user_attach *att)
{
	return att->state == ATT_HELLO ? sizeof(struct invar_handler_msg_hello)
				       : sizeof(struct invar_handler_msg_ready);
}

static void hub_conn_cb(struct ev_fd *h, uint32_t events)
{
	struct user_attach *att = container_of(h, struct user_attach, sock_ev);
	struct invar_handler_msg_hdr hd;
	size_t want;
	ssize_t n;

	if (att->state == ATT_LIVE || att->state == ATT_DETACHING) {
		char c;

		/* After READY the handler has nothing more to say: EOF is its death, and data
		 * is a protocol violation. */
		n = recv(att->sock, &c, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0) {
			log_err("user %s: handler pid %d sent data after READY", att->dev->name,
				(int)att->pid);
			hub_kill(att);
		}
		hub_detach(att);
		return;
	}
	want = att->msg_len < sizeof(hd) ? sizeof(hd) : hub_msg_min(att);
	if (att->msg_len >= sizeof(hd)) {
		memcpy(&hd, att->msg, sizeof(hd));
		want = hd.size;
	}
	n = recv(att->sock, att->msg + att->msg_len, want - att->msg_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		hub_detach(att);
		return;
	}
	att->msg_len += (size_t)n;
	if (att->msg_len == sizeof(hd)) {
		memcpy(&hd, att->msg, sizeof(hd));
		if (hd.magic != INVAR_HANDLER_MSG_MAGIC || hd.size < hub_msg_min(att) ||
		    hd.size > sizeof(att->msg)) {
			log_warn("user: handler pid %d: bad message header", (int)att->pid);
			hub_detach(att);
		}
		return;
	}
	memcpy(&hd, att->msg, sizeof(hd));
	if (att->msg_len < hd.size)
		return;
	att->msg_len = 0;
	if (!hub_on_message(att)) {
		log_warn("user: handler pid %d: unexpected message type %u", (int)att->pid,
			 hd.type);
		hub_detach(att);
	}
}

static void hub_accept_cb(struct ev_fd *h, uint32_t events)
{
	struct user_attach *att;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (user_hub.nconns >= HUB_MAX_CONNS || !(att = calloc(1, sizeof(*att)))) {
		log_warn("user: too many handler connections");
		close(fd);
		return;
	}
	att->sock = fd;
	att->memfd = -1;
	att->pidfd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		att->pid = cred.pid;
		att->pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	}
	list_add_tail(&user_hub.conns, &att->node);
	user_hub.nconns++;
	att->sock_ev.cb = hub_conn_cb;
	if (ev_fd_add(user_hub.main_loop, &att->sock_ev, fd, EPOLLIN) < 0) {
		att->sock = -1;
		close(fd);
		hub_attach_free(att);
	}
}

int user_hub_start(const struct user_hub_env *env, const struct user_hub_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	user_hub.main_loop = env->main_loop;
	user_hub.workers = env->workers;
	user_hub.nworkers = env->nworkers;
	if (cfg && cfg->wait_ms)
		user_hub.wait_ms = cfg->wait_ms;
	if (cfg && cfg->io_timeout_ms)
		user_hub.io_timeout_ms = cfg->io_timeout_ms;
	list_init(&user_hub.devs);
	list_init(&user_hub.conns);
	if (snprintf(user_hub.path, sizeof(user_hub.path), "%s/handler.sock", env->data_dir) >=
		(int)sizeof(sa.sun_path)) {
		log_err("handler socket path %s/handler.sock is too long", env->data_dir);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, user_hub.path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The data directory is locked by this daemon: a socket file there is a stale one. */
	unlink(user_hub.path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(user_hub.path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		ret = -errno;
		log_err("handler socket %s: %s", user_hub.path, strerror(errno));
		close(fd);
		return ret;
	}
	user_hub.lfd = fd;
	user_hub.lev.cb = hub_accept_cb;
	ret = ev_fd_add(user_hub.main_loop, &user_hub.lev, fd, EPOLLIN);
	if (ret < 0) {
		close(fd);
		user_hub.lfd = -1;
		return ret;
	}
	user_hub.running = true;
	atomic_store(&user_hub.stopping, false);
	return 0;
}

void user_hub_stop(void)
{
	struct list_node *pos, *tmp;
	struct user_attach *att;
	uint64_t until;
	bool busy;

	if (!user_hub.running)
		return;
	user_hub.running = false;
	atomic_store(&user_hub.stopping, true);
	ev_fd_del(user_hub.main_loop, &user_hub.lev);
	close(user_hub.lfd);
	user_hub.lfd = -1;
	unlink(user_hub.path);
	list_for_each_safe(pos, tmp, &user_hub.conns)
		hub_detach(list_entry(pos, struct user_attach, node));
	/* Workers detach their queues; wait for them here (the main loop no longer runs). */
	until = ev_now_ms() + 10000;
	do {
		busy = false;
		list_for_each(pos, &user_hub.conns)
			if (atomic_load(&list_entry(pos, struct user_attach, node)->detach_left))
				busy = true;
		if (busy)
			usleep(1000);
	} while (busy && ev_now_ms() < until);
	list_for_each_safe(pos, tmp, &user_hub.conns)
	{
		att = list_entry(pos, struct user_attach, node);
		if (!atomic_load(&att->detach_left))
			hub_attach_free(att);
		else
			log_err("user %s: a worker did not detach; leaking its ring", att->dev->name);
	}
}
