#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/x86/acpi.h"
#include "core/x86/layout.h"
#include "devices/pci/host.h"
#include "tests/unit/support/iasl.h"

#define RAM_SIZE (1 * MiB)

static uint8_t *ram;
static struct mv_guestmem mem;

static int setup(void **state)
{
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	memset(&mem, 0, sizeof(mem));
	return guestmem__add_region(&mem, 0, RAM_SIZE, ram);
}

static int teardown(void **state)
{
	free(ram);
	ram = NULL;
	return 0;
}

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* --- hooks --- */

static void test_dsdt_hook(struct mv_aml *a, void *opaque)
{
	size_t dev = aml__device_begin(a, "TEST");

	aml__name_string(a, "_HID", "MVSR0001");
	aml__name_int(a, "_UID", *(unsigned int *)opaque);
	aml__device_end(a, dev);
}

static void mcfg_hook(struct mv_aml *out, void *opaque)
{
	size_t at = aml__table_begin(out, "MCFG", 1);

	aml__u64(out, 0);
	aml__u64(out, LAYOUT_ECAM_START);
	aml__u16(out, 0);   /* segment */
	aml__u8(out, 0);    /* start bus */
	aml__u8(out, 255);  /* end bus */
	aml__u32(out, 0);
	aml__table_end(out, at);
	aml__patch(out, at + 9, "\x55", 1); /* acpi__build fixes checksums */
}

static unsigned int test_uid = 7;
static const struct mv_acpi_dsdt_hook dsdt_hooks[] = { { test_dsdt_hook, &test_uid } };
static const struct mv_acpi_table_hook table_hooks[] = { { mcfg_hook, NULL } };

static struct mv_acpi_config config(unsigned int ncpus)
{
	return (struct mv_acpi_config){
		.ncpus = ncpus,
		.dsdt_hooks = dsdt_hooks, .ndsdt_hooks = ARRAY_SIZE(dsdt_hooks),
		.table_hooks = table_hooks, .ntable_hooks = ARRAY_SIZE(table_hooks),
	};
}

/* --- iasl --- */

static void iasl_expect(const uint8_t *table, const char *const *want, size_t n)
{
	char *dsl = iasl__disassemble(table, rd32(table + 4), IASL_LEGACY);
	size_t i;

	for (i = 0; i < n; i++)
		iasl__expect_in(dsl, want[i]);
	free(dsl);
}

/* --- walking the tables --- */

static const uint8_t *area_ptr(uint64_t gpa, uint64_t len)
{
	assert_true(gpa >= LAYOUT_ACPI_START && gpa + len <= LAYOUT_ACPI_END);
	return guestmem__range(&mem, gpa, len);
}

/* The table at gpa: signature, a length inside the area, checksum, OEM ids. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = area_ptr(gpa, 36);
	uint32_t len = rd32(t + 4);

	assert_memory_equal(t, sig, 4);
	assert_true(len >= 36);
	t = area_ptr(gpa, len);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "MOONVS", 6);
	assert_memory_equal(t + 16, "MOONVISR", 8);
	assert_memory_equal(t + 28, "MVSR", 4);
	return t;
}

static const uint8_t *walk_rsdp(uint64_t rsdp_gpa)
{
	const uint8_t *r = area_ptr(rsdp_gpa, 36);

	assert_int_equal(rsdp_gpa, LAYOUT_ACPI_START);
	assert_int_equal(rsdp_gpa % 16, 0);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	assert_memory_equal(r + 9, "MOONVS", 6);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 20), 36);
	return table_at(rd64(r + 24), "XSDT");
}

/* The XSDT entry with this signature (exactly one). */
static const uint8_t *xsdt_find(const uint8_t *xsdt, const char *sig)
{
	uint32_t n = (rd32(xsdt + 4) - 36) / 8, i;
	const uint8_t *found = NULL;

	for (i = 0; i < n; i++) {
		uint64_t gpa = rd64(xsdt + 36 + 8 * i);
		if (!memcmp(area_ptr(gpa, 4), sig, 4)) {
			assert_null(found);
			found = table_at(gpa, sig);
		}
	}
	if (!found)
		fail_msg("no %s in the XSDT", sig);
	return found;
}

