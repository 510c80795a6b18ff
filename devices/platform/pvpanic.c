#include "devices/platform/pvpanic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct mv_pvpanic {
	struct mv_iobus *pio;
	struct mv_pvpanic_params p;
};

/* The bus only passes accesses inside the one-byte range (off 0, len 1);
 * anything else reads as the event bits in byte 0 and zeros after. */
static void pvpanic_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if (off == 0 && len >= 1)
		*(uint8_t *)data = PVPANIC_EVENTS;
}

static void pvpanic_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct mv_pvpanic *d = opaque;
	uint8_t events;

	if (off != 0 || len != 1)
		return;
	events = *(const uint8_t *)data & PVPANIC_EVENTS;
	if (events && d->p.event)
		d->p.event(d->p.opaque, events);
}

static const struct mv_iodev_ops pvpanic_ops = { .read = pvpanic_read, .write = pvpanic_write };

int pvpanic__create(struct mv_iobus *pio, const struct mv_pvpanic_params *p, struct mv_pvpanic **out,
		    struct mv_err *err)
{
	struct mv_pvpanic *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return err__set(err, -ENOMEM, "out of memory for pvpanic");
	d->pio = pio;
	d->p = *p;
	ret = iobus__register(pio, PVPANIC_PORT, 1, &pvpanic_ops, d, "pvpanic", err);
	if (ret < 0) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void pvpanic__destroy(struct mv_pvpanic *d)
{
	int ret;

	if (!d)
		return;
	ret = iobus__unregister(d->pio, PVPANIC_PORT);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering pvpanic at port 0x%x", PVPANIC_PORT);
	free(d);
}

/* Device (PEVT) {
 *     Name (_HID, "QEMU0001")
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0505, 0x0505, 0x01, 0x01) })
 *     Name (_STA, 0x0F)
 * } */
void pvpanic__dsdt_hook(struct mv_aml *a, void *opaque)
{
	size_t dev, crs;

	if (!opaque) {
		aml__fail(a, -EINVAL);
		return;
	}
	dev = aml__device_begin(a, "PEVT");
	aml__name_string(a, "_HID", "QEMU0001");
	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_io(a, PVPANIC_PORT, 1);
	aml__restemplate_end(a, crs);
	aml__name_int(a, "_STA", 0x0F);
	aml__device_end(a, dev);
}
