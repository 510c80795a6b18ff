/* virtio-blk (devices/virtio/blk.c) over a temporary raw image, driven as
 * a guest driver would through BAR 0 and a split virtqueue in fake guest
 * RAM (no KVM, no I/O thread: virtio_pci__process runs the queue).
 * Covers the device configuration and features, IN/OUT/FLUSH/GET_ID/
 * DISCARD/WRITE_ZEROES against the file's real content and allocation,
 * every request check (sizes, sectors past the end and overflowing, short
 * header, no status byte, read-only writes, unknown types, segment
 * limits), broken chains (DEVICE_NEEDS_RESET), image locks, O_DIRECT with
 * unaligned guest buffers, and the counters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/x86/layout.h"
#include "devices/backend/raw.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x200000ULL
#define QSIZE 16
#define DESC (RAM_GPA + 0x1000)
#define AVAIL (RAM_GPA + 0x2000)
#define USED (RAM_GPA + 0x3000)
#define HDR (RAM_GPA + 0x4000)
#define STATUS (RAM_GPA + 0x5000)
#define BUF (RAM_GPA + 0x10000)     /* up to 1 MiB of data */
#define IMAGE_SIZE (4u << 20)       /* 8192 sectors */
#define CAPACITY (IMAGE_SIZE / 512)

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	char path[64];
	int fd;                       /* the test's own view of the image */
	struct mv_virtio_blk *blk;
	struct mv_virtio_pci *vp;
	struct vdrv_ring ring;
};

static int make(void **state, bool readonly, bool direct)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mv_virtio_env env = { .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	struct mv_virtio_blk_config cfg = { .id = "d0", .serial = "root0", .readonly = readonly, .direct = direct };
	struct mv_err err = { "" };

	f->ram = aligned_alloc(4096, RAM_SIZE);
	memset(f->ram, 0, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	snprintf(f->path, sizeof(f->path), "/var/tmp/mv-blk-test.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, IMAGE_SIZE), 0);
	env.mem = &f->mem;
	cfg.path = f->path;
	if (virtio_blk__create(&env, &cfg, &f->blk, &err) < 0)
		fail_msg("virtio_blk__create: %s", err.msg);
	f->vp = virtio_blk__pci(f->blk);
	f->ring = (struct vdrv_ring){ .ram = f->ram, .ram_gpa = RAM_GPA, .desc = DESC, .avail = AVAIL, .used = USED,
				      .size = QSIZE };
	*state = f;
	return 0;
}

static int setup(void **state) { return make(state, false, false); }
static int setup_ro(void **state) { return make(state, true, false); }
static int setup_direct(void **state) { return make(state, false, true); }

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_blk__destroy(f->blk);
	close(f->fd);
	unlink(f->path);
	free(f->ram);
	free(f);
	return 0;
}

/* ---- a guest driver ----------------------------------------------------------- */

static void driver_ok(struct fx *f)
{
	uint64_t feat = vdrv__device_features(f->vp) & ~((1ULL << VIRTIO_RING_F_EVENT_IDX));

	assert_true(vdrv__negotiate(f->vp, feat) & VIRTIO_STATUS_FEATURES_OK);
	vdrv__setup_queue(f->vp, 0, QSIZE, DESC, AVAIL, USED);
	vdrv__driver_ok(f->vp);
}

static void *at(struct fx *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

static void put_hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	memcpy(at(f, HDR), h, sizeof(h));
}

/* Posts one chain, runs the queue; returns the used length (-1: the
 * request was not returned). */
static int64_t submit(struct fx *f, const struct vdrv_seg *s, unsigned int n)
{
	uint16_t before = vdrv__used_idx(&f->ring);
	uint16_t head = vdrv__post_chain(&f->ring, s, n);
	struct virtq_used_elem e;

	virtio_pci__process(f->vp, 0);
	if (vdrv__used_idx(&f->ring) == before)
		return -1;
	e = vdrv__used_elem(&f->ring, before);
	assert_int_equal(e.id, head);
	return e.len;
}

/* header + data (in or out) + status: the Linux driver's framing. */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, bool data_in)
{
	struct vdrv_seg s[3] = { { HDR, 16, false }, { BUF, len, data_in }, { STATUS, 1, true } };
	uint8_t *status = at(f, STATUS);

	*status = 0xEE;
	put_hdr(f, type, sector);
	if (len)
		assert_true(submit(f, s, 3) >= 1);
	else
		assert_true(submit(f, (struct vdrv_seg[]){ s[0], s[2] }, 2) >= 1);
	return *status;
}

