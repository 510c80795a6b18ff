#include "core/iobus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void iobus__init(struct mv_iobus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
	bus->name = name;
}

void iobus__destroy(struct mv_iobus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nranges = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above addr (binary search). */
static unsigned int lower_bound(const struct mv_iobus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nranges;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct mv_iorange *r = &bus->ranges[mid];
		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int grow(struct mv_iobus *bus)
{
	unsigned int cap = bus->cap ? bus->cap * 2 : 16;
	struct mv_iorange *n = realloc(bus->ranges, cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	bus->ranges = n;
	bus->cap = cap;
	return 0;
}

int iobus__register(struct mv_iobus *bus, uint64_t base, uint64_t len, const struct mv_iodev_ops *ops,
		    void *opaque, const char *name, struct mv_err *err)
{
	unsigned int i;
	int ret = 0;

	if (len == 0 || base + len < base)
		return err__set(err, -EINVAL, "%s range 0x%llx+0x%llx is empty or wraps", bus->name,
				(unsigned long long)base, (unsigned long long)len);
	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, base);
	if (i < bus->nranges && bus->ranges[i].base < base + len) {
		const struct mv_iorange *o = &bus->ranges[i];
		ret = err__set(err, -EEXIST, "%s range 0x%llx-0x%llx of %s overlaps 0x%llx-0x%llx of %s",
			       bus->name, (unsigned long long)base, (unsigned long long)(base + len - 1),
			       name ? name : "?", (unsigned long long)o->base,
			       (unsigned long long)(o->base + o->len - 1), o->name ? o->name : "?");
		goto out_unlock;
	}
	if (bus->nranges == bus->cap && (ret = grow(bus)) < 0) {
		err__set(err, ret, "out of memory registering %s", name ? name : "device");
		goto out_unlock;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct mv_iorange){ .base = base, .len = len, .ops = ops, .opaque = opaque, .name = name };
	bus->nranges++;
out_unlock:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int iobus__unregister(struct mv_iobus *bus, uint64_t base)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, base);
	if (i < bus->nranges && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->nranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nranges--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool iobus__access(struct mv_iobus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	struct mv_iorange *r;
	bool found = false;
	unsigned int i;

	if (len == 0 || len > 8 || addr + len < addr)
		return false;
	pthread_rwlock_rdlock(&bus->lock);
	i = lower_bound(bus, addr);
	if (i < bus->nranges) {
		r = &bus->ranges[i];
		if (addr >= r->base && addr + len <= r->base + r->len) {
			found = true;
			__atomic_fetch_add(&r->accesses, 1, __ATOMIC_RELAXED);
			if (is_write && r->ops->write)
				r->ops->write(r->opaque, addr - r->base, data, len);
			else if (!is_write && r->ops->read)
				r->ops->read(r->opaque, addr - r->base, data, len);
			else if (!is_write)
				memset(data, 0xff, len);
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!found && !is_write)
		memset(data, 0xff, len);
	return found;
}

void iobus__foreach(struct mv_iobus *bus, void (*fn)(void *opaque, const struct mv_iorange *r), void *opaque)
{
	pthread_rwlock_rdlock(&bus->lock);
	for (unsigned int i = 0; i < bus->nranges; i++) {
		struct mv_iorange snap = bus->ranges[i];

		snap.accesses = __atomic_load_n(&bus->ranges[i].accesses, __ATOMIC_RELAXED);
		fn(opaque, &snap);
	}
	pthread_rwlock_unlock(&bus->lock);
}
