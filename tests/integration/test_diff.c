/* test_diff.c: `memprof diff` on two runs of tests/progs/grow.c with known growth: exact
 * deltas per stack and in total for each metric, in JSON, text and differential folded
 * form. The new run is of grow_padded, the same source with every address moved, so the
 * stacks can only match by function, file and line.
 *
 *   base: grow 2           leak_block 2 x 1000 lost, churn 20 x 100 freed
 *   new:  grow_padded 5    leak_block 5 x 1000 lost, churn 50 x 100 freed, only_new 5000 lost
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness.h"

static char base_trace[PATH_MAX], new_trace[PATH_MAX];

static int diff_setup(void **state)
{
	(void)state;
	const char *base_args[] = { "2", NULL }, *new_args[] = { "5", NULL };
	harness_run_one_trace("grow", base_args, NULL, base_trace);
	harness_run_one_trace("grow_padded", new_args, NULL, new_trace);
	return 0;
}

static json_t *diff_json(const char *metric)
{
	char args[3 * PATH_MAX];
	snprintf(args, sizeof(args), "diff --json --metric %s %s %s", metric, base_trace, new_trace);
	return harness_memprof_json(args, 0);
}

static json_int_t field(const json_t *object, const char *key)
{
	const json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("no integer '%s'", key);
	return json_integer_value(value);
}

/* The entry whose innermost frame is `function`; fails if there is none. */
static const json_t *stack_of(const json_t *document, const char *function)
{
	const json_t *stacks = json_object_get(document, "stacks");
	for (size_t i = 0; i < json_array_size(stacks); i++) {
		const json_t *entry = json_array_get(stacks, i);
		const json_t *top = json_array_get(json_object_get(entry, "stack"), 0);
		const char *name = json_string_value(json_object_get(top, "function"));
		if (name && strcmp(name, function) == 0)
			return entry;
	}
	fail_msg("no stack with innermost frame %s", function);
	return NULL;
}

static void expect_figures(const json_t *object, json_int_t base_bytes, json_int_t new_bytes,
			   json_int_t base_blocks, json_int_t new_blocks)
{
	assert_int_equal(field(object, "base_bytes"), base_bytes);
	assert_int_equal(field(object, "new_bytes"), new_bytes);
	assert_int_equal(field(object, "delta_bytes"), new_bytes - base_bytes);
	assert_int_equal(field(object, "base_blocks"), base_blocks);
	assert_int_equal(field(object, "new_blocks"), new_blocks);
	assert_int_equal(field(object, "delta_blocks"), new_blocks - base_blocks);
}

static void test_diff_leaked_exact_deltas_matched_across_builds(void **state)
{
	(void)state;
	json_t *document = diff_json("leaked");
	assert_string_equal(json_string_value(json_object_get(document, "metric")), "leaked");
	expect_figures(json_object_get(document, "totals"), 2000, 10000, 2, 6);
	/* Largest change first: the stack only the new run has, then the one that grew. */
	const json_t *stacks = json_object_get(document, "stacks");
	assert_int_equal(json_array_size(stacks), 2);
	assert_ptr_equal(json_array_get(stacks, 0), stack_of(document, "only_new"));
	expect_figures(stack_of(document, "only_new"), 0, 5000, 0, 1);
	const json_t *grew = stack_of(document, "leak_block");
	expect_figures(grew, 2000, 5000, 2, 5);
	const json_t *frames = json_object_get(grew, "stack");
	assert_string_equal(json_string_value(json_object_get(json_array_get(frames, 1), "function")),
			    "main");
	assert_string_equal(json_string_value(json_object_get(json_array_get(frames, 0), "file")),
			    "tests/progs/grow.c");
	json_decref(document);
}

static void test_diff_allocated_and_calls(void **state)
{
	(void)state;
	json_t *allocated = diff_json("allocated");
	expect_figures(json_object_get(allocated, "totals"), 4000, 15000, 22, 56);
	expect_figures(stack_of(allocated, "churn"), 2000, 5000, 20, 50);
	json_decref(allocated);
	json_t *calls = diff_json("calls");
	/* Ranked by calls: churn's 30 more calls come before only_new's one. */
	assert_ptr_equal(json_array_get(json_object_get(calls, "stacks"), 0), stack_of(calls, "churn"));
	json_decref(calls);
}

static void test_diff_text_and_folded(void **state)
{
	(void)state;
	char args[3 * PATH_MAX], *out = NULL;
	snprintf(args, sizeof(args), "diff %s %s", base_trace, new_trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	assert_non_null(strstr(out, "Total:  +8000 bytes (+7.8 KiB), +4 blocks: 2000 -> 10000 bytes, "
				    "2 -> 6 blocks\n"));
	assert_non_null(strstr(out, "Stacks: 2 grew, 0 shrank, 0 unchanged"));
	assert_non_null(strstr(out, "+3000 bytes (+2.9 KiB), +3 blocks: 2000 -> 5000 bytes"));
	/* The nouns agree with their counts: only_new went from none to one block. */
	assert_non_null(strstr(out, "+5000 bytes (+4.9 KiB), +1 block: 0 -> 5000 bytes, 0 -> 1 "
				    "block\n"));
	assert_null(strstr(out, " 1 blocks"));
	free(out);
	snprintf(args, sizeof(args), "diff --folded --metric allocated %s %s", base_trace, new_trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	assert_non_null(strstr(out, "main;churn 2000 5000\n"));
	assert_non_null(strstr(out, "main;leak_block 2000 5000\n"));
	assert_non_null(strstr(out, "main;only_new 0 5000\n"));
	free(out);
}

static void test_diff_usage_errors(void **state)
{
	(void)state;
	char args[3 * PATH_MAX], *out = NULL;
	snprintf(args, sizeof(args), "diff %s 2>/dev/null", base_trace);
	assert_int_equal(harness_memprof(args, &out), 2);
	free(out);
	snprintf(args, sizeof(args), "diff --metric nope %s %s 2>/dev/null", base_trace, new_trace);
	assert_int_equal(harness_memprof(args, &out), 2);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_leaked_exact_deltas_matched_across_builds),
		cmocka_unit_test(test_diff_allocated_and_calls),
		cmocka_unit_test(test_diff_text_and_folded),
		cmocka_unit_test(test_diff_usage_errors),
	};
	return cmocka_run_group_tests(tests, diff_setup, NULL);
}
