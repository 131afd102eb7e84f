// SPDX-License-Identifier: GPL-2.0
/*
 * store.c - versioned, atomic trace files (see store.h for the layout and
 * the guarantees).
 *
 * Ordering of a commit, and why:
 *   1. the parser has seen the trailer and its checksum: the bytes are a
 *      valid trace, so nothing invalid can ever be renamed into place;
 *   2. fsync(temp): the data is on disk before any name points at it;
 *   3. under the store lock: take version = high_water + 1, rename the
 *      metadata, then the trace, into place. The lock makes version order
 *      equal rename order, so a VM's newest file is always its highest;
 *   4. fsync(dir): the rename is durable before the client hears "201";
 *   5. catalogue insert, then retention (oldest files beyond --keep).
 * A crash between 3 and 5 leaves a file the catalogue does not know yet;
 * the reconcile pass at the next start adds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "store.h"
#include "textsafe.h"

struct vm_slot {
	char uuid[37];
	uint64_t high_water;
};

/* Room each upload reserves beyond its trace: the metadata sidecar. */
#define META_RESERVE 4096

struct in_flight {
	char uuid[37];
	uint64_t reserved;
};

struct store {
	char *datadir;
	char *vms_dir;
	unsigned int keep;
	bool fsync;
	struct catalogue *cat;
	pthread_mutex_t lock;		/* slots and the version/rename step */
	struct vm_slot *slots;
	size_t nslots, cap;
	uint64_t bytes;			/* atomic */
	/* Uploads in flight, one per VM, and the space they reserved. */
	struct in_flight *flying;
	size_t nflying, flying_cap;
	uint64_t reserved;
};

struct store_upload {
	struct store *s;
	uint8_t uuid[MBT_UUID_LEN];
	char uuid_text[37];
	char dir[4096];
	char tmp_path[4096];
	int fd;
	uint64_t received, max_size;
	struct mbt_parser *parser;
	enum store_status failed;
	struct mb_err error;
	bool mismatch;
	bool flying;			/* holds the VM's in-flight slot */
	uint16_t flags_mask, flags_want;	/* store_upload_require_flags() */
	char flags_why[160];
	bool flags_refused;
	uint32_t key_id;		/* store_upload_require_key() */
};

/* Traces mb-hostd took are "host" whoever sent them (docs/hostd.md). */
static const char *source_of(const struct mbt_info *info, const char *given)
{
	return info->flags & MBT_FLAG_FROM_HOST ? "host" : given;
}

bool store_uuid_acceptable(const uint8_t header[MBT_UUID_LEN],
			   const uint8_t target[MBT_UUID_LEN])
{
	return mb_uuid_is_zero(header) ||
	       !memcmp(header, target, MBT_UUID_LEN);
}

