/* core/x86/kunpack.c: bzImages whose payload is an LZ4 legacy stream made
 * here with liblz4, as Linux's CONFIG_KERNEL_LZ4 makes it (magic, blocks
 * of at most 8 MiB each preceded by its compressed size, the unpacked size
 * appended); hostile variants of it; and boot__load entering the unpacked
 * vmlinux through PVH, or falling back to the bzImage as is. */
#include <errno.h>
#include <lz4.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/x86/boot.h"
#include "core/x86/kimage.h"
#include "tests/unit/support/kimages.h"

#define MAGIC 0x184C2102u
#define BLOCK (8u << 20)
#define GUEST_SIZE (64 * MiB)
#define ELF_PADDR (16 * MiB)

static const struct kimg_bz_opts bz = { 0x020f, 0x3, 0x7fffffff, 2047, 8 * MiB };

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void append(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void append32(struct buf *b, uint32_t v)
{
	append(b, &v, sizeof(v));
}

/* data in blocks of `block` bytes; the magic again before every block
 * after the first when `remagic`; the unpacked size appended. */
static struct buf lz4_stream(const uint8_t *data, size_t n, size_t block, bool remagic)
{
	struct buf b = { 0 };
	char *tmp = malloc((size_t)LZ4_compressBound((int)block));

	assert_non_null(tmp);
	append32(&b, MAGIC);
	for (size_t off = 0; off < n; off += block) {
		int in = (int)(n - off < block ? n - off : block);
		int out = LZ4_compress_default((const char *)data + off, tmp, in, LZ4_compressBound(in));

		assert_true(out > 0);
		if (off && remagic)
			append32(&b, MAGIC);
		append32(&b, (uint32_t)out);
		append(&b, tmp, (size_t)out);
	}
	append32(&b, (uint32_t)n);
	free(tmp);
	return b;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i >> 12) ^ (i * 31)); /* compressible, not trivially */
	return p;
}

struct result {
	int ret;
	void *out;
	size_t len;
	struct mv_err err;
};

static struct result unpack_image(const uint8_t *image, size_t len)
{
	struct result r = { 0 };
	struct mv_kimage img;
	struct mv_kfile kf;

	kfile__from_buffer(&kf, "test", image, len);
	assert_int_equal(boot__parse_kfile(&kf, &img, &r.err), 0);
	r.ret = kunpack__bzimage(&kf, &img, &r.out, &r.len, &r.err);
	return r;
}

static struct result unpack_payload(const struct kimg_bz_opts *o, const struct buf *payload)
{
	size_t len;
	uint8_t *image = kimg__bzimage(o, payload->p, payload->len, &len);
	struct result r = unpack_image(image, len);

	free(image);
	return r;
}

#define assert_msg(r, s) \
	do { \
		if (!strstr((r)->err.msg, (s))) \
			fail_msg("message \"%s\" lacks \"%s\"", (r)->err.msg, (s)); \
	} while (0)

static void check_roundtrip(size_t n, size_t block, bool remagic)
{
	uint8_t *data = pattern(n);
	struct buf s = lz4_stream(data, n, block, remagic);
	struct result r = unpack_payload(&bz, &s);

	assert_int_equal(r.ret, 0);
	assert_int_equal(r.len, n);
	assert_memory_equal(r.out, data, n);
	free(r.out);
	free(s.p);
	free(data);
}

static void test_two_full_blocks(void **state)
{
	(void)state;
	check_roundtrip(BLOCK + 12345, BLOCK, false);
}

static void test_magic_between_blocks(void **state)
{
	(void)state;
	check_roundtrip(3 * MiB + 7, 1 * MiB, true);
}

static void test_not_lz4(void **state)
{
	uint8_t gz[64] = { 0x1f, 0x8b, 0x08 };
	struct buf s = { gz, sizeof(gz), sizeof(gz) };
	struct result r = unpack_payload(&bz, &s);

	(void)state;
	assert_int_equal(r.ret, -ENOTSUP);
	assert_msg(&r, "payload is not LZ4 (magic 00088b1f)");
}

static void test_protocol_207(void **state)
{
	struct kimg_bz_opts o = bz;
	uint8_t *data = pattern(4096);
	struct buf s = lz4_stream(data, 4096, BLOCK, false);
	struct result r;

	(void)state;
	o.protocol = 0x0207;
	r = unpack_payload(&o, &s);
	assert_int_equal(r.ret, -ENOTSUP);
	assert_msg(&r, "older than 2.08");
	free(s.p);
	free(data);
}

static void test_payload_beyond_file(void **state)
{
	uint8_t *data = pattern(4096);
	struct buf s = lz4_stream(data, 4096, BLOCK, false);
	size_t len;
	uint8_t *image = kimg__bzimage(&bz, s.p, s.len, &len);
	struct result r;

	(void)state;
	kimg__put32(image, 0x24c, (uint32_t)s.len + 1);
	r = unpack_image(image, len);
	assert_int_equal(r.ret, -EINVAL);
	assert_msg(&r, "is not inside the file");
	kimg__put32(image, 0x24c, (uint32_t)s.len);
	kimg__put32(image, 0x248, 0xfffffff0u);  /* offset wraps nothing: beyond the end */
	r = unpack_image(image, len);
	assert_int_equal(r.ret, -EINVAL);
	free(image);
	free(s.p);
	free(data);
}

