/* The PCIe host bridge: PCI segment 0, bus 0, 32 device slots.
 *
 * Slot 0 holds the bridge itself (1b36:0008 "QEMU PCIe host bridge", class
 * 0x0600, no BARs); pci_host__plug puts devices in slots 1-31 and can
 * take them out again (hotplug later).
 *
 * Config space (function 0 of each slot; other functions and buses read
 * as absent, all ones):
 *   - port I/O: CONFIG_ADDRESS at 0xCF8 (32-bit accesses only: bit 31
 *     enable, bus 23:16, device 15:11, function 10:8, register 7:2; bits
 *     30:24 are ignored, as on Intel chipsets) and CONFIG_DATA at
 *     0xCFC-0xCFF (1, 2 or 4 bytes);
 *   - ECAM: [LAYOUT_ECAM_START, +LAYOUT_ECAM_BUS0_SIZE), bus 0 only,
 *     offset = device << 15 | function << 12 | register, for all 4 KiB.
 *
 * Port 0xCF9 (byte accesses) is the chipsets' reset control register: a
 * write with RST_CPU (bit 2) set calls params.reset (Linux's reboot=pci);
 * SYS_RST and FULL_RST (bits 1, 3) read back, other bits read 0.
 *
 * BARs: the host registers its windows on the VM's buses (the 32-bit MMIO
 * window LAYOUT_PCI_MMIO32_*, the 64-bit window given in the params, the
 * I/O window LAYOUT_PCI_IO_*) and forwards accesses inside them to its own
 * buses, where the devices' BARs are mapped and unmapped. So a config
 * write that moves a BAR never touches the bus lock of the access that
 * carried it (CFC on the port bus, ECAM on the MMIO bus). A BAR the guest
 * places outside the windows, or over another BAR, is not mapped; after
 * every config write that touches a command register or BAR, all devices
 * retry, so a BAR maps as soon as the range it wants is free.
 *
 * Plugging assigns BAR addresses the way firmware would (first fit; 64-bit
 * BARs in the 64-bit window, others in the 32-bit or I/O window) and
 * leaves decoding off for the guest to enable.
 *
 * INTx: slot s, pin p (1 = INTA#) raises GSI LAYOUT_PCI_GSI_BASE +
 * (s + p - 1) % LAYOUT_PCI_GSI_COUNT, the _PRT's swizzle; a GSI shared by
 * several devices is high while any of them asserts it.
 *
 * Threads: config accesses (vCPU threads) and plug/unplug (loop thread)
 * take the host's lock; BAR accesses only the buses' read locks. */
#ifndef MV_DEVICES_PCI_HOST_H
#define MV_DEVICES_PCI_HOST_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"
#include "core/irq.h"
#include "core/irqroute.h"
#include "core/x86/aml.h"
#include "devices/pci/pci.h"

#define PCI_HOST_SLOTS 32
#define PCI_HOST_VENDOR 0x1b36  /* Red Hat, Inc. */
#define PCI_HOST_DEVICE 0x0008  /* QEMU PCIe host bridge */

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_RESET_CONTROL 0xCF9
#define PCI_RCR_SYS_RST  0x02
#define PCI_RCR_RST_CPU  0x04
#define PCI_RCR_FULL_RST 0x08

struct mv_pci_host_params {
	struct mv_iobus *pio, *mmio;
	struct mv_irq irq;           /* INTx: the irqchip's GSIs */
	uint64_t mmio64_start, mmio64_size; /* the 64-bit BAR window */
	struct mv_msi_router router; /* handed to devices for MSI-X */
	/* A reset through port 0xCF9: called on a vCPU thread without the
	 * host's lock; it must only post the request. May be NULL. */
	void (*reset)(void *opaque);
	void *opaque;
};

struct mv_pci_host;

int pci_host__create(const struct mv_pci_host_params *p, struct mv_pci_host **out,
		     struct mv_err *err) MV_MUST_CHECK;
/* Unplugs every device, unregisters everything; NULL is ignored. */
void pci_host__destroy(struct mv_pci_host *h);

/* Plugs dev (pci__init'ed, BARs and capabilities added) into `slot`
 * (1-31) or, with slot < 0, the lowest free one; returns the slot.
 * -EBUSY (slot taken), -ENOSPC (no slot, or no room for a BAR). */
int pci_host__plug(struct mv_pci_host *h, struct mv_pci_dev *dev, int slot, struct mv_err *err) MV_MUST_CHECK;
/* Unmaps its BARs, drops its INTx, frees its slot and BAR ranges. */
void pci_host__unplug(struct mv_pci_host *h, struct mv_pci_dev *dev);
/* The device in a slot, NULL if none (slot 0: the bridge). */
struct mv_pci_dev *pci_host__slot(struct mv_pci_host *h, unsigned int slot);
struct mv_msi_router pci_host__msi_router(const struct mv_pci_host *h);
/* The GSI a slot's pin (1-4) raises. */
unsigned int pci_host__intx_gsi(unsigned int slot, unsigned int pin);

/* Config accesses as the guest makes them (exposed for tests and fuzzing):
 * CONFIG_ADDRESS/DATA at port offset `port` (0xCF8-0xCFF), and ECAM at an
 * offset into bus 0's MiB. */
void pci_host__pio(struct mv_pci_host *h, uint16_t port, void *data, uint32_t len, bool is_write);
void pci_host__ecam(struct mv_pci_host *h, uint64_t off, void *data, uint32_t len, bool is_write);

/* ACPI (host_acpi.c): struct mv_acpi_dsdt_hook build function adding
 * \_SB_.PCI0 (PNP0A08, _CRS, _PRT, _OSC) and the motherboard resource
 * \_SB_.MRES (PNP0C02) that reserves ECAM; struct mv_acpi_table_hook build
 * function emitting the MCFG. opaque: the struct mv_pci_host. */
void pci_host__dsdt_hook(struct mv_aml *aml, void *opaque);
void pci_host__mcfg_hook(struct mv_aml *out, void *opaque);
/* The windows, for ACPI and tests: [start, end). */
void pci_host__mmio64_window(const struct mv_pci_host *h, uint64_t *start, uint64_t *end);

#endif
