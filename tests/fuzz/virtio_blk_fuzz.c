/* libFuzzer target: virtio-blk request parsing and execution
 * (virtio_blk__handle in devices/virtio/blk.c) over a 1 MiB sparse raw
 * image, one writable and one read-only device.
 *
 * The input describes one descriptor chain as the virtqueue hands it over
 * (the ring walk itself is virtqueue_fuzz's): 
 *   in[0] % 8 + 1      number of segments n
 *   in[1] % (n + 1)    how many are device-readable (they come first)
 *   in[2] bit 0        the read-only device
 *   in[3..3+2n)        each segment's length: le16 % 8192 + 1
 * The segments lie back to back in a 64 KiB guest buffer (wrapping to its
 * start), which holds the rest of the input (header, segments, data).
 * Invariants: the status is OK, IOERR, UNSUPP or -1 (no writable byte),
 * the used length never exceeds the writable bytes, and the image never
 * grows (no write lands past the capacity). */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define BUF_SIZE 0x10000u
#define IMAGE_SIZE (1u << 20)
#define MAX_SEGS 8

static uint8_t ram[BUF_SIZE] __attribute__((aligned(4096)));
static struct mv_guestmem mem;
static struct mv_virtio_blk *dev[2];
static int image_fd[2] = { -1, -1 };
static struct mv_virtq_req req;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* A sparse image at an unlinked temporary path; keeps our own fd for fstat. */
static void make_dev(int i, bool readonly)
{
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL },
				     .no_thread = true };
	char path[] = "/tmp/mv-blk-fuzz.XXXXXX";
	struct mv_virtio_blk_config cfg = { .id = "fuzz", .path = path, .serial = "fuzz-serial", .readonly = readonly };
	int fd = mkstemp(path);

	check(fd >= 0 && ftruncate(fd, IMAGE_SIZE) == 0);
	check(virtio_blk__create(&env, &cfg, &dev[i], NULL) == 0);
	unlink(path);
	image_fd[i] = fd;
}

static void init(void)
{
	check(guestmem__add_region(&mem, RAM_GPA, BUF_SIZE, ram) == 0);
	make_dev(0, false);
	make_dev(1, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int n, nout, at = 0, hdr;
	uint64_t in_len = 0;
	uint32_t written = 0;
	struct stat st;
	int status, which;

	if (!dev[0])
		init();
	if (size < 3)
		return 0;
	n = data[0] % MAX_SEGS + 1;
	nout = data[1] % (n + 1);
	which = data[2] & 1;
	hdr = 3 + 2 * n;
	if (size < hdr)
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + hdr, MIN(size - hdr, sizeof(ram)));
	memset(&req, 0, offsetof(struct mv_virtq_req, iov));
	for (unsigned int i = 0; i < n; i++) {
		uint32_t len = (uint32_t)(data[3 + 2 * i] | data[4 + 2 * i] << 8) % 8192 + 1;

		if (at + len > BUF_SIZE)
			at = 0;
		req.iov[i].iov_base = ram + at;
		req.iov[i].iov_len = len;
		at += len;
		if (i < nout)
			req.out_len += len;
		else
			in_len += len;
	}
	req.nout = nout;
	req.nin = n - nout;
	req.in_len = in_len;
	status = virtio_blk__handle(dev[which], &req, &written);
	check(status == -1 || status == VIRTIO_BLK_S_OK || status == VIRTIO_BLK_S_IOERR ||
	      status == VIRTIO_BLK_S_UNSUPP);
	check(status != -1 || req.nin == 0);
	check(written <= in_len);
	check(fstat(image_fd[which], &st) == 0 && st.st_size == IMAGE_SIZE);
	return 0;
}
