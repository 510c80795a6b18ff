/* i8042 keyboard controller, only as much as guests need to probe it and to
 * reboot through it: data port LAYOUT_PORT_I8042 (0x60) and status/command
 * port LAYOUT_PORT_I8042 + 4 (0x64), registered as two 1-byte ranges.
 *
 * Controller commands: 0x20 read / 0x60 write the configuration byte,
 * 0xA7/0xA8 disable/enable the aux port, 0xA9 aux interface test (reports
 * "clock line stuck low": there is no mouse), 0xAA self test (0x55), 0xAB
 * keyboard interface test (0x00), 0xAD/0xAE disable/enable the keyboard,
 * 0xD0 read / 0xD1 write the output port (bit 0 cleared = CPU reset), 0xD2
 * write the output buffer, 0xF0-0xFF pulse output port lines (0xFE pulses
 * bit 0 = CPU reset). Other commands are ignored. There is no keyboard: a byte
 * written to 0x60 that no controller command waits for is answered 0xFA.
 * Reading 0x60 returns the pending reply (0 if none) and empties the output
 * buffer. The IRQ (GSI 1) is high while a reply waits and configuration
 * bit 0 is set; irq__set_level is called, with the device lock held, only on
 * level changes.
 *
 * Threads: register callbacks run on vCPU threads, serialised by a lock. */
#ifndef MV_DEVICES_LEGACY_I8042_H
#define MV_DEVICES_LEGACY_I8042_H

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"
#include "core/irq.h"

struct mv_i8042_params {
	struct mv_irq irq;
	unsigned int gsi;
	/* The guest pulsed the CPU reset line. Called on a vCPU thread WITHOUT
	 * the device lock, once per reset request: it must only post the
	 * request to the VMM and return. May be NULL. */
	void (*reset)(void *opaque);
	void *opaque;
};

struct mv_i8042;

/* Allocates the controller and registers ports 0x60 and 0x64 on pio. */
int i8042__create(struct mv_iobus *pio, const struct mv_i8042_params *p, struct mv_i8042 **out,
		  struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void i8042__destroy(struct mv_i8042 *k);

#endif
