/* libFuzzer target: the mv.vm{} validator (lua/lib/config.lua) fed random
 * tables. The input is decoded into a Lua value (mostly a table whose keys
 * come from the real field names plus near-misses, whose values are
 * numbers, strings, booleans and nested tables, sizes like "512M"), then
 * passed to mv.vm in protected mode.
 *
 * Invariant: mv.vm either returns a VM or raises a string error naming
 * what was wrong, at the caller's position; a Lua error from inside the
 * validator ("attempt to index ...") or a non-string error is a bug and
 * aborts. A VM that validated
 * is destroyed at once (it is never started).
 *
 * Build with -DMV_FUZZ=ON (clang); run with scripts/fuzz. */
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "lua/state.h"

#define MAX_DEPTH 3
#define MAX_ITEMS 12
#define TRY_CHUNK_POS "[string \"function try(t)...\"]:2: "

struct input {
	const uint8_t *p;
	size_t left;
};

static lua_State *L;

static const char *const keys[] = {
	"name", "cpus", "memory", "kernel", "initrd", "cmdline", "serial", "size", "shared", "hugepages",
	"file", "socket", "nmae", "cpu", "Memory", "", "kernel ", "stdio", "null", "console", "type",
};
static const char *const strings[] = {
	"512M", "1G", "0", "-1", "12Q", "4096M", "1.5G", "0x10", "stdio", "null", "/nonexistent/vmlinuz",
	"/dev/null", "/", "", "%", "1e300", "9999999999999999999999G", "64K", " 1M", "1M ", "name", "virtio",
};

static unsigned int take(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static void push_value(struct input *in, int depth);

static void push_table(struct input *in, int depth)
{
	unsigned int n = take(in) % MAX_ITEMS;

	lua_createtable(L, 0, (int)n);
	for (unsigned int i = 0; i < n && in->left; i++) {
		unsigned int k = take(in);
		if (k & 0x80)
			lua_pushinteger(L, (lua_Integer)(k & 0x7f) - 8); /* array-ish keys, some <= 0 */
		else
			lua_pushstring(L, keys[k % (sizeof(keys) / sizeof(keys[0]))]);
		push_value(in, depth + 1);
		lua_settable(L, -3);
	}
}

static void push_raw_string(struct input *in)
{
	size_t n = take(in) % 40;

	if (n > in->left)
		n = in->left;
	lua_pushlstring(L, (const char *)in->p, n);
	in->p += n;
	in->left -= n;
}

static void push_value(struct input *in, int depth)
{
	unsigned int kind = take(in) % 9;
	uint64_t v = 0;

	switch (kind) {
	case 0:
		lua_pushnil(L);
		break;
	case 1:
		lua_pushboolean(L, take(in) & 1);
		break;
	case 2:
		for (int i = 0; i < 8; i++)
			v = (v << 8) | take(in);
		lua_pushinteger(L, (lua_Integer)(int64_t)v);
		break;
	case 3:
		lua_pushinteger(L, (lua_Integer)take(in) - 2);
		break;
	case 4:
		lua_pushnumber(L, (lua_Number)(int8_t)take(in) / 3.0 * (take(in) & 1 ? 1e12 : 1));
		break;
	case 5:
		lua_pushstring(L, strings[take(in) % (sizeof(strings) / sizeof(strings[0]))]);
		break;
	case 6:
		push_raw_string(in);
		break;
	default:
		if (depth < MAX_DEPTH)
			push_table(in, depth);
		else
			lua_pushinteger(L, 1);
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log__set_level(MV_LOG_ERROR);
	L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "moonvisor", mvlua__open, 0);
	lua_setglobal(L, "mv");
	if (luaL_dostring(L, "function try(t)\n"
			     "  local ok, vm = pcall(function() local v = mv.vm(t) return v end)\n"
			     "  if ok then vm:destroy() return nil end\n"
			     "  return vm\n"
			     "end") != LUA_OK) {
		fprintf(stderr, "config_fuzz: %s\n", lua_tostring(L, -1));
		abort();
	}
	return 0;
}

static void check_error(void)
{
	const char *msg;

	if (lua_isnil(L, -1))
		return;
	if (lua_type(L, -1) != LUA_TSTRING) {
		fprintf(stderr, "mv.vm raised a %s, not a message\n", luaL_typename(L, -1));
		abort();
	}
	/* mv.vm raises its messages with error(msg, 2): they carry the
	 * caller's position (the try chunk). Any other position is a Lua error
	 * raised inside the validator itself. */
	msg = lua_tostring(L, -1);
	if (strncmp(msg, TRY_CHUNK_POS, strlen(TRY_CHUNK_POS)) != 0) {
		fprintf(stderr, "internal error in the validator: %s\n", msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	int top = lua_gettop(L);

	lua_getglobal(L, "try");
	if (size && (data[0] & 0x80)) {
		in.p++;
		in.left--;
		push_value(&in, 0); /* sometimes not a table at all */
	} else {
		push_table(&in, 0);
	}
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "try() failed: %s\n", lua_tostring(L, -1));
		abort();
	}
	check_error();
	lua_settop(L, top);
	return 0;
}
