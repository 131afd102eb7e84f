// SPDX-License-Identifier: GPL-2.0
/*
 * test_hostd_parse.c - mb-hostd's parsers (hostd/qemu.c, procfs.c) and
 * its layout of a guest (hostd/layout.c), on what QEMU 7.2 really printed
 * (tests/vectors/hostd/: a booted 512 MiB pc guest with VGA and
 * virtio-net, and a 5 GiB two-node guest stopped before its firmware ran)
 * and on malformed variants of it. Every rule of the layout is checked as
 * an invariant computed here from the blocks, not against stored answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hostd.h"

#define VEC "tests/vectors/hostd/"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("%s: cannot open (run from the top directory)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void expect_error(int ret, const struct mb_err *err, const char *want)
{
	assert_int_equal(ret, -1);
	if (!strstr(err->msg, want))
		fail_msg("expected an error with '%s', got '%s'", want,
			 err->msg);
}

/* ---- info ramblock ---- */

static void test_ramblocks(void **state)
{
	struct ram_block *b;
	struct mb_err err;
	size_t len, n;
	char *text = slurp(VEC "ramblock-booted.txt", &len);

	(void)state;
	assert_int_equal(qemu_parse_ramblocks(text, len, &b, &n, &err), 0);
	assert_int_equal(n, 9);
	assert_string_equal(b[0].name, "pc.ram");
	assert_int_equal(b[0].page_size, 4096);
	assert_int_equal(b[0].used, 512ULL << 20);
	assert_int_equal(b[0].total, 512ULL << 20);
	assert_int_equal(b[0].hva, 0);
	/* A name wider than its column. */
	assert_string_equal(b[4].name, "0000:00:03.0/virtio-net-pci.rom");
	assert_int_equal(b[4].ram_offset, 0x210c0000);
	/* Used below total. */
	assert_string_equal(b[2].name, "/rom@etc/acpi/tables");
	assert_int_equal(b[2].used, 0x20000);
	assert_int_equal(b[2].total, 0x200000);
	free(b);
	free(text);
}

static void test_ramblocks_hva(void **state)
{
	static const char text[] =
		"              Block Name    PSize              Offset"
		"               Used              Total                HVA  RO\n"
		"                  pc.ram    2 MiB  0x0000000000000000"
		" 0x0000000040000000 0x0000000040000000 0x00007f0000000000  rw\n";
	struct ram_block *b;
	struct mb_err err;
	size_t n;

	(void)state;
	assert_int_equal(qemu_parse_ramblocks(text, sizeof(text) - 1, &b, &n,
					      &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].page_size, 2 << 20);
	assert_int_equal(b[0].hva, 0x7f0000000000ULL);
	free(b);
}

static void test_ramblocks_bad(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "", "no header line" },
		{ "Block Name PSize Offset Used\n", "not the header" },
		{ "Block Name PSize Offset Used Total\n", "no RAM block" },
		{ "Block Name PSize Offset Used Total Foo\n", "unknown columns" },
		{ "Block Name PSize Offset Used Total\n"
		  "pc.ram 4 KiB 0x0 0x1000\n", "expected NAME PSIZE" },
		{ "Block Name PSize Offset Used Total\n"
		  "pc.ram 4 KiB 0x0 0x2000 0x1000\n", "expected NAME PSIZE" },
		{ "Block Name PSize Offset Used Total\n"
		  "pc.ram 4 KiB 0x0 0x1000 0x1000g\n", "line 2" },
		{ "Block Name PSize Offset Used Total\n"
		  "pc.ram 4 KB 0x0 0x1000 0x1000\n", "expected NAME PSIZE" },
		{ "Block Name PSize Offset Used Total\n"
		  "pc.ram 0.5 B 0x0 0x1000 0x1000\n", "expected NAME PSIZE" },
		{ "Block Name PSize Offset Used Total\n"
		  "pc.ram 4 KiB 0x0 0x10000000000000000 0x1000\n",
		  "expected NAME PSIZE" },
	};
	struct ram_block *b;
	struct mb_err err;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(qemu_parse_ramblocks(cases[i].text,
						  strlen(cases[i].text), &b,
						  &n, &err), &err,
			     cases[i].error);
}

