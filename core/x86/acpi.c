/* ACPI tables for a hardware-reduced x86 platform (ACPI 6.x chapter 5):
 * RSDP, XSDT, FADT, DSDT, MADT and the tables devices add, laid out one
 * after another (16-byte aligned) in [LAYOUT_ACPI_START, LAYOUT_ACPI_END).
 * The whole image is built in host memory, pointers and checksums are
 * patched, then it is copied into the guest in one go. */
#include "core/x86/acpi.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/x86/acpi_tables.h"
#include "core/x86/layout.h"

#define ACPI_AREA_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;     /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

uint8_t acpi__checksum(const void *data, uint64_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static int hook_error(const struct mv_aml *img, struct mv_err *err, const char *what, unsigned int i)
{
	if (img->err == -ENOMEM)
		return err__set(err, -ENOMEM, "out of memory building ACPI tables");
	return err__set(err, -EINVAL, "ACPI %s hook %u emitted an invalid table (bad name or value, "
			"unbalanced begin/end, or wrong length)", what, i);
}

/* --- DSDT --- */

static void dsdt_sta_present(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "_STA", 0, false);

	aml__return(a);
	aml__int(a, 0x0F);
	aml__method_end(a, m);
}

static void dsdt_com1(struct mv_aml *a)
{
	size_t dev = aml__device_begin(a, "COM1"), crs;

	aml__name_eisaid(a, "_HID", "PNP0501");
	aml__name_int(a, "_UID", 0);
	dsdt_sta_present(a);
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_io(a, LAYOUT_PORT_COM1, 8);
	aml__res_irq_noflags(a, LAYOUT_IRQ_COM1);
	aml__restemplate_end(a, crs);
	aml__device_end(a, dev);
}

static void dsdt_rtc(struct mv_aml *a)
{
	size_t dev = aml__device_begin(a, "RTC_"), crs;

	aml__name_eisaid(a, "_HID", "PNP0B00");
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_io(a, LAYOUT_PORT_RTC, 2);
	aml__res_irq(a, LAYOUT_IRQ_RTC, AML_IRQ_EDGE);
	aml__restemplate_end(a, crs);
	aml__device_end(a, dev);
}

static void dsdt_i8042(struct mv_aml *a)
{
	size_t dev = aml__device_begin(a, "PS2K"), crs;

	aml__name_eisaid(a, "_HID", "PNP0303");
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_io(a, LAYOUT_PORT_I8042, 1);
	aml__res_io(a, LAYOUT_PORT_I8042 + 4, 1);
	aml__res_irq_noflags(a, 1);
	aml__restemplate_end(a, crs);
	aml__device_end(a, dev);
}

static int emit_dsdt(struct mv_aml *img, const struct mv_acpi_config *cfg, size_t *off, struct mv_err *err)
{
	size_t at = aml__table_begin(img, "DSDT", 2), pkg, sb;
	unsigned int i;

	aml__name(img, "_S5_");
	pkg = aml__package_begin(img, 4);
	aml__int(img, LAYOUT_ACPI_S5_TYPE);
	aml__int(img, 0);
	aml__int(img, 0);
	aml__int(img, 0);
	aml__package_end(img, pkg);
	sb = aml__scope_begin(img, "\\_SB_");
	dsdt_com1(img);
	dsdt_rtc(img);
	dsdt_i8042(img);
	for (i = 0; i < cfg->ndsdt_hooks; i++) {
		unsigned int depth = img->depth;
		cfg->dsdt_hooks[i].build(img, cfg->dsdt_hooks[i].opaque);
		if (img->err || img->depth != depth)
			return hook_error(img, err, "DSDT", i);
	}
	aml__scope_end(img, sb);
	aml__table_end(img, at);
	*off = at;
	return 0;
}

/* --- extra tables, XSDT, RSDP --- */

static uint32_t table_len(const struct mv_aml *img, size_t off)
{
	uint32_t len;

	memcpy(&len, aml__bytes(img) + off + 4, 4);
	return len;
}

static void fix_checksum(struct mv_aml *img, size_t off, size_t csum_off, uint64_t len)
{
	uint8_t zero = 0, sum;

	aml__patch(img, off + csum_off, &zero, 1);
	if (img->err)
		return;
	sum = acpi__checksum(aml__bytes(img) + off, len);
	aml__patch(img, off + csum_off, &sum, 1);
}

static int emit_table_hook(struct mv_aml *img, const struct mv_acpi_table_hook *h, unsigned int i, size_t *off,
			   struct mv_err *err)
{
	size_t at;

	aml__align(img, 16);
	at = aml__len(img);
	h->build(img, h->opaque);
	if (img->err || img->depth || aml__len(img) - at < AML_TABLE_HEADER_LEN ||
	    table_len(img, at) != aml__len(img) - at)
		return hook_error(img, err, "table", i);
	fix_checksum(img, at, 9, table_len(img, at));
	*off = at;
	return 0;
}

static size_t emit_xsdt(struct mv_aml *img, unsigned int nentries)
{
	size_t at = aml__table_begin(img, "XSDT", 1);
	unsigned int i;

	for (i = 0; i < nentries; i++)
		aml__u64(img, 0);
	aml__table_end(img, at);
	return at;
}

