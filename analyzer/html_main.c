/* html_main.c: the command line of `memprof html` (main.c hands it its arguments).
 *
 *   memprof html [--snapshot exit|peak|N] [--base BASE] [--threshold PERCENT]
 *                [--full-stacks] [--suppressions FILE] [--no-default-suppressions]
 *                TRACE -o FILE
 *
 * Exit codes as main.c's: 0, or 2 for a usage error, a trace that cannot be read (or has
 * no such snapshot) or a page that cannot be written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "html_page.h"
#include "leaks.h"
#include "options.h"
#include "report.h"

#define HTML_EXIT_BAD_INPUT 2
/* The page's budget: boxes in the flame graph and time cells. Together with the frames
 * they name, a few MiB of data at most, which a browser parses in well under a second. */
#define HTML_MAX_NODES 20000
#define HTML_MAX_CELLS 250000

struct html_options {
	enum mp_memory_pick pick;
	size_t index;
	const char *trace, *base, *output;
	double threshold;
	int full_stacks, default_suppressions;
	struct mp_suppressions supp;
};

static int html_usage(const char *what, const char *arg)
{
	fprintf(stderr, "memprof: html: %s%s%s%s (see 'memprof --help')\n", what, *arg ? " '" : "",
		arg, *arg ? "'" : "");
	return HTML_EXIT_BAD_INPUT;
}

static int html_pick(struct html_options *opts, const char *text)
{
	char *end;
	if (strcmp(text, "exit") == 0) {
		opts->pick = MP_PICK_EXIT;
		return 0;
	}
	if (strcmp(text, "peak") == 0) {
		opts->pick = MP_PICK_PEAK;
		return 0;
	}
	unsigned long value = strtoul(text, &end, 10);
	if (!*text || *end || value == 0)
		return html_usage("--snapshot takes exit, peak or a number from 1, not", text);
	opts->pick = MP_PICK_INDEX;
	opts->index = value;
	return 0;
}

static int html_threshold(struct html_options *opts, const char *text)
{
	char *end;
	double percent = strtod(text, &end);
	if (!*text || *end || !(percent >= 0.0 && percent <= 100.0))
		return html_usage("--threshold takes a percentage from 0 to 100, not", text);
	opts->threshold = percent / 100.0;
	return 0;
}

static int html_suppressions(struct html_options *opts, const char *path)
{
	char err[512];
	if (mp_suppressions_load(&opts->supp, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: cannot use suppressions %s\n", err);
		return HTML_EXIT_BAD_INPUT;
	}
	return 0;
}

static int html_option(struct html_options *opts, int argc, char **argv, int *i)
{
	const char *value;
	int missing = 0;
	if (strcmp(argv[*i], "--full-stacks") == 0)
		opts->full_stacks = 1;
	else if (strcmp(argv[*i], "--no-default-suppressions") == 0)
		opts->default_suppressions = 0;
	else if ((value = mp_option_arg(argc, argv, i, "--output", &missing)) ||
		 (value = mp_option_arg(argc, argv, i, "-o", &missing)))
		opts->output = value;
	else if ((value = mp_option_arg(argc, argv, i, "--snapshot", &missing)))
		return html_pick(opts, value);
	else if ((value = mp_option_arg(argc, argv, i, "--base", &missing)))
		opts->base = value;
	else if ((value = mp_option_arg(argc, argv, i, "--threshold", &missing)))
		return html_threshold(opts, value);
	else if ((value = mp_option_arg(argc, argv, i, "--suppressions", &missing)))
		return html_suppressions(opts, value);
	else
		return html_usage(missing ? "a value must follow" : "unknown option", argv[*i]);
	return 0;
}

static int html_parse(struct html_options *opts, int argc, char **argv)
{
	int options_done = 0;
	for (int i = 0; i < argc; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0) {
			options_done = 1;
		} else if (!options_done && argv[i][0] == '-' && argv[i][1]) {
			int code = html_option(opts, argc, argv, &i);
			if (code)
				return code;
		} else if (!opts->trace) {
			opts->trace = argv[i];
		} else {
			return html_usage("takes one trace (and --base BASE); one more", argv[i]);
		}
	}
	if (!opts->trace)
		return html_usage("no trace given", "");
	if (!opts->output)
		return html_usage("no page to write: give -o FILE", "");
	return 0;
}

static int html_default_suppressions(struct html_options *opts)
{
	char err[512];
	const char *env = getenv("MEMPROF_SUPPRESSIONS");
	if (opts->default_suppressions &&
	    mp_leaks_default_suppressions(&opts->supp, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: built-in suppressions: %s\n", err);
		return HTML_EXIT_BAD_INPUT;
	}
	return env && *env ? html_suppressions(opts, env) : 0;
}

static int html_write_file(const char *path, const struct mp_html_page *page)
{
	FILE *out = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
	if (!out) {
		fprintf(stderr, "memprof: html: cannot write '%s': %s\n", path, strerror(errno));
		return HTML_EXIT_BAD_INPUT;
	}
	int rc = mp_html_write(out, page);
	if ((out == stdout ? fflush(out) : fclose(out)) != 0 || rc) {
		fprintf(stderr, "memprof: html: cannot write '%s'\n", path);
		return HTML_EXIT_BAD_INPUT;
	}
	return 0;
}

/* Loads the trace (and the base), builds the page's data and writes it. */
static int html_run(const struct html_options *opts)
{
	struct mp_html_side sides[2] = { { .path = opts->trace }, { .path = opts->base } };
	struct mp_time_buckets *time = malloc(sizeof(*time));
	struct mp_html_data data = { 0 };
	unsigned flags = MP_ANALYSIS_SYMBOLS | (opts->full_stacks ? MP_ANALYSIS_FULL_STACKS : 0);
	int count = opts->base ? 2 : 1, code = 0;
	char err[512];
	if (!time || mp_time_buckets_init(time)) {
		free(time);
		fprintf(stderr, "memprof: html: out of memory\n");
		return HTML_EXIT_BAD_INPUT;
	}
	sides[0].time = time;
	for (int s = 0; s < count && !code; s++) {
		if (mp_html_side_load(&sides[s], s ? MP_PICK_DEFAULT : opts->pick, opts->index, flags,
				      &opts->supp, err, sizeof(err)) < 0) {
			fprintf(stderr, "memprof: cannot read '%s': %s\n", sides[s].path, err);
			code = HTML_EXIT_BAD_INPUT;
		} else {
			mp_report_text_warnings(stderr, &sides[s].memory.analysis);
		}
	}
	if (!code && mp_html_data_build(&data, sides, count, opts->threshold, HTML_MAX_NODES,
					HTML_MAX_CELLS) < 0) {
		fprintf(stderr, "memprof: html: out of memory\n");
		code = HTML_EXIT_BAD_INPUT;
	}
	if (!code) {
		struct mp_html_page page = { sides, count, &data };
		code = html_write_file(opts->output, &page);
	}
	mp_html_data_free(&data);
	for (int s = 0; s < count; s++)
		mp_html_side_free(&sides[s]);
	mp_time_buckets_destroy(time);
	free(time);
	return code;
}

int mp_html_main(int argc, char **argv)
{
	struct html_options opts = { .pick = MP_PICK_DEFAULT, .threshold = 0.001,
				     .default_suppressions = 1 };
	int code = html_parse(&opts, argc, argv);
	if (!code)
		code = html_default_suppressions(&opts);
	if (!code)
		code = html_run(&opts);
	mp_suppressions_free(&opts.supp);
	return code;
}
