/* mv.vm{ jail = ... } read into a struct mv_jail_config (lua/l_vm_jail.c). */
#ifndef MV_L_VM_JAIL_H
#define MV_L_VM_JAIL_H

#include <lua.h>

#include "core/jail.h"

/* t.jail of the table at index t (validated and normalized by
 * lua/lib/jail_config.lua), or NULL if it has none; raises on out of
 * memory (rather than run unjailed). */
struct mv_jail_config *mvlua__read_jail(lua_State *L, int t);

#endif
