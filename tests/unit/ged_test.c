#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/platform/ged.h"
#include "tests/unit/support/iasl.h"

#define GSI 5
#define MAX_CALLS 64

struct ctx {
	struct mv_iobus bus;
	struct mv_ged *ged;
	pthread_mutex_t lock;          /* the fake irqchip may be called from threads */
	unsigned int ncalls;
	unsigned int gsi[MAX_CALLS];
	int level[MAX_CALLS];
	int cur;                       /* current line level */
};

static void fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct ctx *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (c->ncalls < MAX_CALLS) {
		c->gsi[c->ncalls] = gsi;
		c->level[c->ncalls] = level;
	}
	c->ncalls++;
	c->cur = level;
	pthread_mutex_unlock(&c->lock);
}

static const struct mv_irq_ops fake_irq_ops = { .set_level = fake_set_level };

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_ged_params p;

	if (!c)
		return -1;
	pthread_mutex_init(&c->lock, NULL);
	iobus__init(&c->bus, "mmio");
	p = (struct mv_ged_params){ .irq = { &fake_irq_ops, c }, .gsi = GSI };
	if (ged__create(&c->bus, &p, &c->ged, NULL) < 0) {
		iobus__destroy(&c->bus);
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	ged__destroy(c->ged);
	iobus__destroy(&c->bus);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return 0;
}

static uint32_t rd(struct ctx *c, uint64_t off, uint32_t len)
{
	uint64_t v = 0x5C5C5C5C5C5C5C5CULL;
	uint64_t mask = len == 8 ? UINT64_MAX : (1ULL << (8 * len)) - 1;

	assert_true(iobus__access(&c->bus, LAYOUT_GED_MMIO + off, &v, len, false));
	assert_int_equal(v & ~mask, 0x5C5C5C5C5C5C5C5CULL & ~mask); /* only len bytes written */
	return (uint32_t)(v & mask);
}

static void expect_call(struct ctx *c, unsigned int i, int level)
{
	assert_true(c->ncalls > i);
	assert_int_equal(c->gsi[i], GSI);
	assert_int_equal(c->level[i], level);
}

static void test_idle(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, 0, 4), 0);
	assert_int_equal(rd(c, 0, 4), 0);
	assert_int_equal(c->ncalls, 0); /* the line was never touched */
}

static void test_power_button(void **state)
{
	struct ctx *c = *state;

	ged__raise(c->ged, GED_EVENT_POWER_BUTTON);
	assert_int_equal(c->ncalls, 1);
	expect_call(c, 0, 1);
	assert_int_equal(rd(c, 0, 4), GED_EVENT_POWER_BUTTON);
	assert_int_equal(c->ncalls, 2);
	expect_call(c, 1, 0);
	assert_int_equal(rd(c, 0, 4), 0); /* the read cleared it */
	assert_int_equal(c->ncalls, 2);
}

/* Events accumulate until read; the line stays up (no extra calls). */
static void test_events_accumulate(void **state)
{
	struct ctx *c = *state;

	ged__raise(c->ged, GED_EVENT_POWER_BUTTON);
	ged__raise(c->ged, 1u << 3);
	ged__raise(c->ged, GED_EVENT_POWER_BUTTON);
	ged__raise(c->ged, 1u << 31);
	assert_int_equal(c->ncalls, 1);
	assert_int_equal(rd(c, 0, 4), GED_EVENT_POWER_BUTTON | (1u << 3) | (1u << 31));
	assert_int_equal(c->ncalls, 2);
	expect_call(c, 1, 0);
	ged__raise(c->ged, 0); /* nothing to signal */
	assert_int_equal(c->ncalls, 2);
}

/* Narrow reads return and clear only the bytes they cover. */
static void test_narrow_reads(void **state)
{
	struct ctx *c = *state;

	ged__raise(c->ged, 0x80402001u);
	assert_int_equal(rd(c, 1, 1), 0x20);
	assert_int_equal(rd(c, 1, 1), 0);
	assert_int_equal(c->cur, 1);
	assert_int_equal(rd(c, 2, 2), 0x8040);
	assert_int_equal(c->cur, 1);
	assert_int_equal(rd(c, 0, 1), 0x01);
	assert_int_equal(c->cur, 0);
	assert_int_equal(c->ncalls, 2);
	assert_int_equal(rd(c, 0, 4), 0);
}

static void test_writes_ignored(void **state)
{
	struct ctx *c = *state;
	uint32_t ones = UINT32_MAX, zero = 0;

	assert_true(iobus__access(&c->bus, LAYOUT_GED_MMIO, &ones, 4, true));
	assert_int_equal(c->ncalls, 0);
	ged__raise(c->ged, GED_EVENT_POWER_BUTTON);
	assert_true(iobus__access(&c->bus, LAYOUT_GED_MMIO, &zero, 4, true));
	assert_true(iobus__access(&c->bus, LAYOUT_GED_MMIO, &ones, 4, true));
	assert_int_equal(c->cur, 1);
	assert_int_equal(rd(c, 0, 4), GED_EVENT_POWER_BUTTON);
}

