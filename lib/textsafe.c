// SPDX-License-Identifier: GPL-2.0
/*
 * textsafe.c - UTF-8 validation and escaping of untrusted text
 * (textsafe.h). One decoder serves both: it returns the length of the
 * well-formed character at a position, or 0 for a byte that does not
 * start one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "textsafe.h"

/* Length of the well-formed UTF-8 character at @s (@len > 0), or 0. */
static size_t utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;		/* continuation byte, 0xc0, 0xc1, > 0xf4 */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;	/* overlong, out of range, surrogate */
	*cp = c;
	return n;
}

bool mb_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_char(p + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

size_t mb_escape_text(char *out, size_t size, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, n, k;
	char esc[4 * 4 + 1];
	uint32_t cp;

	if (!size)
		return 0;
	while (i < len) {
		n = utf8_char(p + i, len - i, &cp);
		if (n && !is_control(cp)) {
			if (o + n >= size)
				break;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		if (n && cp == '\n')
			k = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (n && cp == '\r')
			k = (size_t)snprintf(esc, sizeof(esc), "\\r");
		else if (n && cp == '\t')
			k = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else {
			size_t j;

			if (!n)
				n = 1;
			for (j = 0, k = 0; j < n; j++)
				k += (size_t)snprintf(esc + k, sizeof(esc) - k,
						      "\\x%02x", p[i + j]);
		}
		if (o + k >= size)
			break;
		memcpy(out + o, esc, k);
		o += k;
		i += n;
	}
	out[o] = '\0';
	return o;
}

const char *mb_safe_text(const char *s, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_char(p + i, len - i, &cp);
		if (!n || is_control(cp))
			break;
		i += n;
	}
	if (i == len)
		return s;
	mb_escape_text(buf, size, s, len);
	return buf;
}

const char *mb_display(const char *s)
{
	static __thread char bufs[MB_DISPLAY_SLOTS][MB_DISPLAY_LEN];
	static __thread unsigned int next;

	if (!s)
		return NULL;
	next = (next + 1) % MB_DISPLAY_SLOTS;
	return mb_safe_text(s, bufs[next], sizeof(bufs[next]));
}
