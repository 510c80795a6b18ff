/* virtio-mem (devices/virtio/mem.c): the spec's request rules (virtio 1.2,
 * 5.15.6) on a real hotplug region mapped by guestmem__map_hotplug, both
 * private and memfd-backed: PLUG beyond requested_size (NACK), bad ranges
 * (misaligned, zero blocks, outside the usable or the whole region,
 * overflowing: ERROR), UNPLUG of a mixed range (ERROR, nothing changes),
 * UNPLUG_ALL, STATE of plugged/unplugged/mixed ranges, a resize while one
 * is pending, the usable region, that unplugged blocks read as zero and
 * leave the host (memfd blocks counted by fstat), the device
 * configuration, and requests through the queue (short chains). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "devices/virtio/mem.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x100000ULL
#define QSIZE 16
#define DESC (RAM_GPA + 0x1000)
#define AVAIL (RAM_GPA + 0x2000)
#define USED (RAM_GPA + 0x3000)
#define REQ (RAM_GPA + 0x4000)
#define RESP (RAM_GPA + 0x5000)
#define HP_GPA 0x100000000ULL
#define HP_SIZE (512 * MiB)
#define BS (2 * MiB)

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	struct mv_virtio_mem *dev;
	struct mv_virtio_pci *vp;
	struct vdrv_ring ring;
	int changed;
};

static void on_changed(void *opaque)
{
	struct fx *f = opaque;

	f->changed++;
}

static int make(void **state, bool shared)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mv_virtio_env env = { .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	struct mv_virtio_mem_config cfg = { .id = "mem", .addr = HP_GPA, .region_size = HP_SIZE, .block_size = BS,
					    .requested = 0, .changed = on_changed, .opaque = f };
	struct mv_memopts opts = { .shared = shared };
	struct mv_err err = { "" };

	f->ram = aligned_alloc(4096, RAM_SIZE);
	memset(f->ram, 0, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	if (guestmem__map_hotplug(&f->mem, HP_GPA, HP_SIZE, &opts, &err) < 0)
		fail_msg("guestmem__map_hotplug: %s", err.msg);
	env.mem = &f->mem;
	if (virtio_mem__create(&env, &cfg, &f->dev, &err) < 0)
		fail_msg("virtio_mem__create: %s", err.msg);
	f->vp = virtio_mem__pci(f->dev);
	f->ring = (struct vdrv_ring){ .ram = f->ram, .ram_gpa = RAM_GPA, .desc = DESC, .avail = AVAIL, .used = USED,
				      .size = QSIZE };
	*state = f;
	return 0;
}

static int setup(void **state) { return make(state, false); }
static int setup_shared(void **state) { return make(state, true); }

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mem__destroy(f->dev);
	f->mem.regions[0].owned = false;  /* the test's own RAM */
	guestmem__unmap(&f->mem);
	free(f->ram);
	free(f);
	return 0;
}

static uint16_t req(struct fx *f, uint16_t type, uint64_t addr, uint16_t nb, uint16_t *state)
{
	struct virtio_mem_req r = { .type = type, .addr = addr, .nb_blocks = nb };
	struct virtio_mem_resp resp;

	virtio_mem__handle(f->dev, &r, &resp);
	if (state)
		*state = resp.state;
	return resp.type;
}

static uint64_t blk(unsigned int i)
{
	return HP_GPA + (uint64_t)i * BS;
}

static struct mv_virtio_mem_state st(struct fx *f)
{
	struct mv_virtio_mem_state s;

	virtio_mem__state(f->dev, &s);
	return s;
}

static uint8_t *hva(struct fx *f, uint64_t gpa)
{
	return guestmem__range(&f->mem, gpa, 1);
}

static void resize(struct fx *f, uint64_t size)
{
	struct mv_err err = { "" };

	assert_int_equal(virtio_mem__resize(f->dev, size, &err), 0);
}

/* ---- configuration ---------------------------------------------------------- */

static void driver_ok(struct fx *f)
{
	uint64_t feat = vdrv__device_features(f->vp) & ~((1ULL << VIRTIO_RING_F_EVENT_IDX));

	assert_true(vdrv__negotiate(f->vp, feat) & VIRTIO_STATUS_FEATURES_OK);
	vdrv__setup_queue(f->vp, 0, QSIZE, DESC, AVAIL, USED);
	vdrv__driver_ok(f->vp);
}


