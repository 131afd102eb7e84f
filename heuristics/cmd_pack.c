// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_pack.c - `mbuddy pack`: the cluster experiment of the Memory Buddies
 * paper. H hosts of C MiB; VMs arrive one by one and are placed until one
 * fits nowhere; how many VMs does first-fit pack, and how many buddies?
 *
 * VMs come from the given traces with synthetic private data (synth.h): VM
 * i takes a trace drawn at random and replaces each used page, with a
 * probability drawn uniformly from the --private range, by a digest no
 * other VM has. Its configured memory is its trace's size (free pages
 * included).
 *
 *   first-fit  the first host whose configured memory still has room.
 *   buddies    the host where the VM shares the most with the host's
 *              aggregate, among those where its footprint fits: memory
 *              minus (its own duplicates + pages shared with the host).
 *              Sharing is the paper's Bloom-filter estimate against the OR
 *              of the host's filters (default), or exact with --exact.
 *
 * After packing, every buddies host is recomputed exactly from the digest
 * sets and any host the estimates over-filled is reported, so the count is
 * never better than the real memory allows without saying so.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bloom.h"
#include "cmd.h"
#include "sharing.h"
#include "synth.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EPS 1e-9

static const char pack_usage[] =
"usage: mbuddy pack [options] TRACE...\n"
"\n"
"Cluster experiment: VMs made from the traces (each with a random share of\n"
"private pages) arrive one by one and are placed on H hosts of C MiB until\n"
"one fits nowhere. Prints how many VMs first-fit and buddies packed.\n"
"\n"
"options:\n"
"  --hosts H            hosts (default 100)\n"
"  --host-mb C          memory per host (default: 4 x the traces' mean size)\n"
"  --private MIN:MAX    range of each VM's private fraction (default 0.2:0.6)\n"
"  --bits-per-page B    Bloom filter size for buddies (default 4)\n"
"  --memory used|configured\n"
"                       a VM's memory: its counted pages (default) or its\n"
"                       trace's whole size, free pages included\n"
"  --exact              buddies with exact sharing instead of Bloom filters\n"
"  --seed S             random seed (default 1)\n"
"  --include-free       count free pages of the traces too\n"
"  --json               machine-readable output\n"
"  -h, --help           this text\n";

struct base {
	uint64_t *digests;	/* counted pages */
	uint64_t n;
	int algo;
	double memory_mb;
};

struct vm {
	struct mb_digest_set set;
	struct mb_bloom bloom;
	size_t base;
	double private_fraction, memory_mb;
};

struct pack {
	struct base *bases;
	size_t nbases;
	struct vm *vms;
	size_t nvms, cap;
	uint64_t seed, rng;
	double pmin, pmax, host_mb;
	size_t hosts;
	struct mb_bloom_params bp;
	bool exact;
	bool configured;	/* memory = whole trace, not counted pages */
	bool progress;		/* stderr is a terminal */
};

static void show_progress(const struct pack *p, const char *what, size_t i)
{
	if (p->progress && i % 16 == 0) {
		fprintf(stderr, "\rmbuddy pack: %s: %zu VMs placed", what, i);
		fflush(stderr);
	}
}

static int load_bases(struct pack *p, char **paths, size_t n,
		      bool include_free, struct mb_err *err)
{
	size_t i;
	uint64_t r, k;

	p->bases = calloc(n, sizeof(*p->bases));
	if (!p->bases)
		return mb_errf(err, "out of memory");
	for (i = 0; i < n; i++) {
		struct mbt_trace t;
		struct base *b = &p->bases[i];

		memset(&t, 0, sizeof(t));
		if (mb_trace_load(paths[i], &t, err))
			return -1;
		p->nbases++;
		b->algo = t.info.algorithm;
		b->memory_mb = mb_pages_mb((double)t.info.page_count);
		b->digests = malloc((t.info.page_count + 1) * sizeof(uint64_t));
		if (!b->digests) {
			mbt_trace_free(&t);
			return mb_errf(err, "out of memory");
		}
		for (r = 0, k = 0; r < t.info.page_count; r++)
			if (include_free || !mbt_is_free(&t, r))
				b->digests[k++] = t.digests[r];
		b->n = k;
		if (!p->configured)
			b->memory_mb = mb_pages_mb((double)k);
		mbt_trace_free(&t);
		if (i && b->algo != p->bases[0].algo)
			return mb_errf(err, "%s has %s digests, %s has %s: "
				       "traces must share one algorithm",
				       paths[i], mb_algo_name(b->algo),
				       paths[0],
				       mb_algo_name(p->bases[0].algo));
	}
	return 0;
}

