/* The Lua timers' bookkeeping with libev (lua/l_loop.c): a timer holds no
 * reference on the loop (ev_unref after start), so that an armed timer
 * alone does not keep the loop alive. A one-shot timer that fired must
 * give that back exactly: libev's own stop drops one more reference, and
 * a loop whose count sits at 0 polls with a zero timeout, a main thread
 * spinning beside the vCPUs (found by the virtio-net benchmark). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ev.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>

#include "lua/state.h"

/* One Lua state for the whole run, as in moonvisor: the loop and its
 * timers belong to the process, and callbacks run on the state that
 * opened the module. */
static int open_mv(void **state)
{
	lua_State *L = luaL_newstate();

	luaL_openlibs(L);
	luaL_requiref(L, "moonvisor", mvlua__open, 0);
	lua_setglobal(L, "mv");
	*state = L;
	return 0;
}

static int close_mv(void **state)
{
	lua_close(*state);
	return 0;
}

static void run_lua(lua_State *L, const char *code)
{
	if (luaL_dostring(L, code) != LUA_OK)
		fail_msg("%s", lua_tostring(L, -1));
}

static int global_true(lua_State *L, const char *name)
{
	int v;

	lua_getglobal(L, name);
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* What core.run_once does (lua/l_loop.c), until the global `name` is true
 * (a blocking loop needs a few passes, a spinning one a great many: the
 * bound only keeps a broken loop from running forever); returns the loop
 * iterations it took. */
static unsigned int run_until(lua_State *L, struct ev_loop *ev, const char *name)
{
	unsigned int start = ev_iteration(ev);

	for (long i = 0; i < 10000000 && !global_true(L, name); i++) {
		ev_ref(ev);
		ev_run(ev, EVRUN_ONCE);
		ev_unref(ev);
	}
	assert_true(global_true(L, name));
	return ev_iteration(ev) - start;
}

/* A 50 ms wait must block: a loop whose reference count ran short polls
 * with a zero timeout and spins through hundreds of iterations. */
static void expect_blocking_wait(lua_State *L, struct ev_loop *ev, const char *flag)
{
	char code[96];
	unsigned int n;

	snprintf(code, sizeof(code), "mv.after(0.05, function() %s = true end)", flag);
	run_lua(L, code);
	n = run_until(L, ev, flag);
	if (n > 20)
		fail_msg("waiting 50 ms for %s took %u loop iterations: the loop did not block", flag, n);
}

/* Each wait fires one more one-shot timer; a count that lost one reference
 * per fired timer reaches 0 after as many as it held, and spins there. */
static void test_fired_one_shot_timers_keep_the_loop_blocking(void **state)
{
	lua_State *L = *state;
	struct ev_loop *ev = mvlua__loop()->ev;
	char flag[8];

	for (int i = 0; i < 6; i++) {
		snprintf(flag, sizeof(flag), "f%d", i);
		expect_blocking_wait(L, ev, flag);
	}
	run_lua(L, "for i = 1, 3 do mv.after(0.001 * i, function() n = (n or 0) + 1; b = n == 3 end) end");
	run_until(L, ev, "b");
	expect_blocking_wait(L, ev, "c");
}

static void test_cancelled_and_repeating_timers_keep_the_loop_blocking(void **state)
{
	lua_State *L = *state;
	struct ev_loop *ev = mvlua__loop()->ev;

	run_lua(L, "local t = mv.after(10, function() end); t:cancel()");
	expect_blocking_wait(L, ev, "g1");
	run_lua(L, "k = 0; r = mv.every(0.001, function() k = k + 1; g2 = k >= 3 end)");
	run_until(L, ev, "g2");
	run_lua(L, "r:cancel()");
	expect_blocking_wait(L, ev, "g3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fired_one_shot_timers_keep_the_loop_blocking),
		cmocka_unit_test(test_cancelled_and_repeating_timers_keep_the_loop_blocking),
	};

	return cmocka_run_group_tests(tests, open_mv, close_mv);
}
