/* Logging to stderr with a level. Never log untrusted strings raw: use log_sanitize(). */
#ifndef INVAR_UTIL_LOG_H
#define INVAR_UTIL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy at most out_len-1 bytes of an untrusted string (len bytes, not necessarily NUL
 * terminated) into out, replacing control and non-ASCII bytes with '?'. Returns out. */
char *log_sanitize(char *out, size_t out_len, const char *in, size_t len);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                 \
	do {                                           \
		if (log_get_level() >= LOG_DEBUG)      \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
