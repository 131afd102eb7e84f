// SPDX-License-Identifier: GPL-2.0
/*
 * sharing.c - digest sets and the exact all-pairs sharing estimator.
 *
 * A VM's set D(v) is its page digests radix-sorted and deduplicated, in
 * 32-bit words for 32-bit digests (half the memory of 64-bit ones).
 *
 * Exact all-pairs common(a, b): the naive way, one sorted merge per pair,
 * reads every set n times: 1,000 VMs of 262,144 pages is 500,000 merges of
 * half a million words, far too slow. Instead each digest is visited once
 * and asked which VMs hold it, and its contribution depends on how many do
 * (c):
 *
 *   c = 1        no pair; only counted into the group's distinct pages.
 *   c = n        in every VM (zero page, kernel text): one counter that is
 *                added to every pair at the end.
 *   c small      "sparse": the c(c-1)/2 pairs are incremented one by one
 *                into a per-thread triangular matrix.
 *   c large      "dense": the digest becomes one column of an n-row bit
 *                matrix (bit v set when VM v holds it). common() over all
 *                dense digests is then popcount(row[a] & row[b]), a boolean
 *                matrix product done 64 columns per word (pairwise.c).
 *
 * Incrementing pairs one by one costs c^2/2 random writes per digest, so a
 * digest in 900 of 1,000 VMs (the common case: shared kernels and
 * libraries) would cost 400,000 writes; as a bit column it costs n/64 word
 * operations per row pair, amortised over 64 digests. The split point is
 * c > max(SPARSE_MIN, n / SPARSE_DIV); docs/sharing.md has the
 * measurements behind it (break-even near c = 50 for 1,000 VMs).
 *
 * Finding the VM list of each digest: the digest space is split into 2^B
 * buckets by the top bits (digests are hashes, so buckets are even). Each
 * VM's sorted set splits into one contiguous run per bucket, so a worker
 * walks all n sets with one cursor each, gathers the bucket's (digest, vm)
 * entries - about BUCKET_TARGET of them, so everything stays in L2 - and
 * groups them with a small open-addressing table. Workers take ranges of
 * buckets from an atomic counter; each has its own sparse matrix and its
 * own bit-matrix blocks, merged after the join. Memory beyond the sets:
 * per thread n^2 * 8 bytes of sparse counts, and n/8 bytes per dense
 * digest.
 */
#include <pthread.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pairwise.h"
#include "sharing.h"

#define SPARSE_MIN	8
#define SPARSE_DIV	32
#define BUCKET_TARGET	16384
#define BUCKET_TARGET_MASKS 1024	/* n <= 64: the table stays in L1 */
#define MAX_BUCKET_BITS	24
#define MAX_CHUNKS	512

/* ---- sets ---- */


/*
 * LSD radix sort of 32-bit words in four passes of 8 bits, with all four
 * histograms counted in one read and the passes going back and forth
 * between @a and @tmp (no copy per pass); a pass whose byte is the same in
 * every word is skipped. (Three passes of 11 bits measured slower on these
 * sets: 2,048 buckets scatter writes over too many lines at once.)
 */
