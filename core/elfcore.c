/* ELF64 core files of guest RAM; see elfcore.h. */
#include "core/elfcore.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <unistd.h>

#define CORE_PAGE 4096u

/* QEMU's target/i386/arch_dump.c, version 1 (without kernel_gs_base). */
struct qemu_segment {
	uint32_t selector, limit, flags, pad;
	uint64_t base;
};

struct qemu_cpu_state {
	uint32_t version, size;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct qemu_segment cs, ds, es, fs, gs, ss;
	struct qemu_segment ldt, tr, gdt, idt;
	uint64_t cr[5];
};

_Static_assert(sizeof(struct elf_prstatus) == 336, "x86_64 elf_prstatus");
_Static_assert(sizeof(struct qemu_cpu_state) == 0x1b0, "QEMUCPUState version 1");

#define NOTE_NAME_LEN 8 /* "CORE\0" / "QEMU\0" padded to 4 bytes */
#define NOTE_LEN(desc) (sizeof(Elf64_Nhdr) + NOTE_NAME_LEN + ALIGN_UP((desc), 4))
#define CPU_NOTES_LEN (NOTE_LEN(sizeof(struct elf_prstatus)) + NOTE_LEN(sizeof(struct qemu_cpu_state)))

static uint8_t *put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr nh = { .n_namesz = (Elf64_Word)strlen(name) + 1, .n_descsz = (Elf64_Word)len, .n_type = type };

	memcpy(p, &nh, sizeof(nh));
	p += sizeof(nh);
	memcpy(p, name, nh.n_namesz); /* buffer is zeroed: padding stays 0 */
	p += NOTE_NAME_LEN;
	memcpy(p, desc, len);
	return p + ALIGN_UP(len, 4);
}

static void fill_prstatus(struct elf_prstatus *st, const struct mv_elfcore_cpu *c, unsigned int id)
{
	const struct kvm_regs *r = &c->regs;
	const struct kvm_sregs *s = &c->sregs;
	struct user_regs_struct u = {
		.r15 = r->r15, .r14 = r->r14, .r13 = r->r13, .r12 = r->r12, .rbp = r->rbp, .rbx = r->rbx,
		.r11 = r->r11, .r10 = r->r10, .r9 = r->r9, .r8 = r->r8, .rax = r->rax, .rcx = r->rcx,
		.rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi, .orig_rax = r->rax, .rip = r->rip,
		.cs = s->cs.selector, .eflags = r->rflags, .rsp = r->rsp, .ss = s->ss.selector,
		.fs_base = s->fs.base, .gs_base = s->gs.base, .ds = s->ds.selector, .es = s->es.selector,
		.fs = s->fs.selector, .gs = s->gs.selector,
	};

	memset(st, 0, sizeof(*st));
	st->pr_pid = (pid_t)id + 1;
	if (c->valid)
		memcpy(&st->pr_reg, &u, sizeof(u));
}

/* QEMU's segment flags are the descriptor's second dword bits 8-23. */
static struct qemu_segment qseg(const struct kvm_segment *k)
{
	uint32_t flags = (uint32_t)k->type << 8 | (uint32_t)k->s << 12 | (uint32_t)k->dpl << 13 |
			 (uint32_t)k->present << 15 | (uint32_t)k->avl << 20 | (uint32_t)k->l << 21 |
			 (uint32_t)k->db << 22 | (uint32_t)k->g << 23;

	return (struct qemu_segment){ .selector = k->selector, .limit = k->limit, .flags = flags, .base = k->base };
}

static void fill_qemu(struct qemu_cpu_state *q, const struct mv_elfcore_cpu *c)
{
	const struct kvm_regs *r = &c->regs;
	const struct kvm_sregs *s = &c->sregs;

	memset(q, 0, sizeof(*q));
	q->version = 1;
	q->size = sizeof(*q);
	if (!c->valid)
		return;
	*q = (struct qemu_cpu_state){
		.version = 1, .size = sizeof(*q),
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi,
		.rsp = r->rsp, .rbp = r->rbp, .r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15, .rip = r->rip, .rflags = r->rflags,
		.cs = qseg(&s->cs), .ds = qseg(&s->ds), .es = qseg(&s->es), .fs = qseg(&s->fs),
		.gs = qseg(&s->gs), .ss = qseg(&s->ss), .ldt = qseg(&s->ldt), .tr = qseg(&s->tr),
		.gdt = { .limit = s->gdt.limit, .base = s->gdt.base },
		.idt = { .limit = s->idt.limit, .base = s->idt.base },
		.cr = { s->cr0, 0, s->cr2, s->cr3, s->cr4 },
	};
}

