// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_balance_sim.c - `mbuddy balance-sim`: the memory-balancing simulator
 * (sim.h) on .dat files, page traces and synthetic phases.
 *
 * Prints per VM and in total the references, misses, miss ratio and final
 * and mean frames; --json the same for scripts (the contract of issue 13:
 * policy, frames, vms[name, accesses, misses, miss_ratio, frames_final],
 * accesses, misses, miss_ratio, VMs in input order, plus a few more
 * fields); --svg draws each VM's frames and miss ratio over time, from
 * the checkpoints the simulator reports, merged pairwise down to at most
 * SAMPLES_MAX points.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "sim.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define SAMPLES_MAX 1024

static const char balance_sim_usage[] =
"usage: mbuddy balance-sim [options] FILE...\n"
"       mbuddy balance-sim [options] --synth SPEC [FILE...]\n"
"\n"
"Simulate VMs sharing a host's page frames, each replacing its pages by\n"
"LRU, under a balancing policy that moves frames between them. FILE is a\n"
"seed .dat file (its VMs) or a page trace (one VM), plain or .xz.\n"
"\n"
"options:\n"
"  --policy P           static (default), last-n, proportional, meb, cagma\n"
"  --faithful           the seed simulator's model exactly (16 frames, its\n"
"                       misses and quirks; static, last-n, proportional)\n"
"  --every N            steps between checkpoints (the seed's frequency of\n"
"                       last-n; default 1 faithful, 10000 otherwise)\n"
"  --frames N           frames in all (default 16, or half the distinct\n"
"                       pages of all VMs when some VM has more than 64)\n"
"  --floor N            frames a VM keeps at least (default 2)\n"
"  --balance-mode M     cagma (default) or proportional: the mode of\n"
"                       mb-controld's balance code the cagma policy runs\n"
"  --ws-window N        cagma: references a working set spans (default\n"
"                       10 intervals)\n"
"  --meb-decay X        meb: weight of the older intervals' stack distances\n"
"                       at each checkpoint, 0 to 1 (default 0.9)\n"
"  --limit N            simulate at most N references of each VM\n"
"  --synth SPEC         add synthetic VMs whose working sets grow and\n"
"                       shrink in phases: key=value,... of vms, accesses,\n"
"                       small, large, phases, skew, seed\n"
"  --json               machine-readable output\n"
"  --svg FILE           draw each VM's frames and miss ratio over time\n"
"  -h, --help           this text\n"
"\n"
"docs/balancing.md describes the models, the policies and the inputs.\n";

struct sample {
	uint64_t step;
	double *frames;		/* mean over the merged checkpoints */
	uint64_t *accesses, *misses;
	unsigned merged;
};

struct timeline {
	size_t vms, count;
	struct sample s[SAMPLES_MAX];
	uint64_t stride, pending;	/* checkpoints per sample, and seen */
	bool oom;
};

/* dst = a merged with b (dst may be a); values are copied, each sample
 * keeps its own arrays. */
static void sample_merge(struct sample *dst, const struct sample *a,
			 const struct sample *b, size_t vms)
{
	unsigned merged = a->merged + b->merged;
	uint64_t step = b->step;
	size_t i;

	for (i = 0; i < vms; i++) {
		double fr = (a->frames[i] * a->merged + b->frames[i] * b->merged) /
			    merged;
		uint64_t acc = a->accesses[i] + b->accesses[i];
		uint64_t miss = a->misses[i] + b->misses[i];

		dst->frames[i] = fr;
		dst->accesses[i] = acc;
		dst->misses[i] = miss;
	}
	dst->merged = merged;
	dst->step = step;
}

