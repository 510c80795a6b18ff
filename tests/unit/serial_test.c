#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/iobus.h"
#include "core/x86/layout.h"
#include "devices/legacy/serial.h"

#define BASE LAYOUT_PORT_COM1
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define MAX_EVENTS 100000

struct fake_irq {
	pthread_mutex_t lock;
	int levels[MAX_EVENTS];
	unsigned int n, bad_gsi;
	int last;
};

struct ctx {
	struct mv_iobus bus;
	struct mv_serial *s;
	struct fake_irq irq;
	pthread_mutex_t out_lock;
	uint8_t out[MAX_EVENTS];
	size_t out_len;
	unsigned int out_calls;
};

static void fake_set_level(void *opaque, unsigned int gsi, int level)
{
	struct fake_irq *f = opaque;

	pthread_mutex_lock(&f->lock);
	if (gsi != LAYOUT_IRQ_COM1)
		f->bad_gsi++;
	if (f->n < MAX_EVENTS)
		f->levels[f->n++] = level;
	f->last = level;
	pthread_mutex_unlock(&f->lock);
}

static const struct mv_irq_ops fake_irq_ops = { .set_level = fake_set_level };

static void fake_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct ctx *c = opaque;

	pthread_mutex_lock(&c->out_lock);
	for (size_t i = 0; i < len && c->out_len < sizeof(c->out); i++)
		c->out[c->out_len++] = buf[i];
	c->out_calls++;
	pthread_mutex_unlock(&c->out_lock);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct mv_err err = { { 0 } };
	struct mv_serial_params p;

	if (!c)
		return -1;
	pthread_mutex_init(&c->irq.lock, NULL);
	pthread_mutex_init(&c->out_lock, NULL);
	iobus__init(&c->bus, "pio");
	p = (struct mv_serial_params){
		.irq = { &fake_irq_ops, &c->irq }, .gsi = LAYOUT_IRQ_COM1,
		.output = fake_output, .opaque = c, .base = BASE,
	};
	if (serial__create(&c->bus, &p, &c->s, &err) < 0) {
		fprintf(stderr, "serial__create: %s\n", err.msg);
		iobus__destroy(&c->bus);
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	serial__destroy(c->s);
	iobus__destroy(&c->bus);
	pthread_mutex_destroy(&c->irq.lock);
	pthread_mutex_destroy(&c->out_lock);
	free(c);
	return 0;
}

static uint8_t rd(struct ctx *c, unsigned int reg)
{
	uint8_t v = 0x5C;

	assert_true(iobus__access(&c->bus, BASE + reg, &v, 1, false));
	return v;
}

static void wr(struct ctx *c, unsigned int reg, uint8_t v)
{
	assert_true(iobus__access(&c->bus, BASE + reg, &v, 1, true));
}

/* The existence, loopback and FIFO checks of Linux's 8250 autoconfig. */
static void test_probe(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, 0);
	assert_int_equal(rd(c, IER), 0);
	wr(c, IER, 0x0F);
	assert_int_equal(rd(c, IER), 0x0F);
	wr(c, IER, 0xFF); /* bits 4-7 do not exist (not an XScale UART) */
	assert_int_equal(rd(c, IER), 0x0F);
	wr(c, IER, 0);

	wr(c, SCR, 0xA5);
	assert_int_equal(rd(c, SCR), 0xA5);
	wr(c, SCR, 0x5A);
	assert_int_equal(rd(c, SCR), 0x5A);

	assert_int_equal(rd(c, MSR) & 0xF0, 0xB0); /* DCD | DSR | CTS */
	wr(c, MCR, 0x10 | 0x0A); /* LOOP | OUT2 | RTS */
	assert_int_equal(rd(c, MSR) & 0xF0, 0x90); /* DCD | CTS */
	wr(c, MCR, 0x10 | 0x05); /* LOOP | OUT1 | DTR */
	assert_int_equal(rd(c, MSR) & 0xF0, 0x60); /* RI | DSR */
	assert_int_equal(rd(c, MCR), 0x15);
	wr(c, MCR, 0x00);
	assert_int_equal(rd(c, MSR) & 0xF0, 0xB0);

	assert_int_equal(rd(c, IIR), 0x01);
	wr(c, FCR, 0x01);
	assert_int_equal(rd(c, IIR), 0xC1); /* 16550A: both FIFO bits */
	wr(c, FCR, 0x21); /* the 16750 64-byte bit is not reported back */
	assert_int_equal(rd(c, IIR) >> 5, 6);
	wr(c, FCR, 0x00);
	assert_int_equal(rd(c, IIR), 0x01);
	assert_int_equal(rd(c, LSR), 0x60); /* THRE | TEMT, no data */
}

