// SPDX-License-Identifier: GPL-2.0
/*
 * ksmload.c - the guest workloads of the KSM validation experiment.
 *
 * A small static program that runs inside each QEMU guest (busybox
 * initramfs) and puts memory into a known state before the host measures
 * how much of it KSM merges:
 *
 *   ksmload shared MIB FILE   write MIB MiB of pseudo-random data to FILE
 *                             (on tmpfs, so it stays in the page cache).
 *                             The generator is seeded with a constant, so
 *                             every guest holds the very same pages, and no
 *                             two pages of the file are alike.
 *   ksmload private MIB       fill MIB MiB of anonymous memory with data
 *                             seeded from getrandom(), so no page matches
 *                             any page of another guest, then sleep forever
 *                             holding it (run it in the background).
 *
 * Both print "KSMLOAD-READY <mode> <MiB>" once the data is in place. The
 * generator is xorshift64*: fast under TCG and with no page-sized period.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define PAGE 4096
#define SHARED_SEED 0x6d656d6275646479ULL	/* any constant will do */

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void fill_page(uint64_t *page, uint64_t *state)
{
	size_t i;

	for (i = 0; i < PAGE / sizeof(*page); i++)
		page[i] = next(state);
}

static long parse_mib(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0 || v > 1 << 20) {
		fprintf(stderr, "ksmload: '%s' is not a size in MiB (1..1048576)\n", s);
		exit(2);
	}
	return v;
}

static int shared(long mib, const char *path)
{
	uint64_t page[PAGE / sizeof(uint64_t)], state = SHARED_SEED;
	long pages = mib * (1 << 20) / PAGE, i;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		fprintf(stderr, "ksmload: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < pages; i++) {
		fill_page(page, &state);
		if (write(fd, page, PAGE) != PAGE) {
			fprintf(stderr, "ksmload: %s: write of page %ld failed: %s\n",
				path, i, strerror(errno));
			close(fd);
			return 1;
		}
	}
	if (close(fd)) {
		fprintf(stderr, "ksmload: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("KSMLOAD-READY shared %ld\n", mib);
	fflush(stdout);
	return 0;
}

static int private(long mib)
{
	size_t len = (size_t)mib << 20, i;
	uint64_t state = 0;
	uint8_t *mem;

	while (!state)
		if (getrandom(&state, sizeof(state), 0) != sizeof(state)) {
			fprintf(stderr, "ksmload: getrandom: %s\n", strerror(errno));
			return 1;
		}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "ksmload: mmap of %ld MiB: %s\n", mib, strerror(errno));
		return 1;
	}
	for (i = 0; i < len; i += PAGE)
		fill_page((uint64_t *)(mem + i), &state);
	printf("KSMLOAD-READY private %ld\n", mib);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "shared"))
		return shared(parse_mib(argv[2]), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "private"))
		return private(parse_mib(argv[2]));
	fprintf(stderr, "usage: ksmload shared MIB FILE | ksmload private MIB\n");
	return 2;
}
