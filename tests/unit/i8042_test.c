#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/legacy/i8042.h"

#define DATA LAYOUT_PORT_I8042
#define CMD (LAYOUT_PORT_I8042 + 4)
#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_CMD 0x08

struct ctx {
	struct mv_iobus bus;
	struct mv_i8042 *k;
	unsigned int resets;
	int levels[64];
	unsigned int nlevels;
};

static void fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct ctx *c = opaque;

	assert_int_equal(gsi, 1);
	if (c->nlevels < 64)
		c->levels[c->nlevels++] = level;
}

static const struct mv_irq_ops fake_irq_ops = { .set_level = fake_set_level };

static void fake_reset(void *opaque)
{
	struct ctx *c = opaque;

	c->resets++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_i8042_params p;

	if (!c)
		return -1;
	iobus__init(&c->bus, "pio");
	p = (struct mv_i8042_params){
		.irq = { &fake_irq_ops, c }, .gsi = 1, .reset = fake_reset, .opaque = c,
	};
	if (i8042__create(&c->bus, &p, &c->k, NULL) < 0) {
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

	i8042__destroy(c->k);
	iobus__destroy(&c->bus);
	free(c);
	return 0;
}

static uint8_t rd(struct ctx *c, uint16_t port)
{
	uint8_t v = 0x5C;

	assert_true(iobus__access(&c->bus, port, &v, 1, false));
	return v;
}

static void wr(struct ctx *c, uint16_t port, uint8_t v)
{
	assert_true(iobus__access(&c->bus, port, &v, 1, true));
}

/* Sends a controller command and returns its one-byte reply. */
static uint8_t command(struct ctx *c, uint8_t cmd)
{
	wr(c, CMD, cmd);
	assert_int_equal(rd(c, CMD) & STS_OBF, STS_OBF);
	return rd(c, DATA);
}

static void test_self_test(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, CMD) & STS_OBF, 0);
	assert_int_equal(rd(c, DATA), 0); /* nothing pending */
	assert_int_equal(command(c, 0xAA), 0x55);
	assert_int_equal(rd(c, CMD) & (STS_OBF | STS_SYS | STS_CMD), STS_SYS | STS_CMD);
	assert_int_equal(command(c, 0xAB), 0x00);
	assert_int_equal(command(c, 0xA9), 0x01); /* no aux device */
	assert_int_equal(rd(c, DATA), 0); /* the reply was consumed */
	assert_int_equal(c->resets, 0);
}

static void test_config_round_trip(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0x60);
	wr(c, DATA, 0x74);
	assert_int_equal(rd(c, CMD) & STS_CMD, 0);
	assert_int_equal(command(c, 0x20), 0x74);
	wr(c, CMD, 0xAE); /* enable keyboard clears bit 4 */
	wr(c, CMD, 0xA8); /* enable aux clears bit 5 */
	assert_int_equal(command(c, 0x20), 0x44);
	wr(c, CMD, 0xAD);
	wr(c, CMD, 0xA7);
	assert_int_equal(command(c, 0x20), 0x74);
	assert_int_equal(rd(c, CMD) & STS_SYS, STS_SYS);
	wr(c, CMD, 0x60);
	wr(c, DATA, 0x00);
	assert_int_equal(rd(c, CMD) & STS_SYS, 0);
	assert_int_equal(command(c, 0x20), 0x00);
}

static void test_keyboard_ack(void **state)
{
	struct ctx *c = *state;

	wr(c, DATA, 0xF4); /* keyboard "enable scanning" */
	assert_int_equal(rd(c, CMD) & (STS_OBF | STS_CMD), STS_OBF);
	assert_int_equal(rd(c, DATA), 0xFA);
	wr(c, CMD, 0xD2); /* write keyboard output buffer */
	wr(c, DATA, 0x1C);
	assert_int_equal(rd(c, DATA), 0x1C);
	assert_int_equal(command(c, 0xD0) & 0x03, 0x03); /* not in reset, A20 on */
}

static void test_reset_pulse(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0xFF); /* pulse no line */
	assert_int_equal(c->resets, 0);
	wr(c, CMD, 0xFE);
	assert_int_equal(c->resets, 1);
	assert_int_equal(rd(c, CMD) & STS_OBF, 0);
	assert_int_equal(c->resets, 1);
}

static void test_output_port_reset(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0xD1);
	wr(c, DATA, 0x03); /* reset line high: nothing */
	assert_int_equal(c->resets, 0);
	assert_int_equal(command(c, 0xD0), 0x03);
	wr(c, CMD, 0xD1);
	wr(c, DATA, 0x02);
	assert_int_equal(c->resets, 1);
	/* the data byte went to the output port, not to a keyboard */
	assert_int_equal(rd(c, CMD) & STS_OBF, 0);
}

static void test_irq(void **state)
{
	struct ctx *c = *state;

	wr(c, CMD, 0x60);
	wr(c, DATA, 0x00); /* interrupts off */
	assert_int_equal(command(c, 0xAA), 0x55);
	assert_int_equal(c->nlevels, 0);
	wr(c, CMD, 0x60);
	wr(c, DATA, 0x01);
	wr(c, DATA, 0xF2); /* keyboard command: ACK raises IRQ 1 */
	assert_int_equal(c->nlevels, 1);
	assert_int_equal(c->levels[0], 1);
	assert_int_equal(rd(c, DATA), 0xFA);
	assert_int_equal(c->nlevels, 2);
	assert_int_equal(c->levels[1], 0);
}

static void test_bus(void **state)
{
	struct ctx *c = *state;
	struct mv_i8042_params p = { 0 };
	struct mv_i8042 *other = NULL;
	struct mv_err err = { { 0 } };
	uint16_t w = 0;
	uint8_t v;

	for (uint16_t port = 0x61; port < 0x64; port++)
		assert_false(iobus__access(&c->bus, port, &v, 1, false));
	assert_false(iobus__access(&c->bus, DATA, &w, 2, false));
	assert_int_equal(i8042__create(&c->bus, &p, &other, &err), -EEXIST);
	assert_null(other);
	/* the failed create left the original ranges alone */
	assert_int_equal(command(c, 0xAA), 0x55);
	i8042__destroy(c->k);
	c->k = NULL;
	assert_false(iobus__access(&c->bus, DATA, &v, 1, false));
	assert_false(iobus__access(&c->bus, CMD, &v, 1, false));
	assert_int_equal(c->bus.nranges, 0);
}

/* With only port 0x64 taken, create must unwind its port 0x60 range. */
static void test_unwind(void **state)
{
	static const struct mv_iodev_ops none = { 0 };
	struct mv_i8042_params p = { 0 };
	struct mv_i8042 *k = NULL;
	struct mv_iobus bus;

	iobus__init(&bus, "pio");
	assert_int_equal(iobus__register(&bus, CMD, 1, &none, NULL, "squatter", NULL), 0);
	assert_int_equal(i8042__create(&bus, &p, &k, NULL), -EEXIST);
	assert_null(k);
	assert_int_equal(bus.nranges, 1);
	iobus__destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_self_test, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_pulse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_port_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus, setup, teardown),
		cmocka_unit_test(test_unwind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
