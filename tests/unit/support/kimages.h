/* Synthetic kernel images for unit tests: a bzImage header around any
 * payload, and a small x86_64 ELF vmlinux (one PT_LOAD, notes, optional
 * PVH entry). Offsets are spelled out from Documentation/arch/x86/boot.rst,
 * independent of core/x86. */
#ifndef MV_TESTS_KIMAGES_H
#define MV_TESTS_KIMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KIMG_BZ_SETUP_SIZE (5 * 512)     /* setup_sects = 4 */
#define KIMG_ELF_FILESZ 0x2000
#define KIMG_ELF_MEMSZ 0x5000
#define KIMG_ELF_DATA_OFF 0x1000
#define KIMG_ELF_PVH_OFF 0x40            /* PVH entry: paddr + this */
#define KIMG_ELF_ENTRY_OFF 0x10          /* e_entry: paddr + this */

struct kimg_bz_opts {
	uint16_t protocol, xlf;
	uint32_t initrd_max, cmdline_size, init_size;
};

struct kimg_elf_opts {
	uint16_t machine;
	bool pvh;
	uint64_t paddr, phoff;
};

void kimg__put16(uint8_t *p, size_t off, uint16_t v);
void kimg__put32(uint8_t *p, size_t off, uint32_t v);
void kimg__put64(uint8_t *p, size_t off, uint64_t v);

/* A bzImage (malloc'ed) whose protected-mode part is payload[0, plen),
 * with payload_offset 0 and payload_length plen. */
uint8_t *kimg__bzimage(const struct kimg_bz_opts *o, const void *payload, size_t plen, size_t *len);
/* An ELF vmlinux (malloc'ed): segment bytes are (i * 13 + 1), then zeros
 * up to KIMG_ELF_MEMSZ. */
uint8_t *kimg__elf(const struct kimg_elf_opts *o, size_t *len);

#endif
