/* Internal to core/x86/acpi*.c: the fixed tables, each appended to the
 * image being built; they return the table's offset in it. */
#ifndef MV_X86_ACPI_TABLES_H
#define MV_X86_ACPI_TABLES_H

#include <stdint.h>

#include "core/x86/aml.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are built with host-endian structs");

/* The FADT's SCI_INT is ignored on a hardware-reduced platform, but Linux
 * compares every MADT interrupt source override with it: left at 0, the
 * IRQ0 -> GSI2 override would be taken for an SCI override. Declare the
 * conventional PC SCI (ISA IRQ 9, level, active-high) instead. */
#define ACPI_SCI_IRQ 9
/* Offset of X_DSDT in the FADT: patched once the DSDT is placed. */
#define ACPI_FADT_X_DSDT 140

size_t acpi_tables__fadt(struct mv_aml *img);
uint64_t acpi_tables__madt_size(unsigned int ncpus);
size_t acpi_tables__madt(struct mv_aml *img, unsigned int ncpus);

#endif
