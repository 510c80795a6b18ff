/* Inside the virtio PCI transport (virtio_pci.h): what its files share.
 *   virtio_pci.c         create / destroy: capabilities, BAR, MSI-X, eventfds
 *   virtio_pci_common.c  the common configuration block: features, status,
 *                        reset, queue setup
 *   virtio_pci_bar.c     the PCI function: BAR 0 dispatch (notify, ISR,
 *                        device config), the PCI_CFG window, ioeventfds
 *   virtio_pci_io.c      interrupts, the I/O thread, kicks and watches
 * Not for devices: they use virtio_pci.h only. */
#ifndef MV_DEVICES_VIRTIO_VIRTIO_PCI_PRIV_H
#define MV_DEVICES_VIRTIO_VIRTIO_PCI_PRIV_H

#include "devices/virtio/virtio_pci.h"

/* One MSI-X vector per queue, plus the config vector. */
static inline unsigned int vpci_nvectors(const struct mv_virtio_pci *vp)
{
	return vp->p.nqueues + 1;
}

/* virtio_pci_common.c, device lock held: back to the state after
 * creation; the common configuration block at off (BAR 0 region 0). */
void vpci_reset(struct mv_virtio_pci *vp);
void vpci_common_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len);
void vpci_common_write(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len);

/* virtio_pci_bar.c: the PCI function's callbacks. */
extern const struct mv_pci_dev_ops vpci_pci_ops;

/* virtio_pci_io.c: a write at off in the notify region (no lock: writes
 * the queue's kick eventfd); the I/O thread. */
void vpci_notify_write(struct mv_virtio_pci *vp, uint64_t off);
int vpci_start_thread(struct mv_virtio_pci *vp, struct mv_err *err) MV_MUST_CHECK;

#endif
