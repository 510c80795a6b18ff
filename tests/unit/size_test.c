#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/size.h"

static uint64_t parse_ok(const char *s)
{
	uint64_t v = 0;

	assert_int_equal(size__parse(s, &v), 0);
	return v;
}

static void test_units(void **state)
{
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("4096"), 4096);
	assert_int_equal(parse_ok("1K"), 1024);
	assert_int_equal(parse_ok("512M"), 512ULL << 20);
	assert_int_equal(parse_ok("512m"), 512ULL << 20);
	assert_int_equal(parse_ok("1G"), 1ULL << 30);
	assert_int_equal(parse_ok("1GiB"), 1ULL << 30);
	assert_int_equal(parse_ok("1gb"), 1ULL << 30);
	assert_int_equal(parse_ok("4096M"), 4ULL << 30);
	assert_int_equal(parse_ok("2T"), 2ULL << 40);
	assert_int_equal(parse_ok(" 5 G "), 5ULL << 30);
}

static void test_rejects(void **state)
{
	uint64_t v = 7;

	assert_int_equal(size__parse("12Q", &v), -EINVAL);
	assert_int_equal(size__parse("", &v), -EINVAL);
	assert_int_equal(size__parse("M", &v), -EINVAL);
	assert_int_equal(size__parse("-1M", &v), -EINVAL);
	assert_int_equal(size__parse("1.5G", &v), -EINVAL);
	assert_int_equal(size__parse("1 G B", &v), -EINVAL);
	assert_int_equal(size__parse("99999999999999999999", &v), -ERANGE);
	assert_int_equal(size__parse("99999999999T", &v), -ERANGE);
	assert_int_equal(v, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
