/* Device plugins, host side (the plugin-facing ABI is
 * core/include/moonvisor/plugin.h).
 *
 *   core/plugin_load.c   dlopen (RTLD_LOCAL), ABI check, the entry point;
 *                        every plugin is loaded once per process and path
 *   core/plugin_cfg.c    a configured device (plugin, type, id, options),
 *                        validated against the type's declared options
 *   core/plugin_dev.c    device instances on a machine: create, unwind,
 *                        destroy; resources and loop objects they own
 *   core/plugin_host.c   the host API table (struct mv_plugin_host)
 *   core/plugin_pci.c    PCI functions and virtio devices for plugins
 *
 * A VM's configured devices (struct mv_plugin_set, vm->plugins) outlive
 * machines: each boot creates an instance of each (plugin_set__create_all)
 * and its teardown destroys them (plugin_set__destroy_all).
 *
 * Threads: everything here runs on the loop thread, except what
 * plugin.h's host functions say. */
#ifndef MV_CORE_PLUGIN_H
#define MV_CORE_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"
#include "core/iobus.h"
#include "core/irq.h"
#include "core/irqroute.h"
#include "core/loop.h"
#include "core/x86/acpi.h"
#include "moonvisor/plugin.h"

struct mv_pci_host;
struct mv_vm;

/* One loaded shared object. */
struct mv_plugin {
	char *path;                  /* as the user gave it */
	char *real;                  /* realpath: the key */
	void *dl;
	const struct mv_plugin_desc *desc;
	struct mv_plugin *next;
};

/* One option value of a configured device (strings malloc'ed). */
struct mv_plugin_opt {
	const struct mv_plugin_option *decl;
	struct mv_plugin_value v;
};

/* One configured device: persists over reboots. */
struct mv_plugin_devcfg {
	struct mv_plugin *plugin;
	const struct mv_plugin_type *type;
	char *id;
	struct mv_plugin_opt *opts;
	unsigned int nopts;
	bool runtime;                /* added by vm:add_device (no ACPI tables) */
	struct mv_plugin_dev *live;  /* instance on the running machine, or NULL */
	struct mv_plugin_devcfg *next;
};

/* What a machine (or a test) gives plugin devices. */
struct mv_plugin_env {
	struct mv_loop *loop;
	struct mv_iobus *pio, *mmio;
	const struct mv_guestmem *mem;
	struct mv_irq irq;
	struct mv_pci_host *pci;     /* NULL: no PCI (tests) */
	int vm_fd;                   /* -1: no ioeventfd (tests) */
	struct mv_msi_router router; /* tests, when pci is NULL */
	bool no_thread;              /* tests: virtio kicks wait for virtio_pci__process */
	struct mv_vm *vm;            /* for events; may be NULL (tests) */
	void (*request)(void *opaque, enum mv_plugin_request req, const char *why);
	void *opaque;
};

#define MV_PLUGIN_MAX_TABLES 4

/* An extra ACPI table: the body after the 36-byte header. */
struct mv_plugin_table {
	char sig[4];
	uint8_t revision;
	uint8_t *body;
	uint32_t len;
};

/* A VM's configured plugin devices and the current machine's env. */
struct mv_plugin_set {
	struct mv_plugin_devcfg *head;
	unsigned int count;
	struct mv_plugin_env env;
	bool have_env;               /* a machine exists */
	bool booting;                /* inside create_all: ACPI tables allowed */
	bool pci_hotplug;            /* inside a runtime create: PCI functions may plug */
	/* ACPI tables the boot's devices added */
	struct mv_plugin_table tables[MV_PLUGIN_MAX_TABLES];
	unsigned int ntables;
};

/* Where events go (lua/l_plugin.c sets it): loop thread; vm is the env's
 * (NULL in tests). */
typedef void (*mv_plugin_event_fn)(struct mv_vm *vm, const char *device, const char *name,
				   const struct mv_plugin_field *fields, unsigned int n);
void plugin__set_event_sink(mv_plugin_event_fn fn);

/* ---- plugin_load.c ---- */
/* The plugin at path, loaded (and its entry run) on first use. Errors
 * name the path: file missing, not a shared object, no entry symbol,
 * ABI major mismatch (both versions), init failed. */
