/* The loop thread's seccomp filter and what Lua sees of it: before the
 * event loop first runs (the script's top level has ended or is waiting
 * for the first time), the Lua functions that would make a forbidden
 * system call are replaced by ones that raise a clear error, then the
 * loop filter is installed (core/seccomp.c). Nothing happens with
 * --seccomp=off or in the Lua module loaded by plain lua5.4. */
#include <lauxlib.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/seccomp.h"
#include "lua/state.h"

#define HINT "is not allowed under seccomp (--seccomp=off to allow)"

static bool entered;
static char failure[sizeof(((struct mv_err *)0)->msg)];

static int l_refused(lua_State *L)
{
	return luaL_error(L, "%s " HINT, lua_tostring(L, lua_upvalueindex(1)));
}

/* t[field] = a function raising "<what> is not allowed ..." */
static void refuse(lua_State *L, const char *lib, const char *field, const char *what)
{
	if (lua_getglobal(L, lib) != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	lua_pushstring(L, what);
	lua_pushcclosure(L, l_refused, 1);
	lua_setfield(L, -2, field);
	lua_pop(L, 1);
}

/* package.searchers[3] and [4] (C libraries): a module found on
 * package.cpath cannot be loaded (mapping its code needs PROT_EXEC). */
static int l_c_searcher(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);

	lua_getglobal(L, "package");
	lua_getfield(L, -1, "searchpath");
	lua_pushstring(L, name);
	lua_getfield(L, -3, "cpath");
	lua_call(L, 2, 2);
	if (lua_isnil(L, -2))
		return 1; /* the "no file ..." list */
	return luaL_error(L, "C module '%s' (%s): loading C code " HINT, name, lua_tostring(L, -2));
}

static void refuse_c_modules(lua_State *L)
{
	if (lua_getglobal(L, "package") != LUA_TTABLE || lua_getfield(L, -1, "searchers") != LUA_TTABLE) {
		lua_pop(L, 2);
		return;
	}
	for (int i = 3; i <= 4; i++) {
		lua_pushcfunction(L, l_c_searcher);
		lua_rawseti(L, -2, i);
	}
	lua_pop(L, 2);
	refuse(L, "package", "loadlib", "package.loadlib");
}

int mvlua__sandbox_enter(lua_State *L)
{
	struct mv_err err;

	if (entered)
		return 0;
	entered = true;
	if (seccomp__mode() != MV_SECCOMP_OFF) {
		refuse(L, "os", "execute", "os.execute");
		refuse(L, "io", "popen", "io.popen");
		refuse_c_modules(L);
	}
	if (seccomp__enter(MV_SECCOMP_LOOP, "loop", &err) < 0)
		return luaL_error(L, "%s", err.msg);
	seccomp__test_violation("loop");
	return 0;
}

int mvlua__sandboxed(void)
{
	return entered && seccomp__mode() != MV_SECCOMP_OFF;
}

int mvlua__sandbox_hook(lua_State *L)
{
	lua_pushcfunction(L, mvlua__sandbox_enter);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		snprintf(failure, sizeof(failure), "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	return 0;
}

void mvlua__sandbox_check(lua_State *L)
{
	if (failure[0])
		luaL_error(L, "%s", failure);
}
