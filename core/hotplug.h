/* PCI hotplug of devices into a running VM (loop thread only).
 *
 * The hardware side is devices/pci/pcihp.h (slot bitmaps, eject register,
 * the DSDT's slot objects) and the GED's GED_EVENT_PCI_HOTPLUG bit.
 *
 * Plug (vm__add_device): the kind creates the device, which the PCI host
 * puts in the lowest free slot; its config record joins vm->cfg (so it
 * comes back after a guest reboot); the slot's "up" bit is set and the GED
 * interrupt raised. The guest's acpiphp rescans the slot and binds a
 * driver; when that driver sets DRIVER_OK (a device_status write, seen by
 * the transport on a vCPU thread and posted to the loop) the VM reports
 * MV_EV_DEVICE_ADDED with vm->device_event filled in.
 *
 * Unplug (vm__remove_device): the slot's "down" bit and the GED
 * interrupt. The guest unbinds the driver, removes the function and runs
 * the slot's _EJ0, which writes the eject register (vCPU thread, posted to
 * the loop). Only then, on the loop thread, is the device destroyed: the
 * PCI host unplugs it (its BARs leave the bus, which waits for any vCPU
 * still inside them, and config space no longer reaches it), the
 * ioeventfds, irqfds, GSI routes and I/O thread go, and the backend (image
 * file, tap) is closed. Its record leaves vm->cfg and the VM reports
 * MV_EV_DEVICE_REMOVED. A guest that never ejects leaves the device as it
 * was (vm__cancel_remove lets the caller ask again).
 *
 * Devices given in the configuration are removable the same way; the
 * guest may also eject a slot on its own (sysfs), which is handled the
 * same. Devices no kind owns (e.g. the virtio console) stay when ejected.
 *
 * Kinds: a new hotpluggable device is one more struct mv_hotplug_kind in
 * core/hotplug_kinds.c or a file of its own (core/hotplug_rng.c), listed
 * in hotplug__kinds, its records an array of struct mv_vm_config named by
 * HOTPLUG_LIST (and a reader of its Lua table in
 * lua/l_vm_hotplug.c, and its validator in lua/lib/config.lua). */
#ifndef MV_CORE_HOTPLUG_H
#define MV_CORE_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/vm.h"

struct mv_machine;
struct mv_pci_dev;
struct mv_plugin_devcfg;
struct mv_virtio_pci;

/* Where a kind's records live in struct mv_vm_config: an array (offset,
 * size of one record, how many it holds) and its unsigned int count. */
struct mv_hotplug_list {
	size_t array, size, count;
	unsigned int max;
};

/* The list vm->cfg.arr counted by vm->cfg.n (core/vm.h). */
#define HOTPLUG_CFG_FIELD(f) (((struct mv_vm_config *)0)->f)
#define HOTPLUG_LIST(arr, n)                                                                       \
	{ .array = offsetof(struct mv_vm_config, arr), .size = sizeof(HOTPLUG_CFG_FIELD(arr)[0]), \
	  .count = offsetof(struct mv_vm_config, n), .max = ARRAY_SIZE(HOTPLUG_CFG_FIELD(arr)) }

struct mv_hotplug_kind {
	const char *name;     /* "disk": the Lua spec's type */
	/* Loop thread: creates the device from its config record (strings
	 * not copied: they live in vm->cfg afterwards) and plugs its PCI
	 * function into the lowest free slot of m->pci. */
	int (*create)(struct mv_machine *m, const void *cfg, void **dev, struct mv_err *err) MV_MUST_CHECK;
	/* Unplugs (waiting for vCPUs inside it) and frees everything. */
	void (*destroy)(void *dev);
	/* Its PCI function (plugged: pci->at.slot is the slot). */
	struct mv_pci_dev *(*pci)(void *dev);
	/* Optional: arrange for hotplug__ready(token) once the guest's driver
	 * has started the device (virtio: DRIVER_OK; hotplug__watch_virtio).
	 * Without it, the device counts as added once plugged. */
	void (*watch)(void *dev, void *token);
	/* Its records: an array of vm->cfg (HOTPLUG_LIST), each with its id, a
	 * malloc'ed `char *` (may be NULL: one is chosen), at id_off. */
	struct mv_hotplug_list list;
	size_t id_off;
	/* Only for records kept outside vm->cfg (the plugin kind); NULL for a
	 * list: room for one more? Append (takes the record's strings), remove
	 * the one with this id (frees its strings), look one up. */
	bool (*cfg_room)(const struct mv_vm_config *vc);
	void (*cfg_add)(struct mv_vm_config *vc, const void *cfg);
	bool (*cfg_remove)(struct mv_vm_config *vc, const char *id);
	bool (*cfg_has)(const struct mv_vm_config *vc, const char *id);
	/* Frees a record's strings (a plug that failed). */
	void (*cfg_free)(void *cfg);
	/* Devices machine__create made from vm->cfg: the i-th device of this
	 * kind on machine m and its record's id (id NULL past the last;
	 * device NULL if that one is not there). Then forget: the machine
	 * drops its pointer (hotplug owns the device from then on). */
	void *(*boot_device)(struct mv_machine *m, unsigned int i, const char **id);
	void (*boot_forget)(struct mv_machine *m, unsigned int i);
};

