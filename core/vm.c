/* VM lifecycle on the loop thread: start, pause, resume, reboot, stop. */
#include "core/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/jail.h"
#include "core/machine.h"
#include "core/plugin.h"

static struct mv_vm *all_vms;
static int worst_exit_status;

static const char *const state_names[] = { "created", "running", "paused", "stopped" };
static const char *const reason_names[] = { "none", "poweroff", "reset", "panic", "error", "killed" };
static const char *const exit_names[] = { "io", "mmio", "hlt", "intr", "shutdown", "other" };

const char *vm__state_name(enum mv_vm_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

const char *vm__stop_reason_name(enum mv_stop_reason r)
{
	return r < ARRAY_SIZE(reason_names) ? reason_names[r] : "?";
}

const char *vm__exit_kind_name(enum mv_exit_kind k)
{
	return k < ARRAY_SIZE(exit_names) ? exit_names[k] : "?";
}

void vm__config_free(struct mv_vm_config *cfg)
{
	free(cfg->name);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console.path);
	free(cfg->hvc.path);
	jail__config_free(cfg->jail);
	for (unsigned int i = 0; i < cfg->ndisks && i < MV_MAX_DISKS; i++) {
		free(cfg->disks[i].id);
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
	}
	for (unsigned int i = 0; i < cfg->nnets && i < MV_MAX_NETS; i++) {
		free(cfg->nets[i].id);
		free(cfg->nets[i].tap);
	}
	for (unsigned int i = 0; i < cfg->nrngs && i < MV_MAX_RNGS; i++)
		free(cfg->rngs[i].id);
	memset(cfg, 0, sizeof(*cfg));
}

static bool notify(struct mv_vm *vm, enum mv_vm_event ev)
{
	if (!vm->listener.event)
		return true;
	return vm->listener.event(vm->listener.opaque, vm, ev);
}

bool vm__notify(struct mv_vm *vm, enum mv_vm_event ev)
{
	return notify(vm, ev);
}

static void console_line(void *opaque, const char *line, size_t len)
{
	struct mv_vm *vm = opaque;

	if (vm->listener.console_line)
		vm->listener.console_line(vm->listener.opaque, vm, line, len);
}

static void console_data(void *opaque)
{
	struct mv_vm *vm = opaque;

	if (vm->listener.console_data)
		vm->listener.console_data(vm->listener.opaque, vm);
}

static void hvc_line(void *opaque, const char *line, size_t len)
{
	struct mv_vm *vm = opaque;

	if (vm->listener.hvc_line)
		vm->listener.hvc_line(vm->listener.opaque, vm, line, len);
}

static void hvc_data(void *opaque)
{
	struct mv_vm *vm = opaque;

	if (vm->listener.hvc_data)
		vm->listener.hvc_data(vm->listener.opaque, vm);
}

/* The serial console, and hvc0's when the VM has a virtio console. */
static int create_consoles(struct mv_vm *vm, struct mv_err *err)
{
	int ret;

	vm->cfg.console.what = "serial";
	ret = console__create(vm->loop, &vm->cfg.console, &vm->console, err);
	if (ret < 0)
		return ret;
	console__set_line_cb(vm->console, console_line, vm);
	console__set_data_cb(vm->console, console_data, vm);
	if (!vm->cfg.virtio_console)
		return 0;
	vm->cfg.hvc.what = "console";
	ret = console__create(vm->loop, &vm->cfg.hvc, &vm->hvc, err);
	if (ret < 0) {
		console__destroy(vm->console);
		vm->console = NULL;
		return ret;
	}
	console__set_line_cb(vm->hvc, hvc_line, vm);
	console__set_data_cb(vm->hvc, hvc_data, vm);
	return 0;
}

int vm__create(struct mv_loop *loop, struct mv_vm_config *cfg, struct mv_vm **out, struct mv_err *err)
{
	struct mv_vm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		return err__set(err, -ENOMEM, "out of memory");
	vm->loop = loop;
	vm->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	ret = create_consoles(vm, err);
	if (ret < 0) {
		vm__config_free(&vm->cfg);
		free(vm);
		return ret;
	}
	vm->next = all_vms;
	all_vms = vm;
	*out = vm;
	return 0;
}