/* ---- info mtree -f ---- */

static void test_flatview(void **state)
{
	struct flat_range *r;
	struct mb_err err;
	size_t len, n, i, ram = 0;
	char *text = slurp(VEC "mtree-booted.txt", &len);

	(void)state;
	assert_int_equal(qemu_parse_flatview(text, len, "memory", &r, &n,
					     &err), 0);
	assert_true(n > 10);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 0x9ffff);
	assert_int_equal(r[0].kind, FLAT_RAM);
	assert_string_equal(r[0].name, "pc.ram");
	for (i = 0; i < n; i++) {
		if (i)
			assert_true(r[i].start > r[i - 1].end);
		if (r[i].kind == FLAT_RAM || r[i].kind == FLAT_ROM)
			ram++;
		/* pc.ram shows through read-only PAM windows as "rom". */
		if (r[i].start == 0xc0000) {
			assert_int_equal(r[i].kind, FLAT_ROM);
			assert_string_equal(r[i].name, "pc.ram");
			assert_int_equal(r[i].offset, 0xc0000);
		}
		if (r[i].start == 0xfffc0000)
			assert_string_equal(r[i].name, "pc.bios");
		if (r[i].start == 0xfebd0400)
			assert_string_equal(r[i].name,
					    "vga ioports remapped");
	}
	assert_int_equal(ram, 9);
	free(r);
	/* The I/O address space is another view. */
	assert_int_equal(qemu_parse_flatview(text, len, "I/O", &r, &n, &err),
			 0);
	assert_true(n > 10 && r[0].kind == FLAT_IO);
	free(r);
	expect_error(qemu_parse_flatview(text, len, "mem", &r, &n, &err),
		     &err, "no flat view of address space \"mem\"");
	free(text);
}

static void test_flatview_bad(void **state)
{
	static const char head[] = "FlatView #0\n AS \"memory\", root: system\n"
				   " Root memory region: system\n";
	static const struct {
		const char *range, *error;
	} cases[] = {
		{ "  0000000000000000-000000000009ffff (prio 0, raw): pc.ram\n",
		  "line 4" },
		{ "  0000000000000000-000000000009ffff (prio x, ram): pc.ram\n",
		  "expected START-END" },
		{ "  0000000000100000-000000000000ffff (prio 0, ram): pc.ram\n",
		  "expected START-END" },
		{ "  0000000000000000-000000000009ffff (prio 0, ram): \n",
		  "expected START-END" },
		{ "  0000000000000000-00000000000fffff (prio 0, ram): a\n"
		  "  0000000000080000-00000000001fffff (prio 0, ram): b\n",
		  "overlaps" },
	};
	struct flat_range *r;
	struct mb_err err;
	char text[512];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", head, cases[i].range);
		expect_error(qemu_parse_flatview(text, strlen(text), "memory",
						 &r, &n, &err), &err,
			     cases[i].error);
	}
	/* Accelerator names and an offset after the name. */
	snprintf(text, sizeof(text), "%s  0000000000100000-00000000001fffff "
		 "(prio 0, nv-ram): my ram @0000000000100000 KVM\n", head);
	assert_int_equal(qemu_parse_flatview(text, strlen(text), "memory", &r,
					     &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].name, "my ram");
	assert_int_equal(r[0].offset, 0x100000);
	assert_int_equal(r[0].kind, FLAT_RAM);
	free(r);
}

/* ---- xp, QMP ---- */

