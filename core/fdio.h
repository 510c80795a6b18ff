/* Small helpers for file descriptors. */
#ifndef MV_FDIO_H
#define MV_FDIO_H

#include <stddef.h>

/* Writes all of buf to fd, retrying short writes and EINTR (a blocking or
 * usually-ready fd: terminals, pipes, files). 0, or -errno of the write
 * that failed (-EIO if a write returned 0). */
int fdio__write_all(int fd, const void *buf, size_t len);

#endif
