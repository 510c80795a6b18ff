/* `require "moonvisor"` from plain lua5.4 (build/lua/moonvisor.so). */
#include <lua.h>

#include "lua/state.h"

LUALIB_API int luaopen_moonvisor(lua_State *L);

LUALIB_API int luaopen_moonvisor(lua_State *L)
{
	return mvlua__open(L);
}
