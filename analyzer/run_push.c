/* run_push.c: `memprof run --push URL`: while the program runs, its traces are read every
 * interval and each window's profile is pushed to a Pyroscope-compatible server.
 *
 * All of it happens in memprof's own process, which is waiting for the program anyway:
 * the profiled process only writes its trace (chunks in a shared file mapping), so a slow
 * or absent server costs it nothing. Each round reopens every trace of the run (a trace
 * grows while it is written) and replays it whole; the window's allocations are the
 * growth of each stack's figures since the last push (pprof_baseline.h), so a record
 * committed late is counted in the window in which it appears, never twice, never lost.
 * The cost is a replay per trace per interval, small for the sampled traces long-running
 * services write.
 */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "pprof_encode.h"
#include "push.h"
#include "run_push.h"

#define RUN_PUSH_DEFAULT_INTERVAL_S 15.0
#define RUN_PUSH_TRIES 3            /* then the window is dropped */
#define RUN_PUSH_POLL_MS 100        /* how often the child's exit is looked for */

struct push_trace {
	char *path;
	struct mp_pprof_baseline *baseline;
	uint64_t window_start_ns;   /* CLOCK_MONOTONIC; 0 before the first push */
	int finished;               /* its process ended and its last window went out */
};

struct push_state {
	const struct mp_run_push *push;
	double interval_s;
	char app[256];
	char endpoint[1024];
	struct push_trace *traces;
	size_t count, cap;
	unsigned long pushed, dropped;
};

/* ---- options ---- */

/* The value of option `name` at argv[0] ("--name VALUE" or "--name=VALUE"): NULL if
 * argv[0] is not that option; *used receives how many arguments it takes. */
static const char *push_value(int argc, char **argv, const char *name, int *used)
{
	size_t len = strlen(name);
	if (strncmp(argv[0], name, len) != 0)
		return NULL;
	if (argv[0][len] == '=') {
		*used = 1;
		return argv[0] + len + 1;
	}
	if (argv[0][len] == '\0' && argc > 1) {
		*used = 2;
		return argv[1];
	}
	return NULL;
}

static int push_usage(const char *what, const char *value)
{
	fprintf(stderr, "memprof: run: %s '%s' (see 'memprof --help')\n", what, value);
	return -1;
}

static int push_interval(struct mp_run_push *push, const char *text)
{
	char *end;
	double value = strtod(text, &end);
	if (!*text || *end || !(value >= 0.1 && value <= 86400))
		return push_usage("--push-interval takes seconds from 0.1 to 86400, not", text);
	push->interval_s = value;
	return 0;
}

int mp_run_push_option(struct mp_run_push *push, int argc, char **argv)
{
	const char *value;
	int used = 0;
	if ((value = push_value(argc, argv, "--push", &used))) {
		push->url = value;
	} else if ((value = push_value(argc, argv, "--push-interval", &used))) {
		if (push_interval(push, value))
			return -1;
	} else if ((value = push_value(argc, argv, "--app", &used))) {
		if (mp_push_app_check(value))
			return push_usage("an application name has no spaces nor , { } =, unlike",
					  value);
		push->app = value;
	} else if ((value = push_value(argc, argv, "--label", &used))) {
		if (mp_push_label_check(value))
			return push_usage("a label is KEY=VALUE (KEY of letters, digits and _, a "
					  "VALUE without , { } =), not", value);
		if (push->label_count == MP_RUN_PUSH_MAX_LABELS)
			return push_usage("too many labels at", value);
		push->labels[push->label_count++] = value;
	}
	return used;
}

/* ---- time ---- */

static uint64_t push_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void push_sleep_ms(uint64_t ms)
{
	struct timespec span = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&span, &span) < 0 && errno == EINTR)
		;
}

/* Whether the child has exited, leaving it to be reaped (WNOWAIT). */
static int push_child_exited(pid_t child)
{
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, (id_t)child, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return info.si_pid != 0;
}

/* Sleeps until `deadline_ns` or the child's exit; returns 1 if it exited. */
static int push_wait(pid_t child, uint64_t deadline_ns)
{
	for (;;) {
		if (push_child_exited(child))
			return 1;
		uint64_t now = push_now_ns();
		if (now >= deadline_ns)
			return 0;
		uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
		push_sleep_ms(left_ms < RUN_PUSH_POLL_MS ? left_ms : RUN_PUSH_POLL_MS);
	}
}

/* ---- one trace's window ---- */

static struct push_trace *push_trace_of(struct push_state *state, const char *path)
{
	for (size_t i = 0; i < state->count; i++)
		if (strcmp(state->traces[i].path, path) == 0)
			return &state->traces[i];
	if (state->count == state->cap) {
		size_t cap = state->cap ? state->cap * 2 : 8;
		struct push_trace *traces = realloc(state->traces, cap * sizeof(*traces));
		if (!traces)
			return NULL;
		state->traces = traces;
		state->cap = cap;
	}
	struct push_trace trace = { strdup(path), mp_pprof_baseline_new(), 0, 0 };
	if (!trace.path || !trace.baseline) {
		free(trace.path);
		mp_pprof_baseline_free(trace.baseline);
		return NULL;
	}
	state->traces[state->count] = trace;
	return &state->traces[state->count++];
}

