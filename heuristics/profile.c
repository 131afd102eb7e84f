// SPDX-License-Identifier: GPL-2.0
/*
 * profile.c - the sharing profile of at most 64 VMs (profile.h).
 *
 * Building it costs one counting pass per trace and one grouping pass
 * over all the digests; the sets of sharing.h cost four radix passes per
 * trace for the sort, and the exact estimator then groups the digests
 * anyway.
 *
 * Splitting: one pass over the trace keeps the digests to store, in
 * trace order, and counts them per bucket of their top bits; a second
 * pass over the kept digests writes each to its bucket's place (one read
 * of the trace, 4 or 8 bytes written twice per stored digest). A page
 * equal to the page before it is stored once, as mb_set_from_trace()
 * does: runs of zero pages and of never-written free pages are most of an
 * idle trace. When every page counts (free pages included, or none
 * marked) the first pass has no branch. A text trace read by
 * mb_parts_from_path() goes through the first pass batch by batch as the
 * parser hands its digests over, never held whole.
 *
 * Grouping: the digests of bucket b of every VM go into one
 * open-addressing table, each slot a digest and the mask of the VMs that
 * hold it (a repeat only sets a bit already set, so nothing needs to be
 * sorted or deduplicated). Buckets hold about a thousand digests of all
 * the VMs together (mb_parts_bits()), so the table stays in L1. Each
 * digest's mask then counts once into a small table of masks (an array
 * of 2^n counts for a few VMs, kept in DIRECT_LANES copies for fewer).
 * Workers take ranges of buckets, each with its own tables, merged at the
 * end.
 *
 * The matrix: common(a, b) sums count(M) over the masks holding both, a
 * pair loop per mask weighted by its count. When a mask spans many VMs
 * but few digests (nearly every digest its own mask: random data) the
 * pair loop would cost more than the bit columns of mb_sharing_exact(),
 * so such a mask becomes count(M) columns of a bit matrix instead
 * (pairwise.c), and the cost stays that of the exact estimator.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pairwise.h"
#include "profile.h"

#define BUCKET_DIGESTS	1024	/* per bucket of all VMs: the table fits L1 */
#define CHUNKS_PER_THREAD 8
/* How mb_sharing_exact() labels digests for at most 64 VMs (sharing.c). */
#define SPARSE_MAX	8
/* A column costs about this many pair updates (n <= 64: n/64 words). */
#define COLUMN_COST	32
/*
 * Up to this many VMs a chunk counts masks in an array of 2^n counts
 * (512 KiB at most) instead of a hash map: groups of many VMs with many
 * masks (random data) would otherwise miss the cache on every digest.
 */
#define DIRECT_MAX_VMS	16
/*
 * Up to this many VMs the direct counts are kept DIRECT_LANES times over,
 * digest i counting in copy i % DIRECT_LANES: runs of one mask (most
 * digests of a bucket are often one VM's own) then update different
 * words instead of waiting on the store before.
 */
#define DIRECT_LANES_MAX_VMS 10
#define DIRECT_LANES	4

unsigned int mb_parts_bits(uint64_t digests)
{
	unsigned int bits = 0;

	while (bits < MB_PARTS_MAX_BITS && (digests >> bits) > BUCKET_DIGESTS)
		bits++;
	return bits;
}

unsigned int mb_parts_bits_for_files(const char *const *paths, size_t n)
{
	uint64_t bytes = 0;
	struct stat st;
	size_t i;

	for (i = 0; i < n; i++)
		if (!stat(paths[i], &st))
			bytes += (uint64_t)st.st_size;
	return mb_parts_bits(bytes / 4);
}

