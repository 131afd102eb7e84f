// SPDX-License-Identifier: GPL-2.0
/*
 * sim_load.c - mb_sim_load(): a simulation input from a file, plain or
 * xz-compressed.
 *
 * The file is read in 256 KiB pieces and, when it starts with the xz
 * magic, decompressed on the fly with liblzma. The first bytes of the
 * (decompressed) content tell the formats apart: a page trace begins with
 * its magic line and is fed to the page-trace reader piece by piece, so a
 * trace of millions of references never sits in memory as text; anything
 * else is a .dat, collected whole (they are small) and parsed at the end.
 */
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_input.h"

#define PIECE (256 * 1024)
#define DAT_MAX (UINT64_C(1) << 30)	/* a .dat larger than 1 GiB is refused */

static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
static const char trace_magic[] = "# mbuddy page trace";

enum kind { UNDECIDED, DAT, TRACE };

struct loader {
	enum kind kind;
	char head[32];
	size_t head_len;
	char *dat;
	size_t dat_len, dat_cap;
	struct mb_pagetrace_parser *trace;
	uint64_t limit;		/* references wanted, 0 all */
};

/* A page trace has all the references wanted: stop reading. */
static bool enough(const struct loader *ld)
{
	return ld->kind == TRACE && ld->limit && ld->trace->vm.n >= ld->limit;
}

static int dat_add(struct loader *ld, const void *data, size_t len,
		   struct mb_err *err)
{
	if (!len)
		return 0;
	if (ld->dat_len + len > DAT_MAX)
		return mb_errf(err, "a .dat file larger than %llu bytes",
			       (unsigned long long)DAT_MAX);
	if (ld->dat_len + len > ld->dat_cap) {
		size_t cap = ld->dat_cap ? ld->dat_cap : 4096;
		char *p;

		while (cap < ld->dat_len + len)
			cap *= 2;
		p = realloc(ld->dat, cap);
		if (!p)
			return mb_errf(err, "out of memory for %zu bytes", cap);
		ld->dat = p;
		ld->dat_cap = cap;
	}
	memcpy(ld->dat + ld->dat_len, data, len);
	ld->dat_len += len;
	return 0;
}

static int pass_on(struct loader *ld, const void *data, size_t len,
		   struct mb_err *err)
{
	if (ld->kind == TRACE)
		return mb_pagetrace_feed(ld->trace, data, len, err);
	return dat_add(ld, data, len, err);
}

/* Decide the format from the first bytes (all of them when @at_end). */
static int decide(struct loader *ld, bool at_end, struct mb_err *err)
{
	size_t n = sizeof(trace_magic) - 1;

	if (ld->head_len < n && !at_end)
		return 0;
	if (ld->head_len >= n && !memcmp(ld->head, trace_magic, n)) {
		ld->kind = TRACE;
		ld->trace = malloc(sizeof(*ld->trace));
		if (!ld->trace)
			return mb_errf(err, "out of memory");
		mb_pagetrace_init(ld->trace);
	} else {
		ld->kind = DAT;
	}
	return pass_on(ld, ld->head, ld->head_len, err);
}

static int loader_feed(struct loader *ld, const uint8_t *data, size_t len,
		       struct mb_err *err)
{
	if (ld->kind == UNDECIDED) {
		size_t take = sizeof(ld->head) - ld->head_len;

		if (take > len)
			take = len;
		memcpy(ld->head + ld->head_len, data, take);
		ld->head_len += take;
		data += take;
		len -= take;
		if (decide(ld, false, err))
			return -1;
		if (ld->kind == UNDECIDED)
			return 0;
	}
	return len ? pass_on(ld, data, len, err) : 0;
}

/* "dir/gzip.pages.xz" -> "gzip" */
static void base_name(const char *path, char *out, size_t size)
{
	const char *b = strrchr(path, '/');
	char *dot;

	snprintf(out, size, "%s", b ? b + 1 : path);
	dot = strchr(out, '.');
	if (dot && dot != out)
		*dot = 0;
}

static int loader_finish(struct loader *ld, const char *path,
			 struct mb_sim_input *out, struct mb_err *err)
{
	char name[MB_SIM_NAME_LEN];

	if (ld->kind == UNDECIDED && decide(ld, true, err))
		return -1;
	if (ld->kind == DAT)
		return mb_dat_parse(ld->dat ? ld->dat : "", ld->dat_len, out, err);
	out->vms = calloc(1, sizeof(*out->vms));
	if (!out->vms)
		return mb_errf(err, "out of memory");
	base_name(path, name, sizeof(name));
	if (mb_pagetrace_finish(ld->trace, name, &out->vms[0], err)) {
		free(out->vms);
		out->vms = NULL;
		return -1;
	}
	out->count = 1;
	return 0;
}

