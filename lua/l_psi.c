/* core.psi_watch(path, trigger, fn) -> watch | nil, err: a PSI trigger
 * (Documentation/accounting/psi.rst) on /proc/pressure/memory or a
 * cgroup's memory.pressure. The kernel signals a trigger with POLLPRI,
 * which libev cannot wait for (the file is always readable), so the fd
 * sits in an epoll set of its own asking for EPOLLPRI, and libev watches
 * that set for readability. fn(text) gets the file's current content.
 * watch:cancel() closes both; a watch does not keep moonvisor running. */
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "lua/state.h"

#define PSI_MT "moonvisor.PsiWatch"

struct psi_watch {
	ev_io w;
	int fd, epfd;
	int fn_ref, self_ref;
};

static void psi_close(lua_State *L, struct psi_watch *p)
{
	struct mv_loop *loop = mvlua__loop();

	if (ev_is_active(&p->w)) {
		ev_ref(loop->ev);
		ev_io_stop(loop->ev, &p->w);
	}
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = p->epfd = -1;
	if (L) {
		luaL_unref(L, LUA_REGISTRYINDEX, p->fn_ref);
		luaL_unref(L, LUA_REGISTRYINDEX, p->self_ref);
	}
	p->fn_ref = p->self_ref = LUA_NOREF;
}

static void psi_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct psi_watch *p = w->data;
	lua_State *L = mvlua__active_state();
	struct epoll_event e;
	char buf[512];
	ssize_t n;

	if (epoll_wait(p->epfd, &e, 1, 0) <= 0 || !L || p->fn_ref == LUA_NOREF)
		return;
	if (e.events & EPOLLERR) {
		pr_warn("PSI trigger: the kernel dropped it (its file went away)");
		psi_close(L, p);
		return;
	}
	n = pread(p->fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->self_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->fn_ref);
	lua_pushstring(L, buf);
	mvlua__pcall(L, 1, 0, "host_memory_pressure callback");
	lua_pop(L, 1);
}

static int fail(lua_State *L, struct psi_watch *p, const char *what, const char *path, int err)
{
	psi_close(L, p);
	lua_pushnil(L);
	lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
	return 2;
}

static int l_psi_watch(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t tlen;
	const char *trigger = luaL_checklstring(L, 2, &tlen);
	struct epoll_event e = { .events = EPOLLPRI };
	struct mv_loop *loop = mvlua__loop();
	struct psi_watch *p;

	luaL_checktype(L, 3, LUA_TFUNCTION);
	p = lua_newuserdatauv(L, sizeof(*p), 0);
	memset(p, 0, sizeof(*p));
	p->fd = p->epfd = -1;
	p->fn_ref = p->self_ref = LUA_NOREF;
	luaL_setmetatable(L, PSI_MT);
	p->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (p->fd < 0)
		return fail(L, p, "opening", path, errno);
	if (write(p->fd, trigger, tlen + 1) < 0)
		return fail(L, p, "writing a trigger to", path, errno);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	e.data.ptr = p;
	if (p->epfd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->fd, &e) < 0)
		return fail(L, p, "watching", path, errno);
	lua_pushvalue(L, 3);
	p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, -1);
	p->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	ev_io_init(&p->w, psi_cb, p->epfd, EV_READ);
	p->w.data = p;
	ev_io_start(loop->ev, &p->w);
	ev_unref(loop->ev);
	return 1;
}

static int l_psi_cancel(lua_State *L)
{
	struct psi_watch *p = luaL_checkudata(L, 1, PSI_MT);
	bool was = p->fd >= 0;

	psi_close(L, p);
	lua_pushboolean(L, was);
	return 1;
}

static int l_psi_gc(lua_State *L)
{
	psi_close(NULL, luaL_checkudata(L, 1, PSI_MT));
	return 0;
}

void mvlua__register_psi(lua_State *L)
{
	if (luaL_newmetatable(L, PSI_MT)) {
		lua_pushcfunction(L, l_psi_gc);
		lua_setfield(L, -2, "__gc");
		lua_newtable(L);
		lua_pushcfunction(L, l_psi_cancel);
		lua_setfield(L, -2, "cancel");
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, l_psi_watch);
	lua_setfield(L, -2, "psi_watch");
}