int plugin__load(const char *path, struct mv_plugin **out, struct mv_err *err) MV_MUST_CHECK;
/* Whether path (or its realpath) is already loaded. */
struct mv_plugin *plugin__find(const char *path);
/* The host API table handed to plugins. */
const struct mv_plugin_host *plugin__host(void);
/* "plugin 'name' (path)" for messages. */
const char *plugin__label(const struct mv_plugin *p, char *buf, size_t len);

/* ---- plugin_cfg.c ---- */
/* The device type `type` (NULL: the plugin's only type). */
int plugin__find_type(struct mv_plugin *p, const char *type, const struct mv_plugin_type **out,
		      struct mv_err *err) MV_MUST_CHECK;
/* A new configured device; opts are added with devcfg__set_opt. */
int devcfg__new(struct mv_plugin *p, const struct mv_plugin_type *t, const char *id,
		struct mv_plugin_devcfg **out, struct mv_err *err) MV_MUST_CHECK;
/* Sets option `name`: -ENOENT (unknown, with suggestions) or -EINVAL
 * (wrong type) with err naming the option. Strings are copied. */
int devcfg__set_opt(struct mv_plugin_devcfg *c, const char *name, const struct mv_plugin_value *v,
		    struct mv_err *err) MV_MUST_CHECK;
const struct mv_plugin_opt *devcfg__opt(const struct mv_plugin_devcfg *c, const char *name);
void devcfg__free(struct mv_plugin_devcfg *c);

/* ---- plugin_dev.c ---- */
struct mv_plugin_set *plugin_set__new(void);
/* Destroys live instances, frees every configured device. NULL ignored. */
void plugin_set__free(struct mv_plugin_set *s);
/* Appends c (the set owns it from now on). -EEXIST if its id is taken. */
int plugin_set__add(struct mv_plugin_set *s, struct mv_plugin_devcfg *c, struct mv_err *err) MV_MUST_CHECK;
/* Removes and frees c (destroying its instance first). */
void plugin_set__remove(struct mv_plugin_set *s, struct mv_plugin_devcfg *c);
struct mv_plugin_devcfg *plugin_set__find(struct mv_plugin_set *s, const char *id);
/* A new machine: creates every configured device's instance (ACPI tables
 * allowed); on failure destroys those already created. */
int plugin_set__create_all(struct mv_plugin_set *s, const struct mv_plugin_env *env,
			   struct mv_err *err) MV_MUST_CHECK;
/* The machine goes away: destroys every instance. */
void plugin_set__destroy_all(struct mv_plugin_set *s);
/* At runtime (a machine exists): creates c's instance now. */
int plugin_set__create_one(struct mv_plugin_set *s, struct mv_plugin_devcfg *c, struct mv_err *err) MV_MUST_CHECK;
struct mv_pci_dev;
struct mv_virtio_pci;
/* Destroys c's live instance (if any); c stays configured (hotplug's
 * eject, a machine going away). */
void plugin_set__destroy_one(struct mv_plugin_devcfg *c);
/* A live instance's PCI function for hotplug: its first virtio device's,
 * else its first plain PCI function's, NULL if it has neither. */
struct mv_pci_dev *plugin_dev__pci(struct mv_plugin_dev *d);
/* The transport of the device's i-th virtio device (NULL if none). */
struct mv_virtio_pci *plugin_pci__virtio_transport(struct mv_plugin_dev *d, unsigned int i);
/* ACPI table hooks for the tables the boot's devices added; returns the
 * number filled (at most max). */
unsigned int plugin_set__table_hooks(struct mv_plugin_set *s, struct mv_acpi_table_hook *hooks, unsigned int max);

/* core/machine_plugin.c: a machine's plugin devices (create_devices,
 * machine__destroy) and their ACPI tables (load_guest). */
struct mv_machine;
int machine__plugins_create(struct mv_machine *m, struct mv_err *err) MV_MUST_CHECK;
void machine__plugins_destroy(struct mv_machine *m);
unsigned int machine__plugin_tables(struct mv_machine *m, struct mv_acpi_table_hook *hooks, unsigned int max);

/* A Lua method of a live instance: -ENOENT if there is none of that name.
 * Runs it; errbuf gets the plugin's message on failure. */
int plugin_dev__call(struct mv_plugin_dev *d, const char *name, const struct mv_plugin_value *args,
		     unsigned int nargs, struct mv_plugin_value *result, char *errbuf, size_t errlen);
/* Calls fn for each Lua method name of a live instance. */
void plugin_dev__methods(struct mv_plugin_dev *d, void (*fn)(void *opaque, const char *name), void *opaque);

#endif
