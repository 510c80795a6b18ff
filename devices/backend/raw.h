/* Raw disk images: a regular file (or a block device) read and written at
 * byte offsets, for virtio-blk.
 *
 * raw__open takes an advisory lock on the image (flock: exclusive for a
 * writable image, shared for a read-only one, never waiting), so a second
 * VMM that opens the same image for writing fails with a message naming
 * the file. With direct = true the image is opened O_DIRECT: offsets and
 * lengths must be multiples of raw->dio_offset_align (statx DIOALIGN, 512
 * when the kernel does not say), and guest buffers that are not aligned to
 * raw->dio_mem_align go through a bounce buffer, 1 MiB at a time.
 *
 * Threads: open/close on the loop thread; the I/O calls on one thread at a
 * time (the device's I/O thread). Returns are 0 or -errno. */
#ifndef MV_DEVICES_BACKEND_RAW_H
#define MV_DEVICES_BACKEND_RAW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"
#include "core/err.h"

#define RAW_BOUNCE_SIZE (1u << 20)

struct mv_raw {
	int fd;
	char *path;
	uint64_t size;               /* bytes */
	bool readonly, direct;
	bool is_blockdev;
	uint32_t dio_mem_align;      /* direct only */
	uint32_t dio_offset_align;   /* direct only; 1 otherwise */
	void *bounce;                /* direct only: RAW_BOUNCE_SIZE bytes */
};

int raw__open(const char *path, bool readonly, bool direct, struct mv_raw **out, struct mv_err *err) MV_MUST_CHECK;
/* Unlocks, closes, frees; NULL is ignored. */
void raw__close(struct mv_raw *raw);

/* Whole transfers (short reads/writes are continued); -EIO on a read past
 * the end of the file. The iovec array is not modified. */
int raw__preadv(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off) MV_MUST_CHECK;
int raw__pwritev(struct mv_raw *raw, const struct iovec *iov, unsigned int n, uint64_t off) MV_MUST_CHECK;
int raw__flush(struct mv_raw *raw) MV_MUST_CHECK;
/* Deallocates [off, off+len) (reads as zeroes afterwards). */
int raw__discard(struct mv_raw *raw, uint64_t off, uint64_t len) MV_MUST_CHECK;
/* Zeroes [off, off+len): FALLOC_FL_PUNCH_HOLE when unmap, else
 * FALLOC_FL_ZERO_RANGE; where the file system supports neither, writes
 * zeroes. */
int raw__write_zeroes(struct mv_raw *raw, uint64_t off, uint64_t len, bool unmap) MV_MUST_CHECK;

#endif
