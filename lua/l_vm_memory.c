/* core.vm_resize_memory / vm_memory / vm_memory_stats / vm_balloon_counters:
 * the C side of vm:resize_memory, vm.memory and vm:memory_stats
 * (lua/lib/memory.lua does the waiting and the pressure levels), and the
 * memory fields of the mv.vm{} table (validated by lua/lib/memconfig.lua). */
#include <errno.h>
#include <lauxlib.h>
#include <string.h>

#include "core/vm.h"
#include "core/vm_memory.h"
#include "lua/cfgread.h"
#include "lua/state.h"

void mvlua__read_memory_config(lua_State *L, int t, struct mv_vm_config *cfg)
{
	cfg->hotplug = (uint64_t)mvlua__field_integer(L, t, "hotplug", 0);
	cfg->hotplug_block = (uint64_t)mvlua__field_integer(L, t, "hotplug_block", 0);
	cfg->balloon.enabled = mvlua__field_bool(L, t, "balloon");
	cfg->balloon.stats = mvlua__field_number(L, t, "balloon_stats", 0);
	cfg->balloon.free_page_reporting = mvlua__field_bool(L, t, "balloon_free_page_reporting");
	cfg->balloon.deflate_on_oom = mvlua__field_bool(L, t, "balloon_deflate_on_oom");
}

static void set_int(lua_State *L, const char *k, uint64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* core.vm_resize_memory(h, bytes) -> true | nil, err */
static int l_resize(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	lua_Integer bytes = luaL_checkinteger(L, 2);
	struct mv_err err = { "" };

	luaL_argcheck(L, bytes >= 0, 2, "must be >= 0");
	if (vm__resize_memory(vm, (uint64_t)bytes, &err) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, err.msg);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* core.vm_memory(h) -> { size, max, requested, plugged, block, region, nacks } */
static int l_memory(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	struct mv_vm_memory_info in;

	vm__memory_info(vm, &in);
	lua_createtable(L, 0, 7);
	set_int(L, "size", in.size);
	set_int(L, "max", in.max);
	set_int(L, "requested", in.requested);
	set_int(L, "plugged", in.plugged);
	set_int(L, "block", in.block);
	set_int(L, "region", in.region_addr);
	set_int(L, "nacks", in.nacks);
	return 1;
}

static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free", "total", "available", "caches",
	"hugetlb_allocations", "hugetlb_failures",
};

/* core.vm_memory_stats(h) -> stats table (bytes for memory, counts for
 * the rest; only what the guest sent), age | nil, err */
static int l_memory_stats(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	struct mv_balloon_stats st;
	double age;
	int ret = vm__memory_stats(vm, &st, &age);

	if (ret < 0) {
		lua_pushnil(L);
		lua_pushstring(L, ret == -ENODEV ? "no balloon statistics (balloon = { stats = SECONDS })"
						 : "no balloon statistics yet");
		return 2;
	}
	lua_createtable(L, 0, VIRTIO_BALLOON_S_NR);
	for (int i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		if (st.present & (1u << i))
			set_int(L, stat_names[i], st.val[i]);
	set_int(L, "samples", st.seq);
	lua_pushnumber(L, age);
	return 2;
}

/* core.vm_balloon_set(h, bytes) -> true | nil, err */
static int l_balloon_set(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	lua_Integer bytes = luaL_checkinteger(L, 2);
	struct mv_err err = { "" };

	luaL_argcheck(L, bytes >= 0, 2, "must be >= 0");
	if (vm__balloon_set(vm, (uint64_t)bytes, &err) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, err.msg);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* core.vm_balloon_info(h) -> { target, actual, inflated, deflated, reported } (bytes) | nil, err */
static int l_balloon_info(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	struct mv_balloon_counters c;
	int ret = vm__balloon_counters(vm, &c);

	if (ret < 0) {
		lua_pushnil(L);
		lua_pushstring(L, ret == -ENODEV ? "no balloon" : "not running");
		return 2;
	}
	lua_createtable(L, 0, 5);
	set_int(L, "target", (uint64_t)c.target_pages << VIRTIO_BALLOON_PFN_SHIFT);
	set_int(L, "actual", (uint64_t)c.actual_pages << VIRTIO_BALLOON_PFN_SHIFT);
	set_int(L, "inflated", c.inflated << VIRTIO_BALLOON_PFN_SHIFT);
	set_int(L, "deflated", c.deflated << VIRTIO_BALLOON_PFN_SHIFT);
	set_int(L, "reported", c.reported);
	return 1;
}

void mvlua__register_vm_memory(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "vm_resize_memory", l_resize }, { "vm_memory", l_memory }, { "vm_memory_stats", l_memory_stats },
		{ "vm_balloon_set", l_balloon_set }, { "vm_balloon_info", l_balloon_info }, { NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
	mvlua__register_psi(L);
}
