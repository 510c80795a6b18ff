/* PCI functions and virtio devices owned by plugin devices. A PCI
 * function is a struct mv_pci_dev (devices/pci/pci.h) whose hooks call the
 * plugin's; a virtio device is a devices/virtio/virtio_pci.h transport
 * whose queue_notify hands the plugin chains walked by virtq__pop (the
 * bounded walker the built-in devices use), one outstanding chain per
 * queue. */
#include "core/plugin_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "devices/pci/host.h"
#include "devices/pci/msix.h"
#include "devices/virtio/virtio_pci.h"

struct mv_plugin_pci {
	struct mv_pci_dev pci;
	struct mv_plugin_pci_desc desc;
	struct mv_msix *msix;
	struct mv_plugin_dev *d;
	bool plugged;
	struct mv_plugin_pci *next;
};

struct mv_plugin_chain {
	struct mv_virtq_req req;
	bool held;                   /* popped, not pushed yet */
};

struct mv_plugin_virtio {
	struct mv_virtio_pci *vp;
	struct mv_plugin_virtio_desc desc;
	struct mv_plugin_dev *d;
	struct mv_plugin_chain **chains; /* per queue, allocated on first pop */
	char type[72];
	struct mv_plugin_virtio *next;
};

/* ---- PCI functions ---- */

static struct mv_plugin_pci *of_pci(struct mv_pci_dev *dev)
{
	return dev->opaque;
}

static void p_cfg_read(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t *val)
{
	struct mv_plugin_pci *p = of_pci(dev);

	if (p->desc.ops->cfg_read)
		p->desc.ops->cfg_read(p->desc.opaque, off, len, val);
}

static void p_cfg_write(struct mv_pci_dev *dev, uint32_t off, uint32_t len, uint32_t val)
{
	struct mv_plugin_pci *p = of_pci(dev);

	if (p->desc.ops->cfg_write)
		p->desc.ops->cfg_write(p->desc.opaque, off, len, val);
}

static void p_bar_read(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	struct mv_plugin_pci *p = of_pci(dev);

	if (p->desc.ops->bar_read)
		p->desc.ops->bar_read(p->desc.opaque, bar, off, data, len);
	else
		memset(data, 0xff, len);
}

static void p_bar_write(struct mv_pci_dev *dev, unsigned int bar, uint64_t off, const void *data, uint32_t len)
{
	struct mv_plugin_pci *p = of_pci(dev);

	if (p->desc.ops->bar_write)
		p->desc.ops->bar_write(p->desc.opaque, bar, off, data, len);
}

static void p_info(struct mv_pci_dev *dev, struct mv_pci_info *out)
{
	struct mv_plugin_pci *p = of_pci(dev);

	out->type = p->d->cfg->type->name;
	out->id = p->d->cfg->id;
}

static const struct mv_pci_dev_ops plugin_pci_ops = {
	.cfg_read = p_cfg_read, .cfg_write = p_cfg_write, .bar_read = p_bar_read, .bar_write = p_bar_write,
	.info = p_info,
};

/* Devices plug into the machine's PCI host while it boots, or at runtime
 * through PCI hotplug (core/machine_plugin.c sets pci_hotplug). */
static int can_plug(struct mv_plugin_dev *d)
{
	if (!d->set->have_env)
		return plugin_dev__refuse(d, -ENODEV, "no machine");
	if (!d->set->booting && !d->set->pci_hotplug)
		return plugin_dev__refuse(d, -EOPNOTSUPP, "this machine has no PCI hotplug: configure PCI and "
					  "virtio plugin devices in mv.vm{ devices = ... }");
	return 0;
}

static int add_msix(struct mv_plugin_pci *p, struct mv_err *err)
{
	const struct mv_plugin_pci_desc *ds = &p->desc;
	uint32_t pba_off = ALIGN_UP(msix__table_size(ds->msix_vectors), 8u);
	uint64_t size = 4096;
	struct mv_msix_params mp = {
		.nvectors = ds->msix_vectors, .table_bar = ds->msix_bar, .table_off = 0,
		.pba_bar = ds->msix_bar, .pba_off = pba_off,
	};
	int ret;

	while (size < pba_off + msix__pba_size(ds->msix_vectors))
		size <<= 1;
	ret = pci__add_bar(&p->pci, ds->msix_bar, size, 0);
	if (ret < 0)
		return err__set(err, ret, "MSI-X BAR %u is taken or invalid", ds->msix_bar);
	mp.router = p->d->set->env.pci ? pci_host__msi_router(p->d->set->env.pci) : p->d->set->env.router;
	return msix__create(&p->pci, &mp, &p->msix, err);
}

