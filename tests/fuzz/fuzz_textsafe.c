// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_textsafe.c - libFuzzer target for lib/textsafe.c. mb_utf8_valid()
 * must agree with an independent check written from the table of
 * well-formed byte sequences (Unicode 15, table 3-7); mb_escape_text()
 * must always produce well-formed UTF-8 free of control characters, leave
 * text that needs no escape unchanged, and never overrun a small buffer;
 * mb_safe_text() must return its argument exactly when nothing needs an
 * escape.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textsafe.h"

/* Table 3-7: each row is a lead byte range and the ranges that follow. */
static size_t well_formed(const uint8_t *s, size_t len)
{
	static const struct {
		uint8_t lo, hi, n;
		uint8_t second_lo, second_hi;
	} rows[] = {
		{ 0x00, 0x7f, 1, 0, 0 },
		{ 0xc2, 0xdf, 2, 0x80, 0xbf },
		{ 0xe0, 0xe0, 3, 0xa0, 0xbf },
		{ 0xe1, 0xec, 3, 0x80, 0xbf },
		{ 0xed, 0xed, 3, 0x80, 0x9f },
		{ 0xee, 0xef, 3, 0x80, 0xbf },
		{ 0xf0, 0xf0, 4, 0x90, 0xbf },
		{ 0xf1, 0xf3, 4, 0x80, 0xbf },
		{ 0xf4, 0xf4, 4, 0x80, 0x8f },
	};
	size_t r, k;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lo || s[0] > rows[r].hi)
			continue;
		if (len < rows[r].n)
			return 0;
		if (rows[r].n > 1 && (s[1] < rows[r].second_lo ||
				      s[1] > rows[r].second_hi))
			return 0;
		for (k = 2; k < rows[r].n; k++)
			if (s[k] < 0x80 || s[k] > 0xbf)
				return 0;
		return rows[r].n;
	}
	return 0;
}

static bool reference_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = well_formed(s + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* Would this text print as it is: valid and without control characters? */
static bool printable(const uint8_t *s, size_t len)
{
	size_t i;

	if (!reference_valid(s, len))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9f)
			return false;	/* U+0080..U+009F */
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t big = size * 4 + 1, small, n;
	char *out = malloc(big), *tiny, *str;
	const char *safe;

	if (mb_utf8_valid((const char *)data, size) !=
	    reference_valid(data, size))
		abort();
	n = mb_escape_text(out, big, (const char *)data, size);
	if (n != strlen(out) || !printable((const uint8_t *)out, n))
		abort();
	if (printable(data, size) && !memchr(data, 0, size) &&
	    (n != size || memcmp(out, data, size)))
		abort();
	/* A buffer too small: a prefix of the whole, at a boundary. */
	small = size ? data[0] % (size + 1) + 1 : 1;
	tiny = malloc(small);
	n = mb_escape_text(tiny, small, (const char *)data, size);
	if (n >= small || n != strlen(tiny) || strncmp(tiny, out, n) ||
	    !printable((const uint8_t *)tiny, n))
		abort();
	/* As a C string (up to its first NUL). */
	str = malloc(size + 1);
	memcpy(str, data, size);
	str[size] = '\0';
	safe = mb_safe_text(str, out, big);
	if ((safe == str) != printable((const uint8_t *)str, strlen(str)))
		abort();
	free(str);
	free(tiny);
	free(out);
	return 0;
}