void mb_profile_reuse_memory(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

/*
 * Map the whole pages of [@p, @p + @bytes) before they are written: one
 * madvise() instead of a page fault per page, and a fault traps out of a
 * virtual machine (here about 0.9 us a page by faults, 0.45 us by
 * MADV_POPULATE_WRITE). Pages already mapped stay as they are; a kernel
 * without it (before 5.14) refuses, and the pages fault in as before.
 */
static void prefault(void *p, size_t bytes)
{
	uintptr_t page = (uintptr_t)getpagesize();
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(page - 1);

	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

void mb_parts_free(struct mb_digest_parts *parts)
{
	free(parts->start);
	free(parts->d32);
	free(parts->d64);
	memset(parts, 0, sizeof(*parts));
}

/*
 * Is page @i counted, and is it to be stored (not the same digest as the
 * counted page before it)? The rule of mb_set_from_trace().
 */
static inline bool page_counted(const struct mbt_trace *t, bool include_free,
				uint64_t i)
{
	return include_free || !mbt_is_free(t, i);
}

static inline bool page_repeats(const struct mbt_trace *t, bool include_free,
				uint64_t i)
{
	return i && t->digests[i] == t->digests[i - 1] &&
	       page_counted(t, include_free, i - 1);
}

/* Does trace @t mark any page free? */
static bool any_free(const struct mbt_trace *t)
{
	uint64_t i, bytes = (t->info.page_count + 7) / 8;
	unsigned char seen = 0;

	for (i = 0; i < bytes; i++)
		seen |= t->free_bits[i];
	return seen != 0;
}

/*
 * Keep then place, for one digest width: the stored digests in trace order
 * into d (the rule of mb_set_from_trace() applied once), counted per
 * bucket, then copied to their buckets' places in a second array.
 *
 * keep_all_TYPE(): the @n digests at @dig, every one counted, appended to
 * @keys from *@kept on unless it repeats the one before (*@prev, the last
 * digest of the previous call), and counted into @cnt by bucket (key >>
 * @shift >> 1: in two steps so 0 bucket bits is defined).
 */
#define KEEP_ALL(type)							\
static inline void keep_all_##type(type *keys, uint64_t *kept,		\
				   uint64_t *cnt, unsigned int shift,	\
				   const uint64_t *dig, uint64_t n,	\
				   uint64_t *prev)			\
{									\
	uint64_t i, k = *kept, last = *prev;				\
									\
	for (i = 0; i < n; i++) {					\
		uint64_t d = dig[i], keep = d != last;			\
		type key = (type)d;					\
									\
		keys[k] = key;						\
		k += keep;						\
		cnt[key >> shift >> 1] += keep;				\
		last = d;						\
	}								\
	*kept = k;							\
	*prev = last;							\
}
KEEP_ALL(uint32_t)
KEEP_ALL(uint64_t)
#undef KEEP_ALL

/*
 * place_TYPE(): the @kept digests at @keys, counted by bucket in
 * parts->start + 1, into a new array in their buckets' order (parts->start
 * made the offsets); @keys is freed. Returns 0, or -1 when memory is short.
 */
#define PLACE(type, d, keybits)						\
static int place_##type(struct mb_digest_parts *parts, type *keys,	\
			uint64_t kept, uint64_t *next)			\
{									\
	unsigned int shift = keybits - parts->bits - 1;			\
	uint64_t i, nb = 1ULL << parts->bits;				\
	type *out = malloc((kept ? kept : 1) * sizeof(type));		\
									\
	if (!out)							\
		return -1;						\
	prefault(out, kept * sizeof(type));				\
	for (i = 0; i < nb; i++) {					\
		parts->start[i + 1] += parts->start[i];			\
		next[i] = parts->start[i];				\
	}								\
	for (i = 0; i < kept; i++) {					\
		type key = keys[i];					\
									\
		out[next[key >> shift >> 1]++] = key;			\
	}								\
	free(keys);							\
	parts->d = out;							\
	return 0;							\
}
PLACE(uint32_t, d32, 32)
PLACE(uint64_t, d64, 64)
#undef PLACE

