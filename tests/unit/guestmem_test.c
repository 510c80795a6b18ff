/* core/guestmem.c's RAM mappings: every region (boot RAM below and above
 * the MMIO hole, a hotplug region), private or memfd-backed, starts on a
 * 2 MiB boundary of the address space, so transparent huge pages can back
 * whole 2 MiB of guest memory; and all of it is usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/guestmem.h"
#include "core/x86/layout.h"

#define MIB (1ULL << 20)

static void check_regions(const struct mv_guestmem *m)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct mv_memregion *r = &m->regions[i];

		assert_non_null(r->hva);
		assert_int_equal((uintptr_t)r->hva % (2 * MIB), 0);
		r->hva[0] = 0x5a; /* first and last byte are ours */
		r->hva[r->size - 1] = 0xa5;
		assert_int_equal(r->hva[0] + r->hva[r->size - 1], 0xff);
	}
}

/* Several maps in a row: one aligned by chance would not prove anything. */
static void map_and_check(const struct mv_memopts *opts)
{
	for (unsigned int round = 0; round < 8; round++) {
		struct mv_guestmem m;
		struct mv_err err;
		uint64_t ram = LAYOUT_MMIO_HOLE_START + (round + 1) * 3 * MIB; /* RAM on both sides of the hole */

		memset(&m, 0, sizeof(m));
		assert_int_equal(guestmem__layout(&m, ram, &err), 0);
		assert_int_equal(guestmem__map(&m, opts, &err), 0);
		assert_int_equal(guestmem__map_hotplug(&m, LAYOUT_MMIO_HOLE_END + 64ULL * 1024 * MIB, 5 * MIB + 4096,
						       opts, &err), 0);
		assert_int_equal(m.nregions, 3);
		check_regions(&m);
		guestmem__unmap(&m);
	}
}

static void test_private_ram_is_2mib_aligned(void **state)
{
	const struct mv_memopts opts = { 0 };

	map_and_check(&opts);
}

static void test_memfd_ram_is_2mib_aligned(void **state)
{
	const struct mv_memopts opts = { .shared = true };

	map_and_check(&opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_ram_is_2mib_aligned),
		cmocka_unit_test(test_memfd_ram_is_2mib_aligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
