/* Building and tearing down one boot of a VM. */
#include "core/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/irqroute.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/vm_memory.h"
#include "core/x86/acpi.h"
#include "core/x86/boot.h"
#include "core/x86/firmware.h"
#include "core/x86/layout.h"
#include "core/x86/regs.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "core/hotplug.h"
#include "devices/pci/host.h"
#include "devices/pci/pcihp.h"
#include "devices/platform/ged.h"
#include "devices/platform/pvpanic.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/rng.h"

static void kvm_set_level(void *opaque, unsigned int gsi, int level)
{
	struct mv_machine *m = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(m->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		pr_warn_errno(errno, "KVM_IRQ_LINE gsi %u", gsi);
}

static const struct mv_irq_ops kvm_irq_ops = { .set_level = kvm_set_level };

static int vm_ioctl(struct mv_machine *m, unsigned long req, unsigned long arg, const char *what,
		    struct mv_err *err)
{
	if (ioctl(m->vm_fd, req, arg) < 0)
		return err__set(err, -errno, "%s: %s", what, strerror(errno));
	return 0;
}

static int create_kvm_vm(struct mv_machine *m, struct mv_err *err)
{
	uint64_t identity = LAYOUT_KVM_IDENTITY_MAP;
	struct kvm_pit_config pit = { .flags = 0 };
	int ret;

	ret = kvm__open(&m->kvm, err);
	if (ret < 0)
		return ret;
	if (m->ncpus > (unsigned int)m->kvm.max_vcpus)
		return err__set(err, -EINVAL, "cpus = %u is more than this host's KVM allows (%d)", m->ncpus,
				m->kvm.max_vcpus);
	m->vm_fd = ioctl(m->kvm.fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		return err__set(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	ret = vm_ioctl(m, KVM_SET_TSS_ADDR, LAYOUT_KVM_TSS, "KVM_SET_TSS_ADDR", err);
	if (!ret)
		ret = vm_ioctl(m, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&identity, "KVM_SET_IDENTITY_MAP_ADDR",
			       err);
	if (!ret)
		ret = vm_ioctl(m, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP", err);
	if (!ret)
		ret = vm_ioctl(m, KVM_CREATE_PIT2, (unsigned long)&pit, "KVM_CREATE_PIT2", err);
	return ret;
}

static int create_memory(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_vm_config *cfg = &m->vm->cfg;
	int ret = guestmem__layout(&m->mem, cfg->memory, err);

	if (!ret)
		ret = guestmem__map(&m->mem, &cfg->memopts, err);
	if (!ret)
		ret = machine__map_hotplug(m, err);
	for (unsigned int i = 0; !ret && i < m->mem.nregions; i++) {
		const struct mv_memregion *r = &m->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i, .guest_phys_addr = r->gpa, .memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};
		ret = vm_ioctl(m, KVM_SET_USER_MEMORY_REGION, (unsigned long)&kr, "KVM_SET_USER_MEMORY_REGION", err);
	}
	return ret;
}

static void serial_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct mv_machine *m = opaque;

	console__output(m->vm->console, buf, len);
}

static size_t serial_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct mv_machine *m = opaque;

	return (size_t)serial__input(m->serial, buf, len);
}

/* hvc0: the virtio console's output (I/O thread) and input (loop thread) */
static void hvc_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct mv_machine *m = opaque;

	console__output(m->vm->hvc, buf, len);
}

static size_t hvc_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct mv_machine *m = opaque;

	return virtio_console__input(m->vcon, buf, len);
}

static int create_hvc(struct mv_machine *m, const struct mv_virtio_env *env, struct mv_err *err)
{
	const struct mv_virtio_console_params cp = { .output = hvc_output, .opaque = m };

	return virtio_console__create(env, "console", &cp, &m->vcon, err);
}

/* The reset sources of the platform, each with its reason (vm.h) */
static void i8042_reset(void *opaque)
{
	machine__request(opaque, MV_REQ_RESET, MV_RESET_I8042);
}

static void acpi_reset(void *opaque)
{
	machine__request(opaque, MV_REQ_RESET, MV_RESET_ACPI);
}

static void cf9_reset(void *opaque)
{
	machine__request(opaque, MV_REQ_RESET, MV_RESET_CF9);
}

static void guest_poweroff(void *opaque)
{
	machine__request(opaque, MV_REQ_POWEROFF, "guest poweroff");
}

/* GSI routing (for MSI-X) and the PCIe host bridge; its 64-bit window lies
 * above RAM (layout.h). */
