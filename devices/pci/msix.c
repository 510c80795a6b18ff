#include "devices/pci/msix.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/fdio.h"
#include "core/log.h"

#define VCTRL 12 /* offset of Vector Control in an entry */

struct msix_vec {
	uint8_t entry[MSIX_ENTRY_SIZE];
	int efd;
	int gsi;        /* -1: no route yet */
	bool bound;     /* efd is an irqfd for gsi */
	bool dirty;     /* address/data changed since the route was set */
	bool warned;
};

struct mv_msix {
	pthread_mutex_t lock;
	struct mv_pci_dev *dev;
	struct mv_msix_params p;
	uint16_t cap;
	bool enabled, fmask;
	atomic_bool notify_ok;  /* enabled, for msix__notify */
	struct msix_vec *vec;
};

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4); /* little-endian host */
	return v;
}

static bool mem_bar(const struct mv_pci_dev *dev, unsigned int bar, uint64_t off, uint64_t len)
{
	const struct mv_pci_bar *b = bar < PCI_NUM_BARS ? &dev->bars[bar] : NULL;

	return b && b->size && !(b->flags & PCI_BAR_IO) && off % 8 == 0 && off <= b->size && len <= b->size - off;
}

static int validate(const struct mv_pci_dev *dev, const struct mv_msix_params *p, struct mv_err *err)
{
	uint64_t t = p->table_off, ts, pb = p->pba_off, ps;

	if (p->nvectors < 1 || p->nvectors > MSIX_MAX_VECTORS)
		return err__set(err, -EINVAL, "%s: MSI-X with %u vectors (1-%u)", dev->name, p->nvectors,
				MSIX_MAX_VECTORS);
	if (!p->router.ops)
		return err__set(err, -EINVAL, "%s: MSI-X without an interrupt router", dev->name);
	ts = msix__table_size(p->nvectors);
	ps = msix__pba_size(p->nvectors);
	if (!mem_bar(dev, p->table_bar, t, ts) || !mem_bar(dev, p->pba_bar, pb, ps))
		return err__set(err, -EINVAL, "%s: the MSI-X table or PBA is unaligned or not inside a memory BAR",
				dev->name);
	if (p->table_bar == p->pba_bar && t < pb + ps && pb < t + ts)
		return err__set(err, -EINVAL, "%s: the MSI-X table and PBA overlap", dev->name);
	return 0;
}

static void free_vectors(struct mv_msix *x)
{
	for (unsigned int i = 0; i < x->p.nvectors; i++)
		if (x->vec[i].efd >= 0)
			close(x->vec[i].efd);
	free(x->vec);
}

static int create_vectors(struct mv_msix *x, struct mv_err *err)
{
	unsigned int i;

	x->vec = calloc(x->p.nvectors, sizeof(*x->vec));
	if (!x->vec)
		return err__set(err, -ENOMEM, "out of memory for %u MSI-X vectors", x->p.nvectors);
	for (i = 0; i < x->p.nvectors; i++)
		x->vec[i].efd = -1;
	for (i = 0; i < x->p.nvectors; i++) {
		struct msix_vec *v = &x->vec[i];

		v->gsi = -1;
		v->entry[VCTRL] = MSIX_VECTOR_MASKED;
		v->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->efd < 0) {
			int ret = -errno;

			free_vectors(x);
			return err__set(err, ret, "eventfd for MSI-X vector %u: %s", i, strerror(-ret));
		}
	}
	return 0;
}

