// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_trace.c - `mbuddy trace`: look into, convert, compare and make
 * traces.
 *
 *   info    header fields and page statistics of one trace
 *   dump    one line per record (pfn, digest, used/free)
 *   import  legacy text (or any trace) -> .mbt, with a VM name and uuid
 *   export  .mbt -> legacy text, one decimal digest per used page
 *   diff    how many pages changed between two versions of one VM
 *   hash    .mbt of a raw memory image read on the host side
 *
 * Every command that reads a trace accepts both formats (detected by
 * content). Statistics are computed over used pages unless a flag says
 * otherwise, matching the definitions in docs/sharing.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "mbt.h"
#include "textsafe.h"
#include "trace_stats.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char trace_usage[] =
"usage: mbuddy trace <command> [options] ARGS\n"
"\n"
"commands:\n"
"  info [--json] TRACE            header and page statistics\n"
"  dump [--used] TRACE            one line per page: pfn, digest, state\n"
"  import --vm NAME [--uuid UUID] IN OUT.mbt\n"
"                                 convert a legacy text trace to .mbt\n"
"  export [--include-free] IN OUT.txt\n"
"                                 write the legacy text format ('-' = stdout)\n"
"  diff [--json] OLD NEW          pages whose digest changed between versions\n"
"  hash [--algo ALGO] [--vm NAME] [--uuid UUID] IMAGE OUT.mbt\n"
"                                 digests of a raw memory image\n"
"\n"
"TRACE arguments may be .mbt files or legacy text files (one decimal digest\n"
"per line); the format is detected from the first byte.\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mbuddy trace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'mbuddy trace --help')\n");
	return EXIT_USAGE;
}

