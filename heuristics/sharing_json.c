// SPDX-License-Identifier: GPL-2.0
/*
 * sharing_json.c - a sharing computation as JSON (sharing_json.h), for
 * `mbuddy sharing --json` and mb-controld's GET /v1/sharing alike.
 *
 * Per VM its pages, distinct and duplicate pages; per pair the common
 * distinct pages ("common", the diagonal holding |D(v)|) and the shared
 * fraction, 1 on the diagonal; with 32-bit digests the false matches the
 * birthday bound expects, per VM and per pair; the group of all VMs.
 */
#include <math.h>

#include "sharing_json.h"

double mb_shared_fraction(double common, const struct mb_digest_set *a,
			  const struct mb_digest_set *b)
{
	uint64_t m = a->distinct < b->distinct ? a->distinct : b->distinct;

	if (!m || isnan(common))
		return 0;
	return common / (double)m;
}

static json_t *json_num(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *vm_json(const struct mb_digest_set *s, const char *label)
{
	uint64_t dup = mb_set_self_duplicates(s);
	json_t *v = json_object();

	json_object_set_new(v, "name", json_string(s->name));
	json_object_set_new(v, "trace", json_string(label));
	json_object_set_new(v, "pages", json_integer((json_int_t)s->pages));
	json_object_set_new(v, "distinct",
			    json_integer((json_int_t)s->distinct));
	json_object_set_new(v, "duplicates", json_integer((json_int_t)dup));
	json_object_set_new(v, "saved_mb", json_real(mb_pages_mb((double)dup)));
	if (s->width == 4)
		json_object_set_new(v, "false_matches",
				    json_real(mb_false_matches_within(s->distinct, 4)));
	return v;
}

json_t *mb_sharing_json(const struct mb_digest_set *sets, size_t n,
			const char *const *labels, const double *common,
			bool exact, const struct mb_bloom_params *bp,
			double bits_per_page, double group_distinct)
{
	json_t *root = json_object(), *vms = json_array(), *mat = json_array();
	json_t *frac = json_array(), *fm = NULL, *group = json_object();
	int width = n ? sets[0].width : 4;
	uint64_t pages = 0;
	size_t i, j;

	if (!root || !vms || !mat || !frac || !group) {
		json_decref(root);
		json_decref(vms);
		json_decref(mat);
		json_decref(frac);
		json_decref(group);
		return NULL;
	}
	json_object_set_new(root, "estimator",
			    json_string(exact ? "exact" : "bloom"));
	json_object_set_new(root, "algorithm",
			    json_string(mb_algo_name(n ? sets[0].algorithm : 0)));
	json_object_set_new(root, "digest_bits", json_integer(width * 8));
	if (bp) {
		json_t *b = json_object();

		json_object_set_new(b, "m_bits", json_integer((json_int_t)bp->m));
		json_object_set_new(b, "k", json_integer(bp->k));
		if (bits_per_page > 0)
			json_object_set_new(b, "bits_per_page",
					    json_real(bits_per_page));
		json_object_set_new(root, "bloom", b);
	}
	if (width == 4)
		fm = json_array();
	for (i = 0; i < n; i++) {
		json_t *row = json_array(), *frow = json_array(), *fmrow = NULL;

		json_array_append_new(vms, vm_json(&sets[i], labels[i]));
		pages += sets[i].pages;
		if (fm)
			fmrow = json_array();
		for (j = 0; j < n; j++) {
			double c = i == j ? (double)sets[i].distinct :
					    common[i * n + j];

			json_array_append_new(row, exact ?
				json_integer((json_int_t)c) : json_num(c));
			json_array_append_new(frow, json_num(i == j ? 1 :
				mb_shared_fraction(c, &sets[i], &sets[j])));
			if (fmrow)
				json_array_append_new(fmrow, json_real(i == j ? 0 :
					mb_false_matches(sets[i].distinct,
							 sets[j].distinct, 4)));
		}
		json_array_append_new(mat, row);
		json_array_append_new(frac, frow);
		if (fm)
			json_array_append_new(fm, fmrow);
	}
	json_object_set_new(root, "vms", vms);
	json_object_set_new(root, "common", mat);
	json_object_set_new(root, "shared_fraction", frac);
	if (fm)
		json_object_set_new(root, "false_matches", fm);
	json_object_set_new(group, "vms", json_integer((json_int_t)n));
	json_object_set_new(group, "pages", json_integer((json_int_t)pages));
	json_object_set_new(group, "distinct", exact ?
		json_integer((json_int_t)group_distinct) :
		json_num(group_distinct));
	json_object_set_new(group, "saved", json_num((double)pages -
						      group_distinct));
	json_object_set_new(group, "saved_mb",
			    json_num(mb_pages_mb((double)pages - group_distinct)));
	if (width == 4)
		json_object_set_new(group, "false_matches",
			json_real(mb_false_matches_within((uint64_t)group_distinct, 4)));
	json_object_set_new(root, "group", group);
	return root;
}
