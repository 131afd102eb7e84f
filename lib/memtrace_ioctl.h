/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memtrace_ioctl.h - the ioctls of /dev/memtrace, shared by memtrace.ko and
 * the programs that call them (mb-guestd, the guest test bed).
 *
 * MEMTRACE_IOC_SET_KEY makes the scans of the open file keyed digests
 * (docs/security.md): xxh64 with @seed, whatever the algo parameter says,
 * in traces with MBT_FLAG_KEYED and @key_id in the header. It holds for
 * the scans that start (reads from offset 0) after it, until
 * MEMTRACE_IOC_CLEAR_KEY or the file is closed; no other open file sees
 * it, and the module shows the seed nowhere (sysfs shows the key id of the
 * last scan only). @key_id must not be 0 and @reserved must be 0 (EINVAL).
 */
#ifndef MEMTRACE_IOCTL_H
#define MEMTRACE_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct memtrace_key {
	__u32 key_id;		/* the header's key id, never 0 */
	__u32 reserved;		/* 0 */
	__u64 seed;		/* the secret: xxh64's seed */
};

#define MEMTRACE_IOC_MAGIC	0xb8	/* free in ioctl-number.rst (6.1) */
#define MEMTRACE_IOC_SET_KEY	_IOW(MEMTRACE_IOC_MAGIC, 1, struct memtrace_key)
#define MEMTRACE_IOC_CLEAR_KEY	_IO(MEMTRACE_IOC_MAGIC, 2)

#endif /* MEMTRACE_IOCTL_H */
