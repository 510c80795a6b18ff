/* PCI config space, BARs and INTx (devices/pci/pci.c), the BAR allocator
 * (alloc.c) and the host bridge's config mechanisms, windows and slots
 * (host.c), driven the way a (hostile) guest would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/pci/alloc.h"
#include "devices/pci/host.h"
#include "devices/pci/pci.h"

#define MMIO64_START (256 * GiB)
#define MMIO64_SIZE (64 * GiB)

/* ---- fakes ---------------------------------------------------------------- */

struct fake_irq {
	pthread_mutex_t lock;
	int level[LAYOUT_IOAPIC_PINS];
	unsigned int calls;
};

static void fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fake_irq *f = opaque;

	pthread_mutex_lock(&f->lock);
	assert_true(gsi < LAYOUT_IOAPIC_PINS);
	assert_int_not_equal(f->level[gsi], level); /* changes only */
	f->level[gsi] = level;
	f->calls++;
	pthread_mutex_unlock(&f->lock);
}

static const struct mv_irq_ops fake_irq_ops = { .set_level = fake_set_level };

/* A device that records its last BAR access. */
struct tdev {
	struct mv_pci_dev pci;
	unsigned int reads, writes, last_bar;
	uint64_t last_off;
	uint32_t last_len;
	uint64_t last_val;
};

static void tdev_bar_read(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	struct tdev *t = dev->opaque;
	uint64_t v = 0xA000000000000000ULL | (uint64_t)bar << 32 | off;

	assert_true(len >= 1 && len <= 8 && off + len <= dev->bars[bar].size);
	t->reads++;
	t->last_bar = bar;
	t->last_off = off;
	t->last_len = len;
	memcpy(data, &v, len);
}

static void tdev_bar_write(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, const void *data, uint32_t len)
{
	struct tdev *t = dev->opaque;

	assert_true(len >= 1 && len <= 8 && off + len <= dev->bars[bar].size);
	t->writes++;
	t->last_bar = bar;
	t->last_off = off;
	t->last_len = len;
	t->last_val = 0;
	memcpy(&t->last_val, data, len);
}

static const struct mv_pci_dev_ops tdev_ops = { .bar_read = tdev_bar_read, .bar_write = tdev_bar_write };

static void tdev_init(struct tdev *t, const char *name, uint8_t pin)
{
	const struct mv_pci_id id = {
		.vendor = 0x1af4, .device = 0x1042, .subsys_vendor = 0x1af4, .subsys = 2,
		.class_code = 0x010000, .revision = 1, .intx_pin = pin,
	};

	memset(t, 0, sizeof(*t));
	pci__init(&t->pci, &id, &tdev_ops, t, name);
}

struct ctx {
	struct mv_iobus pio, mmio;
	struct fake_irq irq;
	struct mv_pci_host *host;
	struct tdev dev[3];
	unsigned int resets;   /* port 0xCF9 resets */
};

static void count_reset(void *opaque)
{
	struct ctx *c = opaque;

	c->resets++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_pci_host_params p;
	struct mv_err err;

	if (!c)
		return -1;
	pthread_mutex_init(&c->irq.lock, NULL);
	iobus__init(&c->pio, "pio");
	iobus__init(&c->mmio, "mmio");
	p = (struct mv_pci_host_params){
		.pio = &c->pio, .mmio = &c->mmio, .irq = { &fake_irq_ops, &c->irq },
		.mmio64_start = MMIO64_START, .mmio64_size = MMIO64_SIZE, .reset = count_reset, .opaque = c,
	};
	if (pci_host__create(&p, &c->host, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(c->dev); i++) {
		char name[16];

		snprintf(name, sizeof(name), "tdev%u", i);
		tdev_init(&c->dev[i], name, 1);
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	pci_host__destroy(c->host);
	for (unsigned int i = 0; i < ARRAY_SIZE(c->dev); i++)
		pci__fini(&c->dev[i].pci);
	iobus__destroy(&c->pio);
	iobus__destroy(&c->mmio);
	pthread_mutex_destroy(&c->irq.lock);
	free(c);
	return 0;
}

/* ---- guest access helpers ----------------------------------------------------- */

static uint64_t bus_rd(struct mv_iobus *bus, uint64_t addr, uint32_t len)
{
	uint64_t v = 0;

	iobus__access(bus, addr, &v, len, false);
	return v;
}

static void bus_wr(struct mv_iobus *bus, uint64_t addr, uint64_t v, uint32_t len)
{
	iobus__access(bus, addr, &v, len, true);
}

static uint32_t cf8(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

/* A config read through 0xCF8/0xCFC, as Linux's pci_conf1_read does. */
static uint32_t conf1_rd(struct ctx *c, unsigned int dev, unsigned int reg, uint32_t len)
{
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(0, dev, 0, reg), 4);
	return (uint32_t)bus_rd(&c->pio, PCI_CONFIG_DATA + (reg & 3), len);
}

static void conf1_wr(struct ctx *c, unsigned int dev, unsigned int reg, uint32_t v, uint32_t len)
{
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(0, dev, 0, reg), 4);
	bus_wr(&c->pio, PCI_CONFIG_DATA + (reg & 3), v, len);
}

static uint64_t ecam(unsigned int dev, unsigned int fn, unsigned int reg)
{
	return LAYOUT_ECAM_START + ((uint64_t)dev << 15 | fn << 12 | reg);
}

/* ---- config space: masks ------------------------------------------------------ */

static void test_header(void **state)
{
	struct tdev t;

	tdev_init(&t, "t", 2);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_VENDOR_ID, 4), 0x10421af4);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_REVISION_ID, 4), 0x01000001);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00021af4);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_INTERRUPT_PIN, 1), 2);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	/* read-only registers ignore writes */
	pci__cfg_write(&t.pci, PCI_VENDOR_ID, 4, 0);
	pci__cfg_write(&t.pci, PCI_REVISION_ID, 4, 0xFFFFFFFF);
	pci__cfg_write(&t.pci, PCI_INTERRUPT_PIN, 1, 0);
	pci__cfg_write(&t.pci, PCI_ROM_ADDRESS, 4, 0xFFFFFFFF);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_VENDOR_ID, 4), 0x10421af4);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_REVISION_ID, 4), 0x01000001);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_INTERRUPT_PIN, 1), 2);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_ROM_ADDRESS, 4), 0); /* no ROM */
	/* writable ones keep exactly their writable bits */
	pci__cfg_write(&t.pci, PCI_COMMAND, 2, 0xFFFF);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_COMMAND, 2), 0x0547);
	pci__cfg_write(&t.pci, PCI_CACHE_LINE_SIZE, 1, 0x10);
	pci__cfg_write(&t.pci, PCI_INTERRUPT_LINE, 1, 0x0B);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_CACHE_LINE_SIZE, 1), 0x10);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_INTERRUPT_LINE, 1), 0x0B);
	/* extended config space exists and reads 0 (no extended capabilities) */
	assert_int_equal(pci__cfg_read(&t.pci, 0x100, 4), 0);
	assert_int_equal(pci__cfg_read(&t.pci, 0xFFC, 4), 0);
	pci__fini(&t.pci);
}

