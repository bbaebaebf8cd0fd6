/* A handler that breaks the ring on purpose (t_67), speaking the raw protocol of
 * include/invar/handler-ring.h without libinvar-handler:
 *   hostile-handler SOCKET NAME unknown|duplicate|hang|garbage
 * unknown: completes the first command with a tag never issued; duplicate: completes it twice;
 * hang: never completes it; garbage: writes a completion index far ahead. The daemon must
 * kill it and keep serving everyone else. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "invar/handler-ring.h"

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct invar_handler_msg_hello hello = { 0 };
	struct invar_handler_msg_attach at;
	struct invar_handler_msg_ready ready = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	struct iovec iov = { &at, sizeof(at) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct invar_ring_mailbox *mb;
	int fds[253], s, i;
	uint8_t *shm;

	if (argc != 4)
		return 2;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	hello.hdr = (struct invar_handler_msg_hdr){ INVAR_HANDLER_MSG_MAGIC, INVAR_HANDLER_MSG_HELLO,
						    sizeof(hello) };
	hello.version_major = INVAR_RING_VERSION_MAJOR;
	snprintf(hello.name, sizeof(hello.name), "%s", argv[2]);
	/* Like libinvar-handler: wait while the previous handler of the LU is being detached. */
	for (i = 0;; i++) {
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return perror("connect"), 1;
		if (write(s, &hello, sizeof(hello)) != sizeof(hello) ||
		    recvmsg(s, &mh, MSG_WAITALL) != sizeof(at))
			return fprintf(stderr, "attach failed\n"), 1;
		if (at.status == 0)
			break;
		if (at.status != -EBUSY || i == 100)
			return fprintf(stderr, "attach refused: %d\n", at.status), 1;
		close(s);
		mh.msg_controllen = sizeof(cbuf);
		usleep(100 * 1000);
	}
	memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int) * at.nfds);
	shm = mmap(NULL, at.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (shm == MAP_FAILED)
		return perror("mmap"), 1;
	mb = (struct invar_ring_mailbox *)shm;
	mb->handler_version_major = INVAR_RING_VERSION_MAJOR;
	mb->handler_features = mb->daemon_features;
	ready.hdr = (struct invar_handler_msg_hdr){ INVAR_HANDLER_MSG_MAGIC, INVAR_HANDLER_MSG_READY,
						    sizeof(ready) };
	ready.features = mb->handler_features;
	if (write(s, &ready, sizeof(ready)) != sizeof(ready))
		return 1;
	/* Wait for the first command on any queue, then misbehave on that queue. */
	for (;;) {
		for (i = 0; i < (int)mb->queue_count; i++) {
			uint8_t *q = shm + mb->queue_offset + (uint64_t)i * mb->queue_stride;
			struct invar_ring_queue *rq = (struct invar_ring_queue *)q;
			struct invar_ring_cmd c;
			struct invar_ring_cpl cpl = { .entry_size = sizeof(cpl) };
			uint64_t one = 1;

			if (__atomic_load_n(&rq->cmd_prod, __ATOMIC_ACQUIRE) == 0)
				continue;
			memcpy(&c, q + mb->cmd_ring_offset, sizeof(c));
			fprintf(stderr, "hostile: command tag 0x%llx on queue %d: %s\n",
				(unsigned long long)c.tag, i, argv[3]);
			if (!strcmp(argv[3], "hang"))
				pause();
			cpl.tag = !strcmp(argv[3], "unknown") ? c.tag ^ (1ull << 40) : c.tag;
			memcpy(q + mb->cpl_ring_offset, &cpl, sizeof(cpl));
			memcpy(q + mb->cpl_ring_offset + mb->cpl_entry_size, &cpl, sizeof(cpl));
			__atomic_store_n(&rq->cpl_prod,
					 !strcmp(argv[3], "garbage")	 ? 100000u
					 : !strcmp(argv[3], "duplicate") ? 2u
									 : 1u,
					 __ATOMIC_RELEASE);
			if (write(fds[2 + 2 * i], &one, sizeof(one)) < 0)
				return 1;
			pause(); /* the daemon kills us */
		}
		usleep(1000);
	}
}
