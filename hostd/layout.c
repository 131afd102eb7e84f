// SPDX-License-Identifier: GPL-2.0
/*
 * layout.c - where each page of a guest is, seen from the host
 * (hostd.h).
 *
 * QEMU keeps a guest's memory in RAM blocks ("pc.ram", a memory
 * backend's "ram-node0", "pc.bios", the ROM images of devices), each one
 * contiguous in the QEMU process. The guest sees them through its
 * "memory" address space, whose flat view says which guest-physical range
 * shows which part of which region. So a guest page has three names: its
 * PFN, its block and offset, and its host address; layout_build() joins
 * the first two, layout_attach() the last.
 *
 * The flat view is what the guest sees now. It hides some of a block's
 * pages (pc.ram under the VGA window at 0xa0000) and shows some twice
 * (the BIOS's last 128 KiB at 0xe0000 and below 4 GiB). Every host page
 * must be in a trace once, as KSM sees it once, so a page shown twice is
 * taken at its lowest address, a hidden page goes where its block's own
 * ranges around it put it, and a block no address reaches at all (option
 * ROM images, firmware tables) goes to a region of its own above every
 * guest-physical address.
 *
 * Why the host addresses come from /proc/PID/smaps and the contents: QEMU
 * 7.2 does not say where a block is in its process (`info ramblock` has
 * no host address column; later versions that add one are used as is).
 * Each block is a mapping of its own, of exactly its size, which QEMU
 * marks MADV_DONTFORK; a size that only one such mapping has is a match.
 * When several blocks share a size (two NUMA nodes, two ROMs of 256 KiB),
 * pages read through QEMU's monitor (`xp`) from the guest side are
 * compared with each candidate. And every match of a block the guest can
 * address is checked that way: a mapping that holds other bytes than the
 * guest sees is an error, never a trace.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hostd.h"

#define PAGE 4096ULL

/* ---- sets of page intervals [a, b) ---- */

struct interval {
	uint64_t a, b;
};

struct ivset {
	struct interval *v;
	size_t n, cap;
};

static void ivset_free(struct ivset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Add [a, b), merging with what it touches. 0 or -1 (out of memory). */
static int ivset_add(struct ivset *s, uint64_t a, uint64_t b)
{
	size_t i, j;

	if (a >= b)
		return 0;
	for (i = 0; i < s->n && s->v[i].b < a; i++)
		;
	for (j = i; j < s->n && s->v[j].a <= b; j++) {
		if (s->v[j].a < a)
			a = s->v[j].a;
		if (s->v[j].b > b)
			b = s->v[j].b;
	}
	if (j == i) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 8;
			struct interval *g = realloc(s->v, cap * sizeof(*g));

			if (!g)
				return -1;
			s->v = g;
			s->cap = cap;
		}
		memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
		s->n++;
	} else if (j > i + 1) {
		memmove(s->v + i + 1, s->v + j, (s->n - j) * sizeof(*s->v));
		s->n -= j - i - 1;
	}
	s->v[i].a = a;
	s->v[i].b = b;
	return 0;
}

/* The parts of [a, b) that @s does not cover, appended to @out. */
static int ivset_gaps(const struct ivset *s, uint64_t a, uint64_t b,
		      struct ivset *out)
{
	size_t i;

	for (i = 0; i < s->n && a < b; i++) {
		if (s->v[i].b <= a)
			continue;
		if (s->v[i].a >= b)
			break;
		if (s->v[i].a > a && ivset_add(out, a, s->v[i].a))
			return -1;
		a = s->v[i].b;
	}
	return a < b ? ivset_add(out, a, b) : 0;
}

/* ---- building the layout ---- */

struct builder {
	struct layout *l;
	size_t cap;
	struct ivset *offsets;		/* per block: offsets (pages) taken */
	struct ivset pfns;		/* PFNs taken */
};

