/* The guest's serial console on the host side: bytes from vCPU threads are
 * buffered and handed to the loop thread, which writes them to the sink
 * (stdout, a file, clients of a Unix socket, or nowhere), splits them into
 * lines for Lua and keeps the last lines in a ring. Host input (stdin, socket
 * clients, Lua) is fed to the guest through an input function the running
 * machine installs. */
#ifndef MV_CONSOLE_H
#define MV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"

struct mv_loop;

enum mv_console_sink { MV_CONSOLE_STDIO, MV_CONSOLE_NULL, MV_CONSOLE_FILE, MV_CONSOLE_SOCKET };

struct mv_console_config {
	enum mv_console_sink sink;
	char *path;   /* FILE, SOCKET */
	const char *what; /* "serial", "console": for messages (not owned) */
};

#define MV_CONSOLE_RING_LINES 1000
#define MV_CONSOLE_LINE_MAX 4096

typedef size_t (*mv_console_input_fn)(void *opaque, const uint8_t *buf, size_t len);
typedef void (*mv_console_line_fn)(void *opaque, const char *line, size_t len);

struct mv_console;

int console__create(struct mv_loop *loop, const struct mv_console_config *cfg, struct mv_console **out,
		    struct mv_err *err) MV_MUST_CHECK;
void console__destroy(struct mv_console *c);

/* Any thread (vCPU): guest output. Blocks briefly if the loop is behind. */
void console__output(struct mv_console *c, const uint8_t *buf, size_t len);
/* Loop thread: output buffered so far reaches the sink and the line ring. */
void console__flush(struct mv_console *c);
/* Loop thread: where input goes (NULL while no machine runs). input returns
 * how many bytes the device took; the rest is retried. */
void console__set_input(struct mv_console *c, mv_console_input_fn input, void *opaque);
void console__set_line_cb(struct mv_console *c, mv_console_line_fn fn, void *opaque);
/* Loop thread: bytes for the guest (from Lua or a socket client). */
int console__send(struct mv_console *c, const void *buf, size_t len) MV_MUST_CHECK;
/* Loop thread: called after each batch of output has been split into lines
 * (so a partial line, e.g. a shell prompt, can be matched). */
void console__set_data_cb(struct mv_console *c, void (*fn)(void *opaque), void *opaque);
/* The line being received (no newline yet); *len set, not NUL-terminated. */
const char *console__partial(const struct mv_console *c, size_t *len);
/* moonvisor -i: stdin belongs to the REPL, so "stdio" consoles created
 * from now on neither read it nor make the terminal raw (Lua reaches the
 * guest with console:write); their output goes through fn (the REPL prints
 * it above its prompt) while one is set. Loop thread. */
void console__claim_stdin(bool claimed);
void console__set_stdout_writer(void (*fn)(void *opaque, const uint8_t *buf, size_t len), void *opaque);
/* The last n complete lines, oldest first: calls fn for each; returns count. */
size_t console__tail(const struct mv_console *c, size_t n, mv_console_line_fn fn, void *opaque);

#endif
