/* pprof_main.c: the command lines of `memprof pprof` and `memprof push` (main.c hands
 * them their arguments).
 *
 *   memprof pprof [--snapshot exit|peak|N] [--full-stacks] -o FILE TRACE
 *   memprof push --url URL [--app NAME] [--label KEY=VALUE]... [--timeout SECONDS]
 *                [--snapshot exit|peak|N] [--full-stacks] TRACE
 *
 * Exit codes: 0; 1 (push) the server could not be reached or did not answer 2xx; 2 usage
 * error or a trace that cannot be read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "pprof_encode.h"
#include "pprof_main.h"
#include "push.h"

#define PPROF_EXIT_BAD_INPUT 2
#define PPROF_MAX_LABELS 64
#define PPROF_DEFAULT_TIMEOUT_S 10.0

struct pprof_cli {
	const char *command;        /* "pprof" or "push" */
	struct mp_pprof_options options;
	const char *output;         /* pprof: -o */
	const char *trace;
	const char *url, *app;      /* push */
	const char *labels[PPROF_MAX_LABELS];
	size_t label_count;
	double timeout_s;
};

static int pprof_usage(const struct pprof_cli *cli, const char *what, const char *arg)
{
	fprintf(stderr, "memprof: %s: %s%s%s%s (see 'memprof --help')\n", cli->command, what,
		*arg ? " '" : "", arg, *arg ? "'" : "");
	return PPROF_EXIT_BAD_INPUT;
}

static int pprof_pick(struct pprof_cli *cli, const char *text)
{
	char *end;
	cli->options.pick_required = 1;
	if (strcmp(text, "exit") == 0) {
		cli->options.pick = MP_PICK_EXIT;
		return 0;
	}
	if (strcmp(text, "peak") == 0) {
		cli->options.pick = MP_PICK_PEAK;
		return 0;
	}
	unsigned long value = strtoul(text, &end, 10);
	if (!*text || *end || value == 0)
		return pprof_usage(cli, "--snapshot takes exit, peak or a number from 1, not", text);
	cli->options.pick = MP_PICK_INDEX;
	cli->options.index = value;
	return 0;
}

static int pprof_label(struct pprof_cli *cli, const char *label)
{
	if (mp_push_label_check(label))
		return pprof_usage(cli, "a label is KEY=VALUE (KEY of letters, digits and _, a "
				   "VALUE without , { } =), not", label);
	if (cli->label_count == PPROF_MAX_LABELS)
		return pprof_usage(cli, "too many labels", "");
	cli->labels[cli->label_count++] = label;
	return 0;
}

static int pprof_timeout(struct pprof_cli *cli, const char *text)
{
	char *end;
	double value = strtod(text, &end);
	if (!*text || *end || !(value > 0 && value <= 3600))
		return pprof_usage(cli, "--timeout takes seconds (0 < s <= 3600), not", text);
	cli->timeout_s = value;
	return 0;
}

/* One option at argv[*i]: 0, or an exit code after a message. */
static int pprof_option(struct pprof_cli *cli, int argc, char **argv, int *i)
{
	int push = strcmp(cli->command, "push") == 0;
	const char *value;
	int missing = 0;
	if (strcmp(argv[*i], "--full-stacks") == 0)
		cli->options.full_stacks = 1;
	else if ((value = mp_option_arg(argc, argv, i, "--snapshot", &missing)))
		return pprof_pick(cli, value);
	else if (!push && ((value = mp_option_arg(argc, argv, i, "-o", &missing)) ||
			   (value = mp_option_arg(argc, argv, i, "--output", &missing))))
		cli->output = value;
	else if (push && (value = mp_option_arg(argc, argv, i, "--url", &missing)))
		cli->url = value;
	else if (push && (value = mp_option_arg(argc, argv, i, "--app", &missing))) {
		if (mp_push_app_check(value))
			return pprof_usage(cli, "an application name has no spaces nor , { } =, "
					   "unlike", value);
		cli->app = value;
	} else if (push && (value = mp_option_arg(argc, argv, i, "--label", &missing)))
		return pprof_label(cli, value);
	else if (push && (value = mp_option_arg(argc, argv, i, "--timeout", &missing)))
		return pprof_timeout(cli, value);
	else
		return pprof_usage(cli, missing ? "a value must follow" : "unknown option", argv[*i]);
	return 0;
}

