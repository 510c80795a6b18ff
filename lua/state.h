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
/* Calls the function below its nargs arguments like lua_pcall, with a
 * traceback handler and under the CPU budget; on error logs
 * "what: message + traceback" and returns 0 (nothing left on the stack).
 * Returns 1 with nresults on the stack on success. */
int mvlua__pcall(lua_State *L, int nargs, int nresults, const char *what);
/* lua_resume under the CPU budget. */
int mvlua__resume(lua_State *co, lua_State *from, int nargs, int *nres);
/* CPU time a callback or task slice may use before it is interrupted
 * (default 1 s). The interruption cannot be caught by pcall. */
void mvlua__set_budget(double seconds);
double mvlua__budget(void);
/* The Lua thread that entered C last: callbacks from the loop run on it. */
lua_State *mvlua__active_state(void);
void mvlua__set_active_state(lua_State *L);

/* lua/l_loop.c: timers, run_once, now, resume, budget. */
void mvlua__register_loop(lua_State *L);

/* lua/sandbox.c: once, before the loop first runs, under --seccomp=on or
 * log: os.execute, io.popen and C module loading raise an error from now
 * on, and the loop thread's seccomp filter is installed. Raises if the
 * filter cannot be installed. */
int mvlua__sandbox_enter(lua_State *L);
/* core.sandbox(): the same from the loop (the main task's first step,
 * lua/lib/api.lua); a failure is kept for mvlua__sandbox_check, which
 * raises it (core.run_once calls it). */
int mvlua__sandbox_hook(lua_State *L);
void mvlua__sandbox_check(lua_State *L);
/* Whether the loop's seccomp filter is on (no code can be loaded). */
int mvlua__sandboxed(void);
/* lua/l_plugin.c: the plugin_* functions (plugin devices). */
void mvlua__register_plugin(lua_State *L);

/* lua/l_vm.c: adds the vm_* functions to the core table on top of the stack. */
void mvlua__register_vm(lua_State *L);
struct mv_vm;
/* lua/l_vm.c: the VM of a handle argument (raises if destroyed). */
struct mv_vm *mvlua__check_vm(lua_State *L, int idx);
/* lua/l_vm_hotplug.c: vm_add_device, vm_remove_device, vm_remove_cancel
 * (called by mvlua__register_vm); ev.id, ev.type, ev.pci of a
 * device_added / device_removed event into the table on top. */
void mvlua__register_vm_hotplug(lua_State *L);
void mvlua__push_device_event(lua_State *L, const struct mv_vm *vm);
struct mv_vm_config;
/* lua/l_vm_memory.c: vm_resize_memory, vm_memory, vm_memory_stats (called
 * by mvlua__register_vm); the memory fields of a validated mv.vm{} table. */
void mvlua__register_vm_memory(lua_State *L);
void mvlua__read_memory_config(lua_State *L, int t, struct mv_vm_config *cfg);
/* lua/l_psi.c: psi_watch (called by mvlua__register_vm_memory). */
void mvlua__register_psi(lua_State *L);

#endif
