/* SPDX-License-Identifier: GPL-2.0 */
/*
 * store.h - the trace store: DATADIR/vms/<uuid>/<version>.mbt.
 *
 * The data directory is the source of truth. Each VM has a directory named
 * by its canonical (lower-case) uuid holding one file per stored version,
 * <version>.mbt, exactly the bytes that were uploaded, and beside it
 * <version>.json with what the trace file does not carry (upload time,
 * source, the guest's memory statistics) so the catalogue can be rebuilt.
 *
 * An upload is streamed into a temporary file in the VM's directory while
 * the push parser validates every byte; only a complete, valid trace is
 * fsync'ed, given the next version number and renamed into place, then the
 * directory is fsync'ed and the catalogue updated. A crash at any point
 * leaves either no trace or a complete one: temporaries are removed at the
 * next start. Version numbers come from a per-VM high-water mark (the
 * highest version ever given, kept in the catalogue and recomputed from the
 * files), so they are never reused, also across restarts and retention.
 *
 * At open the store reconciles the catalogue with the files: unknown files
 * are validated and added, rows without a file are dropped, invalid files
 * are moved to DATADIR/quarantine/.
 */
#ifndef MB_CONTROLD_STORE_H
#define MB_CONTROLD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "catalogue.h"
#include "mb_error.h"

/* What went wrong with an upload; the HTTP layer maps it to a status. */
enum store_status {
	STORE_OK = 0,
	STORE_INVALID,		/* not a valid trace (400) */
	STORE_MISMATCH,		/* header uuid is another VM's (409) */
	STORE_TOO_LARGE,	/* over the size limit (413) */
	STORE_NOSPACE,		/* disk full or quota (507) */
	STORE_IO,		/* any other local failure (500) */
	STORE_BUSY,		/* the VM has an upload in flight (429) */
	STORE_FORBIDDEN,	/* header flags the uploader may not send
				   (403): store_upload_require_flags() */
};

struct store_options {
	const char *datadir;
	unsigned int keep;	/* versions kept per VM, >= 1 */
	bool fsync;		/* fsync files and directories (default) */
};

struct store;
struct store_upload;

/*
 * Take the data directory @datadir for this process: an exclusive flock on
 * DATADIR/lock, which holds the owner's pid. Two daemons on one data
 * directory would hand out the same version numbers and overwrite each
 * other's acknowledged traces, so the second one must not start. Returns
 * the lock's descriptor (keep it open for the process's life; it is
 * O_CLOEXEC), or -1 with @err naming the holder's pid when it is taken.
 */
int store_lock_datadir(const char *datadir, struct mb_err *err);

/*
 * Open the store at o->datadir (created if missing) and reconcile @cat
 * with the files. The store keeps using @cat, which must outlive it.
 */
struct store *store_open(const struct store_options *o, struct catalogue *cat,
			 struct mb_err *err);
void store_close(struct store *s);

/*
 * Begin an upload for the VM @uuid. @expected_size is the body length when
 * known (0 otherwise) and @max_size the limit (STORE_TOO_LARGE when
 * @expected_size or the bytes written exceed it). On failure returns NULL
 * with *@status and @err set.
 *
 * A VM has at most one upload in flight (STORE_BUSY for a second), so one
 * guest cannot hold more than one trace's worth of temporary space. Each
 * upload reserves its size (@expected_size, else @max_size) until it is
 * committed or aborted, and begins only when the data directory's file
 * system has that much free beyond what the uploads in flight reserved
 * (STORE_NOSPACE at once, before any byte is written): an upload that
 * starts has the room it needs, whatever the others do.
 */
struct store_upload *store_upload_begin(struct store *s,
					const uint8_t uuid[MBT_UUID_LEN],
					uint64_t expected_size,
					uint64_t max_size,
					enum store_status *status,
					struct mb_err *err);

/*
 * Accept only a trace whose header flags, masked by @mask, equal @want
 * (STORE_FORBIDDEN with the message @why otherwise): how the HTTP layer
 * keeps host-side traces (MBT_FLAG_FROM_HOST) to host tokens and guest
 * traces to the guests' (docs/security.md). Call before the first write.
 */
void store_upload_require_flags(struct store_upload *u, uint16_t mask,
				uint16_t want, const char *why);

/*
 * Accept a keyed trace (MBT_FLAG_KEYED) only with key id @key_id, the key
 * of the VM's tenant (keys.h; 0: it has none, so no keyed trace), else
 * STORE_FORBIDDEN; traces without a key are not affected. Call before the
 * first write.
 */
void store_upload_require_key(struct store_upload *u, uint32_t key_id);

/* Validate and write the next bytes. After a failure every call fails. */
enum store_status store_upload_write(struct store_upload *u, const void *buf,
				     size_t len, struct mb_err *err);

/* Bytes accepted so far. */
uint64_t store_upload_size(const struct store_upload *u);

/*
 * Finish: checks the trace is complete, makes it durable and visible as the
 * VM's next version and applies retention. @name is used when the trace
 * header has no vm_name; @source is "http" or "legacy" (a trace with
 * MBT_FLAG_FROM_HOST is recorded as "host" whatever @source says);
 * @stats may be NULL.
 * Fills @out with what was stored. Always frees @u.
 */
enum store_status store_upload_commit(struct store_upload *u, const char *name,
				      const char *source,
				      const struct vm_stats *stats,
				      struct trace_record *out,
				      struct mb_err *err);

/* Drop an upload: removes the temporary file, frees @u. NULL is fine. */
void store_upload_abort(struct store_upload *u);

/*
 * Open version @version of @uuid for reading. Returns a file descriptor and
 * its size, or -1 with @err set (errno ENOENT when there is no such trace).
 */
int store_open_trace(struct store *s, const char *uuid, uint64_t version,
		     uint64_t *size, struct mb_err *err);

/* Total bytes of stored trace files. */
uint64_t store_bytes(struct store *s);

/* Bytes reserved by the uploads in flight, and their number. */
void store_reserved(struct store *s, uint64_t *bytes, unsigned int *uploads);

/*
 * The text rule of trace headers: vm_name and kernel_release must be UTF-8
 * (they are served as JSON strings). 0, or -1 with @err naming the field.
 */
int store_header_text_ok(const struct mbt_info *info, struct mb_err *err);

/*
 * Validate the .mbt file @path completely; fills @info. @uuid, when not
 * NULL, must match a non-zero header uuid. Returns 0, -1 with @err set
 * when the file is not a valid trace, or -2 with @err set when it could
 * not be checked (it cannot be opened or read, memory ran out): such a
 * file may well be valid, and is no reason to quarantine it.
 */
int store_validate_file(const char *path, const uint8_t *uuid,
			struct mbt_info *info, struct mb_err *err);

/*
 * The uuid rule of uploads: a header uuid that is not all zero must equal
 * the uuid the upload is addressed to. Returns true when @header is
 * acceptable for @target.
 */
bool store_uuid_acceptable(const uint8_t header[MBT_UUID_LEN],
			   const uint8_t target[MBT_UUID_LEN]);

#endif /* MB_CONTROLD_STORE_H */
