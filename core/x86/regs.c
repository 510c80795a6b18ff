#include "core/x86/regs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/x86/layout.h"

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WB 6ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define BOOT_STACK 0x8ff0ULL

static int set_msrs(int fd, unsigned int id, struct mv_err *err)
{
	static const struct { uint32_t index; uint64_t value; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 }, { MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 }, { MSR_CSTAR, 0 }, { MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 }, { MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WB },
	};
	/* struct kvm_msrs ends in a flexible array: header + entries in one
	 * suitably aligned buffer */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + ARRAY_SIZE(init) * sizeof(struct kvm_msr_entry)];
	} buf;
	struct kvm_msrs *msrs = &buf.hdr;
	int n;

	memset(&buf, 0, sizeof(buf));
	msrs->nmsrs = ARRAY_SIZE(init);
	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		msrs->entries[i].index = init[i].index;
		msrs->entries[i].data = init[i].value;
	}
	n = ioctl(fd, KVM_SET_MSRS, msrs);
	if (n < 0)
		return err__set(err, -errno, "KVM_SET_MSRS on vCPU %u: %s", id, strerror(errno));
	if (n != (int)ARRAY_SIZE(init))
		return err__set(err, -EINVAL, "KVM_SET_MSRS on vCPU %u: MSR 0x%x refused", id, init[n].index);
	return 0;
}

static int set_fpu(int fd, unsigned int id, struct mv_err *err)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return err__set(err, -errno, "KVM_SET_FPU on vCPU %u: %s", id, strerror(errno));
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

/* LINT0 = ExtINT (legacy PIC), LINT1 = NMI, as firmware leaves them. */
static int set_lapic(int fd, unsigned int id, struct mv_err *err)
{
	struct kvm_lapic_state lapic;

	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return err__set(err, -errno, "KVM_GET_LAPIC on vCPU %u: %s", id, strerror(errno));
	set_lvt_mode(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(fd, KVM_SET_LAPIC, &lapic) < 0)
		return err__set(err, -errno, "KVM_SET_LAPIC on vCPU %u: %s", id, strerror(errno));
	return 0;
}

int regs__setup_common(int vcpu_fd, unsigned int id, struct mv_err *err)
{
	int ret = set_msrs(vcpu_fd, id, err);

	if (!ret)
		ret = set_fpu(vcpu_fd, id, err);
	if (!ret)
		ret = set_lapic(vcpu_fd, id, err);
	return ret;
}

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, bool code64)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .s = 1, .g = 1,
		.db = code64 ? 0 : 1, .l = code64 ? 1 : 0,
	};
	return s;
}

static void setup_sregs(struct kvm_sregs *s, const struct mv_boot_entry *e)
{
	bool long64 = e->mode == MV_ENTRY_LONG64;

	s->cs = flat_segment(e->code_sel, 0xb, long64);
	s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(e->data_sel, 0x3, false);
	s->tr = flat_segment(e->tss_sel, 0xb, false);
	s->tr.s = 0;
	s->tr.g = 0;
	s->tr.limit = 0xfffff;
	s->gdt.base = e->gdt_base;
	s->gdt.limit = e->gdt_limit;
	s->idt.base = 0;
	s->idt.limit = 0;
	if (long64) {
		s->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		s->cr3 = e->cr3;
		s->cr4 = X86_CR4_PAE;
		s->efer = EFER_LME | EFER_LMA;
	} else {
		s->cr0 = X86_CR0_PE | X86_CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}

int regs__setup_boot_cpu(int vcpu_fd, const struct mv_boot_entry *entry, struct mv_err *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return err__set(err, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	setup_sregs(&sregs, entry);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return err__set(err, -errno, "KVM_SET_SREGS: %s", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = entry->rip;
	regs.rsi = entry->rsi;
	regs.rbx = entry->rbx;
	regs.rsp = regs.rbp = BOOT_STACK;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return err__set(err, -errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}
