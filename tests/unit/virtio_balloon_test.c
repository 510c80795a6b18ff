/* virtio-balloon (devices/virtio/balloon.c) driven through BAR 0 and split
 * rings in fake guest RAM (an anonymous mapping, so discarded pages read
 * back as zero): features and queue numbering per configuration, inflate
 * (page frames discarded, runs coalesced, frames outside RAM skipped and
 * counted), deflate, the device-driven statistics protocol (the buffer is
 * held until stats are requested, then handed back and parsed again),
 * free page reporting (reported pages discarded; a device-readable buffer
 * is an error), num_pages / actual, and a driver reset dropping the held
 * buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/virtio/balloon.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE (4 * 1024 * 1024ULL)
#define QSIZE 16
#define RING(q) (RAM_GPA + 0x10000 * (q))   /* desc at +0, avail +0x1000, used +0x2000 */
#define BUF (RAM_GPA + 0x80000)
#define PAGES (RAM_GPA + 0x200000)           /* pages the tests balloon */

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	struct mv_virtio_balloon *b;
	struct mv_virtio_pci *vp;
	struct vdrv_ring ring[4];
	int stats_ready;
};

static void on_stats(void *opaque)
{
	((struct fx *)opaque)->stats_ready++;
}

static int make(void **state, bool stats, bool report, bool oom)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mv_virtio_env env = { .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	struct mv_virtio_balloon_config c = { .id = "balloon", .stats = stats, .free_page_reporting = report,
					      .deflate_on_oom = oom, .stats_ready = on_stats, .opaque = f };
	struct mv_err err = { "" };

	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->ram != MAP_FAILED);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	env.mem = &f->mem;
	if (virtio_balloon__create(&env, &c, &f->b, &err) < 0)
		fail_msg("virtio_balloon__create: %s", err.msg);
	f->vp = virtio_balloon__pci(f->b);
	for (unsigned int q = 0; q < 4; q++)
		f->ring[q] = (struct vdrv_ring){ .ram = f->ram, .ram_gpa = RAM_GPA, .desc = RING(q),
						 .avail = RING(q) + 0x1000, .used = RING(q) + 0x2000, .size = QSIZE };
	*state = f;
	return 0;
}

static int setup_all(void **state) { return make(state, true, true, true); }
static int setup_plain(void **state) { return make(state, false, false, false); }
static int setup_report_only(void **state) { return make(state, false, true, false); }

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_balloon__destroy(f->b);
	munmap(f->ram, RAM_SIZE);
	free(f);
	return 0;
}

static void driver_ok(struct fx *f, unsigned int nq)
{
	uint64_t feat = vdrv__device_features(f->vp) & ~((1ULL << VIRTIO_RING_F_EVENT_IDX));

	assert_true(vdrv__negotiate(f->vp, feat) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < nq; q++)
		vdrv__setup_queue(f->vp, (uint16_t)q, QSIZE, f->ring[q].desc, f->ring[q].avail, f->ring[q].used);
	vdrv__driver_ok(f->vp);
}

static uint8_t *at(struct fx *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

/* Posts one chain on queue q and runs it; the used index afterwards. */
static uint16_t run(struct fx *f, unsigned int q, const struct vdrv_seg *s, unsigned int n)
{
	vdrv__post_chain(&f->ring[q], s, n);
	virtio_pci__process(f->vp, q);
	return vdrv__used_idx(&f->ring[q]);
}

static void test_features_and_queues(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vdrv__device_features(f->vp);

	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_BALLOON);
	assert_true(feat & (1ULL << VIRTIO_BALLOON_F_STATS_VQ));
	assert_true(feat & (1ULL << VIRTIO_BALLOON_F_REPORTING));
	assert_true(feat & (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_false(feat & (1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_NUMQ, 2), 4);
	assert_int_equal(virtio_balloon__reporting_queue(f->b), 3);
}

static void test_plain_has_two_queues(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vdrv__device_features(f->vp);

	assert_false(feat & (1ULL << VIRTIO_BALLOON_F_STATS_VQ));
	assert_false(feat & (1ULL << VIRTIO_BALLOON_F_REPORTING));
	assert_false(feat & (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_NUMQ, 2), 2);
	assert_int_equal(virtio_balloon__reporting_queue(f->b), -1);
	virtio_balloon__request_stats(f->b); /* no statsq: nothing happens */
}

static void test_reporting_queue_numbered_after_deflate(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_NUMQ, 2), 3);
	assert_int_equal(virtio_balloon__reporting_queue(f->b), 2);
}

