#include "core/x86/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
/* Invariant TSC: hidden, as QEMU does by default. With it, Linux prefers
 * the raw TSC to kvm-clock, and the TSC keeps counting while the VM is
 * paused: the guest clock would jump over every pause. */
#define CPUID_80000007_EDX_INVTSC (1u << 8)
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void patch_leaf1(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int ncpus)
{
	e->ebx = (e->ebx & 0x0000ffffu) | (apic_id << 24) | ((ncpus & 0xffu) << 16);
	e->ecx |= CPUID_1_ECX_HYPERVISOR;
	if (ncpus > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
}

/* Leaves 0xB and 0x1F: subleaf 0 = SMT (1 thread), subleaf 1 = cores. */
static void patch_topology(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int ncpus)
{
	e->edx = apic_id;
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		break;
	case 1:
		e->eax = bits_for(ncpus);
		e->ebx = ncpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index & 0xff;
		break;
	}
}

/* Leaf 4 (Intel deterministic cache): cores sharing the package. */
static void patch_leaf4(struct kvm_cpuid_entry2 *e, unsigned int ncpus)
{
	unsigned int cores = 1u << bits_for(ncpus);

	e->eax = (e->eax & 0x03ffffffu) | ((cores - 1) << 26);
	/* each cache shared by one thread only */
	e->eax &= ~(0xfffu << 14);
}

void cpuid__patch(struct kvm_cpuid2 *c, unsigned int apic_id, unsigned int ncpus)
{
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			patch_leaf1(e, apic_id, ncpus);
			break;
		case 4:
			patch_leaf4(e, ncpus);
			break;
		case 0xb:
		case 0x1f:
			patch_topology(e, apic_id, ncpus);
			break;
		case 0x80000007:
			e->edx &= ~CPUID_80000007_EDX_INVTSC;
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdSize */
			e->ecx = (e->ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) | (bits_for(ncpus) << 12);
			break;
		default:
			break;
		}
	}
}

void cpuid__add_tsc_deadline(struct kvm_cpuid2 *c)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			c->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
}

int cpuid__set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int apic_id, unsigned int ncpus,
		    struct mv_err *err)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int ret = 0;

	if (!c)
		return err__set(err, -ENOMEM, "out of memory for CPUID");
	memcpy(c, supported, size);
	cpuid__patch(c, apic_id, ncpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		err__set(err, ret, "KVM_SET_CPUID2 on vCPU %u: %s", apic_id, strerror(-ret));
	}
	free(c);
	return ret;
}
