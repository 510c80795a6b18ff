#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "core/seccomp.h"
#include "devices/pci/msix.h"

#define RING_FEATURES ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX))
#define ISR_QUEUE 1
#define ISR_CONFIG 2

static unsigned int nvectors(const struct mv_virtio_pci *vp)
{
	return vp->p.nqueues + 1;
}

/* ---- interrupts ------------------------------------------------------------ */

/* Lock held. MSI-X when enabled (nothing for NO_VECTOR), else INTA#. */
static void raise_irq(struct mv_virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	int ret;

	if (vector == VIRTIO_NO_VECTOR && msix__enabled(vp->msix))
		return;
	ret = vector == VIRTIO_NO_VECTOR ? -EAGAIN : msix__notify(vp->msix, vector);
	if (ret == -EAGAIN) {
		vp->isr |= isr_bit;
		pci__set_intx(&vp->pci, 1);
	} else if (ret < 0) {
		pr_warn_errno(ret, "%s: MSI-X vector %u", vp->pci.name, vector);
	}
}

void virtio_pci__queue_interrupt(struct mv_virtio_pci *vp, unsigned int q)
{
	if (q < vp->p.nqueues && virtq__should_notify(&vp->q[q].vq))
		raise_irq(vp, vp->q[q].msix_vector, ISR_QUEUE);
}

void virtio_pci__queue_done(struct mv_virtio_pci *vp, unsigned int q, unsigned int pushed, int ret)
{
	if (pushed)
		virtio_pci__queue_interrupt(vp, q);
	if (ret == -EBADMSG && q < vp->p.nqueues)
		virtio_pci__needs_reset(vp, vp->q[q].vq.why);
}

void virtio_pci__config_changed(struct mv_virtio_pci *vp)
{
	vp->config_generation++;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(vp, vp->config_vector, ISR_CONFIG);
}

void virtio_pci__needs_reset(struct mv_virtio_pci *vp, const char *why)
{
	atomic_fetch_add(&vp->errors, 1);
	if (!vp->needs_reset_logged)
		pr_warn("%s: the driver broke a queue (%s): device needs reset", vp->pci.name, why);
	vp->needs_reset_logged = true;
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(vp, vp->config_vector, ISR_CONFIG);
}

void virtio_pci__count(struct mv_virtio_pci *vp, uint64_t bytes, bool error)
{
	if (error) {
		atomic_fetch_add(&vp->errors, 1);
		return;
	}
	atomic_fetch_add(&vp->requests, 1);
	atomic_fetch_add(&vp->bytes, bytes);
}

struct mv_virtq *virtio_pci__vq(struct mv_virtio_pci *vp, unsigned int q)
{
	return q < vp->p.nqueues ? &vp->q[q].vq : NULL;
}

/* ---- reset and features ------------------------------------------------------ */

static void reset(struct mv_virtio_pci *vp)
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
		reset(vp);
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

static void common_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
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
	return v < nvectors(vp) ? (uint16_t)v : VIRTIO_NO_VECTOR;
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