static void on_checkpoint(void *ctx, const struct mb_sim_checkpoint *cp)
{
	struct timeline *tl = ctx;
	struct sample cur;
	size_t i;

	if (tl->oom)
		return;
	if (tl->pending && tl->count) {
		/* fold into the last sample until it holds stride checkpoints */
		struct sample *last = &tl->s[tl->count - 1];

		for (i = 0; i < tl->vms; i++) {
			last->frames[i] = (last->frames[i] * last->merged +
					   (double)cp->frames[i]) / (last->merged + 1);
			last->accesses[i] += cp->window_accesses[i];
			last->misses[i] += cp->window_misses[i];
		}
		last->merged++;
		last->step = cp->step;
		tl->pending--;
		return;
	}
	if (tl->count == SAMPLES_MAX) {
		/* full: merge neighbours, halving the resolution */
		for (i = 0; i < SAMPLES_MAX / 2; i++)
			sample_merge(&tl->s[i], &tl->s[2 * i], &tl->s[2 * i + 1],
				     tl->vms);
		tl->count = SAMPLES_MAX / 2;
		tl->stride *= 2;
	}
	cur = tl->s[tl->count];
	for (i = 0; i < tl->vms; i++) {
		cur.frames[i] = (double)cp->frames[i];
		cur.accesses[i] = cp->window_accesses[i];
		cur.misses[i] = cp->window_misses[i];
	}
	cur.step = cp->step;
	cur.merged = 1;
	tl->s[tl->count++] = cur;
	tl->pending = tl->stride - 1;
}

static int timeline_init(struct timeline *tl, size_t vms)
{
	size_t i;

	memset(tl, 0, sizeof(*tl));
	tl->vms = vms;
	tl->stride = 1;
	for (i = 0; i < SAMPLES_MAX; i++) {
		tl->s[i].frames = calloc(vms, sizeof(double));
		tl->s[i].accesses = calloc(vms, sizeof(uint64_t));
		tl->s[i].misses = calloc(vms, sizeof(uint64_t));
		if (!tl->s[i].frames || !tl->s[i].accesses || !tl->s[i].misses)
			return -1;
	}
	return 0;
}

static void timeline_free(struct timeline *tl)
{
	size_t i;

	for (i = 0; i < SAMPLES_MAX; i++) {
		free(tl->s[i].frames);
		free(tl->s[i].accesses);
		free(tl->s[i].misses);
	}
}

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int write_svg(const char *path, const struct timeline *tl,
		     const struct mb_sim_input *in, const struct mb_sim_result *r,
		     const char *title)
{
	const int W = 900, left = 70, right = 160, plot_w = W - left - right;
	const int top1 = 50, h1 = 220, top2 = top1 + h1 + 60, h2 = 160;
	const int H = top2 + h2 + 50;
	double maxr = 0, xmax = tl->count ? (double)tl->s[tl->count - 1].step : 1;
	size_t i, k;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	/* the scale: the 95th percentile of the ratios, so that the cold
	 * start does not flatten the rest; higher points are clipped */
	{
		double *all = malloc((tl->count * tl->vms + 1) * sizeof(double));
		size_t m = 0;

		for (k = 0; all && k < tl->count; k++)
			for (i = 0; i < tl->vms; i++)
				if (tl->s[k].accesses[i])
					all[m++] = (double)tl->s[k].misses[i] /
						   (double)tl->s[k].accesses[i];
		if (m) {
			qsort(all, m, sizeof(double), cmp_double);
			maxr = all[(m - 1) * 95 / 100];
		}
		free(all);
	}
	maxr = maxr <= 0 ? 1 : maxr > 0.5 ? 1 : maxr > 0.05 ? ceil(maxr * 10) / 10 :
	       maxr > 0.005 ? ceil(maxr * 100) / 100 : ceil(maxr * 1000) / 1000;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n",
		W, H);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
	fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\">%s</text>\n",
		left, title);
	/* panel 1: frames, stacked in VM order (they add up to the host) */
	fprintf(f, "<text x=\"%d\" y=\"%d\">frames held (stacked; %llu in "
		"all)</text>\n", left, top1 - 8, (unsigned long long)r->frames);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"none\" stroke=\"#999\"/>\n", left, top1, plot_w, h1);
	for (i = tl->vms; i-- > 0;) {
		fprintf(f, "<polygon fill=\"%s\" "
			"stroke=\"none\" points=\"%d,%d", palette[i % 10], left,
			top1 + h1);
		for (k = 0; k < tl->count; k++) {
			double sum = 0;
			size_t j;

			for (j = 0; j <= i; j++)
				sum += tl->s[k].frames[j];
			fprintf(f, " %.1f,%.1f", left + plot_w * (double)tl->s[k].step / xmax,
				top1 + h1 - h1 * sum / (double)r->frames);
		}
		fprintf(f, " %d,%d\"/>\n", left + plot_w, top1 + h1);
	}
	/* panel 2: miss ratio of each interval */
	fprintf(f, "<text x=\"%d\" y=\"%d\">miss ratio per interval (0 to "
		"%g; higher values at the top edge)</text>\n", left, top2 - 8, maxr);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		"fill=\"none\" stroke=\"#999\"/>\n", left, top2, plot_w, h2);
	for (i = 0; i < tl->vms; i++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"1.5\" points=\"", palette[i % 10]);
		for (k = 0; k < tl->count; k++) {
			double ratio = tl->s[k].accesses[i] ?
				       (double)tl->s[k].misses[i] /
				       (double)tl->s[k].accesses[i] : 0;

			fprintf(f, "%s%.1f,%.1f", k ? " " : "",
				left + plot_w * (double)tl->s[k].step / xmax,
				top2 + h2 - h2 * fmin(ratio / maxr, 1));
		}
		fprintf(f, "\"/>\n");
	}
	/* axes: steps along x, frames and ratio at the left */
	for (k = 0; k <= 4; k++) {
		double x = left + plot_w * k / 4.0;

		fprintf(f, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">"
			"%.0f</text>\n", x, top2 + h2 + 16, xmax * k / 4.0);
		fprintf(f, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%.0f"
			"</text>\n", left - 6, top1 + h1 - h1 * k / 4.0 + 4,
			(double)r->frames * k / 4.0);
		fprintf(f, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%g"
			"</text>\n", left - 6, top2 + h2 - h2 * k / 4.0 + 4,
			maxr * k / 4.0);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n",
		left + plot_w / 2, top2 + h2 + 36);
	for (i = 0; i < tl->vms; i++) {
		const struct mb_sim_vm_result *v = &r->vms[i];

		fprintf(f, "<rect x=\"%d\" y=\"%zu\" width=\"12\" height=\"12\" "
			"fill=\"%s\"/>\n", left + plot_w + 12, top1 + 18 * i,
			palette[i % 10]);
		fprintf(f, "<text x=\"%d\" y=\"%zu\">%.14s %.3f</text>\n",
			left + plot_w + 30, top1 + 18 * i + 11, in->vms[i].name,
			v->accesses ? (double)v->misses / (double)v->accesses : 0);
	}
	fprintf(f, "<text x=\"%d\" y=\"%zu\" fill=\"#555\">(name, miss ratio)"
		"</text>\n", left + plot_w + 12, top1 + 18 * tl->vms + 12);
	fprintf(f, "</svg>\n");
	return fclose(f) ? -1 : 0;
}

