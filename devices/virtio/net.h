/* virtio-net (virtio 1.2, 5.1) on the modern PCI transport, over a tap
 * (devices/backend/tap.h): receiveq 0 and transmitq 1, no control queue
 * and no multiqueue.
 *
 * Features: MAC (config), STATUS (link always up), MRG_RXBUF, CSUM,
 * HOST_TSO4, HOST_TSO6 (the guest may hand the tap partial checksums and
 * TCP segments up to 64 KiB), and GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN,
 * GUEST_UFO as far as the tap takes the matching TUN_F_* offloads; on
 * DRIVER_OK the tap gets the offloads the driver accepted
 * (TUNSETOFFLOAD). Every packet carries the 12-byte virtio_net_hdr
 * (VERSION_1: num_buffers always present), which the tap also speaks
 * (TUNSETVNETHDRSZ 12).
 *
 * Userspace data path (vhost = false), all on the device's I/O thread:
 * transmit pops a chain, checks the header (flags, gso type against the
 * negotiated features, checksum offsets and lengths inside the frame) and
 * writes a checked copy of it plus the frame to the tap; a bad header
 * drops that packet (errors counter). Receive is driven by a watch on the
 * tap fd: a frame is read into a bounce buffer and copied into one chain
 * (without MRG_RXBUF, dropped if it does not fit) or as many chains as it
 * needs (num_buffers set, all published at once). When the guest has no
 * receive buffers the frame waits, the watch is turned off (the tap's
 * queue fills and the kernel drops, no busy loop), and the guest's next
 * receiveq kick turns it on again. A read that fails for good (the tap
 * was deleted: EBADFD) turns the watch off for the NIC's lifetime, logged
 * once, rather than spinning on an fd that polls ready forever.
 *
 * A chain with a buffer of the wrong direction, a transmit chain shorter
 * than the header or a receive buffer too small for it is the guest
 * breaking the queue: DEVICE_NEEDS_RESET (the VMM goes on).
 *
 * vhost = true: the kernel's vhost-net (vhost_net.h) serves both queues;
 * the transport hands it their ioeventfds and MSI-X irqfds
 * (external_queues) and it is started on DRIVER_OK and stopped on reset
 * and destroy. It needs MSI-X (the Linux driver's default); without it the
 * device asks for a reset. The counters then see nothing of the traffic.
 *
 * Threads: create/destroy on the loop thread; one pair for runtime
 * hotplug too (everything the NIC holds is released by destroy). */
#ifndef MV_DEVICES_VIRTIO_NET_H
#define MV_DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_RX_QUEUE 0
#define VIRTIO_NET_TX_QUEUE 1
#define VIRTIO_NET_QUEUE_SIZE 256

/* feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* struct virtio_net_hdr (5.1.6) */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_S_LINK_UP 1

/* Largest frame either way (a 64 KiB GSO packet plus its Ethernet and
 * VLAN headers), smallest (an Ethernet header). */
#define VIRTIO_NET_MAX_FRAME (65535 + 14 + 4)
#define VIRTIO_NET_MIN_FRAME 14

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

struct mv_virtio_net_config {
	const char *id;
	const char *tap;             /* tap name; NULL: use fd */
	int fd;                      /* tests: a datagram fd framed like the tap */
	unsigned int fd_offloads;    /* with fd: TUN_F_* the peer takes */
	uint8_t mac[6];
	bool vhost;
};

struct mv_virtio_net;

int virtio_net__create(const struct mv_virtio_env *env, const struct mv_virtio_net_config *cfg,
		       struct mv_virtio_net **out, struct mv_err *err) MV_MUST_CHECK;
/* Unplugs, stops vhost, closes the tap and every fd; NULL is ignored. */
void virtio_net__destroy(struct mv_virtio_net *net);
struct mv_virtio_pci *virtio_net__pci(struct mv_virtio_net *net);

/* The checks transmit applies to a header (exposed for the tests): 0, or
 * what is wrong with it. frame_len excludes the header. */
const char *virtio_net__check_tx_hdr(const struct virtio_net_hdr *h, uint64_t features, uint64_t frame_len);

#endif
