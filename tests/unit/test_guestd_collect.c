// SPDX-License-Identifier: GPL-2.0
/*
 * test_guestd_collect.c - what mb-guestd collects: memory statistics from
 * this machine's real /proc and from made-up ones in a temporary directory
 * (every field, missing files and fields not reported, malformed lines
 * named by file and line while the rest is still read), the body of a
 * statistics report read back with jansson, the identity rule, and the
 * scan: a valid trace is copied whole into the memory file, an invalid
 * one is refused with the reader's message, and a device that another
 * process has locked is reported busy (no second scan).
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

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
	assert_true(s.committed_as_kb >= 0);
	assert_true(s.swap_total_kb >= 0);
	assert_true(s.pswpin >= 0 && s.pswpout >= 0);
	assert_true(s.pgmajfault >= 0);
	assert_true(s.uptime_s > 0);
	assert_int_equal(strlen(s.boot_id), 36);
	/* PSI is reported exactly when this kernel has it. */
	assert_int_equal(s.psi.some.reported,
			 access("/proc/pressure/memory", R_OK) == 0);
}

/* A made-up /proc: a fresh directory, removed by remove_proc(). */
struct fake_proc {
	char dir[64];
};

static void make_proc(struct fake_proc *p)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/mb-proc-test.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
}

