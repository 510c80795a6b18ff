/* Linux kernel boot: probe a kernel file, then load kernel, initrd and
 * command line and build the structures its entry point expects. The
 * formats live in bzimage.c and elfload.c, the boot structures in
 * bootmem.c, the memory map in e820.c. */
#include "core/x86/boot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/x86/bootmem.h"
#include "core/x86/bootparams.h"
#include "core/x86/kimage.h"
#include "core/x86/layout.h"

#define PAGE_SIZE 4096ULL

uint64_t boot__low_ram_end(const struct mv_guestmem *mem)
{
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct mv_memregion *r = &mem->regions[i];
		if (LAYOUT_HIMEM_START >= r->gpa && LAYOUT_HIMEM_START - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}

int boot__parse_kfile(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err)
{
	int ret;

	memset(img, 0, sizeof(*img));
	img->info.file_size = kf->size;
	ret = kfile__read(kf, 0, img->head, MIN(kf->size, KIMAGE_HEAD_LEN), err);
	if (!ret)
		ret = bzimage__parse(kf, img, err);
	if (ret == -ENOEXEC && !img->info.format)
		ret = elfload__parse(kf, img, err);
	if (ret == -ENOEXEC && !img->info.format)
		ret = err__set(err, -ENOEXEC, "not a Linux kernel (neither a bzImage nor an x86_64 ELF)");
	if (ret < 0)
		err__prefix(err, "kernel %s", kf->path);
	return ret;
}

int boot__parse_kernel_header(const uint8_t *buf, size_t len, struct mv_kernel_info *info, struct mv_err *err)
{
	struct mv_kimage img;
	struct mv_kfile kf;
	int ret;

	kfile__from_buffer(&kf, "<buffer>", buf, len);
	ret = boot__parse_kfile(&kf, &img, err);
	if (!ret)
		*info = img.info;
	return ret;
}

int boot__probe_kernel(const char *path, struct mv_kernel_info *info, struct mv_err *err)
{
	struct mv_kimage img;
	struct mv_kfile kf;
	int ret;

	ret = kfile__open(&kf, path, err);
	if (ret < 0) {
		err__prefix(err, "kernel %s", path);
		return ret;
	}
	ret = boot__parse_kfile(&kf, &img, err);
	if (!ret)
		*info = img.info;
	kfile__close(&kf);
	return ret;
}

static int check_cmdline(const struct mv_boot_request *req, const struct mv_kimage *img, const char *path,
			 struct mv_err *err)
{
	size_t len = req->cmdline ? strlen(req->cmdline) : 0;
	uint64_t max = MIN((uint64_t)img->info.cmdline_size, LAYOUT_CMDLINE_MAX - 1);

	if (len > max)
		return err__set(err, -E2BIG, "command line is %zu bytes, longer than the %llu bytes kernel %s accepts",
				len, (unsigned long long)max, path);
	return 0;
}

static int write_cmdline(const struct mv_guestmem *mem, const struct mv_boot_request *req, struct mv_err *err)
{
	const char *s = req->cmdline ? req->cmdline : "";
	size_t len = strlen(s);
	char *dst = guestmem__range(mem, LAYOUT_CMDLINE, len + 1);

	if (!dst)
		return err__set(err, -EFAULT, "command line area at 0x%llx is not in guest RAM",
				(unsigned long long)LAYOUT_CMDLINE);
	memcpy(dst, s, len + 1);
	return 0;
}

static int load_kernel(const struct mv_guestmem *mem, const struct mv_kfile *kf, const struct mv_kimage *img,
		       uint64_t *kernel_end, struct mv_err *err)
{
	int ret;

	if (img->info.format == MV_KERNEL_BZIMAGE)
		ret = bzimage__load(kf, img, mem, kernel_end, err);
	else
		ret = elfload__load(kf, img, mem, kernel_end, err);
	if (ret < 0)
		err__prefix(err, "kernel %s", kf->path);
	return ret;
}

/* Highest page-aligned start with [start, start+size) in [lo, limit). */
static bool place_initrd(uint64_t size, uint64_t lo, uint64_t limit, uint64_t *gpa)
{
	uint64_t start;

	if (size > limit)
		return false;
	start = ALIGN_DOWN(limit - size, PAGE_SIZE);
	if (start < ALIGN_UP(lo, PAGE_SIZE))
		return false;
	*gpa = start;
	return true;
}

static int read_initrd(const struct mv_guestmem *mem, const struct mv_kfile *kf, const struct mv_kimage *img,
		       uint64_t kernel_end, struct mv_boot_info *bi, struct mv_err *err)
{
	uint64_t limit = MIN(img->info.initrd_addr_max + 1, boot__low_ram_end(mem));
	int ret;

	if (kf->size == 0)
		return err__set(err, -EINVAL, "initrd %s is empty", kf->path);
	if (!place_initrd(kf->size, kernel_end, limit, &bi->initrd_gpa))
		return err__set(err, -ENOMEM,
				"initrd %s (%llu MiB) does not fit in guest memory below 0x%llx; give the VM more memory",
				kf->path, (unsigned long long)((kf->size + MiB - 1) / MiB), (unsigned long long)limit);
	bi->initrd_size = kf->size;
	ret = kfile__read_to_guest(kf, 0, kf->size, mem, bi->initrd_gpa, err);
	if (ret < 0)
		err__prefix(err, "initrd %s", kf->path);
	return ret;
}

static int load_initrd(const struct mv_guestmem *mem, const struct mv_boot_request *req,
		       const struct mv_kimage *img, uint64_t kernel_end, struct mv_boot_info *bi, struct mv_err *err)
{
	struct mv_kfile kf;
	int ret;

	if (!req->initrd_path)
		return 0;
	ret = kfile__open(&kf, req->initrd_path, err);
	if (ret < 0) {
		err__prefix(err, "initrd %s", req->initrd_path);
		return ret;
	}
	ret = read_initrd(mem, &kf, img, kernel_end, bi, err);
	kfile__close(&kf);
	return ret;
}

static int build_e820(const struct mv_guestmem *mem, const struct mv_boot_request *req, struct mv_e820_entry *out,
		      struct mv_boot_info *bi, struct mv_err *err)
{
	int n = e820__build(mem, req->reserved, req->nreserved, out, MV_E820_MAX);

	if (n == -E2BIG)
		return err__set(err, n, "e820 map needs more than %u entries", MV_E820_MAX);
	if (n < 0)
		return err__set(err, n, "e820 map: a reserved range wraps around the address space");
	bi->e820 = out;
	bi->ne820 = (unsigned int)n;
	return 0;
}

static int setup_entry(const struct mv_guestmem *mem, const struct mv_kimage *img, const struct mv_boot_info *bi,
		       struct mv_boot_entry *entry, struct mv_err *err)
{
	int ret;

	entry->mode = img->info.has_pvh ? MV_ENTRY_PVH32 : MV_ENTRY_LONG64;
	entry->rip = img->entry;
	ret = bootmem__gdt(mem, entry, err);
	if (ret < 0)
		return ret;
	if (entry->mode == MV_ENTRY_PVH32) {
		entry->rbx = LAYOUT_PVH_INFO;
		return bootmem__pvh_info(mem, bi, err);
	}
	entry->rsi = LAYOUT_ZERO_PAGE;
	ret = bootmem__page_tables(mem, entry, err);
	if (!ret)
		ret = bootmem__zero_page(mem, bi, err);
	return ret;
}

static void init_boot_info(const struct mv_boot_request *req, const struct mv_kimage *img, struct mv_boot_info *bi)
{
	bool bz = img->info.format == MV_KERNEL_BZIMAGE;

	*bi = (struct mv_boot_info){
		.setup_hdr = bz ? img->head + HDR_START : NULL,
		.setup_hdr_len = bz ? img->hdr_len : 0,
		.rsdp_supported = !bz || img->info.protocol >= HDR_PROTOCOL_RSDP,
		.cmdline_gpa = LAYOUT_CMDLINE,
		.rsdp = req->acpi_rsdp,
	};
}

static int load_image(struct mv_guestmem *mem, const struct mv_boot_request *req, const struct mv_kfile *kernel,
		      const struct mv_kimage *img, struct mv_boot_entry *entry, struct mv_err *err)
{
	struct mv_e820_entry e820[MV_E820_MAX];
	struct mv_boot_info bi;
	uint64_t kernel_end = 0;
	int ret;

	init_boot_info(req, img, &bi);
	ret = check_cmdline(req, img, kernel->path, err);
	if (!ret)
		ret = load_kernel(mem, kernel, img, &kernel_end, err);
	if (!ret)
		ret = load_initrd(mem, req, img, kernel_end, &bi, err);
	if (!ret)
		ret = build_e820(mem, req, e820, &bi, err);
	if (!ret)
		ret = write_cmdline(mem, req, err);
	if (!ret)
		ret = setup_entry(mem, img, &bi, entry, err);
	return ret;
}

/* The bzImage's vmlinux, unpacked on the host and entered through PVH;
 * -ENOTSUP (logged at info level, -v) when the bzImage is to boot as is. */
static int load_unpacked(struct mv_guestmem *mem, const struct mv_boot_request *req, const struct mv_kfile *kernel,
			 const struct mv_kimage *bz, struct mv_boot_entry *entry, struct mv_err *err)
{
	char name[PATH_MAX + 32];
	struct mv_kimage *img = NULL;
	struct mv_kfile kf;
	struct mv_err why;
	void *buf = NULL;
	size_t len;
	int ret;

	ret = kunpack__bzimage(kernel, bz, &buf, &len, &why);
	if (ret < 0)
		goto as_is;
	snprintf(name, sizeof(name), "%s (unpacked vmlinux)", kernel->path);
	kfile__from_buffer(&kf, name, buf, len);
	img = malloc(sizeof(*img));
	ret = img ? boot__parse_kfile(&kf, img, &why) : err__set(&why, -ENOMEM, "out of memory");
	if (!ret && !img->info.has_pvh)
		ret = err__set(&why, -ENOTSUP, "the vmlinux has no PVH entry note");
	if (ret < 0)
		goto as_is;
	ret = load_image(mem, req, &kf, img, entry, err);
	if (!ret)
		pr_info("kernel %s: LZ4 payload unpacked on the host (%llu MiB vmlinux), entered through PVH",
			kernel->path, (unsigned long long)(len / MiB));
	goto out;
as_is:
	pr_info("kernel %s: booting the bzImage as is (%s)", kernel->path, why.msg);
	ret = -ENOTSUP;
out:
	free(img);
	free(buf);
	return ret;
}

int boot__load_kfile(struct mv_guestmem *mem, const struct mv_boot_request *req, const struct mv_kfile *kernel,
		     struct mv_boot_entry *entry, struct mv_err *err)
{
	struct mv_kimage img;
	int ret;

	memset(entry, 0, sizeof(*entry));
	ret = boot__parse_kfile(kernel, &img, err);
	if (ret < 0)
		return ret;
	if (req->unpack_kernel && img.info.format == MV_KERNEL_BZIMAGE) {
		ret = load_unpacked(mem, req, kernel, &img, entry, err);
		if (ret != -ENOTSUP)
			return ret;
		memset(entry, 0, sizeof(*entry));
	}
	return load_image(mem, req, kernel, &img, entry, err);
}

int boot__load(struct mv_guestmem *mem, const struct mv_boot_request *req, struct mv_boot_entry *entry,
	       struct mv_err *err)
{
	struct mv_kfile kf;
	int ret;

	if (!req->kernel_path)
		return err__set(err, -EINVAL, "no kernel given");
	ret = kfile__open(&kf, req->kernel_path, err);
	if (ret < 0) {
		err__prefix(err, "kernel %s", req->kernel_path);
		return ret;
	}
	ret = boot__load_kfile(mem, req, &kf, entry, err);
	kfile__close(&kf);
	return ret;
}
