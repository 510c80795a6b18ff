/* The virtio 1.x modern PCI transport (virtio 1.2, 4.1), no legacy
 * interface: vendor 0x1af4, device 0x1040 + virtio id, revision 1.
 *
 * One 64-bit memory BAR (BAR 0, 32 KiB) holds every region, each named by
 * a vendor capability (cfg_type 1-4):
 *   0x0000 common configuration   0x1000 ISR status (read clears)
 *   0x2000 device configuration   0x3000 notifications (multiplier 4:
 *                                        queue n at 0x3000 + 4n)
 *   0x4000 MSI-X table            0x5000 MSI-X PBA
 * MSI-X has one vector per queue plus one, for the config vector; with
 * MSI-X off, interrupts go to INTA# and the ISR says which kind. A fifth
 * capability (cfg_type 5, PCI configuration access) reaches the common,
 * ISR, notify and device regions of BAR 0 through config space: the
 * driver writes bar (0), offset and length (1, 2, 4; aligned) and then
 * reads or writes the 4-byte data window (the MSI-X table and PBA are
 * reached only through the BAR).
 *
 * Feature negotiation: the device offers its features plus VERSION_1 and
 * the ring features (INDIRECT_DESC, EVENT_IDX); FEATURES_OK sticks only if
 * the driver's features are a subset that includes VERSION_1. A queue
 * becomes ready when the driver writes 1 to queue_enable and its rings
 * pass virtq__setup; bad rings, or a malformed chain later, set
 * DEVICE_NEEDS_RESET and raise the config interrupt. Writing 0 to
 * device_status resets the device.
 *
 * Notifications: each queue has an eventfd registered with KVM_IOEVENTFD
 * (2-byte writes at its notify address) while the BAR is mapped, so a
 * guest kick does not leave the kernel; other writes to the notify region
 * (other sizes, or no vm_fd: tests) write the same eventfd from the vCPU.
 * One I/O thread per device polls the eventfds and runs the device's
 * queue_notify with the device lock held: no device work on vCPU threads,
 * none on the loop thread.
 *
 * Extra fd watch: a device with a host-side source (a tap) gives its fd
 * as p->watch_fd with ops->fd_ready; the I/O thread polls it for the
 * events set by virtio_pci__watch (none at first) and calls fd_ready
 * with the device lock held. The device turns the watch off when it
 * cannot take more (no guest buffers: backpressure, no busy loop) and on
 * again when the guest posts buffers (its queue_notify).
 *
 * External queues (vhost): bit q of p->external_queues hands queue q's
 * kick eventfd (virtio_pci__queue_efd, the ioeventfd KVM writes) to
 * someone else: the I/O thread never polls or reads it, and
 * queue_notify never runs for it. Interrupts then come from writes to
 * the MSI-X vector's eventfd (virtio_pci__call_efd). ops->driver_ok and
 * ops->reset tell the device when to start and stop that someone.
 *
 * Threads: BAR accesses on vCPU threads and the device's I/O thread take
 * the device lock; counters are atomic. */
#ifndef MV_DEVICES_VIRTIO_VIRTIO_PCI_H
#define MV_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"
#include "core/irqroute.h"
#include "devices/pci/host.h"
#include "devices/virtio/virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_ID_RNG 4

#define VIRTIO_F_VERSION_1 32

/* device_status bits */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_NO_VECTOR 0xFFFF

/* capability cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* BAR 0 layout */
#define VIRTIO_PCI_BAR 0
#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_ISR_OFF 0x1000
#define VIRTIO_PCI_DEVICE_OFF 0x2000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF 0x5000
#define VIRTIO_PCI_REGION_SIZE 0x1000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_COMMON_SIZE 0x38
#define VIRTIO_PCI_MAX_QUEUES 64