/* Write @text as @rel under the fake /proc, making its directories. */
static void put(struct fake_proc *p, const char *rel, const char *text)
{
	char path[256], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
	for (slash = strchr(path + strlen(p->dir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void drop(struct fake_proc *p, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
	unlink(path);
}

static void remove_proc(struct fake_proc *p)
{
	static const char *const files[] = {
		"meminfo", "vmstat", "pressure/memory", "uptime",
		"sys/kernel/random/boot_id",
	};
	static const char *const dirs[] = {
		"pressure", "sys/kernel/random", "sys/kernel", "sys",
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(*files); i++)
		drop(p, files[i]);
	for (i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, dirs[i]);
		rmdir(path);
	}
	assert_int_equal(rmdir(p->dir), 0);
}

static const char meminfo_text[] =
	"MemTotal:        2048000 kB\n"
	"MemFree:            1234 kB\n"
	"MemAvailable:    1024000 kB\n"
	"SwapTotal:          4096 kB\n"
	"SwapFree:           1024 kB\n"
	"CommitLimit:     5120000 kB\n"
	"Committed_AS:     777777 kB\n"
	"HugePages_Total:       0\n";
static const char vmstat_text[] =
	"nr_free_pages 5\npgpgin 99\npswpin 17\npswpout 42\n"
	"pgfault 123456\npgmajfault 3141\n";
static const char pressure_text[] =
	"some avg10=1.23 avg60=0.25 avg300=100.00 total=81234\n"
	"full avg10=0.00 avg60=0.10 avg300=0.01 total=1042\n";

/* Every file, every field. */
static void put_all(struct fake_proc *p)
{
	put(p, "meminfo", meminfo_text);
	put(p, "vmstat", vmstat_text);
	put(p, "pressure/memory", pressure_text);
	put(p, "uptime", "2567.69 4000.50\n");
	put(p, "sys/kernel/random/boot_id",
	    "14971CBA-F52C-4B5C-ADE7-C787D00ADF26\n");
}

static void test_every_field(void **state)
{
	struct fake_proc p;
	struct guest_stats s;
	struct mb_err err;

	(void)state;
	make_proc(&p);
	put_all(&p);
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	assert_int_equal(s.mem_total_kb, 2048000);
	assert_int_equal(s.mem_available_kb, 1024000);
	assert_int_equal(s.committed_as_kb, 777777);
	assert_int_equal(s.swap_total_kb, 4096);
	assert_int_equal(s.swap_free_kb, 1024);
	assert_int_equal(s.pswpin, 17);
	assert_int_equal(s.pswpout, 42);
	assert_int_equal(s.pgmajfault, 3141);
	assert_true(s.uptime_s == 2567.69);
	assert_string_equal(s.boot_id, "14971cba-f52c-4b5c-ade7-c787d00adf26");
	assert_true(s.psi.some.reported);
	assert_true(s.psi.some.avg10 == 1.23);
	assert_true(s.psi.some.avg60 == 0.25);
	assert_true(s.psi.some.avg300 == 100.0);
	assert_int_equal(s.psi.some.total_us, 81234);
	assert_true(s.psi.full.reported);
	assert_true(s.psi.full.avg10 == 0.0);
	assert_true(s.psi.full.avg60 == 0.1);
	assert_true(s.psi.full.avg300 == 0.01);
	assert_int_equal(s.psi.full.total_us, 1042);
	remove_proc(&p);
}

static void assert_nothing_reported(const struct guest_stats *s)
{
	assert_int_equal(s->mem_total_kb, -1);
	assert_int_equal(s->mem_available_kb, -1);
	assert_int_equal(s->committed_as_kb, -1);
	assert_int_equal(s->swap_total_kb, -1);
	assert_int_equal(s->swap_free_kb, -1);
	assert_int_equal(s->pswpin, -1);
	assert_int_equal(s->pswpout, -1);
	assert_int_equal(s->pgmajfault, -1);
	assert_true(s->uptime_s < 0);
	assert_string_equal(s->boot_id, "");
	assert_false(s->psi.some.reported);
	assert_false(s->psi.full.reported);
}

static void test_missing_is_not_reported(void **state)
{
	struct fake_proc p;
	struct guest_stats s;
	struct mb_err err;

	(void)state;
	make_proc(&p);
	/* No file at all: nothing reported, and no error. */
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	assert_nothing_reported(&s);

	/* Files without some of their fields: those are not reported. */
	put(&p, "meminfo", "MemTotal: 512 kB\nMemFree: 1 kB\n");
	put(&p, "vmstat", "pswpout 9\n");
	put(&p, "pressure/memory",
	    "some avg10=0.50 avg60=0.40 avg300=0.30 total=7\n");
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	assert_int_equal(s.mem_total_kb, 512);
	assert_int_equal(s.mem_available_kb, -1);
	assert_int_equal(s.committed_as_kb, -1);
	assert_int_equal(s.swap_total_kb, -1);
	assert_int_equal(s.pswpin, -1);
	assert_int_equal(s.pswpout, 9);
	assert_int_equal(s.pgmajfault, -1);
	assert_true(s.psi.some.reported);
	assert_false(s.psi.full.reported);

	/* Empty files report nothing either. */
	put(&p, "meminfo", "");
	put(&p, "vmstat", "");
	put(&p, "pressure/memory", "");
	put(&p, "uptime", "");
	put(&p, "sys/kernel/random/boot_id", "");
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	assert_nothing_reported(&s);

	/* A file that cannot be read for another reason is said. */
	drop(&p, "uptime");
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/uptime", p.dir);
		assert_int_equal(mkdir(path, 0700), 0);
		assert_int_equal(collect_stats(p.dir, &s, &err), -1);
		assert_non_null(strstr(err.msg, path));
		assert_non_null(strstr(err.msg, "Is a directory"));
		rmdir(path);
	}
	remove_proc(&p);
}

/* One malformed line: the error names file and line, the rest is read. */
static void test_malformed_psi(void **state)
{
	static const char *const bad[] = {
		"some avg10=abc avg60=0.00 avg300=0.00 total=0",
		"some avg10=0.00 avg60=0.00 avg300=0.00",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=",
		"some avg10=100.01 avg60=0.00 avg300=0.00 total=0",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=-5",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=9223372036854775808",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=1 ",
		"some  avg10=0.00 avg60=0.00 avg300=0.00 total=1",
		"some avg10=1. avg60=0.00 avg300=0.00 total=1",
		"some avg10=.5 avg60=0.00 avg300=0.00 total=1",
		"some avg10=0.00 avg300=0.00 avg60=0.00 total=1",
		"some avg10=1234567890123456 avg60=0 avg300=0 total=1",
		"sum avg10=0.00 avg60=0.00 avg300=0.00 total=0",
		"",
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=3",
	};
	char text[256], want[128];
	struct fake_proc p;
	struct guest_stats s;
	struct mb_err err;
	size_t i;

	(void)state;
	make_proc(&p);
	put(&p, "meminfo", meminfo_text);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		/* Line 1 is good, line 2 is the bad one. */
		snprintf(text, sizeof(text),
			 "full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n%s\n",
			 bad[i]);
		put(&p, "pressure/memory", text);
		assert_int_equal(collect_stats(p.dir, &s, &err), -1);
		snprintf(want, sizeof(want), "%s/pressure/memory:2: ", p.dir);
		if (!strstr(err.msg, want))
			fail_msg("line '%s': expected '%s' in the message, got "
				 "'%s'", bad[i], want, err.msg);
		assert_true(s.psi.full.reported);
		assert_int_equal(s.psi.full.total_us, 3);
		assert_false(s.psi.some.reported);
		/* The other files are reported all the same. */
		assert_int_equal(s.mem_total_kb, 2048000);
	}
	/* The message quotes the line, without its control bytes. */
	put(&p, "pressure/memory", "\tsome\x01\n");
	assert_int_equal(collect_stats(p.dir, &s, &err), -1);
	assert_non_null(strstr(err.msg, ":1: '?some?': expected a 'some' or "
				"'full' line"));
	remove_proc(&p);
}

static void test_malformed_counters(void **state)
{
	struct fake_proc p;
	struct guest_stats s;
	struct mb_err err;
	char want[256];

	(void)state;
	make_proc(&p);
	put(&p, "meminfo", "MemTotal: 12x kB\nMemAvailable:  5\n"
	    "SwapTotal: 99999999999999999999 kB\nSwapFree: 8 kB\n");
	put(&p, "vmstat", "pswpin -1\npswpout 4\npgmajfault 6 7\n");
	assert_int_equal(collect_stats(p.dir, &s, &err), -1);
	/* The first problem is described, the others counted. */
	snprintf(want, sizeof(want), "%s/meminfo:1: 'MemTotal: 12x kB': "
		 "expected a count in kB (and 2 more malformed lines) "
		 "(and problems in 1 more file)", p.dir);
	assert_string_equal(err.msg, want);
	assert_int_equal(s.mem_total_kb, -1);
	assert_int_equal(s.mem_available_kb, -1);
	assert_int_equal(s.swap_total_kb, -1);
	assert_int_equal(s.swap_free_kb, 8);
	assert_int_equal(s.pswpin, -1);
	assert_int_equal(s.pswpout, 4);
	assert_int_equal(s.pgmajfault, -1);

	put(&p, "meminfo", meminfo_text);
	assert_int_equal(collect_stats(p.dir, &s, &err), -1);
	snprintf(want, sizeof(want), "%s/vmstat:1: 'pswpin -1': expected a "
		 "count (and 1 more malformed line)", p.dir);
	assert_string_equal(err.msg, want);
	remove_proc(&p);
}

static void test_uptime_and_boot_id(void **state)
{
	static const char *const bad_uptime[] = {
		"12.5\n", "12.5 3.0 4.0\n", "x 1.0\n", "12.5 1.0\nmore\n",
		"-1.0 2.0\n", "12.5  1.0\n",
	};
	static const char *const bad_boot_id[] = {
		"14971cba-f52c-4b5c-ade7-c787d00adf2\n",
		"14971cba-f52c-4b5c-ade7-c787d00adf26x\n",
		"14971cba_f52c-4b5c-ade7-c787d00adf26\n",
		"14971cba-f52c-4b5c-ade7-c787d00adf26\n\n",
	};
	char boot_id[37];
	struct mb_err err;
	double up;
	size_t i;

	(void)state;
	assert_int_equal(proc_parse_uptime("uptime", "350735.47 234388.90\n",
					   20, &up, &err), 0);
	assert_true(up == 350735.47);
	/* No newline at the end is accepted; the idle time may lack one. */
	assert_int_equal(proc_parse_uptime("uptime", "7 3", 3, &up, &err), 0);
	assert_true(up == 7.0);
	for (i = 0; i < sizeof(bad_uptime) / sizeof(*bad_uptime); i++) {
		assert_int_equal(proc_parse_uptime("up", bad_uptime[i],
			strlen(bad_uptime[i]), &up, &err), -1);
		assert_true(up < 0);
		assert_non_null(strstr(err.msg, "up:1: "));
	}
	assert_int_equal(proc_parse_boot_id("b",
		"14971cba-f52c-4b5c-ade7-c787d00adf26", 36, boot_id, &err), 0);
	assert_string_equal(boot_id, "14971cba-f52c-4b5c-ade7-c787d00adf26");
	for (i = 0; i < sizeof(bad_boot_id) / sizeof(*bad_boot_id); i++) {
		assert_int_equal(proc_parse_boot_id("b", bad_boot_id[i],
			strlen(bad_boot_id[i]), boot_id, &err), -1);
		assert_string_equal(boot_id, "");
		assert_non_null(strstr(err.msg, "b:1: "));
		assert_non_null(strstr(err.msg, "expected a uuid"));
	}
	/* Text is not NUL-terminated: the parsers stop at @len. */
	assert_int_equal(proc_parse_uptime("up", "5.5 1.0\nXYZ", 8, &up,
					   &err), 0);
	assert_true(up == 5.5);
}

static void expect_integer(json_t *o, const char *key, json_int_t want)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\": expected the integer %lld, got %s", key,
			 (long long)want, v ? "another type" : "nothing");
	assert_int_equal(json_integer_value(v), want);
}

