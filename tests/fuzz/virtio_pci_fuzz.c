/* libFuzzer target: the virtio modern PCI transport with virtio-rng behind
 * it (devices/virtio/{virtio_pci,rng,virtqueue}.c), driven by a hostile
 * guest through BAR 0, config space (the PCI cfg access window included)
 * and guest RAM it writes itself; kicks are processed inline.
 *
 * The input is a sequence of records, each an op byte: bits 0-1 the size
 * (1, 2, 4, 8), bit 2 write, bits 3-4 the target:
 *   0: BAR 0 at the next 2 bytes (& 0x7FFF);
 *   1: config space at the next 2 bytes (& 0xFFF; size 8 reads as 4);
 *   2: one I/O thread pass over queue (op >> 5) & 1;
 *   3: guest RAM (64 KiB at GPA 0x10000) at the next 2 bytes: 8 bytes
 *      from the input are stored there.
 * A write takes its value from the next `size` bytes (zero padded).
 * Invariants (besides ASan/UBSan): the used index the device writes moves
 * only while the device is live, and never more than the queue size per
 * pass. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE] __attribute__((aligned(64)));
	static bool quiet;
	struct mv_guestmem mem = { 0 };
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	const uint8_t *p = data, *end = data + size;
	struct mv_virtio_rng *rng;
	struct mv_virtio_pci *vp;

	if (!quiet) {
		log__set_level(MV_LOG_ERROR);
		quiet = true;
	}
	memset(ram, 0, sizeof(ram));
	if (guestmem__add_region(&mem, RAM_GPA, RAM_SIZE, ram) < 0 || virtio_rng__create(&env, "rng", &rng, NULL) < 0)
		__builtin_trap();
	vp = virtio_rng__pci(rng);
	while (p < end) {
		uint8_t op = *p++;

		if (!vdrv__fuzz_access(vp, ram, sizeof(ram), op, &p, end))
			check(vdrv__fuzz_process(vp, 0));
	}
	virtio_rng__destroy(rng);
	return 0;
}
