/* core.plugin_* : the C side of plugin devices in Lua (lua/lib/plugin.lua
 * builds mv.vm{ devices = ... }, vm:add_device, vm:device and the device
 * handles on top). A configured device is a full userdata that owns its
 * struct mv_plugin_devcfg until it is attached to a VM. */
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hotplug.h"
#include "core/plugin.h"
#include "core/vm.h"
#include "lua/state.h"

#define DEVCFG_MT "moonvisor.plugin_devcfg"

struct devcfg_ud {
	struct mv_plugin_devcfg *c;  /* NULL once attached */
};

static int dispatch_ref = LUA_NOREF;
static int vms_ref = LUA_NOREF;      /* weak: lightuserdata(mv_vm) -> VM handle */

static int l_devcfg_gc(lua_State *L)
{
	struct devcfg_ud *u = luaL_checkudata(L, 1, DEVCFG_MT);

	devcfg__free(u->c);
	u->c = NULL;
	return 0;
}

/* A Lua value as a plugin value; false if its type cannot be one. */
static bool to_value(lua_State *L, int idx, struct mv_plugin_value *v)
{
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		*v = (struct mv_plugin_value){ .type = MV_PLUGIN_BOOL, .u.b = lua_toboolean(L, idx) };
		return true;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			*v = (struct mv_plugin_value){ .type = MV_PLUGIN_INT, .u.i = lua_tointeger(L, idx) };
		else
			*v = (struct mv_plugin_value){ .type = MV_PLUGIN_NUMBER, .u.n = lua_tonumber(L, idx) };
		return true;
	case LUA_TSTRING:
		*v = (struct mv_plugin_value){ .type = MV_PLUGIN_STRING, .u.s = lua_tostring(L, idx) };
		return true;
	case LUA_TNIL:
		*v = (struct mv_plugin_value){ .type = MV_PLUGIN_NIL };
		return true;
	}
	return false;
}

static void push_value(lua_State *L, const struct mv_plugin_value *v)
{
	switch (v->type) {
	case MV_PLUGIN_BOOL: lua_pushboolean(L, v->u.b); break;
	case MV_PLUGIN_INT: lua_pushinteger(L, (lua_Integer)v->u.i); break;
	case MV_PLUGIN_NUMBER: lua_pushnumber(L, v->u.n); break;
	case MV_PLUGIN_STRING: lua_pushstring(L, v->u.s ? v->u.s : ""); break;
	default: lua_pushnil(L); break;
	}
}

static const char *opt_field(lua_State *L, int t, const char *key)
{
	const char *s = NULL;

	if (lua_getfield(L, t, key) == LUA_TSTRING)
		s = lua_tostring(L, -1);
	lua_pop(L, 1);
	return s; /* anchored by the table */
}

/* Every key of t but plugin, type and id is an option. */
static int set_options(lua_State *L, int t, struct mv_plugin_devcfg *c, struct mv_err *err)
{
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		struct mv_plugin_value v;
		int ret;

		if (k && (!strcmp(k, "plugin") || !strcmp(k, "type") || !strcmp(k, "id"))) {
			lua_pop(L, 1);
			continue;
		}
		if (!k || !to_value(L, -1, &v)) {
			ret = err__set(err, -EINVAL, "option %s has a %s value: options are booleans, numbers or strings",
				       k ? k : "(not a string key)", luaL_typename(L, -1));
			lua_pop(L, 2);
			return ret;
		}
		ret = devcfg__set_opt(c, k, &v, err);
		lua_pop(L, 1);
		if (ret < 0) {
			lua_pop(L, 1);
			return ret;
		}
	}
	return 0;
}

static int fail(lua_State *L, const char *where, const struct mv_err *err)
{
	lua_pushnil(L);
	if (where && where[0])
		lua_pushfstring(L, "%s: %s", where, err->msg);
	else
		lua_pushstring(L, err->msg);
	return 2;
}

/* core.plugin_devcfg(t, where) -> devcfg | nil, message. t = { plugin =
 * PATH, type = NAME, id = ID, <options> } with plugin, type and id
 * already checked to be strings (lua/lib/plugin.lua). Loads the plugin. */
