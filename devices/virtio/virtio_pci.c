/* The virtio PCI transport (virtio_pci.h), lifecycle: parameters, the PCI
 * function's capabilities, BAR and MSI-X, eventfds, I/O thread, plugging;
 * and the unwinding of all of it. The rest: virtio_pci_priv.h. */
#include "devices/virtio/virtio_pci_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "devices/pci/msix.h"

#define RING_FEATURES ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX))

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
		.nvectors = vpci_nvectors(vp), .table_bar = VIRTIO_PCI_BAR, .table_off = VIRTIO_PCI_MSIX_TABLE_OFF,
		.pba_bar = VIRTIO_PCI_BAR, .pba_off = VIRTIO_PCI_MSIX_PBA_OFF,
	};
	int ret;

	pci__init(&vp->pci, &id, &vpci_pci_ops, vp, p->type);
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
	vpci_reset(vp);
	ret = init_pci(vp, err);
	if (!ret)
		ret = create_eventfds(vp, err);
	if (!ret && !p->no_thread)
		ret = vpci_start_thread(vp, err);
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
