#include "lua/state.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/size.h"
#include "core/vm.h"
#include "core/x86/boot.h"
#include "lua/embedded.h"

static struct mv_loop the_loop;
static int loop_ready;

struct mv_loop *mvlua__loop(void)
{
	if (!loop_ready) {
		if (loop__init(&the_loop) < 0)
			return NULL;
		loop_ready = 1;
	}
	return &the_loop;
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int mvlua__pcall(lua_State *L, int nargs, int nresults, const char *what)
{
	int base = lua_gettop(L) - nargs;
	int ret;

	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	ret = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	if (ret != LUA_OK) {
		pr_err("%s: %s", what, lua_tostring(L, -1));
		lua_pop(L, 1);
		return 0;
	}
	return 1;
}

static int l_parse_size(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	uint64_t v;

	if (size__parse(s, &v) < 0 || v > (uint64_t)LUA_MAXINTEGER) {
		lua_pushnil(L);
		lua_pushfstring(L, "'%s' is not a size (use a number of bytes or a string like \"512M\", \"1G\")", s);
		return 2;
	}
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

static int l_probe_kernel(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct mv_kernel_info info;
	struct mv_err err = { "" };

	if (boot__probe_kernel(path, &info, &err) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, err.msg);
		return 2;
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, info.format == MV_KERNEL_BZIMAGE ? "bzImage" : "elf");
	lua_setfield(L, -2, "format");
	lua_pushinteger(L, (lua_Integer)info.file_size);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, info.cmdline_size);
	lua_setfield(L, -2, "cmdline_size");
	return 1;
}

static int l_set_log_level(lua_State *L)
{
	static const char *const names[] = { "error", "warn", "info", "debug", NULL };

	log__set_level((enum mv_log_level)luaL_checkoption(L, 1, NULL, names));
	return 0;
}

void mvlua__preload(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (const struct mv_lua_embedded *e = mv_lua_embedded; e->name; e++) {
		char chunkname[96], modname[80];
		snprintf(chunkname, sizeof(chunkname), "=[moonvisor.%s]", e->name);
		snprintf(modname, sizeof(modname), "moonvisor.%s", e->name);
		if (luaL_loadbuffer(L, (const char *)e->src, *e->len, chunkname) != LUA_OK)
			lua_error(L);
		lua_setfield(L, -2, modname);
	}
	lua_pop(L, 1);
}

int mvlua__open(lua_State *L)
{
	static const luaL_Reg core_fns[] = {
		{ "parse_size", l_parse_size },
		{ "probe_kernel", l_probe_kernel },
		{ "set_log_level", l_set_log_level },
		{ NULL, NULL },
	};

	if (!mvlua__loop())
		return luaL_error(L, "moonvisor: cannot create the event loop");
	mvlua__preload(L);
	lua_getglobal(L, "require");
	lua_pushstring(L, "moonvisor.api");
	lua_call(L, 1, 1); /* the api chunk returns a function(core) */
	luaL_newlib(L, core_fns);
	mvlua__register_vm(L);
	lua_pushstring(L, MV_VERSION);
	lua_setfield(L, -2, "version");
	lua_call(L, 1, 1);
	return 1;
}
