// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace_main.c - memtrace.ko: digests of every online page frame, read
 * from /dev/memtrace. (A module linked from several objects, here this one
 * and superfasthash.o, cannot have an object of its own name, hence _main.)
 *
 * Reading the misc device from offset 0 runs one scan and streams it as a
 * .mbt trace (docs/trace-format.md): a 256-byte header, chunks of at most
 * MTR_CHUNK_MAX consecutive online PFNs (free bitmap + one digest per page),
 * and a trailer with the used/free counts, the scan time and an xxh64 of
 * every byte before it. The trace is produced chunk by chunk as the reader
 * asks for it, so the module keeps one chunk (33 KiB) per open file and never
 * writes a file itself.
 *
 * The walk: the spans of the online nodes are snapshotted, sorted and merged
 * when the scan starts, so records come in strictly increasing PFN order even
 * if node spans interleave. Within a span, pfn_to_online_page() decides what
 * is a record (holes and offline sections give NULL and are skipped). The
 * header's page_count must be exact before any page is read, so the spans
 * are walked twice: once to count, once to hash. Memory hot(un)plug between
 * the two walks changes the count; the scan then fails with -EAGAIN instead
 * of streaming a trace whose header lies.
 *
 * A page is hashed only while the scan holds a reference to it (to its
 * compound head for a tail page), so it cannot be freed and reused under
 * the hash; docs/kmod.md lists what is read, what is skipped and which races
 * remain. The digest code is lib/superfasthash.c, compiled into the module
 * from the same source user space uses, and the kernel's lib/xxhash.
 *
 * With simd=auto (the default) and a CPU with AVX2 or AVX-512, pages are
 * digested in batches by the multi-buffer variants of lib/digest_simd.h
 * (again the source user space compiles), one page per vector lane, with
 * exactly the scalar digests. A batch is at most one call of a variant
 * (4 to 16 pages, at most 64 KiB) between kernel_fpu_begin() and
 * kernel_fpu_end(), which disable preemption: nothing in between sleeps or
 * reschedules, and the pages stay pinned and mapped from their classification
 * until their batch is digested. When may_use_simd() says no, or with
 * simd=off, the same batches are digested by the scalar code.
 *
 * One open file at a time: a second open() gets -EBUSY while the first is
 * open, so two scans never compete and mb-guestd never reads a half trace.
 *
 * Keyed scans (MEMTRACE_IOC_SET_KEY, lib/memtrace_ioctl.h): the open file
 * holds a tenant's secret seed, and its scans digest with xxh64 under that
 * seed (the SIMD variants take it too) and mark the trace KEYED with the
 * key's id. The seed lives only in the file's scan state, which is wiped
 * when the file is closed; no parameter or attribute shows it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/capability.h>
#include <linux/device.h>
#include <linux/dmi.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/memory_hotplug.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/page-flags.h>
#include <linux/page_ref.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/uuid.h>
#include <linux/xxhash.h>
#ifdef CONFIG_X86_64
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/simd.h>
#endif
/* Linux 6.12 moved the unaligned accessors; detect the header, not a version. */
#if __has_include("linux/unaligned.h")
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "digest_simd.h"
#include "mbt_format.h"
#include "memtrace_ioctl.h"
#include "superfasthash.h"

#if PAGE_SIZE != MBT_PAGE_SIZE
#error "the .mbt format describes 4 KiB pages"
#endif

#define MTR_CHUNK_MAX		4096
#define MTR_CHUNK_BYTES		(MBT_CHUNK_HEADER_SIZE + \
				 MBT_BITMAP_BYTES(MTR_CHUNK_MAX) + \
				 MTR_CHUNK_MAX * MBT_DIGEST_SIZE_MAX)
#define MTR_RESCHED_PFNS		(1UL << 16)

/*
 * Pages pinned and mapped at once, waiting for their batch. A highmem
 * kernel maps each into one of KM_MAX_IDX per-task slots (which interrupts
 * share), so it holds fewer; it has no SIMD variants anyway.
 */
#ifdef CONFIG_HIGHMEM
#define MTR_BATCH_MAX		4
#else
#define MTR_BATCH_MAX		MB_SIMD_LANES_MAX
#endif

/* ---- the digests: the rows of mbt_algorithms.h bound to kernel code ---- */

static u64 mtr_hash_superfast(const void *page)
{
	return mb_superfasthash(page, PAGE_SIZE);
}

static u64 mtr_hash_xxh32(const void *page)
{
	return xxh32(page, PAGE_SIZE, 0);
}

static u64 mtr_hash_xxh64(const void *page)
{
	return xxh64(page, PAGE_SIZE, 0);
}

/* Rows by the lower-case names, which the SIMD variants' rows use too. */
enum mtr_algo_row {
#define MBT_ALGORITHM(NAME, name, id, size) MTR_ROW_##name,
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
	MTR_NR_ALGOS
};

struct mtr_algo {
	u8 id;				/* header byte 12 */
	u8 digest_size;			/* header byte 13 */
	const char *name;
	u64 (*hash)(const void *page);	/* digest of one page */
};

