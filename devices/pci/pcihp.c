#include "devices/pci/pcihp.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define SLOT_MASK 0xFFFFFFFEu /* slot 0 is the host bridge */

struct mv_pcihp {
	pthread_mutex_t lock;
	struct mv_iobus *mmio;
	struct mv_pcihp_params p;
	uint32_t up, down;   /* bits the guest has not read yet */
};

void pcihp__slot_up(struct mv_pcihp *hp, unsigned int slot)
{
	if (slot == 0 || slot >= PCIHP_SLOTS)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->up |= 1u << slot;
	pthread_mutex_unlock(&hp->lock);
}

void pcihp__slot_down(struct mv_pcihp *hp, unsigned int slot)
{
	if (slot == 0 || slot >= PCIHP_SLOTS)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->down |= 1u << slot;
	pthread_mutex_unlock(&hp->lock);
}

static uint32_t take(struct mv_pcihp *hp, uint32_t *bits)
{
	uint32_t v;

	pthread_mutex_lock(&hp->lock);
	v = *bits;
	*bits = 0;
	pthread_mutex_unlock(&hp->lock);
	return v;
}

void pcihp__access(struct mv_pcihp *hp, uint64_t off, void *data, uint32_t len, bool is_write)
{
	uint32_t v = 0;

	if (len != 4 || off % 4 || off >= PCIHP_MMIO_SIZE) {
		if (!is_write)
			memset(data, 0, len <= 8 ? len : 8);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4); /* little-endian host */
		v &= SLOT_MASK;
		if (off == PCIHP_REG_EJECT && v && hp->p.eject)
			hp->p.eject(hp->p.opaque, v);
		return;
	}
	if (off == PCIHP_REG_UP)
		v = take(hp, &hp->up);
	else if (off == PCIHP_REG_DOWN)
		v = take(hp, &hp->down);
	memcpy(data, &v, 4);
}

static void pcihp_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	pcihp__access(opaque, off, data, len, false);
}

static void pcihp_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	pcihp__access(opaque, off, (void *)data, len, true);
}

static const struct mv_iodev_ops pcihp_ops = { .read = pcihp_read, .write = pcihp_write };

int pcihp__create(struct mv_iobus *mmio, const struct mv_pcihp_params *p, struct mv_pcihp **out,
		  struct mv_err *err)
{
	struct mv_pcihp *hp = calloc(1, sizeof(*hp));
	int ret;

	if (!hp)
		return err__set(err, -ENOMEM, "out of memory for the PCI hotplug controller");
	pthread_mutex_init(&hp->lock, NULL);
	hp->mmio = mmio;
	hp->p = *p;
	ret = iobus__register(mmio, p->base, PCIHP_MMIO_SIZE, &pcihp_ops, hp, "pci hotplug", err);
	if (ret < 0) {
		pthread_mutex_destroy(&hp->lock);
		free(hp);
		return ret;
	}
	*out = hp;
	return 0;
}

void pcihp__destroy(struct mv_pcihp *hp)
{
	int ret;

	if (!hp)
		return;
	ret = iobus__unregister(hp->mmio, hp->p.base);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering the PCI hotplug controller at 0x%llx",
			      (unsigned long long)hp->p.base);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

/* ---- DSDT --------------------------------------------------------------- */

static void slot_name(char *buf, size_t size, unsigned int slot)
{
	snprintf(buf, size, "S%03u", slot);
}

/* Method (PCEJ, 1, Serialized) {
 *     Acquire (BLCK, 0xFFFF); B0EJ = 1 << Arg0; Release (BLCK); Return (Zero)
 * } */
static void dsdt_pcej(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "PCEJ", 1, true);

	aml__acquire(a, "BLCK", 0xFFFF);
	aml__shift_left(a);
	aml__one(a);
	aml__arg(a, 0);
	aml__path(a, "B0EJ");
	aml__release(a, "BLCK");
	aml__return(a);
	aml__zero(a);
	aml__method_end(a, m);
}

static void dsdt_phpr(struct mv_aml *a, const struct mv_pcihp *hp)
{
	size_t dev = aml__device_begin(a, "PHPR"), field;

	aml__name_eisaid(a, "_HID", "PNP0A06");
	aml__name_string(a, "_UID", "PCI Hotplug Controller");
	aml__name_int(a, "_STA", 0x0B); /* present, enabled, functioning; not shown in UI */
	aml__mutex(a, "BLCK", 0);
	aml__opregion(a, "PCST", AML_SYSTEM_MEMORY, hp->p.base, PCIHP_MMIO_SIZE);
	field = aml__field_begin(a, "PCST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml__field_entry(a, "PCIU", 32);
	aml__field_entry(a, "PCID", 32);
	aml__field_entry(a, "B0EJ", 32);
	aml__field_end(a, field);
	dsdt_pcej(a);
	aml__device_end(a, dev);
}

/* Device (Snnn) { Name (_SUN, n) Name (_ADR, n << 16)
 *                 Method (_EJ0, 1, Serialized) { \_SB_.PHPR.PCEJ (_SUN) } } */
static void dsdt_slot(struct mv_aml *a, unsigned int slot)
{
	char name[8];
	size_t dev, m;

	slot_name(name, sizeof(name), slot);
	dev = aml__device_begin(a, name);
	aml__name_int(a, "_SUN", slot);
	aml__name_int(a, "_ADR", (uint64_t)slot << 16);
	m = aml__method_begin(a, "_EJ0", 1, true);
	aml__call(a, "\\_SB_.PHPR.PCEJ");
	aml__path(a, "_SUN");
	aml__method_end(a, m);
	aml__device_end(a, dev);
}

/* Method (DVNT, 2, Serialized) {
 *     If (Arg0 & (1 << n)) { Notify (Snnn, Arg1) }   for n = 1..31
 * } */
static void dsdt_dvnt(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "DVNT", 2, true), cond;
	char name[8];

	for (unsigned int s = 1; s < PCIHP_SLOTS; s++) {
		slot_name(name, sizeof(name), s);
		cond = aml__if_begin(a);
		aml__and(a);
		aml__arg(a, 0);
		aml__int(a, 1u << s);
		aml__zero(a);
		aml__notify(a);
		aml__path(a, name);
		aml__arg(a, 1);
		aml__if_end(a, cond);
	}
	aml__method_end(a, m);
}

/* Method (PCNT, 0, Serialized) {
 *     DVNT (\_SB_.PHPR.PCIU, One)   device check: a device appeared
 *     DVNT (\_SB_.PHPR.PCID, 3)     eject request
 * } */
static void dsdt_pcnt(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "PCNT", 0, true);

	aml__call(a, "DVNT");
	aml__path(a, "\\_SB_.PHPR.PCIU");
	aml__one(a);
	aml__call(a, "DVNT");
	aml__path(a, "\\_SB_.PHPR.PCID");
	aml__int(a, 3);
	aml__method_end(a, m);
}

void pcihp__dsdt_hook(struct mv_aml *aml, void *opaque)
{
	const struct mv_pcihp *hp = opaque;
	size_t scope;

	if (!hp) {
		aml__fail(aml, -EINVAL);
		return;
	}
	dsdt_phpr(aml, hp);
	scope = aml__scope_begin(aml, "\\_SB_.PCI0");
	for (unsigned int s = 1; s < PCIHP_SLOTS; s++)
		dsdt_slot(aml, s);
	dsdt_dvnt(aml);
	dsdt_pcnt(aml);
	aml__scope_end(aml, scope);
}
