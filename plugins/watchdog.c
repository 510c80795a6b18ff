/* watchdog: a hardware watchdog the Debian cloud guest kernel drives with
 * its wdat_wdt driver (/dev/watchdog). The Debian 6.1 cloud kernel has
 * neither i6300esb nor ib700 (CONFIG_I6300ESB_WDT and CONFIG_IB700_WDT are
 * not set); it has CONFIG_ACPI_WATCHDOG=y and wdat_wdt as a module: a
 * watchdog described by an ACPI WDAT table ("Watchdog Action Table",
 * Microsoft's specification), whose entries tell the OS which register
 * reads and writes start, stop, ping and program the watchdog.
 *
 * The device is 8 I/O ports at `port` (default 0x440):
 *   +0 u32  COUNTDOWN  timeout in periods of 1 s (1..3600; read back)
 *   +4 u8   CONTROL    bit 0: running (write 1 start, 0 stop);
 *                      bit 1: fired (set when it expired; write 0 clears)
 *   +5 u8   PING       any write reloads the countdown
 * When the countdown runs out while running: the event
 *
 *     vm:on("plugin:watchdog", function(ev) ... end)
 *     ev.action   what happens next: "reset", "poweroff" or "none"
 *     ev.timeout  the countdown in seconds
 *
 * then the action (option action, default "reset"): the guest is reset or
 * powered off as if it had asked. Lua methods: dev:state() -> "stopped",
 * "running" or "fired"; dev:timeout() -> seconds.
 *
 * The WDAT table can only be given at boot: configure the device in
 * mv.vm{ devices = { { plugin = ".../watchdog.so", action = "reset" } } }.
 *
 * Threads: register accesses on vCPU threads (atomics), the expiry check
 * on a loop timer. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <moonvisor/plugin.h>

#define DEFAULT_PORT 0x440
#define NPORTS 8
#define PERIOD_MS 1000
#define MAX_COUNT 3600
#define DEFAULT_COUNT 30

#define REG_COUNTDOWN 0
#define REG_CONTROL 4
#define REG_PING 5
#define CTL_RUNNING 0x1
#define CTL_FIRED 0x2

/* WDAT (ACPI) actions and instructions */
#define WDAT_RESET 1
#define WDAT_GET_COUNTDOWN 5
#define WDAT_SET_COUNTDOWN 6
#define WDAT_GET_RUNNING 8
#define WDAT_SET_RUNNING 9
#define WDAT_GET_STOPPED 10
#define WDAT_SET_STOPPED 11
#define WDAT_GET_STATUS 32
#define WDAT_SET_STATUS 33
#define WDAT_READ_VALUE 0
#define WDAT_READ_COUNTDOWN 1
#define WDAT_WRITE_VALUE 2
#define WDAT_WRITE_COUNTDOWN 3
#define WDAT_PRESERVE 0x80
#define WDAT_ENABLED 0x1
#define GAS_SYSTEM_IO 1

static const struct mv_plugin_host *host;

enum action { ACT_RESET, ACT_POWEROFF, ACT_NONE };
static const char *const action_names[] = { "reset", "poweroff", "none" };

struct watchdog {
	struct mv_plugin_dev *d;
	uint16_t port;
	enum action action;
	atomic_uint countdown;      /* periods */
	atomic_uint control;
	_Atomic uint64_t deadline;  /* CLOCK_MONOTONIC ns */
	struct mv_plugin_timer *tick;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reload(struct watchdog *w)
{
	atomic_store(&w->deadline, now_ns() + (uint64_t)atomic_load(&w->countdown) * PERIOD_MS * 1000000ull);
}

static uint32_t get(const void *data, uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len > 4 ? 4 : len);
	return v;
}

/* vCPU */
static void reg_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct watchdog *w = opaque;
	uint32_t v = get(data, len);

	if (off == REG_COUNTDOWN && len == 4) {
		atomic_store(&w->countdown, v < 1 ? 1 : v > MAX_COUNT ? MAX_COUNT : v);
		reload(w);
	} else if (off == REG_CONTROL) {
		unsigned int old = atomic_load(&w->control), nv = (v & CTL_RUNNING) | (old & v & CTL_FIRED);

		if ((nv & CTL_RUNNING) && !(old & CTL_RUNNING))
			reload(w);
		atomic_store(&w->control, nv);
	} else if (off == REG_PING) {
		reload(w);
	}
}

