/* FADT and MADT for a hardware-reduced x86 platform (ACPI 6.x sections
 * 5.2.9 and 5.2.12). */
#include "core/x86/acpi_tables.h"

#include <stddef.h>
#include <string.h>

#include "core/x86/layout.h"

/* KVM's in-kernel IOAPIC resets its ID register to 0; the MADT matches it.
 * IOAPIC and local APIC IDs no longer share a bus, so 0 does not collide
 * with CPU 0. */
#define ACPI_IOAPIC_ID 0

struct acpi_gas {
	uint8_t space_id;     /* 0 SystemMemory, 1 SystemIO */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;  /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));

/* FADT after the 36-byte header (ACPI 6.x table 5.9). */
struct acpi_fadt_body {
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
	uint8_t gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

_Static_assert(AML_TABLE_HEADER_LEN + sizeof(struct acpi_fadt_body) == 276, "FADT is 276 bytes");

_Static_assert(AML_TABLE_HEADER_LEN + offsetof(struct acpi_fadt_body, x_dsdt) == ACPI_FADT_X_DSDT,
	       "FADT X_DSDT offset");

#define FADT_PWR_BUTTON (1u << 4)  /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)  /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define FADT_BOOT_8042 (1u << 1)
#define FADT_BOOT_NO_VGA (1u << 2)

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_INT_OVERRIDE 2
#define MADT_LAPIC_NMI 4
#define MADT_X2APIC 9
#define MADT_X2APIC_NMI 10
#define MADT_PCAT_COMPAT 1u
#define MADT_ENABLED 1u
#define MADT_EDGE_HIGH 0x0005  /* MPS INTI flags: edge-triggered, active-high */
#define MADT_LEVEL_HIGH 0x000D /* level-triggered, active-high */
#define MADT_MAX_XAPIC_ID 254  /* 0xFF is the broadcast ID: from 255 on, x2APIC entries */

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){ .space_id = 1, .bit_width = 8, .access_size = 1, .address = port };
}

size_t acpi_tables__fadt(struct mv_aml *img)
{
	struct acpi_fadt_body f = {
		.sci_int = ACPI_SCI_IRQ,
		.iapc_boot_arch = FADT_BOOT_8042 | FADT_BOOT_NO_VGA,
		.flags = FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP | FADT_PWR_BUTTON | FADT_SLP_BUTTON,
		.reset_reg = gas_io8(LAYOUT_PORT_ACPI_RESET),
		.reset_value = LAYOUT_ACPI_RESET_VALUE,
		.minor_version = 5, /* ACPI 6.5 */
		.sleep_control_reg = gas_io8(LAYOUT_PORT_ACPI_SLEEP_CTL),
		.sleep_status_reg = gas_io8(LAYOUT_PORT_ACPI_SLEEP_STS),
	};
	size_t at = aml__table_begin(img, "FACP", 6);

	memcpy(f.hypervisor_vendor_id, "MOONVISR", 8);
	aml__raw(img, &f, sizeof(f));
	aml__table_end(img, at);
	return at;
}

/* --- MADT --- */

uint64_t acpi_tables__madt_size(unsigned int ncpus)
{
	uint64_t n_xapic = MIN(ncpus, MADT_MAX_XAPIC_ID + 1u), n_x2apic = ncpus - n_xapic;

	return AML_TABLE_HEADER_LEN + 8 + 8 * n_xapic + 16 * n_x2apic + 12 + 2 * 10 + 6 + (n_x2apic ? 12 : 0);
}

static void madt_cpu(struct mv_aml *img, uint32_t id)
{
	if (id <= MADT_MAX_XAPIC_ID) {
		aml__u8(img, MADT_LAPIC);
		aml__u8(img, 8);
		aml__u8(img, (uint8_t)id); /* ACPI processor UID */
		aml__u8(img, (uint8_t)id); /* APIC ID */
		aml__u32(img, MADT_ENABLED);
		return;
	}
	aml__u8(img, MADT_X2APIC);
	aml__u8(img, 16);
	aml__u16(img, 0);
	aml__u32(img, id); /* x2APIC ID */
	aml__u32(img, MADT_ENABLED);
	aml__u32(img, id); /* ACPI processor UID */
}

static void madt_override(struct mv_aml *img, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	aml__u8(img, MADT_INT_OVERRIDE);
	aml__u8(img, 10);
	aml__u8(img, 0); /* bus: ISA */
	aml__u8(img, irq);
	aml__u32(img, gsi);
	aml__u16(img, flags);
}

static void madt_nmi(struct mv_aml *img, bool x2apic)
{
	if (!x2apic) {
		aml__u8(img, MADT_LAPIC_NMI);
		aml__u8(img, 6);
		aml__u8(img, 0xFF); /* all processors */
		aml__u16(img, MADT_EDGE_HIGH);
		aml__u8(img, 1); /* LINT1 */
		return;
	}
	aml__u8(img, MADT_X2APIC_NMI);
	aml__u8(img, 12);
	aml__u16(img, MADT_EDGE_HIGH);
	aml__u32(img, UINT32_MAX); /* all processors */
	aml__u8(img, 1); /* LINT1 */
	aml__raw(img, "\0\0\0", 3);
}

size_t acpi_tables__madt(struct mv_aml *img, unsigned int ncpus)
{
	size_t at = aml__table_begin(img, "APIC", 5);
	unsigned int i;

	aml__u32(img, (uint32_t)LAYOUT_LAPIC);
	aml__u32(img, MADT_PCAT_COMPAT);
	for (i = 0; i < ncpus; i++)
		madt_cpu(img, i);
	aml__u8(img, MADT_IOAPIC);
	aml__u8(img, 12);
	aml__u8(img, ACPI_IOAPIC_ID);
	aml__u8(img, 0);
	aml__u32(img, (uint32_t)LAYOUT_IOAPIC);
	aml__u32(img, 0); /* GSI base */
	madt_override(img, 0, 2, MADT_EDGE_HIGH);
	madt_override(img, ACPI_SCI_IRQ, ACPI_SCI_IRQ, MADT_LEVEL_HIGH);
	madt_nmi(img, false);
	if (ncpus > MADT_MAX_XAPIC_ID + 1u)
		madt_nmi(img, true);
	aml__table_end(img, at);
	return at;
}

