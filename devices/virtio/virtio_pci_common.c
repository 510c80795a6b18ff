/* The virtio PCI transport's common configuration block (virtio 1.2,
 * 4.1.4.3): feature negotiation, device_status and reset, queue setup. */
#include "devices/virtio/virtio_pci_priv.h"

#include <errno.h>
#include <string.h>

#include "core/log.h"

/* ---- reset and features ------------------------------------------------------ */

void vpci_reset(struct mv_virtio_pci *vp)
{
	vp->status = 0;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->config_vector = VIRTIO_NO_VECTOR;
	vp->queue_select = 0;
	vp->isr = 0;
	vp->needs_reset_logged = false;
	pci__set_intx(&vp->pci, 0);
	for (unsigned int i = 0; i < vp->p.nqueues; i++) {
		struct mv_virtio_queue *q = &vp->q[i];

		virtq__reset(&q->vq);
		q->size = vp->p.queue_size;
		q->msix_vector = VIRTIO_NO_VECTOR;
		q->desc = q->avail = q->used = 0;
	}
}

static bool features_ok(const struct mv_virtio_pci *vp)
{
	return !(vp->driver_features & ~vp->device_features) &&
	       (vp->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void set_status(struct mv_virtio_pci *vp, uint8_t v)
{
	bool was_ok = vp->status & VIRTIO_STATUS_DRIVER_OK;

	if (!v) {
		if (vp->p.ops->reset)
			vp->p.ops->reset(vp);
		vpci_reset(vp);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(vp->status & VIRTIO_STATUS_FEATURES_OK) && !features_ok(vp)) {
		pr_debug("%s: driver features 0x%llx refused", vp->pci.name, (unsigned long long)vp->driver_features);
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	vp->status = v | (vp->status & VIRTIO_STATUS_NEEDS_RESET);
	if (!was_ok && (v & VIRTIO_STATUS_DRIVER_OK) && (v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(vp->status & VIRTIO_STATUS_NEEDS_RESET) && vp->p.ops->driver_ok)
		vp->p.ops->driver_ok(vp);
	if (vp->status_hook)
		vp->status_hook(vp->status_opaque, vp->status);
}

void virtio_pci__set_status_hook(struct mv_virtio_pci *vp, void (*hook)(void *opaque, uint8_t status),
				 void *opaque)
{
	pthread_mutex_lock(&vp->lock);
	vp->status_hook = hook;
	vp->status_opaque = opaque;
	pthread_mutex_unlock(&vp->lock);
}

/* ---- common configuration ---------------------------------------------------- */

static struct mv_virtio_queue *selected(struct mv_virtio_pci *vp)
{
	return vp->queue_select < vp->p.nqueues ? &vp->q[vp->queue_select] : NULL;
}

static void put(uint8_t *img, uint32_t off, uint64_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t feature_word(uint64_t f, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(f >> (32 * sel)) : 0;
}

void vpci_common_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	uint8_t img[VIRTIO_PCI_COMMON_SIZE] = { 0 };
	struct mv_virtio_queue *q = selected(vp);

	put(img, VIRTIO_COMMON_DFSELECT, vp->dfselect, 4);
	put(img, VIRTIO_COMMON_DF, feature_word(vp->device_features, vp->dfselect), 4);
	put(img, VIRTIO_COMMON_GFSELECT, vp->gfselect, 4);
	put(img, VIRTIO_COMMON_GF, feature_word(vp->driver_features, vp->gfselect), 4);
	put(img, VIRTIO_COMMON_MSIX, vp->config_vector, 2);
	put(img, VIRTIO_COMMON_NUMQ, vp->p.nqueues, 2);
	img[VIRTIO_COMMON_STATUS] = vp->status;
	img[VIRTIO_COMMON_CFGGENERATION] = vp->config_generation;
	put(img, VIRTIO_COMMON_Q_SELECT, vp->queue_select, 2);
	if (q) {
		put(img, VIRTIO_COMMON_Q_SIZE, q->size, 2);
		put(img, VIRTIO_COMMON_Q_MSIX, q->msix_vector, 2);
		put(img, VIRTIO_COMMON_Q_ENABLE, q->vq.ready, 2);
		put(img, VIRTIO_COMMON_Q_NOFF, vp->queue_select, 2);
		put(img, VIRTIO_COMMON_Q_DESCLO, q->desc, 8);
		put(img, VIRTIO_COMMON_Q_AVAILLO, q->avail, 8);
		put(img, VIRTIO_COMMON_Q_USEDLO, q->used, 8);
	}
	if (off >= sizeof(img) || len > sizeof(img) - off)
		memset(data, 0xFF, len);
	else
		memcpy(data, img + off, len);
}

static uint16_t checked_vector(const struct mv_virtio_pci *vp, uint64_t v)
{
	return v < vpci_nvectors(vp) ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

/* A 32-bit half (len 4) or the whole (len 8) of a queue address. */
static void set_addr(uint64_t *a, uint32_t off_in_field, uint64_t v, uint32_t len)
{
	if (len == 8 && !off_in_field)
		*a = v;
	else if (len == 4 && !off_in_field)
		*a = (*a & ~0xFFFFFFFFULL) | (uint32_t)v;
	else if (len == 4 && off_in_field == 4)
		*a = (*a & 0xFFFFFFFFULL) | (v << 32);
}

static void enable_queue(struct mv_virtio_pci *vp, struct mv_virtio_queue *q)
{
	int ret = -EINVAL;

	if (q->size <= vp->p.queue_size)
		ret = virtq__setup(&q->vq, vp->p.mem, q->size, q->desc, q->avail, q->used, vp->driver_features);
	if (ret < 0)
		virtio_pci__needs_reset(vp, "queue size or rings invalid at queue_enable");
}

static void queue_write(struct mv_virtio_pci *vp, struct mv_virtio_queue *q, uint32_t off, uint64_t v, uint32_t len)
{
	if (off == VIRTIO_COMMON_Q_MSIX && len == 2) {
		q->msix_vector = checked_vector(vp, v);
		return;
	}
	if (q->vq.ready) /* the rest is fixed while the queue is enabled */
		return;
	if (off == VIRTIO_COMMON_Q_SIZE && len == 2)
		q->size = (uint16_t)v;
	else if (off == VIRTIO_COMMON_Q_ENABLE && len == 2 && v == 1)
		enable_queue(vp, q);
	else if (off >= VIRTIO_COMMON_Q_DESCLO && off < VIRTIO_COMMON_Q_AVAILLO)
		set_addr(&q->desc, off - VIRTIO_COMMON_Q_DESCLO, v, len);
	else if (off >= VIRTIO_COMMON_Q_AVAILLO && off < VIRTIO_COMMON_Q_USEDLO)
		set_addr(&q->avail, off - VIRTIO_COMMON_Q_AVAILLO, v, len);
	else if (off >= VIRTIO_COMMON_Q_USEDLO && off < VIRTIO_PCI_COMMON_SIZE)
		set_addr(&q->used, off - VIRTIO_COMMON_Q_USEDLO, v, len);
}

void vpci_common_write(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
	struct mv_virtio_queue *q = selected(vp);
	uint64_t v = 0;

	memcpy(&v, data, len); /* little-endian host */
	if (off == VIRTIO_COMMON_DFSELECT && len == 4) {
		vp->dfselect = (uint32_t)v;
	} else if (off == VIRTIO_COMMON_GFSELECT && len == 4) {
		vp->gfselect = (uint32_t)v;
	} else if (off == VIRTIO_COMMON_GF && len == 4) {
		if (vp->gfselect < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned int sh = 32 * vp->gfselect;

			vp->driver_features = (vp->driver_features & ~(0xFFFFFFFFULL << sh)) | (v << sh);
		}
	} else if (off == VIRTIO_COMMON_MSIX && len == 2) {
		vp->config_vector = checked_vector(vp, v);
	} else if (off == VIRTIO_COMMON_STATUS && len == 1) {
		set_status(vp, (uint8_t)v);
	} else if (off == VIRTIO_COMMON_Q_SELECT && len == 2) {
		vp->queue_select = (uint16_t)v;
	} else if (q && off >= VIRTIO_COMMON_Q_SIZE) {
		queue_write(vp, q, off, v, len);
	}
}
