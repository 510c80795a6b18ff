/* One boot's memory devices: the hotplug region, virtio-mem over it,
 * virtio-balloon and its statistics timer (core/vm_memory.h). */
#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/machine.h"
#include "core/vm_memory.h"
#include "core/x86/layout.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/mem.h"

int machine__map_hotplug(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_vm_config *cfg = &m->vm->cfg;

	if (!cfg->hotplug)
		return 0;
	return guestmem__map_hotplug(&m->mem, layout__hotplug_start(guestmem__end(&m->mem)), cfg->hotplug,
				     &cfg->memopts, err);
}

/* I/O threads: tell the loop, which owns the VM. */
static void post(struct mv_machine *m, mv_post_fn fn)
{
	if (loop__post(m->vm->loop, fn, m->vm, m->generation) < 0)
		pr_warn("vm %s: cannot post a memory event: out of memory", m->vm->cfg.name);
}

static void mem_changed(void *opaque)
{
	post(opaque, vm__on_memory_changed);
}

static void stats_ready(void *opaque)
{
	post(opaque, vm__on_balloon_stats);
}

static const struct mv_memregion *hotplug_region(const struct mv_guestmem *mem)
{
	for (unsigned int i = 0; i < mem->nregions; i++)
		if (mem->regions[i].hotplug)
			return &mem->regions[i];
	return NULL;
}

static int create_vmem(struct mv_machine *m, const struct mv_virtio_env *env, struct mv_err *err)
{
	const struct mv_memregion *r = hotplug_region(&m->mem);
	struct mv_virtio_mem_config c = {
		.id = "mem", .block_size = m->vm->cfg.hotplug_block, .requested = m->vm->mem_requested,
		.changed = mem_changed, .opaque = m,
	};

	if (!r)
		return err__set(err, -EINVAL, "virtio-mem: no hotplug region");
	c.addr = r->gpa;
	c.region_size = r->size;
	return virtio_mem__create(env, &c, &m->vmem, err);
}

static void stats_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct mv_machine_memory *mm = w->data;

	if (mm->m->balloon)
		virtio_balloon__request_stats(mm->m->balloon);
}

static int create_balloon(struct mv_machine *m, const struct mv_virtio_env *env, struct mv_err *err)
{
	const struct mv_balloon_config *bc = &m->vm->cfg.balloon;
	const struct mv_virtio_balloon_config c = {
		.id = "balloon", .stats = bc->stats > 0, .free_page_reporting = bc->free_page_reporting,
		.deflate_on_oom = bc->deflate_on_oom, .stats_ready = stats_ready, .opaque = m,
	};
	struct mv_machine_memory *mm = m->memory;
	int ret = virtio_balloon__create(env, &c, &m->balloon, err);

	if (ret < 0)
		return ret;
	if (m->vm->balloon_target)
		virtio_balloon__set_target(m->balloon, (uint32_t)(m->vm->balloon_target >> VIRTIO_BALLOON_PFN_SHIFT));
	if (bc->stats <= 0)
		return 0;
	ev_timer_init(&mm->stats_timer, stats_tick, bc->stats, bc->stats);
	mm->stats_timer.data = mm;
	ev_timer_start(m->vm->loop->ev, &mm->stats_timer);
	mm->timer_on = true;
	return 0;
}

int machine__memory_create(struct mv_machine *m, struct mv_err *err)
{
	const struct mv_virtio_env env = { .mem = &m->mem, .host = m->pci, .vm_fd = m->vm_fd };
	const struct mv_vm_config *cfg = &m->vm->cfg;
	int ret = 0;

	if (!cfg->hotplug && !cfg->balloon.enabled)
		return 0;
	m->memory = calloc(1, sizeof(*m->memory));
	if (!m->memory)
		return err__set(err, -ENOMEM, "out of memory");
	m->memory->m = m;
	if (cfg->hotplug)
		ret = create_vmem(m, &env, err);
	if (!ret && cfg->balloon.enabled)
		ret = create_balloon(m, &env, err);
	return ret;
}

void machine__memory_destroy(struct mv_machine *m)
{
	if (m->memory && m->memory->timer_on)
		ev_timer_stop(m->vm->loop->ev, &m->memory->stats_timer);
	virtio_balloon__destroy(m->balloon);
	virtio_mem__destroy(m->vmem);
	m->balloon = NULL;
	m->vmem = NULL;
	free(m->memory);
	m->memory = NULL;
}