static const struct mtr_algo mtr_algos[MTR_NR_ALGOS] = {
/* (Parameters renamed so they do not replace the field names.) */
#define MBT_ALGORITHM(NAME, lower, nr, bytes)				\
	[MTR_ROW_##lower] = { .id = (nr), .digest_size = (bytes),	\
			      .name = #lower, .hash = mtr_hash_##lower },
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
};

/* ---- the multi-buffer SIMD variants (lib/digest_simd_rows.h) ---- */

/* Instruction sets, by digest_simd.h's names, from the narrowest. */
enum mtr_isa { MTR_ISA_avx2, MTR_ISA_avx512, MTR_NR_ISAS };

struct mtr_variant {
	const char *isa;
	unsigned int lanes;		/* 0: the algorithm has none */
	mb_simd_fn *fn;
};

static const struct mtr_variant mtr_variants[MTR_NR_ISAS][MTR_NR_ALGOS] = {
#define MB_SIMD_VARIANT(name, set, nr)					\
	[MTR_ISA_##set][MTR_ROW_##name] = { .isa = #set, .lanes = (nr),	\
					    .fn = mb_simd_##name##_##set },
#include "digest_simd_rows.h"
#undef MB_SIMD_VARIANT
};

/* The seeded xxh64 of each instruction set (keyed scans). */
static mb_simd_seeded_fn *const mtr_seeded_xxh64[MTR_NR_ISAS] = {
#ifdef CONFIG_X86_64
	[MTR_ISA_avx2] = mb_simd_xxh64_seeded_avx2,
	[MTR_ISA_avx512] = mb_simd_xxh64_seeded_avx512,
#endif
};

/*
 * Does the CPU have the instruction set, and does the kernel save its
 * registers (XSAVE features), as the kernel's own crypto code checks?
 */
static bool mtr_isa_usable(enum mtr_isa isa)
{
#ifdef CONFIG_X86_64
	switch (isa) {
	case MTR_ISA_avx2:
		return boot_cpu_has(X86_FEATURE_AVX) &&
		       boot_cpu_has(X86_FEATURE_AVX2) &&
		       cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM,
					 NULL);
	case MTR_ISA_avx512:
		return boot_cpu_has(X86_FEATURE_AVX2) &&
		       boot_cpu_has(X86_FEATURE_AVX512F) &&
		       boot_cpu_has(X86_FEATURE_AVX512BW) &&
		       boot_cpu_has(X86_FEATURE_AVX512DQ) &&
		       boot_cpu_has(X86_FEATURE_AVX512VL) &&
		       cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |
					 XFEATURE_MASK_AVX512, NULL);
	default:
		break;
	}
#endif
	return false;
}

static bool mtr_simd_ok(void)
{
#ifdef CONFIG_X86_64
	return may_use_simd();
#else
	return false;
#endif
}

static void mtr_simd_begin(void)
{
#ifdef CONFIG_X86_64
	kernel_fpu_begin();
#endif
}

static void mtr_simd_end(void)
{
#ifdef CONFIG_X86_64
	kernel_fpu_end();
#endif
}

/* " superfast xxh32 ...", for the message that refuses a wrong name. */
static const char mtr_algo_list[] =
#define MBT_ALGORITHM(NAME, name, id, size) " " #name
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
	;

/* ---- parameters and statistics ---- */

static int mtr_algo = MTR_ROW_superfast;	/* a row of mtr_algos */
static bool hash_free;
static bool mtr_simd_auto = true;		/* simd=auto; false: off */
static bool simd_check;

static int mtr_algo_set(const char *val, const struct kernel_param *kp)
{
	int row;

	for (row = 0; row < MTR_NR_ALGOS; row++) {
		if (sysfs_streq(val, mtr_algos[row].name)) {
			WRITE_ONCE(mtr_algo, row);
			return 0;
		}
	}
	pr_warn("algo: unknown algorithm '%.*s' (one of:%s)\n",
		(int)strcspn(val, "\n"), val, mtr_algo_list);
	return -EINVAL;
}

static int mtr_algo_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 mtr_algos[READ_ONCE(mtr_algo)].name);
}

static const struct kernel_param_ops mtr_algo_ops = {
	.set = mtr_algo_set,
	.get = mtr_algo_get,
};

module_param_cb(algo, &mtr_algo_ops, NULL, 0644);
MODULE_PARM_DESC(algo, "page digest of the next scan: superfast (default) or another name in docs/digests.md");
module_param(hash_free, bool, 0644);
MODULE_PARM_DESC(hash_free, "also hash free pages (sets FREE_HASHED in the header); default 0");

