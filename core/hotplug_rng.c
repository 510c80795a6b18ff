/* The "rng" hotplug kind (core/hotplug.h): virtio-rng functions, each with
 * its own id, described by a struct mv_rng_config in vm->cfg.rngs. The one
 * mv.vm{ rng = true } asks for is cfg.rngs[0], id "rng" by default. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/hotplug.h"
#include "core/machine.h"
#include "devices/virtio/rng.h"

static int rng_create(struct mv_machine *m, const void *cfg, void **dev, struct mv_err *err)
{
	const struct mv_rng_config *r = cfg;
	const struct mv_virtio_env env = { .mem = &m->mem, .host = m->pci, .vm_fd = m->vm_fd };
	struct mv_virtio_rng *rng;
	int ret = virtio_rng__create(&env, r->id, &rng, err);

	if (ret < 0)
		return ret;
	*dev = rng;
	return 0;
}

static void rng_destroy(void *dev)
{
	virtio_rng__destroy(dev);
}

static struct mv_pci_dev *rng_pci(void *dev)
{
	return &virtio_rng__pci(dev)->pci;
}

static void rng_watch(void *dev, void *token)
{
	hotplug__watch_virtio(virtio_rng__pci(dev), token);
}

static void rng_cfg_free(void *cfg)
{
	struct mv_rng_config *r = cfg;

	free(r->id);
	memset(r, 0, sizeof(*r));
}

static void *rng_boot_device(struct mv_machine *m, unsigned int i, const char **id)
{
	const struct mv_rng_config *r = hotplug__cfg_at(&hotplug__rng_kind, &m->vm->cfg, i);

	*id = r ? r->id : NULL;
	return r ? m->rngs[i] : NULL;
}

static void rng_boot_forget(struct mv_machine *m, unsigned int i)
{
	m->rngs[i] = NULL;
}

const struct mv_hotplug_kind hotplug__rng_kind = {
	.name = "rng", .create = rng_create, .destroy = rng_destroy, .pci = rng_pci, .watch = rng_watch,
	.list = HOTPLUG_LIST(rngs, nrngs), .id_off = offsetof(struct mv_rng_config, id), .cfg_free = rng_cfg_free,
	.boot_device = rng_boot_device, .boot_forget = rng_boot_forget,
};
