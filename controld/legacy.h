/* SPDX-License-Identifier: GPL-2.0 */
/*
 * legacy.h - the old raw TCP upload: a connection carries decimal 32-bit
 * digests, one per line, and closing it ends the trace. Each upload is
 * converted to .mbt and stored as the next version of one VM.
 */
#ifndef MB_CONTROLD_LEGACY_H
#define MB_CONTROLD_LEGACY_H

#include <stdint.h>

#include "mb_error.h"
#include "metrics.h"
#include "store.h"

struct legacy_options {
	const char *listen;		/* numeric address */
	unsigned int port;		/* 0 = any free port */
	const char *vm_name;		/* NULL: "legacy-<peer address>" */
	uint64_t max_upload;		/* bytes of text accepted */
	const char *spool_dir;		/* digests spooled here (the datadir) */
	unsigned int max_connections;	/* at once; more are refused */
	unsigned int max_connections_per_ip;	/* 0: no limit */
	unsigned int header_timeout;	/* s until the first bytes */
	uint64_t min_rate;		/* bytes/s, 0: none */
	unsigned int timeout;		/* s from connect to close */
};

struct legacy;

struct legacy *legacy_start(const struct legacy_options *o,
			    struct store *store, struct metrics *metrics,
			    struct mb_err *err);
unsigned int legacy_port(const struct legacy *l);

/*
 * Stop accepting, wait up to @timeout seconds for connections in progress,
 * then cut the rest (their partial traces are discarded). Frees @l.
 */
void legacy_stop(struct legacy *l, unsigned int timeout);

/*
 * The uuid a legacy VM is stored under: a name-based uuid (version 8,
 * from xxh3-128 of the name), so the same name always maps to the same VM.
 */
void legacy_vm_uuid(const char *name, uint8_t uuid[MBT_UUID_LEN]);

#endif /* MB_CONTROLD_LEGACY_H */
