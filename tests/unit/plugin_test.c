/* Device plugins, host side (core/plugin_*.c) with the plugins built in
 * $MV_BUILD_DIR/plugins: the loader's refusals, option checks, device
 * instances on a test machine (port bus, fake guest RAM, the loop):
 * registration and unwinding on overlap, events, Lua methods, the
 * range-checked guest memory calls, ACPI tables only at boot, and the
 * virtio backend API driven by the fake virtio driver. No KVM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plugin_priv.h"
#include "core/x86/layout.h"
#include "tests/support/virtio_driver.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE 0x40000ULL

static char pdir[512];
static unsigned int next_gsi = LAYOUT_MSI_GSI_BASE;

struct fx {
	struct mv_loop loop;
	struct mv_iobus pio, mmio;
	struct mv_guestmem mem;
	uint8_t *ram;
	struct mv_plugin_set *set;
	struct mv_plugin_env env;
};

/* the last event the sink saw */
static struct {
	int count;
	char device[64], name[64];
	int64_t value;
	char action[16];
} ev;

static void sink(struct mv_vm *vm, const char *device, const char *name, const struct mv_plugin_field *f,
		 unsigned int n)
{
	ev.count++;
	snprintf(ev.device, sizeof(ev.device), "%s", device);
	snprintf(ev.name, sizeof(ev.name), "%s", name);
	for (unsigned int i = 0; i < n; i++) {
		if (strcmp(f[i].key, "value") == 0)
			ev.value = f[i].value.u.i;
		if (strcmp(f[i].key, "action") == 0)
			snprintf(ev.action, sizeof(ev.action), "%s", f[i].value.u.s);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(loop__init(&f->loop), 0);
	iobus__init(&f->pio, "port I/O");
	iobus__init(&f->mmio, "MMIO");
	f->ram = calloc(1, RAM_SIZE);
	assert_int_equal(guestmem__add_region(&f->mem, RAM_GPA, RAM_SIZE, f->ram), 0);
	f->set = plugin_set__new();
	f->env = (struct mv_plugin_env){
		.loop = &f->loop, .pio = &f->pio, .mmio = &f->mmio, .mem = &f->mem, .vm_fd = -1,
		.router = { &vdrv__router_ops, &next_gsi }, .no_thread = true,
	};
	plugin__set_event_sink(sink);
	memset(&ev, 0, sizeof(ev));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	plugin_set__free(f->set);
	loop__drain(&f->loop);
	iobus__destroy(&f->pio);
	iobus__destroy(&f->mmio);
	loop__destroy(&f->loop);
	free(f->ram);
	free(f);
	return 0;
}

static struct mv_plugin *load(const char *name)
{
	char path[600];
	struct mv_err err = { "" };
	struct mv_plugin *p = NULL;

	snprintf(path, sizeof(path), "%s/%s.so", pdir, name);
	if (plugin__load(path, &p, &err) < 0)
		fail_msg("loading %s: %s", path, err.msg);
	return p;
}

/* a configured device of the plugin's only type, with an int option */
static struct mv_plugin_devcfg *devcfg(struct mv_plugin *p, const char *id, const char *opt, int64_t v)
{
	const struct mv_plugin_type *t;
	struct mv_plugin_devcfg *c;
	struct mv_err err = { "" };
	const struct mv_plugin_value val = { .type = MV_PLUGIN_INT, .u.i = v };

	assert_int_equal(plugin__find_type(p, NULL, &t, &err), 0);
	assert_int_equal(devcfg__new(p, t, id, &c, &err), 0);
	if (opt)
		assert_int_equal(devcfg__set_opt(c, opt, &val, &err), 0);
	return c;
}

static void test_load_refusals(void **state)
{
	struct mv_err err = { "" };
	struct mv_plugin *p;
	char tmp[] = "/tmp/mv-plugin-test-XXXXXX";
	int fd;

	assert_int_equal(plugin__load("/nonexistent/dir/x.so", &p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "plugin /nonexistent/dir/x.so: No such file or directory"));
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	close(fd);
	assert_int_equal(plugin__load(tmp, &p, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "cannot load it as a shared object"));
	unlink(tmp);
}

static void test_load_once_types_options(void **state)
{
	struct mv_plugin *a = load("debugport"), *b = load("debugport");
	const struct mv_plugin_type *t;
	struct mv_plugin_devcfg *c;
	struct mv_err err = { "" };
	const struct mv_plugin_value s = { .type = MV_PLUGIN_STRING, .u.s = "0x402" };

	assert_ptr_equal(a, b);
	assert_ptr_equal(plugin__find(a->path), a);
	assert_string_equal(a->desc->name, "debugport");
	assert_int_equal(plugin__find_type(a, "nope", &t, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "has no device type 'nope' (types: debugport)"));
	c = devcfg(a, "d", NULL, 0);
	assert_int_equal(devcfg__set_opt(c, "prot", &s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "unknown option 'prot' (options: port)"));
	assert_int_equal(devcfg__set_opt(c, "port", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "option 'port' must be an integer"));
	devcfg__free(c);
}

static void pio_write8(struct fx *f, uint16_t port, uint8_t v)
{
	assert_true(iobus__access(&f->pio, port, &v, 1, true));
}

static void test_debugport_events_methods_memory(void **state)
{
	struct fx *f = *state;
	struct mv_plugin_devcfg *c = devcfg(load("debugport"), "dbg", "port", 0x402);
	const struct mv_plugin_host *host = plugin__host();
	struct mv_plugin_value res;
	struct mv_err err = { "" };
	struct mv_plugin_dev *d;
	uint8_t v = 0, buf[8];
	char msg[64];

	assert_int_equal(plugin_set__add(f->set, c, &err), 0);
	assert_int_equal(plugin_set__create_all(f->set, &f->env, &err), 0);
	d = c->live;
	assert_non_null(d);
	pio_write8(f, 0x402, 'A');
	assert_int_equal(ev.count, 0); /* delivered by the loop, not on the vCPU */
	loop__drain(&f->loop);
	loop__drain(&f->loop);
	assert_int_equal(ev.count, 1);
	assert_string_equal(ev.name, "debugport");
	assert_string_equal(ev.device, "dbg");
	assert_int_equal(ev.value, 'A');
	assert_true(iobus__access(&f->pio, 0x402, &v, 1, false));
	assert_int_equal(v, 0xE9);
	assert_int_equal(plugin_dev__call(d, "count", NULL, 0, &res, msg, sizeof(msg)), 0);
	assert_int_equal(res.type, MV_PLUGIN_INT);
	assert_int_equal(res.u.i, 1);
	assert_int_equal(plugin_dev__call(d, "nope", NULL, 0, &res, msg, sizeof(msg)), -ENOENT);
	/* guest memory only inside RAM, whole range checked */
	f->ram[0x10] = 0x5a;
	assert_int_equal(host->mem_read(d, RAM_GPA + 0x10, buf, 1), 0);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(host->mem_read(d, RAM_GPA + RAM_SIZE - 4, buf, 8), -EFAULT);
	assert_int_equal(host->mem_write(d, UINT64_MAX - 2, buf, 8), -EFAULT);
	assert_int_equal(host->mem_read(d, 0, buf, 1), -EFAULT);
	/* options the type does not declare, or with another type */
	{
		const char *s;
		int64_t i;
		assert_int_equal(host->config_string(d, "port", "x", &s), -EINVAL);
		assert_int_equal(host->config_int(d, "nope", 0, &i), -ENOENT);
	}
	plugin_set__destroy_all(f->set);
	assert_null(c->live);
	assert_false(iobus__access(&f->pio, 0x402, &v, 1, true)); /* unregistered */
}

static void nop_io(void *opaque, uint64_t off, void *data, uint32_t len)
{
}

static const struct mv_iodev_ops nop_ops = { .read = nop_io };

static void test_overlap_unwinds(void **state)
{
	struct fx *f = *state;
	struct mv_plugin_devcfg *a = devcfg(load("debugport"), "a", "port", 0x3f9);
	struct mv_plugin_devcfg *b = devcfg(load("debugport"), "b", "port", 0x402);
	struct mv_err err = { "" };

	assert_int_equal(iobus__register(&f->pio, 0x3f8, 8, &nop_ops, NULL, "serial", &err), 0);
	assert_int_equal(plugin_set__add(f->set, b, &err), 0);
	assert_int_equal(plugin_set__add(f->set, a, &err), 0);
	assert_int_equal(plugin_set__create_all(f->set, &f->env, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "device 'a' (type debugport): create failed: cannot claim port 0x3f9"));
	assert_non_null(strstr(err.msg, "serial"));
	/* b, created first, was destroyed again: only the serial range is left */
	assert_null(a->live);
	assert_null(b->live);
	assert_int_equal(f->pio.nranges, 1);
}

static void test_runtime_add_and_duplicate_id(void **state)
{
	struct fx *f = *state;
	struct mv_plugin_devcfg *a = devcfg(load("debugport"), NULL, NULL, 0);
	struct mv_plugin_devcfg *b = devcfg(load("debugport"), "debugport0", "port", 0x403);
	struct mv_plugin_devcfg *w = devcfg(load("watchdog"), "wd", NULL, 0);
	struct mv_err err = { "" };

	assert_int_equal(plugin_set__create_all(f->set, &f->env, &err), 0);
	assert_int_equal(plugin_set__add(f->set, a, &err), 0);
	assert_string_equal(a->id, "debugport0");
	assert_int_equal(plugin_set__create_one(f->set, a, &err), 0);
	assert_non_null(a->live);
	assert_int_equal(plugin_set__add(f->set, b, &err), -EEXIST);
	devcfg__free(b);
	/* the watchdog needs its ACPI table, which exists only at boot */
	w->runtime = true;
	assert_int_equal(plugin_set__add(f->set, w, &err), 0);
	assert_true(plugin_set__create_one(f->set, w, &err) < 0);
	assert_non_null(strstr(err.msg, "ACPI"));
	plugin_set__remove(f->set, w);
	assert_int_equal(f->set->count, 1);
}

static void test_watchdog_table_and_expiry(void **state)
{
	struct fx *f = *state;
	struct mv_plugin_devcfg *c = devcfg(load("watchdog"), "wd", "port", 0x440);
	struct mv_acpi_table_hook hooks[MV_PLUGIN_MAX_TABLES];
	struct mv_err err = { "" };
	uint32_t one = 1;
	uint8_t start = 1, ctl = 0;

	assert_int_equal(plugin_set__add(f->set, c, &err), 0);
	assert_int_equal(plugin_set__create_all(f->set, &f->env, &err), 0);
	assert_int_equal(plugin_set__table_hooks(f->set, hooks, MV_PLUGIN_MAX_TABLES), 1);
	assert_memory_equal(f->set->tables[0].sig, "WDAT", 4);
	assert_int_equal(f->set->tables[0].len, 32 + 9 * 24);
	/* countdown 1 s, start: fires on the loop's timer */
	assert_true(iobus__access(&f->pio, 0x440, &one, 4, true));
	assert_true(iobus__access(&f->pio, 0x444, &start, 1, true));
	assert_true(iobus__access(&f->pio, 0x444, &ctl, 1, false));
	assert_int_equal(ctl, 1);
	for (int i = 0; i < 200 && !ev.count; i++) { /* up to 10 s: the check runs every 0.25 s */
		usleep(50000);
		ev_run(f->loop.ev, EVRUN_NOWAIT);
		loop__drain(&f->loop);
	}
	assert_int_equal(ev.count, 1);
	assert_string_equal(ev.name, "watchdog");
	assert_string_equal(ev.action, "reset");
	assert_true(iobus__access(&f->pio, 0x444, &ctl, 1, false));
	assert_int_equal(ctl, 2); /* stopped, fired */
}

/* the virtio backend API: rngfile fills a posted buffer from its source */
static void test_virtio_backend(void **state)
{
	struct fx *f = *state;
	struct mv_plugin *p = load("rngfile");
	struct mv_plugin_devcfg *c = devcfg(p, "rng", NULL, 0);
	char src[] = "/tmp/mv-plugin-rng-XXXXXX";
	struct vdrv_ring ring = { .ram = f->ram, .ram_gpa = RAM_GPA, .desc = RAM_GPA + 0x1000,
				  .avail = RAM_GPA + 0x2000, .used = RAM_GPA + 0x3000, .size = 16 };
	const struct vdrv_seg seg = { RAM_GPA + 0x10000, 40, true };
	const struct mv_plugin_value path = { .type = MV_PLUGIN_STRING, .u.s = src };
	struct mv_virtio_pci *vp;
	struct mv_err err = { "" };
	int fd = mkstemp(src);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(devcfg__set_opt(c, "source", &path, &err), 0);
	assert_int_equal(plugin_set__add(f->set, c, &err), 0);
	assert_int_equal(plugin_set__create_all(f->set, &f->env, &err), 0);
	vp = plugin_pci__virtio_transport(c->live, 0);
	assert_non_null(vp);
	assert_true(vdrv__negotiate(vp, 1ULL << VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	vdrv__setup_queue(vp, 0, 16, ring.desc, ring.avail, ring.used);
	vdrv__driver_ok(vp);
	vdrv__post_chain(&ring, &seg, 1);
	virtio_pci__process(vp, 0);
	assert_int_equal(vdrv__used_idx(&ring), 1);
	assert_int_equal(vdrv__used_elem(&ring, 0).len, 40);
	assert_memory_equal(f->ram + 0x10000, "0123456789012345678901234567890123456789", 40);
	/* a chain outside guest RAM: the device needs a reset, the VMM goes on */
	vdrv__put_desc(&ring, 5, RAM_GPA + RAM_SIZE - 8, 64, VIRTQ_DESC_F_WRITE, 0);
	vdrv__publish(&ring, 5);
	virtio_pci__process(vp, 0);
	assert_true(vdrv__status(vp) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vdrv__used_idx(&ring), 1);
	unlink(src);
}

static void pci_bar_read(void *opaque, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0x42, len);
}

static const struct mv_plugin_pci_ops pci_ops = { .bar_read = pci_bar_read };

/* the PCI API: a function with a BAR and MSI-X (no PCI host here: built,
 * not plugged); refused outside boot and for a bad BAR */
static void test_pci_function(void **state)
{
	struct fx *f = *state;
	struct mv_plugin_devcfg *c = devcfg(load("debugport"), "dbg", NULL, 0);
	const struct mv_plugin_host *host = plugin__host();
	struct mv_plugin_pci_desc desc = {
		.size = sizeof(desc), .vendor = 0x1234, .device = 0x5678, .class_code = 0xFF0000, .intx_pin = 1,
		.msix_vectors = 2, .msix_bar = 2, .ops = &pci_ops,
	};
	struct mv_plugin_pci *p = NULL;
	struct mv_err err = { "" };
	struct mv_plugin_dev *d;

	desc.bars[0].size = 4096;
	assert_int_equal(plugin_set__add(f->set, c, &err), 0);
	assert_int_equal(plugin_set__create_all(f->set, &f->env, &err), 0);
	d = c->live;
	assert_int_equal(host->pci_add(d, &desc, &p), -EOPNOTSUPP); /* not while booting: no PCI hotplug */
	f->set->booting = true;
	assert_int_equal(host->pci_add(d, &desc, &p), 0);
	assert_int_equal(host->pci_cfg_get(p, 0, 2), 0x1234);
	assert_int_equal(host->pci_cfg_get(p, 2, 2), 0x5678);
	assert_int_equal(host->pci_cfg_get(p, 0x3D, 1), 1);
	assert_true(host->pci_cfg_get(p, 0x34, 1) >= 0x40); /* a capability list: MSI-X */
	assert_int_equal(host->pci_msix_notify(p, 0), -EAGAIN); /* MSI-X not enabled by the guest */
	assert_int_equal(host->pci_cfg_get(p, 4096, 4), UINT32_MAX);
	desc.bars[0].size = 3;
	assert_true(host->pci_add(d, &desc, &p) < 0);
	f->set->booting = false;
	plugin_set__destroy_all(f->set);
}

int main(void)
{
	const char *build = getenv("MV_BUILD_DIR");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_refusals),
		cmocka_unit_test(test_load_once_types_options),
		cmocka_unit_test_setup_teardown(test_debugport_events_methods_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_unwinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_add_and_duplicate_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_table_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_function, setup, teardown),
	};

	snprintf(pdir, sizeof(pdir), "%s/plugins", build ? build : "build");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
