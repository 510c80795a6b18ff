/* virtio-mem resizes and balloon statistics on the loop thread
 * (core/vm_memory.h). */
#include "core/vm_memory.h"

#include <errno.h>

#include "core/machine.h"
#include "devices/virtio/mem.h"

static bool live(const struct mv_vm *vm)
{
	return vm->state == MV_VM_RUNNING || vm->state == MV_VM_PAUSED;
}

int vm__resize_memory(struct mv_vm *vm, uint64_t bytes, struct mv_err *err)
{
	const struct mv_vm_config *cfg = &vm->cfg;
	uint64_t delta;
	int ret;

	if (!cfg->hotplug)
		return err__set(err, -ENODEV, "vm '%s' has no hotplug memory (memory = { size = ..., hotplug = ... })",
				cfg->name);
	if (bytes < cfg->memory || bytes - cfg->memory > cfg->hotplug)
		return err__set(err, -ERANGE, "vm '%s': memory size %llu is out of range (%llu to %llu)", cfg->name,
				(unsigned long long)bytes, (unsigned long long)cfg->memory,
				(unsigned long long)(cfg->memory + cfg->hotplug));
	delta = bytes - cfg->memory;
	if (delta % cfg->hotplug_block)
		return err__set(err, -EINVAL, "vm '%s': memory size %llu is not the boot memory (%llu) plus whole "
				"blocks of %llu bytes", cfg->name, (unsigned long long)bytes,
				(unsigned long long)cfg->memory, (unsigned long long)cfg->hotplug_block);
	if (live(vm) && vm->machine->vmem) {
		ret = virtio_mem__resize(vm->machine->vmem, delta, err);
		if (ret < 0)
			return ret;
	}
	vm->mem_requested = delta;
	return 0;
}

void vm__memory_info(struct mv_vm *vm, struct mv_vm_memory_info *out)
{
	const struct mv_vm_config *cfg = &vm->cfg;
	struct mv_virtio_mem_state st;

	*out = (struct mv_vm_memory_info){
		.size = cfg->memory, .max = cfg->memory + cfg->hotplug, .requested = cfg->memory + vm->mem_requested,
		.plugged = cfg->memory, .block = cfg->hotplug ? cfg->hotplug_block : 0,
	};
	if (!live(vm) || !vm->machine->vmem)
		return;
	virtio_mem__state(vm->machine->vmem, &st);
	out->plugged = cfg->memory + st.plugged;
	out->region_addr = st.addr;
	out->nacks = st.nacks;
}

int vm__memory_stats(struct mv_vm *vm, struct mv_balloon_stats *out, double *age)
{
	struct mv_machine *m = vm->machine;

	if (!vm->cfg.balloon.enabled || vm->cfg.balloon.stats <= 0)
		return -ENODEV;
	if (!live(vm) || !m->balloon || !m->memory || !m->memory->stats_time)
		return -EAGAIN;
	virtio_balloon__stats(m->balloon, out);
	*age = ev_now(vm->loop->ev) - m->memory->stats_time;
	return 0;
}

void vm__on_memory_changed(void *opaque, uint64_t data)
{
	struct mv_vm *vm = opaque;

	if (!vm__alive(vm) || !vm__same_machine(vm, (uint32_t)data))
		return;
	vm__notify(vm, MV_EV_MEMORY);
}

void vm__on_balloon_stats(void *opaque, uint64_t data)
{
	struct mv_vm *vm = opaque;

	if (!vm__alive(vm) || !vm__same_machine(vm, (uint32_t)data) || !vm->machine->memory)
		return;
	vm->machine->memory->stats_time = ev_now(vm->loop->ev);
	vm__notify(vm, MV_EV_BALLOON_STATS);
}

int vm__balloon_set(struct mv_vm *vm, uint64_t bytes, struct mv_err *err)
{
	if (!vm->cfg.balloon.enabled)
		return err__set(err, -ENODEV, "vm '%s' has no balloon (balloon = true or { ... })", vm->cfg.name);
	if (bytes >= vm->cfg.memory + vm->cfg.hotplug)
		return err__set(err, -EINVAL, "vm '%s': a balloon of %llu bytes would take all of its memory", vm->cfg.name,
				(unsigned long long)bytes);
	vm->balloon_target = bytes;
	if (live(vm) && vm->machine->balloon)
		virtio_balloon__set_target(vm->machine->balloon, (uint32_t)(bytes >> VIRTIO_BALLOON_PFN_SHIFT));
	return 0;
}

int vm__balloon_counters(struct mv_vm *vm, struct mv_balloon_counters *out)
{
	if (!vm->cfg.balloon.enabled)
		return -ENODEV;
	if (!live(vm) || !vm->machine->balloon)
		return -EAGAIN;
	virtio_balloon__counters(vm->machine->balloon, out);
	return 0;
}
