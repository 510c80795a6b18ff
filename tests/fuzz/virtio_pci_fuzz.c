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
#include "core/x86/layout.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static int r_add(void *o, const struct mv_msi_msg *m, unsigned int *gsi)
{
	*gsi = LAYOUT_MSI_GSI_BASE;
	return 0;
}
static int r_update(void *o, unsigned int gsi, const struct mv_msi_msg *m) { return 0; }
static void r_del(void *o, unsigned int gsi) {}
static int r_bind(void *o, unsigned int gsi, int fd) { return 0; }
static int r_unbind(void *o, unsigned int gsi, int fd) { return 0; }
static const struct mv_msi_router_ops router_ops = { r_add, r_update, r_del, r_bind, r_unbind };

static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && *p < end; i++, (*p)++)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

static void process(struct mv_virtio_pci *vp, unsigned int q)
{
	struct mv_virtq *vq = &vp->q[q].vq;
	uint16_t before = vq->used_idx;
	bool live = vq->ready && (vp->status & VIRTIO_STATUS_DRIVER_OK) && !(vp->status & VIRTIO_STATUS_NEEDS_RESET);

	virtio_pci__process(vp, q);
	check(live || vq->used_idx == before);
	check(!vq->ready || (uint16_t)(vq->used_idx - before) <= vq->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE] __attribute__((aligned(64)));
	static bool quiet;
	struct mv_guestmem mem = { 0 };
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &router_ops, NULL }, .no_thread = true };
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
		unsigned int len = 1u << (op & 3), target = (op >> 3) & 3;
		bool is_write = op & 4;
		uint64_t off, v;

		if (target == 2) {
			process(vp, 0);
			continue;
		}
		off = take(&p, end, 2);
		if (target == 3) {
			v = take(&p, end, 8);
			memcpy(ram + (off & (RAM_SIZE - 8)), &v, 8);
			continue;
		}
		v = is_write ? take(&p, end, len) : 0;
		if (target == 0)
			virtio_pci__bar_access(vp, off & 0x7FFF, &v, len, is_write);
		else if (is_write)
			pci__cfg_write(&vp->pci, (uint32_t)off & 0xFFF, MIN(len, 4u), (uint32_t)v);
		else
			(void)pci__cfg_read(&vp->pci, (uint32_t)off & 0xFFF, MIN(len, 4u));
	}
	virtio_rng__destroy(rng);
	return 0;
}
