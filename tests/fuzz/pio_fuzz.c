/* libFuzzer target: the legacy port-I/O devices (16550A, i8042, CMOS RTC,
 * ACPI PM) and pvpanic on one bus, driven by a hostile guest.
 *
 * Build and run:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=undefined -I. tests/fuzz/pio_fuzz.c \
 *     devices/legacy/{serial,i8042,rtc,acpi_pm}.c devices/platform/pvpanic.c \
 *     core/{iobus,err,log}.c core/x86/{aml,aml_ops,aml_res}.c \
 *     -lpthread -o /tmp/pio_fuzz
 *   mkdir -p /tmp/pio_corpus && /tmp/pio_fuzz -max_total_time=60 /tmp/pio_corpus
 *
 * The input is a sequence of records, each starting with an op byte:
 *   op >> 5 in 0..5: a port access. bits 0-1: size 1/2/4/8; bit 2: write;
 *     bit 3: the port is the next 2 bytes (little endian), else the next byte
 *     indexes a table of device ports and their neighbours; a write then
 *     takes its value from the next `size` bytes (zero padded at the end).
 *   op >> 5 == 6: host input for the UART: the next byte's low 7 bits say
 *     how many following bytes to push with serial__input.
 *   op >> 5 == 7: the host clock moves by the next 4 bytes (signed) shifted
 *     left by op & 31.
 * Invariants: every device only reports IRQ level changes, on its own GSI;
 * the UART never takes more input than it has room for; pvpanic reports
 * only non-empty sets of its two event bits. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/iobus.h"
#include "core/log.h"
#include "core/x86/layout.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/rtc.h"
#include "devices/legacy/serial.h"
#include "devices/platform/pvpanic.h"

#define T0 ((time_t)1795527907) /* 2026-11-24 13:45:07 UTC */
#define I8042_GSI 1

struct fuzz {
	struct mv_iobus bus;
	struct mv_serial *serial;
	struct mv_i8042 *kbd;
	struct mv_rtc *rtc;
	struct mv_acpi_pm *pm;
	struct mv_pvpanic *pvpanic;
	int level[LAYOUT_IOAPIC_PINS];
	time_t now;
	unsigned long outputs, resets, poweroffs, panics;
};

static const uint16_t ports[] = {
	0x3F7, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF, 0x400,
	0x5F, 0x60, 0x61, 0x63, 0x64, 0x65,
	0x6F, 0x70, 0x71, 0x72,
	0x5FF, 0x600, 0x601, 0x602, 0x603,
	0x504, 0x505, 0x506,
};

static void set_level(void *opaque, unsigned int gsi, int level)
{
	struct fuzz *f = opaque;

	if (gsi != LAYOUT_IRQ_COM1 && gsi != I8042_GSI)
		__builtin_trap();
	if ((level != 0 && level != 1) || f->level[gsi] == level)
		__builtin_trap(); /* only changes may be reported */
	f->level[gsi] = level;
}

static const struct mv_irq_ops irq_ops = { .set_level = set_level };

static void output(void *opaque, const uint8_t *buf, size_t len)
{
	struct fuzz *f = opaque;

	if (len != 1)
		__builtin_trap();
	f->outputs += buf[0] | 1;
}

static void reset(void *opaque)
{
	((struct fuzz *)opaque)->resets++;
}

static void poweroff(void *opaque)
{
	((struct fuzz *)opaque)->poweroffs++;
}

static void panic_event(void *opaque, uint8_t events)
{
	if (!events || (events & ~PVPANIC_EVENTS))
		__builtin_trap();
	((struct fuzz *)opaque)->panics++;
}

static time_t now(void *opaque)
{
	return ((struct fuzz *)opaque)->now;
}

static int create_devices(struct fuzz *f)
{
	struct mv_irq irq = { &irq_ops, f };
	struct mv_serial_params sp = {
		.irq = irq, .gsi = LAYOUT_IRQ_COM1, .output = output, .opaque = f, .base = LAYOUT_PORT_COM1,
	};
	struct mv_i8042_params kp = { .irq = irq, .gsi = I8042_GSI, .reset = reset, .opaque = f };
	struct mv_rtc_params rp = { .now = now, .opaque = f };
	struct mv_acpi_pm_params pp = { .poweroff = poweroff, .reset = reset, .opaque = f };
	struct mv_pvpanic_params vp = { .event = panic_event, .opaque = f };

	if (serial__create(&f->bus, &sp, &f->serial, NULL) < 0 ||
	    i8042__create(&f->bus, &kp, &f->kbd, NULL) < 0 ||
	    rtc__create(&f->bus, &rp, &f->rtc, NULL) < 0 ||
	    acpi_pm__create(&f->bus, &pp, &f->pm, NULL) < 0 ||
	    pvpanic__create(&f->bus, &vp, &f->pvpanic, NULL) < 0)
		return -1;
	return 0;
}

static void destroy_devices(struct fuzz *f)
{
	pvpanic__destroy(f->pvpanic);
	acpi_pm__destroy(f->pm);
	rtc__destroy(f->rtc);
	i8042__destroy(f->kbd);
	serial__destroy(f->serial);
	if (f->bus.nranges != 0)
		__builtin_trap(); /* every range was unregistered */
}

/* Takes n bytes from the input, zero padded past its end. */
static void take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
	size_t avail = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(out, 0, n);
	memcpy(out, *p, avail);
	*p += avail;
}

static void do_access(struct fuzz *f, uint8_t op, const uint8_t **p, const uint8_t *end)
{
	uint32_t len = 1u << (op & 3);
	bool is_write = op & 4;
	uint8_t data[8], sel = 0;
	uint16_t port = 0;

	if (op & 8) {
		take(p, end, &port, sizeof(port));
	} else {
		take(p, end, &sel, 1);
		port = ports[sel % (sizeof(ports) / sizeof(ports[0]))];
	}
	if (is_write)
		take(p, end, data, len);
	else
		memset(data, 0xA5, sizeof(data));
	iobus__access(&f->bus, port, data, len, is_write);
}

static void do_input(struct fuzz *f, const uint8_t **p, const uint8_t *end)
{
	uint8_t n = 0, buf[128];
	int took;

	take(p, end, &n, 1);
	n &= 0x7F;
	take(p, end, buf, n);
	took = serial__input(f->serial, buf, n);
	if (took < 0 || took > n || took > SERIAL_RX_FIFO_SIZE)
		__builtin_trap();
	(void)serial__can_accept(f->serial);
}

static void do_clock(struct fuzz *f, uint8_t op, const uint8_t **p, const uint8_t *end)
{
	int32_t delta;
	uint64_t t;

	take(p, end, &delta, sizeof(delta));
	t = (uint64_t)f->now + ((uint64_t)(int64_t)delta << (op & 31));
	f->now = (time_t)t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__set_level(MV_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct fuzz f;

	memset(&f, 0, sizeof(f));
	f.now = T0;
	iobus__init(&f.bus, "pio");
	if (create_devices(&f) < 0)
		__builtin_trap();
	while (p < end) {
		uint8_t op = *p++;
		switch (op >> 5) {
		case 6:
			do_input(&f, &p, end);
			break;
		case 7:
			do_clock(&f, op, &p, end);
			break;
		default:
			do_access(&f, op, &p, end);
			break;
		}
	}
	destroy_devices(&f);
	iobus__destroy(&f.bus);
	return 0;
}