static int mtr_simd_set(const char *val, const struct kernel_param *kp)
{
	if (sysfs_streq(val, "auto"))
		WRITE_ONCE(mtr_simd_auto, true);
	else if (sysfs_streq(val, "off"))
		WRITE_ONCE(mtr_simd_auto, false);
	else {
		pr_warn("simd: unknown value '%.*s' (auto or off)\n",
			(int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	return 0;
}

static int mtr_simd_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 READ_ONCE(mtr_simd_auto) ? "auto" : "off");
}

static const struct kernel_param_ops mtr_simd_ops = {
	.set = mtr_simd_set,
	.get = mtr_simd_get,
};

module_param_cb(simd, &mtr_simd_ops, NULL, 0644);
MODULE_PARM_DESC(simd, "multi-buffer SIMD digests for the next scan: auto (the widest the CPU has, default) or off (scalar)");
module_param(simd_check, bool, 0644);
MODULE_PARM_DESC(simd_check, "also digest every SIMD batch with the scalar code and count disagreements in last_simd_mismatches (for tests); default 0");

/* Results of the last finished or failed scan, shown in sysfs. */
struct mtr_stats {
	u64 scans;
	u64 pages;
	u64 used;
	u64 free;
	u64 unreadable;
	u64 scan_ns;
	const struct mtr_algo *algo;	/* NULL before the first scan */
	const char *impl;		/* "avx2", "avx512" or "scalar" */
	u64 scalar_batches;		/* batches SIMD could not run */
	u64 simd_checked;		/* pages simd_check digested twice */
	u64 simd_mismatches;		/* of which the digests differed */
	u32 key_id;			/* of a keyed scan, else 0 */
	int error;
};

static DEFINE_MUTEX(mtr_stats_lock);
static struct mtr_stats mtr_last;
static unsigned long mtr_busy;

/* ---- one scan ---- */

struct mtr_span {
	unsigned long start;
	unsigned long end;
};

enum mtr_phase { MTR_BODY, MTR_DONE, MTR_FAILED };

struct mtr_scan {
	/*
	 * Threads (or a parent and child after fork) can share the open
	 * file; reads on a character device are not serialized by the VFS.
	 */
	struct mutex lock;
	enum mtr_phase phase;
	int error;
	loff_t pos;			/* bytes handed to the reader */

	const struct mtr_algo *algo;
	unsigned int digest_size;
	bool hash_free;
	const struct mtr_variant *variant;	/* NULL: scalar */
	unsigned int batch_max;		/* pages per batch: its lanes, or 1 */

	/*
	 * The key MEMTRACE_IOC_SET_KEY gave this file (key_id 0: none), and
	 * the one the scan in progress uses, copied when it starts so that
	 * a new key never changes a trace half-way.
	 */
	u32 key_id;
	u64 seed;
	u32 scan_key_id;
	u64 scan_seed;
	mb_simd_seeded_fn *seeded;	/* keyed SIMD variant, or NULL */

	struct mtr_span *spans;		/* merged spans of the online nodes */
	unsigned int nr_spans;
	unsigned int span;		/* span the walk is in */
	unsigned long pfn;		/* next PFN the walk looks at */

	u64 page_count;			/* from the counting walk */
	u64 emitted;
	u64 used;
	u64 free;
	u64 unreadable;
	u64 scalar_batches;
	u64 simd_checked;
	u64 simd_mismatches;
	u64 start_ns;
	struct xxh64_state checksum;

	u8 *buf;			/* the bytes being handed out */
	size_t buf_len;
	size_t buf_pos;
	u8 *digests;			/* digests of the chunk being built */
	u8 bitmap[MBT_BITMAP_BYTES(MTR_CHUNK_MAX)];

	/*
	 * The batch being gathered: each page is pinned (head, NULL for a
	 * bounce copy) and mapped at addr until the batch is digested into
	 * record index of the chunk.
	 */
	unsigned int batch_len;
	struct page *batch_head[MTR_BATCH_MAX];
	const void *batch_addr[MTR_BATCH_MAX];
	unsigned int batch_index[MTR_BATCH_MAX];
	u64 batch_digest[MTR_BATCH_MAX];
	u8 *bounce;			/* copies of unpinned free pages */
	u8 *check;			/* simd_check's copies, or NULL */
};

static void mtr_emit(struct mtr_scan *st, size_t len)
{
	xxh64_update(&st->checksum, st->buf, len);
	st->buf_len = len;
	st->buf_pos = 0;
}

/*
 * Snapshot the spans of the online nodes, sorted by start and merged, so the
 * walk visits each PFN once and in increasing order.
 */
static void mtr_snapshot_spans(struct mtr_scan *st)
{
	unsigned int i, j, n = 0;
	int nid;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);
		struct mtr_span span;

		if (!pgdat || n == nr_node_ids)
			continue;
		span.start = pgdat->node_start_pfn;
		span.end = span.start + READ_ONCE(pgdat->node_spanned_pages);
		if (span.start >= span.end)
			continue;
		for (i = n; i > 0 && st->spans[i - 1].start > span.start; i--)
			st->spans[i] = st->spans[i - 1];
		st->spans[i] = span;
		n++;
	}
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && st->spans[i].start <= st->spans[j - 1].end) {
			st->spans[j - 1].end = max(st->spans[j - 1].end,
						   st->spans[i].end);
			continue;
		}
		st->spans[j++] = st->spans[i];
	}
	st->nr_spans = j;
}

static u64 mtr_count_online(struct mtr_scan *st)
{
	unsigned long pfn;
	unsigned int i;
	u64 count = 0;

	for (i = 0; i < st->nr_spans; i++) {
		for (pfn = st->spans[i].start; pfn < st->spans[i].end; pfn++) {
			if (pfn_to_online_page(pfn))
				count++;
			if (!(pfn % MTR_RESCHED_PFNS))
				cond_resched();
		}
	}
	return count;
}

