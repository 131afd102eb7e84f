// SPDX-License-Identifier: GPL-2.0
/*
 * test_textfmt.c - the legacy text trace format: parsing, every
 * error (with its line number), and byte-identical export.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "mbt.h"

static void parse_ok(const char *text, uint64_t count)
{
	struct mbt_trace t;
	struct mb_err err;

	if (mb_text_read_mem(text, strlen(text), "VM1", &t, &err) < 0)
		fail_msg("\"%s\" was refused: %s", text, err.msg);
	assert_int_equal(t.info.page_count, count);
	assert_int_equal(t.info.algorithm, MB_ALGO_SUPERFAST);
	assert_true(t.info.flags & MBT_FLAG_SYNTHETIC_PFN);
	assert_string_equal(t.info.vm_name, "VM1");
	mbt_trace_free(&t);
}

static void parse_fails(const char *text, size_t len, const char *want)
{
	struct mbt_trace t;
	struct mb_err err = { "" };

	if (mb_text_read_mem(text, len, NULL, &t, &err) == 0)
		fail_msg("accepted bad text; expected \"%s\"", want);
	if (!strstr(err.msg, want))
		fail_msg("expected \"%s\", got \"%s\"", want, err.msg);
	assert_null(t.digests);
}

static void accepts_lines_with_and_without_final_newline(void **state)
{
	(void)state;
	parse_ok("1\n2\n3\n", 3);
	parse_ok("1\n2\n3", 3);
	parse_ok("0\n4294967295\n", 2);
	parse_ok("7\n\n\n", 1);	/* empty lines at the very end */
	parse_ok("007\n", 1);		/* leading zeros read as decimal */
}

static void values_are_kept_in_order(void **state)
{
	struct mbt_trace t;
	struct mb_err err;

	(void)state;
	assert_int_equal(mb_text_read_mem("5\n4294967295\n0\n5\n", 17, NULL,
					     &t, &err), 0);
	assert_int_equal(t.digests[0], 5);
	assert_int_equal(t.digests[1], 4294967295u);
	assert_int_equal(t.digests[2], 0);
	assert_int_equal(t.digests[3], 5);
	assert_int_equal(mbt_pfn(&t, 3), 3);
	assert_int_equal(t.info.used_pages, 4);
	mbt_trace_free(&t);
}

static void errors_name_the_line(void **state)
{
	(void)state;
	parse_fails("1\n2\nabc\n", 8, "line 3: unexpected character 'a'");
	parse_fails("1\n-2\n", 5, "line 2: unexpected character '-'");
	parse_fails("1\n 2\n", 5, "line 2: unexpected byte 0x20");
	parse_fails("1\n4294967296\n", 13, "line 2: value exceeds 4294967295");
	parse_fails("99999999999999999999999\n", 24, "line 1: value exceeds");
	parse_fails("1\n2\n\n3\n", 7, "line 3: empty line in the middle");
	parse_fails("1\n\n\n\n3\n", 7, "line 2: empty line in the middle");
	parse_fails("1\r\n2\r\n", 6, "line 1: carriage return");
	parse_fails("1\n2\0\n", 5, "line 2: unexpected byte 0x00");
	parse_fails("", 0, "no digests");
	parse_fails("\n\n", 2, "no digests");
}

static void streaming_across_buffer_boundaries(void **state)
{
	const char *text = "123456\n7\n89\n";
	struct mb_text_parser p;
	struct mbt_trace t;
	struct mb_err err;
	size_t i;

	(void)state;
	mb_text_init(&p);
	for (i = 0; i < strlen(text); i++)
		assert_int_equal(mb_text_feed(&p, text + i, 1, &err), 0);
	assert_int_equal(mb_text_finish(&p, "x", &t, &err), 0);
	assert_int_equal(t.info.page_count, 3);
	assert_int_equal(t.digests[0], 123456);
	assert_int_equal(t.digests[2], 89);
	mbt_trace_free(&t);
	mb_text_release(&p);
}

static void page_limit_is_enforced(void **state)
{
	struct mb_text_parser p;
	struct mb_err err;

	(void)state;
	mb_text_init(&p);
	p.max_count = 2;
	assert_int_equal(mb_text_feed(&p, "1\n2\n3\n", 6, &err), -1);
	assert_non_null(strstr(err.msg, "line 3: more than 2 digests"));
	/* Errors stick. */
	assert_int_equal(mb_text_feed(&p, "4\n", 2, &err), -1);
	mb_text_release(&p);
}

struct batches {
	uint64_t *d;
	uint64_t n;
	size_t most;		/* the largest batch */
	int fail_at;		/* refuse this call (1-based), 0: never */
	int calls;
};

static int keep_batch(void *ctx, const uint64_t *d, size_t n,
		      struct mb_err *err)
{
	struct batches *b = ctx;

	if (++b->calls == b->fail_at)
		return mb_errf(err, "sink refuses batch %d", b->calls);
	assert_true(n >= 1 && n <= MB_TEXT_BATCH);
	b->d = realloc(b->d, (b->n + n) * sizeof(*b->d));
	assert_non_null(b->d);
	memcpy(b->d + b->n, d, n * sizeof(*d));
	b->n += n;
	if (n > b->most)
		b->most = n;
	return 0;
}

/* Many lines of 1 to 10 digits, each a different number. */
static char *many_lines(size_t lines, size_t *len)
{
	char *text = malloc(lines * 11 + 1);
	size_t i, at = 0;

	assert_non_null(text);
	for (i = 0; i < lines; i++)
		at += (size_t)sprintf(text + at, "%u\n",
				      (unsigned int)((i * 2654435761u) >>
						     (i % 31)));
	*len = at;
	return text;
}

