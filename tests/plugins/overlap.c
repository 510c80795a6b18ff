/* A plugin that claims ports 0x3f8-0x3ff, which the serial port has:
 * its create fails, and the host unwinds whatever it registered first
 * (port 0x404 here, claimed before the clash). */
#include <errno.h>
#include <stdio.h>

#include <moonvisor/plugin.h>

static const struct mv_plugin_host *host;

static void rd(void *opaque, uint64_t off, void *data, uint32_t len)
{
	((unsigned char *)data)[0] = 0;
}

static const struct mv_plugin_io_ops ops = { .read = rd };

static int create(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen)
{
	int ret = host->pio_register(d, 0x404, 1, &ops, NULL);

	if (ret == 0)
		ret = host->pio_register(d, 0x3f8, 8, &ops, NULL);
	if (ret < 0)
		snprintf(errbuf, errlen, "cannot claim ports 0x3f8-0x3ff");
	return ret;
}

static void destroy(void *state)
{
}

static const struct mv_plugin_type types[] = { {
	.size = sizeof(struct mv_plugin_type), .name = "overlap", .create = create, .destroy = destroy,
} };

static const struct mv_plugin_desc desc = {
	.size = sizeof(struct mv_plugin_desc), .abi_major = MV_PLUGIN_ABI_MAJOR, .abi_minor = MV_PLUGIN_ABI_MINOR,
	.name = "overlap", .version = "1", .types = types, .ntypes = 1,
};

const struct mv_plugin_desc *mv_plugin_init(const struct mv_plugin_host *h, char *errbuf, size_t errlen)
{
	host = h;
	return &desc;
}
