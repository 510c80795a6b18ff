/* The PCI host bridge in ACPI: MCFG (PCI Firmware 3.2, 4.1.2) and, inside
 * \_SB_, the root bridge PCI0 and the motherboard resource that reserves
 * its ECAM (Linux uses MMCONFIG only when the range is reserved in e820
 * or by a PNP0C01/PNP0C02 device). */
#include <errno.h>

#include "core/x86/layout.h"
#include "devices/pci/host.h"

/* _OSC control bits (PCI Firmware 3.2, 4.5.1) */
#define OSC_NATIVE_HOTPLUG 0x01
#define OSC_CONTROL_ALL 0x1F        /* hotplug, SHPC, PME, AER, PCIe capability */
#define OSC_UNKNOWN_UUID 0x04
#define OSC_UNKNOWN_REVISION 0x08
#define OSC_CAPS_MASKED 0x10

/* ToUUID ("33DB4D5B-1FF7-401C-9657-7441C03DD766"): PCI host bridge _OSC */
static const uint8_t osc_uuid[16] = {
	0x5B, 0x4D, 0xDB, 0x33, 0xF7, 0x1F, 0x1C, 0x40, 0x96, 0x57, 0x74, 0x41, 0xC0, 0x3D, 0xD7, 0x66,
};

void pci_host__mcfg_hook(struct mv_aml *out, void *opaque)
{
	size_t at = aml__table_begin(out, "MCFG", 1);

	aml__u64(out, 0);                  /* reserved */
	aml__u64(out, LAYOUT_ECAM_START);  /* base of bus 0 */
	aml__u16(out, 0);                  /* PCI segment group */
	aml__u8(out, 0);                   /* start bus */
	aml__u8(out, (uint8_t)(LAYOUT_ECAM_BUS0_SIZE / MiB - 1)); /* end bus: 0 */
	aml__u32(out, 0);                  /* reserved */
	aml__table_end(out, at);
}

static void dsdt_crs(struct mv_aml *a, const struct mv_pci_host *h)
{
	uint64_t start64, end64;
	size_t crs;

	pci_host__mmio64_window(h, &start64, &end64);
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_bus(a, 0, 0);
	aml__res_io(a, PCI_CONFIG_ADDRESS, 8);
	aml__res_io_range(a, LAYOUT_PCI_IO_START, LAYOUT_PCI_IO_END - 1);
	aml__res_mem(a, LAYOUT_PCI_MMIO32_START, LAYOUT_PCI_MMIO32_END - LAYOUT_PCI_MMIO32_START, AML_MEM_RW);
	if (end64 > start64)
		aml__res_mem(a, start64, end64 - start64, AML_MEM_RW | AML_MEM_CACHEABLE);
	aml__restemplate_end(a, crs);
}

/* Name (_PRT, Package { Package { slot << 16 | 0xFFFF, pin, Zero, GSI }, ... })
 * for pins INTA-INTD (0-3) of every slot. */
static void dsdt_prt(struct mv_aml *a)
{
	size_t prt, e;

	aml__name(a, "_PRT");
	prt = aml__package_begin(a, PCI_HOST_SLOTS * 4);
	for (unsigned int slot = 0; slot < PCI_HOST_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			e = aml__package_begin(a, 4);
			aml__int(a, (uint64_t)slot << 16 | 0xFFFF);
			aml__int(a, pin);
			aml__zero(a); /* Source: a global interrupt, no link device */
			aml__int(a, pci_host__intx_gsi(slot, pin + 1));
			aml__package_end(a, e);
		}
	}
	aml__package_end(a, prt);
}

/* CDW1 |= bits */
static void cdw1_or(struct mv_aml *a, unsigned int bits)
{
	aml__or(a);
	aml__path(a, "CDW1");
	aml__int(a, bits);
	aml__path(a, "CDW1");
}

/* If (Arg0 == the PCI host UUID): grant OSC_CONTROL_ALL but native hotplug
 * (hotplug will be ACPI's), flagging a revision other than 1 and any bit
 * taken away; else: unknown UUID. */
static void dsdt_osc(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "_OSC", 4, false), i, i2, el, buf;

	aml__create_dword_field(a);
	aml__arg(a, 3);
	aml__zero(a);
	aml__path(a, "CDW1");
	i = aml__if_begin(a);
	aml__lequal(a);
	aml__arg(a, 0);
	buf = aml__buffer_begin(a);
	aml__raw(a, osc_uuid, sizeof(osc_uuid));
	aml__buffer_end(a, buf);
	aml__create_dword_field(a);
	aml__arg(a, 3);
	aml__int(a, 8);
	aml__path(a, "CDW3");
	aml__and(a);                         /* Local0 = CDW3 & granted */
	aml__path(a, "CDW3");
	aml__int(a, OSC_CONTROL_ALL & ~OSC_NATIVE_HOTPLUG);
	aml__local(a, 0);
	i2 = aml__if_begin(a);               /* If (Arg1 != 1) */
	aml__lnot(a);
	aml__lequal(a);
	aml__arg(a, 1);
	aml__one(a);
	cdw1_or(a, OSC_UNKNOWN_REVISION);
	aml__if_end(a, i2);
	i2 = aml__if_begin(a);               /* If (CDW3 != Local0) */
	aml__lnot(a);
	aml__lequal(a);
	aml__path(a, "CDW3");
	aml__local(a, 0);
	cdw1_or(a, OSC_CAPS_MASKED);
	aml__if_end(a, i2);
	aml__store(a);
	aml__local(a, 0);
	aml__path(a, "CDW3");
	aml__if_end(a, i);
	el = aml__else_begin(a);
	cdw1_or(a, OSC_UNKNOWN_UUID);
	aml__else_end(a, el);
	aml__return(a);
	aml__arg(a, 3);
	aml__method_end(a, m);
}

static void dsdt_pci0(struct mv_aml *a, const struct mv_pci_host *h)
{
	size_t dev = aml__device_begin(a, "PCI0");

	aml__name_eisaid(a, "_HID", "PNP0A08");
	aml__name_eisaid(a, "_CID", "PNP0A03");
	aml__name_int(a, "_UID", 0);
	aml__name_int(a, "_SEG", 0);
	aml__name_int(a, "_BBN", 0);
	dsdt_crs(a, h);
	dsdt_prt(a);
	dsdt_osc(a);
	aml__device_end(a, dev);
}

/* Device (MRES): motherboard resources, the ECAM of bus 0. */
static void dsdt_mres(struct mv_aml *a)
{
	size_t dev = aml__device_begin(a, "MRES"), crs;

	aml__name_eisaid(a, "_HID", "PNP0C02");
	aml__name_int(a, "_UID", 0);
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_mem32_fixed(a, (uint32_t)LAYOUT_ECAM_START, (uint32_t)LAYOUT_ECAM_BUS0_SIZE, true);
	aml__restemplate_end(a, crs);
	aml__device_end(a, dev);
}

void pci_host__dsdt_hook(struct mv_aml *aml, void *opaque)
{
	const struct mv_pci_host *h = opaque;

	if (!h) {
		aml__fail(aml, -EINVAL);
		return;
	}
	dsdt_pci0(aml, h);
	dsdt_mres(aml);
}