static void test_xp(void **state)
{
	static const char text[] =
		"0000000000000400: 0x00000000000003f8 0x9fc0000000000378\n"
		"0000000000000410: 0x000000027f004227 0x0000001e001e0000\n";
	uint8_t buf[32];
	struct mb_err err;

	(void)state;
	assert_int_equal(qemu_parse_xp(text, sizeof(text) - 1, 0x400, buf, 32,
				       &err), 0);
	assert_int_equal(buf[0], 0xf8);
	assert_int_equal(buf[1], 0x03);
	assert_int_equal(buf[15], 0x9f);
	assert_int_equal(buf[16], 0x27);
	expect_error(qemu_parse_xp(text, sizeof(text) - 1, 0x408, buf, 16,
				   &err), &err, "not the address asked for");
	expect_error(qemu_parse_xp(text, sizeof(text) - 1, 0x400, buf, 32 + 8,
				   &err), &err, "32 of 40 bytes");
	expect_error(qemu_parse_xp("0000000080000000: Cannot access memory\n",
				   38, 0x80000000, buf, 8, &err), &err,
		     "cannot read");
	expect_error(qemu_parse_xp("0000000000000400: 0x3f8\n", 24, 0x400,
				   buf, 8, &err), &err, "16 hex digits");
	expect_error(qemu_parse_xp("0000000000000400: 0x0000000000000000\n"
				   "0000000000000410: 0x0000000000000000\n",
				   74, 0x400, buf, 16, &err), &err,
		     "not the next address");
}

static json_t *answer(const char *text, struct mb_err *err)
{
	return qmp_parse_answer(text, strlen(text), err);
}

static char *hmp_text(const char *text, struct mb_err *err)
{
	return qmp_hmp_text(text, strlen(text), err);
}

static void test_qmp(void **state)
{
	static const char cpus[] =
		"{\"return\": [{\"thread-id\": 16000, \"cpu-index\": 0}, "
		"{\"thread-id\": 16001, \"cpu-index\": 1}], \"id\": \"libvirt-7\"}";
	struct mb_err err;
	pid_t tids[4];
	uint8_t uuid[MBT_UUID_LEN];
	json_t *ret;
	char *text;

	(void)state;
	ret = qmp_parse_answer(cpus, strlen(cpus), &err);
	assert_non_null(ret);
	assert_int_equal(qmp_thread_ids(ret, tids, 4, &err), 2);
	assert_int_equal(tids[1], 16001);
	assert_int_equal(qmp_thread_ids(ret, tids, 1, &err), 1);
	json_decref(ret);
	ret = answer("{\"return\": []}", &err);
	expect_error(qmp_thread_ids(ret, tids, 4, &err), &err, "no vCPU");
	json_decref(ret);
	ret = answer("{\"return\": [{\"thread-id\": -1}]}", &err);
	expect_error(qmp_thread_ids(ret, tids, 4, &err), &err,
		     "not a thread id");
	json_decref(ret);
	assert_null(answer("{\"error\": {\"class\": \"GenericError\", "
			   "\"desc\": \"no such command\"}}", &err));
	assert_string_equal(err.msg, "QEMU: GenericError: no such command");
	assert_null(answer("[1]", &err));
	assert_null(answer("{\"event\": \"STOP\"}", &err));
	assert_null(answer("{\"return\": 1", &err));
	text = hmp_text("{\"return\": \"a\\nb\"}", &err);
	assert_string_equal(text, "a\nb");
	free(text);
	assert_null(hmp_text("{\"return\": {}}", &err));
	ret = answer("{\"return\": {\"UUID\": "
		     "\"4057A1E5-0000-4000-8000-000000000001\"}}", &err);
	assert_non_null(ret);
	assert_int_equal(qmp_uuid(ret, uuid, &err), 0);
	assert_int_equal(uuid[0], 0x40);
	assert_int_equal(uuid[15], 0x01);
	json_decref(ret);
	ret = answer("{\"return\": {\"UUID\": \"x\"}}", &err);
	expect_error(qmp_uuid(ret, uuid, &err), &err, "query-uuid");
	json_decref(ret);
}

/* ---- /proc ---- */

