/* The GSI routing table and irqfds (core/irqroute.c) against a fake VM
 * ioctl: the default irqchip routes, MSI routes added, updated, deleted
 * and refused when the table is full, and the KVM_IRQFD requests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "core/irqroute.h"
#include "core/x86/layout.h"

#define DEFAULT_ROUTES 40 /* GSIs 0-15 on IOAPIC and PIC, 16-23 on the IOAPIC */

struct fake_vm {
	int cap_routing, cap_irqfd;
	int fail_set;                  /* KVM_SET_GSI_ROUTING returns this when nonzero */
	unsigned int sets;
	unsigned int nr;
	struct kvm_irq_routing_entry e[4096];
	struct kvm_irqfd irqfd;
	unsigned int irqfds;
};

static int fake_ioctl(void *opaque, unsigned long req, void *arg)
{
	struct fake_vm *f = opaque;

	switch (req) {
	case KVM_CHECK_EXTENSION:
		if ((uintptr_t)arg == KVM_CAP_IRQ_ROUTING)
			return f->cap_routing;
		return (uintptr_t)arg == KVM_CAP_IRQFD ? f->cap_irqfd : 0;
	case KVM_SET_GSI_ROUTING: {
		const struct kvm_irq_routing *t = arg;

		if (f->fail_set)
			return f->fail_set;
		assert_true(t->nr <= 4096);
		assert_int_equal(t->flags, 0);
		f->nr = t->nr;
		memcpy(f->e, t->entries, t->nr * sizeof(t->entries[0]));
		f->sets++;
		return 0;
	}
	case KVM_IRQFD:
		f->irqfd = *(struct kvm_irqfd *)arg;
		f->irqfds++;
		return 0;
	default:
		fail_msg("unexpected ioctl 0x%lx", req);
		return -EINVAL;
	}
}

static struct mv_irqroute *make(struct fake_vm *f, struct mv_err *err)
{
	const struct mv_irqroute_params p = { .vm_fd = -1, .vm_ioctl = fake_ioctl, .opaque = f };
	struct mv_irqroute *r = NULL;

	if (irqroute__create(&p, &r, err) < 0)
		return NULL;
	return r;
}

static const struct kvm_irq_routing_entry *find(const struct fake_vm *f, unsigned int gsi, unsigned int type)
{
	for (unsigned int i = 0; i < f->nr; i++)
		if (f->e[i].gsi == gsi && f->e[i].type == type)
			return &f->e[i];
	return NULL;
}