static uint8_t rw(struct fx *f, bool write, uint64_t sector, uint32_t len)
{
	return request(f, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, len, !write);
}

struct dseg {
	uint64_t sector;
	uint32_t num, flags;
};

static uint8_t segments(struct fx *f, uint32_t type, const struct dseg *d, unsigned int n)
{
	memcpy(at(f, BUF), d, n * sizeof(*d));
	return request(f, type, 0, n * (uint32_t)sizeof(*d), false);
}

static void file_read(struct fx *f, void *buf, size_t len, off_t off)
{
	assert_int_equal(pread(f->fd, buf, len, off), (ssize_t)len);
}

static bool needs_reset(struct fx *f)
{
	return vdrv__rd(f->vp, VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- configuration -------------------------------------------------------------- */

static void test_ids_features_and_config(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vdrv__device_features(f->vp);

	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_DEVICE_ID, 2), 0x1042);
	assert_true(feat & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(feat & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_RO));
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY, 8), CAPACITY);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY + 4, 4), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_SEG_MAX, 4), VIRTIO_BLK_QUEUE_SIZE - 2);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4),
			 VIRTIO_BLK_MAX_DISCARD_SEG);
	assert_int_not_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_MAX_WZ_SEG, 4), VIRTIO_BLK_MAX_DISCARD_SEG);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_WZ_MAY_UNMAP, 1), 1);
	/* writes are ignored */
	vdrv__wr(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY, 1, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_CAPACITY, 8), CAPACITY);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_SIZE - 4, 4), 1); /* may_unmap, unused */
}

static void test_readonly_features(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vdrv__device_features(f->vp);

	assert_true(feat & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
}

/* ---- requests ----------------------------------------------------------------- */

static void test_write_then_read(void **state)
{
	struct fx *f = *state;
	uint8_t want[8192], got[8192];

	driver_ok(f);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + 3);
	memcpy(at(f, BUF), want, sizeof(want));
	assert_int_equal(rw(f, true, 100, sizeof(want)), VIRTIO_BLK_S_OK);
	file_read(f, got, sizeof(got), 100 * 512);
	assert_memory_equal(got, want, sizeof(want));
	memset(at(f, BUF), 0, sizeof(want));
	assert_int_equal(rw(f, false, 100, sizeof(want)), VIRTIO_BLK_S_OK);
	assert_memory_equal(at(f, BUF), want, sizeof(want));
	/* the last sector is reachable */
	assert_int_equal(rw(f, true, CAPACITY - 1, 512), VIRTIO_BLK_S_OK);
	assert_int_equal(rw(f, false, CAPACITY - 1, 512), VIRTIO_BLK_S_OK);
	assert_false(needs_reset(f));
}

static void test_split_header_and_data(void **state)
{
	struct fx *f = *state;
	/* header in two pieces, data in three, status alone: no framing assumed */
	struct vdrv_seg s[6] = { { HDR, 5, false }, { HDR + 5, 11, false }, { BUF, 100, true },
			    { BUF + 100, 412, true }, { BUF + 512, 512, true }, { STATUS, 1, true } };
	uint8_t want[1024];

	driver_ok(f);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i ^ 0x5A);
	assert_int_equal(pwrite(f->fd, want, sizeof(want), 7 * 512), (ssize_t)sizeof(want));
	put_hdr(f, VIRTIO_BLK_T_IN, 7);
	*(uint8_t *)at(f, STATUS) = 0xEE;
	assert_int_equal(submit(f, s, 6), 1025);
	assert_int_equal(*(uint8_t *)at(f, STATUS), VIRTIO_BLK_S_OK);
	assert_memory_equal(at(f, BUF), want, sizeof(want));
}

static void test_flush_and_get_id(void **state)
{
	struct fx *f = *state;
	uint8_t want[VIRTIO_BLK_ID_BYTES] = "root0";

	driver_ok(f);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	memset(at(f, BUF), 0xFF, 64);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(at(f, BUF), want, sizeof(want)); /* zero padded */
	assert_int_equal(*(uint8_t *)at(f, BUF + VIRTIO_BLK_ID_BYTES), 0xFF);
	/* a flush that carries data is malformed */
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 512, false), VIRTIO_BLK_S_IOERR);
}

