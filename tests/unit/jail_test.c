/* core/jail_fds.c: descriptors kept across the jail (jail__open hands out
 * duplicates of them by path and access mode) and inherited descriptors
 * (closed at jail time unless their number now holds another file); the
 * rlimit names; a tap taking its kept descriptor. Entering the jail itself needs root and changes the whole
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/jail_priv.h"
#include "devices/backend/tap.h"

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

/* Descriptors kept by key (a tap, vhost-net): duplicates of the same
 * open file, lent to one user at a time, found by key only (never by
 * jail__open), one per key. */
static void test_kept_by_key(void **state)
{
	struct mv_err err = { "" };
	int sv[2], fd1, fd2;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_int_equal(jail__take_kept("tap t0"), -ENOENT);
	assert_int_equal(jail__keep_fd(A, "tap t0", sv[0], NULL), 0);
	fd1 = jail__take_kept("tap t0");
	assert_true(fd1 >= 0 && fd1 != sv[0]);
	assert_int_equal(jail__take_kept("tap t0"), -EBUSY); /* lent */
	jail__return_kept("tap t0");
	fd2 = jail__take_kept("tap t0");
	assert_true(fd2 >= 0 && fd2 != fd1);
	assert_int_equal(ino_of(fd1), ino_of(sv[0]));
	assert_int_equal(ino_of(fd2), ino_of(sv[0]));
	assert_int_equal(fcntl(fd1, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(jail__open("tap t0", O_RDWR), -ENOENT);
	assert_int_equal(jail__take_kept("tap t1"), -ENOENT);
	/* a second descriptor under the same key is refused (and closed) */
	assert_int_equal(jail__keep_fd(B, "tap t0", sv[1], &err), -EEXIST);
	assert_string_equal(err.msg, "tap t0 is kept already");
	assert_int_equal(fcntl(sv[1], F_GETFD), -1);
	close(fd1);
	close(fd2);
	jail__forget(A);
	assert_int_equal(jail__take_kept("tap t0"), -ENOENT);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1); /* closed by forget */
}

/* tap__open takes the kept descriptor for its name instead of attaching
 * (here a datagram socket stands in for the tap: it takes no offloads). */
static void test_tap_open_takes_kept(void **state)
{
	struct mv_tap *tap = NULL, *tap2 = NULL;
	struct mv_err err = { "" };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_int_equal(jail__keep_fd(A, "tap mvunit0", sv[0], NULL), 0);
	assert_int_equal(tap__open("mvunit0", &tap, &err), 0);
	assert_true(tap->fd >= 0 && tap->fd != sv[0]);
	assert_int_equal(ino_of(tap->fd), ino_of(sv[0]));
	assert_string_equal(tap->name, "mvunit0");
	assert_true(tap->is_tap);
	assert_int_equal(tap->offloads, 0);
	assert_int_equal(write(tap->fd, "x", 1), 1);
	/* a second NIC on the same tap: busy, until the first one closes */
	assert_int_equal(tap__open("mvunit0", &tap2, &err), -EBUSY);
	assert_string_equal(err.msg, "tap mvunit0 is busy (another NIC of this VM is attached to it)");
	tap__close(tap);
	assert_int_equal(tap__open("mvunit0", &tap2, &err), 0);
	assert_int_equal(ino_of(tap2->fd), ino_of(sv[0]));
	tap__close(tap2);
	jail__forget(A);
	close(sv[1]);
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
		cmocka_unit_test(test_kept_by_key),
		cmocka_unit_test(test_tap_open_takes_kept),
		cmocka_unit_test(test_inherited_closed),
		cmocka_unit_test(test_rlimit_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
