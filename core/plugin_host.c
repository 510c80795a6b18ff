/* The host API table plugins call (struct mv_plugin_host): logging,
 * options, I/O regions, ACPI tables, interrupts, guest memory, the event
 * loop, threads, events, Lua methods. PCI and virtio members are filled
 * by plugin_pci.c. */
#include "core/plugin_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/seccomp.h"
#include "core/vm.h"

static mv_plugin_event_fn event_sink;

void plugin__set_event_sink(mv_plugin_event_fn fn)
{
	event_sink = fn;
}

static void h_log(struct mv_plugin_dev *d, int level, const char *fmt, ...)
{
	char line[512], func[96];
	va_list ap;

	if (level < MV_PLUGIN_LOG_ERROR || level > MV_PLUGIN_LOG_DEBUG)
		level = MV_PLUGIN_LOG_INFO;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(func, sizeof(func), "plugin %s '%s'", d->cfg->plugin->desc->name, d->cfg->id);
	log__write((enum mv_log_level)level, func, 0, "%s", line);
}

static const char *h_dev_id(struct mv_plugin_dev *d)
{
	return d->cfg->id;
}

/* The option's declaration and value (type NIL if unset). */
static int opt(struct mv_plugin_dev *d, const char *name, enum mv_plugin_type_tag want,
	       const struct mv_plugin_value **v)
{
	const struct mv_plugin_opt *o = devcfg__opt(d->cfg, name);

	if (!o)
		return plugin_dev__refuse(d, -ENOENT, "asked for option '%s', which its type does not declare", name);
	if (o->decl->type != want)
		return plugin_dev__refuse(d, -EINVAL, "asked for option '%s' with the wrong type", name);
	*v = &o->v;
	return 0;
}

static int h_config_bool(struct mv_plugin_dev *d, const char *name, int dflt, int *out)
{
	const struct mv_plugin_value *v = NULL;
	int ret = opt(d, name, MV_PLUGIN_BOOL, &v);

	if (ret == 0)
		*out = v->type == MV_PLUGIN_NIL ? dflt : v->u.b;
	return ret;
}

static int h_config_int(struct mv_plugin_dev *d, const char *name, int64_t dflt, int64_t *out)
{
	const struct mv_plugin_value *v = NULL;
	int ret = opt(d, name, MV_PLUGIN_INT, &v);

	if (ret == 0)
		*out = v->type == MV_PLUGIN_NIL ? dflt : v->u.i;
	return ret;
}

static int h_config_number(struct mv_plugin_dev *d, const char *name, double dflt, double *out)
{
	const struct mv_plugin_value *v = NULL;
	int ret = opt(d, name, MV_PLUGIN_NUMBER, &v);

	if (ret == 0)
		*out = v->type == MV_PLUGIN_NIL ? dflt : v->u.n;
	return ret;
}

static int h_config_string(struct mv_plugin_dev *d, const char *name, const char *dflt, const char **out)
{
	const struct mv_plugin_value *v = NULL;
	int ret = opt(d, name, MV_PLUGIN_STRING, &v);

	if (ret == 0)
		*out = v->type == MV_PLUGIN_NIL ? dflt : v->u.s;
	return ret;
}

/* ---- I/O regions ---- */

static void region_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct mv_plugin_region *r = opaque;

	if (r->ops.read)
		r->ops.read(r->opaque, off, data, len);
	else
		memset(data, 0xff, len);
}

static void region_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct mv_plugin_region *r = opaque;

	if (r->ops.write)
		r->ops.write(r->opaque, off, data, len);
}

static const struct mv_iodev_ops region_ops = { .read = region_read, .write = region_write };

static int add_region(struct mv_plugin_dev *d, struct mv_iobus *bus, uint64_t base, uint64_t len,
		      const struct mv_plugin_io_ops *ops, void *opaque)
{
	struct mv_plugin_region *r;
	struct mv_err err = { "" };
	int ret;

	if (!d->set->have_env || !bus)
		return plugin_dev__refuse(d, -ENODEV, "no machine to register I/O on");
	if (!ops)
		return plugin_dev__refuse(d, -EINVAL, "I/O region without ops");
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ops = *ops;
	r->opaque = opaque;
	snprintf(r->name, sizeof(r->name), "%s", d->cfg->id);
	ret = iobus__register(bus, base, len, &region_ops, r, r->name, &err);
	if (ret < 0) {
		free(r);
		return plugin_dev__refuse(d, ret, "%s range [0x%llx, +0x%llx): %s", bus->name, (unsigned long long)base,
					  (unsigned long long)len, err.msg);
	}
	r->bus = bus;
	r->base = base;
	r->next = d->regions;
	d->regions = r;
	return 0;
}