/* Accesses that stick out of the 4-byte register reach no device. */
static void test_bounds(void **state)
{
	struct ctx *c = *state;
	uint64_t v = 0;

	ged__raise(c->ged, GED_EVENT_POWER_BUTTON);
	assert_false(iobus__access(&c->bus, LAYOUT_GED_MMIO, &v, 8, false));
	assert_false(iobus__access(&c->bus, LAYOUT_GED_MMIO + 2, &v, 4, false));
	assert_false(iobus__access(&c->bus, LAYOUT_GED_MMIO + 4, &v, 1, false));
	assert_false(iobus__access(&c->bus, LAYOUT_GED_MMIO - 1, &v, 2, false));
	assert_int_equal(c->cur, 1);
	assert_int_equal(rd(c, 0, 4), GED_EVENT_POWER_BUTTON);
}

static void test_register_conflict(void **state)
{
	struct ctx *c = *state;
	struct mv_ged_params p = { .irq = { &fake_irq_ops, c }, .gsi = GSI };
	struct mv_err err = { "" };
	struct mv_ged *other = NULL;

	assert_int_equal(ged__create(&c->bus, &p, &other, &err), -EEXIST);
	assert_null(other);
	assert_non_null(strstr(err.msg, "ged"));
}

static void test_destroy_unregisters(void **state)
{
	struct ctx *c = *state;
	uint32_t v;

	ged__destroy(c->ged);
	c->ged = NULL;
	assert_false(iobus__access(&c->bus, LAYOUT_GED_MMIO, &v, 4, false));
	ged__destroy(NULL);
}

/* Raises from other threads race with guest reads: every event is read
 * exactly once, and the line ends low with nothing pending. */
#define RAISERS 4
#define RAISES 20000

static void *raiser(void *arg)
{
	struct mv_ged **gp = arg;
	uintptr_t bit = (uintptr_t)gp[1];

	for (int i = 0; i < RAISES; i++)
		ged__raise(gp[0], 1u << bit);
	return NULL;
}

static void test_threads(void **state)
{
	struct ctx *c = *state;
	pthread_t t[RAISERS];
	void *args[RAISERS][2];
	uint32_t seen = 0;

	for (uintptr_t i = 0; i < RAISERS; i++) {
		args[i][0] = c->ged;
		args[i][1] = (void *)(i + 1);
		assert_int_equal(pthread_create(&t[i], NULL, raiser, args[i]), 0);
	}
	for (int i = 0; i < RAISES; i++)
		seen |= rd(c, 0, 4);
	for (int i = 0; i < RAISERS; i++)
		pthread_join(t[i], NULL);
	seen |= rd(c, 0, 4);
	assert_int_equal(seen, 0x1E);
	assert_int_equal(c->cur, 0);
	assert_int_equal(rd(c, 0, 4), 0);
}

/* --- DSDT through iasl --- */

static void test_dsdt(void **state)
{
	static const char *const want[] = {
		"Scope(\\_SB){Device(GED0){Name(_HID,\"ACPI0013\")",
		"Name(_UID,Zero)",
		"Name(_CRS,ResourceTemplate(){Interrupt(ResourceConsumer,Level,ActiveHigh,Exclusive,,,){0x00000005,}})",
		"OperationRegion(GDST,SystemMemory,0xFE000000,0x04)",
		"Field(GDST,DWordAcc,NoLock,WriteAsZeros){GDAT,32}",
		"Method(_EVT,1,Serialized){Local0=GDAT",
		"If((Local0&One)){Notify(\\_SB.PWRB,0x80)}}}",
		"Device(PWRB){Name(_HID,EisaId(\"PNP0C0C\"))Name(_UID,Zero)}}}",
	};
	struct ctx *c = *state;
	struct mv_aml a;
	size_t at, sb;
	char *dsl;

	aml__init(&a);
	at = aml__table_begin(&a, "DSDT", 2);
	sb = aml__scope_begin(&a, "\\_SB_");
	ged__dsdt_hook(&a, c->ged);
	aml__scope_end(&a, sb);
	aml__table_end(&a, at);
	assert_int_equal(aml__error(&a), 0);
	dsl = iasl__disassemble(aml__bytes(&a), aml__len(&a), 0);
	iasl__squeeze(dsl);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(dsl, want[i]))
			fail_msg("disassembly lacks \"%s\":\n%s", want[i], dsl);
	free(dsl);
	aml__free(&a);
}

static void test_dsdt_needs_device(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	ged__dsdt_hook(&a, NULL);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_accumulate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_narrow_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_unregisters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt, setup, teardown),
		cmocka_unit_test(test_dsdt_needs_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
