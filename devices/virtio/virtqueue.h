/* Split virtqueues (virtio 1.x, 2.7) as a device sees them, with
 * VIRTIO_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC.
 *
 * The guest is hostile: virtq__setup checks that the three rings lie in
 * guest RAM (through guestmem__range, the one checked translation) and are
 * aligned; virtq__pop walks one descriptor chain at most `size`
 * descriptors long (an indirect table at most `size` entries, length a
 * multiple of 16, no indirect inside indirect), checks every buffer's
 * [addr, addr+len) against guest RAM, rejects zero-length buffers and a
 * device-readable buffer after a device-writable one, and an available
 * index more than `size` ahead of the device's. Any of these marks the
 * queue broken (-EBADMSG from then on): the transport then sets
 * DEVICE_NEEDS_RESET. Nothing the guest writes makes a walk longer than
 * `size` steps.
 *
 * Threads: none of its own; one thread at a time per queue (the device's
 * I/O thread, or the transport under its lock for setup and reset). */
#ifndef MV_DEVICES_VIRTIO_VIRTQUEUE_H
#define MV_DEVICES_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"
#include "core/guestmem.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29

#define VIRTQ_DESC_SIZE 16
/* The largest queue a device may offer: bounds every walk and request. */
#define VIRTQ_MAX_SIZE 1024

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* One descriptor chain: nout device-readable segments, then nin
 * device-writable ones, in iov[0 .. nout + nin). Host pointers, valid
 * while the guest's RAM is mapped. */
struct mv_virtq_req {
	uint16_t head;
	unsigned int nout, nin;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct mv_virtq {
	const struct mv_guestmem *mem;
	uint16_t size;               /* a power of two, 1..VIRTQ_MAX_SIZE */
	bool event_idx, indirect;    /* negotiated */
	struct virtq_desc *desc;
	uint16_t *avail;             /* flags, idx, ring[size], used_event */
	uint16_t *used;              /* flags, idx, then elements; avail_event */
	uint16_t last_avail;         /* next available entry to take */
	uint16_t used_idx;           /* next used entry to fill */
	uint16_t signalled;          /* used_idx at the last interrupt */
	bool signalled_valid;
	bool ready;
	bool broken;
	const char *why;             /* what broke it, for the log */
};

/* Enables q over the rings at the given guest addresses with `size`
 * entries and the negotiated features (bit numbers above). -EINVAL (q not
 * ready) if size is not a power of two up to VIRTQ_MAX_SIZE or a ring is
 * misaligned or not wholly in guest RAM. */
int virtq__setup(struct mv_virtq *q, const struct mv_guestmem *mem, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features) MV_MUST_CHECK;
/* Back to the state after zeroing: not ready, not broken. */
void virtq__reset(struct mv_virtq *q);

/* Takes the next available chain into *req: 1 when one was taken, 0 when
 * none is available, -EBADMSG when the queue is (now) broken (q->why says
 * why), -EINVAL when not ready. With EVENT_IDX, when it returns 0 it has
 * published avail_event so the driver notifies at the next buffer. */
int virtq__pop(struct mv_virtq *q, struct mv_virtq_req *req) MV_MUST_CHECK;
/* Returns the chain `head` as used with `len` bytes written into it. */
void virtq__push(struct mv_virtq *q, uint16_t head, uint32_t len);
/* Returns n chains at once: their used elements are written first and
 * the used index moves once, so the driver sees all of them or none (a
 * virtio-net packet over several mergeable receive buffers). */
void virtq__push_n(struct mv_virtq *q, const struct virtq_used_elem *e, unsigned int n);
/* Gives the last n chains taken by virtq__pop back to the available ring
 * (they are taken again, unchanged, by the next pops); n is at most the
 * number popped since the last push. */
void virtq__unpop(struct mv_virtq *q, uint16_t n);
/* After pushes: whether the driver wants an interrupt now (used_event with
 * EVENT_IDX, else the avail ring's NO_INTERRUPT flag). Records the
 * interrupt as sent when true. */
bool virtq__should_notify(struct mv_virtq *q);

/* The ring words as guest memory holds them now (diagnostics, any thread;
 * zeros when q is not ready). */
struct mv_virtq_words {
	uint16_t avail_flags, avail_idx, used_idx, used_event, avail_event;
};
void virtq__read_words(const struct mv_virtq *q, struct mv_virtq_words *w);

/* Copies up to len bytes into the request's writable segments; returns
 * how many were copied. */
uint64_t virtq__copy_to_req(struct mv_virtq_req *req, const void *src, uint64_t len);

#endif
