// SPDX-License-Identifier: GPL-2.0
/*
 * lru.c - set-up and resizing of lru.h's memory; the reference path is
 * inline in the header.
 */
#include <stdlib.h>
#include <string.h>

#include "lru.h"

int mb_lru_init(struct mb_lru *l, uint32_t pages, uint64_t capacity,
		struct mb_err *err)
{
	memset(l, 0, sizeof(*l));
	l->link = malloc((pages ? pages : 1) * sizeof(*l->link));
	l->in = calloc(pages ? pages : 1, 1);
	if (!l->link || !l->in) {
		mb_lru_free(l);
		return mb_errf(err, "out of memory for an LRU of %u pages", pages);
	}
	l->pages = pages;
	l->capacity = capacity;
	l->head = l->tail = MB_LRU_NONE;
	return 0;
}

void mb_lru_free(struct mb_lru *l)
{
	free(l->link);
	free(l->in);
	l->link = NULL;
	l->in = NULL;
}

uint64_t mb_lru_resize(struct mb_lru *l, uint64_t capacity)
{
	uint64_t evicted = 0;

	while (l->resident > capacity) {
		mb_lru_evict(l);
		evicted++;
	}
	l->capacity = capacity;
	return evicted;
}
