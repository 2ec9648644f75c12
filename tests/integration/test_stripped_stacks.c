/* test_stripped_stacks.c: a program without a symbol table (as Debian ships sqlite3, git
 * or the gcc driver) still has stacks that end at its main, run under libmemprof.so.
 *
 * inline_levels_stripped is tests/progs/inline_levels (-O2 -g) after `strip`: the same
 * code, so the same return addresses, with no name for main or _start. Its stacks must be
 * the unstripped program's, frame by frame, except that each of the program's return
 * addresses is one unnamed frame (module+offset) where the unstripped one has the
 * functions (main and what was inlined into it) from its debug information. Below main,
 * libc's start code (__libc_start_call_main, __libc_start_main_impl) and the unnamed
 * _start are left out; --full-stacks keeps them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness.h"

#define PROGRAM "inline_levels"
#define STRIPPED "inline_levels_stripped"

static void run_prog(const char *prog, char trace[PATH_MAX])
{
	struct harness_run run;
	assert_int_equal(harness_run(prog, NULL, NULL, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);
	snprintf(trace, PATH_MAX, "%s", run.traces[0]);
}

static json_t *flamegraph_json(const char *options, const char *trace)
{
	char args[PATH_MAX + 64];
	snprintf(args, sizeof(args), "flamegraph --json %s '%s'", options, trace);
	return harness_memprof_json(args, 0);
}

static const char *str(json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

static int in_module(json_t *frame, const char *module)
{
	const char *name = str(frame, "module");
	return name && strcmp(name, module) == 0;
}

/* The stack of the entry with `value` (which must be unique) in a flamegraph document. */
static json_t *stack_of_value(json_t *root, json_int_t value)
{
	json_t *entry, *found = NULL;
	size_t index;
	json_array_foreach(json_object_get(root, "stacks"), index, entry) {
		if (json_integer_value(json_object_get(entry, "value")) != value)
			continue;
		assert_null(found);
		found = json_object_get(entry, "stack");
	}
	if (!found)
		fail_msg("no stack of value %lld", (long long)value);
	return found;
}

/* The stripped program's stack against the unstripped one's (same value). */
static void assert_same_but_unnamed(json_t *stripped, json_t *named)
{
	size_t at = 0;
	for (size_t i = 0; i < json_array_size(stripped); i++) {
		json_t *frame = json_array_get(stripped, i), *expected = json_array_get(named, at);
		assert_non_null(expected);
		if (in_module(expected, PROGRAM)) {
			/* One unnamed frame for the unstripped address's whole inline chain. */
			assert_true(in_module(frame, STRIPPED));
			assert_null(str(frame, "function"));
			assert_null(str(frame, "file"));
			while (at < json_array_size(named) &&
			       strcmp(str(json_array_get(named, at), "address"),
				      str(expected, "address")) == 0)
				at++;
			continue;
		}
		assert_string_equal(str(frame, "function"), str(expected, "function"));
		assert_string_equal(str(frame, "module"), str(expected, "module"));
		at++;
	}
	assert_int_equal(at, json_array_size(named)); /* nothing more below main */
}

/* Every stack of the stripped program is the unstripped one's, with unnamed frames of
 * the program, and ends at its main: the last frame of the unstripped stack is main. */
static void test_stripped_program_stacks_end_at_its_main(void **state)
{
	(void)state;
	char named_trace[PATH_MAX], stripped_trace[PATH_MAX];
	run_prog(PROGRAM, named_trace);
	run_prog(STRIPPED, stripped_trace);
	json_t *named = flamegraph_json("", named_trace), *stripped = flamegraph_json("", stripped_trace);
	json_t *entry;
	size_t index, program_stacks = 0;
	assert_int_equal(json_array_size(json_object_get(stripped, "stacks")),
			 json_array_size(json_object_get(named, "stacks")));
	json_array_foreach(json_object_get(stripped, "stacks"), index, entry) {
		json_t *stack = json_object_get(entry, "stack");
		json_t *expected = stack_of_value(named, json_integer_value(json_object_get(entry, "value")));
		json_t *root = json_array_get(expected, json_array_size(expected) - 1);
		if (!in_module(root, PROGRAM))
			continue; /* a library's constructor, run before main */
		assert_string_equal(str(root, "function"), "main");
		assert_same_but_unnamed(stack, expected);
		program_stacks++;
	}
	/* The 4603-byte block (level3 inlined into main) and printf's buffer. */
	assert_int_equal(program_stacks, 2);
	assert_int_equal(json_array_size(stack_of_value(stripped, 4603)), 1);
	json_decref(named);
	json_decref(stripped);
}

/* --full-stacks: below the unnamed main, libc's start code and the unnamed _start. */
static void test_stripped_program_full_stacks_keep_the_start_code(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog(STRIPPED, trace);
	json_t *root = flamegraph_json("--full-stacks", trace);
	json_t *stack = stack_of_value(root, 4603);
	assert_int_equal(json_array_size(stack), 4);
	assert_true(in_module(json_array_get(stack, 0), STRIPPED));
	assert_null(str(json_array_get(stack, 0), "function"));
	assert_string_equal(str(json_array_get(stack, 1), "function"), "__libc_start_call_main");
	assert_string_equal(str(json_array_get(stack, 2), "function"), "__libc_start_main_impl");
	assert_true(in_module(json_array_get(stack, 3), STRIPPED));
	assert_null(str(json_array_get(stack, 3), "function"));
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stripped_program_stacks_end_at_its_main),
		cmocka_unit_test(test_stripped_program_full_stacks_keep_the_start_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
