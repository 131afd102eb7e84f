// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "mb_error.h"

int mb_errf(struct mb_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int mb_err_prefix(struct mb_err *err, const char *fmt, ...)
{
	char old[MB_ERR_LEN];
	va_list ap;
	int n;

	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* A message too long for the buffer is cut, never overrun. */
	if (n >= 0 && (size_t)n + 2 < sizeof(err->msg)) {
		size_t room = sizeof(err->msg) - (size_t)n - 3;
		size_t len = strnlen(old, room);

		memcpy(err->msg + n, ": ", 2);
		memcpy(err->msg + n + 2, old, len);
		err->msg[n + 2 + len] = 0;
	}
	return -1;
}
