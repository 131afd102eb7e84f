// SPDX-License-Identifier: GPL-2.0
/*
 * procfs.c - strict parsers of the /proc files whose numbers mb-guestd
 * reports: meminfo, vmstat, pressure/memory (PSI), uptime and
 * sys/kernel/random/boot_id.
 *
 * They work on text in memory (collect.c reads the files), so that the
 * fuzz target and the tests feed them anything. Each one checks the whole
 * line of every field it reports against the format the kernel prints and
 * never trusts the text to be NUL-terminated. A line that does not parse
 * costs only the fields on it: the parser carries on, the other fields
 * are reported, and the first bad line is described in @err as
 * "name:line: what was expected" with the line quoted (non-printable
 * bytes shown as '?').
 *
 * Numbers with a fraction are read as "digits.digits" into one integer
 * mantissa and divided by a power of ten: with at most 15 digits both are
 * exact doubles, so the quotient is the double nearest to the text, the
 * same as strtod() gives but independent of the locale.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "guestd.h"

#define DECIMAL_DIGITS_MAX 15

/* A line of @text: [start, end), end excluding the '\n'. */
struct line {
	const char *p;
	size_t len;
	unsigned int number;	/* 1-based */
};

struct cursor {
	const char *text;
	size_t len, pos;
	unsigned int number;
};

static bool next_line(struct cursor *c, struct line *l)
{
	const char *nl;

	if (c->pos >= c->len)
		return false;
	l->p = c->text + c->pos;
	nl = memchr(l->p, '\n', c->len - c->pos);
	l->len = nl ? (size_t)(nl - l->p) : c->len - c->pos;
	c->pos += l->len + (nl ? 1 : 0);
	l->number = ++c->number;
	return true;
}

/* The line as it may appear in a message: at most 60 printable bytes. */
static void quote(const struct line *l, char out[64])
{
	size_t i, n = l->len < 60 ? l->len : 60;

	for (i = 0; i < n; i++)
		out[i] = l->p[i] >= 0x20 && l->p[i] < 0x7f ? l->p[i] : '?';
	if (l->len > n)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
}

/* Record the first problem; later ones only count. Returns -1. */
static int bad_line(struct mb_err *err, int *problems, const char *name,
		    const struct line *l, const char *expected)
{
	char q[64];

	if (!(*problems)++) {
		quote(l, q);
		mb_errf(err, "%s:%u: '%s': %s", name, l->number, q, expected);
	}
	return -1;
}

/* The parser's result: 0, or -1 with the count of other bad lines added. */
static int result(struct mb_err *err, int problems)
{
	size_t n;

	if (!problems)
		return 0;
	if (problems > 1 && err) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n,
			 " (and %d more malformed line%s)", problems - 1,
			 problems > 2 ? "s" : "");
	}
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * An unsigned decimal integer at @p (at most @n bytes) that fits int64_t.
 * Returns the number of bytes used, 0 when there is no such number.
 */
static size_t parse_count(const char *p, size_t n, int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && is_digit(p[i]); i++) {
		if (v > ((uint64_t)INT64_MAX - (p[i] - '0')) / 10)
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	*out = (int64_t)v;
	return i;
}

/* "digits" or "digits.digits", at most 15 digits in all. Bytes used or 0. */
static size_t parse_decimal(const char *p, size_t n, double *out)
{
	static const double ten[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
				      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
				      1e15 };
	uint64_t mantissa = 0;
	size_t i, digits = 0, fraction = 0;
	bool dot = false;

	for (i = 0; i < n; i++) {
		if (p[i] == '.' && !dot && digits) {
			dot = true;
			continue;
		}
		if (!is_digit(p[i]))
			break;
		if (++digits > DECIMAL_DIGITS_MAX)
			return 0;
		mantissa = mantissa * 10 + (p[i] - '0');
		fraction += dot;
	}
	if (!digits || (dot && !fraction))
		return 0;
	*out = (double)mantissa / ten[fraction];
	return i;
}

