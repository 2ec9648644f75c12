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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampled_estimates_within_their_standard_deviation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
