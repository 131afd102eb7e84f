// SPDX-License-Identifier: GPL-2.0
/*
 * mbt.c - the .mbt trace reader (a push parser) and writer.
 *
 * Design. The input is a sequence of "units": the 256-byte header, then for
 * each chunk its 16-byte head and its body (bitmap + digests), then the
 * 40-byte trailer. Every unit has a size known before its first byte
 * arrives (the body's from the chunk head, once the head is validated), so
 * the parser copies bytes into one buffer until the unit is complete,
 * validates it whole, hands chunks to the caller, and moves on. Memory is
 * one largest-possible chunk, bounded by chunk_max from the (validated)
 * header: at most 16 + 8 KiB + 512 KiB.
 *
 * Nothing is allocated from an unchecked length: page_count is bounded by
 * MBT_PAGE_COUNT_LIMIT and, when the caller knows the input's size, by
 * what that size can hold; the in-memory loader grows its arrays chunk by
 * chunk as records actually arrive.
 *
 * The xxh64 checksum runs over each unit as it completes (the trailer's
 * last 8 bytes excluded), so it costs one pass over data already in cache.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "atomic_file.h"
#include "mbt.h"

/* ---- little-endian access ---- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_digest(const uint8_t *p, unsigned int size)
{
	return size == 8 ? get64(p) : get32(p);
}

/* ---- shared header helpers ---- */

void mbt_info_init(struct mbt_info *info, int algo)
{
	memset(info, 0, sizeof(*info));
	info->version = MBT_VERSION;
	info->algorithm = (uint8_t)algo;
	info->digest_size = (uint8_t)mb_algo_digest_size(algo);
	info->page_size = MBT_PAGE_SIZE;
	info->chunk_max = 4096;
}

/*
 * The rule of keyed traces: a key id (never 0) exactly when the KEYED flag
 * is set, and the digests xxh64, the one algorithm with a seed. NULL when
 * @flags, @algorithm and @key_id keep it, else what is wrong.
 */
static const char *keyed_problem(uint16_t flags, uint8_t algorithm,
				 uint32_t key_id)
{
	if (!(flags & MBT_FLAG_KEYED))
		return key_id ? "a key id without the KEYED flag" : NULL;
	if (!key_id)
		return "the KEYED flag without a key id";
	if (algorithm != MB_ALGO_XXH64)
		return "the KEYED flag on digests other than xxh64";
	return NULL;
}

/* Check the header fields a writer is given; the parser checks the bytes. */
static int check_info(const struct mbt_info *info, struct mb_err *err)
{
	const char *keyed = keyed_problem(info->flags, info->algorithm,
					  info->key_id);

	if (!mb_algo_find(info->algorithm))
		return mb_errf(err, "unknown algorithm %u", info->algorithm);
	if (info->digest_size != mb_algo_digest_size(info->algorithm))
		return mb_errf(err, "digest size %u does not match %s",
			       info->digest_size,
			       mb_algo_name(info->algorithm));
	if (info->flags & ~MBT_FLAGS_KNOWN)
		return mb_errf(err, "unknown flags 0x%x", info->flags);
	if (keyed)
		return mb_errf(err, "%s", keyed);
	if (info->chunk_max == 0 || info->chunk_max > MBT_CHUNK_MAX_LIMIT)
		return mb_errf(err, "chunk_max %u outside 1..%u",
			       info->chunk_max, MBT_CHUNK_MAX_LIMIT);
	if (info->page_count == 0 || info->page_count > MBT_PAGE_COUNT_LIMIT)
		return mb_errf(err, "page count %" PRIu64 " outside 1..%llu",
			       info->page_count, MBT_PAGE_COUNT_LIMIT);
	if (memchr(info->vm_name, 0, MBT_NAME_LEN) == NULL)
		return mb_errf(err, "vm name longer than %d bytes",
			       MBT_NAME_LEN - 1);
	if (memchr(info->kernel_release, 0, MBT_NAME_LEN) == NULL)
		return mb_errf(err, "kernel release longer than %d bytes",
			       MBT_NAME_LEN - 1);
	return 0;
}

/* Smallest and largest file that can hold @page_count records. */
static uint64_t min_file_size(uint64_t page_count, uint32_t chunk_max,
			      unsigned int ds)
{
	uint64_t chunks = (page_count + chunk_max - 1) / chunk_max;

	return MBT_HEADER_SIZE + MBT_TRAILER_SIZE + page_count * ds +
	       chunks * MBT_CHUNK_HEADER_SIZE + MBT_BITMAP_BYTES(page_count);
}

