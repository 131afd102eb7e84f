/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbt.h - reading and writing memory traces.
 *
 * Two formats carry traces (docs/trace-format.md):
 *   - .mbt, the binary format memtrace.ko streams: header, chunks of
 *     consecutive PFNs with a free-page bitmap and one digest per page,
 *     trailer with counts and an xxh64 checksum of the whole file;
 *   - the legacy text format: one decimal 32-bit SuperFastHash
 *     digest per line, every line a used page.
 *
 * Layers, lowest first:
 *   struct mbt_parser   push parser: feed it bytes as they arrive, it
 *                       validates every field and hands complete chunks to
 *                       callbacks. Constant memory beyond one chunk.
 *   struct mbt_writer   streaming writer to any sink (file, socket, buffer).
 *   struct mbt_trace    a whole trace in memory, read from .mbt by
 *                       mbt_read_mem()/mbt_read_fd(), from text by
 *                       mb_text_finish(), and saved by mbt_write_file().
 *   mb_trace_load()     a file in either format, told apart by its first
 *                       byte.
 *
 * Files: mbt.c holds the .mbt parser, writer and whole-trace helpers;
 * textfmt.c the text format, built on those helpers; trace_load.c the
 * format detection and the file loader, the only code that knows both.
 *
 * All functions report failure as described in mb_error.h; offsets in the
 * messages are byte offsets from the start of the input.
 */
#ifndef MB_MBT_H
#define MB_MBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "digest.h"
#include "mb_error.h"
#include "mbt_format.h"

/* Everything in a trace except its records: the header and trailer fields. */
struct mbt_info {
	uint16_t version;
	uint8_t algorithm;		/* MB_ALGO_* */
	uint8_t digest_size;		/* 4 or 8 */
	uint16_t flags;			/* MBT_FLAG_* */
	uint32_t page_size;		/* 4096 */
	uint32_t chunk_max;		/* 1..MBT_CHUNK_MAX_LIMIT */
	uint64_t page_count;		/* records in the trace */
	uint64_t capture_time_ns;	/* ns since the epoch, 0 = unknown */
	uint8_t vm_uuid[MBT_UUID_LEN];	/* all zero = unknown */
	char vm_name[MBT_NAME_LEN];	/* NUL-terminated */
	char kernel_release[MBT_NAME_LEN];
	/*
	 * With MBT_FLAG_KEYED, the id of the tenant key the xxh64 digests
	 * were seeded with (never the key): traces compare only with traces
	 * of the same id. 0 exactly when the trace is not keyed.
	 */
	uint32_t key_id;
	/* Trailer; valid once the whole trace has been read. */
	uint64_t used_pages;
	uint64_t free_pages;
	uint64_t scan_ns;
	uint64_t checksum;
};

/* A run of consecutive PFNs: records first .. first+count-1. */
struct mbt_chunk {
	uint64_t start_pfn;
	uint64_t first;
	uint32_t count;
};

/* A whole trace in memory. Zero-initialise before loading into it. */
struct mbt_trace {
	struct mbt_info info;
	uint64_t *digests;		/* info.page_count entries */
	uint8_t *free_bits;		/* bit i set: record i is a free page */
	struct mbt_chunk *chunks;
	size_t nchunks;
};

static inline bool mbt_is_free(const struct mbt_trace *t, uint64_t i)
{
	return (t->free_bits[i >> 3] >> (i & 7)) & 1;
}

/* PFN of record @i (binary search over the chunks). */
uint64_t mbt_pfn(const struct mbt_trace *t, uint64_t i);

/* Release what a trace owns and zero it. Safe on a zeroed trace. */
void mbt_trace_free(struct mbt_trace *t);

/* Fill @info with sane defaults for a new trace of @algo (header fields). */
void mbt_info_init(struct mbt_info *info, int algo);

/* ---- push parser ---- */

struct mbt_parser_ops {
	/* Called once when the 256-byte header is complete and valid. */
	int (*header)(void *ctx, const struct mbt_info *info,
		      struct mb_err *err);
	/*
	 * Called for each complete, valid chunk. @bitmap has
	 * MBT_BITMAP_BYTES(count) bytes, @digests count * digest_size raw
	 * little-endian bytes. Both point into the parser's buffer and are
	 * valid only during the call. Return -1 (with @err set) to stop.
	 */
	int (*chunk)(void *ctx, const struct mbt_info *info,
		     uint64_t start_pfn, uint32_t count,
		     const uint8_t *bitmap, const uint8_t *digests,
		     struct mb_err *err);
};

