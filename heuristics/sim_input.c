// SPDX-License-Identifier: GPL-2.0
/*
 * sim_input.c - the .dat and page-trace readers and the phase generator of
 * sim_input.h. Reading files (and xz) is in sim_load.c; everything here
 * works on memory, so the fuzz targets link it alone.
 *
 * Both readers number pages densely with an open-addressing hash table
 * (linear probing, keys stored as page + 1 so that 0 marks a free slot,
 * grown at half full): a page's dense number is its index in page_of[].
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_input.h"
#include "synth.h"

void mb_sim_input_free(struct mb_sim_input *in)
{
	size_t i;

	for (i = 0; i < in->count; i++) {
		free(in->vms[i].refs);
		free(in->vms[i].page_of);
	}
	free(in->vms);
	in->vms = NULL;
	in->count = 0;
}

int mb_sim_input_append(struct mb_sim_input *to, struct mb_sim_input *from,
			struct mb_err *err)
{
	struct mb_sim_vm *v;

	if (!from->count)
		return 0;
	v = realloc(to->vms, (to->count + from->count) * sizeof(*v));
	if (!v)
		return mb_errf(err, "out of memory for %zu VMs",
			       to->count + from->count);
	memcpy(v + to->count, from->vms, from->count * sizeof(*v));
	to->vms = v;
	to->count += from->count;
	free(from->vms);
	from->vms = NULL;
	from->count = 0;
	return 0;
}

/* ---- dense page numbering ---- */

struct page_map {
	uint64_t *keys;		/* page + 1; 0 = free */
	uint32_t *ids;
	uint64_t slots;		/* a power of two, or 0 */
};

static uint64_t slot_of(uint64_t key, uint64_t slots)
{
	key ^= key >> 31;
	key *= UINT64_C(0x9e3779b97f4a7c15);
	key ^= key >> 29;
	return key & (slots - 1);
}

static int map_grow(struct page_map *m, struct mb_err *err)
{
	uint64_t slots = m->slots ? m->slots * 2 : 1024, i, s;
	uint64_t *keys = calloc(slots, sizeof(*keys));
	uint32_t *ids = malloc(slots * sizeof(*ids));

	if (!keys || !ids) {
		free(keys);
		free(ids);
		return mb_errf(err, "out of memory for a page table of %llu "
			       "slots", (unsigned long long)slots);
	}
	for (i = 0; i < m->slots; i++) {
		if (!m->keys[i])
			continue;
		for (s = slot_of(m->keys[i], slots); keys[s]; s = (s + 1) & (slots - 1))
			;
		keys[s] = m->keys[i];
		ids[s] = m->ids[i];
	}
	free(m->keys);
	free(m->ids);
	m->keys = keys;
	m->ids = ids;
	m->slots = slots;
	return 0;
}

/*
 * Append a reference to @page to @vm, numbering the page if new. @cap and
 * @page_cap are the allocated lengths of refs and page_of.
 */
static int add_ref(struct page_map *m, struct mb_sim_vm *vm, uint64_t *cap,
		   uint64_t *page_cap, uint64_t page, struct mb_err *err)
{
	uint64_t key = page + 1, s;
	uint32_t id;

	if (key == 0)	/* page UINT64_MAX: store it as the key 0 cannot */
		key = UINT64_MAX;
	if ((uint64_t)vm->pages * 2 >= m->slots && map_grow(m, err))
		return -1;
	for (s = slot_of(key, m->slots); m->keys[s] && m->keys[s] != key;
	     s = (s + 1) & (m->slots - 1))
		;
	if (m->keys[s]) {
		id = m->ids[s];
	} else {
		if (vm->pages == UINT32_MAX)
			return mb_errf(err, "more than %u distinct pages",
				       UINT32_MAX - 1);
		if (vm->pages == *page_cap) {
			uint64_t nc = *page_cap ? *page_cap * 2 : 256;
			uint64_t *p = realloc(vm->page_of, nc * sizeof(*p));

			if (!p)
				return mb_errf(err, "out of memory for %llu "
					       "pages", (unsigned long long)nc);
			vm->page_of = p;
			*page_cap = nc;
		}
		id = vm->pages++;
		vm->page_of[id] = page;
		m->keys[s] = key;
		m->ids[s] = id;
	}
	if (vm->n == MB_SIM_MAX_REFS)
		return mb_errf(err, "more than %llu references",
			       (unsigned long long)MB_SIM_MAX_REFS);
	if (vm->n == *cap) {
		uint64_t nc = *cap ? *cap * 2 : 1024;
		uint32_t *r = realloc(vm->refs, nc * sizeof(*r));

		if (!r)
			return mb_errf(err, "out of memory for %llu references",
				       (unsigned long long)nc);
		vm->refs = r;
		*cap = nc;
	}
	vm->refs[vm->n++] = id;
	return 0;
}

