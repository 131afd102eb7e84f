// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_hostd_qemu.c - mb-hostd's parsers of QEMU's answers (hostd/qemu.c)
 * and the layout built from them (hostd/layout.c). The input is split at
 * its first NUL byte: the part before is `info ramblock`, the part after
 * `info mtree -f`; each parser also gets the whole input, as do the xp
 * and QMP parsers. Buffers are exactly the input's size, without a NUL at
 * the end. Nothing may crash or read past the end; a refusal must say
 * something; a layout must hold each PFN once, in order, every page
 * inside its block's used bytes, and add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hostd/hostd.h"

static void check_error(int ret, const struct mb_err *err)
{
	if (ret && (!memchr(err->msg, '\0', sizeof(err->msg)) || !err->msg[0]))
		abort();
}

static void check_layout(const struct layout *l)
{
	uint64_t pages = 0;
	size_t i;

	for (i = 0; i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];

		if (!s->pages || s->block >= l->nblocks ||
		    s->block_offset % 4096 ||
		    s->block_offset / 4096 + s->pages >
		    l->blocks[s->block].used / 4096)
			abort();
		if (i && s->pfn < l->segs[i - 1].pfn + l->segs[i - 1].pages)
			abort();
		pages += s->pages;
	}
	if (pages != l->pages || l->pages != l->visible_pages +
	    l->hidden_pages + l->unmapped_pages)
		abort();
}

static void layouts(const char *a, size_t alen, const char *b, size_t blen)
{
	struct ram_block *blocks;
	struct flat_range *ranges;
	struct layout l;
	struct mb_err err;
	size_t nb, nr;
	int include, ret;

	ret = qemu_parse_ramblocks(a, alen, &blocks, &nb, &err);
	check_error(ret, &err);
	if (ret)
		return;
	ret = qemu_parse_flatview(b, blen, "memory", &ranges, &nr, &err);
	check_error(ret, &err);
	if (ret) {
		free(blocks);
		return;
	}
	for (include = 0; include < 2; include++) {
		struct ram_block *copy = malloc(nb * sizeof(*copy));

		if (!copy)
			abort();
		memcpy(copy, blocks, nb * sizeof(*copy));
		ret = layout_build(copy, nb, ranges, nr, include, &l, &err);
		check_error(ret, &err);
		if (!ret) {
			check_layout(&l);
			layout_free(&l);
		}
	}
	free(blocks);
	free(ranges);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	const char *nul;
	struct ram_block *blocks;
	struct flat_range *ranges;
	struct mb_err err;
	uint8_t page[64];
	pid_t tids[8];
	uint8_t uuid[MBT_UUID_LEN];
	size_t n;
	json_t *ret;
	char *hmp;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	nul = memchr(text, '\0', size);
	if (nul)
		layouts(text, (size_t)(nul - text), nul + 1,
			size - (size_t)(nul - text) - 1);
	r = qemu_parse_ramblocks(text, size, &blocks, &n, &err);
	check_error(r, &err);
	if (!r)
		free(blocks);
	r = qemu_parse_flatview(text, size, "memory", &ranges, &n, &err);
	check_error(r, &err);
	if (!r)
		free(ranges);
	check_error(qemu_parse_xp(text, size, 0x400, page, sizeof(page),
				  &err), &err);
	ret = qmp_parse_answer(text, size, &err);
	if (ret) {
		r = qmp_thread_ids(ret, tids, 8, &err);
		if (r > 8 || r == 0 || (r < 0 && !err.msg[0]))
			abort();
		check_error(qmp_uuid(ret, uuid, &err), &err);
		json_decref(ret);
	} else {
		check_error(-1, &err);
	}
	hmp = qmp_hmp_text(text, size, &err);
	free(hmp);
	free(text);
	return 0;
}
