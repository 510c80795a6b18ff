#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/x86/cpuid.h"

static struct kvm_cpuid2 *make_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 6 * sizeof(c->entries[0]));

	c->nent = 6;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xff00abcd, .ecx = 0, .edx = 0 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .ecx = 0xffff };
	c->entries[4] = (struct kvm_cpuid_entry2){ .function = 4, .index = 0, .eax = 0xfc0fc121 };
	c->entries[5] = (struct kvm_cpuid_entry2){ .function = 0x80000007, .edx = 0x1ff };
	return c;
}

static void test_leaf1_apic_id_and_count(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpuid__patch(c, 3, 4);
	assert_int_equal(c->entries[0].ebx >> 24, 3);
	assert_int_equal((c->entries[0].ebx >> 16) & 0xff, 4);
	assert_int_equal(c->entries[0].ebx & 0xffff, 0xabcd);
	assert_true(c->entries[0].ecx & (1u << 31));  /* hypervisor */
	assert_true(c->entries[0].edx & (1u << 28));  /* HTT with > 1 CPU */
	free(c);
}

static void test_single_cpu_has_no_htt(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();

	c->entries[0].edx = 1u << 28;
	cpuid__patch(c, 0, 1);
	assert_false(c->entries[0].edx & (1u << 28));
	free(c);
}

static void test_invariant_tsc_hidden(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpuid__patch(c, 0, 1);
	assert_int_equal(c->entries[5].edx, 0x0ff); /* bit 8 gone, others kept */
	free(c);
}

static void test_topology_leaves(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpuid__patch(c, 5, 6);
	/* SMT level: 1 thread, x2APIC id in edx */
	assert_int_equal(c->entries[1].ebx, 1);
	assert_int_equal((c->entries[1].ecx >> 8) & 0xff, 1);
	assert_int_equal(c->entries[1].edx, 5);
	/* core level: 6 CPUs, 3 bits of APIC id */
	assert_int_equal(c->entries[2].ebx, 6);
	assert_int_equal(c->entries[2].eax, 3);
	assert_int_equal((c->entries[2].ecx >> 8) & 0xff, 2);
	assert_int_equal(c->entries[2].edx, 5);
	/* AMD NC field */
	assert_int_equal(c->entries[3].ecx & 0xff, 5);
	assert_int_equal((c->entries[3].ecx >> 12) & 0xf, 3);
	/* leaf 4: cores per package - 1 in eax[31:26], rounded to a power of two */
	assert_int_equal(c->entries[4].eax >> 26, 7);
	free(c);
}

static void test_tsc_deadline_added_and_kept(void **state)
{
	struct kvm_cpuid2 *c = make_cpuid();

	c->entries[0].ecx = 0x1;
	cpuid__add_tsc_deadline(c);
	assert_int_equal(c->entries[0].ecx, 0x1 | (1u << 24));
	for (unsigned int i = 1; i < c->nent; i++) /* leaf 1 only */
		assert_false(c->entries[i].ecx & (1u << 24));
	cpuid__patch(c, 2, 4); /* the per-vCPU patch keeps it */
	assert_true(c->entries[0].ecx & (1u << 24));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1_apic_id_and_count),
		cmocka_unit_test(test_single_cpu_has_no_htt),
		cmocka_unit_test(test_invariant_tsc_hidden),
		cmocka_unit_test(test_topology_leaves),
		cmocka_unit_test(test_tsc_deadline_added_and_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
