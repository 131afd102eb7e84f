// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_best_match.c - `mbuddy best-match`: place the VMs of a scenario file
 * on its hosts with one of the placement algorithms, offline, and show
 * what the placement would use and save against the current one.
 *
 * The scenario format is in scenario.h and docs/placement.md; the
 * algorithms in placement.h.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "placement.h"
#include "scenario.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char best_match_usage[] =
"usage: mbuddy best-match [options] SCENARIO.json\n"
"\n"
"Place the scenario's VMs on its hosts so that VMs sharing memory run\n"
"together, and show per host the memory in use after sharing now (before)\n"
"and with the proposed placement (after), the totals, and the moves.\n"
"\n"
"options:\n"
"  --algorithm ALGO   first-fit, classic, buddies (default) or optimal\n"
"                     (exhaustive, at most 12 VMs)\n"
"  --include-free     count free pages in the traces too\n"
"  --json             machine-readable output\n"
"  -h, --help         this text\n"
"\n"
"Scenario: {\"hosts\":[{\"name\":\"h0\",\"memory_mb\":3072},...],\n"
"           \"vms\":[{\"name\":\"vm0\",\"trace\":\"a.mbt\",\"memory_mb\":1024,\n"
"                   \"host\":\"h0\"},...]}\n"
"Trace paths are relative to the scenario file; \"host\" (where the VM runs\n"
"now) and a VM's \"memory_mb\" (default: its trace's size) are optional.\n";

static const char *host_name(const struct mb_scenario *sc, int h)
{
	return h < 0 ? NULL : sc->hosts[h].name;
}

static void print_json(const struct mb_scenario *sc, int algo,
		       const int *assign, const struct mb_place_eval *ev)
{
	json_t *root = json_object(), *placement = json_object();
	json_t *hosts = json_object(), *moves = json_array();
	json_t *unplaced = json_array();
	size_t v, h;

	json_object_set_new(root, "algorithm",
			    json_string(mb_place_algo_name(algo)));
	for (v = 0; v < sc->nvms; v++) {
		const char *to = host_name(sc, assign[v]);
		const char *from = host_name(sc, sc->vms[v].host);

		json_object_set_new(placement, sc->vms[v].name,
				    to ? json_string(to) : json_null());
		if (!to)
			json_array_append_new(unplaced,
					      json_string(sc->vms[v].name));
		if (assign[v] != sc->vms[v].host) {
			json_t *m = json_object();

			json_object_set_new(m, "vm", json_string(sc->vms[v].name));
			json_object_set_new(m, "from", from ? json_string(from) :
							      json_null());
			json_object_set_new(m, "to", to ? json_string(to) :
							  json_null());
			json_array_append_new(moves, m);
		}
	}
	for (h = 0; h < sc->nhosts; h++) {
		json_t *o = json_object();

		json_object_set_new(o, "memory_mb",
				    json_real(sc->hosts[h].memory_mb));
		json_object_set_new(o, "before_mb", json_real(ev->before_mb[h]));
		json_object_set_new(o, "after_mb", json_real(ev->after_mb[h]));
		json_object_set_new(hosts, sc->hosts[h].name, o);
	}
	json_object_set_new(root, "placement", placement);
	json_object_set_new(root, "hosts", hosts);
	json_object_set_new(root, "before_mb", json_real(ev->before_total_mb));
	json_object_set_new(root, "after_mb", json_real(ev->after_total_mb));
	json_object_set_new(root, "saved_mb", json_real(ev->saved_mb));
	json_object_set_new(root, "moves", moves);
	json_object_set_new(root, "unplaced", unplaced);
	json_object_set_new(root, "hosts_used",
			    json_integer((json_int_t)ev->hosts_used));
	if (sc->nvms && sc->sets[0].width == 4) {
		uint64_t total = 0;

		for (v = 0; v < sc->nvms; v++)
			total += sc->sets[v].distinct;
		json_object_set_new(root, "false_matches",
				    json_real(mb_false_matches_within(total, 4)));
	}
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	putchar('\n');
	json_decref(root);
}

