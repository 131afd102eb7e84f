/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lru.h - one VM's memory under LRU replacement, O(1) per reference.
 *
 * Pages are dense numbers 0 .. pages - 1 (sim_input.h numbers them so).
 * The resident pages form a doubly linked list threaded through two
 * arrays indexed by page number, most recently used at the head: the page
 * table is the array itself (a hash map whose hash is the identity, since
 * the numbers are dense), so a reference costs one array lookup and a
 * constant number of link updates, whatever the memory size.
 * docs/balancing.md, "The O(1) LRU", compares it with the seed's list.
 */
#ifndef MB_LRU_H
#define MB_LRU_H

#include <stdbool.h>
#include <stdint.h>

#include "mb_error.h"

#define MB_LRU_NONE UINT32_MAX

struct mb_lru_link {
	uint32_t prev, next;	/* toward the head (MRU) / the tail (LRU) */
};

struct mb_lru {
	uint32_t pages;		/* page numbers are < pages */
	uint64_t capacity;	/* frames */
	uint64_t resident;	/* pages in memory, <= capacity */
	uint32_t head, tail;	/* MRU and LRU page, MB_LRU_NONE when empty */
	struct mb_lru_link *link;
	uint8_t *in;		/* 1 when the page is resident */
};

/*
 * Empty memory of @capacity frames for pages < @pages. Returns 0, or -1
 * when out of memory. mb_lru_free() releases it.
 */
int mb_lru_init(struct mb_lru *l, uint32_t pages, uint64_t capacity,
		struct mb_err *err);
void mb_lru_free(struct mb_lru *l);

/* Evict the least recently used page. The memory must not be empty. */
static inline void mb_lru_evict(struct mb_lru *l)
{
	uint32_t t = l->tail;

	l->in[t] = 0;
	l->tail = l->link[t].prev;
	if (l->tail == MB_LRU_NONE)
		l->head = MB_LRU_NONE;
	else
		l->link[l->tail].next = MB_LRU_NONE;
	l->resident--;
}

/*
 * Reference @page (< pages). Returns true on a hit; on a miss the page is
 * loaded, evicting the least recently used page when memory is full (with
 * 0 frames nothing is ever resident and every reference misses).
 */
static inline bool mb_lru_access(struct mb_lru *l, uint32_t page)
{
	struct mb_lru_link *k = l->link;

	if (l->in[page]) {
		uint32_t p = k[page].prev, n = k[page].next;

		if (p == MB_LRU_NONE)
			return true;	/* already the head */
		k[p].next = n;
		if (n == MB_LRU_NONE)
			l->tail = p;
		else
			k[n].prev = p;
		k[page].prev = MB_LRU_NONE;
		k[page].next = l->head;
		k[l->head].prev = page;
		l->head = page;
		return true;
	}
	if (!l->capacity)
		return false;
	if (l->resident == l->capacity)
		mb_lru_evict(l);
	l->in[page] = 1;
	k[page].prev = MB_LRU_NONE;
	k[page].next = l->head;
	if (l->head == MB_LRU_NONE)
		l->tail = page;
	else
		k[l->head].prev = page;
	l->head = page;
	l->resident++;
	return false;
}

/*
 * Give the memory @capacity frames; shrinking evicts from the LRU end.
 * Returns the number of pages evicted.
 */
uint64_t mb_lru_resize(struct mb_lru *l, uint64_t capacity);

#endif /* MB_LRU_H */
