// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_hotspots.c - `mbuddy hotspots`: Sandpiper's view of the cluster.
 *
 *   mbuddy hotspots                 what mb-controld's sandpiper policy
 *                                   sees now (GET /v1/hotspots)
 *   mbuddy hotspots --record FILE   save its settings and every host's
 *                                   and VM's statistics (GET
 *                                   /v1/hosts/{name}/stats, /v1/vms/
 *                                   {uuid}/stats) for a replay
 *   mbuddy hotspots RECORDING       replay a recording offline: the same
 *                                   tracker, detection and mitigation as
 *                                   the live policy (heuristics/hotspot.h),
 *                                   one round per statistics round, and
 *                                   print every decision with its reason
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl_client.h"
#include "hotspot_replay.h"
#include "textsafe.h"

static const char hotspots_usage[] =
"usage: mbuddy hotspots [--json] [connection]\n"
"       mbuddy hotspots --record FILE [connection]\n"
"       mbuddy hotspots [--json] [--k N] [--n N] [--threshold PERCENT]\n"
"                       [--holdoff SECONDS] [--mode black|gray] RECORDING\n"
"\n"
"Without a file, show what mb-controld's sandpiper policy sees: each\n"
"host's CPU, network and memory utilisation, its verdicts (k of n over\n"
"the threshold, the forecast) and the last mitigation. --record saves\n"
"a recording of the statistics; with one, replay it offline through the\n"
"same detection and mitigation and print the decisions.\n"
"\n"
"  --json               machine-readable output\n"
"  --record FILE        write the recording to FILE\n"
"  --k N, --n N         hot when k of the last n observations are over\n"
"  --threshold PERCENT  every resource's threshold\n"
"  --holdoff SECONDS    no host mitigated twice, no VM moved twice within\n"
"  --mode black|gray    which statistics count (default: the recording's)\n"
"  connection           --url URL, --token TOKEN | --token-file FILE,\n"
"                       --ca-file FILE (as for mbuddy status)\n";

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- live ---- */

static void print_live(json_t *j)
{
	json_t *h, *v, *m;
	size_t i, k;

	if (!strcmp(str(j, "mode"), "off")) {
		printf("sandpiper is off (mb-controld --sandpiper black|gray)\n");
		return;
	}
	printf("sandpiper (%s), hot when %lld of the last %lld observations are "
	       "over the threshold and so is the forecast; %s\n",
	       mb_display(str(j, "mode")),
	       (long long)json_integer_value(json_object_get(json_object_get(
		       j, "params"), "k")),
	       (long long)json_integer_value(json_object_get(json_object_get(
		       j, "params"), "n")),
	       json_is_true(json_object_get(j, "apply")) ? "applied (--apply)" :
	       "dry run");
	printf("\n%-14s %5s %6s %6s %6s  %s\n", "HOST", "HOT", "CPU", "NET",
	       "MEM", "VERDICTS (over/of, forecast)");
	json_array_foreach(json_object_get(j, "hosts"), i, h) {
		json_t *now = json_object_get(h, "now");
		json_t *vd = json_object_get(h, "verdicts");
		static const char *const res[3] = { "cpu", "net", "mem" };
		int r;

		printf("%-14.14s %5s %5.0f%% %5.0f%% %5.0f%% ",
		       mb_display(str(h, "name")),
		       json_is_true(json_object_get(h, "hot")) ? "yes" : "no",
		       100 * num(now, "cpu"), 100 * num(now, "net"),
		       100 * num(now, "mem"));
		for (r = 0; r < 3; r++) {
			json_t *x = json_object_get(vd, res[r]);

			printf(" %s %lld/%lld %.0f%%%s", res[r],
			       (long long)json_integer_value(
				       json_object_get(x, "over")),
			       (long long)json_integer_value(
				       json_object_get(x, "of")),
			       100 * num(x, "predicted"),
			       json_is_true(json_object_get(x, "hot")) ?
			       " HOT" : "");
		}
		putchar('\n');
	}
	m = json_object_get(j, "last_mitigation");
	if (json_is_object(m)) {
		printf("\nlast mitigation (plan %lld):\n", (long long)
		       json_integer_value(json_object_get(m, "id")));
		json_array_foreach(json_object_get(m, "actions"), k, v)
			printf("  migrate %s from %s to %s: %s\n",
			       mb_display(str(v, "name")),
			       mb_display(str(v, "from")),
			       mb_display(str(v, "to")),
			       mb_display(str(v, "reason")));
		if (json_is_string(json_object_get(m, "unresolved")))
			printf("  unresolved: %s\n",
			       mb_display(str(m, "unresolved")));
	}
}