static int pprof_parse(struct pprof_cli *cli, int argc, char **argv)
{
	int options_done = 0;
	for (int i = 0; i < argc; i++) {
		if (!options_done && strcmp(argv[i], "--") == 0) {
			options_done = 1;
		} else if (!options_done && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "-")) {
			int code = pprof_option(cli, argc, argv, &i);
			if (code)
				return code;
		} else if (cli->trace) {
			return pprof_usage(cli, "one trace at a time; a second one", argv[i]);
		} else {
			cli->trace = argv[i];
		}
	}
	if (!cli->trace)
		return pprof_usage(cli, "no trace given", "");
	return 0;
}

/* Reads the trace and encodes its profile. 0 or PPROF_EXIT_BAD_INPUT after a message. */
static int pprof_make(const struct pprof_cli *cli, struct mp_pprof *profile, uint8_t **data,
		      size_t *size)
{
	char err[512];
	if (mp_pprof_from_trace(cli->trace, &cli->options, profile, err, sizeof(err)) < 0) {
		fprintf(stderr, "memprof: cannot read '%s': %s\n", cli->trace, err);
		return PPROF_EXIT_BAD_INPUT;
	}
	if (mp_pprof_encode(profile, data, size)) {
		fprintf(stderr, "memprof: %s: out of memory encoding the profile\n", cli->command);
		mp_pprof_free(profile);
		return PPROF_EXIT_BAD_INPUT;
	}
	return 0;
}

static int pprof_write(const char *path, const uint8_t *data, size_t size)
{
	int to_stdout = strcmp(path, "-") == 0;
	FILE *out = to_stdout ? stdout : fopen(path, "wbe");
	if (!out) {
		fprintf(stderr, "memprof: cannot write '%s': %s\n", path, strerror(errno));
		return PPROF_EXIT_BAD_INPUT;
	}
	int bad = fwrite(data, 1, size, out) != size;
	bad |= to_stdout ? fflush(out) != 0 : fclose(out) != 0;
	if (bad) {
		fprintf(stderr, "memprof: cannot write '%s': %s\n", path, strerror(errno));
		return PPROF_EXIT_BAD_INPUT;
	}
	return 0;
}

/* What both commands start with: the command line, which must give *required (read once
 * parsed; else `if_missing` is said), then the profile, encoded. 0 or an exit code after a
 * message. */
static int pprof_start(struct pprof_cli *cli, int argc, char **argv, const char *const *required,
		       const char *if_missing, struct mp_pprof *profile, uint8_t **data,
		       size_t *size)
{
	int code = pprof_parse(cli, argc, argv);
	if (!code && !*required)
		code = pprof_usage(cli, if_missing, "");
	return code ? code : pprof_make(cli, profile, data, size);
}

int mp_pprof_main(int argc, char **argv)
{
	struct pprof_cli cli = { .command = "pprof", .options = { .pick = MP_PICK_DEFAULT } };
	struct mp_pprof profile;
	uint8_t *data;
	size_t size;
	int code = pprof_start(&cli, argc, argv, &cli.output,
			       "no output file given (-o FILE, or -o - for stdout)", &profile, &data,
			       &size);
	if (code)
		return code;
	code = pprof_write(cli.output, data, size);
	free(data);
	mp_pprof_free(&profile);
	return code;
}

int mp_push_main(int argc, char **argv)
{
	struct pprof_cli cli = { .command = "push", .options = { .pick = MP_PICK_DEFAULT },
				 .timeout_s = PPROF_DEFAULT_TIMEOUT_S };
	struct mp_pprof profile;
	uint8_t *data;
	size_t size;
	int code = pprof_start(&cli, argc, argv, &cli.url, "no server given (--url URL)", &profile,
			       &data, &size);
	if (code)
		return code;
	char app[256], err[1024], endpoint[1024];
	mp_push_app_from(cli.app ? cli.app : profile.program, app, sizeof(app));
	struct mp_push_target target = { cli.url, app, cli.labels, cli.label_count,
					 (long)(cli.timeout_s * 1000) };
	uint64_t from, until;
	mp_pprof_unix_span(&profile, &from, &until);
	if (mp_push_send(&target, data, size, from, until, err, sizeof(err)) < 0) {
		mp_push_endpoint(cli.url, endpoint, sizeof(endpoint));
		fprintf(stderr, "memprof: push to '%s': %s\n", endpoint, err);
		code = MP_PUSH_EXIT_FAILED;
	}
	free(data);
	mp_pprof_free(&profile);
	return code;
}
