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
		cmocka_unit_test(import_then_export_is_byte_identical),
		cmocka_unit_test(export_skips_free_pages_unless_asked),
	};

	return cmocka_run_group_tests_name("textfmt", tests, NULL, NULL);
}
