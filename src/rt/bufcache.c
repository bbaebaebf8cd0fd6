/* Per-thread buffer cache: see bufcache.h. */
#include "rt/bufcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define BUFCACHE_MIN_SHIFT 12			/* 4 KiB */
#define BUFCACHE_CLASSES 9			/* 4 KiB .. 1 MiB */
#define BUFCACHE_DEPTH 64			/* buffers kept per class */
#define BUFCACHE_BUDGET (16u << 20)		/* bytes kept per thread, all classes */

struct bufcache {
	void *free[BUFCACHE_CLASSES][BUFCACHE_DEPTH];
	unsigned n[BUFCACHE_CLASSES];
	size_t bytes;
};

static __thread struct bufcache *tcache;
static pthread_key_t tcache_key;
static pthread_once_t tcache_once = PTHREAD_ONCE_INIT;

/* Thread exit: give everything back. */
static void bufcache_destroy(void *arg)
{
	struct bufcache *c = arg;
	unsigned i;

	for (i = 0; i < BUFCACHE_CLASSES; i++)
		while (c->n[i])
			free(c->free[i][--c->n[i]]);
	free(c);
}

static void bufcache_key_init(void)
{
	/* Without a key (cannot happen short of resource exhaustion) nothing is cached. */
	if (pthread_key_create(&tcache_key, bufcache_destroy) != 0)
		tcache_key = (pthread_key_t)-1;
}

static struct bufcache *bufcache_self(void)
{
	struct bufcache *c;

	if (tcache)
		return tcache;
	pthread_once(&tcache_once, bufcache_key_init);
	if (tcache_key == (pthread_key_t)-1)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (pthread_setspecific(tcache_key, c) != 0) {
		free(c);
		return NULL;
	}
	tcache = c;
	return c;
}

/* The class holding len bytes, or -1 when len is beyond the largest. */
static int bufcache_class(size_t len)
{
	int i;

	for (i = 0; i < BUFCACHE_CLASSES; i++)
		if (len <= ((size_t)1 << (BUFCACHE_MIN_SHIFT + i)))
			return i;
	return -1;
}

void *bufcache_get(size_t len, size_t *cap)
{
	int cls = bufcache_class(len ? len : 1);
	struct bufcache *c;
	size_t size;

	if (cls < 0) {
		*cap = len;
		return malloc(len);
	}
	size = (size_t)1 << (BUFCACHE_MIN_SHIFT + cls);
	c = bufcache_self();
	*cap = size;
	if (c && c->n[cls]) {
		c->bytes -= size;
		return c->free[cls][--c->n[cls]];
	}
	return malloc(size);
}

void bufcache_put(void *buf, size_t cap)
{
	int cls;
	struct bufcache *c;

	if (!buf)
		return;
	cls = bufcache_class(cap);
	/* Only exact class sizes come from bufcache_get's cached path. */
	if (cls < 0 || cap != ((size_t)1 << (BUFCACHE_MIN_SHIFT + cls))) {
		free(buf);
		return;
	}
	c = bufcache_self();
	if (!c || c->n[cls] >= BUFCACHE_DEPTH || c->bytes + cap > BUFCACHE_BUDGET) {
		free(buf);
		return;
	}
	c->free[cls][c->n[cls]++] = buf;
	c->bytes += cap;
}
