/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keys.h - the tenants' keys for keyed digests (keys.c, docs/security.md).
 *
 * A keyed trace holds xxh64 digests under a tenant's secret 64-bit seed,
 * so that a trace leaked from the store says nothing about known contents
 * (the digest of a known page cannot be computed without the seed). Each
 * tenant (the tenant= of the tokens file; the VMs without one are one
 * tenant together) has one key: a random seed and a random 32-bit key id,
 * which traces carry in their header so that controld compares a keyed
 * trace only with traces of the same key. The id says nothing about the
 * seed.
 *
 * The keys live in DATADIR/keys, mode 0600, one line each:
 *
 *	# key-id  seed              [tenant=NAME]
 *	1a2b3c4d  0123456789abcdef  tenant=acme
 *	5e6f7a8b  fedcba9876543210
 *
 * A tenant's key is made the first time one of its VMs asks for it
 * (GET /v1/vms/{uuid}/key), saved (atomically, fsync'ed) before it is
 * handed out, and never changed after: keyed traces of before and after a
 * restart stay comparable. A file readable or writable by others than its
 * owner is refused. Messages never contain a seed.
 *
 * All functions are thread-safe. Functions returning int return 0 (or
 * the count named) and -1 with @err set on failure.
 */
#ifndef MB_CONTROLD_KEYS_H
#define MB_CONTROLD_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "mb_error.h"

struct tenant_key {
	uint32_t id;			/* never 0 */
	uint64_t seed;			/* the secret */
};

struct keystore;

/*
 * The key store of @datadir: loads DATADIR/keys when it exists (refused
 * when others may read or write it, or when it does not parse), else
 * starts empty and creates the file with the first key. NULL on failure.
 */
struct keystore *keystore_open(const char *datadir, struct mb_err *err);

/* Wipes the keys from memory and frees @k. NULL is fine. */
void keystore_close(struct keystore *k);

/*
 * Parse keys-file text (@name for messages) into @k, replacing its keys.
 * For keystore_open(), tests and fuzzing: the file format above; a key id
 * must be 8 hex digits and not 0, a seed 16 hex digits, a tenant name as
 * in the tokens file; no tenant and no key id twice.
 */
int keystore_load_text(struct keystore *k, const char *name, const char *text,
		       size_t len, struct mb_err *err);

/* A store in memory only (no file), for tests and fuzzing. */
struct keystore *keystore_new_memory(void);

/*
 * The key of @tenant ("" for the VMs without one) into @out: returns 1
 * when it has one, 0 when not and @create is false; with @create a new
 * key is made from getrandom(2) and saved first (1), or -1 when it cannot
 * be saved (then nothing changes and no key exists).
 */
int keystore_get(struct keystore *k, const char *tenant, bool create,
		 struct tenant_key *out, struct mb_err *err);

/* The key id of @tenant, 0 when it has no key. */
uint32_t keystore_key_id(struct keystore *k, const char *tenant);

/* Keys held. */
unsigned int keystore_count(struct keystore *k);

/*
 * The answer to GET /v1/vms/{uuid}/key for the token in @authorization:
 * only the VM's own token gets its tenant's key (made if needed):
 * {"key_id": "1a2b3c4d", "seed": "0123456789abcdef", "algorithm":
 * "xxh64"}. Returns the HTTP status: 200 with *@body set; 401 for a
 * missing or unknown token, 403 for any other token (admin, host, another
 * VM's) or --insecure-no-auth, 500 when the key cannot be saved; @msg
 * then says why.
 */
unsigned int keys_answer(struct keystore *k, struct auth *a,
			 const char *authorization,
			 const uint8_t uuid[MBT_UUID_LEN], json_t **body,
			 char *msg, size_t size);

/*
 * The key id an upload for VM @uuid may carry: its tenant's (0 when the
 * tenant has no key, so no keyed trace of it can be genuine).
 */
uint32_t keys_vm_key_id(struct keystore *k, struct auth *a,
			const uint8_t uuid[MBT_UUID_LEN]);

#endif /* MB_CONTROLD_KEYS_H */
