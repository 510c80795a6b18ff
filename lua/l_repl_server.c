/* moonvisor --control PATH: a Unix stream socket (mode 0600) where each
 * client gets its own REPL session (lua/lib/repl.lua: own environment, own
 * multi-line buffer; `print` in its chunks writes to that client). Only
 * clients running as the same uid as moonvisor, or root, are served
 * (SO_PEERCRED); others get one X line and are closed. A client that goes
 * away mid-chunk has its chunk cancelled and its output dropped.
 *
 * Protocol (version 1). Every message is one line: a type byte, a payload
 * without newlines, '\n'.
 *
 *   client -> server
 *     L<text>    one input line (as typed; "\r" before the '\n' is ignored)
 *     I          interrupt (Ctrl-C): cancel the running chunk, or drop a
 *                pending multi-line chunk
 *     T<word>    complete <word>, e.g. "Tvm:pa"
 *
 *   server -> client
 *     R<prompt>  ready for the next line; the prompt is "> ", or ">> " when
 *                the chunk is incomplete. Sent once after connecting, then
 *                exactly once for each L and each I handled (in order; L
 *                lines sent while a chunk runs are queued)
 *     O<text>    a line of output: print() in the session, chunk results,
 *                also from tasks the chunk started
 *     E<text>    a line of error output (syntax or runtime error message,
 *                "cancelled")
 *     D0 | D1    the chunk ended: 0 ok, 1 failed (syntax or runtime error,
 *                cancelled); comes before its R
 *     C<c1>\t<c2>...  the completions, answer to T (may be empty)
 *     Q          answer to the line ".quit": the server closes
 *     X<text>    refused or broken protocol; the server closes
 *
 * A client may send its next L only after the R for the previous one
 * (`moonvisor repl` does), or pipeline them: they are queued. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/log.h"
#include "core/usock.h"
#include "lua/repl.h"
#include "lua/state.h"

#define MAX_IN (64 * 1024)       /* longest client message */
#define MAX_OUT (8 * 1024 * 1024) /* unsent output before a client is dropped */
#define MAX_CONNS 64

struct conn {
	struct mv_repl_front front; /* first: the ops get &conn->front */
	ev_io rio, wio;
	ev_timer reap;
	int fd;
	bool dead;                  /* write failed: closed on the next turn */
	char *in, *out;
	size_t in_len, out_len, out_cap;
	struct conn *next;
};

static struct {
	int fd;
	char *path;
	ev_io io;
	struct conn *conns;
	unsigned int count;
} srv = { .fd = -1 };

static struct ev_loop *evl(void)
{
	return mvlua__loop()->ev;
}

/* ---- output ---------------------------------------------------------------- */

static void mark_dead(struct conn *c)
{
	c->dead = true;
	c->out_len = 0;
	if (ev_is_active(&c->wio))
		ev_io_stop(evl(), &c->wio);
	if (!ev_is_active(&c->reap))
		ev_timer_start(evl(), &c->reap);
}

static void flush(struct conn *c)
{
	if (fdio__send_pending(c->fd, c->out, &c->out_len) < 0) {
		mark_dead(c);
		return;
	}
	if (c->out_len && !ev_is_active(&c->wio))
		ev_io_start(evl(), &c->wio);
	else if (!c->out_len && ev_is_active(&c->wio))
		ev_io_stop(evl(), &c->wio);
}

static int reserve(struct conn *c, size_t more)
{
	size_t cap = c->out_cap ? c->out_cap : 4096;
	char *p;

	if (c->out_len + more > MAX_OUT)
		return -ENOBUFS;
	while (cap < c->out_len + more)
		cap *= 2;
	if (cap == c->out_cap)
		return 0;
	p = realloc(c->out, cap);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/* Queues one message: type, payload (newlines become spaces), '\n'. */
static void send_msg(struct conn *c, char type, const char *s, size_t len)
{
	if (c->dead)
		return;
	if (reserve(c, len + 2) < 0) {
		pr_warn("control client not reading its output: disconnecting it");
		mark_dead(c);
		return;
	}
	c->out[c->out_len++] = type;
	for (size_t i = 0; i < len; i++)
		c->out[c->out_len++] = s[i] == '\n' ? ' ' : s[i];
	c->out[c->out_len++] = '\n';
	flush(c);
}

static void send_str(struct conn *c, char type, const char *s)
{
	send_msg(c, type, s, strlen(s));
}

static void write_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	flush(w->data);
}

/* ---- session callbacks ------------------------------------------------------ */

static void on_output(struct mv_repl_front *f, bool is_err, const char *s, size_t len)
{
	struct conn *c = (struct conn *)f;

	while (len) {
		const char *nl = memchr(s, '\n', len);
		size_t n = nl ? (size_t)(nl - s) : len;
		send_msg(c, is_err ? 'E' : 'O', s, n);
		n = MIN(n + 1, len);
		s += n;
		len -= n;
	}
}

static void on_ready(struct mv_repl_front *f, const char *prompt)
{
	send_str((struct conn *)f, 'R', prompt);
}

