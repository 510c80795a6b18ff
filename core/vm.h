/* A virtual machine: its configuration, its state, and the running machine
 * (KVM VM, memory, devices, vCPU threads) that is created at start and
 * created again on every guest reboot. All vm__ functions are called on the
 * loop thread. */
#ifndef MV_VM_H
#define MV_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/console.h"
#include "core/err.h"
#include "core/guestmem.h"
#include "core/loop.h"

struct mv_vm;
struct mv_jail_config;
struct mv_plugin_set;

enum mv_vm_state { MV_VM_CREATED, MV_VM_RUNNING, MV_VM_PAUSED, MV_VM_STOPPED };

enum mv_stop_reason {
	MV_STOP_NONE,
	MV_STOP_POWEROFF,
	MV_STOP_RESET,   /* reboot vetoed */
	MV_STOP_PANIC,
	MV_STOP_ERROR,
	MV_STOP_KILLED,
};

enum mv_exit_kind {
	MV_EXIT_IO,
	MV_EXIT_MMIO,
	MV_EXIT_HLT,
	MV_EXIT_INTR,
	MV_EXIT_SHUTDOWN,
	MV_EXIT_OTHER,
	MV_EXIT__COUNT,
};

#define MV_MAX_DISKS 31  /* one per PCI slot (hotplug can fill them all) */

/* One virtio-blk disk over a raw image (strings malloc'ed). */
struct mv_disk_config {
	char *id;
	char *path;
	char *serial;    /* may be NULL: the id */
	bool readonly;
	bool direct;     /* O_DIRECT */
};

#define MV_MAX_NETS 8

/* One virtio-net NIC over a tap (strings malloc'ed). */
struct mv_net_config {
	char *id;
	char *tap;       /* tap interface name */
	uint8_t mac[6];
	bool vhost;      /* the kernel's vhost-net data path */
};

#define MV_MAX_RNGS 8

/* One virtio-rng (entropy from getrandom()); id malloc'ed. */
struct mv_rng_config {
	char *id;
};

/* A virtio-balloon (core/vm_memory.h). */
struct mv_balloon_config {
	bool enabled;
	double stats;                /* statistics interval in seconds; 0: no statsq */
	bool free_page_reporting;
	bool deflate_on_oom;
};

struct mv_vm_config {
	char *name;
	unsigned int cpus;
	uint64_t memory;
	struct mv_memopts memopts;
	char *kernel;
	char *initrd;    /* may be NULL */
	char *cmdline;   /* may be NULL */
	bool kernel_unpack; /* unpack an LZ4 bzImage on the host, enter it through PVH */
	struct mv_console_config console;
	struct mv_rng_config rngs[MV_MAX_RNGS]; /* virtio-rng, before the disks */
	unsigned int nrngs;
	struct mv_disk_config disks[MV_MAX_DISKS]; /* virtio-blk, in PCI slot order */
	unsigned int ndisks;
	struct mv_net_config nets[MV_MAX_NETS]; /* virtio-net, after the disks */
	unsigned int nnets;
	bool virtio_console;            /* a virtio-console PCI device: hvc0 */
	struct mv_console_config hvc;   /* its sink and input, as for console */
	uint64_t hotplug;               /* virtio-mem region bytes (0: no virtio-mem) */
	uint64_t hotplug_block;         /* its block size */
	struct mv_balloon_config balloon;
	struct mv_jail_config *jail;    /* NULL: not jailed (core/jail.h) */
};

enum mv_vm_event {
	MV_EV_STARTED,
	MV_EV_STOPPED,   /* vm->stop_reason, vm->stop_code say why */
	MV_EV_PAUSED,
	MV_EV_RESUMED,
	MV_EV_RESET,     /* guest asked to reboot; listener returns false to veto */
	MV_EV_PANIC,     /* guest reported a panic (vm->panic); listener returns
			  * true if a handler took it, false for the default */
	MV_EV_DEVICE_ADDED,   /* a hotplugged device's driver is up (vm->device_event) */
	MV_EV_DEVICE_REMOVED, /* the guest ejected a device (vm->device_event) */
	MV_EV_MEMORY,         /* virtio-mem's plugged size changed (core/vm_memory.h) */
	MV_EV_BALLOON_STATS,  /* new balloon statistics (core/vm_memory.h) */
};

/* Why the guest reset: the reset event's ev.reason (vm->reset_reason).
 * Plugins' requests read "plugin ID: WHY" (core/plugin_host.c). */
#define MV_RESET_TRIPLE_FAULT "triple fault"        /* KVM_EXIT_SHUTDOWN */
#define MV_RESET_SYSTEM_EVENT "kvm system event"    /* KVM_EXIT_SYSTEM_EVENT, reset */
#define MV_RESET_I8042        "keyboard controller" /* i8042 CPU reset pulse (0xFE to 0x64) */
#define MV_RESET_CF9          "port 0xcf9"          /* reset control register, RST_CPU */
#define MV_RESET_ACPI         "acpi reset register" /* the FADT's RESET_REG */

/* What the guest's pvpanic write said, and the reporting vCPU's state at
 * that write. */
