// SPDX-License-Identifier: GPL-2.0
/*
 * test_hostd_scan.c - mb-hostd's way into a guest's memory, with this
 * test process playing the QEMU: its "RAM blocks" are mappings of its own
 * (MADV_DONTFORK, as QEMU marks them, each followed by a PROT_NONE guard
 * page, as QEMU leaves one), found in its real /proc/self/smaps and read
 * with real process_vm_readv(); the guest's view of its pages (what `xp`
 * would print) comes from the same buffers by a route of its own. Checks
 * how blocks of one size are told apart, that a mapping holding other
 * bytes is refused, every digest of a scan against lib's, the CPU budget,
 * the metrics text and the options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "digest.h"
#include "hostd.h"

#define PAGE 4096
#define NODE_PAGES 256		/* two "NUMA nodes" of 1 MiB */
#define ROM_PAGES 8		/* and a ROM no address reaches */

struct fake_qemu {
	uint8_t *node[2], *rom;
	bool corrupt_guest;		/* the guest sees other bytes */
	bool zero_guest;		/* the guest sees only zeros */
	struct ram_block blocks[3];
	struct flat_range ranges[2];
};

static uint8_t *block_mapping(size_t pages)
{
	uint8_t *p = mmap(NULL, (pages + 1) * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(madvise(p, pages * PAGE, MADV_DONTFORK), 0);
	assert_int_equal(mprotect(p + pages * PAGE, PAGE, PROT_NONE), 0);
	return p;
}

/* Pseudo-random pages, every 5th all zero, every 7th a copy of page 0. */
static void fill(uint8_t *p, size_t pages, uint64_t seed)
{
	size_t i, j;

	for (i = 0; i < pages; i++) {
		uint64_t x = seed + i * 0x9e3779b97f4a7c15ULL;

		if (i % 5 == 4) {
			memset(p + i * PAGE, 0, PAGE);
			continue;
		}
		if (i && i % 7 == 0) {
			memcpy(p + i * PAGE, p, PAGE);
			continue;
		}
		for (j = 0; j < PAGE; j += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(p + i * PAGE + j, &x, 8);
		}
	}
}

static int setup(void **state)
{
	struct fake_qemu *q = calloc(1, sizeof(*q));

	assert_non_null(q);
	q->node[0] = block_mapping(NODE_PAGES);
	q->node[1] = block_mapping(NODE_PAGES);
	q->rom = block_mapping(ROM_PAGES);
	fill(q->node[0], NODE_PAGES, 1);
	fill(q->node[1], NODE_PAGES, 2);
	fill(q->rom, ROM_PAGES, 3);
	q->blocks[0] = (struct ram_block){ "ram-node0", PAGE, 0,
		NODE_PAGES * PAGE, NODE_PAGES * PAGE, 0 };
	q->blocks[1] = (struct ram_block){ "ram-node1", PAGE,
		NODE_PAGES * PAGE, NODE_PAGES * PAGE, NODE_PAGES * PAGE, 0 };
	q->blocks[2] = (struct ram_block){ "/rom@etc/test", PAGE,
		2 * NODE_PAGES * PAGE, ROM_PAGES * PAGE, ROM_PAGES * PAGE, 0 };
	/* node 0 at 0, node 1 above it */
	q->ranges[0] = (struct flat_range){ 0, NODE_PAGES * PAGE - 1, 0,
		FLAT_RAM, "ram-node0" };
	q->ranges[1] = (struct flat_range){ NODE_PAGES * PAGE,
		2 * NODE_PAGES * PAGE - 1, 0, FLAT_RAM, "ram-node1" };
	*state = q;
	return 0;
}

static int teardown(void **state)
{
	struct fake_qemu *q = *state;

	munmap(q->node[0], (NODE_PAGES + 1) * PAGE);
	munmap(q->node[1], (NODE_PAGES + 1) * PAGE);
	munmap(q->rom, (ROM_PAGES + 1) * PAGE);
	free(q);
	return 0;
}

static int read_host(void *ctx, uint64_t hva, void *buf, size_t size,
		     struct mb_err *err)
{
	(void)ctx;
	return scan_read_process(getpid(), hva, buf, size, err);
}

/* What the guest sees at @gpa: node 0 below 1 MiB, node 1 above. */
static int read_guest(void *ctx, uint64_t gpa, uint8_t *page,
		      struct mb_err *err)
{
	struct fake_qemu *q = ctx;
	uint64_t node = gpa / (NODE_PAGES * PAGE);

	if (node > 1)
		return mb_errf(err, "no RAM at %#llx", (unsigned long long)gpa);
	memcpy(page, q->node[node] + gpa % (NODE_PAGES * PAGE), PAGE);
	if (q->zero_guest)
		memset(page, 0, PAGE);
	if (q->corrupt_guest && node == 1)
		page[100] ^= 0xff;
	return 0;
}

/* Layout and places of the fake QEMU; returns layout_attach()'s result. */
static int attach(struct fake_qemu *q, struct layout *l,
		  struct block_place *places, struct mb_err *err)
{
	struct memory_view view = { read_host, read_guest, q };
	struct ram_block *blocks = malloc(sizeof(q->blocks));
	struct vma *vmas;
	char *text, warning[MB_ERR_LEN];
	size_t len, n;
	int ret;

	assert_non_null(blocks);
	memcpy(blocks, q->blocks, sizeof(q->blocks));
	assert_int_equal(layout_build(blocks, 3, q->ranges, 2, true, l, err),
			 0);
	text = proc_read(getpid(), "smaps", 64 << 20, &len, err);
	assert_non_null(text);
	assert_int_equal(maps_parse(text, len, &vmas, &n, err), 0);
	free(text);
	ret = layout_attach(l, vmas, n, &view, places, warning,
			    sizeof(warning), err);
	free(vmas);
	return ret;
}

static void test_attach_by_content(void **state)
{
	struct fake_qemu *q = *state;
	struct block_place places[3];
	struct layout l;
	struct mb_err err;

	if (attach(q, &l, places, &err))
		fail_msg("layout_attach: %s", err.msg);
	assert_int_equal(places[0].hva, (uintptr_t)q->node[0]);
	assert_int_equal(places[0].how, MATCH_CONTENT);
	assert_int_equal(places[0].samples, places[0].agreed);
	assert_true(places[0].samples >= 2);
	assert_int_equal(places[1].hva, (uintptr_t)q->node[1]);
	assert_int_equal(places[1].how, MATCH_CONTENT);
	assert_int_equal(places[2].hva, (uintptr_t)q->rom);
	assert_int_equal(places[2].how, MATCH_SIZE);
	assert_int_equal(l.visible_pages, 2 * NODE_PAGES);
	assert_int_equal(l.unmapped_pages, ROM_PAGES);
	layout_free(&l);
}

static void test_attach_by_order(void **state)
{
	struct fake_qemu *q = *state;
	struct block_place places[3];
	struct layout l;
	struct mb_err err;
	uintptr_t high, low;

	/* Nothing to compare: blocks in ram_addr order, mappings from high. */
	q->zero_guest = true;
	if (attach(q, &l, places, &err))
		fail_msg("layout_attach: %s", err.msg);
	high = (uintptr_t)(q->node[0] > q->node[1] ? q->node[0] : q->node[1]);
	low = (uintptr_t)(q->node[0] > q->node[1] ? q->node[1] : q->node[0]);
	assert_int_equal(places[0].how, MATCH_ORDER);
	assert_int_equal(places[0].hva, high);
	assert_int_equal(places[1].hva, low);
	layout_free(&l);
}

static void test_attach_refuses_other_bytes(void **state)
{
	struct fake_qemu *q = *state;
	struct block_place places[3];
	struct layout l;
	struct mb_err err;

	q->corrupt_guest = true;
	assert_int_equal(attach(q, &l, places, &err), -1);
	if (!strstr(err.msg, "RAM block ram-node1: the mapping at") ||
	    !strstr(err.msg, "not this block"))
		fail_msg("unexpected error: %s", err.msg);
	layout_free(&l);	/* still the caller's after a failure */
}

/* The trace of @res against the fake's own pages, digest by digest. */
static void check_trace(struct fake_qemu *q, const struct scan_result *res,
			int algo)
{
	struct mbt_trace t = { 0 };
	struct mb_err err;
	uint8_t *buf = malloc(res->size);
	uint64_t i;

	assert_non_null(buf);
	assert_int_equal(pread(res->fd, buf, res->size, 0), (ssize_t)res->size);
	if (mbt_read_mem(buf, res->size, &t, &err))
		fail_msg("the scan's trace does not parse: %s", err.msg);
	assert_int_equal(t.info.page_count, 2 * NODE_PAGES + ROM_PAGES);
	assert_int_equal(t.info.flags, MBT_FLAG_FROM_HOST);
	assert_int_equal(t.info.algorithm, algo);
	assert_string_equal(t.info.vm_name, "fake");
	for (i = 0; i < t.info.page_count; i++) {
		uint64_t pfn = mbt_pfn(&t, i);
		const uint8_t *page = i < 2 * NODE_PAGES ?
			q->node[i / NODE_PAGES] + (i % NODE_PAGES) * PAGE :
			q->rom + (i - 2 * NODE_PAGES) * PAGE;

		assert_int_equal(pfn, i < 2 * NODE_PAGES ? i :
				 HOSTD_UNMAPPED_PFN_BASE + i - 2 * NODE_PAGES);
		assert_false(mbt_is_free(&t, i));
		if (t.digests[i] != mb_digest_page(algo, page))
			fail_msg("pfn %llu: digest %llx, lib says %llx",
				 (unsigned long long)pfn,
				 (unsigned long long)t.digests[i],
				 (unsigned long long)mb_digest_page(algo, page));
	}
	mbt_trace_free(&t);
	free(buf);
}

static void scan(struct fake_qemu *q, int algo, unsigned int chunk,
		 unsigned int max_cpu, const struct layout *l,
		 const struct block_place *places, struct scan_result *res)
{
	uint8_t uuid[MBT_UUID_LEN] = { 1, 2, 3 };
	struct scan_request rq = {
		.pid = getpid(), .layout = l, .places = places, .algo = algo,
		.chunk_pages = chunk, .max_cpu = max_cpu, .uuid = uuid,
		.name = "fake",
	};
	struct mb_err err;

	(void)q;
	assert_int_equal(proc_starttime(getpid(), &rq.starttime, &err), 0);
	if (scan_run(&rq, res, &err))
		fail_msg("scan_run: %s", err.msg);
}

static void test_scan(void **state)
{
	struct fake_qemu *q = *state;
	struct block_place places[3];
	struct scan_result res;
	struct layout l;
	struct mb_err err;
	size_t a, c;
	static const unsigned int chunks[] = { 1, 7, 256, 4096 };
	static const int algos[] = { MB_ALGO_SUPERFAST, MB_ALGO_XXH32,
				     MB_ALGO_XXH64 };

	if (attach(q, &l, places, &err))
		fail_msg("layout_attach: %s", err.msg);
	for (a = 0; a < 3; a++)
		for (c = 0; c < 4; c++) {
			scan(q, algos[a], chunks[c], 100, &l, places, &res);
			check_trace(q, &res, algos[a]);
			assert_int_equal(res.done.pages_done,
					 2 * NODE_PAGES + ROM_PAGES);
			scan_result_release(&res);
		}
	layout_free(&l);
}

static void test_scan_failures(void **state)
{
	struct fake_qemu *q = *state;
	struct block_place places[3];
	uint8_t uuid[MBT_UUID_LEN] = { 0 };
	volatile sig_atomic_t stop = 1;
	struct scan_request rq = {
		.pid = getpid(), .places = places, .algo = MB_ALGO_XXH64,
		.chunk_pages = 64, .max_cpu = 100, .uuid = uuid,
		.name = "fake", .stop = &stop,
	};
	struct scan_result res;
	struct layout l;
	struct mb_err err;
	uint8_t page[PAGE];

	if (attach(q, &l, places, &err))
		fail_msg("layout_attach: %s", err.msg);
	rq.layout = &l;
	assert_int_equal(proc_starttime(getpid(), &rq.starttime, &err), 0);
	assert_int_equal(scan_run(&rq, &res, &err), -1);
	assert_non_null(strstr(err.msg, "stopped after 0 of"));
	assert_int_equal(res.fd, -1);
	stop = 0;
	rq.starttime++;
	assert_int_equal(scan_run(&rq, &res, &err), -1);
	assert_non_null(strstr(err.msg, "was replaced during the scan"));
	/* A block's mapping that ends early: the guard page. */
	rq.starttime--;
	places[2].hva += PAGE;
	assert_int_equal(scan_run(&rq, &res, &err), -1);
	assert_non_null(strstr(err.msg, "(block /rom@etc/test)"));
	assert_non_null(strstr(err.msg, "Bad address"));
	assert_int_equal(scan_read_process(getpid(), 0x1000, page, PAGE,
					   &err), -1);
	layout_free(&l);
}

static void test_budget(void **state)
{
	const size_t pages = 16384;	/* 64 MiB */
	uint8_t *big = block_mapping(pages);
	struct ram_block *b = calloc(1, sizeof(*b));
	struct flat_range r = { 0, pages * PAGE - 1, 0, FLAT_RAM, "big" };
	struct block_place place = { (uintptr_t)big, MATCH_SIZE, 0, 0 };
	struct scan_result res;
	struct layout l;
	struct mb_err err;
	double ratio;

	(void)state;
	assert_non_null(b);
	fill(big, pages, 9);
	*b = (struct ram_block){ "big", PAGE, 0, pages * PAGE, pages * PAGE, 0 };
	assert_int_equal(layout_build(b, 1, &r, 1, true, &l, &err), 0);
	scan(NULL, MB_ALGO_XXH64, 256, 20, &l, &place, &res);
	ratio = res.done.cpu_s / res.done.wall_s;
	print_message("64 MiB at --max-cpu 20: CPU %.3f s in %.3f s (%.0f %%), "
		      "slept %.3f s\n", res.done.cpu_s, res.done.wall_s,
		      100 * ratio, res.done.slept_s);
	/* Being starved by other work only lowers the share. */
	if (ratio > 0.20 * 1.25)
		fail_msg("the scan took %.0f %% of a CPU, over --max-cpu 20",
			 100 * ratio);
	assert_true(res.done.slept_s > 0);
	scan_result_release(&res);
	layout_free(&l);
	munmap(big, (pages + 1) * PAGE);
	assert_true(budget_debt_s(1.0, 2.0, 0.25) == 2.0);
	assert_true(budget_debt_s(0.1, 1.0, 0.25) == 0);
	assert_true(budget_debt_s(5.0, 1.0, 1.0) == 0);
}

static void test_metrics(void **state)
{
	struct metrics m = { .max_cpu = 25 };
	struct domain_metrics *d;
	char *text;

	(void)state;
	d = metrics_domain(&m, "4057a1e5-0000-4000-8000-000000000001",
			   "web \"1\"\\x");
	assert_non_null(d);
	d->seen = true;
	d->pages = 65536;
	d->progress = 0.5;
	assert_ptr_equal(metrics_domain(&m, d->uuid, d->name), d);
	m.uploads[1] = 3;
	text = metrics_text(&m);
	assert_non_null(text);
	assert_non_null(strstr(text, "mb_hostd_max_cpu_ratio 0.25\n"));
	assert_non_null(strstr(text, "mb_hostd_uploads_total{result=\"rejected\"} 3\n"));
	assert_non_null(strstr(text, "mb_hostd_domain_pages{uuid=\"4057a1e5-"
			       "0000-4000-8000-000000000001\",name=\"web "
			       "\\\"1\\\"\\\\x\"} 65536\n"));
	assert_non_null(strstr(text, "# TYPE mb_hostd_domain_progress_ratio "
			       "gauge\n"));
	free(text);
	metrics_free(&m);
}

static int parse(const char *args, struct hostd_config *c, struct mb_err *err)
{
	char buf[512], *argv[32];
	int argc = 0;

	snprintf(buf, sizeof(buf), "mb-hostd %s", args);
	for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	optind = 0;
	return hostd_config_parse(c, argc, argv, err);
}

static void test_config(void **state)
{
	static const struct {
		const char *args, *error;
	} bad[] = {
		{ "", "no --server" },
		{ "--server ftp://x", "is not an http:// or https:// URL" },
		{ "--output-dir /tmp --max-cpu 0", "max-cpu" },
		{ "--output-dir /tmp --ionice best-effort:9", "ionice" },
		{ "--output-dir /tmp --ionice realtime", "is not idle" },
		{ "--output-dir /tmp --nice 20", "-20..19" },
		{ "--output-dir /tmp --algo md5", "algo: 'md5'" },
		{ "--output-dir /tmp --unmapped-blocks maybe", "include or skip" },
		{ "--output-dir /tmp --qmp /a --connect qemu:///session",
		  "exclude each other" },
	};
	struct hostd_config c;
	struct mb_err err;
	size_t i;

	(void)state;
	assert_int_equal(parse("--server http://c:8080", &c, &err), 0);
	assert_string_equal(c.connect, "qemu:///system");
	assert_int_equal(c.interval, 300);
	assert_int_equal(c.max_cpu, 25);
	assert_int_equal(c.nice, 10);
	assert_int_equal(c.ionice, IONICE_IDLE);
	assert_int_equal(c.algo, MB_ALGO_SUPERFAST);
	assert_true(c.unmapped_blocks);
	hostd_config_free(&c);
	assert_int_equal(parse("--output-dir /tmp --qmp /a --qmp /b --domain g "
			       "--ionice best-effort:3 --max-cpu 100 --algo "
			       "xxh64 --unmapped-blocks skip", &c, &err), 0);
	assert_int_equal(c.nqmp, 2);
	assert_string_equal(c.qmp[1], "/b");
	assert_int_equal(c.ndomains, 1);
	assert_int_equal(c.ionice, IONICE_BEST_EFFORT);
	assert_int_equal(c.ionice_level, 3);
	assert_int_equal(c.algo, MB_ALGO_XXH64);
	assert_false(c.unmapped_blocks);
	hostd_config_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i].args, &c, &err);

		if (ret != -1 || !strstr(err.msg, bad[i].error))
			fail_msg("'%s': expected an error with '%s', got %d "
				 "'%s'", bad[i].args, bad[i].error, ret,
				 ret ? err.msg : "");
		hostd_config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_by_content, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attach_by_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attach_refuses_other_bytes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_failures, setup,
						teardown),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
