// SPDX-License-Identifier: GPL-2.0
/*
 * test_textfmt_fast.c - the text parser's whole-line fast path against its
 * byte-by-byte path and against strtoul.
 *
 * lib/textfmt.c parses simple lines (1 to 10 digits, a 32-bit value, '\n')
 * sixteen bytes at a time and leaves everything else to a byte-wise state
 * machine; fed one byte at a time it never takes the fast path. Random
 * traces of every kind of line (every digit count, leading zeros, the
 * largest value and the first too large, 11 and 12 digits, bad bytes in
 * every position, carriage returns, empty lines in the middle and at the
 * end, a last line without newline) must give the same result both ways:
 * the same digests, or the same error message naming the same line. Valid
 * traces must also give what strtoul reads, with and without the array
 * reserved from the size.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbt.h"

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Append one random line to @buf (a valid one unless @bad). */
static size_t add_line(char *buf, size_t off, bool bad)
{
	static const char junk[] = "x -+\r\t.\x80\x01/:";
	unsigned int kind = next() % 8, digits, i;
	char line[32];
	int n;

	if (!bad || kind < 3) {
		uint64_t v, lim = 1;

		/* A value of 1 to 10 digits (at most 2^32 - 1). */
		digits = 1 + next() % 10;
		for (i = 0; i < digits; i++)
			lim *= 10;
		v = next() % (lim < 4294967296ULL ? lim : 4294967296ULL);
		if (next() % 16 == 0)
			v = 4294967295ULL;
		n = snprintf(line, sizeof(line), "%" PRIu64, v);
		if (next() % 8 == 0 && n < 11)	/* leading zeros */
			n = snprintf(line, sizeof(line), "%0*" PRIu64,
				     (int)(n + 1 + next() % (12 - n)), v);
	} else if (kind == 3) {
		n = snprintf(line, sizeof(line), "%" PRIu64,
			     (uint64_t)(4294967296ULL + next() % 5705032704ULL));
	} else if (kind == 4) {
		n = 0;		/* an empty line */
	} else {
		n = snprintf(line, sizeof(line), "%" PRIu64,
			     (uint64_t)(next() % 100000000000ULL));
		line[next() % (n + 1)] = junk[next() % (sizeof(junk) - 1)];
		n = (int)strlen(line);
		if (n == 0)
			line[n++] = 'x';
	}
	memcpy(buf + off, line, (size_t)n);
	buf[off + n] = '\n';
	return off + (size_t)n + 1;
}

struct parse {
	int ret;
	struct mbt_trace t;
	struct mb_err err;
};

static void parse(const char *buf, size_t len, bool bytewise, bool reserve,
		  struct parse *out)
{
	struct mb_text_parser p;
	size_t i;

	memset(out, 0, sizeof(*out));
	mb_text_init(&p);
	if (reserve)
		assert_int_equal(mb_text_reserve(&p, (len + 1) / 2, &out->err), 0);
	if (bytewise) {
		for (i = 0; i < len && out->ret == 0; i++)
			out->ret = mb_text_feed(&p, buf + i, 1, &out->err);
	} else {
		out->ret = mb_text_feed(&p, buf, len, &out->err);
	}
	if (out->ret == 0)
		out->ret = mb_text_finish(&p, "t", &out->t, &out->err);
	mb_text_release(&p);
}

/* What strtoul makes of the lines of a valid trace. */
static size_t reference(const char *buf, size_t len, uint64_t *out)
{
	size_t n = 0, i = 0;

	while (i < len && buf[i] != '\n') {
		char *end;

		out[n++] = strtoull(buf + i, &end, 10);
		i = (size_t)(end - buf) + 1;
	}
	return n;
}