static void reg_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct watchdog *w = opaque;
	uint32_t v = 0;

	if (off == REG_COUNTDOWN)
		v = atomic_load(&w->countdown);
	else if (off == REG_CONTROL)
		v = atomic_load(&w->control);
	memset(data, 0, len);
	memcpy(data, &v, len > 4 ? 4 : len);
}

static const struct mv_plugin_io_ops reg_ops = { .read = reg_read, .write = reg_write };

/* loop: has it expired? */
static void tick(void *opaque)
{
	struct watchdog *w = opaque;
	unsigned int ctl = atomic_load(&w->control);

	if (!(ctl & CTL_RUNNING) || now_ns() < atomic_load(&w->deadline))
		return;
	atomic_store(&w->control, CTL_FIRED);
	host->log(w->d, MV_PLUGIN_LOG_WARN, "guest stopped feeding the watchdog for %u s: %s",
		  atomic_load(&w->countdown), action_names[w->action]);
	{
		const struct mv_plugin_field f[] = {
			{ "action", { .type = MV_PLUGIN_STRING, .u.s = action_names[w->action] } },
			{ "timeout", { .type = MV_PLUGIN_INT, .u.i = atomic_load(&w->countdown) } },
		};
		host->emit(w->d, "watchdog", f, 2);
	}
	if (w->action == ACT_RESET)
		host->request(w->d, MV_PLUGIN_REQ_RESET, "watchdog expired");
	else if (w->action == ACT_POWEROFF)
		host->request(w->d, MV_PLUGIN_REQ_POWEROFF, "watchdog expired");
}

/* ---- the WDAT table ---- */

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

/* one 24-byte action entry: register at port + off, `width` bytes */
static uint8_t *entry(uint8_t *p, const struct watchdog *w, uint8_t action, uint8_t instr, unsigned int off,
		      unsigned int width, uint8_t bit, uint32_t value, uint32_t mask)
{
	uint64_t addr = w->port + off;

	p[0] = action;
	p[1] = instr;
	p[2] = p[3] = 0;
	p[4] = GAS_SYSTEM_IO;
	p[5] = (uint8_t)(width * 8);                 /* bit width */
	p[6] = bit;                                  /* bit offset */
	p[7] = width == 4 ? 3 : width == 2 ? 2 : 1;  /* access size */
	memcpy(p + 8, &addr, 8);
	p = put32(p + 16, value);
	return put32(p, mask);
}

#define NENTRIES 9
#define WDAT_HDR 32  /* after the 36-byte ACPI header */

static int add_wdat(struct watchdog *w)
{
	uint8_t body[WDAT_HDR + NENTRIES * 24], *p = body;

	memset(body, 0, sizeof(body));
	p = put32(p, WDAT_HDR + 36);                 /* watchdog header length */
	p[0] = 0xFF, p[1] = 0x00;                    /* PCI segment 0xFF: not PCI (Linux compares with 0xff) */
	p[2] = p[3] = p[4] = 0xFF;                   /* bus, device, function: none */
	p += 8;                                      /* + 3 reserved */
	p = put32(p, PERIOD_MS);                     /* timer period (ms) */
	p = put32(p, MAX_COUNT);
	p = put32(p, 1);                             /* min count */
	p[0] = WDAT_ENABLED;                         /* flags (+ 3 reserved) */
	p = put32(p + 4, NENTRIES);
	p = entry(p, w, WDAT_RESET, WDAT_WRITE_VALUE, REG_PING, 1, 0, 1, 0xFF);
	p = entry(p, w, WDAT_GET_COUNTDOWN, WDAT_READ_COUNTDOWN, REG_COUNTDOWN, 4, 0, 0, 0xFFFFFFFF);
	p = entry(p, w, WDAT_SET_COUNTDOWN, WDAT_WRITE_COUNTDOWN, REG_COUNTDOWN, 4, 0, 0, 0xFFFFFFFF);
	p = entry(p, w, WDAT_GET_RUNNING, WDAT_READ_VALUE, REG_CONTROL, 1, 0, 1, 1);
	p = entry(p, w, WDAT_SET_RUNNING, WDAT_WRITE_VALUE | WDAT_PRESERVE, REG_CONTROL, 1, 0, 1, 1);
	p = entry(p, w, WDAT_GET_STOPPED, WDAT_READ_VALUE, REG_CONTROL, 1, 0, 0, 1);
	p = entry(p, w, WDAT_SET_STOPPED, WDAT_WRITE_VALUE | WDAT_PRESERVE, REG_CONTROL, 1, 0, 0, 1);
	p = entry(p, w, WDAT_GET_STATUS, WDAT_READ_VALUE, REG_CONTROL, 1, 1, 1, 1);
	p = entry(p, w, WDAT_SET_STATUS, WDAT_WRITE_VALUE | WDAT_PRESERVE, REG_CONTROL, 1, 1, 0, 1);
	return host->acpi_add_table(w->d, "WDAT", 1, body, (uint32_t)(p - body));
}