static void add_cap(struct mv_msix *x)
{
	struct mv_pci_dev *dev = x->dev;
	uint16_t c = x->cap;

	pci__set16(dev, c + 2, (uint16_t)(x->p.nvectors - 1));
	pci__set32(dev, c + 4, x->p.table_off | x->p.table_bar);
	pci__set32(dev, c + 8, x->p.pba_off | x->p.pba_bar);
	pci__set_wmask(dev, c + 2, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
}

int msix__create(struct mv_pci_dev *dev, const struct mv_msix_params *p, struct mv_msix **out,
		 struct mv_err *err)
{
	struct mv_msix *x;
	int ret;

	if (dev->msix)
		return err__set(err, -EEXIST, "%s already has MSI-X", dev->name);
	ret = validate(dev, p, err);
	if (ret < 0)
		return ret;
	x = calloc(1, sizeof(*x));
	if (!x)
		return err__set(err, -ENOMEM, "out of memory for MSI-X");
	x->dev = dev;
	x->p = *p;
	ret = create_vectors(x, err);
	if (ret < 0)
		goto err_free;
	ret = pci__add_cap(dev, PCI_CAP_ID_MSIX, MSIX_CAP_LEN, &x->cap);
	if (ret < 0) {
		err__set(err, ret, "%s: no room in config space for the MSI-X capability", dev->name);
		goto err_free_vectors;
	}
	add_cap(x);
	pthread_mutex_init(&x->lock, NULL);
	dev->msix = x;
	*out = x;
	return 0;

err_free_vectors:
	free_vectors(x);
err_free:
	free(x);
	return ret;
}

/* ---- delivery ------------------------------------------------------------ */

static struct mv_msi_msg vec_msg(const struct msix_vec *v)
{
	return (struct mv_msi_msg){
		.addr = le32(v->entry) | (uint64_t)le32(v->entry + 4) << 32,
		.data = le32(v->entry + 8),
	};
}

static void unbind(struct mv_msix *x, struct msix_vec *v)
{
	int ret;

	if (!v->bound)
		return;
	ret = x->p.router.ops->irqfd_unbind(x->p.router.opaque, (unsigned int)v->gsi, v->efd);
	if (ret < 0)
		pr_warn_errno(ret, "%s: unbinding the irqfd of GSI %d", x->dev->name, v->gsi);
	else
		v->bound = false;
}

/* Makes the vector's route and irqfd match the guest's state. Lock held. */
static void sync_vector(struct mv_msix *x, struct msix_vec *v)
{
	const struct mv_msi_router *r = &x->p.router;
	struct mv_msi_msg msg = vec_msg(v);
	unsigned int gsi;
	int ret = 0;

	if (!x->enabled || x->fmask || (v->entry[VCTRL] & MSIX_VECTOR_MASKED)) {
		unbind(x, v);
		return;
	}
	if (v->gsi < 0) {
		ret = r->ops->route_add(r->opaque, &msg, &gsi);
		if (!ret)
			v->gsi = (int)gsi;
	} else if (v->dirty) {
		ret = r->ops->route_update(r->opaque, (unsigned int)v->gsi, &msg);
	}
	if (!ret) {
		v->dirty = false;
		if (!v->bound)
			ret = r->ops->irqfd_bind(r->opaque, (unsigned int)v->gsi, v->efd);
		v->bound = v->bound || !ret;
	}
	if (ret < 0 && !v->warned) { /* the vector stays pending */
		v->warned = true;
		pr_warn_errno(ret, "%s: MSI-X vector %ld cannot be routed", x->dev->name, (long)(v - x->vec));
	}
}

int msix__notify(struct mv_msix *x, unsigned int vector)
{
	if (vector >= x->p.nvectors)
		return -EINVAL;
	if (!atomic_load(&x->notify_ok))
		return -EAGAIN;
	if (eventfd_write(x->vec[vector].efd, 1) < 0)
		return -errno;
	return 0;
}

int msix__eventfd(const struct mv_msix *x, unsigned int vector)
{
	return vector < x->p.nvectors ? x->vec[vector].efd : -1;
}

bool msix__enabled(const struct mv_msix *x)
{
	return atomic_load(&x->notify_ok);
}

/* Pending = signalled and not delivered by KVM (no irqfd bound to take
 * the eventfd's count). */
static bool vec_pending(const struct msix_vec *v)
{
	return !v->bound && fdio__readable(v->efd);
}

int msix__vector_state(struct mv_msix *x, unsigned int vector, bool *masked, bool *pending)
{
	struct msix_vec *v;

	if (vector >= x->p.nvectors)
		return -EINVAL;
	v = &x->vec[vector];
	pthread_mutex_lock(&x->lock);
	*masked = !x->enabled || x->fmask || (v->entry[VCTRL] & MSIX_VECTOR_MASKED);
	*pending = vec_pending(v);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

uint16_t msix__cap_offset(const struct mv_msix *x)
{
	return x->cap;
}

void msix__cfg_written(struct mv_msix *x, uint32_t off, uint32_t len)
{
	uint16_t ctrl;

	if (off >= x->cap + 4u || x->cap + 2u >= off + len)
		return;
	ctrl = pci__get16(x->dev, x->cap + 2u);
	pthread_mutex_lock(&x->lock);
	x->enabled = ctrl & MSIX_CTRL_ENABLE;
	x->fmask = ctrl & MSIX_CTRL_FMASK;
	atomic_store(&x->notify_ok, x->enabled);
	for (unsigned int i = 0; i < x->p.nvectors; i++)
		sync_vector(x, &x->vec[i]);
	pthread_mutex_unlock(&x->lock);
}

/* ---- table and PBA ------------------------------------------------------- */

static void table_access(struct mv_msix *x, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct msix_vec *v = &x->vec[off / MSIX_ENTRY_SIZE];
	uint32_t field = off % MSIX_ENTRY_SIZE;
	uint8_t old[MSIX_ENTRY_SIZE];

	if (off % len || field + len > MSIX_ENTRY_SIZE) { /* the spec allows aligned DWords/QWords */
		if (!is_write)
			memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&x->lock);
	if (!is_write) {
		memcpy(data, &v->entry[field], len);
		pthread_mutex_unlock(&x->lock);
		return;
	}
	memcpy(old, v->entry, sizeof(old));
	memcpy(&v->entry[field], data, len);
	v->entry[VCTRL] &= MSIX_VECTOR_MASKED; /* the other bits are reserved, read 0 */
	memset(&v->entry[VCTRL + 1], 0, 3);
	if (memcmp(old, v->entry, VCTRL))
		v->dirty = true;
	sync_vector(x, v);
	pthread_mutex_unlock(&x->lock);
}

static void pba_read(struct mv_msix *x, uint64_t off, uint8_t *data, uint32_t len)
{
	pthread_mutex_lock(&x->lock);
	for (uint32_t i = 0; i < len; i++) {
		data[i] = 0;
		for (unsigned int bit = 0; bit < 8; bit++) {
			uint64_t n = (off + i) * 8 + bit;
			const struct msix_vec *v = n < x->p.nvectors ? &x->vec[n] : NULL;

			if (v && vec_pending(v))
				data[i] |= (uint8_t)(1u << bit);
		}
	}
	pthread_mutex_unlock(&x->lock);
}

bool msix__bar_access(struct mv_msix *x, unsigned int bar, uint64_t off, void *data, uint32_t len, bool is_write)
{
	uint64_t t = x->p.table_off, pb = x->p.pba_off;

	if (bar == x->p.table_bar && off >= t && off - t < msix__table_size(x->p.nvectors)) {
		table_access(x, off - t, data, len, is_write);
		return true;
	}
	if (bar == x->p.pba_bar && off >= pb && off - pb < msix__pba_size(x->p.nvectors)) {
		if (!is_write) /* the PBA is read-only */
			pba_read(x, off - pb, data, len);
		return true;
	}
	return false;
}

void msix__destroy(struct mv_msix *x)
{
	const struct mv_msi_router *r;

	if (!x)
		return;
	r = &x->p.router;
	pthread_mutex_lock(&x->lock);
	for (unsigned int i = 0; i < x->p.nvectors; i++) {
		struct msix_vec *v = &x->vec[i];

		unbind(x, v);
		if (v->gsi >= 0)
			r->ops->route_del(r->opaque, (unsigned int)v->gsi);
	}
	pthread_mutex_unlock(&x->lock);
	if (x->dev->msix == x)
		x->dev->msix = NULL;
	free_vectors(x);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
