/* The hotplug kinds' records in vm->cfg (core/hotplug_cfg.c): each list
 * kind's descriptor reaches its own array and count, and room, add,
 * remove, has, the i-th record and ids behave the same for every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hotplug.h"
#include "core/plugin.h"

static struct mv_vm_config *new_cfg(void)
{
	struct mv_vm_config *vc = calloc(1, sizeof(*vc));

	assert_non_null(vc);
	return vc;
}

static void free_cfg(struct mv_vm_config *vc)
{
	for (unsigned int i = 0; i < vc->ndisks; i++)
		free(vc->disks[i].id), free(vc->disks[i].path);
	for (unsigned int i = 0; i < vc->nnets; i++)
		free(vc->nets[i].id), free(vc->nets[i].tap);
	for (unsigned int i = 0; i < vc->nrngs; i++)
		free(vc->rngs[i].id);
	free(vc);
}

static void add_disk(struct mv_vm_config *vc, const char *id, const char *path)
{
	struct mv_disk_config d = { .id = strdup(id), .path = strdup(path), .readonly = true };

	assert_true(hotplug__cfg_room(hotplug__kind("disk"), vc));
	hotplug__cfg_add(hotplug__kind("disk"), vc, &d);
}

static void test_disk_list(void **state)
{
	const struct mv_hotplug_kind *k = hotplug__kind("disk");
	struct mv_vm_config *vc = new_cfg();
	const struct mv_disk_config *d;

	(void)state;
	add_disk(vc, "a", "/a.img");
	add_disk(vc, "b", "/b.img");
	add_disk(vc, "c", "/c.img");
	assert_int_equal(vc->ndisks, 3);
	assert_string_equal(vc->disks[1].path, "/b.img");
	assert_true(vc->disks[1].readonly);
	assert_int_equal(vc->nnets + vc->nrngs, 0); /* nothing else touched */
	assert_true(hotplug__cfg_has(k, vc, "b"));
	assert_false(hotplug__cfg_has(k, vc, "z"));
	assert_false(hotplug__cfg_has(hotplug__kind("net"), vc, "b"));

	d = hotplug__cfg_at(k, vc, 2);
	assert_ptr_equal(d, &vc->disks[2]);
	assert_null(hotplug__cfg_at(k, vc, 3));

	assert_true(hotplug__cfg_remove(k, vc, "b")); /* the middle one: c moves down */
	assert_false(hotplug__cfg_remove(k, vc, "b"));
	assert_int_equal(vc->ndisks, 2);
	assert_string_equal(vc->disks[0].id, "a");
	assert_string_equal(vc->disks[1].id, "c");
	assert_string_equal(vc->disks[1].path, "/c.img");
	assert_null(vc->disks[2].id); /* the freed tail is cleared */
	assert_null(vc->disks[2].path);
	free_cfg(vc);
}

static void test_room(void **state)
{
	const struct mv_hotplug_kind *k = hotplug__kind("rng");
	struct mv_vm_config *vc = new_cfg();

	(void)state;
	for (unsigned int i = 0; i < MV_MAX_RNGS; i++) {
		struct mv_rng_config r = { .id = malloc(8) };

		assert_non_null(r.id);
		snprintf(r.id, 8, "rng%u", i);
		assert_true(hotplug__cfg_room(k, vc));
		hotplug__cfg_add(k, vc, &r);
	}
	assert_false(hotplug__cfg_room(k, vc));
	assert_true(hotplug__cfg_room(hotplug__kind("disk"), vc));
	assert_int_equal(vc->nrngs, MV_MAX_RNGS);
	assert_string_equal(vc->rngs[MV_MAX_RNGS - 1].id, "rng7");
	assert_true(hotplug__cfg_remove(k, vc, "rng7")); /* the last one */
	assert_null(vc->rngs[MV_MAX_RNGS - 1].id);
	assert_true(hotplug__cfg_room(k, vc));
	free_cfg(vc);
}

static void test_net_ids(void **state)
{
	const struct mv_hotplug_kind *k = hotplug__kind("net");
	struct mv_vm_config *vc = new_cfg();
	struct mv_net_config n = { .tap = strdup("tap0"), .mac = { 2, 0, 0, 0, 0, 1 } };

	(void)state;
	assert_null(hotplug__cfg_id(k, &n));
	hotplug__cfg_set_id(k, &n, strdup("net0"));
	assert_string_equal(hotplug__cfg_id(k, &n), "net0");
	hotplug__cfg_set_id(k, &n, strdup("lan")); /* frees the old one */
	hotplug__cfg_add(k, vc, &n);
	assert_int_equal(vc->nnets, 1);
	assert_int_equal(vc->nets[0].mac[5], 1);
	assert_true(hotplug__cfg_has(k, vc, "lan"));
	assert_false(hotplug__cfg_has(k, vc, "net0"));
	assert_true(hotplug__cfg_remove(k, vc, "lan"));
	assert_int_equal(vc->nnets, 0);
	assert_null(hotplug__cfg_at(k, vc, 0));
	free_cfg(vc);
}

/* Records not in vm->cfg (vm->plugins): never an i-th one; ids work. */
static void test_plugin(void **state)
{
	const struct mv_hotplug_kind *k = hotplug__kind("plugin");
	struct mv_vm_config *vc = new_cfg();
	struct mv_plugin_devcfg c = { .id = strdup("p0") };

	(void)state;
	assert_non_null(k);
	assert_null(hotplug__cfg_at(k, vc, 0));
	assert_true(hotplug__cfg_room(k, vc));
	assert_string_equal(hotplug__cfg_id(k, &c), "p0");
	hotplug__cfg_set_id(k, &c, strdup("p1"));
	assert_string_equal(c.id, "p1");
	free(c.id);
	free_cfg(vc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_list),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_net_ids),
		cmocka_unit_test(test_plugin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