static int init_function(struct mv_plugin_pci *p, struct mv_err *err)
{
	const struct mv_plugin_pci_desc *ds = &p->desc;
	const struct mv_pci_id id = {
		.vendor = ds->vendor, .device = ds->device, .subsys_vendor = ds->subsys_vendor, .subsys = ds->subsys,
		.class_code = ds->class_code, .revision = ds->revision, .intx_pin = ds->intx_pin > 1 ? 1 : ds->intx_pin,
	};
	int ret = 0;

	pci__init(&p->pci, &id, &plugin_pci_ops, p, p->d->cfg->id);
	for (unsigned int i = 0; i < PCI_NUM_BARS && ret == 0; i++) {
		unsigned int flags = (ds->bars[i].flags & MV_PLUGIN_BAR_IO ? PCI_BAR_IO : 0) |
				     (ds->bars[i].flags & MV_PLUGIN_BAR_64 ? PCI_BAR_64 : 0) |
				     (ds->bars[i].flags & MV_PLUGIN_BAR_PREFETCH ? PCI_BAR_PREFETCH : 0);
		if (ds->bars[i].size)
			ret = pci__add_bar(&p->pci, i, ds->bars[i].size, flags);
		if (ret < 0)
			return err__set(err, ret, "BAR %u: size 0x%llx / flags 0x%x refused", i,
					(unsigned long long)ds->bars[i].size, ds->bars[i].flags);
	}
	if (ds->msix_vectors)
		ret = add_msix(p, err);
	return ret;
}

static void pci_free(struct mv_plugin_pci *p)
{
	if (p->plugged)
		pci_host__unplug(p->d->set->env.pci, &p->pci);
	msix__destroy(p->msix);
	pci__fini(&p->pci);
	free(p);
}

int plugin_pci__add(struct mv_plugin_dev *d, const struct mv_plugin_pci_desc *desc, struct mv_plugin_pci **out)
{
	struct mv_err err = { "" };
	struct mv_plugin_pci *p;
	int ret = can_plug(d);

	if (ret < 0)
		return ret;
	if (!desc || !desc->ops || desc->size < offsetof(struct mv_plugin_pci_desc, opaque) + sizeof(desc->opaque) ||
	    (desc->msix_vectors && (desc->msix_vectors > MSIX_MAX_VECTORS || desc->msix_bar >= PCI_NUM_BARS)))
		return plugin_dev__refuse(d, -EINVAL, "bad PCI description");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(&p->desc, desc, MIN(sizeof(p->desc), (size_t)desc->size));
	p->d = d;
	ret = init_function(p, &err);
	if (ret == 0 && d->set->env.pci) {
		ret = pci_host__plug(d->set->env.pci, &p->pci, -1, &err);
		p->plugged = ret >= 0;
	}
	if (ret < 0) {
		pci_free(p);
		return plugin_dev__refuse(d, ret, "PCI function: %s", err.msg);
	}
	p->next = d->pcis;
	d->pcis = p;
	*out = p;
	return 0;
}

static uint32_t h_pci_cfg_get(struct mv_plugin_pci *p, uint32_t off, uint32_t len)
{
	if (off >= PCI_CFG_SIZE || len > 4 || off + len > PCI_CFG_SIZE)
		return UINT32_MAX;
	return len == 1 ? pci__get8(&p->pci, off) : len == 2 ? pci__get16(&p->pci, off) : pci__get32(&p->pci, off);
}

static void h_pci_cfg_set(struct mv_plugin_pci *p, uint32_t off, uint32_t len, uint32_t val)
{
	if (off >= PCI_CFG_SIZE || off + len > PCI_CFG_SIZE)
		return;
	if (len == 1)
		pci__set8(&p->pci, off, (uint8_t)val);
	else if (len == 2)
		pci__set16(&p->pci, off, (uint16_t)val);
	else if (len == 4)
		pci__set32(&p->pci, off, val);
}

static void h_pci_set_wmask(struct mv_plugin_pci *p, uint32_t off, uint32_t len, uint32_t mask)
{
	/* the standard header stays the host's: BARs, command, capabilities */
	if (off < PCI_CAP_START || len > 4 || off + len > PCI_CFG_SIZE)
		return;
	pci__set_wmask(&p->pci, off, len, mask);
}

