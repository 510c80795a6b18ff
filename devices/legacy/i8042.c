#include "devices/legacy/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/x86/layout.h"

#define PORT_DATA    LAYOUT_PORT_I8042
#define PORT_COMMAND (LAYOUT_PORT_I8042 + 4)

/* Status register */
#define STS_OBF     0x01 /* output buffer full */
#define STS_SYS     0x04 /* system flag, mirrors configuration bit 2 */
#define STS_CMD     0x08 /* last write went to the command port */
#define STS_UNLOCK  0x10 /* keyboard not inhibited */

/* Configuration ("command") byte */
#define CFG_KBD_INT  0x01
#define CFG_SYS      0x04
#define CFG_KBD_DIS  0x10
#define CFG_AUX_DIS  0x20
#define CFG_XLATE    0x40
#define CFG_DEFAULT  (CFG_KBD_INT | CFG_SYS | CFG_XLATE)

#define OUTPORT_RESET   0x01 /* 0 holds the CPU in reset */
#define OUTPORT_A20     0x02
#define OUTPORT_DEFAULT (OUTPORT_RESET | OUTPORT_A20)

#define CMD_READ_CFG     0x20
#define CMD_WRITE_CFG    0x60
#define CMD_AUX_DISABLE  0xA7
#define CMD_AUX_ENABLE   0xA8
#define CMD_AUX_TEST     0xA9
#define CMD_SELF_TEST    0xAA
#define CMD_KBD_TEST     0xAB
#define CMD_KBD_DISABLE  0xAD
#define CMD_KBD_ENABLE   0xAE
#define CMD_READ_OUTPORT 0xD0
#define CMD_WRITE_OUTPORT 0xD1
#define CMD_WRITE_KBD_OBUF 0xD2
#define CMD_PULSE_FIRST  0xF0

#define REPLY_SELF_TEST_OK  0x55
#define REPLY_IFACE_OK      0x00
#define REPLY_CLOCK_LOW     0x01 /* interface test: nothing is connected */
#define REPLY_ACK           0xFA

struct mv_i8042 {
	pthread_mutex_t lock;
	struct mv_iobus *pio;
	struct mv_i8042_params p;
	uint8_t config, outport;
	uint8_t obuf;     /* the pending reply, valid while obf */
	bool obf;
	bool last_cmd;    /* status bit 3 */
	uint8_t pending;  /* command waiting for its data byte, 0 if none */
	int line;
};

static void reply(struct mv_i8042 *k, uint8_t v)
{
	k->obuf = v;
	k->obf = true;
}

static void update_irq(struct mv_i8042 *k)
{
	int level = k->obf && (k->config & CFG_KBD_INT);

	if (level == k->line)
		return;
	k->line = level;
	irq__set_level(&k->p.irq, k->p.gsi, level);
}

static void set_config_bit(struct mv_i8042 *k, uint8_t bit, bool on)
{
	if (on)
		k->config |= bit;
	else
		k->config &= (uint8_t)~bit;
}

