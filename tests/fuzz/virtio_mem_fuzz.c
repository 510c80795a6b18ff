/* libFuzzer target: virtio-mem (devices/virtio/mem.c) behind the modern
 * PCI transport, driven by a hostile guest (BAR 0, config space, guest
 * RAM it writes itself: tests/support/virtio_driver.h) and by the host's
 * resizes, over a 256-block hotplug region (2 MiB blocks) mapped like the
 * real one.
 *
 * The input is a sequence of records, each an op byte: bits 0-1 the size,
 * bit 2 write, bits 3-4 the target, as vdrv__fuzz_access reads them for
 * targets 0 (BAR 0), 1 (config space) and 3 (guest RAM: 64 KiB at GPA
 * 0x10000); target 2 is this file's, bits 5-6 choosing:
 *   0: one I/O thread pass over the request queue;
 *   1: the host resizes to (next le16 & 511) blocks (past the region: refused);
 *   2: a request straight to the handler: type (1 byte), addr (8), nb (2);
 *   3: the same with addr = region start + le16 * 32 KiB - 4 blocks.
 * Invariants (besides ASan/UBSan), checked after every record: responses
 * are ACK, NACK or ERROR; an ACKed PLUG leaves plugged_size <= requested;
 * plugged_size is the number of plugged blocks (STATE of each block)
 * times the block size; no plugged block lies outside the usable region;
 * the usable region covers requested_size (or the whole region). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/mem.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL
#define HP_GPA 0x100000000ULL
#define BS (2 * 1024 * 1024ULL)
#define NBLOCKS 256
#define HP_SIZE (BS * NBLOCKS)

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct mv_guestmem mem;
static struct mv_virtio_mem *dev;
static struct mv_virtio_pci *vp;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void init(void)
{
	struct mv_virtio_env env = { .mem = &mem, .vm_fd = -1, .router = { &vdrv__router_ops, NULL },
				     .no_thread = true };
	struct mv_virtio_mem_config c = { .id = "fuzz", .addr = HP_GPA, .region_size = HP_SIZE, .block_size = BS };

	check(guestmem__add_region(&mem, RAM_GPA, RAM_SIZE, ram) == 0);
	check(guestmem__map_hotplug(&mem, HP_GPA, HP_SIZE, NULL, NULL) == 0);
	check(virtio_mem__create(&env, &c, &dev, NULL) == 0);
	vp = virtio_mem__pci(dev);
}

static uint16_t handle(uint16_t type, uint64_t addr, uint16_t nb, uint16_t *state)
{
	struct virtio_mem_req r = { .type = type, .addr = addr, .nb_blocks = nb };
	struct virtio_mem_resp resp;

	pthread_mutex_lock(&vp->lock);
	virtio_mem__handle(dev, &r, &resp);
	pthread_mutex_unlock(&vp->lock);
	if (state)
		*state = resp.state;
	return resp.type;
}

static void check_invariants(void)
{
	struct mv_virtio_mem_state st;
	uint64_t plugged = 0;

	virtio_mem__state(dev, &st);
	for (unsigned int i = 0; i < NBLOCKS; i++) {
		uint16_t s = 0xFFFF;

		check(handle(VIRTIO_MEM_REQ_STATE, HP_GPA + i * BS, 1, &s) == VIRTIO_MEM_RESP_ACK);
		check(s == VIRTIO_MEM_STATE_PLUGGED || s == VIRTIO_MEM_STATE_UNPLUGGED);
		if (s == VIRTIO_MEM_STATE_PLUGGED) {
			plugged += BS;
			check((i + 1) * BS <= st.usable);
		}
	}
	check(plugged == st.plugged);
	check(st.usable <= HP_SIZE && (st.usable >= st.requested || st.usable == HP_SIZE));
}

static void request(uint8_t op, const uint8_t **p, const uint8_t *end)
{
	uint16_t type = (uint16_t)vdrv__take(p, end, 1), nb, resp;
	uint64_t addr = ((op >> 5) & 3) == 3 ? HP_GPA + vdrv__take(p, end, 2) * (BS / 64) - 4 * BS : vdrv__take(p, end, 8);
	struct mv_virtio_mem_state st;

	nb = (uint16_t)vdrv__take(p, end, 2);
	resp = handle(type & 7, addr, nb, NULL);
	check(resp == VIRTIO_MEM_RESP_ACK || resp == VIRTIO_MEM_RESP_NACK || resp == VIRTIO_MEM_RESP_ERROR);
	virtio_mem__state(dev, &st);
	if ((type & 7) == VIRTIO_MEM_REQ_PLUG && resp == VIRTIO_MEM_RESP_ACK)
		check(st.plugged <= st.requested);
}

static void own_record(uint8_t op, const uint8_t **p, const uint8_t *end)
{
	switch ((op >> 5) & 3) {
	case 0:
		virtio_pci__process(vp, 0);
		break;
	case 1: {
		uint64_t blocks = vdrv__take(p, end, 2) & 511;
		int ret = virtio_mem__resize(dev, blocks * BS, NULL);

		check(blocks <= NBLOCKS ? ret == 0 : ret < 0);
		break;
	}
	default:
		request(op, p, end);
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
		check_invariants();
	}
	/* leave the device as a fresh one for the next input */
	vdrv__wr(vp, VIRTIO_COMMON_STATUS, 0, 1);
	check(handle(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL) == VIRTIO_MEM_RESP_ACK);
	check(virtio_mem__resize(dev, 0, NULL) == 0);
	return 0;
}
