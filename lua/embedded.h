/* Lua libraries from lua/lib/NAME.lua, embedded at build time (cmake/embed.cmake). */
#ifndef MV_LUA_EMBEDDED_H
#define MV_LUA_EMBEDDED_H

struct mv_lua_embedded {
	const char *name;             /* file name without .lua */
	const unsigned char *src;
	const unsigned long *len;
};

extern const struct mv_lua_embedded mv_lua_embedded[];

#endif
