/* The host's KVM: /dev/kvm, API version and capability checks. */
#ifndef MV_KVM_H
#define MV_KVM_H

#include <linux/kvm.h>

#include "core/compiler.h"
#include "core/err.h"

#define MV_KVM_DEVICE "/dev/kvm"

struct mv_kvm {
	int fd;                         /* /dev/kvm */
	int vcpu_mmap_size;             /* size of struct kvm_run mapping */
	int max_vcpus;
	struct kvm_cpuid2 *cpuid;       /* KVM_GET_SUPPORTED_CPUID, + TSC-deadline */
};

/* Opens /dev/kvm and checks the API version and every capability moonvisor
 * uses; the error names what is missing. */
int kvm__open(struct mv_kvm *kvm, struct mv_err *err) MV_MUST_CHECK;
void kvm__close(struct mv_kvm *kvm);
/* KVM_CHECK_EXTENSION on the system fd; returns the value (0 = absent). */
int kvm__check_cap(const struct mv_kvm *kvm, int cap);

#endif
