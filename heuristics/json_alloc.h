/* SPDX-License-Identifier: GPL-2.0 */
/*
 * json_alloc.h - telling "out of memory" from "bad JSON".
 *
 * When jansson cannot allocate while it parses, it reports a syntax error
 * ("string or '}' expected"), which would send a user looking for a typo.
 * Routing its allocations through these functions notes every failed one,
 * per thread, so that a parse that failed can say which it was.
 */
#ifndef MB_JSON_ALLOC_H
#define MB_JSON_ALLOC_H

#include <stdbool.h>

/* Install the allocator; once, at start, before any JSON value exists. */
void mb_json_alloc_init(void);

/*
 * Whether one of jansson's allocations failed in this thread since the
 * previous call (which this one clears). Call it before parsing to clear,
 * and after a failed parse to tell the two causes apart.
 */
bool mb_json_alloc_failed(void);

#endif /* MB_JSON_ALLOC_H */
