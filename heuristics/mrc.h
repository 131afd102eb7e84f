/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mrc.h - LRU stack distances (Mattson et al., "Evaluation techniques for
 * storage hierarchies", IBM Systems Journal 9(2), 1970) in O(log n) per
 * reference, and the miss-ratio curves they give.
 *
 * The stack distance of a reference is the number of distinct other pages
 * referenced since the previous reference to the same page (0: the page
 * referenced just before). LRU keeps a page resident in c frames exactly
 * when its distance is below c, so one pass over a stream yields the
 * misses at every memory size at once: misses(c) = cold references +
 * references of distance >= c.
 *
 * Counting the distinct pages since a time is a range count over the
 * positions of every page's latest reference: a Fenwick tree (binary
 * indexed tree) over time positions holds a 1 at each page's latest one.
 * A reference queries the count after the page's previous position, clears
 * that position and sets the current one, three walks of log2(size) steps.
 * Positions are recycled: when they run out the marked ones are renumbered
 * 1, 2, ... in order, in O(size); with size >= 2 * pages that happens at
 * most once every `pages` references, so a reference stays O(log pages)
 * amortized and the memory is O(pages), not O(references).
 *
 * Real programs mostly re-reference one of the last few pages (distance 0
 * to 3 for most references of the traces in memtraces/lackey/), where even
 * a list walk beats three tree walks. So the MB_MRC_TOP most recent pages
 * are kept apart, as an exact LRU stack in a small array, and only the
 * pages below them are in the tree, each marked at the time it dropped out
 * of the array (which orders them as their last references do). A page in
 * the array has its index as distance; any other page has the array's
 * size plus the marks after its own. Worst case O(MB_MRC_TOP + log pages).
 */
#ifndef MB_MRC_H
#define MB_MRC_H

#include <stdint.h>

#include "mb_error.h"

#define MB_MRC_COLD UINT32_MAX	/* distance of a first reference */
#define MB_MRC_TOP 16		/* pages kept in the array above the tree */

struct mb_mrc {
	uint32_t pages;		/* page numbers are < pages */
	uint32_t size;		/* time positions, 1 .. size */
	uint32_t now;		/* the next position */
	uint32_t marks;		/* distinct pages seen so far */
	uint32_t *last;		/* page -> position of its latest reference, 0 never */
	uint32_t *owner;	/* position -> the page referenced there */
	uint32_t *tree;		/* Fenwick tree over the positions, 1-based */
	uint8_t *in_top;	/* page is in top[] */
	uint32_t top[MB_MRC_TOP]; /* the most recent pages, most recent first */
	uint32_t top_n;
};

/* For pages < @pages (at most 2^31). Returns 0, or -1 out of memory. */
int mb_mrc_init(struct mb_mrc *m, uint32_t pages, struct mb_err *err);
void mb_mrc_free(struct mb_mrc *m);

/* Reference @page; returns its stack distance, or MB_MRC_COLD. */
uint32_t mb_mrc_access(struct mb_mrc *m, uint32_t page);

/*
 * The LRU miss curve of a whole stream: misses[c] for every memory size c
 * from 0 to @max_frames frames (max_frames + 1 entries). Returns 0, or -1
 * out of memory.
 */
int mb_mrc_curve(const uint32_t *refs, uint64_t n, uint32_t pages,
		 uint64_t *misses, uint64_t max_frames, struct mb_err *err);

#endif /* MB_MRC_H */