/* VM @i of the arrival stream, made on first use. */
static struct vm *get_vm(struct pack *p, size_t i, struct mb_err *err)
{
	while (p->nvms <= i) {
		struct vm *vm;
		struct base *b;
		uint64_t *buf;
		char name[32];

		if (p->nvms == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 256;
			struct vm *nv = realloc(p->vms, cap * sizeof(*nv));

			if (!nv)
				return mb_errf(err, "out of memory"), NULL;
			p->vms = nv;
			p->cap = cap;
		}
		vm = &p->vms[p->nvms];
		memset(vm, 0, sizeof(*vm));
		vm->base = mb_synth_next(&p->rng) % p->nbases;
		vm->private_fraction = p->pmin + (p->pmax - p->pmin) *
				       mb_synth_uniform(&p->rng);
		b = &p->bases[vm->base];
		vm->memory_mb = b->memory_mb;
		buf = malloc((b->n + 1) * sizeof(uint64_t));
		if (!buf)
			return mb_errf(err, "out of memory"), NULL;
		mb_synth_vm(buf, b->digests, b->n, vm->private_fraction,
			    p->seed, p->nvms);
		snprintf(name, sizeof(name), "vm%zu", p->nvms);
		if (mb_set_from_digests(&vm->set, buf, b->n, b->algo, name,
					err)) {
			free(buf);
			return NULL;
		}
		free(buf);
		if (!p->exact) {
			if (mb_bloom_init(&vm->bloom, &p->bp, err))
				return NULL;
			mb_bloom_add_set(&vm->bloom, &vm->set);
		}
		p->nvms++;
	}
	return &p->vms[i];
}

static long pack_first_fit(struct pack *p, struct mb_err *err)
{
	double *used = calloc(p->hosts, sizeof(double));
	size_t i, h;

	if (!used)
		return mb_errf(err, "out of memory");
	for (i = 0;; i++) {
		struct vm *vm = get_vm(p, i, err);

		if (!vm) {
			free(used);
			return -1;
		}
		for (h = 0; h < p->hosts; h++)
			if (used[h] + vm->memory_mb <= p->host_mb + EPS)
				break;
		if (h == p->hosts)
			break;
		used[h] += vm->memory_mb;
		show_progress(p, "first-fit", i);
	}
	free(used);
	return (long)i;
}

struct host {
	double est_mb;			/* estimated memory in use */
	struct mb_bloom agg;		/* OR of the VMs' filters */
	uint64_t agg_zeros;
	struct mb_digest_set uni;	/* exact union (--exact) */
	size_t *vms;
	size_t nvms;
};

/* uni |= set (sorted unions, same width). */
static int union_add(struct mb_digest_set *uni, const struct mb_digest_set *s)
{
	uint64_t n = uni->distinct + s->distinct, i = 0, j = 0, k = 0;
	struct mb_digest_set out = *uni;

	out.d32 = NULL;
	out.d64 = NULL;
	if (s->width == 4)
		out.d32 = malloc((n + 1) * 4);
	else
		out.d64 = malloc((n + 1) * 8);
	if (!out.d32 && !out.d64)
		return -1;
	while (i < uni->distinct || j < s->distinct) {
		uint64_t x = i < uni->distinct ? mb_set_key(uni, i) : UINT64_MAX;
		uint64_t y = j < s->distinct ? mb_set_key(s, j) : UINT64_MAX;
		uint64_t v;

		if (i < uni->distinct && (j >= s->distinct || x <= y)) {
			v = x;
			i++;
			if (j < s->distinct && x == y)
				j++;
		} else {
			v = y;
			j++;
		}
		if (s->width == 4)
			out.d32[k++] = (uint32_t)v;
		else
			out.d64[k++] = v;
	}
	free(uni->d32);
	free(uni->d64);
	out.distinct = k;
	out.width = s->width;
	out.algorithm = s->algorithm;
	out.key_id = s->key_id;
	*uni = out;
	return 0;
}

struct buddies_result {
	long packed;
	size_t over_capacity;
	double worst_over_mb, est_total_mb, exact_total_mb;
};

