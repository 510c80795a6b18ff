/* vCPU threads: KVM_RUN and exit dispatch. Minimal work here: port and MMIO
 * accesses go to the buses; anything that changes the VM's life is posted
 * to the loop thread. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "core/machine.h"
#include "core/seccomp.h"
#include "core/x86/cpuid.h"
#include "core/x86/regs.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static _Thread_local struct mv_vcpu *current_vcpu;

struct mv_vcpu *vcpu__current(void)
{
	return current_vcpu;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void set_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, set_kick_handler);
}

int vcpu__create(struct mv_machine *m, struct mv_vcpu *v, unsigned int id, struct mv_err *err)
{
	int ret;

	v->m = m;
	v->id = id;
	v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return err__set(err, -errno, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	v->run = mmap(NULL, m->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = err__set(err, -errno, "mapping kvm_run of vCPU %u: %s", id, strerror(errno));
		v->run = NULL;
		goto err_close;
	}
	ret = cpuid__set_vcpu(v->fd, m->kvm.cpuid, id, m->ncpus, err);
	if (ret < 0)
		goto err_unmap;
	ret = regs__setup_common(v->fd, id, err);
	if (ret < 0)
		goto err_unmap;
	return 0;
err_unmap:
	munmap(v->run, m->kvm.vcpu_mmap_size);
	v->run = NULL;
err_close:
	close(v->fd);
	v->fd = -1;
	return ret;
}

void vcpu__destroy(struct mv_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->m->kvm.vcpu_mmap_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static void count_exit(struct mv_vcpu *v, enum mv_exit_kind k)
{
	atomic_fetch_add_explicit(&v->m->exits[k], 1, memory_order_relaxed);
}

static void handle_io(struct mv_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	/* data_offset/size/count come from KVM, not the guest, but stay inside
	 * the kvm_run mapping anyway */
	if (run->io.data_offset + (uint64_t)run->io.size * run->io.count > (uint64_t)v->m->kvm.vcpu_mmap_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++) {
		iobus__access(&v->m->pio, run->io.port, data, run->io.size, write);
		data += run->io.size;
	}
}

static void internal_error(struct mv_vcpu *v, const char *what, unsigned long long code)
{
	char why[160];
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		snprintf(why, sizeof(why), "vCPU %u: %s %llu at rip 0x%llx", v->id, what, code,
			 (unsigned long long)regs.rip);
	else
		snprintf(why, sizeof(why), "vCPU %u: %s %llu", v->id, what, code);
	machine__request(v->m, MV_REQ_ERROR, why);
}

/* A triple fault: where the vCPU was, as far as KVM still knows (on AMD,
 * KVM has already INIT-reset the vCPU: rip reads 0xfff0). */
static void log_shutdown(struct mv_vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_warn_errno(errno, "vm %s: vCPU %u: triple fault; registers unreadable", v->m->vm->cfg.name, v->id);
		return;
	}
	pr_warn("vm %s: vCPU %u: triple fault (after the exit: rip 0x%llx rsp 0x%llx cr0 0x%llx cr3 0x%llx)",
		v->m->vm->cfg.name, v->id, (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
		(unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3);
}

/* Returns false when the thread should stop running the guest. */
static bool handle_exit(struct mv_vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		count_exit(v, MV_EXIT_IO);
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		count_exit(v, MV_EXIT_MMIO);
		iobus__access(&v->m->mmio, run->mmio.phys_addr, run->mmio.data,
			      MIN(run->mmio.len, sizeof(run->mmio.data)), run->mmio.is_write);
		return true;
	case KVM_EXIT_HLT:
		count_exit(v, MV_EXIT_HLT);
		return true;
	case KVM_EXIT_INTR:
		count_exit(v, MV_EXIT_INTR);
		return true;
	case KVM_EXIT_SHUTDOWN:
		count_exit(v, MV_EXIT_SHUTDOWN);
		log_shutdown(v);
		machine__request(v->m, MV_REQ_RESET, MV_RESET_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		count_exit(v, MV_EXIT_SHUTDOWN);
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			machine__request(v->m, MV_REQ_POWEROFF, "system event");
		else
			machine__request(v->m, MV_REQ_RESET, MV_RESET_SYSTEM_EVENT);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		count_exit(v, MV_EXIT_OTHER);
		internal_error(v, "KVM internal error, suberror", run->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		count_exit(v, MV_EXIT_OTHER);
		internal_error(v, "VM entry failed, reason",
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		count_exit(v, MV_EXIT_OTHER);
		internal_error(v, "unhandled KVM exit", run->exit_reason);
		return false;
	}
}

static void wait_while_paused(struct mv_machine *m)
{
	pthread_mutex_lock(&m->pause_lock);
	if (atomic_load(&m->paused) && !atomic_load(&m->stop)) {
		m->npaused++;
		pthread_cond_broadcast(&m->pause_cond);
		while (atomic_load(&m->paused) && !atomic_load(&m->stop))
			pthread_cond_wait(&m->pause_cond, &m->pause_lock);
		m->npaused--;
	}
	pthread_mutex_unlock(&m->pause_lock);
}

/* The vCPU filter goes on before the guest runs; without it the guest
 * does not run at all. */
static bool enter_seccomp(struct mv_vcpu *v, const char *name)
{
	struct mv_err err;
	char why[sizeof(err.msg) + 16];

	if (seccomp__enter(MV_SECCOMP_VCPU, name, &err) < 0) {
		snprintf(why, sizeof(why), "vCPU %u: %s", v->id, err.msg);
		machine__request(v->m, MV_REQ_ERROR, why);
		return false;
	}
	if (v->id == 0)
		seccomp__test_violation("vcpu");
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct mv_vcpu *v = arg;
	struct mv_machine *m = v->m;
	char name[16];
	sigset_t set;

	current_vcpu = v;
	snprintf(name, sizeof(name), "mv-vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (!enter_seccomp(v, name))
		return NULL;
	while (!atomic_load(&m->stop)) {
		wait_while_paused(m);
		if (atomic_load(&m->stop))
			break;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int e = errno;
			v->run->immediate_exit = 0;
			if (e == EINTR || e == EAGAIN)
				continue;
			char why[96];
			snprintf(why, sizeof(why), "vCPU %u: KVM_RUN: %s", v->id, strerror(e));
			machine__request(m, MV_REQ_ERROR, why);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu__start(struct mv_vcpu *v, struct mv_err *err)
{
	sigset_t set, old;
	int ret;

	install_kick_handler();
	/* the thread starts with the kick signal blocked and unblocks it itself */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return err__set(err, -ret, "starting vCPU %u thread: %s", v->id, strerror(ret));
	v->started = true;
	return 0;
}

void vcpu__kick(struct mv_vcpu *v)
{
	if (!v->started)
		return;
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu__join(struct mv_vcpu *v)
{
	if (!v->started)
		return;
	pthread_join(v->thread, NULL);
	v->started = false;
}
