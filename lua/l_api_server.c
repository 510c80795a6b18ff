/* The REST API's HTTP/1.1 server on a Unix stream socket (mode 0600, same
 * uid or root only), on the event loop. This file is the transport: it
 * accepts clients, reads requests with core/http.c, hands each complete
 * request to the Lua router (lua/lib/restapi.lua) and writes the answer the
 * router gives back later with core.api_respond (the handler runs as a
 * task, so it may wait). Requests on one connection are answered in order
 * (keep-alive, pipelining); a connection reads nothing while its request is
 * with Lua.
 *
 * Limits, each answered with a JSON error body in Cloud Hypervisor's shape
 * (an array of messages) where an answer is possible, then the connection
 * is closed: request line + headers (431), target (414), body (413),
 * malformed requests (400), a request not complete within read_timeout
 * seconds of its first byte (408: slow clients cannot hold a connection),
 * more than max_clients connections (503). An idle keep-alive connection
 * is closed after idle_timeout; one that does not read its answer within
 * read_timeout is dropped. A client that goes away mid-request is dropped;
 * if its request already runs, the handler finishes and its answer is
 * discarded. */
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/http.h"
#include "core/log.h"
#include "core/usock.h"
#include "lua/api_server.h"
#include "lua/state.h"

#define WHAT "API socket"
#define IN_CHUNK 16384
#define MAX_OUT (16 * 1024 * 1024)

struct conn {
	struct mv_http_reader rd;
	ev_io rio, wio;
	ev_timer deadline;
	int fd;
	uint64_t id;
	char *in, *out;
	size_t in_len, in_cap, out_len, out_cap;
	bool busy;      /* its request is with the Lua router */
	bool closing;   /* close once the output is sent */
	bool reading;   /* bytes of the next request have arrived */
	bool eof;       /* the client shut down its side: what is buffered
			 * is still answered, then the connection closes */
	bool continued; /* "100 Continue" sent for this request */
	bool draining;  /* answered and shut down for writing: input is
			 * read and dropped until EOF, so the answer is not
			 * lost to a reset while the client still sends */
	struct conn *next;
};

static struct {
	int fd;
	char *path;
	ev_io io;
	struct conn *conns;
	unsigned int count, max_clients;
	uint64_t next_id;
	int handler_ref;
	struct mv_http_limits lim;
	double read_timeout, idle_timeout;
} srv = { .fd = -1, .handler_ref = LUA_NOREF };

static struct ev_loop *evl(void)
{
	return mvlua__loop()->ev;
}

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
	ev_timer_stop(ev, &c->deadline);
	close(c->fd);
	http_reader__free(&c->rd);
	free(c->in);
	free(c->out);
	free(c);
}

static void arm(struct conn *c, double seconds)
{
	ev_timer_stop(evl(), &c->deadline);
	if (seconds > 0) {
		ev_timer_set(&c->deadline, seconds, 0);
		ev_timer_start(evl(), &c->deadline);
	}
}

/* Sends what it can; false if the connection was closed. */
static bool flush(struct conn *c)
{
	if (fdio__send_pending(c->fd, c->out, &c->out_len) < 0) {
		conn_close(c);
		return false;
	}
	if (c->out_len) {
		if (!ev_is_active(&c->wio))
			ev_io_start(evl(), &c->wio);
		if (!c->busy)
			arm(c, srv.read_timeout); /* it must read its answer in time */
		return true;
	}
	ev_io_stop(evl(), &c->wio);
	if (c->closing && !c->draining) {
		c->draining = true;
		shutdown(c->fd, SHUT_WR);
		ev_io_start(evl(), &c->rio);
		arm(c, srv.read_timeout);
	}
	return true;
}