static uint64_t max_file_size(uint64_t page_count, unsigned int ds)
{
	return MBT_HEADER_SIZE + MBT_TRAILER_SIZE +
	       page_count * (MBT_CHUNK_HEADER_SIZE + MBT_BITMAP_BYTES(1) + ds);
}

/* ---- push parser ---- */

enum parser_state {
	PS_HEADER,
	PS_CHUNK_HEAD,
	PS_CHUNK_BODY,
	PS_TRAILER,
	PS_DONE,
	PS_FAILED,
};

struct mbt_parser {
	const struct mbt_parser_ops *ops;
	void *ctx;
	uint64_t total_size;
	enum parser_state state;
	uint64_t offset;		/* bytes consumed */
	uint64_t unit_start;		/* offset of the current unit */
	size_t unit_len, have;
	uint8_t *buf;
	size_t buf_size;
	struct mbt_info info;
	uint64_t records;		/* records in complete chunks */
	uint64_t next_pfn;		/* first PFN a chunk may start at */
	bool first_chunk;
	uint64_t chunk_pfn;		/* current chunk */
	uint32_t chunk_count;
	uint64_t used, free;
	XXH64_state_t *hash;
	struct mb_err error;
};

struct mbt_parser *mbt_parser_new(const struct mbt_parser_ops *ops, void *ctx,
				  uint64_t total_size)
{
	struct mbt_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ops = ops;
	p->ctx = ctx;
	p->total_size = total_size;
	p->state = PS_HEADER;
	p->unit_len = MBT_HEADER_SIZE;
	p->buf_size = MBT_HEADER_SIZE;
	p->buf = calloc(1, p->buf_size);
	p->hash = XXH64_createState();
	p->first_chunk = true;
	if (!p->buf || !p->hash) {
		mbt_parser_free(p);
		return NULL;
	}
	XXH64_reset(p->hash, 0);
	return p;
}

void mbt_parser_free(struct mbt_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	XXH64_freeState(p->hash);
	free(p);
}

uint64_t mbt_parser_offset(const struct mbt_parser *p)
{
	return p->offset;
}

