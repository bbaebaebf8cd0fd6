/* Network portals: listening sockets on the main loop. Each accepted connection is handed to a
 * worker (the one with the fewest connections, daemon_pick_worker) with ev_call(); the main
 * thread never touches it again. */
#include "fabric/iscsi/iscsi.h"
#include "fabric/iscsi/iscsi_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "rt/worker.h"
#include "scsi/limits.h"
#include "target/daemon.h"
#include "util/log.h"

#define ISCSI_PORTAL_STR_MAX 80
#define ISCSI_LISTEN_BACKLOG 128

struct iscsi_portal {
	struct list_node node;		/* daemon.portals, under daemon.lock */
	struct daemon *d;
	struct ev_fd evfd;
	char addr[ISCSI_PORTAL_STR_MAX];
	uint16_t tpgt;			/* target portal group tag (RFC 7143 4.1) */
};

struct iscsi_handoff {
	struct worker *w;
	int fd;
	uint16_t tpgt;
};

static void iscsi_handoff_cb(void *arg)
{
	struct iscsi_handoff *h = arg;

	iscsi_conn_start_tpg(h->w, h->fd, h->tpgt);
	free(h);
}

static void iscsi_portal_accept(struct ev_fd *e, uint32_t events)
{
	struct iscsi_portal *p = container_of(e, struct iscsi_portal, evfd);

	for (;;) {
		struct iscsi_handoff *h;
		int fd = accept4(e->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("iscsi portal %s: accept: %s", p->addr, strerror(errno));
			return;
		}
		h = malloc(sizeof(*h));
		if (!h) {
			close(fd);
			continue;
		}
		h->w = daemon_pick_worker(p->d);
		h->fd = fd;
		h->tpgt = p->tpgt;
		if (!h->w || ev_call(h->w->loop, iscsi_handoff_cb, h) < 0) {
			log_warn("iscsi portal %s: no worker for a new connection", p->addr);
			if (h->w)
				worker_conn_done(h->w);
			close(fd);
			free(h);
		}
	}
}

/* "A.B.C.D[:PORT]" or "[v6][:PORT]" (numeric only) into host and port strings; the port
 * defaults to 3260 (RFC 7143 4.1). */
static int iscsi_portal_parse(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		n = (size_t)(close - s - 1);
		colon = close[1] ? close + 1 : NULL;
		if (n == 0 || n >= hlen)
			return -EINVAL;
		memcpy(host, s + 1, n);
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			return -EINVAL;
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n == 0 || n >= hlen)
			return -EINVAL;
		memcpy(host, s, n);
	}
	host[n] = '\0';
	if (!colon) {
		snprintf(port, plen, "%d", INVAR_DEFAULT_PORT);
		return 0;
	}
	if (!colon[1] || strlen(colon + 1) >= plen || strspn(colon + 1, "0123456789") !=
							      strlen(colon + 1))
		return -EINVAL;
	snprintf(port, plen, "%s", colon + 1);
	if (atoi(port) <= 0 || atoi(port) > 65535)
		return -EINVAL;
	return 0;
}

/* Parse "ADDR:PORT" / "[v6]:PORT" and write the canonical "ADDR:PORT" form portals are keyed by. */
static int iscsi_portal_canon(const char *addr_port, char *canon, size_t clen, char *host,
			      size_t hlen, char *port, size_t plen)
{
	if (iscsi_portal_parse(addr_port, host, hlen, port, plen))
		return -EINVAL;
	if (strchr(host, ':'))
		snprintf(canon, clen, "[%s]:%s", host, port);
	else
		snprintf(canon, clen, "%s:%s", host, port);
	return 0;
}

static int iscsi_portal_listen(const char *addr_port, char *canon, size_t clen)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[INET6_ADDRSTRLEN + 1], port[8];
	int fd = -1, one = 1, rc;

	rc = iscsi_portal_parse(addr_port, host, sizeof(host), port, sizeof(port));
	if (rc)
		return rc;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) || !res)
		return -EINVAL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, ISCSI_LISTEN_BACKLOG) < 0) {
		rc = -errno;
		close(fd);
		fd = -1;
		goto out;
	}
	if (res->ai_family == AF_INET6)
		snprintf(canon, clen, "[%s]:%s", host, port);
	else
		snprintf(canon, clen, "%s:%s", host, port);
	rc = fd;
out:
	freeaddrinfo(res);
	return rc;
}

static struct iscsi_portal *iscsi_portal_find_locked(struct daemon *d, const char *addr)
{
	struct list_node *n;

