/* A counter that many threads change and one rarely reads: each thread adds to its own slot,
 * on its own cache line, and the reader sums the slots. On the command path a single shared
 * atomic (per LU: commands admitted, writes in flight) bounces its cache line between the
 * workers' CPUs on every command once sessions on several workers use the same LU.
 *
 * Every operation is sequentially consistent, like the atomic it replaces, so the protocols
 * built on it still hold: "count, then read a flag" on one side and "set the flag, then read the
 * count" (pcount_sum reads every slot) on the other cannot both miss each other. A thread may
 * decrement a slot it did not increment (the sum is what counts, modulo 2^32); a slot is only
 * a thread's own in the sense of where it usually writes. */
#ifndef INVAR_RT_PCOUNT_H
#define INVAR_RT_PCOUNT_H

#include <stdatomic.h>

#define PCOUNT_SLOTS 8
#define PCOUNT_LINE 64

struct pcount {
	/* The leading pad keeps slot 0 off the line of whatever precedes the counter. */
	char pad0[PCOUNT_LINE];
	struct {
		atomic_uint n;
		char pad[PCOUNT_LINE - sizeof(atomic_uint)];
	} slot[PCOUNT_SLOTS];
};

/* This thread's slot (assigned at its first use, threads in turn). */
unsigned pcount_slot(void);

static inline void pcount_add(struct pcount *c, unsigned v)
{
	atomic_fetch_add(&c->slot[pcount_slot()].n, v);
}

static inline void pcount_sub(struct pcount *c, unsigned v)
{
	atomic_fetch_sub(&c->slot[pcount_slot()].n, v);
}

static inline unsigned pcount_sum(const struct pcount *c)
{
	unsigned s = 0;

	for (unsigned i = 0; i < PCOUNT_SLOTS; i++)
		s += atomic_load(&((struct pcount *)c)->slot[i].n);
	return s;
}

#endif
