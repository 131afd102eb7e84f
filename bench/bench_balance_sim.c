// SPDX-License-Identifier: GPL-2.0
/*
 * bench_balance_sim.c - how fast `mbuddy balance-sim` simulates, on real
 * page traces, each figure with its ratio to a seed-style baseline timed
 * in the same run (never a pass/fail on speed):
 *
 *   LRU    lru.h's O(1) LRU against an LRU built as the seed builds it: a
 *          frame struct per frame with prev/next pointers, a page table of
 *          frame pointers, a miss flag stored per reference; and against
 *          the seed's lock step itself (a thread per VM, two semaphore
 *          handoffs per reference) on a prefix of the trace;
 *   MRC    mrc.h's Fenwick-tree stack distances (the curve at every memory
 *          size in one pass) against Mattson's stack kept as a linked list
 *          and walked to each page (the classic O(distance) algorithm).
 *
 * The list walk costs the stack distance per reference; real programs
 * mostly re-reference their last few pages, so a synthetic VM whose
 * references spread over 8192 pages (the phase generator) is measured
 * too: there the walk's cost shows.
 *
 * Both LRUs and the curve must agree on the misses, which is checked.
 *
 * usage: bench_balance_sim TRACE...   (page traces, .xz or plain)
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lru.h"
#include "mrc.h"
#include "sim_input.h"

#define LOCKSTEP_REFS 200000
#define MATTSON_REFS 3000000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the O(1) LRU ---- */

static uint64_t run_lru(const struct mb_sim_vm *vm, uint64_t frames)
{
	struct mb_lru l;
	uint64_t i, misses = 0;

	if (mb_lru_init(&l, vm->pages, frames, NULL))
		exit(1);
	for (i = 0; i < vm->n; i++)
		misses += !mb_lru_access(&l, vm->refs[i]);
	mb_lru_free(&l);
	return misses;
}

/* ---- an LRU as the seed builds it ---- */

struct seed_frame {
	int used;
	int content;
	struct seed_frame *prev, *next;
};

struct seed_vm {
	struct seed_frame *head, *tail;
	struct seed_frame **table;	/* page -> frame or NULL */
	int *miss;			/* one flag per reference */
};

static void seed_access(struct seed_vm *v, const uint32_t *refs, uint64_t i)
{
	int page = (int)refs[i];
	struct seed_frame *f = v->table[page];

	if (f) {
		if (f != v->head) {
			if (f == v->tail) {
				f->prev->next = NULL;
				v->tail = f->prev;
			} else {
				f->prev->next = f->next;
				f->next->prev = f->prev;
			}
			v->head->prev = f;
			f->prev = NULL;
			f->next = v->head;
			v->head = f;
		}
		v->miss[i] = 0;
		return;
	}
	f = v->tail;
	v->miss[i] = f->used != 0;	/* the seed's miss: evicting a used frame */
	if (f->used)
		v->table[f->content] = NULL;
	f->used = 1;
	f->content = page;
	v->table[page] = f;
	v->tail = f->prev;
	v->tail->next = NULL;
	f->prev = NULL;
	f->next = v->head;
	v->head->prev = f;
	v->head = f;
}

static void seed_init(struct seed_vm *v, const struct mb_sim_vm *vm,
		      uint64_t frames, uint64_t refs)
{
	uint64_t k;

	v->table = calloc(vm->pages, sizeof(*v->table));
	v->miss = malloc(refs * sizeof(*v->miss));
	v->head = v->tail = NULL;
	if (!v->table || !v->miss)
		exit(1);
	for (k = 0; k < frames; k++) {
		struct seed_frame *f = calloc(1, sizeof(*f));

		if (!f)
			exit(1);
		f->prev = v->tail;
		if (v->tail)
			v->tail->next = f;
		else
			v->head = f;
		v->tail = f;
	}
}

static void seed_free(struct seed_vm *v)
{
	struct seed_frame *f = v->head, *next;

	for (; f; f = next) {
		next = f->next;
		free(f);
	}
	free(v->table);
	free(v->miss);
}

