/* Memory that follows the guest: virtio-mem resizes and virtio-balloon
 * statistics of a VM (core/vm_memory.c, loop thread) and of one boot's
 * machine (core/machine_memory.c).
 *
 * cfg.hotplug > 0 gives the machine a hotplug region of that size at
 * layout__hotplug_start (above RAM and 4 GiB, 128 MiB aligned; one KVM
 * memslot, not in e820) and a virtio-mem device over it. The VM keeps the
 * requested size over reboots (vm->mem_requested). cfg.balloon.enabled
 * gives it a virtio-balloon; with cfg.balloon.stats > 0 the loop asks the
 * driver for statistics every that many seconds.
 *
 * Events (vm listener, loop thread): MV_EV_MEMORY when the plugged size
 * changed, MV_EV_BALLOON_STATS when statistics arrived; the device
 * threads post them (loop__post) and never touch the VM. */
#ifndef MV_VM_MEMORY_H
#define MV_VM_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/loop.h"
#include "core/vm.h"
#include "devices/virtio/balloon.h"

struct mv_machine;

/* A machine's memory devices (m->memory), loop-thread state. */
struct mv_machine_memory {
	struct mv_machine *m;
	ev_timer stats_timer;    /* asks for balloon statistics */
	bool timer_on;
	double stats_time;       /* ev_now when the latest arrived; 0: none */
};

struct mv_vm_memory_info {
	uint64_t size;        /* boot RAM */
	uint64_t max;         /* size + the hotplug region */
	uint64_t requested;   /* size + virtio-mem's requested size */
	uint64_t plugged;     /* size + what the guest has plugged (size when not running) */
	uint64_t block;       /* virtio-mem block size (0: no virtio-mem) */
	uint64_t region_addr; /* guest address of the hotplug region (0: none or not running) */
	uint64_t nacks;       /* plug requests refused this boot */
};

/* Loop thread. bytes: the guest's new total memory, from cfg.memory to
 * cfg.memory + cfg.hotplug, in whole blocks above cfg.memory. A stopped
 * VM takes it at its next start. -ENODEV without hotplug memory, -ERANGE /
 * -EINVAL for a size out of range / not in whole blocks. */
int vm__resize_memory(struct mv_vm *vm, uint64_t bytes, struct mv_err *err) MV_MUST_CHECK;
void vm__memory_info(struct mv_vm *vm, struct mv_vm_memory_info *out);
/* The latest balloon statistics of the running machine and their age in
 * seconds: -ENODEV without a balloon with statistics, -EAGAIN before the
 * first arrive (or when not running). */
int vm__memory_stats(struct mv_vm *vm, struct mv_balloon_stats *out, double *age) MV_MUST_CHECK;

/* Loop thread: the balloon's target (bytes, in 4 KiB pages; a running VM
 * gets a config interrupt) and its counters. -ENODEV without a balloon,
 * -EINVAL for a target of RAM or more, -EAGAIN (counters) when not running. */
int vm__balloon_set(struct mv_vm *vm, uint64_t bytes, struct mv_err *err) MV_MUST_CHECK;
int vm__balloon_counters(struct mv_vm *vm, struct mv_balloon_counters *out) MV_MUST_CHECK;

/* core/machine_memory.c, loop thread, from machine__create/destroy. */
/* Before the memslots are made: maps the hotplug region (cfg.hotplug). */
int machine__map_hotplug(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
/* With the other PCI devices: virtio-mem and virtio-balloon as configured,
 * and the statistics timer. */
int machine__memory_create(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
void machine__memory_destroy(struct mv_machine *m);

/* core/vm_memory.c: the loop side of the devices' posts (data: the
 * machine's generation). */
void vm__on_memory_changed(void *vm, uint64_t data);
void vm__on_balloon_stats(void *vm, uint64_t data);

#endif