#define SPLIT(type, d, keybits)						\
static int split_##type(struct mb_digest_parts *parts,			\
			const struct mbt_trace *t, bool include_free,	\
			uint64_t *next)					\
{									\
	uint64_t n = t->info.page_count, i, pages = 0, kept = 0;	\
	unsigned int shift = keybits - parts->bits - 1;			\
	uint64_t *cnt = parts->start + 1;				\
	type *keys = parts->d;						\
									\
	if (include_free || !any_free(t)) {				\
		/* Every page counts: stored unless it repeats the last. */ \
		uint64_t prev = n ? ~t->digests[0] : 0;			\
									\
		keep_all_##type(keys, &kept, cnt, shift, t->digests, n,	\
				&prev);					\
		pages = n;						\
	} else {							\
		for (i = 0; i < n; i++) {				\
			type key = (type)t->digests[i];			\
									\
			if (!page_counted(t, include_free, i))		\
				continue;				\
			pages++;					\
			if (page_repeats(t, include_free, i))		\
				continue;				\
			keys[kept++] = key;				\
			cnt[key >> shift >> 1]++;			\
		}							\
	}								\
	parts->pages = pages;						\
	if (place_##type(parts, keys, kept, next))			\
		return -1;						\
	return 0;							\
}
SPLIT(uint32_t, d32, 32)
SPLIT(uint64_t, d64, 64)
#undef SPLIT

int mb_parts_from_trace(struct mb_digest_parts *parts,
			struct mb_digest_set *meta, const struct mbt_trace *t,
			bool include_free, const char *name, unsigned int bits,
			struct mb_err *err)
{
	uint64_t n = t->info.page_count, *next;
	int width = mb_algo_digest_size(t->info.algorithm);

	memset(parts, 0, sizeof(*parts));
	memset(meta, 0, sizeof(*meta));
	if (!width)
		return mb_errf(err, "unknown digest algorithm %d",
			       t->info.algorithm);
	if (bits > MB_PARTS_MAX_BITS)
		return mb_errf(err, "%u bucket bits: at most %d", bits,
			       MB_PARTS_MAX_BITS);
	parts->width = width;
	parts->bits = bits;
	meta->algorithm = t->info.algorithm;
	meta->width = width;
	meta->key_id = t->info.key_id;
	meta->name = strdup(name ? name : t->info.vm_name);
	parts->start = calloc((1ULL << bits) + 1, sizeof(uint64_t));
	next = malloc((1ULL << bits) * sizeof(uint64_t));
	if (width == 4)
		parts->d32 = malloc((n ? n : 1) * sizeof(uint32_t));
	else
		parts->d64 = malloc((n ? n : 1) * sizeof(uint64_t));
	if (!meta->name || !parts->start || !next ||
	    (!parts->d32 && !parts->d64)) {
		free(next);
		mb_parts_free(parts);
		mb_set_free(meta);
		return mb_errf(err, "out of memory splitting %llu digests",
			       (unsigned long long)n);
	}
	if (width == 4 ? split_uint32_t(parts, t, include_free, next) :
			 split_uint64_t(parts, t, include_free, next)) {
		free(next);
		mb_parts_free(parts);
		mb_set_free(meta);
		return mb_errf(err, "out of memory splitting %llu digests",
			       (unsigned long long)n);
	}
	free(next);
	meta->pages = parts->pages;
	return 0;
}

/* A text trace split as its lines arrive (mb_parts_from_path()). */
struct text_split {
	struct mb_digest_parts *parts;
	uint32_t *keys;
	uint64_t kept, cap, prev;
	uint64_t mapped;		/* keys prefaulted, from 0 */
	bool started;
};

/* Keys prefaulted ahead of the split: 64 KiB at a time. */
#define SPLIT_PREFAULT	16384

static int text_split_sink(void *ctx, const uint64_t *d, size_t n,
			   struct mb_err *err)
{
	struct text_split *ts = ctx;