static void mtr_put_name(u8 *field, const char *name)
{
	strscpy((char *)field, name, MBT_NAME_LEN);
}

static void mtr_put_uuid(u8 *field)
{
	const char *text = dmi_get_system_info(DMI_PRODUCT_UUID);
	uuid_t uuid;

	/* An absent or malformed SMBIOS UUID stays all zero ("unknown"). */
	if (text && !uuid_parse(text, &uuid))
		memcpy(field, uuid.b, MBT_UUID_LEN);
}

static void mtr_build_header(struct mtr_scan *st)
{
	u8 *h = st->buf;
	u16 flags = st->hash_free ? MBT_FLAG_FREE_HASHED : 0;

	if (st->scan_key_id)
		flags |= MBT_FLAG_KEYED;

	memset(h, 0, MBT_HEADER_SIZE);
	memcpy(h + MBT_OFF_MAGIC, MBT_MAGIC, MBT_MAGIC_LEN);
	put_unaligned_le16(MBT_VERSION, h + MBT_OFF_VERSION);
	put_unaligned_le16(MBT_HEADER_SIZE, h + MBT_OFF_HEADER_SIZE);
	h[MBT_OFF_ALGORITHM] = st->algo->id;
	h[MBT_OFF_DIGEST_SIZE] = st->digest_size;
	put_unaligned_le16(flags, h + MBT_OFF_FLAGS);
	put_unaligned_le32(MBT_PAGE_SIZE, h + MBT_OFF_PAGE_SIZE);
	put_unaligned_le32(MTR_CHUNK_MAX, h + MBT_OFF_CHUNK_MAX);
	put_unaligned_le64(st->page_count, h + MBT_OFF_PAGE_COUNT);
	put_unaligned_le64(ktime_get_real_ns(), h + MBT_OFF_CAPTURE_NS);
	mtr_put_uuid(h + MBT_OFF_VM_UUID);
	put_unaligned_le32(st->scan_key_id, h + MBT_OFF_KEY_ID);
	mtr_put_name(h + MBT_OFF_VM_NAME, init_utsname()->nodename);
	mtr_put_name(h + MBT_OFF_KERNEL, init_utsname()->release);
	mtr_emit(st, MBT_HEADER_SIZE);
}

/* The widest variant of @row the CPU runs, or NULL (simd=off, or none). */
static const struct mtr_variant *mtr_pick_variant(int row)
{
	int isa;

	if (!READ_ONCE(mtr_simd_auto))
		return NULL;
	for (isa = MTR_NR_ISAS - 1; isa >= 0; isa--)
		if (mtr_variants[isa][row].lanes && mtr_isa_usable(isa))
			return &mtr_variants[isa][row];
	return NULL;
}

/* The seeded form of @v, an xxh64 variant; NULL when it has none. */
static mb_simd_seeded_fn *mtr_pick_seeded(const struct mtr_variant *v)
{
	if (!v)
		return NULL;
	return mtr_seeded_xxh64[(v - &mtr_variants[0][0]) / MTR_NR_ALGOS];
}

static int mtr_start(struct mtr_scan *st)
{
	/* A keyed scan is xxh64 under the file's seed, whatever algo says. */
	int row = st->key_id ? MTR_ROW_xxh64 : READ_ONCE(mtr_algo);
	const struct mtr_variant *variant = mtr_pick_variant(row);

	st->scan_key_id = st->key_id;
	st->scan_seed = st->seed;
	st->seeded = st->key_id ? mtr_pick_seeded(variant) : NULL;
	if (st->key_id && !st->seeded)
		variant = NULL;

	/* simd_check's copies, allocated only while it is set. */
	if (variant && READ_ONCE(simd_check)) {
		if (!st->check)
			st->check = kvmalloc(MTR_BATCH_MAX * PAGE_SIZE,
					     GFP_KERNEL);
		if (!st->check) {
			st->phase = MTR_FAILED;
			st->error = -ENOMEM;
			return -ENOMEM;
		}
	} else {
		kvfree(st->check);
		st->check = NULL;
	}
	st->algo = &mtr_algos[row];
	st->digest_size = st->algo->digest_size;
	st->hash_free = READ_ONCE(hash_free);
	st->variant = variant;
	st->batch_max = variant ? min_t(unsigned int, variant->lanes,
					MTR_BATCH_MAX) : 1;
	st->batch_len = 0;
	st->simd_checked = 0;
	st->simd_mismatches = 0;
	st->start_ns = ktime_get_ns();
	st->emitted = 0;
	st->used = 0;
	st->free = 0;
	st->unreadable = 0;
	st->scalar_batches = 0;
	st->error = 0;
	st->pos = 0;
	xxh64_reset(&st->checksum, 0);

	mtr_snapshot_spans(st);
	st->span = 0;
	st->pfn = st->nr_spans ? st->spans[0].start : 0;
	st->page_count = mtr_count_online(st);
	mtr_build_header(st);
	st->phase = MTR_BODY;
	return 0;
}

