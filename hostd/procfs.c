// SPDX-License-Identifier: GPL-2.0
/*
 * procfs.c - what mb-hostd reads about a QEMU process in /proc
 * (hostd.h): its mappings (smaps: maps plus each mapping's madvise()
 * flags), the process a thread belongs to
 * (status), its start time (stat: a pid that is reused gets another) and
 * its command line (the domain's uuid, as libvirt passes it).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hostd.h"

/* Hex digits (1 to 16) at *@p up to @end, stopping at the first other. */
static bool hex_field(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	unsigned int n = 0;

	*v = 0;
	while (s < end && isxdigit((unsigned char)*s)) {
		if (++n > 16)
			return false;
		*v = *v << 4 | (uint64_t)(isdigit((unsigned char)*s) ?
			*s - '0' : tolower((unsigned char)*s) - 'a' + 10);
		s++;
	}
	*p = s;
	return n > 0;
}

static bool dec_field(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (s == end || !isdigit((unsigned char)*s))
		return false;
	while (s < end && isdigit((unsigned char)*s)) {
		if (*v > (UINT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*p = s;
	return true;
}

static bool blanks(const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == *p)
		return false;
	*p = s;
	return true;
}

static int parse_maps_line(const char *s, size_t n, struct vma *v)
{
	const char *p = s, *end = s + n;
	uint64_t dev_major, dev_minor;
	size_t plen;

	memset(v, 0, sizeof(*v));
	if (!hex_field(&p, end, &v->start) || p == end || *p++ != '-' ||
	    !hex_field(&p, end, &v->end) || !blanks(&p, end))
		return -1;
	if (end - p < 4 || (p[0] != 'r' && p[0] != '-') ||
	    (p[1] != 'w' && p[1] != '-') || (p[2] != 'x' && p[2] != '-') ||
	    (p[3] != 'p' && p[3] != 's'))
		return -1;
	v->read = p[0] == 'r';
	v->write = p[1] == 'w';
	v->shared = p[3] == 's';
	p += 4;
	if (!blanks(&p, end) || !hex_field(&p, end, &v->file_offset) ||
	    !blanks(&p, end) || !hex_field(&p, end, &dev_major) ||
	    p == end || *p++ != ':' || !hex_field(&p, end, &dev_minor) ||
	    !blanks(&p, end) || !dec_field(&p, end, &v->inode))
		return -1;
	if (v->end <= v->start || (v->start | v->end) & 0xfff)
		return -1;
	if (p < end && !blanks(&p, end))
		return -1;
	plen = end - p;
	if (plen >= sizeof(v->path))
		plen = sizeof(v->path) - 1;	/* only shown in messages */
	memcpy(v->path, p, plen);
	v->path[plen] = '\0';
	return 0;
}

/* "Name: value" (a ':' before any '-'), not "start-end perms ...". */
static bool field_line(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n), *dash = memchr(s, '-', n);

	return colon && colon > s && isalpha((unsigned char)s[0]) &&
	       (!dash || dash > colon);
}

/*
 * A "Name: value" line of smaps after its mapping: "VmFlags: rd wr mr mw
 * me dc ac hg mg" gives the madvise() flags QEMU set; the others (sizes)
 * are not needed.
 */
static void smaps_field(const char *s, size_t n, struct vma *v)
{
	const char *p = s + 8, *end = s + n;

	if (n < 8 || memcmp(s, "VmFlags:", 8))
		return;
	v->flags_known = true;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (end - p >= 2 && (end - p == 2 || p[2] == ' ')) {
			if (p[0] == 'd' && p[1] == 'c')
				v->dontfork = true;
			if (p[0] == 'm' && p[1] == 'g')
				v->mergeable = true;
		}
		while (p < end && *p != ' ')
			p++;
	}
}

int maps_parse(const char *text, size_t len, struct vma **out, size_t *n,
	       struct mb_err *err)
{
	struct vma *v = NULL, *g;
	size_t count = 0, cap = 0, pos = 0;
	unsigned int lineno = 0;

	*out = NULL;
	*n = 0;
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t sn = nl ? (size_t)(nl - s) : len - pos;

