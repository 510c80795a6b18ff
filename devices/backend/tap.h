/* Tap backend for virtio-net: a Linux tap (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR) whose frames carry the 12-byte virtio_net_hdr (with
 * num_buffers) in front, as the virtio 1.x driver sees it
 * (TUNSETVNETHDRSZ 12).
 *
 * tap__open attaches to an existing tap by name; when none exists and the
 * VMM has CAP_NET_ADMIN, the kernel creates it (non-persistent, down: the
 * host configures it; it goes away with the VMM) and the log says which
 * happened. In a jailed process (core/jail.h) tap__open first takes a
 * duplicate of the descriptor tap__keep attached before the jail (same
 * open file: still attached, TUNSETOFFLOAD works on it), lent to one NIC
 * at a time (a second one on the same tap is busy); a tap without
 * one (a NIC hot-plugged after the jail) is opened as the jailed uid:
 * /dev/net/tun inside the jail directory, and a persistent tap owned by
 * that uid (the errors say so). Offloads: tap__open probes which TUN_F_* flags the tap takes
 * (tap->offloads) and leaves them off; tap__set_offload sets the ones the
 * guest negotiated. The fd is non-blocking.
 *
 * For tests and fuzzing, tap__from_fd wraps any datagram fd (a socketpair)
 * that speaks the same framing; set_offload is then a no-op.
 *
 * Threads: open/close on the loop thread; read/write on the device's I/O
 * thread; tap__set_offload with the device lock held. */
#ifndef MV_DEVICES_BACKEND_TAP_H
#define MV_DEVICES_BACKEND_TAP_H

#include <net/if.h>
#include <stdbool.h>

#include "core/compiler.h"
#include "core/err.h"

#define TAP_VNET_HDR_LEN 12

struct mv_tap {
	int fd;
	char name[IFNAMSIZ];
	bool is_tap;                 /* false: tap__from_fd */
	bool created;                /* the kernel made it for us (not persistent) */
	bool kept;                   /* fd lent by the jail (core/jail.h), returned on close */
	unsigned int offloads;       /* TUN_F_* the tap accepts */
};

struct mv_vm;

int tap__open(const char *name, struct mv_tap **out, struct mv_err *err) MV_MUST_CHECK;
/* Before the jail (core/jail.c): attaches to (or creates) tap name as
 * tap__open does and keeps the descriptor for owner's boots. */
int tap__keep(const struct mv_vm *owner, const char *name, struct mv_err *err) MV_MUST_CHECK;
/* Takes ownership of fd (closed by tap__close). */
int tap__from_fd(int fd, unsigned int offloads, struct mv_tap **out, struct mv_err *err) MV_MUST_CHECK;
/* Closes (a tap it created goes away) and frees; NULL is ignored. */
void tap__close(struct mv_tap *tap);
/* TUNSETOFFLOAD with flags & tap->offloads. */
int tap__set_offload(struct mv_tap *tap, unsigned int flags) MV_MUST_CHECK;

#endif
