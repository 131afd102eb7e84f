// SPDX-License-Identifier: GPL-2.0
/*
 * textfmt.c - the legacy trace text format: one unsigned decimal
 * 32-bit SuperFastHash digest per line, every line a used page.
 *
 * The parser is fed bytes as they arrive (a file read in blocks, or the
 * legacy TCP upload in mb-controld) and keeps only the digests, so a trace
 * costs 8 bytes per page however it is delivered; with a sink it keeps
 * one batch and hands the rest on (the legacy listener spools them to
 * disk). Errors name the line.
 *
 * Speed: blocks of lines where it can (fast_blocks(): the newlines of 256
 * bytes found first, then every line of the block converted with AVX2,
 * two lines per register, or SSSE3, one line, or the scalar multiplies
 * without either, and kept when all of them were simple), whole lines next (fast_lines(): the newlines of 64 bytes found
 * by four 16-byte compares, each line's digits converted by three
 * multiplies without a branch on their number), byte by byte where it
 * must (a line split across two feeds, anything unusual, every error),
 * with or without a sink (the fast paths then fill its batch), so
 * all paths accept and refuse the same inputs with the same messages;
 * tests/fuzz/fuzz_text.c compares them. A caller that knows the size of its input reserves the digests in
 * one allocation (mb_text_reserve()) instead of growing the array.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __x86_64__
#include <immintrin.h>
#endif

#include "cpu.h"
#include "mbt.h"

void mb_text_init(struct mb_text_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->line = 1;
}

void mb_text_release(struct mb_text_parser *p)
{
	free(p->digests);
	p->digests = NULL;
	p->count = p->cap = 0;
	p->buffered = 0;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct mb_text_parser *p, struct mb_err *err,
		const char *fmt, ...)
{
	char reason[MB_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	mb_errf(&p->error, "line %" PRIu64 ": %s", p->line, reason);
	p->failed = true;
	if (err)
		*err = p->error;
	return -1;
}

static int flush(struct mb_text_parser *p, struct mb_err *err)
{
	struct mb_err serr;

	if (!p->buffered)
		return 0;
	if (p->sink(p->sink_ctx, p->digests, p->buffered, &serr)) {
		mb_errf(&p->error, "%s", serr.msg);
		p->failed = true;
		if (err)
			*err = p->error;
		return -1;
	}
	p->buffered = 0;
	return 0;
}

static int batch_ready(struct mb_text_parser *p, struct mb_err *err);

/* With a sink: one more digest into the batch, handed over when full. */
static int push_batch(struct mb_text_parser *p, struct mb_err *err)
{
	if (batch_ready(p, err))
		return -1;
	p->digests[p->buffered++] = p->value;
	p->count++;
	p->value = 0;
	p->digits = 0;
	return p->buffered == MB_TEXT_BATCH ? flush(p, err) : 0;
}

static int push(struct mb_text_parser *p, struct mb_err *err)
{
	uint64_t limit = p->max_count ? p->max_count : MBT_PAGE_COUNT_LIMIT;

	if (p->count == limit)
		return fail(p, err, "more than %" PRIu64 " digests", limit);
	if (p->sink)
		return push_batch(p, err);
	if (p->count == p->cap) {
		uint64_t cap = p->cap ? p->cap * 2 : 65536;
		uint64_t *d = realloc(p->digests, cap * sizeof(*d));

		if (!d)
			return fail(p, err, "out of memory");
		p->digests = d;
		p->cap = cap;
	}
	p->digests[p->count++] = p->value;
	p->value = 0;
	p->digits = 0;
	return 0;
}

int mb_text_reserve(struct mb_text_parser *p, uint64_t n, struct mb_err *err)
{
	uint64_t *d;

	if (p->sink || n <= p->cap)
		return 0;
	if (n > MBT_PAGE_COUNT_LIMIT)
		n = MBT_PAGE_COUNT_LIMIT;
	d = realloc(p->digests, n * sizeof(*d));
	if (!d)
		return fail(p, err, "out of memory for %" PRIu64 " digests", n);
	p->digests = d;
	p->cap = n;
	return 0;
}

