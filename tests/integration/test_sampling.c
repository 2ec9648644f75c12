/* test_sampling.c: a sampled trace's estimates against the truth, on a real program.
 *
 * sample_mix allocates from three sites (about 60/30/10% of 2 GiB) and prints the exact
 * bytes of each and the standard deviation the sampler gives its estimate; the estimates
 * from `memprof report --json` must fall within 4 of those standard deviations (a fair
 * sampler fails that once in 16000 runs per site). */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

struct truth {
	char name[16];
	double bytes, sigma;
};

static json_t *report_json(const char *trace)
{
	char args[PATH_MAX + 32];
	snprintf(args, sizeof(args), "report --json '%s'", trace);
	return harness_memprof_json(args, 0);
}

/* The estimated bytes of the stack whose innermost frame is `function`. */
static double estimated(json_t *root, const char *function)
{
	size_t index;
	json_t *entry;
	json_array_foreach(json_object_get(root, "top_allocated"), index, entry) {
		json_t *frame = json_array_get(json_object_get(entry, "stack"), 0);
		const char *name = json_string_value(json_object_get(frame, "function"));
		if (name && strcmp(name, function) == 0)
			return (double)json_integer_value(json_object_get(entry, "allocated_bytes"));
	}
	fail_msg("no stack for %s", function);
	return 0;
}

static void test_sampled_estimates_within_their_standard_deviation(void **state)
{
	(void)state;
	struct harness_run run;
	const char *args[] = { "2048", "524288", NULL };
	const char *env[] = { "MEMPROF_SAMPLE_BYTES=512k", NULL };
	assert_int_equal(harness_run("sample_mix", args, env, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);

	struct truth truth[3];
	const char *at = run.stdout_text;
	for (int i = 0; i < 3; i++) {
		int used = 0;
		assert_int_equal(sscanf(at, "%15s %lf %lf%n", truth[i].name, &truth[i].bytes,
					&truth[i].sigma, &used), 3);
		at += used;
	}
	json_t *root = report_json(run.traces[0]);
	json_t *sampling = json_object_get(root, "sampling");
	assert_true(json_is_object(sampling));
	assert_int_equal(json_integer_value(json_object_get(sampling, "sample_bytes")), 524288);
	assert_true(json_integer_value(json_object_get(sampling, "samples")) > 1000);
	assert_true(json_is_null(json_object_get(root, "temporary_allocations")));
	double total = 0, total_truth = 0, total_variance = 0;
	for (int i = 0; i < 3; i++) {
		double estimate = estimated(root, truth[i].name);
		print_message("%s: exact %.0f, estimate %.0f (%+.2f%%, %.2f sigma)\n", truth[i].name,
			      truth[i].bytes, estimate, 100 * (estimate / truth[i].bytes - 1),
			      (estimate - truth[i].bytes) / truth[i].sigma);
		assert_true(fabs(estimate - truth[i].bytes) <= 4 * truth[i].sigma);
		total += estimate;
		total_truth += truth[i].bytes;
		total_variance += truth[i].sigma * truth[i].sigma;
	}
	assert_true(fabs(total - total_truth) <= 4 * sqrt(total_variance));
	json_decref(root);
}

/* Runs sample_window MODE sampled at 64 KiB from a fixed seed with the given window and
 * returns `memprof report --json` of its trace. */
static json_t *window_report(const char *mode, const char *window_ms)
{
	struct harness_run run;
	const char *args[] = { mode, NULL };
	char window[64];
	snprintf(window, sizeof(window), "MEMPROF_SAMPLE_WINDOW_MS=%s", window_ms);
	/* The RSS watch's snapshots write the pending samples, as every snapshot does: the
	 * killed run must keep its window's samples pending until the kill. */
	const char *env[] = { "MEMPROF_SAMPLE_BYTES=64k", "MEMPROF_SAMPLE_SEED=12345", window,
			      strcmp(mode, "killed") == 0 ? "MEMPROF_RSS_WATCH=0" : NULL, NULL };
	assert_int_equal(harness_run("sample_window", args, env, &run), 0);
	if (strcmp(mode, "killed") == 0)
		assert_true(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL);
	else
		assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);
	return report_json(run.traces[0]);
}

static json_int_t field(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("no integer \"%s\"", key);
	return json_integer_value(value);
}

