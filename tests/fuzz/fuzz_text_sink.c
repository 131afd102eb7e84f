// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_text_sink.c - libFuzzer target for the legacy text parser with a
 * sink (the legacy listener's way: digests handed over in batches, never
 * kept): on every input it must accept and refuse exactly what the parser
 * keeping its digests does, with the same message, and hand over the same
 * digests in the same order, whatever the pieces the input comes in (in
 * one piece, the fast paths take it as they take the parser's own).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbt.h"

struct seen {
	uint64_t *d;
	uint64_t n, cap;
};

static int collect(void *ctx, const uint64_t *d, size_t n, struct mb_err *err)
{
	struct seen *s = ctx;

	(void)err;
	if (!n || n > MB_TEXT_BATCH)
		abort();		/* batches are 1..MB_TEXT_BATCH */
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->d = realloc(s->d, s->cap * sizeof(*s->d));
		if (!s->d)
			abort();
	}
	memcpy(s->d + s->n, d, n * sizeof(*d));
	s->n += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_text_parser p;
	struct seen seen = { 0 };
	struct mbt_trace t;
	struct mb_err werr = { "" }, serr = { "" };
	/* Pieces of 1 to 97 bytes, or (a quarter of the inputs) one piece. */
	size_t step = !size ? 1 : data[0] % 4 ? data[0] % 97 + 1 : size, off;
	int whole, sink = 0;
	uint64_t i;

	whole = mb_text_read_mem(data, size, "fuzz", &t, &werr);
	mb_text_init(&p);
	p.sink = collect;
	p.sink_ctx = &seen;
	for (off = 0; off < size && sink == 0; off += step)
		sink = mb_text_feed(&p, data + off,
				    size - off < step ? size - off : step, &serr);
	if (sink == 0)
		sink = mb_text_end(&p, &serr);
	if (sink != whole)
		abort();
	if (whole < 0 && strcmp(serr.msg, werr.msg))
		abort();
	if (whole == 0) {
		if (seen.n != t.info.page_count || p.count != seen.n)
			abort();
		for (i = 0; i < seen.n; i++)
			if (seen.d[i] != t.digests[i])
				abort();
		mbt_trace_free(&t);
	}
	mb_text_release(&p);
	free(seen.d);
	return 0;
}