static void test_loopback_data(void **state)
{
	struct ctx *c = *state;

	wr(c, MCR, 0x10);
	wr(c, THR, 'x');
	wr(c, THR, 'y');
	assert_int_equal(c->out_len, 0);
	assert_int_equal(serial__input(c->s, (const uint8_t *)"z", 1), 0);
	assert_false(serial__can_accept(c->s));
	assert_int_equal(rd(c, LSR) & 0x01, 0x01);
	assert_int_equal(rd(c, RBR), 'x');
	assert_int_equal(rd(c, RBR), 'y');
	assert_int_equal(rd(c, LSR) & 0x01, 0);
	wr(c, MCR, 0x00);
	wr(c, THR, 'o');
	assert_int_equal(c->out_len, 1);
	assert_int_equal(c->out[0], 'o');
}

static void test_loopback_overrun(void **state)
{
	struct ctx *c = *state;

	wr(c, FCR, 0x01);
	wr(c, IER, 0x04); /* ELSI */
	wr(c, MCR, 0x10);
	for (int i = 0; i < SERIAL_RX_FIFO_SIZE; i++)
		wr(c, THR, (uint8_t)i);
	assert_int_equal(c->irq.n, 0);
	wr(c, THR, 0xEE);
	assert_int_equal(c->irq.last, 1);
	assert_int_equal(rd(c, IIR), 0xC6);
	assert_int_equal(rd(c, LSR), 0x63); /* DR | OE | THRE | TEMT */
	assert_int_equal(c->irq.last, 0);
	assert_int_equal(rd(c, LSR), 0x61); /* OE clears on read */
	for (int i = 0; i < SERIAL_RX_FIFO_SIZE; i++)
		assert_int_equal(rd(c, RBR), i);
}

static void test_output_order(void **state)
{
	struct ctx *c = *state;
	const char *msg = "Linux version 6.1\r\n";

	for (size_t i = 0; i < strlen(msg); i++)
		wr(c, THR, (uint8_t)msg[i]);
	assert_int_equal(c->out_len, strlen(msg));
	assert_memory_equal(c->out, msg, strlen(msg));
	assert_int_equal(c->out_calls, strlen(msg)); /* no batching delay */
}

static void test_dlab(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, 0x01);
	wr(c, LCR, 0x83);
	assert_int_equal(rd(c, DLL), 12); /* 9600 baud at reset */
	wr(c, DLL, 0x01);
	wr(c, DLM, 0x02);
	assert_int_equal(rd(c, DLL), 0x01);
	assert_int_equal(rd(c, DLM), 0x02);
	assert_int_equal(c->out_len, 0);
	assert_int_equal(serial__input(c->s, (const uint8_t *)"q", 1), 1);
	assert_int_equal(rd(c, DLL), 0x01); /* DLAB hides RBR: data stays */
	wr(c, LCR, 0x03);
	assert_int_equal(rd(c, LCR), 0x03);
	assert_int_equal(rd(c, IER), 0x01); /* DLM write did not touch IER */
	assert_int_equal(rd(c, RBR), 'q');
	wr(c, THR, 'A');
	assert_int_equal(c->out_len, 1);
	assert_int_equal(c->out[0], 'A');
	wr(c, LCR, 0x80);
	assert_int_equal(rd(c, DLM), 0x02);
}