static void collect_exits(struct mv_vm *vm, struct mv_machine *m)
{
	for (int k = 0; k < MV_EXIT__COUNT; k++)
		vm->exits[k] += atomic_load(&m->exits[k]);
}

static void teardown_machine(struct mv_vm *vm)
{
	struct mv_machine *m = vm->machine;

	if (!m)
		return;
	machine__stop(m);
	console__flush(vm->console);
	if (vm->hvc)
		console__flush(vm->hvc);
	collect_exits(vm, m);
	vm->machine = NULL;
	machine__destroy(m);
}

void vm__set_stopped(struct mv_vm *vm, enum mv_stop_reason reason, int code)
{
	int status = reason == MV_STOP_PANIC ? 2 : reason == MV_STOP_ERROR ? 1 : 0;

	teardown_machine(vm);
	vm->state = MV_VM_STOPPED;
	vm->stop_reason = reason;
	vm->stop_code = code;
	if (status > worst_exit_status)
		worst_exit_status = status;
	notify(vm, MV_EV_STOPPED);
}

static int boot_machine(struct mv_vm *vm, struct mv_err *err)
{
	struct mv_machine *m;
	int ret = machine__create(vm, &m, err);

	if (ret < 0)
		return ret;
	vm->machine = m;
	ret = machine__run(m, err);
	if (ret < 0) {
		vm->machine = NULL;
		machine__destroy(m);
		return ret;
	}
	vm->boots++;
	vm->state = MV_VM_RUNNING;
	return 0;
}

int vm__start(struct mv_vm *vm, struct mv_err *err)
{
	int ret;

	if (vm->state == MV_VM_RUNNING || vm->state == MV_VM_PAUSED)
		return err__set(err, -EBUSY, "vm '%s' is already %s", vm->cfg.name, vm__state_name(vm->state));
	ret = vm->cfg.jail ? jail__enter(vm, err) : 0;
	if (!ret)
		ret = boot_machine(vm, err);
	if (ret < 0) {
		err__prefix(err, "vm '%s' cannot start", vm->cfg.name);
		return ret;
	}
	vm->start_time = ev_now(vm->loop->ev);
	vm->stop_reason = MV_STOP_NONE;
	vm->stop_message[0] = '\0';
	notify(vm, MV_EV_STARTED);
	return 0;
}

static int reboot(struct mv_vm *vm, struct mv_err *err)
{
	int ret;

	teardown_machine(vm);
	ret = boot_machine(vm, err);
	if (ret < 0) {
		snprintf(vm->stop_message, sizeof(vm->stop_message), "reboot failed: %s", err->msg);
		pr_err("vm '%s': %s", vm->cfg.name, vm->stop_message);
		vm__set_stopped(vm, MV_STOP_ERROR, ret);
	}
	return ret;
}

int vm__reset(struct mv_vm *vm, struct mv_err *err)
{
	if (vm->state != MV_VM_RUNNING && vm->state != MV_VM_PAUSED)
		return err__set(err, -EINVAL, "vm '%s' is %s, not running", vm->cfg.name, vm__state_name(vm->state));
	return reboot(vm, err);
}

int vm__power_button(struct mv_vm *vm, struct mv_err *err)
{
	int ret;

	if (vm->state != MV_VM_RUNNING && vm->state != MV_VM_PAUSED)
		return err__set(err, -EINVAL, "vm '%s' is %s, not running", vm->cfg.name, vm__state_name(vm->state));
	ret = machine__power_button(vm->machine);
	if (ret < 0)
		return err__set(err, ret, "vm '%s' has no ACPI power button", vm->cfg.name);
	return 0;
}

/* Whether vm was not destroyed (by a handler) meanwhile. */
bool vm__alive(const struct mv_vm *vm)
{
	for (const struct mv_vm *v = all_vms; v; v = v->next)
		if (v == vm)
			return true;
	return false;
}

bool vm__same_machine(const struct mv_vm *vm, uint32_t generation)
{
	return vm->machine && vm->machine->generation == generation;
}

