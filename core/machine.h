/* One boot of a VM: the KVM VM, guest memory, buses, platform devices and
 * vCPU threads. Created by vm__start and on every reboot, destroyed when the
 * guest powers off or reboots. Private to core/. */
#ifndef MV_MACHINE_H
#define MV_MACHINE_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/elfcore.h"
#include "core/guestmem.h"
#include "core/iobus.h"
#include "core/irq.h"
#include "core/kvm.h"
#include "core/vm.h"

struct mv_machine;

struct mv_vcpu {
	struct mv_machine *m;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

enum mv_machine_request {
	MV_REQ_POWEROFF = 1,
	MV_REQ_RESET,
	MV_REQ_ERROR,
};

struct mv_serial;
struct mv_i8042;
struct mv_rtc;
struct mv_acpi_pm;
struct mv_ged;
struct mv_pvpanic;
struct mv_irqroute;
struct mv_pci_host;
struct mv_virtio_rng;
struct mv_virtio_console;
struct mv_virtio_blk;
struct mv_virtio_net;
struct mv_virtio_env;
struct mv_pcihp;
struct mv_virtio_mem;
struct mv_virtio_balloon;
struct mv_machine_memory;
struct mv_hotplug;

struct mv_machine {
	struct mv_vm *vm;
	uint32_t generation;
	struct mv_kvm kvm;
	int vm_fd;
	struct mv_guestmem mem;
	struct mv_iobus pio, mmio;
	struct mv_irq irq;
	struct mv_vcpu *vcpus;
	unsigned int ncpus;
	struct mv_serial *serial;
	struct mv_i8042 *i8042;
	struct mv_rtc *rtc;
	struct mv_acpi_pm *pm;
	struct mv_ged *ged;
	struct mv_pvpanic *pvpanic;
	struct mv_irqroute *irqroute;  /* GSI routing and irqfds (MSI-X) */
	struct mv_pci_host *pci;       /* PCIe host bridge, bus 0 */
	struct mv_virtio_rng *rngs[MV_MAX_RNGS];   /* cfg.rngs */
	struct mv_virtio_console *vcon; /* hvc0; NULL unless cfg.virtio_console */
	struct mv_virtio_blk *disks[MV_MAX_DISKS]; /* cfg.disks */
	struct mv_virtio_net *nets[MV_MAX_NETS];   /* cfg.nets (core/machine_net.c) */
	struct mv_pcihp *pcihp;        /* PCI hotplug controller */
	struct mv_virtio_mem *vmem;    /* NULL unless cfg.hotplug (core/vm_memory.h) */
	struct mv_virtio_balloon *balloon; /* NULL unless cfg.balloon.enabled */
	struct mv_machine_memory *memory;  /* their loop-side state; NULL without either */
	struct mv_hotplug *hotplug;    /* hotpluggable devices by slot (core/machine_hotplug.c);
					* it owns the disks, whose pointers above it clears */
	atomic_bool stop;
	atomic_bool requested;
	atomic_bool paused;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	unsigned int npaused;
	struct kvm_clock_data paused_clock;
	bool paused_clock_valid;
	_Atomic uint64_t exits[MV_EXIT__COUNT];
	char why[256];       /* why the first request was made (error text, reset reason) */
	atomic_bool panic_pending;  /* a panic is posted and not handled yet */
	struct mv_vm_panic panic;   /* written before the post, read after it */
};

int machine__create(struct mv_vm *vm, struct mv_machine **out, struct mv_err *err) MV_MUST_CHECK;
int machine__run(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
/* Stops and joins every vCPU thread (loop thread). */
void machine__stop(struct mv_machine *m);
void machine__destroy(struct mv_machine *m);
/* Loop thread: vCPUs parked / running again; the guest clock stands still
 * while paused. */
int machine__pause(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
int machine__resume(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
/* Any thread: ask the loop to power off / reboot / fail the machine. Only
 * the first request of a machine is posted. `why` is kept for MV_REQ_ERROR
 * (the stop message) and MV_REQ_RESET (the reset event's reason: a short
 * stable string such as "triple fault" or "acpi reset register"). */
void machine__request(struct mv_machine *m, enum mv_machine_request req, const char *why);
/* Any thread: presses the ACPI power button (a GED event); the guest
 * decides what to do. -ENODEV if the machine has no GED. */
int machine__power_button(struct mv_machine *m) MV_MUST_CHECK;

/* Guest panics (core/machine_panic.c). vCPU thread (the pvpanic write):
 * records the writing vCPU's registers, parks every vCPU (m->paused, as
 * machine__pause; the loop completes it with machine__pause and ends it
 * with machine__resume) and posts the panic to the loop
 * (vm__on_machine_panic). One panic at a time: writes while one is
 * pending are dropped. */
void machine__guest_panic(struct mv_machine *m, uint8_t events);
/* Loop thread, vCPUs parked: every vCPU's registers (valid = false for one
 * whose registers cannot be read). */
void machine__cpu_states(struct mv_machine *m, struct mv_elfcore_cpu *cpus);

/* cfg.nets: virtio-net functions (core/machine_net.c); destroy also
 * clears m->nets. */
int machine__create_nets(struct mv_machine *m, const struct mv_virtio_env *env, struct mv_err *err) MV_MUST_CHECK;
void machine__destroy_nets(struct mv_machine *m);

/* vCPUs (core/vcpu.c) */
int vcpu__create(struct mv_machine *m, struct mv_vcpu *v, unsigned int id, struct mv_err *err) MV_MUST_CHECK;
int vcpu__start(struct mv_vcpu *v, struct mv_err *err) MV_MUST_CHECK;
/* Makes KVM_RUN return soon (immediate_exit + signal). */
void vcpu__kick(struct mv_vcpu *v);
void vcpu__join(struct mv_vcpu *v);
void vcpu__destroy(struct mv_vcpu *v);
/* The vCPU whose thread is calling, or NULL on any other thread. */
struct mv_vcpu *vcpu__current(void);

/* core/vm.c: the loop-thread side of machine__request. */
void vm__on_machine_request(void *vm, uint64_t data);
/* core/vm.c: the loop-thread side of machine__guest_panic (data: the
 * machine's generation). */
void vm__on_machine_panic(void *vm, uint64_t data);

#endif
