// SPDX-License-Identifier: GPL-2.0
/*
 * qemu.c - parsers of what QEMU answers mb-hostd (hostd.h): the RAM
 * blocks of `info ramblock`, the flat view of `info mtree -f`, the words
 * of `xp /Ngx`, and QMP's JSON answers.
 *
 * QEMU's human monitor output is meant for people, so the parsers are
 * strict about what they rely on (the hexadecimal fields, the column
 * order the header names) and lenient about what they do not (spacing,
 * names wider than their column, accelerator names after a range). Every
 * number is checked for overflow; every error names the line.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hostd.h"

/* ---- lines and tokens ---- */

struct line_reader {
	const char *text;
	size_t len, pos;
	unsigned int lineno;
};

/* The next line (without its '\n') into *@s, *@n; false at the end. */
static bool next_line(struct line_reader *r, const char **s, size_t *n)
{
	const char *nl;

	if (r->pos >= r->len)
		return false;
	*s = r->text + r->pos;
	nl = memchr(*s, '\n', r->len - r->pos);
	*n = nl ? (size_t)(nl - *s) : r->len - r->pos;
	r->pos += *n + (nl ? 1 : 0);
	r->lineno++;
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	return true;
}

#define MAX_TOKENS 16

struct token {
	const char *s;
	size_t n;
};

/* Split @s on blanks into at most MAX_TOKENS tokens; -1 when more. */
static int tokenize(const char *s, size_t n, struct token *t)
{
	size_t i = 0;
	int k = 0;

	while (i < n) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i == n)
			break;
		if (k == MAX_TOKENS)
			return -1;
		t[k].s = s + i;
		while (i < n && !isspace((unsigned char)s[i]))
			i++;
		t[k].n = s + i - t[k].s;
		k++;
	}
	return k;
}

static bool token_is(const struct token *t, const char *word)
{
	return t->n == strlen(word) && !memcmp(t->s, word, t->n);
}

