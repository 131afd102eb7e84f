/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mb_error.h - the one error type of the user-space libraries.
 *
 * A function that can fail takes a `struct mb_err *` as its last argument,
 * returns -1 (or NULL) on failure and leaves a complete sentence fragment in
 * err->msg that names the thing and the reason ("byte 12: unknown algorithm
 * 7"). Callers add their own context in front with mb_err_prefix(). A NULL
 * err is allowed: the message is then dropped.
 */
#ifndef MB_ERROR_H
#define MB_ERROR_H

#include <stdarg.h>

#define MB_ERR_LEN 512

struct mb_err {
	char msg[MB_ERR_LEN];
};

/* Set err->msg from a printf format. Always returns -1, for `return mb_errf(...)`. */
int mb_errf(struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Put "prefix: " in front of the current message. Returns -1. */
int mb_err_prefix(struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* MB_ERROR_H */
