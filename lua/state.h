/* The Lua side of moonvisor: the `moonvisor` module (C core + embedded Lua
 * libraries). Only the loop thread touches Lua. */
#ifndef MV_LUA_STATE_H
#define MV_LUA_STATE_H

#include <lua.h>

#include "core/loop.h"

/* luaopen_moonvisor: returns the public `mv` table. */
int mvlua__open(lua_State *L);
/* The one event loop (created on first use). */
struct mv_loop *mvlua__loop(void);
/* Installs every embedded lua/lib/NAME.lua as package.preload["moonvisor.NAME"]. */
void mvlua__preload(lua_State *L);
/* Calls the function on top of the stack (with nargs below it... see lua_pcall)
 * with a traceback handler; on error logs "what: message + traceback" and
 * returns false. Leaves nresults on success. */
int mvlua__pcall(lua_State *L, int nargs, int nresults, const char *what);

/* lua/l_vm.c: adds the vm_* functions to the core table on top of the stack. */
void mvlua__register_vm(lua_State *L);

#endif