/* Are all 8 bytes of @w ASCII digits? */
static inline bool eight_digits(uint64_t w)
{
	return (((w & 0xF0F0F0F0F0F0F0F0ULL) |
		 (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
		0x3333333333333333ULL);
}

/* The value of 8 ASCII digits, the first in the lowest byte of @w. */
static inline uint32_t eight_digits_value(uint64_t w)
{
	w = (w & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
	w = (w & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
	return (uint32_t)((w & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32);
}

/* Bit j set when @q[j] is '\n', for j < 64. */
static inline uint64_t newlines64(const unsigned char *q)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n');
	uint64_t m = 0;
	int j;

	for (j = 0; j < 4; j++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)
					    (q + 16 * j));

		m |= (uint64_t)(unsigned int)_mm_movemask_epi8(
			_mm_cmpeq_epi8(x, nl)) << (16 * j);
	}
	return m;
#else
	uint64_t m = 0;
	int j;

	for (j = 0; j < 64; j++)
		m |= (uint64_t)(q[j] == '\n') << j;
	return m;
#endif
}

#ifdef __x86_64__
/* The same with two 32-byte compares. */
static inline __attribute__((target("avx2")))
uint64_t newlines64_avx2(const unsigned char *q)
{
	const __m256i nl = _mm256_set1_epi8('\n');
	__m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)q);
	__m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)
					(q + 32));

	return (uint64_t)(uint32_t)_mm256_movemask_epi8(
		       _mm256_cmpeq_epi8(lo, nl)) |
	       (uint64_t)(uint32_t)_mm256_movemask_epi8(
		       _mm256_cmpeq_epi8(hi, nl)) << 32;
}
#endif

/*
 * The value of the simple line of @k digits ending at @end (the newline),
 * which has 8 readable bytes before it: 1 to 10 digits making a 32-bit
 * value. Returns false when it is anything else (a bad byte, too large),
 * which the byte-wise parser then takes, with its messages.
 *
 * Without a branch on the length, which varies from line to line: the
 * last 8 digits are the 8 bytes that end at the newline, those before the
 * line replaced by '0's; the one or two before them are read anyway and
 * count only when the line has 9 or 10 digits.
 */
static inline bool line_value(const unsigned char *end, unsigned int k,
			      uint64_t *v)
{
	const unsigned char *q = end - k;
	/* All ones when the line has 8 digits or fewer, 9 or more, 10. */
	uint64_t m8 = -(uint64_t)(k <= 8), m9 = ~m8;
	uint64_t m10 = -(uint64_t)(k == 10);
	uint64_t w, fill, d0, d1, hi, bad;

	memcpy(&w, end - 8, 8);
	/* The 8 - k bytes before the line (k < 8), as '0's. */
	fill = (~0ULL >> (8 * (k & 7))) & m8 & -(uint64_t)(k != 8);
	w = (w & ~fill) | (0x3030303030303030ULL & fill);
	d0 = (uint64_t)q[0] - '0';
	d1 = (uint64_t)q[1] - '0';
	hi = ((d0 * 10 + d1) & m10) | (d0 & m9 & ~m10);
	bad = ((d0 > 9) & m9) | ((d1 > 9) & m10);
	*v = hi * 100000000ULL + eight_digits_value(w);
	return eight_digits(w) & !bad & (*v <= UINT32_MAX);
}

/*
 * The newline positions of the BLOCK_BYTES bytes at @s into @pos (room for
 * BLOCK_BYTES + 8), as offsets from @s; returns how many. Eight positions
 * of each 64-byte window are written whether or not they exist (lines of
 * about 11 bytes put 5 or 6 newlines in a window), so the loop does not
 * branch on where the lines end; a window with more takes a short loop.
 */
#define BLOCK_BYTES 256

static inline __attribute__((always_inline))
size_t block_newlines(const unsigned char *s, uint32_t *pos, bool avx2)
{
	size_t np = 0, w;
	int j;

	for (w = 0; w < BLOCK_BYTES; w += 64) {
#ifdef __x86_64__
		uint64_t m = avx2 ? newlines64_avx2(s + w) : newlines64(s + w);
#else
		uint64_t m = newlines64(s + w);
#endif
		size_t cnt = (size_t)__builtin_popcountll(m);

		for (j = 0; j < 8; j++) {
			/* Past the last newline: an unused position. */
			pos[np + (size_t)j] = (uint32_t)(w + (size_t)
				__builtin_ctzll(m | (1ULL << 63)));
			m &= m - 1;
		}
		for (j = 8; m; j++) {
			pos[np + (size_t)j] = (uint32_t)(w + (size_t)
				__builtin_ctzll(m));
			m &= m - 1;
		}
		np += cnt;
	}
	return np;
}

