// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_store.c - mb-controld's store and catalogue on a real
 * directory: versions, the uuid rule, size limits, aborted and invalid
 * uploads leaving nothing behind, retention, and the reconcile pass at
 * open (leftover temporaries removed, unknown files catalogued, invalid
 * files quarantined, a lost or damaged catalogue rebuilt with the
 * statistics kept in the sidecar files), and the digest set cache that
 * plans read the store through.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "catalogue.h"
#include "snapshot.h"
#include "store.h"

#define UUID_A "6d62756c-7465-4000-8000-00000000000a"
#define UUID_B "6d62756c-7465-4000-8000-00000000000b"

struct membuf {
	uint8_t *data;
	size_t len;
};

static int mem_sink(void *ctx, const void *buf, size_t len,
		    struct mb_err *err)
{
	struct membuf *m = ctx;
	uint8_t *grown = realloc(m->data, m->len + len);

	if (!grown)
		return mb_errf(err, "out of memory");
	m->data = grown;
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

/* A valid trace of @pages pages for @uuid (NULL: zero uuid). */
static struct membuf make_trace(const char *uuid, uint32_t pages,
				uint64_t seed)
{
	struct membuf m = { 0 };
	struct mbt_writer w;
	struct mbt_info info;
	uint64_t *d = calloc(pages, sizeof(*d));
	uint32_t i;

	mbt_info_init(&info, MB_ALGO_SUPERFAST);
	info.page_count = pages;
	if (uuid)
		assert_int_equal(mb_uuid_parse(uuid, info.vm_uuid), 0);
	snprintf(info.vm_name, sizeof(info.vm_name), "vm-%llu",
		 (unsigned long long)seed);
	for (i = 0; i < pages; i++)
		d[i] = (seed * 2654435761u + i * 40503u) & 0xffffffff;
	assert_int_equal(mbt_writer_begin(&w, &info, mem_sink, &m, NULL), 0);
	for (i = 0; i < pages; i += info.chunk_max) {
		uint32_t n = pages - i < info.chunk_max ? pages - i :
			     info.chunk_max;

		assert_int_equal(mbt_writer_chunk(&w, i, n, NULL, d + i, NULL),
				 0);
	}
	assert_int_equal(mbt_writer_end(&w, 0, NULL), 0);
	mbt_writer_release(&w);
	free(d);
	return m;
}

struct fixture {
	char dir[64];
	char db[128];
	struct catalogue *cat;
	struct store *store;
};

static void open_store(struct fixture *f, unsigned int keep, bool *fresh)
{
	struct store_options o = { .datadir = f->dir, .keep = keep,
				   .fsync = true };
	struct mb_err err;
	bool dummy;

	f->cat = catalogue_open(f->db, fresh ? fresh : &dummy, &err);
	assert_non_null(f->cat);
	f->store = store_open(&o, f->cat, &err);
	if (!f->store)
		fail_msg("store_open: %s", err.msg);
}

static void close_store(struct fixture *f)
{
	store_close(f->store);
	catalogue_close(f->cat);
	f->store = NULL;
	f->cat = NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/mb-store-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/catalogue.db", f->dir);
	open_store(f, 3, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	close_store(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Upload @m in pieces of @step bytes; returns the commit status. */
static enum store_status upload(struct fixture *f, const char *uuid,
				const struct membuf *m, size_t step,
				uint64_t *version, struct mb_err *err)
{
	uint8_t bin[MBT_UUID_LEN];
	struct trace_record rec;
	struct store_upload *u;
	enum store_status st;
	size_t off;

	assert_int_equal(mb_uuid_parse(uuid, bin), 0);
	u = store_upload_begin(f->store, bin, m->len, 0, &st, err);
	if (!u)
		return st;
	for (off = 0; off < m->len; off += step) {
		size_t n = m->len - off < step ? m->len - off : step;

		st = store_upload_write(u, m->data + off, n, err);
		if (st != STORE_OK) {
			store_upload_abort(u);
			return st;
		}
	}
	st = store_upload_commit(u, "fallback", "http", NULL, &rec, err);
	if (st == STORE_OK && version)
		*version = rec.version;
	return st;
}

static int count_entries(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static void vm_dir(const struct fixture *f, const char *uuid, char *out,
		   size_t size)
{
	snprintf(out, size, "%s/vms/%s", f->dir, uuid);
}

static bool file_equals(const char *path, const struct membuf *m)
{
	uint8_t *buf = malloc(m->len + 1);
	FILE *fp = fopen(path, "rb");
	size_t n = fp ? fread(buf, 1, m->len + 1, fp) : 0;
	bool same = fp && n == m->len && !memcmp(buf, m->data, n);

	if (fp)
		fclose(fp);
	free(buf);
	return same;
}

static void test_versions_and_bytes(void **state)
{
	struct fixture *f = *state;
	struct membuf t1 = make_trace(UUID_A, 5000, 1);
	struct membuf t2 = make_trace(UUID_A, 3000, 2);
	char path[256];
	struct mb_err err;
	uint64_t v = 0;

	assert_int_equal(upload(f, UUID_A, &t1, 4096, &v, &err), STORE_OK);
	assert_int_equal(v, 1);
	assert_int_equal(upload(f, UUID_A, &t2, 777, &v, &err), STORE_OK);
	assert_int_equal(v, 2);
	snprintf(path, sizeof(path), "%s/vms/%s/1.mbt", f->dir, UUID_A);
	assert_true(file_equals(path, &t1));
	snprintf(path, sizeof(path), "%s/vms/%s/2.mbt", f->dir, UUID_A);
	assert_true(file_equals(path, &t2));
	assert_int_equal(store_bytes(f->store), t1.len + t2.len);
	free(t1.data);
	free(t2.data);
}

static void test_uuid_rule(void **state)
{
	struct fixture *f = *state;
	struct membuf other = make_trace(UUID_B, 100, 3);
	struct membuf zero = make_trace(NULL, 100, 4);
	uint8_t a[MBT_UUID_LEN], b[MBT_UUID_LEN], z[MBT_UUID_LEN] = { 0 };
	struct mb_err err;
	uint64_t v;

	mb_uuid_parse(UUID_A, a);
	mb_uuid_parse(UUID_B, b);
	assert_true(store_uuid_acceptable(a, a));
	assert_true(store_uuid_acceptable(z, a));
	assert_false(store_uuid_acceptable(b, a));
	assert_int_equal(upload(f, UUID_A, &other, 64, &v, &err),
			 STORE_MISMATCH);
	assert_non_null(strstr(err.msg, "trace header is for vm " UUID_B));
	assert_int_equal(upload(f, UUID_A, &zero, 64, &v, &err), STORE_OK);
	assert_int_equal(v, 1);
	free(other.data);
	free(zero.data);
}

static void test_invalid_and_aborted_leave_nothing(void **state)
{
	struct fixture *f = *state;
	struct membuf t = make_trace(UUID_A, 2000, 5);
	struct membuf cut = { t.data, t.len - 1 };
	uint8_t a[MBT_UUID_LEN];
	struct store_upload *u;
	enum store_status st;
	struct mb_err err;
	char dir[256];
	uint64_t v;

	mb_uuid_parse(UUID_A, a);
	vm_dir(f, UUID_A, dir, sizeof(dir));
	/* Truncated, with the length announced: refused at once. */
	assert_int_equal(upload(f, UUID_A, &cut, 100, &v, &err),
			 STORE_INVALID);
	/* Truncated without a known length: refused at commit. */
	u = store_upload_begin(f->store, a, 0, 0, &st, &err);
	assert_non_null(u);
	assert_int_equal(store_upload_write(u, t.data, t.len - 40, &err),
			 STORE_OK);
	assert_int_equal(count_entries(dir, ".upload-"), 1);
	assert_int_equal(store_upload_commit(u, NULL, "http", NULL,
					     &(struct trace_record){ 0 }, &err),
			 STORE_INVALID);
	assert_non_null(strstr(err.msg, "truncated"));
	/* A corrupt byte: refused by the checksum. */
	t.data[t.len / 2] ^= 0x40;
	assert_int_equal(upload(f, UUID_A, &t, 512, &v, &err), STORE_INVALID);
	assert_non_null(strstr(err.msg, "checksum"));
	t.data[t.len / 2] ^= 0x40;
	/* Aborted half way. */
	u = store_upload_begin(f->store, a, t.len, 0, &st, &err);
	assert_int_equal(store_upload_write(u, t.data, 1000, &err), STORE_OK);
	store_upload_abort(u);
	assert_int_equal(count_entries(dir, ".upload-"), 0);
	assert_int_equal(count_entries(dir, ".meta-"), 0);
	assert_int_equal(count_entries(dir, "1."), 0);
	/* Nothing was numbered: the next good upload is version 1. */
	assert_int_equal(upload(f, UUID_A, &t, 4096, &v, &err), STORE_OK);
	assert_int_equal(v, 1);
	free(t.data);
}

static void test_size_limit(void **state)
{
	struct fixture *f = *state;
	struct membuf t = make_trace(UUID_A, 2000, 6);
	uint8_t a[MBT_UUID_LEN];
	struct store_upload *u;
	enum store_status st;
	struct mb_err err;

	mb_uuid_parse(UUID_A, a);
	u = store_upload_begin(f->store, a, t.len, t.len - 1, &st, &err);
	assert_null(u);
	assert_int_equal(st, STORE_TOO_LARGE);
	assert_non_null(strstr(err.msg, "over the limit"));
	u = store_upload_begin(f->store, a, 0, t.len - 1, &st, &err);
	assert_non_null(u);
	assert_int_equal(store_upload_write(u, t.data, t.len, &err),
			 STORE_TOO_LARGE);
	store_upload_abort(u);
	free(t.data);
}

/* One upload in flight per VM; other VMs are not held up. */
static void test_one_upload_in_flight_per_vm(void **state)
{
	struct fixture *f = *state;
	struct membuf t = make_trace(UUID_A, 500, 9);
	uint8_t a[MBT_UUID_LEN], b[MBT_UUID_LEN];
	struct store_upload *u, *second, *other;
	unsigned int uploads;
	enum store_status st;
	struct mb_err err;
	uint64_t reserved, v;

	mb_uuid_parse(UUID_A, a);
	mb_uuid_parse(UUID_B, b);
	u = store_upload_begin(f->store, a, t.len, 0, &st, &err);
	assert_non_null(u);
	second = store_upload_begin(f->store, a, t.len, 0, &st, &err);
	assert_null(second);
	assert_int_equal(st, STORE_BUSY);
	assert_non_null(strstr(err.msg, "has an upload in flight"));
	other = store_upload_begin(f->store, b, 100, 0, &st, &err);
	assert_non_null(other);
	store_reserved(f->store, &reserved, &uploads);
	assert_int_equal(uploads, 2);
	assert_true(reserved >= t.len + 100);
	store_upload_abort(other);
	assert_int_equal(store_upload_write(u, t.data, t.len, &err), STORE_OK);
	assert_int_equal(store_upload_commit(u, NULL, "http", NULL,
					     &(struct trace_record){ 0 }, &err),
			 STORE_OK);
	store_reserved(f->store, &reserved, &uploads);
	assert_int_equal(uploads, 0);
	assert_int_equal(reserved, 0);
	/* Once landed, the VM may upload again. */
	assert_int_equal(upload(f, UUID_A, &t, 4096, &v, &err), STORE_OK);
	assert_int_equal(v, 2);
	free(t.data);
}

/* An upload that cannot have its room is refused before any byte. */
static void test_space_reserved(void **state)
{
	struct fixture *f = *state;
	uint8_t a[MBT_UUID_LEN];
	struct store_upload *u;
	unsigned int uploads;
	enum store_status st;
	struct mb_err err;
	uint64_t reserved;
	char dir[256];

	mb_uuid_parse(UUID_A, a);
	vm_dir(f, UUID_A, dir, sizeof(dir));
	u = store_upload_begin(f->store, a, 1ULL << 60, 0, &st, &err);
	assert_null(u);
	assert_int_equal(st, STORE_NOSPACE);
	assert_non_null(strstr(err.msg, "no room for a trace of"));
	assert_non_null(strstr(err.msg, "No space left on device"));
	assert_int_equal(count_entries(dir, ".upload-"), 0);
	store_reserved(f->store, &reserved, &uploads);
	assert_int_equal(uploads, 0);
	assert_int_equal(reserved, 0);
}

static void test_retention(void **state)
{
	struct fixture *f = *state;
	struct membuf t = make_trace(UUID_A, 100, 7);
	struct trace_record r;
	struct mb_err err;
	char path[256];
	uint64_t v;
	int i;

	for (i = 1; i <= 5; i++) {
		assert_int_equal(upload(f, UUID_A, &t, 4096, &v, &err),
				 STORE_OK);
		assert_int_equal(v, (uint64_t)i);
	}
	/* keep = 3: versions 3, 4, 5 remain. */
	for (i = 1; i <= 5; i++) {
		snprintf(path, sizeof(path), "%s/vms/%s/%d.mbt", f->dir,
			 UUID_A, i);
		assert_int_equal(access(path, F_OK) == 0, i >= 3);
		assert_int_equal(catalogue_get(f->cat, UUID_A, i, &r, &err),
				 i >= 3);
	}
	assert_int_equal(store_bytes(f->store), 3 * t.len);
	free(t.data);
}

static void test_reopen_reconciles(void **state)
{
	struct fixture *f = *state;
	struct membuf t = make_trace(UUID_A, 300, 8);
	struct vm_stats stats;
	struct trace_record rec, r;
	uint8_t a[MBT_UUID_LEN];
	struct store_upload *u;
	enum store_status st;
	char dir[256], path[300];
	struct mb_err err;
	uint64_t v, high;
	bool fresh;
	FILE *fp;

	mb_uuid_parse(UUID_A, a);
	vm_dir(f, UUID_A, dir, sizeof(dir));
	vm_stats_init(&stats);
	stats.mem_total_kb = 1048576;
	u = store_upload_begin(f->store, a, t.len, 0, &st, &err);
	assert_int_equal(store_upload_write(u, t.data, t.len, &err), STORE_OK);
	assert_int_equal(store_upload_commit(u, NULL, "http", &stats, &rec,
					     &err), STORE_OK);
	assert_int_equal(rec.version, 1);
	assert_int_equal(upload(f, UUID_A, &t, 4096, &v, &err), STORE_OK);
	close_store(f);

	/* A crash's leftovers, an invalid file, a lost catalogue. */
	snprintf(path, sizeof(path), "%s/.upload-crashed", dir);
	fp = fopen(path, "w");
	fputs("half a trace", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/7.mbt", dir);
	fp = fopen(path, "w");
	fputs("not a trace at all", fp);
	fclose(fp);
	assert_int_equal(unlink(f->db), 0);
	unlink("/nonexistent");
	snprintf(path, sizeof(path), "%s-wal", f->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", f->db);
	unlink(path);

	open_store(f, 3, &fresh);
	assert_true(fresh);
	assert_int_equal(count_entries(dir, ".upload-"), 0);
	snprintf(path, sizeof(path), "%s/quarantine/%s-7.mbt", f->dir, UUID_A);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(catalogue_get(f->cat, UUID_A, 1, &r, &err), 1);
	assert_int_equal(r.stats.mem_total_kb, 1048576);
	assert_int_equal(r.size, t.len);
	assert_int_equal(catalogue_get(f->cat, UUID_A, 2, &r, &err), 1);
	assert_int_equal(catalogue_get(f->cat, UUID_A, 7, &r, &err), 0);
	/* The quarantined 7 still counted as handed out: next is 8. */
	assert_int_equal(catalogue_high_water(f->cat, UUID_A, &high, &err), 0);
	assert_int_equal(upload(f, UUID_A, &t, 4096, &v, &err), STORE_OK);
	assert_int_equal(v, 8);
	close_store(f);

	/* A damaged catalogue is moved aside and rebuilt. */
	fp = fopen(f->db, "w");
	fputs("SQLite format 3\nthis is damaged beyond repair..........", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s-wal", f->db);
	unlink(path);
	open_store(f, 3, &fresh);
	assert_true(fresh);
	snprintf(path, sizeof(path), "%s.damaged", f->db);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(catalogue_get(f->cat, UUID_A, 8, &r, &err), 1);
	assert_int_equal(upload(f, UUID_A, &t, 4096, &v, &err), STORE_OK);
	assert_int_equal(v, 9);
	free(t.data);
}

static void test_open_trace(void **state)
{
	struct fixture *f = *state;
	struct membuf t = make_trace(UUID_B, 100, 9);
	struct mb_err err;
	uint64_t v, size;
	int fd;

	assert_int_equal(upload(f, UUID_B, &t, 4096, &v, &err), STORE_OK);
	fd = store_open_trace(f->store, UUID_B, 1, &size, &err);
	assert_true(fd >= 0);
	assert_int_equal(size, t.len);
	close(fd);
	assert_int_equal(store_open_trace(f->store, UUID_B, 2, &size, &err),
			 -1);
	assert_non_null(strstr(err.msg, "has no version 2"));
	assert_int_equal(store_open_trace(f->store, "../../etc", 1, &size,
					  &err), -1);
	assert_non_null(strstr(err.msg, "not a vm uuid"));
	free(t.data);
}

/*
 * The plan input's digest set cache (controld/snapshot.c): a trace is
 * parsed once per (uuid, version); a sweep drops the sets no plan asked
 * for since the last one.
 */
/*
 * Tenant scope: identical sets of two tenants share nothing, of one tenant
 * everything; 32-bit digests are widened (exact), 64-bit ones keyed.
 */
static void test_tenant_scoped_sets(void **state)
{
	struct mb_digest_set raw[2], red, red2, blue;
	uint64_t *d = malloc(5000 * sizeof(uint64_t)), i;
	struct mb_err err;
	int w, algo[2] = { MB_ALGO_SUPERFAST, MB_ALGO_XXH64 };

	(void)state;
	for (w = 0; w < 2; w++) {
		for (i = 0; i < 5000; i++)
			d[i] = (i * 2654435761ULL) ^ (w ? i << 40 : 0);
		assert_int_equal(mb_set_from_digests(&raw[w], d, 5000, algo[w],
						     "vm", &err), 0);
		assert_int_equal(snapshot_scope_set(&red, &raw[w], 1, 42, &err),
				 0);
		assert_int_equal(snapshot_scope_set(&red2, &raw[w], 1, 42,
						    &err), 0);
		assert_int_equal(snapshot_scope_set(&blue, &raw[w], 2, 42,
						    &err), 0);
		assert_int_equal(red.width, 8);
		assert_int_equal(mb_algo_digest_size(red.algorithm), 8);
		assert_int_equal(red.distinct, raw[w].distinct);
		assert_int_equal(red.pages, raw[w].pages);
		for (i = 1; i < red.distinct; i++)
			assert_true(red.d64[i - 1] < red.d64[i]);
		assert_int_equal(mb_set_common(&red, &red2), raw[w].distinct);
		assert_int_equal(mb_set_common(&red, &blue), 0);
		assert_int_equal(mb_set_comparable(&red, &blue, &err), 0);
		mb_set_free(&red);
		mb_set_free(&red2);
		mb_set_free(&blue);
		mb_set_free(&raw[w]);
	}
	free(d);
}

static void test_set_cache(void **state)
{
	struct fixture *f = *state;
	struct membuf t1 = make_trace(UUID_A, 300, 1);
	struct membuf t2 = make_trace(UUID_A, 300, 2);
	const struct mb_digest_set *s1, *s1b, *s2;
	struct trace_record r1, r2, gone;
	struct set_cache *c = set_cache_new();
	uint64_t loads, hits, entries, v;
	struct mb_err err;

	assert_non_null(c);
	assert_int_equal(upload(f, UUID_A, &t1, 4096, &v, &err), STORE_OK);
	assert_int_equal(catalogue_get(f->cat, UUID_A, v, &r1, &err), 1);
	s1 = set_cache_get(c, f->store, &r1, "a", &err);
	assert_non_null(s1);
	assert_int_equal(s1->pages, 300);
	s1b = set_cache_get(c, f->store, &r1, "a", &err);
	assert_ptr_equal(s1, s1b);
	set_cache_counts(c, &loads, &hits, &entries);
	assert_int_equal(loads, 1);
	assert_int_equal(hits, 1);
	/* A new version is read; the old one stays until a sweep. */
	assert_int_equal(upload(f, UUID_A, &t2, 4096, &v, &err), STORE_OK);
	assert_int_equal(catalogue_get(f->cat, UUID_A, v, &r2, &err), 1);
	s2 = set_cache_get(c, f->store, &r2, "a", &err);
	assert_non_null(s2);
	set_cache_counts(c, &loads, &hits, &entries);
	assert_int_equal(loads, 2);
	assert_int_equal(entries, 2);
	set_cache_sweep(c);		/* both were asked for */
	set_cache_counts(c, &loads, &hits, &entries);
	assert_int_equal(entries, 2);
	s2 = set_cache_get(c, f->store, &r2, "a", &err);
	set_cache_sweep(c);		/* version 1 was not */
	set_cache_counts(c, &loads, &hits, &entries);
	assert_int_equal(entries, 1);
	assert_int_equal(loads, 2);
	assert_int_equal(hits, 2);
	/* A trace that is gone is an error naming it, and is not cached. */
	gone = r2;
	gone.version = 99;
	assert_null(set_cache_get(c, f->store, &gone, "a", &err));
	assert_non_null(strstr(err.msg, "has no version 99"));
	set_cache_counts(c, &loads, &hits, &entries);
	assert_int_equal(entries, 1);
	set_cache_free(c);
	free(t1.data);
	free(t2.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions_and_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uuid_rule, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_invalid_and_aborted_leave_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_one_upload_in_flight_per_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_space_reserved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen_reconciles, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_trace, setup,
						teardown),
		cmocka_unit_test(test_tenant_scoped_sets),
		cmocka_unit_test_setup_teardown(test_set_cache, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