static void map_free(struct page_map *m)
{
	free(m->keys);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

/* ---- .dat ---- */

struct dat_lexer {
	const char *p, *end;
	uint64_t line;		/* of the current token, 1-based */
	uint64_t tok_line;	/* of the last token read (where a short file ends) */
	uint64_t field;		/* its position on that line, 1-based */
	uint64_t next_field;
	char tok[48];		/* the token, cut for messages */
};

/* The next token, or 0 at the end of the buffer. */
static int dat_next(struct dat_lexer *l, const char **start, size_t *len)
{
	while (l->p < l->end && isspace((unsigned char)*l->p)) {
		if (*l->p == '\n') {
			l->line++;
			l->next_field = 1;
		}
		l->p++;
	}
	if (l->p == l->end)
		return 0;
	*start = l->p;
	l->tok_line = l->line;
	while (l->p < l->end && !isspace((unsigned char)*l->p))
		l->p++;
	*len = (size_t)(l->p - *start);
	l->field = l->next_field++;
	snprintf(l->tok, sizeof(l->tok), "%.*s%s", (int)(*len < 40 ? *len : 40),
		 *start, *len > 40 ? "..." : "");
	return 1;
}

/* A decimal int: 0 and the value, 1 not a number, 2 out of range. */
static int dat_number(const char *s, size_t len, long long *out)
{
	size_t i = 0;
	long long v = 0;
	bool neg = false;

	if (len && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == len)
		return 1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 1;
		if (v > INT_MAX)
			continue;	/* keep checking that it is a number */
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT_MAX)
		return 2;
	*out = neg ? -v : v;
	return 0;
}

static int dat_fail(struct mb_err *err, const struct dat_lexer *l,
		    const char *what, int status, long long value)
{
	if (status == 1)
		return mb_errf(err, "line %llu, field %llu: %s '%s' is not a "
			       "number", (unsigned long long)l->line,
			       (unsigned long long)l->field, what, l->tok);
	if (status == 2)
		return mb_errf(err, "line %llu, field %llu: %s %s is larger "
			       "than %d", (unsigned long long)l->line,
			       (unsigned long long)l->field, what, l->tok,
			       INT_MAX);
	return mb_errf(err, "line %llu, field %llu: %s is negative (%lld)",
		       (unsigned long long)l->line,
		       (unsigned long long)l->field, what, value);
}

int mb_dat_parse(const char *buf, size_t len, struct mb_sim_input *in,
		 struct mb_err *err)
{
	struct dat_lexer l = { buf, buf + len, 1, 1, 0, 1, "" };
	struct page_map map = { NULL, NULL, 0 };
	const char *tok;
	size_t toklen, vm;
	long long count, length, page, j;
	char what[64];
	int st;

