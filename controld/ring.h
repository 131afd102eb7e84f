/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring.h - a bounded ring of fixed-size records: the newest @cap kept,
 * the oldest overwritten. Not thread-safe: its owner locks.
 */
#ifndef MB_CONTROLD_RING_H
#define MB_CONTROLD_RING_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct ring {
	unsigned char *buf;
	size_t size;			/* bytes per record */
	size_t cap, head, n;		/* head: where the next one goes */
};

static inline int ring_init(struct ring *r, size_t size, size_t cap)
{
	r->buf = calloc(cap ? cap : 1, size);
	r->size = size;
	r->cap = cap ? cap : 1;
	r->head = r->n = 0;
	return r->buf ? 0 : -1;
}

static inline void ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->n = 0;
}

static inline void ring_push(struct ring *r, const void *rec)
{
	memcpy(r->buf + r->head * r->size, rec, r->size);
	r->head = (r->head + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
}

/* Record @i, 0 the oldest kept, n - 1 the newest. */
static inline void *ring_at(const struct ring *r, size_t i)
{
	return r->buf + ((r->head + r->cap - r->n + i) % r->cap) * r->size;
}

static inline void *ring_newest(const struct ring *r)
{
	return r->n ? ring_at(r, r->n - 1) : NULL;
}

#endif /* MB_CONTROLD_RING_H */
