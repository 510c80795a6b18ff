#include "devices/pci/pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "devices/pci/msix.h"

#define BAR_UPPER 0x100 /* internal: the upper half of a 64-bit BAR */
#define PCI_COMMAND_WMASK (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
			   PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

static bool in_cfg(uint32_t off, uint32_t len)
{
	return len <= 4 && off < PCI_CFG_SIZE && len <= PCI_CFG_SIZE - off;
}

uint32_t pci__get32(const struct mv_pci_dev *dev, uint32_t off)
{
	uint32_t v = 0;

	if (in_cfg(off, 4))
		memcpy(&v, &dev->cfg[off], 4); /* little-endian host */
	return v;
}

uint16_t pci__get16(const struct mv_pci_dev *dev, uint32_t off)
{
	uint16_t v = 0;

	if (in_cfg(off, 2))
		memcpy(&v, &dev->cfg[off], 2);
	return v;
}

uint8_t pci__get8(const struct mv_pci_dev *dev, uint32_t off)
{
	return in_cfg(off, 1) ? dev->cfg[off] : 0;
}

static void set_bytes(uint8_t *a, uint32_t off, uint32_t len, uint32_t v)
{
	if (in_cfg(off, len))
		for (uint32_t i = 0; i < len; i++)
			a[off + i] = (uint8_t)(v >> (8 * i));
}

void pci__set8(struct mv_pci_dev *dev, uint32_t off, uint8_t v)
{
	set_bytes(dev->cfg, off, 1, v);
}

void pci__set16(struct mv_pci_dev *dev, uint32_t off, uint16_t v)
{
	set_bytes(dev->cfg, off, 2, v);
}

void pci__set32(struct mv_pci_dev *dev, uint32_t off, uint32_t v)
{
	set_bytes(dev->cfg, off, 4, v);
}

void pci__set_wmask(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t mask)
{
	set_bytes(dev->wmask, off, len, mask);
}

void pci__set_w1cmask(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t mask)
{
	set_bytes(dev->w1cmask, off, len, mask);
}

void pci__init(struct mv_pci_dev *dev, const struct mv_pci_id *id, const struct mv_pci_dev_ops *ops,
	       void *opaque, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->opaque = opaque;
	snprintf(dev->name, sizeof(dev->name), "%s", name ? name : "pci");
	pci__set16(dev, PCI_VENDOR_ID, id->vendor);
	pci__set16(dev, PCI_DEVICE_ID, id->device);
	pci__set8(dev, PCI_REVISION_ID, id->revision);
	pci__set8(dev, PCI_CLASS_PROG, (uint8_t)id->class_code);
	pci__set16(dev, PCI_CLASS_DEVICE, (uint16_t)(id->class_code >> 8));
	pci__set16(dev, PCI_SUBSYSTEM_VENDOR_ID, id->subsys_vendor);
	pci__set16(dev, PCI_SUBSYSTEM_ID, id->subsys);
	pci__set8(dev, PCI_INTERRUPT_PIN, id->intx_pin <= 4 ? id->intx_pin : 0);
	pci__set_wmask(dev, PCI_COMMAND, 2, PCI_COMMAND_WMASK);
	pci__set_w1cmask(dev, PCI_STATUS, 2, PCI_STATUS_W1C);
	pci__set_wmask(dev, PCI_CACHE_LINE_SIZE, 1, 0xFF);
	pci__set_wmask(dev, PCI_INTERRUPT_LINE, 1, 0xFF);
	dev->cap_free = PCI_CAP_START;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		dev->bars[i].dev = dev;
		dev->bars[i].index = i;
	}
	pthread_mutex_init(&dev->intx_lock, NULL);
}

/* ---- capabilities --------------------------------------------------------- */

