/* libFuzzer target: the input is a kernel file. It goes through the header
 * parser (bzImage / ELF + PVH notes) and, when that accepts it, through the
 * whole loader into a 32 MiB guest with a command line, a small initrd
 * (odd sizes) and, for sizes with bit 1 clear, an LZ4 payload unpacked on
 * the host (kunpack.c; seed bzimage-lz4-pvh).
 *
 * Build and run:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -I. tests/fuzz/kernel_header_fuzz.c \
 *     core/x86/{boot,bzimage,elfload,e820,bootmem,kfile,kunpack}.c core/{guestmem,err,log}.c \
 *     -llz4 -o /tmp/kernel_header_fuzz
 *   mkdir -p /tmp/kh_corpus && /tmp/kernel_header_fuzz -max_total_time=60 -artifact_prefix=/tmp/ \
 *     /tmp/kh_corpus tests/fuzz/corpus/kernel_header
 *
 * Invariants: the parser and loader never read outside the input nor write
 * outside the guest buffer (ASan); every failure has a message naming the
 * kernel, the initrd or the command line; a successful load leaves a sane
 * entry, inside guest RAM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/x86/boot.h"
#include "core/x86/kimage.h"
#include "core/x86/layout.h"

#define GUEST_SIZE (32 * MiB)
#define INITRD_SIZE (64 * KiB)

static struct mv_guestmem mem;
static char initrd_path[64];

static void init_once(void)
{
	static uint8_t initrd[INITRD_SIZE];
	int fd;

	if (mem.nregions)
		return;
	if (guestmem__add_region(&mem, 0, GUEST_SIZE, calloc(1, GUEST_SIZE)) < 0 || !mem.regions[0].hva)
		abort();
	fd = memfd_create("initrd", 0);
	memset(initrd, 0x5a, sizeof(initrd));
	if (fd < 0 || write(fd, initrd, sizeof(initrd)) != (ssize_t)sizeof(initrd))
		abort();
	snprintf(initrd_path, sizeof(initrd_path), "/proc/self/fd/%d", fd);
}

static void check_failure(const struct mv_err *err)
{
	if (!err->msg[0] || (strncmp(err->msg, "kernel <fuzz>: ", 15) &&
			     strncmp(err->msg, "kernel <fuzz> (unpacked vmlinux): ", 34) &&
			     strncmp(err->msg, "initrd ", 7) && strncmp(err->msg, "command line is ", 16))) {
		fprintf(stderr, "unexpected error message: \"%s\"\n", err->msg);
		abort();
	}
}

static void check_entry(const struct mv_boot_entry *e)
{
	if (e->mode != MV_ENTRY_LONG64 && e->mode != MV_ENTRY_PVH32)
		abort();
	if (!guestmem__range(&mem, e->rip, 1))
		abort();
	if (e->mode == MV_ENTRY_LONG64 && (e->rsi != LAYOUT_ZERO_PAGE || e->cr3 != LAYOUT_PML4))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_boot_request req = {
		.kernel_path = "<fuzz>", .cmdline = "console=ttyS0", .acpi_rsdp = LAYOUT_ACPI_START,
	};
	struct mv_kernel_info info;
	struct mv_boot_entry entry;
	struct mv_err err = { "" };
	struct mv_kfile kf;

	init_once();
	if (boot__parse_kernel_header(data, size, &info, &err) < 0) {
		if (strncmp(err.msg, "kernel <buffer>: ", 17))
			abort();
		return 0;
	}
	if (info.file_size != size)
		abort();
	kfile__from_buffer(&kf, "<fuzz>", data, size);
	req.initrd_path = (size & 1) ? initrd_path : NULL;
	req.unpack_kernel = !(size & 2);
	if (boot__load_kfile(&mem, &req, &kf, &entry, &err) < 0)
		check_failure(&err);
	else
		check_entry(&entry);
	return 0;
}