/* ---- Lua methods ---- */

static int m_state(void *opaque, const struct mv_plugin_value *args, unsigned int nargs,
		   struct mv_plugin_value *result, char *errbuf, size_t errlen)
{
	struct watchdog *w = opaque;
	unsigned int ctl = atomic_load(&w->control);

	result->type = MV_PLUGIN_STRING;
	result->u.s = ctl & CTL_RUNNING ? "running" : ctl & CTL_FIRED ? "fired" : "stopped";
	return 0;
}

static int m_timeout(void *opaque, const struct mv_plugin_value *args, unsigned int nargs,
		     struct mv_plugin_value *result, char *errbuf, size_t errlen)
{
	struct watchdog *w = opaque;

	result->type = MV_PLUGIN_INT;
	result->u.i = (int64_t)atomic_load(&w->countdown) * PERIOD_MS / 1000;
	return 0;
}

static int read_options(struct mv_plugin_dev *d, struct watchdog *w, char *errbuf, size_t errlen)
{
	const char *action;
	int64_t port;
	int ret = host->config_int(d, "port", DEFAULT_PORT, &port);

	if (ret == 0)
		ret = host->config_string(d, "action", "reset", &action);
	if (ret < 0)
		return ret;
	if (port < 0 || port > 0xFFFF - NPORTS || (port <= 0x71 && port + NPORTS > 0x70)) {
		snprintf(errbuf, errlen, "port = 0x%llx: the 8 ports must lie in 0-0xffff, off the RTC's 0x70-0x71",
			 (unsigned long long)port);
		return -EINVAL;
	}
	w->port = (uint16_t)port;
	for (unsigned int i = 0; i < 3; i++)
		if (strcmp(action, action_names[i]) == 0) {
			w->action = (enum action)i;
			return 0;
		}
	snprintf(errbuf, errlen, "action = \"%s\": use \"reset\", \"poweroff\" or \"none\"", action);
	return -EINVAL;
}

static int create(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen)
{
	struct watchdog *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->d = d;
	atomic_init(&w->countdown, DEFAULT_COUNT);
	ret = read_options(d, w, errbuf, errlen);
	if (ret == 0 && (ret = host->pio_register(d, w->port, NPORTS, &reg_ops, w)) < 0)
		snprintf(errbuf, errlen, "cannot claim ports 0x%x-0x%x", w->port, w->port + NPORTS - 1);
	if (ret == 0 && (ret = add_wdat(w)) < 0)
		snprintf(errbuf, errlen, "cannot add the ACPI WDAT table (a watchdog must be configured in "
			 "mv.vm{ devices = ... }, not added at runtime)");
	if (ret == 0 && !(w->tick = host->timer_start(d, 0.25, 0.25, tick, w)))
		ret = -ENOMEM;
	if (ret == 0)
		ret = host->lua_method(d, "state", m_state, w);
	if (ret == 0)
		ret = host->lua_method(d, "timeout", m_timeout, w);
	if (ret < 0) {
		free(w); /* the host releases the ports, the table and the timer */
		return ret;
	}
	*state = w;
	return 0;
}

static void destroy(void *state)
{
	struct watchdog *w = state;

	host->timer_stop(w->tick);
	free(w);
}

static const struct mv_plugin_option options[] = {
	{ "port", MV_PLUGIN_INT, "first of its 8 I/O ports (default 0x440)" },
	{ "action", MV_PLUGIN_STRING, "\"reset\" (default), \"poweroff\" or \"none\" when it expires" },
	{ NULL, MV_PLUGIN_NIL, NULL },
};

static const struct mv_plugin_type types[] = { {
	.size = sizeof(struct mv_plugin_type),
	.name = "wdat",
	.help = "an ACPI WDAT watchdog (Linux: wdat_wdt, /dev/watchdog)",
	.options = options,
	.create = create,
	.destroy = destroy,
} };

MV_PLUGIN_EXPORT("watchdog", "1.0", types, host, request)