int pci__add_cap(struct mv_pci_dev *dev, uint8_t id, uint8_t len, uint16_t *off)
{
	uint16_t at = ALIGN_UP(dev->cap_free, 4);

	if (len < 2)
		return -EINVAL;
	if (at + len > PCI_CFG_STD_SIZE)
		return -ENOSPC;
	dev->cfg[at] = id;
	dev->cfg[at + 1] = 0;
	if (dev->last_cap)
		dev->cfg[dev->last_cap + 1] = (uint8_t)at;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
	pci__set16(dev, PCI_STATUS, pci__get16(dev, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	dev->last_cap = (uint8_t)at;
	dev->cap_free = at + len;
	*off = at;
	return 0;
}

uint16_t pci__find_cap(const struct mv_pci_dev *dev, uint8_t id, uint16_t from)
{
	uint8_t p = from ? pci__get8(dev, from + 1u) : dev->cfg[PCI_CAPABILITY_LIST];

	/* at most (256 - 64) / 4 capabilities fit: a longer walk is a loop */
	for (unsigned int n = 0; p >= PCI_CAP_START && n < (PCI_CFG_STD_SIZE - PCI_CAP_START) / 4; n++) {
		p &= ~3u;
		if (dev->cfg[p] == id)
			return p;
		p = dev->cfg[p + 1];
	}
	return 0;
}

/* ---- BARs --------------------------------------------------------------- */

static uint32_t bar_reg(unsigned int bar)
{
	return PCI_BAR0 + 4 * bar;
}

static bool valid_bar(unsigned int bar, uint64_t size, unsigned int flags)
{
	bool io = flags & PCI_BAR_IO, is64 = flags & PCI_BAR_64;

	if (flags & ~(PCI_BAR_IO | PCI_BAR_64 | PCI_BAR_PREFETCH) || bar >= PCI_NUM_BARS || (size & (size - 1)))
		return false;
	if (io)
		return !is64 && !(flags & PCI_BAR_PREFETCH) && size >= 4 && size <= 256;
	if (is64)
		return bar + 1 < PCI_NUM_BARS && size >= 16 && size <= (1ULL << 63);
	return size >= 16 && size <= (1ULL << 31);
}

int pci__add_bar(struct mv_pci_dev *dev, unsigned int bar, uint64_t size, unsigned int flags)
{
	struct mv_pci_bar *b;
	uint32_t type;

	if (!valid_bar(bar, size, flags))
		return -EINVAL;
	b = &dev->bars[bar];
	if (b->size || b->flags || ((flags & PCI_BAR_64) && (b[1].size || b[1].flags)))
		return -EBUSY;
	b->size = size;
	b->flags = flags;
	snprintf(b->name, sizeof(b->name), "%s BAR%u", dev->name, bar);
	if (flags & PCI_BAR_IO) {
		pci__set32(dev, bar_reg(bar), PCI_BAR_IO_FLAG);
		pci__set_wmask(dev, bar_reg(bar), 4, (uint32_t)~(size - 1) & ~3u);
		return 0;
	}
	type = (flags & PCI_BAR_64 ? PCI_BAR_MEM_TYPE_64 : 0) | (flags & PCI_BAR_PREFETCH ? PCI_BAR_MEM_PREFETCH : 0);
	pci__set32(dev, bar_reg(bar), type);
	pci__set_wmask(dev, bar_reg(bar), 4, (uint32_t)~(size - 1) & ~0xFu);
	if (flags & PCI_BAR_64) {
		b[1].flags = BAR_UPPER;
		pci__set_wmask(dev, bar_reg(bar + 1), 4, (uint32_t)(~(size - 1) >> 32));
	}
	return 0;
}

uint64_t pci__bar_addr(const struct mv_pci_dev *dev, unsigned int bar)
{
	const struct mv_pci_bar *b;
	uint64_t addr;

	if (bar >= PCI_NUM_BARS || !dev->bars[bar].size)
		return 0;
	b = &dev->bars[bar];
	addr = pci__get32(dev, bar_reg(bar));
	if (b->flags & PCI_BAR_IO)
		return addr & ~3ULL;
	addr &= ~0xFULL;
	if (b->flags & PCI_BAR_64)
		addr |= (uint64_t)pci__get32(dev, bar_reg(bar + 1)) << 32;
	return addr;
}

int pci__set_bar_addr(struct mv_pci_dev *dev, unsigned int bar, uint64_t addr)
{
	const struct mv_pci_bar *b;
	uint32_t low;

	if (bar >= PCI_NUM_BARS || !dev->bars[bar].size)
		return -EINVAL;
	b = &dev->bars[bar];
	if (addr & (b->size - 1) || (!(b->flags & PCI_BAR_64) && addr + b->size - 1 > UINT32_MAX))
		return -EINVAL;
	low = pci__get32(dev, bar_reg(bar)) & (b->flags & PCI_BAR_IO ? 3u : 0xFu);
	pci__set32(dev, bar_reg(bar), low | (uint32_t)addr);
	if (b->flags & PCI_BAR_64)
		pci__set32(dev, bar_reg(bar + 1), (uint32_t)(addr >> 32));
	return 0;
}

static void bar_io_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct mv_pci_bar *b = opaque;
	struct mv_pci_dev *dev = b->dev;

	if (dev->msix && msix__bar_access(dev->msix, b->index, off, data, len, false))
		return;
	if (dev->ops && dev->ops->bar_read)
		dev->ops->bar_read(dev, b->index, off, data, len);
	else
		memset(data, 0xFF, len);
}

static void bar_io_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct mv_pci_bar *b = opaque;
	struct mv_pci_dev *dev = b->dev;

	if (dev->msix && msix__bar_access(dev->msix, b->index, off, (void *)data, len, true))
		return;
	if (dev->ops && dev->ops->bar_write)
		dev->ops->bar_write(dev, b->index, off, data, len);
}