/*
 * Is the page's direct-map address mapped? Secret memory (memfd_secret),
 * KFENCE guard pages, a protected crash-kernel region, vmalloc areas being
 * freed with VM_FLUSH_RESET_PERMS and debug_pagealloc take pages out of the
 * direct map; reading those would fault, so they are reported unreadable.
 * Anonymous and slab memory is never among them, and looking every page up
 * costs a third of the walk, so those skip the lookup (unless
 * debug_pagealloc, which unmaps pages around allocation, is built in).
 */
static bool mtr_direct_mapped(struct page *head, struct page *page)
{
#ifdef CONFIG_X86
	unsigned int level;
	pte_t *pte;

	if (!IS_ENABLED(CONFIG_DEBUG_PAGEALLOC) &&
	    (PageAnon(head) || PageSlab(head)))
		return true;
	pte = lookup_address((unsigned long)page_address(page), &level);
	return pte && (pte_val(*pte) & _PAGE_PRESENT);
#else
	return true;
#endif
}

/* The scalar digest of one page: the algorithm's, or xxh64 keyed. */
static u64 mtr_hash(struct mtr_scan *st, const void *page)
{
	if (st->scan_key_id)
		return xxh64(page, PAGE_SIZE, st->scan_seed);
	return st->algo->hash(page);
}

static void mtr_put_digest(struct mtr_scan *st, unsigned int i, u64 digest)
{
	u8 *p = st->digests + (size_t)i * st->digest_size;

	if (st->digest_size == 8)
		put_unaligned_le64(digest, p);
	else
		put_unaligned_le32((u32)digest, p);
}

/*
 * simd_check: the batch's pages are copied first and both digests are
 * computed from the copies, since some pages change under any scan (the
 * scan's own state and stack, per-cpu FPU bookkeeping); a difference then
 * can only be the digest code's.
 */
static void mtr_check_copy(struct mtr_scan *st, const void *src[])
{
	unsigned int i;

	for (i = 0; i < st->batch_len; i++) {
		memcpy(st->check + (size_t)i * PAGE_SIZE, st->batch_addr[i],
		       PAGE_SIZE);
		src[i] = st->check + (size_t)i * PAGE_SIZE;
	}
}

static void mtr_check_batch(struct mtr_scan *st, const void *src[])
{
	unsigned int i;

	for (i = 0; i < st->batch_len; i++) {
		st->simd_checked++;
		if (mtr_hash(st, src[i]) != st->batch_digest[i])
			st->simd_mismatches++;
	}
}

/*
 * Digest the batch, write each digest into its record, and release the
 * pages: unmapped in the reverse order of mapping (kmap_local is a stack),
 * then unpinned.
 */
static void mtr_flush_batch(struct mtr_scan *st)
{
	const struct mtr_variant *v = st->variant;
	const void *src[MTR_BATCH_MAX];
	unsigned int i, n = st->batch_len;

	if (!n)
		return;
	/*
	 * One call of a variant per FPU section: at most 16 pages, which
	 * touch no lock and never sleep, so preemption is off only briefly.
	 */
	if (v && mtr_simd_ok()) {
		if (st->check)
			mtr_check_copy(st, src);
		mtr_simd_begin();
		if (st->seeded)
			st->seeded(st->check ? src : st->batch_addr, n,
				   PAGE_SIZE, st->scan_seed, st->batch_digest);
		else
			v->fn(st->check ? src : st->batch_addr, n, PAGE_SIZE,
			      st->batch_digest);
		mtr_simd_end();
		if (st->check)
			mtr_check_batch(st, src);
	} else {
		if (v)
			st->scalar_batches++;
		for (i = 0; i < n; i++)
			st->batch_digest[i] = mtr_hash(st, st->batch_addr[i]);
	}
	for (i = 0; i < n; i++)
		mtr_put_digest(st, st->batch_index[i], st->batch_digest[i]);
	for (i = n; i-- > 0;) {
		if (st->batch_head[i]) {
			kunmap_local(st->batch_addr[i]);
			put_page(st->batch_head[i]);
		}
	}
	st->batch_len = 0;
}

/* Queue a page for the batch (pinned @head and its mapping, or a copy). */
static void mtr_queue(struct mtr_scan *st, struct page *head,
		      const void *addr, unsigned int index)
{
	unsigned int i = st->batch_len++;

	st->batch_head[i] = head;
	st->batch_addr[i] = addr;
	st->batch_index[i] = index;
	if (st->batch_len == st->batch_max)
		mtr_flush_batch(st);
}

/*
 * A page nobody holds a reference to (free in the buddy lists or on a
 * per-cpu list), for hash_free=1. Such a page can be allocated and even
 * unmapped from the direct map at any moment, so it is copied with a
 * fault-tolerant copy first, into the bounce page of its batch slot; a
 * failed copy leaves the digest 0.
 */
static void mtr_queue_unpinned(struct mtr_scan *st, struct page *page,
			       unsigned int index)
{
	u8 *copy = st->bounce + (size_t)st->batch_len * PAGE_SIZE;

	if (copy_from_kernel_nofault(copy, page_address(page), PAGE_SIZE))
		return;
	mtr_queue(st, NULL, copy, index);
}

