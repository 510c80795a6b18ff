/* ACPI Generic Event Device (ACPI 6.x, 5.6.9): how a hardware-reduced
 * platform signals events to the guest's OSPM. moonvisor has no fixed power
 * button (FADT HW_REDUCED), so the power button is a GED event.
 *
 * Hardware: one 32-bit event register at LAYOUT_GED_MMIO and one interrupt
 * line (LAYOUT_IRQ_GED, level triggered, active high).
 *   ged__raise ORs event bits into the pending set and raises the line.
 *   A guest read returns the pending bits it covers and clears them (a
 *     4-byte read acknowledges every event); the line drops once nothing
 *     is pending. Writes are ignored.
 *
 * Guest side (ged__dsdt_hook, inside \_SB_): Device (GED0), _HID "ACPI0013",
 * whose _EVT reads the register (GDAT) and, for GED_EVENT_POWER_BUTTON,
 * does Notify (\_SB_.PWRB, 0x80) on Device (PWRB), _HID PNP0C0C, the
 * control-method power button Linux's ACPI button driver turns into
 * KEY_POWER; with params.pci_hotplug, for GED_EVENT_PCI_HOTPLUG it calls
 * \_SB_.PCI0.PCNT (devices/pci/pcihp.h).
 *
 * Threads: ged__raise on any thread, register reads on vCPU threads; the
 * device serialises them with its own lock, and calls irq->ops->set_level
 * with it held (so level changes reach the irqchip in order). */
#ifndef MV_DEVICES_PLATFORM_GED_H
#define MV_DEVICES_PLATFORM_GED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"
#include "core/irq.h"
#include "core/x86/aml.h"

/* Bits of the event register, shared by every GED user. Each new user
 * takes the next free bit and adds its test to _EVT in ged__dsdt_hook
 * (planned: PCI hotplug, memory hotplug, CPU hotplug). */
#define GED_EVENT_POWER_BUTTON (1u << 0)
/* PCI hotplug (devices/pci/pcihp.h): _EVT calls \_SB_.PCI0.PCNT, which
 * reads the controller's slots-up/slots-down bitmaps and notifies the
 * slots. Only emitted with params.pci_hotplug. */
#define GED_EVENT_PCI_HOTPLUG (1u << 1)

struct mv_ged_params {
	struct mv_irq irq;
	unsigned int gsi;   /* LAYOUT_IRQ_GED on the PC */
	bool pci_hotplug;   /* the DSDT has \_SB_.PCI0.PCNT (pcihp__dsdt_hook) */
};

struct mv_ged;

/* Allocates the device and registers [LAYOUT_GED_MMIO, +LAYOUT_GED_MMIO_SIZE)
 * on mmio. */
int ged__create(struct mv_iobus *mmio, const struct mv_ged_params *p, struct mv_ged **out,
		struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void ged__destroy(struct mv_ged *g);
/* Any thread: makes event_bits pending and raises the interrupt. */
void ged__raise(struct mv_ged *g, uint32_t event_bits);
/* struct mv_acpi_dsdt_hook build function; opaque is the struct mv_ged. */
void ged__dsdt_hook(struct mv_aml *aml, void *opaque);

#endif
