#include "core/console.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/log.h"
#include "core/loop.h"

#define OUT_BUF_SIZE (64 * 1024)
#define IN_BUF_SIZE 4096
#define MAX_CLIENTS 8
#define ESCAPE_CHAR 0x01 /* Ctrl-A; Ctrl-A x quits */

struct client {
	ev_io io;
	struct mv_console *c;
	int fd;
};

struct mv_console {
	struct mv_loop *loop;
	struct mv_console_config cfg;
	/* guest output, filled by vCPU threads */
	pthread_mutex_t lock;
	pthread_cond_t drained;
	uint8_t out[OUT_BUF_SIZE];
	size_t out_len;
	ev_async out_ready;
	/* sink */
	int sink_fd;
	int listen_fd;
	ev_io listen_io;
	struct client *clients[MAX_CLIENTS];
	/* input */
	ev_io stdin_io;
	bool stdin_raw, escape_pending;
	struct termios saved_tio;
	uint8_t in[IN_BUF_SIZE];
	size_t in_len;
	ev_timer in_retry;
	mv_console_input_fn input;
	void *input_opaque;
	/* lines */
	char line[MV_CONSOLE_LINE_MAX];
	size_t line_len;
	char *ring[MV_CONSOLE_RING_LINES];
	size_t ring_head, ring_count;
	mv_console_line_fn line_cb;
	void *line_opaque;
	void (*data_cb)(void *opaque);
	void *data_opaque;
};

static void push_input(struct mv_console *c);

/* The REPL (moonvisor -i) owns stdin and draws a prompt on stdout. */
static bool stdin_claimed;
static void (*stdout_writer)(void *opaque, const uint8_t *buf, size_t len);
static void *stdout_writer_opaque;

void console__claim_stdin(bool claimed)
{
	stdin_claimed = claimed;
}

void console__set_stdout_writer(void (*fn)(void *opaque, const uint8_t *buf, size_t len), void *opaque)
{
	stdout_writer = fn;
	stdout_writer_opaque = opaque;
}

/* ---- lines ------------------------------------------------------------ */

static void emit_line(struct mv_console *c)
{
	size_t len = c->line_len;
	char *copy;

	if (len && c->line[len - 1] == '\r')
		len--;
	copy = strndup(c->line, len);
	c->line_len = 0;
	if (!copy)
		return;
	size_t slot = (c->ring_head + c->ring_count) % MV_CONSOLE_RING_LINES;
	if (c->ring_count == MV_CONSOLE_RING_LINES) {
		free(c->ring[c->ring_head]);
		c->ring_head = (c->ring_head + 1) % MV_CONSOLE_RING_LINES;
		slot = (c->ring_head + c->ring_count - 1) % MV_CONSOLE_RING_LINES;
	} else {
		c->ring_count++;
	}
	c->ring[slot] = copy;
	if (c->line_cb)
		c->line_cb(c->line_opaque, copy, len);
}

static void split_lines(struct mv_console *c, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			emit_line(c);
			continue;
		}
		if (c->line_len == sizeof(c->line) - 1)
			emit_line(c);
		c->line[c->line_len++] = (char)buf[i];
	}
}

size_t console__tail(const struct mv_console *c, size_t n, mv_console_line_fn fn, void *opaque)
{
	size_t count = MIN(n, c->ring_count);

	for (size_t i = c->ring_count - count; i < c->ring_count; i++) {
		const char *l = c->ring[(c->ring_head + i) % MV_CONSOLE_RING_LINES];
		fn(opaque, l, strlen(l));
	}
	return count;
}

/* ---- output ----------------------------------------------------------- */

static void close_client(struct mv_console *c, int i)
{
	struct client *cl = c->clients[i];

	ev_io_stop(c->loop->ev, &cl->io);
	close(cl->fd);
	free(cl);
	c->clients[i] = NULL;
}

