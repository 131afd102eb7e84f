// SPDX-License-Identifier: GPL-2.0
/*
 * bench_digest.c - per-core throughput of the page digests against the
 * machine's single-core memory read bandwidth, measured in the same run
 * over the same buffer (much larger than the caches).
 *
 * The bandwidth baseline is a summing loop over the buffer whose result is
 * printed, so the compiler cannot drop it. Each figure is the best of
 * several passes. Every algorithm of lib/'s table is measured with each of
 * its implementations this CPU runs, through the batch API
 * (mb_digest_batch(), as mb_digest_pages() and `mbuddy trace hash` use
 * it): the scalar code (one indirect call per 4 KiB page) and every
 * multi-buffer SIMD variant, one line each, starting with the digest's
 * name. SuperFastHash is also compared with a plain C version of the
 * algorithm as it is usually written (16-bit loads through a pointer cast,
 * no restructuring), to show the shared source gives up nothing.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"

#define PAGE 4096

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The algorithm written the plain way, for comparison only. */
static uint32_t plain_superfasthash(const char *data, int len)
{
	uint32_t hash = (uint32_t)len, tmp;
	int rem;

#define get16bits(d) ((uint32_t)(*((const uint16_t *)(const void *)(d))))
	if (len <= 0 || data == NULL)
		return 0;
	rem = len & 3;
	len >>= 2;
	for (; len > 0; len--) {
		hash += get16bits(data);
		tmp = (get16bits(data + 2) << 11) ^ hash;
		hash = (hash << 16) ^ tmp;
		data += 2 * sizeof(uint16_t);
		hash += hash >> 11;
	}
	switch (rem) {
	case 3:
		hash += get16bits(data);
		hash ^= hash << 16;
		hash ^= (uint32_t)((signed char)data[sizeof(uint16_t)]) << 18;
		hash += hash >> 11;
		break;
	case 2:
		hash += get16bits(data);
		hash ^= hash << 11;
		hash += hash >> 17;
		break;
	case 1:
		hash += (uint32_t)(signed char)*data;
		hash ^= hash << 10;
		hash += hash >> 1;
	}
	hash ^= hash << 3;
	hash += hash >> 5;
	hash ^= hash << 4;
	hash += hash >> 17;
	hash ^= hash << 25;
	hash += hash >> 6;
	return hash;
#undef get16bits
}

/*
 * What one pass measures: the read baseline, the plain SuperFastHash, or a
 * row with one implementation.
 */
struct kind {
	const char *label;
	const struct mb_algo_info *algo;	/* NULL: not a table row */
	int impl;
	bool plain;
};

/* Every page of the buffer, and room for their digests. */
static const void **pages;
static uint64_t *digests;

static uint64_t run(const struct kind *k, const uint8_t *buf, size_t len)
{
	uint64_t acc = 0;
	size_t off, i;

	if (!k->algo && !k->plain) {
		const uint64_t *w = (const uint64_t *)buf;
		uint64_t a = 0, b = 0, c = 0, d = 0;
		size_t i, n = len / 8;

		for (i = 0; i < n; i += 4) {
			a += w[i];
			b += w[i + 1];
			c += w[i + 2];
			d += w[i + 3];
		}
		return a ^ b ^ c ^ d;
	}
	if (k->plain) {
		for (off = 0; off < len; off += PAGE)
			acc += plain_superfasthash((const char *)buf + off, PAGE);
		return acc;
	}
	mb_digest_batch(k->algo->id, k->impl, pages, len / PAGE, PAGE, digests);
	for (i = 0; i < len / PAGE; i++)
		acc += digests[i];
	return acc;
}

static double best_gbps(const struct kind *k, const uint8_t *buf, size_t len,
			int passes, uint64_t *sink)
{
	double best = 0;
	int i;

	for (i = 0; i < passes; i++) {
		double t0 = now(), gbps;

		*sink ^= run(k, buf, len);
		gbps = len / (now() - t0) / 1e9;
		if (gbps > best)
			best = gbps;
	}
	return best;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
	size_t len = mib << 20, i;
	int passes = argc > 2 ? atoi(argv[2]) : 3, impl;
	uint8_t *buf = aligned_alloc(PAGE, len);
	uint64_t sink = 0, x = 0x9E3779B97F4A7C15ULL;
	const struct kind read = { .label = "memory read (sum)" };
	const struct kind plain = { .label = "superfast, plain C",
				    .plain = true };
	double bw, sfh = 0, best[16] = { 0 };
	const char *best_impl[16] = { NULL };

	pages = malloc(len / PAGE * sizeof(*pages));
	digests = malloc(len / PAGE * sizeof(*digests));
	if (!buf || !pages || !digests || passes < 1 || len < PAGE ||
	    mb_algo_count > 16) {
		fprintf(stderr, "usage: bench_digest [MiB [passes]]\n");
		return 2;
	}
	for (i = 0; i < len / 8; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		((uint64_t *)buf)[i] = x;
	}
	for (i = 0; i < len / PAGE; i++)
		pages[i] = buf + i * PAGE;

	printf("page digests, one core, %zu MiB buffer, best of %d passes\n",
	       mib, passes);
	printf("this CPU runs:");
	for (impl = 0; impl < MB_IMPL_COUNT; impl++)
		if (mb_impl_usable(impl))
			printf(" %s", mb_impl_name(impl));
	printf("\n");
	bw = best_gbps(&read, buf, len, passes, &sink);
	printf("  %-22s %7.2f GB/s  (baseline)\n", read.label, bw);
	/*
	 * Every algorithm of the table, with every implementation it has
	 * that this CPU runs, through the batch API.
	 */
	for (i = 0; i < mb_algo_count; i++) {
		double scalar = 0;

		for (impl = 0; impl < MB_IMPL_COUNT; impl++) {
			char label[64];
			struct kind k = { .label = label, .algo = &mb_algos[i],
					  .impl = impl };
			unsigned int lanes = mb_impl_lanes(mb_algos[i].id, impl);
			double gbps;

			if (!lanes || !mb_impl_usable(impl))
				continue;
			snprintf(label, sizeof(label), "%s %s", mb_algos[i].name,
				 mb_impl_name(impl));
			gbps = best_gbps(&k, buf, len, passes, &sink);
			printf("  %-22s %7.2f GB/s  %6.2f x read bandwidth  "
			       "%9.0f pages/s", k.label, gbps, gbps / bw,
			       gbps * 1e9 / PAGE);
			if (impl == MB_IMPL_SCALAR)
				scalar = gbps;
			else
				printf("  %2u lanes, %5.2f x scalar", lanes,
				       gbps / scalar);
			printf("\n");
			if (mb_algos[i].id == MB_ALGO_SUPERFAST &&
			    impl == MB_IMPL_SCALAR)
				sfh = gbps;
			if (gbps > best[i]) {
				best[i] = gbps;
				best_impl[i] = mb_impl_name(impl);
			}
		}
	}
	{
		double gbps = best_gbps(&plain, buf, len, passes, &sink);

		printf("  %-22s %7.2f GB/s  %6.2f x read bandwidth  (shared "
		       "source / plain = %.2f)\n", plain.label, gbps,
		       gbps / bw, sfh / gbps);
	}
	printf("  the fastest of each (goal: 0.80 x read bandwidth):");
	for (i = 0; i < mb_algo_count; i++)
		printf("%s %s %.2f x (%s)", i ? "," : "", mb_algos[i].name,
		       best[i] / bw, best_impl[i]);
	printf("\n(checksum of all passes: %016" PRIx64 ")\n", sink);
	free(pages);
	free(digests);
	free(buf);
	return 0;
}
