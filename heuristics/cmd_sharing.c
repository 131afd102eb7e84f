// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_sharing.c - `mbuddy sharing`: how much memory the given VMs share.
 *
 * Loads every trace (in parallel), reduces each to its digest set, then
 * prints per VM its pages, distinct and duplicate pages; for every pair
 * common() (exact by default, the Bloom estimate with --bloom); and the
 * group values of all VMs together. With 32-bit digests every count is
 * followed by the number of false matches the birthday bound expects.
 * --svg draws the pairwise shared fraction as a heatmap.
 *
 * The shared fraction of a pair is common(a, b) / min(|D(a)|, |D(b)|):
 * the part of the smaller VM's distinct pages the larger one also holds.
 *
 * Exact sharing of at most 64 VMs goes through their profile (profile.h):
 * each trace is split by its digests' top bits instead of sorted, and the
 * matrix comes from the profile's masks; the same integers as
 * mb_sharing_exact() on sorted sets, at a fraction of the cost. Bloom
 * estimates and larger groups use the sets.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bloom.h"
#include "cmd.h"
#include "pairwise.h"
#include "profile.h"
#include "sharing.h"
#include "sharing_json.h"
#include "textsafe.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define MATRIX_MAX 16		/* larger groups list their top pairs */
#define TOP_PAIRS 20

static const char sharing_usage[] =
"usage: mbuddy sharing [options] TRACE...\n"
"\n"
"How many pages the VMs behind the traces share: per VM its pages, distinct\n"
"and duplicate pages; for each pair the common distinct pages; for all VMs\n"
"together pages, distinct pages and pages saved by merging.\n"
"\n"
"options:\n"
"  --json                 machine-readable output\n"
"  --bloom BITS_PER_PAGE  estimate pairs with Bloom filters of this many bits\n"
"                         per distinct page of the largest VM, not exactly\n"
"  --bloom-bytes BYTES    ... or with filters of this many bytes\n"
"  --include-free         count free pages too (excluded by default)\n"
"  --svg FILE             write a heatmap of the pairwise shared fraction\n"
"  --threads N            worker threads (default: one per CPU)\n"
"  -h, --help             this text\n"
"\n"
"Traces may be .mbt files or the legacy text format, told apart by content.\n"
"All traces must use the same digest algorithm.\n";

struct load_ctx {
	char **paths;
	struct mb_digest_set *sets;
	struct mb_err *errs;
	int *failed;
	bool include_free;
	struct mb_digest_parts *parts;	/* profiled: split digests, else NULL */
	unsigned int bits;
	size_t *order;			/* the traces by size, largest first */
};

static void load_one(void *arg, size_t k)
{
	struct load_ctx *c = arg;
	size_t i = c->order ? c->order[k] : k;
	struct mbt_trace t;

	if (c->parts) {
		if (mb_parts_from_path(&c->parts[i], &c->sets[i], c->paths[i],
				       c->include_free, c->bits, &c->errs[i]))
			c->failed[i] = 1;
		return;
	}
	memset(&t, 0, sizeof(t));
	if (mb_trace_load(c->paths[i], &t, &c->errs[i])) {
		c->failed[i] = 1;
		return;
	}
	if (c->parts ? mb_parts_from_trace(&c->parts[i], &c->sets[i], &t,
					   c->include_free, NULL, c->bits,
					   &c->errs[i]) :
		       mb_set_from_trace(&c->sets[i], &t, c->include_free, NULL,
					 &c->errs[i])) {
		mb_err_prefix(&c->errs[i], "%s", c->paths[i]);
		c->failed[i] = 1;
	}
	mbt_trace_free(&t);
}

/*
 * Names label rows and columns, so they must differ: a VM whose name is
 * empty or repeats another's is called by its file name instead.
 */
