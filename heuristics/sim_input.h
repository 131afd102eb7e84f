/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim_input.h - the page-reference streams `mbuddy balance-sim` simulates.
 *
 * A simulation runs several VMs side by side; each VM is one stream of
 * page references. Three sources (docs/balancing.md, "Inputs"):
 *   - .dat files, the seed simulator's format: the VM count, then for each
 *     VM a length followed by that many page numbers, all decimal and
 *     separated by any white space (mb_dat_parse());
 *   - page traces: one program's references as 4 KiB page numbers, one
 *     hexadecimal number per line after the line "# mbuddy page trace 1"
 *     (scripts/lackey-pages.py makes them from valgrind lackey output;
 *     struct mb_pagetrace_parser reads them, in pieces of any size);
 *   - a synthetic phase generator (mb_phases_generate()).
 * mb_sim_load() reads a file of either format, plain or xz-compressed.
 *
 * Every reader numbers a VM's distinct pages densely, 0 to pages - 1, in
 * the order they are first referenced, and keeps each number's original
 * page in page_of[]. The simulator's LRU lists and stack-distance trees
 * are then arrays indexed by page number: the hash map of the page number
 * is paid once, at loading (docs/balancing.md, "The O(1) LRU").
 *
 * Failures return -1 with a message in struct mb_err that names the line
 * (and the field, for .dat files) and the reason.
 */
#ifndef MB_SIM_INPUT_H
#define MB_SIM_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"

#define MB_SIM_NAME_LEN 64
#define MB_DAT_MAX_VMS 4096	/* more VMs than this in a .dat is an error */
#define MB_SIM_MAX_REFS (UINT64_C(1) << 31) /* references per VM at most */

/* One VM's reference stream. */
struct mb_sim_vm {
	char name[MB_SIM_NAME_LEN];
	uint32_t *refs;		/* n dense page numbers, each < pages */
	uint64_t n;		/* references */
	uint32_t pages;		/* distinct pages */
	uint64_t *page_of;	/* original page number of each dense one */
};

/* The VMs of a simulation, in input order. Owns everything it points to. */
struct mb_sim_input {
	struct mb_sim_vm *vms;
	size_t count;
};

/* Free everything @in owns and empty it; safe on a zeroed struct. */
void mb_sim_input_free(struct mb_sim_input *in);

/*
 * Move the VMs of @from to the end of @to (@from is left empty).
 * Returns 0, or -1 when out of memory (@from is then unchanged).
 */
int mb_sim_input_append(struct mb_sim_input *to, struct mb_sim_input *from,
			struct mb_err *err);

/*
 * Parse a whole .dat file of @len bytes (no NUL needed) into @in, which
 * must be zeroed; the VMs are named VM0, VM1, ... Lengths are never
 * trusted: a length that promises more pages than the file holds is an
 * error, as are pages after the last VM's, a VM count of 0 or above
 * MB_DAT_MAX_VMS, and non-numeric, negative or larger than INT_MAX
 * numbers. Returns 0, or -1 (@in left empty).
 */
int mb_dat_parse(const char *buf, size_t len, struct mb_sim_input *in,
		 struct mb_err *err);

/*
 * Page-trace reader: init, feed any number of pieces, finish, release.
 * The first line must be "# mbuddy page trace 1"; other lines starting
 * with '#' are comments, of which "# name: NAME" names the VM; blank lines
 * are skipped; every other line is one page number of 1 to 16 hexadecimal
 * digits (an optional 0x in front), spaces around it allowed. Lines are
 * at most 4096 bytes. A trace without references is an error.
 */
struct mb_pagetrace_parser {
	/* private */
	uint64_t line;
	size_t line_len;
	bool overlong;
	bool failed;
	char buf[4096];
	char name[MB_SIM_NAME_LEN];
	uint64_t *keys;		/* open addressing: page + 1, 0 = empty */
	uint32_t *ids;
	uint64_t slots;
	struct mb_sim_vm vm;
	uint64_t cap;
	uint64_t page_cap;
};

void mb_pagetrace_init(struct mb_pagetrace_parser *p);

/* Returns 0, or -1 (later calls then fail too). */
int mb_pagetrace_feed(struct mb_pagetrace_parser *p, const void *data,
		      size_t len, struct mb_err *err);

/*
 * End of input: on success moves the stream into @vm (caller frees its
 * refs and page_of) named by the trace's "# name:" line, else @name.
 * Returns 0, or -1.
 */
int mb_pagetrace_finish(struct mb_pagetrace_parser *p, const char *name,
			struct mb_sim_vm *vm, struct mb_err *err);

/* Free what the parser holds; call after finish or to abandon it. */
void mb_pagetrace_release(struct mb_pagetrace_parser *p);

/*
 * Read the file at @path ("-" for stdin), a .dat or a page trace, plain or
 * xz-compressed (told apart by content), and append its VMs to @in. A page
 * trace without a "# name:" line is named after the file. With @limit > 0
 * every VM keeps its first @limit references only, and a page trace is
 * read no further than needed (its later lines are then not checked).
 * Errors are prefixed with the path. Returns 0, or -1 (@in unchanged).
 */
int mb_sim_load(const char *path, uint64_t limit, struct mb_sim_input *in,
		struct mb_err *err);

/*
 * The synthetic phase generator. Each of @vms VMs makes @accesses
 * references; time is cut into @phases equal phases, and in phase k the
 * working set of VM i is @large pages when (k + i) % vms == 0, else
 * @small: one VM's working set grows while the others' shrink, in turn.
 * A reference picks page floor(ws * u^skew) of the current working set
 * (u uniform in [0, 1)): low pages are hotter, as in real programs. All
 * randomness derives from @seed (splitmix64, synth.h).
 */
struct mb_phase_spec {
	uint32_t vms;		/* [2] */
	uint64_t accesses;	/* per VM [100000] */
	uint32_t small;		/* pages [32] */
	uint32_t large;		/* pages [256] */
	uint32_t phases;	/* [8] */
	double skew;		/* >= 1 [2] */
	uint64_t seed;		/* [1] */
};

/* The defaults in brackets above. */
void mb_phases_defaults(struct mb_phase_spec *s);

/*
 * Parse "key=value,key=value" (keys: vms, accesses, small, large, phases,
 * skew, seed) over the defaults. Returns 0, or -1 naming the bad key or
 * value.
 */
int mb_phases_parse(const char *text, struct mb_phase_spec *s,
		    struct mb_err *err);

/* Generate @s into @in (zeroed), VMs named synth0, synth1, ... */
int mb_phases_generate(const struct mb_phase_spec *s, struct mb_sim_input *in,
		       struct mb_err *err);

#endif /* MB_SIM_INPUT_H */
