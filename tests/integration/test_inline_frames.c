/* test_inline_frames.c: every level of inlined calls, each at its call site, in every
 * command, on optimized programs run under libmemprof.so.
 *
 * tests/progs/inline_levels.c (C, -O2): main -> level1 -> level2 -> level3 -> malloc, all
 * inlined into main; its expected lines are found by the "@name" markers in the source.
 * tests/progs/inline_chain.cc (C++, -O2): std::vector's allocation path and our own
 * helpers inlined into Registry::open and main. There every frame of every stack memprof
 * prints as JSON is checked against `eu-addr2line -i -f -C` (elfutils) on the same return
 * address minus one: function, file, line, and the inlined flag (every frame of an
 * address but its last is inlined). Not binutils' addr2line: it names a frame without
 * DWARF after the nearest symbol below it whatever that symbol's size (libstdc++'s static
 * constructor came out as std::__throw_ios_failure), and named the innermost inlined
 * function of main's chain "main" where memcheck and eu-addr2line say open_twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness.h"

#define LEVELS_BYTES 4603 /* 2 * (2300 + argc) + 1 with argc 1: inline_levels.c */
#define MAX_INLINE 64

/* The line of inline_levels.c that ends with the marker "@name". */
static long marker_line(const char *name)
{
	const char *top = getenv("MEMPROF_TOP");
	char path[4096], text[512], marker[64];
	long found = 0;
	snprintf(path, sizeof(path), "%s/tests/progs/inline_levels.c", top ? top : ".");
	snprintf(marker, sizeof(marker), "/* @%s */", name);
	FILE *file = fopen(path, "re");
	if (!file)
		fail_msg("cannot open '%s'", path);
	for (long number = 1; fgets(text, sizeof(text), file); number++)
		if (strstr(text, marker)) {
			assert_int_equal(found, 0); /* each marker once */
			found = number;
		}
	fclose(file);
	if (!found)
		fail_msg("no marker @%s in %s", name, path);
	return found;
}

