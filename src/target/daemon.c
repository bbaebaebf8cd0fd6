#include "target/daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "rt/worker.h"
#include "target/target.h"
#include "util/log.h"

int daemon_init(struct daemon *d, const char *data_dir, unsigned nworkers)
{
	unsigned i;
	int ret;

	memset(d, 0, sizeof(*d));
	if (strlen(data_dir) >= sizeof(d->data_dir))
		return -ENAMETOOLONG;
	strcpy(d->data_dir, data_dir);
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		log_err("cannot create data directory %s: %s", data_dir, strerror(errno));
		return ret;
	}
	if (snprintf(d->socket_path, sizeof(d->socket_path), "%s/invar.sock", data_dir) >=
	    (int)sizeof(d->socket_path))
		return -ENAMETOOLONG;
	pthread_mutex_init(&d->lock, NULL);
	list_init(&d->targets);
	list_init(&d->portals);
	atomic_init(&d->next_nexus_id, 1);
	atomic_init(&d->next_tsih, 1);
	atomic_init(&d->next_worker, 0);
	invar_limits_defaults(&d->limits);

	d->main_loop = ev_loop_new();
	if (!d->main_loop) {
		ret = -ENOMEM;
		goto err;
	}
	if (!nworkers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = n > 0 ? (unsigned)n : 1;
	}
	d->workers = calloc(nworkers, sizeof(*d->workers));
	if (!d->workers) {
		ret = -ENOMEM;
		goto err_loop;
	}
	for (i = 0; i < nworkers; i++) {
		ret = worker_init(&d->workers[i], d, i);
		if (ret < 0)
			goto err_workers;
		d->nworkers++;
	}
	return 0;

err_workers:
	for (i = 0; i < d->nworkers; i++)
		worker_fini(&d->workers[i]);
	free(d->workers);
	d->workers = NULL;
err_loop:
	ev_loop_free(d->main_loop);
	d->main_loop = NULL;
err:
	pthread_mutex_destroy(&d->lock);
	return ret;
}

int daemon_start_workers(struct daemon *d)
{
	unsigned i;
	int ret;

	for (i = 0; i < d->nworkers; i++) {
		ret = worker_start(&d->workers[i]);
		if (ret < 0) {
			while (i--)
				worker_stop(&d->workers[i]);
			return ret;
		}
	}
	return 0;
}

struct worker *daemon_pick_worker(struct daemon *d)
{
	/* Fewest live connections, not plain round robin: initiators often open a short
	 * discovery session before each login (iscsiadm), and round robin would then put every
	 * long-lived session on the same worker. Ties rotate so equal workers share. Only the
	 * main thread places connections; workers only decrement, so a stale read can only
	 * overestimate a worker's load. */
	unsigned start, best, best_n = UINT_MAX, i;

	if (!d->nworkers)
		return NULL;
	start = atomic_fetch_add(&d->next_worker, 1) % d->nworkers;
	best = start;
	for (i = 0; i < d->nworkers; i++) {
		unsigned k = (start + i) % d->nworkers;
		unsigned n = atomic_load_explicit(&d->workers[k].nconns, memory_order_relaxed);

		if (n < best_n) {
			best_n = n;
			best = k;
		}
	}
	atomic_fetch_add_explicit(&d->workers[best].nconns, 1, memory_order_relaxed);
	return &d->workers[best];
}

void daemon_fini(struct daemon *d)
{
	struct list_node *n, *tmp;
	unsigned i;

	for (i = 0; i < d->nworkers; i++)
		worker_stop(&d->workers[i]);
	for (i = 0; i < d->nworkers; i++)
		worker_fini(&d->workers[i]);
	free(d->workers);
	d->workers = NULL;
	d->nworkers = 0;

	/* Workers are gone: no session holds a target any more. */
	pthread_mutex_lock(&d->lock);
	list_for_each_safe(n, tmp, &d->targets)
	{
		struct target *t = list_entry(n, struct target, node);

		list_del(&t->node);
		target_put(t);
	}
	target_auth_free(&d->discovery_auth);
	pthread_mutex_unlock(&d->lock);
	ev_loop_free(d->main_loop);
	d->main_loop = NULL;
	pthread_mutex_destroy(&d->lock);
}

static void daemon_lu_abort_tasks(void *ctx, struct lu *lu, const uint64_t *ids, unsigned n)
{
	struct daemon *d = ctx;

	if (d && d->fabric && d->fabric->lu_abort_tasks)
		d->fabric->lu_abort_tasks(d, lu, ids, n);
	if (d && d->vhost && d->vhost->lu_abort_tasks)
		d->vhost->lu_abort_tasks(d->vhost_priv, lu, ids, n);
}

const struct scsi_port_ops daemon_port_ops = {
	.lu_abort_tasks = daemon_lu_abort_tasks,
};
