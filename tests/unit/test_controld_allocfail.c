// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_allocfail.c - every parser and the store and catalogue
 * when memory runs out (tests/unit/failalloc.h): for n = 1, 2, ... the
 * n-th allocation fails (alone, then with all after it), and each run
 * must end without a crash, with an error that says memory ran out (or a
 * success, when the code could do without), with nothing leaked (the
 * sanitizer build, make SAN=1 check-unit, fails on any leak at exit) and,
 * for the store, with nothing stored half-way: no temporary file left, and
 * after a clean restart the files and the catalogue agree and hold exactly
 * the versions that were acknowledged.
 */
#include <dirent.h>
#include <inttypes.h>
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

#include "auth.h"
#include "catalogue.h"
#include "config.h"
#include "failalloc.h"
#include "json_alloc.h"
#include "keys.h"
#include "mbt.h"
#include "scenario.h"
#include "stats.h"
#include "store.h"

#define UUID_A "6d62756c-6661-4000-8000-00000000000a"

struct buf {
	uint8_t *data;
	size_t len;
};

static int buf_sink(void *ctx, const void *data, size_t len,
		    struct mb_err *err)
{
	struct buf *b = ctx;
	uint8_t *grown = realloc(b->data, b->len + len);

	if (!grown)
		return mb_errf(err, "out of memory");
	b->data = grown;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

/* A valid trace: @pages digests in chunks of 64, some pages free. */
static void make_trace_info(struct mbt_info *info, uint32_t pages)
{
	mbt_info_init(info, MB_ALGO_XXH64);
	info->page_count = pages;
	info->chunk_max = 64;
	mb_uuid_parse(UUID_A, info->vm_uuid);
	snprintf(info->vm_name, sizeof(info->vm_name), "vm-allocfail");
	snprintf(info->kernel_release, sizeof(info->kernel_release), "6.1.0");
}

static int write_trace(struct buf *out, uint32_t pages, struct mb_err *err)
{
	struct mbt_writer w;
	struct mbt_info info;
	uint64_t d[64];
	uint8_t free_bits[8];
	uint32_t i, k;
	int ret = -1;

	make_trace_info(&info, pages);
	if (mbt_writer_begin(&w, &info, buf_sink, out, err))
		goto out;
	for (i = 0; i < pages; i += 64) {
		for (k = 0; k < 64; k++)
			d[k] = (i + k) * 0x9e3779b97f4a7c15ULL;
		memset(free_bits, 0x11, sizeof(free_bits));
		if (mbt_writer_chunk(&w, i * 2, 64, free_bits, d, err))
			goto out;
	}
	ret = mbt_writer_end(&w, 1234, err);
out:
	mbt_writer_release(&w);
	return ret;
}

static struct buf good_trace;

/* ---- the parsers ---- */

static int op_write(void *ctx, struct mb_err *err)
{
	struct buf b = { 0 };
	int ret;

	(void)ctx;
	ret = write_trace(&b, 640, err);
	if (!ret && (b.len != good_trace.len ||
		     memcmp(b.data, good_trace.data, b.len)))
		fail_msg("the writer's output differs after an absorbed failure");
	free(b.data);
	return ret;
}

static void mbt_writer_runs_out(void **state)
{
	(void)state;
	failalloc_sweep("mbt writer", op_write, NULL, NULL);
}

static int op_read(void *ctx, struct mb_err *err)
{
	struct mbt_trace t = { 0 };
	int ret;

	(void)ctx;
	ret = mbt_read_mem(good_trace.data, good_trace.len, &t, err);
	if (!ret && t.info.page_count != 640)
		fail_msg("mbt_read_mem: %" PRIu64 " pages", t.info.page_count);
	if (ret && (t.digests || t.chunks || t.free_bits))
		fail_msg("mbt_read_mem failed but left the trace filled");
	mbt_trace_free(&t);
	return ret;
}

static void mbt_reader_runs_out(void **state)
{
	(void)state;
	failalloc_sweep(".mbt reader", op_read, NULL, NULL);
}

/* The push parser fed in 100-byte pieces, as an upload arrives. */
static int op_push(void *ctx, struct mb_err *err)
{
	struct mbt_parser *p = mbt_parser_new(NULL, NULL, good_trace.len);
	struct mbt_info info;
	size_t off;
	int ret = -1;

	(void)ctx;
	if (!p)
		return mb_errf(err, "out of memory");
	for (off = 0; off < good_trace.len; off += 100)
		if (mbt_parser_feed(p, good_trace.data + off,
				    good_trace.len - off < 100 ?
				    good_trace.len - off : 100, err))
			goto out;
	ret = mbt_parser_finish(p, &info, err);
out:
	mbt_parser_free(p);
	return ret;
}

static void mbt_push_parser_runs_out(void **state)
{
	(void)state;
	failalloc_sweep(".mbt push parser", op_push, NULL, NULL);
}

static const char text_trace[] = "1\n22\n333\n4294967295\n0\n7\n";

static int op_text(void *ctx, struct mb_err *err)
{
	struct mbt_trace t = { 0 };
	int ret;

	(void)ctx;
	ret = mb_text_read_mem(text_trace, strlen(text_trace), "VM1", &t, err);
	if (!ret && (t.info.page_count != 6 || t.digests[3] != 4294967295u))
		fail_msg("the text trace read back wrong");
	mbt_trace_free(&t);
	return ret;
}

static void text_parser_runs_out(void **state)
{
	(void)state;
	failalloc_sweep("text parser", op_text, NULL, NULL);
}

static int count_sink(void *ctx, const uint64_t *d, size_t n,
		      struct mb_err *err)
{
	(void)d;
	(void)err;
	*(uint64_t *)ctx += n;
	return 0;
}

/* The legacy listener's way: digests handed to a sink in batches. */
static int op_text_sink(void *ctx, struct mb_err *err)
{
	struct mb_text_parser p;
	uint64_t seen = 0;
	int ret;

	(void)ctx;
	mb_text_init(&p);
	p.sink = count_sink;
	p.sink_ctx = &seen;
	ret = mb_text_feed(&p, text_trace, strlen(text_trace), err);
	if (!ret)
		ret = mb_text_end(&p, err);
	if (!ret && seen != 6)
		fail_msg("the sink saw %" PRIu64 " digests", seen);
	mb_text_release(&p);
	return ret;
}

static void text_parser_with_sink_runs_out(void **state)
{
	(void)state;
	failalloc_sweep("text parser with a sink", op_text_sink, NULL, NULL);
}

static const char scenario_json[] =
	"{\"hosts\": [{\"name\": \"h0\", \"memory_mb\": 3072},"
	"             {\"name\": \"h1\", \"memory_mb\": 2048}],"
	" \"vms\": [{\"name\": \"vm0\", \"trace\": \"a.mbt\", \"memory_mb\": 1024,"
	"            \"host\": \"h0\"},"
	"           {\"name\": \"vm1\", \"trace\": \"/abs/b.mbt\"}]}";

static int op_scenario(void *ctx, struct mb_err *err)
{
	struct mb_scenario sc;
	int ret;

	(void)ctx;
	memset(&sc, 0, sizeof(sc));
	ret = mb_scenario_parse(scenario_json, strlen(scenario_json),
				"/base", &sc, err);
	if (!ret && (sc.nvms != 2 || strcmp(sc.trace_paths[0],
					    "/base/a.mbt")))
		fail_msg("the scenario parsed wrong");
	mb_scenario_free(&sc);
	return ret;
}

static void scenario_parser_runs_out(void **state)
{
	(void)state;
	failalloc_sweep("scenario parser", op_scenario, NULL, NULL);
}

static char conf_path[64];

static int op_config(void *ctx, struct mb_err *err)
{
	char *argv[] = { "mb-controld", "--config", conf_path, "--keep", "3",
			 "--host", "h1,qemu:///system", "--tls-priority",
			 "NORMAL", NULL };
	struct controld_config c;
	int ret;

	(void)ctx;
	optind = 0;
	ret = config_parse(&c, 9, argv, err);
	if (!ret && (c.keep != 3 || c.nhosts != 2 ||
		     strcmp(c.datadir, "/srv/mb")))
		fail_msg("the configuration parsed wrong");
	config_free(&c);
	return ret;
}

static void config_parser_runs_out(void **state)
{
	FILE *f;

	(void)state;
	strcpy(conf_path, "/tmp/mb-allocfail-conf.XXXXXX");
	f = fdopen(mkstemp(conf_path), "w");
	fprintf(f, "# test\ndatadir /srv/mb\nkeep 7\nhost h0,qemu:///system\n"
		"insecure-no-auth\nsharing-scope global\n");
	fclose(f);
	failalloc_sweep("controld config", op_config, NULL, NULL);
	unlink(conf_path);
}

static const char tokens[] =
	"# tokens\n"
	UUID_A " token-of-vm-a tenant=acme\n"
	UUID_A " rotated-token-a tenant=acme\n"
	"6d62756c-6661-4000-8000-00000000000b token-of-vm-b\n"
	"admin the-admin-token\n";

static int op_tokens(void *ctx, struct mb_err *err)
{
	const char *path = ctx;
	struct auth *a = auth_new(path, false, err);
	char tenant[AUTH_TENANT_MAX];
	uint8_t u[MBT_UUID_LEN];

	if (!a)
		return -1;
	mb_uuid_parse(UUID_A, u);
	if (auth_count(a) != 4 || !auth_tenant(a, u, tenant) ||
	    strcmp(tenant, "acme") ||
	    auth_check(a, "Bearer rotated-token-a", u) != AUTH_OK)
		fail_msg("the tokens file parsed wrong");
	/* A reload that runs out keeps the table in force. */
	if (auth_reload(a, err) && auth_count(a) != 4)
		fail_msg("a failed reload lost the tokens");
	auth_free(a);
	return 0;
}

static void tokens_parser_runs_out(void **state)
{
	char path[] = "/tmp/mb-allocfail-tokens.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(write(fd, tokens, strlen(tokens)) ==
		    (ssize_t)strlen(tokens));
	close(fd);
	failalloc_sweep("tokens file", op_tokens, NULL, path);
	unlink(path);
}

