// SPDX-License-Identifier: GPL-2.0
/*
 * test_controld_keys.c - the tenants' keys of mb-controld (controld/keys.c):
 * the keys file's parser and its refusals (which never repeat a seed), a
 * key made once per tenant, saved 0600 before it is handed out and found
 * again after a restart, a world-readable file refused, a key that cannot
 * be saved not handed out, and who gets a key over the API
 * (keys_answer()).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"
#include "mbt.h"

static void expect_refused(const char *text, const char *want)
{
	struct keystore *k = keystore_new_memory();
	struct mb_err err = { "" };

	assert_non_null(k);
	if (!keystore_load_text(k, "keys", text, strlen(text), &err))
		fail_msg("accepted \"%s\"; expected \"%s\"", text, want);
	if (!strstr(err.msg, want))
		fail_msg("\"%s\": expected \"%s\", got \"%s\"", text, want,
			 err.msg);
	/* No message repeats a seed of the input. */
	assert_null(strstr(err.msg, "0123456789abcdef"));
	assert_null(strstr(err.msg, "0123456789abcdeZ"));
	keystore_close(k);
}

static void keys_file_parses(void **state)
{
	static const char text[] =
		"# key-id seed [tenant=NAME]\n"
		"\n"
		"1a2b3c4d 0123456789abcdef tenant=acme\n"
		"  5E6F7A8B\tFEDCBA9876543210  \n"
		"00000001 0000000000000000 tenant=a.b-c_d";	/* no newline */
	struct keystore *k = keystore_new_memory();
	struct tenant_key key;
	struct mb_err err;

	(void)state;
	assert_int_equal(keystore_load_text(k, "keys", text, strlen(text),
					    &err), 0);
	assert_int_equal(keystore_count(k), 3);
	assert_int_equal(keystore_get(k, "acme", false, &key, &err), 1);
	assert_int_equal(key.id, 0x1a2b3c4d);
	assert_true(key.seed == 0x0123456789abcdefULL);
	assert_int_equal(keystore_get(k, "", false, &key, &err), 1);
	assert_int_equal(key.id, 0x5e6f7a8b);
	assert_true(key.seed == 0xfedcba9876543210ULL);
	assert_int_equal(keystore_key_id(k, "a.b-c_d"), 1);
	assert_int_equal(keystore_key_id(k, "nobody"), 0);
	assert_int_equal(keystore_get(k, "nobody", false, &key, &err), 0);
	keystore_close(k);
}

static void keys_file_refusals(void **state)
{
	(void)state;
	expect_refused("00000000 0123456789abcdef\n", "keys:1: the key id is "
		       "not 8 hex digits other than 00000000");
	expect_refused("\n1a2b3c4 0123456789abcdef\n", "keys:2: the key id");
	expect_refused("1a2b3c4g 0123456789abcdef\n", "keys:1: the key id");
	expect_refused("1a2b3c4d 0123456789abcdeZ\n", "keys:1: the seed "
		       "(second field) is not 16 hex digits");
	expect_refused("1a2b3c4d 0123456789abcde\n", "the seed");
	expect_refused("1a2b3c4d\n", "the seed");
	expect_refused("1a2b3c4d 0123456789abcdef acme\n", "keys:1: the "
		       "third field is not tenant=NAME");
	expect_refused("1a2b3c4d 0123456789abcdef tenant=a/b\n",
		       "not tenant=NAME");
	expect_refused("1a2b3c4d 0123456789abcdef tenant=\n",
		       "not tenant=NAME");
	expect_refused("1a2b3c4d 0123456789abcdef tenant=a x\n",
		       "keys:1: more than three fields");
	expect_refused("1a2b3c4d 0123456789abcdef tenant=a\n"
		       "5e6f7a8b 0123456789abcdef tenant=a\n",
		       "keys:2: a second key for tenant 'a'");
	expect_refused("1a2b3c4d 0123456789abcdef\n"
		       "5e6f7a8b 0123456789abcdef\n",
		       "keys:2: a second key for the VMs without a tenant");
	expect_refused("1a2b3c4d 0123456789abcdef tenant=a\n"
		       "1a2b3c4d 0123456789abcdee tenant=b\n",
		       "keys:2: key id 1a2b3c4d is taken by another tenant");
	{
		struct keystore *k = keystore_new_memory();
		struct mb_err err;
		static const char nul[] = "1a2b3c4d 0123456789abcdef\n\0x";

		/* A NUL refuses all; a failed load keeps what was there. */
		assert_int_equal(keystore_load_text(k, "keys", "1a2b3c4d "
				 "0123456789abcdef\n", 26, &err), 0);
		assert_int_equal(keystore_load_text(k, "keys", nul,
						    sizeof(nul) - 1, &err), -1);
		assert_non_null(strstr(err.msg, "a NUL byte"));
		assert_int_equal(keystore_key_id(k, ""), 0x1a2b3c4d);
		keystore_close(k);
	}
}

