/* The e820 memory map handed to the guest (boot_params and PVH memmap). */
#include <errno.h>

#include "core/x86/boot.h"
#include "core/x86/layout.h"

_Static_assert(LAYOUT_ACPI_START >= LAYOUT_EBDA_START && LAYOUT_ACPI_END <= LAYOUT_HIMEM_START,
	       "the ACPI tables must lie in the reserved BIOS area");

struct e820_buf {
	struct mv_e820_entry *out;
	unsigned int n, max;
};

static int add(struct e820_buf *b, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (b->n >= b->max)
		return -E2BIG;
	b->out[b->n++] = (struct mv_e820_entry){ .addr = addr, .size = size, .type = type };
	return 0;
}

/* A RAM region minus the legacy hole [EBDA, 1 MiB). */
static int add_ram(struct e820_buf *b, uint64_t start, uint64_t end)
{
	int ret;

	if (end <= LAYOUT_EBDA_START || start >= LAYOUT_HIMEM_START)
		return add(b, start, end - start, MV_E820_RAM);
	ret = add(b, start, start < LAYOUT_EBDA_START ? LAYOUT_EBDA_START - start : 0, MV_E820_RAM);
	if (!ret && end > LAYOUT_HIMEM_START)
		ret = add(b, LAYOUT_HIMEM_START, end - LAYOUT_HIMEM_START, MV_E820_RAM);
	return ret;
}

static void sort(struct mv_e820_entry *e, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		struct mv_e820_entry x = e[i];
		unsigned int j = i;

		for (; j > 0 && e[j - 1].addr > x.addr; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

int e820__build(const struct mv_guestmem *mem, const struct mv_e820_reserved *reserved, unsigned int nreserved,
		struct mv_e820_entry *out, unsigned int max)
{
	struct e820_buf b = { out, 0, max };
	unsigned int i;
	int ret;

	/* The BIOS area holds the ACPI tables [LAYOUT_ACPI_START, LAYOUT_ACPI_END). */
	ret = add(&b, LAYOUT_EBDA_START, LAYOUT_HIMEM_START - LAYOUT_EBDA_START, MV_E820_RESERVED);
	for (i = 0; i < mem->nregions && !ret; i++) {
		const struct mv_memregion *r = &mem->regions[i];
		if (r->hotplug)
			continue; /* virtio-mem's: the guest learns of it from the device */
		ret = add_ram(&b, r->gpa, r->gpa + r->size);
	}
	for (i = 0; i < nreserved && !ret; i++) {
		if (reserved[i].addr + reserved[i].size < reserved[i].addr)
			return -EINVAL;
		ret = add(&b, reserved[i].addr, reserved[i].size, MV_E820_RESERVED);
	}
	if (ret < 0)
		return ret;
	sort(out, b.n);
	return (int)b.n;
}