static int l_plugin_devcfg(lua_State *L)
{
	const char *path, *type, *id, *where = luaL_optstring(L, 2, "");
	const struct mv_plugin_type *t;
	struct mv_err err = { "" };
	struct mv_plugin *p;
	struct devcfg_ud *u;

	luaL_checktype(L, 1, LUA_TTABLE);
	path = opt_field(L, 1, "plugin");
	type = opt_field(L, 1, "type");
	id = opt_field(L, 1, "id");
	luaL_argcheck(L, path != NULL, 1, "plugin = PATH is required");
	u = lua_newuserdatauv(L, sizeof(*u), 0);
	u->c = NULL;
	luaL_setmetatable(L, DEVCFG_MT);
	if (!plugin__find(path) && mvlua__sandboxed() && access(path, F_OK) == 0) {
		err__set(&err, -EPERM, "plugin %s: loading code once the script's top level has run is not allowed "
			 "under seccomp: load it before (mv.load_plugin(path) or a devices = { ... } entry), "
			 "or run with --seccomp=off", path);
		return fail(L, where, &err);
	}
	if (plugin__load(path, &p, &err) < 0 || plugin__find_type(p, type, &t, &err) < 0 ||
	    devcfg__new(p, t, id, &u->c, &err) < 0 || set_options(L, 1, u->c, &err) < 0)
		return fail(L, where, &err);
	return 1;
}

/* core.plugin_load(path) -> name, version | nil, message */
static int l_plugin_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct mv_err err = { "" };
	struct mv_plugin *p;

	if (!plugin__find(path) && mvlua__sandboxed() && access(path, F_OK) == 0) {
		err__set(&err, -EPERM, "plugin %s: loading code once the script's top level has run is not allowed "
			 "under seccomp (--seccomp=off to allow)", path);
		return fail(L, NULL, &err);
	}
	if (plugin__load(path, &p, &err) < 0)
		return fail(L, NULL, &err);
	lua_pushstring(L, p->desc->name);
	lua_pushstring(L, p->desc->version ? p->desc->version : "");
	return 2;
}

static struct mv_plugin_set *vm_set(struct mv_vm *vm)
{
	if (!vm->plugins)
		vm->plugins = plugin_set__new();
	return vm->plugins;
}

static void remember_vm(lua_State *L, struct mv_vm *vm, int obj)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, vms_ref);
	lua_pushlightuserdata(L, vm);
	lua_pushvalue(L, obj);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* core.plugin_attach(vmhandle, { devcfg... }) -> true | nil, message:
 * the configured devices of mv.vm{} (created at each boot). */
