#include "core/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/jail.h"
#include "core/x86/cpuid.h"

#define KVM_DEVICE MV_KVM_DEVICE

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel IOAPIC/PIC)" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel PIT)" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

static int load_supported_cpuid(struct mv_kvm *kvm, struct mv_err *err)
{
	int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return err__set(err, -ENOMEM, "out of memory reading supported CPUID");
		c->nent = nent;
		if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			/* every VM gets an in-kernel LAPIC (machine.c: KVM_CREATE_IRQCHIP) */
			if (kvm__check_cap(kvm, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
				cpuid__add_tsc_deadline(c);
			kvm->cpuid = c;
			return 0;
		}
		int e = -errno;
		free(c);
		if (e != -E2BIG || nent >= 4096)
			return err__set(err, e, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-e));
		nent *= 2;
	}
}

static int check_caps(struct mv_kvm *kvm, struct mv_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++)
		if (kvm__check_cap(kvm, required_caps[i].cap) <= 0)
			return err__set(err, -ENOTSUP, "%s lacks %s, which moonvisor needs", KVM_DEVICE,
					required_caps[i].name);
	return 0;
}

int kvm__open(struct mv_kvm *kvm, struct mv_err *err)
{
	int ret, version;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = jail__open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		ret = kvm->fd;
		return err__set(err, ret, "cannot open %s: %s%s", KVM_DEVICE, strerror(-ret),
				ret == -ENOENT ? " (is the kvm module loaded and virtualization enabled?)"
				: ret == -EACCES ? " (add your user to the kvm group)" : "");
	}
	version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		ret = err__set(err, -ENOTSUP, "%s has API version %d, moonvisor needs %d", KVM_DEVICE, version,
			       KVM_API_VERSION);
		goto err_close;
	}
	ret = check_caps(kvm, err);
	if (ret < 0)
		goto err_close;
	kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		ret = err__set(err, -ENOTSUP, "KVM_GET_VCPU_MMAP_SIZE returned %d", kvm->vcpu_mmap_size);
		goto err_close;
	}
	kvm->max_vcpus = kvm__check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = kvm__check_cap(kvm, KVM_CAP_NR_VCPUS);
	ret = load_supported_cpuid(kvm, err);
	if (ret < 0)
		goto err_close;
	return 0;
err_close:
	close(kvm->fd);
	kvm->fd = -1;
	return ret;
}

void kvm__close(struct mv_kvm *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
	free(kvm->cpuid);
	kvm->cpuid = NULL;
}

int kvm__check_cap(const struct mv_kvm *kvm, int cap)
{
	int r = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}