static uint64_t cfg64(struct fx *f, unsigned int off)
{
	return vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + off, 8);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint8_t gen;

	assert_int_equal(pci__cfg_read(&f->vp->pci, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_MEM);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_BLOCK_SIZE), BS);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_ADDR), HP_GPA);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_REGION_SIZE), HP_SIZE);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_REQUESTED_SIZE), 0);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_PLUGGED_SIZE), 0);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_USABLE_SIZE), VIRTIO_MEM_USABLE_EXTENT);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_DEVICE_OFF + VIRTIO_MEM_CFG_NODE_ID, 2), 0);
	driver_ok(f);
	gen = (uint8_t)vdrv__rd(f->vp, VIRTIO_COMMON_CFGGENERATION, 1);
	resize(f, 64 * MiB);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_REQUESTED_SIZE), 64 * MiB);
	assert_int_not_equal(vdrv__rd(f->vp, VIRTIO_COMMON_CFGGENERATION, 1), gen);
	assert_true(vdrv__rd(f->vp, VIRTIO_PCI_ISR_OFF, 1) & 2); /* config change (INTx: no MSI-X here) */
}

static void test_resize_checks(void **state)
{
	struct fx *f = *state;
	struct mv_err err = { "" };

	assert_int_equal(virtio_mem__resize(f->dev, BS + 4096, &err), -EINVAL);
	assert_int_equal(virtio_mem__resize(f->dev, HP_SIZE + BS, &err), -EINVAL);
	assert_int_equal(st(f).requested, 0);
	assert_int_equal(virtio_mem__resize(f->dev, HP_SIZE, &err), 0);
}

/* ---- PLUG ---------------------------------------------------------------------- */

static void test_plug_up_to_requested(void **state)
{
	struct fx *f = *state;

	resize(f, 4 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(0), 3, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).plugged, 3 * BS);
	assert_int_equal(f->changed, 1);
	/* two more would make 5 blocks > requested 4: NACK, nothing plugged */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(10), 2, NULL), VIRTIO_MEM_RESP_NACK);
	assert_int_equal(st(f).plugged, 3 * BS);
	assert_int_equal(st(f).nacks, 1);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(10), 1, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(11), 1, NULL), VIRTIO_MEM_RESP_NACK);
	assert_int_equal(cfg64(f, VIRTIO_MEM_CFG_PLUGGED_SIZE), 4 * BS);
}

static void test_plug_bad_ranges(void **state)
{
	struct fx *f = *state;
	uint64_t usable;

	resize(f, 64 * BS);
	usable = st(f).usable;
	assert_int_equal(usable, 64 * BS + VIRTIO_MEM_USABLE_EXTENT);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(0) + 4096, 1, NULL), VIRTIO_MEM_RESP_ERROR); /* misaligned */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(0), 0, NULL), VIRTIO_MEM_RESP_ERROR);        /* no blocks */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA - BS, 1, NULL), VIRTIO_MEM_RESP_ERROR);   /* below */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA + usable, 1, NULL), VIRTIO_MEM_RESP_ERROR); /* past usable */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA + usable - BS, 2, NULL), VIRTIO_MEM_RESP_ERROR); /* straddles */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, UINT64_MAX - BS + 1, 0xFFFF, NULL), VIRTIO_MEM_RESP_ERROR); /* wraps */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA + usable - BS, 1, NULL), VIRTIO_MEM_RESP_ACK); /* last usable */
	/* already plugged (even partly): ERROR, not NACK */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA + usable - 2 * BS, 2, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(f, 7, blk(0), 1, NULL), VIRTIO_MEM_RESP_ERROR); /* unknown type */
	assert_int_equal(st(f).plugged, BS);
}

/* ---- UNPLUG, UNPLUG_ALL, STATE ----------------------------------------------- */

static void test_unplug_mixed_and_state(void **state)
{
	struct fx *f = *state;
	uint16_t s;

	resize(f, 8 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(2), 2, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(2), 2, &s), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(s, VIRTIO_MEM_STATE_PLUGGED);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(1), 3, &s), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(s, VIRTIO_MEM_STATE_MIXED);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(4), 100, &s), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(s, VIRTIO_MEM_STATE_UNPLUGGED);
	/* STATE covers the whole region, beyond the usable part */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, HP_GPA + HP_SIZE - BS, 1, &s), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, HP_GPA + HP_SIZE - BS, 2, &s), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(1) + 512, 1, &s), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(1), 0, &s), VIRTIO_MEM_RESP_ERROR);
	/* unplugging a mixed range fails whole */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(1), 2, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(3), 2, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(st(f).plugged, 2 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(2) + 4096, 1, NULL), VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(3), 1, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(2), 2, &s), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(s, VIRTIO_MEM_STATE_MIXED);
	assert_int_equal(st(f).plugged, BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(3), 1, NULL), VIRTIO_MEM_RESP_ERROR); /* not plugged */
}

