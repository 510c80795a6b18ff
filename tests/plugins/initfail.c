/* A plugin whose entry point refuses to load, with its reason. */
#include <stdio.h>

#include <moonvisor/plugin.h>

const struct mv_plugin_desc *mv_plugin_init(const struct mv_plugin_host *h, char *errbuf, size_t errlen)
{
	snprintf(errbuf, errlen, "initfail: the frobnicator is missing");
	return NULL;
}