static void test_status_w1c(void **state)
{
	struct tdev t;
	uint16_t cap;

	tdev_init(&t, "t", 1);
	assert_int_equal(pci__add_cap(&t.pci, PCI_CAP_ID_VNDR, 4, &cap), 0);
	pci__set16(&t.pci, PCI_STATUS, pci__get16(&t.pci, PCI_STATUS) | 0xF900);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_STATUS, 2), 0xF910);
	pci__cfg_write(&t.pci, PCI_STATUS, 2, 0x0010);  /* cap list: read-only */
	pci__cfg_write(&t.pci, PCI_STATUS, 2, 0x0000);  /* 0s clear nothing */
	assert_int_equal(pci__cfg_read(&t.pci, PCI_STATUS, 2), 0xF910);
	pci__cfg_write(&t.pci, PCI_STATUS, 2, 0x8000);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_STATUS, 2), 0x7910);
	pci__cfg_write(&t.pci, PCI_STATUS + 1, 1, 0x01); /* byte write to the high half */
	assert_int_equal(pci__cfg_read(&t.pci, PCI_STATUS, 2), 0x7810);
	/* a DWord write to COMMAND carries STATUS along: all ones clears every error */
	pci__cfg_write(&t.pci, PCI_COMMAND, 4, 0xFFFF0002);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_COMMAND, 4), 0x00100002);
	pci__fini(&t.pci);
}

static void test_caps(void **state)
{
	struct tdev t;
	uint16_t a, b;

	tdev_init(&t, "t", 1);
	assert_int_equal(pci__add_cap(&t.pci, PCI_CAP_ID_VNDR, 5, &a), 0);
	assert_int_equal(pci__add_cap(&t.pci, PCI_CAP_ID_MSIX, 12, &b), 0);
	assert_int_equal(a, PCI_CAP_START);
	assert_int_equal(b, PCI_CAP_START + 8); /* DWord aligned */
	assert_int_equal(pci__cfg_read(&t.pci, PCI_CAPABILITY_LIST, 1), a);
	assert_int_equal(pci__cfg_read(&t.pci, a + 1, 1), b);
	assert_int_equal(pci__cfg_read(&t.pci, b + 1, 1), 0);
	assert_int_equal(pci__find_cap(&t.pci, PCI_CAP_ID_MSIX, 0), b);
	assert_int_equal(pci__find_cap(&t.pci, PCI_CAP_ID_VNDR, 0), a);
	assert_int_equal(pci__find_cap(&t.pci, PCI_CAP_ID_VNDR, a), 0);
	assert_int_equal(pci__find_cap(&t.pci, 0x05, 0), 0);
	pci__cfg_write(&t.pci, a + 1, 1, 0x40); /* next pointers are read-only */
	assert_int_equal(pci__cfg_read(&t.pci, a + 1, 1), b);
	assert_int_equal(pci__add_cap(&t.pci, PCI_CAP_ID_VNDR, 200, &a), -ENOSPC);
	assert_int_equal(pci__add_cap(&t.pci, PCI_CAP_ID_VNDR, 1, &a), -EINVAL);
	/* a looping list (device bug) ends the walk */
	pci__set8(&t.pci, b + 1, (uint8_t)a);
	assert_int_equal(pci__find_cap(&t.pci, 0x05, 0), 0);
	pci__fini(&t.pci);
}

/* A hostile guest: sizes, offsets and alignments that no PCI access has. */
static void test_cfg_bad_accesses(void **state)
{
	static const struct { uint32_t off, len; } bad[] = {
		{ 0, 0 }, { 0, 3 }, { 0, 8 }, { 3, 2 }, { 2, 4 }, { 1, 4 }, { 0xFFF, 2 }, { 0xFFE, 4 },
		{ 0x1000, 1 }, { 0x1000, 4 }, { 0xFFFFFFFF, 1 }, { 0xFFFFFFFE, 2 }, { 0xFFFFFFFC, 4 }, { 0x80000000, 4 },
	};
	struct tdev t;
	uint8_t before[PCI_CFG_SIZE];

	tdev_init(&t, "t", 1);
	memcpy(before, t.pci.cfg, sizeof(before));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(pci__cfg_read(&t.pci, bad[i].off, bad[i].len), UINT32_MAX);
		pci__cfg_write(&t.pci, bad[i].off, bad[i].len, 0xFFFFFFFF);
	}
	assert_memory_equal(before, t.pci.cfg, sizeof(before));
	/* odd but legal: a word inside a DWord */
	assert_int_equal(pci__cfg_read(&t.pci, 1, 2), 0x421a);
	assert_int_equal(pci__cfg_read(&t.pci, 0xFFF, 1), 0);
	pci__fini(&t.pci);
}

