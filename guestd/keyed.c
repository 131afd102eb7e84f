// SPDX-License-Identifier: GPL-2.0
/*
 * keyed.c - the tenant key of keyed scans (--keyed, docs/security.md):
 * the answer of GET /v1/vms/{uuid}/key, read into the form memtrace.ko's
 * MEMTRACE_IOC_SET_KEY takes (lib/memtrace_ioctl.h).
 *
 * The answer is small, fixed JSON: {"key_id": "1a2b3c4d", "seed":
 * "0123456789abcdef", "algorithm": "xxh64"}; anything else is refused,
 * so a confused or hostile server cannot make the guest scan with a key
 * it did not mean. Messages name the field, never the seed's text.
 */
#include <string.h>

#include <jansson.h>

#include "guestd.h"

/* @s is exactly @digits hex digits: their value into *@out. */
static bool hex_field(const char *s, size_t digits, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || strlen(s) != digits)
		return false;
	for (i = 0; i < digits; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

int keyed_parse_answer(const char *text, size_t len, struct memtrace_key *key,
		       struct mb_err *err)
{
	const char *algo;
	json_t *j, *v;
	uint64_t id, seed;
	int ret = -1;

	memset(key, 0, sizeof(*key));
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		mb_errf(err, "the key answer is not a JSON object");
		goto out;
	}
	if (json_object_size(j) != 3) {
		mb_errf(err, "the key answer has %zu members, expected "
			"key_id, seed and algorithm", json_object_size(j));
		goto out;
	}
	algo = json_string_value(json_object_get(j, "algorithm"));
	if (!algo || strcmp(algo, "xxh64")) {
		mb_errf(err, "the key answer's algorithm is not \"xxh64\"");
		goto out;
	}
	v = json_object_get(j, "key_id");
	if (!hex_field(json_string_value(v), 8, &id) || !id) {
		mb_errf(err, "the key answer's key_id is not 8 lower-case hex "
			"digits other than 00000000");
		goto out;
	}
	v = json_object_get(j, "seed");
	if (!hex_field(json_string_value(v), 16, &seed)) {
		mb_errf(err, "the key answer's seed is not 16 lower-case hex "
			"digits");
		goto out;
	}
	key->key_id = (uint32_t)id;
	key->seed = seed;
	ret = 0;
out:
	explicit_bzero(&seed, sizeof(seed));
	json_decref(j);
	return ret;
}
