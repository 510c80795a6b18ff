/* Plugin device instances: one per configured device and machine. The
 * host unwinds whatever a device registered when its create fails, and
 * releases it after its destroy. */
#include "core/plugin_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static struct mv_plugin_dev *live;
static uint64_t next_serial;

struct mv_plugin_dev *plugin_dev__by_serial(uint64_t serial)
{
	for (struct mv_plugin_dev *d = live; d; d = d->next_live)
		if (d->serial == serial)
			return d;
	return NULL;
}

int plugin_dev__refuse(struct mv_plugin_dev *d, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->last_err.msg, sizeof(d->last_err.msg), fmt, ap);
	va_end(ap);
	pr_warn("plugin %s, device '%s': %s", d->cfg->plugin->desc->name, d->cfg->id, d->last_err.msg);
	return code;
}

struct mv_plugin_set *plugin_set__new(void)
{
	return calloc(1, sizeof(struct mv_plugin_set));
}

struct mv_plugin_devcfg *plugin_set__find(struct mv_plugin_set *s, const char *id)
{
	for (struct mv_plugin_devcfg *c = s ? s->head : NULL; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* "<type><n>": the first free one */
static int default_id(struct mv_plugin_set *s, struct mv_plugin_devcfg *c)
{
	char id[80];

	for (unsigned int n = 0; n <= s->count; n++) {
		snprintf(id, sizeof(id), "%s%u", c->type->name, n);
		if (!plugin_set__find(s, id))
			break;
	}
	c->id = strdup(id);
	return c->id ? 0 : -ENOMEM;
}

int plugin_set__add(struct mv_plugin_set *s, struct mv_plugin_devcfg *c, struct mv_err *err)
{
	struct mv_plugin_devcfg **pp = &s->head;

	if (!c->id && default_id(s, c) < 0)
		return err__set(err, -ENOMEM, "out of memory");
	if (plugin_set__find(s, c->id))
		return err__set(err, -EEXIST, "a device with id '%s' exists already", c->id);
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
	c->next = NULL;
	s->count++;
	return 0;
}

static void unlink_live(struct mv_plugin_dev *d)
{
	for (struct mv_plugin_dev **pp = &live; *pp; pp = &(*pp)->next_live)
		if (*pp == d) {
			*pp = d->next_live;
			return;
		}
}

/* Guest-facing resources first (no callback can come in after), then
 * the plugin's destroy, then the loop objects it left behind. */
static void dev_destroy(struct mv_plugin_dev *d, bool created)
{
	plugin_pci__release(d);
	for (struct mv_plugin_region *r = d->regions; r; r = r->next)
		if (r->bus && iobus__unregister(r->bus, r->base) < 0)
			pr_warn("plugin device '%s': range 0x%llx was not registered", d->cfg->id,
				(unsigned long long)r->base);
	for (struct mv_plugin_region *r = d->regions; r; r = r->next)
		r->bus = NULL;
	if (created)
		d->cfg->type->destroy(d->state);
	plugin_host__release(d);
	unlink_live(d);
	d->cfg->live = NULL;
	free(d);
}

static int dev_create(struct mv_plugin_set *s, struct mv_plugin_devcfg *c, struct mv_err *err)
{
	struct mv_plugin_dev *d = calloc(1, sizeof(*d));
	char msg[256] = "", label[320];
	int ret;

	if (!d)
		return err__set(err, -ENOMEM, "out of memory");
	d->cfg = c;
	d->set = s;
	d->serial = ++next_serial;
	d->next_live = live;
	live = d;
	c->live = d;
	ret = c->type->create(d, &d->state, msg, sizeof(msg));
	if (ret >= 0)
		return 0;
	plugin__label(c->plugin, label, sizeof(label));
	err__set(err, ret, "%s, device '%s' (type %s): create failed: %s%s%s%s", label, c->id, c->type->name,
		 msg[0] ? msg : strerror(-ret), d->last_err.msg[0] ? " (" : "", d->last_err.msg,
		 d->last_err.msg[0] ? ")" : "");
	dev_destroy(d, false);
	return ret;
}

int plugin_set__create_one(struct mv_plugin_set *s, struct mv_plugin_devcfg *c, struct mv_err *err)
{
	if (!s->have_env)
		return 0; /* created at the next boot */
	return dev_create(s, c, err);
}

static void free_tables(struct mv_plugin_set *s)
{
	for (unsigned int i = 0; i < s->ntables; i++)
		free(s->tables[i].body);
	s->ntables = 0;
}

int plugin_set__create_all(struct mv_plugin_set *s, const struct mv_plugin_env *env, struct mv_err *err)
{
	int ret = 0;

	s->env = *env;
	s->have_env = true;
	s->booting = true;
	free_tables(s);
	for (struct mv_plugin_devcfg *c = s->head; c && ret == 0; c = c->next)
		ret = dev_create(s, c, err);
	s->booting = false;
	if (ret < 0)
		plugin_set__destroy_all(s);
	return ret;
}

void plugin_set__destroy_all(struct mv_plugin_set *s)
{
	if (!s)
		return;
	for (struct mv_plugin_devcfg *c = s->head; c; c = c->next)
		if (c->live)
			dev_destroy(c->live, true);
	free_tables(s);
	s->have_env = false;
}

void plugin_set__destroy_one(struct mv_plugin_devcfg *c)
{
	if (c->live)
		dev_destroy(c->live, true);
}

void plugin_set__remove(struct mv_plugin_set *s, struct mv_plugin_devcfg *c)
{
	for (struct mv_plugin_devcfg **pp = &s->head; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			s->count--;
			break;
		}
	if (c->live)
		dev_destroy(c->live, true);
	devcfg__free(c);
}

void plugin_set__free(struct mv_plugin_set *s)
{
	if (!s)
		return;
	plugin_set__destroy_all(s);
	while (s->head)
		plugin_set__remove(s, s->head);
	free(s);
}

static void table_hook(struct mv_aml *out, void *opaque)
{
	const struct mv_plugin_table *t = opaque;
	char sig[5];
	size_t at;

	memcpy(sig, t->sig, 4);
	sig[4] = '\0';
	at = aml__table_begin(out, sig, t->revision);
	aml__raw(out, t->body, t->len);
	aml__table_end(out, at);
}

unsigned int plugin_set__table_hooks(struct mv_plugin_set *s, struct mv_acpi_table_hook *hooks, unsigned int max)
{
	unsigned int n = 0;

	for (; s && n < s->ntables && n < max; n++)
		hooks[n] = (struct mv_acpi_table_hook){ table_hook, &s->tables[n] };
	return n;
}

int plugin_dev__call(struct mv_plugin_dev *d, const char *name, const struct mv_plugin_value *args,
		     unsigned int nargs, struct mv_plugin_value *result, char *errbuf, size_t errlen)
{
	for (struct mv_plugin_method *m = d->methods; m; m = m->next)
		if (strcmp(m->name, name) == 0) {
			*result = (struct mv_plugin_value){ .type = MV_PLUGIN_NIL };
			errbuf[0] = '\0';
			return m->fn(m->opaque, args, nargs, result, errbuf, errlen);
		}
	return -ENOENT;
}

void plugin_dev__methods(struct mv_plugin_dev *d, void (*fn)(void *opaque, const char *name), void *opaque)
{
	for (struct mv_plugin_method *m = d->methods; m; m = m->next)
		fn(opaque, m->name);
}