static int add_segment(struct builder *b, uint64_t pfn, uint64_t pages,
		       size_t block, uint64_t offset_page, bool hidden)
{
	struct layout *l = b->l;

	if (l->nsegs == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		struct segment *g = realloc(l->segs, cap * sizeof(*g));

		if (!g)
			return -1;
		l->segs = g;
		b->cap = cap;
	}
	l->segs[l->nsegs++] = (struct segment){
		.pfn = pfn, .pages = pages, .block = block,
		.block_offset = offset_page * PAGE, .hidden = hidden,
	};
	l->pages += pages;
	if (ivset_add(&b->offsets[block], offset_page, offset_page + pages))
		return -1;
	return pfn < HOSTD_UNMAPPED_PFN_BASE ?
	       ivset_add(&b->pfns, pfn, pfn + pages) : 0;
}

/*
 * The block a flat-view region name shows: the block of that idstr, or
 * the one whose idstr is a device path and then "/NAME". -1 when none,
 * -2 when several (two devices of one kind): then the range is not used.
 */
static long find_block(const struct ram_block *blocks, size_t n,
		       const char *name)
{
	size_t i, len = strlen(name);
	long found = -1;

	for (i = 0; i < n; i++) {
		size_t bl = strlen(blocks[i].name);

		if (strcmp(blocks[i].name, name) &&
		    (bl <= len || blocks[i].name[bl - len - 1] != '/' ||
		     strcmp(blocks[i].name + bl - len, name)))
			continue;
		if (!strcmp(blocks[i].name, name))
			return (long)i;		/* exact beats suffix */
		found = found == -1 ? (long)i : -2;
	}
	return found;
}

/* A visible range: its pages not yet taken by an earlier (lower) one. */
static int add_visible(struct builder *b, const struct flat_range *r,
		       size_t block)
{
	const struct ram_block *blk = &b->l->blocks[block];
	uint64_t first = (r->start + PAGE - 1) / PAGE;
	uint64_t end = r->end / PAGE + ((r->end + 1) % PAGE == 0);
	uint64_t off, used = blk->used / PAGE, pages;
	struct ivset free_offsets = { 0 };
	size_t i;
	int ret = -1;

	if (end <= first)
		return 0;
	/* The offset of the first whole page, in pages. */
	off = r->offset + (first * PAGE - r->start);
	if (off % PAGE)
		return 0;		/* not page-aligned: not RAM we read */
	off /= PAGE;
	if (off >= used)
		return 0;
	pages = end - first;
	if (pages > used - off)
		pages = used - off;
	if (ivset_gaps(&b->offsets[block], off, off + pages, &free_offsets))
		goto out;
	for (i = 0; i < free_offsets.n; i++) {
		uint64_t o = free_offsets.v[i].a, n = free_offsets.v[i].b - o;

		if (add_segment(b, first + (o - off), n, block, o, false))
			goto out;
		b->l->visible_pages += n;
	}
	ret = 0;
out:
	ivset_free(&free_offsets);
	return ret;
}

static int by_offset(const void *x, const void *y)
{
	const struct segment *a = x, *b = y;

	if (a->block != b->block)
		return a->block < b->block ? -1 : 1;
	return a->block_offset < b->block_offset ? -1 :
	       a->block_offset > b->block_offset;
}

static int by_pfn(const void *x, const void *y)
{
	const struct segment *a = x, *b = y;

	return a->pfn < b->pfn ? -1 : a->pfn > b->pfn;
}

/*
 * Pages of a block between two of its visible segments that put the
 * block at the same place (PFN - offset equal on both sides): they go
 * there, where no other page is.
 */