/* Record an error at byte @at of the input and fail the parser. */
__attribute__((format(printf, 3, 4)))
static int fail_at(struct mbt_parser *p, uint64_t at, const char *fmt, ...)
{
	char reason[MB_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	mb_errf(&p->error, "byte %" PRIu64 ": %s", at, reason);
	p->state = PS_FAILED;
	return -1;
}

static int check_name_field(struct mbt_parser *p, unsigned int off,
			    const char *what, char *out)
{
	const uint8_t *f = p->buf + off;
	const uint8_t *nul = memchr(f, 0, MBT_NAME_LEN);
	size_t i;

	if (!nul)
		return fail_at(p, off, "%s is not NUL-terminated within %d bytes",
			       what, MBT_NAME_LEN);
	for (i = (size_t)(nul - f); i < MBT_NAME_LEN; i++)
		if (f[i])
			return fail_at(p, off + i,
				       "%s has bytes after its terminating NUL",
				       what);
	memcpy(out, f, MBT_NAME_LEN);
	return 0;
}

static int parse_header(struct mbt_parser *p)
{
	struct mbt_info *in = &p->info;
	const uint8_t *b = p->buf;
	const char *keyed;
	uint64_t lo, hi;
	size_t i, need;

	if (memcmp(b, MBT_MAGIC, MBT_MAGIC_LEN))
		return fail_at(p, 0, "bad magic: not an .mbt trace%s",
			       b[0] >= '0' && b[0] <= '9' ?
			       " (it looks like decimal text; the text format"
			       " is read by mb_trace_load)" : "");
	in->version = get16(b + MBT_OFF_VERSION);
	if (in->version != MBT_VERSION)
		return fail_at(p, MBT_OFF_VERSION,
			       "unknown format version %u (this reader knows %d)",
			       in->version, MBT_VERSION);
	if (get16(b + MBT_OFF_HEADER_SIZE) != MBT_HEADER_SIZE)
		return fail_at(p, MBT_OFF_HEADER_SIZE,
			       "header size %u, expected %d",
			       get16(b + MBT_OFF_HEADER_SIZE), MBT_HEADER_SIZE);
	in->algorithm = b[MBT_OFF_ALGORITHM];
	if (!mb_algo_find(in->algorithm))
		return fail_at(p, MBT_OFF_ALGORITHM, "unknown algorithm %u",
			       in->algorithm);
	in->digest_size = b[MBT_OFF_DIGEST_SIZE];
	if (in->digest_size != mb_algo_digest_size(in->algorithm))
		return fail_at(p, MBT_OFF_DIGEST_SIZE,
			       "digest size %u does not match algorithm %s (%d)",
			       in->digest_size, mb_algo_name(in->algorithm),
			       mb_algo_digest_size(in->algorithm));
	in->flags = get16(b + MBT_OFF_FLAGS);
	if (in->flags & ~MBT_FLAGS_KNOWN)
		return fail_at(p, MBT_OFF_FLAGS, "unknown flags 0x%x",
			       in->flags & ~MBT_FLAGS_KNOWN);
	in->page_size = get32(b + MBT_OFF_PAGE_SIZE);
	if (in->page_size != MBT_PAGE_SIZE)
		return fail_at(p, MBT_OFF_PAGE_SIZE,
			       "page size %u, expected %d", in->page_size,
			       MBT_PAGE_SIZE);
	in->chunk_max = get32(b + MBT_OFF_CHUNK_MAX);
	if (in->chunk_max == 0 || in->chunk_max > MBT_CHUNK_MAX_LIMIT)
		return fail_at(p, MBT_OFF_CHUNK_MAX,
			       "chunk_max %u outside 1..%d", in->chunk_max,
			       MBT_CHUNK_MAX_LIMIT);
	in->page_count = get64(b + MBT_OFF_PAGE_COUNT);
	if (in->page_count == 0 || in->page_count > MBT_PAGE_COUNT_LIMIT)
		return fail_at(p, MBT_OFF_PAGE_COUNT,
			       "absurd page count %" PRIu64 " (allowed 1..%llu)",
			       in->page_count, MBT_PAGE_COUNT_LIMIT);
	if (p->total_size) {
		lo = min_file_size(in->page_count, in->chunk_max,
				   in->digest_size);
		hi = max_file_size(in->page_count, in->digest_size);
		if (p->total_size < lo || p->total_size > hi)
			return fail_at(p, MBT_OFF_PAGE_COUNT,
				       "page count %" PRIu64 " needs %" PRIu64
				       "..%" PRIu64 " bytes but the input has %"
				       PRIu64, in->page_count, lo, hi,
				       p->total_size);
	}
	in->capture_time_ns = get64(b + MBT_OFF_CAPTURE_NS);
	memcpy(in->vm_uuid, b + MBT_OFF_VM_UUID, MBT_UUID_LEN);
	if (check_name_field(p, MBT_OFF_VM_NAME, "vm_name", in->vm_name) ||
	    check_name_field(p, MBT_OFF_KERNEL, "kernel_release",
			     in->kernel_release))
		return -1;
	in->key_id = get32(b + MBT_OFF_KEY_ID);
	keyed = keyed_problem(in->flags, in->algorithm, in->key_id);
	if (keyed)
		return fail_at(p, in->key_id ? MBT_OFF_KEY_ID : MBT_OFF_FLAGS,
			       "%s", keyed);
	for (i = MBT_OFF_RESERVED; i < MBT_HEADER_SIZE; i++)
		if (b[i])
			return fail_at(p, i, "reserved header byte is 0x%02x, "
				       "must be 0", b[i]);

	need = MBT_CHUNK_HEADER_SIZE + MBT_BITMAP_BYTES(in->chunk_max) +
	       (size_t)in->chunk_max * in->digest_size;
	if (need > p->buf_size) {
		uint8_t *nb = realloc(p->buf, need);

		if (!nb)
			return fail_at(p, 0, "out of memory");
		p->buf = nb;
		p->buf_size = need;
	}
	if (p->ops && p->ops->header &&
	    p->ops->header(p->ctx, in, &p->error) < 0) {
		p->state = PS_FAILED;
		return -1;
	}
	p->state = PS_CHUNK_HEAD;
	p->unit_len = MBT_CHUNK_HEADER_SIZE;
	return 0;
}

static int parse_chunk_head(struct mbt_parser *p)
{
	const uint8_t *b = p->buf;
	uint64_t at = p->unit_start;
	uint64_t pfn = get64(b + MBT_OFF_C_START_PFN);
	uint32_t count = get32(b + MBT_OFF_C_COUNT);

	if (count == 0 || count > p->info.chunk_max)
		return fail_at(p, at + MBT_OFF_C_COUNT,
			       "chunk of %u pages (allowed 1..%u)", count,
			       p->info.chunk_max);
	if (get32(b + MBT_OFF_C_RESERVED))
		return fail_at(p, at + MBT_OFF_C_RESERVED,
			       "reserved chunk field is %u, must be 0",
			       get32(b + MBT_OFF_C_RESERVED));
	if (!p->first_chunk && pfn < p->next_pfn)
		return fail_at(p, at, "chunk starts at pfn %" PRIu64
			       ", before the end of the previous chunk (%"
			       PRIu64 ")", pfn, p->next_pfn);
	if (pfn > UINT64_MAX - count)
		return fail_at(p, at, "chunk at pfn %" PRIu64 " of %u pages "
			       "overflows", pfn, count);
	if (count > p->info.page_count - p->records)
		return fail_at(p, at + MBT_OFF_C_COUNT, "chunk of %u pages exceeds the "
			       "header's page count (%" PRIu64 " of %" PRIu64
			       " already read)", count, p->records,
			       p->info.page_count);
	p->chunk_pfn = pfn;
	p->chunk_count = count;
	p->state = PS_CHUNK_BODY;
	p->unit_len = MBT_BITMAP_BYTES(count) +
		      (size_t)count * p->info.digest_size;
	return 0;
}

static int parse_chunk_body(struct mbt_parser *p)
{
	unsigned int ds = p->info.digest_size;
	uint32_t count = p->chunk_count, i;
	size_t bitmap_len = MBT_BITMAP_BYTES(count);
	const uint8_t *bitmap = p->buf;
	const uint8_t *digests = p->buf + bitmap_len;
	bool hashed = p->info.flags & MBT_FLAG_FREE_HASHED;
	uint64_t nfree = 0;
	size_t byte;

	/* Bits past @count, in the last used byte and in the padding. */
	for (byte = count / 8; byte < bitmap_len; byte++) {
		uint8_t extra = bitmap[byte];

		if (byte == count / 8)
			extra &= (uint8_t)(0xff << (count % 8));
		if (extra)
			return fail_at(p, p->unit_start + byte,
				       "free bitmap has bits set past the "
				       "chunk's %u pages", count);
	}
	for (i = 0; i < count; i++) {
		if (!((bitmap[i >> 3] >> (i & 7)) & 1))
			continue;
		nfree++;
		if (!hashed && get_digest(digests + (size_t)i * ds, ds))
			return fail_at(p, p->unit_start + bitmap_len +
				       (uint64_t)i * ds,
				       "free page (pfn %" PRIu64 ") has a "
				       "digest but the trace does not hash "
				       "free pages", p->chunk_pfn + i);
	}
	if (p->ops && p->ops->chunk &&
	    p->ops->chunk(p->ctx, &p->info, p->chunk_pfn, count, bitmap,
			  digests, &p->error) < 0) {
		p->state = PS_FAILED;
		return -1;
	}
	p->free += nfree;
	p->used += count - nfree;
	p->records += count;
	p->next_pfn = p->chunk_pfn + count;
	p->first_chunk = false;
	if (p->records == p->info.page_count) {
		p->state = PS_TRAILER;
		p->unit_len = MBT_TRAILER_SIZE;
	} else {
		p->state = PS_CHUNK_HEAD;
		p->unit_len = MBT_CHUNK_HEADER_SIZE;
	}
	return 0;
}

static int parse_trailer(struct mbt_parser *p)
{
	const uint8_t *b = p->buf;
	uint64_t at = p->unit_start, used, nfree, sum, want;

	if (memcmp(b + MBT_OFF_T_MAGIC, MBT_TRAILER_MAGIC,
		   MBT_TRAILER_MAGIC_LEN))
		return fail_at(p, at, "bad trailer magic (expected \"%s\")",
			       MBT_TRAILER_MAGIC);
	used = get64(b + MBT_OFF_T_USED);
	nfree = get64(b + MBT_OFF_T_FREE);
	if (used != p->used)
		return fail_at(p, at + MBT_OFF_T_USED, "trailer says %" PRIu64
			       " used pages, the chunks hold %" PRIu64, used,
			       p->used);
	if (nfree != p->free)
		return fail_at(p, at + MBT_OFF_T_FREE, "trailer says %" PRIu64
			       " free pages, the chunks hold %" PRIu64, nfree,
			       p->free);
	sum = get64(b + MBT_OFF_T_CHECKSUM);
	want = XXH64_digest(p->hash);
	if (sum != want)
		return fail_at(p, at + MBT_OFF_T_CHECKSUM,
			       "checksum mismatch (file says 0x%016" PRIx64
			       ", content is 0x%016" PRIx64 ")", sum, want);
	p->info.used_pages = used;
	p->info.free_pages = nfree;
	p->info.scan_ns = get64(b + MBT_OFF_T_SCAN_NS);
	p->info.checksum = sum;
	p->state = PS_DONE;
	p->unit_len = 0;
	return 0;
}

static int complete_unit(struct mbt_parser *p)
{
	size_t hashed = p->state == PS_TRAILER ? MBT_OFF_T_CHECKSUM : p->unit_len;

	XXH64_update(p->hash, p->buf, hashed);
	switch (p->state) {
	case PS_HEADER:
		return parse_header(p);
	case PS_CHUNK_HEAD:
		return parse_chunk_head(p);
	case PS_CHUNK_BODY:
		return parse_chunk_body(p);
	case PS_TRAILER:
		return parse_trailer(p);
	default:
		return fail_at(p, p->offset, "internal parser state error");
	}
}

int mbt_parser_feed(struct mbt_parser *p, const void *buf, size_t len,
		    struct mb_err *err)
{
	const uint8_t *src = buf;

	while (len > 0 && p->state != PS_FAILED) {
		size_t take;

		if (p->state == PS_DONE) {
			fail_at(p, p->offset, "unexpected data after the "
				"trailer");
			break;
		}
		take = p->unit_len - p->have;
		if (take > len)
			take = len;
		memcpy(p->buf + p->have, src, take);
		p->have += take;
		p->offset += take;
		src += take;
		len -= take;
		/* Refuse a foreign stream at once, not 256 bytes later. */
		if (p->state == PS_HEADER && p->have < MBT_HEADER_SIZE &&
		    memcmp(p->buf, MBT_MAGIC, p->have < MBT_MAGIC_LEN ?
			   p->have : MBT_MAGIC_LEN)) {
			parse_header(p);
			break;
		}
		if (p->have == p->unit_len) {
			if (complete_unit(p) < 0)
				break;
			p->have = 0;
			p->unit_start = p->offset;
		}
	}
	if (p->state == PS_FAILED) {
		if (err)
			*err = p->error;
		return -1;
	}
	return 0;
}

int mbt_parser_finish(struct mbt_parser *p, struct mbt_info *info,
		      struct mb_err *err)
{
	static const char *const where[] = {
		[PS_HEADER] = "the header",
		[PS_CHUNK_HEAD] = "a chunk header",
		[PS_CHUNK_BODY] = "a chunk's pages",
		[PS_TRAILER] = "the trailer",
	};

	if (p->state == PS_FAILED) {
		if (err)
			*err = p->error;
		return -1;
	}
	if (p->state != PS_DONE) {
		fail_at(p, p->offset, "truncated: the input ends inside %s "
			"(%zu of its %zu bytes present; %" PRIu64 " of %"
			PRIu64 " pages read)", where[p->state], p->have,
			p->unit_len, p->records,
			p->state == PS_HEADER ? 0 : p->info.page_count);
		if (err)
			*err = p->error;
		return -1;
	}
	if (info)
		*info = p->info;
	return 0;
}

/* ---- loading into memory ---- */

struct load_ctx {
	struct mbt_trace *t;
	uint64_t cap;			/* records allocated */
	size_t chunk_cap;
};

static int load_header(void *ctx, const struct mbt_info *info,
		       struct mb_err *err)
{
	struct load_ctx *lc = ctx;

	(void)err;
	lc->t->info = *info;
	return 0;
}

static int grow(struct load_ctx *lc, uint64_t need, struct mb_err *err)
{
	struct mbt_trace *t = lc->t;
	uint64_t cap = lc->cap ? lc->cap : 4096;
	uint64_t *d;
	uint8_t *f;

	if (need <= lc->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > t->info.page_count)
		cap = t->info.page_count;
	d = realloc(t->digests, cap * sizeof(*d));
	if (!d)
		return mb_errf(err, "out of memory for %" PRIu64 " digests",
			       cap);
	t->digests = d;
	f = realloc(t->free_bits, (cap + 7) / 8);
	if (!f)
		return mb_errf(err, "out of memory for %" PRIu64 " digests",
			       cap);
	memset(f + (lc->cap + 7) / 8, 0, (cap + 7) / 8 - (lc->cap + 7) / 8);
	t->free_bits = f;
	lc->cap = cap;
	return 0;
}

static int load_chunk(void *ctx, const struct mbt_info *info,
		      uint64_t start_pfn, uint32_t count,
		      const uint8_t *bitmap, const uint8_t *digests,
		      struct mb_err *err)
{
	struct load_ctx *lc = ctx;
	struct mbt_trace *t = lc->t;
	uint64_t first = t->nchunks ? t->chunks[t->nchunks - 1].first +
				      t->chunks[t->nchunks - 1].count : 0;
	unsigned int ds = info->digest_size;
	uint32_t i;

	if (grow(lc, first + count, err) < 0)
		return -1;
	/* Merge with the previous chunk when it simply continues it. */
	if (t->nchunks && t->chunks[t->nchunks - 1].start_pfn +
	    t->chunks[t->nchunks - 1].count == start_pfn &&
	    (uint64_t)t->chunks[t->nchunks - 1].count + count <= UINT32_MAX) {
		t->chunks[t->nchunks - 1].count += count;
	} else {
		if (t->nchunks == lc->chunk_cap) {
			size_t nc = lc->chunk_cap ? lc->chunk_cap * 2 : 16;
			struct mbt_chunk *c = realloc(t->chunks,
						      nc * sizeof(*c));

			if (!c)
				return mb_errf(err, "out of memory");
			t->chunks = c;
			lc->chunk_cap = nc;
		}
		t->chunks[t->nchunks].start_pfn = start_pfn;
		t->chunks[t->nchunks].first = first;
		t->chunks[t->nchunks].count = count;
		t->nchunks++;
	}
	for (i = 0; i < count; i++) {
		uint64_t r = first + i;

		t->digests[r] = get_digest(digests + (size_t)i * ds, ds);
		if ((bitmap[i >> 3] >> (i & 7)) & 1)
			t->free_bits[r >> 3] |= (uint8_t)(1u << (r & 7));
	}
	return 0;
}

static const struct mbt_parser_ops load_ops = {
	.header = load_header,
	.chunk = load_chunk,
};

void mbt_trace_free(struct mbt_trace *t)
{
	free(t->digests);
	free(t->free_bits);
	free(t->chunks);
	memset(t, 0, sizeof(*t));
}

uint64_t mbt_pfn(const struct mbt_trace *t, uint64_t i)
{
	size_t lo = 0, hi = t->nchunks;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->chunks[mid].first <= i)
			lo = mid;
		else
			hi = mid;
	}
	return t->chunks[lo].start_pfn + (i - t->chunks[lo].first);
}

