/* Boot structures in low guest memory: GDT, identity page tables, the
 * Linux zero page (struct boot_params) and the PVH hvm_start_info.
 * Private to core/x86/ boot code. */
#ifndef MV_X86_BOOTMEM_H
#define MV_X86_BOOTMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"
#include "core/x86/boot.h"
#include "core/x86/layout.h"

#define BOOT_GDT_CODE64  0x00af9b000000ffffULL  /* L=1, execute/read, accessed */
#define BOOT_GDT_CODE32  0x00cf9b000000ffffULL  /* D=1, 4 GiB flat */
#define BOOT_GDT_DATA    0x00cf93000000ffffULL
#define BOOT_GDT_TSS     0x008f8b000000ffffULL  /* busy 32-bit TSS */
#define BOOT_GDT_ENTRIES 5
#define BOOT_SEL_CODE    0x10
#define BOOT_SEL_DATA    0x18
#define BOOT_SEL_TSS     0x20

#define PTE_PRESENT      0x1ULL
#define PTE_RW           0x2ULL
#define PTE_PS           0x80ULL   /* 2 MiB page in a PD entry */
#define BOOT_PDPT        (LAYOUT_PML4 + 0x1000)
#define BOOT_PD          (LAYOUT_PML4 + 0x2000)
#define BOOT_PD_ENTRIES  512       /* 512 x 2 MiB = the first 1 GiB */
#define BOOT_IDENTITY_MAP_END (BOOT_PD_ENTRIES * 2 * MiB)

/* hvm_start_info (Xen public/arch-x86/hvm/start_info.h), version 1, at
 * LAYOUT_PVH_INFO; the module list and memory map follow in that page. */
#define PVH_MAGIC            0x336ec578u
#define PVH_VERSION          1
#define PVH_INFO_SIZE        56
#define PVH_MODLIST_OFFSET   0x40
#define PVH_MODLIST_ENTRY    32
#define PVH_MEMMAP_OFFSET    (PVH_MODLIST_OFFSET + PVH_MODLIST_ENTRY)
#define PVH_MEMMAP_ENTRY     24
#define PVH_OFF_MAGIC        0
#define PVH_OFF_VERSION      4
#define PVH_OFF_NR_MODULES   12
#define PVH_OFF_MODLIST      16
#define PVH_OFF_CMDLINE      24
#define PVH_OFF_RSDP         32
#define PVH_OFF_MEMMAP       40
#define PVH_OFF_MEMMAP_N     48

/* What the kernel is told, for either boot structure. */
struct mv_boot_info {
	const uint8_t *setup_hdr;     /* bzImage: header bytes from HDR_START, else NULL */
	unsigned int setup_hdr_len;
	bool rsdp_supported;          /* kernel reads boot_params.acpi_rsdp_addr */
	uint64_t cmdline_gpa;
	uint64_t initrd_gpa, initrd_size;   /* size 0: none */
	uint64_t rsdp;                /* 0: none */
	const struct mv_e820_entry *e820;
	unsigned int ne820;
};

/* GDT at LAYOUT_BOOT_GDT for entry->mode; fills entry's gdt and selectors. */
int bootmem__gdt(const struct mv_guestmem *mem, struct mv_boot_entry *entry, struct mv_err *err) MV_MUST_CHECK;
/* Identity map of the first 1 GiB at LAYOUT_PML4; sets entry->cr3. */
int bootmem__page_tables(const struct mv_guestmem *mem, struct mv_boot_entry *entry, struct mv_err *err)
	MV_MUST_CHECK;
/* struct boot_params at LAYOUT_ZERO_PAGE. */
int bootmem__zero_page(const struct mv_guestmem *mem, const struct mv_boot_info *bi, struct mv_err *err)
	MV_MUST_CHECK;
/* hvm_start_info + modlist + memmap at LAYOUT_PVH_INFO. */
int bootmem__pvh_info(const struct mv_guestmem *mem, const struct mv_boot_info *bi, struct mv_err *err)
	MV_MUST_CHECK;

#endif
