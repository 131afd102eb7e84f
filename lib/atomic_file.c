// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

int mb_atomic_open(struct mb_atomic_file *af, const char *path, int mode,
		   struct mb_err *err)
{
	int fd;

	memset(af, 0, sizeof(*af));
	af->path = strdup(path);
	if (!af->path || asprintf(&af->tmp, "%s.tmp.XXXXXX", path) < 0) {
		free(af->path);
		return mb_errf(err, "%s: out of memory", path);
	}
	fd = mkstemp(af->tmp);
	if (fd < 0) {
		mb_errf(err, "%s: cannot create a temporary file beside it: %s",
			path, strerror(errno));
		goto fail;
	}
	/* mkstemp makes 0600; the caller says what the file should be. */
	if (fchmod(fd, (mode_t)mode) < 0 || !(af->f = fdopen(fd, "wb"))) {
		mb_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(af->tmp);
		goto fail;
	}
	return 0;
fail:
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof(*af));
	return -1;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

int mb_atomic_commit(struct mb_atomic_file *af, struct mb_err *err)
{
	int ret = -1;

	if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0) {
		mb_errf(err, "%s: write error: %s", af->path, strerror(errno));
		fclose(af->f);
		goto out;
	}
	if (fclose(af->f) != 0) {
		mb_errf(err, "%s: write error: %s", af->path, strerror(errno));
		goto out;
	}
	if (rename(af->tmp, af->path) != 0) {
		mb_errf(err, "%s: cannot rename into place: %s", af->path,
			strerror(errno));
		goto out;
	}
	if (fsync_dir_of(af->path) != 0) {
		mb_errf(err, "%s: cannot sync its directory: %s", af->path,
			strerror(errno));
		ret = -1;
		goto done;	/* renamed already: nothing to remove */
	}
	ret = 0;
	goto done;
out:
	unlink(af->tmp);
done:
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof(*af));
	return ret;
}

void mb_atomic_abort(struct mb_atomic_file *af)
{
	if (af->f)
		fclose(af->f);
	if (af->tmp)
		unlink(af->tmp);
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof(*af));
}
