/* MSI-X (devices/pci/msix.c): the capability, the table and PBA as a guest
 * sees them through a BAR, and what reaches the interrupt router (a fake
 * that records routes and irqfd bindings) as vectors are unmasked, masked,
 * rewritten and signalled. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"

#define NVEC 4
#define TABLE_OFF 0x000
#define PBA_OFF 0x800
#define MAX_GSI 64

/* ---- fake router ---------------------------------------------------------- */

struct fake_router {
	bool used[MAX_GSI];
	struct mv_msi_msg msg[MAX_GSI];
	int bound_fd[MAX_GSI];     /* -1: none */
	unsigned int adds, updates, dels, binds, unbinds;
	int fail_add;              /* route_add returns this when nonzero */
};

static int fr_add(void *opaque, const struct mv_msi_msg *msg, unsigned int *gsi)
{
	struct fake_router *r = opaque;

	if (r->fail_add)
		return r->fail_add;
	for (unsigned int g = LAYOUT_MSI_GSI_BASE; g < MAX_GSI; g++) {
		if (r->used[g])
			continue;
		r->used[g] = true;
		r->msg[g] = *msg;
		r->adds++;
		*gsi = g;
		return 0;
	}
	return -ENOSPC;
}

static int fr_update(void *opaque, unsigned int gsi, const struct mv_msi_msg *msg)
{
	struct fake_router *r = opaque;

	assert_true(gsi < MAX_GSI && r->used[gsi]);
	r->msg[gsi] = *msg;
	r->updates++;
	return 0;
}

static void fr_del(void *opaque, unsigned int gsi)
{
	struct fake_router *r = opaque;

	assert_true(gsi < MAX_GSI && r->used[gsi]);
	assert_int_equal(r->bound_fd[gsi], -1); /* unbound first */
	r->used[gsi] = false;
	r->dels++;
}

static int fr_bind(void *opaque, unsigned int gsi, int fd)
{
	struct fake_router *r = opaque;

	assert_true(gsi < MAX_GSI && r->used[gsi]);
	assert_int_equal(r->bound_fd[gsi], -1);
	r->bound_fd[gsi] = fd;
	r->binds++;
	return 0;
}

static int fr_unbind(void *opaque, unsigned int gsi, int fd)
{
	struct fake_router *r = opaque;

	assert_true(gsi < MAX_GSI);
	assert_int_equal(r->bound_fd[gsi], fd);
	r->bound_fd[gsi] = -1;
	r->unbinds++;
	return 0;
}

static const struct mv_msi_router_ops fr_ops = {
	.route_add = fr_add, .route_update = fr_update, .route_del = fr_del,
	.irqfd_bind = fr_bind, .irqfd_unbind = fr_unbind,
};

/* ---- fixture: a device with MSI-X in BAR 0, plugged into a host -------------- */

struct ctx {
	struct mv_iobus pio, mmio;
	struct mv_pci_host *host;
	struct mv_pci_dev dev;
	struct mv_msix *x;
	struct fake_router r;
	uint64_t bar;
	unsigned int dev_reads;
};

static void dev_bar_read(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	struct ctx *c = dev->opaque;

	c->dev_reads++;
	memset(data, 0x5A, len);
}

static void dev_bar_write(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, const void *data, uint32_t len)
{
}

static const struct mv_pci_dev_ops dev_ops = { .bar_read = dev_bar_read, .bar_write = dev_bar_write };

static struct mv_msix_params params(struct ctx *c)
{
	return (struct mv_msix_params){
		.nvectors = NVEC, .table_bar = 0, .table_off = TABLE_OFF, .pba_bar = 0, .pba_off = PBA_OFF,
		.router = { &fr_ops, &c->r },
	};
}

static int setup(void **state)
{
	const struct mv_pci_id id = { .vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000, .intx_pin = 1 };
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_pci_host_params hp;
	struct mv_msix_params mp;

	if (!c)
		return -1;
	for (unsigned int g = 0; g < MAX_GSI; g++)
		c->r.bound_fd[g] = -1;
	iobus__init(&c->pio, "pio");
	iobus__init(&c->mmio, "mmio");
	hp = (struct mv_pci_host_params){ .pio = &c->pio, .mmio = &c->mmio };
	pci__init(&c->dev, &id, &dev_ops, c, "msixdev");
	mp = params(c);
	if (pci_host__create(&hp, &c->host, NULL) < 0 || pci__add_bar(&c->dev, 0, 4096, 0) < 0 ||
	    msix__create(&c->dev, &mp, &c->x, NULL) < 0 || pci_host__plug(c->host, &c->dev, 1, NULL) != 1)
		return -1;
	c->bar = pci__bar_addr(&c->dev, 0);
	pci_host__ecam(c->host, 1 << 15 | PCI_COMMAND, &(uint16_t){ PCI_COMMAND_MEMORY }, 2, true);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	pci_host__unplug(c->host, &c->dev);
	msix__destroy(c->x);
	for (unsigned int g = 0; g < MAX_GSI; g++) {
		assert_false(c->r.used[g]);    /* every route deleted */
		assert_int_equal(c->r.bound_fd[g], -1);
	}
	pci__fini(&c->dev);
	pci_host__destroy(c->host);
	iobus__destroy(&c->pio);
	iobus__destroy(&c->mmio);
	free(c);
	return 0;
}