static void expect_real(json_t *o, const char *key, double want)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_real(v))
		fail_msg("\"%s\": expected the real %g, got %s", key, want,
			 v ? "another type" : "nothing");
	if (json_real_value(v) != want)
		fail_msg("\"%s\": expected %.17g, got %.17g", key, want,
			 json_real_value(v));
}

static void expect_psi(json_t *psi, const char *kind, double a10,
		       double a60, double a300, json_int_t total)
{
	json_t *o = json_object_get(psi, kind);

	assert_true(json_is_object(o));
	assert_int_equal(json_object_size(o), 4);
	expect_real(o, "avg10", a10);
	expect_real(o, "avg60", a60);
	expect_real(o, "avg300", a300);
	expect_integer(o, "total_us", total);
}

static void test_report_body(void **state)
{
	struct fake_proc p;
	struct guest_stats s;
	struct mb_err err;
	json_error_t jerr;
	json_t *j, *psi;
	char *body;

	(void)state;
	make_proc(&p);
	put_all(&p);
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	body = report_body(&s, "vm-a");
	assert_non_null(body);
	j = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("the body is not JSON (%s): %s", jerr.text, body);
	assert_int_equal(json_object_size(j), 12);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "vm-a");
	assert_string_equal(json_string_value(json_object_get(j, "boot_id")),
			    "14971cba-f52c-4b5c-ade7-c787d00adf26");
	expect_real(j, "uptime_s", 2567.69);
	expect_integer(j, "mem_total_kb", 2048000);
	expect_integer(j, "mem_available_kb", 1024000);
	expect_integer(j, "committed_as_kb", 777777);
	expect_integer(j, "swap_total_kb", 4096);
	expect_integer(j, "swap_free_kb", 1024);
	expect_integer(j, "pswpin", 17);
	expect_integer(j, "pswpout", 42);
	expect_integer(j, "pgmajfault", 3141);
	psi = json_object_get(j, "psi_memory");
	assert_true(json_is_object(psi));
	assert_int_equal(json_object_size(psi), 2);
	expect_psi(psi, "some", 1.23, 0.25, 100.0, 81234);
	expect_psi(psi, "full", 0.0, 0.1, 0.01, 1042);
	/* The averages read as the kernel wrote them. */
	assert_non_null(strstr(body, "\"avg10\":1.23,"));
	json_decref(j);
	free(body);

	/* What is not reported is left out. */
	drop(&p, "vmstat");
	drop(&p, "uptime");
	put(&p, "meminfo", "MemAvailable: 10 kB\n");
	put(&p, "pressure/memory",
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	body = report_body(&s, "vm-b");
	j = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "vm-b");
	assert_non_null(json_object_get(j, "boot_id"));
	expect_integer(j, "mem_available_kb", 10);
	psi = json_object_get(j, "psi_memory");
	assert_int_equal(json_object_size(psi), 1);
	expect_psi(psi, "full", 0.0, 0.0, 0.0, 5);
	json_decref(j);
	free(body);

	/* Nothing at all: the name alone. */
	remove_proc(&p);
	make_proc(&p);
	assert_int_equal(collect_stats(p.dir, &s, &err), 0);
	body = report_body(&s, "vm-c");
	assert_string_equal(body, "{\"name\":\"vm-c\"}");
	free(body);
	remove_proc(&p);
}

