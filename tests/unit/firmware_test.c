#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/x86/firmware.h"
#include "core/x86/layout.h"

static void test_reset_vector_writes_reset_register(void **state)
{
	struct mv_guestmem mem = { 0 };
	uint8_t *ram = calloc(1, 1 << 20);
	const uint8_t *v = ram + FIRMWARE_RESET_VECTOR;

	assert_int_equal(guestmem__add_region(&mem, 0, 1 << 20, ram), 0);
	assert_int_equal(firmware__install(&mem), 0);
	assert_int_equal(v[0], 0xB0); /* mov al, imm8 */
	assert_int_equal(v[1], LAYOUT_ACPI_RESET_VALUE);
	assert_int_equal(v[2], 0xBA); /* mov dx, imm16 */
	assert_int_equal(v[3] | (v[4] << 8), LAYOUT_PORT_ACPI_RESET);
	assert_int_equal(v[5], 0xEE); /* out dx, al */
	assert_int_equal(v[6], 0xF4); /* hlt */
	/* the stub ends inside the first MiB */
	assert_true(FIRMWARE_RESET_VECTOR + 9 <= 0x100000);
	free(ram);
}

static void test_no_ram_at_vector(void **state)
{
	struct mv_guestmem mem = { 0 };
	uint8_t *ram = calloc(1, 4096);

	assert_int_equal(guestmem__add_region(&mem, 0, 4096, ram), 0);
	assert_int_not_equal(firmware__install(&mem), 0);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_vector_writes_reset_register),
		cmocka_unit_test(test_no_ram_at_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
