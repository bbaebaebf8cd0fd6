/* Prints the layout of every struct of the handler ring ABI, one "struct.field offset size"
 * line each (reserved and padding fields left out: later minors carve fields from them).
 * `make abi-check` requires every line of tests/abi/ring-layout.txt to be printed unchanged:
 * fields may be added, never moved, resized or removed. */
#include <stddef.h>
#include <stdio.h>

#include "invar/handler-ring.h"

#define F(s, f) printf("%s.%s %zu %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define S(s) printf("%s sizeof %zu\n", #s, sizeof(struct s))

int main(void)
{
	printf("INVAR_RING_VERSION_MAJOR %d\nINVAR_RING_MAGIC 0x%08x\nINVAR_HANDLER_MSG_MAGIC 0x%08x\n",
	       INVAR_RING_VERSION_MAJOR, INVAR_RING_MAGIC, INVAR_HANDLER_MSG_MAGIC);
	printf("INVAR_RING_F_FUA %llu\nINVAR_RING_F_UNMAP %llu\nINVAR_RING_F_WRITE_ZEROES %llu\n",
	       INVAR_RING_F_FUA, INVAR_RING_F_UNMAP, INVAR_RING_F_WRITE_ZEROES);
	printf("INVAR_RING_F_CPL_WAKE_FLAG %llu\nINVAR_RING_F_READ_IN_PLACE %llu\n",
	       INVAR_RING_F_CPL_WAKE_FLAG, INVAR_RING_F_READ_IN_PLACE);
	printf("INVAR_OP_READ %d\nINVAR_OP_WRITE %d\nINVAR_OP_FLUSH %d\nINVAR_OP_UNMAP %d\n"
	       "INVAR_OP_WRITE_ZEROES %d\nINVAR_CMD_F_FUA %u\n",
	       INVAR_OP_READ, INVAR_OP_WRITE, INVAR_OP_FLUSH, INVAR_OP_UNMAP,
	       INVAR_OP_WRITE_ZEROES, INVAR_CMD_F_FUA);
	printf("INVAR_HANDLER_MSG_HELLO %d\nINVAR_HANDLER_MSG_ATTACH %d\nINVAR_HANDLER_MSG_READY %d\n",
	       INVAR_HANDLER_MSG_HELLO, INVAR_HANDLER_MSG_ATTACH, INVAR_HANDLER_MSG_READY);
	S(invar_ring_mailbox);
	F(invar_ring_mailbox, magic);
	F(invar_ring_mailbox, version_major);
	F(invar_ring_mailbox, version_minor);
	F(invar_ring_mailbox, mailbox_size);
	F(invar_ring_mailbox, queue_header_size);
	F(invar_ring_mailbox, cmd_entry_size);
	F(invar_ring_mailbox, cpl_entry_size);
	F(invar_ring_mailbox, shm_size);
	F(invar_ring_mailbox, daemon_features);
	F(invar_ring_mailbox, handler_features);
	F(invar_ring_mailbox, handler_version_major);
	F(invar_ring_mailbox, handler_version_minor);
	F(invar_ring_mailbox, lu_size);
	F(invar_ring_mailbox, block_size);
	F(invar_ring_mailbox, queue_count);
	F(invar_ring_mailbox, queue_offset);
	F(invar_ring_mailbox, queue_stride);
	F(invar_ring_mailbox, cmd_entries);
	F(invar_ring_mailbox, cpl_entries);
	F(invar_ring_mailbox, cmd_ring_offset);
	F(invar_ring_mailbox, cpl_ring_offset);
	F(invar_ring_mailbox, data_offset);
	F(invar_ring_mailbox, data_size);
	F(invar_ring_mailbox, max_io_size);
	S(invar_ring_queue);
	F(invar_ring_queue, cmd_prod);
	F(invar_ring_queue, cmd_cons);
	F(invar_ring_queue, handler_sleeping);
	F(invar_ring_queue, cpl_prod);
	F(invar_ring_queue, cpl_cons);
	F(invar_ring_queue, daemon_sleeping);
	S(invar_ring_cmd);
	F(invar_ring_cmd, entry_size);
	F(invar_ring_cmd, opcode);
	F(invar_ring_cmd, flags);
	F(invar_ring_cmd, tag);
	F(invar_ring_cmd, offset);
	F(invar_ring_cmd, length);
	F(invar_ring_cmd, data_offset);
	S(invar_ring_cpl);
	F(invar_ring_cpl, entry_size);
	F(invar_ring_cpl, result);
	F(invar_ring_cpl, tag);
	S(invar_handler_msg_hdr);
	F(invar_handler_msg_hdr, magic);
	F(invar_handler_msg_hdr, type);
	F(invar_handler_msg_hdr, size);
	S(invar_handler_msg_hello);
	F(invar_handler_msg_hello, version_major);
	F(invar_handler_msg_hello, version_minor);
	F(invar_handler_msg_hello, features);
	F(invar_handler_msg_hello, name);
	S(invar_handler_msg_attach);
	F(invar_handler_msg_attach, status);
	F(invar_handler_msg_attach, nfds);
	F(invar_handler_msg_attach, shm_size);
	F(invar_handler_msg_attach, reason);
	S(invar_handler_msg_ready);
	F(invar_handler_msg_ready, status);
	F(invar_handler_msg_ready, features);
	return 0;
}
