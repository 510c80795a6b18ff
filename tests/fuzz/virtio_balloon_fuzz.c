/* libFuzzer target: virtio-balloon (devices/virtio/balloon.c) with every
 * queue (inflate, deflate, stats, free page reporting) behind the modern
 * PCI transport, driven by a hostile guest (BAR 0, config space, guest RAM
 * it writes itself: tests/support/virtio_driver.h) and by the host asking
 * for statistics and setting targets.
 *
 * The input is a sequence of records, each an op byte: bits 0-1 the size,
 * bit 2 write, bits 3-4 the target, as vdrv__fuzz_access reads them for
 * targets 0 (BAR 0), 1 (config space) and 3 (guest RAM: 64 KiB at GPA
 * 0x10000); target 2 is this file's, bits 5-6 choosing:
 *   0: one I/O thread pass over queue (op >> 7) + 2 * (next byte & 1);
 *   1: the host asks for statistics (then a pass over the stats queue);
 *   2: the host sets the target to the next le32 pages;
 *   3: the host reads the statistics and counters.
 * Inflated and reported pages lie in the guest RAM, which is an anonymous
 * mapping (discarding it is real). Invariants (besides ASan/UBSan): the
 * used index moves only while the device is live, by at most the queue
 * size per pass (vdrv__fuzz_process); statistics only carry known tags;
 * reported bytes never exceed what the guest could have posted. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/virtio/balloon.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL

static uint8_t *ram;
static struct mv_guestmem mem;
static struct mv_virtio_balloon *dev;
static struct mv_virtio_pci *vp;
static uint64_t passes;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void init(void)
{
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL },
				     .no_thread = true };
	struct mv_virtio_balloon_config c = { .id = "fuzz", .stats = true, .free_page_reporting = true,
					      .deflate_on_oom = true };

	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(ram != MAP_FAILED);
	check(guestmem__add_region(&mem, RAM_GPA, RAM_SIZE, ram) == 0);
	check(virtio_balloon__create(&env, &c, &dev, NULL) == 0);
	vp = virtio_balloon__pci(dev);
}

static void own_record(uint8_t op, const uint8_t **p, const uint8_t *end)
{
	struct mv_balloon_stats st;
	struct mv_balloon_counters c;

	switch ((op >> 5) & 3) {
	case 0:
		check(vdrv__fuzz_process(vp, (op >> 7) + 2 * (vdrv__take(p, end, 1) & 1)));
		passes++;
		break;
	case 1:
		virtio_balloon__request_stats(dev);
		check(vdrv__fuzz_process(vp, VIRTIO_BALLOON_Q_STATS));
		passes++;
		break;
	case 2:
		virtio_balloon__set_target(dev, (uint32_t)vdrv__take(p, end, 4));
		break;
	default:
		virtio_balloon__stats(dev, &st);
		check((st.present >> VIRTIO_BALLOON_S_NR) == 0);
		virtio_balloon__counters(dev, &c);
		/* at most a queue's worth of whole-RAM chains per pass */
		check(c.reported <= passes * VIRTQ_MAX_SIZE * RAM_SIZE);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	if (!dev)
		init();
	while (p < end) {
		uint8_t op = *p++;

		if (!vdrv__fuzz_access(vp, ram, RAM_SIZE, op, &p, end))
			own_record(op, &p, end);
	}
	vdrv__wr(vp, VIRTIO_COMMON_STATUS, 0, 1); /* reset for the next input */
	return 0;
}
