/* Validated configuration tables → C records (lua/cfgread.h). */
#include "lua/cfgread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mvlua__field_strdup(lua_State *L, int t, const char *key)
{
	char *s = NULL;

	if (lua_getfield(L, t, key) == LUA_TSTRING)
		s = strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return s;
}

lua_Integer mvlua__field_integer(lua_State *L, int t, const char *key, lua_Integer dflt)
{
	lua_Integer v = dflt;

	if (lua_getfield(L, t, key) == LUA_TNUMBER)
		v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

lua_Number mvlua__field_number(lua_State *L, int t, const char *key, lua_Number dflt)
{
	lua_Number v = dflt;

	if (lua_getfield(L, t, key) == LUA_TNUMBER)
		v = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return v;
}

bool mvlua__field_bool(lua_State *L, int t, const char *key)
{
	bool v;

	lua_getfield(L, t, key);
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

void mvlua__read_disk(lua_State *L, int t, void *out)
{
	struct mv_disk_config *d = out;

	d->id = mvlua__field_strdup(L, t, "id");
	d->path = mvlua__field_strdup(L, t, "path");
	d->serial = mvlua__field_strdup(L, t, "serial");
	d->readonly = mvlua__field_bool(L, t, "readonly");
	d->direct = mvlua__field_bool(L, t, "direct");
}

void mvlua__read_net(lua_State *L, int t, void *out)
{
	struct mv_net_config *n = out;
	char *mac;

	n->id = mvlua__field_strdup(L, t, "id");
	n->tap = mvlua__field_strdup(L, t, "tap");
	n->vhost = mvlua__field_bool(L, t, "vhost");
	mac = mvlua__field_strdup(L, t, "mac"); /* validated: xx:xx:xx:xx:xx:xx */
	if (mac)
		(void)sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &n->mac[0], &n->mac[1], &n->mac[2], &n->mac[3],
			     &n->mac[4], &n->mac[5]);
	free(mac);
}

void mvlua__read_rng(lua_State *L, int t, void *out)
{
	struct mv_rng_config *r = out;

	r->id = mvlua__field_strdup(L, t, "id");
}

/* t[key] = { {...}, ... }: each entry, up to max and up to the first that
 * is not a table, read into arr[*n] (records of size bytes). */
static void read_list(lua_State *L, int t, const char *key, void *arr, size_t size, unsigned int *n,
		      unsigned int max, mvlua_read_fn read)
{
	int l;

	if (lua_getfield(L, t, key) != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	l = lua_gettop(L);
	for (lua_Integer i = 1; *n < max; i++) {
		bool more = lua_rawgeti(L, l, i) == LUA_TTABLE;

		if (more)
			read(L, l + 1, (char *)arr + (size_t)(*n)++ * size);
		lua_pop(L, 1);
		if (!more)
			break;
	}
	lua_pop(L, 1);
}

void mvlua__read_device_lists(lua_State *L, int t, struct mv_vm_config *cfg)
{
	read_list(L, t, "rngs", cfg->rngs, sizeof(cfg->rngs[0]), &cfg->nrngs, MV_MAX_RNGS, mvlua__read_rng);
	read_list(L, t, "disks", cfg->disks, sizeof(cfg->disks[0]), &cfg->ndisks, MV_MAX_DISKS, mvlua__read_disk);
	read_list(L, t, "nets", cfg->nets, sizeof(cfg->nets[0]), &cfg->nnets, MV_MAX_NETS, mvlua__read_net);
}
