/* libFuzzer target: the split virtqueue walker (devices/virtio/virtqueue.c)
 * over guest RAM the fuzzer writes.
 *
 * The input is copied to the start of a 64 KiB guest RAM at GPA 0x10000
 * (the rest is zero); its first bytes also configure the queue:
 *   in[0] % 11  log2 of the queue size (1..1024)
 *   in[1]       bit 0 INDIRECT_DESC, bit 1 EVENT_IDX negotiated
 * The rings are packed from offset 0x10 (so the input writes them directly):
 * descriptors at 0x10, the available ring right after them, the used ring
 * after that (4-aligned).
 * Every popped chain is pushed back; the loop pops at most 2 * size + 2
 * times. Invariants: every segment lies in guest RAM, readable segments
 * come first, a chain has at most VIRTQ_MAX_SIZE segments, a broken queue
 * stays broken, and the walk terminates (libFuzzer's timeout). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL
#define DESC_OFF 0x10ULL

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool in_ram(const uint8_t *ram, const struct iovec *v)
{
	const uint8_t *p = v->iov_base;

	return p >= ram && p <= ram + RAM_SIZE && v->iov_len <= (size_t)(ram + RAM_SIZE - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE] __attribute__((aligned(64)));
	static struct mv_virtq_req req;
	struct mv_guestmem mem = { 0 };
	struct mv_virtq q;
	uint64_t avail_off, used_off;
	uint16_t qsize;
	uint64_t features = 0;
	int ret = 0;

	if (size < 2)
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data, MIN(size, sizeof(ram)));
	qsize = (uint16_t)(1u << (data[0] % 11));
	if (data[1] & 1)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 2)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (guestmem__add_region(&mem, RAM_GPA, RAM_SIZE, ram) < 0)
		__builtin_trap();
	avail_off = DESC_OFF + 16ULL * qsize;
	used_off = ALIGN_UP(avail_off + 6 + 2ULL * qsize, 4);
	if (virtq__setup(&q, &mem, qsize, RAM_GPA + DESC_OFF, RAM_GPA + avail_off, RAM_GPA + used_off, features) < 0)
		return 0;
	for (unsigned int n = 0; n < 2u * qsize + 2; n++) {
		ret = virtq__pop(&q, &req);
		if (ret <= 0)
			break;
		check(req.head < qsize);
		check(req.nout + req.nin <= VIRTQ_MAX_SIZE);
		for (unsigned int i = 0; i < req.nout + req.nin; i++) {
			check(in_ram(ram, &req.iov[i]));
			check(req.iov[i].iov_len > 0);
		}
		if (req.nin)
			virtq__copy_to_req(&req, data, MIN(size, req.in_len));
		virtq__push(&q, req.head, (uint32_t)req.in_len);
		(void)virtq__should_notify(&q);
	}
	if (ret < 0) {
		check(ret == -74 /* EBADMSG */ && q.broken);
		check(virtq__pop(&q, &req) == -74);
	}
	return 0;
}
