#include "core/guestmem.h"

#include <errno.h>
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
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | flags, r->fd, 0);
	} else {
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
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