/* Match the literal @lit at l[*pos]; advances *pos. */
static bool take(const struct line *l, size_t *pos, const char *lit)
{
	size_t n = strlen(lit);

	if (l->len - *pos < n || memcmp(l->p + *pos, lit, n))
		return false;
	*pos += n;
	return true;
}

/* ---- meminfo, vmstat ---- */

int proc_parse_counters(const char *name, const char *text, size_t len,
			const struct proc_counter *want, size_t nwant,
			struct mb_err *err)
{
	struct cursor c = { .text = text, .len = len };
	struct line l;
	int problems = 0;
	size_t i;

	for (i = 0; i < nwant; i++)
		*want[i].value = -1;
	while (next_line(&c, &l)) {
		const struct proc_counter *w = NULL;
		size_t pos, used;
		int64_t v;

		for (i = 0; i < nwant && !w; i++) {
			size_t klen = strlen(want[i].key);

			if (l.len > klen && !memcmp(l.p, want[i].key, klen) &&
			    l.p[klen] == want[i].separator)
				w = &want[i];
		}
		if (!w || *w->value >= 0)
			continue;	/* not ours, or a repeat */
		pos = strlen(w->key) + 1;
		while (pos < l.len && l.p[pos] == ' ')
			pos++;
		used = parse_count(l.p + pos, l.len - pos, &v);
		pos += used;
		if (used && (!w->unit || take(&l, &pos, w->unit)) &&
		    pos == l.len) {
			*w->value = v;
			continue;
		}
		bad_line(err, &problems, name, &l, w->unit ?
			 "expected a count in kB" : "expected a count");
	}
	return result(err, problems);
}

/* ---- pressure/memory ---- */

static bool parse_psi_line(const struct line *l, size_t pos,
			   struct psi_line *out)
{
	static const char *const avg[] = { " avg10=", " avg60=", " avg300=" };
	double *dst[] = { &out->avg10, &out->avg60, &out->avg300 };
	size_t i, used;

	for (i = 0; i < 3; i++) {
		if (!take(l, &pos, avg[i]))
			return false;
		used = parse_decimal(l->p + pos, l->len - pos, dst[i]);
		if (!used || *dst[i] > 100)
			return false;
		pos += used;
	}
	if (!take(l, &pos, " total="))
		return false;
	used = parse_count(l->p + pos, l->len - pos, &out->total_us);
	return used && pos + used == l->len;
}

int proc_parse_psi(const char *name, const char *text, size_t len,
		   struct psi_memory *out, struct mb_err *err)
{
	struct cursor c = { .text = text, .len = len };
	struct line l;
	int problems = 0;

	memset(out, 0, sizeof(*out));
	while (next_line(&c, &l)) {
		struct psi_line *dst, parsed = { 0 };
		size_t pos = 0;

		if (take(&l, &pos, "some"))
			dst = &out->some;
		else if (take(&l, &pos, "full"))
			dst = &out->full;
		else {
			bad_line(err, &problems, name, &l,
				 "expected a 'some' or 'full' line");
			continue;
		}
		if (dst->reported) {
			bad_line(err, &problems, name, &l,
				 "a second line of this kind");
			continue;
		}
		if (!parse_psi_line(&l, pos, &parsed)) {
			bad_line(err, &problems, name, &l,
				 "expected 'avg10=P avg60=P avg300=P total=N' "
				 "(P a percentage, N microseconds)");
			continue;
		}
		*dst = parsed;
		dst->reported = true;
	}
	return result(err, problems);
}

/* ---- uptime, boot_id ---- */

