/* The PCI hotplug controller (devices/pci/pcihp.c): slot bitmaps, the eject
 * register, bounds, and the AML for the controller, the slots and the
 * GED's hotplug event, checked by disassembling it with iasl. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/compiler.h"
#include "core/iobus.h"
#include "core/x86/aml.h"
#include "core/x86/layout.h"
#include "devices/pci/host.h"
#include "devices/pci/pcihp.h"
#include "devices/platform/ged.h"
#include "devices/virtio/rng.h"
#include "tests/unit/support/iasl.h"

#define BASE LAYOUT_PCIHP_MMIO

struct ctx {
	struct mv_iobus bus;
	struct mv_pcihp *hp;
	uint32_t ejected;     /* OR of every eject callback's bits */
	unsigned int calls;
};

static void on_eject(void *opaque, uint32_t slots)
{
	struct ctx *c = opaque;

	c->ejected |= slots;
	c->calls++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_pcihp_params p = { .eject = on_eject, .base = BASE };

	if (!c)
		return -1;
	p.opaque = c;
	iobus__init(&c->bus, "mmio");
	if (pcihp__create(&c->bus, &p, &c->hp, NULL) < 0) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	pcihp__destroy(c->hp);
	iobus__destroy(&c->bus);
	free(c);
	return 0;
}

static uint32_t rd(struct ctx *c, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(iobus__access(&c->bus, BASE + off, &v, len, false));
	return (uint32_t)v;
}

static void wr(struct ctx *c, uint64_t off, uint32_t v, uint32_t len)
{
	assert_true(iobus__access(&c->bus, BASE + off, &v, len, true));
}

static void test_idle(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, PCIHP_REG_UP, 4), 0);
	assert_int_equal(rd(c, PCIHP_REG_DOWN, 4), 0);
	assert_int_equal(rd(c, PCIHP_REG_EJECT, 4), 0);
	assert_int_equal(rd(c, 0xC, 4), 0);
	assert_int_equal(c->calls, 0);
}

static void test_slots_up_read_clears(void **state)
{
	struct ctx *c = *state;

	pcihp__slot_up(c->hp, 3);
	pcihp__slot_up(c->hp, 31);
	pcihp__slot_up(c->hp, 3); /* twice: one bit */
	assert_int_equal(rd(c, PCIHP_REG_DOWN, 4), 0);
	assert_int_equal(rd(c, PCIHP_REG_UP, 4), (1u << 3) | (1u << 31));
	assert_int_equal(rd(c, PCIHP_REG_UP, 4), 0);
}

static void test_slots_down_read_clears(void **state)
{
	struct ctx *c = *state;

	pcihp__slot_down(c->hp, 1);
	pcihp__slot_up(c->hp, 2);
	assert_int_equal(rd(c, PCIHP_REG_DOWN, 4), 1u << 1);
	assert_int_equal(rd(c, PCIHP_REG_DOWN, 4), 0);
	assert_int_equal(rd(c, PCIHP_REG_UP, 4), 1u << 2); /* the other bitmap kept its bit */
}

static void test_bad_slots_ignored(void **state)
{
	struct ctx *c = *state;

	pcihp__slot_up(c->hp, 0);   /* the host bridge */
	pcihp__slot_up(c->hp, 32);
	pcihp__slot_down(c->hp, 0);
	pcihp__slot_down(c->hp, 1000);
	assert_int_equal(rd(c, PCIHP_REG_UP, 4), 0);
	assert_int_equal(rd(c, PCIHP_REG_DOWN, 4), 0);
}

