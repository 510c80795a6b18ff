#include "core/guestmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/x86/layout.h"

int guestmem__layout(struct mv_guestmem *m, uint64_t ram_size, struct mv_err *err)
{
	uint64_t low = MIN(ram_size, LAYOUT_MMIO_HOLE_START);

	memset(m, 0, sizeof(*m));
	if (ram_size < 16 * MiB)
		return err__set(err, -EINVAL, "memory %llu bytes is too small (minimum 16M)",
				(unsigned long long)ram_size);
	if (ram_size > (1ULL << 46))
		return err__set(err, -EINVAL, "memory %llu bytes is too large (maximum 64T)",
				(unsigned long long)ram_size);
	m->regions[0] = (struct mv_memregion){ .gpa = 0, .size = low, .fd = -1 };
	m->nregions = 1;
	if (ram_size > low) {
		m->regions[1] = (struct mv_memregion){ .gpa = LAYOUT_MMIO_HOLE_END, .size = ram_size - low, .fd = -1 };
		m->nregions = 2;
	}
	m->ram_size = ram_size;
	return 0;
}

/* Guest RAM starts on a 2 MiB boundary of the address space, as QEMU's
 * does: a transparent huge page then backs a whole 2 MiB of guest-physical
 * memory and KVM maps it with one large nested page; an unaligned mapping
 * leaves every 2 MiB of the guest split over two host huge pages, mapped
 * 4 KiB at a time (slower, and every page on its own for compaction). A
 * PROT_NONE reservation one alignment larger is made, the RAM is mapped at
 * its first aligned address, and the rest is given back. */
#define RAM_ALIGN (2ULL << 20)

static void *mmap_aligned(size_t size, int flags, int fd)
{
	size_t span = size + RAM_ALIGN;
	uint8_t *raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *start, *p;
	size_t head;

	if (raw == MAP_FAILED)
		return MAP_FAILED;
	head = (size_t)(-(uintptr_t)raw & (RAM_ALIGN - 1));
	start = raw + head;
	p = mmap(start, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(raw, span);
		errno = e;
		return MAP_FAILED;
	}
	if (head)
		munmap(raw, head);
	munmap(start + size, span - head - size);
	return p;
}

/* hugetlbfs mappings are aligned to their page size by the kernel */
static void *map_ram(size_t size, int flags, int fd, bool hugetlb)
{
	if (hugetlb)
		return mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	return mmap_aligned(size, flags, fd);
}

static int map_region(struct mv_memregion *r, const struct mv_memopts *opts, struct mv_err *err)
{
	/* hugetlb pages must be reserved at mmap time: with MAP_NORESERVE a
	 * shortage would surface as SIGBUS on first touch instead of an error */
	int flags = opts->hugepages ? MAP_HUGETLB : MAP_NORESERVE;
	void *p;

	r->fd = -1;
	if (opts->shared) {
		r->fd = memfd_create("moonvisor-ram", MFD_CLOEXEC | (opts->hugepages ? MFD_HUGETLB : 0));
		if (r->fd < 0)
			return err__set(err, -errno, "memfd_create for %llu MiB of guest RAM: %s",
					(unsigned long long)(r->size >> 20), strerror(errno));
		if (ftruncate(r->fd, (off_t)r->size) < 0) {
			int e = -errno;
			close(r->fd);
			r->fd = -1;
			return err__set(err, e, "sizing guest RAM memfd to %llu MiB: %s",
					(unsigned long long)(r->size >> 20), strerror(-e));
		}
		p = map_ram(r->size, MAP_SHARED | flags, r->fd, opts->hugepages);
	} else {
		p = map_ram(r->size, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, opts->hugepages);
	}
	if (p == MAP_FAILED) {
		int e = -errno;
		if (r->fd >= 0)
			close(r->fd);
		r->fd = -1;
		return err__set(err, e, "mapping %llu MiB of guest RAM%s: %s", (unsigned long long)(r->size >> 20),
				opts->hugepages ? " with hugepages" : "", strerror(-e));
	}
	madvise(p, r->size, MADV_DONTDUMP);
	if (!opts->hugepages)
		madvise(p, r->size, MADV_HUGEPAGE);
	r->hva = p;
	r->owned = true;
	r->hugepages = opts->hugepages;
	return 0;
}

