/* The virtio PCI transport's PCI function (virtio_pci.h): BAR 0 dispatch
 * (common, ISR, device and notify regions), the ioeventfds that follow
 * the BAR, the PCI_CFG access window, and vm:info(). */
#include "devices/virtio/virtio_pci_priv.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/fdio.h"
#include "core/log.h"
#include "devices/pci/msix.h"

/* ---- BAR 0 ----------------------------------------------------------------- */

static uint8_t isr_read(struct mv_virtio_pci *vp)
{
	uint8_t v = vp->isr;

	vp->isr = 0;
	pci__set_intx(&vp->pci, 0);
	return v;
}

/* Reading byte 0 returns and clears the ISR; the rest reads 0. */
static void isr_access(struct mv_virtio_pci *vp, uint64_t roff, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	if (!roff)
		data[0] = isr_read(vp);
}

static void device_access(struct mv_virtio_pci *vp, uint64_t off, void *data, uint32_t len, bool is_write)
{
	bool inside = off < vp->p.config_size && len <= vp->p.config_size - off;

	if (is_write) {
		if (inside && vp->p.ops->config_write)
			vp->p.ops->config_write(vp, (uint32_t)off, data, len);
	} else if (inside && vp->p.ops->config_read) {
		vp->p.ops->config_read(vp, (uint32_t)off, data, len);
	} else {
		memset(data, inside ? 0 : 0xFF, len);
	}
}

