/* test_leaks_json.c: real programs with known leaks, run under libmemprof.so; the exact
 * bytes, blocks and symbolized frames (function, file, line, module) of each leak site
 * checked from `memprof leaks --json`, per-stack and total figures from `memprof report
 * --json`, and the exit codes of `memprof leaks --fail-on-leak`.
 *
 * The programs are tests/progs/leaks.c and leaks_cxx.cc. Expected line numbers are not
 * written here: each allocating or calling line carries a LEAK_SITE:<name> comment and
 * marker_line() finds it in the source under $MEMPROF_TOP. glibc and libstdc++ may leave
 * blocks of their own (a thread's DTV, the C++ emergency exception pool), so the leak
 * checks look at the stacks whose innermost frame is in the program and require those to
 * be exactly the expected ones; totals are checked against the sum of all entries.
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

#define MAX_CHAIN 4

/* One frame expected in a stack: function name and the line of its LEAK_SITE marker. */
struct expected_frame {
	const char *function;
	const char *marker;
};

/* A leak site of leaks.c: the program's own frames, innermost first. By default that is the
 * whole stack: the runtime's frames below main (libc's start code, _start) and below the
 * thread's start routine (start_thread, clone3) are left out; --full-stacks keeps them. */
struct expected_site {
	const char *name;
	uint64_t bytes, blocks;
	struct expected_frame chain[MAX_CHAIN];
};

static const struct expected_site leak_sites[] = {
	{ "direct", 3333, 3,
	  { { "leak_direct", "direct" }, { "main", "main_direct" } } },
	{ "calloc from caller_a", 4444, 2,
	  { { "zeroed", "calloc" }, { "caller_a", "calloc_from_a" }, { "main", "main_caller_a" } } },
	{ "calloc from caller_b", 3333, 1,
	  { { "zeroed", "calloc" }, { "caller_b", "calloc_from_b" }, { "main", "main_caller_b" } } },
	{ "realloc", 4444, 1,
	  { { "grow", "realloc" }, { "main", "main_grow" } } },
	{ "inlined", 5555, 1,
	  { { "inlined_leak", "inlined" }, { "outer", "inlined_caller" }, { "main", "main_outer" } } },
	{ "thread", 13332, 2,
	  { { "thread_leak", "thread" } } },
};
#define SITE_COUNT (sizeof(leak_sites) / sizeof(leak_sites[0]))
/* What the program keeps at exit, in kept[]: not freed, still reachable, not leaked. */
#define OWN_KEPT_BYTES 34441 /* 3333 + 4444 + 3333 + 4444 + 5555 + 13332 */
#define OWN_KEPT_BLOCKS 10

/* The line of tests/progs/<source> holding exactly one "LEAK_SITE:<name>" marker (the
 * name not followed by another identifier character); fails the test otherwise. */
static long marker_line(const char *source, const char *name)
{
	const char *top = getenv("MEMPROF_TOP");
	char path[4096], text[512], marker[128];
	long line = 0, found = 0;
	snprintf(path, sizeof(path), "%s/tests/progs/%s", top ? top : ".", source);
	snprintf(marker, sizeof(marker), "LEAK_SITE:%s", name);
	FILE *file = fopen(path, "re");
	if (!file)
		fail_msg("cannot open '%s'", path);
	for (long number = 1; fgets(text, sizeof(text), file); number++) {
		const char *at = strstr(text, marker);
		if (!at)
			continue;
		char next = at[strlen(marker)];
		if (next == '_' || (next >= 'a' && next <= 'z') || (next >= '0' && next <= '9'))
			continue;
		line = number;
		found++;
	}
	fclose(file);
	if (found != 1)
		fail_msg("marker '%s' found %ld times in '%s'", marker, found, path);
	return line;
}


static int64_t num(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("key '%s' is not an integer", key);
	return json_integer_value(value);
}

