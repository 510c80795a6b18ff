/* moonvisor -i: the REPL on the terminal, after the script's top level,
 * while the VMs keep running. On a terminal, line editing and history come
 * from libedit's callback interface (core/lineedit.c) driven by an ev_io on
 * stdin; from a pipe, lines are read as they come. One line is handed to
 * the session at a time: stdin is not read while a chunk runs (Ctrl-C
 * cancels it), so typed-ahead lines wait in the terminal.
 *
 * stdin belongs to the REPL (console__claim_stdin): "stdio" consoles do not
 * read it, and their output is printed above the prompt. */
#include <errno.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/console.h"
#include "core/fdio.h"
#include "core/lineedit.h"
#include "core/log.h"
#include "core/vm.h"
#include "lua/repl.h"
#include "lua/state.h"

#define PIPE_LINE_MAX (1024 * 1024)
#define PARTIAL_MAX 1024        /* guest output held back while its line is open */
#define PARTIAL_WAIT 0.2        /* seconds before an open line is shown anyway */

static struct {
	bool open, tty, ready, in_feed, eof;
	struct mv_repl_front front;
	char prompt[16];
	ev_io io;
	ev_signal winch;
	char *buf;          /* pipe input not yet fed */
	size_t len, cap;
	char partial[PARTIAL_MAX]; /* guest output after its last newline */
	size_t partial_len;
	ev_timer partial_timer;
} lr;

static void watch_stdin(bool on)
{
	struct ev_loop *ev = mvlua__loop()->ev;

	if (on && !ev_is_active(&lr.io))
		ev_io_start(ev, &lr.io);
	else if (!on && ev_is_active(&lr.io))
		ev_io_stop(ev, &lr.io);
}

static void local_quit(void)
{
	if (!lr.open)
		return;
	repl__local_close();
	for (struct mv_vm *vm = vm__first(); vm; vm = vm->next)
		vm__kill(vm, MV_STOP_KILLED, 0);
}

/* ---- lines in ------------------------------------------------------------ */

static void feed(const char *line, size_t len)
{
	bool quit;

	lr.ready = false;
	lr.in_feed = true;
	quit = repl__front_feed(&lr.front, line, len);
	lr.in_feed = false;
	if (quit)
		local_quit();
}

/* Pipe: feeds buffered lines while the session is ready for them. */
static void pump(void)
{
	while (lr.open && lr.ready) {
		char *nl = memchr(lr.buf, '\n', lr.len), *line;
		size_t len = nl ? (size_t)(nl - lr.buf) : lr.len, used;

		if (!nl && !(lr.eof && lr.len)) {
			if (lr.eof)
				local_quit();
			else
				watch_stdin(true);
			return;
		}
		watch_stdin(false);
		line = malloc(len + 1);
		if (line)
			memcpy(line, lr.buf, len);
		used = MIN(len + 1, lr.len);
		memmove(lr.buf, lr.buf + used, lr.len - used);
		lr.len -= used;
		if (!line) {
			pr_err("out of memory for a REPL line");
			continue;
		}
		feed(line, len);
		free(line);
	}
}

static void read_pipe(void)
{
	ssize_t n;

	if (lr.cap - lr.len < 4096) {
		size_t cap = lr.cap ? lr.cap * 2 : 8192;
		char *p = cap <= PIPE_LINE_MAX ? realloc(lr.buf, cap) : NULL;
		if (!p) {
			pr_err("REPL input line longer than %d bytes: ending the session", PIPE_LINE_MAX);
			lr.eof = true;
			lr.len = 0;
			pump();
			return;
		}
		lr.buf = p;
		lr.cap = cap;
	}
	n = read(STDIN_FILENO, lr.buf + lr.len, lr.cap - lr.len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lr.eof = true;
		watch_stdin(false);
	} else {
		lr.len += (size_t)n;
	}
	pump();
}

static void on_line(void *opaque, const char *line)
{
	watch_stdin(false);
	if (!line) { /* Ctrl-D on an empty line */
		fdio__write_all(STDOUT_FILENO, "\r\n", 2);
		local_quit();
		return;
	}
	feed(line, strlen(line));
	if (lr.open && lr.ready) {
		lineedit__prompt(lr.prompt);
		watch_stdin(true);
	}
}

static char **on_complete(void *opaque, const char *text)
{
	return repl__front_complete(&lr.front, text);
}

static void stdin_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	if (lr.tty)
		lineedit__read_char();
	else
		read_pipe();
}

static void winch_cb(struct ev_loop *ev, ev_signal *w, int revents)
{
	lineedit__resize();
}

/* ---- session callbacks ----------------------------------------------------- */

static void flush_partial(void);

static void on_output(struct mv_repl_front *f, bool is_err, const char *s, size_t len)
{
	int fd = is_err ? STDERR_FILENO : STDOUT_FILENO;

	flush_partial();
	if (lr.tty)
		lineedit__print(fd, s, len);
	else
		fdio__write_all(fd, s, len);
}