/* After the last answer: input is dropped until EOF or the deadline. */
static void drain(struct conn *c)
{
	char scratch[4096];
	ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

static int queue(struct conn *c, const char *s, size_t len)
{
	if (c->out_len + len > MAX_OUT)
		return -ENOBUFS;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;
		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	return 0;
}

/* Queues a response and sends it; false if the connection was closed. */
static bool answer(struct conn *c, int status, const char *body, size_t len, bool keep_alive)
{
	size_t n;
	char *resp = http__response(status, body, len, keep_alive, &n);

	if (!keep_alive) {
		c->closing = true;
		ev_io_stop(evl(), &c->rio);
	}
	if (!resp || queue(c, resp, n) < 0) {
		free(resp);
		conn_close(c);
		return false;
	}
	free(resp);
	return flush(c);
}

static bool answer_error(struct conn *c, int status, const char *detail)
{
	char *body = http__error_body(status, detail);
	bool ok;

	if (!body)
		body = http__error_body(status, "(error message is not valid UTF-8)");
	ok = answer(c, status, body, body ? strlen(body) : 0, false);
	free(body);
	return ok;
}

/* Hands the complete request to the Lua router. */
static void dispatch(struct conn *c)
{
	lua_State *L = mvlua__active_state();

	c->busy = true;
	ev_io_stop(evl(), &c->rio);
	ev_timer_stop(evl(), &c->deadline);
	if (!L || srv.handler_ref == LUA_NOREF) {
		answer_error(c, 503, "the API is shutting down");
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, srv.handler_ref);
	lua_pushinteger(L, (lua_Integer)c->id);
	lua_pushstring(L, c->rd.method);
	lua_pushlstring(L, c->rd.url, c->rd.url_len);
	lua_pushlstring(L, c->rd.body ? c->rd.body : "", c->rd.body_len);
	if (!mvlua__pcall(L, 4, 0, "API request")) {
		c->busy = false;
		answer_error(c, 500, "the request handler failed (see moonvisor's log)");
	}
}

/* Parses what is buffered: one request at a time. False if the
 * connection was closed. */
static bool process(struct conn *c)
{
	size_t used;

	if (c->busy || c->closing)
		return true;
	used = http_reader__feed(&c->rd, c->in, c->in_len);
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	if (c->rd.status) {
		pr_info("API: %d %s", c->rd.status, c->rd.error);
		return answer_error(c, c->rd.status, c->rd.error);
	}
	if (c->rd.expect_continue && !c->rd.done && !c->continued) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		c->continued = true;
		if (queue(c, cont, sizeof(cont) - 1) < 0) {
			conn_close(c);
			return false;
		}
		if (!flush(c))
			return false;
	}
	if (c->rd.done)
		dispatch(c);
	else if (c->eof) /* an unfinished request and no more bytes: done */
		c->closing = true;
	if (c->closing && !c->busy && !c->out_len) {
		conn_close(c);
		return false;
	}
	return true;
}

static void read_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct conn *c = w->data;
	ssize_t n;

	if (c->draining) {
		drain(c);
		return;
	}
	if (c->eof) { /* woken by api_respond for pipelined bytes */
		process(c);
		return;
	}
	if (c->in_cap - c->in_len < IN_CHUNK) {
		char *p = realloc(c->in, c->in_len + IN_CHUNK);
		if (!p) {
			conn_close(c);
			return;
		}
		c->in = p;
		c->in_cap = c->in_len + IN_CHUNK;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		process(c); /* woken by api_respond for pipelined bytes */
		return;
	}
	if (n < 0) {
		conn_close(c); /* the client went away, maybe mid-request */
		return;
	}
	if (n == 0) {
		c->eof = true;
		ev_io_stop(ev, &c->rio);
	} else {
		c->in_len += (size_t)n;
		if (!c->reading) {
			c->reading = true;
			arm(c, srv.read_timeout); /* the deadline runs from a request's first byte */
		}
	}
	process(c);
}

static void write_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	flush(w->data);
}

static void deadline_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	if (c->out_len || !c->reading || c->draining) {
		conn_close(c); /* idle, or not reading its answer */
		return;
	}
	pr_info("API: dropping a client whose request took longer than %g s", srv.read_timeout);
	answer_error(c, 408, "request not complete within the read timeout");
}

static struct conn *conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->id = ++srv.next_id;
	http_reader__init(&c->rd, &srv.lim);
	ev_io_init(&c->rio, read_cb, fd, EV_READ);
	ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
	ev_timer_init(&c->deadline, deadline_cb, 0, 0);
	c->rio.data = c->wio.data = c->deadline.data = c;
	return c;
}

