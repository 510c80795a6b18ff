/* The machine's side of PCI hotplug (see core/hotplug.h): the controller,
 * the devices kinds own, and the posts from vCPU threads (DRIVER_OK, the
 * eject register) to the loop. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hotplug.h"
#include "core/log.h"
#include "core/machine.h"
#include "core/x86/layout.h"
#include "devices/pci/host.h"
#include "devices/pci/pci.h"
#include "devices/pci/pcihp.h"
#include "devices/platform/ged.h"
#include "devices/virtio/virtio_pci.h"

/* A device a kind owns, in its slot. Loop thread only, but for
 * `announce`, which the status hook (vCPU thread) takes. */
struct hp_dev {
	struct mv_machine *m;
	const struct mv_hotplug_kind *kind;
	void *dev;                  /* NULL: slot not ours */
	char id[64];
	char type[32];              /* e.g. "virtio-blk" */
	uint32_t serial;            /* names the device in posts */
	atomic_bool announce;       /* report the next DRIVER_OK */
	bool removing;              /* the guest was asked to eject it */
};

struct mv_hotplug {
	struct hp_dev slot[PCIHP_SLOTS];
	uint32_t next_serial;
};

static uint64_t post_data(const struct mv_machine *m, uint32_t low)
{
	return (uint64_t)m->generation << 32 | low;
}

static struct hp_dev *find_id(struct mv_machine *m, const char *id)
{
	for (unsigned int s = 1; m->hotplug && s < PCIHP_SLOTS; s++)
		if (m->hotplug->slot[s].dev && strcmp(m->hotplug->slot[s].id, id) == 0)
			return &m->hotplug->slot[s];
	return NULL;
}

static struct hp_dev *find_serial(struct mv_machine *m, uint32_t serial)
{
	for (unsigned int s = 1; m->hotplug && s < PCIHP_SLOTS; s++)
		if (m->hotplug->slot[s].dev && m->hotplug->slot[s].serial == serial)
			return &m->hotplug->slot[s];
	return NULL;
}

static void set_event(struct mv_vm *vm, const struct hp_dev *d, unsigned int slot)
{
	snprintf(vm->device_event.id, sizeof(vm->device_event.id), "%s", d->id);
	snprintf(vm->device_event.type, sizeof(vm->device_event.type), "%s", d->type);
	vm->device_event.slot = slot;
}

/* ---- a driver is up: vCPU thread → loop ----------------------------------------- */

static void on_driver_ok(void *opaque, uint64_t data)
{
	struct mv_vm *vm = opaque;
	struct hp_dev *d;

	if (!vm__same_machine(vm, (uint32_t)(data >> 32)))
		return;
	d = find_serial(vm->machine, (uint32_t)data);
	if (!d)
		return;
	set_event(vm, d, (unsigned int)(d - vm->machine->hotplug->slot));
	(void)vm__notify(vm, MV_EV_DEVICE_ADDED);
}

/* Any thread (a vCPU's, with the device's lock held): only a post. */
void hotplug__ready(void *token)
{
	struct hp_dev *d = token;

	if (!atomic_exchange(&d->announce, false))
		return;
	if (loop__post(d->m->vm->loop, on_driver_ok, d->m->vm, post_data(d->m, d->serial)) < 0)
		pr_err("%s: cannot report its driver: out of memory", d->id);
}

static void virtio_status(void *token, uint8_t status)
{
	if (status & VIRTIO_STATUS_DRIVER_OK)
		hotplug__ready(token);
}

void hotplug__watch_virtio(struct mv_virtio_pci *vp, void *token)
{
	uint8_t status;

	virtio_pci__set_status_hook(vp, virtio_status, token);
	pthread_mutex_lock(&vp->lock); /* a driver that was quicker than the hook */
	status = vp->status;
	pthread_mutex_unlock(&vp->lock);
	virtio_status(token, status);
}

/* ---- eject: vCPU thread → loop ------------------------------------------------ */

static void forget(struct hp_dev *d)
{
	d->dev = NULL;
	d->removing = false;
	atomic_store(&d->announce, false);
}

/* Loop thread: tear the device in slot s down, drop it from the
 * configuration, report it. */
static void eject_slot(struct mv_vm *vm, unsigned int s)
{
	struct hp_dev *d = &vm->machine->hotplug->slot[s];
	struct mv_pci_dev *other;

	if (!d->dev) {
		other = pci_host__slot(vm->machine->pci, s);
		if (other)
			pr_warn("vm '%s': the guest ejected slot %u (%s), which cannot be removed", vm->cfg.name, s,
				other->name);
		return;
	}
	d->kind->destroy(d->dev);
	if (!hotplug__cfg_remove(d->kind, &vm->cfg, d->id))
		pr_warn("vm '%s': %s was not in the configuration", vm->cfg.name, d->id);
	pr_info("vm '%s': %s removed from PCI slot %u", vm->cfg.name, d->id, s);
	set_event(vm, d, s);
	forget(d);
	(void)vm__notify(vm, MV_EV_DEVICE_REMOVED);
}

static void on_eject(void *opaque, uint64_t data)
{
	struct mv_vm *vm = opaque;
	uint32_t slots = (uint32_t)data;

	for (unsigned int s = 1; s < PCIHP_SLOTS; s++) {
		/* a handler of the last event may have stopped or reset the VM */
		if (!vm__alive(vm) || !vm__same_machine(vm, (uint32_t)(data >> 32)))
			return;
		if (slots & (1u << s))
			eject_slot(vm, s);
	}
}

