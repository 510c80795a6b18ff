/* libFuzzer target: the PCI host bridge (0xCF8/0xCFC, ECAM, BAR windows)
 * with one device that has a 32-bit BAR holding an MSI-X table and PBA, an
 * I/O BAR and a 64-bit BAR, driven by a hostile guest.
 *
 * Build and run:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -I. tests/fuzz/pci_fuzz.c \
 *     devices/pci/{pci,msix,host,host_acpi,alloc}.c core/x86/aml*.c core/{iobus,err,log}.c \
 *     -lpthread -o /tmp/pci_fuzz
 *   mkdir -p /tmp/pci_corpus && /tmp/pci_fuzz -max_total_time=60 /tmp/pci_corpus tests/fuzz/corpus/pci
 *
 * The input is a sequence of records, each starting with an op byte; bits
 * 0-1 give the size (1/2/4/8), bit 2 says write, op >> 6 the target:
 *   0: CONFIG_ADDRESS: the next 4 bytes (bit 31 forced on if op bit 3);
 *   1: port 0xCF8 + (op >> 3 & 7);
 *   2: ECAM at the next 3 bytes (the 1 MiB of bus 0 and beyond);
 *   3: MMIO: BAR (op >> 3 & 3: 0, 2 or the I/O BAR) + the next 2 bytes.
 * A write then takes its value from the next `size` bytes (zero padded).
 * Invariants: INTx reports only level changes on GSIs 16-23; the router
 * sees binds only for routed GSIs, unbinds only of bound ones, deletes
 * only of unbound ones; everything is unregistered at the end. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/log.h"
#include "core/x86/layout.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"

#define MAX_GSI 64

struct fuzz {
	struct mv_iobus pio, mmio;
	struct mv_pci_host *host;
	struct mv_pci_dev dev;
	struct mv_msix *msix;
	int level[LAYOUT_IOAPIC_PINS];
	bool routed[MAX_GSI];
	int bound[MAX_GSI];
};

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void set_level(void *opaque, unsigned int gsi, int level)
{
	struct fuzz *f = opaque;

	check(gsi >= LAYOUT_PCI_GSI_BASE && gsi < LAYOUT_PCI_GSI_BASE + LAYOUT_PCI_GSI_COUNT);
	check((level == 0 || level == 1) && f->level[gsi] != level);
	f->level[gsi] = level;
}

static const struct mv_irq_ops irq_ops = { .set_level = set_level };

static int r_add(void *opaque, const struct mv_msi_msg *msg, unsigned int *gsi)
{
	struct fuzz *f = opaque;

	for (unsigned int g = LAYOUT_MSI_GSI_BASE; g < MAX_GSI; g++) {
		if (!f->routed[g]) {
			f->routed[g] = true;
			*gsi = g;
			return 0;
		}
	}
	return -28; /* ENOSPC */
}

static int r_update(void *opaque, unsigned int gsi, const struct mv_msi_msg *msg)
{
	struct fuzz *f = opaque;

	check(gsi < MAX_GSI && f->routed[gsi]);
	return 0;
}

static void r_del(void *opaque, unsigned int gsi)
{
	struct fuzz *f = opaque;

	check(gsi < MAX_GSI && f->routed[gsi] && f->bound[gsi] < 0);
	f->routed[gsi] = false;
}

static int r_bind(void *opaque, unsigned int gsi, int fd)
{
	struct fuzz *f = opaque;

	check(gsi < MAX_GSI && f->routed[gsi] && f->bound[gsi] < 0 && fd >= 0);
	f->bound[gsi] = fd;
	return 0;
}

static int r_unbind(void *opaque, unsigned int gsi, int fd)
{
	struct fuzz *f = opaque;

	check(gsi < MAX_GSI && f->bound[gsi] == fd);
	f->bound[gsi] = -1;
	return 0;
}

static const struct mv_msi_router_ops router_ops = {
	.route_add = r_add, .route_update = r_update, .route_del = r_del,
	.irqfd_bind = r_bind, .irqfd_unbind = r_unbind,
};

static void bar_read(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	check(bar < PCI_NUM_BARS && len >= 1 && len <= 8 && off + len <= dev->bars[bar].size);
	memset(data, 0x11, len);
	pci__set_intx(dev, (int)(off & 1)); /* let the guest drive INTx too */
}

