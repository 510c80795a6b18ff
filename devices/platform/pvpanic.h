/* pvpanic, ISA flavour (QEMU's pvpanic-isa): how a guest tells the host it
 * panicked. Chosen over the PCI variant (1b36:0011) because it needs no PCI
 * bus: one I/O port described by an ACPI device with _HID "QEMU0001", which
 * Debian's pvpanic-mmio driver binds to (despite its name, it takes an I/O
 * port resource as well as MMIO).
 *
 * Hardware: one byte at PVPANIC_PORT (0x505).
 *   Read:  the events the device supports, PVPANIC_PANICKED |
 *          PVPANIC_CRASH_LOADED (0x3). Linux keeps only the bits it reads
 *          back, so a device reading 0 would never report anything.
 *   Write: bit 0 = the guest panicked, bit 1 = it panicked with a crash
 *          kernel loaded (kdump will run). Other bits are ignored; a write
 *          with neither bit is ignored. Each write that has one reaches the
 *          `event` callback on the writing vCPU's thread.
 *
 * Guest side (pvpanic__dsdt_hook, inside \_SB_): Device (PEVT) with
 * _HID "QEMU0001", _CRS IO (Decode16, 0x505, 0x505, 1, 1) and _STA 0xF,
 * as QEMU describes it. */
#ifndef MV_DEVICES_PLATFORM_PVPANIC_H
#define MV_DEVICES_PLATFORM_PVPANIC_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"
#include "core/x86/aml.h"

#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)
#define PVPANIC_EVENTS (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct mv_pvpanic_params {
	/* vCPU thread: events is PVPANIC_PANICKED and/or PVPANIC_CRASH_LOADED */
	void (*event)(void *opaque, uint8_t events);
	void *opaque;
};

struct mv_pvpanic;

/* Allocates the device and registers port PVPANIC_PORT on pio. */
int pvpanic__create(struct mv_iobus *pio, const struct mv_pvpanic_params *p, struct mv_pvpanic **out,
		    struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void pvpanic__destroy(struct mv_pvpanic *d);
/* struct mv_acpi_dsdt_hook build function; opaque is the struct mv_pvpanic. */
void pvpanic__dsdt_hook(struct mv_aml *aml, void *opaque);

#endif