	list_for_each(n, &d->portals)
	{
		struct iscsi_portal *p = list_entry(n, struct iscsi_portal, node);

		if (!strcmp(p->addr, addr))
			return p;
	}
	return NULL;
}

int iscsi_portal_add(struct daemon *d, const char *addr_port, unsigned tpg)
{
	struct iscsi_portal *p;
	char canon[ISCSI_PORTAL_STR_MAX];
	char host[INET6_ADDRSTRLEN + 1], port[8];
	int fd, rc;

	if (tpg < 1 || tpg > 65535)
		return -EINVAL;
	if (iscsi_portal_canon(addr_port, canon, sizeof(canon), host, sizeof(host), port,
			       sizeof(port)))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	p = iscsi_portal_find_locked(d, canon);
	rc = p ? -EEXIST : alua_group_ref(&d->alua_groups, (uint16_t)tpg);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0) {
		if (rc == -ENOSPC)
			log_err("iscsi portal %s: more than %d portal groups", canon, ALUA_MAX_GROUPS);
		return rc;
	}
	fd = iscsi_portal_listen(addr_port, canon, sizeof(canon));
	if (fd < 0) {
		log_err("iscsi portal %s: cannot listen: %s", addr_port, strerror(-fd));
		rc = fd;
		goto unref;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		rc = -ENOMEM;
		goto unref;
	}
	p->d = d;
	p->tpgt = (uint16_t)tpg;
	snprintf(p->addr, sizeof(p->addr), "%s", canon);
	p->evfd.cb = iscsi_portal_accept;
	rc = ev_fd_add(d->main_loop, &p->evfd, fd, EPOLLIN);
	if (rc < 0) {
		close(fd);
		free(p);
		goto unref;
	}
	pthread_mutex_lock(&d->lock);
	list_add_tail(&d->portals, &p->node);
	pthread_mutex_unlock(&d->lock);
	log_info("iscsi: listening on %s (portal group %u)", p->addr, tpg);
	return 0;
unref:
	pthread_mutex_lock(&d->lock);
	alua_group_unref(&d->alua_groups, (uint16_t)tpg);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static void iscsi_portal_free_cb(void *arg)
{
	struct iscsi_portal *p = arg;

	close(p->evfd.fd);
	free(p);
}

static void iscsi_portal_remove(struct daemon *d, struct iscsi_portal *p)
{
	ev_fd_del(d->main_loop, &p->evfd);
	/* Free after the current batch: its listening fd may have a pending event. */
	if (ev_call(d->main_loop, iscsi_portal_free_cb, p) < 0)
		iscsi_portal_free_cb(p);
}

int iscsi_portal_del(struct daemon *d, const char *addr_port)
{
	struct iscsi_portal *p;
	char canon[ISCSI_PORTAL_STR_MAX];
	char host[INET6_ADDRSTRLEN + 1], port[8];

	if (iscsi_portal_canon(addr_port, canon, sizeof(canon), host, sizeof(host), port,
			       sizeof(port)))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	p = iscsi_portal_find_locked(d, canon);
	if (p) {
		list_del(&p->node);
		alua_group_unref(&d->alua_groups, p->tpgt);
	}
	pthread_mutex_unlock(&d->lock);
	if (!p)
		return -ENOENT;
	iscsi_portal_remove(d, p);
	log_info("iscsi: stopped listening on %s", canon);
	return 0;
}

void iscsi_portal_foreach_locked(struct daemon *d,
				 void (*fn)(const char *addr_port, unsigned tpg, void *arg),
				 void *arg)
{
	struct list_node *n;

	list_for_each(n, &d->portals)
	{
		struct iscsi_portal *p = list_entry(n, struct iscsi_portal, node);

		fn(p->addr, p->tpgt, arg);
	}
}

void iscsi_portal_foreach(struct daemon *d,
			  void (*fn)(const char *addr_port, unsigned tpg, void *arg), void *arg)
{
	pthread_mutex_lock(&d->lock);
	iscsi_portal_foreach_locked(d, fn, arg);
	pthread_mutex_unlock(&d->lock);
}

void iscsi_portal_close_all(struct daemon *d)
{
	struct list_node *n, *tmp;

	pthread_mutex_lock(&d->lock);
	list_for_each_safe(n, tmp, &d->portals)
	{
		struct iscsi_portal *p = list_entry(n, struct iscsi_portal, node);

		list_del(&p->node);
		alua_group_unref(&d->alua_groups, p->tpgt);
		ev_fd_del(d->main_loop, &p->evfd);
		close(p->evfd.fd);
		free(p);
	}
	pthread_mutex_unlock(&d->lock);
}
