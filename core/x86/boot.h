/* Loading a Linux kernel into guest memory: bzImage (boot protocol >= 2.06,
 * 64-bit entry) or ELF vmlinux (PVH note, else 64-bit entry), initrd,
 * command line, e820 map, and the GDT + identity page tables the entry
 * needs. Everything is written through guestmem__range/guestmem__write. */
#ifndef MV_X86_BOOT_H
#define MV_X86_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"

enum mv_kernel_format { MV_KERNEL_BZIMAGE = 1, MV_KERNEL_ELF };

struct mv_kernel_info {
	enum mv_kernel_format format;
	uint16_t protocol;          /* bzImage boot protocol, e.g. 0x020f */
	uint64_t initrd_addr_max;   /* highest address the initrd may end at (inclusive) */
	uint32_t cmdline_size;      /* max command line length, excluding NUL */
	bool has_pvh;               /* ELF: XEN_ELFNOTE_PHYS32_ENTRY present */
	uint64_t file_size;
};

/* How the boot vCPU must start. */
enum mv_entry_mode {
	MV_ENTRY_LONG64 = 1,   /* long mode, paging on (identity tables), RSI = zero page */
	MV_ENTRY_PVH32,        /* 32-bit protected mode, paging off, EBX = hvm_start_info */
};

struct mv_boot_entry {
	enum mv_entry_mode mode;
	uint64_t rip;
	uint64_t rsi;            /* LONG64: zero page address */
	uint64_t rbx;            /* PVH32: hvm_start_info address */
	uint64_t cr3;            /* LONG64: LAYOUT_PML4 */
	uint64_t gdt_base;       /* LAYOUT_BOOT_GDT */
	uint16_t gdt_limit;
	/* selectors in that GDT */
	uint16_t code_sel, data_sel, tss_sel;
};

/* A reserved range to put in the e820 map (besides the fixed ones). */
struct mv_e820_reserved {
	uint64_t addr, size;
};

struct mv_boot_request {
	const char *kernel_path;
	const char *initrd_path;     /* NULL: none */
	const char *cmdline;         /* NULL: empty */
	uint64_t acpi_rsdp;          /* 0: none; else stored in boot_params.acpi_rsdp_addr / start_info */
	const struct mv_e820_reserved *reserved;
	unsigned int nreserved;
	/* An LZ4 bzImage is unpacked on the host and its vmlinux entered
	 * through PVH (faster; the kernel then skips KASLR). Other kernels
	 * boot as they are. */
	bool unpack_kernel;
};

/* Reads only the headers of a kernel file. Errors name the file and what is
 * wrong ("not a Linux kernel (no bzImage or ELF header)", "ELF for machine
 * 183, need x86_64", "boot protocol 2.04 is older than 2.06", ...). */
int boot__probe_kernel(const char *path, struct mv_kernel_info *info, struct mv_err *err) MV_MUST_CHECK;

/* Loads kernel, initrd and command line into mem, builds boot_params (or
 * hvm_start_info), e820, GDT and page tables. Errors: initrd does not fit
 * below initrd_addr_max / in RAM, command line too long, ... */
int boot__load(struct mv_guestmem *mem, const struct mv_boot_request *req, struct mv_boot_entry *entry,
	       struct mv_err *err) MV_MUST_CHECK;

/* e820 entry as in boot_params. */
struct mv_e820_entry {
	uint64_t addr, size;
	uint32_t type;  /* 1 = RAM, 2 = reserved, 3 = ACPI */
} __attribute__((packed));

#define MV_E820_RAM 1
#define MV_E820_RESERVED 2
#define MV_E820_ACPI 3
#define MV_E820_MAX 128

/* RAM from mem's regions minus [EBDA, 1 MiB), plus the given reserved
 * ranges, sorted by address. Returns the number of entries or -E2BIG. */
int e820__build(const struct mv_guestmem *mem, const struct mv_e820_reserved *reserved, unsigned int nreserved,
		struct mv_e820_entry *out, unsigned int max) MV_MUST_CHECK;

#endif
