/* Reading a configuration table that lua/lib/config.lua has validated and
 * normalized into the C records (loop thread). A missing or mistyped field
 * reads as the default: the validator has already refused what is wrong. */
#ifndef MV_LUA_CFGREAD_H
#define MV_LUA_CFGREAD_H

#include <lua.h>
#include <stdbool.h>

#include "core/vm.h"

/* t[key] when it is a string: a malloc'ed copy; else NULL. */
char *mvlua__field_strdup(lua_State *L, int t, const char *key);
lua_Integer mvlua__field_integer(lua_State *L, int t, const char *key, lua_Integer dflt);
lua_Number mvlua__field_number(lua_State *L, int t, const char *key, lua_Number dflt);
/* Lua truthiness of t[key]. */
bool mvlua__field_bool(lua_State *L, int t, const char *key);

/* One device table into its config record: out is a struct
 * mv_disk_config, mv_net_config or mv_rng_config (an entry of disks, nets
 * or rngs below, or a hotplugged device). */
typedef void (*mvlua_read_fn)(lua_State *L, int t, void *out);
void mvlua__read_disk(lua_State *L, int t, void *out);
void mvlua__read_net(lua_State *L, int t, void *out);
void mvlua__read_rng(lua_State *L, int t, void *out);
/* The validated lists t.disks, t.nets and the normalized t.rngs into cfg
 * (up to each array's size). */
void mvlua__read_device_lists(lua_State *L, int t, struct mv_vm_config *cfg);

#endif
