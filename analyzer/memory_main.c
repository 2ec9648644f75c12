/* memory_main.c: the command line of `memprof memory` (main.c hands it its arguments).
 *
 *   memprof memory [--snapshot exit|peak|heap-peak|N] [--json] [--full-stacks] TRACE...
 *
 * Exit codes as main.c's: 0, or 2 for a usage error or a trace that cannot be read or
 * has no such snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_memory.h"

#define MEMORY_EXIT_BAD_INPUT 2

struct memory_options {
	enum mp_memory_pick pick;
	size_t index;
	int json;
	int full_stacks;
};

static int memory_usage(const char *what, const char *arg)
{
	fprintf(stderr, "memprof: memory: %s '%s' (see 'memprof --help')\n", what, arg);
	return MEMORY_EXIT_BAD_INPUT;
}

static int memory_pick_parse(struct memory_options *opts, const char *text)
{
	char *end;
	if (strcmp(text, "exit") == 0) {
		opts->pick = MP_PICK_EXIT;
	} else if (strcmp(text, "peak") == 0) {
		opts->pick = MP_PICK_PEAK;
	} else if (strcmp(text, "heap-peak") == 0) {
		opts->pick = MP_PICK_HEAP_PEAK;
	} else {
		unsigned long value = strtoul(text, &end, 10);
		if (!*text || *end || value == 0)
			return memory_usage("--snapshot takes exit, peak, heap-peak or a number from 1, "
					    "not", text);
		opts->pick = MP_PICK_INDEX;
		opts->index = value;
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
		json_array_append_new(documents, mp_memory_json(&report));
	} else {
		if (!first)
			putchar('\n');
		mp_memory_text(stdout, &report);
	}
	mp_memory_report_destroy(&report);
	return 0;
}

int mp_memory_main(int argc, char **argv)
{
	struct memory_options opts = { MP_PICK_DEFAULT, 0, 0, 0 };
	const char **traces = calloc((size_t)argc + 1, sizeof(*traces));
	int count = 0, bad = 0, options_done = 0;
	if (!traces)
		return MEMORY_EXIT_BAD_INPUT;
	for (int i = 0; i < argc && !bad; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0)
			options_done = 1;
		else if (!options_done && strcmp(argv[i], "--json") == 0)
			opts.json = 1;
		else if (!options_done && strcmp(argv[i], "--full-stacks") == 0)
			opts.full_stacks = 1;
		else if (!options_done && strcmp(argv[i], "--snapshot") == 0 && i + 1 < argc)
			bad = memory_pick_parse(&opts, argv[++i]);
		else if (!options_done && strncmp(argv[i], "--snapshot=", 11) == 0)
			bad = memory_pick_parse(&opts, argv[i] + 11);
		else if (!options_done && argv[i][0] == '-' && argv[i][1] == '-')
			bad = memory_usage("unknown option", argv[i]);
		else
			traces[count++] = argv[i];
	}
	if (!bad && count == 0)
		bad = memory_usage("no trace given", "");
	if (bad) {
		free(traces);
		return MEMORY_EXIT_BAD_INPUT;
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
		return MEMORY_EXIT_BAD_INPUT;
	return bad ? MEMORY_EXIT_BAD_INPUT : 0;
}
