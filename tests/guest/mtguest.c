// SPDX-License-Identifier: GPL-2.0
/*
 * mtguest.c - the guest half of the memtrace test bed.
 *
 * A static binary that runs inside the QEMU guest next to memtrace.ko and
 * speaks the console protocol of tests/guest/run-tests.sh: every check
 * prints one line "MT-PASS <test>: <what was seen>" or
 * "MT-FAIL <test>: expected <x>, got <y>". It validates traces with its own
 * small reader (independent of lib/mbt.c, so the host side of the digest
 * agreement test compares two implementations of docs/trace-format.md) and
 * computes page digests with lib/digest.c, the code user space shares with
 * the module.
 *
 *   mtguest parse [-o COPY] [FILE]   validate one trace (default /dev/memtrace)
 *   mtguest known K M                test 1: known pages, every algorithm
 *   mtguest whole                    test 2: every online page, every node
 *   mtguest stress SCANS             test 3: scans while churn runs
 *   mtguest churn SECONDS            allocate, write, free as fast as possible
 *   mtguest busy                     second open gets EBUSY; CAP_SYS_ADMIN
 *   mtguest shared                   two processes read one open file
 *   mtguest hold-open SECONDS        keep /dev/memtrace open
 *   mtguest fill MIB                 write random data over MIB MiB, then wait
 *   mtguest drift MIB PCT SECONDS    fill MIB MiB, then rewrite PCT % of its
 *                                    pages every SECONDS seconds, forever
 *   mtguest simd K                   test 6: the module's SIMD and scalar
 *                                    scans of the same memory, K known pages
 *   mtguest keyed K                  test 7: keyed scans (MEMTRACE_IOC_SET_KEY)
 *                                    of K known pages, SIMD and scalar
 *   mtguest bench                    module vs user-space hashing throughput,
 *                                    SIMD against scalar
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "digest.h"
#include "mbt_format.h"
#include "memtrace_ioctl.h"

#define DEV "/dev/memtrace"
#define PARAM "/sys/module/memtrace/parameters/"
#define STATS "/sys/class/misc/memtrace/"
#define PAGE MBT_PAGE_SIZE

static int failures;

static void pass(const char *test, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(const char *test, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void report(const char *verdict, const char *test, const char *fmt,
		   va_list ap)
{
	printf("%s %s: ", verdict, test);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static void pass(const char *test, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("MT-PASS", test, fmt, ap);
	va_end(ap);
}

static void fail(const char *test, const char *fmt, ...)
{
	va_list ap;

	failures++;
	va_start(ap, fmt);
	report("MT-FAIL", test, fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

/* ---- reading and validating a trace ---- */

struct trace {
	uint8_t *data;
	size_t size;
	int algo;
	int digest_size;
	unsigned int flags;
	uint32_t key_id;	/* keyed traces: the header's key id */
	uint64_t pages, used, free, chunks, scan_ns;
	uint64_t first_pfn, last_pfn;
	uint64_t free_nonzero;	/* free pages with a non-zero digest */
	char name[MBT_NAME_LEN], kernel[MBT_NAME_LEN];
	uint64_t read_ns;	/* wall time of reading it */
};

/* Read all of @path (a device or file) into memory; -errno on failure. */
/* Read one trace from @fd, from where it is, to its end. */
static int slurp_fd(int fd, struct trace *t)
{
	size_t cap = 1 << 20;
	uint64_t start = now_ns();
	ssize_t n;

	t->data = malloc(cap);
	t->size = 0;
	for (;;) {
		if (t->size + (1 << 20) > cap) {
			cap *= 2;
			t->data = realloc(t->data, cap);
		}
		if (!t->data)
			return -ENOMEM;
		n = read(fd, t->data + t->size, 1 << 20);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		t->size += n;
	}
	t->read_ns = now_ns() - start;
	return 0;
}

static int slurp(const char *path, struct trace *t)
{
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -errno;
	ret = slurp_fd(fd, t);
	close(fd);
	return ret;
}

/* Per-record callback: pfn, free bit, digest. */
typedef void (*record_fn)(void *ctx, uint64_t pfn, bool is_free,
			  uint64_t digest);

/*
 * Validate @t->data against docs/trace-format.md. On failure writes the
 * reason to @why and returns false.
 */
static bool validate(struct trace *t, record_fn fn, void *ctx, char *why,
		     size_t whylen)
{
	const uint8_t *p = t->data;
	size_t off = MBT_HEADER_SIZE, end;
	uint64_t chunk_max, next_pfn = 0, records = 0, used = 0, free_ = 0;
	unsigned int i;

#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); return false; } while (0)
	if (t->size < MBT_HEADER_SIZE + MBT_TRAILER_SIZE)
		BAD("%zu bytes is too short for a trace", t->size);
	if (memcmp(p, MBT_MAGIC, MBT_MAGIC_LEN))
		BAD("byte 0: bad magic");
	if (le(p + MBT_OFF_VERSION, 2) != MBT_VERSION ||
	    le(p + MBT_OFF_HEADER_SIZE, 2) != MBT_HEADER_SIZE)
		BAD("byte 8: bad version or header size");
	t->algo = p[MBT_OFF_ALGORITHM];
	t->digest_size = p[MBT_OFF_DIGEST_SIZE];
	if (mb_algo_digest_size(t->algo) == 0 ||
	    mb_algo_digest_size(t->algo) != t->digest_size)
		BAD("byte 12: algorithm %d with digest size %d", t->algo,
		    t->digest_size);
	t->flags = le(p + MBT_OFF_FLAGS, 2);
	if (t->flags & ~MBT_FLAGS_KNOWN)
		BAD("byte 14: unknown flags 0x%x", t->flags);
	if (le(p + MBT_OFF_PAGE_SIZE, 4) != MBT_PAGE_SIZE)
		BAD("byte 16: page size is not 4096");
	chunk_max = le(p + MBT_OFF_CHUNK_MAX, 4);
	if (chunk_max < 1 || chunk_max > MBT_CHUNK_MAX_LIMIT)
		BAD("byte 20: chunk_max %llu", (unsigned long long)chunk_max);
	t->pages = le(p + MBT_OFF_PAGE_COUNT, 8);
	if (t->pages < 1 || t->pages > MBT_PAGE_COUNT_LIMIT)
		BAD("byte 24: page_count %llu", (unsigned long long)t->pages);
	if (!memchr(p + MBT_OFF_VM_NAME, 0, MBT_NAME_LEN) ||
	    !memchr(p + MBT_OFF_KERNEL, 0, MBT_NAME_LEN))
		BAD("byte 56: vm_name or kernel_release not NUL-terminated");
	memcpy(t->name, p + MBT_OFF_VM_NAME, MBT_NAME_LEN);
	memcpy(t->kernel, p + MBT_OFF_KERNEL, MBT_NAME_LEN);
	t->key_id = le(p + MBT_OFF_KEY_ID, 4);
	if (!(t->flags & MBT_FLAG_KEYED) != !t->key_id)
		BAD("byte 184: key id 0x%x with flags 0x%x", t->key_id,
		    t->flags);
	if (t->key_id && t->algo != MB_ALGO_XXH64)
		BAD("byte 12: a keyed trace of %s digests",
		    mb_algo_name(t->algo));
	for (i = MBT_OFF_RESERVED; i < MBT_HEADER_SIZE; i++)
		if (p[i])
			BAD("byte %u: reserved byte is not 0", i);

	end = t->size - MBT_TRAILER_SIZE;
	t->chunks = 0;
	t->free_nonzero = 0;
	while (off < end) {
		uint64_t start, count, bitmap, k;
		const uint8_t *c = p + off;

		if (end - off < MBT_CHUNK_HEADER_SIZE)
			BAD("byte %zu: truncated chunk header", off);
		start = le(c + MBT_OFF_C_START_PFN, 8);
		count = le(c + MBT_OFF_C_COUNT, 4);
		if (count < 1 || count > chunk_max ||
		    le(c + MBT_OFF_C_RESERVED, 4))
			BAD("byte %zu: chunk count %llu or reserved field", off,
			    (unsigned long long)count);
		if (t->chunks && start < next_pfn)
			BAD("byte %zu: pfn %llu not above the previous chunk",
			    off, (unsigned long long)start);
		bitmap = MBT_BITMAP_BYTES(count);
		if (end - off < MBT_CHUNK_HEADER_SIZE + bitmap +
				count * t->digest_size)
			BAD("byte %zu: truncated chunk", off);
		if (t->chunks == 0)
			t->first_pfn = start;
		for (k = count; k < bitmap * 8; k++)
			if (c[MBT_CHUNK_HEADER_SIZE + k / 8] & (1u << (k % 8)))
				BAD("byte %zu: unused bitmap bit set", off);
		for (k = 0; k < count; k++) {
			bool is_free = c[MBT_CHUNK_HEADER_SIZE + k / 8] &
				       (1u << (k % 8));
			uint64_t d = le(c + MBT_CHUNK_HEADER_SIZE + bitmap +
					k * t->digest_size, t->digest_size);

			if (is_free) {
				free_++;
				if (d)
					t->free_nonzero++;
			} else {
				used++;
			}
			if (fn)
				fn(ctx, start + k, is_free, d);
		}
		if (t->free_nonzero && !(t->flags & MBT_FLAG_FREE_HASHED))
			BAD("byte %zu: free page with a digest, FREE_HASHED clear",
			    off);
		records += count;
		next_pfn = start + count;
		t->last_pfn = next_pfn - 1;
		t->chunks++;
		off += MBT_CHUNK_HEADER_SIZE + bitmap + count * t->digest_size;
	}
	if (records != t->pages)
		BAD("chunks hold %llu records, header says %llu",
		    (unsigned long long)records, (unsigned long long)t->pages);
	p += end;
	if (memcmp(p + MBT_OFF_T_MAGIC, MBT_TRAILER_MAGIC,
		   MBT_TRAILER_MAGIC_LEN))
		BAD("byte %zu: bad trailer magic", end);
	t->used = le(p + MBT_OFF_T_USED, 8);
	t->free = le(p + MBT_OFF_T_FREE, 8);
	t->scan_ns = le(p + MBT_OFF_T_SCAN_NS, 8);
	if (t->used != used || t->free != free_)
		BAD("trailer says %llu used %llu free, bitmaps %llu and %llu",
		    (unsigned long long)t->used, (unsigned long long)t->free,
		    (unsigned long long)used, (unsigned long long)free_);
	if (XXH64(t->data, t->size - 8, 0) != le(p + MBT_OFF_T_CHECKSUM, 8))
		BAD("byte %zu: checksum mismatch", end + MBT_OFF_T_CHECKSUM);
#undef BAD
	return true;
}

