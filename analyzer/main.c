/* main.c: the memprof command line: parses arguments and picks exit codes, nothing else.
 *
 * Exit codes: 0 success; 1 `leaks --fail-on-leak` found leaks; 2 usage error or a trace
 * that cannot be read; `run` passes the program's own status through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "report_memory.h"
#include "run.h"

#define EXIT_LEAKS 1
#define EXIT_BAD_INPUT 2

enum main_command { MAIN_REPORT, MAIN_LEAKS, MAIN_FLAMEGRAPH };

struct main_options {
	enum main_command command;
	int json;
	int full_stacks;               /* --full-stacks: keep the runtime's root frames */
	int fail_on_leak;
	unsigned fail_kinds;           /* leaks: kinds that make --fail-on-leak fail */
	unsigned shown_kinds;          /* leaks: kinds listed (--show-reachable adds one) */
	struct mp_suppressions supp;   /* leaks: --suppressions and MEMPROF_SUPPRESSIONS */
	size_t check;                  /* leaks: --check N, from 1; 0: at exit, else the last */
	enum mp_stack_metric metric;
	char **traces;
	int trace_count;
};

static const char main_usage[] =
	"usage: memprof run [--output PATTERN] [--sample BYTES] [--leak-check-signal SIG]\n"
	"                   -- PROGRAM [ARGS...]\n"
	"       memprof report [--json] [--full-stacks] TRACE...\n"
	"       memprof leaks [--json] [--full-stacks] [--show-reachable]\n"
	"                     [--suppressions FILE] [--no-default-suppressions]\n"
	"                     [--fail-on-leak[=KIND,...]] [--check N] TRACE...\n"
	"       memprof flamegraph [--json] [--full-stacks]\n"
	"                          [--metric allocated|leaked|peak|calls] TRACE...\n"
	"       memprof memory [--json] [--full-stacks] [--snapshot exit|peak|N] TRACE...\n"
	"See docs/usage.md.\n";

static int main_usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "memprof: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, " (see 'memprof --help')\n");
	return EXIT_BAD_INPUT;
}

/* memprof run [--output PATTERN] [--sample BYTES] [--] PROGRAM ARGS... */
static int main_run(int argc, char **argv)
{
	const char *output = NULL;
	int i = 0;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc) {
			/* The library reads it (and its k/m/g suffixes) in the program. */
			if (setenv("MEMPROF_SAMPLE_BYTES", argv[i + 1], 1))
				return main_usage_error("run: cannot set --sample '%s'", argv[i + 1]);
			i += 2;
		} else if (strcmp(argv[i], "--leak-check-signal") == 0 && i + 1 < argc) {
			/* The library parses the name (or number) in the program. */
			if (setenv("MEMPROF_LEAK_CHECK_SIGNAL", argv[i + 1], 1))
				return main_usage_error("run: cannot set --leak-check-signal '%s'",
							argv[i + 1]);
			i += 2;
		} else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
			output = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--output=", 9) == 0) {
			output = argv[i] + 9;
			i++;
		} else {
			return main_usage_error("run: unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		return main_usage_error("run: no program given%s", "");
	return mp_run(argv + i, output);
}

/* Blocks that glibc itself keeps until exit and that only valgrind, which makes glibc free
 * them through __libc_freeres, does not report: the TLS vector of every thread that ever
 * ran, kept with the thread's cached stack (reached by an interior pointer, so "possibly
 * lost"). Reported as suppressed by "(built-in)"; --no-default-suppressions shows them. */
static const char default_suppressions[] = "function:*_dl_allocate_tls\n";

static int main_default_suppressions(struct main_options *opts)
{
	char err[512];
	if (mp_suppressions_parse(&opts->supp, "(built-in)", default_suppressions, err,
				  sizeof(err)) < 0) {
		fprintf(stderr, "memprof: built-in suppressions: %s\n", err);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* Whether `option` is among the arguments (before a "--"). */
static int main_has_option(int argc, char **argv, const char *option)
{
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], option) == 0)
			return 1;
	return 0;
}

