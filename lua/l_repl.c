/* A REPL session seen from C: the front ends (terminal, control socket)
 * hand lines to a Lua session of lua/lib/repl.lua and get its output back
 * through C closures. The closures reach the front end through a small
 * userdata "link" that is cut when the front end closes, so a task that
 * prints after its client went away writes nowhere. */
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "lua/repl.h"
#include "lua/state.h"

struct repl_link {
	struct mv_repl_front *f; /* NULL once the front end closed */
};

static struct mv_repl_front *front_of(lua_State *L)
{
	struct repl_link *k = lua_touserdata(L, lua_upvalueindex(1));

	return k ? k->f : NULL;
}

static int l_write(lua_State *L)
{
	struct mv_repl_front *f = front_of(L);
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);

	if (f)
		f->ops->output(f, false, s, len);
	return 0;
}

static int l_write_err(lua_State *L)
{
	struct mv_repl_front *f = front_of(L);
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);

	if (f)
		f->ops->output(f, true, s, len);
	return 0;
}

static int l_ready(lua_State *L)
{
	struct mv_repl_front *f = front_of(L);
	const char *prompt = luaL_checkstring(L, 1);

	if (f)
		f->ops->ready(f, prompt);
	return 0;
}

static int l_done(lua_State *L)
{
	struct mv_repl_front *f = front_of(L);

	if (f)
		f->ops->done(f, lua_toboolean(L, 1));
	return 0;
}

/* Pushes repl.session{...} arguments: the options table with closures. */
static void push_options(lua_State *L, struct mv_repl_front *f, bool global_print)
{
	static const luaL_Reg fns[] = {
		{ "write", l_write }, { "write_err", l_write_err }, { "ready", l_ready }, { "done", l_done },
		{ NULL, NULL },
	};
	struct repl_link *k;

	lua_createtable(L, 0, 5);
	k = lua_newuserdatauv(L, sizeof(*k), 0);
	k->f = f;
	f->link = k;
	luaL_setfuncs(L, fns, 1); /* each closure gets the link as upvalue */
	lua_pushboolean(L, global_print);
	lua_setfield(L, -2, "global_print");
}

int repl__front_open(struct mv_repl_front *f, const struct mv_repl_front_ops *ops, bool global_print)
{
	lua_State *L = mvlua__active_state();
	int top;

	f->ops = ops;
	f->session_ref = LUA_NOREF;
	f->link = NULL;
	if (!L)
		return -EINVAL;
	top = lua_gettop(L);
	lua_getglobal(L, "require");
	lua_pushliteral(L, "moonvisor.repl");
	if (!mvlua__pcall(L, 1, 1, "repl"))
		return -EINVAL;
	lua_getfield(L, -1, "session");
	push_options(L, f, global_print);
	if (!mvlua__pcall(L, 1, 1, "repl session")) {
		f->link->f = NULL;
		f->link = NULL;
		lua_settop(L, top);
		return -EINVAL;
	}
	f->session_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, top);
	return 0;
}

/* Pushes session.method and session; NULL if there is no session. */
static lua_State *push_method(struct mv_repl_front *f, const char *method)
{
	lua_State *L = mvlua__active_state();

	if (!L || f->session_ref == LUA_NOREF)
		return NULL;
	lua_rawgeti(L, LUA_REGISTRYINDEX, f->session_ref);
	lua_getfield(L, -1, method);
	lua_insert(L, -2);
	return L;
}

bool repl__front_feed(struct mv_repl_front *f, const char *line, size_t len)
{
	lua_State *L = push_method(f, "feed");
	bool quit = false;

	if (!L)
		return false;
	lua_pushlstring(L, line, len);
	if (mvlua__pcall(L, 2, 1, "repl")) {
		const char *r = lua_tostring(L, -1);
		quit = r && strcmp(r, "quit") == 0;
		lua_pop(L, 1);
	}
	return quit;
}

void repl__front_interrupt(struct mv_repl_front *f)
{
	lua_State *L = push_method(f, "interrupt");

	if (L)
		mvlua__pcall(L, 1, 0, "repl interrupt");
}

char **repl__front_complete(struct mv_repl_front *f, const char *text)
{
	lua_State *L = push_method(f, "complete");
	char **out;
	size_t n, k = 0;

	if (!L)
		return NULL;
	lua_pushstring(L, text);
	if (!mvlua__pcall(L, 2, 1, "repl completion"))
		return NULL;
	n = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 1; out && i <= n; i++) {
		if (lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TSTRING && (out[k] = strdup(lua_tostring(L, -1))))
			k++;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return out;
}

void repl__front_close(struct mv_repl_front *f)
{
	lua_State *L;

	if (f->link)
		f->link->f = NULL;
	f->link = NULL;
	L = push_method(f, "close");
	if (!L)
		return;
	mvlua__pcall(L, 1, 0, "repl close");
	luaL_unref(L, LUA_REGISTRYINDEX, f->session_ref);
	f->session_ref = LUA_NOREF;
}

void repl__free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}
