/* The invar handler ring: the binary contract between invard and an out-of-process backstore
 * handler. This header is the ABI; docs/HANDLER-ABI.md explains the promises and the rules for
 * changing it. Most handlers should use libinvar-handler (<invar/handler.h>) instead of this
 * header directly.
 *
 * Overview
 *   A handler connects to the daemon's handler socket (a Unix stream socket, by default
 *   DATA_DIR/handler.sock, beside the control socket DATA_DIR/invar.sock) and sends a HELLO
 *   naming the user LU it serves. The daemon answers with an ATTACH message and, through
 *   SCM_RIGHTS, one memfd (the shared memory) and two eventfds per queue. The handler maps the
 *   memfd, checks the mailbox, writes the features it accepts, and sends READY. From then on all
 *   I/O goes through the shared memory; the socket only says "alive": when it closes, the daemon
 *   fails the handler's unfinished commands with a retryable SCSI status and waits for a new
 *   handler.
 *
 * Shared memory layout (all offsets in bytes, from the start of the memfd)
 *   [0, mailbox_size)                      struct invar_ring_mailbox
 *   queue q at queue_offset + q * queue_stride:
 *     +0                                   struct invar_ring_queue (the four ring indices)
 *     +cmd_ring_offset                     cmd_entries command entries, cmd_entry_size apart
 *     +cpl_ring_offset                     cpl_entries completion entries, cpl_entry_size apart
 *     +data_offset                         data_size bytes of I/O buffers for this queue
 *   One queue per daemon worker thread: queue q is only ever written by worker q and by the
 *   handler thread serving q, so neither side takes a lock per I/O.
 *
 * Encoding
 *   Every multi-byte field is little-endian. The ABI is defined for little-endian hosts only
 *   (x86-64, aarch64, riscv64, ...), where the four ring indices, which both sides update with
 *   atomic loads and stores, are plain native uint32_t. There are no pointers anywhere: only
 *   offsets, each of which the reader checks against the mapped size before use.
 *
 * Rings
 *   Single producer, single consumer, free-running uint32_t indices (they wrap at 2^32); the
 *   number of entries is a power of two, and entry i lives in slot (i & (entries - 1)).
 *     command ring:    the daemon produces (cmd_prod), the handler consumes (cmd_cons)
 *     completion ring: the handler produces (cpl_prod), the daemon consumes (cpl_cons)
 *   A producer fills the entry, then stores the new producer index with release ordering; a
 *   consumer loads the producer index with acquire ordering, copies the entry out, then stores
 *   its consumer index with release ordering.
 *
 * Wake-ups
 *   cmd eventfd (daemon -> handler): before sleeping, the handler stores 1 in handler_sleeping,
 *     issues a full barrier, and checks the command ring once more; the daemon, after
 *     publishing commands and a full barrier, writes the eventfd only if handler_sleeping is 1.
 *     The handler stores 0 when it wakes. The daemon publishes each command at once but writes
 *     the eventfd at most once per pass of its event loop, so a batch costs one wake-up.
 *   cpl eventfd (handler -> daemon): written by the handler after publishing one or more
 *     completions. The daemon's worker watches it in its event loop, and also takes whatever
 *     completions are published at the end of every pass, before it sleeps.
 *   With INVAR_RING_F_CPL_WAKE_FLAG accepted (1.1) the cpl direction uses the same protocol
 *     mirrored: before sleeping the daemon stores 1 in daemon_sleeping, issues a full barrier
 *     and checks the completion ring once more; the handler, after publishing completions and a
 *     full barrier, writes the cpl eventfd only if daemon_sleeping is 1. The daemon stores 0
 *     while it is awake and serving the queue. Without the bit the handler writes the cpl
 *     eventfd after every batch, as in 1.0, and daemon_sleeping means nothing.
 *
 * Versions and features
 *   version_major changes only for incompatible changes; a side refuses a different major.
 *   version_minor grows when fields are appended (in reserved space or at the end of a struct,
 *   whose size is announced in the mailbox) or feature bits are defined. Behaviour that an older
 *   peer could not handle is gated by a feature bit: the daemon offers bits in daemon_features,
 *   the handler accepts a subset in handler_features, and only accepted behaviour is used.
 */
#ifndef INVAR_HANDLER_RING_H
#define INVAR_HANDLER_RING_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the invar handler ring ABI is defined for little-endian hosts only"
#endif

#define INVAR_RING_VERSION_MAJOR 1
#define INVAR_RING_VERSION_MINOR 1

/* "INVR" as bytes in memory: first field of the mailbox. */
#define INVAR_RING_MAGIC 0x52564e49u
/* "INVH" as bytes: first field of every socket message. */
#define INVAR_HANDLER_MSG_MAGIC 0x48564e49u