/*
 * The values of the @np lines that end at @s + pos[0..np-1] (the first
 * starts at @s, each next one after the previous newline) into @d, with
 * 16 readable bytes before @s. True when every line is simple; otherwise
 * the values are garbage and the caller takes the lines one by one.
 */
static bool block_values_scalar(const unsigned char *s, const uint32_t *pos,
				size_t np, uint64_t *d)
{
	uint64_t ok = np != 0, v;
	size_t l, start = 0;

	for (l = 0; l < np; l++) {
		size_t end = pos[l];
		unsigned int k = (unsigned int)(end - start);

		ok &= (k - 1 < 10) & line_value(s + end, k, &v);
		d[l] = v;
		start = end + 1;
	}
	return ok;
}

#ifdef __x86_64__
/*
 * The same with SSSE3, one line per register: the 16 bytes that end at
 * the newline, those before the line masked to zero digits, are checked
 * for digits all at once and converted by two multiply-adds (digit pairs,
 * then groups of four) and a 64-bit multiply of the two halves.
 */
static const unsigned char line_keep[17][16] = {
#define K(k) { [16 - (k) ... 15] = 0xff }
	{ 0 }, K(1), K(2), K(3), K(4), K(5), K(6), K(7), K(8), K(9), K(10),
	K(11), K(12), K(13), K(14), K(15), K(16),
#undef K
};

__attribute__((target("ssse3")))
static bool block_values_ssse3(const unsigned char *s, const uint32_t *pos,
			       size_t np, uint64_t *d)
{
	const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
	const __m128i tens = _mm_set1_epi16(0x010a);	/* 10, 1 */
	const __m128i hundreds = _mm_set1_epi32(0x00010064);	/* 100, 1 */
	const __m128i ten_thousand = _mm_set_epi32(0, 10000, 0, 10000);
	__m128i digits_ok = _mm_set1_epi8(-1);
	uint64_t ok = np != 0, v;
	size_t l, start = 0;

	for (l = 0; l < np; l++) {
		size_t end = pos[l];
		unsigned int k = (unsigned int)(end - start);
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)
					    (s + end - 16));
		__m128i keep = _mm_loadu_si128((const __m128i *)(const void *)
					       line_keep[k < 16 ? k : 16]);

		x = _mm_and_si128(_mm_sub_epi8(x, zero), keep);
		digits_ok = _mm_and_si128(digits_ok, _mm_cmpeq_epi8(
						  _mm_max_epu8(x, nine), nine));
		x = _mm_madd_epi16(_mm_maddubs_epi16(x, tens), hundreds);
		/* [digits 0-7, digits 8-15] as two 64-bit numbers */
		x = _mm_add_epi64(_mm_mul_epu32(x, ten_thousand),
				  _mm_srli_epi64(x, 32));
		v = (uint64_t)_mm_cvtsi128_si64(x) * 100000000ULL +
		    (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x));
		ok &= (k - 1 < 10) & (v <= UINT32_MAX);
		d[l] = v;
		start = end + 1;
	}
	return ok & (_mm_movemask_epi8(digits_ok) == 0xffff);
}

/*
 * The same with AVX2, two lines per register (one per 128-bit half), the
 * last step (digits 0-7 times 10^8 plus digits 8-15) vectorised too. An
 * odd last line is paired with an empty one (all of it masked away: the
 * value 0, stored past the block's lines, where the caller has room).
 */
