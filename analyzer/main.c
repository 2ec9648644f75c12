/* main.c: the memprof command line: parses arguments and picks exit codes, nothing else.
 *
 * Exit codes: 0 success; 1 `leaks --fail-on-leak` found leaks or an incomplete trace; 2
 * usage error or a trace that cannot be read; `run` passes the program's own status
 * through. Every option that takes a value takes it as "--option VALUE" or
 * "--option=VALUE"; "--help" after any command prints its usage on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "options.h"
#include "pprof_main.h"
#include "report.h"
#include "html_page.h"
#include "report_diff.h"
#include "report_memory.h"
#include "run.h"
#include "run_push.h"
#include "usage.h"

#define EXIT_LEAKS 1

enum main_command { MAIN_REPORT, MAIN_LEAKS, MAIN_FLAMEGRAPH };

struct main_options {
	enum main_command command;
	const char *name;              /* the command's name, for messages */
	int json;
	int full_stacks;               /* --full-stacks: keep the runtime's root frames */
	int fail_on_leak;
	size_t check;                  /* leaks: --check N, from 1; 0: at exit, else the last */
	unsigned fail_kinds;           /* leaks: kinds that make --fail-on-leak fail */
	struct mp_report_options report;
	struct mp_suppressions supp;   /* --suppressions, MEMPROF_SUPPRESSIONS, built-in */
	char **traces;
	int trace_count;
};

/* Whether "--help" or "-h" is among the arguments (before a "--"). */
static int main_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (mp_option_is_help(argv[i]))
			return 1;
	return 0;
}

/* --output, --sample, --quiet-children, --follow: 1 if argv[*i] was one, 0 if not, or
 * an exit code (as -code) for a bad one. */
static int main_run_option(int argc, char **argv, int *i, struct mp_run_options *opts)
{
	const char *value = NULL;
	uint64_t bytes;
	int got;

	if (strcmp(argv[*i], "--quiet-children") == 0)
		return opts->quiet_children = 1;
	if ((got = mp_option_value(argc, argv, i, "--output", &value)) != 0) {
		if (got < 0 || !*value)
			return -mp_option_error("run", "--output needs a file name pattern");
		opts->output = value;
		return 1;
	}
	if ((got = mp_option_value(argc, argv, i, "--leak-check-signal", &value)) != 0) {
		/* The library parses the name (or number) in the program. */
		if (got < 0 || !*value)
			return -mp_option_error("run", "--leak-check-signal needs a signal (SIGUSR1, "
						"USR1 or a number)");
		if (setenv("MEMPROF_LEAK_CHECK_SIGNAL", value, 1))
			return -mp_option_error("run", "cannot set MEMPROF_LEAK_CHECK_SIGNAL: %s",
						strerror(errno));
		return 1;
	}
	if ((got = mp_option_value(argc, argv, i, "--follow", &value)) != 0) {
		if (got < 0 || !*value)
			return -mp_option_error("run", "--follow needs an executable name");
		opts->follow = value;
		return 1;
	}
	if ((got = mp_option_value(argc, argv, i, "--sample", &value)) != 0) {
		if (got < 0)
			return -mp_option_error("run", "--sample needs a size in bytes");
		if (mp_option_size(value, &bytes))
			return -mp_option_error("run", "--sample takes a size in bytes such as "
					       "524288, 512k, 2m or 1g, not '%s'", value);
		opts->sample = value;
		return 1;
	}
	return 0;
}

/* A MEMPROF_SAMPLE_BYTES inherited from the environment is checked like --sample: the
 * library would take a value it cannot read for "no sampling", silently. */
static int main_run_sample_env(const struct mp_run_options *opts)
{
	const char *env = getenv("MEMPROF_SAMPLE_BYTES");
	uint64_t bytes;

	if (opts->sample || !env || !*env || mp_option_size(env, &bytes) == 0)
		return 0;
	return mp_option_error("run", "MEMPROF_SAMPLE_BYTES='%s' is not a size in bytes such as "
			       "524288, 512k, 2m or 1g", env);
}