static int l_plugin_attach(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	struct mv_plugin_set *s;
	struct mv_err err = { "" };

	luaL_checktype(L, 2, LUA_TTABLE);
	s = vm_set(vm);
	if (!s)
		return luaL_error(L, "out of memory");
	remember_vm(L, vm, 1);
	for (lua_Integer i = 1; lua_rawgeti(L, 2, i) == LUA_TUSERDATA; i++) {
		struct devcfg_ud *u = luaL_checkudata(L, -1, DEVCFG_MT);
		char where[32];

		lua_pop(L, 1);
		if (!u->c)
			return luaL_error(L, "devices[%d] is already attached", (int)i);
		if (plugin_set__add(s, u->c, &err) < 0) {
			snprintf(where, sizeof(where), "devices[%d]", (int)i);
			return fail(L, where, &err);
		}
		u->c = NULL;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* core.plugin_add(vmhandle, devcfg) -> id [, "0000:00:NN.0"] | nil,
 * message: a device added at runtime, created now if the VM runs, and at
 * every boot from then on. A device with a PCI function is hotplugged
 * (core/hotplug.h): its address comes second, and lua/lib/plugin.lua
 * waits for device_added. */
static int l_plugin_add(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	struct devcfg_ud *u = luaL_checkudata(L, 2, DEVCFG_MT);
	struct mv_plugin_set *s = vm_set(vm);
	struct mv_plugin_devcfg *c = u->c;
	struct mv_err err = { "" };
	char pci[32];
	int ret;

	if (!s)
		return luaL_error(L, "out of memory");
	luaL_argcheck(L, c != NULL, 2, "device already attached");
	remember_vm(L, vm, 1);
	c->runtime = true;
	if (plugin_set__add(s, c, &err) < 0)
		return fail(L, NULL, &err);
	u->c = NULL;
	ret = vm__add_plugin_device(vm, c, &err);
	if (ret < 0) {
		plugin_set__remove(s, c);
		return fail(L, NULL, &err);
	}
	lua_pushstring(L, c->id);
	if (ret == 0)
		return 1;
	snprintf(pci, sizeof(pci), "0000:00:%02x.0", (unsigned int)ret);
	lua_pushstring(L, pci);
	return 2;
}

static struct mv_plugin_devcfg *check_dev(lua_State *L, struct mv_vm *vm, int idx)
{
	const char *id = luaL_checkstring(L, idx);
	struct mv_plugin_devcfg *c = plugin_set__find(vm->plugins, id);

	if (!c)
		luaL_error(L, "vm '%s' has no plugin device '%s'", vm->cfg.name, id);
	return c;
}

/* core.plugin_call(vmhandle, id, method, args...) -> result | nil, message */
static int l_plugin_call(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);
	struct mv_plugin_devcfg *c = check_dev(L, vm, 2);
	const char *name = luaL_checkstring(L, 3);
	int nargs = lua_gettop(L) - 3;
	struct mv_plugin_value args[16], result;
	char msg[256];
	int ret;

	luaL_argcheck(L, nargs <= 16, 20, "at most 16 arguments");
	for (int i = 0; i < nargs; i++)
		if (!to_value(L, 4 + i, &args[i]))
			luaL_argerror(L, 4 + i, "booleans, numbers, strings or nil only");
	if (!c->live) {
		lua_pushnil(L);
		lua_pushfstring(L, "device '%s' is not running (vm '%s' is %s)", c->id, vm->cfg.name,
				vm__state_name(vm->state));
		return 2;
	}
	ret = plugin_dev__call(c->live, name, args, (unsigned int)nargs, &result, msg, sizeof(msg));
	if (ret == -ENOENT && !msg[0])
		return luaL_error(L, "device '%s' has no method '%s'", c->id, name);
	if (ret < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s:%s: %s", c->id, name, msg[0] ? msg : strerror(-ret));
		return 2;
	}
	push_value(L, &result);
	return 1;
}

static void add_name(void *opaque, const char *name)
{
	lua_State *L = opaque;

	lua_pushstring(L, name);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* core.plugin_devices(vmhandle) -> { {id, plugin, type, path, running, methods} } */
static int l_plugin_devices(lua_State *L)
{
	struct mv_vm *vm = mvlua__check_vm(L, 1);

	lua_newtable(L);
	for (struct mv_plugin_devcfg *c = vm->plugins ? vm->plugins->head : NULL; c; c = c->next) {
		lua_createtable(L, 0, 6);
		lua_pushstring(L, c->id);
		lua_setfield(L, -2, "id");
		lua_pushstring(L, c->plugin->desc->name);
		lua_setfield(L, -2, "plugin");
		lua_pushstring(L, c->type->name);
		lua_setfield(L, -2, "type");
		lua_pushstring(L, c->plugin->path);
		lua_setfield(L, -2, "path");
		lua_pushboolean(L, c->live != NULL);
		lua_setfield(L, -2, "running");
		lua_newtable(L);
		if (c->live)
			plugin_dev__methods(c->live, add_name, L);
		lua_setfield(L, -2, "methods");
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	}
	return 1;
}

/* Loop thread: a plugin emitted an event; dispatch(handle, "plugin:NAME", ev) */
static void on_event(struct mv_vm *vm, const char *device, const char *name, const struct mv_plugin_field *fields,
		     unsigned int n)
{
	lua_State *L = mvlua__active_state();

	if (!L || dispatch_ref == LUA_NOREF || vms_ref == LUA_NOREF)
		return;
	lua_rawgeti(L, LUA_REGISTRYINDEX, dispatch_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, vms_ref);
	lua_pushlightuserdata(L, vm);
	if (lua_rawget(L, -2) != LUA_TUSERDATA) {
		lua_pop(L, 3);
		return;
	}
	lua_remove(L, -2);
	lua_pushfstring(L, "plugin:%s", name);
	lua_createtable(L, 0, (int)n + 2);
	for (unsigned int i = 0; i < n; i++) {
		push_value(L, &fields[i].value);
		lua_setfield(L, -2, fields[i].key);
	}
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "event");
	lua_pushstring(L, device);
	lua_setfield(L, -2, "device");
	mvlua__pcall(L, 3, 0, "plugin event dispatch");
}

static int l_plugin_set_dispatch(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_pushvalue(L, 1);
	if (dispatch_ref != LUA_NOREF)
		luaL_unref(L, LUA_REGISTRYINDEX, dispatch_ref);
	dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

void mvlua__register_plugin(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "plugin_devcfg", l_plugin_devcfg }, { "plugin_load", l_plugin_load },
		{ "plugin_attach", l_plugin_attach }, { "plugin_add", l_plugin_add },
		{ "plugin_call", l_plugin_call }, { "plugin_devices", l_plugin_devices },
		{ "plugin_set_dispatch", l_plugin_set_dispatch }, { NULL, NULL },
	};

	if (luaL_newmetatable(L, DEVCFG_MT)) {
		lua_pushcfunction(L, l_devcfg_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	if (vms_ref == LUA_NOREF) {
		lua_newtable(L);
		lua_createtable(L, 0, 1);
		lua_pushstring(L, "v");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		vms_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	plugin__set_event_sink(on_event);
	luaL_setfuncs(L, fns, 0);
}
