// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_text.c - libFuzzer target for the legacy text importer. Whole and
 * byte-split parsing must agree; so must the whole input (whose simple
 * lines take the parser's whole-line fast path) and the same input fed one
 * byte at a time (which never does), digest for digest and in the error
 * message; an accepted input exported again must re-import to the same
 * digests.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_text_parser p;
	struct mbt_trace t, again, back;
	struct mb_err err;
	size_t split = size ? data[0] % (size + 1) : 0;
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;
	int whole, parts;

	whole = mb_text_read_mem(data, size, "fuzz", &t, &err);
	mb_text_init(&p);
	parts = mb_text_feed(&p, data, split, &err);
	if (parts == 0)
		parts = mb_text_feed(&p, data + split, size - split, &err);
	if (parts == 0)
		parts = mb_text_finish(&p, "fuzz", &again, &err);
	mb_text_release(&p);
	if (whole != parts)
		abort();
	{
		struct mb_text_parser b;
		struct mbt_trace bt;
		struct mb_err berr, werr = err;
		size_t i;
		int bytes = 0;

		/* err still holds the whole parse's message on failure. */
		if (whole < 0)
			mb_text_read_mem(data, size, "fuzz", &t, &werr);
		mb_text_init(&b);
		if (size & 1)	/* half the runs with the array reserved */
			mb_text_reserve(&b, size / 2 + 1, &berr);
		for (i = 0; i < size && bytes == 0; i++)
			bytes = mb_text_feed(&b, data + i, 1, &berr);
		if (bytes == 0)
			bytes = mb_text_finish(&b, "fuzz", &bt, &berr);
		mb_text_release(&b);
		if (bytes != whole)
			abort();
		if (whole < 0 && strcmp(berr.msg, werr.msg))
			abort();
		if (whole == 0) {
			if (bt.info.page_count != t.info.page_count ||
			    memcmp(bt.digests, t.digests, t.info.page_count * 8))
				abort();
			mbt_trace_free(&bt);
		}
	}
	if (whole < 0)
		return 0;
	if (again.info.page_count != t.info.page_count)
		abort();
	mbt_trace_free(&again);
	f = open_memstream(&out, &out_len);
	if (mb_text_write(f, &t, true, &err) < 0)
		abort();
	fclose(f);
	if (mb_text_read_mem(out, out_len, "fuzz", &back, &err) < 0 ||
	    back.info.page_count != t.info.page_count ||
	    memcmp(back.digests, t.digests, t.info.page_count * 8))
		abort();
	mbt_trace_free(&back);
	mbt_trace_free(&t);
	free(out);
	return 0;
}
