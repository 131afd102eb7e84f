// SPDX-License-Identifier: GPL-2.0
/*
 * work.c - mbwork PHASES: a workload whose working set changes in phases,
 * for the balancing tests (tests/libvirt/balance.sh).
 *
 * PHASES is "MIB:PASSES,MIB:PASSES,...": in each phase the working set is
 * MIB MiB (grown or shrunk from the last phase's: memory beyond it is
 * given back to the kernel), and every page of it is written PASSES
 * times, page after page. The work is fixed, so a guest short of memory
 * (swapping) takes longer to do it. Prints one line per phase and one at
 * the end, on stdout (the serial console):
 *
 *	MBWORK phase 1 ws 64 MiB passes 20 done 812 ms
 *	MBWORK done 5120 ms
 *
 * Times are the guest's own monotonic clock: durations only.
 *
 * Phases of several guests are kept in step by two shell commands from
 * the environment, each with "%d" standing for the phase number:
 * MBWORK_BARRIER runs before every phase but the first (it returns when
 * the phase may start), MBWORK_DONE after every phase (to say so).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
#define MAX_MIB 65536

/* Run @fmt with its first "%d" replaced by @phase. */
static void run_hook(const char *fmt, size_t phase)
{
	char cmd[1024];
	const char *at;

	if (!fmt || !(at = strstr(fmt, "%d")))
		return;
	snprintf(cmd, sizeof(cmd), "%.*s%zu%s", (int)(at - fmt), fmt, phase,
		 at + 2);
	if (system(cmd) == -1)
		perror("mbwork: system");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	char *mem, *spec, *tok, *save = NULL, *end;
	int64_t start = now_ms(), t0;
	size_t have = 0, phase = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mbwork MIB:PASSES[,MIB:PASSES...]\n");
		return 2;
	}
	/* One reservation for the largest phase; pages come on first touch. */
	mem = mmap(NULL, (size_t)MAX_MIB << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mbwork: mmap");
		return 1;
	}
	spec = strdup(argv[1]);
	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long mib, passes, p;
		size_t bytes, off;

		errno = 0;
		mib = strtoul(tok, &end, 10);
		if (errno || *end != ':' || !mib || mib > MAX_MIB) {
			fprintf(stderr, "mbwork: phase '%s': expected MIB:PASSES "
				"with MIB 1..%d\n", tok, MAX_MIB);
			return 2;
		}
		passes = strtoul(end + 1, &end, 10);
		if (*end || !passes) {
			fprintf(stderr, "mbwork: phase '%s': PASSES is not a "
				"positive number\n", tok);
			return 2;
		}
		if (phase)
			run_hook(getenv("MBWORK_BARRIER"), phase + 1);
		bytes = (size_t)mib << 20;
		if (bytes < have)	/* shrink: give the rest back */
			madvise(mem + bytes, have - bytes, MADV_DONTNEED);
		have = bytes;
		t0 = now_ms();
		for (p = 0; p < passes; p++)
			for (off = 0; off < bytes; off += PAGE)
				mem[off] = (char)(p + off / PAGE);
		printf("MBWORK phase %zu ws %lu MiB passes %lu done %lld ms\n",
		       ++phase, mib, passes, (long long)(now_ms() - t0));
		fflush(stdout);
		run_hook(getenv("MBWORK_DONE"), phase);
	}
	/* The total is the work's: the waits at the barriers are in it. */
	printf("MBWORK done %lld ms\n", (long long)(now_ms() - start));
	fflush(stdout);
	free(spec);
	return 0;
}