/* All misses, as lru.h counts them: evicting ones plus first fills. */
static uint64_t run_seed_lru(const struct mb_sim_vm *vm, uint64_t frames)
{
	struct seed_vm v;
	uint64_t i, misses = 0, fills = 0;
	seed_init(&v, vm, frames, vm->n);
	for (i = 0; i < vm->n; i++) {
		bool resident = v.table[vm->refs[i]] != NULL;

		seed_access(&v, vm->refs, i);
		misses += (uint64_t)v.miss[i];
		fills += !resident && !v.miss[i];
	}
	seed_free(&v);
	return misses + fills;
}

/* ---- the seed's lock step: one thread per VM, semaphores ---- */

struct lockstep {
	struct seed_vm v;
	const uint32_t *refs;
	uint64_t n;
	sem_t vm_go, hv_go;
};

static void *lockstep_vm(void *arg)
{
	struct lockstep *ls = arg;
	uint64_t i;

	for (i = 0; i < ls->n; i++) {
		sem_wait(&ls->vm_go);
		seed_access(&ls->v, ls->refs, i);
		sem_post(&ls->hv_go);
	}
	return NULL;
}

static double run_lockstep(const struct mb_sim_vm *vm, uint64_t frames)
{
	struct lockstep ls;
	pthread_t th;
	uint64_t i, n = vm->n < LOCKSTEP_REFS ? vm->n : LOCKSTEP_REFS;
	double t0;

	seed_init(&ls.v, vm, frames, n);
	ls.refs = vm->refs;
	ls.n = n;
	sem_init(&ls.vm_go, 0, 1);
	sem_init(&ls.hv_go, 0, 0);
	t0 = now();
	pthread_create(&th, NULL, lockstep_vm, &ls);
	for (i = 0; i < n; i++) {	/* the hypervisor: a checkpoint per step */
		sem_wait(&ls.hv_go);
		sem_post(&ls.vm_go);
	}
	pthread_join(th, NULL);
	t0 = now() - t0;
	sem_destroy(&ls.vm_go);
	sem_destroy(&ls.hv_go);
	seed_free(&ls.v);
	return (double)n / t0;
}

/* ---- Mattson's stack as a list ---- */

static uint64_t run_mattson(const struct mb_sim_vm *vm, uint64_t n,
			    uint64_t frames)
{
	uint32_t *next = malloc(vm->pages * sizeof(*next)), head = UINT32_MAX;
	uint8_t *in = calloc(vm->pages, 1);
	uint64_t i, misses = 0;

	if (!next || !in)
		exit(1);
	for (i = 0; i < n; i++) {
		uint32_t p = vm->refs[i], cur = head, prev = UINT32_MAX;
		uint64_t depth = 0;

		if (in[p]) {
			while (cur != p) {
				prev = cur;
				cur = next[cur];
				depth++;
			}
			if (prev != UINT32_MAX) {
				next[prev] = next[p];
				next[p] = head;
				head = p;
			}
			misses += depth >= frames;
		} else {
			in[p] = 1;
			next[p] = head;
			head = p;
			misses++;
		}
	}
	free(next);
	free(in);
	return misses;
}

static uint64_t run_mrc(const struct mb_sim_vm *vm, uint64_t n, uint64_t frames,
			uint64_t *curve)
{
	if (mb_mrc_curve(vm->refs, n, vm->pages, curve, vm->pages, NULL))
		exit(1);
	return curve[frames];
}

/* Time @what until at least 0.3 s have passed; returns refs per second. */
#define TIMED(rate, refs, result, call) do {				\
	double t0_ = now(), el_;					\
	uint64_t reps_ = 0;						\
	do {								\
		(result) = (call);					\
		reps_++;						\
		el_ = now() - t0_;					\
	} while (el_ < 0.3);						\
	(rate) = (double)(refs) * (double)reps_ / el_;			\
} while (0)

