/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbt_format.h - constants of the .mbt trace format, version 1.
 *
 * Shared by the kernel module (which writes traces) and user space (which
 * reads and writes them), so it holds only constants and offsets: no types
 * beyond the kernel's and libc's fixed-width integers, no functions.
 * docs/trace-format.md describes the format byte by byte.
 */
#ifndef MBT_FORMAT_H
#define MBT_FORMAT_H

#define MBT_MAGIC		"\x89MBT\r\n\x1a\n"
#define MBT_MAGIC_LEN		8
#define MBT_VERSION		1
#define MBT_HEADER_SIZE		256
#define MBT_PAGE_SIZE		4096
#define MBT_CHUNK_MAX_LIMIT	65536	/* largest chunk_max a reader accepts */
#define MBT_PAGE_COUNT_LIMIT	(1ULL << 36)
#define MBT_NAME_LEN		64	/* vm_name and kernel_release fields */
#define MBT_UUID_LEN		16

/* Header field offsets. */
#define MBT_OFF_MAGIC		0
#define MBT_OFF_VERSION		8
#define MBT_OFF_HEADER_SIZE	10
#define MBT_OFF_ALGORITHM	12
#define MBT_OFF_DIGEST_SIZE	13
#define MBT_OFF_FLAGS		14
#define MBT_OFF_PAGE_SIZE	16
#define MBT_OFF_CHUNK_MAX	20
#define MBT_OFF_PAGE_COUNT	24
#define MBT_OFF_CAPTURE_NS	32
#define MBT_OFF_VM_UUID		40
#define MBT_OFF_VM_NAME		56
#define MBT_OFF_KERNEL		120
#define MBT_OFF_KEY_ID		184	/* 4 bytes: non-zero iff KEYED */
#define MBT_OFF_RESERVED	188

/*
 * Algorithms (header byte 12) and their digest sizes (byte 13) are the rows
 * of mbt_algorithms.h; no digest is wider than this.
 */
#define MBT_DIGEST_SIZE_MAX	8

/* Flags (header bytes 14-15). */
#define MBT_FLAG_FREE_HASHED	0x0001
#define MBT_FLAG_SYNTHETIC_PFN	0x0002
#define MBT_FLAG_FROM_IMAGE	0x0004
#define MBT_FLAG_FROM_HOST	0x0008	/* by mb-hostd, from the QEMU process */
#define MBT_FLAG_KEYED		0x0010	/* xxh64 under a tenant's secret seed */
#define MBT_FLAGS_KNOWN		0x001f

/* Chunk header field offsets; the free bitmap follows the header. */
#define MBT_CHUNK_HEADER_SIZE	16
#define MBT_OFF_C_START_PFN	0	/* 8 bytes */
#define MBT_OFF_C_COUNT		8	/* 4 bytes */
#define MBT_OFF_C_RESERVED	12	/* 4 bytes, must be 0 */

/* Bytes of a chunk's free bitmap: ceil(count / 8) rounded up to 8. */
#define MBT_BITMAP_BYTES(count)	((((count) + 63) / 64) * 8)

/* Trailer: magic, used, free, scan_ns, checksum. */
#define MBT_TRAILER_MAGIC	"MBTEND01"
#define MBT_TRAILER_MAGIC_LEN	8
#define MBT_TRAILER_SIZE	40
#define MBT_OFF_T_MAGIC		0
#define MBT_OFF_T_USED		8
#define MBT_OFF_T_FREE		16
#define MBT_OFF_T_SCAN_NS	24
#define MBT_OFF_T_CHECKSUM	32

#endif /* MBT_FORMAT_H */