	if (ts->kept + n > ts->cap) {
		uint64_t cap = 2 * ts->cap > ts->kept + n ? 2 * ts->cap :
							    ts->kept + n;
		uint32_t *keys = realloc(ts->keys, cap * sizeof(uint32_t));

		if (!keys)
			return mb_errf(err, "out of memory splitting %llu "
				       "digests", (unsigned long long)cap);
		ts->keys = keys;
		ts->cap = cap;
		ts->mapped = 0;
	}
	if (ts->kept + n > ts->mapped) {
		uint64_t want = ts->kept + n + SPLIT_PREFAULT;

		want = want < ts->cap ? want : ts->cap;
		prefault(ts->keys + ts->mapped,
			 (want - ts->mapped) * sizeof(uint32_t));
		ts->mapped = want;
	}
	if (!ts->started)
		ts->prev = ~d[0];
	ts->started = true;
	keep_all_uint32_t(ts->keys, &ts->kept, ts->parts->start + 1,
			  32 - ts->parts->bits - 1, d, n, &ts->prev);
	return 0;
}

int mb_parts_from_path(struct mb_digest_parts *parts,
		       struct mb_digest_set *meta, const char *path,
		       bool include_free, unsigned int bits,
		       struct mb_err *err)
{
	struct text_split ts = { .parts = parts };
	struct mbt_trace t;
	uint64_t *next = NULL;
	struct stat st;
	int rc;

	memset(parts, 0, sizeof(*parts));
	memset(meta, 0, sizeof(*meta));
	if (bits > MB_PARTS_MAX_BITS)
		return mb_errf(err, "%s: %u bucket bits: at most %d", path,
			       bits, MB_PARTS_MAX_BITS);
	parts->bits = bits;
	/* At most a digest per 2 bytes of text (its size, when known). */
	ts.cap = !stat(path, &st) && S_ISREG(st.st_mode) ?
		 ((uint64_t)st.st_size + 1) / 2 : 65536;
	parts->start = calloc((1ULL << bits) + 1, sizeof(uint64_t));
	ts.keys = malloc((ts.cap ? ts.cap : 1) * sizeof(uint32_t));
	if (!parts->start || !ts.keys) {
		free(ts.keys);
		mb_parts_free(parts);
		return mb_errf(err, "%s: out of memory splitting its digests",
			       path);
	}
	if (mb_trace_load_sink(path, &t, text_split_sink, &ts, err)) {
		free(ts.keys);
		mb_parts_free(parts);
		return -1;
	}
	if (t.digests) {
		/* An .mbt trace: loaded whole. */
		free(ts.keys);
		mb_parts_free(parts);
		rc = mb_parts_from_trace(parts, meta, &t, include_free, NULL,
					 bits, err);
		mbt_trace_free(&t);
		if (rc)
			mb_err_prefix(err, "%s", path);
		return rc;
	}
	parts->width = mb_algo_digest_size(t.info.algorithm);
	parts->pages = t.info.page_count;
	meta->algorithm = t.info.algorithm;
	meta->width = parts->width;
	meta->key_id = t.info.key_id;
	meta->pages = parts->pages;
	meta->name = strdup(t.info.vm_name);
	next = malloc((1ULL << bits) * sizeof(uint64_t));
	mbt_trace_free(&t);
	if (!meta->name || !next || place_uint32_t(parts, ts.keys, ts.kept,
						   next)) {
		if (!parts->d32)
			free(ts.keys);
		free(next);
		mb_parts_free(parts);
		mb_set_free(meta);
		return mb_errf(err, "%s: out of memory splitting %llu digests",
			       path, (unsigned long long)ts.kept);
	}
	free(next);
	return 0;
}

/* ---- masks and their counts ---- */

/* Open addressing from a mask (never 0) to its count. */
struct mask_map {
	uint64_t *mask, *count;
	size_t cap, used;		/* cap: a power of 2, or 0 */
};

static void map_free(struct mask_map *m)
{
	free(m->mask);
	free(m->count);
	memset(m, 0, sizeof(*m));
}

static inline size_t map_slot(const struct mask_map *m, uint64_t mask)
{
	return (size_t)((mask * 0x9E3779B97F4A7C15ULL) >> 32) & (m->cap - 1);
}