/* A string member, or NULL if it is JSON null or missing. */
static const char *str(json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t text_len = text ? strlen(text) : 0, suffix_len = strlen(suffix);
	return text && text_len >= suffix_len && strcmp(text + text_len - suffix_len, suffix) == 0;
}

static bool frame_in(json_t *frame, const char *module)
{
	const char *name = str(frame, "module");
	return name && strcmp(name, module) == 0;
}

/* Runs tests/progs/<prog> [arg] under the preload; it must exit 0 and write one trace,
 * whose path goes to trace. */
static void run_prog(const char *prog, const char *arg, char trace[PATH_MAX])
{
	const char *args[] = { arg, NULL };
	harness_run_one_trace(prog, args, NULL, trace);
}

static json_t *command_json(const char *command, const char *options, const char *trace,
			    int expected_code)
{
	char args[PATH_MAX + 128];
	snprintf(args, sizeof(args), "%s %s '%s'", command, options, trace);
	return harness_memprof_json(args, expected_code);
}

/* Whether `stack` begins with the site's chain of frames in leaks.c. */
static bool stack_starts_with_site(json_t *stack, const struct expected_site *site)
{
	size_t depth = 0;
	for (; depth < MAX_CHAIN && site->chain[depth].function; depth++) {
		json_t *frame = json_array_get(stack, depth);
		const char *function = str(frame, "function");
		if (!frame || !frame_in(frame, "leaks") || !function ||
		    strcmp(function, site->chain[depth].function) != 0 ||
		    !json_is_integer(json_object_get(frame, "line")) ||
		    num(frame, "line") != marker_line("leaks.c", site->chain[depth].marker) ||
		    !ends_with(str(frame, "file"), "tests/progs/leaks.c"))
			return false;
	}
	return true;
}

static size_t chain_depth(const struct expected_site *site)
{
	size_t depth = 0;
	while (depth < MAX_CHAIN && site->chain[depth].function)
		depth++;
	return depth;
}

/* Whether `stack` is the site's chain and nothing else: the stack ends at main or at the
 * thread's start routine. */
static bool stack_is_site(json_t *stack, const struct expected_site *site)
{
	return stack_starts_with_site(stack, site) && json_array_size(stack) == chain_depth(site);
}

static char *dump(json_t *value)
{
	return json_dumps(value, JSON_INDENT(1));
}

/* The one entry of `entries` whose stack is the site's (fails unless exactly one). */
static json_t *find_site(json_t *entries, const struct expected_site *site)
{
	json_t *found = NULL, *entry;
	size_t index, matches = 0;
	json_array_foreach(entries, index, entry) {
		if (stack_is_site(json_object_get(entry, "stack"), site)) {
			found = entry;
			matches++;
		}
	}
	if (matches != 1)
		fail_msg("site '%s': %zu matching stacks in %s", site->name, matches, dump(entries));
	return found;
}

/* Every entry's stack starting in leaks.c is one of the expected sites (so no freed
 * block, and no allocation of the 100-byte block realloc moved, shows up). */
static void assert_only_expected_sites(json_t *entries)
{
	json_t *entry;
	size_t index, own = 0;
	json_array_foreach(entries, index, entry) {
		json_t *stack = json_object_get(entry, "stack");
		if (!frame_in(json_array_get(stack, 0), "leaks"))
			continue;
		own++;
		bool known = false;
		for (size_t i = 0; i < SITE_COUNT && !known; i++)
			known = stack_is_site(stack, &leak_sites[i]);
		if (!known)
			fail_msg("unexpected leak from the program: %s", dump(entry));
	}
	assert_int_equal(own, SITE_COUNT);
}

