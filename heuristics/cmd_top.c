// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_top.c - `mbuddy top`: mb-controld's live statistics as a table that
 * refreshes itself, like virt-top: each host with its CPU and memory, and
 * under it its VMs with their CPU, memory, balloon, swap and network
 * rates (GET /v1/stats). --once prints one table for scripts, --json
 * controld's answer.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl_client.h"

static const char top_usage[] =
"usage: mbuddy top [--once] [--json] [--delay SECONDS] [--url URL]\n"
"                  [--token TOKEN | --token-file FILE] [--ca-file FILE]\n"
"\n"
"Show mb-controld's live statistics of every host and VM, refreshed every\n"
"--delay seconds (default 5) until interrupted.\n"
"\n"
"  --once             print one table and exit\n"
"  --json             print controld's JSON answer once (GET /v1/stats)\n"
"  --delay SECONDS    between refreshes\n"
"  --url URL          controld (default $MB_CONTROLD_URL, else\n"
"                     http://127.0.0.1:8080)\n"
"  --token TOKEN      admin token (default $MB_ADMIN_TOKEN)\n"
"  --token-file FILE  read the admin token from FILE's first line\n"
"  --ca-file FILE     CA certificate(s) for an https URL\n"
"\n"
"Columns: CPU% is CPU time per second in percent of one core; MEM the\n"
"VM's maximum and BALLOON what its balloon leaves it (MiB); AVAIL the\n"
"guest's MemAvailable (from mb-guestd); SWIN/SWOUT pages swapped per\n"
"second (the guest's counters when mb-guestd reports, else the\n"
"balloon's); RX/TX KiB/s on its interfaces. '-' is not known.\n";

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* @v with @prec decimals in @width, or "-". */
static void cell(double v, int width, int prec)
{
	if (isfinite(v))
		printf(" %*.*f", width, prec, v);
	else
		printf(" %*s", width, "-");
}

static double first(double a, double b)
{
	return isfinite(a) ? a : b;
}

static void print_vm(json_t *v)
{
	json_t *g = json_object_get(v, "guest");

	printf("  %-16.16s", ctl_str(v, "name"));
	cell(num(v, "cpu_pct"), 6, 1);
	cell(num(v, "balloon_max_mb"), 7, 0);
	cell(num(v, "balloon_mb"), 7, 0);
	cell(num(g, "mem_available_mb"), 7, 0);
	cell(first(num(g, "swap_in"), num(v, "swap_in")), 7, 1);
	cell(first(num(g, "swap_out"), num(v, "swap_out")), 7, 1);
	cell(num(v, "rx_bps") / 1024, 8, 1);
	cell(num(v, "tx_bps") / 1024, 8, 1);
	putchar('\n');
}

static void print_table(json_t *j)
{
	json_t *hosts = json_object_get(j, "hosts"), *vms = json_object_get(j,
								  "vms");
	json_t *h, *v;
	size_t i, k, shown = 0;

	printf("%-18s %6s %7s %7s %7s %7s %7s %8s %8s\n", "HOST / VM", "CPU%",
	       "MEM", "BALLOON", "AVAIL", "SWIN", "SWOUT", "RX", "TX");
	json_array_foreach(hosts, i, h) {
		printf("%-18.18s", ctl_str(h, "name"));
		cell(num(h, "cpu_pct"), 6, 1);
		cell(num(h, "mem_total_mb"), 7, 0);
		printf(" %7s", "");
		cell(num(h, "mem_available_mb"), 7, 0);
		printf(" %7s %7s", "", "");
		cell(num(h, "rx_bps") / 1024, 8, 1);
		cell(num(h, "tx_bps") / 1024, 8, 1);
		printf("   %.0f cores, %.0f vms\n", num(h, "cores"),
		       num(h, "vms"));
		json_array_foreach(vms, k, v)
			if (!strcmp(ctl_str(v, "host"), ctl_str(h, "name"))) {
				print_vm(v);
				shown++;
			}
	}
	if (shown < json_array_size(vms)) {
		printf("%-18s\n", "(no host)");
		json_array_foreach(vms, k, v) {
			const char *host = ctl_str(v, "host");
			bool known = false;

			json_array_foreach(hosts, i, h)
				if (!strcmp(host, ctl_str(h, "name")))
					known = true;
			if (!known)
				print_vm(v);
		}
	}
	if (!json_array_size(hosts) && !json_array_size(vms))
		printf("(no statistics yet)\n");
}

int cmd_top(int argc, char **argv)
{
	static const struct option options[] = {
		CTL_CLIENT_OPTIONS,
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool once = false, json = false, tty = isatty(STDOUT_FILENO);
	struct ctl_client cl;
	long delay = 5;
	char *end;
	json_t *j;
	int opt, ret = 0;

	ctl_client_init(&cl, "top");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case '1':
			once = true;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			delay = strtol(optarg, &end, 10);
			if (*end || end == optarg || delay < 1) {
				fprintf(stderr, "mbuddy top: --delay '%s' is "
					"not a number of seconds\n", optarg);
				ctl_client_free(&cl);
				return 2;
			}
			break;
		case 'h':
			fputs(top_usage, stdout);
			ctl_client_free(&cl);
			return 0;
		case CTL_CLIENT_OPTION_CASES:
			if (!ctl_client_option(&cl, opt, optarg))
				break;
			/* fall through */
		default:
			fputs(top_usage, stderr);
			ctl_client_free(&cl);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mbuddy top: unexpected argument '%s'\n",
			argv[optind]);
		ctl_client_free(&cl);
		return 2;
	}
	for (;;) {
		j = ctl_request(&cl, "GET", "/v1/stats");
		if (!j) {
			ret = 1;
			break;
		}
		if (json) {
			json_dumpf(j, stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			if (!once && tty)
				fputs("\033[H\033[2J", stdout);
			print_table(j);
		}
		json_decref(j);
		fflush(stdout);
		if (once || json)
			break;
		sleep((unsigned int)delay);
		if (!tty)
			putchar('\n');
	}
	ctl_client_free(&cl);
	return ret;
}
