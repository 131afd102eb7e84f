// SPDX-License-Identifier: GPL-2.0
/*
 * test_mbt.c - the .mbt reader and writer.
 *
 * A valid trace is written with the writer into memory, then each test
 * damages one field (and, where the damage should be caught by something
 * other than the checksum, repairs the checksum) and requires the reader
 * to fail with the right offset and reason. Every error path of the parser
 * has a test here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "mbt.h"
#include "membuf.h"

/*
 * The reference trace: 3 chunks (pfns 0..9999 in chunks of 4096 from the
 * writer's split, a hole, then 20000..20499), every 7th page free, xxh32
 * (4-byte) digests unless @algo says otherwise.
 */
#define REF_PAGES 10500

static void make_trace(struct mbt_trace *t, int algo, uint16_t flags)
{
	uint64_t i;

	memset(t, 0, sizeof(*t));
	mbt_info_init(&t->info, algo);
	t->info.flags = flags;
	t->info.page_count = REF_PAGES;
	t->info.capture_time_ns = 1700000000123456789ULL;
	strcpy(t->info.vm_name, "guest-a");
	strcpy(t->info.kernel_release, "6.1.0-56-amd64");
	assert_int_equal(mb_uuid_parse("5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
				       t->info.vm_uuid), 0);
	t->digests = calloc(REF_PAGES, sizeof(*t->digests));
	t->free_bits = calloc((REF_PAGES + 7) / 8, 1);
	t->chunks = calloc(2, sizeof(*t->chunks));
	for (i = 0; i < REF_PAGES; i++) {
		bool is_free = i % 7 == 3;

		t->digests[i] = is_free && !(flags & MBT_FLAG_FREE_HASHED) ?
				0 : 0x1234567890abcdefULL * (i + 1);
		if (mb_algo_digest_size(algo) == 4)
			t->digests[i] &= 0xffffffff;
		if (is_free)
			t->free_bits[i / 8] |= (uint8_t)(1 << (i % 8));
	}
	t->chunks[0] = (struct mbt_chunk){ .start_pfn = 0, .first = 0,
					   .count = 10000 };
	t->chunks[1] = (struct mbt_chunk){ .start_pfn = 20000, .first = 10000,
					   .count = 500 };
	t->nchunks = 2;
}

static void encode(const struct mbt_trace *t, struct membuf *m)
{
	struct mb_err err;

	memset(m, 0, sizeof(*m));
	if (mbt_write(t, mem_sink, m, &err) < 0)
		fail_msg("writing the reference trace: %s", err.msg);
}