static void unique_names(struct mb_digest_set *sets, char **paths, size_t n)
{
	bool *clash = calloc(n, sizeof(*clash));
	size_t i, j;

	if (!clash)
		return;
	for (i = 0; i < n; i++) {
		clash[i] = !sets[i].name[0];
		for (j = 0; j < n && !clash[i]; j++)
			clash[i] = j != i && !strcmp(sets[i].name, sets[j].name);
	}
	for (i = 0; i < n; i++) {
		const char *base = strrchr(paths[i], '/');
		char *copy;

		if (!clash[i])
			continue;
		copy = strdup(base ? base + 1 : paths[i]);
		if (copy) {
			free(sets[i].name);
			sets[i].name = copy;
		}
	}
	free(clash);
}

struct sized {
	uint64_t bytes;
	size_t i;
};

static int sized_cmp(const void *x, const void *y)
{
	const struct sized *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/*
 * The order to load @n traces in: largest first, so the threads that take
 * them one after another finish together instead of one waiting on the
 * largest trace, taken last. NULL (file order) when memory is short.
 */
static size_t *load_order(char **paths, size_t n)
{
	struct sized *by = calloc(n, sizeof(*by));
	size_t *order = calloc(n, sizeof(*order)), i;
	struct stat st;

	if (!by || !order) {
		free(by);
		free(order);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		by[i].i = i;
		if (!stat(paths[i], &st))
			by[i].bytes = (uint64_t)st.st_size;
	}
	qsort(by, n, sizeof(*by), sized_cmp);
	for (i = 0; i < n; i++)
		order[i] = by[i].i;
	free(by);
	return order;
}

static void progress_tty(void *ctx, double done)
{
	(void)ctx;
	fprintf(stderr, "\rmbuddy sharing: %3.0f%%", done * 100);
	fflush(stderr);
}

static int write_svg(const char *path, const struct mb_digest_set *sets,
		     size_t n, const double *common, const char *estimator)
{
	int cell = n <= 12 ? 48 : n <= 40 ? 20 : n <= 200 ? 6 : 2;
	int label = n <= 40 ? 120 : 10, size, i, j;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	size = label + (int)n * cell;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n",
		size + 10, size + 40);
	fprintf(f, "<title>shared fraction of distinct pages (%s): "
		"common(a,b) / min(|D(a)|,|D(b)|)</title>\n", estimator);
	fprintf(f, "<text x=\"4\" y=\"%d\">shared fraction (%s), white 0 "
		"to dark blue 1</text>\n", size + 30, estimator);
	for (i = 0; i < (int)n; i++) {
		if (label > 10) {
			fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
				"%.20s</text>\n", label - 4,
				label + i * cell + cell / 2 + 4, sets[i].name);
			fprintf(f, "<text transform=\"translate(%d,%d) "
				"rotate(-60)\">%.20s</text>\n",
				label + i * cell + cell / 2, label - 4,
				sets[i].name);
		}
		for (j = 0; j < (int)n; j++) {
			double fr = i == j ? 1 : mb_shared_fraction(
				common[i * n + j], &sets[i], &sets[j]);
			int r, g, b;

			if (fr < 0)
				fr = 0;
			if (fr > 1)
				fr = 1;
			r = (int)(255 - fr * (255 - 8));
			g = (int)(255 - fr * (255 - 48));
			b = (int)(255 - fr * (255 - 107));
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
				"height=\"%d\" fill=\"#%02x%02x%02x\"><title>"
				"%s / %s: %.3f</title></rect>\n",
				label + j * cell, label + i * cell, cell, cell,
				r, g, b, sets[i].name, sets[j].name, fr);
			if (cell >= 20)
				fprintf(f, "<text x=\"%d\" y=\"%d\" "
					"text-anchor=\"middle\" fill=\"%s\" "
					"font-size=\"%d\">%.2f</text>\n",
					label + j * cell + cell / 2,
					label + i * cell + cell / 2 + 4,
					fr > 0.5 ? "white" : "black",
					cell >= 48 ? 11 : 7, fr);
		}
	}
	fprintf(f, "</svg>\n");
	return fclose(f) ? -1 : 0;
}

