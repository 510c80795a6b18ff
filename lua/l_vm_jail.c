/* mv.vm{ jail = ... }: the validated table (lua/lib/jail_config.lua) as
 * a struct mv_jail_config for the core (core/jail.h). */
#include "lua/l_vm_jail.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

static char *dup_field(lua_State *L, int t, const char *key, bool *oom)
{
	char *s = NULL;

	if (lua_getfield(L, t, key) == LUA_TSTRING && !(s = strdup(lua_tostring(L, -1))))
		*oom = true;
	lua_pop(L, 1);
	return s;
}

static uint32_t id_field(lua_State *L, int t, const char *key)
{
	lua_Integer v;

	lua_getfield(L, t, key);
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return (uint32_t)v;
}

/* rlimits = { { name = "nofile", value = N | -1 }, ... } */
static void read_rlimits(lua_State *L, int t, struct mv_jail_config *j)
{
	if (lua_getfield(L, t, "rlimits") != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	for (lua_Integer i = 1; j->nrlimits < MV_JAIL_MAX_RLIMITS; i++) {
		struct mv_jail_rlimit *r = &j->rlimits[j->nrlimits];
		lua_Integer v;

		if (lua_rawgeti(L, -1, i) != LUA_TTABLE) {
			lua_pop(L, 1);
			break;
		}
		lua_getfield(L, -1, "name");
		r->resource = jail__rlimit_resource(lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
		lua_getfield(L, -2, "value");
		v = lua_tointeger(L, -1);
		r->value = v < 0 ? MV_JAIL_RLIM_INFINITY : (uint64_t)v;
		lua_pop(L, 3);
		if (r->resource >= 0)
			j->nrlimits++;
	}
	lua_pop(L, 1);
}

struct mv_jail_config *mvlua__read_jail(lua_State *L, int t)
{
	struct mv_jail_config *j;
	bool oom = false;
	int jt;

	if (lua_getfield(L, t, "jail") != LUA_TTABLE) {
		lua_pop(L, 1);
		return NULL;
	}
	jt = lua_gettop(L);
	j = calloc(1, sizeof(*j));
	if (!j)
		luaL_error(L, "out of memory reading jail");
	j->root = dup_field(L, jt, "chroot", &oom);
	j->netns = dup_field(L, jt, "netns", &oom);
	j->cgroup = dup_field(L, jt, "cgroup", &oom);
	j->uid = id_field(L, jt, "uid");
	j->gid = id_field(L, jt, "gid");
	read_rlimits(L, jt, j);
	lua_pop(L, 1);
	if (oom || !j->root) {
		jail__config_free(j);
		luaL_error(L, "out of memory reading jail");
	}
	return j;
}
