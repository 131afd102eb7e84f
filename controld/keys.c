// SPDX-License-Identifier: GPL-2.0
/*
 * keys.c - the tenants' keys for keyed digests (see keys.h).
 *
 * A small table behind a mutex: a few entries per tenant at most, looked
 * up by name. A new key is written to DATADIR/keys (the whole file,
 * through lib/atomic_file: temporary file, fsync, rename, fsync of the
 * directory) before it enters the table, so a key handed out is always
 * one a restart finds again. Why a key of its own and not the secret that
 * mixes 64-bit digests in tenant scope (snapshot.c): that one never
 * leaves the daemon and is made anew at every start, since it only has to
 * hold within one plan; this one is given to guests and must survive
 * restarts, and each tenant's must be independent of every other's, so
 * that knowing one's own key tells nothing about another tenant's.
 *
 * The seed is a secret: it is never logged, never in an error message
 * (a bad line names its line number and the field, not its text), and
 * wiped from memory when the table is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "keys.h"
#include "log.h"

#define KEYS_FILE_MAX (1 << 20)

struct key_entry {
	char tenant[AUTH_TENANT_MAX];	/* "" = the VMs without one */
	struct tenant_key key;
};

struct keystore {
	pthread_mutex_t lock;
	char *path;			/* NULL: memory only */
	struct key_entry *e;
	size_t n, cap;
};

static struct keystore *keystore_alloc(void)
{
	struct keystore *k = calloc(1, sizeof(*k));

	if (k)
		pthread_mutex_init(&k->lock, NULL);
	return k;
}

struct keystore *keystore_new_memory(void)
{
	return keystore_alloc();
}

static void wipe_entries(struct key_entry *e, size_t n)
{
	if (e)
		explicit_bzero(e, n * sizeof(*e));
	free(e);
}

void keystore_close(struct keystore *k)
{
	if (!k)
		return;
	wipe_entries(k->e, k->cap);
	pthread_mutex_destroy(&k->lock);
	free(k->path);
	free(k);
}

/* ---- the file ---- */

/* @len hex digits at @s into *@out; false when they are not that. */
static bool parse_hex(const char *s, size_t len, size_t want, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len != want)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* The next field of the line at *@s (up to @end): its start and length. */
static size_t next_field(const char **s, const char *end, const char **field)
{
	const char *p = *s;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*field = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	*s = p;
	return (size_t)(p - *field);
}

static int grow(struct key_entry **e, size_t *cap, size_t n)
{
	struct key_entry *g;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 8;
	g = calloc(c, sizeof(*g));
	if (!g)
		return -1;
	if (*e)
		memcpy(g, *e, *cap * sizeof(*g));
	/* Not realloc(): the old copy of the seeds is wiped, not left. */
	wipe_entries(*e, *cap);
	*e = g;
	*cap = c;
	return 0;
}

/* One line (without its newline) into @e[*@n]; 0, or -1 with @err. */
static int parse_line(const char *name, unsigned int lineno, const char *s,
		      const char *end, struct key_entry **e, size_t *n,
		      size_t *cap, struct mb_err *err)
{
	const char *f;
	uint64_t id, seed;
	size_t len, i;
	struct key_entry x = { "", { 0, 0 } };

	len = next_field(&s, end, &f);
	if (!len || *f == '#')
		return 0;
	if (!parse_hex(f, len, 8, &id) || !id)
		return mb_errf(err, "%s:%u: the key id is not 8 hex digits "
			       "other than 00000000", name, lineno);
	len = next_field(&s, end, &f);
	if (!parse_hex(f, len, 16, &seed))
		return mb_errf(err, "%s:%u: the seed (second field) is not 16 "
			       "hex digits", name, lineno);
	len = next_field(&s, end, &f);
	if (len) {
		if (len < 8 || memcmp(f, "tenant=", 7) ||
		    !auth_tenant_name_ok(f + 7, len - 7))
			return mb_errf(err, "%s:%u: the third field is not "
				       "tenant=NAME (letters, digits, '-', '_', "
				       "'.', at most %d)", name, lineno,
				       AUTH_TENANT_MAX - 1);
		memcpy(x.tenant, f + 7, len - 7);
		x.tenant[len - 7] = '\0';
	}
	if (next_field(&s, end, &f))
		return mb_errf(err, "%s:%u: more than three fields", name,
			       lineno);
	x.key.id = (uint32_t)id;
	x.key.seed = seed;
	for (i = 0; i < *n; i++) {
		if (!strcmp((*e)[i].tenant, x.tenant))
			return mb_errf(err, "%s:%u: a second key for %s%s%s",
				       name, lineno, x.tenant[0] ? "tenant '" :
				       "the VMs without a tenant",
				       x.tenant, x.tenant[0] ? "'" : "");
		if ((*e)[i].key.id == x.key.id)
			return mb_errf(err, "%s:%u: key id %08" PRIx32 " is "
				       "taken by another tenant", name, lineno,
				       x.key.id);
	}
	if (grow(e, cap, *n))
		return mb_errf(err, "%s: out of memory", name);
	(*e)[(*n)++] = x;
	explicit_bzero(&x, sizeof(x));
	return 0;
}

