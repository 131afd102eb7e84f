// SPDX-License-Identifier: GPL-2.0
/*
 * test_textsafe.c - UTF-8 validation and the escaping of untrusted text
 * (lib/textsafe.c): what the daemons refuse in VM names, and what logs and
 * tables print instead of control characters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "textsafe.h"

static void valid(const char *s, size_t len, bool want)
{
	if (mb_utf8_valid(s, len) != want)
		fail_msg("mb_utf8_valid(\"%.*s\"): expected %s", (int)len, s,
			 want ? "valid" : "invalid");
}

static void utf8_validation(void **state)
{
	(void)state;
	valid("", 0, true);
	valid("vm-one", 6, true);
	valid("gr\xc3\xbc\xc3\x9f", 6, true);		/* grüß */
	valid("\xe2\x82\xac", 3, true);			/* € */
	valid("\xf0\x9f\x98\x80", 4, true);		/* U+1F600 */
	valid("\xf4\x8f\xbf\xbf", 4, true);		/* U+10FFFF */
	valid("\xff", 1, false);
	valid("\x80", 1, false);			/* lone continuation */
	valid("\xc3", 1, false);			/* truncated */
	valid("\xc0\xaf", 2, false);			/* overlong '/' */
	valid("\xe0\x80\xaf", 3, false);		/* overlong '/' */
	valid("\xed\xa0\x80", 3, false);		/* surrogate */
	valid("\xf4\x90\x80\x80", 4, false);		/* > U+10FFFF */
	valid("ok\xe2\x82", 4, false);
}

static void escapes(const char *in, const char *want)
{
	char out[256];

	mb_escape_text(out, sizeof(out), in, strlen(in));
	if (strcmp(out, want))
		fail_msg("escaping \"%s\": expected \"%s\", got \"%s\"", in,
			 want, out);
}

static void escaping(void **state)
{
	(void)state;
	escapes("plain name", "plain name");
	escapes("gr\xc3\xbc\xc3\x9f", "gr\xc3\xbc\xc3\x9f");
	escapes("a\nmb-controld: forged", "a\\nmb-controld: forged");
	escapes("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07");
	escapes("tab\there\r", "tab\\there\\r");
	escapes("del\x7f", "del\\x7f");
	escapes("c1 \xc2\x9b" "31m", "c1 \\xc2\\x9b31m");	/* U+009B, CSI */
	escapes("bad \xff\xfe", "bad \\xff\\xfe");
}

static void escaping_truncates_at_a_boundary(void **state)
{
	char out[8];
	size_t n;

	(void)state;
	n = mb_escape_text(out, sizeof(out), "abc\n\n\n", 6);
	assert_string_equal(out, "abc\\n\\n");
	assert_int_equal(n, 7);
	n = mb_escape_text(out, sizeof(out), "abcdef\xc3\xbc", 8);
	assert_string_equal(out, "abcdef");	/* ü does not fit whole */
	n = mb_escape_text(out, 6, "ab\x1b", 3);
	assert_string_equal(out, "ab");		/* "\x1b" needs 4 bytes */
	assert_int_equal(n, 2);
}

static void safe_text(void **state)
{
	const char *name = "vm-7";
	char buf[64];

	(void)state;
	assert_ptr_equal(mb_safe_text(name, buf, sizeof(buf)), name);
	assert_string_equal(mb_safe_text("x\x1b[31my", buf, sizeof(buf)),
			    "x\\x1b[31my");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(escaping),
		cmocka_unit_test(escaping_truncates_at_a_boundary),
		cmocka_unit_test(safe_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
