/* pcidummy: the smallest PCI plugin device, a function with one 4 KiB
 * memory BAR that reads back what was written to it (no driver binds to
 * its 0xFF class). tests/lua/hotplug_spec.lua hotplugs it.
 *
 *   { plugin = "build/plugins/pcidummy.so", device_id = 0x0001 }
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moonvisor/plugin.h>

static const struct mv_plugin_host *host;

struct pcidummy {
	pthread_mutex_t lock;     /* vCPUs access the BAR concurrently */
	uint8_t bar[4096];
};

static void bar_read(void *opaque, unsigned int bar, uint64_t off, void *data, uint32_t len)
{
	struct pcidummy *s = opaque;

	(void)bar;
	pthread_mutex_lock(&s->lock);
	if (off < sizeof(s->bar) && len <= sizeof(s->bar) - off)
		memcpy(data, s->bar + off, len);
	else
		memset(data, 0xff, len);
	pthread_mutex_unlock(&s->lock);
}

static void bar_write(void *opaque, unsigned int bar, uint64_t off, const void *data, uint32_t len)
{
	struct pcidummy *s = opaque;

	(void)bar;
	pthread_mutex_lock(&s->lock);
	if (off < sizeof(s->bar) && len <= sizeof(s->bar) - off)
		memcpy(s->bar + off, data, len);
	pthread_mutex_unlock(&s->lock);
}

static const struct mv_plugin_pci_ops pci_ops = { .bar_read = bar_read, .bar_write = bar_write };

static int create(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen)
{
	struct mv_plugin_pci_desc desc = {
		.size = sizeof(desc), .vendor = 0x1b36, .device = 0x0001, .class_code = 0xFF0000, .ops = &pci_ops,
	};
	struct mv_plugin_pci *p;
	struct pcidummy *s;
	int64_t id;
	int ret = host->config_int(d, "device_id", 0x0001, &id);

	if (ret < 0)
		return ret;
	if (id < 0 || id > 0xFFFF) {
		snprintf(errbuf, errlen, "device_id = %lld is not a PCI device ID (0-0xffff)", (long long)id);
		return -EINVAL;
	}
	desc.device = (uint16_t)id;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	desc.opaque = s;
	desc.bars[0].size = sizeof(s->bar);
	ret = host->pci_add(d, &desc, &p);
	if (ret < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return ret;
	}
	*state = s;
	return 0;
}

/* the PCI function is gone already */
static void destroy(void *state)
{
	struct pcidummy *s = state;

	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct mv_plugin_option options[] = {
	{ "device_id", MV_PLUGIN_INT, "PCI device ID (default 0x0001)" },
	{ NULL, MV_PLUGIN_NIL, NULL },
};

static const struct mv_plugin_type types[] = { {
	.size = sizeof(struct mv_plugin_type),
	.name = "pci-dummy",
	.help = "a PCI function with a 4 KiB read-back memory BAR",
	.options = options,
	.create = create,
	.destroy = destroy,
} };

MV_PLUGIN_EXPORT("pcidummy", "1.0", types, host, pci_add)