enum mtr_kind { MTR_USED, MTR_FREE, MTR_UNREADABLE };

/*
 * Classify one online page, record @index of the chunk, and when it is in
 * use queue it for hashing, pinned and mapped. Its digest stays 0 unless
 * it is queued (a free page only with hash_free set).
 */
static enum mtr_kind mtr_page(struct mtr_scan *st, unsigned long pfn,
			      struct page *page, unsigned int index)
{
	struct page *head;
	enum mtr_kind kind;

	/* Ballooned-out or poisoned memory must not be touched. */
	if (PageOffline(page) || PageHWPoison(page))
		return MTR_UNREADABLE;

	/*
	 * A page with a reference is in use; one without is free: in the
	 * buddy lists (is_free_buddy_page() would say so, at the cost of a
	 * walk over every order, which the used pages do not need), on a
	 * per-cpu free list, or between the allocator and its user. A tail
	 * page's own refcount is 0, so the compound head is pinned, then the
	 * page is checked to still belong to it (the compound may have been
	 * split or freed and reused between compound_head() and the pin).
	 */
	head = compound_head(page);
	if (!get_page_unless_zero(head)) {
		if (st->hash_free)
			mtr_queue_unpinned(st, page, index);
		return MTR_FREE;
	}
	if (compound_head(page) != head) {
		kind = MTR_UNREADABLE;
		goto out;
	}
	/* Reserved frames outside System RAM (the ISA hole, firmware). */
	if (PageReserved(page) && !page_is_ram(pfn)) {
		kind = MTR_UNREADABLE;
		goto out;
	}
	if (!mtr_direct_mapped(head, page)) {
		kind = MTR_UNREADABLE;
		goto out;
	}
	/* The batch now owns the reference and the mapping. */
	mtr_queue(st, head, kmap_local_page(page), index);
	return MTR_USED;
out:
	put_page(head);
	return kind;
}

/* Advance st->pfn to the next online PFN; false when the walk is over. */
static bool mtr_next_online(struct mtr_scan *st)
{
	unsigned long seen = 0;

	while (st->span < st->nr_spans) {
		const struct mtr_span *span = &st->spans[st->span];

		if (st->pfn < span->start)
			st->pfn = span->start;
		for (; st->pfn < span->end; st->pfn++) {
			if (pfn_to_online_page(st->pfn))
				return true;
			if (!(++seen % MTR_RESCHED_PFNS))
				cond_resched();
		}
		st->span++;
	}
	return false;
}

static int mtr_build_chunk(struct mtr_scan *st)
{
	unsigned long start = st->pfn;
	unsigned long end = st->spans[st->span].end;
	unsigned int count = 0;
	size_t bitmap_bytes, digest_bytes;
	struct page *page;
	u8 *c = st->buf;

	memset(st->bitmap, 0, sizeof(st->bitmap));
	while (count < MTR_CHUNK_MAX && st->pfn < end) {
		page = pfn_to_online_page(st->pfn);
		if (!page)
			break;
		/* Queued pages get their digest when their batch is done. */
		mtr_put_digest(st, count, 0);
		switch (mtr_page(st, st->pfn, page, count)) {
		case MTR_USED:
			st->used++;
			break;
		case MTR_UNREADABLE:
			st->unreadable++;
			fallthrough;
		case MTR_FREE:
			st->free++;
			st->bitmap[count / 8] |= 1U << (count % 8);
			break;
		}
		count++;
		st->pfn++;
	}
	mtr_flush_batch(st);
	if (count == 0)
		return -EAGAIN;	/* went offline since mtr_next_online() */
	if (st->emitted + count > st->page_count)
		return -EAGAIN;	/* memory came online since the count */
	st->emitted += count;

	bitmap_bytes = MBT_BITMAP_BYTES(count);
	digest_bytes = (size_t)count * st->digest_size;
	put_unaligned_le64(start, c + MBT_OFF_C_START_PFN);
	put_unaligned_le32(count, c + MBT_OFF_C_COUNT);
	put_unaligned_le32(0, c + MBT_OFF_C_RESERVED);
	memcpy(c + MBT_CHUNK_HEADER_SIZE, st->bitmap, bitmap_bytes);
	memcpy(c + MBT_CHUNK_HEADER_SIZE + bitmap_bytes, st->digests,
	       digest_bytes);
	mtr_emit(st, MBT_CHUNK_HEADER_SIZE + bitmap_bytes + digest_bytes);
	return 0;
}

static void mtr_record_stats(struct mtr_scan *st, u64 scan_ns)
{
	mutex_lock(&mtr_stats_lock);
	mtr_last.scans++;
	mtr_last.pages = st->emitted;
	mtr_last.used = st->used;
	mtr_last.free = st->free;
	mtr_last.unreadable = st->unreadable;
	mtr_last.scan_ns = scan_ns;
	mtr_last.algo = st->algo;
	mtr_last.impl = st->variant ? st->variant->isa : "scalar";
	mtr_last.scalar_batches = st->scalar_batches;
	mtr_last.simd_checked = st->simd_checked;
	mtr_last.simd_mismatches = st->simd_mismatches;
	mtr_last.key_id = st->scan_key_id;
	mtr_last.error = st->error;
	mutex_unlock(&mtr_stats_lock);
}

