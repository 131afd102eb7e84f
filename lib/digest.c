// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include <xxhash.h>

#include "digest.h"
#include "superfasthash.h"

const char *mb_algo_name(int algo)
{
	switch (algo) {
	case MB_ALGO_SUPERFAST:
		return "superfast";
	case MB_ALGO_XXH32:
		return "xxh32";
	case MB_ALGO_XXH64:
		return "xxh64";
	}
	return "unknown";
}

int mb_algo_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcmp(name, "superfast"))
		return MB_ALGO_SUPERFAST;
	if (!strcmp(name, "xxh32"))
		return MB_ALGO_XXH32;
	if (!strcmp(name, "xxh64"))
		return MB_ALGO_XXH64;
	return -1;
}

int mb_algo_digest_size(int algo)
{
	switch (algo) {
	case MB_ALGO_SUPERFAST:
	case MB_ALGO_XXH32:
		return 4;
	case MB_ALGO_XXH64:
		return 8;
	}
	return 0;
}

uint64_t mb_digest(int algo, const void *buf, size_t len)
{
	switch (algo) {
	case MB_ALGO_SUPERFAST:
		return mb_superfasthash(buf, len);
	case MB_ALGO_XXH32:
		return XXH32(buf, len, 0);
	case MB_ALGO_XXH64:
		return XXH64(buf, len, 0);
	}
	return 0;
}
