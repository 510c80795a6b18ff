#include "devices/pci/host.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/x86/layout.h"
#include "devices/pci/alloc.h"

#define CF8_ENABLE 0x80000000u
#define CONFIG_PORTS 8 /* 0xCF8-0xCFF */

_Static_assert(PCI_HOST_SLOTS * 32768 == LAYOUT_ECAM_BUS0_SIZE, "ECAM: 32 devices x 8 functions x 4 KiB");
_Static_assert(LAYOUT_PCI_MMIO32_END <= LAYOUT_ECAM_START, "the 32-bit window ends below ECAM");

enum { WIN_MEM32, WIN_MEM64, WIN_IO, WIN__COUNT };

/* A range the host registered on one of the VM's buses. */
struct host_range {
	struct mv_pci_host *h;
	struct mv_iobus *outer;
	struct mv_iobus *inner;     /* windows: where BARs are mapped */
	uint64_t start, len;
	const char *name;
	bool registered;
};

struct host_slot {
	struct mv_pci_dev *dev;
	struct mv_pci_alloc *pool[PCI_NUM_BARS]; /* where each BAR was allocated, NULL: none */
	uint64_t addr[PCI_NUM_BARS];
};

enum { R_MEM32, R_MEM64, R_IO, R_CONFIG, R_ECAM, R__COUNT };

struct mv_pci_host {
	pthread_mutex_t lock;        /* config space, slots, cf8 */
	struct mv_pci_host_params p;
	uint32_t cf8;
	uint8_t rcr;                 /* port 0xCF9: SYS_RST and FULL_RST */
	struct mv_pci_dev bridge;
	struct host_slot slots[PCI_HOST_SLOTS];
	struct mv_iobus bar_mem, bar_io;
	struct mv_pci_alloc pool[WIN__COUNT];
	struct host_range range[R__COUNT];
	pthread_mutex_t intx_lock;
	unsigned int intx_count[LAYOUT_PCI_GSI_COUNT];
};

static void fill_ones(void *data, uint32_t len)
{
	memset(data, 0xFF, len);
}

/* ---- config space ------------------------------------------------------- */

static bool touches_mapping(uint32_t reg, uint32_t len)
{
	return reg < PCI_BAR0 + 4 * PCI_NUM_BARS && PCI_COMMAND < reg + len;
}

/* Lock held: every device retries its BARs (one may have been waiting for
 * a range another device just left). */
static void remap_all(struct mv_pci_host *h)
{
	for (unsigned int s = 1; s < PCI_HOST_SLOTS; s++)
		if (h->slots[s].dev)
			pci__update_mappings(h->slots[s].dev);
}

static struct mv_pci_dev *dev_at(struct mv_pci_host *h, unsigned int bus, unsigned int slot, unsigned int fn)
{
	return bus == 0 && fn == 0 && slot < PCI_HOST_SLOTS ? h->slots[slot].dev : NULL;
}

/* Lock held; len 1, 2 or 4. */
static void cfg_access(struct mv_pci_host *h, struct mv_pci_dev *dev, uint32_t reg, void *data, uint32_t len,
		       bool is_write)
{
	uint32_t v = 0;

	if (!dev) {
		if (!is_write)
			fill_ones(data, len);
		return;
	}
	if (!is_write) {
		v = pci__cfg_read(dev, reg, len);
		memcpy(data, &v, len); /* little-endian host */
		return;
	}
	memcpy(&v, data, len);
	pci__cfg_write(dev, reg, len, v);
	if (touches_mapping(reg, len))
		remap_all(h);
}

static bool size_ok(uint32_t len)
{
	return len == 1 || len == 2 || len == 4;
}

/* Port 0xCF9, host lock held; returns true if the guest asked for a reset. */
static bool reset_control(struct mv_pci_host *h, uint8_t *data, bool is_write)
{
	if (!is_write) {
		*data = h->rcr;
		return false;
	}
	h->rcr = *data & (PCI_RCR_SYS_RST | PCI_RCR_FULL_RST);
	return (*data & PCI_RCR_RST_CPU) != 0;
}