static void test_leaks_json_each_site_exact_bytes_blocks_and_frames(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("leaks", NULL, trace);
	json_t *root = command_json("leaks", "--json --show-reachable", trace, 0);
	assert_true(json_is_true(json_object_get(root, "complete")));
	json_t *leaks = json_object_get(root, "leaks");
	assert_true(json_is_array(leaks));
	for (size_t i = 0; i < SITE_COUNT; i++) {
		json_t *entry = find_site(leaks, &leak_sites[i]);
		/* kept[] is a global: a root holds every block's start. */
		assert_string_equal(str(entry, "kind"), "reachable");
		if ((uint64_t)num(entry, "bytes") != leak_sites[i].bytes ||
		    (uint64_t)num(entry, "blocks") != leak_sites[i].blocks)
			fail_msg("site '%s': %s; expected %llu bytes in %llu blocks", leak_sites[i].name,
				 dump(entry), (unsigned long long)leak_sites[i].bytes,
				 (unsigned long long)leak_sites[i].blocks);
	}
	assert_only_expected_sites(leaks);

	/* Entries are sorted by bytes, largest first. Leaked is the sum of the entries that
	 * are not still reachable; not freed counts every entry (and what rules hid). */
	int64_t bytes = 0, blocks = 0, all_bytes = 0, all_blocks = 0, previous = INT64_MAX;
	int64_t own_bytes = 0, own_blocks = 0;
	json_t *entry;
	size_t index;
	json_array_foreach(leaks, index, entry) {
		int64_t entry_bytes = num(entry, "bytes");
		assert_true(entry_bytes <= previous);
		previous = entry_bytes;
		all_bytes += entry_bytes;
		all_blocks += num(entry, "blocks");
		if (strcmp(str(entry, "kind"), "reachable") != 0) {
			bytes += entry_bytes;
			blocks += num(entry, "blocks");
		}
		if (frame_in(json_array_get(json_object_get(entry, "stack"), 0), "leaks")) {
			own_bytes += entry_bytes;
			own_blocks += num(entry, "blocks");
		}
	}
	assert_int_equal(own_bytes, OWN_KEPT_BYTES);
	assert_int_equal(own_blocks, OWN_KEPT_BLOCKS);
	assert_int_equal(num(root, "leaked_bytes"), bytes);
	assert_int_equal(num(root, "leaked_blocks"), blocks);
	json_t *suppressed = json_object_get(root, "suppressed");
	assert_int_equal(num(root, "unfreed_bytes"), all_bytes + num(suppressed, "bytes"));
	assert_int_equal(num(root, "unfreed_blocks"), all_blocks + num(suppressed, "blocks"));
	json_decref(root);
}

/* The always_inline function is a frame of its own, marked by its own line, and the
 * function it was inlined into follows at the call's line; both come from one return
 * address. */
static void test_leaks_json_inlined_frame_then_its_caller(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("leaks", NULL, trace);
	json_t *root = command_json("leaks", "--json --show-reachable", trace, 0);
	json_t *stack = json_object_get(find_site(json_object_get(root, "leaks"), &leak_sites[4]),
					"stack");
	json_t *inlined = json_array_get(stack, 0), *caller = json_array_get(stack, 1);
	assert_string_equal(str(inlined, "function"), "inlined_leak");
	assert_string_equal(str(caller, "function"), "outer");
	assert_int_not_equal(num(inlined, "line"), num(caller, "line"));
	assert_string_equal(str(inlined, "address"), str(caller, "address"));
	assert_string_equal(str(inlined, "module"), "leaks");
	json_decref(root);
}