static int map_add(struct mask_map *m, uint64_t mask, uint64_t count);

static int map_grow(struct mask_map *m)
{
	struct mask_map bigger = { 0 };
	size_t i;

	bigger.cap = m->cap ? 2 * m->cap : 256;
	bigger.mask = calloc(bigger.cap, sizeof(uint64_t));
	bigger.count = malloc(bigger.cap * sizeof(uint64_t));
	if (!bigger.mask || !bigger.count) {
		map_free(&bigger);
		return -1;
	}
	for (i = 0; i < m->cap; i++)
		if (m->mask[i])
			map_add(&bigger, m->mask[i], m->count[i]);
	map_free(m);
	*m = bigger;
	return 0;
}

static int map_add(struct mask_map *m, uint64_t mask, uint64_t count)
{
	size_t slot;

	if (2 * (m->used + 1) > m->cap && map_grow(m))
		return -1;
	slot = map_slot(m, mask);
	while (m->mask[slot] && m->mask[slot] != mask)
		slot = (slot + 1) & (m->cap - 1);
	if (!m->mask[slot]) {
		m->mask[slot] = mask;
		m->count[slot] = 0;
		m->used++;
	}
	m->count[slot] += count;
	return 0;
}

/* One more digest of @mask: found in place, or added by map_add(). */
static inline int map_inc(struct mask_map *m, uint64_t mask)
{
	size_t slot;

	if (!m->cap)
		return map_add(m, mask, 1);
	slot = map_slot(m, mask);
	while (m->mask[slot]) {
		if (m->mask[slot] == mask) {
			m->count[slot]++;
			return 0;
		}
		slot = (slot + 1) & (m->cap - 1);
	}
	return map_add(m, mask, 1);
}

/* ---- grouping ---- */

struct profile_job;

/* One range of buckets and what it found. */
struct profile_chunk {
	const struct profile_job *job;
	uint64_t b0, b1;
	struct mask_map masks;		/* more than DIRECT_MAX_VMS VMs */
	uint64_t *direct;		/* else: count by mask, lanes * 2^n */
	int failed;
};

struct profile_job {
	const struct mb_digest_parts *parts;
	size_t n;
	unsigned int bits;		/* the grouping's buckets */
	unsigned int lanes;		/* copies of the direct counts */
	struct profile_chunk *chunks;
};

/* The digests of VM @v in bucket @b of the grouping: [*lo, *hi). */
static inline void bucket_range(const struct profile_job *job, size_t v,
				uint64_t b, uint64_t *lo, uint64_t *hi)
{
	const struct mb_digest_parts *p = &job->parts[v];
	unsigned int finer = p->bits - job->bits;

	*lo = p->start[b << finer];
	*hi = p->start[(b + 1) << finer];
}

/* A grouping table of room for 2 * @need digests (at least 1,024 slots). */
struct group_table {
	void *key;
	uint64_t *mask;
	uint32_t *used;
	size_t cap;
};

static int table_reserve(struct group_table *t, size_t need, int width)
{
	size_t cap = 1024;

	while (cap < 2 * need)
		cap *= 2;
	if (cap <= t->cap)
		return 0;
	free(t->key);
	free(t->mask);
	free(t->used);
	t->key = malloc(cap * (size_t)width);
	t->mask = calloc(cap, sizeof(uint64_t));
	t->used = malloc(cap * sizeof(uint32_t));
	t->cap = cap;
	if (!t->key || !t->mask || !t->used) {
		t->cap = 0;
		return -1;
	}
	return 0;
}

static void table_free(struct group_table *t)
{
	free(t->key);
	free(t->mask);
	free(t->used);
	memset(t, 0, sizeof(*t));
}

