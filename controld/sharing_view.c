// SPDX-License-Identifier: GPL-2.0
/*
 * sharing_view.c - the sharing of the store's VMs for GET /v1/sharing
 * (sharing_view.h).
 *
 * One request: the catalogue's VMs (annotated with their hosts when the
 * control loop runs), each VM's latest version; the digest algorithm most
 * of them use (the others are listed in "skipped": digests of two
 * algorithms never match); their digest sets from a cache of our own, of
 * which those of the key most of them have (keyed digests under another
 * key, or plain ones beside keyed ones, never match either: skipped too);
 * the exact matrix and its JSON through the same function as `mbuddy
 * sharing --json` (heuristics/sharing_json.c); then per VM its uuid,
 * version, host and tenant, and per host the group values of its VMs.
 *
 * The cache is not the planner's: the planner sweeps its own after every
 * plan, which could free a set while a request here still reads it.
 * Requests are served one at a time (the lock), the answer is kept and
 * handed out again while the inputs (uuid, latest version and host of
 * every VM) stay the same.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbt.h"
#include "sharing_json.h"
#include "sharing_view.h"
#include "snapshot.h"

struct sharing_view {
	pthread_mutex_t lock;
	struct store *store;
	struct catalogue *cat;
	struct auth *auth;
	struct set_cache *cache;
	char *key;			/* the inputs of the answer kept */
	json_t *answer;
};

struct input {
	struct trace_record rec;
	const char *uuid, *name, *host;	/* in the catalogue's JSON */
	char label[64];			/* "uuid/version" */
	char *set_name;			/* unique among the inputs */
};

