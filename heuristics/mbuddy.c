// SPDX-License-Identifier: GPL-2.0
/*
 * mbuddy - the Memory Buddies command line: one binary, many subcommands
 * (git-style). This file only dispatches; each subcommand lives in its own
 * cmd_*.c and documents its options in its --help and in docs/mbuddy.1.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "json_alloc.h"

static const struct subcommand subcommands[] = {
	{ "trace", cmd_trace, "inspect, convert, compare and make traces" },
	{ "status", cmd_status, "VMs, versions and ages known to mb-controld" },
	{ "sharing", cmd_sharing, "pages VMs share: pairs and the whole group" },
	{ "best-match", cmd_best_match, "place the VMs of a scenario on hosts" },
	{ "pack", cmd_pack, "cluster experiment: VMs packed, first-fit vs buddies" },
	{ "plan", cmd_plan, "mb-controld's colocation plan; --apply migrates" },
	{ "actions", cmd_actions, "mb-controld's actions (migrations, resizes) and their state" },
	{ "migrations", cmd_migrations, "mb-controld's live migrations and their state" },
	{ "resize", cmd_resize, "ask mb-controld to resize a VM's memory (balloon)" },
	{ "migrate", cmd_migrate, "ask mb-controld to live-migrate a VM to a host" },
	{ "top", cmd_top, "live statistics of mb-controld's hosts and VMs" },
	{ "balance", cmd_balance, "mb-controld's memory balancing: CMA, target, decision per VM" },
	{ "hotspots", cmd_hotspots, "Sandpiper's hotspots: live, recorded, or replayed offline" },
	{ "balance-sim", cmd_balance_sim, "simulate memory balancing between VMs (LRU, policies)" },
	{ "completion", cmd_completion, "print a bash completion script made from this table" },
};

const struct subcommand *mbuddy_subcommands(size_t *n)
{
	*n = sizeof(subcommands) / sizeof(subcommands[0]);
	return subcommands;
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: mbuddy <command> [options] [args]\n\n"
		"Memory Buddies analysis tools.\n\ncommands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-12s %s\n", subcommands[i].name,
			subcommands[i].summary);
	fprintf(out, "\n'mbuddy <command> --help' describes a command; "
		"man mbuddy has them all.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	mb_json_alloc_init();
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mbuddy: '%s' is not a command (see mbuddy --help)\n",
		argv[1]);
	return 2;
}
