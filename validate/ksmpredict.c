// SPDX-License-Identifier: GPL-2.0
/*
 * ksmpredict.c - what KSM should merge, predicted from guest traces.
 *
 * The host side of the KSM validation experiment (docs/accuracy.md). Each
 * argument is one guest: the trace taken when KSM had settled, optionally
 * followed by ",SECOND" with a trace of the same guest taken one or two KSM
 * full scans later. Prints, as text or JSON, the prediction of
 * /sys/kernel/mm/ksm/pages_sharing for the guests together and of
 * /proc/PID/ksm_stat's ksm_merging_pages for each guest.
 *
 * The model of KSM:
 *   - every page counts, used and free alike (KSM sees the guest's free
 *     pages, which keep their last content), so traces must have been
 *     taken with hash_free=1 (FREE_HASHED);
 *   - with --iomem, only the guest's "System RAM" counts: the legacy
 *     window below 1 MiB (VGA hole, option ROMs, BIOS) shows the guest
 *     QEMU's ROMs and I/O, not its RAM, and KSM sees those elsewhere;
 *   - pages whose content is all zero are left out: with use_zero_pages=1
 *     KSM maps them to the zero page and counts them in ksm_zero_pages,
 *     and a page the host never touched is not even allocated;
 *   - with a second scan, pages whose digest changed in between are left
 *     out as well ("stable" below): KSM only puts a page into its unstable
 *     tree when its checksum did not change since the last scan;
 *   - a content held by c pages is merged into ceil(c / max_page_sharing)
 *     KSM pages (stable-node chains), saving c - ceil(c / mps) pages;
 *     plain saved(G) = pages(G) - distinct(G) is printed beside it.
 * Per guest, the predicted merging pages are its counted pages whose
 * content occurs at least twice in the group.
 *
 * For each model the same figures with digests cut to 32 bits (what a
 * 32-bit algorithm risks in false matches) and the paper's Bloom-filter
 * estimate of the group's saved pages (heuristics/bloom.h, BITS per page
 * of the largest guest) are given too.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "digest.h"
#include "mbt.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char usage[] =
"usage: ksmpredict [options] TRACE[,SECOND]...\n"
"\n"
"Predict KSM's pages_sharing for the guests behind the traces (one argument\n"
"per guest; SECOND is a later trace of the same guest, to leave out pages that\n"
"changed). Traces with free pages need FREE_HASHED (memtrace.ko hash_free=1).\n"
"\n"
"options:\n"
"  --json                   machine-readable output\n"
"  --max-page-sharing N     KSM's max_page_sharing (default 256)\n"
"  --bloom BITS             Bloom filter bits per page (default 4)\n"
"  --iomem FILE             count only the pages of \"System RAM\" in FILE (a\n"
"                           guest's /proc/iomem); the rest of the guest's PFNs\n"
"                           (the ISA hole, ROMs) is not guest RAM on the host\n"
"  --pages DIR              write DIR/gN.records: one line per page of guest N,\n"
"                           \"PFN FREE ZERO VOLATILE MERGING\" (0 or 1 each)\n"
"  -h, --help               this text\n";

struct ent {
	uint64_t digest;
	uint64_t record;
	uint32_t guest;
	bool volatile_page;
};

struct guest {
	const char *path, *second;
	struct mbt_trace t1, t2;
	uint8_t *merging;		/* per record: predicted to merge */
	uint64_t pages, used, free, zero, volatile_pages, not_ram;
	uint8_t *skip;			/* per record: not System RAM */
};

/* "System RAM" ranges of the guest's /proc/iomem, in PFNs (inclusive). */
static struct { uint64_t first, last; } ram[64];
static size_t nram;

static int read_iomem(const char *path)
{
	unsigned long long a, b;
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		/* Top-level lines only: nested ones are indented. */
		if (line[0] == ' ' || !strstr(line, ": System RAM"))
			continue;
		if (sscanf(line, "%llx-%llx", &a, &b) != 2 || nram == 64)
			continue;
		ram[nram].first = (a + MBT_PAGE_SIZE - 1) / MBT_PAGE_SIZE;
		ram[nram].last = (b + 1) / MBT_PAGE_SIZE - 1;
		nram++;
	}
	fclose(f);
	if (!nram) {
		fprintf(stderr, "ksmpredict: %s: no System RAM line\n", path);
		return -1;
	}
	return 0;
}