static void on_guest_reset(struct mv_vm *vm)
{
	uint32_t generation = vm->machine->generation;
	struct mv_err err;
	bool reboot_it;

	snprintf(vm->reset_reason, sizeof(vm->reset_reason), "%s",
		 vm->machine->why[0] ? vm->machine->why : "unknown");
	/* what the guest printed before it reset comes out (and is in
	 * vm.console:tail()) before the handlers run */
	console__flush(vm->console);
	if (vm->hvc)
		console__flush(vm->hvc);
	pr_info("vm '%s': guest reset (%s)", vm->cfg.name, vm->reset_reason);
	reboot_it = notify(vm, MV_EV_RESET);

	if (!vm__alive(vm) || !vm__same_machine(vm, generation))
		return; /* a handler destroyed, killed or reset the VM */
	if (!reboot_it) {
		vm__set_stopped(vm, MV_STOP_RESET, 0);
		return;
	}
	(void)reboot(vm, &err);
}

void vm__on_machine_request(void *opaque, uint64_t data)
{
	struct mv_vm *vm = opaque;
	uint32_t generation = (uint32_t)(data >> 8);
	enum mv_machine_request req = (enum mv_machine_request)(data & 0xff);

	if (!vm->machine || generation != vm->machine->generation)
		return; /* a request from a machine that is already gone */
	switch (req) {
	case MV_REQ_POWEROFF:
		vm__set_stopped(vm, MV_STOP_POWEROFF, 0);
		break;
	case MV_REQ_RESET:
		on_guest_reset(vm);
		break;
	case MV_REQ_ERROR:
		snprintf(vm->stop_message, sizeof(vm->stop_message), "%s", vm->machine->why);
		pr_err("vm '%s' stopped: %s", vm->cfg.name, vm->stop_message);
		vm__set_stopped(vm, MV_STOP_ERROR, -EIO);
		break;
	}
}

int vm__pause(struct mv_vm *vm, struct mv_err *err)
{
	int ret;

	if (vm->state != MV_VM_RUNNING)
		return err__set(err, -EINVAL, "vm '%s' is %s, not running", vm->cfg.name, vm__state_name(vm->state));
	ret = machine__pause(vm->machine, err);
	if (ret < 0)
		return ret;
	vm->state = MV_VM_PAUSED;
	notify(vm, MV_EV_PAUSED);
	return 0;
}

int vm__resume(struct mv_vm *vm, struct mv_err *err)
{
	int ret;

	if (vm->state != MV_VM_PAUSED)
		return err__set(err, -EINVAL, "vm '%s' is %s, not paused", vm->cfg.name, vm__state_name(vm->state));
	ret = machine__resume(vm->machine, err);
	if (ret < 0)
		return ret;
	vm->state = MV_VM_RUNNING;
	notify(vm, MV_EV_RESUMED);
	return 0;
}

void vm__kill(struct mv_vm *vm, enum mv_stop_reason reason, int code)
{
	if (vm->state != MV_VM_RUNNING && vm->state != MV_VM_PAUSED)
		return;
	vm__set_stopped(vm, reason, code);
}

void vm__destroy(struct mv_vm *vm)
{
	struct mv_vm **pp;

	if (!vm)
		return;
	vm__kill(vm, MV_STOP_KILLED, 0);
	for (pp = &all_vms; *pp; pp = &(*pp)->next)
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	console__destroy(vm->console);
	console__destroy(vm->hvc);
	jail__forget(vm);
	plugin_set__free(vm->plugins);
	vm__config_free(&vm->cfg);
	free(vm);
}

void vm__exit_counts(const struct mv_vm *vm, uint64_t out[MV_EXIT__COUNT])
{
	for (int k = 0; k < MV_EXIT__COUNT; k++)
		out[k] = vm->exits[k] + (vm->machine ? atomic_load(&vm->machine->exits[k]) : 0);
}

struct mv_vm *vm__first(void)
{
	return all_vms;
}

unsigned int vm__count_active(void)
{
	unsigned int n = 0;

	for (struct mv_vm *vm = all_vms; vm; vm = vm->next)
		n += vm->state == MV_VM_RUNNING || vm->state == MV_VM_PAUSED;
	return n;
}

int vm__exit_status(void)
{
	return worst_exit_status;
}
