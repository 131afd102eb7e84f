// SPDX-License-Identifier: GPL-2.0
/*
 * routes.c - the route matcher (routes.h). Paths are short and tables
 * small, so matching is a walk over the table, segment by segment, with
 * backtracking only when parameters may span segments.
 */
#include <stdio.h>
#include <string.h>

#include "routes.h"

#define MAX_SEGMENTS 16

struct segments {
	size_t n;
	const char *s[MAX_SEGMENTS];
	size_t len[MAX_SEGMENTS];
};

/*
 * Split "/a/b/c" into its segments; "a//b" has an empty one, which no
 * route matches, and one trailing '/' is ignored. -1 when too many.
 */
static int split(const char *path, struct segments *out)
{
	const char *p = path + 1, *e;

	out->n = 0;
	while (*p) {
		if (out->n == MAX_SEGMENTS)
			return -1;
		e = strchr(p, '/');
		out->s[out->n] = p;
		out->len[out->n++] = e ? (size_t)(e - p) : strlen(p);
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static bool is_param(const char *s, size_t len)
{
	return len >= 3 && s[0] == '{' && s[len - 1] == '}';
}

struct matcher {
	const struct segments *path, *pat;
	bool span;			/* parameters may span segments */
	size_t nparams;
	size_t from[ROUTE_PARAMS], to[ROUTE_PARAMS];	/* path segments */
	size_t pat_of[ROUTE_PARAMS];
};

static bool match_from(struct matcher *m, size_t pi, size_t si)
{
	const struct segments *pat = m->pat, *path = m->path;
	size_t end, max;

	if (pi == pat->n)
		return si == path->n;
	if (si == path->n)
		return false;
	if (!is_param(pat->s[pi], pat->len[pi])) {
		if (pat->len[pi] != path->len[si] ||
		    memcmp(pat->s[pi], path->s[si], pat->len[pi]))
			return false;
		return match_from(m, pi + 1, si + 1);
	}
	if (m->nparams == ROUTE_PARAMS || !path->len[si])
		return false;
	max = m->span ? path->n - (pat->n - pi - 1) : si + 1;
	for (end = si + 1; end <= max; end++) {
		size_t k = m->nparams++;

		m->from[k] = si;
		m->to[k] = end;
		m->pat_of[k] = pi;
		if (match_from(m, pi + 1, end))
			return true;
		m->nparams--;
	}
	return false;
}

static size_t literals(const struct segments *pat)
{
	size_t i, n = 0;

	for (i = 0; i < pat->n; i++)
		n += !is_param(pat->s[i], pat->len[i]);
	return n;
}

static bool method_ok(const struct route *r, const char *method)
{
	return !strcmp(r->method, method) ||
	       (!strcmp(method, "HEAD") && !strcmp(r->method, "GET"));
}

/* Copy the parameters of @mt into @m. */
static void fill(const struct matcher *mt, const struct segments *pat,
		 struct route_match *m)
{
	size_t k, used = 0;

	m->nparams = mt->nparams;
	for (k = 0; k < mt->nparams; k++) {
		const struct segments *p = mt->path;
		const char *start = p->s[mt->from[k]];
		const char *end = p->s[mt->to[k] - 1] + p->len[mt->to[k] - 1];
		size_t len = (size_t)(end - start);

		if (used + len + 1 > sizeof(m->buf))
			len = sizeof(m->buf) - used - 1;
		memcpy(m->buf + used, start, len);
		m->buf[used + len] = '\0';
		m->values[k] = m->buf + used;
		m->names[k] = pat->s[mt->pat_of[k]] + 1;
		m->name_len[k] = pat->len[mt->pat_of[k]] - 2;
		used += len + 1;
	}
}

enum route_result route_match(const struct route *table, size_t n,
			      const char *method, const char *path,
			      const struct route **route,
			      struct route_match *m, char *allow,
			      size_t allow_size)
{
	struct segments segs, pat;
	int pass;
	size_t i;

	memset(m, 0, sizeof(*m));
	*route = NULL;
	if (allow_size)
		allow[0] = '\0';
	if (path[0] != '/' || split(path, &segs))
		return ROUTE_NO_PATH;
	for (pass = 0; pass < 2; pass++) {
		const struct route *best = NULL;
		struct matcher best_m;
		size_t best_lit = 0, len = 0;
		bool any = false;

		for (i = 0; i < n; i++) {
			struct matcher mt = { .path = &segs, .pat = &pat,
					      .span = pass == 1 };
			size_t lit;

			if (split(table[i].pattern, &pat) ||
			    !match_from(&mt, 0, 0))
				continue;
			any = true;
			lit = literals(&pat);
			if (!method_ok(&table[i], method)) {
				if (!strstr(allow, table[i].method) &&
				    len < allow_size)
					len += snprintf(allow + len,
						allow_size - len, "%s%s%s",
						len ? ", " : "",
						table[i].method,
						!strcmp(table[i].method, "GET")
						? ", HEAD" : "");
				continue;
			}
			if (!best || lit > best_lit) {
				best = &table[i];
				best_lit = lit;
				best_m = mt;
			}
		}
		if (best) {
			split(best->pattern, &pat);
			best_m.pat = &pat;
			fill(&best_m, &pat, m);
			*route = best;
			if (allow_size)
				allow[0] = '\0';
			return ROUTE_FOUND;
		}
		if (any)
			return ROUTE_NO_METHOD;
	}
	return ROUTE_NO_PATH;
}

const char *route_param(const struct route_match *m, const char *name)
{
	size_t k;

	for (k = 0; k < m->nparams; k++)
		if (strlen(name) == m->name_len[k] &&
		    !memcmp(m->names[k], name, m->name_len[k]))
			return m->values[k];
	return NULL;
}
