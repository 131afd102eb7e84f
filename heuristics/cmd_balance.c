// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_balance.c - `mbuddy balance`: what mb-controld's balancer decided
 * last (GET /v1/balance): per host its capacity, the sum of its VMs'
 * critical memory amounts (a memory hotspot when over the capacity), and
 * per VM its CMA, target, current balloon, pressure and the decision with
 * its reason.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl_client.h"

static const char balance_usage[] =
"usage: mbuddy balance [--json] [--url URL] [--token TOKEN | --token-file FILE]\n"
"                      [--ca-file FILE]\n"
"\n"
"Show mb-controld's memory balancing (--balance cagma|proportional): each\n"
"VM's critical memory amount (CMA), the size the balancer wants for it,\n"
"its balloon now, its memory pressure and the last decision, with why.\n"
"\n"
"  --json             print controld's JSON answer (GET /v1/balance)\n"
"  --url URL          controld (default $MB_CONTROLD_URL, else\n"
"                     http://127.0.0.1:8080)\n"
"  --token TOKEN      admin token (default $MB_ADMIN_TOKEN)\n"
"  --token-file FILE  read the admin token from FILE's first line\n"
"  --ca-file FILE     CA certificate(s) for an https URL\n";

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_table(json_t *j)
{
	json_t *h, *v;
	size_t i, k;

	if (!strcmp(ctl_str(j, "mode"), "off")) {
		printf("balancing is off (mb-controld --balance "
		       "cagma|proportional)\n");
		return;
	}
	printf("balance %s every %lld s, %s\n", ctl_str(j, "mode"),
	       (long long)json_integer_value(json_object_get(j, "interval_s")),
	       json_is_true(json_object_get(j, "apply")) ? "applied (--apply)" :
	       "dry run: decisions are shown, not applied");
	json_array_foreach(json_object_get(j, "hosts"), i, h) {
		printf("\nHOST %s: capacity %.0f MiB, CMAs %.0f, targets %.0f%s%s\n",
		       ctl_str(h, "name"), num(h, "capacity_mb"),
		       num(h, "cma_sum_mb"), num(h, "target_sum_mb"),
		       json_is_true(json_object_get(h, "hotspot")) ?
		       "  MEMORY HOTSPOT (CMAs over capacity)" : "",
		       json_is_string(json_object_get(h, "error")) ? "  error" :
		       "");
		if (json_is_string(json_object_get(h, "error")))
			printf("  error: %s\n", ctl_str(h, "error"));
		printf("  %-16s %7s %7s %7s %7s %6s %8s  %s\n", "VM", "CMA",
		       "TARGET", "NOW", "MAX", "PSI%", "FAULTS/s", "DECISION");
		json_array_foreach(json_object_get(h, "vms"), k, v) {
			json_t *d = json_object_get(v, "decision");
			double psi = num(v, "psi_some_avg10");
			double faults = num(v, "fault_rate");

			printf("  %-16.16s %7.0f %7.0f %7.0f %7.0f", ctl_str(v, "name"),
			       num(v, "cma_mb"), num(v, "target_mb"),
			       num(v, "current_mb"), num(v, "max_mb"));
			if (isfinite(psi))
				printf(" %6.1f", psi);
			else
				printf(" %6s", "-");
			if (isfinite(faults))
				printf(" %8.1f", faults);
			else
				printf(" %8s", "-");
			printf("  %s%s: %s", ctl_str(d, "action"),
			       json_is_true(json_object_get(d, "emergency")) ?
			       " (pressure)" : "", ctl_str(d, "reason"));
			if (json_is_integer(json_object_get(d, "queued")))
				printf(" [action %lld]", (long long)
				       json_integer_value(json_object_get(d,
							  "queued")));
			if (json_is_string(json_object_get(d, "note")))
				printf(" [%s]", ctl_str(d, "note"));
			if (json_is_string(json_object_get(v, "fixed")))
				printf(" [held: %s]", ctl_str(v, "fixed"));
			putchar('\n');
		}
	}
	if (!json_array_size(json_object_get(j, "hosts")))
		printf("(no balancing round yet)\n");
}

int cmd_balance(int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_client cl;
	bool json = false;
	json_t *j;
	int opt;

	ctl_client_init(&cl, "balance");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(balance_usage, stdout);
			ctl_client_free(&cl);
			return 0;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			/* fall through */
		default:
			fputs(balance_usage, stderr);
			ctl_client_free(&cl);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mbuddy balance: unexpected argument '%s'\n",
			argv[optind]);
		ctl_client_free(&cl);
		return 2;
	}
	j = ctl_request(&cl, "GET", "/v1/balance");
	ctl_client_free(&cl);
	if (!j)
		return 1;
	if (json) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_table(j);
	}
	json_decref(j);
	return 0;
}