static double ratio(uint64_t misses, uint64_t accesses)
{
	return accesses ? (double)misses / (double)accesses : 0;
}

static void print_json(const struct mb_sim_input *in, const struct mb_sim_result *r,
		       const struct mb_sim_config *cfg)
{
	json_t *root = json_object(), *vms = json_array();
	size_t i;

	json_object_set_new(root, "policy", json_string(mb_sim_policy_name(cfg->policy)));
	json_object_set_new(root, "mode", json_string(cfg->faithful ? "faithful" : "real"));
	if (cfg->policy == MB_SIM_CAGMA)
		json_object_set_new(root, "balance_mode",
				    json_string(mb_balance_mode_name(cfg->balance_mode)));
	json_object_set_new(root, "frames", json_integer((json_int_t)r->frames));
	json_object_set_new(root, "every", json_integer((json_int_t)r->every));
	json_object_set_new(root, "floor", json_integer((json_int_t)r->floor));
	json_object_set_new(root, "steps", json_integer((json_int_t)r->steps));
	json_object_set_new(root, "checkpoints", json_integer((json_int_t)r->checkpoints));
	for (i = 0; i < r->count; i++) {
		const struct mb_sim_vm_result *v = &r->vms[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(in->vms[i].name));
		json_object_set_new(o, "accesses", json_integer((json_int_t)v->accesses));
		json_object_set_new(o, "misses", json_integer((json_int_t)v->misses));
		json_object_set_new(o, "miss_ratio", json_real(ratio(v->misses, v->accesses)));
		json_object_set_new(o, "cold_misses", json_integer((json_int_t)v->cold_misses));
		json_object_set_new(o, "pages", json_integer((json_int_t)in->vms[i].pages));
		json_object_set_new(o, "frames_final", json_integer((json_int_t)v->frames_final));
		json_object_set_new(o, "frames_mean", json_real(v->frames_mean));
		json_array_append_new(vms, o);
	}
	json_object_set_new(root, "vms", vms);
	json_object_set_new(root, "accesses", json_integer((json_int_t)r->accesses));
	json_object_set_new(root, "misses", json_integer((json_int_t)r->misses));
	json_object_set_new(root, "miss_ratio", json_real(ratio(r->misses, r->accesses)));
	if (!cfg->faithful)
		json_object_set_new(root, "moved", json_integer((json_int_t)r->moved));
	if (cfg->policy == MB_SIM_CAGMA)
		json_object_set_new(root, "hotspots", json_integer((json_int_t)r->hotspots));
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	putchar('\n');
	json_decref(root);
}

