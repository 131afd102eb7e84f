// SPDX-License-Identifier: GPL-2.0
/*
 * test_guestd_collect.c - what mb-guestd collects: memory statistics from
 * this machine's real /proc and from a made-up one, the identity rule,
 * and the scan: a valid trace is copied whole into the memory file, an
 * invalid one is refused with the reader's message, and a device that
 * another process has locked is reported busy (no second scan).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <cmocka.h>

#include "guestd.h"

static void test_real_proc(void **state)
{
	struct guest_stats s;
	struct mb_err err;

	(void)state;
	assert_int_equal(collect_stats("/proc", &s, &err), 0);
	assert_true(s.mem_total_kb > 0);
	assert_true(s.mem_available_kb > 0);
	assert_true(s.mem_available_kb <= s.mem_total_kb);
	assert_true(s.swap_total_kb >= 0);
	assert_true(s.pswpin >= 0 && s.pswpout >= 0);
}

static void test_made_up_proc(void **state)
{
	char dir[] = "/tmp/mb-proc-test.XXXXXX", path[64];
	struct guest_stats s;
	struct mb_err err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/meminfo", dir);
	f = fopen(path, "w");
	fputs("MemTotal:        2048000 kB\nMemFree: 1 kB\n"
	      "MemAvailable:    1024000 kB\nSwapTotal: 4096 kB\n"
	      "SwapFree: 1024 kB\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/vmstat", dir);
	f = fopen(path, "w");
	fputs("nr_free_pages 5\npswpin 17\npswpout 42\n", f);
	fclose(f);
	assert_int_equal(collect_stats(dir, &s, &err), 0);
	assert_int_equal(s.mem_total_kb, 2048000);
	assert_int_equal(s.mem_available_kb, 1024000);
	assert_int_equal(s.swap_total_kb, 4096);
	assert_int_equal(s.swap_free_kb, 1024);
	assert_int_equal(s.pswpin, 17);
	assert_int_equal(s.pswpout, 42);
	unlink(path);
	assert_int_equal(collect_stats(dir, &s, &err), -1);
	assert_non_null(strstr(err.msg, "vmstat"));
	snprintf(path, sizeof(path), "%s/meminfo", dir);
	unlink(path);
	rmdir(dir);
}

static void test_identity(void **state)
{
	uint8_t uuid[MBT_UUID_LEN];
	struct mb_err err;
	char text[37];

	(void)state;
	assert_int_equal(collect_identity("6D62756C-0000-4000-8000-0000000000AB",
					  uuid, text, &err), 0);
	assert_string_equal(text, "6d62756c-0000-4000-8000-0000000000ab");
	assert_int_equal(collect_identity("nope", uuid, text, &err), -1);
	assert_non_null(strstr(err.msg, "'nope' is not a uuid"));
}

static int sink(void *ctx, const void *buf, size_t len, struct mb_err *err)
{
	(void)err;
	return write(*(int *)ctx, buf, len) == (ssize_t)len ? 0 : -1;
}

static void make_trace_file(const char *path, uint32_t pages)
{
	uint64_t *d = calloc(pages, sizeof(*d));
	struct mbt_writer w;
	struct mbt_info info;
	uint32_t i;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	mbt_info_init(&info, MB_ALGO_XXH64);
	info.page_count = pages;
	for (i = 0; i < pages; i++)
		d[i] = i * 0x9e3779b97f4a7c15ULL;
	assert_int_equal(mbt_writer_begin(&w, &info, sink, &fd, NULL), 0);
	for (i = 0; i < pages; i += info.chunk_max)
		assert_int_equal(mbt_writer_chunk(&w, 100 + i,
			pages - i < info.chunk_max ? pages - i : info.chunk_max,
			NULL, d + i, NULL), 0);
	assert_int_equal(mbt_writer_end(&w, 0, NULL), 0);
	mbt_writer_release(&w);
	close(fd);
	free(d);
}

static void test_scan(void **state)
{
	char path[] = "/tmp/mb-scan-test.XXXXXX";
	uint8_t a[4096], b[4096];
	struct scan s;
	struct mb_err err;
	off_t size;
	int fd, holder;

	(void)state;
	fd = mkstemp(path);
	close(fd);
	make_trace_file(path, 10000);
	fd = open(path, O_RDONLY);
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal(collect_scan(path, &s, &err), 0);
	assert_int_equal(s.size, size);
	assert_int_equal(s.info.page_count, 10000);
	assert_int_equal(s.info.digest_size, 8);
	assert_true(pread(fd, a, sizeof(a), size - sizeof(a)) == sizeof(a));
	assert_true(pread(s.fd, b, sizeof(b), size - sizeof(b)) == sizeof(b));
	assert_memory_equal(a, b, sizeof(a));
	scan_release(&s);
	close(fd);

	/* Another holder of the device: busy, not a second scan. */
	holder = open(path, O_RDONLY);
	assert_int_equal(flock(holder, LOCK_EX), 0);
	assert_int_equal(collect_scan(path, &s, &err), -2);
	assert_non_null(strstr(err.msg, "another scan is in progress"));
	close(holder);

	/* A damaged trace is refused with the reader's reason. */
	assert_int_equal(truncate(path, size - 1), 0);
	assert_int_equal(collect_scan(path, &s, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(s.fd, -1);
	unlink(path);
	assert_int_equal(collect_scan(path, &s, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_proc),
		cmocka_unit_test(test_made_up_proc),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