int mbt_read_fd(int fd, uint64_t size, struct mbt_trace *t,
		struct mb_err *err)
{
	struct load_ctx lc = { .t = t };
	struct mbt_parser *p = mbt_parser_new(&load_ops, &lc, size);
	static const size_t block = 1 << 20;
	uint8_t *buf = malloc(block);
	int ret = -1;

	memset(t, 0, sizeof(*t));
	if (!p || !buf) {
		mb_errf(err, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, block);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_errf(err, "byte %" PRIu64 ": read error: %s",
				mbt_parser_offset(p), strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (mbt_parser_feed(p, buf, (size_t)n, err) < 0)
			goto out;
	}
	ret = mbt_parser_finish(p, &t->info, err);
out:
	if (ret < 0)
		mbt_trace_free(t);
	mbt_parser_free(p);
	free(buf);
	return ret;
}

int mbt_read_mem(const void *buf, size_t len, struct mbt_trace *t,
		 struct mb_err *err)
{
	struct load_ctx lc = { .t = t };
	struct mbt_parser *p = mbt_parser_new(&load_ops, &lc, len);
	int ret = -1;

	memset(t, 0, sizeof(*t));
	if (!p)
		return mb_errf(err, "out of memory");
	if (len == 0)
		mb_errf(err, "byte 0: empty input");
	else if (mbt_parser_feed(p, buf, len, err) == 0)
		ret = mbt_parser_finish(p, &t->info, err);
	if (ret < 0)
		mbt_trace_free(t);
	mbt_parser_free(p);
	return ret;
}

/* ---- writer ---- */

int mbt_sink_stdio(void *ctx, const void *buf, size_t len, struct mb_err *err)
{
	if (fwrite(buf, 1, len, ctx) != len)
		return mb_errf(err, "write error: %s", strerror(errno));
	return 0;
}

static int emit(struct mbt_writer *w, const void *buf, size_t len,
		size_t hashed, struct mb_err *err)
{
	XXH64_update(w->hash_state, buf, hashed);
	return w->sink(w->ctx, buf, len, err);
}

int mbt_writer_begin(struct mbt_writer *w, const struct mbt_info *info,
		     mbt_sink_fn sink, void *ctx, struct mb_err *err)
{
	uint8_t h[MBT_HEADER_SIZE];

	memset(w, 0, sizeof(*w));
	if (check_info(info, err) < 0)
		return -1;
	w->sink = sink;
	w->ctx = ctx;
	w->info = *info;
	w->buf_size = MBT_CHUNK_HEADER_SIZE + MBT_BITMAP_BYTES(info->chunk_max)
		      + (size_t)info->chunk_max * info->digest_size;
	w->buf = malloc(w->buf_size);
	w->hash_state = XXH64_createState();
	if (!w->buf || !w->hash_state) {
		mbt_writer_release(w);
		return mb_errf(err, "out of memory");
	}
	XXH64_reset(w->hash_state, 0);

	memset(h, 0, sizeof(h));
	memcpy(h, MBT_MAGIC, MBT_MAGIC_LEN);
	put16(h + MBT_OFF_VERSION, MBT_VERSION);
	put16(h + MBT_OFF_HEADER_SIZE, MBT_HEADER_SIZE);
	h[MBT_OFF_ALGORITHM] = info->algorithm;
	h[MBT_OFF_DIGEST_SIZE] = info->digest_size;
	put16(h + MBT_OFF_FLAGS, info->flags);
	put32(h + MBT_OFF_PAGE_SIZE, MBT_PAGE_SIZE);
	put32(h + MBT_OFF_CHUNK_MAX, info->chunk_max);
	put64(h + MBT_OFF_PAGE_COUNT, info->page_count);
	put64(h + MBT_OFF_CAPTURE_NS, info->capture_time_ns);
	memcpy(h + MBT_OFF_VM_UUID, info->vm_uuid, MBT_UUID_LEN);
	put32(h + MBT_OFF_KEY_ID, info->key_id);
	/* check_info() made sure both names are terminated within 64 bytes. */
	memcpy(h + MBT_OFF_VM_NAME, info->vm_name,
	       strnlen(info->vm_name, MBT_NAME_LEN - 1));
	memcpy(h + MBT_OFF_KERNEL, info->kernel_release,
	       strnlen(info->kernel_release, MBT_NAME_LEN - 1));
	if (emit(w, h, sizeof(h), sizeof(h), err) < 0) {
		mbt_writer_release(w);
		return -1;
	}
	return 0;
}

int mbt_writer_chunk(struct mbt_writer *w, uint64_t start_pfn, uint32_t count,
		     const uint8_t *free_bits, const uint64_t *digests,
		     struct mb_err *err)
{
	unsigned int ds = w->info.digest_size;
	bool hashed = w->info.flags & MBT_FLAG_FREE_HASHED;
	size_t bitmap_len = MBT_BITMAP_BYTES(count);
	uint8_t *bitmap = w->buf + MBT_CHUNK_HEADER_SIZE;
	uint8_t *out = bitmap + bitmap_len;
	uint32_t i;