static void print_trace(const char *label, const struct trace *t)
{
	printf("%s pages=%llu used=%llu free=%llu chunks=%llu algo=%s digest_size=%d flags=0x%x first_pfn=%llu last_pfn=%llu free_nonzero=%llu bytes=%zu scan_ns=%llu name=%s kernel=%s\n",
	       label, (unsigned long long)t->pages,
	       (unsigned long long)t->used, (unsigned long long)t->free,
	       (unsigned long long)t->chunks, mb_algo_name(t->algo),
	       t->digest_size, t->flags, (unsigned long long)t->first_pfn,
	       (unsigned long long)t->last_pfn,
	       (unsigned long long)t->free_nonzero, t->size,
	       (unsigned long long)t->scan_ns, t->name, t->kernel);
	fflush(stdout);
}

/* Read and validate one trace; false (and a FAIL line) when it is bad. */
static bool load_from(const char *test, const char *path, int fd,
		      struct trace *t, record_fn fn, void *ctx)
{
	char why[256];
	int err;

	memset(t, 0, sizeof(*t));
	err = fd >= 0 ? slurp_fd(fd, t) : slurp(path, t);
	if (err) {
		fail(test, "expected a trace from %s, got error %s", path,
		     strerror(-err));
		return false;
	}
	if (!validate(t, fn, ctx, why, sizeof(why))) {
		fail(test, "expected a valid trace from %s, got: %s", path,
		     why);
		return false;
	}
	return true;
}

static bool load(const char *test, const char *path, struct trace *t,
		 record_fn fn, void *ctx)
{
	return load_from(test, path, -1, t, fn, ctx);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static long long read_number(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoll(buf) : -1;
}

static int set_algo(int algo)
{
	return write_file(PARAM "algo", mb_algo_name(algo));
}

/* simd=auto or simd=off for the next scan. */
static int set_simd(bool on)
{
	return write_file(PARAM "simd", on ? "auto" : "off");
}

/* The first word of @path into @buf ("" when unreadable). */
static void read_word(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f && fscanf(f, "%63s", buf) != 1)
		buf[0] = 0;
	if (f)
		fclose(f);
	(void)len;
}

/* ---- parse ---- */

static int cmd_parse(int argc, char **argv)
{
	const char *copy = NULL, *path = DEV;
	struct trace t;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			copy = argv[++i];
		else
			path = argv[i];
	}
	if (!load("parse", path, &t, NULL, NULL))
		return 1;
	print_trace("MT-TRACE", &t);
	if (copy) {
		FILE *f = fopen(copy, "w");

		if (!f || fwrite(t.data, 1, t.size, f) != t.size || fclose(f)) {
			fail("parse", "expected to write %s, got %s", copy,
			     strerror(errno));
			return 1;
		}
	}
	return 0;
}

static long long meminfo_kib(const char *key);

#define THP_SIZE (2u << 20)

