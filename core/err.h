/* A human-readable error that travels with an -errno return value.
 * Functions that can fail for reasons a user must understand take a
 * `struct mv_err *` (may be NULL) and fill it in; callers print err->msg. */
#ifndef MV_ERR_H
#define MV_ERR_H

#include "core/compiler.h"

struct mv_err {
	char msg[512];
};

/* Sets err->msg (if err) and returns `code` (a negative errno). */
int err__set(struct mv_err *err, int code, const char *fmt, ...) MV_PRINTF(3, 4);
/* Prepends "prefix: " to an existing message. */
void err__prefix(struct mv_err *err, const char *fmt, ...) MV_PRINTF(2, 3);

#endif
