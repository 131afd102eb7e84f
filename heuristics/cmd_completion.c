// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_completion.c - `mbuddy completion bash`: a bash completion script
 * for mbuddy, made from the same command table as `mbuddy --help`
 * (mbuddy.c's subcommands[]) and from each command's own --help.
 *
 * Each command is run with --help in a child process (whatever it does
 * there stays there) and its text read for what a user may type:
 *   - every long option of its usage lines ("[--kind migrate|resize]")
 *     and of the lines that begin with one ("  --json   ..."), not those
 *     named in prose (often another command's);
 *   - whether the option takes a value: an upper-case word after it
 *     ("--delay SECONDS"), or a list of choices ("migrate|resize"), which
 *     completion then offers; a value that names a file ("FILE", "TRACE",
 *     "OUT.mbt", ...) completes as a file name;
 *   - whether the command's operands are files (such a word in its usage
 *     lines that follows no option);
 *   - a "commands:" section (mbuddy trace) lists sub-commands, one a line,
 *     each with the options and operands of its own line.
 * So a new command or option documented in --help is completed without
 * touching this file; tests/cli/completion.sh checks that every option
 * completed is one the command accepts and that every option of the
 * commands' option tables is completed.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define MAX_OPTS 64
#define MAX_SPECS 32

static const char completion_usage[] =
"usage: mbuddy completion bash\n"
"\n"
"Print a bash completion script for mbuddy: its commands, their\n"
"sub-commands and options, choices of option values, and file names where\n"
"a command takes files. Made from mbuddy's command table and each\n"
"command's --help, so it always matches this binary. Install it with\n"
"  mbuddy completion bash > /usr/share/bash-completion/completions/mbuddy\n"
"or load it into the running shell with\n"
"  source <(mbuddy completion bash)\n";

struct opt {
	char name[48];		/* "--json" */
	bool valued;		/* takes a value */
	bool file;		/* ... that is a file name */
	char choices[128];	/* "migrate resize", or "" */
};

struct spec {
	char path[64];		/* "status", "trace info" */
	struct opt opts[MAX_OPTS];
	size_t nopts;
	bool file_operands;
	char subcommands[256];	/* "info dump ..." for "trace" */
};

/* The text @run prints for --help, run in a child; NULL on failure. */
static char *help_text(const struct subcommand *s)
{
	char *argv[] = { (char *)s->name, "--help", NULL };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fds[2], status;
	ssize_t got;
	pid_t pid;

	if (!buf || pipe(fds)) {
		free(buf);
		return NULL;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		free(buf);
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (!pid) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(EXIT_FAIL);
		if (!freopen("/dev/null", "w", stderr))
			_exit(EXIT_FAIL);
		fflush(stdout);
		status = s->run(2, argv);
		fflush(stdout);
		_exit(status ? EXIT_FAIL : 0);
	}
	close(fds[1]);
	while ((got = read(fds[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)got;
		if (cap - len < 2) {
			char *grown = realloc(buf, cap * 2);

			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
	}
	close(fds[0]);
	buf[len] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || !len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A word with its brackets, commas and full stops taken off, in @out. */
static void bare(const char *w, size_t len, char *out, size_t size)
{
	while (len && strchr("[(\"'`", *w)) {
		w++;
		len--;
	}
	while (len && strchr("])\"'`,.;:", w[len - 1]))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(out, w, len);
	out[len] = '\0';
}

/* An upper-case metavariable: SECONDS, OUT.mbt, MIN:MAX, TRACE... */
static bool is_metavar(const char *w)
{
	if (!isupper((unsigned char)w[0]))
		return false;
	for (; *w && *w != '.'; w++)
		if (!isupper((unsigned char)*w) && !isdigit((unsigned char)*w) &&
		    !strchr("_:-", *w))
			return false;
	return true;
}

/* A metavariable that stands for a file name. */
static bool is_file_metavar(const char *w)
{
	static const char *const files[] = {
		"FILE", "TRACE", "SCENARIO", "IMAGE", "IN", "OUT", "OLD",
		"NEW", "RECORDING", "DIR", "PATH",
	};
	size_t i, len = strcspn(w, ".");

	if (!is_metavar(w))
		return false;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strlen(files[i]) == len && !strncmp(w, files[i], len))
			return true;
	return false;
}

/* "migrate|resize" -> "migrate resize"; false unless a list of words. */
static bool choices_of(const char *w, char *out, size_t size)
{
	const char *p;

	if (!strchr(w, '|') || w[0] == '|')
		return false;
	for (p = w; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '-' && *p != '|')
			return false;
	snprintf(out, size, "%s", w);
	for (char *q = out; *q; q++)
		if (*q == '|')
			*q = ' ';
	return true;
}

static struct opt *find_opt(struct spec *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nopts; i++)
		if (!strcmp(s->opts[i].name, name))
			return &s->opts[i];
	if (s->nopts == MAX_OPTS)
		return NULL;
	memset(&s->opts[s->nopts], 0, sizeof(s->opts[0]));
	snprintf(s->opts[s->nopts].name, sizeof(s->opts[0].name), "%s", name);
	return &s->opts[s->nopts++];
}

/*
 * Read @text (its first @len bytes) into @s: options, their values, and,
 * when @usage (the text is usage lines), whether operands are files.
 */
static void parse(struct spec *s, const char *text, size_t len, bool usage)
{
	const char *p = text, *end = text + len;
	char word[128], prev[128] = "";
	struct opt *last = NULL;
	bool closed;

	while (p < end) {
		size_t n;

		while (p < end && isspace((unsigned char)*p))
			p++;
		n = 0;
		while (p + n < end && !isspace((unsigned char)p[n]))
			n++;
		if (!n)
			break;
		bare(p, n, word, sizeof(word));
		closed = strchr("],", p[n - 1]) != NULL;
		p += n;
		if (!strncmp(word, "--", 2) && islower((unsigned char)word[2])) {
			char name[48];
			size_t k = 2;

			while (word[k] && (islower((unsigned char)word[k]) ||
					   isdigit((unsigned char)word[k]) ||
					   word[k] == '-'))
				k++;
			snprintf(name, sizeof(name), "%.*s", (int)k, word);
			last = closed ? NULL : find_opt(s, name);
			if (closed)
				find_opt(s, name);
			snprintf(prev, sizeof(prev), "%s", word);
			continue;
		}
		if (last && !strncmp(prev, "--", 2)) {
			char list[128];

			if (choices_of(word, list, sizeof(list))) {
				last->valued = true;
				snprintf(last->choices, sizeof(last->choices),
					 "%s", list);
			} else if (is_metavar(word)) {
				last->valued = true;
				last->file |= is_file_metavar(word);
			}
		} else if (usage && is_file_metavar(word)) {
			s->file_operands = true;
		}
		last = NULL;
		snprintf(prev, sizeof(prev), "%s", word);
	}
}

/*
 * The lines of @text that document options: those whose first word is
 * one ("  --delay SECONDS  ...", "  -h, --help ...") or whose term is
 * followed by them ("  connection   --url URL, ..."), into @out; options
 * named in prose ("see mbuddy actions --kind") are another command's.
 */
static void option_lines(const char *text, char *out, size_t size)
{
	const char *line = text;
	size_t off = 0;

	out[0] = '\0';
	while (*line) {
		const char *eol = strchr(line, '\n'), *w = line;
		size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);

		while (*w == ' ')
			w++;
		if (w > line && *w != '-') {
			/* "  connection     --url URL, ...": a term, then options */
			const char *gap = w + strcspn(w, " \n");

			if (!strncmp(gap, "  ", 2))
				w = gap + strspn(gap, " ");
		}
		if (w > line && *w == '-' && off + len < size) {
			memcpy(out + off, line, len);
			off += len;
			out[off] = '\0';
		}
		line += len;
	}
}

/* The usage lines: the text up to its first empty line. */
static size_t usage_len(const char *text)
{
	const char *blank = strstr(text, "\n\n");

	return blank ? (size_t)(blank - text) : strlen(text);
}

/*
 * A "commands:" section, one sub-command a line ("  info [--json]
 * TRACE   what it does"): a spec for each, its options and operands from
 * its line up to the gap before the description. Returns how many.
 */
static size_t parse_subcommands(struct spec *parent, const char *text,
				struct spec *out, size_t room)
{
	const char *sec = strstr(text, "\ncommands:\n"), *line;
	size_t n = 0, off = 0;
	char name[32];

	if (!sec)
		return 0;
	snprintf(name, sizeof(name), "%s", parent->path);
	for (line = sec + 11; *line && *line != '\n' && n < room;) {
		const char *eol = strchr(line, '\n'), *gap, *w;
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (len > 2 && line[0] == ' ' && line[1] == ' ' &&
		    islower((unsigned char)line[2])) {
			struct spec *s = &out[n++];
			size_t wl;

			memset(s, 0, sizeof(*s));
			w = line + 2;
			wl = strcspn(w, " \n");
			if (wl > 24)
				wl = 24;	/* no sub-command is longer */
			snprintf(s->path, sizeof(s->path), "%s %.*s", name,
				 (int)wl, w);
			off += snprintf(parent->subcommands + off,
					sizeof(parent->subcommands) - off,
					"%s%.*s", off ? " " : "", (int)wl, w);
			gap = strstr(w + wl, "   ");
			if (!gap || gap > line + len)
				gap = line + len;
			parse(s, w + wl, (size_t)(gap - (w + wl)), true);
			find_opt(s, "--help");
		}
		line = eol ? eol + 1 : line + len;
	}
	return n;
}

static void print_spec(const struct spec *s)
{
	size_t i;

	printf("\t\"%s\")\n\t\topts=\"", s->path);
	for (i = 0; i < s->nopts; i++)
		printf("%s%s", i ? " " : "", s->opts[i].name);
	printf("\"\n\t\tvalued=\"");
	for (i = 0; i < s->nopts; i++)
		if (s->opts[i].valued)
			printf(" %s", s->opts[i].name);
	printf(" \"\n\t\tfiles=\"");
	for (i = 0; i < s->nopts; i++)
		if (s->opts[i].file)
			printf(" %s", s->opts[i].name);
	printf(" \"\n");
	for (i = 0; i < s->nopts; i++)
		if (s->opts[i].choices[0])
			printf("\t\tchoices[%s]=\"%s\"\n", s->opts[i].name,
			       s->opts[i].choices);
	if (s->subcommands[0])
		printf("\t\tsubcommands=\"%s\"\n", s->subcommands);
	printf("\t\toperands=%s\n\t\t;;\n", s->file_operands ? "files" : "none");
}

static const char script_head[] =
"# bash completion for mbuddy; made by `mbuddy completion bash` from\n"
"# mbuddy's command table and each command's --help: do not edit, run it\n"
"# again.\n"
"\n"
"# _mbuddy_spec COMMAND: sets opts, valued, files, choices, subcommands\n"
"# and operands for COMMAND (\"status\", \"trace info\").\n"
"_mbuddy_spec()\n"
"{\n"
"\topts= valued= files= subcommands= operands=none\n"
"\tchoices=()\n"
"\tcase $1 in\n";

static const char script_tail[] =
"\t*) return 1 ;;\n"
"\tesac\n"
"}\n"
"\n"
"_mbuddy()\n"
"{\n"
"\tlocal cur prev cmd i opts valued files subcommands operands\n"
"\tlocal -A choices\n"
"\tCOMPREPLY=()\n"
"\tcur=${COMP_WORDS[COMP_CWORD]}\n"
"\tprev=${COMP_WORDS[COMP_CWORD - 1]}\n"
"\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
"\t\tCOMPREPLY=($(compgen -W \"$_mbuddy_commands --help\" -- \"$cur\"))\n"
"\t\treturn\n"
"\tfi\n"
"\tcmd=${COMP_WORDS[1]}\n"
"\t_mbuddy_spec \"$cmd\" || return\n"
"\tif [ -n \"$subcommands\" ]; then\n"
"\t\tif [ \"$COMP_CWORD\" -eq 2 ]; then\n"
"\t\t\tCOMPREPLY=($(compgen -W \"$subcommands --help\" -- \"$cur\"))\n"
"\t\t\treturn\n"
"\t\tfi\n"
"\t\t_mbuddy_spec \"$cmd ${COMP_WORDS[2]}\" || return\n"
"\tfi\n"
"\tcase \" $valued \" in\n"
"\t*\" $prev \"*)\n"
"\t\tif [ -n \"${choices[$prev]:-}\" ]; then\n"
"\t\t\tCOMPREPLY=($(compgen -W \"${choices[$prev]}\" -- \"$cur\"))\n"
"\t\telif [[ \" $files \" == *\" $prev \"* ]]; then\n"
"\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
"\t\t\tcompopt -o filenames 2>/dev/null\n"
"\t\tfi\n"
"\t\treturn\n"
"\t\t;;\n"
"\tesac\n"
"\tif [[ $cur == -* ]]; then\n"
"\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
"\telif [ \"$operands\" = files ]; then\n"
"\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
"\t\tcompopt -o filenames 2>/dev/null\n"
"\tfi\n"
"}\n"
"complete -F _mbuddy mbuddy\n";

int cmd_completion(int argc, char **argv)
{
	static struct spec specs[MAX_SPECS];
	const struct subcommand *table;
	size_t n, i, nspecs = 0;

	if (argc == 2 && (!strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "-h"))) {
		fputs(completion_usage, stdout);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "bash")) {
		fputs(completion_usage, stderr);
		return EXIT_USAGE;
	}
	table = mbuddy_subcommands(&n);
	for (i = 0; i < n && nspecs < MAX_SPECS; i++) {
		struct spec *s = &specs[nspecs++];
		char *text;

		memset(s, 0, sizeof(*s));
		snprintf(s->path, sizeof(s->path), "%s", table[i].name);
		if (table[i].run == cmd_completion) {
			snprintf(s->subcommands, sizeof(s->subcommands), "bash");
			find_opt(s, "--help");
			continue;
		}
		text = help_text(&table[i]);
		if (!text) {
			fprintf(stderr, "mbuddy completion: 'mbuddy %s --help' "
				"printed nothing or failed\n", table[i].name);
			return EXIT_FAIL;
		}
		nspecs += parse_subcommands(s, text, specs + nspecs,
					    MAX_SPECS - nspecs);
		if (!s->subcommands[0]) {
			static char lines[16384];

			parse(s, text, usage_len(text), true);
			option_lines(text, lines, sizeof(lines));
			parse(s, lines, strlen(lines), false);
		}
		find_opt(s, "--help");
		free(text);
	}
	printf("%s", script_head);
	for (i = 0; i < nspecs; i++)
		print_spec(&specs[i]);
	printf("%s\n_mbuddy_commands=\"", script_tail);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", table[i].name);
	printf("\"\n");
	return fflush(stdout) ? EXIT_FAIL : 0;
}