static uint64_t allocated(struct fx *f)
{
	struct stat st;

	assert_int_equal(fstat(f->fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static void test_discard_punches_holes(void **state)
{
	struct fx *f = *state;
	struct dseg d[2] = { { 0, 1024, 0 }, { 2048, 1024, 0 } };
	uint8_t buf[4096];
	uint64_t before;

	driver_ok(f);
	memset(at(f, BUF), 0xAB, 1 << 20);
	assert_int_equal(rw(f, true, 0, 1 << 20), VIRTIO_BLK_S_OK);     /* sectors 0..2047 */
	assert_int_equal(rw(f, true, 2048, 1 << 20), VIRTIO_BLK_S_OK);  /* 2048..4095 */
	assert_int_equal(fsync(f->fd), 0);
	before = allocated(f);
	assert_true(before >= 2u << 20);
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, d, 2), VIRTIO_BLK_S_OK);
	assert_true(allocated(f) <= before - (1u << 20)); /* 2 x 512 KiB given back */
	file_read(f, buf, sizeof(buf), 0);
	assert_true(all_zero(buf, sizeof(buf)));
	file_read(f, buf, sizeof(buf), 1024 * 512); /* not discarded */
	assert_int_equal(buf[0], 0xAB);
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size, IMAGE_SIZE); /* KEEP_SIZE */
}