static void guest_eject(void *opaque, uint32_t slots)
{
	struct mv_machine *m = opaque;

	if (loop__post(m->vm->loop, on_eject, m->vm, post_data(m, slots)) < 0)
		pr_err("cannot post the eject of slots 0x%x: out of memory", slots);
}

/* ---- create / destroy ------------------------------------------------------------ */

static void own(struct mv_machine *m, const struct mv_hotplug_kind *kind, void *dev, unsigned int slot,
		const char *id, bool announce)
{
	struct hp_dev *d = &m->hotplug->slot[slot];
	struct mv_pci_dev *pci = kind->pci(dev);
	struct mv_pci_info in = { 0 };

	if (pci->ops && pci->ops->info)
		pci->ops->info(pci, &in);
	d->m = m;
	d->kind = kind;
	d->dev = dev;
	d->serial = ++m->hotplug->next_serial;
	d->removing = false;
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->type, sizeof(d->type), "%s", in.type ? in.type : kind->name);
	atomic_store(&d->announce, announce);
	if (kind->watch)
		kind->watch(dev, d);
	else if (announce)
		hotplug__ready(d);
}

/* The slot a kind's device sits in, 0 if none of ours. */
static unsigned int slot_of(const struct mv_hotplug_kind *kind, void *dev)
{
	struct mv_pci_dev *pci = kind->pci(dev);

	return pci && pci->attached && pci->at.slot > 0 && pci->at.slot < PCIHP_SLOTS ? pci->at.slot : 0;
}

/* The devices of a kind machine__create made from the configuration. */
void machine__hotplug_adopt(struct mv_machine *m, const struct mv_hotplug_kind *kind)
{
	const char *id;
	void *dev;

	if (!m->hotplug)
		return;
	for (unsigned int i = 0; (dev = kind->boot_device(m, i, &id)) || id; i++) {
		if (!dev || !slot_of(kind, dev))
			continue;
		own(m, kind, dev, slot_of(kind, dev), id, false);
		kind->boot_forget(m, i);
	}
}

static void adopt_boot_devices(struct mv_machine *m)
{
	for (unsigned int k = 0; hotplug__kinds[k]; k++)
		machine__hotplug_adopt(m, hotplug__kinds[k]);
}

int machine__hotplug_create(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_pcihp_params p = { .eject = guest_eject, .opaque = m, .base = LAYOUT_PCIHP_MMIO };
	int ret;

	m->hotplug = calloc(1, sizeof(*m->hotplug));
	if (!m->hotplug)
		return err__set(err, -ENOMEM, "out of memory for PCI hotplug");
	ret = pcihp__create(&m->mmio, &p, &m->pcihp, err);
	if (ret < 0)
		return ret;
	adopt_boot_devices(m);
	return 0;
}

void machine__hotplug_destroy(struct mv_machine *m)
{
	if (m->hotplug)
		for (unsigned int s = 1; s < PCIHP_SLOTS; s++)
			if (m->hotplug->slot[s].dev)
				m->hotplug->slot[s].kind->destroy(m->hotplug->slot[s].dev);
	free(m->hotplug);
	m->hotplug = NULL;
	pcihp__destroy(m->pcihp);
	m->pcihp = NULL;
}

/* ---- plug / unplug ------------------------------------------------------------- */

int machine__hotplug_add(struct mv_machine *m, const struct mv_hotplug_kind *kind, const void *cfg,
			 const char *id, struct mv_err *err)
{
	void *dev;
	int ret;

	if (!m->hotplug || !m->pcihp || !m->ged)
		return err__set(err, -ENODEV, "this machine has no PCI hotplug");
	ret = kind->create(m, cfg, &dev, err);
	if (ret < 0)
		return ret;
	return machine__hotplug_plug(m, kind, dev, id, err);
}

int machine__hotplug_plug(struct mv_machine *m, const struct mv_hotplug_kind *kind, void *dev, const char *id,
			  struct mv_err *err)
{
	unsigned int slot;

	if (!m->hotplug || !m->pcihp || !m->ged) {
		kind->destroy(dev);
		return err__set(err, -ENODEV, "this machine has no PCI hotplug");
	}
	slot = slot_of(kind, dev);
	if (!slot) { /* cannot happen: the host has 32 slots */
		kind->destroy(dev);
		return err__set(err, -EIO, "%s: not plugged into a hotplug slot", id);
	}
	own(m, kind, dev, slot, id, true);
	pcihp__slot_up(m->pcihp, slot);
	ged__raise(m->ged, GED_EVENT_PCI_HOTPLUG);
	return (int)slot;
}

bool machine__hotplug_has(struct mv_machine *m, const char *id)
{
	return find_id(m, id) != NULL;
}

int machine__hotplug_unplug(struct mv_machine *m, const char *id, struct mv_err *err)
{
	struct hp_dev *d = find_id(m, id);

	if (!d)
		return err__set(err, -ENOENT, "vm '%s' has no removable device '%s'", m->vm->cfg.name, id);
	if (d->removing)
		return err__set(err, -EBUSY, "the removal of '%s' is already pending (the guest has not ejected it yet)",
				id);
	d->removing = true;
	pcihp__slot_down(m->pcihp, (unsigned int)(d - m->hotplug->slot));
	ged__raise(m->ged, GED_EVENT_PCI_HOTPLUG);
	return 0;
}

void machine__hotplug_cancel(struct mv_machine *m, const char *id)
{
	struct hp_dev *d = find_id(m, id);

	if (d)
		d->removing = false;
}