int guestmem__map(struct mv_guestmem *m, const struct mv_memopts *opts, struct mv_err *err)
{
	static const struct mv_memopts none;
	unsigned int i;
	int ret;

	for (i = 0; i < m->nregions; i++) {
		ret = map_region(&m->regions[i], opts ? opts : &none, err);
		if (ret < 0)
			goto err_unmap;
	}
	return 0;
err_unmap:
	guestmem__unmap(m);
	return ret;
}

void guestmem__unmap(struct mv_guestmem *m)
{
	unsigned int i;

	for (i = 0; i < m->nregions; i++) {
		struct mv_memregion *r = &m->regions[i];
		if (r->owned && r->hva)
			munmap(r->hva, r->size);
		if (r->fd >= 0)
			close(r->fd);
		r->hva = NULL;
		r->fd = -1;
		r->owned = false;
	}
}

int guestmem__map_hotplug(struct mv_guestmem *m, uint64_t gpa, uint64_t size, const struct mv_memopts *opts,
			  struct mv_err *err)
{
	static const struct mv_memopts none;
	struct mv_memregion *r;
	int ret;

	if (m->nregions >= MV_MAX_MEM_REGIONS)
		return err__set(err, -ENOSPC, "no room for the hotplug memory region");
	if (size == 0 || gpa + size < gpa || gpa < guestmem__end(m))
		return err__set(err, -EINVAL, "hotplug memory region 0x%llx+0x%llx overlaps RAM or wraps",
				(unsigned long long)gpa, (unsigned long long)size);
	r = &m->regions[m->nregions];
	*r = (struct mv_memregion){ .gpa = gpa, .size = size, .fd = -1, .hotplug = true };
	ret = map_region(r, opts ? opts : &none, err);
	if (ret < 0) {
		err__prefix(err, "hotplug memory");
		return ret;
	}
	m->nregions++;
	return 0;
}

static const struct mv_memregion *region_of_hva(const struct mv_guestmem *m, const uint8_t *p, uint64_t len)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct mv_memregion *r = &m->regions[i];

		if (r->hva && p >= r->hva && (uint64_t)(p - r->hva) < r->size && len <= r->size - (uint64_t)(p - r->hva))
			return r;
	}
	return NULL;
}

int guestmem__discard_hva(const struct mv_guestmem *m, void *hva, uint64_t len)
{
	const struct mv_memregion *r = region_of_hva(m, hva, len);
	uint64_t page = 4096, off;

	if (!r)
		return -EFAULT;
	if (r->hugepages)
		page = 2 * MiB;
	off = (uint64_t)((uint8_t *)hva - r->hva);
	if (len == 0 || off % page || len % page)
		return -EINVAL;
	if (r->fd >= 0) {
		if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
			return -errno;
		return 0;
	}
	if (madvise(hva, len, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}

int guestmem__discard(const struct mv_guestmem *m, uint64_t gpa, uint64_t len)
{
	void *p = guestmem__range(m, gpa, len);

	if (!p)
		return -EFAULT;
	return guestmem__discard_hva(m, p, len);
}

int guestmem__add_region(struct mv_guestmem *m, uint64_t gpa, uint64_t size, void *hva)
{
	if (m->nregions >= MV_MAX_MEM_REGIONS || size == 0 || gpa + size < gpa)
		return -EINVAL;
	m->regions[m->nregions++] = (struct mv_memregion){ .gpa = gpa, .size = size, .hva = hva, .fd = -1 };
	m->ram_size += size;
	return 0;
}

void *guestmem__range(const struct mv_guestmem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	if (gpa + len < gpa)
		return NULL;
	for (i = 0; i < m->nregions; i++) {
		const struct mv_memregion *r = &m->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva ? r->hva + (gpa - r->gpa) : NULL;
	}
	return NULL;
}

int guestmem__read(const struct mv_guestmem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *src = guestmem__range(m, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guestmem__write(const struct mv_guestmem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = guestmem__range(m, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t guestmem__end(const struct mv_guestmem *m)
{
	uint64_t end = 0;
	unsigned int i;

	for (i = 0; i < m->nregions; i++)
		end = MAX(end, m->regions[i].gpa + m->regions[i].size);
	return end;
}
