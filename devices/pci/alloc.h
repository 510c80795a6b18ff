/* A first-fit allocator of naturally aligned ranges inside one address
 * window, for BARs: [start, end) is the window, every range is a power of
 * two in size and aligned to it. Ranges can be given back (hot-unplug).
 * No locking: the PCI host calls it under its lock. */
#ifndef MV_DEVICES_PCI_ALLOC_H
#define MV_DEVICES_PCI_ALLOC_H

#include <stdint.h>

#include "core/compiler.h"

/* Enough for every BAR of every slot of a bus. */
#define PCI_ALLOC_MAX (32 * 6)

struct mv_pci_alloc {
	uint64_t start, end;        /* [start, end) */
	unsigned int n;
	struct { uint64_t start, size; } used[PCI_ALLOC_MAX]; /* sorted by start */
};

void pci_alloc__init(struct mv_pci_alloc *a, uint64_t start, uint64_t end);
/* The lowest free `size`-aligned range of `size` bytes (a power of two).
 * -EINVAL for a bad size, -ENOSPC when nothing fits. */
int pci_alloc__get(struct mv_pci_alloc *a, uint64_t size, uint64_t *addr) MV_MUST_CHECK;
/* Gives back the range starting at addr; -ENOENT if there is none. */
int pci_alloc__put(struct mv_pci_alloc *a, uint64_t addr);

#endif
