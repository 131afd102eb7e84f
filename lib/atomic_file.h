/* SPDX-License-Identifier: GPL-2.0 */
/*
 * atomic_file.h - write a file so that readers see the old version or the
 * complete new one, never a part: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory.
 */
#ifndef MB_ATOMIC_FILE_H
#define MB_ATOMIC_FILE_H

#include <stdio.h>

#include "mb_error.h"

struct mb_atomic_file {
	FILE *f;		/* write the content here */
	char *path;		/* the target */
	char *tmp;		/* the temporary file beside it */
};

/* Create the temporary file (mode @mode) for @path. 0 or -1. */
int mb_atomic_open(struct mb_atomic_file *af, const char *path, int mode,
		   struct mb_err *err);

/* Flush, fsync, rename into place, fsync the directory. 0 or -1; on
 * failure the temporary file is removed and the target is untouched. */
int mb_atomic_commit(struct mb_atomic_file *af, struct mb_err *err);

/* Drop the temporary file; the target is untouched. */
void mb_atomic_abort(struct mb_atomic_file *af);

#endif /* MB_ATOMIC_FILE_H */