/* A refused client gets one error response, best effort. */
static void refuse(int fd, int status, const char *why)
{
	char *body = http__error_body(status, why);
	size_t n;
	char *resp = body ? http__response(status, body, strlen(body), false, &n) : NULL;

	if (resp && send(fd, resp, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("could not tell a refused API client why: %s", strerror(errno));
	free(resp);
	free(body);
	close(fd);
}

static void accept_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	int fd = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char why[160];
	struct conn *c;

	if (fd < 0)
		return;
	if (!usock__peer_allowed(fd, WHAT, why, sizeof(why))) {
		refuse(fd, 403, why);
		return;
	}
	if (srv.count >= srv.max_clients) {
		snprintf(why, sizeof(why), "too many API clients (at most %u at once)", srv.max_clients);
		refuse(fd, 503, why);
		return;
	}
	c = conn_new(fd);
	if (!c) {
		refuse(fd, 503, "out of memory");
		return;
	}
	c->next = srv.conns;
	srv.conns = c;
	srv.count++;
	ev_io_start(ev, &c->rio);
	arm(c, srv.idle_timeout);
}

/* ---- Lua ------------------------------------------------------------------- */

static double opt_number(lua_State *L, const char *key, double def, double min)
{
	double v;

	if (lua_getfield(L, 2, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return def;
	}
	if (!lua_isnumber(L, -1))
		luaL_error(L, "mv.api.listen: %s must be a number", key);
	v = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (v < min)
		luaL_error(L, "mv.api.listen: %s must be at least %g", key, min);
	return v;
}

static void read_options(lua_State *L)
{
	srv.lim = MV_HTTP_DEFAULT_LIMITS;
	srv.read_timeout = 10;
	srv.idle_timeout = 120;
	srv.max_clients = 128;
	if (lua_isnoneornil(L, 2))
		return;
	luaL_checktype(L, 2, LUA_TTABLE);
	srv.read_timeout = opt_number(L, "read_timeout", srv.read_timeout, 0.001);
	srv.idle_timeout = opt_number(L, "idle_timeout", srv.idle_timeout, 0.001);
	srv.max_clients = (unsigned int)opt_number(L, "max_clients", srv.max_clients, 1);
	srv.lim.max_body = (size_t)opt_number(L, "max_body", (double)srv.lim.max_body, 0);
	srv.lim.max_head = (size_t)opt_number(L, "max_head", (double)srv.lim.max_head, 256);
}

/* core.api_listen(path, opts, handler) -> true | nil, err.
 * handler(id, method, target, body) is called for each request; the answer
 * goes back with core.api_respond(id, ...). */
static int l_api_listen(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct mv_err err = { "" };
	char *copy;
	int fd;

	luaL_checktype(L, 3, LUA_TFUNCTION);
	if (srv.fd >= 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "the API already listens on %s", srv.path);
		return 2;
	}
	read_options(L);
	copy = strdup(path);
	if (!copy)
		return luaL_error(L, "out of memory");
	fd = usock__listen(path, 128, WHAT, &err);
	if (fd < 0) {
		free(copy);
		lua_pushnil(L);
		lua_pushstring(L, err.msg);
		return 2;
	}
	srv.fd = fd;
	srv.path = copy;
	lua_pushvalue(L, 3);
	srv.handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	ev_io_init(&srv.io, accept_cb, srv.fd, EV_READ);
	ev_io_start(evl(), &srv.io);
	lua_pushboolean(L, 1);
	return 1;
}

static struct conn *find(uint64_t id)
{
	for (struct conn *c = srv.conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* core.api_respond(id, status, body|nil) -> true, or false if the client
 * has gone away. */
static int l_api_respond(lua_State *L)
{
	lua_Integer id = luaL_checkinteger(L, 1), status = luaL_checkinteger(L, 2);
	size_t len = 0;
	const char *body = luaL_optlstring(L, 3, NULL, &len);
	struct conn *c = find((uint64_t)id);
	bool keep;

	luaL_argcheck(L, status >= 100 && status <= 599, 2, "not an HTTP status");
	if (!c || !c->busy) {
		lua_pushboolean(L, 0);
		return 1;
	}
	c->busy = false;
	c->reading = false;
	c->continued = false;
	keep = c->rd.keep_alive;
	http_reader__next(&c->rd);
	if (!answer(c, (int)status, body, len, keep)) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (c->eof && !c->closing) {
		ev_feed_event(evl(), &c->rio, EV_READ); /* the rest of what it sent */
	} else if (!c->closing) {
		ev_io_start(evl(), &c->rio);
		if (c->in_len) { /* a pipelined request */
			c->reading = true;
			arm(c, srv.read_timeout);
			ev_feed_event(evl(), &c->rio, EV_READ);
		} else if (!c->out_len) {
			arm(c, srv.idle_timeout);
		}
	}
	lua_pushboolean(L, 1);
	return 1;
}

void api_server__close(void)
{
	lua_State *L = mvlua__active_state();

	if (srv.fd < 0)
		return;
	while (srv.conns) {
		flush(srv.conns); /* last answers (vmm.shutdown's), best effort */
		if (srv.conns)
			conn_close(srv.conns);
	}
	ev_io_stop(evl(), &srv.io);
	close(srv.fd);
	srv.fd = -1;
	unlink(srv.path);
	free(srv.path);
	srv.path = NULL;
	if (L)
		luaL_unref(L, LUA_REGISTRYINDEX, srv.handler_ref);
	srv.handler_ref = LUA_NOREF;
}

static int l_api_close(lua_State *L)
{
	api_server__close();
	return 0;
}

/* core.api_listening() -> the socket's path, or nil */
static int l_api_listening(lua_State *L)
{
	if (srv.fd < 0)
		lua_pushnil(L);
	else
		lua_pushstring(L, srv.path);
	return 1;
}

/* core.api_clients() -> connections open now */
static int l_api_clients(lua_State *L)
{
	lua_pushinteger(L, srv.count);
	return 1;
}

static int l_getpid(lua_State *L)
{
	lua_pushinteger(L, getpid());
	return 1;
}

void mvlua__register_api_server(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "api_listen", l_api_listen }, { "api_respond", l_api_respond }, { "api_close", l_api_close },
		{ "api_listening", l_api_listening }, { "api_clients", l_api_clients }, { "getpid", l_getpid },
		{ NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
}