static void test_default_table(void **state)
{
	struct fake_vm f = { .cap_routing = 4096, .cap_irqfd = 1 };
	struct mv_irqroute *r = make(&f, NULL);
	unsigned int pic = 0;

	assert_non_null(r);
	assert_int_equal(f.sets, 1);
	assert_int_equal(f.nr, DEFAULT_ROUTES);
	for (unsigned int gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
		const struct kvm_irq_routing_entry *e = find(&f, gsi, KVM_IRQ_ROUTING_IRQCHIP);

		assert_non_null(e);
		assert_int_equal(e->u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
		assert_int_equal(e->u.irqchip.pin, gsi);
	}
	for (unsigned int i = 0; i < f.nr; i++) {
		if (f.e[i].u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC)
			continue;
		assert_true(f.e[i].gsi < 16);
		assert_int_equal(f.e[i].u.irqchip.irqchip, f.e[i].gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE);
		assert_int_equal(f.e[i].u.irqchip.pin, f.e[i].gsi % 8);
		pic++;
	}
	assert_int_equal(pic, 16);
	assert_int_equal(irqroute__msi_count(r), 0);
	irqroute__destroy(r);
	irqroute__destroy(NULL);
}

static void test_caps(void **state)
{
	struct fake_vm f = { .cap_routing = 0, .cap_irqfd = 1 };
	struct mv_err err = { "" };

	assert_null(make(&f, &err));
	assert_non_null(strstr(err.msg, "GSI routing"));
	f = (struct fake_vm){ .cap_routing = 4096, .cap_irqfd = 0 };
	assert_null(make(&f, &err));
	assert_non_null(strstr(err.msg, "irqfd"));
	f = (struct fake_vm){ .cap_routing = 4096, .cap_irqfd = 1, .fail_set = -EINVAL };
	assert_null(make(&f, &err));
	assert_non_null(strstr(err.msg, "KVM_SET_GSI_ROUTING"));
}

static void test_msi_routes(void **state)
{
	struct fake_vm f = { .cap_routing = 4096, .cap_irqfd = 1 };
	struct mv_irqroute *r = make(&f, NULL);
	struct mv_msi_router rt = irqroute__router(r);
	const struct mv_msi_msg m1 = { 0x12FEE01000ULL, 0x4041 }, m2 = { 0xFEE02000, 0x51 };
	const struct kvm_irq_routing_entry *e;
	unsigned int g1, g2, g3;

	assert_int_equal(rt.ops->route_add(rt.opaque, &m1, &g1), 0);
	assert_int_equal(rt.ops->route_add(rt.opaque, &m2, &g2), 0);
	assert_int_equal(g1, LAYOUT_MSI_GSI_BASE);
	assert_int_equal(g2, LAYOUT_MSI_GSI_BASE + 1);
	assert_int_equal(irqroute__msi_count(r), 2);
	assert_int_equal(f.nr, DEFAULT_ROUTES + 2);
	e = find(&f, g1, KVM_IRQ_ROUTING_MSI);
	assert_non_null(e);
	assert_int_equal(e->u.msi.address_lo, 0xFEE01000);
	assert_int_equal(e->u.msi.address_hi, 0x12);
	assert_int_equal(e->u.msi.data, 0x4041);
	assert_non_null(find(&f, 16, KVM_IRQ_ROUTING_IRQCHIP)); /* defaults stay */
	assert_int_equal(rt.ops->route_update(rt.opaque, g2, &m1), 0);
	assert_int_equal(find(&f, g2, KVM_IRQ_ROUTING_MSI)->u.msi.data, 0x4041);
	/* GSIs that are not MSI routes of ours */
	assert_int_equal(rt.ops->route_update(rt.opaque, 5, &m1), -EINVAL);
	assert_int_equal(rt.ops->route_update(rt.opaque, g2 + 1, &m1), -EINVAL);
	assert_int_equal(rt.ops->route_update(rt.opaque, UINT32_MAX, &m1), -EINVAL);
	rt.ops->route_del(rt.opaque, 7);         /* ignored */
	rt.ops->route_del(rt.opaque, UINT32_MAX);
	assert_int_equal(irqroute__msi_count(r), 2);
	rt.ops->route_del(rt.opaque, g1);
	rt.ops->route_del(rt.opaque, g1);        /* twice: ignored */
	assert_int_equal(irqroute__msi_count(r), 1);
	assert_null(find(&f, g1, KVM_IRQ_ROUTING_MSI));
	assert_int_equal(rt.ops->route_add(rt.opaque, &m2, &g3), 0);
	assert_int_equal(g3, g1);                /* reused */
	/* a refused table leaves the old one in force and the GSI free */
	f.fail_set = -ENOMEM;
	assert_int_equal(rt.ops->route_add(rt.opaque, &m2, &g3), -ENOMEM);
	assert_int_equal(irqroute__msi_count(r), 2);
	assert_int_equal(rt.ops->route_update(rt.opaque, g2, &m2), -ENOMEM);
	f.fail_set = 0;
	assert_int_equal(rt.ops->route_add(rt.opaque, &m2, &g3), 0);
	assert_int_equal(g3, LAYOUT_MSI_GSI_BASE + 2);
	assert_int_equal(find(&f, g2, KVM_IRQ_ROUTING_MSI)->u.msi.data, 0x4041); /* update was undone */
	irqroute__destroy(r);
}

static void test_table_full(void **state)
{
	struct fake_vm f = { .cap_routing = DEFAULT_ROUTES + 3, .cap_irqfd = 1 };
	struct mv_irqroute *r = make(&f, NULL);
	struct mv_msi_router rt = irqroute__router(r);
	const struct mv_msi_msg m = { 0xFEE00000, 0x30 };
	unsigned int g;

	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(rt.ops->route_add(rt.opaque, &m, &g), 0);
	assert_int_equal(rt.ops->route_add(rt.opaque, &m, &g), -ENOSPC);
	assert_int_equal(f.nr, DEFAULT_ROUTES + 3);
	irqroute__destroy(r);
}

static void test_irqfd(void **state)
{
	struct fake_vm f = { .cap_routing = 4096, .cap_irqfd = 1 };
	struct mv_irqroute *r = make(&f, NULL);
	struct mv_msi_router rt = irqroute__router(r);

	assert_int_equal(rt.ops->irqfd_bind(rt.opaque, 30, 9), 0);
	assert_int_equal(f.irqfd.gsi, 30);
	assert_int_equal(f.irqfd.fd, 9);
	assert_int_equal(f.irqfd.flags, 0);
	assert_int_equal(rt.ops->irqfd_unbind(rt.opaque, 30, 9), 0);
	assert_int_equal(f.irqfd.flags, KVM_IRQFD_FLAG_DEASSIGN);
	assert_int_equal(f.irqfds, 2);
	assert_int_equal(rt.ops->irqfd_bind(rt.opaque, 30, -1), -EINVAL);
	assert_int_equal(rt.ops->irqfd_bind(rt.opaque, 4096, 9), -EINVAL);
	assert_int_equal(f.irqfds, 2);
	irqroute__destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_table),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_msi_routes),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_irqfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
