/* The REPL's C front ends over the Lua sessions of lua/lib/repl.lua: the
 * terminal prompt (`moonvisor -i`, lua/l_repl_local.c) and the control
 * socket (`moonvisor --control PATH`, lua/l_repl_server.c). Everything here
 * runs on the loop thread. */
#ifndef MV_LUA_REPL_H
#define MV_LUA_REPL_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"
#include "core/err.h"

struct mv_repl_front;

/* How a session talks back (see lua/lib/repl.lua). */
struct mv_repl_front_ops {
	void (*output)(struct mv_repl_front *f, bool is_err, const char *s, size_t len);
	void (*ready)(struct mv_repl_front *f, const char *prompt);
	void (*done)(struct mv_repl_front *f, bool ok);
};

struct mv_repl_front {
	const struct mv_repl_front_ops *ops;
	int session_ref;            /* the Lua session; LUA_NOREF when closed */
	struct repl_link *link;     /* lets the session's callbacks find us */
};

/* ---- lua/l_repl.c: one session ------------------------------------------ */

/* Starts a session; global_print also sends _G.print to it. 0 or -errno. */
int repl__front_open(struct mv_repl_front *f, const struct mv_repl_front_ops *ops, bool global_print) MV_MUST_CHECK;
/* One input line; returns true if it was `.quit`. */
bool repl__front_feed(struct mv_repl_front *f, const char *line, size_t len);
/* Ctrl-C: cancels the running chunk or drops a pending multi-line one. */
void repl__front_interrupt(struct mv_repl_front *f);
/* Completions of text: NULL-terminated malloc'ed array of strings, or NULL. */
char **repl__front_complete(struct mv_repl_front *f, const char *text);
/* Cancels the running chunk; the callbacks are not called any more. */
void repl__front_close(struct mv_repl_front *f);
void repl__free_strings(char **v);

/* ---- lua/l_repl_local.c: moonvisor -i ------------------------------------ */

/* Before the script runs: stdin is the REPL's, not the consoles'. */
void repl__local_claim(void);
/* Pushes a function that opens the prompt (called after the script's top
 * level, inside the main task). */
void repl__push_local_start(lua_State *L);
/* Runs the loop until the prompt is closed (returns at once if it is not
 * open). Ending the session (Ctrl-D, .quit) kills every VM. */
void repl__local_run(lua_State *L);
/* SIGINT: true if the prompt took it (cancel the chunk / clear the line). */
bool repl__local_interrupt(void);
/* Closes the prompt without killing VMs (SIGTERM, exit). */
void repl__local_close(void);

/* ---- lua/l_repl_server.c: moonvisor --control PATH ----------------------- */

int repl__server_open(const char *path, struct mv_err *err) MV_MUST_CHECK;
void repl__server_close(void);

#endif