void virtio_pci__bar_access(struct mv_virtio_pci *vp, uint64_t off, void *data, uint32_t len, bool is_write)
{
	uint64_t region = off / VIRTIO_PCI_REGION_SIZE * VIRTIO_PCI_REGION_SIZE, roff = off - region;

	if (len > 8 || roff + len > VIRTIO_PCI_REGION_SIZE) {
		if (!is_write)
			memset(data, 0xFF, MIN(len, 8u));
		return;
	}
	if (region == VIRTIO_PCI_NOTIFY_OFF) { /* no lock: just a kick */
		if (is_write)
			vpci_notify_write(vp, roff);
		else
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (region == VIRTIO_PCI_COMMON_OFF && is_write)
		vpci_common_write(vp, (uint32_t)roff, data, len);
	else if (region == VIRTIO_PCI_COMMON_OFF)
		vpci_common_read(vp, (uint32_t)roff, data, len);
	else if (region == VIRTIO_PCI_ISR_OFF && !is_write)
		isr_access(vp, roff, data, len);
	else if (region == VIRTIO_PCI_DEVICE_OFF)
		device_access(vp, roff, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
	pthread_mutex_unlock(&vp->lock);
}

static struct mv_virtio_pci *of(struct mv_pci_dev *dev)
{
	return dev->opaque;
}

static void bar_read(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	virtio_pci__bar_access(of(dev), off, data, len, false);
}

static void bar_write(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, const void *data, uint32_t len)
{
	virtio_pci__bar_access(of(dev), off, (void *)data, len, true);
}

/* ---- ioeventfd --------------------------------------------------------------- */

static int ioeventfd(struct mv_virtio_pci *vp, struct mv_virtio_queue *q, uint64_t addr, bool assign)
{
	struct kvm_ioeventfd req = {
		.addr = addr, .len = 2, .fd = q->efd, .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(vp->p.vm_fd, KVM_IOEVENTFD, &req) < 0 ? -errno : 0;
}

/* Config lock held: follow the BAR with the queues' ioeventfds. */
static void bar_map(struct mv_pci_dev *dev, unsigned int bar, uint64_t addr, bool mapped)
{
	struct mv_virtio_pci *vp = of(dev);

	if (bar != VIRTIO_PCI_BAR || vp->p.vm_fd < 0)
		return;
	for (unsigned int i = 0; i < vp->p.nqueues; i++) {
		struct mv_virtio_queue *q = &vp->q[i];
		int ret;

		if (!mapped && q->ioeventfd) {
			ret = ioeventfd(vp, q, q->ioeventfd_addr, false);
			if (ret < 0)
				pr_warn_errno(ret, "%s: KVM_IOEVENTFD deassign queue %u", dev->name, i);
			q->ioeventfd = false;
		} else if (mapped && !q->ioeventfd) {
			q->ioeventfd_addr = addr + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)i * VIRTIO_PCI_NOTIFY_MULT;
			ret = ioeventfd(vp, q, q->ioeventfd_addr, true);
			if (ret < 0) /* kicks still work, through MMIO exits */
				pr_warn_errno(ret, "%s: KVM_IOEVENTFD queue %u", dev->name, i);
			q->ioeventfd = ret == 0;
		}
	}
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG: BAR 0 through a config space window -------------- */

static bool cfg_window(struct mv_virtio_pci *vp, uint32_t off, uint32_t len, uint32_t *boff, uint32_t *blen)
{
	uint16_t c = vp->cfg_cap;

	if (!c || off != c + 16u || len != 4)
		return false;
	*boff = pci__get32(&vp->pci, c + 8u);
	*blen = pci__get32(&vp->pci, c + 12u);
	return pci__get8(&vp->pci, c + 4u) == VIRTIO_PCI_BAR && (*blen == 1 || *blen == 2 || *blen == 4) &&
	       *boff % *blen == 0 && *boff < VIRTIO_PCI_BAR_SIZE;
}

/* Config lock held (then the device lock: never the other way round). */
static void cfg_read(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t *val)
{
	struct mv_virtio_pci *vp = of(dev);
	uint32_t boff, blen, v = 0;

	if (!cfg_window(vp, off, len, &boff, &blen))
		return;
	virtio_pci__bar_access(vp, boff, &v, blen, false);
	*val = v;
}

static void cfg_write(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t val)
{
	struct mv_virtio_pci *vp = of(dev);
	uint32_t boff, blen;

	if (cfg_window(vp, off, len, &boff, &blen))
		virtio_pci__bar_access(vp, boff, &val, blen, true);
}

/* Lock-free on purpose: a device stuck with its lock held must still show
 * its queues (values may be a moment apart). */
static void queue_info(struct mv_virtio_pci *vp, unsigned int i, struct mv_queue_info *o)
{
	const struct mv_virtio_queue *q = &vp->q[i];
	struct mv_virtq_words w;

	virtq__read_words(&q->vq, &w);
	*o = (struct mv_queue_info){
		.size = q->size, .ready = __atomic_load_n(&q->vq.ready, __ATOMIC_ACQUIRE),
		.in_kernel = i < 64 && (vp->p.external_queues >> i & 1), .avail_idx = w.avail_idx,
		.used_idx = w.used_idx, .last_avail = __atomic_load_n(&q->vq.last_avail, __ATOMIC_RELAXED),
		.used_event = w.used_event, .avail_event = w.avail_event, .event_idx = q->vq.event_idx,
		.no_interrupt = w.avail_flags & VIRTQ_AVAIL_F_NO_INTERRUPT, .vector = q->msix_vector,
		.kick_pending = fdio__readable(q->efd), .kicks = atomic_load(&q->kicks),
		.avail_at_kick = atomic_load(&q->avail_at_kick), .irqs = atomic_load(&q->irqs),
		.used_at_irq = atomic_load(&q->used_at_irq),
	};
	if (q->msix_vector != VIRTIO_NO_VECTOR && msix__vector_state(vp->msix, q->msix_vector, &o->vector_masked,
								      &o->irq_pending) < 0)
		o->vector = VIRTIO_NO_VECTOR;
}

static void info(struct mv_pci_dev *dev, struct mv_pci_info *out)
{
	struct mv_virtio_pci *vp = of(dev);

	out->type = vp->p.type;
	out->id = vp->p.id;
	out->requests = atomic_load(&vp->requests);
	out->bytes = atomic_load(&vp->bytes);
	out->errors = atomic_load(&vp->errors);
	out->nqueues = MIN(vp->p.nqueues, MV_PCI_INFO_QUEUES);
	for (unsigned int i = 0; i < out->nqueues; i++)
		queue_info(vp, i, &out->queues[i]);
	if (vp->p.ops->info)
		vp->p.ops->info(vp, out);
}

const struct mv_pci_dev_ops vpci_pci_ops = {
	.cfg_read = cfg_read, .cfg_write = cfg_write, .bar_read = bar_read, .bar_write = bar_write,
	.bar_map = bar_map, .info = info,
};