static void radix_sort32(uint32_t *a, uint32_t *tmp, size_t n)
{
	size_t count[4][256] = { { 0 } };
	uint32_t *src = a, *dst = tmp, *t;
	size_t i, pass;

	for (i = 0; i < n; i++) {
		uint32_t x = a[i];

		count[0][x & 0xff]++;
		count[1][(x >> 8) & 0xff]++;
		count[2][(x >> 16) & 0xff]++;
		count[3][x >> 24]++;
	}
	for (pass = 0; pass < 4; pass++) {
		size_t *c = count[pass], sum = 0;
		unsigned int sh = 8 * (unsigned int)pass;

		if (n && c[(a[0] >> sh) & 0xff] == n)
			continue;	/* every word has this byte */
		for (i = 0; i < 256; i++) {
			size_t k = c[i];

			c[i] = sum;
			sum += k;
		}
		for (i = 0; i < n; i++)
			dst[c[(src[i] >> sh) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static void radix_sort64(uint64_t *a, uint64_t *tmp, size_t n)
{
	size_t count[256], i, pass;

	for (pass = 0; pass < 8; pass++) {
		unsigned int shift = pass * 8;
		size_t sum = 0;

		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(a[i] >> shift) & 0xff]++;
		if (n && count[(a[0] >> shift) & 0xff] == n)
			continue;
		for (i = 0; i < 256; i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
}

void mb_set_free(struct mb_digest_set *s)
{
	free(s->name);
	free(s->d32);
	free(s->d64);
	memset(s, 0, sizeof(*s));
}

static int set_begin(struct mb_digest_set *s, int algo, const char *name,
		     uint64_t n, struct mb_err *err)
{
	memset(s, 0, sizeof(*s));
	s->algorithm = algo;
	s->width = mb_algo_digest_size(algo);
	if (!s->width)
		return mb_errf(err, "unknown digest algorithm %d", algo);
	s->name = strdup(name ? name : "");
	if (s->width == 4)
		s->d32 = malloc((n ? n : 1) * sizeof(uint32_t));
	else
		s->d64 = malloc((n ? n : 1) * sizeof(uint64_t));
	if (!s->name || (!s->d32 && !s->d64)) {
		mb_set_free(s);
		return mb_errf(err, "out of memory for a set of %llu digests",
			       (unsigned long long)n);
	}
	return 0;
}

/* Sort and deduplicate the @n digests already stored (of s->pages). */
static int set_finish(struct mb_digest_set *s, uint64_t n, struct mb_err *err)
{
	uint64_t i, out = 0;
	void *tmp;

	tmp = malloc((n ? n : 1) * (size_t)s->width);
	if (!tmp) {
		mb_set_free(s);
		return mb_errf(err, "out of memory sorting %llu digests",
			       (unsigned long long)n);
	}
	if (s->width == 4) {
		radix_sort32(s->d32, tmp, n);
		for (i = 0; i < n; i++)
			if (!out || s->d32[out - 1] != s->d32[i])
				s->d32[out++] = s->d32[i];
	} else {
		radix_sort64(s->d64, tmp, n);
		for (i = 0; i < n; i++)
			if (!out || s->d64[out - 1] != s->d64[i])
				s->d64[out++] = s->d64[i];
	}
	free(tmp);
	s->distinct = out;
	return 0;
}

int mb_set_from_digests(struct mb_digest_set *s, const uint64_t *digests,
			uint64_t n, int algo, const char *name,
			struct mb_err *err)
{
	uint64_t i;

	if (set_begin(s, algo, name, n, err))
		return -1;
	if (s->width == 4)
		for (i = 0; i < n; i++)
			s->d32[i] = (uint32_t)digests[i];
	else if (n)
		memcpy(s->d64, digests, n * sizeof(uint64_t));
	s->pages = n;
	return set_finish(s, n, err);
}

int mb_set_from_trace(struct mb_digest_set *s, const struct mbt_trace *t,
		      bool include_free, const char *name, struct mb_err *err)
{
	uint64_t n = t->info.page_count, i, k = 0, pages = 0;

	if (set_begin(s, t->info.algorithm, name ? name : t->info.vm_name,
		      n, err))
		return -1;
	s->key_id = t->info.key_id;
	/*
	 * A page equal to the one before it (runs of zero pages, of free
	 * pages never written) is counted but not stored twice: only the
	 * distinct digests matter, and idle traces sort a tenth as much.
	 */
	for (i = 0; i < n; i++) {
		if (!include_free && mbt_is_free(t, i))
			continue;
		pages++;
		if (k && t->digests[i] == t->digests[i - 1] &&
		    (include_free || !mbt_is_free(t, i - 1)))
			continue;
		if (s->width == 4)
			s->d32[k++] = (uint32_t)t->digests[i];
		else
			s->d64[k++] = t->digests[i];
	}
	s->pages = pages;
	return set_finish(s, k, err);
}

int mb_set_comparable(const struct mb_digest_set *a,
		      const struct mb_digest_set *b, struct mb_err *err)
{
	if (a->algorithm != b->algorithm || a->width != b->width)
		return mb_errf(err, "%s has %s digests but %s has %s digests; "
			       "traces of different algorithms cannot be "
			       "compared", a->name, mb_algo_name(a->algorithm),
			       b->name, mb_algo_name(b->algorithm));
	if (a->key_id == b->key_id)
		return 0;
	if (!a->key_id || !b->key_id)
		return mb_errf(err, "%s has keyed digests but %s has plain "
			       "ones; keyed and plain digests cannot be "
			       "compared", a->key_id ? a->name : b->name,
			       a->key_id ? b->name : a->name);
	return mb_errf(err, "%s is keyed with key %08x but %s with key %08x; "
		       "digests under different keys cannot be compared",
		       a->name, a->key_id, b->name, b->key_id);
}

/*
 * |A ∩ B| of two sorted arrays without duplicates, by a merge whose steps
 * are branch-free (the comparisons of hashes are unpredictable).
 */
#define COMMON_SORTED(type)						\
static uint64_t common_##type(const type *a, uint64_t na, const type *b, \
			      uint64_t nb)				\
{									\
	uint64_t i = 0, j = 0, c = 0;					\
									\
	while (i < na && j < nb) {					\
		type x = a[i], y = b[j];				\
									\
		c += x == y;						\
		i += x <= y;						\
		j += y <= x;						\
	}								\
	return c;							\
}
COMMON_SORTED(uint32_t)
COMMON_SORTED(uint64_t)

uint64_t mb_set_common(const struct mb_digest_set *a,
		       const struct mb_digest_set *b)
{
	if (a->width == 4 && b->width == 4)
		return common_uint32_t(a->d32, a->distinct, b->d32,
				       b->distinct);
	if (a->width == 8 && b->width == 8)
		return common_uint64_t(a->d64, a->distinct, b->d64,
				       b->distinct);
	return 0;
}

int mb_set_union(struct mb_digest_set *out, const struct mb_digest_set *a,
		 const struct mb_digest_set *b, struct mb_err *err)
{
	uint64_t i = 0, j = 0, k = 0, n = a->distinct + b->distinct;

	if (mb_set_comparable(a, b, err))
		return -1;
	if (set_begin(out, a->algorithm, NULL, n, err))
		return -1;
	out->key_id = a->key_id;
#define MERGE(d)							\
	do {								\
		while (i < a->distinct && j < b->distinct) {		\
			if (a->d[i] < b->d[j]) {			\
				out->d[k++] = a->d[i++];		\
			} else if (b->d[j] < a->d[i]) {		\
				out->d[k++] = b->d[j++];		\
			} else {					\
				out->d[k++] = a->d[i++];		\
				j++;					\
			}						\
		}							\
		while (i < a->distinct)					\
			out->d[k++] = a->d[i++];			\
		while (j < b->distinct)					\
			out->d[k++] = b->d[j++];			\
	} while (0)
	if (out->width == 4)
		MERGE(d32);
	else
		MERGE(d64);
#undef MERGE
	out->pages = a->pages + b->pages;
	out->distinct = k;
	return 0;
}

/* A k-way merge with a binary min-heap of (current key, set). */
struct heap_item {
	uint64_t key;
	size_t set;
};

static void heap_down(struct heap_item *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct heap_item t;

		if (l < n && h[l].key < h[m].key)
			m = l;
		if (r < n && h[r].key < h[m].key)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* distinct(G) by a k-way merge: the fallback when memory is short. */
static uint64_t group_distinct_merge(const struct mb_digest_set *const *sets,
				     size_t n)
{
	struct heap_item *heap;
	uint64_t *pos, count = 0, last = 0;
	size_t hn = 0, i;
	bool any = false;

	if (n == 1)
		return sets[0]->distinct;
	heap = calloc(n ? n : 1, sizeof(*heap));
	pos = calloc(n ? n : 1, sizeof(*pos));
	if (!heap || !pos) {
		free(heap);
		free(pos);
		return UINT64_MAX;
	}
	for (i = 0; i < n; i++)
		if (sets[i]->distinct)
			heap[hn++] = (struct heap_item){ mb_set_key(sets[i], 0), i };
	for (i = hn; i-- > 0;)
		heap_down(heap, hn, i);
	while (hn) {
		struct heap_item *top = &heap[0];
		const struct mb_digest_set *s = sets[top->set];

		if (!any || top->key != last) {
			count++;
			last = top->key;
			any = true;
		}
		if (++pos[top->set] < s->distinct)
			top->key = mb_set_key(s, pos[top->set]);
		else
			heap[0] = heap[--hn];
		heap_down(heap, hn, 0);
	}
	free(heap);
	free(pos);
	return count;
}

/*
 * distinct(G): two sets by one intersection; more by sorting all their
 * digests together (radix, linear in the total) and counting the runs,
 * which beats a k-way merge several times over (a heap step per digest
 * with unpredictable branches).
 */
uint64_t mb_group_distinct(const struct mb_digest_set *const *sets, size_t n)
{
	uint64_t total = 0, count = 0, i, k = 0;
	size_t v, width;
	void *buf;

	if (n == 0)
		return 0;
	if (n == 1)
		return sets[0]->distinct;
	if (n == 2)
		return sets[0]->distinct + sets[1]->distinct -
		       mb_set_common(sets[0], sets[1]);
	width = sets[0]->width;
	for (v = 0; v < n; v++)
		total += sets[v]->distinct;
	buf = malloc((total ? total : 1) * width * 2);
	if (!buf)
		return group_distinct_merge(sets, n);
	if (width == 4) {
		uint32_t *a = buf, *tmp = a + total;

		for (v = 0; v < n; v++) {
			memcpy(a + k, sets[v]->d32, sets[v]->distinct * 4);
			k += sets[v]->distinct;
		}
		radix_sort32(a, tmp, total);
		for (i = 0; i < total; i++)
			count += !i || a[i] != a[i - 1];
	} else {
		uint64_t *a = buf, *tmp = a + total;

		for (v = 0; v < n; v++) {
			memcpy(a + k, sets[v]->d64, sets[v]->distinct * 8);
			k += sets[v]->distinct;
		}
		radix_sort64(a, tmp, total);
		for (i = 0; i < total; i++)
			count += !i || a[i] != a[i - 1];
	}
	free(buf);
	return count;
}

double mb_false_matches(uint64_t na, uint64_t nb, int width)
{
	return (double)na * (double)nb / ldexp(1.0, width * 8);
}

double mb_false_matches_within(uint64_t n, int width)
{
	return (double)n * ((double)n - 1) / 2 / ldexp(1.0, width * 8);
}

/* ---- exact all pairs ---- */

struct exact_job;

struct exact_worker {
	struct exact_job *job;
	uint64_t *cursor;		/* per set: next index */
	/* one bucket's entries */
	uint64_t *ekey;
	uint32_t *evm, *enext;
	size_t ecap, en;
	/* grouping table */
	uint64_t *tkey;
	uint32_t *thead, *tcount, *used;
	uint64_t *tmask;		/* n <= 64: the VMs holding the key */
	size_t tcap;
	uint32_t *list;			/* one digest's VMs */
	/* results */
	uint64_t *tri;			/* sparse pair counts, [a * n + b], a < b */
	uint64_t *blocks;		/* dense columns, 64 per block of n words */
	size_t nblocks, cap_blocks;
	unsigned int col;		/* columns in the current block */
	uint64_t single, sparse, dense, all, distinct;
	int failed;
};

struct exact_job {
	const struct mb_digest_set *sets;
	size_t n;
	unsigned int keybits, bucket_bits;
	uint64_t nbuckets, chunk_buckets, nchunks;
	uint32_t sparse_max;
	atomic_uint_fast64_t next_chunk;
	const struct mb_sharing_opts *opts;
	pthread_mutex_t lock;
	uint64_t chunks_done;
};

static inline uint64_t bucket_of(const struct exact_job *job, uint64_t key)
{
	if (!job->bucket_bits)
		return 0;
	return key >> (job->keybits - job->bucket_bits);
}

/* First index of @s whose bucket is >= @b. */
static uint64_t lower_bound_bucket(const struct exact_job *job,
				   const struct mb_digest_set *s, uint64_t b)
{
	uint64_t lo = 0, hi = s->distinct;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (bucket_of(job, mb_set_key(s, mid)) < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int grow_entries(struct exact_worker *w, size_t need)
{
	size_t cap = w->ecap ? w->ecap : 4096;
	void *k, *v, *nx;

	while (cap < need)
		cap *= 2;
	k = realloc(w->ekey, cap * sizeof(*w->ekey));
	if (k)
		w->ekey = k;
	v = realloc(w->evm, cap * sizeof(*w->evm));
	if (v)
		w->evm = v;
	nx = realloc(w->enext, cap * sizeof(*w->enext));
	if (nx)
		w->enext = nx;
	if (!k || !v || !nx)
		return -1;
	w->ecap = cap;
	return 0;
}

static int grow_table(struct exact_worker *w, size_t need)
{
	size_t cap = 1024;

	while (cap < 2 * need)
		cap *= 2;
	if (cap <= w->tcap)
		return 0;
	free(w->tkey);
	free(w->thead);
	free(w->tcount);
	free(w->used);
	free(w->tmask);
	w->tkey = malloc(cap * sizeof(*w->tkey));
	w->thead = malloc(cap * sizeof(*w->thead));
	w->tcount = calloc(cap, sizeof(*w->tcount));
	w->used = malloc(cap * sizeof(*w->used));
	w->tmask = calloc(cap, sizeof(*w->tmask));
	w->tcap = cap;
	if (!w->tkey || !w->thead || !w->tcount || !w->used || !w->tmask) {
		w->tcap = 0;
		return -1;
	}
	return 0;
}

/* The open block: the one after the w->nblocks complete ones. */
static uint64_t *open_block(struct exact_worker *w)
{
	size_t n = w->job->n;

	if (w->nblocks == w->cap_blocks) {
		size_t cap = w->cap_blocks ? 2 * w->cap_blocks : 16;
		uint64_t *nb = realloc(w->blocks, cap * n * sizeof(uint64_t));

		if (!nb)
			return NULL;
		w->blocks = nb;
		w->cap_blocks = cap;
	}
	return w->blocks + w->nblocks * n;
}

/*
 * A dense digest's column: the bit to set in the returned block's row of
 * each VM holding it (NULL when out of memory); dense_done() after.
 */
static uint64_t *dense_column(struct exact_worker *w, uint64_t *bit)
{
	uint64_t *blk = open_block(w);

	w->dense++;
	if (!blk)
		return NULL;
	if (w->col == 0)
		memset(blk, 0, w->job->n * sizeof(uint64_t));
	*bit = 1ULL << w->col;
	return blk;
}

static void dense_done(struct exact_worker *w)
{
	if (++w->col == 64) {
		w->nblocks++;
		w->col = 0;
	}
}

static int add_digest(struct exact_worker *w, uint32_t count, uint32_t head)
{
	const struct exact_job *job = w->job;
	size_t n = job->n, i, j, c = 0;
	uint32_t e;

	w->distinct++;
	if (count == 1) {
		w->single++;
		return 0;
	}
	if (count == n) {
		w->all++;
		return 0;
	}
	if (count <= job->sparse_max) {
		w->sparse++;
		for (e = head; e != UINT32_MAX; e = w->enext[e])
			w->list[c++] = w->evm[e];
		/* The list runs from the highest VM number down. */
		for (i = 0; i < c; i++)
			for (j = i + 1; j < c; j++)
				w->tri[(size_t)w->list[j] * n + w->list[i]]++;
		return 0;
	}
	{
		uint64_t bit, *blk = dense_column(w, &bit);

		if (!blk)
			return -1;
		for (e = head; e != UINT32_MAX; e = w->enext[e])
			blk[w->evm[e]] |= bit;
		dense_done(w);
	}
	return 0;
}

/*
 * add_digest() for a digest held by the VMs of @vms (n <= 64): the same
 * counts, the VMs read from the mask's bits instead of a list.
 */
static int add_digest_mask(struct exact_worker *w, uint64_t vms)
{
	const struct exact_job *job = w->job;
	size_t n = job->n;
	uint64_t rest, m, count = vms;

	/* popcount without the CPU's instruction (the build is generic) */
	count -= (count >> 1) & 0x5555555555555555ULL;
	count = (count & 0x3333333333333333ULL) +
		((count >> 2) & 0x3333333333333333ULL);
	count = (((count + (count >> 4)) & 0x0F0F0F0F0F0F0F0FULL) *
		 0x0101010101010101ULL) >> 56;

	w->distinct++;
	if (count == 1) {
		w->single++;
		return 0;
	}
	if (count == n) {
		w->all++;
		return 0;
	}
	if (count <= job->sparse_max) {
		w->sparse++;
		for (rest = vms; rest; rest &= rest - 1) {
			size_t a = (size_t)__builtin_ctzll(rest);

			for (m = rest & (rest - 1); m; m &= m - 1)
				w->tri[a * n + (size_t)__builtin_ctzll(m)]++;
		}
		return 0;
	}
	{
		uint64_t bit, *blk = dense_column(w, &bit);

		if (!blk)
			return -1;
		for (m = vms; m; m &= m - 1)
			blk[__builtin_ctzll(m)] |= bit;
		dense_done(w);
	}
	return 0;
}

/*
 * One bucket for at most 64 VMs: each digest's VMs as a bit mask in the
 * grouping table, straight from the sets' runs (no entry arrays, no
 * lists). The runs are measured first to size the table.
 */
#define BUCKET_KEYS(type, d)						\
static int run_bucket_##type(struct exact_worker *w, uint64_t b)		\
{									\
	const struct exact_job *job = w->job;				\
	unsigned int shift = job->keybits - job->bucket_bits;		\
	size_t v, i, nused = 0, entries = 0;				\
	uint64_t mask, end[64];						\
									\
	for (v = 0; v < job->n; v++) {					\
		const struct mb_digest_set *s = &job->sets[v];		\
		uint64_t k = w->cursor[v];				\
									\
		while (k < s->distinct && (!job->bucket_bits ||		\
		       (uint64_t)s->d[k] >> shift == b))		\
			k++;						\
		end[v] = k;						\
		entries += k - w->cursor[v];				\
	}								\
	if (!entries)							\
		return 0;						\
	if (grow_table(w, entries))					\
		return -1;						\
	mask = w->tcap - 1;						\
	for (v = 0; v < job->n; v++) {					\
		const type *d = job->sets[v].d;				\
		uint64_t bit = 1ULL << v;				\
									\
		for (i = w->cursor[v]; i < end[v]; i++) {		\
			type key = d[i];				\
			size_t slot = (size_t)(((uint64_t)key *		\
				0x9E3779B97F4A7C15ULL) >> 32) & mask;	\
									\
			while (w->tmask[slot] && w->tkey[slot] != key)	\
				slot = (slot + 1) & mask;		\
			if (!w->tmask[slot]) {				\
				w->tkey[slot] = key;			\
				w->used[nused++] = (uint32_t)slot;	\
			}						\
			w->tmask[slot] |= bit;				\
		}							\
		w->cursor[v] = end[v];					\
	}								\
	for (i = 0; i < nused; i++) {					\
		size_t slot = w->used[i];				\
									\
		if (add_digest_mask(w, w->tmask[slot]))			\
			return -1;					\
		w->tmask[slot] = 0;					\
	}								\
	return 0;							\
}
BUCKET_KEYS(uint32_t, d32)
BUCKET_KEYS(uint64_t, d64)
#undef BUCKET_KEYS

static int run_bucket(struct exact_worker *w, uint64_t b)
{
	const struct exact_job *job = w->job;
	size_t v, i, nused = 0;
	uint64_t mask;

	if (job->n <= 64)
		return job->sets[0].width == 4 ? run_bucket_uint32_t(w, b) :
						 run_bucket_uint64_t(w, b);

	w->en = 0;
	for (v = 0; v < job->n; v++) {
		const struct mb_digest_set *s = &job->sets[v];
		uint64_t k = w->cursor[v];

		while (k < s->distinct) {
			uint64_t key = mb_set_key(s, k);

			if (bucket_of(job, key) != b)
				break;
			if (w->en == w->ecap && grow_entries(w, w->en + 1))
				return -1;
			w->ekey[w->en] = key;
			w->evm[w->en] = (uint32_t)v;
			w->en++;
			k++;
		}
		w->cursor[v] = k;
	}
	if (!w->en)
		return 0;
	if (grow_table(w, w->en))
		return -1;
	mask = w->tcap - 1;
	for (i = 0; i < w->en; i++) {
		uint64_t key = w->ekey[i];
		size_t slot = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;

		while (w->tcount[slot] && w->tkey[slot] != key)
			slot = (slot + 1) & mask;
		if (!w->tcount[slot]) {
			w->tkey[slot] = key;
			w->thead[slot] = UINT32_MAX;
			w->used[nused++] = (uint32_t)slot;
		}
		w->enext[i] = w->thead[slot];
		w->thead[slot] = (uint32_t)i;
		w->tcount[slot]++;
	}
	for (i = 0; i < nused; i++) {
		size_t slot = w->used[i];

		if (add_digest(w, w->tcount[slot], w->thead[slot]))
			return -1;
		w->tcount[slot] = 0;
	}
	return 0;
}

static void *exact_worker_run(void *arg)
{
	struct exact_worker *w = arg;
	struct exact_job *job = w->job;
	size_t v;

	for (;;) {
		uint64_t chunk = atomic_fetch_add(&job->next_chunk, 1);
		uint64_t b0 = chunk * job->chunk_buckets, b;

		if (chunk >= job->nchunks || w->failed)
			break;
		for (v = 0; v < job->n; v++)
			w->cursor[v] = lower_bound_bucket(job, &job->sets[v], b0);
		for (b = b0; b < b0 + job->chunk_buckets && b < job->nbuckets; b++)
			if (run_bucket(w, b)) {
				w->failed = 1;
				break;
			}
		if (job->opts && job->opts->progress) {
			pthread_mutex_lock(&job->lock);
			job->chunks_done++;
			job->opts->progress(job->opts->progress_ctx, 0.6 *
					    (double)job->chunks_done /
					    (double)job->nchunks);
			pthread_mutex_unlock(&job->lock);
		}
	}
	return NULL;
}

static void worker_release(struct exact_worker *w)
{
	free(w->cursor);
	free(w->ekey);
	free(w->evm);
	free(w->enext);
	free(w->tkey);
	free(w->thead);
	free(w->tcount);
	free(w->used);
	free(w->tmask);
	free(w->list);
	free(w->tri);
	free(w->blocks);
}

void mb_sharing_matrix_free(struct mb_sharing_matrix *m)
{
	free(m->common);
	memset(m, 0, sizeof(*m));
}

/* Gather every worker's dense blocks into row-major bit rows. */
static uint64_t *dense_rows(struct exact_worker *ws, unsigned int nw,
			    size_t n, size_t *words)
{
	size_t total = 0, j = 0, v, b;
	unsigned int i;
	uint64_t *rows;

	for (i = 0; i < nw; i++)
		total += ws[i].nblocks + (ws[i].col ? 1 : 0);
	*words = total;
	if (!total)
		return NULL;
	rows = malloc(total * n * sizeof(uint64_t));
	if (!rows)
		return NULL;
	for (i = 0; i < nw; i++) {
		size_t nb = ws[i].nblocks + (ws[i].col ? 1 : 0);

		for (b = 0; b < nb; b++, j++) {
			const uint64_t *blk = ws[i].blocks + b * n;

			for (v = 0; v < n; v++)
				rows[v * total + j] = blk[v];
		}
	}
	return rows;
}

static int exact_setup(struct exact_job *job, const struct mb_digest_set *sets,
		       size_t n, const struct mb_sharing_opts *opts,
		       struct mb_err *err)
{
	uint64_t entries = 0;
	size_t v;

	memset(job, 0, sizeof(*job));
	job->sets = sets;
	job->n = n;
	job->opts = opts;
	if (n > UINT32_MAX - 1)
		return mb_errf(err, "too many VMs (%zu)", n);
	for (v = 0; v < n; v++) {
		if (v && mb_set_comparable(&sets[0], &sets[v], err))
			return -1;
		entries += sets[v].distinct;
	}
	job->keybits = n ? (unsigned int)sets[0].width * 8 : 32;
	while (job->bucket_bits < MAX_BUCKET_BITS &&
	       (entries >> job->bucket_bits) >
	       (n <= 64 ? BUCKET_TARGET_MASKS : BUCKET_TARGET))
		job->bucket_bits++;
	job->nbuckets = 1ULL << job->bucket_bits;
	job->nchunks = job->nbuckets < MAX_CHUNKS ? job->nbuckets : MAX_CHUNKS;
	job->chunk_buckets = job->nbuckets / job->nchunks;
	job->sparse_max = n / SPARSE_DIV > SPARSE_MIN ? n / SPARSE_DIV :
						       SPARSE_MIN;
	atomic_init(&job->next_chunk, 0);
	pthread_mutex_init(&job->lock, NULL);
	return 0;
}

static int worker_init(struct exact_worker *w, struct exact_job *job)
{
	size_t n = job->n;

	memset(w, 0, sizeof(*w));
	w->job = job;
	w->cursor = calloc(n, sizeof(*w->cursor));
	w->list = calloc(n, sizeof(*w->list));
	w->tri = calloc(n * n, sizeof(*w->tri));
	if (!w->cursor || !w->list || !w->tri)
		return -1;
	return 0;
}

int mb_sharing_exact(const struct mb_digest_set *sets, size_t n,
		     const struct mb_sharing_opts *opts,
		     struct mb_sharing_matrix *out, struct mb_err *err)
{
	struct exact_worker ws[64];
	struct exact_job job;
	pthread_t tid[64];
	unsigned int nw, i, started = 0;
	uint64_t *rows = NULL, all = 0, entries;
	size_t words = 0, a, b, v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (exact_setup(&job, sets, n, opts, err))
		return -1;
	nw = mb_thread_count(opts ? opts->threads : 0);
	for (v = 0, entries = 0; v < n; v++)
		entries += sets[v].distinct;
	if (entries < (1u << 20) && nw > 1)
		nw = 1;		/* under a million digests: not worth a thread */
	memset(ws, 0, sizeof(ws));
	out->n = n;
	out->common = calloc(n * n + 1, sizeof(uint64_t));
	if (!out->common)
		goto oom;
	for (i = 0; i < nw; i++)
		if (worker_init(&ws[i], &job))
			goto oom;
	for (i = 1; i < nw; i++) {
		if (pthread_create(&tid[i], NULL, exact_worker_run, &ws[i]))
			break;
		started++;
	}
	exact_worker_run(&ws[0]);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	if (started + 1 < nw) {
		/* Buckets the missing threads would have taken are done by 0. */
		nw = started + 1;
	}
	for (i = 0; i < nw; i++) {
		if (ws[i].failed)
			goto oom;
		out->digests_single += ws[i].single;
		out->digests_sparse += ws[i].sparse;
		out->digests_dense += ws[i].dense;
		out->digests_all += ws[i].all;
		out->group_distinct += ws[i].distinct;
		all += ws[i].all;
	}
	rows = dense_rows(ws, nw, n, &words);
	if (words && !rows)
		goto oom;
	/* Workers' blocks are no longer needed: give the memory back. */
	for (i = 0; i < nw; i++) {
		free(ws[i].blocks);
		ws[i].blocks = NULL;
	}
	if (mb_pairwise_and_count(rows, n, words, out->common, opts, 0.6, 1.0,
				  err))
		goto fail;
	for (a = 0; a < n; a++) {
		for (b = a + 1; b < n; b++) {
			uint64_t c = out->common[a * n + b] + all;

			for (i = 0; i < nw; i++)
				c += ws[i].tri[a * n + b];
			out->common[a * n + b] = c;
			out->common[b * n + a] = c;
		}
		out->common[a * n + a] = sets[a].distinct;
	}
	for (v = 0; v < n; v++)
		out->group_pages += sets[v].pages;
	rc = 0;
	goto done;
oom:
	mb_errf(err, "out of memory computing sharing of %zu VMs", n);
fail:
	mb_sharing_matrix_free(out);
done:
	free(rows);
	for (i = 0; i < 64; i++)
		worker_release(&ws[i]);
	pthread_mutex_destroy(&job.lock);
	return rc;
}