struct mv_vm_panic {
	uint8_t events;          /* PVPANIC_PANICKED / PVPANIC_CRASH_LOADED bits */
	unsigned int vcpu;
	bool have_regs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

/* Which device a MV_EV_DEVICE_* event is about (core/hotplug.h). */
struct mv_vm_device_event {
	char id[64];
	char type[32];           /* e.g. "virtio-blk" */
	unsigned int slot;       /* PCI slot on bus 0 */
};

/* How the owner (the Lua layer) hears about a VM. Called on the loop thread. */
struct mv_vm_listener {
	bool (*event)(void *opaque, struct mv_vm *vm, enum mv_vm_event ev);
	void (*console_line)(void *opaque, struct mv_vm *vm, const char *line, size_t len);
	void (*console_data)(void *opaque, struct mv_vm *vm);
	void *opaque;
	/* the same for hvc0 (the virtio console), when the VM has one */
	void (*hvc_line)(void *opaque, struct mv_vm *vm, const char *line, size_t len);
	void (*hvc_data)(void *opaque, struct mv_vm *vm);
};

struct mv_machine;

struct mv_vm {
	struct mv_vm_config cfg;
	struct mv_loop *loop;
	struct mv_vm_listener listener;
	enum mv_vm_state state;
	enum mv_stop_reason stop_reason;
	int stop_code;
	char stop_message[640];
	unsigned int boots;
	uint32_t generation;       /* bumped per machine; stale posts are ignored */
	double start_time;         /* ev_now at first start */
	uint64_t exits[MV_EXIT__COUNT]; /* totals of machines already torn down */
	struct mv_console *console;
	struct mv_console *hvc;      /* hvc0's host side; NULL unless cfg.virtio_console */
	struct mv_machine *machine;  /* NULL unless running or paused */
	struct mv_vm *next;          /* in the list of all VMs */
	struct mv_vm_panic panic;    /* the last panic reported */
	char reset_reason[256];      /* why the guest last reset (MV_EV_RESET; MV_RESET_*) */
	bool panic_hold;             /* a panic handler runs; vCPUs are parked */
	struct mv_vm_device_event device_event; /* the last device_added/removed */
	uint64_t mem_requested;      /* virtio-mem requested size, kept over reboots */
	uint64_t balloon_target;     /* virtio-balloon target bytes, kept over reboots */
	struct mv_plugin_set *plugins; /* plugin devices (core/plugin.h); NULL: none */
};

/* Takes ownership of cfg's strings (they must be malloc'ed). */
int vm__create(struct mv_loop *loop, struct mv_vm_config *cfg, struct mv_vm **out, struct mv_err *err) MV_MUST_CHECK;
/* Stops the VM if needed (reason killed) and frees it. */
void vm__destroy(struct mv_vm *vm);
void vm__config_free(struct mv_vm_config *cfg);

int vm__start(struct mv_vm *vm, struct mv_err *err) MV_MUST_CHECK;
int vm__pause(struct mv_vm *vm, struct mv_err *err) MV_MUST_CHECK;
int vm__resume(struct mv_vm *vm, struct mv_err *err) MV_MUST_CHECK;
/* Hard stop: vCPUs stopped, machine torn down, state stopped. */
void vm__kill(struct mv_vm *vm, enum mv_stop_reason reason, int code);
/* Reboot now (as if the guest asked). */
int vm__reset(struct mv_vm *vm, struct mv_err *err) MV_MUST_CHECK;
/* Presses the guest's ACPI power button and returns at once: the guest
 * decides whether and when to power off (the VM then stops with reason
 * poweroff). -EINVAL unless running or paused; a paused guest sees the
 * press when it is resumed. Presses before the guest read the last one
 * count once. */
int vm__power_button(struct mv_vm *vm, struct mv_err *err) MV_MUST_CHECK;

/* Guest RAM and vCPU registers as an ELF64 core at path (mode 0600; written
 * to a temporary file in the same directory, then renamed). A running VM
 * is paused for the time of the dump. -EINVAL unless running or paused. */
int vm__dump_memory(struct mv_vm *vm, const char *path, struct mv_err *err) MV_MUST_CHECK;
/* "panicked" or "crash_loaded" for a pvpanic event byte. */
const char *vm__panic_kind(uint8_t events);

const char *vm__state_name(enum mv_vm_state s);
const char *vm__stop_reason_name(enum mv_stop_reason r);
const char *vm__exit_kind_name(enum mv_exit_kind k);
/* Totals over all boots, including the running machine. */
void vm__exit_counts(const struct mv_vm *vm, uint64_t out[MV_EXIT__COUNT]);

/* Every VM created in this process, and how many are running or paused. */
struct mv_vm *vm__first(void);
unsigned int vm__count_active(void);
/* Process exit status: 2 if a VM stopped on an unhandled panic, 1 if one
 * stopped on an error, else 0. */
int vm__exit_status(void);

/* Inside core/ (vm.c and vm_panic.c), loop thread: */
/* Tears the machine down; the VM is stopped for reason (event "stopped"). */
void vm__set_stopped(struct mv_vm *vm, enum mv_stop_reason reason, int code);
/* Tells the listener; its answer (true if it has none). */
bool vm__notify(struct mv_vm *vm, enum mv_vm_event ev);
/* Whether vm still exists (an event handler may have destroyed it). */
bool vm__alive(const struct mv_vm *vm);
/* Whether vm runs the machine of that generation (not reset or stopped). */
bool vm__same_machine(const struct mv_vm *vm, uint32_t generation);

#endif