static void expect_gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1);  /* SystemIO */
	assert_int_equal(g[1], 8);  /* bit width */
	assert_int_equal(g[2], 0);  /* bit offset */
	assert_int_equal(g[3], 1);  /* byte access */
	assert_int_equal(rd64(g + 4), port);
}

static const uint8_t *check_fadt(const uint8_t *f)
{
	uint32_t flags = rd32(f + 112);
	uint16_t boot = rd16(f + 109);

	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(f[131], 5);                /* minor version */
	assert_true(flags & (1u << 20));            /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10));            /* RESET_REG_SUP */
	assert_true(flags & (1u << 4));             /* no fixed power button */
	assert_true(flags & (1u << 5));             /* no fixed sleep button */
	assert_true(boot & (1u << 1));              /* 8042 present */
	assert_true(boot & (1u << 2));              /* no VGA */
	assert_false(boot & (1u << 3));             /* MSI not disabled */
	assert_false(boot & (1u << 5));             /* CMOS RTC present */
	expect_gas_io8(f + 116, LAYOUT_PORT_ACPI_RESET);
	assert_int_equal(f[128], LAYOUT_ACPI_RESET_VALUE);
	expect_gas_io8(f + 244, LAYOUT_PORT_ACPI_SLEEP_CTL);
	expect_gas_io8(f + 256, LAYOUT_PORT_ACPI_SLEEP_STS);
	assert_memory_equal(f + 268, "MOONVISR", 8);
	assert_int_equal(rd32(f + 40), 0);          /* 32-bit DSDT unused: X_DSDT */
	return table_at(rd64(f + 140), "DSDT");
}

struct madt_counts {
	unsigned int lapic, x2apic, ioapic, iso, nmi, x2apic_nmi;
};

static void check_madt_entry(const uint8_t *e, struct madt_counts *c)
{
	switch (e[0]) {
	case 0:
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], c->lapic);       /* UID */
		assert_int_equal(e[3], c->lapic);       /* APIC ID */
		assert_int_equal(rd32(e + 4), 1);       /* enabled */
		c->lapic++;
		break;
	case 9:
		assert_int_equal(e[1], 16);
		assert_int_equal(rd32(e + 4), 255 + c->x2apic);
		assert_int_equal(rd32(e + 8), 1);
		assert_int_equal(rd32(e + 12), 255 + c->x2apic);
		c->x2apic++;
		break;
	case 1:
		assert_int_equal(e[1], 12);
		assert_int_equal(e[2], 0);
		assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC);
		assert_int_equal(rd32(e + 8), 0);
		c->ioapic++;
		break;
	case 2:
		assert_int_equal(e[1], 10);
		assert_int_equal(e[2], 0);
		if (e[3] == 0) {
			assert_int_equal(rd32(e + 4), 2);
			assert_int_equal(rd16(e + 8), 0x5);  /* edge, active-high */
		} else {
			assert_int_equal(e[3], 9);
			assert_int_equal(rd32(e + 4), 9);
			assert_int_equal(rd16(e + 8), 0xD);  /* level, active-high */
		}
		c->iso++;
		break;
	case 4:
		assert_int_equal(e[1], 6);
		assert_int_equal(e[2], 0xFF);
		assert_int_equal(e[5], 1);               /* LINT1 */
		c->nmi++;
		break;
	case 10:
		assert_int_equal(e[1], 12);
		assert_int_equal(rd32(e + 4), UINT32_MAX);
		assert_int_equal(e[8], 1);
		c->x2apic_nmi++;
		break;
	default:
		fail_msg("unexpected MADT entry type %u", e[0]);
	}
}

static struct madt_counts check_madt(const uint8_t *m)
{
	uint32_t len = rd32(m + 4), off = 44;
	struct madt_counts c = { 0 };

