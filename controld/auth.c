// SPDX-License-Identifier: GPL-2.0
/*
 * auth.c - the bearer-token table (see auth.h).
 *
 * Tokens are compared in constant time against every entry, so the time a
 * check takes does not tell how much of a guessed token was right. The
 * table is swapped whole under a rwlock on reload.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "mbt.h"

#define TOKEN_MAX 256

struct auth_entry {
	bool admin;
	char host[AUTH_HOST_MAX];	/* "" = not a host token */
	uint8_t uuid[MBT_UUID_LEN];
	char token[TOKEN_MAX];
	size_t len;
	char tenant[AUTH_TENANT_MAX];	/* "" = none */
	unsigned int lineno;
};

struct auth {
	char *path;
	bool insecure;
	pthread_rwlock_t lock;
	struct auth_entry *entries;
	unsigned int n;
};

static bool tenant_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

bool auth_tenant_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len >= AUTH_TENANT_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!tenant_char(s[i]))
			return false;
	return true;
}

/* The optional third field, "tenant=NAME", into @e->tenant. */
static int parse_tenant(const char *name, unsigned int lineno, const char *s,
			size_t len, struct auth_entry *e, struct mb_err *err)
{
	size_t i;

	if (len < 8 || memcmp(s, "tenant=", 7))
		return mb_errf(err, "%s:%u: third field '%.*s' is not "
			       "tenant=NAME", name, lineno,
			       (int)(len > 40 ? 40 : len), s);
	if (e->admin || e->host[0])
		return mb_errf(err, "%s:%u: %s token belongs to no tenant",
			       name, lineno, e->admin ? "an admin" : "a host");
	s += 7;
	len -= 7;
	if (len >= AUTH_TENANT_MAX)
		return mb_errf(err, "%s:%u: tenant name longer than %d "
			       "characters", name, lineno, AUTH_TENANT_MAX - 1);
	for (i = 0; i < len; i++)
		if (!tenant_char(s[i]))
			return mb_errf(err, "%s:%u: tenant name '%.*s' has a "
				       "character other than letters, digits, "
				       "'-', '_' and '.'", name, lineno,
				       (int)len, s);
	memcpy(e->tenant, s, len);
	e->tenant[len] = '\0';
	return 0;
}

/* "host=NAME": the token of a hypervisor host, for mb-hostd's traces. */
static int parse_host(const char *name, unsigned int lineno, const char *key,
		      struct auth_entry *e, struct mb_err *err)
{
	size_t len = strlen(key + 5), i;

	if (!len || len >= AUTH_HOST_MAX)
		return mb_errf(err, "%s:%u: host name must be 1 to %d "
			       "characters", name, lineno, AUTH_HOST_MAX - 1);
	for (i = 0; i < len; i++)
		if (!tenant_char(key[5 + i]))
			return mb_errf(err, "%s:%u: host name '%s' has a "
				       "character other than letters, digits, "
				       "'-', '_' and '.'", name, lineno,
				       key + 5);
	memcpy(e->host, key + 5, len + 1);
	return 0;
}

static int parse_line(const char *name, unsigned int lineno, const char *s,
		      size_t len, struct auth_entry *e, struct mb_err *err)
{
	size_t klen, vstart, vlen, tstart, tlen;
	char key[AUTH_HOST_MAX + 8];	/* a uuid, "admin" or "host=NAME" */

	for (klen = 0; klen < len && !isspace((unsigned char)s[klen]); klen++)
		;
	for (vstart = klen; vstart < len && isspace((unsigned char)s[vstart]);
	     vstart++)
		;
	for (vlen = 0; vstart + vlen < len &&
	     !isspace((unsigned char)s[vstart + vlen]); vlen++)
		;
	if (!vlen)
		return mb_errf(err, "%s:%u: no token after '%.*s'", name,
			       lineno, (int)(klen > 40 ? 40 : klen), s);
	for (tstart = vstart + vlen; tstart < len &&
	     isspace((unsigned char)s[tstart]); tstart++)
		;
	for (tlen = 0; tstart + tlen < len &&
	     !isspace((unsigned char)s[tstart + tlen]); tlen++)
		;
	if (tstart + tlen != len)
		return mb_errf(err, "%s:%u: more than three fields", name,
			       lineno);
	if (vlen >= TOKEN_MAX || vlen < 8)
		return mb_errf(err, "%s:%u: token must be 8 to %d characters",
			       name, lineno, TOKEN_MAX - 1);
	if (klen >= sizeof(key) && klen > 5 && !memcmp(s, "host=", 5))
		return mb_errf(err, "%s:%u: host name must be 1 to %d "
			       "characters", name, lineno, AUTH_HOST_MAX - 1);
	if (klen >= sizeof(key))
		return mb_errf(err, "%s:%u: '%.40s...' is neither a vm uuid, "
			       "'admin' nor host=NAME", name, lineno, s);
	memcpy(key, s, klen);
	key[klen] = '\0';
	memset(e, 0, sizeof(*e));
	if (!strcmp(key, "admin"))
		e->admin = true;
	else if (!strncmp(key, "host=", 5)) {
		if (parse_host(name, lineno, key, e, err))
			return -1;
	} else if (mb_uuid_parse(key, e->uuid))
		return mb_errf(err, "%s:%u: '%s' is neither a vm uuid, 'admin' "
			       "nor host=NAME", name, lineno, key);
	memcpy(e->token, s + vstart, vlen);
	e->len = vlen;
	e->lineno = lineno;
	return tlen ? parse_tenant(name, lineno, s + tstart, tlen, e, err) : 0;
}