static int pack_buddies(struct pack *p, struct buddies_result *res,
			struct mb_err *err)
{
	struct host *hs = calloc(p->hosts, sizeof(*hs));
	size_t i, h, k;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (!hs)
		return mb_errf(err, "out of memory");
	for (h = 0; h < p->hosts; h++) {
		hs[h].vms = malloc(4096 * sizeof(size_t));
		if (!hs[h].vms || (!p->exact &&
				   mb_bloom_init(&hs[h].agg, &p->bp, err)))
			goto out;
		hs[h].agg_zeros = p->bp.m;
	}
	for (i = 0;; i++) {
		struct vm *vm = get_vm(p, i, err);
		double best_share = -1, best_fp = 0;
		long best = -1;

		if (!vm)
			goto out;
		for (h = 0; h < p->hosts; h++) {
			double share = 0, fp;

			if (hs[h].nvms && p->exact) {
				share = (double)mb_set_common(&vm->set,
							      &hs[h].uni);
			} else if (hs[h].nvms) {
				share = mb_bloom_estimate(p->bp.m, p->bp.k,
					mb_bloom_zeros(&vm->bloom),
					hs[h].agg_zeros,
					mb_bloom_zeros_and(&vm->bloom,
							   &hs[h].agg));
				if (isnan(share) || share < 0)
					share = 0;
				if (share > (double)vm->set.distinct)
					share = (double)vm->set.distinct;
			}
			fp = vm->memory_mb - mb_pages_mb(share + (double)
				mb_set_self_duplicates(&vm->set));
			if (hs[h].est_mb + fp > p->host_mb + EPS ||
			    hs[h].nvms == 4096)
				continue;
			if (share > best_share + 0.5) {
				best_share = share;
				best_fp = fp;
				best = (long)h;
			}
		}
		if (best < 0)
			break;
		show_progress(p, "buddies", i);
		hs[best].est_mb += best_fp;
		hs[best].vms[hs[best].nvms++] = i;
		if (p->exact) {
			if (!hs[best].uni.width) {
				hs[best].uni.width = vm->set.width;
				hs[best].uni.algorithm = vm->set.algorithm;
			}
			if (union_add(&hs[best].uni, &vm->set)) {
				mb_errf(err, "out of memory");
				goto out;
			}
		} else {
			mb_bloom_or(&hs[best].agg, &vm->bloom);
			hs[best].agg_zeros = mb_bloom_zeros(&hs[best].agg);
		}
	}
	res->packed = (long)i;
	/* The exact memory in use on every host. */
	for (h = 0; h < p->hosts; h++) {
		const struct mb_digest_set **sets;
		double mem = 0, pages = 0, after;

		if (!hs[h].nvms)
			continue;
		sets = malloc(hs[h].nvms * sizeof(*sets));
		if (!sets) {
			mb_errf(err, "out of memory");
			goto out;
		}
		for (k = 0; k < hs[h].nvms; k++) {
			const struct vm *vm = &p->vms[hs[h].vms[k]];

			sets[k] = &vm->set;
			mem += vm->memory_mb;
			pages += (double)vm->set.pages;
		}
		after = mem - mb_pages_mb(pages - (double)
					  mb_group_distinct(sets, hs[h].nvms));
		free(sets);
		res->est_total_mb += hs[h].est_mb;
		res->exact_total_mb += after;
		if (after > p->host_mb + EPS) {
			res->over_capacity++;
			if (after - p->host_mb > res->worst_over_mb)
				res->worst_over_mb = after - p->host_mb;
		}
	}
	rc = 0;
out:
	for (h = 0; h < p->hosts; h++) {
		free(hs[h].vms);
		mb_bloom_free(&hs[h].agg);
		mb_set_free(&hs[h].uni);
	}
	free(hs);
	return rc;
}

static int parse_range(const char *s, double *lo, double *hi)
{
	char *end;

	*lo = strtod(s, &end);
	if (*end != ':')
		return -1;
	*hi = strtod(end + 1, &end);
	if (*end || !(*lo >= 0) || !(*hi <= 1) || *lo > *hi)
		return -1;
	return 0;
}

