/* Mapped I/O for files on tmpfs/ramfs (filemap.h).
 *
 * When: only a regular file on a memory file system, and only when the whole exposed range is
 * allocated (no hole, checked with SEEK_HOLE at open). A read fault on a tmpfs hole would
 * allocate a page, so reading a sparse file through the mapping would quietly make it dense
 * and change what GET LBA STATUS reports; a file without holes has nothing to lose. The file
 * backstore stops using the mapping for good once it punches a hole (UNMAP).
 *
 * Faults: touching a mapped page past the end of the file (someone truncated it) or a write
 * fault the file system cannot back (tmpfs full) raises SIGBUS. filemap_copy() arms a
 * per-thread jump buffer around the memcpy; the SIGBUS handler jumps back when it is armed, so
 * the copy reports failure and the caller falls back to pread/pwrite, which answer with EOF
 * zeroes or -ENOSPC as before. A SIGBUS anywhere else goes to the previous disposition. */
#include "backstore/file/filemap.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

/* volatile: memcpy is a builtin the compiler knows does not read this, so without it the store
 * that arms the guard could be dropped as dead. */
static __thread sigjmp_buf *volatile filemap_jmp;
static struct sigaction filemap_old_sigbus;
static pthread_mutex_t filemap_lock = PTHREAD_MUTEX_INITIALIZER;

static void filemap_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *j = filemap_jmp;

	if (j) {
		filemap_jmp = NULL;
		siglongjmp(*j, 1);
	}
	/* Not a guarded copy: restore what was there; returning re-runs the faulting access,
	 * which then gets the previous handler or the default action (a core dump). */
	sigaction(SIGBUS, &filemap_old_sigbus, NULL);
	(void)sig;
	(void)si;
	(void)uc;
}

/* Installs the handler unless it is already the one in place (something else, a test harness
 * for instance, may have replaced it since the last open). 0 or -errno. */
static int filemap_install(void)
{
	struct sigaction sa, cur;
	int ret = 0;

	pthread_mutex_lock(&filemap_lock);
	if (sigaction(SIGBUS, NULL, &cur) < 0) {
		ret = -errno;
		goto out;
	}
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == filemap_sigbus)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = filemap_sigbus;
	/* SA_NODEFER: siglongjmp out of the handler (savemask 0) must not leave SIGBUS
	 * blocked on the thread. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &filemap_old_sigbus) < 0)
		ret = -errno;
out:
	pthread_mutex_unlock(&filemap_lock);
	return ret;
}

void *filemap_open(int fd, uint64_t size, bool writable)
{
	void *map;
	off_t hole;

	if (size == 0 || size > (uint64_t)SIZE_MAX / 2)
		return NULL;
	hole = lseek(fd, 0, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole < size)
		return NULL;
	if (filemap_install() < 0)
		return NULL;
	map = mmap(NULL, (size_t)size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return NULL;
	return map;
}

void filemap_close(void *map, uint64_t size)
{
	if (map)
		munmap(map, (size_t)size);
}

bool filemap_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		filemap_jmp = NULL;
		return false;
	}
	filemap_jmp = &jb;
	memcpy(dst, src, n);
	filemap_jmp = NULL;
	return true;
}
