/* A configured plugin device: which plugin and type, its id and its
 * options, checked against what the type declares. */
#include "core/plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = { "nil", "boolean", "integer", "number", "string" };

static const char *tag_name(enum mv_plugin_type_tag t)
{
	return (unsigned int)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

/* "a, b, c" of the names in a NULL-terminated declaration list */
static void list_names(char *buf, size_t len, const struct mv_plugin_type *t)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct mv_plugin_option *o = t->options; o && o->name && used < len; o++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", o->name);
	if (!buf[0])
		snprintf(buf, len, "none");
}

static void list_types(char *buf, size_t len, const struct mv_plugin_desc *d)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < d->ntypes && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", d->types[i].name);
}

int plugin__find_type(struct mv_plugin *p, const char *type, const struct mv_plugin_type **out, struct mv_err *err)
{
	char names[256], label[320];

	list_types(names, sizeof(names), p->desc);
	if (!type) {
		if (p->desc->ntypes != 1)
			return err__set(err, -EINVAL, "%s provides several device types: say which with type = ... (%s)",
					plugin__label(p, label, sizeof(label)), names);
		*out = &p->desc->types[0];
		return 0;
	}
	for (unsigned int i = 0; i < p->desc->ntypes; i++)
		if (strcmp(p->desc->types[i].name, type) == 0) {
			*out = &p->desc->types[i];
			return 0;
		}
	return err__set(err, -ENOENT, "%s has no device type '%s' (types: %s)", plugin__label(p, label, sizeof(label)),
			type, names);
}

int devcfg__new(struct mv_plugin *p, const struct mv_plugin_type *t, const char *id, struct mv_plugin_devcfg **out,
		struct mv_err *err)
{
	struct mv_plugin_devcfg *c = calloc(1, sizeof(*c));
	unsigned int nopts = 0;

	for (const struct mv_plugin_option *o = t->options; o && o->name; o++)
		nopts++;
	if (!c)
		return err__set(err, -ENOMEM, "out of memory");
	c->plugin = p;
	c->type = t;
	c->id = id ? strdup(id) : NULL;
	c->opts = calloc(nopts + 1, sizeof(*c->opts));
	if ((id && !c->id) || !c->opts) {
		devcfg__free(c);
		return err__set(err, -ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; i < nopts; i++)
		c->opts[i].decl = &t->options[i];
	c->nopts = nopts;
	*out = c;
	return 0;
}

static int retype(const struct mv_plugin_option *decl, const struct mv_plugin_value *v, struct mv_plugin_value *to)
{
	*to = *v;
	if (decl->type == v->type)
		return 0;
	if (decl->type == MV_PLUGIN_NUMBER && v->type == MV_PLUGIN_INT) {
		to->type = MV_PLUGIN_NUMBER;
		to->u.n = (double)v->u.i;
		return 0;
	}
	return -EINVAL;
}

int devcfg__set_opt(struct mv_plugin_devcfg *c, const char *name, const struct mv_plugin_value *v, struct mv_err *err)
{
	char names[512], label[320];
	struct mv_plugin_opt *o = NULL;
	struct mv_plugin_value nv;

	for (unsigned int i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].decl->name, name) == 0)
			o = &c->opts[i];
	plugin__label(c->plugin, label, sizeof(label));
	if (!o) {
		list_names(names, sizeof(names), c->type);
		return err__set(err, -ENOENT, "%s, type '%s': unknown option '%s' (options: %s)", label, c->type->name,
				name, names);
	}
	if (retype(o->decl, v, &nv) < 0)
		return err__set(err, -EINVAL, "%s, type '%s': option '%s' must be a%s %s (%s), got %s", label,
				c->type->name, name, o->decl->type == MV_PLUGIN_INT ? "n" : "", tag_name(o->decl->type),
				o->decl->help ? o->decl->help : "", tag_name(v->type));
	if (nv.type == MV_PLUGIN_STRING && !(nv.u.s = strdup(v->u.s)))
		return err__set(err, -ENOMEM, "out of memory");
	if (o->v.type == MV_PLUGIN_STRING)
		free((char *)o->v.u.s);
	o->v = nv;
	return 0;
}

const struct mv_plugin_opt *devcfg__opt(const struct mv_plugin_devcfg *c, const char *name)
{
	for (unsigned int i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].decl->name, name) == 0)
			return &c->opts[i];
	return NULL;
}

void devcfg__free(struct mv_plugin_devcfg *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->nopts; i++)
		if (c->opts[i].v.type == MV_PLUGIN_STRING)
			free((char *)c->opts[i].v.u.s);
	free(c->opts);
	free(c->id);
	free(c);
}
