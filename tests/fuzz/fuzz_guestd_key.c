// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_guestd_key.c - mb-guestd's reader of the key answer
 * (guestd/keyed.c, GET /v1/vms/{uuid}/key). An accepted answer gives a
 * key id other than 0 and is exactly the JSON that key formats back to;
 * a refused one leaves the key zeroed and no seed (16 hex digits in a
 * row) in the message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../guestd/guestd.h"
#include "seed_like.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memtrace_key key;
	struct mb_err err = { "" };
	char id[9], seed[17];
	json_t *j;

	if (keyed_parse_answer((const char *)data, size, &key, &err)) {
		if (key.key_id || key.seed || key.reserved ||
		    has_seed_like(err.msg))
			__builtin_trap();
		return 0;
	}
	if (!key.key_id || key.reserved)
		__builtin_trap();
	j = json_loadb((const char *)data, size, 0, NULL);
	snprintf(id, sizeof(id), "%08x", key.key_id);
	snprintf(seed, sizeof(seed), "%016llx", (unsigned long long)key.seed);
	if (!j || strcmp(json_string_value(json_object_get(j, "key_id")), id) ||
	    strcmp(json_string_value(json_object_get(j, "seed")), seed))
		__builtin_trap();
	json_decref(j);
	return 0;
}