static int load(const char *path, struct mbt_trace *t)
{
	struct mb_err err;

	if (mb_trace_load(path, t, &err) < 0) {
		fprintf(stderr, "mbuddy: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static FILE *open_out(const char *path)
{
	FILE *f;

	if (!strcmp(path, "-"))
		return stdout;
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "mbuddy: %s: %s\n", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	if (f == stdout)
		return fflush(f) == 0 ? 0 : -1;
	if (fclose(f) != 0) {
		fprintf(stderr, "mbuddy: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Options shared by the subcommands; each uses the ones it documents. */
struct trace_opts {
	bool json, used_only, include_free;
	const char *vm, *uuid, *algo;
};

enum { OPT_JSON = 256, OPT_USED, OPT_INCLUDE_FREE, OPT_VM, OPT_UUID,
       OPT_ALGO, OPT_HELP };

/*
 * Parse the options of subcommand @argv[0] that are listed in @allowed
 * (a string of OPT_* values as chars offset by 256 is awkward, so a mask).
 */
static int parse_opts(int argc, char **argv, unsigned int allowed,
		      struct trace_opts *o, int *first_arg)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "used", no_argument, NULL, OPT_USED },
		{ "include-free", no_argument, NULL, OPT_INCLUDE_FREE },
		{ "vm", required_argument, NULL, OPT_VM },
		{ "uuid", required_argument, NULL, OPT_UUID },
		{ "algo", required_argument, NULL, OPT_ALGO },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_HELP || c == 'h') {
			fputs(trace_usage, stdout);
			return 1;
		}
		if (c == '?' || !(allowed & (1u << (c - 256)))) {
			const struct option *lo = longopts;

			while (c != '?' && lo->name && lo->val != c)
				lo++;
			fprintf(stderr, "mbuddy trace %s: unknown option "
				"'%s%s'\n(see 'mbuddy trace --help')\n",
				argv[0], c == '?' ? "" : "--",
				c == '?' ? argv[optind - 1] : lo->name);
			return EXIT_USAGE;
		}
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_USED:
			o->used_only = true;
			break;
		case OPT_INCLUDE_FREE:
			o->include_free = true;
			break;
		case OPT_VM:
			o->vm = optarg;
			break;
		case OPT_UUID:
			o->uuid = optarg;
			break;
		case OPT_ALGO:
			o->algo = optarg;
			break;
		}
	}
	*first_arg = optind;
	return 0;
}

#define ALLOW(x) (1u << ((x) - 256))

static int want_args(const char *cmd, int have, int want)
{
	if (have == want)
		return 0;
	fprintf(stderr, "mbuddy trace %s: expected %d argument%s, got %d\n"
		"(see 'mbuddy trace --help')\n", cmd, want,
		want == 1 ? "" : "s", have);
	return EXIT_USAGE;
}

/* ---- info ---- */

static void format_time(uint64_t ns, char *out, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (!ns || !gmtime_r(&s, &tm))
		snprintf(out, len, "unknown");
	else
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *info_json(const char *path, const struct mbt_trace *t,
			 const struct mb_trace_stats *s)
{
	char uuid[37], when[32], sum[19], key[9];
	json_t *o = json_object(), *flags = json_array();

	mb_uuid_format(t->info.vm_uuid, uuid);
	format_time(t->info.capture_time_ns, when, sizeof(when));
	snprintf(sum, sizeof(sum), "0x%016" PRIx64, t->info.checksum);
	if (t->info.flags & MBT_FLAG_FREE_HASHED)
		json_array_append_new(flags, json_string("free_hashed"));
	if (t->info.flags & MBT_FLAG_SYNTHETIC_PFN)
		json_array_append_new(flags, json_string("synthetic_pfn"));
	if (t->info.flags & MBT_FLAG_FROM_IMAGE)
		json_array_append_new(flags, json_string("from_image"));
	if (t->info.flags & MBT_FLAG_FROM_HOST)
		json_array_append_new(flags, json_string("from_host"));
	if (t->info.flags & MBT_FLAG_KEYED)
		json_array_append_new(flags, json_string("keyed"));
	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "vm_name", json_string(t->info.vm_name));
	json_object_set_new(o, "vm_uuid", mb_uuid_is_zero(t->info.vm_uuid) ?
			    json_null() : json_string(uuid));
	json_object_set_new(o, "kernel_release",
			    json_string(t->info.kernel_release));
	json_object_set_new(o, "algorithm",
			    json_string(mb_algo_name(t->info.algorithm)));
	json_object_set_new(o, "digest_bits",
			    json_integer(t->info.digest_size * 8));
	json_object_set_new(o, "flags", flags);
	snprintf(key, sizeof(key), "%08" PRIx32, t->info.key_id);
	json_object_set_new(o, "key_id", t->info.key_id ? json_string(key) :
			    json_null());
	json_object_set_new(o, "capture_time", t->info.capture_time_ns ?
			    json_string(when) : json_null());
	json_object_set_new(o, "capture_time_ns",
			    json_integer((json_int_t)t->info.capture_time_ns));
	json_object_set_new(o, "scan_ns",
			    json_integer((json_int_t)t->info.scan_ns));
	json_object_set_new(o, "chunks", json_integer((json_int_t)t->nchunks));
	json_object_set_new(o, "first_pfn",
			    json_integer((json_int_t)mbt_pfn(t, 0)));
	json_object_set_new(o, "last_pfn", json_integer((json_int_t)
			    mbt_pfn(t, t->info.page_count - 1)));
	json_object_set_new(o, "pages", json_integer((json_int_t)s->pages));
	json_object_set_new(o, "used_pages",
			    json_integer((json_int_t)s->used_pages));
	json_object_set_new(o, "free_pages",
			    json_integer((json_int_t)s->free_pages));
	json_object_set_new(o, "distinct_digests",
			    json_integer((json_int_t)s->distinct_digests));
	json_object_set_new(o, "duplicate_pages",
			    json_integer((json_int_t)s->duplicate_pages));
	/* Nobody without the key knows the zero page's keyed digest. */
	json_object_set_new(o, "zero_pages", t->info.key_id ? json_null() :
			    json_integer((json_int_t)s->zero_pages));
	json_object_set_new(o, "expected_false_matches",
			    json_real(s->expected_false_matches));
	/* Traces read from the text format carry no checksum. */
	json_object_set_new(o, "checksum", t->info.checksum ?
			    json_string(sum) : json_null());
	return o;
}

static double mib(uint64_t pages)
{
	return (double)pages * MBT_PAGE_SIZE / (1 << 20);
}

static void info_text(const char *path, const struct mbt_trace *t,
		      const struct mb_trace_stats *s)
{
	char uuid[37], when[32];

	mb_uuid_format(t->info.vm_uuid, uuid);
	format_time(t->info.capture_time_ns, when, sizeof(when));
	printf("%s\n", path);
	printf("  vm              %s%s%s\n",
	       t->info.vm_name[0] ? mb_display(t->info.vm_name) : "(unnamed)",
	       mb_uuid_is_zero(t->info.vm_uuid) ? "" : "  ",
	       mb_uuid_is_zero(t->info.vm_uuid) ? "" : uuid);
	if (t->info.kernel_release[0])
		printf("  kernel          %s\n",
		       mb_display(t->info.kernel_release));
	printf("  captured        %s", when);
	if (t->info.scan_ns)
		printf(" (scan took %.3f s)", t->info.scan_ns / 1e9);
	printf("\n  digests         %s, %d bits", mb_algo_name(t->info.algorithm),
	       t->info.digest_size * 8);
	if (t->info.key_id)
		printf(", keyed (key %08" PRIx32 ")", t->info.key_id);
	printf("%s%s%s\n",
	       t->info.flags & MBT_FLAG_FREE_HASHED ? ", free pages hashed" :
	       "", t->info.flags & MBT_FLAG_FROM_IMAGE ?
	       ", from a host-side memory image" : "",
	       t->info.flags & MBT_FLAG_FROM_HOST ?
	       ", taken from the host (mb-hostd)" : "");
	printf("  pfns            %" PRIu64 "..%" PRIu64 " in %zu run%s%s\n",
	       mbt_pfn(t, 0), mbt_pfn(t, t->info.page_count - 1), t->nchunks,
	       t->nchunks == 1 ? "" : "s",
	       t->info.flags & MBT_FLAG_SYNTHETIC_PFN ?
	       " (record numbers, not real frames)" : "");
	printf("  pages           %" PRIu64 " (%.1f MiB)\n", s->pages,
	       mib(s->pages));
	printf("  used            %" PRIu64 " (%.1f MiB)\n", s->used_pages,
	       mib(s->used_pages));
	printf("  free            %" PRIu64 " (%.1f MiB)\n", s->free_pages,
	       mib(s->free_pages));
	printf("  distinct        %" PRIu64 " digests among used pages\n",
	       s->distinct_digests);
	printf("  duplicates      %" PRIu64 " used pages (%.1f%%) repeat a "
	       "digest of this VM\n", s->duplicate_pages,
	       s->used_pages ? 100.0 * s->duplicate_pages / s->used_pages : 0);
	if (t->info.key_id)
		printf("  zero pages      unknown (keyed digests)\n");
	else
		printf("  zero pages      %" PRIu64 " used pages are all zero\n",
		       s->zero_pages);
	if (t->info.digest_size == 4)
		printf("  collisions      ~%.2f distinct pairs expected to "
		       "share a 32-bit digest by chance\n",
		       s->expected_false_matches);
}

static int trace_info(int argc, char **argv)
{
	struct trace_opts o;
	struct mb_trace_stats s;
	struct mbt_trace t;
	int first, ret, i;

	ret = parse_opts(argc, argv, ALLOW(OPT_JSON), &o, &first);
	if (ret)
		return ret == 1 ? 0 : ret;
	if (first >= argc)
		return usage_error("info: %s", "expected at least one TRACE");
	for (i = first; i < argc; i++) {
		if (load(argv[i], &t) < 0)
			return EXIT_FAIL;
		if (mb_trace_stats(&t, false, &s) < 0) {
			fprintf(stderr, "mbuddy: %s: out of memory\n", argv[i]);
			mbt_trace_free(&t);
			return EXIT_FAIL;
		}
		if (o.json) {
			json_t *j = info_json(argv[i], &t, &s);

			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(j);
		} else {
			info_text(argv[i], &t, &s);
		}
		mbt_trace_free(&t);
	}
	return 0;
}

/* ---- dump ---- */

static int trace_dump(int argc, char **argv)
{
	struct trace_opts o;
	struct mbt_trace t;
	int first, ret;
	uint64_t i;
	size_t c;

	ret = parse_opts(argc, argv, ALLOW(OPT_USED), &o, &first);
	if (ret)
		return ret == 1 ? 0 : ret;
	if ((ret = want_args("dump", argc - first, 1)))
		return ret;
	if (load(argv[first], &t) < 0)
		return EXIT_FAIL;
	printf("# vm %s, %s, %" PRIu64 " pages\n# pfn digest state\n",
	       t.info.vm_name, mb_algo_name(t.info.algorithm),
	       t.info.page_count);
	for (c = 0; c < t.nchunks; c++) {
		for (i = t.chunks[c].first;
		     i < t.chunks[c].first + t.chunks[c].count; i++) {
			bool is_free = mbt_is_free(&t, i);

			if (o.used_only && is_free)
				continue;
			printf("%" PRIu64 " %0*" PRIx64 " %s\n",
			       t.chunks[c].start_pfn + (i - t.chunks[c].first),
			       t.info.digest_size * 2, t.digests[i],
			       is_free ? "free" : "used");
		}
	}
	mbt_trace_free(&t);
	return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
}

/* ---- import / export ---- */

static int set_identity(struct mbt_info *info, const char *vm,
			const char *uuid)
{
	if (vm) {
		if (strlen(vm) >= MBT_NAME_LEN) {
			fprintf(stderr, "mbuddy: vm name '%s' is longer than "
				"%d bytes\n", vm, MBT_NAME_LEN - 1);
			return -1;
		}
		memset(info->vm_name, 0, sizeof(info->vm_name));
		memcpy(info->vm_name, vm, strlen(vm));
	}
	if (uuid && mb_uuid_parse(uuid, info->vm_uuid) < 0) {
		fprintf(stderr, "mbuddy: '%s' is not a uuid "
			"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n", uuid);
		return -1;
	}
	return 0;
}

static int write_mbt(const char *path, const struct mbt_trace *t)
{
	struct mb_err err;

	if (mbt_write_file(path, t, &err) < 0) {
		fprintf(stderr, "mbuddy: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int trace_import(int argc, char **argv)
{
	struct trace_opts o;
	struct mbt_trace t;
	int first, ret;

	ret = parse_opts(argc, argv, ALLOW(OPT_VM) | ALLOW(OPT_UUID), &o,
			 &first);
	if (ret)
		return ret == 1 ? 0 : ret;
	if ((ret = want_args("import", argc - first, 2)))
		return ret;
	if (!o.vm)
		return usage_error("import: %s", "--vm NAME is required");
	if (load(argv[first], &t) < 0)
		return EXIT_FAIL;
	ret = EXIT_FAIL;
	if (set_identity(&t.info, o.vm, o.uuid) == 0 &&
	    write_mbt(argv[first + 1], &t) == 0)
		ret = 0;
	mbt_trace_free(&t);
	return ret;
}

static int trace_export(int argc, char **argv)
{
	struct trace_opts o;
	struct mbt_trace t;
	struct mb_err err;
	int first, ret;
	FILE *f;

	ret = parse_opts(argc, argv, ALLOW(OPT_INCLUDE_FREE), &o, &first);
	if (ret)
		return ret == 1 ? 0 : ret;
	if ((ret = want_args("export", argc - first, 2)))
		return ret;
	if (load(argv[first], &t) < 0)
		return EXIT_FAIL;
	ret = EXIT_FAIL;
	f = open_out(argv[first + 1]);
	if (f) {
		if (mb_text_write(f, &t, o.include_free, &err) < 0)
			fprintf(stderr, "mbuddy: %s: %s\n", argv[first + 1],
				err.msg);
		else
			ret = 0;
		if (close_out(f, argv[first + 1]) < 0)
			ret = EXIT_FAIL;
	}
	mbt_trace_free(&t);
	return ret;
}

/* ---- diff ---- */

static int trace_diff(int argc, char **argv)
{
	struct mbt_trace a, b;
	struct mb_trace_diff d;
	struct trace_opts o;
	int first, ret;

	ret = parse_opts(argc, argv, ALLOW(OPT_JSON), &o, &first);
	if (ret)
		return ret == 1 ? 0 : ret;
	if ((ret = want_args("diff", argc - first, 2)))
		return ret;
	if (load(argv[first], &a) < 0)
		return EXIT_FAIL;
	if (load(argv[first + 1], &b) < 0) {
		mbt_trace_free(&a);
		return EXIT_FAIL;
	}
	ret = EXIT_FAIL;
	if (a.info.algorithm != b.info.algorithm) {
		fprintf(stderr, "mbuddy: cannot compare %s digests (%s) with "
			"%s digests (%s)\n", mb_algo_name(a.info.algorithm),
			argv[first], mb_algo_name(b.info.algorithm),
			argv[first + 1]);
		goto out;
	}
	if (a.info.key_id != b.info.key_id) {
		fprintf(stderr, "mbuddy: cannot compare digests under key "
			"%08" PRIx32 " (%s) with digests under key %08" PRIx32
			" (%s; 00000000: not keyed)\n", a.info.key_id,
			argv[first], b.info.key_id, argv[first + 1]);
		goto out;
	}
	if (mb_trace_diff(&a, &b, &d) < 0) {
		fprintf(stderr, "mbuddy: out of memory\n");
		goto out;
	}
	if (o.json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
				      "s:I, s:I, s:f, s:I}",
				      "old", argv[first], "new", argv[first + 1],
				      "common_pfns", (json_int_t)d.common_pfns,
				      "compared_pages", (json_int_t)d.compared,
				      "changed_pages", (json_int_t)d.changed,
				      "freed_pages", (json_int_t)d.freed,
				      "allocated_pages", (json_int_t)d.allocated,
				      "only_old_pfns", (json_int_t)d.only_old,
				      "only_new_pfns", (json_int_t)d.only_new,
				      "change_rate_percent", d.change_rate,
				      "new_distinct_digests",
				      (json_int_t)d.new_distinct);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s -> %s\n", argv[first], argv[first + 1]);
		printf("  changed   %" PRIu64 " of %" PRIu64 " pages used in "
		       "both (%.2f%%)\n", d.changed, d.compared, d.change_rate);
		printf("  freed     %" PRIu64 " pages used before, free now\n",
		       d.freed);
		printf("  allocated %" PRIu64 " pages free before, used now\n",
		       d.allocated);
		if (d.only_old || d.only_new)
			printf("  pfns      %" PRIu64 " only in the old trace, %"
			       PRIu64 " only in the new\n", d.only_old,
			       d.only_new);
		printf("  new       %" PRIu64 " distinct digests of the new "
		       "trace are not in the old\n", d.new_distinct);
	}
	ret = 0;
out:
	mbt_trace_free(&a);
	mbt_trace_free(&b);
	return ret;
}

/* ---- hash ---- */

static int trace_hash(int argc, char **argv)
{
	struct trace_opts o;
	struct mb_err err;
	struct mbt_info info;
	struct timespec t0, t1;
	const char *image, *out;
	int first, ret, algo, fd = -1;
	struct stat st;

	ret = parse_opts(argc, argv, ALLOW(OPT_ALGO) | ALLOW(OPT_VM) |
			 ALLOW(OPT_UUID), &o, &first);
	if (ret)
		return ret == 1 ? 0 : ret;
	if ((ret = want_args("hash", argc - first, 2)))
		return ret;
	image = argv[first];
	out = argv[first + 1];
	algo = o.algo ? mb_algo_parse(o.algo) : MB_ALGO_SUPERFAST;
	if (algo < 0)
		return usage_error("hash: unknown algorithm '%s' (one of %s)",
				   o.algo, mb_algo_names());
	mbt_info_init(&info, algo);
	info.flags = MBT_FLAG_SYNTHETIC_PFN | MBT_FLAG_FROM_IMAGE;
	if (set_identity(&info, o.vm, o.uuid) < 0)
		return EXIT_FAIL;
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "mbuddy: %s: %s\n", image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		fprintf(stderr, "mbuddy: %s: %s\n", image, S_ISREG(st.st_mode) ?
			"empty image" : "not a regular file (the page count "
			"must be known before hashing)");
		close(fd);
		return EXIT_FAIL;
	}
	info.page_count = ((uint64_t)st.st_size + MBT_PAGE_SIZE - 1) /
			  MBT_PAGE_SIZE;
	info.capture_time_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL +
			       (uint64_t)st.st_mtim.tv_nsec;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mb_hash_image(fd, &info, out, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	if (ret < 0) {
		fprintf(stderr, "mbuddy: %s: %s\n", image, err.msg);
		return EXIT_FAIL;
	}
	fprintf(stderr, "%s: %" PRIu64 " pages hashed with %s (%s) in %.2f "
		"s\n", out, info.page_count, mb_algo_name(algo),
		mb_impl_name(mb_impl_best(algo)),
		(double)(t1.tv_sec - t0.tv_sec) +
		(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} trace_commands[] = {
	{ "info", trace_info },
	{ "dump", trace_dump },
	{ "import", trace_import },
	{ "export", trace_export },
	{ "diff", trace_diff },
	{ "hash", trace_hash },
};

int cmd_trace(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(trace_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(trace_usage, stdout);
		return 0;
	}
	for (i = 0; i < sizeof(trace_commands) / sizeof(trace_commands[0]); i++)
		if (!strcmp(argv[1], trace_commands[i].name))
			return trace_commands[i].run(argc - 1, argv + 1);
	return usage_error("'%s' is not a trace command", argv[1]);
}