static void test_leaks_json_cxx_method_demangled_with_line(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("leaks_cxx", NULL, trace);
	json_t *root = command_json("leaks", "--json --show-reachable", trace, 0);
	json_t *leaks = json_object_get(root, "leaks"), *entry, *found = NULL;
	size_t index, matches = 0, depth = 0;
	json_array_foreach(leaks, index, entry) {
		json_t *stack = json_object_get(entry, "stack"), *frame;
		size_t at;
		json_array_foreach(stack, at, frame) {
			const char *function = str(frame, "function");
			if (function && strstr(function, "ns::Widget::make")) {
				found = entry;
				depth = at;
				matches++;
				break;
			}
		}
	}
	if (matches != 1)
		fail_msg("%zu stacks through ns::Widget::make in %s", matches, dump(leaks));
	/* One of the two Widgets was deleted. */
	assert_int_equal(num(found, "bytes"), 8888);
	assert_int_equal(num(found, "blocks"), 1);
	json_t *stack = json_object_get(found, "stack");
	json_t *make = json_array_get(stack, depth);
	assert_int_equal(num(make, "line"), marker_line("leaks_cxx.cc", "cxx_new"));
	assert_true(ends_with(str(make, "file"), "tests/progs/leaks_cxx.cc"));
	assert_string_equal(str(make, "module"), "leaks_cxx");
	/* Inside it, only operator new (libstdc++); its caller is main. */
	assert_int_equal(depth, 1);
	assert_non_null(strstr(str(json_array_get(stack, 0), "function"), "operator new"));
	assert_string_equal(str(json_array_get(stack, 2), "function"), "main");
	assert_string_equal(str(json_array_get(stack, 2), "module"), "leaks_cxx");
	json_decref(root);
}

static void test_leaks_fail_on_leak_exit_codes(void **state)
{
	(void)state;
	char leaky[PATH_MAX], clean[PATH_MAX];
	char *out;
	run_prog("leaks", NULL, leaky);
	run_prog("leaks", "clean", clean);
	char args[PATH_MAX + 64];

	/* The program keeps its blocks in a global array: memcheck's "still reachable",
	 * which fails only when asked for (test_reachability.c covers the kinds). */
	snprintf(args, sizeof(args), "leaks --show-reachable --fail-on-leak=all '%s'", leaky);
	assert_int_equal(harness_memprof(args, &out), 1);
	assert_non_null(strstr(out, "leak_direct"));
	free(out);
	snprintf(args, sizeof(args), "leaks '%s'", leaky);
	assert_int_equal(harness_memprof(args, &out), 0);
	free(out);
	snprintf(args, sizeof(args), "leaks --fail-on-leak '%s'", clean);
	assert_int_equal(harness_memprof(args, &out), 0);
	free(out);

	/* With --json too, and the option after the trace path. */
	json_t *root = command_json("leaks", "--json --show-reachable --fail-on-leak=reachable",
				    leaky, 1);
	assert_int_equal(num(root, "unfreed_blocks") >= OWN_KEPT_BLOCKS, 1);
	assert_int_equal(json_array_size(json_object_get(root, "leaks")) >= SITE_COUNT, 1);
	json_decref(root);
	snprintf(args, sizeof(args), "leaks --json '%s' --fail-on-leak=all", clean);
	root = harness_memprof_json(args, 0);
	assert_int_equal(num(root, "leaked_bytes"), 0);
	assert_int_equal(num(root, "leaked_blocks"), 0);
	assert_int_equal(json_array_size(json_object_get(root, "leaks")), 0);
	json_decref(root);
}

/* `leaks clean` makes the same calls and frees every block, starting no thread and using
 * no stdio, so nothing else in the process allocates and the totals are exact:
 * 11 allocations (3 x 1111, 7001, 2 x 2222, 7002, 3 x 1111 as one calloc, 100, 7003,
 * 5555), 2 reallocs (100 -> 4444, 7003 -> 7004), 11 frees; every block temporary. */