/* "0x" and 1 to 16 hex digits, exactly @n bytes. */
static bool parse_hex(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	*v = 0;
	for (i = 2; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		*v = *v << 4 | (uint64_t)(isdigit((unsigned char)s[i]) ?
			s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	return true;
}

/* Exactly 16 hex digits, no prefix (addresses in mtree and xp). */
static bool parse_hex16(const char *s, size_t n, uint64_t *v)
{
	char buf[19] = "0x";

	if (n != 16)
		return false;
	memcpy(buf + 2, s, 16);
	return parse_hex(buf, 18, v);
}

/* A size as QEMU prints one: "4 KiB", "2 MiB", "512 B". */
static bool parse_size(const struct token *num, const struct token *unit,
		       uint64_t *v)
{
	static const struct {
		const char *name;
		double factor;
	} units[] = {
		{ "B", 1 }, { "KiB", 1024.0 }, { "MiB", 1024.0 * 1024 },
		{ "GiB", 1024.0 * 1024 * 1024 },
		{ "TiB", 1024.0 * 1024 * 1024 * 1024 },
	};
	char buf[32], *end;
	double d;
	size_t i;

	if (num->n == 0 || num->n >= sizeof(buf))
		return false;
	memcpy(buf, num->s, num->n);
	buf[num->n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return false;
	errno = 0;
	d = strtod(buf, &end);
	if (errno || *end || !isfinite(d))
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!token_is(unit, units[i].name))
			continue;
		d *= units[i].factor;
		if (d < 1 || d > 0x1p62 || d != floor(d))
			return false;
		*v = (uint64_t)d;
		return true;
	}
	return false;
}

static int line_error(struct mb_err *err, const char *what,
		      const struct line_reader *r, const char *s, size_t n,
		      const char *why)
{
	return mb_errf(err, "%s line %u '%.*s': %s", what, r->lineno,
		       (int)(n > 80 ? 80 : n), s, why);
}

/* ---- info ramblock ---- */

int qemu_parse_ramblocks(const char *text, size_t len, struct ram_block **out,
			 size_t *n, struct mb_err *err)
{
	struct line_reader r = { .text = text, .len = len };
	struct ram_block *blocks = NULL, *b;
	size_t count = 0, cap = 0;
	bool header = false, hva = false, ro = false;
	struct token t[MAX_TOKENS];
	const char *s;
	size_t sn;
	int k, right;

	*out = NULL;
	*n = 0;
	while (next_line(&r, &s, &sn)) {
		k = tokenize(s, sn, t);
		if (k == 0)
			continue;
		if (!header) {
			/* Block Name  PSize  Offset  Used  Total [HVA [RO]] */
			if (k < 6 || !token_is(&t[0], "Block") ||
			    !token_is(&t[1], "Name") ||
			    !token_is(&t[2], "PSize") ||
			    !token_is(&t[3], "Offset") ||
			    !token_is(&t[4], "Used") ||
			    !token_is(&t[5], "Total"))
				return line_error(err, "info ramblock", &r, s,
						  sn, "not the header 'Block "
						  "Name PSize Offset Used "
						  "Total'");
			hva = k > 6 && token_is(&t[6], "HVA");
			ro = k > 7 && token_is(&t[7], "RO");
			if (k > 6 + hva + ro)
				return line_error(err, "info ramblock", &r, s,
						  sn, "unknown columns");
			header = true;
			continue;
		}
		right = 5 + hva + ro;	/* tokens right of the name */
		if (k < 0 || k < right + 1)
			goto bad_line;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct ram_block *g;

			if (ncap > 4096) {
				free(blocks);
				return mb_errf(err, "info ramblock: more than "
					       "4096 RAM blocks");
			}
			g = realloc(blocks, ncap * sizeof(*g));
			if (!g) {
				free(blocks);
				return mb_errf(err, "info ramblock: out of "
					       "memory");
			}
			blocks = g;
			cap = ncap;
		}
		b = &blocks[count];
		memset(b, 0, sizeof(*b));
		{
			/* The name: every token left of the fields, as is. */
			const struct token *last = &t[k - right - 1];
			size_t nlen = last->s + last->n - t[0].s;

			if (nlen >= sizeof(b->name)) {
				free(blocks);
				return line_error(err, "info ramblock", &r, s,
						  sn, "block name too long");
			}
			memcpy(b->name, t[0].s, nlen);
			b->name[nlen] = '\0';
		}
		{
			const struct token *f = &t[k - right];

			if (!parse_size(&f[0], &f[1], &b->page_size) ||
			    !parse_hex(f[2].s, f[2].n, &b->ram_offset) ||
			    !parse_hex(f[3].s, f[3].n, &b->used) ||
			    !parse_hex(f[4].s, f[4].n, &b->total) ||
			    (hva && !parse_hex(f[5].s, f[5].n, &b->hva)))
				goto bad_line;
		}
		if (b->used > b->total || b->total > (1ULL << 52))
			goto bad_line;
		count++;
		continue;
bad_line:
		free(blocks);
		return line_error(err, "info ramblock", &r, s, sn,
				  "expected NAME PSIZE UNIT 0xOFFSET 0xUSED "
				  "0xTOTAL");
	}
	if (!header)
		return mb_errf(err, "info ramblock: no header line (is this "
			       "QEMU's answer?)");
	if (!count)
		return mb_errf(err, "info ramblock: no RAM block");
	*out = blocks;
	*n = count;
	return 0;
}

/* ---- info mtree -f ---- */

static bool parse_kind(const char *s, size_t n, enum flat_kind *k)
{
	if (n > 3 && !memcmp(s, "nv-", 3)) {
		s += 3;
		n -= 3;
	}
	if (n == 3 && !memcmp(s, "i/o", 3))
		*k = FLAT_IO;
	else if (n == 3 && !memcmp(s, "ram", 3))
		*k = FLAT_RAM;
	else if (n == 3 && !memcmp(s, "rom", 3))
		*k = FLAT_ROM;
	else if (n == 4 && !memcmp(s, "romd", 4))
		*k = FLAT_ROMD;
	else if (n == 4 && !memcmp(s, "ramd", 4))
		*k = FLAT_RAMD;
	else
		return false;
	return true;
}

