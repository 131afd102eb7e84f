// SPDX-License-Identifier: GPL-2.0
/*
 * log.c - one line per message, written with a single write(2) so that
 * lines from several threads never interleave. Messages carry text from
 * clients (URLs, VM names), so control characters in them are escaped
 * (textsafe.h): a newline in a name cannot forge a second line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "textsafe.h"

static const char *log_prog = "mb";
static int log_syslog;
static int log_level = LOG_INFO;

void log_init(const char *prog)
{
	log_prog = prog;
}

void log_use_syslog(void)
{
	openlog(log_prog, LOG_PID, LOG_DAEMON);
	log_syslog = 1;
}

void log_set_level(int level)
{
	log_level = level;
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[1024], line[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		mb_escape_text(line, sizeof(line), msg, strlen(msg));
		syslog(level, "%s", line);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: ", log_prog);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	n += mb_escape_text(line + n, sizeof(line) - n - 1, msg, strlen(msg));
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
