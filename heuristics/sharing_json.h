/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sharing_json.h - the JSON form of a sharing computation: what `mbuddy
 * sharing --json` prints and what mb-controld's GET /v1/sharing serves
 * (and its dashboard draws), built by one function so that both give the
 * same numbers in the same fields.
 */
#ifndef MB_SHARING_JSON_H
#define MB_SHARING_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "bloom.h"
#include "sharing.h"

/*
 * The object described in docs/sharing.md ("estimator", "algorithm",
 * "digest_bits", "vms", "common", "shared_fraction", "false_matches" for
 * 32-bit digests, "group", "bloom" when @bp): @n comparable @sets, each
 * labelled by @labels[i] (its "trace" field: a path, "uuid/version");
 * @common the n x n pair counts (the diagonal is ignored), exact counts
 * when @exact, estimates (NaN: a saturated filter, null in JSON)
 * otherwise; @bits_per_page is listed under "bloom" when > 0;
 * @group_distinct distinct(G) over all of them. A new reference, or NULL
 * when memory runs out.
 */
json_t *mb_sharing_json(const struct mb_digest_set *sets, size_t n,
			const char *const *labels, const double *common,
			bool exact, const struct mb_bloom_params *bp,
			double bits_per_page, double group_distinct);

/* common(a, b) / min(|D(a)|, |D(b)|), 0 when either is empty or @common NaN. */
double mb_shared_fraction(double common, const struct mb_digest_set *a,
			  const struct mb_digest_set *b);

#endif /* MB_SHARING_JSON_H */
