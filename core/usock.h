/* Listening Unix stream sockets for local control channels (the REPL's
 * --control socket, the REST API's --api-socket): mode 0600 from the
 * moment they exist, a stale socket file left by a dead process replaced,
 * a live one refused, and peers checked with SO_PEERCRED; and the client
 * side's connect. */
#ifndef MV_USOCK_H
#define MV_USOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"
#include "core/err.h"

/* Binds and listens on path (non-blocking, close-on-exec); what names the
 * socket in messages ("control socket"). Returns the fd or -errno. */
int usock__listen(const char *path, int backlog, const char *what, struct mv_err *err) MV_MUST_CHECK;
/* Whether the peer on fd runs as our effective uid or as root; if not,
 * why (for the peer) is filled in. */
bool usock__peer_allowed(int fd, const char *what, char *why, size_t size);
/* Connects to the stream socket at path (blocking, close-on-exec).
 * Returns the fd or -errno (-ENAMETOOLONG for a path sun_path cannot hold). */
int usock__connect(const char *path) MV_MUST_CHECK;

#endif