/* ---- BARs ------------------------------------------------------------------------ */

static uint32_t size_bar(struct mv_pci_dev *d, unsigned int bar)
{
	uint32_t old = pci__cfg_read(d, PCI_BAR0 + 4 * bar, 4), v;

	pci__cfg_write(d, PCI_BAR0 + 4 * bar, 4, 0xFFFFFFFF);
	v = pci__cfg_read(d, PCI_BAR0 + 4 * bar, 4);
	pci__cfg_write(d, PCI_BAR0 + 4 * bar, 4, old);
	return v;
}

static void test_bar_sizing(void **state)
{
	struct tdev t;

	tdev_init(&t, "t", 1);
	assert_int_equal(pci__add_bar(&t.pci, 0, 4096, 0), 0);
	assert_int_equal(pci__add_bar(&t.pci, 1, 32, PCI_BAR_IO), 0);
	assert_int_equal(pci__add_bar(&t.pci, 2, 1 * GiB, PCI_BAR_64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci__add_bar(&t.pci, 4, 8 * GiB, PCI_BAR_64), 0);
	assert_int_equal(size_bar(&t.pci, 0), 0xFFFFF000);
	assert_int_equal(size_bar(&t.pci, 1), 0xFFFFFFE1);
	assert_int_equal(size_bar(&t.pci, 2), 0xC000000C);
	assert_int_equal(size_bar(&t.pci, 3), 0xFFFFFFFF);
	assert_int_equal(size_bar(&t.pci, 4), 0x00000004);
	assert_int_equal(size_bar(&t.pci, 5), 0xFFFFFFFE);
	/* sizing restored the (zero) addresses, type bits stay */
	assert_int_equal(pci__cfg_read(&t.pci, PCI_BAR0 + 4, 4), 1);
	assert_int_equal(pci__cfg_read(&t.pci, PCI_BAR0 + 8, 4), 0xC);
	/* addresses the guest writes are masked to the BAR's alignment */
	pci__cfg_write(&t.pci, PCI_BAR0, 4, 0x12345678);
	assert_int_equal(pci__bar_addr(&t.pci, 0), 0x12345000);
	pci__cfg_write(&t.pci, PCI_BAR0 + 8, 4, 0x40000000);
	pci__cfg_write(&t.pci, PCI_BAR0 + 12, 4, 0x5);
	assert_int_equal(pci__bar_addr(&t.pci, 2), 0x540000000ULL);
	assert_int_equal(pci__bar_addr(&t.pci, 3), 0); /* an upper half is no BAR */
	assert_int_equal(pci__bar_addr(&t.pci, 17), 0);
	pci__fini(&t.pci);
}

static void test_bar_add_errors(void **state)
{
	struct tdev t;

	tdev_init(&t, "t", 1);
	assert_int_equal(pci__add_bar(&t.pci, 0, 3000, 0), -EINVAL);       /* not a power of two */
	assert_int_equal(pci__add_bar(&t.pci, 0, 8, 0), -EINVAL);          /* memory < 16 */
	assert_int_equal(pci__add_bar(&t.pci, 0, 512, PCI_BAR_IO), -EINVAL); /* I/O > 256 */
	assert_int_equal(pci__add_bar(&t.pci, 0, 2, PCI_BAR_IO), -EINVAL);
	assert_int_equal(pci__add_bar(&t.pci, 0, 4 * GiB, 0), -EINVAL);     /* 32-bit > 2 GiB */
	assert_int_equal(pci__add_bar(&t.pci, 5, 4096, PCI_BAR_64), -EINVAL); /* no upper half */
	assert_int_equal(pci__add_bar(&t.pci, 6, 4096, 0), -EINVAL);
	assert_int_equal(pci__add_bar(&t.pci, 0, 4096, PCI_BAR_IO | PCI_BAR_64), -EINVAL);
	assert_int_equal(pci__add_bar(&t.pci, 0, 4096, 0x80), -EINVAL);
	assert_int_equal(pci__add_bar(&t.pci, 1, 4096, PCI_BAR_64), 0);
	assert_int_equal(pci__add_bar(&t.pci, 2, 4096, 0), -EBUSY);         /* upper half of 1 */
	assert_int_equal(pci__add_bar(&t.pci, 0, 4096, PCI_BAR_64), -EBUSY); /* its upper half is 1 */
	assert_int_equal(pci__add_bar(&t.pci, 1, 4096, 0), -EBUSY);
	assert_int_equal(pci__set_bar_addr(&t.pci, 1, 0x1800), -EINVAL);    /* unaligned */
	assert_int_equal(pci__set_bar_addr(&t.pci, 0, 0x1000), -EINVAL);    /* no BAR 0 */
	assert_int_equal(pci__set_bar_addr(&t.pci, 1, 0x500000000ULL), 0);
	assert_int_equal(pci__bar_addr(&t.pci, 1), 0x500000000ULL);
	pci__fini(&t.pci);
}

/* BARs map on the host's buses when the command register enables their
 * space, and follow every move; accesses through the VM's buses reach the
 * device with BAR-relative offsets. */
static void test_bar_mapping(void **state)
{
	struct ctx *c = *state;
	struct tdev *t = &c->dev[0];
	uint64_t m32, m64;
	uint16_t io;

	assert_int_equal(pci__add_bar(&t->pci, 0, 4096, 0), 0);
	assert_int_equal(pci__add_bar(&t->pci, 1, 256, PCI_BAR_IO), 0);
	assert_int_equal(pci__add_bar(&t->pci, 2, 1 * MiB, PCI_BAR_64), 0);
	assert_int_equal(pci_host__plug(c->host, &t->pci, 3, NULL), 3);
	m32 = pci__bar_addr(&t->pci, 0);
	io = (uint16_t)pci__bar_addr(&t->pci, 1);
	m64 = pci__bar_addr(&t->pci, 2);
	assert_true(m32 >= LAYOUT_PCI_MMIO32_START && m32 + 4096 <= LAYOUT_PCI_MMIO32_END && m32 % 4096 == 0);
	assert_true(io >= LAYOUT_PCI_IO_START && io % 256 == 0);
	assert_true(m64 >= MMIO64_START && m64 + MiB <= MMIO64_START + MMIO64_SIZE && m64 % MiB == 0);
	/* decoding off: nothing there */
	assert_int_equal(bus_rd(&c->mmio, m32 + 8, 4), 0xFFFFFFFF);
	assert_int_equal(bus_rd(&c->pio, io, 1), 0xFF);
	assert_int_equal(t->reads, 0);
	/* memory on: both memory BARs, not the I/O one */
	conf1_wr(c, 3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(bus_rd(&c->mmio, m32 + 8, 4), 0x8);
	assert_int_equal(t->last_bar, 0);
	assert_int_equal(bus_rd(&c->mmio, m64 + 0xFFFF8, 8), 0xA0000002000FFFF8ULL);
	assert_int_equal(t->last_len, 8);
	bus_wr(&c->mmio, m32 + 0xFFC, 0xDEADBEEF, 4);
	assert_int_equal(t->last_off, 0xFFC);
	assert_int_equal(t->last_val, 0xDEADBEEF);
	assert_int_equal(bus_rd(&c->pio, io, 1), 0xFF);
	/* an access straddling the BAR's end reaches no device */
	assert_int_equal(bus_rd(&c->mmio, m32 + 0xFFE, 4), 0xFFFFFFFF);
	/* I/O on too */
	conf1_wr(c, 3, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	assert_int_equal(bus_rd(&c->pio, io + 0x10, 2), 0x0010);
	assert_int_equal(t->last_bar, 1);
	/* move BAR 0 with decoding on (through ECAM this time) */
	bus_wr(&c->mmio, ecam(3, 0, PCI_BAR0), m32 + 0x10000, 4);
	assert_int_equal(bus_rd(&c->mmio, m32 + 8, 4), 0xFFFFFFFF);
	assert_int_equal(bus_rd(&c->mmio, m32 + 0x10000 + 8, 4), 0x8);
	/* move it out of the windows: unmapped, even where RAM would be */
	conf1_wr(c, 3, PCI_BAR0, 0x10000000, 4);
	assert_int_equal(bus_rd(&c->mmio, 0x10000000, 4), 0xFFFFFFFF);
	conf1_wr(c, 3, PCI_BAR0, (uint32_t)LAYOUT_PCI_MMIO32_END - 4096, 4); /* the last page */
	assert_int_equal(bus_rd(&c->mmio, LAYOUT_PCI_MMIO32_END - 4096, 4), 0);
	/* the 64-bit BAR moved below 4 GiB still decodes (32-bit window) */
	conf1_wr(c, 3, PCI_BAR0 + 12, 0, 4);
	conf1_wr(c, 3, PCI_BAR0 + 8, (uint32_t)LAYOUT_PCI_MMIO32_START + 0x100000, 4);
	assert_int_equal(bus_rd(&c->mmio, LAYOUT_PCI_MMIO32_START + 0x100000 + 4, 4), 0x4);
	assert_int_equal(t->last_bar, 2);
	/* sizing with decoding on maps nothing outside the windows */
	conf1_wr(c, 3, PCI_BAR0, 0xFFFFFFFF, 4);
	assert_int_equal(conf1_rd(c, 3, PCI_BAR0, 4), 0xFFFFF000);
	assert_int_equal(bus_rd(&c->mmio, 0xFFFFF000, 4), 0xFFFFFFFF);
	/* decoding off again: all gone */
	conf1_wr(c, 3, PCI_COMMAND, 0, 2);
	assert_int_equal(bus_rd(&c->mmio, LAYOUT_PCI_MMIO32_START + 0x100000 + 4, 4), 0xFFFFFFFF);
	assert_int_equal(bus_rd(&c->pio, io + 0x10, 2), 0xFFFF);
	pci_host__unplug(c->host, &t->pci);
	assert_false(t->pci.attached);
	assert_null(pci_host__slot(c->host, 3));
}

/* Two BARs at one address: the second stays unmapped until the first
 * leaves, then maps without the guest touching it again. */
static void test_bar_overlap(void **state)
{
	struct ctx *c = *state;
	struct tdev *a = &c->dev[0], *b = &c->dev[1];
	uint64_t at;

	assert_int_equal(pci__add_bar(&a->pci, 0, 8192, 0), 0);
	assert_int_equal(pci__add_bar(&b->pci, 0, 4096, 0), 0);
	assert_int_equal(pci_host__plug(c->host, &a->pci, -1, NULL), 1);
	assert_int_equal(pci_host__plug(c->host, &b->pci, -1, NULL), 2);
	at = pci__bar_addr(&a->pci, 0);
	assert_int_not_equal(at, pci__bar_addr(&b->pci, 0)); /* allocation never overlaps */
	conf1_wr(c, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	conf1_wr(c, 2, PCI_BAR0, (uint32_t)at + 4096, 4); /* inside a's BAR */
	conf1_wr(c, 2, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(a->pci.bars[0].mapped);
	assert_false(b->pci.bars[0].mapped);
	assert_int_equal(bus_rd(&c->mmio, at + 4096 + 4, 4), 0x1004); /* still a's */
	assert_int_equal(a->reads, 1);
	assert_int_equal(b->reads, 0);
	conf1_wr(c, 1, PCI_BAR0, (uint32_t)at + 0x100000, 4); /* a moves away */
	assert_true(b->pci.bars[0].mapped);
	assert_int_equal(bus_rd(&c->mmio, at + 4096 + 4, 4), 0x4);
	assert_int_equal(b->reads, 1);
	/* and a over b, then b unplugged: a maps */
	conf1_wr(c, 1, PCI_BAR0, (uint32_t)at, 4);
	assert_false(a->pci.bars[0].mapped);
	pci_host__unplug(c->host, &b->pci);
	assert_true(a->pci.bars[0].mapped);
}

/* ---- the host's config mechanisms --------------------------------------------------- */

static void test_cf8_decoding(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(conf1_rd(c, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(conf1_rd(c, 0, PCI_REVISION_ID, 4), 0x06000000);
	assert_int_equal(conf1_rd(c, 0, PCI_CLASS_PROG, 4), 0xFFFFFFFF); /* straddles 0xCFF */
	assert_int_equal(conf1_rd(c, 0, PCI_DEVICE_ID, 2), 0x0008);
	assert_int_equal(conf1_rd(c, 0, PCI_CLASS_DEVICE + 1, 1), 0x06);
	assert_int_equal(conf1_rd(c, 0, PCI_HEADER_TYPE, 1), 0);
	/* CONFIG_ADDRESS reads back; only DWord accesses at 0xCF8 touch it */
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(0, 0, 0, 0), 4);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_ADDRESS, 4), 0x80000000);
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS + 3, 0x01, 1); /* Linux's type 1 probe */
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, 0x1234, 2);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_ADDRESS, 4), 0x80000000);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_ADDRESS, 2), 0xFFFF);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_ADDRESS + 2, 1), 0xFF); /* 0xCF9: test_reset_control */
	/* enable bit clear: no config cycle */
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, 0x00000000, 4);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA, 4), 0xFFFFFFFF);
	bus_wr(&c->pio, PCI_CONFIG_DATA, 0x2, 4); /* ...and no write either */
	/* other buses, functions, empty slots: absent */
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(1, 0, 0, 0), 4);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA, 4), 0xFFFFFFFF);
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(0, 0, 1, 0), 4);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA, 4), 0xFFFFFFFF);
	for (unsigned int d = 1; d < 32; d++)
		assert_int_equal(conf1_rd(c, d, 0, 4), 0xFFFFFFFF);
	/* bits 30:24 are reserved: ignored */
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(0, 0, 0, 0) | 0x7F000000, 4);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA, 4), 0x00081b36);
	/* bits 1:0 of the register number come from the data port */
	bus_wr(&c->pio, PCI_CONFIG_ADDRESS, cf8(0, 0, 0, 0) | 3, 4);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA + 2, 2), 0x0008);
	/* an access past 0xCFF is not ours; one straddling 0xCFF is refused */
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA + 2, 4), 0xFFFFFFFF);
	assert_int_equal(bus_rd(&c->pio, PCI_CONFIG_DATA + 3, 2), 0xFFFF);
	/* the bridge's own command register is writable, its ID is not */
	conf1_wr(c, 0, PCI_COMMAND, 0x6, 2);
	conf1_wr(c, 0, PCI_VENDOR_ID, 0, 4);
	assert_int_equal(conf1_rd(c, 0, PCI_COMMAND, 2), 0x6);
	assert_int_equal(conf1_rd(c, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	/* the entry points reject what the buses never pass, too */
	{
		uint64_t v = 0;

		pci_host__pio(c->host, 0xCF7, &v, 4, false);
		assert_int_equal(v, 0xFFFFFFFF);
		pci_host__pio(c->host, PCI_CONFIG_DATA, &v, 3, false);
		pci_host__pio(c->host, PCI_CONFIG_DATA, &v, 8, false);
		assert_int_equal(v, UINT64_MAX);
	}
}

static uint8_t rcr_rd(struct ctx *c)
{
	uint8_t v = 0x55;

	iobus__access(&c->pio, PCI_RESET_CONTROL, &v, 1, false);
	return v;
}

static void rcr_wr(struct ctx *c, uint8_t v)
{
	iobus__access(&c->pio, PCI_RESET_CONTROL, &v, 1, true);
}

/* Port 0xCF9: RST_CPU resets (Linux's reboot=pci writes 0x02, then 0x06);
 * SYS_RST and FULL_RST read back; wider accesses and CONFIG_ADDRESS's other
 * bytes do nothing. */
static void test_reset_control(void **state)
{
	struct ctx *c = *state;
	uint16_t w = 0xFFFF;
	uint8_t b = 0xFF;

	assert_int_equal(rcr_rd(c), 0);
	rcr_wr(c, PCI_RCR_SYS_RST);
	assert_int_equal(c->resets, 0);
	assert_int_equal(rcr_rd(c), PCI_RCR_SYS_RST);
	rcr_wr(c, PCI_RCR_SYS_RST | PCI_RCR_RST_CPU);
	assert_int_equal(c->resets, 1);
	rcr_wr(c, 0xFF);
	assert_int_equal(c->resets, 2);
	assert_int_equal(rcr_rd(c), PCI_RCR_SYS_RST | PCI_RCR_FULL_RST);
	iobus__access(&c->pio, PCI_RESET_CONTROL, &w, 2, true);
	iobus__access(&c->pio, PCI_CONFIG_ADDRESS + 2, &b, 1, true);
	assert_int_equal(c->resets, 2);
	iobus__access(&c->pio, PCI_RESET_CONTROL, &w, 2, false);
	assert_int_equal(w, 0xFFFF);
	/* CONFIG_ADDRESS still works around it */
	conf1_wr(c, 0, PCI_COMMAND, 0x6, 2);
	assert_int_equal(conf1_rd(c, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(rcr_rd(c), PCI_RCR_SYS_RST | PCI_RCR_FULL_RST);
}

static void test_ecam_decoding(void **state)
{
	struct ctx *c = *state;
	struct tdev *t = &c->dev[0];
	uint64_t v;

	assert_int_equal(pci_host__plug(c->host, &t->pci, 5, NULL), 5);
	assert_int_equal(bus_rd(&c->mmio, ecam(0, 0, 0), 4), 0x00081b36);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 0), 4), 0x10421af4);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 2), 2), 0x1042);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, PCI_CLASS_DEVICE + 1), 1), 0x01);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 1, 0), 4), 0xFFFFFFFF);
	assert_int_equal(bus_rd(&c->mmio, ecam(6, 0, 0), 4), 0xFFFFFFFF);
	assert_int_equal(bus_rd(&c->mmio, ecam(31, 7, 0xFFC), 4), 0xFFFFFFFF);
	/* extended config space through ECAM */
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 0x100), 4), 0);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 0xFFC), 4), 0);
	/* bus 1 is not decoded at all */
	assert_int_equal(bus_rd(&c->mmio, LAYOUT_ECAM_START + LAYOUT_ECAM_BUS0_SIZE, 4), 0xFFFFFFFF);
	/* QWord and unaligned accesses are refused */
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 0), 8), UINT64_MAX);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 1), 2), 0xFFFF);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, 2), 4), 0xFFFFFFFF);
	bus_wr(&c->mmio, ecam(5, 0, PCI_COMMAND), 0xFFFFFFFFFFFFFFFFULL, 8);
	bus_wr(&c->mmio, ecam(5, 0, PCI_COMMAND - 1), 0xFFFF, 2);
	assert_int_equal(bus_rd(&c->mmio, ecam(5, 0, PCI_COMMAND), 2), 0);
	/* writes land */
	bus_wr(&c->mmio, ecam(5, 0, PCI_INTERRUPT_LINE), 0x33, 1);
	assert_int_equal(conf1_rd(c, 5, PCI_INTERRUPT_LINE, 1), 0x33);
	/* offsets past bus 0 given straight to the entry point */
	v = 0;
	pci_host__ecam(c->host, LAYOUT_ECAM_BUS0_SIZE, &v, 4, false);
	assert_int_equal(v, 0xFFFFFFFF);
	pci_host__ecam(c->host, UINT64_MAX - 1, &v, 2, true);
	pci_host__ecam(c->host, 0, &v, 0, false);
}