static int print_json(char **paths, const struct mb_digest_set *sets,
		      size_t n, const double *common, bool exact,
		      const struct mb_bloom_params *bp, double bits_per_page,
		      double group_distinct)
{
	json_t *root = mb_sharing_json(sets, n, (const char *const *)paths,
				       common, exact, bp, bits_per_page,
				       group_distinct);

	if (!root)
		return -1;
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	putchar('\n');
	json_decref(root);
	return 0;
}

struct pair {
	double common;
	size_t a, b;
};

static int pair_cmp(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->common != q->common)
		return p->common < q->common ? 1 : -1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

static void print_human(const struct mb_digest_set *sets, size_t n,
			const double *common, bool exact,
			const struct mb_bloom_params *bp, double group_distinct)
{
	int width = n ? sets[0].width : 4;
	uint64_t pages = 0;
	double worst_fm = 0;
	size_t i, j;

	printf("%zu VMs, %s digests (%d-bit), %s\n", n,
	       mb_algo_name(n ? sets[0].algorithm : 0), width * 8,
	       exact ? "exact counts" : "Bloom-filter estimates");
	if (bp)
		printf("filters: m = %llu bits (%.1f KiB), k = %u\n",
		       (unsigned long long)bp->m, (double)bp->m / 8192, bp->k);
	printf("\n%-20s %10s %10s %10s %9s", "vm", "pages", "distinct",
	       "duplicate", "dup MiB");
	if (width == 4)
		printf(" %9s", "false*");
	printf("\n");
	for (i = 0; i < n; i++) {
		const struct mb_digest_set *s = &sets[i];

		printf("%-20.20s %10llu %10llu %10llu %9.1f", mb_display(s->name),
		       (unsigned long long)s->pages,
		       (unsigned long long)s->distinct,
		       (unsigned long long)mb_set_self_duplicates(s),
		       mb_pages_mb((double)mb_set_self_duplicates(s)));
		if (width == 4)
			printf(" %9.3f", mb_false_matches_within(s->distinct, 4));
		printf("\n");
		pages += s->pages;
		for (j = i + 1; j < n; j++) {
			double f = mb_false_matches(s->distinct,
						    sets[j].distinct, width);

			if (f > worst_fm)
				worst_fm = f;
		}
	}
	if (n <= MATRIX_MAX) {
		int w = 10;	/* column width: the longest name, 10..16 */

		for (i = 0; i < n; i++)
			if ((int)strlen(sets[i].name) > w)
				w = strlen(sets[i].name) > 16 ? 16 :
				    (int)strlen(sets[i].name);
		printf("\ncommon distinct pages per pair%s:\n%-*s",
		       exact ? "" : " (estimated)", w, "");
		for (j = 0; j < n; j++)
			printf(" %*.*s", w, w, mb_display(sets[j].name));
		printf("\n");
		for (i = 0; i < n; i++) {
			printf("%-*.*s", w, w, mb_display(sets[i].name));
			for (j = 0; j < n; j++) {
				if (i == j)
					printf(" %*s", w, "-");
				else if (isnan(common[i * n + j]))
					printf(" %*s", w, "saturated");
				else
					printf(" %*.0f", w, common[i * n + j]);
			}
			printf("\n");
		}
	} else {
		struct pair *pairs = malloc(n * (n - 1) / 2 * sizeof(*pairs));
		size_t np = 0;

		if (pairs) {
			for (i = 0; i < n; i++)
				for (j = i + 1; j < n; j++)
					pairs[np++] = (struct pair){
						isnan(common[i * n + j]) ? -1 :
						common[i * n + j], i, j };
			qsort(pairs, np, sizeof(*pairs), pair_cmp);
			printf("\nthe %d pairs sharing the most%s:\n", TOP_PAIRS,
			       exact ? "" : " (estimated)");
			for (i = 0; i < np && i < TOP_PAIRS; i++)
				printf("  %-20.20s %-20.20s %10.0f pages "
				       "(%.1f MiB, %.1f%%)\n",
				       sets[pairs[i].a].name,
				       sets[pairs[i].b].name, pairs[i].common,
				       mb_pages_mb(pairs[i].common),
				       100 * mb_shared_fraction(
					       pairs[i].common,
					       &sets[pairs[i].a],
					       &sets[pairs[i].b]));
			free(pairs);
		}
	}
	printf("\nall %zu VMs together: %llu pages, %.0f distinct%s, "
	       "%.0f saved (%.1f MiB, %.1f%%)\n", n,
	       (unsigned long long)pages, group_distinct,
	       exact ? "" : " (estimated)", (double)pages - group_distinct,
	       mb_pages_mb((double)pages - group_distinct),
	       pages ? 100 * ((double)pages - group_distinct) / (double)pages : 0);
	if (width == 4)
		printf("\n* 32-bit digests: expected false matches (birthday "
		       "bound): inside one VM as listed;\n  per pair at most "
		       "%.3f; among the group's distinct pages %.3f.\n",
		       worst_fm, mb_false_matches_within((uint64_t)group_distinct,
							 4));
}

