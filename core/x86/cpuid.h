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
/* Copies supported, patches it and sets it on the vCPU fd. */
int cpuid__set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int apic_id, unsigned int ncpus,
		    struct mv_err *err) MV_MUST_CHECK;

#endif
