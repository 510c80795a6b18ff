/* Guest panics on the machine side: the pvpanic write parks the VM and
 * hands the panic to the loop thread, where Lua decides (core/vm.c). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/log.h"
#include "core/machine.h"

void machine__guest_panic(struct mv_machine *m, uint8_t events)
{
	struct mv_vcpu *self = vcpu__current();
	bool expected = false;

	if (!atomic_compare_exchange_strong(&m->panic_pending, &expected, true)) {
		pr_debug("vm %s: pvpanic 0x%x while a panic is pending: dropped", m->vm->cfg.name, events);
		return;
	}
	memset(&m->panic, 0, sizeof(m->panic));
	m->panic.events = events;
	if (self && self->m == m) {
		m->panic.vcpu = self->id;
		m->panic.have_regs = ioctl(self->fd, KVM_GET_REGS, &m->panic.regs) == 0 &&
				     ioctl(self->fd, KVM_GET_SREGS, &m->panic.sregs) == 0;
	}
	/* Park every vCPU before the guest goes on (with panic=-1 it would
	 * reboot at once): the writer parks when it loops back, the others
	 * are kicked out of KVM_RUN. */
	atomic_store(&m->paused, true);
	for (unsigned int i = 0; i < m->ncpus; i++)
		if (&m->vcpus[i] != self)
			vcpu__kick(&m->vcpus[i]);
	if (loop__post(m->vm->loop, vm__on_machine_panic, m->vm, m->generation) < 0) {
		pr_err("vm %s: cannot post the guest panic: out of memory", m->vm->cfg.name);
		atomic_store(&m->paused, false);
		atomic_store(&m->panic_pending, false);
	}
}

void machine__cpu_states(struct mv_machine *m, struct mv_elfcore_cpu *cpus)
{
	for (unsigned int i = 0; i < m->ncpus; i++) {
		struct mv_elfcore_cpu *c = &cpus[i];

		memset(c, 0, sizeof(*c));
		c->valid = m->vcpus[i].fd >= 0 && ioctl(m->vcpus[i].fd, KVM_GET_REGS, &c->regs) == 0 &&
			   ioctl(m->vcpus[i].fd, KVM_GET_SREGS, &c->sregs) == 0;
	}
}
