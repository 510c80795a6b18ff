/* virtio-net (devices/virtio/net.c) behind the modern PCI transport, driven
 * as the guest's driver would, with a datagram socketpair standing in for
 * the tap (same framing: 12-byte virtio_net_hdr, then the frame): features
 * and config (MAC, link up); transmit passes a checked header and the
 * frame, drops a bad header and goes on, and a writable buffer or a chain
 * shorter than the header is DEVICE_NEEDS_RESET; receive fills one chain
 * or, with MRG_RXBUF, several with num_buffers set, holds a frame while no
 * buffers are posted (the tap watch off: backpressure) and delivers it at
 * the next receiveq kick; a frame too large for a non-mergeable chain is
 * dropped; a readable or too short receive buffer resets the device; reset
 * and a new DRIVER_OK work; with the I/O thread, frames flow both ways. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/x86/layout.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x80000ULL
#define QSIZE 16
#define RING(q) (RAM_GPA + 0x1000 + 0x3000ULL * (q))
#define DESC(q) RING(q)
#define AVAIL(q) (RING(q) + 0x1000)
#define USED(q) (RING(q) + 0x2000)
#define BUF (RAM_GPA + 0x10000)
#define RXQ VIRTIO_NET_RX_QUEUE
#define TXQ VIRTIO_NET_TX_QUEUE
#define HDR VIRTIO_NET_HDR_LEN
#define F(b) (1ULL << (b))
#define BASE_FEATURES (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CSUM))

static unsigned int next_gsi = LAYOUT_MSI_GSI_BASE;

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	struct mv_virtio_net *net;
	struct mv_virtio_pci *vp;
	int peer;                   /* the "host side" of the tap */
	int backend_fd;             /* the device's side */
	struct vdrv_ring ring[2];
};

static int create(void **state, bool no_thread)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mv_virtio_env env = { .vm_fd = -1, .router = { &vdrv__router_ops, &next_gsi }, .no_thread = no_thread };
	struct mv_virtio_net_config nc = {
		.id = "net0", .fd_offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
	};
	struct mv_err err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[0];
	nc.fd = f->backend_fd = sv[1];
	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	env.mem = &f->mem;
	assert_int_equal(virtio_net__create(&env, &nc, &f->net, &err), 0);
	f->vp = virtio_net__pci(f->net);
	for (uint16_t q = 0; q < 2; q++)
		f->ring[q] = (struct vdrv_ring){ .ram = f->ram, .ram_gpa = RAM_GPA, .desc = DESC(q), .avail = AVAIL(q),
						 .used = USED(q), .size = QSIZE };
	*state = f;
	return 0;
}

static int setup(void **state) { return create(state, true); }
static int setup_thread(void **state) { return create(state, false); }

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_net__destroy(f->net);
	close(f->peer);
	free(f->ram);
	free(f);
	return 0;
}

static void driver_ok(struct fx *f, uint64_t features)
{
	assert_true(vdrv__negotiate(f->vp, features) & VIRTIO_STATUS_FEATURES_OK);
	vdrv__setup_queue(f->vp, RXQ, QSIZE, DESC(RXQ), AVAIL(RXQ), USED(RXQ));
	vdrv__setup_queue(f->vp, TXQ, QSIZE, DESC(TXQ), AVAIL(TXQ), USED(TXQ));
	assert_true(vdrv__driver_ok(f->vp) & VIRTIO_STATUS_DRIVER_OK);
}

static uint8_t *at(struct fx *f, uint64_t gpa) { return f->ram + (gpa - RAM_GPA); }
static uint16_t used_idx(struct fx *f, uint16_t q) { return vdrv__used_idx(&f->ring[q]); }
static struct virtq_used_elem used_elem(struct fx *f, uint16_t q, uint16_t i)
{
	return vdrv__used_elem(&f->ring[q], i);
}