static void print_human(const struct mb_sim_input *in, const struct mb_sim_result *r,
			const struct mb_sim_config *cfg)
{
	uint64_t cold = 0;
	size_t i;

	printf("policy %s%s%s, %llu frames (floor %llu), checkpoint every %llu "
	       "step%s, %llu steps\n", mb_sim_policy_name(cfg->policy),
	       cfg->policy == MB_SIM_CAGMA ? " in mode " : "",
	       cfg->policy == MB_SIM_CAGMA ? mb_balance_mode_name(cfg->balance_mode) : "",
	       (unsigned long long)r->frames, (unsigned long long)r->floor,
	       (unsigned long long)r->every, r->every == 1 ? "" : "s",
	       (unsigned long long)r->steps);
	printf("%s\n\n", cfg->faithful ?
	       "faithful: the seed's model (a miss counts only when it evicts a "
	       "frame in use)" :
	       "real: every miss counts; 'cold' are first references");
	printf("%-16s %12s %12s %10s %10s %12s %11s\n", "vm", "accesses",
	       "misses", "miss ratio", cfg->faithful ? "fills" : "cold",
	       "frames final", "frames mean");
	for (i = 0; i < r->count; i++) {
		const struct mb_sim_vm_result *v = &r->vms[i];

		printf("%-16.16s %12llu %12llu %10.3f %10llu %12llu %11.2f\n",
		       in->vms[i].name, (unsigned long long)v->accesses,
		       (unsigned long long)v->misses,
		       ratio(v->misses, v->accesses),
		       (unsigned long long)v->cold_misses,
		       (unsigned long long)v->frames_final, v->frames_mean);
		cold += v->cold_misses;
	}
	printf("%-16s %12llu %12llu %10.3f %10llu %12llu\n", "total",
	       (unsigned long long)r->accesses, (unsigned long long)r->misses,
	       ratio(r->misses, r->accesses), (unsigned long long)cold,
	       (unsigned long long)r->frames);
	if (!cfg->faithful && cfg->policy != MB_SIM_STATIC)
		printf("\n%llu checkpoints, %llu frames moved between VMs",
		       (unsigned long long)r->checkpoints,
		       (unsigned long long)r->moved);
	if (cfg->policy == MB_SIM_CAGMA)
		printf(", host a memory hotspot at %llu of them",
		       (unsigned long long)r->hotspots);
	if (!cfg->faithful && cfg->policy != MB_SIM_STATIC)
		printf("\n");
}

