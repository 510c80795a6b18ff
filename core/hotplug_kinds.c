/* The device kinds PCI hotplug can add and remove (core/hotplug.h). A new
 * kind: its functions here (or in a file of its own, as core/hotplug_rng.c)
 * and one entry in hotplug__kinds. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/hotplug.h"
#include "core/machine.h"
#include "core/plugin.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"

/* ---- disk: virtio-blk over a raw image (struct mv_disk_config) ------------- */

static int disk_create(struct mv_machine *m, const void *cfg, void **dev, struct mv_err *err)
{
	const struct mv_disk_config *d = cfg;
	const struct mv_virtio_env env = { .mem = &m->mem, .host = m->pci, .vm_fd = m->vm_fd };
	const struct mv_virtio_blk_config bc = {
		.id = d->id, .path = d->path, .serial = d->serial, .readonly = d->readonly, .direct = d->direct,
	};
	struct mv_virtio_blk *blk;
	int ret = virtio_blk__create(&env, &bc, &blk, err);

	if (ret < 0)
		return ret;
	*dev = blk;
	return 0;
}

static void disk_destroy(void *dev)
{
	virtio_blk__destroy(dev);
}

static struct mv_pci_dev *disk_pci(void *dev)
{
	return &virtio_blk__pci(dev)->pci;
}

static void disk_watch(void *dev, void *token)
{
	hotplug__watch_virtio(virtio_blk__pci(dev), token);
}

static void disk_cfg_free(void *cfg)
{
	struct mv_disk_config *d = cfg;

	free(d->id);
	free(d->path);
	free(d->serial);
	memset(d, 0, sizeof(*d));
}

static const struct mv_hotplug_kind disk_kind;

static void *disk_boot_device(struct mv_machine *m, unsigned int i, const char **id)
{
	const struct mv_disk_config *c = hotplug__cfg_at(&disk_kind, &m->vm->cfg, i);

	*id = c ? c->id : NULL;
	return c ? m->disks[i] : NULL;
}

static void disk_boot_forget(struct mv_machine *m, unsigned int i)
{
	m->disks[i] = NULL;
}

static const struct mv_hotplug_kind disk_kind = {
	.name = "disk", .create = disk_create, .destroy = disk_destroy, .pci = disk_pci, .watch = disk_watch,
	.list = HOTPLUG_LIST(disks, ndisks), .id_off = offsetof(struct mv_disk_config, id), .cfg_free = disk_cfg_free,
	.boot_device = disk_boot_device, .boot_forget = disk_boot_forget,
};

/* ---- net: virtio-net over a tap (struct mv_net_config) -------------------------- */

static int net_create(struct mv_machine *m, const void *cfg, void **dev, struct mv_err *err)
{
	const struct mv_net_config *n = cfg;
	const struct mv_virtio_env env = { .mem = &m->mem, .host = m->pci, .vm_fd = m->vm_fd };
	struct mv_virtio_net_config nc = { .id = n->id, .tap = n->tap, .fd = -1, .vhost = n->vhost };
	struct mv_virtio_net *net;
	int ret;

	memcpy(nc.mac, n->mac, sizeof(nc.mac));
	ret = virtio_net__create(&env, &nc, &net, err);
	if (ret < 0)
		return ret;
	*dev = net;
	return 0;
}

static void net_destroy(void *dev)
{
	virtio_net__destroy(dev);
}

static struct mv_pci_dev *net_pci(void *dev)
{
	return &virtio_net__pci(dev)->pci;
}

static void net_watch(void *dev, void *token)
{
	hotplug__watch_virtio(virtio_net__pci(dev), token);
}

static void net_cfg_free(void *cfg)
{
	struct mv_net_config *n = cfg;

	free(n->id);
	free(n->tap);
	memset(n, 0, sizeof(*n));
}

static const struct mv_hotplug_kind net_kind;

static void *net_boot_device(struct mv_machine *m, unsigned int i, const char **id)
{
	const struct mv_net_config *c = hotplug__cfg_at(&net_kind, &m->vm->cfg, i);

	*id = c ? c->id : NULL;
	return c ? m->nets[i] : NULL;
}

static void net_boot_forget(struct mv_machine *m, unsigned int i)
{
	m->nets[i] = NULL;
}

