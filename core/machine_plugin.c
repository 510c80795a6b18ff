/* A machine's plugin devices: the environment they get (buses, memory,
 * interrupts, the PCI host, the loop) and their ACPI tables. */
#include "core/hotplug.h"
#include "core/machine.h"
#include "core/plugin.h"

#include <errno.h>

static void plugin_request(void *opaque, enum mv_plugin_request req, const char *why)
{
	struct mv_machine *m = opaque;

	machine__request(m, req == MV_PLUGIN_REQ_POWEROFF ? MV_REQ_POWEROFF : MV_REQ_RESET, why);
}

int machine__plugins_create(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_plugin_env env = {
		.loop = m->vm->loop, .pio = &m->pio, .mmio = &m->mmio, .mem = &m->mem, .irq = m->irq,
		.pci = m->pci, .vm_fd = m->vm_fd, .vm = m->vm, .request = plugin_request, .opaque = m,
	};

	/* a set even without configured devices: vm:add_device needs the env */
	int ret;

	if (!m->vm->plugins && !(m->vm->plugins = plugin_set__new()))
		return err__set(err, -ENOMEM, "out of memory");
	ret = plugin_set__create_all(m->vm->plugins, &env, err);
	if (ret == 0) /* their PCI functions are removable, as hotplugged ones */
		machine__hotplug_adopt(m, &hotplug__plugin_kind);
	return ret;
}

void machine__plugins_destroy(struct mv_machine *m)
{
	plugin_set__destroy_all(m->vm->plugins);
}

unsigned int machine__plugin_tables(struct mv_machine *m, struct mv_acpi_table_hook *hooks, unsigned int max)
{
	return plugin_set__table_hooks(m->vm->plugins, hooks, max);
}
