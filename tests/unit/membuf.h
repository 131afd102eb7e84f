/* SPDX-License-Identifier: GPL-2.0 */
/*
 * membuf.h - a growing buffer in memory and the mbt_writer sink that
 * appends to it, for the unit tests that write traces and read them back.
 * Include after <cmocka.h>: running out of memory fails the test.
 */
#ifndef MB_TEST_MEMBUF_H
#define MB_TEST_MEMBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mb_error.h"

struct membuf {
	uint8_t *data;		/* malloc'ed; free() it */
	size_t len, cap;
};

static inline int mem_sink(void *ctx, const void *buf, size_t len,
			   struct mb_err *err)
{
	struct membuf *m = ctx;

	(void)err;
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->data = realloc(m->data, m->cap);
		assert_non_null(m->data);
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

#endif /* MB_TEST_MEMBUF_H */
