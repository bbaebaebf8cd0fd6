/* A SCSI task: one command as it passes fabric -> core -> backstore and back.
 *
 * Life of a task (docs/design/scsi-core.md has the full story):
 *   1. the fabric fills the "fabric in" fields and calls scsi_task_setup();
 *   2. setup decodes the CDB and says how much data the command moves (data_out_len for writes,
 *      data_in_len once executed for reads); if it fails the task is already complete with
 *      CHECK CONDITION (the fabric still drains any unsolicited data it was sent);
 *   3. for writes, the fabric collects data_out_len bytes into buf (immediate, unsolicited,
 *      R2T-solicited) and calls scsi_task_execute();
 *   4. the core executes (maybe through the backstore, asynchronously) and calls done() on the
 *      same thread exactly once; for reads, buf holds data_in_len bytes;
 *   5. the fabric sends data and status, then calls scsi_task_release().
 */
#ifndef INVAR_SCSI_TASK_H
#define INVAR_SCSI_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "scsi/lu_io.h"
#include "scsi/limits.h"

struct lu;
struct it_nexus;
struct scsi_cmd;
struct lun_view;
struct worker;
struct scsi_stats;

enum scsi_dir {
	SCSI_DIR_NONE = 0,
	SCSI_DIR_READ,		/* data-in: target -> initiator */
	SCSI_DIR_WRITE,		/* data-out: initiator -> target */
};

enum scsi_task_attr {
	SCSI_ATTR_UNTAGGED = 0,
	SCSI_ATTR_SIMPLE,
	SCSI_ATTR_ORDERED,
	SCSI_ATTR_HEAD_OF_QUEUE,
	SCSI_ATTR_ACA,
};

/* SCSI status codes (SAM-5 5.3.1). */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_CONDITION_MET 0x04
#define SCSI_STATUS_BUSY 0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL 0x28
#define SCSI_STATUS_ACA_ACTIVE 0x30
#define SCSI_STATUS_TASK_ABORTED 0x40

struct scsi_task {
	/* Fabric in. */
	struct worker *worker;		/* the thread the task lives on */
	const struct it_nexus *nexus;
	const struct lun_view *view;	/* for REPORT LUNS */
	struct lu *lu;			/* the addressed LU with a reference, or NULL if unmapped */
	uint64_t lun;			/* LUN as addressed (decoded to a flat number) */
	uint8_t cdb[SCSI_CDB_MAX];
	uint16_t cdb_len;
	enum scsi_task_attr attr;
	uint32_t exp_xfer_len;		/* iSCSI Expected Data Transfer Length */
	enum scsi_dir fabric_dir;	/* from the fabric's R/W flags */
	void (*done)(struct scsi_task *t);
	void *fabric_priv;
	/* Fabric in, optional: the initiator's own memory for the data (vhost-user: guest RAM),
	 * iovcnt segments of iov_len bytes in all. Set after setup, only when
	 * scsi_task_iov_direct() says the command moves its data straight between the backstore
	 * and them (READ, WRITE) and iov_len is exactly data_in_max (a read) or data_out_len (a
	 * write); buf is then unused. The array is the fabric's, consumed by the backstore. */
	struct iovec *iov;
	unsigned iovcnt;
	uint32_t iov_len;

	/* Set by scsi_task_setup(). */
	enum scsi_dir dir;		/* what the CDB transfers */
	uint32_t data_out_len;		/* bytes of data-out the command consumes */
	uint32_t data_in_max;		/* the most data-in the command may return */

	/* Data. For writes the fabric allocates buf (scsi_task_alloc_buf) and fills data_out_len
	 * bytes; for reads the core allocates it and sets data_in_len. */
	uint8_t *buf;
	uint32_t buf_len;
	uint32_t buf_cap;		/* core private: the allocation's size (bufcache) */
	bool buf_lent;			/* core private: buf is the backstore's (io.bs.buf_return) */
	uint32_t data_in_len;		/* data-in bytes produced (before EDTL truncation) */

	/* Result, valid in done(). */
	uint8_t status;
	uint8_t sense_len;
	uint8_t sense[SCSI_SENSE_MAX];
	bool aborted;			/* set by task management: complete without a response */

	/* Core private. */
	struct lu_io io;		/* its backstore I/O (scsi/lu_io.h) */
	uint64_t lba;
	uint32_t nblocks;
	uint32_t core_flags;
	bool mig_counted;		/* counted in lu->mig.inflight (scsi/migsm.c) */
	const struct scsi_cmd *cmd;	/* its dispatch-table row (scsi/dispatch.h) */
	/* Fabric in: lu is kept alive by the fabric for the task's whole life (a LUN view that
	 * holds a reference on it), so the task took none and release drops none. Saves an
	 * atomic on a cache line every worker's commands to that LU would share. */
	bool lu_borrowed;
	/* Statistics (scsi/stats.h): counted from setup to release. */
	bool stats_started;
	uint64_t start_ns;		/* CLOCK_MONOTONIC at setup */
	struct scsi_stats *lu_stats;	/* the LU's slot of this worker, or NULL */
	struct scsi_stats *nexus_stats;	/* nexus->stats at setup (the session outlives it);
					 * a fabric may set it before setup instead */
};

/* Allocate (or grow) task->buf to len bytes, zeroed. Returns 0 or -ENOMEM. Released by
 * scsi_task_release(). */
int scsi_task_alloc_buf(struct scsi_task *t, uint32_t len);
/* Data-out actually received: data_out_len, cut to EDTL and to what the fabric stored in buf
 * (SAM-5 5.4.3: an initiator may send less than the CDB says). */
uint32_t scsi_task_data_out_received(const struct scsi_task *t);
/* After a successful scsi_task_setup(): whether the command (READ or WRITE of any size) can take
 * the initiator's memory as task->iov instead of buf. */
bool scsi_task_iov_direct(const struct scsi_task *t);
/* Free the buffer and drop the LU reference. The struct itself belongs to the fabric. */
void scsi_task_release(struct scsi_task *t);

#endif