/* Sends with RUN_PUSH_TRIES tries, 1 s then 2 s apart. 0, or -1 with the last error. */
static int push_send(const struct mp_push_target *target, const uint8_t *data, size_t size,
		     const struct mp_pprof *profile, char *err, size_t err_len)
{
	uint64_t from, until;
	mp_pprof_unix_span(profile, &from, &until);
	for (int attempt = 0; attempt < RUN_PUSH_TRIES; attempt++) {
		if (attempt)
			push_sleep_ms(1000u << (attempt - 1));
		if (mp_push_send(target, data, size, from, until, err, err_len) == 0)
			return 0;
	}
	return -1;
}

/* Pushes what `profile` holds, labelled with its pid; counts it pushed or dropped. */
static void push_profile(struct push_state *state, const struct mp_pprof *profile)
{
	uint8_t *data;
	size_t size;
	char pid_label[32], err[1024];
	const char *labels[MP_RUN_PUSH_MAX_LABELS + 1];
	snprintf(pid_label, sizeof(pid_label), "pid=%u", profile->pid);
	labels[0] = pid_label;
	memcpy(labels + 1, state->push->labels, state->push->label_count * sizeof(*labels));
	double timeout_s = state->interval_s / 2 < 1 ? 1 : state->interval_s / 2 > 10
							   ? 10 : state->interval_s / 2;
	struct mp_push_target target = { state->push->url, state->app, labels,
					 state->push->label_count + 1, (long)(timeout_s * 1000) };
	int rc = mp_pprof_encode(profile, &data, &size);
	if (rc == 0) {
		rc = push_send(&target, data, size, profile, err, sizeof(err));
		free(data);
	} else {
		snprintf(err, sizeof(err), "out of memory encoding the profile");
	}
	if (rc == 0) {
		state->pushed++;
		return;
	}
	state->dropped++;
	fprintf(stderr, "memprof: push to '%s' dropped after %d tries (pid %u, %.1f s window): "
		"%s\n", state->endpoint, RUN_PUSH_TRIES, profile->pid,
		(double)profile->duration_nanos / 1e9, err);
}

/* The window of one trace since its last push, up to now_ns. A trace that cannot be read
 * yet (its header not written) is tried again next round; on the last round, said so. */
static void push_trace(struct push_state *state, struct push_trace *trace, uint64_t now_ns,
		       int last)
{
	struct mp_pprof_options options = {
		.pick = MP_PICK_DEFAULT, .baseline = trace->baseline,
		.window_start_ns = trace->window_start_ns, .window_end_ns = now_ns,
	};
	struct mp_pprof profile;
	char err[512];
	if (mp_pprof_from_trace(trace->path, &options, &profile, err, sizeof(err)) < 0) {
		if (last)
			fprintf(stderr, "memprof: cannot read '%s' to push it: %s\n", trace->path, err);
		return;
	}
	/* A window in which nothing was allocated and nothing is live says nothing. */
	if (profile.sample_count)
		push_profile(state, &profile);
	trace->window_start_ns = profile.end_monotonic_ns;
	trace->finished = profile.ended;
	mp_pprof_free(&profile);
}

static int push_listed(char **paths, size_t count, const char *path)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(paths[i], path) == 0)
			return 1;
	return 0;
}

/* One round: every trace of the run that has not finished. */
static void push_round(struct push_state *state, const char *glob_pattern,
		       mp_run_push_filter is_new, const void *context, int last)
{
	glob_t found;
	uint64_t now_ns = push_now_ns();
	/* run.c's pattern has braces: NAME.trace, NAME.1.trace, ... (a name two alternatives
	 * match is listed twice). */
	if (glob(glob_pattern, GLOB_BRACE, NULL, &found) != 0)
		return;
	for (size_t i = 0; i < found.gl_pathc; i++) {
		if (!is_new(context, found.gl_pathv[i]) ||
		    (i > 0 && push_listed(found.gl_pathv, i, found.gl_pathv[i])))
			continue;
		struct push_trace *trace = push_trace_of(state, found.gl_pathv[i]);
		if (trace && !trace->finished)
			push_trace(state, trace, now_ns, last);
	}
	globfree(&found);
}

static void push_state_free(struct push_state *state)
{
	for (size_t i = 0; i < state->count; i++) {
		free(state->traces[i].path);
		mp_pprof_baseline_free(state->traces[i].baseline);
	}
	free(state->traces);
}

void mp_run_push_watch(const struct mp_run_push *push, pid_t child, const char *program,
		       const char *glob_pattern, mp_run_push_filter is_new, const void *context)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_int, old_quit;
	struct push_state state = { .push = push };
	state.interval_s = push->interval_s > 0 ? push->interval_s : RUN_PUSH_DEFAULT_INTERVAL_S;
	if (push->app) {
		snprintf(state.app, sizeof(state.app), "%s", push->app);
	} else {
		const char *slash = strrchr(program, '/');
		mp_push_app_from(slash ? slash + 1 : program, state.app, sizeof(state.app));
	}
	mp_push_endpoint(push->url, state.endpoint, sizeof(state.endpoint));
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	uint64_t interval_ns = (uint64_t)(state.interval_s * 1e9);
	uint64_t next = push_now_ns() + interval_ns;
	int exited;
	do {
		exited = push_wait(child, next);
		push_round(&state, glob_pattern, is_new, context, exited);
		uint64_t now = push_now_ns();
		next = next + interval_ns > now ? next + interval_ns : now + interval_ns;
	} while (!exited);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	fprintf(stderr, "memprof: %lu profiles pushed to '%s', %lu dropped\n", state.pushed,
		state.endpoint, state.dropped);
	push_state_free(&state);
}