static int create_pci(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_irqroute_params rp = { .vm_fd = m->vm_fd };
	struct mv_pci_host_params hp = {
		.pio = &m->pio, .mmio = &m->mmio, .irq = m->irq,
		.mmio64_start = layout__pci_mmio64_start(guestmem__end(&m->mem)),
		.mmio64_size = LAYOUT_PCI_MMIO64_SIZE, .reset = cf9_reset, .opaque = m,
	};
	int ret;

	ret = irqroute__create(&rp, &m->irqroute, err);
	if (ret < 0)
		return ret;
	hp.router = irqroute__router(m->irqroute);
	return pci_host__create(&hp, &m->pci, err);
}

/* cfg.disks: one virtio-blk function each (opens and locks the images). */
static int create_disks(struct mv_machine *m, const struct mv_virtio_env *env, struct mv_err *err)
{
	for (unsigned int i = 0; i < m->vm->cfg.ndisks; i++) {
		const struct mv_disk_config *d = &m->vm->cfg.disks[i];
		const struct mv_virtio_blk_config bc = {
			.id = d->id, .path = d->path, .serial = d->serial, .readonly = d->readonly, .direct = d->direct,
		};
		int ret = virtio_blk__create(env, &bc, &m->disks[i], err);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* PCI devices from the configuration, in the lowest free slots. */
static int create_pci_devices(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_virtio_env env = { .mem = &m->mem, .host = m->pci, .vm_fd = m->vm_fd };
	int ret = 0;

	for (unsigned int i = 0; ret == 0 && i < m->vm->cfg.nrngs; i++)
		ret = virtio_rng__create(&env, m->vm->cfg.rngs[i].id, &m->rngs[i], err);
	if (ret == 0 && m->vm->cfg.ndisks)
		ret = create_disks(m, &env, err);
	if (ret == 0 && m->vm->cfg.nnets)
		ret = machine__create_nets(m, &env, err);
	if (ret == 0 && m->vm->cfg.virtio_console)
		ret = create_hvc(m, &env, err);
	return ret;
}

static void guest_panic(void *opaque, uint8_t events)
{
	machine__guest_panic(opaque, events);
}

static int create_devices(struct mv_machine *m, struct mv_err *err)
{
	struct mv_serial_params sp = {
		.irq = m->irq, .gsi = LAYOUT_IRQ_COM1, .base = LAYOUT_PORT_COM1,
		.output = serial_output, .opaque = m,
	};
	struct mv_i8042_params kp = { .irq = m->irq, .gsi = 1, .reset = i8042_reset, .opaque = m };
	struct mv_rtc_params rp = { .now = NULL, .opaque = m };
	struct mv_acpi_pm_params pp = { .poweroff = guest_poweroff, .reset = acpi_reset, .opaque = m };
	struct mv_ged_params gp = { .irq = m->irq, .gsi = LAYOUT_IRQ_GED, .pci_hotplug = true };
	struct mv_pvpanic_params vp = { .event = guest_panic, .opaque = m };
	int ret;

	ret = serial__create(&m->pio, &sp, &m->serial, err);
	if (!ret)
		ret = i8042__create(&m->pio, &kp, &m->i8042, err);
	if (!ret)
		ret = rtc__create(&m->pio, &rp, &m->rtc, err);
	if (!ret)
		ret = acpi_pm__create(&m->pio, &pp, &m->pm, err);
	if (!ret)
		ret = ged__create(&m->mmio, &gp, &m->ged, err);
	if (!ret)
		ret = pvpanic__create(&m->pio, &vp, &m->pvpanic, err);
	if (!ret)
		ret = create_pci(m, err);
	if (!ret)
		ret = create_pci_devices(m, err);
	if (!ret)
		ret = machine__memory_create(m, err);
	if (!ret)
		ret = machine__hotplug_create(m, err);
	if (!ret)
		ret = machine__plugins_create(m, err);
	return ret;
}

static int load_guest(struct mv_machine *m, struct mv_boot_entry *entry, struct mv_err *err)
{
	const struct mv_vm_config *cfg = &m->vm->cfg;
	const struct mv_acpi_dsdt_hook dsdt_hooks[] = { { ged__dsdt_hook, m->ged }, { pvpanic__dsdt_hook, m->pvpanic },
						       { pci_host__dsdt_hook, m->pci }, { pcihp__dsdt_hook, m->pcihp } };
	struct mv_acpi_table_hook table_hooks[1 + MV_PLUGIN_MAX_TABLES] = { { pci_host__mcfg_hook, m->pci } };
	unsigned int ntables = 1 + machine__plugin_tables(m, table_hooks + 1, MV_PLUGIN_MAX_TABLES);
	const struct mv_e820_reserved reserved[] = { { LAYOUT_ECAM_START, LAYOUT_ECAM_BUS0_SIZE } };
	struct mv_acpi_config acpi = {
		.ncpus = m->ncpus, .dsdt_hooks = dsdt_hooks, .ndsdt_hooks = ARRAY_SIZE(dsdt_hooks),
		.table_hooks = table_hooks, .ntable_hooks = ntables,
	};
	struct mv_boot_request req = {
		.kernel_path = cfg->kernel, .initrd_path = cfg->initrd, .cmdline = cfg->cmdline,
		.reserved = reserved, .nreserved = ARRAY_SIZE(reserved), .unpack_kernel = cfg->kernel_unpack,
	};
	int ret;

	ret = acpi__build(&m->mem, &acpi, &req.acpi_rsdp, err);
	if (ret < 0)
		return ret;
	ret = firmware__install(&m->mem);
	if (ret < 0)
		return err__set(err, ret, "installing the reset vector: guest RAM does not cover 0x%llx",
				FIRMWARE_RESET_VECTOR);
	return boot__load(&m->mem, &req, entry, err);
}

static int create_vcpus(struct mv_machine *m, const struct mv_boot_entry *entry, struct mv_err *err)
{
	int ret;

	m->vcpus = calloc(m->ncpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		return err__set(err, -ENOMEM, "out of memory for %u vCPUs", m->ncpus);
	for (unsigned int i = 0; i < m->ncpus; i++)
		m->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < m->ncpus; i++) {
		ret = vcpu__create(m, &m->vcpus[i], i, err);
		if (ret < 0)
			return ret;
	}
	return regs__setup_boot_cpu(m->vcpus[0].fd, entry, err);
}

int machine__create(struct mv_vm *vm, struct mv_machine **out, struct mv_err *err)
{
	struct mv_machine *m = calloc(1, sizeof(*m));
	struct mv_boot_entry entry;
	int ret;

	if (!m)
		return err__set(err, -ENOMEM, "out of memory");
	m->vm = vm;
	m->generation = ++vm->generation;
	m->ncpus = vm->cfg.cpus;
	m->vm_fd = -1;
	m->kvm.fd = -1;
	m->irq = (struct mv_irq){ &kvm_irq_ops, m };
	pthread_mutex_init(&m->pause_lock, NULL);
	pthread_cond_init(&m->pause_cond, NULL);
	iobus__init(&m->pio, "port I/O");
	iobus__init(&m->mmio, "MMIO");
	ret = create_kvm_vm(m, err);
	if (!ret)
		ret = create_memory(m, err);
	if (!ret)
		ret = create_devices(m, err);
	if (!ret)
		ret = load_guest(m, &entry, err);
	if (!ret)
		ret = create_vcpus(m, &entry, err);
	if (ret < 0) {
		machine__destroy(m);
		return ret;
	}
	console__set_input(vm->console, serial_input, m);
	if (m->vcon)
		console__set_input(vm->hvc, hvc_input, m);
	*out = m;
	return 0;
}

int machine__run(struct mv_machine *m, struct mv_err *err)
{
	for (unsigned int i = 0; i < m->ncpus; i++) {
		int ret = vcpu__start(&m->vcpus[i], err);
		if (ret < 0) {
			machine__stop(m);
			return ret;
		}
	}
	return 0;
}

void machine__stop(struct mv_machine *m)
{
	atomic_store(&m->stop, true);
	pthread_mutex_lock(&m->pause_lock);
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->pause_lock);
	for (unsigned int i = 0; i < m->ncpus && m->vcpus; i++)
		vcpu__kick(&m->vcpus[i]);
	for (unsigned int i = 0; i < m->ncpus && m->vcpus; i++)
		vcpu__join(&m->vcpus[i]);
}

void machine__destroy(struct mv_machine *m)
{
	if (!m)
		return;
	machine__stop(m);
	if (m->vm->console)
		console__set_input(m->vm->console, NULL, NULL);
	if (m->vm->hvc)
		console__set_input(m->vm->hvc, NULL, NULL);
	for (unsigned int i = 0; i < m->ncpus && m->vcpus; i++)
		vcpu__destroy(&m->vcpus[i]);
	free(m->vcpus);
	for (unsigned int i = 0; i < MV_MAX_RNGS; i++)
		virtio_rng__destroy(m->rngs[i]);
	virtio_console__destroy(m->vcon);
	for (unsigned int i = 0; i < MV_MAX_DISKS; i++)
		virtio_blk__destroy(m->disks[i]);
	machine__destroy_nets(m);
	machine__memory_destroy(m);
	machine__hotplug_destroy(m);
	machine__plugins_destroy(m);
	pci_host__destroy(m->pci);
	irqroute__destroy(m->irqroute);
	pvpanic__destroy(m->pvpanic);
	ged__destroy(m->ged);
	acpi_pm__destroy(m->pm);
	rtc__destroy(m->rtc);
	i8042__destroy(m->i8042);
	serial__destroy(m->serial);
	iobus__destroy(&m->pio);
	iobus__destroy(&m->mmio);
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	guestmem__unmap(&m->mem);
	kvm__close(&m->kvm);
	pthread_mutex_destroy(&m->pause_lock);
	pthread_cond_destroy(&m->pause_cond);
	free(m);
}

static unsigned int running_vcpus(struct mv_machine *m)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->ncpus; i++)
		n += m->vcpus[i].started;
	return n;
}

