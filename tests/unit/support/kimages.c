/* Synthetic kernel images for unit tests (see kimages.h). */
#include "tests/unit/support/kimages.h"

#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

void kimg__put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
void kimg__put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
void kimg__put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

uint8_t *kimg__bzimage(const struct kimg_bz_opts *o, const void *payload, size_t plen, size_t *len)
{
	uint8_t *b = calloc(1, KIMG_BZ_SETUP_SIZE + plen);

	assert_non_null(b);
	b[0x1f1] = 4;
	kimg__put32(b, 0x1f4, (uint32_t)(plen / 16));
	kimg__put16(b, 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x66;                 /* header ends at 0x268 */
	memcpy(b + 0x202, "HdrS", 4);
	kimg__put16(b, 0x206, o->protocol);
	b[0x211] = 0x01;                 /* LOADED_HIGH */
	kimg__put32(b, 0x22c, o->initrd_max);
	kimg__put32(b, 0x230, 0x200000);
	b[0x234] = 1;
	kimg__put16(b, 0x236, o->xlf);
	kimg__put32(b, 0x238, o->cmdline_size);
	kimg__put32(b, 0x248, 0);        /* payload_offset */
	kimg__put32(b, 0x24c, (uint32_t)plen);
	kimg__put64(b, 0x250, 0xdeadbeef); /* setup_data: must not reach the guest */
	kimg__put64(b, 0x258, 16ULL << 20);
	kimg__put32(b, 0x260, o->init_size);
	memcpy(b + KIMG_BZ_SETUP_SIZE, payload, plen);
	*len = KIMG_BZ_SETUP_SIZE + plen;
	return b;
}

static size_t put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	kimg__put32(p, 0, namesz);
	kimg__put32(p, 4, descsz);
	kimg__put32(p, 8, type);
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + ((namesz + 3) & ~3u), desc, descsz);
	return 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
}

uint8_t *kimg__elf(const struct kimg_elf_opts *o, size_t *len)
{
	size_t n = KIMG_ELF_DATA_OFF + KIMG_ELF_FILESZ, notes;
	uint8_t *b = calloc(1, n);
	uint64_t pvh_entry = o->paddr + KIMG_ELF_PVH_OFF, gnu = 0x1234;
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = o->machine, .e_version = EV_CURRENT,
			  .e_entry = o->paddr + KIMG_ELF_ENTRY_OFF, .e_phoff = o->phoff,
			  .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2 };
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_offset = KIMG_ELF_DATA_OFF, .p_vaddr = 0xffffffff81000000ULL,
		  .p_paddr = o->paddr, .p_filesz = KIMG_ELF_FILESZ, .p_memsz = KIMG_ELF_MEMSZ, .p_align = 0x1000 },
		{ .p_type = PT_NOTE, .p_offset = 0x100, .p_align = 4 },
	};

	assert_non_null(b);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	notes = put_note(b + 0x100, "GNU", 3, &gnu, 4);
	if (o->pvh)
		notes += put_note(b + 0x100 + notes, "Xen", 18, &pvh_entry, 8);
	ph[1].p_filesz = notes;
	memcpy(b, &eh, sizeof(eh));
	if (o->phoff + sizeof(ph) <= n)
		memcpy(b + o->phoff, ph, sizeof(ph));
	for (size_t i = 0; i < KIMG_ELF_FILESZ; i++)
		b[KIMG_ELF_DATA_OFF + i] = (uint8_t)(i * 13 + 1);
	*len = n;
	return b;
}
