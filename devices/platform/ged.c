#include "devices/platform/ged.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/x86/layout.h"

_Static_assert(LAYOUT_GED_MMIO_SIZE == 4, "the GED register is one DWord");

struct mv_ged {
	pthread_mutex_t lock;
	struct mv_iobus *mmio;
	struct mv_ged_params p;
	uint32_t pending;   /* events the guest has not read yet */
	int line;           /* last level passed to irq__set_level */
};

/* Called with the lock held. */
static void update_line(struct mv_ged *g)
{
	int level = g->pending != 0;

	if (level == g->line)
		return;
	g->line = level;
	irq__set_level(&g->p.irq, g->p.gsi, level);
}

void ged__raise(struct mv_ged *g, uint32_t event_bits)
{
	pthread_mutex_lock(&g->lock);
	g->pending |= event_bits;
	update_line(g);
	pthread_mutex_unlock(&g->lock);
}

/* A read of bytes [off, off+len) of the register returns and clears them. */
static void ged_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct mv_ged *g = opaque;
	uint32_t mask, v;

	if (off >= 4 || len > 4 - off) { /* iobus never passes these */
		memset(data, 0, len);
		return;
	}
	mask = len == 4 ? UINT32_MAX : ((1u << (8 * len)) - 1) << (8 * off);
	pthread_mutex_lock(&g->lock);
	v = g->pending & mask;
	g->pending &= ~mask;
	update_line(g);
	pthread_mutex_unlock(&g->lock);
	v >>= 8 * off;
	memcpy(data, &v, len); /* little-endian host */
}

static void ged_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
}

static const struct mv_iodev_ops ged_ops = { .read = ged_read, .write = ged_write };

int ged__create(struct mv_iobus *mmio, const struct mv_ged_params *p, struct mv_ged **out,
		struct mv_err *err)
{
	struct mv_ged *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return err__set(err, -ENOMEM, "out of memory for the ACPI GED");
	pthread_mutex_init(&g->lock, NULL);
	g->mmio = mmio;
	g->p = *p;
	ret = iobus__register(mmio, LAYOUT_GED_MMIO, LAYOUT_GED_MMIO_SIZE, &ged_ops, g, "ged", err);
	if (ret < 0)
		goto err_free;
	*out = g;
	return 0;

err_free:
	pthread_mutex_destroy(&g->lock);
	free(g);
	return ret;
}

void ged__destroy(struct mv_ged *g)
{
	int ret;

	if (!g)
		return;
	ret = iobus__unregister(g->mmio, LAYOUT_GED_MMIO);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering the ACPI GED at 0x%llx", LAYOUT_GED_MMIO);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* ---- DSDT --------------------------------------------------------------- */

/* Method (_EVT, 1, Serialized) {
 *     Local0 = GDAT
 *     If (Local0 & GED_EVENT_POWER_BUTTON) { Notify (\_SB_.PWRB, 0x80) }
 *     If (Local0 & GED_EVENT_PCI_HOTPLUG) { \_SB_.PCI0.PCNT () }  (pci_hotplug)
 * }  (Arg0, the GSI, is unused: the device has one interrupt.) */
static void dsdt_evt(struct mv_aml *a, const struct mv_ged *g)
{
	size_t m = aml__method_begin(a, "_EVT", 1, true), cond;

	aml__store(a);
	aml__path(a, "GDAT");
	aml__local(a, 0);
	cond = aml__if_begin(a);
	aml__and(a);
	aml__local(a, 0);
	aml__int(a, GED_EVENT_POWER_BUTTON);
	aml__zero(a);
	aml__notify(a);
	aml__path(a, "\\_SB_.PWRB");
	aml__int(a, 0x80); /* status change: the button was pressed */
	aml__if_end(a, cond);
	if (g->p.pci_hotplug) { /* If (Local0 & GED_EVENT_PCI_HOTPLUG) { \_SB_.PCI0.PCNT () } */
		cond = aml__if_begin(a);
		aml__and(a);
		aml__local(a, 0);
		aml__int(a, GED_EVENT_PCI_HOTPLUG);
		aml__zero(a);
		aml__call(a, "\\_SB_.PCI0.PCNT");
		aml__if_end(a, cond);
	}
	aml__method_end(a, m);
}

static void dsdt_ged(struct mv_aml *a, const struct mv_ged *g)
{
	size_t dev = aml__device_begin(a, "GED0"), crs, field;

	aml__name_string(a, "_HID", "ACPI0013");
	aml__name_int(a, "_UID", 0);
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_ext_irq(a, g->p.gsi, 0); /* level, active high, exclusive */
	aml__restemplate_end(a, crs);
	aml__opregion(a, "GDST", AML_SYSTEM_MEMORY, LAYOUT_GED_MMIO, LAYOUT_GED_MMIO_SIZE);
	field = aml__field_begin(a, "GDST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml__field_entry(a, "GDAT", 32);
	aml__field_end(a, field);
	dsdt_evt(a, g);
	aml__device_end(a, dev);
}

static void dsdt_power_button(struct mv_aml *a)
{
	size_t dev = aml__device_begin(a, "PWRB");

	aml__name_eisaid(a, "_HID", "PNP0C0C");
	aml__name_int(a, "_UID", 0);
	aml__device_end(a, dev);
}

void ged__dsdt_hook(struct mv_aml *aml, void *opaque)
{
	const struct mv_ged *g = opaque;

	if (!g) {
		aml__fail(aml, -EINVAL);
		return;
	}
	dsdt_ged(aml, g);
	dsdt_power_button(aml);
}
