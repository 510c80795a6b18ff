/* core/jail_fds.c: descriptors kept across the jail (jail__open hands out
 * duplicates of them by path and access mode) and inherited descriptors
 * (closed at jail time unless their number now holds another file); the
 * rlimit names. Entering the jail itself needs root and changes the whole
 * process: tests/cli/jail_test.sh and tests/integration/jail_test.sh. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/jail_priv.h"

static const int owner_a, owner_b; /* stand-ins for two VMs */
#define A ((const struct mv_vm *)&owner_a)
#define B ((const struct mv_vm *)&owner_b)

static void tmpfile_path(char *path, size_t n, const char *content)
{
	int fd;

	snprintf(path, n, "/tmp/mv-jail-unit.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, 3), 3);
	close(fd);
}

static ino_t ino_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* A kept file is found by name and access mode even once its name is
 * gone (as after pivot_root), as a new descriptor each time. */
static void test_kept_by_path_and_mode(void **state)
{
	char path[64];
	struct stat st;
	int fd1, fd2;

	tmpfile_path(path, sizeof(path), "abc");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(jail_fds__keep(A, "kernel", path, O_RDONLY, NULL), 0);
	assert_int_equal(jail_fds__keep(A, "kernel", path, O_RDONLY, NULL), 0); /* once only */
	unlink(path);
	fd1 = jail__open(path, O_RDONLY | O_CLOEXEC);
	fd2 = jail__open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd1 >= 0 && fd2 >= 0 && fd1 != fd2);
	assert_int_equal(ino_of(fd1), st.st_ino);
	assert_int_equal(fcntl(fd1, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* another access mode is not the kept descriptor: open() itself */
	assert_int_equal(jail__open(path, O_RDWR | O_CLOEXEC), -ENOENT);
	assert_int_equal(jail__open(path, O_RDONLY | O_DIRECT), -ENOENT);
	close(fd1);
	close(fd2);
	/* another owner's forget leaves it; its own closes it */
	jail__forget(B);
	fd1 = jail__open(path, O_RDONLY);
	assert_true(fd1 >= 0);
	close(fd1);
	jail__forget(A);
	assert_int_equal(jail__open(path, O_RDONLY), -ENOENT);
}

static void test_keep_error_names_it(void **state)
{
	struct mv_err err = { "" };

	assert_int_equal(jail_fds__keep(A, "disk 'root'", "/nonexistent/x.img", O_RDWR, &err), -ENOENT);
	assert_string_equal(err.msg, "disk 'root' /nonexistent/x.img: No such file or directory");
	assert_int_equal(jail__open("/nonexistent/x.img", O_RDWR), -ENOENT);
}

/* Inherited descriptors are closed, unless the number now holds
 * another file (closed and reused meanwhile). */
static void test_inherited_closed(void **state)
{
	char p1[64], p2[64];
	int inherited, reused, mine;

	tmpfile_path(p1, sizeof(p1), "one");
	tmpfile_path(p2, sizeof(p2), "two");
	inherited = open(p1, O_RDONLY);
	reused = open(p1, O_RDONLY);
	assert_true(inherited > 2 && reused > 2);
	jail__note_inherited_fds();
	close(reused);
	mine = open(p2, O_RDONLY); /* takes the lowest free number: reused's */
	assert_int_equal(mine, reused);
	jail_fds__close_inherited();
	assert_int_equal(fcntl(inherited, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	assert_true(fcntl(mine, F_GETFD) >= 0);
	close(mine);
	unlink(p1);
	unlink(p2);
}

static void test_rlimit_names(void **state)
{
	assert_int_equal(jail__rlimit_resource("nofile"), RLIMIT_NOFILE);
	assert_int_equal(jail__rlimit_resource("fsize"), RLIMIT_FSIZE);
	assert_int_equal(jail__rlimit_resource("as"), RLIMIT_AS);
	assert_int_equal(jail__rlimit_resource("nofiles"), -1);
	assert_false(jail__active());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_by_path_and_mode),
		cmocka_unit_test(test_keep_error_names_it),
		cmocka_unit_test(test_inherited_closed),
		cmocka_unit_test(test_rlimit_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