static void bar_write(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, const void *data, uint32_t len)
{
	check(bar < PCI_NUM_BARS && len >= 1 && len <= 8 && off + len <= dev->bars[bar].size);
	if (off == 0 && ((const uint8_t *)data)[0] < 8)
		(void)msix__notify(((struct fuzz *)dev->opaque)->msix, ((const uint8_t *)data)[0]);
}

static const struct mv_pci_dev_ops dev_ops = { .bar_read = bar_read, .bar_write = bar_write };

static int create(struct fuzz *f)
{
	const struct mv_pci_id id = { .vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000, .intx_pin = 1 };
	struct mv_pci_host_params hp = {
		.pio = &f->pio, .mmio = &f->mmio, .irq = { &irq_ops, f },
		.mmio64_start = 256 * GiB, .mmio64_size = 64 * GiB,
	};
	struct mv_msix_params mp = {
		.nvectors = 8, .table_bar = 0, .table_off = 0, .pba_bar = 0, .pba_off = 0x800,
		.router = { &router_ops, f },
	};

	for (unsigned int g = 0; g < MAX_GSI; g++)
		f->bound[g] = -1;
	iobus__init(&f->pio, "pio");
	iobus__init(&f->mmio, "mmio");
	pci__init(&f->dev, &id, &dev_ops, f, "fuzzdev");
	if (pci_host__create(&hp, &f->host, NULL) < 0 || pci__add_bar(&f->dev, 0, 4096, 0) < 0 ||
	    pci__add_bar(&f->dev, 1, 32, PCI_BAR_IO) < 0 || pci__add_bar(&f->dev, 2, 1 * MiB, PCI_BAR_64) < 0 ||
	    msix__create(&f->dev, &mp, &f->msix, NULL) < 0 || pci_host__plug(f->host, &f->dev, 1, NULL) != 1)
		return -1;
	return 0;
}

static void destroy(struct fuzz *f)
{
	pci_host__unplug(f->host, &f->dev);
	msix__destroy(f->msix);
	pci__fini(&f->dev);
	pci_host__destroy(f->host);
	check(f->pio.nranges == 0 && f->mmio.nranges == 0);
	for (unsigned int g = 0; g < MAX_GSI; g++)
		check(!f->routed[g] && f->bound[g] < 0);
	iobus__destroy(&f->pio);
	iobus__destroy(&f->mmio);
}

static void take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
	size_t avail = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(out, 0, n);
	memcpy(out, *p, avail);
	*p += avail;
}

static void step(struct fuzz *f, uint8_t op, const uint8_t **p, const uint8_t *end)
{
	static const unsigned int bars[] = { 0, 2, 1, 0 };
	uint32_t len = 1u << (op & 3), a32 = 0;
	bool is_write = op & 4;
	struct mv_iobus *bus = &f->mmio;
	uint8_t data[8];
	uint16_t off = 0;
	uint64_t addr;

	switch (op >> 6) {
	case 0:
		take(p, end, &a32, 4);
		a32 |= op & 8 ? 0x80000000u : 0;
		iobus__access(&f->pio, PCI_CONFIG_ADDRESS, &a32, 4, true);
		return;
	case 1:
		bus = &f->pio;
		addr = PCI_CONFIG_ADDRESS + (op >> 3 & 7);
		break;
	case 2:
		take(p, end, &a32, 3);
		addr = LAYOUT_ECAM_START + a32;
		break;
	default:
		take(p, end, &off, 2);
		if (bars[op >> 3 & 3] == 1)
			bus = &f->pio;
		addr = pci__bar_addr(&f->dev, bars[op >> 3 & 3]) + off;
		break;
	}
	if (is_write)
		take(p, end, data, len);
	else
		memset(data, 0xA5, sizeof(data));
	iobus__access(bus, addr, data, len, is_write);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__set_level(MV_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct fuzz *f = calloc(1, sizeof(*f));

	check(f != NULL);
	check(create(f) == 0);
	while (p < end)
		step(f, *p++, &p, end);
	destroy(f);
	free(f);
	return 0;
}