static enum store_status errno_status(int e)
{
	return e == ENOSPC || e == EDQUOT ? STORE_NOSPACE : STORE_IO;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret, saved;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

static int mkdir_durable(struct store *s, const char *path, const char *parent)
{
	if (mkdir(path, 0750) == 0) {
		if (s->fsync && fsync_path(parent))
			return -1;
		return 0;
	}
	return errno == EEXIST ? 0 : -1;
}

/* "123" -> 123; rejects empty, leading zeros, non-digits, overflow. */
static int parse_version(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len || len > 19 || (s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool canonical_uuid(const char *name)
{
	uint8_t bin[MBT_UUID_LEN];
	char text[37];

	if (strlen(name) != 36 || mb_uuid_parse(name, bin))
		return false;
	mb_uuid_format(bin, text);
	return !strcmp(text, name);
}

/* Slot for @uuid, created with @initial when new. Called with s->lock held. */
static struct vm_slot *slot_get(struct store *s, const char *uuid,
				uint64_t initial)
{
	struct vm_slot *grown;
	size_t i;

	for (i = 0; i < s->nslots; i++)
		if (!strcmp(s->slots[i].uuid, uuid))
			return &s->slots[i];
	if (s->nslots == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		grown = realloc(s->slots, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		s->slots = grown;
		s->cap = cap;
	}
	memcpy(s->slots[s->nslots].uuid, uuid, 37);
	s->slots[s->nslots].high_water = initial;
	return &s->slots[s->nslots++];
}

static void trace_path(const struct store *s, char *buf, size_t size,
		       const char *uuid, uint64_t version, const char *ext)
{
	snprintf(buf, size, "%s/%s/%" PRIu64 ".%s", s->vms_dir, uuid, version,
		 ext);
}

/* ---- validation ---- */

struct validate_ctx {
	const uint8_t *uuid;
	bool mismatch;
};

int store_header_text_ok(const struct mbt_info *info, struct mb_err *err)
{
	if (!mb_utf8_valid(info->vm_name, strlen(info->vm_name)))
		return mb_errf(err, "trace header: vm_name is not valid UTF-8");
	if (!mb_utf8_valid(info->kernel_release,
			   strlen(info->kernel_release)))
		return mb_errf(err, "trace header: kernel_release is not "
			       "valid UTF-8");
	return 0;
}

static int validate_header(void *ctx, const struct mbt_info *info,
			   struct mb_err *err)
{
	struct validate_ctx *v = ctx;
	char want[37], got[37];

	if (!v->uuid || store_uuid_acceptable(info->vm_uuid, v->uuid))
		return 0;
	v->mismatch = true;
	mb_uuid_format(v->uuid, want);
	mb_uuid_format(info->vm_uuid, got);
	return mb_errf(err, "trace header is for vm %s, not %s", got, want);
}

static const struct mbt_parser_ops validate_ops = {
	.header = validate_header,
};

int store_validate_file(const char *path, const uint8_t *uuid,
			struct mbt_info *info, struct mb_err *err)
{
	struct validate_ctx v = { .uuid = uuid };
	struct mbt_parser *p;
	static __thread char buf[65536];
	struct stat st;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		return -2;
	}
	if (fstat(fd, &st)) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -2;
	}
	p = mbt_parser_new(&validate_ops, &v, st.st_size);
	if (!p) {
		close(fd);
		mb_errf(err, "%s: out of memory", path);
		return -2;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_errf(err, "%s: %s", path, strerror(errno));
			ret = -2;
			goto out;
		}
		if (n == 0)
			break;
		/* The parser's only failure that is not the file's: ENOMEM. */
		errno = 0;
		if (mbt_parser_feed(p, buf, n, err)) {
			mb_err_prefix(err, "%s", path);
			ret = errno == ENOMEM ? -2 : -1;
			goto out;
		}
	}
	if (mbt_parser_finish(p, info, err)) {
		mb_err_prefix(err, "%s", path);
		goto out;
	}
	ret = 0;
out:
	mbt_parser_free(p);
	close(fd);
	return ret;
}

/* ---- metadata sidecar ---- */

static json_t *meta_json(const struct trace_record *r)
{
	json_t *o = trace_record_json(r);

	return o;
}

static void meta_read(const char *path, struct trace_record *r)
{
	json_t *o = json_load_file(path, 0, NULL), *stats, *v;

	if (!o)
		return;
	v = json_object_get(o, "name");
	if (json_is_string(v) && !r->name[0])
		snprintf(r->name, sizeof(r->name), "%s", json_string_value(v));
	v = json_object_get(o, "source");
	if (json_is_string(v))
		snprintf(r->source, sizeof(r->source), "%s",
			 json_string_value(v));
	v = json_object_get(o, "upload_time");
	if (json_is_integer(v))
		r->upload_time = json_integer_value(v);
	stats = json_object_get(o, "stats");
#define STAT(field) do { \
		v = json_object_get(stats, #field); \
		if (json_is_integer(v)) \
			r->stats.field = json_integer_value(v); \
	} while (0)
	if (json_is_object(stats)) {
		STAT(mem_total_kb);
		STAT(mem_available_kb);
		STAT(swap_total_kb);
		STAT(swap_free_kb);
		STAT(pswpin);
		STAT(pswpout);
	}
#undef STAT
	json_decref(o);
}

/* Write the sidecar to a temporary file; its name goes to @tmp. */
static int meta_write_tmp(const char *dir, const struct trace_record *r,
			  char *tmp, size_t size)
{
	json_t *o = meta_json(r);
	char *text = json_dumps(o, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	int fd, ret = -1;

	json_decref(o);
	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(tmp, size, "%s/.meta-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd >= 0) {
		ret = write(fd, text, len) == (ssize_t)len ? 0 : -1;
		if (ret && !errno)
			errno = ENOSPC;
		close(fd);
		if (ret)
			unlink(tmp);
	}
	free(text);
	return ret;
}

static void record_from_info(struct trace_record *r, const char *uuid,
			     uint64_t version, uint64_t size,
			     const struct mbt_info *info)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	r->version = version;
	r->size = size;
	snprintf(r->name, sizeof(r->name), "%s", info->vm_name);
	snprintf(r->kernel, sizeof(r->kernel), "%s", info->kernel_release);
	r->algorithm = info->algorithm;
	r->page_count = info->page_count;
	r->used_pages = info->used_pages;
	r->free_pages = info->free_pages;
	r->capture_time_ns = info->capture_time_ns;
	r->scan_ns = info->scan_ns;
	vm_stats_init(&r->stats);
}

/* ---- retention ---- */

struct version_list {
	uint64_t *v;
	size_t n, cap;
	uint64_t bytes;
};

static int collect_version(void *ctx, const struct trace_record *r)
{
	struct version_list *l = ctx;
	uint64_t *grown;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown)
			return -1;
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n++] = r->version;
	l->bytes += r->size;
	return 0;
}