static void set_u64(struct mv_aml *img, size_t off, uint64_t v)
{
	aml__patch(img, off, &v, sizeof(v));
}

static void xsdt_set(struct mv_aml *img, size_t xsdt, unsigned int i, size_t table)
{
	set_u64(img, xsdt + AML_TABLE_HEADER_LEN + 8 * i, LAYOUT_ACPI_START + table);
}

static void emit_rsdp(struct mv_aml *img, size_t xsdt)
{
	struct acpi_rsdp r = {
		.revision = 2,
		.length = sizeof(r),
		.xsdt_address = LAYOUT_ACPI_START + xsdt,
	};

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, AML_OEM_ID, 6);
	r.checksum = acpi__checksum(&r, 20);
	r.ext_checksum = acpi__checksum(&r, sizeof(r));
	aml__patch(img, 0, &r, sizeof(r));
}

/* Emits every table into img (offset 0 = LAYOUT_ACPI_START). */
static int emit_all(struct mv_aml *img, const struct mv_acpi_config *cfg, struct mv_err *err)
{
	size_t xsdt, fadt, dsdt = 0, madt, off = 0;
	unsigned int i;
	int ret;

	aml__raw(img, &(struct acpi_rsdp){ 0 }, sizeof(struct acpi_rsdp));
	aml__align(img, 16);
	xsdt = emit_xsdt(img, 2 + cfg->ntable_hooks);
	aml__align(img, 16);
	fadt = acpi_tables__fadt(img);
	aml__align(img, 16);
	ret = emit_dsdt(img, cfg, &dsdt, err);
	if (ret < 0)
		return ret;
	aml__align(img, 16);
	madt = acpi_tables__madt(img, cfg->ncpus);
	xsdt_set(img, xsdt, 0, fadt);
	xsdt_set(img, xsdt, 1, madt);
	for (i = 0; i < cfg->ntable_hooks; i++) {
		ret = emit_table_hook(img, &cfg->table_hooks[i], i, &off, err);
		if (ret < 0)
			return ret;
		xsdt_set(img, xsdt, 2 + i, off);
	}
	set_u64(img, fadt + ACPI_FADT_X_DSDT, LAYOUT_ACPI_START + dsdt);
	fix_checksum(img, fadt, 9, table_len(img, fadt));
	fix_checksum(img, xsdt, 9, table_len(img, xsdt));
	emit_rsdp(img, xsdt);
	if (aml__error(img) < 0)
		return err__set(err, aml__error(img), "building ACPI tables: %s", strerror(-aml__error(img)));
	return 0;
}

static int check_config(const struct mv_acpi_config *cfg, struct mv_err *err)
{
	if (!cfg->ncpus)
		return err__set(err, -EINVAL, "ACPI tables need at least one CPU");
	if ((cfg->ndsdt_hooks && !cfg->dsdt_hooks) || (cfg->ntable_hooks && !cfg->table_hooks))
		return err__set(err, -EINVAL, "ACPI hook count without hooks");
	if (acpi_tables__madt_size(cfg->ncpus) > ACPI_AREA_SIZE)
		return err__set(err, -ENOSPC, "ACPI MADT for %u CPUs needs %llu bytes, more than the %llu-byte "
				"ACPI area [0x%llx, 0x%llx)", cfg->ncpus, (unsigned long long)acpi_tables__madt_size(cfg->ncpus),
				ACPI_AREA_SIZE, LAYOUT_ACPI_START, LAYOUT_ACPI_END);
	return 0;
}

int acpi__build(struct mv_guestmem *mem, const struct mv_acpi_config *cfg, uint64_t *rsdp_gpa,
		struct mv_err *err)
{
	struct mv_aml img;
	uint8_t *area;
	int ret;

	ret = check_config(cfg, err);
	if (ret < 0)
		return ret;
	area = guestmem__range(mem, LAYOUT_ACPI_START, ACPI_AREA_SIZE);
	if (!area)
		return err__set(err, -EFAULT, "ACPI area [0x%llx, 0x%llx) is not in guest RAM", LAYOUT_ACPI_START,
				LAYOUT_ACPI_END);
	aml__init(&img);
	ret = emit_all(&img, cfg, err);
	if (ret < 0)
		goto out_free;
	if (aml__len(&img) > ACPI_AREA_SIZE) {
		ret = err__set(err, -ENOSPC, "ACPI tables need %zu bytes, more than the %llu-byte ACPI area "
			       "[0x%llx, 0x%llx) (%u CPUs, %u extra tables)", aml__len(&img), ACPI_AREA_SIZE,
			       LAYOUT_ACPI_START, LAYOUT_ACPI_END, cfg->ncpus, cfg->ntable_hooks);
		goto out_free;
	}
	memset(area, 0, ACPI_AREA_SIZE);
	memcpy(area, aml__bytes(&img), aml__len(&img));
	*rsdp_gpa = LAYOUT_ACPI_START;
out_free:
	aml__free(&img);
	return ret;
}
