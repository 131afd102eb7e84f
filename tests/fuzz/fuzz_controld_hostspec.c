// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_controld_hostspec.c - mb-controld's --host parser (controld/
 * hostspec.c) on arbitrary bytes: it must never crash or overrun, and an
 * accepted spec must have a non-empty name and a URI that fit their
 * fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../controld/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inv_host_spec h;
	struct mb_err err;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (inv_parse_host(s, &h, &err) == 0) {
		if (!h.name[0] || strlen(h.name) >= sizeof(h.name) ||
		    strlen(h.uri) >= sizeof(h.uri) || !strstr(h.uri, ":/") ||
		    h.capacity_mb < 0 || h.reserve_mb < 0)
			abort();
	}
	free(s);
	return 0;
}