static bool is_ram(uint64_t pfn)
{
	size_t i;

	if (!nram)
		return true;
	for (i = 0; i < nram; i++)
		if (pfn >= ram[i].first && pfn <= ram[i].last)
			return true;
	return false;
}

/* Figures of one model (which pages count) over the whole group. */
struct model {
	uint64_t pages, distinct, saved, saved_ksm;
	uint64_t distinct32, saved32;
	uint64_t *merging;		/* per guest */
	uint64_t used_pages, used_saved;/* used pages only, free ones left out */
	uint64_t zero_saved;		/* zero pages counted like any other */
	double bloom_distinct, bloom_saved;
};

static int cmp64(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return x->digest < y->digest ? -1 : x->digest > y->digest;
}

static int cmp32(const void *a, const void *b)
{
	uint32_t x = (uint32_t)((const struct ent *)a)->digest;
	uint32_t y = (uint32_t)((const struct ent *)b)->digest;

	return x < y ? -1 : x > y;
}

/* Group figures over @e (sorted by @mask'ed digest): distinct, saved. */
static void runs(const struct ent *e, size_t n, uint64_t mask, uint64_t mps,
		 uint64_t *distinct, uint64_t *saved_ksm, uint64_t *merging,
		 struct guest *g)
{
	size_t i = 0, j;

	*distinct = 0;
	if (saved_ksm)
		*saved_ksm = 0;
	while (i < n) {
		for (j = i + 1; j < n && (e[j].digest & mask) == (e[i].digest & mask); j++)
			;
		(*distinct)++;
		if (saved_ksm)
			*saved_ksm += (j - i) - ((j - i) + mps - 1) / mps;
		if (merging && j - i >= 2)
			for (; i < j; i++) {
				merging[e[i].guest]++;
				if (g && g[e[i].guest].merging)
					g[e[i].guest].merging[e[i].record] = 1;
			}
		i = j;
	}
}

/*
 * The counted pages of the group under a model: @stable leaves out
 * volatile pages, @used_only free ones too.
 */
static int collect(struct guest *g, size_t ng, bool stable, bool used_only,
		   bool keep_zero, uint64_t zero, struct ent **out, size_t *nout)
{
	size_t cap = 0, n = 0, k;
	struct ent *e;
	uint64_t i;

	for (k = 0; k < ng; k++)
		cap += g[k].t1.info.page_count;
	e = malloc((cap ? cap : 1) * sizeof(*e));
	if (!e)
		return -1;
	for (k = 0; k < ng; k++) {
		const struct mbt_trace *t = &g[k].t1;

		for (i = 0; i < t->info.page_count; i++) {
			bool vol = g[k].t2.digests && t->digests[i] != g[k].t2.digests[i];

			if (g[k].skip[i] ||
			    (!keep_zero && t->digests[i] == zero) || (stable && vol) ||
			    (used_only && mbt_is_free(t, i)))
				continue;
			e[n++] = (struct ent){ t->digests[i], i, (uint32_t)k, vol };
		}
	}
	*out = e;
	*nout = n;
	return 0;
}

