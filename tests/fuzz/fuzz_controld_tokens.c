// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_controld_tokens.c - mb-controld's tokens-file parser and the
 * Authorization check: the input's first line is used as a header value,
 * the rest as the file. A failed load must keep the previous table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../controld/auth.h"
#include "mbt.h"

static const char base[] =
	"6d62756c-6675-4000-8000-000000000001 fuzz-token-one\n"
	"admin fuzz-admin-token\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth *a;
	uint8_t vm[MBT_UUID_LEN];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	char *header = malloc(hlen + 1);
	struct mb_err err;

	if (!a)
		a = auth_new(NULL, false, &err);
	auth_load_text(a, "base", base, strlen(base), &err);
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	mb_uuid_parse("6d62756c-6675-4000-8000-000000000001", vm);
	if (auth_load_text(a, "fuzz", (const char *)data + hlen,
			   size - hlen, &err)) {
		if (auth_check(a, "Bearer fuzz-admin-token", NULL) != AUTH_OK)
			__builtin_trap();
	}
	auth_check(a, header, vm);
	auth_check(a, header, NULL);
	free(header);
	return 0;
}
