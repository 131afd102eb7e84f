/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostd.h - the parts of mb-hostd, the host agent that takes a guest's
 * trace from outside, out of its QEMU process (docs/hostd.md):
 *
 *   config.c    options (command line and config file)
 *   qemu.c      parsers of what QEMU says: `info ramblock`, the flat view
 *               of `info mtree -f`, `xp` dumps, QMP answers
 *   procfs.c    parsers of /proc/PID/maps, status, stat and cmdline
 *   layout.c    RAM blocks x flat view x mappings -> the segments of a
 *               trace: guest-physical PFN runs and where their bytes are
 *               in the QEMU process
 *   monitor.c   talking to QEMU: through libvirt (virDomainQemuMonitor-
 *               Command) or a QMP socket of its own
 *   domains.c   the guests of this host, each with its QEMU's pid and
 *               monitor
 *   scan.c      reading the RAM with process_vm_readv() in bounded
 *               chunks, hashing, writing the .mbt into a memory file
 *   budget.c    the CPU budget (--max-cpu), nice and ionice
 *   metrics.c   the textfile of metrics (--metrics-file)
 *   main.c      the cycles: every domain, scanned and uploaded
 *
 * The parsers work on text in memory and never trust a length or a count
 * they read; each is fuzzed (tests/fuzz/fuzz_hostd_*.c).
 */
#ifndef MB_HOSTD_H
#define MB_HOSTD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"
#include "mb_error.h"
#include "mbt.h"
#include "upload.h"

/* Exit statuses of --once (docs/mb-hostd.8). */
enum hostd_exit {
	HOSTD_OK = 0,			/* every domain's trace stored */
	HOSTD_FAILED = 1,		/* unexpected local failure */
	HOSTD_USAGE = 2,		/* bad flags or config file */
	HOSTD_SCAN = 3,			/* a domain could not be scanned */
	HOSTD_REJECTED = UPLOAD_REJECTED,	/* controld refused a trace */
	HOSTD_UNREACHABLE = UPLOAD_UNREACHABLE,	/* controld unreachable */
};

/* Guest-physical PFNs of RAM blocks no guest address reaches start here. */
#define HOSTD_UNMAPPED_PFN_BASE (1ULL << 40)

/* ---- config.c ---- */

enum ionice_class {
	IONICE_OFF,			/* leave the I/O priority alone */
	IONICE_IDLE,
	IONICE_BEST_EFFORT,
};

struct hostd_config {
	const char *config_file;
	bool check_only;
	char *connect;			/* libvirt URI */
	char **qmp;			/* QMP sockets instead of libvirt */
	unsigned int nqmp;
	char **domains;			/* only these (names or uuids) */
	unsigned int ndomains;
	struct agent_options agent;	/* server, token, retries, log */
	char *output_dir;		/* also (or only) write traces here */
	unsigned int interval;		/* seconds between cycles */
	bool once;
	int algo;			/* MB_ALGO_* */
	unsigned int max_cpu;		/* percent of one CPU, 1..100 */
	int nice;			/* -20..19 */
	enum ionice_class ionice;
	unsigned int ionice_level;	/* 0..7 for best-effort */
	unsigned int chunk_pages;	/* pages per read */
	bool unmapped_blocks;		/* include RAM blocks with no address */
	char *metrics_file;
};

/* 0 to run, 1 after --help or --version, -1 on error (@err set). */
int hostd_config_parse(struct hostd_config *c, int argc, char **argv,
		       struct mb_err *err);
void hostd_config_free(struct hostd_config *c);

/* ---- qemu.c: what QEMU says ---- */

#define QEMU_NAME_LEN 128

/* One line of `info ramblock`. */
struct ram_block {
	char name[QEMU_NAME_LEN];	/* RAMBlock idstr: "pc.ram",
					   "0000:00:02.0/vga.vram" */
	uint64_t page_size;		/* bytes of its host pages */
	uint64_t ram_offset;		/* in QEMU's ram_addr space */
	uint64_t used;			/* bytes in use */
	uint64_t total;			/* bytes reserved (max_length) */
	uint64_t hva;			/* host address, 0 = not reported */
};

