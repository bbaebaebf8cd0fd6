#include "rt/pcount.h"

static atomic_uint pcount_next;
static __thread unsigned pcount_mine; /* slot + 1; 0 = not assigned yet */

unsigned pcount_slot(void)
{
	if (!pcount_mine)
		pcount_mine = atomic_fetch_add_explicit(&pcount_next, 1, memory_order_relaxed) %
				      PCOUNT_SLOTS + 1;
	return pcount_mine - 1;
}
