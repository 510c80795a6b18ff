/* The virtio modern PCI transport (devices/virtio/virtio_pci.c) with the
 * virtio-rng device behind it, driven as a guest driver would through
 * config space and BAR 0: capability layout, feature negotiation (a driver
 * without VERSION_1 is refused), queue setup and enable, reset, kicks and
 * interrupts (INTx + ISR, MSI-X), DEVICE_NEEDS_RESET on a broken ring, the
 * PCI configuration access capability's window onto BAR 0, and
 * the counters vm:info() shows. No KVM: no ioeventfd, no I/O thread. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/x86/layout.h"
#include "devices/pci/msix.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x40000ULL
#define QSIZE 16
#define DESC (RAM_GPA + 0x1000)
#define AVAIL (RAM_GPA + 0x2000)
#define USED (RAM_GPA + 0x3000)
#define BUF (RAM_GPA + 0x10000)

struct fx {
	uint8_t *ram;
	struct mv_guestmem mem;
	struct mv_virtio_rng *rng;
	struct mv_virtio_pci *vp;
	struct vdrv_ring ring;
};

static unsigned int next_gsi = LAYOUT_MSI_GSI_BASE; /* distinct GSIs, across tests */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mv_virtio_env env = { .vm_fd = -1, .router = { &vdrv__router_ops, &next_gsi }, .no_thread = true };
	struct mv_err err;

	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	env.mem = &f->mem;
	assert_int_equal(virtio_rng__create(&env, "rng0", &f->rng, &err), 0);
	f->vp = virtio_rng__pci(f->rng);
	f->ring = (struct vdrv_ring){ .ram = f->ram, .ram_gpa = RAM_GPA, .desc = DESC, .avail = AVAIL, .used = USED,
				      .size = QSIZE };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_rng__destroy(f->rng);
	free(f->ram);
	free(f);
	return 0;
}

static void setup_queue(struct fx *f, uint64_t desc, uint64_t avail, uint64_t used)
{
	vdrv__setup_queue(f->vp, 0, QSIZE, desc, avail, used);
}

static void driver_ok(struct fx *f)
{
	assert_true(vdrv__negotiate(f->vp, 1ULL << VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(f, DESC, AVAIL, USED);
	vdrv__driver_ok(f->vp);
}

static void *at(struct fx *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

/* One descriptor as given at index head, made available. */
static void post(struct fx *f, uint16_t head, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vdrv__put_desc(&f->ring, head, addr, len, flags, next);
	vdrv__publish(&f->ring, head);
}

static uint64_t efd_count(int fd)
{
	eventfd_t v = 0;

	if (eventfd_read(fd, &v) < 0)
		return 0;
	return v;
}

/* The guest's write to MSI-X table entry vec's Vector Control (the PCI
 * layer routes the table part of BAR 0 to msix.c, not to virtio). */
static void vector_control(struct fx *f, unsigned int vec, uint32_t v)
{
	assert_true(msix__bar_access(f->vp->msix, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE_OFF + 16 * vec + 12, &v, 4,
				     true));
}

/* ---- tests ------------------------------------------------------------------ */

static void test_ids_and_capabilities(void **state)
{
	struct fx *f = *state;
	struct mv_pci_dev *d = &f->vp->pci;
	static const struct { uint8_t type; uint32_t off, len; uint8_t cap_len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, 16 },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_NOTIFY_MULT, 20 },
		{ VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 16 },
	};
	uint16_t cap = 0;

	assert_int_equal(pci__cfg_read(d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pci__cfg_read(d, PCI_DEVICE_ID, 2), 0x1044);
	assert_int_equal(pci__cfg_read(d, PCI_REVISION_ID, 1), 1);
	assert_true(pci__cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR 0: 64-bit memory, 32 KiB */
	assert_int_equal(pci__cfg_read(d, PCI_BAR0, 4) & 0xF, PCI_BAR_MEM_TYPE_64);
	pci__cfg_write(d, PCI_BAR0, 4, 0xFFFFFFFF);
	assert_int_equal(pci__cfg_read(d, PCI_BAR0, 4) & ~0xFu, (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1));
	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++) {
		cap = pci__find_cap(d, PCI_CAP_ID_VNDR, cap);
		assert_int_not_equal(cap, 0);
		assert_int_equal(pci__cfg_read(d, cap + 2u, 1), want[i].cap_len);
		assert_int_equal(pci__cfg_read(d, cap + 3u, 1), want[i].type);
		assert_int_equal(pci__cfg_read(d, cap + 4u, 1), VIRTIO_PCI_BAR);
		assert_int_equal(pci__cfg_read(d, cap + 8u, 4), want[i].off);
		assert_int_equal(pci__cfg_read(d, cap + 12u, 4), want[i].len);
		if (want[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			assert_int_equal(pci__cfg_read(d, cap + 16u, 4), VIRTIO_PCI_NOTIFY_MULT);
	}
	/* rng has no device configuration: then comes the PCI cfg access
	 * capability, and nothing else */
	cap = pci__find_cap(d, PCI_CAP_ID_VNDR, cap);
	assert_int_equal(pci__cfg_read(d, cap + 2u, 1), 20);
	assert_int_equal(pci__cfg_read(d, cap + 3u, 1), VIRTIO_PCI_CAP_PCI_CFG);
	assert_int_equal(pci__find_cap(d, PCI_CAP_ID_VNDR, cap), 0);
	assert_true(cap + 20u <= PCI_CFG_STD_SIZE);
	/* MSI-X: 2 vectors (config + one queue), table and PBA in BAR 0 */
	cap = pci__find_cap(d, PCI_CAP_ID_MSIX, 0);
	assert_int_not_equal(cap, 0);
	assert_int_equal(pci__cfg_read(d, cap + 2u, 2) & MSIX_CTRL_SIZE_MASK, 1);
	assert_int_equal(pci__cfg_read(d, cap + 4u, 4), VIRTIO_PCI_MSIX_TABLE_OFF | VIRTIO_PCI_BAR);
	assert_int_equal(pci__cfg_read(d, cap + 8u, 4), VIRTIO_PCI_MSIX_PBA_OFF | VIRTIO_PCI_BAR);
	/* common config: one queue of QSIZE max, no vectors yet */
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_NUMQ, 2), 1);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_SIZE, 2), 256);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_MSIX, 2), VIRTIO_NO_VECTOR);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_NOFF, 2), 0);
	/* past the structure and unknown regions read as ones */
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_COMMON_SIZE, 4), 0xFFFFFFFF);
	assert_int_equal(vdrv__rd(f->vp, 0x7000, 4), 0xFFFFFFFF);
}

