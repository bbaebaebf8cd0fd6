/* libFuzzer: a whole iSCSI connection's receive path (src/fabric/iscsi) fed arbitrary bytes.
 * Per input: a fresh daemon context with one target (LUN 0: RAM disk, LUN 1: null disk) and
 * the real iSCSI fabric; one end of a socketpair is adopted by iscsi_conn_start() on a worker
 * whose loop runs on this thread; the input is written to the other end, which is then shut
 * down for writing, and the loop runs until the connection is freed. Everything the target
 * sends is read and dropped. So login (all stages, Continue, digests), full feature phase,
 * SCSI commands with immediate/unsolicited/solicited data, TMF, text, NOP and logout all see
 * real bytes, and teardown after each input is checked for leaks.
 * The connection's socket is moved to a fixed descriptor number so target transfer tags (and
 * so R2T-solicited Data-Out in the seeds) are the same on every run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "fabric/iscsi/iscsi.h"
#include "fabric/iscsi/iscsi_internal.h"
#include "rt/worker.h"
#include "scsi/lu.h"
#include "target/daemon.h"
#include "target/target.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TARGET "iqn.2026-01.org.invar:fuzz"
#define FUZZ_CONN_FD 200		/* see above: TTTs derive from the descriptor */

/* The initiator's side of the socketpair. */
struct peer {
	struct ev_fd ev;
	const uint8_t *data;
	size_t len, off;
	bool wr_done;
	struct ev_loop *loop;
};

static struct worker *fuzz_worker;
static FILE *fuzz_dump;			/* FUZZ_DUMP=FILE: what the target sent, for checking seeds */

static void peer_event(struct ev_fd *h, uint32_t events)
{
	struct peer *p = container_of(h, struct peer, ev);
	uint8_t buf[65536];

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		for (;;) {
			ssize_t n = read(h->fd, buf, sizeof(buf));

			if (n > 0) {
				if (fuzz_dump)
					fwrite(buf, 1, (size_t)n, fuzz_dump);
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* The target is gone: nothing more to read or write. */
				ev_fd_del(p->loop, h);
				p->wr_done = true;
				return;
			}
			break;
		}
	}
	if (!p->wr_done && (events & EPOLLOUT)) {
		while (p->off < p->len) {
			ssize_t n = write(h->fd, p->data + p->off, p->len - p->off);

			if (n < 0)
				break;
			p->off += (size_t)n;
		}
		if (p->off == p->len || (errno != EAGAIN && errno != EINTR)) {
			shutdown(h->fd, SHUT_WR);
			p->wr_done = true;
			ev_fd_mod(p->loop, h, EPOLLIN | EPOLLRDHUP);
		}
	}
}

/* After each loop pass: stop once the fabric has freed every connection. */
static void pass_hook(void *arg)
{
	struct daemon *d = arg;
	struct iscsi_fabric *f = d->fabric_priv;
	bool idle;

	pthread_mutex_lock(&f->lock);
	idle = list_empty(&f->conns);
	pthread_mutex_unlock(&f->lock);
	if (idle)
		ev_loop_stop(fuzz_worker->loop);
}

static void add_lun(struct daemon *d, struct target *t, unsigned lun, const char *type,
		    uint64_t size)
{
	struct lu_config cfg;
	struct lu *lu;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.backstore, sizeof(cfg.backstore), "%s", type);
	cfg.size = size;
	if (lu_create(&cfg, FUZZ_TARGET "/0", &lu, err, sizeof(err)) < 0 ||
	    target_lun_add(d, t, lun, lu) < 0) {
		fprintf(stderr, "fuzz_conn: LUN %u: %s\n", lun, err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct daemon d;
	struct worker w;
	struct target *t;
	struct peer p;
	struct list_node *n, *tmp;
	int sv[2];

	if (!ready) {
		/* FUZZ_VERBOSE=1 shows the fabric's log, to check what a seed reaches. */
		log_set_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_ERR);
		signal(SIGPIPE, SIG_IGN);
		if (getenv("FUZZ_DUMP"))
			fuzz_dump = fopen(getenv("FUZZ_DUMP"), "wb");
		ready = true;
	}
	/* The daemon context as daemon_init() builds it, minus the data directory and threads:
	 * the one worker's loop runs here. */
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	list_init(&d.targets);
	list_init(&d.portals);
	atomic_init(&d.next_nexus_id, 1);
	atomic_init(&d.next_tsih, 1);
	invar_limits_defaults(&d.limits);
	memset(&w, 0, sizeof(w));
	w.owner = &d;
	w.loop = ev_loop_new();
	if (!w.loop)
		abort();
	d.workers = &w;
	d.nworkers = 1;
	fuzz_worker = &w;
	if (iscsi_fabric_init(&d) < 0 || target_create(&d, FUZZ_TARGET, &t) < 0)
		abort();
	add_lun(&d, t, 0, "ram", 1u << 20);
	add_lun(&d, t, 1, "null", 1u << 30);
	ev_loop_set_pass_hook(w.loop, pass_hook, &d);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (dup2(sv[0], FUZZ_CONN_FD) < 0)
		abort();
	close(sv[0]);
	memset(&p, 0, sizeof(p));
	p.data = data;
	p.len = size;
	p.loop = w.loop;
	p.ev.cb = peer_event;
	if (ev_fd_add(w.loop, &p.ev, sv[1], EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0)
		abort();
	iscsi_conn_start(&w, FUZZ_CONN_FD);	/* takes the descriptor */
	if (ev_loop_run(w.loop) < 0)
		abort();

	peer_event(&p.ev, EPOLLIN);	/* what the target sent last */
	ev_fd_del(w.loop, &p.ev);
	close(sv[1]);
	/* As invard's shutdown: workers stopped, then the fabric, then targets and LUs. */
	iscsi_fabric_fini(&d);
	list_for_each_safe(n, tmp, &d.targets)
	{
		list_del(n);
		target_put(list_entry(n, struct target, node));
	}
	ev_loop_free(w.loop);
	pthread_mutex_destroy(&d.lock);
	return 0;
}
