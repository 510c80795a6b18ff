/* pvpanic: the port, its DSDT device, and the ELF core writer used by
 * vm:dump_memory (both are what a guest panic goes through). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/elfcore.h"
#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/platform/pvpanic.h"
#include "tests/unit/support/iasl.h"

#define MAX_EVENTS 16

struct ctx {
	struct mv_iobus bus;
	struct mv_pvpanic *dev;
	unsigned int nevents;
	uint8_t events[MAX_EVENTS];
};

static void on_event(void *opaque, uint8_t events)
{
	struct ctx *c = opaque;

	if (c->nevents < MAX_EVENTS)
		c->events[c->nevents] = events;
	c->nevents++;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_pvpanic_params p = { .event = on_event, .opaque = c };

	if (!c)
		return -1;
	iobus__init(&c->bus, "pio");
	if (pvpanic__create(&c->bus, &p, &c->dev, NULL) < 0) {
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

	pvpanic__destroy(c->dev);
	iobus__destroy(&c->bus);
	free(c);
	return 0;
}

static void wr(struct ctx *c, uint64_t port, uint32_t v, uint32_t len)
{
	iobus__access(&c->bus, port, &v, len, true);
}

/* The guest's driver keeps only the events a read returns. */
static void test_read(void **state)
{
	struct ctx *c = *state;
	uint32_t v = 0xA5A5A5A5;

	assert_true(iobus__access(&c->bus, PVPANIC_PORT, &v, 1, false));
	assert_int_equal(v, 0xA5A5A503); /* one byte written: 0x3 */
	assert_int_equal(PVPANIC_EVENTS, 0x3);
	/* wider accesses overrun the one-byte port: the bus answers them */
	v = 0;
	assert_false(iobus__access(&c->bus, PVPANIC_PORT, &v, 2, false));
	assert_int_equal(v, 0xFFFF);
	assert_false(iobus__access(&c->bus, PVPANIC_PORT - 1, &v, 2, false));
	assert_int_equal(c->nevents, 0); /* reads report nothing */
}

