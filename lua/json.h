/* JSON <-> Lua values over jansson, for the REST API (lua/l_api_server.c,
 * lua/lib/restapi.lua) and mv.json. Objects become tables with string keys,
 * arrays tables 1..n marked with the array metatable (so an empty array
 * stays an array), integers Lua integers, reals floats, null a sentinel
 * (mv.json.null; a null member of an object is left out). Loop thread. */
#ifndef MV_LUA_JSON_H
#define MV_LUA_JSON_H

#include <jansson.h>
#include <lua.h>

#define MV_JSON_MAX_DEPTH 64

/* Pushes v as a Lua value; 0, or -E2BIG past MV_JSON_MAX_DEPTH levels
 * (nothing pushed). */
int mvlua__json_push(lua_State *L, json_t *v);
/* The Lua value at idx as JSON (new reference), or NULL with a message in
 * why (a function, a table with mixed keys, NaN, too deep, ...). */
json_t *mvlua__json_from(lua_State *L, int idx, char *why, size_t size);
/* core.json_decode, core.json_encode, core.json_null, core.json_array. */
void mvlua__register_json(lua_State *L);

#endif
