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
	char prefix[MB_ERR_LEN], old[MB_ERR_LEN];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}
