/* The VM's side of PCI hotplug (core/hotplug.h): checks, ids and the
 * configuration, on the loop thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hotplug.h"
#include "core/machine.h"
#include "core/plugin.h"

static bool running(const struct mv_vm *vm)
{
	return (vm->state == MV_VM_RUNNING || vm->state == MV_VM_PAUSED) && vm->machine;
}

static bool id_taken(struct mv_vm *vm, const char *id)
{
	for (unsigned int k = 0; hotplug__kinds[k]; k++)
		if (hotplug__cfg_has(hotplug__kinds[k], &vm->cfg, id))
			return true;
	return machine__hotplug_has(vm->machine, id);
}

/* "<kind><n>" with the lowest n not in use. */
static char *new_id(struct mv_vm *vm, const struct mv_hotplug_kind *kind)
{
	char buf[64];

	for (unsigned int n = 0; n < 1000; n++) {
		snprintf(buf, sizeof(buf), "%s%u", kind->name, n);
		if (!id_taken(vm, buf))
			return strdup(buf);
	}
	return NULL;
}

static int check_add(struct mv_vm *vm, const struct mv_hotplug_kind *kind, void *cfg, struct mv_err *err)
{
	const char *id;

	if (!running(vm))
		return err__set(err, -EINVAL, "vm '%s' is %s, not running", vm->cfg.name, vm__state_name(vm->state));
	if (!hotplug__cfg_room(kind, &vm->cfg))
		return err__set(err, -ENOSPC, "vm '%s' has as many %ss as it can hold", vm->cfg.name, kind->name);
	id = hotplug__cfg_id(kind, cfg);
	if (!id) {
		char *gen = new_id(vm, kind);

		if (!gen)
			return err__set(err, -ENOMEM, "out of memory");
		hotplug__cfg_set_id(kind, cfg, gen);
		return 0;
	}
	if (id_taken(vm, id))
		return err__set(err, -EEXIST, "vm '%s' already has a device with id '%s'", vm->cfg.name, id);
	return 0;
}

int vm__add_device(struct mv_vm *vm, const struct mv_hotplug_kind *kind, void *cfg, struct mv_err *err)
{
	int ret = check_add(vm, kind, cfg, err);

	if (ret < 0)
		return ret;
	ret = machine__hotplug_add(vm->machine, kind, cfg, hotplug__cfg_id(kind, cfg), err);
	if (ret < 0) {
		err__prefix(err, "vm '%s'", vm->cfg.name);
		return ret;
	}
	hotplug__cfg_add(kind, &vm->cfg, cfg);
	return ret;
}

int vm__add_plugin_device(struct mv_vm *vm, struct mv_plugin_devcfg *c, struct mv_err *err)
{
	struct mv_plugin_set *s = vm->plugins;
	int ret;

	if (!running(vm))
		return plugin_set__create_one(s, c, err); /* created at the next boot */
	for (unsigned int k = 0; hotplug__kinds[k]; k++)
		if (hotplug__kinds[k] != &hotplug__plugin_kind && hotplug__cfg_has(hotplug__kinds[k], &vm->cfg, c->id))
			return err__set(err, -EEXIST, "vm '%s' already has a device with id '%s'", vm->cfg.name, c->id);
	if (machine__hotplug_has(vm->machine, c->id))
		return err__set(err, -EEXIST, "vm '%s' already has a device with id '%s'", vm->cfg.name, c->id);
	s->pci_hotplug = vm->machine->hotplug != NULL;
	ret = plugin_set__create_one(s, c, err);
	s->pci_hotplug = false;
	if (ret < 0 || !c->live || !plugin_dev__pci(c->live))
		return ret;
	ret = machine__hotplug_plug(vm->machine, &hotplug__plugin_kind, c, c->id, err);
	if (ret < 0)
		err__prefix(err, "vm '%s'", vm->cfg.name);
	return ret;
}

int vm__remove_device(struct mv_vm *vm, const char *id, struct mv_err *err)
{
	if (!running(vm))
		return err__set(err, -EINVAL, "vm '%s' is %s, not running", vm->cfg.name, vm__state_name(vm->state));
	return machine__hotplug_unplug(vm->machine, id, err);
}

void vm__cancel_remove(struct mv_vm *vm, const char *id)
{
	if (running(vm))
		machine__hotplug_cancel(vm->machine, id);
}
