/* core/x86 boot: synthetic bzImages and ELF kernels built here, loaded into
 * a calloc'ed 64 MiB guest. Zero-page offsets are spelled out as numbers
 * from Documentation/arch/x86/zero-page.rst, independent of the code. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/x86/boot.h"
#include "core/x86/kimage.h"
#include "core/x86/layout.h"
#include "tests/unit/support/kimages.h"

#define GUEST_SIZE (64 * MiB)
#define BZ_SETUP_SIZE KIMG_BZ_SETUP_SIZE
#define BZ_PAYLOAD (64 * KiB)
#define BZ_INIT_SIZE (8 * MiB)         /* runs at 16 MiB: kernel ends at 24 MiB */
#define ELF_PADDR (16 * MiB)
#define ELF_FILESZ KIMG_ELF_FILESZ
#define ELF_MEMSZ KIMG_ELF_MEMSZ

#define assert_msg(e, s) \
	do { \
		if (!strstr((e)->msg, (s))) \
			fail_msg("message \"%s\" lacks \"%s\"", (e)->msg, (s)); \
	} while (0)

struct guest {
	struct mv_guestmem mem;
	uint8_t *ram;
	char paths[10][32];
	unsigned int npaths;
	struct mv_err err;
};

static int setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->ram = calloc(1, GUEST_SIZE);
	assert_non_null(g->ram);
	assert_int_equal(guestmem__add_region(&g->mem, 0, GUEST_SIZE, g->ram), 0);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct guest *g = *state;

	for (unsigned int i = 0; i < g->npaths; i++)
		unlink(g->paths[i]);
	free(g->ram);
	free(g);
	return 0;
}