/* Feature bits (daemon_features / handler_features, HELLO.features). Accepting a bit is a
 * promise by the handler; an unaccepted bit's behaviour is never used by the daemon. */
#define INVAR_RING_F_FUA (1ull << 0)          /* honour INVAR_CMD_F_FUA on writes */
#define INVAR_RING_F_UNMAP (1ull << 1)        /* INVAR_OP_UNMAP: deallocate, reads back zeroes */
#define INVAR_RING_F_WRITE_ZEROES (1ull << 2) /* INVAR_OP_WRITE_ZEROES */
/* 1.1: the handler writes the cpl eventfd only while the daemon has announced, in
 * invar_ring_queue.daemon_sleeping, that it may sleep (see "Wake-ups" above). Accepting it
 * promises the handler checks daemon_sleeping after publishing completions; the daemon, in
 * turn, keeps daemon_sleeping at 1 whenever it may sleep with completions outstanding. */
#define INVAR_RING_F_CPL_WAKE_FLAG (1ull << 3)
/* 1.1: the daemon may send a READ's data to the initiator straight from the data area, after
 * the completion, instead of copying it out first. Accepting it promises the handler writes a
 * command's data area only while it serves the command, never after publishing its completion
 * (the daemon does not reuse that area for other commands until it has sent the data). */
#define INVAR_RING_F_READ_IN_PLACE (1ull << 4)
/* The bits of version 1.0. */
#define INVAR_RING_F_ALL_V1 (INVAR_RING_F_FUA | INVAR_RING_F_UNMAP | INVAR_RING_F_WRITE_ZEROES)
/* Every bit defined by this version of the header (1.1). */
#define INVAR_RING_F_ALL_V1_1                                                                      \
	(INVAR_RING_F_ALL_V1 | INVAR_RING_F_CPL_WAKE_FLAG | INVAR_RING_F_READ_IN_PLACE)

/* Longest LU name in HELLO, without the terminating NUL. Names use [A-Za-z0-9._-]. */
#define INVAR_HANDLER_NAME_MAX 63

/* ---- shared memory --------------------------------------------------------------------- */

/* At offset 0 of the memfd. Written by the daemon before it sends the fds, except the
 * handler_* fields, which the handler writes before READY. 256 bytes. */
struct invar_ring_mailbox {
	uint32_t magic;                 /*   0 INVAR_RING_MAGIC */
	uint16_t version_major;         /*   4 the daemon's INVAR_RING_VERSION_MAJOR */
	uint16_t version_minor;         /*   6 the daemon's INVAR_RING_VERSION_MINOR */
	uint32_t mailbox_size;          /*   8 sizeof(struct invar_ring_mailbox) in the daemon */
	uint32_t queue_header_size;     /*  12 sizeof(struct invar_ring_queue) in the daemon */
	uint32_t cmd_entry_size;        /*  16 stride of the command ring, >= 64 */
	uint32_t cpl_entry_size;        /*  20 stride of the completion ring, >= 32 */
	uint64_t shm_size;              /*  24 bytes of the memfd the daemon mapped */
	uint64_t daemon_features;       /*  32 INVAR_RING_F_* the daemon offers */
	uint64_t handler_features;      /*  40 handler: the subset of daemon_features it accepts */
	uint16_t handler_version_major; /*  48 handler: its INVAR_RING_VERSION_MAJOR */
	uint16_t handler_version_minor; /*  50 handler: its INVAR_RING_VERSION_MINOR */
	uint32_t reserved0;             /*  52 zero */
	uint64_t lu_size;               /*  56 bytes the LU exposes: every command is inside it */
	uint32_t block_size;            /*  64 the LU's logical block size (512 or 4096) */
	uint32_t queue_count;           /*  68 number of queues, >= 1 */
	uint64_t queue_offset;          /*  72 offset of queue 0 */
	uint64_t queue_stride;          /*  80 distance between queues */
	uint32_t cmd_entries;           /*  88 command ring entries, a power of two */
	uint32_t cpl_entries;           /*  92 completion ring entries, a power of two */
	uint64_t cmd_ring_offset;       /*  96 from the queue's start */
	uint64_t cpl_ring_offset;       /* 104 from the queue's start */
	uint64_t data_offset;           /* 112 from the queue's start */
	uint64_t data_size;             /* 120 bytes of data area per queue */
	uint64_t max_io_size;           /* 128 largest length of a READ or WRITE command */
	uint8_t reserved[120];          /* 136 zero; later minors append fields here */
};

/* At the start of each queue: the ring indices, each written by one side only and kept on a
 * cache line of its own. 256 bytes. */
