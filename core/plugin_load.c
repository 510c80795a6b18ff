/* Loading plugins: dlopen with RTLD_LOCAL (a plugin's symbols never
 * resolve another plugin's), the entry symbol, the ABI check, the
 * description's sanity. A plugin is loaded once per process (keyed by its
 * realpath) and stays loaded: devices of several VMs may use it, and its
 * code must outlive every callback. A plugin refused at any step is
 * dlclose'd again. */
#include "core/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static struct mv_plugin *loaded;

const char *plugin__label(const struct mv_plugin *p, char *buf, size_t len)
{
	snprintf(buf, len, "plugin '%s' (%s)", p->desc && p->desc->name ? p->desc->name : "?", p->path);
	return buf;
}

struct mv_plugin *plugin__find(const char *path)
{
	char real[PATH_MAX];

	if (!realpath(path, real))
		return NULL;
	for (struct mv_plugin *p = loaded; p; p = p->next)
		if (strcmp(p->real, real) == 0)
			return p;
	return NULL;
}

/* Every type has a name, create and destroy; names are unique. */
static int check_types(const struct mv_plugin_desc *d, const char *path, struct mv_err *err)
{
	if (!d->types || d->ntypes == 0)
		return err__set(err, -EINVAL, "plugin %s: provides no device types", path);
	for (unsigned int i = 0; i < d->ntypes; i++) {
		const struct mv_plugin_type *t = &d->types[i];

		if (t->size < offsetof(struct mv_plugin_type, destroy) + sizeof(t->destroy) || !t->name ||
		    !t->create || !t->destroy)
			return err__set(err, -EINVAL, "plugin %s: device type %u is incomplete (name, create, destroy)",
					path, i + 1);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(d->types[j].name, t->name) == 0)
				return err__set(err, -EINVAL, "plugin %s: device type '%s' is declared twice", path,
						t->name);
	}
	return 0;
}

static int check_desc(const struct mv_plugin_desc *d, const char *path, struct mv_err *err)
{
	if (!d)
		return err__set(err, -EINVAL, "plugin %s: " MV_PLUGIN_ENTRY " returned no description", path);
	if (d->size < offsetof(struct mv_plugin_desc, ntypes) + sizeof(d->ntypes))
		return err__set(err, -EINVAL, "plugin %s: description is %u bytes, too small for ABI %d", path,
				d->size, MV_PLUGIN_ABI_MAJOR);
	if (d->abi_major != MV_PLUGIN_ABI_MAJOR)
		return err__set(err, -EPROTO,
				"plugin %s: built for plugin ABI %u.%u, but this moonvisor has plugin ABI %d.%d "
				"(rebuild the plugin against this moonvisor's moonvisor/plugin.h)",
				path, d->abi_major, d->abi_minor, MV_PLUGIN_ABI_MAJOR, MV_PLUGIN_ABI_MINOR);
	if (!d->name || !d->name[0] || strlen(d->name) > 63)
		return err__set(err, -EINVAL, "plugin %s: name must be 1 to 63 characters", path);
	for (const char *c = d->name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return err__set(err, -EINVAL, "plugin %s: name '%s' may only hold a-z, 0-9, _ and -", path,
					d->name);
	return check_types(d, path, err);
}

/* Runs the entry point; the plugin's own message on refusal. */
static int run_entry(void *dl, const char *path, const struct mv_plugin_desc **out, struct mv_err *err)
{
	mv_plugin_init_fn init;
	char msg[256] = "";
	void *sym;

	dlerror();
	sym = dlsym(dl, MV_PLUGIN_ENTRY);
	if (!sym)
		return err__set(err, -ENOEXEC, "%s is not a moonvisor plugin: it has no " MV_PLUGIN_ENTRY " symbol",
				path);
	memcpy(&init, &sym, sizeof(init));
	*out = init(plugin__host(), msg, sizeof(msg));
	if (!*out)
		return err__set(err, -ECANCELED, "plugin %s: " MV_PLUGIN_ENTRY " refused to load: %s", path,
				msg[0] ? msg : "(no reason given)");
	return check_desc(*out, path, err);
}

static int open_so(const char *path, char *real, void **dl, struct mv_err *err)
{
	char buf[PATH_MAX + 2];

	if (access(path, R_OK) < 0) {
		int e = -errno;
		return err__set(err, e, "plugin %s: %s", path, strerror(-e));
	}
	if (!realpath(path, real))
		return err__set(err, -errno, "plugin %s: %s", path, strerror(errno));
	/* a name without '/' would make dlopen search the library path */
	snprintf(buf, sizeof(buf), "%s", real);
	*dl = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
	if (!*dl)
		return err__set(err, -ENOEXEC, "plugin %s: cannot load it as a shared object: %s", path, dlerror());
	return 0;
}

int plugin__load(const char *path, struct mv_plugin **out, struct mv_err *err)
{
	char real[PATH_MAX];
	struct mv_plugin *p = plugin__find(path);
	const struct mv_plugin_desc *desc = NULL;
	void *dl = NULL;
	int ret;

	if (p) {
		*out = p;
		return 0;
	}
	ret = open_so(path, real, &dl, err);
	if (ret < 0)
		return ret;
	ret = run_entry(dl, path, &desc, err);
	if (ret < 0)
		goto err_close;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path)) || !(p->real = strdup(real))) {
		ret = err__set(err, -ENOMEM, "plugin %s: out of memory", path);
		goto err_free;
	}
	p->dl = dl;
	p->desc = desc;
	p->next = loaded;
	loaded = p;
	pr_debug("loaded plugin %s %s from %s", desc->name, desc->version ? desc->version : "", real);
	*out = p;
	return 0;

err_free:
	if (p) {
		free(p->path);
		free(p);
	}
err_close:
	dlclose(dl);
	return ret;
}