static const struct mv_hotplug_kind net_kind = {
	.name = "net", .create = net_create, .destroy = net_destroy, .pci = net_pci, .watch = net_watch,
	.list = HOTPLUG_LIST(nets, nnets), .id_off = offsetof(struct mv_net_config, id), .cfg_free = net_cfg_free,
	.boot_device = net_boot_device, .boot_forget = net_boot_forget,
};

/* ---- plugin: a plugin device with a PCI function or virtio device ------------ */
/* Its record is the struct mv_plugin_devcfg in vm->plugins, which creates
 * it again at every boot: that set is the one source of truth, vm->cfg
 * holds nothing of it. Devices are added by vm__add_plugin_device, not
 * through create. */

static struct mv_vm *vm_of_cfg(const struct mv_vm_config *vc)
{
	return (struct mv_vm *)((const char *)vc - offsetof(struct mv_vm, cfg));
}

static int plugin_create(struct mv_machine *m, const void *cfg, void **dev, struct mv_err *err)
{
	(void)m, (void)cfg, (void)dev;
	return err__set(err, -EINVAL, "plugin devices are added with vm:add_device{ plugin = ... }");
}

static void plugin_destroy(void *dev)
{
	plugin_set__destroy_one(dev);
}

static struct mv_pci_dev *plugin_pci(void *dev)
{
	struct mv_plugin_devcfg *c = dev;

	return c->live ? plugin_dev__pci(c->live) : NULL;
}

/* virtio: DRIVER_OK; a plain PCI function counts as added once plugged */
static void plugin_watch(void *dev, void *token)
{
	struct mv_plugin_devcfg *c = dev;
	struct mv_virtio_pci *vp = c->live ? plugin_pci__virtio_transport(c->live, 0) : NULL;

	if (vp)
		hotplug__watch_virtio(vp, token);
	else
		hotplug__ready(token);
}

static bool plugin_cfg_room(const struct mv_vm_config *vc)
{
	(void)vc;
	return true;
}

static void plugin_cfg_add(struct mv_vm_config *vc, const void *cfg)
{
	(void)vc, (void)cfg; /* already in vm->plugins */
}

static bool plugin_cfg_remove(struct mv_vm_config *vc, const char *id)
{
	struct mv_plugin_set *s = vm_of_cfg(vc)->plugins;
	struct mv_plugin_devcfg *c = plugin_set__find(s, id);

	if (!c)
		return false;
	plugin_set__remove(s, c);
	return true;
}

static bool plugin_cfg_has(const struct mv_vm_config *vc, const char *id)
{
	return plugin_set__find(vm_of_cfg(vc)->plugins, id) != NULL;
}

static void plugin_cfg_free(void *cfg)
{
	(void)cfg; /* the set frees its records */
}

/* The i-th configured plugin device; the device is its record, when
 * its instance has a PCI function. */
static void *plugin_boot_device(struct mv_machine *m, unsigned int i, const char **id)
{
	struct mv_plugin_devcfg *c = m->vm->plugins ? m->vm->plugins->head : NULL;

	while (c && i--)
		c = c->next;
	*id = c ? c->id : NULL;
	return c && c->live && plugin_dev__pci(c->live) ? c : NULL;
}

static void plugin_boot_forget(struct mv_machine *m, unsigned int i)
{
	(void)m, (void)i; /* the machine keeps no pointer to it */
}

const struct mv_hotplug_kind hotplug__plugin_kind = {
	.name = "plugin", .create = plugin_create, .destroy = plugin_destroy, .pci = plugin_pci,
	.watch = plugin_watch, .cfg_room = plugin_cfg_room, .cfg_add = plugin_cfg_add,
	.cfg_remove = plugin_cfg_remove, .cfg_has = plugin_cfg_has, .id_off = offsetof(struct mv_plugin_devcfg, id),
	.cfg_free = plugin_cfg_free, .boot_device = plugin_boot_device, .boot_forget = plugin_boot_forget,
};

/* ---- the table ---------------------------------------------------------------- */

const struct mv_hotplug_kind *const hotplug__kinds[] = {
	&disk_kind, &net_kind, &hotplug__rng_kind, &hotplug__plugin_kind, NULL,
};

const struct mv_hotplug_kind *hotplug__kind(const char *name)
{
	for (unsigned int k = 0; hotplug__kinds[k]; k++)
		if (strcmp(hotplug__kinds[k]->name, name) == 0)
			return hotplug__kinds[k];
	return NULL;
}
