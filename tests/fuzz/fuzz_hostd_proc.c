// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_hostd_proc.c - mb-hostd's parsers of a QEMU process's /proc files
 * (hostd/procfs.c: maps and smaps, status, stat, cmdline), each given the
 * same arbitrary bytes in a buffer of exactly their size. Nothing may
 * crash or read past the end; mappings must come out in address order,
 * page-aligned and non-empty; a refusal must say something.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hostd/hostd.h"

static void check_error(int ret, const struct mb_err *err)
{
	if (ret && (!memchr(err->msg, '\0', sizeof(err->msg)) || !err->msg[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	struct vma *v;
	struct mb_err err;
	uint64_t start;
	pid_t tgid;
	size_t n, i;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	r = maps_parse(text, size, &v, &n, &err);
	check_error(r, &err);
	if (!r) {
		for (i = 0; i < n; i++)
			if (v[i].end <= v[i].start || (v[i].start & 0xfff) ||
			    (v[i].end & 0xfff) ||
			    (i && v[i].start < v[i - 1].end) ||
			    !memchr(v[i].path, '\0', sizeof(v[i].path)) ||
			    (v[i].dontfork && !v[i].flags_known))
				abort();
		free(v);
	}
	r = proc_parse_tgid(text, size, &tgid, &err);
	check_error(r, &err);
	if (!r && tgid <= 0)
		abort();
	check_error(proc_parse_starttime(text, size, &start, &err), &err);
	proc_cmdline_has_uuid(text, size,
			      "4057a1e5-0000-4000-8000-000000000001");
	free(text);
	return 0;
}
