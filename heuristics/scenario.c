// SPDX-License-Identifier: GPL-2.0
/*
 * scenario.c - reading placement scenarios (format in scenario.h).
 *
 * Parsing is split from trace loading so the parser, which sees untrusted
 * text, can be fuzzed on its own. jansson does the JSON; this file checks
 * the shape and every value, and says which entry is wrong and why.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_alloc.h"
#include "pairwise.h"
#include "scenario.h"

void mb_scenario_free(struct mb_scenario *sc)
{
	size_t i;

	for (i = 0; i < sc->nhosts; i++)
		free((char *)sc->hosts[i].name);
	for (i = 0; i < sc->nvms; i++) {
		free((char *)sc->vms[i].name);
		if (sc->trace_paths)
			free(sc->trace_paths[i]);
		if (sc->sets)
			mb_set_free(&sc->sets[i]);
	}
	free(sc->hosts);
	free(sc->vms);
	free(sc->trace_paths);
	free(sc->sets);
	mb_profile_free(&sc->profile);
	memset(sc, 0, sizeof(*sc));
}

static int check_keys(json_t *obj, const char *const *allowed,
		      const char *what, struct mb_err *err)
{
	const char *key;
	json_t *value;
	size_t i;

	json_object_foreach(obj, key, value) {
		bool ok = false;

		for (i = 0; allowed[i]; i++)
			ok |= !strcmp(key, allowed[i]);
		if (!ok)
			return mb_errf(err, "%s: unknown key \"%s\"", what, key);
	}
	(void)value;
	return 0;
}

static int get_name(json_t *obj, const char *what, const char **out,
		    struct mb_err *err)
{
	json_t *name = json_object_get(obj, "name");

	if (!name)
		return mb_errf(err, "%s: missing \"name\"", what);
	if (!json_is_string(name) || !json_string_length(name))
		return mb_errf(err, "%s: \"name\" must be a non-empty string",
			       what);
	if (strlen(json_string_value(name)) != json_string_length(name))
		return mb_errf(err, "%s: \"name\" contains a NUL byte", what);
	*out = json_string_value(name);
	return 0;
}

/* memory_mb: a positive finite number; @optional allows it to be absent (-1). */
static int get_memory(json_t *obj, const char *what, bool optional,
		      double *out, struct mb_err *err)
{
	json_t *mem = json_object_get(obj, "memory_mb");
	double v;

	if (!mem) {
		if (optional) {
			*out = -1;
			return 0;
		}
		return mb_errf(err, "%s: missing \"memory_mb\"", what);
	}
	if (!json_is_number(mem))
		return mb_errf(err, "%s: \"memory_mb\" must be a number", what);
	v = json_number_value(mem);
	if (!(v > 0) || !isfinite(v) || v > 1e12)
		return mb_errf(err, "%s: \"memory_mb\" must be a positive "
			       "number of MiB, not %g", what, v);
	*out = v;
	return 0;
}

static char *resolve(const char *base_dir, const char *path)
{
	char *out;

	if (path[0] == '/' || !base_dir || !base_dir[0])
		return strdup(path);
	if (asprintf(&out, "%s/%s", base_dir, path) < 0)
		return NULL;
	return out;
}

static int parse_hosts(json_t *hosts, struct mb_scenario *sc,
		       struct mb_err *err)
{
	static const char *const keys[] = { "name", "memory_mb", NULL };
	size_t i, j;

	if (!json_is_array(hosts))
		return mb_errf(err, "\"hosts\" must be an array");
	if (!json_array_size(hosts))
		return mb_errf(err, "\"hosts\" is empty: a scenario needs at "
			       "least one host");
	sc->hosts = calloc(json_array_size(hosts), sizeof(*sc->hosts));
	if (!sc->hosts)
		return mb_errf(err, "out of memory");
	for (i = 0; i < json_array_size(hosts); i++) {
		json_t *h = json_array_get(hosts, i);
		struct mb_place_host *host = &sc->hosts[i];
		const char *name;
		char what[96];

		snprintf(what, sizeof(what), "hosts[%zu]", i);
		if (!json_is_object(h))
			return mb_errf(err, "%s: must be an object", what);
		if (check_keys(h, keys, what, err) ||
		    get_name(h, what, &name, err))
			return -1;
		snprintf(what, sizeof(what), "hosts[%zu] (\"%.60s\")", i, name);
		for (j = 0; j < i; j++)
			if (!strcmp(sc->hosts[j].name, name))
				return mb_errf(err, "%s: duplicate host name "
					       "(also hosts[%zu])", what, j);
		host->name = strdup(name);
		sc->nhosts++;
		if (!host->name)
			return mb_errf(err, "out of memory");
		if (get_memory(h, what, false, &host->memory_mb, err))
			return -1;
	}
	return 0;
}

