/* Small helpers for file descriptors. */
#ifndef MV_FDIO_H
#define MV_FDIO_H

#include <stdbool.h>
#include <stddef.h>

/* Writes all of buf to fd, retrying short writes and EINTR (a blocking or
 * usually-ready fd: terminals, pipes, files). 0, or -errno of the write
 * that failed (-EIO if a write returned 0). */
int fdio__write_all(int fd, const void *buf, size_t len);
/* Sends what the (non-blocking) socket takes now of buf[0, *len), keeps
 * the rest at the front of buf and sets *len to it. 0, or -errno when the
 * peer is gone (-EPIPE if send returned 0). */
int fdio__send_pending(int fd, char *buf, size_t *len);
/* Whether fd can be read now without blocking (an eventfd with a count);
 * false for fd < 0. */
bool fdio__readable(int fd);

#endif