static void test_rx_fifo(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[100];

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	wr(c, FCR, 0x07);
	assert_true(serial__can_accept(c->s));
	assert_int_equal(serial__input(c->s, buf, 10), 10);
	assert_int_equal(serial__input(c->s, buf + 10, 90), SERIAL_RX_FIFO_SIZE - 10);
	assert_false(serial__can_accept(c->s));
	assert_int_equal(serial__input(c->s, buf + 64, 36), 0);
	for (unsigned int i = 0; i < SERIAL_RX_FIFO_SIZE; i++) {
		assert_int_equal(rd(c, LSR) & 0x01, 0x01);
		assert_int_equal(rd(c, RBR), buf[i]);
	}
	assert_int_equal(rd(c, LSR) & 0x01, 0);
	assert_true(serial__can_accept(c->s));
	assert_int_equal(serial__input(c->s, buf + 64, 36), 36);
	wr(c, FCR, 0x03); /* clear RX */
	assert_int_equal(rd(c, LSR) & 0x01, 0);
}

static void test_irq_rda(void **state)
{
	struct ctx *c = *state;

	wr(c, FCR, 0x01);
	assert_int_equal(serial__input(c->s, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(c->irq.n, 0); /* not enabled yet */
	wr(c, IER, 0x01);
	assert_int_equal(c->irq.n, 1);
	assert_int_equal(c->irq.levels[0], 1);
	assert_int_equal(rd(c, IIR), 0xC4);
	assert_int_equal(rd(c, RBR), 'a');
	assert_int_equal(c->irq.n, 1); /* still data: no change reported */
	assert_int_equal(rd(c, RBR), 'b');
	assert_int_equal(c->irq.n, 2);
	assert_int_equal(c->irq.levels[1], 0);
	assert_int_equal(rd(c, LSR) & 0x01, 0);
	assert_int_equal(rd(c, IIR), 0xC1);
	assert_int_equal(serial__input(c->s, (const uint8_t *)"c", 1), 1);
	assert_int_equal(c->irq.n, 3);
	assert_int_equal(c->irq.levels[2], 1);
	assert_int_equal(c->irq.bad_gsi, 0);
}

static void test_irq_thre(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, 0x02);
	assert_int_equal(c->irq.n, 1);
	assert_int_equal(c->irq.levels[0], 1);
	assert_int_equal(rd(c, IIR), 0x02);
	assert_int_equal(c->irq.n, 2); /* reading IIR acknowledged THRE */
	assert_int_equal(c->irq.levels[1], 0);
	assert_int_equal(rd(c, IIR), 0x01);
	/* Linux's UART_BUG_THRE test: re-enabling ETBEI re-asserts THRE */
	wr(c, IER, 0x00);
	wr(c, IER, 0x02);
	assert_int_equal(rd(c, IIR), 0x02);
	assert_int_equal(c->irq.n, 4);
	wr(c, THR, 'x'); /* sent at once: THR empty again */
	assert_int_equal(c->irq.n, 5);
	assert_int_equal(c->irq.levels[4], 1);
	wr(c, IER, 0x00);
	assert_int_equal(c->irq.n, 6);
	assert_int_equal(c->irq.levels[5], 0);
	assert_int_equal(rd(c, LSR) & 0x60, 0x60);
}

static void test_irq_priority(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, 0x03);
	assert_int_equal(serial__input(c->s, (const uint8_t *)"k", 1), 1);
	assert_int_equal(rd(c, IIR) & 0x0F, 0x04); /* RDA outranks THRE */
	assert_int_equal(rd(c, RBR), 'k');
	assert_int_equal(c->irq.last, 1);
	assert_int_equal(rd(c, IIR) & 0x0F, 0x02);
	assert_int_equal(c->irq.last, 0);
	/* levels passed to the irqchip only ever alternate */
	for (unsigned int i = 0; i < c->irq.n; i++)
		assert_int_equal(c->irq.levels[i], !(i & 1));
}