static void common_write(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
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

/* ---- BAR 0 ----------------------------------------------------------------- */

static void notify_write(struct mv_virtio_pci *vp, uint64_t off)
{
	uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT;

	if (q < vp->p.nqueues && eventfd_write(vp->q[q].efd, 1) < 0)
		pr_warn_errno(errno, "%s: queue %u kick", vp->pci.name, (unsigned int)q);
}

void virtio_pci__kick(struct mv_virtio_pci *vp, unsigned int q)
{
	notify_write(vp, (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT);
}

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
			notify_write(vp, roff);
		else
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (region == VIRTIO_PCI_COMMON_OFF && is_write)
		common_write(vp, (uint32_t)roff, data, len);
	else if (region == VIRTIO_PCI_COMMON_OFF)
		common_read(vp, (uint32_t)roff, data, len);
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

static void info(struct mv_pci_dev *dev, struct mv_pci_info *out)
{
	struct mv_virtio_pci *vp = of(dev);

	out->type = vp->p.type;
	out->id = vp->p.id;
	out->requests = atomic_load(&vp->requests);
	out->bytes = atomic_load(&vp->bytes);
	out->errors = atomic_load(&vp->errors);
	if (vp->p.ops->info)
		vp->p.ops->info(vp, out);
}

static const struct mv_pci_dev_ops pci_ops = {
	.cfg_read = cfg_read, .cfg_write = cfg_write, .bar_read = bar_read, .bar_write = bar_write,
	.bar_map = bar_map, .info = info,
};

/* ---- I/O thread -------------------------------------------------------------- */

static bool external(const struct mv_virtio_pci *vp, unsigned int q)
{
	return q < 64 && (vp->p.external_queues >> q & 1);
}

void virtio_pci__process(struct mv_virtio_pci *vp, unsigned int q)
{
	pthread_mutex_lock(&vp->lock);
	if (q < vp->p.nqueues && !external(vp, q) && vp->q[q].vq.ready && (vp->status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(vp->status & VIRTIO_STATUS_NEEDS_RESET))
		vp->p.ops->queue_notify(vp, q);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci__process_fd(struct mv_virtio_pci *vp, short revents)
{
	pthread_mutex_lock(&vp->lock);
	if (vp->p.ops->fd_ready)
		vp->p.ops->fd_ready(vp, revents);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci__watch(struct mv_virtio_pci *vp, short events)
{
	short old = atomic_exchange(&vp->watch_events, events);

	if (old != events && vp->wake_efd >= 0 && vp->thread_started && !pthread_equal(pthread_self(), vp->thread) &&
	    eventfd_write(vp->wake_efd, 1) < 0)
		pr_warn_errno(errno, "%s: waking the I/O thread", vp->pci.name);
}

int virtio_pci__queue_efd(const struct mv_virtio_pci *vp, unsigned int q)
{
	return q < vp->p.nqueues ? vp->q[q].efd : -1;
}

int virtio_pci__call_efd(const struct mv_virtio_pci *vp, unsigned int q)
{
	if (q >= vp->p.nqueues || vp->q[q].msix_vector == VIRTIO_NO_VECTOR || !msix__enabled(vp->msix))
		return -1;
	return msix__eventfd(vp->msix, vp->q[q].msix_vector);
}

/* The poll set: stop, wake, the watched fd (if watched), then the queues
 * served here; qidx[i] is the queue of fds[i] (-1: not a queue). */
static unsigned int poll_set(struct mv_virtio_pci *vp, struct pollfd *fds, int *qidx)
{
	short ev = atomic_load(&vp->watch_events);
	unsigned int n = 0;

	fds[n] = (struct pollfd){ .fd = vp->stop_efd, .events = POLLIN };
	qidx[n++] = -1;
	fds[n] = (struct pollfd){ .fd = vp->wake_efd, .events = POLLIN };
	qidx[n++] = -1;
	if (ev && vp->p.ops->fd_ready) {
		fds[n] = (struct pollfd){ .fd = vp->p.watch_fd, .events = ev };
		qidx[n++] = -2;
	}
	for (unsigned int i = 0; i < vp->p.nqueues; i++) {
		if (external(vp, i))
			continue;
		fds[n] = (struct pollfd){ .fd = vp->q[i].efd, .events = POLLIN };
		qidx[n++] = (int)i;
	}
	return n;
}

static void *io_thread(void *arg)
{
	struct mv_virtio_pci *vp = arg;
	struct pollfd fds[3 + VIRTIO_PCI_MAX_QUEUES];
	int qidx[3 + VIRTIO_PCI_MAX_QUEUES];
	struct mv_err err = { "" };
	char name[16];
	eventfd_t v;

	snprintf(name, sizeof(name), "%s", vp->p.type); /* prctl: no /proc access */
	pthread_setname_np(pthread_self(), name);
	if (seccomp__enter(MV_SECCOMP_IO, name, &err) < 0) {
		pr_err("%s: %s: the device does no work", vp->pci.name, err.msg);
		return NULL;
	}

	for (;;) {
		unsigned int n = poll_set(vp, fds, qidx);

		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn_errno(errno, "%s: poll", vp->pci.name);
			return NULL;
		}
		if (fds[0].revents)
			return NULL;
		if (fds[1].revents)
			(void)eventfd_read(vp->wake_efd, &v);
		for (unsigned int i = 2; i < n; i++) {
			if (qidx[i] == -2 && fds[i].revents)
				virtio_pci__process_fd(vp, fds[i].revents);
			else if (qidx[i] >= 0 && (fds[i].revents & POLLIN) && eventfd_read(fds[i].fd, &v) == 0)
				virtio_pci__process(vp, (unsigned int)qidx[i]);
		}
	}
}

static int start_thread(struct mv_virtio_pci *vp, struct mv_err *err)
{
	sigset_t all, old;
	int ret;

	/* signals (vCPU kicks) are for vCPU threads */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&vp->thread, NULL, io_thread, vp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return err__set(err, -ret, "%s: cannot start its I/O thread: %s", vp->pci.name, strerror(ret));
	vp->thread_started = true;
	return 0;
}

/* ---- create / destroy ---------------------------------------------------------- */

static int add_vndr_cap(struct mv_virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len, uint8_t cap_len)
{
	uint16_t at;
	int ret = pci__add_cap(&vp->pci, PCI_CAP_ID_VNDR, cap_len, &at);

	if (ret < 0)
		return ret;
	pci__set8(&vp->pci, at + 2u, cap_len);
	pci__set8(&vp->pci, at + 3u, type);
	pci__set8(&vp->pci, at + 4u, VIRTIO_PCI_BAR);
	pci__set32(&vp->pci, at + 8u, off);
	pci__set32(&vp->pci, at + 12u, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci__set32(&vp->pci, at + 16u, VIRTIO_PCI_NOTIFY_MULT);
	if (type == VIRTIO_PCI_CAP_PCI_CFG) { /* bar, offset, length, data: the driver's */
		pci__set_wmask(&vp->pci, at + 4u, 1, 0xFF);
		pci__set_wmask(&vp->pci, at + 8u, 4, UINT32_MAX);
		pci__set_wmask(&vp->pci, at + 12u, 4, UINT32_MAX);
		pci__set_wmask(&vp->pci, at + 16u, 4, UINT32_MAX);
		vp->cfg_cap = at;
	}
	return 0;
}

static int init_pci(struct mv_virtio_pci *vp, struct mv_err *err)
{
	const struct mv_virtio_params *p = &vp->p;
	const struct mv_pci_id id = {
		.vendor = VIRTIO_PCI_VENDOR, .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + p->device_id),
		.subsys_vendor = VIRTIO_PCI_VENDOR, .subsys = 0x1100, .class_code = p->class_code,
		.revision = 1, .intx_pin = 1,
	};
	struct mv_msix_params mp = {
		.nvectors = nvectors(vp), .table_bar = VIRTIO_PCI_BAR, .table_off = VIRTIO_PCI_MSIX_TABLE_OFF,
		.pba_bar = VIRTIO_PCI_BAR, .pba_off = VIRTIO_PCI_MSIX_PBA_OFF,
	};
	int ret;

	pci__init(&vp->pci, &id, &pci_ops, vp, p->type);
	ret = pci__add_bar(&vp->pci, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, PCI_BAR_64);
	if (!ret)
		ret = add_vndr_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, 16);
	if (!ret)
		ret = add_vndr_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
				   p->nqueues * VIRTIO_PCI_NOTIFY_MULT, 20);
	if (!ret)
		ret = add_vndr_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 16);
	if (!ret && p->config_size)
		ret = add_vndr_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, p->config_size, 16);
	if (!ret)
		ret = add_vndr_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 20);
	if (ret < 0)
		return err__set(err, ret, "%s: PCI capabilities do not fit", p->type);
	mp.router = p->host ? pci_host__msi_router(p->host) : p->router_for_tests;
	return msix__create(&vp->pci, &mp, &vp->msix, err);
}