	assert_int_equal(rd32(m + 36), LAYOUT_LAPIC);
	assert_int_equal(rd32(m + 40) & 1, 1);      /* PCAT_COMPAT */
	while (off < len) {
		assert_true(off + 2 <= len && m[off + 1] >= 2 && off + m[off + 1] <= len);
		check_madt_entry(m + off, &c);
		off += m[off + 1];
	}
	assert_int_equal(off, len);
	assert_int_equal(c.ioapic, 1);
	assert_int_equal(c.iso, 2);
	assert_int_equal(c.nmi, 1);
	return c;
}

static void check_dsdt(const uint8_t *d)
{
	static const char *const want[] = {
		"DefinitionBlock (\"\", \"DSDT\", 2, \"MOONVS\", \"MOONVISR\", 0x00000001)",
		"Name (_S5, Package (0x04)",
		"Scope (\\_SB)", "Device (COM1)", "EisaId (\"PNP0501\")", "Name (_UID, Zero)",
		"Method (_STA, 0, NotSerialized)", "Return (0x0F)", "0x03F8,", "{4}",
		"Device (RTC)", "EisaId (\"PNP0B00\")", "0x0070,", "IRQ (Edge, ActiveHigh, Exclusive, )", "{8}",
		"Device (PS2K)", "EisaId (\"PNP0303\")", "0x0060,", "0x0064,", "{1}",
		"Device (TEST)", "Name (_HID, \"MVSR0001\")", "Name (_UID, 0x07)",
	};

	/* Name (_S5_, Package (4) { 5, 0, 0, 0 }): poweroff writes (5 << 2) | 0x20 */
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0A, LAYOUT_ACPI_S5_TYPE, 0, 0, 0 };

	assert_int_equal(d[8], 2);
	assert_non_null(memmem(d, rd32(d + 4), s5, sizeof(s5)));
	iasl_expect(d, want, ARRAY_SIZE(want));
}

static void check_tables(unsigned int ncpus)
{
	struct mv_acpi_config cfg = config(ncpus);
	const uint8_t *xsdt, *fadt, *madt, *dsdt, *mcfg;
	struct mv_err err = { "" };
	struct madt_counts c;
	uint64_t rsdp = 0;

	assert_int_equal(acpi__build(&mem, &cfg, &rsdp, &err), 0);
	xsdt = walk_rsdp(rsdp);
	assert_int_equal(rd32(xsdt + 4), 36 + 3 * 8); /* FACP, APIC, MCFG */
	fadt = xsdt_find(xsdt, "FACP");
	madt = xsdt_find(xsdt, "APIC");
	mcfg = xsdt_find(xsdt, "MCFG");
	dsdt = check_fadt(fadt);
	c = check_madt(madt);
	assert_int_equal(c.lapic + c.x2apic, ncpus);
	assert_int_equal(rd64(mcfg + 44), LAYOUT_ECAM_START);
	check_dsdt(dsdt);
}

static void test_tables_1_cpu(void **state)
{
	check_tables(1);
}

static void test_tables_2_cpus(void **state)
{
	check_tables(2);
}

static void test_tables_64_cpus(void **state)
{
	check_tables(64);
}

/* From APIC ID 255 on, CPUs need x2APIC entries (and an x2APIC NMI). */
static void test_tables_x2apic(void **state)
{
	struct mv_acpi_config cfg = config(300);
	struct mv_err err = { "" };
	struct madt_counts c;
	uint64_t rsdp = 0;

	assert_int_equal(acpi__build(&mem, &cfg, &rsdp, &err), 0);
	c = check_madt(xsdt_find(walk_rsdp(rsdp), "APIC"));
	assert_int_equal(c.lapic, 255);
	assert_int_equal(c.x2apic, 45);
	assert_int_equal(c.x2apic_nmi, 1);
}

