/* The x86_64 guest physical address map. One place for every fixed address. */
#ifndef MV_X86_LAYOUT_H
#define MV_X86_LAYOUT_H

#include "core/compiler.h"

/* Low memory used during boot (all below 1 MiB, inside RAM). */
#define LAYOUT_BOOT_GDT        0x0500ULL   /* GDT for the 64-bit/PVH entry */
#define LAYOUT_PVH_INFO        0x6000ULL   /* hvm_start_info + memmap (PVH) */
#define LAYOUT_ZERO_PAGE       0x7000ULL   /* struct boot_params */
#define LAYOUT_PML4            0x9000ULL   /* identity page tables: PML4, PDPTE at +0x1000, PDEs at +0x2000.. (4 pages) */
#define LAYOUT_PAGETABLE_END   0xE000ULL
#define LAYOUT_CMDLINE         0x20000ULL
#define LAYOUT_CMDLINE_MAX     0x10000ULL  /* 64 KiB incl. NUL */
#define LAYOUT_EBDA_START      0x9FC00ULL  /* [EBDA, 1 MiB) reserved in e820 */
#define LAYOUT_ACPI_START      0xE0000ULL  /* RSDP and tables: [0xE0000, 0x100000) */
#define LAYOUT_ACPI_END        0x100000ULL
#define LAYOUT_HIMEM_START     0x100000ULL /* protected-mode kernel load address */

/* 32-bit MMIO hole: [3 GiB, 4 GiB). RAM above 3 GiB continues at 4 GiB. */
#define LAYOUT_MMIO_HOLE_START 0xC0000000ULL
#define LAYOUT_MMIO_HOLE_END   0x100000000ULL
#define LAYOUT_PCI_MMIO32_START 0xC0000000ULL  /* PCI 32-bit BAR window */
#define LAYOUT_PCI_MMIO32_END   0xE8000000ULL
#define LAYOUT_ECAM_START      0xE8000000ULL   /* PCIe ECAM, 256 buses x 1 MiB */
#define LAYOUT_ECAM_SIZE       0x10000000ULL
/* Only bus 0 is backed (MCFG: bus 0-0); that MiB is reserved in e820 and as
 * an ACPI motherboard resource (PNP0C02), as Linux wants before using it. */
#define LAYOUT_ECAM_BUS0_SIZE  0x100000ULL
#define LAYOUT_PLATFORM_MMIO   0xFE000000ULL   /* platform devices (GED, hotplug ctl) */
#define LAYOUT_GED_MMIO        LAYOUT_PLATFORM_MMIO /* ACPI GED event register */
#define LAYOUT_GED_MMIO_SIZE   4ULL
#define LAYOUT_PCIHP_MMIO      (LAYOUT_PLATFORM_MMIO + 0x10) /* PCI hotplug controller, 16 bytes */
#define LAYOUT_IOAPIC          0xFEC00000ULL
#define LAYOUT_LAPIC           0xFEE00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xFEFFC000ULL  /* KVM_SET_IDENTITY_MAP_ADDR, 1 page */
#define LAYOUT_KVM_TSS         0xFEFFD000ULL   /* KVM_SET_TSS_ADDR, 3 pages */

/* Port I/O */
#define LAYOUT_PORT_COM1       0x3F8
#define LAYOUT_IRQ_COM1        4
#define LAYOUT_PORT_I8042      0x60        /* 0x60 data, 0x64 command/status */
#define LAYOUT_PORT_RTC        0x70        /* 0x70 index, 0x71 data */
#define LAYOUT_IRQ_RTC         8
/* ACPI Generic Event Device: level, active high (its _CRS says so; Linux
 * reprograms the pin for the first user). 5 is a free ISA pin: COM1 uses 4,
 * the RTC 8, the SCI 9, the i8042 1, the PIT 0 (GSI 2). */
#define LAYOUT_IRQ_GED         5
#define LAYOUT_PORT_ACPI_SLEEP_CTL  0x600  /* FADT SLEEP_CONTROL_REG, 8 bit */
#define LAYOUT_PORT_ACPI_SLEEP_STS  0x601  /* FADT SLEEP_STATUS_REG, 8 bit */
#define LAYOUT_PORT_ACPI_RESET      0x602  /* FADT RESET_REG, 8 bit */
#define LAYOUT_ACPI_RESET_VALUE     0x01
#define LAYOUT_ACPI_S5_TYPE         5      /* \_S5_ sleep type; poweroff writes (5 << 2) | 0x20 */

#define LAYOUT_IOAPIC_PINS     24

/* PCI I/O BAR window (ports): I/O BARs are assigned and decoded only here. */
#define LAYOUT_PCI_IO_START    0xC000
#define LAYOUT_PCI_IO_END      0x10000
/* PCI INTx: the _PRT swizzles slot s, pin p (0 = INTA) to GSI
 * LAYOUT_PCI_GSI_BASE + (s + p) % LAYOUT_PCI_GSI_COUNT: IOAPIC pins 16-23,
 * which no ISA device uses. Level triggered, active low (what a _PRT entry
 * with Source 0 means); KVM's IOAPIC ignores polarity, KVM_IRQ_LINE 1 is
 * "asserted". */
#define LAYOUT_PCI_GSI_BASE    16
#define LAYOUT_PCI_GSI_COUNT   8
/* MSI routes take GSIs from here up (0-23 are the irqchip pins). */
#define LAYOUT_MSI_GSI_BASE    LAYOUT_IOAPIC_PINS

/* PCI 64-bit BAR window: 64 GiB at the first 256 GiB boundary at or above
 * mem_end (the end of RAM, and later of any hotplug memory area). With up
 * to 252 GiB of RAM that is [256 GiB, 320 GiB): a fixed address, below
 * 2^39 so that every x86_64 CPU's physical address width (39 bits on
 * client parts, 40 in QEMU TCG, 46+ on servers) reaches it; bigger guests
 * get it higher. */
/* virtio-mem's hotplug region: above RAM and above 4 GiB (never across the
 * 32-bit hole), aligned to 128 MiB (Linux's x86 memory block size). It is
 * not RAM in e820; the PCI 64-bit window below starts above its end. */
#define LAYOUT_HOTPLUG_ALIGN   (128 * MiB)
static inline uint64_t layout__hotplug_start(uint64_t ram_end)
{
	return ALIGN_UP(MAX(ram_end, LAYOUT_MMIO_HOLE_END), LAYOUT_HOTPLUG_ALIGN);
}

#define LAYOUT_PCI_MMIO64_ALIGN (256 * GiB)
#define LAYOUT_PCI_MMIO64_SIZE  (64 * GiB)
static inline uint64_t layout__pci_mmio64_start(uint64_t mem_end)
{
	return ALIGN_UP(MAX(mem_end, LAYOUT_MMIO_HOLE_END), LAYOUT_PCI_MMIO64_ALIGN);
}

#endif
