/* The VM's GSI routing table and irqfds.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so one owner keeps it: the
 * irqchip pin routes KVM installs by default for GSIs 0-23 (GSI n -> IOAPIC
 * pin n, and for n < 16 also PIC pin n % 8 on the master or slave), plus
 * one MSI route per GSI handed out from LAYOUT_MSI_GSI_BASE up. Every change
 * sends the complete table.
 *
 * Devices reach it through struct mv_msi_router (tests give them a fake):
 * add/update/delete an MSI route, and bind an eventfd to a GSI with
 * KVM_IRQFD so that a write to the eventfd, from any thread (or the
 * kernel: vhost), injects the interrupt without a trip through moonvisor.
 *
 * Threads: any; one mutex serialises table changes. */
#ifndef MV_IRQROUTE_H
#define MV_IRQROUTE_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"

/* An MSI message as the guest programs it (address, data). */
struct mv_msi_msg {
	uint64_t addr;
	uint32_t data;
};

struct mv_msi_router_ops {
	/* Takes a free GSI routed to msg. -ENOSPC when none is left. */
	int (*route_add)(void *opaque, const struct mv_msi_msg *msg, unsigned int *gsi);
	int (*route_update)(void *opaque, unsigned int gsi, const struct mv_msi_msg *msg);
	void (*route_del)(void *opaque, unsigned int gsi);
	/* KVM_IRQFD: while bound, every write to fd injects gsi (a count
	 * already in fd fires at bind); unbind returns once KVM no longer
	 * reads fd, which then accumulates writes. */
	int (*irqfd_bind)(void *opaque, unsigned int gsi, int fd);
	int (*irqfd_unbind)(void *opaque, unsigned int gsi, int fd);
};

struct mv_msi_router {
	const struct mv_msi_router_ops *ops;
	void *opaque;
};

struct mv_irqroute;

struct mv_irqroute_params {
	int vm_fd;
	/* Optional: replaces ioctl(vm_fd, req, arg) (tests). */
	int (*vm_ioctl)(void *opaque, unsigned long req, void *arg);
	void *opaque;
};

/* Checks KVM_CAP_IRQ_ROUTING and KVM_CAP_IRQFD, and installs the default
 * table (so a broken table fails the VM at creation, not at first MSI). */
int irqroute__create(const struct mv_irqroute_params *p, struct mv_irqroute **out,
		     struct mv_err *err) MV_MUST_CHECK;
/* NULL is ignored. Routes die with the VM fd; irqfds bound through the
 * router must have been unbound by their owners. */
void irqroute__destroy(struct mv_irqroute *r);
struct mv_msi_router irqroute__router(struct mv_irqroute *r);
/* The number of MSI routes in use (tests, stats). */
unsigned int irqroute__msi_count(struct mv_irqroute *r);

#endif
