/* A plugin built for a future ABI major: refused, naming both versions. */
#include <moonvisor/plugin.h>

static int create(struct mv_plugin_dev *d, void **state, char *errbuf, size_t errlen)
{
	return -1;
}

static void destroy(void *state)
{
}

static const struct mv_plugin_type types[] = { {
	.size = sizeof(struct mv_plugin_type), .name = "x", .create = create, .destroy = destroy,
} };

static const struct mv_plugin_desc desc = {
	.size = sizeof(struct mv_plugin_desc), .abi_major = MV_PLUGIN_ABI_MAJOR + 1, .abi_minor = 3,
	.name = "bad_abi", .version = "1", .types = types, .ntypes = 1,
};

const struct mv_plugin_desc *mv_plugin_init(const struct mv_plugin_host *h, char *errbuf, size_t errlen)
{
	return &desc;
}