/* ---- slots, allocation, INTx ------------------------------------------------------------ */

static void test_plug_slots(void **state)
{
	struct ctx *c = *state;
	struct tdev *more = calloc(30, sizeof(*more));
	struct mv_err err = { "" };
	unsigned int fitted = 0;
	int s, slot[30];
	uint64_t a0;

	assert_non_null(more);
	assert_non_null(pci_host__slot(c->host, 0)); /* the bridge */
	assert_null(pci_host__slot(c->host, 32));
	assert_int_equal(pci_host__plug(c->host, &c->dev[0].pci, 0, &err), -EINVAL);
	assert_int_equal(pci_host__plug(c->host, &c->dev[0].pci, 32, &err), -EINVAL);
	assert_int_equal(pci_host__plug(c->host, &c->dev[0].pci, 7, &err), 7);
	assert_ptr_equal(pci_host__slot(c->host, 7), &c->dev[0].pci);
	assert_int_equal(pci_host__plug(c->host, &c->dev[0].pci, 8, &err), -EBUSY); /* twice */
	assert_int_equal(pci_host__plug(c->host, &c->dev[1].pci, 7, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "tdev0"));
	/* the 640 MiB 32-bit window holds ten 64 MiB BARs, no more */
	for (unsigned int i = 0; i < 30; i++) {
		tdev_init(&more[i], "more", 1);
		assert_int_equal(pci__add_bar(&more[i].pci, 0, 64 * MiB, PCI_BAR_PREFETCH), 0);
		s = pci_host__plug(c->host, &more[i].pci, -1, &err);
		fitted += s > 0;
		if (s < 0) {
			assert_int_equal(s, -ENOSPC);
			assert_non_null(strstr(err.msg, "no room"));
			assert_false(more[i].pci.attached);
		}
	}
	assert_int_equal(fitted, 10);
	for (unsigned int i = 0; i < 30; i++) {
		pci_host__unplug(c->host, &more[i].pci);
		pci__fini(&more[i].pci);
	}
	/* every slot free again: 30 devices without BARs take all but 7 */
	for (unsigned int i = 0; i < 30; i++) {
		tdev_init(&more[i], "more", 1);
		slot[i] = pci_host__plug(c->host, &more[i].pci, -1, &err);
		assert_true(slot[i] >= 1 && slot[i] < 32 && slot[i] != 7);
	}
	assert_int_equal(pci_host__plug(c->host, &c->dev[1].pci, -1, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "slots"));
	pci_host__unplug(c->host, &more[12].pci);
	assert_null(pci_host__slot(c->host, (unsigned int)slot[12]));
	assert_int_equal(pci__add_bar(&c->dev[1].pci, 0, 4096, 0), 0);
	assert_int_equal(pci_host__plug(c->host, &c->dev[1].pci, -1, &err), slot[12]);
	a0 = pci__bar_addr(&c->dev[1].pci, 0);
	pci_host__unplug(c->host, &c->dev[1].pci);
	assert_int_equal(pci_host__plug(c->host, &c->dev[1].pci, slot[12], &err), slot[12]);
	assert_int_equal(pci__bar_addr(&c->dev[1].pci, 0), a0); /* the range came back */
	for (unsigned int i = 0; i < 30; i++) {
		pci_host__unplug(c->host, &more[i].pci);
		pci__fini(&more[i].pci);
	}
	free(more);
}