int proc_parse_uptime(const char *name, const char *text, size_t len,
		      double *uptime_s, struct mb_err *err)
{
	struct cursor c = { .text = text, .len = len };
	struct line l;
	size_t used, pos;
	double idle;
	int problems = 0;

	*uptime_s = -1;
	if (!next_line(&c, &l))
		return 0;
	used = parse_decimal(l.p, l.len, uptime_s);
	pos = used;
	if (used && take(&l, &pos, " ") &&
	    (used = parse_decimal(l.p + pos, l.len - pos, &idle)) &&
	    pos + used == l.len && c.pos == c.len)
		return 0;
	*uptime_s = -1;
	return bad_line(err, &problems, name, &l,
			"expected 'UPTIME IDLE' in seconds");
}

int proc_parse_boot_id(const char *name, const char *text, size_t len,
		       char boot_id[37], struct mb_err *err)
{
	struct cursor c = { .text = text, .len = len };
	uint8_t uuid[MBT_UUID_LEN];
	char copy[37];
	struct line l;
	int problems = 0;

	boot_id[0] = '\0';
	if (!next_line(&c, &l))
		return 0;
	if (l.len == 36 && c.pos == c.len) {
		memcpy(copy, l.p, 36);
		copy[36] = '\0';
		if (!mb_uuid_parse(copy, uuid)) {
			mb_uuid_format(uuid, boot_id);
			return 0;
		}
	}
	return bad_line(err, &problems, name, &l, "expected a uuid");
}

/* ---- net/dev ---- */

int proc_parse_net_dev(const char *name, const char *text, size_t len,
		       int64_t *rx_bytes, int64_t *tx_bytes,
		       struct mb_err *err)
{
	struct cursor c = { .text = text, .len = len };
	int64_t rx = 0, tx = 0;
	bool any = false;
	struct line l;
	int problems = 0;

	*rx_bytes = *tx_bytes = -1;
	while (next_line(&c, &l)) {
		const char *colon = memchr(l.p, ':', l.len);
		int64_t field[9];
		size_t pos, used, start = 0;
		int f;

		if (!colon)
			continue;	/* the two header lines */
		while (start < (size_t)(colon - l.p) && l.p[start] == ' ')
			start++;
		if ((size_t)(colon - l.p) - start == 2 &&
		    !memcmp(l.p + start, "lo", 2))
			continue;
		pos = (size_t)(colon - l.p) + 1;
		for (f = 0; f < 9; f++) {
			while (pos < l.len && l.p[pos] == ' ')
				pos++;
			used = parse_count(l.p + pos, l.len - pos, &field[f]);
			if (!used)
				break;
			pos += used;
		}
		if (f < 9 || (pos < l.len && l.p[pos] != ' ')) {
			bad_line(err, &problems, name, &l, "expected an "
				 "interface and its counts");
			continue;
		}
		if (rx > INT64_MAX - field[0] || tx > INT64_MAX - field[8]) {
			bad_line(err, &problems, name, &l, "counts too large");
			continue;
		}
		rx += field[0];
		tx += field[8];
		any = true;
	}
	if (any) {
		*rx_bytes = rx;
		*tx_bytes = tx;
	}
	return result(err, problems);
}

/* The PSI trigger line of --pressure-trigger (guestd.h, pressure.c). */
int pressure_trigger_check(const char *trigger, struct mb_err *err)
{
	char kind[8], extra;
	unsigned long long stall, window;

	if (!trigger || strlen(trigger) >= 64 ||
	    sscanf(trigger, "%7s %llu %llu %c", kind, &stall, &window,
		   &extra) != 3 ||
	    (strcmp(kind, "some") && strcmp(kind, "full")))
		return mb_errf(err, "pressure trigger '%.64s' is not \"some|"
			       "full STALL_US WINDOW_US\"", trigger ? trigger :
			       "");
	/* The kernel's bounds: a window of 0.5 s to 10 s, stall within it. */
	if (window < 500000 || window > 10000000 || !stall || stall > window)
		return mb_errf(err, "pressure trigger '%s': the window must be "
			       "500000..10000000 us and the stall 1..window",
			       trigger);
	return 0;
}
