/* The fake guest driver of virtio_driver.h. */
#include "tests/support/virtio_driver.h"

#include <string.h>

#include "core/x86/layout.h"

static int r_add(void *o, const struct mv_msi_msg *m, unsigned int *gsi)
{
	unsigned int *next = o;

	*gsi = next ? (*next)++ : LAYOUT_MSI_GSI_BASE;
	return 0;
}
static int r_update(void *o, unsigned int gsi, const struct mv_msi_msg *m) { return 0; }
static void r_del(void *o, unsigned int gsi) {}
static int r_bind(void *o, unsigned int gsi, int fd) { return 0; }
static int r_unbind(void *o, unsigned int gsi, int fd) { return 0; }
const struct mv_msi_router_ops vdrv__router_ops = { r_add, r_update, r_del, r_bind, r_unbind };

/* ---- BAR 0 and the common configuration ----------------------------------- */

uint64_t vdrv__rd(struct mv_virtio_pci *vp, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	virtio_pci__bar_access(vp, off, &v, len, false);
	return v;
}

void vdrv__wr(struct mv_virtio_pci *vp, uint64_t off, uint64_t v, uint32_t len)
{
	virtio_pci__bar_access(vp, off, &v, len, true);
}

uint8_t vdrv__status(struct mv_virtio_pci *vp)
{
	return (uint8_t)vdrv__rd(vp, VIRTIO_COMMON_STATUS, 1);
}

uint64_t vdrv__device_features(struct mv_virtio_pci *vp)
{
	uint64_t lo;

	vdrv__wr(vp, VIRTIO_COMMON_DFSELECT, 0, 4);
	lo = vdrv__rd(vp, VIRTIO_COMMON_DF, 4);
	vdrv__wr(vp, VIRTIO_COMMON_DFSELECT, 1, 4);
	return lo | vdrv__rd(vp, VIRTIO_COMMON_DF, 4) << 32;
}

uint8_t vdrv__negotiate(struct mv_virtio_pci *vp, uint64_t features)
{
	const uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	vdrv__wr(vp, VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	vdrv__wr(vp, VIRTIO_COMMON_STATUS, s, 1);
	vdrv__wr(vp, VIRTIO_COMMON_GFSELECT, 0, 4);
	vdrv__wr(vp, VIRTIO_COMMON_GF, (uint32_t)features, 4);
	vdrv__wr(vp, VIRTIO_COMMON_GFSELECT, 1, 4);
	vdrv__wr(vp, VIRTIO_COMMON_GF, features >> 32, 4);
	vdrv__wr(vp, VIRTIO_COMMON_STATUS, s | VIRTIO_STATUS_FEATURES_OK, 1);
	return vdrv__status(vp);
}

void vdrv__setup_queue(struct mv_virtio_pci *vp, uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		       uint64_t used)
{
	vdrv__wr(vp, VIRTIO_COMMON_Q_SELECT, q, 2);
	vdrv__wr(vp, VIRTIO_COMMON_Q_SIZE, size, 2);
	vdrv__wr(vp, VIRTIO_COMMON_Q_DESCLO, desc, 8);
	vdrv__wr(vp, VIRTIO_COMMON_Q_AVAILLO, (uint32_t)avail, 4);
	vdrv__wr(vp, VIRTIO_COMMON_Q_AVAILHI, avail >> 32, 4);
	vdrv__wr(vp, VIRTIO_COMMON_Q_USEDLO, (uint32_t)used, 4);
	vdrv__wr(vp, VIRTIO_COMMON_Q_USEDHI, used >> 32, 4);
	vdrv__wr(vp, VIRTIO_COMMON_Q_ENABLE, 1, 2);
}

uint8_t vdrv__driver_ok(struct mv_virtio_pci *vp)
{
	vdrv__wr(vp, VIRTIO_COMMON_STATUS, vdrv__status(vp) | VIRTIO_STATUS_DRIVER_OK, 1);
	return vdrv__status(vp);
}

/* ---- split rings in fake guest RAM ------------------------------------------ */

static void *ring_at(const struct vdrv_ring *r, uint64_t gpa)
{
	return r->ram + (gpa - r->ram_gpa);
}

void vdrv__put_desc(struct vdrv_ring *r, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy(ring_at(r, r->desc + VIRTQ_DESC_SIZE * (uint64_t)idx), &d, sizeof(d));
}

void vdrv__publish(struct vdrv_ring *r, uint16_t head)
{
	uint16_t *avail = ring_at(r, r->avail);

	avail[2 + avail[1] % r->size] = head;
	__atomic_store_n(&avail[1], (uint16_t)(avail[1] + 1), __ATOMIC_RELEASE); /* the guest's wmb */
}

uint16_t vdrv__post_chain(struct vdrv_ring *r, const struct vdrv_seg *s, unsigned int n)
{
	uint16_t head = r->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % r->size);
		uint16_t flags = (uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));

		vdrv__put_desc(r, idx, s[i].addr, s[i].len, flags, (uint16_t)((idx + 1) % r->size));
	}
	r->next_desc = (uint16_t)((head + n) % r->size);
	vdrv__publish(r, head);
	return head;
}

uint16_t vdrv__used_idx(const struct vdrv_ring *r)
{
	return __atomic_load_n(&((uint16_t *)ring_at(r, r->used))[1], __ATOMIC_ACQUIRE);
}

struct virtq_used_elem vdrv__used_elem(const struct vdrv_ring *r, uint16_t i)
{
	struct virtq_used_elem e;

	memcpy(&e, ring_at(r, r->used + 4 + sizeof(e) * (uint64_t)(i % r->size)), sizeof(e));
	return e;
}

/* ---- a hostile driver --------------------------------------------------------- */

uint64_t vdrv__take(const uint8_t **p, const uint8_t *end, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && *p < end; i++, (*p)++)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

bool vdrv__fuzz_access(struct mv_virtio_pci *vp, uint8_t *ram, size_t ram_size, uint8_t op, const uint8_t **p,
		       const uint8_t *end)
{
	unsigned int len = 1u << (op & 3), target = (op >> 3) & 3;
	bool is_write = op & 4;
	uint64_t off, v;

	if (target == 2)
		return false;
	off = vdrv__take(p, end, 2);
	if (target == 3) {
		v = vdrv__take(p, end, 8);
		memcpy(ram + (off & (ram_size - 8)), &v, 8);
		return true;
	}
	v = is_write ? vdrv__take(p, end, len) : 0;
	if (target == 0)
		virtio_pci__bar_access(vp, off & 0x7FFF, &v, len, is_write);
	else if (is_write)
		pci__cfg_write(&vp->pci, (uint32_t)off & 0xFFF, MIN(len, 4u), (uint32_t)v);
	else
		(void)pci__cfg_read(&vp->pci, (uint32_t)off & 0xFFF, MIN(len, 4u));
	return true;
}

bool vdrv__fuzz_process(struct mv_virtio_pci *vp, unsigned int q)
{
	struct mv_virtq *vq = &vp->q[q].vq;
	uint16_t before = vq->used_idx;
	bool live = vq->ready && (vp->status & VIRTIO_STATUS_DRIVER_OK) && !(vp->status & VIRTIO_STATUS_NEEDS_RESET);

	virtio_pci__process(vp, q);
	return (live || vq->used_idx == before) && (!vq->ready || (uint16_t)(vq->used_idx - before) <= vq->size);
}