void pci_host__pio(struct mv_pci_host *h, uint16_t port, void *data, uint32_t len, bool is_write)
{
	uint32_t off = (uint32_t)port - PCI_CONFIG_DATA, cf8;
	bool reset = false;

	if (port < PCI_CONFIG_ADDRESS || port >= PCI_CONFIG_ADDRESS + CONFIG_PORTS || !size_ok(len) ||
	    (port - PCI_CONFIG_ADDRESS) % 4 + len > 4) {
		if (!is_write)
			fill_ones(data, len <= 8 ? len : 8);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (port < PCI_CONFIG_DATA) { /* CONFIG_ADDRESS: whole DWord accesses only */
		if (port == PCI_RESET_CONTROL && len == 1) {
			reset = reset_control(h, data, is_write);
		} else if (port != PCI_CONFIG_ADDRESS || len != 4) {
			if (!is_write)
				fill_ones(data, len);
		} else if (is_write) {
			memcpy(&h->cf8, data, 4);
		} else {
			memcpy(data, &h->cf8, 4);
		}
		goto out;
	}
	cf8 = h->cf8;
	if (!(cf8 & CF8_ENABLE)) {
		if (!is_write)
			fill_ones(data, len);
		goto out;
	}
	cfg_access(h, dev_at(h, (cf8 >> 16) & 0xFF, (cf8 >> 11) & 0x1F, (cf8 >> 8) & 7), (cf8 & 0xFC) + off, data,
		   len, is_write);
out:
	pthread_mutex_unlock(&h->lock);
	if (reset && h->p.reset)
		h->p.reset(h->p.opaque);
}

void pci_host__ecam(struct mv_pci_host *h, uint64_t off, void *data, uint32_t len, bool is_write)
{
	if (off >= LAYOUT_ECAM_BUS0_SIZE || !size_ok(len) || off % len) {
		if (!is_write)
			fill_ones(data, len <= 8 ? len : 8);
		return;
	}
	pthread_mutex_lock(&h->lock);
	cfg_access(h, dev_at(h, 0, (unsigned int)(off >> 15) & 0x1F, (unsigned int)(off >> 12) & 7),
		   (uint32_t)off & 0xFFF, data, len, is_write);
	pthread_mutex_unlock(&h->lock);
}

/* ---- the host's ranges on the VM's buses --------------------------------- */

static void config_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct host_range *r = opaque;

	pci_host__pio(r->h, (uint16_t)(PCI_CONFIG_ADDRESS + off), data, len, false);
}

static void config_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct host_range *r = opaque;

	pci_host__pio(r->h, (uint16_t)(PCI_CONFIG_ADDRESS + off), (void *)data, len, true);
}

static void ecam_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct host_range *r = opaque;

	pci_host__ecam(r->h, off, data, len, false);
}

static void ecam_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct host_range *r = opaque;

	pci_host__ecam(r->h, off, (void *)data, len, true);
}

/* A window forwards to the bus its BARs are mapped on. */
static void window_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct host_range *r = opaque;

	iobus__access(r->inner, r->start + off, data, len, false);
}

static void window_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct host_range *r = opaque;

	iobus__access(r->inner, r->start + off, (void *)data, len, true);
}

static const struct mv_iodev_ops config_ops = { .read = config_read, .write = config_write };
static const struct mv_iodev_ops ecam_ops = { .read = ecam_read, .write = ecam_write };
static const struct mv_iodev_ops window_ops = { .read = window_read, .write = window_write };

static int add_range(struct mv_pci_host *h, unsigned int i, struct mv_iobus *outer, struct mv_iobus *inner,
		     uint64_t start, uint64_t len, const char *name, struct mv_err *err)
{
	const struct mv_iodev_ops *ops = inner ? &window_ops : i == R_ECAM ? &ecam_ops : &config_ops;
	struct host_range *r = &h->range[i];
	int ret;

	*r = (struct host_range){ .h = h, .outer = outer, .inner = inner, .start = start, .len = len, .name = name };
	if (!len)
		return 0;
	ret = iobus__register(outer, start, len, ops, r, name, err);
	r->registered = ret == 0;
	return ret;
}

static void del_ranges(struct mv_pci_host *h)
{
	for (unsigned int i = 0; i < R__COUNT; i++) {
		struct host_range *r = &h->range[i];
		int ret;

		if (!r->registered)
			continue;
		ret = iobus__unregister(r->outer, r->start);
		if (ret < 0)
			pr_warn_errno(ret, "unregistering %s at 0x%llx", r->name, (unsigned long long)r->start);
		r->registered = false;
	}
}

static int add_ranges(struct mv_pci_host *h, struct mv_err *err)
{
	const struct mv_pci_host_params *p = &h->p;
	int ret;

	ret = add_range(h, R_CONFIG, p->pio, NULL, PCI_CONFIG_ADDRESS, CONFIG_PORTS, "pci config ports", err);
	if (!ret)
		ret = add_range(h, R_ECAM, p->mmio, NULL, LAYOUT_ECAM_START, LAYOUT_ECAM_BUS0_SIZE, "pci ecam", err);
	if (!ret)
		ret = add_range(h, R_MEM32, p->mmio, &h->bar_mem, LAYOUT_PCI_MMIO32_START,
				LAYOUT_PCI_MMIO32_END - LAYOUT_PCI_MMIO32_START, "pci 32-bit window", err);
	if (!ret)
		ret = add_range(h, R_MEM64, p->mmio, &h->bar_mem, p->mmio64_start, p->mmio64_size,
				"pci 64-bit window", err);
	if (!ret)
		ret = add_range(h, R_IO, p->pio, &h->bar_io, LAYOUT_PCI_IO_START,
				LAYOUT_PCI_IO_END - LAYOUT_PCI_IO_START, "pci i/o window", err);
	if (ret < 0)
		del_ranges(h);
	return ret;
}