static int h_pio_register(struct mv_plugin_dev *d, uint64_t base, uint64_t len, const struct mv_plugin_io_ops *ops,
			  void *opaque)
{
	if (base + len > 0x10000 || base + len < base)
		return plugin_dev__refuse(d, -EINVAL, "port range [0x%llx, +0x%llx) is past port 0xffff",
					  (unsigned long long)base, (unsigned long long)len);
	return add_region(d, d->set->env.pio, base, len, ops, opaque);
}

static int h_mmio_register(struct mv_plugin_dev *d, uint64_t base, uint64_t len,
			   const struct mv_plugin_io_ops *ops, void *opaque)
{
	const struct mv_guestmem *mem = d->set->env.mem;

	for (unsigned int i = 0; mem && i < mem->nregions; i++) {
		const struct mv_memregion *m = &mem->regions[i];
		if (base < m->gpa + m->size && m->gpa < base + len)
			return plugin_dev__refuse(d, -EEXIST, "MMIO range [0x%llx, +0x%llx) overlaps guest RAM",
						  (unsigned long long)base, (unsigned long long)len);
	}
	return add_region(d, d->set->env.mmio, base, len, ops, opaque);
}

static int h_acpi_add_table(struct mv_plugin_dev *d, const char signature[4], uint8_t revision, const void *body,
			    uint32_t len)
{
	struct mv_plugin_set *s = d->set;
	struct mv_plugin_table *t;

	if (!s->booting || d->cfg->runtime)
		return plugin_dev__refuse(d, -EBUSY, "ACPI tables can only be added by devices configured in mv.vm{}");
	if (s->ntables == MV_PLUGIN_MAX_TABLES)
		return plugin_dev__refuse(d, -ENOSPC, "more than %d plugin ACPI tables", MV_PLUGIN_MAX_TABLES);
	if (len > 16384 || (len && !body))
		return plugin_dev__refuse(d, -EINVAL, "ACPI table body of %u bytes", len);
	t = &s->tables[s->ntables];
	t->body = malloc(len ? len : 1);
	if (!t->body)
		return -ENOMEM;
	memcpy(t->sig, signature, 4);
	t->revision = revision;
	if (len)
		memcpy(t->body, body, len);
	t->len = len;
	s->ntables++;
	return 0;
}

static void h_irq_set(struct mv_plugin_dev *d, unsigned int gsi, int level)
{
	if (gsi >= 16) {
		pr_warn("plugin device '%s': GSI %u is not an ISA line", d->cfg->id, gsi);
		return;
	}
	irq__set_level(&d->set->env.irq, gsi, level);
}

static int h_mem_read(struct mv_plugin_dev *d, uint64_t gpa, void *dst, uint64_t len)
{
	return d->set->env.mem ? guestmem__read(d->set->env.mem, gpa, dst, len) : -EFAULT;
}

static int h_mem_write(struct mv_plugin_dev *d, uint64_t gpa, const void *src, uint64_t len)
{
	return d->set->env.mem ? guestmem__write(d->set->env.mem, gpa, src, len) : -EFAULT;
}

/* ---- the loop ---- */

static void timer_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct mv_plugin_timer *t = w->data;

	/* a one-shot timer is stopped by libev before this runs, and that
	 * stop dropped the reference h_timer_start gave up already: take it
	 * back, or the loop's count runs short (at 0 it polls without
	 * blocking) */
	if (!ev_is_active(w))
		ev_ref(ev);
	t->fn(t->opaque);
}

static struct mv_plugin_timer *h_timer_start(struct mv_plugin_dev *d, double after, double every,
					     void (*fn)(void *opaque), void *opaque)
{
	struct mv_plugin_timer *t;

	if (!fn || after < 0 || every < 0 || !d->set->have_env)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->d = d;
	t->fn = fn;
	t->opaque = opaque;
	ev_timer_init(&t->w, timer_cb, after, every);
	t->w.data = t;
	ev_timer_start(d->set->env.loop->ev, &t->w);
	ev_unref(d->set->env.loop->ev); /* a device timer alone does not keep moonvisor running */
	t->next = d->timers;
	d->timers = t;
	return t;
}

static void timer_free(struct mv_plugin_timer *t)
{
	struct ev_loop *ev = t->d->set->env.loop->ev;

	if (ev_is_active(&t->w)) { /* a fired one-shot timer gave it back */
		ev_ref(ev);
		ev_timer_stop(ev, &t->w);
	}
	free(t);
}

