/* Guest physical memory: RAM regions, and the one place that turns a guest
 * physical range into a host pointer after checking all of it. */
#ifndef MV_GUESTMEM_H
#define MV_GUESTMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"

#define MV_MAX_MEM_REGIONS 8

struct mv_memregion {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	int fd;          /* memfd when shared, else -1 */
	bool owned;      /* mapped by guestmem__map (unmapped on free) */
	bool hotplug;    /* virtio-mem's region: not RAM at boot, never in e820 */
	bool hugepages;  /* hugetlb-backed: discards must cover whole 2 MiB pages */
};

struct mv_memopts {
	bool shared;     /* memfd-backed, MAP_SHARED (vhost-user) */
	bool hugepages;  /* MAP_HUGETLB / MFD_HUGETLB */
};

struct mv_guestmem {
	struct mv_memregion regions[MV_MAX_MEM_REGIONS];
	unsigned int nregions;
	uint64_t ram_size;   /* total RAM bytes over all regions */
};

/* Splits ram_size bytes into RAM regions around the 32-bit MMIO hole
 * (see core/x86/layout.h). Does not allocate. */
int guestmem__layout(struct mv_guestmem *m, uint64_t ram_size, struct mv_err *err) MV_MUST_CHECK;
/* Maps every region (anonymous MAP_NORESERVE, or memfd when shared). */
int guestmem__map(struct mv_guestmem *m, const struct mv_memopts *opts, struct mv_err *err) MV_MUST_CHECK;
void guestmem__unmap(struct mv_guestmem *m);
/* Maps [gpa, gpa+size) as a hotplug region (virtio-mem): mapped like RAM
 * (same options) but flagged hotplug, so it is never reported as RAM in
 * e820 and does not count in ram_size. */
int guestmem__map_hotplug(struct mv_guestmem *m, uint64_t gpa, uint64_t size, const struct mv_memopts *opts,
			  struct mv_err *err) MV_MUST_CHECK;
/* Gives the host pages behind [gpa, gpa+len) back (the range must lie in
 * one region): fallocate(PUNCH_HOLE) for memfd-backed memory, else
 * MADV_DONTNEED; the guest reads zeros there afterwards. -EFAULT outside
 * guest memory, -EINVAL if not page aligned (2 MiB for hugepages). */
int guestmem__discard(const struct mv_guestmem *m, uint64_t gpa, uint64_t len) MV_MUST_CHECK;
/* The same for a host pointer into guest memory (a virtqueue buffer). */
int guestmem__discard_hva(const struct mv_guestmem *m, void *hva, uint64_t len) MV_MUST_CHECK;
/* Describes caller-owned host memory as a RAM region (tests, plugins). */
int guestmem__add_region(struct mv_guestmem *m, uint64_t gpa, uint64_t size, void *hva) MV_MUST_CHECK;

/* Host pointer for [gpa, gpa+len) if the whole range lies in one RAM region
 * (overflow-checked), else NULL. len == 0 is valid for any in-region gpa. */
void *guestmem__range(const struct mv_guestmem *m, uint64_t gpa, uint64_t len);
int guestmem__read(const struct mv_guestmem *m, uint64_t gpa, void *dst, uint64_t len) MV_MUST_CHECK;
int guestmem__write(const struct mv_guestmem *m, uint64_t gpa, const void *src, uint64_t len) MV_MUST_CHECK;
/* Highest guest physical address of RAM + 1. */
uint64_t guestmem__end(const struct mv_guestmem *m);

#endif