static void test_maps(void **state)
{
	static const char text[] =
		"55d0c7a00000-55d0c7a33000 r--p 00000000 fe:01 1234   "
		"/usr/bin/qemu-system-x86_64\n"
		"7fa9b7e00000-7fa9cfe00000 rw-p 00000000 00:00 0 \n"
		"Size:             393216 kB\n"
		"AnonHugePages:         0 kB\n"
		"VmFlags: rd wr mr mw me dc ac hg mg\n"
		"7fa9d0000000-7fa9d0021000 rw-s 00001000 00:05 77 "
		"/memfd:pc.ram (deleted)\n"
		"VmFlags: rd wr mr mw me ac\n";
	struct vma *v;
	struct mb_err err;
	size_t n;

	(void)state;
	assert_int_equal(maps_parse(text, sizeof(text) - 1, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_false(v[0].write);
	assert_string_equal(v[0].path, "/usr/bin/qemu-system-x86_64");
	assert_false(v[0].flags_known);
	assert_int_equal(v[1].start, 0x7fa9b7e00000ULL);
	assert_int_equal(v[1].end - v[1].start, 0x18000000);
	assert_true(v[1].read && v[1].write && !v[1].shared);
	assert_true(v[1].flags_known && v[1].dontfork && v[1].mergeable);
	assert_true(v[2].shared);
	assert_int_equal(v[2].file_offset, 0x1000);
	assert_int_equal(v[2].inode, 77);
	assert_string_equal(v[2].path, "/memfd:pc.ram (deleted)");
	assert_false(v[2].dontfork);
	free(v);
	expect_error(maps_parse("7fa9b7e00000-7fa9b7e00000 rw-p 0 00:00 0\n",
				41, &v, &n, &err), &err, "maps line 1");
	expect_error(maps_parse("7fa9b7e00000-7fa9b7e01000 rwzp 0 00:00 0\n",
				41, &v, &n, &err), &err, "maps line 1");
	expect_error(maps_parse("2000-3000 rw-p 0 00:00 0\n"
				"1000-2000 rw-p 0 00:00 0\n", 50, &v, &n,
				&err), &err, "maps line 2");
	expect_error(maps_parse("2000-3001 rw-p 0 00:00 0\n", 25, &v, &n,
				&err), &err, "maps line 1");
}

static void test_maps_self(void **state)
{
	struct vma *v;
	struct mb_err err;
	size_t n, len, i;
	char *text = proc_read(getpid(), "smaps", 64 << 20, &len, &err);
	bool stack = false;

	(void)state;
	assert_non_null(text);
	assert_int_equal(maps_parse(text, len, &v, &n, &err), 0);
	assert_true(n > 5);
	for (i = 0; i < n; i++) {
		assert_true(v[i].flags_known);
		if (!strcmp(v[i].path, "[stack]"))
			stack = v[i].read && v[i].write;
	}
	assert_true(stack);
	free(v);
	free(text);
}

static void test_proc(void **state)
{
	static const char status[] = "Name:\tqemu\nUmask:\t0022\nState:\tS\n"
				     "Tgid:\t15997\nNgid:\t0\nPid:\t16000\n";
	static const char stat[] = "15997 (qemu (x) y) S 1 15997 15997 0 -1 "
		"4194560 100 0 0 0 5 3 0 0 20 0 4 0 987654 100000 20 0\n";
	static const char cmd[] = "qemu-system-x86_64\0-name\0guest=g\0-uuid\0"
				  "4057a1e5-0000-4000-8000-000000000001\0";
	struct mb_err err;
	uint64_t start;
	pid_t tgid;

	(void)state;
	assert_int_equal(proc_parse_tgid(status, sizeof(status) - 1, &tgid,
					 &err), 0);
	assert_int_equal(tgid, 15997);
	expect_error(proc_parse_tgid("Tgid:\tx\n", 8, &tgid, &err), &err,
		     "no process id");
	expect_error(proc_parse_tgid("Pid:\t1\n", 7, &tgid, &err), &err,
		     "no 'Tgid:'");
	assert_int_equal(proc_parse_starttime(stat, sizeof(stat) - 1, &start,
					      &err), 0);
	assert_int_equal(start, 987654);
	expect_error(proc_parse_starttime("1 (a) S 1 2\n", 12, &start, &err),
		     &err, "fewer than 22 fields");
	expect_error(proc_parse_starttime("1 a S\n", 6, &start, &err), &err,
		     "no ')'");
	assert_true(proc_cmdline_has_uuid(cmd, sizeof(cmd) - 1,
				"4057A1E5-0000-4000-8000-000000000001"));
	assert_false(proc_cmdline_has_uuid(cmd, sizeof(cmd) - 1,
				"4057a1e5-0000-4000-8000-000000000002"));
	assert_true(proc_cmdline_has_uuid("-uuid=4057a1e5-0000-4000-8000-"
					  "000000000001", 42,
					  "4057a1e5-0000-4000-8000-000000000001"));
	/* The uuid as the value of another option does not count. */
	assert_false(proc_cmdline_has_uuid("-name\0004057a1e5-0000-4000-8000-"
					    "000000000001", 42,
					    "4057a1e5-0000-4000-8000-000000000001"));
	assert_int_equal(proc_starttime(getpid(), &start, &err), 0);
	assert_true(start > 0);
}

/* ---- the layout ---- */

/* Every block page exactly once; segments sorted and apart. */
static void check_invariants(const struct layout *l, bool all_blocks)
{
	uint64_t *per_block = calloc(l->nblocks, sizeof(*per_block));
	uint64_t pages = 0;
	size_t i;

	assert_non_null(per_block);
	for (i = 0; i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];

		assert_true(s->pages > 0);
		assert_true(s->block < l->nblocks);
		assert_true(s->block_offset / 4096 + s->pages <=
			    l->blocks[s->block].used / 4096);
		if (i)
			assert_true(s->pfn >= l->segs[i - 1].pfn +
				    l->segs[i - 1].pages);
		per_block[s->block] += s->pages;
		pages += s->pages;
	}
	assert_int_equal(pages, l->pages);
	assert_int_equal(l->pages, l->visible_pages + l->hidden_pages +
			 l->unmapped_pages);
	for (i = 0; i < l->nblocks && all_blocks; i++)
		if (per_block[i] != l->blocks[i].used / 4096)
			fail_msg("block %s: %llu pages in the layout, %llu "
				 "used", l->blocks[i].name,
				 (unsigned long long)per_block[i],
				 (unsigned long long)l->blocks[i].used / 4096);
	free(per_block);
}

/* The PFN of page @offset of block @name, or UINT64_MAX. */
static uint64_t pfn_of(const struct layout *l, const char *name,
		       uint64_t offset)
{
	size_t i;

	for (i = 0; i < l->nsegs; i++) {
		const struct segment *s = &l->segs[i];

		if (!strcmp(l->blocks[s->block].name, name) &&
		    offset >= s->block_offset &&
		    offset < s->block_offset + s->pages * 4096)
			return s->pfn + (offset - s->block_offset) / 4096;
	}
	return UINT64_MAX;
}

static void load_layout(const char *ramblock, const char *mtree,
			bool include, struct layout *l)
{
	struct ram_block *b;
	struct flat_range *r;
	struct mb_err err;
	size_t len, nb, nr;
	char *t;

	t = slurp(ramblock, &len);
	assert_int_equal(qemu_parse_ramblocks(t, len, &b, &nb, &err), 0);
	free(t);
	t = slurp(mtree, &len);
	assert_int_equal(qemu_parse_flatview(t, len, "memory", &r, &nr, &err),
			 0);
	free(t);
	if (layout_build(b, nb, r, nr, include, l, &err))
		fail_msg("layout_build: %s", err.msg);
	free(r);
}

static void test_layout_booted(void **state)
{
	struct layout l;
	uint64_t unmapped = 0;
	size_t i;

	(void)state;
	load_layout(VEC "ramblock-booted.txt", VEC "mtree-booted.txt", true,
		    &l);
	check_invariants(&l, true);
	/* pc.ram: identity below 4 GiB, the VGA window filled in. */
	assert_int_equal(pfn_of(&l, "pc.ram", 0), 0);
	assert_int_equal(pfn_of(&l, "pc.ram", 0xa0000), 0xa0);
	assert_int_equal(pfn_of(&l, "pc.ram", 0x1fffffff), 0x1ffff);
	assert_int_equal(l.hidden_pages, 0x20000 / 4096);
	/* The BIOS at the top of 4 GiB, VGA memory at its BAR. */
	assert_int_equal(pfn_of(&l, "pc.bios", 0), 0xfffc0);
	assert_int_equal(pfn_of(&l, "0000:00:02.0/vga.vram", 0), 0xfd000);
	/* Blocks no address reaches, in block order, from 2^40. */
	for (i = 0; i < l.nsegs; i++)
		if (l.segs[i].pfn >= HOSTD_UNMAPPED_PFN_BASE)
			unmapped += l.segs[i].pages;
	assert_int_equal(unmapped, l.unmapped_pages);
	assert_int_equal(pfn_of(&l, "/rom@etc/acpi/tables", 0),
			 HOSTD_UNMAPPED_PFN_BASE);
	assert_int_equal(l.unmapped_pages, (0x20000 + 0x40000 + 0x20000 +
					    0x10000 + 0x1000 + 0x1000) / 4096);
	layout_free(&l);
	/* Skipped instead. */
	load_layout(VEC "ramblock-booted.txt", VEC "mtree-booted.txt", false,
		    &l);
	check_invariants(&l, false);
	assert_int_equal(l.unmapped_pages, 0);
	assert_int_equal(l.skipped_pages, (0x20000 + 0x40000 + 0x20000 +
					   0x10000 + 0x1000 + 0x1000) / 4096);
	assert_int_equal(pfn_of(&l, "pc.rom", 0), UINT64_MAX);
	layout_free(&l);
}

static void test_layout_numa(void **state)
{
	struct layout l;

	(void)state;
	load_layout(VEC "ramblock-numa-5g.txt", VEC "mtree-numa-5g.txt", true,
		    &l);
	check_invariants(&l, true);
	assert_int_equal(pfn_of(&l, "ram0", 0), 0);
	assert_int_equal(pfn_of(&l, "ram1", 0), 0xa0000);
	/* Above 4 GiB: ram1 from its offset 0x20000000 at 0x100000000. */
	assert_int_equal(pfn_of(&l, "ram1", 0x20000000), 0x100000);
	assert_int_equal(pfn_of(&l, "ram1", 0x9fffffff), 0x17ffff);
	/* The BIOS seen twice (0xe0000 and below 4 GiB): once, lowest. */
	assert_int_equal(pfn_of(&l, "pc.bios", 0x20000), 0xe0);
	assert_int_equal(pfn_of(&l, "pc.bios", 0), 0xfffc0);
	/* ram0 under pc.rom and the BIOS alias: its PFNs are theirs. */
	assert_true(pfn_of(&l, "ram0", 0xc0000) >= HOSTD_UNMAPPED_PFN_BASE);
	assert_int_equal(pfn_of(&l, "pc.rom", 0), 0xc0);
	layout_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramblocks),
		cmocka_unit_test(test_ramblocks_hva),
		cmocka_unit_test(test_ramblocks_bad),
		cmocka_unit_test(test_flatview),
		cmocka_unit_test(test_flatview_bad),
		cmocka_unit_test(test_xp),
		cmocka_unit_test(test_qmp),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_maps_self),
		cmocka_unit_test(test_proc),
		cmocka_unit_test(test_layout_booted),
		cmocka_unit_test(test_layout_numa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
