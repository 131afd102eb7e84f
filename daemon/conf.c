// SPDX-License-Identifier: GPL-2.0
/*
 * conf.c - configuration files parsed against a getopt_long option table
 * (see conf.h). The parser works line by line on a buffer, so it needs no
 * allocation beyond the file itself and can be fuzzed directly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

#define CONF_FILE_LIMIT (1 << 20)
#define CONF_VALUE_LEN 4096

static const struct option *find_option(const struct option *options,
					const char *name, size_t len)
{
	for (; options->name; options++)
		if (strlen(options->name) == len &&
		    !strncmp(options->name, name, len))
			return options;
	return NULL;
}

static int conf_line(const char *name, unsigned long lineno, const char *s,
		     size_t len, const struct option *options,
		     conf_apply_fn apply, void *ctx, struct mb_err *err)
{
	char value[CONF_VALUE_LEN];
	const struct option *opt;
	size_t klen, vstart;

	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	if (!len || *s == '#')
		return 0;
	for (klen = 0; klen < len && !isspace((unsigned char)s[klen]) &&
	     s[klen] != '='; klen++)
		;
	vstart = klen;
	while (vstart < len && isspace((unsigned char)s[vstart]))
		vstart++;
	if (vstart < len && s[vstart] == '=') {
		vstart++;
		while (vstart < len && isspace((unsigned char)s[vstart]))
			vstart++;
	}
	opt = find_option(options, s, klen);
	if (!opt || !strncmp(s, "config", klen))
		return mb_errf(err, "%s:%lu: unknown option '%.*s'", name,
			       lineno, (int)(klen > 64 ? 64 : klen), s);
	if (opt->has_arg == no_argument) {
		if (vstart != len)
			return mb_errf(err, "%s:%lu: option '%s' takes no value",
				       name, lineno, opt->name);
		if (apply(ctx, opt->val, NULL, err))
			return mb_err_prefix(err, "%s:%lu", name, lineno);
		return 0;
	}
	if (vstart == len && opt->has_arg == required_argument)
		return mb_errf(err, "%s:%lu: option '%s' needs a value", name,
			       lineno, opt->name);
	if (len - vstart >= sizeof(value))
		return mb_errf(err, "%s:%lu: value of '%s' is too long", name,
			       lineno, opt->name);
	memcpy(value, s + vstart, len - vstart);
	value[len - vstart] = '\0';
	if (memchr(value, '\0', len - vstart))
		return mb_errf(err, "%s:%lu: NUL byte in value of '%s'", name,
			       lineno, opt->name);
	if (apply(ctx, opt->val, vstart == len ? NULL : value, err))
		return mb_err_prefix(err, "%s:%lu", name, lineno);
	return 0;
}

int conf_load_text(const char *name, const char *text, size_t len,
		   const struct option *options, conf_apply_fn apply,
		   void *ctx, struct mb_err *err)
{
	unsigned long lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		lineno++;
		if (conf_line(name, lineno, text + pos, end - pos, options,
			      apply, ctx, err))
			return -1;
		pos = end + 1;
	}
	return 0;
}

int conf_load_file(const char *path, const struct option *options,
		   conf_apply_fn apply, void *ctx, struct mb_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t len;
	int ret;

	if (!f)
		return mb_errf(err, "config file %s: %s", path, strerror(errno));
	buf = malloc(CONF_FILE_LIMIT + 1);
	if (!buf) {
		fclose(f);
		return mb_errf(err, "config file %s: out of memory", path);
	}
	len = fread(buf, 1, CONF_FILE_LIMIT + 1, f);
	if (ferror(f) || len > CONF_FILE_LIMIT) {
		ret = mb_errf(err, "config file %s: %s", path,
			      ferror(f) ? strerror(errno) : "larger than 1 MiB");
	} else {
		ret = conf_load_text(path, buf, len, options, apply, ctx, err);
	}
	free(buf);
	fclose(f);
	return ret;
}

int conf_parse_uint(const char *what, const char *arg, unsigned long long min,
		    unsigned long long max, unsigned long long *out,
		    struct mb_err *err)
{
	unsigned long long v;
	char *end;

	if (!arg || !isdigit((unsigned char)*arg))
		return mb_errf(err, "%s: '%s' is not a number", what,
			       arg ? arg : "");
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end)
		return mb_errf(err, "%s: '%s' is not a number", what, arg);
	if (v < min || v > max)
		return mb_errf(err, "%s: %llu is out of range %llu..%llu", what,
			       v, min, max);
	*out = v;
	return 0;
}

int conf_parse_bool(const char *what, const char *arg, int *out,
		    struct mb_err *err)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	size_t i;

	if (!arg) {
		*out = 1;
		return 0;
	}
	for (i = 0; i < 4; i++) {
		if (!strcasecmp(arg, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(arg, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return mb_errf(err, "%s: '%s' is not yes or no", what, arg);
}

char *conf_read_secret(const char *path, struct mb_err *err)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f) {
		mb_errf(err, "token file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		mb_errf(err, "token file %s: empty", path);
		return NULL;
	}
	fclose(f);
	len = strlen(line);
	while (len && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (!len) {
		mb_errf(err, "token file %s: first line is empty", path);
		return NULL;
	}
	return strdup(line);
}

int conf_parse_cli(const struct conf_cli *cli, int argc, char **argv,
		   struct mb_err *err)
{
	const char *file = NULL;
	int opt, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli->usage(stdout);
			return 1;
		}
		if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-f")) &&
		    i + 1 < argc)
			file = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
	}
	if (file && conf_load_file(file, cli->options, cli->apply, cli->ctx,
				   err))
		return -1;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, cli->shortopts, cli->options,
				  NULL)) != -1) {
		if (opt == cli->version_val) {
			printf("%s 1.0\n", cli->program);
			return 1;
		}
		if (opt == '?')
			return mb_errf(err, "unknown option or missing value "
				       "in '%s' (see --help)",
				       argv[optind - 1]);
		if (cli->apply(cli->ctx, opt, optarg, err))
			return -1;
	}
	if (optind < argc)
		return mb_errf(err, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int conf_parse_url(const char *what, const char *arg, struct mb_err *err)
{
	if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
		return mb_errf(err, "%s: '%s' is not an http:// or https:// URL",
			       what, arg);
	return 0;
}

int conf_set_str(char **dst, const char *arg, struct mb_err *err)
{
	free(*dst);
	*dst = strdup(arg);
	return *dst ? 0 : mb_errf(err, "out of memory");
}
