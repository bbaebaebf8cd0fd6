/* Crash-safe small files (util/atomic_file.c): replace, read back, remove durably. What a power
 * cut does to them is tested by the power-cut loop (docs/design/durability.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "util/atomic_file.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/invar-atomic.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_write_read_replace(void **state)
{
	char path[128], *text;
	size_t len;
	struct stat st;

	snprintf(path, sizeof(path), "%s/a.json", dir);
	assert_int_equal(atomic_file_write(path, "one", 3), 0);
	assert_int_equal(atomic_file_write(path, "second", 6), 0);
	assert_int_equal(file_read_all(path, 64, &text, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/a.json.tmp", dir);
	assert_int_equal(access(path, F_OK), -1); /* no temporary left behind */
}

static void test_remove(void **state)
{
	char path[128], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/pr.json", dir);
	assert_int_equal(atomic_file_write(path, "{}", 2), 0);
	assert_int_equal(atomic_file_remove(path), 0);
	assert_int_equal(file_read_all(path, 64, &text, &len), -ENOENT);
	/* Already gone, or its directory too: nothing to do, not an error. */
	assert_int_equal(atomic_file_remove(path), 0);
	snprintf(path, sizeof(path), "%s/no-such-dir/pr.json", dir);
	assert_int_equal(atomic_file_remove(path), 0);
}

static void test_remove_refused(void **state)
{
	char path[128];

	/* A directory where the file should be: unlink fails, and says why. */
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_not_equal(atomic_file_remove(path), 0);
	assert_int_equal(rmdir(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read_replace),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