static int record(struct ctl_client *cl, const char *file)
{
	json_t *sp = NULL, *out = NULL, *hosts, *vms, *x, *all;
	char path[256];
	size_t i;
	int ret = 1;
	FILE *f;

	sp = ctl_request(cl, "GET", "/v1/hotspots");
	all = sp ? ctl_request(cl, "GET", "/v1/stats") : NULL;
	if (!sp || !all)
		goto out;
	hosts = json_array();
	vms = json_array();
	out = json_pack("{s:O,s:o,s:o}", "sandpiper", sp, "hosts", hosts,
			"vms", vms);
	json_array_foreach(json_object_get(sp, "hosts"), i, x) {
		json_t *s;

		snprintf(path, sizeof(path), "/v1/hosts/%s/stats",
			 str(x, "name"));
		s = ctl_request(cl, "GET", path);
		if (s)
			json_array_append_new(hosts, s);
	}
	json_array_foreach(json_object_get(all, "vms"), i, x) {
		json_t *s;

		snprintf(path, sizeof(path), "/v1/vms/%s/stats", str(x, "uuid"));
		s = ctl_request(cl, "GET", path);
		if (s)
			json_array_append_new(vms, s);
	}
	f = fopen(file, "w");
	if (!f || json_dumpf(out, f, JSON_COMPACT) || fputc('\n', f) == EOF ||
	    fclose(f)) {
		fprintf(stderr, "mbuddy hotspots: %s: cannot write it\n", file);
		goto out;
	}
	printf("recorded %zu host%s and %zu VM%s to %s\n",
	       json_array_size(hosts), json_array_size(hosts) == 1 ? "" : "s",
	       json_array_size(vms), json_array_size(vms) == 1 ? "" : "s",
	       file);
	ret = 0;
out:
	json_decref(sp);
	json_decref(all);
	json_decref(out);
	return ret;
}

/* ---- replay ---- */

struct printer {
	bool json;
	json_t *decisions;
};

static void decided(void *ctx, const struct mb_hs_decision *d)
{
	struct printer *pr = ctx;
	const struct mb_hs_tracker *t = d->tracker;
	json_t *moves = json_array();
	size_t i;

	if (!pr->json)
		printf("\nat +%.1f s (round %zu):\n", d->since_start, d->round);
	for (i = 0; i < d->res->nmoves; i++) {
		const struct mb_hs_move *m = &d->res->moves[i];

		json_array_append_new(moves, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}",
			"vm", mb_hs_vm_name(t, m->vm), "uuid",
			mb_hs_vm_id(t, m->vm), "from",
			mb_hs_host_name(t, m->from), "to",
			mb_hs_host_name(t, m->to), "swap", m->swap,
			"reason", m->reason));
		if (!pr->json)
			printf("  migrate %s from %s to %s: %s\n",
			       mb_display(mb_hs_vm_name(t, m->vm)),
			       mb_display(mb_hs_host_name(t, m->from)),
			       mb_display(mb_hs_host_name(t, m->to)),
			       mb_display(m->reason));
	}
	if (d->res->unresolved && !pr->json)
		printf("  unresolved: %s\n", mb_display(d->res->why));
	json_array_append_new(pr->decisions, json_pack("{s:f,s:f,s:I,s:o,s:o}",
		"t", d->t, "since_start_s", d->since_start, "round",
		(json_int_t)d->round, "moves", moves, "unresolved",
		d->res->unresolved ? json_string(d->res->why) : json_null()));
}