static uint16_t post(struct fx *f, uint16_t q, uint64_t gpa, uint32_t len, bool write)
{
	struct vdrv_seg s = { gpa, len, write };

	return vdrv__post_chain(&f->ring[q], &s, 1);
}

static void fill_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static ssize_t peer_recv(struct fx *f, uint8_t *buf, size_t len)
{
	return recv(f->peer, buf, len, MSG_DONTWAIT);
}

static void info(struct fx *f, struct mv_pci_info *in)
{
	memset(in, 0, sizeof(*in));
	f->vp->pci.ops->info(&f->vp->pci, in);
}

static bool needs_reset(struct fx *f)
{
	return vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_ids_features_config(void **state)
{
	struct fx *f = *state;
	struct mv_pci_info in = { 0 };
	uint64_t df = vdrv__device_features(f->vp);
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_CLASS_DEVICE, 2), 0x0200);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_NUMQ, 2), 2);
	for (unsigned int b = 0; b < 6; b++)
		assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + b, 1), mac[b]);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_true(df & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(df & F(VIRTIO_NET_F_GUEST_TSO4));
	assert_true(df & F(VIRTIO_NET_F_GUEST_CSUM));
	assert_false(df & F(VIRTIO_NET_F_GUEST_UFO)); /* the peer does not take TUN_F_UFO */
	assert_false(df & F(VIRTIO_NET_F_GUEST_ECN));
	assert_true(df & F(VIRTIO_NET_F_HOST_TSO6));
	f->vp->pci.ops->info(&f->vp->pci, &in);
	assert_string_equal(in.type, "virtio-net");
	assert_string_equal(in.id, "net0");
}

static void test_transmit_header_and_frame(void **state)
{
	struct fx *f = *state;
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16,
				    .num_buffers = 7 };
	struct vdrv_seg s[3] = { { BUF, 5, false }, { BUF + 0x100, 100, false }, { BUF + 0x400, 60, false } };
	uint8_t frame[153], got[512];
	struct mv_pci_info in;
	ssize_t n;

	driver_ok(f, BASE_FEATURES);
	fill_frame(frame, sizeof(frame), 3);
	/* the header split over the first two buffers, the frame after it */
	memcpy(at(f, BUF), &h, 5);
	memcpy(at(f, BUF + 0x100), (uint8_t *)&h + 5, HDR - 5);
	memcpy(at(f, BUF + 0x100) + HDR - 5, frame, 100 - (HDR - 5));
	memcpy(at(f, BUF + 0x400), frame + 100 - (HDR - 5), 60);
	vdrv__post_chain(&f->ring[TXQ], s, 3);
	virtio_pci__process(f->vp, TXQ);
	n = peer_recv(f, got, sizeof(got));
	assert_int_equal(n, HDR + sizeof(frame));
	h.num_buffers = 0; /* cleared on the way out */
	assert_memory_equal(got, &h, HDR);
	assert_memory_equal(got + HDR, frame, sizeof(frame));
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_int_equal(used_elem(f, TXQ, 0).len, 0);
	assert_int_equal(atomic_load(&f->vp->bytes), sizeof(frame));
	info(f, &in);
	assert_true(in.has_rxtx);
	assert_int_equal(in.tx_packets, 1);
	assert_int_equal(in.tx_bytes, sizeof(frame));
	assert_int_equal(in.rx_packets, 0);
}

