// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_text.c - libFuzzer target for the legacy text importer. Whole and
 * byte-split parsing must agree; an accepted input exported again must
 * re-import to the same digests.
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