static void remove_version(struct store *s, const char *uuid, uint64_t version)
{
	char path[4096];
	struct stat st;
	struct mb_err err;

	trace_path(s, path, sizeof(path), uuid, version, "mbt");
	if (!stat(path, &st) && !unlink(path))
		__atomic_sub_fetch(&s->bytes, st.st_size, __ATOMIC_RELAXED);
	trace_path(s, path, sizeof(path), uuid, version, "json");
	unlink(path);
	if (catalogue_remove(s->cat, uuid, version, &err))
		log_err("%s", err.msg);
}

static void apply_retention(struct store *s, const char *uuid)
{
	struct version_list l = { 0 };
	struct mb_err err;
	size_t i;

	if (catalogue_foreach(s->cat, uuid, collect_version, &l, &err)) {
		log_err("retention for vm %s: %s", uuid, err.msg);
		free(l.v);
		return;
	}
	for (i = 0; l.n > s->keep && i < l.n - s->keep; i++) {
		log_info("vm %s: version %" PRIu64 " dropped (keeping %u)",
			 uuid, l.v[i], s->keep);
		remove_version(s, uuid, l.v[i]);
	}
	free(l.v);
}

/* ---- reconcile at open ---- */

static void quarantine(struct store *s, const char *uuid, const char *path,
		       uint64_t version)
{
	char qdir[4096], dest[4096];

	snprintf(qdir, sizeof(qdir), "%s/quarantine", s->datadir);
	mkdir(qdir, 0750);
	snprintf(dest, sizeof(dest), "%s/%s-%" PRIu64 ".mbt", qdir, uuid,
		 version);
	if (rename(path, dest))
		log_err("cannot move %s to %s: %s", path, dest,
			strerror(errno));
	else
		log_warn("moved invalid %s to %s", path, dest);
}

static int reconcile_file(struct store *s, const char *uuid, const char *dir,
			  uint64_t version, struct mb_err *err)
{
	struct trace_record known, r;
	struct mbt_info info;
	uint8_t bin[MBT_UUID_LEN];
	char path[4096], meta[4096];
	struct mb_err verr;
	struct stat st;
	int found;

	snprintf(path, sizeof(path), "%s/%" PRIu64 ".mbt", dir, version);
	if (stat(path, &st))
		return 0;
	found = catalogue_get(s->cat, uuid, version, &known, err);
	if (found < 0)
		return -1;
	if (found && known.size == (uint64_t)st.st_size) {
		__atomic_add_fetch(&s->bytes, st.st_size, __ATOMIC_RELAXED);
		return 0;
	}
	mb_uuid_parse(uuid, bin);
	switch (store_validate_file(path, bin, &info, &verr)) {
	case 0:
		break;
	case -2:
		/* Not known to be bad: keep it, and do not start blind. */
		*err = verr;
		return -1;
	default:
		log_err("%s", verr.msg);
		quarantine(s, uuid, path, version);
		return 0;
	}
	record_from_info(&r, uuid, version, st.st_size, &info);
	r.upload_time = st.st_mtime;
	snprintf(r.source, sizeof(r.source), "%s", source_of(&info, "http"));
	snprintf(meta, sizeof(meta), "%s/%" PRIu64 ".json", dir, version);
	meta_read(meta, &r);
	if (catalogue_add(s->cat, &r, err))
		return -1;
	__atomic_add_fetch(&s->bytes, st.st_size, __ATOMIC_RELAXED);
	log_info("catalogue: added vm %s version %" PRIu64 " from the store",
		 uuid, version);
	return 0;
}

