/* The allow-lists (core/seccomp_rules.c), each call made in a forked child
 * that installed one thread class's filter in mode on: allowed calls
 * return (even with an error such as EBADF), forbidden ones end the child
 * with status 159. No KVM needed: KVM ioctls go to a bad descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/seccomp.h"

#define KILLED 159

/* Runs fn in a child under cls's filter; returns its exit status. */
static int run_as(enum mv_seccomp_thread cls, int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		if (seccomp__init(MV_SECCOMP_ON, NULL) < 0 || seccomp__enter(cls, "test", NULL) < 0)
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int kvm_run_bad_fd(void) { return ioctl(-1, KVM_RUN, 0) < 0 && errno == EBADF ? 0 : 1; }
static int irq_line_bad_fd(void) { return ioctl(-1, KVM_IRQ_LINE, NULL) < 0 && errno == EBADF ? 0 : 1; }
static int create_vm_bad_fd(void) { return ioctl(-1, KVM_CREATE_VM, 0) < 0 && errno == EBADF ? 0 : 1; }
static int tiocsti(void) { char c = 'x'; return ioctl(-1, TIOCSTI, &c) < 0 ? 0 : 1; }
static int open_file(void) { return open("/dev/null", O_RDONLY) >= 0 ? 0 : 1; }
static int unix_socket(void) { return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 1; }
static int inet_socket(void) { return socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EAFNOSUPPORT ? 0 : 1; }
static int exec_mmap(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED ? 0 : 1;
}
static int plain_mmap(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED ? 0 : 1;
}
static int exec_mprotect(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p != MAP_FAILED && mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0 ? 0 : 1;
}
static int do_execve(void)
{
	char *argv[] = { "true", NULL };
	syscall(SYS_execve, "/bin/true", argv, argv + 1);
	return 1;
}
static int do_fork(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	return pid > 0 ? 0 : 1;
}
static int token;
static void *thread_fn(void *arg) { return arg; }
static int do_thread(void)
{
	pthread_t t;
	void *ret = NULL;
	return pthread_create(&t, NULL, thread_fn, &token) == 0 && pthread_join(t, &ret) == 0 && ret == &token ? 0 : 1;
}
static int set_name(void) { return prctl(PR_SET_NAME, "x", 0, 0, 0) == 0 ? 0 : 1; }
static int set_dumpable(void) { prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); return 1; }
static int ptrace_me(void) { syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0); return 1; }
static int kill_init(void) { syscall(SYS_tgkill, 1, 1, 0); return 1; }
static int kick_self(void) { return syscall(SYS_tgkill, getpid(), gettid(), 0) == 0 ? 0 : 1; }
static int clone3_enosys(void) { return syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS ? 0 : 1; }

static void test_vcpu(void **state)
{
	(void)state;
	assert_int_equal(run_as(MV_SECCOMP_VCPU, kvm_run_bad_fd), 0);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, irq_line_bad_fd), 0);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, plain_mmap), 0);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, kick_self), 0);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, create_vm_bad_fd), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, tiocsti), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, open_file), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, unix_socket), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, exec_mmap), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, do_thread), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, do_execve), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_VCPU, kill_init), KILLED);
}

static void test_loop(void **state)
{
	(void)state;
	assert_int_equal(run_as(MV_SECCOMP_LOOP, kvm_run_bad_fd), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, create_vm_bad_fd), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, open_file), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, unix_socket), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, inet_socket), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, do_thread), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, clone3_enosys), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, set_name), 0);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, tiocsti), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, do_fork), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, do_execve), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, exec_mmap), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, exec_mprotect), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, set_dumpable), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, ptrace_me), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, kill_init), KILLED);
}

static int rand_poll(void)
{
	char b[8];
	return getrandom(b, sizeof(b), 0) == (ssize_t)sizeof(b) && poll(NULL, 0, 0) == 0 ? 0 : 1;
}

static void test_io(void **state)
{
	(void)state;
	assert_int_equal(run_as(MV_SECCOMP_IO, rand_poll), 0);
	assert_int_equal(run_as(MV_SECCOMP_IO, irq_line_bad_fd), 0);
	assert_int_equal(run_as(MV_SECCOMP_IO, kvm_run_bad_fd), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_IO, open_file), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_IO, do_thread), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_IO, inet_socket), KILLED);
}

/* A vCPU or I/O thread started under the loop filter installs its own on
 * top: what its list allows, the loop list allows too. */
static int stacked(void)
{
	if (seccomp__enter(MV_SECCOMP_VCPU, "stacked", NULL) < 0)
		return 2;
	if (kvm_run_bad_fd() != 0)
		return 3;
	open_file();
	return 4;
}

static int stacked_io(void)
{
	if (seccomp__enter(MV_SECCOMP_IO, "stacked", NULL) < 0)
		return 2;
	if (rand_poll() != 0 || irq_line_bad_fd() != 0)
		return 3;
	kvm_run_bad_fd();
	return 4;
}

static void test_stacked(void **state)
{
	(void)state;
	assert_int_equal(run_as(MV_SECCOMP_LOOP, stacked), KILLED);
	assert_int_equal(run_as(MV_SECCOMP_LOOP, stacked_io), KILLED);
}

static void test_parse(void **state)
{
	enum mv_seccomp_mode m;

	(void)state;
	assert_int_equal(seccomp__parse_mode("on", &m), 0);
	assert_int_equal(m, MV_SECCOMP_ON);
	assert_int_equal(seccomp__parse_mode("log", &m), 0);
	assert_int_equal(m, MV_SECCOMP_LOG);
	assert_int_equal(seccomp__parse_mode("off", &m), 0);
	assert_int_equal(m, MV_SECCOMP_OFF);
	assert_int_equal(seccomp__parse_mode("yes", &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse), cmocka_unit_test(test_vcpu), cmocka_unit_test(test_loop),
		cmocka_unit_test(test_io), cmocka_unit_test(test_stacked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