static void test_fadt_madt_disassemble(void **state)
{
	static const char *const fadt_want[] = {
		"Revision : 06", "FADT Minor Revision : 05", "SCI Interrupt : 0009",
		"Control Method Power Button (V1) : 1", "Control Method Sleep Button (V1) : 1",
		"Reset Register Supported (V2) : 1", "Hardware Reduced (V5) : 1",
		"8042 Present on ports 60/64 (V2) : 1", "VGA Not Present (V4) : 1", "CMOS RTC Not Present (V5) : 0",
		"Address : 0000000000000602", "Value to cause reset : 01", "Address : 0000000000000600",
		"Address : 0000000000000601", "Hypervisor ID : 525349564E4F4F4D",
	};
	static const char *const madt_want[] = {
		"Local Apic Address : FEE00000",
		"Processor Local APIC",
		"I/O APIC",
		"Address : FEC00000",
		"Interrupt Source Override",
		"Local APIC NMI",
	};
	struct mv_acpi_config cfg = config(2);
	struct mv_err err = { "" };
	const uint8_t *xsdt;
	uint64_t rsdp = 0;

	assert_int_equal(acpi__build(&mem, &cfg, &rsdp, &err), 0);
	xsdt = walk_rsdp(rsdp);
	iasl_expect(xsdt_find(xsdt, "FACP"), fadt_want, ARRAY_SIZE(fadt_want));
	iasl_expect(xsdt_find(xsdt, "APIC"), madt_want, ARRAY_SIZE(madt_want));
}

static void test_no_hooks(void **state)
{
	struct mv_acpi_config cfg = { .ncpus = 4 };
	struct mv_err err = { "" };
	const uint8_t *xsdt;
	uint64_t rsdp = 0;

	assert_int_equal(acpi__build(&mem, &cfg, &rsdp, &err), 0);
	xsdt = walk_rsdp(rsdp);
	assert_int_equal(rd32(xsdt + 4), 36 + 2 * 8);
	check_fadt(xsdt_find(xsdt, "FACP"));
	assert_int_equal(check_madt(xsdt_find(xsdt, "APIC")).lapic, 4);
}

static void expect_failure(const struct mv_acpi_config *cfg, int code, const char *msg)
{
	struct mv_err err = { "" };
	uint64_t rsdp = 0;

	assert_int_equal(acpi__build(&mem, cfg, &rsdp, &err), code);
	if (!strstr(err.msg, msg))
		fail_msg("error message \"%s\" lacks \"%s\"", err.msg, msg);
	assert_int_equal(rsdp, 0);
	assert_int_equal(sum(ram + LAYOUT_ACPI_START, 36), 0); /* nothing written */
	assert_int_equal(ram[LAYOUT_ACPI_START], 0);
}

static void test_too_many_cpus(void **state)
{
	struct mv_acpi_config cfg = config(20000);

	expect_failure(&cfg, -ENOSPC, "20000 CPUs");
}

static void big_table_hook(struct mv_aml *out, void *opaque)
{
	size_t at = aml__table_begin(out, "BIGT", 1), i;

	for (i = 0; i < 128 * 1024; i += 8)
		aml__u64(out, i);
	aml__table_end(out, at);
}

static void test_tables_too_big(void **state)
{
	const struct mv_acpi_table_hook big = { big_table_hook, NULL };
	struct mv_acpi_config cfg = { .ncpus = 1, .table_hooks = &big, .ntable_hooks = 1 };

	expect_failure(&cfg, -ENOSPC, "ACPI area");
}

static void bad_dsdt_hook(struct mv_aml *a, void *opaque)
{
	aml__device_begin(a, "toolong"); /* bad name, never closed */
}

static void bad_table_hook(struct mv_aml *out, void *opaque)
{
	aml__raw(out, "MCFG", 4); /* no header */
}

static void test_bad_hooks(void **state)
{
	const struct mv_acpi_dsdt_hook dh = { bad_dsdt_hook, NULL };
	const struct mv_acpi_table_hook th = { bad_table_hook, NULL };
	struct mv_acpi_config cfg = { .ncpus = 1, .dsdt_hooks = &dh, .ndsdt_hooks = 1 };

	expect_failure(&cfg, -EINVAL, "DSDT hook 0");
	cfg = (struct mv_acpi_config){ .ncpus = 1, .table_hooks = &th, .ntable_hooks = 1 };
	expect_failure(&cfg, -EINVAL, "table hook 0");
}

