/* Logging to stderr. Every line carries the function name. */
#ifndef MV_LOG_H
#define MV_LOG_H

#include "core/compiler.h"

enum mv_log_level { MV_LOG_ERROR, MV_LOG_WARN, MV_LOG_INFO, MV_LOG_DEBUG };

void log__set_level(enum mv_log_level level);
enum mv_log_level log__level(void);
void log__write(enum mv_log_level level, const char *func, int errnum, const char *fmt, ...)
	MV_PRINTF(4, 5);

#define pr_err(...) log__write(MV_LOG_ERROR, __func__, 0, __VA_ARGS__)
#define pr_warn(...) log__write(MV_LOG_WARN, __func__, 0, __VA_ARGS__)
/* warn with the text of a (positive or negative) errno appended */
#define pr_warn_errno(e, ...) log__write(MV_LOG_WARN, __func__, (e), __VA_ARGS__)
#define pr_info(...) log__write(MV_LOG_INFO, __func__, 0, __VA_ARGS__)
#define pr_debug(...) log__write(MV_LOG_DEBUG, __func__, 0, __VA_ARGS__)

#endif
