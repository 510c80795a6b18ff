#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/legacy/rtc.h"

#define INDEX LAYOUT_PORT_RTC
#define DATA (LAYOUT_PORT_RTC + 1)
#define T0 ((time_t)1795527907) /* Tuesday 2026-11-24 13:45:07 UTC */

enum { SEC = 0x00, MIN = 0x02, HOUR = 0x04, WDAY = 0x06, MDAY = 0x07, MON = 0x08, YEAR = 0x09,
       REG_A = 0x0A, REG_B = 0x0B, REG_C = 0x0C, REG_D = 0x0D, CENTURY = 0x32 };

struct ctx {
	struct mv_iobus bus;
	struct mv_rtc *r;
	time_t now;
};

static time_t fake_now(void *opaque)
{
	struct ctx *c = opaque;

	return c->now;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_rtc_params p;

	if (!c)
		return -1;
	c->now = T0;
	iobus__init(&c->bus, "pio");
	p = (struct mv_rtc_params){ .now = fake_now, .opaque = c };
	if (rtc__create(&c->bus, &p, &c->r, NULL) < 0) {
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

	rtc__destroy(c->r);
	iobus__destroy(&c->bus);
	free(c);
	return 0;
}

static uint8_t rd(struct ctx *c, uint8_t reg)
{
	uint8_t v = 0x5C;

	assert_true(iobus__access(&c->bus, INDEX, &reg, 1, true));
	assert_true(iobus__access(&c->bus, DATA, &v, 1, false));
	return v;
}

static void wr(struct ctx *c, uint8_t reg, uint8_t v)
{
	assert_true(iobus__access(&c->bus, INDEX, &reg, 1, true));
	assert_true(iobus__access(&c->bus, DATA, &v, 1, true));
}

static void expect_time(struct ctx *c, const uint8_t want[8])
{
	static const uint8_t regs[8] = { SEC, MIN, HOUR, WDAY, MDAY, MON, YEAR, CENTURY };

	for (int i = 0; i < 8; i++)
		assert_int_equal(rd(c, regs[i]), want[i]);
}

static void test_bcd(void **state)
{
	struct ctx *c = *state;
	static const uint8_t want[8] = { 0x07, 0x45, 0x13, 0x03, 0x24, 0x11, 0x26, 0x20 };

	expect_time(c, want);
	assert_int_equal(rd(c, REG_A), 0x26);
	assert_int_equal(rd(c, REG_B), 0x02);
	assert_int_equal(rd(c, REG_D), 0x80);
}

static void test_binary(void **state)
{
	struct ctx *c = *state;
	static const uint8_t want[8] = { 7, 45, 13, 3, 24, 11, 26, 20 };

	wr(c, REG_B, 0x06);
	assert_int_equal(rd(c, REG_B), 0x06);
	expect_time(c, want);
}

static void test_12_hour(void **state)
{
	struct ctx *c = *state;

	wr(c, REG_B, 0x00);
	assert_int_equal(rd(c, HOUR), 0x81); /* 1 PM */
	wr(c, REG_B, 0x04);
	assert_int_equal(rd(c, HOUR), 0x81);
	c->now = T0 - 13 * 3600 - 15 * 60; /* 00:30 */
	assert_int_equal(rd(c, HOUR), 12); /* 12 AM */
	c->now = T0 - 60 * 60; /* 12:45 */
	assert_int_equal(rd(c, HOUR), 0x80 | 12);
	wr(c, REG_B, 0x00);
	wr(c, HOUR, 0x83); /* 3 PM */
	wr(c, REG_B, 0x02);
	assert_int_equal(rd(c, HOUR), 0x15);
	assert_int_equal(rd(c, MIN), 0x45);
}

static void test_guest_set_time_advances(void **state)
{
	struct ctx *c = *state;
	static const uint8_t set[8] = { 0x58, 0x59, 0x23, 0x05, 0x31, 0x01, 0x30, 0x20 };
	static const uint8_t later[8] = { 0x01, 0x00, 0x00, 0x06, 0x01, 0x02, 0x30, 0x20 };

	wr(c, REG_B, 0x82); /* SET: time stops while the guest writes it */
	wr(c, YEAR, 0x30);
	wr(c, MON, 0x01);
	wr(c, MDAY, 0x31);
	wr(c, HOUR, 0x23);
	wr(c, MIN, 0x59);
	wr(c, SEC, 0x58);
	c->now += 100;
	assert_int_equal(rd(c, SEC), 0x58);
	wr(c, REG_B, 0x02);
	expect_time(c, set); /* 2030-01-31 is a Thursday */
	c->now += 3;
	expect_time(c, later);
	/* a direct write without SET moves the clock too */
	wr(c, MIN, 0x10);
	assert_int_equal(rd(c, MIN), 0x10);
	c->now += 60;
	assert_int_equal(rd(c, MIN), 0x11);
	assert_int_equal(rd(c, MDAY), 0x01);
	/* the century register carries the rest of the year */
	wr(c, CENTURY, 0x21);
	assert_int_equal(rd(c, YEAR), 0x30);
	assert_int_equal(rd(c, CENTURY), 0x21);
	wr(c, REG_B, 0x06);
	wr(c, YEAR, 99);
	assert_int_equal(rd(c, CENTURY), 21);
	assert_int_equal(rd(c, YEAR), 99);
}

static void test_nvram(void **state)
{
	struct ctx *c = *state;

	for (unsigned int i = 0x0E; i < RTC_NVRAM_SIZE; i++)
		if (i != CENTURY)
			wr(c, (uint8_t)i, (uint8_t)(i * 3 + 1));
	wr(c, 0x01, 0xA1); /* alarm registers are plain storage */
	wr(c, 0x03, 0xA3);
	wr(c, 0x05, 0xA5);
	for (unsigned int i = 0x0E; i < RTC_NVRAM_SIZE; i++)
		if (i != CENTURY)
			assert_int_equal(rd(c, (uint8_t)i), (uint8_t)(i * 3 + 1));
	assert_int_equal(rd(c, 0x01), 0xA1);
	assert_int_equal(rd(c, 0x03), 0xA3);
	assert_int_equal(rd(c, 0x05), 0xA5);
	assert_int_equal(rd(c, SEC), 0x07); /* time untouched */
}

static void test_index_masked(void **state)
{
	struct ctx *c = *state;
	uint8_t v = 0;

	wr(c, 0x0E, 0x11);
	wr(c, 0x7F, 0x22);
	assert_int_equal(rd(c, 0x8E), 0x11); /* bit 7 is the NMI mask */
	assert_int_equal(rd(c, 0xFF), 0x22);
	wr(c, 0x80 | SEC, 0x30);
	assert_int_equal(rd(c, SEC), 0x30);
	assert_true(iobus__access(&c->bus, INDEX, &v, 1, false));
	assert_int_equal(v, 0xFF); /* index port is write-only */
}

static void test_status_registers(void **state)
{
	struct ctx *c = *state;

	wr(c, REG_A, 0xA6);
	assert_int_equal(rd(c, REG_A), 0x26); /* UIP reads 0 */
	wr(c, REG_A, 0x2A);
	assert_int_equal(rd(c, REG_A), 0x2A);
	wr(c, REG_D, 0x00);
	assert_int_equal(rd(c, REG_D), 0x80);
	assert_int_equal(rd(c, REG_C), 0x00);
	c->now++;
	assert_int_equal(rd(c, REG_C), 0x10); /* UF: an update ended */
	assert_int_equal(rd(c, REG_C), 0x00); /* read clears */
	wr(c, REG_B, 0x12);
	c->now++;
	assert_int_equal(rd(c, REG_C), 0x90);
	wr(c, WDAY, 0x07); /* derived from the date: ignored */
	assert_int_equal(rd(c, WDAY), 0x03);
}

static void test_hostile_values(void **state)
{
	struct ctx *c = *state;
	static const uint8_t regs[] = { SEC, MIN, HOUR, MDAY, MON, YEAR, CENTURY };

	for (int b = 0; b < 2; b++) {
		wr(c, REG_B, b ? 0x04 : 0x02);
		for (size_t i = 0; i < sizeof(regs); i++)
			wr(c, regs[i], 0xFF);
		for (size_t i = 0; i < sizeof(regs); i++)
			wr(c, regs[i], 0x00);
		for (size_t i = 0; i < sizeof(regs); i++)
			(void)rd(c, regs[i]);
	}
	/* the clock still works afterwards */
	wr(c, REG_B, 0x06);
	wr(c, CENTURY, 20);
	wr(c, YEAR, 26);
	wr(c, MON, 11);
	wr(c, MDAY, 24);
	wr(c, HOUR, 13);
	wr(c, MIN, 45);
	wr(c, SEC, 7);
	assert_int_equal(rd(c, YEAR), 26);
	assert_int_equal(rd(c, WDAY), 3);
}

static void test_bus(void **state)
{
	struct ctx *c = *state;
	uint16_t w;
	struct mv_rtc_params p = { 0 };
	struct mv_rtc *other = NULL;
	uint8_t v;

	assert_false(iobus__access(&c->bus, 0x72, &v, 1, false));
	assert_false(iobus__access(&c->bus, 0x6F, &v, 1, false));
	/* outw 0x70: index then data */
	w = (uint16_t)(0x0E | 0x5A << 8);
	assert_true(iobus__access(&c->bus, INDEX, &w, 2, true));
	assert_int_equal(rd(c, 0x0E), 0x5A);
	assert_true(iobus__access(&c->bus, INDEX, &w, 2, false));
	assert_int_equal(w, 0x5AFF);
	assert_int_equal(rtc__create(&c->bus, &p, &other, NULL), -EEXIST);
	assert_null(other);
	rtc__destroy(c->r);
	c->r = NULL;
	assert_false(iobus__access(&c->bus, DATA, &v, 1, false));
}

static void test_host_clock(void **state)
{
	struct mv_rtc_params p = { 0 }; /* now == NULL: time(NULL) */
	struct mv_iobus bus;
	struct mv_rtc *r;
	struct tm before, after;
	time_t t = time(NULL);
	uint8_t reg = YEAR, year;

	gmtime_r(&t, &before);
	iobus__init(&bus, "pio");
	assert_int_equal(rtc__create(&bus, &p, &r, NULL), 0);
	assert_true(iobus__access(&bus, INDEX, &reg, 1, true));
	assert_true(iobus__access(&bus, DATA, &year, 1, false));
	t = time(NULL);
	gmtime_r(&t, &after);
	assert_true(year == ((before.tm_year / 10 % 10) << 4 | before.tm_year % 10) ||
		    year == ((after.tm_year / 10 % 10) << 4 | after.tm_year % 10));
	rtc__destroy(r);
	iobus__destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_12_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_set_time_advances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus, setup, teardown),
		cmocka_unit_test(test_host_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