/* Hostile streams: the compressed size of the first block, the trailer,
 * the block's bytes. */
static void check_hostile(void (*spoil)(struct buf *s), int want, const char *msg)
{
	uint8_t *data = pattern(64 * KiB);
	struct buf s = lz4_stream(data, 64 * KiB, BLOCK, false);
	struct result r;

	spoil(&s);
	r = unpack_payload(&bz, &s);
	assert_int_equal(r.ret, want);
	assert_null(r.out);
	assert_msg(&r, msg);
	free(s.p);
	free(data);
}

static void block_too_long(struct buf *s) { kimg__put32(s->p, 4, (uint32_t)s->len); }
static void block_zero(struct buf *s) { kimg__put32(s->p, 4, 0); }
static void trailer_larger(struct buf *s) { kimg__put32(s->p, s->len - 4, 64 * KiB + 1); }
static void trailer_smaller(struct buf *s) { kimg__put32(s->p, s->len - 4, 64 * KiB - 1); }
static void trailer_huge(struct buf *s) { kimg__put32(s->p, s->len - 4, 0xffffffffu); }
static void block_garbage(struct buf *s) { memset(s->p + 8, 0xff, s->len - 12); }

static void test_hostile_streams(void **state)
{
	(void)state;
	check_hostile(block_too_long, -EINVAL, "does not fit the payload");
	check_hostile(block_zero, -EINVAL, "does not fit the payload");
	check_hostile(trailer_larger, -EINVAL, "its trailer says 65537");
	check_hostile(trailer_smaller, -EINVAL, "is corrupt");
	check_hostile(trailer_huge, -EINVAL, "want 1 to 512 MiB");
	check_hostile(block_garbage, -EINVAL, "is corrupt");
}

/* ---- boot__load: PVH into the unpacked vmlinux, or the bzImage as is -- */

static const char *memfd_path(const void *data, size_t len, char *path, size_t size)
{
	int fd = memfd_create("kernel", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return path;
}

static void boot(const struct buf *payload, bool unpack, struct mv_boot_entry *e, uint8_t *ram)
{
	struct mv_guestmem mem = { 0 };
	struct mv_err err = { "" };
	char path[64];
	size_t len;
	uint8_t *image = kimg__bzimage(&bz, payload->p, payload->len, &len);
	struct mv_boot_request req = { .kernel_path = memfd_path(image, len, path, sizeof(path)),
				       .cmdline = "quiet", .unpack_kernel = unpack };

	assert_int_equal(guestmem__add_region(&mem, 0, GUEST_SIZE, ram), 0);
	if (boot__load(&mem, &req, e, &err) < 0)
		fail_msg("boot__load: %s", err.msg);
	free(image);
}

static struct buf packed_elf(bool pvh)
{
	struct kimg_elf_opts o = { 62, pvh, ELF_PADDR, 64 };
	size_t n;
	uint8_t *elf = kimg__elf(&o, &n);
	struct buf s = lz4_stream(elf, n, BLOCK, false);

	free(elf);
	return s;
}

static void test_boot_unpacked_pvh(void **state)
{
	uint8_t *ram = calloc(1, GUEST_SIZE);
	struct buf s = packed_elf(true);
	struct mv_boot_entry e;

	(void)state;
	assert_non_null(ram);
	boot(&s, true, &e, ram);
	assert_int_equal(e.mode, MV_ENTRY_PVH32);
	assert_int_equal(e.rip, ELF_PADDR + KIMG_ELF_PVH_OFF);
	for (size_t i = 0; i < KIMG_ELF_FILESZ; i++)
		if (ram[ELF_PADDR + i] != (uint8_t)(i * 13 + 1))
			fail_msg("vmlinux byte %zu not loaded", i);
	memset(ram, 0, GUEST_SIZE);
	boot(&s, false, &e, ram);               /* kernel_unpack = false */
	assert_int_equal(e.mode, MV_ENTRY_LONG64);
	assert_int_equal(e.rip, 1 * MiB + 0x200);
	assert_memory_equal(ram + 1 * MiB, s.p, s.len);
	free(s.p);
	free(ram);
}

static void test_boot_falls_back(void **state)
{
	uint8_t *ram = calloc(1, GUEST_SIZE);
	struct buf s = packed_elf(false);       /* no PVH note */
	struct mv_boot_entry e;

	(void)state;
	assert_non_null(ram);
	boot(&s, true, &e, ram);
	assert_int_equal(e.mode, MV_ENTRY_LONG64);
	assert_memory_equal(ram + 1 * MiB, s.p, s.len);
	memset(s.p + 8, 0xff, s.len - 12);      /* corrupt: the guest's problem */
	memset(ram, 0, GUEST_SIZE);
	boot(&s, true, &e, ram);
	assert_int_equal(e.mode, MV_ENTRY_LONG64);
	assert_memory_equal(ram + 1 * MiB, s.p, s.len);
	free(s.p);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_full_blocks), cmocka_unit_test(test_magic_between_blocks),
		cmocka_unit_test(test_not_lz4), cmocka_unit_test(test_protocol_207),
		cmocka_unit_test(test_payload_beyond_file), cmocka_unit_test(test_hostile_streams),
		cmocka_unit_test(test_boot_unpacked_pvh), cmocka_unit_test(test_boot_falls_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