/* memprof run [OPTIONS] [--] PROGRAM ARGS... */
static int main_run(int argc, char **argv)
{
	struct mp_run_options opts = { 0 };
	struct mp_run_push push = { 0 };
	int i = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		/* Only before the program: after it, --help is the program's. */
		if (mp_option_is_help(argv[i]))
			return mp_usage(stdout, "run");
		/* --push, --push-interval, --app, --label (run_push.h). */
		int used = mp_run_push_option(&push, argc - i, argv + i);
		if (used < 0)
			return MP_EXIT_USAGE;
		if (used > 0) {
			i += used - 1;
			continue;
		}
		int got = main_run_option(argc, argv, &i, &opts);
		if (got < 0)
			return -got;
		if (got == 0)
			return mp_option_error("run", "unknown option '%s'", argv[i]);
	}
	if (opts.quiet_children && opts.follow)
		return mp_option_error("run", "--quiet-children and --follow %s exclude each other",
				       opts.follow);
	if (i >= argc)
		return mp_option_error("run", "no program given");
	if (main_run_sample_env(&opts))
		return MP_EXIT_USAGE;
	if (opts.sample && setenv("MEMPROF_SAMPLE_BYTES", opts.sample, 1))
		return mp_option_error("run", "cannot set MEMPROF_SAMPLE_BYTES: %s", strerror(errno));
	opts.push = push.url ? &push : NULL;
	return mp_run(argv + i, &opts);
}

/* Whether `option` is among the arguments (before a "--"). */
static int main_has_option(int argc, char **argv, const char *option)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
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
		return MP_EXIT_USAGE;
	}
	return 0;
}

/* The rules in force: built-in (unless --no-default-suppressions), MEMPROF_SUPPRESSIONS,
 * then every --suppressions in order (main_option). */
static int main_default_rules(struct main_options *opts, int argc, char **argv)
{
	const char *env = getenv("MEMPROF_SUPPRESSIONS");
	char err[512];

	if (!main_has_option(argc, argv, "--no-default-suppressions") &&
	    mp_leaks_default_suppressions(&opts->supp, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: built-in suppressions: %s\n", err);
		return MP_EXIT_USAGE;
	}
	return env && *env ? main_suppressions(opts, env) : 0;
}

/* The options that take a value: 1 if argv[*i] was one (and is applied), 0 if not, or
 * -code for a bad one. */
static int main_value_option(struct main_options *opts, int argc, char **argv, int *i)
{
	const char *value = NULL, *name = opts->name;
	uint64_t count;
	int got;

	if ((got = mp_option_value(argc, argv, i, "--top", &value)) != 0) {
		if (got < 0 || mp_option_count(value, SIZE_MAX, &count))
			return -mp_option_error(name, "--top takes a count of call stacks (0: all), "
						"not '%s'", got < 0 ? "" : value);
		opts->report.top = (size_t)count;
		return 1;
	}
	if ((got = mp_option_value(argc, argv, i, "--suppressions", &value)) != 0) {
		if (got < 0 || !*value)
			return -mp_option_error(name, "--suppressions needs a file");
		return main_suppressions(opts, value) ? -MP_EXIT_USAGE : 1;
	}
	if (opts->command == MAIN_FLAMEGRAPH &&
	    (got = mp_option_value(argc, argv, i, "--metric", &value)) != 0) {
		if (got < 0 || mp_stack_metric_parse(value, &opts->report.metric))
			return -mp_option_error(name, "unknown metric '%s' (allocated, calls, peak, "
						"leaked, unfreed)", got < 0 ? "" : value);
		return 1;
	}
	if (opts->command == MAIN_LEAKS &&
	    (got = mp_option_value(argc, argv, i, "--check", &value)) != 0) {
		if (got < 0 || mp_option_count(value, SIZE_MAX, &count) || count == 0)
			return -mp_option_error(name, "--check takes a check's number, from 1, not "
						"'%s'", got < 0 ? "" : value);
		opts->check = (size_t)count;
		return 1;
	}
	if (opts->command == MAIN_LEAKS && strncmp(argv[*i], "--fail-on-leak=", 15) == 0) {
		opts->fail_on_leak = 1;
		if (mp_leak_kind_set_parse(argv[*i] + 15, &opts->fail_kinds))
			return -mp_option_error(name, "unknown leak kinds '%s' (definite, indirect, "
						"possible, reachable, unknown, all)", argv[*i] + 15);
		return 1;
	}
	return 0;
}

/* One option; 0, or an exit code. */
static int main_option(struct main_options *opts, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	int got = main_value_option(opts, argc, argv, i);

	if (got)
		return got < 0 ? -got : 0;
	if (strcmp(arg, "--json") == 0)
		opts->json = 1;
	else if (strcmp(arg, "--full-stacks") == 0)
		opts->full_stacks = 1;
	else if (strcmp(arg, "--long-names") == 0 && opts->command != MAIN_FLAMEGRAPH)
		opts->report.long_names = 1;
	else if (strcmp(arg, "--no-default-suppressions") == 0)
		; /* applied before the other options (main_default_rules) */
	else if (strcmp(arg, "--fail-on-leak") == 0 && opts->command == MAIN_LEAKS)
		opts->fail_on_leak = 1;
	else if (strcmp(arg, "--show-reachable") == 0 && opts->command == MAIN_LEAKS)
		opts->report.shown |= 1u << MP_LEAK_KIND_REACHABLE;
	else
		return mp_option_error(opts->name, "unknown option '%s'", arg);
	return 0;
}

/* Options may come before or after the traces; "--" ends them. */
static int main_parse(struct main_options *opts, int argc, char **argv)
{
	int options_done = 0;

	opts->traces = calloc((size_t)argc + 1, sizeof(*opts->traces));
	if (!opts->traces)
		return MP_EXIT_USAGE;
	for (int i = 0; i < argc; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0)
			options_done = 1;
		else if (!options_done && argv[i][0] == '-' && argv[i][1] != '\0') {
			int code = main_option(opts, argc, argv, &i);
			if (code)
				return code;
		} else
			opts->traces[opts->trace_count++] = argv[i];
	}
	if (opts->trace_count == 0)
		return mp_option_error(opts->name, "no trace given");
	return 0;
}