static void test_bad_config(void **state)
{
	struct mv_acpi_config cfg = { .ncpus = 0 };
	struct mv_guestmem small = { 0 };
	struct mv_err err = { "" };
	uint64_t rsdp = 0;

	expect_failure(&cfg, -EINVAL, "CPU");
	cfg.ncpus = 1;
	assert_int_equal(guestmem__add_region(&small, 0, LAYOUT_ACPI_START, ram), 0);
	assert_int_equal(acpi__build(&small, &cfg, &rsdp, &err), -EFAULT);
	assert_non_null(strstr(err.msg, "not in guest RAM"));
}

/* --- the PCI host bridge's tables --- */

/* The bytes of one _PRT entry, Package (4) { slot << 16 | 0xFFFF, pin,
 * Zero, gsi }, encoded independently of the emitter. */
static size_t prt_entry(uint8_t *out, unsigned int slot, unsigned int pin, unsigned int gsi)
{
	size_t n = 0, len;

	out[n++] = 0x12;       /* PackageOp */
	out[n++] = 0;          /* PkgLength, below */
	out[n++] = 4;          /* NumElements */
	if (slot == 0) {
		out[n++] = 0x0B;   /* WordPrefix 0xFFFF */
		out[n++] = 0xFF;
		out[n++] = 0xFF;
	} else {
		out[n++] = 0x0C;   /* DWordPrefix */
		out[n++] = 0xFF;
		out[n++] = 0xFF;
		out[n++] = (uint8_t)slot;
		out[n++] = 0;
	}
	if (pin <= 1) {
		out[n++] = (uint8_t)pin; /* ZeroOp / OneOp */
	} else {
		out[n++] = 0x0A;
		out[n++] = (uint8_t)pin;
	}
	out[n++] = 0x00;       /* Source: Zero */
	out[n++] = 0x0A;
	out[n++] = (uint8_t)gsi;
	len = n - 1;
	out[1] = (uint8_t)len;
	return n;
}