/* ---- test 1: known pages ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct digest_list {
	uint64_t *v;
	size_t n, cap;
};

static void collect_used(void *ctx, uint64_t pfn, bool is_free,
			 uint64_t digest)
{
	struct digest_list *l = ctx;

	(void)pfn;
	if (is_free)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) {
			perror("mtguest: realloc");
			exit(2);
		}
	}
	l->v[l->n++] = digest;
}

static size_t count_of(const struct digest_list *l, uint64_t d)
{
	const uint64_t *hit = bsearch(&d, l->v, l->n, sizeof(d), cmp_u64);
	size_t n = 0;

	if (!hit)
		return 0;
	while (hit > l->v && hit[-1] == d)
		hit--;
	while (hit < l->v + l->n && *hit++ == d)
		n++;
	return n;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_random(uint8_t *p, size_t len, uint64_t *seed)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = xorshift(seed);

		memcpy(p + i, &v, 8);
	}
}

static int cmd_known(int argc, char **argv)
{
	size_t k, m, i;
	uint8_t *mem;
	static uint8_t control[PAGE];
	uint64_t seed = now_ns() | 1, absent[256];	/* by id: one byte */
	size_t row;
	int algo;

	if (argc < 2)
		return 2;
	k = strtoul(argv[0], NULL, 0);
	m = strtoul(argv[1], NULL, 0);
	/*
	 * 2 MiB-aligned and MADV_HUGEPAGE, so most pages are tails of
	 * transparent huge pages and the module's compound-head path is
	 * what finds them.
	 */
	mem = mmap(NULL, (k + m) * PAGE + THP_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem != MAP_FAILED) {
		mem = (uint8_t *)(((uintptr_t)mem + THP_SIZE - 1) &
				  ~(uintptr_t)(THP_SIZE - 1));
		madvise(mem, (k + m) * PAGE, MADV_HUGEPAGE);
	}
	if (mem == MAP_FAILED || mlock(mem, (k + m) * PAGE)) {
		fail("known", "expected %zu locked pages, got %s", k + m,
		     strerror(errno));
		return 1;
	}
	/* K distinct random pages; the page index makes them distinct. */
	for (i = 0; i < k; i++) {
		fill_random(mem + i * PAGE, PAGE, &seed);
		memcpy(mem + i * PAGE, &i, sizeof(i));
	}
	/*
	 * A control: the digest of a page that is no longer anywhere in
	 * memory must be absent, or the test could not fail.
	 */
	fill_random(control, PAGE, &seed);
	for (row = 0; row < mb_algo_count; row++)
		absent[mb_algos[row].id] = mb_digest_page(mb_algos[row].id,
							  control);
	memset(control, 0, PAGE);
	/* M copies of one more random page. */
	fill_random(mem + k * PAGE, PAGE, &seed);
	for (i = 1; i < m; i++)
		memcpy(mem + (k + i) * PAGE, mem + k * PAGE, PAGE);

	if (meminfo_kib("AnonHugePages") > 0)
		pass("known-thp", "%lld KiB of the test pages are transparent huge pages",
		     meminfo_kib("AnonHugePages"));
	else
		fail("known-thp", "expected transparent huge pages backing the test pages, got none");

	for (row = 0; row < mb_algo_count; row++) {
		char test[32];
		struct digest_list seen = { 0 };
		struct trace t;
		size_t missing = 0, repeated;
		uint64_t first_missing = 0, d;

		algo = mb_algos[row].id;
		snprintf(test, sizeof(test), "known-%s", mb_algo_name(algo));
		if (set_algo(algo)) {
			fail(test, "expected to set algo=%s, got %s",
			     mb_algo_name(algo), strerror(errno));
			continue;
		}
		if (!load(test, DEV, &t, collect_used, &seen))
			continue;
		if (t.algo != algo) {
			fail(test, "expected a %s trace, got %s",
			     mb_algo_name(algo), mb_algo_name(t.algo));
			continue;
		}
		qsort(seen.v, seen.n, sizeof(*seen.v), cmp_u64);
		for (i = 0; i < k; i++) {
			d = mb_digest_page(algo, mem + i * PAGE);
			if (!count_of(&seen, d) && !missing++)
				first_missing = d;
		}
		d = mb_digest_page(algo, mem + k * PAGE);
		repeated = count_of(&seen, d);
		if (count_of(&seen, absent[algo]))
			fail(test, "expected the control digest 0x%llx (a page no longer in memory) to be absent, got it %zu times",
			     (unsigned long long)absent[algo],
			     count_of(&seen, absent[algo]));
		else if (missing)
			fail(test, "expected all %zu distinct digests in the trace, got %zu missing (first 0x%llx)",
			     k, missing, (unsigned long long)first_missing);
		else if (repeated < m)
			fail(test, "expected the repeated digest 0x%llx at least %zu times, got %zu",
			     (unsigned long long)d, m, repeated);
		else
			pass(test, "%zu distinct digests found, repeated digest seen %zu times (>= %zu), control absent, %llu used pages",
			     k, repeated, m, (unsigned long long)t.used);
		free(seen.v);
		free(t.data);
	}
	set_algo(MB_ALGO_SUPERFAST);
	return failures ? 1 : 0;
}

/* ---- test 2: every online page of every node ---- */

struct span {
	int node;
	uint64_t start, end;
};

/* Zone spans from /proc/zoneinfo ("Node N, zone X", "spanned", "start_pfn"). */
static int zone_spans(struct span *s, int max, uint64_t *present)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	int n = 0, node = -1;
	unsigned long long v, spanned = 0;

	*present = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone", &node) == 1)
			spanned = 0;
		else if (sscanf(line, " spanned %llu", &v) == 1)
			spanned = v;
		else if (sscanf(line, " present %llu", &v) == 1)
			*present += v;
		else if (sscanf(line, " start_pfn: %llu", &v) == 1 &&
			 spanned && n < max) {
			s[n].node = node;
			s[n].start = v;
			s[n].end = v + spanned;
			n++;
		}
	}
	fclose(f);
	return n;
}

struct node_hits {
	struct span *spans;
	int n;
	uint64_t hits[64];
	uint64_t outside;
};

static void count_nodes(void *ctx, uint64_t pfn, bool is_free,
			uint64_t digest)
{
	struct node_hits *h = ctx;
	int i;

	(void)is_free;
	(void)digest;
	for (i = 0; i < h->n; i++) {
		if (pfn >= h->spans[i].start && pfn < h->spans[i].end) {
			h->hits[h->spans[i].node & 63]++;
			return;
		}
	}
	h->outside++;
}

static int cmd_whole(void)
{
	struct span spans[64];
	struct node_hits hits = { .spans = spans };
	uint64_t present, expected = 0, online_blocks = 0;
	struct trace t;
	int i, nodes = 0;
	long long block;
	char path[128];

	hits.n = zone_spans(spans, 64, &present);
	if (hits.n <= 0) {
		fail("whole", "expected zones in /proc/zoneinfo, got none");
		return 1;
	}
	for (i = 0; i < hits.n; i++)
		expected += spans[i].end - spans[i].start;
	if (!load("whole", DEV, &t, count_nodes, &hits))
		return 1;
	print_trace("MT-TRACE", &t);

	/* Online memory blocks, as the memory hotplug interface sees them. */
	block = 0;
	{
		FILE *f = fopen("/sys/devices/system/memory/block_size_bytes",
				"r");

		if (f) {
			if (fscanf(f, "%llx", &block) != 1)
				block = 0;
			fclose(f);
		}
	}
	for (i = 0; i < 4096 && block > 0; i++) {
		char state[32] = "";
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/devices/system/memory/memory%d/state", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(state, sizeof(state), f) && !strncmp(state, "online", 6))
			online_blocks++;
		fclose(f);
	}

	if (t.pages != expected)
		fail("whole-count", "expected %llu records (sum of zone spans), got %llu",
		     (unsigned long long)expected, (unsigned long long)t.pages);
	else
		pass("whole-count", "%llu records = sum of zone spans; present %llu; online blocks hold %llu pages",
		     (unsigned long long)t.pages, (unsigned long long)present,
		     (unsigned long long)(online_blocks * block / PAGE));
	if (t.pages < present ||
	    (block > 0 && t.pages > online_blocks * block / PAGE))
		fail("whole-bounds", "expected present (%llu) <= records (%llu) <= online block pages (%llu)",
		     (unsigned long long)present, (unsigned long long)t.pages,
		     (unsigned long long)(online_blocks * block / PAGE));
	else
		pass("whole-bounds", "present %llu <= %llu <= online block pages %llu",
		     (unsigned long long)present, (unsigned long long)t.pages,
		     (unsigned long long)(online_blocks * block / PAGE));
	if (t.used + t.free != t.pages || t.used == 0 || t.free == 0)
		fail("whole-used-free", "expected used + free = %llu with both > 0, got %llu + %llu",
		     (unsigned long long)t.pages, (unsigned long long)t.used,
		     (unsigned long long)t.free);
	else
		pass("whole-used-free", "used %llu + free %llu = %llu",
		     (unsigned long long)t.used, (unsigned long long)t.free,
		     (unsigned long long)t.pages);
	if (read_number(STATS "last_pages") != (long long)t.pages ||
	    read_number(STATS "last_used") != (long long)t.used ||
	    read_number(STATS "last_free") != (long long)t.free)
		fail("whole-sysfs", "expected sysfs last_pages/used/free %llu/%llu/%llu, got %lld/%lld/%lld",
		     (unsigned long long)t.pages, (unsigned long long)t.used,
		     (unsigned long long)t.free,
		     read_number(STATS "last_pages"),
		     read_number(STATS "last_used"),
		     read_number(STATS "last_free"));
	else
		pass("whole-sysfs", "sysfs agrees with the trailer, scan %lld ns",
		     read_number(STATS "last_scan_ns"));
	for (i = 0; i < 64; i++) {
		int j, has = 0;

		for (j = 0; j < hits.n; j++)
			has |= spans[j].node == i;
		if (!has)
			continue;
		nodes++;
		if (hits.hits[i] == 0)
			fail("whole-nodes", "expected records in node %d, got none", i);
		else
			printf("MT-NODE %d records=%llu\n", i,
			       (unsigned long long)hits.hits[i]);
	}
	if (hits.outside)
		fail("whole-nodes", "expected every record inside a zone span, got %llu outside",
		     (unsigned long long)hits.outside);
	else
		pass("whole-nodes", "%d node(s), all covered, no record outside a zone", nodes);
	return failures ? 1 : 0;
}