static int check_params(const struct mv_virtio_params *p, struct mv_err *err)
{
	if (!p->nqueues || p->nqueues > VIRTIO_PCI_MAX_QUEUES || !p->ops || !p->ops->queue_notify || !p->mem)
		return err__set(err, -EINVAL, "%s: bad virtio device parameters", p->type ? p->type : "virtio");
	if (!p->queue_size || p->queue_size > VIRTQ_MAX_SIZE || (p->queue_size & (p->queue_size - 1)))
		return err__set(err, -EINVAL, "%s: queue size %u is not a power of two up to %u", p->type,
				p->queue_size, VIRTQ_MAX_SIZE);
	if (p->config_size > VIRTIO_PCI_REGION_SIZE)
		return err__set(err, -EINVAL, "%s: device configuration too large", p->type);
	return 0;
}

static int create_eventfds(struct mv_virtio_pci *vp, struct mv_err *err)
{
	vp->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->stop_efd < 0)
		return err__set(err, -errno, "%s: eventfd: %s", vp->p.type, strerror(errno));
	vp->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->wake_efd < 0)
		return err__set(err, -errno, "%s: eventfd: %s", vp->p.type, strerror(errno));
	for (unsigned int i = 0; i < vp->p.nqueues; i++) {
		vp->q[i].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->q[i].efd < 0)
			return err__set(err, -errno, "%s: eventfd: %s", vp->p.type, strerror(errno));
	}
	return 0;
}