/* Accelerators QEMU names after a range that it has mapped for them. */
static bool accel_suffix(const char *s, size_t n)
{
	static const char *const names[] = { "KVM", "HVF", "WHPX", "NVMM",
					     "HAX", "Xen" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (n == strlen(names[i]) && !memcmp(s, names[i], n))
			return true;
	return false;
}

/*
 * "  START-END (prio P, KIND): NAME[ @OFFSET][ ACCEL...]" into @f.
 * 1 when it is a range line, 0 when it is another kind of line, -1 when
 * it starts like a range but is malformed.
 */
static int parse_range(const char *s, size_t n, struct flat_range *f)
{
	const char *p, *end = s + n, *name, *close;
	size_t nlen;
	long prio;
	char *e, num[16];

	while (s < end && *s == ' ')
		s++;
	if (end - s < 33 || !isxdigit((unsigned char)s[0]) || s[16] != '-')
		return 0;
	if (!parse_hex16(s, 16, &f->start) || !parse_hex16(s + 17, 16, &f->end))
		return -1;
	p = s + 33;
	if (end - p < 8 || memcmp(p, " (prio ", 7))
		return -1;
	p += 7;
	for (nlen = 0; p + nlen < end && nlen < sizeof(num) - 1 &&
	     (isdigit((unsigned char)p[nlen]) || (!nlen && p[nlen] == '-'));
	     nlen++)
		num[nlen] = p[nlen];
	num[nlen] = '\0';
	errno = 0;
	prio = strtol(num, &e, 10);
	if (!nlen || *e || errno || prio < INT32_MIN || prio > INT32_MAX)
		return -1;
	p += nlen;
	if (end - p < 2 || memcmp(p, ", ", 2))
		return -1;
	p += 2;
	close = memchr(p, ')', end - p);
	if (!close || !parse_kind(p, close - p, &f->kind))
		return -1;
	p = close + 1;
	if (end - p < 2 || memcmp(p, ": ", 2))
		return -1;
	name = p + 2;
	if (f->end < f->start)
		return -1;
	/* Accelerator names at the end, then " @OFFSET", then the name. */
	for (;;) {
		const char *sp = end;

		while (sp > name && sp[-1] != ' ')
			sp--;
		if (sp == name || !accel_suffix(sp, end - sp))
			break;
		end = sp - 1;
	}
	f->offset = 0;
	if (end - name >= 18 && end[-18] == ' ' && end[-17] == '@') {
		if (!parse_hex16(end - 16, 16, &f->offset))
			return -1;
		end -= 18;
	}
	nlen = end - name;
	if (!nlen || nlen >= sizeof(f->name))
		return -1;
	memcpy(f->name, name, nlen);
	f->name[nlen] = '\0';
	return 1;
}

int qemu_parse_flatview(const char *text, size_t len, const char *as,
			struct flat_range **out, size_t *n, struct mb_err *err)
{
	struct line_reader r = { .text = text, .len = len };
	struct flat_range *ranges = NULL, f;
	size_t count = 0, cap = 0, aslen = strlen(as);
	bool in_view = false, selected = false, found = false;
	const char *s;
	size_t sn;
	int ret;

	*out = NULL;
	*n = 0;
	while (next_line(&r, &s, &sn)) {
		const char *t = s;
		size_t tn = sn;

		while (tn && *t == ' ') {
			t++;
			tn--;
		}
		if (tn >= 10 && !memcmp(t, "FlatView #", 10)) {
			if (selected)
				break;	/* the wanted view has ended */
			in_view = true;
			continue;
		}
		if (!in_view)
			continue;
		/* AS "memory", root: system */
		if (tn >= aslen + 5 && !memcmp(t, "AS \"", 4) &&
		    !memcmp(t + 4, as, aslen) && t[4 + aslen] == '"' &&
		    (tn == aslen + 5 || t[5 + aslen] == ','))
			selected = found = true;
		if (!selected)
			continue;
		ret = parse_range(s, sn, &f);
		if (ret == 0)
			continue;
		if (ret < 0) {
			free(ranges);
			return line_error(err, "info mtree -f", &r, s, sn,
					  "expected START-END (prio P, KIND): "
					  "NAME [@OFFSET]");
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct flat_range *g;

			if (ncap > (1 << 20)) {
				free(ranges);
				return mb_errf(err, "info mtree -f: more than "
					       "%d ranges", 1 << 20);
			}
			g = realloc(ranges, ncap * sizeof(*g));
			if (!g) {
				free(ranges);
				return mb_errf(err, "info mtree -f: out of "
					       "memory");
			}
			ranges = g;
			cap = ncap;
		}
		if (count && f.start <= ranges[count - 1].end) {
			free(ranges);
			return line_error(err, "info mtree -f", &r, s, sn,
					  "range overlaps or precedes the one "
					  "before");
		}
		ranges[count++] = f;
	}
	if (!found)
		return mb_errf(err, "info mtree -f: no flat view of address "
			       "space \"%s\"", as);
	*out = ranges;
	*n = count;
	return 0;
}

/* ---- xp /Ngx ---- */

int qemu_parse_xp(const char *text, size_t len, uint64_t addr, uint8_t *buf,
		  size_t size, struct mb_err *err)
{
	struct line_reader r = { .text = text, .len = len };
	struct token t[MAX_TOKENS];
	uint64_t at = addr, w;
	size_t got = 0;
	const char *s;
	size_t sn;
	int k, i, b;

	while (got < size && next_line(&r, &s, &sn)) {
		k = tokenize(s, sn, t);
		if (k == 0)
			continue;
		if (t[0].n != 17 || t[0].s[16] != ':' ||
		    !parse_hex16(t[0].s, 16, &w))
			return line_error(err, "xp", &r, s, sn,
					  "expected ADDRESS: 0xWORD...");
		if (w != at)
			return line_error(err, "xp", &r, s, sn, at == addr ?
					  "not the address asked for" :
					  "not the next address");
		if (k == 1 || (k >= 2 && token_is(&t[1], "Cannot")))
			return line_error(err, "xp", &r, s, sn,
					  "QEMU cannot read this address");
		if (k < 0)
			return line_error(err, "xp", &r, s, sn,
					  "too many words");
		for (i = 1; i < k && got < size; i++) {
			if (t[i].n != 18 || !parse_hex(t[i].s, t[i].n, &w))
				return line_error(err, "xp", &r, s, sn,
						  "a word is not 0x and 16 hex "
						  "digits");
			for (b = 0; b < 8 && got < size; b++)
				buf[got++] = (uint8_t)(w >> (8 * b));
			at += 8;
		}
	}
	if (got < size)
		return mb_errf(err, "xp at 0x%" PRIx64 ": %zu of %zu bytes",
			       addr, got, size);
	return 0;
}

/* ---- QMP ---- */

json_t *qmp_parse_answer(const char *text, size_t len, struct mb_err *err)
{
	json_error_t je;
	json_t *j, *v, *cls, *desc;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		mb_errf(err, "QMP answer is not JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		mb_errf(err, "QMP answer is not an object");
		return NULL;
	}
	v = json_object_get(j, "return");
	if (v) {
		json_incref(v);
		json_decref(j);
		return v;
	}
	v = json_object_get(j, "error");
	cls = json_object_get(v, "class");
	desc = json_object_get(v, "desc");
	if (json_is_object(v))
		mb_errf(err, "QEMU: %s%s%.200s",
			json_is_string(cls) ? json_string_value(cls) : "error",
			json_is_string(desc) ? ": " : "",
			json_is_string(desc) ? json_string_value(desc) : "");
	else
		mb_errf(err, "QMP answer has neither \"return\" nor \"error\"");
	json_decref(j);
	return NULL;
}

char *qmp_hmp_text(const char *answer, size_t len, struct mb_err *err)
{
	json_t *ret = qmp_parse_answer(answer, len, err);
	char *text = NULL;

	if (!ret)
		return NULL;
	if (!json_is_string(ret))
		mb_errf(err, "human-monitor-command: \"return\" is not a "
			"string");
	else if (!(text = strndup(json_string_value(ret),
				  json_string_length(ret))))
		mb_errf(err, "human-monitor-command: out of memory");
	json_decref(ret);
	return text;
}

int qmp_thread_ids(const json_t *ret, pid_t *tids, int max,
		   struct mb_err *err)
{
	size_t i;
	int n = 0;

	if (!json_is_array(ret))
		return mb_errf(err, "query-cpus-fast: not a list");
	for (i = 0; i < json_array_size(ret); i++) {
		const json_t *cpu = json_array_get(ret, i);
		const json_t *tid = json_object_get(cpu, "thread-id");
		json_int_t v;

		if (!json_is_integer(tid))
			return mb_errf(err, "query-cpus-fast: cpu %zu has no "
				       "integer \"thread-id\"", i);
		v = json_integer_value(tid);
		if (v <= 0 || v > INT32_MAX)
			return mb_errf(err, "query-cpus-fast: cpu %zu: "
				       "thread-id %lld is not a thread id", i,
				       (long long)v);
		if (n < max)
			tids[n++] = (pid_t)v;
	}
	if (!n)
		return mb_errf(err, "query-cpus-fast: no vCPU");
	return n;
}

int qmp_uuid(const json_t *ret, uint8_t uuid[MBT_UUID_LEN],
	     struct mb_err *err)
{
	const json_t *u = json_object_get(ret, "UUID");

	if (!json_is_string(u) || json_string_length(u) != 36 ||
	    mb_uuid_parse(json_string_value(u), uuid))
		return mb_errf(err, "query-uuid: no \"UUID\" of the form "
			       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
	return 0;
}
