/* The allow-lists, one per thread class (docs/security.md says why each
 * entry is there). Anything not listed gets the filter's default action:
 * SIGSYS and exit in mode on, an audit log line in mode log.
 *
 * A vCPU or I/O thread started after the loop filter runs under both
 * filters, so whatever those lists allow must also be allowed by the loop
 * list: the loop list is built as the vCPU list plus more, and io_calls
 * and io_ioctls are on it too. A new device that
 * needs a new system call or ioctl adds it here. */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "core/seccomp.h"

/* libseccomp's SCMP_A* macros leave datum_b to zero initialisation; clang
 * warns about that in compound literals (gcc does not). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Both classes: no fds created, nothing opened, no new executable memory. */
static const int common_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(sigaltstack), /* ASan builds: set at thread start, cleared at exit */
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(sched_getaffinity), /* malloc sizing its arenas, in any thread */
};

/* The loop thread: Lua, consoles, control socket, timers, and building and
 * tearing down machines (KVM_CREATE_VM, guest RAM, vCPU threads). */
static const int loop_calls[] = {
	/* files: kernels, initrds, console logs, memory dumps, Lua's io/os */
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fcntl),
	SCMP_SYS(fstat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(getcwd), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(pipe2), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(flock),
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(rmdir), SCMP_SYS(chmod), SCMP_SYS(fchmod),
	SCMP_SYS(fchmodat), SCMP_SYS(umask),
	/* guest RAM */
	SCMP_SYS(memfd_create),
	/* the event loop */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(eventfd2), SCMP_SYS(signalfd4), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime),
	/* signals, threads */
	SCMP_SYS(rt_sigaction), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(getrandom), SCMP_SYS(sysinfo),
	/* libev's default loop reaps children on SIGCHLD (of processes the
	 * script's top level started) */
	SCMP_SYS(wait4), SCMP_SYS(waitid),
	/* Unix sockets only (socket/socketpair are filtered below) */
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(connect),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(shutdown), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	/* a vCPU thread started later installs its own filter on top */
	SCMP_SYS(seccomp),
};

/* ioctls a vCPU thread makes: KVM_RUN and exit handling (registers for
 * panics and errors; interrupts, MSI routes, irqfds and ioeventfds that
 * device emulation sets up when the guest programs a device). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU, KVM_GET_LAPIC, KVM_SET_LAPIC,
	KVM_SET_CPUID2, KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_GET_VCPU_EVENTS,
	KVM_SET_VCPU_EVENTS, KVM_KVMCLOCK_CTRL,
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD,
	TCSETS, /* the SIGSYS handler puts the terminal back before exiting */
	/* virtio-net on DRIVER_OK and reset: the tap's offloads, and
	 * starting and stopping vhost-net's rings */
	TUNSETOFFLOAD, VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_BASE, VHOST_GET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK,
	VHOST_SET_VRING_CALL, VHOST_NET_SET_BACKEND,
};

static const int io_calls[] = {
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(getrandom),
	SCMP_SYS(fallocate), /* virtio-blk DISCARD / WRITE_ZEROES on raw images; virtio-mem
			      * unplug and balloon pages punched out of memfd guest RAM */
};

static const unsigned long io_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, TCSETS,
};

/* ioctls only the loop thread makes: creating and configuring the KVM VM
 * and its vCPUs, the guest clock over pauses, and the terminal (raw
 * console, line editor). Not TIOCSTI and friends. */
static const unsigned long loop_ioctls[] = {
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE,
	KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_INDEX_LIST, KVM_CREATE_VCPU, KVM_SET_TSS_ADDR,
	KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, KVM_SET_USER_MEMORY_REGION,
	KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_ENABLE_CAP,
	TCGETS, TCSETSW, TCSETSF, TCSBRK, TCFLSH, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO,
	FIOCLEX, FIONCLEX,
	/* virtio-net: attaching to (or creating) a tap, opening vhost-net */
	TUNSETIFF, TUNSETVNETHDRSZ, TUNGETIFF, VHOST_SET_OWNER, VHOST_GET_FEATURES,
};

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* the kernel takes the request as an unsigned int */
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					   SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)reqs[i]));
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Memory may be mapped and protected, never executable (no new code
 * after start-up: no dlopen, no JIT). tgkill only within this process
 * (vCPU kicks, abort()). */
static int add_common(scmp_filter_ctx ctx)
{
	int ret = allow_all(ctx, common_calls, ARRAY_SIZE(common_calls));

	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	return ret;
}

/* I/O workers: wait on their eventfds, fill guest buffers, interrupt the
 * guest (irqfd writes are plain writes). */
static int add_io(scmp_filter_ctx ctx)
{
	int ret = allow_all(ctx, io_calls, ARRAY_SIZE(io_calls));

	if (!ret)
		ret = allow_ioctls(ctx, io_ioctls, ARRAY_SIZE(io_ioctls));
	return ret;
}

/* Threads yes (vCPU threads), processes no: clone must carry the flags
 * of pthread_create; clone3 (flags in memory, out of a filter's reach)
 * fails with ENOSYS, on which glibc falls back to clone. Sockets: Unix
 * only, others fail with EAFNOSUPPORT (a Lua C module gets an error, not
 * a kill). prctl: thread names and no_new_privs (seccomp_load). */
static int add_loop(scmp_filter_ctx ctx, enum mv_seccomp_mode mode)
{
	const scmp_datum_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
	const int prctl_ops[] = { PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS };
	int ret = allow_all(ctx, loop_calls, ARRAY_SIZE(loop_calls));

	if (!ret)
		ret = allow_ioctls(ctx, loop_ioctls, ARRAY_SIZE(loop_ioctls));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0_64(SCMP_CMP_MASKED_EQ, thread, thread));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	for (int call = 0; call < 2 && !ret; call++) {
		int nr = call ? SCMP_SYS(socketpair) : SCMP_SYS(socket);
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX));
		if (!ret && mode == MV_SECCOMP_ON) /* log mode: the default action, LOG */
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, 1,
					       SCMP_A0_32(SCMP_CMP_NE, AF_UNIX));
	}
	for (size_t i = 0; i < ARRAY_SIZE(prctl_ops) && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)prctl_ops[i]));
	/* getrlimit only: no new limit */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2_64(SCMP_CMP_EQ, 0));
	return ret;
}

int seccomp_rules__add(void *ctx, enum mv_seccomp_thread cls, enum mv_seccomp_mode mode)
{
	int ret = add_common(ctx);

	if (ret)
		return ret;
	switch (cls) {
	case MV_SECCOMP_VCPU:
		return allow_ioctls(ctx, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls));
	case MV_SECCOMP_IO:
		return add_io(ctx);
	case MV_SECCOMP_LOOP:
		ret = allow_ioctls(ctx, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls));
		return ret ? ret : add_loop(ctx, mode);
	}
	return -EINVAL;
}