int virtio_pci__create(const struct mv_virtio_params *p, struct mv_virtio_pci **out, struct mv_err *err)
{
	struct mv_virtio_pci *vp;
	int ret = check_params(p, err);

	if (ret < 0)
		return ret;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return err__set(err, -ENOMEM, "out of memory for %s", p->type);
	vp->p = *p;
	vp->slot = -1;
	vp->stop_efd = vp->wake_efd = -1;
	for (unsigned int i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
		vp->q[i].efd = -1;
	vp->device_features = p->features | (1ULL << VIRTIO_F_VERSION_1) | RING_FEATURES;
	pthread_mutex_init(&vp->lock, NULL);
	reset(vp);
	ret = init_pci(vp, err);
	if (!ret)
		ret = create_eventfds(vp, err);
	if (!ret && !p->no_thread)
		ret = start_thread(vp, err);
	if (!ret && p->host) {
		ret = pci_host__plug(p->host, &vp->pci, -1, err);
		vp->slot = ret;
	}
	if (ret < 0) {
		virtio_pci__destroy(vp);
		return ret;
	}
	*out = vp;
	return 0;
}

void virtio_pci__destroy(struct mv_virtio_pci *vp)
{
	if (!vp)
		return;
	if (vp->slot >= 0)
		pci_host__unplug(vp->p.host, &vp->pci);
	pci__fini(&vp->pci); /* unmaps the BAR: ioeventfds go */
	if (vp->thread_started) {
		if (eventfd_write(vp->stop_efd, 1) < 0)
			pr_warn_errno(errno, "%s: stopping the I/O thread", vp->p.type);
		pthread_join(vp->thread, NULL);
	}
	msix__destroy(vp->msix);
	for (unsigned int i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
		if (vp->q[i].efd >= 0)
			close(vp->q[i].efd);
	if (vp->stop_efd >= 0)
		close(vp->stop_efd);
	if (vp->wake_efd >= 0)
		close(vp->wake_efd);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}
