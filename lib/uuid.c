// SPDX-License-Identifier: GPL-2.0
/*
 * uuid.c - SMBIOS/libvirt UUIDs as 16 bytes in text order. A VM's identity
 * everywhere in the system: the trace header, the upload URL, the store
 * directory, the libvirt domain.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mbt.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mb_uuid_parse(const char *s, uint8_t out[MBT_UUID_LEN])
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0, o = 0;

	if (!s || strlen(s) != 36)
		return -1;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (d < 4 && i == (size_t)dash[d]) {
			if (s[i] != '-')
				return -1;
			d++;
			i++;
			continue;
		}
		hi = hexval((unsigned char)s[i]);
		lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

void mb_uuid_format(const uint8_t in[MBT_UUID_LEN], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", in[0], in[1], in[2], in[3], in[4],
		 in[5], in[6], in[7], in[8], in[9], in[10], in[11], in[12],
		 in[13], in[14], in[15]);
}

bool mb_uuid_is_zero(const uint8_t in[MBT_UUID_LEN])
{
	size_t i;

	for (i = 0; i < MBT_UUID_LEN; i++)
		if (in[i])
			return false;
	return true;
}
