/* Private to core/plugin_*.c: a live plugin device instance and the host
 * objects it owns. */
#ifndef MV_CORE_PLUGIN_PRIV_H
#define MV_CORE_PLUGIN_PRIV_H

#include <ev.h>

#include "core/plugin.h"

struct mv_plugin_region {
	struct mv_iobus *bus;
	uint64_t base;
	struct mv_plugin_io_ops ops;
	void *opaque;
	char name[72];
	struct mv_plugin_region *next;
};

struct mv_plugin_timer {
	ev_timer w;
	struct mv_plugin_dev *d;
	void (*fn)(void *opaque);
	void *opaque;
	struct mv_plugin_timer *next;
};

struct mv_plugin_watch {
	ev_io w;
	struct mv_plugin_dev *d;
	void (*fn)(void *opaque, int fd, int revents);
	void *opaque;
	struct mv_plugin_watch *next;
};

struct mv_plugin_method {
	char name[40];
	mv_plugin_method_fn fn;
	void *opaque;
	struct mv_plugin_method *next;
};

struct mv_plugin_pci;
struct mv_plugin_virtio;

struct mv_plugin_dev {
	struct mv_plugin_devcfg *cfg;
	struct mv_plugin_set *set;
	uint64_t serial;               /* posts find their device by it */
	void *state;
	struct mv_err last_err;        /* the host's last refusal, for create's message */
	struct mv_plugin_region *regions;
	struct mv_plugin_timer *timers;
	struct mv_plugin_watch *watches;
	struct mv_plugin_method *methods;
	struct mv_plugin_pci *pcis;
	struct mv_plugin_virtio *virtios;
	struct mv_plugin_dev *next_live;
};

/* plugin_dev.c: the live device with this serial, or NULL (loop thread) */
struct mv_plugin_dev *plugin_dev__by_serial(uint64_t serial);
/* plugin_host.c: frees the timers, watches, regions and methods left */
void plugin_host__release(struct mv_plugin_dev *d);
/* plugin_pci.c: unplugs and frees the device's PCI functions and virtio
 * devices (before the plugin's destroy) */
void plugin_pci__release(struct mv_plugin_dev *d);
int plugin_pci__add(struct mv_plugin_dev *d, const struct mv_plugin_pci_desc *desc, struct mv_plugin_pci **out);
int plugin_pci__virtio_add(struct mv_plugin_dev *d, const struct mv_plugin_virtio_desc *desc,
			   struct mv_plugin_virtio **out);
/* fills the host table's PCI and virtio members */
void plugin_pci__fill_host(struct mv_plugin_host *h);
/* logs and remembers a refusal of a host call (returns code) */
int plugin_dev__refuse(struct mv_plugin_dev *d, int code, const char *fmt, ...) MV_PRINTF(3, 4);

#endif