		pos += sn + (nl ? 1 : 0);
		lineno++;
		if (!sn)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 256;
			if (cap > (1 << 22)) {
				free(v);
				return mb_errf(err, "maps: more than %d "
					       "mappings", 1 << 22);
			}
			g = realloc(v, cap * sizeof(*g));
			if (!g) {
				free(v);
				return mb_errf(err, "maps: out of memory");
			}
			v = g;
		}
		if (count && field_line(s, sn)) {
			smaps_field(s, sn, &v[count - 1]);
			continue;
		}
		if (parse_maps_line(s, sn, &v[count]) ||
		    (count && v[count].start < v[count - 1].end)) {
			free(v);
			return mb_errf(err, "maps line %u '%.*s': expected "
				       "START-END PERMS OFFSET DEV INODE [PATH]"
				       " in address order", lineno,
				       (int)(sn > 80 ? 80 : sn), s);
		}
		count++;
	}
	*out = v;
	*n = count;
	return 0;
}

int proc_parse_tgid(const char *text, size_t len, pid_t *tgid,
		    struct mb_err *err)
{
	size_t pos = 0;

	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t sn = nl ? (size_t)(nl - s) : len - pos;
		const char *p = s + 5, *end = s + sn;
		uint64_t v;

		pos += sn + (nl ? 1 : 0);
		if (sn < 6 || memcmp(s, "Tgid:", 5))
			continue;
		blanks(&p, end);
		if (!dec_field(&p, end, &v) || p != end || !v || v > INT32_MAX)
			return mb_errf(err, "status: 'Tgid:' line '%.*s' has "
				       "no process id", (int)(sn > 60 ? 60 : sn),
				       s);
		*tgid = (pid_t)v;
		return 0;
	}
	return mb_errf(err, "status: no 'Tgid:' line");
}

int proc_parse_starttime(const char *text, size_t len, uint64_t *start,
			 struct mb_err *err)
{
	const char *p = NULL, *end = text + len;
	size_t i;
	int field;

	/* "PID (COMM) STATE PPID ...": COMM may hold anything but NUL. */
	for (i = len; i > 0; i--)
		if (text[i - 1] == ')') {
			p = text + i;
			break;
		}
	if (!p)
		return mb_errf(err, "stat: no ')' after the command name");
	/* Field 3 (state) follows; field 22 is the start time. */
	for (field = 3; field < 22; field++) {
		if (!blanks(&p, end))
			goto bad;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
	}
	if (!blanks(&p, end) || !dec_field(&p, end, start))
		goto bad;
	return 0;
bad:
	return mb_errf(err, "stat: fewer than 22 fields, or field 22 (start "
		       "time) is not a number");
}

bool proc_cmdline_has_uuid(const char *cmdline, size_t len, const char *uuid)
{
	const char *p = cmdline, *end = cmdline + len, *prev = NULL;

	while (p < end) {
		const char *z = memchr(p, '\0', end - p);
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);

		if (prev && (!strcmp(prev, "-uuid") || !strcmp(prev, "--uuid"))
		    && n == 36 && !strncasecmp(p, uuid, 36))
			return true;
		if ((n == 42 && !strncmp(p, "-uuid=", 6) &&
		     !strncasecmp(p + 6, uuid, 36)) ||
		    (n == 43 && !strncmp(p, "--uuid=", 7) &&
		     !strncasecmp(p + 7, uuid, 36)))
			return true;
		prev = z ? p : NULL;
		if (!z)
			break;
		p = z + 1;
	}
	return false;
}

char *proc_read(pid_t pid, const char *file, size_t max, size_t *len,
		struct mb_err *err)
{
	char path[64], *buf = NULL, *g;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096 + 1) {
			cap = cap ? cap * 2 : 16384;
			if (cap > max + 4096 + 1)
				cap = max + 4096 + 1;
			g = realloc(buf, cap);
			if (!g) {
				mb_errf(err, "%s: out of memory", path);
				goto fail;
			}
			buf = g;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			mb_errf(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			mb_errf(err, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

int proc_starttime(pid_t pid, uint64_t *start, struct mb_err *err)
{
	size_t len;
	char *text = proc_read(pid, "stat", 4096, &len, err);
	int ret;

	if (!text)
		return -1;
	ret = proc_parse_starttime(text, len, start, err);
	free(text);
	return ret ? mb_err_prefix(err, "process %d", (int)pid) : 0;
}