/* Waits until every running vCPU has left KVM_RUN, kicking them again every
 * 100 ms (a kick can land just before a vCPU blocks in the kernel). */
static bool wait_vcpus_parked(struct mv_machine *m, int max_ms)
{
	bool parked = false;

	for (int waited = 0; !parked && waited <= max_ms; waited += 100) {
		struct timespec deadline;

		for (unsigned int i = 0; i < m->ncpus; i++)
			vcpu__kick(&m->vcpus[i]);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 100 * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&m->pause_lock);
		while (m->npaused < running_vcpus(m) && !atomic_load(&m->stop))
			if (pthread_cond_timedwait(&m->pause_cond, &m->pause_lock, &deadline) == ETIMEDOUT)
				break;
		parked = m->npaused >= running_vcpus(m) || atomic_load(&m->stop);
		pthread_mutex_unlock(&m->pause_lock);
	}
	return parked;
}

/* The guest clock stands still over a pause: kvm-clock is read once every
 * vCPU is parked and written back on resume (the guest cannot have seen a
 * later value), and each vCPU's pvclock is flagged as paused so the guest's
 * soft-lockup watchdog does not fire on resume. */
int machine__pause(struct mv_machine *m, struct mv_err *err)
{
	(void)err;
	atomic_store(&m->paused, true);
	m->paused_clock_valid = false;
	if (!wait_vcpus_parked(m, 10000)) {
		pr_warn("vm %s: vCPUs still running 10 s after pause; the guest clock will jump over the pause",
			m->vm->cfg.name);
		return 0;
	}
	if (ioctl(m->vm_fd, KVM_GET_CLOCK, &m->paused_clock) < 0) {
		pr_warn_errno(errno, "KVM_GET_CLOCK: guest clock will jump over the pause");
		return 0;
	}
	m->paused_clock_valid = true;
	for (unsigned int i = 0; i < m->ncpus; i++)
		if (m->vcpus[i].started && ioctl(m->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
			pr_debug("KVM_KVMCLOCK_CTRL vCPU %u: %s", i, strerror(errno));
	return 0;
}

int machine__resume(struct mv_machine *m, struct mv_err *err)
{
	struct kvm_clock_data clock = { .clock = m->paused_clock.clock };

	(void)err;
	if (m->paused_clock_valid && ioctl(m->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		pr_warn_errno(errno, "KVM_SET_CLOCK: guest clock jumps over the pause");
	pthread_mutex_lock(&m->pause_lock);
	atomic_store(&m->paused, false);
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->pause_lock);
	return 0;
}

void machine__request(struct mv_machine *m, enum mv_machine_request req, const char *why)
{
	bool expected = false;

	if (!atomic_compare_exchange_strong(&m->requested, &expected, true))
		return;
	if ((req == MV_REQ_ERROR || req == MV_REQ_RESET) && why)
		snprintf(m->why, sizeof(m->why), "%s", why);
	pr_debug("vm %s: request %d (%s)", m->vm->cfg.name, req, why ? why : "");
	if (loop__post(m->vm->loop, vm__on_machine_request, m->vm, ((uint64_t)m->generation << 8) | req) < 0)
		pr_err("cannot post request %d: out of memory", req);
}

int machine__power_button(struct mv_machine *m)
{
	if (!m->ged)
		return -ENODEV;
	ged__raise(m->ged, GED_EVENT_POWER_BUTTON);
	return 0;
}