	if (!w->buf)
		return mb_errf(err, "writer not started");
	if (count == 0 || count > w->info.chunk_max)
		return mb_errf(err, "chunk of %u pages (allowed 1..%u)", count,
			       w->info.chunk_max);
	if (count > w->info.page_count - w->written)
		return mb_errf(err, "chunk of %u pages exceeds the trace's %"
			       PRIu64 " pages", count, w->info.page_count);
	if (w->written && start_pfn < w->next_pfn)
		return mb_errf(err, "chunk at pfn %" PRIu64 " overlaps the "
			       "previous one (ends at %" PRIu64 ")", start_pfn,
			       w->next_pfn);
	if (start_pfn > UINT64_MAX - count)
		return mb_errf(err, "chunk at pfn %" PRIu64 " overflows",
			       start_pfn);
	put64(w->buf + MBT_OFF_C_START_PFN, start_pfn);
	put32(w->buf + MBT_OFF_C_COUNT, count);
	put32(w->buf + MBT_OFF_C_RESERVED, 0);
	memset(bitmap, 0, bitmap_len);
	if (free_bits)
		memcpy(bitmap, free_bits, (count + 7) / 8);
	if (count % 8)
		bitmap[count / 8] &= (uint8_t)((1u << (count % 8)) - 1);
	for (i = 0; i < count; i++) {
		bool is_free = (bitmap[i >> 3] >> (i & 7)) & 1;
		uint64_t d = is_free && !hashed ? 0 : digests[i];

		if (ds == 8)
			put64(out + (size_t)i * 8, d);
		else
			put32(out + (size_t)i * 4, (uint32_t)d);
		if (is_free)
			w->free++;
		else
			w->used++;
	}
	w->written += count;
	w->next_pfn = start_pfn + count;
	return emit(w, w->buf, (size_t)(out - w->buf) + (size_t)count * ds,
		    (size_t)(out - w->buf) + (size_t)count * ds, err);
}

int mbt_writer_end(struct mbt_writer *w, uint64_t scan_ns, struct mb_err *err)
{
	uint8_t tr[MBT_TRAILER_SIZE];

	if (!w->buf)
		return mb_errf(err, "writer not started");
	if (w->written != w->info.page_count)
		return mb_errf(err, "%" PRIu64 " pages written, the header "
			       "promised %" PRIu64, w->written,
			       w->info.page_count);
	memcpy(tr + MBT_OFF_T_MAGIC, MBT_TRAILER_MAGIC, MBT_TRAILER_MAGIC_LEN);
	put64(tr + MBT_OFF_T_USED, w->used);
	put64(tr + MBT_OFF_T_FREE, w->free);
	put64(tr + MBT_OFF_T_SCAN_NS, scan_ns);
	XXH64_update(w->hash_state, tr, MBT_OFF_T_CHECKSUM);
	put64(tr + MBT_OFF_T_CHECKSUM, XXH64_digest(w->hash_state));
	return w->sink(w->ctx, tr, sizeof(tr), err);
}

void mbt_writer_release(struct mbt_writer *w)
{
	free(w->buf);
	XXH64_freeState(w->hash_state);
	w->buf = NULL;
	w->hash_state = NULL;
}

int mbt_write(const struct mbt_trace *t, mbt_sink_fn sink, void *ctx,
	      struct mb_err *err)
{
	struct mbt_writer w;
	uint32_t max = t->info.chunk_max;
	uint8_t *bits;
	size_t c;
	int ret = -1;