/* struct virtio_pci_common_cfg offsets */
#define VIRTIO_COMMON_DFSELECT 0x00
#define VIRTIO_COMMON_DF 0x04
#define VIRTIO_COMMON_GFSELECT 0x08
#define VIRTIO_COMMON_GF 0x0C
#define VIRTIO_COMMON_MSIX 0x10
#define VIRTIO_COMMON_NUMQ 0x12
#define VIRTIO_COMMON_STATUS 0x14
#define VIRTIO_COMMON_CFGGENERATION 0x15
#define VIRTIO_COMMON_Q_SELECT 0x16
#define VIRTIO_COMMON_Q_SIZE 0x18
#define VIRTIO_COMMON_Q_MSIX 0x1A
#define VIRTIO_COMMON_Q_ENABLE 0x1C
#define VIRTIO_COMMON_Q_NOFF 0x1E
#define VIRTIO_COMMON_Q_DESCLO 0x20
#define VIRTIO_COMMON_Q_DESCHI 0x24
#define VIRTIO_COMMON_Q_AVAILLO 0x28
#define VIRTIO_COMMON_Q_AVAILHI 0x2C
#define VIRTIO_COMMON_Q_USEDLO 0x30
#define VIRTIO_COMMON_Q_USEDHI 0x34

struct mv_virtio_pci;

struct mv_virtio_ops {
	/* I/O thread, device lock held: queue q was kicked (and is ready,
	 * the driver is OK and the device does not need a reset). */
	void (*queue_notify)(struct mv_virtio_pci *vp, unsigned int q);
	/* Optional, device lock held: device-specific configuration (off <
	 * config_size, len 1-8, inside it). */
	void (*config_read)(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len);
	void (*config_write)(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len);
	/* Optional, device lock held (vCPU thread): the driver set
	 * DRIVER_OK (features and queues are final). */
	void (*driver_ok)(struct mv_virtio_pci *vp);
	/* Optional, device lock held (vCPU thread): the driver reset the
	 * device (wrote 0 to device_status); called before the queues reset. */
	void (*reset)(struct mv_virtio_pci *vp);
	/* With watch_fd, I/O thread, device lock held: watch_fd has revents. */
	void (*fd_ready)(struct mv_virtio_pci *vp, short revents);
	/* Optional, any thread, no lock: more counters for vm:info(). */
	void (*info)(struct mv_virtio_pci *vp, struct mv_pci_info *out);
};

struct mv_virtio_params {
	uint16_t device_id;          /* virtio device id (4: rng) */
	uint32_t class_code;         /* PCI class */
	const char *type;            /* "virtio-rng": vm:info() and messages */
	const char *id;              /* the user's name */
	unsigned int nqueues;        /* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_size;         /* the largest size offered, power of two */
	uint64_t features;           /* device features (VERSION_1 is added) */
	uint32_t config_size;        /* device configuration bytes, <= 4 KiB */
	const struct mv_virtio_ops *ops;
	void *opaque;
	const struct mv_guestmem *mem;
	struct mv_pci_host *host;    /* plugged into the lowest free slot */
	struct mv_msi_router router_for_tests; /* MSI-X router when host is NULL */
	int vm_fd;                   /* KVM_IOEVENTFD; -1: none (tests) */
	bool no_thread;              /* tests: kicks wait for virtio_pci__process */
	int watch_fd;                /* with ops->fd_ready: an extra fd to poll */
	uint64_t external_queues;    /* bit q: queue q is served elsewhere (vhost) */
};

struct mv_virtio_queue {
	struct mv_virtq vq;
	uint16_t size;               /* what the driver set (default: max) */
	uint16_t msix_vector;
	uint64_t desc, avail, used;
	int efd;                     /* kick eventfd */
	bool ioeventfd;              /* efd registered with KVM */
	_Atomic uint64_t kicks;      /* kicks taken (vm:info) */
	_Atomic uint16_t avail_at_kick; /* the available index when the last one was */
	_Atomic uint64_t irqs;       /* interrupts raised for the queue (vm:info) */
	_Atomic uint16_t used_at_irq; /* the used index the last one was for */
	uint64_t ioeventfd_addr;
};

struct mv_virtio_pci {
	struct mv_pci_dev pci;
	struct mv_virtio_params p;
	struct mv_msix *msix;
	pthread_mutex_t lock;
	uint64_t device_features, driver_features;
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint8_t config_generation;
	uint16_t config_vector;
	uint16_t queue_select;
	uint8_t isr;
	uint16_t cfg_cap;            /* offset of the PCI cfg access capability */
	bool needs_reset_logged;
	struct mv_virtio_queue q[VIRTIO_PCI_MAX_QUEUES];
	int stop_efd;
	int wake_efd;                /* the poll set changed (virtio_pci__watch) */
	_Atomic short watch_events;  /* what the I/O thread polls watch_fd for */
	pthread_t thread;
	bool thread_started;
	int slot;                    /* PCI slot, -1 when not plugged */
	void (*status_hook)(void *opaque, uint8_t status); /* virtio_pci__set_status_hook */
	void *status_opaque;
	atomic_uint_fast64_t requests, bytes, errors;
};

