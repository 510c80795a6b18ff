/* bzImage (Linux x86 boot protocol >= 2.06 with a 64-bit entry point):
 * header validation and loading the protected-mode part at 1 MiB. */
#include "core/x86/kimage.h"

#include <errno.h>
#include <string.h>

#include "core/x86/bootmem.h"
#include "core/x86/bootparams.h"
#include "core/x86/layout.h"

static uint8_t get8(const struct mv_kimage *img, unsigned int off)
{
	return img->head[off];
}

static uint16_t get16(const struct mv_kimage *img, unsigned int off)
{
	uint16_t v;

	memcpy(&v, img->head + off, sizeof(v));
	return v;
}

static uint32_t get32(const struct mv_kimage *img, unsigned int off)
{
	uint32_t v;

	memcpy(&v, img->head + off, sizeof(v));
	return v;
}

static uint64_t get64(const struct mv_kimage *img, unsigned int off)
{
	uint64_t v;

	memcpy(&v, img->head + off, sizeof(v));
	return v;
}

_Static_assert(KIMAGE_HEAD_LEN >= HDR_MAGIC + 4 + 255, "head must hold the longest setup header");
_Static_assert(KIMAGE_HEAD_LEN <= (HDR_DEFAULT_SETUP_SECTS + 1) * HDR_SECTOR, "head within the smallest setup");

static int check_size(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err)
{
	unsigned int sects = get8(img, HDR_SETUP_SECTS);
	uint64_t syssize = (uint64_t)get32(img, HDR_SYSSIZE) * 16;
	uint64_t need;

	if (sects == 0)
		sects = HDR_DEFAULT_SETUP_SECTS;
	img->setup_size = (sects + 1) * HDR_SECTOR;
	need = img->setup_size + MAX(syssize, 1);
	if (kf->size < need)
		return err__set(err, -EINVAL, "truncated: %llu bytes, header says at least %llu",
				(unsigned long long)kf->size, (unsigned long long)need);
	img->payload_size = kf->size - img->setup_size;
	return 0;
}

static int check_protocol(struct mv_kimage *img, struct mv_err *err)
{
	uint16_t ver = get16(img, HDR_VERSION);

	img->info.protocol = ver;
	if (ver < HDR_MIN_PROTOCOL)
		return err__set(err, -ENOEXEC, "boot protocol %u.%02u is older than %u.%02u", ver >> 8, ver & 0xff,
				HDR_MIN_PROTOCOL >> 8, HDR_MIN_PROTOCOL & 0xff);
	if (!(get8(img, HDR_LOADFLAGS) & LOADFLAG_LOADED_HIGH))
		return err__set(err, -ENOEXEC, "zImage (LOADED_HIGH not set), need a bzImage");
	if (!(get16(img, HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err__set(err, -ENOEXEC, "bzImage has no 64-bit entry point (XLF_KERNEL_64 not set)");
	return 0;
}

/* Where the kernel decompresses itself to (boot.rst, "runtime start"). */
static int place_runtime(struct mv_kimage *img, struct mv_err *err)
{
	uint64_t pref = get64(img, HDR_PREF_ADDRESS);
	uint64_t align = get32(img, HDR_KERNEL_ALIGNMENT);
	uint64_t start;

	if (!get8(img, HDR_RELOCATABLE)) {
		if (pref < LAYOUT_HIMEM_START || pref > LAYOUT_MMIO_HOLE_START)
			return err__set(err, -EINVAL, "non-relocatable kernel wants to run at 0x%llx",
					(unsigned long long)pref);
		img->runtime_start = pref;
		return 0;
	}
	if (align == 0 || (align & (align - 1)))
		return err__set(err, -EINVAL, "kernel_alignment 0x%llx is not a power of two",
				(unsigned long long)align);
	start = MAX(MIN(pref, LAYOUT_MMIO_HOLE_START), LAYOUT_HIMEM_START);
	img->runtime_start = ALIGN_UP(start, align);
	return 0;
}

int bzimage__parse(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err)
{
	int ret;

	if (kf->size < HDR_MAGIC + 4 || get32(img, HDR_MAGIC) != HDR_MAGIC_VALUE)
		return -ENOEXEC;
	img->info.format = MV_KERNEL_BZIMAGE;
	ret = check_size(kf, img, err);
	if (!ret)
		ret = check_protocol(img, err);
	if (!ret)
		ret = place_runtime(img, err);
	if (ret < 0)
		return ret;
	img->hdr_len = HDR_MAGIC + get8(img, HDR_JUMP_OFFSET) - HDR_START;
	img->init_size = MAX((uint64_t)get32(img, HDR_INIT_SIZE), img->payload_size);
	img->info.initrd_addr_max = get32(img, HDR_INITRD_ADDR_MAX);
	img->info.cmdline_size = get32(img, HDR_CMDLINE_SIZE);
	img->entry = LAYOUT_HIMEM_START + BZIMAGE_ENTRY64_OFFSET;
	return 0;
}

int bzimage__load(const struct mv_kfile *kf, const struct mv_kimage *img, const struct mv_guestmem *mem,
		  uint64_t *kernel_end, struct mv_err *err)
{
	uint64_t ram_end = boot__low_ram_end(mem);
	uint64_t end = MAX(LAYOUT_HIMEM_START + img->payload_size, img->runtime_start + img->init_size);

	if (end > ram_end)
		return err__set(err, -ENOMEM,
				"needs guest RAM up to 0x%llx (init_size 0x%llx at 0x%llx) but low RAM ends at 0x%llx; give the VM more memory",
				(unsigned long long)end, (unsigned long long)img->init_size,
				(unsigned long long)img->runtime_start, (unsigned long long)ram_end);
	if (end > BOOT_IDENTITY_MAP_END)
		return err__set(err, -EINVAL, "needs memory up to 0x%llx, beyond the 1 GiB the boot page tables map",
				(unsigned long long)end);
	*kernel_end = end;
	return kfile__read_to_guest(kf, img->setup_size, img->payload_size, mem, LAYOUT_HIMEM_START, err);
}