static void fill_ehdr(Elf64_Ehdr *eh, unsigned int nphdrs)
{
	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)nphdrs;
}

int elfcore__headers(const struct mv_guestmem *mem, const struct mv_elfcore_cpu *cpus, unsigned int ncpus,
		     uint8_t **out, size_t *len)
{
	unsigned int nphdrs = 1 + mem->nregions;
	size_t notes_off = sizeof(Elf64_Ehdr) + nphdrs * sizeof(Elf64_Phdr);
	size_t notes_len = (size_t)ncpus * CPU_NOTES_LEN;
	size_t total = ALIGN_UP(notes_off + notes_len, CORE_PAGE);
	uint64_t data_off = total;
	Elf64_Phdr *ph;
	uint8_t *buf, *p;

	if (ncpus > 4096 || mem->nregions > MV_MAX_MEM_REGIONS)
		return -EINVAL;
	buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	fill_ehdr((Elf64_Ehdr *)buf, nphdrs);
	ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = notes_len, .p_align = 4 };
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct mv_memregion *r = &mem->regions[i];
		ph[1 + i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = data_off,
			.p_vaddr = r->gpa, .p_paddr = r->gpa, .p_filesz = r->size, .p_memsz = r->size,
			.p_align = CORE_PAGE,
		};
		data_off += ALIGN_UP(r->size, CORE_PAGE);
	}
	p = buf + notes_off;
	for (unsigned int i = 0; i < ncpus; i++) {
		struct elf_prstatus st;
		struct qemu_cpu_state q;

		fill_prstatus(&st, &cpus[i], i);
		fill_qemu(&q, &cpus[i]);
		p = put_note(p, "CORE", NT_PRSTATUS, &st, sizeof(st));
		p = put_note(p, "QEMU", 0, &q, sizeof(q));
	}
	*out = buf;
	*len = total;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zero[CORE_PAGE];

	return memcmp(p, zero, len) == 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, MIN(len, (size_t)1 << 30), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the non-zero pages of r at file offset off, in runs. */
static int write_region(int fd, const struct mv_memregion *r, uint64_t off)
{
	uint64_t run = 0, pos;
	int ret;

	for (pos = 0; pos < r->size; pos += CORE_PAGE) {
		size_t n = (size_t)MIN((uint64_t)CORE_PAGE, r->size - pos);
		if (!all_zero(r->hva + pos, n))
			continue;
		if (pos > run && (ret = write_all(fd, r->hva + run, pos - run, off + run)) < 0)
			return ret;
		run = pos + n;
	}
	if (r->size > run)
		return write_all(fd, r->hva + run, r->size - run, off + run);
	return 0;
}

int elfcore__write(int fd, const struct mv_guestmem *mem, const struct mv_elfcore_cpu *cpus, unsigned int ncpus,
		   struct mv_err *err)
{
	uint8_t *hdr;
	size_t len;
	uint64_t off;
	int ret = elfcore__headers(mem, cpus, ncpus, &hdr, &len);

	if (ret < 0)
		return err__set(err, ret, "building the core's headers: %s", strerror(-ret));
	ret = write_all(fd, hdr, len, 0);
	off = len;
	free(hdr);
	for (unsigned int i = 0; !ret && i < mem->nregions; i++) {
		if (!mem->regions[i].hva)
			ret = -EFAULT;
		else
			ret = write_region(fd, &mem->regions[i], off);
		off += ALIGN_UP(mem->regions[i].size, CORE_PAGE);
	}
	if (!ret && ftruncate(fd, (off_t)off) < 0)
		ret = -errno;
	if (ret < 0)
		return err__set(err, ret, "writing the core: %s", strerror(-ret));
	return 0;
}