__attribute__((target("avx2")))
static bool block_values_avx2(const unsigned char *s, const uint32_t *pos,
			      size_t np, uint64_t *d)
{
	const __m256i zero = _mm256_set1_epi8('0'), nine = _mm256_set1_epi8(9);
	const __m256i tens = _mm256_set1_epi16(0x010a);
	const __m256i hundreds = _mm256_set1_epi32(0x00010064);
	const __m256i ten_thousand = _mm256_set1_epi64x(10000);
	const __m256i e8 = _mm256_set1_epi64x(100000000);
	__m256i digits_ok = _mm256_set1_epi8(-1);
	__m128i values = _mm_setzero_si128();
	uint64_t ok = np != 0;
	size_t l, start = 0;

	for (l = 0; l < np; l += 2) {
		bool pair = l + 1 < np;
		size_t e0 = pos[l], e1 = pair ? pos[l + 1] : e0;
		unsigned int k0 = (unsigned int)(e0 - start);
		unsigned int k1 = pair ? (unsigned int)(e1 - e0 - 1) : 0;
		__m256i x = _mm256_loadu2_m128i(
			(const __m128i *)(const void *)(s + e1 - 16),
			(const __m128i *)(const void *)(s + e0 - 16));
		__m256i keep = _mm256_loadu2_m128i(
			(const __m128i *)(const void *)line_keep[k1 < 16 ? k1 : 16],
			(const __m128i *)(const void *)line_keep[k0 < 16 ? k0 : 16]);
		__m128i v;

		x = _mm256_and_si256(_mm256_sub_epi8(x, zero), keep);
		digits_ok = _mm256_and_si256(digits_ok, _mm256_cmpeq_epi8(
					     _mm256_max_epu8(x, nine), nine));
		x = _mm256_madd_epi16(_mm256_maddubs_epi16(x, tens), hundreds);
		x = _mm256_add_epi64(_mm256_mul_epu32(x, ten_thousand),
				     _mm256_srli_epi64(x, 32));
		x = _mm256_add_epi64(_mm256_mul_epu32(x, e8),
				     _mm256_bsrli_epi128(x, 8));
		/* the two lines' values: 64-bit lanes 0 and 2 */
		v = _mm256_castsi256_si128(_mm256_permute4x64_epi64(x, 0x08));
		_mm_storeu_si128((__m128i *)(void *)(d + l), v);
		values = _mm_or_si128(values, v);
		ok &= (k0 - 1 < 10) & (k1 - 1 < 10 || !pair);
		start = e1 + 1;
	}
	/* no value above UINT32_MAX */
	ok &= _mm_testz_si128(values, _mm_set1_epi64x((long long)0xffffffff00000000ULL));
	return ok & ((uint32_t)_mm256_movemask_epi8(digits_ok) == 0xffffffffU);
}
#endif

/*
 * Whole blocks of simple lines from @s + *@i on: the lines that end in the
 * BLOCK_BYTES bytes at *@i, all converted without a branch on what they
 * hold and kept only when every one of them is simple. Stops before the
 * first block that is not all simple (fast_lines() then takes it line by
 * line), or when the array or the input runs short. Compiled three times:
 * with AVX2, with SSSE3 (both with POPCNT), and with neither, for the
 * best the CPU has.
 */
enum vec { VEC_NONE, VEC_SSSE3, VEC_AVX2 };

static inline __attribute__((always_inline))
uint64_t blocks(const unsigned char *s, size_t len, size_t *i, uint64_t *d,
		uint64_t room, enum vec vec)
{
	uint32_t pos[BLOCK_BYTES + 8];
	uint64_t count = 0;
	size_t at = *i;

	while (at >= 16 && at + BLOCK_BYTES + 64 <= len &&
	       room - count >= BLOCK_BYTES) {
		size_t np = block_newlines(s + at, pos, vec == VEC_AVX2);
		bool ok;

#ifdef __x86_64__
		if (vec == VEC_AVX2)
			ok = block_values_avx2(s + at, pos, np, d + count);
		else if (vec == VEC_SSSE3)
			ok = block_values_ssse3(s + at, pos, np, d + count);
		else
#endif
			ok = block_values_scalar(s + at, pos, np, d + count);
		if (!ok)
			break;
		count += np;
		at += pos[np - 1] + 1;
	}
	*i = at;
	return count;
}

#ifdef __x86_64__
__attribute__((target("ssse3,popcnt")))
static uint64_t fast_blocks_ssse3(const unsigned char *s, size_t len,
				  size_t *i, uint64_t *d, uint64_t room)
{
	return blocks(s, len, i, d, room, VEC_SSSE3);
}

__attribute__((target("avx2,popcnt")))
static uint64_t fast_blocks_avx2(const unsigned char *s, size_t len,
				 size_t *i, uint64_t *d, uint64_t room)
{
	return blocks(s, len, i, d, room, VEC_AVX2);
}
#endif

static uint64_t fast_blocks(const unsigned char *s, size_t len, size_t *i,
			    uint64_t *d, uint64_t room)
{
#ifdef __x86_64__
	if (MB_CPU_HAS(AVX2) && MB_CPU_HAS(POPCNT))
		return fast_blocks_avx2(s, len, i, d, room);
	if (MB_CPU_HAS(SSSE3) && MB_CPU_HAS(POPCNT))
		return fast_blocks_ssse3(s, len, i, d, room);
#endif
	return blocks(s, len, i, d, room, VEC_NONE);
}