int cmd_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "hosts", required_argument, NULL, 'H' },
		{ "host-mb", required_argument, NULL, 'C' },
		{ "private", required_argument, NULL, 'p' },
		{ "bits-per-page", required_argument, NULL, 'b' },
		{ "exact", no_argument, NULL, 'e' },
		{ "memory", required_argument, NULL, 'M' },
		{ "seed", required_argument, NULL, 's' },
		{ "include-free", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pack p = { .hosts = 100, .pmin = 0.2, .pmax = 0.6, .seed = 1 };
	struct buddies_result br;
	double bits = 4, mean = 0;
	bool json = false, include_free = false;
	uint64_t max_pages = 0;
	struct mb_err err;
	long ff;
	int c, rc = EXIT_FAIL;
	size_t i;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			p.hosts = strtoul(optarg, &end, 10);
			if (*end || !p.hosts || p.hosts > 100000 ||
			    optarg[0] == '-')
				goto bad;
			break;
		case 'C':
			p.host_mb = strtod(optarg, &end);
			if (*end || !(p.host_mb > 0))
				goto bad;
			break;
		case 'p':
			if (parse_range(optarg, &p.pmin, &p.pmax))
				goto bad;
			break;
		case 'b':
			bits = strtod(optarg, &end);
			if (*end || !(bits > 0) || bits > 1024)
				goto bad;
			break;
		case 'e':
			p.exact = true;
			break;
		case 'M':
			if (!strcmp(optarg, "configured"))
				p.configured = true;
			else if (strcmp(optarg, "used"))
				goto bad;
			break;
		case 's':
			p.seed = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		case 'f':
			include_free = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(pack_usage, stdout);
			return 0;
		default:
			fputs(pack_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "mbuddy pack: no trace given\n%s", pack_usage);
		return EXIT_USAGE;
	}
	p.rng = p.seed;
	if (load_bases(&p, argv + optind, (size_t)(argc - optind),
		       include_free, &err)) {
		fprintf(stderr, "mbuddy pack: %s\n", err.msg);
		goto out;
	}
	for (i = 0; i < p.nbases; i++) {
		mean += p.bases[i].memory_mb / (double)p.nbases;
		if (p.bases[i].n > max_pages)
			max_pages = p.bases[i].n;
	}
	if (!p.host_mb)
		p.host_mb = 4 * mean;
	if (!p.exact && mb_bloom_choose(bits, 0, max_pages, &p.bp, &err)) {
		fprintf(stderr, "mbuddy pack: %s\n", err.msg);
		goto out;
	}
	p.progress = isatty(STDERR_FILENO);
	ff = pack_first_fit(&p, &err);
	if (ff < 0 || pack_buddies(&p, &br, &err)) {
		fprintf(stderr, "mbuddy pack: %s\n", err.msg);
		goto out;
	}
	if (p.progress)
		fprintf(stderr, "\r%40s\r", "");
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "hosts", json_integer((json_int_t)p.hosts));
		json_object_set_new(o, "host_mb", json_real(p.host_mb));
		json_object_set_new(o, "traces", json_integer((json_int_t)p.nbases));
		json_object_set_new(o, "private_min", json_real(p.pmin));
		json_object_set_new(o, "private_max", json_real(p.pmax));
		json_object_set_new(o, "seed", json_integer((json_int_t)p.seed));
		json_object_set_new(o, "memory", json_string(p.configured ?
							"configured" : "used"));
		json_object_set_new(o, "estimator", json_string(p.exact ?
							"exact" : "bloom"));
		if (!p.exact) {
			json_object_set_new(o, "bloom_m_bits",
					    json_integer((json_int_t)p.bp.m));
			json_object_set_new(o, "bloom_k", json_integer(p.bp.k));
		}
		json_object_set_new(o, "first_fit", json_integer(ff));
		json_object_set_new(o, "buddies", json_integer(br.packed));
		json_object_set_new(o, "gain_percent", json_real(ff ?
			100.0 * (double)(br.packed - ff) / (double)ff : 0));
		json_object_set_new(o, "buddies_estimated_mb",
				    json_real(br.est_total_mb));
		json_object_set_new(o, "buddies_exact_mb",
				    json_real(br.exact_total_mb));
		json_object_set_new(o, "hosts_over_capacity",
				    json_integer((json_int_t)br.over_capacity));
		json_object_set_new(o, "worst_over_mb",
				    json_real(br.worst_over_mb));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		putchar('\n');
		json_decref(o);
	} else {
		printf("%zu hosts of %.0f MiB; VMs from %zu traces (memory: "
		       "%s), private fraction %.2f-%.2f, seed %llu\n", p.hosts,
		       p.host_mb, p.nbases, p.configured ? "whole trace" :
		       "used pages", p.pmin, p.pmax,
		       (unsigned long long)p.seed);
		printf("first-fit: %ld VMs\n", ff);
		printf("buddies:   %ld VMs (%+.1f%%), sharing by %s\n",
		       br.packed, ff ? 100.0 * (double)(br.packed - ff) /
		       (double)ff : 0, p.exact ? "exact counts" :
		       "Bloom estimates");
		if (!p.exact)
			printf("  filters m = %llu bits, k = %u\n",
			       (unsigned long long)p.bp.m, p.bp.k);
		printf("  memory in use: %.0f MiB estimated, %.0f MiB exact; "
		       "%zu hosts over capacity (worst by %.1f MiB)\n",
		       br.est_total_mb, br.exact_total_mb, br.over_capacity,
		       br.worst_over_mb);
	}
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "mbuddy pack: bad option value '%s'\n%s", optarg,
		pack_usage);
	return EXIT_USAGE;
out:
	for (i = 0; i < p.nbases; i++)
		free(p.bases[i].digests);
	free(p.bases);
	for (i = 0; i < p.nvms; i++) {
		mb_set_free(&p.vms[i].set);
		mb_bloom_free(&p.vms[i].bloom);
	}
	free(p.vms);
	return rc;
}