static int reconcile_vm(struct store *s, const char *uuid,
			struct mb_err *err)
{
	char dir[4096], path[4096];
	struct version_list versions = { 0 };
	uint64_t v, high = 0, cat_high;
	struct dirent *de;
	struct vm_slot *slot;
	size_t i, len;
	DIR *d;
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/%s", s->vms_dir, uuid);
	d = opendir(dir);
	if (!d) {
		log_err("%s: %s", dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (!strncmp(de->d_name, ".upload-", 8) ||
		    !strncmp(de->d_name, ".meta-", 6)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (!unlinkat(dirfd(d), de->d_name, 0))
				log_info("removed unfinished upload %s", path);
			continue;
		}
		if (len > 4 && !strcmp(de->d_name + len - 4, ".mbt") &&
		    !parse_version(de->d_name, len - 4, &v)) {
			if (collect_version(&versions, &(struct trace_record){
					    .version = v })) {
				ret = mb_errf(err, "%s: out of memory", dir);
				break;
			}
			if (v > high)
				high = v;
		}
	}
	closedir(d);
	for (i = 0; !ret && i < versions.n; i++)
		ret = reconcile_file(s, uuid, dir, versions.v[i], err);
	free(versions.v);
	if (s->fsync)
		fsync_path(dir);
	if (ret || catalogue_high_water(s->cat, uuid, &cat_high, err))
		return -1;
	pthread_mutex_lock(&s->lock);
	slot = slot_get(s, uuid, 0);
	if (slot)
		slot->high_water = high > cat_high ? high : cat_high;
	pthread_mutex_unlock(&s->lock);
	if (!slot)
		return mb_errf(err, "out of memory");
	apply_retention(s, uuid);
	return ret;
}

static int drop_missing(void *ctx, const struct trace_record *r)
{
	struct store *s = ctx;
	char path[4096];
	struct stat st;
	struct mb_err err;

	trace_path(s, path, sizeof(path), r->uuid, r->version, "mbt");
	if (stat(path, &st) == 0 || errno != ENOENT)
		return 0;
	log_warn("catalogue: vm %s version %" PRIu64 " has no file; dropped",
		 r->uuid, r->version);
	if (catalogue_remove(s->cat, r->uuid, r->version, &err))
		log_err("%s", err.msg);
	return 0;
}

static int reconcile(struct store *s, struct mb_err *err)
{
	struct dirent *de;
	DIR *d;

	if (catalogue_foreach(s->cat, NULL, drop_missing, s, err))
		return -1;
	d = opendir(s->vms_dir);
	if (!d)
		return mb_errf(err, "%s: %s", s->vms_dir, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!canonical_uuid(de->d_name)) {
			log_warn("%s/%s: not a vm uuid; ignored", s->vms_dir,
				 de->d_name);
			continue;
		}
		if (reconcile_vm(s, de->d_name, err)) {
			/* d_name lives in @d: name it before closing. */
			mb_err_prefix(err, "reconciling vm %s", de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int store_lock_datadir(const char *datadir, struct mb_err *err)
{
	char path[4096], pid[32];
	ssize_t n;
	int fd, len;

	snprintf(path, sizeof(path), "%s/lock", datadir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return mb_errf(err, "lock file %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			return mb_errf(err, "data directory %s is in use by "
				       "another mb-controld (pid %s, holding "
				       "%s): refusing to start", datadir,
				       pid[0] ? pid : "unknown", path);
		return mb_errf(err, "lock file %s: %s", path, strerror(e));
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, len, 0) != len)
		log_warn("lock file %s: cannot write the pid: %s", path,
			 strerror(errno));
	return fd;
}

struct store *store_open(const struct store_options *o, struct catalogue *cat,
			 struct mb_err *err)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		goto nomem;
	/* Paths are built in 4096-byte buffers: keep room for the names. */
	if (strlen(o->datadir) > 3000) {
		free(s);
		mb_errf(err, "data directory path is longer than 3000 bytes");
		return NULL;
	}
	s->datadir = strdup(o->datadir);
	if (!s->datadir || asprintf(&s->vms_dir, "%s/vms", o->datadir) < 0)
		goto nomem;
	s->keep = o->keep ? o->keep : 1;
	s->fsync = o->fsync;
	s->cat = cat;
	pthread_mutex_init(&s->lock, NULL);
	if (mkdir(s->datadir, 0750) && errno != EEXIST) {
		mb_errf(err, "data directory %s: %s", s->datadir,
			strerror(errno));
		goto fail;
	}
	if (mkdir_durable(s, s->vms_dir, s->datadir)) {
		mb_errf(err, "%s: %s", s->vms_dir, strerror(errno));
		goto fail;
	}
	if (reconcile(s, err))
		goto fail;
	return s;
nomem:
	mb_errf(err, "store %s: out of memory", o->datadir);
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s->flying);
	free(s->vms_dir);
	free(s->datadir);
	free(s);
}

uint64_t store_bytes(struct store *s)
{
	return __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
}

int store_open_trace(struct store *s, const char *uuid, uint64_t version,
		     uint64_t *size, struct mb_err *err)
{
	char path[4096];
	struct stat st;
	int fd;

	if (!canonical_uuid(uuid)) {
		errno = ENOENT;
		return mb_errf(err, "'%s' is not a vm uuid", uuid);
	}
	trace_path(s, path, sizeof(path), uuid, version, "mbt");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		mb_errf(err, "vm %s has no version %" PRIu64, uuid, version);
		errno = e;
		return -1;
	}
	if (fstat(fd, &st)) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/* ---- uploads ---- */

static int upload_header(void *ctx, const struct mbt_info *info,
			 struct mb_err *err)
{
	struct store_upload *u = ctx;
	struct validate_ctx v = { .uuid = u->uuid };