static void test_transmit_bad_headers_dropped(void **state)
{
	struct fx *f = *state;
	const struct virtio_net_hdr bad[] = {
		{ .flags = 0x80 },                                            /* unknown flag */
		{ .flags = VIRTIO_NET_HDR_F_DATA_VALID },                    /* rx only */
		{ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 60, .csum_offset = 0 }, /* past the frame */
		{ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 },  /* gso without NEEDS_CSUM */
		{ .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 1400 }, /* HOST_UFO not offered */
		{ .flags = 1, .gso_type = 9, .gso_size = 1400 },             /* no such type */
		{ .gso_size = 100 },                                          /* gso_size, no type */
	};
	uint8_t got[256];

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_HOST_TSO4));
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(at(f, BUF + 0x100 * i), &bad[i], HDR);
		post(f, TXQ, BUF + 0x100 * i, HDR + 60, false);
	}
	virtio_pci__process(f->vp, TXQ);
	assert_int_equal(peer_recv(f, got, sizeof(got)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(used_idx(f, TXQ), sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(atomic_load(&f->vp->errors), sizeof(bad) / sizeof(bad[0]));
	assert_false(needs_reset(f));
	/* and the queue goes on: a good one is sent */
	memset(at(f, BUF + 0x1000), 0, HDR);
	post(f, TXQ, BUF + 0x1000, HDR + 60, false);
	virtio_pci__process(f->vp, TXQ);
	assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 60);
}

static void test_check_tx_hdr(void **state)
{
	const uint64_t all = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6);
	struct virtio_net_hdr h = { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1440,
				    .hdr_len = 74, .csum_start = 54, .csum_offset = 16 };

	assert_null(virtio_net__check_tx_hdr(&h, all, 9000));
	assert_non_null(virtio_net__check_tx_hdr(&h, F(VIRTIO_NET_F_CSUM), 9000)); /* TSO6 not negotiated */
	assert_non_null(virtio_net__check_tx_hdr(&h, all, 60));                  /* hdr_len past the frame */
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_non_null(virtio_net__check_tx_hdr(&h, all, 9000));                /* no HOST_ECN */
	h = (struct virtio_net_hdr){ 0 };
	assert_non_null(virtio_net__check_tx_hdr(&h, all, 13));                  /* a runt */
	assert_non_null(virtio_net__check_tx_hdr(&h, all, VIRTIO_NET_MAX_FRAME + 1));
	h.flags = 1;
	h.csum_start = 0xFFFF;
	h.csum_offset = 0xFFFF;                                                  /* no overflow */
	assert_non_null(virtio_net__check_tx_hdr(&h, all, 60000));
}

static void test_transmit_writable_buffer_resets(void **state)
{
	struct fx *f = *state;
	struct vdrv_seg s[2] = { { BUF, HDR + 60, false }, { BUF + 0x100, 16, true } };

	driver_ok(f, BASE_FEATURES);
	vdrv__post_chain(&f->ring[TXQ], s, 2);
	virtio_pci__process(f->vp, TXQ);
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, TXQ), 0);
}

static void test_transmit_short_chain_resets(void **state)
{
	struct fx *f = *state;

	driver_ok(f, BASE_FEATURES);
	post(f, TXQ, BUF, HDR - 1, false);
	virtio_pci__process(f->vp, TXQ);
	assert_true(needs_reset(f));
}

static void peer_send(struct fx *f, size_t frame_len, uint8_t seed)
{
	uint8_t pkt[HDR + 4096] = { 0 };

	assert_true(frame_len <= 4096);
	pkt[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	pkt[10] = 0xAA; /* num_buffers from the tap: the device's to set */
	fill_frame(pkt + HDR, frame_len, seed);
	assert_int_equal(send(f->peer, pkt, HDR + frame_len, 0), (ssize_t)(HDR + frame_len));
}

static void test_receive_mergeable(void **state)
{
	struct fx *f = *state;
	uint8_t frame[2488], got[2488];
	struct mv_pci_info in;

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned int i = 0; i < 4; i++)
		post(f, RXQ, BUF + 0x1000 * i, 1000, true);
	peer_send(f, sizeof(frame), 9);
	fill_frame(frame, sizeof(frame), 9);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(used_elem(f, RXQ, 0).len, 1000);
	assert_int_equal(used_elem(f, RXQ, 1).len, 1000);
	assert_int_equal(used_elem(f, RXQ, 2).len, HDR + sizeof(frame) - 2000);
	assert_int_equal(at(f, BUF)[0], VIRTIO_NET_HDR_F_DATA_VALID);
	assert_int_equal(at(f, BUF)[10] | at(f, BUF)[11] << 8, 3); /* num_buffers */
	memcpy(got, at(f, BUF) + HDR, 1000 - HDR);
	memcpy(got + 1000 - HDR, at(f, BUF + 0x1000), 1000);
	memcpy(got + 2000 - HDR, at(f, BUF + 0x2000), sizeof(frame) - (2000 - HDR));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(atomic_load(&f->vp->watch_events), POLLIN); /* the tap is empty: keep watching */
	info(f, &in);
	assert_int_equal(in.rx_packets, 1);
	assert_int_equal(in.rx_bytes, sizeof(frame));
	assert_int_equal(in.tx_packets, 0);
}

