// SPDX-License-Identifier: GPL-2.0
/*
 * trace_load.c - a whole trace from a file in either format.
 *
 * The tools take a path and do not care whether it holds an .mbt trace or
 * a legacy text trace, so this file looks at the first byte and hands the
 * file to the .mbt reader (mbt.c) or to the text parser (textfmt.c). It is
 * the only place that knows both formats: each reader stands on its own,
 * and the text parser builds its traces with mbt.c's helpers only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mbt.h"

enum mb_trace_format mb_trace_detect(const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (len == 0)
		return MB_FORMAT_UNKNOWN;
	if (b[0] == 0x89)
		return MB_FORMAT_MBT;
	if (b[0] >= '0' && b[0] <= '9')
		return MB_FORMAT_TEXT;
	return MB_FORMAT_UNKNOWN;
}

/* "dir/VM1.txt0" -> "VM1" */
static void name_from_path(const char *path, char out[MBT_NAME_LEN])
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strcspn(base, ".");
	if (n >= MBT_NAME_LEN)
		n = MBT_NAME_LEN - 1;
	memcpy(out, base, n);
	out[n] = 0;
}

typedef int (*text_sink_fn)(void *ctx, const uint64_t *digests, size_t n,
			    struct mb_err *err);

/*
 * @size is the file's size when it is a regular file (else 0): the digests
 * then take one allocation, of the most lines it can hold. With @sink they
 * go there instead, and @t only describes the trace.
 */
static int load_text_fd(int fd, const char *path, uint64_t size,
			struct mbt_trace *t, text_sink_fn sink, void *ctx,
			struct mb_err *err)
{
	struct mb_text_parser sp;
	char name[MBT_NAME_LEN];
	char buf[65536];
	int ret = -1;

	mb_text_init(&sp);
	sp.sink = sink;
	sp.sink_ctx = ctx;
	if (!sink && size && mb_text_reserve(&sp, (size + 1) / 2, err) < 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_errf(err, "line %" PRIu64 ": read error: %s",
				sp.line, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (mb_text_feed(&sp, buf, (size_t)n, err) < 0)
			goto out;
	}
	name_from_path(path, name);
	ret = sink ? mb_text_end_info(&sp, name, &t->info, err) :
		     mb_text_finish(&sp, name, t, err);
out:
	mb_text_release(&sp);
	return ret;
}

static int load(const char *path, struct mbt_trace *t, text_sink_fn sink,
		void *ctx, struct mb_err *err)
{
	struct stat st;
	uint8_t first;
	ssize_t n;
	int fd, ret = -1;

	memset(t, 0, sizeof(*t));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mb_errf(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		mb_errf(err, "%s: is a directory", path);
		goto out;
	}
	do {
		n = pread(fd, &first, 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	switch (mb_trace_detect(&first, (size_t)n)) {
	case MB_FORMAT_MBT:
		ret = mbt_read_fd(fd, S_ISREG(st.st_mode) ?
				  (uint64_t)st.st_size : 0, t, err);
		break;
	case MB_FORMAT_TEXT:
		ret = load_text_fd(fd, path, S_ISREG(st.st_mode) ?
				   (uint64_t)st.st_size : 0, t, sink, ctx, err);
		break;
	default:
		mb_errf(err, n == 0 ? "empty file" :
			"byte 0: neither an .mbt trace (starts with 0x89) nor "
			"decimal digest text (starts with a digit)");
		break;
	}
	if (ret < 0)
		mb_err_prefix(err, "%s", path);
out:
	close(fd);
	return ret;
}

int mb_trace_load(const char *path, struct mbt_trace *t, struct mb_err *err)
{
	return load(path, t, NULL, NULL, err);
}

int mb_trace_load_sink(const char *path, struct mbt_trace *t,
		       text_sink_fn sink, void *ctx, struct mb_err *err)
{
	return load(path, t, sink, ctx, err);
}