/*
 * Whole simple lines from @s + *@i on, 64 bytes at a time: the newlines of
 * a window are found at once, so where a line ends does not wait for the
 * previous line's value. Stops at the first line that is not simple, or
 * when fewer than 64 of the @room places at @d are left; *@i is then the
 * start of the next line. Returns the lines converted.
 */
static uint64_t fast_lines(const unsigned char *s, size_t len, size_t *i,
			   uint64_t *d, uint64_t room, size_t until)
{
	uint64_t count = 0, v;
	size_t at = *i;		/* where the next line starts */

	while (at >= 8 && at < until && at + 64 <= len && room - count >= 64) {
		size_t base = at;
		uint64_t nl = newlines64(s + base);

		if (!nl)
			break;		/* a line of more than 64 bytes */
		do {
			size_t end = base + (size_t)__builtin_ctzll(nl);
			unsigned int k = (unsigned int)(end - at);

			if (k == 0 || k > 10 || !line_value(s + end, k, &v))
				goto out;
			d[count++] = v;
			at = end + 1;
			nl &= nl - 1;
		} while (nl);
	}
out:
	*i = at;
	return count;
}

/* Where the fast paths write their next digest, and how many fit there. */
static inline uint64_t *fast_out(const struct mb_text_parser *p,
				 uint64_t limit, uint64_t *room)
{
	uint64_t used = p->sink ? p->buffered : p->count;

	*room = p->cap - used < limit - p->count ? p->cap - used :
						    limit - p->count;
	return p->digests + used;
}

/* @n more digests written by a fast path, on lines of their own. */
static inline void fast_took(struct mb_text_parser *p, uint64_t n)
{
	p->line += n;
	p->count += n;
	if (p->sink)
		p->buffered += (size_t)n;
}

/*
 * Blocks while they are all simple; the lines of a block that is not (and
 * the first lines of the input, which lack the bytes before them that the
 * blocks read), one by one until the next block or the first line that is
 * not simple either, for the byte-wise parser. With a sink, a batch with
 * no room for a block is handed over first, and a full one at the end.
 */
static int fast_path(struct mb_text_parser *p, const unsigned char *s,
		     size_t len, size_t *i, uint64_t limit, struct mb_err *err)
{
	uint64_t room, *d;
	size_t before;

	do {
		before = *i;
		if (p->sink && p->cap - p->buffered < BLOCK_BYTES &&
		    flush(p, err))
			return -1;
		d = fast_out(p, limit, &room);
		fast_took(p, fast_blocks(s, len, i, d, room));
		d = fast_out(p, limit, &room);
		fast_took(p, fast_lines(s, len, i, d, room, *i + BLOCK_BYTES));
	} while (*i != before);
	return p->sink && p->buffered == p->cap ? flush(p, err) : 0;
}

/* With a sink: its batch, allocated on first use. */
static int batch_ready(struct mb_text_parser *p, struct mb_err *err)
{
	if (p->digests)
		return 0;
	p->digests = malloc(MB_TEXT_BATCH * sizeof(*p->digests));
	if (!p->digests)
		return fail(p, err, "out of memory");
	p->cap = MB_TEXT_BATCH;
	return 0;
}

int mb_text_feed(struct mb_text_parser *p, const void *buf, size_t len,
		    struct mb_err *err)
{
	const unsigned char *s = buf;
	uint64_t limit = p->max_count ? p->max_count : MBT_PAGE_COUNT_LIMIT;
	size_t i;

	if (p->failed) {
		if (err)
			*err = p->error;
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c;

		/*
		 * At the start of a line, with room in the array: whole lines
		 * while they are simple.
		 */
		if (!p->digits && !p->pending_empty &&
		    (p->sink ? batch_ready(p, err) == 0 : p->count < p->cap)) {
			if (fast_path(p, s, len, &i, limit, err))
				return -1;
			if (i == len)
				break;
		}
		c = s[i];

		if (c >= '0' && c <= '9') {
			if (p->pending_empty) {
				p->line -= p->pending_empty;
				return fail(p, err, "empty line in the middle "
					    "of the trace");
			}
			p->value = p->value * 10 + (c - '0');
			p->digits++;
			if (p->value > UINT32_MAX)
				return fail(p, err, "value exceeds 4294967295 "
					    "(2^32-1), the largest 32-bit "
					    "digest");
		} else if (c == '\n') {
			if (p->digits == 0)
				p->pending_empty++;
			else if (push(p, err) < 0)
				return -1;
			p->line++;
		} else if (c == '\r') {
			return fail(p, err, "carriage return: lines must end "
				    "in a bare newline");
		} else if (c >= 0x21 && c < 0x7f) {
			return fail(p, err, "unexpected character '%c' "
				    "(expected a decimal digit)", c);
		} else {
			return fail(p, err, "unexpected byte 0x%02x (expected "
				    "a decimal digit)", c);
		}
	}
	return 0;
}