static void h_timer_stop(struct mv_plugin_timer *t)
{
	if (!t)
		return;
	for (struct mv_plugin_timer **pp = &t->d->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			timer_free(t);
			return;
		}
}

static void watch_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct mv_plugin_watch *x = w->data;

	x->fn(x->opaque, w->fd, (revents & EV_READ ? MV_PLUGIN_READ : 0) | (revents & EV_WRITE ? MV_PLUGIN_WRITE : 0));
}

static struct mv_plugin_watch *h_fd_watch(struct mv_plugin_dev *d, int fd, int events,
					  void (*fn)(void *opaque, int fd, int revents), void *opaque)
{
	struct mv_plugin_watch *x;

	if (!fn || fd < 0 || !(events & (MV_PLUGIN_READ | MV_PLUGIN_WRITE)) || !d->set->have_env)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->d = d;
	x->fn = fn;
	x->opaque = opaque;
	ev_io_init(&x->w, watch_cb, fd, (events & MV_PLUGIN_READ ? EV_READ : 0) | (events & MV_PLUGIN_WRITE ? EV_WRITE : 0));
	x->w.data = x;
	ev_io_start(d->set->env.loop->ev, &x->w);
	ev_unref(d->set->env.loop->ev);
	x->next = d->watches;
	d->watches = x;
	return x;
}

static void watch_free(struct mv_plugin_watch *x)
{
	struct ev_loop *ev = x->d->set->env.loop->ev;

	ev_ref(ev);
	ev_io_stop(ev, &x->w);
	free(x);
}

static void h_fd_unwatch(struct mv_plugin_watch *x)
{
	if (!x)
		return;
	for (struct mv_plugin_watch **pp = &x->d->watches; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			watch_free(x);
			return;
		}
}

struct post_rec {
	uint64_t serial;
	void (*fn)(void *opaque, uint64_t data);
	void *opaque;
	uint64_t data;
};

static void post_cb(void *arg, uint64_t unused)
{
	struct post_rec *p = arg;

	if (plugin_dev__by_serial(p->serial))
		p->fn(p->opaque, p->data);
	free(p);
}

/* Any thread: only d->serial and d->set->env.loop are read, both fixed
 * while the device exists (the caller's thread is joined or its
 * callbacks are unregistered before the device goes). */
static int h_post(struct mv_plugin_dev *d, void (*fn)(void *opaque, uint64_t data), void *opaque, uint64_t data)
{
	struct post_rec *p = malloc(sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	*p = (struct post_rec){ d->serial, fn, opaque, data };
	ret = loop__post(d->set->env.loop, post_cb, p, 0);
	if (ret < 0)
		free(p);
	return ret;
}

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

static void *thread_main(void *opaque)
{
	struct thread_start ts = *(struct thread_start *)opaque;
	struct mv_err err;

	free(opaque);
	if (seccomp__enter(MV_SECCOMP_IO, ts.name, &err) < 0) {
		pr_err("plugin thread %s: %s", ts.name, err.msg);
		return NULL;
	}
	return ts.fn(ts.arg);
}

static int h_thread_start(struct mv_plugin_dev *d, const char *name, void *(*fn)(void *arg), void *arg,
			  unsigned long *out)
{
	struct thread_start *ts = calloc(1, sizeof(*ts));
	pthread_t t;
	int ret;

	if (!ts)
		return -ENOMEM;
	ts->fn = fn;
	ts->arg = arg;
	snprintf(ts->name, sizeof(ts->name), "%s", name ? name : "mv-plugin");
	ret = pthread_create(&t, NULL, thread_main, ts);
	if (ret) {
		free(ts);
		return -ret;
	}
	pthread_setname_np(t, ts->name);
	*out = (unsigned long)t;
	return 0;
}

/* An event waits in a record (copied strings) and reaches Lua from the
 * loop's queue, never from inside the plugin's call: a handler may destroy
 * the device (vm:kill) that emitted it. */
struct event_rec {
	struct mv_vm *vm;
	char device[64], name[64];
	unsigned int n;
	struct mv_plugin_field fields[];
};

static void event_free(struct event_rec *e)
{
	for (unsigned int i = 0; i < e->n; i++) {
		free((char *)e->fields[i].key);
		if (e->fields[i].value.type == MV_PLUGIN_STRING)
			free((char *)e->fields[i].value.u.s);
	}
	free(e);
}

static void event_cb(void *arg, uint64_t unused)
{
	struct event_rec *e = arg;

	if (event_sink && (!e->vm || vm__alive(e->vm)))
		event_sink(e->vm, e->device, e->name, e->fields, e->n);
	event_free(e);
}

static int copy_fields(struct event_rec *e, const struct mv_plugin_field *fields, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, e->n++) {
		e->fields[i] = fields[i];
		e->fields[i].key = strdup(fields[i].key);
		if (fields[i].value.type == MV_PLUGIN_STRING)
			e->fields[i].value.u.s = strdup(fields[i].value.u.s ? fields[i].value.u.s : "");
		if (!e->fields[i].key || (fields[i].value.type == MV_PLUGIN_STRING && !e->fields[i].value.u.s)) {
			e->n++;
			return -ENOMEM;
		}
	}
	return 0;
}