/*
 * Parse `info ramblock`: a header line naming the columns (Block Name,
 * PSize, Offset, Used, Total, and in later QEMUs HVA and RO), then one
 * line per block. Names may be wider than their column. Returns 0 with a
 * malloc'ed array in *@out (*@n blocks, at least one), or -1 with @err
 * naming the line and what is wrong.
 */
int qemu_parse_ramblocks(const char *text, size_t len, struct ram_block **out,
			 size_t *n, struct mb_err *err);

enum flat_kind {
	FLAT_IO,			/* i/o: no RAM behind it */
	FLAT_RAM,			/* ram */
	FLAT_ROM,			/* rom: RAM, mapped read-only */
	FLAT_ROMD,			/* romd: a ROM device in ROM mode */
	FLAT_RAMD,			/* ramd: a RAM device (VFIO): no block */
};

/* One range of a flat view: guest-physical [start, end] of region @name. */
struct flat_range {
	uint64_t start, end;		/* inclusive, as QEMU prints them */
	uint64_t offset;		/* into the region ("@..."), 0 if none */
	enum flat_kind kind;
	char name[QEMU_NAME_LEN];
};

/*
 * Parse the flat view of address space @as ("memory") out of `info mtree
 * -f`: the "FlatView #N" section that lists `AS "memory"` among its
 * address spaces, one range per line. Returns 0 with a malloc'ed array
 * (possibly empty: *@n 0, *@out NULL), or -1 when there is no such
 * section or a range line is malformed.
 */
int qemu_parse_flatview(const char *text, size_t len, const char *as,
			struct flat_range **out, size_t *n, struct mb_err *err);

/*
 * Parse the output of `xp /Ngx ADDR`: lines "ADDR: 0x... 0x...", 8-byte
 * words in the guest's (little-endian) byte order, into @size bytes at
 * @buf. The dump must start at @addr and hold at least @size bytes.
 * "Cannot access memory" is an error.
 */
int qemu_parse_xp(const char *text, size_t len, uint64_t addr, uint8_t *buf,
		  size_t size, struct mb_err *err);

/*
 * A QMP answer (one JSON object): its "return" value as a new reference,
 * or NULL with @err set to the error's class and description (or why the
 * text is no answer).
 */
json_t *qmp_parse_answer(const char *text, size_t len, struct mb_err *err);

/* The text of a human-monitor-command answer: "return" must be a string. */
char *qmp_hmp_text(const char *answer, size_t len, struct mb_err *err);

/*
 * The vCPU threads' ids from the "return" of query-cpus-fast: up to @max
 * into @tids. Returns how many, or -1 when the value is not a list of
 * objects with an integer "thread-id".
 */
int qmp_thread_ids(const json_t *ret, pid_t *tids, int max,
		   struct mb_err *err);

/* The uuid of query-uuid's "return" ({"UUID": "..."}) into @uuid. */
int qmp_uuid(const json_t *ret, uint8_t uuid[MBT_UUID_LEN],
	     struct mb_err *err);

/* ---- procfs.c: the QEMU process ---- */

struct vma {
	uint64_t start, end;		/* [start, end) */
	bool read, write, shared;
	uint64_t file_offset;
	uint64_t inode;
	char path[256];			/* "" for anonymous memory */
	bool flags_known;		/* smaps gave its VmFlags */
	bool dontfork;			/* "dc": MADV_DONTFORK, which QEMU sets
					   on every RAM block */
	bool mergeable;			/* "mg": MADV_MERGEABLE (KSM) */
};

/*
 * Parse /proc/PID/maps ("start-end perms offset dev inode [path]") or
 * /proc/PID/smaps (the same lines, each followed by "Name: value" lines,
 * of which VmFlags is kept). Returns 0 with a malloc'ed array in address
 * order (*@n may be 0), or -1 naming the line.
 */