/* net/dev: bytes in and out summed over the interfaces but lo. */
static void test_net_dev(void **state)
{
	static const char dev[] =
		"Inter-|   Receive                                                |  Transmit\n"
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
		"    lo:  999999    10    0    0    0     0          0         0   999999    10    0    0    0     0       0          0\n"
		"  eth0: 1000    10    0    0    0     0          0         0   200    2    0    0    0     0       0          0\n"
		"  eth1: 24    1    0    0    0     0          0         0   6    1    0    0    0     0       0          0\n";
	static const char bad[] = "  eth0: 1000 10 0\n";
	static const char only_lo[] = "    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n";
	int64_t rx, tx;
	struct mb_err err;

	(void)state;
	assert_int_equal(proc_parse_net_dev("dev", dev, strlen(dev), &rx, &tx,
					    &err), 0);
	assert_int_equal(rx, 1024);
	assert_int_equal(tx, 206);
	assert_int_equal(proc_parse_net_dev("dev", bad, strlen(bad), &rx, &tx,
					    &err), -1);
	assert_non_null(strstr(err.msg, "dev:1: '  eth0: 1000 10 0': expected"));
	assert_int_equal(proc_parse_net_dev("dev", only_lo, strlen(only_lo),
					    &rx, &tx, &err), 0);
	assert_int_equal(rx, -1);
}