struct invar_ring_queue {
	uint32_t cmd_prod;         /*   0 daemon: commands published */
	uint8_t pad0[60];
	uint32_t cmd_cons;         /*  64 handler: commands taken */
	uint32_t handler_sleeping; /*  68 handler: 1 while it waits on the cmd eventfd */
	uint8_t pad1[56];
	uint32_t cpl_prod;         /* 128 handler: completions published */
	uint8_t pad2[60];
	uint32_t cpl_cons;         /* 192 daemon: completions taken */
	uint32_t daemon_sleeping;  /* 196 daemon (1.1, F_CPL_WAKE_FLAG): 1 while it may sleep; the
				    *     handler reads it, never writes it */
	uint8_t pad3[56];
};

/* Command opcodes. */
#define INVAR_OP_READ 1         /* fill data[0, length) from the LU at offset */
#define INVAR_OP_WRITE 2        /* store data[0, length) at offset */
#define INVAR_OP_FLUSH 3        /* make every completed write durable; offset = length = 0 */
#define INVAR_OP_UNMAP 4        /* deallocate [offset, offset+length); reads back as zeroes */
#define INVAR_OP_WRITE_ZEROES 5 /* make [offset, offset+length) read as zeroes */

/* Command flags. */
#define INVAR_CMD_F_FUA (1u << 0) /* WRITE: durable before its completion (F_FUA accepted) */

/* A command: daemon -> handler. 64 bytes; the ring stride is mailbox.cmd_entry_size, so later
 * versions may append fields that older handlers skip. */
struct invar_ring_cmd {
	uint16_t entry_size;  /*  0 bytes of this entry that are defined (64 in version 1.0) */
	uint8_t opcode;       /*  2 INVAR_OP_* */
	uint8_t reserved0;    /*  3 zero */
	uint32_t flags;       /*  4 INVAR_CMD_F_* */
	uint64_t tag;         /*  8 opaque; echoed in the completion */
	uint64_t offset;      /* 16 byte offset in the LU */
	uint64_t length;      /* 24 bytes */
	uint64_t data_offset; /* 32 READ/WRITE: where the data is, from the queue's data area */
	uint8_t reserved[24]; /* 40 zero */
};

/* A completion: handler -> daemon. 32 bytes. */
struct invar_ring_cpl {
	uint16_t entry_size;  /*  0 bytes defined: 32 */
	uint16_t reserved0;   /*  2 zero */
	int32_t result;       /*  4 0, or a negative Linux errno: -EIO, -ENOSPC, -EDQUOT, -EROFS,
			       *    -ENOMEM, -EOPNOTSUPP; -EBUSY and -EAGAIN ask the initiator to
			       *    retry. Other values are reported as -EIO. */
	uint64_t tag;         /*  8 the command's tag: exactly once per command */
	uint8_t reserved[16]; /* 16 zero */
};

/* ---- socket messages (SOCK_STREAM, each message whole, little-endian) ------------------- */

#define INVAR_HANDLER_MSG_HELLO 1  /* handler -> daemon */
#define INVAR_HANDLER_MSG_ATTACH 2 /* daemon -> handler, with the fds when status == 0 */
#define INVAR_HANDLER_MSG_READY 3  /* handler -> daemon */

/* Common header of every message. */
struct invar_handler_msg_hdr {
	uint32_t magic; /* 0 INVAR_HANDLER_MSG_MAGIC */
	uint16_t type;  /* 4 INVAR_HANDLER_MSG_* */
	uint16_t size;  /* 6 bytes of the whole message, header included */
};

/* HELLO: which LU, and what the handler speaks. 128 bytes. */
struct invar_handler_msg_hello {
	struct invar_handler_msg_hdr hdr;   /*  0 */
	uint16_t version_major;             /*  8 the handler's INVAR_RING_VERSION_MAJOR */
	uint16_t version_minor;             /* 10 */
	uint32_t reserved0;                 /* 12 zero */
	uint64_t features;                  /* 16 INVAR_RING_F_* the handler knows */
	char name[INVAR_HANDLER_NAME_MAX + 1]; /* 24 the LU's NAME (user:NAME), NUL-terminated */
	uint8_t reserved[40];               /* 88 zero */
};

/* ATTACH: the daemon's answer. On success (status 0) the message carries 1 + 2 * queue_count
 * fds: the memfd, then for each queue its cmd eventfd and its cpl eventfd. 128 bytes. */
struct invar_handler_msg_attach {
	struct invar_handler_msg_hdr hdr; /*   0 */
	int32_t status;                   /*   8 0, or -errno: -ENOENT no such LU, -EBUSY another
					   *     handler serves it, -EPROTO version refused */
	uint32_t nfds;                    /*  12 number of fds passed */
	uint64_t shm_size;                /*  16 bytes to map */
	char reason[96];                  /*  24 human-readable, NUL-terminated */
	uint8_t reserved[8];              /* 120 zero */
};

