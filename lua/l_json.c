#include "lua/json.h"

#include <lauxlib.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_MT "moonvisor.json.array"

static int push_at(lua_State *L, json_t *v, int depth);

static int push_object(lua_State *L, json_t *v, int depth)
{
	const char *key;
	json_t *val;

	lua_createtable(L, 0, (int)json_object_size(v));
	json_object_foreach(v, key, val) {
		if (json_is_null(val))
			continue;
		if (push_at(L, val, depth + 1) < 0) {
			lua_pop(L, 1);
			return -E2BIG;
		}
		lua_setfield(L, -2, key);
	}
	return 0;
}

static int push_array(lua_State *L, json_t *v, int depth)
{
	size_t i;
	json_t *val;

	lua_createtable(L, (int)json_array_size(v), 0);
	luaL_setmetatable(L, ARRAY_MT);
	json_array_foreach(v, i, val) {
		if (push_at(L, val, depth + 1) < 0) {
			lua_pop(L, 1);
			return -E2BIG;
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 0;
}

static int push_at(lua_State *L, json_t *v, int depth)
{
	if (depth > MV_JSON_MAX_DEPTH || !lua_checkstack(L, 4))
		return -E2BIG;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return push_object(L, v, depth);
	case JSON_ARRAY:
		return push_array(L, v, depth);
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		return 0;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(v));
		return 0;
	case JSON_NULL:
		lua_pushlightuserdata(L, NULL);
		return 0;
	}
	return -EINVAL;
}

int mvlua__json_push(lua_State *L, json_t *v)
{
	return push_at(L, v, 1);
}

static json_t *from_at(lua_State *L, int idx, int depth, char *why, size_t size);

/* A table is an array if marked so, or if it is non-empty and its keys are
 * exactly 1..n. */
static bool is_array(lua_State *L, int idx, lua_Integer *n)
{
	lua_Integer count = 0;
	bool marked = false;

	if (lua_getmetatable(L, idx)) {
		luaL_getmetatable(L, ARRAY_MT);
		marked = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	*n = (lua_Integer)lua_rawlen(L, idx);
	if (marked)
		return true;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
	}
	return count > 0 && count == *n;
}

static json_t *from_table(lua_State *L, int idx, int depth, char *why, size_t size)
{
	lua_Integer n;
	json_t *out;

	if (is_array(L, idx, &n)) {
		out = json_array();
		for (lua_Integer i = 1; out && i <= n; i++) {
			json_t *item;
			lua_rawgeti(L, idx, i);
			item = from_at(L, lua_gettop(L), depth + 1, why, size);
			lua_pop(L, 1);
			if (!item || json_array_append_new(out, item) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	out = json_object();
	lua_pushnil(L);
	while (out && lua_next(L, idx)) {
		json_t *item;
		if (lua_type(L, -2) != LUA_TSTRING) {
			snprintf(why, size, "a table with a %s key cannot be a JSON object", luaL_typename(L, -2));
			lua_pop(L, 2);
			json_decref(out);
			return NULL;
		}
		item = from_at(L, lua_gettop(L), depth + 1, why, size);
		if (!item || json_object_setn_new(out, lua_tostring(L, -2), lua_rawlen(L, -2), item) < 0) {
			if (item)
				snprintf(why, size, "object key is not valid UTF-8");
			lua_pop(L, 2);
			json_decref(out);
			return NULL;
		}
		lua_pop(L, 1);
	}
	return out;
}

static json_t *from_number(lua_State *L, int idx, char *why, size_t size)
{
	lua_Number d;

	if (lua_isinteger(L, idx))
		return json_integer((json_int_t)lua_tointeger(L, idx));
	d = lua_tonumber(L, idx);
	if (!isfinite(d)) {
		snprintf(why, size, "%s is not a JSON number", d != d ? "nan" : "inf");
		return NULL;
	}
	return json_real(d);
}

static json_t *from_at(lua_State *L, int idx, int depth, char *why, size_t size)
{
	json_t *v;
	size_t len;
	const char *s;

	if (depth > MV_JSON_MAX_DEPTH || !lua_checkstack(L, 4)) {
		snprintf(why, size, "nested deeper than %d levels", MV_JSON_MAX_DEPTH);
		return NULL;
	}
	switch (lua_type(L, idx)) {
	case LUA_TTABLE:
		return from_table(L, idx, depth, why, size);
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		v = json_stringn(s, len);
		if (!v)
			snprintf(why, size, "string is not valid UTF-8");
		return v;
	case LUA_TNUMBER:
		return from_number(L, idx, why, size);
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNIL:
		return json_null();
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx))
			return json_null();
		/* fall through */
	default:
		snprintf(why, size, "a %s has no JSON form", luaL_typename(L, idx));
		return NULL;
	}
}

json_t *mvlua__json_from(lua_State *L, int idx, char *why, size_t size)
{
	return from_at(L, lua_absindex(L, idx), 1, why, size);
}

/* core.json_decode(s) -> value | nil, "JSON: <why> at line L column C" */
static int l_json_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	json_error_t jerr;
	json_t *v = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	int ret;

	if (!v) {
		lua_pushnil(L);
		lua_pushfstring(L, "invalid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
		return 2;
	}
	ret = mvlua__json_push(L, v);
	json_decref(v);
	if (ret < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "invalid JSON: nested deeper than %d levels", MV_JSON_MAX_DEPTH);
		return 2;
	}
	return 1;
}

/* core.json_encode(v [, pretty]) -> string; raises on values with no JSON
 * form. Keys are sorted, so output is stable. */
static int l_json_encode(lua_State *L)
{
	char why[128] = "";
	size_t flags = JSON_ENCODE_ANY | JSON_SORT_KEYS | (lua_toboolean(L, 2) ? JSON_INDENT(2) : JSON_COMPACT);
	json_t *v;
	char *s;

	luaL_checkany(L, 1);
	v = mvlua__json_from(L, 1, why, sizeof(why));
	if (!v)
		return luaL_error(L, "json encode: %s", why);
	s = json_dumps(v, flags);
	json_decref(v);
	if (!s)
		return luaL_error(L, "json encode: out of memory");
	lua_pushstring(L, s);
	free(s);
	return 1;
}

/* core.json_array(t) -> t marked as an array (encodes as [] when empty). */
static int l_json_array(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		lua_newtable(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	luaL_setmetatable(L, ARRAY_MT);
	return 1;
}

void mvlua__register_json(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "json_decode", l_json_decode }, { "json_encode", l_json_encode }, { "json_array", l_json_array },
		{ NULL, NULL },
	};

	luaL_newmetatable(L, ARRAY_MT);
	lua_pushliteral(L, "json array");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "json_null");
}