static const struct mv_iodev_ops bar_io_ops = { .read = bar_io_read, .write = bar_io_write };

static const struct mv_pci_space *bar_space(const struct mv_pci_dev *dev, const struct mv_pci_bar *b)
{
	return b->flags & PCI_BAR_IO ? &dev->at.io : &dev->at.mem;
}

/* Where the BAR should be mapped now, if anywhere. */
static bool bar_wanted(const struct mv_pci_dev *dev, const struct mv_pci_bar *b, uint64_t *addr)
{
	const struct mv_pci_space *s = bar_space(dev, b);
	uint16_t enable = b->flags & PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;

	if (!dev->attached || !b->size || !s->bus || !(pci__get16(dev, PCI_COMMAND) & enable))
		return false;
	*addr = pci__bar_addr(dev, b->index);
	for (unsigned int i = 0; i < s->nwin; i++)
		if (*addr >= s->win[i].start && *addr < s->win[i].end && b->size <= s->win[i].end - *addr)
			return true;
	return false;
}

static void unmap_bar(struct mv_pci_dev *dev, struct mv_pci_bar *b)
{
	int ret;

	if (!b->mapped)
		return;
	ret = iobus__unregister(bar_space(dev, b)->bus, b->mapped_at);
	if (ret < 0)
		pr_warn_errno(ret, "%s at 0x%llx", b->name, (unsigned long long)b->mapped_at);
	b->mapped = false;
	if (dev->ops && dev->ops->bar_map)
		dev->ops->bar_map(dev, b->index, b->mapped_at, false);
}

static void map_bar(struct mv_pci_dev *dev, struct mv_pci_bar *b, uint64_t addr)
{
	struct mv_err err;
	int ret;

	ret = iobus__register(bar_space(dev, b)->bus, addr, b->size, &bar_io_ops, b, b->name, &err);
	if (ret < 0) { /* the guest's doing: it stays unmapped until it moves */
		pr_debug("%s left unmapped: %s", b->name, err.msg);
		return;
	}
	b->mapped = true;
	b->mapped_at = addr;
	if (dev->ops && dev->ops->bar_map)
		dev->ops->bar_map(dev, b->index, addr, true);
}

