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
 * One open file at a time: a second open() gets -EBUSY while the first is
 * open, so two scans never compete and mb-guestd never reads a half trace.
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
/* Linux 6.12 moved the unaligned accessors; detect the header, not a version. */
#if __has_include("linux/unaligned.h")
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "mbt_format.h"
#include "superfasthash.h"

#if PAGE_SIZE != MBT_PAGE_SIZE
#error "the .mbt format describes 4 KiB pages"
#endif

#define MTR_CHUNK_MAX		4096
#define MTR_CHUNK_BYTES		(MBT_CHUNK_HEADER_SIZE + \
				 MBT_BITMAP_BYTES(MTR_CHUNK_MAX) + \
				 MTR_CHUNK_MAX * MBT_DIGEST_SIZE_MAX)
#define MTR_RESCHED_PFNS		(1UL << 16)

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

enum mtr_algo_row {
#define MBT_ALGORITHM(NAME, name, id, size) MTR_ALGO_##NAME,
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
	[MTR_ALGO_##NAME] = { .id = (nr), .digest_size = (bytes),	\
			      .name = #lower, .hash = mtr_hash_##lower },
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
};

/* " superfast xxh32 ...", for the message that refuses a wrong name. */
static const char mtr_algo_list[] =
#define MBT_ALGORITHM(NAME, name, id, size) " " #name
#include "mbt_algorithms.h"
#undef MBT_ALGORITHM
	;

/* ---- parameters and statistics ---- */

static int mtr_algo = MTR_ALGO_SUPERFAST;	/* a row of mtr_algos */
static bool hash_free;

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

/* Results of the last finished or failed scan, shown in sysfs. */
struct mtr_stats {
	u64 scans;
	u64 pages;
	u64 used;
	u64 free;
	u64 unreadable;
	u64 scan_ns;
	const struct mtr_algo *algo;	/* NULL before the first scan */
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

	struct mtr_span *spans;		/* merged spans of the online nodes */
	unsigned int nr_spans;
	unsigned int span;		/* span the walk is in */
	unsigned long pfn;		/* next PFN the walk looks at */

	u64 page_count;			/* from the counting walk */
	u64 emitted;
	u64 used;
	u64 free;
	u64 unreadable;
	u64 start_ns;
	struct xxh64_state checksum;

	u8 *buf;			/* the bytes being handed out */
	size_t buf_len;
	size_t buf_pos;
	u8 *digests;			/* digests of the chunk being built */
	u8 bitmap[MBT_BITMAP_BYTES(MTR_CHUNK_MAX)];
	void *bounce;			/* copy of an unpinned free page */
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
	mtr_put_name(h + MBT_OFF_VM_NAME, init_utsname()->nodename);
	mtr_put_name(h + MBT_OFF_KERNEL, init_utsname()->release);
	mtr_emit(st, MBT_HEADER_SIZE);
}

static void mtr_start(struct mtr_scan *st)
{
	st->algo = &mtr_algos[READ_ONCE(mtr_algo)];
	st->digest_size = st->algo->digest_size;
	st->hash_free = READ_ONCE(hash_free);
	st->start_ns = ktime_get_ns();
	st->emitted = 0;
	st->used = 0;
	st->free = 0;
	st->unreadable = 0;
	st->error = 0;
	st->pos = 0;
	xxh64_reset(&st->checksum, 0);

	mtr_snapshot_spans(st);
	st->span = 0;
	st->pfn = st->nr_spans ? st->spans[0].start : 0;
	st->page_count = mtr_count_online(st);
	mtr_build_header(st);
	st->phase = MTR_BODY;
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

/*
 * Digest of a page nobody holds a reference to (free in the buddy lists or
 * on a per-cpu list), for hash_free=1. Such a page can be allocated and
 * even unmapped from the direct map at any moment, so it is copied with a
 * fault-tolerant copy first; a failed copy leaves the digest 0.
 */
static u64 mtr_hash_unpinned(struct mtr_scan *st, struct page *page)
{
	if (copy_from_kernel_nofault(st->bounce, page_address(page), PAGE_SIZE))
		return 0;
	return st->algo->hash(st->bounce);
}

enum mtr_kind { MTR_USED, MTR_FREE, MTR_UNREADABLE };

/*
 * Classify one online page and, when it is in use, hash it while holding a
 * reference. A free page's digest is 0 unless hash_free is set.
 */
static enum mtr_kind mtr_page(struct mtr_scan *st, unsigned long pfn,
			      struct page *page, u64 *digest)
{
	struct page *head;
	enum mtr_kind kind;
	void *addr;

	*digest = 0;
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
			*digest = mtr_hash_unpinned(st, page);
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
	addr = kmap_local_page(page);
	*digest = st->algo->hash(addr);
	kunmap_local(addr);
	kind = MTR_USED;
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

static void mtr_put_digest(struct mtr_scan *st, unsigned int i, u64 digest)
{
	u8 *p = st->digests + (size_t)i * st->digest_size;

	if (st->digest_size == 8)
		put_unaligned_le64(digest, p);
	else
		put_unaligned_le32((u32)digest, p);
}

static int mtr_build_chunk(struct mtr_scan *st)
{
	unsigned long start = st->pfn;
	unsigned long end = st->spans[st->span].end;
	unsigned int count = 0;
	size_t bitmap_bytes, digest_bytes;
	struct page *page;
	u8 *c = st->buf;
	u64 digest;

	memset(st->bitmap, 0, sizeof(st->bitmap));
	while (count < MTR_CHUNK_MAX && st->pfn < end) {
		page = pfn_to_online_page(st->pfn);
		if (!page)
			break;
		switch (mtr_page(st, st->pfn, page, &digest)) {
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
		mtr_put_digest(st, count, digest);
		count++;
		st->pfn++;
	}
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

	if (*ppos == 0)
		mtr_start(st);
	else if (*ppos != st->pos)
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
	kfree(st->bounce);
	kfree(st->spans);
	kfree(st);
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
	st->bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
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

static const struct file_operations mtr_fops = {
	.owner = THIS_MODULE,
	.open = mtr_open,
	.read = mtr_read,
	.llseek = mtr_llseek,
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

static struct attribute *mtr_attrs[] = {
	&dev_attr_scans.attr,
	&dev_attr_last_pages.attr,
	&dev_attr_last_used.attr,
	&dev_attr_last_free.attr,
	&dev_attr_last_unreadable.attr,
	&dev_attr_last_scan_ns.attr,
	&dev_attr_last_error.attr,
	&dev_attr_last_algo.attr,
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
