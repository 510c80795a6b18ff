/* Guest RAM as an ELF64 core file (what QEMU's dump-guest-memory writes
 * without paging), for gdb and crash:
 *
 *   ELF header   ET_CORE, EM_X86_64, ELFOSABI_NONE
 *   PT_NOTE      per vCPU: NT_PRSTATUS "CORE" (general registers, pr_pid =
 *                vCPU id + 1) and a "QEMU" note (QEMUCPUState version 1:
 *                segments, GDT/IDT, CR0-CR4; crash uses it to find the
 *                kernel's page tables and KASLR offset)
 *   PT_LOAD      one per RAM region, in address order: p_paddr = p_vaddr =
 *                guest physical address, p_filesz = p_memsz = its size,
 *                page-aligned file offsets
 *
 * Pages of RAM that are all zero are not written (the file is sparse). */
#ifndef MV_ELFCORE_H
#define MV_ELFCORE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/guestmem.h"

struct mv_elfcore_cpu {
	bool valid;   /* else the vCPU's notes carry zeros */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

/* Builds the ELF header, program headers and notes into a malloc'ed
 * buffer (*out, *len, which is page-aligned: RAM data follows it). */
int elfcore__headers(const struct mv_guestmem *mem, const struct mv_elfcore_cpu *cpus, unsigned int ncpus,
		     uint8_t **out, size_t *len) MV_MUST_CHECK;
/* Writes the whole core to fd (a regular file, from offset 0). */
int elfcore__write(int fd, const struct mv_guestmem *mem, const struct mv_elfcore_cpu *cpus, unsigned int ncpus,
		   struct mv_err *err) MV_MUST_CHECK;

#endif