int maps_parse(const char *text, size_t len, struct vma **out, size_t *n,
	       struct mb_err *err);

/* The "Tgid:" of /proc/TID/status: the process a thread belongs to. */
int proc_parse_tgid(const char *text, size_t len, pid_t *tgid,
		    struct mb_err *err);

/*
 * Field 22 of /proc/PID/stat (start time in clock ticks since boot),
 * read after the last ')' so a command name with spaces or parentheses
 * cannot shift it.
 */
int proc_parse_starttime(const char *text, size_t len, uint64_t *start,
			 struct mb_err *err);

/*
 * Whether the NUL-separated command line @cmdline holds "-uuid UUID" (as
 * libvirt starts QEMU) or "-uuid=UUID", @uuid in any case.
 */
bool proc_cmdline_has_uuid(const char *cmdline, size_t len,
			   const char *uuid);

/*
 * Read /proc/@pid/@file (at most @max bytes) into a malloc'ed,
 * NUL-terminated buffer; *@len its length. NULL with @err on failure.
 */
char *proc_read(pid_t pid, const char *file, size_t max, size_t *len,
		struct mb_err *err);

/* The process @pid's identity now: its start time. 0 or -1. */
int proc_starttime(pid_t pid, uint64_t *start, struct mb_err *err);

/* ---- layout.c: where each guest page is ---- */

/* A run of consecutive PFNs whose bytes are consecutive in one block. */
struct segment {
	uint64_t pfn;			/* first guest-physical page number */
	uint64_t pages;
	size_t block;			/* index into layout.blocks */
	uint64_t block_offset;		/* bytes into the block */
	bool hidden;			/* not visible in the flat view (under
					   another region), placed by its
					   block's own layout */
};

struct layout {
	struct ram_block *blocks;	/* owned */
	size_t nblocks;
	struct segment *segs;		/* PFN order, no overlap */
	size_t nsegs;
	uint64_t pages;			/* all segments */
	uint64_t visible_pages;		/* in the flat view */
	uint64_t hidden_pages;		/* placed under other regions */
	uint64_t unmapped_pages;	/* from HOSTD_UNMAPPED_PFN_BASE */
	uint64_t skipped_pages;		/* left out (--unmapped-blocks skip) */
};

/*
 * Build the layout of one guest from its RAM blocks (@blocks, taken over:
 * freed with the layout, also on failure) and the flat view of its
 * "memory" address space:
 *   - every ram, rom and romd range of the flat view whose region names a
 *     block gives guest-physical pages of that block; a block page seen at
 *     several addresses (a BIOS alias) is taken once, at the lowest;
 *   - a block's pages under another region (pc.ram below the VGA window)
 *     go where the block's own ranges on both sides put them, when both
 *     sides agree and no visible page has that PFN;
 *   - the rest of each block's used bytes (ROM images, firmware tables no
 *     address reaches) follow from HOSTD_UNMAPPED_PFN_BASE in block order,
 *     or are left out when @include_unmapped is false.
 * Returns 0, or -1 with @err (no page at all, out of memory).
 */
int layout_build(struct ram_block *blocks, size_t nblocks,
		 const struct flat_range *ranges, size_t nranges,
		 bool include_unmapped, struct layout *out,
		 struct mb_err *err);
void layout_free(struct layout *l);

/* Ways to look at the guest's memory, for layout_attach()'s checks. */
struct memory_view {
	/* @size bytes at host address @hva of the QEMU process. 0 or -1. */
	int (*read_host)(void *ctx, uint64_t hva, void *buf, size_t size,
			 struct mb_err *err);
	/* One page at guest-physical @gpa as QEMU sees it. 0 or -1. */
	int (*read_guest)(void *ctx, uint64_t gpa, uint8_t *page,
			  struct mb_err *err);
	void *ctx;
};