	memset(in, 0, sizeof(*in));
	if (!dat_next(&l, &tok, &toklen))
		return mb_errf(err, "line 1: the file is empty: a .dat starts "
			       "with the VM count");
	st = dat_number(tok, toklen, &count);
	if (st || count < 0)
		return dat_fail(err, &l, "the VM count", st, count);
	if (count == 0)
		return mb_errf(err, "line %llu, field %llu: the VM count is 0: "
			       "a simulation needs at least one VM",
			       (unsigned long long)l.line,
			       (unsigned long long)l.field);
	if (count > MB_DAT_MAX_VMS)
		return mb_errf(err, "line %llu, field %llu: the VM count %lld "
			       "is more than %d", (unsigned long long)l.line,
			       (unsigned long long)l.field, count,
			       MB_DAT_MAX_VMS);
	in->vms = calloc((size_t)count, sizeof(*in->vms));
	if (!in->vms)
		return mb_errf(err, "out of memory for %lld VMs", count);
	in->count = (size_t)count;
	for (vm = 0; vm < in->count; vm++) {
		struct mb_sim_vm *v = &in->vms[vm];
		uint64_t cap = 0, page_cap = 0;

		snprintf(v->name, sizeof(v->name), "VM%zu", vm);
		if (!dat_next(&l, &tok, &toklen)) {
			mb_errf(err, "line %llu: the file ends before the length "
				"of VM %zu (the VM count says %lld VMs)",
				(unsigned long long)l.tok_line, vm, count);
			goto fail;
		}
		snprintf(what, sizeof(what), "the length of VM %zu", vm);
		st = dat_number(tok, toklen, &length);
		if (st || length < 0) {
			dat_fail(err, &l, what, st, length);
			goto fail;
		}
		for (j = 0; j < length; j++) {
			if (!dat_next(&l, &tok, &toklen)) {
				mb_errf(err, "line %llu: VM %zu's length says "
					"%lld pages but the file ends after %lld",
					(unsigned long long)l.tok_line, vm, length, j);
				goto fail;
			}
			snprintf(what, sizeof(what), "page %lld of VM %zu", j, vm);
			st = dat_number(tok, toklen, &page);
			if (st || page < 0) {
				dat_fail(err, &l, what, st, page);
				goto fail;
			}
			if (add_ref(&map, v, &cap, &page_cap, (uint64_t)page, err)) {
				mb_err_prefix(err, "VM %zu", vm);
				goto fail;
			}
		}
		map_free(&map);
	}
	if (dat_next(&l, &tok, &toklen)) {
		mb_errf(err, "line %llu, field %llu: '%s' after the last VM's "
			"pages: the VM count says %lld VMs, or a length is "
			"short", (unsigned long long)l.line,
			(unsigned long long)l.field, l.tok, count);
		goto fail;
	}
	return 0;
fail:
	map_free(&map);
	mb_sim_input_free(in);
	return -1;
}

/* ---- page traces ---- */

static const char pagetrace_magic[] = "# mbuddy page trace 1";

void mb_pagetrace_init(struct mb_pagetrace_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->line = 1;
}

static int parse_line(struct mb_pagetrace_parser *p, char *s, size_t len,
		      struct mb_err *err)
{
	struct page_map map = { p->keys, p->ids, p->slots };
	uint64_t page = 0;
	size_t i = 0, digits, sig;
	int ret;

	while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (p->line == 1) {
		if (len != sizeof(pagetrace_magic) - 1 ||
		    memcmp(s, pagetrace_magic, len))
			return mb_errf(err, "line 1: not a page trace (its first "
				       "line must be '%s')", pagetrace_magic);
		return 0;
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len)
		return 0;
	if (s[i] == '#') {
		if (len - i > 8 && !memcmp(s + i, "# name: ", 8))
			snprintf(p->name, sizeof(p->name), "%.*s",
				 (int)(len - i - 8), s + i + 8);
		return 0;
	}
	if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	for (digits = 0, sig = 0; i < len && isxdigit((unsigned char)s[i]);
	     i++, digits++) {
		int c = (unsigned char)s[i];

		if (sig || c != '0')
			sig++;
		page = page << 4 | (uint64_t)(c <= '9' ? c - '0' :
					       (c | 0x20) - 'a' + 10);
	}
	if (!digits || i < len) {
		s[len] = 0;
		return mb_errf(err, "line %llu: '%.40s' is not a hexadecimal "
			       "page number", (unsigned long long)p->line, s);
	}
	if (sig > 16)
		return mb_errf(err, "line %llu: page number of %zu hex digits "
			       "is longer than 64 bits",
			       (unsigned long long)p->line, sig);
	ret = add_ref(&map, &p->vm, &p->cap, &p->page_cap, page, err);
	p->keys = map.keys;
	p->ids = map.ids;
	p->slots = map.slots;
	if (ret)
		mb_err_prefix(err, "line %llu", (unsigned long long)p->line);
	return ret;
}

