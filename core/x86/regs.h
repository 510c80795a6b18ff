/* Initial x86 vCPU state: MSRs, FPU, LAPIC LINT pins for every vCPU; the
 * boot vCPU's registers for the kernel entry chosen by core/x86/boot.c. */
#ifndef MV_X86_REGS_H
#define MV_X86_REGS_H

#include "core/compiler.h"
#include "core/err.h"
#include "core/x86/boot.h"

int regs__setup_common(int vcpu_fd, unsigned int id, struct mv_err *err) MV_MUST_CHECK;
int regs__setup_boot_cpu(int vcpu_fd, const struct mv_boot_entry *entry, struct mv_err *err) MV_MUST_CHECK;

#endif