static int mtr_build_trailer(struct mtr_scan *st)
{
	u64 scan_ns = ktime_get_ns() - st->start_ns;
	u8 *t = st->buf;

	if (st->emitted != st->page_count)
		return -EAGAIN;	/* memory went offline since the count */
	memcpy(t + MBT_OFF_T_MAGIC, MBT_TRAILER_MAGIC, MBT_TRAILER_MAGIC_LEN);
	put_unaligned_le64(st->used, t + MBT_OFF_T_USED);
	put_unaligned_le64(st->free, t + MBT_OFF_T_FREE);
	put_unaligned_le64(scan_ns, t + MBT_OFF_T_SCAN_NS);
	xxh64_update(&st->checksum, t, MBT_OFF_T_CHECKSUM);
	put_unaligned_le64(xxh64_digest(&st->checksum),
			   t + MBT_OFF_T_CHECKSUM);
	st->buf_len = MBT_TRAILER_SIZE;
	st->buf_pos = 0;
	st->phase = MTR_DONE;
	mtr_record_stats(st, scan_ns);
	return 0;
}

/* Refill st->buf with the next chunk or the trailer. */
static int mtr_fill(struct mtr_scan *st)
{
	int ret;

	if (fatal_signal_pending(current))
		ret = -EINTR;
	else if (mtr_next_online(st))
		ret = mtr_build_chunk(st);
	else
		ret = mtr_build_trailer(st);
	cond_resched();
	if (ret) {
		st->phase = MTR_FAILED;
		st->error = ret;
		mtr_record_stats(st, ktime_get_ns() - st->start_ns);
		if (ret == -EAGAIN)
			pr_info("memory was hot(un)plugged during a scan; read again\n");
	}
	return ret;
}

/* ---- the device ---- */

static ssize_t mtr_read_locked(struct mtr_scan *st, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	size_t done = 0, n;
	int ret;

	if (*ppos == 0) {
		ret = mtr_start(st);
		if (ret)
			return ret;
	} else if (*ppos != st->pos)
		return -ESPIPE;	/* the trace is a stream: no seeking inside */
	if (st->phase == MTR_FAILED)
		return st->error;

	while (done < count) {
		if (st->buf_pos == st->buf_len) {
			if (st->phase == MTR_DONE)
				break;
			ret = mtr_fill(st);
			if (ret) {
				if (!done)
					return ret;
				break;
			}
			continue;
		}
		n = min(count - done, st->buf_len - st->buf_pos);
		if (copy_to_user(ubuf + done, st->buf + st->buf_pos, n)) {
			if (!done)
				return -EFAULT;
			break;
		}
		st->buf_pos += n;
		done += n;
	}
	st->pos += done;
	*ppos = st->pos;
	return done;
}

static ssize_t mtr_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	struct mtr_scan *st = file->private_data;
	ssize_t ret;

	if (mutex_lock_interruptible(&st->lock))
		return -EINTR;
	ret = mtr_read_locked(st, ubuf, count, ppos);
	mutex_unlock(&st->lock);
	return ret;
}

/* Only "rewind" and "where am I" make sense on a stream made on demand. */
static loff_t mtr_llseek(struct file *file, loff_t offset, int whence)
{
	if (whence == SEEK_SET && offset == 0) {
		file->f_pos = 0;
		return 0;
	}
	if (whence == SEEK_CUR && offset == 0)
		return file->f_pos;
	return -ESPIPE;
}

static void mtr_free_scan(struct mtr_scan *st)
{
	if (!st)
		return;
	mutex_destroy(&st->lock);
	kvfree(st->buf);
	kvfree(st->digests);
	kvfree(st->bounce);
	kvfree(st->check);
	kfree(st->spans);
	/* The scan state may hold a tenant's seed: wiped, not just freed. */
	kfree_sensitive(st);
}

