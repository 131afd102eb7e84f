// SPDX-License-Identifier: GPL-2.0
/*
 * pairwise.c - popcount(row[a] & row[b]) for all pairs of n bit rows.
 *
 * This is a boolean matrix product, so its cost is n^2/2 * words word
 * operations whatever we do; what we control is how often each word comes
 * from memory and how many instructions a word pair costs. Rows are
 * grouped in super-blocks of up to SUPER_ROWS rows; for each chunk of
 * CHUNK_WORDS words, the super-block's chunks (at most 1 MiB) stay in L2
 * while the later rows stream their chunks once, four at a time (32 KiB,
 * in L1), and meet each 4-row block of the super-block in a 4 x 4 register
 * block: 8 vector loads feed 16 pairs' AND, popcount and add, so the loop
 * runs at the rate of the vector units, not of the loads (an 8 x 1 block
 * needed 9 loads, 8 of them from L2, for 8 pairs, and ran 3.5 times
 * slower). Every row is read from memory once per super-block, not once
 * per row: for 10,000 filters of 128 KiB that is 80 passes over the
 * filters instead of 10,000.
 *
 * Threads take super-blocks from an atomic counter, largest (row 0) first;
 * each writes only its own rows of the output, so no locking is needed.
 *
 * The popcount itself is picked once at run time: AVX-512 VPOPCNTDQ, the
 * POPCNT instruction, or the portable builtin, by what the CPU supports;
 * all give the same counts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cpu.h"
#include "pairwise.h"
#include "sharing.h"

#define CHUNK_WORDS 1024
#define BLOCK_ROWS 4		/* a 4 x 4 block of pairs */
#define SUPER_ROWS 128

/* acc[4 * r + c] += popcount(a[r] & b[c]) over @len words. */
typedef void (*kernrows_fn)(const uint64_t *const a[BLOCK_ROWS],
			    const uint64_t *const b[BLOCK_ROWS], size_t len,
			    uint64_t acc[BLOCK_ROWS * BLOCK_ROWS]);
typedef uint64_t (*count_fn)(const uint64_t *a, const uint64_t *b, size_t len);

unsigned int mb_thread_count(unsigned int requested)
{
	long cpus;

	if (requested)
		return requested;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		return 1;
	return cpus > 64 ? 64 : (unsigned int)cpus;
}

/* ---- kernels ---- */

static void kernrows_generic(const uint64_t *const a[BLOCK_ROWS],
			     const uint64_t *const b[BLOCK_ROWS], size_t len,
			     uint64_t acc[BLOCK_ROWS * BLOCK_ROWS])
{
	size_t i, r, c;

	for (i = 0; i < len; i++)
		for (r = 0; r < BLOCK_ROWS; r++)
			for (c = 0; c < BLOCK_ROWS; c++)
				acc[r * BLOCK_ROWS + c] +=
					__builtin_popcountll(a[r][i] & b[c][i]);
}

static uint64_t count_generic(const uint64_t *a, const uint64_t *b, size_t len)
{
	uint64_t c = 0;
	size_t i;

	if (!b) {
		for (i = 0; i < len; i++)
			c += __builtin_popcountll(a[i]);
		return c;
	}
	for (i = 0; i < len; i++)
		c += __builtin_popcountll(a[i] & b[i]);
	return c;
}

#if defined(__x86_64__)
__attribute__((target("popcnt")))
static void kernrows_popcnt(const uint64_t *const a[BLOCK_ROWS],
			    const uint64_t *const b[BLOCK_ROWS], size_t len,
			    uint64_t acc[BLOCK_ROWS * BLOCK_ROWS])
{
	uint64_t s[BLOCK_ROWS * BLOCK_ROWS] = { 0 };
	size_t i, r, c;

	for (i = 0; i < len; i++)
		for (r = 0; r < BLOCK_ROWS; r++)
			for (c = 0; c < BLOCK_ROWS; c++)
				s[r * BLOCK_ROWS + c] +=
					__builtin_popcountll(a[r][i] & b[c][i]);
	for (r = 0; r < BLOCK_ROWS * BLOCK_ROWS; r++)
		acc[r] += s[r];
}