int keystore_load_text(struct keystore *k, const char *name, const char *text,
		       size_t len, struct mb_err *err)
{
	const char *s = text, *end = text + len, *nl;
	struct key_entry *e = NULL;
	size_t n = 0, cap = 0;
	unsigned int lineno = 0;

	if (memchr(text, '\0', len))
		return mb_errf(err, "%s: a NUL byte: not a keys file", name);
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		lineno++;
		if (parse_line(name, lineno, s, nl ? nl : end, &e, &n, &cap,
			       err)) {
			wipe_entries(e, cap);
			return -1;
		}
		s = nl ? nl + 1 : end;
	}
	pthread_mutex_lock(&k->lock);
	wipe_entries(k->e, k->cap);
	k->e = e;
	k->n = n;
	k->cap = cap;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* Others than the owner may neither read nor write it: 0600 or less. */
static int check_mode(int fd, const char *path, struct mb_err *err)
{
	struct stat st;

	if (fstat(fd, &st))
		return mb_errf(err, "keys file %s: %s", path, strerror(errno));
	if (st.st_mode & 077)
		return mb_errf(err, "keys file %s is mode %04o: others than its "
			       "owner could read or change the tenants' keys; "
			       "refusing it (chmod 0600 it)", path,
			       (unsigned int)(st.st_mode & 07777));
	return 0;
}

static int load_file(struct keystore *k, struct mb_err *err)
{
	char *buf;
	ssize_t got;
	size_t len = 0;
	int fd, ret = -1;

	fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;	/* no key made yet */
		return mb_errf(err, "keys file %s: %s", k->path,
			       strerror(errno));
	}
	buf = malloc(KEYS_FILE_MAX + 1);
	if (!buf) {
		mb_errf(err, "keys file %s: out of memory", k->path);
		goto out;
	}
	if (check_mode(fd, k->path, err))
		goto out;
	while (len <= KEYS_FILE_MAX &&
	       (got = read(fd, buf + len, KEYS_FILE_MAX + 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			mb_errf(err, "keys file %s: %s", k->path,
				strerror(errno));
			goto out;
		}
		len += (size_t)got;
	}
	if (len > KEYS_FILE_MAX) {
		mb_errf(err, "keys file %s: larger than %d bytes", k->path,
			KEYS_FILE_MAX);
		goto out;
	}
	ret = keystore_load_text(k, k->path, buf, len, err);
out:
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return ret;
}

struct keystore *keystore_open(const char *datadir, struct mb_err *err)
{
	struct keystore *k = keystore_alloc();

	if (!k || asprintf(&k->path, "%s/keys", datadir) < 0) {
		if (k)
			k->path = NULL;
		keystore_close(k);
		mb_errf(err, "keys: out of memory");
		return NULL;
	}
	if (load_file(k, err)) {
		keystore_close(k);
		return NULL;
	}
	if (k->n)
		log_info("keys file %s: %zu tenant key%s", k->path, k->n,
			 k->n == 1 ? "" : "s");
	return k;
}

/* The whole table and @extra, written over the file. Under the lock. */
static int save(struct keystore *k, const struct key_entry *extra,
		struct mb_err *err)
{
	struct mb_atomic_file af;
	size_t i;

	if (!k->path)
		return 0;
	if (mb_atomic_open(&af, k->path, 0600, err))
		return -1;
	fprintf(af.f, "# mb-controld: the tenants' keys for keyed digests "
		"(docs/security.md).\n# A secret: keep it 0600 and back it up "
		"with the data directory; a key\n# lost makes the traces keyed "
		"with it incomparable with newer ones.\n"
		"# key-id seed [tenant=NAME]\n");
	for (i = 0; i <= k->n; i++) {
		const struct key_entry *x = i < k->n ? &k->e[i] : extra;

		if (!x)
			break;
		fprintf(af.f, "%08" PRIx32 " %016" PRIx64 "%s%s\n", x->key.id,
			x->key.seed, x->tenant[0] ? " tenant=" : "",
			x->tenant);
	}
	return mb_atomic_commit(&af, err);
}

static const struct key_entry *find(const struct keystore *k,
				    const char *tenant)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!strcmp(k->e[i].tenant, tenant))
			return &k->e[i];
	return NULL;
}

static bool id_taken(const struct keystore *k, uint32_t id)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->e[i].key.id == id)
			return true;
	return false;
}

/* A new random key for @tenant, its id unused and not 0. */
static int make_key(struct keystore *k, const char *tenant,
		    struct key_entry *x, struct mb_err *err)
{
	unsigned char r[12];
	int tries;

