// SPDX-License-Identifier: GPL-2.0
/*
 * digest.c - the rows of mbt_algorithms.h bound to user space's code.
 *
 * Each row needs a function digest_<name>(buf, len) here (and one in
 * kmod/memtrace_main.c); the table, the look-up by id and the list of names
 * are generated from the rows, so nothing else changes when one is added.
 */
#include <string.h>
#include <xxhash.h>

#include "digest.h"
#include "superfasthash.h"

static uint64_t digest_superfast(const void *buf, size_t len)
{
	return mb_superfasthash(buf, len);
}

static uint64_t digest_xxh32(const void *buf, size_t len)
{
	return XXH32(buf, len, 0);
}

static uint64_t digest_xxh64(const void *buf, size_t len)
{
	return XXH64(buf, len, 0);
}

/* What the trace format can carry. */
#define MBT_ALGORITHM(NAME, name, id, size)				\
	_Static_assert((id) >= 1 && (id) <= 255, #name ": id outside 1..255"); \
	_Static_assert((size) == 4 || (size) == 8,			\
		       #name ": digest size must be 4 or 8");
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM

/* Row numbers, for the look-up by id below. */
enum {
#define MBT_ALGORITHM(NAME, name, id, size) ROW_##NAME,
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
	ROW_COUNT
};

const struct mb_algo_info mb_algos[] = {
#define MBT_ALGORITHM(NAME, name, id, size) \
	[ROW_##NAME] = { MB_ALGO_##NAME, #name, size, digest_##name },
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
};

const size_t mb_algo_count = ROW_COUNT;

/* A switch, so two rows with one id do not compile (duplicate case). */
const struct mb_algo_info *mb_algo_find(int algo)
{
	switch (algo) {
#define MBT_ALGORITHM(NAME, name, id, size) \
	case MB_ALGO_##NAME: return &mb_algos[ROW_##NAME];
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
	}
	return NULL;
}

const char *mb_algo_name(int algo)
{
	const struct mb_algo_info *a = mb_algo_find(algo);

	return a ? a->name : "unknown";
}

int mb_algo_parse(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < mb_algo_count; i++)
		if (!strcmp(name, mb_algos[i].name))
			return mb_algos[i].id;
	return -1;
}

int mb_algo_digest_size(int algo)
{
	const struct mb_algo_info *a = mb_algo_find(algo);

	return a ? (int)a->digest_size : 0;
}

const char *mb_algo_names(void)
{
	static const char names[] =
#define MBT_ALGORITHM(NAME, name, id, size) ", " #name
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
		;

	return names + 2;	/* past the first ", " */
}

uint64_t mb_digest(int algo, const void *buf, size_t len)
{
	const struct mb_algo_info *a = mb_algo_find(algo);

	return a ? a->digest(buf, len) : 0;
}
