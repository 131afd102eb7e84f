/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace_stats.h - statistics of one trace and of two versions of one VM,
 * and hashing of a raw memory image: what `mbuddy trace` prints.
 */
#ifndef MB_TRACE_STATS_H
#define MB_TRACE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "mbt.h"

struct mb_trace_stats {
	uint64_t pages, used_pages, free_pages;
	uint64_t distinct_digests;	/* |D(v)|: distinct digests of counted pages */
	uint64_t duplicate_pages;	/* counted pages - distinct */
	uint64_t zero_pages;		/* counted pages whose content is all zero */
	double expected_false_matches;	/* birthday bound for 32-bit digests, else ~0 */
};

/*
 * Statistics over used pages (and free ones too when @include_free and
 * the trace hashed them). Returns 0, or -1 when out of memory.
 */
int mb_trace_stats(const struct mbt_trace *t, bool include_free,
		   struct mb_trace_stats *s);

/*
 * Expected number of pairs among @distinct different contents that share
 * a @bits-bit digest by chance: C(distinct, 2) / 2^bits.
 */
double mb_birthday_bound(uint64_t distinct, unsigned int bits);

/*
 * Sort @n digests in place and drop repeats; returns the number kept.
 * LSD radix sort, 16 bits per pass, skipping passes whose digit is
 * constant (so 32-bit digests take two passes). Needs @n scratch words;
 * returns UINT64_MAX when it cannot allocate them.
 */
uint64_t mb_sort_unique(uint64_t *v, uint64_t n);

/* What changed between two versions of one VM, matched by PFN. */
struct mb_trace_diff {
	uint64_t common_pfns;		/* PFNs present in both */
	uint64_t compared;		/* of those, used in both */
	uint64_t changed;		/* used in both, digest differs */
	uint64_t freed;			/* used in old, free in new */
	uint64_t allocated;		/* free in old, used in new */
	uint64_t only_old, only_new;	/* PFNs in one trace only */
	double change_rate;		/* changed / compared, percent */
	uint64_t new_distinct;		/* distinct used digests of new not in old */
};

/* Compare @old and @new (same algorithm). 0, or -1 when out of memory. */
int mb_trace_diff(const struct mbt_trace *old, const struct mbt_trace *new,
		  struct mb_trace_diff *d);

/*
 * Read a raw memory image from @fd (4096-byte pages, a short last page
 * zero-padded) and write its .mbt to @out atomically. @info holds the
 * header (page_count = pages in the image). Streams: memory is one chunk.
 */
int mb_hash_image(int fd, const struct mbt_info *info, const char *out,
		  struct mb_err *err);

#endif /* MB_TRACE_STATS_H */