static void test_inflate_discards(void **state)
{
	struct fx *f = *state;
	uint32_t pfns[5];
	struct mv_balloon_counters c;

	driver_ok(f, 4);
	memset(at(f, PAGES), 0x5A, 8 * 4096);
	/* pages 0, 1, 2 (a run), 5, and a frame far outside RAM */
	pfns[0] = (uint32_t)(PAGES >> 12);
	pfns[1] = pfns[0] + 1;
	pfns[2] = pfns[0] + 2;
	pfns[3] = pfns[0] + 5;
	pfns[4] = 0xFFFFFF;
	memcpy(at(f, BUF), pfns, sizeof(pfns));
	assert_int_equal(run(f, VIRTIO_BALLOON_Q_INFLATE, (struct vdrv_seg[]){ { BUF, sizeof(pfns), false } }, 1), 1);
	assert_int_equal(at(f, PAGES)[0], 0);
	assert_int_equal(at(f, PAGES)[3 * 4096 - 1], 0);
	assert_int_equal(at(f, PAGES)[3 * 4096], 0x5A); /* page 3 kept */
	assert_int_equal(at(f, PAGES)[5 * 4096], 0);
	assert_int_equal(at(f, PAGES)[6 * 4096], 0x5A);
	virtio_balloon__counters(f->b, &c);
	assert_int_equal(c.inflated, 5);
	assert_int_equal(atomic_load(&f->vp->errors), 1); /* the frame outside RAM */
	/* deflate: counted, nothing touched */
	memcpy(at(f, BUF), pfns, 8);
	assert_int_equal(run(f, VIRTIO_BALLOON_Q_DEFLATE, (struct vdrv_seg[]){ { BUF, 8, false } }, 1), 1);
	virtio_balloon__counters(f->b, &c);
	assert_int_equal(c.deflated, 2);
	assert_false(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
}

static void put_stat(uint8_t *p, uint16_t tag, uint64_t val)
{
	memcpy(p, &tag, 2);
	memcpy(p + 2, &val, 8);
}

static void test_stats_protocol(void **state)
{
	struct fx *f = *state;
	struct mv_balloon_stats st;
	uint8_t *b = at(f, BUF);

	driver_ok(f, 4);
	virtio_balloon__stats(f->b, &st);
	assert_int_equal(st.seq, 0);
	put_stat(b, VIRTIO_BALLOON_S_MEMFREE, 100 << 20);
	put_stat(b + 10, VIRTIO_BALLOON_S_MEMTOT, 512 << 20);
	put_stat(b + 20, VIRTIO_BALLOON_S_AVAIL, 300 << 20);
	put_stat(b + 30, 77, 1); /* unknown tag: ignored */
	/* the device holds the buffer: nothing comes back yet */
	assert_int_equal(run(f, VIRTIO_BALLOON_Q_STATS, (struct vdrv_seg[]){ { BUF, 40, false } }, 1), 0);
	assert_int_equal(f->stats_ready, 1);
	virtio_balloon__stats(f->b, &st);
	assert_int_equal(st.seq, 1);
	assert_int_equal(st.val[VIRTIO_BALLOON_S_MEMTOT], 512 << 20);
	assert_int_equal(st.val[VIRTIO_BALLOON_S_AVAIL], 300 << 20);
	assert_int_equal(st.present, (1u << VIRTIO_BALLOON_S_MEMFREE) | (1u << VIRTIO_BALLOON_S_MEMTOT) |
					     (1u << VIRTIO_BALLOON_S_AVAIL));
	/* the host asks: the buffer goes back (on the "I/O thread": process) */
	virtio_balloon__request_stats(f->b);
	virtio_pci__process(f->vp, VIRTIO_BALLOON_Q_STATS);
	assert_int_equal(vdrv__used_idx(&f->ring[VIRTIO_BALLOON_Q_STATS]), 1);
	/* the driver refills it, split over two segments mid-entry */
	put_stat(b, VIRTIO_BALLOON_S_AVAIL, 42);
	put_stat(b + 0x100, VIRTIO_BALLOON_S_MEMTOT, 1000);
	memmove(b + 5, b + 0x100, 10);
	assert_int_equal(run(f, VIRTIO_BALLOON_Q_STATS,
			     (struct vdrv_seg[]){ { BUF, 7, false }, { BUF + 7, 8, false } }, 2), 1);
	virtio_balloon__stats(f->b, &st);
	assert_int_equal(st.seq, 2);
	assert_int_equal(st.present, 1u << VIRTIO_BALLOON_S_AVAIL); /* 15 bytes: one whole entry */
	/* a request without a held buffer does nothing */
	virtio_balloon__request_stats(f->b);
	virtio_pci__process(f->vp, VIRTIO_BALLOON_Q_STATS);
	assert_int_equal(vdrv__used_idx(&f->ring[VIRTIO_BALLOON_Q_STATS]), 2);
	virtio_pci__process(f->vp, VIRTIO_BALLOON_Q_STATS);
	assert_int_equal(vdrv__used_idx(&f->ring[VIRTIO_BALLOON_Q_STATS]), 2);
}

static void test_stats_second_buffer_returns_first(void **state)
{
	struct fx *f = *state;

	driver_ok(f, 4);
	memset(at(f, BUF), 0, 64);
	assert_int_equal(run(f, VIRTIO_BALLOON_Q_STATS, (struct vdrv_seg[]){ { BUF, 10, false } }, 1), 0);
	assert_int_equal(run(f, VIRTIO_BALLOON_Q_STATS, (struct vdrv_seg[]){ { BUF + 16, 10, false } }, 1), 1);
	assert_int_equal(f->stats_ready, 2);
	/* a driver reset forgets the held buffer */
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	virtio_balloon__request_stats(f->b);
	assert_false(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_free_page_reporting(void **state)
{
	struct fx *f = *state;
	unsigned int rq = (unsigned int)virtio_balloon__reporting_queue(f->b);
	struct mv_balloon_counters c;

	driver_ok(f, 4);
	memset(at(f, PAGES), 0x77, 0x100000);
	assert_int_equal(run(f, rq, (struct vdrv_seg[]){ { PAGES, 0x40000, true }, { PAGES + 0x80000, 0x8000, true } },
			     2), 1);
	assert_int_equal(at(f, PAGES)[0], 0);
	assert_int_equal(at(f, PAGES)[0x3FFFF], 0);
	assert_int_equal(at(f, PAGES)[0x40000], 0x77);
	assert_int_equal(at(f, PAGES)[0x80000], 0);
	virtio_balloon__counters(f->b, &c);
	assert_int_equal(c.reported, 0x48000);
	/* a device-readable buffer, or one not page-sized: counted as an error, not discarded */
	assert_int_equal(run(f, rq, (struct vdrv_seg[]){ { PAGES + 0x40000, 4096, false } }, 1), 2);
	assert_int_equal(run(f, rq, (struct vdrv_seg[]){ { PAGES + 0x41000, 100, true } }, 1), 3);
	assert_int_equal(at(f, PAGES)[0x40000], 0x77);
	assert_int_equal(at(f, PAGES)[0x41000], 0x77);
	assert_int_equal(atomic_load(&f->vp->errors), 2);
}

static void test_config_target_actual(void **state)
{
	struct fx *f = *state;

	driver_ok(f, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 4), 0);
	virtio_balloon__set_target(f->b, 1234);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 4), 1234);
	assert_true(vdrv__rd(f->vp, VIRTIO_PCI_ISR_OFF, 1) & 2);
	vdrv__wr(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BALLOON_CFG_ACTUAL, 1000, 4);
	vdrv__wr(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 1, 4); /* not the driver's */
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BALLOON_CFG_ACTUAL, 4), 1000);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 4), 1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_and_queues, setup_all, teardown),
		cmocka_unit_test_setup_teardown(test_plain_has_two_queues, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_reporting_queue_numbered_after_deflate, setup_report_only, teardown),
		cmocka_unit_test_setup_teardown(test_inflate_discards, setup_all, teardown),
		cmocka_unit_test_setup_teardown(test_stats_protocol, setup_all, teardown),
		cmocka_unit_test_setup_teardown(test_stats_second_buffer_returns_first, setup_all, teardown),
		cmocka_unit_test_setup_teardown(test_free_page_reporting, setup_all, teardown),
		cmocka_unit_test_setup_teardown(test_config_target_actual, setup_all, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
