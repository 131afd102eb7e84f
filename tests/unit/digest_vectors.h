/* SPDX-License-Identifier: GPL-2.0 */
/*
 * digest_vectors.h - the test vectors of tests/vectors/digests.py, rebuilt
 * in C, for test_digest.c and test_digest_batch.c.
 */
#ifndef MB_TEST_DIGEST_VECTORS_H
#define MB_TEST_DIGEST_VECTORS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Build vector @name into @buf (4096 bytes); returns its length or -1. */
static inline long make_vector(const char *name, uint8_t *buf)
{
	long i, n;

	if (!strcmp(name, "zero")) {
		memset(buf, 0, 4096);
		return 4096;
	}
	if (!strcmp(name, "ones")) {
		memset(buf, 0xff, 4096);
		return 4096;
	}
	if (!strcmp(name, "count8")) {
		for (i = 0; i < 4096; i++)
			buf[i] = (uint8_t)i;
		return 4096;
	}
	if (!strcmp(name, "count32")) {
		for (i = 0; i < 1024; i++) {
			uint32_t v = (uint32_t)i;

			memcpy(buf + 4 * i, &v, 4);	/* x86-64: little-endian */
		}
		return 4096;
	}
	if (sscanf(name, "random%ld", &n) == 1) {
		uint64_t state = (uint64_t)n + 1;

		for (i = 0; i < 512; i++) {
			uint64_t v = splitmix64(&state);

			memcpy(buf + 8 * i, &v, 8);
		}
		return 4096;
	}
	if (sscanf(name, "short%ld", &n) == 1 && n > 0 && n <= 4096) {
		for (i = 0; i < n; i++)
			buf[i] = (uint8_t)(0x80 + 37 * i);
		return n;
	}
	return -1;
}

#endif /* MB_TEST_DIGEST_VECTORS_H */
