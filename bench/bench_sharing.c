// SPDX-License-Identifier: GPL-2.0
/*
 * bench_sharing - all-pairs sharing of many synthetic VMs, exact and with
 * Bloom filters: time, peak memory and (for Bloom) error against exact.
 *
 *   bench_sharing --mode exact|bloom [--vms N] [--pages P] [--bits B]
 *                 [--threads T] [--seed S] [--private MIN:MAX]
 *
 * VMs follow the model of heuristics/synth.h: one base of P pages (5% zero
 * pages), VM v replaces each page with probability f_v, drawn uniformly
 * from the private range (default 0.05-0.95), by a private digest; 32-bit
 * digests (SuperFastHash width). Making the VMs is timed apart from the
 * estimate. Peak memory is the process's maxrss right after the estimate,
 * so run each mode in its own process.
 *
 * In bloom mode the error is measured against exact counts: all pairs by
 * the exact estimator when N <= 2000 (after the Bloom peak was taken),
 * else 2,000 random pairs by sorted merges.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bloom.h"
#include "pairwise.h"
#include "sharing.h"
#include "synth.h"

struct gen {
	struct mb_digest_set *sets;
	const uint64_t *base;
	uint64_t pages, seed;
	double pmin, pmax;
	int failed;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double peak_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024;
}

/* When the Bloom estimator reports its filters built (10%). */
static double t_filters;

static void on_progress(void *ctx, double done)
{
	if (!t_filters && done >= 0.1 - 1e-9)
		t_filters = now() - *(double *)ctx;
}

static int make_vm_set(struct gen *g, size_t v, struct mb_digest_set *out)
{
	uint64_t state = g->seed * 1000003 + v, *buf;
	double f = g->pmin + (g->pmax - g->pmin) * mb_synth_uniform(&state);
	char name[32];
	int rc;

	buf = malloc(g->pages * sizeof(uint64_t));
	if (!buf)
		return -1;
	mb_synth_vm(buf, g->base, g->pages, f, g->seed, v);
	snprintf(name, sizeof(name), "vm%zu", v);
	rc = mb_set_from_digests(out, buf, g->pages, MB_ALGO_SUPERFAST, name,
				 NULL);
	free(buf);
	return rc;
}

static void gen_one(void *arg, size_t v)
{
	struct gen *g = arg;

	if (make_vm_set(g, v, &g->sets[v]))
		g->failed = 1;
}

/* Large runs: each VM goes straight into its filter, no set is kept. */
struct stream {
	struct gen *g;
	uint64_t *rows;
	const struct mb_bloom_params *bp;
};

static void stream_one(void *arg, size_t v)
{
	struct stream *st = arg;
	struct gen *g = st->g;
	uint64_t state = g->seed * 1000003 + v, *buf, i;
	double f = g->pmin + (g->pmax - g->pmin) * mb_synth_uniform(&state);
	uint64_t *row = st->rows + v * (st->bp->m / 64);

	buf = malloc(g->pages * sizeof(uint64_t));
	if (!buf) {
		g->failed = 1;
		return;
	}
	mb_synth_vm(buf, g->base, g->pages, f, g->seed, v);
	for (i = 0; i < g->pages; i++)	/* 32-bit digests, as in the sets */
		mb_bloom_add_raw(row, st->bp->m, st->bp->k, (uint32_t)buf[i]);
	free(buf);
}

/* Error of the estimates on @pairs random pairs, sets made on demand. */
static void sampled_error(struct gen *g, size_t n, const double *est,
			  const struct mb_bloom_params *bp, size_t pairs,
			  double *mean, double *worst, double *in3,
			  double *mean_size)
{
	double sum = 0, sum_size = 0;
	size_t done = 0, within3 = 0;
	uint64_t state = 4242;

	*worst = 0;
	while (done < pairs) {
		size_t a = mb_synth_next(&state) % n, b = mb_synth_next(&state) % n;
		struct mb_digest_set sa, sb;
		double exact, e, z, rel;

		if (a == b)
			continue;
		if (make_vm_set(g, a, &sa) || make_vm_set(g, b, &sb))
			exit(1);
		exact = (double)mb_set_common(&sa, &sb);
		e = est[a * n + b];
		if (exact > 0 && !isnan(e)) {
			rel = fabs(e - exact) / exact;
			sum += rel;
			*worst = rel > *worst ? rel : *worst;
			sum_size += fabs(e - exact) / (double)(sa.distinct <
				sb.distinct ? sa.distinct : sb.distinct);
			z = mb_bloom_stddev(bp->m, bp->k, (double)sa.distinct,
					    (double)sb.distinct, exact);
			within3 += fabs(e - exact) <= 3 * z + 1;
			done++;
		}
		mb_set_free(&sa);
		mb_set_free(&sb);
	}
	*mean = sum / (double)pairs;
	*mean_size = sum_size / (double)pairs;
	*in3 = (double)within3 / (double)pairs;
}

