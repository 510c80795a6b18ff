/* A hotplug kind's records in vm->cfg (core/hotplug.h): one array of
 * struct mv_vm_config and its count, described by the kind's list, each
 * record with a `char *id` at the kind's id_off. Kinds whose records live
 * elsewhere (plugin) bring their own cfg_room/add/remove/has. */
#include <stdlib.h>
#include <string.h>

#include "core/hotplug.h"

static unsigned int *count_of(const struct mv_hotplug_kind *k, const struct mv_vm_config *vc)
{
	return (unsigned int *)((char *)vc + k->list.count);
}

static char *record(const struct mv_hotplug_kind *k, const struct mv_vm_config *vc, unsigned int i)
{
	return (char *)vc + k->list.array + (size_t)i * k->list.size;
}

static char **id_of(const struct mv_hotplug_kind *k, const void *cfg)
{
	return (char **)((char *)cfg + k->id_off);
}

static int index_of(const struct mv_hotplug_kind *k, const struct mv_vm_config *vc, const char *id)
{
	for (unsigned int i = 0; i < *count_of(k, vc); i++) {
		const char *rid = *id_of(k, record(k, vc, i));

		if (rid && strcmp(rid, id) == 0)
			return (int)i;
	}
	return -1;
}

bool hotplug__cfg_room(const struct mv_hotplug_kind *kind, const struct mv_vm_config *vc)
{
	if (kind->cfg_room)
		return kind->cfg_room(vc);
	return *count_of(kind, vc) < kind->list.max;
}

void hotplug__cfg_add(const struct mv_hotplug_kind *kind, struct mv_vm_config *vc, const void *cfg)
{
	unsigned int *n;

	if (kind->cfg_add) {
		kind->cfg_add(vc, cfg);
		return;
	}
	n = count_of(kind, vc);
	memcpy(record(kind, vc, (*n)++), cfg, kind->list.size);
}

bool hotplug__cfg_remove(const struct mv_hotplug_kind *kind, struct mv_vm_config *vc, const char *id)
{
	size_t size = kind->list.size;
	unsigned int *n;
	char *rec;
	int i;

	if (kind->cfg_remove)
		return kind->cfg_remove(vc, id);
	i = index_of(kind, vc, id);
	if (i < 0)
		return false;
	n = count_of(kind, vc);
	rec = record(kind, vc, (unsigned int)i);
	kind->cfg_free(rec);
	memmove(rec, rec + size, (*n - (unsigned int)i - 1) * size);
	memset(record(kind, vc, --*n), 0, size);
	return true;
}

bool hotplug__cfg_has(const struct mv_hotplug_kind *kind, const struct mv_vm_config *vc, const char *id)
{
	if (kind->cfg_has)
		return kind->cfg_has(vc, id);
	return index_of(kind, vc, id) >= 0;
}

const void *hotplug__cfg_at(const struct mv_hotplug_kind *kind, const struct mv_vm_config *vc, unsigned int i)
{
	if (!kind->list.size || i >= *count_of(kind, vc) || i >= kind->list.max)
		return NULL;
	return record(kind, vc, i);
}

const char *hotplug__cfg_id(const struct mv_hotplug_kind *kind, const void *cfg)
{
	return *id_of(kind, cfg);
}

void hotplug__cfg_set_id(const struct mv_hotplug_kind *kind, void *cfg, char *id)
{
	char **p = id_of(kind, cfg);

	free(*p);
	*p = id;
}