static int mtr_open(struct inode *inode, struct file *file)
{
	struct mtr_scan *st;
	int ret;

	/* Page digests reveal what is in memory: root only. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (file->f_mode & FMODE_WRITE)
		return -EINVAL;
	if (test_and_set_bit_lock(0, &mtr_busy))
		return -EBUSY;

	ret = -ENOMEM;
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		goto fail;
	mutex_init(&st->lock);
	st->buf = kvmalloc(MTR_CHUNK_BYTES, GFP_KERNEL);
	st->digests = kvmalloc(MTR_CHUNK_MAX * MBT_DIGEST_SIZE_MAX, GFP_KERNEL);
	st->bounce = kvmalloc(MTR_BATCH_MAX * PAGE_SIZE, GFP_KERNEL);
	st->spans = kcalloc(nr_node_ids, sizeof(*st->spans), GFP_KERNEL);
	if (!st->buf || !st->digests || !st->bounce || !st->spans)
		goto fail;
	st->phase = MTR_DONE;
	file->private_data = st;
	return 0;
fail:
	mtr_free_scan(st);
	clear_bit_unlock(0, &mtr_busy);
	return ret;
}

static int mtr_release(struct inode *inode, struct file *file)
{
	mtr_free_scan(file->private_data);
	clear_bit_unlock(0, &mtr_busy);
	return 0;
}

/* MEMTRACE_IOC_SET_KEY: the key of this file's next scans. */
static long mtr_set_key(struct mtr_scan *st, void __user *arg)
{
	struct memtrace_key key;
	long ret = 0;

	if (copy_from_user(&key, arg, sizeof(key))) {
		ret = -EFAULT;
		goto out;
	}
	if (!key.key_id || key.reserved) {
		ret = -EINVAL;
		goto out;
	}
	if (mutex_lock_interruptible(&st->lock)) {
		ret = -EINTR;
		goto out;
	}
	st->key_id = key.key_id;
	st->seed = key.seed;
	mutex_unlock(&st->lock);
out:
	memzero_explicit(&key, sizeof(key));
	return ret;
}

static long mtr_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mtr_scan *st = file->private_data;

	switch (cmd) {
	case MEMTRACE_IOC_SET_KEY:
		return mtr_set_key(st, (void __user *)arg);
	case MEMTRACE_IOC_CLEAR_KEY:
		if (mutex_lock_interruptible(&st->lock))
			return -EINTR;
		st->key_id = 0;
		memzero_explicit(&st->seed, sizeof(st->seed));
		mutex_unlock(&st->lock);
		return 0;
	}
	return -ENOTTY;
}

static const struct file_operations mtr_fops = {
	.owner = THIS_MODULE,
	.open = mtr_open,
	.read = mtr_read,
	.llseek = mtr_llseek,
	.unlocked_ioctl = mtr_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = mtr_release,
};

/* ---- sysfs: /sys/class/misc/memtrace/last_* ---- */

#define MTR_STAT_ATTR(name, field)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	long long val;							\
									\
	mutex_lock(&mtr_stats_lock);					\
	val = mtr_last.field;						\
	mutex_unlock(&mtr_stats_lock);					\
	return sysfs_emit(buf, "%lld\n", val);				\
}									\
static DEVICE_ATTR_RO(name)

MTR_STAT_ATTR(scans, scans);
MTR_STAT_ATTR(last_pages, pages);
MTR_STAT_ATTR(last_used, used);
MTR_STAT_ATTR(last_free, free);
MTR_STAT_ATTR(last_unreadable, unreadable);
MTR_STAT_ATTR(last_scan_ns, scan_ns);
MTR_STAT_ATTR(last_error, error);
MTR_STAT_ATTR(last_scalar_batches, scalar_batches);
MTR_STAT_ATTR(last_simd_checked, simd_checked);
MTR_STAT_ATTR(last_simd_mismatches, simd_mismatches);

static ssize_t last_algo_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	const struct mtr_algo *algo;

	mutex_lock(&mtr_stats_lock);
	algo = mtr_last.algo;
	mutex_unlock(&mtr_stats_lock);
	return sysfs_emit(buf, "%s\n", algo ? algo->name : "none");
}
static DEVICE_ATTR_RO(last_algo);

static ssize_t last_impl_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	const char *impl;

	mutex_lock(&mtr_stats_lock);
	impl = mtr_last.impl;
	mutex_unlock(&mtr_stats_lock);
	return sysfs_emit(buf, "%s\n", impl ? impl : "none");
}
static DEVICE_ATTR_RO(last_impl);

/* The key id of the last scan (00000000: not keyed); never the seed. */
static ssize_t last_key_id_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	u32 key_id;

	mutex_lock(&mtr_stats_lock);
	key_id = mtr_last.key_id;
	mutex_unlock(&mtr_stats_lock);
	return sysfs_emit(buf, "%08x\n", key_id);
}
static DEVICE_ATTR_RO(last_key_id);

static struct attribute *mtr_attrs[] = {
	&dev_attr_scans.attr,
	&dev_attr_last_pages.attr,
	&dev_attr_last_used.attr,
	&dev_attr_last_free.attr,
	&dev_attr_last_unreadable.attr,
	&dev_attr_last_scan_ns.attr,
	&dev_attr_last_error.attr,
	&dev_attr_last_algo.attr,
	&dev_attr_last_impl.attr,
	&dev_attr_last_key_id.attr,
	&dev_attr_last_scalar_batches.attr,
	&dev_attr_last_simd_checked.attr,
	&dev_attr_last_simd_mismatches.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mtr);

static struct miscdevice mtr_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "memtrace",
	.fops = &mtr_fops,
	.mode = 0600,
	.groups = mtr_groups,
};

static int __init mtr_init(void)
{
	int ret = misc_register(&mtr_dev);

	if (ret)
		pr_err("cannot register /dev/memtrace: error %d\n", ret);
	return ret;
}

static void __exit mtr_exit(void)
{
	misc_deregister(&mtr_dev);
}

module_init(mtr_init);
module_exit(mtr_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("Memory Buddies");
MODULE_DESCRIPTION("Digests of every online physical page, as a .mbt trace on /dev/memtrace");