static int parse_vm(json_t *o, size_t i, const char *base_dir,
		    struct mb_scenario *sc, struct mb_err *err)
{
	static const char *const keys[] = {
		"name", "trace", "memory_mb", "host", NULL
	};
	struct mb_place_vm *vm = &sc->vms[i];
	json_t *trace, *host;
	const char *name;
	char what[96];
	size_t j;

	snprintf(what, sizeof(what), "vms[%zu]", i);
	if (!json_is_object(o))
		return mb_errf(err, "%s: must be an object", what);
	if (check_keys(o, keys, what, err) || get_name(o, what, &name, err))
		return -1;
	snprintf(what, sizeof(what), "vms[%zu] (\"%.60s\")", i, name);
	for (j = 0; j < i; j++)
		if (!strcmp(sc->vms[j].name, name))
			return mb_errf(err, "%s: duplicate VM name (also "
				       "vms[%zu])", what, j);
	vm->name = strdup(name);
	vm->host = -1;
	sc->nvms++;
	if (!vm->name)
		return mb_errf(err, "out of memory");
	if (get_memory(o, what, true, &vm->memory_mb, err))
		return -1;
	trace = json_object_get(o, "trace");
	if (!trace)
		return mb_errf(err, "%s: missing \"trace\"", what);
	if (!json_is_string(trace) || !json_string_length(trace) ||
	    strlen(json_string_value(trace)) != json_string_length(trace))
		return mb_errf(err, "%s: \"trace\" must be a non-empty path",
			       what);
	sc->trace_paths[i] = resolve(base_dir, json_string_value(trace));
	if (!sc->trace_paths[i])
		return mb_errf(err, "out of memory");
	host = json_object_get(o, "host");
	if (host && !json_is_null(host)) {
		if (!json_is_string(host))
			return mb_errf(err, "%s: \"host\" must be a host name "
				       "or null", what);
		for (j = 0; j < sc->nhosts; j++)
			if (!strcmp(sc->hosts[j].name, json_string_value(host)))
				vm->host = (int)j;
		if (vm->host < 0)
			return mb_errf(err, "%s: unknown host \"%.60s\"", what,
				       json_string_value(host));
	}
	return 0;
}

int mb_scenario_parse(const char *json, size_t len, const char *base_dir,
		      struct mb_scenario *sc, struct mb_err *err)
{
	static const char *const keys[] = { "hosts", "vms", NULL };
	json_error_t jerr;
	json_t *root, *hosts, *vms;
	size_t i, n;
	int rc = -1;

