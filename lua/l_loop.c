/* core.timer, core.run_once, core.now, core.resume: the event loop as Lua
 * sees it. Every entry into Lua from the loop goes through mvlua__pcall or
 * core.resume, which run under the CPU budget (lua/state.c). */
#include <lauxlib.h>
#include <stdbool.h>
#include <string.h>

#include "core/log.h"
#include "lua/state.h"

#define TIMER_MT "moonvisor.Timer"

struct timer {
	ev_timer w;
	lua_State *L;
	int fn_ref;     /* callback; LUA_NOREF once cancelled */
	int self_ref;   /* anchors the userdata while armed */
};

static void timer_release(lua_State *L, struct timer *t)
{
	struct mv_loop *loop = mvlua__loop();

	if (ev_is_active(&t->w)) {
		ev_ref(loop->ev);
		ev_timer_stop(loop->ev, &t->w);
	}
	luaL_unref(L, LUA_REGISTRYINDEX, t->fn_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, t->self_ref);
	t->fn_ref = t->self_ref = LUA_NOREF;
}

static void timer_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct timer *t = w->data;
	lua_State *L = mvlua__active_state();
	int self_ref = t->self_ref;

	/* libev stopped a one-shot timer before calling this, and its stop
	 * dropped a loop reference that l_timer's ev_unref had already given
	 * up: take it back. Unbalanced, the count ev_run sees drifts, and
	 * when it sits at 0 the loop polls with a zero timeout (a busy
	 * main thread that competes with the vCPUs). */
	if (!ev_is_active(w))
		ev_ref(ev);
	if (!L || t->fn_ref == LUA_NOREF)
		return;
	/* keep the userdata alive while its callback runs */
	lua_rawgeti(L, LUA_REGISTRYINDEX, self_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
	if (w->repeat == 0.0)
		timer_release(L, t); /* one-shot: unanchored after firing */
	mvlua__pcall(L, 0, 0, "timer callback");
	lua_pop(L, 1);
}

/* core.timer(after, repeat, fn) -> timer */
static int l_timer(lua_State *L)
{
	lua_Number after = luaL_checknumber(L, 1), repeat = luaL_checknumber(L, 2);
	struct mv_loop *loop = mvlua__loop();
	struct timer *t;

	luaL_argcheck(L, after >= 0, 1, "must be >= 0 seconds");
	luaL_argcheck(L, repeat >= 0, 2, "must be >= 0 seconds");
	luaL_checktype(L, 3, LUA_TFUNCTION);
	t = lua_newuserdatauv(L, sizeof(*t), 0);
	memset(t, 0, sizeof(*t));
	t->fn_ref = t->self_ref = LUA_NOREF;
	luaL_setmetatable(L, TIMER_MT);
	lua_pushvalue(L, 3);
	t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, -1);
	t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	ev_timer_init(&t->w, timer_cb, after, repeat);
	t->w.data = t;
	ev_timer_start(loop->ev, &t->w);
	ev_unref(loop->ev); /* timers alone do not keep moonvisor running */
	return 1;
}

static int l_timer_cancel(lua_State *L)
{
	struct timer *t = luaL_checkudata(L, 1, TIMER_MT);
	bool was_active = t->fn_ref != LUA_NOREF;

	timer_release(L, t);
	lua_pushboolean(L, was_active);
	return 1;
}

static int l_timer_active(lua_State *L)
{
	struct timer *t = luaL_checkudata(L, 1, TIMER_MT);

	lua_pushboolean(L, t->fn_ref != LUA_NOREF);
	return 1;
}

static int l_timer_gc(lua_State *L)
{
	struct timer *t = luaL_checkudata(L, 1, TIMER_MT);

	/* only collectable once cancelled or fired (or at exit) */
	if (ev_is_active(&t->w)) {
		struct mv_loop *loop = mvlua__loop();
		ev_ref(loop->ev);
		ev_timer_stop(loop->ev, &t->w);
	}
	return 0;
}

/* core.run_once(): blocks until the loop has handled at least one event. */
static int l_run_once(lua_State *L)
{
	struct mv_loop *loop = mvlua__loop();

	mvlua__sandbox_check(L);
	mvlua__set_active_state(L);
	loop__drain(loop);
	ev_ref(loop->ev);
	ev_run(loop->ev, EVRUN_ONCE);
	ev_unref(loop->ev);
	mvlua__set_active_state(L);
	return 0;
}

static int l_now(lua_State *L)
{
	lua_pushnumber(L, ev_now(mvlua__loop()->ev));
	return 1;
}

/* core.resume(co, ...) -> like coroutine.resume, under the CPU budget. */
static int l_resume(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);
	int nargs = lua_gettop(L) - 1, nres, status;

	luaL_argcheck(L, co, 1, "coroutine expected");
	if (!lua_checkstack(co, nargs))
		return luaL_error(L, "too many arguments to resume");
	lua_xmove(L, co, nargs);
	status = mvlua__resume(co, L, nargs, &nres);
	if (status == LUA_OK || status == LUA_YIELD) {
		if (!lua_checkstack(L, nres + 1))
			return luaL_error(L, "too many results to resume");
		lua_pushboolean(L, 1);
		lua_xmove(co, L, nres);
		return nres + 1;
	}
	lua_pushboolean(L, 0);
	lua_xmove(co, L, 1);
	return 2;
}

static int l_set_budget(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);

	luaL_argcheck(L, s > 0, 1, "budget must be > 0 seconds");
	mvlua__set_budget(s);
	return 0;
}

static int l_get_budget(lua_State *L)
{
	lua_pushnumber(L, mvlua__budget());
	return 1;
}

void mvlua__register_loop(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "timer", l_timer }, { "run_once", l_run_once }, { "now", l_now }, { "resume", l_resume },
		{ "set_budget", l_set_budget }, { "get_budget", l_get_budget },
		{ "sandbox", mvlua__sandbox_hook }, { NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "cancel", l_timer_cancel }, { "active", l_timer_active }, { NULL, NULL },
	};

	if (luaL_newmetatable(L, TIMER_MT)) {
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_timer_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
}
