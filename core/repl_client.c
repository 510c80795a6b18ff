/* moonvisor repl SOCKET: see core/repl_client.h; the line protocol is
 * described at the top of lua/l_repl_server.c. No Lua here: the server
 * evaluates, this side edits lines and prints. */
#include "core/repl_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/lineedit.h"
#include "core/usock.h"

#define EXIT_CHUNK_FAILED 1
#define EXIT_NO_CONNECTION 2
#define MAX_MSG (16 * 1024 * 1024)
#define COMPLETION_WAIT_MS 2000

struct client {
	const char *path;
	int fd;
	char *in;
	size_t len, cap;
	bool tty;
	bool greeted;   /* the first R arrived */
	bool waiting;   /* for an R */
	bool failed;    /* some chunk ended with D1 */
	bool quit;      /* Q, or Ctrl-D */
	bool closed;    /* the server closed or refused */
	bool refused;
	bool show;      /* a new prompt to show */
	char prompt[32];
};

/* ---- talking to the server ------------------------------------------------ */

static void send_msg(struct client *c, char type, const char *s)
{
	size_t len = strlen(s);
	char *buf = malloc(len + 2);

	if (!buf) {
		c->closed = true;
		return;
	}
	buf[0] = type;
	memcpy(buf + 1, s, len);
	buf[len + 1] = '\n';
	for (size_t done = 0; done < len + 2;) {
		ssize_t n = send(c->fd, buf + done, len + 2 - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->closed = true;
			break;
		}
		done += (size_t)n;
	}
	free(buf);
}

/* Reads what the server sent, waiting up to timeout_ms (-1: forever).
 * 1: got data, 0: nothing yet, -1: the connection ended. */
static int fill(struct client *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r = poll(&p, 1, timeout_ms);

	if (r <= 0)
		return r < 0 && errno != EINTR ? -1 : 0;
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 16384;
		char *buf = cap <= MAX_MSG ? realloc(c->in, cap) : NULL;
		if (!buf)
			return -1;
		c->in = buf;
		c->cap = cap;
	}
	n = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 1;
}

static void print(struct client *c, int fd, const char *s, size_t len)
{
	if (c->tty)
		lineedit__print(fd, s, len);
	else
		fdio__write_all(fd, s, len);
}

/* msg: type byte, payload, and the '\n' at msg[len]. */
static void handle(struct client *c, const char *msg, size_t len)
{
	switch (len ? msg[0] : 0) {
	case 'O':
	case 'E':
		print(c, msg[0] == 'O' ? STDOUT_FILENO : STDERR_FILENO, msg + 1, len); /* with the '\n' */
		break;
	case 'D':
		c->failed |= len > 1 && msg[1] == '1';
		break;
	case 'R':
		snprintf(c->prompt, sizeof(c->prompt), "%.*s", (int)(len - 1), msg + 1);
		c->greeted = true;
		c->waiting = false;
		c->show = true;
		break;
	case 'Q':
		c->quit = true;
		break;
	case 'X':
		fprintf(stderr, "moonvisor repl: %s: %.*s\n", c->path, (int)(len - 1), msg + 1);
		c->refused = !c->greeted;
		c->closed = true;
		break;
	default: /* 'C' arriving late, or newer message types */
		break;
	}
}

/* Handles every complete message received so far. */
static void process(struct client *c)
{
	size_t start = 0;
	char *nl;

	while (!c->closed && (nl = memchr(c->in + start, '\n', c->len - start))) {
		size_t len = (size_t)(nl - (c->in + start));
		handle(c, c->in + start, len);
		start += len + 1;
	}
	memmove(c->in, c->in + start, c->len - start);
	c->len -= start;
}

/* Takes the first C message out of the buffer (the others stay, in order):
 * its candidates, or NULL if there is none yet. */
static char **take_completions(struct client *c, bool *found)
{
	char **out = NULL;
	size_t start = 0, n = 1;
	char *nl;

	*found = false;
	while ((nl = memchr(c->in + start, '\n', c->len - start))) {
		size_t len = (size_t)(nl - (c->in + start)), end = start + len + 1;
		char *msg = c->in + start;
		if (len && msg[0] == 'C') {
			*nl = '\0';
			for (char *p = msg + 1; *p; p++)
				n += *p == '\t';
			out = len > 1 ? calloc(n + 1, sizeof(*out)) : NULL;
			n = 0;
			for (char *tok = msg + 1, *save = NULL; out && (tok = strtok_r(tok, "\t", &save)); tok = NULL)
				out[n++] = strdup(tok);
			memmove(msg, c->in + end, c->len - end);
			c->len -= end - start;
			*found = true;
			return out;
		}
		start = end;
	}
	return NULL;
}