void pci__update_mappings(struct mv_pci_dev *dev)
{
	uint64_t addr[PCI_NUM_BARS];
	bool want[PCI_NUM_BARS];
	unsigned int i;

	/* unmap first, so that two BARs may trade places */
	for (i = 0; i < PCI_NUM_BARS; i++) {
		want[i] = bar_wanted(dev, &dev->bars[i], &addr[i]);
		if (dev->bars[i].mapped && (!want[i] || addr[i] != dev->bars[i].mapped_at))
			unmap_bar(dev, &dev->bars[i]);
	}
	for (i = 0; i < PCI_NUM_BARS; i++)
		if (want[i] && !dev->bars[i].mapped)
			map_bar(dev, &dev->bars[i], addr[i]);
}

/* ---- INTx --------------------------------------------------------------- */

/* Called with intx_lock held. */
static void intx_update(struct mv_pci_dev *dev)
{
	bool out = dev->attached && dev->intx_level && !dev->intx_disabled;

	if (out == dev->intx_out)
		return;
	dev->intx_out = out;
	irq__set_level(&dev->at.intx, dev->at.intx_gsi, out);
}

void pci__set_intx(struct mv_pci_dev *dev, int level)
{
	if (!dev->cfg[PCI_INTERRUPT_PIN])
		return;
	pthread_mutex_lock(&dev->intx_lock);
	dev->intx_level = level != 0;
	atomic_store(&dev->intx_status, dev->intx_level);
	intx_update(dev);
	pthread_mutex_unlock(&dev->intx_lock);
}

static void command_changed(struct mv_pci_dev *dev)
{
	pthread_mutex_lock(&dev->intx_lock);
	dev->intx_disabled = pci__get16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	intx_update(dev);
	pthread_mutex_unlock(&dev->intx_lock);
}

/* ---- guest accesses ------------------------------------------------------ */

static bool access_ok(uint32_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SIZE && (off & 3) + len <= 4;
}

static bool overlaps(uint32_t off, uint32_t len, uint32_t reg, uint32_t reg_len)
{
	return off < reg + reg_len && reg < off + len;
}

uint32_t pci__cfg_read(struct mv_pci_dev *dev, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	if (!access_ok(off, len))
		return UINT32_MAX;
	memcpy(&v, &dev->cfg[off], len);
	if (overlaps(off, len, PCI_STATUS, 1) && atomic_load(&dev->intx_status))
		v |= (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off));
	if (dev->ops && dev->ops->cfg_read)
		dev->ops->cfg_read(dev, off, len, &v);
	return v;
}

void pci__cfg_write(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t val)
{
	if (!access_ok(off, len))
		return;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i)), *c = &dev->cfg[off + i];

		*c = (uint8_t)((*c & ~dev->wmask[off + i]) | (b & dev->wmask[off + i]));
		*c &= (uint8_t)~(b & dev->w1cmask[off + i]);
	}
	if (overlaps(off, len, PCI_COMMAND, 2))
		command_changed(dev);
	if (overlaps(off, len, PCI_COMMAND, 2) || overlaps(off, len, PCI_BAR0, 4 * PCI_NUM_BARS))
		pci__update_mappings(dev);
	if (dev->msix)
		msix__cfg_written(dev->msix, off, len);
	if (dev->ops && dev->ops->cfg_write)
		dev->ops->cfg_write(dev, off, len, val);
}

/* ---- plugging ------------------------------------------------------------ */

void pci__attach(struct mv_pci_dev *dev, const struct mv_pci_attach *at)
{
	pthread_mutex_lock(&dev->intx_lock);
	dev->at = *at;
	dev->attached = true;
	pthread_mutex_unlock(&dev->intx_lock);
	if (dev->cfg[PCI_INTERRUPT_PIN])
		pci__set8(dev, PCI_INTERRUPT_LINE, (uint8_t)at->intx_gsi);
	command_changed(dev);
	pci__update_mappings(dev);
}

void pci__detach(struct mv_pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		unmap_bar(dev, &dev->bars[i]);
	pthread_mutex_lock(&dev->intx_lock);
	dev->attached = false;
	intx_update(dev);
	pthread_mutex_unlock(&dev->intx_lock);
}

void pci__fini(struct mv_pci_dev *dev)
{
	if (dev->attached)
		pci__detach(dev);
	pthread_mutex_destroy(&dev->intx_lock);
}
