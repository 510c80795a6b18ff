/* libFuzzer target: virtio-console (devices/virtio/console.c) behind the
 * modern PCI transport, driven by a hostile guest through BAR 0, config
 * space and guest RAM it writes itself, and by host input arriving at any
 * time; kicks are processed inline.
 *
 * The input is a sequence of records, each an op byte: bits 0-1 the size
 * (1, 2, 4, 8), bit 2 write, bits 3-4 the target:
 *   0: BAR 0 at the next 2 bytes (& 0x7FFF);
 *   1: config space at the next 2 bytes (& 0xFFF; size 8 reads as 4);
 *   2: bit 6 clear: one I/O thread pass over queue (op >> 5) & 1;
 *      bit 6 set: host input of the next byte's count (& 63) of bytes;
 *   3: guest RAM (64 KiB at GPA 0x10000) at the next 2 bytes: 8 bytes
 *      from the input are stored there.
 * A write takes its value from the next `size` bytes (zero padded).
 * Invariants (besides ASan/UBSan): the used index moves only while the
 * device is live, never more than the queue size per pass; host input
 * held never exceeds its bound and only shrinks in a receiveq pass; the
 * sink gets only bytes of transmitq passes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static uint64_t sunk;

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
	volatile uint8_t x = 0;

	for (size_t i = 0; i < len; i++) /* ASan: the whole buffer is readable */
		x ^= buf[i];
	(void)x;
	sunk += len;
}

static void process(struct mv_virtio_console *con, unsigned int q)
{
	uint64_t sunk_before = sunk;
	size_t pending = virtio_console__pending(con);

	check(vdrv__fuzz_process(virtio_console__pci(con), q));
	check(q == VIRTIO_CONSOLE_TX_QUEUE || sunk == sunk_before);
	check(q == VIRTIO_CONSOLE_RX_QUEUE ? virtio_console__pending(con) <= pending
					    : virtio_console__pending(con) == pending);
}

static void input(struct mv_virtio_console *con, const uint8_t **p, const uint8_t *end)
{
	size_t n = (size_t)vdrv__take(p, end, 1) & 63, before = virtio_console__pending(con), took;

	n = MIN(n, (size_t)(end - *p));
	took = virtio_console__input(con, *p, n);
	*p += n;
	check(took <= n && virtio_console__pending(con) == before + took);
	check(virtio_console__pending(con) <= VIRTIO_CONSOLE_RX_BUF);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE] __attribute__((aligned(64)));
	static bool quiet;
	struct mv_guestmem mem = { 0 };
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	const struct mv_virtio_console_params cp = { .output = sink };
	const uint8_t *p = data, *end = data + size;
	struct mv_virtio_console *con;
	struct mv_virtio_pci *vp;

	if (!quiet) {
		log__set_level(MV_LOG_ERROR);
		quiet = true;
	}
	memset(ram, 0, sizeof(ram));
	if (guestmem__add_region(&mem, RAM_GPA, RAM_SIZE, ram) < 0 ||
	    virtio_console__create(&env, "console", &cp, &con, NULL) < 0)
		__builtin_trap();
	vp = virtio_console__pci(con);
	while (p < end) {
		uint8_t op = *p++;

		if (vdrv__fuzz_access(vp, ram, sizeof(ram), op, &p, end))
			continue;
		if (op & 0x40)
			input(con, &p, end);
		else
			process(con, (op >> 5) & 1);
	}
	virtio_console__destroy(con);
	return 0;
}