	memset(x, 0, sizeof(*x));
	snprintf(x->tenant, sizeof(x->tenant), "%s", tenant);
	for (tries = 0; tries < 64; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			explicit_bzero(r, sizeof(r));
			return mb_errf(err, "keys: no random bytes for a new key: "
				       "%s", strerror(errno));
		}
		memcpy(&x->key.seed, r, 8);
		memcpy(&x->key.id, r + 8, 4);
		if (x->key.id && !id_taken(k, x->key.id))
			break;
	}
	explicit_bzero(r, sizeof(r));
	if (tries == 64)
		return mb_errf(err, "keys: no free key id found");
	return 0;
}

int keystore_get(struct keystore *k, const char *tenant, bool create,
		 struct tenant_key *out, struct mb_err *err)
{
	const struct key_entry *e;
	struct key_entry x;
	int ret = 1;

	pthread_mutex_lock(&k->lock);
	e = find(k, tenant);
	if (e) {
		*out = e->key;
		goto out;
	}
	if (!create) {
		ret = 0;
		goto out;
	}
	ret = -1;
	if (!auth_tenant_name_ok(tenant, strlen(tenant)) && tenant[0]) {
		mb_errf(err, "keys: '%s' is not a tenant name", tenant);
		goto out;
	}
	if (make_key(k, tenant, &x, err))
		goto wipe;
	if (grow(&k->e, &k->cap, k->n)) {
		mb_errf(err, "keys: out of memory");
		goto wipe;
	}
	if (save(k, &x, err)) {
		mb_err_prefix(err, "keys: a new key for %s%s%s is not saved, "
			      "so not handed out", tenant[0] ? "tenant '" :
			      "the VMs without a tenant", tenant,
			      tenant[0] ? "'" : "");
		goto wipe;
	}
	k->e[k->n++] = x;
	*out = x.key;
	ret = 1;
	log_info("keys: made key %08" PRIx32 " for %s%s%s", x.key.id,
		 tenant[0] ? "tenant '" : "the VMs without a tenant", tenant,
		 tenant[0] ? "'" : "");
wipe:
	explicit_bzero(&x, sizeof(x));
out:
	pthread_mutex_unlock(&k->lock);
	return ret;
}

uint32_t keystore_key_id(struct keystore *k, const char *tenant)
{
	const struct key_entry *e;
	uint32_t id;

	pthread_mutex_lock(&k->lock);
	e = find(k, tenant);
	id = e ? e->key.id : 0;
	pthread_mutex_unlock(&k->lock);
	return id;
}

unsigned int keystore_count(struct keystore *k)
{
	unsigned int n;

	pthread_mutex_lock(&k->lock);
	n = (unsigned int)k->n;
	pthread_mutex_unlock(&k->lock);
	return n;
}

/* ---- the API ---- */

unsigned int keys_answer(struct keystore *k, struct auth *a,
			 const char *authorization,
			 const uint8_t uuid[MBT_UUID_LEN], json_t **body,
			 char *msg, size_t size)
{
	struct auth_principal p;
	char tenant[AUTH_TENANT_MAX], id[9], seed[17];
	struct tenant_key key;
	struct mb_err err;

	*body = NULL;
	switch (auth_identify(a, authorization, uuid, &p)) {
	case AUTH_OK:
		break;
	case AUTH_MISSING:
		snprintf(msg, size, "fetch this vm's key needs an "
			 "'Authorization: Bearer TOKEN' header");
		return 401;
	case AUTH_UNKNOWN:
	default:
		snprintf(msg, size, "unknown token");
		return 401;
	}
	if (p.kind != PRINCIPAL_VM || !p.vm_match) {
		snprintf(msg, size, "this token may not fetch this vm's key "
			 "(only the vm's own token may%s)",
			 p.kind == PRINCIPAL_ANYONE ? "; keys are served only "
			 "with a tokens file, never with --insecure-no-auth" :
			 "");
		return 403;
	}
	auth_tenant(a, uuid, tenant);
	if (keystore_get(k, tenant, true, &key, &err) != 1) {
		snprintf(msg, size, "%s", err.msg);
		return 500;
	}
	snprintf(id, sizeof(id), "%08" PRIx32, key.id);
	snprintf(seed, sizeof(seed), "%016" PRIx64, key.seed);
	*body = json_pack("{s:s,s:s,s:s}", "key_id", id, "seed", seed,
			  "algorithm", "xxh64");
	explicit_bzero(seed, sizeof(seed));
	explicit_bzero(&key, sizeof(key));
	if (!*body) {
		snprintf(msg, size, "out of memory");
		return 500;
	}
	return 200;
}

uint32_t keys_vm_key_id(struct keystore *k, struct auth *a,
			const uint8_t uuid[MBT_UUID_LEN])
{
	char tenant[AUTH_TENANT_MAX];

	auth_tenant(a, uuid, tenant);
	return keystore_key_id(k, tenant);
}
