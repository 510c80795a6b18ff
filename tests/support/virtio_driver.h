/* A fake guest driver for the virtio modern PCI transport, shared by the
 * unit tests and the fuzz targets: a no-op MSI router, BAR 0 accesses,
 * status and feature negotiation, queue setup through the common
 * configuration, and split rings in fake guest RAM. Plain C, no cmocka:
 * the helpers return what the driver would read back and the callers
 * assert on it. */
#ifndef MV_TESTS_VIRTIO_DRIVER_H
#define MV_TESTS_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/irqroute.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtqueue.h"

/* Accepts every route and irqfd. The opaque pointer: NULL hands out
 * LAYOUT_MSI_GSI_BASE every time; else an unsigned int counter, taken
 * and incremented per route. */
extern const struct mv_msi_router_ops vdrv__router_ops;

uint64_t vdrv__rd(struct mv_virtio_pci *vp, uint64_t off, uint32_t len);
void vdrv__wr(struct mv_virtio_pci *vp, uint64_t off, uint64_t v, uint32_t len);
uint8_t vdrv__status(struct mv_virtio_pci *vp);
/* Both words of device_feature. */
uint64_t vdrv__device_features(struct mv_virtio_pci *vp);
/* ACKNOWLEDGE, DRIVER, driver_feature, FEATURES_OK: the status read back
 * (FEATURES_OK is clear when the device refused the features). */
uint8_t vdrv__negotiate(struct mv_virtio_pci *vp, uint64_t features);
/* Selects queue q, sets its size and ring addresses (the descriptor
 * table as one 64-bit write, the others as two 32-bit halves), enables it. */
void vdrv__setup_queue(struct mv_virtio_pci *vp, uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		       uint64_t used);
/* Adds DRIVER_OK to the status; returns the status read back. */
uint8_t vdrv__driver_ok(struct mv_virtio_pci *vp);

/* A split ring the driver fills in fake guest RAM (ram is the host view
 * of guest addresses from ram_gpa on). */
struct vdrv_ring {
	uint8_t *ram;
	uint64_t ram_gpa;
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t next_desc;     /* where the next chain starts */
};

struct vdrv_seg {
	uint64_t addr;
	uint32_t len;
	bool write;             /* device-writable */
};

/* Writes descriptor idx as given. */
void vdrv__put_desc(struct vdrv_ring *r, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Makes head the next available entry (release store of avail->idx). */
void vdrv__publish(struct vdrv_ring *r, uint16_t head);
/* Lays out n segments as one chain from r->next_desc on and publishes it;
 * returns its head. */
uint16_t vdrv__post_chain(struct vdrv_ring *r, const struct vdrv_seg *s, unsigned int n);
/* used->idx (acquire load) and the used element at ring position i. */
uint16_t vdrv__used_idx(const struct vdrv_ring *r);
struct virtq_used_elem vdrv__used_elem(const struct vdrv_ring *r, uint16_t i);

/* ---- a hostile driver (the virtio fuzz targets) ---------------------------- */

/* The next n bytes of fuzz input as a little-endian value, zero padded
 * past end; advances *p. */
uint64_t vdrv__take(const uint8_t **p, const uint8_t *end, unsigned int n);
/* One access record of tests/fuzz/virtio_{pci,console}_fuzz.c after its op
 * byte (bits 0-1 size 1/2/4/8, bit 2 write, bits 3-4 target): target 0,
 * BAR 0 at the next 2 bytes (& 0x7FFF); 1, config space there (& 0xFFF,
 * size 8 as 4); 3, 8 input bytes stored in guest RAM (ram, ram_size a
 * power of two) there. A write's value is the next `size` bytes. Returns
 * false, taking nothing, for target 2 (the caller's own records). */
bool vdrv__fuzz_access(struct mv_virtio_pci *vp, uint8_t *ram, size_t ram_size, uint8_t op, const uint8_t **p,
		       const uint8_t *end);
/* One I/O thread pass over queue q (virtio_pci__process). False when the
 * used index moved while the device was not live (queue not ready, no
 * DRIVER_OK, or NEEDS_RESET), or by more than the queue size. */
bool vdrv__fuzz_process(struct mv_virtio_pci *vp, unsigned int q);

#endif
