/* How long a file's buffered writes leave the worker thread after one of them slept (see enum
 * file_wr in file.c): a pure function, so the policy is unit-tested apart from a disk that
 * throttles. Times are CLOCK_MONOTONIC nanoseconds. */
#ifndef INVAR_BACKSTORE_FILE_WR_BACKOFF_H
#define INVAR_BACKSTORE_FILE_WR_BACKOFF_H

#include <stdint.h>

#define FILE_WR_BACKOFF_MIN_NS 1000000000ull  /* 1 s */
#define FILE_WR_BACKOFF_MAX_NS 64000000000ull /* 64 s */
#define FILE_WR_CALM 4 /* back-offs without a sleeping write before it starts again at MIN */

/* A write slept at `now`; the last back-off was `last` ns long and ended at `until` (0: there
 * was none). Returns the next back-off: twice the last (at most MAX) when the last ended less
 * than FILE_WR_CALM back-offs ago, so a disk that keeps throttling stalls a worker less and
 * less often; MIN otherwise. */
static inline uint64_t file_wr_backoff_next(uint64_t until, uint64_t last, uint64_t now)
{
	if (last < FILE_WR_BACKOFF_MIN_NS)
		last = FILE_WR_BACKOFF_MIN_NS;
	if (!until || now < until || now - until >= FILE_WR_CALM * last)
		return until && now < until ? last : FILE_WR_BACKOFF_MIN_NS;
	return last * 2 > FILE_WR_BACKOFF_MAX_NS ? FILE_WR_BACKOFF_MAX_NS : last * 2;
}

#endif