/* Unplugged blocks read back as zero: their pages went back to the host. */
static void check_discard(struct fx *f)
{
	resize(f, 8 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(0), 4, NULL), VIRTIO_MEM_RESP_ACK);
	memset(hva(f, blk(0)), 0xA5, 4 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(1), 1, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(hva(f, blk(1))[0], 0);
	assert_int_equal(hva(f, blk(1))[BS - 1], 0);
	assert_int_equal(hva(f, blk(0))[BS - 1], 0xA5); /* neighbours untouched */
	assert_int_equal(hva(f, blk(2))[0], 0xA5);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).plugged, 0);
	assert_int_equal(hva(f, blk(0))[0], 0);
	assert_int_equal(hva(f, blk(3))[BS - 1], 0);
}

static void test_unplug_discards(void **state)
{
	check_discard(*state);
}

static void test_unplug_punches_memfd(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	check_discard(f);
	resize(f, 8 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(0), 8, NULL), VIRTIO_MEM_RESP_ACK);
	memset(hva(f, blk(0)), 1, 8 * BS);
	assert_int_equal(fstat(f->mem.regions[1].fd, &sb), 0);
	assert_true(sb.st_blocks * 512 >= (off_t)(8 * BS));
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(fstat(f->mem.regions[1].fd, &sb), 0);
	assert_true(sb.st_blocks * 512 < (off_t)BS);
}

static void test_unplug_all_many(void **state)
{
	struct fx *f = *state;
	uint16_t s;

	resize(f, 128 * BS);
	for (unsigned int i = 0; i < 200; i += 3)
		assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(i), 1, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).plugged, 67 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_STATE, blk(0), 256, &s), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(s, VIRTIO_MEM_STATE_UNPLUGGED);
	assert_int_equal(st(f).plugged, 0);
}

/* ---- resizes and the usable region ----------------------------------------- */

static void test_resize_while_pending(void **state)
{
	struct fx *f = *state;

	resize(f, 8 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(0), 2, NULL), VIRTIO_MEM_RESP_ACK);
	/* a new request before the driver got to 8: the new one counts */
	resize(f, 3 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(2), 2, NULL), VIRTIO_MEM_RESP_NACK);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(2), 1, NULL), VIRTIO_MEM_RESP_ACK);
	resize(f, 1 * BS);
	assert_int_equal(st(f).requested, BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG, blk(1), 2, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).plugged, BS);
	resize(f, 6 * BS);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, blk(1), 5, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).plugged, 6 * BS);
}

static void test_usable_region(void **state)
{
	struct fx *f = *state;

	assert_int_equal(st(f).usable, VIRTIO_MEM_USABLE_EXTENT);
	resize(f, 300 * MiB);
	assert_int_equal(st(f).usable, HP_SIZE); /* 300M + 256M, capped at the region (512M) */
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA + HP_SIZE - BS, 1, NULL), VIRTIO_MEM_RESP_ACK);
	/* shrinking the request does not shrink the usable region under a plugged block */
	resize(f, BS);
	assert_int_equal(st(f).usable, HP_SIZE);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL), VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).usable, BS + VIRTIO_MEM_USABLE_EXTENT);
	assert_int_equal(req(f, VIRTIO_MEM_REQ_PLUG, HP_GPA + HP_SIZE - BS, 1, NULL), VIRTIO_MEM_RESP_ERROR);
}