struct sharing_view *sharing_view_new(struct store *store,
				      struct catalogue *cat,
				      struct auth *auth)
{
	struct sharing_view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->cache = set_cache_new();
	if (!v->cache) {
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	v->store = store;
	v->cat = cat;
	v->auth = auth;
	return v;
}

void sharing_view_free(struct sharing_view *v)
{
	if (!v)
		return;
	set_cache_free(v->cache);
	json_decref(v->answer);
	free(v->key);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const char *str_or_null(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The algorithm most inputs use; ties go to the lower number. */
static int majority_algorithm(const struct input *in, size_t n)
{
	size_t count[256] = { 0 }, i;
	int best = -1;

	for (i = 0; i < n; i++)
		count[in[i].rec.algorithm & 0xff]++;
	for (i = 0; i < 256; i++)
		if (count[i] && (best < 0 || count[i] > count[best]))
			best = (int)i;
	return best;
}

/* "uuid:version:host\n" for every input: equal keys, equal answers. */
static char *inputs_key(const struct input *in, size_t n)
{
	size_t i, len = 1, off = 0;
	char *key;

	for (i = 0; i < n; i++)
		len += strlen(in[i].label) + strlen(in[i].host ? in[i].host :
						    "") + 3;
	key = malloc(len);
	if (!key)
		return NULL;
	key[0] = '\0';
	for (i = 0; i < n; i++)
		off += snprintf(key + off, len - off, "%s:%s\n", in[i].label,
				in[i].host ? in[i].host : "");
	return key;
}

/* A VM's name labels a row: an empty name or a repeated one is its uuid. */
static int name_inputs(struct input *in, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *name = in[i].rec.name[0] ? in[i].rec.name :
				   in[i].name;
		bool clash = !name || !name[0];

		for (j = 0; j < n && !clash; j++) {
			const char *other = in[j].rec.name[0] ?
					    in[j].rec.name : in[j].name;

			clash = j != i && other && !strcmp(name, other);
		}
		in[i].set_name = strdup(clash ? in[i].rec.uuid : name);
		if (!in[i].set_name)
			return -1;
	}
	return 0;
}

static json_t *skipped_json(const struct input *in, const char *why)
{
	return json_pack("{s:s,s:I,s:s,s:s}", "uuid", in->rec.uuid,
			 "version", (json_int_t)in->rec.version, "name",
			 in->rec.name, "why", why);
}

/*
 * Keep the sets of the key most of the @n sets have (0: not keyed; ties
 * go to the first set's), listing the others in @skipped: digests under
 * different keys never match. Returns how many are kept.
 */
static size_t keep_majority_key(struct input *in, struct mb_digest_set *sets,
				size_t n, json_t *skipped)
{
	size_t i, j, votes, most = 0, best = 0, kept = 0;
	char why[128];

	for (i = 0; i < n; i++) {
		for (j = 0, votes = 0; j < n; j++)
			votes += sets[j].key_id == sets[i].key_id;
		if (votes > most) {
			most = votes;
			best = i;
		}
	}
	best = n ? sets[best].key_id : 0;
	for (i = 0; i < n; i++) {
		if (sets[i].key_id == best) {
			sets[kept] = sets[i];
			in[kept++] = in[i];
			continue;
		}
		if (sets[i].key_id && best)
			snprintf(why, sizeof(why), "digests keyed with key "
				 "%08" PRIx32 ", the others' with key %08"
				 PRIx32, sets[i].key_id, (uint32_t)best);
		else
			snprintf(why, sizeof(why), "%s digests, the others' "
				 "are %s", sets[i].key_id ? "keyed" : "plain",
				 best ? "keyed" : "plain");
		json_array_append_new(skipped, skipped_json(&in[i], why));
		free(in[i].set_name);
	}
	return kept;
}

/* Per host with VMs: the group values of the VMs it runs. */
static json_t *hosts_json(const struct input *in,
			  const struct mb_digest_set *sets, size_t n)
{
	const struct mb_digest_set **group = calloc(n ? n : 1, sizeof(*group));
	json_t *hosts = json_array();
	size_t i, j, k;

	if (!group || !hosts) {
		free(group);
		json_decref(hosts);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		json_t *names = json_array();
		uint64_t pages = 0, distinct;
		bool first = true;

		if (!in[i].host)
			continue;
		for (j = 0; j < i && first; j++)
			first = !in[j].host || strcmp(in[j].host, in[i].host);
		if (!first) {
			json_decref(names);
			continue;
		}
		for (j = i, k = 0; j < n; j++) {
			if (!in[j].host || strcmp(in[j].host, in[i].host))
				continue;
			group[k++] = &sets[j];
			pages += sets[j].pages;
			json_array_append_new(names, json_string(sets[j].name));
		}
		distinct = mb_group_distinct(group, k);
		if (distinct == UINT64_MAX) {
			json_decref(names);
			json_decref(hosts);
			free(group);
			return NULL;
		}
		json_array_append_new(hosts, json_pack(
			"{s:s,s:o,s:I,s:I,s:I,s:f}", "name", in[i].host,
			"vms", names, "pages", (json_int_t)pages,
			"distinct", (json_int_t)distinct,
			"saved", (json_int_t)(pages - distinct),
			"saved_mb", mb_pages_mb((double)(pages - distinct))));
	}
	free(group);
	return hosts;
}

/* The answer for the @n inputs @in, all readable and of one algorithm. */
static json_t *compute(struct sharing_view *v, struct input *in, size_t n,
		       struct mb_digest_set *sets, json_t *skipped,
		       bool with_hosts, struct mb_err *err)
{
	struct mb_sharing_matrix m = { 0 };
	const char **labels = calloc(n ? n : 1, sizeof(*labels));
	double *common = calloc(n ? n * n : 1, sizeof(*common));
	json_t *root = NULL, *vms, *hosts = NULL;
	size_t i;

	if (!labels || !common) {
		mb_errf(err, "sharing: out of memory");
		goto out;
	}
	if (n && mb_sharing_exact(sets, n, NULL, &m, err))
		goto out;
	for (i = 0; i < n * n; i++)
		common[i] = (double)m.common[i];
	for (i = 0; i < n; i++)
		labels[i] = in[i].label;
	root = mb_sharing_json(sets, n, labels, common, true, NULL, 0,
			       n ? (double)m.group_distinct : 0);
	if (with_hosts)
		hosts = hosts_json(in, sets, n);
	if (!root || (with_hosts && !hosts)) {
		json_decref(root);
		root = NULL;
		mb_errf(err, "sharing: out of memory");
		goto out;
	}
	vms = json_object_get(root, "vms");
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(vms, i);
		char tenant[AUTH_TENANT_MAX] = "";
		uint8_t bin[MBT_UUID_LEN];

		if (!mb_uuid_parse(in[i].rec.uuid, bin))
			auth_tenant(v->auth, bin, tenant);
		json_object_set_new(o, "uuid", json_string(in[i].rec.uuid));
		json_object_set_new(o, "version",
				    json_integer((json_int_t)in[i].rec.version));
		json_object_set_new(o, "host", in[i].host ?
				    json_string(in[i].host) : json_null());
		json_object_set_new(o, "tenant", json_string(tenant));
	}
	if (hosts)
		json_object_set_new(root, "hosts", hosts);
	json_object_set(root, "skipped", skipped);
	json_object_set_new(root, "computed_at",
			    json_integer((json_int_t)time(NULL)));
out:
	mb_sharing_matrix_free(&m);
	free(labels);
	free(common);
	return root;
}

json_t *sharing_view_json(struct sharing_view *v, struct control *control,
			  struct mb_err *err)
{
	json_t *list, *skipped = json_array(), *answer = NULL, *vm;
	struct mb_digest_set *sets = NULL;
	struct input *in = NULL;
	size_t n = 0, used = 0, i, idx;
	char *key = NULL, why[128];
	int algo;

