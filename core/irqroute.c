#include "core/irqroute.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/log.h"
#include "core/x86/layout.h"

#define PIC_PINS 16
/* KVM's default table: two routes (IOAPIC, PIC) for GSIs 0-15, one (IOAPIC)
 * for 16-23. */
#define DEFAULT_ROUTES (2 * PIC_PINS + (LAYOUT_IOAPIC_PINS - PIC_PINS))
/* Upper bound on KVM_CAP_IRQ_ROUTING's answer (KVM_MAX_IRQ_ROUTES is 4096
 * on x86): it sizes the tables below. */
#define MAX_ROUTES 4096

struct mv_irqroute {
	pthread_mutex_t lock;
	struct mv_irqroute_params p;
	unsigned int max_routes;   /* table entries, and GSIs below this */
	unsigned int nmsi;
	bool *used;                /* [max_routes - LAYOUT_MSI_GSI_BASE] */
	struct mv_msi_msg *msi;    /* same index */
	struct kvm_irq_routing *table; /* scratch, max_routes entries */
};

static int vm_ioctl(struct mv_irqroute *r, unsigned long req, void *arg)
{
	int ret;

	if (r->p.vm_ioctl)
		return r->p.vm_ioctl(r->p.opaque, req, arg);
	ret = ioctl(r->p.vm_fd, req, arg);
	return ret < 0 ? -errno : ret;
}

