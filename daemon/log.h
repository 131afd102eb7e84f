/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h - the daemons' log: "prog: message" lines on stderr, or syslog
 * (daemon facility) once log_use_syslog() has been called. Thread-safe.
 */
#ifndef MB_DAEMON_LOG_H
#define MB_DAEMON_LOG_H

#include <syslog.h>

void log_init(const char *prog);
void log_use_syslog(void);
/* Messages above this level (LOG_DEBUG > LOG_INFO ...) are dropped. */
void log_set_level(int level);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* MB_DAEMON_LOG_H */
