/* debugport: a one-byte I/O port the guest writes to (like QEMU's
 * isa-debugcon or Firecracker's boot timer port). Every byte written
 * becomes a Lua event
 *
 *     vm:on("plugin:debugport", function(ev) ... end)
 *     ev.value    the byte (0-255)
 *     ev.char     the byte as a one-character string
 *     ev.time_ns  host CLOCK_MONOTONIC when the vCPU wrote it, in ns
 *     ev.port     the port
 *     ev.dropped  bytes lost before this one (the queue was full)
 *
 * Reads return 0xE9 (as QEMU's debugcon does), so a guest can probe it.
 * Options: port (default 0x402). Lua methods: dev:count() -> bytes
 * written so far; dev:text() -> the last (up to 4096) bytes as a string.
 *
 * Threads: the write lands on a vCPU thread, which stamps it and queues
 * it in a bounded ring; the loop drains the ring and emits the events. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <moonvisor/plugin.h>

#define RING 4096
#define DEFAULT_PORT 0x402
#define READBACK 0xE9

static const struct mv_plugin_host *host;

struct entry {
	uint8_t value;
	uint64_t ns;
};

struct debugport {
	struct mv_plugin_dev *d;
	uint16_t port;
	pthread_mutex_t lock;
	struct entry ring[RING];
	unsigned int head, count;   /* ring: [head, head + count) */
	uint64_t dropped, total;
	int posted;                 /* a drain is queued */
	char text[RING];            /* the last bytes, for dev:text() (loop only) */
	unsigned int text_len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void keep_text(struct debugport *s, uint8_t c)
{
	if (s->text_len == sizeof(s->text)) {
		memmove(s->text, s->text + 1, sizeof(s->text) - 1);
		s->text_len--;
	}
	s->text[s->text_len++] = (char)c;
}

/* loop: emit one event per queued byte */
static void drain(void *opaque, uint64_t unused)
{
	struct debugport *s = opaque;

	for (;;) {
		struct entry e;
		uint64_t dropped;
		char ch[2];

		pthread_mutex_lock(&s->lock);
		if (!s->count) {
			s->posted = 0;
			pthread_mutex_unlock(&s->lock);
			return;
		}
		e = s->ring[s->head];
		s->head = (s->head + 1) % RING;
		s->count--;
		dropped = s->dropped;
		s->dropped = 0;
		pthread_mutex_unlock(&s->lock);
		keep_text(s, e.value);
		ch[0] = (char)e.value;
		ch[1] = '\0';
		{
			const struct mv_plugin_field f[] = {
				{ "value", { .type = MV_PLUGIN_INT, .u.i = e.value } },
				{ "char", { .type = MV_PLUGIN_STRING, .u.s = ch } },
				{ "time_ns", { .type = MV_PLUGIN_INT, .u.i = (int64_t)e.ns } },
				{ "port", { .type = MV_PLUGIN_INT, .u.i = s->port } },
				{ "dropped", { .type = MV_PLUGIN_INT, .u.i = (int64_t)dropped } },
			};
			host->emit(s->d, "debugport", f, sizeof(f) / sizeof(f[0]));
		}
	}
}

/* vCPU: stamp and queue the byte; wake the loop once per batch */
static void port_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct debugport *s = opaque;
	uint64_t ns = now_ns();
	int post;

	pthread_mutex_lock(&s->lock);
	s->total++;
	if (s->count == RING) {
		s->dropped++;
	} else {
		s->ring[(s->head + s->count) % RING] = (struct entry){ ((const uint8_t *)data)[0], ns };
		s->count++;
	}
	post = !s->posted;
	s->posted = 1;
	pthread_mutex_unlock(&s->lock);
	if (post && host->post(s->d, drain, s, 0) < 0) {
		pthread_mutex_lock(&s->lock);
		s->posted = 0;
		pthread_mutex_unlock(&s->lock);
	}
}

static void port_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	((uint8_t *)data)[0] = READBACK;
}

static const struct mv_plugin_io_ops port_ops = { .read = port_read, .write = port_write };

static int m_count(void *opaque, const struct mv_plugin_value *args, unsigned int nargs,
		   struct mv_plugin_value *result, char *errbuf, size_t errlen)
{
	struct debugport *s = opaque;

	pthread_mutex_lock(&s->lock);
	*result = (struct mv_plugin_value){ .type = MV_PLUGIN_INT, .u.i = (int64_t)s->total };
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int m_text(void *opaque, const struct mv_plugin_value *args, unsigned int nargs,
		  struct mv_plugin_value *result, char *errbuf, size_t errlen)
{
	static char copy[RING + 1];
	struct debugport *s = opaque;

	drain(s, 0); /* what the guest wrote up to now */
	memcpy(copy, s->text, s->text_len);
	copy[s->text_len] = '\0';
	*result = (struct mv_plugin_value){ .type = MV_PLUGIN_STRING, .u.s = copy };
	return 0;
}

static int create(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen)
{
	struct debugport *s;
	int64_t port;
	int ret = host->config_int(d, "port", DEFAULT_PORT, &port);

	if (ret < 0)
		return ret;
	if (port < 0 || port > 0xFFFF) {
		snprintf(errbuf, errlen, "port = %lld is not a port number (0-0xffff)", (long long)port);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->port = (uint16_t)port;
	pthread_mutex_init(&s->lock, NULL);
	ret = host->pio_register(d, s->port, 1, &port_ops, s);
	if (ret == 0)
		ret = host->lua_method(d, "count", m_count, s);
	if (ret == 0)
		ret = host->lua_method(d, "text", m_text, s);
	if (ret < 0) {
		snprintf(errbuf, errlen, "cannot claim port 0x%x", s->port);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return ret;
	}
	*state = s;
	return 0;
}

static void destroy(void *state)
{
	struct debugport *s = state;

	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct mv_plugin_option options[] = {
	{ "port", MV_PLUGIN_INT, "the I/O port (default 0x402)" },
	{ NULL, MV_PLUGIN_NIL, NULL },
};

static const struct mv_plugin_type types[] = { {
	.size = sizeof(struct mv_plugin_type),
	.name = "debugport",
	.help = "a byte-wide I/O port whose writes become plugin:debugport events",
	.options = options,
	.create = create,
	.destroy = destroy,
} };

MV_PLUGIN_EXPORT("debugport", "1.0", types, host, lua_method)