static void test_eject(void **state)
{
	struct ctx *c = *state;

	wr(c, PCIHP_REG_EJECT, 1u << 5, 4);
	assert_int_equal(c->calls, 1);
	assert_int_equal(c->ejected, 1u << 5);
	wr(c, PCIHP_REG_EJECT, 1u, 4);      /* slot 0 only: nothing */
	assert_int_equal(c->calls, 1);
	wr(c, PCIHP_REG_EJECT, 0, 4);
	assert_int_equal(c->calls, 1);
	wr(c, PCIHP_REG_EJECT, 0x80000003u, 4); /* slots 1 and 31, not 0 */
	assert_int_equal(c->calls, 2);
	assert_int_equal(c->ejected, (1u << 5) | (1u << 1) | (1u << 31));
	assert_int_equal(rd(c, PCIHP_REG_EJECT, 4), 0);
}

/* Only aligned DWord accesses count: narrow or misaligned ones read 0,
 * clear nothing and eject nothing; writes to the bitmaps are ignored. */
static void test_access_rules(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[8];

	pcihp__slot_up(c->hp, 4);
	pcihp__slot_down(c->hp, 6);
	assert_int_equal(rd(c, PCIHP_REG_UP, 1), 0);
	assert_int_equal(rd(c, PCIHP_REG_UP, 2), 0);
	assert_int_equal(rd(c, PCIHP_REG_DOWN + 2, 2), 0);
	wr(c, PCIHP_REG_EJECT, 0xFF, 1);
	wr(c, PCIHP_REG_EJECT, 0xFFFF, 2);
	wr(c, PCIHP_REG_UP, 0, 4);
	wr(c, PCIHP_REG_DOWN, 0, 4);
	assert_int_equal(c->calls, 0);
	memset(buf, 0xAA, sizeof(buf));
	pcihp__access(c->hp, PCIHP_REG_UP, buf, 8, false); /* len 8 */
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[7], 0);
	pcihp__access(c->hp, PCIHP_MMIO_SIZE, buf, 4, false); /* past the end */
	assert_int_equal(buf[0], 0);
	pcihp__access(c->hp, UINT64_MAX - 1, buf, 4, true);
	assert_int_equal(c->calls, 0);
	assert_int_equal(rd(c, PCIHP_REG_UP, 4), 1u << 4);
	assert_int_equal(rd(c, PCIHP_REG_DOWN, 4), 1u << 6);
	/* nothing is registered past the 16 bytes */
	assert_false(iobus__access(&c->bus, BASE + PCIHP_MMIO_SIZE, buf, 4, false));
}

static void test_register_conflict(void **state)
{
	struct ctx *c = *state;
	struct mv_pcihp_params p = { .base = BASE + 8 };
	struct mv_pcihp *other = NULL;
	struct mv_err err = { "" };

	assert_int_equal(pcihp__create(&c->bus, &p, &other, &err), -EEXIST);
	assert_null(other);
	assert_non_null(strstr(err.msg, "pci hotplug"));
	pcihp__destroy(NULL);
}

/* ---- AML ----------------------------------------------------------------------- */

static char *dsdt_listing(struct ctx *c, struct mv_ged *ged)
{
	struct mv_aml a;
	size_t at, sb, pci;
	char *dsl;

	aml__init(&a);
	at = aml__table_begin(&a, "DSDT", 2);
	sb = aml__scope_begin(&a, "\\_SB_");
	ged__dsdt_hook(&a, ged);
	pci = aml__device_begin(&a, "PCI0"); /* stands for pci_host__dsdt_hook's */
	aml__name_eisaid(&a, "_HID", "PNP0A08");
	aml__device_end(&a, pci);
	pcihp__dsdt_hook(&a, c->hp);
	aml__scope_end(&a, sb);
	aml__table_end(&a, at);
	assert_int_equal(aml__error(&a), 0);
	dsl = iasl__disassemble(aml__bytes(&a), aml__len(&a), 0);
	aml__free(&a);
	iasl__squeeze(dsl);
	return dsl;
}

static void expect_all(const char *dsl, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strstr(dsl, want[i]))
			fail_msg("disassembly lacks \"%s\":\n%s", want[i], dsl);
}