static int parse_count(const char *opt, const char *arg, uint64_t min,
		       uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!*arg || *end || errno || arg[0] == '-' || v < min) {
		fprintf(stderr, "mbuddy balance-sim: %s: '%s' is not a whole "
			"number of at least %llu\n", opt, arg,
			(unsigned long long)min);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_balance_sim(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "faithful", no_argument, NULL, 'F' },
		{ "every", required_argument, NULL, 'e' },
		{ "frames", required_argument, NULL, 'f' },
		{ "floor", required_argument, NULL, 'l' },
		{ "balance-mode", required_argument, NULL, 'm' },
		{ "limit", required_argument, NULL, 'L' },
		{ "ws-window", required_argument, NULL, 'W' },
		{ "meb-decay", required_argument, NULL, 'D' },
		{ "synth", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mb_sim_input in = { NULL, 0 };
	struct mb_sim_config cfg;
	struct mb_sim_result res;
	struct timeline *tl = NULL;
	struct mb_err err;
	const char *svg = NULL, *synth = NULL;
	uint64_t limit = 0;
	bool json = false;
	int c, status = EXIT_FAIL;
	size_t i;

	mb_sim_defaults(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (mb_sim_policy_parse(optarg, &cfg.policy)) {
				fprintf(stderr, "mbuddy balance-sim: --policy: '%s' "
					"is not a policy (static, last-n, "
					"proportional, meb, cagma)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			cfg.faithful = true;
			break;
		case 'e':
			if (parse_count("--every", optarg, 1, &cfg.every))
				return EXIT_USAGE;
			break;
		case 'f':
			if (parse_count("--frames", optarg, 1, &cfg.frames))
				return EXIT_USAGE;
			break;
		case 'l':
			if (parse_count("--floor", optarg, 1, &cfg.floor))
				return EXIT_USAGE;
			break;
		case 'm':
			if (mb_balance_mode_parse(optarg, &cfg.balance_mode)) {
				fprintf(stderr, "mbuddy balance-sim: --balance-mode: "
					"'%s' is not cagma or proportional\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'L':
			if (parse_count("--limit", optarg, 1, &limit))
				return EXIT_USAGE;
			break;
		case 'D': {
			char *end;

			cfg.meb_decay = strtod(optarg, &end);
			if (!*optarg || *end || !(cfg.meb_decay >= 0 && cfg.meb_decay <= 1)) {
				fprintf(stderr, "mbuddy balance-sim: --meb-decay: '%s' "
					"is not a number from 0 to 1\n", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'W':
			if (parse_count("--ws-window", optarg, 1, &cfg.ws_window))
				return EXIT_USAGE;
			break;
		case 'S':
			synth = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			svg = optarg;
			break;
		case 'h':
			fputs(balance_sim_usage, stdout);
			return 0;
		default:
			fputs(balance_sim_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc && !synth) {
		fprintf(stderr, "mbuddy balance-sim: no input: give a .dat file, "
			"a page trace or --synth\n");
		fputs(balance_sim_usage, stderr);
		return EXIT_USAGE;
	}
	if (synth) {
		struct mb_phase_spec spec;
		struct mb_sim_input gen;

		mb_phases_defaults(&spec);
		if (mb_phases_parse(synth, &spec, &err)) {
			fprintf(stderr, "mbuddy balance-sim: --synth: %s\n", err.msg);
			return EXIT_USAGE;
		}
		if (mb_phases_generate(&spec, &gen, &err) ||
		    mb_sim_input_append(&in, &gen, &err)) {
			fprintf(stderr, "mbuddy balance-sim: --synth: %s\n", err.msg);
			mb_sim_input_free(&gen);
			goto out;
		}
	}
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (mb_sim_load(argv[i], limit, &in, &err)) {
			fprintf(stderr, "mbuddy balance-sim: %s\n", err.msg);
			goto out;
		}
	for (i = 0; limit && i < in.count; i++)	/* the synthetic ones */
		if (in.vms[i].n > limit)
			in.vms[i].n = limit;
	if (svg) {
		tl = malloc(sizeof(*tl));
		if (!tl || timeline_init(tl, in.count)) {
			fprintf(stderr, "mbuddy balance-sim: out of memory\n");
			goto out;
		}
		cfg.on_checkpoint = on_checkpoint;
		cfg.ctx = tl;
	}
	if (mb_sim_run(&in, &cfg, &res, &err)) {
		fprintf(stderr, "mbuddy balance-sim: %s\n", err.msg);
		goto out;
	}
	if (json)
		print_json(&in, &res, &cfg);
	else
		print_human(&in, &res, &cfg);
	status = 0;
	if (svg) {
		char title[200];

		snprintf(title, sizeof(title), "%s%s, %llu frames, %zu VMs: "
			 "total miss ratio %.3f", mb_sim_policy_name(cfg.policy),
			 cfg.faithful ? " (faithful)" : "",
			 (unsigned long long)res.frames, in.count,
			 ratio(res.misses, res.accesses));
		if (write_svg(svg, tl, &in, &res, title)) {
			fprintf(stderr, "mbuddy balance-sim: %s: %s\n", svg,
				strerror(errno));
			status = EXIT_FAIL;
		}
	}
	mb_sim_result_free(&res);
out:
	if (tl) {
		timeline_free(tl);
		free(tl);
	}
	mb_sim_input_free(&in);
	return status;
}