/* Bytes allocated by the stacks whose innermost frame is `function`, summed. */
static json_int_t allocated_by(json_t *root, const char *function)
{
	size_t index;
	json_t *entry;
	json_int_t sum = 0;
	json_array_foreach(json_object_get(root, "top_allocated"), index, entry) {
		json_t *frame = json_array_get(json_object_get(entry, "stack"), 0);
		const char *name = json_string_value(json_object_get(frame, "function"));
		if (name && strcmp(name, function) == 0)
			sum += field(entry, "allocated_bytes");
	}
	return sum;
}

static const char *top_peak_function(json_t *root)
{
	json_t *entry = json_array_get(json_object_get(root, "top_peak"), 0);
	json_t *frame = json_array_get(json_object_get(entry, "stack"), 0);
	return json_string_value(json_object_get(frame, "function"));
}

/* The same samples (a fixed seed, one thread) with every sample written and with a window
 * longer than the run: the counted samples must add exactly what their records would
 * have, and the writer's peak must be within its 5% step below the replayed one. */
static void test_window_changes_the_trace_not_the_figures(void **state)
{
	(void)state;
	json_t *written = window_report("serial", "0");
	json_t *counted = window_report("serial", "600000");
	json_t *sampling_w = json_object_get(written, "sampling");
	json_t *sampling_c = json_object_get(counted, "sampling");
	assert_int_equal(field(sampling_w, "window_ms"), 0);
	assert_int_equal(field(sampling_w, "window_samples"), 0);
	assert_int_equal(field(sampling_c, "window_ms"), 600000);
	assert_int_equal(field(sampling_c, "samples"), field(sampling_w, "samples"));
	/* Most samples are churn, freed at once; the 100 never freed are written at exit. */
	assert_true(field(sampling_c, "window_samples") > field(sampling_c, "samples") / 2);
	assert_true(field(sampling_c, "window_samples") < field(sampling_c, "samples"));
	static const char *const keys[] = { "allocations", "frees", "reallocs",
					    "allocated_bytes", "leaked_bytes", "leaked_blocks",
					    "unknown_frees" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		print_message("%s: %lld\n", keys[i], (long long)field(counted, keys[i]));
		assert_int_equal(field(counted, keys[i]), field(written, keys[i]));
	}
	assert_int_equal(field(written, "unknown_frees"), 0);
	assert_true(field(written, "leaked_blocks") > 0);
	static const char *const sites[] = { "churn", "hold", "grow", "never_freed" };
	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		assert_true(allocated_by(written, sites[i]) > 0);
		assert_int_equal(allocated_by(counted, sites[i]), allocated_by(written, sites[i]));
	}
	json_int_t replayed = field(written, "peak_heap_bytes");
	json_int_t captured = field(counted, "peak_heap_bytes");
	print_message("peak: replayed %lld, writer's capture %lld\n", (long long)replayed,
		      (long long)captured);
	assert_true(replayed > 48 << 20); /* the held set peaks near 96 MiB */
	assert_true(captured <= replayed);
	assert_true(captured + captured / 20 + 1 >= replayed);
	assert_string_equal(top_peak_function(written), "hold");
	assert_string_equal(top_peak_function(counted), "hold");
	json_decref(written);
	json_decref(counted);
}

/* Killed with thousands of sampled blocks still pending (the window is longer than the
 * run, so none was written): they are in the trace's sampled set, and the blocks left at
 * the kill are exactly those of the same run with every sample written. */
static void test_window_samples_survive_sigkill(void **state)
{
	(void)state;
	json_t *written = window_report("killed", "0");
	json_t *pending = window_report("killed", "600000");
	json_int_t pending_samples = field(json_object_get(pending, "sampling"), "pending_samples");
	print_message("pending at the kill: %lld samples\n", (long long)pending_samples);
	assert_true(pending_samples > 100);
	assert_int_equal(field(json_object_get(written, "sampling"), "pending_samples"), 0);
	assert_true(field(written, "leaked_bytes") > 16 << 20); /* 1500 blocks of 4-36 KiB */
	assert_int_equal(field(pending, "leaked_bytes"), field(written, "leaked_bytes"));
	assert_int_equal(field(pending, "leaked_blocks"), field(written, "leaked_blocks"));
	assert_int_equal(allocated_by(pending, "never_freed"), allocated_by(written, "never_freed"));
	json_decref(written);
	json_decref(pending);
}

