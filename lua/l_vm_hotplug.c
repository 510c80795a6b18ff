/* core.vm_add_device / vm_remove_device / vm_remove_cancel: the C side of
 * vm:add_device, vm:remove_device (lua/lib/hotplug.lua does the waiting).
 * Tables arrive validated by lua/lib/config.lua (validate_device). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hotplug.h"
#include "core/vm.h"
#include "lua/cfgread.h"
#include "lua/state.h"

union any_cfg {
	struct mv_disk_config disk;
	struct mv_net_config net;
	struct mv_rng_config rng;
};

static const struct {
	const char *kind;
	mvlua_read_fn read;
} readers[] = { /* one reader per kind: Lua table -> the kind's config record */
	{ "disk", mvlua__read_disk },
	{ "net", mvlua__read_net },
	{ "rng", mvlua__read_rng },
};

static int push_fail(lua_State *L, const char *msg)
{
	lua_pushnil(L);
	lua_pushstring(L, msg);
	return 2;
}

/* core.vm_add_device(h, kind, spec) -> id, "0000:00:NN.0" | nil, err */
static int l_vm_add_device(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	const char *kname = luaL_checkstring(L, 2);
	const struct mv_hotplug_kind *kind = hotplug__kind(kname);
	struct mv_err err = { "" };
	union any_cfg cfg;
	char pci[32], id[64];
	unsigned int r;
	int ret;

	luaL_checktype(L, 3, LUA_TTABLE);
	for (r = 0; r < ARRAY_SIZE(readers) && strcmp(readers[r].kind, kname) != 0; r++)
		;
	if (!kind || r == ARRAY_SIZE(readers))
		return luaL_error(L, "vm:add_device: no device kind '%s'", kname);
	memset(&cfg, 0, sizeof(cfg));
	readers[r].read(L, 3, &cfg);
	ret = vm__add_device(vm, kind, &cfg, &err);
	if (ret < 0) {
		kind->cfg_free(&cfg);
		return push_fail(L, err.msg);
	}
	snprintf(id, sizeof(id), "%s", hotplug__cfg_id(kind, &cfg)); /* the string now belongs to vm->cfg */
	snprintf(pci, sizeof(pci), "0000:00:%02x.0", (unsigned int)ret);
	lua_pushstring(L, id);
	lua_pushstring(L, pci);
	return 2;
}

/* core.vm_remove_device(h, id) -> true | nil, err */
static int l_vm_remove_device(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	const char *id = luaL_checkstring(L, 2);
	struct mv_err err = { "" };

	if (vm__remove_device(vm, id, &err) < 0)
		return push_fail(L, err.msg);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.vm_remove_cancel(h, id) */
static int l_vm_remove_cancel(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);

	vm__cancel_remove(vm, luaL_checkstring(L, 2));
	return 0;
}

void mvlua__push_device_event(lua_State *L, const struct mv_vm *vm)
{
	char pci[32];

	snprintf(pci, sizeof(pci), "0000:00:%02x.0", vm->device_event.slot);
	lua_pushstring(L, vm->device_event.id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, vm->device_event.type);
	lua_setfield(L, -2, "type");
	lua_pushstring(L, pci);
	lua_setfield(L, -2, "pci");
}

void mvlua__register_vm_hotplug(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "vm_add_device", l_vm_add_device }, { "vm_remove_device", l_vm_remove_device },
		{ "vm_remove_cancel", l_vm_remove_cancel }, { NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
}