static uint64_t rd(struct ctx *c, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	iobus__access(&c->mmio, c->bar + off, &v, len, false);
	return v;
}

static void wr(struct ctx *c, uint64_t off, uint64_t v, uint32_t len)
{
	iobus__access(&c->mmio, c->bar + off, &v, len, true);
}

static uint32_t cfg_rd(struct ctx *c, uint32_t reg, uint32_t len)
{
	uint32_t v = 0;

	pci_host__ecam(c->host, 1 << 15 | reg, &v, len, false);
	return v;
}

static void cfg_wr(struct ctx *c, uint32_t reg, uint32_t v, uint32_t len)
{
	pci_host__ecam(c->host, 1 << 15 | reg, &v, len, true);
}

static uint16_t cap(struct ctx *c)
{
	return msix__cap_offset(c->x);
}

static void set_ctrl(struct ctx *c, uint16_t v)
{
	cfg_wr(c, cap(c) + 2u, v, 2);
}

/* Programs entry n: address, data, vector control. */
static void program(struct ctx *c, unsigned int n, uint64_t addr, uint32_t data, uint32_t vctrl)
{
	wr(c, TABLE_OFF + 16 * n, addr, 8);
	wr(c, TABLE_OFF + 16 * n + 8, data, 4);
	wr(c, TABLE_OFF + 16 * n + 12, vctrl, 4);
}

static int gsi_bound_to(struct ctx *c, unsigned int n)
{
	for (int g = 0; g < MAX_GSI; g++)
		if (c->r.bound_fd[g] >= 0 && c->r.bound_fd[g] == msix__eventfd(c->x, n))
			return g;
	return -1;
}

