/* x86_64 ELF kernels (vmlinux): header and program header validation, the
 * Xen PVH entry note, and loading PT_LOAD segments at their p_paddr. */
#include "core/x86/kimage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/bootmem.h"
#include "core/x86/layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define NOTE_MAX_BYTES (64 * KiB)
#define NOTE_HDR_BYTES 12

static int check_ehdr(const struct mv_kfile *kf, const Elf64_Ehdr *eh, struct mv_err *err)
{
	uint64_t phbytes = (uint64_t)eh->e_phnum * eh->e_phentsize;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return err__set(err, -ENOEXEC, "ELF class %u, need a 64-bit (ELFCLASS64) x86_64 ELF",
				eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return err__set(err, -ENOEXEC, "ELF data encoding %u, need little endian", eh->e_ident[EI_DATA]);
	if (eh->e_machine != EM_X86_64)
		return err__set(err, -ENOEXEC, "ELF for machine %u, need x86_64 (%u)", eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return err__set(err, -ENOEXEC, "ELF type %u is not an executable (ET_EXEC)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return err__set(err, -EINVAL, "ELF program header size %u, expected %zu", eh->e_phentsize,
				sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum > KIMAGE_MAX_PHDRS)
		return err__set(err, -EINVAL, "ELF has %u program headers, need 1 to %u", eh->e_phnum,
				KIMAGE_MAX_PHDRS);
	if (eh->e_phoff > kf->size || phbytes > kf->size - eh->e_phoff)
		return err__set(err, -EINVAL,
				"program headers (%u x %u bytes at offset 0x%llx) extend beyond the end of the file (%llu bytes)",
				eh->e_phnum, eh->e_phentsize, (unsigned long long)eh->e_phoff,
				(unsigned long long)kf->size);
	return 0;
}

static bool in_file(const struct mv_kfile *kf, uint64_t off, uint64_t len)
{
	return off <= kf->size && len <= kf->size - off;
}

static int check_load(const struct mv_kfile *kf, unsigned int i, const Elf64_Phdr *ph, struct mv_err *err)
{
	if (ph->p_filesz > ph->p_memsz)
		return err__set(err, -EINVAL, "segment %u: p_filesz 0x%llx is larger than p_memsz 0x%llx", i,
				(unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (!in_file(kf, ph->p_offset, ph->p_filesz))
		return err__set(err, -EINVAL, "segment %u (0x%llx bytes at offset 0x%llx) extends beyond the end of the file (%llu bytes)",
				i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_offset,
				(unsigned long long)kf->size);
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return err__set(err, -EINVAL, "segment %u: p_paddr 0x%llx + p_memsz 0x%llx overflows", i,
				(unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	return 0;
}

static uint32_t note32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int pvh_entry(const uint8_t *desc, uint32_t descsz, struct mv_kimage *img, struct mv_err *err)
{
	uint64_t v = 0;

	if (descsz != 4 && descsz != 8)
		return err__set(err, -EINVAL, "Xen PHYS32_ENTRY note has a %u-byte value, need 4 or 8", descsz);
	memcpy(&v, desc, descsz);
	if (v > UINT32_MAX)
		return err__set(err, -EINVAL, "PVH entry point 0x%llx is above 4 GiB", (unsigned long long)v);
	img->info.has_pvh = true;
	img->entry = v;
	return 0;
}

/* Walks the notes of one PT_NOTE segment held in buf[0..len). */
static int walk_notes(const uint8_t *buf, uint64_t len, uint64_t align, struct mv_kimage *img, struct mv_err *err)
{
	uint64_t off = 0;

	while (len - off >= NOTE_HDR_BYTES) {
		uint32_t namesz = note32(buf + off), descsz = note32(buf + off + 4), type = note32(buf + off + 8);
		uint64_t name = off + NOTE_HDR_BYTES, desc = name + ALIGN_UP((uint64_t)namesz, align);

		if (desc > len || descsz > len - desc)
			return err__set(err, -EINVAL, "malformed ELF note at offset 0x%llx of a PT_NOTE segment",
					(unsigned long long)off);
		if (namesz == 4 && !memcmp(buf + name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY) {
			int ret = pvh_entry(buf + desc, descsz, img, err);
			if (ret < 0)
				return ret;
		}
		off = MIN(len, desc + ALIGN_UP((uint64_t)descsz, align));
	}
	return 0;
}

static int parse_notes(const struct mv_kfile *kf, unsigned int i, const Elf64_Phdr *ph, struct mv_kimage *img,
		       struct mv_err *err)
{
	uint8_t *buf;
	int ret;

	if (!in_file(kf, ph->p_offset, ph->p_filesz))
		return err__set(err, -EINVAL, "PT_NOTE segment %u (0x%llx bytes at offset 0x%llx) extends beyond the end of the file (%llu bytes)",
				i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_offset,
				(unsigned long long)kf->size);
	if (ph->p_filesz > NOTE_MAX_BYTES)
		return err__set(err, -EINVAL, "PT_NOTE segment %u is 0x%llx bytes, more than the 0x%llx allowed", i,
				(unsigned long long)ph->p_filesz, (unsigned long long)NOTE_MAX_BYTES);
	buf = malloc(ph->p_filesz ? ph->p_filesz : 1);
	if (!buf)
		return err__set(err, -ENOMEM, "out of memory for ELF notes");
	ret = kfile__read(kf, ph->p_offset, buf, ph->p_filesz, err);
	if (!ret)
		ret = walk_notes(buf, ph->p_filesz, ph->p_align == 8 ? 8 : 4, img, err);
	free(buf);
	return ret;
}

static int check_phdrs(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err)
{
	unsigned int i, nload = 0;
	int ret = 0;

	for (i = 0; i < img->nphdrs && !ret; i++) {
		const Elf64_Phdr *ph = &img->phdrs[i];

		if (ph->p_type == PT_LOAD) {
			ret = check_load(kf, i, ph, err);
			nload++;
		} else if (ph->p_type == PT_NOTE) {
			ret = parse_notes(kf, i, ph, img, err);
		}
	}
	if (!ret && nload == 0)
		ret = err__set(err, -ENOEXEC, "ELF has no PT_LOAD segment");
	return ret;
}

int elfload__parse(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err)
{
	Elf64_Ehdr eh;
	int ret;

	if (kf->size < SELFMAG || memcmp(img->head, ELFMAG, SELFMAG))
		return -ENOEXEC;
	img->info.format = MV_KERNEL_ELF;
	if (kf->size < sizeof(eh))
		return err__set(err, -ENOEXEC, "truncated ELF header (%llu bytes)", (unsigned long long)kf->size);
	memcpy(&eh, img->head, sizeof(eh));
	ret = check_ehdr(kf, &eh, err);
	if (ret < 0)
		return ret;
	img->nphdrs = eh.e_phnum;
	ret = kfile__read(kf, eh.e_phoff, img->phdrs, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), err);
	if (ret < 0)
		return ret;
	img->entry = eh.e_entry;
	img->info.initrd_addr_max = KIMAGE_ELF_INITRD_ADDR_MAX;
	img->info.cmdline_size = KIMAGE_ELF_CMDLINE_SIZE;
	return check_phdrs(kf, img, err);
}

static int load_segment(const struct mv_kfile *kf, unsigned int i, const Elf64_Phdr *ph,
			const struct mv_guestmem *mem, struct mv_err *err)
{
	uint8_t *dst = guestmem__range(mem, ph->p_paddr, ph->p_memsz);

	if (ph->p_paddr < LAYOUT_HIMEM_START)
		return err__set(err, -EINVAL, "segment %u (PT_LOAD at 0x%llx, 0x%llx bytes) overlaps the boot area below 1 MiB",
				i, (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	if (!dst)
		return err__set(err, -EFAULT, "segment %u (PT_LOAD at 0x%llx, 0x%llx bytes) lies outside guest RAM; give the VM more memory",
				i, (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	return kfile__read(kf, ph->p_offset, dst, ph->p_filesz, err);
}

static bool in_segment(const struct mv_kimage *img, uint64_t addr)
{
	for (unsigned int i = 0; i < img->nphdrs; i++) {
		const Elf64_Phdr *ph = &img->phdrs[i];
		if (ph->p_type == PT_LOAD && addr >= ph->p_paddr && addr - ph->p_paddr < ph->p_memsz)
			return true;
	}
	return false;
}

static int check_entry(const struct mv_kimage *img, struct mv_err *err)
{
	const char *what = img->info.has_pvh ? "PVH entry point" : "entry point";

	if (!in_segment(img, img->entry))
		return err__set(err, -EINVAL, "%s 0x%llx is not inside any PT_LOAD segment", what,
				(unsigned long long)img->entry);
	if (!img->info.has_pvh && img->entry >= BOOT_IDENTITY_MAP_END)
		return err__set(err, -EINVAL, "entry point 0x%llx is above the first 1 GiB the boot page tables map",
				(unsigned long long)img->entry);
	return 0;
}

int elfload__load(const struct mv_kfile *kf, const struct mv_kimage *img, const struct mv_guestmem *mem,
		  uint64_t *kernel_end, struct mv_err *err)
{
	uint64_t end = LAYOUT_HIMEM_START;
	int ret = check_entry(img, err);

	for (unsigned int i = 0; i < img->nphdrs && !ret; i++) {
		const Elf64_Phdr *ph = &img->phdrs[i];

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		ret = load_segment(kf, i, ph, mem, err);
		end = MAX(end, ph->p_paddr + ph->p_memsz);
	}
	*kernel_end = end;
	return ret;
}