/* ---- test 3: churn and stress ---- */

static int cmd_churn(int argc, char **argv)
{
	uint64_t until = now_ns() + (argc ? atoll(argv[0]) : 10) * 1000000000ull;
	uint64_t seed = now_ns() | 1, rounds = 0;

	while (now_ns() < until) {
		size_t len = (1 + xorshift(&seed) % 16) << 20;
		uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t i;

		if (p == MAP_FAILED)
			continue;
		if (xorshift(&seed) & 1)
			madvise(p, len, MADV_HUGEPAGE);
		for (i = 0; i < len; i += PAGE)
			p[i] = (uint8_t)xorshift(&seed);
		if (xorshift(&seed) & 1)
			madvise(p, len / 2, MADV_DONTNEED);
		munmap(p, len);
		free(malloc(1 + xorshift(&seed) % (256 << 10)));
		rounds++;
	}
	printf("MT-CHURN rounds=%llu\n", (unsigned long long)rounds);
	return 0;
}

/*
 * SCANS scans, cycling through the algorithms and hash_free 0/1. With
 * "eagain", a scan may fail with EAGAIN (memory was hot(un)plugged during
 * it); it must never produce an invalid trace.
 */
static int cmd_stress(int argc, char **argv)
{
	int scans = argc ? atoi(argv[0]) : 20, i, ok = 0, again = 0;
	bool allow_again = argc > 1 && !strcmp(argv[1], "eagain");
	const char *test = allow_again ? "stress-hotplug" : "stress";
	uint64_t start = now_ns(), min = UINT64_MAX, max = 0;
	long long thp = 0;
	char why[256];

	for (i = 0; i < scans; i++) {
		struct trace t = { 0 };
		int err;

		set_algo(mb_algos[i % mb_algo_count].id);
		write_file(PARAM "hash_free", i % 2 ? "1" : "0");
		if (meminfo_kib("AnonHugePages") > thp)
			thp = meminfo_kib("AnonHugePages");
		err = slurp(DEV, &t);
		if (err == -EAGAIN && allow_again) {
			again++;
		} else if (err) {
			fail(test, "expected a trace, got error %s",
			     strerror(-err));
		} else if (!validate(&t, NULL, NULL, why, sizeof(why))) {
			fail(test, "expected a valid trace, got: %s", why);
		} else {
			ok++;
			min = t.pages < min ? t.pages : min;
			max = t.pages > max ? t.pages : max;
		}
		free(t.data);
	}
	set_algo(MB_ALGO_SUPERFAST);
	write_file(PARAM "hash_free", "0");
	/*
	 * Under hotplug any mix of valid traces and EAGAIN is right (the
	 * offline/online results before this are checked exactly).
	 */
	if (ok + again == scans && (ok > 0 || allow_again))
		pass(test, "%d scans: %d valid traces (%llu..%llu pages), %d EAGAIN, none invalid (%.1f s, up to %lld KiB THP)",
		     scans, ok, (unsigned long long)min,
		     (unsigned long long)max, again,
		     (now_ns() - start) / 1e9, thp);
	else
		fail(test, "expected %d valid traces%s, got %d valid, %d EAGAIN",
		     scans, allow_again ? " or EAGAIN" : "", ok, again);
	return ok + again == scans ? 0 : 1;
}

/* ---- test 4 helpers: exclusive open and CAP_SYS_ADMIN ---- */

static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].permitted &= ~(1u << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data);
}

static int cmd_busy(void)
{
	int fd = open(DEV, O_RDONLY), fd2, err, status;
	pid_t pid;
	char c;

	if (fd < 0) {
		fail("busy", "expected to open %s, got %s", DEV, strerror(errno));
		return 1;
	}
	fd2 = open(DEV, O_RDONLY);
	err = errno;
	if (fd2 >= 0 || err != EBUSY)
		fail("busy-second-open", "expected EBUSY, got %s",
		     fd2 >= 0 ? "success" : strerror(err));
	else
		pass("busy-second-open", "second open while open: EBUSY");
	if (fd2 >= 0)
		close(fd2);
	/* Reading one byte at a time still yields the magic's first byte. */
	if (read(fd, &c, 1) != 1 || (uint8_t)c != 0x89)
		fail("busy-read", "expected byte 0x89, got %s", strerror(errno));
	else
		pass("busy-read", "first byte 0x89");
	if (lseek(fd, 10, SEEK_SET) != -1 || errno != ESPIPE)
		fail("busy-seek", "expected ESPIPE for a seek to 10, got %s",
		     strerror(errno));
	else
		pass("busy-seek", "seek inside the stream: ESPIPE");
	close(fd);

	fd = open(DEV, O_RDWR);
	if (fd >= 0 || errno != EINVAL)
		fail("busy-write-open", "expected EINVAL for O_RDWR, got %s",
		     fd >= 0 ? "success" : strerror(errno));
	else
		pass("busy-write-open", "O_RDWR: EINVAL");
	if (fd >= 0)
		close(fd);

	pid = fork();
	if (pid == 0) {
		if (drop_sys_admin())
			_exit(3);
		fd = open(DEV, O_RDONLY);
		_exit(fd < 0 && errno == EPERM ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("busy-cap", "expected EPERM for root without CAP_SYS_ADMIN, got exit status %d",
		     WEXITSTATUS(status));
	else
		pass("busy-cap", "root without CAP_SYS_ADMIN: EPERM");
	return failures ? 1 : 0;
}

/*
 * Two processes reading one open file at once (fork shares it): the
 * module serializes them; afterwards the device still gives valid traces.
 */
static int cmd_shared(void)
{
	static char buf[4096];
	int fd = open(DEV, O_RDONLY), status, i, reads = 0;
	struct trace t;
	pid_t pid;

	if (fd < 0) {
		fail("busy-shared-fd", "expected to open %s, got %s", DEV,
		     strerror(errno));
		return 1;
	}
	pid = fork();
	for (i = 0; i < 3000; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			reads++;
		else
			lseek(fd, 0, SEEK_SET);
	}
	if (pid == 0)
		_exit(0);
	waitpid(pid, &status, 0);
	close(fd);
	if (load("busy-shared-fd", DEV, &t, NULL, NULL)) {
		pass("busy-shared-fd", "two processes read one open file concurrently (%d reads returned data here); a scan afterwards is valid",
		     reads);
		free(t.data);
	}
	return failures ? 1 : 0;
}

static int cmd_hold_open(int argc, char **argv)
{
	int fd = open(DEV, O_RDONLY);

	if (fd < 0) {
		perror("mtguest: " DEV);
		return 1;
	}
	printf("MT-HOLDING\n");
	fflush(stdout);
	sleep(argc ? atoi(argv[0]) : 30);
	close(fd);
	return 0;
}

/* ---- test 6: SIMD against scalar in the module ---- */

struct record {
	uint64_t pfn, digest;
	bool is_free;
};

struct records {
	struct record *v;
	size_t n, cap;
};

static void collect_all(void *ctx, uint64_t pfn, bool is_free,
			uint64_t digest)
{
	struct records *r = ctx;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 65536;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v) {
			perror("mtguest: realloc");
			exit(2);
		}
	}
	r->v[r->n++] = (struct record){ pfn, digest, is_free };
}