static void test_dsdt(void **state)
{
	static const char *const want[] = {
		/* the controller */
		"Device(PHPR){Name(_HID,EisaId(\"PNP0A06\"))",
		"Name(_STA,0x0B)",
		"Mutex(BLCK,0x00)",
		"OperationRegion(PCST,SystemMemory,0xFE000010,0x10)",
		"Field(PCST,DWordAcc,NoLock,WriteAsZeros){PCIU,32,PCID,32,B0EJ,32}",
		"Method(PCEJ,1,Serialized){Acquire(BLCK,0xFFFF)B0EJ=(One<<Arg0)Release(BLCK)Return(Zero)}",
		/* slots, first and last; no slot 0 (the host bridge) */
		("Scope(\\_SB.PCI0){Device(S001){Name(_SUN,One)Name(_ADR,0x00010000)"
		 "Method(_EJ0,1,Serialized){\\_SB.PHPR.PCEJ(_SUN)}}"),
		"Device(S031){Name(_SUN,0x1F)Name(_ADR,0x001F0000)Method(_EJ0,1,Serialized){\\_SB.PHPR.PCEJ(_SUN)}}",
		/* notifications */
		"Method(DVNT,2,Serialized){If((Arg0&0x02)){Notify(S001,Arg1)}",
		"If((Arg0&0x80000000)){Notify(S031,Arg1)}}",
		"Method(PCNT,0,Serialized){DVNT(\\_SB.PHPR.PCIU,One)DVNT(\\_SB.PHPR.PCID,0x03)}",
		/* the GED's event */
		"If((Local0&0x02)){\\_SB.PCI0.PCNT()}",
	};
	struct ctx *c = *state;
	struct mv_ged_params gp = { .gsi = 5, .pci_hotplug = true };
	struct mv_iobus gbus;
	struct mv_ged *ged;
	char *dsl;

	iobus__init(&gbus, "ged");
	assert_int_equal(ged__create(&gbus, &gp, &ged, NULL), 0);
	dsl = dsdt_listing(c, ged);
	expect_all(dsl, want, ARRAY_SIZE(want));
	if (strstr(dsl, "Device(S000)"))
		fail_msg("slot 0 (the host bridge) has a hotplug object:\n%s", dsl);
	free(dsl);
	ged__destroy(ged);
	iobus__destroy(&gbus);
}

/* Without pci_hotplug the GED's _EVT does not call PCNT. */
static void test_ged_without_hotplug(void **state)
{
	struct mv_ged_params gp = { .gsi = 5 };
	struct mv_iobus gbus;
	struct mv_ged *ged;
	struct mv_aml a;
	size_t at, sb;
	char *dsl;

	iobus__init(&gbus, "ged");
	assert_int_equal(ged__create(&gbus, &gp, &ged, NULL), 0);
	aml__init(&a);
	at = aml__table_begin(&a, "DSDT", 2);
	sb = aml__scope_begin(&a, "\\_SB_");
	ged__dsdt_hook(&a, ged);
	aml__scope_end(&a, sb);
	aml__table_end(&a, at);
	assert_int_equal(aml__error(&a), 0);
	dsl = iasl__disassemble(aml__bytes(&a), aml__len(&a), 0);
	iasl__squeeze(dsl);
	if (strstr(dsl, "PCNT"))
		fail_msg("PCNT without pci_hotplug:\n%s", dsl);
	iasl__expect_in(dsl, "If((Local0&One)){Notify(\\_SB.PWRB,0x80)}");
	free(dsl);
	aml__free(&a);
	ged__destroy(ged);
	iobus__destroy(&gbus);
}

