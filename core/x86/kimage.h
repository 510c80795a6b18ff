/* Kernel images as core/x86/boot.c sees them: a bounded reader over a file
 * or a memory buffer (kfile.c), header parsers that validate everything the
 * file claims (bzimage.c, elfload.c), and loaders that put the image into
 * guest memory. Private to core/x86/; the fuzz target and tests use it too. */
#ifndef MV_X86_KIMAGE_H
#define MV_X86_KIMAGE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"
#include "core/x86/boot.h"

/* A read-only file (fd >= 0) or buffer (fd == -1) of a known size. Every
 * read is checked against that size. */
struct mv_kfile {
	const char *path;       /* for messages */
	int fd;
	const uint8_t *buf;
	uint64_t size;
};

/* Opens a regular file; on error the message is strerror-like, without
 * the path (callers prefix "kernel PATH" / "initrd PATH"). */
int kfile__open(struct mv_kfile *kf, const char *path, struct mv_err *err) MV_MUST_CHECK;
void kfile__from_buffer(struct mv_kfile *kf, const char *name, const void *buf, size_t len);
void kfile__close(struct mv_kfile *kf);
/* Reads [off, off+len) exactly; -ERANGE if that is beyond the file size,
 * -EIO if the file shrank under us, -errno on read errors. */
int kfile__read(const struct mv_kfile *kf, uint64_t off, void *dst, uint64_t len, struct mv_err *err)
	MV_MUST_CHECK;
/* Same into guest memory at gpa; -EFAULT if [gpa, gpa+len) is not RAM. */
int kfile__read_to_guest(const struct mv_kfile *kf, uint64_t off, uint64_t len, const struct mv_guestmem *mem,
			 uint64_t gpa, struct mv_err *err) MV_MUST_CHECK;

#define KIMAGE_HEAD_LEN 1024   /* bytes read first; >= any setup header */
#define KIMAGE_MAX_PHDRS 64
#define KIMAGE_ELF_CMDLINE_SIZE 2047   /* x86 COMMAND_LINE_SIZE - 1 */
#define KIMAGE_ELF_INITRD_ADDR_MAX 0x7fffffffULL

/* Everything boot.c needs from a parsed kernel image. */
struct mv_kimage {
	struct mv_kernel_info info;
	uint8_t head[KIMAGE_HEAD_LEN];   /* first bytes of the file, zero padded */
	/* bzImage */
	uint32_t setup_size;     /* (setup_sects + 1) * 512: payload file offset */
	uint64_t payload_size;   /* rest of the file, loaded at 1 MiB */
	uint64_t runtime_start;  /* where the kernel decompresses itself to */
	uint64_t init_size;      /* MAX(init_size, payload_size) */
	unsigned int hdr_len;    /* setup header bytes from HDR_START */
	/* ELF */
	uint64_t entry;          /* e_entry, or the PVH entry when has_pvh */
	unsigned int nphdrs;
	Elf64_Phdr phdrs[KIMAGE_MAX_PHDRS];
};

/* img->head must hold the file's first bytes. Both return -ENOEXEC without
 * a message and with img->info.format unset when the magic does not match,
 * else 0 or -errno with a message (without the "kernel PATH: " prefix). */
int bzimage__parse(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err) MV_MUST_CHECK;
int elfload__parse(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err) MV_MUST_CHECK;

/* Copies the image into guest memory and returns the first byte above the
 * memory the kernel will use (initrds go above it). */
int bzimage__load(const struct mv_kfile *kf, const struct mv_kimage *img, const struct mv_guestmem *mem,
		  uint64_t *kernel_end, struct mv_err *err) MV_MUST_CHECK;
int elfload__load(const struct mv_kfile *kf, const struct mv_kimage *img, const struct mv_guestmem *mem,
		  uint64_t *kernel_end, struct mv_err *err) MV_MUST_CHECK;

/* The vmlinux inside a bzImage whose payload is LZ4 (kunpack.c), in a
 * malloc'd *out. -ENOTSUP: another compression or an old boot protocol;
 * -EINVAL: a corrupt payload; each with a message. */
#define KUNPACK_MAX_OUT (512ULL * MiB)
int kunpack__bzimage(const struct mv_kfile *kf, const struct mv_kimage *img, void **out, size_t *out_len,
		     struct mv_err *err) MV_MUST_CHECK;

/* Parses a kernel image held in memory (fuzzing, tests); errors start with
 * "kernel <buffer>: ". */
int boot__parse_kernel_header(const uint8_t *buf, size_t len, struct mv_kernel_info *info, struct mv_err *err)
	MV_MUST_CHECK;
/* Any-source variants of boot__probe_kernel/boot__load. */
int boot__parse_kfile(const struct mv_kfile *kf, struct mv_kimage *img, struct mv_err *err) MV_MUST_CHECK;
int boot__load_kfile(struct mv_guestmem *mem, const struct mv_boot_request *req, const struct mv_kfile *kernel,
		     struct mv_boot_entry *entry, struct mv_err *err) MV_MUST_CHECK;

/* End of the RAM region that holds LAYOUT_HIMEM_START, 0 if none. */
uint64_t boot__low_ram_end(const struct mv_guestmem *mem);

#endif