#define GROUP_BUCKET(type, d)						\
static int group_##type(struct profile_chunk *c, struct group_table *t, \
			uint64_t b)					\
{									\
	const struct profile_job *job = c->job;				\
	uint64_t lo, hi, entries = 0, tmask;				\
	size_t v, i, nused = 0;						\
	type *tkey;							\
									\
	for (v = 0; v < job->n; v++) {					\
		bucket_range(job, v, b, &lo, &hi);			\
		entries += hi - lo;					\
	}								\
	if (!entries)							\
		return 0;						\
	if (table_reserve(t, entries, sizeof(type)))			\
		return -1;						\
	tkey = t->key;							\
	tmask = t->cap - 1;						\
	for (v = 0; v < job->n; v++) {					\
		const type *dig = job->parts[v].d;			\
		uint64_t bit = 1ULL << v;				\
									\
		bucket_range(job, v, b, &lo, &hi);			\
		for (i = lo; i < hi; i++) {				\
			type key = dig[i];				\
			size_t slot = (size_t)(((uint64_t)key *		\
				0x9E3779B97F4A7C15ULL) >> 32) & tmask;	\
									\
			while (t->mask[slot] && tkey[slot] != key)	\
				slot = (slot + 1) & tmask;		\
			if (!t->mask[slot]) {				\
				tkey[slot] = key;			\
				t->used[nused++] = (uint32_t)slot;	\
			}						\
			t->mask[slot] |= bit;				\
		}							\
	}								\
	if (c->direct) {						\
		size_t lane_mask = job->lanes - 1;			\
									\
		for (i = 0; i < nused; i++) {				\
			size_t slot = t->used[i];			\
									\
			c->direct[((i & lane_mask) << job->n) +		\
				  t->mask[slot]]++;			\
			t->mask[slot] = 0;				\
		}							\
		return 0;						\
	}								\
	for (i = 0; i < nused; i++) {					\
		size_t slot = t->used[i];				\
									\
		if (map_inc(&c->masks, t->mask[slot]))			\
			return -1;					\
		t->mask[slot] = 0;					\
	}								\
	return 0;							\
}
GROUP_BUCKET(uint32_t, d32)
GROUP_BUCKET(uint64_t, d64)
#undef GROUP_BUCKET

static void group_chunk(void *ctx, size_t i)
{
	struct profile_job *job = ctx;
	struct profile_chunk *c = &job->chunks[i];
	struct group_table t = { 0 };
	uint64_t b;

	for (b = c->b0; b < c->b1 && !c->failed; b++)
		if (job->parts[0].width == 4 ? group_uint32_t(c, &t, b) :
					       group_uint64_t(c, &t, b))
			c->failed = 1;
	table_free(&t);
}

