// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_controld_keys.c - mb-controld's keys-file parser (controld/keys.c).
 * A failed load must keep the previous keys and name no seed (16 hex
 * digits in a row outside a quoted tenant name); a load that succeeds
 * gives at most a key a line, the key of the VMs without a tenant (if
 * any) with an id other than 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../controld/keys.h"
#include "seed_like.h"

static const char base[] =
	"# the keys before each input\n"
	"0000abcd 0123456789abcdef tenant=base\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keystore *k;
	struct tenant_key key;
	struct mb_err err = { "" };
	size_t i, lines;

	if (!k)
		k = keystore_new_memory();
	if (keystore_load_text(k, "base", base, strlen(base), &err))
		__builtin_trap();
	if (keystore_load_text(k, "fuzz", (const char *)data, size, &err)) {
		if (has_seed_like(err.msg))
			__builtin_trap();
		if (keystore_get(k, "base", false, &key, &err) != 1 ||
		    key.id != 0xabcd || key.seed != 0x0123456789abcdefULL)
			__builtin_trap();
		return 0;
	}
	/* At most a key a line, and none with id 0. */
	lines = 1;
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (keystore_count(k) > lines)
		__builtin_trap();
	if (keystore_get(k, "", false, &key, &err) == 1 && !key.id)
		__builtin_trap();
	return 0;
}