/* The end of the input: the last line's digest, and at least one. */
static int end_input(struct mb_text_parser *p, struct mb_err *err)
{
	if (p->failed) {
		if (err)
			*err = p->error;
		return -1;
	}
	if (p->digits && push(p, err) < 0)
		return -1;
	if (p->count == 0)
		return fail(p, err, "no digests: the trace is empty");
	return 0;
}

/* What a text trace of @n digests is: its description, as a trace. */
static void describe(struct mbt_info *info, uint64_t n, const char *vm_name)
{
	mbt_info_init(info, MB_ALGO_SUPERFAST);
	info->flags = MBT_FLAG_SYNTHETIC_PFN;
	info->page_count = n;
	info->used_pages = n;
	if (vm_name)
		memcpy(info->vm_name, vm_name,
		       strnlen(vm_name, MBT_NAME_LEN - 1));
}

int mb_text_finish(struct mb_text_parser *p, const char *vm_name,
		      struct mbt_trace *t, struct mb_err *err)
{
	uint64_t n;

	memset(t, 0, sizeof(*t));
	if (end_input(p, err))
		return -1;
	n = p->count;
	t->free_bits = calloc((n + 7) / 8, 1);
	t->chunks = calloc(1, sizeof(*t->chunks));
	if (!t->free_bits || !t->chunks) {
		mbt_trace_free(t);
		return fail(p, err, "out of memory");
	}
	describe(&t->info, n, vm_name);
	/* Hand the array over, trimmed to size. */
	t->digests = realloc(p->digests, n * sizeof(*t->digests));
	if (!t->digests)
		t->digests = p->digests;
	p->digests = NULL;
	t->chunks[0].count = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
	t->nchunks = 1;
	if (n > UINT32_MAX) {
		/* Split: a chunk entry counts at most 2^32-1 records. */
		size_t k, nc = (size_t)((n + UINT32_MAX - 1) / UINT32_MAX);
		struct mbt_chunk *c = realloc(t->chunks, nc * sizeof(*c));

		if (!c) {
			mbt_trace_free(t);
			return fail(p, err, "out of memory");
		}
		t->chunks = c;
		for (k = 0; k < nc; k++) {
			uint64_t first = (uint64_t)k * UINT32_MAX;

			c[k].start_pfn = first;
			c[k].first = first;
			c[k].count = (uint32_t)(n - first < UINT32_MAX ?
						n - first : UINT32_MAX);
		}
		t->nchunks = nc;
	}
	mb_text_init(p);
	return 0;
}

int mb_text_end(struct mb_text_parser *p, struct mb_err *err)
{
	return end_input(p, err) ? -1 : flush(p, err);
}

int mb_text_end_info(struct mb_text_parser *p, const char *vm_name,
		     struct mbt_info *info, struct mb_err *err)
{
	if (mb_text_end(p, err))
		return -1;
	describe(info, p->count, vm_name);
	return 0;
}

int mb_text_read_mem(const void *buf, size_t len, const char *vm_name,
			struct mbt_trace *t, struct mb_err *err)
{
	struct mb_text_parser p;
	int ret = -1;

	mb_text_init(&p);
	memset(t, 0, sizeof(*t));
	if (mb_text_feed(&p, buf, len, err) == 0)
		ret = mb_text_finish(&p, vm_name, t, err);
	mb_text_release(&p);
	return ret;
}

int mb_text_write(FILE *f, const struct mbt_trace *t, bool include_free,
		     struct mb_err *err)
{
	uint64_t i;

	if (t->info.algorithm != MB_ALGO_SUPERFAST)
		return mb_errf(err, "the trace's digests are %s; the text "
			       "format holds only 32-bit SuperFastHash "
			       "digests", mb_algo_name(t->info.algorithm));
	for (i = 0; i < t->info.page_count; i++) {
		if (!include_free && mbt_is_free(t, i))
			continue;
		if (fprintf(f, "%" PRIu32 "\n", (uint32_t)t->digests[i]) < 0)
			return mb_errf(err, "write error");
	}
	if (fflush(f) != 0)
		return mb_errf(err, "write error");
	return 0;
}