static void loader_release(struct loader *ld)
{
	free(ld->dat);
	if (ld->trace) {
		mb_pagetrace_release(ld->trace);
		free(ld->trace);
	}
}

static const char *lzma_why(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR:
		return "out of memory";
	case LZMA_FORMAT_ERROR:
		return "not in the xz format";
	case LZMA_OPTIONS_ERROR:
		return "unsupported xz options";
	case LZMA_DATA_ERROR:
		return "corrupt xz data";
	case LZMA_BUF_ERROR:
		return "truncated xz data";
	default:
		return "xz decoder error";
	}
}

static int read_all(FILE *f, struct loader *ld, struct mb_err *err)
{
	uint8_t *in = malloc(PIECE), *out = malloc(PIECE);
	lzma_stream z = LZMA_STREAM_INIT;
	bool xz = false, first = true, eof = false, ended = false;
	int ret = -1;

	if (!in || !out) {
		mb_errf(err, "out of memory");
		goto done;
	}
	while (!eof) {
		size_t got = fread(in, 1, PIECE, f);

		if (got < PIECE) {
			if (ferror(f)) {
				mb_errf(err, "read failed: %s", strerror(errno));
				goto done;
			}
			eof = true;
		}
		if (first) {
			first = false;
			xz = got >= sizeof(xz_magic) &&
			     !memcmp(in, xz_magic, sizeof(xz_magic));
			if (xz) {
				lzma_ret r = lzma_stream_decoder(&z, UINT64_MAX,
								 LZMA_CONCATENATED);

				if (r != LZMA_OK) {
					mb_errf(err, "xz: %s", lzma_why(r));
					goto done;
				}
			}
		}
		if (!xz) {
			if (loader_feed(ld, in, got, err))
				goto done;
			if (enough(ld))
				break;
			continue;
		}
		z.next_in = in;
		z.avail_in = got;
		for (;;) {
			lzma_ret r;

			z.next_out = out;
			z.avail_out = PIECE;
			r = lzma_code(&z, eof ? LZMA_FINISH : LZMA_RUN);
			if (r != LZMA_OK && r != LZMA_STREAM_END) {
				mb_errf(err, "xz: %s after %llu bytes of the "
					"file", lzma_why(r),
					(unsigned long long)z.total_in);
				goto done;
			}
			if (loader_feed(ld, out, PIECE - z.avail_out, err))
				goto done;
			if (enough(ld)) {
				ended = eof = true;
				break;
			}
			if (r == LZMA_STREAM_END) {
				ended = true;
				break;
			}
			if (z.avail_in == 0 && z.avail_out != 0)
				break;
		}
	}
	if (xz && !ended) {
		mb_errf(err, "xz: truncated xz data after %llu bytes of the "
			"file", (unsigned long long)z.total_in);
		goto done;
	}
	ret = 0;
done:
	if (xz)
		lzma_end(&z);
	free(in);
	free(out);
	return ret;
}

static void limit_vms(struct mb_sim_input *in, uint64_t limit)
{
	size_t i;

	for (i = 0; limit && i < in->count; i++)
		if (in->vms[i].n > limit)
			in->vms[i].n = limit;
}

int mb_sim_load(const char *path, uint64_t limit, struct mb_sim_input *in,
		struct mb_err *err)
{
	struct mb_sim_input got = { NULL, 0 };
	struct loader ld;
	bool is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	int ret = -1, failed;

	if (!f)
		return mb_errf(err, "%s: %s", path, strerror(errno));
	memset(&ld, 0, sizeof(ld));
	ld.limit = limit;
	failed = read_all(f, &ld, err);
	if (!failed && enough(&ld))
		ld.trace->line_len = 0;	/* a line cut by the early stop */
	if (failed || loader_finish(&ld, path, &got, err)) {
		mb_err_prefix(err, "%s", path);
		mb_sim_input_free(&got);
	} else if ((limit_vms(&got, limit), mb_sim_input_append(in, &got, err))) {
		mb_err_prefix(err, "%s", path);
		mb_sim_input_free(&got);
	} else {
		ret = 0;
	}
	loader_release(&ld);
	if (!is_stdin)
		fclose(f);
	return ret;
}