/* Blocks freed by another thread, some within a 50 ms window and some after it: none may
 * be lost or left over, whichever thread writes the late allocation records. */
static void test_window_with_frees_on_another_thread(void **state)
{
	(void)state;
	json_t *root = window_report("threads", "50");
	json_t *sampling = json_object_get(root, "sampling");
	json_int_t samples = field(sampling, "samples");
	json_int_t counted = field(sampling, "window_samples");
	print_message("samples %lld, counted %lld\n", (long long)samples, (long long)counted);
	assert_true(counted > 0);
	assert_true(counted < samples); /* the consumer's 120 ms waits outlast the window */
	assert_int_equal(field(root, "leaked_bytes"), 0);
	assert_int_equal(field(root, "unknown_frees"), 0);
	assert_int_equal(field(root, "frees"), field(root, "allocations"));
	json_decref(root);
}

/* Blocks of exactly `size` bytes among the leaks of `trace` (every site of lifecycle.c
 * leaks blocks of one size of its own). */
static json_int_t leaked_of_size(const char *trace, json_int_t size)
{
	char args[PATH_MAX + 32];
	snprintf(args, sizeof(args), "leaks --json '%s'", trace);
	json_t *root = harness_memprof_json(args, 0);
	size_t index;
	json_t *entry;
	json_int_t blocks = 0;
	json_array_foreach(json_object_get(root, "leaks"), index, entry) {
		json_int_t entry_blocks = field(entry, "blocks");
		if (field(entry, "bytes") == entry_blocks * size)
			blocks += entry_blocks;
	}
	json_decref(root);
	return blocks;
}

/* The process life cycles of test_preload, sampled at N = 1 byte (every block of more
 * than a few bytes is sampled, with weight 1, so counts are exact) with a window longer
 * than the runs: whatever is pending at fork, exec, exit or SIGKILL lands in the right
 * trace. */
static void run_lifecycle(const char *mode, struct harness_run *run)
{
	const char *args[] = { mode, NULL };
	const char *env[] = { "MEMPROF_SAMPLE_BYTES=1", "MEMPROF_SAMPLE_WINDOW_MS=600000", NULL };
	assert_int_equal(harness_run("lifecycle", args, env, run), 0);
}

static void test_window_across_fork_exec_and_sigkill(void **state)
{
	(void)state;
	struct harness_run run;
	run_lifecycle("fork", &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 2);
	int parent = leaked_of_size(run.traces[0], 11111) ? 0 : 1, child = 1 - parent;
	assert_int_equal(leaked_of_size(run.traces[parent], 11111), 3);
	assert_int_equal(leaked_of_size(run.traces[parent], 33333), 2);
	assert_int_equal(leaked_of_size(run.traces[parent], 22222), 0);
	assert_int_equal(leaked_of_size(run.traces[child], 22222), 5);
	assert_int_equal(leaked_of_size(run.traces[child], 11111), 0);
	assert_int_equal(leaked_of_size(run.traces[child], 33333), 0);

	run_lifecycle("exec", &run);
	assert_int_equal(run.trace_count, 2);
	int first = leaked_of_size(run.traces[0], 44444) ? 0 : 1;
	assert_int_equal(leaked_of_size(run.traces[first], 44444), 4);
	assert_int_equal(leaked_of_size(run.traces[1 - first], 55555), 6);

	/* 1000 blocks, 400 freed, then SIGKILL: nothing was written (the window never
	 * passed), the 600 live blocks are read from the sampled set in the file. */
	run_lifecycle("sigkill", &run);
	assert_true(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL);
	assert_int_equal(run.trace_count, 1);
	assert_int_equal(leaked_of_size(run.traces[0], 777), 600);
	json_t *root = report_json(run.traces[0]);
	assert_true(field(json_object_get(root, "sampling"), "pending_samples") >= 600);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampled_estimates_within_their_standard_deviation),
		cmocka_unit_test(test_window_changes_the_trace_not_the_figures),
		cmocka_unit_test(test_window_samples_survive_sigkill),
		cmocka_unit_test(test_window_with_frees_on_another_thread),
		cmocka_unit_test(test_window_across_fork_exec_and_sigkill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