static void h_pci_set_intx(struct mv_plugin_pci *p, int level)
{
	pci__set_intx(&p->pci, level);
}

static int h_pci_msix_notify(struct mv_plugin_pci *p, unsigned int vector)
{
	return p->msix ? msix__notify(p->msix, vector) : -EAGAIN;
}

/* ---- virtio ---- */

static void v_notify(struct mv_virtio_pci *vp, unsigned int q)
{
	struct mv_plugin_virtio *v = vp->p.opaque;

	v->desc.ops->queue_notify(v->desc.opaque, v, q);
	/* chains live for one pass: one kept past it would point into rings
	 * the driver may reset meanwhile */
	if (q < v->desc.nqueues && v->chains[q] && v->chains[q]->held) {
		v->chains[q]->held = false;
		pr_warn("plugin device '%s': queue %u: a chain was not pushed back in its pass", v->d->cfg->id, q);
	}
}

static void v_config_read(struct mv_virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct mv_plugin_virtio *v = vp->p.opaque;

	if (v->desc.ops->config_read)
		v->desc.ops->config_read(v->desc.opaque, off, data, len);
	else
		memset(data, 0, len);
}

static void v_config_write(struct mv_virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
	struct mv_plugin_virtio *v = vp->p.opaque;

	if (v->desc.ops->config_write)
		v->desc.ops->config_write(v->desc.opaque, off, data, len);
}

static const struct mv_virtio_ops plugin_virtio_ops = {
	.queue_notify = v_notify, .config_read = v_config_read, .config_write = v_config_write,
};

static void virtio_free(struct mv_plugin_virtio *v)
{
	virtio_pci__destroy(v->vp);
	for (unsigned int i = 0; v->chains && i < v->desc.nqueues; i++)
		free(v->chains[i]);
	free(v->chains);
	free(v);
}

int plugin_pci__virtio_add(struct mv_plugin_dev *d, const struct mv_plugin_virtio_desc *desc,
			   struct mv_plugin_virtio **out)
{
	const struct mv_plugin_env *env = &d->set->env;
	struct mv_virtio_params p = {
		.ops = &plugin_virtio_ops, .mem = env->mem, .host = env->pci, .vm_fd = env->vm_fd,
		.router_for_tests = env->router, .no_thread = env->no_thread, .id = d->cfg->id,
	};
	struct mv_err err = { "" };
	struct mv_plugin_virtio *v;
	int ret = can_plug(d);

	if (ret < 0)
		return ret;
	if (!desc || desc->size < offsetof(struct mv_plugin_virtio_desc, opaque) + sizeof(desc->opaque) ||
	    !desc->ops || !desc->ops->queue_notify)
		return plugin_dev__refuse(d, -EINVAL, "bad virtio description (size, ops, queue_notify)");
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(&v->desc, desc, MIN(sizeof(v->desc), (size_t)desc->size));
	v->d = d;
	v->chains = calloc(desc->nqueues ? desc->nqueues : 1, sizeof(*v->chains));
	snprintf(v->type, sizeof(v->type), "%s", d->cfg->type->name);
	p.type = v->type;
	p.device_id = desc->device_id;
	p.class_code = desc->class_code;
	p.nqueues = desc->nqueues;
	p.queue_size = desc->queue_size;
	p.features = desc->features;
	p.config_size = desc->config_size;
	p.opaque = v;
	ret = v->chains ? virtio_pci__create(&p, &v->vp, &err) : err__set(&err, -ENOMEM, "out of memory");
	if (ret < 0) {
		v->vp = NULL;
		virtio_free(v);
		return plugin_dev__refuse(d, ret, "virtio device: %s", err.msg);
	}
	v->next = d->virtios;
	d->virtios = v;
	*out = v;
	return 0;
}

