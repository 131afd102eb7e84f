// SPDX-License-Identifier: GPL-2.0
/*
 * json_alloc.c - jansson's allocator, with a per-thread note of failures
 * (json_alloc.h).
 */
#include <stdlib.h>

#include <jansson.h>

#include "json_alloc.h"

static __thread bool failed;

static void *json_malloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		failed = true;
	return p;
}

void mb_json_alloc_init(void)
{
	json_set_alloc_funcs(json_malloc, free);
}

bool mb_json_alloc_failed(void)
{
	bool was = failed;

	failed = false;
	return was;
}
