#include "devices/legacy/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/log.h"

/* Register offsets (16550A datasheet, table 2) */
enum { REG_RBR_THR, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0F

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xC0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1F

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_DELTA 0x0F
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

#define DEFAULT_DIVISOR 12 /* 9600 baud from the 1.8432 MHz PC clock */

struct mv_serial {
	pthread_mutex_t lock;
	struct mv_iobus *pio;
	struct mv_serial_params p;
	uint8_t rx[SERIAL_RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm;
	bool fifo_enabled;
	bool thre_pending; /* THR-empty interrupt not yet acknowledged */
	bool overrun;      /* LSR.OE: a looped-back byte found the FIFO full */
	int line;          /* last level passed to irq__set_level */
};

static bool rx_push(struct mv_serial *s, uint8_t b)
{
	if (s->rx_count == SERIAL_RX_FIFO_SIZE)
		return false;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO_SIZE] = b;
	s->rx_count++;
	return true;
}

static uint8_t rx_pop(struct mv_serial *s)
{
	uint8_t b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO_SIZE;
	s->rx_count--;
	return b;
}

static void rx_clear(struct mv_serial *s)
{
	s->rx_head = s->rx_count = 0;
}

/* The highest-priority pending and enabled interrupt, as IIR bits 0-3. */
static uint8_t iir_cause(const struct mv_serial *s)
{
	if ((s->ier & IER_ELSI) && s->overrun)
		return IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_ETBEI) && s->thre_pending)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Called with the lock held so that level changes reach the irqchip in the
 * order the device state changed. */
static void update_irq(struct mv_serial *s)
{
	int level = iir_cause(s) != IIR_NO_INT;

	if (level == s->line)
		return;
	s->line = level;
	irq__set_level(&s->p.irq, s->p.gsi, level);
}

/* Modem status inputs: in loopback they are the MCR outputs. */
static uint8_t modem_inputs(uint8_t mcr)
{
	uint8_t v = 0;

	if (!(mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (mcr & MCR_RTS)
		v |= MSR_CTS;
	if (mcr & MCR_DTR)
		v |= MSR_DSR;
	if (mcr & MCR_OUT1)
		v |= MSR_RI;
	if (mcr & MCR_OUT2)
		v |= MSR_DCD;
	return v;
}

static void write_mcr(struct mv_serial *s, uint8_t v)
{
	uint8_t old = s->msr & ~MSR_DELTA, now, delta = s->msr & MSR_DELTA;

	s->mcr = v & MCR_MASK;
	now = modem_inputs(s->mcr);
	if ((old ^ now) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI;
	if ((old ^ now) & MSR_DCD)
		delta |= MSR_DDCD;
	s->msr = now | delta;
}

static void write_ier(struct mv_serial *s, uint8_t v)
{
	uint8_t old = s->ier;

	s->ier = v & IER_MASK;
	/* The transmitter is always idle: enabling ETBEI raises THRE at once. */
	if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI))
		s->thre_pending = true;
}

static void write_fcr(struct mv_serial *s, uint8_t v)
{
	bool enable = v & FCR_ENABLE;

	/* Toggling FCR0 empties the FIFOs; the clear bits need FCR0 set. */
	if (enable != s->fifo_enabled || (enable && (v & FCR_CLEAR_RX)))
		rx_clear(s);
	s->fifo_enabled = enable;
}

/* Returns true if v must go to the output callback (a byte transmitted). */
static bool write_thr(struct mv_serial *s, uint8_t v)
{
	/* THR empties immediately, so THRE is pending again right away. */
	s->thre_pending = true;
	if (!(s->mcr & MCR_LOOP))
		return true;
	if (!rx_push(s, v))
		s->overrun = true;
	return false;
}

static bool write_reg(struct mv_serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			s->dll = v;
		else
			return write_thr(s, v);
		break;
	case REG_IER:
		if (dlab)
			s->dlm = v;
		else
			write_ier(s, v);
		break;
	case REG_IIR_FCR:
		write_fcr(s, v);
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		write_mcr(s, v);
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* LSR, MSR: writes are ignored */
		break;
	}
	return false;
}

static uint8_t read_iir(struct mv_serial *s)
{
	uint8_t cause = iir_cause(s);

	if (cause == IIR_THRI)
		s->thre_pending = false;
	return cause | (s->fifo_enabled ? IIR_FIFO : 0);
}

static uint8_t read_lsr(struct mv_serial *s)
{
	uint8_t v = LSR_THRE | LSR_TEMT;

	if (s->rx_count)
		v |= LSR_DR;
	if (s->overrun)
		v |= LSR_OE;
	s->overrun = false;
	return v;
}

static uint8_t read_msr(struct mv_serial *s)
{
	uint8_t v = s->msr;

	s->msr &= ~MSR_DELTA;
	return v;
}

static uint8_t read_reg(struct mv_serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		return dlab ? s->dll : rx_pop(s);
	case REG_IER:
		return dlab ? s->dlm : s->ier;
	case REG_IIR_FCR:
		return read_iir(s);
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return read_lsr(s);
	case REG_MSR:
		return read_msr(s);
	default:
		return s->scr;
	}
}

/* Wider accesses are split into byte accesses, low byte first. */
static void serial_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct mv_serial *s = opaque;
	uint8_t *out = data;

	for (uint32_t i = 0; i < len; i++) {
		pthread_mutex_lock(&s->lock);
		out[i] = read_reg(s, (unsigned int)((off + i) % SERIAL_NR_PORTS));
		update_irq(s);
		pthread_mutex_unlock(&s->lock);
	}
}

static void serial_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct mv_serial *s = opaque;
	const uint8_t *in = data;

	for (uint32_t i = 0; i < len; i++) {
		bool tx;

		pthread_mutex_lock(&s->lock);
		tx = write_reg(s, (unsigned int)((off + i) % SERIAL_NR_PORTS), in[i]);
		update_irq(s);
		pthread_mutex_unlock(&s->lock);
		if (tx && s->p.output)
			s->p.output(s->p.opaque, &in[i], 1);
	}
}

static const struct mv_iodev_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

int serial__input(struct mv_serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (!(s->mcr & MCR_LOOP)) {
		while (n < len && rx_push(s, buf[n]))
			n++;
		update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
	return (int)n;
}

bool serial__can_accept(struct mv_serial *s)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = !(s->mcr & MCR_LOOP) && s->rx_count < SERIAL_RX_FIFO_SIZE;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void reset_state(struct mv_serial *s)
{
	s->dll = DEFAULT_DIVISOR;
	s->msr = modem_inputs(0);
}

int serial__create(struct mv_iobus *pio, const struct mv_serial_params *p, struct mv_serial **out,
		   struct mv_err *err)
{
	struct mv_serial *s;
	int ret;

	if ((uint32_t)p->base + SERIAL_NR_PORTS > 0x10000)
		return err__set(err, -EINVAL, "serial base port 0x%x is out of range", p->base);
	s = calloc(1, sizeof(*s));
	if (!s)
		return err__set(err, -ENOMEM, "out of memory for the serial port");
	pthread_mutex_init(&s->lock, NULL);
	s->pio = pio;
	s->p = *p;
	reset_state(s);
	ret = iobus__register(pio, p->base, SERIAL_NR_PORTS, &serial_ops, s, "serial", err);
	if (ret < 0)
		goto err_free;
	*out = s;
	return 0;

err_free:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

void serial__destroy(struct mv_serial *s)
{
	int ret;

	if (!s)
		return;
	ret = iobus__unregister(s->pio, s->p.base);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering serial port at 0x%x", s->p.base);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