/*
 * Fed in one piece, a sink parser takes the fast paths too, across many
 * batches, and hands over exactly what the parser that keeps its digests
 * keeps; a failing sink stops it with the sink's message.
 */
static void sink_takes_whole_inputs_in_batches(void **state)
{
	struct batches b = { 0 };
	struct mb_text_parser p;
	struct mbt_trace t;
	struct mb_err err;
	size_t len, lines = 5 * MB_TEXT_BATCH + 77;
	char *text = many_lines(lines, &len);
	uint64_t i;

	(void)state;
	assert_int_equal(mb_text_read_mem(text, len, NULL, &t, &err), 0);
	mb_text_init(&p);
	p.sink = keep_batch;
	p.sink_ctx = &b;
	assert_int_equal(mb_text_feed(&p, text, len, &err), 0);
	assert_int_equal(mb_text_end(&p, &err), 0);
	assert_int_equal(p.count, lines);
	assert_int_equal(b.n, lines);
	assert_true(b.most > MB_TEXT_BATCH / 2);
	for (i = 0; i < lines; i++)
		assert_int_equal(b.d[i], t.digests[i]);
	mb_text_release(&p);
	free(b.d);

	memset(&b, 0, sizeof(b));
	b.fail_at = 3;
	mb_text_init(&p);
	p.sink = keep_batch;
	p.sink_ctx = &b;
	assert_int_equal(mb_text_feed(&p, text, len, &err), -1);
	assert_string_equal(err.msg, "sink refuses batch 3");
	assert_int_equal(mb_text_feed(&p, "1\n", 2, &err), -1);
	mb_text_release(&p);
	free(b.d);

	/* The page limit holds on the fast paths of a sink parser too. */
	memset(&b, 0, sizeof(b));
	mb_text_init(&p);
	p.sink = keep_batch;
	p.sink_ctx = &b;
	p.max_count = 1000;
	assert_int_equal(mb_text_feed(&p, text, len, &err), -1);
	assert_string_equal(err.msg, "line 1001: more than 1000 digests");
	mb_text_release(&p);
	free(b.d);
	mbt_trace_free(&t);
	free(text);
}

/* A text file through a sink: its description, and the same digests. */
static void load_sink_describes_a_text_trace(void **state)
{
	char path[] = "/tmp/mb-test-textsink-XXXXXX";
	struct batches b = { 0 };
	struct mbt_trace t, whole;
	struct mb_err err;
	size_t len, lines = 3 * MB_TEXT_BATCH + 5;
	char *text = many_lines(lines, &len);
	int fd = mkstemp(path);
	uint64_t i;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(mb_trace_load(path, &whole, &err), 0);
	assert_int_equal(mb_trace_load_sink(path, &t, keep_batch, &b, &err), 0);
	assert_null(t.digests);
	assert_int_equal(t.info.page_count, lines);
	assert_int_equal(t.info.used_pages, lines);
	assert_int_equal(t.info.algorithm, MB_ALGO_SUPERFAST);
	assert_int_equal(t.info.flags, whole.info.flags);
	assert_string_equal(t.info.vm_name, whole.info.vm_name);
	assert_int_equal(b.n, lines);
	for (i = 0; i < lines; i++)
		assert_int_equal(b.d[i], whole.digests[i]);
	free(b.d);
	mbt_trace_free(&t);
	mbt_trace_free(&whole);

	/* Errors are those of mb_trace_load(), path first. */
	memset(&b, 0, sizeof(b));
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "12\nx\n", 5), 5);
	close(fd);
	assert_int_equal(mb_trace_load_sink(path, &t, keep_batch, &b, &err),
			 -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "line 2: unexpected character 'x'"));
	unlink(path);
	free(b.d);
	free(text);
}

static char *export(const struct mbt_trace *t, bool include_free, int *ret)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct mb_err err;

	*ret = mb_text_write(f, t, include_free, &err);
	fclose(f);
	return out;
}

static void import_then_export_is_byte_identical(void **state)
{
	const char *canonical = "0\n1\n4294967295\n3735928559\n1\n";
	struct mbt_trace t;
	struct mb_err err;
	char *out;
	int ret;

	(void)state;
	assert_int_equal(mb_text_read_mem(canonical, strlen(canonical),
					     NULL, &t, &err), 0);
	out = export(&t, false, &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(out, canonical);
	free(out);
	mbt_trace_free(&t);
}

static void export_skips_free_pages_unless_asked(void **state)
{
	struct mbt_trace t;
	struct mb_err err;
	char *out;
	int ret;

	(void)state;
	assert_int_equal(mb_text_read_mem("10\n20\n30\n", 9, NULL, &t, &err),
			 0);
	t.free_bits[0] |= 2;	/* page 1 free */
	out = export(&t, false, &ret);
	assert_string_equal(out, "10\n30\n");
	free(out);
	out = export(&t, true, &ret);
	assert_string_equal(out, "10\n20\n30\n");
	free(out);
	t.info.algorithm = MB_ALGO_XXH64;
	out = export(&t, false, &ret);
	assert_int_equal(ret, -1);
	free(out);
	mbt_trace_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_lines_with_and_without_final_newline),
		cmocka_unit_test(values_are_kept_in_order),
		cmocka_unit_test(errors_name_the_line),
		cmocka_unit_test(streaming_across_buffer_boundaries),
		cmocka_unit_test(page_limit_is_enforced),
		cmocka_unit_test(sink_takes_whole_inputs_in_batches),
		cmocka_unit_test(load_sink_describes_a_text_trace),
		cmocka_unit_test(import_then_export_is_byte_identical),
		cmocka_unit_test(export_skips_free_pages_unless_asked),
	};

	return cmocka_run_group_tests_name("textfmt", tests, NULL, NULL);
}