static int by_uuid(const void *a, const void *b)
{
	const struct auth_entry *x = *(const struct auth_entry *const *)a;
	const struct auth_entry *y = *(const struct auth_entry *const *)b;

	return memcmp(x->uuid, y->uuid, MBT_UUID_LEN);
}

/* Lines of one VM (rotated tokens) must name the same tenant. */
static int check_tenants(const char *name, struct auth_entry *entries,
			 unsigned int n, struct mb_err *err)
{
	struct auth_entry **v;
	char uuid[37];
	unsigned int i, k = 0;
	int ret = 0;

	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return mb_errf(err, "%s: out of memory", name);
	for (i = 0; i < n; i++)
		if (!entries[i].admin && !entries[i].host[0])
			v[k++] = &entries[i];
	qsort(v, k, sizeof(*v), by_uuid);
	for (i = 1; i < k && !ret; i++) {
		const struct auth_entry *x = v[i - 1], *y = v[i], *t;

		if (memcmp(x->uuid, y->uuid, MBT_UUID_LEN) ||
		    !strcmp(x->tenant, y->tenant))
			continue;
		if (x->lineno > y->lineno) {
			t = x;
			x = y;
			y = t;
		}
		mb_uuid_format(y->uuid, uuid);
		ret = mb_errf(err, "%s:%u: vm %s is in tenant '%s' here and "
			      "'%s' on line %u", name, y->lineno, uuid,
			      y->tenant, x->tenant, x->lineno);
	}
	free(v);
	return ret;
}

int auth_load_text(struct auth *a, const char *name, const char *text,
		   size_t len, struct mb_err *err)
{
	struct auth_entry *entries = NULL, *grown;
	unsigned int n = 0, cap = 0, lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *s = text + pos;
		size_t l = end - pos;

		lineno++;
		pos = end + 1;
		while (l && isspace((unsigned char)s[l - 1]))
			l--;
		while (l && isspace((unsigned char)*s)) {
			s++;
			l--;
		}
		if (!l || *s == '#')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(entries, cap * sizeof(*grown));
			if (!grown) {
				free(entries);
				return mb_errf(err, "%s: out of memory", name);
			}
			entries = grown;
		}
		if (parse_line(name, lineno, s, l, &entries[n], err)) {
			free(entries);
			return -1;
		}
		n++;
	}
	if (check_tenants(name, entries, n, err)) {
		free(entries);
		return -1;
	}
	pthread_rwlock_wrlock(&a->lock);
	free(a->entries);
	a->entries = entries;
	a->n = n;
	pthread_rwlock_unlock(&a->lock);
	return 0;
}

/* Whether the daemon's process is in group @gid (effective or added). */
static bool in_group(gid_t gid)
{
	gid_t groups[256];
	int n, i;

	if (gid == getegid())
		return true;
	n = getgroups(sizeof(groups) / sizeof(groups[0]), groups);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

int auth_secret_file_ok(int fd, const char *path, const char *what,
			struct mb_err *err)
{
	struct stat st;

	if (fstat(fd, &st))
		return mb_errf(err, "%s %s: %s", what, path, strerror(errno));
	if (st.st_mode & (S_IROTH | S_IWOTH))
		return mb_errf(err, "%s %s is %s by every user (mode %04o): "
			       "refusing it; chmod 0600 it, or 0640 with "
			       "the daemon's group", what, path,
			       st.st_mode & S_IWOTH ? "writable" : "readable",
			       (unsigned int)(st.st_mode & 07777));
	if (st.st_mode & S_IWGRP)
		log_warn("%s %s is writable by its group (mode %04o)", what,
			 path, (unsigned int)(st.st_mode & 07777));
	/* 0640 is for the daemon's own group; any other group is others. */
	if ((st.st_mode & S_IRGRP) && !in_group(st.st_gid))
		log_warn("%s %s is readable by group %u, which this daemon is "
			 "not in (mode %04o): chmod 0600 it, or chgrp it to "
			 "the daemon's group", what, path,
			 (unsigned int)st.st_gid,
			 (unsigned int)(st.st_mode & 07777));
	return 0;
}

int auth_reload(struct auth *a, struct mb_err *err)
{
	char *buf;
	size_t len;
	FILE *f;
	int ret;

	if (!a->path)
		return 0;
	f = fopen(a->path, "r");
	if (!f)
		return mb_errf(err, "tokens file %s: %s", a->path,
			       strerror(errno));
	if (auth_secret_file_ok(fileno(f), a->path, "tokens file", err)) {
		fclose(f);
		return -1;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return mb_errf(err, "tokens file %s: out of memory", a->path);
	}
	len = fread(buf, 1, 1 << 20, f);
	if (ferror(f))
		ret = mb_errf(err, "tokens file %s: %s", a->path,
			      strerror(errno));
	else if (!feof(f))
		ret = mb_errf(err, "tokens file %s: larger than 1 MiB",
			      a->path);
	else
		ret = auth_load_text(a, a->path, buf, len, err);
	free(buf);
	fclose(f);
	return ret;
}

struct auth *auth_new(const char *path, bool insecure, struct mb_err *err)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a) {
		mb_errf(err, "out of memory");
		return NULL;
	}
	pthread_rwlock_init(&a->lock, NULL);
	a->insecure = insecure;
	if (path && !(a->path = strdup(path))) {
		auth_free(a);
		mb_errf(err, "out of memory");
		return NULL;
	}
	if (auth_reload(a, err)) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	pthread_rwlock_destroy(&a->lock);
	free(a->entries);
	free(a->path);
	free(a);
}