int mb_pagetrace_feed(struct mb_pagetrace_parser *p, const void *data,
		      size_t len, struct mb_err *err)
{
	const char *c = data, *end = c + len;

	if (p->failed)
		return mb_errf(err, "the page trace reader already failed");
	while (c < end) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		size_t piece = (size_t)((nl ? nl : end) - c);

		if (p->line_len + piece >= sizeof(p->buf))
			p->overlong = true;
		else
			memcpy(p->buf + p->line_len, c, piece);
		p->line_len += piece;
		c += piece;
		if (!nl)
			break;
		c++;
		if (p->overlong) {
			p->failed = true;
			return mb_errf(err, "line %llu: longer than %zu bytes",
				       (unsigned long long)p->line,
				       sizeof(p->buf) - 1);
		}
		if (parse_line(p, p->buf, p->line_len, err)) {
			p->failed = true;
			return -1;
		}
		p->line++;
		p->line_len = 0;
	}
	if (p->overlong) {
		p->failed = true;
		return mb_errf(err, "line %llu: longer than %zu bytes",
			       (unsigned long long)p->line, sizeof(p->buf) - 1);
	}
	return 0;
}

int mb_pagetrace_finish(struct mb_pagetrace_parser *p, const char *name,
			struct mb_sim_vm *vm, struct mb_err *err)
{
	if (p->failed)
		return mb_errf(err, "the page trace reader already failed");
	if (p->line_len) {	/* a last line without its newline */
		if (parse_line(p, p->buf, p->line_len, err)) {
			p->failed = true;
			return -1;
		}
		p->line++;
		p->line_len = 0;
	}
	if (p->line == 1) {
		p->failed = true;
		return mb_errf(err, "line 1: the file is empty: a page trace "
			       "starts with '%s'", pagetrace_magic);
	}
	if (!p->vm.n) {
		p->failed = true;
		return mb_errf(err, "line %llu: the trace ends without a page "
			       "reference", (unsigned long long)p->line);
	}
	*vm = p->vm;
	snprintf(vm->name, sizeof(vm->name), "%s",
		 p->name[0] ? p->name : name ? name : "trace");
	memset(&p->vm, 0, sizeof(p->vm));
	p->cap = p->page_cap = 0;
	return 0;
}

void mb_pagetrace_release(struct mb_pagetrace_parser *p)
{
	free(p->keys);
	free(p->ids);
	free(p->vm.refs);
	free(p->vm.page_of);
	p->keys = NULL;
	p->ids = NULL;
	p->vm.refs = NULL;
	p->vm.page_of = NULL;
	p->slots = 0;
}

/* ---- the phase generator ---- */

void mb_phases_defaults(struct mb_phase_spec *s)
{
	s->vms = 2;
	s->accesses = 100000;
	s->small = 32;
	s->large = 256;
	s->phases = 8;
	s->skew = 2;
	s->seed = 1;
}

static int phase_uint(const char *key, const char *val, uint64_t max,
		      uint64_t *out, struct mb_err *err)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (!*val || *end || errno || val[0] == '-' || v > max)
		return mb_errf(err, "%s=%s: expected a whole number from 0 to "
			       "%llu", key, val, (unsigned long long)max);
	*out = v;
	return 0;
}

