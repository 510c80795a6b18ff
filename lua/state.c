#include "lua/state.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/size.h"
#include "core/vm.h"
#include "core/x86/boot.h"
#include "lua/api_server.h"
#include "lua/embedded.h"
#include "lua/json.h"

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

/* ---- CPU budget --------------------------------------------------------- */

#define BUDGET_CHECK_EVERY 10000 /* VM instructions between clock reads */

static double budget_s = 1.0;
static int budget_depth;
static double budget_start;
static int budget_tripped;
static lua_State *active_L;

lua_State *mvlua__active_state(void)
{
	return active_L;
}

void mvlua__set_active_state(lua_State *L)
{
	active_L = L;
}

void mvlua__set_budget(double seconds)
{
	budget_s = seconds;
}

double mvlua__budget(void)
{
	return budget_s;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Once tripped, raises again every few instructions until the outermost
 * entry returns, so a pcall inside the callback cannot swallow it. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	if (!budget_tripped && cpu_seconds() - budget_start > budget_s)
		budget_tripped = 1;
	if (budget_tripped) {
		char msg[128];
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, 100);
		snprintf(msg, sizeof(msg), "interrupted: ran longer than the %.3g s CPU budget for a callback or task step",
			 budget_s);
		luaL_error(L, "%s", msg);
	}
}

struct hook_state {
	lua_Hook hook;
	int mask, count;
};

static void budget_enter(lua_State *L, struct hook_state *saved)
{
	saved->hook = lua_gethook(L);
	saved->mask = lua_gethookmask(L);
	saved->count = lua_gethookcount(L);
	if (budget_depth++ == 0) {
		budget_start = cpu_seconds();
		budget_tripped = 0;
	}
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, budget_tripped ? 100 : BUDGET_CHECK_EVERY);
}

static void budget_leave(lua_State *L, const struct hook_state *saved)
{
	if (--budget_depth == 0)
		budget_tripped = 0;
	lua_sethook(L, saved->hook, saved->mask, saved->count);
}

/* pcall, xpcall and coroutine.resume re-raise once the budget has tripped,
 * so the interruption reaches the loop whatever the callback does. */
static int rethrow_if_tripped(lua_State *L, int status, int nres)
{
	(void)status;
	if (budget_tripped && lua_toboolean(L, -nres) == 0)
		return lua_error(L); /* the error value is on top */
	return nres;
}

static int guarded_call(lua_State *L)
{
	int base = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, base, LUA_MULTRET);
	return rethrow_if_tripped(L, 0, lua_gettop(L));
}

static void guard(lua_State *L, int table, const char *name)
{
	table = lua_absindex(L, table);
	lua_getfield(L, table, name);
	if (lua_tocfunction(L, -1) == guarded_call) {
		lua_pop(L, 1);
		return;
	}
	lua_pushcclosure(L, guarded_call, 1);
	lua_setfield(L, table, name);
}

static void guard_protected_calls(lua_State *L)
{
	lua_pushglobaltable(L);
	guard(L, -1, "pcall");
	guard(L, -1, "xpcall");
	lua_pop(L, 1);
	if (lua_getglobal(L, "coroutine") == LUA_TTABLE)
		guard(L, -1, "resume");
	lua_pop(L, 1);
}

int mvlua__resume(lua_State *co, lua_State *from, int nargs, int *nres)
{
	struct hook_state saved;
	lua_State *prev = active_L;
	int status;

	budget_enter(co, &saved);
	active_L = co;
	status = lua_resume(co, from, nargs, nres);
	active_L = prev;
	budget_leave(co, &saved);
	return status;
}

int mvlua__pcall(lua_State *L, int nargs, int nresults, const char *what)
{
	int base = lua_gettop(L) - nargs;
	struct hook_state saved;
	lua_State *prev = active_L;
	int ret;

	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	budget_enter(L, &saved);
	active_L = L;
	ret = lua_pcall(L, nargs, nresults, base);
	active_L = prev;
	budget_leave(L, &saved);
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
	if (!active_L)
		active_L = L;
	guard_protected_calls(L);
	mvlua__preload(L);
	lua_getglobal(L, "require");
	lua_pushstring(L, "moonvisor.api");
	lua_call(L, 1, 1); /* the api chunk returns a function(core) */
	luaL_newlib(L, core_fns);
	mvlua__register_vm(L);
	mvlua__register_loop(L);
	mvlua__register_plugin(L);
	mvlua__register_json(L);
	mvlua__register_api_server(L);
	lua_pushstring(L, MV_VERSION);
	lua_setfield(L, -2, "version");
	lua_call(L, 1, 1);
	return 1;
}