__attribute__((target("popcnt")))
static uint64_t count_popcnt(const uint64_t *a, const uint64_t *b, size_t len)
{
	uint64_t c = 0;
	size_t i;

	if (!b) {
		for (i = 0; i < len; i++)
			c += __builtin_popcountll(a[i]);
		return c;
	}
	for (i = 0; i < len; i++)
		c += __builtin_popcountll(a[i] & b[i]);
	return c;
}

__attribute__((target("avx512f,avx512vpopcntdq,popcnt")))
static void kernrows_avx512(const uint64_t *const a[BLOCK_ROWS],
			    const uint64_t *const b[BLOCK_ROWS], size_t len,
			    uint64_t acc[BLOCK_ROWS * BLOCK_ROWS])
{
	__m512i s[BLOCK_ROWS * BLOCK_ROWS], va[BLOCK_ROWS], vb[BLOCK_ROWS];
	size_t i = 0, r, c;

#pragma GCC unroll 16
	for (r = 0; r < BLOCK_ROWS * BLOCK_ROWS; r++)
		s[r] = _mm512_setzero_si512();
	/* Unrolled whole, so the 16 sums stay in registers. */
	for (; i + 8 <= len; i += 8) {
#pragma GCC unroll 4
		for (r = 0; r < BLOCK_ROWS; r++) {
			va[r] = _mm512_loadu_si512((const void *)(a[r] + i));
			vb[r] = _mm512_loadu_si512((const void *)(b[r] + i));
		}
#pragma GCC unroll 4
		for (r = 0; r < BLOCK_ROWS; r++)
#pragma GCC unroll 4
			for (c = 0; c < BLOCK_ROWS; c++)
				s[r * BLOCK_ROWS + c] = _mm512_add_epi64(
					s[r * BLOCK_ROWS + c],
					_mm512_popcnt_epi64(_mm512_and_si512(
						va[r], vb[c])));
	}
#pragma GCC unroll 16
	for (r = 0; r < BLOCK_ROWS * BLOCK_ROWS; r++)
		acc[r] += (uint64_t)_mm512_reduce_add_epi64(s[r]);
	for (; i < len; i++)
		for (r = 0; r < BLOCK_ROWS; r++)
			for (c = 0; c < BLOCK_ROWS; c++)
				acc[r * BLOCK_ROWS + c] +=
					__builtin_popcountll(a[r][i] & b[c][i]);
}
#endif

static kernrows_fn pick_kernrows(void)
{
#if defined(__x86_64__)
	if (MB_CPU_HAS(AVX512_VPOPCNTDQ) && MB_CPU_HAS(AVX512F))
		return kernrows_avx512;
	if (MB_CPU_HAS(POPCNT))
		return kernrows_popcnt;
#endif
	return kernrows_generic;
}

static count_fn pick_count(void)
{
#if defined(__x86_64__)
	if (MB_CPU_HAS(POPCNT))
		return count_popcnt;
#endif
	return count_generic;
}

uint64_t mb_popcount_words(const uint64_t *w, size_t words)
{
	return pick_count()(w, NULL, words);
}

uint64_t mb_popcount_and(const uint64_t *a, const uint64_t *b, size_t words)
{
	return pick_count()(a, b, words);
}

/* ---- the threaded pair loop ---- */

struct pair_job {
	const uint64_t *rows;
	size_t n, words;
	uint64_t *out;
	kernrows_fn kern;
	size_t super;			/* rows per super-block */
	atomic_size_t next_block;
	/* progress */
	const struct mb_sharing_opts *opts;
	double p0, p1;
	pthread_mutex_t lock;
	uint64_t work_done, work_total;
};

/*
 * One super-block: rows s0 .. s0+job->super-1 against every later row.
 * For each chunk the super-block's chunks (super * CHUNK_WORDS words, at
 * most 1 MiB) stay in L2 while the later rows' chunks are read four at a
 * time and met by every 4-row block of the super-block. Near the diagonal
 * a block also counts pairs with a >= b (and rows past the end count
 * against zeros); those counts are dropped.
 */