static void on_done(struct mv_repl_front *f, bool ok)
{
	send_str((struct conn *)f, 'D', ok ? "0" : "1");
}

static const struct mv_repl_front_ops conn_ops = {
	.output = on_output, .ready = on_ready, .done = on_done,
};

/* ---- input -------------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	struct ev_loop *ev = evl();

	for (struct conn **pp = &srv.conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	srv.count--;
	ev_io_stop(ev, &c->rio);
	ev_io_stop(ev, &c->wio);
	ev_timer_stop(ev, &c->reap);
	repl__front_close(&c->front);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void reap_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	conn_close(w->data);
}

static void send_completions(struct conn *c, const char *word)
{
	char **cands = repl__front_complete(&c->front, word);
	size_t len = 0;
	char *line;

	for (size_t i = 0; cands && cands[i]; i++)
		len += strlen(cands[i]) + 1;
	line = calloc(1, len + 1);
	for (size_t i = 0; line && cands && cands[i]; i++) {
		if (i)
			strcat(line, "\t");
		strcat(line, cands[i]);
	}
	send_str(c, 'C', line ? line : "");
	free(line);
	repl__free_strings(cands);
}

/* Handles one message; false once the connection is to be closed. */
static bool handle_msg(struct conn *c, char *msg, size_t len)
{
	if (len && msg[len - 1] == '\r')
		len--;
	msg[len] = '\0';
	switch (len ? msg[0] : 0) {
	case 'L':
		if (repl__front_feed(&c->front, msg + 1, len - 1)) {
			send_str(c, 'Q', "");
			return false;
		}
		return true;
	case 'I':
		repl__front_interrupt(&c->front);
		return true;
	case 'T':
		send_completions(c, msg + 1);
		return true;
	case 0:
		return true;
	default:
		send_str(c, 'X', "unknown message type (expected L, I or T lines)");
		return false;
	}
}

static void read_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct conn *c = w->data;
	size_t start = 0;
	char *nl;
	ssize_t n = recv(c->fd, c->in + c->in_len, MAX_IN - c->in_len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c); /* the client went away: its chunk is cancelled */
		return;
	}
	c->in_len += (size_t)n;
	while (!c->dead && (nl = memchr(c->in + start, '\n', c->in_len - start))) {
		size_t len = (size_t)(nl - (c->in + start));
		if (!handle_msg(c, c->in + start, len)) {
			flush(c);
			conn_close(c);
			return;
		}
		start += len + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == MAX_IN) {
		send_str(c, 'X', "message too long");
		conn_close(c);
	}
}

/* ---- accepting ------------------------------------------------------------------ */

static void refuse(int fd, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "X%s\n", why);

	if (send(fd, line, (size_t)MIN(n, (int)sizeof(line) - 1), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("could not tell a refused control client why: %s", strerror(errno));
	close(fd);
}

static struct conn *conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || !(c->in = malloc(MAX_IN + 1))) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	ev_io_init(&c->rio, read_cb, fd, EV_READ);
	ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
	ev_timer_init(&c->reap, reap_cb, 0, 0);
	c->rio.data = c->wio.data = c->reap.data = c;
	if (repl__front_open(&c->front, &conn_ops, false) < 0) {
		free(c->in);
		free(c);
		return NULL;
	}
	return c;
}

static void accept_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	int fd = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char why[160];
	struct conn *c;

	if (fd < 0)
		return;
	if (!usock__peer_allowed(fd, "control socket", why, sizeof(why))) {
		refuse(fd, why);
		return;
	}
	if (srv.count >= MAX_CONNS) {
		refuse(fd, "too many control clients");
		return;
	}
	c = conn_new(fd);
	if (!c) {
		refuse(fd, "cannot start a REPL session (out of memory?)");
		return;
	}
	c->next = srv.conns;
	srv.conns = c;
	srv.count++;
	ev_io_start(ev, &c->rio);
	send_str(c, 'R', "> ");
}

/* ---- the socket ------------------------------------------------------------------- */

int repl__server_open(const char *path, struct mv_err *err)
{
	if (srv.fd >= 0)
		return err__set(err, -EBUSY, "a control socket is already open");
	srv.path = strdup(path);
	if (!srv.path)
		return err__set(err, -ENOMEM, "control socket %s: out of memory", path);
	srv.fd = usock__listen(path, 16, "control socket", err);
	if (srv.fd < 0) {
		int ret = srv.fd;
		free(srv.path);
		srv.path = NULL;
		srv.fd = -1;
		return ret;
	}
	ev_io_init(&srv.io, accept_cb, srv.fd, EV_READ);
	ev_io_start(evl(), &srv.io);
	return 0;
}

void repl__server_close(void)
{
	if (srv.fd < 0)
		return;
	while (srv.conns)
		conn_close(srv.conns);
	ev_io_stop(evl(), &srv.io);
	close(srv.fd);
	srv.fd = -1;
	unlink(srv.path);
	free(srv.path);
	srv.path = NULL;
}