static void to_sink(struct mv_console *c, const uint8_t *buf, size_t len)
{
	if (c->sink_fd == STDOUT_FILENO && stdout_writer)
		stdout_writer(stdout_writer_opaque, buf, len);
	else if (c->sink_fd >= 0)
		fdio__write_all(c->sink_fd, buf, len);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (!c->clients[i])
			continue;
		if (send(c->clients[i]->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			close_client(c, i);
	}
}

void console__flush(struct mv_console *c)
{
	static uint8_t chunk[OUT_BUF_SIZE];
	size_t len;

	pthread_mutex_lock(&c->lock);
	len = c->out_len;
	memcpy(chunk, c->out, len);
	c->out_len = 0;
	pthread_cond_broadcast(&c->drained);
	pthread_mutex_unlock(&c->lock);
	if (!len)
		return;
	to_sink(c, chunk, len);
	split_lines(c, chunk, len);
	if (c->data_cb)
		c->data_cb(c->data_opaque);
}

void console__set_data_cb(struct mv_console *c, void (*fn)(void *opaque), void *opaque)
{
	c->data_cb = fn;
	c->data_opaque = opaque;
}

const char *console__partial(const struct mv_console *c, size_t *len)
{
	*len = c->line_len;
	return c->line;
}

static void out_ready_cb(struct ev_loop *ev, ev_async *w, int revents)
{
	console__flush(w->data);
}

void console__output(struct mv_console *c, const uint8_t *buf, size_t len)
{
	struct timespec deadline;
	bool wake = false;

	pthread_mutex_lock(&c->lock);
	while (len) {
		size_t room = OUT_BUF_SIZE - c->out_len, n = MIN(room, len);
		if (n == 0) {
			/* the loop is behind: wait for it a little, then drop */
			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_nsec += 100 * 1000 * 1000;
			if (deadline.tv_nsec >= 1000000000L) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000L;
			}
			ev_async_send(c->loop->ev, &c->out_ready);
			if (pthread_cond_timedwait(&c->drained, &c->lock, &deadline) == ETIMEDOUT)
				break;
			continue;
		}
		wake |= c->out_len == 0;
		memcpy(c->out + c->out_len, buf, n);
		c->out_len += n;
		buf += n;
		len -= n;
	}
	pthread_mutex_unlock(&c->lock);
	if (wake)
		ev_async_send(c->loop->ev, &c->out_ready);
}

/* ---- input ------------------------------------------------------------ */

static void push_input(struct mv_console *c)
{
	size_t took;

	if (!c->in_len || !c->input)
		return;
	took = c->input(c->input_opaque, c->in, c->in_len);
	memmove(c->in, c->in + took, c->in_len - took);
	c->in_len -= took;
	if (c->in_len && !ev_is_active(&c->in_retry))
		ev_timer_start(c->loop->ev, &c->in_retry);
	else if (!c->in_len && ev_is_active(&c->in_retry))
		ev_timer_stop(c->loop->ev, &c->in_retry);
}

static void in_retry_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	push_input(w->data);
}

int console__send(struct mv_console *c, const void *buf, size_t len)
{
	if (len > sizeof(c->in) - c->in_len)
		return -EAGAIN;
	memcpy(c->in + c->in_len, buf, len);
	c->in_len += len;
	push_input(c);
	return 0;
}

void console__set_input(struct mv_console *c, mv_console_input_fn input, void *opaque)
{
	c->input = input;
	c->input_opaque = opaque;
	if (input)
		push_input(c);
}

void console__set_line_cb(struct mv_console *c, mv_console_line_fn fn, void *opaque)
{
	c->line_cb = fn;
	c->line_opaque = opaque;
}

/* Raw terminal: Ctrl-A x ends moonvisor, Ctrl-A Ctrl-A sends Ctrl-A. */
static size_t filter_escape(struct mv_console *c, uint8_t *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (c->escape_pending) {
			c->escape_pending = false;
			if (buf[i] == 'x') {
				kill(getpid(), SIGTERM);
				continue;
			}
			if (buf[i] != ESCAPE_CHAR)
				continue;
		} else if (buf[i] == ESCAPE_CHAR) {
			c->escape_pending = true;
			continue;
		}
		buf[out++] = buf[i];
	}
	return out;
}

static void stdin_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct mv_console *c = w->data;
	uint8_t buf[256];
	size_t room = MIN(sizeof(buf), sizeof(c->in) - c->in_len);
	ssize_t n;

	if (!room)
		return;
	n = read(w->fd, buf, room);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		ev_io_stop(ev, w);
		return;
	}
	n = (ssize_t)(c->stdin_raw ? filter_escape(c, buf, (size_t)n) : (size_t)n);
	if (n > 0 && console__send(c, buf, (size_t)n) < 0)
		pr_warn("console input dropped: guest is not reading");
}

static void restore_tty(struct mv_console *c)
{
	if (c->stdin_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_tio);
	c->stdin_raw = false;
}

static void watch_stdin(struct mv_console *c)
{
	struct stat st;

	/* a terminal, pipe or socket; not /dev/null, a file or a closed fd */
	if (fstat(STDIN_FILENO, &st) < 0)
		return;
	if (!isatty(STDIN_FILENO) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		return;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved_tio) == 0) {
		struct termios raw = c->saved_tio;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			c->stdin_raw = true;
	}
	ev_io_init(&c->stdin_io, stdin_cb, STDIN_FILENO, EV_READ);
	c->stdin_io.data = c;
	ev_io_start(c->loop->ev, &c->stdin_io);
	ev_unref(c->loop->ev);
}

/* ---- socket sink ------------------------------------------------------ */