static void run_super(struct pair_job *job, size_t s0)
{
	static const uint64_t zero_row[CHUNK_WORDS];
	const uint64_t *a[BLOCK_ROWS], *bp[BLOCK_ROWS];
	uint64_t acc[BLOCK_ROWS * BLOCK_ROWS];
	size_t n = job->n, words = job->words, w0, b0, r, c, r0;
	size_t s1 = s0 + job->super < n ? s0 + job->super : n;

	for (w0 = 0; w0 < words; w0 += CHUNK_WORDS) {
		size_t len = words - w0 < CHUNK_WORDS ? words - w0 : CHUNK_WORDS;

		for (b0 = s0 + 1; b0 < n; b0 += BLOCK_ROWS) {
			for (c = 0; c < BLOCK_ROWS; c++)
				bp[c] = b0 + c < n ? job->rows +
					(b0 + c) * words + w0 : zero_row;
			/* Blocks holding some a < b (the largest b is b0 + 3). */
			for (r0 = s0; r0 < s1 && r0 < b0 + BLOCK_ROWS - 1;
			     r0 += BLOCK_ROWS) {
				for (r = 0; r < BLOCK_ROWS; r++)
					a[r] = r0 + r < s1 ? job->rows +
					       (r0 + r) * words + w0 : zero_row;
				memset(acc, 0, sizeof(acc));
				job->kern(a, bp, len, acc);
				for (r = 0; r < BLOCK_ROWS && r0 + r < s1; r++)
					for (c = 0; c < BLOCK_ROWS &&
						    b0 + c < n; c++)
						if (r0 + r < b0 + c)
							job->out[(r0 + r) * n +
								 b0 + c] +=
								acc[r * BLOCK_ROWS + c];
			}
		}
	}
}

static void *pair_worker(void *arg)
{
	struct pair_job *job = arg;
	size_t supers = (job->n + job->super - 1) / job->super;

	for (;;) {
		size_t sb = atomic_fetch_add(&job->next_block, 1);

		if (sb >= supers)
			break;
		run_super(job, sb * job->super);
		if (job->opts && job->opts->progress) {
			pthread_mutex_lock(&job->lock);
			job->work_done += job->n - sb * job->super;
			job->opts->progress(job->opts->progress_ctx, job->p0 +
					    (job->p1 - job->p0) *
					    (double)job->work_done /
					    (double)job->work_total);
			pthread_mutex_unlock(&job->lock);
		}
	}
	return NULL;
}

int mb_pairwise_and_count(const uint64_t *rows, size_t n, size_t words,
			  uint64_t *out, const struct mb_sharing_opts *opts,
			  double p0, double p1, struct mb_err *err)
{
	struct pair_job job;
	unsigned int threads, i, started = 0;
	pthread_t tid[64];
	size_t blk;
	int rc = 0;

	if (n < 2 || words == 0)
		return 0;
	memset(&job, 0, sizeof(job));
	job.rows = rows;
	job.n = n;
	job.words = words;
	job.out = out;
	job.kern = pick_kernrows();
	atomic_init(&job.next_block, 0);
	job.opts = opts;
	job.p0 = p0;
	job.p1 = p1;
	threads = mb_thread_count(opts ? opts->threads : 0);
	/*
	 * Super-blocks: up to SUPER_ROWS rows (their chunks fill half of a
	 * 2 MiB+ L2), but small enough that every thread gets several.
	 */
	job.super = n / ((size_t)threads * 4);
	job.super = (job.super + BLOCK_ROWS - 1) / BLOCK_ROWS * BLOCK_ROWS;
	if (job.super < BLOCK_ROWS)
		job.super = BLOCK_ROWS;
	if (job.super > SUPER_ROWS)
		job.super = SUPER_ROWS;
	for (blk = 0; blk * job.super < n; blk++)
		job.work_total += n - blk * job.super;
	pthread_mutex_init(&job.lock, NULL);

	for (i = 1; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, pair_worker, &job))
			break;
		started++;
	}
	pair_worker(&job);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&job.lock);
	(void)err;
	return rc;
}

/* ---- a tiny parallel loop ---- */

struct pfor {
	size_t n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	atomic_size_t next;
};

static void *pfor_worker(void *arg)
{
	struct pfor *p = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);

		if (i >= p->n)
			return NULL;
		p->fn(p->ctx, i);
	}
}

void mb_parallel_for(size_t n, unsigned int threads,
		     void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct pfor p = { .n = n, .fn = fn, .ctx = ctx };
	unsigned int i, started = 0;
	pthread_t tid[64];

	atomic_init(&p.next, 0);
	threads = mb_thread_count(threads);
	if (threads > n)
		threads = n ? (unsigned int)n : 1;
	for (i = 1; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, pfor_worker, &p))
			break;
		started++;
	}
	pfor_worker(&p);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
}