struct dir {
	char path[64];
	char keys[96];
};

static void make_dir(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/mb-keys-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->keys, sizeof(d->keys), "%s/keys", d->path);
}

static void remove_dir(struct dir *d)
{
	unlink(d->keys);
	rmdir(d->path);
}

static void keys_are_made_saved_and_kept(void **state)
{
	struct tenant_key red, red2, blue, none, again;
	struct keystore *k;
	struct mb_err err;
	struct stat st;
	struct dir d;
	char text[512];
	FILE *f;
	size_t n;

	(void)state;
	make_dir(&d);
	k = keystore_open(d.path, &err);
	assert_non_null(k);
	assert_int_equal(keystore_count(k), 0);
	assert_int_equal(access(d.keys, F_OK), -1);	/* made on demand */
	assert_int_equal(keystore_get(k, "red", true, &red, &err), 1);
	assert_int_not_equal(red.id, 0);
	assert_int_equal(stat(d.keys, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(keystore_get(k, "red", true, &red2, &err), 1);
	assert_memory_equal(&red, &red2, sizeof(red));
	assert_int_equal(keystore_get(k, "blue", true, &blue, &err), 1);
	assert_int_equal(keystore_get(k, "", true, &none, &err), 1);
	assert_int_not_equal(blue.id, red.id);
	assert_int_not_equal(none.id, red.id);
	assert_int_not_equal(none.id, blue.id);
	assert_true(blue.seed != red.seed && none.seed != red.seed);
	assert_int_equal(keystore_key_id(k, "blue"), blue.id);
	keystore_close(k);

	/* The file: comments, then one line per key, the tenant named. */
	f = fopen(d.keys, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	{
		char line[64];

		snprintf(line, sizeof(line), "%08x %016llx tenant=red\n",
			 red.id, (unsigned long long)red.seed);
		assert_non_null(strstr(text, line));
		snprintf(line, sizeof(line), "%08x %016llx\n", none.id,
			 (unsigned long long)none.seed);
		assert_non_null(strstr(text, line));
	}

	/* A restart finds the same keys. */
	k = keystore_open(d.path, &err);
	assert_non_null(k);
	assert_int_equal(keystore_count(k), 3);
	assert_int_equal(keystore_get(k, "red", false, &again, &err), 1);
	assert_memory_equal(&again, &red, sizeof(red));
	keystore_close(k);

	/* Others may not read it. */
	assert_int_equal(chmod(d.keys, 0640), 0);
	assert_null(keystore_open(d.path, &err));
	assert_non_null(strstr(err.msg, "is mode 0640: others than its owner "
			       "could read or change the tenants' keys"));
	remove_dir(&d);
}

/* A key that cannot be saved is not handed out, and does not exist. */
static void unsaved_key_is_not_handed_out(void **state)
{
	struct tenant_key key;
	struct keystore *k;
	struct mb_err err;
	struct dir d;

	(void)state;
	make_dir(&d);
	k = keystore_open(d.path, &err);
	assert_non_null(k);
	assert_int_equal(rmdir(d.path), 0);	/* nowhere to save it */
	memset(&key, 0x5a, sizeof(key));
	assert_int_equal(keystore_get(k, "red", true, &key, &err), -1);
	assert_non_null(strstr(err.msg, "a new key for tenant 'red' is not "
			       "saved, so not handed out"));
	assert_int_equal(keystore_count(k), 0);
	assert_int_equal(keystore_key_id(k, "red"), 0);
	keystore_close(k);
}

#define VM1 "6b657973-0000-4000-8000-000000000001"
#define VM2 "6b657973-0000-4000-8000-000000000002"
#define VM3 "6b657973-0000-4000-8000-000000000003"

static const char tokens[] =
	VM1 " token-of-vm1 tenant=red\n"
	VM2 " token-of-vm2 tenant=red\n"
	VM3 " token-of-vm3\n"
	"admin token-of-admin\n"
	"host=h1 token-of-host\n";

static unsigned int answer(struct keystore *k, struct auth *a,
			   const char *header, const char *vm, json_t **body,
			   char *msg)
{
	uint8_t uuid[MBT_UUID_LEN];

	assert_int_equal(mb_uuid_parse(vm, uuid), 0);
	return keys_answer(k, a, header, uuid, body, msg, 256);
}

static void only_the_vms_own_token_gets_its_key(void **state)
{
	struct keystore *k = keystore_new_memory();
	struct auth *a = auth_new(NULL, false, NULL), *open;
	struct mb_err err;
	uint8_t uuid[MBT_UUID_LEN];
	json_t *b1, *b2, *b3, *none;
	char msg[256], id[9];

	(void)state;
	assert_non_null(a);
	if (auth_load_text(a, "tokens", tokens, strlen(tokens), &err))
		fail_msg("the tokens: %s", err.msg);
	assert_int_equal(answer(k, a, "Bearer token-of-vm1", VM1, &b1, msg), 200);
	assert_string_equal(json_string_value(json_object_get(b1,
			    "algorithm")), "xxh64");
	assert_int_equal(strlen(json_string_value(json_object_get(b1,
			 "seed"))), 16);
	assert_int_equal(answer(k, a, "Bearer token-of-vm2", VM2, &b2, msg), 200);
	assert_true(json_equal(b1, b2));	/* one tenant, one key */
	assert_int_equal(answer(k, a, "Bearer token-of-vm3", VM3, &b3, msg), 200);
	assert_false(json_equal(b1, b3));
	snprintf(id, sizeof(id), "%08x", keystore_key_id(k, "red"));
	assert_string_equal(json_string_value(json_object_get(b1, "key_id")),
			    id);
	assert_int_equal(mb_uuid_parse(VM2, uuid), 0);
	assert_int_equal(keys_vm_key_id(k, a, uuid), keystore_key_id(k, "red"));

	assert_int_equal(answer(k, a, "Bearer token-of-vm1", VM2, &none, msg), 403);
	assert_null(none);
	assert_int_equal(answer(k, a, "Bearer token-of-admin", VM1, &none, msg),
			 403);
	assert_non_null(strstr(msg, "only the vm's own token may"));
	assert_int_equal(answer(k, a, "Bearer token-of-host", VM1, &none, msg), 403);
	assert_int_equal(answer(k, a, NULL, VM1, &none, msg), 401);
	assert_int_equal(answer(k, a, "Bearer nope", VM1, &none, msg), 401);
	assert_int_equal(keystore_count(k), 2);

	/* Without tokens nobody is anybody: no keys at all. */
	open = auth_new(NULL, true, &err);
	assert_non_null(open);
	assert_int_equal(answer(k, open, NULL, VM1, &none, msg), 403);
	assert_non_null(strstr(msg, "never with --insecure-no-auth"));
	auth_free(open);

	json_decref(b1);
	json_decref(b2);
	json_decref(b3);
	auth_free(a);
	keystore_close(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_file_parses),
		cmocka_unit_test(keys_file_refusals),
		cmocka_unit_test(keys_are_made_saved_and_kept),
		cmocka_unit_test(unsaved_key_is_not_handed_out),
		cmocka_unit_test(only_the_vms_own_token_gets_its_key),
	};

	log_init("test_controld_keys");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
