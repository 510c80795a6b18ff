/* libFuzzer target: virtio-net (devices/virtio/net.c) behind the modern
 * PCI transport, driven by a hostile guest through BAR 0, config space and
 * guest RAM it writes itself, and by frames arriving from the "tap" (a
 * datagram socketpair) at any time; kicks and tap readiness are processed
 * inline.
 *
 * The input is a sequence of records, each an op byte: bits 0-1 the size
 * (1, 2, 4, 8), bit 2 write, bits 3-4 the target:
 *   0: BAR 0 at the next 2 bytes (& 0x7FFF);
 *   1: config space at the next 2 bytes (& 0xFFF; size 8 reads as 4);
 *   2: bit 6 clear: one I/O thread pass over queue (op >> 5) & 1;
 *      bit 6 set: a frame from the tap, the next 2 bytes its length
 *      (& 0x1FFF, the 12-byte header included) from the input, then a
 *      pass over the tap fd;
 *   3: guest RAM (64 KiB at GPA 0x10000) at the next 2 bytes: 8 bytes
 *      from the input are stored there.
 * A write takes its value from the next `size` bytes (zero padded).
 * Invariants (besides ASan/UBSan): the used index moves only while the
 * device is live, never more than the queue size per pass; what reaches
 * the tap is a header plus a frame of a legal length. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* Whatever transmit sent must be a header and a legal frame. */
static void drain(int peer)
{
	static uint8_t buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 1];
	ssize_t n;

	while ((n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
		check(n >= VIRTIO_NET_HDR_LEN + VIRTIO_NET_MIN_FRAME && n <= VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME);
}

static void frame_in(struct mv_virtio_pci *vp, int peer, const uint8_t **p, const uint8_t *end)
{
	size_t n = (size_t)vdrv__take(p, end, 2) & 0x1FFF;
	struct mv_virtq *vq = &vp->q[VIRTIO_NET_RX_QUEUE].vq;
	uint16_t before = vq->used_idx;
	bool live = vq->ready && (vp->status & VIRTIO_STATUS_DRIVER_OK) && !(vp->status & VIRTIO_STATUS_NEEDS_RESET);

	n = MIN(n, (size_t)(end - *p));
	if (send(peer, *p, n, MSG_DONTWAIT) < 0 && errno != EAGAIN)
		__builtin_trap();
	*p += n;
	virtio_pci__process_fd(vp, POLLIN);
	check(live || vq->used_idx == before);
	check(!vq->ready || (uint16_t)(vq->used_idx - before) <= vq->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE] __attribute__((aligned(64)));
	static bool quiet;
	struct mv_guestmem mem = { 0 };
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	struct mv_virtio_net_config nc = { .id = "net0", .fd_offloads = 0x1F, .mac = { 0x52, 0x54, 0, 1, 2, 3 } };
	const uint8_t *p = data, *end = data + size;
	struct mv_virtio_net *net;
	struct mv_virtio_pci *vp;
	int sv[2];

	if (!quiet) {
		log__set_level(MV_LOG_ERROR);
		quiet = true;
	}
	memset(ram, 0, sizeof(ram));
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		__builtin_trap();
	nc.fd = sv[1];
	if (guestmem__add_region(&mem, RAM_GPA, RAM_SIZE, ram) < 0 || virtio_net__create(&env, &nc, &net, NULL) < 0)
		__builtin_trap();
	vp = virtio_net__pci(net);
	while (p < end) {
		uint8_t op = *p++;

		if (vdrv__fuzz_access(vp, ram, sizeof(ram), op, &p, end))
			continue;
		if (op & 0x40)
			frame_in(vp, sv[0], &p, end);
		else
			check(vdrv__fuzz_process(vp, (op >> 5) & 1));
		drain(sv[0]);
	}
	virtio_net__destroy(net);
	close(sv[0]);
	return 0;
}