static int h_vq_pop(struct mv_plugin_virtio *v, unsigned int q, struct mv_plugin_chain **out)
{
	struct mv_plugin_chain *c;
	int ret;

	if (q >= v->desc.nqueues)
		return -EINVAL;
	if (!v->chains[q] && !(v->chains[q] = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c = v->chains[q];
	if (c->held)
		return -EBUSY;
	ret = virtq__pop(virtio_pci__vq(v->vp, q), &c->req);
	if (ret > 0) {
		c->held = true;
		*out = c;
	}
	return ret;
}

static void h_chain_len(const struct mv_plugin_chain *c, uint64_t *readable, uint64_t *writable)
{
	if (readable)
		*readable = c->req.out_len;
	if (writable)
		*writable = c->req.in_len;
}

/* Copies between buf and segments [first, first + n) starting `off`
 * bytes in; to_guest picks the direction. */
static uint64_t copy_segs(struct mv_plugin_chain *c, unsigned int first, unsigned int n, uint64_t off, void *buf,
			  uint64_t len, bool to_guest)
{
	uint64_t done = 0;

	for (unsigned int i = first; i < first + n && done < len; i++) {
		const struct iovec *iov = &c->req.iov[i];
		uint64_t take;

		if (off >= iov->iov_len) {
			off -= iov->iov_len;
			continue;
		}
		take = MIN(iov->iov_len - off, len - done);
		if (to_guest)
			memcpy((uint8_t *)iov->iov_base + off, (uint8_t *)buf + done, take);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov->iov_base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

static uint64_t h_chain_read(struct mv_plugin_chain *c, uint64_t off, void *dst, uint64_t len)
{
	return c->held ? copy_segs(c, 0, c->req.nout, off, dst, len, false) : 0;
}

static uint64_t h_chain_write(struct mv_plugin_chain *c, uint64_t off, const void *src, uint64_t len)
{
	return c->held ? copy_segs(c, c->req.nout, c->req.nin, off, (void *)src, len, true) : 0;
}

static void h_vq_push(struct mv_plugin_virtio *v, unsigned int q, struct mv_plugin_chain *c, uint32_t written)
{
	if (q >= v->desc.nqueues || c != v->chains[q] || !c->held)
		return;
	c->held = false;
	virtq__push(virtio_pci__vq(v->vp, q), c->req.head, (uint32_t)MIN((uint64_t)written, c->req.in_len));
}

static void h_vq_done(struct mv_plugin_virtio *v, unsigned int q, unsigned int pushed, int ret)
{
	if (q < v->desc.nqueues)
		virtio_pci__queue_done(v->vp, q, pushed, ret);
}

static void h_virtio_kick(struct mv_plugin_virtio *v, unsigned int q)
{
	if (q < v->desc.nqueues)
		virtio_pci__kick(v->vp, q);
}

static void h_virtio_config_changed(struct mv_plugin_virtio *v)
{
	virtio_pci__config_changed(v->vp);
}

static void h_virtio_count(struct mv_plugin_virtio *v, uint64_t bytes, int error)
{
	virtio_pci__count(v->vp, bytes, error != 0);
}

void plugin_pci__release(struct mv_plugin_dev *d)
{
	while (d->virtios) {
		struct mv_plugin_virtio *v = d->virtios;
		d->virtios = v->next;
		virtio_free(v);
	}
	while (d->pcis) {
		struct mv_plugin_pci *p = d->pcis;
		d->pcis = p->next;
		pci_free(p);
	}
}

struct mv_virtio_pci *plugin_pci__virtio_transport(struct mv_plugin_dev *d, unsigned int i)
{
	struct mv_plugin_virtio *v = d->virtios;

	while (v && i--)
		v = v->next;
	return v ? v->vp : NULL;
}

struct mv_pci_dev *plugin_dev__pci(struct mv_plugin_dev *d)
{
	if (d->virtios)
		return &d->virtios->vp->pci;
	return d->pcis && d->pcis->plugged ? &d->pcis->pci : NULL;
}

void plugin_pci__fill_host(struct mv_plugin_host *h)
{
	h->pci_add = plugin_pci__add;
	h->pci_cfg_get = h_pci_cfg_get;
	h->pci_cfg_set = h_pci_cfg_set;
	h->pci_set_wmask = h_pci_set_wmask;
	h->pci_set_intx = h_pci_set_intx;
	h->pci_msix_notify = h_pci_msix_notify;
	h->virtio_add = plugin_pci__virtio_add;
	h->vq_pop = h_vq_pop;
	h->chain_len = h_chain_len;
	h->chain_read = h_chain_read;
	h->chain_write = h_chain_write;
	h->vq_push = h_vq_push;
	h->vq_done = h_vq_done;
	h->virtio_kick = h_virtio_kick;
	h->virtio_config_changed = h_virtio_config_changed;
	h->virtio_count = h_virtio_count;
}
