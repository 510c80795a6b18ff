/* ACPI hardware-reduced sleep and reset registers (the FADT's
 * SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG), three 8-bit ports
 * registered as one 3-byte range at LAYOUT_PORT_ACPI_SLEEP_CTL:
 *   SLEEP_CONTROL (LAYOUT_PORT_ACPI_SLEEP_CTL): a write with SLP_EN (0x20) set
 *     and SLP_TYP (bits 2-4) == LAYOUT_ACPI_S5_TYPE powers off; other sleep
 *     types are logged and ignored. Reads 0.
 *   SLEEP_STATUS (LAYOUT_PORT_ACPI_SLEEP_STS): reads 0, writes ignored.
 *   RESET (LAYOUT_PORT_ACPI_RESET): writing LAYOUT_ACPI_RESET_VALUE resets;
 *     other values are ignored. Reads 0.
 * Wider accesses are split into bytes. The device has no mutable state, so it
 * takes no lock; callbacks may run on several vCPU threads at once. */
#ifndef MV_DEVICES_LEGACY_ACPI_PM_H
#define MV_DEVICES_LEGACY_ACPI_PM_H

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"

#define ACPI_PM_NR_PORTS 3
#define ACPI_PM_SLP_EN 0x20
#define ACPI_PM_SLP_TYP(v) (((v) >> 2) & 7)

struct mv_acpi_pm_params {
	/* Called on a vCPU thread, once per request, with no lock held: they
	 * must only post the request to the VMM and return. Either may be NULL
	 * (the request is then ignored). */
	void (*poweroff)(void *opaque);
	void (*reset)(void *opaque);
	void *opaque;
};

struct mv_acpi_pm;

/* Allocates the device and registers its ports on pio. */
int acpi_pm__create(struct mv_iobus *pio, const struct mv_acpi_pm_params *p, struct mv_acpi_pm **out,
		    struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void acpi_pm__destroy(struct mv_acpi_pm *pm);

#endif