struct mbt_parser;

/*
 * A parser for one .mbt stream. @ops and any callback in it may be NULL
 * (to validate only). @total_size is the stream's full length when known
 * (a file, an HTTP body with Content-Length) and 0 otherwise; when known,
 * the header's page_count is checked against it before anything is
 * allocated. Returns NULL only when out of memory.
 */
struct mbt_parser *mbt_parser_new(const struct mbt_parser_ops *ops, void *ctx,
				  uint64_t total_size);

/*
 * Feed the next @len bytes. Returns 0, or -1 at the first invalid byte; the
 * message starts with "byte N:". After an error every later call fails the
 * same way.
 */
int mbt_parser_feed(struct mbt_parser *p, const void *buf, size_t len,
		    struct mb_err *err);

/*
 * End of input. Returns 0 when exactly one complete, valid trace was fed
 * (and copies header and trailer to @info, which may be NULL), -1 when it
 * is truncated or an earlier feed failed.
 */
int mbt_parser_finish(struct mbt_parser *p, struct mbt_info *info,
		      struct mb_err *err);

/* Bytes consumed so far. */
uint64_t mbt_parser_offset(const struct mbt_parser *p);

void mbt_parser_free(struct mbt_parser *p);

/* ---- writer ---- */

/* Where a writer's bytes go. Returns 0, or -1 with @err set. */
typedef int (*mbt_sink_fn)(void *ctx, const void *buf, size_t len,
			   struct mb_err *err);

/* A sink that fwrite()s to the FILE * given as ctx. */
int mbt_sink_stdio(void *ctx, const void *buf, size_t len, struct mb_err *err);

struct mbt_writer {
	mbt_sink_fn sink;
	void *ctx;
	struct mbt_info info;
	uint64_t written;		/* records so far */
	uint64_t next_pfn;		/* lowest PFN the next chunk may start at */
	uint64_t used, free;
	void *hash_state;		/* XXH64_state_t */
	uint8_t *buf;			/* one encoded chunk */
	size_t buf_size;
};

/*
 * Start a trace: validates @info's header fields (page_count is the number
 * of records that will follow) and writes the header. Returns 0 or -1.
 */
int mbt_writer_begin(struct mbt_writer *w, const struct mbt_info *info,
		     mbt_sink_fn sink, void *ctx, struct mb_err *err);

/*
 * Append @count (1..info.chunk_max) records for PFNs start_pfn.. .
 * @free_bits is a packed bitmap (bit i % 8 of byte i / 8 set = page i is
 * free) or NULL when all are used; @digests has @count entries, truncated
 * to the trace's digest width. Free pages' digests are written as 0 unless
 * the trace has MBT_FLAG_FREE_HASHED.
 */
int mbt_writer_chunk(struct mbt_writer *w, uint64_t start_pfn, uint32_t count,
		     const uint8_t *free_bits, const uint64_t *digests,
		     struct mb_err *err);

/* Write the trailer. Fails unless exactly page_count records were added. */
int mbt_writer_end(struct mbt_writer *w, uint64_t scan_ns, struct mb_err *err);

/* Free the writer's buffers (also after a failure). */
void mbt_writer_release(struct mbt_writer *w);

/* ---- whole .mbt traces (mbt.c) ---- */

/* Parse a complete .mbt image held in memory. */
int mbt_read_mem(const void *buf, size_t len, struct mbt_trace *t,
		 struct mb_err *err);

/*
 * Read one .mbt trace from @fd up to its end. @size is the input's length
 * when known (a regular file) and 0 otherwise, as for mbt_parser_new().
 * Errors start with "byte N:"; on failure @t is left zeroed.
 */
int mbt_read_fd(int fd, uint64_t size, struct mbt_trace *t,
		struct mb_err *err);

/* Stream @t to @sink as .mbt (chunks as in t->chunks, split at chunk_max). */
int mbt_write(const struct mbt_trace *t, mbt_sink_fn sink, void *ctx,
	      struct mb_err *err);

/*
 * Write @t to @path as .mbt: to a temporary file beside it, flushed and
 * fsync'ed, then renamed over @path, so readers never see half a trace.
 */
int mbt_write_file(const char *path, const struct mbt_trace *t,
		   struct mb_err *err);

/* ---- the legacy text format (textfmt.c) ---- */

/*
 * Push parser for decimal digest lines, so a socket can be parsed as it
 * arrives. Errors name the line ("line 7: '12x4' is not a decimal
 * number"). Lines end in '\n'; the last one may lack it; empty lines are
 * allowed only at the very end.
 */
