// SPDX-License-Identifier: GPL-2.0
/*
 * superfasthash.c - Paul Hsieh's SuperFastHash (2004).
 *
 * The Memory Buddies prototype and its first implementation both identified pages
 * by this 32-bit hash, so it stays the default. Written for the kernel's
 * coding style because memtrace.ko compiles this very file; user space
 * compiles it unchanged.
 */
#include "superfasthash.h"

static inline uint32_t sfh_get16(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

uint32_t mb_superfasthash(const void *data, size_t len)
{
	if (!data || len == 0)
		return 0;
	return mb_superfasthash_resume((uint32_t)len, data, len);
}

uint32_t mb_superfasthash_resume(uint32_t hash, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t tmp;
	size_t rem, blocks;

	rem = len & 3;
	for (blocks = len >> 2; blocks > 0; blocks--, p += 4) {
		hash += sfh_get16(p);
		tmp = (sfh_get16(p + 2) << 11) ^ hash;
		hash = (hash << 16) ^ tmp;
		hash += hash >> 11;
	}

	/*
	 * The original reads the odd trailing byte as a signed char; keep
	 * that so digests of odd-length inputs agree with it too.
	 */
	switch (rem) {
	case 3:
		hash += sfh_get16(p);
		hash ^= hash << 16;
		hash ^= (uint32_t)(int32_t)(signed char)p[2] << 18;
		hash += hash >> 11;
		break;
	case 2:
		hash += sfh_get16(p);
		hash ^= hash << 11;
		hash += hash >> 17;
		break;
	case 1:
		hash += (uint32_t)(int32_t)(signed char)p[0];
		hash ^= hash << 10;
		hash += hash >> 1;
		break;
	}

	hash ^= hash << 3;
	hash += hash >> 5;
	hash ^= hash << 4;
	hash += hash >> 17;
	hash ^= hash << 25;
	hash += hash >> 6;
	return hash;
}