/* --pressure-trigger's syntax and the swap-in rule of the emergency path. */
static void test_pressure_rules(void **state)
{
	struct mb_err err;

	(void)state;
	assert_int_equal(pressure_trigger_check("some 100000 1000000", &err), 0);
	assert_int_equal(pressure_trigger_check("full 150000 2000000", &err), 0);
	assert_int_equal(pressure_trigger_check("most 1 1000000", &err), -1);
	assert_non_null(strstr(err.msg, "is not \"some|full"));
	assert_int_equal(pressure_trigger_check("some 100000", &err), -1);
	assert_int_equal(pressure_trigger_check("some 1 2 3", &err), -1);
	assert_int_equal(pressure_trigger_check("some 100 200", &err), -1);
	assert_non_null(strstr(err.msg, "500000..10000000"));
	assert_int_equal(pressure_trigger_check("some 2000000 1000000", &err),
			 -1);
	assert_int_equal(pressure_trigger_check(NULL, &err), -1);
	/* 64 pages/s: 64 pages in a second is pressure, 63 is not. */
	assert_true(pressure_swapin(1000, 1064, 1000, 64));
	assert_false(pressure_swapin(1000, 1063, 1000, 64));
	assert_true(pressure_swapin(0, 128, 2000, 64));
	assert_false(pressure_swapin(1000, 10, 1000, 64));	/* reset */
	assert_false(pressure_swapin(-1, 500, 1000, 64));	/* unknown */
	assert_false(pressure_swapin(0, 1 << 20, 1000, 0));	/* off */
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
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_missing_is_not_reported),
		cmocka_unit_test(test_malformed_psi),
		cmocka_unit_test(test_malformed_counters),
		cmocka_unit_test(test_uptime_and_boot_id),
		cmocka_unit_test(test_report_body),
		cmocka_unit_test(test_net_dev),
		cmocka_unit_test(test_pressure_rules),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