	if (validate_header(&v, info, err)) {
		u->mismatch = true;
		return -1;
	}
	if ((info->flags & u->flags_mask) != u->flags_want) {
		u->flags_refused = true;
		return mb_errf(err, "%s", u->flags_why);
	}
	if (info->key_id && info->key_id != u->key_id) {
		u->flags_refused = true;
		if (!u->key_id)
			return mb_errf(err, "the trace is keyed (key %08" PRIx32
				       "), but no key was handed out for this "
				       "vm's tenant", info->key_id);
		return mb_errf(err, "the trace is keyed with key %08" PRIx32
			       ", but this vm's tenant's key is %08" PRIx32,
			       info->key_id, u->key_id);
	}
	return store_header_text_ok(info, err);
}

static const struct mbt_parser_ops upload_ops = {
	.header = upload_header,
};

/*
 * Take the VM's in-flight slot and reserve @size bytes (+ the sidecar)
 * for @u, or fail with STORE_BUSY or STORE_NOSPACE.
 */
static int take_flight(struct store_upload *u, uint64_t size,
		       enum store_status *status, struct mb_err *err)
{
	struct store *s = u->s;
	struct in_flight *grown;
	struct statvfs vfs;
	uint64_t avail;
	size_t i;

	size += META_RESERVE;
	if (statvfs(s->vms_dir, &vfs)) {
		*status = STORE_IO;
		return mb_errf(err, "store %s: %s", s->vms_dir,
			       strerror(errno));
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nflying; i++)
		if (!strcmp(s->flying[i].uuid, u->uuid_text)) {
			pthread_mutex_unlock(&s->lock);
			*status = STORE_BUSY;
			return mb_errf(err, "vm %s has an upload in flight "
				       "already; one at a time per vm",
				       u->uuid_text);
		}
	if (avail < s->reserved || avail - s->reserved < size) {
		uint64_t reserved = s->reserved;

		pthread_mutex_unlock(&s->lock);
		*status = STORE_NOSPACE;
		return mb_errf(err, "store %s: no room for a trace of %" PRIu64
			       " bytes: %" PRIu64 " bytes free, %" PRIu64
			       " reserved by uploads in flight (%s)",
			       s->vms_dir, size - META_RESERVE, avail,
			       reserved, strerror(ENOSPC));
	}
	if (s->nflying == s->flying_cap) {
		size_t cap = s->flying_cap ? s->flying_cap * 2 : 16;

		grown = realloc(s->flying, cap * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&s->lock);
			*status = STORE_IO;
			return mb_errf(err, "out of memory");
		}
		s->flying = grown;
		s->flying_cap = cap;
	}
	memcpy(s->flying[s->nflying].uuid, u->uuid_text, 37);
	s->flying[s->nflying++].reserved = size;
	s->reserved += size;
	u->flying = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void land(struct store_upload *u)
{
	struct store *s = u->s;
	size_t i;

	if (!u->flying)
		return;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nflying; i++)
		if (!strcmp(s->flying[i].uuid, u->uuid_text)) {
			s->reserved -= s->flying[i].reserved;
			s->flying[i] = s->flying[--s->nflying];
			break;
		}
	pthread_mutex_unlock(&s->lock);
	u->flying = false;
}