/* Prints one trace's result. */
static void main_text(const struct main_options *opts, struct mp_analysis *analysis,
		      const struct mp_leak_list *list)
{
	switch (opts->command) {
	case MAIN_REPORT:
		mp_report_text(stdout, analysis, list, &opts->report);
		break;
	case MAIN_LEAKS:
		mp_leaks_text(stdout, analysis, list, &opts->report);
		break;
	case MAIN_FLAMEGRAPH:
		if (mp_folded_write(stdout, analysis, &opts->report))
			fprintf(stderr, "memprof: cannot write the folded stacks\n");
		break;
	}
}

static json_t *main_json(const struct main_options *opts, struct mp_analysis *analysis,
			 const struct mp_leak_list *list)
{
	switch (opts->command) {
	case MAIN_REPORT:
		return mp_report_json(analysis, list, &opts->report);
	case MAIN_LEAKS:
		return mp_leaks_json(analysis, list, &opts->report);
	case MAIN_FLAMEGRAPH:
		return mp_folded_json(analysis, &opts->report);
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

/* Whether the trace fails --fail-on-leak; says why when it is incomplete, since what is
 * missing may hold the leak and the gate cannot pass on part of a trace. */
static int main_gate(const struct main_options *opts, const char *path,
		     const struct mp_analysis *analysis, const struct mp_leak_list *list)
{
	if (opts->command != MAIN_LEAKS || !opts->fail_on_leak)
		return 0;
	if (mp_trace_header(analysis->trace)->flags & MP_TRACE_FOREIGN_MALLOC) {
		/* Passing would be a lie: the heap was never seen. */
		fprintf(stderr, "memprof: cannot check leaks in '%s': the program's malloc was not "
				"memprof's, so no allocation was recorded\n", path);
		return -1;
	}
	if (!analysis->complete) {
		fprintf(stderr, "memprof: leaks: --fail-on-leak fails: trace '%s' is incomplete "
				"(%s), so its leaks cannot all be known\n", path, analysis->stop_reason);
		return 1;
	}
	return mp_leaks_any(list, opts->fail_kinds);
}

/* Analyzes trace i and prints it (text) or adds its document; 0, 1 (fails the gate) or
 * -1 (cannot be read). */
static int main_one(const struct main_options *opts, int i, json_t *documents)
{
	struct mp_analysis analysis;
	struct mp_leak_list list = { 0 };
	char err[256];
	unsigned flags = MP_ANALYSIS_SYMBOLS | (opts->full_stacks ? MP_ANALYSIS_FULL_STACKS : 0);

	if (mp_analysis_run(opts->traces[i], &analysis, flags, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: cannot read '%s': %s\n", opts->traces[i], err);
		return -1;
	}
	int rc = mp_leaks_compute(&analysis, &opts->supp, opts->check, &list);
	if (rc) {
		if (rc == -ERANGE)
			fprintf(stderr, "memprof: '%s' has %zu leak checks, no check %zu\n",
				opts->traces[i], list.kinds.checks, opts->check);
		else
			fprintf(stderr, "memprof: cannot read '%s': out of memory\n", opts->traces[i]);
		mp_leaks_free(&list);
		mp_analysis_destroy(&analysis);
		return -1;
	}
	mp_report_text_warnings(stderr, &analysis);
	if (opts->json)
		json_array_append_new(documents, main_json(opts, &analysis, &list));
	else {
		if (i > 0)
			putchar('\n');
		main_text(opts, &analysis, &list);
	}
	int failed = main_gate(opts, opts->traces[i], &analysis, &list);
	mp_leaks_free(&list);
	mp_analysis_destroy(&analysis);
	return failed;
}

static int main_analyze(const struct main_options *opts)
{
	json_t *documents = json_array();
	int bad = 0, failed = 0;

	for (int i = 0; i < opts->trace_count; i++) {
		int got = main_one(opts, i, documents);
		bad |= got < 0;
		failed |= got > 0;
	}
	if (opts->json && json_array_size(documents))
		main_print_json(documents, opts->trace_count > 1);
	json_decref(documents);
	if (fflush(stdout) != 0 || bad)
		return MP_EXIT_USAGE;
	return failed ? EXIT_LEAKS : 0;
}

/* report, leaks and flamegraph. */
static int main_traces(enum main_command command, const char *name, int argc, char **argv)
{
	struct main_options opts = {
		.command = command, .name = name, .fail_kinds = MP_LEAK_DEFAULT_SHOWN,
		.report = { .top = command == MAIN_REPORT ? MP_REPORT_TOP : 0,
			    .shown = MP_LEAK_DEFAULT_SHOWN, .metric = MP_METRIC_ALLOCATED },
	};
	int code = main_default_rules(&opts, argc, argv);

	if (!code)
		code = main_parse(&opts, argc, argv);
	if (!code)
		code = main_analyze(&opts);
	mp_suppressions_free(&opts.supp);
	free(opts.traces);
	return code;
}

int main(int argc, char **argv)
{
	const char *command = argc > 1 ? argv[1] : NULL;

	if (!command) {
		mp_usage(stderr, NULL);
		return MP_EXIT_USAGE;
	}
	if (mp_option_is_help(command) || strcmp(command, "help") == 0) {
		/* "memprof help run" prints what "memprof run --help" prints. */
		if (argc > 2 && mp_usage(stdout, argv[2]) < 0)
			return mp_option_error(NULL, "unknown command '%s'", argv[2]);
		if (argc <= 2)
			mp_usage(stdout, NULL);
		return 0;
	}
	if (strcmp(command, "--version") == 0 || strcmp(command, "-V") == 0) {
		mp_version(stdout);
		return 0;
	}
	if (strcmp(command, "run") == 0)
		return main_run(argc - 2, argv + 2);
	if (strcmp(command, "memory") == 0)
		return mp_memory_main(argc - 2, argv + 2);
	if (strcmp(command, "diff") == 0 || strcmp(command, "html") == 0) {
		if (main_wants_help(argc - 2, argv + 2))
			return mp_usage(stdout, command);
		return command[0] == 'd' ? mp_diff_main(argc - 2, argv + 2)
					 : mp_html_main(argc - 2, argv + 2);
	}
	if (strcmp(command, "pprof") == 0 || strcmp(command, "push") == 0) {
		if (main_wants_help(argc - 2, argv + 2))
			return mp_usage(stdout, command);
		return command[1] == 'p' ? mp_pprof_main(argc - 2, argv + 2)
					 : mp_push_main(argc - 2, argv + 2);
	}
	static const struct { const char *name; enum main_command command; } commands[] = {
		{ "report", MAIN_REPORT }, { "leaks", MAIN_LEAKS }, { "flamegraph", MAIN_FLAMEGRAPH },
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(command, commands[i].name) != 0)
			continue;
		if (main_wants_help(argc - 2, argv + 2)) {
			mp_usage(stdout, command);
			return 0;
		}
		return main_traces(commands[i].command, commands[i].name, argc - 2, argv + 2);
	}
	return mp_option_error(NULL, "unknown command '%s'", command);
}