static void test_device_features(void **state)
{
	struct fx *f = *state;

	vdrv__wr(f->vp, VIRTIO_COMMON_DFSELECT, 0, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_DF, 4),
			 (1u << VIRTIO_RING_F_INDIRECT_DESC) | (1u << VIRTIO_RING_F_EVENT_IDX));
	vdrv__wr(f->vp, VIRTIO_COMMON_DFSELECT, 1, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_DF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
	vdrv__wr(f->vp, VIRTIO_COMMON_DFSELECT, 7, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_DF, 4), 0);
}

static void test_driver_without_version_1_is_refused(void **state)
{
	struct fx *f = *state;

	assert_false(vdrv__negotiate(f->vp, 1ULL << VIRTIO_RING_F_EVENT_IDX) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_driver_with_unknown_features_is_refused(void **state)
{
	struct fx *f = *state;

	assert_false(vdrv__negotiate(f->vp, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << 40)) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_features_ok_locks_features(void **state)
{
	struct fx *f = *state;
	uint64_t feat = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX);

	assert_true(vdrv__negotiate(f->vp, feat) & VIRTIO_STATUS_FEATURES_OK);
	vdrv__wr(f->vp, VIRTIO_COMMON_GFSELECT, 0, 4);
	vdrv__wr(f->vp, VIRTIO_COMMON_GF, 0, 4); /* too late */
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_GF, 4), 1u << VIRTIO_RING_F_EVENT_IDX);
}

static void test_queue_enable(void **state)
{
	struct fx *f = *state;

	assert_true(vdrv__negotiate(f->vp, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX)) &
		    VIRTIO_STATUS_FEATURES_OK);
	setup_queue(f, DESC, AVAIL, USED);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_ENABLE, 2), 1);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_SIZE, 2), QSIZE);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_DESCLO, 8), DESC);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_AVAILHI, 4), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_USEDLO, 4), (uint32_t)USED);
	assert_true(f->vp->q[0].vq.event_idx);
	/* fixed while enabled */
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_SIZE, 4, 2);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_SIZE, 2), QSIZE);
	/* vectors past the table read back as NO_VECTOR */
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_MSIX, 1, 2);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_MSIX, 2), 1);
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	/* a queue that does not exist reads 0 and ignores writes */
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_SELECT, 5, 2);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_SIZE, 2), 0);
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_ENABLE, 2), 0);
	assert_false(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_queue_outside_memory_needs_reset(void **state)
{
	struct fx *f = *state;

	assert_true(vdrv__negotiate(f->vp, 1ULL << VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(f, DESC, AVAIL, RAM_GPA + RAM_SIZE);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_ENABLE, 2), 0);
	assert_true(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	/* a driver write does not clear it; reset does */
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	assert_true(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	assert_int_equal(vdrv__status(f->vp), 0);
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	driver_ok(f);
	vdrv__wr(f->vp, VIRTIO_COMMON_MSIX, 0, 2);
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_MSIX, 1, 2);
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	assert_int_equal(vdrv__status(f->vp), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_MSIX, 2), VIRTIO_NO_VECTOR);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_SIZE, 2), 256);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_DESCLO, 8), 0);
	vdrv__wr(f->vp, VIRTIO_COMMON_GFSELECT, 1, 4);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_GF, 4), 0);
	/* and it works again from scratch */
	driver_ok(f);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_COMMON_Q_ENABLE, 2), 1);
}