	list = catalogue_vms_json(v->cat, time(NULL), err);
	if (!list || !skipped) {
		json_decref(list);
		json_decref(skipped);
		return NULL;
	}
	if (control)
		control_annotate_vms(control, list);
	in = calloc(json_array_size(list) + 1, sizeof(*in));
	if (!in)
		goto oom;
	json_array_foreach(list, idx, vm) {
		json_int_t version = json_integer_value(
			json_object_get(vm, "latest_version"));
		const char *uuid = str_or_null(vm, "uuid");
		int found;

		if (version <= 0 || !uuid)
			continue;	/* a domain with no trace yet */
		found = catalogue_get(v->cat, uuid, (uint64_t)version,
				      &in[n].rec, err);
		if (found < 0)
			goto fail;
		if (!found)
			continue;	/* dropped by retention meanwhile */
		in[n].uuid = uuid;
		in[n].name = str_or_null(vm, "name");
		in[n].host = str_or_null(vm, "host");
		snprintf(in[n].label, sizeof(in[n].label), "%s/%" PRIu64,
			 uuid, (uint64_t)version);
		n++;
	}
	key = inputs_key(in, n);
	if (!key)
		goto oom;
	pthread_mutex_lock(&v->lock);
	if (v->answer && v->key && !strcmp(v->key, key)) {
		answer = json_incref(v->answer);
		goto unlock;
	}
	algo = majority_algorithm(in, n);
	for (i = used = 0; i < n; i++) {
		if (in[i].rec.algorithm == algo) {
			in[used++] = in[i];
			continue;
		}
		snprintf(why, sizeof(why), "digests of %s, the others' are %s",
			 mb_algo_name(in[i].rec.algorithm), mb_algo_name(algo));
		json_array_append_new(skipped, skipped_json(&in[i], why));
	}
	n = used;
	sets = calloc(n ? n : 1, sizeof(*sets));
	if (!sets || name_inputs(in, n)) {
		for (i = 0; i < n; i++)
			free(in[i].set_name);
		mb_errf(err, "sharing: out of memory");
		goto unlock;
	}
	for (i = used = 0; i < n; i++) {
		const struct mb_digest_set *s;
		struct mb_err e;

		s = set_cache_get(v->cache, v->store, &in[i].rec, NULL, &e);
		if (!s) {
			json_array_append_new(skipped,
					      skipped_json(&in[i], e.msg));
			free(in[i].set_name);
			continue;
		}
		/* A shallow copy: the digests stay the cache's. */
		sets[used] = *s;
		sets[used].name = in[i].set_name;
		in[used++] = in[i];
	}
	used = keep_majority_key(in, sets, used, skipped);
	answer = compute(v, in, used, sets, skipped, control != NULL, err);
	set_cache_sweep(v->cache);
	if (answer) {
		json_decref(v->answer);
		free(v->key);
		v->answer = json_incref(answer);
		v->key = key;
		key = NULL;
	}
	for (i = 0; i < used; i++)
		free(in[i].set_name);
unlock:
	pthread_mutex_unlock(&v->lock);
	goto out;
oom:
	mb_errf(err, "sharing: out of memory");
fail:
	answer = NULL;
out:
	free(sets);
	free(key);
	free(in);
	json_decref(skipped);
	json_decref(list);
	return answer;
}