/* What a virtio device model needs from the machine (or from a test). */
struct mv_virtio_env {
	const struct mv_guestmem *mem;
	struct mv_pci_host *host;       /* NULL: not plugged (tests) */
	int vm_fd;                      /* -1: no ioeventfd (tests) */
	struct mv_msi_router router;    /* used when host is NULL */
	bool no_thread;                 /* tests drive virtio_pci__process */
};

/* Creates the PCI function (capabilities, BAR, MSI-X), its eventfds and
 * its I/O thread, and plugs it into p->host (when not NULL). */
int virtio_pci__create(const struct mv_virtio_params *p, struct mv_virtio_pci **out,
		       struct mv_err *err) MV_MUST_CHECK;
/* Unplugs, stops the I/O thread, frees; NULL is ignored. */
void virtio_pci__destroy(struct mv_virtio_pci *vp);

/* Device side (device lock held): the queue's ring, and an interrupt for
 * queue q if the driver wants one (EVENT_IDX / NO_INTERRUPT). */
struct mv_virtq *virtio_pci__vq(struct mv_virtio_pci *vp, unsigned int q);
void virtio_pci__queue_interrupt(struct mv_virtio_pci *vp, unsigned int q);
/* Device lock held, at the end of a device's pass over queue q: an
 * interrupt if `pushed` chains went back to the driver, then
 * DEVICE_NEEDS_RESET if virtq__pop ended the pass with -EBADMSG (`ret`). */
void virtio_pci__queue_done(struct mv_virtio_pci *vp, unsigned int q, unsigned int pushed, int ret);
/* Device lock held: the driver broke a queue: DEVICE_NEEDS_RESET and a
 * config interrupt (logged once per reset). */
void virtio_pci__needs_reset(struct mv_virtio_pci *vp, const char *why);
/* Device lock held: the device configuration changed (generation bump,
 * config interrupt). */
void virtio_pci__config_changed(struct mv_virtio_pci *vp);
/* Any thread, no lock: queue q's queue_notify runs on the I/O thread, as
 * after a guest kick (device-side work, e.g. host input to deliver). */
void virtio_pci__kick(struct mv_virtio_pci *vp, unsigned int q);
/* Any thread: the I/O thread polls p->watch_fd for `events` from now on
 * (0: not at all). */
void virtio_pci__watch(struct mv_virtio_pci *vp, short events);
/* Queue q's kick eventfd (KVM's ioeventfd), and the eventfd of the MSI-X
 * vector the driver gave queue q (-1 when MSI-X is off or no vector):
 * vhost's kick and call. Device lock held. */
int virtio_pci__queue_efd(const struct mv_virtio_pci *vp, unsigned int q);
int virtio_pci__call_efd(const struct mv_virtio_pci *vp, unsigned int q);
/* Any thread: hook(opaque, status) runs (on the vCPU thread, device lock
 * held: it must only hand the value over) after each nonzero driver write of
 * device_status; NULL removes it. PCI hotplug uses it to
 * see DRIVER_OK. */
void virtio_pci__set_status_hook(struct mv_virtio_pci *vp, void (*hook)(void *opaque, uint8_t status),
				 void *opaque);
/* Counts one request of `bytes` bytes, or one error. */
void virtio_pci__count(struct mv_virtio_pci *vp, uint64_t bytes, bool error);

/* For tests and fuzzing: the guest's access to BAR 0 at off, and one pass
 * of the I/O thread over queue q (as if its eventfd fired). */
void virtio_pci__bar_access(struct mv_virtio_pci *vp, uint64_t off, void *data, uint32_t len, bool is_write);
void virtio_pci__process(struct mv_virtio_pci *vp, unsigned int q);
/* What the I/O thread does when queue q's kick eventfd held n kicks:
 * counts them and the driver's available index for vm:info()'s queues,
 * then virtio_pci__process. */
void virtio_pci__take_kick(struct mv_virtio_pci *vp, unsigned int q, uint64_t n);
/* For tests: one I/O thread pass over watch_fd (as if poll said revents). */
void virtio_pci__process_fd(struct mv_virtio_pci *vp, short revents);

#endif