int mb_phases_parse(const char *text, struct mb_phase_spec *s,
		    struct mb_err *err)
{
	char *copy = strdup(text), *item, *save = NULL;
	int ret = 0;

	if (!copy)
		return mb_errf(err, "out of memory");
	for (item = strtok_r(copy, ",", &save); item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		uint64_t v = 0;

		if (!eq) {
			ret = mb_errf(err, "'%s': expected key=value", item);
			break;
		}
		*eq++ = 0;
		if (!strcmp(item, "vms")) {
			ret = phase_uint(item, eq, MB_DAT_MAX_VMS, &v, err);
			s->vms = (uint32_t)v;
		} else if (!strcmp(item, "accesses")) {
			ret = phase_uint(item, eq, MB_SIM_MAX_REFS, &v, err);
			s->accesses = v;
		} else if (!strcmp(item, "small")) {
			ret = phase_uint(item, eq, UINT32_MAX - 1, &v, err);
			s->small = (uint32_t)v;
		} else if (!strcmp(item, "large")) {
			ret = phase_uint(item, eq, UINT32_MAX - 1, &v, err);
			s->large = (uint32_t)v;
		} else if (!strcmp(item, "phases")) {
			ret = phase_uint(item, eq, 1000000, &v, err);
			s->phases = (uint32_t)v;
		} else if (!strcmp(item, "seed")) {
			ret = phase_uint(item, eq, UINT64_MAX, &v, err);
			s->seed = v;
		} else if (!strcmp(item, "skew")) {
			char *end;

			s->skew = strtod(eq, &end);
			if (!*eq || *end || !(s->skew >= 1 && s->skew <= 100))
				ret = mb_errf(err, "skew=%s: expected a number "
					      "from 1 to 100", eq);
		} else {
			ret = mb_errf(err, "unknown key '%s' (vms, accesses, "
				      "small, large, phases, skew, seed)", item);
		}
	}
	free(copy);
	if (!ret && (!s->vms || !s->accesses || !s->phases || !s->small ||
		     s->large < s->small))
		ret = mb_errf(err, "need vms, accesses, phases and small of at "
			      "least 1, and large >= small");
	return ret;
}

int mb_phases_generate(const struct mb_phase_spec *s, struct mb_sim_input *in,
		       struct mb_err *err)
{
	uint32_t v;

	memset(in, 0, sizeof(*in));
	if (!s->vms || !s->phases || !s->small || s->large < s->small ||
	    s->accesses > MB_SIM_MAX_REFS)
		return mb_errf(err, "phase generator: bad parameters");
	in->vms = calloc(s->vms, sizeof(*in->vms));
	if (!in->vms)
		return mb_errf(err, "out of memory for %u VMs", s->vms);
	in->count = s->vms;
	for (v = 0; v < s->vms; v++) {
		struct mb_sim_vm *vm = &in->vms[v];
		uint64_t state = s->seed ^ (UINT64_C(0x5bd1e995) * (v + 1)), t;
		uint32_t p;

		snprintf(vm->name, sizeof(vm->name), "synth%u", v);
		vm->refs = malloc((s->accesses ? s->accesses : 1) * sizeof(*vm->refs));
		vm->page_of = malloc((size_t)s->large * sizeof(*vm->page_of));
		if (!vm->refs || !vm->page_of) {
			mb_sim_input_free(in);
			return mb_errf(err, "out of memory for %llu references",
				       (unsigned long long)s->accesses);
		}
		vm->n = s->accesses;
		vm->pages = s->large;
		for (p = 0; p < s->large; p++)
			vm->page_of[p] = p;
		for (t = 0; t < s->accesses; t++) {
			uint64_t phase = t * s->phases / s->accesses;
			uint32_t ws = (phase + v) % s->vms == 0 ? s->large : s->small;
			double u = pow(mb_synth_uniform(&state), s->skew);
			uint32_t page = (uint32_t)(u * ws);

			vm->refs[t] = page < ws ? page : ws - 1;
		}
	}
	return 0;
}