static int replay(const char *file, bool json,
		  const struct mb_hs_replay_opts *o)
{
	struct printer pr = { json, json_array() };
	const struct mb_hs_replay_info *in;
	struct mb_hs_replay *r = NULL;
	json_error_t je;
	struct mb_err err;
	json_t *rec;
	long rounds;
	int ret = 1;

	rec = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!rec) {
		fprintf(stderr, "mbuddy hotspots: %s: %s (line %d)\n", file,
			je.text, je.line);
		goto out;
	}
	r = mb_hs_replay_open(rec, o, &err);
	if (!r) {
		fprintf(stderr, "mbuddy hotspots: %s: %s\n", file, err.msg);
		goto out;
	}
	in = mb_hs_replay_info(r);
	if (!json)
		printf("replaying %s: %zu hosts, %zu VMs, %zu samples; sandpiper "
		       "%s, hot when %u of the last %u observations are over "
		       "(cpu %.0f %%, net %.0f %%, mem %.0f %%) and so is the "
		       "AR(%u) forecast; hold-off %u s\n", file, in->hosts,
		       in->vms, in->samples, in->mode == MB_HS_GRAY ?
		       "gray-box" : "black-box", in->params.k, in->params.n,
		       100 * in->params.threshold[MB_RES_CPU],
		       100 * in->params.threshold[MB_RES_NET],
		       100 * in->params.threshold[MB_RES_MEM],
		       in->params.ar_order, in->holdoff);
	rounds = mb_hs_replay_run(r, decided, &pr, &err);
	if (rounds < 0) {
		fprintf(stderr, "mbuddy hotspots: %s: %s\n", file, err.msg);
		goto out;
	}
	if (json) {
		json_t *out = json_pack("{s:s,s:s,s:I,s:O}", "recording", file,
					"mode", in->mode == MB_HS_GRAY ?
					"gray-box" : "black-box", "rounds",
					(json_int_t)rounds, "decisions",
					pr.decisions);

		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
	} else {
		printf("\n%ld rounds, %zu decision%s\n", rounds,
		       json_array_size(pr.decisions),
		       json_array_size(pr.decisions) == 1 ? "" : "s");
	}
	ret = 0;
out:
	mb_hs_replay_close(r);
	json_decref(pr.decisions);
	json_decref(rec);
	return ret;
}

static int number(const char *arg, const char *what, int lo, int hi)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || end == arg || v < lo || v > hi) {
		fprintf(stderr, "mbuddy hotspots: --%s '%s' is not a number "
			"%d..%d\n", what, arg, lo, hi);
		return -1;
	}
	return (int)v;
}

int cmd_hotspots(int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "record", required_argument, NULL, 'r' },
		{ "k", required_argument, NULL, 'k' },
		{ "n", required_argument, NULL, 'n' },
		{ "threshold", required_argument, NULL, 'x' },
		{ "holdoff", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mb_hs_replay_opts o = { 0, 0, 0, -1, NULL };
	const char *rec = NULL;
	int opt, ret;
	struct ctl_client cl;
	bool json = false;
	json_t *j;

	ctl_client_init(&cl, "hotspots");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'r':
			rec = optarg;
			break;
		case 'k':
			if ((o.k = number(optarg, "k", 1, 100)) < 0)
				goto usage;
			break;
		case 'n':
			if ((o.n = number(optarg, "n", 1, 100)) < 0)
				goto usage;
			break;
		case 'x':
			if ((o.threshold_pct = number(optarg, "threshold", 1,
							  100)) < 0)
				goto usage;
			break;
		case 'o':
			if ((o.holdoff = number(optarg, "holdoff", 0, 86400)) < 0)
				goto usage;
			break;
		case 'm':
			if (strcmp(optarg, "black") && strcmp(optarg, "gray")) {
				fprintf(stderr, "mbuddy hotspots: --mode is black "
					"or gray\n");
				goto usage;
			}
			o.mode = optarg;
			break;
		case 'h':
			fputs(hotspots_usage, stdout);
			ctl_client_free(&cl);
			return 0;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			/* fall through */
		default:
			goto usage;
		}
	}
	if (argc - optind > 1 || (rec && optind < argc)) {
		fprintf(stderr, "mbuddy hotspots: one recording at most, and "
			"not with --record\n");
		goto usage;
	}
	if (optind < argc) {
		ctl_client_free(&cl);
		return replay(argv[optind], json, &o);
	}
	if (rec) {
		ret = record(&cl, rec);
		ctl_client_free(&cl);
		return ret;
	}
	j = ctl_request(&cl, "GET", "/v1/hotspots");
	ctl_client_free(&cl);
	if (!j)
		return 1;
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_live(j);
	}
	json_decref(j);
	return 0;
usage:
	fputs(hotspots_usage, stderr);
	ctl_client_free(&cl);
	return 2;
}