static void test_pci_host_tables(void **state)
{
	static const char *const dsdt_want[] = {
		"Device (PCI0)", "Name (_HID, EisaId (\"PNP0A08\")", "Name (_CID, EisaId (\"PNP0A03\")",
		"Name (_SEG, Zero)", "Name (_BBN, Zero)",
		"WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
		"IO (Decode16,", "0x0CF8,", "0x08,",
		"WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,", "0xC000,", "0xFFFF,",
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
		"0xC0000000,", "0xE7FFFFFF,", "0x28000000,",
		"QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,",
		"0x0000004000000000,", "0x0000004FFFFFFFFF,", "0x0000001000000000,",
		"Name (_PRT, Package (0x80)", "0x001FFFFF,",
		"Method (_OSC, 4, NotSerialized)", "CreateDWordField (Arg3, Zero, CDW1)",
		"ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")", "CreateDWordField (Arg3, 0x08, CDW3)",
		"And (CDW3, 0x1E, Local0)", "Or (CDW1, 0x08, CDW1)", "Or (CDW1, 0x10, CDW1)", "Or (CDW1, 0x04, CDW1)",
		"Store (Local0, CDW3)", "Return (Arg3)",
		"Device (MRES)", "Name (_HID, EisaId (\"PNP0C02\")", "Memory32Fixed (ReadWrite,", "0xE8000000,",
		"0x00100000,",
	};
	static const char *const mcfg_want[] = {
		"Signature : \"MCFG\"", "Base Address : 00000000E8000000", "Segment Group Number : 0000",
		"Start Bus Number : 00", "End Bus Number : 00",
	};
	struct mv_iobus pio, mmio;
	struct mv_pci_host_params hp = {
		.pio = &pio, .mmio = &mmio, .mmio64_start = 256 * GiB, .mmio64_size = 64 * GiB,
	};
	struct mv_pci_host *host;
	struct mv_err err = { "" };
	const uint8_t *xsdt, *dsdt, *mcfg;
	uint64_t rsdp = 0;
	uint8_t entry[16];

	iobus__init(&pio, "pio");
	iobus__init(&mmio, "mmio");
	assert_int_equal(pci_host__create(&hp, &host, &err), 0);
	{
		const struct mv_acpi_dsdt_hook dh = { pci_host__dsdt_hook, host };
		const struct mv_acpi_table_hook th = { pci_host__mcfg_hook, host };
		struct mv_acpi_config cfg = { .ncpus = 2, .dsdt_hooks = &dh, .ndsdt_hooks = 1, .table_hooks = &th,
					      .ntable_hooks = 1 };

		assert_int_equal(acpi__build(&mem, &cfg, &rsdp, &err), 0);
	}
	xsdt = walk_rsdp(rsdp);
	mcfg = xsdt_find(xsdt, "MCFG");
	assert_int_equal(rd32(mcfg + 4), 36 + 8 + 16);
	assert_int_equal(mcfg[8], 1);
	assert_int_equal(rd64(mcfg + 44), LAYOUT_ECAM_START);
	assert_int_equal(rd16(mcfg + 52), 0);   /* segment */
	assert_int_equal(mcfg[54], 0);          /* buses 0-0: only bus 0's MiB is backed */
	assert_int_equal(mcfg[55], 0);
	iasl_expect(mcfg, mcfg_want, ARRAY_SIZE(mcfg_want));
	dsdt = check_fadt(xsdt_find(xsdt, "FACP"));
	iasl_expect(dsdt, dsdt_want, ARRAY_SIZE(dsdt_want));
	/* every slot and pin swizzles to GSI 16 + (slot + pin) % 8 */
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			size_t n = prt_entry(entry, slot, pin, 16 + (slot + pin) % 8);

			if (!memmem(dsdt, rd32(dsdt + 4), entry, n))
				fail_msg("no _PRT entry for slot %u pin %u", slot, pin);
		}
	}
	/* without a 64-bit window the _CRS has no QWordMemory */
	pci_host__destroy(host);
	hp.mmio64_size = 0;
	assert_int_equal(pci_host__create(&hp, &host, &err), 0);
	{
		const struct mv_acpi_dsdt_hook dh = { pci_host__dsdt_hook, host };
		struct mv_acpi_config cfg = { .ncpus = 1, .dsdt_hooks = &dh, .ndsdt_hooks = 1 };
		char *dsl;

		assert_int_equal(acpi__build(&mem, &cfg, &rsdp, &err), 0);
		dsdt = check_fadt(xsdt_find(walk_rsdp(rsdp), "FACP"));
		dsl = iasl__disassemble(dsdt, rd32(dsdt + 4), IASL_LEGACY);
		iasl__expect_in(dsl, "Device (PCI0)");
		assert_null(strstr(dsl, "QWordMemory"));
		free(dsl);
	}
	pci_host__destroy(host);
	iobus__destroy(&pio);
	iobus__destroy(&mmio);
	/* a NULL host is a hook error, not a crash */
	memset(ram, 0, RAM_SIZE);
	{
		const struct mv_acpi_dsdt_hook dh = { pci_host__dsdt_hook, NULL };
		struct mv_acpi_config cfg = { .ncpus = 1, .dsdt_hooks = &dh, .ndsdt_hooks = 1 };

		expect_failure(&cfg, -EINVAL, "DSDT hook 0");
	}
}

static void test_checksum(void **state)
{
	const uint8_t data[] = { 1, 2, 3, 250 };

	assert_int_equal(acpi__checksum(data, 4), 0);
	assert_int_equal(acpi__checksum(data, 3), 250);
	assert_int_equal(acpi__checksum(data, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tables_1_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_2_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_64_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_x2apic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt_madt_disassemble, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_host_tables, setup, teardown),
		cmocka_unit_test(test_checksum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