/* The record of @pfn (records come in increasing PFN order), or NULL. */
static const struct record *record_of(const struct records *r, uint64_t pfn)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].pfn < pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->v[lo].pfn == pfn ? &r->v[lo] : NULL;
}

/*
 * What the guest's CPU offers, from the kernel's flags in /proc/cpuinfo,
 * into @seen ("avx2=1 avx512f=0 ..."), and the implementation the module
 * should choose with simd=auto: "avx512", "avx2" or "scalar".
 */
static const char *cpu_impl(char *seen, size_t len)
{
	static const char *const flags[] = { "avx", "avx2", "avx512f",
					     "avx512bw", "avx512dq", "avx512vl" };
	bool has[6] = { false };
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192], *tok, *save;
	size_t i, off = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) || !strchr(line, ':'))
			continue;
		for (tok = strtok_r(strchr(line, ':') + 1, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			for (i = 0; i < 6; i++)
				if (!strcmp(tok, flags[i]))
					has[i] = true;
		break;
	}
	if (f)
		fclose(f);
	for (i = 0; i < 6; i++)
		off += snprintf(seen + off, len - off, "%s%s=%d", i ? " " : "",
				flags[i], has[i]);
	if (has[2] && has[3] && has[4] && has[5] && has[1])
		return "avx512";
	return has[0] && has[1] ? "avx2" : "scalar";
}

/* /proc/kpageflags of @pfn, in a few words, into @buf. */
static void page_kind(uint64_t pfn, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} bits[] = { { 7, "slab" }, { 12, "anon" }, { 5, "lru" },
		     { 10, "buddy" }, { 15, "compound" }, { 17, "thp" },
		     { 32, "reserved" }, { 23, "zero" }, { 6, "active" } };
	int fd = open("/proc/kpageflags", O_RDONLY);
	uint64_t f = 0;
	size_t i, off = 0;

	buf[0] = 0;
	if (fd < 0 || pread(fd, &f, 8, (off_t)(pfn * 8)) != 8) {
		snprintf(buf, len, "?");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]) && off < len; i++)
		if (f >> bits[i].bit & 1)
			off += snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", bits[i].name);
	if (!off)
		snprintf(buf, len, "kernel");
}

/* PFN of the page at @addr from /proc/self/pagemap, or 0. */
static uint64_t pfn_of(int pagemap, const void *addr)
{
	uint64_t e;

	if (pread(pagemap, &e, 8, (off_t)((uintptr_t)addr / PAGE * 8)) != 8 ||
	    !(e >> 63))
		return 0;
	return e & ((1ULL << 55) - 1);
}

/*
 * Test 6: for every algorithm, four scans of the same memory, SIMD
 * (simd=auto), scalar (simd=off), SIMD, scalar:
 *   simd-impl-A   the SIMD scans used what the CPU offers, with no batch
 *                 falling back to scalar, the scalar scans scalar;
 *   simd-known-A  each of K random pages (locked, not huge pages, so their
 *                 frames scatter among the kernel's and share batches with
 *                 them) has the same digest in all four scans, equal to
 *                 user space's scalar digest and to its batch API's;
 *   simd-check-A  a fifth scan with simd_check=1, in which the module
 *                 copies each batch's pages and digests the copies with
 *                 the SIMD variant and with the scalar code: every used
 *                 page of the guest, no difference allowed;
 *   simd-whole-A  the four traces: pages used in all four whose digest
 *                 stayed the same from one SIMD scan to the other and from
 *                 one scalar scan to the other, compared across the pairs.
 *                 Some memory differs with the setting itself (the sysfs
 *                 write of "auto" or "off" left in a freed slab object,
 *                 per-cpu FPU bookkeeping, the FPU state saved for this
 *                 process), without any fault of the digests: the line
 *                 lists such pages with their /proc/kpageflags, and fails
 *                 beyond 1 in 200 (a fault of a variant would show on a
 *                 lane's share of all pages, 1 in 16 or more).
 */
