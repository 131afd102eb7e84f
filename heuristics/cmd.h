/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmd.h - the subcommands of mbuddy. Each takes the arguments after its
 * own name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 1 the operation failed (bad input, I/O), 2 usage error.
 */
#ifndef MB_CMD_H
#define MB_CMD_H

#include <stddef.h>

int cmd_trace(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_sharing(int argc, char **argv);
int cmd_best_match(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_actions(int argc, char **argv);
int cmd_migrations(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_balance(int argc, char **argv);
int cmd_hotspots(int argc, char **argv);
int cmd_balance_sim(int argc, char **argv);
int cmd_completion(int argc, char **argv);

/* One row of mbuddy's command table (mbuddy.c). */
struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* The table `mbuddy --help` lists, @n rows (for cmd_completion.c). */
const struct subcommand *mbuddy_subcommands(size_t *n);

#endif /* MB_CMD_H */
