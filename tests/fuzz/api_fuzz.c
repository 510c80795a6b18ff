/* libFuzzer target: the REST API's input path without the socket. Bytes
 * are fed to the request reader (core/http.c) in chunks whose sizes come
 * from the input, with small or default limits; every complete request's
 * body goes through the JSON decoder into Lua (lua/l_json.c), back out
 * (mv.json.encode), and through the VmConfig mapping (lua/lib/vmconfig.lua)
 * and, when that accepts it, mv.vm{} (lua/lib/config.lua).
 *
 * Invariants: the reader consumes within what it was given and ends every
 * request as done or with a 4xx/5xx status; vmconfig.to_mv returns a table
 * or nil and a string, never raises; mv.vm raises only string messages
 * (a VM that validated is destroyed at once, never started).
 *
 * Build with -DMV_FUZZ=ON (clang); run with scripts/fuzz. */
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/log.h"
#include "lua/json.h"
#include "lua/state.h"

static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log__set_level(MV_LOG_ERROR);
	L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "moonvisor", mvlua__open, 0);
	lua_setglobal(L, "mv");
	if (luaL_dostring(L, "local vmconfig = require 'moonvisor.vmconfig'\n"
			     "function try(v)\n"
			     "  mv.json.encode(v)\n"
			     "  local ok, t, err = pcall(vmconfig.to_mv, v)\n"
			     "  if not ok then return 'to_mv raised: ' .. tostring(t) end\n"
			     "  if t == nil then\n"
			     "    if type(err) ~= 'string' then return 'to_mv: no message' end\n"
			     "    return nil\n"
			     "  end\n"
			     "  local vok, vm = pcall(mv.vm, t)\n"
			     "  if vok then vm:destroy() return nil end\n"
			     "  if type(vm) ~= 'string' then return 'mv.vm raised a ' .. type(vm) end\n"
			     "  return nil\n"
			     "end") != LUA_OK) {
		fprintf(stderr, "api_fuzz: %s\n", lua_tostring(L, -1));
		abort();
	}
	return 0;
}

static void check_body(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	int top = lua_gettop(L);

	if (!v)
		return;
	lua_getglobal(L, "try");
	if (mvlua__json_push(L, v) < 0) {
		json_decref(v);
		lua_settop(L, top);
		return;
	}
	json_decref(v);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "try() failed: %s\n", lua_tostring(L, -1));
		abort();
	}
	if (!lua_isnil(L, -1)) {
		fprintf(stderr, "api_fuzz: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_http_limits small = { .max_head = 300, .max_url = 40, .max_body = 200 };
	struct mv_http_reader rd;
	size_t chunk, off = 2;

	if (size < 2)
		return 0;
	chunk = (size_t)(data[0] & 0x3f) + 1;
	http_reader__init(&rd, (data[1] & 1) ? &small : &MV_HTTP_DEFAULT_LIMITS);
	while (off < size && !rd.status) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t used = http_reader__feed(&rd, (const char *)data + off, n);
		if (used > n)
			abort();
		off += used;
		if (rd.done) {
			if (!rd.method || !rd.url)
				abort();
			check_body(rd.body ? rd.body : "", rd.body_len);
			http_reader__next(&rd);
		} else if (used < n && !rd.status) {
			abort(); /* bytes left over without a reason */
		}
	}
	if (rd.status && (rd.status < 400 || rd.status > 599))
		abort();
	http_reader__free(&rd);
	return 0;
}
