#include "devices/legacy/acpi_pm.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/x86/layout.h"

#define PORT_BASE LAYOUT_PORT_ACPI_SLEEP_CTL

_Static_assert(LAYOUT_PORT_ACPI_SLEEP_STS == PORT_BASE + 1, "SLEEP_STS must follow SLEEP_CTL");
_Static_assert(LAYOUT_PORT_ACPI_RESET == PORT_BASE + 2, "RESET must follow SLEEP_STS");

enum { REG_SLEEP_CTL, REG_SLEEP_STS, REG_RESET };

struct mv_acpi_pm {
	struct mv_iobus *pio;
	struct mv_acpi_pm_params p;
	atomic_bool warned; /* one warning per device about unsupported sleep */
};

static void request(const struct mv_acpi_pm *pm, void (*fn)(void *opaque))
{
	if (fn)
		fn(pm->p.opaque);
}

static void write_sleep_ctl(struct mv_acpi_pm *pm, uint8_t v)
{
	unsigned int typ = ACPI_PM_SLP_TYP(v);

	if (!(v & ACPI_PM_SLP_EN))
		return;
	if (typ == LAYOUT_ACPI_S5_TYPE) {
		request(pm, pm->p.poweroff);
		return;
	}
	if (!atomic_exchange(&pm->warned, true))
		pr_warn("guest asked for unsupported sleep type %u, ignored", typ);
	else
		pr_debug("guest asked for unsupported sleep type %u, ignored", typ);
}

static void write_reg(struct mv_acpi_pm *pm, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case REG_SLEEP_CTL:
		write_sleep_ctl(pm, v);
		break;
	case REG_RESET:
		if (v == LAYOUT_ACPI_RESET_VALUE)
			request(pm, pm->p.reset);
		break;
	default: /* SLEEP_STS: nothing to clear */
		break;
	}
}

/* SLEEP_CTL and RESET are write-only; SLEEP_STS never has WAK_STS set. */
static void pm_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
}

static void pm_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	const uint8_t *in = data;

	for (uint32_t i = 0; i < len; i++)
		write_reg(opaque, off + i, in[i]);
}

static const struct mv_iodev_ops pm_ops = { .read = pm_read, .write = pm_write };

int acpi_pm__create(struct mv_iobus *pio, const struct mv_acpi_pm_params *p, struct mv_acpi_pm **out,
		    struct mv_err *err)
{
	struct mv_acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return err__set(err, -ENOMEM, "out of memory for ACPI PM");
	pm->pio = pio;
	pm->p = *p;
	ret = iobus__register(pio, PORT_BASE, ACPI_PM_NR_PORTS, &pm_ops, pm, "acpi-pm", err);
	if (ret < 0)
		goto err_free;
	*out = pm;
	return 0;

err_free:
	free(pm);
	return ret;
}

void acpi_pm__destroy(struct mv_acpi_pm *pm)
{
	int ret;

	if (!pm)
		return;
	ret = iobus__unregister(pm->pio, PORT_BASE);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering ACPI PM at 0x%x", PORT_BASE);
	free(pm);
}