static void test_irq_modem_status(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, 0x08);
	wr(c, MCR, 0x10 | 0x02); /* loopback changes CTS, DSR, DCD */
	assert_int_equal(c->irq.last, 1);
	assert_int_equal(rd(c, IIR), 0x00);
	assert_int_equal(rd(c, MSR), 0x10 | 0x02 | 0x08); /* CTS, DDSR, DDCD */
	assert_int_equal(c->irq.last, 0);
	assert_int_equal(rd(c, MSR), 0x10);
	wr(c, MCR, 0x10 | 0x04); /* RI on */
	assert_int_equal(rd(c, MSR), 0x40 | 0x01);
	wr(c, MCR, 0x10); /* RI off: trailing edge */
	assert_int_equal(rd(c, MSR) & 0x04, 0x04);
}

static void test_wide_access(void **state)
{
	struct ctx *c = *state;
	uint16_t v = 0;

	wr(c, SCR, 0x42);
	assert_true(iobus__access(&c->bus, BASE + 6, &v, 2, false));
	assert_int_equal(v, 0x42B0); /* MSR, then SCR */
	v = 'h' | 'i' << 8; /* THR then IER */
	assert_true(iobus__access(&c->bus, BASE + 0, &v, 2, true));
	assert_int_equal(c->out_len, 1);
	assert_int_equal(rd(c, IER), 'i' & 0x0F);
}

static void test_bus_registration(void **state)
{
	struct ctx *c = *state;
	struct mv_serial_params p = { .base = BASE + 4 };
	struct mv_serial_params high = { .base = 0xFFFC };
	struct mv_serial *other = NULL;
	struct mv_err err = { { 0 } };
	uint16_t v = 0;

	assert_int_equal(serial__create(&c->bus, &p, &other, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "serial"));
	assert_null(other);
	assert_int_equal(serial__create(&c->bus, &high, &other, &err), -EINVAL);
	assert_false(iobus__access(&c->bus, BASE - 1, &v, 1, false));
	assert_false(iobus__access(&c->bus, BASE + 8, &v, 1, false));
	assert_false(iobus__access(&c->bus, BASE + 7, &v, 2, false));
	serial__destroy(c->s);
	c->s = NULL;
	assert_false(iobus__access(&c->bus, BASE, &v, 1, false));
	assert_int_equal(v & 0xFF, 0xFF);
	serial__destroy(NULL);
}

#define WRITERS 4
#define PER_WRITER 2000

static void *writer(void *arg)
{
	struct ctx *c = arg;

	for (int i = 0; i < PER_WRITER; i++) {
		uint8_t v = (uint8_t)i, lsr;
		iobus__access(&c->bus, BASE + THR, &v, 1, true);
		iobus__access(&c->bus, BASE + IIR, &lsr, 1, false);
		iobus__access(&c->bus, BASE + LSR, &lsr, 1, false);
		iobus__access(&c->bus, BASE + RBR, &lsr, 1, false);
	}
	return NULL;
}

static void *feeder(void *arg)
{
	struct ctx *c = arg;

	for (int i = 0; i < WRITERS * PER_WRITER; i++)
		if (serial__input(c->s, (const uint8_t *)"x", 1) < 0)
			break;
	return NULL;
}

static void test_concurrency(void **state)
{
	struct ctx *c = *state;
	pthread_t t[WRITERS + 1];

	wr(c, IER, 0x03);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, c), 0);
	assert_int_equal(pthread_create(&t[WRITERS], NULL, feeder, c), 0);
	for (int i = 0; i <= WRITERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(c->out_len, WRITERS * PER_WRITER);
	for (unsigned int i = 1; i < c->irq.n; i++)
		assert_int_not_equal(c->irq.levels[i], c->irq.levels[i - 1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_rda, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_thre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_modem_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
