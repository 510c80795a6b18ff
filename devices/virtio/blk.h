/* virtio-blk (virtio 1.2, 5.2) on the modern PCI transport, over a raw
 * image (devices/backend/raw.h): one request queue; IN, OUT, FLUSH, GET_ID,
 * DISCARD and WRITE_ZEROES; RO for read-only disks.
 *
 * Every request is checked before any I/O: a 16-byte header at the start
 * of the device-readable part, the status byte the last byte of the
 * device-writable part, data lengths multiples of 512, sectors inside the
 * capacity (no overflow), discard / write-zeroes segments whole and at
 * most max_*_seg of them, each inside the capacity. A request that fails
 * a check gets VIRTIO_BLK_S_IOERR (unknown type: VIRTIO_BLK_S_UNSUPP) and
 * counts as an error; a chain with no writable byte for the status is
 * returned with length 0 and counted as an error. A malformed chain (the
 * virtqueue's checks) sets DEVICE_NEEDS_RESET.
 *
 * I/O is synchronous on the transport's per-device I/O thread. */
#ifndef MV_DEVICES_VIRTIO_BLK_H
#define MV_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WZ_F_UNMAP 1
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512

/* Device configuration (virtio 1.2, 5.2.4) offsets used here. */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN 44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG 52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56
#define VIRTIO_BLK_CFG_SIZE 60

#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_MAX_DISCARD_SEG 32
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (UINT32_MAX / VIRTIO_BLK_SECTOR / 2) /* ~4 GiB - a bit */

struct mv_virtio_blk_config {
	const char *id;          /* the user's name: vm:info() */
	const char *path;        /* raw image */
	const char *serial;      /* GET_ID; NULL: the id; at most 20 bytes used */
	bool readonly;
	bool direct;             /* O_DIRECT */
};

struct mv_virtio_blk;

/* Opens and locks the image, then creates the PCI function. */
int virtio_blk__create(const struct mv_virtio_env *env, const struct mv_virtio_blk_config *cfg,
		       struct mv_virtio_blk **out, struct mv_err *err) MV_MUST_CHECK;
/* Unplugs, closes the image, frees; NULL is ignored. */
void virtio_blk__destroy(struct mv_virtio_blk *blk);
struct mv_virtio_pci *virtio_blk__pci(struct mv_virtio_blk *blk);

/* One request's descriptor chain (tests, fuzzing): checks it, does the
 * I/O, writes the status byte when there is one. Returns the status
 * (-1: no status byte) and sets *written to the used length. */
int virtio_blk__handle(struct mv_virtio_blk *blk, struct mv_virtq_req *req, uint32_t *written);

#endif
