#include "devices/pci/alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void pci_alloc__init(struct mv_pci_alloc *a, uint64_t start, uint64_t end)
{
	memset(a, 0, sizeof(*a));
	a->start = start;
	a->end = end;
}

/* The first address >= at aligned to size; *ok false if that wraps. */
static uint64_t align_from(uint64_t at, uint64_t size, bool *ok)
{
	uint64_t r = ALIGN_UP(at, size);

	*ok = r >= at;
	return r;
}

int pci_alloc__get(struct mv_pci_alloc *a, uint64_t size, uint64_t *addr)
{
	unsigned int i;
	uint64_t at;
	bool ok;

	if (!size || (size & (size - 1)))
		return -EINVAL;
	at = align_from(a->start, size, &ok);
	if (a->n == PCI_ALLOC_MAX)
		return -ENOSPC;
	for (i = 0; ok && i < a->n; i++) {
		if (at + size <= a->used[i].start && at + size > at)
			break;
		if (a->used[i].start + a->used[i].size > at)
			at = align_from(a->used[i].start + a->used[i].size, size, &ok);
	}
	if (!ok || at + size < at || at + size > a->end)
		return -ENOSPC;
	memmove(&a->used[i + 1], &a->used[i], (a->n - i) * sizeof(a->used[0]));
	a->used[i].start = at;
	a->used[i].size = size;
	a->n++;
	*addr = at;
	return 0;
}

int pci_alloc__put(struct mv_pci_alloc *a, uint64_t addr)
{
	for (unsigned int i = 0; i < a->n; i++) {
		if (a->used[i].start != addr)
			continue;
		memmove(&a->used[i], &a->used[i + 1], (a->n - i - 1) * sizeof(a->used[0]));
		a->n--;
		return 0;
	}
	return -ENOENT;
}