static const char report[] =
	"{\"name\": \"g1\", \"mem_total_kb\": 1048576, \"mem_available_kb\": "
	"524288, \"pswpin\": 10, \"pswpout\": 20, \"psi\": {\"some\": {\"avg10\":"
	" 1.5, \"avg60\": 1.0, \"avg300\": 0.5, \"total_us\": 1000}}}";

static int op_report(void *ctx, struct mb_err *err)
{
	struct guest_report r;

	(void)ctx;
	return guest_report_parse(report, strlen(report), &r, err);
}

static void guest_report_parser_runs_out(void **state)
{
	(void)state;
	failalloc_sweep("guest statistics report", op_report, NULL, NULL);
}

/*
 * The tenant keys (controld/keys.c): a store opened from its file, a key
 * read, a new one made and saved, the answer of the key route. A key
 * that ran out of memory on its way to the file is not there afterwards.
 */
static const char keys_text[] =
	"# keys\n"
	"1a2b3c4d 0123456789abcdef tenant=acme\n"
	"5e6f7a8b fedcba9876543210\n";

static int op_keys(void *ctx, struct mb_err *err)
{
	const char *dir = ctx;
	struct keystore *k = keystore_open(dir, err);
	struct auth *a;
	struct tenant_key key;
	uint8_t u[MBT_UUID_LEN];
	char msg[MB_ERR_LEN];
	json_t *body = NULL;
	int ret = -1;

	if (!k)
		return -1;
	if (keystore_get(k, "acme", false, &key, err) != 1 ||
	    key.id != 0x1a2b3c4d)
		fail_msg("the keys file parsed wrong");
	if (keystore_get(k, "other", true, &key, err) != 1) {
		if (keystore_key_id(k, "other"))
			fail_msg("a key that was not saved is in the table");
		goto out;
	}
	a = auth_new(NULL, false, err);
	if (!a)
		goto out;
	if (auth_load_text(a, "tokens", tokens, strlen(tokens), err)) {
		auth_free(a);
		goto out;
	}
	mb_uuid_parse(UUID_A, u);
	if (keys_answer(k, a, "Bearer token-of-vm-a", u, &body, msg,
			sizeof(msg)) != 200) {
		mb_errf(err, "%s", msg);
		auth_free(a);
		goto out;
	}
	json_decref(body);
	auth_free(a);
	ret = 0;
out:
	keystore_close(k);
	return ret;
}