/* Returns true if the command asks for a CPU reset. */
static bool command(struct mv_i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	k->last_cmd = true;
	if (cmd >= CMD_PULSE_FIRST)
		return !(cmd & OUTPORT_RESET); /* low bits clear = pulse that line */
	switch (cmd) {
	case CMD_READ_CFG:      reply(k, k->config); break;
	case CMD_AUX_DISABLE:   set_config_bit(k, CFG_AUX_DIS, true); break;
	case CMD_AUX_ENABLE:    set_config_bit(k, CFG_AUX_DIS, false); break;
	case CMD_AUX_TEST:      reply(k, REPLY_CLOCK_LOW); break;
	case CMD_SELF_TEST:
		set_config_bit(k, CFG_SYS, true);
		reply(k, REPLY_SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:      reply(k, REPLY_IFACE_OK); break;
	case CMD_KBD_DISABLE:   set_config_bit(k, CFG_KBD_DIS, true); break;
	case CMD_KBD_ENABLE:    set_config_bit(k, CFG_KBD_DIS, false); break;
	case CMD_READ_OUTPORT:  reply(k, k->outport); break;
	case CMD_WRITE_CFG:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OBUF:
		k->pending = cmd;
		break;
	default:
		pr_debug("ignoring i8042 command 0x%02x", cmd);
		break;
	}
	return false;
}

/* A byte written to the data port. Returns true for a CPU reset. */
static bool data(struct mv_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	k->last_cmd = false;
	switch (cmd) {
	case CMD_WRITE_CFG:
		k->config = v;
		break;
	case CMD_WRITE_OUTPORT:
		k->outport = v;
		return !(v & OUTPORT_RESET);
	case CMD_WRITE_KBD_OBUF:
		reply(k, v);
		break;
	default: /* a keyboard command: there is no keyboard to obey it */
		reply(k, REPLY_ACK);
		break;
	}
	return false;
}

static uint8_t status(const struct mv_i8042 *k)
{
	uint8_t v = STS_UNLOCK;

	if (k->obf)
		v |= STS_OBF;
	if (k->config & CFG_SYS)
		v |= STS_SYS;
	if (k->last_cmd)
		v |= STS_CMD;
	return v;
}

static uint8_t read_data(struct mv_i8042 *k)
{
	uint8_t v = k->obf ? k->obuf : 0;

	k->obf = false;
	return v;
}

/* Both ranges are one byte wide, so the bus only passes len 1 here. */
static void port_read(struct mv_i8042 *k, bool is_cmd_port, uint8_t *out)
{
	pthread_mutex_lock(&k->lock);
	*out = is_cmd_port ? status(k) : read_data(k);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void port_write(struct mv_i8042 *k, bool is_cmd_port, uint8_t v)
{
	bool reset;

	pthread_mutex_lock(&k->lock);
	reset = is_cmd_port ? command(k, v) : data(k, v);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->p.reset)
		k->p.reset(k->p.opaque);
}

static void data_read(void *opaque, uint64_t off, void *d, uint32_t len)
{
	port_read(opaque, false, d);
}

static void data_write(void *opaque, uint64_t off, const void *d, uint32_t len)
{
	port_write(opaque, false, *(const uint8_t *)d);
}

static void cmd_read(void *opaque, uint64_t off, void *d, uint32_t len)
{
	port_read(opaque, true, d);
}

static void cmd_write(void *opaque, uint64_t off, const void *d, uint32_t len)
{
	port_write(opaque, true, *(const uint8_t *)d);
}

static const struct mv_iodev_ops data_ops = { .read = data_read, .write = data_write };
static const struct mv_iodev_ops cmd_ops = { .read = cmd_read, .write = cmd_write };

int i8042__create(struct mv_iobus *pio, const struct mv_i8042_params *p, struct mv_i8042 **out,
		  struct mv_err *err)
{
	struct mv_i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return err__set(err, -ENOMEM, "out of memory for the i8042");
	pthread_mutex_init(&k->lock, NULL);
	k->pio = pio;
	k->p = *p;
	k->config = CFG_DEFAULT;
	k->outport = OUTPORT_DEFAULT;
	ret = iobus__register(pio, PORT_DATA, 1, &data_ops, k, "i8042", err);
	if (ret < 0)
		goto err_free;
	ret = iobus__register(pio, PORT_COMMAND, 1, &cmd_ops, k, "i8042", err);
	if (ret < 0)
		goto err_unregister_data;
	*out = k;
	return 0;

err_unregister_data:
	if (iobus__unregister(pio, PORT_DATA) < 0)
		pr_warn("i8042 data port vanished from the bus");
err_free:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return ret;
}

void i8042__destroy(struct mv_i8042 *k)
{
	int ret;

	if (!k)
		return;
	ret = iobus__unregister(k->pio, PORT_COMMAND);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering i8042 port 0x%x", PORT_COMMAND);
	ret = iobus__unregister(k->pio, PORT_DATA);
	if (ret < 0)
		pr_warn_errno(ret, "unregistering i8042 port 0x%x", PORT_DATA);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