static void fix_checksum(struct membuf *m)
{
	uint64_t sum = XXH64(m->data, m->len - 8, 0);

	memcpy(m->data + m->len - 8, &sum, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Parse @m and require failure with a message containing @want. */
static void expect_error(const struct membuf *m, const char *want)
{
	struct mbt_trace t;
	struct mb_err err = { "" };

	if (mbt_read_mem(m->data, m->len, &t, &err) == 0)
		fail_msg("the damaged trace was accepted; expected \"%s\"",
			 want);
	if (!strstr(err.msg, want))
		fail_msg("expected an error containing \"%s\", got \"%s\"",
			 want, err.msg);
	assert_null(t.digests);
}

/* Offsets in the reference encoding (xxh32: 4-byte digests). */
#define CHUNK0 MBT_HEADER_SIZE
#define CHUNK0_BODY (CHUNK0 + MBT_CHUNK_HEADER_SIZE)
#define CHUNK0_DIGESTS (CHUNK0_BODY + MBT_BITMAP_BYTES(4096))

struct fixture {
	struct mbt_trace t;
	struct membuf m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	make_trace(&f->t, MB_ALGO_XXH32, 0);
	encode(&f->t, &f->m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mbt_trace_free(&f->t);
	free(f->m.data);
	free(f);
	return 0;
}

static void assert_same_trace(const struct mbt_trace *a,
			      const struct mbt_trace *b)
{
	uint64_t i;

	assert_int_equal(a->info.page_count, b->info.page_count);
	assert_int_equal(a->info.algorithm, b->info.algorithm);
	assert_int_equal(a->info.flags, b->info.flags);
	assert_true(a->info.capture_time_ns == b->info.capture_time_ns);
	assert_string_equal(a->info.vm_name, b->info.vm_name);
	assert_string_equal(a->info.kernel_release, b->info.kernel_release);
	assert_memory_equal(a->info.vm_uuid, b->info.vm_uuid, 16);
	for (i = 0; i < a->info.page_count; i++) {
		if (a->digests[i] != b->digests[i] ||
		    mbt_is_free(a, i) != mbt_is_free(b, i) ||
		    mbt_pfn(a, i) != mbt_pfn(b, i))
			fail_msg("record %" PRIu64 " differs", i);
	}
}

static void round_trip_keeps_every_field(void **state)
{
	struct fixture *f = *state;
	struct mbt_trace back;
	struct mb_err err;
	uint64_t expect_size = MBT_HEADER_SIZE + MBT_TRAILER_SIZE +
			       4 * MBT_CHUNK_HEADER_SIZE +
			       2 * MBT_BITMAP_BYTES(4096) +
			       MBT_BITMAP_BYTES(10000 - 8192) +
			       MBT_BITMAP_BYTES(500) + REF_PAGES * 4;

	assert_int_equal(f->m.len, expect_size);
	if (mbt_read_mem(f->m.data, f->m.len, &back, &err) < 0)
		fail_msg("%s", err.msg);
	assert_same_trace(&f->t, &back);
	assert_int_equal(back.info.used_pages + back.info.free_pages,
			 REF_PAGES);
	assert_int_equal(back.info.free_pages, 1500);
	assert_int_equal(mbt_pfn(&back, 9999), 9999);
	assert_int_equal(mbt_pfn(&back, 10000), 20000);
	assert_int_equal(mbt_pfn(&back, REF_PAGES - 1), 20499);
	/* Chunks split by the writer are merged back into runs. */
	assert_int_equal(back.nchunks, 2);
	mbt_trace_free(&back);
}

static void round_trip_64bit_and_free_hashed(void **state)
{
	struct mbt_trace t, back;
	struct membuf m;
	struct mb_err err;

	(void)state;
	make_trace(&t, MB_ALGO_XXH64, MBT_FLAG_FREE_HASHED);
	encode(&t, &m);
	if (mbt_read_mem(m.data, m.len, &back, &err) < 0)
		fail_msg("%s", err.msg);
	assert_same_trace(&t, &back);
	assert_true(back.digests[3] != 0);	/* a free page, hashed */
	mbt_trace_free(&back);
	mbt_trace_free(&t);
	free(m.data);
}

static void byte_at_a_time_feeding_gives_the_same_result(void **state)
{
	struct fixture *f = *state;
	struct mbt_parser *p = mbt_parser_new(NULL, NULL, 0);
	struct mbt_info info;
	struct mb_err err;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < f->m.len; i++)
		if (mbt_parser_feed(p, f->m.data + i, 1, &err) < 0)
			fail_msg("byte %zu: %s", i, err.msg);
	assert_int_equal(mbt_parser_finish(p, &info, &err), 0);
	assert_int_equal(info.used_pages, REF_PAGES - 1500);
	assert_int_equal(mbt_parser_offset(p), f->m.len);
	mbt_parser_free(p);
}

static void rejects_bad_magic(void **state)
{
	struct fixture *f = *state;

	f->m.data[3] = 'X';
	expect_error(&f->m, "byte 0: bad magic");
}

static void bad_magic_names_text_traces(void **state)
{
	struct membuf m = { (uint8_t *)"12345\n", 6, 6 };

	(void)state;
	expect_error(&m, "looks like decimal text");
}

static void rejects_unknown_version(void **state)
{
	struct fixture *f = *state;

	f->m.data[MBT_OFF_VERSION] = 2;
	expect_error(&f->m, "byte 8: unknown format version 2");
}

static void rejects_wrong_header_size(void **state)
{
	struct fixture *f = *state;

	f->m.data[MBT_OFF_HEADER_SIZE] = 1;
	expect_error(&f->m, "byte 10: header size");
}

static void rejects_unknown_algorithm(void **state)
{
	struct fixture *f = *state;

	f->m.data[MBT_OFF_ALGORITHM] = 7;
	expect_error(&f->m, "byte 12: unknown algorithm 7");
}

static void rejects_digest_size_mismatch(void **state)
{
	struct fixture *f = *state;

	f->m.data[MBT_OFF_DIGEST_SIZE] = 8;
	expect_error(&f->m, "byte 13: digest size 8 does not match");
}

static void rejects_unknown_flags(void **state)
{
	struct fixture *f = *state;

	f->m.data[MBT_OFF_FLAGS] = 0x80;
	expect_error(&f->m, "byte 14: unknown flags 0x80");
}

static void rejects_other_page_sizes(void **state)
{
	struct fixture *f = *state;

	put32(f->m.data + MBT_OFF_PAGE_SIZE, 8192);
	expect_error(&f->m, "byte 16: page size 8192");
}

static void rejects_bad_chunk_max(void **state)
{
	struct fixture *f = *state;

	put32(f->m.data + MBT_OFF_CHUNK_MAX, 0);
	expect_error(&f->m, "byte 20: chunk_max 0");
	put32(f->m.data + MBT_OFF_CHUNK_MAX, 1u << 20);
	expect_error(&f->m, "byte 20: chunk_max 1048576");
}

static void rejects_absurd_page_counts(void **state)
{
	struct fixture *f = *state;

	put64(f->m.data + MBT_OFF_PAGE_COUNT, 0);
	expect_error(&f->m, "byte 24: absurd page count 0");
	put64(f->m.data + MBT_OFF_PAGE_COUNT, UINT64_MAX);
	expect_error(&f->m, "byte 24: absurd page count");
}

static void rejects_page_count_the_size_cannot_hold(void **state)
{
	struct fixture *f = *state;

	/* Larger than the input can hold: caught before any allocation. */
	put64(f->m.data + MBT_OFF_PAGE_COUNT, 1ULL << 30);
	expect_error(&f->m, "byte 24: page count 1073741824 needs");
	/* Smaller than the input: the size cannot be right either. */
	put64(f->m.data + MBT_OFF_PAGE_COUNT, 10);
	expect_error(&f->m, "byte 24: page count 10 needs");
}

static void page_count_is_checked_against_chunks_when_size_unknown(void **state)
{
	struct fixture *f = *state;
	struct mbt_parser *p = mbt_parser_new(NULL, NULL, 0);
	struct mb_err err;

	put64(f->m.data + MBT_OFF_PAGE_COUNT, 5000);
	fix_checksum(&f->m);
	assert_int_equal(mbt_parser_feed(p, f->m.data, f->m.len, &err), -1);
	/* The second chunk (4096 pages at byte 256 + 16 + 512 + 16384) is
	 * more than the 904 still allowed. */
	assert_non_null(strstr(err.msg, "exceeds the header's page count"));
	mbt_parser_free(p);
}

static void rejects_unterminated_names(void **state)
{
	struct fixture *f = *state;

	memset(f->m.data + MBT_OFF_VM_NAME, 'a', MBT_NAME_LEN);
	expect_error(&f->m, "byte 56: vm_name is not NUL-terminated");
}

static void rejects_bytes_after_name_terminator(void **state)
{
	struct fixture *f = *state;

	f->m.data[MBT_OFF_KERNEL + 60] = 'z';
	expect_error(&f->m, "byte 180: kernel_release has bytes after");
}

static void rejects_nonzero_reserved_header_bytes(void **state)
{
	struct fixture *f = *state;

	f->m.data[200] = 1;
	expect_error(&f->m, "byte 200: reserved header byte");
}

static void rejects_empty_and_oversized_chunks(void **state)
{
	struct fixture *f = *state;

	put32(f->m.data + CHUNK0 + 8, 0);
	expect_error(&f->m, "byte 264: chunk of 0 pages");
	put32(f->m.data + CHUNK0 + 8, 5000);
	expect_error(&f->m, "byte 264: chunk of 5000 pages (allowed 1..4096)");
}

static void rejects_nonzero_chunk_reserved(void **state)
{
	struct fixture *f = *state;

	put32(f->m.data + CHUNK0 + 12, 9);
	expect_error(&f->m, "byte 268: reserved chunk field is 9");
}

static void rejects_overlapping_chunks(void **state)
{
	struct fixture *f = *state;
	size_t chunk1 = CHUNK0_DIGESTS + 4096 * 4;

	put64(f->m.data + chunk1, 100);
	fix_checksum(&f->m);
	expect_error(&f->m, "chunk starts at pfn 100, before the end of the "
		     "previous chunk (4096)");
}

static void rejects_pfn_overflow(void **state)
{
	struct fixture *f = *state;

	put64(f->m.data + CHUNK0, UINT64_MAX - 10);
	expect_error(&f->m, "byte 256: chunk at pfn");
}

static void rejects_bitmap_bits_past_the_chunk(void **state)
{
	struct mbt_trace t;
	struct membuf m;
	size_t last_chunk;

	(void)state;
	make_trace(&t, MB_ALGO_XXH32, 0);
	encode(&t, &m);
	/* The last chunk has 500 pages: bit 500 lives in byte 62. */
	last_chunk = m.len - MBT_TRAILER_SIZE - 500 * 4 -
		     MBT_BITMAP_BYTES(500) - MBT_CHUNK_HEADER_SIZE;
	m.data[last_chunk + MBT_CHUNK_HEADER_SIZE + 62] |= 0x10;
	expect_error(&m, "free bitmap has bits set past the chunk's 500 pages");
	mbt_trace_free(&t);
	free(m.data);
}

static void rejects_digest_on_unhashed_free_page(void **state)
{
	struct fixture *f = *state;

	/* Page 3 is free and the trace does not hash free pages. */
	f->m.data[CHUNK0_DIGESTS + 3 * 4] = 1;
	expect_error(&f->m, "byte 796: free page (pfn 3) has a digest");
}

static void rejects_bad_trailer_magic(void **state)
{
	struct fixture *f = *state;

	f->m.data[f->m.len - MBT_TRAILER_SIZE] = 'X';
	expect_error(&f->m, "bad trailer magic");
}

static void rejects_trailer_counts_that_disagree(void **state)
{
	struct fixture *f = *state;
	uint8_t *tr = f->m.data + f->m.len - MBT_TRAILER_SIZE;

	put64(tr + MBT_OFF_T_USED, 1);
	expect_error(&f->m, "trailer says 1 used pages, the chunks hold 9000");
	put64(tr + MBT_OFF_T_USED, 9000);
	put64(tr + MBT_OFF_T_FREE, 7);
	expect_error(&f->m, "trailer says 7 free pages, the chunks hold 1500");
}

static void rejects_checksum_mismatch(void **state)
{
	struct fixture *f = *state;
	char want[64];

	f->m.data[CHUNK0_DIGESTS + 100] ^= 1;
	snprintf(want, sizeof(want), "byte %zu: checksum mismatch",
		 f->m.len - 8);
	expect_error(&f->m, want);
}

static void rejects_truncation_anywhere(void **state)
{
	struct fixture *f = *state;
	static const struct {
		size_t len;
		const char *want;
	} cuts[] = {
		{ 100, "ends inside the header" },
		{ 256, "ends inside a chunk header" },
		{ 260, "ends inside a chunk header" },
		{ 1000, "ends inside a chunk's pages" },
	};
	size_t i;

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct mbt_parser *p = mbt_parser_new(NULL, NULL, 0);
		struct mb_err err;

		assert_int_equal(mbt_parser_feed(p, f->m.data, cuts[i].len,
						 &err), 0);
		assert_int_equal(mbt_parser_finish(p, NULL, &err), -1);
		if (!strstr(err.msg, cuts[i].want) ||
		    !strstr(err.msg, "truncated"))
			fail_msg("cut at %zu: got \"%s\"", cuts[i].len,
				 err.msg);
		mbt_parser_free(p);
	}
	/* With the size known too. */
	f->m.len -= 1;
	expect_error(&f->m, "truncated: the input ends inside the trailer");
	f->m.len -= 10000;
	expect_error(&f->m, "byte 24: page count 10500 needs");
}

static void truncated_trailer_is_reported(void **state)
{
	struct fixture *f = *state;
	struct mbt_parser *p = mbt_parser_new(NULL, NULL, 0);
	struct mb_err err;

	assert_int_equal(mbt_parser_feed(p, f->m.data, f->m.len - 5, &err), 0);
	assert_int_equal(mbt_parser_finish(p, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "ends inside the trailer"));
	mbt_parser_free(p);
}

static void rejects_data_after_trailer(void **state)
{
	struct fixture *f = *state;
	struct mbt_parser *p = mbt_parser_new(NULL, NULL, 0);
	struct mb_err err;
	char want[64];

	assert_int_equal(mbt_parser_feed(p, f->m.data, f->m.len, &err), 0);
	assert_int_equal(mbt_parser_feed(p, "x", 1, &err), -1);
	snprintf(want, sizeof(want), "byte %zu: unexpected data after",
		 f->m.len);
	assert_non_null(strstr(err.msg, want));
	/* The error sticks. */
	assert_int_equal(mbt_parser_finish(p, NULL, &err), -1);
	mbt_parser_free(p);
}

static void rejects_empty_input(void **state)
{
	struct membuf m = { (uint8_t *)"", 0, 0 };

	(void)state;
	expect_error(&m, "empty input");
}

static int fail_on_second_chunk(void *ctx, const struct mbt_info *info,
				uint64_t pfn, uint32_t count,
				const uint8_t *bitmap, const uint8_t *digests,
				struct mb_err *err)
{
	int *calls = ctx;

	(void)info, (void)pfn, (void)count, (void)bitmap, (void)digests;
	if (++*calls == 2)
		return mb_errf(err, "consumer refused chunk %d", *calls);
	return 0;
}

static void consumer_errors_stop_the_parser(void **state)
{
	struct fixture *f = *state;
	const struct mbt_parser_ops ops = { .chunk = fail_on_second_chunk };
	int calls = 0;
	struct mbt_parser *p = mbt_parser_new(&ops, &calls, f->m.len);
	struct mb_err err;

	assert_int_equal(mbt_parser_feed(p, f->m.data, f->m.len, &err), -1);
	assert_string_equal(err.msg, "consumer refused chunk 2");
	assert_int_equal(calls, 2);
	mbt_parser_free(p);
}

static void writer_refuses_inconsistent_use(void **state)
{
	struct mbt_info info;
	struct mbt_writer w;
	struct membuf m = { 0 };
	struct mb_err err;
	uint64_t d[4] = { 1, 2, 3, 4 };

	(void)state;
	mbt_info_init(&info, MB_ALGO_SUPERFAST);
	info.page_count = 0;
	assert_int_equal(mbt_writer_begin(&w, &info, mem_sink, &m, &err), -1);
	assert_non_null(strstr(err.msg, "page count 0"));
	info.page_count = 4;
	info.algorithm = 9;
	assert_int_equal(mbt_writer_begin(&w, &info, mem_sink, &m, &err), -1);
	info.algorithm = MB_ALGO_SUPERFAST;
	assert_int_equal(mbt_writer_begin(&w, &info, mem_sink, &m, &err), 0);
	assert_int_equal(mbt_writer_chunk(&w, 10, 2, NULL, d, &err), 0);
	assert_int_equal(mbt_writer_chunk(&w, 11, 1, NULL, d, &err), -1);
	assert_non_null(strstr(err.msg, "overlaps"));
	assert_int_equal(mbt_writer_chunk(&w, 20, 3, NULL, d, &err), -1);
	assert_non_null(strstr(err.msg, "exceeds"));
	assert_int_equal(mbt_writer_end(&w, 0, &err), -1);
	assert_non_null(strstr(err.msg, "2 pages written, the header promised 4"));
	mbt_writer_release(&w);
	free(m.data);
}

static void load_detects_both_formats_and_reports_paths(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/mbt-test-XXXXXX", path[64];
	struct mbt_trace t;
	struct mb_err err;
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.mbt", dir);
	assert_int_equal(mbt_write_file(path, &f->t, &err), 0);
	assert_int_equal(mb_trace_load(path, &t, &err), 0);
	assert_same_trace(&f->t, &t);
	mbt_trace_free(&t);
	unlink(path);

	snprintf(path, sizeof(path), "%s/VM7.txt3", dir);
	fp = fopen(path, "w");
	fputs("10\n20\n", fp);
	fclose(fp);
	assert_int_equal(mb_trace_load(path, &t, &err), 0);
	assert_string_equal(t.info.vm_name, "VM7");
	assert_int_equal(t.info.page_count, 2);
	mbt_trace_free(&t);

	fp = fopen(path, "w");
	fputs("hello\n", fp);
	fclose(fp);
	assert_int_equal(mb_trace_load(path, &t, &err), -1);
	assert_non_null(strstr(err.msg, "VM7.txt3: byte 0: neither"));
	fp = fopen(path, "w");
	fclose(fp);
	assert_int_equal(mb_trace_load(path, &t, &err), -1);
	assert_non_null(strstr(err.msg, "empty file"));
	unlink(path);

	assert_int_equal(mb_trace_load(dir, &t, &err), -1);
	assert_non_null(strstr(err.msg, "is a directory"));
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(mb_trace_load(path, &t, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
}

static void write_file_leaves_no_temporary_on_failure(void **state)
{
	struct mbt_trace empty = { 0 };
	struct mb_err err;

	(void)state;
	assert_int_equal(mbt_write_file("/nonexistent-dir/x.mbt", &empty, &err),
			 -1);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.mbt"));
}

static void uuids_parse_and_format(void **state)
{
	uint8_t u[16];
	char s[37];

	(void)state;
	assert_int_equal(mb_uuid_parse("5F0E1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B",
				       u), 0);
	mb_uuid_format(u, s);
	assert_string_equal(s, "5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
	assert_false(mb_uuid_is_zero(u));
	assert_int_equal(mb_uuid_parse("5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5", u),
			 -1);
	assert_int_equal(mb_uuid_parse("5f0e1a2b+3c4d-4e5f-8a9b-0c1d2e3f4a5b",
				       u), -1);
	assert_int_equal(mb_uuid_parse("5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5g",
				       u), -1);
	assert_int_equal(mb_uuid_parse("../../etc/passwd", u), -1);
	assert_int_equal(mb_uuid_parse(NULL, u), -1);
	memset(u, 0, 16);
	assert_true(mb_uuid_is_zero(u));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(round_trip_keeps_every_field),
		T(round_trip_64bit_and_free_hashed),
		T(byte_at_a_time_feeding_gives_the_same_result),
		T(rejects_bad_magic),
		T(bad_magic_names_text_traces),
		T(rejects_unknown_version),
		T(rejects_wrong_header_size),
		T(rejects_unknown_algorithm),
		T(rejects_digest_size_mismatch),
		T(rejects_unknown_flags),
		T(rejects_other_page_sizes),
		T(rejects_bad_chunk_max),
		T(rejects_absurd_page_counts),
		T(rejects_page_count_the_size_cannot_hold),
		T(page_count_is_checked_against_chunks_when_size_unknown),
		T(rejects_unterminated_names),
		T(rejects_bytes_after_name_terminator),
		T(rejects_nonzero_reserved_header_bytes),
		T(rejects_empty_and_oversized_chunks),
		T(rejects_nonzero_chunk_reserved),
		T(rejects_overlapping_chunks),
		T(rejects_pfn_overflow),
		T(rejects_bitmap_bits_past_the_chunk),
		T(rejects_digest_on_unhashed_free_page),
		T(rejects_bad_trailer_magic),
		T(rejects_trailer_counts_that_disagree),
		T(rejects_checksum_mismatch),
		T(rejects_truncation_anywhere),
		T(truncated_trailer_is_reported),
		T(rejects_data_after_trailer),
		T(rejects_empty_input),
		T(consumer_errors_stop_the_parser),
		T(writer_refuses_inconsistent_use),
		T(load_detects_both_formats_and_reports_paths),
		T(write_file_leaves_no_temporary_on_failure),
		T(uuids_parse_and_format),
	};

	return cmocka_run_group_tests_name("mbt", tests, NULL, NULL);
}
