#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/x86/aml.h"
#include "tests/unit/support/iasl.h"

#define EXPECT(a, ...)                                                  \
	do {                                                            \
		const uint8_t want_[] = { __VA_ARGS__ };                \
		expect_bytes((a), 0, want_, sizeof(want_));             \
	} while (0)

static void dump(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu):", what, n);
	for (i = 0; i < n && i < 64; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
}

/* a's bytes from `off` on are exactly want[0..n) */
static void expect_bytes(const struct mv_aml *a, size_t off, const uint8_t *want, size_t n)
{
	assert_int_equal(aml__error(a), 0);
	if (aml__len(a) - off != n || memcmp(aml__bytes(a) + off, want, n)) {
		dump("got ", aml__bytes(a) + off, aml__len(a) - off);
		dump("want", want, n);
		fail_msg("AML bytes differ");
	}
}

/* --- encodings --- */

static void pkglength_is(uint32_t v, const uint8_t *want, size_t n)
{
	struct mv_aml a;

	aml__init(&a);
	aml__pkglength(&a, v);
	expect_bytes(&a, 0, want, n);
	aml__free(&a);
}

static void test_pkglength_values(void **state)
{
	pkglength_is(0, (const uint8_t[]){ 0x00 }, 1);
	pkglength_is(63, (const uint8_t[]){ 0x3F }, 1);
	pkglength_is(64, (const uint8_t[]){ 0x40, 0x04 }, 2);
	pkglength_is(4095, (const uint8_t[]){ 0x4F, 0xFF }, 2);
	pkglength_is(4096, (const uint8_t[]){ 0x80, 0x00, 0x01 }, 3);
	pkglength_is(0xFFFFF, (const uint8_t[]){ 0x8F, 0xFF, 0xFF }, 3);
	pkglength_is(0x100000, (const uint8_t[]){ 0xC0, 0x00, 0x00, 0x01 }, 4);
	pkglength_is(0xFFFFFFF, (const uint8_t[]){ 0xCF, 0xFF, 0xFF, 0xFF }, 4);

	struct mv_aml a;
	aml__init(&a);
	aml__pkglength(&a, 0x10000000);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

/* Scope (FOO_) with `body` bytes after the op (name + filler): the PkgLength
 * counts itself, so a body of 62 fits one byte and 63 needs two. */
static void scope_body_is(size_t body, const uint8_t *pkg, size_t n)
{
	struct mv_aml a;
	size_t at, i;

	aml__init(&a);
	at = aml__scope_begin(&a, "FOO_");
	for (i = 4; i < body; i++)
		aml__u8(&a, (uint8_t)i);
	aml__scope_end(&a, at);
	assert_int_equal(aml__error(&a), 0);
	assert_int_equal(aml__len(&a), 1 + n + body);
	assert_int_equal(aml__bytes(&a)[0], 0x10);
	assert_memory_equal(aml__bytes(&a) + 1, pkg, n);
	assert_memory_equal(aml__bytes(&a) + 1 + n, "FOO_", 4);
	for (i = 4; i < body; i++)
		assert_int_equal(aml__bytes(&a)[1 + n + i], (uint8_t)i);
	aml__free(&a);
}

static void test_pkglength_boundaries(void **state)
{
	scope_body_is(62, (const uint8_t[]){ 0x3F }, 1);                 /* 63 */
	scope_body_is(63, (const uint8_t[]){ 0x41, 0x04 }, 2);           /* 65 */
	scope_body_is(4093, (const uint8_t[]){ 0x4F, 0xFF }, 2);         /* 4095 */
	scope_body_is(4094, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3);   /* 4097 */
	scope_body_is(0xFFFFC, (const uint8_t[]){ 0x8F, 0xFF, 0xFF }, 3); /* 0xFFFFF */
	scope_body_is(0xFFFFD, (const uint8_t[]){ 0xC1, 0x00, 0x00, 0x01 }, 4); /* 0x100001 */
}

static void int_is(uint64_t v, const uint8_t *want, size_t n)
{
	struct mv_aml a;

	aml__init(&a);
	aml__int(&a, v);
	expect_bytes(&a, 0, want, n);
	aml__free(&a);
}

static void test_integers(void **state)
{
	int_is(0, (const uint8_t[]){ 0x00 }, 1);
	int_is(1, (const uint8_t[]){ 0x01 }, 1);
	int_is(UINT64_MAX, (const uint8_t[]){ 0xFF }, 1);
	int_is(2, (const uint8_t[]){ 0x0A, 0x02 }, 2);
	int_is(0xFF, (const uint8_t[]){ 0x0A, 0xFF }, 2);
	int_is(0x100, (const uint8_t[]){ 0x0B, 0x00, 0x01 }, 3);
	int_is(0xFFFF, (const uint8_t[]){ 0x0B, 0xFF, 0xFF }, 3);
	int_is(0x10000, (const uint8_t[]){ 0x0C, 0x00, 0x00, 0x01, 0x00 }, 5);
	int_is(0xFFFFFFFF, (const uint8_t[]){ 0x0C, 0xFF, 0xFF, 0xFF, 0xFF }, 5);
	int_is(0x100000000, (const uint8_t[]){ 0x0E, 0, 0, 0, 0, 1, 0, 0, 0 }, 9);
	int_is(UINT64_MAX - 1, (const uint8_t[]){ 0x0E, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, 9);

	struct mv_aml a;
	aml__init(&a);
	aml__zero(&a);
	aml__one(&a);
	aml__ones(&a);
	aml__local(&a, 0);
	aml__local(&a, 7);
	aml__arg(&a, 0);
	aml__arg(&a, 6);
	EXPECT(&a, 0x00, 0x01, 0xFF, 0x60, 0x67, 0x68, 0x6E);
	aml__local(&a, 8);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

static void test_strings(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	aml__string(&a, "ab");
	aml__string(&a, "");
	EXPECT(&a, 0x0D, 'a', 'b', 0x00, 0x0D, 0x00);
	aml__string(&a, "\xC3\xA9");
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

static void test_eisaid(void **state)
{
	struct mv_aml a;
	uint32_t v = 0;

	assert_int_equal(aml__eisaid_encode("PNP0A08", &v), 0);
	assert_int_equal(v, 0x080AD041);
	assert_int_equal(aml__eisaid_encode("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105D041);
	assert_int_equal(aml__eisaid_encode("pnp0a08", &v), -EINVAL);
	assert_int_equal(aml__eisaid_encode("PNP0A0", &v), -EINVAL);
	assert_int_equal(aml__eisaid_encode("PNP0A0G", &v), -EINVAL);
	assert_int_equal(aml__eisaid_encode("PNP0A0a", &v), -EINVAL);
	assert_int_equal(aml__eisaid_encode("PNP0A080", &v), -EINVAL);

	aml__init(&a);
	aml__eisaid(&a, "PNP0A08");
	EXPECT(&a, 0x0C, 0x41, 0xD0, 0x0A, 0x08);
	aml__free(&a);
}

static void path_is(const char *name, const uint8_t *want, size_t n)
{
	struct mv_aml a;

	aml__init(&a);
	aml__path(&a, name);
	expect_bytes(&a, 0, want, n);
	aml__free(&a);
}

static void path_rejected(const char *name)
{
	struct mv_aml a;

	aml__init(&a);
	aml__path(&a, name);
	if (aml__error(&a) != -EINVAL)
		fail_msg("name \"%s\" was accepted", name);
	aml__free(&a);
}

static void test_names(void **state)
{
	path_is("_HID", (const uint8_t *)"_HID", 4);
	path_is("S8", (const uint8_t *)"S8__", 4);
	path_is("A", (const uint8_t *)"A___", 4);
	path_is("\\_SB_", (const uint8_t *)"\\_SB_", 5);
	path_is("\\_SB", (const uint8_t *)"\\_SB_", 5);
	path_is("\\", (const uint8_t[]){ 0x5C, 0x00 }, 2);
	path_is("^^FOO", (const uint8_t *)"^^FOO_", 6);
	path_is("\\_SB_.PCI0", (const uint8_t *)"\\\x2E_SB_PCI0", 10);
	path_is("PCI0.S8", (const uint8_t *)"\x2EPCI0S8__", 9);
	path_is("\\_SB_.PCI0.S08", (const uint8_t *)"\\\x2F\x03_SB_PCI0S08_", 15);
	path_is("^PCI0.S1.EJ", (const uint8_t *)"^\x2F\x03PCI0S1__EJ__", 15);

	path_rejected("");
	path_rejected("ABCDE");
	path_rejected("1ABC");
	path_rejected("_sb_");
	path_rejected("A..B");
	path_rejected("FOO.");
	path_rejected(".FOO");
	path_rejected("\\^FOO");
	path_rejected("FO-O");
}

static void test_name_objects(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	aml__name_int(&a, "_UID", 0);
	aml__name_string(&a, "_HID", "ACPI0013");
	aml__name_eisaid(&a, "_CID", "PNP0A03");
	EXPECT(&a, 0x08, '_', 'U', 'I', 'D', 0x00,
	       0x08, '_', 'H', 'I', 'D', 0x0D, 'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00,
	       0x08, '_', 'C', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03);
	aml__free(&a);
}

/* Device (COM1) { Name (_HID, EisaId ("PNP0501"))
 *   Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} }) } */
static void test_small_device(void **state)
{
	struct mv_aml a;
	size_t dev, crs;

	aml__init(&a);
	dev = aml__device_begin(&a, "COM1");
	aml__name_eisaid(&a, "_HID", "PNP0501");
	aml__name(&a, "_CRS");
	crs = aml__restemplate_begin(&a);
	aml__res_io(&a, 0x3F8, 8);
	aml__res_irq_noflags(&a, 4);
	aml__restemplate_end(&a, crs);
	aml__device_end(&a, dev);
	EXPECT(&a, 0x5B, 0x82, 0x25, 'C', 'O', 'M', '1',
	       0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x05, 0x01,
	       0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0A, 0x0D,
	       0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,
	       0x22, 0x10, 0x00,
	       0x79, 0x00);
	aml__free(&a);
}

static void test_method_and_control(void **state)
{
	struct mv_aml a;
	size_t m, i, e, w;

	aml__init(&a);
	m = aml__method_begin(&a, "MTH", 2, true);
	i = aml__if_begin(&a);
	aml__lequal(&a);
	aml__arg(&a, 0);
	aml__one(&a);
	aml__store(&a);
	aml__arg(&a, 1);
	aml__local(&a, 0);
	aml__if_end(&a, i);
	e = aml__else_begin(&a);
	aml__notify(&a);
	aml__path(&a, "^DEV");
	aml__int(&a, 3);
	aml__else_end(&a, e);
	w = aml__while_begin(&a);
	aml__lless(&a);
	aml__local(&a, 1);
	aml__int(&a, 4);
	aml__increment(&a);
	aml__local(&a, 1);
	aml__while_end(&a, w);
	aml__return(&a);
	aml__call(&a, "OTHR");
	aml__arg(&a, 0);
	aml__method_end(&a, m);
	EXPECT(&a, 0x14, 0x26, 'M', 'T', 'H', '_', 0x0A,
	       0xA0, 0x07, 0x93, 0x68, 0x01, 0x70, 0x69, 0x60,
	       0xA1, 0x09, 0x86, '^', 'D', 'E', 'V', '_', 0x0A, 0x03,
	       0xA2, 0x07, 0x95, 0x61, 0x0A, 0x04, 0x75, 0x61,
	       0xA4, 'O', 'T', 'H', 'R', 0x68);
	aml__free(&a);
}

static void test_operators(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	aml__land(&a);
	aml__lor(&a);
	aml__lnot(&a);
	aml__lgreater(&a);
	aml__add(&a);
	aml__subtract(&a);
	aml__and(&a);
	aml__or(&a);
	aml__shift_left(&a);
	aml__shift_right(&a);
	aml__decrement(&a);
	aml__index(&a);
	aml__derefof(&a);
	aml__create_dword_field(&a);
	aml__create_qword_field(&a);
	EXPECT(&a, 0x90, 0x91, 0x92, 0x94, 0x72, 0x74, 0x7B, 0x7D, 0x79, 0x7A, 0x76, 0x88, 0x83, 0x8A, 0x8F);
	aml__free(&a);
}

static void test_opregion_field(void **state)
{
	struct mv_aml a;
	size_t f;

	aml__init(&a);
	aml__opregion(&a, "PREG", AML_SYSTEM_IO, 0x600, 0x10);
	f = aml__field_begin(&a, "PREG", AML_FIELD_BYTE_ACC | AML_FIELD_LOCK | AML_FIELD_WRITE_AS_ZEROS);
	aml__field_entry(&a, "PCTL", 8);
	aml__field_offset(&a, 4);
	aml__field_entry(&a, "PSEL", 32);
	aml__field_skip(&a, 64);
	aml__field_entry(&a, "PBIG", 100);
	aml__field_end(&a, f);
	EXPECT(&a, 0x5B, 0x80, 'P', 'R', 'E', 'G', 0x01, 0x0B, 0x00, 0x06, 0x0A, 0x10,
	       0x5B, 0x81, 0x1B, 'P', 'R', 'E', 'G', 0x51,
	       'P', 'C', 'T', 'L', 0x08,
	       0x00, 0x18,
	       'P', 'S', 'E', 'L', 0x20,
	       0x00, 0x40, 0x04,
	       'P', 'B', 'I', 'G', 0x44, 0x06);
	aml__field_offset(&a, 0); /* backwards */
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

static void test_mutex(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	aml__mutex(&a, "MLCK", 0);
	aml__acquire(&a, "MLCK", 0xFFFF);
	aml__release(&a, "MLCK");
	EXPECT(&a, 0x5B, 0x01, 'M', 'L', 'C', 'K', 0x00,
	       0x5B, 0x23, 'M', 'L', 'C', 'K', 0xFF, 0xFF,
	       0x5B, 0x27, 'M', 'L', 'C', 'K');
	aml__free(&a);
}

static void test_package_buffer(void **state)
{
	struct mv_aml a;
	size_t p;

	aml__init(&a);
	p = aml__package_begin(&a, 4);
	aml__int(&a, 5);
	aml__zero(&a);
	aml__zero(&a);
	aml__zero(&a);
	aml__package_end(&a, p);
	aml__buffer(&a, "\x01\x02\x03", 3);
	EXPECT(&a, 0x12, 0x07, 0x04, 0x0A, 0x05, 0x00, 0x00, 0x00,
	       0x11, 0x06, 0x0A, 0x03, 0x01, 0x02, 0x03);
	aml__free(&a);
}

static void test_resources(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	aml__res_irq(&a, 8, AML_IRQ_EDGE);
	aml__res_irq(&a, 5, AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
	aml__res_ext_irq(&a, 24, AML_IRQ_EDGE);
	aml__res_mem32_fixed(&a, 0xFE000000, 0x1000, true);
	aml__res_bus(&a, 0, 0xFF);
	EXPECT(&a, 0x23, 0x00, 0x01, 0x01,
	       0x23, 0x20, 0x00, 0x18,
	       0x89, 0x06, 0x00, 0x03, 0x01, 0x18, 0x00, 0x00, 0x00,
	       0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xFE, 0x00, 0x10, 0x00, 0x00,
	       0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01);
	aml__free(&a);

	aml__init(&a);
	aml__res_mem(&a, 0xC0000000, 0x28000000, AML_MEM_RW);
	EXPECT(&a, 0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xC0,
	       0xFF, 0xFF, 0xFF, 0xE7, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x28);
	aml__free(&a);

	aml__init(&a);
	aml__res_mem(&a, 0x100000000, 0x100000000, AML_MEM_RW | AML_MEM_CACHEABLE);
	EXPECT(&a, 0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x03, 0, 0, 0, 0, 0, 0, 0, 0,
	       0, 0, 0, 0, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0,
	       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
	aml__res_word(&a, &(struct mv_aml_addr){ .space = AML_ADDR_BUS, .max = 0x10000 });
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

static void test_table_header(void **state)
{
	struct mv_aml a;
	const uint8_t *t;
	uint8_t sum = 0;
	size_t at, i;

	aml__init(&a);
	aml__u8(&a, 0xAA); /* tables may start anywhere in the buffer */
	at = aml__table_begin(&a, "SSDT", 2);
	aml__u32(&a, 0x12345678);
	aml__table_end(&a, at);
	assert_int_equal(aml__error(&a), 0);
	assert_int_equal(at, 1);
	assert_int_equal(aml__len(&a), 1 + 40);
	t = aml__bytes(&a) + 1;
	assert_memory_equal(t, "SSDT\x28\0\0\0\x02", 9);
	assert_memory_equal(t + 10, "MOONVSMOONVISR\x01\0\0\0MVSR\x01\0\0\0", 26);
	for (i = 0; i < 40; i++)
		sum += t[i];
	assert_int_equal(sum, 0);
	aml__free(&a);
}

static void test_errors(void **state)
{
	struct mv_aml a;
	size_t s, d;

	aml__init(&a);
	s = aml__scope_begin(&a, "\\_SB_");
	assert_int_equal(aml__error(&a), -EINVAL); /* still open */
	aml__scope_end(&a, s);
	assert_int_equal(aml__error(&a), 0);
	aml__free(&a);

	aml__init(&a);
	s = aml__scope_begin(&a, "\\_SB_");
	d = aml__device_begin(&a, "DEV0");
	aml__scope_end(&a, s); /* closes the outer one first */
	aml__device_end(&a, d);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);
	aml__method_begin(&a, "MTH", 8, false);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);
	aml__res_irq_noflags(&a, 16);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__fail(&a, -ENOMEM); /* the first error stays */
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);
	aml__fail(&a, -ENOMEM);
	aml__u32(&a, 1); /* no-op once failed */
	assert_int_equal(aml__len(&a), 0);
	assert_int_equal(aml__error(&a), -ENOMEM);
	aml__free(&a);
}

/* --- iasl round trip --- */

static void emit_full_crs(struct mv_aml *a)
{
	size_t crs;

	aml__name(a, "_CRS");
	crs = aml__restemplate_begin(a);
	aml__res_bus(a, 0, 0xFF);
	aml__res_io_range(a, 0, 0xCF7);
	aml__res_mem(a, 0xC0000000, 0x28000000, AML_MEM_RW);
	aml__res_mem(a, 0x8000000000, 0x8000000000, AML_MEM_RW | AML_MEM_PREFETCHABLE);
	aml__res_word(a, &(struct mv_aml_addr){ .space = AML_ADDR_IO, .flags = AML_ADDR_CONSUMER |
		      AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED, .type_flags = AML_IO_ENTIRE_RANGE,
		      .min = 0xD00, .max = 0xDFF, .length = 0x100 });
	aml__res_dword(a, &(struct mv_aml_addr){ .space = AML_ADDR_MEMORY, .flags = AML_ADDR_MIN_FIXED |
		       AML_ADDR_MAX_FIXED, .type_flags = AML_MEM_RW | AML_MEM_WRITE_COMBINING,
		       .min = 0xD0000000, .max = 0xD0FFFFFF, .length = 0x1000000 });
	aml__res_qword(a, &(struct mv_aml_addr){ .space = AML_ADDR_MEMORY, .flags = AML_ADDR_MIN_FIXED |
		       AML_ADDR_MAX_FIXED, .type_flags = AML_MEM_RW, .min = 0x1000000000,
		       .max = 0x1FFFFFFFFF, .translation = 0, .length = 0x1000000000 });
	aml__res_mem32_fixed(a, 0xFE000000, 0x1000, true);
	aml__res_ext_irq(a, 24, AML_IRQ_EDGE | AML_IRQ_WAKE);
	aml__res_irq(a, 5, AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED);
	aml__res_irq_noflags(a, 4);
	aml__res_io(a, 0x600, 0x10);
	aml__restemplate_end(a, crs);
}

static void emit_regions(struct mv_aml *a)
{
	size_t f;

	aml__mutex(a, "MLCK", 0);
	aml__opregion(a, "PREG", AML_SYSTEM_IO, 0x600, 0x10);
	f = aml__field_begin(a, "PREG", AML_FIELD_BYTE_ACC);
	aml__field_entry(a, "PCTL", 8);
	aml__field_entry(a, "PSTS", 8);
	aml__field_offset(a, 4);
	aml__field_entry(a, "PSEL", 32);
	aml__field_end(a, f);
	aml__opregion(a, "MREG", AML_SYSTEM_MEMORY, 0xFE000000, 0x1000);
	f = aml__field_begin(a, "MREG", AML_FIELD_DWORD_ACC | AML_FIELD_LOCK | AML_FIELD_WRITE_AS_ZEROS);
	aml__field_entry(a, "MSEL", 32);
	aml__field_skip(a, 32);
	aml__field_entry(a, "MLEN", 32);
	aml__field_end(a, f);
	aml__opregion(a, "PCFG", AML_PCI_CONFIG, 0, 0x100);
	f = aml__field_begin(a, "PCFG", AML_FIELD_ANY_ACC | AML_FIELD_WRITE_AS_ONES);
	aml__field_entry(a, "VEND", 16);
	aml__field_entry(a, "DEVI", 16);
	aml__field_end(a, f);
}

static void emit_bin(struct mv_aml *a, void (*op)(struct mv_aml *), unsigned int x, uint64_t y, unsigned int dst)
{
	op(a);
	aml__local(a, x);
	aml__int(a, y);
	aml__local(a, dst);
}

/* Method (MTH1, 2, Serialized): every operator once. */
static void emit_mth1(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "MTH1", 2, true), i, e, w;

	i = aml__if_begin(a);
	aml__lequal(a), aml__arg(a, 0), aml__one(a);
	aml__store(a), aml__arg(a, 1), aml__path(a, "PSEL");
	aml__if_end(a, i);
	e = aml__else_begin(a);
	aml__store(a), aml__zero(a), aml__path(a, "\\_SB_.PSEL");
	aml__else_end(a, e);
	i = aml__if_begin(a);
	aml__land(a), aml__lnot(a), aml__lequal(a), aml__arg(a, 0), aml__zero(a);
	aml__lor(a), aml__lless(a), aml__arg(a, 1), aml__int(a, 3), aml__lgreater(a), aml__arg(a, 1), aml__int(a, 7);
	aml__notify(a), aml__path(a, "\\_SB_.PCI0"), aml__int(a, 3);
	aml__if_end(a, i);
	aml__and(a), aml__arg(a, 1), aml__int(a, 0xFF), aml__local(a, 0);
	emit_bin(a, aml__or, 0, 0x100, 1);
	emit_bin(a, aml__shift_left, 1, 4, 2);
	emit_bin(a, aml__shift_right, 2, 2, 3);
	emit_bin(a, aml__add, 3, 1, 4);
	emit_bin(a, aml__subtract, 4, 1, 5);
	aml__increment(a), aml__local(a, 5);
	aml__decrement(a), aml__local(a, 5);
	aml__store(a), aml__zero(a), aml__local(a, 6);
	w = aml__while_begin(a);
	aml__lless(a), aml__local(a, 6), aml__int(a, 4);
	aml__increment(a), aml__local(a, 6);
	aml__while_end(a, w);
	i = aml__if_begin(a);
	aml__acquire(a, "MLCK", 0xFFFF);
	aml__return(a), aml__ones(a);
	aml__if_end(a, i);
	aml__store(a), aml__local(a, 5), aml__path(a, "PCTL");
	aml__release(a, "MLCK");
	aml__store(a), aml__derefof(a), aml__index(a), aml__path(a, "\\_S5_"), aml__zero(a), aml__zero(a);
	aml__local(a, 7);
	aml__return(a), aml__local(a, 7);
	aml__method_end(a, m);
}

/* Method (MCRS, 0, Serialized): patches a template with CreateQWordField. */
static void emit_mcrs(struct mv_aml *a)
{
	size_t m = aml__method_begin(a, "MCRS", 0, true), crs;

	aml__name(a, "RBUF");
	crs = aml__restemplate_begin(a);
	aml__res_qword(a, &(struct mv_aml_addr){ .space = AML_ADDR_MEMORY, .flags = AML_ADDR_CONSUMER |
		       AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED, .type_flags = AML_MEM_RW | AML_MEM_CACHEABLE,
		       .min = 0, .max = 0xFFF, .length = 0x1000 });
	aml__res_mem32_fixed(a, 0, 0x1000, false);
	aml__restemplate_end(a, crs);
	aml__create_qword_field(a), aml__path(a, "RBUF"), aml__int(a, 14), aml__path(a, "MMIN");
	aml__create_dword_field(a), aml__path(a, "RBUF"), aml__int(a, 50), aml__path(a, "MBAS");
	aml__store(a), aml__int(a, 0x100000000), aml__path(a, "MMIN");
	aml__store(a), aml__int(a, 0xFED00000), aml__path(a, "MBAS");
	aml__return(a), aml__path(a, "RBUF");
	aml__method_end(a, m);
}

static void emit_devices(struct mv_aml *a)
{
	size_t d, m;

	d = aml__device_begin(a, "PCI0");
	aml__name_eisaid(a, "_HID", "PNP0A08");
	aml__name_eisaid(a, "_CID", "PNP0A03");
	aml__name_int(a, "_UID", 0);
	emit_full_crs(a);
	aml__device_end(a, d);
	d = aml__device_begin(a, "GED");
	aml__name_string(a, "_HID", "ACPI0013");
	m = aml__method_begin(a, "_EVT", 1, false);
	aml__call(a, "^^MTH1"), aml__arg(a, 0), aml__int(a, 2);
	aml__method_end(a, m);
	aml__device_end(a, d);
}

static void build_dsdt(struct mv_aml *a)
{
	size_t t = aml__table_begin(a, "DSDT", 2), p, s, b, m;

	aml__name(a, "_S5_");
	p = aml__package_begin(a, 4);
	aml__int(a, 5), aml__zero(a), aml__zero(a), aml__zero(a);
	aml__package_end(a, p);
	s = aml__scope_begin(a, "\\_SB_");
	aml__name_string(a, "STR0", "moonvisor");
	aml__name_int(a, "BIG0", 0x123456789);
	aml__name_int(a, "WRD0", 0x1234);
	aml__name(a, "BUF0");
	b = aml__buffer_begin(a);
	aml__raw(a, "\x01\x02\x03", 3);
	aml__buffer_end(a, b);
	aml__name(a, "BUF1");
	aml__buffer(a, "\xAA\xBB", 2);
	emit_regions(a);
	emit_mth1(a);
	emit_mcrs(a);
	emit_devices(a);
	m = aml__method_begin(a, "MTH2", 0, false);
	aml__return(a), aml__call(a, "MTH1"), aml__one(a), aml__int(a, 2);
	aml__method_end(a, m);
	aml__scope_end(a, s);
	aml__table_end(a, t);
}

static void test_iasl_roundtrip(void **state)
{
	static const char *const want[] = {
		"DefinitionBlock (\"\", \"DSDT\", 2, \"MOONVS\", \"MOONVISR\", 0x00000001)",
		"Name (_S5, Package (0x04)", "Scope (\\_SB)", "Name (STR0, \"moonvisor\")",
		"Name (BIG0, 0x0000000123456789)", "Name (WRD0, 0x1234)",
		"Mutex (MLCK, 0x00)", "OperationRegion (PREG, SystemIO, 0x0600, 0x10)",
		"Field (PREG, ByteAcc, NoLock, Preserve)", "Offset (0x04)", "PSEL,   32",
		"OperationRegion (MREG, SystemMemory, 0xFE000000, 0x1000)",
		"Field (MREG, DWordAcc, Lock, WriteAsZeros)", "Offset (0x08)", "MLEN,   32",
		"OperationRegion (PCFG, PCI_Config, Zero, 0x0100)", "Field (PCFG, AnyAcc, NoLock, WriteAsOnes)",
		"Method (MTH1, 2, Serialized)", "If (LEqual (Arg0, One))", "Store (Arg1, PSEL)", "Else",
		"Store (Zero, \\_SB.PSEL)", "Notify (\\_SB.PCI0, 0x03)",
		"If (LAnd (LNotEqual (Arg0, Zero), LOr (LLess (Arg1, 0x03), LGreater (Arg1,",
		"And (Arg1, 0xFF, Local0)", "Or (Local0, 0x0100, Local1)", "ShiftLeft (Local1, 0x04, Local2)",
		"ShiftRight (Local2, 0x02, Local3)", "Add (Local3, One, Local4)", "Subtract (Local4, One, Local5)",
		"Increment (Local5)", "Decrement (Local5)", "While (LLess (Local6, 0x04))",
		"If (Acquire (MLCK, 0xFFFF))", "Return (Ones)", "Release (MLCK)",
		"Store (DerefOf (Index (\\_S5, Zero)), Local7)", "Return (Local7)",
		"Method (MCRS, 0, Serialized)", "CreateQWordField (RBUF, \\_SB.MCRS._Y00._MIN, MMIN)",
		"CreateDWordField (RBUF, \\_SB.MCRS._Y01._BAS, MBAS)", "Memory32Fixed (ReadOnly,", "Store (0x0000000100000000, MMIN)",
		"Device (PCI0)", "Name (_HID, EisaId (\"PNP0A08\")", "Name (_CID, EisaId (\"PNP0A03\")",
		"Name (_UID, Zero)", "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
		"WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
		"QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable, ReadWrite,",
		"WordIO (ResourceConsumer, MinFixed, MaxFixed, PosDecode, EntireRange,",
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, WriteCombining, ReadWrite,",
		"QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,",
		"Memory32Fixed (ReadWrite,", "Interrupt (ResourceConsumer, Edge, ActiveHigh, ExclusiveAndWake, ,, )",
		"IRQ (Level, ActiveLow, Shared, )", "IRQNoFlags ()", "IO (Decode16,", "0x0600,",
		"Device (GED)", "Name (_HID, \"ACPI0013\"", "Method (_EVT, 1, NotSerialized)",
		"^^MTH1 (Arg0, 0x02)", "Method (MTH2, 0, NotSerialized)", "Return (MTH1 (One, 0x02))",
	};
	struct mv_aml a;
	char *dsl;
	size_t i;

	aml__init(&a);
	build_dsdt(&a);
	assert_int_equal(aml__error(&a), 0);
	dsl = iasl__disassemble(aml__bytes(&a), aml__len(&a), IASL_LEGACY | IASL_ALLOW_WARNINGS);
	for (i = 0; i < ARRAY_SIZE(want); i++)
		iasl__expect_in(dsl, want[i]);
	free(dsl);
	aml__free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglength_values),
		cmocka_unit_test(test_pkglength_boundaries),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_objects),
		cmocka_unit_test(test_small_device),
		cmocka_unit_test(test_method_and_control),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_opregion_field),
		cmocka_unit_test(test_mutex),
		cmocka_unit_test(test_package_buffer),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_table_header),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_iasl_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
