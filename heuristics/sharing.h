/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sharing.h - how much memory VMs would share if they ran on one host.
 *
 * Definitions (docs/sharing.md):
 *   D(v)          the distinct digests of v's used pages (free pages only
 *                 when asked for);
 *   common(a, b)  |D(a) ∩ D(b)|;
 *   pages(G)      Σ pages counted over the VMs of a group G;
 *   distinct(G)   |∪ D(v)| over G;
 *   saved(G)      pages(G) - distinct(G): what perfect merging saves,
 *                 duplicates inside one VM included.
 *
 * A VM is reduced to a struct mb_digest_set: its distinct digests, sorted,
 * in 32-bit words when the trace's digests are 32 bits wide and in 64-bit
 * words otherwise. Everything below works on sets, never on traces, so the
 * same code serves files (mbuddy), uploads (mb-controld) and synthetic VMs
 * (benchmarks).
 *
 * Two estimators of common():
 *   mb_sharing_exact()  exact counts for all pairs at once (the design and
 *                       its cost are in sharing.c and docs/sharing.md);
 *   bloom.h             the Bloom-filter fingerprints of the paper.
 *
 * Nothing here prints. Failures return -1 with a message in struct mb_err.
 */
#ifndef MB_SHARING_H
#define MB_SHARING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"
#include "mbt.h"

struct mb_digest_set {
	char *name;		/* owned, NUL-terminated */
	int algorithm;		/* MB_ALGO_* of the digests */
	uint32_t key_id;	/* keyed digests: the trace's key id; 0: none */
	int width;		/* 4 or 8: bytes per digest */
	uint64_t pages;		/* pages counted, duplicates included */
	uint64_t distinct;	/* |D(v)|: entries in d32 or d64 */
	uint32_t *d32;		/* sorted, unique; width 4 */
	uint64_t *d64;		/* sorted, unique; width 8 */
};

static inline uint64_t mb_set_key(const struct mb_digest_set *s, uint64_t i)
{
	return s->width == 4 ? s->d32[i] : s->d64[i];
}

/* Pages of v that duplicate another page of v: pages - distinct. */
static inline uint64_t mb_set_self_duplicates(const struct mb_digest_set *s)
{
	return s->pages - s->distinct;
}

/* Pages to MiB (4 KiB pages). */
static inline double mb_pages_mb(double pages)
{
	return pages * 4096.0 / (1024.0 * 1024.0);
}

/*
 * Build @s from a loaded trace: every used page (and every free page too
 * when @include_free) contributes its digest. @name is copied; NULL takes
 * the trace's vm_name; the key id is the trace's. A trace with no counted
 * page gives an empty set.
 * Returns 0, or -1 when out of memory.
 */
int mb_set_from_trace(struct mb_digest_set *s, const struct mbt_trace *t,
		      bool include_free, const char *name, struct mb_err *err);

/*
 * Build @s from @n raw digests (any order, duplicates allowed) of
 * algorithm @algo (its width decides the word size; wider digests are
 * truncated to it). @name is copied. Returns 0, or -1.
 */
int mb_set_from_digests(struct mb_digest_set *s, const uint64_t *digests,
			uint64_t n, int algo, const char *name,
			struct mb_err *err);

/* Release what @s owns and zero it. Safe on a zeroed set. */
void mb_set_free(struct mb_digest_set *s);

/*
 * 0 when @a and @b hold digests of the same algorithm and the same key
 * (key_id: both unkeyed, or keyed with one tenant key), so they can be
 * compared; -1 with a message naming both otherwise. Digests under two
 * keys, or keyed and plain, of one page never match.
 */
int mb_set_comparable(const struct mb_digest_set *a,
		      const struct mb_digest_set *b, struct mb_err *err);

/* |D(a) ∩ D(b)| by a linear merge (both sets of one algorithm). */
uint64_t mb_set_common(const struct mb_digest_set *a,
		       const struct mb_digest_set *b);

/*
 * The union of @a and @b (comparable sets) as a new set @out (no name):
 * its distinct digests, pages(a) + pages(b) pages. Returns 0, or -1 when
 * the sets are not comparable or memory is short. Free with mb_set_free().
 */
int mb_set_union(struct mb_digest_set *out, const struct mb_digest_set *a,
		 const struct mb_digest_set *b, struct mb_err *err);

/*
 * distinct(G) for the @n sets pointed to by @sets: an intersection for two,
 * a sort of all their digests together for more (a buffer of twice their
 * size; a k-way merge in two small arrays when that is not available).
 * All sets must be comparable. UINT64_MAX when out of memory.
 */
uint64_t mb_group_distinct(const struct mb_digest_set *const *sets, size_t n);

/*
 * Expected number of false matches between two sets of @na and @nb
 * distinct digests of @width bytes (the birthday bound: every pair of
 * different pages collides with probability 2^-bits).
 */
double mb_false_matches(uint64_t na, uint64_t nb, int width);

/* Expected colliding pairs inside one union of @n distinct digests. */
double mb_false_matches_within(uint64_t n, int width);

/* ---- all pairs, exactly ---- */

struct mb_sharing_opts {
	unsigned int threads;	/* 0: one per online CPU */
	/*
	 * Called now and then from a worker thread (serialised) with the
	 * fraction of the work done; may be NULL.
	 */
	void (*progress)(void *ctx, double done);
	void *progress_ctx;
};

struct mb_sharing_matrix {
	size_t n;
	uint64_t *common;	/* n * n, symmetric; common[i*n+i] = |D(i)| */
	uint64_t group_pages;	/* pages(G) over all n sets */
	uint64_t group_distinct;/* distinct(G) over all n sets */
	/* How the work split (docs/sharing.md): digests by VM count. */
	uint64_t digests_single;/* in one VM only */
	uint64_t digests_sparse;/* in few VMs: pairs counted one by one */
	uint64_t digests_dense;	/* in many VMs: bit matrix columns */
	uint64_t digests_all;	/* in every VM: one counter */
};

/*
 * common() for every pair of the @n sets, and the group values of all of
 * them together. @opts may be NULL. Fills @out (free it with
 * mb_sharing_matrix_free()). Fails when the sets are not comparable or
 * memory runs out.
 */
int mb_sharing_exact(const struct mb_digest_set *sets, size_t n,
		     const struct mb_sharing_opts *opts,
		     struct mb_sharing_matrix *out, struct mb_err *err);

void mb_sharing_matrix_free(struct mb_sharing_matrix *m);

#endif /* MB_SHARING_H */
