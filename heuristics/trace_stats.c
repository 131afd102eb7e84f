// SPDX-License-Identifier: GPL-2.0
/*
 * trace_stats.c - per-trace statistics, version diffs and image hashing.
 *
 * Distinct digests are counted by sorting: an LSD radix sort of the 64-bit
 * digest words, 16 bits a pass, with passes skipped when every value has
 * the same digit there (the upper passes of 32-bit digests). A 1 GiB VM
 * (262,144 pages) sorts in a few milliseconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "trace_stats.h"

double mb_birthday_bound(uint64_t distinct, unsigned int bits)
{
	double n = (double)distinct;

	if (distinct < 2)
		return 0;
	return n * (n - 1) / 2 / (bits >= 64 ? 18446744073709551616.0 :
				  (double)(1ULL << bits));
}

uint64_t mb_sort_unique(uint64_t *v, uint64_t n)
{
	uint64_t *tmp, *src = v, *dst, i, kept;
	unsigned int shift;

	if (n < 2)
		return n;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return UINT64_MAX;
	dst = tmp;
	for (shift = 0; shift < 64; shift += 16) {
		static uint64_t count[65536];
		uint64_t sum = 0, first_digit = (src[0] >> shift) & 0xffff;
		bool constant = true;

		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++) {
			uint64_t d = (src[i] >> shift) & 0xffff;

			count[d]++;
			constant &= d == first_digit;
		}
		if (constant)
			continue;
		for (i = 0; i < 65536; i++) {
			uint64_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
		dst = src;
		src = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	for (kept = 1, i = 1; i < n; i++)
		if (v[i] != v[kept - 1])
			v[kept++] = v[i];
	return kept;
}

int mb_trace_stats(const struct mbt_trace *t, bool include_free,
		   struct mb_trace_stats *s)
{
	static const uint8_t zero_page[MBT_PAGE_SIZE];
	uint64_t zero = mb_digest_page(t->info.algorithm, zero_page);
	bool count_free = include_free &&
			  (t->info.flags & MBT_FLAG_FREE_HASHED);
	uint64_t i, n = 0, *v;

	memset(s, 0, sizeof(*s));
	s->pages = t->info.page_count;
	v = malloc((s->pages ? s->pages : 1) * sizeof(*v));
	if (!v)
		return -1;
	for (i = 0; i < s->pages; i++) {
		bool is_free = mbt_is_free(t, i);

		if (is_free)
			s->free_pages++;
		else
			s->used_pages++;
		if (is_free && !count_free)
			continue;
		v[n++] = t->digests[i];
		if (t->digests[i] == zero)
			s->zero_pages++;
	}
	s->distinct_digests = mb_sort_unique(v, n);
	free(v);
	if (s->distinct_digests == UINT64_MAX)
		return -1;
	s->duplicate_pages = n - s->distinct_digests;
	s->expected_false_matches =
		mb_birthday_bound(s->distinct_digests, t->info.digest_size * 8);
	return 0;
}

/* Sorted distinct digests of @t's used pages; *n gets their number. */
static uint64_t *used_distinct(const struct mbt_trace *t, uint64_t *n)
{
	uint64_t i, k = 0, *v = malloc((t->info.page_count + 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (i = 0; i < t->info.page_count; i++)
		if (!mbt_is_free(t, i))
			v[k++] = t->digests[i];
	*n = mb_sort_unique(v, k);
	if (*n == UINT64_MAX) {
		free(v);
		return NULL;
	}
	return v;
}

/* Walks a trace's records in PFN order. */
struct cursor {
	const struct mbt_trace *t;
	size_t chunk;
	uint64_t rec;		/* record index */
	uint64_t pfn;
	bool done;
};

static void cursor_set(struct cursor *c)
{
	if (c->chunk >= c->t->nchunks) {
		c->done = true;
		return;
	}
	c->rec = c->t->chunks[c->chunk].first;
	c->pfn = c->t->chunks[c->chunk].start_pfn;
}

static void cursor_next(struct cursor *c)
{
	const struct mbt_chunk *ch = &c->t->chunks[c->chunk];

	if (c->rec + 1 < ch->first + ch->count) {
		c->rec++;
		c->pfn++;
	} else {
		c->chunk++;
		cursor_set(c);
	}
}

int mb_trace_diff(const struct mbt_trace *old, const struct mbt_trace *new,
		  struct mb_trace_diff *d)
{
	struct cursor a = { .t = old }, b = { .t = new };
	uint64_t *da, *db, na, nb, i, j;

	memset(d, 0, sizeof(*d));
	cursor_set(&a);
	cursor_set(&b);
	while (!a.done || !b.done) {
		if (b.done || (!a.done && a.pfn < b.pfn)) {
			d->only_old++;
			cursor_next(&a);
		} else if (a.done || b.pfn < a.pfn) {
			d->only_new++;
			cursor_next(&b);
		} else {
			bool fa = mbt_is_free(old, a.rec);
			bool fb = mbt_is_free(new, b.rec);

			d->common_pfns++;
			if (!fa && !fb) {
				d->compared++;
				if (old->digests[a.rec] != new->digests[b.rec])
					d->changed++;
			} else if (!fa && fb) {
				d->freed++;
			} else if (fa && !fb) {
				d->allocated++;
			}
			cursor_next(&a);
			cursor_next(&b);
		}
	}
	d->change_rate = d->compared ? 100.0 * d->changed / d->compared : 0;

	da = used_distinct(old, &na);
	db = used_distinct(new, &nb);
	if (!da || !db) {
		free(da);
		free(db);
		return -1;
	}
	for (i = 0, j = 0; j < nb; j++) {
		while (i < na && da[i] < db[j])
			i++;
		if (i == na || da[i] != db[j])
			d->new_distinct++;
	}
	free(da);
	free(db);
	return 0;
}

int mb_hash_image(int fd, const struct mbt_info *info, const char *out,
		  struct mb_err *err)
{
	const uint32_t per_chunk = info->chunk_max;
	size_t buf_len = (size_t)per_chunk * MBT_PAGE_SIZE;
	uint8_t *buf = malloc(buf_len);
	uint64_t *digests = malloc(per_chunk * sizeof(*digests));
	const void **pages = malloc(per_chunk * sizeof(*pages));
	struct mb_atomic_file af = { 0 };
	struct mbt_writer w = { 0 };
	uint64_t done = 0;
	uint32_t i;
	int ret = -1;

	if (!buf || !digests || !pages) {
		mb_errf(err, "out of memory");
		goto out;
	}
	for (i = 0; i < per_chunk; i++)
		pages[i] = buf + (size_t)i * MBT_PAGE_SIZE;
	if (mb_atomic_open(&af, out, 0644, err) < 0)
		goto out;
	if (mbt_writer_begin(&w, info, mbt_sink_stdio, af.f, err) < 0)
		goto out;
	while (done < info->page_count) {
		uint64_t left = info->page_count - done;
		uint32_t n = left < per_chunk ? (uint32_t)left : per_chunk;
		size_t want = (size_t)n * MBT_PAGE_SIZE, have = 0;

		while (have < want) {
			ssize_t r = read(fd, buf + have, want - have);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				mb_errf(err, "read error at byte %" PRIu64
					": %s", done * MBT_PAGE_SIZE + have,
					strerror(errno));
				goto out;
			}
			if (r == 0)
				break;
			have += (size_t)r;
		}
		/* Only the last page may be short: it is zero-padded. */
		if (want - have >= MBT_PAGE_SIZE) {
			mb_errf(err, "image shrank while being read (ends at "
				"byte %" PRIu64 ")", done * MBT_PAGE_SIZE + have);
			goto out;
		}
		memset(buf + have, 0, want - have);
		/* The fastest implementation the CPU runs, same digests. */
		mb_digest_pages(info->algorithm, pages, n, digests);
		if (mbt_writer_chunk(&w, done, n, NULL, digests, err) < 0)
			goto out;
		done += n;
	}
	if (mbt_writer_end(&w, 0, err) < 0)
		goto out;
	mbt_writer_release(&w);
	ret = mb_atomic_commit(&af, err);
	af.f = NULL;
out:
	mbt_writer_release(&w);
	if (ret < 0 && af.f)
		mb_atomic_abort(&af);
	free(buf);
	free(digests);
	free(pages);
	return ret;
}
