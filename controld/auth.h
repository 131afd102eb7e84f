/* SPDX-License-Identifier: GPL-2.0 */
/*
 * auth.h - bearer tokens.
 *
 * The tokens file maps who may do what, one entry per line:
 *
 *	# uuid, "admin" or host=NAME          token     [tenant=NAME]
 *	5f0e8a3c-1d2b-4c6e-9a7f-0123456789ab  3q2+7w... tenant=acme
 *	admin                                 Zx81...
 *	host=h1                               Kp4s...
 *
 * A VM's token lets it upload its own traces and nothing else; an admin
 * token reads everything (and may upload for any VM). A host token
 * (host=NAME, NAME one of controld's --host names) lets mb-hostd on that
 * host upload host-side traces of the domains the inventory says it runs
 * (controld/hostside.c), and nothing else. Lines may hold
 * several tokens per uuid (one per line) so tokens can be rotated; they
 * must then name the same tenant. The tenant (letters, digits, '-', '_',
 * '.') scopes sharing (--sharing-scope tenant): VMs without one form one
 * tenant together. The file is reloaded by auth_reload() (on SIGHUP); a
 * file that fails to parse keeps the previous table in force.
 */
#ifndef MB_CONTROLD_AUTH_H
#define MB_CONTROLD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mb_error.h"
#include "mbt_format.h"

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING,		/* no or malformed Authorization header (401) */
	AUTH_UNKNOWN,		/* token not in the file (401) */
	AUTH_FORBIDDEN,		/* valid token, not allowed for this (403) */
};

struct auth;

/* @path NULL with @insecure: every request is allowed. */
struct auth *auth_new(const char *path, bool insecure, struct mb_err *err);
int auth_reload(struct auth *a, struct mb_err *err);
void auth_free(struct auth *a);

/* Parse tokens-file text into @a (replacing its table). For tests, fuzzing. */
int auth_load_text(struct auth *a, const char *name, const char *text,
		   size_t len, struct mb_err *err);

/*
 * Check the Authorization header value @header (may be NULL). @vm is the
 * VM a write is for, or NULL for an admin-only request.
 */
enum auth_result auth_check(struct auth *a, const char *header,
			    const uint8_t *vm);

#define AUTH_HOST_MAX 64

enum principal_kind {
	PRINCIPAL_ANYONE,	/* --insecure-no-auth: no token checked */
	PRINCIPAL_ADMIN,
	PRINCIPAL_VM,
	PRINCIPAL_HOST,
};

/* Whose token a request carries. */
struct auth_principal {
	enum principal_kind kind;
	uint8_t uuid[MBT_UUID_LEN];	/* PRINCIPAL_VM: its VM */
	bool vm_match;			/* PRINCIPAL_VM: a token of the @vm
					   asked about (rotated tokens) */
	char host[AUTH_HOST_MAX];	/* PRINCIPAL_HOST: its host */
};

/*
 * Who the token in @header (may be NULL) belongs to, for routes that more
 * than one kind may call: AUTH_OK with @p filled, or AUTH_MISSING /
 * AUTH_UNKNOWN. @vm, when not NULL, is the VM the request is about.
 */
enum auth_result auth_identify(struct auth *a, const char *header,
			       const uint8_t *vm, struct auth_principal *p);

/*
 * Refuse a secret (the tokens file, a TLS private key) that other users
 * may read or write: 0 when the file open as @fd is fine, -1 with @err
 * naming @path, its mode and the fix. A group-writable secret is allowed
 * with a warning in the log; group-readable is the usual way to hand a
 * root-owned secret to the daemon's own group (0640 root:mb-controld).
 */
int auth_secret_file_ok(int fd, const char *path, const char *what,
			struct mb_err *err);

#define AUTH_TENANT_MAX 65

/*
 * Whether the @len bytes at @s are a tenant name: 1 to AUTH_TENANT_MAX - 1
 * letters, digits, '-', '_' and '.' (the keys file names tenants too).
 */
bool auth_tenant_name_ok(const char *s, size_t len);

/*
 * The tenant of VM @uuid into @tenant ("" when its lines name none).
 * Returns whether the VM has a line at all.
 */
bool auth_tenant(struct auth *a, const uint8_t uuid[MBT_UUID_LEN],
		 char tenant[AUTH_TENANT_MAX]);

/* Number of entries in force. */
unsigned int auth_count(struct auth *a);

#endif /* MB_CONTROLD_AUTH_H */