int cmd_sharing(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bloom", required_argument, NULL, 'b' },
		{ "bloom-bytes", required_argument, NULL, 'B' },
		{ "include-free", no_argument, NULL, 'f' },
		{ "svg", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mb_sharing_opts opts = { 0 };
	struct mb_sharing_matrix exact = { 0 };
	struct mb_bloom_params bp = { 0 };
	struct mb_profile prof = { 0 };
	struct load_ctx lc = { 0 };
	bool json = false, use_bloom = false;
	double bits_per_page = 0, *common = NULL, group_distinct = 0;
	unsigned long long bloom_bytes = 0;
	const char *svg = NULL;
	struct mb_err err;
	size_t n, i, max_pages = 0;
	uint64_t pages = 0;
	int c, rc = EXIT_FAIL;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'b':
			bits_per_page = strtod(optarg, &end);
			if (*end || !(bits_per_page > 0) || bits_per_page > 1024) {
				fprintf(stderr, "mbuddy sharing: --bloom: '%s' is "
					"not a number of bits per page in "
					"(0, 1024]\n", optarg);
				return EXIT_USAGE;
			}
			use_bloom = true;
			break;
		case 'B':
			bloom_bytes = strtoull(optarg, &end, 10);
			if (*end || !bloom_bytes || optarg[0] == '-') {
				fprintf(stderr, "mbuddy sharing: --bloom-bytes: "
					"'%s' is not a positive number of "
					"bytes\n", optarg);
				return EXIT_USAGE;
			}
			use_bloom = true;
			break;
		case 'f':
			lc.include_free = true;
			break;
		case 's':
			svg = optarg;
			break;
		case 't':
			opts.threads = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !opts.threads || opts.threads > 64) {
				fprintf(stderr, "mbuddy sharing: --threads: '%s' "
					"is not a number from 1 to 64\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(sharing_usage, stdout);
			return 0;
		default:
			fputs(sharing_usage, stderr);
			return EXIT_USAGE;
		}
	}
	n = (size_t)(argc - optind);
	if (!n) {
		fprintf(stderr, "mbuddy sharing: no trace given\n%s",
			sharing_usage);
		return EXIT_USAGE;
	}
	lc.paths = argv + optind;
	lc.sets = calloc(n, sizeof(*lc.sets));
	lc.errs = calloc(n, sizeof(*lc.errs));
	lc.failed = calloc(n, sizeof(*lc.failed));
	common = calloc(n * n, sizeof(*common));
	if (!use_bloom && n <= MB_PROFILE_MAX_VMS) {
		lc.parts = calloc(n, sizeof(*lc.parts));
		lc.bits = mb_parts_bits_for_files((const char *const *)lc.paths,
						  n);
	}
	if (!lc.sets || !lc.errs || !lc.failed || !common ||
	    (!use_bloom && n <= MB_PROFILE_MAX_VMS && !lc.parts)) {
		fprintf(stderr, "mbuddy sharing: out of memory\n");
		goto out;
	}
	mb_profile_reuse_memory();
	lc.order = load_order(lc.paths, n);
	mb_parallel_for(n, opts.threads, load_one, &lc);
	for (i = 0; i < n; i++) {
		if (lc.failed[i]) {
			fprintf(stderr, "mbuddy sharing: %s\n", lc.errs[i].msg);
			goto out;
		}
		if (i && mb_set_comparable(&lc.sets[0], &lc.sets[i], &err)) {
			fprintf(stderr, "mbuddy sharing: %s\n", err.msg);
			goto out;
		}
	}
	if (lc.parts) {
		if (mb_profile_build(&prof, lc.parts, n, opts.threads, &err)) {
			fprintf(stderr, "mbuddy sharing: %s\n", err.msg);
			goto out;
		}
		mb_profile_set_distinct(&prof, lc.sets);
		for (i = 0; i < n; i++)
			mb_parts_free(&lc.parts[i]);	/* the profile has it all */
	}
	for (i = 0; i < n; i++) {
		pages += lc.sets[i].pages;
		if (lc.sets[i].distinct > max_pages)
			max_pages = lc.sets[i].distinct;
	}
	unique_names(lc.sets, lc.paths, n);
	if (isatty(STDERR_FILENO))
		opts.progress = progress_tty;
	if (!use_bloom) {
		if (prof.n ? mb_profile_matrix(&prof, pages, &opts, &exact, &err) :
			     mb_sharing_exact(lc.sets, n, &opts, &exact, &err)) {
			fprintf(stderr, "mbuddy sharing: %s\n", err.msg);
			goto out;
		}
		for (i = 0; i < n * n; i++)
			common[i] = (double)exact.common[i];
		group_distinct = (double)exact.group_distinct;
	} else {
		double *est;
		struct mb_bloom all;
		size_t v;

		if (mb_bloom_choose(bits_per_page, bloom_bytes, max_pages, &bp,
				    &err) ||
		    mb_sharing_bloom(lc.sets, n, &bp, &opts, &est, &err) ||
		    mb_bloom_init(&all, &bp, &err)) {
			fprintf(stderr, "mbuddy sharing: %s\n", err.msg);
			goto out;
		}
		memcpy(common, est, n * n * sizeof(double));
		free(est);
		for (v = 0; v < n; v++)
			mb_bloom_add_set(&all, &lc.sets[v]);
		group_distinct = mb_bloom_cardinality(bp.m, bp.k,
						      mb_bloom_zeros(&all));
		mb_bloom_free(&all);
	}
	if (opts.progress)
		fprintf(stderr, "\r%30s\r", "");
	if (svg && write_svg(svg, lc.sets, n, common,
			     use_bloom ? "Bloom estimate" : "exact")) {
		fprintf(stderr, "mbuddy sharing: %s: cannot write the "
			"heatmap: %m\n", svg);
		goto out;
	}
	if (json && print_json(lc.paths, lc.sets, n, common, !use_bloom,
			       use_bloom ? &bp : NULL,
			       bloom_bytes ? 0 : bits_per_page,
			       group_distinct)) {
		fprintf(stderr, "mbuddy sharing: out of memory\n");
		goto out;
	}
	if (!json)
		print_human(lc.sets, n, common, !use_bloom,
			    use_bloom ? &bp : NULL, group_distinct);
	rc = 0;
out:
	for (i = 0; lc.sets && i < n; i++)
		mb_set_free(&lc.sets[i]);
	for (i = 0; lc.parts && i < n; i++)
		mb_parts_free(&lc.parts[i]);
	free(lc.parts);
	free(lc.order);
	mb_profile_free(&prof);
	free(lc.sets);
	free(lc.errs);
	free(lc.failed);
	free(common);
	mb_sharing_matrix_free(&exact);
	return rc;
}