/* Each run starts from the two keys of keys_text. */
static void keys_reset(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(keys_text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

static void check_keys(void *ctx, int ret, const struct mb_err *err)
{
	char path[128];

	(void)ret;
	(void)err;
	snprintf(path, sizeof(path), "%s/keys", (const char *)ctx);
	keys_reset(path);
}

static void keys_run_out(void **state)
{
	char dir[] = "/tmp/mb-allocfail-keys.XXXXXX", path[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);
	keys_reset(path);
	failalloc_sweep("tenant keys", op_keys, check_keys, dir);
	unlink(path);
	rmdir(dir);
}

/* ---- the store and the catalogue ---- */


struct store_fx {
	char dir[64];
	char db[128];
	uint64_t versions;		/* acknowledged so far */
	struct catalogue *cat;
	struct store *store;
};

static int count_matching(const char *dir, const char *prefix,
			  const char *suffix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(suffix);

		if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
		    len >= sl && !strcmp(de->d_name + len - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

static void vm_dir(const struct store_fx *f, char *out, size_t size)
{
	snprintf(out, size, "%s/vms/%s", f->dir, UUID_A);
}


static void fx_open(struct store_fx *f)
{
	struct store_options o = { .datadir = f->dir, .keep = 3,
				   .fsync = false };
	struct mb_err err;
	bool fresh;

	f->cat = catalogue_open(f->db, &fresh, &err);
	if (!f->cat)
		fail_msg("catalogue_open: %s", err.msg);
	f->store = store_open(&o, f->cat, &err);
	if (!f->store)
		fail_msg("store_open: %s", err.msg);
}

static void fx_close(struct store_fx *f)
{
	store_close(f->store);
	catalogue_close(f->cat);
	f->store = NULL;
	f->cat = NULL;
}

static void fx_init(struct store_fx *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/mb-allocfail-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/catalogue.db", f->dir);
}

static void fx_remove(struct store_fx *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

static int upload(struct store_fx *f, struct mb_err *err)
{
	uint8_t u[MBT_UUID_LEN];
	struct store_upload *up;
	struct trace_record rec;
	enum store_status st;

	mb_uuid_parse(UUID_A, u);
	up = store_upload_begin(f->store, u, good_trace.len, 0, &st, err);
	if (!up)
		return -1;
	if (store_upload_write(up, good_trace.data, good_trace.len, err)) {
		store_upload_abort(up);
		return -1;
	}
	if (store_upload_commit(up, NULL, "http", NULL, &rec, err))
		return -1;
	f->versions++;
	if (rec.version != f->versions)
		fail_msg("stored as version %" PRIu64 ", expected %" PRIu64,
			 rec.version, f->versions);
	return 0;
}

/*
 * What the store holds is what was acknowledged: no temporary file, the
 * last min(3, versions) versions as files, byte for byte; with @reopened,
 * the catalogue lists exactly them.
 */
static void check_files(const struct store_fx *f, bool reopened)
{
	struct trace_record r;
	struct mb_err err;
	char dir[128], path[192];
	uint64_t v;
	struct stat st;
	int found, files;

	vm_dir(f, dir, sizeof(dir));
	if (count_matching(dir, ".upload-", "") ||
	    count_matching(dir, ".meta-", ""))
		fail_msg("a temporary file was left in %s", dir);
	/*
	 * Retention is housekeeping: a run out of memory may leave an old
	 * version for the next upload (or start) to drop, never fewer.
	 */
	files = count_matching(dir, "", ".mbt");
	if ((uint64_t)files < (f->versions < 3 ? f->versions : 3) ||
	    (uint64_t)files > f->versions || (reopened && files > 3))
		fail_msg("%d trace files after %" PRIu64 " acknowledged "
			 "uploads (keep 3)%s", files, f->versions,
			 reopened ? ", after a restart" : "");
	for (v = f->versions > 2 ? f->versions - 2 : 1; v <= f->versions; v++) {
		snprintf(path, sizeof(path), "%s/%" PRIu64 ".mbt", dir, v);
		if (stat(path, &st) || (size_t)st.st_size != good_trace.len)
			fail_msg("version %" PRIu64 " is missing or not whole",
				 v);
		found = catalogue_get(f->cat, UUID_A, v, &r, &err);
		if (reopened && found != 1)
			fail_msg("version %" PRIu64 " is not catalogued after "
				 "a restart", v);
	}
	if (count_matching(f->dir, "quarantine", ""))
		fail_msg("a trace was quarantined: stored half-way");
}

/* Opening a data directory: the catalogue, then the reconcile pass. */
static int op_open(void *ctx, struct mb_err *err)
{
	struct store_fx *f = ctx;
	struct store_options o = { .datadir = f->dir, .keep = 3,
				   .fsync = false };
	bool fresh;

	f->cat = catalogue_open(f->db, &fresh, err);
	if (!f->cat)
		return -1;
	f->store = store_open(&o, f->cat, err);
	if (!f->store) {
		catalogue_close(f->cat);
		f->cat = NULL;
		return -1;
	}
	fx_close(f);
	return 0;
}

static void store_open_runs_out(void **state)
{
	struct store_fx f;
	struct mb_err err;

	(void)state;
	fx_init(&f);
	fx_open(&f);
	if (upload(&f, &err))
		fail_msg("%s", err.msg);
	fx_close(&f);
	/* The catalogue lost: every open rebuilds it from the files. */
	unlink(f.db);
	failalloc_sweep("catalogue and store open", op_open, NULL, &f);
	fx_open(&f);
	check_files(&f, true);
	fx_close(&f);
	fx_remove(&f);
}

static int op_upload(void *ctx, struct mb_err *err)
{
	return upload(ctx, err);
}

static void check_upload(void *ctx, int ret, const struct mb_err *err)
{
	(void)ret;
	(void)err;
	check_files(ctx, false);
}

/* An upload's whole path: begin, validate and write, commit, retention. */
static void store_upload_runs_out(void **state)
{
	struct store_fx f;

	(void)state;
	fx_init(&f);
	fx_open(&f);
	failalloc_sweep("store upload", op_upload, check_upload, &f);
	/* A clean restart finds exactly the acknowledged versions. */
	fx_close(&f);
	fx_open(&f);
	check_files(&f, true);
	fx_close(&f);
	fx_remove(&f);
}

static int op_listing(void *ctx, struct mb_err *err)
{
	struct store_fx *f = ctx;
	json_t *j;

	j = catalogue_vms_json(f->cat, 0, err);
	if (!j)
		return -1;
	if (json_array_size(j) != 1)
		fail_msg("catalogue_vms_json: %zu VMs", json_array_size(j));
	json_decref(j);
	j = catalogue_vm_json(f->cat, UUID_A, 0, err);
	if (!j)
		return -1;
	json_decref(j);
	j = catalogue_traces_json(f->cat, UUID_A, err);
	if (!j)
		return -1;
	json_decref(j);
	return 0;
}

/* The listings the API serves from the catalogue. */
static void catalogue_listing_runs_out(void **state)
{
	struct store_fx f;
	struct mb_err err;
	int i;

	(void)state;
	fx_init(&f);
	fx_open(&f);
	for (i = 0; i < 2; i++)
		if (upload(&f, &err))
			fail_msg("%s", err.msg);
	failalloc_sweep("catalogue listings", op_listing, NULL, &f);
	fx_close(&f);
	fx_remove(&f);
}

static int setup(void **state)
{
	struct mb_err err;

	(void)state;
	if (write_trace(&good_trace, 640, &err))
		fail_msg("%s", err.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(good_trace.data);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mbt_writer_runs_out),
		cmocka_unit_test(mbt_reader_runs_out),
		cmocka_unit_test(mbt_push_parser_runs_out),
		cmocka_unit_test(text_parser_runs_out),
		cmocka_unit_test(text_parser_with_sink_runs_out),
		cmocka_unit_test(scenario_parser_runs_out),
		cmocka_unit_test(config_parser_runs_out),
		cmocka_unit_test(tokens_parser_runs_out),
		cmocka_unit_test(keys_run_out),
		cmocka_unit_test(guest_report_parser_runs_out),
		cmocka_unit_test(store_open_runs_out),
		cmocka_unit_test(store_upload_runs_out),
		cmocka_unit_test(catalogue_listing_runs_out),
	};

	failalloc_init();
	mb_json_alloc_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
