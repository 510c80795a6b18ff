/* core/remote_cmd.c: turns `moonvisor remote` commands into API requests
 * (no I/O, unit-tested). */
#ifndef MV_REMOTE_CMD_H
#define MV_REMOTE_CMD_H

#include <stddef.h>

#include "core/compiler.h"

struct mv_remote_req {
	const char *method;  /* "GET" or "PUT" */
	char path[64];       /* "/api/v1/vm.info" */
	char *body;          /* malloc'ed JSON, or NULL */
};

/* argv = COMMAND [ARGS]. 0, or -EINVAL with a message in why. */
int remote_cmd__build(int argc, char **argv, struct mv_remote_req *req, char *why, size_t size) MV_MUST_CHECK;

#endif