/* A kind's records in vm->cfg (core/hotplug_cfg.c): room for one more?
 * Append cfg (takes its strings); remove the one with this id (frees its
 * strings; false if none); is there one; the i-th (NULL past the last,
 * and always for a kind with its own cfg_room...: the plugin kind).
 * The id of a record, and setting it (takes a malloc'ed string). */
bool hotplug__cfg_room(const struct mv_hotplug_kind *kind, const struct mv_vm_config *vc);
void hotplug__cfg_add(const struct mv_hotplug_kind *kind, struct mv_vm_config *vc, const void *cfg);
bool hotplug__cfg_remove(const struct mv_hotplug_kind *kind, struct mv_vm_config *vc, const char *id);
bool hotplug__cfg_has(const struct mv_hotplug_kind *kind, const struct mv_vm_config *vc, const char *id);
const void *hotplug__cfg_at(const struct mv_hotplug_kind *kind, const struct mv_vm_config *vc, unsigned int i);
const char *hotplug__cfg_id(const struct mv_hotplug_kind *kind, const void *cfg);
void hotplug__cfg_set_id(const struct mv_hotplug_kind *kind, void *cfg, char *id);

/* Any thread (it only posts to the loop): the device `token` was given to
 * kind->watch for has a working guest driver. */
void hotplug__ready(void *token);
/* kind->watch for a virtio device: hotplug__ready(token) at DRIVER_OK. */
void hotplug__watch_virtio(struct mv_virtio_pci *vp, void *token);

/* Plugin devices with a PCI function or virtio device (their records
 * are the struct mv_plugin_devcfg of vm->plugins). */
extern const struct mv_hotplug_kind hotplug__plugin_kind;
/* virtio-rng (struct mv_rng_config records, core/hotplug_rng.c). */
extern const struct mv_hotplug_kind hotplug__rng_kind;

/* The kind called `name`, NULL if none (core/hotplug_kinds.c). */
const struct mv_hotplug_kind *hotplug__kind(const char *name);
/* Every kind, NULL-terminated. */
extern const struct mv_hotplug_kind *const hotplug__kinds[];

/* Plugs a device of `kind` described by cfg (a kind-specific record whose
 * malloc'ed strings it takes on success; on failure the caller frees
 * them). The id is checked against every device of the VM; a NULL id
 * gets "<kind><n>". Returns the slot. -EINVAL unless running or paused,
 * -EEXIST (id taken), -ENOSPC (no free slot or configuration full), or the
 * device's own error (e.g. the image cannot be opened). */
int vm__add_device(struct mv_vm *vm, const struct mv_hotplug_kind *kind, void *cfg, struct mv_err *err) MV_MUST_CHECK;
/* Plugin device c, already in vm->plugins: creates its instance when a
 * machine runs, its PCI functions allowed (through hotplug: plugged and
 * announced like vm__add_device's). Returns the slot, 0 if the device has
 * no PCI function (port I/O, MMIO) or no machine runs, -EEXIST (a device
 * of another kind has its id), or the create's error (the instance is
 * gone; the caller removes c from the set). */
int vm__add_plugin_device(struct mv_vm *vm, struct mv_plugin_devcfg *c, struct mv_err *err) MV_MUST_CHECK;
/* Asks the guest to eject device `id`. -EINVAL unless running or paused,
 * -ENOENT (no removable device with that id), -EBUSY (a removal of it is
 * already pending). */
int vm__remove_device(struct mv_vm *vm, const char *id, struct mv_err *err) MV_MUST_CHECK;
/* Forgets a pending removal (the caller gave up waiting); the guest may
 * still eject the device later. */
void vm__cancel_remove(struct mv_vm *vm, const char *id);

/* Machine side (core/machine_hotplug.c), called by core/machine.c. */
/* After the PCI devices exist: the controller, and every device a kind
 * owns taken over from the machine's own pointers. */
int machine__hotplug_create(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
/* Destroys the devices it owns and the controller (vCPUs stopped). */
void machine__hotplug_destroy(struct mv_machine *m);
int machine__hotplug_add(struct mv_machine *m, const struct mv_hotplug_kind *kind, const void *cfg,
			 const char *id, struct mv_err *err) MV_MUST_CHECK;
/* Plugs dev, which a kind made and the PCI host put in a slot: announces
 * it to the guest. Returns the slot; on failure destroys dev. */
int machine__hotplug_plug(struct mv_machine *m, const struct mv_hotplug_kind *kind, void *dev, const char *id,
			  struct mv_err *err) MV_MUST_CHECK;
/* Takes over the devices of kind made at boot (machine__hotplug_create
 * does it for every kind; plugin devices come later). */
void machine__hotplug_adopt(struct mv_machine *m, const struct mv_hotplug_kind *kind);
/* Whether a device with this id is plugged; its removal state. */
bool machine__hotplug_has(struct mv_machine *m, const char *id);
int machine__hotplug_unplug(struct mv_machine *m, const char *id, struct mv_err *err) MV_MUST_CHECK;
void machine__hotplug_cancel(struct mv_machine *m, const char *id);

#endif