static void test_dsdt_needs_device(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	pcihp__dsdt_hook(&a, NULL);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

/* ---- unplugging while vCPUs use the device ----------------------------------------- */

/* A router that hands out GSIs and binds nothing (MSI-X stays off here). */
static int nr_add(void *opaque, const struct mv_msi_msg *msg, unsigned int *gsi)
{
	*gsi = 100;
	return 0;
}
static int nr_update(void *opaque, unsigned int gsi, const struct mv_msi_msg *msg) { return 0; }
static void nr_del(void *opaque, unsigned int gsi) {}
static int nr_bind(void *opaque, unsigned int gsi, int fd) { return 0; }
static int nr_unbind(void *opaque, unsigned int gsi, int fd) { return 0; }
static const struct mv_msi_router_ops nr_ops = {
	.route_add = nr_add, .route_update = nr_update, .route_del = nr_del,
	.irqfd_bind = nr_bind, .irqfd_unbind = nr_unbind,
};

struct race {
	struct mv_iobus pio, mmio;
	struct mv_pci_host *host;
	unsigned int slot;
	uint64_t bar;
	atomic_bool stop;
	atomic_bool destroyed;      /* set once virtio_rng__destroy returned */
	atomic_uint before, after;  /* iterations begun before / after that */
	atomic_uint late_hits;      /* begun after it, and reached the device */
};

/* A vCPU: config space of the slot (ECAM) and the device's common
 * configuration (BAR 0), over and over. */
static void *vcpu_thread(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		bool late = atomic_load(&r->destroyed);
		uint16_t vendor = 0;
		uint32_t features = 0;

		pci_host__ecam(r->host, (uint64_t)r->slot << 15 | PCI_VENDOR_ID, &vendor, 2, false);
		iobus__access(&r->mmio, r->bar + VIRTIO_COMMON_DF, &features, 4, false);
		atomic_fetch_add(late ? &r->after : &r->before, 1);
		if (late && (vendor != 0xFFFF || features != 0xFFFFFFFFu))
			atomic_fetch_add(&r->late_hits, 1);
	}
	return NULL;
}

/* The loop thread destroys a plugged device (what an eject does) while two
 * vCPU threads are inside its config space and BAR: an access begun after
 * destroy returned finds nothing, and none touched freed memory (the ASan
 * tier would say so). */
static void test_unplug_under_load(void **state)
{
	struct race r = { 0 };
	struct mv_guestmem mem = { .nregions = 0 };
	struct mv_pci_host_params hp = { .pio = &r.pio, .mmio = &r.mmio, .router = { &nr_ops, NULL } };

	iobus__init(&r.pio, "pio");
	iobus__init(&r.mmio, "mmio");
	assert_int_equal(pci_host__create(&hp, &r.host, NULL), 0);
	for (int round = 0; round < 20; round++) {
		const struct mv_virtio_env env = { .mem = &mem, .host = r.host, .vm_fd = -1, .no_thread = true };
		struct mv_virtio_rng *rng;
		pthread_t t[2];

		assert_int_equal(virtio_rng__create(&env, "rng", &rng, NULL), 0);
		r.slot = (unsigned int)virtio_rng__pci(rng)->slot;
		r.bar = pci__bar_addr(&virtio_rng__pci(rng)->pci, 0);
		pci_host__ecam(r.host, (uint64_t)r.slot << 15 | PCI_COMMAND, &(uint16_t){ PCI_COMMAND_MEMORY }, 2, true);
		atomic_store(&r.stop, false);
		atomic_store(&r.destroyed, false);
		atomic_store(&r.before, 0);
		atomic_store(&r.after, 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, vcpu_thread, &r), 0);
		while (atomic_load(&r.before) < 200)
			;
		virtio_rng__destroy(rng);
		atomic_store(&r.destroyed, true);
		while (atomic_load(&r.after) < 200)
			;
		atomic_store(&r.stop, true);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		assert_int_equal(atomic_load(&r.late_hits), 0);
		assert_null(pci_host__slot(r.host, r.slot));
	}
	pci_host__destroy(r.host);
	iobus__destroy(&r.pio);
	iobus__destroy(&r.mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_up_read_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_down_read_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_slots_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt, setup, teardown),
		cmocka_unit_test(test_ged_without_hotplug),
		cmocka_unit_test(test_dsdt_needs_device),
		cmocka_unit_test(test_unplug_under_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