/* How a block's mapping was found, for the log. */
enum block_match {
	MATCH_NONE,			/* not found: its pages are left out */
	MATCH_REPORTED,			/* QEMU reported its host address */
	MATCH_SIZE,			/* the only mapping of its size */
	MATCH_CONTENT,			/* told apart by sampled pages */
	MATCH_ORDER,			/* told apart by allocation order */
};

struct block_place {
	uint64_t hva;
	enum block_match how;
	unsigned int samples, agreed;	/* content samples compared */
};

/*
 * Find each block's host address among @vmas (/proc/PID/maps): a
 * readable, writable mapping of exactly the block's size (rounded up to
 * its page size), or the address QEMU reported. Blocks that share a size
 * are told apart by content: up to 4 non-zero sampled pages of each,
 * read through @view from the guest and from each candidate; when no
 * sample decides, by allocation order (blocks in ram_addr order take the
 * mappings from the highest address down, as mmap hands them out). A
 * block whose only candidate disagrees with every non-zero sample is an
 * error: the layout is not what it seems. Fills @places (l->nblocks
 * entries) and drops from @l the segments of blocks without a mapping
 * when they have no guest-physical page (with @err describing the first
 * such block in *@warning, "" when none). Returns 0, or -1 when a block
 * with guest-physical pages has no mapping or fails its check; @l stays
 * the caller's to free either way.
 */
int layout_attach(struct layout *l, const struct vma *vmas, size_t nvmas,
		  const struct memory_view *view, struct block_place *places,
		  char *warning, size_t warning_size, struct mb_err *err);

/* ---- budget.c ---- */

/*
 * The CPU budget of a scan: at most @percent of one CPU, measured as the
 * calling thread's CPU time (user and system: process_vm_readv's copy
 * counts) against the wall-clock time since budget_start().
 */
struct budget {
	double share;			/* percent / 100 */
	struct timespec wall0, cpu0;
	double slept_s;
};

void budget_start(struct budget *b, unsigned int percent);

/*
 * Sleep as long as needed for the thread's CPU time since the start to be
 * at most the share of the time elapsed. Sleeps only debts of at least
 * 2 ms, so a fast chunk costs no system call. Returns the seconds slept.
 */
double budget_pace(struct budget *b);

/* Seconds of CPU time and of wall-clock time since budget_start(). */
double budget_cpu_s(const struct budget *b);
double budget_wall_s(const struct budget *b);

/*
 * How long to sleep to bring @cpu_s of CPU time in @wall_s seconds down to
 * @share: the pure arithmetic of budget_pace(), for tests.
 */
double budget_debt_s(double cpu_s, double wall_s, double share);

/* setpriority() and ioprio_set() for the whole process. 0 or -1. */
int budget_set_priority(int nice, enum ionice_class cls, unsigned int level,
			struct mb_err *err);

/* ---- scan.c ---- */

/* What a scan reports while it runs (every few seconds) and at its end. */
struct scan_progress {
	uint64_t pages_done, pages_total;
	double cpu_s, wall_s, slept_s;
};

typedef void (*scan_progress_fn)(void *ctx, const struct scan_progress *p);

struct scan_request {
	pid_t pid;
	uint64_t starttime;		/* the process's, checked after */
	const struct layout *layout;
	const struct block_place *places;
	int algo;
	unsigned int chunk_pages;
	unsigned int max_cpu;		/* percent */
	const uint8_t *uuid;		/* MBT_UUID_LEN */
	const char *name;
	scan_progress_fn progress;	/* may be NULL */
	void *progress_ctx;
	double progress_every_s;
	const volatile sig_atomic_t *stop;	/* may be NULL: ends the scan
						   early when set */
};

struct scan_result {
	int fd;				/* memfd with the .mbt, -1 none */
	uint64_t size;
	struct mbt_info info;
	struct scan_progress done;
};

/*
 * Read every segment of the layout from process @pid with
 * process_vm_readv() (at most chunk_pages pages per call), hash each page
 * with the fastest implementation of @algo, and write the .mbt
 * (MBT_FLAG_FROM_HOST, no page free) into a memfd. Returns 0, or -1 with
 * @err (the process went away or was replaced, a page could not be read,
 * out of memory, stopped).
 */