static void test_receive_one_chain_without_mrg(void **state)
{
	struct fx *f = *state;
	uint8_t frame[600];

	driver_ok(f, BASE_FEATURES);
	post(f, RXQ, BUF, 1000, true);
	peer_send(f, sizeof(frame), 1);
	fill_frame(frame, sizeof(frame), 1);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_int_equal(used_idx(f, RXQ), 1);
	assert_int_equal(used_elem(f, RXQ, 0).len, HDR + sizeof(frame));
	assert_int_equal(at(f, BUF)[10] | at(f, BUF)[11] << 8, 1);
	assert_memory_equal(at(f, BUF) + HDR, frame, sizeof(frame));
	/* too large for the next chain: dropped (len 0), the one after is fine */
	post(f, RXQ, BUF + 0x1000, 100, true);
	post(f, RXQ, BUF + 0x2000, 1000, true);
	peer_send(f, 500, 2);
	peer_send(f, 50, 3);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(used_elem(f, RXQ, 1).len, 0);
	assert_int_equal(used_elem(f, RXQ, 2).len, HDR + 50);
	assert_int_equal(atomic_load(&f->vp->errors), 1);
}

static void test_receive_waits_for_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[300];

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	assert_int_equal(atomic_load(&f->vp->watch_events), POLLIN);
	peer_send(f, sizeof(frame), 5);
	fill_frame(frame, sizeof(frame), 5);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(atomic_load(&f->vp->watch_events), 0); /* backpressure: stop reading the tap */
	/* not enough for the frame: both go back to the ring, still waiting */
	post(f, RXQ, BUF, 100, true);
	post(f, RXQ, BUF + 0x1000, 100, true);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(atomic_load(&f->vp->watch_events), 0);
	post(f, RXQ, BUF + 0x2000, 1000, true);
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(at(f, BUF)[10], 3);
	assert_memory_equal(at(f, BUF) + HDR, frame, 100 - HDR);
	assert_memory_equal(at(f, BUF + 0x2000), frame + 200 - HDR, sizeof(frame) - (200 - HDR));
	assert_int_equal(atomic_load(&f->vp->watch_events), POLLIN);
}

static void test_receive_readable_buffer_resets(void **state)
{
	struct fx *f = *state;

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	post(f, RXQ, BUF, 1000, false);
	peer_send(f, 100, 0);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, RXQ), 0);
	/* a broken device does nothing more, and the process goes on */
	virtio_pci__process(f->vp, RXQ);
	assert_int_equal(used_idx(f, RXQ), 0);
}

static void test_receive_short_buffer_resets(void **state)
{
	struct fx *f = *state;

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	post(f, RXQ, BUF, HDR - 2, true);
	peer_send(f, 100, 0);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_true(needs_reset(f));
}

