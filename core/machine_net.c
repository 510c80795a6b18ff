/* The configuration's NICs (cfg.nets): one virtio-net PCI function each,
 * after the disks. Hotplug creates and destroys NICs through the same
 * virtio_net__create / virtio_net__destroy pair. */
#include <string.h>

#include "core/machine.h"
#include "devices/virtio/net.h"

int machine__create_nets(struct mv_machine *m, const struct mv_virtio_env *env, struct mv_err *err)
{
	for (unsigned int i = 0; i < m->vm->cfg.nnets; i++) {
		const struct mv_net_config *n = &m->vm->cfg.nets[i];
		struct mv_virtio_net_config nc = { .id = n->id, .tap = n->tap, .fd = -1, .vhost = n->vhost };
		int ret;

		memcpy(nc.mac, n->mac, sizeof(nc.mac));
		ret = virtio_net__create(env, &nc, &m->nets[i], err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void machine__destroy_nets(struct mv_machine *m)
{
	for (unsigned int i = 0; i < MV_MAX_NETS; i++) {
		virtio_net__destroy(m->nets[i]);
		m->nets[i] = NULL;
	}
}