static int add_hidden(struct builder *b)
{
	struct layout *l = b->l;
	size_t nvisible = l->nsegs, i, k;
	struct segment *v;
	int ret = -1;

	v = malloc((nvisible ? nvisible : 1) * sizeof(*v));
	if (!v)
		return -1;
	if (nvisible)
		memcpy(v, l->segs, nvisible * sizeof(*v));
	qsort(v, nvisible, sizeof(*v), by_offset);
	for (i = 1; i < nvisible; i++) {
		const struct segment *p = &v[i - 1], *q = &v[i];
		uint64_t pe = p->block_offset / PAGE + p->pages;
		uint64_t qs = q->block_offset / PAGE;
		struct ivset gap = { 0 }, room = { 0 };

		if (p->block != q->block || pe >= qs ||
		    p->pfn - p->block_offset / PAGE !=
		    q->pfn - q->block_offset / PAGE ||
		    p->pfn >= HOSTD_UNMAPPED_PFN_BASE)
			continue;
		/* In PFNs: the gap minus PFNs taken, then minus offsets. */
		if (ivset_gaps(&b->pfns, p->pfn + p->pages, q->pfn, &gap))
			goto out;
		for (k = 0; k < gap.n; k++) {
			uint64_t delta = p->pfn - p->block_offset / PAGE;

			if (ivset_gaps(&b->offsets[p->block],
				       gap.v[k].a - delta, gap.v[k].b - delta,
				       &room)) {
				ivset_free(&gap);
				goto out;
			}
		}
		ivset_free(&gap);
		for (k = 0; k < room.n; k++) {
			uint64_t delta = p->pfn - p->block_offset / PAGE;
			uint64_t n = room.v[k].b - room.v[k].a;

			if (add_segment(b, room.v[k].a + delta, n, p->block,
					room.v[k].a, true)) {
				ivset_free(&room);
				goto out;
			}
			l->hidden_pages += n;
		}
		ivset_free(&room);
	}
	ret = 0;
out:
	free(v);
	return ret;
}

/* Every block's pages no address gave, above the guest's addresses. */
static int add_unmapped(struct builder *b, bool include)
{
	struct layout *l = b->l;
	uint64_t next = HOSTD_UNMAPPED_PFN_BASE;
	size_t i, k;

	for (i = 0; i < l->nblocks; i++) {
		struct ivset rest = { 0 };

		if (ivset_gaps(&b->offsets[i], 0, l->blocks[i].used / PAGE,
			       &rest))
			return -1;
		for (k = 0; k < rest.n; k++) {
			uint64_t n = rest.v[k].b - rest.v[k].a;

			if (!include) {
				l->skipped_pages += n;
				continue;
			}
			if (add_segment(b, next, n, i, rest.v[k].a, false)) {
				ivset_free(&rest);
				return -1;
			}
			l->unmapped_pages += n;
			next += n;
		}
		ivset_free(&rest);
	}
	return 0;
}

void layout_free(struct layout *l)
{
	free(l->blocks);
	free(l->segs);
	memset(l, 0, sizeof(*l));
}

int layout_build(struct ram_block *blocks, size_t nblocks,
		 const struct flat_range *ranges, size_t nranges,
		 bool include_unmapped, struct layout *out,
		 struct mb_err *err)
{
	struct builder b = { .l = out };
	size_t i;
	long k;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->blocks = blocks;
	out->nblocks = nblocks;
	b.offsets = calloc(nblocks ? nblocks : 1, sizeof(*b.offsets));
	if (!b.offsets)
		goto oom;
	for (i = 0; i < nranges; i++) {
		const struct flat_range *r = &ranges[i];

		if (r->kind != FLAT_RAM && r->kind != FLAT_ROM &&
		    r->kind != FLAT_ROMD)
			continue;
		k = find_block(blocks, nblocks, r->name);
		if (k < 0)
			continue;
		if (add_visible(&b, r, (size_t)k))
			goto oom;
	}
	if (add_hidden(&b) || add_unmapped(&b, include_unmapped))
		goto oom;
	if (!out->pages) {
		mb_errf(err, "no RAM block of the %zu QEMU reports is in the "
			"guest's address space, and none is taken", nblocks);
		goto out;
	}
	qsort(out->segs, out->nsegs, sizeof(*out->segs), by_pfn);
	for (i = 1; i < out->nsegs; i++)
		if (out->segs[i].pfn < out->segs[i - 1].pfn +
		    out->segs[i - 1].pages) {
			mb_errf(err, "layout: PFN %#" PRIx64 " twice (blocks "
				"%s and %s)", out->segs[i].pfn,
				blocks[out->segs[i - 1].block].name,
				blocks[out->segs[i].block].name);
			goto out;
		}
	ret = 0;
	goto out;
oom:
	mb_errf(err, "layout: out of memory");
out:
	for (i = 0; b.offsets && i < nblocks; i++)
		ivset_free(&b.offsets[i]);
	free(b.offsets);
	ivset_free(&b.pfns);
	if (ret) {
		layout_free(out);
	}
	return ret;
}