bool auth_tenant(struct auth *a, const uint8_t uuid[MBT_UUID_LEN],
		 char tenant[AUTH_TENANT_MAX])
{
	unsigned int i;
	bool found = false;

	tenant[0] = '\0';
	pthread_rwlock_rdlock(&a->lock);
	for (i = 0; i < a->n && !found; i++)
		if (!a->entries[i].admin && !a->entries[i].host[0] &&
		    !memcmp(a->entries[i].uuid, uuid, MBT_UUID_LEN)) {
			memcpy(tenant, a->entries[i].tenant, AUTH_TENANT_MAX);
			found = true;
		}
	pthread_rwlock_unlock(&a->lock);
	return found;
}

unsigned int auth_count(struct auth *a)
{
	unsigned int n;

	pthread_rwlock_rdlock(&a->lock);
	n = a->n;
	pthread_rwlock_unlock(&a->lock);
	return n;
}

/* Constant-time in the content of both strings for a given pair of lengths. */
static bool token_equal(const char *a, size_t alen, const char *b,
			size_t blen)
{
	unsigned char diff = alen != blen;
	size_t i;

	for (i = 0; i < blen; i++)
		diff |= (unsigned char)a[i % (alen ? alen : 1)] ^
			(unsigned char)b[i];
	return !diff && alen;
}

/*
 * The entry of the token in @header (copied to @out), or AUTH_MISSING /
 * AUTH_UNKNOWN. Every entry is compared, whatever matches first.
 */
static enum auth_result find_token(struct auth *a, const char *header,
				   const uint8_t *vm, struct auth_entry *out,
				   bool *vm_match)
{
	const char *token;
	size_t len;
	unsigned int i;
	bool found = false;

	*vm_match = false;
	if (!header || strncasecmp(header, "Bearer ", 7))
		return AUTH_MISSING;
	token = header + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	if (!len || len >= TOKEN_MAX)
		return AUTH_UNKNOWN;
	pthread_rwlock_rdlock(&a->lock);
	for (i = 0; i < a->n; i++) {
		const struct auth_entry *e = &a->entries[i];

		if (!token_equal(token, len, e->token, e->len))
			continue;
		/* An admin entry wins, then the entry of @vm (rotations). */
		if (!found || (!out->admin && (e->admin ||
		    (vm && !e->host[0] && !memcmp(e->uuid, vm,
						  MBT_UUID_LEN))))) {
			*out = *e;
			found = true;
		}
		if (vm && !e->admin && !e->host[0] &&
		    !memcmp(e->uuid, vm, MBT_UUID_LEN))
			*vm_match = true;
	}
	pthread_rwlock_unlock(&a->lock);
	return found ? AUTH_OK : AUTH_UNKNOWN;
}

enum auth_result auth_check(struct auth *a, const char *header,
			    const uint8_t *vm)
{
	struct auth_entry e;
	enum auth_result r;
	bool vm_match;

	if (a->insecure)
		return AUTH_OK;
	r = find_token(a, header, vm, &e, &vm_match);
	if (r != AUTH_OK)
		return r;
	return e.admin || vm_match ? AUTH_OK : AUTH_FORBIDDEN;
}

enum auth_result auth_identify(struct auth *a, const char *header,
			       const uint8_t *vm, struct auth_principal *p)
{
	struct auth_entry e;
	enum auth_result r;
	bool vm_match;

	memset(p, 0, sizeof(*p));
	if (a->insecure) {
		p->kind = PRINCIPAL_ANYONE;
		return AUTH_OK;
	}
	r = find_token(a, header, vm, &e, &vm_match);
	if (r != AUTH_OK)
		return r;
	if (e.admin) {
		p->kind = PRINCIPAL_ADMIN;
	} else if (e.host[0]) {
		p->kind = PRINCIPAL_HOST;
		memcpy(p->host, e.host, sizeof(p->host));
	} else {
		p->kind = PRINCIPAL_VM;
		memcpy(p->uuid, e.uuid, MBT_UUID_LEN);
		p->vm_match = vm_match;
	}
	return AUTH_OK;
}
