/* virtio-console (virtio 1.2, 5.3) on the modern PCI transport: port 0
 * only (no MULTIPORT, no SIZE, no EMERG_WRITE), the guest's hvc0.
 *
 * Guest to host: every buffer on transmitq (queue 1) goes to p->output,
 * in order, on the device's I/O thread. Host to guest: virtio_console__input
 * (any thread, typically the loop) queues bytes in a bounded buffer and
 * kicks receiveq (queue 0); the I/O thread copies them into the buffers
 * the guest posted there, and keeps them until it posts some.
 *
 * A chain with a device-readable buffer on receiveq, or a device-writable
 * one on transmitq, is the guest breaking the queue: DEVICE_NEEDS_RESET. */
#ifndef MV_DEVICES_VIRTIO_CONSOLE_H
#define MV_DEVICES_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_CONSOLE_RX_QUEUE 0
#define VIRTIO_CONSOLE_TX_QUEUE 1
/* Host input held for the guest at most (virtio_console__input takes less
 * when it is full; the caller retries). */
#define VIRTIO_CONSOLE_RX_BUF 4096

struct mv_virtio_console_params {
	/* I/O thread, device lock held: bytes the guest wrote, in order. It
	 * may block briefly (the guest's hvc driver waits for the buffer
	 * anyway) and must not call back into the device. NULL: dropped. */
	void (*output)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct mv_virtio_console;

int virtio_console__create(const struct mv_virtio_env *env, const char *id,
			   const struct mv_virtio_console_params *p, struct mv_virtio_console **out,
			   struct mv_err *err) MV_MUST_CHECK;
/* Unplugs and frees; NULL is ignored. */
void virtio_console__destroy(struct mv_virtio_console *con);
struct mv_virtio_pci *virtio_console__pci(struct mv_virtio_console *con);
/* Any thread: queues host bytes for the guest. Returns how many were taken
 * (0..len, what fits in VIRTIO_CONSOLE_RX_BUF); never blocks on the guest. */
size_t virtio_console__input(struct mv_virtio_console *con, const uint8_t *buf, size_t len);
/* Bytes queued and not yet placed in a guest buffer. */
size_t virtio_console__pending(struct mv_virtio_console *con);

#endif