static int cmd_simd(int argc, char **argv)
{
	char seen[256], test[64];
	const char *want;
	uint64_t seed = now_ns() | 1, *pfn, *batch;
	const void **pages;
	size_t k, i, row;
	uint8_t *mem;
	int pagemap;

	if (argc < 1)
		return 2;
	k = strtoul(argv[0], NULL, 0);
	want = cpu_impl(seen, sizeof(seen));
	pass("simd-cpu", "guest CPU flags: %s; the module should use %s",
	     seen, want);
	mem = mmap(NULL, k * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pfn = calloc(k, sizeof(*pfn));
	batch = calloc(k, sizeof(*batch));
	pages = calloc(k, sizeof(*pages));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (mem == MAP_FAILED || !pfn || !batch || !pages || pagemap < 0 ||
	    madvise(mem, k * PAGE, MADV_NOHUGEPAGE) || mlock(mem, k * PAGE)) {
		fail("simd-known", "expected %zu locked pages and their PFNs, got %s",
		     k, strerror(errno));
		return 1;
	}
	for (i = 0; i < k; i++) {
		fill_random(mem + i * PAGE, PAGE, &seed);
		memcpy(mem + i * PAGE, &i, sizeof(i));
		pages[i] = mem + i * PAGE;
		pfn[i] = pfn_of(pagemap, mem + i * PAGE);
		if (!pfn[i]) {
			fail("simd-known", "expected a PFN for page %zu in /proc/self/pagemap, got none",
			     i);
			return 1;
		}
	}
	close(pagemap);

	for (row = 0; row < mb_algo_count; row++) {
		int algo = mb_algos[row].id, scan;
		struct records r[4] = { { 0 } };
		char got[4][64];
		long long fallbacks[4];
		size_t bad = 0, first_bad = 0, both = 0, stable = 0, differ = 0;
		char list[512] = "";
		bool ok = true;

		set_algo(algo);
		for (scan = 0; scan < 4; scan++) {
			struct trace t;

			snprintf(test, sizeof(test), "simd-impl-%s",
				 mb_algo_name(algo));
			set_simd(scan % 2 == 0);
			if (!load(test, DEV, &t, collect_all, &r[scan])) {
				ok = false;
				break;
			}
			free(t.data);
			read_word(STATS "last_impl", got[scan], sizeof(got[scan]));
			fallbacks[scan] = read_number(STATS "last_scalar_batches");
		}
		if (!ok)
			continue;
		if (strcmp(got[0], want) || strcmp(got[2], want) ||
		    strcmp(got[1], "scalar") || strcmp(got[3], "scalar") ||
		    fallbacks[0] || fallbacks[2])
			fail(test, "expected simd=auto scans to use %s and simd=off ones scalar, no fallback, got %s, %s, %s, %s (fallback batches %lld, %lld)",
			     want, got[0], got[1], got[2], got[3], fallbacks[0],
			     fallbacks[2]);
		else
			pass(test, "simd=auto scans used %s, simd=off scans scalar, no batch fell back",
			     got[0]);

		/* The known pages, against user space's digests. */
		snprintf(test, sizeof(test), "simd-known-%s", mb_algo_name(algo));
		mb_digest_pages(algo, pages, k, batch);
		for (i = 0; i < k; i++) {
			uint64_t d = mb_digest_page(algo, pages[i]);
			const struct record *rec[4];

			for (scan = 0; scan < 4; scan++)
				rec[scan] = record_of(&r[scan], pfn[i]);
			if (!rec[0] || !rec[1] || !rec[2] || !rec[3] ||
			    rec[0]->digest != d || rec[1]->digest != d ||
			    rec[2]->digest != d || rec[3]->digest != d ||
			    batch[i] != d) {
				if (!bad++)
					first_bad = i;
			}
		}
		if (bad)
			fail(test, "expected %zu pages with equal digests in the SIMD and scalar scans and in user space, got %zu different (first: page %zu, pfn %llu)",
			     k, bad, first_bad, (unsigned long long)pfn[first_bad]);
		else
			pass(test, "%zu pages: the %s and scalar scans, user space's scalar code and its batch API (%s) agree",
			     k, want, mb_impl_name(mb_impl_best(algo)));

		/* The module's own check: SIMD and scalar on the same bytes. */
		snprintf(test, sizeof(test), "simd-check-%s", mb_algo_name(algo));
		set_simd(true);
		write_file(PARAM "simd_check", "1");
		{
			struct trace t;

			if (load(test, DEV, &t, NULL, NULL)) {
				long long checked = read_number(STATS "last_simd_checked");
				long long wrong = read_number(STATS "last_simd_mismatches");

				if (strcmp(want, "scalar") && (checked < (long long)t.used || wrong))
					fail(test, "expected all %llu used pages digested by both %s and scalar code alike, got %lld checked, %lld different",
					     (unsigned long long)t.used, want, checked, wrong);
				else
					pass(test, "%lld pages copied and digested by %s and by the scalar code: %lld different",
					     checked, want, wrong);
				free(t.data);
			}
		}
		write_file(PARAM "simd_check", "0");

		/* Every page used in all four. */
		snprintf(test, sizeof(test), "simd-whole-%s", mb_algo_name(algo));
		bad = 0;
		if (r[0].n != r[1].n || r[0].n != r[2].n || r[0].n != r[3].n) {
			fail(test, "expected four scans of the same records, got %zu, %zu, %zu, %zu",
			     r[0].n, r[1].n, r[2].n, r[3].n);
		} else {
			for (i = 0; i < r[0].n; i++) {
				const struct record *a = &r[0].v[i], *b = &r[1].v[i];
				const struct record *c = &r[2].v[i], *d = &r[3].v[i];

				if (a->pfn != b->pfn || a->pfn != c->pfn ||
				    a->pfn != d->pfn) {
					bad++;
					continue;
				}
				if (a->is_free || b->is_free || c->is_free ||
				    d->is_free)
					continue;
				both++;
				if (a->digest != c->digest || b->digest != d->digest)
					continue;
				stable++;
				if (a->digest != b->digest) {
					char kind[64];

					if (differ++ < 6) {
						page_kind(a->pfn, kind, sizeof(kind));
						snprintf(list + strlen(list),
							 sizeof(list) - strlen(list),
							 " %llu:%s",
							 (unsigned long long)a->pfn,
							 kind);
					}
				}
			}
			if (bad || differ * 200 > stable)
				fail(test, "expected SIMD == scalar on all but 1 in 200 of the %zu pages stable across the scans, got %zu differing (pfn:kind%s), %zu records out of PFN step",
				     stable, differ, list, bad);
			else
				pass(test, "%zu pages used in all four scans, %zu stable across them: SIMD == scalar on all but %zu (pfn:kind%s), %zu changed between scans",
				     both, stable, differ, differ ? list : " none",
				     both - stable);
		}
		for (scan = 0; scan < 4; scan++)
			free(r[scan].v);
	}
	set_simd(true);
	set_algo(MB_ALGO_SUPERFAST);
	munmap(mem, k * PAGE);
	free(pfn);
	free(batch);
	free(pages);
	return failures ? 1 : 0;
}

/* ---- test 7: keyed scans ---- */

/* One scan of the open @fd from its start, its records into @r. */
static bool scan_fd(const char *test, int fd, struct trace *t,
		    struct records *r)
{
	if (lseek(fd, 0, SEEK_SET) != 0) {
		fail(test, "expected to rewind %s, got %s", DEV,
		     strerror(errno));
		return false;
	}
	return load_from(test, DEV, fd, t, r ? collect_all : NULL, r);
}

/* Whether @path's text holds @needle (the seed in sysfs: it must not). */
static bool file_holds(const char *path, const char *needle)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, needle) != NULL;
}