static void test_report_json_exact_totals_when_all_freed(void **state)
{
	(void)state;
	char args[PATH_MAX + 128];
	char *out;
	const char *prog_dir = harness_build_dir();
	/* Through `memprof run` this time, with a fixed trace name in the working directory. */
	snprintf(args, sizeof(args), "run --output clean.trace -- '%s/tests/progs/leaks' clean",
		 prog_dir);
	assert_int_equal(harness_memprof(args, &out), 0);
	free(out);
	json_t *r = harness_memprof_json("report --json clean.trace", 0);
	assert_string_equal(str(r, "end_state"), "exit");
	assert_int_equal(num(r, "exit_status"), 0);
	assert_true(json_is_true(json_object_get(r, "complete")));
	assert_int_equal(num(r, "threads"), 1);
	assert_int_equal(num(r, "allocations"), 11);
	assert_int_equal(num(r, "frees"), 11);
	assert_int_equal(num(r, "reallocs"), 2);
	assert_int_equal(num(r, "failed_calls"), 0);
	assert_int_equal(num(r, "allocated_bytes"), 49219);
	assert_int_equal(num(r, "peak_heap_bytes"), 7004);
	assert_int_equal(num(r, "peak_heap_blocks"), 1);
	assert_int_equal(num(r, "leaked_bytes"), 0);
	assert_int_equal(num(r, "leaked_blocks"), 0);
	assert_int_equal(num(r, "temporary_allocations"), 13);
	assert_int_equal(num(r, "unknown_frees"), 0);
	assert_int_equal(num(r, "replaced_blocks"), 0);
	assert_int_equal(json_array_size(json_object_get(r, "top_leaked")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "top_unfreed")), 0);
	json_decref(r);
}

/* In the leaking run, each site's stack entry in top_unfreed carries its exact figures:
 * every block it allocated is still live, none was temporary, and none leaked (kept[]
 * holds them). What report calls leaked is what leaks calls leaked. */
static void test_report_json_per_site_figures(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_prog("leaks", NULL, trace);
	json_t *r = command_json("report", "--json", trace, 0);
	json_t *top = json_object_get(r, "top_unfreed");
	for (size_t i = 0; i < SITE_COUNT; i++) {
		json_t *entry = find_site(top, &leak_sites[i]);
		int64_t bytes = (int64_t)leak_sites[i].bytes, blocks = (int64_t)leak_sites[i].blocks;
		/* caller_b's one calloc of 3 x 1111 is one block; the thread's two blocks are
		 * two calls. */
		assert_int_equal(num(entry, "unfreed_bytes"), bytes);
		assert_int_equal(num(entry, "unfreed_blocks"), blocks);
		assert_int_equal(num(entry, "leaked_bytes"), 0);
		assert_int_equal(num(entry, "leaked_blocks"), 0);
		assert_int_equal(num(entry, "allocated_bytes"), bytes);
		assert_int_equal(num(entry, "allocations"), blocks);
		assert_int_equal(num(entry, "calls"), blocks);
		assert_int_equal(num(entry, "peak_bytes"), bytes);
		assert_int_equal(num(entry, "temporary_allocations"), 0);
	}
	assert_only_expected_sites(top);
	/* The program's own calls: 13 allocations and 2 reallocs; 3 frees (7001, 7002 and the
	 * realloc'd 7004), 5 temporary blocks (those three, and the 100 and 7003 blocks that
	 * realloc released). glibc may add allocations (the thread's DTV) but frees none. */
	assert_true(num(r, "allocations") >= 13);
	assert_int_equal(num(r, "frees"), 3);
	assert_int_equal(num(r, "reallocs"), 2);
	assert_int_equal(num(r, "temporary_allocations"), 5);
	assert_int_equal(num(r, "unknown_frees"), 0);
	assert_int_equal(num(r, "threads"), 2);
	assert_true(num(r, "unfreed_bytes") >= OWN_KEPT_BYTES);
	json_t *leaks = command_json("leaks", "--json", trace, 0);
	assert_int_equal(num(r, "leaked_bytes"), num(leaks, "leaked_bytes"));
	assert_int_equal(num(r, "leaked_blocks"), num(leaks, "leaked_blocks"));
	assert_int_equal(num(r, "unfreed_bytes"), num(leaks, "unfreed_bytes"));
	assert_true(num(r, "leaked_bytes") < OWN_KEPT_BYTES);
	json_decref(leaks);
	json_decref(r);
}

/* Whether `text` has `line` as one of its lines. */
static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	for (const char *at = text; at && *at; at = strchr(at, '\n') ? strchr(at, '\n') + 1 : NULL)
		if (strncmp(at, line, len) == 0 && (at[len] == '\n' || at[len] == '\0'))
			return true;
	return false;
}

