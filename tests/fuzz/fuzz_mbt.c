// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_mbt.c - libFuzzer target for the .mbt reader.
 *
 * Each input is parsed three ways that must agree: whole (size known, as
 * for a file), in two pieces split at a point chosen by the input (as an
 * upload arrives), and with the size unknown. An accepted trace is written
 * back and must re-read to the same records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbt.h"

static int verdict_streamed(const uint8_t *data, size_t size, size_t split,
			    uint64_t total)
{
	struct mbt_parser *p = mbt_parser_new(NULL, NULL, total);
	struct mb_err err;
	int ret;

	ret = mbt_parser_feed(p, data, split, &err);
	if (ret == 0)
		ret = mbt_parser_feed(p, data + split, size - split, &err);
	if (ret == 0)
		ret = mbt_parser_finish(p, NULL, &err);
	mbt_parser_free(p);
	return ret;
}

struct membuf {
	uint8_t *data;
	size_t len;
};

static int mem_sink(void *ctx, const void *buf, size_t len, struct mb_err *err)
{
	struct membuf *m = ctx;
	uint8_t *d = realloc(m->data, m->len + len);

	(void)err;
	if (!d)
		abort();
	memcpy(d + m->len, buf, len);
	m->data = d;
	m->len += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbt_trace t, back;
	struct membuf m = { NULL, 0 };
	struct mb_err err;
	size_t split = size ? data[size / 2] * size / 256 : 0;
	int whole = mbt_read_mem(data, size, &t, &err);

	if (size && verdict_streamed(data, size, split, size) != whole)
		abort();
	/* With the size unknown the parser may only accept the same inputs. */
	if (size && verdict_streamed(data, size, split, 0) != whole)
		abort();
	if (whole < 0)
		return 0;
	if (mbt_write(&t, mem_sink, &m, &err) < 0)
		abort();
	if (mbt_read_mem(m.data, m.len, &back, &err) < 0)
		abort();
	if (back.info.page_count != t.info.page_count ||
	    memcmp(back.digests, t.digests, t.info.page_count * 8))
		abort();
	mbt_trace_free(&back);
	mbt_trace_free(&t);
	free(m.data);
	return 0;
}
