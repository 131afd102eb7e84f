// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_plan.c - `mbuddy plan`: ask mb-controld for a colocation plan
 * (POST /v1/plan makes one from the latest traces and the libvirt
 * inventory; --latest shows the stored one) and, with --apply, queue its
 * moves as live migrations (POST /v1/plan/apply?plan=ID). The table says,
 * per host, memory in use before and after, then each move with its
 * expected saving and reason, the moves buddies proposed that the limits
 * held back, and the VMs left out of planning.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl_client.h"
#include "textsafe.h"

static const char plan_usage[] =
"usage: mbuddy plan [--latest] [--apply] [--json] [--url URL]\n"
"                   [--token TOKEN | --token-file FILE] [--ca-file FILE]\n"
"\n"
"Make a colocation plan now (mb-controld's latest traces and libvirt\n"
"inventory, buddies consolidation, hotspots first) and print it. Nothing\n"
"moves unless --apply is given.\n"
"\n"
"  --latest           show the last stored plan instead of making one\n"
"  --apply            queue the plan's moves as live migrations\n"
"                     (follow them with `mbuddy migrations`)\n"
"  --json             print controld's JSON answer\n"
"  --url URL          controld (default $MB_CONTROLD_URL, else\n"
"                     http://127.0.0.1:8080)\n"
"  --token TOKEN      admin token (default $MB_ADMIN_TOKEN)\n"
"  --token-file FILE  read the admin token from FILE's first line\n"
"  --ca-file FILE     CA certificate(s) for an https URL\n";

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_plan(json_t *p)
{
	json_t *h, *m, *v;
	size_t i;

	printf("plan %lld (%s, %s): %zu move%s, %.0f MiB saved\n",
	       (long long)json_integer_value(json_object_get(p, "id")),
	       ctl_str(p, "algorithm"),
	       json_is_true(json_object_get(p, "apply")) ?
	       "controld applies plans" : "dry run",
	       json_array_size(json_object_get(p, "moves")),
	       json_array_size(json_object_get(p, "moves")) == 1 ? "" : "s",
	       num(p, "saved_mb"));
	printf("\n%-16s %-5s %10s %10s %10s  %s\n", "HOST", "UP", "CAPACITY",
	       "NOW", "AFTER", "VMS NOW");
	json_array_foreach(json_object_get(p, "hosts"), i, h) {
		size_t k;
		json_t *n;

		printf("%-16.16s %-5s %10.0f ", ctl_str(h, "name"),
		       json_is_true(json_object_get(h, "up")) ? "yes" : "DOWN",
		       num(h, "capacity_mb"));
		if (json_is_null(json_object_get(h, "before_mb")))
			printf("%10s %10s ", "-", "-");
		else
			printf("%10.0f %10.0f ", num(h, "before_mb"),
			       num(h, "after_mb"));
		json_array_foreach(json_object_get(h, "vms"), k, n)
			printf(" %s", mb_display(json_string_value(n)));
		printf("\n");
	}
	printf("(MiB; NOW and AFTER count identical pages once per host)\n");
	if (json_array_size(json_object_get(p, "moves")))
		printf("\nMOVES\n");
	json_array_foreach(json_object_get(p, "moves"), i, m)
		printf("  %zu. %s: %s -> %s, saves %.0f MiB (%s)\n     %s\n",
		       i + 1, ctl_str(m, "name"), ctl_str(m, "from"), ctl_str(m, "to"),
		       num(m, "gain_mb"), ctl_str(m, "kind"), ctl_str(m, "reason"));
	if (json_array_size(json_object_get(p, "skipped")))
		printf("\nNOT MOVED\n");
	json_array_foreach(json_object_get(p, "skipped"), i, m)
		printf("  %s: %s -> %s would save %.1f MiB: %s\n",
		       ctl_str(m, "name"), ctl_str(m, "from"), ctl_str(m, "to"),
		       num(m, "gain_mb"), ctl_str(m, "why"));
	if (json_array_size(json_object_get(p, "unplanned")))
		printf("\nLEFT OUT\n");
	json_array_foreach(json_object_get(p, "unplanned"), i, v)
		printf("  %s (%s) on %s: %s\n", ctl_str(v, "name"), ctl_str(v, "uuid"),
		       ctl_str(v, "host"), ctl_str(v, "why"));
}

int cmd_plan(int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "latest", no_argument, NULL, 'l' },
		{ "apply", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, latest = false, apply = false;
	struct ctl_client cl;
	json_t *p, *q = NULL, *m;
	char path[64];
	int opt, ret = 1;
	size_t i;

	ctl_client_init(&cl, "plan");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'l':
			latest = true;
			break;
		case 'a':
			apply = true;
			break;
		case 'h':
			fputs(plan_usage, stdout);
			ctl_client_free(&cl);
			return 0;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			/* fall through */
		default:
			fputs(plan_usage, stderr);
			ctl_client_free(&cl);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mbuddy plan: unexpected argument '%s'\n",
			argv[optind]);
		ctl_client_free(&cl);
		return 2;
	}
	p = ctl_request(&cl, latest ? "GET" : "POST", "/v1/plan");
	if (!p)
		goto out;
	if (apply) {
		snprintf(path, sizeof(path), "/v1/plan/apply?plan=%lld",
			 (long long)json_integer_value(json_object_get(p, "id")));
		q = ctl_request(&cl, "POST", path);
		if (!q)
			goto out;
	}
	if (json) {
		if (q)
			json_object_set(p, "applied", json_object_get(q,
					"migrations"));
		json_dumpf(p, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_plan(p);
		if (q) {
			printf("\nQUEUED %zu migration%s\n",
			       json_array_size(json_object_get(q, "migrations")),
			       json_array_size(json_object_get(q,
				       "migrations")) == 1 ? "" : "s");
			json_array_foreach(json_object_get(q, "migrations"),
					   i, m)
				printf("  migration %lld: %s %s -> %s\n",
				       (long long)json_integer_value(
					       json_object_get(m, "id")),
				       ctl_str(m, "name"), ctl_str(m, "from"),
				       ctl_str(m, "to"));
		}
	}
	ret = 0;
out:
	json_decref(p);
	json_decref(q);
	ctl_client_free(&cl);
	return ret;
}