int scan_run(const struct scan_request *rq, struct scan_result *res,
	     struct mb_err *err);
void scan_result_release(struct scan_result *res);

/* process_vm_readv() of @size bytes at @hva into @buf, retrying short reads. */
int scan_read_process(pid_t pid, uint64_t hva, void *buf, size_t size,
		      struct mb_err *err);

/* ---- monitor.c: talking to a QEMU ---- */

struct monitor;

/* Through libvirt: the domain's monitor (virDomainQemuMonitorCommand). */
struct monitor *monitor_libvirt(void *domain);
/* A QMP socket of QEMU's own (-qmp unix:PATH,server=on,wait=off). */
struct monitor *monitor_qmp_socket(const char *path, struct mb_err *err);
void monitor_close(struct monitor *m);

/* A QMP command (a JSON object as text): the answer's "return", new ref. */
json_t *monitor_qmp(struct monitor *m, const char *command,
		    struct mb_err *err);
/* An HMP command ("info ramblock"): its text, malloc'ed. */
char *monitor_hmp(struct monitor *m, const char *command, struct mb_err *err);

/* ---- domains.c: the guests of this host ---- */

struct domain {
	char uuid[37];
	uint8_t uuid_bin[MBT_UUID_LEN];
	char name[MBT_NAME_LEN];
	pid_t pid;			/* the QEMU process */
	uint64_t starttime;
	struct monitor *mon;
	void *virt_domain;		/* virDomainPtr, or NULL */
};

struct domain_list {
	struct domain *d;
	size_t n;
	void *conn;			/* virConnectPtr, or NULL */
};

/*
 * The running domains: from libvirt (@c->connect) or the QMP sockets
 * (@c->qmp), only those @c->domains names when given. Each gets its QEMU
 * process: the thread-group of its vCPU threads (query-cpus-fast), whose
 * command line must carry the domain's uuid. A domain that cannot be
 * resolved is logged and left out (*@skipped counts them). Returns 0, or
 * -1 when the list itself cannot be had (libvirt unreachable).
 */
int domains_list(const struct hostd_config *c, struct domain_list *out,
		 unsigned int *skipped, struct mb_err *err);
void domains_free(struct domain_list *l);

/*
 * Ask the domain's QEMU for its RAM blocks and flat view, match them to
 * /proc/PID/maps and check the mapping (layout_attach()). Fills @l and
 * @places (malloc'ed, l->nblocks entries). 0 or -1.
 */
int domain_layout(struct domain *d, bool include_unmapped, struct layout *l,
		  struct block_place **places, struct mb_err *err);

/* ---- metrics.c ---- */

struct domain_metrics {
	char uuid[37];
	char name[MBT_NAME_LEN];
	uint64_t pages;			/* of the last trace */
	double scan_s, cpu_s, slept_s;
	double last_success;		/* seconds since the epoch, 0 never */
	uint64_t version;		/* controld's, 0 none */
	uint64_t failures;
	double progress;		/* 0..1 during a scan, 1 after */
	bool seen;			/* in the last domain list */
};

struct metrics {
	char *path;			/* NULL: no metrics file */
	unsigned int max_cpu;
	uint64_t pages_total;
	uint64_t cycles;
	double last_cycle_s;
	uint64_t uploads[3];		/* ok, rejected, unreachable */
	uint64_t scan_failures;
	struct domain_metrics *d;
	size_t n, cap;
};

/* The entry of domain @uuid, created when new; NULL when out of memory. */
struct domain_metrics *metrics_domain(struct metrics *m, const char *uuid,
				      const char *name);

/*
 * The Prometheus text of @m (malloc'ed), and the same written atomically
 * to m->path (node_exporter's textfile collector reads *.prom files).
 */
char *metrics_text(const struct metrics *m);
int metrics_write(const struct metrics *m, struct mb_err *err);
void metrics_free(struct metrics *m);

#endif /* MB_HOSTD_H */
