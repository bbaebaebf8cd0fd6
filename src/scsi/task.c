/* Task buffers and release. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt/bufcache.h"
#include "scsi/lu.h"
#include "scsi/migsm.h"
#include "scsi/stats.h"
#include "scsi/task.h"

int scsi_task_alloc_buf(struct scsi_task *t, uint32_t len)
{
	uint8_t *b;
	size_t cap;

	if (t->buf_lent)
		return -EINVAL; /* the backstore's memory: never grown or handed to the cache */
	if (!t->buf)
		t->buf_len = t->buf_cap = 0;
	if (t->buf && t->buf_len >= len)
		return 0;
	/* Grow keeps what is there and zeroes the new tail: VERIFY reads the medium after the
	 * data-out it compares with. Buffers come from the thread's cache (bufcache.h). */
	if (!t->buf || len > t->buf_cap) {
		b = bufcache_get(len, &cap);
		if (!b)
			return -ENOMEM;
		if (t->buf) {
			memcpy(b, t->buf, t->buf_len);
			bufcache_put(t->buf, t->buf_cap);
		}
		t->buf = b;
		t->buf_cap = (uint32_t)cap;
	}
	memset(t->buf + t->buf_len, 0, len - t->buf_len);
	t->buf_len = len;
	return 0;
}

uint32_t scsi_task_data_out_received(const struct scsi_task *t)
{
	uint32_t n = t->data_out_len;

	if (n > t->exp_xfer_len)
		n = t->exp_xfer_len;
	if (t->iov)
		return n < t->iov_len ? n : t->iov_len;
	if (!t->buf)
		return 0;
	return n < t->buf_len ? n : t->buf_len;
}

void scsi_task_release(struct scsi_task *t)
{
	/* Counted before the buffer and the LU go: the outcome is final here (scsi/stats.h). */
	scsi_stats_task_end(t);
	/* A lent buffer goes back before the LU reference: the backstore lives as long as it. */
	if (t->buf_lent) {
		t->buf_lent = false;
		t->io.bs.buf_return(&t->io.bs);
	} else {
		bufcache_put(t->buf, t->buf_cap);
	}
	t->buf = NULL;
	t->buf_len = 0;
	t->buf_cap = 0;
	if (t->lu) {
		if (t->mig_counted)
			lu_mig_release(t->lu);
		t->mig_counted = false;
		if (!t->lu_borrowed)
			lu_put(t->lu);
		t->lu = NULL;
	}
}
