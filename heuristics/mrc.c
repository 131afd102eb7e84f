// SPDX-License-Identifier: GPL-2.0
/*
 * mrc.c - stack distances with a Fenwick tree over time positions (the
 * design is in mrc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mrc.h"

int mb_mrc_init(struct mb_mrc *m, uint32_t pages, struct mb_err *err)
{
	memset(m, 0, sizeof(*m));
	if (pages > UINT32_C(1) << 31)
		return mb_errf(err, "stack distances: %u pages is more than 2^31",
			       pages);
	m->pages = pages;
	m->size = pages * 2 > 64 ? pages * 2 : 64;
	m->now = 1;
	m->last = calloc((size_t)pages + 1, sizeof(*m->last));
	m->owner = malloc(((size_t)m->size + 1) * sizeof(*m->owner));
	m->tree = calloc((size_t)m->size + 1, sizeof(*m->tree));
	m->in_top = calloc((size_t)pages + 1, 1);
	if (!m->last || !m->owner || !m->tree || !m->in_top) {
		mb_mrc_free(m);
		return mb_errf(err, "out of memory for the stack distances of "
			       "%u pages", pages);
	}
	return 0;
}

void mb_mrc_free(struct mb_mrc *m)
{
	free(m->last);
	free(m->owner);
	free(m->tree);
	free(m->in_top);
	m->last = m->owner = m->tree = NULL;
	m->in_top = NULL;
}

/* Renumber the marked positions 1 .. marks, keeping their order. */
static void compact(struct mb_mrc *m)
{
	uint32_t pos, k = 0, i;

	for (pos = 1; pos <= m->size; pos++) {
		uint32_t page = m->owner[pos];

		if (m->last[page] == pos) {
			m->owner[++k] = page;
			m->last[page] = k;
		}
	}
	memset(m->tree, 0, ((size_t)m->size + 1) * sizeof(*m->tree));
	for (i = 1; i <= k; i++)
		m->tree[i] = 1;
	for (i = 1; i <= m->size; i++) {
		uint32_t j = i + (i & -i);

		if (j <= m->size)
			m->tree[j] += m->tree[i];
	}
	m->now = k + 1;
}

/* Mark @page at the next position: it just dropped out of top[]. */
static void mark(struct mb_mrc *m, uint32_t page)
{
	uint32_t i, pos;

	if (m->now > m->size)
		compact(m);
	pos = m->now++;
	for (i = pos; i <= m->size; i += i & -i)
		m->tree[i]++;
	m->last[page] = pos;
	m->owner[pos] = page;
	m->marks++;
}

uint32_t mb_mrc_access(struct mb_mrc *m, uint32_t page)
{
	uint32_t *top = m->top, distance, i, before = 0;

	if (m->in_top[page]) {
		for (distance = 0; top[distance] != page; distance++)
			;
		memmove(top + 1, top, distance * sizeof(*top));
		top[0] = page;
		return distance;
	}
	if (m->last[page]) {
		uint32_t prev = m->last[page];

		for (i = prev; i; i &= i - 1)
			before += m->tree[i];
		distance = m->top_n + (m->marks - before);
		for (i = prev; i <= m->size; i += i & -i)
			m->tree[i]--;
		m->marks--;
		m->last[page] = 0;
	} else {
		distance = MB_MRC_COLD;
	}
	if (m->top_n == MB_MRC_TOP) {
		uint32_t out = top[MB_MRC_TOP - 1];

		m->in_top[out] = 0;
		mark(m, out);
	} else {
		m->top_n++;
	}
	memmove(top + 1, top, (m->top_n - 1) * sizeof(*top));
	top[0] = page;
	m->in_top[page] = 1;
	return distance;
}

int mb_mrc_curve(const uint32_t *refs, uint64_t n, uint32_t pages,
		 uint64_t *misses, uint64_t max_frames, struct mb_err *err)
{
	struct mb_mrc m;
	uint64_t i, c, cold = 0, beyond = 0;

	if (mb_mrc_init(&m, pages, err))
		return -1;
	memset(misses, 0, (max_frames + 1) * sizeof(*misses));
	for (i = 0; i < n; i++) {
		uint32_t d = mb_mrc_access(&m, refs[i]);

		if (d == MB_MRC_COLD)
			cold++;
		else if (d >= max_frames)
			beyond++;
		else
			misses[d]++;	/* histogram first, summed below */
	}
	mb_mrc_free(&m);
	/* misses(c) = cold + references of distance >= c */
	for (c = max_frames + 1; c-- > 0;) {
		uint64_t h = c < max_frames ? misses[c] : 0;

		beyond += h;
		misses[c] = cold + beyond;
	}
	return 0;
}