static void test_writes(void **state)
{
	struct ctx *c = *state;

	wr(c, PVPANIC_PORT, PVPANIC_PANICKED, 1);
	wr(c, PVPANIC_PORT, PVPANIC_CRASH_LOADED, 1);
	wr(c, PVPANIC_PORT, 0x3, 1);
	wr(c, PVPANIC_PORT, 0xFD, 1); /* other bits dropped: PANICKED */
	assert_int_equal(c->nevents, 4);
	assert_int_equal(c->events[0], PVPANIC_PANICKED);
	assert_int_equal(c->events[1], PVPANIC_CRASH_LOADED);
	assert_int_equal(c->events[2], PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(c->events[3], PVPANIC_PANICKED);
}

/* No event bit, other ports, other sizes: nothing reported. */
static void test_ignored(void **state)
{
	struct ctx *c = *state;

	wr(c, PVPANIC_PORT, 0, 1);
	wr(c, PVPANIC_PORT, 0xFC, 1);
	wr(c, PVPANIC_PORT, 0x0101, 2);
	wr(c, PVPANIC_PORT, 0x01010101, 4);
	wr(c, PVPANIC_PORT - 1, 0x0101, 2);
	wr(c, PVPANIC_PORT + 1, 1, 1);
	wr(c, PVPANIC_PORT - 1, 1, 1);
	assert_int_equal(c->nevents, 0);
}

/* The port is taken; a second device on it is refused. */
static void test_conflict(void **state)
{
	struct ctx *c = *state;
	struct mv_pvpanic_params p = { .event = on_event, .opaque = c };
	struct mv_pvpanic *d = NULL;
	struct mv_err err = { "" };

	assert_int_equal(pvpanic__create(&c->bus, &p, &d, &err), -EEXIST);
	assert_null(d);
	assert_non_null(strstr(err.msg, "pvpanic"));
	pvpanic__destroy(NULL);
}

/* --- DSDT through iasl --- */

static void test_dsdt(void **state)
{
	static const char *const want =
		"Scope(\\_SB){Device(PEVT){Name(_HID,\"QEMU0001\")"
		"Name(_CRS,ResourceTemplate(){IO(Decode16,0x0505,0x0505,0x01,0x01,)})"
		"Name(_STA,0x0F)}}";
	struct ctx *c = *state;
	struct mv_aml a;
	size_t at, sb;
	char *dsl;

	aml__init(&a);
	at = aml__table_begin(&a, "DSDT", 2);
	sb = aml__scope_begin(&a, "\\_SB_");
	pvpanic__dsdt_hook(&a, c->dev);
	aml__scope_end(&a, sb);
	aml__table_end(&a, at);
	assert_int_equal(aml__error(&a), 0);
	dsl = iasl__disassemble(aml__bytes(&a), aml__len(&a), 0);
	iasl__squeeze(dsl);
	if (!strstr(dsl, want))
		fail_msg("disassembly lacks \"%s\":\n%s", want, dsl);
	free(dsl);
	aml__free(&a);
}

static void test_dsdt_needs_device(void **state)
{
	struct mv_aml a;

	aml__init(&a);
	pvpanic__dsdt_hook(&a, NULL);
	assert_int_equal(aml__error(&a), -EINVAL);
	aml__free(&a);
}

/* --- ELF core --- */

static void fake_cpu(struct mv_elfcore_cpu *c, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	c->valid = true;
	c->regs.rip = 0xffffffff81000000ULL + seed;
	c->regs.rsp = 0xffffc90000001000ULL + seed;
	c->regs.rax = seed;
	c->regs.rflags = 0x246;
	c->sregs.cr3 = 0x1000000 + seed * 0x1000;
	c->sregs.cs.selector = 0x10;
	c->sregs.idt.base = 0xfffffe0000000000ULL;
}

/* The notes of vCPU i: NT_PRSTATUS "CORE" then "QEMU". */
static void check_notes(const uint8_t *p, const Elf64_Phdr *note, unsigned int ncpus)
{
	const uint8_t *n = p + note->p_offset, *end = n + note->p_filesz;

	for (unsigned int i = 0; i < ncpus; i++) {
		Elf64_Nhdr nh;
		struct elf_prstatus st;
		uint64_t q[64];

		memcpy(&nh, n, sizeof(nh));
		assert_int_equal(nh.n_type, NT_PRSTATUS);
		assert_int_equal(nh.n_namesz, 5);
		assert_memory_equal(n + sizeof(nh), "CORE", 5);
		assert_int_equal(nh.n_descsz, sizeof(st));
		memcpy(&st, n + sizeof(nh) + 8, sizeof(st));
		assert_int_equal(st.pr_pid, i + 1);
		assert_int_equal(((struct user_regs_struct *)&st.pr_reg)->rip, 0xffffffff81000000ULL + i);
		assert_int_equal(((struct user_regs_struct *)&st.pr_reg)->rax, i);
		assert_int_equal(((struct user_regs_struct *)&st.pr_reg)->cs, 0x10);
		n += sizeof(nh) + 8 + ALIGN_UP(nh.n_descsz, 4);
		memcpy(&nh, n, sizeof(nh));
		assert_memory_equal(n + sizeof(nh), "QEMU", 5);
		assert_int_equal(nh.n_type, 0);
		assert_true(nh.n_descsz <= sizeof(q));
		memcpy(q, n + sizeof(nh) + 8, nh.n_descsz);
		assert_int_equal((uint32_t)q[0], 1);             /* version */
		assert_int_equal((uint32_t)(q[0] >> 32), nh.n_descsz); /* size */
		assert_int_equal(q[17], 0xffffffff81000000ULL + i);   /* rip */
		assert_int_equal(q[nh.n_descsz / 8 - 2], 0x1000000 + i * 0x1000); /* cr[3] */
		n += sizeof(nh) + 8 + ALIGN_UP(nh.n_descsz, 4);
	}
	assert_ptr_equal(n, end);
}

/* 5 GiB of RAM: [0, 3 GiB) and [4 GiB, 6 GiB), as guestmem lays it out. */
static void test_core_headers_split_at_hole(void **state)
{
	struct mv_guestmem mem;
	struct mv_elfcore_cpu cpus[3];
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	uint8_t *buf;
	size_t len;

	assert_int_equal(guestmem__layout(&mem, 5 * GiB, NULL), 0);
	for (unsigned int i = 0; i < 3; i++)
		fake_cpu(&cpus[i], i);
	assert_int_equal(elfcore__headers(&mem, cpus, 3, &buf, &len), 0);
	eh = (const Elf64_Ehdr *)buf;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh->e_ident[EI_DATA], ELFDATA2LSB);
	assert_int_equal(eh->e_type, ET_CORE);
	assert_int_equal(eh->e_machine, EM_X86_64);
	assert_int_equal(eh->e_phentsize, sizeof(Elf64_Phdr));
	assert_int_equal(eh->e_phnum, 3);
	assert_int_equal(len % 4096, 0);
	ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	assert_int_equal(ph[0].p_type, PT_NOTE);
	assert_true(ph[0].p_offset + ph[0].p_filesz <= len);
	check_notes(buf, &ph[0], 3);
	assert_int_equal(ph[1].p_type, PT_LOAD);
	assert_int_equal(ph[1].p_paddr, 0);
	assert_int_equal(ph[1].p_vaddr, 0);
	assert_int_equal(ph[1].p_filesz, LAYOUT_MMIO_HOLE_START);
	assert_int_equal(ph[1].p_memsz, LAYOUT_MMIO_HOLE_START);
	assert_int_equal(ph[1].p_offset, len);
	assert_int_equal(ph[2].p_type, PT_LOAD);
	assert_int_equal(ph[2].p_paddr, LAYOUT_MMIO_HOLE_END);
	assert_int_equal(ph[2].p_vaddr, LAYOUT_MMIO_HOLE_END);
	assert_int_equal(ph[2].p_filesz, 2 * GiB);
	assert_int_equal(ph[2].p_offset, len + LAYOUT_MMIO_HOLE_START);
	free(buf);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *p;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* A whole core with two small regions (one above 4 GiB) reads back: data
 * at each PT_LOAD's offset, zero pages (skipped) as zeros. */
static void test_core_write(void **state)
{
	static uint8_t low[4 * 4096], high[2 * 4096];
	char path[] = "/tmp/mv-core-test-XXXXXX";
	struct mv_guestmem mem = { 0 };
	struct mv_elfcore_cpu cpu;
	const Elf64_Phdr *ph;
	struct mv_err err = { "" };
	uint8_t *core;
	size_t len;
	int fd;

	memset(low, 0, sizeof(low));
	memset(low, 0x11, 4096);              /* page 0 */
	memset(low + 2 * 4096 + 7, 0x22, 1);  /* page 2: one byte; pages 1, 3 zero */
	memset(high, 0x33, sizeof(high));
	assert_int_equal(guestmem__add_region(&mem, 0, sizeof(low), low), 0);
	assert_int_equal(guestmem__add_region(&mem, 4 * GiB, sizeof(high), high), 0);
	fake_cpu(&cpu, 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(elfcore__write(fd, &mem, &cpu, 1, &err), 0);
	close(fd);
	core = read_file(path, &len);
	unlink(path);
	ph = (const Elf64_Phdr *)(core + ((const Elf64_Ehdr *)core)->e_phoff);
	assert_int_equal(((const Elf64_Ehdr *)core)->e_phnum, 3);
	check_notes(core, &ph[0], 1);
	assert_int_equal(ph[1].p_paddr, 0);
	assert_int_equal(ph[2].p_paddr, 4 * GiB);
	assert_int_equal(len, ph[2].p_offset + sizeof(high));
	assert_memory_equal(core + ph[1].p_offset, low, sizeof(low));
	assert_memory_equal(core + ph[2].p_offset, high, sizeof(high));
	free(core);
}

static void test_core_write_error(void **state)
{
	static uint8_t ram[4096];
	struct mv_guestmem mem = { 0 };
	struct mv_err err = { "" };
	int fd = open("/dev/null", O_RDONLY);

	ram[0] = 1;
	assert_int_equal(guestmem__add_region(&mem, 0, sizeof(ram), ram), 0);
	assert_true(fd >= 0);
	assert_int_equal(elfcore__write(fd, &mem, NULL, 0, &err), -EBADF);
	assert_non_null(strstr(err.msg, "writing the core"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt, setup, teardown),
		cmocka_unit_test(test_dsdt_needs_device),
		cmocka_unit_test(test_core_headers_split_at_hole),
		cmocka_unit_test(test_core_write),
		cmocka_unit_test(test_core_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
