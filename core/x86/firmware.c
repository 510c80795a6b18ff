#include "core/x86/firmware.h"

#include "core/x86/layout.h"

int firmware__install(struct mv_guestmem *mem)
{
	const uint8_t stub[] = {
		0xB0, LAYOUT_ACPI_RESET_VALUE,                   /* mov al, reset value */
		0xBA, LAYOUT_PORT_ACPI_RESET & 0xff, LAYOUT_PORT_ACPI_RESET >> 8, /* mov dx, port */
		0xEE,                                            /* out dx, al */
		0xF4,                                            /* hlt */
		0xEB, 0xFD,                                      /* jmp back to hlt */
	};

	return guestmem__write(mem, FIRMWARE_RESET_VECTOR, stub, sizeof(stub));
}