/* ---- on a terminal ------------------------------------------------------------- */

static void on_line(void *opaque, const char *line)
{
	struct client *c = opaque;

	if (!line) { /* Ctrl-D on an empty line */
		fdio__write_all(STDOUT_FILENO, "\r\n", 2);
		c->quit = true;
		return;
	}
	send_msg(c, 'L', line);
	c->waiting = true;
}

static char **on_complete(void *opaque, const char *text)
{
	struct client *c = opaque;
	bool found;
	char **cands;

	send_msg(c, 'T', text);
	for (;;) {
		cands = take_completions(c, &found);
		if (found || c->closed || fill(c, COMPLETION_WAIT_MS) <= 0)
			return cands;
	}
}

static void on_signal(struct client *c, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		lineedit__resize();
		return;
	}
	if (lineedit__active())
		lineedit__interrupt(); /* the server drops a pending multi-line chunk */
	else
		fdio__write_all(STDOUT_FILENO, "\r\n", 2); /* the server cancels the chunk */
	send_msg(c, 'I', "");
	c->waiting = true;
}

static int run_tty(struct client *c)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	lineedit__init("moonvisor", on_line, on_complete, c);
	while (!c->quit && !c->closed) {
		struct pollfd p[3] = {
			{ .fd = c->fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		if (c->show && !c->waiting)
			lineedit__prompt(c->prompt);
		c->show = false;
		if (poll(p, lineedit__active() ? 3 : 2, -1) < 0)
			continue;
		if (p[0].revents && fill(c, 0) < 0)
			c->closed = true;
		process(c);
		if (p[1].revents & POLLIN)
			on_signal(c, sfd);
		if (p[2].revents && lineedit__active())
			lineedit__read_char();
	}
	lineedit__end();
	if (sfd >= 0)
		close(sfd);
	if (c->closed && !c->refused)
		fprintf(stderr, "moonvisor repl: %s: the server closed the connection\n", c->path);
	return c->refused ? EXIT_NO_CONNECTION : c->closed ? EXIT_CHUNK_FAILED : 0;
}

/* ---- from a pipe ------------------------------------------------------------------ */

static bool wait_ready(struct client *c)
{
	while (c->waiting && !c->quit && !c->closed) {
		if (fill(c, -1) < 0)
			c->closed = true;
		process(c);
	}
	return !c->quit && !c->closed;
}

static int run_pipe(struct client *c)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while (wait_ready(c)) {
		n = getline(&line, &cap, stdin);
		if (n < 0) {
			if (strcmp(c->prompt, "> ") != 0) {
				fprintf(stderr, "moonvisor repl: input ended inside an unfinished chunk\n");
				c->failed = true;
			}
			break;
		}
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		send_msg(c, 'L', line);
		c->waiting = true;
	}
	free(line);
	if (c->refused)
		return EXIT_NO_CONNECTION;
	if (c->closed) {
		fprintf(stderr, "moonvisor repl: %s: the server closed the connection\n", c->path);
		return EXIT_CHUNK_FAILED;
	}
	return c->failed ? EXIT_CHUNK_FAILED : 0;
}

int repl_client__main(int argc, char **argv)
{
	struct client c = { .fd = -1, .waiting = true };
	int status;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
			"Usage: moonvisor repl SOCKET\n"
			"Attaches to `moonvisor --control SOCKET` and evaluates Lua there: from a\n"
			"terminal interactively, else each line of stdin; exit status 0, 1 if a\n"
			"chunk failed, 2 if it could not connect.\n");
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : EXIT_NO_CONNECTION;
	}
	c.path = argv[1];
	c.fd = usock__connect(c.path);
	if (c.fd < 0) {
		fprintf(stderr, "moonvisor repl: cannot connect to %s: %s\n", c.path, strerror(-c.fd));
		return EXIT_NO_CONNECTION;
	}
	c.tty = lineedit__usable();
	status = c.tty ? run_tty(&c) : run_pipe(&c);
	close(c.fd);
	free(c.in);
	return status;
}