static void test_bar_allocation(void **state)
{
	struct ctx *c = *state;
	struct tdev *t = &c->dev[0], *u = &c->dev[1];
	struct mv_err err = { "" };

	assert_int_equal(pci__add_bar(&t->pci, 0, 16, 0), 0);
	assert_int_equal(pci__add_bar(&t->pci, 1, 4, PCI_BAR_IO), 0);
	assert_int_equal(pci__add_bar(&t->pci, 2, 16 * GiB, PCI_BAR_64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci__add_bar(&t->pci, 4, 1 * MiB, PCI_BAR_64), 0);
	assert_int_equal(pci_host__plug(c->host, &t->pci, -1, &err), 1);
	assert_int_equal(pci__bar_addr(&t->pci, 0), LAYOUT_PCI_MMIO32_START);
	assert_int_equal(pci__bar_addr(&t->pci, 1), LAYOUT_PCI_IO_START);
	assert_int_equal(pci__bar_addr(&t->pci, 2), MMIO64_START);
	assert_int_equal(pci__bar_addr(&t->pci, 4), MMIO64_START + 16 * GiB);
	assert_int_equal(conf1_rd(c, 1, PCI_BAR0 + 12, 4), (uint32_t)(MMIO64_START >> 32));
	/* a 64-bit BAR larger than the 64-bit window falls back to... nothing
	 * (the 32-bit window is smaller still): the plug fails cleanly */
	assert_int_equal(pci__add_bar(&u->pci, 0, 64 * GiB, PCI_BAR_64), 0);
	assert_int_equal(pci_host__plug(c->host, &u->pci, -1, &err), -ENOSPC);
	assert_false(u->pci.attached);
	assert_null(pci_host__slot(c->host, 2));
}

static void test_intx(void **state)
{
	struct ctx *c = *state;
	struct tdev *a = &c->dev[0], *b = &c->dev[1], *n = &c->dev[2];
	unsigned int gsi = pci_host__intx_gsi(1, 1);

	/* the swizzle the _PRT describes */
	assert_int_equal(pci_host__intx_gsi(0, 1), 16);
	assert_int_equal(pci_host__intx_gsi(1, 1), 17);
	assert_int_equal(pci_host__intx_gsi(1, 4), 20);
	assert_int_equal(pci_host__intx_gsi(7, 2), 16);
	assert_int_equal(pci_host__intx_gsi(31, 4), 18);
	pci__fini(&n->pci);
	tdev_init(n, "nopin", 0);
	assert_int_equal(pci_host__plug(c->host, &a->pci, 1, NULL), 1);
	assert_int_equal(pci_host__plug(c->host, &b->pci, 9, NULL), 9); /* same GSI as slot 1 */
	assert_int_equal(pci_host__plug(c->host, &n->pci, 2, NULL), 2);
	assert_int_equal(conf1_rd(c, 1, PCI_INTERRUPT_LINE, 1), gsi);
	assert_int_equal(conf1_rd(c, 9, PCI_INTERRUPT_LINE, 1), gsi);
	pci__set_intx(&a->pci, 1);
	assert_int_equal(c->irq.level[gsi], 1);
	assert_true(conf1_rd(c, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_false(conf1_rd(c, 9, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci__set_intx(&b->pci, 1);
	pci__set_intx(&a->pci, 0);
	assert_int_equal(c->irq.level[gsi], 1); /* b still holds it */
	pci__set_intx(&b->pci, 1);              /* repeated: no change */
	pci__set_intx(&b->pci, 0);
	assert_int_equal(c->irq.level[gsi], 0);
	/* Interrupt Disable masks the line but not the status bit */
	conf1_wr(c, 1, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	pci__set_intx(&a->pci, 1);
	assert_int_equal(c->irq.level[gsi], 0);
	assert_true(conf1_rd(c, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	conf1_wr(c, 1, PCI_COMMAND, 0, 2);
	assert_int_equal(c->irq.level[gsi], 1);
	/* unplugging an asserting device drops its share of the line */
	pci_host__unplug(c->host, &a->pci);
	assert_int_equal(c->irq.level[gsi], 0);
	/* a device without a pin never touches a line */
	pci__set_intx(&n->pci, 1);
	for (unsigned int g = 0; g < LAYOUT_IOAPIC_PINS; g++)
		assert_int_equal(c->irq.level[g], 0);
}

/* ---- the allocator ------------------------------------------------------------------------ */

static void test_alloc(void **state)
{
	struct mv_pci_alloc a;
	uint64_t x, y, z;

	pci_alloc__init(&a, 0x1000, 0x10000);
	assert_int_equal(pci_alloc__get(&a, 0, &x), -EINVAL);
	assert_int_equal(pci_alloc__get(&a, 0x3000, &x), -EINVAL);
	assert_int_equal(pci_alloc__get(&a, 0x100, &x), 0);
	assert_int_equal(x, 0x1000);
	assert_int_equal(pci_alloc__get(&a, 0x1000, &y), 0);
	assert_int_equal(y, 0x2000);                        /* aligned past x */
	assert_int_equal(pci_alloc__get(&a, 0x100, &z), 0);
	assert_int_equal(z, 0x1100);                        /* first fit: the gap */
	assert_int_equal(pci_alloc__get(&a, 0x8000, &z), 0);
	assert_int_equal(z, 0x8000);
	assert_int_equal(pci_alloc__get(&a, 0x8000, &z), -ENOSPC);
	assert_int_equal(pci_alloc__get(&a, 1ULL << 63, &z), -ENOSPC);
	assert_int_equal(pci_alloc__put(&a, 0x2000), 0);
	assert_int_equal(pci_alloc__put(&a, 0x2000), -ENOENT);
	assert_int_equal(pci_alloc__get(&a, 0x2000, &z), 0);
	assert_int_equal(z, 0x2000);
	/* a window at the top of the address space: no wrap */
	pci_alloc__init(&a, UINT64_MAX - 0xFFFF, UINT64_MAX);
	assert_int_equal(pci_alloc__get(&a, 0x10000, &z), -ENOSPC);
	assert_int_equal(pci_alloc__get(&a, 0x1000, &z), 0);
	assert_int_equal(z, UINT64_MAX - 0xFFFF);
	assert_int_equal(pci_alloc__get(&a, 1ULL << 63, &z), -ENOSPC);
	/* the table is bounded */
	pci_alloc__init(&a, 0, 1ULL << 40);
	for (unsigned int i = 0; i < PCI_ALLOC_MAX; i++)
		assert_int_equal(pci_alloc__get(&a, 16, &z), 0);
	assert_int_equal(pci_alloc__get(&a, 16, &z), -ENOSPC);
}

/* ---- a hostile guest hammering config space --------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_random_config(void **state)
{
	static const uint32_t lens[] = { 1, 2, 4, 8, 3, 0 };
	struct ctx *c = *state;
	struct tdev *t = &c->dev[0];

	assert_int_equal(pci__add_bar(&t->pci, 0, 4096, 0), 0);
	assert_int_equal(pci__add_bar(&t->pci, 1, 16, PCI_BAR_IO), 0);
	assert_int_equal(pci__add_bar(&t->pci, 2, 2 * MiB, PCI_BAR_64), 0);
	assert_int_equal(pci_host__plug(c->host, &t->pci, 1, NULL), 1);
	for (unsigned int i = 0; i < 200000; i++) {
		uint64_t r = rnd(), v = rnd();
		uint32_t len = lens[r % ARRAY_SIZE(lens)];
		bool wr = r & 0x100;

		if (len == 0 || len == 3)
			len = 1 + (unsigned int)(r >> 9) % 8;
		switch ((r >> 12) % 4) {
		case 0: /* CONFIG_ADDRESS: mostly slot 1 and the bridge */
			v = cf8(0, (r >> 20) & 1, 0, (unsigned int)v) | (v & 0x7F000000 & -(r >> 40 & 1));
			bus_wr(&c->pio, PCI_CONFIG_ADDRESS, v, 4);
			break;
		case 1:
			iobus__access(&c->pio, PCI_CONFIG_ADDRESS + (r >> 16) % 8, &v, len, wr);
			break;
		case 2:
			iobus__access(&c->mmio, LAYOUT_ECAM_START + ((r >> 16) & 0xFFFF) % 0x10000, &v, len, wr);
			break;
		default: /* wherever the BARs are now */
			iobus__access(&c->mmio, pci__bar_addr(&t->pci, (r >> 16) % 2 ? 0 : 2) + (v & 0x1FFF), &v, len, wr);
			break;
		}
	}
	/* still answering */
	assert_int_equal(conf1_rd(c, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(conf1_rd(c, 1, PCI_VENDOR_ID, 4), 0x10421af4);
}

/* A vCPU reading a BAR while another moves and disables it through ECAM
 * (whose access holds the MMIO bus): no deadlock, and every read returns
 * either the device's value or all ones. */
struct hammer {
	struct ctx *c;
	uint64_t addr;
	atomic_bool stop;
	atomic_ulong hits, misses;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(&h->stop)) {
		uint32_t v = (uint32_t)bus_rd(&h->c->mmio, h->addr + 8, 4);

		if (v == 0x8)
			atomic_fetch_add(&h->hits, 1);
		else if (v == 0xFFFFFFFF)
			atomic_fetch_add(&h->misses, 1);
		else
			fail_msg("read 0x%x", v);
	}
	return NULL;
}

static void test_concurrent_remap(void **state)
{
	struct ctx *c = *state;
	struct tdev *t = &c->dev[0];
	struct hammer h = { .c = c };
	pthread_t th[1];
	uint32_t base;

	assert_int_equal(pci__add_bar(&t->pci, 0, 4096, 0), 0);
	assert_int_equal(pci_host__plug(c->host, &t->pci, 1, NULL), 1);
	h.addr = pci__bar_addr(&t->pci, 0);
	base = (uint32_t)h.addr;
	for (unsigned int i = 0; i < ARRAY_SIZE(th); i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h), 0);
	/* at least 20000 config writes and 1000 reads racing them (bounded) */
	for (unsigned int i = 0; i < 20000 || (atomic_load(&h.hits) + atomic_load(&h.misses) < 1000 && i < 20000000);
	     i++) {
		bus_wr(&c->mmio, ecam(1, 0, PCI_COMMAND), i % 2 ? PCI_COMMAND_MEMORY : 0, 2);
		if (i % 7 == 0) /* away and back */
			bus_wr(&c->mmio, ecam(1, 0, PCI_BAR0), i % 14 ? base + 0x10000 : base, 4);
	}
	atomic_store(&h.stop, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(th); i++)
		pthread_join(th[i], NULL);
	assert_true(atomic_load(&h.hits) + atomic_load(&h.misses) >= 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_status_w1c),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_cfg_bad_accesses),
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_bar_add_errors),
		cmocka_unit_test_setup_teardown(test_bar_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cf8_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_allocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_control, setup, teardown),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test_setup_teardown(test_random_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_remap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