void store_reserved(struct store *s, uint64_t *bytes, unsigned int *uploads)
{
	pthread_mutex_lock(&s->lock);
	*bytes = s->reserved;
	*uploads = (unsigned int)s->nflying;
	pthread_mutex_unlock(&s->lock);
}

struct store_upload *store_upload_begin(struct store *s,
					const uint8_t uuid[MBT_UUID_LEN],
					uint64_t expected_size,
					uint64_t max_size,
					enum store_status *status,
					struct mb_err *err)
{
	struct store_upload *u;

	if (max_size && expected_size > max_size) {
		*status = STORE_TOO_LARGE;
		mb_errf(err, "trace of %" PRIu64 " bytes is over the limit of %"
			PRIu64 " bytes", expected_size, max_size);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		*status = STORE_IO;
		mb_errf(err, "out of memory");
		return NULL;
	}
	u->s = s;
	u->fd = -1;
	u->max_size = max_size;
	memcpy(u->uuid, uuid, MBT_UUID_LEN);
	mb_uuid_format(uuid, u->uuid_text);
	snprintf(u->dir, sizeof(u->dir), "%s/%s", s->vms_dir, u->uuid_text);
	if (take_flight(u, expected_size ? expected_size : max_size, status,
			err)) {
		store_upload_abort(u);
		return NULL;
	}
	if (mkdir_durable(s, u->dir, s->vms_dir))
		goto io_fail;
	snprintf(u->tmp_path, sizeof(u->tmp_path), "%s/.upload-XXXXXX",
		 u->dir);
	u->fd = mkostemp(u->tmp_path, O_CLOEXEC);
	if (u->fd < 0) {
		u->tmp_path[0] = '\0';
		goto io_fail;
	}
	u->parser = mbt_parser_new(&upload_ops, u, expected_size);
	if (!u->parser) {
		errno = ENOMEM;
		goto io_fail;
	}
	return u;
io_fail:
	*status = errno_status(errno);
	mb_errf(err, "store %s: %s", u->dir, strerror(errno));
	store_upload_abort(u);
	return NULL;
}

void store_upload_require_flags(struct store_upload *u, uint16_t mask,
				uint16_t want, const char *why)
{
	u->flags_mask = mask;
	u->flags_want = want & mask;
	snprintf(u->flags_why, sizeof(u->flags_why), "%s", why);
}

void store_upload_require_key(struct store_upload *u, uint32_t key_id)
{
	u->key_id = key_id;
}

uint64_t store_upload_size(const struct store_upload *u)
{
	return u->received;
}

static enum store_status upload_fail(struct store_upload *u,
				     enum store_status st, struct mb_err *err)
{
	u->failed = st;
	u->error = *err;
	return st;
}