/* Adds the rules of a suppressions file; a file that cannot be used is an input error. */
static int main_suppressions(struct main_options *opts, const char *path)
{
	char err[512];

	if (mp_suppressions_load(&opts->supp, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: cannot use suppressions %s\n", err);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

static int main_option(struct main_options *opts, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];

	if (strcmp(arg, "--json") == 0)
		opts->json = 1;
	else if (strcmp(arg, "--full-stacks") == 0)
		opts->full_stacks = 1;
	else if (strcmp(arg, "--fail-on-leak") == 0 && opts->command == MAIN_LEAKS)
		opts->fail_on_leak = 1;
	else if (strncmp(arg, "--fail-on-leak=", 15) == 0 && opts->command == MAIN_LEAKS) {
		opts->fail_on_leak = 1;
		if (mp_leak_kind_set_parse(arg + 15, &opts->fail_kinds))
			return main_usage_error("unknown leak kinds '%s' (definite, indirect, "
						"possible, reachable, unknown, all)", arg + 15);
	} else if (strcmp(arg, "--no-default-suppressions") == 0 && opts->command == MAIN_LEAKS) {
		/* handled before the other options (main_has_option) */
	} else if (strcmp(arg, "--check") == 0 && opts->command == MAIN_LEAKS && *i + 1 < argc) {
		char *end;
		unsigned long check = strtoul(argv[++*i], &end, 10);
		if (*end || check == 0 || argv[*i][0] == '-')
			return main_usage_error("--check wants a check's number, from 1: '%s'",
						argv[*i]);
		opts->check = check;
	} else if (strcmp(arg, "--show-reachable") == 0 && opts->command == MAIN_LEAKS)
		opts->shown_kinds |= 1u << MP_LEAK_KIND_REACHABLE;
	else if ((strcmp(arg, "--suppressions") == 0 && *i + 1 < argc) ||
		 strncmp(arg, "--suppressions=", 15) == 0) {
		if (opts->command != MAIN_LEAKS)
			return main_usage_error("unknown option '%s'", arg);
		return main_suppressions(opts, arg[14] == '=' ? arg + 15 : argv[++*i]);
	}
	else if (strcmp(arg, "--metric") == 0 && opts->command == MAIN_FLAMEGRAPH && *i + 1 < argc) {
		if (mp_stack_metric_parse(argv[++*i], &opts->metric))
			return main_usage_error("unknown metric '%s'", argv[*i]);
	} else if (strncmp(arg, "--metric=", 9) == 0 && opts->command == MAIN_FLAMEGRAPH) {
		if (mp_stack_metric_parse(arg + 9, &opts->metric))
			return main_usage_error("unknown metric '%s'", arg + 9);
	} else
		return main_usage_error("unknown option '%s'", arg);
	return 0;
}

/* Options may come before or after the traces; "--" ends them. */
static int main_parse(struct main_options *opts, int argc, char **argv)
{
	int options_done = 0;

	opts->traces = calloc((size_t)argc + 1, sizeof(*opts->traces));
	if (!opts->traces)
		return EXIT_BAD_INPUT;
	for (int i = 0; i < argc; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0)
			options_done = 1;
		else if (!options_done && argv[i][0] == '-' && argv[i][1] == '-') {
			int code = main_option(opts, argc, argv, &i);
			if (code)
				return code;
		} else
			opts->traces[opts->trace_count++] = argv[i];
	}
	if (opts->trace_count == 0)
		return main_usage_error("no trace given%s", "");
	return 0;
}

/* Prints one trace's result; returns 1 if it has leaks (for --fail-on-leak). */
static int main_text(const struct main_options *opts, struct mp_analysis *analysis,
		     const struct mp_leak_list *list)
{
	mp_report_text_warnings(stderr, analysis);
	switch (opts->command) {
	case MAIN_REPORT:
		mp_report_text(stdout, analysis);
		break;
	case MAIN_LEAKS:
		mp_leaks_text(stdout, analysis, list, opts->shown_kinds);
		return mp_leaks_any(list, opts->fail_kinds);
	case MAIN_FLAMEGRAPH:
		if (mp_folded_write(stdout, analysis, opts->metric))
			fprintf(stderr, "memprof: cannot write the folded stacks\n");
		break;
	}
	return analysis->model.totals.live_blocks > 0;
}

static json_t *main_json(const struct main_options *opts, struct mp_analysis *analysis,
			 const struct mp_leak_list *list)
{
	mp_report_text_warnings(stderr, analysis);
	switch (opts->command) {
	case MAIN_REPORT:
		return mp_report_json(analysis);
	case MAIN_LEAKS:
		return mp_leaks_json(analysis, list, opts->shown_kinds);
	case MAIN_FLAMEGRAPH:
		return mp_folded_json(analysis, opts->metric);
	}
	return NULL;
}

/* One JSON document: an object for one trace, an array of them for several. */
static void main_print_json(json_t *documents, int several)
{
	json_t *root = several ? documents : json_array_get(documents, 0);

	if (root)
		json_dumpf(root, stdout, JSON_INDENT(2));
	putchar('\n');
}

static int main_analyze(const struct main_options *opts)
{
	json_t *documents = json_array();
	int bad = 0, leaked = 0;

	for (int i = 0; i < opts->trace_count; i++) {
		struct mp_analysis analysis;
		char err[256];
		unsigned flags = MP_ANALYSIS_SYMBOLS | (opts->full_stacks ? MP_ANALYSIS_FULL_STACKS : 0);
		if (mp_analysis_run(opts->traces[i], &analysis, flags, err, sizeof(err)) < 0) {
			fprintf(stderr, "memprof: cannot read '%s': %s\n", opts->traces[i], err);
			bad = 1;
			continue;
		}
		struct mp_leak_list list = { 0 };
		int rc = opts->command == MAIN_LEAKS
				 ? mp_leaks_compute(&analysis, &opts->supp, opts->check, &list) : 0;
		if (rc == -ERANGE)
			fprintf(stderr, "memprof: '%s' has %zu leak checks, no check %zu\n",
				opts->traces[i], list.kinds.checks, opts->check);
		else if (rc)
			fprintf(stderr, "memprof: cannot read '%s': out of memory\n", opts->traces[i]);
		if (rc) {
			bad = 1;
			mp_leaks_free(&list);
			mp_analysis_destroy(&analysis);
			continue;
		}
		if (!opts->json && i > 0)
			putchar('\n');
		if (opts->json)
			json_array_append_new(documents, main_json(opts, &analysis, &list));
		else
			main_text(opts, &analysis, &list);
		leaked |= opts->command == MAIN_LEAKS ? mp_leaks_any(&list, opts->fail_kinds)
						      : analysis.model.totals.live_blocks > 0;
		mp_leaks_free(&list);
		mp_analysis_destroy(&analysis);
	}
	if (opts->json && json_array_size(documents))
		main_print_json(documents, opts->trace_count > 1);
	json_decref(documents);
	if (fflush(stdout) != 0)
		return EXIT_BAD_INPUT;
	if (bad)
		return EXIT_BAD_INPUT;
	return opts->fail_on_leak && leaked ? EXIT_LEAKS : 0;
}

int main(int argc, char **argv)
{
	struct main_options opts = { .metric = MP_METRIC_ALLOCATED,
				     .fail_kinds = MP_LEAK_DEFAULT_SHOWN,
				     .shown_kinds = MP_LEAK_DEFAULT_SHOWN };
	int code;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(main_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_BAD_INPUT : 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return main_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "memory") == 0)
		return mp_memory_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "report") == 0)
		opts.command = MAIN_REPORT;
	else if (strcmp(argv[1], "leaks") == 0)
		opts.command = MAIN_LEAKS;
	else if (strcmp(argv[1], "flamegraph") == 0)
		opts.command = MAIN_FLAMEGRAPH;
	else
		return main_usage_error("unknown command '%s'", argv[1]);
	const char *env_supp = getenv("MEMPROF_SUPPRESSIONS");
	code = 0;
	if (opts.command == MAIN_LEAKS && !main_has_option(argc, argv, "--no-default-suppressions"))
		code = main_default_suppressions(&opts);
	if (!code && opts.command == MAIN_LEAKS && env_supp && *env_supp)
		code = main_suppressions(&opts, env_supp);
	if (!code)
		code = main_parse(&opts, argc - 2, argv + 2);
	if (!code)
		code = main_analyze(&opts);
	mp_suppressions_free(&opts.supp);
	free(opts.traces);
	return code;
}