/* READY: the handler has mapped the memory and written handler_features. 32 bytes. */
struct invar_handler_msg_ready {
	struct invar_handler_msg_hdr hdr; /*  0 */
	int32_t status;                   /*  8 0 = serving; -errno = giving up (with reason) */
	uint32_t reserved0;               /* 12 zero */
	uint64_t features;                /* 16 equal to mailbox.handler_features */
	uint8_t reserved[8];              /* 24 zero */
};

/* ---- layout guarantees ------------------------------------------------------------------ */

#define INVAR_RING_ASSERT_OFF(type, field, off)                                                    \
	_Static_assert(offsetof(struct type, field) == (off), #type "." #field " moved")

_Static_assert(sizeof(struct invar_ring_mailbox) == 256, "mailbox size");
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, magic, 0);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, version_major, 4);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, version_minor, 6);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, mailbox_size, 8);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, queue_header_size, 12);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, cmd_entry_size, 16);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, cpl_entry_size, 20);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, shm_size, 24);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, daemon_features, 32);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, handler_features, 40);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, handler_version_major, 48);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, handler_version_minor, 50);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, reserved0, 52);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, lu_size, 56);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, block_size, 64);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, queue_count, 68);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, queue_offset, 72);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, queue_stride, 80);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, cmd_entries, 88);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, cpl_entries, 92);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, cmd_ring_offset, 96);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, cpl_ring_offset, 104);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, data_offset, 112);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, data_size, 120);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, max_io_size, 128);
INVAR_RING_ASSERT_OFF(invar_ring_mailbox, reserved, 136);

_Static_assert(sizeof(struct invar_ring_queue) == 256, "queue header size");
INVAR_RING_ASSERT_OFF(invar_ring_queue, cmd_prod, 0);
INVAR_RING_ASSERT_OFF(invar_ring_queue, cmd_cons, 64);
INVAR_RING_ASSERT_OFF(invar_ring_queue, handler_sleeping, 68);
INVAR_RING_ASSERT_OFF(invar_ring_queue, cpl_prod, 128);
INVAR_RING_ASSERT_OFF(invar_ring_queue, cpl_cons, 192);
INVAR_RING_ASSERT_OFF(invar_ring_queue, daemon_sleeping, 196);

_Static_assert(sizeof(struct invar_ring_cmd) == 64, "command entry size");
INVAR_RING_ASSERT_OFF(invar_ring_cmd, entry_size, 0);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, opcode, 2);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, reserved0, 3);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, flags, 4);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, tag, 8);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, offset, 16);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, length, 24);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, data_offset, 32);
INVAR_RING_ASSERT_OFF(invar_ring_cmd, reserved, 40);

_Static_assert(sizeof(struct invar_ring_cpl) == 32, "completion entry size");
INVAR_RING_ASSERT_OFF(invar_ring_cpl, entry_size, 0);
INVAR_RING_ASSERT_OFF(invar_ring_cpl, reserved0, 2);
INVAR_RING_ASSERT_OFF(invar_ring_cpl, result, 4);
INVAR_RING_ASSERT_OFF(invar_ring_cpl, tag, 8);
INVAR_RING_ASSERT_OFF(invar_ring_cpl, reserved, 16);

_Static_assert(sizeof(struct invar_handler_msg_hdr) == 8, "message header size");
INVAR_RING_ASSERT_OFF(invar_handler_msg_hdr, magic, 0);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hdr, type, 4);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hdr, size, 6);

_Static_assert(sizeof(struct invar_handler_msg_hello) == 128, "HELLO size");
INVAR_RING_ASSERT_OFF(invar_handler_msg_hello, version_major, 8);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hello, version_minor, 10);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hello, reserved0, 12);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hello, features, 16);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hello, name, 24);
INVAR_RING_ASSERT_OFF(invar_handler_msg_hello, reserved, 88);

_Static_assert(sizeof(struct invar_handler_msg_attach) == 128, "ATTACH size");
INVAR_RING_ASSERT_OFF(invar_handler_msg_attach, status, 8);
INVAR_RING_ASSERT_OFF(invar_handler_msg_attach, nfds, 12);
INVAR_RING_ASSERT_OFF(invar_handler_msg_attach, shm_size, 16);
INVAR_RING_ASSERT_OFF(invar_handler_msg_attach, reason, 24);
INVAR_RING_ASSERT_OFF(invar_handler_msg_attach, reserved, 120);

_Static_assert(sizeof(struct invar_handler_msg_ready) == 32, "READY size");
INVAR_RING_ASSERT_OFF(invar_handler_msg_ready, status, 8);
INVAR_RING_ASSERT_OFF(invar_handler_msg_ready, reserved0, 12);
INVAR_RING_ASSERT_OFF(invar_handler_msg_ready, features, 16);
INVAR_RING_ASSERT_OFF(invar_handler_msg_ready, reserved, 24);

#endif
