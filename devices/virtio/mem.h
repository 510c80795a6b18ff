/* virtio-mem (virtio 1.2, 5.15) on the modern PCI transport.
 *
 * The device manages one hotplug region [addr, addr + region_size) of
 * guest memory (a guestmem region flagged hotplug: one KVM memslot, never
 * in e820), split into block_size blocks with one plug bit each. The host
 * sets requested_size (virtio_mem__resize: new value, config interrupt);
 * the guest driver plugs or unplugs blocks until plugged_size matches.
 *
 * Requests on the one queue (guestq), each checked whole before anything
 * changes:
 *   PLUG        ERROR if nb_blocks is 0, addr is not block aligned, the
 *               range leaves the usable region or any block is plugged;
 *               NACK if plugged_size would exceed requested_size.
 *   UNPLUG      ERROR on the same range checks or if any block is not
 *               plugged; the blocks' host pages are discarded
 *               (MADV_DONTNEED, or a punched hole in the memfd).
 *   UNPLUG_ALL  discards every plugged block; may shrink the usable region.
 *   STATE       ERROR on a bad range of the whole region; else PLUGGED,
 *               UNPLUGGED or MIXED.
 * A chain too short for a request (24 bytes) or a response (10 bytes)
 * goes back with nothing written and counts as an error.
 *
 * usable_region_size: requested_size plus 256 MiB of room (so the driver
 * can choose where to plug), block aligned, at most region_size; it grows
 * with a resize and shrinks only while nothing is plugged.
 *
 * Threads: requests on the device's I/O thread; virtio_mem__resize and
 * virtio_mem__state from any thread (the loop); all under the device lock. */
#ifndef MV_DEVICES_VIRTIO_MEM_H
#define MV_DEVICES_VIRTIO_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "devices/virtio/virtio_pci.h"

#define VIRTIO_ID_MEM 24

#define VIRTIO_MEM_F_ACPI_PXM 0
#define VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE 1

#define VIRTIO_MEM_REQ_PLUG 0
#define VIRTIO_MEM_REQ_UNPLUG 1
#define VIRTIO_MEM_REQ_UNPLUG_ALL 2
#define VIRTIO_MEM_REQ_STATE 3

#define VIRTIO_MEM_RESP_ACK 0
#define VIRTIO_MEM_RESP_NACK 1
#define VIRTIO_MEM_RESP_BUSY 2
#define VIRTIO_MEM_RESP_ERROR 3

#define VIRTIO_MEM_STATE_PLUGGED 0
#define VIRTIO_MEM_STATE_UNPLUGGED 1
#define VIRTIO_MEM_STATE_MIXED 2

/* Room the usable region keeps beyond requested_size. */
#define VIRTIO_MEM_USABLE_EXTENT (256 * MiB)

/* struct virtio_mem_config offsets (56 bytes, little endian) */
#define VIRTIO_MEM_CFG_BLOCK_SIZE 0
#define VIRTIO_MEM_CFG_NODE_ID 8
#define VIRTIO_MEM_CFG_ADDR 16
#define VIRTIO_MEM_CFG_REGION_SIZE 24
#define VIRTIO_MEM_CFG_USABLE_SIZE 32
#define VIRTIO_MEM_CFG_PLUGGED_SIZE 40
#define VIRTIO_MEM_CFG_REQUESTED_SIZE 48
#define VIRTIO_MEM_CFG_SIZE 56

struct virtio_mem_req {
	uint16_t type;
	uint16_t padding[3];
	uint64_t addr;
	uint16_t nb_blocks;
	uint16_t padding2[3];
};

struct virtio_mem_resp {
	uint16_t type;
	uint16_t padding[3];
	uint16_t state;
};
#define VIRTIO_MEM_RESP_SIZE 10

struct mv_virtio_mem_config {
	const char *id;
	uint64_t addr;          /* guest address of the hotplug region */
	uint64_t region_size;   /* a multiple of block_size */
	uint64_t block_size;    /* a power of two, >= 4 KiB */
	uint64_t requested;     /* initial requested_size */
	/* I/O thread, device lock held: plugged_size changed. It must not
	 * call back into the device (post to the loop instead). */
	void (*changed)(void *opaque);
	void *opaque;
};

struct mv_virtio_mem_state {
	uint64_t addr, region_size, block_size;
	uint64_t usable, plugged, requested;
	uint64_t nacks;         /* PLUG requests refused with NACK */
};

struct mv_virtio_mem;

/* The region must already be described in env->mem (guestmem__map_hotplug). */
int virtio_mem__create(const struct mv_virtio_env *env, const struct mv_virtio_mem_config *cfg,
		       struct mv_virtio_mem **out, struct mv_err *err) MV_MUST_CHECK;
/* Unplugs and frees; NULL is ignored. */
void virtio_mem__destroy(struct mv_virtio_mem *vm);
struct mv_virtio_pci *virtio_mem__pci(struct mv_virtio_mem *vm);

/* Any thread: a new requested_size (a multiple of block_size, at most
 * region_size) and a config interrupt. -EINVAL otherwise. */
int virtio_mem__resize(struct mv_virtio_mem *vm, uint64_t requested, struct mv_err *err) MV_MUST_CHECK;
void virtio_mem__state(struct mv_virtio_mem *vm, struct mv_virtio_mem_state *out);

/* Device lock held (tests, fuzzing; the queue handler uses it): executes
 * one request and fills the response. */
void virtio_mem__handle(struct mv_virtio_mem *vm, const struct virtio_mem_req *req, struct virtio_mem_resp *resp);

#endif