static void client_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct client *cl = w->data;
	struct mv_console *c = cl->c;
	uint8_t buf[256];
	ssize_t n = recv(cl->fd, buf, MIN(sizeof(buf), sizeof(c->in) - c->in_len), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (c->clients[i] == cl)
				close_client(c, i);
		return;
	}
	if (n > 0 && console__send(c, buf, (size_t)n) < 0)
		pr_warn("console input from socket dropped: guest is not reading");
}

static void accept_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct mv_console *c = w->data;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int slot = -1;

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
		if (!c->clients[i])
			slot = i;
	struct client *cl = slot >= 0 ? calloc(1, sizeof(*cl)) : NULL;
	if (!cl) {
		close(fd);
		return;
	}
	cl->c = c;
	cl->fd = fd;
	ev_io_init(&cl->io, client_cb, fd, EV_READ);
	cl->io.data = cl;
	ev_io_start(ev, &cl->io);
	ev_unref(ev);
	c->clients[slot] = cl;
}

static int open_socket(struct mv_console *c, struct mv_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret;

	if (strlen(c->cfg.path) >= sizeof(sa.sun_path))
		return err__set(err, -ENAMETOOLONG, "%s socket path '%s' is too long", c->cfg.what, c->cfg.path);
	strcpy(sa.sun_path, c->cfg.path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0)
		return err__set(err, -errno, "%s socket: %s", c->cfg.what, strerror(errno));
	unlink(c->cfg.path);
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(c->cfg.path, 0600) < 0 ||
	    listen(c->listen_fd, 4) < 0) {
		ret = -errno;
		close(c->listen_fd);
		c->listen_fd = -1;
		return err__set(err, ret, "%s socket %s: %s", c->cfg.what, c->cfg.path, strerror(-ret));
	}
	ev_io_init(&c->listen_io, accept_cb, c->listen_fd, EV_READ);
	c->listen_io.data = c;
	ev_io_start(c->loop->ev, &c->listen_io);
	ev_unref(c->loop->ev);
	return 0;
}

static int open_sink(struct mv_console *c, struct mv_err *err)
{
	switch (c->cfg.sink) {
	case MV_CONSOLE_STDIO:
		c->sink_fd = STDOUT_FILENO;
		if (!stdin_claimed)
			watch_stdin(c);
		return 0;
	case MV_CONSOLE_FILE:
		c->sink_fd = open(c->cfg.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (c->sink_fd < 0)
			return err__set(err, -errno, "%s file %s: %s", c->cfg.what, c->cfg.path, strerror(errno));
		return 0;
	case MV_CONSOLE_SOCKET:
		return open_socket(c, err);
	case MV_CONSOLE_NULL:
		return 0;
	}
	return -EINVAL;
}

int console__create(struct mv_loop *loop, const struct mv_console_config *cfg, struct mv_console **out,
		    struct mv_err *err)
{
	struct mv_console *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return err__set(err, -ENOMEM, "out of memory for the console");
	c->loop = loop;
	c->cfg.sink = cfg->sink;
	c->cfg.path = cfg->path ? strdup(cfg->path) : NULL;
	c->cfg.what = cfg->what ? cfg->what : "serial";
	c->sink_fd = c->listen_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->drained, NULL);
	ev_async_init(&c->out_ready, out_ready_cb);
	c->out_ready.data = c;
	ev_async_start(loop->ev, &c->out_ready);
	ev_unref(loop->ev);
	ev_timer_init(&c->in_retry, in_retry_cb, 0.005, 0.005);
	c->in_retry.data = c;
	ret = open_sink(c, err);
	if (ret < 0) {
		console__destroy(c);
		return ret;
	}
	*out = c;
	return 0;
}

void console__destroy(struct mv_console *c)
{
	struct ev_loop *ev;

	if (!c)
		return;
	ev = c->loop->ev;
	console__flush(c);
	if (c->line_len)
		emit_line(c);
	restore_tty(c);
	ev_ref(ev);
	ev_async_stop(ev, &c->out_ready);
	if (ev_is_active(&c->in_retry))
		ev_timer_stop(ev, &c->in_retry);
	if (ev_is_active(&c->stdin_io)) {
		ev_ref(ev);
		ev_io_stop(ev, &c->stdin_io);
	}
	if (c->listen_fd >= 0) {
		ev_ref(ev);
		ev_io_stop(ev, &c->listen_io);
		close(c->listen_fd);
		unlink(c->cfg.path);
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i]) {
			ev_ref(ev);
			close_client(c, i);
		}
	if (c->sink_fd >= 0 && c->sink_fd != STDOUT_FILENO)
		close(c->sink_fd);
	for (size_t i = 0; i < c->ring_count; i++)
		free(c->ring[(c->ring_head + i) % MV_CONSOLE_RING_LINES]);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->drained);
	free(c->cfg.path);
	free(c);
}