static int mask_cmp(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* The merged masks, increasing, into @out. */
static int profile_collect(struct mb_profile *out, struct mask_map *all)
{
	uint64_t *pairs = malloc((all->used ? all->used : 1) * 2 *
				 sizeof(uint64_t));
	size_t i, k = 0;

	out->mask = malloc((all->used ? all->used : 1) * sizeof(uint64_t));
	out->count = malloc((all->used ? all->used : 1) * sizeof(uint64_t));
	if (!pairs || !out->mask || !out->count) {
		free(pairs);
		return -1;
	}
	for (i = 0; i < all->cap; i++)
		if (all->mask[i]) {
			pairs[2 * k] = all->mask[i];
			pairs[2 * k + 1] = all->count[i];
			k++;
		}
	qsort(pairs, k, 2 * sizeof(uint64_t), mask_cmp);
	for (i = 0; i < k; i++) {
		out->mask[i] = pairs[2 * i];
		out->count[i] = pairs[2 * i + 1];
	}
	out->nmasks = k;
	free(pairs);
	return 0;
}

/* The masks of the 2^n direct counts @cnt (out->n set), increasing. */
static int profile_from_counts(struct mb_profile *out, const uint64_t *cnt)
{
	size_t full = (size_t)1 << out->n, s, k = 0;

	for (s = 1; s < full; s++)
		k += cnt[s] != 0;
	out->mask = malloc((k ? k : 1) * sizeof(uint64_t));
	out->count = malloc((k ? k : 1) * sizeof(uint64_t));
	if (!out->mask || !out->count)
		return -1;
	for (s = 1, k = 0; s < full; s++)
		if (cnt[s]) {
			out->mask[k] = s;
			out->count[k++] = cnt[s];
		}
	out->nmasks = k;
	return 0;
}

void mb_profile_free(struct mb_profile *p)
{
	free(p->mask);
	free(p->count);
	memset(p, 0, sizeof(*p));
}

int mb_profile_build(struct mb_profile *out,
		     const struct mb_digest_parts *parts, size_t n,
		     unsigned int threads, struct mb_err *err)
{
	struct profile_job job = { .parts = parts, .n = n };
	struct mask_map all = { 0 };
	uint64_t entries = 0, nbuckets, nchunks, per, i;
	unsigned int bits = MB_PARTS_MAX_BITS;
	bool direct = n <= DIRECT_MAX_VMS;
	size_t v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > MB_PROFILE_MAX_VMS)
		return mb_errf(err, "a profile is of 1 to %d VMs, not %zu",
			       MB_PROFILE_MAX_VMS, n);
	for (v = 0; v < n; v++) {
		if (parts[v].width != parts[0].width)
			return mb_errf(err, "VMs %zu and 0 have digests of %d "
				       "and %d bytes", v, parts[v].width,
				       parts[0].width);
		if (parts[v].bits < bits)
			bits = parts[v].bits;
		entries += parts[v].start[(size_t)1 << parts[v].bits];
	}
	/* Coarser than the split when the digests are fewer than guessed. */
	if (mb_parts_bits(entries) < bits)
		bits = mb_parts_bits(entries);
	job.bits = bits;
	job.lanes = n <= DIRECT_LANES_MAX_VMS ? DIRECT_LANES : 1;
	nbuckets = 1ULL << bits;
	threads = mb_thread_count(threads);
	if (entries < (1u << 17))
		threads = 1;	/* a millisecond or less: not worth a thread */
	/* Direct counts of many VMs are large: fewer chunks to merge. */
	nchunks = (uint64_t)threads * (direct && n > 12 ? 2 : CHUNKS_PER_THREAD);
	if (nchunks > nbuckets)
		nchunks = nbuckets;
	job.chunks = calloc(nchunks, sizeof(*job.chunks));
	if (!job.chunks)
		goto oom;
	per = (nbuckets + nchunks - 1) / nchunks;
	for (i = 0; i < nchunks; i++) {
		job.chunks[i].job = &job;
		job.chunks[i].b0 = i * per;
		job.chunks[i].b1 = (i + 1) * per < nbuckets ? (i + 1) * per :
							       nbuckets;
		if (direct && !(job.chunks[i].direct =
				calloc((size_t)job.lanes << n,
				       sizeof(uint64_t))))
			goto oom;
	}
	mb_parallel_for(nchunks, threads, group_chunk, &job);
	for (i = 0; i < nchunks; i++) {
		struct mask_map *m = &job.chunks[i].masks;
		size_t s;

		if (job.chunks[i].failed)
			goto oom;
		for (s = 0; direct && s < (size_t)job.lanes << n; s++)
			if (i || s >> n)
				job.chunks[0].direct[s & (((size_t)1 << n) -
							  1)] +=
					job.chunks[i].direct[s];
		for (s = 0; s < m->cap; s++)
			if (m->mask[s] && map_add(&all, m->mask[s], m->count[s]))
				goto oom;
	}
	out->n = n;
	if (direct ? profile_from_counts(out, job.chunks[0].direct) :
		     profile_collect(out, &all))
		goto oom;
	rc = 0;
	goto done;
oom:
	mb_profile_free(out);
	mb_errf(err, "out of memory grouping the digests of %zu VMs", n);
done:
	for (i = 0; job.chunks && i < nchunks; i++) {
		map_free(&job.chunks[i].masks);
		free(job.chunks[i].direct);
	}
	free(job.chunks);
	map_free(&all);
	return rc;
}