static void test_create_checks(void **state)
{
	struct fx *f = *state;
	struct mv_virtio_env env = { .mem = &f->mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	struct mv_virtio_mem_config c = { .id = "x", .addr = HP_GPA, .region_size = HP_SIZE, .block_size = 3 * MiB };
	struct mv_virtio_mem *d = NULL;
	struct mv_err err = { "" };

	assert_int_equal(virtio_mem__create(&env, &c, &d, &err), -EINVAL);
	c.block_size = BS;
	c.region_size = HP_SIZE + BS; /* beyond the mapped region */
	assert_int_equal(virtio_mem__create(&env, &c, &d, &err), -EINVAL);
	c.region_size = HP_SIZE;
	c.requested = HP_SIZE + BS;
	assert_int_equal(virtio_mem__create(&env, &c, &d, &err), -EINVAL);
	assert_null(d);
}

/* ---- hugepages (only where the host has free ones reserved) --------------- */

static long huge_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

#define HUGE_HP_SIZE (16 * MiB)

/* Unplugged 2M blocks of hugetlb-backed memory go back to the pool. */
static void check_huge(bool shared)
{
	struct mv_guestmem mem = { 0 };
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL }, .no_thread = true };
	struct mv_virtio_mem_config c = { .id = "huge", .addr = HP_GPA, .region_size = HUGE_HP_SIZE, .block_size = BS };
	struct mv_memopts opts = { .shared = shared, .hugepages = true };
	struct mv_virtio_mem *d;
	struct virtio_mem_req r = { .type = VIRTIO_MEM_REQ_PLUG, .addr = HP_GPA, .nb_blocks = 4 };
	struct virtio_mem_resp resp;
	struct mv_err err = { "" };
	long before;

	if (guestmem__map_hotplug(&mem, HP_GPA, HUGE_HP_SIZE, &opts, &err) < 0)
		fail_msg("guestmem__map_hotplug: %s", err.msg);
	assert_int_equal(virtio_mem__create(&env, &c, &d, &err), 0);
	assert_int_equal(virtio_mem__resize(d, 4 * BS, &err), 0);
	virtio_mem__handle(d, &r, &resp);
	assert_int_equal(resp.type, VIRTIO_MEM_RESP_ACK);
	memset(guestmem__range(&mem, HP_GPA, 4 * BS), 0x3C, 4 * BS);
	before = huge_free();
	r.type = VIRTIO_MEM_REQ_UNPLUG;
	r.nb_blocks = 3;
	virtio_mem__handle(d, &r, &resp);
	assert_int_equal(resp.type, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(huge_free(), before + 3);
	assert_int_equal(*(uint8_t *)guestmem__range(&mem, HP_GPA, 1), 0);
	assert_int_equal(*(uint8_t *)guestmem__range(&mem, HP_GPA + 3 * BS, 1), 0x3C);
	virtio_mem__destroy(d);
	guestmem__unmap(&mem);
}

static void test_hugepages(void **state)
{
	if (huge_free() < (long)(HUGE_HP_SIZE / BS)) {
		print_message("skipped: fewer than %llu free 2M hugepages (vm.nr_hugepages)\n", HUGE_HP_SIZE / BS);
		skip();
	}
	check_huge(false);
	check_huge(true);
}

/* ---- through the queue -------------------------------------------------------- */

static int64_t submit(struct fx *f, uint32_t req_len, uint32_t resp_len)
{
	struct vdrv_seg s[2] = { { REQ, req_len, false }, { RESP, resp_len, true } };
	uint16_t before = vdrv__used_idx(&f->ring);

	vdrv__post_chain(&f->ring, s, 2);
	virtio_pci__process(f->vp, 0);
	if (vdrv__used_idx(&f->ring) == before)
		return -1;
	return vdrv__used_elem(&f->ring, before).len;
}

static void test_queue(void **state)
{
	struct fx *f = *state;
	uint8_t *r = f->ram + (REQ - RAM_GPA), *resp = f->ram + (RESP - RAM_GPA);
	uint16_t type = VIRTIO_MEM_REQ_PLUG, nb = 2, v;
	uint64_t addr = blk(4);

	driver_ok(f);
	resize(f, 2 * BS);
	memset(r, 0, 24);
	memcpy(r, &type, 2);
	memcpy(r + 8, &addr, 8);
	memcpy(r + 16, &nb, 2);
	memset(resp, 0xEE, 16);
	assert_int_equal(submit(f, 24, 10), 10);
	memcpy(&v, resp, 2);
	assert_int_equal(v, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(st(f).plugged, 2 * BS);
	type = VIRTIO_MEM_REQ_STATE;
	memcpy(r, &type, 2);
	assert_int_equal(submit(f, 24, 16), 10);
	memcpy(&v, resp + 8, 2);
	assert_int_equal(v, VIRTIO_MEM_STATE_PLUGGED);
	/* too short a request or response: back with nothing written, an error */
	assert_int_equal(submit(f, 16, 10), 0);
	assert_int_equal(submit(f, 24, 8), 0);
	assert_int_equal(atomic_load(&f->vp->errors), 2);
	assert_false(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_up_to_requested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_bad_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_mixed_and_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_punches_memfd, setup_shared, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_all_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize_while_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usable_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test(test_hugepages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