static void test_notify_fills_buffer_and_raises_intx(void **state)
{
	struct fx *f = *state;
	uint8_t zero[64] = { 0 };
	struct virtq_used_elem *e = at(f, USED + 4);
	uint16_t *used = at(f, USED);

	driver_ok(f);
	post(f, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	vdrv__wr(f->vp, VIRTIO_PCI_NOTIFY_OFF, 0, 2); /* kick queue 0 */
	assert_int_equal(efd_count(f->vp->q[0].efd), 1);
	vdrv__wr(f->vp, VIRTIO_PCI_NOTIFY_OFF + 4 * 9, 0, 2); /* no such queue: ignored */
	virtio_pci__process(f->vp, 0);
	assert_int_equal(used[1], 1);
	assert_int_equal(e->id, 0);
	assert_int_equal(e->len, 64);
	assert_memory_not_equal(at(f, BUF), zero, 64);
	/* MSI-X is off: INTx + ISR bit 0, cleared by reading */
	assert_true(pci__cfg_read(&f->vp->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_ISR_OFF, 1), 1);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_ISR_OFF, 1), 0);
	assert_false(pci__cfg_read(&f->vp->pci, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(atomic_load(&f->vp->requests), 1);
	assert_int_equal(atomic_load(&f->vp->bytes), 64);
	assert_int_equal(atomic_load(&f->vp->errors), 0);
}

static void test_no_work_before_driver_ok(void **state)
{
	struct fx *f = *state;
	uint16_t *used = at(f, USED);

	assert_true(vdrv__negotiate(f->vp, 1ULL << VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(f, DESC, AVAIL, USED);
	post(f, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	virtio_pci__process(f->vp, 0);
	assert_int_equal(used[1], 0);
}

static void test_msix_queue_vector(void **state)
{
	struct fx *f = *state;
	struct mv_pci_dev *d = &f->vp->pci;
	uint16_t cap = pci__find_cap(d, PCI_CAP_ID_MSIX, 0);
	uint32_t ctrl = 0;

	driver_ok(f);
	pci__cfg_write(d, cap + 2u, 2, MSIX_CTRL_ENABLE);
	vector_control(f, 1, ctrl); /* unmask vector 1 */
	vdrv__wr(f->vp, VIRTIO_COMMON_MSIX, 0, 2);
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_MSIX, 1, 2);
	post(f, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	virtio_pci__process(f->vp, 0);
	assert_int_equal(efd_count(msix__eventfd(f->vp->msix, 1)), 1);
	assert_int_equal(efd_count(msix__eventfd(f->vp->msix, 0)), 0);
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_ISR_OFF, 1), 0); /* no INTx with MSI-X */
}

static void test_malformed_chain_needs_reset(void **state)
{
	struct fx *f = *state;
	uint16_t *used = at(f, USED);

	driver_ok(f);
	post(f, 0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0); /* loops onto itself */
	virtio_pci__process(f->vp, 0);
	assert_true(vdrv__status(f->vp) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used[1], 0);
	assert_int_equal(atomic_load(&f->vp->errors), 1);
	/* config interrupt through INTx: ISR bit 1 */
	assert_int_equal(vdrv__rd(f->vp, VIRTIO_PCI_ISR_OFF, 1), 2);
	/* further kicks do nothing until reset */
	post(f, 1, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	virtio_pci__process(f->vp, 0);
	assert_int_equal(used[1], 0);
	vdrv__wr(f->vp, VIRTIO_COMMON_STATUS, 0, 1);
	memset(at(f, AVAIL), 0, 64);
	driver_ok(f);
	post(f, 1, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	virtio_pci__process(f->vp, 0);
	assert_int_equal(used[1], 1);
}

static uint16_t cfg_cap(struct mv_pci_dev *d)
{
	for (uint16_t c = pci__find_cap(d, PCI_CAP_ID_VNDR, 0); c; c = pci__find_cap(d, PCI_CAP_ID_VNDR, c))
		if (pci__get8(d, c + 3u) == VIRTIO_PCI_CAP_PCI_CFG)
			return c;
	return 0;
}

static void test_pci_cfg_access_window(void **state)
{
	struct fx *f = *state;
	struct mv_pci_dev *d = &f->vp->pci;
	uint16_t c = cfg_cap(d);

	assert_int_not_equal(c, 0);
	/* read device_feature word 1 through the window */
	vdrv__wr(f->vp, VIRTIO_COMMON_DFSELECT, 1, 4);
	pci__cfg_write(d, c + 4u, 1, VIRTIO_PCI_BAR);
	pci__cfg_write(d, c + 8u, 4, VIRTIO_COMMON_DF);
	pci__cfg_write(d, c + 12u, 4, 4);
	assert_int_equal(pci__cfg_read(d, c + 16u, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
	/* write device_status (1 byte) through it */
	pci__cfg_write(d, c + 8u, 4, VIRTIO_COMMON_STATUS);
	pci__cfg_write(d, c + 12u, 4, 1);
	pci__cfg_write(d, c + 16u, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(vdrv__status(f->vp), VIRTIO_STATUS_ACKNOWLEDGE);
	/* bad length, misaligned offset or another BAR: the window is plain
	 * config space (reads back what was last written to it) */
	pci__cfg_write(d, c + 4u, 1, 2);
	pci__cfg_write(d, c + 16u, 4, 0xdeadbeef);
	assert_int_equal(vdrv__status(f->vp), VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(pci__cfg_read(d, c + 16u, 4), 0xdeadbeef);
	pci__cfg_write(d, c + 4u, 1, VIRTIO_PCI_BAR);
	pci__cfg_write(d, c + 8u, 4, VIRTIO_COMMON_DF);
	pci__cfg_write(d, c + 12u, 4, 3);
	assert_int_equal(pci__cfg_read(d, c + 16u, 4), 0xdeadbeef);
	pci__cfg_write(d, c + 8u, 4, VIRTIO_COMMON_DF + 2);
	pci__cfg_write(d, c + 12u, 4, 4);
	assert_int_equal(pci__cfg_read(d, c + 16u, 4), 0xdeadbeef);
	pci__cfg_write(d, c + 8u, 4, VIRTIO_PCI_BAR_SIZE);
	assert_int_equal(pci__cfg_read(d, c + 16u, 4), 0xdeadbeef);
	/* and a good one again */
	pci__cfg_write(d, c + 8u, 4, VIRTIO_COMMON_DF);
	assert_int_equal(pci__cfg_read(d, c + 16u, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
}

static void test_info(void **state)
{
	struct fx *f = *state;
	struct mv_pci_info in = { 0 };

	f->vp->pci.ops->info(&f->vp->pci, &in);
	assert_string_equal(in.type, "virtio-rng");
	assert_string_equal(in.id, "rng0");
	assert_int_equal(in.requests, 0);
	assert_int_equal(in.nqueues, 1);
	assert_false(in.queues[0].ready);
}

/* vm:info()'s queues: indices from guest memory and the device, kicks and
 * interrupts counted, and a signalled vector that is masked shows as
 * pending until the guest unmasks it. */
static void test_info_queues(void **state)
{
	struct fx *f = *state;
	struct mv_pci_info in = { 0 };
	const struct mv_queue_info *q = &in.queues[0];

	driver_ok(f);
	pci__cfg_write(&f->vp->pci, pci__find_cap(&f->vp->pci, PCI_CAP_ID_MSIX, 0) + 2u, 2, MSIX_CTRL_ENABLE);
	vdrv__wr(f->vp, VIRTIO_COMMON_Q_MSIX, 1, 2); /* vector 1, masked as at reset */
	post(f, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	post(f, 1, BUF + 16, 16, VIRTQ_DESC_F_WRITE, 0);
	f->vp->pci.ops->info(&f->vp->pci, &in);
	assert_true(q->ready);
	assert_int_equal(q->size, QSIZE);
	assert_int_equal(q->avail_idx, 2);
	assert_int_equal(q->last_avail, 0);
	assert_int_equal(q->used_idx, 0);
	assert_int_equal(q->kicks, 0);
	assert_false(q->irq_pending);

	virtio_pci__take_kick(f->vp, 0, 3);
	f->vp->pci.ops->info(&f->vp->pci, &in);
	assert_int_equal(q->kicks, 3);
	assert_int_equal(q->avail_at_kick, 2);
	assert_int_equal(q->last_avail, 2);
	assert_int_equal(q->used_idx, 2);
	assert_int_equal(q->irqs, 1);
	assert_int_equal(q->used_at_irq, 2);
	assert_int_equal(q->vector, 1);
	assert_true(q->vector_masked);
	assert_true(q->irq_pending);
	assert_false(q->in_kernel);

	vector_control(f, 1, 0); /* unmasked: the irqfd takes it */
	f->vp->pci.ops->info(&f->vp->pci, &in);
	assert_false(q->vector_masked);
	assert_false(q->irq_pending);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_and_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_without_version_1_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_with_unknown_features_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok_locks_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_outside_memory_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_fills_buffer_and_raises_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_work_before_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_queue_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_chain_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_access_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_queues, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