static int bloom_estimate(size_t ng, const struct ent *e, size_t n,
			  double bits, struct model *m, struct mb_err *err)
{
	struct mb_bloom_params bp;
	struct mb_bloom *f = calloc(ng, sizeof(*f)), all = { 0 };
	uint64_t *per = calloc(ng, sizeof(*per)), maxp = 1;
	size_t i, k;
	int rc = -1;

	if (!f || !per) {
		mb_errf(err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		per[e[i].guest]++;
	for (k = 0; k < ng; k++)
		if (per[k] > maxp)
			maxp = per[k];
	if (mb_bloom_choose(bits, 0, maxp, &bp, err) || mb_bloom_init(&all, &bp, err))
		goto out;
	for (k = 0; k < ng; k++)
		if (mb_bloom_init(&f[k], &bp, err))
			goto out;
	for (i = 0; i < n; i++)
		mb_bloom_add(&f[e[i].guest], e[i].digest);
	/* A host's aggregate is the OR of its VMs' filters. */
	for (k = 0; k < ng; k++)
		mb_bloom_or(&all, &f[k]);
	m->bloom_distinct = mb_bloom_cardinality(bp.m, bp.k, mb_bloom_zeros(&all));
	m->bloom_saved = (double)n - m->bloom_distinct;
	rc = 0;
out:
	for (k = 0; f && k < ng; k++)
		mb_bloom_free(&f[k]);
	mb_bloom_free(&all);
	free(f);
	free(per);
	return rc;
}

static int model(struct guest *g, size_t ng, bool stable, uint64_t zero,
		 uint64_t mps, double bits, struct model *m, struct mb_err *err)
{
	struct ent *e, *u;
	size_t n, nu;

	memset(m, 0, sizeof(*m));
	m->merging = calloc(ng, sizeof(*m->merging));
	if (!m->merging || collect(g, ng, stable, false, false, zero, &e, &n))
		return mb_errf(err, "out of memory");
	m->pages = n;
	qsort(e, n, sizeof(*e), cmp64);
	runs(e, n, ~0ULL, mps, &m->distinct, &m->saved_ksm, m->merging, g);
	m->saved = m->pages - m->distinct;
	if (bloom_estimate(ng, e, n, bits, m, err)) {
		free(e);
		return -1;
	}
	qsort(e, n, sizeof(*e), cmp32);
	runs(e, n, 0xffffffffULL, mps, &m->distinct32, NULL, NULL, NULL);
	m->saved32 = m->pages - m->distinct32;
	free(e);
	if (collect(g, ng, stable, true, false, zero, &u, &nu))
		return mb_errf(err, "out of memory");
	qsort(u, nu, sizeof(*u), cmp64);
	m->used_pages = nu;
	runs(u, nu, ~0ULL, mps, &m->used_saved, NULL, NULL, NULL);
	m->used_saved = nu - m->used_saved;
	free(u);
	/* What `mbuddy sharing --include-free` counts: zero pages too. */
	if (collect(g, ng, stable, false, true, zero, &u, &nu))
		return mb_errf(err, "out of memory");
	qsort(u, nu, sizeof(*u), cmp64);
	runs(u, nu, ~0ULL, mps, &m->zero_saved, NULL, NULL, NULL);
	m->zero_saved = nu - m->zero_saved;
	free(u);
	return 0;
}

/* Load one guest's traces; the second must describe the same PFNs. */
static int load_guest(struct guest *g, uint64_t *zero, int *algo,
		      struct mb_err *err)
{
	static const uint8_t zpage[MBT_PAGE_SIZE];
	uint64_t i;

	if (mb_trace_load(g->path, &g->t1, err))
		return -1;
	/* Free pages without digests would hide what KSM sees. */
	if (!(g->t1.info.flags & MBT_FLAG_FREE_HASHED) && g->t1.info.free_pages)
		return mb_errf(err, "%s: free pages are not hashed (FREE_HASHED "
			       "unset): capture with memtrace.ko hash_free=1", g->path);
	if (*algo && *algo != g->t1.info.algorithm)
		return mb_errf(err, "%s: algorithm %s differs from the first "
			       "trace's %s", g->path,
			       mb_algo_name(g->t1.info.algorithm), mb_algo_name(*algo));
	*algo = g->t1.info.algorithm;
	*zero = mb_digest_page(*algo, zpage);
	if (g->second) {
		if (mb_trace_load(g->second, &g->t2, err))
			return -1;
		if (g->t2.info.algorithm != *algo ||
		    g->t2.info.page_count != g->t1.info.page_count ||
		    (!(g->t2.info.flags & MBT_FLAG_FREE_HASHED) &&
		     g->t2.info.free_pages))
			return mb_errf(err, "%s: not a second scan of %s (algorithm, "
				       "page count or FREE_HASHED differ)",
				       g->second, g->path);
		for (i = 0; i < g->t1.info.page_count; i += 4096)
			if (mbt_pfn(&g->t1, i) != mbt_pfn(&g->t2, i))
				return mb_errf(err, "%s: record %llu is PFN %llu, "
					       "but PFN %llu in %s", g->second,
					       (unsigned long long)i,
					       (unsigned long long)mbt_pfn(&g->t2, i),
					       (unsigned long long)mbt_pfn(&g->t1, i),
					       g->path);
	}
	g->pages = g->t1.info.page_count;
	g->skip = calloc(g->pages ? g->pages : 1, 1);
	if (!g->skip)
		return mb_errf(err, "out of memory");
	for (i = 0; i < g->pages; i++) {
		if (!is_ram(mbt_pfn(&g->t1, i))) {
			g->skip[i] = 1;
			g->not_ram++;
			continue;
		}
		if (mbt_is_free(&g->t1, i))
			g->free++;
		else
			g->used++;
		if (g->t1.digests[i] == *zero)
			g->zero++;
		else if (g->t2.digests && g->t1.digests[i] != g->t2.digests[i])
			g->volatile_pages++;
	}
	return 0;
}

/* --pages: one line per record, "PFN FREE ZERO VOLATILE MERGING". */
static int write_pages(const char *dir, struct guest *g, size_t ng,
		       uint64_t zero)
{
	char path[4096];
	uint64_t i;
	size_t k;

	for (k = 0; k < ng; k++) {
		const struct mbt_trace *t = &g[k].t1;
		FILE *f;

		snprintf(path, sizeof(path), "%s/g%zu.records", dir, k + 1);
		f = fopen(path, "w");
		if (!f) {
			perror(path);
			return -1;
		}
		for (i = 0; i < t->info.page_count; i++)
			fprintf(f, "%llu %d %d %d %d\n",
				(unsigned long long)mbt_pfn(t, i),
				mbt_is_free(t, i), t->digests[i] == zero,
				g[k].t2.digests &&
				t->digests[i] != g[k].t2.digests[i],
				g[k].merging[i]);
		if (fclose(f)) {
			perror(path);
			return -1;
		}
	}
	return 0;
}

static json_t *model_json(const struct model *m, size_t ng)
{
	json_t *o = json_object(), *per = json_array();
	size_t k;

	json_object_set_new(o, "pages", json_integer((json_int_t)m->pages));
	json_object_set_new(o, "distinct", json_integer((json_int_t)m->distinct));
	json_object_set_new(o, "saved", json_integer((json_int_t)m->saved));
	json_object_set_new(o, "saved_ksm", json_integer((json_int_t)m->saved_ksm));
	json_object_set_new(o, "saved_32bit", json_integer((json_int_t)m->saved32));
	json_object_set_new(o, "used_pages", json_integer((json_int_t)m->used_pages));
	json_object_set_new(o, "saved_used_only", json_integer((json_int_t)m->used_saved));
	json_object_set_new(o, "saved_with_zero", json_integer((json_int_t)m->zero_saved));
	json_object_set_new(o, "bloom_saved", isnan(m->bloom_saved) ? json_null() :
			    json_real(m->bloom_saved));
	for (k = 0; k < ng; k++)
		json_array_append_new(per, json_integer((json_int_t)m->merging[k]));
	json_object_set_new(o, "merging", per);
	return o;
}

static void model_text(const char *name, const struct model *m, size_t ng)
{
	size_t k;

	printf("%s: %llu pages, %llu distinct, saved %llu (KSM chains: %llu; "
	       "32-bit digests: %llu; used pages only: %llu; zero pages "
	       "counted: %llu), Bloom %.0f\n",
	       name, (unsigned long long)m->pages,
	       (unsigned long long)m->distinct, (unsigned long long)m->saved,
	       (unsigned long long)m->saved_ksm, (unsigned long long)m->saved32,
	       (unsigned long long)m->used_saved,
	       (unsigned long long)m->zero_saved, m->bloom_saved);
	printf("  merging pages per guest:");
	for (k = 0; k < ng; k++)
		printf(" %llu", (unsigned long long)m->merging[k]);
	printf("\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "max-page-sharing", required_argument, NULL, 'p' },
		{ "bloom", required_argument, NULL, 'b' },
		{ "pages", required_argument, NULL, 'P' },
		{ "iomem", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct model all = { 0 }, stable = { 0 };
	unsigned long long mps = 256;
	bool json = false, second = false;
	struct guest *g;
	uint64_t zero = 0;
	double bits = 4;
	const char *pages_dir = NULL;
	struct mb_err err;
	int c, algo = 0, rc = EXIT_FAIL;
	size_t ng, k;
	char *end;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			mps = strtoull(optarg, &end, 10);
			if (*end || mps < 2) {
				fprintf(stderr, "ksmpredict: --max-page-sharing: '%s' "
					"is not a number of at least 2\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			bits = strtod(optarg, &end);
			if (*end || !(bits > 0) || bits > 1024) {
				fprintf(stderr, "ksmpredict: --bloom: '%s' is not a "
					"number of bits per page in (0, 1024]\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'P':
			pages_dir = optarg;
			break;
		case 'I':
			if (read_iomem(optarg))
				return EXIT_FAIL;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	ng = (size_t)(argc - optind);
	if (!ng) {
		fprintf(stderr, "ksmpredict: no trace given\n%s", usage);
		return EXIT_USAGE;
	}
	g = calloc(ng, sizeof(*g));
	if (!g) {
		fprintf(stderr, "ksmpredict: out of memory\n");
		return EXIT_FAIL;
	}
	for (k = 0; k < ng; k++) {
		char *comma = strchr(argv[optind + k], ',');

		g[k].path = argv[optind + k];
		if (comma) {
			*comma = 0;
			g[k].second = comma + 1;
		}
		if (load_guest(&g[k], &zero, &algo, &err)) {
			fprintf(stderr, "ksmpredict: %s\n", err.msg);
			goto out;
		}
		if (!!g[k].second != !!g[0].second) {
			fprintf(stderr, "ksmpredict: give a second scan for every "
				"guest or for none\n");
			goto out;
		}
	}
	second = g[0].second != NULL;
	for (k = 0; pages_dir && k < ng; k++) {
		g[k].merging = calloc(g[k].pages ? g[k].pages : 1, 1);
		if (!g[k].merging) {
			fprintf(stderr, "ksmpredict: out of memory\n");
			goto out;
		}
	}
	if (model(g, ng, false, zero, mps, bits, &all, &err)) {
		fprintf(stderr, "ksmpredict: %s\n", err.msg);
		goto out;
	}
	/* The per-page verdicts written by --pages are the stable model's. */
	for (k = 0; pages_dir && second && k < ng; k++)
		memset(g[k].merging, 0, g[k].pages ? g[k].pages : 1);
	if (second && model(g, ng, true, zero, mps, bits, &stable, &err)) {
		fprintf(stderr, "ksmpredict: %s\n", err.msg);
		goto out;
	}
	if (pages_dir && write_pages(pages_dir, g, ng, zero))
		goto out;
	if (json) {
		json_t *root = json_object(), *gs = json_array();

		json_object_set_new(root, "algorithm", json_string(mb_algo_name(algo)));
		json_object_set_new(root, "max_page_sharing", json_integer((json_int_t)mps));
		json_object_set_new(root, "bloom_bits_per_page", json_real(bits));
		for (k = 0; k < ng; k++) {
			json_t *o = json_object();

			json_object_set_new(o, "trace", json_string(g[k].path));
			json_object_set_new(o, "name", json_string(g[k].t1.info.vm_name));
			json_object_set_new(o, "pages", json_integer((json_int_t)g[k].pages));
			json_object_set_new(o, "used", json_integer((json_int_t)g[k].used));
			json_object_set_new(o, "free", json_integer((json_int_t)g[k].free));
			json_object_set_new(o, "zero", json_integer((json_int_t)g[k].zero));
			json_object_set_new(o, "not_ram", json_integer((json_int_t)g[k].not_ram));
			if (second)
				json_object_set_new(o, "volatile",
						    json_integer((json_int_t)g[k].volatile_pages));
			json_array_append_new(gs, o);
		}
		json_object_set_new(root, "guests", gs);
		json_object_set_new(root, "all", model_json(&all, ng));
		if (second)
			json_object_set_new(root, "stable", model_json(&stable, ng));
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		putchar('\n');
		json_decref(root);
	} else {
		printf("%zu guests, %s digests, max_page_sharing %llu, Bloom %g bits/page\n",
		       ng, mb_algo_name(algo), mps, bits);
		for (k = 0; k < ng; k++) {
			printf("  %s: %llu pages (%llu used, %llu free), %llu zero",
			       g[k].path, (unsigned long long)g[k].pages,
			       (unsigned long long)g[k].used,
			       (unsigned long long)g[k].free,
			       (unsigned long long)g[k].zero);
			if (second)
				printf(", %llu volatile",
				       (unsigned long long)g[k].volatile_pages);
			printf("\n");
		}
		model_text("all non-zero pages", &all, ng);
		if (second)
			model_text("non-zero pages unchanged in the second scan",
				   &stable, ng);
	}
	rc = 0;
out:
	for (k = 0; k < ng; k++) {
		mbt_trace_free(&g[k].t1);
		mbt_trace_free(&g[k].t2);
		free(g[k].merging);
		free(g[k].skip);
	}
	free(all.merging);
	free(stable.merging);
	free(g);
	return rc;
}