/*
 * Many VMs: filters are built straight from generated pages (no set is
 * kept, 8 bytes per page of each VM would not fit), then all pairs; the
 * error is measured on 500 random pairs against sorted merges.
 */
static int bloom_streaming(struct gen *g, size_t n, double bits,
			   struct mb_sharing_opts *opts)
{
	struct mb_bloom_params bp;
	struct stream st;
	struct mb_err err;
	double t0, t_build, t_pairs, peak, mean, worst, in3, msize, *est;

	if (mb_bloom_choose(bits, 0, g->pages, &bp, &err)) {
		fprintf(stderr, "bench_sharing: %s\n", err.msg);
		return 1;
	}
	st.g = g;
	st.bp = &bp;
	st.rows = calloc(n * (bp.m / 64), sizeof(uint64_t));
	if (!st.rows) {
		fprintf(stderr, "bench_sharing: out of memory for filters\n");
		return 1;
	}
	t0 = now();
	mb_parallel_for(n, opts->threads, stream_one, &st);
	t_build = now() - t0;
	if (g->failed)
		return 1;
	printf("  making the VMs and their filters (%.1f bits/page: m=%llu, "
	       "k=%u): %.2f s (the VMs' pages are generated in this step)\n",
	       bits, (unsigned long long)bp.m, bp.k, t_build);
	t0 = now();
	if (mb_bloom_all_pairs(st.rows, n, &bp, opts, &est, &err)) {
		fprintf(stderr, "bench_sharing: %s\n", err.msg);
		return 1;
	}
	t_pairs = now() - t0;
	peak = peak_mib();
	free(st.rows);
	printf("  Bloom all %zu pairs from the filters: %.2f s, peak RSS "
	       "%.0f MiB\n", n * (n - 1) / 2, t_pairs, peak);
	sampled_error(g, n, est, &bp, 500, &mean, &worst, &in3, &msize);
	printf("  error vs exact over 500 sampled pairs: mean %.3f%%, worst "
	       "%.3f%% of the exact common count; mean %.4f%% of the smaller "
	       "VM's distinct pages; %.2f%% within 3 predicted sigma\n",
	       100 * mean, 100 * worst, 100 * msize, 100 * in3);
	printf("RESULT bloom vms=%zu pages=%llu bits=%.1f seconds=%.2f "
	       "(filters+generation %.2f) peak_mib=%.0f mean_err_pct=%.3f "
	       "worst_err_pct=%.3f\n", n, (unsigned long long)g->pages, bits,
	       t_pairs, t_build, peak, 100 * mean, 100 * worst);
	free(est);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_sharing --mode exact|bloom [--vms N] "
		"[--pages P] [--bits B] [--threads T] [--seed S] "
		"[--private MIN:MAX]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "vms", required_argument, NULL, 'n' },
		{ "pages", required_argument, NULL, 'p' },
		{ "bits", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "private", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct gen g = { .pages = 262144, .seed = 1, .pmin = 0.05, .pmax = 0.95 };
	struct mb_sharing_opts opts = { 0 };
	const char *mode = NULL;
	size_t n = 1000, v;
	double bits = 4, t0, t_gen, t_est, peak;
	uint64_t *base;
	struct mb_err err;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'p': g.pages = strtoull(optarg, NULL, 10); break;
		case 'b': bits = strtod(optarg, NULL); break;
		case 't': opts.threads = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 's': g.seed = strtoull(optarg, NULL, 10); break;
		case 'f':
			if (sscanf(optarg, "%lf:%lf", &g.pmin, &g.pmax) != 2)
				usage();
			break;
		default: usage();
		}
	}
	if (!mode || (strcmp(mode, "exact") && strcmp(mode, "bloom")) ||
	    n < 2 || !g.pages)
		usage();
	printf("bench_sharing %s: %zu VMs x %llu pages (%.0f MiB each), "
	       "%u threads, seed %llu\n", mode, n,
	       (unsigned long long)g.pages, mb_pages_mb((double)g.pages),
	       mb_thread_count(opts.threads), (unsigned long long)g.seed);
	base = malloc(g.pages * sizeof(uint64_t));
	g.sets = calloc(n, sizeof(*g.sets));
	if (!base || !g.sets)
		return 1;
	g.base = base;
	mb_synth_base(base, g.pages, 0.05, g.seed);
	if (!strcmp(mode, "bloom") && n > 2000)
		return bloom_streaming(&g, n, bits, &opts);
	t0 = now();
	mb_synth_base(base, g.pages, 0.05, g.seed);
	mb_parallel_for(n, opts.threads, gen_one, &g);
	t_gen = now() - t0;
	if (g.failed) {
		fprintf(stderr, "bench_sharing: out of memory making VMs\n");
		return 1;
	}
	printf("  making the VMs' digest sets: %.2f s (not part of the "
	       "estimate)\n", t_gen);

	if (!strcmp(mode, "exact")) {
		struct mb_sharing_matrix m;

		t0 = now();
		if (mb_sharing_exact(g.sets, n, &opts, &m, &err)) {
			fprintf(stderr, "bench_sharing: %s\n", err.msg);
			return 1;
		}
		t_est = now() - t0;
		peak = peak_mib();
		printf("  exact all pairs: %.2f s, peak RSS %.0f MiB\n", t_est,
		       peak);
		printf("  digests: %llu in one VM, %llu sparse, %llu dense, "
		       "%llu in all VMs\n",
		       (unsigned long long)m.digests_single,
		       (unsigned long long)m.digests_sparse,
		       (unsigned long long)m.digests_dense,
		       (unsigned long long)m.digests_all);
		/* Spot check against sorted merges. */
		for (v = 0; v < 200; v++) {
			size_t a = (v * 7919) % n, b = (v * 104729 + 1) % n;

			if (a != b && m.common[a * n + b] !=
			    mb_set_common(&g.sets[a], &g.sets[b])) {
				fprintf(stderr, "bench_sharing: pair %zu,%zu: "
					"exact says %llu, merge says %llu\n",
					a, b, (unsigned long long)
					m.common[a * n + b],
					(unsigned long long)mb_set_common(
						&g.sets[a], &g.sets[b]));
				return 1;
			}
		}
		/*
		 * Baseline, same run: one sorted merge per pair (the obvious
		 * method), timed on 2,000 pairs and scaled to all pairs.
		 */
		{
			uint64_t state = 99, sink = 0;
			double t_merge, t_all;

			t0 = now();
			for (v = 0; v < 2000; v++) {
				size_t a = mb_synth_next(&state) % n;
				size_t b = mb_synth_next(&state) % n;

				sink += mb_set_common(&g.sets[a], &g.sets[b]);
			}
			t_merge = (now() - t0) / 2000;
			t_all = t_merge * (double)n * (double)(n - 1) / 2 /
				mb_thread_count(opts.threads);
			printf("  baseline, a sorted merge per pair: %.3f ms a "
			       "pair, %.0f s for all pairs on %u threads "
			       "(extrapolated); exact estimator %.0fx faster "
			       "(checksum %llu)\n", t_merge * 1000, t_all,
			       mb_thread_count(opts.threads), t_all / t_est,
			       (unsigned long long)sink % 10);
		}
		printf("RESULT exact vms=%zu pages=%llu seconds=%.2f "
		       "peak_mib=%.0f\n", n, (unsigned long long)g.pages,
		       t_est, peak);
		mb_sharing_matrix_free(&m);
	} else {
		struct mb_bloom_params bp;
		double *est, sum = 0, worst = 0, z, sum_size = 0;
		size_t pairs = 0, within3 = 0, a, b;
		struct mb_sharing_matrix m = { 0 };
		bool all_pairs = n <= 2000;
		uint64_t state = 12345;

		if (mb_bloom_choose(bits, 0, g.pages, &bp, &err)) {
			fprintf(stderr, "bench_sharing: %s\n", err.msg);
			return 1;
		}
		t0 = now();
		opts.progress = on_progress;
		opts.progress_ctx = &t0;
		if (mb_sharing_bloom(g.sets, n, &bp, &opts, &est, &err)) {
			fprintf(stderr, "bench_sharing: %s\n", err.msg);
			return 1;
		}
		t_est = now() - t0;
		peak = peak_mib();
		opts.progress = NULL;
		printf("  Bloom all pairs (%.1f bits/page: m=%llu, k=%u): "
		       "%.2f s (filters %.2f s, pairs %.2f s), peak RSS "
		       "%.0f MiB\n", bits, (unsigned long long)bp.m, bp.k,
		       t_est, t_filters, t_est - t_filters, peak);
		if (all_pairs) {
			double t_exact;

			t0 = now();
			if (mb_sharing_exact(g.sets, n, &opts, &m, &err)) {
				fprintf(stderr, "bench_sharing: %s\n", err.msg);
				return 1;
			}
			t_exact = now() - t0;
			printf("  exact all pairs in the same run: %.2f s; Bloom "
			       "%.1fx %s\n", t_exact, t_exact > t_est ?
			       t_exact / t_est : t_est / t_exact,
			       t_exact > t_est ? "faster" : "slower");
		}
		for (v = 0; v < (all_pairs ? n * (n - 1) / 2 : 2000); v++) {
			double exact, e, rel;

			if (all_pairs) {
				a = v;	/* walk the upper triangle below */
				break;
			}
			a = mb_synth_next(&state) % n;
			b = mb_synth_next(&state) % n;
			if (a == b)
				continue;
			exact = (double)mb_set_common(&g.sets[a], &g.sets[b]);
			e = est[a * n + b];
			if (!(exact > 0) || isnan(e))
				continue;
			rel = fabs(e - exact) / exact;
			sum += rel;
			worst = rel > worst ? rel : worst;
			z = mb_bloom_stddev(bp.m, bp.k, (double)g.sets[a].distinct,
					    (double)g.sets[b].distinct, exact);
			within3 += fabs(e - exact) <= 3 * z + 1;
			pairs++;
		}
		if (all_pairs) {
			for (a = 0; a < n; a++)
				for (b = a + 1; b < n; b++) {
					double exact = (double)m.common[a * n + b];
					double e = est[a * n + b], rel;

					if (!(exact > 0) || isnan(e))
						continue;
					rel = fabs(e - exact) / exact;
					sum += rel;
					worst = rel > worst ? rel : worst;
					sum_size += fabs(e - exact) / (double)
						(g.sets[a].distinct < g.sets[b].distinct ?
						 g.sets[a].distinct : g.sets[b].distinct);
					z = mb_bloom_stddev(bp.m, bp.k,
						(double)g.sets[a].distinct,
						(double)g.sets[b].distinct, exact);
					within3 += fabs(e - exact) <= 3 * z + 1;
					pairs++;
				}
		}
		printf("  error vs exact over %zu %s pairs: mean %.3f%%, worst "
		       "%.3f%% of the exact common count; mean %.4f%% of the "
		       "smaller VM's distinct pages; %.2f%% within 3 predicted "
		       "sigma\n", pairs, all_pairs ? "(all)" : "sampled",
		       100 * sum / (double)pairs, 100 * worst,
		       100 * sum_size / (double)pairs,
		       100.0 * (double)within3 / (double)pairs);
		printf("RESULT bloom vms=%zu pages=%llu bits=%.1f seconds=%.2f "
		       "peak_mib=%.0f mean_err_pct=%.3f worst_err_pct=%.3f\n",
		       n, (unsigned long long)g.pages, bits, t_est, peak,
		       100 * sum / (double)pairs, 100 * worst);
		free(est);
		mb_sharing_matrix_free(&m);
	}
	for (v = 0; v < n; v++)
		mb_set_free(&g.sets[v]);
	free(g.sets);
	free(base);
	return 0;
}
