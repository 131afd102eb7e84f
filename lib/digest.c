// SPDX-License-Identifier: GPL-2.0
/*
 * digest.c - the rows of mbt_algorithms.h bound to user space's code.
 *
 * Each row needs a function digest_<name>(buf, len) here (and one in
 * kmod/memtrace_main.c); the table, the look-up by id and the list of names
 * are generated from the rows, so nothing else changes when one is added.
 *
 * The multi-buffer variants are the rows of digest_simd_rows.h, bound here to
 * the algorithms' rows by name; which one runs is decided per call from
 * the CPU's features, read once. Keyed digests (xxh64 with a seed) run
 * xxh64's variants in their seeded form.
 */
#include <string.h>
#include <xxhash.h>

#include "cpu.h"
#include "digest.h"
#include "digest_simd.h"
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

/* Row numbers, for the look-up by id below and the variants' table. */
enum {
#define MBT_ALGORITHM(NAME, name, id, size) ROW_##name,
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
	ROW_COUNT
};

const struct mb_algo_info mb_algos[] = {
#define MBT_ALGORITHM(NAME, name, id, size) \
	[ROW_##name] = { MB_ALGO_##NAME, #name, size, digest_##name },
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
};

const size_t mb_algo_count = ROW_COUNT;

/* A switch, so two rows with one id do not compile (duplicate case). */
const struct mb_algo_info *mb_algo_find(int algo)
{
	switch (algo) {
#define MBT_ALGORITHM(NAME, name, id, size) \
	case MB_ALGO_##NAME: return &mb_algos[ROW_##name];
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

/* ---- batches ---- */

/* A multi-buffer variant of one algorithm; lanes == 0: none. */
struct variant {
	unsigned int lanes;
	mb_simd_fn *fn;
};

/* digest_simd_rows.h names instruction sets as its functions do. */
enum { ISA_avx2 = MB_IMPL_AVX2, ISA_avx512 = MB_IMPL_AVX512 };

/*
 * By implementation and algorithm row. A variant of an algorithm the table
 * lacks does not compile (no ROW_ constant), nor does a repeated one
 * (-Woverride-init).
 */
static const struct variant variants[MB_IMPL_COUNT][ROW_COUNT] = {
#define MB_SIMD_VARIANT(name, isa, n)					\
	[ISA_##isa][ROW_##name] = { (n), mb_simd_##name##_##isa },
#include "digest_simd_rows.h"
#undef MB_SIMD_VARIANT
};

static const char *const impl_names[MB_IMPL_COUNT] = {
	[MB_IMPL_SCALAR] = "scalar",
	[MB_IMPL_AVX2] = "avx2",
	[MB_IMPL_AVX512] = "avx512",
};

const char *mb_impl_name(int impl)
{
	return impl >= 0 && impl < MB_IMPL_COUNT ? impl_names[impl] : "unknown";
}

int mb_impl_parse(const char *name)
{
	int i;

	for (i = 0; name && i < MB_IMPL_COUNT; i++)
		if (!strcmp(name, impl_names[i]))
			return i;
	return -1;
}

/* One bit per usable implementation, computed once (any thread may). */
static unsigned int usable_mask(void)
{
	static unsigned int mask;	/* 0: not computed yet */
	unsigned int m = __atomic_load_n(&mask, __ATOMIC_RELAXED);

	if (m)
		return m;
	m = 1U << MB_IMPL_SCALAR;
#ifdef __x86_64__
	/* Active: the OS saves the register state too (cpu.h). */
	if (MB_CPU_HAS(AVX2))
		m |= 1U << MB_IMPL_AVX2;
	if (MB_CPU_HAS(AVX512F) && MB_CPU_HAS(AVX512BW) &&
	    MB_CPU_HAS(AVX512DQ) && MB_CPU_HAS(AVX512VL))
		m |= 1U << MB_IMPL_AVX512;
#endif
	__atomic_store_n(&mask, m, __ATOMIC_RELAXED);
	return m;
}

bool mb_impl_usable(int impl)
{
	return impl >= 0 && impl < MB_IMPL_COUNT &&
	       (usable_mask() >> impl & 1);
}

/* Row of @algo, or -1. */
static int row_of(int algo)
{
	const struct mb_algo_info *a = mb_algo_find(algo);

	return a ? (int)(a - mb_algos) : -1;
}

unsigned int mb_impl_lanes(int algo, int impl)
{
	int row = row_of(algo);

	if (row < 0 || impl < 0 || impl >= MB_IMPL_COUNT)
		return 0;
	return impl == MB_IMPL_SCALAR ? 1 : variants[impl][row].lanes;
}

int mb_impl_best(int algo)
{
	int row = row_of(algo), impl;

	for (impl = MB_IMPL_COUNT - 1; row >= 0 && impl > MB_IMPL_SCALAR;
	     impl--)
		if (variants[impl][row].lanes && mb_impl_usable(impl))
			return impl;
	return MB_IMPL_SCALAR;
}

/*
 * The seeded xxh64 of each instruction set, beside its xxh64 variant in
 * variants[] (whose lanes it has); a set without one runs the scalar code.
 */
static mb_simd_seeded_fn *const seeded_xxh64[MB_IMPL_COUNT] = {
#ifdef __x86_64__
	[MB_IMPL_AVX2] = mb_simd_xxh64_seeded_avx2,
	[MB_IMPL_AVX512] = mb_simd_xxh64_seeded_avx512,
#endif
};

static void batch(int row, int impl, const void *const bufs[], size_t n,
		  size_t len, uint64_t digests[])
{
	const struct variant *v = &variants[impl][row];
	size_t i, k;

	if (impl == MB_IMPL_SCALAR || !v->lanes) {
		for (i = 0; i < n; i++)
			digests[i] = mb_algos[row].digest(bufs[i], len);
		return;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < v->lanes ? n - i : v->lanes;
		v->fn(bufs + i, (unsigned int)k, len, digests + i);
	}
}

int mb_digest_batch(int algo, int impl, const void *const bufs[], size_t n,
		    size_t len, uint64_t digests[])
{
	int row = row_of(algo);

	if (row < 0 || !mb_impl_usable(impl))
		return -1;
	batch(row, impl, bufs, n, len, digests);
	return 0;
}

void mb_digest_pages(int algo, const void *const pages[], size_t n,
		     uint64_t digests[])
{
	int row = row_of(algo);

	if (row < 0) {
		if (n)
			memset(digests, 0, n * sizeof(*digests));
		return;
	}
	batch(row, mb_impl_best(algo), pages, n, MBT_PAGE_SIZE, digests);
}

/* ---- keyed digests ---- */

uint64_t mb_digest_keyed(uint64_t seed, const void *buf, size_t len)
{
	return XXH64(buf, len, seed);
}

static void batch_keyed(int impl, uint64_t seed, const void *const bufs[],
			size_t n, size_t len, uint64_t digests[])
{
	unsigned int lanes = variants[impl][ROW_xxh64].lanes;
	mb_simd_seeded_fn *fn = seeded_xxh64[impl];
	size_t i, k;

	if (impl == MB_IMPL_SCALAR || !lanes || !fn) {
		for (i = 0; i < n; i++)
			digests[i] = XXH64(bufs[i], len, seed);
		return;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < lanes ? n - i : lanes;
		fn(bufs + i, (unsigned int)k, len, seed, digests + i);
	}
}

int mb_digest_batch_keyed(int impl, uint64_t seed, const void *const bufs[],
			  size_t n, size_t len, uint64_t digests[])
{
	if (!mb_impl_usable(impl))
		return -1;
	batch_keyed(impl, seed, bufs, n, len, digests);
	return 0;
}

void mb_digest_pages_keyed(uint64_t seed, const void *const pages[], size_t n,
			   uint64_t digests[])
{
	batch_keyed(mb_impl_best(MB_ALGO_XXH64), seed, pages, n, MBT_PAGE_SIZE,
		    digests);
}