static int h_emit(struct mv_plugin_dev *d, const char *name, const struct mv_plugin_field *fields, unsigned int n)
{
	struct event_rec *e;
	int ret;

	if (!name || !name[0] || strlen(name) > 63 || (n && !fields) || n > 64)
		return plugin_dev__refuse(d, -EINVAL, "event name must be 1 to 63 characters, at most 64 fields");
	for (unsigned int i = 0; i < n; i++)
		if (!fields[i].key)
			return plugin_dev__refuse(d, -EINVAL, "event '%s': field %u has no key", name, i + 1);
	e = calloc(1, sizeof(*e) + n * sizeof(e->fields[0]));
	if (!e)
		return -ENOMEM;
	e->vm = d->set->env.vm;
	snprintf(e->device, sizeof(e->device), "%s", d->cfg->id);
	snprintf(e->name, sizeof(e->name), "%s", name);
	ret = copy_fields(e, fields, n);
	if (ret == 0)
		ret = loop__post(d->set->env.loop, event_cb, e, 0);
	if (ret < 0)
		event_free(e);
	return ret;
}

static int h_lua_method(struct mv_plugin_dev *d, const char *name, mv_plugin_method_fn fn, void *opaque)
{
	struct mv_plugin_method *m;

	if (!name || !name[0] || strlen(name) >= sizeof(m->name) || !fn)
		return plugin_dev__refuse(d, -EINVAL, "Lua method name must be 1 to %zu characters",
					  sizeof(m->name) - 1);
	for (m = d->methods; m; m = m->next)
		if (strcmp(m->name, name) == 0)
			return plugin_dev__refuse(d, -EEXIST, "Lua method '%s' declared twice", name);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->fn = fn;
	m->opaque = opaque;
	m->next = d->methods;
	d->methods = m;
	return 0;
}

/* why becomes "plugin ID: WHY" (the reset event's reason) */
static void h_request(struct mv_plugin_dev *d, enum mv_plugin_request req, const char *why)
{
	char reason[200];

	snprintf(reason, sizeof(reason), "plugin %s: %s", d->cfg->id, why && why[0] ? why : "no reason given");
	if (d->set->env.request)
		d->set->env.request(d->set->env.opaque, req, reason);
}

void plugin_host__release(struct mv_plugin_dev *d)
{
	while (d->timers) {
		struct mv_plugin_timer *t = d->timers;
		d->timers = t->next;
		timer_free(t);
	}
	while (d->watches) {
		struct mv_plugin_watch *x = d->watches;
		d->watches = x->next;
		watch_free(x);
	}
	while (d->regions) {
		struct mv_plugin_region *r = d->regions;
		d->regions = r->next;
		free(r);
	}
	while (d->methods) {
		struct mv_plugin_method *m = d->methods;
		d->methods = m->next;
		free(m);
	}
}

static struct mv_plugin_host host = {
	.size = sizeof(struct mv_plugin_host),
	.abi_major = MV_PLUGIN_ABI_MAJOR,
	.abi_minor = MV_PLUGIN_ABI_MINOR,
	.version = MV_VERSION,
	.log = h_log,
	.dev_id = h_dev_id,
	.config_bool = h_config_bool,
	.config_int = h_config_int,
	.config_number = h_config_number,
	.config_string = h_config_string,
	.pio_register = h_pio_register,
	.mmio_register = h_mmio_register,
	.acpi_add_table = h_acpi_add_table,
	.irq_set = h_irq_set,
	.mem_read = h_mem_read,
	.mem_write = h_mem_write,
	.timer_start = h_timer_start,
	.timer_stop = h_timer_stop,
	.fd_watch = h_fd_watch,
	.fd_unwatch = h_fd_unwatch,
	.post = h_post,
	.thread_start = h_thread_start,
	.emit = h_emit,
	.lua_method = h_lua_method,
	.request = h_request,
};

const struct mv_plugin_host *plugin__host(void)
{
	static bool filled;

	if (!filled) {
		plugin_pci__fill_host(&host);
		filled = true;
	}
	return &host;
}