	if (!t->nchunks || !t->digests || !t->free_bits)
		return mb_errf(err, "trace has no pages");
	bits = malloc((max + 7) / 8);
	if (!bits)
		return mb_errf(err, "out of memory");
	if (mbt_writer_begin(&w, &t->info, sink, ctx, err) < 0)
		goto out_bits;
	for (c = 0; c < t->nchunks; c++) {
		const struct mbt_chunk *ch = &t->chunks[c];
		uint64_t done;

		for (done = 0; done < ch->count; done += max) {
			uint32_t n = ch->count - done < max ?
				     (uint32_t)(ch->count - done) : max;
			uint64_t first = ch->first + done;
			uint32_t i;

			memset(bits, 0, (n + 7) / 8);
			for (i = 0; i < n; i++)
				if (mbt_is_free(t, first + i))
					bits[i >> 3] |= (uint8_t)(1u << (i & 7));
			if (mbt_writer_chunk(&w, ch->start_pfn + done, n, bits,
					     t->digests + first, err) < 0)
				goto out;
		}
	}
	ret = mbt_writer_end(&w, t->info.scan_ns, err);
out:
	mbt_writer_release(&w);
out_bits:
	free(bits);
	return ret;
}

int mbt_write_file(const char *path, const struct mbt_trace *t,
		   struct mb_err *err)
{
	struct mb_atomic_file af;

	if (mb_atomic_open(&af, path, 0644, err) < 0)
		return -1;
	if (mbt_write(t, mbt_sink_stdio, af.f, err) < 0) {
		mb_atomic_abort(&af);
		return mb_err_prefix(err, "%s", path);
	}
	return mb_atomic_commit(&af, err);
}