/* ---- INTx ----------------------------------------------------------------- */

/* pci.c calls this only when a device's line changes: count the devices
 * asserting each GSI. */
static void intx_set_level(void *opaque, unsigned int gsi, int level)
{
	struct mv_pci_host *h = opaque;
	unsigned int i = gsi - LAYOUT_PCI_GSI_BASE;

	if (gsi < LAYOUT_PCI_GSI_BASE || i >= LAYOUT_PCI_GSI_COUNT)
		return;
	pthread_mutex_lock(&h->intx_lock);
	if (level) {
		if (h->intx_count[i]++ == 0)
			irq__set_level(&h->p.irq, gsi, 1);
	} else if (h->intx_count[i] && --h->intx_count[i] == 0) {
		irq__set_level(&h->p.irq, gsi, 0);
	}
	pthread_mutex_unlock(&h->intx_lock);
}

static const struct mv_irq_ops intx_ops = { .set_level = intx_set_level };

unsigned int pci_host__intx_gsi(unsigned int slot, unsigned int pin)
{
	unsigned int p = pin >= 1 && pin <= 4 ? pin - 1 : 0;

	return LAYOUT_PCI_GSI_BASE + (slot + p) % LAYOUT_PCI_GSI_COUNT;
}

/* ---- create / destroy ------------------------------------------------------ */

static int check_params(const struct mv_pci_host_params *p, struct mv_err *err)
{
	if (!p->pio || !p->mmio)
		return err__set(err, -EINVAL, "PCI host bridge without buses");
	if (p->mmio64_size && (p->mmio64_start < LAYOUT_MMIO_HOLE_END || p->mmio64_start + p->mmio64_size < p->mmio64_start))
		return err__set(err, -EINVAL, "PCI 64-bit window 0x%llx+0x%llx is below 4 GiB or wraps",
				(unsigned long long)p->mmio64_start, (unsigned long long)p->mmio64_size);
	return 0;
}

int pci_host__create(const struct mv_pci_host_params *p, struct mv_pci_host **out, struct mv_err *err)
{
	const struct mv_pci_id id = {
		.vendor = PCI_HOST_VENDOR, .device = PCI_HOST_DEVICE,
		.subsys_vendor = 0x1af4, .subsys = 0x1100, /* Red Hat, QEMU */
		.class_code = 0x060000, /* bridge, host */
	};
	struct mv_pci_host *h;
	int ret;

	ret = check_params(p, err);
	if (ret < 0)
		return ret;
	h = calloc(1, sizeof(*h));
	if (!h)
		return err__set(err, -ENOMEM, "out of memory for the PCI host bridge");
	h->p = *p;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->intx_lock, NULL);
	iobus__init(&h->bar_mem, "PCI MMIO");
	iobus__init(&h->bar_io, "PCI I/O");
	pci_alloc__init(&h->pool[WIN_MEM32], LAYOUT_PCI_MMIO32_START, LAYOUT_PCI_MMIO32_END);
	pci_alloc__init(&h->pool[WIN_MEM64], p->mmio64_start, p->mmio64_start + p->mmio64_size);
	pci_alloc__init(&h->pool[WIN_IO], LAYOUT_PCI_IO_START, LAYOUT_PCI_IO_END);
	pci__init(&h->bridge, &id, NULL, NULL, "pci host bridge");
	h->slots[0].dev = &h->bridge;
	ret = add_ranges(h, err);
	if (ret < 0) {
		h->slots[0].dev = NULL;
		pci_host__destroy(h);
		return ret;
	}
	*out = h;
	return 0;
}

void pci_host__destroy(struct mv_pci_host *h)
{
	if (!h)
		return;
	for (unsigned int s = 1; s < PCI_HOST_SLOTS; s++)
		if (h->slots[s].dev)
			pci_host__unplug(h, h->slots[s].dev);
	del_ranges(h);
	pci__fini(&h->bridge);
	iobus__destroy(&h->bar_mem);
	iobus__destroy(&h->bar_io);
	pthread_mutex_destroy(&h->intx_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* ---- plugging --------------------------------------------------------------- */

static void free_bars(struct host_slot *s)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		if (s->pool[i] && pci_alloc__put(s->pool[i], s->addr[i]) < 0)
			pr_warn("BAR %u at 0x%llx was not allocated", i, (unsigned long long)s->addr[i]);
		s->pool[i] = NULL;
	}
}

