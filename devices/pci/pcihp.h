/* ACPI PCI hotplug controller: how slots of the PCI host bridge (bus 0)
 * are plugged and unplugged while the guest runs, the scheme Cloud
 * Hypervisor uses, which the stock Linux acpiphp driver (built into the
 * Debian kernels) handles with no guest configuration.
 *
 * Hardware: three 32-bit registers at LAYOUT_PCIHP_MMIO, bit n = slot n:
 *   0x0 PCIU  slots-up: slots that got a device. A read returns the bits
 *             and clears them.
 *   0x4 PCID  slots-down: slots whose device the host wants removed (an
 *             eject request). Read returns and clears.
 *   0x8 B0EJ  eject: the guest writes the bit of a slot it has released;
 *             the host then tears the device down (params.eject). Reads 0.
 *   0xC       reserved: reads 0, writes ignored.
 * Only aligned 4-byte accesses do anything; others read as 0.
 * pcihp__slot_up / pcihp__slot_down set the bits; the caller then raises
 * GED_EVENT_PCI_HOTPLUG on the GED (devices/platform/ged.h), whose _EVT
 * calls \_SB_.PCI0.PCNT.
 *
 * Guest side (pcihp__dsdt_hook, inside \_SB_, after PCI0 exists):
 *   Device (PHPR): _HID PNP0A06, _STA 0x0B, the registers as fields PCIU,
 *     PCID, B0EJ of OperationRegion PCST (SystemMemory), Mutex BLCK, and
 *     Method (PCEJ, 1): B0EJ = 1 << Arg0 under BLCK.
 *   Scope (\_SB_.PCI0):
 *     Device (Snnn) for slots 1-31 (nnn: the slot, decimal): _SUN = n,
 *       _ADR = n << 16, Method (_EJ0, 1) { \_SB_.PHPR.PCEJ (_SUN) }.
 *       acpiphp registers one hotplug slot per such device (it has _ADR
 *       and _EJ0).
 *     Method (DVNT, 2): for each slot n with bit n set in Arg0,
 *       Notify (Snnn, Arg1).
 *     Method (PCNT): DVNT (PCIU, 1) (device check: acpiphp rescans the
 *       slot and binds the new function); DVNT (PCID, 3) (eject request:
 *       acpiphp unbinds the driver, removes the function and calls _EJ0).
 *
 * Threads: register accesses on vCPU threads, slot_up/slot_down on the
 * loop thread; a lock serialises them. params.eject runs on the vCPU
 * thread that wrote B0EJ, without the lock: it must only hand the bitmap
 * over (e.g. loop__post), never tear a device down there. */
#ifndef MV_DEVICES_PCI_PCIHP_H
#define MV_DEVICES_PCI_PCIHP_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"
#include "core/x86/aml.h"

#define PCIHP_REG_UP 0x0
#define PCIHP_REG_DOWN 0x4
#define PCIHP_REG_EJECT 0x8
#define PCIHP_MMIO_SIZE 0x10
#define PCIHP_SLOTS 32

struct mv_pcihp_params {
	/* vCPU thread: the guest ejected the slots in `slots` (bit n = slot n;
	 * slot 0, the host bridge, is never passed). */
	void (*eject)(void *opaque, uint32_t slots);
	void *opaque;
	uint64_t base;       /* LAYOUT_PCIHP_MMIO on the PC */
};

struct mv_pcihp;

/* Allocates the controller and registers its registers on mmio. */
int pcihp__create(struct mv_iobus *mmio, const struct mv_pcihp_params *p, struct mv_pcihp **out,
		  struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void pcihp__destroy(struct mv_pcihp *hp);
/* Any thread: slot (1-31) got a device / should be ejected. */
void pcihp__slot_up(struct mv_pcihp *hp, unsigned int slot);
void pcihp__slot_down(struct mv_pcihp *hp, unsigned int slot);
/* For tests: a register access as the guest makes it. */
void pcihp__access(struct mv_pcihp *hp, uint64_t off, void *data, uint32_t len, bool is_write);
/* struct mv_acpi_dsdt_hook build function; opaque is the struct mv_pcihp. */
void pcihp__dsdt_hook(struct mv_aml *aml, void *opaque);

#endif