int main(int argc, char **argv)
{
	int a, status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_balance_sim TRACE...\n");
		return 2;
	}
	for (a = 1; a <= argc; a++) {
		struct mb_sim_input in = { NULL, 0 };
		const struct mb_sim_vm *vm;
		struct mb_err err;
		uint64_t frames, m_lru = 0, m_seed = 0, m_mrc = 0, m_walk = 0, mn;
		uint64_t m_walk_check = 0;
		uint64_t *curve;
		double r_lru, r_seed, r_lock, r_mrc, r_mrc_prefix, r_walk;

		if (a == argc) {
			struct mb_phase_spec spec;

			mb_phases_defaults(&spec);
			spec.vms = 1;
			spec.accesses = 4000000;
			spec.small = spec.large = 8192;
			spec.skew = 1.5;
			if (mb_phases_generate(&spec, &in, &err)) {
				fprintf(stderr, "bench_balance_sim: %s\n", err.msg);
				return 1;
			}
			snprintf(in.vms[0].name, sizeof(in.vms[0].name),
				 "synthetic, 8192 pages");
		} else if (mb_sim_load(argv[a], 0, &in, &err)) {
			fprintf(stderr, "bench_balance_sim: %s\n", err.msg);
			return 1;
		}
		vm = &in.vms[0];
		frames = vm->pages / 4 > 2 ? vm->pages / 4 : 2;
		curve = malloc(((size_t)vm->pages + 1) * sizeof(*curve));
		if (!curve)
			return 1;
		TIMED(r_lru, vm->n, m_lru, run_lru(vm, frames));
		TIMED(r_seed, vm->n, m_seed, run_seed_lru(vm, frames));
		r_lock = run_lockstep(vm, frames);
		TIMED(r_mrc, vm->n, m_mrc, run_mrc(vm, vm->n, frames, curve));
		/* the walk on a prefix long enough to take 0.3 s, at most
		 * MATTSON_REFS references */
		for (mn = vm->n < 100000 ? vm->n : 100000;; mn *= 4) {
			double t0 = now();

			if (mn > vm->n || mn > MATTSON_REFS)
				mn = vm->n < MATTSON_REFS ? vm->n : MATTSON_REFS;
			m_walk = run_mattson(vm, mn, frames);
			r_walk = (double)mn / (now() - t0);
			if (now() - t0 > 0.3 || mn == vm->n || mn == MATTSON_REFS)
				break;
		}
		TIMED(r_mrc_prefix, mn, m_walk_check, run_mrc(vm, mn, frames, curve));
		printf("bench-balance-sim: %s: %llu references, %u pages, LRU of "
		       "%llu frames (a quarter)\n", vm->name,
		       (unsigned long long)vm->n, vm->pages,
		       (unsigned long long)frames);
		printf("  %-34s %8.1f M refs/s\n", "O(1) LRU (lru.h)", r_lru / 1e6);
		printf("  %-34s %8.1f M refs/s   O(1) LRU: %.2fx\n",
		       "seed-style pointer-list LRU", r_seed / 1e6, r_lru / r_seed);
		printf("  %-34s %8.3f M refs/s   O(1) LRU: %.0fx (first %d refs)\n",
		       "seed's lock step (thread, semaphores)", r_lock / 1e6,
		       r_lru / r_lock, LOCKSTEP_REFS);
		printf("  %-34s %8.1f M refs/s   curves at all %u sizes in one pass\n",
		       "stack distances (mrc.h, Fenwick)", r_mrc / 1e6, vm->pages);
		printf("  %-34s %8.1f M refs/s   mrc.h: %.2fx (both on the first "
		       "%llu refs)\n", "Mattson stack walked as a list",
		       r_walk / 1e6, r_mrc_prefix / r_walk, (unsigned long long)mn);
		printf("  goals: LRU >= 20 M refs/s: %s (%.1f); MRC >= 5 M refs/s: "
		       "%s (%.1f)\n", r_lru >= 20e6 ? "met" : "NOT met",
		       r_lru / 1e6, r_mrc >= 5e6 ? "met" : "NOT met", r_mrc / 1e6);
		if (m_lru != m_seed || m_lru != m_mrc) {
			printf("  MISMATCH: misses at %llu frames: lru.h %llu, seed "
			       "list %llu, curve %llu\n", (unsigned long long)frames,
			       (unsigned long long)m_lru, (unsigned long long)m_seed,
			       (unsigned long long)m_mrc);
			status = 1;
		}
		if (m_walk != m_walk_check) {
			printf("  MISMATCH: Mattson walk %llu misses, curve %llu\n",
			       (unsigned long long)m_walk,
			       (unsigned long long)m_walk_check);
			status = 1;
		}
		free(curve);
		mb_sim_input_free(&in);
	}
	return status;
}