struct mb_text_parser {
	uint64_t *digests;
	uint64_t count, cap;
	/*
	 * When set (after mb_text_init()), digests are handed to @sink in
	 * batches of up to MB_TEXT_BATCH instead of being kept, so the
	 * parser's memory stays constant; mb_text_end() then ends the input.
	 */
	int (*sink)(void *ctx, const uint64_t *digests, size_t n,
		    struct mb_err *err);
	void *sink_ctx;
	size_t buffered;		/* digests not yet given to @sink */
	uint64_t line;			/* current line, 1-based */
	uint64_t value;			/* number being read */
	unsigned int digits;		/* digits of it so far */
	uint64_t pending_empty;		/* empty lines not yet followed by data */
	bool failed;
	struct mb_err error;
	uint64_t max_count;		/* 0 = MBT_PAGE_COUNT_LIMIT */
};

void mb_text_init(struct mb_text_parser *p);
int mb_text_feed(struct mb_text_parser *p, const void *buf, size_t len,
		    struct mb_err *err);
/*
 * Room for @n digests in one allocation, for an input whose size is known
 * ((size + 1) / 2 lines at most), so the array never grows. Optional;
 * ignored with a sink. Returns 0, or -1 when out of memory.
 */
int mb_text_reserve(struct mb_text_parser *p, uint64_t n, struct mb_err *err);
/*
 * End of input: moves the digests into @t as a trace named @vm_name (may
 * be NULL) and resets the parser. Fails on an empty input.
 */
int mb_text_finish(struct mb_text_parser *p, const char *vm_name,
		      struct mbt_trace *t, struct mb_err *err);

#define MB_TEXT_BATCH 4096

/*
 * End of input for a parser with a sink: hands over the last digests.
 * Returns 0 (p->count is then the number of digests), or -1 on an empty
 * input, an earlier failure or a failing sink.
 */
int mb_text_end(struct mb_text_parser *p, struct mb_err *err);
/*
 * The same, and the trace's description in @info as mb_text_finish() would
 * give it (superfast, SYNTHETIC_PFN, p->count pages, @vm_name).
 */
int mb_text_end_info(struct mb_text_parser *p, const char *vm_name,
		     struct mbt_info *info, struct mb_err *err);
void mb_text_release(struct mb_text_parser *p);

/* Parse a whole text trace held in memory. */
int mb_text_read_mem(const void *buf, size_t len, const char *vm_name,
			struct mbt_trace *t, struct mb_err *err);

/*
 * Write @t in the legacy text format: one "%u\n" line per used page (and
 * per free page too when @include_free). Only 32-bit SuperFastHash traces
 * can be exported, since that is all the older tools understand.
 */
int mb_text_write(FILE *f, const struct mbt_trace *t, bool include_free,
		     struct mb_err *err);

/* ---- either format (trace_load.c) ---- */

/* Which format a buffer holds, from its first bytes. */
enum mb_trace_format {
	MB_FORMAT_UNKNOWN = 0,
	MB_FORMAT_MBT,
	MB_FORMAT_TEXT,
};
enum mb_trace_format mb_trace_detect(const void *buf, size_t len);

/*
 * Load a trace from @path in either format (detected by content). A
 * legacy text trace gets algorithm superfast, SYNTHETIC_PFN, and the file's
 * base name (up to its first '.') as vm_name. Errors are prefixed with the
 * path.
 */
int mb_trace_load(const char *path, struct mbt_trace *t, struct mb_err *err);

/*
 * As mb_trace_load(), but a legacy text trace's digests go to @sink in
 * batches (as with struct mb_text_parser's sink) instead of into @t, which
 * then holds only the trace's description (t->digests NULL). An .mbt
 * trace loads whole, @sink unused.
 */
int mb_trace_load_sink(const char *path, struct mbt_trace *t,
		       int (*sink)(void *ctx, const uint64_t *digests,
				   size_t n, struct mb_err *err),
		       void *ctx, struct mb_err *err);

/* ---- small helpers shared by the tools (uuid.c) ---- */

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case). 0 or -1. */
int mb_uuid_parse(const char *s, uint8_t out[MBT_UUID_LEN]);

/* Format as lower-case text; @out has room for 37 bytes. */
void mb_uuid_format(const uint8_t in[MBT_UUID_LEN], char out[37]);

bool mb_uuid_is_zero(const uint8_t in[MBT_UUID_LEN]);

#endif /* MB_MBT_H */