static void print_human(const char *path, const struct mb_scenario *sc,
			int algo, const int *assign,
			const struct mb_place_eval *ev)
{
	size_t v, h;

	printf("%s: %zu hosts, %zu VMs, algorithm %s\n\n", path, sc->nhosts,
	       sc->nvms, mb_place_algo_name(algo));
	printf("%-20s %10s %10s %-12s %-12s\n", "vm", "memory_mb", "pages",
	       "now", "proposed");
	for (v = 0; v < sc->nvms; v++) {
		const char *to = host_name(sc, assign[v]);
		const char *from = host_name(sc, sc->vms[v].host);

		printf("%-20.20s %10.0f %10llu %-12.12s %-12.12s%s\n",
		       sc->vms[v].name, sc->vms[v].memory_mb,
		       (unsigned long long)sc->sets[v].pages,
		       from ? from : "-", to ? to : "(unplaced)",
		       assign[v] != sc->vms[v].host ? "  *" : "");
	}
	printf("\n%-20s %10s %10s %10s\n", "host", "memory_mb", "before_mb",
	       "after_mb");
	for (h = 0; h < sc->nhosts; h++)
		printf("%-20.20s %10.0f %10.1f %10.1f\n", sc->hosts[h].name,
		       sc->hosts[h].memory_mb, ev->before_mb[h],
		       ev->after_mb[h]);
	printf("\ntotal: before %.1f MiB, after %.1f MiB, saved %.1f MiB; "
	       "%zu of %zu hosts used; %zu moves (*); %zu unplaced\n",
	       ev->before_total_mb, ev->after_total_mb, ev->saved_mb,
	       ev->hosts_used, sc->nhosts, ev->moves, ev->unplaced);
	if (sc->nvms && sc->sets[0].width == 4) {
		uint64_t total = 0;

		for (v = 0; v < sc->nvms; v++)
			total += sc->sets[v].distinct;
		printf("32-bit digests: at most %.3f false matches expected "
		       "among all %llu distinct pages (birthday bound)\n",
		       mb_false_matches_within(total, 4),
		       (unsigned long long)total);
	}
}

int cmd_best_match(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "algorithm", required_argument, NULL, 'a' },
		{ "include-free", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int algo = MB_PLACE_BUDDIES, c, rc = EXIT_FAIL, *assign = NULL;
	bool json = false, include_free = false;
	struct mb_place_eval ev = { 0 };
	const struct mb_profile *prof;
	struct mb_scenario sc;
	struct mb_err err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			algo = mb_place_algo_parse(optarg);
			if (algo < 0) {
				fprintf(stderr, "mbuddy best-match: unknown "
					"algorithm '%s' (first-fit, classic, "
					"buddies, optimal)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			include_free = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(best_match_usage, stdout);
			return 0;
		default:
			fputs(best_match_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "mbuddy best-match: need exactly one scenario "
			"file\n%s", best_match_usage);
		return EXIT_USAGE;
	}
	mb_profile_reuse_memory();
	if (mb_scenario_load_profiled(argv[optind], include_free, &sc, &err)) {
		fprintf(stderr, "mbuddy best-match: %s\n", err.msg);
		return EXIT_FAIL;
	}
	assign = calloc(sc.nvms + 1, sizeof(*assign));
	if (!assign) {
		fprintf(stderr, "mbuddy best-match: out of memory\n");
		goto out;
	}
	prof = sc.profile.n ? &sc.profile : NULL;
	if (mb_place_with(&sc.problem, prof, algo, assign, &err) ||
	    mb_place_evaluate_with(&sc.problem, prof, assign, &ev, &err)) {
		fprintf(stderr, "mbuddy best-match: %s: %s\n", argv[optind],
			err.msg);
		goto out;
	}
	if (json)
		print_json(&sc, algo, assign, &ev);
	else
		print_human(argv[optind], &sc, algo, assign, &ev);
	rc = 0;
out:
	mb_place_eval_free(&ev);
	free(assign);
	mb_scenario_free(&sc);
	return rc;
}
