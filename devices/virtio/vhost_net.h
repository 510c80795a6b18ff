/* The kernel's vhost-net (/dev/vhost-net) as virtio-net's data path:
 * the kernel moves packets between the guest's rx/tx rings and the tap,
 * kicked by the queues' ioeventfds and interrupting through the MSI-X
 * vectors' irqfds, while the VMM only sets it up and tears it down.
 *
 * vhost_net__open opens the device, takes ownership (VHOST_SET_OWNER) and
 * reads the features it supports. In a jailed process it takes a
 * duplicate of the descriptor vhost_net__keep opened for the same tap
 * before the jail, owned by this process from its first boot on. vhost_net__start hands it the
 * negotiated features (those vhost knows), the guest memory table, and
 * for each ring: size, base index, ring addresses (host virtual), kick
 * and call eventfds, then the tap (VHOST_NET_SET_BACKEND). vhost_net__stop
 * detaches the tap and stops the rings (VHOST_GET_VRING_BASE), so the
 * device can be reset and started again with the same fd.
 *
 * Threads: open/close on the loop thread; start/stop with the device lock
 * held (vCPU thread on DRIVER_OK and reset, loop thread on destroy). */
#ifndef MV_DEVICES_VIRTIO_VHOST_NET_H
#define MV_DEVICES_VIRTIO_VHOST_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"

struct mv_vhost_net {
	int fd;
	uint64_t features;           /* VHOST_GET_FEATURES */
	unsigned int nrings_started; /* rings handed to the kernel */
	char kept_key[48];           /* "": fd is not lent by the jail (core/jail.h) */
};

struct mv_vhost_ring {
	uint16_t num;
	uint16_t base;               /* next available index to take */
	uint64_t desc, avail, used;  /* guest physical */
	int kick, call;              /* eventfds */
};

struct mv_vm;

/* tap: the NIC's tap (names a descriptor kept across the jail), or NULL. */
int vhost_net__open(const char *tap, struct mv_vhost_net **out, struct mv_err *err) MV_MUST_CHECK;
/* Before the jail (core/jail.c): opens /dev/vhost-net for the NIC on tap
 * and keeps it for owner's boots (not owned yet). */
int vhost_net__keep(const struct mv_vm *owner, const char *tap, struct mv_err *err) MV_MUST_CHECK;
/* Stops if started, closes, frees; NULL is ignored. */
void vhost_net__close(struct mv_vhost_net *v);
/* features: what the driver negotiated (only bits in v->features are
 * passed on). Rings 0..n-1 (rx, tx). On failure nothing is left running. */
int vhost_net__start(struct mv_vhost_net *v, const struct mv_guestmem *mem, uint64_t features,
		     const struct mv_vhost_ring *rings, unsigned int n, int tap_fd, struct mv_err *err) MV_MUST_CHECK;
void vhost_net__stop(struct mv_vhost_net *v);

#endif
