/* The virtio PCI transport's I/O side (virtio_pci.h): interrupts (MSI-X
 * or INTA# with the ISR), kicks, the watched fd, and the per-device I/O
 * thread that polls the queues' eventfds and runs queue_notify. */
#include "devices/virtio/virtio_pci_priv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "core/log.h"
#include "core/seccomp.h"
#include "devices/pci/msix.h"

#define ISR_QUEUE 1
#define ISR_CONFIG 2

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
	if (q >= vp->p.nqueues || !virtq__should_notify(&vp->q[q].vq))
		return;
	atomic_fetch_add(&vp->q[q].irqs, 1);
	atomic_store(&vp->q[q].used_at_irq, vp->q[q].vq.used_idx);
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

/* ---- kicks ------------------------------------------------------------------- */

void vpci_notify_write(struct mv_virtio_pci *vp, uint64_t off)
{
	uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT;

	if (q < vp->p.nqueues && eventfd_write(vp->q[q].efd, 1) < 0)
		pr_warn_errno(errno, "%s: queue %u kick", vp->pci.name, (unsigned int)q);
}

void virtio_pci__kick(struct mv_virtio_pci *vp, unsigned int q)
{
	vpci_notify_write(vp, (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT);
}

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

void virtio_pci__take_kick(struct mv_virtio_pci *vp, unsigned int q, uint64_t n)
{
	struct mv_virtq_words w;

	if (q >= vp->p.nqueues)
		return;
	virtq__read_words(&vp->q[q].vq, &w);
	atomic_fetch_add(&vp->q[q].kicks, n);
	atomic_store(&vp->q[q].avail_at_kick, w.avail_idx);
	virtio_pci__process(vp, q);
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
				virtio_pci__take_kick(vp, (unsigned int)qidx[i], v);
		}
	}
}

int vpci_start_thread(struct mv_virtio_pci *vp, struct mv_err *err)
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
