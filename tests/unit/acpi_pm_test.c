#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/iobus.h"
#include "core/log.h"
#include "core/x86/layout.h"
#include "devices/legacy/acpi_pm.h"

#define S5_WRITE ((LAYOUT_ACPI_S5_TYPE << 2) | 0x20)

struct ctx {
	struct mv_iobus bus;
	struct mv_acpi_pm *pm;
	unsigned int poweroffs, resets;
};

static void fake_poweroff(void *opaque)
{
	struct ctx *c = opaque;

	c->poweroffs++;
}

static void fake_reset(void *opaque)
{
	struct ctx *c = opaque;

	c->resets++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_acpi_pm_params p;

	if (!c)
		return -1;
	iobus__init(&c->bus, "pio");
	p = (struct mv_acpi_pm_params){ .poweroff = fake_poweroff, .reset = fake_reset, .opaque = c };
	if (acpi_pm__create(&c->bus, &p, &c->pm, NULL) < 0) {
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

	acpi_pm__destroy(c->pm);
	iobus__destroy(&c->bus);
	free(c);
	return 0;
}

static void wr(struct ctx *c, uint16_t port, uint8_t v)
{
	assert_true(iobus__access(&c->bus, port, &v, 1, true));
}

static uint8_t rd(struct ctx *c, uint16_t port)
{
	uint8_t v = 0x5C;

	assert_true(iobus__access(&c->bus, port, &v, 1, false));
	return v;
}

static void test_s5_powers_off(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(S5_WRITE, 0x34);
	wr(c, LAYOUT_PORT_ACPI_SLEEP_CTL, S5_WRITE);
	assert_int_equal(c->poweroffs, 1);
	assert_int_equal(c->resets, 0);
	wr(c, LAYOUT_PORT_ACPI_SLEEP_CTL, S5_WRITE | 0xC3); /* other bits don't matter */
	assert_int_equal(c->poweroffs, 2);
}

static void test_other_sleep_ignored(void **state)
{
	struct ctx *c = *state;

	wr(c, LAYOUT_PORT_ACPI_SLEEP_CTL, LAYOUT_ACPI_S5_TYPE << 2); /* no SLP_EN */
	for (unsigned int typ = 0; typ < 8; typ++)
		if (typ != LAYOUT_ACPI_S5_TYPE)
			wr(c, LAYOUT_PORT_ACPI_SLEEP_CTL, (uint8_t)(typ << 2 | 0x20));
	assert_int_equal(c->poweroffs, 0);
	assert_int_equal(c->resets, 0);
	wr(c, LAYOUT_PORT_ACPI_SLEEP_STS, S5_WRITE); /* status port: ignored */
	wr(c, LAYOUT_PORT_ACPI_RESET, S5_WRITE);
	assert_int_equal(c->poweroffs, 0);
	assert_int_equal(c->resets, 0);
}

static void test_reset(void **state)
{
	struct ctx *c = *state;

	for (unsigned int v = 0; v < 256; v++)
		if (v != LAYOUT_ACPI_RESET_VALUE)
			wr(c, LAYOUT_PORT_ACPI_RESET, (uint8_t)v);
	assert_int_equal(c->resets, 0);
	wr(c, LAYOUT_PORT_ACPI_RESET, LAYOUT_ACPI_RESET_VALUE);
	assert_int_equal(c->resets, 1);
	wr(c, LAYOUT_PORT_ACPI_SLEEP_CTL, LAYOUT_ACPI_RESET_VALUE);
	assert_int_equal(c->resets, 1);
	assert_int_equal(c->poweroffs, 0);
}

static void test_reads(void **state)
{
	struct ctx *c = *state;
	uint16_t w = 0x1234;

	assert_int_equal(rd(c, LAYOUT_PORT_ACPI_SLEEP_STS), 0); /* WAK_STS clear */
	assert_int_equal(rd(c, LAYOUT_PORT_ACPI_SLEEP_CTL), 0);
	assert_int_equal(rd(c, LAYOUT_PORT_ACPI_RESET), 0);
	assert_true(iobus__access(&c->bus, LAYOUT_PORT_ACPI_SLEEP_CTL, &w, 2, false));
	assert_int_equal(w, 0);
}

static void test_bus(void **state)
{
	struct ctx *c = *state;
	struct mv_acpi_pm_params p = { 0 };
	struct mv_acpi_pm *other = NULL;
	uint16_t w = LAYOUT_ACPI_RESET_VALUE << 8; /* STS byte, then RESET byte */
	uint8_t v = 0;

	assert_false(iobus__access(&c->bus, LAYOUT_PORT_ACPI_SLEEP_CTL - 1, &v, 1, true));
	assert_false(iobus__access(&c->bus, LAYOUT_PORT_ACPI_RESET + 1, &v, 1, true));
	assert_false(iobus__access(&c->bus, LAYOUT_PORT_ACPI_RESET, &w, 2, true));
	assert_true(iobus__access(&c->bus, LAYOUT_PORT_ACPI_SLEEP_STS, &w, 2, true));
	assert_int_equal(c->resets, 1);
	assert_int_equal(acpi_pm__create(&c->bus, &p, &other, NULL), -EEXIST);
	assert_null(other);
	acpi_pm__destroy(c->pm);
	c->pm = NULL;
	v = S5_WRITE;
	assert_false(iobus__access(&c->bus, LAYOUT_PORT_ACPI_SLEEP_CTL, &v, 1, true));
	assert_int_equal(c->poweroffs, 0);
}

static void test_null_callbacks(void **state)
{
	struct mv_acpi_pm_params p = { 0 };
	struct mv_acpi_pm *pm;
	struct mv_iobus bus;
	uint8_t v = S5_WRITE;

	iobus__init(&bus, "pio");
	assert_int_equal(acpi_pm__create(&bus, &p, &pm, NULL), 0);
	assert_true(iobus__access(&bus, LAYOUT_PORT_ACPI_SLEEP_CTL, &v, 1, true));
	v = LAYOUT_ACPI_RESET_VALUE;
	assert_true(iobus__access(&bus, LAYOUT_PORT_ACPI_RESET, &v, 1, true));
	acpi_pm__destroy(pm);
	iobus__destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s5_powers_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sleep_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus, setup, teardown),
		cmocka_unit_test(test_null_callbacks),
	};

	log__set_level(MV_LOG_ERROR); /* the ignored sleep types warn */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
