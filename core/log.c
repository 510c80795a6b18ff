#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum mv_log_level current = MV_LOG_WARN;

void log__set_level(enum mv_log_level level)
{
	current = level;
}

enum mv_log_level log__level(void)
{
	return current;
}

void log__write(enum mv_log_level level, const char *func, int errnum, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char msg[1024];
	va_list ap;

	if (level > current)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errnum)
		fprintf(stderr, "moonvisor: %s: %s: %s: %s\n", names[level], func, msg,
			strerror(abs(errnum)));
	else
		fprintf(stderr, "moonvisor: %s: %s: %s\n", names[level], func, msg);
}