static void put_chip(struct kvm_irq_routing_entry *e, unsigned int gsi, unsigned int chip, unsigned int pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Called with the lock held: sends the whole table. */
static int commit(struct mv_irqroute *r)
{
	struct kvm_irq_routing_entry *e = r->table->entries;
	unsigned int n = 0, gsi;

	for (gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
		put_chip(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < PIC_PINS)
			put_chip(&e[n++], gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	}
	for (gsi = LAYOUT_MSI_GSI_BASE; gsi < r->max_routes; gsi++) {
		const struct mv_msi_msg *m = &r->msi[gsi - LAYOUT_MSI_GSI_BASE];

		if (!r->used[gsi - LAYOUT_MSI_GSI_BASE])
			continue;
		memset(&e[n], 0, sizeof(e[n]));
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_MSI;
		e[n].u.msi.address_lo = (uint32_t)m->addr;
		e[n].u.msi.address_hi = (uint32_t)(m->addr >> 32);
		e[n].u.msi.data = m->data;
		n++;
	}
	r->table->nr = n;
	r->table->flags = 0;
	return vm_ioctl(r, KVM_SET_GSI_ROUTING, r->table);
}

static int route_add(void *opaque, const struct mv_msi_msg *msg, unsigned int *gsi)
{
	struct mv_irqroute *r = opaque;
	unsigned int i, n = r->max_routes - LAYOUT_MSI_GSI_BASE;
	int ret = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	if (DEFAULT_ROUTES + r->nmsi >= r->max_routes)
		goto out;
	for (i = 0; i < n && r->used[i]; i++)
		;
	if (i == n)
		goto out;
	r->used[i] = true;
	r->msi[i] = *msg;
	ret = commit(r);
	if (ret < 0) {
		r->used[i] = false;
		goto out;
	}
	r->nmsi++;
	*gsi = LAYOUT_MSI_GSI_BASE + i;
out:
	pthread_mutex_unlock(&r->lock);
	return ret < 0 ? ret : 0;
}

static bool valid_gsi(const struct mv_irqroute *r, unsigned int gsi)
{
	return gsi >= LAYOUT_MSI_GSI_BASE && gsi < r->max_routes && r->used[gsi - LAYOUT_MSI_GSI_BASE];
}

static int route_update(void *opaque, unsigned int gsi, const struct mv_msi_msg *msg)
{
	struct mv_irqroute *r = opaque;
	struct mv_msi_msg old;
	int ret = -EINVAL;

	pthread_mutex_lock(&r->lock);
	if (valid_gsi(r, gsi)) {
		old = r->msi[gsi - LAYOUT_MSI_GSI_BASE];
		r->msi[gsi - LAYOUT_MSI_GSI_BASE] = *msg;
		ret = commit(r);
		if (ret < 0)
			r->msi[gsi - LAYOUT_MSI_GSI_BASE] = old;
	}
	pthread_mutex_unlock(&r->lock);
	return ret < 0 ? ret : 0;
}

static void route_del(void *opaque, unsigned int gsi)
{
	struct mv_irqroute *r = opaque;
	int ret;

	pthread_mutex_lock(&r->lock);
	if (valid_gsi(r, gsi)) {
		r->used[gsi - LAYOUT_MSI_GSI_BASE] = false;
		r->nmsi--;
		ret = commit(r);
		if (ret < 0) /* KVM keeps the old route: harmless, nothing signals it */
			pr_warn_errno(ret, "KVM_SET_GSI_ROUTING without GSI %u", gsi);
	}
	pthread_mutex_unlock(&r->lock);
}

static int irqfd(struct mv_irqroute *r, unsigned int gsi, int fd, uint32_t flags)
{
	struct kvm_irqfd req = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags };
	int ret;

	if (fd < 0 || gsi >= r->max_routes)
		return -EINVAL;
	ret = vm_ioctl(r, KVM_IRQFD, &req);
	return ret < 0 ? ret : 0;
}

static int irqfd_bind(void *opaque, unsigned int gsi, int fd)
{
	return irqfd(opaque, gsi, fd, 0);
}

static int irqfd_unbind(void *opaque, unsigned int gsi, int fd)
{
	return irqfd(opaque, gsi, fd, KVM_IRQFD_FLAG_DEASSIGN);
}

static const struct mv_msi_router_ops router_ops = {
	.route_add = route_add, .route_update = route_update, .route_del = route_del,
	.irqfd_bind = irqfd_bind, .irqfd_unbind = irqfd_unbind,
};

static int check_caps(struct mv_irqroute *r, struct mv_err *err)
{
	int routes = vm_ioctl(r, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_IRQ_ROUTING);
	int fds = vm_ioctl(r, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_IRQFD);

	if (routes <= DEFAULT_ROUTES)
		return err__set(err, -ENOTSUP, "KVM lacks GSI routing (KVM_CAP_IRQ_ROUTING = %d)", routes);
	if (fds <= 0)
		return err__set(err, -ENOTSUP, "KVM lacks irqfd (KVM_CAP_IRQFD)");
	r->max_routes = MIN((unsigned int)routes, MAX_ROUTES);
	return 0;
}

int irqroute__create(const struct mv_irqroute_params *p, struct mv_irqroute **out, struct mv_err *err)
{
	struct mv_irqroute *r = calloc(1, sizeof(*r));
	size_t n;
	int ret;

	if (!r)
		return err__set(err, -ENOMEM, "out of memory for the GSI routing table");
	r->p = *p;
	pthread_mutex_init(&r->lock, NULL);
	ret = check_caps(r, err);
	if (ret < 0)
		goto err_free;
	n = r->max_routes - LAYOUT_MSI_GSI_BASE;
	r->used = calloc(n, sizeof(*r->used));
	r->msi = calloc(n, sizeof(*r->msi));
	r->table = calloc(1, sizeof(*r->table) + r->max_routes * sizeof(r->table->entries[0]));
	if (!r->used || !r->msi || !r->table) {
		ret = err__set(err, -ENOMEM, "out of memory for the GSI routing table");
		goto err_free;
	}
	ret = commit(r);
	if (ret < 0) {
		err__set(err, ret, "KVM_SET_GSI_ROUTING (default table): %s", strerror(-ret));
		goto err_free;
	}
	*out = r;
	return 0;

err_free:
	irqroute__destroy(r);
	return ret;
}

void irqroute__destroy(struct mv_irqroute *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->table);
	free(r->msi);
	free(r->used);
	free(r);
}

struct mv_msi_router irqroute__router(struct mv_irqroute *r)
{
	return (struct mv_msi_router){ &router_ops, r };
}

unsigned int irqroute__msi_count(struct mv_irqroute *r)
{
	unsigned int n;

	pthread_mutex_lock(&r->lock);
	n = r->nmsi;
	pthread_mutex_unlock(&r->lock);
	return n;
}
