/* Parsing sizes users write: "512M", "1G", "4096M", "2MiB", "1073741824". */
#ifndef MV_SIZE_H
#define MV_SIZE_H

#include <stdint.h>

#include "core/compiler.h"

/* Binary units (K = 1024). Returns 0, -EINVAL (not a size) or -ERANGE. */
int size__parse(const char *s, uint64_t *out) MV_MUST_CHECK;

#endif
