/* GDT, identity page tables, zero page and hvm_start_info in guest memory.
 * Each structure is assembled in a host buffer and written with one
 * range-checked guestmem__write. */
#include "core/x86/bootmem.h"

#include <errno.h>
#include <string.h>

#include "core/x86/bootparams.h"

_Static_assert(PVH_INFO_SIZE <= PVH_MODLIST_OFFSET, "modlist after hvm_start_info");
_Static_assert(PVH_MEMMAP_OFFSET + MV_E820_MAX * PVH_MEMMAP_ENTRY <= 0x1000, "PVH memmap fits its page");
_Static_assert(LAYOUT_PVH_INFO + 0x1000 <= LAYOUT_ZERO_PAGE, "PVH page below the zero page");
_Static_assert(BOOT_PD + 0x1000 <= LAYOUT_PAGETABLE_END, "page tables fit their area");
_Static_assert(MV_E820_MAX <= BP_E820_TABLE_MAX, "e820 map fits boot_params");
_Static_assert(sizeof(struct mv_e820_entry) == 20, "boot_params e820 entry is 20 bytes");

static void put16(uint8_t *p, unsigned int off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put32(uint8_t *p, unsigned int off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, unsigned int off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static int write_guest(const struct mv_guestmem *mem, uint64_t gpa, const void *src, uint64_t len,
		       const char *what, struct mv_err *err)
{
	if (guestmem__write(mem, gpa, src, len) < 0)
		return err__set(err, -EFAULT, "%s at 0x%llx (0x%llx bytes) is not in guest RAM", what,
				(unsigned long long)gpa, (unsigned long long)len);
	return 0;
}

int bootmem__gdt(const struct mv_guestmem *mem, struct mv_boot_entry *entry, struct mv_err *err)
{
	const uint64_t gdt[BOOT_GDT_ENTRIES] = {
		0, 0,
		entry->mode == MV_ENTRY_LONG64 ? BOOT_GDT_CODE64 : BOOT_GDT_CODE32,
		BOOT_GDT_DATA,
		BOOT_GDT_TSS,
	};

	entry->gdt_base = LAYOUT_BOOT_GDT;
	entry->gdt_limit = sizeof(gdt) - 1;
	entry->code_sel = BOOT_SEL_CODE;
	entry->data_sel = BOOT_SEL_DATA;
	entry->tss_sel = BOOT_SEL_TSS;
	return write_guest(mem, LAYOUT_BOOT_GDT, gdt, sizeof(gdt), "boot GDT", err);
}

int bootmem__page_tables(const struct mv_guestmem *mem, struct mv_boot_entry *entry, struct mv_err *err)
{
	const uint64_t len = BOOT_PD + 0x1000 - LAYOUT_PML4, flags = PTE_PRESENT | PTE_RW;
	uint8_t *p = guestmem__range(mem, LAYOUT_PML4, len);

	if (!p)
		return err__set(err, -EFAULT, "boot page tables at 0x%llx (0x%llx bytes) are not in guest RAM",
				(unsigned long long)LAYOUT_PML4, (unsigned long long)len);
	memset(p, 0, len);
	put64(p, 0, BOOT_PDPT | flags);
	put64(p, BOOT_PDPT - LAYOUT_PML4, BOOT_PD | flags);
	for (unsigned int i = 0; i < BOOT_PD_ENTRIES; i++)
		put64(p, BOOT_PD - LAYOUT_PML4 + i * 8, (uint64_t)i * 2 * MiB | flags | PTE_PS);
	entry->cr3 = LAYOUT_PML4;
	return 0;
}

static void put_e820(uint8_t *zp, const struct mv_boot_info *bi)
{
	zp[BP_E820_ENTRIES] = (uint8_t)bi->ne820;
	memcpy(zp + BP_E820_TABLE, bi->e820, bi->ne820 * sizeof(*bi->e820));
}

static void put_setup_hdr(uint8_t *zp, const struct mv_boot_info *bi)
{
	if (bi->setup_hdr) {
		memcpy(zp + HDR_START, bi->setup_hdr, MIN(bi->setup_hdr_len, BP_SIZE - HDR_START));
		put64(zp, HDR_SETUP_DATA, 0);   /* we pass no setup_data list */
	} else {
		put16(zp, HDR_BOOT_FLAG, HDR_BOOT_FLAG_VALUE);
		put32(zp, HDR_MAGIC, HDR_MAGIC_VALUE);
	}
	zp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	put16(zp, HDR_HEAP_END_PTR, HEAP_END_PTR_VALUE);
}

int bootmem__zero_page(const struct mv_guestmem *mem, const struct mv_boot_info *bi, struct mv_err *err)
{
	uint8_t zp[BP_SIZE];

	if (bi->ne820 > BP_E820_TABLE_MAX)
		return err__set(err, -E2BIG, "%u e820 entries, the zero page holds %u", bi->ne820, BP_E820_TABLE_MAX);
	memset(zp, 0, sizeof(zp));
	put_setup_hdr(zp, bi);
	put32(zp, HDR_CMD_LINE_PTR, (uint32_t)bi->cmdline_gpa);
	put32(zp, BP_EXT_CMD_LINE_PTR, (uint32_t)(bi->cmdline_gpa >> 32));
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)bi->initrd_gpa);
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)bi->initrd_size);
	put32(zp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(bi->initrd_gpa >> 32));
	put32(zp, BP_EXT_RAMDISK_SIZE, (uint32_t)(bi->initrd_size >> 32));
	if (bi->rsdp_supported && bi->rsdp)
		put64(zp, BP_ACPI_RSDP_ADDR, bi->rsdp);
	put_e820(zp, bi);
	return write_guest(mem, LAYOUT_ZERO_PAGE, zp, sizeof(zp), "zero page", err);
}

static void put_memmap(uint8_t *page, const struct mv_boot_info *bi)
{
	for (unsigned int i = 0; i < bi->ne820; i++) {
		unsigned int off = PVH_MEMMAP_OFFSET + i * PVH_MEMMAP_ENTRY;
		put64(page, off, bi->e820[i].addr);
		put64(page, off + 8, bi->e820[i].size);
		put32(page, off + 16, bi->e820[i].type);
	}
	put64(page, PVH_OFF_MEMMAP, LAYOUT_PVH_INFO + PVH_MEMMAP_OFFSET);
	put32(page, PVH_OFF_MEMMAP_N, bi->ne820);
}

int bootmem__pvh_info(const struct mv_guestmem *mem, const struct mv_boot_info *bi, struct mv_err *err)
{
	uint8_t page[0x1000];

	if (bi->ne820 > MV_E820_MAX)
		return err__set(err, -E2BIG, "%u e820 entries, the PVH memmap holds %u", bi->ne820, MV_E820_MAX);
	memset(page, 0, sizeof(page));
	put32(page, PVH_OFF_MAGIC, PVH_MAGIC);
	put32(page, PVH_OFF_VERSION, PVH_VERSION);
	put64(page, PVH_OFF_CMDLINE, bi->cmdline_gpa);
	put64(page, PVH_OFF_RSDP, bi->rsdp);
	if (bi->initrd_size) {
		put32(page, PVH_OFF_NR_MODULES, 1);
		put64(page, PVH_OFF_MODLIST, LAYOUT_PVH_INFO + PVH_MODLIST_OFFSET);
		put64(page, PVH_MODLIST_OFFSET, bi->initrd_gpa);
		put64(page, PVH_MODLIST_OFFSET + 8, bi->initrd_size);
	}
	put_memmap(page, bi);
	return write_guest(mem, LAYOUT_PVH_INFO, page, sizeof(page), "PVH start info", err);
}