static void test_receive_looping_chain_resets(void **state)
{
	struct fx *f = *state;
	struct vdrv_ring *r = &f->ring[RXQ];

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	vdrv__put_desc(r, 0, BUF, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	vdrv__put_desc(r, 1, BUF + 0x100, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	vdrv__publish(r, 0);
	peer_send(f, 100, 0);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_true(needs_reset(f));
}

static void test_reset_and_restart(void **state)
{
	struct fx *f = *state;

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	post(f, RXQ, BUF, HDR - 2, true);
	peer_send(f, 100, 0);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_true(needs_reset(f));
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	assert_int_equal(vdrv__status(f->vp), 0);
	assert_int_equal(atomic_load(&f->vp->watch_events), 0);
	memset(f->ram, 0, RAM_SIZE);
	f->ring[RXQ].next_desc = f->ring[TXQ].next_desc = 0;
	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	post(f, RXQ, BUF, 1000, true);
	peer_send(f, 100, 4);
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_int_equal(used_idx(f, RXQ), 1);
	assert_int_equal(used_elem(f, RXQ, 0).len, HDR + 100);
}

/* A backend that fails for good (a deleted tap: EBADFD; here the peer's
 * end closed) stops the watch instead of spinning on it. */
static void test_dead_backend_stops_watch(void **state)
{
	struct fx *f = *state;
	uint8_t runt[HDR + 2] = { 0 };
	int pfd[2];

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	post(f, RXQ, BUF, 1000, true);
	assert_int_equal(send(f->peer, runt, sizeof(runt), 0), (ssize_t)sizeof(runt));
	virtio_pci__process_fd(f->vp, POLLIN);
	assert_int_equal(atomic_load(&f->vp->errors), 1); /* a runt: dropped */
	assert_int_equal(atomic_load(&f->vp->watch_events), POLLIN);
	/* the backend's fd number now names a pipe's write end: reads fail
	 * with EBADF, as a deleted tap's fail with EBADFD */
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(dup2(pfd[1], f->backend_fd), f->backend_fd);
	close(pfd[0]);
	close(pfd[1]);
	virtio_pci__process_fd(f->vp, POLLIN | POLLERR);
	assert_int_equal(atomic_load(&f->vp->watch_events), 0);
	virtio_pci__process(f->vp, RXQ); /* a kick does not turn it on again */
	assert_int_equal(atomic_load(&f->vp->watch_events), 0);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_false(needs_reset(f));
}

static bool wait_used(struct fx *f, uint16_t q, uint16_t want)
{
	for (int i = 0; i < 2000 && used_idx(f, q) != want; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	return used_idx(f, q) == want;
}

static void test_io_thread_both_ways(void **state)
{
	struct fx *f = *state;
	uint8_t got[256];
	struct pollfd p = { .fd = f->peer, .events = POLLIN };

	driver_ok(f, BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF));
	peer_send(f, 64, 1); /* no buffers yet: waits in the tap */
	for (unsigned int i = 0; i < 3; i++)
		post(f, RXQ, BUF + 0x1000 * i, 1000, true);
	vdrv__wr(f->vp, VIRTIO_PCI_NOTIFY_OFF + RXQ * VIRTIO_PCI_NOTIFY_MULT, RXQ, 2);
	assert_true(wait_used(f, RXQ, 1));
	peer_send(f, 64, 2);
	peer_send(f, 64, 3); /* the watch on the fd, no kick */
	assert_true(wait_used(f, RXQ, 3));
	memset(at(f, BUF + 0x8000), 0, HDR);
	post(f, TXQ, BUF + 0x8000, HDR + 80, false);
	vdrv__wr(f->vp, VIRTIO_PCI_NOTIFY_OFF + TXQ * VIRTIO_PCI_NOTIFY_MULT, TXQ, 2);
	assert_true(wait_used(f, TXQ, 1));
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_features_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit_header_and_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit_bad_headers_dropped, setup, teardown),
		cmocka_unit_test(test_check_tx_hdr),
		cmocka_unit_test_setup_teardown(test_transmit_writable_buffer_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit_short_chain_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_one_chain_without_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_readable_buffer_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_short_buffer_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_looping_chain_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_backend_stops_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_thread_both_ways, setup_thread, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
