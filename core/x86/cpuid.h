/* CPUID for a vCPU: KVM's supported set, patched for topology and identity. */
#ifndef MV_X86_CPUID_H
#define MV_X86_CPUID_H

#include <linux/kvm.h>

#include "core/compiler.h"
#include "core/err.h"

/* Rewrites entries of c in place for vCPU `apic_id` of `ncpus` (one socket,
 * one thread per core): APIC IDs, logical counts, leaf 0xB/0x1F topology,
 * AMD core count, the hypervisor bit. Pure: unit-tested. */
void cpuid__patch(struct kvm_cpuid2 *c, unsigned int apic_id, unsigned int ncpus);
/* Sets CPUID.1:ECX.TSC_DEADLINE[bit 24] in c. KVM emulates the deadline
 * mode of its in-kernel LAPIC (KVM_CAP_TSC_DEADLINE_TIMER) but leaves the
 * bit out of KVM_GET_SUPPORTED_CPUID, because it depends on the VMM
 * creating that LAPIC (KVM_CREATE_IRQCHIP): the VMM adds it. Pure. */
void cpuid__add_tsc_deadline(struct kvm_cpuid2 *c);
/* Copies supported, patches it and sets it on the vCPU fd. */
int cpuid__set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int apic_id, unsigned int ncpus,
		    struct mv_err *err) MV_MUST_CHECK;

#endif
