/* memory_main.c: the command line of `memprof memory` (main.c hands it its arguments).
 *
 *   memprof memory [--snapshot exit|peak|heap-peak|N] [--json] [--top N] [--full-stacks]
 *                  [--long-names] TRACE...
 *
 * Exit codes as main.c's: 0, or 2 for a usage error or a trace that cannot be read or
 * has no such snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report_memory.h"
#include "usage.h"

struct memory_options {
	enum mp_memory_pick pick;
	size_t index;
	int json;
	int full_stacks;
	int top_given;                   /* --top was given: it limits JSON too */
	struct mp_report_options report; /* top, long_names */
};

static int memory_pick_parse(struct memory_options *opts, const char *text)
{
	uint64_t value;
	if (strcmp(text, "exit") == 0) {
		opts->pick = MP_PICK_EXIT;
	} else if (strcmp(text, "peak") == 0) {
		opts->pick = MP_PICK_PEAK;
	} else if (strcmp(text, "heap-peak") == 0) {
		opts->pick = MP_PICK_HEAP_PEAK;
	} else {
		if (mp_option_count(text, SIZE_MAX, &value) || value == 0)
			return mp_option_error("memory", "--snapshot takes exit, peak, heap-peak or "
					       "a number from 1, not '%s'", text);
		opts->pick = MP_PICK_INDEX;
		opts->index = (size_t)value;
	}
	return 0;
}

/* One trace: its document appended to `documents`, or its text printed. 0 or 1 (bad). */
static int memory_one(const struct memory_options *opts, const char *path, json_t *documents,
		      int first)
{
	struct mp_memory_report report;
	char err[512];
	if (mp_memory_report_run(path, opts->pick, opts->index, &report, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: cannot read '%s': %s\n", path, err);
		return 1;
	}
	if (report.bad_records)
		fprintf(stderr, "memprof: warning: trace '%s': %llu snapshot records did not decode "
				"and were skipped\n", path, (unsigned long long)report.bad_records);
	mp_report_text_warnings(stderr, &report.analysis);
	if (opts->full_stacks)
		mp_analysis_show_full_stacks(&report.analysis);
	if (opts->json) {
		json_array_append_new(documents,
				      mp_memory_json(&report, opts->top_given ? opts->report.top : 0));
	} else {
		if (!first)
			putchar('\n');
		mp_memory_text(stdout, &report, &opts->report);
	}
	mp_memory_report_destroy(&report);
	return 0;
}

/* One option at argv[*i]; 0, or the exit code of a usage error. */
static int memory_option(struct memory_options *opts, int argc, char **argv, int *i)
{
	const char *value = NULL;
	uint64_t count;
	int got;

	if ((got = mp_option_value(argc, argv, i, "--snapshot", &value)) != 0)
		return got < 0 ? mp_option_error("memory", "--snapshot needs exit, peak or a number")
			       : memory_pick_parse(opts, value);
	if ((got = mp_option_value(argc, argv, i, "--top", &value)) != 0) {
		if (got < 0 || mp_option_count(value, SIZE_MAX, &count))
			return mp_option_error("memory", "--top takes a count of call stacks (0: "
					       "all), not '%s'", got < 0 ? "" : value);
		opts->report.top = (size_t)count;
		opts->top_given = 1;
		return 0;
	}
	if (strcmp(argv[*i], "--json") == 0)
		opts->json = 1;
	else if (strcmp(argv[*i], "--full-stacks") == 0)
		opts->full_stacks = 1;
	else if (strcmp(argv[*i], "--long-names") == 0)
		opts->report.long_names = 1;
	else
		return mp_option_error("memory", "unknown option '%s'", argv[*i]);
	return 0;
}

int mp_memory_main(int argc, char **argv)
{
	struct memory_options opts = { .pick = MP_PICK_DEFAULT,
				       .report = { .top = MP_MEMORY_TEXT_STACKS } };
	const char **traces = calloc((size_t)argc + 1, sizeof(*traces));
	int count = 0, bad = 0, options_done = 0;
	if (!traces)
		return MP_EXIT_USAGE;
	for (int i = 0; i < argc && !bad; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0)
			options_done = 1;
		else if (!options_done && mp_option_is_help(argv[i])) {
			free(traces);
			return mp_usage(stdout, "memory");
		} else if (!options_done && argv[i][0] == '-' && argv[i][1] != '\0')
			bad = memory_option(&opts, argc, argv, &i);
		else
			traces[count++] = argv[i];
	}
	if (!bad && count == 0)
		bad = mp_option_error("memory", "no trace given");
	if (bad) {
		free(traces);
		return MP_EXIT_USAGE;
	}
	json_t *documents = json_array();
	for (int i = 0; i < count; i++)
		bad |= memory_one(&opts, traces[i], documents, i == 0);
	if (opts.json && json_array_size(documents)) {
		json_dumpf(count > 1 ? documents : json_array_get(documents, 0), stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(documents);
	free(traces);
	if (fflush(stdout) != 0)
		return MP_EXIT_USAGE;
	return bad ? MP_EXIT_USAGE : 0;
}
