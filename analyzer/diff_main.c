/* diff_main.c: the command line of `memprof diff` (main.c hands it its arguments).
 *
 *   memprof diff [--metric leaked|allocated|peak|calls] [--json | --folded]
 *                [--full-stacks] [--suppressions FILE] [--no-default-suppressions] BASE NEW
 *
 * Exit codes as main.c's: 0, or 2 for a usage error or a trace that cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaks.h"
#include "report.h"
#include "report_diff.h"

#define DIFF_EXIT_BAD_INPUT 2

struct diff_options {
	enum mp_diff_metric metric;
	int json, folded, full_stacks, default_suppressions;
	struct mp_suppressions supp;
	const char *traces[2];
	int trace_count;
};

static int diff_usage(const char *what, const char *arg)
{
	fprintf(stderr, "memprof: diff: %s%s%s%s (see 'memprof --help')\n", what,
		*arg ? " '" : "", arg, *arg ? "'" : "");
	return DIFF_EXIT_BAD_INPUT;
}

static int diff_suppressions(struct diff_options *opts, const char *path)
{
	char err[512];
	if (mp_suppressions_load(&opts->supp, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: cannot use suppressions %s\n", err);
		return DIFF_EXIT_BAD_INPUT;
	}
	return 0;
}

/* One option at argv[*i]; 0 or an exit code. */
static int diff_option(struct diff_options *opts, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (strcmp(arg, "--json") == 0)
		opts->json = 1;
	else if (strcmp(arg, "--folded") == 0)
		opts->folded = 1;
	else if (strcmp(arg, "--full-stacks") == 0)
		opts->full_stacks = 1;
	else if (strcmp(arg, "--no-default-suppressions") == 0)
		opts->default_suppressions = 0;
	else if (strcmp(arg, "--suppressions") == 0 && *i + 1 < argc)
		return diff_suppressions(opts, argv[++*i]);
	else if (strncmp(arg, "--suppressions=", 15) == 0)
		return diff_suppressions(opts, arg + 15);
	else if ((strcmp(arg, "--metric") == 0 && *i + 1 < argc) || strncmp(arg, "--metric=", 9) == 0) {
		const char *name = arg[8] == '=' ? arg + 9 : argv[++*i];
		if (mp_diff_metric_parse(name, &opts->metric))
			return diff_usage("unknown metric (leaked, allocated, peak, calls)", name);
	} else
		return diff_usage("unknown option", arg);
	return 0;
}

static int diff_parse(struct diff_options *opts, int argc, char **argv)
{
	int options_done = 0;
	for (int i = 0; i < argc; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0) {
			options_done = 1;
		} else if (!options_done && argv[i][0] == '-' && argv[i][1] == '-') {
			int code = diff_option(opts, argc, argv, &i);
			if (code)
				return code;
		} else if (opts->trace_count < 2) {
			opts->traces[opts->trace_count++] = argv[i];
		} else {
			return diff_usage("takes two traces, BASE and NEW; one more", argv[i]);
		}
	}
	if (opts->trace_count < 2)
		return diff_usage("takes two traces, BASE and NEW", "");
	if (opts->json && opts->folded)
		return diff_usage("--json and --folded exclude each other", "");
	return 0;
}

/* The built-in rules and MEMPROF_SUPPRESSIONS's file, as `memprof leaks` applies them. */
static int diff_default_suppressions(struct diff_options *opts)
{
	char err[512];
	const char *env = getenv("MEMPROF_SUPPRESSIONS");
	if (opts->default_suppressions &&
	    mp_leaks_default_suppressions(&opts->supp, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: built-in suppressions: %s\n", err);
		return DIFF_EXIT_BAD_INPUT;
	}
	return env && *env ? diff_suppressions(opts, env) : 0;
}

static int diff_print(const struct diff_options *opts, struct mp_diff *diff)
{
	mp_report_text_warnings(stderr, &diff->base.analysis);
	mp_report_text_warnings(stderr, &diff->next.analysis);
	if (opts->json) {
		json_t *document = mp_diff_json(diff);
		if (!document)
			return DIFF_EXIT_BAD_INPUT;
		json_dumpf(document, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(document);
	} else if (opts->folded) {
		if (mp_diff_folded(stdout, diff))
			fprintf(stderr, "memprof: cannot write the folded stacks\n");
	} else {
		mp_diff_text(stdout, diff, opts->traces[0], opts->traces[1]);
	}
	return fflush(stdout) != 0 ? DIFF_EXIT_BAD_INPUT : 0;
}

int mp_diff_main(int argc, char **argv)
{
	struct diff_options opts = { .metric = MP_DIFF_LEAKED, .default_suppressions = 1 };
	int code = diff_parse(&opts, argc, argv);
	if (!code)
		code = diff_default_suppressions(&opts);
	if (!code) {
		struct mp_diff diff;
		char err[512];
		unsigned flags = MP_ANALYSIS_SYMBOLS | (opts.full_stacks ? MP_ANALYSIS_FULL_STACKS : 0);
		if (mp_diff_run(opts.traces[0], opts.traces[1], opts.metric, flags, &opts.supp, &diff,
				err, sizeof(err)) < 0) {
			fprintf(stderr, "memprof: diff: %s\n", err);
			code = DIFF_EXIT_BAD_INPUT;
		} else {
			code = diff_print(&opts, &diff);
		}
		mp_diff_destroy(&diff);
	}
	mp_suppressions_free(&opts.supp);
	return code;
}