static void fast_and_bytewise_paths_agree(void **state)
{
	enum { CASES = 3000, LINES = 60 };
	char *buf = malloc(LINES * 16 + 16);
	uint64_t *want = malloc(LINES * sizeof(*want));
	unsigned int c, accepted = 0, refused = 0;

	(void)state;
	assert_non_null(buf);
	assert_non_null(want);
	for (c = 0; c < CASES; c++) {
		bool bad = c % 2, reserve = c % 3 == 0;
		unsigned int lines = 1 + next() % LINES, l;
		struct parse fast, slow;
		size_t len = 0;

		for (l = 0; l < lines; l++)
			len = add_line(buf, len, bad && next() % 4 == 0);
		if (next() % 4 == 0)
			len--;			/* no final newline */
		else if (next() % 4 == 0)
			buf[len++] = '\n';	/* an empty line at the end */
		parse(buf, len, false, reserve, &fast);
		parse(buf, len, true, reserve, &slow);
		if (fast.ret != slow.ret)
			fail_msg("case %u: the whole input gives %d (%s), byte by "
				 "byte %d (%s)\n%.*s", c, fast.ret, fast.err.msg,
				 slow.ret, slow.err.msg, (int)len, buf);
		if (fast.ret < 0) {
			if (strcmp(fast.err.msg, slow.err.msg))
				fail_msg("case %u: messages differ: '%s' and '%s'",
					 c, fast.err.msg, slow.err.msg);
			refused++;
			continue;
		}
		accepted++;
		assert_true(fast.t.info.page_count == slow.t.info.page_count);
		assert_memory_equal(fast.t.digests, slow.t.digests,
				    fast.t.info.page_count * 8);
		if (!bad) {
			size_t n = reference(buf, len, want);

			assert_true(fast.t.info.page_count == n);
			assert_memory_equal(fast.t.digests, want, n * 8);
		}
		mbt_trace_free(&fast.t);
		mbt_trace_free(&slow.t);
	}
	print_message("%u traces accepted, %u refused, both ways alike\n",
		      accepted, refused);
	/* Both kinds must have been exercised. */
	assert_true(accepted > CASES / 3);
	assert_true(refused > CASES / 10);
	free(buf);
	free(want);
}

static void edges_of_the_fast_path(void **state)
{
	static const struct {
		const char *text;
		int ret;
		uint64_t last;		/* the last digest, when accepted */
		const char *msg;	/* part of the message, when refused */
	} cases[] = {
		{ "4294967295\n4294967295\n4294967295\n", 0, 4294967295ULL, NULL },
		{ "1\n22\n333\n4444\n55555\n666666\n7777777\n88888888\n", 0,
		  88888888, NULL },
		{ "999999999\n1000000000\n00000000001\n000000000012\n", 0, 12,
		  NULL },
		{ "1234567890\n1234567890\n4294967296\n", -1, 0,
		  "line 3: value exceeds" },
		{ "1234567890\n12345678x0\n1234567890\n", -1, 0,
		  "line 2: unexpected character 'x'" },
		{ "1234567890\n1234567890\n\n1234567890\n", -1, 0,
		  "line 3: empty line" },
		{ "1234567890\r\n1234567890\n1234567890\n", -1, 0,
		  "line 1: carriage return" },
		{ "12345678901234567890\n1\n2\n3\n4\n5\n6\n", -1, 0,
		  "line 1: value exceeds" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parse r;

		parse(cases[i].text, strlen(cases[i].text), false, true, &r);
		if (r.ret != cases[i].ret)
			fail_msg("'%s': expected %d, got %d (%s)", cases[i].text,
				 cases[i].ret, r.ret, r.err.msg);
		if (r.ret == 0) {
			assert_true(r.t.digests[r.t.info.page_count - 1] ==
				    cases[i].last);
			mbt_trace_free(&r.t);
		} else if (!strstr(r.err.msg, cases[i].msg)) {
			fail_msg("'%s': expected a message with '%s', got '%s'",
				 cases[i].text, cases[i].msg, r.err.msg);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fast_and_bytewise_paths_agree),
		cmocka_unit_test(edges_of_the_fast_path),
	};

	return cmocka_run_group_tests_name("textfmt_fast", tests, NULL, NULL);
}