/* ---- finding the blocks in the process ---- */

#define SAMPLES 4

/* Does block @i have pages the guest can address? */
static bool addressable(const struct layout *l, size_t i)
{
	size_t s;

	for (s = 0; s < l->nsegs; s++)
		if (l->segs[s].block == i &&
		    l->segs[s].pfn < HOSTD_UNMAPPED_PFN_BASE &&
		    !l->segs[s].hidden)
			return true;
	return false;
}

/* Has block @i any segment at all (pages in the trace)? */
static bool in_trace(const struct layout *l, size_t i)
{
	size_t s;

	for (s = 0; s < l->nsegs; s++)
		if (l->segs[s].block == i)
			return true;
	return false;
}

static bool all_zero(const uint8_t *p)
{
	size_t i;

	for (i = 0; i < PAGE; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Up to SAMPLES non-zero pages of block @i as the guest sees them: their
 * guest-physical address and content, spread over its visible segments.
 * Returns how many were found (zero pages are skipped: every unused
 * mapping agrees with them).
 */
static int sample_guest(const struct layout *l, size_t i,
			const struct memory_view *view, uint64_t *offsets,
			uint8_t (*pages)[PAGE])
{
	uint64_t visible = 0, step, want, k;
	struct mb_err err;
	size_t s;
	int n = 0, tries = 0;

	for (s = 0; s < l->nsegs; s++)
		if (l->segs[s].block == i && !l->segs[s].hidden &&
		    l->segs[s].pfn < HOSTD_UNMAPPED_PFN_BASE)
			visible += l->segs[s].pages;
	if (!visible)
		return 0;
	/* 16 probes spread evenly; the first SAMPLES non-zero ones count. */
	step = visible / 16 ? visible / 16 : 1;
	for (want = step / 2; want < visible && n < SAMPLES && tries < 16;
	     want += step, tries++) {
		k = want;
		for (s = 0; s < l->nsegs; s++) {
			const struct segment *g = &l->segs[s];

			if (g->block != i || g->hidden ||
			    g->pfn >= HOSTD_UNMAPPED_PFN_BASE)
				continue;
			if (k < g->pages)
				break;
			k -= g->pages;
		}
		if (s == l->nsegs)
			break;
		if (view->read_guest(view->ctx, (l->segs[s].pfn + k) * PAGE,
				     pages[n], &err) || all_zero(pages[n]))
			continue;
		offsets[n++] = l->segs[s].block_offset + k * PAGE;
	}
	return n;
}

/* How many of @n samples the mapping at @hva holds. */
static unsigned int agreement(const struct memory_view *view, uint64_t hva,
			      int n, const uint64_t *offsets,
			      uint8_t (*pages)[PAGE], uint8_t *buf)
{
	struct mb_err err;
	unsigned int agreed = 0;
	int k;

	for (k = 0; k < n; k++)
		if (!view->read_host(view->ctx, hva + offsets[k], buf, PAGE,
				     &err) && !memcmp(buf, pages[k], PAGE))
			agreed++;
	return agreed;
}

static uint64_t mapping_size(const struct ram_block *b)
{
	uint64_t align = b->page_size > PAGE ? b->page_size : PAGE;

	return (b->total + align - 1) / align * align;
}

/* Candidate mappings of a block: readable, writable, its exact size. */
static bool candidate(const struct vma *v, const struct ram_block *b)
{
	return v->read && v->write && v->end - v->start == mapping_size(b) &&
	       (!v->flags_known || v->dontfork);
}

static int by_ram_offset(const void *x, const void *y, void *ctx)
{
	const struct ram_block *blocks = ctx;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return blocks[a].ram_offset < blocks[b].ram_offset ? -1 :
	       blocks[a].ram_offset > blocks[b].ram_offset;
}

struct sampled {
	int n;
	uint64_t offsets[SAMPLES];
	uint8_t pages[SAMPLES][PAGE];
};

/*
 * Place the blocks of one size (@group, @ng of them) on the candidate
 * mappings of that size (@cands, @nc, highest address first).
 */
static int place_group(const struct layout *l, const size_t *group, size_t ng,
		       const struct vma *const *cands, size_t nc,
		       const struct memory_view *view,
		       struct block_place *places, struct mb_err *err)
{
	struct sampled *smp = calloc(ng, sizeof(*smp));
	bool *taken = calloc(nc ? nc : 1, sizeof(*taken));
	uint8_t *buf = malloc(PAGE);
	size_t g, c, next = 0;
	int ret = -1;

	if (!smp || !taken || !buf) {
		mb_errf(err, "layout: out of memory");
		goto out;
	}
	for (g = 0; g < ng; g++)
		if (addressable(l, group[g]))
			smp[g].n = sample_guest(l, group[g], view,
						smp[g].offsets, smp[g].pages);
	/* By content first: the candidate holding the most samples. */
	for (g = 0; g < ng && nc > 1; g++) {
		unsigned int best = 0, second = 0, a;
		size_t best_c = 0;

		if (!smp[g].n)
			continue;
		for (c = 0; c < nc; c++) {
			if (taken[c])
				continue;
			a = agreement(view, cands[c]->start, smp[g].n,
				      smp[g].offsets, smp[g].pages, buf);
			if (a > best) {
				second = best;
				best = a;
				best_c = c;
			} else if (a > second) {
				second = a;
			}
		}
		if (best > second) {
			taken[best_c] = true;
			places[group[g]] = (struct block_place){
				.hva = cands[best_c]->start,
				.how = MATCH_CONTENT,
				.samples = (unsigned int)smp[g].n,
				.agreed = best,
			};
		}
	}
	/* The rest by size (one of each) or allocation order. */
	for (g = 0; g < ng; g++) {
		struct block_place *p = &places[group[g]];

		if (p->how != MATCH_NONE)
			continue;
		while (next < nc && taken[next])
			next++;
		if (next == nc)
			break;
		taken[next] = true;
		p->hva = cands[next]->start;
		p->how = ng == 1 && nc == 1 ? MATCH_SIZE : MATCH_ORDER;
		if (smp[g].n) {
			p->samples = (unsigned int)smp[g].n;
			p->agreed = agreement(view, p->hva, smp[g].n,
					      smp[g].offsets, smp[g].pages,
					      buf);
		}
	}
	/* A block the guest sees must hold what the guest sees. */
	for (g = 0; g < ng; g++) {
		const struct block_place *p = &places[group[g]];

		if (p->how == MATCH_NONE || !p->samples || p->agreed)
			continue;
		mb_errf(err, "RAM block %s: the mapping at %#" PRIx64 " holds "
			"none of %u pages sampled from the guest: not this "
			"block", l->blocks[group[g]].name, p->hva, p->samples);
		goto out;
	}
	ret = 0;
out:
	free(smp);
	free(taken);
	free(buf);
	return ret;
}

static int by_address_down(const void *x, const void *y)
{
	const struct vma *a = *(const struct vma *const *)x;
	const struct vma *b = *(const struct vma *const *)y;

	return a->start > b->start ? -1 : a->start < b->start;
}

/* Drop the segments of blocks that have no mapping. */
static void drop_unplaced(struct layout *l, const struct block_place *places)
{
	size_t s, kept = 0;

	for (s = 0; s < l->nsegs; s++) {
		if (places[l->segs[s].block].how == MATCH_NONE) {
			l->pages -= l->segs[s].pages;
			l->skipped_pages += l->segs[s].pages;
			if (l->segs[s].pfn >= HOSTD_UNMAPPED_PFN_BASE)
				l->unmapped_pages -= l->segs[s].pages;
			else if (l->segs[s].hidden)
				l->hidden_pages -= l->segs[s].pages;
			else
				l->visible_pages -= l->segs[s].pages;
			continue;
		}
		l->segs[kept++] = l->segs[s];
	}
	l->nsegs = kept;
}

int layout_attach(struct layout *l, const struct vma *vmas, size_t nvmas,
		  const struct memory_view *view, struct block_place *places,
		  char *warning, size_t warning_size, struct mb_err *err)
{
	size_t *group = malloc((l->nblocks ? l->nblocks : 1) * sizeof(*group));
	const struct vma **cands = malloc((nvmas ? nvmas : 1) *
					  sizeof(*cands));
	bool *done = calloc(l->nblocks ? l->nblocks : 1, sizeof(*done));
	size_t i, j, v, ng, nc;
	int ret = -1;

	warning[0] = '\0';
	if (!group || !cands || !done) {
		mb_errf(err, "layout: out of memory");
		goto out;
	}
	memset(places, 0, l->nblocks * sizeof(*places));
	for (i = 0; i < l->nblocks; i++) {
		const struct ram_block *b = &l->blocks[i];

		if (!b->hva)
			continue;
		/* QEMU said where: it must be inside one mapping. */
		for (v = 0; v < nvmas; v++)
			if (vmas[v].start <= b->hva && b->hva < vmas[v].end &&
			    b->used <= vmas[v].end - b->hva && vmas[v].read)
				break;
		done[i] = true;
		if (v < nvmas)
			places[i] = (struct block_place){ .hva = b->hva,
				.how = MATCH_REPORTED };
	}
	for (i = 0; i < l->nblocks; i++) {
		if (done[i])
			continue;
		ng = 0;
		for (j = i; j < l->nblocks; j++)
			if (!done[j] && mapping_size(&l->blocks[j]) ==
			    mapping_size(&l->blocks[i])) {
				group[ng++] = j;
				done[j] = true;
			}
		qsort_r(group, ng, sizeof(*group), by_ram_offset, l->blocks);
		nc = 0;
		for (v = 0; v < nvmas; v++)
			if (candidate(&vmas[v], &l->blocks[i]))
				cands[nc++] = &vmas[v];
		qsort(cands, nc, sizeof(*cands), by_address_down);
		if (place_group(l, group, ng, cands, nc, view, places, err))
			goto out;
	}
	for (i = 0; i < l->nblocks; i++) {
		if (places[i].how != MATCH_NONE || !in_trace(l, i))
			continue;
		if (addressable(l, i)) {
			mb_errf(err, "RAM block %s (%" PRIu64 " bytes): no "
				"mapping of %" PRIu64 " bytes marked for QEMU's "
				"RAM in the process", l->blocks[i].name,
				l->blocks[i].used, mapping_size(&l->blocks[i]));
			goto out;
		}
		if (!warning[0])
			snprintf(warning, warning_size, "RAM block %s (%" PRIu64
				 " bytes): no mapping of its size; its pages "
				 "are left out", l->blocks[i].name,
				 l->blocks[i].used);
	}
	drop_unplaced(l, places);
	ret = 0;
out:
	free(group);
	free(cands);
	free(done);
	return ret;
}