/* ---- questions ---- */

uint64_t mb_profile_common(const struct mb_profile *p, uint64_t vms)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < p->nmasks; i++)
		sum += (p->mask[i] & vms) == vms ? p->count[i] : 0;
	return sum;
}

uint64_t mb_profile_distinct(const struct mb_profile *p, uint64_t group)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < p->nmasks; i++)
		sum += p->mask[i] & group ? p->count[i] : 0;
	return sum;
}

uint64_t mb_profile_shared(const struct mb_profile *p, size_t v,
			   uint64_t group)
{
	uint64_t bit = 1ULL << v, sum = 0;
	size_t i;

	for (i = 0; i < p->nmasks; i++)
		sum += (p->mask[i] & bit) && (p->mask[i] & group) ?
		       p->count[i] : 0;
	return sum;
}

void mb_profile_set_distinct(const struct mb_profile *p,
			     struct mb_digest_set *sets)
{
	size_t v;

	for (v = 0; v < p->n; v++)
		sets[v].distinct = mb_profile_common(p, 1ULL << v);
}

/* ---- the all-pairs matrix ---- */

static inline bool as_columns(uint64_t count, unsigned int vms)
{
	return vms > SPARSE_MAX &&
	       count * COLUMN_COST < (uint64_t)vms * (vms - 1) / 2;
}

int mb_profile_matrix(const struct mb_profile *p, uint64_t group_pages,
		      const struct mb_sharing_opts *opts,
		      struct mb_sharing_matrix *out, struct mb_err *err)
{
	size_t n = p->n, a, b, i, words, col = 0;
	uint64_t columns = 0, *rows = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->group_pages = group_pages;
	out->common = calloc(n * n + 1, sizeof(uint64_t));
	if (!out->common)
		goto oom;
	for (i = 0; i < p->nmasks; i++) {
		unsigned int c = (unsigned int)__builtin_popcountll(p->mask[i]);

		if (c > 1 && as_columns(p->count[i], c))
			columns += p->count[i];
	}
	words = (size_t)((columns + 63) / 64);
	if (words && !(rows = calloc(n * words, sizeof(uint64_t))))
		goto oom;
	for (i = 0; i < p->nmasks; i++) {
		uint64_t m = p->mask[i], cnt = p->count[i], rest, k;
		unsigned int c = (unsigned int)__builtin_popcountll(m);

		out->group_distinct += cnt;
		if (c == 1)
			out->digests_single += cnt;
		else if (c == n)
			out->digests_all += cnt;
		else if (c <= SPARSE_MAX)
			out->digests_sparse += cnt;
		else
			out->digests_dense += cnt;
		if (c > 1 && as_columns(cnt, c)) {
			for (k = 0; k < cnt; k++, col++)
				for (rest = m; rest; rest &= rest - 1)
					rows[(size_t)__builtin_ctzll(rest) *
					     words + col / 64] |=
						1ULL << (col % 64);
			continue;
		}
		for (rest = m; rest; rest &= rest - 1) {
			size_t x = (size_t)__builtin_ctzll(rest);
			uint64_t more;

			for (more = rest & (rest - 1); more; more &= more - 1)
				out->common[x * n +
					    (size_t)__builtin_ctzll(more)] += cnt;
		}
	}
	if (words && mb_pairwise_and_count(rows, n, words, out->common, opts,
					   0, 1, err))
		goto fail;
	for (a = 0; a < n; a++) {
		for (b = a + 1; b < n; b++)
			out->common[b * n + a] = out->common[a * n + b];
		out->common[a * n + a] = mb_profile_common(p, 1ULL << a);
	}
	rc = 0;
	goto done;
oom:
	mb_errf(err, "out of memory computing sharing of %zu VMs", n);
fail:
	mb_sharing_matrix_free(out);
done:
	free(rows);
	return rc;
}