/* Runs tests/progs/<prog> under the preload; its one trace's path goes to trace. */
static void run_prog(const char *prog, char trace[PATH_MAX])
{
	struct harness_run run;
	assert_int_equal(harness_run(prog, NULL, NULL, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);
	snprintf(trace, PATH_MAX, "%s", run.traces[0]);
}

static json_t *command_json(const char *command, const char *trace)
{
	char args[PATH_MAX + 64];
	snprintf(args, sizeof(args), "%s --json '%s'", command, trace);
	return harness_memprof_json(args, 0);
}

static char *command_text(const char *command, const char *trace)
{
	char args[PATH_MAX + 64], *out;
	snprintf(args, sizeof(args), "%s '%s'", command, trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	return out;
}

static const char *str(json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

static long long num(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("'%s' is not an integer", key);
	return json_integer_value(value);
}

/* The "stack" of the entry of `entries` whose `key` is `value`; fails unless exactly one. */
static json_t *stack_with(json_t *entries, const char *key, long long value)
{
	json_t *entry, *found = NULL;
	size_t index;
	json_array_foreach(entries, index, entry) {
		if (num(entry, key) != value)
			continue;
		assert_null(found);
		found = json_object_get(entry, "stack");
	}
	if (!found)
		fail_msg("no stack with %s %lld", key, value);
	return found;
}

/* The chain of inline_levels.c, innermost first. */
static const char *const levels[] = { "level3", "level2", "level1", "main" };
#define LEVEL_COUNT 4

/* The stack is exactly level3, level2, level1 (inlined), main, each at its marker's line,
 * all from one return address in the program. */
static void assert_levels_chain(json_t *stack)
{
	assert_int_equal(json_array_size(stack), LEVEL_COUNT);
	const char *address = str(json_array_get(stack, 0), "address");
	for (int i = 0; i < LEVEL_COUNT; i++) {
		json_t *frame = json_array_get(stack, (size_t)i);
		assert_string_equal(str(frame, "function"), levels[i]);
		const char *file = str(frame, "file");
		assert_non_null(file);
		assert_string_equal(file, "tests/progs/inline_levels.c"); /* as compiled */
		assert_int_equal(num(frame, "line"), marker_line(levels[i]));
		assert_true(json_is_boolean(json_object_get(frame, "inlined")));
		assert_int_equal(json_is_true(json_object_get(frame, "inlined")), i < LEVEL_COUNT - 1);
		assert_string_equal(str(frame, "module"), "inline_levels");
		assert_string_equal(str(frame, "address"), address);
	}
}

/* JSON of report, flamegraph, memory: the same four frames. */
static void test_c_chain_every_level_in_json(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("inline_levels", trace);
	json_t *root = command_json("report", trace);
	assert_levels_chain(stack_with(json_object_get(root, "top_allocated"), "allocated_bytes",
				       LEVELS_BYTES));
	json_decref(root);
	root = command_json("flamegraph", trace);
	assert_levels_chain(stack_with(json_object_get(root, "stacks"), "value", LEVELS_BYTES));
	json_decref(root);
	root = command_json("memory", trace);
	assert_levels_chain(stack_with(json_object_get(root, "stacks"), "committed_bytes",
				       LEVELS_BYTES));
	json_decref(root);
}

/* The chain as the text reports print it, one line per frame after `indent`. */
static void text_chain(const char *indent, char *out, size_t len)
{
	int at = 0;
	for (int i = 0; i < LEVEL_COUNT; i++)
		at += snprintf(out + at, len - (size_t)at,
			       "\n%s%s at tests/progs/inline_levels.c:%ld in inline_levels%s", indent,
			       levels[i], marker_line(levels[i]), i < LEVEL_COUNT - 1 ? " (inlined)" : "");
	snprintf(out + at, len - (size_t)at, "\n");
}

/* The text of report and memory prints the chain as consecutive lines; folded stacks
 * have every level, outermost first. */
static void test_c_chain_every_level_in_text_and_folded(void **state)
{
	(void)state;
	char trace[PATH_MAX], expected[1024];
	run_prog("inline_levels", trace);
	char *out = command_text("report", trace);
	text_chain("       ", expected, sizeof(expected));
	if (!strstr(out, expected))
		fail_msg("report lacks%sin\n%s", expected, out);
	free(out);
	out = command_text("memory", trace);
	text_chain("    ", expected, sizeof(expected));
	if (!strstr(out, expected))
		fail_msg("memory lacks%sin\n%s", expected, out);
	free(out);
	out = command_text("flamegraph", trace);
	snprintf(expected, sizeof(expected), "\nmain;level1;level2;level3 %d\n", LEVELS_BYTES);
	if (!strstr(out, expected) && strncmp(out, expected + 1, strlen(expected + 1)) != 0)
		fail_msg("flamegraph lacks '%s' in\n%s", expected + 1, out);
	free(out);
}

/* One source frame as eu-addr2line prints it; "" and 0 for "??" and "??:0". */
struct a2l_frame {
	char function[1024];
	char file[PATH_MAX + 128];
	long line;
};

/* "file:line:column", "file:line" or "??:0". */
static void a2l_location(char *text, struct a2l_frame *frame)
{
	text[strcspn(text, "\n")] = '\0';
	char *colon = strrchr(text, ':'), *line_colon;
	assert_non_null(colon);
	*colon = '\0';
	line_colon = strrchr(text, ':');
	if (line_colon) { /* the last number was the column */
		*line_colon = '\0';
		colon = line_colon;
	}
	frame->line = strtol(colon + 1, NULL, 10);
	snprintf(frame->file, sizeof(frame->file), "%.*s", (int)sizeof(frame->file) - 1,
		 strcmp(text, "??") ? text : "");
}

/* eu-addr2line -i -f -C for `offset` (an address of the ELF file) in `object`: frames
 * innermost first; returns how many. The first name of an inlined chain reads
 * "NAME inlined at FILE:LINE:COLUMN in OUTER"; the frames after it repeat that. */
static int addr2line(const char *object, uint64_t offset, struct a2l_frame *frames, int max)
{
	char command[PATH_MAX + 128], name[sizeof(frames->function) + PATH_MAX];
	char where[PATH_MAX + 128];
	int count = 0;
	snprintf(command, sizeof(command), "eu-addr2line -i -f -C -e '%s' 0x%llx", object,
		 (unsigned long long)offset);
	FILE *pipe = popen(command, "r");
	assert_non_null(pipe);
	while (count < max && fgets(name, sizeof(name), pipe) && fgets(where, sizeof(where), pipe)) {
		name[strcspn(name, "\n")] = '\0';
		char *inlined_at = strstr(name, " inlined at ");
		if (inlined_at)
			*inlined_at = '\0';
		name[strcspn(name, "@")] = '\0'; /* memprof leaves out symbol version tags */
		snprintf(frames[count].function, sizeof(frames->function), "%.*s",
			 (int)sizeof(frames->function) - 1, strcmp(name, "??") ? name : "");
		a2l_location(where, &frames[count]);
		count++;
	}
	/* 1: some of it is unknown ("??"), as for a library without debug information. */
	int status = pclose(pipe);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		fail_msg("eu-addr2line not found: it is in Debian's elfutils package");
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
	return count;
}

/* Whether memprof's file names addr2line's: the same path, or the same path relative to
 * the compilation directory that addr2line puts in front. */
static int same_file(const char *file, const char *expected)
{
	size_t len = strlen(file), expected_len = strlen(expected);
	if (strcmp(file, expected) == 0)
		return 1;
	return len > 0 && file[0] != '/' && expected_len > len &&
	       expected[expected_len - len - 1] == '/' &&
	       strcmp(expected + expected_len - len, file) == 0;
}

/* Frames from `first` on in `stack` that share its address; returns how many. */
static size_t same_address_run(json_t *stack, size_t first)
{
	const char *address = str(json_array_get(stack, first), "address");
	size_t end = first + 1;
	while (end < json_array_size(stack) &&
	       strcmp(str(json_array_get(stack, end), "address"), address) == 0)
		end++;
	return end - first;
}

static void assert_frame_matches(json_t *frame, const struct a2l_frame *expected, int inlined,
				 const char *address)
{
	const char *function = str(frame, "function"), *file = str(frame, "file");
	json_t *line = json_object_get(frame, "line");
	if (strcmp(function ? function : "", expected->function) ||
	    !same_file(file ? file : "", expected->file) ||
	    (json_is_integer(line) ? json_integer_value(line) : 0) != expected->line ||
	    json_is_true(json_object_get(frame, "inlined")) != inlined)
		fail_msg("at %s: memprof %s at %s:%lld%s, addr2line %s at %s:%ld%s", address,
			 function, file, json_is_integer(line) ? json_integer_value(line) : 0,
			 json_is_true(json_object_get(frame, "inlined")) ? " (inlined)" : "",
			 expected->function, expected->file, expected->line,
			 inlined ? " (inlined)" : "");
}

/* Checks the frames of one return address (run of `count` from `first`) against
 * addr2line on the module's file at the address minus one; returns the inlined frames. */
static int check_address(struct mp_trace *trace, uint32_t generation, json_t *stack,
			 size_t first, size_t count)
{
	const char *address = str(json_array_get(stack, first), "address");
	uint64_t ip = strtoull(address, NULL, 16);
	const struct mp_module *module = mp_trace_module_at(trace, generation, ip - 1);
	assert_non_null(module);
	struct a2l_frame expected[MAX_INLINE];
	int expected_count = addr2line(module->path, ip - 1 - module->load_bias, expected,
				       MAX_INLINE);
	if ((size_t)expected_count != count)
		fail_msg("at %s (%s): memprof has %zu frames, addr2line %d", address, module->path,
			 count, expected_count);
	for (size_t k = 0; k < count; k++)
		assert_frame_matches(json_array_get(stack, first + k), &expected[k],
				     k + 1 < count, address);
	return (int)count - 1;
}

/* The one module map generation of a program that loads nothing after it starts. */
static uint32_t only_generation(struct mp_trace *trace)
{
	uint32_t generation = 0, count;
	assert_true(mp_trace_stack_count(trace) > 0);
	mp_trace_stack(trace, 1, &count, &generation);
	for (uint32_t id = 2; id <= mp_trace_stack_count(trace); id++) {
		uint32_t other;
		mp_trace_stack(trace, id, &count, &other);
		assert_int_equal(other, generation);
	}
	return generation;
}

/* Every frame of every stack of the C++ program, libc's and libstdc++'s frames included,
 * is what eu-addr2line -i says of its return address minus one; and the program's
 * inlined chains are really there (12 frames of two return addresses above operator new). */
static void test_cxx_every_frame_matches_addr2line(void **state)
{
	(void)state;
	char trace_path[PATH_MAX], err[256];
	struct mp_trace *trace;
	run_prog("inline_chain", trace_path);
	assert_int_equal(mp_trace_open(trace_path, &trace, err, sizeof(err)), 0);
	uint32_t generation = only_generation(trace);
	json_t *root = command_json("flamegraph", trace_path), *entry;
	size_t index, frames = 0, addresses = 0, program_inlined = 0, deepest = 0;
	json_array_foreach(json_object_get(root, "stacks"), index, entry) {
		json_t *stack = json_object_get(entry, "stack");
		size_t depth = 0;
		for (size_t at = 0; at < json_array_size(stack);) {
			size_t run = same_address_run(stack, at);
			int inlined = check_address(trace, generation, stack, at, run);
			const char *module = str(json_array_get(stack, at), "module");
			if (module && strcmp(module, "inline_chain") == 0) {
				program_inlined += (size_t)inlined;
				depth += run;
			}
			frames += run;
			addresses++;
			at += run;
		}
		deepest = depth > deepest ? depth : deepest;
	}
	/* Not vacuous: the vector's stacks hold main, start, open_twice, Registry::open, the
	 * four Session levels and four of libstdc++'s (reserve, _M_allocate,
	 * allocator_traits::allocate, __new_allocator::allocate, as gcc 12 inlines them at
	 * -O2), all inlined but main and Registry::open: 10 inlined frames in each of the two.
	 * The two stacks of `new Session` have main's 2 (start, open_twice) each. */
	assert_int_equal(deepest, 12);
	assert_int_equal(program_inlined, 2 * 10 + 2 * 2);
	print_message("compared %zu frames of %zu return addresses with addr2line\n", frames,
		      addresses);
	json_decref(root);
	mp_trace_close(trace);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_chain_every_level_in_json),
		cmocka_unit_test(test_c_chain_every_level_in_text_and_folded),
		cmocka_unit_test(test_cxx_every_frame_matches_addr2line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