static void on_ready(struct mv_repl_front *f, const char *prompt)
{
	snprintf(lr.prompt, sizeof(lr.prompt), "%s", prompt);
	lr.ready = true;
	if (lr.in_feed)
		return; /* feed's caller goes on */
	if (lr.tty) {
		lineedit__prompt(lr.prompt);
		watch_stdin(true);
	} else {
		pump();
	}
}

static void on_done(struct mv_repl_front *f, bool ok)
{
}

static const struct mv_repl_front_ops local_ops = {
	.output = on_output, .ready = on_ready, .done = on_done,
};

/* Guest output on a "stdio" console: above the prompt. A line the guest
 * has not finished is held back a little (the prompt would otherwise cut
 * it in two), then shown anyway: a shell prompt never gets its newline. */
static void flush_partial(void)
{
	ev_timer_stop(mvlua__loop()->ev, &lr.partial_timer);
	if (lr.partial_len)
		lineedit__print(STDOUT_FILENO, lr.partial, lr.partial_len);
	lr.partial_len = 0;
}

static void partial_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	flush_partial();
}

/* Prints the held part of a line followed by the rest of it. */
static void print_joined(const uint8_t *buf, size_t len)
{
	char *joined = lr.partial_len ? malloc(lr.partial_len + len) : NULL;

	if (joined) {
		memcpy(joined, lr.partial, lr.partial_len);
		memcpy(joined + lr.partial_len, buf, len);
		lineedit__print(STDOUT_FILENO, joined, lr.partial_len + len);
		free(joined);
	} else {
		flush_partial();
		lineedit__print(STDOUT_FILENO, buf, len);
	}
	lr.partial_len = 0;
}

static void console_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct ev_loop *ev = mvlua__loop()->ev;
	const uint8_t *nl;
	size_t head;

	if (!lr.open || !lr.tty || !lineedit__active()) {
		flush_partial();
		fdio__write_all(STDOUT_FILENO, buf, len);
		return;
	}
	nl = memrchr(buf, '\n', len);
	head = nl ? (size_t)(nl + 1 - buf) : 0;
	if (head) /* complete lines */
		print_joined(buf, head);
	buf += head;
	len -= head;
	ev_timer_stop(ev, &lr.partial_timer);
	if (!len)
		return;
	if (lr.partial_len + len > sizeof(lr.partial)) {
		print_joined(buf, len); /* too long to hold */
		return;
	}
	memcpy(lr.partial + lr.partial_len, buf, len);
	lr.partial_len += len;
	ev_timer_set(&lr.partial_timer, PARTIAL_WAIT, 0);
	ev_timer_start(ev, &lr.partial_timer);
}

/* ---- life cycle -------------------------------------------------------------- */

void repl__local_claim(void)
{
	console__claim_stdin(true);
	console__set_stdout_writer(console_out, NULL);
}

static int l_start(lua_State *L)
{
	struct ev_loop *ev = mvlua__loop()->ev;

	if (lr.open)
		return 0;
	lr.tty = lineedit__usable();
	if (lr.tty)
		lineedit__init("moonvisor", on_line, on_complete, NULL);
	if (repl__front_open(&lr.front, &local_ops, true) < 0)
		return luaL_error(L, "moonvisor: cannot start the REPL");
	lr.open = true;
	lr.eof = false;
	ev_io_init(&lr.io, stdin_cb, STDIN_FILENO, EV_READ);
	ev_timer_init(&lr.partial_timer, partial_cb, PARTIAL_WAIT, 0);
	if (lr.tty) {
		ev_signal_init(&lr.winch, winch_cb, SIGWINCH);
		ev_signal_start(ev, &lr.winch);
	}
	on_ready(&lr.front, "> ");
	return 0;
}

void repl__push_local_start(lua_State *L)
{
	lua_pushcfunction(L, l_start);
}

void repl__local_run(lua_State *L)
{
	struct mv_loop *loop = mvlua__loop();

	while (lr.open) {
		mvlua__set_active_state(L);
		loop__drain(loop);
		ev_ref(loop->ev); /* block for an event even if every watcher is unref'ed */
		ev_run(loop->ev, EVRUN_ONCE);
		ev_unref(loop->ev);
	}
}

bool repl__local_interrupt(void)
{
	if (!lr.open)
		return false;
	if (lr.tty && lineedit__active()) {
		lineedit__interrupt();
		watch_stdin(false);
	} else if (lr.tty) {
		fdio__write_all(STDOUT_FILENO, "\r\n", 2);
	}
	repl__front_interrupt(&lr.front);
	return true;
}

void repl__local_close(void)
{
	struct ev_loop *ev = mvlua__loop()->ev;

	if (!lr.open)
		return;
	lr.open = false;
	watch_stdin(false);
	if (ev_is_active(&lr.winch))
		ev_signal_stop(ev, &lr.winch);
	flush_partial();
	if (lr.tty)
		lineedit__end();
	repl__front_close(&lr.front);
	console__set_stdout_writer(NULL, NULL);
	free(lr.buf);
	lr.buf = NULL;
	lr.len = lr.cap = 0;
}