static uint64_t drain(int fd)
{
	eventfd_t v = 0;

	if (eventfd_read(fd, &v) < 0)
		return 0;
	return v;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_capability(void **state)
{
	struct ctx *c = *state;
	uint16_t o = cap(c);

	assert_int_equal(pci__find_cap(&c->dev, PCI_CAP_ID_MSIX, 0), o);
	assert_true(cfg_rd(c, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_rd(c, PCI_CAPABILITY_LIST, 1), o);
	assert_int_equal(cfg_rd(c, o, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(c, o + 2u, 2), NVEC - 1);       /* table size, disabled, unmasked */
	assert_int_equal(cfg_rd(c, o + 4u, 4), TABLE_OFF | 0);  /* BIR 0 */
	assert_int_equal(cfg_rd(c, o + 8u, 4), PBA_OFF | 0);
	/* only Enable and Function Mask are writable */
	set_ctrl(c, 0xFFFF);
	assert_int_equal(cfg_rd(c, o + 2u, 2), MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK | (NVEC - 1));
	cfg_wr(c, o + 4u, 0xFFFFFFFF, 4);
	cfg_wr(c, o, 0xFFFF, 2);
	assert_int_equal(cfg_rd(c, o + 4u, 4), TABLE_OFF);
	assert_int_equal(cfg_rd(c, o, 1), PCI_CAP_ID_MSIX);
	assert_true(msix__enabled(c->x));
	/* a byte write to the high half of Message Control counts too */
	cfg_wr(c, o + 3u, 0x00, 1);
	assert_false(msix__enabled(c->x));
}

static void test_create_errors(void **state)
{
	struct ctx *c = *state;
	const struct mv_pci_id id = { .vendor = 0x1af4, .device = 0x1041 };
	struct mv_msix_params p = params(c);
	struct mv_pci_dev d;
	struct mv_msix *x;
	struct mv_err err;

	pci__init(&d, &id, NULL, NULL, "d");
	assert_int_equal(pci__add_bar(&d, 0, 4096, 0), 0);
	assert_int_equal(pci__add_bar(&d, 1, 64, PCI_BAR_IO), 0);
	p.nvectors = 0;
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p.nvectors = MSIX_MAX_VECTORS + 1;
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p = params(c);
	p.table_off = 4096 - 16 * NVEC + 16; /* past the BAR's end */
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p = params(c);
	p.pba_off = 0x4; /* unaligned */
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p = params(c);
	p.pba_off = 0x30; /* inside the table */
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "overlap"));
	p = params(c);
	p.table_bar = 1; /* an I/O BAR */
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p = params(c);
	p.table_bar = 2; /* no such BAR */
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p = params(c);
	p.router.ops = NULL;
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	p = params(c);
	p.table_off = 0xFFFFFFF8; /* offsets near 2^32 do not wrap */
	assert_int_equal(msix__create(&d, &p, &x, &err), -EINVAL);
	assert_null(d.msix);
	assert_int_equal(pci__find_cap(&d, PCI_CAP_ID_MSIX, 0), 0);
	pci__fini(&d);
}

static void test_table_rw(void **state)
{
	struct ctx *c = *state;

	for (unsigned int n = 0; n < NVEC; n++) { /* reset: zero, masked */
		assert_int_equal(rd(c, 16 * n, 8), 0);
		assert_int_equal(rd(c, 16 * n + 8, 4), 0);
		assert_int_equal(rd(c, 16 * n + 12, 4), MSIX_VECTOR_MASKED);
	}
	program(c, 2, 0xFEE01000, 0x12344041, 0xFFFFFFFF);
	assert_int_equal(rd(c, 32, 4), 0xFEE01000);
	assert_int_equal(rd(c, 36, 4), 0);
	assert_int_equal(rd(c, 40, 8), 0x0000000112344041ULL); /* reserved control bits read 0 */
	wr(c, 32 + 4, 0x12, 4);                                /* upper address */
	assert_int_equal(rd(c, 32, 8), 0x00000012FEE01000ULL);
	wr(c, 40, 0x7, 2);                                     /* a word write */
	assert_int_equal(rd(c, 40, 4), 0x12340007);
	/* unaligned accesses are ignored / read all ones */
	wr(c, 34, 0xFFFFFFFF, 4);
	wr(c, 44, 0x0000000000000000ULL, 8);                  /* crosses into entry 3 */
	assert_int_equal(rd(c, 34, 4), 0xFFFFFFFF);
	assert_int_equal(rd(c, 44, 8), UINT64_MAX);
	assert_int_equal(rd(c, 32, 8), 0x00000012FEE01000ULL);
	assert_int_equal(rd(c, 44, 4), MSIX_VECTOR_MASKED);
	/* past the table but inside the BAR: the device's own registers */
	c->dev_reads = 0;
	assert_int_equal(rd(c, 16 * NVEC, 4), 0x5A5A5A5A);
	assert_int_equal(rd(c, 0x7FC, 4), 0x5A5A5A5A);
	assert_int_equal(c->dev_reads, 2);
	/* the PBA is read-only and starts empty */
	wr(c, PBA_OFF, UINT64_MAX, 8);
	assert_int_equal(rd(c, PBA_OFF, 8), 0);
	assert_int_equal(c->r.adds, 0); /* nothing routed while disabled */
}

static void test_delivery(void **state)
{
	struct ctx *c = *state;
	int efd = msix__eventfd(c->x, 1), g;

	assert_true(efd >= 0);
	assert_int_equal(msix__eventfd(c->x, NVEC), -1);
	assert_int_equal(msix__notify(c->x, 1), -EAGAIN); /* disabled: use INTx */
	assert_int_equal(msix__notify(c->x, NVEC), -EINVAL);
	assert_int_equal(msix__notify(c->x, UINT32_MAX), -EINVAL);
	program(c, 1, 0xFEE00000, 0x31, 0);
	assert_int_equal(c->r.adds, 0);
	set_ctrl(c, MSIX_CTRL_ENABLE);
	g = gsi_bound_to(c, 1);
	assert_true(g >= LAYOUT_MSI_GSI_BASE);
	assert_int_equal(c->r.msg[g].addr, 0xFEE00000);
	assert_int_equal(c->r.msg[g].data, 0x31);
	assert_int_equal(gsi_bound_to(c, 0), -1); /* masked vectors: no route */
	assert_int_equal(c->r.adds, 1);
	assert_int_equal(msix__notify(c->x, 1), 0);
	assert_int_equal(drain(efd), 1); /* KVM would have injected it */
	assert_int_equal(rd(c, PBA_OFF, 8), 0);
	/* the guest retargets the live vector: the route follows */
	wr(c, 16 + 8, 0x32, 4);
	assert_int_equal(c->r.updates, 1);
	assert_int_equal(c->r.msg[g].data, 0x32);
	wr(c, 16 + 12, 0, 4); /* same control word again: no new route */
	assert_int_equal(c->r.adds, 1);
	assert_int_equal(c->r.updates, 1);
	/* mask: unbound, signals pend in the PBA */
	wr(c, 16 + 12, MSIX_VECTOR_MASKED, 4);
	assert_int_equal(gsi_bound_to(c, 1), -1);
	assert_int_equal(msix__notify(c->x, 1), 0);
	assert_int_equal(rd(c, PBA_OFF, 8), 1u << 1);
	assert_int_equal(rd(c, PBA_OFF, 1), 1u << 1);
	/* unmask: bound again to the same GSI (KVM fires the pending count) */
	wr(c, 16 + 12, 0, 4);
	assert_int_equal(gsi_bound_to(c, 1), g);
	assert_int_equal(c->r.adds, 1);
	assert_int_equal(rd(c, PBA_OFF, 8), 0);
	assert_int_equal(drain(efd), 1);
	/* function mask: everything unbound, still enabled */
	set_ctrl(c, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	assert_int_equal(gsi_bound_to(c, 1), -1);
	assert_true(msix__enabled(c->x));
	assert_int_equal(msix__notify(c->x, 1), 0);
	assert_int_equal(rd(c, PBA_OFF, 4), 1u << 1);
	set_ctrl(c, MSIX_CTRL_ENABLE);
	assert_int_equal(gsi_bound_to(c, 1), g);
	drain(efd);
	/* disable: unbound, notify says use INTx */
	set_ctrl(c, 0);
	assert_int_equal(gsi_bound_to(c, 1), -1);
	assert_int_equal(msix__notify(c->x, 1), -EAGAIN);
	/* a rewrite while disabled reaches the route at the next enable */
	wr(c, 16 + 8, 0x33, 4);
	set_ctrl(c, MSIX_CTRL_ENABLE);
	assert_int_equal(c->r.msg[g].data, 0x33);
	assert_int_equal(c->r.unbinds + 1, c->r.binds);
}

static void test_route_failure(void **state)
{
	struct ctx *c = *state;

	c->r.fail_add = -ENOSPC;
	program(c, 0, 0xFEE00000, 0x40, 0);
	set_ctrl(c, MSIX_CTRL_ENABLE);
	assert_int_equal(gsi_bound_to(c, 0), -1);
	assert_int_equal(msix__notify(c->x, 0), 0);  /* pending, not lost */
	assert_int_equal(rd(c, PBA_OFF, 8), 1);
	c->r.fail_add = 0;
	wr(c, 12, 0, 4);                             /* retried on the next touch */
	assert_true(gsi_bound_to(c, 0) >= 0);
}

/* Every vector of a big table: table size and PBA bits past 64. */
static void test_many_vectors(void **state)
{
	const struct mv_pci_id id = { .vendor = 0x1af4, .device = 0x1041 };
	struct fake_router r = { .bound_fd = { 0 } };
	struct mv_msix_params p = {
		.nvectors = 100, .table_bar = 0, .table_off = 0, .pba_bar = 2, .pba_off = 0x100,
		.router = { &fr_ops, &r },
	};
	struct mv_pci_dev d;
	struct mv_msix *x;
	uint8_t pba[16];

	for (unsigned int g = 0; g < MAX_GSI; g++)
		r.bound_fd[g] = -1;
	pci__init(&d, &id, NULL, NULL, "d");
	assert_int_equal(pci__add_bar(&d, 0, 4096, 0), 0);
	assert_int_equal(pci__add_bar(&d, 2, 4096, PCI_BAR_64), 0);
	assert_int_equal(msix__create(&d, &p, &x, NULL), 0);
	assert_int_equal(pci__get16(&d, msix__cap_offset(x) + 2u), 99);
	assert_int_equal(pci__get32(&d, msix__cap_offset(x) + 8u), 0x100 | 2);
	pci__set16(&d, msix__cap_offset(x) + 2u, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK | 99);
	msix__cfg_written(x, msix__cap_offset(x) + 2u, 2);
	assert_int_equal(msix__notify(x, 99), 0);
	assert_int_equal(msix__notify(x, 64), 0);
	assert_true(msix__bar_access(x, 2, 0x100, pba, 8, false));
	assert_true(msix__bar_access(x, 2, 0x108, pba + 8, 8, false));
	assert_int_equal(pba[8], 1);             /* vector 64 */
	assert_int_equal(pba[12], 1u << 3);      /* vector 99 */
	assert_int_equal(pba[15], 0);            /* bits past the last vector */
	/* the PBA ends at 16 bytes, the table at 1600 */
	assert_false(msix__bar_access(x, 2, 0x110, pba, 4, false));
	assert_false(msix__bar_access(x, 0, 1600, pba, 4, false));
	assert_true(msix__bar_access(x, 0, 1596, pba, 4, false));
	assert_false(msix__bar_access(x, 1, 0, pba, 4, false));
	assert_false(msix__bar_access(x, 5, 0, pba, 4, false));
	msix__destroy(x);
	assert_null(d.msix);
	pci__fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_failure, setup, teardown),
		cmocka_unit_test(test_many_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