enum store_status store_upload_write(struct store_upload *u, const void *buf,
				     size_t len, struct mb_err *err)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	if (u->failed) {
		*err = u->error;
		return u->failed;
	}
	if (u->max_size && u->received + len > u->max_size) {
		mb_errf(err, "trace is over the limit of %" PRIu64 " bytes",
			u->max_size);
		return upload_fail(u, STORE_TOO_LARGE, err);
	}
	errno = 0;
	if (mbt_parser_feed(u->parser, buf, len, err))
		return upload_fail(u, u->mismatch ? STORE_MISMATCH :
				   u->flags_refused ? STORE_FORBIDDEN :
				   errno == ENOMEM ? STORE_IO : STORE_INVALID,
				   err);
	while (done < len) {
		n = write(u->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;

			mb_errf(err, "writing %s: %s", u->tmp_path,
				strerror(e));
			return upload_fail(u, errno_status(e), err);
		}
		done += n;
	}
	u->received += len;
	return STORE_OK;
}

void store_upload_abort(struct store_upload *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp_path[0])
		unlink(u->tmp_path);
	land(u);
	mbt_parser_free(u->parser);
	free(u);
}

enum store_status store_upload_commit(struct store_upload *u, const char *name,
				      const char *source,
				      const struct vm_stats *stats,
				      struct trace_record *out,
				      struct mb_err *err)
{
	struct store *s = u->s;
	char meta_tmp[4096], path[4096], meta_path[4096];
	enum store_status st;
	struct vm_slot *slot;
	struct mbt_info info;
	struct mb_err cerr;
	uint64_t version, high;

	if (u->failed) {
		*err = u->error;
		st = u->failed;
		goto abort;
	}
	if (mbt_parser_finish(u->parser, &info, err)) {
		st = STORE_INVALID;
		goto abort;
	}
	if (s->fsync && fsync(u->fd)) {
		st = errno_status(errno);
		mb_errf(err, "fsync %s: %s", u->tmp_path, strerror(errno));
		goto abort;
	}
	if (close(u->fd)) {
		u->fd = -1;
		st = errno_status(errno);
		mb_errf(err, "close %s: %s", u->tmp_path, strerror(errno));
		goto abort;
	}
	u->fd = -1;

	record_from_info(out, u->uuid_text, 0, u->received, &info);
	if (!out->name[0] && name)
		snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->source, sizeof(out->source), "%s",
		 source_of(&info, source));
	out->upload_time = time(NULL);
	if (stats)
		out->stats = *stats;
	if (meta_write_tmp(u->dir, out, meta_tmp, sizeof(meta_tmp))) {
		st = errno_status(errno);
		mb_errf(err, "metadata for %s: %s", u->dir, strerror(errno));
		goto abort;
	}

	/* The first upload of a VM this run: find its high-water mark. */
	if (catalogue_high_water(s->cat, u->uuid_text, &high, &cerr))
		high = 0;
	pthread_mutex_lock(&s->lock);
	slot = slot_get(s, u->uuid_text, high);
	if (!slot) {
		pthread_mutex_unlock(&s->lock);
		unlink(meta_tmp);
		mb_errf(err, "out of memory");
		st = STORE_IO;
		goto abort;
	}
	version = ++slot->high_water;
	out->version = version;
	trace_path(s, path, sizeof(path), u->uuid_text, version, "mbt");
	trace_path(s, meta_path, sizeof(meta_path), u->uuid_text, version,
		   "json");
	if (rename(meta_tmp, meta_path) || rename(u->tmp_path, path)) {
		int e = errno;

		pthread_mutex_unlock(&s->lock);
		unlink(meta_tmp);
		unlink(meta_path);
		st = errno_status(e);
		mb_errf(err, "rename into %s: %s", path, strerror(e));
		goto abort;
	}
	pthread_mutex_unlock(&s->lock);
	u->tmp_path[0] = '\0';
	__atomic_add_fetch(&s->bytes, u->received, __ATOMIC_RELAXED);

	if (s->fsync && fsync_path(u->dir)) {
		/*
		 * The trace is complete and valid but its name may not be
		 * durable: report failure; if the name survives a crash,
		 * the next start catalogues it as a normal version.
		 */
		st = errno_status(errno);
		mb_errf(err, "fsync %s: %s", u->dir, strerror(errno));
		goto abort;
	}
	if (catalogue_add(s->cat, out, &cerr))
		log_err("vm %s version %" PRIu64 " stored but not catalogued "
			"(the next start adds it): %s", u->uuid_text, version,
			cerr.msg);
	apply_retention(s, u->uuid_text);
	store_upload_abort(u);
	return STORE_OK;
abort:
	store_upload_abort(u);
	return st;
}
