/* Port-I/O and MMIO dispatch. Devices register [base, base+len) ranges with
 * read/write callbacks; vCPU threads dispatch exits through iobus__access.
 * Callbacks run on vCPU threads. Registration may happen from the loop thread
 * while vCPUs run: dispatch holds a read lock, so a device is never called
 * after iobus__unregister returns. */
#ifndef MV_IOBUS_H
#define MV_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"

struct mv_iodev_ops {
	/* off is relative to the registered base; len is 1, 2, 4 or 8 */
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const void *data, uint32_t len);
};

struct mv_iorange {
	uint64_t base, len;
	const struct mv_iodev_ops *ops;
	void *opaque;
	const char *name;
	uint64_t accesses;           /* dispatched accesses (atomic adds) */
};

struct mv_iobus {
	pthread_rwlock_t lock;
	struct mv_iorange *ranges;   /* sorted by base, non-overlapping */
	unsigned int nranges, cap;
	const char *name;            /* "pio" or "mmio", for messages */
};

void iobus__init(struct mv_iobus *bus, const char *name);
void iobus__destroy(struct mv_iobus *bus);
/* -EEXIST (with err naming the device already there) on overlap,
 * -EINVAL on len == 0 or base+len overflow. */
int iobus__register(struct mv_iobus *bus, uint64_t base, uint64_t len, const struct mv_iodev_ops *ops,
		    void *opaque, const char *name, struct mv_err *err) MV_MUST_CHECK;
int iobus__unregister(struct mv_iobus *bus, uint64_t base) MV_MUST_CHECK;
/* Dispatches an access. Returns false if no device covers the whole
 * [addr, addr+len); reads from nowhere return all ones in data. */
bool iobus__access(struct mv_iobus *bus, uint64_t addr, void *data, uint32_t len, bool is_write);
/* Calls fn for each range in address order, under the read lock (fn must
 * not touch the bus). */
void iobus__foreach(struct mv_iobus *bus, void (*fn)(void *opaque, const struct mv_iorange *r), void *opaque);

#endif
