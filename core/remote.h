/* `moonvisor remote --api-socket PATH COMMAND [ARGS]`: a client of the
 * REST API (lua/l_api_server.c, docs/api.md), like Cloud Hypervisor's
 * ch-remote. Prints the answer's JSON body; exit status 0 for a 2xx
 * answer, 4 for 4xx, 5 for 5xx, 2 when the server cannot be reached or
 * answers something that is not HTTP, 1 for a usage error. */
#ifndef MV_REMOTE_H
#define MV_REMOTE_H

/* argv[0] is "remote". Returns the exit status. */
int remote__main(int argc, char **argv);

#endif