static int alloc_bar(struct mv_pci_host *h, struct host_slot *s, const struct mv_pci_bar *b, struct mv_err *err)
{
	unsigned int w = b->flags & PCI_BAR_IO ? WIN_IO : b->flags & PCI_BAR_64 ? WIN_MEM64 : WIN_MEM32;
	int ret;

	ret = pci_alloc__get(&h->pool[w], b->size, &s->addr[b->index]);
	if (ret == -ENOSPC && w == WIN_MEM64) /* a 64-bit BAR may live below 4 GiB too */
		ret = pci_alloc__get(&h->pool[w = WIN_MEM32], b->size, &s->addr[b->index]);
	if (ret < 0)
		return err__set(err, -ENOSPC, "no room for %s (%llu bytes) in the PCI %s window", b->name,
				(unsigned long long)b->size, w == WIN_IO ? "I/O" : "MMIO");
	s->pool[b->index] = &h->pool[w];
	return 0;
}

static int assign_bars(struct mv_pci_host *h, struct host_slot *s, struct mv_pci_dev *dev, struct mv_err *err)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct mv_pci_bar *b = &dev->bars[i];
		int ret;

		if (!b->size)
			continue;
		ret = alloc_bar(h, s, b, err);
		if (!ret)
			ret = pci__set_bar_addr(dev, i, s->addr[i]);
		if (ret < 0) {
			if (!err || !err->msg[0] || ret != -ENOSPC)
				err__set(err, ret, "%s: cannot assign BAR %u", dev->name, i);
			free_bars(s);
			return ret;
		}
	}
	return 0;
}

static int pick_slot(struct mv_pci_host *h, int slot, struct mv_err *err)
{
	if (slot >= PCI_HOST_SLOTS || slot == 0)
		return err__set(err, -EINVAL, "PCI slot %d is not 1-%d", slot, PCI_HOST_SLOTS - 1);
	if (slot > 0)
		return h->slots[slot].dev ? err__set(err, -EBUSY, "PCI slot %d is taken by %s", slot,
						     h->slots[slot].dev->name) : slot;
	for (int s = 1; s < PCI_HOST_SLOTS; s++)
		if (!h->slots[s].dev)
			return s;
	return err__set(err, -ENOSPC, "all %d PCI slots are taken", PCI_HOST_SLOTS - 1);
}

int pci_host__plug(struct mv_pci_host *h, struct mv_pci_dev *dev, int slot, struct mv_err *err)
{
	struct mv_pci_attach at = {
		.mem = { &h->bar_mem, { { LAYOUT_PCI_MMIO32_START, LAYOUT_PCI_MMIO32_END } }, 1 },
		.io = { &h->bar_io, { { LAYOUT_PCI_IO_START, LAYOUT_PCI_IO_END } }, 1 },
		.intx = { &intx_ops, h },
	};
	int s, ret;

	if (h->p.mmio64_size)
		at.mem.win[at.mem.nwin++] = (struct mv_pci_window){ h->p.mmio64_start, h->p.mmio64_start + h->p.mmio64_size };
	pthread_mutex_lock(&h->lock);
	if (dev->attached)
		ret = err__set(err, -EBUSY, "%s is already plugged", dev->name);
	else
		ret = pick_slot(h, slot, err);
	s = ret;
	if (ret >= 0)
		ret = assign_bars(h, &h->slots[s], dev, err);
	if (ret >= 0) {
		at.slot = (uint8_t)s;
		at.intx_gsi = pci_host__intx_gsi((unsigned int)s, pci__get8(dev, PCI_INTERRUPT_PIN));
		h->slots[s].dev = dev;
		pci__attach(dev, &at);
	}
	pthread_mutex_unlock(&h->lock);
	return ret < 0 ? ret : s;
}

void pci_host__unplug(struct mv_pci_host *h, struct mv_pci_dev *dev)
{
	pthread_mutex_lock(&h->lock);
	for (unsigned int s = 1; s < PCI_HOST_SLOTS; s++) {
		if (h->slots[s].dev != dev)
			continue;
		pci__detach(dev);
		free_bars(&h->slots[s]);
		h->slots[s].dev = NULL;
		remap_all(h);
	}
	pthread_mutex_unlock(&h->lock);
}

struct mv_pci_dev *pci_host__slot(struct mv_pci_host *h, unsigned int slot)
{
	struct mv_pci_dev *dev;

	pthread_mutex_lock(&h->lock);
	dev = slot < PCI_HOST_SLOTS ? h->slots[slot].dev : NULL;
	pthread_mutex_unlock(&h->lock);
	return dev;
}

struct mv_msi_router pci_host__msi_router(const struct mv_pci_host *h)
{
	return h->p.router;
}

void pci_host__mmio64_window(const struct mv_pci_host *h, uint64_t *start, uint64_t *end)
{
	*start = h->p.mmio64_start;
	*end = h->p.mmio64_start + h->p.mmio64_size;
}