	memset(sc, 0, sizeof(*sc));
	mb_json_alloc_failed();
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root && (mb_json_alloc_failed() ||
		      json_error_code(&jerr) == json_error_out_of_memory))
		return mb_errf(err, "out of memory");
	if (!root)
		return mb_errf(err, "line %d, column %d: %s", jerr.line,
			       jerr.column, jerr.text);
	if (!json_is_object(root)) {
		mb_errf(err, "the scenario must be a JSON object with "
			"\"hosts\" and \"vms\"");
		goto out;
	}
	if (check_keys(root, keys, "scenario", err))
		goto out;
	hosts = json_object_get(root, "hosts");
	vms = json_object_get(root, "vms");
	if (!hosts || !vms) {
		mb_errf(err, "missing \"%s\"", hosts ? "vms" : "hosts");
		goto out;
	}
	if (parse_hosts(hosts, sc, err))
		goto out;
	if (!json_is_array(vms)) {
		mb_errf(err, "\"vms\" must be an array");
		goto out;
	}
	n = json_array_size(vms);
	sc->vms = calloc(n + 1, sizeof(*sc->vms));
	sc->trace_paths = calloc(n + 1, sizeof(*sc->trace_paths));
	if (!sc->vms || !sc->trace_paths) {
		mb_errf(err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (parse_vm(json_array_get(vms, i), i, base_dir, sc, err))
			goto out;
	sc->problem.hosts = sc->hosts;
	sc->problem.nhosts = sc->nhosts;
	sc->problem.vms = sc->vms;
	sc->problem.nvms = sc->nvms;
	rc = 0;
out:
	json_decref(root);
	if (rc)
		mb_scenario_free(sc);
	return rc;
}

struct load_job {
	struct mb_scenario *sc;
	bool include_free;
	struct mb_err *errs;
	int *failed;
	struct mb_digest_parts *parts;	/* profiled: split digests, else NULL */
	unsigned int bits;
};

/* Trace @i into its set (one worker of mb_parallel_for()). */
static void load_one(void *ctx, size_t i)
{
	struct load_job *job = ctx;
	struct mb_scenario *sc = job->sc;
	struct mb_place_vm *vm = &sc->vms[i];
	struct mb_err *err = &job->errs[i];
	struct mbt_trace t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (mb_trace_load(sc->trace_paths[i], &t, err)) {
		mb_err_prefix(err, "vms[%zu] (\"%s\")", i, vm->name);
		job->failed[i] = 1;
		return;
	}
	if (job->parts)
		rc = mb_parts_from_trace(&job->parts[i], &sc->sets[i], &t,
					 job->include_free, vm->name, job->bits,
					 err);
	else
		rc = mb_set_from_trace(&sc->sets[i], &t, job->include_free,
				       vm->name, err);
	if (!rc && vm->memory_mb < 0)
		vm->memory_mb = mb_pages_mb((double)t.info.page_count);
	mbt_trace_free(&t);
	if (rc) {
		mb_err_prefix(err, "vms[%zu] (\"%s\")", i, vm->name);
		job->failed[i] = 1;
	}
}

/*
 * The traces load in parallel (one per CPU at a time); the first failure
 * in input order is the one reported, as a serial load would. Profiled:
 * the traces are split instead of sorted and summed up in sc->profile.
 */
static int load_traces(struct mb_scenario *sc, bool include_free,
		       bool profiled, struct mb_err *err)
{
	struct load_job job = { sc, include_free, NULL, NULL, NULL, 0 };
	size_t i;
	int rc = -1;

	sc->sets = calloc(sc->nvms + 1, sizeof(*sc->sets));
	job.errs = calloc(sc->nvms + 1, sizeof(*job.errs));
	job.failed = calloc(sc->nvms + 1, sizeof(*job.failed));
	if (profiled && sc->nvms && sc->nvms <= MB_PROFILE_MAX_VMS) {
		job.parts = calloc(sc->nvms, sizeof(*job.parts));
		job.bits = mb_parts_bits_for_files(
			(const char *const *)sc->trace_paths, sc->nvms);
	}
	if (!sc->sets || !job.errs || !job.failed ||
	    (profiled && sc->nvms && sc->nvms <= MB_PROFILE_MAX_VMS &&
	     !job.parts)) {
		mb_errf(err, "out of memory");
		goto out;
	}
	mb_parallel_for(sc->nvms, 0, load_one, &job);
	for (i = 0; i < sc->nvms; i++) {
		if (job.failed[i]) {
			*err = job.errs[i];
			goto out;
		}
		sc->vms[i].set = &sc->sets[i];
		if (i && mb_set_comparable(&sc->sets[0], &sc->sets[i], err))
			goto out;
	}
	if (job.parts) {
		if (mb_profile_build(&sc->profile, job.parts, sc->nvms, 0, err))
			goto out;
		mb_profile_set_distinct(&sc->profile, sc->sets);
	}
	rc = 0;
out:
	for (i = 0; job.parts && i < sc->nvms; i++)
		mb_parts_free(&job.parts[i]);
	free(job.parts);
	free(job.errs);
	free(job.failed);
	return rc;
}

int mb_scenario_load_traces(struct mb_scenario *sc, bool include_free,
			    struct mb_err *err)
{
	return load_traces(sc, include_free, false, err);
}

int mb_scenario_load_traces_profiled(struct mb_scenario *sc,
				     bool include_free, struct mb_err *err)
{
	return load_traces(sc, include_free, true, err);
}

static int load(const char *path, bool include_free, bool profiled,
		struct mb_scenario *sc, struct mb_err *err)
{
	char *buf = NULL, *dir, *slash;
	size_t len = 0;
	FILE *f;
	int rc;

	memset(sc, 0, sizeof(*sc));
	f = fopen(path, "rb");
	if (!f)
		return mb_errf(err, "%s: %s", path, strerror(errno));
	{
		char chunk[65536];
		size_t got;

		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			char *nb = realloc(buf, len + got + 1);

			if (!nb || len + got > (64u << 20)) {
				free(nb ? nb : buf);
				fclose(f);
				return mb_errf(err, "%s: %s", path, nb ?
					       "larger than 64 MiB" :
					       "out of memory");
			}
			buf = nb;
			memcpy(buf + len, chunk, got);
			len += got;
		}
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return mb_errf(err, "%s: read error", path);
	}
	fclose(f);
	dir = strdup(path);
	if (!dir) {
		free(buf);
		return mb_errf(err, "out of memory");
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	rc = mb_scenario_parse(buf ? buf : "", len, slash ? dir : "", sc, err);
	free(buf);
	free(dir);
	if (rc)
		return mb_err_prefix(err, "%s", path);
	if (load_traces(sc, include_free, profiled, err)) {
		mb_scenario_free(sc);
		return mb_err_prefix(err, "%s", path);
	}
	return 0;
}

int mb_scenario_load(const char *path, bool include_free,
		     struct mb_scenario *sc, struct mb_err *err)
{
	return load(path, include_free, false, sc, err);
}

int mb_scenario_load_profiled(const char *path, bool include_free,
			      struct mb_scenario *sc, struct mb_err *err)
{
	return load(path, include_free, true, sc, err);
}