static int cmd_keyed(int argc, char **argv)
{
	static const char *const sysfs[] = {
		PARAM "algo", PARAM "simd", PARAM "hash_free",
		PARAM "simd_check", STATS "last_key_id", STATS "last_algo",
		STATS "last_impl", STATS "scans",
	};
	uint64_t seed, prng = now_ns() | 1, *pfn;
	struct memtrace_key key = { .key_id = 0x6b657931 }, bad;
	struct records plain = { 0 }, simd = { 0 }, scalar = { 0 };
	char seen[256], hex[17], word[64];
	const char *want;
	struct trace t;
	size_t k, i, wrong = 0, found_plain = 0;
	uint8_t *mem;
	int pagemap, fd, fd2, e[4];

	if (argc < 1)
		return 2;
	k = strtoul(argv[0], NULL, 0);
	want = cpu_impl(seen, sizeof(seen));
	seed = xorshift(&prng) * 0x9e3779b97f4a7c15ULL;
	key.seed = seed;
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)seed);
	mem = mmap(NULL, k * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pfn = calloc(k, sizeof(*pfn));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (mem == MAP_FAILED || !pfn || pagemap < 0 ||
	    madvise(mem, k * PAGE, MADV_NOHUGEPAGE) || mlock(mem, k * PAGE)) {
		fail("keyed-known", "expected %zu locked pages and their PFNs, got %s",
		     k, strerror(errno));
		return 1;
	}
	for (i = 0; i < k; i++) {
		fill_random(mem + i * PAGE, PAGE, &prng);
		memcpy(mem + i * PAGE, &i, sizeof(i));
		pfn[i] = pfn_of(pagemap, mem + i * PAGE);
	}
	close(pagemap);

	/* superfast is asked for: a keyed scan is xxh64 all the same. */
	set_algo(MB_ALGO_SUPERFAST);
	set_simd(true);
	fd = open(DEV, O_RDONLY);
	if (fd < 0 || ioctl(fd, MEMTRACE_IOC_SET_KEY, &key)) {
		fail("keyed-known", "expected %s to take a key, got %s", DEV,
		     strerror(errno));
		return 1;
	}
	if (!scan_fd("keyed-known", fd, &t, &simd))
		return 1;
	if (t.algo != MB_ALGO_XXH64 || !(t.flags & MBT_FLAG_KEYED) ||
	    t.key_id != key.key_id)
		fail("keyed-algo", "expected an xxh64 trace with KEYED and key id %08x (algo=superfast notwithstanding), got %s, flags 0x%x, key id %08x",
		     key.key_id, mb_algo_name(t.algo), t.flags, t.key_id);
	else
		pass("keyed-algo", "algo=superfast, the keyed scan is xxh64 with KEYED and key id %08x",
		     t.key_id);
	free(t.data);
	read_word(STATS "last_impl", word, sizeof(word));
	for (i = 0; i < k; i++) {
		const struct record *r = record_of(&simd, pfn[i]);

		if (!r || r->digest != mb_digest_keyed(seed, mem + i * PAGE,
							PAGE))
			wrong++;
	}
	if (wrong || strcmp(word, want))
		fail("keyed-known", "expected the %zu pages' keyed digests (user space's) from a %s scan, got %zu wrong from a %s scan",
		     k, want, wrong, word);
	else
		pass("keyed-known", "%zu pages: the module's keyed digests (%s) equal user space's xxh64 under the seed",
		     k, word);

	/* The same pages plain: their digests are nowhere in the keyed trace. */
	{
		uint64_t *pd = malloc(k * sizeof(*pd));

		for (i = 0; i < k; i++)
			pd[i] = mb_digest_page(MB_ALGO_XXH64, mem + i * PAGE);
		qsort(pd, k, sizeof(*pd), cmp_u64);
		for (i = 0; i < simd.n; i++)
			if (bsearch(&simd.v[i].digest, pd, k, sizeof(*pd),
				    cmp_u64))
				found_plain++;
		free(pd);
	}
	if (found_plain)
		fail("keyed-plain", "expected none of the %zu pages' plain xxh64 digests in the keyed trace, got %zu",
		     k, found_plain);
	else
		pass("keyed-plain", "none of the %zu pages' plain xxh64 digests is in the keyed trace of %zu pages",
		     k, simd.n);

	/* Scalar keyed scan of the same file: the same digests. */
	set_simd(false);
	if (scan_fd("keyed-simd", fd, &t, &scalar)) {
		read_word(STATS "last_impl", word, sizeof(word));
		free(t.data);
		for (i = 0, wrong = 0; i < k; i++) {
			const struct record *a = record_of(&simd, pfn[i]);
			const struct record *b = record_of(&scalar, pfn[i]);

			if (!a || !b || a->digest != b->digest)
				wrong++;
		}
		if (wrong || strcmp(word, "scalar"))
			fail("keyed-simd", "expected the scalar keyed scan to give the %s scan's digests of the %zu pages, got %zu different (%s)",
			     want, k, wrong, word);
		else
			pass("keyed-simd", "%zu pages: the %s and scalar keyed scans agree",
			     k, want);
	}
	set_simd(true);

	/* The module's own check of every page, SIMD against scalar. */
	write_file(PARAM "simd_check", "1");
	if (scan_fd("keyed-check", fd, &t, NULL)) {
		long long checked = read_number(STATS "last_simd_checked");
		long long diff = read_number(STATS "last_simd_mismatches");

		if ((strcmp(want, "scalar") && checked < (long long)t.used) ||
		    diff || !t.key_id)
			fail("keyed-check", "expected all %llu used pages digested keyed by %s and by the scalar code alike, got %lld checked, %lld different",
			     (unsigned long long)t.used, want, checked, diff);
		else
			pass("keyed-check", "%lld pages copied and digested keyed by %s and by the scalar code: %lld different",
			     checked, want, diff);
		free(t.data);
	}
	write_file(PARAM "simd_check", "0");

	/* The seed is nowhere to read; the key id is. */
	read_word(STATS "last_key_id", word, sizeof(word));
	for (i = 0, wrong = 0; i < sizeof(sysfs) / sizeof(sysfs[0]); i++)
		wrong += file_holds(sysfs[i], hex);
	if (wrong || strtoul(word, NULL, 16) != key.key_id)
		fail("keyed-sysfs", "expected last_key_id %08x and the seed in no sysfs file, got '%s' and the seed in %zu",
		     key.key_id, word, wrong);
	else
		pass("keyed-sysfs", "last_key_id says %s; the seed is in none of the module's %zu sysfs files",
		     word, sizeof(sysfs) / sizeof(sysfs[0]));

	/* Bad keys are refused. */
	bad = key;
	bad.key_id = 0;
	e[0] = ioctl(fd, MEMTRACE_IOC_SET_KEY, &bad) ? errno : 0;
	bad = key;
	bad.reserved = 1;
	e[1] = ioctl(fd, MEMTRACE_IOC_SET_KEY, &bad) ? errno : 0;
	e[2] = ioctl(fd, MEMTRACE_IOC_SET_KEY, (void *)16) ? errno : 0;
	e[3] = ioctl(fd, _IO(MEMTRACE_IOC_MAGIC, 99)) ? errno : 0;
	if (e[0] != EINVAL || e[1] != EINVAL || e[2] != EFAULT ||
	    e[3] != ENOTTY)
		fail("keyed-errors", "expected EINVAL (key id 0), EINVAL (reserved), EFAULT (bad pointer), ENOTTY (unknown ioctl), got %s, %s, %s, %s",
		     strerror(e[0]), strerror(e[1]), strerror(e[2]),
		     strerror(e[3]));
	else
		pass("keyed-errors", "key id 0 and a reserved field refused (EINVAL), a bad pointer EFAULT, an unknown ioctl ENOTTY");

	/* CLEAR_KEY: the next scan of the file is plain again. */
	if (ioctl(fd, MEMTRACE_IOC_CLEAR_KEY))
		fail("keyed-clear", "expected CLEAR_KEY to work, got %s",
		     strerror(errno));
	else if (scan_fd("keyed-clear", fd, &t, NULL)) {
		if (t.key_id || t.algo != MB_ALGO_SUPERFAST)
			fail("keyed-clear", "expected a plain superfast trace after CLEAR_KEY, got %s with key id %08x",
			     mb_algo_name(t.algo), t.key_id);
		else
			pass("keyed-clear", "after CLEAR_KEY the file's scan is plain superfast again");
		free(t.data);
	}

	/* A key belongs to its open file: closed, it is gone. */
	ioctl(fd, MEMTRACE_IOC_SET_KEY, &key);
	close(fd);
	set_algo(MB_ALGO_XXH64);
	fd2 = open(DEV, O_RDONLY);
	if (fd2 < 0) {
		fail("keyed-close", "expected to open %s again, got %s", DEV,
		     strerror(errno));
	} else if (scan_fd("keyed-close", fd2, &t, &plain)) {
		for (i = 0, wrong = 0; i < k; i++) {
			const struct record *r = record_of(&plain, pfn[i]);

			if (!r || r->digest != mb_digest_page(MB_ALGO_XXH64,
							      mem + i * PAGE))
				wrong++;
		}
		if (t.key_id || wrong)
			fail("keyed-close", "expected a plain xxh64 scan from a new open file (its %zu pages' plain digests), got key id %08x, %zu pages wrong",
			     k, t.key_id, wrong);
		else
			pass("keyed-close", "a file opened after the keyed one was closed scans plain: the %zu pages' plain xxh64 digests",
			     k);
		free(t.data);
	}
	if (fd2 >= 0)
		close(fd2);
	explicit_bzero(&key, sizeof(key));
	set_algo(MB_ALGO_SUPERFAST);
	free(plain.v);
	free(simd.v);
	free(scalar.v);
	free(pfn);
	munmap(mem, k * PAGE);
	return failures ? 1 : 0;
}