/* The frame at `index` of `stack` is `function` in `module`. */
static void assert_frame(json_t *stack, size_t index, const char *function, const char *module)
{
	json_t *frame = json_array_get(stack, index);
	if (!frame || !str(frame, "function") || strcmp(str(frame, "function"), function) != 0 ||
	    !frame_in(frame, module))
		fail_msg("frame %zu is not %s in %s: %s", index, function, module, dump(stack));
}

/* The one entry of `entries` whose stack begins with the site's chain (fails otherwise). */
static json_t *find_site_stack_prefix(json_t *entries, const struct expected_site *site)
{
	json_t *found = NULL, *entry;
	size_t index, matches = 0;
	json_array_foreach(entries, index, entry) {
		if (stack_starts_with_site(json_object_get(entry, "stack"), site)) {
			found = json_object_get(entry, "stack");
			matches++;
		}
	}
	if (matches != 1)
		fail_msg("site '%s': %zu stacks start with it in %s", site->name, matches,
			 dump(entries));
	return found;
}

/* With --full-stacks, below main come glibc 2.36's start code and the program's ELF
 * entry point, and below the thread's start routine the code that started the thread;
 * leaks and report alike (both take frames from mp_analysis_frames). */
static void assert_runtime_frames_kept(json_t *entries)
{
	json_t *main_stack = find_site_stack_prefix(entries, &leak_sites[0]);
	assert_int_equal(json_array_size(main_stack), 5);
	assert_frame(main_stack, 2, "__libc_start_call_main", "libc.so.6");
	assert_frame(main_stack, 3, "__libc_start_main_impl", "libc.so.6");
	assert_frame(main_stack, 4, "_start", "leaks");
	json_t *thread_stack = find_site_stack_prefix(entries, &leak_sites[5]);
	assert_int_equal(json_array_size(thread_stack), 3);
	assert_frame(thread_stack, 1, "start_thread", "libc.so.6");
	assert_frame(thread_stack, 2, "__clone3", "libc.so.6");
}

static void test_full_stacks_keep_the_runtime_frames(void **state)
{
	(void)state;
	char trace[PATH_MAX], args[PATH_MAX + 64];
	char *out;
	run_prog("leaks", NULL, trace);
	json_t *root = command_json("leaks", "--json --show-reachable --full-stacks", trace, 0);
	assert_runtime_frames_kept(json_object_get(root, "leaks"));
	json_decref(root);
	root = command_json("report", "--full-stacks --json", trace, 0);
	assert_runtime_frames_kept(json_object_get(root, "top_unfreed"));
	json_decref(root);

	/* Folded stacks, outermost first: the root frame is the one that is kept or not. */
	snprintf(args, sizeof(args), "flamegraph --metric unfreed '%s'", trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	assert_true(has_line(out, "main;leak_direct 3333"));
	assert_true(has_line(out, "thread_leak 13332"));
	assert_null(strstr(out, "start_thread"));
	assert_null(strstr(out, "_start;"));
	free(out);
	snprintf(args, sizeof(args), "flamegraph --full-stacks --metric unfreed '%s'", trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	assert_true(has_line(out, "_start;__libc_start_main_impl;__libc_start_call_main;"
				  "main;leak_direct 3333"));
	assert_true(has_line(out, "__clone3;start_thread;thread_leak 13332"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaks_json_each_site_exact_bytes_blocks_and_frames),
		cmocka_unit_test(test_leaks_json_inlined_frame_then_its_caller),
		cmocka_unit_test(test_leaks_json_cxx_method_demangled_with_line),
		cmocka_unit_test(test_leaks_fail_on_leak_exit_codes),
		cmocka_unit_test(test_report_json_exact_totals_when_all_freed),
		cmocka_unit_test(test_report_json_per_site_figures),
		cmocka_unit_test(test_full_stacks_keep_the_runtime_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
