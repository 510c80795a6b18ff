/* 16550A UART at base+0..7 (COM1 on the PC: LAYOUT_PORT_COM1, GSI 4).
 *
 * Registers follow the 16550A datasheet: RBR/THR, IER, IIR/FCR, LCR, MCR,
 * LSR, MSR, SCR, with the divisor latch (DLL/DLM) behind LCR.DLAB. The
 * transmitter is infinitely fast (LSR.THRE and TEMT are always set); the
 * receive FIFO holds 64 bytes. MCR loopback works as Linux's 8250 probe
 * expects. The interrupt line is computed after every access and passed to
 * irq__set_level only when it changes (OUT2 does not gate it).
 *
 * Threads: register callbacks run on vCPU threads, serial__input on any
 * thread; the device serialises them with its own lock. irq->ops->set_level
 * is called with that lock held (so level changes reach the irqchip in
 * order): it must not call back into this device. */
#ifndef MV_DEVICES_LEGACY_SERIAL_H
#define MV_DEVICES_LEGACY_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/iobus.h"
#include "core/irq.h"

#define SERIAL_NR_PORTS 8
#define SERIAL_RX_FIFO_SIZE 64

struct mv_serial_params {
	struct mv_irq irq;
	unsigned int gsi;
	/* Bytes the guest wrote to THR outside loopback, in order, one call per
	 * byte, as soon as they are written. Called on a vCPU thread WITHOUT the
	 * device lock: it must only queue the bytes (it may block briefly) and
	 * must not call back into this device. May be NULL (output dropped). */
	void (*output)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
	uint16_t base;
};

struct mv_serial;

/* Allocates the UART and registers [base, base+8) on pio. */
int serial__create(struct mv_iobus *pio, const struct mv_serial_params *p, struct mv_serial **out,
		   struct mv_err *err) MV_MUST_CHECK;
/* Unregisters and frees; NULL is ignored. */
void serial__destroy(struct mv_serial *s);
/* Any thread: queues host bytes for the guest to read. Returns how many were
 * taken (0..len, at most the free room of the RX FIFO; 0 in loopback mode);
 * the caller keeps the rest and retries later. */
int serial__input(struct mv_serial *s, const uint8_t *buf, size_t len);
/* Any thread: whether serial__input would take at least one byte now. */
bool serial__can_accept(struct mv_serial *s);

#endif