static void test_write_zeroes(void **state)
{
	struct fx *f = *state;
	struct dseg keep = { 8, 8, 0 }, unmap = { 24, 8, VIRTIO_BLK_WZ_F_UNMAP };
	uint8_t buf[64 * 512];

	driver_ok(f);
	memset(at(f, BUF), 0xCD, sizeof(buf));
	assert_int_equal(rw(f, true, 0, sizeof(buf)), VIRTIO_BLK_S_OK);
	assert_int_equal(segments(f, VIRTIO_BLK_T_WRITE_ZEROES, &keep, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(segments(f, VIRTIO_BLK_T_WRITE_ZEROES, &unmap, 1), VIRTIO_BLK_S_OK);
	file_read(f, buf, sizeof(buf), 0);
	assert_int_equal(buf[8 * 512 - 1], 0xCD);
	assert_true(all_zero(buf + 8 * 512, 8 * 512));
	assert_int_equal(buf[16 * 512], 0xCD);
	assert_true(all_zero(buf + 24 * 512, 8 * 512));
	assert_int_equal(buf[32 * 512], 0xCD);
}

/* ---- hostile requests ------------------------------------------------------------ */

static void test_bad_lengths(void **state)
{
	struct fx *f = *state;

	driver_ok(f);
	assert_int_equal(rw(f, true, 0, 100), VIRTIO_BLK_S_IOERR);
	assert_int_equal(rw(f, false, 0, 513), VIRTIO_BLK_S_IOERR);
	assert_int_equal(rw(f, false, 0, 511), VIRTIO_BLK_S_IOERR);
	/* IN with extra readable bytes after the header, OUT with extra
	 * writable bytes before the status */
	put_hdr(f, VIRTIO_BLK_T_IN, 0);
	assert_true(submit(f, (struct vdrv_seg[]){ { HDR, 32, false }, { BUF, 512, true }, { STATUS, 1, true } }, 3) >= 1);
	assert_int_equal(*(uint8_t *)at(f, STATUS), VIRTIO_BLK_S_IOERR);
	put_hdr(f, VIRTIO_BLK_T_OUT, 0);
	assert_true(submit(f, (struct vdrv_seg[]){ { HDR, 16, false }, { BUF, 512, false }, { STATUS, 2, true } }, 3) >= 1);
	assert_int_equal(*(uint8_t *)at(f, STATUS + 1), VIRTIO_BLK_S_IOERR); /* the last writable byte */
	assert_false(needs_reset(f));
}

static void test_sectors_past_the_end(void **state)
{
	struct fx *f = *state;
	struct dseg d = { CAPACITY - 4, 8, 0 }, wrap = { UINT64_MAX - 3, 8, 0 };

	driver_ok(f);
	assert_int_equal(rw(f, false, CAPACITY, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(rw(f, true, CAPACITY - 1, 1024), VIRTIO_BLK_S_IOERR);
	assert_int_equal(rw(f, false, UINT64_MAX, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(rw(f, true, UINT64_MAX - 1, 1024), VIRTIO_BLK_S_IOERR);      /* sector + n wraps */
	assert_int_equal(rw(f, true, UINT64_MAX / 512 + 1, 512), VIRTIO_BLK_S_IOERR); /* byte offset wraps */
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, &d, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(segments(f, VIRTIO_BLK_T_WRITE_ZEROES, &wrap, 1), VIRTIO_BLK_S_IOERR);
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size, IMAGE_SIZE); /* nothing written past the end */
}

static void test_short_header(void **state)
{
	struct fx *f = *state;

	driver_ok(f);
	put_hdr(f, VIRTIO_BLK_T_OUT, 0);
	*(uint8_t *)at(f, STATUS) = 0xEE;
	assert_true(submit(f, (struct vdrv_seg[]){ { HDR, 8, false }, { STATUS, 1, true } }, 2) >= 1);
	assert_int_equal(*(uint8_t *)at(f, STATUS), VIRTIO_BLK_S_IOERR);
	/* no readable part at all */
	*(uint8_t *)at(f, STATUS) = 0xEE;
	assert_true(submit(f, (struct vdrv_seg[]){ { STATUS, 1, true } }, 1) >= 1);
	assert_int_equal(*(uint8_t *)at(f, STATUS), VIRTIO_BLK_S_IOERR);
	assert_false(needs_reset(f));
}

static void test_no_status_byte(void **state)
{
	struct fx *f = *state;
	uint8_t zero[512] = { 0 }, got[512];

	driver_ok(f);
	memset(at(f, BUF), 0x77, 512);
	put_hdr(f, VIRTIO_BLK_T_OUT, 3);
	/* returned unused, counted as an error, nothing written, queue fine */
	assert_int_equal(submit(f, (struct vdrv_seg[]){ { HDR, 16, false }, { BUF, 512, false } }, 2), 0);
	file_read(f, got, sizeof(got), 3 * 512);
	assert_memory_equal(got, zero, sizeof(zero));
	assert_int_equal(atomic_load(&f->vp->errors), 1);
	assert_false(needs_reset(f));
	assert_int_equal(rw(f, false, 0, 512), VIRTIO_BLK_S_OK);
}

static void test_unknown_type(void **state)
{
	struct fx *f = *state;

	driver_ok(f);
	assert_int_equal(request(f, 99, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, 10 /* GET_LIFETIME */, 0, 8, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, 14 /* SECURE_ERASE */, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	assert_false(needs_reset(f));
}

static void test_segment_limits(void **state)
{
	struct fx *f = *state;
	struct dseg d[VIRTIO_BLK_MAX_DISCARD_SEG + 1] = { { 0 } };
	struct dseg flagged = { 0, 8, VIRTIO_BLK_WZ_F_UNMAP }, reserved = { 0, 8, 2 }, huge = { 0, UINT32_MAX, 0 };

	driver_ok(f);
	for (unsigned int i = 0; i <= VIRTIO_BLK_MAX_DISCARD_SEG; i++)
		d[i] = (struct dseg){ i * 8, 8, 0 };
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, d, VIRTIO_BLK_MAX_DISCARD_SEG + 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, d, VIRTIO_BLK_MAX_DISCARD_SEG), VIRTIO_BLK_S_OK);
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, &flagged, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(segments(f, VIRTIO_BLK_T_WRITE_ZEROES, &reserved, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, &huge, 1), VIRTIO_BLK_S_IOERR);
	/* not a whole number of segments, and none */
	memcpy(at(f, BUF), d, sizeof(d[0]));
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 15, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, false), VIRTIO_BLK_S_IOERR);
}

static void test_readonly_rejects_writes(void **state)
{
	struct fx *f = *state;
	struct dseg d = { 0, 8, 0 };
	uint8_t got[512], want[512];

	memset(want, 0x42, sizeof(want));
	assert_int_equal(pwrite(f->fd, want, sizeof(want), 0), (ssize_t)sizeof(want));
	driver_ok(f);
	memset(at(f, BUF), 0x99, 512);
	assert_int_equal(rw(f, true, 0, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(segments(f, VIRTIO_BLK_T_DISCARD, &d, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(segments(f, VIRTIO_BLK_T_WRITE_ZEROES, &d, 1), VIRTIO_BLK_S_IOERR);
	file_read(f, got, sizeof(got), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(rw(f, false, 0, 512), VIRTIO_BLK_S_OK);
	assert_memory_equal(at(f, BUF), want, sizeof(want));
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
}

static void test_broken_chain_needs_reset(void **state)
{
	struct fx *f = *state;

	driver_ok(f);
	put_hdr(f, VIRTIO_BLK_T_IN, 0);
	/* a buffer outside guest RAM */
	assert_int_equal(submit(f, (struct vdrv_seg[]){ { HDR, 16, false }, { RAM_GPA + RAM_SIZE, 512, true },
						    { STATUS, 1, true } }, 3), -1);
	assert_true(needs_reset(f));
	/* readable after writable */
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	memset(at(f, AVAIL), 0, 0x1000);
	memset(at(f, USED), 0, 0x1000);
	f->ring.next_desc = 0;
	driver_ok(f);
	assert_false(needs_reset(f));
	assert_int_equal(submit(f, (struct vdrv_seg[]){ { STATUS, 1, true }, { HDR, 16, false } }, 2), -1);
	assert_true(needs_reset(f));
}

static void test_counters(void **state)
{
	struct fx *f = *state;

	driver_ok(f);
	assert_int_equal(rw(f, true, 0, 4096), VIRTIO_BLK_S_OK);
	assert_int_equal(rw(f, false, 0, 1024), VIRTIO_BLK_S_OK);
	assert_int_equal(rw(f, false, CAPACITY, 512), VIRTIO_BLK_S_IOERR);
	assert_int_equal(atomic_load(&f->vp->requests), 2);
	assert_int_equal(atomic_load(&f->vp->bytes), 4096 + 1024);
	assert_int_equal(atomic_load(&f->vp->errors), 1);
}

/* ---- the image ------------------------------------------------------------------ */

static void test_image_locks(void **state)
{
	struct fx *f = *state; /* holds f->path writable */
	struct mv_raw *raw = NULL;
	struct mv_err err = { "" };

	assert_int_equal(raw__open(f->path, false, false, &raw, &err), -EBUSY);
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "locked"));
	assert_int_equal(raw__open(f->path, true, false, &raw, &err), -EBUSY);
	virtio_blk__destroy(f->blk);
	f->blk = NULL;
	/* released: two readers share it, a writer is kept out */
	struct mv_raw *r1 = NULL, *r2 = NULL;
	assert_int_equal(raw__open(f->path, true, false, &r1, &err), 0);
	assert_int_equal(raw__open(f->path, true, false, &r2, &err), 0);
	assert_int_equal(raw__open(f->path, false, false, &raw, &err), -EBUSY);
	raw__close(r1);
	raw__close(r2);
	assert_int_equal(raw__open(f->path, false, false, &raw, &err), 0);
	assert_int_equal(raw->size, IMAGE_SIZE);
	raw__close(raw);
	assert_int_equal(raw__open("/nonexistent/disk.img", true, false, &raw, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/disk.img"));
}

static void test_direct_unaligned_buffers(void **state)
{
	struct fx *f = *state;
	struct vdrv_seg s[3] = { { HDR, 16, false }, { BUF + 3, 4096, false }, { STATUS, 1, true } };
	uint8_t want[4096], got[4096];

	driver_ok(f);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 13);
	memcpy(at(f, BUF + 3), want, sizeof(want));
	put_hdr(f, VIRTIO_BLK_T_OUT, 16);
	assert_true(submit(f, s, 3) >= 1);
	assert_int_equal(*(uint8_t *)at(f, STATUS), VIRTIO_BLK_S_OK);
	file_read(f, got, sizeof(got), 16 * 512);
	assert_memory_equal(got, want, sizeof(want));
	memset(at(f, BUF), 0, 8192);
	s[1] = (struct vdrv_seg){ BUF + 5, 4096, true };
	put_hdr(f, VIRTIO_BLK_T_IN, 16);
	assert_true(submit(f, s, 3) >= 1);
	assert_int_equal(*(uint8_t *)at(f, STATUS), VIRTIO_BLK_S_OK);
	assert_memory_equal(at(f, BUF + 5), want, sizeof(want));
	/* aligned buffers go straight through */
	assert_int_equal(rw(f, false, 16, 4096), VIRTIO_BLK_S_OK);
	assert_memory_equal(at(f, BUF), want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_features_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_features, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_header_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_punches_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sectors_past_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_status_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segment_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_rejects_writes, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_broken_chain_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_unaligned_buffers, setup_direct, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