static const char *write_tmp(struct guest *g, const void *buf, size_t len)
{
	char *path;
	int fd;

	assert_true(g->npaths < ARRAY_SIZE(g->paths));
	path = g->paths[g->npaths++];
	strcpy(path, "/tmp/mvboot-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
}

#define put16 kimg__put16
#define put32 kimg__put32
#define put64 kimg__put64
static uint16_t rd16(const uint8_t *p, uint64_t off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint32_t rd32(const uint8_t *p, uint64_t off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static uint64_t rd64(const uint8_t *p, uint64_t off) { uint64_t v; memcpy(&v, p + off, 8); return v; }

static const struct kimg_bz_opts bz_default = { 0x020f, 0x3, 0x7fffffff, 2047, BZ_INIT_SIZE };

/* A bzImage whose payload bytes are (i * 7 + 3). */
static uint8_t *make_bzimage(const struct kimg_bz_opts *o, size_t *len)
{
	uint8_t *payload = malloc(BZ_PAYLOAD), *b;

	assert_non_null(payload);
	for (size_t i = 0; i < BZ_PAYLOAD; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	b = kimg__bzimage(o, payload, BZ_PAYLOAD, len);
	free(payload);
	return b;
}

static const char *bz_file(struct guest *g, const struct kimg_bz_opts *o)
{
	size_t len;
	uint8_t *b = make_bzimage(o, &len);
	const char *path = write_tmp(g, b, len);

	free(b);
	return path;
}

static const struct kimg_elf_opts elf_default = { 62, true, ELF_PADDR, 64 };
#define make_elf kimg__elf

static const char *elf_file(struct guest *g, const struct kimg_elf_opts *o)
{
	size_t len;
	uint8_t *b = make_elf(o, &len);
	const char *path = write_tmp(g, b, len);

	free(b);
	return path;
}

static const char *initrd_file(struct guest *g, size_t len)
{
	uint8_t *b = malloc(len);
	const char *path;

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31 + 5);
	path = write_tmp(g, b, len);
	free(b);
	return path;
}

static void assert_initrd(const struct guest *g, uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (g->ram[gpa + i] != (uint8_t)(i * 31 + 5))
			fail_msg("initrd byte %zu differs", i);
}

static int probe(struct guest *g, const char *path, struct mv_kernel_info *info)
{
	memset(&g->err, 0, sizeof(g->err));
	return boot__probe_kernel(path, info, &g->err);
}

/* ---- probe ---------------------------------------------------------- */

static void test_probe_bzimage(void **state)
{
	struct guest *g = *state;
	struct mv_kernel_info info;

	assert_int_equal(probe(g, bz_file(g, &bz_default), &info), 0);
	assert_int_equal(info.format, MV_KERNEL_BZIMAGE);
	assert_int_equal(info.protocol, 0x020f);
	assert_int_equal(info.cmdline_size, 2047);
	assert_int_equal(info.initrd_addr_max, 0x7fffffff);
	assert_int_equal(info.file_size, BZ_SETUP_SIZE + BZ_PAYLOAD);
	assert_false(info.has_pvh);
}

static void test_probe_truncated(void **state)
{
	struct guest *g = *state;
	struct mv_kernel_info info;
	char want[256];
	size_t len;
	uint8_t *b = make_bzimage(&bz_default, &len);
	const char *path = write_tmp(g, b, len - 100);

	free(b);
	assert_int_equal(probe(g, path, &info), -EINVAL);
	snprintf(want, sizeof(want), "kernel %s: truncated: %zu bytes, header says at least %zu", path, len - 100, len);
	assert_string_equal(g->err.msg, want);
}

static void test_probe_protocol_204(void **state)
{
	struct guest *g = *state;
	struct kimg_bz_opts o = bz_default;
	struct mv_kernel_info info;
	char want[256];
	const char *path;

	o.protocol = 0x0204;
	path = bz_file(g, &o);
	assert_int_equal(probe(g, path, &info), -ENOEXEC);
	snprintf(want, sizeof(want), "kernel %s: boot protocol 2.04 is older than 2.06", path);
	assert_string_equal(g->err.msg, want);
}

static void test_probe_no_xlf64(void **state)
{
	struct guest *g = *state;
	struct kimg_bz_opts o = bz_default;
	struct mv_kernel_info info;

	o.xlf = 0x2;
	assert_int_equal(probe(g, bz_file(g, &o), &info), -ENOEXEC);
	assert_msg(&g->err, ": bzImage has no 64-bit entry point (XLF_KERNEL_64 not set)");
}

static void test_probe_random(void **state)
{
	struct guest *g = *state;
	struct mv_kernel_info info;
	uint8_t b[8192];
	char want[256];
	const char *path;

	srand(42);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)rand();
	b[0] = 0;   /* never "\177ELF" */
	path = write_tmp(g, b, sizeof(b));
	assert_int_equal(probe(g, path, &info), -ENOEXEC);
	snprintf(want, sizeof(want), "kernel %s: not a Linux kernel (neither a bzImage nor an x86_64 ELF)", path);
	assert_string_equal(g->err.msg, want);
}

static void test_probe_empty(void **state)
{
	struct guest *g = *state;
	struct mv_kernel_info info;

	assert_int_equal(probe(g, write_tmp(g, "", 0), &info), -ENOEXEC);
	assert_msg(&g->err, "not a Linux kernel (neither a bzImage nor an x86_64 ELF)");
}

static void test_probe_missing(void **state)
{
	struct guest *g = *state;
	struct mv_kernel_info info;

	assert_int_equal(probe(g, "/nonexistent/mv-kernel", &info), -ENOENT);
	assert_string_equal(g->err.msg, "kernel /nonexistent/mv-kernel: No such file or directory");
	assert_int_equal(probe(g, "/tmp", &info), -EINVAL);
	assert_string_equal(g->err.msg, "kernel /tmp: not a regular file");
}

static void test_probe_elf_aarch64(void **state)
{
	struct guest *g = *state;
	struct kimg_elf_opts o = elf_default;
	struct mv_kernel_info info;
	char want[256];
	const char *path;

	o.machine = 183;
	path = elf_file(g, &o);
	assert_int_equal(probe(g, path, &info), -ENOEXEC);
	snprintf(want, sizeof(want), "kernel %s: ELF for machine 183, need x86_64 (62)", path);
	assert_string_equal(g->err.msg, want);
}

static void test_probe_elf_phdrs_beyond_eof(void **state)
{
	struct guest *g = *state;
	struct kimg_elf_opts o = elf_default;
	struct mv_kernel_info info;

	o.phoff = KIMG_ELF_DATA_OFF + ELF_FILESZ - 10;
	assert_int_equal(probe(g, elf_file(g, &o), &info), -EINVAL);
	assert_msg(&g->err, "program headers (2 x 56 bytes at offset 0x2ff6) extend beyond the end of the file (12288 bytes)");
}

static void test_probe_elf_pvh(void **state)
{
	struct guest *g = *state;
	struct kimg_elf_opts o = elf_default;
	struct mv_kernel_info info;

	assert_int_equal(probe(g, elf_file(g, &o), &info), 0);
	assert_int_equal(info.format, MV_KERNEL_ELF);
	assert_true(info.has_pvh);
	o.pvh = false;
	assert_int_equal(probe(g, elf_file(g, &o), &info), 0);
	assert_false(info.has_pvh);
}

static void test_parse_buffer(void **state)
{
	struct guest *g = *state;
	struct mv_kernel_info info;
	size_t len;
	uint8_t *b = make_bzimage(&bz_default, &len);

	assert_int_equal(boot__parse_kernel_header(b, len, &info, &g->err), 0);
	assert_int_equal(info.protocol, 0x020f);
	b[0x202] = 'X';
	assert_int_equal(boot__parse_kernel_header(b, len, &info, &g->err), -ENOEXEC);
	assert_string_equal(g->err.msg, "kernel <buffer>: not a Linux kernel (neither a bzImage nor an x86_64 ELF)");
	free(b);
}

/* ---- load ----------------------------------------------------------- */

static int load(struct guest *g, const char *kernel, const char *initrd, const char *cmdline,
		struct mv_boot_entry *entry)
{
	struct mv_boot_request req = { .kernel_path = kernel, .initrd_path = initrd, .cmdline = cmdline,
				       .acpi_rsdp = LAYOUT_ACPI_START };

	memset(&g->err, 0, sizeof(g->err));
	return boot__load(&g->mem, &req, entry, &g->err);
}

static void assert_low_e820(const uint8_t *t, uint64_t ram_end)
{
	assert_int_equal(rd64(t, 0), 0);
	assert_int_equal(rd64(t, 8), LAYOUT_EBDA_START);
	assert_int_equal(rd32(t, 16), MV_E820_RAM);
	assert_int_equal(rd64(t, 20), LAYOUT_EBDA_START);
	assert_int_equal(rd64(t, 28), 1 * MiB - LAYOUT_EBDA_START);
	assert_int_equal(rd32(t, 36), MV_E820_RESERVED);
	assert_int_equal(rd64(t, 40), 1 * MiB);
	assert_int_equal(rd64(t, 48), ram_end - 1 * MiB);
	assert_int_equal(rd32(t, 56), MV_E820_RAM);
}

static void test_load_bzimage(void **state)
{
	struct guest *g = *state;
	const char *cmdline = "console=ttyS0 root=/dev/vda";
	const size_t ilen = 1 * MiB + 123;
	const uint8_t *zp = g->ram + 0x7000;
	struct mv_boot_entry e;
	uint64_t img;

	assert_int_equal(load(g, bz_file(g, &bz_default), initrd_file(g, ilen), cmdline, &e), 0);
	assert_int_equal(e.mode, MV_ENTRY_LONG64);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(e.rsi, 0x7000);
	assert_int_equal(e.cr3, 0x9000);
	for (size_t i = 0; i < BZ_PAYLOAD; i++)
		if (g->ram[1 * MiB + i] != (uint8_t)(i * 7 + 3))
			fail_msg("payload byte %zu differs", i);
	assert_int_equal(rd16(zp, 0x206), 0x020f);        /* setup header copied */
	assert_int_equal(rd32(zp, 0x202), 0x53726448);
	assert_int_equal(rd64(zp, 0x250), 0);             /* setup_data cleared */
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(zp[0x211], 0x81);
	assert_int_equal(rd16(zp, 0x224), 0xfe00);
	assert_int_equal(rd32(zp, 0x228), 0x20000);
	assert_int_equal(rd32(zp, 0x0c8), 0);
	assert_string_equal((const char *)g->ram + 0x20000, cmdline);
	img = rd32(zp, 0x218);
	assert_int_equal(rd32(zp, 0x21c), ilen);
	assert_int_equal(rd32(zp, 0x0c0), 0);
	assert_int_equal(rd32(zp, 0x0c4), 0);
	assert_int_equal(img % 4096, 0);
	assert_int_equal(img, (GUEST_SIZE - ilen) & ~4095ULL);   /* highest fit */
	assert_true(img >= 24 * MiB);
	assert_initrd(g, img, ilen);
	assert_int_equal(rd64(zp, 0x070), LAYOUT_ACPI_START);
	assert_int_equal(zp[0x1e8], 3);
	assert_low_e820(zp + 0x2d0, GUEST_SIZE);
}

static void test_load_initrd_below_max(void **state)
{
	struct guest *g = *state;
	struct kimg_bz_opts o = bz_default;
	const size_t ilen = 3 * MiB + 7;
	struct mv_boot_entry e;
	uint64_t img;

	o.initrd_max = 0x2ffffff;
	assert_int_equal(load(g, bz_file(g, &o), initrd_file(g, ilen), NULL, &e), 0);
	img = rd32(g->ram + 0x7000, 0x218);
	assert_int_equal(img % 4096, 0);
	assert_true(img + ilen <= 0x3000000);
	assert_true(img + ilen > 0x3000000 - 4096);
	assert_initrd(g, img, ilen);
	assert_int_equal(g->ram[0x20000], 0);   /* empty command line */
}

static void test_load_initrd_too_large(void **state)
{
	struct guest *g = *state;
	const char *initrd = initrd_file(g, 48 * MiB);
	struct mv_boot_entry e;
	char want[256];

	assert_int_equal(load(g, bz_file(g, &bz_default), initrd, NULL, &e), -ENOMEM);
	snprintf(want, sizeof(want),
		 "initrd %s (48 MiB) does not fit in guest memory below 0x4000000; give the VM more memory", initrd);
	assert_msg(&g->err, want);
}

static void test_load_initrd_missing(void **state)
{
	struct guest *g = *state;
	struct mv_boot_entry e;

	assert_int_equal(load(g, bz_file(g, &bz_default), "/nonexistent/initrd", NULL, &e), -ENOENT);
	assert_string_equal(g->err.msg, "initrd /nonexistent/initrd: No such file or directory");
}

static void test_load_cmdline_too_long(void **state)
{
	struct guest *g = *state;
	struct mv_boot_entry e;
	char *cmdline = malloc(3001);

	memset(cmdline, 'a', 3000);
	cmdline[3000] = '\0';
	assert_int_equal(load(g, bz_file(g, &bz_default), NULL, cmdline, &e), -E2BIG);
	assert_msg(&g->err, "command line is 3000 bytes, longer than the 2047 bytes kernel /tmp/mvboot-");
	cmdline[2048] = '\0';
	assert_int_equal(load(g, bz_file(g, &bz_default), NULL, cmdline, &e), -E2BIG);
	assert_msg(&g->err, "command line is 2048 bytes, longer than the 2047 bytes");
	memset(cmdline, 'b', 2047);
	cmdline[2047] = '\0';
	assert_int_equal(load(g, bz_file(g, &bz_default), NULL, cmdline, &e), 0);
	assert_int_equal(strlen((const char *)g->ram + 0x20000), 2047);
	free(cmdline);
}

static void test_load_kernel_too_big(void **state)
{
	struct guest *g = *state;
	struct kimg_bz_opts o = bz_default;
	struct mv_boot_entry e;

	o.init_size = 60 * MiB;   /* 16 MiB + 60 MiB > 64 MiB */
	assert_int_equal(load(g, bz_file(g, &o), NULL, NULL, &e), -ENOMEM);
	assert_msg(&g->err, "needs guest RAM up to 0x4c00000");
	assert_msg(&g->err, "give the VM more memory");
}

static void test_rsdp_needs_protocol_214(void **state)
{
	struct guest *g = *state;
	struct kimg_bz_opts o = bz_default;
	struct mv_boot_entry e;

	o.protocol = 0x020d;
	memset(g->ram + 0x7000, 0xaa, 4096);
	assert_int_equal(load(g, bz_file(g, &o), NULL, NULL, &e), 0);
	assert_int_equal(rd64(g->ram + 0x7000, 0x070), 0);
	assert_int_equal(rd32(g->ram + 0x7000, 0x218), 0);   /* no initrd */
}

static void test_page_tables_and_gdt(void **state)
{
	struct guest *g = *state;
	struct mv_boot_entry e;

	memset(g->ram, 0x55, 1 * MiB);
	assert_int_equal(load(g, bz_file(g, &bz_default), NULL, NULL, &e), 0);
	assert_int_equal(rd64(g->ram, 0x9000), 0xa003);
	assert_int_equal(rd64(g->ram, 0x9008), 0);
	assert_int_equal(rd64(g->ram, 0xa000), 0xb003);
	assert_int_equal(rd64(g->ram, 0xa008), 0);
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(rd64(g->ram, 0xb000 + i * 8), i * 2 * MiB | 0x83);
	assert_int_equal(e.gdt_base, 0x500);
	assert_int_equal(e.gdt_limit, 39);
	assert_int_equal(e.code_sel, 0x10);
	assert_int_equal(e.data_sel, 0x18);
	assert_int_equal(e.tss_sel, 0x20);
	assert_int_equal(rd64(g->ram, 0x500), 0);
	assert_int_equal(rd64(g->ram, 0x508), 0);
	assert_int_equal(rd64(g->ram, 0x510), 0x00af9b000000ffffULL);
	assert_int_equal(rd64(g->ram, 0x518), 0x00cf93000000ffffULL);
	assert_int_equal(rd64(g->ram, 0x520), 0x008f8b000000ffffULL);
	assert_int_equal(g->ram[0xE0000], 0x55);   /* ACPI area untouched */
}

static void test_load_elf_outside_ram(void **state)
{
	struct guest *g = *state;
	struct kimg_elf_opts o = elf_default;
	struct mv_kernel_info info;
	struct mv_boot_entry e;
	const char *path;

	o.paddr = 128 * MiB;
	path = elf_file(g, &o);
	assert_int_equal(probe(g, path, &info), 0);
	assert_int_equal(load(g, path, NULL, NULL, &e), -EFAULT);
	assert_msg(&g->err, "kernel /tmp/mvboot-");
	assert_msg(&g->err, "segment 0 (PT_LOAD at 0x8000000, 0x5000 bytes) lies outside guest RAM");
	o.paddr = GUEST_SIZE - 0x4000;   /* starts inside, ends outside */
	assert_int_equal(load(g, elf_file(g, &o), NULL, NULL, &e), -EFAULT);
	assert_msg(&g->err, "segment 0 (PT_LOAD at 0x3ffc000, 0x5000 bytes) lies outside guest RAM");
	o.paddr = 0x7000;                /* over the zero page */
	assert_int_equal(load(g, elf_file(g, &o), NULL, NULL, &e), -EINVAL);
	assert_msg(&g->err, "overlaps the boot area below 1 MiB");
}

static void assert_elf_segment(const struct guest *g)
{
	for (size_t i = 0; i < ELF_MEMSZ; i++) {
		uint8_t want = i < ELF_FILESZ ? (uint8_t)(i * 13 + 1) : 0;
		if (g->ram[ELF_PADDR + i] != want)
			fail_msg("segment byte %zu is 0x%x, want 0x%x", i, g->ram[ELF_PADDR + i], want);
	}
}

static void test_load_elf_pvh(void **state)
{
	struct guest *g = *state;
	const size_t ilen = 2 * MiB + 1;
	const uint8_t *si = g->ram + 0x6000, *mod, *mm;
	struct mv_boot_entry e;

	memset(g->ram + ELF_PADDR, 0xaa, ELF_MEMSZ);
	assert_int_equal(load(g, elf_file(g, &elf_default), initrd_file(g, ilen), "quiet", &e), 0);
	assert_int_equal(e.mode, MV_ENTRY_PVH32);
	assert_int_equal(e.rip, ELF_PADDR + 0x40);
	assert_int_equal(e.rbx, 0x6000);
	assert_int_equal(rd64(g->ram, 0x510), 0x00cf9b000000ffffULL);
	assert_elf_segment(g);
	assert_int_equal(rd32(si, 0), 0x336ec578);
	assert_int_equal(rd32(si, 4), 1);
	assert_int_equal(rd32(si, 12), 1);
	assert_int_equal(rd64(si, 24), 0x20000);
	assert_string_equal((const char *)g->ram + 0x20000, "quiet");
	assert_int_equal(rd64(si, 32), LAYOUT_ACPI_START);
	assert_true(rd64(si, 16) >= 0x6000 + 56 && rd64(si, 16) < 0x7000);
	mod = g->ram + rd64(si, 16);
	assert_int_equal(rd64(mod, 8), ilen);
	assert_int_equal(rd64(mod, 0) % 4096, 0);
	assert_true(rd64(mod, 0) >= ELF_PADDR + ELF_MEMSZ);
	assert_initrd(g, rd64(mod, 0), ilen);
	assert_true(rd64(si, 40) >= 0x6000 + 56 && rd64(si, 40) + 3 * 24 <= 0x7000);
	assert_int_equal(rd32(si, 48), 3);
	mm = g->ram + rd64(si, 40);
	assert_int_equal(rd64(mm, 24), LAYOUT_EBDA_START);
	assert_int_equal(rd32(mm, 40), MV_E820_RESERVED);
	assert_int_equal(rd64(mm, 48), 1 * MiB);
	assert_int_equal(rd64(mm, 56), GUEST_SIZE - 1 * MiB);
	assert_int_equal(rd32(mm, 64), MV_E820_RAM);
}

static void test_load_elf_long64(void **state)
{
	struct guest *g = *state;
	struct kimg_elf_opts o = elf_default;
	const uint8_t *zp = g->ram + 0x7000;
	struct mv_boot_entry e;

	o.pvh = false;
	assert_int_equal(load(g, elf_file(g, &o), initrd_file(g, 4096), "ro", &e), 0);
	assert_int_equal(e.mode, MV_ENTRY_LONG64);
	assert_int_equal(e.rip, ELF_PADDR + 0x10);
	assert_int_equal(e.rsi, 0x7000);
	assert_int_equal(e.cr3, 0x9000);
	assert_int_equal(rd64(g->ram, 0x510), 0x00af9b000000ffffULL);
	assert_elf_segment(g);
	assert_int_equal(rd16(zp, 0x1fe), 0xaa55);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(rd32(zp, 0x228), 0x20000);
	assert_int_equal(rd32(zp, 0x21c), 4096);
	assert_int_equal(rd32(zp, 0x218), GUEST_SIZE - 4096);
	assert_int_equal(rd64(zp, 0x070), LAYOUT_ACPI_START);
	assert_int_equal(zp[0x1e8], 3);
	assert_low_e820(zp + 0x2d0, GUEST_SIZE);
}

/* ---- e820 ----------------------------------------------------------- */

static int e820_for(uint64_t ram, const struct mv_e820_reserved *res, unsigned int nres, struct mv_e820_entry *out)
{
	struct mv_guestmem mem;
	struct mv_err err;

	assert_int_equal(guestmem__layout(&mem, ram, &err), 0);
	return e820__build(&mem, res, nres, out, MV_E820_MAX);
}

static void assert_e820(const struct mv_e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_e820_128m(void **state)
{
	struct mv_e820_entry e[MV_E820_MAX];

	assert_int_equal(e820_for(128 * MiB, NULL, 0, e), 3);
	assert_e820(&e[0], 0, 0x9fc00, MV_E820_RAM);
	assert_e820(&e[1], 0x9fc00, 0x100000 - 0x9fc00, MV_E820_RESERVED);
	assert_e820(&e[2], 1 * MiB, 127 * MiB, MV_E820_RAM);
}

static void test_e820_3g(void **state)
{
	struct mv_e820_entry e[MV_E820_MAX];

	assert_int_equal(e820_for(3 * GiB, NULL, 0, e), 3);
	assert_e820(&e[2], 1 * MiB, 3 * GiB - 1 * MiB, MV_E820_RAM);
}

static void test_e820_5g(void **state)
{
	const struct mv_e820_reserved res[] = { { LAYOUT_ECAM_START, LAYOUT_ECAM_SIZE } };
	struct mv_e820_entry e[MV_E820_MAX];

	assert_int_equal(e820_for(5 * GiB, res, 1, e), 5);
	assert_e820(&e[0], 0, 0x9fc00, MV_E820_RAM);
	assert_e820(&e[1], 0x9fc00, 0x60400, MV_E820_RESERVED);
	assert_e820(&e[2], 1 * MiB, 3 * GiB - 1 * MiB, MV_E820_RAM);
	assert_e820(&e[3], 0xE8000000, 0x10000000, MV_E820_RESERVED);
	assert_e820(&e[4], 4 * GiB, 2 * GiB, MV_E820_RAM);
}

/* virtio-mem's hotplug region is guest memory but never RAM in e820; it
 * sits above 4 GiB (128 MiB aligned) and the PCI 64-bit window above it. */
static void test_e820_skips_hotplug(void **state)
{
	struct mv_e820_entry e[MV_E820_MAX];
	struct mv_guestmem mem;
	struct mv_err err;
	uint64_t hp = layout__hotplug_start(256 * MiB);

	assert_int_equal(hp, 4 * GiB);
	assert_int_equal(layout__hotplug_start(5 * GiB + 1), 5 * GiB + 128 * MiB);
	assert_int_equal(guestmem__layout(&mem, 256 * MiB, &err), 0);
	assert_int_equal(guestmem__map_hotplug(&mem, hp, 512 * MiB, NULL, &err), 0);
	assert_int_equal(guestmem__map_hotplug(&mem, 128 * MiB, 128 * MiB, NULL, &err), -EINVAL); /* overlaps RAM */
	assert_int_equal(e820__build(&mem, NULL, 0, e, MV_E820_MAX), 3);
	assert_e820(&e[2], 1 * MiB, 255 * MiB, MV_E820_RAM);
	assert_int_equal(mem.ram_size, 256 * MiB);
	assert_int_equal(guestmem__end(&mem), 4 * GiB + 512 * MiB);
	assert_int_equal(layout__pci_mmio64_start(guestmem__end(&mem)), 256 * GiB);
	assert_int_equal(layout__pci_mmio64_start(300 * GiB), 512 * GiB);
	guestmem__unmap(&mem);
}

static void test_e820_too_many(void **state)
{
	struct mv_e820_reserved res[MV_E820_MAX];
	struct mv_e820_entry e[MV_E820_MAX];

	for (unsigned int i = 0; i < MV_E820_MAX; i++)
		res[i] = (struct mv_e820_reserved){ 8 * GiB + (MV_E820_MAX - i) * 4096, 4096 };
	assert_int_equal(e820_for(128 * MiB, res, MV_E820_MAX - 3, e), MV_E820_MAX);
	for (unsigned int i = 1; i < MV_E820_MAX; i++)
		assert_true(e[i - 1].addr < e[i].addr);
	assert_int_equal(e820_for(128 * MiB, res, MV_E820_MAX - 2, e), -E2BIG);
	res[0] = (struct mv_e820_reserved){ UINT64_MAX - 10, 4096 };
	assert_int_equal(e820_for(128 * MiB, res, 1, e), -EINVAL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_probe_bzimage), T(test_probe_truncated), T(test_probe_protocol_204), T(test_probe_no_xlf64),
		T(test_probe_random), T(test_probe_empty), T(test_probe_missing), T(test_probe_elf_aarch64),
		T(test_probe_elf_phdrs_beyond_eof), T(test_probe_elf_pvh), T(test_parse_buffer),
		T(test_load_bzimage), T(test_load_initrd_below_max), T(test_load_initrd_too_large),
		T(test_load_initrd_missing), T(test_load_cmdline_too_long), T(test_load_kernel_too_big),
		T(test_rsdp_needs_protocol_214), T(test_page_tables_and_gdt), T(test_load_elf_outside_ram),
		T(test_load_elf_pvh), T(test_load_elf_long64),
		cmocka_unit_test(test_e820_128m), cmocka_unit_test(test_e820_3g), cmocka_unit_test(test_e820_5g),
		cmocka_unit_test(test_e820_too_many), cmocka_unit_test(test_e820_skips_hotplug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
