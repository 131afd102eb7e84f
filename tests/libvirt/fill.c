// SPDX-License-Identifier: GPL-2.0
/*
 * fill.c - mbfill SEED MIB: hold MIB MiB of pseudo-random bytes made from
 * SEED (xorshift64*) until killed. Two guests given the same seed hold the
 * same pages, guests given different seeds hold different ones: the
 * libvirt tests build VMs whose sharing is known in advance this way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uint64_t x, *p;
	size_t n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: mbfill SEED MIB\n");
		return 2;
	}
	x = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	n = strtoull(argv[2], NULL, 0) << 17;	/* 8-byte words */
	p = malloc(n * sizeof(*p));
	if (!p) {
		perror("mbfill");
		return 1;
	}
	for (i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = x * 0x2545f4914f6cdd1dULL;
	}
	printf("MBFILL %s MiB seed %s ready\n", argv[2], argv[1]);
	fflush(stdout);
	for (;;)
		pause();
}
