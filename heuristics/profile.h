/* SPDX-License-Identifier: GPL-2.0 */
/*
 * profile.h - the sharing profile of a group of at most 64 VMs.
 *
 * Every question sharing.h and placement.h ask of a small group is a sum
 * over its distinct digests of something that depends only on which VMs
 * hold the digest. So a group of n <= 64 VMs is summed up once, as its
 * profile: for every set M of VMs (a bit mask) that holds some digest that
 * no other VM of the group holds, count(M), the number of such digests.
 * Then, for a set G of VMs and a VM v:
 *
 *   |D(v)|             = Σ count(M) over M ∋ v
 *   common(a, b)       = Σ count(M) over M ⊇ {a, b}
 *   distinct(G)        = Σ count(M) over M ∩ G ≠ ∅
 *   |D(v) ∩ U(G)|      = Σ count(M) over M ∋ v, M ∩ G ≠ ∅
 *
 * each a pass over the masks, which number at most 2^n - 1 and in real
 * groups a few hundred: trying a VM on a host, or a whole placement,
 * costs microseconds instead of a merge or a sort of the hosts' digests.
 *
 * The profile is built from each VM's digests split into buckets by their
 * top bits (struct mb_digest_parts: one counting pass over the trace, no
 * sort, repeats kept); each bucket of all the VMs at once is grouped in a
 * table small enough for L1, which gives every digest its mask. The
 * counts are the same integers the sorted sets of sharing.h give
 * (tests/unit/test_profile.c checks every formula against them).
 *
 * Nothing here prints. Failures return -1 with a message in struct mb_err.
 */
#ifndef MB_PROFILE_H
#define MB_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"
#include "mbt.h"
#include "sharing.h"

#define MB_PROFILE_MAX_VMS 64
#define MB_PARTS_MAX_BITS 16

/*
 * One VM's digests split into 2^bits buckets by their top bits, in no
 * order inside a bucket and with repeats (a page equal to the page before
 * it is stored once, as in struct mb_digest_set, others are not merged).
 * Bucket b is d32/d64[start[b] .. start[b + 1]).
 */
struct mb_digest_parts {
	int width;		/* 4 or 8: bytes per digest */
	unsigned int bits;	/* 0..MB_PARTS_MAX_BITS */
	uint64_t pages;		/* pages counted, duplicates included */
	uint64_t *start;	/* 2^bits + 1 offsets, owned */
	uint32_t *d32;		/* width 4, owned */
	uint64_t *d64;		/* width 8, owned */
};

/*
 * The bucket bits that suit a group of about @digests digests in all: a
 * bucket of all the VMs then holds about a thousand of them.
 */
unsigned int mb_parts_bits(uint64_t digests);

/*
 * The bucket bits for splitting the traces at @paths[0..n-1] together,
 * from their sizes (at most a digest per 4 bytes in either format: a
 * guess on the high side, which mb_profile_build() coarsens). A file
 * that cannot be read counts 0 bytes; its load reports it.
 */
unsigned int mb_parts_bits_for_files(const char *const *paths, size_t n);

/*
 * Split the digests of trace @t's used pages (free pages too when
 * @include_free) into @parts with @bits bucket bits, and describe the VM
 * in @meta: name (@name copied, NULL takes the trace's vm_name),
 * algorithm, width, key id and pages, but no digests (d32 and d64 NULL)
 * and distinct 0 until mb_profile_set_distinct(). Returns 0, or -1 when
 * the algorithm is unknown, @bits too large or memory short.
 */
int mb_parts_from_trace(struct mb_digest_parts *parts,
			struct mb_digest_set *meta, const struct mbt_trace *t,
			bool include_free, const char *name, unsigned int bits,
			struct mb_err *err);

/*
 * The same for the trace at @path (mb_trace_load()), its name the trace's:
 * a legacy text trace is split as its lines are parsed, in batches that
 * stay in the cache, never held whole as a trace. Errors start with the
 * path.
 */
int mb_parts_from_path(struct mb_digest_parts *parts,
		       struct mb_digest_set *meta, const char *path,
		       bool include_free, unsigned int bits,
		       struct mb_err *err);

/*
 * For a short-lived process that loads and splits one trace after
 * another (mbuddy sharing, best-match): the memory a trace's arrays free
 * serves the next trace of the same thread instead of going back to the
 * kernel and being faulted in again (malloc keeps up to 256 MiB, arrays of
 * up to 32 MiB come from its heaps). Call once, before the loads.
 */
void mb_profile_reuse_memory(void);

/* Release what @parts owns and zero it. Safe on a zeroed one. */
void mb_parts_free(struct mb_digest_parts *parts);

struct mb_profile {
	size_t n;		/* VMs, bit v of a mask is VM v */
	size_t nmasks;
	uint64_t *mask;		/* increasing, never 0 */
	uint64_t *count;	/* digests held by exactly the VMs of mask[i] */
};

/*
 * The profile of the @n <= 64 VMs of @parts, which must all have the same
 * width (the caller checks they are comparable: mb_set_comparable() on
 * their descriptions). Buckets are shared among @threads workers (0: one
 * per CPU; small inputs take one). Returns 0, or -1 when @n is out of
 * range, the widths differ or memory is short. Free with
 * mb_profile_free().
 */
int mb_profile_build(struct mb_profile *out,
		     const struct mb_digest_parts *parts, size_t n,
		     unsigned int threads, struct mb_err *err);

void mb_profile_free(struct mb_profile *p);

/* Digests held by every VM of @vms (a mask): |D(v)|, common(a, b), ... */
uint64_t mb_profile_common(const struct mb_profile *p, uint64_t vms);

/* distinct(G) of the VMs of the mask @group (0 for an empty group). */
uint64_t mb_profile_distinct(const struct mb_profile *p, uint64_t group);

/* |D(@v) ∩ U(G)| for the VMs of the mask @group. */
uint64_t mb_profile_shared(const struct mb_profile *p, size_t v,
			   uint64_t group);

/* Set sets[v].distinct to |D(v)| for every VM of the profile. */
void mb_profile_set_distinct(const struct mb_profile *p,
			     struct mb_digest_set *sets);

/*
 * The all-pairs matrix of mb_sharing_exact() from the profile, with
 * @group_pages as pages(G), the same numbers in every field. Masks held
 * by many VMs but few digests become columns of a bit matrix (pairwise.h)
 * instead of pair loops, so the cost stays that of mb_sharing_exact()
 * when nearly every digest has a mask of its own. @opts may be NULL.
 * Returns 0, or -1 when memory is short.
 */
int mb_profile_matrix(const struct mb_profile *p, uint64_t group_pages,
		      const struct mb_sharing_opts *opts,
		      struct mb_sharing_matrix *out, struct mb_err *err);

#endif /* MB_PROFILE_H */
