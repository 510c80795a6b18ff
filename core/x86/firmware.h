/* The little firmware a guest can reach: the real-mode reset vector. Linux
 * falls back to "BIOS" reboot (a jump to F000:FFF0 in real mode) when the
 * other methods did not reset the machine; there the stub writes the ACPI
 * reset register, so every reboot path ends in a VMM reset. */
#ifndef MV_X86_FIRMWARE_H
#define MV_X86_FIRMWARE_H

#include "core/compiler.h"
#include "core/guestmem.h"

#define FIRMWARE_RESET_VECTOR 0xFFFF0ULL

int firmware__install(struct mv_guestmem *mem) MV_MUST_CHECK;

#endif