/* ---- workloads for the captured traces ---- */

static int cmd_fill(int argc, char **argv)
{
	size_t len = (size_t)(argc ? atoll(argv[0]) : 64) << 20;
	uint64_t seed = now_ns() | 1;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mtguest: mmap");
		return 1;
	}
	fill_random(p, len, &seed);
	printf("MT-FILLED %zu MiB\n", len >> 20);
	fflush(stdout);
	pause();
	return 0;
}

static int cmd_drift(int argc, char **argv)
{
	size_t len = (size_t)(argc > 0 ? atoll(argv[0]) : 32) << 20;
	unsigned int pct = argc > 1 ? atoi(argv[1]) : 5;
	unsigned int period = argc > 2 ? atoi(argv[2]) : 10;
	size_t pages = len / PAGE, i;
	uint64_t seed = now_ns() | 1;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mtguest: mmap");
		return 1;
	}
	fill_random(p, len, &seed);
	printf("MT-DRIFT %zu MiB, %u%% every %u s\n", len >> 20, pct, period);
	fflush(stdout);
	for (;;) {
		sleep(period);
		for (i = 0; i < pages * pct / 100; i++)
			fill_random(p + (xorshift(&seed) % pages) * PAGE, PAGE,
				    &seed);
	}
	return 0;
}

/* ---- benchmark ---- */

static long long meminfo_kib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long v = -1;
	size_t n = strlen(key);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = atoll(line + n + 1);
	if (f)
		fclose(f);
	return v;
}

/*
 * User-space pages/s hashing @pages pages of @buf: one at a time with the
 * scalar code, or in batches of 64 through mb_digest_pages() (the
 * fastest implementation of this CPU).
 */
static double user_rate(int algo, bool batch, const uint8_t *buf,
			size_t len, uint64_t pages, uint64_t *sink)
{
	uint64_t i, j, start = now_ns(), d[64];
	const void *p[64];

	for (i = 0; i < pages && !batch; i++)
		*sink += mb_digest_page(algo, buf + (i * PAGE) % len);
	for (i = 0; i < pages && batch; i += 64) {
		for (j = 0; j < 64; j++)
			p[j] = buf + ((i + j) * PAGE) % len;
		mb_digest_pages(algo, p, 64, d);
		*sink += d[0] + d[63];
	}
	return pages / ((now_ns() - start) / 1e9);
}

/*
 * Module pages/s: the pages it hashed (used pages, or all with
 * hash_free=1) over the wall time of reading the whole trace, with
 * simd=auto or simd=off.
 */
static double module_rate(int algo, bool all, bool simd, uint64_t *hashed)
{
	struct trace t;

	set_algo(algo);
	set_simd(simd);
	write_file(PARAM "hash_free", all ? "1" : "0");
	if (!load("bench", DEV, &t, NULL, NULL))
		return 0;
	*hashed = all ? t.pages : t.used;
	free(t.data);
	return *hashed / (t.read_ns / 1e9);
}

#define BEST(best, x) do { double _x = (x); if (_x > (best)) (best) = _x; } while (0)

/*
 * Most of the free memory is filled with random data first, so the scan
 * hashes mostly pages of that buffer, and user space hashes the same
 * buffer: same bytes, same caches, same code. Every rate is measured with
 * the scalar code and with the SIMD variants the guest's CPU has.
 */
static int cmd_bench(int argc, char **argv)
{
	long long avail = meminfo_kib("MemAvailable");
	size_t len = (size_t)(avail > 0 ? avail - 48 * 1024 : 65536) << 10;
	uint64_t seed = now_ns() | 1, sink = 0, used = 0, all = 0;
	char seen[256];
	const char *want;
	uint8_t *buf;
	size_t row;

	(void)argc;
	(void)argv;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mtguest: mmap");
		return 1;
	}
	fill_random(buf, len, &seed);
	want = cpu_impl(seen, sizeof(seen));
	printf("MT-BENCH-CPU %s module=%s\n", seen, want);
	for (row = 0; row < mb_algo_count; row++) {
		int algo = mb_algos[row].id;
		double k_scalar = 0, k_simd = 0, k_all = 0, u_scalar = 0,
		       u_simd = 0;
		char impl[64] = "";
		int round;

		/* Best of three, interleaved, against a noisy shared host. */
		for (round = 0; round < 3; round++) {
			BEST(k_scalar, module_rate(algo, false, false, &used));
			BEST(k_simd, module_rate(algo, false, true, &used));
			read_word(STATS "last_impl", impl, sizeof(impl));
			BEST(k_all, module_rate(algo, true, true, &all));
			BEST(u_scalar, user_rate(algo, false, buf, len, used, &sink));
			BEST(u_simd, user_rate(algo, true, buf, len, used, &sink));
		}
		if (k_scalar == 0 || k_simd == 0 || k_all == 0)
			return 1;
		/* 262144 pages make a GiB. */
		printf("MT-BENCH algo=%s impl=%s user_impl=%s buffer_mib=%zu used_pages=%llu all_pages=%llu module_scalar_pages_per_s=%.0f module_simd_pages_per_s=%.0f module_scalar_s_per_gib=%.3f module_simd_s_per_gib=%.3f simd_speedup=%.2f user_scalar_pages_per_s=%.0f user_simd_pages_per_s=%.0f user_simd_speedup=%.2f ratio=%.3f scalar_ratio=%.3f all_pages_per_s=%.0f all_ratio=%.3f\n",
		       mb_algo_name(algo), impl, mb_impl_name(mb_impl_best(algo)),
		       len >> 20, (unsigned long long)used,
		       (unsigned long long)all, k_scalar, k_simd,
		       262144 / k_scalar, 262144 / k_simd, k_simd / k_scalar,
		       u_scalar, u_simd, u_simd / u_scalar, k_simd / u_simd,
		       k_scalar / u_scalar, k_all, k_all / u_simd);
	}
	set_simd(true);
	write_file(PARAM "hash_free", "0");
	set_algo(MB_ALGO_SUPERFAST);
	printf("MT-BENCH-SINK %llx\n", (unsigned long long)sink);
	munmap(buf, len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mtguest parse|known|whole|stress|churn|busy|shared|hold-open|fill|drift|simd|keyed|bench ...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	argc -= 2;
	if (!strcmp(argv[1], "parse"))
		return cmd_parse(argc, argv + 2);
	if (!strcmp(argv[1], "known"))
		return cmd_known(argc, argv + 2);
	if (!strcmp(argv[1], "whole"))
		return cmd_whole();
	if (!strcmp(argv[1], "stress"))
		return cmd_stress(argc, argv + 2);
	if (!strcmp(argv[1], "churn"))
		return cmd_churn(argc, argv + 2);
	if (!strcmp(argv[1], "busy"))
		return cmd_busy();
	if (!strcmp(argv[1], "shared"))
		return cmd_shared();
	if (!strcmp(argv[1], "hold-open"))
		return cmd_hold_open(argc, argv + 2);
	if (!strcmp(argv[1], "fill"))
		return cmd_fill(argc, argv + 2);
	if (!strcmp(argv[1], "drift"))
		return cmd_drift(argc, argv + 2);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc, argv + 2);
	if (!strcmp(argv[1], "simd"))
		return cmd_simd(argc, argv + 2);
	if (!strcmp(argv[1], "keyed"))
		return cmd_keyed(argc, argv + 2);
	fprintf(stderr, "mtguest: unknown command '%s'\n", argv[1]);
	return 2;
}
