// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_pagetrace.c - libFuzzer target for the page-trace reader (the
 * reduced valgrind lackey traces of memtraces/lackey/). Reading the input
 * whole and cut in three pieces must agree on the verdict and, when it
 * accepts, on every reference; page numbers must be dense.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_input.h"

static int parse(const uint8_t *data, size_t size, size_t a, size_t b,
		 struct mb_sim_vm *vm)
{
	struct mb_pagetrace_parser p;
	struct mb_err err;
	int ret;

	mb_pagetrace_init(&p);
	ret = mb_pagetrace_feed(&p, data, a, &err);
	if (!ret)
		ret = mb_pagetrace_feed(&p, data + a, b - a, &err);
	if (!ret)
		ret = mb_pagetrace_feed(&p, data + b, size - b, &err);
	if (!ret)
		ret = mb_pagetrace_finish(&p, "fuzz", vm, &err);
	mb_pagetrace_release(&p);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_sim_vm whole, cut;
	size_t a = size ? data[0] % (size + 1) : 0, b;
	int w, c;
	uint64_t t;

	b = a + (size > 1 ? data[1] % (size - a + 1) : 0);
	w = parse(data, size, size, size, &whole);
	c = parse(data, size, a, b, &cut);
	if (w != c)
		abort();
	if (w)
		return 0;
	if (whole.n != cut.n || whole.pages != cut.pages ||
	    memcmp(whole.refs, cut.refs, whole.n * sizeof(*whole.refs)) ||
	    memcmp(whole.page_of, cut.page_of, whole.pages * sizeof(*whole.page_of)) ||
	    strcmp(whole.name, cut.name))
		abort();
	for (t = 0; t < whole.n; t++)
		if (whole.refs[t] >= whole.pages)
			abort();
	free(whole.refs);
	free(whole.page_of);
	free(cut.refs);
	free(cut.page_of);
	return 0;
}
