/* SPDX-License-Identifier: GPL-2.0 */
/*
 * seed_like.h - for the fuzz targets of key parsers: does a message show
 * what looks like a seed (16 hex digits in a row)? Text between single
 * quotes is a name the input gave (a tenant), not a field's value, and is
 * skipped: a tenant may well be called "0123456789abcdef".
 */
#ifndef MB_FUZZ_SEED_LIKE_H
#define MB_FUZZ_SEED_LIKE_H

#include <ctype.h>

static inline int has_seed_like(const char *s)
{
	int run = 0, quoted = 0;

	for (; *s; s++) {
		if (*s == '\'')
			quoted = !quoted;
		run = !quoted && isxdigit((unsigned char)*s) ? run + 1 : 0;
		if (run >= 16)
			return 1;
	}
	return 0;
}

#endif /* MB_FUZZ_SEED_LIKE_H */
