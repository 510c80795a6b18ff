/* ACPI tables for the guest: RSDP, XSDT, FADT (hardware-reduced), MADT,
 * DSDT, and any extra tables devices add (MCFG, ...). Built into guest
 * memory at [LAYOUT_ACPI_START, LAYOUT_ACPI_END). */
#ifndef MV_X86_ACPI_H
#define MV_X86_ACPI_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"
#include "core/x86/aml.h"

/* A device's contribution to the DSDT: called inside \_SB_ scope. */
struct mv_acpi_dsdt_hook {
	void (*build)(struct mv_aml *aml, void *opaque);
	void *opaque;
};

/* A whole extra table (e.g. MCFG): build appends a complete table with
 * header to `out` (checksum is fixed by acpi__build). */
struct mv_acpi_table_hook {
	void (*build)(struct mv_aml *out, void *opaque);
	void *opaque;
};

struct mv_acpi_config {
	unsigned int ncpus;     /* MADT local APIC entries, APIC IDs 0..ncpus-1 */
	const struct mv_acpi_dsdt_hook *dsdt_hooks;
	unsigned int ndsdt_hooks;
	const struct mv_acpi_table_hook *table_hooks;
	unsigned int ntable_hooks;
};

/* Builds every table into guest memory and returns the RSDP address.
 * -ENOSPC (with message) if the tables do not fit in the ACPI area. */
int acpi__build(struct mv_guestmem *mem, const struct mv_acpi_config *cfg, uint64_t *rsdp_gpa,
		struct mv_err *err) MV_MUST_CHECK;

/* Helpers also used by table hooks and tests. */
uint8_t acpi__checksum(const void *data, uint64_t len);

#endif
